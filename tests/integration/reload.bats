#!/usr/bin/env bats
# reload.bats — hot reload of a supervised sandbox's modules (docs/reload.md): gbox reload,
# rollback and generations through gbox daemon; the checkpoint (the sealed upper layer), the
# verification window, automatic rollback of a version that crashes or fails its health check
# with the state as at the checkpoint, manual rollback, every safety refusal, and kill -9 of the
# daemon at 20 moments of a reload. One daemon, state directory, socket and image store per test
# under $BATS_TEST_TMPDIR; every sandbox a test started is killed in teardown.

load helpers

setup() {
    export GBOX_SOCKET=$BATS_TEST_TMPDIR/gbox.sock
    export GBOX_STATE_DIR=$BATS_TEST_TMPDIR/state
    export GBOX_STORE_DIR=$BATS_TEST_TMPDIR/store
    getent group gbox >/dev/null || groupadd --system gbox
    # app 1 and 2 work, 3 crashes (after writing to the state), 4 fails its health check
    app_module 1.0.0 'echo app 1'
    app_module 2.0.0 'echo app 2'
    app_module 3.0.0 'echo bad >/var/tmp/written-by-3; exit 3'
    app_module 4.0.0 'echo app 4' unhealthy
    POL=$(policy_file rl '"filesystem": {"readonly_root": false}, "failure_policies": {"grace": "500ms"},
        "modules": {"reload": {"verify_window": "1500ms", "verify_passes": 0}}')
    # the health check passes when /opt/app/healthy exits 0
    HPOL=$(policy_file rlh '"filesystem": {"readonly_root": false}, "failure_policies": {"grace": "500ms"},
        "modules": {"reload": {"verify_window": "20s", "verify_passes": 1}},
        "monitoring": {"health_check": {"command": ["/opt/app/healthy"], "interval": "1s", "retries": 1}}')
    start_daemon
}

# app_module VERSION SHELL-LINE [unhealthy] [RELOAD-MODE] [MANIFEST-MEMBERS] — module "app" at
# /opt/app: /opt/app/run runs the line, /opt/app/healthy exits 0 (1 with "unhealthy"), its
# manifest says "reload": RELOAD-MODE (default restart); built into the test's store.
app_module() {
    local d=$BATS_TEST_TMPDIR/src/app-$1
    mkdir -p "$d/rootfs"
    printf '#!/bin/sh\n%s\n' "$2" >"$d/rootfs/run"
    printf '#!/bin/sh\nexit %s\n' "$([ "${3:-}" = unhealthy ] && echo 1 || echo 0)" >"$d/rootfs/healthy"
    chmod 0755 "$d/rootfs/run" "$d/rootfs/healthy"
    printf '{"name": "app", "version": "%s", "depends": [{"name": "base", "version": "^1"}], "mount_point": "/opt/app", "reload": "%s"%s}\n' \
        "$1" "${4:-restart}" "${5:+, $5}" >"$d/module.json"
    "$GBOX" image build "$d" >/dev/null
}

# other_module NAME VERSION MANIFEST-MEMBERS — a module with one file, built into the store.
other_module() {
    local d=$BATS_TEST_TMPDIR/src/$1-$2
    mkdir -p "$d/rootfs/usr/share/$1"
    echo "$1 $2" >"$d/rootfs/usr/share/$1/VERSION"
    printf '{"name": "%s", "version": "%s"%s}\n' "$1" "$2" "${3:+, $3}" >"$d/module.json"
    "$GBOX" image build "$d" >/dev/null
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
    if kill -0 "$DAEMON_PID" 2>/dev/null; then
        for id in $("$GBOX" ps --json 2>/dev/null | jq -r '.[] | select(.state == "running" or .state == "starting") | .id'); do
            "$GBOX" kill "$id" >/dev/null 2>&1 || true
        done
        wait_for 50 '[ -z "$("$GBOX" ps --json | jq -r ".[] | select(.state == \"running\" or .state == \"starting\") | .id")" ]' || true
        kill -TERM "$DAEMON_PID" 2>/dev/null || true
        wait "$DAEMON_PID" 2>/dev/null || true
    fi
}

wait_for() {
    local i
    for i in $(seq "$1"); do
        eval "$2" && return 0
        sleep 0.1
    done
    return 1
}

# The program: remembers when it first ran in its state (/var/tmp/first), then prints the app's
# output and that line every 0.2 s; exits 7 when the app fails.
PROG='[ -f /var/tmp/first ] || echo "first-$(cat /proc/sys/kernel/random/uuid)" >/var/tmp/first; while true; do out=$(/opt/app/run) || exit 7; echo "$out $(cat /var/tmp/first)"; sleep 0.2; done'

spawn_app() { # spawn_app POLICY [RANGE]
    "$GBOX" spawn --name app --policy "$1" --module "app@${2:-1}" --in-image sh -c "$PROG" >/dev/null
    wait_for 100 '"$GBOX" logs app | grep -q "^app "' || { "$GBOX" logs --stderr app >&2; fail "app did not start"; }
}

# last_line — the newest line the program printed (after a fresh one appeared).
last_line() {
    local n
    n=$("$GBOX" logs app | wc -l)
    wait_for 50 '[ "$("$GBOX" logs app | wc -l)" -gt "$n" ]' || true
    "$GBOX" logs app | tail -1
}

# count_shims DIR — processes running `gbox run --state-file DIR/state.json` whose parent is not
# one (a shim's own children carry its command line until they exec).
count_shims() {
    local p pp n=0
    for p in $(pgrep -f -- "--state-file $1/state.json"); do
        pp=$(awk '{ print $4 }' "/proc/$p/stat" 2>/dev/null) || continue
        grep -qsF -- "--state-file" "/proc/$pp/cmdline" || n=$((n + 1))
    done
    echo "$n"
}

current_gen() { "$GBOX" generations --json app | jq -r .current; }

@test "reload changes a module's output and keeps the sandbox's state; generations lists both" {
    spawn_app "$POL"
    local before
    before=$(last_line)
    assert_equal "${before% *}" "app 1"
    run "$GBOX" reload app --module app@2.0.0
    assert_success
    assert_output --partial "generation 2 verified (reload: app 1.0.0 -> 2.0.0)"
    run last_line
    assert_output "app 2 ${before#app 1 }"        # same state: first ran before the reload
    run "$GBOX" generations app
    assert_success
    assert_line --regexp '^ 1 +verified +app@=1\.0\.0 +0 +spawn$'
    assert_line --regexp '^\*2 +verified +app@=2\.0\.0 +1 +reload: app 1\.0\.0 -> 2\.0\.0$'
    # the checkpoint is the sealed upper layer: gen 1's writes are in it, read-only from now on
    local dir
    dir=$GBOX_STATE_DIR/sandboxes/$("$GBOX" ps --json | jq -r '.[0].id')
    [ -f "$dir/layers/s0/var/tmp/first" ]
    [ ! -e "$dir/reload.json" ]
    run "$GBOX" events --id app --type reload
    assert_output --partial '"phase":"verified"'
}

@test "a new version that crashes is rolled back automatically, with the state as at the checkpoint" {
    spawn_app "$POL" 2
    local before
    before=$(last_line)
    run "$GBOX" reload app --module app@3.0.0
    assert_failure 1
    assert_output --partial "generation 2 was rolled back; now on generation 3 (rollback to generation 1: generation 2 ended during verification: exited with status 7)"
    run last_line
    assert_output "$before"                       # app 2, and the same first line
    # what version 3 wrote before it crashed is gone
    local dir
    dir=$GBOX_STATE_DIR/sandboxes/$("$GBOX" ps --json | jq -r '.[0].id')
    [ -z "$(find "$dir/state" "$dir/layers" -name written-by-3)" ]
    run "$GBOX" generations --json app
    assert_equal "$(echo "$output" | jq -r '.generations[] | select(.gen == 2) | .status')" failed
    assert_equal "$(echo "$output" | jq -r '.generations[] | select(.gen == 3) | .modules[0]')" "app@=2.0.0"
    run "$GBOX" events --id app --type rollback
    assert_output --partial '"reason":"generation 2 ended during verification: exited with status 7"'
}

@test "a new version that fails its health check is rolled back; a healthy one is verified by its checks" {
    spawn_app "$HPOL"
    run "$GBOX" reload app --module app@2.0.0
    assert_success
    assert_output --partial "generation 2 verified"
    run "$GBOX" events --id app --type reload
    assert_output --partial '"passes":1'
    run "$GBOX" reload app --module app@4.0.0
    assert_failure 1
    assert_output --partial "rollback to generation 2: health check failed 1 times in a row during verification"
    run last_line
    assert_output --regexp '^app 2 first-'
}

@test "manual rollback to an older generation: its stack and its state as at its checkpoint" {
    spawn_app "$POL"
    local f1 line
    f1=$(last_line)
    f1=${f1#app 1 }
    run "$GBOX" reload app --module app@2.0.0
    assert_success
    run last_line
    assert_output "app 2 $f1"
    # generation 1's checkpoint is the state at spawn: empty, so the program starts afresh
    run "$GBOX" rollback app --to 1
    assert_success
    assert_output --partial "generation 3 verified (rollback to generation 1: asked by uid 0)"
    line=$(last_line)
    [[ $line == "app 1 first-"* ]] || fail "unexpected line: $line"
    [ "${line#app 1 }" != "$f1" ] || fail "the state of generation 2 survived a rollback to 1"
    # and generation 2's checkpoint still holds the first state
    run "$GBOX" rollback app --to 2
    assert_success
    run last_line
    assert_output "app 2 $f1"
    # without --to: the generation before the current one
    run "$GBOX" rollback app
    assert_success
    assert_output --partial "generation 5 verified (rollback to generation 3"
    run "$GBOX" rollback app --to 99
    assert_failure 1
    assert_output "gbox: rollback: $("$GBOX" ps --json | jq -r '.[0].id') has no generation 99 (gbox generations $("$GBOX" ps --json | jq -r '.[0].id'))"
}

@test "reloads refused by each safety check, with a clear reason and nothing changed" {
    other_module frozen 1.0.0 '"reload": "never", "mount_point": "/opt/frozen"'
    other_module frozen 2.0.0 '"reload": "never", "mount_point": "/opt/frozen"'
    other_module plugin 1.0.0 '"depends": [{"name": "app", "version": "^1"}], "mount_point": "/opt/plugin"'
    other_module elsewhere 1.0.0 '"domains": ["space_probe"], "mount_point": "/opt/elsewhere"'
    other_module fancy 1.0.0 '"set": "full", "mount_point": "/opt/fancy"'
    local std
    std=$(policy_file std '"filesystem": {"readonly_root": false}, "modules": {"set": "standard"}')
    "$GBOX" spawn --name app --policy "$std" --module app@1 --module plugin --module frozen@1 --in-image sh -c "$PROG" >/dev/null
    wait_for 100 '"$GBOX" logs app | grep -q "^app "' || fail "app did not start"
    # the manifest's reload mode
    run "$GBOX" reload app --module frozen@2.0.0
    assert_failure 1
    assert_output 'gbox: reload refused: frozen@2.0.0 says "reload": "never" in its manifest: stop the sandbox and spawn it again with the new version'
    # every other module's version range still satisfied
    run "$GBOX" reload app --module app@2.0.0
    assert_failure 1
    assert_output --partial 'gbox: reload refused: the new module stack does not resolve in domain std: '
    assert_output --partial 'plugin@1.0.0'
    assert_output --partial '"^1"'
    # domain compatibility
    run "$GBOX" reload app --module elsewhere@1.0.0
    assert_failure 1
    assert_output --partial 'elsewhere@1.0.0 (wanted by --module elsewhere@1.0.0) does not run in domain std (its domains: space_probe)'
    # what the policy allows
    run "$GBOX" reload app --module fancy
    assert_failure 1
    assert_output --partial 'fancy@1.0.0 (wanted by --module fancy) is not allowed by policy std'
    # a version that does not exist; nothing to change; a bad reference
    run "$GBOX" reload app --module app@9
    assert_failure 1
    assert_output --partial 'no version of app matches "9"'
    run "$GBOX" reload app --module app@1.0.0
    assert_failure 1
    assert_output 'gbox: reload refused: nothing to reload: app@1.0.0 already runs the stack asked for'
    run "$GBOX" reload app --module 'App!'
    assert_failure 1
    assert_output --partial 'expected NAME@VERSION or NAME@RANGE, got App!'
    run "$GBOX" reload app
    assert_failure 2
    # nothing changed: one generation, the same program
    run "$GBOX" generations --json app
    assert_equal "$(echo "$output" | jq '.generations | length')" 1
    assert_equal "$(echo "$output" | jq -r '.generations[0].modules | join(",")')" "app@=1.0.0,plugin@=1.0.0,frozen@=1.0.0"
    assert_equal "$("$GBOX" ps --json | jq -r '.[0].runs')" 1
    run "$GBOX" events --id app --type reload
    assert_output --partial '"phase":"refused"'
    # a sandbox without modules has no generations
    "$GBOX" spawn --name plain --policy "$std" --in-image sleep 30 >/dev/null
    run "$GBOX" reload plain --module app@2
    assert_failure 1
    assert_output --partial "has no generations (spawn it with --module to reload it)"
}

@test "kill -9 of the daemon at 20 moments of a reload: after restart the sandbox runs exactly one consistent generation" {
    spawn_app "$POL"
    local f1 i want line cur mods id dir shims
    f1=$(last_line)
    f1=${f1#app 1 }
    id=$("$GBOX" ps --json | jq -r '.[0].id')
    dir=$GBOX_STATE_DIR/sandboxes/$id
    for i in $(seq 20); do
        # alternate between versions; every fourth time a version that crashes (rolled back)
        case $((i % 4)) in 1) want=2.0.0 ;; 2) want=1.0.0 ;; 3) want=3.0.0 ;; 0) want=2.0.0 ;; esac
        "$GBOX" reload --no-wait app --module "app@$want" >/dev/null 2>&1 || true
        sleep "$(awk -v i="$i" 'BEGIN { printf "%.3f", (i * 97 % 1600) / 1000 }')"
        kill -9 "$DAEMON_PID"
        wait "$DAEMON_PID" 2>/dev/null || true
        # gone, or a zombie (its files closed) when bats started it from another shell
        wait_for 100 '[ ! -e /proc/$DAEMON_PID ] || [ "$(awk "{ print \$3 }" /proc/$DAEMON_PID/stat)" = Z ]' ||
            fail "round $i: the daemon did not die"
        start_daemon
        # settle: no reload in progress and the sandbox running
        wait_for 300 '[ ! -e "$dir/reload.json" ] && [ "$("$GBOX" ps --json | jq -r ".[0].state")" = running ]' ||
            { cat "$dir/reload.json" >&2; "$GBOX" ps >&2; fail "round $i: did not settle"; }
        cur=$("$GBOX" generations --json app)
        mods=$(echo "$cur" | jq -r '.current as $c | .generations[] | select(.gen == $c) | .modules[0]')
        # the program runs what the current generation says, on the state it had
        line=$(last_line)
        assert_equal "$line" "app $(echo "${mods#app@=}" | cut -d. -f1) $f1"
        # exactly one shim for the sandbox
        shims=$(count_shims "$dir")
        [ "$shims" = 1 ] || { ps -eo pid,ppid,stat,args | grep -F -- "$dir" >&2; fail "round $i: $shims shims"; }
    done
    run "$GBOX" generations app
    assert_success
}

@test "a domain with safety.require_explicit_approval queues the reload; gbox config approve applies it" {
    local apol id
    apol=$(policy_file appr '"filesystem": {"readonly_root": false}, "safety": {"require_explicit_approval": true}')
    spawn_app "$apol"
    # the safety checks still come first
    run "$GBOX" reload app --module app@9
    assert_failure 1
    assert_output --partial 'no version of app matches "9"'
    run "$GBOX" reload app --module app@2.0.0
    assert_success
    assert_output --regexp '^app: reload \(app 1\.0\.0 -> 2\.0\.0\) queued for approval as ([a-z0-9-]+) \(domain appr requires explicit approval\)$'
    id=$(echo "$output" | sed -E 's/.* as ([^ ]+) .*/\1/')
    # pending in the queue, for the daemon's approve: kind reload, the sandbox, what to load
    run jq -r '[.kind, .domain, .target, (.payload.modules | join(","))] | join(" ")' "$GBOX_STATE_DIR/approvals/$id.json"
    assert_success
    assert_output "reload appr $("$GBOX" ps --json | jq -r '.[0].id') app@2.0.0"
    # nothing changed meanwhile
    run "$GBOX" generations --json app
    assert_equal "$(echo "$output" | jq '.generations | length')" 1
    assert_equal "$(echo "$output" | jq 'has("reload")')" false
    run last_line
    assert_output --regexp '^app 1 first-'
    run "$GBOX" events --id app --type reload
    assert_output --partial "{\"approval\":\"$id\",\"changed\":\"app 1.0.0 -> 2.0.0\""
    assert_output --partial "\"phase\":\"queued\""
    # approved: the checks run again and the reload happens
    run "$GBOX" config approve "$id"
    assert_success
    [ ! -e "$GBOX_STATE_DIR/approvals/$id.json" ] || fail "the entry is still pending"
    wait_for 300 '"$GBOX" logs app | tail -1 | grep -q "^app 2 "' || fail "not reloaded: $("$GBOX" events --id app --type reload)"
    run "$GBOX" generations --json app
    assert_equal "$(echo "$output" | jq '.generations | length')" 2
}

@test "gbox image watch rebuilds a changed module and reloads the sandboxes that run it where the policy allows" {
    local auto src wpid other_id app_id
    auto=$(policy_file auto '"filesystem": {"readonly_root": false}, "failure_policies": {"grace": "500ms"},
        "modules": {"reload": {"verify_window": "1500ms", "verify_passes": 0, "auto": true}}')
    spawn_app "$auto"
    "$GBOX" spawn --name other --policy "$POL" --module app@1 --in-image sh -c "$PROG" >/dev/null
    app_id=$("$GBOX" ps --json | jq -r '.[] | select(.name == "app") | .id')
    other_id=$("$GBOX" ps --json | jq -r '.[] | select(.name == "other") | .id')
    src=$BATS_TEST_TMPDIR/src/app-1.0.0
    "$GBOX" image watch --debounce 200 "$src" >"$BATS_TEST_TMPDIR/watch.log" 2>&1 &
    wpid=$!
    wait_for 100 'grep -q "^watching 1 directory" "$BATS_TEST_TMPDIR/watch.log"' || { kill "$wpid"; fail "watch did not start"; }
    grep -q '^built app:1.0.0 sha256:[0-9a-f]*$' "$BATS_TEST_TMPDIR/watch.log" || { kill "$wpid"; fail "no first build"; }
    printf '#!/bin/sh\necho app 1 patched\n' >"$src/rootfs/run"
    wait_for 300 '"$GBOX" logs app | tail -1 | grep -q "^app 1 patched first-"' || { cat "$BATS_TEST_TMPDIR/watch.log" >&2; kill "$wpid"; fail "no reload"; }
    wait_for 100 '[ "$("$GBOX" generations --json app | jq -r ".generations[-1].status")" = verified ]' || true
    kill "$wpid"
    wait "$wpid" 2>/dev/null || true
    run cat "$BATS_TEST_TMPDIR/watch.log"
    assert_equal "$(grep -cE '^built app:1\.0\.0 sha256:[0-9a-f]{64}$' "$BATS_TEST_TMPDIR/watch.log")" 2
    assert_line "reload $app_id: started (gbox generations shows the outcome)"
    assert_line "reload $other_id: reload refused: domain rl does not allow automatic reloads (modules.reload.auto is false)"
    run "$GBOX" generations --json app
    assert_equal "$(echo "$output" | jq -r '.generations[-1] | "\(.gen) \(.status) \(.reason)"')" "2 verified reload: app 1.0.0 -> 1.0.0"
    # the other sandbox still runs the old build
    run "$GBOX" generations --json other
    assert_equal "$(echo "$output" | jq '.generations | length')" 1
    "$GBOX" logs other | tail -1 | grep -q '^app 1 first-'
}

# ---- swap mode ------------------------------------------------------------------------------

# swap_setup — app 5 and 6 (and a crashing 7) say "reload": "swap"; SPOL sends SIGUSR1 after a
# swap. The program prints the app's output, a token drawn when it started (a restarted program
# draws another; its pid inside the sandbox would be the same) and its state's first line; on
# SIGUSR1 it prints "usr1 N" (N counts the signals it got).
SWAP_PROG='n=0; run=$(cat /proc/sys/kernel/random/uuid); trap '"'"'n=$((n+1)); echo "usr1 $n"'"'"' USR1; [ -f /var/tmp/first ] || echo "first-$(cat /proc/sys/kernel/random/uuid)" >/var/tmp/first; while true; do out=$(/opt/app/run) || exit 7; echo "$out run-$run $(cat /var/tmp/first)"; sleep 0.2; done'

swap_setup() {
    app_module 5.0.0 'echo app 5' '' swap
    app_module 6.0.0 'echo app 6' '' swap
    app_module 7.0.0 'echo bad >/var/tmp/written-by-7; exit 3' '' swap
    SPOL=$(policy_file swp '"filesystem": {"readonly_root": false}, "failure_policies": {"grace": "500ms"},
        "modules": {"reload": {"verify_window": "1500ms", "verify_passes": 0, "signal": "SIGUSR1"}}')
    "$GBOX" spawn --name app --policy "$SPOL" --module app@5 --in-image sh -c "$SWAP_PROG" >/dev/null
    wait_for 100 '"$GBOX" logs app | grep -q "^app 5 "' || { "$GBOX" logs --stderr app >&2; fail "app did not start"; }
}

@test "swap mode: the running program reads the new module without a restart, gets the policy's signal; rollback swaps back" {
    swap_setup
    local before run1 first dir
    before=$(last_line)
    run1=$(echo "$before" | awk '{ print $3 }')
    first=$(echo "$before" | awk '{ print $4 }')
    local init mounts top5
    init=$("$GBOX" ps --json | jq -r '.[0].init_pid')
    mounts=$(grep -c ' /opt/app ' "/proc/$init/mountinfo")
    top5=$(grep ' /opt/app ' "/proc/$init/mountinfo" | tail -1 | awk '{ print $4 }')
    run "$GBOX" reload app --module app@6.0.0
    assert_success
    assert_output --partial "generation 2 verified (reload: app 5.0.0 -> 6.0.0)"
    run last_line
    assert_output "app 6 $run1 $first"               # the same run (no restart), same state, new module tree
    run "$GBOX" logs app
    assert_line "usr1 1"                             # the policy's signal reached the program
    run "$GBOX" events --id app --type reload
    assert_output --partial '"phase":"swapped"'
    refute_output --partial '"phase":"stopping"'
    run "$GBOX" ps --json
    assert_equal "$(echo "$output" | jq -r '.[0].runs')" 1   # never restarted
    # the checkpoint is a frozen copy of the upper: the state as it was, the upper still in use
    dir=$GBOX_STATE_DIR/sandboxes/$("$GBOX" ps --json | jq -r '.[0].id')
    [ -f "$dir/layers/s0/var/tmp/first" ]
    [ -f "$dir/state/upper/var/tmp/first" ]
    run "$GBOX" generations --json app
    assert_equal "$(echo "$output" | jq -r '.generations[1].mode')" swap
    assert_equal "$(echo "$output" | jq -r '.generations[1].swapped_from')" 1
    # the old tree was detached, not stacked: as many mounts at /opt/app as before, the top one
    # the new tree, read-only
    assert_equal "$(grep -c ' /opt/app ' "/proc/$init/mountinfo")" "$mounts"
    grep ' /opt/app ' "/proc/$init/mountinfo" | tail -1 | grep -q ' ro,nosuid,nodev'
    [ "$(grep ' /opt/app ' "/proc/$init/mountinfo" | tail -1 | awk '{ print $4 }')" != "$top5" ]
    # rollback of a swap: the same move back, live
    run "$GBOX" rollback app
    assert_success
    assert_output --partial "generation 3"
    run last_line
    assert_output "app 5 $run1 $first"
    run "$GBOX" logs app
    assert_line "usr1 2"
    assert_equal "$(grep -c ' /opt/app ' "/proc/$init/mountinfo")" "$mounts"
    assert_equal "$(grep ' /opt/app ' "/proc/$init/mountinfo" | tail -1 | awk '{ print $4 }')" "$top5"
    run "$GBOX" events --id app --type rollback
    assert_output --partial '"mode":"swap"'
}

@test "swap mode: a version that fails after the swap is rolled back by restart, its writes dropped" {
    swap_setup
    local before
    before=$(last_line)
    run "$GBOX" reload app --module app@7.0.0
    assert_failure 1
    assert_output --partial "generation 2 was rolled back; now on generation 3 (rollback to generation 1: generation 2 ended during verification: exited with status 7)"
    run last_line
    assert_equal "$(echo "$output" | awk '{ print $1, $2, $4 }')" "$(echo "$before" | awk '{ print $1, $2, $4 }')"
    local dir
    dir=$GBOX_STATE_DIR/sandboxes/$("$GBOX" ps --json | jq -r '.[0].id')
    [ -z "$(find "$dir/state" "$dir/layers" -name written-by-7)" ]
    run "$GBOX" events --id app --type reload
    assert_output --partial '"phase":"swapped"'
    assert_output --partial '"phase":"rolling_back"'
}

@test "swap mode: refused when a module at / changes with it (modules.reload.swap_fallback: refuse), nothing changed" {
    swap_setup
    # a newer base in the store: app 6's "base ^1" now resolves to it, so "/" changes along
    other_module base 1.1.0 '"provides": ["shell", "coreutils", "probe"]'
    local before
    before=$(last_line)
    run "$GBOX" reload app --module app@6.0.0
    [ "$status" -ne 0 ] || fail "expected a refusal"
    assert_output --partial "cannot swap app 5.0.0 -> 6.0.0"
    assert_output --partial 'a module at mount point "/" changes with them'
    assert_output --partial 'modules.reload.swap_fallback is "refuse"'
    assert_equal "$(current_gen)" 1
    run last_line
    assert_output "$before"
    run "$GBOX" events --id app --type reload
    assert_output --partial '"phase":"refused"'
    refute_output --partial '"phase":"swapping"'
}

@test "keep_generations: the state layers older than the kept generations are compacted into one; a deleted file stays deleted" {
    # app 8 writes a, b and d/x; app 9 deletes a (a whiteout) and replaces d by a new directory
    # with y (an opaque directory); 10 and 11 change nothing
    app_module 8.0.0 'echo a >/var/tmp/a; echo b >/var/tmp/b; [ -d /var/tmp/d ] || { mkdir /var/tmp/d; echo x >/var/tmp/d/x; }; echo app 8'
    app_module 9.0.0 'rm -f /var/tmp/a; [ -e /var/tmp/d/y ] || { rm -rf /var/tmp/d; mkdir /var/tmp/d; echo y >/var/tmp/d/y; }; echo app 9'
    app_module 10.0.0 'echo app 10'
    app_module 11.0.0 'echo app 11'
    local kpol dir id
    kpol=$(policy_file keep '"filesystem": {"readonly_root": false}, "failure_policies": {"grace": "500ms"},
        "modules": {"reload": {"verify_window": "100ms", "verify_passes": 0, "keep_generations": 2}}')
    "$GBOX" spawn --name app --policy "$kpol" --module app@8 --in-image sh -c \
        'while true; do echo "$(/opt/app/run) $(cd /var/tmp && ls | tr "\n" " ")d: $(ls /var/tmp/d | tr "\n" " ")"; sleep 0.2; done' >/dev/null
    wait_for 100 '"$GBOX" logs app | grep -q "^app 8 "' || fail "app did not start"
    id=$("$GBOX" ps --json | jq -r '.[0].id')
    dir=$GBOX_STATE_DIR/sandboxes/$id
    for v in 9.0.0 10.0.0 11.0.0 10.0.0; do
        run "$GBOX" reload app --module "app@$v"
        assert_success
    done
    # generations 4 and 5 are kept; their shared bottom layers (s0, the writes under 8, and s1,
    # under 9) were merged into one layer at the last reload
    run "$GBOX" events --id app --type reload
    assert_output --partial '"phase":"compacted"'
    run "$GBOX" generations --json app
    assert_equal "$(echo "$output" | jq -c '[.generations[].gen]')" '[4,5]'
    local bottom
    bottom=$(echo "$output" | jq -r '.generations[-1].layers[-1]')
    assert_equal "$(echo "$output" | jq -r '.generations[0].layers[-1]')" "$bottom"
    [ "$bottom" != s0 ] && [ "$bottom" != s1 ]
    [ ! -e "$dir/layers/s0" ] && [ ! -e "$dir/layers/s1" ]
    # the merged layer keeps the whiteout of a and the opaque d: a stays deleted, x stays gone
    [ -c "$dir/layers/$bottom/var/tmp/a" ]
    run python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "user.overlay.opaque").decode())' "$dir/layers/$bottom/var/tmp/d"
    assert_output y
    run last_line
    assert_output "app 10 b d d: y "
    # and after one more restart on the compacted stack, the same view
    run "$GBOX" rollback app
    assert_success
    run last_line
    assert_output "app 11 b d d: y "
}

@test "resource requirements: a module that needs more memory or processes than the policy allows is refused, with both numbers" {
    app_module 12.0.0 'echo app 12' '' restart '"requires_memory": "1G"'
    app_module 13.0.0 'echo app 13' '' restart '"requires_pids": 1000'
    app_module 14.0.0 'echo app 14' '' restart '"requires_memory": "256M", "requires_pids": 100'
    spawn_app "$POL"                                  # base.json: memory.max 512M, pids.max 256
    local before
    before=$(last_line)
    run "$GBOX" reload app --module app@12.0.0
    assert_failure 1
    assert_output --partial "app@12.0.0 needs 1G of memory (requires_memory in its manifest), more than the policy's resources.memory.max of 512M"
    run "$GBOX" reload app --module app@13.0.0
    assert_failure 1
    assert_output --partial "app@13.0.0 needs 1000 processes (requires_pids in its manifest), more than the policy's resources.pids.max of 256"
    assert_equal "$(current_gen)" 1
    run last_line
    assert_output "$before"
    # within the limits: reloaded
    run "$GBOX" reload app --module app@14.0.0
    assert_success
    # a manifest with a malformed requirement is refused when built
    mkdir -p "$BATS_TEST_TMPDIR/src/badreq/rootfs"
    echo '{"name": "app", "version": "15.0.0", "requires_memory": "lots"}' >"$BATS_TEST_TMPDIR/src/badreq/module.json"
    run "$GBOX" image build "$BATS_TEST_TMPDIR/src/badreq"
    assert_failure 2
    assert_output --partial "requires_memory"
}

@test "gbox image rm refuses, and gc keeps, an image a kept generation may roll back to" {
    spawn_app "$POL"
    run "$GBOX" reload app --module app@2.0.0
    assert_success
    local id d1
    id=$("$GBOX" ps --json | jq -r '.[0].id')
    d1=$("$GBOX" generations --json app | jq -r '.generations[0].images[] | select(.name == "app") | .digest')
    run "$GBOX" image rm app:1.0.0
    assert_failure
    assert_output --partial "image app:1.0.0 (sha256:${d1:7:12}) is kept for rollback by generation 1 of app (${id:0:12})"
    assert_output --partial "modules.reload.keep_generations"
    run "$GBOX" image inspect app:1.0.0
    assert_success
    # the same version rebuilt: the tag moves, the old digest is untagged; gc keeps it
    app_module 1.0.0 'echo app 1 rebuilt'
    run "$GBOX" image gc
    assert_success
    assert_output --partial "kept untagged app:1.0.0 sha256:${d1:7:12}: generation 1 of app may roll back to it"
    [ -d "$GBOX_STORE_DIR/images/${d1#sha256:}" ]
    # once no generation keeps it, gc deletes it
    "$GBOX" kill app >/dev/null
    wait_for 50 '[ "$("$GBOX" ps --json | jq -r ".[0].state")" != running ]'
    "$GBOX" rm app >/dev/null
    run "$GBOX" image gc
    assert_success
    assert_output --partial "deleted untagged app:1.0.0 sha256:${d1#sha256:}"
}

@test "swap mode: with modules.reload.swap_fallback restart, a swap that cannot be made is done by restart" {
    app_module 5.0.0 'echo app 5' '' swap
    app_module 6.0.0 'echo app 6' '' swap
    local fpol before run1
    fpol=$(policy_file fb '"filesystem": {"readonly_root": false}, "failure_policies": {"grace": "500ms"},
        "modules": {"reload": {"verify_window": "500ms", "verify_passes": 0, "swap_fallback": "restart"}}')
    "$GBOX" spawn --name app --policy "$fpol" --module app@5 --in-image sh -c "$SWAP_PROG" >/dev/null
    wait_for 100 '"$GBOX" logs app | grep -q "^app 5 "' || fail "app did not start"
    before=$(last_line)
    run1=$(echo "$before" | awk '{ print $3 }')
    # a working base 1.1.0 (the build's base tree): app 6's "base ^1" resolves to it, "/" changes
    mkdir -p "$BATS_TEST_TMPDIR/src/base-1.1.0"
    cp -a "$(dirname "$PROBE_IMAGE")/rootfs" "$BATS_TEST_TMPDIR/src/base-1.1.0/rootfs"
    jq '.version = "1.1.0"' "$(dirname "$PROBE_IMAGE")/module.json" >"$BATS_TEST_TMPDIR/src/base-1.1.0/module.json"
    "$GBOX" image build "$BATS_TEST_TMPDIR/src/base-1.1.0" >/dev/null
    run "$GBOX" reload app --module app@6.0.0
    assert_success
    assert_output --partial "restart mode"
    assert_output --partial "generation 2 verified"
    run last_line
    assert_equal "$(echo "$output" | awk '{ print $1, $2, $4 }')" "app 6 $(echo "$before" | awk '{ print $4 }')"
    [ "$(echo "$output" | awk '{ print $3 }')" != "$run1" ]    # restarted: another run
    run "$GBOX" events --id app --type reload
    assert_output --partial '"phase":"swap_fallback"'
    assert_output --partial 'a module at mount point \"/\" changes with them'
    run "$GBOX" generations --json app
    assert_equal "$(echo "$output" | jq -r '.generations[1].images[] | select(.name == "base") | .version')" 1.1.0
}

# frozen_state PID — "frozen" or "thawed": the v2 cgroup's cgroup.freeze, else the v1 freezer's state.
frozen_state() {
    local v2 v1 f
    v2=$(awk -F: '$1 == "0" { print $3 }' "/proc/$1/cgroup")
    v1=$(awk -F: '$2 ~ /(^|,)freezer(,|$)/ { print $3 }' "/proc/$1/cgroup")
    for f in "/sys/fs/cgroup/unified$v2/cgroup.freeze" "/sys/fs/cgroup$v2/cgroup.freeze"; do
        if [ -n "$v2" ] && [ -f "$f" ] && [ "$(cat "$f")" != 0 ]; then echo frozen; return; fi
    done
    f=/sys/fs/cgroup/freezer$v1/freezer.state
    if [ -n "$v1" ] && [ -f "$f" ] && [ "$(cat "$f")" != THAWED ]; then echo frozen; return; fi
    echo thawed
}

@test "kill -9 of the daemon at 12 moments of swap reloads: after restart the program reads the module the current generation names" {
    swap_setup
    local i want line cur mods id dir shims init
    id=$("$GBOX" ps --json | jq -r '.[0].id')
    dir=$GBOX_STATE_DIR/sandboxes/$id
    for i in $(seq 12); do
        # alternate between the swap versions; every third time one that crashes (rolled back by restart)
        case $((i % 3)) in 1) want=6.0.0 ;; 2) want=5.0.0 ;; 0) want=7.0.0 ;; esac
        "$GBOX" reload --no-wait app --module "app@$want" >/dev/null 2>&1 || true
        sleep "$(awk -v i="$i" 'BEGIN { printf "%.3f", (i * 53 % 700) / 1000 }')"
        kill -9 "$DAEMON_PID"
        wait "$DAEMON_PID" 2>/dev/null || true
        wait_for 100 '[ ! -e /proc/$DAEMON_PID ] || [ "$(awk "{ print \$3 }" /proc/$DAEMON_PID/stat)" = Z ]' ||
            fail "round $i: the daemon did not die"
        start_daemon
        wait_for 300 '[ ! -e "$dir/reload.json" ] && [ "$("$GBOX" ps --json | jq -r ".[0].state")" = running ]' ||
            { cat "$dir/reload.json" >&2; "$GBOX" ps >&2; fail "round $i: did not settle"; }
        cur=$("$GBOX" generations --json app)
        mods=$(echo "$cur" | jq -r '.current as $c | .generations[] | select(.gen == $c) | .modules[0]')
        line=$(last_line)
        assert_equal "${line%% run-*}" "app $(echo "${mods#app@=}" | cut -d. -f1)"
        shims=$(count_shims "$dir")
        [ "$shims" = 1 ] || { ps -eo pid,ppid,stat,args | grep -F -- "$dir" >&2; fail "round $i: $shims shims"; }
        # never left frozen (the checkpoint freezes the cgroup while it copies)
        init=$("$GBOX" ps --json | jq -r '.[0].init_pid')
        assert_equal "$(frozen_state "$init")" thawed
    done
}

@test "pin by digest: a rollback runs the image its generation recorded, not a rebuild of the same version" {
    spawn_app "$POL"
    local d1 line
    d1=$("$GBOX" generations --json app | jq -r '.generations[0].images[] | select(.name == "app") | .digest')
    # the same app:1.0.0 rebuilt: the tag moves to the new digest
    app_module 1.0.0 'echo app 1 rebuilt'
    run "$GBOX" image inspect app:1.0.0
    assert_success
    refute_output --partial "${d1#sha256:}"
    run "$GBOX" reload app --module app@2.0.0
    assert_success
    run "$GBOX" rollback app --to 1
    assert_success
    line=$(last_line)
    [[ $line == "app 1 first-"* ]] || fail "the rollback did not run generation 1's image: $line"
    # the rolled-back generation records generation 1's digest, and its shim pins it
    run "$GBOX" generations --json app
    assert_output --partial "$d1"
}

@test "pin by digest: a recorded image gone from the store fails the run (no fallback to the tag)" {
    spawn_app "$POL"
    local d1
    d1=$("$GBOX" generations --json app | jq -r '.generations[0].images[] | select(.name == "app") | .digest')
    app_module 1.0.0 'echo app 1 rebuilt'
    run "$GBOX" reload app --module app@2.0.0
    assert_success
    rm -rf "$GBOX_STORE_DIR/images/${d1#sha256:}"
    # gbox run itself: a precise error, the tag (now the rebuild) is not used
    run -127 "$GBOX" run --policy "$POL" --module app@1.0.0 --pin "app=$d1" --in-image /opt/app/run
    assert_failure
    assert_output --partial "module app sha256:${d1:7:12} recorded by this generation is no longer in the store"
    refute_output --partial "rebuilt"
    # a pin naming an image of another module
    local d2
    d2=$("$GBOX" generations --json app | jq -r '.generations[1].images[] | select(.name == "app") | .digest')
    run "$GBOX" run --policy "$POL" --module app@2.0.0 --pin "base=$d2" --in-image /opt/app/run
    assert_failure
    assert_output --partial "is module app, not base"
    # the daemon's rollback to generation 1: its restart fails with the message
    run "$GBOX" rollback app --to 1
    wait_for 100 '"$GBOX" logs --stderr app | grep -q "recorded by this generation is no longer in the store"' ||
        { "$GBOX" logs --stderr app >&2; fail "the restart did not fail on the missing pinned image"; }
    run "$GBOX" logs app
    refute_output --partial "app 1 rebuilt"
}
