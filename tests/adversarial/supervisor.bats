#!/usr/bin/env bats
# supervisor.bats — attacks on gbox's supervision from sandboxes run by `gbox daemon`: reaching
# the daemon (its socket, its state, its process and the sandbox's shim), and taking the daemon
# down with a sandbox's own failures (forbidden syscalls, OOM, fork bomb, output flood, a crash
# loop) so that it stops serving or supervising the others.
#
# The daemon runs in a network namespace of its own (gbox-netns), so do the shims it starts;
# its socket and state directory are under $BATS_TEST_TMPDIR.

load helpers

setup() {
    export GBOX_SOCKET=$BATS_TEST_TMPDIR/gbox.sock
    export GBOX_STATE_DIR=$BATS_TEST_TMPDIR/state
    getent group gbox >/dev/null || groupadd --system gbox
    "$GBOX" daemon --log-max 64K >>"$BATS_TEST_TMPDIR/daemon.log" 2>&1 &
    DAEMON_PID=$!
    local i
    for i in $(seq 200); do
        [ -S "$GBOX_SOCKET" ] && "$GBOX_REAL" ps >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    fail "the daemon did not come up: $(cat "$BATS_TEST_TMPDIR/daemon.log")"
}

teardown() {
    local id
    for id in $("$GBOX_REAL" ps --json 2>/dev/null | jq -r '.[] | select(.state == "running" or .state == "starting") | .id'); do
        "$GBOX_REAL" kill "$id" >/dev/null 2>&1 || true
    done
    sv_wait 100 '[ -z "$("$GBOX_REAL" ps --json | jq -r ".[] | select(.state == \"running\" or .state == \"starting\") | .id")" ]' || true
    stop "$DAEMON_PID"
}

# sv_wait TRIES CONDITION — poll every 0.1 s, scaled by GBOX_TEST_TIME_SCALE.
sv_wait() {
    local i
    for i in $(seq $(($1 * ${GBOX_TEST_TIME_SCALE:-1}))); do
        eval "$2" && return 0
        sleep 0.1
    done
    return 1
}

sv_field() { # sv_field NAME JQ — a field of the ps record of NAME
    "$GBOX_REAL" ps --json | jq -r --arg n "$1" ".[] | select(.name == \$n) | $2"
}

@test "a sandbox run by the daemon cannot reach it: no socket, no state directory, its pid and its shim's invisible (ESRCH)" {
    local pol shim
    for pol in playground server_application; do
        run "$GBOX_REAL" spawn --name "hold-$pol" --policy "$pol" --in-image sleep 30
        assert_success
        sv_wait 300 '[ "$(sv_field "hold-$pol" .state)" = running ]' || fail "$pol: not running: $("$GBOX_REAL" ps)"
        shim=$("$GBOX_REAL" inspect "hold-$pol" | jq -r .shim_pid)
        [ "$shim" -gt 0 ] && kill -0 "$shim" || fail "$pol: no shim pid in inspect: $("$GBOX_REAL" inspect "hold-$pol")"
        run "$GBOX_REAL" spawn --name "reach-$pol" --policy "$pol" --in-image sh -c \
            "attack see-pid $DAEMON_PID; attack see-pid $shim; ls $GBOX_SOCKET $GBOX_STATE_DIR 2>&1; echo done"
        assert_success
        sv_wait 300 '[ "$(sv_field "reach-$pol" .state)" = exited ]' || fail "$pol: $("$GBOX_REAL" ps)"
        run "$GBOX_REAL" logs "reach-$pol"
        assert_output "$(printf '%s\n' 'kill 0: errno ESRCH 3' 'pidfd_open: errno ESRCH 3' \
            'stat /proc/PID: errno ENOENT 2' 'kill KILL: errno ESRCH 3' \
            'kill 0: errno ESRCH 3' 'pidfd_open: errno ESRCH 3' 'stat /proc/PID: errno ENOENT 2' 'kill KILL: errno ESRCH 3' \
            "ls: $GBOX_SOCKET: No such file or directory" "ls: $GBOX_STATE_DIR: No such file or directory" done)"
        kill -0 "$DAEMON_PID" && kill -0 "$shim" || fail "$pol: the daemon or the shim died"
        [ "$(sv_field "hold-$pol" .state)" = running ] || fail "$pol: the other sandbox is $(sv_field "hold-$pol" .state)"
    done
}

@test "a sandbox's own failures do not take the daemon down: seccomp kill, OOM, fork bomb, output flood, crash loop" {
    local bad
    run "$GBOX_REAL" spawn --name bystander --policy base --in-image sleep 1000
    assert_success
    "$GBOX_REAL" spawn --name sys --policy playground --in-image attack bpf >/dev/null
    "$GBOX_REAL" spawn --name oom --policy playground --in-image probe memhog 256M >/dev/null
    "$GBOX_REAL" spawn --name bomb --policy playground --in-image probe forkbomb >/dev/null
    "$GBOX_REAL" spawn --name flood --policy playground --in-image sh -c 'yes xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx | head -c 4000000; echo end' >/dev/null
    "$GBOX_REAL" spawn --name crashloop --policy base --restart always --in-image sh -c 'exit 1' >/dev/null
    for bad in sys oom bomb flood; do
        sv_wait 600 '[ "$(sv_field "$bad" .state)" != running ] && [ "$(sv_field "$bad" .state)" != starting ]' ||
            fail "$bad still running: $("$GBOX_REAL" ps)"
    done
    [ "$(sv_field sys .last_end)" = seccomp ] || [ "$("$GBOX_REAL" inspect sys | jq -r .last_report.end)" = seccomp ] ||
        fail "sys: $("$GBOX_REAL" inspect sys | jq -c .last_report)"
    [ "$("$GBOX_REAL" inspect oom | jq -r .last_report.end)" = oom ] || fail "oom: $("$GBOX_REAL" inspect oom | jq -c .last_report)"
    # the flood was rotated at --log-max: the daemon's disk use stays bounded
    [ "$(stat -c %s "$GBOX_STATE_DIR/sandboxes/$("$GBOX_REAL" inspect flood | jq -r .id)/stdout.log")" -le $((4 * 65536)) ] ||
        fail "stdout.log of the flood was not rotated"
    # the crash loop is held by the backoff and the circuit breaker, not restarted flat out
    sv_wait 300 '[ "$(sv_field crashloop .restarts)" -ge 2 ]' || fail "crashloop: $("$GBOX_REAL" ps)"
    [ "$(sv_field crashloop .restarts)" -le 20 ] || fail "crashloop restarted $(sv_field crashloop .restarts) times"
    # the daemon still serves and the bystander still runs
    kill -0 "$DAEMON_PID" || fail "the daemon died: $(cat "$BATS_TEST_TMPDIR/daemon.log")"
    run "$GBOX_REAL" ps
    assert_success
    [ "$(sv_field bystander .state)" = running ] || fail "bystander: $(sv_field bystander .state)"
}
