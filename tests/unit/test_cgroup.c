/* test_cgroup.c — freeze, thaw, attach, kill and stats of sandbox/cgroup.c on real cgroups (needs
 * root), on this host's own layout and on a legacy v1-only view of it (a private mount namespace
 * without the cgroup2 mount), where the freezer and cpuacct controllers stand in for the v2 tree.
 *
 * Each case runs in a forked child (so the legacy case can unmount cgroup2 privately) that is a
 * child subreaper, so it can reap every task it put into the cgroup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../sandbox/internal.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHECK(cond, ...)                                                                            \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "check failed (%s:%d): %s: ", __FILE__, __LINE__, #cond);              \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static bool mounted(const char *fstype)
{
    FILE *f = fopen("/proc/self/mountinfo", "r");
    char line[4096], want[64];
    bool found = false;
    snprintf(want, sizeof(want), " - %s ", fstype);
    while (f && fgets(line, sizeof(line), f))
        found |= strstr(line, want) != NULL;
    if (f)
        fclose(f);
    return found;
}

/* Unmount every cgroup2 mount in this (private) mount namespace. */
static int hide_cgroup2(void)
{
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return -1;
    for (int round = 0; round < 8 && mounted("cgroup2"); round++) {
        FILE *f = fopen("/proc/self/mountinfo", "r");
        char line[4096];
        while (f && fgets(line, sizeof(line), f)) {
            char mnt[4096];
            if (strstr(line, " - cgroup2 ") && sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1)
                umount2(mnt, MNT_DETACH);
        }
        if (f)
            fclose(f);
    }
    return mounted("cgroup2") ? -1 : 0;
}

/* A task that counts as fast as it can in shared memory and forks `kids` more of itself. */
static pid_t spinner(volatile uint64_t *counter, int kids)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    pid_t parent = getppid();
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed case leaves nothing spinning */
    if (getppid() != parent) /* the parent died before the line above */
        _exit(1);
    for (int i = 0; i < kids; i++) {
        parent = getpid();
        if (fork() == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent)
                _exit(1);
            break;
        }
    }
    for (;;)
        __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

static uint64_t read_counter(volatile uint64_t *c) { return __atomic_load_n(c, __ATOMIC_RELAXED); }

/* Whether the counter goes past v within 10 s (a loaded host may not run the spinner for a while). */
static bool counter_passes(volatile uint64_t *c, uint64_t v)
{
    for (int i = 0; i < 200; i++) {
        if (read_counter(c) > v)
            return true;
        pause_ms(50);
    }
    return false;
}

/* utime + stime of PID from /proc/PID/stat, in microseconds; -1 if unreadable. */
static long long proc_cpu_us(pid_t pid)
{
    char p[64], buf[1024];
    snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(p, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *rp = strrchr(buf, ')');
    unsigned long long ut, stt;
    /* after "pid (comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    if (!rp || sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &stt) != 2)
        return -1;
    return (long long)((ut + stt) * 1000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK));
}

static int freeze_and_kill(enum sbx_cg_layout want)
{
    CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0, "subreaper: %s", strerror(errno));
    volatile uint64_t *counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(counter != MAP_FAILED, "mmap");
    char name[64];
    snprintf(name, sizeof(name), "gbox-%d-900", (int)getpid());
    struct sbx_spec spec = {.cgroup_enabled = true, .cgroup_name = name};
    spec.limits = (struct sbx_cgroup_limits){-1, -1, -1, -1, 100000, -1, 64, NULL, NULL, NULL, 0, false, false, 0, 0};
    struct sbx_cgroup *cg = NULL;
    struct sbx_err *err = NULL;
    CHECK(sbx_cgroup_prepare(&spec, &cg, &err) == 0, "prepare: %s", err ? err->msg : "?");

    /* The parent is stopped by SIGSTOP until it is in the cgroup, so its children are born in it. */
    pid_t pid = spinner(counter, 0);
    kill(pid, SIGSTOP);
    CHECK(sbx_cgroup_attach(cg, pid, &err) == 0, "attach: %s", err ? err->msg : "?");
    kill(pid, SIGCONT);
    if (!counter_passes(counter, 0))
        sbx_cgroup_kill(cg);
    CHECK(read_counter(counter) > 0, "the spinner never ran");

    CHECK(sbx_cgroup_freeze(cg, true, &err) == 0, "freeze: %s", err ? err->msg : "?");
    uint64_t a = read_counter(counter);
    pause_ms(100);
    uint64_t b = read_counter(counter);
    CHECK(a == b, "frozen, yet the counter moved from %llu to %llu", (unsigned long long)a,
          (unsigned long long)b);

    CHECK(sbx_cgroup_freeze(cg, false, &err) == 0, "thaw: %s", err ? err->msg : "?");
    if (!counter_passes(counter, b))
        sbx_cgroup_kill(cg);
    CHECK(read_counter(counter) > b, "thawed, yet the counter stayed at %llu", (unsigned long long)b);

    struct sbx_cgroup_stats st;
    sbx_cgroup_read_stats(cg, &st);
    CHECK(st.layout == want, "layout %d, expected %d", st.layout, want);
    /* What the spinner itself got, not the wall clock: under load ~200 ms of spinning can be
     * far less CPU (the check used to say > 50 ms and failed at load 10). */
    long long own_us = proc_cpu_us(pid);
    CHECK(st.cpu_usage_us > 0 && own_us >= 0 && st.cpu_usage_us >= own_us / 2,
          "cpu usage %lld us, the spinner's own CPU time %lld us", (long long)st.cpu_usage_us, own_us);
    CHECK(st.pids_current == 1, "pids.current %lld", (long long)st.pids_current);

    /* Kill a frozen cgroup: every task must die, frozen or not. */
    CHECK(sbx_cgroup_freeze(cg, true, &err) == 0, "freeze again: %s", err ? err->msg : "?");
    sbx_cgroup_kill(cg);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "status 0x%x", status);
    sbx_cgroup_release(&cg);
    CHECK(cg == NULL, "release left the handle");
    return 0;
}

/* Tasks a spinner forks inside the cgroup die with it: kill reaches the whole tree. */
static int kill_tree(enum sbx_cg_layout want)
{
    (void)want;
    CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0, "subreaper: %s", strerror(errno));
    volatile uint64_t *counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(counter != MAP_FAILED, "mmap");
    char name[64];
    snprintf(name, sizeof(name), "gbox-%d-901", (int)getpid());
    struct sbx_spec spec = {.cgroup_enabled = true, .cgroup_name = name};
    spec.limits = (struct sbx_cgroup_limits){-1, -1, -1, -1, 100000, -1, 64, NULL, NULL, NULL, 0, false, false, 0, 0};
    struct sbx_cgroup *cg = NULL;
    struct sbx_err *err = NULL;
    CHECK(sbx_cgroup_prepare(&spec, &cg, &err) == 0, "prepare: %s", err ? err->msg : "?");
    pid_t pid = fork();
    if (pid == 0) { /* wait to be attached, then fork the tree */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        raise(SIGSTOP);
        spinner(counter, 4);
        for (;;)
            pause();
    }
    int status;
    CHECK(waitpid(pid, &status, WUNTRACED) == pid && WIFSTOPPED(status), "child did not stop");
    CHECK(sbx_cgroup_attach(cg, pid, &err) == 0, "attach: %s", err ? err->msg : "?");
    kill(pid, SIGCONT);
    /* the tree forks as fast as the host lets it: under load that can take seconds */
    struct sbx_cgroup_stats st;
    for (int i = 0; i < 300; i++) {
        sbx_cgroup_read_stats(cg, &st);
        if (st.pids_current >= 6)
            break;
        pause_ms(50);
    }
    sbx_cgroup_kill(cg); /* first: a failed check below must not leave the tree spinning */
    CHECK(st.pids_current == 6, "pids.current %lld, expected 6 (the child, the spinner and its 4)", (long long)st.pids_current);
    int reaped = 0;
    for (;;) {
        pid_t p = waitpid(-1, &status, 0);
        if (p < 0)
            break;
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "task %d: status 0x%x", p, status);
        reaped++;
    }
    CHECK(reaped == 6, "reaped %d tasks, expected 6", reaped);
    sbx_cgroup_release(&cg);
    return 0;
}

static void in_child(int (*fn)(enum sbx_cg_layout), bool legacy)
{
    if (geteuid() != 0)
        fail_msg("test_cgroup needs root (real cgroups)");
    enum sbx_cg_layout want;
    if (legacy) {
        if (!mounted("cgroup"))
            skip(); /* a pure v2 host has no v1 hierarchy to fall back to */
        want = SBX_CG_V1;
    } else {
        FILE *f = fopen("/sys/fs/cgroup/cgroup.controllers", "r");
        char line[512] = "";
        if (f && fgets(line, sizeof(line), f) && strstr(line, "memory"))
            want = SBX_CG_V2;
        else
            want = mounted("cgroup2") ? SBX_CG_HYBRID : SBX_CG_V1;
        if (f)
            fclose(f);
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(30); /* a kill that does not work must fail the case, not hang it */
        if (legacy && hide_cgroup2() < 0) {
            fprintf(stderr, "cannot hide the cgroup2 mount: %s\n", strerror(errno));
            _exit(1);
        }
        _exit(fn(want));
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("case failed (status 0x%x; see the message above)", status);
}

static void freeze_native(void **s) { (void)s; in_child(freeze_and_kill, false); }
static void freeze_legacy(void **s) { (void)s; in_child(freeze_and_kill, true); }
static void kill_tree_native(void **s) { (void)s; in_child(kill_tree, false); }
static void kill_tree_legacy(void **s) { (void)s; in_child(kill_tree, true); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(freeze_native),
        cmocka_unit_test(freeze_legacy),
        cmocka_unit_test(kill_tree_native),
        cmocka_unit_test(kill_tree_legacy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
