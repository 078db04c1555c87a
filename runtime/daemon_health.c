/* daemon_health.c — a supervised sandbox's health checks (the policy's monitoring.health_check,
 * run inside it through sbx_exec_in with the policy in force), its anomaly sampling (memory
 * growth, CPU throttling from its cgroups) and the failure policy's action on either
 * (failure_policies.on_health_fail / on_memory_high). Split from daemon.c; the record, events
 * and the daemon's loop stay there (daemon_priv.h). */
#include "config.h"
#include "daemon_priv.h"
#include "names.h"
#include "plan.h"
#include "policy.h"
#include "reload.h"
#include "stack.h"
#include "../sandbox/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Reap a health check that ended (or kill it first when `kill_it`). Returns its status (128+N
 * for a signal), -1 when none ran. */
int hc_reap(struct sb *s, bool kill_it)
{
    if (s->hc_pidfd < 0)
        return -1;
    if (kill_it)
        syscall(SYS_pidfd_send_signal, s->hc_pidfd, SIGKILL, NULL, 0);
    int st = 0;
    pid_t r = waitpid(s->hc_pid, &st, kill_it ? 0 : WNOHANG);
    if (r == 0)
        return -2; /* not yet */
    epoll_ctl(daemon_epoll(), EPOLL_CTL_DEL, s->hc_pidfd, NULL);
    close(s->hc_pidfd);
    s->hc_pidfd = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void hc_start(struct sb *s)
{
    char log[PATH_MAX], msg[1024] = "";
    struct gbox_policy *p = NULL;
    struct sbx_err *err = NULL;
    struct sbx_spec spec;
    memset(&spec, 0, sizeof(spec));
    size_t n = json_array_size(s->hc_cmd);
    char **argv = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        argv[i] = (char *)json_string_value(json_array_get(s->hc_cmd, i));
    /* the sandbox's module stack: the check's command may come from a module */
    json_t *mods = rl_modules(s);
    const char **mv = xcalloc(json_array_size(mods) + 1, sizeof(char *));
    for (size_t i = 0; i < json_array_size(mods); i++)
        mv[i] = json_string_value(json_array_get(mods, i));
    struct run_hold hold = {.run.fd = -1};
    struct run_request rq = {.in_image = true, .argv = argv, .argc = (int)n, .modules = mv,
                             .n_modules = json_array_size(mods), .hold = &hold};
    sb_path(s, "health.log", log, sizeof(log));
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool planned = false;
    if (fd >= 0 && policy_load(config_policy_arg(daemon_config(), s->policy), &p, &err) == 0 && /* the version in force */
        plan_build(p, &rq, &spec, &err) == 0) {
        planned = true;
        int pfd = sbx_exec_in(&s->where, &spec, spec.argv, fd, &s->hc_pid, &err);
        if (pfd >= 0) {
            s->hc_pidfd = pfd;
            s->hc_deadline = mono_ms() + s->hc_timeout_ms;
            s->hc_timed_out = false;
            epoll_ctl(daemon_epoll(), EPOLL_CTL_ADD, pfd, &(struct epoll_event){.events = EPOLLIN, .data.ptr = &s->hc_tag});
        }
    }
    if (s->hc_pidfd < 0)
        snprintf(msg, sizeof(msg), "%s", err ? err->msg : strerror(errno));
    sbx_err_free(&err);
    if (planned)
        sbx_spec_free(&spec);
    run_hold_release(&hold);
    free(mv);
    json_decref(mods);
    if (p)
        policy_free(p);
    if (fd >= 0)
        close(fd);
    free(argv);
    s->hc_next = mono_ms() + s->hc_interval_ms;
    if (msg[0])
        emit(s, "health_error", json_pack("{s:s}", "message", msg));
}


/* failure_policies.on_health_fail / on_memory_high on a running sandbox */
static void apply_action(struct sb *s, const char *a)
{
    if (strcmp(a, "restart") == 0 || strncmp(a, "fallback:", 9) == 0) {
        if (a[0] == 'f') {
            free(s->policy);
            s->policy = xstrdup(a + 9);
        }
        s->health_restart = true;
        sb_kill_now(s);
    } else if (strcmp(a, "kill") == 0) {
        s->health_kill = true;
        sb_kill_now(s);
    } else if (strncmp(a, "signal:", 7) == 0) {
        int sig = signal_from_name(a + 7);
        if (sig > 0 && s->where.init_pid > 0)
            kill(s->where.init_pid, sig);
    }
}

static void hc_act(struct sb *s)
{
    const char *a = s->on_health_fail;
    emit(s, "health", json_pack("{s:s,s:s,s:i}", "status", "unhealthy", "action", a, "failures", s->hc_failures));
    apply_action(s, a);
}

/* One sample of the cgroup counters: memory.high crossings (on_memory_high) and, with anomaly detection,
 * steady memory growth, new OOM kills, CPU throttling and memory/io pressure. Each anomaly is an
 * event when it starts, not at every sample. */
void anomaly_sample(struct sb *s)
{
    struct sbx_cgroup_stats st;
    sbx_cgroup_stats_at(&s->where, &st);
    double iv = AN_INTERVAL_MS * 1000.0; /* µs */
    if (s->mem_high >= 0 && st.memory_current >= 0) {
        bool over = st.memory_current > s->mem_high;
        if (over && !s->an_high) {
            emit(s, "memory_high", json_pack("{s:I,s:I,s:s}", "memory_bytes", (json_int_t)st.memory_current,
                                             "high_bytes", (json_int_t)s->mem_high, "action", s->on_memory_high));
            apply_action(s, s->on_memory_high);
        }
        s->an_high = over;
    }
    if (!s->anomaly)
        return;
    if (st.memory_current >= 0) {
        if (s->an_n == 5) {
            memmove(s->an_mem, s->an_mem + 1, 4 * sizeof(int64_t));
            s->an_n = 4;
        }
        s->an_mem[s->an_n++] = st.memory_current;
        bool rising = s->an_n == 5;
        for (int i = 1; rising && i < 5; i++)
            rising = s->an_mem[i] > s->an_mem[i - 1];
        int64_t grew = s->an_mem[s->an_n - 1] - s->an_mem[0];
        int64_t floor = s->mem_max > 0 ? s->mem_max / 10 : 16 << 20;
        bool growth = rising && grew > floor;
        if (growth && !s->an_growth)
            emit(s, "anomaly", json_pack("{s:s,s:I,s:I,s:i}", "kind", "memory_growth", "from_bytes",
                                         (json_int_t)s->an_mem[0], "to_bytes", (json_int_t)s->an_mem[s->an_n - 1],
                                         "seconds", (s->an_n - 1) * AN_INTERVAL_MS / 1000));
        s->an_growth = growth;
    }
    if (st.oom_kills > 0 && s->an_oom >= 0 && st.oom_kills > s->an_oom)
        emit(s, "anomaly", json_pack("{s:s,s:I}", "kind", "oom_kill", "oom_kills", (json_int_t)st.oom_kills));
    s->an_oom = st.oom_kills;
    if (st.cpu_throttled_us >= 0) {
        bool thr = s->an_throttled >= 0 && (double)(st.cpu_throttled_us - s->an_throttled) > iv * 0.25;
        if (thr && !s->an_throttling)
            emit(s, "anomaly", json_pack("{s:s,s:I}", "kind", "cpu_throttled", "throttled_ms_per_s",
                                         (json_int_t)((st.cpu_throttled_us - s->an_throttled) / 1000)));
        s->an_throttling = thr;
        s->an_throttled = st.cpu_throttled_us;
    }
    if (st.psi_some_us[SBX_PSI_MEMORY] >= 0) {
        bool pr = s->an_psi_mem >= 0 && (double)(st.psi_some_us[SBX_PSI_MEMORY] - s->an_psi_mem) > iv * 0.2;
        if (pr && !s->an_pressure)
            emit(s, "anomaly", json_pack("{s:s}", "kind", "memory_pressure"));
        s->an_pressure = pr;
        s->an_psi_mem = st.psi_some_us[SBX_PSI_MEMORY];
    }
    if (st.psi_some_us[SBX_PSI_IO] >= 0) {
        bool pr = s->an_psi_io >= 0 && (double)(st.psi_some_us[SBX_PSI_IO] - s->an_psi_io) > iv * 0.2;
        if (pr && !s->an_iopressure)
            emit(s, "anomaly", json_pack("{s:s}", "kind", "io_pressure"));
        s->an_iopressure = pr;
        s->an_psi_io = st.psi_some_us[SBX_PSI_IO];
    }
}

void hc_done(struct sb *s)
{
    int st = hc_reap(s, false);
    if (st == -2 || st == -1)
        return;
    bool ok = st == 0 && !s->hc_timed_out;
    bool counts = mono_ms() - s->started_at >= s->hc_start_ms; /* failures in the start period do not */
    if (s->rl && rl_health(s, ok, counts)) /* verifying a reload: the checks decide it */
        return;
    if (ok) {
        s->hc_failures = 0;
        if (strcmp(s->health, "healthy") != 0) {
            s->health = "healthy";
            emit(s, "health", json_pack("{s:s}", "status", "healthy"));
        }
        return;
    }
    emit(s, "health_check_failed", json_pack("{s:i,s:b}", "exit_code", st, "timed_out", s->hc_timed_out));
    if (!counts)
        return;
    if (++s->hc_failures >= s->hc_retries && strcmp(s->health, "unhealthy") != 0) {
        s->health = "unhealthy";
        hc_act(s);
    }
}

