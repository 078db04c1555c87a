/* cmd_stats.c — `gbox stats [--no-stream] [--json] [ID|NAME]`: the running sandboxes' usage as a
 * table (ID NAME DOMAIN CPU% MEM MEM-PEAK PIDS IO-R IO-W). On a terminal it refreshes in place
 * every second until ^C; with --no-stream, or when stdout is not a terminal, it prints one table.
 * CPU% is measured over an interval (0.5 s for one table). --json prints the daemon's counters
 * once, as before: {ID: stats} for all, the stats object for one. */
#include "cli.h"
#include "daemon.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char stats_usage[] =
    "usage: gbox stats [--no-stream] [--json] [ID|NAME]\n"
    "  the usage of the running sandboxes (or one): a table that refreshes every second on a\n"
    "  terminal (^C ends it); --no-stream prints it once; --json prints the raw counters once.\n";

/* One request; the reply when "ok", else NULL after printing the daemon's error. */
static json_t *call_ok(json_t *rq)
{
    json_t *resp = client_call(rq);
    if (resp && json_is_true(json_object_get(resp, "ok")))
        return resp;
    if (resp)
        fprintf(stderr, "gbox: %s\n", json_string_value(json_object_get(resp, "error")) ?
                json_string_value(json_object_get(resp, "error")) : "request refused");
    json_decref(resp);
    return NULL;
}

static volatile sig_atomic_t stop;
static void on_int(int sig) { (void)sig; stop = 1; }

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* {id: {name, domain, stats}} of the running sandboxes (or the one asked for); NULL on error */
static json_t *sample(const char *only)
{
    json_t *ps = call_ok(json_pack("{s:s}", "op", "ps"));
    if (!ps)
        return NULL;
    json_t *all = json_object();
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(ps, "sandboxes"), i, s)
    {
        const char *id = json_string_value(json_object_get(s, "id"));
        const char *name = json_string_value(json_object_get(s, "name"));
        if (only && strcmp(only, id) != 0 && (!name || strcmp(only, name) != 0))
            continue;
        if (!only && strcmp(json_string_value(json_object_get(s, "state")), "running") != 0)
            continue;
        json_t *one = call_ok(json_pack("{s:s,s:s}", "op", "stats", "id", id));
        if (!one)
            continue;
        json_object_set_new(all, id, json_pack("{s:O,s:O,s:O}", "name", json_object_get(s, "name"),
                                               "domain", json_object_get(s, "domain"), "stats",
                                               json_object_get(one, "stats")));
        json_decref(one);
    }
    json_decref(ps);
    return all;
}

static void human(json_int_t b, char *buf, size_t len)
{
    if (b < 0)
        snprintf(buf, len, "-");
    else if (b >= 1LL << 30)
        snprintf(buf, len, "%.2fGiB", (double)b / (double)(1LL << 30));
    else if (b >= 1LL << 20)
        snprintf(buf, len, "%.1fMiB", (double)b / (double)(1LL << 20));
    else if (b >= 1LL << 10)
        snprintf(buf, len, "%.1fKiB", (double)b / 1024.0);
    else
        snprintf(buf, len, "%lldB", (long long)b);
}

static json_int_t get(const json_t *st, const char *k)
{
    const json_t *v = json_object_get(st, k);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

static void table(const json_t *prev, const json_t *cur, double dt)
{
    printf("%-12s %-16s %-18s %6s %10s %10s %5s %10s %10s\n", "ID", "NAME", "DOMAIN", "CPU%", "MEM",
           "MEM-PEAK", "PIDS", "IO-READ", "IO-WRITE");
    const char *id;
    json_t *e;
    json_object_foreach((json_t *)cur, id, e)
    {
        const json_t *st = json_object_get(e, "stats");
        const json_t *pst = json_object_get(json_object_get(prev, id), "stats");
        char cpu[16] = "-", mem[16], peak[16], ior[16], iow[16], pids[16] = "-";
        json_int_t u1 = get(st, "cpu_usage_us"), u0 = get(pst, "cpu_usage_us");
        if (u1 >= 0 && u0 >= 0 && dt > 0)
            snprintf(cpu, sizeof(cpu), "%.1f", (double)(u1 - u0) / (dt * 1e6) * 100.0);
        human(get(st, "memory_bytes"), mem, sizeof(mem));
        human(get(st, "memory_peak_bytes"), peak, sizeof(peak));
        human(get(st, "io_read_bytes"), ior, sizeof(ior));
        human(get(st, "io_write_bytes"), iow, sizeof(iow));
        if (get(st, "pids") >= 0)
            snprintf(pids, sizeof(pids), "%lld", (long long)get(st, "pids"));
        printf("%-12.12s %-16.16s %-18.18s %6s %10s %10s %5s %10s %10s\n", id,
               json_string_value(json_object_get(e, "name")) ? json_string_value(json_object_get(e, "name")) : "-",
               json_string_value(json_object_get(e, "domain")) ? json_string_value(json_object_get(e, "domain")) : "-",
               cpu, mem, peak, pids, ior, iow);
    }
}

static int print_json_once(const char *only)
{
    json_t *all = sample(only);
    if (!all)
        return 1;
    json_t *out = json_object();
    const char *id;
    json_t *e;
    json_object_foreach(all, id, e) json_object_set(out, id, json_object_get(e, "stats"));
    if (only && json_object_size(all) == 0) {
        fprintf(stderr, "gbox: no sandbox %s\n", only);
        json_decref(out);
        json_decref(all);
        return 1;
    }
    char *s = json_dumps(only ? json_object_iter_value(json_object_iter(out)) : out, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (s)
        puts(s);
    free(s);
    json_decref(out);
    json_decref(all);
    return 0;
}

int cmd_stats(int argc, char **argv)
{
    static const struct option opts[] = {{"no-stream", no_argument, NULL, 'n'}, {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    bool once = false, as_json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "njh", opts, NULL)) != -1) {
        switch (c) {
        case 'n': once = true; break;
        case 'j': as_json = true; break;
        case 'h': fputs(stats_usage, stdout); return 0;
        default: fputs(stats_usage, stderr); return GBOX_EXIT_USAGE;
        }
    }
    if (argc - optind > 1) {
        fputs(stats_usage, stderr);
        return GBOX_EXIT_USAGE;
    }
    const char *only = optind < argc ? argv[optind] : NULL;
    if (as_json)
        return print_json_once(only);
    bool live = !once && isatty(STDOUT_FILENO);
    /* SA_RESTART: a ^C during a request lets it finish (its read returned EINTR and looked like
     * the daemon hanging up: "closed the connection without a reply", exit 1); the sleep between
     * samples still ends at once */
    struct sigaction sa = {.sa_handler = on_int, .sa_flags = SA_RESTART};
    if (live) {
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
    }
    json_t *prev = sample(only);
    if (!prev)
        return 1;
    double t0 = now_s();
    int rc = 0;
    for (;;) {
        usleep(live ? 1000000 : 500000);
        if (stop)
            break;
        json_t *cur = sample(only);
        if (!cur) {
            rc = 1;
            break;
        }
        double t1 = now_s();
        if (only && json_object_size(cur) == 0) {
            fprintf(stderr, "gbox: no sandbox %s\n", only);
            json_decref(cur);
            rc = 1;
            break;
        }
        if (live)
            fputs("\033[H\033[2J", stdout); /* home, clear: redraw in place */
        table(prev, cur, t1 - t0);
        fflush(stdout);
        json_decref(prev);
        prev = cur;
        t0 = t1;
        if (!live || stop)
            break;
    }
    json_decref(prev);
    return rc;
}
