/* cmd_explain.c — `gbox explain REPORT|ID`: why a sandbox ended, in the operator's terms: the
 * syscall and its arguments that were killed, the rule that matched and the policy field to
 * change; or the limit that was hit, with the usage and the limit side by side. It reads a
 * --report file, or the last report gbox daemon kept for a sandbox (inspect). */
#include "cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char explain_usage[] =
    "usage: gbox explain [--json] REPORT|ID\n"
    "\n"
    "Why a sandbox ended: REPORT is a file written by `gbox run --report`, ID a sandbox of gbox\n"
    "daemon (its last run). Prints the end, the cause (the syscall and arguments, or the limit\n"
    "with its numbers), the policy rule involved and the field to change.\n"
    "  --json   the same as a JSON object {end, summary, cause, rule, field, change, notes}\n"
    "Exit status: 0 explained, 1 the daemon has no such sandbox or no report yet, 2 usage or an\n"
    "unreadable report.\n";

static const char *or_default(const char *v, const char *dflt) { return v ? v : dflt; }

static int64_t num(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? json_integer_value(v) : json_is_real(v) ? (int64_t)json_real_value(v) : -1;
}

static void human_bytes(int64_t b, char *buf, size_t len)
{
    if (b < 0)
        snprintf(buf, len, "unlimited");
    else if (b >= 1LL << 30)
        snprintf(buf, len, "%.1f GiB (%lld bytes)", (double)b / (double)(1LL << 30), (long long)b);
    else if (b >= 1LL << 20)
        snprintf(buf, len, "%.1f MiB (%lld bytes)", (double)b / (double)(1LL << 20), (long long)b);
    else
        snprintf(buf, len, "%lld bytes", (long long)b);
}

static void set(json_t *o, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set(json_t *o, const char *key, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    json_object_set_new(o, key, json_string(buf));
}

static void explain_seccomp(const json_t *rep, const char *policy, json_t *out)
{
    const json_t *sc = json_object_get(rep, "syscall");
    const char *name = json_string_value(json_object_get(sc, "name"));
    if (!name || strcmp(name, "non-native-abi") == 0) {
        set(out, "cause", "a syscall from a non-native ABI (i386 int 0x80 or x32)");
        set(out, "rule", "the architecture check every gbox filter starts with");
        set(out, "field", "none");
        set(out, "change", "nothing: only x86_64 binaries run under gbox; rebuild the program for x86_64");
        return;
    }
    char args[512] = "";
    size_t i, off = 0;
    const json_t *a;
    json_array_foreach(json_object_get(sc, "args"), i, a)
        off += (size_t)snprintf(args + off, off < sizeof(args) ? sizeof(args) - off : 0, "%s0x%llx", i ? ", " : "",
                                (unsigned long long)json_integer_value(a));
    set(out, "cause", "%s(%s) — syscall %lld, %s", name, args, (long long)num(sc, "nr"),
        or_default(json_string_value(json_object_get(sc, "arch")), "x86_64"));
    const char *rule = or_default(json_string_value(json_object_get(sc, "rule")), "seccomp.default_action");
    set(out, "rule", "%s of policy %s", rule, policy);
    char list[32] = "", via[64] = "";
    if (sscanf(rule, "seccomp.%31[a-z_] (%63[^)])", list, via) < 1)
        list[0] = '\0';
    if (strncmp(rule, "seccomp.rules[", 14) == 0) {
        set(out, "field", "%s", rule);
        set(out, "change", "%s kills %s when its argument conditions match: narrow or remove that rule "
            "(in a policy that extends %s) if the program must make this call", rule, name, policy);
    } else if (strcmp(list, "kill") == 0 && via[0]) {
        set(out, "field", "seccomp.kill");
        set(out, "change", "seccomp.kill names %s through the group %s: a policy that extends %s and "
            "leaves %s out of seccomp.kill (and lists %s in seccomp.allow) lets the program make it; "
            "the calls in kill lists are the ones escapes use, so do that only for a program you trust with them",
            name, via, policy, via, name);
    } else if (strcmp(list, "kill") == 0) {
        set(out, "field", "seccomp.kill");
        set(out, "change", "remove %s from seccomp.kill and add it to seccomp.allow in a policy that extends %s",
            name, policy);
    } else {
        set(out, "field", "seccomp.allow");
        set(out, "change", "%s is named in no list and seccomp.default_action kills: add it (or its group, "
            "see `gbox policy groups`) to seccomp.allow", name);
    }
}

/* notes that hold whatever the end: a counter that reached its limit */
static void add_notes(const json_t *res, const json_t *lim, json_t *notes)
{
    int64_t peak = num(res, "pids_peak"), max = num(lim, "pids_max");
    if (peak >= 0 && max > 0 && peak >= max) {
        char buf[512];
        snprintf(buf, sizeof(buf), "the process limit was reached: %lld processes and threads at the peak = "
                 "resources.pids.max %lld (fork, clone and pthread_create failed with EAGAIN there)",
                 (long long)peak, (long long)max);
        json_array_append_new(notes, json_string(buf));
    }
    int64_t mem = num(res, "memory_peak_bytes"), mmax = num(lim, "memory_max_bytes");
    if (mem >= 0 && mmax > 0 && mem * 10 >= mmax * 9 && num(res, "oom_kills") <= 0) {
        char a[64], b[64], buf[512];
        human_bytes(mem, a, sizeof(a));
        human_bytes(mmax, b, sizeof(b));
        snprintf(buf, sizeof(buf), "memory came within 10%% of its limit: peak %s of resources.memory.max %s "
                 "(allocations may have failed)", a, b);
        json_array_append_new(notes, json_string(buf));
    }
    int64_t thr = num(res, "cpu_throttled_ms");
    if (thr > 0) {
        char buf[256];
        snprintf(buf, sizeof(buf), "the CPU quota (resources.cpu.max) throttled it for %lld ms", (long long)thr);
        json_array_append_new(notes, json_string(buf));
    }
}

static json_t *explain_report(const json_t *rep)
{
    json_t *out = json_object(), *notes = json_array();
    const char *end = or_default(json_string_value(json_object_get(rep, "end")), "?");
    const char *policy = or_default(json_string_value(json_object_get(rep, "policy")), "?");
    const json_t *lim = json_object_get(rep, "limits"), *res = json_object_get(rep, "resources");
    char a[64], b[64];
    json_object_set_new(out, "end", json_string(end));
    json_object_set_new(out, "policy", json_string(policy));
    json_object_set(out, "summary", json_object_get(rep, "reason"));
    if (strcmp(end, "seccomp") == 0) {
        explain_seccomp(rep, policy, out);
    } else if (strcmp(end, "oom") == 0) {
        human_bytes(num(lim, "memory_max_bytes"), a, sizeof(a));
        human_bytes(num(res, "memory_peak_bytes"), b, sizeof(b));
        set(out, "cause", "out of memory: the kernel's OOM killer ended it at the memory limit %s; peak use %s, "
            "%lld OOM kill(s)", a, b, (long long)num(res, "oom_kills"));
        set(out, "rule", "resources.memory.max of policy %s", policy);
        set(out, "field", "resources.memory.max");
        set(out, "change", "raise resources.memory.max (now %s) above what the program needs", a);
    } else if (strcmp(end, "timeout") == 0) {
        set(out, "cause", "wall-clock timeout: it ran %.0f ms, resources.timeout is %lld ms; the whole sandbox was killed",
            json_number_value(json_object_get(rep, "wall_ms")), (long long)num(lim, "timeout_ms") >= 0
                ? (long long)num(lim, "timeout_ms") : (long long)num(rep, "timeout_ms"));
        set(out, "rule", "resources.timeout of policy %s (failure_policies.on_timeout says how it is stopped)", policy);
        set(out, "field", "resources.timeout");
        set(out, "change", "raise resources.timeout, or make the program finish sooner");
    } else if (strcmp(end, "signaled") == 0) {
        const char *sig = or_default(json_string_value(json_object_get(rep, "signal")), "?");
        const json_t *cpu = json_object_get(rep, "cpu");
        double used = json_number_value(json_object_get(cpu, "user_ms")) + json_number_value(json_object_get(cpu, "sys_ms"));
        int64_t cpu_lim = num(lim, "cpu_time_ms");
        if (cpu_lim > 0 && (strcmp(sig, "SIGXCPU") == 0 || (strcmp(sig, "SIGKILL") == 0 && used >= (double)cpu_lim))) {
            set(out, "cause", "CPU time limit: it used %.0f ms of CPU (user + system), resources.cpu_time is %lld ms "
                "(%s at the limit, SIGKILL a second later)", used, (long long)cpu_lim, "SIGXCPU");
            set(out, "rule", "resources.cpu_time of policy %s", policy);
            set(out, "field", "resources.cpu_time");
            set(out, "change", "raise resources.cpu_time (or null for no limit)");
        } else if (strcmp(sig, "SIGXFSZ") == 0) {
            human_bytes(num(lim, "file_size_bytes"), a, sizeof(a));
            set(out, "cause", "file size limit: it wrote a file past resources.file_size %s", a);
            set(out, "rule", "resources.file_size of policy %s", policy);
            set(out, "field", "resources.file_size");
            set(out, "change", "raise resources.file_size");
        } else {
            set(out, "cause", "killed by %s: sent by the program itself, another process of the sandbox, or "
                "forwarded from gbox (SIGINT/SIGTERM to gbox, gbox stop/kill); no limit of the policy did it", sig);
            set(out, "field", "none");
        }
    } else if (strcmp(end, "setup") == 0) {
        set(out, "cause", "the sandbox could not be set up at stage %s: nothing ran",
            or_default(json_string_value(json_object_get(rep, "setup_stage")), "?"));
        set(out, "field", "none");
        set(out, "change", "see the summary: gbox fails closed when a protection the policy asks for cannot be applied");
    } else if (strcmp(end, "exited") == 0) {
        int64_t peak = num(res, "pids_peak"), max = num(lim, "pids_max"), status = num(rep, "status");
        if (status != 0 && peak >= 0 && max > 0 && peak >= max) {
            set(out, "cause", "the program exited with status %lld after reaching the process limit: %lld processes "
                "and threads = resources.pids.max (a fork or thread start failed with EAGAIN)", (long long)status,
                (long long)peak);
            set(out, "rule", "resources.pids.max of policy %s", policy);
            set(out, "field", "resources.pids.max");
            set(out, "change", "raise resources.pids.max (now %lld) if the program needs more processes or threads",
                (long long)max);
        } else {
            set(out, "cause", "the program exited by itself with status %lld; no limit ended it", (long long)status);
            set(out, "field", "none");
        }
    } else {
        json_decref(out);
        json_decref(notes);
        return NULL;
    }
    add_notes(res, lim, notes);
    json_object_set_new(out, "notes", notes);
    return out;
}

static void print_text(const json_t *e)
{
    static const char *const keys[] = {"end", "summary", "cause", "rule", "field", "change"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const json_t *v = json_object_get(e, keys[i]);
        if (json_is_string(v))
            printf("%-8s %s\n", keys[i], json_string_value(v));
    }
    size_t i;
    const json_t *n;
    json_array_foreach(json_object_get(e, "notes"), i, n)
        printf("%-8s %s\n", "note", json_string_value(n));
}

int cmd_explain(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    bool as_json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+jh", opts, NULL)) != -1) {
        switch (c) {
        case 'j': as_json = true; break;
        case 'h': fputs(explain_usage, stdout); return 0;
        default: fputs(explain_usage, stderr); return GBOX_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "gbox explain: expected one REPORT file or sandbox ID\n%s", explain_usage);
        return GBOX_EXIT_USAGE;
    }
    const char *arg = argv[optind];
    struct stat st;
    json_t *rep = NULL, *sb = NULL;
    const char *label = arg;
    if (stat(arg, &st) == 0 || strchr(arg, '/')) {
        json_error_t je;
        rep = json_load_file(arg, 0, &je);
        if (!rep) {
            fprintf(stderr, "gbox: %s:%d:%d: %s\n", arg, je.line, je.column, je.text);
            return GBOX_EXIT_USAGE;
        }
    } else {
        sb = client_inspect(arg);
        if (!sb)
            return 1;
        rep = json_incref(json_object_get(sb, "last_report"));
        if (!rep) {
            fprintf(stderr, "gbox: sandbox %s has no report yet (state %s): it has not ended since gbox daemon "
                    "started it\n", arg, or_default(json_string_value(json_object_get(sb, "state")), "?"));
            json_decref(sb);
            return 1;
        }
    }
    json_t *e = json_is_object(rep) ? explain_report(rep) : NULL;
    if (!e) {
        fprintf(stderr, "gbox: %s: json.end: expected one of exited, signaled, timeout, seccomp, oom, setup "
                "(a report of gbox run --report)\n", label);
        json_decref(rep);
        json_decref(sb);
        return GBOX_EXIT_USAGE;
    }
    if (sb)
        json_object_set(e, "id", json_object_get(sb, "id"));
    if (as_json) {
        char *s = json_dumps(e, JSON_INDENT(2) | JSON_SORT_KEYS);
        if (s)
            puts(s);
        free(s);
    } else {
        print_text(e);
    }
    json_decref(e);
    json_decref(rep);
    json_decref(sb);
    return 0;
}
