#!/usr/bin/env bats
# cleanup.bats — a sandbox leaves nothing behind: no cgroup directory (gbox names them
# gbox-<its pid>-<n> beneath our own cgroup in every hierarchy, see helpers.bash) and no process,
# however it ends. Each test checks only the gbox processes it started itself, so sandboxes run by
# anyone else on the host at the same time do not disturb it.

load helpers

# run_bg ARGS... — run gbox in the background, wait for it, leave its pid in $gbox_pid and its
# exit code in $gbox_rc.
run_bg() {
    "$GBOX" run --quiet "$@" >/dev/null 2>&1 &
    gbox_pid=$!
    gbox_rc=0
    wait "$gbox_pid" || gbox_rc=$?
}

# Digits no other process on the host has on its command line (used as "probe sleep 30.TOKEN").
token() {
    printf '%d%05d%d\n' "$$" "$RANDOM" "$BATS_TEST_NUMBER"
}

teardown() {
    [ -z "${GBOX_RUN_DIR:-}" ] || [[ "$GBOX_RUN_DIR" != /run/gbox-test-sweep.* ]] || rm -rf "$GBOX_RUN_DIR"
    # only for the tests that kill gbox itself; a no-op otherwise
    if [ -n "${killed_pids:-}" ]; then
        # shellcheck disable=SC2086
        remove_cgroups $killed_pids
    fi
}

@test "no cgroup is left after 20 runs" {
    local pids=() i
    for i in $(seq 20); do
        run_bg --in-image true
        assert_equal "$gbox_rc" 0
        pids+=("$gbox_pid")
    done
    assert_no_cgroups "${pids[@]}"
}

@test "the sandbox does get cgroups while it runs (so the leftover check means something)" {
    "$GBOX" run --quiet --in-image probe sleep 30 >/dev/null &
    local pid=$! i
    for i in $(seq 100); do
        [ -n "$(gbox_cgroups "$pid")" ] && break
        sleep 0.02
    done
    local during
    during=$(gbox_cgroups "$pid")
    kill -TERM "$pid"
    wait "$pid" || true
    [ -n "$during" ] || fail "no gbox-$pid-* cgroup found while the sandbox ran"
    assert_no_cgroups "$pid"
}

@test "no cgroup and no process is left after a timeout" {
    local pol t
    t=$(token)
    pol=$(policy_file timeout '"resources": {"timeout": "200ms"}')
    run_bg --policy "$pol" --in-image sh -c "probe sleep 30.$t & probe sleep 31.$t"
    assert_equal "$gbox_rc" 124
    assert_no_cgroups "$gbox_pid"
    run pgrep -f "probe sleep 3[01].$t"
    assert_failure 1
    assert_output ""
}

@test "no cgroup is left after an OOM kill" {
    local pol
    pol=$(policy_file mem '"resources": {"memory": {"max": "32M"}}')
    run_bg --policy "$pol" --in-image probe memhog 100M
    assert_equal "$gbox_rc" 137
    assert_no_cgroups "$gbox_pid"
}

@test "no cgroup is left after a seccomp kill" {
    run_bg --in-image probe ptrace 1
    assert_equal "$gbox_rc" 159
    assert_no_cgroups "$gbox_pid"
}

@test "no cgroup is left after a fork bomb" {
    run_bg --in-image probe forkbomb
    assert_equal "$gbox_rc" 0
    assert_no_cgroups "$gbox_pid"
}

@test "no cgroup is left when exec fails (127) or the program cannot be read (126)" {
    local prog=$BATS_TEST_TMPDIR/p.gr pol
    echo x >"$prog"
    pol=$(policy_file nogr '"interpreter": {"handlers": [{"extensions": [".gr"], "command": ["/usr/bin/no-such-gr", "{program}"]}]}')
    run_bg --policy "$pol" "$prog"
    assert_equal "$gbox_rc" 127
    assert_no_cgroups "$gbox_pid"
    chmod 600 "$prog"
    run_bg --policy "$pol" "$prog"
    assert_equal "$gbox_rc" 126
    assert_no_cgroups "$gbox_pid"
}

@test "no cgroup and no process is left after SIGTERM to gbox" {
    local t
    t=$(token)
    "$GBOX" run --quiet --in-image sh -c "probe sleep 30.$t & probe sleep 31.$t" &
    local pid=$! rc=0
    sleep 0.3
    kill -TERM "$pid"
    wait "$pid" || rc=$?
    assert_equal "$rc" 143
    assert_no_cgroups "$pid"
    run pgrep -f "probe sleep 3[01].$t"
    assert_failure 1
}

@test "background processes of the program die with it" {
    local t
    t=$(token)
    run_bg --in-image sh -c "probe sleep 30.$t & exit 0"
    assert_equal "$gbox_rc" 0
    assert_no_cgroups "$gbox_pid"
    run pgrep -f "probe sleep 30.$t"
    assert_failure 1
}

# run_then_kill TOKEN — gbox runs "probe sleep 30.TOKEN"; once the program runs, gbox is
# SIGKILLed (its pid in $gbox_pid, remembered for teardown) and the program waited for to go.
run_then_kill() {
    local t=$1 i
    "$GBOX" run --quiet --in-image probe sleep "30.$t" &
    gbox_pid=$!
    killed_pids=$gbox_pid
    for i in $(seq 100); do
        pgrep -f "^/usr/bin/probe sleep 30.$t" >/dev/null && break
        sleep 0.02
    done
    pgrep -f "^/usr/bin/probe sleep 30.$t" >/dev/null || fail "the sandbox never started"
    kill -KILL "$gbox_pid"
    wait "$gbox_pid" || true
    for i in $(seq 100); do
        pgrep -f "probe sleep 30.$t" >/dev/null || break
        sleep 0.02
    done
}

@test "when gbox itself is SIGKILLed, the sandbox dies with it" {
    local t
    t=$(token)
    run_then_kill "$t"
    run pgrep -af "probe sleep 30.$t"
    assert_failure 1
    assert_output ""
}

@test "a SIGKILLed gbox's empty cgroups are swept by a later start, at most every 10 s" {
    # The sweep reads every parent cgroup directory: not on each start (issue #10), but when the
    # stamp file $GBOX_RUN_DIR/cgroup-sweep is older than 10 s.
    # a run directory of its own (other tests' starts would sweep): under /run, where the user
    # namespace's root can reach the stage directory (the bats temporary directory is 0700)
    GBOX_RUN_DIR=$(mktemp -d /run/gbox-test-sweep.XXXXXX)
    export GBOX_RUN_DIR
    chmod 755 "$GBOX_RUN_DIR"
    run_then_kill "$(token)"
    local pid=$gbox_pid
    [ -n "$(gbox_cgroups "$pid")" ] || fail "the killed gbox left no cgroups: nothing to sweep"
    touch "$GBOX_RUN_DIR/cgroup-sweep"
    "$GBOX" run --quiet --in-image true
    [ -n "$(gbox_cgroups "$pid")" ] || fail "swept although the last sweep was just now"
    touch -d '-11 seconds' "$GBOX_RUN_DIR/cgroup-sweep"
    "$GBOX" run --quiet --in-image true
    assert_no_cgroups "$pid"
    # the start that swept moved the stamp forward
    [ "$(( $(date +%s) - $(stat -c %Y "$GBOX_RUN_DIR/cgroup-sweep") ))" -lt 10 ]
}
