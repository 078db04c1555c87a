/* pty.c — the pseudo-terminal of `gbox run -t` (pty.h). The relay runs in a thread of its own so
 * sbx_run's supervision loop stays as it is; it copies host stdin -> master and master -> host
 * stdout, and sets the master's window size whenever SIGWINCH arrives (a handler writes to a
 * pipe the relay polls). */
#include "pty.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int winch_pipe[2] = {-1, -1};

static void on_winch(int sig)
{
    (void)sig;
    int e = errno;
    if (winch_pipe[1] >= 0 && write(winch_pipe[1], "w", 1) < 0) {
        /* full: a resize is already pending */
    }
    errno = e;
}

static void copy_winsize(int from, int to)
{
    struct winsize ws;
    if (ioctl(from, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
        ioctl(to, TIOCSWINSZ, &ws);
}

static int write_full(int fd, const char *buf, ssize_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, (size_t)n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        buf += w, n -= w;
    }
    return 0;
}

/* A resize that arrived (the handler wrote to the pipe) is applied before anything typed after it
 * is passed on: the program must see the new size when it reads that input. */
static void apply_winch(struct pty_relay *r)
{
    char c[16];
    if (read(winch_pipe[0], c, sizeof(c)) > 0)
        copy_winsize(r->saved[0], r->master);
}

static void *relay(void *arg)
{
    struct pty_relay *r = arg;
    char buf[4096];
    bool in_open = true;
    for (;;) {
        struct pollfd p[4] = {{.fd = r->master, .events = POLLIN},
                              {.fd = in_open ? r->saved[0] : -1, .events = POLLIN},
                              {.fd = r->stop[0], .events = POLLIN},
                              {.fd = winch_pipe[0], .events = POLLIN}};
        if (poll(p, 4, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        apply_winch(r);
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(r->master, buf, sizeof(buf));
            if (n > 0)
                write_full(r->saved[1], buf, n);
            else if (n < 0 && errno != EINTR && errno != EAGAIN)
                break; /* EIO: no process holds the slave any more */
        }
        if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(r->saved[0], buf, sizeof(buf));
            apply_winch(r); /* the signal may have come during that read */
            if (n > 0)
                write_full(r->master, buf, n);
            else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
                in_open = false; /* end of input: the terminal's EOF character */
                char eof = 4;
                write_full(r->master, &eof, 1);
            }
        }
        if (p[2].revents & POLLIN)
            break;
    }
    return NULL;
}

int pty_start(struct pty_relay *r, struct sbx_err **err)
{
    memset(r, 0, sizeof(*r));
    r->master = r->slave = r->stop[0] = r->stop[1] = -1;
    r->saved[0] = r->saved[1] = r->saved[2] = -1;
    r->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (r->master < 0 || grantpt(r->master) < 0 || unlockpt(r->master) < 0)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "-t: allocate a pseudo-terminal");
    char name[64];
    if (ptsname_r(r->master, name, sizeof(name)) != 0 || (r->slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "-t: open the pseudo-terminal's slave");
    /* The sandbox uses the fds it inherits; the node keeps its mode (0620, root's): nothing
     * else on the host may open it. */
    struct winsize ws = {.ws_row = 24, .ws_col = 80};
    if (isatty(STDIN_FILENO))
        ioctl(STDIN_FILENO, TIOCGWINSZ, &ws);
    ioctl(r->slave, TIOCSWINSZ, &ws);
    if (pipe2(r->stop, O_CLOEXEC) < 0 || (winch_pipe[0] < 0 && pipe2(winch_pipe, O_CLOEXEC | O_NONBLOCK) < 0))
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "-t: pipe");
    for (int fd = 0; fd < 3; fd++) {
        r->saved[fd] = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (r->saved[fd] < 0)
            return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "-t: save fd %d", fd);
    }
    if (isatty(r->saved[0]) && tcgetattr(r->saved[0], &r->orig) == 0) {
        struct termios raw = r->orig;
        cfmakeraw(&raw);
        if (tcsetattr(r->saved[0], TCSANOW, &raw) == 0)
            r->raw = true;
    }
    struct sigaction sa = {.sa_handler = on_winch, .sa_flags = SA_RESTART};
    sigaction(SIGWINCH, &sa, NULL);
    for (int fd = 0; fd < 3; fd++)
        if (dup2(r->slave, fd) < 0)
            return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "-t: pseudo-terminal as fd %d", fd);
    /* the relay thread must not take the signals sbx_run forwards through its signalfd */
    sigset_t all, old;
    sigfillset(&all);
    sigdelset(&all, SIGWINCH);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&r->thread, NULL, relay, r);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, rc, "-t: start the terminal relay");
    r->running = true;
    /* Only the relay may take SIGWINCH: delivered to this thread, the handler could run after
     * the relay had passed on input typed after the resize (a loaded host showed it). The
     * program does not inherit this: the sandbox's init clears the mask before its exec. */
    sigset_t winch;
    sigemptyset(&winch);
    sigaddset(&winch, SIGWINCH);
    pthread_sigmask(SIG_BLOCK, &winch, NULL);
    return 0;
}

void pty_finish(struct pty_relay *r)
{
    for (int fd = 0; fd < 3; fd++)
        if (r->saved[fd] >= 0)
            dup2(r->saved[fd], fd);
    if (r->slave >= 0)
        close(r->slave); /* now nobody holds it: the relay reads what is left, then EIO */
    r->slave = -1;
    if (r->running) {
        /* give the relay a moment to drain the master before telling it to stop */
        struct pollfd p = {.fd = r->master, .events = POLLIN};
        for (int i = 0; i < 50 && poll(&p, 1, 0) > 0 && !(p.revents & POLLHUP); i++)
            usleep(10000);
        if (write(r->stop[1], "x", 1) < 0) {
            /* the thread also ends on EIO */
        }
        pthread_join(r->thread, NULL);
        r->running = false;
    }
    if (r->raw)
        tcsetattr(r->saved[0], TCSAFLUSH, &r->orig);
    signal(SIGWINCH, SIG_DFL);
    sigset_t winch;
    sigemptyset(&winch);
    sigaddset(&winch, SIGWINCH);
    pthread_sigmask(SIG_UNBLOCK, &winch, NULL);
    for (int i = 0; i < 3; i++)
        if (r->saved[i] >= 0)
            close(r->saved[i]);
    int fds[] = {r->master, r->stop[0], r->stop[1]};
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        if (fds[i] >= 0)
            close(fds[i]);
    r->master = r->stop[0] = r->stop[1] = -1;
}
