/* daemon_priv.h — what daemon.c and daemon_reload.c share: a supervised sandbox's record
 * (struct sb), a client connection, and the helpers the reload section calls. Private to the
 * daemon; runtime/daemon.h is the public side. */
#ifndef GBOX_DAEMON_PRIV_H
#define GBOX_DAEMON_PRIV_H

#include "restart.h"
#include "../sandbox/sbx.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum sb_state { SB_STARTING, SB_RUNNING, SB_BACKOFF, SB_QUARANTINED, SB_EXITED, SB_FAILED, SB_STOPPED };

struct sb {
    char id[17];
    char *name, *policy, *domain; /* policy = what to pass to gbox run; domain = its name */
    json_t *request;              /* the spawn request (argv, in_image, program, env) */
    enum sb_state state;
    struct restart_policy rp;
    struct restart_state rs;
    char on_timeout[64], on_oom[64], on_crash[64];
    int64_t grace_ms;
    bool emergency_stop_allowed;
    uid_t owner;
    pid_t shim;
    long long shim_start;
    int pidfd;
    bool own_child;            /* we forked the shim (else adopted: no wait status) */
    int64_t started_at, next_at, stop_deadline, created_at;
    bool stop_requested, stop_escalated;
    int restarts, runs;
    json_t *last;              /* last report, or NULL */
    /* health checks (monitoring.health_check) */
    json_t *hc_cmd;            /* command run inside the sandbox; empty: liveness only */
    int64_t hc_interval_ms, hc_timeout_ms, hc_start_ms;
    int hc_retries, hc_failures;
    char on_health_fail[64];
    int hc_tag;                /* its address tags the check's pidfd in epoll */
    pid_t hc_pid;
    int hc_pidfd;
    int64_t hc_next, hc_deadline;
    bool hc_timed_out, health_restart, health_kill;
    const char *health;        /* "none", "starting", "healthy", "unhealthy" */
    /* anomaly detection (monitoring.anomaly_detection) and resources.memory.high */
    bool anomaly;
    int64_t mem_high, mem_max;
    char on_memory_high[64];
    int64_t an_next, an_mem[5], an_throttled, an_psi_mem, an_psi_io, an_oom;
    int an_n;
    bool an_growth, an_throttling, an_pressure, an_iopressure, an_high;
    /* reload (docs/reload.md): the journal of a reload or rollback in progress, or NULL */
    json_t *rl;
    int64_t rl_deadline, rl_started;
    int rl_passes;
    struct sbx_started where;  /* from the shim's state file */
    int state_wd;              /* inotify watch of the record directory (state.json), or -1 */
    char *where_buf[9];
    /* A spawn a warm member took (pool.c): its program is on its way; meta.json, the spawned and
     * started events, the audit entry and the reply wait until it runs (sb_record_start). */
    bool unrecorded;
    struct client *reply_to;   /* the client waiting for that reply (NULL: it went away) */
    uid_t rq_uid;              /* who asked, for the audit entry */
    gid_t rq_gid;
    pid_t rq_pid;
    struct sb *next;
};


struct client {
    int fd;
    uid_t uid;
    gid_t gid;
    pid_t pid;
    gid_t groups[64];
    int n_groups;
    char *in;
    size_t in_len;
    char *out;
    size_t out_len, out_off;
    bool follow_events;
    char ev_id[17], ev_type[32];
    struct sb *follow_logs; /* logs --follow */
    char follow_stream[8];
    off_t follow_off;
    bool closing;
    struct sb *waiting;     /* a spawn's reply comes first: later requests wait in `in` */
    bool eof;               /* it closed its write side: closed once every request is answered */
    struct client *next;
};


extern const char *const state_names[];

static inline const char *or_str(const char *v, const char *dflt) { return v ? v : dflt; }

/* daemon.c */
int64_t mono_ms(void);
int64_t wall_ms(void);
/* <state>/sandboxes/<id>/<file> */
void sb_path(const struct sb *s, const char *file, char *out, size_t len);
/* Append an event to the journal and stream it to followers. Steals ev. */
void emit(struct sb *s, const char *type, json_t *ev);
/* Write the record (meta.json) atomically. */
int sb_save(struct sb *s);
/* By id, name or unique id prefix; NULL if none. */
struct sb *sb_find(const char *key);
/* Start the sandbox's shim; -1 with a message in errbuf. */
int sb_start(struct sb *s, char *errbuf, size_t errlen);
/* SIGKILL the sandbox now (through its cgroups and shim). */
void sb_kill_now(struct sb *s);
/* May this client do op in domain (access file)? */
bool allowed(const struct client *c, const char *op, const char *domain);
/* An error reply {"ok": false, "error": ...}. */
json_t *fail_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The daemon's one approval queue (approval.c). */
struct approval_queue *daemon_approvals(void);
#define AN_INTERVAL_MS 1000 /* anomaly sampling (daemon_health.c) */
int daemon_epoll(void);                   /* the daemon's epoll set */
struct config_store *daemon_config(void); /* the domain policies in force (config.c) */

/* daemon_health.c: health checks (started from the tick, reaped on their pidfd's event: -2 not
 * yet, -1 none ran, else the status) and anomaly sampling */
int hc_reap(struct sb *s, bool kill_it);
void hc_start(struct sb *s);
void hc_done(struct sb *s);
void anomaly_sample(struct sb *s);

/* daemon_reload.c: generations, verification, rollback (docs/reload.md) */
json_t *rl_shim_args(struct sb *s);
json_t *rl_modules(struct sb *s);
int rl_spawn(struct sb *s, char *errbuf, size_t errlen);
bool rl_on_end(struct sb *s);
bool rl_health(struct sb *s, bool ok, bool counts);
void rl_tick(struct sb *s, int64_t now);
void rl_resume(struct sb *s);
json_t *op_generations(struct sb *s);
json_t *op_reload(struct client *c, struct sb *s, json_t *rq);
json_t *op_rollback(struct client *c, struct sb *s, json_t *rq);
json_t *approve_reload(struct client *c, json_t *entry);

#endif
