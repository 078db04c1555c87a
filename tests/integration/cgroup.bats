#!/usr/bin/env bats
# cgroup.bats — resource limits are enforced and accounted on this host's cgroup layout.
#
# The same file runs three ways:
#   - on the host (hybrid here: v1 controllers carry the limits, the v2 tree places and kills);
#   - as cgroup-legacy.bats (a symlink to this file): gbox runs in a private mount namespace
#     with the cgroup2 mount removed, so it sees a legacy v1-only host (freezer + cpuacct path);
#   - inside the pure cgroup v2 VM (`make check-vm`, scripts/vm-test).
# Every limit is proven by what the program inside could do, plus the --report counters.

load helpers

setup() {
    LEGACY=
    if [ "$(basename "$BATS_TEST_FILENAME")" = cgroup-legacy.bats ]; then
        LEGACY=1
        [ -n "$(v1_controllers)" ] ||
            require_feature "cgroup v1 controllers" "this host has no v1 hierarchy to fall back to"
    fi
    REP=$BATS_TEST_TMPDIR/report.json
}

v1_controllers() {
    awk '{ split($0, a, " - "); split(a[2], b, " "); if (b[1] == "cgroup") print $5 }' /proc/self/mountinfo
}

# The layout gbox must report, worked out independently of gbox.
expected_layout() {
    local unified
    unified=$(awk '{ split($0, a, " - "); split(a[2], b, " "); if (b[1] == "cgroup2") print $5 }' \
        /proc/self/mountinfo | head -n 1)
    if [ -n "$LEGACY" ] || [ -z "$unified" ]; then
        echo v1
    elif grep -qw memory "$unified/cgroup.controllers" 2>/dev/null; then
        echo v2
    else
        echo hybrid
    fi
}

# gb ARGS... — gbox run, through a legacy-looking mount namespace in legacy mode.
gb() {
    if [ -n "$LEGACY" ]; then
        unshare -m --propagation private -- sh -c '
            for m in $(awk "{ split(\$0, a, \" - \"); split(a[2], b, \" \");
                              if (b[1] == \"cgroup2\") print \$5 }" /proc/self/mountinfo); do
                umount -l "$m" || exit 99
            done
            exec "$@"' sh "$GBOX" run "$@"
    else
        "$GBOX" run "$@"
    fi
}

rep() {
    report_field "$REP" "$1"
}

# block_dir — a directory on a real block device, writable by the sandbox's uid 1000 (host uid
# 101000), for the io tests; its device in $BLOCK_DEV. GBOX_TEST_BLOCK_DIR overrides (the VM
# mounts a scratch disk for it).
block_dir() {
    local base=${GBOX_TEST_BLOCK_DIR:-/var/tmp} src
    BLOCK_DIR=$(mktemp -d "$base/gbox-io-XXXXXX")
    chown 101000:101000 "$BLOCK_DIR"
    src=$(findmnt -n -o SOURCE -T "$BLOCK_DIR" | head -n 1)
    if [ ! -b "$src" ]; then
        rm -rf "$BLOCK_DIR"
        require_feature "block device" "$base is on $src, not on a block device (set GBOX_TEST_BLOCK_DIR)"
    fi
    BLOCK_DEV=$src
}

teardown() {
    [ -z "${BLOCK_DIR:-}" ] || rm -rf "$BLOCK_DIR"
}

# io_policy NAME 'IO ENTRY MEMBERS' — a policy binding $BLOCK_DIR writable at /mnt with one
# resources.io entry for $BLOCK_DEV.
io_policy() {
    policy_file "$1" "\"filesystem\": {\"binds\": [{\"source\": \"$BLOCK_DIR\", \"target\": \"/mnt\", \"writable\": true}]},
        \"resources\": {\"io\": [{\"device\": \"$BLOCK_DEV\", $2}]}"
}

@test "the report names the host's cgroup layout" {
    run gb --report "$REP" --in-image true
    assert_success
    assert_equal "$(rep .resources.cgroup)" "$(expected_layout)"
}

@test "memory: a hog is killed at memory.max, reported as out of memory, peak within 1% of the limit" {
    local pol limit=$((64 * 1024 * 1024)) peak
    pol=$(policy_file mem '"resources": {"memory": {"max": "64M"}}')
    run --separate-stderr gb --policy "$pol" --report "$REP" --in-image probe memhog 256M
    assert_failure 137
    assert_equal "$(rep .end)" oom
    assert_equal "$stderr" "gbox: out of memory: the kernel killed it at the memory limit of $limit bytes (resources.memory.max)"
    [ "$(rep .resources.oom_kills)" -ge 1 ] || fail "oom_kills $(rep .resources.oom_kills)"
    peak=$(rep .resources.memory_peak_bytes)
    [ "$peak" -le "$limit" ] && [ "$peak" -ge $((limit * 99 / 100)) ] ||
        fail "memory peak $peak bytes for a limit of $limit"
}

@test "memory: a program below the limit runs, and its peak is reported" {
    local pol
    pol=$(policy_file mem '"resources": {"memory": {"max": "64M"}}')
    run gb --policy "$pol" --report "$REP" --in-image probe memhog 16M
    assert_success
    assert_line "ok 16"
    [ "$(rep .resources.memory_peak_bytes)" -ge $((16 * 1024 * 1024)) ] || fail "peak $(rep .resources.memory_peak_bytes)"
    assert_equal "$(rep .resources.oom_kills)" 0
}

@test "memory.high: applied on cgroup v2, refused by name where memory is on v1" {
    local pol
    pol=$(policy_file high '"resources": {"memory": {"max": "64M", "high": "32M"}}')
    run --separate-stderr gb --policy "$pol" --report "$REP" --in-image probe memhog 36M
    if [ "$(expected_layout)" = v2 ]; then
        # above memory.high the kernel reclaims and throttles instead of killing (without swap the
        # throttling is long: 4 MiB over takes ~11 s, 16 MiB over ~110 s; docs/testing.md)
        assert_success
        assert_line "ok 36"
    else
        assert_failure 125
        assert_output ""
        [[ "$stderr" == *"resources.memory.high needs the cgroup v2 memory controller"* ]] || fail "stderr: $stderr"
    fi
}

@test "pids: a fork bomb stops at exactly pids.max, and pids_peak says so" {
    local pol
    pol=$(policy_file pids '"resources": {"pids": {"max": 20}}')
    run gb --policy "$pol" --report "$REP" --in-image probe forkbomb
    assert_success
    # init (pid 1) + the probe + 18 children = 20 tasks
    assert_line --index 0 "forked 18"
    assert_line --index 1 "errno EAGAIN 11"
    assert_equal "$(rep .resources.pids_peak)" 20
}

@test "cpu: a 0.2 CPU quota holds three spinners to a fifth of a CPU, and the report counts the throttling" {
    local pol usage wall
    pol=$(policy_file cpu '"resources": {"cpu": {"max": 0.2}}')
    run gb --policy "$pol" --report "$REP" --in-image sh -c 'probe cpuburn 2 & probe cpuburn 2 & probe cpuburn 2; wait'
    assert_success
    # Three spinners want three CPUs: far above the quota whatever else the host runs, so the
    # throttling counters must move. Wide margin on the share (tests/bench/limits.sh measures
    # accuracy).
    usage=$(rep .resources.cpu_usage_ms)
    wall=$(rep .wall_ms)
    awk -v u="$usage" -v w="$wall" 'BEGIN { exit !(u <= 0.3 * w) }' ||
        fail "the sandbox used $usage ms of CPU in $wall ms under a 0.2 CPU quota"
    # Throttling needs the spinners to reach the quota: on a host so busy (a TCG VM beside the
    # tests) that they got less than 0.15 of a CPU, the quota never bit and nothing is counted.
    if awk -v u="$usage" -v w="$wall" 'BEGIN { exit !(u >= 0.15 * w) }'; then
        [ "$(rep .resources.cpu_throttled_periods)" -ge 1 ] || fail "no throttled period counted ($usage ms of CPU in $wall ms)"
        awk -v t="$(rep .resources.cpu_throttled_ms)" 'BEGIN { exit !(t > 100) }' ||
            fail "throttled $(rep .resources.cpu_throttled_ms) ms"
    else
        echo "# the spinners got only $usage ms of CPU in $wall ms: the quota never bit" >&3
    fi
}

@test "cpuset: cpus \"0\" pins the program to CPU 0" {
    local pol
    pol=$(policy_file cpuset '"resources": {"cpu": {"cpus": "0"}}')
    run gb --policy "$pol" --in-image grep Cpus_allowed_list /proc/self/status
    assert_success
    assert_output --regexp '^Cpus_allowed_list:[[:space:]]+0$'
}

@test "cpuset: a CPU the host does not have refuses to start, naming cpuset.cpus, and leaves nothing" {
    local pol
    pol=$(policy_file cpuset '"resources": {"cpu": {"cpus": "4000"}}')
    run --separate-stderr gb --policy "$pol" --in-image true
    assert_failure 125
    [[ "$stderr" == *'write "4000" to '*'/cpuset.cpus: '* ]] || fail "stderr: $stderr"
    local pid rc=0
    gb --quiet --policy "$pol" --in-image true 2>/dev/null &
    pid=$!
    wait "$pid" || rc=$?
    assert_equal "$rc" 125
    assert_no_cgroups "$pid"
}

@test "io: write_bps throttles direct writes (4 MiB at 1 MiB/s) and io_write_bytes counts them" {
    block_dir
    local pol ms
    pol=$(io_policy iow '"write_bps": "1M"')
    run gb --policy "$pol" --report "$REP" --in-image probe directio /mnt/f 4M
    assert_success
    assert_line "ok 4194304"
    ms=$(sed -n 's/^elapsed_ms //p' <<<"$output")
    # unthrottled this takes tens of ms; 4 MiB at 1 MiB/s needs 3 s at least (one burst second)
    [ "$ms" -ge 2500 ] || fail "4 MiB written in $ms ms under write_bps 1M"
    [ "$(rep .resources.io_write_bytes)" -ge 4194304 ] || fail "io_write_bytes $(rep .resources.io_write_bytes)"
}

@test "io: read_iops throttles direct reads (64 reads at 16/s)" {
    block_dir
    local pol ms
    head -c 4M /dev/zero >"$BLOCK_DIR/f"
    chown 101000:101000 "$BLOCK_DIR/f"
    sync
    pol=$(io_policy ior '"read_iops": 16')
    run gb --policy "$pol" --report "$REP" --in-image probe directio /mnt/f 4M read
    assert_success
    assert_line "ok 4194304"
    ms=$(sed -n 's/^elapsed_ms //p' <<<"$output")
    [ "$ms" -ge 2500 ] || fail "64 reads in $ms ms under read_iops 16"
    [ "$(rep .resources.io_read_ops)" -ge 64 ] || fail "io_read_ops $(rep .resources.io_read_ops)"
}

@test "io: a device that is not a block device refuses to start, naming the field" {
    local pol
    pol=$(policy_file io '"resources": {"io": [{"device": "/dev/null", "write_bps": "1M"}]}')
    run --separate-stderr gb --policy "$pol" --in-image true
    assert_failure 125
    assert_equal "$stderr" "gbox: $pol: resources.io[0].device: expected a block device, /dev/null is not one"
}

@test "io: a MAJOR:MINOR this host does not have refuses to start" {
    local pol
    pol=$(policy_file io '"resources": {"io": [{"device": "4095:4095", "write_bps": "1M"}]}')
    run --separate-stderr gb --policy "$pol" --in-image true
    assert_failure 125
    assert_equal "$stderr" "gbox: $pol: resources.io[0].device: expected a block device of this host, there is no 4095:4095 (4095:4095)"
}

@test "timeout: the whole sandbox is killed and no cgroup and no process is left" {
    local pol
    pol=$(policy_file to '"resources": {"timeout": "300ms"}')
    local pid rc=0 t="$$$RANDOM"
    gb --quiet --policy "$pol" --report "$REP" --in-image sh -c "probe forkbomb 5 & probe sleep 30.$t" &
    pid=$!
    wait "$pid" || rc=$?
    assert_equal "$rc" 124
    assert_equal "$(rep .end)" timeout
    assert_no_cgroups "$pid"
    run pgrep -f "probe sleep 30.$t"
    assert_failure 1
}

@test "100 runs leave no cgroup behind" {
    local i pid rc
    local -a pids=()
    for i in $(seq 100); do
        rc=0
        gb --quiet --in-image true &
        pid=$!
        wait "$pid" || rc=$?
        [ "$rc" -eq 0 ] || fail "run $i exited with $rc"
        pids+=("$pid")
    done
    assert_no_cgroups "${pids[@]}"
}
