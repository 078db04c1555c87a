/* test_groups.c — the syscall groups ("@file-system") that policies name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../../runtime/syscall_groups.h"

static bool group_has(const struct syscall_group *g, const char *name)
{
    for (const char *const *s = g->syscalls; *s; s++)
        if (strcmp(*s, name) == 0)
            return true;
    return false;
}

static size_t n_groups(void)
{
    size_t n = 0;
    for (const struct syscall_group *const *g = syscall_groups(); *g; g++)
        n++;
    return n;
}

static void test_groups_list_is_not_empty(void **state)
{
    (void)state;
    assert_non_null(syscall_groups());
    assert_int_equal(n_groups(), 28);
    /* calling it again gives the same list */
    assert_ptr_equal(syscall_groups()[0], syscall_groups()[0]);
    assert_string_equal(syscall_groups()[0]->name, "@default");
}

static void test_every_syscall_resolves(void **state)
{
    (void)state;
    int bad = 0;
    for (const struct syscall_group *const *g = syscall_groups(); *g; g++) {
        assert_non_null((*g)->syscalls);
        assert_non_null((*g)->syscalls[0]); /* no empty group */
        for (const char *const *s = (*g)->syscalls; *s; s++) {
            int nr = seccomp_syscall_resolve_name(*s);
            if (nr == __NR_SCMP_ERROR) {
                print_error("%s: libseccomp does not know \"%s\"\n", (*g)->name, *s);
                bad++;
            } else if (nr < 0) {
                print_error("%s: \"%s\" does not exist on the native architecture (%d)\n",
                            (*g)->name, *s, nr);
                bad++;
            }
        }
    }
    assert_int_equal(bad, 0);
}

static void test_no_syscall_twice_in_a_group(void **state)
{
    (void)state;
    for (const struct syscall_group *const *g = syscall_groups(); *g; g++)
        for (const char *const *a = (*g)->syscalls; *a; a++)
            for (const char *const *b = (*g)->syscalls; b < a; b++)
                if (strcmp(*a, *b) == 0)
                    fail_msg("%s names \"%s\" twice", (*g)->name, *a);
}

static void test_group_names_start_with_at_and_are_unique(void **state)
{
    (void)state;
    const struct syscall_group *const *all = syscall_groups();
    for (size_t i = 0; all[i]; i++) {
        assert_int_equal(all[i]->name[0], '@');
        assert_true(strlen(all[i]->name) > 1);
        assert_true(strspn(all[i]->name + 1, "abcdefghijklmnopqrstuvwxyz-") == strlen(all[i]->name + 1));
        assert_non_null(all[i]->doc);
        assert_true(all[i]->doc[0] != '\0');
        for (size_t j = 0; j < i; j++)
            if (strcmp(all[i]->name, all[j]->name) == 0)
                fail_msg("group %s defined twice", all[i]->name);
    }
}

static void test_group_find(void **state)
{
    (void)state;
    for (const struct syscall_group *const *g = syscall_groups(); *g; g++)
        assert_ptr_equal(syscall_group_find((*g)->name), *g);
    const struct syscall_group *fs = syscall_group_find("@file-system");
    assert_non_null(fs);
    assert_string_equal(fs->name, "@file-system");
    assert_true(group_has(fs, "openat"));
    assert_true(group_has(syscall_group_find("@debug"), "ptrace"));
    assert_true(group_has(syscall_group_find("@keyring"), "keyctl"));
    assert_true(group_has(syscall_group_find("@namespaces"), "unshare"));
    assert_true(group_has(syscall_group_find("@namespaces"), "setns"));
    assert_true(group_has(syscall_group_find("@mount"), "mount"));
    assert_true(group_has(syscall_group_find("@network-io"), "socket"));
    assert_null(syscall_group_find("file-system")); /* the @ is part of the name */
    assert_null(syscall_group_find("@bogus"));
    assert_null(syscall_group_find("@"));
    assert_null(syscall_group_find(""));
    assert_null(syscall_group_find("@FILE-SYSTEM"));
}

static void test_group_names_listing(void **state)
{
    (void)state;
    char buf[2048], want[2048] = "";
    size_t n = 0;
    for (const struct syscall_group *const *g = syscall_groups(); *g; g++)
        n += (size_t)snprintf(want + n, sizeof(want) - n, "%s%s", n ? ", " : "", (*g)->name);
    syscall_group_names(buf, sizeof(buf));
    assert_string_equal(buf, want);
    assert_true(strncmp(buf, "@default, @basic-io, @file-system, ", 35) == 0);
}

static void test_group_names_listing_truncates_safely(void **state)
{
    (void)state;
    char buf[16];
    memset(buf, 'x', sizeof(buf));
    syscall_group_names(buf, sizeof(buf));
    assert_int_equal(strlen(buf), sizeof(buf) - 1);
    assert_true(strncmp(buf, "@default, @basi", 15) == 0);
}

/* What gbox's init inside the sandbox needs after the filter is in force. */
static void test_default_has_what_init_needs(void **state)
{
    (void)state;
    const struct syscall_group *d = syscall_group_find("@default");
    assert_non_null(d);
    static const char *const need[] = {"execve", "exit_group", "exit", "wait4", "rt_sigtimedwait",
                                       "rt_sigprocmask", "kill", "write", "read", "close",
                                       "brk", "mmap", "futex", "rt_sigreturn", "getpid"};
    for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
        if (!group_has(d, need[i]))
            fail_msg("@default lacks %s", need[i]);
}

/* clone is always allowed without namespace flags and clone3 always gets ENOSYS, both by the plan;
 * a group naming them would fight that. */
static void test_clone_and_clone3_in_no_group(void **state)
{
    (void)state;
    for (const struct syscall_group *const *g = syscall_groups(); *g; g++) {
        if (group_has(*g, "clone"))
            fail_msg("%s names clone", (*g)->name);
        if (group_has(*g, "clone3"))
            fail_msg("%s names clone3", (*g)->name);
    }
}

static void test_denied_groups_do_not_touch_default(void **state)
{
    (void)state;
    /* the groups base.json denies or kills must not take away what @default needs */
    static const char *const denied[] = {"@mount",  "@module",  "@reboot",   "@swap",
                                         "@clock",  "@raw-io",  "@keyring",  "@namespaces",
                                         "@obsolete", "@cpu-emulation", "@privileged", "@debug",
                                         "@io-uring"};
    const struct syscall_group *d = syscall_group_find("@default");
    for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
        const struct syscall_group *g = syscall_group_find(denied[i]);
        assert_non_null(g);
        for (const char *const *s = g->syscalls; *s; s++)
            if (group_has(d, *s))
                fail_msg("%s takes %s away from @default", denied[i], *s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_groups_list_is_not_empty),
        cmocka_unit_test(test_every_syscall_resolves),
        cmocka_unit_test(test_no_syscall_twice_in_a_group),
        cmocka_unit_test(test_group_names_start_with_at_and_are_unique),
        cmocka_unit_test(test_group_find),
        cmocka_unit_test(test_group_names_listing),
        cmocka_unit_test(test_group_names_listing_truncates_safely),
        cmocka_unit_test(test_default_has_what_init_needs),
        cmocka_unit_test(test_clone_and_clone3_in_no_group),
        cmocka_unit_test(test_denied_groups_do_not_touch_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
