#!/usr/bin/env bats
# processes.bats — reaching processes outside the sandbox: another sandbox (ptrace,
# process_vm_readv, signals) and host processes, including one that runs as the very host uid
# every sandbox's uid 1000 maps to.

load helpers

teardown() {
    stop "${OTHER_GBOX:-}" "${SLEEPER:-}"
}

# start_other POLICY — a second sandbox that sleeps; sets OTHER_GBOX and OTHER_PID (its
# program's host pid).
start_other() {
    "$GBOX" run --policy "$1" --in-image probe sleep 30 >/dev/null 2>&1 &
    OTHER_GBOX=$!
    OTHER_PID=$(sandbox_program_pid "$OTHER_GBOX") || fail "the second sandbox did not start"
}

@test "another sandbox is invisible: kill, pidfd_open, /proc/PID with its host pid all fail (ESRCH, ENOENT)" {
    local pol
    for pol in playground server_application; do
        start_other "$pol"
        blocked_as "$pol" "$(printf '%s\n' 'kill 0: errno ESRCH 3' 'pidfd_open: errno ESRCH 3' \
            'stat /proc/PID: errno ENOENT 2' 'kill KILL: errno ESRCH 3')" attack see-pid "$OTHER_PID"
        kill -0 "$OTHER_PID" || fail "$pol: the other sandbox died"
        stop "$OTHER_GBOX"
    done
}

@test "ptrace of another sandbox by its host pid: the attacker is killed (@debug), the target lives" {
    local pol
    for pol in playground server_application; do
        start_other "$pol"
        killed_for "$pol" ptrace "seccomp.kill (@debug)" attack ptrace "$OTHER_PID"
        kill -0 "$OTHER_PID" || fail "$pol: the other sandbox died"
        grep -q '^TracerPid:[[:space:]]*0$' "/proc/$OTHER_PID/status" || fail "$pol: the other sandbox is traced"
        stop "$OTHER_GBOX"
    done
}

@test "process_vm_readv and process_vm_writev of another sandbox: the attacker is killed (@debug)" {
    local pol
    for pol in playground server_application; do
        start_other "$pol"
        killed_for "$pol" process_vm_readv "seccomp.kill (@debug)" attack vm-read "$OTHER_PID"
        killed_for "$pol" process_vm_writev "seccomp.kill (@debug)" attack vm-write "$OTHER_PID"
        kill -0 "$OTHER_PID" || fail "$pol: the other sandbox died"
        stop "$OTHER_GBOX"
    done
}

@test "a host process running as the sandbox's own host uid cannot be signalled: kill(-1), kill(pid) (ESRCH)" {
    # control: outside namespaces the same uid may signal it
    setpriv --reuid=$SANDBOX_HOST_UID --regid=$SANDBOX_HOST_UID --clear-groups sleep 60 &
    SLEEPER=$!
    local i
    for i in $(seq 250); do # until setpriv has switched to the uid and exec'd sleep
        grep -q "^Uid:[[:space:]]*$SANDBOX_HOST_UID[[:space:]]" "/proc/$SLEEPER/status" &&
            [ "$(cat "/proc/$SLEEPER/comm")" = sleep ] && break
        sleep 0.02
    done
    run setpriv --reuid=$SANDBOX_HOST_UID --regid=$SANDBOX_HOST_UID --clear-groups kill -0 "$SLEEPER"
    assert_success
    local pol
    for pol in playground server_application; do
        blocked_as "$pol" "errno ESRCH 3" attack kill-all
        blocked_as "$pol" "$(printf '%s\n' 'kill 0: errno ESRCH 3' 'pidfd_open: errno ESRCH 3' \
            'stat /proc/PID: errno ENOENT 2' 'kill KILL: errno ESRCH 3')" attack see-pid "$SLEEPER"
        kill -0 "$SLEEPER" || fail "$pol: the host process was killed"
    done
}

@test "gbox itself (the sandbox's parent on the host) is out of reach: init sees ppid 0, /proc lists only the sandbox" {
    local pol
    for pol in playground server_application; do
        attempt "$pol" sh -c 'grep PPid /proc/1/status; probe ls /proc'
        assert_line --index 0 "$(printf 'PPid:\t0')"
        run grep -c -E '^[0-9]+$' <<<"$output"
        assert_output 2 # init and the program (sh execs probe)
    done
}

@test "System V IPC of another sandbox is invisible (ENOENT), though the same key works inside one" {
    local pol key=$((0x6b0000 + BATS_TEST_NUMBER))
    for pol in playground server_application; do
        "$GBOX" run --policy "$pol" --in-image sh -c "attack shm create $key && probe sleep 30" >"$BATS_TEST_TMPDIR/a" 2>&1 &
        OTHER_GBOX=$!
        wait_for_line "$BATS_TEST_TMPDIR/a" "ok 0"
        blocked_as "$pol" "errno ENOENT 2" attack shm open "$key"
        blocked_as "$pol" "$(printf 'ok 0\nok 0')" sh -c "attack shm create $key; attack shm open $key"
        stop "$OTHER_GBOX"
    done
}

@test "a daemonized grandchild (setsid, double fork) does not outlive its sandbox" {
    local pol marker
    for pol in playground server_application; do
        marker="31.$((RANDOM % 1000))$BATS_TEST_NUMBER"
        run "$GBOX" run --policy "$pol" --in-image sh -c "setsid sh -c 'sleep $marker & :' & sleep 0.2; echo started"
        assert_success
        assert_output "started"
        sleep 0.2
        run pgrep -f "^sleep $marker\$"
        assert_failure 1
    done
}
