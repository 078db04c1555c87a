/* restart.h — when a supervised sandbox comes back: restart modes, exponential backoff with jitter,
 * restart intensity and the circuit breaker. Pure logic on a caller-supplied clock (milliseconds)
 * and random number, so the state machines are unit-tested with a fake clock
 * (tests/unit/test_restart.c). The daemon feeds it exits and "still running" ticks.
 *
 * Circuit breaker (per sandbox):
 *   closed     restarts allowed, with backoff; `failure_threshold` failures within `window`
 *              open the circuit.
 *   open       quarantined: no restart until `cooldown` has passed, then half-open.
 *   half_open  one trial run; a failure opens the circuit again, `half_open_successes` runs that
 *              stay up for `healthy_period` close it (history forgotten).
 * Independently, `max_restarts` consecutive restarts without a healthy period give up. */
#ifndef GBOX_RESTART_H
#define GBOX_RESTART_H

#include <stdbool.h>
#include <stdint.h>

enum restart_mode { RESTART_NEVER, RESTART_ON_FAILURE, RESTART_ALWAYS };
enum circuit { CIRCUIT_CLOSED, CIRCUIT_OPEN, CIRCUIT_HALF_OPEN };

struct restart_policy {
    enum restart_mode mode;
    int max_restarts;          /* consecutive, without a healthy period between */
    int64_t backoff_initial_ms;
    int64_t backoff_max_ms;
    double multiplier;         /* >= 1 */
    double jitter;             /* 0..1: the delay is scaled by a factor in [1 - jitter, 1 + jitter] */
    int failure_threshold;     /* failures within window that open the circuit */
    int64_t window_ms;
    int64_t cooldown_ms;
    int half_open_successes;
    int64_t healthy_period_ms; /* running this long counts as healthy */
};

#define RESTART_HISTORY 128

struct restart_state {
    enum circuit circuit;
    int consecutive;              /* restarts since the last healthy period */
    int half_open_ok;             /* healthy trial runs while half-open */
    int64_t failures[RESTART_HISTORY]; /* times of recent failures (ring) */
    int n_failures, next_failure;
    int64_t opened_at;
    int64_t started_at;           /* the current run's start; -1 when not running */
    bool healthy_counted;         /* this run already counted as healthy */
};

enum restart_verdict {
    VERDICT_STAY_DOWN,   /* mode or exit says no restart */
    VERDICT_RESTART,     /* restart at `at_ms` */
    VERDICT_QUARANTINE,  /* circuit open: a half-open trial at `at_ms` */
    VERDICT_GIVE_UP,     /* max_restarts reached */
};

struct restart_decision {
    enum restart_verdict verdict;
    int64_t at_ms;
    bool circuit_changed; /* the decision moved the circuit (an event to publish) */
};

void restart_init(struct restart_state *st);
/* The sandbox (re)started at now. */
void restart_started(struct restart_state *st, int64_t now);
/* Call periodically while the sandbox runs: counts a healthy period once per run. Returns true when
 * that closed the circuit. */
bool restart_tick(const struct restart_policy *p, struct restart_state *st, int64_t now);
/* The sandbox ended. `failed`: not a clean exit 0. `want_restart`: the failure policy asks for a
 * restart of this kind of end (false for "kill"); ignored for mode never. rnd: any 32-bit random
 * number (jitter). */
struct restart_decision restart_on_exit(const struct restart_policy *p, struct restart_state *st,
                                        bool failed, bool want_restart, int64_t now, uint32_t rnd);
/* The backoff before restart number n (0-based), before jitter. */
int64_t restart_backoff(const struct restart_policy *p, int n);
/* The circuit is open and its cooldown is over: move to half-open (the trial is started by the
 * caller). */
void restart_half_open(struct restart_state *st);

const char *restart_mode_name(enum restart_mode m);
int restart_mode_parse(const char *s, enum restart_mode *m);
const char *circuit_name(enum circuit c);

#endif
