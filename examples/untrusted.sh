#!/bin/sh
# An "untrusted" program: it tries what a hostile script would try, and
# prints one line per attempt. Run it under the default policy:
#
#     gbox run examples/untrusted.sh
#
# Each attempt uses /usr/bin/probe, the image's helper that makes one system
# call and prints "ok N" when it worked or "errno NAME N" when it was refused.
# The last attempt (ptrace) is one the policy answers by killing the sandbox.

# Put a refusal into words.
explain() {
    case $1 in
    EPERM) echo "EPERM: not permitted" ;;
    EACCES) echo "EACCES: permission denied" ;;
    EROFS) echo "EROFS: the root file system is read-only" ;;
    ENETUNREACH) echo "ENETUNREACH: the sandbox has no network" ;;
    EAGAIN) echo "EAGAIN: the process limit was reached" ;;
    ENOSYS) echo "ENOSYS: this system call is not available" ;;
    *) echo "$1" ;;
    esac
}

# attempt "DESCRIPTION" COMMAND...: run COMMAND and judge its last line.
attempt() {
    what=$1
    shift
    result=$("$@" 2>&1 | tail -n 1)
    case $result in
    "errno "*)
        name=${result#errno }
        echo "[attempt] $what ... BLOCKED ($(explain "${name%% *}"))"
        ;;
    ok* | yes)
        echo "[attempt] $what ... ALLOWED"
        ;;
    *)
        echo "[attempt] $what ... ALLOWED? (unexpected: $result)"
        ;;
    esac
}

echo "untrusted program running as uid $(id -u) on host '$(hostname)'"

if [ "$(probe exists /etc/shadow)" = no ]; then
    echo "[attempt] find the host's password hashes in /etc/shadow ... BLOCKED (not visible: the sandbox has its own root)"
else
    attempt "read the host's password hashes in /etc/shadow" probe read /etc/shadow
fi
attempt "write a file into /" probe write /pwned "owned"
attempt "give itself CAP_SYS_ADMIN" probe caps-raise CAP_SYS_ADMIN
# keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, create)
attempt "use the kernel keyring (keyctl)" probe syscall keyctl 0 -3 1
attempt "mount a tmpfs over /tmp" probe syscall mount str:none str:/tmp str:tmpfs 0 0
attempt "create a user namespace (unshare)" probe unshare user
attempt "connect to ssh on 127.0.0.1:22" probe connect 127.0.0.1 22

# The fork bomb is stopped by the sandbox's pids limit, then cleaned up.
bomb=$(probe forkbomb 100000 2>&1)
forked=$(echo "$bomb" | sed -n 's/^forked //p')
last=$(echo "$bomb" | tail -n 1)
if [ "${last%% *}" = errno ]; then
    name=${last#errno }
    echo "[attempt] fork bomb ... BLOCKED after $forked processes ($(explain "${name%% *}"))"
else
    echo "[attempt] fork bomb ... ALLOWED ($forked processes)"
fi

echo "[final] calling ptrace, which this policy kills the sandbox for"
# exec: the probe replaces this shell, so the kill ends the program here.
exec probe ptrace 1
