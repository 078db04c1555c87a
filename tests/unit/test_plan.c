/* test_plan.c — what plan_build decides for the shipped policies, on a stand-in image (a tree
 * with /bin/sh): the rlimits gbox always sets, and the Landlock rules derived from the mounts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../runtime/plan.h"
#include "../../runtime/policy.h"

static char dir[PATH_MAX], program[PATH_MAX];

static int setup(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/gbox-plan-XXXXXX", p[PATH_MAX];
    if (!mkdtemp(tmpl))
        return -1;
    snprintf(dir, sizeof(dir), "%s", tmpl);
    static const char *const sub[] = {"base", "base/rootfs", "base/rootfs/bin"};
    for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, sub[i]);
        if (mkdir(p, 0755) < 0)
            return -1;
    }
    snprintf(p, sizeof(p), "%s/base/rootfs/bin/sh", dir);
    snprintf(program, sizeof(program), "%s/prog.sh", dir);
    FILE *f = fopen(p, "w"), *g = fopen(program, "w");
    if (!f || !g)
        return -1;
    fclose(f);
    fputs("echo hi\n", g);
    fclose(g);
    setenv("GBOX_IMAGE_DIR", dir, 1);
    setenv("GBOX_POLICY_DIR", "policies", 1); /* tests run from the repository root */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char p[PATH_MAX];
    static const char *const sub[] = {"base/rootfs/bin/sh", "prog.sh", "base/rootfs/bin", "base/rootfs", "base", ""};
    for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, sub[i]);
        if (remove(p) < 0)
            return -1;
    }
    return 0;
}

/* Plan a policy (a name in policies/ or a JSON text) for `sh -c true` in the image, or for the
 * host program when with_program. */
static void plan(const char *policy, bool with_program, struct sbx_spec *s)
{
    struct gbox_policy *p = NULL;
    struct sbx_err *err = NULL;
    int rc = policy[0] == '{' ? policy_load_mem(policy, strlen(policy), "test.json", "policies", &p, &err)
                              : policy_load(policy, &p, &err);
    if (rc < 0)
        fail_msg("%s: %s", policy, err->msg);
    char *argv[] = {"sh", "-c", "true", NULL};
    struct run_request rq = {.in_image = !with_program, .argv = argv, .argc = with_program ? 0 : 3,
                             .program = with_program ? program : NULL};
    if (plan_build(p, &rq, s, &err) < 0)
        fail_msg("plan %s: %s", policy, err->msg);
    policy_free(p);
}

static void rlimit_is(const struct sbx_spec *s, int res, uint64_t soft, uint64_t hard)
{
    for (size_t i = 0; i < s->n_rlimits; i++) {
        if (s->rlimits[i].resource == res) {
            assert_int_equal(s->rlimits[i].soft, soft);
            assert_int_equal(s->rlimits[i].hard, hard);
            return;
        }
    }
    fail_msg("rlimit %d is not set", res);
}

/* The access a rule gives path, or -1 when no rule names it. */
static int ll_access(const struct sbx_spec *s, const char *path)
{
    for (size_t i = 0; i < s->landlock.n_paths; i++)
        if (strcmp(s->landlock.paths[i].path, path) == 0)
            return (int)s->landlock.paths[i].access;
    return -1;
}

static void test_rlimits_not_inherited(void **state)
{
    (void)state;
    static const char *const pols[] = {"playground", "server_application", "base", "development"};
    for (size_t i = 0; i < sizeof(pols) / sizeof(pols[0]); i++) {
        struct sbx_spec s;
        plan(pols[i], false, &s);
        /* real-time and raised priorities would let a sandbox starve the host */
        rlimit_is(&s, RLIMIT_RTPRIO, 0, 0);
        rlimit_is(&s, RLIMIT_NICE, 0, 0);
        /* 1 aborts core dumps to a pipe too (0 does not) */
        rlimit_is(&s, RLIMIT_CORE, 1, 1);
        sbx_spec_free(&s);
    }
}

static void test_playground_landlock_from_mounts(void **state)
{
    (void)state;
    struct sbx_spec s;
    plan("playground", true, &s);
    assert_true(s.landlock.enabled);
    assert_true(s.landlock.stdio);
    assert_int_equal(s.landlock.min_abi, 1);
    assert_int_equal(ll_access(&s, "/"), SBX_LL_READ_EXEC);
    assert_int_equal(ll_access(&s, "/dev"), SBX_LL_READ_WRITE);
    assert_int_equal(ll_access(&s, "/tmp"), SBX_LL_READ_WRITE);
    assert_int_equal(ll_access(&s, "/proc"), -1);     /* read-only for Landlock: "/" covers it */
    assert_int_equal(ll_access(&s, "/app"), -1);      /* the program directory is made read-only */
    assert_int_equal(ll_access(&s, "/app/prog.sh"), -1);
    assert_false(s.landlock.restrict_bind || s.landlock.restrict_connect);
    assert_int_equal(s.landlock.scope, 0);
    sbx_spec_free(&s);
    plan("server_application", false, &s);
    assert_false(s.landlock.enabled);
    assert_int_equal(s.landlock.n_paths, 0);
    sbx_spec_free(&s);
}

static void test_landlock_writable_root_and_lists(void **state)
{
    (void)state;
    struct sbx_spec s;
    plan("{\"version\": 1, \"extends\": \"base\", \"filesystem\": {\"readonly_root\": false, "
         "\"binds\": [{\"source\": \"/tmp\", \"target\": \"/rw\", \"writable\": true}, "
         "{\"source\": \"/tmp\", \"target\": \"/ro\"}], "
         "\"landlock\": {\"enabled\": true, \"abi\": 2, \"read_only\": [\"/opt\"], \"read_write\": [\"/var\"], "
         "\"tcp_bind\": [80, 443], \"tcp_connect\": [], \"scope\": [\"signal\"]}}}",
         false, &s);
    assert_int_equal(ll_access(&s, "/"), SBX_LL_READ_WRITE);
    assert_int_equal(ll_access(&s, "/rw"), SBX_LL_READ_WRITE);
    assert_int_equal(ll_access(&s, "/ro"), -1);
    assert_int_equal(ll_access(&s, "/opt"), SBX_LL_READ_EXEC);
    assert_int_equal(ll_access(&s, "/var"), SBX_LL_READ_WRITE);
    assert_int_equal(s.landlock.min_abi, 2);
    assert_true(s.landlock.restrict_bind && s.landlock.restrict_connect);
    assert_int_equal(s.landlock.n_bind_ports, 2);
    assert_int_equal(s.landlock.bind_ports[1], 443);
    assert_int_equal(s.landlock.n_connect_ports, 0);
    assert_int_equal(s.landlock.scope, SBX_LL_SCOPE_SIGNAL);
    sbx_spec_free(&s);
    /* without from_mounts only the lists count */
    plan("{\"version\": 1, \"extends\": \"base\", \"filesystem\": {\"landlock\": {\"enabled\": true, "
         "\"from_mounts\": false, \"read_write\": [\"/tmp\"]}}}",
         false, &s);
    assert_int_equal(s.landlock.n_paths, 1);
    assert_int_equal(ll_access(&s, "/tmp"), SBX_LL_READ_WRITE);
    sbx_spec_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rlimits_not_inherited),
        cmocka_unit_test(test_playground_landlock_from_mounts),
        cmocka_unit_test(test_landlock_writable_root_and_lists),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
