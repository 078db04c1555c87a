/* test_landlock.c — the Landlock decisions that do not need a kernel: which ABI a plan needs,
 * whether a kernel (made up here: none, too old, newer than gbox knows) may run it, the access
 * rights per ABI, and the policy fields. The kernel side is proven in tests/adversarial. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../../runtime/policy.h"
#include "../../sandbox/internal.h"

#define FIX "tests/unit/fixtures/"

static void check_is(const struct sbx_landlock *ll, int kabi, int kerr, int want, const char *msg)
{
    char got[256] = "";
    int abi = sbx_landlock_check(ll, kabi, kerr, got, sizeof(got));
    assert_int_equal(abi, want);
    if (msg && strcmp(got, msg) != 0)
        fail_msg("message\n  got:      %s\n  expected: %s", got, msg);
}

static void test_required_abi(void **state)
{
    (void)state;
    struct sbx_landlock ll = {.enabled = true, .min_abi = 1};
    assert_int_equal(sbx_landlock_required_abi(&ll), 1);
    ll.min_abi = 0; /* never below 1 */
    assert_int_equal(sbx_landlock_required_abi(&ll), 1);
    ll.restrict_connect = true; /* TCP ports: ABI 4 */
    assert_int_equal(sbx_landlock_required_abi(&ll), 4);
    ll.scope = SBX_LL_SCOPE_SIGNAL; /* scoping: ABI 6 */
    assert_int_equal(sbx_landlock_required_abi(&ll), 6);
    ll.min_abi = 7;
    assert_int_equal(sbx_landlock_required_abi(&ll), 7);
}

static void test_no_landlock_refuses(void **state)
{
    (void)state;
    struct sbx_landlock ll = {.enabled = true, .min_abi = 1};
    check_is(&ll, 0, EOPNOTSUPP, -1,
             "Landlock ABI 1 is needed but the kernel has no Landlock (disabled at boot: add landlock "
             "to the lsm= kernel parameter)");
    check_is(&ll, 0, ENOSYS, -1,
             "Landlock ABI 1 is needed but the kernel has no Landlock (not built in: CONFIG_SECURITY_LANDLOCK)");
}

static void test_old_kernel_refuses(void **state)
{
    (void)state;
    struct sbx_landlock ll = {.enabled = true, .min_abi = 1, .scope = SBX_LL_SCOPE_ABSTRACT_UNIX};
    check_is(&ll, 5, 0, -1, "Landlock ABI 6 is needed but the kernel provides ABI 5");
    ll = (struct sbx_landlock){.enabled = true, .min_abi = 1, .restrict_bind = true};
    check_is(&ll, 3, 0, -1, "Landlock ABI 4 is needed but the kernel provides ABI 3");
    ll = (struct sbx_landlock){.enabled = true, .min_abi = 3};
    check_is(&ll, 2, 0, -1, "Landlock ABI 3 is needed but the kernel provides ABI 2");
}

static void test_unknown_abi_refuses(void **state)
{
    (void)state;
    struct sbx_landlock ll = {.enabled = true, .min_abi = SBX_LANDLOCK_ABI_KNOWN + 1};
    check_is(&ll, 99, 0, -1, "Landlock ABI 8 is needed but this gbox knows only up to ABI 7");
}

static void test_usable_abi(void **state)
{
    (void)state;
    struct sbx_landlock ll = {.enabled = true, .min_abi = 1};
    check_is(&ll, 1, 0, 1, NULL);
    check_is(&ll, 6, 0, 6, NULL);
    /* a kernel newer than gbox: use what gbox knows */
    check_is(&ll, 42, 0, SBX_LANDLOCK_ABI_KNOWN, NULL);
}

static void test_fs_rights_per_abi(void **state)
{
    (void)state;
    assert_int_equal(sbx_landlock_fs_rights(0), 0);
    assert_int_equal(sbx_landlock_fs_rights(1), 0x1fff);     /* EXECUTE .. MAKE_SYM */
    assert_int_equal(sbx_landlock_fs_rights(2), 0x3fff);     /* + REFER */
    assert_int_equal(sbx_landlock_fs_rights(3), 0x7fff);     /* + TRUNCATE */
    assert_int_equal(sbx_landlock_fs_rights(4), 0x7fff);     /* net only */
    assert_int_equal(sbx_landlock_fs_rights(5), 0xffff);     /* + IOCTL_DEV */
    assert_int_equal(sbx_landlock_fs_rights(7), 0xffff);
}

static void test_policy_fields(void **state)
{
    (void)state;
    struct gbox_policy *p = NULL;
    struct sbx_err *err = NULL;
    if (policy_load(FIX "landlock_full.json", &p, &err) < 0)
        fail_msg("%s", err->msg);
    assert_true(json_is_true(pol_get(p, "filesystem.landlock.enabled")));
    assert_int_equal(json_integer_value(pol_get(p, "filesystem.landlock.abi")), 3);
    assert_int_equal(json_array_size(pol_get(p, "filesystem.landlock.tcp_connect")), 0);
    assert_int_equal(json_array_size(pol_get(p, "filesystem.landlock.scope")), 2);
    policy_free(p);
    /* defaults: off, ABI 1, from the mounts, no TCP restriction */
    if (policy_load(FIX "minimal.json", &p, &err) < 0)
        fail_msg("%s", err->msg);
    assert_true(json_is_false(pol_get(p, "filesystem.landlock.enabled")));
    assert_int_equal(json_integer_value(pol_get(p, "filesystem.landlock.abi")), 1);
    assert_true(json_is_true(pol_get(p, "filesystem.landlock.from_mounts")));
    assert_true(json_is_null(pol_get(p, "filesystem.landlock.tcp_bind")));
    policy_free(p);
}

static void expect_error(const char *fixture, const char *tail)
{
    struct gbox_policy *p = NULL;
    struct sbx_err *err = NULL;
    char arg[256], want[1024];
    snprintf(arg, sizeof(arg), FIX "%s", fixture);
    snprintf(want, sizeof(want), "%s%s", arg, tail);
    assert_int_equal(policy_load(arg, &p, &err), -1);
    if (strcmp(err->msg, want) != 0)
        fail_msg("got:      %s\nexpected: %s", err->msg, want);
    assert_int_equal(err->code, 2);
    sbx_err_free(&err);
}

static void test_policy_errors(void **state)
{
    (void)state;
    expect_error("landlock_bad_scope.json",
                 ": filesystem.landlock.scope[0]: expected one of [\"abstract_unix_socket\",\"signal\"], got \"ptrace\"");
    expect_error("landlock_bad_port.json", ": filesystem.landlock.tcp_bind[0]: expected a value of at most 65535, got 70000");
    expect_error("landlock_relative_path.json",
                 ": filesystem.landlock.read_write[0]: expected an absolute path without \"..\" or \"//\", got \"tmp\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_required_abi),       cmocka_unit_test(test_no_landlock_refuses),
        cmocka_unit_test(test_old_kernel_refuses), cmocka_unit_test(test_unknown_abi_refuses),
        cmocka_unit_test(test_usable_abi),         cmocka_unit_test(test_fs_rights_per_abi),
        cmocka_unit_test(test_policy_fields),      cmocka_unit_test(test_policy_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
