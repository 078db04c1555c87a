/* daemon.c — `gbox daemon`: supervises many sandboxes from one event loop.
 *
 * Each sandbox is run by a shim: `gbox run --state-file … --report …`, started by the daemon in
 * its own session with stdout/stderr appended to log files. The shim is the sandbox's parent and
 * does what must not stop when the daemon does: it enforces the timeout and the seccomp kill
 * rules, forwards signals, kills the sandbox when the grace after a stop is over, removes its
 * cgroups and writes the report. The daemon watches the shims' pidfds (epoll), decides restarts
 * (restart.c: backoff, max_restarts, circuit breaker), publishes events, answers the socket.
 *
 * Crash safety: every change of a sandbox's record is written to
 * <state>/sandboxes/<id>/meta.json atomically (temp file, fsync, rename) before it is
 * acknowledged. After `kill -9` of the daemon and a restart, each record is read back: a shim that
 * is still the same process (pid + start time from its state file) is adopted (pidfd, and its
 * report read when it ends); a shim that ended meanwhile is processed from its report; a shim
 * that vanished without a report has its sandbox's cgroups killed and removed.
 *
 * Event loop: epoll over the listening socket, clients, a signalfd, one periodic timerfd (200 ms:
 * restart and stop deadlines, healthy-period ticks, log rotation, log followers) and one pidfd
 * per shim. No thread per sandbox. */
#include "approval.h"
#include "audit.h"
#include "cli.h"
#include "config.h"
#include "approval.h"
#include "daemon.h"
#include "daemon_priv.h"
#include "generation.h"
#include "names.h"
#include "paths.h"
#include "plan.h"
#include "policy.h"
#include "request.h"
#include "pool.h"
#include "tree.h"
#include "reload.h"
#include "restart.h"
#include "stack.h"
#include "units.h"
#include "../sandbox/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


#define TICK_MS 200
#define MAX_LINE (1 << 20)
#define MAX_OUTBUF (8 << 20)

const char *const state_names[] = {"starting", "running", "backoff", "quarantined",
                                   "exited", "failed", "stopped"};




static struct {
    int ep, lfd, sfd, tfd;
    const char *state_dir, *sock_path, *access_file;
    char exe[PATH_MAX];
    struct sb *sbs;
    struct client *clients;
    int journal_fd;
    int64_t log_max;
    json_t *access;
    bool quit;
    unsigned long events_total, spawns_total, restarts_total, exits_total;
    struct audit_log *alog;       /* hash-chained audit.jsonl (audit.c) */
    struct approval_queue *aq;    /* changes waiting for approval (approval.c) */
    struct config_store *cfg;     /* domain policies in force (config.c) */
    const char *policy_dir;
    int ifd;                      /* inotify on the policy directory */
    int rfd;                      /* inotify on the record directories: state.json means running */
    int unrecorded;               /* sandboxes with sb.unrecorded set */
} D;

struct approval_queue *daemon_approvals(void) { return D.aq; }
int daemon_epoll(void) { return D.ep; }
struct config_store *daemon_config(void) { return D.cfg; }

int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Monotonic deadlines do not survive a daemon restart: records keep wall-clock times. */
static int64_t to_wall(int64_t mono) { return mono < 0 ? -1 : wall_ms() + (mono - mono_ms()); }
static int64_t to_mono(int64_t wall) { return wall < 0 ? -1 : mono_ms() + (wall - wall_ms()); }

void sb_path(const struct sb *s, const char *file, char *out, size_t len)
{
    snprintf(out, len, "%s/sandboxes/%s/%s", D.state_dir, s->id, file);
}

/* Write a JSON value atomically: temp file, fsync, rename, fsync of the directory. */
static int write_json_atomic(const char *path, const json_t *v)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    int rc = s && write_all(fd, s, strlen(s)) == 0 && write_all(fd, "\n", 1) == 0 && fsync(fd) == 0 ? 0 : -1;
    free(s);
    close(fd);
    if (rc == 0)
        rc = rename(tmp, path);
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (rc == 0 && slash) {
        *slash = '\0';
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    return rc;
}

/* ---- events and audit --------------------------------------------------------------------- */

static void client_send(struct client *c, const json_t *msg);

static bool event_matches(const struct client *c, const json_t *ev)
{
    const char *id = json_string_value(json_object_get(ev, "id"));
    const char *type = json_string_value(json_object_get(ev, "type"));
    if (c->ev_id[0] && (!id || strcmp(c->ev_id, id) != 0))
        return false;
    if (c->ev_type[0] && (!type || strcmp(c->ev_type, type) != 0))
        return false;
    return true;
}

/* Append an event to the journal and stream it to followers. Steals ev. */
void emit(struct sb *s, const char *type, json_t *ev)
{
    if (!ev)
        ev = json_object();
    json_object_set_new(ev, "ts", json_integer(wall_ms()));
    json_object_set_new(ev, "type", json_string(type));
    if (s) {
        json_object_set_new(ev, "id", json_string(s->id));
        json_object_set_new(ev, "name", json_string(s->name));
        json_object_set_new(ev, "domain", json_string(s->domain));
    }
    size_t n;
    char *line = proto_encode(ev, &n);
    if (line && D.journal_fd >= 0)
        write_all(D.journal_fd, line, n); /* one write: O_APPEND keeps lines whole */
    free(line);
    D.events_total++;
    json_t *wrap = json_pack("{s:O}", "event", ev);
    for (struct client *c = D.clients; c; c = c->next)
        if (c->follow_events && event_matches(c, ev))
            client_send(c, wrap);
    json_decref(wrap);
    json_decref(ev);
}

static void audit(const struct client *c, const char *op, const char *target, bool ok, const char *error)
{
    json_t *a = json_pack("{s:I,s:i,s:i,s:i,s:s,s:s,s:b}", "ts", (json_int_t)wall_ms(), "uid", (int)c->uid,
                          "gid", (int)c->gid, "pid", (int)c->pid, "op", op ? op : "?", "target",
                          target ? target : "", "ok", ok);
    if (error)
        json_object_set_new(a, "error", json_string(error));
    if (D.alog && audit_log_append(D.alog, a) < 0)
        fprintf(stderr, "gbox daemon: append to the audit log: %s\n", strerror(errno));
    json_decref(a);
}

/* ---- records ------------------------------------------------------------------------------- */

static json_t *sb_json(const struct sb *s, bool full)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:i,s:i,s:s,s:s,s:I}", "id", s->id, "name", s->name,
                          "domain", s->domain, "state", state_names[s->state], "restarts", s->restarts,
                          "runs", s->runs, "restart", restart_mode_name(s->rp.mode), "circuit",
                          circuit_name(s->rs.circuit), "created_at", (json_int_t)s->created_at);
    if (s->state == SB_RUNNING || s->state == SB_STARTING) {
        json_object_set_new(o, "shim_pid", json_integer(s->shim));
        if (s->where.init_pid > 0)
            json_object_set_new(o, "init_pid", json_integer(s->where.init_pid));
        json_object_set_new(o, "started_at", json_integer(to_wall(s->started_at)));
    }
    json_object_set_new(o, "health", json_string(s->health));
    if (s->next_at >= 0 && (s->state == SB_BACKOFF || s->state == SB_QUARANTINED))
        json_object_set_new(o, "next_start_at", json_integer(to_wall(s->next_at)));
    if (s->last) {
        json_object_set(o, "last_end", json_object_get(s->last, "end"));
        json_object_set(o, "last_exit_code", json_object_get(s->last, "exit_code"));
        json_object_set(o, "last_reason", json_object_get(s->last, "reason"));
        if (full)
            json_object_set(o, "last_report", s->last);
    }
    if (full) {
        json_object_set(o, "request", s->request);
        json_object_set_new(o, "policy", json_string(s->policy));
        json_object_set_new(o, "owner_uid", json_integer(s->owner));
        if (s->where.cgroup_v2)
            json_object_set_new(o, "cgroup_v2", json_string(s->where.cgroup_v2));
    }
    return o;
}

/* The record on disk: everything needed to resume after a crash. */
int sb_save(struct sb *s)
{
    json_t *m = json_pack("{s:s,s:s,s:s,s:s,s:O,s:s,s:i,s:i,s:i,s:I,s:I,s:I,s:b,s:i,s:I,s:s}", "id", s->id,
                          "name", s->name, "policy", s->policy, "domain", s->domain, "request",
                          s->request, "state", state_names[s->state], "restarts", s->restarts, "runs",
                          s->runs, "owner", (int)s->owner, "created_at", (json_int_t)s->created_at,
                          "next_at", (json_int_t)to_wall(s->next_at), "started_at",
                          (json_int_t)to_wall(s->started_at), "stop_requested", s->stop_requested,
                          "circuit", (int)s->rs.circuit, "opened_at", (json_int_t)to_wall(s->rs.opened_at),
                          "restart_mode", restart_mode_name(s->rp.mode));
    json_object_set_new(m, "consecutive", json_integer(s->rs.consecutive));
    if (s->shim > 0) { /* a shim not yet in its state file (still starting) is found by these */
        json_object_set_new(m, "shim_pid", json_integer(s->shim));
        json_object_set_new(m, "shim_start", json_integer(s->shim_start));
    }
    json_t *f = json_array();
    for (int i = 0; i < s->rs.n_failures; i++)
        json_array_append_new(f, json_integer(to_wall(s->rs.failures[i])));
    json_object_set_new(m, "failures", f);
    if (s->last)
        json_object_set(m, "last", s->last);
    char p[PATH_MAX];
    sb_path(s, "meta.json", p, sizeof(p));
    int rc = write_json_atomic(p, m);
    json_decref(m);
    return rc;
}

struct sb *sb_find(const char *key)
{
    if (!key)
        return NULL;
    for (struct sb *s = D.sbs; s; s = s->next)
        if (strcmp(s->id, key) == 0 || strcmp(s->name, key) == 0)
            return s;
    size_t kl = strlen(key); /* a unique id prefix, like docker */
    struct sb *hit = NULL;
    for (struct sb *s = D.sbs; s; s = s->next)
        if (kl >= 4 && strncmp(s->id, key, kl) == 0) {
            if (hit)
                return NULL;
            hit = s;
        }
    return hit;
}

static void where_clear(struct sb *s)
{
    for (size_t i = 0; i < ARRAY_LEN(s->where_buf); i++) {
        free(s->where_buf[i]);
        s->where_buf[i] = NULL;
    }
    memset(&s->where, 0, sizeof(s->where));
}

/* The shim's state file: where its sandbox is. */
static int where_load(struct sb *s, long long *shim_start)
{
    char p[PATH_MAX];
    sb_path(s, "state.json", p, sizeof(p));
    json_t *st = json_load_file(p, 0, NULL);
    if (!st)
        return -1;
    where_clear(s);
    s->where.init_pid = (pid_t)json_integer_value(json_object_get(st, "init_pid"));
    const char *v2 = json_string_value(json_object_get(st, "cgroup_v2"));
    if (v2)
        s->where.cgroup_v2 = s->where_buf[0] = xstrdup(v2);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(st, "cgroup_v1"), i, e)
    {
        if (i >= 8 || !json_is_string(e))
            break;
        s->where.cgroup_v1[s->where.n_cgroup_v1++] = s->where_buf[1 + i] = xstrdup(json_string_value(e));
    }
    if (shim_start)
        *shim_start = json_integer_value(json_object_get(st, "shim_start"));
    json_decref(st);
    return 0;
}

/* A starting sandbox is running once its shim wrote the state file (the program was exec'd). */
static void refresh_running(struct sb *s)
{
    long long st;
    if (s->state == SB_STARTING && where_load(s, &st) == 0) {
        s->state = SB_RUNNING;
        sb_save(s);
        emit(s, "running", json_pack("{s:i}", "init_pid", (int)s->where.init_pid));
    }
}

/* ---- starting and ending --------------------------------------------------------------------- */

static void add_pidfd(struct sb *s)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = s};
    epoll_ctl(D.ep, EPOLL_CTL_ADD, s->pidfd, &ev);
}

/* Watch the shim through a pidfd. Without pidfd_open (ENOSYS: valgrind 3.19, under which
 * tests/valgrind runs the daemon, or a container's seccomp profile older than the call) the tick
 * watches it instead (shim_polled). 0, or -1 with errno. */
static int watch_shim(struct sb *s)
{
    s->pidfd = (int)syscall(SYS_pidfd_open, s->shim, 0);
    if (s->pidfd >= 0)
        add_pidfd(s);
    return s->pidfd >= 0 || errno == ENOSYS ? 0 : -1;
}

/* A shim watched without a pidfd has ended (an own child: on_pidfd reaps it; adopted: gone, or
 * its pid is another process now). */
static bool shim_polled_ended(const struct sb *s)
{
    if (s->pidfd >= 0 || s->shim <= 0 || (s->state != SB_RUNNING && s->state != SB_STARTING))
        return false;
    if (s->own_child) {
        siginfo_t si = {0};
        return waitid(P_PID, (id_t)s->shim, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == s->shim;
    }
    return proc_start_time(s->shim) != s->shim_start;
}

static int open_log(struct sb *s, const char *name)
{
    char p[PATH_MAX];
    sb_path(s, name, p, sizeof(p));
    return open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

/* Running is noticed when the shim writes state.json in the record's directory. */
static void watch_record(struct sb *s)
{
    if (D.rfd >= 0 && s->state_wd <= 0) {
        char dir[PATH_MAX];
        sb_path(s, "", dir, sizeof(dir));
        s->state_wd = inotify_add_watch(D.rfd, dir, IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR);
    }
}

static int sb_shim_watch(struct sb *s, pid_t pid, char *errbuf, size_t errlen);
static void sb_shim_record(struct sb *s);

/* Start the shim: gbox run in its own session, logs appended to files. (A first spawn that a
 * warm member of the pool takes does not come here: op_spawn hands it over, pool.c.) */
int sb_start(struct sb *s, char *errbuf, size_t errlen)
{
    char report[PATH_MAX], state[PATH_MAX];
    sb_path(s, "report.json", report, sizeof(report));
    sb_path(s, "state.json", state, sizeof(state));
    unlink(report);
    unlink(state);
    watch_record(s);
    pid_t pid;
    int out = open_log(s, "stdout.log"), err = open_log(s, "stderr.log");
    if (out < 0 || err < 0) {
        snprintf(errbuf, errlen, "open the log files of %s: %s", s->id, strerror(errno));
        if (out >= 0)
            close(out);
        if (err >= 0)
            close(err);
        return -1;
    }
    /* argv: gbox run --quiet --policy P --report R --state-file S [--in-image] ARGV... */
    json_t *argvj = json_object_get(s->request, "argv");
    json_t *envj = json_object_get(s->request, "env"), *modj = json_object_get(s->request, "modules");
    json_t *gargs = rl_shim_args(s); /* a sandbox with generations: its current one's state and modules */
    if (gargs)
        modj = NULL;
    size_t n = json_array_size(argvj), k = 0;
    char **argv = xcalloc(n + 16 + 2 * (json_array_size(envj) + json_array_size(modj)) + json_array_size(gargs),
                          sizeof(char *));
    argv[k++] = D.exe;
    argv[k++] = "run";
    argv[k++] = "--quiet";
    argv[k++] = "--policy";
    argv[k++] = (char *)config_policy_arg(D.cfg, s->policy); /* the version in force */
    argv[k++] = "--report";
    argv[k++] = report;
    argv[k++] = "--state-file";
    argv[k++] = state;
    for (size_t i = 0; i < json_array_size(envj); i++) {
        argv[k++] = "--env";
        argv[k++] = (char *)json_string_value(json_array_get(envj, i));
    }
    for (size_t i = 0; i < json_array_size(modj); i++) {
        argv[k++] = "--module";
        argv[k++] = (char *)json_string_value(json_array_get(modj, i));
    }
    for (size_t i = 0; i < json_array_size(gargs); i++)
        argv[k++] = (char *)json_string_value(json_array_get(gargs, i));
    if (json_is_true(json_object_get(s->request, "in_image")))
        argv[k++] = "--in-image";
    argv[k++] = "--";
    for (size_t i = 0; i < n; i++)
        argv[k++] = (char *)json_string_value(json_array_get(argvj, i));
    argv[k] = NULL;
    pid = fork();
    if (pid == 0) {
        for (int sig = 1; sig < NSIG; sig++) /* nothing the daemon's starter ignored stays ignored */
            if (sig != SIGKILL && sig != SIGSTOP)
                signal(sig, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        setsid();
        int nul = open("/dev/null", O_RDONLY);
        if (nul < 0 || dup2(nul, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
            _exit(125);
        syscall(SYS_close_range, 3, ~0U, 0);
        execv(D.exe, argv);
        _exit(127);
    }
    close(out);
    close(err);
    free(argv);
    json_decref(gargs);
    if (pid < 0) {
        snprintf(errbuf, errlen, "fork the shim: %s", strerror(errno));
        return -1;
    }
    if (sb_shim_watch(s, pid, errbuf, errlen) < 0)
        return -1;
    sb_shim_record(s);
    return 0;
}

/* The shim runs (forked, or a warm member that took the program): watch it, and the record's
 * new run in memory. sb_shim_record then makes it durable. */
static int sb_shim_watch(struct sb *s, pid_t pid, char *errbuf, size_t errlen)
{
    s->shim = pid;
    s->own_child = true;
    if (watch_shim(s) < 0) {
        snprintf(errbuf, errlen, "pidfd_open: %s", strerror(errno));
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    s->state = SB_STARTING;
    s->started_at = mono_ms();
    s->stop_deadline = -1;
    s->stop_escalated = false;
    s->health_restart = s->health_kill = false;
    s->hc_failures = 0;
    s->health = json_array_size(s->hc_cmd) ? "starting" : "none";
    s->hc_next = mono_ms() + s->hc_interval_ms;
    s->an_next = mono_ms() + AN_INTERVAL_MS;
    s->an_n = 0;
    s->an_throttled = s->an_psi_mem = s->an_psi_io = s->an_oom = -1;
    s->an_growth = s->an_throttling = s->an_pressure = s->an_iopressure = s->an_high = false;
    s->runs++;
    restart_started(&s->rs, s->started_at);
    return 0;
}

/* The shim's start on disk (meta.json: a restarted daemon finds it by pid and start time) and
 * in the journal. */
static void sb_shim_record(struct sb *s)
{
    s->shim_start = proc_start_time(s->shim); /* a zombie not reaped yet still has it */
    watch_record(s);
    sb_save(s);
    emit(s, "started", json_pack("{s:i,s:i}", "shim_pid", (int)s->shim, "run", s->runs));
}

/* What kind of end, and does the domain policy ask for a restart after it? */
static void classify_end(struct sb *s, const json_t *rep, bool *failed, bool *want, const char **action)
{
    const char *end = rep ? json_string_value(json_object_get(rep, "end")) : NULL;
    int status = (int)json_integer_value(json_object_get(rep, "status"));
    *action = NULL;
    if (!end) { /* no report: the shim itself died */
        *failed = true;
        *want = true;
        return;
    }
    *failed = !(strcmp(end, "exited") == 0 && status == 0);
    *want = true;
    if (strcmp(end, "timeout") == 0)
        *action = s->on_timeout;
    else if (strcmp(end, "oom") == 0)
        *action = s->on_oom;
    else if (strcmp(end, "signaled") == 0 || strcmp(end, "seccomp") == 0)
        *action = s->on_crash;
    if (*action)
        *want = strcmp(*action, "restart") == 0 || strncmp(*action, "fallback:", 9) == 0;
}

static void rotate_logs(struct sb *s);

static void sb_ended(struct sb *s)
{
    refresh_running(s); /* a program that started and ended between two ticks still "ran" */
    char p[PATH_MAX];
    sb_path(s, "report.json", p, sizeof(p));
    json_t *rep = json_load_file(p, 0, NULL);
    if (s->pidfd >= 0) {
        epoll_ctl(D.ep, EPOLL_CTL_DEL, s->pidfd, NULL);
        close(s->pidfd);
        s->pidfd = -1;
    }
    if (!rep && (s->where.cgroup_v2 || s->where.n_cgroup_v1)) {
        /* the shim died without cleaning up (SIGKILL): kill and remove what it left */
        sbx_cgroup_kill_at(&s->where);
        for (int i = 0; i < 100 && sbx_cgroup_remove_at(&s->where) < 0; i++)
            usleep(10000);
    }
    json_decref(s->last);
    s->last = rep ? rep : json_pack("{s:s,s:i,s:s}", "end", "lost", "exit_code", -1, "reason",
                                    "the shim ended without a report (killed?)");
    where_clear(s);
    s->shim = 0;
    D.exits_total++;
    hc_reap(s, true);
    rotate_logs(s); /* a flood that ended between two rotation checks is cut too */
    bool failed, want;
    const char *action;
    classify_end(s, rep, &failed, &want, &action);
    enum restart_mode mode = s->rp.mode;
    if (s->health_restart) { /* killed for failing its health checks: on_health_fail said restart */
        failed = want = true;
        if (s->rp.mode == RESTART_NEVER)
            s->rp.mode = RESTART_ON_FAILURE;
    } else if (s->health_kill) {
        want = false;
    }
    json_t *ev = json_pack("{s:O,s:O,s:O}", "end", json_object_get(s->last, "end"), "exit_code",
                           json_object_get(s->last, "exit_code"), "reason", json_object_get(s->last, "reason"));
    const char *endname = json_string_value(json_object_get(s->last, "end"));
    emit(s, endname && strcmp(endname, "oom") == 0 ? "oom" : "exited", ev);
    if (s->rl && rl_on_end(s)) /* a reload or rollback in progress decides what comes next */
        return;
    if (action && strncmp(action, "fallback:", 9) == 0) {
        free(s->policy);
        s->policy = xstrdup(action + 9);
        emit(s, "fallback", json_pack("{s:s}", "policy", s->policy));
    }
    if (s->stop_requested) {
        s->state = SB_STOPPED;
        s->started_at = -1;
        sb_save(s);
        emit(s, "stopped", NULL);
        return;
    }
    uint32_t rnd = 0;
    if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) < 0)
        rnd = (uint32_t)mono_ms();
    enum circuit before = s->rs.circuit;
    struct restart_decision d = restart_on_exit(&s->rp, &s->rs, failed, want, mono_ms(), rnd);
    s->rp.mode = mode;
    if (d.circuit_changed || before != s->rs.circuit)
        emit(s, "circuit", json_pack("{s:s,s:s}", "from", circuit_name(before), "to", circuit_name(s->rs.circuit)));
    switch (d.verdict) {
    case VERDICT_STAY_DOWN:
        s->state = failed ? SB_FAILED : SB_EXITED;
        s->next_at = -1;
        break;
    case VERDICT_RESTART:
        s->state = SB_BACKOFF;
        s->next_at = d.at_ms;
        emit(s, "restart_scheduled", json_pack("{s:I}", "delay_ms", (json_int_t)(d.at_ms - mono_ms())));
        break;
    case VERDICT_QUARANTINE:
        s->state = SB_QUARANTINED;
        s->next_at = d.at_ms;
        emit(s, "quarantined", json_pack("{s:I}", "retry_in_ms", (json_int_t)(d.at_ms - mono_ms())));
        break;
    case VERDICT_GIVE_UP:
        s->state = SB_FAILED;
        s->next_at = -1;
        emit(s, "gave_up", json_pack("{s:i}", "max_restarts", s->rp.max_restarts));
        break;
    }
    s->started_at = -1;
    sb_save(s);
}

static int64_t sweep_until; /* mono ms: sweep stale cgroups on every tick until then */

void daemon_sweep_cgroups_soon(void) { sweep_until = mono_ms() + 3000; }

static void on_pidfd(struct sb *s)
{
    if (s->own_child) {
        int st;
        if (waitpid(s->shim, &st, WNOHANG) == 0)
            return;
        if (WIFSIGNALED(st))
            daemon_sweep_cgroups_soon();
    }
    sb_ended(s);
}

/* ---- policy values a record needs --------------------------------------------------------- */

/* A policy name's version in force (config.c), for the warm pool. */
static const char *policy_in_force(const char *policy)
{
    return config_policy_arg(D.cfg, policy);
}

static int sb_load_policy(struct sb *s, char *errbuf, size_t errlen)
{
    struct gbox_policy *p = NULL;
    struct sbx_err *err = NULL;
    int lent = pool_policy_load(s->policy, &p, &err); /* in force (config.c); lent for pooled policies (pool.c) */
    if (lent < 0) {
        snprintf(errbuf, errlen, "%s", err ? err->msg : "policy load failed");
        sbx_err_free(&err);
        return -1;
    }
    free(s->domain);
    s->domain = xstrdup(p->name);
    const char *f = "failure_policies";
    char k[128];
#define DUR(x) (snprintf(k, sizeof(k), "%s.%s", f, x), pol_duration(p, k))
#define INT(x) (snprintf(k, sizeof(k), "%s.%s", f, x), (int)json_integer_value(pol_get(p, k)))
#define NUM(x) (snprintf(k, sizeof(k), "%s.%s", f, x), json_number_value(pol_get(p, k)))
    s->rp.max_restarts = INT("restart.max_restarts");
    s->rp.backoff_initial_ms = DUR("restart.backoff_initial");
    s->rp.backoff_max_ms = DUR("restart.backoff_max");
    s->rp.multiplier = NUM("restart.multiplier");
    s->rp.jitter = NUM("restart.jitter");
    s->rp.failure_threshold = INT("circuit_breaker.failure_threshold");
    s->rp.window_ms = DUR("circuit_breaker.window");
    s->rp.cooldown_ms = DUR("circuit_breaker.cooldown");
    s->rp.half_open_successes = INT("circuit_breaker.half_open_successes");
    s->rp.healthy_period_ms = DUR("circuit_breaker.healthy_period");
    s->grace_ms = DUR("grace");
#undef DUR
#undef INT
#undef NUM
    snprintf(s->on_timeout, sizeof(s->on_timeout), "%s", pol_str(p, "failure_policies.on_timeout"));
    snprintf(s->on_oom, sizeof(s->on_oom), "%s", pol_str(p, "failure_policies.on_oom"));
    snprintf(s->on_crash, sizeof(s->on_crash), "%s", pol_str(p, "failure_policies.on_crash"));
    s->emergency_stop_allowed = json_is_true(pol_get(p, "safety.emergency_stop"));
    json_decref(s->hc_cmd);
    s->hc_cmd = json_deep_copy(pol_get(p, "monitoring.health_check.command"));
    s->hc_interval_ms = pol_duration(p, "monitoring.health_check.interval");
    s->hc_timeout_ms = pol_duration(p, "monitoring.health_check.timeout");
    s->hc_start_ms = pol_duration(p, "monitoring.health_check.start_period");
    s->hc_retries = (int)json_integer_value(pol_get(p, "monitoring.health_check.retries"));
    snprintf(s->on_health_fail, sizeof(s->on_health_fail), "%s", pol_str(p, "failure_policies.on_health_fail"));
    s->anomaly = json_is_true(pol_get(p, "monitoring.anomaly_detection"));
    s->mem_high = pol_size(p, "resources.memory.high");
    s->mem_max = pol_size(p, "resources.memory.max");
    snprintf(s->on_memory_high, sizeof(s->on_memory_high), "%s", pol_str(p, "failure_policies.on_memory_high"));
    if (!lent)
        policy_free(p);
    return 0;
}

static struct sb *sb_new(void)
{
    struct sb *s = xcalloc(1, sizeof(*s));
    s->pidfd = s->hc_pidfd = -1;
    s->state_wd = -1;
    s->next_at = s->started_at = s->stop_deadline = -1;
    s->health = "none";
    restart_init(&s->rs);
    s->next = D.sbs;
    D.sbs = s;
    return s;
}

static void sb_unlink_free(struct sb *s)
{
    for (struct sb **pp = &D.sbs; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    for (struct client *c = D.clients; c; c = c->next)
        if (c->follow_logs == s)
            c->follow_logs = NULL;
    where_clear(s);
    if (s->unrecorded)
        D.unrecorded--;
    if (s->reply_to)
        s->reply_to->waiting = NULL;
    if (s->state_wd > 0 && D.rfd >= 0)
        inotify_rm_watch(D.rfd, s->state_wd);
    json_decref(s->request);
    json_decref(s->last);
    json_decref(s->hc_cmd);
    json_decref(s->rl);
    free(s->name);
    free(s->policy);
    free(s->domain);
    free(s);
}

/* ---- access control ------------------------------------------------------------------------- */

static bool in_list(const json_t *arr, const char *what)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        const char *v = json_string_value(e);
        if (v && (strcmp(v, "*") == 0 || strcmp(v, what) == 0))
            return true;
    }
    return false;
}

static bool id_in(const json_t *arr, long id)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) if (json_is_integer(e) && json_integer_value(e) == id) return true;
    return false;
}

/* root may do anything; others what a rule of the access file grants their uid or one of their
 * groups, for that operation and domain (NULL: an operation on no domain, like ps). */
bool allowed(const struct client *c, const char *op, const char *domain)
{
    if (c->uid == 0)
        return true;
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(D.access, "rules"), i, r)
    {
        bool who = id_in(json_object_get(r, "uids"), (long)c->uid) || id_in(json_object_get(r, "gids"), (long)c->gid);
        for (int g = 0; !who && g < c->n_groups; g++)
            who = id_in(json_object_get(r, "gids"), (long)c->groups[g]);
        if (!who || !in_list(json_object_get(r, "ops"), op))
            continue;
        if (!domain || in_list(json_object_get(r, "domains"), domain))
            return true;
    }
    return false;
}

/* ---- requests ------------------------------------------------------------------------------- */

json_t *fail_msg(const char *fmt, ...)
{
    char b[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof(b), fmt, ap);
    va_end(ap);
    return request_error_reply(b);
}


static json_t *op_spawn(struct client *c, json_t *rq, char *target, size_t tlen)
{
    const char *policy = json_string_value(json_object_get(rq, "policy"));
    const char *name = json_string_value(json_object_get(rq, "name"));
    const char *restart = json_string_value(json_object_get(rq, "restart"));
    json_t *argv = json_object_get(rq, "argv");
    bool in_image = json_is_true(json_object_get(rq, "in_image"));
    if (!policy)
        policy = "base";
    /* the fields' types and forms: request_parse (request.c) */
    if (name && sb_find(name))
        return fail_msg("spawn: a sandbox named \"%s\" exists already", name);
    enum restart_mode mode = RESTART_NEVER;
    if (restart && restart_mode_parse(restart, &mode) < 0)
        return fail_msg("spawn: \"restart\": expected never, on-failure or always, got \"%s\"", restart);
    /* The policy decides the domain (its name) and every protection: a caller who could name its
     * own policy file could grant itself anything. Only root names files. */
    if (c->uid != 0 && policy_arg_is_file(policy))
        return fail_msg("spawn: \"policy\": only root may name a policy file; use a policy name from %s",
                        gbox_policy_dir());
    if (!in_image) {
        /* The shim opens the file as root later: a path checked now could be swapped for a
         * symlink to anything by then. Until the file is handed over by descriptor, only root
         * runs host files through the daemon. */
        if (c->uid != 0)
            return fail_msg("spawn: \"argv[0]\": only root may run a host file through the daemon "
                            "(uid %d: run a command of the image with in_image)", (int)c->uid);
    }
    struct sb *s = sb_new();
    uint8_t rb[8];
    if (getrandom(rb, sizeof(rb), 0) != sizeof(rb))
        memset(rb, 0, sizeof(rb));
    for (int k = 0; k < 8; k++)
        snprintf(s->id + 2 * k, 3, "%02x", rb[k]);
    s->name = xstrdup(name ? name : s->id);
    s->policy = xstrdup(policy);
    s->owner = c->uid;
    s->request = json_pack("{s:O,s:b}", "argv", argv, "in_image", in_image);
    if (json_array_size(json_object_get(rq, "env")))
        json_object_set(s->request, "env", json_object_get(rq, "env"));
    if (json_array_size(json_object_get(rq, "modules")))
        json_object_set(s->request, "modules", json_object_get(rq, "modules"));
    s->rp.mode = mode;
    s->created_at = wall_ms();
    char err[1024];
    if (sb_load_policy(s, err, sizeof(err)) < 0) {
        sb_unlink_free(s);
        return fail_msg("%s", err);
    }
    snprintf(target, tlen, "%s", s->domain);
    if (!allowed(c, "spawn", s->domain)) {
        sb_unlink_free(s);
        return fail_msg("permission denied: uid %d may not spawn in domain %s", (int)c->uid, target);
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/sandboxes/%s", D.state_dir, s->id);
    /* a warm member of the pool takes the program first (its directory becomes the record's),
     * the bookkeeping follows; else the record's directory and a cold shim */
    pid_t pooled = pool_take(s->policy, s->request, s->id, dir);
    if (!pooled && mkdir(dir, 0700) < 0) {
        sb_unlink_free(s);
        return fail_msg("create %s: %s", dir, strerror(errno));
    }
    if (!pooled && rl_spawn(s, err, sizeof(err)) < 0) { /* with modules: generation 1 */
        rmdir(dir);
        sb_unlink_free(s);
        return fail_msg("spawn: %s", err);
    }
    D.spawns_total++;
    if (pooled > 0 && sb_shim_watch(s, pooled, err, sizeof(err)) == 0) {
        /* The program is on its way; the client's reply, with the rest of the bookkeeping,
         * waits until it runs: this daemon shares the CPUs with it (sb_record_start). */
        s->unrecorded = true;
        D.unrecorded++;
        s->reply_to = c;
        s->rq_uid = c->uid;
        s->rq_gid = c->gid;
        s->rq_pid = c->pid;
        c->waiting = s;
        return NULL;
    }
    emit(s, "spawned", json_pack("{s:s,s:O}", "policy", s->policy, "argv", argv));
    if (pooled > 0 || sb_start(s, err, sizeof(err)) < 0) {
        s->state = SB_FAILED;
        sb_save(s);
        return fail_msg("spawn: %s", err);
    }
    return json_pack("{s:b,s:s,s:s}", "ok", 1, "id", s->id, "name", s->name);
}

/* A spawn a warm member took: its record on disk, its events, its audit entry, then the reply
 * (the record is durable before the client hears of it, as for a cold spawn). Called once the
 * program runs (the member says "started", or state.json appears), and before the daemon handles
 * anything else (record_all): no request or tick ever sees a record that is not on disk. */
static void sb_record_start(struct sb *s)
{
    if (!s->unrecorded)
        return;
    s->unrecorded = false;
    D.unrecorded--;
    emit(s, "spawned", json_pack("{s:s,s:O}", "policy", s->policy, "argv", json_object_get(s->request, "argv")));
    sb_shim_record(s);
    struct client who = {.fd = -1, .uid = s->rq_uid, .gid = s->rq_gid, .pid = s->rq_pid};
    audit(&who, "spawn", s->domain, true, NULL);
    struct client *c = s->reply_to;
    s->reply_to = NULL;
    if (!c)
        return;
    c->waiting = NULL;
    json_t *resp = json_pack("{s:b,s:s,s:s}", "ok", 1, "id", s->id, "name", s->name);
    client_send(c, resp); /* what it sent meanwhile follows from the main loop */
    json_decref(resp);
}

static void record_all(void)
{
    while (D.unrecorded > 0) {
        struct sb *s = D.sbs;
        while (s && !s->unrecorded)
            s = s->next;
        if (!s) {
            D.unrecorded = 0;
            return;
        }
        sb_record_start(s);
    }
}

static void sb_stop(struct sb *s, int64_t grace_ms)
{
    s->stop_requested = true;
    if ((s->state == SB_RUNNING || s->state == SB_STARTING) && s->shim > 0) {
        kill(s->shim, SIGTERM); /* the shim forwards it and kills after the policy's grace */
        /* the shim kills at the policy's grace; a shorter asked grace is the daemon's to enforce */
        s->stop_deadline = mono_ms() + (grace_ms >= 0 ? grace_ms : s->grace_ms + 2000);
    } else if (s->state == SB_BACKOFF || s->state == SB_QUARANTINED) {
        s->state = SB_STOPPED;
        s->next_at = -1;
        emit(s, "stopped", NULL);
    }
    sb_save(s);
}

/* Kill a running sandbox at once: every task of its cgroup, then the shim reports the end. */
void sb_kill_now(struct sb *s)
{
    if (s->state != SB_RUNNING && s->state != SB_STARTING)
        return;
    long long st;
    if (!s->where.init_pid)
        where_load(s, &st);
    if (s->where.cgroup_v2 || s->where.n_cgroup_v1)
        sbx_cgroup_kill_at(&s->where);
    else if (s->shim > 0) /* never kill(0, …): that is the daemon's own process group */
        kill(s->shim, SIGKILL);
}

static json_t *stats_json(struct sb *s)
{
    refresh_running(s);
    if ((s->state != SB_RUNNING && s->state != SB_STARTING) || (!s->where.cgroup_v2 && !s->where.n_cgroup_v1))
        return json_null();
    struct sbx_cgroup_stats st;
    sbx_cgroup_stats_at(&s->where, &st);
    json_t *o = json_object();
#define PUT(k, v) if ((v) >= 0) json_object_set_new(o, k, json_integer(v))
    PUT("memory_bytes", st.memory_current);
    PUT("memory_peak_bytes", st.memory_peak);
    PUT("cpu_usage_us", st.cpu_usage_us);
    PUT("cpu_throttled_us", st.cpu_throttled_us);
    PUT("pids", st.pids_current);
    PUT("oom_kills", st.oom_kills);
    PUT("io_read_bytes", st.io_read_bytes);
    PUT("io_write_bytes", st.io_write_bytes);
#undef PUT
    return o;
}

static json_t *op_metrics(void)
{
    size_t cap = 1 << 16, len = 0;
    char *t = xcalloc(1, cap);
#define OUT(...)                                                                                   \
    do {                                                                                           \
        int n_ = snprintf(t + len, cap - len, __VA_ARGS__);                                        \
        while (n_ >= 0 && (size_t)n_ >= cap - len) {                                               \
            cap *= 2;                                                                              \
            t = realloc(t, cap);                                                                   \
            if (!t)                                                                                \
                abort();                                                                           \
            n_ = snprintf(t + len, cap - len, __VA_ARGS__);                                        \
        }                                                                                          \
        len += (size_t)n_;                                                                         \
    } while (0)
    int count[7] = {0};
    for (struct sb *s = D.sbs; s; s = s->next)
        count[s->state]++;
    OUT("# HELP gbox_sandboxes Sandboxes known to the daemon, by state.\n# TYPE gbox_sandboxes gauge\n");
    for (int i = 0; i < 7; i++)
        OUT("gbox_sandboxes{state=\"%s\"} %d\n", state_names[i], count[i]);
    OUT("gbox_sandboxes{state=\"warm\"} %d\n", pool_count(NULL));
    OUT("# HELP gbox_spawns_total Sandboxes spawned.\n# TYPE gbox_spawns_total counter\ngbox_spawns_total %lu\n", D.spawns_total);
    OUT("# HELP gbox_restarts_total Restarts done.\n# TYPE gbox_restarts_total counter\ngbox_restarts_total %lu\n", D.restarts_total);
    OUT("# HELP gbox_exits_total Sandbox runs that ended.\n# TYPE gbox_exits_total counter\ngbox_exits_total %lu\n", D.exits_total);
    OUT("# HELP gbox_events_total Events published.\n# TYPE gbox_events_total counter\ngbox_events_total %lu\n", D.events_total);
    OUT("# HELP gbox_sandbox_memory_bytes Memory charged to a running sandbox's cgroup.\n# TYPE gbox_sandbox_memory_bytes gauge\n");
    for (struct sb *s = D.sbs; s; s = s->next) {
        json_t *st = stats_json(s);
        if (json_is_object(st)) {
            json_t *m = json_object_get(st, "memory_bytes");
            if (m)
                OUT("gbox_sandbox_memory_bytes{id=\"%s\",name=\"%s\",domain=\"%s\"} %lld\n", s->id, s->name,
                    s->domain, (long long)json_integer_value(m));
        }
        json_decref(st);
    }
    OUT("# HELP gbox_sandbox_restarts Restarts of a sandbox.\n# TYPE gbox_sandbox_restarts counter\n");
    for (struct sb *s = D.sbs; s; s = s->next)
        OUT("gbox_sandbox_restarts{id=\"%s\",name=\"%s\",domain=\"%s\"} %d\n", s->id, s->name, s->domain, s->restarts);
#undef OUT
    json_t *r = json_pack("{s:b,s:s}", "ok", 1, "text", t);
    free(t);
    return r;
}

static json_t *op_logs_once(struct sb *s, const char *stream, json_int_t tail)
{
    char p[PATH_MAX], f[32];
    snprintf(f, sizeof(f), "%s.log", stream);
    sb_path(s, f, p, sizeof(p));
    size_t len = 0;
    char *data = read_file(p, &len);
    const char *start = data ? data : "";
    if (data && tail > 0) { /* the last `tail` lines */
        json_int_t lines = 0;
        for (size_t i = len; i > 0; i--)
            if (data[i - 1] == '\n' && i != len && ++lines >= tail) {
                start = data + i;
                break;
            }
    }
    json_t *r = json_pack("{s:b,s:s%}", "ok", 1, "data", start, data ? strlen(start) : (size_t)0);
    free(data);
    return r;
}

/* The journal's events that match the client's filter, sent after an ok, then "end". */
static json_t *past_events(struct client *c)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/events.jsonl", D.state_dir);
    size_t len = 0;
    char *data = read_file(p, &len);
    json_t *ok = json_pack("{s:b}", "ok", 1);
    client_send(c, ok);
    json_decref(ok);
    char *save = NULL;
    for (char *line = data ? strtok_r(data, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
        json_t *ev = json_loads(line, 0, NULL);
        if (ev && event_matches(c, ev)) {
            json_t *w = json_pack("{s:O}", "event", ev);
            client_send(c, w);
            json_decref(w);
        }
        json_decref(ev);
    }
    free(data);
    return json_pack("{s:b}", "end", 1);
}

static json_t *op_config(struct client *c, json_t *rq, const char *op, char *target, size_t tlen);

/* Handle one request; returns the response (NULL: none yet, streaming). */
static json_t *handle(struct client *c, json_t *rq)
{
    const char *op = json_string_value(json_object_get(rq, "op"));
    const char *key = json_string_value(json_object_get(rq, "id"));
    char target[256] = "";
    json_t *resp = NULL;
    if (!op) {
        resp = fail_msg("request: \"op\": expected a string");
        goto out;
    }
    snprintf(target, sizeof(target), "%s", key ? key : "");
    if (strcmp(op, "spawn") == 0) {
        resp = op_spawn(c, rq, target, sizeof(target));
        if (!resp)
            return NULL; /* a warm member took it: answered and audited by sb_record_start */
        goto out;
    }
    if (strcmp(op, "ps") == 0 || strcmp(op, "metrics") == 0 || strcmp(op, "events") == 0) {
        if (!allowed(c, op, NULL)) {
            resp = fail_msg("permission denied: uid %d may not %s", (int)c->uid, op);
            goto out;
        }
        if (op[0] == 'p') {
            json_t *arr = json_array();
            for (struct sb *s = D.sbs; s; s = s->next)
                json_array_append_new(arr, sb_json(s, false));
            pool_ps(arr);
            resp = json_pack("{s:b,s:o}", "ok", 1, "sandboxes", arr);
        } else if (op[0] == 'm') {
            resp = op_metrics();
        } else {
            const char *fid = json_string_value(json_object_get(rq, "filter_id"));
            const char *ftype = json_string_value(json_object_get(rq, "filter_type"));
            struct sb *fs = fid ? sb_find(fid) : NULL;
            snprintf(c->ev_id, sizeof(c->ev_id), "%s", fs ? fs->id : (fid ? fid : ""));
            snprintf(c->ev_type, sizeof(c->ev_type), "%s", ftype ? ftype : "");
            if (json_is_true(json_object_get(rq, "follow"))) {
                c->follow_events = true;
                resp = json_pack("{s:b,s:b}", "ok", 1, "follow", 1);
            } else {
                resp = past_events(c);
            }
        }
        goto out;
    }
    if (strcmp(op, "emergency-stop") == 0) {
        const char *domain = json_string_value(json_object_get(rq, "domain"));
        snprintf(target, sizeof(target), "%s", domain ? domain : "");
        if (!domain) {
            resp = fail_msg("emergency-stop: \"domain\": expected a string");
        } else if (!allowed(c, "emergency-stop", domain)) {
            resp = fail_msg("permission denied: uid %d may not emergency-stop domain %s", (int)c->uid, domain);
        } else {
            int n = 0, refused = 0;
            for (struct sb *s = D.sbs; s; s = s->next) {
                if (strcmp(s->domain, domain) != 0)
                    continue;
                if (!s->emergency_stop_allowed) {
                    refused++;
                    continue;
                }
                s->stop_requested = true;
                if (s->state == SB_BACKOFF || s->state == SB_QUARANTINED) {
                    s->state = SB_STOPPED;
                    s->next_at = -1;
                }
                sb_kill_now(s);
                sb_save(s);
                n++;
            }
            emit(NULL, "emergency_stop", json_pack("{s:s,s:i,s:i}", "domain", domain, "sandboxes", n, "refused", refused));
            resp = json_pack("{s:b,s:i,s:i}", "ok", 1, "killed", n, "refused", refused);
        }
        goto out;
    }
    if (strncmp(op, "config-", 7) == 0 || strcmp(op, "approve") == 0 || strcmp(op, "reject") == 0) {
        resp = op_config(c, rq, op, target, sizeof(target));
        goto out;
    }
    static const char *const id_ops[] = {"inspect", "stats", "stop", "kill", "rm", "logs", "reload", "rollback", "generations"};
    bool known = false;
    for (size_t i = 0; i < ARRAY_LEN(id_ops); i++)
        known |= strcmp(op, id_ops[i]) == 0;
    if (!known) {
        resp = fail_msg("request: \"op\": unknown operation \"%s\"", op);
        goto out;
    }
    struct sb *s = sb_find(key);
    if (!s) {
        resp = fail_msg("%s: no such sandbox (give an id, a unique id prefix or a name)", key ? key : "(no id)");
        goto out;
    }
    snprintf(target, sizeof(target), "%s", s->id);
    const char *needed = strcmp(op, "rm") == 0 ? "stop" : strcmp(op, "generations") == 0 ? "inspect" : op;
    if (!allowed(c, needed, s->domain)) {
        resp = fail_msg("permission denied: uid %d may not %s in domain %s", (int)c->uid, op, s->domain);
        goto out;
    }
    if (strcmp(op, "inspect") == 0) {
        json_t *o = sb_json(s, true);
        json_object_set_new(o, "stats", stats_json(s));
        resp = json_pack("{s:b,s:o}", "ok", 1, "sandbox", o);
    } else if (strcmp(op, "stats") == 0) {
        resp = json_pack("{s:b,s:o}", "ok", 1, "stats", stats_json(s));
    } else if (strcmp(op, "stop") == 0) {
        json_t *g = json_object_get(rq, "grace_ms");
        sb_stop(s, json_is_integer(g) ? json_integer_value(g) : -1);
        resp = json_pack("{s:b,s:s}", "ok", 1, "state", state_names[s->state]);
    } else if (strcmp(op, "kill") == 0) {
        const char *sig = json_string_value(json_object_get(rq, "signal"));
        int signo = sig ? signal_from_name(sig) : SIGKILL;
        if (signo <= 0) {
            resp = fail_msg("kill: \"signal\": expected a signal name like TERM or SIGKILL, got \"%s\"", sig);
        } else if (s->state != SB_RUNNING && s->state != SB_STARTING) {
            resp = fail_msg("kill: %s is %s, not running", s->id, state_names[s->state]);
        } else {
            if (signo == SIGKILL) {
                s->stop_requested = true;
                sb_kill_now(s);
                sb_save(s);
                resp = json_pack("{s:b}", "ok", 1);
            } else {
                refresh_running(s);
                /* the sandbox's init forwards it to the program */
                if (s->where.init_pid > 0 && kill(s->where.init_pid, signo) == 0)
                    resp = json_pack("{s:b}", "ok", 1);
                else
                    resp = fail_msg("kill: signal %s to %s: %s", sig, s->id,
                                    s->where.init_pid > 0 ? strerror(errno) : "the sandbox is still starting");
            }
        }
    } else if (strcmp(op, "reload") == 0 || strcmp(op, "rollback") == 0 || strcmp(op, "generations") == 0) {
        resp = op[1] == 'e' ? (op[2] == 'l' ? op_reload(c, s, rq) : op_generations(s))
                            : op_rollback(c, s, rq);
    } else if (strcmp(op, "rm") == 0) {
        if (s->state == SB_RUNNING || s->state == SB_STARTING) {
            resp = fail_msg("rm: %s is running: stop it first", s->id);
        } else {
            char dir[PATH_MAX];
            const char *files[] = {"meta.json", "report.json", "state.json", "stdout.log", "stderr.log",
                                   "stdout.log.1", "stderr.log.1", "health.log"};
            for (size_t i = 0; i < ARRAY_LEN(files); i++) {
                sb_path(s, files[i], dir, sizeof(dir));
                unlink(dir);
            }
            sb_path(s, "", dir, sizeof(dir));
            gen_remove_all(dir);
            rmdir(dir);
            emit(s, "removed", NULL);
            sb_unlink_free(s);
            resp = json_pack("{s:b}", "ok", 1);
        }
    } else if (strcmp(op, "logs") == 0) {
        const char *stream = json_string_value(json_object_get(rq, "stream"));
        if (!stream)
            stream = "stdout";
        if (strcmp(stream, "stdout") != 0 && strcmp(stream, "stderr") != 0) {
            resp = fail_msg("logs: \"stream\": expected stdout or stderr, got \"%s\"", stream);
        } else if (json_is_true(json_object_get(rq, "follow"))) {
            resp = op_logs_once(s, stream, json_integer_value(json_object_get(rq, "tail")));
            char p[PATH_MAX], f[32];
            snprintf(f, sizeof(f), "%s.log", stream);
            sb_path(s, f, p, sizeof(p));
            struct stat st;
            c->follow_logs = s;
            snprintf(c->follow_stream, sizeof(c->follow_stream), "%s", stream);
            c->follow_off = stat(p, &st) == 0 ? st.st_size : 0;
            json_object_set_new(resp, "follow", json_true());
        } else {
            resp = op_logs_once(s, stream, json_integer_value(json_object_get(rq, "tail")));
        }
    } else {
        resp = fail_msg("request: \"op\": unknown operation \"%s\"", op);
    }
out:
    audit(c, op, target, json_is_true(json_object_get(resp, "ok")),
          json_string_value(json_object_get(resp, "error")));
    return resp;
}

/* ---- live configuration (config.c, approval.c; docs/architecture.md) -------------------------- */

/* Started with the domain's policy by name (a policy file of root's is not the domain's, whatever
 * name it gives itself). */
static bool of_domain(const struct sb *s, const char *domain)
{
    return !policy_arg_is_file(s->policy) && strcmp(s->policy, domain) == 0;
}

/* A limit below what a running sandbox of the domain uses now is refused, with the numbers. */
static int cfg_check(const struct config_cand *cd, char *err, size_t errlen)
{
    for (struct sb *s = D.sbs; s; s = s->next) {
        refresh_running(s);
        if (s->state != SB_RUNNING || !of_domain(s, cd->domain) || (!s->where.cgroup_v2 && !s->where.n_cgroup_v1))
            continue;
        struct sbx_cgroup_stats st;
        sbx_cgroup_stats_at(&s->where, &st);
        int64_t mem = cd->lim_new.memory_max, pids = cd->lim_new.pids_max;
        if ((cd->cg_what & SBX_CGU_MEMORY) && mem >= 0 && st.memory_current > mem)
            return snprintf(err, errlen, "config %s: resources.memory.max %lld bytes is below the %lld bytes sandbox "
                            "%s (%s) uses now: refused, nothing changed", cd->domain, (long long)mem,
                            (long long)st.memory_current, s->id, s->name), -1;
        if ((cd->cg_what & SBX_CGU_PIDS) && pids >= 0 && st.pids_current > pids)
            return snprintf(err, errlen, "config %s: resources.pids.max %lld is below the %lld processes sandbox %s "
                            "(%s) runs now: refused, nothing changed", cd->domain, (long long)pids,
                            (long long)st.pids_current, s->id, s->name), -1;
    }
    return 0;
}

/* Committed: into the cgroups of the running sandboxes, into the daemon's own settings of all. */
static json_t *cfg_apply(const struct config_cand *cd)
{
    json_t *out = json_array();
    for (struct sb *s = D.sbs; s; s = s->next) {
        if (!of_domain(s, cd->domain))
            continue;
        char err[1024];
        if (sb_load_policy(s, err, sizeof(err)) < 0)
            emit(s, "error", json_pack("{s:s}", "message", err));
        if (s->state != SB_RUNNING)
            continue;
        if (s->hc_pidfd < 0)
            s->hc_next = mono_ms() + s->hc_interval_ms; /* the new interval from now */
        json_t *r = json_pack("{s:s,s:s}", "id", s->id, "name", s->name);
        unsigned can = s->where.cgroup_v2 || s->where.n_cgroup_v1 ? sbx_cgroup_updatable_at(&s->where) : 0;
        unsigned what = cd->cg_what & can;
        struct sbx_err *e = NULL;
        if (what && sbx_cgroup_update_at(&s->where, &cd->lim_old, &cd->lim_new, what, &e) < 0) {
            json_object_set_new(r, "error", json_string(e->msg));
            emit(s, "error", json_pack("{s:s}", "message", e->msg));
            sbx_err_free(&e);
        }
        if (cd->cg_what & ~can) /* no cgroup for that controller: the next start has it */
            json_object_set_new(r, "new_run_only", json_string("limits its cgroups did not have"));
        json_object_set_new(r, "limits_applied", json_boolean(what && !json_object_get(r, "error")));
        json_array_append_new(out, r);
    }
    return out;
}

/* Check, commit, apply; or queue when the domain asks for approval (unless approved already). */
static json_t *cfg_change(uid_t uid, struct config_cand *cd, const char *source, bool approved)
{
    char err[1024];
    if (json_array_size(cd->changes) == 0 && cd->base_rev > 0)
        return json_pack("{s:b,s:s,s:i,s:[]}", "ok", 1, "domain", cd->domain, "rev", cd->base_rev, "changes");
    if (cd->approval && !approved) {
        char id[32];
        json_t *pl = json_pack("{s:O,s:i,s:s,s:O}", "doc", cd->doc, "base_rev", cd->base_rev, "source", source,
                               "changes", cd->changes);
        int rc = approval_submit(D.aq, "config", cd->domain, "", pl, uid, id, sizeof(id), err, sizeof(err));
        json_decref(pl);
        if (rc < 0)
            return fail_msg("%s", err);
        emit(NULL, "config_pending", json_pack("{s:s,s:s,s:i,s:s}", "domain", cd->domain, "approval", id, "uid",
                                               (int)uid, "source", source));
        return json_pack("{s:b,s:s,s:s,s:O}", "ok", 1, "domain", cd->domain, "pending", id, "changes", cd->changes);
    }
    for (size_t i = 0; i <= cd->n_deps; i++) /* and the domains extending it */
        if (cfg_check(i ? cd->deps[i - 1] : cd, err, sizeof(err)) < 0)
            return fail_msg("%s", err);
    int rev = config_commit(D.cfg, cd, uid, source, err, sizeof(err));
    if (rev < 0)
        return fail_msg("%s", err);
    json_t *sbs = cfg_apply(cd), *deps = json_array();
    for (size_t i = 0; i < cd->n_deps; i++)
        json_array_append_new(deps, json_pack("{s:s,s:O,s:o}", "domain", cd->deps[i]->domain, "changes",
                                              cd->deps[i]->changes, "sandboxes", cfg_apply(cd->deps[i])));
    emit(NULL, "config_changed", json_pack("{s:s,s:i,s:s,s:i,s:O,s:O,s:O}", "domain", cd->domain, "rev", rev, "source",
                                           source, "uid", (int)uid, "changes", cd->changes, "sandboxes", sbs,
                                           "dependents", deps));
    return json_pack("{s:b,s:s,s:i,s:O,s:o,s:o}", "ok", 1, "domain", cd->domain, "rev", rev, "changes", cd->changes,
                     "sandboxes", sbs, "dependents", deps);
}

/* approve ID: what each kind of queued change does once approved */
typedef json_t *(*approve_fn)(struct client *c, json_t *entry);

static json_t *approve_config(struct client *c, json_t *entry)
{
    const char *domain = json_string_value(json_object_get(entry, "domain"));
    json_t *pl = json_object_get(entry, "payload");
    char err[1024], source[160];
    struct config_cand *cd = NULL;
    if (config_cand_doc(D.cfg, domain, json_object_get(pl, "doc"), &cd, err, sizeof(err)) < 0)
        return fail_msg("approve %s: %s (the change is dropped)", json_string_value(json_object_get(entry, "id")), err);
    int base = (int)json_integer_value(json_object_get(pl, "base_rev"));
    if (cd->base_rev != base) {
        json_t *r = fail_msg("approve %s: domain %s changed since the request (revision %d, now %d): the change is "
                             "dropped, make it again", json_string_value(json_object_get(entry, "id")), domain, base,
                             cd->base_rev);
        config_cand_free(cd);
        return r;
    }
    snprintf(source, sizeof(source), "%s, approved %s by uid %d (requested by uid %lld)",
             or_str(json_string_value(json_object_get(pl, "source")), "set"), json_string_value(json_object_get(entry, "id")),
             (int)c->uid, (long long)json_integer_value(json_object_get(entry, "requester")));
    json_t *r = cfg_change((uid_t)json_integer_value(json_object_get(entry, "requester")), cd, source, true);
    config_cand_free(cd);
    return r;
}

static const struct {
    const char *kind;
    approve_fn apply;
} approve_kinds[] = {
    {"config", approve_config},
    {"reload", approve_reload},
};

static json_t *op_approve(struct client *c, json_t *rq, bool approve, char *target, size_t tlen)
{
    const char *id = json_string_value(json_object_get(rq, "id"));
    json_t *all = approval_list(D.aq), *entry = NULL, *e;
    size_t i;
    json_array_foreach(all, i, e) if (id && strcmp(json_string_value(json_object_get(e, "id")), id) == 0) entry = e;
    const char *domain = json_string_value(json_object_get(entry, "domain"));
    snprintf(target, tlen, "%s%s%s", id ? id : "", domain ? " " : "", domain ? domain : "");
    json_t *resp;
    char err[1024];
    if (!entry) {
        resp = fail_msg("%s: no such pending change (gbox config pending lists them)", id ? id : "(no id)");
    } else if (!allowed(c, "approve", domain)) {
        resp = fail_msg("permission denied: uid %d may not approve or reject in domain %s", (int)c->uid, domain);
    } else if (!approve) {
        resp = approval_reject(D.aq, id, c->uid, err, sizeof(err)) < 0 ? fail_msg("%s", err) : json_pack("{s:b}", "ok", 1);
        if (json_is_true(json_object_get(resp, "ok")))
            emit(NULL, "config_rejected", json_pack("{s:s,s:s,s:i}", "domain", domain, "approval", id, "uid", (int)c->uid));
    } else {
        const struct gbox_policy *p = config_policy(D.cfg, domain);
        bool distinct = p && json_is_true(pol_get(p, "safety.distinct_approver"));
        json_t *taken = NULL;
        if (approval_take(D.aq, id, c->uid, distinct, &taken, err, sizeof(err)) < 0) {
            resp = fail_msg("%s", err);
        } else {
            const char *kind = json_string_value(json_object_get(taken, "kind"));
            resp = NULL;
            for (size_t k = 0; k < ARRAY_LEN(approve_kinds) && !resp; k++)
                if (strcmp(kind, approve_kinds[k].kind) == 0)
                    resp = approve_kinds[k].apply(c, taken);
            if (!resp)
                resp = fail_msg("approve %s: unknown kind of change \"%s\" (dropped)", id, kind);
            json_decref(taken);
        }
    }
    json_decref(all);
    return resp;
}

/* The policy directory changed (inotify), or SIGHUP: each changed file is validated in full and
 * goes the way of a config set; an invalid one changes nothing and says why in an event. */
static void cfg_reload(const char *why)
{
    struct config_cand **cands;
    size_t n;
    json_t *invalid = json_array();
    config_scan(D.cfg, &cands, &n, invalid);
    size_t i;
    json_t *e;
    json_array_foreach(invalid, i, e) emit(NULL, "config_invalid", json_pack("{s:O,s:O,s:O,s:s}", "domain",
        json_object_get(e, "domain"), "file", json_object_get(e, "file"), "error", json_object_get(e, "error"), "trigger", why));
    for (i = 0; i < n; i++) {
        bool dup = false; /* the same edit queued already (seen again after a restart) */
        json_t *pend = approval_list(D.aq), *pe;
        size_t k;
        json_array_foreach(pend, k, pe) dup |= strcmp(json_string_value(json_object_get(pe, "domain")), cands[i]->domain) == 0 &&
                                                json_equal(json_object_get(json_object_get(pe, "payload"), "doc"), cands[i]->doc);
        json_decref(pend);
        char file[PATH_MAX];
        snprintf(file, sizeof(file), "%s/%s.json", config_policy_dir(D.cfg), cands[i]->domain);
        struct stat st;
        uid_t owner = stat(file, &st) == 0 ? st.st_uid : 0;
        json_t *r = dup ? NULL : cfg_change(owner, cands[i], cands[i]->base_rev ? "file" : "load", false);
        if (r && !json_is_true(json_object_get(r, "ok")))
            emit(NULL, "config_invalid", json_pack("{s:s,s:s,s:O,s:s}", "domain", cands[i]->domain, "file", file,
                                                   "error", json_object_get(r, "error"), "trigger", why));
        json_decref(r);
        config_cand_free(cands[i]);
    }
    free(cands);
    json_decref(invalid);
}

static json_t *op_config(struct client *c, json_t *rq, const char *op, char *target, size_t tlen)
{
    if (strcmp(op, "approve") == 0 || strcmp(op, "reject") == 0)
        return op_approve(c, rq, op[0] == 'a', target, tlen);
    const char *domain = json_string_value(json_object_get(rq, "domain"));
    snprintf(target, tlen, "%s", domain ? domain : "");
    char err[1024];
    if (strcmp(op, "config-pending") == 0) {
        json_t *all = approval_list(D.aq), *mine = json_array(), *e;
        size_t i;
        json_array_foreach(all, i, e)
        {
            const char *d = json_string_value(json_object_get(e, "domain"));
            if (allowed(c, "config-get", d) || allowed(c, "approve", d))
                json_array_append(mine, e);
        }
        json_decref(all);
        return json_pack("{s:b,s:o}", "ok", 1, "pending", mine);
    }
    if (strcmp(op, "config-reload") == 0) {
        if (!allowed(c, "config-set", NULL))
            return fail_msg("permission denied: uid %d may not config-reload", (int)c->uid);
        cfg_reload("request");
        return json_pack("{s:b}", "ok", 1);
    }
    bool write = strcmp(op, "config-set") == 0 || strcmp(op, "config-revert") == 0;
    if (!domain)
        return fail_msg("%s: \"domain\": expected a string", op);
    if (!allowed(c, write ? "config-set" : "config-get", domain))
        return fail_msg("permission denied: uid %d may not %s in domain %s", (int)c->uid, op, domain);
    json_t *r = NULL;
    struct config_cand *cd = NULL;
    if (strcmp(op, "config-get") == 0) {
        r = config_get(D.cfg, domain, json_string_value(json_object_get(rq, "path")), err, sizeof(err));
        return r ? (json_object_set_new(r, "ok", json_true()), r) : fail_msg("%s", err);
    }
    if (strcmp(op, "config-history") == 0) {
        r = config_history(D.cfg, domain, err, sizeof(err));
        return r ? (json_object_set_new(r, "ok", json_true()), r) : fail_msg("%s", err);
    }
    int rc;
    char source[64] = "set";
    if (strcmp(op, "config-revert") == 0) {
        json_t *rev = json_object_get(rq, "rev");
        if (!json_is_integer(rev))
            return fail_msg("config-revert: \"rev\": expected a revision number (gbox config history %s)", domain);
        snprintf(source, sizeof(source), "revert to %lld", (long long)json_integer_value(rev));
        rc = config_cand_rev(D.cfg, domain, (int)json_integer_value(rev), &cd, err, sizeof(err));
    } else if (strcmp(op, "config-set") == 0 && json_object_get(rq, "patch")) {
        snprintf(source, sizeof(source), "patch");
        rc = config_cand_patch(D.cfg, domain, json_object_get(rq, "patch"), &cd, err, sizeof(err));
    } else if (strcmp(op, "config-set") == 0) {
        rc = config_cand_set(D.cfg, domain, json_object_get(rq, "set"), &cd, err, sizeof(err));
    } else {
        return fail_msg("request: \"op\": unknown operation \"%s\"", op);
    }
    if (rc < 0)
        return fail_msg("%s", err);
    r = cfg_change(c->uid, cd, source, false);
    config_cand_free(cd);
    return r;
}

/* ---- clients -------------------------------------------------------------------------------- */

char *proto_encode(const json_t *msg, size_t *len)
{
    char *s = json_dumps(msg, JSON_COMPACT);
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *out = realloc(s, n + 2);
    if (!out) {
        free(s);
        return NULL;
    }
    out[n] = '\n';
    out[n + 1] = '\0';
    *len = n + 1;
    return out;
}

static void client_flush(struct client *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                break;
            c->closing = true;
            return;
        }
        c->out_off += (size_t)n;
    }
    if (c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    struct epoll_event ev = {.events = (c->eof ? 0 : EPOLLIN) | (c->out_len ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(D.ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void client_send(struct client *c, const json_t *msg)
{
    size_t len;
    char *s = proto_encode(msg, &len);
    if (!s)
        return;
    if (c->out_len - c->out_off + len > MAX_OUTBUF) { /* a follower that does not read: drop it */
        c->closing = true;
        free(s);
        return;
    }
    char *grown = realloc(c->out, c->out_len + len);
    if (!grown)
        abort();
    c->out = grown;
    memcpy(c->out + c->out_len, s, len);
    c->out_len += len;
    free(s);
    client_flush(c);
}

static void client_close(struct client *c)
{
    if (c->waiting)
        c->waiting->reply_to = NULL;
    for (struct client **pp = &D.clients; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    epoll_ctl(D.ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->in);
    free(c->out);
    free(c);
}

static int tag_listen, tag_signal, tag_timer, tag_inotify, tag_records; /* addresses used as epoll tags */

static void on_accept(void)
{
    int fd = accept4(D.lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return;
    struct client *c = xcalloc(1, sizeof(*c));
    c->fd = fd;
    struct ucred cr;
    socklen_t l = sizeof(cr);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) < 0) {
        close(fd);
        free(c);
        return;
    }
    c->uid = cr.uid, c->gid = cr.gid, c->pid = cr.pid;
    socklen_t gl = sizeof(c->groups);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, c->groups, &gl) == 0)
        c->n_groups = (int)(gl / sizeof(gid_t));
    c->next = D.clients;
    D.clients = c;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(D.ep, EPOLL_CTL_ADD, fd, &ev);
}

static void client_lines(struct client *c);

static void on_client(struct client *c)
{
    char buf[65536];
    ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n == 0) { /* the client is done asking: answer what it asked, then close */
        c->eof = true;
        client_flush(c); /* no more EPOLLIN */
        client_lines(c);
        return;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
        c->closing = true;
        return;
    }
    if (n < 0)
        return;
    if (c->in_len + (size_t)n > MAX_LINE) {
        json_t *r = fail_msg("request: longer than %d bytes", MAX_LINE);
        client_send(c, r);
        json_decref(r);
        c->closing = true;
        return;
    }
    char *grown = realloc(c->in, c->in_len + (size_t)n + 1);
    if (!grown)
        abort();
    c->in = grown;
    memcpy(c->in + c->in_len, buf, (size_t)n);
    c->in_len += (size_t)n;
    client_lines(c);
}

/* Handle the complete request lines received, in order; a spawn waiting for its reply holds the
 * rest back (the main loop goes on once it is answered). */
static void client_lines(struct client *c)
{
    char *nl;
    while (!c->closing && !c->waiting && c->in_len && (nl = memchr(c->in, '\n', c->in_len))) {
        *nl = '\0';
        char why[REQUEST_MAX_ERROR];
        json_t *rq = request_parse(c->in, (size_t)(nl - c->in), why, sizeof(why));
        json_t *resp;
        if (!rq) {
            resp = fail_msg("%s", why);
            struct client tmp = *c;
            audit(&tmp, "(invalid)", "", false, json_string_value(json_object_get(resp, "error")));
        } else {
            resp = handle(c, rq);
        }
        json_decref(rq);
        if (resp) {
            client_send(c, resp);
            json_decref(resp);
        }
        size_t used = (size_t)(nl - c->in) + 1;
        memmove(c->in, nl + 1, c->in_len - used);
        c->in_len -= used;
    }
    if (c->eof && !c->waiting)
        c->closing = true;
}

/* ---- timers ---------------------------------------------------------------------------------- */

static void rotate_logs(struct sb *s)
{
    static const char *const names[] = {"stdout.log", "stderr.log"};
    for (int i = 0; i < 2; i++) {
        char p[PATH_MAX], old[PATH_MAX];
        sb_path(s, names[i], p, sizeof(p));
        struct stat st;
        if (stat(p, &st) < 0 || st.st_size <= D.log_max)
            continue;
        /* copy and truncate: the shim keeps its O_APPEND fd, which writes at the new end */
        snprintf(old, sizeof(old), "%s.1", p);
        size_t len;
        char *data = read_file(p, &len);
        int fd = open(old, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (data && fd >= 0)
            write_all(fd, data, len);
        if (fd >= 0)
            close(fd);
        free(data);
        truncate(p, 0);
        for (struct client *c = D.clients; c; c = c->next)
            if (c->follow_logs == s && strncmp(names[i], c->follow_stream, strlen(c->follow_stream)) == 0)
                c->follow_off = 0;
        emit(s, "log_rotated", json_pack("{s:s,s:I}", "stream", i ? "stderr" : "stdout", "bytes", (json_int_t)st.st_size));
    }
}

static void follow_logs(struct client *c)
{
    char p[PATH_MAX], f[32];
    snprintf(f, sizeof(f), "%s.log", c->follow_stream);
    sb_path(c->follow_logs, f, p, sizeof(p));
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    char buf[65536];
    ssize_t n;
    while ((n = pread(fd, buf, sizeof(buf) - 1, c->follow_off)) > 0) {
        buf[n] = '\0';
        c->follow_off += n;
        json_t *m = json_pack("{s:{s:s,s:s%}}", "log", "stream", c->follow_stream, "data", buf, (size_t)n);
        client_send(c, m);
        json_decref(m);
    }
    close(fd);
    struct sb *s = c->follow_logs;
    if (s->state != SB_RUNNING && s->state != SB_STARTING && s->state != SB_BACKOFF) {
        json_t *m = json_pack("{s:b}", "end", 1);
        client_send(c, m);
        json_decref(m);
        c->follow_logs = NULL;
    }
}

static void on_tick(void)
{
    uint64_t exp;
    if (read(D.tfd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
        return;
    int64_t now = mono_ms();
    static int64_t last_rotate;
    bool rotate = now - last_rotate >= 1000;
    if (rotate)
        last_rotate = now;
    for (struct sb *s = D.sbs; s; s = s->next) {
        if (shim_polled_ended(s))
            on_pidfd(s);
        refresh_running(s);
        if (s->state == SB_RUNNING) {
            enum circuit before = s->rs.circuit;
            if (restart_tick(&s->rp, &s->rs, now)) {
                emit(s, "circuit", json_pack("{s:s,s:s}", "from", circuit_name(before), "to", circuit_name(s->rs.circuit)));
                sb_save(s);
            }
        }
        if (s->state == SB_RUNNING && (s->anomaly || s->mem_high >= 0) && !s->stop_requested && now >= s->an_next) {
            s->an_next = now + AN_INTERVAL_MS;
            anomaly_sample(s);
        }
        if (s->state == SB_RUNNING && json_array_size(s->hc_cmd) && !s->stop_requested) {
            if (s->hc_pidfd < 0 && now >= s->hc_next)
                hc_start(s);
            else if (s->hc_pidfd >= 0 && now >= s->hc_deadline && !s->hc_timed_out) {
                s->hc_timed_out = true;
                syscall(SYS_pidfd_send_signal, s->hc_pidfd, SIGKILL, NULL, 0);
            }
        }
        if ((s->state == SB_RUNNING || s->state == SB_STARTING) && s->stop_deadline > 0 && now >= s->stop_deadline) {
            /* first the sandbox (the shim then reports its end), the shim itself only if it
             * does not end within 2 s more */
            if (!s->stop_escalated) {
                sb_kill_now(s);
                s->stop_escalated = true;
                s->stop_deadline = now + 2000;
            } else {
                if (s->shim > 0)
                    kill(s->shim, SIGKILL);
                s->stop_deadline = -1;
            }
        }
        if ((s->state == SB_BACKOFF || s->state == SB_QUARANTINED) && s->next_at >= 0 && now >= s->next_at) {
            char err[1024];
            if (s->state == SB_QUARANTINED) {
                restart_half_open(&s->rs);
                emit(s, "circuit", json_pack("{s:s,s:s}", "from", "open", "to", "half-open"));
            }
            s->next_at = -1;
            s->restarts++;
            D.restarts_total++;
            emit(s, "restart", json_pack("{s:i}", "restarts", s->restarts));
            if (sb_start(s, err, sizeof(err)) < 0) {
                s->state = SB_FAILED;
                sb_save(s);
                emit(s, "error", json_pack("{s:s}", "message", err));
            }
        }
        if (s->rl)
            rl_tick(s, now);
        if (rotate)
            rotate_logs(s);
    }
    for (struct client *c = D.clients; c; c = c->next)
        if (c->follow_logs)
            follow_logs(c);
    pool_tick();
    if (sweep_until > 0 && mono_ms() < sweep_until)
        sbx_cgroup_sweep();
}

/* A warm sandbox's program runs (pool.c): running now, not at the next tick. */
static void pool_started(const char *id)
{
    struct sb *s = sb_find(id);
    if (s) {
        sb_record_start(s);
        refresh_running(s);
    }
}

/* The shim wrote state.json (its program was exec'd): running now, not at the next tick. */
static void on_records(void)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n;
    while ((n = read(D.rfd, buf, sizeof(buf))) > 0) {
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            p += sizeof(*ev) + ev->len;
            if (ev->len == 0 || strcmp(ev->name, "state.json") != 0)
                continue;
            for (struct sb *s = D.sbs; s; s = s->next)
                if (s->state_wd == ev->wd && s->state == SB_STARTING) {
                    refresh_running(s);
                    if (s->rl)
                        rl_tick(s, mono_ms()); /* a reload's verification window starts now */
                }
        }
    }
}

/* ---- start-up: load records, adopt running shims ------------------------------------------ */

/* A sandbox directory without a record (meta.json): the daemon was killed between handing a
 * program to a warm member and recording it (the record waits until the program runs: pool.c,
 * sb_record_start), or between a cold shim's fork and its record. Nothing supervises that
 * program; it is ended (shim, then everything in its cgroups) and its directory removed. */
static void end_unrecorded(const char *dir, const char *id)
{
    struct sb *s = sb_new();
    snprintf(s->id, sizeof(s->id), "%s", id);
    long long start = 0;
    if (where_load(s, &start) == 0) {
        char p[PATH_MAX];
        sb_path(s, "state.json", p, sizeof(p));
        json_t *st = json_load_file(p, 0, NULL);
        pid_t shim = (pid_t)json_integer_value(json_object_get(st, "shim_pid"));
        json_decref(st);
        if (shim > 0 && proc_start_time(shim) == start)
            kill(shim, SIGKILL);
        sbx_cgroup_kill_at(&s->where);
        daemon_sweep_cgroups_soon();
        fprintf(stderr, "gbox daemon: %s: a sandbox without a record (a daemon was killed while it started): "
                        "ended\n", id);
    }
    sb_unlink_free(s);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        tree_remove_at(dfd, id);
        close(dfd);
    }
}

static void adopt_all(void)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/sandboxes", D.state_dir);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/%s/meta.json", dir, de->d_name);
        json_t *m = json_load_file(p, 0, NULL);
        if (!m && access(p, F_OK) < 0 && errno == ENOENT && sandbox_name_valid(de->d_name)) {
            end_unrecorded(dir, de->d_name);
            continue;
        }
        if (!m)
            continue;
        struct sb *s = sb_new();
        snprintf(s->id, sizeof(s->id), "%s", or_str(json_string_value(json_object_get(m, "id")), de->d_name));
        s->name = xstrdup(or_str(json_string_value(json_object_get(m, "name")), s->id));
        s->policy = xstrdup(or_str(json_string_value(json_object_get(m, "policy")), "base"));
        s->domain = xstrdup(or_str(json_string_value(json_object_get(m, "domain")), s->policy));
        s->request = json_incref(json_object_get(m, "request"));
        s->restarts = (int)json_integer_value(json_object_get(m, "restarts"));
        s->runs = (int)json_integer_value(json_object_get(m, "runs"));
        s->owner = (uid_t)json_integer_value(json_object_get(m, "owner"));
        s->created_at = json_integer_value(json_object_get(m, "created_at"));
        s->stop_requested = json_is_true(json_object_get(m, "stop_requested"));
        s->last = json_incref(json_object_get(m, "last"));
        char err[1024];
        if (sb_load_policy(s, err, sizeof(err)) < 0)
            fprintf(stderr, "gbox daemon: %s: %s (its record is kept; restarts use defaults)\n", s->id, err);
        s->rp.mode = RESTART_NEVER;
        restart_mode_parse(or_str(json_string_value(json_object_get(m, "restart_mode")), "never"), &s->rp.mode);
        s->rs.circuit = (enum circuit)json_integer_value(json_object_get(m, "circuit"));
        s->rs.consecutive = (int)json_integer_value(json_object_get(m, "consecutive"));
        s->rs.opened_at = to_mono(json_integer_value(json_object_get(m, "opened_at")));
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(m, "failures"), i, e) if (i < RESTART_HISTORY)
        {
            s->rs.failures[s->rs.n_failures++] = to_mono(json_integer_value(e));
            s->rs.next_failure = s->rs.n_failures % RESTART_HISTORY;
        }
        const char *state = or_str(json_string_value(json_object_get(m, "state")), "failed");
        for (int k = 0; k < 7; k++)
            if (strcmp(state, state_names[k]) == 0)
                s->state = (enum sb_state)k;
        s->next_at = to_mono(json_integer_value(json_object_get(m, "next_at")));
        s->started_at = to_mono(json_integer_value(json_object_get(m, "started_at")));
        pid_t meta_shim = (pid_t)json_integer_value(json_object_get(m, "shim_pid"));
        long long meta_shim_start = json_integer_value(json_object_get(m, "shim_start"));
        json_decref(m);
        char rdir[PATH_MAX];
        sb_path(s, "", rdir, sizeof(rdir));
        s->rl = reload_journal_load(rdir); /* a reload the last daemon did not finish */
        if (s->state != SB_RUNNING && s->state != SB_STARTING) {
            if (s->rl)
                rl_on_end(s);
            continue;
        }
        /* a shim that should be running: is it still the same process? */
        long long shim_start = -1;
        snprintf(p, sizeof(p), "%s/%s/state.json", dir, s->id);
        json_t *st = json_load_file(p, 0, NULL);
        pid_t shim = st ? (pid_t)json_integer_value(json_object_get(st, "shim_pid")) : 0;
        json_decref(st);
        where_load(s, &shim_start);
        if (shim <= 0 && meta_shim > 0) { /* started, its program not yet running: no state file yet */
            shim = meta_shim;
            shim_start = meta_shim_start;
        }
        int pfd = shim > 0 ? (int)syscall(SYS_pidfd_open, shim, 0) : -1;
        bool polled = pfd < 0 && shim > 0 && errno == ENOSYS; /* watch_shim */
        if ((pfd >= 0 || polled) && proc_start_time(shim) == shim_start && shim_start > 0) {
            s->shim = shim;
            s->shim_start = shim_start;
            s->pidfd = pfd;
            s->own_child = false;
            s->state = s->where.init_pid > 0 ? SB_RUNNING : SB_STARTING; /* refresh_running sees it run */
            restart_started(&s->rs, s->started_at >= 0 ? s->started_at : mono_ms());
            if (pfd >= 0)
                add_pidfd(s);
            emit(s, "adopted", json_pack("{s:i,s:i}", "shim_pid", (int)shim, "init_pid", (int)s->where.init_pid));
            if (s->rl)
                rl_resume(s);
            continue;
        }
        if (pfd >= 0)
            close(pfd);
        /* gone while we were down: process its end now (report, or "lost") */
        emit(s, "ended_while_down", NULL);
        sb_ended(s);
    }
    closedir(d);
}

/* ---- main ------------------------------------------------------------------------------------ */

static const char daemon_usage[] =
    "usage: gbox daemon [--socket PATH] [--state-dir DIR] [--policy-dir DIR] [--access FILE] [--group NAME]\n"
    "                   [--log-max SIZE]\n"
    "\n"
    "Supervise sandboxes; clients talk to it with gbox spawn, ps, inspect, stop, kill, rm, logs,\n"
    "events, stats, emergency-stop, metrics, config (docs/api.md). Runs in the foreground.\n"
    "SIGHUP or a change in the policy directory reloads the domain policies (invalid files are\n"
    "refused; the version in force stays).\n"
    "\n"
    "  --socket PATH    unix socket (default $GBOX_SOCKET, else /run/gbox/gbox.sock)\n"
    "  --state-dir DIR  records, logs, event journal, audit log (default $GBOX_STATE_DIR,\n"
    "                   else /var/lib/gbox/daemon)\n"
    "  --policy-dir DIR the domain policies (default $GBOX_POLICY_DIR, else the installed ones)\n"
    "  --access FILE    who may do what (default /etc/gbox/access.json; missing: root only)\n"
    "  --group NAME     group owning the socket (mode 0660; default gbox)\n"
    "  --log-max SIZE   rotate a sandbox's stdout/stderr log beyond SIZE (default 1M)\n"
    "  --pool POLICY=N  keep N warm sandboxes of POLICY set up, handed to spawns of in-image\n"
    "                   commands of that policy (repeatable; docs/architecture.md, warm pool)\n";

static int setup_socket(const char *group, struct sbx_err **err)
{
    struct group *g = getgrnam(group);
    if (!g)
        return sbx_err_set(err, GBOX_EXIT_USAGE, 0,
                           "--group: no group \"%s\" on this host (create it with `groupadd --system %s`, "
                           "or pick another with --group)", group, group);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(D.sock_path) >= sizeof(a.sun_path))
        return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "--socket: path longer than %zu bytes", sizeof(a.sun_path) - 1);
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", D.sock_path);
    D.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    /* a socket file nobody answers on is a leftover of a crashed daemon */
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connect(probe, (struct sockaddr *)&a, sizeof(a)) == 0) {
        close(probe);
        return sbx_err_set(err, 1, 0, "another daemon answers on %s", D.sock_path);
    }
    close(probe);
    unlink(D.sock_path);
    mode_t old = umask(0117);
    int rc = bind(D.lfd, (struct sockaddr *)&a, sizeof(a));
    umask(old);
    if (rc < 0 || chown(D.sock_path, 0, g->gr_gid) < 0 || chmod(D.sock_path, 0660) < 0 || listen(D.lfd, 128) < 0)
        return sbx_err_set(err, 1, errno, "listen on %s", D.sock_path);
    return 0;
}

static int mkdirs(const char *path)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s", path);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            if (mkdir(p, 0755) < 0 && errno != EEXIST)
                return -1;
            *s = '/';
        }
    return mkdir(p, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

int cmd_daemon(int argc, char **argv)
{
    static const struct option opts[] = {
        {"socket", required_argument, NULL, 's'}, {"state-dir", required_argument, NULL, 'd'},
        {"access", required_argument, NULL, 'a'}, {"group", required_argument, NULL, 'g'},
        {"log-max", required_argument, NULL, 'l'}, {"help", no_argument, NULL, 'h'},
        {"policy-dir", required_argument, NULL, 'P'},
        {"pool", required_argument, NULL, 'O'},
        {NULL, 0, NULL, 0},
    };
    const char *group = "gbox", *logmax = "1M";
    D.sock_path = daemon_socket_path();
    D.state_dir = daemon_state_dir();
    D.access_file = "/etc/gbox/access.json";
    D.policy_dir = gbox_policy_dir();
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's': D.sock_path = optarg; break;
        case 'd': D.state_dir = optarg; break;
        case 'a': D.access_file = optarg; break;
        case 'g': group = optarg; break;
        case 'l': logmax = optarg; break;
        case 'P': D.policy_dir = optarg; break;
        case 'O': {
            char msg[1024];
            int rc = pool_config(optarg, msg, sizeof(msg));
            if (rc) {
                fprintf(stderr, "gbox daemon: %s\n", msg);
                return rc;
            }
            break;
        }
        case 'h': fputs(daemon_usage, stdout); return 0;
        default: fputs(daemon_usage, stderr); return GBOX_EXIT_USAGE;
        }
    }
    struct sbx_err *err = NULL;
    if (parse_size(logmax, &D.log_max) < 0 || D.log_max < 4096) {
        fprintf(stderr, "gbox daemon: --log-max: expected a size of at least 4K like \"1M\", got \"%s\"\n", logmax);
        return GBOX_EXIT_USAGE;
    }
    struct stat ast;
    if (stat(D.access_file, &ast) == 0) {
        json_error_t je;
        D.access = json_load_file(D.access_file, JSON_REJECT_DUPLICATES, &je);
        if (!D.access || !json_is_array(json_object_get(D.access, "rules"))) {
            fprintf(stderr, "gbox daemon: %s:%d:%d: %s\n", D.access_file, je.line, je.column,
                    D.access ? "\"rules\": expected an array of {uids, gids, ops, domains}" : je.text);
            return GBOX_EXIT_USAGE;
        }
    } else {
        D.access = json_pack("{s:[]}", "rules");
    }
    ssize_t n = readlink("/proc/self/exe", D.exe, sizeof(D.exe) - 1);
    if (n <= 0) {
        perror("gbox daemon: readlink /proc/self/exe");
        return 1;
    }
    D.exe[n] = '\0';
    char sbdir[PATH_MAX], path[PATH_MAX];
    snprintf(sbdir, sizeof(sbdir), "%s/sandboxes", D.state_dir);
    if (mkdirs(D.state_dir) < 0 || mkdirs(sbdir) < 0 || mkdirs(gbox_run_dir()) < 0) {
        fprintf(stderr, "gbox daemon: create %s: %s\n", sbdir, strerror(errno));
        return 1;
    }
    char stage[PATH_MAX];
    snprintf(stage, sizeof(stage), "%s/stage", gbox_run_dir());
    mkdir(stage, 0755);
    snprintf(path, sizeof(path), "%s/events.jsonl", D.state_dir);
    D.journal_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    snprintf(path, sizeof(path), "%s/audit.jsonl", D.state_dir);
    char cerr[1024];
    if (audit_log_open(&D.alog, path, cerr, sizeof(cerr)) < 0) {
        fprintf(stderr, "gbox daemon: %s\n", cerr);
        return 1;
    }
    snprintf(path, sizeof(path), "%s/approvals", D.state_dir);
    if (approval_open(&D.aq, path, cerr, sizeof(cerr)) < 0 ||
        config_open(&D.cfg, D.policy_dir, D.state_dir, cerr, sizeof(cerr)) < 0) {
        fprintf(stderr, "gbox daemon: %s\n", cerr);
        return 1;
    }
    /* the policy directory: files written in place or renamed over, created, removed */
    D.ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (D.ifd < 0 || inotify_add_watch(D.ifd, config_policy_dir(D.cfg), IN_CLOSE_WRITE | IN_MOVED_TO |
                                       IN_MOVED_FROM | IN_CREATE | IN_DELETE) < 0)
        fprintf(stderr, "gbox daemon: watch %s: %s (reload with SIGHUP)\n", config_policy_dir(D.cfg), strerror(errno));
    /* many pidfds and clients: use the whole hard limit */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (setup_socket(group, &err) < 0) {
        fprintf(stderr, "gbox daemon: %s\n", err->msg);
        int code = err->code;
        sbx_err_free(&err);
        return code;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGPIPE);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    D.sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    D.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    struct itimerspec its = {{0, TICK_MS * 1000000L}, {0, TICK_MS * 1000000L}};
    timerfd_settime(D.tfd, 0, &its, NULL);
    D.ep = epoll_create1(EPOLL_CLOEXEC);
    epoll_ctl(D.ep, EPOLL_CTL_ADD, D.lfd, &(struct epoll_event){.events = EPOLLIN, .data.ptr = &tag_listen});
    epoll_ctl(D.ep, EPOLL_CTL_ADD, D.sfd, &(struct epoll_event){.events = EPOLLIN, .data.ptr = &tag_signal});
    epoll_ctl(D.ep, EPOLL_CTL_ADD, D.tfd, &(struct epoll_event){.events = EPOLLIN, .data.ptr = &tag_timer});
    if (D.ifd >= 0)
        epoll_ctl(D.ep, EPOLL_CTL_ADD, D.ifd, &(struct epoll_event){.events = EPOLLIN, .data.ptr = &tag_inotify});
    D.rfd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC); /* without it the tick notices runs, as before */
    if (D.rfd >= 0)
        epoll_ctl(D.ep, EPOLL_CTL_ADD, D.rfd, &(struct epoll_event){.events = EPOLLIN, .data.ptr = &tag_records});
    pool_set_policy_map(policy_in_force);
    cfg_reload("start"); /* before the records: their sandboxes get the versions in force */
    adopt_all();
    pool_start(D.ep, D.exe, D.state_dir, pool_started);
    emit(NULL, "daemon_started", json_pack("{s:i,s:s}", "pid", (int)getpid(), "socket", D.sock_path));
    fprintf(stderr, "gbox daemon: listening on %s, state in %s\n", D.sock_path, D.state_dir);
    while (!D.quit) {
        struct epoll_event evs[64];
        int k = epoll_wait(D.ep, evs, 64, -1);
        for (int i = 0; i < k; i++) {
            void *tag = evs[i].data.ptr;
            if (!pool_owns(tag))
                record_all(); /* nothing but a member's message overtakes a handed spawn's record */
            if (tag == &tag_listen) {
                on_accept();
            } else if (tag == &tag_signal) {
                struct signalfd_siginfo si;
                while (read(D.sfd, &si, sizeof(si)) == sizeof(si))
                    if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
                        D.quit = true;
                    else if (si.ssi_signo == SIGHUP)
                        cfg_reload("SIGHUP");
            } else if (tag == &tag_timer) {
                on_tick();
            } else if (tag == &tag_records) {
                on_records();
            } else if (tag == &tag_inotify) {
                char ibuf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
                while (read(D.ifd, ibuf, sizeof(ibuf)) > 0)
                    ;
                cfg_reload("inotify");
            } else if (pool_owns(tag)) {
                pool_event(tag);
            } else {
                bool is_client = false;
                for (struct client *cl = D.clients; cl; cl = cl->next)
                    if (cl == tag)
                        is_client = true;
                if (is_client) {
                    struct client *cl = tag;
                    if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                        on_client(cl);
                    if (evs[i].events & EPOLLOUT)
                        client_flush(cl);
                } else {
                    for (struct sb *sb = D.sbs; sb; sb = sb->next) {
                        if (tag == sb) {
                            on_pidfd(sb);
                            break;
                        }
                        if (tag == &sb->hc_tag) {
                            hc_done(sb);
                            break;
                        }
                    }
                }
            }
        }
        for (struct client *cl = D.clients, *nx; cl; cl = nx) {
            nx = cl->next;
            client_lines(cl); /* requests held back behind a spawn answered since */
            if (cl->closing)
                client_close(cl);
        }
    }
    /* Sandboxes keep running under their shims; a new daemon adopts them. Warm ones go. */
    record_all();
    pool_stop();
    emit(NULL, "daemon_stopped", NULL);
    audit_log_close(D.alog);
    approval_close(D.aq);
    config_close(D.cfg);
    unlink(D.sock_path);
    fprintf(stderr, "gbox daemon: stopped; running sandboxes stay up and are adopted by the next daemon\n");
    return 0;
}

const char *daemon_socket_path(void)
{
    static char p[PATH_MAX];
    const char *e = getenv("GBOX_SOCKET");
    if (e && *e)
        return e;
    snprintf(p, sizeof(p), "%s/gbox.sock", gbox_run_dir());
    return p;
}
