/* test_restart.c — restart modes, backoff, max_restarts and the circuit breaker on a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../runtime/restart.h"

#define MID 0x7fffffffu /* a random number that gives (almost) no jitter */

static struct restart_policy pol(enum restart_mode m)
{
    return (struct restart_policy){
        .mode = m, .max_restarts = 5, .backoff_initial_ms = 1000, .backoff_max_ms = 60000,
        .multiplier = 2.0, .jitter = 0.1, .failure_threshold = 3, .window_ms = 60000,
        .cooldown_ms = 300000, .half_open_successes = 1, .healthy_period_ms = 10000,
    };
}

static void backoff_doubles_up_to_the_cap(void **s)
{
    (void)s;
    struct restart_policy p = pol(RESTART_ALWAYS);
    int64_t want[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000};
    for (int i = 0; i < 9; i++)
        assert_int_equal(restart_backoff(&p, i), want[i]);
    p.multiplier = 1.0;
    assert_int_equal(restart_backoff(&p, 7), 1000);
}

static void jitter_stays_within_its_band(void **s)
{
    (void)s;
    struct restart_policy p = pol(RESTART_ON_FAILURE);
    p.failure_threshold = 1000;
    uint32_t rnds[] = {0, 1, MID, 0xffffffffu, 12345678};
    for (size_t i = 0; i < sizeof(rnds) / sizeof(rnds[0]); i++) {
        struct restart_state st;
        restart_init(&st);
        restart_started(&st, 0);
        struct restart_decision d = restart_on_exit(&p, &st, true, true, 500, rnds[i]);
        assert_int_equal(d.verdict, VERDICT_RESTART);
        assert_in_range(d.at_ms - 500, 900, 1100);
    }
    struct restart_state st;
    restart_init(&st);
    restart_started(&st, 0);
    assert_int_equal(restart_on_exit(&p, &st, true, true, 0, 0).at_ms, 900);
    restart_started(&st, 0);
    restart_init(&st);
    assert_int_equal(restart_on_exit(&p, &st, true, true, 0, 0xffffffffu).at_ms, 1100);
}

static void modes(void **s)
{
    (void)s;
    struct restart_state st;
    struct restart_policy never = pol(RESTART_NEVER), onf = pol(RESTART_ON_FAILURE), always = pol(RESTART_ALWAYS);
    restart_init(&st);
    assert_int_equal(restart_on_exit(&never, &st, true, true, 0, MID).verdict, VERDICT_STAY_DOWN);
    restart_init(&st);
    assert_int_equal(restart_on_exit(&onf, &st, false, true, 0, MID).verdict, VERDICT_STAY_DOWN);
    restart_init(&st);
    assert_int_equal(restart_on_exit(&onf, &st, true, true, 0, MID).verdict, VERDICT_RESTART);
    restart_init(&st);
    assert_int_equal(restart_on_exit(&onf, &st, true, false, 0, MID).verdict, VERDICT_STAY_DOWN);
    restart_init(&st);
    assert_int_equal(restart_on_exit(&always, &st, false, true, 0, MID).verdict, VERDICT_RESTART);
    assert_int_equal(restart_mode_parse("on-failure", &never.mode), 0);
    assert_int_equal(never.mode, RESTART_ON_FAILURE);
    assert_int_equal(restart_mode_parse("sometimes", &never.mode), -1);
}

/* Failures spread wider than the window never open the circuit; max_restarts gives up. */
static void max_restarts_gives_up(void **s)
{
    (void)s;
    struct restart_policy p = pol(RESTART_ON_FAILURE);
    struct restart_state st;
    restart_init(&st);
    int64_t now = 0;
    for (int i = 0; i < 5; i++) {
        restart_started(&st, now);
        now += 1000; /* short runs: never healthy */
        struct restart_decision d = restart_on_exit(&p, &st, true, true, now, MID);
        assert_int_equal(d.verdict, VERDICT_RESTART);
        assert_int_equal(st.circuit, CIRCUIT_CLOSED);
        now += 61000; /* the next failure falls outside the window */
    }
    restart_started(&st, now);
    assert_int_equal(restart_on_exit(&p, &st, true, true, now + 1000, MID).verdict, VERDICT_GIVE_UP);
}

/* A healthy period resets the consecutive count (and so the backoff). */
static void healthy_period_resets_backoff(void **s)
{
    (void)s;
    struct restart_policy p = pol(RESTART_ALWAYS);
    p.failure_threshold = 1000;
    struct restart_state st;
    restart_init(&st);
    int64_t now = 0;
    for (int i = 0; i < 3; i++) {
        restart_started(&st, now);
        now += 100;
        restart_on_exit(&p, &st, true, true, now, MID);
    }
    assert_int_equal(st.consecutive, 3);
    restart_started(&st, now);
    assert_false(restart_tick(&p, &st, now + 9999));
    assert_int_equal(st.consecutive, 3);
    restart_tick(&p, &st, now + 10000);
    assert_int_equal(st.consecutive, 0);
    struct restart_decision d = restart_on_exit(&p, &st, true, true, now + 20000, MID);
    assert_in_range(d.at_ms - (now + 20000), 990, 1010); /* back to the initial backoff */
}

/* threshold failures in the window open the circuit; after the cooldown a half-open trial that
 * fails re-opens it; one that stays healthy closes it. */
static void circuit_breaker(void **s)
{
    (void)s;
    struct restart_policy p = pol(RESTART_ON_FAILURE);
    struct restart_state st;
    restart_init(&st);
    int64_t now = 0;
    struct restart_decision d;
    for (int i = 0; i < 2; i++) {
        restart_started(&st, now);
        d = restart_on_exit(&p, &st, true, true, now += 100, MID);
        assert_int_equal(d.verdict, VERDICT_RESTART);
        assert_false(d.circuit_changed);
    }
    restart_started(&st, now);
    d = restart_on_exit(&p, &st, true, true, now += 100, MID);
    assert_int_equal(d.verdict, VERDICT_QUARANTINE);
    assert_true(d.circuit_changed);
    assert_int_equal(st.circuit, CIRCUIT_OPEN);
    assert_int_equal(d.at_ms, now + 300000);

    /* cooldown over: half-open trial fails → open again, new cooldown */
    now = d.at_ms;
    restart_half_open(&st);
    assert_int_equal(st.circuit, CIRCUIT_HALF_OPEN);
    restart_started(&st, now);
    d = restart_on_exit(&p, &st, true, true, now += 50, MID);
    assert_int_equal(d.verdict, VERDICT_QUARANTINE);
    assert_int_equal(st.circuit, CIRCUIT_OPEN);
    assert_int_equal(d.at_ms, now + 300000);

    /* second trial stays up for the healthy period → closed, history forgotten */
    now = d.at_ms;
    restart_half_open(&st);
    restart_started(&st, now);
    assert_false(restart_tick(&p, &st, now + 5000));
    assert_true(restart_tick(&p, &st, now + 10000));
    assert_int_equal(st.circuit, CIRCUIT_CLOSED);
    assert_int_equal(st.n_failures, 0);
    /* and a single failure now restarts normally */
    d = restart_on_exit(&p, &st, true, true, now += 20000, MID);
    assert_int_equal(d.verdict, VERDICT_RESTART);
}

/* half_open_successes > 1 needs that many healthy trial runs. */
static void half_open_needs_n_successes(void **s)
{
    (void)s;
    struct restart_policy p = pol(RESTART_ALWAYS);
    p.half_open_successes = 2;
    struct restart_state st;
    restart_init(&st);
    st.circuit = CIRCUIT_HALF_OPEN;
    restart_started(&st, 0);
    assert_false(restart_tick(&p, &st, 10000));
    assert_int_equal(restart_on_exit(&p, &st, false, true, 15000, MID).verdict, VERDICT_RESTART);
    assert_int_equal(st.circuit, CIRCUIT_HALF_OPEN);
    restart_started(&st, 20000);
    assert_true(restart_tick(&p, &st, 30000));
    assert_int_equal(st.circuit, CIRCUIT_CLOSED);
}

/* A failure outside the window does not count towards opening the circuit. */
static void window_slides(void **s)
{
    (void)s;
    struct restart_policy p = pol(RESTART_ON_FAILURE);
    p.max_restarts = 100;
    struct restart_state st;
    restart_init(&st);
    /* threshold 3 in 60 s: never 3 within any 60 s here */
    int64_t t[] = {0, 30000, 61000, 92000};
    for (int i = 0; i < 4; i++) {
        restart_started(&st, t[i] - 10);
        assert_int_equal(restart_on_exit(&p, &st, true, true, t[i], MID).verdict, VERDICT_RESTART);
    }
    restart_started(&st, 99000);
    /* 61000, 92000, 100000: three in the window ending at 100000 */
    assert_int_equal(restart_on_exit(&p, &st, true, true, 100000, MID).verdict, VERDICT_QUARANTINE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(backoff_doubles_up_to_the_cap), cmocka_unit_test(jitter_stays_within_its_band),
        cmocka_unit_test(modes),                         cmocka_unit_test(max_restarts_gives_up),
        cmocka_unit_test(healthy_period_resets_backoff), cmocka_unit_test(circuit_breaker),
        cmocka_unit_test(half_open_needs_n_successes),   cmocka_unit_test(window_slides),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
