#!/usr/bin/env bats
# daemon.bats — gbox daemon under valgrind (memcheck) through a realistic session: several spawns,
# ps, inspect, stats, metrics, logs (once and --follow), events (journal and --follow), stop,
# kill with signals, rm, emergency-stop, bad requests, restarts with backoff and the circuit
# breaker, health checks, a second daemon adopting running sandboxes. The daemon must end with
# no invalid access, no use of uninitialised memory and no definitely lost block
# (--errors-for-leak-kinds=definite --error-exitcode=99).
#
# valgrind follows malloc only in a dynamic binary: GBOX_DYNAMIC (make builds build/gbox-dynamic
# from the same objects as build/gbox). The shims the daemon starts run without valgrind.
# valgrind 3.19 (Debian 12) knows neither pidfd_open nor clone3: the daemon then watches its
# shims from its tick (daemon.c: watch_shim), and a health check cannot start ("clone3 for exec
# in the sandbox: Function not implemented", event health_error), so the health check's error
# path is what runs here; the check itself is tested in tests/integration/daemon.bats.

load ../integration/helpers

setup() {
    command -v valgrind >/dev/null || fail "valgrind is missing (scripts/install-deps.sh installs it)"
    GBOX_DYNAMIC=${GBOX_DYNAMIC:-$SRC_DIR/build/gbox-dynamic}
    [ -x "$GBOX_DYNAMIC" ] || fail "$GBOX_DYNAMIC is missing: make $GBOX_DYNAMIC"
    ldd "$GBOX_DYNAMIC" >/dev/null 2>&1 || fail "$GBOX_DYNAMIC is linked statically: valgrind would see no malloc"
    export GBOX_SOCKET=$BATS_TEST_TMPDIR/gbox.sock
    export GBOX_STATE_DIR=$BATS_TEST_TMPDIR/state
    getent group gbox >/dev/null || groupadd --system gbox
    VG_PIDS=()
}

# the ids of the sandboxes the daemon has running or starting
live_ids() {
    "$GBOX" ps --json 2>/dev/null | jq -r '.[] | select(.state == "running" or .state == "starting") | .id'
}

teardown() {
    local id p
    for id in $(live_ids); do
        "$GBOX" kill "$id" >/dev/null 2>&1 || true
    done
    for p in "${VG_PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
}

# vg_daemon N — start the daemon under valgrind (log N), wait until it answers.
vg_daemon() {
    valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
        --track-origins=yes --num-callers=30 --log-file="$BATS_TEST_TMPDIR/vg.$1.log" \
        "$GBOX_DYNAMIC" daemon >>"$BATS_TEST_TMPDIR/daemon.$1.log" 2>&1 &
    VG_PID=$!
    VG_PIDS+=("$VG_PID")
    wait_for 600 '[ -S "$GBOX_SOCKET" ] && "$GBOX" ps >/dev/null 2>&1' ||
        fail "the daemon did not come up under valgrind: $(cat "$BATS_TEST_TMPDIR/daemon.$1.log" "$BATS_TEST_TMPDIR/vg.$1.log")"
}

# vg_stop N — SIGTERM the daemon, expect exit 0 (99: valgrind found errors) and a clean summary.
vg_stop() {
    local rc=0
    kill -TERM "$VG_PID"
    wait "$VG_PID" || rc=$?
    local log=$BATS_TEST_TMPDIR/vg.$1.log
    grep -q "ERROR SUMMARY: 0 errors" "$log" && grep -q -e "definitely lost: 0 bytes" -e "All heap blocks were freed" "$log" ||
        { cat "$log" >&2; fail "valgrind reported errors or leaks (daemon $1, exit $rc)"; }
    [ "$rc" -eq 0 ] || { cat "$log" >&2; fail "the daemon under valgrind exited $rc (99: valgrind errors)"; }
}

wait_for() {
    local i
    for i in $(seq "$1"); do
        eval "$2" && return 0
        sleep 0.1
    done
    return 1
}

state_of() {
    "$GBOX" ps --json | jq -r --arg n "$1" '.[] | select(.name == $n) | .state'
}

@test "the daemon under valgrind: a whole session leaves no invalid access and no definite leak" {
    local fast hc
    fast=$BATS_TEST_TMPDIR/fast.json
    cat >"$fast" <<EOF
{"version": 1, "name": "fast", "extends": "$POLICY_DIR/base.json",
 "failure_policies": {"grace": "300ms",
   "restart": {"max_restarts": 20, "backoff_initial": "100ms", "backoff_max": "400ms", "jitter": 0},
   "circuit_breaker": {"failure_threshold": 3, "window": "60s", "cooldown": "1s",
                       "healthy_period": "1s", "half_open_successes": 1}}}
EOF
    hc=$BATS_TEST_TMPDIR/hc.json
    cat >"$hc" <<EOF
{"version": 1, "name": "hc", "extends": "$fast",
 "monitoring": {"health_check": {"command": ["sh", "-c", "test -e /tmp/ok"], "interval": "1s",
                                 "timeout": "500ms", "retries": 2}},
 "failure_policies": {"on_health_fail": "kill"}}
EOF
    vg_daemon 1
    # several sandboxes: long-running, chatty, failing with restarts, health-checked
    run "$GBOX" spawn --name long --in-image sh -c 'trap "echo bye; exit 0" TERM; while :; do sleep 0.2; done'
    assert_success
    run "$GBOX" spawn --name usr --in-image sh -c 'trap "echo got-usr1" USR1; while :; do sleep 0.2; done'
    assert_success
    run "$GBOX" spawn --name chatty --env GREETING=hello --in-image sh -c 'echo "$GREETING out"; echo err >&2; sleep 0.5'
    assert_success
    run "$GBOX" spawn --name flaky --policy "$fast" --restart on-failure --in-image sh -c 'exit 3'
    assert_success
    run "$GBOX" spawn --name checked --policy "$hc" --in-image sleep 1000
    assert_success
    wait_for 1200 '[ "$(state_of long)" = running ] && [ "$(state_of usr)" = running ] && [ "$(state_of checked)" = running ]' ||
        fail "not running: $("$GBOX" ps)"
    # reads
    run "$GBOX" ps
    assert_success
    run "$GBOX" inspect long
    assert_success
    [ "$(echo "$output" | jq -r .state)" = running ]
    run "$GBOX" stats --json long
    assert_success
    run "$GBOX" stats --no-stream
    assert_success
    run "$GBOX" metrics
    assert_success
    assert_output --partial 'gbox_spawns_total 5'
    wait_for 1200 '[ "$(state_of chatty)" = exited ]' || fail "chatty: $(state_of chatty)"
    run "$GBOX" logs chatty
    assert_output "hello out"
    run "$GBOX" logs --stderr --tail 1 chatty
    assert_output "err"
    # restarts: backoff, then the circuit opens
    wait_for 1200 '[ "$("$GBOX" ps --json | jq -r ".[] | select(.name == \"flaky\") | .restarts")" -ge 2 ]' ||
        fail "flaky was not restarted: $("$GBOX" ps)"
    # the health check runs (or, under valgrind, reports why it cannot)
    wait_for 1200 '"$GBOX" events --id checked | jq -r .type | grep -qx -e health_error -e health_check_failed' ||
        fail "no health check event: $("$GBOX" events --id checked)"
    # streams: events --follow and logs --follow, cut off by the client
    timeout 3 "$GBOX" events --follow >/dev/null || true
    timeout 3 "$GBOX" logs --follow long >/dev/null || true
    # bad requests, one connection
    run python3 - "$GBOX_SOCKET" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile('rw')
for line in ['not json', '[1,2]', '{"op": "explode"}', '{"op": "spawn"}', '{"op": "spawn", "argv": ["relative"]}',
             '{"op": "stop", "id": "nope"}', '{"op": "spawn", "argv": ["true"], "in_image": true, "restart": "sometimes"}',
             '{"op": "logs", "id": "long", "stream": "stdin"}', '{"op": "kill", "id": "long", "signal": "NOPE"}',
             '{"op": "spawn", "argv": ["true"], "in_image": true, "name": "' + 'é' * 600 + '"}',
             '{"op": "stop", "id": "long", "grace_ms": 99999999999999}', '{"op": "ps", "op": "ps"}',
             '{"op": "spawn", "argv": ["true"], "in_image": true, "policy": "no-such-policy"}']:
    f.write(line + '\n'); f.flush(); print(f.readline().strip())
try:   # longer than 1 MiB without a newline: refused and closed (the send may break first)
    s.sendall(b'{"op": "ps"' + b' ' * 2000000)
except OSError:
    pass
print(f.readline().strip() or 'closed')
EOF
    assert_success
    [ "$(echo "$output" | grep -c '"ok":false')" -ge 13 ] || fail "$output"
    # signals, stop, kill, rm, emergency-stop
    run "$GBOX" kill --signal USR1 usr
    assert_success
    wait_for 600 '[ "$("$GBOX" logs usr)" = got-usr1 ]' || fail "USR1 not delivered: $("$GBOX" logs usr)"
    run "$GBOX" stop long
    assert_success
    wait_for 1200 '[ "$(state_of long)" = stopped ]' || fail "long: $(state_of long)"
    run "$GBOX" logs long
    assert_output bye
    run "$GBOX" rm long
    assert_success
    run "$GBOX" rm chatty
    assert_success
    run "$GBOX" kill usr
    assert_success
    run "$GBOX" emergency-stop fast
    assert_success
    run "$GBOX" events
    assert_success
    # a sandbox left running is adopted by the next daemon, also under valgrind
    run "$GBOX" spawn --name survivor --in-image sleep 1000
    assert_success
    wait_for 1200 '[ "$(state_of survivor)" = running ]' || fail "survivor: $(state_of survivor)"
    vg_stop 1
    vg_daemon 2
    wait_for 600 '"$GBOX" events --id survivor | jq -r .type | grep -qx adopted' || fail "not adopted: $("$GBOX" events --id survivor)"
    run "$GBOX" kill survivor
    assert_success
    wait_for 1200 '[ "$(state_of survivor)" = stopped ]' || fail "survivor: $(state_of survivor)"
    run "$GBOX" ps
    assert_success
    # nothing outlives the test: a daemon's sandboxes run on without it (that is adoption)
    for id in $(live_ids); do
        "$GBOX" kill "$id" >/dev/null
    done
    wait_for 1200 '[ -z "$(live_ids)" ]' || fail "still running: $(live_ids)"
    vg_stop 2
}
