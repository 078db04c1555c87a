/* cmd_image.c — `gbox image build|import|ls|inspect|rm|gc|digest|validate`: the image store. */
#include "cli.h"
#include "manifest.h"
#include "oci_import.h"
#include "store.h"
#include "tree.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

static const char image_usage[] =
    "usage: gbox image build [--store DIR] DIR...     store DIR/rootfs with DIR/module.json\n"
    "       gbox image import [--store DIR] --name NAME [--version V] [--set SET] [--ref REF] OCI_DIR\n"
    "                                                 an OCI image layout, one module per layer\n"
    "       gbox image ls [--store DIR] [--json]       the stored images\n"
    "       gbox image inspect [--store DIR] REF       one image as JSON (manifest, size, users)\n"
    "       gbox image rm [--store DIR] REF...         untag and delete (refused while in use)\n"
    "       gbox image gc [--store DIR]                delete untagged unused images and leftovers\n"
    "       gbox image digest DIR                      the digest DIR would get, without storing\n"
    "       gbox image validate FILE|DIR...            check manifests (exit 2 on the first invalid)\n"
    "       gbox image watch [--store DIR] [--debounce MS] DIR...  rebuild DIR when it changes and\n"
    "                                                 reload the sandboxes that run it (docs/reload.md)\n"
    "\n"
    "REF: NAME:VERSION, NAME (its highest version), sha256:DIGEST or a unique digest prefix.\n"
    "The store is --store DIR, else $GBOX_STORE_DIR, else /var/lib/gbox.\n";

static bool progress_shown;

static void say(const char *line)
{
    if (progress_shown) { /* the progress line goes; the next file brings it back */
        fputs("\r\033[K", stderr);
        progress_shown = false;
    }
    puts(line);
    fflush(stdout);
}

/* Common options: --store DIR, --json and the import flags; the rest are operands. */
struct opts {
    const char *store, *name, *version, *set, *ref;
    bool json;
};

static int parse(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        {"store", required_argument, NULL, 'S'}, {"json", no_argument, NULL, 'j'},
        {"name", required_argument, NULL, 'n'},  {"version", required_argument, NULL, 'v'},
        {"set", required_argument, NULL, 's'},   {"ref", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof(*o));
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
        switch (c) {
        case 'S': o->store = optarg; break;
        case 'j': o->json = true; break;
        case 'n': o->name = optarg; break;
        case 'v': o->version = optarg; break;
        case 's': o->set = optarg; break;
        case 'r': o->ref = optarg; break;
        case 'h': fputs(image_usage, stdout); return -2;
        default: fputs(image_usage, stderr); return -1;
        }
    }
    return optind;
}

/* Progress of long builds and imports: on a terminal only, to stderr, one line rewritten in
 * place at most every 100 ms (and for the first file), cleared when done. */
static double progress_last;

static void show_progress(const char *phase, uint64_t files, uint64_t bytes)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    if (files > 1 && now - progress_last < 0.1)
        return;
    progress_last = now;
    progress_shown = true;
    fprintf(stderr, "\r\033[K%s: %llu files, %.1f MiB", phase, (unsigned long long)files,
            (double)bytes / (double)(1 << 20));
    fflush(stderr);
}

static void progress_begin(void)
{
    const char *e = getenv("GBOX_PROGRESS"); /* "never" turns it off on a terminal too */
    if (isatty(STDERR_FILENO) && !(e && strcmp(e, "never") == 0))
        tree_progress = show_progress;
}

static void progress_end(void)
{
    if (progress_shown)
        fputs("\r\033[K", stderr);
    progress_shown = false;
    tree_progress = NULL;
}

static int open_store(const struct opts *o, bool create, struct store **s)
{
    struct sbx_err *err = NULL;
    if (store_open(o->store, create, s, &err) < 0)
        return cli_fail(&err);
    return 0;
}

static int build(int argc, char **argv, const struct opts *o)
{
    if (argc < 1) {
        fputs(image_usage, stderr);
        return GBOX_EXIT_USAGE;
    }
    struct store *s;
    int rc = open_store(o, true, &s);
    for (int i = 0; rc == 0 && i < argc; i++) {
        struct sbx_err *err = NULL;
        struct gbox_manifest *m = NULL;
        char digest[65];
        progress_begin();
        int built = store_build(s, argv[i], digest, &m, &err);
        progress_end();
        if (built < 0) {
            rc = cli_fail(&err);
            break;
        }
        printf("%s:%s sha256:%s\n", m->name, m->version_text, digest);
        manifest_free(m);
    }
    store_close(s);
    return rc;
}

static int import(int argc, char **argv, const struct opts *o)
{
    if (argc != 1 || !o->name) {
        fprintf(stderr, "gbox image import: expected --name NAME and one OCI_DIR\n%s", image_usage);
        return GBOX_EXIT_USAGE;
    }
    struct oci_import_opts io = {.name = o->name, .version = o->version ? o->version : "1.0.0", .ref = o->ref,
                                 .set = MODULE_SET_FULL};
    if (o->set) {
        static const char *const sets[] = {"minimal", "standard", "full"};
        size_t k = 0;
        while (k < 3 && strcmp(o->set, sets[k]) != 0)
            k++;
        if (k == 3) {
            fprintf(stderr, "gbox: --set %s: expected minimal, standard or full\n", o->set);
            return GBOX_EXIT_USAGE;
        }
        io.set = (enum module_set)k;
    }
    struct store *s;
    if (open_store(o, true, &s))
        return 1;
    struct sbx_err *err = NULL;
    progress_begin();
    int imported = oci_import(s, argv[0], &io, say, &err);
    progress_end();
    int rc = imported < 0 ? cli_fail(&err) : 0;
    store_close(s);
    return rc;
}

static json_t *image_json(struct store *s, const struct store_image *im, bool full)
{
    char d[80];
    snprintf(d, sizeof(d), "sha256:%s", im->digest);
    json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:O, s:O, s:O, s:O}", "name", im->m->name, "version",
                          im->m->version_text, "digest", d, "tagged", im->tagged, "bytes",
                          json_object_get(im->info, "bytes") ? json_object_get(im->info, "bytes") : json_null(),
                          "files", json_object_get(im->info, "files") ? json_object_get(im->info, "files") : json_null(),
                          "created", json_object_get(im->info, "created") ? json_object_get(im->info, "created") : json_null(),
                          "source", json_object_get(im->info, "source") ? json_object_get(im->info, "source") : json_null());
    json_object_set_new(o, "users", store_users(s, im->digest));
    if (full) {
        json_object_set(o, "manifest", im->m->root);
        json_object_set(o, "info", im->info);
        json_object_set_new(o, "rootfs", json_string(im->rootfs));
    }
    return o;
}

static void human_size(json_int_t b, char *buf, size_t len)
{
    static const char *const u[] = {"B", "K", "M", "G", "T"};
    double v = (double)b;
    size_t i = 0;
    while (v >= 1024 && i < 4)
        v /= 1024, i++;
    snprintf(buf, len, i ? "%.1f%s" : "%.0f%s", v, u[i]);
}

static int list(int argc, const struct opts *o)
{
    if (argc != 0) {
        fputs(image_usage, stderr);
        return GBOX_EXIT_USAGE;
    }
    struct store *s = NULL;
    struct sbx_err *err = NULL;
    struct store_list l = {0};
    if (store_open(o->store, false, &s, &err) < 0) {
        if (errno != ENOENT)
            return cli_fail(&err);
        sbx_err_free(&err); /* no store yet: nothing stored */
    } else if (store_images(s, &l, &err) < 0) {
        store_close(s);
        return cli_fail(&err);
    }
    if (o->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < l.n; i++)
            json_array_append_new(arr, image_json(s, &l.v[i], false));
        char *text = json_dumps(arr, JSON_INDENT(2));
        puts(text);
        free(text);
        json_decref(arr);
    } else {
        printf("%-24s %-14s %-19s %8s %6s %s\n", "NAME", "VERSION", "DIGEST", "SIZE", "USERS", "CREATED");
        for (size_t i = 0; i < l.n; i++) {
            char size[32], digest[32];
            human_size(json_integer_value(json_object_get(l.v[i].info, "bytes")), size, sizeof(size));
            snprintf(digest, sizeof(digest), "sha256:%.12s", l.v[i].digest);
            json_t *u = store_users(s, l.v[i].digest);
            printf("%-24s %-14s %-19s %8s %6zu %s%s\n", l.v[i].m->name, l.v[i].m->version_text, digest, size,
                   json_array_size(u), json_string_value(json_object_get(l.v[i].info, "created")) ? json_string_value(json_object_get(l.v[i].info, "created")) : "",
                   l.v[i].tagged ? "" : " (untagged)");
            json_decref(u);
        }
    }
    store_list_free(&l);
    store_close(s);
    return 0;
}

static int inspect(int argc, char **argv, const struct opts *o)
{
    if (argc != 1) {
        fputs(image_usage, stderr);
        return GBOX_EXIT_USAGE;
    }
    struct store *s;
    struct sbx_err *err = NULL;
    if (store_open(o->store, false, &s, &err) < 0)
        return cli_fail(&err);
    struct store_list l;
    int rc = 0;
    if (store_images(s, &l, &err) < 0) {
        rc = cli_fail(&err);
    } else {
        struct store_image *im = store_find(&l, argv[0], &err);
        if (!im) {
            rc = cli_fail(&err);
        } else {
            json_t *j = image_json(s, im, true);
            char *text = json_dumps(j, JSON_INDENT(2));
            puts(text);
            free(text);
            json_decref(j);
        }
        store_list_free(&l);
    }
    store_close(s);
    return rc;
}

static int remove_images(int argc, char **argv, const struct opts *o)
{
    if (argc < 1) {
        fputs(image_usage, stderr);
        return GBOX_EXIT_USAGE;
    }
    struct store *s;
    struct sbx_err *err = NULL;
    if (store_open(o->store, false, &s, &err) < 0)
        return cli_fail(&err);
    int rc = 0;
    for (int i = 0; i < argc && rc == 0; i++)
        if (store_remove(s, argv[i], say, &err) < 0)
            rc = cli_fail(&err);
    store_close(s);
    return rc;
}

static int gc(int argc, const struct opts *o)
{
    if (argc != 0) {
        fputs(image_usage, stderr);
        return GBOX_EXIT_USAGE;
    }
    struct store *s;
    struct sbx_err *err = NULL;
    if (store_open(o->store, false, &s, &err) < 0) {
        if (errno == ENOENT) {
            sbx_err_free(&err);
            return 0;
        }
        return cli_fail(&err);
    }
    int rc = store_gc(s, say, &err) < 0 ? cli_fail(&err) : 0;
    store_close(s);
    return rc;
}

static int digest(int argc, char **argv)
{
    if (argc != 1) {
        fputs(image_usage, stderr);
        return GBOX_EXIT_USAGE;
    }
    char file[4096], tree[4096], hex[65];
    snprintf(file, sizeof(file), "%s/module.json", argv[0]);
    snprintf(tree, sizeof(tree), "%s/rootfs", argv[0]);
    struct sbx_err *err = NULL;
    struct gbox_manifest *m;
    if (manifest_load(file, &m, &err) < 0)
        return cli_fail(&err);
    char *canon = manifest_canonical(m);
    int fd = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;
    if (fd < 0)
        rc = sbx_err_set(&err, GBOX_EXIT_USAGE, errno, "%s", tree);
    else
        rc = tree_digest(fd, canon, hex, NULL, &err);
    if (rc < 0)
        rc = cli_fail(&err);
    else
        printf("%s:%s sha256:%s\n", m->name, m->version_text, hex);
    if (fd >= 0)
        close(fd);
    free(canon);
    manifest_free(m);
    return rc;
}

static int validate(int argc, char **argv)
{
    if (argc < 1) {
        fputs(image_usage, stderr);
        return GBOX_EXIT_USAGE;
    }
    for (int i = 0; i < argc; i++) {
        char file[4096];
        size_t n = strlen(argv[i]);
        bool json = n > 5 && strcmp(argv[i] + n - 5, ".json") == 0;
        snprintf(file, sizeof(file), json ? "%s" : "%s/module.json", argv[i]);
        struct sbx_err *err = NULL;
        struct gbox_manifest *m;
        if (manifest_load(file, &m, &err) < 0)
            return cli_fail(&err);
        printf("%s: ok (%s:%s)\n", file, m->name, m->version_text);
        manifest_free(m);
    }
    return 0;
}

int cmd_image(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(image_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? GBOX_EXIT_USAGE : 0;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "watch") == 0) /* its own options (cmd_watch.c) */
        return cmd_image_watch(argc - 1, argv + 1);
    struct opts o;
    int first = parse(argc - 1, argv + 1, &o);
    if (first < 0)
        return first == -2 ? 0 : GBOX_EXIT_USAGE;
    int n = argc - 1 - first;
    char **rest = argv + 1 + first;
    if (strcmp(verb, "build") == 0)
        return build(n, rest, &o);
    if (strcmp(verb, "import") == 0)
        return import(n, rest, &o);
    if (strcmp(verb, "ls") == 0 || strcmp(verb, "list") == 0)
        return list(n, &o);
    if (strcmp(verb, "inspect") == 0)
        return inspect(n, rest, &o);
    if (strcmp(verb, "rm") == 0)
        return remove_images(n, rest, &o);
    if (strcmp(verb, "gc") == 0)
        return gc(n, &o);
    if (strcmp(verb, "digest") == 0)
        return digest(n, rest);
    if (strcmp(verb, "validate") == 0)
        return validate(n, rest);
    fprintf(stderr, "gbox image: unknown verb \"%s\"\n%s", verb, image_usage);
    return GBOX_EXIT_USAGE;
}
