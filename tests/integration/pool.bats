#!/usr/bin/env bats
# pool.bats — the daemon's warm pool (`gbox daemon --pool POLICY=N`, runtime/pool.c): warm
# members show in ps and metrics, a spawn takes one (proved by the shim's pid), each member runs
# one program only and its sandbox starts fresh, the pool refills, and stopping or killing the
# daemon leaves no warm shim, cgroup or directory behind. One daemon per test, its own socket and
# state directory; no timing assertions (generous waits, scaled by GBOX_TEST_TIME_SCALE).

load helpers

setup() {
    export GBOX_SOCKET=$BATS_TEST_TMPDIR/gbox.sock
    export GBOX_STATE_DIR=$BATS_TEST_TMPDIR/state
    export GBOX_POLICY_DIR=$POLICY_DIR
    getent group gbox >/dev/null || groupadd --system gbox
    DAEMON_PID=
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
    if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
        for id in $("$GBOX" ps --json 2>/dev/null | jq -r '.[] | select(.state == "running" or .state == "starting") | .id'); do
            "$GBOX" kill "$id" >/dev/null 2>&1 || true
        done
        wait_for 50 '[ -z "$("$GBOX" ps --json | jq -r ".[] | select(.state == \"running\" or .state == \"starting\") | .id")" ]' || true
        kill -TERM "$DAEMON_PID" 2>/dev/null || true
        wait "$DAEMON_PID" 2>/dev/null || true
    fi
}

# wait_for TRIES CONDITION — poll every 0.1 s, TRIES scaled by GBOX_TEST_TIME_SCALE.
wait_for() {
    local i
    for i in $(seq $(($1 * ${GBOX_TEST_TIME_SCALE:-1}))); do
        eval "$2" && return 0
        sleep 0.1
    done
    return 1
}

warm_count() {
    "$GBOX" ps --json | jq '[.[] | select(.state == "warm")] | length'
}

warm_pids() {
    "$GBOX" ps --json | jq -r '.[] | select(.state == "warm") | .shim_pid' | sort
}

shim_of() {
    "$GBOX" events --id "$1" --type started | jq -r '.shim_pid' | head -1
}

state_of() {
    "$GBOX" ps --json | jq -r --arg n "$1" '.[] | select(.name == $n) | .state'
}

@test "warm members show in ps and metrics; a spawn runs in one of them" {
    start_daemon --pool base=2
    wait_for 300 '[ "$(warm_count)" = 2 ]' || fail "warm: $(warm_count); $(cat "$BATS_TEST_TMPDIR/daemon.log")"
    run "$GBOX" ps
    assert_output --partial "warm"
    run "$GBOX" metrics
    assert_line 'gbox_sandboxes{state="warm"} 2'
    "$GBOX" ps --json | jq -e '[.[] | select(.state == "warm")] | all(.domain == "base" and .policy == "base")'
    local before shim
    before=$(warm_pids)
    run "$GBOX" spawn --policy base --name w1 --env GREETING=hello --in-image sh -c 'echo "$GREETING $*"; probe cwd' sh a 'b c'
    assert_success
    wait_for 300 '[ "$(state_of w1)" = exited ]' || fail "state $(state_of w1)"
    shim=$(shim_of w1)
    echo "warm shims before: $before; w1's shim: $shim"
    grep -qx "$shim" <<<"$before" || fail "w1 did not run in a warm sandbox"
    run "$GBOX" logs w1
    assert_output "$(printf 'hello a b c\n/app')"
    run "$GBOX" inspect w1
    assert_success
    [ "$(jq -r .last_exit_code <<<"$output")" = 0 ]
    # the report leaves the wait in the pool out of the run's time, and says how long it was
    jq -e '.last_report.stages_ms.held > 0' <<<"$output"
    # running was marked when the program started, not at a later tick: events in order
    run "$GBOX" events --id w1
    assert_output --partial '"type":"running"'
}

@test "each member runs one program: a second spawn gets a fresh sandbox, never the first one's" {
    start_daemon --pool base=1
    wait_for 300 '[ "$(warm_count)" = 1 ]' || fail "no warm member: $(cat "$BATS_TEST_TMPDIR/daemon.log")"
    local first second
    first=$(warm_pids)
    "$GBOX" spawn --name a --in-image sh -c 'echo left >/tmp/mark; probe write /tmp/mark2 x >/dev/null; echo ok'
    wait_for 300 '[ "$(state_of a)" = exited ]' || fail "a: $(state_of a)"
    [ "$(shim_of a)" = "$first" ] || fail "a did not run in the warm member"
    run "$GBOX" logs a
    assert_output ok
    # the pool refills with a new member, which a second spawn takes
    wait_for 300 '[ "$(warm_count)" = 1 ]' || fail "the pool did not refill"
    second=$(warm_pids)
    [ "$second" != "$first" ] || fail "the member that ran a came back into the pool"
    kill -0 "$first" 2>/dev/null && fail "the first member's shim is still alive"
    "$GBOX" spawn --name b --in-image sh -c 'probe exists /tmp/mark; probe exists /tmp/mark2; probe ls /tmp'
    wait_for 300 '[ -n "$(state_of b)" ] && [ "$(state_of b)" != starting ] && [ "$(state_of b)" != running ]' || fail "b: $(state_of b)"
    [ "$(shim_of b)" = "$second" ] || fail "b did not run in the refilled member"
    run "$GBOX" logs b
    assert_output "$(printf 'no\nno')"
}

@test "the pool refills in the background after a burst of spawns" {
    start_daemon --pool base=2
    wait_for 300 '[ "$(warm_count)" = 2 ]' || fail "warm: $(warm_count)"
    local before i
    before=$(warm_pids)
    for i in 1 2 3; do
        "$GBOX" spawn --name "n$i" --in-image probe sleep 30 >/dev/null
    done
    wait_for 300 '[ "$(state_of n1)" = running ] && [ "$(state_of n2)" = running ] && [ "$(state_of n3)" = running ]' ||
        fail "states: $(state_of n1) $(state_of n2) $(state_of n3)"
    # two came from the pool, the third started cold (the pool was empty)
    local pooled=0
    for i in 1 2 3; do grep -qx "$(shim_of "n$i")" <<<"$before" && pooled=$((pooled + 1)); done
    [ "$pooled" = 2 ] || fail "$pooled of 3 spawns ran in warm members (expected 2)"
    wait_for 300 '[ "$(warm_count)" = 2 ]' || fail "the pool did not refill: $(warm_count)"
    [ -z "$(comm -12 <(warm_pids) <(echo "$before"))" ] || fail "a used member is warm again"
}

@test "spawns the pool cannot serve start cold: another policy, a host file" {
    start_daemon --pool base=1
    wait_for 300 '[ "$(warm_count)" = 1 ]' || fail "warm: $(warm_count)"
    local warm
    warm=$(warm_pids)
    local prog=$BATS_TEST_TMPDIR/hello.sh
    printf '#!/bin/sh\necho host file\n' >"$prog"
    chmod 755 "$prog"
    "$GBOX" spawn --name host "$prog"
    "$GBOX" spawn --name other --policy playground --in-image sh -c 'echo other'
    wait_for 300 '[ "$(state_of host)" = exited ] && [ "$(state_of other)" = exited ]' ||
        fail "states: $(state_of host) $(state_of other)"
    run "$GBOX" logs host
    assert_output "host file"
    [ "$(shim_of host)" != "$warm" ] && [ "$(shim_of other)" != "$warm" ]
    [ "$(warm_pids)" = "$warm" ] || fail "the warm member was used"
}

@test "a command missing from the image: the pooled spawn fails like a cold one" {
    start_daemon --pool base=1
    wait_for 300 '[ "$(warm_count)" = 1 ]' || fail "warm: $(warm_count)"
    "$GBOX" spawn --name missing --in-image no-such-command
    wait_for 300 '[ "$(state_of missing)" = failed ] || [ "$(state_of missing)" = exited ]' || fail "state $(state_of missing)"
    [ "$(state_of missing)" = failed ]
    grep -q 'no-such-command: not found in image' "$GBOX_STATE_DIR/sandboxes/$("$GBOX" inspect missing | jq -r .id)/stderr.log"
}

@test "stopping the daemon tears the warm members down: no shim, cgroup or directory left" {
    start_daemon --pool base=2
    wait_for 300 '[ "$(warm_count)" = 2 ]' || fail "warm: $(warm_count)"
    local pids p
    pids=$(warm_pids)
    [ -d "$GBOX_STATE_DIR/pool" ]
    [ -n "$(gbox_cgroups $pids)" ] || fail "the warm members hold no cgroups?"
    kill -TERM "$DAEMON_PID"
    wait "$DAEMON_PID"
    for p in $pids; do
        ! kill -0 "$p" 2>/dev/null || fail "warm shim $p still alive"
    done
    assert_no_cgroups $pids
    [ ! -e "$GBOX_STATE_DIR/pool" ] || fail "pool directory left: $(ls -R "$GBOX_STATE_DIR/pool")"
}

@test "kill -9 of the daemon: warm members give up on their own; the next daemon clears their directories" {
    start_daemon --pool base=2
    wait_for 300 '[ "$(warm_count)" = 2 ]' || fail "warm: $(warm_count)"
    local pids p
    pids=$(warm_pids)
    kill -KILL "$DAEMON_PID"
    wait "$DAEMON_PID" 2>/dev/null || true
    for p in $pids; do
        wait_for 300 '! kill -0 '"$p"' 2>/dev/null' || fail "warm shim $p did not give up"
    done
    assert_no_cgroups $pids
    start_daemon
    [ ! -e "$GBOX_STATE_DIR/pool" ] || fail "pool directory left: $(ls -R "$GBOX_STATE_DIR/pool")"
    run "$GBOX" ps --json
    assert_output '[]'
}

@test "--pool: bad values are refused with a clear message, nothing started" {
    run "$GBOX" daemon --pool base
    assert_failure 2
    assert_output --partial 'expected POLICY=N with N from 0 to 64, got "base"'
    run "$GBOX" daemon --pool base=65
    assert_failure 2
    run "$GBOX" daemon --pool no-such-policy=1
    assert_failure 2
    assert_output --partial "--pool no-such-policy=1:"
    [ ! -e "$GBOX_SOCKET" ]
    run "$GBOX" run --hold-fd 3 --in-image true
    assert_failure 2
    assert_output --partial "--hold-fd: the program"
}

@test "an edited policy: its warm members are not used, the pool refills from the new version" {
    local pol
    pol=$(policy_file edited '"hostname": "before"')
    start_daemon --pool "$pol=1"
    wait_for 300 '[ "$(warm_count)" = 1 ]' || fail "warm: $(warm_count); $(cat "$BATS_TEST_TMPDIR/daemon.log")"
    local old
    old=$(warm_pids)
    "$GBOX" spawn --name first --policy "$pol" --in-image sh -c 'hostname'
    wait_for 300 '[ "$(state_of first)" = exited ]' || fail "first: $(state_of first)"
    [ "$(shim_of first)" = "$old" ] || fail "first did not run in the warm member"
    wait_for 300 '[ "$(warm_count)" = 1 ]' || fail "no refill"
    old=$(warm_pids)
    sleep 0.01
    policy_file edited '"hostname": "after"' >/dev/null
    "$GBOX" spawn --name second --policy "$pol" --in-image sh -c 'hostname'
    wait_for 300 '[ "$(state_of second)" = exited ]' || fail "second: $(state_of second)"
    [ "$(shim_of second)" != "$old" ] || fail "second ran in a member built from the old policy"
    run "$GBOX" logs second
    assert_output after
    wait_for 300 '! kill -0 '"$old"' 2>/dev/null' || fail "the stale member did not give up"
    wait_for 300 '[ "$(warm_count)" = 1 ] && [ "$(warm_pids)" != "'"$old"'" ]' || fail "no fresh member"
    assert_no_cgroups "$old"
}

@test "a pooled spawn is answered once it is on disk: record, events in order, audit; pipelined requests answered in order" {
    start_daemon --pool base=1
    wait_for 300 '[ "$(warm_count)" = 1 ]' || fail "warm: $(warm_count)"
    local warm
    warm=$(warm_pids)
    # spawn and ps sent together on one connection, then the write side closed: both replies
    # come, in order; when the spawn's arrives, its meta.json and its first events exist
    run python3 - "$GBOX_SOCKET" "$GBOX_STATE_DIR" <<'PY'
import json, os, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(60)
s.sendall(b'{"op":"spawn","policy":"base","name":"p1","argv":["probe","sleep","30"],"in_image":true}\n{"op":"ps"}\n')
s.shutdown(socket.SHUT_WR)
f = s.makefile('r')
first = json.loads(f.readline())
d = os.path.join(sys.argv[2], "sandboxes", first["id"])
meta = json.load(open(os.path.join(d, "meta.json")))
types = [json.loads(l)["type"] for l in open(os.path.join(sys.argv[2], "events.jsonl")) if json.loads(l).get("id") == first["id"]]
print("spawn ok=%s name=%s" % (first["ok"], first["name"]))
print("meta state=%s shim_pid=%s" % (meta["state"], meta["shim_pid"]))
print("events " + " ".join(t for t in types if t in ("spawned", "started")))
second = json.loads(f.readline())
print("ps has p1: %s" % any(x["name"] == "p1" for x in second["sandboxes"]))
PY
    assert_success
    assert_line --index 0 "spawn ok=True name=p1"
    assert_line --index 1 "meta state=starting shim_pid=$warm"
    assert_line --index 2 "events spawned started"
    assert_line --index 3 "ps has p1: True"
    wait_for 300 '[ "$(state_of p1)" = running ]' || fail "p1: $(state_of p1)"
    run jq -r 'select(.id == "'"$("$GBOX" inspect p1 | jq -r .id)"'") | .type' "$GBOX_STATE_DIR/events.jsonl"
    assert_output "$(printf 'spawned\nstarted\nrunning')"
    run jq -c 'select(.op == "spawn") | [.target, .ok]' "$GBOX_STATE_DIR/audit.jsonl"
    assert_output '["base",true]'
    # the record survives a daemon restart: the next daemon adopts the running sandbox
    kill -KILL "$DAEMON_PID"
    wait "$DAEMON_PID" 2>/dev/null || true
    start_daemon
    [ "$(state_of p1)" = running ] || fail "p1 after the restart: $(state_of p1)"
}

@test "a warm member killed right before a spawn: the spawn still runs (another member or cold)" {
    start_daemon --pool base=1
    wait_for 300 '[ "$(warm_count)" = 1 ]' || fail "warm: $(warm_count)"
    local warm
    warm=$(warm_pids)
    kill -KILL "$warm"
    run "$GBOX" spawn --name after --in-image sh -c 'echo ran'
    assert_success
    wait_for 300 '[ "$(state_of after)" = exited ]' || fail "after: $(state_of after); $(cat "$BATS_TEST_TMPDIR/daemon.log")"
    [ "$(shim_of after)" != "$warm" ] || fail "the dead member was used"
    run "$GBOX" logs after
    assert_output ran
    # the dead member's directory and cgroups go; the pool refills
    wait_for 300 '[ "$(warm_count)" = 1 ]' || fail "no refill: $(cat "$BATS_TEST_TMPDIR/daemon.log")"
    assert_no_cgroups "$warm"
    [ "$(ls "$GBOX_STATE_DIR/pool" | wc -l)" = 1 ] || fail "pool directories: $(ls "$GBOX_STATE_DIR/pool")"
}
