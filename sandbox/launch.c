/* launch.c — the launch sequence, and supervision of one sandbox until it ends.
 *
 * Sync points (parent P, child C, over a SEQPACKET socketpair):
 *   P1  compile the seccomp program, lock a named sandbox's state directory, check the limits
 *       against the host and name the cgroups (the v2 one is created: CLONE_INTO_CGROUP) —
 *       before clone, so the child has nothing expensive or fallible left to do that the parent
 *       could have done.
 *   P2  open the namespaces to join (while gbox has its host privileges); clone3 with a pidfd
 *       into the namespaces (and into the v2 cgroup with CLONE_INTO_CGROUP); a user or pid
 *       namespace to join is entered first by a helper that clones with CLONE_PARENT
 *       (clone_joined); the network namespace, the costliest to create, is left out when there
 *       is a new user namespace: C0 makes it.
 *   C0  the child unshares its network namespace (it has every capability in its new user
 *       namespace) and says so (MSG_NETNS); meanwhile, on the other CPU, the parent creates the
 *       v1 cgroups and writes their limits (sbx_cgroup_from_parent). The child blocks on the
 *       socket.
 *   P3  write the child's uid/gid maps; veth (after MSG_NETNS): create the pair with its peer
 *       born inside the child's network namespace, address the host end and bring it up (net.c);
 *       then send "go": the maps must exist before the child acts as root of its user namespace,
 *       the peer before the child configures it, and the cgroups before the child joins them.
 *   C1  join the v1 cgroups (the child itself, while it still has the host's root euid: see
 *       sbx_cgroup_in_child, a thread moving itself avoids an RCU grace period; nothing runs in
 *       the sandbox before it is inside every limit), become root of the user namespace, join
 *       the other namespaces to join, new session (no controlling tty: TIOCSTI is moot),
 *       hostname and domain name, network (lo; veth: address, route, egress rules through
 *       libnftables while the host's libraries are still visible and we still have
 *       CAP_NET_ADMIN over our namespace), mounts, the createContainer hooks (OCI), pivot_root,
 *       working directory, cgroup namespace, personality, rlimits.
 *   C2  close every fd but 0-2 and the socket; drop the bounding set (needs CAP_SETPCAP, so
 *       before the uid change); switch to the program's uid/gid; trim the other four sets.
 *   C3  no_new_privs, Landlock (it needs no_new_privs, and its rules name paths of the new root),
 *       then the seccomp filter last: after it only "@default" calls are needed.
 *       Each protection is checked after it is applied; any failure is reported with its stage.
 *   C4  if the filter has "kill" rules, P takes the listener fd with pidfd_getfd and acks.
 *   C5  the child becomes the sandbox's init; OCI: waits for start, runs the startContainer
 *       hooks; forks and execs the program, reports its status.
 *   P4  supervise: seccomp notifications (kill + name the syscall), the wall-clock deadline,
 *       forwarded signals, the child's exit; then read cgroup stats, remove the cgroups and
 *       the veth host end.
 */
#include "internal.h"
#include "util.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

struct launch {
    const struct sbx_spec *spec;
    struct sbx_bpf bpf[SBX_MAX_FILTERS];
    struct sbx_cgroup *cg;
    struct sbx_net *net; /* veth: the host end and its netlink socket */
    int sock[2];
    int state_lock; /* flock on spec->state_dir while the sandbox lives (overlay.c) */
    int *ns_fd;     /* spec->ns_join[i] opened by gbox (still in its own namespaces, with ptrace
                       access to a non-dumpable init's /proc/PID/ns) */
    pid_t parent;
    bool own_netns; /* the child unshares its network namespace itself (C0) */
};

static void stage(struct sbx_result *res, const char *name, double ms)
{
    if (res->n_stages < ARRAY_LEN(res->stages))
        res->stages[res->n_stages++] = (struct sbx_stage_time){name, ms};
}

/* ---- child ---------------------------------------------------------------------------------- */

static void child_report(int fd, struct child_err *ce)
{
    struct child_msg m = {.type = MSG_ERROR, .err = *ce};
    write_all(fd, &m, sizeof(m));
}

static void child_stage(struct child_msg *ready, const char *name, double *t)
{
    double n = now_ms();
    if (ready->n_stages < ARRAY_LEN(ready->stages)) {
        snprintf(ready->stages[ready->n_stages].name, sizeof(ready->stages[0].name), "%s", name);
        ready->stages[ready->n_stages++].ms = n - *t;
    }
    *t = n;
}

static int child_setup(struct launch *l, struct child_msg *ready, struct child_err *ce)
{
    const struct sbx_spec *s = l->spec;
    int fd = l->sock[1];
    double t = now_ms();
    if (l->own_netns) {
        struct child_msg m = {.type = MSG_NETNS};
        if (unshare(CLONE_NEWNET) < 0)
            return child_fail(ce, "netns", errno, "unshare network namespace");
        if (write_all(fd, &m, sizeof(m)) < 0)
            return child_fail(ce, "sync", errno, "tell the parent");
    }
    char go;
    if (TEMP_RETRY(read(fd, &go, 1)) != 1)
        return child_fail(ce, "sync", errno, "wait for the parent");
    if (sbx_cgroup_in_child(l->cg, ce) < 0)
        return -1;
    /* after "go": a source may be one of the sandbox's own v1 cgroups (an OCI "cgroup" mount),
     * which the parent creates after clone; still with the host's root euid */
    struct sbx_sources src;
    if (sbx_mount_open_sources(s, &src, ce) < 0)
        return -1;
    if ((s->ns_flags & CLONE_NEWUSER || sbx_ns_joined(s, CLONE_NEWUSER)) &&
        (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
        return child_fail(ce, "userns", errno, "become root of the user namespace");
    for (size_t i = 0; i < s->n_ns_join; i++) {
        if (s->ns_join[i].type == CLONE_NEWUSER || s->ns_join[i].type == CLONE_NEWPID)
            continue; /* joined before clone (do_clone) */
        if (setns(l->ns_fd[i], s->ns_join[i].type) < 0)
            return child_fail(ce, "setns", errno, "join namespace %s", s->ns_join[i].path);
    }
    if (setsid() < 0)
        return child_fail(ce, "session", errno, "setsid");
    /* a pseudo-terminal of gbox's own (run -t), never the host's: TIOCSCTTY only then */
    if (s->controlling_tty) {
        if (ioctl(STDIN_FILENO, TIOCSCTTY, 0) < 0)
            return child_fail(ce, "session", errno, "make the pseudo-terminal the controlling terminal");
    } else if (s->console && ioctl(STDIN_FILENO, TIOCSCTTY, 0) < 0) { /* OCI terminal: true */
        return child_fail(ce, "console", errno, "make the terminal on fd 0 the controlling terminal");
    }
    if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
        return child_fail(ce, "hostname", errno, "sethostname %s", s->hostname);
    if (s->domainname && setdomainname(s->domainname, strlen(s->domainname)) < 0)
        return child_fail(ce, "hostname", errno, "setdomainname %s", s->domainname);
    if (sbx_net_in_child(s, ce) < 0)
        return -1;
    child_stage(ready, "net", &t);
    if (sbx_mount_in_child(s, &src, ce) < 0)
        return -1;
    sbx_mount_close_sources(s, &src);
    if (chdir(s->cwd) < 0)
        return child_fail(ce, "cwd", errno, "chdir %s", s->cwd);
    child_stage(ready, "mounts", &t);
    /* after joining the cgroups, so the namespace is rooted at the sandbox's own cgroup */
    if ((s->ns_flags & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0)
        return child_fail(ce, "cgroupns", errno, "unshare cgroup namespace");
    /* inherited by the program through fork and exec (exec keeps the execution domain) */
    if (s->has_personality &&
        (personality(s->personality) < 0 || (unsigned long)personality(0xffffffff) != s->personality))
        return child_fail(ce, "personality", errno, "personality 0x%lx", s->personality);
    for (size_t i = 0; i < s->n_rlimits; i++) {
        struct rlimit rl = {.rlim_cur = s->rlimits[i].soft, .rlim_max = s->rlimits[i].hard};
        if (setrlimit(s->rlimits[i].resource, &rl) < 0)
            return child_fail(ce, "rlimits", errno, "setrlimit %d to %llu/%llu", s->rlimits[i].resource,
                              (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
    }
    /* Nothing from the host survives but stdio and our socket (CVE-2024-21626 class). */
    if (fd > 3 && syscall(SYS_close_range, 3, fd - 1, 0) < 0)
        return child_fail(ce, "fds", errno, "close inherited fds");
    if (syscall(SYS_close_range, fd + 1, ~0U, 0) < 0)
        return child_fail(ce, "fds", errno, "close inherited fds");
    if (sbx_caps_bounding_in_child(s->caps, ce) < 0 || sbx_creds_in_child(s, ce) < 0 ||
        sbx_caps_in_child(s->caps, ce) < 0)
        return -1;
    /* Credential changes clear the parent-death signal: set it again for good, then make sure
     * the parent did not die in between (its end of the socket would be closed). */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
        return child_fail(ce, "pdeathsig", errno, "PR_SET_PDEATHSIG");
    struct pollfd alive = {.fd = fd, .events = 0};
    if (poll(&alive, 1, 0) < 0 || (alive.revents & (POLLHUP | POLLERR)))
        return child_fail(ce, "pdeathsig", 0, "gbox went away during setup");
    child_stage(ready, "creds", &t);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return child_fail(ce, "no_new_privs", errno, "PR_SET_NO_NEW_PRIVS");
    if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
        return child_fail(ce, "no_new_privs", 0, "no_new_privs not set after setting it");
    if (sbx_landlock_in_child(&s->landlock, ce) < 0)
        return -1;
    /* Not dumpable from before the listener exists (it stays open in the init): a process of
     * the same uid (a pod's shared pid namespace, a rootful container without a user namespace)
     * could otherwise take it with pidfd_getfd while the init waits for OCI start. gbox, host
     * root, still can. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        return child_fail(ce, "dumpable", errno, "PR_SET_DUMPABLE");
    int listener = -1;
    if (sbx_seccomp_in_child(l->bpf, &listener, ce) < 0)
        return -1;
    if (listener >= 0) {
        /* The parent takes its own copy with pidfd_getfd. This one stays open in the init, without
         * waiting for the parent (a round trip on every start, issue #10): the kernel always makes
         * a listener close-on-exec, so the program never holds it (it could answer its own
         * notifications; sandbox.bats checks the program gets fds 0-2 only), and the init is not
         * dumpable (set above), so the program cannot take it either.
         * Nothing else here: `policy learn`'s filter notifies every call but read, write, close
         * and prctl. */
        struct child_msg m = {.type = MSG_LISTENER, .value = listener};
        if (write_all(fd, &m, sizeof(m)) < 0)
            return child_fail(ce, "seccomp", errno, "hand the seccomp listener to the parent");
    }
    child_stage(ready, "seccomp", &t);
    return 0;
}

/* The child starts as a copy of gbox, whose command line (policy and report paths) any process in
 * the sandbox could read from /proc/1/cmdline: overwrite it in place. */
static void hide_cmdline(void)
{
    size_t len = 0;
    char *cmd = read_file("/proc/self/cmdline", &len);
    free(cmd);
    if (cmd && len > 0 && program_invocation_name) {
        memset(program_invocation_name, 0, len);
        snprintf(program_invocation_name, len, "%s", "gbox-init");
    }
}

static int __attribute__((noreturn)) child_main(struct launch *l)
{
    close(l->sock[0]);
    hide_cmdline();
    /* Die with gbox: a sandbox must never outlive its supervisor unattended. In a new pid
     * namespace getppid() is 0; a parent that died before this point shows as EOF on the socket. */
    pid_t pp = getppid();
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || (pp != 0 && pp != l->parent))
        _exit(GBOX_EXIT_LAUNCH);
    struct child_msg ready = {.type = MSG_READY};
    struct child_err ce = {0};
    if (child_setup(l, &ready, &ce) < 0) {
        child_report(l->sock[1], &ce);
        _exit(ce.exit_code ? ce.exit_code : GBOX_EXIT_LAUNCH);
    }
    struct sbx_spec prog = *l->spec;
    if (prog.on_release) {
        /* a warm sandbox: everything is in place; wait for the program (hold.c) */
        struct child_msg held = {.type = MSG_HELD};
        int r;
        if (write_all(l->sock[1], &held, sizeof(held)) < 0)
            _exit(GBOX_EXIT_LAUNCH);
        if ((r = sbx_hold_in_child(l->sock[1], &prog.argv, &prog.envp, &ce)) != 0) {
            if (r < 0)
                child_report(l->sock[1], &ce);
            _exit(GBOX_EXIT_LAUNCH);
        }
    }
    _exit(sbx_init_run(&prog, l->sock[1], &ready) < 0 ? GBOX_EXIT_LAUNCH : 0);
}

/* ---- parent --------------------------------------------------------------------------------- */

bool sbx_ns_joined(const struct sbx_spec *s, int type)
{
    for (size_t i = 0; i < s->n_ns_join; i++)
        if (s->ns_join[i].type == type)
            return true;
    return false;
}

static pid_t clone_raw(const struct launch *l, uint64_t flags, int *pidfd, struct sbx_err **err);

/* A user or pid namespace to join is entered before clone, by a helper forked for it: a user
 * namespace first (the namespaces clone creates are then its own: the container's root can
 * mount in them), then a pid namespace (setns sets the namespace of the caller's children
 * only). The helper clones the sandbox with CLONE_PARENT, so it is gbox's child as always, says
 * its pid and exits; gbox itself never leaves its namespaces. */
static pid_t clone_joined(const struct launch *l, uint64_t flags, int *pidfd, struct sbx_err **err)
{
    int pp[2];
    if (pipe2(pp, O_CLOEXEC) < 0)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "pipe"), -1;
    pid_t helper = fork();
    if (helper < 0) {
        close(pp[0]);
        close(pp[1]);
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "fork"), -1;
    }
    if (helper == 0) {
        close(pp[0]);
        struct { pid_t pid; int err; char what[200]; } r = {-1, 0, ""};
        static const int order[] = {CLONE_NEWUSER, CLONE_NEWPID};
        for (size_t k = 0; k < ARRAY_LEN(order) && !r.err; k++)
            for (size_t i = 0; i < l->spec->n_ns_join && !r.err; i++)
                if (l->spec->ns_join[i].type == order[k] && setns(l->ns_fd[i], order[k]) < 0) {
                    r.err = errno;
                    snprintf(r.what, sizeof(r.what), "join namespace %s", l->spec->ns_join[i].path);
                }
        if (!r.err) {
            r.pid = clone_raw(l, (flags & ~(uint64_t)CLONE_PIDFD) | CLONE_PARENT, NULL, NULL);
            if (r.pid == 0)
                child_main((struct launch *)l);
            if (r.pid < 0) {
                r.err = errno;
                snprintf(r.what, sizeof(r.what), "clone3 into the joined namespaces");
            }
        }
        write_all(pp[1], &r, sizeof(r));
        _exit(0);
    }
    close(pp[1]);
    struct { pid_t pid; int err; char what[200]; } r = {-1, EPROTO, "hear from the namespace helper"};
    ssize_t n = TEMP_RETRY(read(pp[0], &r, sizeof(r)));
    close(pp[0]);
    TEMP_RETRY(waitpid(helper, NULL, 0));
    if (n != (ssize_t)sizeof(r) || r.pid <= 0)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, n == (ssize_t)sizeof(r) ? r.err : EPROTO, "%s", r.what), -1;
    *pidfd = (int)syscall(SYS_pidfd_open, r.pid, 0);
    if (*pidfd < 0) {
        int e = errno;
        kill(r.pid, SIGKILL);
        TEMP_RETRY(waitpid(r.pid, NULL, 0));
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, e, "pidfd_open of the sandbox"), -1;
    }
    return r.pid;
}

/* C0's MSG_NETNS; a child that failed before it sent MSG_ERROR (taken by the caller). */
static int wait_netns(struct launch *l, struct sbx_err **err)
{
    struct child_msg m;
    ssize_t n = TEMP_RETRY(recv(l->sock[0], &m, sizeof(m), MSG_PEEK));
    if (n == (ssize_t)sizeof(m) && m.type == MSG_NETNS) {
        TEMP_RETRY(recv(l->sock[0], &m, sizeof(m), 0));
        return 0;
    }
    /* an error message stays queued for take_child_error */
    return sbx_err_set(err, GBOX_EXIT_LAUNCH, n < 0 ? errno : 0, "sandbox did not make its network namespace"), -1;
}

static pid_t do_clone(const struct launch *l, int *pidfd, struct sbx_err **err)
{
    uint64_t flags = (uint64_t)(l->spec->ns_flags & ~CLONE_NEWCGROUP) | CLONE_PIDFD;
    if (l->own_netns)
        flags &= ~(uint64_t)CLONE_NEWNET;
    if (sbx_ns_joined(l->spec, CLONE_NEWUSER) || sbx_ns_joined(l->spec, CLONE_NEWPID))
        return clone_joined(l, flags, pidfd, err);
    return clone_raw(l, flags, pidfd, err);
}

static pid_t clone_raw(const struct launch *l, uint64_t flags, int *pidfd, struct sbx_err **err)
{
    int cgfd = sbx_cgroup_clone_fd(l->cg);
    struct clone_args args = {
        .flags = flags | (cgfd >= 0 ? CLONE_INTO_CGROUP : 0),
        .pidfd = (uint64_t)(uintptr_t)pidfd,
        .exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD, /* CLONE_PARENT: the helper's, SIGCHLD */
        .cgroup = cgfd >= 0 ? (uint64_t)cgfd : 0,
    };
    long pid = syscall(SYS_clone3, &args, sizeof(args));
    if (pid < 0 && (errno == ENOSYS || errno == E2BIG)) {
        /* Kernels before 5.3 (or a filter hiding clone3): plain clone, fork-like (no stack). */
        if (cgfd >= 0)
            return sbx_err_set(err, GBOX_EXIT_LAUNCH, ENOSYS,
                               "clone3 is needed to start in a cgroup v2 tree"), -1;
        pid = syscall(SYS_clone, (unsigned long)(flags | SIGCHLD), NULL, pidfd, NULL, NULL);
    }
    if (pid < 0) {
        int e = errno;
        if (e == EPERM || e == ENOSPC || e == EUSERS)
            return sbx_err_set(err, GBOX_EXIT_LAUNCH, e,
                               "create namespaces (user namespaces disabled by "
                               "user.max_user_namespaces or kernel.unprivileged_userns_clone, or the "
                               "namespace limit reached?)"),
                   -1;
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, e, "clone3 into new namespaces"), -1;
    }
    return (pid_t)pid;
}

struct watch {
    int pidfd, sigfd, listener;
    pid_t pid;
    bool have_status, have_err, killed_seccomp, timed_out, exited, held;
    bool created, started; /* spec->wait_start: the child waits; start_fd released it */
    bool sock_eof;         /* the init closed its end (it is exiting): not polled any more */
    double t_ready, t_exit; /* when the program started and ended, for the stage timings */
    int status, init_status;
    struct child_err err;
    struct rusage ru;
};

static void kill_sandbox(struct launch *l, struct watch *w)
{
    syscall(SYS_pidfd_send_signal, w->pidfd, SIGKILL, NULL, 0);
    sbx_cgroup_kill(l->cg);
}

/* After the child is gone: its error message, if one is queued, replaces the parent's own. */
static void take_child_error(struct launch *l, struct sbx_err **err)
{
    struct child_msg m;
    while (TEMP_RETRY(recv(l->sock[0], &m, sizeof(m), MSG_DONTWAIT)) == (ssize_t)sizeof(m)) {
        if (m.type == MSG_ERROR) {
            m.err.stage[sizeof(m.err.stage) - 1] = '\0';
            m.err.msg[sizeof(m.err.msg) - 1] = '\0';
            sbx_err_set(err, m.err.exit_code ? m.err.exit_code : GBOX_EXIT_LAUNCH, 0,
                        "sandbox setup failed at %s: %s", m.err.stage, m.err.msg);
            return;
        }
    }
}

static void read_messages(struct launch *l, struct watch *w, struct sbx_result *res)
{
    struct child_msg m;
    for (;;) {
        ssize_t n = TEMP_RETRY(recv(l->sock[0], &m, sizeof(m), MSG_DONTWAIT));
        if (n != (ssize_t)sizeof(m))
            return;
        switch (m.type) {
        case MSG_ERROR:
            if (!w->have_err) {
                w->err = m.err;
                w->have_err = true;
            }
            break;
        case MSG_LISTENER: {
            w->listener = (int)syscall(SYS_pidfd_getfd, w->pidfd, m.value, 0);
            if (w->listener < 0 && errno == ESRCH) {
                /* the init has already exited (a short program, read late): the sandbox is over.
                 * No notification can be waiting: a notified call blocks its caller, and the
                 * init waits for the program, holding its copy of the listener, until then. */
                break;
            }
            if (w->listener < 0) {
                child_fail(&w->err, "seccomp", errno, "take the seccomp listener (pidfd_getfd)");
                w->have_err = true;
                kill_sandbox(l, w);
                break;
            }
            fcntl(w->listener, F_SETFD, FD_CLOEXEC);
            break;
        }
        case MSG_READY:
            w->t_ready = now_ms();
            if (l->spec->on_start) {
                struct sbx_started info = {.init_pid = w->pid};
                sbx_cgroup_paths(l->cg, &info);
                l->spec->on_start(l->spec->on_start_arg, &info);
            }
            for (unsigned i = 0; i < m.n_stages && i < ARRAY_LEN(m.stages); i++) {
                static char names[8][16];
                snprintf(names[i], sizeof(names[i]), "%s", m.stages[i].name);
                stage(res, names[i], m.stages[i].ms);
            }
            if (l->spec->lean)
                give_back_memory(); /* the setup's heap and stack: this supervisor lives on */
            break;
        case MSG_CREATED:
            w->created = true;
            if (l->spec->on_created) {
                struct sbx_started info = {.init_pid = w->pid};
                sbx_cgroup_paths(l->cg, &info);
                l->spec->on_created(l->spec->on_start_arg, &info);
            }
            break;
        case MSG_HELD:
            w->held = true;
            break;
        case MSG_EXIT:
            w->t_exit = now_ms();
            w->status = m.value;
            w->have_status = true;
            break;
        }
    }
}

static void on_notification(struct launch *l, struct watch *w, struct sbx_result *res)
{
    struct seccomp_notif n;
    memset(&n, 0, sizeof(n));
    if (ioctl(w->listener, SECCOMP_IOCTL_NOTIF_RECV, &n) < 0) {
        if (errno != EINTR && errno != ENOENT) {
            close(w->listener);
            w->listener = -1;
        }
        return;
    }
    if (l->spec->on_syscall) {
        /* learning: record, then let the call run (the filter allows nothing by itself) */
        l->spec->on_syscall(l->spec->on_syscall_arg, &n);
        struct seccomp_notif_resp r = {.id = n.id, .flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE};
        if (ioctl(w->listener, SECCOMP_IOCTL_NOTIF_SEND, &r) < 0 && errno != ENOENT)
            kill_sandbox(l, w);
        return;
    }
    /* A "kill" rule matched: the call never runs. Kill the whole sandbox and remember it. */
    kill_sandbox(l, w);
    if (!w->killed_seccomp) {
        w->killed_seccomp = true;
        res->syscall_nr = n.data.nr;
        res->syscall_arch = n.data.arch;
        memcpy(res->syscall_args, n.data.args, sizeof(res->syscall_args));
    }
}

/* A warm sandbox waits here, set up, until its program comes (or it is given up): 0 released
 * with the program sent, 1 the child ended or failed during setup (supervise reaps and
 * classifies it), -1 given up or failed (err set; the caller kills and reaps). */
static int hold(struct launch *l, struct watch *w, struct sbx_result *res, struct sbx_err **err)
{
    const struct sbx_spec *s = l->spec;
    bool told = false;
    for (;;) {
        struct pollfd p[4] = {
            {.fd = w->pidfd, .events = POLLIN},
            {.fd = w->sock_eof ? -1 : l->sock[0], .events = POLLIN},
            {.fd = w->sigfd, .events = POLLIN},
            {.fd = w->held ? s->hold_fd : -1, .events = POLLIN},
        };
        if (poll(p, 4, -1) < 0) {
            if (errno == EINTR)
                continue;
            return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "warm sandbox: poll"), -1;
        }
        if (p[1].revents)
            read_messages(l, w, res);
        w->sock_eof |= (p[1].revents & (POLLHUP | POLLERR)) != 0;
        if (w->have_err || (p[0].revents & POLLIN))
            return 1;
        if (w->held && !told) {
            told = true;
            if (s->on_held)
                s->on_held(s->hold_arg);
        }
        if (p[2].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(w->sigfd, &si, sizeof(si)) == sizeof(si) && (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT))
                return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0, "warm sandbox: given up (signal %d)", (int)si.ssi_signo), -1;
        }
        if (p[3].revents) {
            if (s->on_release(s->hold_arg) < 0)
                return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0, "warm sandbox: released without a program"), -1;
            return sbx_hold_send(l->sock[0], s->argv, s->envp, err) < 0 ? -1 : 0;
        }
    }
}

static int supervise(struct launch *l, struct watch *w, struct sbx_result *res)
{
    const struct sbx_spec *s = l->spec;
    double start = now_ms();
    double deadline = s->timeout_ms > 0 ? start + (double)s->timeout_ms : -1;
    bool term_sent = false;
    double stop_deadline = -1; /* a forwarded SIGTERM/SIGINT: kill when the grace is over */
    while (!w->exited) {
        bool wait_start = w->created && !w->started && s->start_fd >= 0;
        struct pollfd p[5] = {
            {.fd = w->pidfd, .events = POLLIN},
            {.fd = w->sock_eof ? -1 : l->sock[0], .events = POLLIN},
            {.fd = w->sigfd, .events = POLLIN},
            {.fd = w->listener, .events = POLLIN},
            {.fd = wait_start ? s->start_fd : -1, .events = POLLIN},
        };
        int timeout = -1;
        double next = deadline > 0 && (stop_deadline < 0 || deadline < stop_deadline) ? deadline : stop_deadline;
        if (next > 0) {
            double left = next - now_ms();
            timeout = left <= 0 ? 0 : (int)left + 1;
        }
        int n = poll(p, 5, timeout);
        if (n < 0 && errno != EINTR)
            return -1;
        if (deadline > 0 && now_ms() >= deadline) {
            if (!term_sent && s->timeout_signal != SIGKILL && s->kill_grace_ms > 0) {
                syscall(SYS_pidfd_send_signal, w->pidfd, s->timeout_signal, NULL, 0);
                deadline = now_ms() + (double)s->kill_grace_ms;
                term_sent = true;
            } else {
                kill_sandbox(l, w);
                deadline = -1;
            }
            w->timed_out = true;
        }
        if (stop_deadline > 0 && now_ms() >= stop_deadline) {
            kill_sandbox(l, w);
            stop_deadline = -1;
        }
        if (n <= 0)
            continue;
        if (p[3].revents & POLLIN)
            on_notification(l, w, res);
        else if (p[3].revents & (POLLHUP | POLLERR)) {
            close(w->listener);
            w->listener = -1;
        }
        if (p[1].revents)
            read_messages(l, w, res);
        /* The init's end closes while it exits (its namespaces, mounts and memory go first, ~1
         * ms): a hung-up socket is always "ready", and polling it until the pidfd says the init
         * is gone spun on the CPU the exiting init needed (issue #10, seen with sched_switch
         * tracing: the parent preempted the init for 2 ms). */
        w->sock_eof |= (p[1].revents & (POLLHUP | POLLERR)) != 0;
        if (p[4].revents & (POLLIN | POLLHUP)) {
            /* OCI start: release the waiting child (the deadline counts from here) */
            char b[64], go = 1;
            if (read(s->start_fd, b, sizeof(b)) > 0) {
                w->started = true;
                write_all(l->sock[0], &go, 1);
                if (s->timeout_ms > 0)
                    deadline = now_ms() + (double)s->timeout_ms;
            }
        }
        if (p[2].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(w->sigfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo != SIGCHLD && s->forward_signals) {
                if (w->created && !w->started) {
                    /* created, not started: no program to hand the signal to; it ends the sandbox */
                    kill_sandbox(l, w);
                } else {
                    syscall(SYS_pidfd_send_signal, w->pidfd, (int)si.ssi_signo, NULL, 0);
                    if ((si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) && stop_deadline < 0 &&
                        s->kill_grace_ms > 0)
                        stop_deadline = now_ms() + (double)s->kill_grace_ms;
                }
            }
        }
        if (p[0].revents & POLLIN) {
            if (TEMP_RETRY(wait4(w->pid, &w->init_status, 0, &w->ru)) == w->pid)
                w->exited = true;
        }
    }
    read_messages(l, w, res);
    if (w->t_ready > 0 && w->t_exit >= w->t_ready) {
        stage(res, "program", w->t_exit - w->t_ready);
        stage(res, "teardown", now_ms() - w->t_exit);
    }
    return 0;
}

static void classify(struct watch *w, struct sbx_result *res)
{
    res->user_cpu_ms = (double)w->ru.ru_utime.tv_sec * 1e3 + (double)w->ru.ru_utime.tv_usec / 1e3;
    res->sys_cpu_ms = (double)w->ru.ru_stime.tv_sec * 1e3 + (double)w->ru.ru_stime.tv_usec / 1e3;
    int st = w->have_status ? w->status : w->init_status;
    if (w->killed_seccomp) {
        res->end = SBX_END_SECCOMP;
        res->exit_code = GBOX_EXIT_SECCOMP;
    } else if (w->timed_out) {
        res->end = SBX_END_TIMEOUT;
        res->exit_code = GBOX_EXIT_TIMEOUT;
    } else if (w->have_err) {
        res->end = SBX_END_SETUP;
        res->exit_code = w->err.exit_code ? w->err.exit_code : GBOX_EXIT_LAUNCH;
        snprintf(res->setup_stage, sizeof(res->setup_stage), "%s", w->err.stage);
    } else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL && res->cg.oom_kills > 0) {
        res->end = SBX_END_OOM;
        res->status = SIGKILL;
        res->exit_code = GBOX_EXIT_OOM;
    } else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS) {
        /* The filter's arch check kills with SIGSYS: an i386 or x32 syscall. */
        res->end = SBX_END_SECCOMP;
        res->syscall_nr = -1;
        res->exit_code = GBOX_EXIT_SECCOMP;
    } else if (WIFSIGNALED(st)) {
        res->end = SBX_END_SIGNALED;
        res->status = WTERMSIG(st);
        res->exit_code = 128 + res->status;
    } else {
        res->end = SBX_END_EXITED;
        res->status = WEXITSTATUS(st);
        res->exit_code = res->status;
    }
}

int sbx_run(const struct sbx_spec *spec, struct sbx_result *res, struct sbx_err **err)
{
    memset(res, 0, sizeof(*res));
    sbx_cgroup_read_stats(NULL, &res->cg); /* all unknown until read */
    res->syscall_nr = -1;
    struct launch l = {.spec = spec, .sock = {-1, -1}, .state_lock = -1, .parent = getpid()};
    struct watch w = {.pidfd = -1, .sigfd = -1, .listener = -1};
    int rc = -1;
    double t = now_ms(), t0 = t;

    if (sbx_stdio_prepare(err) < 0 ||
        sbx_seccomp_prepare(&spec->seccomp, spec->seccomp_cache_dir, l.bpf, err) < 0)
        goto out;
    stage(res, "seccomp_compile", now_ms() - t);
    if (spec->lean) {
        /* compiled: a long-lived supervisor has no use for the rules any more (the report explains
         * a kill from the policy), and they were the largest part of its heap (351 rules of 160
         * bytes for base). The caller handed them over with lean; sbx_spec_free copes. */
        struct sbx_seccomp *sc = (struct sbx_seccomp *)&spec->seccomp;
        for (size_t i = 0; i < sc->n_filters && i < SBX_MAX_FILTERS; i++) {
            free(sc->filters[i].rules);
            sc->filters[i].rules = NULL;
            sc->filters[i].n_rules = 0;
        }
    }
    t = now_ms();
    if (sbx_overlay_lock_state(spec, &l.state_lock, err) < 0 || sbx_cgroup_plan(spec, &l.cg, err) < 0)
        goto out;
    double cgroup_ms = now_ms() - t;
    t = now_ms();
    l.own_netns = (spec->ns_flags & CLONE_NEWNET) && (spec->ns_flags & CLONE_NEWUSER);
    if (sbx_net_prepare(spec, &l.net, err) < 0)
        goto out;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, l.sock) < 0) {
        sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "socketpair");
        goto out;
    }
    l.ns_fd = spec->n_ns_join ? xcalloc(spec->n_ns_join, sizeof(int)) : NULL;
    for (size_t i = 0; i < spec->n_ns_join; i++)
        l.ns_fd[i] = -1;
    for (size_t i = 0; i < spec->n_ns_join; i++)
        if ((l.ns_fd[i] = open(spec->ns_join[i].path, O_RDONLY | O_CLOEXEC)) < 0) {
            sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "open namespace %s", spec->ns_join[i].path);
            goto out;
        }
    /* Block the forwarded signals before clone: the child inherits the mask and its init waits
     * for them with sigwaitinfo; the parent reads them from a signalfd. */
    sigset_t set, old;
    sbx_forward_set(&set);
    sigprocmask(SIG_BLOCK, &set, &old);
    w.sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (w.sigfd < 0) {
        sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "signalfd");
        goto out_mask;
    }
    /* gbox's own supplementary groups would follow the child into its user namespace, where
     * setgroups is denied and they could not be dropped: drop them here (gbox runs as root). */
    if (setgroups(0, NULL) < 0) {
        sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "drop supplementary groups");
        goto out_mask;
    }
    w.pid = do_clone(&l, &w.pidfd, err);
    if (w.pid < 0)
        goto out_mask;
    if (w.pid == 0)
        child_main(&l);
    close(l.sock[1]);
    l.sock[1] = -1;
    if (spec->lean)
        sbx_seccomp_release(l.bpf); /* the child has its copy, which it loads */
    stage(res, "clone", now_ms() - t);
    t = now_ms();
    char go = 1;
    /* C0 runs in the child meanwhile */
    int maps = sbx_cgroup_from_parent(l.cg, err);
    stage(res, "cgroup", cgroup_ms + now_ms() - t);
    t = now_ms();
    if (maps == 0 && l.own_netns && wait_netns(&l, err) < 0)
        maps = -1;
    stage(res, "netns", now_ms() - t);
    t = now_ms();
    if (maps == 0)
        maps = sbx_userns_from_parent(w.pid, spec, err);
    stage(res, "idmap", now_ms() - t);
    t = now_ms();
    if (maps < 0 || sbx_net_from_parent(l.net, w.pid, err) < 0 || write_all(l.sock[0], &go, 1) < 0) {
        if (!*err)
            sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "sync with the sandbox");
        kill_sandbox(&l, &w);
        TEMP_RETRY(waitpid(w.pid, NULL, 0));
        /* A child that failed on its own before "go" (a bad image, a layer that is a symlink…)
         * made the sync fail with EPIPE: its own message, if it sent one, says why. */
        take_child_error(&l, err);
        goto out_mask;
    }
    if (l.net)
        stage(res, "veth", now_ms() - t);
    double held_ms = 0;
    if (spec->on_release) {
        t = now_ms();
        if (hold(&l, &w, res, err) < 0) {
            kill_sandbox(&l, &w);
            TEMP_RETRY(waitpid(w.pid, NULL, 0));
            goto out_mask;
        }
        held_ms = now_ms() - t;
        stage(res, "held", held_ms);
    }
    if (supervise(&l, &w, res) < 0) {
        sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "supervise sandbox");
        kill_sandbox(&l, &w);
        TEMP_RETRY(waitpid(w.pid, NULL, 0));
        goto out_mask;
    }
    res->wall_ms = now_ms() - t0 - held_ms;
    if (spec->no_stats)
        sbx_cgroup_read_oom(l.cg, &res->cg);
    else
        sbx_cgroup_read_stats(l.cg, &res->cg);
    classify(&w, res);
    if (spec->no_stats && res->end != SBX_END_EXITED)
        sbx_cgroup_read_stats(l.cg, &res->cg); /* an abnormal end: its summary may use them */
    if (w.have_err && res->end == SBX_END_SETUP)
        snprintf(res->setup_stage, sizeof(res->setup_stage), "%s", w.err.stage);
    if (w.have_err) {
        /* Keep the child's message for the caller even though the run itself "worked". */
        sbx_err_set(err, res->exit_code, 0, "sandbox setup failed at %s: %s", w.err.stage, w.err.msg);
    }
    rc = 0;
out_mask:
    sigprocmask(SIG_SETMASK, &old, NULL);
out:
    sbx_net_release(&l.net); /* the child is reaped on every path that gets here */
    sbx_cgroup_release(&l.cg);
    sbx_seccomp_release(l.bpf);
    for (int i = 0; i < 2; i++)
        if (l.sock[i] >= 0)
            close(l.sock[i]);
    if (w.pidfd >= 0)
        close(w.pidfd);
    if (w.sigfd >= 0)
        close(w.sigfd);
    if (w.listener >= 0)
        close(w.listener);
    if (l.state_lock >= 0)
        close(l.state_lock);
    for (size_t i = 0; l.ns_fd && i < spec->n_ns_join; i++)
        if (l.ns_fd[i] >= 0)
            close(l.ns_fd[i]);
    free(l.ns_fd);
    return rc;
}

void sbx_spec_free(struct sbx_spec *s)
{
    if (!s)
        return;
    for (char **p = s->argv; p && *p; p++)
        free(*p);
    free(s->argv);
    for (char **p = s->envp; p && *p; p++)
        free(*p);
    free(s->envp);
    free(s->cwd);
    free(s->groups);
    free(s->rlimits);
    free(s->hostname);
    free(s->domainname);
    free(s->rootfs);
    for (size_t i = 0; i < s->n_layers; i++)
        free(s->layers[i]);
    free(s->layers);
    free(s->state_dir);
    free(s->stage_dir);
    for (size_t i = 0; i < s->n_mounts; i++) {
        free(s->mounts[i].source);
        free(s->mounts[i].target);
        for (size_t k = 0; k < s->mounts[i].n_layers; k++)
            free(s->mounts[i].layers[k]);
        free(s->mounts[i].layers);
    }
    free(s->mounts);
    for (size_t i = 0; i < SBX_MAX_FILTERS; i++)
        free(s->seccomp.filters[i].rules);
    free(s->cgroup_name);
    free(s->limits.cpuset_cpus);
    free(s->limits.cpuset_mems);
    free(s->limits.io);
    free(s->seccomp_cache_dir);
    free(s->cgroup_sweep_stamp);
    free(s->veth.egress);
    for (size_t i = 0; i < s->n_sysctl; i++) {
        free(s->sysctl[i].key);
        free(s->sysctl[i].value);
    }
    free(s->sysctl);
    for (size_t i = 0; i < s->n_ns_join; i++)
        free(s->ns_join[i].path);
    free(s->ns_join);
    for (size_t i = 0; i < s->landlock.n_paths; i++)
        free(s->landlock.paths[i].path);
    free(s->landlock.paths);
    free(s->landlock.bind_ports);
    free(s->landlock.connect_ports);
    memset(s, 0, sizeof(*s));
}
