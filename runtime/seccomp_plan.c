/* seccomp_plan.c — turn a policy's seccomp section into the sandbox's filters.
 *
 * Filter 0 holds the policy's lists: each syscall gets the action of the strongest list naming
 * it (kill > deny > allow), everything else the default action ("errno:ENOSYS" in base.json, so
 * syscalls newer than the policy fail the way old kernels fail and libc falls back).
 * Filter 1 defaults to allow and only ever restricts: conditional rules that refine a syscall the
 * lists already decide (libseccomp drops conditions on a syscall that has an unconditional rule),
 * the "kill" rules (they become user notifications, which the kernel ranks below errno, so filter
 * 0 must allow those calls for filter 1's answer to win), and clone with any namespace flag.
 * clone3 always gets ENOSYS: its flags are in memory where seccomp cannot look, and libc then
 * falls back to clone, whose flags it can. */
#include "seccomp_plan.h"

#include "names.h"
#include "syscall_groups.h"
#include "../sandbox/util.h"

#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>

#define MAX_NR 1024

enum { SRC_NONE, SRC_ALLOW, SRC_DENY, SRC_KILL, SRC_FORCED };
static const char *const src_names[] = {"", "seccomp.allow", "seccomp.deny", "seccomp.kill",
                                         "gbox (@default, clone and clone3 are fixed)"};

struct base {
    struct sbx_action act;
    int src;
    bool explicit_in[4]; /* named explicitly (not via a group) in allow/deny/kill */
};

struct plan {
    const char *file;
    struct sbx_err **err;
    struct base base[MAX_NR];
    struct sbx_action def;
    struct sbx_syscall_rule *r[2];
    size_t n[2], cap[2];
};

static void push(struct plan *p, int f, struct sbx_syscall_rule r)
{
    if (p->n[f] == p->cap[f]) {
        p->cap[f] = p->cap[f] ? p->cap[f] * 2 : 64;
        p->r[f] = realloc(p->r[f], p->cap[f] * sizeof(r));
        if (!p->r[f])
            abort();
    }
    p->r[f][p->n[f]++] = r;
}

/* The kernel's precedence when filters disagree (higher wins). */
static int rank(struct sbx_action a)
{
    switch (a.kind) {
    case SBX_ACT_ALLOW: return 0;
    case SBX_ACT_LOG: return 1;
    case SBX_ACT_KILL: return 2; /* a user notification */
    case SBX_ACT_ERRNO: return 3;
    case SBX_ACT_TRAP: return 4;
    case SBX_ACT_KILL_PROCESS: return 5;
    }
    return 5;
}

static const char *action_str(struct sbx_action a, char *buf, size_t len)
{
    static const char *const k[] = {"allow", "errno", "kill", "log", "trap", "kill-process"};
    if (a.kind == SBX_ACT_ERRNO)
        snprintf(buf, len, "errno:%s", errno_name(a.errnum));
    else
        snprintf(buf, len, "%s", k[a.kind]);
    return buf;
}

static int set_base(struct plan *p, const char *name, int src, struct sbx_action act, bool explicit,
                    const char *path)
{
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR)
        return sbx_err_set(p->err, GBOX_EXIT_USAGE, 0, "%s: %s: unknown syscall \"%s\"", p->file,
                           path, name);
    if (nr < 0 || nr >= MAX_NR) /* a syscall that does not exist on this architecture */
        return 0;
    struct base *b = &p->base[nr];
    if (explicit && b->src == SRC_FORCED && src != SRC_ALLOW)
        return sbx_err_set(p->err, GBOX_EXIT_USAGE, 0,
                           "%s: %s: \"%s\" cannot be denied: gbox always allows it (@default, "
                           "clone without namespace flags) and always answers clone3 with ENOSYS",
                           p->file, path, name);
    if (explicit) {
        for (int s = SRC_ALLOW; s <= SRC_KILL; s++)
            if (s != src && b->explicit_in[s])
                return sbx_err_set(p->err, GBOX_EXIT_USAGE, 0,
                                   "%s: %s: \"%s\" is also named in %s: a syscall can be named in "
                                   "only one of seccomp.allow, seccomp.deny and seccomp.kill",
                                   p->file, path, name, src_names[s]);
        b->explicit_in[src] = true;
    }
    if (src >= b->src) {
        b->src = src;
        b->act = act;
    }
    return 0;
}

static int add_list(struct plan *p, const json_t *list, const char *field, int src,
                    struct sbx_action act)
{
    size_t i;
    const json_t *e;
    json_array_foreach(list, i, e)
    {
        char path[128];
        snprintf(path, sizeof(path), "%s[%zu]", field, i);
        const char *name = json_string_value(e);
        if (name[0] != '@') {
            if (src == SRC_ALLOW && strcmp(name, "clone3") == 0)
                return sbx_err_set(p->err, GBOX_EXIT_USAGE, 0,
                                   "%s: %s: clone3 cannot be allowed: its flags are invisible to "
                                   "seccomp, so gbox answers ENOSYS and libc falls back to clone",
                                   p->file, path);
            if (set_base(p, name, src, act, true, path) < 0)
                return -1;
            continue;
        }
        const struct syscall_group *g = syscall_group_find(name);
        if (!g)
            return sbx_err_set(p->err, GBOX_EXIT_USAGE, 0, "%s: %s: unknown syscall group \"%s\"",
                               p->file, path, name);
        for (const char *const *s = g->syscalls; *s; s++)
            if (set_base(p, *s, src, act, false, path) < 0)
                return -1;
    }
    return 0;
}

static const enum sbx_cmp ops[] = {SBX_CMP_EQ, SBX_CMP_NE, SBX_CMP_LT, SBX_CMP_LE,
                                   SBX_CMP_GT, SBX_CMP_GE, SBX_CMP_MASKED_EQ};
static const char *const op_names[] = {"eq", "ne", "lt", "le", "gt", "ge", "masked_eq"};

static int add_conditional(struct plan *p, const json_t *rule, size_t idx, bool default_kills)
{
    struct sbx_syscall_rule r = {0};
    parse_action(json_string_value(json_object_get(rule, "action")), &r.action);
    const json_t *args = json_object_get(rule, "args");
    size_t i;
    const json_t *a;
    json_array_foreach(args, i, a)
    {
        struct sbx_arg_cond *c = &r.args[r.n_args++];
        c->index = (unsigned)json_integer_value(json_object_get(a, "index"));
        const char *op = json_string_value(json_object_get(a, "op"));
        for (size_t k = 0; k < ARRAY_LEN(op_names); k++)
            if (strcmp(op, op_names[k]) == 0)
                c->op = ops[k];
        c->value = (uint64_t)json_integer_value(json_object_get(a, "value"));
        const json_t *m = json_object_get(a, "mask");
        c->mask = json_is_integer(m) ? (uint64_t)json_integer_value(m) : ~0ULL;
        for (size_t j = 0; j + 1 < r.n_args; j++)
            if (r.args[j].index == c->index)
                return sbx_err_set(p->err, GBOX_EXIT_USAGE, 0,
                                   "%s: seccomp.rules[%zu].args[%zu]: argument %u is already "
                                   "compared in this rule (one comparison per argument)",
                                   p->file, idx, i, c->index);
    }
    const json_t *names = json_object_get(rule, "syscalls");
    const json_t *n;
    json_array_foreach(names, i, n)
    {
        const char *name = json_string_value(n);
        int nr = seccomp_syscall_resolve_name(name);
        if (nr < 0 || nr >= MAX_NR)
            continue;
        r.nr = nr;
        const struct base *b = &p->base[nr];
        char b1[32], b2[32];
        if (b->src == SRC_NONE) {
            if (r.action.kind == SBX_ACT_KILL && !default_kills) {
                /* The kill lives in filter 1 with the other notifications; filter 0 must allow
                 * the matching calls or its default (ranked above a notification) would win. */
                struct sbx_syscall_rule allow0 = r;
                allow0.action = (struct sbx_action){SBX_ACT_ALLOW, 0};
                push(p, 0, allow0);
                push(p, 1, r);
            } else if (memcmp(&r.action, &p->def, sizeof(p->def)) != 0) {
                push(p, 0, r); /* a rule giving the default action changes nothing */
            }
        } else if (b->act.kind != SBX_ACT_KILL && rank(r.action) > rank(b->act) &&
                   !(default_kills && r.action.kind == SBX_ACT_KILL)) {
            push(p, 1, r);
        } else {
            return sbx_err_set(p->err, GBOX_EXIT_USAGE, 0,
                               "%s: seccomp.rules[%zu]: the %s rule for %s can never take effect: "
                               "%s already gives it %s unconditionally (remove %s from that list "
                               "so the rule falls through to the default action)",
                               p->file, idx, action_str(r.action, b1, sizeof(b1)), name,
                               src_names[b->src], action_str(b->act, b2, sizeof(b2)), name);
        }
    }
    return 0;
}

int seccomp_plan(const json_t *sc, const char *file, struct sbx_seccomp *out, struct sbx_err **err)
{
    struct plan *p = xcalloc(1, sizeof(*p));
    p->file = file;
    p->err = err;
    struct sbx_action def, deny, allow = {SBX_ACT_ALLOW, 0}, kill = {SBX_ACT_KILL, 0};
    parse_action(json_string_value(json_object_get(sc, "default_action")), &def);
    parse_action(json_string_value(json_object_get(sc, "deny_action")), &deny);
    bool default_kills = def.kind == SBX_ACT_KILL;
    p->def = def;
    json_t *forced = json_pack("[s]", "@default");
    int rc = -1;
    /* clone is allowed (threads, fork), clone3 is not: see the comment at the top. */
    set_base(p, "clone", SRC_FORCED, allow, false, "gbox");
    set_base(p, "clone3", SRC_FORCED, (struct sbx_action){SBX_ACT_ERRNO, ENOSYS}, false, "gbox");
    /* "@default" is what every program and gbox's own init need: no list can take it away. */
    if (add_list(p, forced, "@default", SRC_FORCED, allow) < 0 ||
        add_list(p, json_object_get(sc, "allow"), "seccomp.allow", SRC_ALLOW, allow) < 0 ||
        add_list(p, json_object_get(sc, "deny"), "seccomp.deny", SRC_DENY, deny) < 0 ||
        add_list(p, json_object_get(sc, "kill"), "seccomp.kill", SRC_KILL, kill) < 0)
        goto out;

    const json_t *rules = json_object_get(sc, "rules");
    size_t i;
    const json_t *rule;
    json_array_foreach(rules, i, rule) if (add_conditional(p, rule, i, default_kills) < 0) goto out;

    for (int nr = 0; nr < MAX_NR; nr++) {
        struct base *b = &p->base[nr];
        if (b->src == SRC_NONE)
            continue;
        struct sbx_syscall_rule r = {.nr = nr, .action = b->act};
        if (b->act.kind == SBX_ACT_KILL && !default_kills) {
            push(p, 1, r);
            r.action = allow;
        }
        if (memcmp(&r.action, &def, sizeof(def)) != 0)
            push(p, 0, r);
    }
    static const int ns_flags[] = {CLONE_NEWNS,  CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
                                   CLONE_NEWUSER, CLONE_NEWPID,   CLONE_NEWNET, 0x80 /* NEWTIME */};
    for (size_t k = 0; k < ARRAY_LEN(ns_flags); k++) {
        struct sbx_syscall_rule r = {.nr = seccomp_syscall_resolve_name("clone"),
                                     .action = {SBX_ACT_ERRNO, EPERM},
                                     .n_args = 1};
        r.args[0] = (struct sbx_arg_cond){0, SBX_CMP_MASKED_EQ, (uint64_t)ns_flags[k], (uint64_t)ns_flags[k]};
        push(p, 1, r);
    }
    memset(out, 0, sizeof(*out));
    out->n_filters = 2;
    out->filters[0] = (struct sbx_filter){def, p->r[0], p->n[0]};
    out->filters[1] = (struct sbx_filter){allow, p->r[1], p->n[1]};
    p->r[0] = p->r[1] = NULL;
    rc = 0;
out:
    json_decref(forced);
    free(p->r[0]);
    free(p->r[1]);
    free(p);
    return rc;
}

static bool list_names(const json_t *list, const char *name, char *via, size_t len)
{
    size_t i;
    const json_t *e;
    json_array_foreach(list, i, e)
    {
        const char *s = json_string_value(e);
        if (strcmp(s, name) == 0) {
            snprintf(via, len, "%s", s);
            return true;
        }
        const struct syscall_group *g = s[0] == '@' ? syscall_group_find(s) : NULL;
        for (const char *const *m = g ? g->syscalls : NULL; m && *m; m++) {
            if (strcmp(*m, name) == 0) {
                snprintf(via, len, "%s", s);
                return true;
            }
        }
    }
    return false;
}

void seccomp_explain(const json_t *sc, const char *name, char *buf, size_t len)
{
    static const char *const lists[] = {"kill", "deny", "allow"};
    char via[64];
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(sc, "rules"), i, r)
    {
        if (list_names(json_object_get(r, "syscalls"), name, via, sizeof(via))) {
            snprintf(buf, len, "seccomp.rules[%zu]", i);
            return;
        }
    }
    for (size_t k = 0; k < ARRAY_LEN(lists); k++) {
        if (list_names(json_object_get(sc, lists[k]), name, via, sizeof(via))) {
            if (strcmp(via, name) == 0)
                snprintf(buf, len, "seccomp.%s", lists[k]);
            else
                snprintf(buf, len, "seccomp.%s (%s)", lists[k], via);
            return;
        }
    }
    snprintf(buf, len, "seccomp.default_action");
}
