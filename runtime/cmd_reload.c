/* cmd_reload.c — `gbox reload`, `gbox rollback`, `gbox generations`: a supervised sandbox's
 * generations through gbox daemon (docs/reload.md). reload and rollback wait, by default, until
 * the daemon has verified the new generation or rolled it back. */
#include "cli.h"
#include "daemon.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char reload_usage[] =
    "usage: gbox reload ID|NAME --module NAME@VERSION [--module ...] [--no-wait] [--timeout SECONDS]\n"
    "       gbox rollback ID|NAME [--to GEN] [--no-wait] [--timeout SECONDS]\n"
    "       gbox generations ID|NAME [--json]\n"
    "\n"
    "reload: check the new stack (manifest reload modes, every other module's range, the domain,\n"
    "resource requirements, the layer limit), checkpoint the sandbox's state, restart it on the new\n"
    "stack (or, when every changed module says \"reload\": \"swap\", move the new module tree over its\n"
    "mount point in the running sandbox) and verify it within the policy's modules.reload.verify_window;\n"
    "a failed verification rolls back to the previous stack with the checkpoint's state. rollback: back\n"
    "to generation GEN (default: the one before the current), its stack and its state as at its\n"
    "checkpoint (a swapped generation: moved back live). Exit status: 0 done (reload: verified),\n"
    "1 refused, rolled back or the daemon unreachable, 2 usage, 3 still in progress at --timeout.\n";

json_t *daemon_ask(json_t *rq)
{
    const char *path = daemon_socket_path();
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        fprintf(stderr, "gbox: cannot reach the daemon at %s: %s (start it with `gbox daemon`)\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        json_decref(rq);
        return NULL;
    }
    size_t len;
    char *line = proto_encode(rq, &len);
    json_decref(rq);
    bool sent = line && write(fd, line, len) == (ssize_t)len;
    free(line);
    char *buf = NULL;
    size_t n = 0;
    while (sent) {
        char tmp[65536];
        ssize_t r = read(fd, tmp, sizeof(tmp));
        if (r <= 0)
            break;
        char *g = realloc(buf, n + (size_t)r + 1);
        if (!g)
            abort();
        buf = g;
        memcpy(buf + n, tmp, (size_t)r);
        n += (size_t)r;
        buf[n] = '\0';
        if (memchr(buf, '\n', n))
            break;
    }
    close(fd);
    json_t *m = buf ? json_loads(buf, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
    free(buf);
    if (!m)
        fprintf(stderr, "gbox: no reply from the daemon\n");
    return m;
}

static int refused(json_t *r)
{
    fprintf(stderr, "gbox: %s\n", json_string_value(json_object_get(r, "error")) ? json_string_value(json_object_get(r, "error"))
                                                                                  : "request refused");
    json_decref(r);
    return 1;
}

static json_t *gen_entry(json_t *r, json_int_t gen)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(r, "generations"), i, e) if (json_integer_value(json_object_get(e, "gen")) == gen) return e;
    return NULL;
}

/* Poll until the daemon has no reload or rollback in progress for id; then report. */
static int wait_done(const char *id, json_int_t gen, double timeout_s)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        json_t *r = daemon_ask(json_pack("{s:s,s:s}", "op", "generations", "id", id));
        if (!r)
            return 1;
        if (!json_is_true(json_object_get(r, "ok")))
            return refused(r);
        if (!json_object_get(r, "reload")) {
            json_int_t cur = json_integer_value(json_object_get(r, "current"));
            json_t *e = gen_entry(r, cur);
            const char *reason = json_string_value(json_object_get(e, "reason"));
            int rc = 0;
            if (gen > 0 && cur != gen) {
                fprintf(stderr, "gbox: %s: generation %lld was rolled back; now on generation %lld (%s)\n", id,
                        (long long)gen, (long long)cur, reason ? reason : "");
                rc = 1;
            } else {
                printf("%s: generation %lld %s (%s)\n", id, (long long)cur,
                       json_string_value(json_object_get(e, "status")), reason ? reason : "");
            }
            json_decref(r);
            return rc;
        }
        json_decref(r);
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 > timeout_s) {
            fprintf(stderr, "gbox: %s: still in progress after %.0f s (gbox generations %s)\n", id, timeout_s, id);
            return 3;
        }
        nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    }
}

static void print_generations(json_t *r)
{
    printf("%-4s %-10s %-26s %-7s %s\n", "GEN", "STATUS", "MODULES", "LAYERS", "REASON");
    json_int_t cur = json_integer_value(json_object_get(r, "current"));
    size_t i, k;
    json_t *e, *m;
    json_array_foreach(json_object_get(r, "generations"), i, e)
    {
        char mods[256] = "";
        json_array_foreach(json_object_get(e, "modules"), k, m)
        {
            size_t l = strlen(mods);
            snprintf(mods + l, sizeof(mods) - l, "%s%s", l ? "," : "", json_string_value(m));
        }
        json_int_t g = json_integer_value(json_object_get(e, "gen"));
        printf("%s%-3lld %-10s %-26s %-7zu %s\n", g == cur ? "*" : " ", (long long)g,
               json_string_value(json_object_get(e, "status")), mods, json_array_size(json_object_get(e, "layers")),
               json_string_value(json_object_get(e, "reason")));
    }
    json_t *rl = json_object_get(r, "reload");
    if (rl)
        printf("in progress: %s, phase %s\n", json_string_value(json_object_get(rl, "op")),
               json_string_value(json_object_get(rl, "phase")));
}

int cmd_reload(int argc, char **argv)
{
    static const struct option opts[] = {
        {"module", required_argument, NULL, 'm'}, {"to", required_argument, NULL, 't'},
        {"no-wait", no_argument, NULL, 'W'},      {"timeout", required_argument, NULL, 'T'},
        {"json", no_argument, NULL, 'j'},         {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *verb = argv[0];
    json_t *mods = json_array();
    long to = -1;
    bool wait = true, as_json = false;
    double timeout_s = 120;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:h", opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'm': json_array_append_new(mods, json_string(optarg)); break;
        case 't':
            to = strtol(optarg, &end, 10);
            if (!*optarg || *end || to <= 0) {
                fprintf(stderr, "gbox rollback: --to: expected a generation number, got \"%s\"\n", optarg);
                json_decref(mods);
                return GBOX_EXIT_USAGE;
            }
            break;
        case 'W': wait = false; break;
        case 'T':
            timeout_s = strtod(optarg, &end);
            if (!*optarg || *end || timeout_s <= 0) {
                fprintf(stderr, "gbox %s: --timeout: expected seconds, got \"%s\"\n", verb, optarg);
                json_decref(mods);
                return GBOX_EXIT_USAGE;
            }
            break;
        case 'j': as_json = true; break;
        case 'h': fputs(reload_usage, stdout); json_decref(mods); return 0;
        default: fputs(reload_usage, stderr); json_decref(mods); return GBOX_EXIT_USAGE;
        }
    }
    bool is_reload = strcmp(verb, "reload") == 0, is_rollback = strcmp(verb, "rollback") == 0;
    if (optind != argc - 1 || (is_reload && json_array_size(mods) == 0) || (!is_reload && json_array_size(mods)) ||
        (!is_rollback && to > 0)) {
        fprintf(stderr, "gbox %s: %s\n%s", verb,
                optind != argc - 1 ? "expected one sandbox ID or NAME"
                : is_reload        ? "expected at least one --module NAME@VERSION"
                                   : "--module and --to belong to reload and rollback",
                reload_usage);
        json_decref(mods);
        return GBOX_EXIT_USAGE;
    }
    const char *id = argv[optind];
    json_t *rq = json_pack("{s:s,s:s}", "op", verb, "id", id);
    if (is_reload)
        json_object_set(rq, "modules", mods);
    if (to > 0)
        json_object_set_new(rq, "to", json_integer(to));
    json_decref(mods);
    json_t *r = daemon_ask(rq);
    if (!r)
        return 1;
    if (!json_is_true(json_object_get(r, "ok")))
        return refused(r);
    if (!is_reload && !is_rollback) {
        if (as_json) {
            char *s = json_dumps(r, JSON_INDENT(2) | JSON_SORT_KEYS);
            puts(s ? s : "{}");
            free(s);
        } else {
            print_generations(r);
        }
        json_decref(r);
        return 0;
    }
    if (json_object_get(r, "queued")) { /* the domain wants an operator's approval first */
        printf("%s: reload (%s) %s\n", id, json_string_value(json_object_get(r, "changed")),
               json_string_value(json_object_get(r, "message")));
        json_decref(r);
        return 0;
    }
    json_int_t gen = is_reload ? json_integer_value(json_object_get(r, "gen")) : 0;
    if (is_reload)
        fprintf(stderr, "gbox: %s: reloading (%s) as generation %lld, %s mode\n", id,
                json_string_value(json_object_get(r, "changed")), (long long)gen,
                json_string_value(json_object_get(r, "mode")));
    json_decref(r);
    return wait ? wait_done(id, gen, timeout_s) : 0;
}
