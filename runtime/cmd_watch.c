/* cmd_watch.c — `gbox image watch DIR...`: rebuild a module image when its source changes
 * (inotify over DIR and every directory below it, debounced), then ask gbox daemon to reload every
 * sandbox whose current generation runs that module, where its policy allows automatic reload
 * (modules.reload.auto; the daemon checks it, and every other safety check, as for gbox reload).
 * Runs in the foreground until killed; one line per build and per sandbox on stdout. */
#include "cli.h"
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char watch_usage[] =
    "usage: gbox image watch [--store DIR] [--debounce MS] DIR...\n"
    "\n"
    "Build each DIR (DIR/module.json + DIR/rootfs) into the store, then rebuild it whenever a file\n"
    "below it changes (after MS milliseconds without further changes, default 300) and reload every\n"
    "sandbox of gbox daemon that runs that module, where its policy has modules.reload.auto: true.\n";

#define WATCH_MASK (IN_CREATE | IN_DELETE | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | IN_MODIFY)

struct src {
    const char *dir;
    char digest[65];
    bool dirty;
};

struct wd_map {
    int wd;
    size_t src;
};

static struct wd_map *wds;
static size_t n_wds, cap_wds;

static void add_watch_tree(int ifd, const char *path, size_t src)
{
    int wd = inotify_add_watch(ifd, path, WATCH_MASK | IN_ONLYDIR | IN_DONT_FOLLOW);
    if (wd < 0)
        return;
    bool known = false;
    for (size_t i = 0; i < n_wds && !known; i++)
        known = wds[i].wd == wd;
    if (!known && n_wds == cap_wds) {
        cap_wds = cap_wds ? 2 * cap_wds : 64;
        wds = realloc(wds, cap_wds * sizeof(*wds));
        if (!wds)
            abort();
    }
    if (!known)
        wds[n_wds++] = (struct wd_map){wd, src};
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char sub[PATH_MAX];
        struct stat st;
        snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            add_watch_tree(ifd, sub, src);
    }
    closedir(d);
}

static int build_one(const char *store_dir, struct src *s, char *name, size_t nlen, char *version, size_t vlen)
{
    struct store *st = NULL;
    struct sbx_err *err = NULL;
    struct gbox_manifest *m = NULL;
    char digest[65];
    if (store_open(store_dir, true, &st, &err) < 0 || store_build(st, s->dir, digest, &m, &err) < 0) {
        fprintf(stderr, "gbox image watch: %s: %s\n", s->dir, err ? err->msg : "build failed");
        sbx_err_free(&err);
        store_close(st);
        return -1;
    }
    store_close(st);
    snprintf(name, nlen, "%s", m->name);
    snprintf(version, vlen, "%s", m->version_text);
    manifest_free(m);
    bool same = strcmp(digest, s->digest) == 0;
    snprintf(s->digest, sizeof(s->digest), "%s", digest);
    printf("built %s:%s sha256:%s%s\n", name, version, digest, same ? " (unchanged)" : "");
    fflush(stdout);
    return same ? 0 : 1;
}

/* Every sandbox whose current generation has the module: reload it to the rebuilt image. */
static void reload_users(const char *name, const char *version)
{
    json_t *ps = daemon_ask(json_pack("{s:s}", "op", "ps"));
    size_t i, k;
    json_t *sb, *img;
    json_array_foreach(json_object_get(ps, "sandboxes"), i, sb)
    {
        const char *id = json_string_value(json_object_get(sb, "id"));
        json_t *g = daemon_ask(json_pack("{s:s,s:s}", "op", "generations", "id", id));
        json_int_t cur = json_integer_value(json_object_get(g, "current"));
        bool uses = false;
        json_array_foreach(json_object_get(g, "generations"), k, img)
        {
            if (json_integer_value(json_object_get(img, "gen")) != cur)
                continue;
            size_t j;
            json_t *im;
            json_array_foreach(json_object_get(img, "images"), j, im)
            {
                const char *n = json_string_value(json_object_get(im, "name"));
                uses |= n && strcmp(n, name) == 0;
            }
        }
        json_decref(g);
        if (!uses)
            continue;
        char ref[256];
        snprintf(ref, sizeof(ref), "%s@=%s", name, version);
        json_t *r = daemon_ask(json_pack("{s:s,s:s,s:[s],s:b}", "op", "reload", "id", id, "modules", ref, "auto", 1));
        if (json_is_true(json_object_get(r, "ok")))
            printf("reload %s: %s\n", id,
                   json_object_get(r, "queued") ? json_string_value(json_object_get(r, "message"))
                                                : "started (gbox generations shows the outcome)");
        else
            printf("reload %s: %s\n", id, r ? json_string_value(json_object_get(r, "error")) : "no reply");
        fflush(stdout);
        json_decref(r);
    }
    json_decref(ps);
}

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int cmd_image_watch(int argc, char **argv)
{
    static const struct option opts[] = {
        {"store", required_argument, NULL, 'S'}, {"debounce", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    const char *store_dir = NULL;
    long debounce = 300;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'S': store_dir = optarg; break;
        case 'd':
            debounce = strtol(optarg, &end, 10);
            if (!*optarg || *end || debounce < 0 || debounce > 600000) {
                fprintf(stderr, "gbox image watch: --debounce: expected milliseconds (0-600000), got \"%s\"\n", optarg);
                return GBOX_EXIT_USAGE;
            }
            break;
        case 'h': fputs(watch_usage, stdout); return 0;
        default: fputs(watch_usage, stderr); return GBOX_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "gbox image watch: expected at least one module source DIR\n%s", watch_usage);
        return GBOX_EXIT_USAGE;
    }
    size_t n = (size_t)(argc - optind);
    struct src *srcs = calloc(n, sizeof(*srcs));
    int ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (!srcs || ifd < 0) {
        fprintf(stderr, "gbox image watch: inotify: %s\n", strerror(errno));
        free(srcs);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    char name[128], version[128];
    for (size_t i = 0; i < n; i++) {
        srcs[i].dir = argv[optind + (int)i];
        if (build_one(store_dir, &srcs[i], name, sizeof(name), version, sizeof(version)) < 0) {
            free(srcs);
            close(ifd);
            return GBOX_EXIT_USAGE;
        }
        add_watch_tree(ifd, srcs[i].dir, i);
    }
    printf("watching %zu director%s\n", n, n == 1 ? "y" : "ies");
    fflush(stdout);
    int64_t due = -1;
    for (;;) {
        int timeout = due < 0 ? -1 : (int)(due - mono_ms() > 0 ? due - mono_ms() : 0);
        struct pollfd pfd = {ifd, POLLIN, 0};
        int r = poll(&pfd, 1, timeout);
        if (r < 0 && errno != EINTR)
            break;
        if (r > 0) {
            char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
            ssize_t len;
            while ((len = read(ifd, buf, sizeof(buf))) > 0) {
                for (char *p = buf; p < buf + len;) {
                    struct inotify_event *ev = (struct inotify_event *)p;
                    for (size_t w = 0; w < n_wds; w++) {
                        if (wds[w].wd != ev->wd)
                            continue;
                        srcs[wds[w].src].dirty = true;
                        if ((ev->mask & (IN_CREATE | IN_MOVED_TO)) && (ev->mask & IN_ISDIR) && ev->len) {
                            char sub[PATH_MAX];
                            /* the directory of this watch: rebuild its path from the source's root */
                            snprintf(sub, sizeof(sub), "%s", srcs[wds[w].src].dir);
                            add_watch_tree(ifd, sub, wds[w].src); /* re-adding existing watches is harmless */
                        }
                        break;
                    }
                    p += sizeof(struct inotify_event) + ev->len;
                }
            }
            due = mono_ms() + debounce; /* quiet for `debounce` ms before building */
            continue;
        }
        due = -1;
        for (size_t i = 0; i < n; i++) {
            if (!srcs[i].dirty)
                continue;
            srcs[i].dirty = false;
            if (build_one(store_dir, &srcs[i], name, sizeof(name), version, sizeof(version)) == 1)
                reload_users(name, version);
        }
    }
    free(srcs);
    free(wds);
    close(ifd);
    return 1;
}
