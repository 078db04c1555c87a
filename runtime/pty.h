/* pty.h — `gbox run -t`: the sandbox gets a pseudo-terminal of gbox's own, never the host's
 * terminal; gbox relays between them, puts the host terminal in raw mode, passes window size
 * changes on, and restores the terminal when the run ends. */
#ifndef GBOX_PTY_H
#define GBOX_PTY_H

#include "../sandbox/sbx.h"
#include <pthread.h>
#include <termios.h>

struct pty_relay {
    int master, slave;
    int saved[3];         /* gbox's own stdin, stdout, stderr while the slave stands in for them */
    int stop[2];          /* a pipe: the relay thread ends when it is written to */
    bool raw;             /* the host terminal was put in raw mode */
    struct termios orig;
    pthread_t thread;
    bool running;
};

/* Open a pty sized like stdin's terminal (24x80 otherwise), make its slave gbox's fds 0-2 (the
 * sandbox inherits them), raw mode on the host terminal, start the relay thread. */
int pty_start(struct pty_relay *r, struct sbx_err **err);
/* After the run: put gbox's fds back, drain what the program wrote, restore the terminal. */
void pty_finish(struct pty_relay *r);

#endif
