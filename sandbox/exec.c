/* exec.c — start a process inside a running sandbox (health checks; later `exec` of the OCI front
 * end). It gets what the sandbox's program got, in the same order: the sandbox's cgroups, its
 * namespaces (entered at once through a pidfd of the sandbox's init), the spec's uid/gid with no
 * supplementary groups, the capability sets trimmed, rlimits, no_new_privs, the policy's
 * Landlock rules and the seccomp filters last. Only stdio survives from the caller.
 *
 *   caller ── fork ──> A: drop groups, join cgroups, setns(init pidfd) ── fork ──> B: creds,
 *                       waits for B, exits with B's status          caps, nnp, Landlock, seccomp, exec
 * A is needed because joining a pid namespace only affects children. Both die with the caller
 * (PDEATHSIG). A failure before exec exits 125. */
#include "internal.h"
#include "util.h"

#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void __attribute__((noreturn)) fail(const char *what)
{
    char b[256];
    snprintf(b, sizeof(b), "gbox exec: %s: %s\n", what, strerror(errno));
    write_all(2, b, strlen(b));
    _exit(GBOX_EXIT_LAUNCH);
}

static void join_cgroups(const struct sbx_started *w)
{
    char p[PATH_MAX];
    if (w->cgroup_v2) {
        snprintf(p, sizeof(p), "%s/cgroup.procs", w->cgroup_v2);
        if (write_file(p, "0") < 0)
            fail("join the sandbox's cgroup (v2)");
    }
    for (size_t i = 0; i < w->n_cgroup_v1; i++) {
        snprintf(p, sizeof(p), "%s/tasks", w->cgroup_v1[i]);
        if (write_file(p, "0") < 0)
            fail("join the sandbox's cgroup (v1)");
    }
}

static void __attribute__((noreturn)) inner(const struct sbx_spec *spec, const struct sbx_bpf bpf[SBX_MAX_FILTERS],
                                            char *const argv[], const struct sbx_exec_opts *o)
{
    struct child_err ce = {0};
    if (!o->detach)
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (o->console && (setsid() < 0 || ioctl(0, TIOCSCTTY, 0) < 0))
        fail("make the terminal the controlling terminal");
    if ((spec->ns_flags & CLONE_NEWUSER) && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
        fail("become root of the sandbox's user namespace");
    if (chdir(spec->cwd) < 0 && chdir("/") < 0)
        fail("chdir");
    for (size_t i = 0; i < spec->n_rlimits; i++) {
        struct rlimit rl = {.rlim_cur = spec->rlimits[i].soft, .rlim_max = spec->rlimits[i].hard};
        setrlimit(spec->rlimits[i].resource, &rl);
    }
    if (sbx_caps_bounding_in_child(spec->caps, &ce) < 0 || sbx_creds_in_child(spec, &ce) < 0 ||
        sbx_caps_in_child(spec->caps, &ce) < 0) {
        errno = ce.errnum;
        fail(ce.msg);
    }
    if (!o->detach)
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); /* cleared by the credential change */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        fail("no_new_privs");
    /* the policy's Landlock rules bind this process as they bind the program (fail closed) */
    if (sbx_landlock_in_child(&spec->landlock, &ce) < 0) {
        errno = ce.errnum;
        fail(ce.msg);
    }
    int listener = -1;
    if (sbx_seccomp_in_child(bpf, &listener, &ce) < 0) {
        errno = ce.errnum;
        fail(ce.msg);
    }
    /* no supervisor answers this process's notifications: "kill" rules fail its calls (ENOSYS) */
    if (listener >= 0)
        close(listener);
    sbx_reset_signals();
    execvpe(argv[0], argv, spec->envp);
    fail(argv[0]);
}

/* A process entering the sandbox may not hold a capability the sandbox did not start with (its
 * init's bounding set): the policy in force may have gained some since, and a running sandbox's
 * privileges never grow. It matters most for a read-only root bound from the image (mount.c,
 * root_as_bind), which is safe only while nothing inside holds CAP_SYS_ADMIN: a process with
 * it could remount the shared image writable. */
static int caps_within_init(pid_t init, uint64_t want, struct sbx_err **err)
{
    char p[64];
    snprintf(p, sizeof(p), "/proc/%d/status", (int)init);
    char *s = read_file(p, NULL);
    const char *b = s ? strstr(s, "\nCapBnd:") : NULL;
    char *end = NULL;
    unsigned long long bnd = b ? strtoull(b + 8, &end, 16) : 0;
    bool ok = b && end && end != b + 8;
    free(s);
    if (!ok)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "read the capability bounding set of the sandbox's init %d",
                           (int)init);
    if (want & ~(uint64_t)bnd)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0,
                           "the policy in force grants capabilities (0x%llx) the sandbox did not start with "
                           "(its bounding set is 0x%llx): a process entering it may not have them; restart "
                           "the sandbox under the new policy",
                           (unsigned long long)(want & ~(uint64_t)bnd), bnd);
    return 0;
}

int sbx_exec_in(const struct sbx_started *where, const struct sbx_spec *spec, char *const argv[],
                int out_fd, pid_t *pid_out, struct sbx_err **err)
{
    struct sbx_exec_opts o = {.out_fd = out_fd};
    if (caps_within_init(where->init_pid, spec->caps, err) < 0)
        return -1;
    return sbx_exec_in_opts(where, spec, argv, &o, pid_out, err);
}

int sbx_exec_in_opts(const struct sbx_started *where, const struct sbx_spec *spec, char *const argv[],
                     const struct sbx_exec_opts *o, pid_t *pid_out, struct sbx_err **err)
{
    struct sbx_bpf bpf[SBX_MAX_FILTERS];
    if (sbx_seccomp_prepare(&spec->seccomp, spec->seccomp_cache_dir, bpf, err) < 0)
        return -1;
    int initfd = (int)syscall(SYS_pidfd_open, where->init_pid, 0);
    if (initfd < 0) {
        sbx_seccomp_release(bpf);
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "pidfd_open of the sandbox's init %d", (int)where->init_pid);
    }
    int pidfd = -1;
    struct clone_args args = {.flags = CLONE_PIDFD, .pidfd = (uint64_t)(uintptr_t)&pidfd, .exit_signal = SIGCHLD};
    long pid = syscall(SYS_clone3, &args, sizeof(args));
    if (pid == 0) {
        if (!o->detach)
            prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        int nul = o->keep_stdio ? 0 : open("/dev/null", O_RDONLY);
        if (!o->keep_stdio && (nul < 0 || dup2(nul, 0) < 0 || dup2(o->out_fd, 1) < 0 || dup2(o->out_fd, 2) < 0))
            _exit(GBOX_EXIT_LAUNCH);
        if (setgroups(0, NULL) < 0) /* setgroups is denied inside: drop ours before entering */
            fail("drop supplementary groups");
        join_cgroups(where);
        int ns = spec->ns_flags;
        for (size_t i = 0; i < spec->n_ns_join; i++) /* joined ones are the init's too (OCI pods) */
            ns |= spec->ns_join[i].type;
        ns &= CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWCGROUP;
        if (setns(initfd, ns) < 0)
            fail("enter the sandbox's namespaces");
        for (int fd = 3; fd < 1024; fd++)
            if (fd != initfd)
                close(fd);
        close(initfd);
        pid_t b = fork();
        if (b < 0)
            fail("fork into the sandbox's pid namespace");
        if (b == 0)
            inner(spec, bpf, argv, o);
        int st;
        while (waitpid(b, &st, 0) < 0)
            if (errno != EINTR)
                _exit(GBOX_EXIT_LAUNCH);
        _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    }
    int e = errno;
    close(initfd);
    sbx_seccomp_release(bpf);
    if (pid < 0)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, e, "clone3 for exec in the sandbox");
    *pid_out = (pid_t)pid;
    return pidfd;
}
