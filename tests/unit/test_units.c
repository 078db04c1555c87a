/* test_units.c — sizes ("256M") and durations ("300s") as policies write them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../runtime/units.h"

/* parse_size must accept s and give exactly want. */
static void size_ok(const char *s, int64_t want)
{
    int64_t v = -12345;
    if (parse_size(s, &v) != 0)
        fail_msg("parse_size(\"%s\") rejected, expected %lld", s, (long long)want);
    if (v != want)
        fail_msg("parse_size(\"%s\") = %lld, expected %lld", s, (long long)v, (long long)want);
}

/* parse_size must reject s and leave out alone. */
static void size_bad(const char *s)
{
    int64_t v = -12345;
    if (parse_size(s, &v) != -1)
        fail_msg("parse_size(\"%s\") accepted (%lld), expected -1", s, (long long)v);
    assert_int_equal(v, -12345);
}

static void dur_ok(const char *s, int64_t want_ms)
{
    int64_t v = -12345;
    if (parse_duration(s, &v) != 0)
        fail_msg("parse_duration(\"%s\") rejected, expected %lld ms", s, (long long)want_ms);
    if (v != want_ms)
        fail_msg("parse_duration(\"%s\") = %lld, expected %lld ms", s, (long long)v, (long long)want_ms);
}

static void dur_bad(const char *s)
{
    int64_t v = -12345;
    if (parse_duration(s, &v) != -1)
        fail_msg("parse_duration(\"%s\") accepted (%lld), expected -1", s, (long long)v);
    assert_int_equal(v, -12345);
}

/* ---- parse_size ---------------------------------------------------------------------------- */

static void test_size_plain_bytes(void **state)
{
    (void)state;
    size_ok("0", 0);
    size_ok("1", 1);
    size_ok("4096", 4096);
    size_ok("007", 7);
    size_ok("9223372036854775807", INT64_MAX);
}

static void test_size_binary_units(void **state)
{
    (void)state;
    size_ok("4K", 4096);
    size_ok("256M", 268435456);
    size_ok("2G", 2147483648LL);
    size_ok("1T", 1099511627776LL);
    size_ok("0K", 0);
    size_ok("0T", 0);
    size_ok("1024K", 1048576);
    /* the largest T that fits in int64: 8388607T */
    size_ok("8388607T", 8388607LL << 40);
}

static void test_size_overflow_rejected(void **state)
{
    (void)state;
    size_bad("99999999999T");
    size_bad("8388608T");                /* exactly 2^63 */
    size_bad("9223372036854775808");     /* INT64_MAX + 1 */
    size_bad("18446744073709551615");    /* UINT64_MAX: fits the digit parser, not int64 */
    size_bad("18446744073709551616");    /* overflows the digit parser itself */
    size_bad("99999999999999999999999G");
    size_bad("9007199254740992K");
}

static void test_size_malformed_rejected(void **state)
{
    (void)state;
    size_bad("");
    size_bad("1.5G");
    size_bad("-1");
    size_bad("+1");
    size_bad("12k"); /* units are upper case only */
    size_bad("12m");
    size_bad("1 M");
    size_bad(" 1M");
    size_bad("1M ");
    size_bad("M");
    size_bad("K");
    size_bad("1MB");
    size_bad("1MM");
    size_bad("1B");
    size_bad("1P");
    size_bad("0x10");
    size_bad("1e3");
}

static void test_size_null_string_rejected(void **state)
{
    (void)state;
    int64_t v = 7;
    assert_int_equal(parse_size(NULL, &v), -1);
    assert_int_equal(v, 7);
}

/* ---- parse_size_json ----------------------------------------------------------------------- */

static void size_json_ok(json_t *j, int64_t want)
{
    int64_t v = -12345;
    assert_non_null(j);
    assert_int_equal(parse_size_json(j, &v), 0);
    assert_int_equal(v, want);
    json_decref(j);
}

static void size_json_bad(json_t *j)
{
    int64_t v = -12345;
    assert_int_equal(parse_size_json(j, &v), -1);
    assert_int_equal(v, -12345);
    json_decref(j);
}

static void test_size_json_integers(void **state)
{
    (void)state;
    size_json_ok(json_integer(0), 0);
    size_json_ok(json_integer(1), 1);
    size_json_ok(json_integer(268435456), 268435456);
    size_json_ok(json_integer(INT64_MAX), INT64_MAX);
}

static void test_size_json_negative_rejected(void **state)
{
    (void)state;
    size_json_bad(json_integer(-1));
    size_json_bad(json_integer(INT64_MIN));
}

static void test_size_json_strings(void **state)
{
    (void)state;
    size_json_ok(json_string("256M"), 268435456);
    size_json_ok(json_string("0"), 0);
    size_json_ok(json_string("4K"), 4096);
    size_json_bad(json_string("lots"));
    size_json_bad(json_string("-1"));
    size_json_bad(json_string("1.5G"));
    size_json_bad(json_string(""));
}

static void test_size_json_other_types_rejected(void **state)
{
    (void)state;
    size_json_bad(json_real(1.5));
    size_json_bad(json_real(1024.0)); /* a real is not an integer number of bytes */
    size_json_bad(json_true());
    size_json_bad(json_false());
    size_json_bad(json_null());
    size_json_bad(json_array());
    size_json_bad(json_object());
    int64_t v = 3;
    assert_int_equal(parse_size_json(NULL, &v), -1);
    assert_int_equal(v, 3);
}

/* ---- parse_duration ------------------------------------------------------------------------ */

static void test_duration_units(void **state)
{
    (void)state;
    dur_ok("10ms", 10);
    dur_ok("1500ms", 1500);
    dur_ok("300s", 300000);
    dur_ok("5m", 300000);
    dur_ok("1h", 3600000);
    dur_ok("24h", 86400000);
    dur_ok("0s", 0);
    dur_ok("0ms", 0);
    dur_ok("0h", 0);
    dur_ok("9223372036854775807ms", INT64_MAX);
}

static void test_duration_malformed_rejected(void **state)
{
    (void)state;
    dur_bad("5");
    dur_bad("1.5s");
    dur_bad("s");
    dur_bad("ms");
    dur_bad("5x");
    dur_bad("-1s");
    dur_bad("+1s");
    dur_bad("");
    dur_bad("5 s");
    dur_bad(" 5s");
    dur_bad("5s ");
    dur_bad("5S");
    dur_bad("5MS");
    dur_bad("5H");
    dur_bad("5sec");
    dur_bad("5msx");
    dur_bad("5d");
    dur_bad("5us");
    dur_bad("1h30m");
}

static void test_duration_overflow_rejected(void **state)
{
    (void)state;
    dur_bad("9223372036854775808ms");   /* INT64_MAX + 1 */
    dur_bad("9223372036854776s");       /* * 1000 overflows */
    dur_bad("153722867280913m");        /* * 60000 overflows */
    dur_bad("2562047788016h");          /* * 3600000 overflows */
    dur_bad("99999999999999999999999h"); /* the digits alone overflow */
    dur_ok("9223372036854775s", 9223372036854775000LL);
    dur_ok("2562047788015h", 2562047788015LL * 3600000LL);
}

static void test_duration_null_rejected(void **state)
{
    (void)state;
    int64_t v = 9;
    assert_int_equal(parse_duration(NULL, &v), -1);
    assert_int_equal(v, 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_plain_bytes),
        cmocka_unit_test(test_size_binary_units),
        cmocka_unit_test(test_size_overflow_rejected),
        cmocka_unit_test(test_size_malformed_rejected),
        cmocka_unit_test(test_size_null_string_rejected),
        cmocka_unit_test(test_size_json_integers),
        cmocka_unit_test(test_size_json_negative_rejected),
        cmocka_unit_test(test_size_json_strings),
        cmocka_unit_test(test_size_json_other_types_rejected),
        cmocka_unit_test(test_duration_units),
        cmocka_unit_test(test_duration_malformed_rejected),
        cmocka_unit_test(test_duration_overflow_rejected),
        cmocka_unit_test(test_duration_null_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
