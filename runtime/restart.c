/* restart.c — restart modes, backoff and the circuit breaker (see restart.h). */
#include "restart.h"

#include <string.h>

void restart_init(struct restart_state *st)
{
    memset(st, 0, sizeof(*st));
    st->circuit = CIRCUIT_CLOSED;
    st->started_at = -1;
}

void restart_started(struct restart_state *st, int64_t now)
{
    st->started_at = now;
    st->healthy_counted = false;
}

int64_t restart_backoff(const struct restart_policy *p, int n)
{
    double d = (double)p->backoff_initial_ms;
    for (int i = 0; i < n && d < (double)p->backoff_max_ms; i++)
        d *= p->multiplier;
    if (d > (double)p->backoff_max_ms)
        d = (double)p->backoff_max_ms;
    return (int64_t)d;
}

static int64_t jittered(const struct restart_policy *p, int64_t base, uint32_t rnd)
{
    /* factor in [1 - jitter, 1 + jitter] */
    double u = (double)rnd / 4294967295.0 * 2.0 - 1.0;
    double d = (double)base * (1.0 + p->jitter * u);
    return d < 0 ? 0 : (int64_t)d;
}

static int failures_since(const struct restart_state *st, int64_t since)
{
    int n = 0;
    for (int i = 0; i < st->n_failures; i++)
        if (st->failures[i] >= since)
            n++;
    return n;
}

static void record_failure(struct restart_state *st, int64_t now)
{
    st->failures[st->next_failure] = now;
    st->next_failure = (st->next_failure + 1) % RESTART_HISTORY;
    if (st->n_failures < RESTART_HISTORY)
        st->n_failures++;
}

static void open_circuit(struct restart_state *st, int64_t now)
{
    st->circuit = CIRCUIT_OPEN;
    st->opened_at = now;
    st->half_open_ok = 0;
}

bool restart_tick(const struct restart_policy *p, struct restart_state *st, int64_t now)
{
    if (st->started_at < 0 || st->healthy_counted || now - st->started_at < p->healthy_period_ms)
        return false;
    st->healthy_counted = true;
    st->consecutive = 0;
    if (st->circuit == CIRCUIT_HALF_OPEN && ++st->half_open_ok >= p->half_open_successes) {
        st->circuit = CIRCUIT_CLOSED;
        st->n_failures = st->next_failure = 0;
        return true;
    }
    return false;
}

void restart_half_open(struct restart_state *st)
{
    if (st->circuit == CIRCUIT_OPEN)
        st->circuit = CIRCUIT_HALF_OPEN;
}

struct restart_decision restart_on_exit(const struct restart_policy *p, struct restart_state *st,
                                        bool failed, bool want_restart, int64_t now, uint32_t rnd)
{
    struct restart_decision d = {VERDICT_STAY_DOWN, now, false};
    /* a run that ended before a tick saw it healthy still counts when it lasted long enough */
    if (st->started_at >= 0)
        d.circuit_changed = restart_tick(p, st, now);
    st->started_at = -1;

    if (failed) {
        record_failure(st, now);
        if (st->circuit == CIRCUIT_HALF_OPEN ||
            (st->circuit == CIRCUIT_CLOSED && failures_since(st, now - p->window_ms) >= p->failure_threshold)) {
            open_circuit(st, now);
            d.circuit_changed = true;
        }
    }
    bool restart = p->mode != RESTART_NEVER &&
                   (failed ? want_restart && (p->mode == RESTART_ON_FAILURE || p->mode == RESTART_ALWAYS)
                           : p->mode == RESTART_ALWAYS);
    if (!restart)
        return d;
    if (st->circuit == CIRCUIT_OPEN) {
        d.verdict = VERDICT_QUARANTINE;
        d.at_ms = st->opened_at + p->cooldown_ms;
        return d;
    }
    if (st->consecutive >= p->max_restarts) {
        d.verdict = VERDICT_GIVE_UP;
        return d;
    }
    d.verdict = VERDICT_RESTART;
    d.at_ms = now + jittered(p, restart_backoff(p, st->consecutive), rnd);
    st->consecutive++;
    return d;
}

static const char *const mode_names[] = {"never", "on-failure", "always"};

const char *restart_mode_name(enum restart_mode m) { return mode_names[m]; }

int restart_mode_parse(const char *s, enum restart_mode *m)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(s, mode_names[i]) == 0) {
            *m = (enum restart_mode)i;
            return 0;
        }
    return -1;
}

const char *circuit_name(enum circuit c)
{
    static const char *const names[] = {"closed", "open", "half-open"};
    return names[c];
}
