/* init.c — the sandbox's pid 1. It forks the program, reaps every zombie, forwards the signals
 * gbox receives, and reports the program's wait status to the parent. A pid-1 program would
 * ignore SIGTERM/SIGINT without handlers and leave zombies behind; this small init avoids both.
 * It runs after the seccomp filter is loaded and uses only calls of the "@default" group. */
#include "internal.h"
#include "util.h"

#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>

int child_fail(struct child_err *ce, const char *stage, int errnum, const char *fmt, ...)
{
    snprintf(ce->stage, sizeof(ce->stage), "%s", stage);
    ce->errnum = errnum;
    va_list ap;
    va_start(ap, fmt);
    vformat_msg(ce->msg, sizeof(ce->msg), errnum, fmt, ap);
    va_end(ap);
    if (!ce->exit_code)
        ce->exit_code = GBOX_EXIT_LAUNCH;
    return -1;
}

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

void sbx_forward_set(sigset_t *set)
{
    sigemptyset(set);
    for (size_t i = 0; i < ARRAY_LEN(forwarded); i++)
        sigaddset(set, forwarded[i]);
    sigaddset(set, SIGCHLD);
}

void sbx_reset_signals(void)
{
    /* A signal ignored or blocked by whoever started gbox must not stay so for the program. */
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* The signals this init ignores (SIG_IGN), noted before the program is known: execve resets
 * caught signals to their default itself, ignored ones stay ignored, so the program's process
 * resets just these (sbx_reset_signals' effect at a fraction of its 64 calls, after the request). */
static sigset_t ignored;
static bool ignored_known;

void sbx_note_ignored_signals(void)
{
    sigemptyset(&ignored);
    for (int sig = 1; sig < NSIG; sig++) {
        struct sigaction sa;
        if (sig == SIGKILL || sig == SIGSTOP || sigaction(sig, NULL, &sa) < 0 || sa.sa_handler == SIG_IGN)
            sigaddset(&ignored, sig); /* unknown: reset it to be sure */
    }
    ignored_known = true;
}

static void __attribute__((noreturn)) exec_program(const struct sbx_spec *spec, int sync_fd)
{
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP && sigismember(&ignored, sig) == 1)
            signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(spec->argv[0], spec->argv, spec->envp);
    struct child_msg m = {.type = MSG_ERROR};
    int e = errno;
    child_fail(&m.err, "exec", e, "exec %s", spec->argv[0]);
    m.err.exit_code = (e == ENOENT || e == ENOTDIR) ? GBOX_EXIT_NOT_FOUND : GBOX_EXIT_CANNOT_EXEC;
    write_all(sync_fd, &m, sizeof(m));
    _exit(m.err.exit_code);
}

#if !defined(__SANITIZE_ADDRESS__)
struct program_arg {
    const struct sbx_spec *spec;
    int sync_fd;
};

static int program_main(void *arg)
{
    const struct program_arg *a = arg;
    exec_program(a->spec, a->sync_fd);
}
#endif

/* The program's process, vfork-style (CLONE_VM | CLONE_VFORK, on a stack of its own): no copy
 * of the init's page tables, and the init sleeps until the program's execve instead of competing
 * with it for a CPU (and waking the parent with MSG_READY) while it starts. The child only resets
 * signals, execs, or reports why it could not and _exits. */
static pid_t start_program(const struct sbx_spec *spec, int sync_fd)
{
#if defined(__SANITIZE_ADDRESS__)
    /* ASan cannot follow a stack switch before a noreturn call (it prints a warning on the
     * program's stderr): the sanitizer build forks */
    pid_t pid = fork();
    if (pid == 0)
        exec_program(spec, sync_fd);
    return pid;
#else
    static char stack[32 * 1024] __attribute__((aligned(16)));
    struct program_arg a = {spec, sync_fd};
    return clone(program_main, stack + sizeof(stack), CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
#endif
}

int sbx_init_run(const struct sbx_spec *spec, int sync_fd, struct child_msg *ready)
{
    sigset_t set;
    sbx_forward_set(&set);
    if (spec->wait_start) {
        /* OCI "created": everything is in place; the parent says when to start (EOF: never). */
        struct child_msg c = {.type = MSG_CREATED};
        char go;
        if (write_all(sync_fd, &c, sizeof(c)) < 0 || TEMP_RETRY(read(sync_fd, &go, 1)) != 1)
            return -1;
        /* OCI startContainer: in the container, started, before the program */
        struct child_msg m = {.type = MSG_ERROR};
        if (sbx_hooks_in_child(&spec->start_hooks, "startContainer", &m.err) < 0) {
            write_all(sync_fd, &m, sizeof(m));
            return -1;
        }
    }
    if (!ignored_known)
        sbx_note_ignored_signals();
    /* The program cannot ptrace or read the memory of this init, nor take its descriptors (the
     * seccomp listener: launch.c) with pidfd_getfd (it runs as the same uid): from before it
     * exists. Its own exec makes it dumpable again for itself. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    pid_t pid = start_program(spec, sync_fd);
    if (pid < 0) {
        struct child_msg m = {.type = MSG_ERROR};
        child_fail(&m.err, "init", errno, "fork the program");
        write_all(sync_fd, &m, sizeof(m));
        return -1;
    }
    write_all(sync_fd, ready, sizeof(*ready));
    if (spec->lean)
        give_back_memory(); /* after the fork: the program's copy is gone with its exec anyway */
    for (;;) {
        siginfo_t si;
        int sig = TEMP_RETRY(sigwaitinfo(&set, &si));
        if (sig < 0)
            return -1;
        if (sig != SIGCHLD) {
            kill(pid, sig);
            continue;
        }
        int status;
        pid_t p;
        while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
            if (p == pid) {
                struct child_msg m = {.type = MSG_EXIT, .value = status};
                write_all(sync_fd, &m, sizeof(m));
                return 0;
            }
        }
    }
}
