#!/usr/bin/env bats
# daemon.bats — gbox daemon and its client verbs: spawn, ps, logs, events, stop, kill,
# emergency-stop, restarts with backoff and the circuit breaker, adoption after kill -9, access
# control and the audit log, bad requests. One daemon per test (its own socket and state
# directory under $BATS_TEST_TMPDIR); every sandbox a test started is killed in teardown.

load helpers

setup() {
    export GBOX_SOCKET=$BATS_TEST_TMPDIR/gbox.sock
    export GBOX_STATE_DIR=$BATS_TEST_TMPDIR/state
    getent group gbox >/dev/null || groupadd --system gbox
    start_daemon
    # fast restarts for the restart tests
    FAST=$BATS_TEST_TMPDIR/fast.json
    cat >"$FAST" <<EOF
{"version": 1, "name": "fast", "extends": "$POLICY_DIR/base.json",
 "failure_policies": {"grace": "300ms",
   "restart": {"max_restarts": 20, "backoff_initial": "100ms", "backoff_max": "400ms", "jitter": 0},
   "circuit_breaker": {"failure_threshold": 3, "window": "60s", "cooldown": "1s",
                       "healthy_period": "1s", "half_open_successes": 1}}}
EOF
}

start_daemon() {
    "$GBOX" daemon "$@" >>"$BATS_TEST_TMPDIR/daemon.log" 2>&1 &
    DAEMON_PID=$!
    local i
    for i in $(seq 100); do
        [ -S "$GBOX_SOCKET" ] && "$GBOX" ps >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    cat "$BATS_TEST_TMPDIR/daemon.log" >&2
    fail "the daemon did not come up"
}

teardown() {
    local id
    # sandboxes outlive the daemon by design: kill ours, then stop the daemon
    if kill -0 "$DAEMON_PID" 2>/dev/null; then
        for id in $("$GBOX" ps --json 2>/dev/null | jq -r '.[] | select(.state == "running" or .state == "starting") | .id'); do
            "$GBOX" kill "$id" >/dev/null 2>&1 || true
        done
        wait_for 50 '[ -z "$("$GBOX" ps --json | jq -r ".[] | select(.state == \"running\" or .state == \"starting\") | .id")" ]' || true
        kill -TERM "$DAEMON_PID" 2>/dev/null || true
        wait "$DAEMON_PID" 2>/dev/null || true
    fi
    case $GBOX_SOCKET in /run/gbox-bats-*) rm -rf "$(dirname "$GBOX_SOCKET")" ;; esac
}

# wait_for TRIES CONDITION — poll every 0.1 s.
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

field_of() {
    "$GBOX" inspect "$1" | jq -r "$2"
}

events_of() {
    "$GBOX" events --id "$1" | jq -r .type | tr '\n' ' '
}

@test "spawn runs a program in a sandbox; ps, logs and events follow it to its exit" {
    run "$GBOX" spawn --name hello --in-image sh -c 'echo out; echo err >&2; probe sleep 0.5 >/dev/null; echo done'
    assert_success
    assert_output --regexp '^[0-9a-f]{16}$'
    # (running is short: the events below prove it was seen)
    wait_for 100 '[ "$(state_of hello)" = exited ]' || fail "state $(state_of hello)"
    run "$GBOX" logs hello
    assert_output "$(printf 'out\ndone')"
    run "$GBOX" logs --stderr hello
    assert_output "err"
    assert_equal "$(field_of hello .last_exit_code)" 0
    assert_equal "$(events_of hello)" "spawned started running exited "
}

@test "the sandbox under the daemon is the same sandbox: own pid namespace, uid 1000, seccomp" {
    "$GBOX" spawn --name id --in-image sh -c 'probe status; ls /proc >/tmp/p; echo "procs $(grep -c "^[0-9]" /tmp/p)"' >/dev/null
    wait_for 50 '[ "$(state_of id)" = exited ]'
    run "$GBOX" logs id
    assert_line "uid 1000"
    assert_line "groups"
    assert_line --regexp '^CapEff:[[:space:]]+0000000000000000$'
    assert_line --regexp '^Seccomp:[[:space:]]+2$'
    assert_line --regexp '^NoNewPrivs:[[:space:]]+1$'
    assert_line "procs 3" # init, sh and ls: nothing of the host
}

@test "a second sandbox with the same name is refused; bad names too" {
    "$GBOX" spawn --name one --in-image probe sleep 5 >/dev/null
    run --separate-stderr "$GBOX" spawn --name one --in-image true
    assert_failure 1
    assert_equal "$stderr" 'gbox: spawn: a sandbox named "one" exists already'
    run --separate-stderr "$GBOX" spawn --name 'a b' --in-image true
    assert_failure 1
    assert_equal "$stderr" 'gbox: spawn: "name": expected 1-64 characters of [A-Za-z0-9._-], got "a b"'
}

@test "restart on-failure: backoff restarts, then the circuit opens (quarantined), half-opens after the cooldown" {
    "$GBOX" spawn --name flaky --policy "$FAST" --restart on-failure --in-image sh -c 'exit 3' >/dev/null
    wait_for 50 '[ "$(state_of flaky)" = quarantined ]' || fail "state $(state_of flaky)"
    # (the 1 s cooldown may already have passed on a loaded machine: open or half-open by now)
    assert_regex "$(field_of flaky .circuit)" '^(open|half-open)$'
    # 3 failures in the window: two backoff restarts, then the circuit opens
    local ev
    ev=$(events_of flaky)
    [[ $ev == "spawned started running exited restart_scheduled restart started running exited restart_scheduled restart started running exited circuit quarantined "* ]] ||
        fail "events: $ev"
    # after the 1 s cooldown: one half-open trial, which fails: open again
    wait_for 40 '[ "$("$GBOX" events --id flaky --type circuit | wc -l)" -ge 3 ]' || fail "no half-open trial"
    run "$GBOX" events --id flaky --type circuit
    assert_line --index 0 --partial '"from":"closed"'
    assert_line --index 0 --partial '"to":"open"'
    assert_line --index 1 --partial '"to":"half-open"'
    wait_for 30 '[ "$(state_of flaky)" = quarantined ]'
    assert_line --index 2 --partial '"from":"half-open"'
}

@test "restart: a half-open trial that stays healthy closes the circuit" {
    local flag=$BATS_TEST_TMPDIR/healthy
    mkdir -p "$flag" && chown 101000:101000 "$flag"
    local pol=$BATS_TEST_TMPDIR/heal.json
    jq --arg d "$flag" '.filesystem = {"binds": [{"source": $d, "target": "/flag", "writable": true}]}' "$FAST" >"$pol"
    # fails until /flag/ok exists, then stays up
    "$GBOX" spawn --name heal --policy "$pol" --restart on-failure --in-image \
        sh -c '[ -e /flag/ok ] || exit 1; probe sleep 30' >/dev/null
    wait_for 50 '[ "$(state_of heal)" = quarantined ]' || fail "state $(state_of heal)"
    touch "$flag/ok"
    wait_for 60 '[ "$(field_of heal .circuit)" = closed ]' || fail "circuit $(field_of heal .circuit)"
    assert_equal "$(state_of heal)" running
    run "$GBOX" events --id heal --type circuit
    assert_line --index 1 --partial '"to":"half-open"'
    assert_line --index 2 --partial '"from":"half-open","id"'
    assert_line --index 2 --partial '"to":"closed"'
}

@test "restart always: a program that exits 0 comes back; never: it stays down" {
    "$GBOX" spawn --name again --policy "$FAST" --restart always --in-image true >/dev/null
    wait_for 50 '[ "$(field_of again .restarts)" -ge 2 ]' || fail "restarts $(field_of again .restarts)"
    "$GBOX" stop again >/dev/null
    "$GBOX" spawn --name once --policy "$FAST" --in-image sh -c 'exit 3' >/dev/null
    wait_for 30 '[ "$(state_of once)" = failed ]' || fail "state $(state_of once)"
    sleep 0.5
    assert_equal "$(field_of once .restarts)" 0
}

@test "stop: the program gets SIGTERM, may clean up, and the sandbox ends stopped" {
    "$GBOX" spawn --name polite --in-image sh -c 'trap "echo got TERM; exit 0" TERM; echo up; while :; do probe sleep 0.1 >/dev/null; done' >/dev/null
    wait_for 30 '[ "$("$GBOX" logs polite)" = up ]' || fail "never came up"
    run "$GBOX" stop polite
    assert_success
    wait_for 50 '[ "$(state_of polite)" = stopped ]' || fail "state $(state_of polite)"
    run "$GBOX" logs polite
    assert_line "got TERM"
}

@test "stop --time: a program that ignores SIGTERM is killed when the grace is over" {
    "$GBOX" spawn --name stubborn --in-image sh -c 'trap "" TERM; echo up; while :; do probe sleep 0.1 >/dev/null; done' >/dev/null
    wait_for 30 '[ "$("$GBOX" logs stubborn)" = up ]'
    "$GBOX" stop --time 300 stubborn
    wait_for 50 '[ "$(state_of stubborn)" = stopped ]' || fail "state $(state_of stubborn)"
    assert_equal "$(field_of stubborn .last_end)" signaled
}

@test "kill --signal USR1 reaches the program through the sandbox's init" {
    "$GBOX" spawn --name sig --in-image sh -c 'trap "echo got USR1; exit 7" USR1; echo up; while :; do probe sleep 0.1 >/dev/null; done' >/dev/null
    wait_for 30 '[ "$("$GBOX" logs sig)" = up ]'
    "$GBOX" kill --signal USR1 sig
    wait_for 50 '[ "$(state_of sig)" = failed ]' || fail "state $(state_of sig)"
    assert_equal "$(field_of sig .last_exit_code)" 7
    run "$GBOX" logs sig
    assert_line "got USR1"
}

@test "emergency-stop DOMAIN kills every sandbox of that domain at once, and only those" {
    local i
    for i in 1 2 3; do "$GBOX" spawn --name "pg$i" --policy playground --in-image probe sleep 60 >/dev/null; done
    "$GBOX" spawn --name other --in-image probe sleep 60 >/dev/null
    wait_for 30 '[ "$(state_of pg3)" = running ] && [ "$(state_of other)" = running ]'
    run "$GBOX" emergency-stop playground
    assert_success
    assert_output "killed 3 sandboxes of playground"
    wait_for 50 '[ "$(state_of pg1)" = stopped ] && [ "$(state_of pg2)" = stopped ] && [ "$(state_of pg3)" = stopped ]' ||
        fail "$("$GBOX" ps)"
    assert_equal "$(state_of other)" running
    run "$GBOX" events --type emergency_stop
    assert_output --partial '"domain":"playground"'
}

@test "kill -9 of the daemon: a running sandbox survives and is adopted; one that ended meanwhile is recorded" {
    # the survivor runs until told (no race with a loaded machine); short ends on its own
    "$GBOX" spawn --name survivor --in-image sh -c 'trap "exit 5" USR1; echo up; while :; do probe sleep 0.1 >/dev/null; done' >/dev/null
    "$GBOX" spawn --name short --in-image sh -c 'probe sleep 1.5; exit 4' >/dev/null
    wait_for 30 '[ "$(state_of survivor)" = running ] && [ "$(state_of short)" = running ]'
    local init
    init=$(field_of survivor .init_pid)
    kill -KILL "$DAEMON_PID"
    wait "$DAEMON_PID" || true
    sleep 2.5 # short ends while no daemon runs
    kill -0 "$init" || fail "the sandbox died with the daemon"
    start_daemon
    assert_equal "$(state_of survivor)" running
    run "$GBOX" events --id survivor --type adopted
    assert_output --partial "\"init_pid\":$init"
    assert_equal "$(state_of short)" failed
    assert_equal "$(field_of short .last_exit_code)" 4
    # ended while no daemon ran: processed at start-up (or, when the dead shim was not reaped
    # yet, adopted and processed at once)
    run "$GBOX" events --id short
    assert_output --regexp '"type":"(ended_while_down|adopted)"'
    assert_output --regexp '"exit_code":4,.*"type":"exited"'
    # the adopted sandbox's end is still seen, with its exit code from the shim's report
    "$GBOX" kill --signal USR1 survivor
    wait_for 60 '[ "$(state_of survivor)" = failed ]' || fail "state $(state_of survivor)"
    assert_equal "$(field_of survivor .last_exit_code)" 5
}

@test "logs --follow streams output as it comes and ends with the sandbox" {
    "$GBOX" spawn --name talk --in-image sh -c 'for i in 1 2 3; do echo line$i; probe sleep 0.3 >/dev/null; done' >/dev/null
    run timeout 10 "$GBOX" logs --follow talk
    assert_success
    assert_output "$(printf 'line1\nline2\nline3')"
}

@test "events --follow streams new events" {
    timeout 10 "$GBOX" events --follow --type exited >"$BATS_TEST_TMPDIR/ev" &
    local f=$!
    sleep 0.3
    "$GBOX" spawn --name ev --in-image true >/dev/null
    wait_for 50 'grep -q "\"name\":\"ev\"" "$BATS_TEST_TMPDIR/ev"' || fail "no event streamed"
    kill "$f" 2>/dev/null || true
    run jq -r .type "$BATS_TEST_TMPDIR/ev"
    assert_output exited
}

@test "stats and inspect show live cgroup counters of a running sandbox; metrics is Prometheus text" {
    "$GBOX" spawn --name busy --in-image probe memhog 8M >/dev/null
    "$GBOX" spawn --name idle --in-image sh -c 'probe memhog 8M; probe sleep 30' >/dev/null
    wait_for 50 '[ "$("$GBOX" logs idle | tail -n 1)" = "ok 8" ]' || fail "$("$GBOX" logs idle)"
    run "$GBOX" stats --json idle
    assert_success
    [ "$(jq .pids <<<"$output")" -ge 1 ]
    [ "$(jq .memory_peak_bytes <<<"$output")" -ge $((8 * 1024 * 1024)) ] || fail "$output"
    run "$GBOX" metrics
    assert_line 'gbox_sandboxes{state="running"} 1'
    assert_line --regexp '^gbox_sandbox_memory_bytes\{id="[0-9a-f]+",name="idle",domain="base"\} [0-9]+$'
}

@test "logs beyond --log-max are rotated to .1" {
    kill -TERM "$DAEMON_PID"
    wait "$DAEMON_PID" || true
    start_daemon --log-max 4K
    "$GBOX" spawn --name chatty --in-image sh -c 'i=0; while [ $i -lt 400 ]; do echo "line $i of the chatty program"; i=$((i + 1)); done; probe sleep 2' >/dev/null
    local id
    id=$(field_of chatty .id)
    wait_for 40 '[ -e "$GBOX_STATE_DIR/sandboxes/$id/stdout.log.1" ]' || fail "no rotation"
    run "$GBOX" events --id chatty --type log_rotated
    assert_output --partial '"stream":"stdout"'
}

@test "access control: a uid without a rule is refused and audited; a rule grants one domain only" {
    kill -TERM "$DAEMON_PID"
    wait "$DAEMON_PID" || true
    # a socket nobody can reach: every directory above it must be traversable
    local pub
    pub=$(mktemp -d /run/gbox-bats-XXXXXX)
    chmod 0755 "$pub"
    export GBOX_SOCKET=$pub/gbox.sock
    local acc=$BATS_TEST_TMPDIR/access.json gid
    gid=$(getent group gbox | cut -d: -f3)
    echo '{"rules": [{"uids": [65534], "ops": ["spawn", "ps", "logs", "inspect"], "domains": ["playground"]}]}' >"$acc"
    start_daemon --access "$acc"
    as_nobody() { setpriv --reuid 65534 --regid "$gid" --clear-groups "$@"; }
    run --separate-stderr as_nobody "$GBOX" spawn --in-image true
    assert_failure 1
    assert_equal "$stderr" "gbox: permission denied: uid 65534 may not spawn in domain base"
    run as_nobody "$GBOX" spawn --name mine --policy playground --in-image true
    assert_success
    run --separate-stderr as_nobody "$GBOX" stop mine
    assert_failure 1
    assert_equal "$stderr" "gbox: permission denied: uid 65534 may not stop in domain playground"
    run --separate-stderr as_nobody "$GBOX" emergency-stop playground
    assert_failure 1
    # its own policy file could name itself "playground" and grant anything: refused
    echo '{"version": 1, "name": "playground", "user": {"allow_root": true, "uid": 0}}' >"$pub/evil.json"
    run --separate-stderr as_nobody "$GBOX" spawn --policy "$pub/evil.json" --in-image true
    assert_failure 1
    [[ "$stderr" == 'gbox: spawn: "policy": only root may name a policy file; use a policy name from '* ]] || fail "$stderr"
    # a host file: the shim would open it as root later, after any symlink swap
    run --separate-stderr as_nobody "$GBOX" spawn --policy playground /etc/hostname
    assert_failure 1
    assert_equal "$stderr" 'gbox: spawn: "argv[0]": only root may run a host file through the daemon (uid 65534: run a command of the image with in_image)'
    # the audit log has every request with its outcome
    run jq -c 'select(.uid == 65534) | [.op, .ok]' "$GBOX_STATE_DIR/audit.jsonl"
    assert_output "$(printf '["spawn",false]\n["spawn",true]\n["stop",false]\n["emergency-stop",false]\n["spawn",false]\n["spawn",false]')"
    # without the group the socket itself is closed to it
    run --separate-stderr setpriv --reuid 65534 --regid 65534 --clear-groups "$GBOX" ps
    assert_failure 1
    [[ "$stderr" == *"cannot reach the daemon"*"Permission denied"* ]] || fail "$stderr"
}

@test "bad requests get a clear error and change nothing; the daemon keeps serving" {
    run python3 - "$GBOX_SOCKET" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile('rw')
for line in ['not json', '[1,2]', '{"op": "explode"}', '{"op": "spawn"}', '{"op": "spawn", "argv": ["relative"]}',
             '{"op": "stop", "id": "nope"}', '{"op": "spawn", "argv": ["true"], "in_image": true, "restart": "sometimes"}']:
    f.write(line + '\n'); f.flush(); print(f.readline().strip())
# regression: an error quoting a long non-ASCII value, cut inside a character, made no reply at all
for pre in ('', 'x'):
    for field in ('name', 'policy'):
        f.write('{"op": "spawn", "argv": ["true"], "in_image": true, "%s": "%s"}\n' % (field, pre + '\u00e9' * 600))
        s.settimeout(30); f.flush(); print('reply ok=%s' % json.loads(f.readline())['ok'])
EOF
    assert_success
    for i in 7 8 9 10; do assert_line --index $i 'reply ok=False'; done
    assert_line --index 0 --partial '"ok":false'
    assert_line --index 1 '{"ok":false,"error":"request: expected a JSON object"}'
    assert_line --index 2 '{"ok":false,"error":"request: \"op\": unknown operation \"explode\""}'
    assert_line --index 3 '{"ok":false,"error":"spawn: \"argv\": expected a non-empty array of strings"}'
    assert_line --index 4 '{"ok":false,"error":"spawn: \"argv[0]\": expected an absolute host path (or in_image), got \"relative\""}'
    assert_line --index 5 '{"ok":false,"error":"nope: no such sandbox (give an id, a unique id prefix or a name)"}'
    assert_line --index 6 '{"ok":false,"error":"spawn: \"restart\": expected never, on-failure or always, got \"sometimes\""}'
    run "$GBOX" ps --json
    assert_output "[]"
}

@test "an invalid policy is refused at spawn with the policy's own message" {
    run --separate-stderr "$GBOX" spawn --policy "$BAD_DIR/high_above_max.json" --in-image true
    assert_failure 1
    assert_equal "$stderr" "gbox: $BAD_DIR/high_above_max.json: resources.memory.high: expected at most resources.memory.max (67108864 bytes), got 134217728"
}

# hc_policy NAME ACTION — checks every second that /tmp/ok exists inside the sandbox, 2 retries.
hc_policy() {
    cat >"$BATS_TEST_TMPDIR/$1.json" <<EOF2
{"version": 1, "name": "$1", "extends": "$FAST",
 "monitoring": {"health_check": {"command": ["sh", "-c", "probe status; test -e /tmp/ok"],
                                 "interval": "1s", "timeout": "500ms", "retries": 2}},
 "failure_policies": {"on_health_fail": "$2"}}
EOF2
    echo "$BATS_TEST_TMPDIR/$1.json"
}

@test "health check: runs inside the sandbox (its pid namespace, uid, seccomp, files); unhealthy → restart" {
    local pol id
    pol=$(hc_policy hcr restart)
    "$GBOX" spawn --name hc --policy "$pol" --in-image sh -c 'touch /tmp/ok; probe sleep 2.5 >/dev/null; rm /tmp/ok; probe sleep 60 >/dev/null' >/dev/null
    wait_for 60 '[ "$(field_of hc .health)" = healthy ]' || fail "health $(field_of hc .health)"
    id=$(field_of hc .id)
    # the check saw the sandbox from inside: not pid 1's namespace of the host, uid 1000, filtered
    run cat "$GBOX_STATE_DIR/sandboxes/$id/health.log"
    assert_line "uid 1000"
    assert_line --regexp '^Seccomp:[[:space:]]+2$'
    assert_line --regexp '^CapEff:[[:space:]]+0000000000000000$'
    assert_line --regexp '^pid [0-9]$'
    # /tmp/ok goes away: two failed checks → unhealthy → killed and restarted (even with restart never)
    wait_for 100 '[ "$(field_of hc .restarts)" -ge 1 ]' || fail "$(events_of hc)"
    run "$GBOX" events --id hc --type health
    assert_line --index 0 --partial '"status":"healthy"'
    assert_line --index 1 --partial '"status":"unhealthy"'
    assert_line --index 1 --partial '"action":"restart"'
}

@test "health check: on_health_fail kill keeps an unhealthy sandbox down" {
    local pol
    pol=$(hc_policy hck kill)
    "$GBOX" spawn --name hk --policy "$pol" --restart always --in-image probe sleep 60 >/dev/null
    wait_for 100 '[ "$(state_of hk)" = failed ]' || fail "state $(state_of hk): $(events_of hk)"
    sleep 0.5
    assert_equal "$(field_of hk .restarts)" 0
    assert_equal "$(field_of hk .health)" unhealthy
}

@test "anomaly detection: steady memory growth and CPU throttling raise anomaly events" {
    local pol=$BATS_TEST_TMPDIR/anomaly.json
    cat >"$pol" <<EOF2
{"version": 1, "name": "anomalous", "extends": "$FAST", "monitoring": {"anomaly_detection": true},
 "resources": {"memory": {"max": "64M"}, "cpu": {"max": 0.1}}}
EOF2
    # tmpfs pages are charged to the sandbox: 4 MiB more every half second
    "$GBOX" spawn --name grow --policy "$pol" --in-image sh -c \
        'i=0; while [ $i -lt 12 ]; do head -c 4194304 /dev/zero >/tmp/f$i; i=$((i + 1)); probe sleep 0.5 >/dev/null; done; probe sleep 30 >/dev/null' >/dev/null
    "$GBOX" spawn --name spin --policy "$pol" --in-image probe cpuburn 30 >/dev/null
    wait_for 150 '"$GBOX" events --id grow --type anomaly | grep -q memory_growth' || fail "$("$GBOX" events --id grow)"
    wait_for 100 '"$GBOX" events --id spin --type anomaly | grep -q cpu_throttled' || fail "$("$GBOX" events --id spin)"
    # a quiet sandbox raises none
    run "$GBOX" events --id spin --type anomaly
    refute_output --partial memory_growth
}

@test "no anomaly events without monitoring.anomaly_detection" {
    "$GBOX" spawn --name quiet --policy "$FAST" --in-image sh -c \
        'i=0; while [ $i -lt 8 ]; do head -c 4194304 /dev/zero >/tmp/f$i; i=$((i + 1)); probe sleep 0.5 >/dev/null; done' >/dev/null
    wait_for 100 '[ "$(state_of quiet)" = exited ]' || fail "state $(state_of quiet)"
    run "$GBOX" events --id quiet --type anomaly
    assert_output ""
}

@test "spawn takes an image stack (--module) and environment overrides (--env)" {
    "$GBOX" spawn --name stack --env GREETING=hello --module sample --in-image sh -c 'echo $GREETING; cat /opt/sample/VERSION' >/dev/null
    wait_for 100 '[ "$(state_of stack)" = exited ]' || fail "state $(state_of stack): $("$GBOX" logs --stderr stack)"
    run "$GBOX" logs stack
    assert_output "$(printf 'hello\n2.0.0')"
    run --separate-stderr "$GBOX" spawn --env NOEQUALS --in-image true
    assert_failure 1
    assert_equal "$stderr" 'gbox: spawn: "env[0]": expected a string NAME=VALUE, got "NOEQUALS"'
}

@test "health check: the policy's Landlock rules bind the check as they bind the program" {
    local pol=$BATS_TEST_TMPDIR/hcll.json
    cat >"$pol" <<EOF2
{"version": 1, "name": "hcll", "extends": "$POLICY_DIR/playground.json",
 "monitoring": {"health_check": {"command": ["sh", "-c", "probe write /proc/self/comm evil; exit 0"],
                                 "interval": "1s", "timeout": "2s", "retries": 1}}}
EOF2
    "$GBOX" spawn --name hll --policy "$pol" --in-image probe sleep 60 >/dev/null
    wait_for 80 '[ "$(field_of hll .health)" = healthy ]' || fail "health $(field_of hll .health): $("$GBOX" events --id hll)"
    # without Landlock renaming oneself needs no privilege ("ok 5"); playground's rules refuse it
    # each check rewrites health.log: take a complete one
    local log out=
    log=$GBOX_STATE_DIR/sandboxes/$(field_of hll .id)/health.log
    wait_for 50 'out=$(cat "$log"); [ -n "$out" ]' || fail "no health.log output"
    assert_equal "$out" "errno EACCES 13"
}

@test "health check: a policy that gained capabilities since the start may not give them to a check (refused, named)" {
    local pol
    pol=$(hc_policy hcap kill)
    "$GBOX" spawn --name hcap --policy "$pol" --in-image sh -c 'touch /tmp/ok; probe sleep 60 >/dev/null' >/dev/null
    wait_for 60 '[ "$(field_of hcap .health)" = healthy ]' || fail "health $(field_of hcap .health)"
    # the policy in force now grants CAP_SYS_ADMIN: the sandbox (maybe a read-only bind of its
    # image) started without it, and no process entering it gets it
    jq '.capabilities = ["CAP_SYS_ADMIN"]' "$pol" >"$pol.new" && mv "$pol.new" "$pol"
    wait_for 80 '"$GBOX" events --id hcap --type health_error | grep -q "did not start with"' ||
        fail "no refusal: $("$GBOX" events --id hcap)"
    run "$GBOX" events --id hcap --type health_error
    assert_output --partial "capabilities (0x200000) the sandbox did not start with"
}

@test "a sandbox directory without a record (a daemon killed while it started one) is ended by the next daemon" {
    kill -TERM "$DAEMON_PID"
    wait "$DAEMON_PID" || true
    local id=0123456789abcdef dir shim i
    dir=$GBOX_STATE_DIR/sandboxes/$id
    mkdir -p "$dir"
    # what a shim leaves before its record exists: its state file, its program running
    "$GBOX" run --quiet --state-file "$dir/state.json" --in-image probe sleep 60 >/dev/null 2>&1 &
    shim=$!
    for i in $(seq 100); do [ -s "$dir/state.json" ] && break; sleep 0.05; done
    [ -s "$dir/state.json" ] || fail "the shim wrote no state file"
    start_daemon
    wait_for 50 '! kill -0 "$shim" 2>/dev/null' || fail "the unrecorded sandbox still runs"
    wait "$shim" || true
    [ ! -e "$dir" ] || fail "its directory is still there"
    grep -q "$id: a sandbox without a record" "$BATS_TEST_TMPDIR/daemon.log" || fail "not said: $(cat "$BATS_TEST_TMPDIR/daemon.log")"
    wait_for 50 '[ -z "$(gbox_cgroups "$shim")" ]' || fail "cgroups left: $(gbox_cgroups "$shim")"
    assert_equal "$("$GBOX" ps --json | jq length)" 0
}
