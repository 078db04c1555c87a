/* cmd_config.c — `gbox config ...` (the daemon's live domain configuration, docs/api.md) and
 * `gbox audit verify` (the hash-chained audit log, read directly: it works with the daemon down). */
#include "audit.h"
#include "cli.h"
#include "daemon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char config_usage[] =
    "usage: gbox config get DOMAIN [PATH]           the policy in force (resolved), or one field\n"
    "       gbox config set DOMAIN PATH=VALUE...    change fields (VALUE is JSON, else a string)\n"
    "       gbox config set DOMAIN --patch FILE     apply a JSON merge patch (RFC 7396; - for stdin)\n"
    "       gbox config revert DOMAIN REV           go back to revision REV (as a new revision)\n"
    "       gbox config history DOMAIN [--json]     revisions with what each changed\n"
    "       gbox config pending [--json]            changes waiting for approval\n"
    "       gbox config approve ID | reject ID      decide on a pending change\n"
    "       gbox config reload                      re-read the policy directory now (like SIGHUP)\n"
    "\n"
    "A change is validated like a policy file, refused when a limit would fall below what a running\n"
    "sandbox of the domain uses, applied live where it can be (cgroup limits, health checks, restart\n"
    "and failure policies) and to new sandboxes otherwise. Domains with\n"
    "safety.require_explicit_approval queue it until `gbox config approve ID`.\n"
    "Exit status: 0 done (or queued), 1 the daemon refused (the message says why) or cannot be\n"
    "reached, 2 usage.\n";

static const char audit_usage[] =
    "usage: gbox audit verify [FILE]\n"
    "\n"
    "Check the hash chain of the daemon's audit log (default $GBOX_STATE_DIR/audit.jsonl): every\n"
    "entry unchanged, none removed, inserted or reordered, none cut off the end (FILE.head).\n"
    "Exit status: 0 intact, 1 the log was changed (the first bad line is named), 2 usage or the\n"
    "log cannot be read.\n";

static int done(json_t *resp)
{
    if (!resp)
        return 1;
    if (!json_is_true(json_object_get(resp, "ok"))) {
        const char *e = json_string_value(json_object_get(resp, "error"));
        fprintf(stderr, "gbox: %s\n", e ? e : "request refused");
        return 1;
    }
    return 0;
}

static void print_json(const json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (s)
        puts(s);
    free(s);
}

static void print_changes(const json_t *changes)
{
    size_t i;
    json_t *c;
    json_array_foreach(changes, i, c)
    {
        char *o = json_dumps(json_object_get(c, "old"), JSON_COMPACT | JSON_ENCODE_ANY);
        char *n = json_dumps(json_object_get(c, "new"), JSON_COMPACT | JSON_ENCODE_ANY);
        printf("  %s: %s -> %s (%s)\n", json_string_value(json_object_get(c, "path")), o ? o : "?", n ? n : "?",
               json_string_value(json_object_get(c, "applies")));
        free(o);
        free(n);
    }
}

static void print_sandboxes(const json_t *sbs)
{
    size_t i;
    json_t *s;
    json_array_foreach(sbs, i, s)
    {
        const char *err = json_string_value(json_object_get(s, "error"));
        const char *later = json_string_value(json_object_get(s, "new_run_only"));
        printf("  sandbox %s (%s): %s%s%s\n", json_string_value(json_object_get(s, "id")),
               json_string_value(json_object_get(s, "name")),
               err ? err : json_is_true(json_object_get(s, "limits_applied")) ? "limits applied" : "settings applied",
               later ? "; at its next start: " : "", later ? later : "");
    }
}

static void print_result(const json_t *resp)
{
    const char *pending = json_string_value(json_object_get(resp, "pending"));
    const char *domain = json_string_value(json_object_get(resp, "domain"));
    if (pending) {
        printf("%s: change queued for approval as %s (gbox config approve %s)\n", domain, pending, pending);
        print_changes(json_object_get(resp, "changes"));
        return;
    }
    const json_t *changes = json_object_get(resp, "changes");
    if (json_array_size(changes) == 0) {
        printf("%s: nothing changed (revision %lld)\n", domain, (long long)json_integer_value(json_object_get(resp, "rev")));
        return;
    }
    printf("%s: revision %lld\n", domain, (long long)json_integer_value(json_object_get(resp, "rev")));
    print_changes(changes);
    print_sandboxes(json_object_get(resp, "sandboxes"));
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(resp, "dependents"), i, d)
    {
        printf("%s (extends %s):\n", json_string_value(json_object_get(d, "domain")), domain);
        print_changes(json_object_get(d, "changes"));
        print_sandboxes(json_object_get(d, "sandboxes"));
    }
}

static json_t *read_patch(const char *file)
{
    json_error_t je;
    json_t *p = strcmp(file, "-") == 0 ? json_loadf(stdin, JSON_REJECT_DUPLICATES, &je)
                                       : json_load_file(file, JSON_REJECT_DUPLICATES, &je);
    if (!p)
        fprintf(stderr, "gbox: %s:%d:%d: %s\n", file, je.line, je.column, je.text);
    else if (!json_is_object(p)) {
        fprintf(stderr, "gbox: %s: expected a JSON merge patch (an object)\n", file);
        json_decref(p);
        p = NULL;
    }
    return p;
}

static int do_set(int argc, char **argv)
{
    if (argc < 2)
        return fputs(config_usage, stderr), GBOX_EXIT_USAGE;
    const char *domain = argv[0];
    json_t *rq = json_pack("{s:s,s:s}", "op", "config-set", "domain", domain);
    if (strcmp(argv[1], "--patch") == 0) {
        json_t *p = argc == 3 ? read_patch(argv[2]) : NULL;
        if (!p) {
            json_decref(rq);
            return argc == 3 ? 1 : (fputs(config_usage, stderr), GBOX_EXIT_USAGE);
        }
        json_object_set_new(rq, "patch", p);
    } else {
        json_t *set = json_object();
        for (int i = 1; i < argc; i++) {
            char *eq = strchr(argv[i], '=');
            if (!eq || eq == argv[i]) {
                fprintf(stderr, "gbox: config set: \"%s\": expected PATH=VALUE like resources.memory.max=256M\n", argv[i]);
                json_decref(set);
                json_decref(rq);
                return GBOX_EXIT_USAGE;
            }
            *eq = '\0';
            json_t *v = json_loads(eq + 1, JSON_DECODE_ANY, NULL); /* 64, 1.5, true, null, [...]; else a string */
            json_object_set_new(set, argv[i], v ? v : json_string(eq + 1));
        }
        json_object_set_new(rq, "set", set);
    }
    json_t *resp = client_call(rq);
    int rc = done(resp);
    if (rc == 0)
        print_result(resp);
    json_decref(resp);
    return rc;
}

static void fmt_time(json_int_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

static int do_history(const char *domain, bool as_json)
{
    json_t *resp = client_call(json_pack("{s:s,s:s}", "op", "config-history", "domain", domain));
    int rc = done(resp);
    if (rc == 0 && as_json) {
        print_json(json_object_get(resp, "revisions"));
    } else if (rc == 0) {
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(resp, "revisions"), i, r)
        {
            char t[32];
            fmt_time(json_integer_value(json_object_get(r, "time")), t, sizeof(t));
            printf("rev %lld  %s UTC  uid %lld  %s\n", (long long)json_integer_value(json_object_get(r, "rev")), t,
                   (long long)json_integer_value(json_object_get(r, "uid")), json_string_value(json_object_get(r, "source")));
            print_changes(json_object_get(r, "changes"));
        }
    }
    json_decref(resp);
    return rc;
}

static int do_pending(bool as_json)
{
    json_t *resp = client_call(json_pack("{s:s}", "op", "config-pending"));
    int rc = done(resp);
    if (rc == 0 && as_json) {
        print_json(json_object_get(resp, "pending"));
    } else if (rc == 0) {
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(resp, "pending"), i, e)
        {
            char t[32];
            fmt_time(json_integer_value(json_object_get(e, "time")), t, sizeof(t));
            printf("%s  %-7s %-20s uid %-6lld %s UTC\n", json_string_value(json_object_get(e, "id")),
                   json_string_value(json_object_get(e, "kind")), json_string_value(json_object_get(e, "domain")),
                   (long long)json_integer_value(json_object_get(e, "requester")), t);
            print_changes(json_object_get(json_object_get(e, "payload"), "changes"));
        }
    }
    json_decref(resp);
    return rc;
}

int cmd_config(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : NULL;
    if (!sub || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        fputs(config_usage, sub ? stdout : stderr);
        return sub ? 0 : GBOX_EXIT_USAGE;
    }
    int n = argc - 2;
    char **a = argv + 2;
    bool as_json = n > 0 && strcmp(a[n - 1], "--json") == 0;
    if (as_json)
        n--;
    json_t *resp = NULL;
    int rc;
    if (strcmp(sub, "set") == 0)
        return do_set(n, a);
    if (strcmp(sub, "history") == 0 && n == 1)
        return do_history(a[0], as_json);
    if (strcmp(sub, "pending") == 0 && n == 0)
        return do_pending(as_json);
    if (strcmp(sub, "get") == 0 && (n == 1 || n == 2)) {
        json_t *rq = json_pack("{s:s,s:s}", "op", "config-get", "domain", a[0]);
        if (n == 2)
            json_object_set_new(rq, "path", json_string(a[1]));
        resp = client_call(rq);
        if ((rc = done(resp)) == 0)
            print_json(json_object_get(resp, "value"));
    } else if (strcmp(sub, "revert") == 0 && n == 2) {
        char *end;
        long rev = strtol(a[1], &end, 10);
        if (*end || rev < 1) {
            fprintf(stderr, "gbox: config revert: REV: expected a revision number, got \"%s\"\n", a[1]);
            return GBOX_EXIT_USAGE;
        }
        resp = client_call(json_pack("{s:s,s:s,s:i}", "op", "config-revert", "domain", a[0], "rev", (int)rev));
        if ((rc = done(resp)) == 0)
            print_result(resp);
    } else if ((strcmp(sub, "approve") == 0 || strcmp(sub, "reject") == 0) && n == 1) {
        resp = client_call(json_pack("{s:s,s:s}", "op", sub, "id", a[0]));
        if ((rc = done(resp)) == 0) {
            if (sub[0] == 'r')
                printf("%s rejected\n", a[0]);
            else
                print_result(resp);
        }
    } else if (strcmp(sub, "reload") == 0 && n == 0) {
        resp = client_call(json_pack("{s:s}", "op", "config-reload"));
        rc = done(resp);
    } else {
        fputs(config_usage, stderr);
        return GBOX_EXIT_USAGE;
    }
    json_decref(resp);
    return rc;
}

int cmd_audit(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(audit_usage, stdout);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "verify") != 0 || argc > 3) {
        fputs(audit_usage, stderr);
        return GBOX_EXIT_USAGE;
    }
    char path[4096];
    if (argc == 3)
        snprintf(path, sizeof(path), "%s", argv[2]);
    else
        snprintf(path, sizeof(path), "%s/audit.jsonl", daemon_state_dir());
    struct audit_report r;
    int rc = audit_verify(path, &r);
    if (rc < 0) {
        fprintf(stderr, "gbox: audit verify: read %s: %s\n", path, strerror(-rc));
        return GBOX_EXIT_USAGE;
    }
    if (rc > 0) {
        fprintf(stderr, "gbox: audit verify: %s\n", r.msg);
        return 1;
    }
    printf("%s\n", r.msg);
    return 0;
}
