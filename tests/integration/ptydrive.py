#!/usr/bin/env python3
"""ptydrive.py — run a command on a pseudo-terminal, as a person at a terminal would.

  ptydrive.py ROWS COLS STEPS_JSON -- CMD...

STEPS_JSON is a list of steps: {"expect": TEXT} waits (at most 60 s) until TEXT has appeared in
the output, {"send": TEXT} types TEXT, {"resize": [ROWS, COLS]} resizes the terminal (SIGWINCH), {"sleep": S} reads on for S seconds.
Prints everything the command wrote, then "EXIT N" (its exit code), and the terminal's
attributes check: "TERMIOS RESTORED" when the terminal's mode after the command equals the one
before. Exit 3 when an expected text never came."""
import fcntl, json, os, pty, select, struct, sys, termios, time

def main():
    rows, cols, steps = int(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
    cmd = sys.argv[sys.argv.index("--") + 1:]
    # the terminal's mode is read before the command exists, so it cannot have changed it yet
    fd, slave = pty.openpty()
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    before = termios.tcgetattr(fd)
    pid = os.fork()
    if pid == 0:
        os.close(fd)
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for i in range(3):
            os.dup2(slave, i)
        if slave > 2:
            os.close(slave)
        os.execvp(cmd[0], cmd)
    os.close(slave)
    out = b""
    def pump(timeout):
        nonlocal out
        r, _, _ = select.select([fd], [], [], timeout)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                return False
            if not data:
                return False
            out += data
        return True
    for st in steps:
        if "expect" in st:
            deadline = time.time() + 60 * int(os.environ.get("GBOX_TEST_TIME_SCALE", "1"))
            while st["expect"].encode() not in out:
                if time.time() > deadline or not pump(0.2):
                    sys.stdout.write(out.decode(errors="replace"))
                    print("\nTIMEOUT waiting for %r" % st["expect"])
                    sys.exit(3)
        elif "send" in st:
            os.write(fd, st["send"].encode())
        elif "sleep" in st:  # keep reading for that long
            until = time.time() + st["sleep"]
            while time.time() < until and pump(0.1):
                pass
        elif "resize" in st:
            fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", st["resize"][0], st["resize"][1], 0, 0))
            os.kill(pid, 28)  # SIGWINCH, as the terminal emulator sends it to the foreground
    deadline = time.time() + 60 * int(os.environ.get("GBOX_TEST_TIME_SCALE", "1"))
    while time.time() < deadline:
        wp, status = os.waitpid(pid, os.WNOHANG)
        if wp:
            break
        pump(0.1)
    else:
        os.kill(pid, 9)
        wp, status = os.waitpid(pid, 0)
    while pump(0.05):
        pass
    after = termios.tcgetattr(fd) if True else None
    sys.stdout.write(out.decode(errors="replace").replace("\r\n", "\n"))
    print("\nEXIT %d" % os.waitstatus_to_exitcode(status))
    print("TERMIOS RESTORED" if after == before else "TERMIOS CHANGED")

main()
