#!/usr/bin/env bats
# kernel.bats — kernel interfaces a sandbox must not reach: each attack is made with real
# arguments, under playground (which kills on @privileged, @namespaces and @debug) and
# server_application (base's lists: EPERM for those, kill on @debug).

load helpers

PG=playground
SA=server_application

@test "open_by_handle_at with a guessed handle (shocker): killed in playground, EPERM in server_application" {
    killed_for $PG open_by_handle_at "seccomp.kill (@privileged)" attack open-by-handle
    blocked_as $SA "errno EPERM 1" attack open-by-handle
    killed_for $PG name_to_handle_at "seccomp.kill (@privileged)" attack name-to-handle
    blocked_as $SA "errno EPERM 1" attack name-to-handle
}

@test "TIOCSTI into one's own controlling pty, also with bits above 31 set: EPERM (and it works on this host outside)" {
    # control: outside gbox the attack injects a byte (dev.tty.legacy_tiocsti is on here)
    run "$ATTACK" tiocsti
    assert_line --index 0 "TIOCSTI: ok injected"
    local pol
    for pol in $PG $SA; do
        blocked_as "$pol" "$(printf '%s\n' 'TIOCSTI: errno EPERM 1' 'TIOCSTI|1<<32: errno EPERM 1' 'TIOCSTI|~0<<32: errno EPERM 1')" attack tiocsti
    done
}

@test "TIOCSTI into the host terminal gbox was started from: EPERM (the sandbox has no controlling terminal either)" {
    command -v script >/dev/null || fail "script(1) (bsdutils) is needed to give gbox a real terminal"
    local pol
    for pol in $PG $SA; do
        run script -qec "$GBOX run --policy $pol --in-image sh -c 'probe tiocsti; probe tiocsti high; attack tty'" /dev/null
        assert_output "$(printf 'errno EPERM 1\r\nerrno EPERM 1\r\nerrno ENXIO 6\r')"
    done
}

@test "TIOCLINUX (also with high bits) and TIOCSETD (line disciplines such as n_gsm): EPERM" {
    local pol
    for pol in $PG $SA; do
        blocked_as "$pol" "$(printf '%s\n' 'TIOCLINUX: errno EPERM 1' 'TIOCLINUX|1<<32: errno EPERM 1' 'TIOCLINUX on fd 0: errno EPERM 1')" attack tioclinux
        blocked_as "$pol" "errno EPERM 1" attack ldisc
    done
}

@test "keyring (add_key, keyctl, request_key): EPERM" {
    local pol
    for pol in $PG $SA; do
        blocked_as "$pol" "$(printf '%s\n' 'add_key: errno EPERM 1' 'keyctl join: errno EPERM 1' 'request_key: errno EPERM 1')" attack keyring
    done
}

@test "userfaultfd: killed in playground, EPERM in server_application" {
    killed_for $PG userfaultfd "seccomp.kill (@privileged)" attack userfaultfd
    blocked_as $SA "errno EPERM 1" attack userfaultfd
}

@test "bpf (BPF_PROG_LOAD): killed in playground, EPERM in server_application" {
    killed_for $PG bpf "seccomp.kill (@privileged)" attack bpf
    blocked_as $SA "errno EPERM 1" attack bpf
}

@test "perf_event_open: the sandbox is killed (@debug) in both" {
    killed_for $PG perf_event_open "seccomp.kill (@debug)" attack perf
    killed_for $SA perf_event_open "seccomp.kill (@debug)" attack perf
}

@test "io_uring: EPERM in playground (denied), ENOSYS in server_application (named nowhere)" {
    blocked_as $PG "$(printf '%s\n' 'io_uring_setup: errno EPERM 1' 'io_uring_enter: errno EPERM 1' 'io_uring_register: errno EPERM 1')" attack uring
    blocked_as $SA "$(printf '%s\n' 'io_uring_setup: errno ENOSYS 38' 'io_uring_enter: errno ENOSYS 38' 'io_uring_register: errno ENOSYS 38')" attack uring
}

@test "nested user and other namespaces through clone and clone3, including a flag hidden above bit 31" {
    local pol
    for pol in $PG $SA; do
        blocked_as "$pol" "$(printf '%s\n' 'clone NEWUSER: errno EPERM 1' 'clone NEWUSER|NEWNS|NEWPID|NEWNET: errno EPERM 1' \
            'clone NEWUSER|1<<32: errno EPERM 1' 'clone NEWCGROUP: errno EPERM 1' 'clone3 NEWUSER: errno ENOSYS 38')" attack clone-ns
    done
}

@test "unshare and setns: killed in playground (@namespaces), EPERM in server_application" {
    killed_for $PG unshare "seccomp.kill (@namespaces)" attack unshare
    blocked_as $SA "errno EPERM 1" attack unshare
    blocked_as $SA "errno EPERM 1" attack unshare 0x7e020080 # every CLONE_NEW* incl. time
    killed_for $PG setns "seccomp.kill (@namespaces)" attack setns
    assert_output "open ns: ok 3"
    blocked_as $SA "$(printf 'open ns: ok 3\nsetns: errno EPERM 1')" attack setns
}

@test "mount, umount2, pivot_root, chroot and the new mount API: EPERM" {
    local pol want
    want=$(printf '%s: errno EPERM 1\n' mount 'mount bind' 'remount rw' umount2 pivot_root chroot fsopen fsconfig \
        fsmount fspick open_tree move_mount mount_setattr)
    for pol in $PG $SA; do
        blocked_as "$pol" "$want" attack mount-api
    done
}

@test "CVE-2022-0492: a cgroup v1 hierarchy of one's own (release_agent) cannot be mounted" {
    local pol
    for pol in $PG $SA; do
        blocked_as "$pol" "errno EPERM 1" attack cgroup-mount
    done
}

@test "kernel modules, kexec and reboot: EPERM" {
    local pol
    for pol in $PG $SA; do
        blocked_as "$pol" "$(printf '%s\n' 'init_module: errno EPERM 1' 'finit_module: errno EPERM 1' 'delete_module: errno EPERM 1')" attack modules
        blocked_as "$pol" "$(printf '%s\n' 'kexec_load: errno EPERM 1' 'kexec_file_load: errno EPERM 1')" attack kexec
        blocked_as "$pol" "errno EPERM 1" attack reboot
    done
}

@test "the system clock (settimeofday, clock_settime, adjtimex, clock_adjtime) and swap: EPERM" {
    local pol
    for pol in $PG $SA; do
        blocked_as "$pol" "$(printf '%s: errno EPERM 1\n' settimeofday clock_settime adjtimex clock_adjtime)" attack clock
        blocked_as "$pol" "$(printf '%s: errno EPERM 1\n' swapon swapoff)" attack swap
    done
}

@test "acct, personality(READ_IMPLIES_EXEC) and syslog: killed in playground (@privileged), EPERM in server_application" {
    local c sc
    for c in acct:acct personality:personality syslog:syslog; do
        sc=${c#*:}
        killed_for $PG "$sc" "seccomp.kill (@privileged)" attack "${c%%:*}"
        blocked_as $SA "errno EPERM 1" attack "${c%%:*}"
    done
}

@test "raw I/O ports and the LDT (iopl, ioperm, modify_ldt): EPERM" {
    local pol
    for pol in $PG $SA; do
        blocked_as "$pol" "$(printf '%s: errno EPERM 1\n' iopl ioperm modify_ldt)" attack hw
    done
}

@test "i386 syscalls through int 0x80: the sandbox dies by SIGSYS (159), report non-native-abi" {
    run "$PROBE" i386 20
    [ "$output" != "unsupported i386" ] || require_feature ia32-emulation "the host kernel has no i386 syscall ABI"
    local pol
    for pol in $PG $SA; do
        attempt "$pol" probe i386 20
        assert_failure 159
        assert_equal "$(report_of .end)" seccomp
        assert_equal "$(report_of .syscall.name)" non-native-abi
    done
}

@test "x32 syscalls: the sandbox dies by SIGSYS (159), report non-native-abi" {
    local pol
    for pol in $PG $SA; do
        attempt "$pol" probe x32 39
        assert_failure 159
        assert_output ""
        assert_equal "$(report_of .syscall.name)" non-native-abi
    done
}

@test "regaining privileges: capset, ambient, setuid 0, setgroups, no_new_privs and seccomp off, rlimits, RT, nice, mknod" {
    local pol want
    want=$(printf '%s\n' 'capset all: errno EPERM 1' 'ambient raise: errno EPERM 1' 'setuid 0: errno EPERM 1' \
        'setresuid 0: errno EPERM 1' 'setgid 0: errno EPERM 1' 'setgroups: errno EPERM 1' \
        'unset no_new_privs: errno EINVAL 22' 'disable seccomp: errno EINVAL 22' \
        'raise RLIMIT_NOFILE: errno EPERM 1' 'SCHED_FIFO: errno EPERM 1' 'nice -20: errno EACCES 13' \
        'mknod /dev/mem: errno EPERM 1')
    for pol in $PG $SA; do
        blocked_as "$pol" "$want" attack privs
        blocked_as "$pol" "errno EACCES 13" attack oom-adj -1000
        # set by gbox, not inherited from its caller: no real-time or raised priority
        attempt "$pol" probe rlimits
        assert_line "rtprio 0 0"
        assert_line "nice 0 0"
    done
}

@test "stealing init's fds (its socket to gbox) with pidfd_getfd, and kcmp: the sandbox is killed (@debug)" {
    local pol
    for pol in $PG $SA; do
        killed_for "$pol" pidfd_getfd "seccomp.kill (@debug)" attack pidfd-getfd
        assert_output "pidfd_open 1: ok 3"
        killed_for "$pol" kcmp "seccomp.kill (@debug)" attack kcmp
    done
}

@test "core dumps stay off, also to a core_pattern pipe (the host's crash handler): RLIMIT_CORE 1, lowering it EPERM (high bits too)" {
    # RLIMIT_CORE 0 would not stop a pipe: the kernel only aborts dumps at exactly 1
    local pol
    for pol in $PG $SA; do
        blocked_as "$pol" "$(printf '%s\n' 'setrlimit: errno EPERM 1' 'prlimit64: errno EPERM 1' \
            'setrlimit|1<<32: errno EPERM 1' 'prlimit64|1<<32: errno EPERM 1' 'prlimit64 read: ok 0' 'core 1 1')" attack core-limit
    done
}
