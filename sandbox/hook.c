/* hook.c — a program run at a moment of a sandbox's life with a state document on its stdin (the
 * OCI hooks). The same code runs in gbox-runc (prestart, createRuntime, poststart, poststop), in
 * the sandbox's child before pivot_root (createContainer) and in its init after start, under the
 * container's seccomp filter and credentials (startContainer): so only fork, pipe, execve,
 * rt_sigtimedwait, wait4 and kill, no pidfd (a container's profile may not allow it). */
#include "internal.h"
#include "util.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

static double mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* Wait for pid, up to deadline (< 0: none); SIGCHLD is blocked by the caller. */
static int wait_until(pid_t pid, double deadline, int *status)
{
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    for (;;) {
        pid_t r = TEMP_RETRY(waitpid(pid, status, WNOHANG));
        if (r == pid)
            return 0;
        if (r < 0)
            return -1;
        struct timespec ts = {1, 0};
        if (deadline >= 0) {
            double left = deadline - mono_ms();
            if (left <= 0)
                return errno = ETIMEDOUT, -1;
            ts.tv_sec = (time_t)(left / 1e3);
            ts.tv_nsec = (long)((left - (double)ts.tv_sec * 1e3) * 1e6);
        }
        /* a SIGCHLD of another child, or none (EAGAIN): look again */
        sigtimedwait(&chld, NULL, &ts);
    }
}

int sbx_hook_run(const struct sbx_hook *h, const char *state, const char *kind, char *msg, size_t len)
{
    int in[2] = {-1, -1}, ex[2] = {-1, -1}; /* the state; exec's errno (EOF: exec worked) */
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(ex, O_CLOEXEC) < 0) {
        snprintf(msg, len, "%s hook %s: pipe: %s", kind, h->path, strerror(errno));
        for (int i = 0; i < 2; i++)
            if (in[i] >= 0)
                close(in[i]);
        return -1;
    }
    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &old);
    pid_t pid = fork();
    if (pid == 0) {
        sbx_reset_signals();
        /* dup2 onto itself (stdin was closed) keeps close-on-exec: clear it then */
        if (in[0] == STDIN_FILENO ? fcntl(in[0], F_SETFD, 0) >= 0 : dup2(in[0], STDIN_FILENO) >= 0)
            execve(h->path, h->args, h->env);
        int e = errno;
        write_all(ex[1], &e, sizeof(e));
        _exit(127);
    }
    int e = errno;
    close(in[0]);
    close(ex[1]);
    int rc = -1, st = 0;
    if (pid < 0) {
        snprintf(msg, len, "%s hook %s: fork: %s", kind, h->path, strerror(e));
        goto out;
    }
    /* a hook that does not read its stdin must not kill us with SIGPIPE */
    struct sigaction ign = {.sa_handler = SIG_IGN}, was;
    sigaction(SIGPIPE, &ign, &was);
    write_all(in[1], state, strlen(state));
    sigaction(SIGPIPE, &was, NULL);
    close(in[1]);
    in[1] = -1;
    int exec_errno = 0;
    ssize_t n = TEMP_RETRY(read(ex[0], &exec_errno, sizeof(exec_errno)));
    double deadline = h->timeout > 0 ? mono_ms() + h->timeout * 1e3 : -1;
    if (wait_until(pid, deadline, &st) < 0) {
        e = errno;
        kill(pid, SIGKILL);
        TEMP_RETRY(waitpid(pid, NULL, 0));
        if (e == ETIMEDOUT)
            snprintf(msg, len, "%s hook %s: timed out after %d s", kind, h->path, h->timeout);
        else
            snprintf(msg, len, "%s hook %s: wait: %s", kind, h->path, strerror(e));
    } else if (n == (ssize_t)sizeof(exec_errno)) {
        snprintf(msg, len, "%s hook %s: exec: %s", kind, h->path, strerror(exec_errno));
    } else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        snprintf(msg, len, "%s hook %s failed (%s %d)", kind, h->path, WIFEXITED(st) ? "exit code" : "signal",
                 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    } else {
        rc = 0;
    }
out:
    if (in[1] >= 0)
        close(in[1]);
    close(ex[0]);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return rc;
}

int sbx_hooks_in_child(const struct sbx_hooks *hs, const char *kind, struct child_err *ce)
{
    for (size_t i = 0; i < hs->n; i++) {
        char msg[sizeof(ce->msg)];
        if (sbx_hook_run(&hs->hooks[i], hs->state ? hs->state : "{}", kind, msg, sizeof(msg)) < 0)
            return child_fail(ce, kind, 0, "%s", msg);
    }
    return 0;
}
