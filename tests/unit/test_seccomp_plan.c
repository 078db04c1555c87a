/* test_seccomp_plan.c — a policy's seccomp section into the sandbox's two filters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/policy.h"
#include "../../runtime/schema.h"
#include "../../runtime/seccomp_plan.h"
#include "../../runtime/syscall_groups.h"
#include "../../sandbox/internal.h"

/* ---- helpers -------------------------------------------------------------------------------- */

static int NR(const char *name)
{
    int nr = seccomp_syscall_resolve_name(name);
    if (nr < 0)
        fail_msg("unknown syscall %s", name);
    return nr;
}

/* A seccomp object from JSON text with the schema's defaults filled in, as a policy would have. */
static json_t *sc_from(const char *text)
{
    json_error_t je;
    json_t *sc = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (!sc)
        fail_msg("bad test JSON %s: %s", text, je.text);
    const json_t *f = schema_field_at("seccomp");
    assert_non_null(f);
    schema_fill_defaults(json_object_get(f, "fields"), sc);
    return sc;
}

static void plan_ok(const char *text, struct sbx_seccomp *out)
{
    json_t *sc = sc_from(text);
    struct sbx_err *err = NULL;
    if (seccomp_plan(sc, "t.json", out, &err) < 0)
        fail_msg("seccomp_plan(%s) failed: %s", text, err ? err->msg : "?");
    json_decref(sc);
    assert_null(err);
    assert_int_equal(out->n_filters, 2);
}

static void plan_error(const char *text, const char *want)
{
    json_t *sc = sc_from(text);
    struct sbx_err *err = NULL;
    struct sbx_seccomp out;
    int rc = seccomp_plan(sc, "t.json", &out, &err);
    json_decref(sc);
    if (rc == 0) {
        free(out.filters[0].rules);
        free(out.filters[1].rules);
        fail_msg("seccomp_plan(%s) succeeded, expected: %s", text, want);
    }
    assert_non_null(err);
    int code = err->code;
    char got[sizeof(err->msg)];
    memcpy(got, err->msg, sizeof(got));
    sbx_err_free(&err);
    assert_int_equal(code, 2);
    if (strcmp(got, want) != 0)
        fail_msg("seccomp_plan(%s)\n  got:      %s\n  expected: %s", text, got, want);
}

static void plan_free(struct sbx_seccomp *s)
{
    free(s->filters[0].rules);
    free(s->filters[1].rules);
    memset(s, 0, sizeof(*s));
}

/* The unconditional rule for nr in f, or NULL. Fails if there are two. */
static const struct sbx_syscall_rule *uncond(const struct sbx_filter *f, int nr)
{
    const struct sbx_syscall_rule *found = NULL;
    for (size_t i = 0; i < f->n_rules; i++) {
        if (f->rules[i].nr != nr || f->rules[i].n_args)
            continue;
        if (found)
            fail_msg("two unconditional rules for syscall %d", nr);
        found = &f->rules[i];
    }
    return found;
}

static size_t n_cond(const struct sbx_filter *f, int nr)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n_rules; i++)
        n += f->rules[i].nr == nr && f->rules[i].n_args > 0;
    return n;
}

static size_t n_rules_for(const struct sbx_filter *f, int nr)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n_rules; i++)
        n += f->rules[i].nr == nr;
    return n;
}

/* What f answers for a call of nr that no condition matches. */
static struct sbx_action effective(const struct sbx_filter *f, int nr)
{
    const struct sbx_syscall_rule *r = uncond(f, nr);
    return r ? r->action : f->default_action;
}

static void action_is(struct sbx_action a, enum sbx_action_kind kind, int errnum)
{
    if (a.kind != kind || a.errnum != errnum)
        fail_msg("action {%d, %d}, expected {%d, %d}", (int)a.kind, a.errnum, (int)kind, errnum);
}

static void effective_is(const struct sbx_seccomp *s, int filter, const char *name,
                         enum sbx_action_kind kind, int errnum)
{
    struct sbx_action a = effective(&s->filters[filter], NR(name));
    if (a.kind != kind || a.errnum != errnum)
        fail_msg("%s in filter %d: action {%d, %d}, expected {%d, %d}", name, filter, (int)a.kind,
                 a.errnum, (int)kind, errnum);
}

static bool filter_has_kill(const struct sbx_filter *f)
{
    if (f->default_action.kind == SBX_ACT_KILL)
        return true;
    for (size_t i = 0; i < f->n_rules; i++)
        if (f->rules[i].action.kind == SBX_ACT_KILL)
            return true;
    return false;
}

/* Invariants every plan must keep: kill (a user notification) in at most one filter, and no
 * syscall with both an unconditional and a conditional rule in one filter (libseccomp silently
 * drops the conditional one). */
static void check_invariants(const struct sbx_seccomp *s, const char *what)
{
    int kills = filter_has_kill(&s->filters[0]) + filter_has_kill(&s->filters[1]);
    if (kills > 1)
        fail_msg("%s: kill actions in both filters", what);
    for (int f = 0; f < 2; f++) {
        const struct sbx_filter *fl = &s->filters[f];
        for (size_t i = 0; i < fl->n_rules; i++) {
            const struct sbx_syscall_rule *r = &fl->rules[i];
            if (r->n_args == 0 && n_cond(fl, r->nr))
                fail_msg("%s: filter %d: syscall %d has an unconditional %d rule and a conditional "
                         "one (libseccomp drops the condition)", what, f, r->nr, (int)r->action.kind);
        }
    }
    assert_int_equal(s->filters[1].default_action.kind, SBX_ACT_ALLOW);
}

/* The plan must compile into BPF the way gbox run compiles it. */
static void check_compiles(const struct sbx_seccomp *s, const char *what)
{
    struct sbx_bpf bpf[SBX_MAX_FILTERS];
    struct sbx_err *err = NULL;
    if (sbx_seccomp_prepare(s, NULL, bpf, &err) < 0) {
        char m[1100];
        snprintf(m, sizeof(m), "%s", err ? err->msg : "?");
        sbx_err_free(&err);
        fail_msg("%s: sbx_seccomp_prepare: %s", what, m);
    }
    sbx_seccomp_release(bpf);
}

static void explain_is(const json_t *sc, const char *name, const char *want)
{
    char buf[128];
    seccomp_explain(sc, name, buf, sizeof(buf));
    if (strcmp(buf, want) != 0)
        fail_msg("seccomp_explain(%s) = \"%s\", expected \"%s\"", name, buf, want);
}

/* ---- filter 0: the lists -------------------------------------------------------------------- */

static void test_filter0_default_is_enosys(void **state)
{
    (void)state;
    struct sbx_seccomp s;
    plan_ok("{}", &s);
    action_is(s.filters[0].default_action, SBX_ACT_ERRNO, ENOSYS);
    action_is(s.filters[1].default_action, SBX_ACT_ALLOW, 0);
    effective_is(&s, 0, "mount", SBX_ACT_ERRNO, ENOSYS); /* named nowhere */
    assert_int_equal(n_rules_for(&s.filters[0], NR("mount")), 0);
    check_invariants(&s, "{}");
    plan_free(&s);
}

static void test_default_action_from_policy(void **state)
{
    (void)state;
    struct sbx_seccomp s;
    plan_ok("{\"default_action\": \"errno:EACCES\"}", &s);
    action_is(s.filters[0].default_action, SBX_ACT_ERRNO, EACCES);
    plan_free(&s);
    plan_ok("{\"default_action\": \"log\"}", &s);
    action_is(s.filters[0].default_action, SBX_ACT_LOG, 0);
    plan_free(&s);
}

static void test_allowed_syscall_has_allow_rule(void **state)
{
    (void)state;
    struct sbx_seccomp s;
    plan_ok("{\"allow\": [\"@default\", \"@network-io\", \"personality\"]}", &s);
    const struct sbx_syscall_rule *r = uncond(&s.filters[0], NR("socket"));
    assert_non_null(r);
    action_is(r->action, SBX_ACT_ALLOW, 0);
    assert_int_equal(r->n_args, 0);
    effective_is(&s, 0, "connect", SBX_ACT_ALLOW, 0);
    effective_is(&s, 0, "personality", SBX_ACT_ALLOW, 0); /* named explicitly */
    effective_is(&s, 0, "read", SBX_ACT_ALLOW, 0);        /* @default */
    effective_is(&s, 1, "socket", SBX_ACT_ALLOW, 0);
    assert_int_equal(n_rules_for(&s.filters[1], NR("socket")), 0);
    check_invariants(&s, "allow");
    plan_free(&s);
}

/* @default is allowed even when the policy's allow list leaves it out. */
static void test_default_group_always_allowed(void **state)
{
    (void)state;
    struct sbx_seccomp s;
    plan_ok("{\"allow\": [\"socket\"]}", &s);
    const struct syscall_group *d = syscall_group_find("@default");
    for (const char *const *n = d->syscalls; *n; n++)
        effective_is(&s, 0, *n, SBX_ACT_ALLOW, 0);
    effective_is(&s, 0, "socket", SBX_ACT_ALLOW, 0);
    effective_is(&s, 0, "ioctl", SBX_ACT_ERRNO, ENOSYS);
    plan_free(&s);
}

/* "@default is always allowed, listed or not, because the runtime itself needs it": a deny or
 * kill list reaching a member of @default through a group must not take it away from gbox's init
 * (or the policy must be refused). */
static void test_default_group_survives_deny_and_kill(void **state)
{
    (void)state;
    static const char *const policies[] = {
        "{\"allow\": [\"@default\"], \"deny\": [\"@process\"]}",
        "{\"allow\": [\"@default\"], \"kill\": [\"@signal\"]}",
    };
    static const char *const init_needs[] = {"execve", "exit_group", "wait4", "kill",
                                             "rt_sigtimedwait", "rt_sigprocmask", "write", "read"};
    for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++) {
        json_t *sc = sc_from(policies[i]);
        struct sbx_err *err = NULL;
        struct sbx_seccomp s;
        int rc = seccomp_plan(sc, "t.json", &s, &err);
        json_decref(sc);
        if (rc < 0) { /* refusing the policy is fine too */
            sbx_err_free(&err);
            continue;
        }
        for (size_t k = 0; k < sizeof(init_needs) / sizeof(init_needs[0]); k++) {
            int nr = NR(init_needs[k]);
            struct sbx_action a0 = effective(&s.filters[0], nr), a1 = effective(&s.filters[1], nr);
            if (a0.kind != SBX_ACT_ALLOW || a1.kind != SBX_ACT_ALLOW)
                fail_msg("%s: @default member %s gets {%d,%d} / {%d,%d} instead of allow", policies[i],
                         init_needs[k], (int)a0.kind, a0.errnum, (int)a1.kind, a1.errnum);
        }
        plan_free(&s);
    }
}

static void test_deny_overrides_allow_through_groups(void **state)
{
    (void)state;
    struct sbx_seccomp s;
    /* socketpair is in both @network-io and @ipc */
    plan_ok("{\"allow\": [\"@default\", \"@network-io\"], \"deny\": [\"@ipc\"]}", &s);
    effective_is(&s, 0, "socketpair", SBX_ACT_ERRNO, EPERM);
    assert_int_equal(n_rules_for(&s.filters[0], NR("socketpair")), 1);
    effective_is(&s, 0, "pipe2", SBX_ACT_ERRNO, EPERM);
    effective_is(&s, 0, "socket", SBX_ACT_ALLOW, 0);
    assert_int_equal(n_rules_for(&s.filters[1], NR("socketpair")), 0);
    check_invariants(&s, "deny");
    plan_free(&s);
    /* the order of the lists in the policy does not matter, and deny_action is used */
    plan_ok("{\"deny\": [\"@ipc\"], \"deny_action\": \"errno:EACCES\", \"allow\": [\"@network-io\"]}", &s);
    effective_is(&s, 0, "socketpair", SBX_ACT_ERRNO, EACCES);
    plan_free(&s);
}

static void test_explicit_deny_of_group_member_is_fine(void **state)
{
    (void)state;
    struct sbx_seccomp s;
    plan_ok("{\"allow\": [\"@default\", \"@basic-io\"], \"deny\": [\"ioctl\"]}", &s);
    effective_is(&s, 0, "ioctl", SBX_ACT_ERRNO, EPERM);
    effective_is(&s, 0, "readv", SBX_ACT_ALLOW, 0);
    plan_free(&s);
}

static void test_kill_listed_is_allow_in_0_and_kill_in_1(void **state)
{
    (void)state;
    struct sbx_seccomp s;
    plan_ok("{\"allow\": [\"@default\"], \"kill\": [\"@debug\"]}", &s);
    const struct syscall_group *dbg = syscall_group_find("@debug");
    for (const char *const *n = dbg->syscalls; *n; n++) {
        effective_is(&s, 0, *n, SBX_ACT_ALLOW, 0);
        const struct sbx_syscall_rule *r = uncond(&s.filters[1], NR(*n));
        if (!r)
            fail_msg("%s: no kill rule in filter 1", *n);
        action_is(r->action, SBX_ACT_KILL, 0);
    }
    assert_non_null(uncond(&s.filters[0], NR("ptrace"))); /* an explicit allow, not the default */
    check_invariants(&s, "kill");
    check_compiles(&s, "kill");
    plan_free(&s);
}

/* kill > deny > allow when groups overlap */
static void test_kill_overrides_deny_and_allow(void **state)
{
    (void)state;
    struct sbx_seccomp s;
    plan_ok("{\"allow\": [\"@default\", \"@network-io\"], \"deny\": [\"@ipc\"], \"kill\": [\"socketpair\"]}", &s);
    effective_is(&s, 0, "socketpair", SBX_ACT_ALLOW, 0);
    effective_is(&s, 1, "socketpair", SBX_ACT_KILL, 0);
    effective_is(&s, 0, "pipe", SBX_ACT_ERRNO, EPERM);
    plan_free(&s);
}

/* ---- clone and clone3 ----------------------------------------------------------------------- */

static void test_clone3_is_enosys(void **state)
{
    (void)state;
    struct sbx_seccomp s;
    plan_ok("{}", &s);
    effective_is(&s, 0, "clone3", SBX_ACT_ERRNO, ENOSYS);
    assert_int_equal(n_rules_for(&s.filters[1], NR("clone3")), 0);
    plan_free(&s);
    /* with another default the ENOSYS is an explicit rule */
    plan_ok("{\"default_action\": \"errno:EPERM\"}", &s);
    const struct sbx_syscall_rule *r = uncond(&s.filters[0], NR("clone3"));
    assert_non_null(r);
    action_is(r->action, SBX_ACT_ERRNO, ENOSYS);
    plan_free(&s);
    plan_ok("{\"default_action\": \"kill\"}", &s);
    effective_is(&s, 0, "clone3", SBX_ACT_ERRNO, ENOSYS);
    plan_free(&s);
    /* naming it in deny or kill is refused: gbox decides, and says so */
    plan_error("{\"deny\": [\"clone3\"]}",
               "t.json: seccomp.deny[0]: \"clone3\" cannot be denied: gbox always allows it (@default, "
               "clone without namespace flags) and always answers clone3 with ENOSYS");
    plan_error("{\"kill\": [\"read\"]}",
               "t.json: seccomp.kill[0]: \"read\" cannot be denied: gbox always allows it (@default, "
               "clone without namespace flags) and always answers clone3 with ENOSYS");
    plan_ok("{}", &s);
    assert_int_equal(n_rules_for(&s.filters[1], NR("clone3")), 0);
    plan_free(&s);
}

static void test_clone3_in_allow_is_an_error(void **state)
{
    (void)state;
    plan_error("{\"allow\": [\"@default\", \"clone3\"]}",
               "t.json: seccomp.allow[1]: clone3 cannot be allowed: its flags are invisible to seccomp, so "
               "gbox answers ENOSYS and libc falls back to clone");
}

static void test_clone_allowed_without_namespace_flags(void **state)
{
    (void)state;
    struct sbx_seccomp s;
    plan_ok("{\"allow\": [\"@default\"]}", &s);
    effective_is(&s, 0, "clone", SBX_ACT_ALLOW, 0);
    assert_int_equal(n_cond(&s.filters[0], NR("clone")), 0);

    const struct sbx_filter *f1 = &s.filters[1];
    action_is(f1->default_action, SBX_ACT_ALLOW, 0);
    assert_null(uncond(f1, NR("clone")));
    assert_int_equal(n_cond(f1, NR("clone")), 8);
    static const uint64_t flags[] = {CLONE_NEWNS,   CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
                                     CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET, 0x80 /* CLONE_NEWTIME */};
    bool seen[8] = {false};
    for (size_t i = 0; i < f1->n_rules; i++) {
        const struct sbx_syscall_rule *r = &f1->rules[i];
        if (r->nr != NR("clone"))
            continue;
        action_is(r->action, SBX_ACT_ERRNO, EPERM);
        assert_int_equal(r->n_args, 1);
        assert_int_equal(r->args[0].index, 0);
        assert_int_equal(r->args[0].op, SBX_CMP_MASKED_EQ);
        assert_int_equal(r->args[0].mask, r->args[0].value);
        size_t k = 0;
        while (k < 8 && flags[k] != r->args[0].value)
            k++;
        if (k == 8)
            fail_msg("unexpected clone flag rule 0x%llx", (unsigned long long)r->args[0].value);
        assert_false(seen[k]);
        seen[k] = true;
    }
    for (size_t k = 0; k < 8; k++)
        assert_true(seen[k]);
    /* nothing else in filter 1 for this policy */
    assert_int_equal(f1->n_rules, 8);
    check_invariants(&s, "clone");
    check_compiles(&s, "clone");
    plan_free(&s);
}

/* ---- conditional rules ---------------------------------------------------------------------- */

#define IOCTL_TIOCSTI_RULE                                                                          \
    "\"rules\": [{\"syscalls\": [\"ioctl\"], \"action\": \"errno:EPERM\", \"args\": [{\"index\": 1, " \
    "\"op\": \"masked_eq\", \"value\": 21522, \"mask\": 4294967295}]}]"

static void expect_tiocsti_rule(const struct sbx_syscall_rule *r)
{
    assert_int_equal(r->nr, NR("ioctl"));
    action_is(r->action, SBX_ACT_ERRNO, EPERM);
    assert_int_equal(r->n_args, 1);
    assert_int_equal(r->args[0].index, 1);
    assert_int_equal(r->args[0].op, SBX_CMP_MASKED_EQ);
    assert_int_equal(r->args[0].value, 21522);
    assert_int_equal(r->args[0].mask, 0xffffffffULL);
}

static const struct sbx_syscall_rule *first_cond(const struct sbx_filter *f, int nr)
{
    for (size_t i = 0; i < f->n_rules; i++)
        if (f->rules[i].nr == nr && f->rules[i].n_args)
            return &f->rules[i];
    return NULL;
}

static void test_conditional_rule_on_allowed_syscall_goes_to_filter1(void **state)
{
    (void)state;
    struct sbx_seccomp s;
    plan_ok("{\"allow\": [\"@default\", \"@basic-io\"], " IOCTL_TIOCSTI_RULE "}", &s);
    int ioctl = NR("ioctl");
    effective_is(&s, 0, "ioctl", SBX_ACT_ALLOW, 0);
    assert_int_equal(n_cond(&s.filters[0], ioctl), 0);
    assert_int_equal(n_cond(&s.filters[1], ioctl), 1);
    assert_null(uncond(&s.filters[1], ioctl));
    expect_tiocsti_rule(first_cond(&s.filters[1], ioctl));
    check_invariants(&s, "ioctl allowed");
    check_compiles(&s, "ioctl allowed");
    plan_free(&s);
}

static void test_conditional_rule_on_unlisted_syscall_goes_to_filter0(void **state)
{
    (void)state;
    struct sbx_seccomp s;
    plan_ok("{\"allow\": [\"@default\"], " IOCTL_TIOCSTI_RULE "}", &s);
    int ioctl = NR("ioctl");
    assert_null(uncond(&s.filters[0], ioctl)); /* otherwise the default action */
    assert_int_equal(n_cond(&s.filters[0], ioctl), 1);
    expect_tiocsti_rule(first_cond(&s.filters[0], ioctl));
    assert_int_equal(n_rules_for(&s.filters[1], ioctl), 0);
    check_invariants(&s, "ioctl unlisted");
    check_compiles(&s, "ioctl unlisted");
    plan_free(&s);
}

static void test_conditional_rule_ops_and_default_mask(void **state)
{
    (void)state;
    struct sbx_seccomp s;
    plan_ok("{\"allow\": [\"@default\", \"@process\"], \"rules\": [{\"syscalls\": [\"prctl\", \"personality\"], "
            "\"action\": \"errno:EINVAL\", \"args\": [{\"index\": 0, \"op\": \"ge\", \"value\": 40, \"mask\": null}, "
            "{\"index\": 2, \"op\": \"ne\", \"value\": 7, \"mask\": null}]}]}",
            &s);
    /* prctl is allowed (@process): filter 1; personality is unlisted: filter 0 */
    const struct sbx_syscall_rule *r = first_cond(&s.filters[1], NR("prctl"));
    assert_non_null(r);
    action_is(r->action, SBX_ACT_ERRNO, EINVAL);
    assert_int_equal(r->n_args, 2);
    assert_int_equal(r->args[0].index, 0);
    assert_int_equal(r->args[0].op, SBX_CMP_GE);
    assert_int_equal(r->args[0].value, 40);
    assert_int_equal(r->args[0].mask, ~0ULL);
    assert_int_equal(r->args[1].index, 2);
    assert_int_equal(r->args[1].op, SBX_CMP_NE);
    assert_int_equal(r->args[1].value, 7);
    r = first_cond(&s.filters[0], NR("personality"));
    assert_non_null(r);
    assert_int_equal(r->n_args, 2);
    check_invariants(&s, "ops");
    check_compiles(&s, "ops");
    plan_free(&s);
}

static void test_rule_without_args_on_allowed_syscall(void **state)
{
    (void)state;
    struct sbx_seccomp s;
    plan_ok("{\"allow\": [\"@default\", \"@basic-io\"], \"rules\": [{\"syscalls\": [\"ioctl\"], \"action\": \"errno:ENOTTY\"}]}", &s);
    effective_is(&s, 0, "ioctl", SBX_ACT_ALLOW, 0);
    effective_is(&s, 1, "ioctl", SBX_ACT_ERRNO, ENOTTY);
    plan_free(&s);
}

static void test_rule_that_can_never_take_effect(void **state)
{
    (void)state;
    plan_error("{\"allow\": [\"@default\"], \"deny\": [\"keyctl\"], \"rules\": [{\"syscalls\": [\"keyctl\"], "
               "\"action\": \"allow\", \"args\": [{\"index\": 0, \"op\": \"eq\", \"value\": 1}]}]}",
               "t.json: seccomp.rules[0]: the allow rule for keyctl can never take effect: seccomp.deny "
               "already gives it errno:EPERM unconditionally (remove keyctl from that list so the rule "
               "falls through to the default action)");
    plan_error("{\"allow\": [\"@default\"], \"rules\": [{\"syscalls\": [\"read\"], \"action\": \"allow\"}]}",
               "t.json: seccomp.rules[0]: the allow rule for read can never take effect: gbox (@default, "
               "clone and clone3 are fixed) already gives it allow unconditionally (remove read from that "
               "list so the rule falls through to the default action)");
    plan_error("{\"rules\": [{\"syscalls\": [\"clone3\"], \"action\": \"kill\"}]}",
               "t.json: seccomp.rules[0]: the kill rule for clone3 can never take effect: gbox (@default, "
               "clone and clone3 are fixed) already gives it errno:ENOSYS unconditionally (remove clone3 from that list so the rule falls "
               "through to the default action)");
    /* with default_action kill, kill rules must stay in filter 0: one on an allowed call cannot */
    plan_error("{\"default_action\": \"kill\", \"allow\": [\"@default\", \"@basic-io\"], \"rules\": "
               "[{\"syscalls\": [\"ioctl\"], \"action\": \"kill\", \"args\": [{\"index\": 1, \"op\": \"eq\", \"value\": 1}]}]}",
               "t.json: seccomp.rules[0]: the kill rule for ioctl can never take effect: seccomp.allow "
               "already gives it allow unconditionally (remove ioctl from that list so the rule falls "
               "through to the default action)");
}

static void test_two_comparisons_on_one_argument(void **state)
{
    (void)state;
    plan_error("{\"rules\": [{\"syscalls\": [\"ioctl\"], \"action\": \"errno:EPERM\", \"args\": ["
               "{\"index\": 1, \"op\": \"ge\", \"value\": 1, \"mask\": null}, {\"index\": 0, \"op\": \"eq\", \"value\": 3, \"mask\": null}, "
               "{\"index\": 1, \"op\": \"le\", \"value\": 9, \"mask\": null}]}]}",
               "t.json: seccomp.rules[0].args[2]: argument 1 is already compared in this rule (one "
               "comparison per argument)");
}

/* ---- errors the plan finds itself ----------------------------------------------------------- */

static void test_plan_errors(void **state)
{
    (void)state;
    plan_error("{\"allow\": [\"@bogus\"]}", "t.json: seccomp.allow[0]: unknown syscall group \"@bogus\"");
    plan_error("{\"deny\": [\"keyctl\", \"bogus_call\"]}", "t.json: seccomp.deny[1]: unknown syscall \"bogus_call\"");
    plan_error("{\"allow\": [\"ptrace\"], \"kill\": [\"ptrace\"]}",
               "t.json: seccomp.kill[0]: \"ptrace\" is also named in seccomp.allow: a syscall can be named in "
               "only one of seccomp.allow, seccomp.deny and seccomp.kill");
    /* the same name twice in one list is not a conflict */
    struct sbx_seccomp s;
    plan_ok("{\"deny\": [\"keyctl\", \"keyctl\"]}", &s);
    effective_is(&s, 0, "keyctl", SBX_ACT_ERRNO, EPERM);
    plan_free(&s);
}

/* ---- default_action kill -------------------------------------------------------------------- */

static void test_default_kill_keeps_kills_in_filter0(void **state)
{
    (void)state;
    struct sbx_seccomp s;
    plan_ok("{\"default_action\": \"kill\", \"allow\": [\"@default\", \"@basic-io\"], \"kill\": [\"@debug\"], "
            "\"rules\": [{\"syscalls\": [\"ioctl\"], \"action\": \"errno:EPERM\", \"args\": "
            "[{\"index\": 1, \"op\": \"eq\", \"value\": 21522}]}, {\"syscalls\": [\"personality\"], "
            "\"action\": \"errno:EINVAL\", \"args\": [{\"index\": 0, \"op\": \"eq\", \"value\": 1}]}]}",
            &s);
    action_is(s.filters[0].default_action, SBX_ACT_KILL, 0);
    effective_is(&s, 0, "ptrace", SBX_ACT_KILL, 0);
    effective_is(&s, 0, "mount", SBX_ACT_KILL, 0);
    effective_is(&s, 0, "read", SBX_ACT_ALLOW, 0);
    /* no kill anywhere in filter 1 */
    assert_false(filter_has_kill(&s.filters[1]));
    assert_int_equal(n_rules_for(&s.filters[1], NR("ptrace")), 0);
    /* a conditional rule on an unlisted call is in filter 0, refining the kill default */
    const struct sbx_syscall_rule *r = first_cond(&s.filters[0], NR("personality"));
    assert_non_null(r);
    action_is(r->action, SBX_ACT_ERRNO, EINVAL);
    assert_null(uncond(&s.filters[0], NR("personality")));
    /* the errno rule on an allowed call is in filter 1 */
    assert_int_equal(n_cond(&s.filters[1], NR("ioctl")), 1);
    check_invariants(&s, "default kill");
    check_compiles(&s, "default kill");
    plan_free(&s);
}

static void test_default_allow_emits_no_allow_rules(void **state)
{
    (void)state;
    struct sbx_seccomp s;
    plan_ok("{\"default_action\": \"allow\", \"allow\": [\"@default\", \"@basic-io\"], \"deny\": [\"@mount\"]}", &s);
    for (size_t i = 0; i < s.filters[0].n_rules; i++)
        assert_int_not_equal(s.filters[0].rules[i].action.kind, SBX_ACT_ALLOW);
    effective_is(&s, 0, "mount", SBX_ACT_ERRNO, EPERM);
    effective_is(&s, 0, "clone3", SBX_ACT_ERRNO, ENOSYS);
    effective_is(&s, 0, "read", SBX_ACT_ALLOW, 0);
    plan_free(&s);
}

/* A rule on a call the lists do not name, whose action is the default action, changes nothing;
 * it must not reach libseccomp, which refuses a rule whose action equals the filter's default
 * (EACCES), so gbox run would fail with "seccomp rule for personality: Permission denied" for a
 * policy that validated. Dropping the rule or refusing the policy are both fine. */
static void test_rule_with_the_default_action_on_unlisted_call(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "{\"rules\": [{\"syscalls\": [\"personality\"], \"action\": \"errno:ENOSYS\", \"args\": "
        "[{\"index\": 0, \"op\": \"eq\", \"value\": 1}]}]}",
        "{\"default_action\": \"kill\", \"rules\": [{\"syscalls\": [\"personality\"], \"action\": \"kill\", "
        "\"args\": [{\"index\": 0, \"op\": \"eq\", \"value\": 1}]}]}",
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        json_t *sc = sc_from(texts[i]);
        struct sbx_err *err = NULL;
        struct sbx_seccomp s;
        int rc = seccomp_plan(sc, "t.json", &s, &err);
        json_decref(sc);
        if (rc < 0) {
            sbx_err_free(&err);
            continue;
        }
        check_invariants(&s, texts[i]);
        check_compiles(&s, texts[i]);
        plan_free(&s);
    }
}

/* A conditional kill rule on a call the lists do not name, next to a kill list: the kill rules
 * must end up in one filter (the seccomp listener is one), or the policy must be refused. As it
 * is, the policy validates and gbox run fails with "kill actions in more than one seccomp filter". */
static void test_conditional_kill_on_unlisted_with_kill_list(void **state)
{
    (void)state;
    const char *text = "{\"allow\": [\"@default\"], \"kill\": [\"@debug\"], \"rules\": [{\"syscalls\": "
                       "[\"personality\"], \"action\": \"kill\", \"args\": [{\"index\": 0, \"op\": \"eq\", \"value\": 1}]}]}";
    json_t *sc = sc_from(text);
    struct sbx_err *err = NULL;
    struct sbx_seccomp s;
    int rc = seccomp_plan(sc, "t.json", &s, &err);
    json_decref(sc);
    if (rc < 0) { /* refused at load time: acceptable */
        sbx_err_free(&err);
        return;
    }
    check_invariants(&s, text);
    check_compiles(&s, text);
    plan_free(&s);
}

/* deny_action "kill" makes the deny list act like the kill list; a conditional rule on a denied
 * call then shares filter 1 with an unconditional kill rule and libseccomp drops its condition,
 * so the rule silently never applies. It must be refused like a rule on a kill-listed call. */
static void test_conditional_rule_on_call_denied_with_kill(void **state)
{
    (void)state;
    plan_error("{\"allow\": [\"@default\"], \"deny\": [\"@keyring\"], \"deny_action\": \"kill\", \"rules\": "
               "[{\"syscalls\": [\"keyctl\"], \"action\": \"errno:EPERM\", \"args\": [{\"index\": 0, \"op\": \"eq\", \"value\": 1}]}]}",
               "t.json: seccomp.rules[0]: the errno:EPERM rule for keyctl can never take effect: seccomp.deny "
               "already gives it kill unconditionally (remove keyctl from that list so the rule falls through "
               "to the default action)");
}

/* ---- real policies -------------------------------------------------------------------------- */

static void test_base_policy_plan(void **state)
{
    (void)state;
    struct gbox_policy *p = NULL;
    struct sbx_err *err = NULL;
    if (policy_load("base", &p, &err) < 0)
        fail_msg("base: %s", err->msg);
    struct sbx_seccomp s;
    assert_int_equal(seccomp_plan(pol_get(p, "seccomp"), p->file, &s, &err), 0);
    action_is(s.filters[0].default_action, SBX_ACT_ERRNO, ENOSYS);
    effective_is(&s, 0, "openat", SBX_ACT_ALLOW, 0);
    effective_is(&s, 0, "ptrace", SBX_ACT_ALLOW, 0);
    effective_is(&s, 1, "ptrace", SBX_ACT_KILL, 0);
    effective_is(&s, 0, "keyctl", SBX_ACT_ERRNO, EPERM);
    effective_is(&s, 0, "mount", SBX_ACT_ERRNO, EPERM);
    effective_is(&s, 0, "socket", SBX_ACT_ERRNO, ENOSYS); /* base has no @network-io */
    effective_is(&s, 0, "clone3", SBX_ACT_ERRNO, ENOSYS);
    effective_is(&s, 0, "clone", SBX_ACT_ALLOW, 0);
    /* the ioctl rules (TIOCSTI, TIOCLINUX, TIOCSETD) refine an allowed call: filter 1 */
    assert_int_equal(n_cond(&s.filters[1], NR("ioctl")), 3);
    assert_int_equal(n_cond(&s.filters[0], NR("ioctl")), 0);
    /* the address family rules: socket is not allowed in base (filter 0, overriding ENOSYS),
     * socketpair is (@ipc): filter 1 */
    assert_int_equal(n_cond(&s.filters[0], NR("socket")), 7);
    assert_int_equal(n_cond(&s.filters[1], NR("socketpair")), 1);
    /* RLIMIT_CORE stays at 1: setrlimit and prlimit64 (allowed, @resources) refined in filter 1 */
    assert_int_equal(n_cond(&s.filters[1], NR("setrlimit")), 1);
    assert_int_equal(n_cond(&s.filters[1], NR("prlimit64")), 1);
    bool sti = false, linux_ = false, setd = false;
    for (size_t i = 0; i < s.filters[1].n_rules; i++) {
        const struct sbx_syscall_rule *r = &s.filters[1].rules[i];
        if (r->nr != NR("ioctl"))
            continue;
        assert_int_equal(r->args[0].mask, 0xffffffffULL);
        sti |= r->args[0].value == 21522;
        linux_ |= r->args[0].value == 21532;
        setd |= r->args[0].value == 21539;
    }
    assert_true(sti && linux_ && setd);
    check_invariants(&s, "base");
    check_compiles(&s, "base");
    plan_free(&s);
    policy_free(p);
}

static void test_every_real_policy_plan_compiles(void **state)
{
    (void)state;
    DIR *d = opendir("policies");
    assert_non_null(d);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0 || strcmp(de->d_name, "schema.json") == 0)
            continue;
        char file[PATH_MAX];
        snprintf(file, sizeof(file), "policies/%s", de->d_name);
        struct gbox_policy *p = NULL;
        struct sbx_err *err = NULL;
        if (policy_load(file, &p, &err) < 0)
            fail_msg("%s: %s", file, err->msg);
        struct sbx_seccomp s;
        assert_int_equal(seccomp_plan(pol_get(p, "seccomp"), p->file, &s, &err), 0);
        check_invariants(&s, file);
        check_compiles(&s, file);
        /* what gbox's init needs stays allowed in every policy */
        const struct syscall_group *dflt = syscall_group_find("@default");
        for (const char *const *nm = dflt->syscalls; *nm; nm++) {
            struct sbx_action a0 = effective(&s.filters[0], NR(*nm)), a1 = effective(&s.filters[1], NR(*nm));
            if (a0.kind != SBX_ACT_ALLOW || a1.kind != SBX_ACT_ALLOW)
                fail_msg("%s: @default member %s is not allowed", file, *nm);
        }
        plan_free(&s);
        policy_free(p);
        n++;
    }
    closedir(d);
    assert_int_equal(n, 13);
}

/* ---- seccomp_explain ------------------------------------------------------------------------ */

static void test_explain_base(void **state)
{
    (void)state;
    struct gbox_policy *p = NULL;
    struct sbx_err *err = NULL;
    if (policy_load("base", &p, &err) < 0)
        fail_msg("base: %s", err->msg);
    const json_t *sc = pol_get(p, "seccomp");
    explain_is(sc, "ptrace", "seccomp.kill (@debug)");
    explain_is(sc, "process_vm_readv", "seccomp.kill (@debug)");
    explain_is(sc, "keyctl", "seccomp.deny (@keyring)");
    explain_is(sc, "mount", "seccomp.deny (@mount)");
    explain_is(sc, "ioctl", "seccomp.rules[0]");
    explain_is(sc, "read", "seccomp.allow (@default)");
    explain_is(sc, "openat2", "seccomp.allow (@file-system)");
    explain_is(sc, "io_uring_setup", "seccomp.default_action");
    explain_is(sc, "socket", "seccomp.rules[3]"); /* the address family rules come first */
    explain_is(sc, "bind", "seccomp.default_action");
    policy_free(p);
}

static void test_explain_explicit_names_and_precedence(void **state)
{
    (void)state;
    json_t *sc = sc_from("{\"allow\": [\"@default\", \"socket\", \"@network-io\"], \"deny\": [\"@ipc\"], "
                         "\"kill\": [\"ptrace\"], \"rules\": [{\"syscalls\": [\"read\"], \"action\": \"log\"}, "
                         "{\"syscalls\": [\"write\", \"ioctl\"], \"action\": \"log\"}]}");
    explain_is(sc, "socket", "seccomp.allow");
    explain_is(sc, "connect", "seccomp.allow (@network-io)");
    explain_is(sc, "socketpair", "seccomp.deny (@ipc)"); /* deny before allow */
    explain_is(sc, "ptrace", "seccomp.kill");
    explain_is(sc, "read", "seccomp.rules[0]"); /* rules before the lists */
    explain_is(sc, "ioctl", "seccomp.rules[1]");
    explain_is(sc, "mount", "seccomp.default_action");
    char small[12];
    seccomp_explain(sc, "connect", small, sizeof(small));
    assert_string_equal(small, "seccomp.all"); /* truncated, terminated */
    json_decref(sc);
}

static int setup(void **state)
{
    (void)state;
    setenv("GBOX_POLICY_DIR", "policies", 1);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filter0_default_is_enosys),
        cmocka_unit_test(test_default_action_from_policy),
        cmocka_unit_test(test_allowed_syscall_has_allow_rule),
        cmocka_unit_test(test_default_group_always_allowed),
        cmocka_unit_test(test_default_group_survives_deny_and_kill),
        cmocka_unit_test(test_deny_overrides_allow_through_groups),
        cmocka_unit_test(test_explicit_deny_of_group_member_is_fine),
        cmocka_unit_test(test_kill_listed_is_allow_in_0_and_kill_in_1),
        cmocka_unit_test(test_kill_overrides_deny_and_allow),
        cmocka_unit_test(test_clone3_is_enosys),
        cmocka_unit_test(test_clone3_in_allow_is_an_error),
        cmocka_unit_test(test_clone_allowed_without_namespace_flags),
        cmocka_unit_test(test_conditional_rule_on_allowed_syscall_goes_to_filter1),
        cmocka_unit_test(test_conditional_rule_on_unlisted_syscall_goes_to_filter0),
        cmocka_unit_test(test_conditional_rule_ops_and_default_mask),
        cmocka_unit_test(test_rule_without_args_on_allowed_syscall),
        cmocka_unit_test(test_rule_that_can_never_take_effect),
        cmocka_unit_test(test_two_comparisons_on_one_argument),
        cmocka_unit_test(test_plan_errors),
        cmocka_unit_test(test_default_kill_keeps_kills_in_filter0),
        cmocka_unit_test(test_default_allow_emits_no_allow_rules),
        cmocka_unit_test(test_rule_with_the_default_action_on_unlisted_call),
        cmocka_unit_test(test_conditional_kill_on_unlisted_with_kill_list),
        cmocka_unit_test(test_conditional_rule_on_call_denied_with_kill),
        cmocka_unit_test(test_base_policy_plan),
        cmocka_unit_test(test_every_real_policy_plan_compiles),
        cmocka_unit_test(test_explain_base),
        cmocka_unit_test(test_explain_explicit_names_and_precedence),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
