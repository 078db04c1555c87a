/* cmd_client.c — the verbs that talk to `gbox daemon` over its socket (docs/api.md):
 * spawn ps inspect stop kill rm logs events stats emergency-stop metrics. */
#include "cli.h"
#include "daemon.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char *or_str(const char *v, const char *dflt) { return v ? v : dflt; }

enum { EXIT_DAEMON = 1 }; /* the daemon refused or could not be reached */

static const char client_usage[] =
    "usage: gbox spawn [--policy NAME|FILE] [--name NAME] [--restart never|on-failure|always]\n"
    "                  [--env NAME=VALUE]... [--module NAME[@RANGE]]... [--in-image] [--] PROGRAM [ARGS...]\n"
    "       gbox ps [--json]\n"
    "       gbox inspect ID|NAME\n"
    "       gbox stop ID|NAME [--time MS]\n"
    "       gbox kill ID|NAME [--signal SIG]\n"
    "       gbox rm ID|NAME\n"
    "       gbox logs ID|NAME [--stderr] [--tail N] [--follow]\n"
    "       gbox events [--follow] [--id ID|NAME] [--type TYPE]\n"
    "       gbox stats [ID|NAME] [--json]\n"
    "       gbox emergency-stop DOMAIN\n"
    "       gbox metrics\n"
    "\n"
    "They talk to gbox daemon on $GBOX_SOCKET (default /run/gbox/gbox.sock). Exit status: 0 done,\n"
    "1 the daemon refused (the message says why) or cannot be reached, 2 usage.\n";

static int connect_daemon(void)
{
    const char *path = daemon_socket_path();
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        fprintf(stderr, "gbox: cannot reach the daemon at %s: %s (start it with `gbox daemon`)\n", path,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

struct reader {
    int fd;
    char *buf;
    size_t len;
};

/* Next message; NULL at end of stream. */
static json_t *read_msg(struct reader *r)
{
    for (;;) {
        char *nl = r->buf ? memchr(r->buf, '\n', r->len) : NULL;
        if (nl) {
            *nl = '\0';
            json_t *m = json_loads(r->buf, 0, NULL);
            size_t used = (size_t)(nl - r->buf) + 1;
            memmove(r->buf, nl + 1, r->len - used);
            r->len -= used;
            return m ? m : json_pack("{s:b,s:s}", "ok", 0, "error", "unreadable reply from the daemon");
        }
        char tmp[65536];
        ssize_t n = read(r->fd, tmp, sizeof(tmp));
        if (n <= 0)
            return NULL;
        char *g = realloc(r->buf, r->len + (size_t)n + 1);
        if (!g)
            abort();
        r->buf = g;
        memcpy(r->buf + r->len, tmp, (size_t)n);
        r->len += (size_t)n;
    }
}

/* Send one request; return the first reply (the reader stays open for streams). */
static json_t *request(json_t *rq, struct reader *r)
{
    r->fd = connect_daemon();
    r->buf = NULL;
    r->len = 0;
    if (r->fd < 0) {
        json_decref(rq);
        return NULL;
    }
    size_t len;
    char *line = proto_encode(rq, &len);
    json_decref(rq);
    ssize_t w = line ? write(r->fd, line, len) : -1;
    free(line);
    if (w != (ssize_t)len) {
        fprintf(stderr, "gbox: send to the daemon: %s\n", strerror(errno));
        return NULL;
    }
    json_t *resp = read_msg(r);
    if (!resp)
        fprintf(stderr, "gbox: the daemon closed the connection without a reply\n");
    return resp;
}

static void reader_close(struct reader *r)
{
    if (r->fd >= 0)
        close(r->fd);
    free(r->buf);
}

json_t *client_call(json_t *rq)
{
    struct reader r;
    json_t *resp = request(rq, &r);
    reader_close(&r);
    return resp;
}

/* ok → 0; else print the daemon's error and return 1. */
static int check(json_t *resp)
{
    if (!resp)
        return EXIT_DAEMON;
    if (json_is_true(json_object_get(resp, "ok")))
        return 0;
    fprintf(stderr, "gbox: %s\n", or_str(json_string_value(json_object_get(resp, "error")), "request refused"));
    return EXIT_DAEMON;
}

static void print_json(const json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (s)
        puts(s);
    free(s);
}

static void fmt_time(json_int_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%H:%M:%S", &tm);
}

static int do_ps(bool as_json)
{
    struct reader r;
    json_t *resp = request(json_pack("{s:s}", "op", "ps"), &r);
    int rc = check(resp);
    if (rc == 0) {
        json_t *arr = json_object_get(resp, "sandboxes");
        if (as_json) {
            print_json(arr);
        } else {
            printf("%-16s  %-16s  %-18s  %-11s  %8s  %-9s  %s\n", "ID", "NAME", "DOMAIN", "STATE", "RESTARTS",
                   "CIRCUIT", "CREATED");
            size_t i;
            json_t *s;
            json_array_foreach(arr, i, s)
            {
                char t[16];
                fmt_time(json_integer_value(json_object_get(s, "created_at")), t, sizeof(t));
                printf("%-16s  %-16s  %-18s  %-11s  %8lld  %-9s  %s\n",
                       json_string_value(json_object_get(s, "id")), json_string_value(json_object_get(s, "name")),
                       json_string_value(json_object_get(s, "domain")), json_string_value(json_object_get(s, "state")),
                       (long long)json_integer_value(json_object_get(s, "restarts")),
                       json_string_value(json_object_get(s, "circuit")), t);
            }
        }
    }
    json_decref(resp);
    reader_close(&r);
    return rc;
}

/* Stream until the daemon closes or says "end". */
static int stream(struct reader *r, bool events)
{
    json_t *m;
    while ((m = read_msg(r))) {
        if (events) {
            json_t *ev = json_object_get(m, "event");
            if (ev) {
                char *s = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
                if (s)
                    puts(s);
                free(s);
                fflush(stdout);
            }
            if (json_is_true(json_object_get(m, "end"))) {
                json_decref(m);
                break;
            }
        } else {
            json_t *lg = json_object_get(m, "log");
            if (lg) {
                const char *d = json_string_value(json_object_get(lg, "data"));
                fwrite(d, 1, json_string_length(json_object_get(lg, "data")), stdout);
                fflush(stdout);
            }
            if (json_is_true(json_object_get(m, "end"))) {
                json_decref(m);
                break;
            }
        }
        json_decref(m);
    }
    return 0;
}

static void json_free(json_t **j) { json_decref(*j); }

int cmd_client(int argc, char **argv)
{
    const char *verb = argv[0];
    static const struct option opts[] = {
        {"policy", required_argument, NULL, 'p'}, {"name", required_argument, NULL, 'n'},
        {"restart", required_argument, NULL, 'R'}, {"in-image", no_argument, NULL, 'i'},
        {"json", no_argument, NULL, 'j'},         {"time", required_argument, NULL, 't'},
        {"signal", required_argument, NULL, 's'}, {"stderr", no_argument, NULL, 'e'},
        {"follow", no_argument, NULL, 'f'},       {"tail", required_argument, NULL, 'T'},
        {"id", required_argument, NULL, 'I'},     {"type", required_argument, NULL, 'y'},
        {"env", required_argument, NULL, 'E'},    {"module", required_argument, NULL, 'M'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    json_t *envs __attribute__((cleanup(json_free))) = json_array();
    json_t *mods __attribute__((cleanup(json_free))) = json_array();
    const char *policy = NULL, *name = NULL, *restart = NULL, *sig = NULL, *fid = NULL, *ftype = NULL;
    bool in_image = false, as_json = false, err_stream = false, follow = false;
    long long grace = -1, tail = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+p:n:R:ijt:s:efT:I:y:E:M:h", opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'p': policy = optarg; break;
        case 'n': name = optarg; break;
        case 'R': restart = optarg; break;
        case 'i': in_image = true; break;
        case 'j': as_json = true; break;
        case 't': grace = strtoll(optarg, &end, 10); if (*end || grace < 0) goto usage; break;
        case 's': sig = optarg; break;
        case 'e': err_stream = true; break;
        case 'f': follow = true; break;
        case 'T': tail = strtoll(optarg, &end, 10); if (*end || tail < 0) goto usage; break;
        case 'I': fid = optarg; break;
        case 'y': ftype = optarg; break;
        case 'E': json_array_append_new(envs, json_string(optarg)); break;
        case 'M': json_array_append_new(mods, json_string(optarg)); break;
        case 'h': fputs(client_usage, stdout); return 0;
        default: goto usage;
        }
    }
    const char *arg = optind < argc ? argv[optind] : NULL;
    struct reader r = {.fd = -1};
    json_t *resp = NULL;
    int rc;
    if (strcmp(verb, "ps") == 0)
        return do_ps(as_json);
    if (strcmp(verb, "metrics") == 0) {
        resp = request(json_pack("{s:s}", "op", "metrics"), &r);
        if ((rc = check(resp)) == 0)
            fputs(json_string_value(json_object_get(resp, "text")), stdout);
        goto out;
    }
    if (strcmp(verb, "events") == 0) {
        json_t *rq = json_pack("{s:s,s:b}", "op", "events", "follow", follow);
        if (fid)
            json_object_set_new(rq, "filter_id", json_string(fid));
        if (ftype)
            json_object_set_new(rq, "filter_type", json_string(ftype));
        resp = request(rq, &r);
        if ((rc = check(resp)) == 0)
            rc = stream(&r, true);
        goto out;
    }
    if (strcmp(verb, "spawn") == 0) {
        if (!arg)
            goto usage;
        json_t *av = json_array();
        for (int i = optind; i < argc; i++) {
            char abs[PATH_MAX];
            /* a host program is named by absolute path: the daemon's working directory is not ours */
            if (i == optind && !in_image && realpath(argv[i], abs))
                json_array_append_new(av, json_string(abs));
            else
                json_array_append_new(av, json_string(argv[i]));
        }
        json_t *rq = json_pack("{s:s,s:o,s:b}", "op", "spawn", "argv", av, "in_image", in_image);
        if (policy) {
            char abs[PATH_MAX];
            bool file = strchr(policy, '/') || strstr(policy, ".json");
            json_object_set_new(rq, "policy", json_string(file && realpath(policy, abs) ? abs : policy));
        }
        if (name)
            json_object_set_new(rq, "name", json_string(name));
        if (restart)
            json_object_set_new(rq, "restart", json_string(restart));
        if (json_array_size(envs))
            json_object_set(rq, "env", envs);
        if (json_array_size(mods))
            json_object_set(rq, "modules", mods);
        resp = request(rq, &r);
        if ((rc = check(resp)) == 0)
            printf("%s\n", json_string_value(json_object_get(resp, "id")));
        goto out;
    }
    if (strcmp(verb, "emergency-stop") == 0) {
        if (!arg)
            goto usage;
        resp = request(json_pack("{s:s,s:s}", "op", "emergency-stop", "domain", arg), &r);
        if ((rc = check(resp)) == 0)
            printf("killed %lld sandboxes of %s%s\n", (long long)json_integer_value(json_object_get(resp, "killed")),
                   arg, json_integer_value(json_object_get(resp, "refused")) ? " (some refused: safety.emergency_stop is false)" : "");
        goto out;
    }
    if (strcmp(verb, "stats") == 0 && !arg) {
        /* every running sandbox */
        json_t *ps = request(json_pack("{s:s}", "op", "ps"), &r);
        rc = check(ps);
        reader_close(&r);
        if (rc) {
            json_decref(ps);
            return rc;
        }
        json_t *all = json_object();
        size_t i;
        json_t *s;
        json_array_foreach(json_object_get(ps, "sandboxes"), i, s)
        {
            const char *st = json_string_value(json_object_get(s, "state"));
            if (strcmp(st, "running") != 0)
                continue;
            const char *id = json_string_value(json_object_get(s, "id"));
            struct reader r2;
            json_t *one = request(json_pack("{s:s,s:s}", "op", "stats", "id", id), &r2);
            if (check(one) == 0)
                json_object_set(all, id, json_object_get(one, "stats"));
            json_decref(one);
            reader_close(&r2);
        }
        print_json(all);
        json_decref(all);
        json_decref(ps);
        return 0;
    }
    if (!arg)
        goto usage;
    json_t *rq = json_pack("{s:s,s:s}", "op", verb, "id", arg);
    if (strcmp(verb, "stop") == 0 && grace >= 0)
        json_object_set_new(rq, "grace_ms", json_integer(grace));
    if (strcmp(verb, "kill") == 0 && sig)
        json_object_set_new(rq, "signal", json_string(sig));
    if (strcmp(verb, "logs") == 0) {
        json_object_set_new(rq, "stream", json_string(err_stream ? "stderr" : "stdout"));
        json_object_set_new(rq, "follow", json_boolean(follow));
        if (tail)
            json_object_set_new(rq, "tail", json_integer(tail));
    }
    resp = request(rq, &r);
    if ((rc = check(resp)) != 0)
        goto out;
    if (strcmp(verb, "logs") == 0) {
        const char *d = json_string_value(json_object_get(resp, "data"));
        fwrite(d, 1, json_string_length(json_object_get(resp, "data")), stdout);
        fflush(stdout);
        if (follow)
            rc = stream(&r, false);
    } else if (strcmp(verb, "inspect") == 0) {
        print_json(json_object_get(resp, "sandbox"));
    } else if (strcmp(verb, "stats") == 0) {
        print_json(json_object_get(resp, "stats"));
    }
out:
    json_decref(resp);
    reader_close(&r);
    return rc;
usage:
    fputs(client_usage, stderr);
    return GBOX_EXIT_USAGE;
}
