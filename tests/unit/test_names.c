/* test_names.c — errno, signal and capability names, seccomp and failure actions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "../../runtime/names.h"

/* ---- errno ---------------------------------------------------------------------------------- */

static void test_errno_by_name(void **state)
{
    (void)state;
    assert_int_equal(errno_from_name("EPERM"), EPERM);
    assert_int_equal(errno_from_name("ENOSYS"), ENOSYS);
    assert_int_equal(errno_from_name("EACCES"), EACCES);
    assert_int_equal(errno_from_name("ENOENT"), ENOENT);
    assert_int_equal(errno_from_name("ENODATA"), ENODATA);
    assert_int_equal(errno_from_name("EOPNOTSUPP"), EOPNOTSUPP);
}

static void test_errno_by_number(void **state)
{
    (void)state;
    assert_int_equal(errno_from_name("13"), 13);
    assert_int_equal(errno_from_name("1"), 1);
    assert_int_equal(errno_from_name("38"), 38);
    assert_int_equal(errno_from_name("4095"), 4095);
}

static void test_errno_rejects(void **state)
{
    (void)state;
    assert_int_equal(errno_from_name("0"), -1);
    assert_int_equal(errno_from_name("4096"), -1);
    assert_int_equal(errno_from_name("-1"), -1);
    assert_int_equal(errno_from_name("99999999999999999999"), -1);
    assert_int_equal(errno_from_name("EBOGUS"), -1);
    assert_int_equal(errno_from_name(""), -1);
    assert_int_equal(errno_from_name("eperm"), -1); /* names are case-sensitive */
    assert_int_equal(errno_from_name("13x"), -1);
    assert_int_equal(errno_from_name("EPERM "), -1);
}

/* Like sizes and durations, numbers are strict: no sign, no blanks ("errno: 13" is a typo, not 13).
 * strtol() alone would skip leading blanks and take a '+'. */
static void test_errno_number_is_strict(void **state)
{
    (void)state;
    assert_int_equal(errno_from_name(" 13"), -1);
    assert_int_equal(errno_from_name("\t13"), -1);
    assert_int_equal(errno_from_name("+13"), -1);
    struct sbx_action a;
    assert_int_equal(parse_action("errno: 13", &a), -1);
}

static void test_errno_name_round_trip(void **state)
{
    (void)state;
    assert_string_equal(errno_name(EPERM), "EPERM");
    assert_string_equal(errno_name(ENOSYS), "ENOSYS");
    assert_string_equal(errno_name(EACCES), "EACCES");
    assert_string_equal(errno_name(4000), "E?");
    static const char *const names[] = {"EPERM", "ENOENT", "EINTR", "EIO", "EBADF", "ENOMEM",
                                        "EACCES", "EEXIST", "EINVAL", "ENOSPC", "EROFS", "ENOSYS",
                                        "ELOOP", "ETIMEDOUT", "ECONNREFUSED"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        assert_string_equal(errno_name(errno_from_name(names[i])), names[i]);
}

/* ---- signals -------------------------------------------------------------------------------- */

static void test_signal_names(void **state)
{
    (void)state;
    assert_int_equal(signal_from_name("TERM"), SIGTERM);
    assert_int_equal(signal_from_name("SIGTERM"), SIGTERM);
    assert_int_equal(signal_from_name("sigterm"), SIGTERM);
    assert_int_equal(signal_from_name("term"), SIGTERM);
    assert_int_equal(signal_from_name("KILL"), SIGKILL);
    assert_int_equal(signal_from_name("SIGKILL"), SIGKILL);
    assert_int_equal(signal_from_name("HUP"), SIGHUP);
    assert_int_equal(signal_from_name("USR1"), SIGUSR1);
    assert_int_equal(signal_from_name("USR2"), SIGUSR2);
    assert_int_equal(signal_from_name("INT"), SIGINT);
    assert_int_equal(signal_from_name("CHLD"), SIGCHLD);
}

static void test_signal_numbers(void **state)
{
    (void)state;
    assert_int_equal(signal_from_name("9"), 9);
    assert_int_equal(signal_from_name("15"), 15);
    assert_int_equal(signal_from_name("1"), 1);
    assert_int_equal(signal_from_name("64"), 64);
}

static void test_signal_rejects(void **state)
{
    (void)state;
    assert_int_equal(signal_from_name("bogus"), -1);
    assert_int_equal(signal_from_name("SIGBOGUS"), -1);
    assert_int_equal(signal_from_name(""), -1);
    assert_int_equal(signal_from_name("SIG"), -1);
    assert_int_equal(signal_from_name("0"), -1);
    assert_int_equal(signal_from_name("65"), -1);
    assert_int_equal(signal_from_name("-9"), -1);
    assert_int_equal(signal_from_name("9x"), -1);
    assert_int_equal(signal_from_name("TERMX"), -1);
}

static void test_signal_number_is_strict(void **state)
{
    (void)state;
    assert_int_equal(signal_from_name(" 9"), -1);
    assert_int_equal(signal_from_name("+9"), -1);
    assert_int_equal(parse_failure_action("signal: 9"), -1);
}

/* ---- capabilities --------------------------------------------------------------------------- */

static void test_cap_known_values(void **state)
{
    (void)state;
    assert_int_equal(cap_from_name("CAP_CHOWN"), CAP_CHOWN);
    assert_int_equal(cap_from_name("CAP_NET_BIND_SERVICE"), CAP_NET_BIND_SERVICE);
    assert_int_equal(cap_from_name("CAP_SYS_ADMIN"), 21);
    assert_int_equal(cap_from_name("CAP_SYS_PTRACE"), CAP_SYS_PTRACE);
    assert_int_equal(cap_from_name("CAP_AUDIT_READ"), CAP_AUDIT_READ);
    assert_int_equal(cap_from_name("CAP_PERFMON"), 38);
    assert_int_equal(cap_from_name("CAP_BPF"), 39);
    assert_int_equal(cap_from_name("CAP_CHECKPOINT_RESTORE"), 40);
}

static void test_cap_round_trip_all_41(void **state)
{
    (void)state;
    for (int c = 0; c <= 40; c++) {
        const char *n = cap_name(c);
        assert_non_null(n);
        assert_true(strncmp(n, "CAP_", 4) == 0);
        assert_string_not_equal(n, "CAP_?");
        if (cap_from_name(n) != c)
            fail_msg("cap_from_name(cap_name(%d) = \"%s\") = %d", c, n, cap_from_name(n));
        for (int d = 0; d < c; d++)
            assert_string_not_equal(cap_name(d), n);
    }
    assert_string_equal(cap_name(41), "CAP_?");
    assert_string_equal(cap_name(-1), "CAP_?");
}

static void test_cap_numbers_match_kernel_headers(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int value;
    } kernel[] = {
#define K(x) {#x, x}
        K(CAP_CHOWN),           K(CAP_DAC_OVERRIDE),   K(CAP_DAC_READ_SEARCH), K(CAP_FOWNER),
        K(CAP_FSETID),          K(CAP_KILL),           K(CAP_SETGID),          K(CAP_SETUID),
        K(CAP_SETPCAP),         K(CAP_LINUX_IMMUTABLE), K(CAP_NET_BIND_SERVICE), K(CAP_NET_BROADCAST),
        K(CAP_NET_ADMIN),       K(CAP_NET_RAW),        K(CAP_IPC_LOCK),        K(CAP_IPC_OWNER),
        K(CAP_SYS_MODULE),      K(CAP_SYS_RAWIO),      K(CAP_SYS_CHROOT),      K(CAP_SYS_PTRACE),
        K(CAP_SYS_PACCT),       K(CAP_SYS_ADMIN),      K(CAP_SYS_BOOT),        K(CAP_SYS_NICE),
        K(CAP_SYS_RESOURCE),    K(CAP_SYS_TIME),       K(CAP_SYS_TTY_CONFIG),  K(CAP_MKNOD),
        K(CAP_LEASE),           K(CAP_AUDIT_WRITE),    K(CAP_AUDIT_CONTROL),   K(CAP_SETFCAP),
        K(CAP_MAC_OVERRIDE),    K(CAP_MAC_ADMIN),      K(CAP_SYSLOG),          K(CAP_WAKE_ALARM),
        K(CAP_BLOCK_SUSPEND),   K(CAP_AUDIT_READ),
#undef K
        {"CAP_PERFMON", 38},    {"CAP_BPF", 39},       {"CAP_CHECKPOINT_RESTORE", 40},
    };
    assert_int_equal(sizeof(kernel) / sizeof(kernel[0]), 41);
    for (size_t i = 0; i < sizeof(kernel) / sizeof(kernel[0]); i++) {
        if (cap_from_name(kernel[i].name) != kernel[i].value)
            fail_msg("%s: got %d, kernel says %d", kernel[i].name, cap_from_name(kernel[i].name),
                     kernel[i].value);
        assert_string_equal(cap_name(kernel[i].value), kernel[i].name);
    }
}

static void test_cap_rejects(void **state)
{
    (void)state;
    assert_int_equal(cap_from_name("CAP_FOO"), -1);
    assert_int_equal(cap_from_name("cap_chown"), -1);
    assert_int_equal(cap_from_name("CHOWN"), -1);
    assert_int_equal(cap_from_name(""), -1);
    assert_int_equal(cap_from_name("CAP_?"), -1);
    assert_int_equal(cap_from_name("0"), -1);
}

/* ---- seccomp actions ------------------------------------------------------------------------ */

static void action_is(const char *s, enum sbx_action_kind kind, int errnum)
{
    struct sbx_action a = {SBX_ACT_TRAP, -7};
    if (parse_action(s, &a) != 0)
        fail_msg("parse_action(\"%s\") rejected", s);
    assert_int_equal(a.kind, kind);
    assert_int_equal(a.errnum, errnum);
    assert_int_equal(parse_action(s, NULL), 0); /* out may be NULL */
}

static void action_bad(const char *s)
{
    struct sbx_action a = {SBX_ACT_TRAP, -7};
    if (parse_action(s, &a) != -1)
        fail_msg("parse_action(\"%s\") accepted (kind %d, errnum %d)", s, (int)a.kind, a.errnum);
    /* a rejected action leaves out alone */
    assert_int_equal(a.kind, SBX_ACT_TRAP);
    assert_int_equal(a.errnum, -7);
    assert_int_equal(parse_action(s, NULL), -1);
}

static void test_action_plain(void **state)
{
    (void)state;
    action_is("allow", SBX_ACT_ALLOW, 0);
    action_is("kill", SBX_ACT_KILL, 0);
    action_is("log", SBX_ACT_LOG, 0);
    action_is("trap", SBX_ACT_TRAP, 0);
}

static void test_action_errno(void **state)
{
    (void)state;
    action_is("errno:EPERM", SBX_ACT_ERRNO, EPERM);
    action_is("errno:ENOSYS", SBX_ACT_ERRNO, ENOSYS);
    action_is("errno:EACCES", SBX_ACT_ERRNO, EACCES);
    action_is("errno:38", SBX_ACT_ERRNO, 38);
    action_is("errno:1", SBX_ACT_ERRNO, 1);
    action_is("errno:4095", SBX_ACT_ERRNO, 4095);
}

static void test_action_rejects(void **state)
{
    (void)state;
    action_bad("errno:");
    action_bad("errno:EBOGUS");
    action_bad("errno:0");
    action_bad("errno:4096");
    action_bad("errno:-1");
    action_bad("errno");
    action_bad("errno:eperm");
    action_bad("ERRNO:EPERM");
    action_bad("deny");
    action_bad("Allow");
    action_bad("KILL");
    action_bad("");
    action_bad("allow ");
    action_bad("kill:9");
}

/* ---- failure actions ------------------------------------------------------------------------ */

static void test_failure_action_plain(void **state)
{
    (void)state;
    assert_int_equal(parse_failure_action("ignore"), FAIL_IGNORE);
    assert_int_equal(parse_failure_action("kill"), FAIL_KILL);
    assert_int_equal(parse_failure_action("restart"), FAIL_RESTART);
    assert_int_equal(parse_failure_action("rollback"), FAIL_ROLLBACK);
}

static void test_failure_action_signal(void **state)
{
    (void)state;
    assert_int_equal(parse_failure_action("signal:TERM"), FAIL_SIGNAL);
    assert_int_equal(parse_failure_action("signal:HUP"), FAIL_SIGNAL);
    assert_int_equal(parse_failure_action("signal:USR1"), FAIL_SIGNAL);
    assert_int_equal(parse_failure_action("signal:SIGKILL"), FAIL_SIGNAL);
    assert_int_equal(parse_failure_action("signal:9"), FAIL_SIGNAL);
}

static void test_failure_action_fallback(void **state)
{
    (void)state;
    assert_int_equal(parse_failure_action("fallback:base"), FAIL_FALLBACK);
    assert_int_equal(parse_failure_action("fallback:scientific_compute"), FAIL_FALLBACK);
}

static void test_failure_action_rejects(void **state)
{
    (void)state;
    assert_int_equal(parse_failure_action("signal:BOGUS"), -1);
    assert_int_equal(parse_failure_action("signal:"), -1);
    assert_int_equal(parse_failure_action("signal:0"), -1);
    assert_int_equal(parse_failure_action("signal"), -1);
    assert_int_equal(parse_failure_action("fallback:"), -1);
    assert_int_equal(parse_failure_action("fallback"), -1);
    assert_int_equal(parse_failure_action(""), -1);
    assert_int_equal(parse_failure_action("explode"), -1);
    assert_int_equal(parse_failure_action("Kill"), -1);
    assert_int_equal(parse_failure_action("allow"), -1);
    assert_int_equal(parse_failure_action("restart "), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errno_by_name),
        cmocka_unit_test(test_errno_by_number),
        cmocka_unit_test(test_errno_rejects),
        cmocka_unit_test(test_errno_number_is_strict),
        cmocka_unit_test(test_errno_name_round_trip),
        cmocka_unit_test(test_signal_names),
        cmocka_unit_test(test_signal_numbers),
        cmocka_unit_test(test_signal_rejects),
        cmocka_unit_test(test_signal_number_is_strict),
        cmocka_unit_test(test_cap_known_values),
        cmocka_unit_test(test_cap_round_trip_all_41),
        cmocka_unit_test(test_cap_numbers_match_kernel_headers),
        cmocka_unit_test(test_cap_rejects),
        cmocka_unit_test(test_action_plain),
        cmocka_unit_test(test_action_errno),
        cmocka_unit_test(test_action_rejects),
        cmocka_unit_test(test_failure_action_plain),
        cmocka_unit_test(test_failure_action_signal),
        cmocka_unit_test(test_failure_action_fallback),
        cmocka_unit_test(test_failure_action_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
