#!/usr/bin/env bats
# config.bats — live domain configuration through gbox daemon (issue #12): config get/set applied
# to a running sandbox's cgroups, a change below current usage refused with the numbers, the
# approval queue across a daemon restart, the distinct-approver rule, history and revert, policy
# files edited on disk (invalid: the version in force stays), SIGHUP, and the hash-chained audit
# log with gbox audit verify finding edits, removals and reordering. One daemon per test, with its
# own socket, state directory and policy directory under $BATS_TEST_TMPDIR.

load helpers

setup() {
    export GBOX_SOCKET=$BATS_TEST_TMPDIR/gbox.sock
    export GBOX_STATE_DIR=$BATS_TEST_TMPDIR/state
    getent group gbox >/dev/null || groupadd --system gbox
    PDIR=$BATS_TEST_TMPDIR/policies
    mkdir -p "$PDIR"
    cp "$POLICY_DIR/base.json" "$PDIR/"
    cat >"$PDIR/web.json" <<'EOF2'
{"version": 1, "name": "web", "extends": "base",
 "resources": {"memory": {"max": "256M"}, "pids": {"max": 64}}}
EOF2
    start_daemon
}

start_daemon() {
    "$GBOX" daemon --policy-dir "$PDIR" "$@" >>"$BATS_TEST_TMPDIR/daemon.log" 2>&1 &
    DAEMON_PID=$!
    local i
    for i in $(seq 100); do
        [ -S "$GBOX_SOCKET" ] && "$GBOX" ps >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    cat "$BATS_TEST_TMPDIR/daemon.log" >&2
    fail "the daemon did not come up"
}

stop_daemon() {
    kill -TERM "$DAEMON_PID" 2>/dev/null || true
    wait "$DAEMON_PID" 2>/dev/null || true
}

teardown() {
    local id
    if kill -0 "$DAEMON_PID" 2>/dev/null; then
        for id in $("$GBOX" ps --json 2>/dev/null | jq -r '.[] | select(.state == "running" or .state == "starting") | .id'); do
            "$GBOX" kill "$id" >/dev/null 2>&1 || true
        done
        wait_for 50 '[ -z "$("$GBOX" ps --json | jq -r ".[] | select(.state == \"running\" or .state == \"starting\") | .id")" ]' || true
        stop_daemon
    fi
    case $GBOX_SOCKET in /run/gbox-bats-*) rm -rf "$(dirname "$GBOX_SOCKET")" ;; esac
}

wait_for() {
    local i
    for i in $(seq "$1"); do
        eval "$2" && return 0
        sleep 0.1
    done
    return 1
}

# spawn_running NAME CMD... — spawn in domain web and wait until it runs; prints nothing.
spawn_running() {
    local name=$1
    shift
    run "$GBOX" spawn --policy web --name "$name" --in-image "$@"
    assert_success
    wait_for 100 '[ "$("$GBOX" inspect "$name" | jq -r .state)" = running ] && [ -n "$(cg_dir "$name" pids)" ]' ||
        fail "$name is not running: $("$GBOX" inspect "$name")"
}

# cg_dir NAME CONTROLLER — the sandbox's cgroup directory of a v1 controller (hybrid host), or
# the unified one when the host has the controller there.
cg_dir() {
    local id st
    id=$("$GBOX" inspect "$1" | jq -r .id)
    st=$GBOX_STATE_DIR/sandboxes/$id/state.json
    [ -f "$st" ] || return 0
    jq -r --arg c "/$2/" '(.cgroup_v1 // [])[] | select(contains($c))' "$st"
    if grep -qw "$2" "$(jq -r '.cgroup_v2 // empty' "$st")/cgroup.controllers" 2>/dev/null &&
        [ -z "$(jq -r --arg c "/$2/" '(.cgroup_v1 // [])[] | select(contains($c))' "$st")" ]; then
        jq -r .cgroup_v2 "$st"
    fi
}

mem_limit() {
    local d
    d=$(cg_dir "$1" memory)
    if [ -f "$d/memory.limit_in_bytes" ]; then cat "$d/memory.limit_in_bytes"; else cat "$d/memory.max"; fi
}

@test "config get shows the policy in force; set changes a running sandbox's cgroup limits live" {
    run "$GBOX" config get web resources.memory.max
    assert_success
    assert_output '"256M"'
    spawn_running w1 sh -c 'exec probe sleep 300'
    assert_equal "$(cat "$(cg_dir w1 pids)/pids.max")" 64
    assert_equal "$(mem_limit w1)" $((256 << 20))
    run "$GBOX" config set web resources.memory.max=128M resources.pids.max=40 seccomp.default_action=kill
    assert_success
    assert_line --partial 'resources.memory.max: "256M" -> "128M" (live)'
    assert_line --partial 'resources.pids.max: 64 -> 40 (live)'
    assert_line --partial 'seccomp.default_action: "errno:ENOSYS" -> "kill" (new-sandboxes)'
    assert_line --regexp 'sandbox [0-9a-f]{16} \(w1\): limits applied'
    # seen in the sandbox's own cgroup, by the kernel
    assert_equal "$(cat "$(cg_dir w1 pids)/pids.max")" 40
    assert_equal "$(mem_limit w1)" $((128 << 20))
    run "$GBOX" config get web resources.pids.max
    assert_output 40
    # the policy file says what is in force, and a new sandbox starts with it
    assert_equal "$(jq -r .resources.pids.max "$PDIR/web.json")" 40
    spawn_running w2 sh -c 'exec probe sleep 300'
    assert_equal "$(cat "$(cg_dir w2 pids)/pids.max")" 40
    run "$GBOX" events --type config_changed
    assert_output --partial '"domain":"web"'
}

@test "a limit below a running sandbox's current usage is refused with the numbers; nothing changes" {
    # 3 sleepers and the shell: at least 4 processes
    spawn_running busy sh -c 'probe sleep 300 & probe sleep 300 & probe sleep 300 & wait'
    wait_for 50 '[ "$(cat "$(cg_dir busy pids)/pids.current")" -ge 4 ]' || fail "pids $(cat "$(cg_dir busy pids)/pids.current")"
    local cur
    cur=$(cat "$(cg_dir busy pids)/pids.current")
    run --separate-stderr "$GBOX" config set web resources.pids.max=2
    assert_failure 1
    [[ "$stderr" =~ ^"gbox: config web: resources.pids.max 2 is below the "([0-9]+)" processes sandbox "[0-9a-f]{16}" (busy) runs now: refused, nothing changed"$ ]] || fail "$stderr"
    [ "${BASH_REMATCH[1]}" -ge 4 ] && [ "${BASH_REMATCH[1]}" -le $((cur + 2)) ] || fail "count ${BASH_REMATCH[1]} vs $cur"
    assert_equal "$(cat "$(cg_dir busy pids)/pids.max")" 64
    assert_equal "$("$GBOX" config get web resources.pids.max)" 64
    # memory: 24 MiB written to its /tmp (tmpfs, charged to its cgroup), then a 8M limit asked for
    spawn_running fat sh -c 'dd if=/dev/zero of=/tmp/fill bs=1M count=24 2>/dev/null; exec probe sleep 300'
    wait_for 100 '[ "$("$GBOX" stats fat | jq -r .memory_bytes)" -gt $((20 << 20)) ]' || fail "usage $("$GBOX" stats fat)"
    run --separate-stderr "$GBOX" config set web resources.memory.max=8M
    assert_failure 1
    [[ "$stderr" =~ ^"gbox: config web: resources.memory.max 8388608 bytes is below the "([0-9]+)" bytes sandbox "[0-9a-f]{16}" (fat) uses now" ]] || fail "$stderr"
    [ "${BASH_REMATCH[1]}" -gt $((20 << 20)) ] || fail "usage ${BASH_REMATCH[1]}"
    assert_equal "$(mem_limit fat)" $((256 << 20))
    run "$GBOX" config history web
    refute_output --partial 'rev 2'
}

@test "an invalid value is refused like in a file, naming the file and the field" {
    run --separate-stderr "$GBOX" config set web resources.memory.max=lots
    assert_failure 1
    assert_equal "$stderr" "gbox: $PDIR/web.json: resources.memory.max: expected a size like \"256M\" (K, M, G, T) or a number of bytes, got \"lots\""
    run --separate-stderr "$GBOX" config set web no.such.field=1
    assert_failure 1
    [[ "$stderr" == *"web.json: no"* ]] || fail "$stderr"
    run --separate-stderr "$GBOX" config set nosuch resources.pids.max=1
    assert_failure 1
    [[ "$stderr" == 'gbox: domain "nosuch": no such policy in force'* ]] || fail "$stderr"
    run "$GBOX" config set web notapair
    assert_failure 2
    assert_equal "$(jq -r .resources.memory.max "$PDIR/web.json")" 256M
}

@test "a merge patch file; history with diffs; revert to an earlier revision" {
    echo '{"resources": {"pids": {"max": 50}}, "monitoring": {"health_check": {"interval": "7s"}}}' >"$BATS_TEST_TMPDIR/p.json"
    run "$GBOX" config set web --patch "$BATS_TEST_TMPDIR/p.json"
    assert_success
    assert_line '  monitoring.health_check.interval: "30s" -> "7s" (live)'
    run "$GBOX" config set web resources.pids.max=33
    assert_success
    run "$GBOX" config history web
    assert_line --regexp '^rev 1  .* UTC  uid 0  load$'
    assert_line --regexp '^rev 2  .* UTC  uid 0  patch$'
    assert_line '  resources.pids.max: 64 -> 50 (live)'
    assert_line --regexp '^rev 3  .*  set$'
    assert_line '  resources.pids.max: 50 -> 33 (live)'
    spawn_running r1 sh -c 'exec probe sleep 300'
    run "$GBOX" config revert web 1
    assert_success
    assert_line 'web: revision 4'
    assert_line '  resources.pids.max: 33 -> 64 (live)'
    assert_equal "$(cat "$(cg_dir r1 pids)/pids.max")" 64
    assert_equal "$("$GBOX" config get web monitoring.health_check.interval)" '"30s"'
    run --separate-stderr "$GBOX" config revert web 9
    assert_failure 1
    assert_equal "$stderr" "gbox: config revert web: no revision 9 (gbox config history web lists 4)"
    # persisted: a new daemon has the same history
    stop_daemon
    start_daemon
    run "$GBOX" config history web --json
    assert_equal "$(echo "$output" | jq length)" 4
    assert_equal "$(echo "$output" | jq -r '.[3].source')" "revert to 1"
}

@test "approval: a change waits in the queue, survives a daemon restart, applies when approved" {
    run "$GBOX" config set web safety.require_explicit_approval=true
    assert_success
    spawn_running a1 sh -c 'exec probe sleep 300'
    run "$GBOX" config set web resources.pids.max=20
    assert_success
    assert_line 'web: change queued for approval as a-000001 (gbox config approve a-000001)'
    assert_equal "$(cat "$(cg_dir a1 pids)/pids.max")" 64
    assert_equal "$("$GBOX" config get web resources.pids.max)" 64
    run "$GBOX" config set web resources.pids.max=30
    assert_line --partial 'a-000002'
    stop_daemon
    start_daemon
    run "$GBOX" config pending --json
    assert_equal "$(echo "$output" | jq -r '[.[].id] | join(" ")')" "a-000001 a-000002"
    assert_equal "$(echo "$output" | jq -r '.[0].kind + " " + .[0].domain + " " + (.[0].requester | tostring)')" "config web 0"
    run "$GBOX" config reject a-000002
    assert_success
    run "$GBOX" config approve a-000001
    assert_success
    assert_line 'web: revision 3'
    assert_line '  resources.pids.max: 64 -> 20 (live)'
    assert_equal "$(cat "$(cg_dir a1 pids)/pids.max")" 20
    run "$GBOX" config pending --json
    assert_output '[]'
    run --separate-stderr "$GBOX" config approve a-000002
    assert_failure 1
    assert_equal "$stderr" "gbox: a-000002: no such pending change (gbox config pending lists them)"
    run "$GBOX" config history web
    assert_line --regexp 'rev 3  .*  set, approved a-000001 by uid 0 \(requested by uid 0\)'
}

@test "distinct approver: the requester cannot approve its own change; another uid can" {
    stop_daemon
    local pub gid acc=$BATS_TEST_TMPDIR/access.json
    pub=$(mktemp -d /run/gbox-bats-XXXXXX)
    chmod 0755 "$pub"
    export GBOX_SOCKET=$pub/gbox.sock
    gid=$(getent group gbox | cut -d: -f3)
    echo '{"rules": [{"uids": [65534], "ops": ["approve", "config-get"], "domains": ["web"]}]}' >"$acc"
    jq '.safety = {"require_explicit_approval": true, "distinct_approver": true}' "$PDIR/web.json" >"$PDIR/web.json.new"
    mv "$PDIR/web.json.new" "$PDIR/web.json"
    start_daemon --access "$acc"
    as_nobody() { setpriv --reuid 65534 --regid "$gid" --clear-groups "$@"; }
    run "$GBOX" config set web resources.pids.max=20
    assert_line --partial 'queued for approval as a-000001'
    run --separate-stderr "$GBOX" config approve a-000001
    assert_failure 1
    assert_equal "$stderr" "gbox: approve a-000001: uid 0 requested this change and may not approve it too (safety.distinct_approver: another uid must approve)"
    # still pending; uid 65534 may approve in web but may not change it itself
    run as_nobody "$GBOX" config pending --json
    assert_equal "$(echo "$output" | jq -r '.[0].id')" a-000001
    run --separate-stderr as_nobody "$GBOX" config set web resources.pids.max=1
    assert_failure 1
    assert_equal "$stderr" "gbox: permission denied: uid 65534 may not config-set in domain web"
    run as_nobody "$GBOX" config approve a-000001
    assert_success
    assert_line '  resources.pids.max: 64 -> 20 (live)'
    assert_equal "$("$GBOX" config get web resources.pids.max)" 20
}

@test "a policy file edited on disk: valid edits apply (inotify, SIGHUP); an invalid one leaves the previous policy in force" {
    spawn_running d1 sh -c 'exec probe sleep 300'
    jq '.resources.pids.max = 48' "$PDIR/web.json" >"$PDIR/web.json.new"
    mv "$PDIR/web.json.new" "$PDIR/web.json"
    wait_for 50 '[ "$("$GBOX" config get web resources.pids.max)" = 48 ]' || fail "not reloaded: $("$GBOX" config get web resources.pids.max)"
    assert_equal "$(cat "$(cg_dir d1 pids)/pids.max")" 48
    # invalid: a size that is no size, written in place
    jq '.resources.pids.max = 12 | .resources.memory.max = "lots"' "$PDIR/web.json" >"$BATS_TEST_TMPDIR/bad.json"
    cat "$BATS_TEST_TMPDIR/bad.json" >"$PDIR/web.json"
    wait_for 50 '"$GBOX" events --type config_invalid | grep -q lots' || fail "no config_invalid event"
    run "$GBOX" events --type config_invalid
    assert_output --partial "\"error\":\"$PDIR/web.json: resources.memory.max: expected a size like"
    assert_equal "$("$GBOX" config get web resources.pids.max)" 48
    assert_equal "$("$GBOX" config get web resources.memory.max)" '"256M"'
    assert_equal "$(cat "$(cg_dir d1 pids)/pids.max")" 48
    # a new sandbox gets the version in force, not the broken file
    spawn_running d2 sh -c 'exec probe sleep 300'
    assert_equal "$(cat "$(cg_dir d2 pids)/pids.max")" 48
    # a syntax error too
    echo '{"version": 1, "name": "web", ' >"$PDIR/web.json"
    wait_for 50 '"$GBOX" events --type config_invalid | grep -q "syntax error"' || fail "no syntax event"
    assert_equal "$("$GBOX" config get web resources.pids.max)" 48
    # and after a restart the version in force is still the last valid one
    stop_daemon
    start_daemon
    assert_equal "$("$GBOX" config get web resources.pids.max)" 48
    # SIGHUP: the file fixed through a hard link in another directory, which the directory's
    # watch does not see (inotify reports events by the path used); the signal alone reloads it
    ln "$PDIR/web.json" "$BATS_TEST_TMPDIR/alias.json"
    jq '.resources.pids.max = 44' "$BATS_TEST_TMPDIR/bad.json" | jq '.resources.memory.max = "200M"' >"$BATS_TEST_TMPDIR/fixed.json"
    cat "$BATS_TEST_TMPDIR/fixed.json" >"$BATS_TEST_TMPDIR/alias.json"
    sleep 1
    assert_equal "$("$GBOX" config get web resources.pids.max)" 48
    kill -HUP "$DAEMON_PID"
    wait_for 50 '[ "$("$GBOX" config get web resources.pids.max)" = 44 ]' || fail "not reloaded"
    assert_equal "$(cat "$(cg_dir d1 pids)/pids.max")" 44
    run "$GBOX" config history web
    assert_line --regexp '^rev [0-9]+  .*  file$'
}

@test "gbox audit verify: intact log passes; an edited, a removed and a reordered entry are found" {
    local i log=$GBOX_STATE_DIR/audit.jsonl
    for i in 1 2 3 4 5; do "$GBOX" config get web resources.pids.max >/dev/null; done
    "$GBOX" ps >/dev/null
    run "$GBOX" audit verify
    assert_success
    assert_output --regexp "^$log: [0-9]+ entries intact$"
    cp "$log" "$BATS_TEST_TMPDIR/orig"
    # edited: the op of entry 3
    sed '3s/"op":"config-get"/"op":"config-set"/' "$BATS_TEST_TMPDIR/orig" >"$log"
    run --separate-stderr "$GBOX" audit verify
    assert_failure 1
    [[ "$stderr" == "gbox: audit verify: $log:3: entry was changed ("* ]] || fail "$stderr"
    # removed: entry 2
    sed '2d' "$BATS_TEST_TMPDIR/orig" >"$log"
    run --separate-stderr "$GBOX" audit verify "$log"
    assert_failure 1
    [[ "$stderr" == "gbox: audit verify: $log:2: entry seq 3 follows seq 1 (entries removed or reordered)" ]] || fail "$stderr"
    # reordered: entries 3 and 4 swapped
    awk 'NR==3{h=$0; next} NR==4{print; print h; next} {print}' "$BATS_TEST_TMPDIR/orig" >"$log"
    run --separate-stderr "$GBOX" audit verify
    assert_failure 1
    [[ "$stderr" == "gbox: audit verify: $log:3: entry seq 4 follows seq 2"* ]] || fail "$stderr"
    # the last entry cut off
    head -n -1 "$BATS_TEST_TMPDIR/orig" >"$log"
    run --separate-stderr "$GBOX" audit verify
    assert_failure 1
    [[ "$stderr" == *"entries removed from the end"* ]] || fail "$stderr"
    # restored: intact again, and the daemon goes on chaining after it
    cp "$BATS_TEST_TMPDIR/orig" "$log"
    "$GBOX" ps >/dev/null
    run "$GBOX" audit verify
    assert_success
    run "$GBOX" audit verify "$BATS_TEST_TMPDIR/none"
    assert_failure 2
}

@test "a change to a parent policy reaches the domains that extend it, or is refused if it breaks one" {
    spawn_running c1 sh -c 'exec probe sleep 300'
    local cpu
    cpu=$(cg_dir c1 cpu)
    [ -n "$cpu" ] || cpu=$(cg_dir c1 cpu,cpuacct)
    [ -f "$cpu/cpu.cfs_quota_us" ] || fail "no v1 cpu cgroup for c1: $cpu"
    assert_equal "$(cat "$cpu/cpu.cfs_quota_us")" 100000
    # web does not set resources.cpu.max: base's change is web's too, live
    run "$GBOX" config set base resources.cpu.max=0.5
    assert_success
    assert_line 'web (extends base):'
    assert_line '  resources.cpu.max: 1.0 -> 0.5 (live)'
    assert_line --regexp 'sandbox [0-9a-f]{16} \(c1\): limits applied'
    assert_equal "$(cat "$cpu/cpu.cfs_quota_us")" 50000
    assert_equal "$("$GBOX" config get web resources.cpu.max)" 0.5
    # memory.high above web's own memory.max: web would be invalid, so base's change is refused
    run --separate-stderr "$GBOX" config set base resources.memory.high=300M
    assert_failure 1
    [[ "$stderr" == "gbox: config base: domain web (which extends it) would no longer be valid: "*"resources.memory.high: expected at most resources.memory.max (268435456 bytes)"* ]] || fail "$stderr"
    assert_equal "$("$GBOX" config get base resources.memory.high)" null
}
