/* test_semver.c — versions (SemVer 2.0.0 precedence) and ranges as manifests and policies write
 * them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "../../runtime/semver.h"

static void parse_ok(const char *s, uint64_t ma, uint64_t mi, uint64_t pa, const char *pre)
{
    struct semver v;
    if (semver_parse(s, &v) != 0)
        fail_msg("semver_parse(\"%s\") rejected", s);
    assert_int_equal(v.major, ma);
    assert_int_equal(v.minor, mi);
    assert_int_equal(v.patch, pa);
    assert_string_equal(v.pre, pre);
}

static void parse_bad(const char *s)
{
    struct semver v;
    if (semver_parse(s, &v) != -1)
        fail_msg("semver_parse(\"%s\") accepted", s);
}

static void test_parse(void **state)
{
    (void)state;
    parse_ok("0.0.0", 0, 0, 0, "");
    parse_ok("1.2.3", 1, 2, 3, "");
    parse_ok("10.20.30", 10, 20, 30, "");
    parse_ok("1.0.0-alpha", 1, 0, 0, "alpha");
    parse_ok("1.0.0-alpha.1", 1, 0, 0, "alpha.1");
    parse_ok("1.0.0-0.3.7", 1, 0, 0, "0.3.7");
    parse_ok("1.0.0-x-y-z.--", 1, 0, 0, "x-y-z.--");
    parse_ok("1.0.0+20130313144700", 1, 0, 0, "");
    parse_ok("1.0.0-beta+exp.sha.5114f85", 1, 0, 0, "beta");
    parse_ok("1.0.0+21AF26D3----117B344092BD", 1, 0, 0, "");
    const char *bad[] = {"", "1", "1.2", "1.2.3.4", "01.2.3", "1.02.3", "1.2.03", "v1.2.3", "1.2.3-",
                         "1.2.3-01", "1.2.3-a..b", "1.2.3+", "1.2.3+a..b", "1.2.x", "-1.2.3", "1.2.3 ",
                         " 1.2.3", "a.b.c", "1.2.3-alpha_beta", "1.2.3-é", "1.2.3-rc.1+", "1.2.-3",
                         "1234567890123456.0.0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        parse_bad(bad[i]);
}

static void test_precedence(void **state)
{
    (void)state;
    /* the order from semver.org section 11, plus the core numbers compared as numbers */
    const char *order[] = {"0.9.9", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
                           "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.2.0",
                           "1.10.0", "2.0.0", "10.0.0"};
    size_t n = sizeof(order) / sizeof(order[0]);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            struct semver a, b;
            assert_int_equal(semver_parse(order[i], &a), 0);
            assert_int_equal(semver_parse(order[j], &b), 0);
            int c = semver_cmp(&a, &b), want = i < j ? -1 : i > j ? 1 : 0;
            if ((c < 0 ? -1 : c > 0) != want)
                fail_msg("semver_cmp(%s, %s) = %d, expected %d", order[i], order[j], c, want);
        }
    }
    struct semver a, b;
    semver_parse("1.0.0+build.1", &a);
    semver_parse("1.0.0+build.2", &b);
    assert_int_equal(semver_cmp(&a, &b), 0); /* build metadata has no precedence */
    char buf[64];
    semver_parse("2.0.0-rc.1+meta", &a);
    semver_format(&a, buf, sizeof(buf));
    assert_string_equal(buf, "2.0.0-rc.1");
}

/* range r: each version in yes satisfies it, each in no does not */
static void check_range(const char *r, const char *const *yes, const char *const *no)
{
    struct semver_range rg;
    if (semver_range_parse(r, &rg) != 0)
        fail_msg("semver_range_parse(\"%s\") rejected", r);
    for (; yes && *yes; yes++) {
        struct semver v;
        assert_int_equal(semver_parse(*yes, &v), 0);
        if (!semver_satisfies(&v, &rg))
            fail_msg("\"%s\" should match %s", r, *yes);
    }
    for (; no && *no; no++) {
        struct semver v;
        assert_int_equal(semver_parse(*no, &v), 0);
        if (semver_satisfies(&v, &rg))
            fail_msg("\"%s\" should not match %s", r, *no);
    }
}

#define L(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_ranges(void **state)
{
    (void)state;
    check_range("*", L("0.0.0", "1.2.3", "99.0.0"), L("1.0.0-rc.1"));
    check_range("", L("0.1.0", "5.0.0"), L("5.0.0-beta"));
    check_range("1.2.3", L("1.2.3"), L("1.2.4", "1.2.2", "1.2.3-rc.1"));
    check_range("=1.2.3", L("1.2.3"), L("1.2.4"));
    check_range("1.2", L("1.2.0", "1.2.99"), L("1.3.0", "1.1.9", "1.2.5-rc.1"));
    check_range("1.x", L("1.0.0", "1.99.99"), L("2.0.0", "0.9.9", "2.0.0-rc.1"));
    check_range("1.2.*", L("1.2.0", "1.2.7"), L("1.3.0"));
    check_range("1", L("1.0.0", "1.5.0"), L("2.0.0", "0.9.0"));
    check_range("^1.2.3", L("1.2.3", "1.9.0"), L("1.2.2", "2.0.0", "2.0.0-alpha", "1.3.0-beta"));
    check_range("^0.2.3", L("0.2.3", "0.2.9"), L("0.3.0", "0.2.2", "1.0.0"));
    check_range("^0.0.3", L("0.0.3"), L("0.0.4", "0.0.2", "0.1.0"));
    check_range("^0.0", L("0.0.0", "0.0.9"), L("0.1.0"));
    check_range("^0", L("0.0.1", "0.9.0"), L("1.0.0"));
    check_range("^1.x", L("1.0.0", "1.4.0"), L("2.0.0"));
    check_range("~1.2.3", L("1.2.3", "1.2.9"), L("1.3.0", "1.2.2"));
    check_range("~1.2", L("1.2.0", "1.2.9"), L("1.3.0"));
    check_range("~1", L("1.0.0", "1.9.9"), L("2.0.0"));
    check_range(">=1.2.0 <2.0.0", L("1.2.0", "1.9.9"), L("2.0.0", "1.1.9"));
    check_range(">= 1.2 < 2", L("1.2.0", "1.9.9"), L("2.0.0", "2.0.0-rc.1"));
    check_range(">1.2.3", L("1.2.4", "2.0.0"), L("1.2.3"));
    check_range(">1.2", L("1.3.0"), L("1.2.9"));
    check_range(">1", L("2.0.0"), L("1.9.9"));
    check_range("<1.2.3", L("1.2.2", "0.0.1"), L("1.2.3", "1.2.3-rc.1"));
    check_range("<1.2", L("1.1.9"), L("1.2.0", "1.2.0-rc.1"));
    check_range("<=1.2.3", L("1.2.3", "1.0.0"), L("1.2.4"));
    check_range("<=1.2", L("1.2.9"), L("1.3.0"));
    check_range("1.2 - 1.4", L("1.2.0", "1.4.9"), L("1.5.0", "1.1.9"));
    check_range("1.2.3 - 2.3.4", L("1.2.3", "2.3.4"), L("2.3.5", "1.2.2"));
    check_range("^1.0.0 || ^3.0.0", L("1.5.0", "3.1.0"), L("2.0.0", "4.0.0"));
    check_range("1.0.0 || >=2.5", L("1.0.0", "2.5.0", "9.0.0"), L("1.0.1", "2.4.9"));
    /* prereleases: only when the range names one of the same major.minor.patch */
    check_range("1.0.0-rc.1", L("1.0.0-rc.1"), L("1.0.0-rc.2", "1.0.0"));
    check_range(">=1.0.0-rc.1", L("1.0.0-rc.2", "1.0.0", "2.0.0"), L("1.0.1-rc.1", "1.0.0-beta"));
    check_range("^1.0.0-rc.1", L("1.0.0-rc.1", "1.0.0-rc.5", "1.2.0"), L("1.1.0-alpha", "2.0.0-rc.1"));
    const char *bad[] = {"abc", "1.2.3.4", "^", ">=", "1.2.3 -", "- 1.2.3", "||", "1.0.0 ||", "|| 1.0.0",
                         "v1.2.3", "==1.2.3", ">=01.2.3", "^x.1", "1.2.3-", "1..2",
                         "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17",
                         "0123456789012345678901234567890123456789012345678901234567890123456789"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct semver_range rg;
        if (semver_range_parse(bad[i], &rg) != -1)
            fail_msg("semver_range_parse(\"%s\") accepted", bad[i]);
    }
}

static void test_module_ref(void **state)
{
    (void)state;
    char name[65];
    struct semver_range r;
    struct semver v;
    assert_int_equal(module_ref_parse("stdlib", name, sizeof(name), &r), 0);
    assert_string_equal(name, "stdlib");
    semver_parse("9.9.9", &v);
    assert_true(semver_satisfies(&v, &r));
    assert_int_equal(module_ref_parse("graphoid-stdlib@^1.2", name, sizeof(name), &r), 0);
    assert_string_equal(name, "graphoid-stdlib");
    semver_parse("1.3.0", &v);
    assert_true(semver_satisfies(&v, &r));
    semver_parse("2.0.0", &v);
    assert_false(semver_satisfies(&v, &r));
    const char *bad[] = {"", "@1", "Std", "std@", "std@abc", "1std", "std lib", "std@^1@2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (module_ref_parse(bad[i], name, sizeof(name), &r) != -1)
            fail_msg("module_ref_parse(\"%s\") accepted", bad[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_module_ref),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
