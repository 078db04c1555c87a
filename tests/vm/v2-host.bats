#!/usr/bin/env bats
# v2-host.bats — runs first inside the cgroup v2 VM (make check-vm, scripts/vm-test): proves that
# the host really is pure cgroup v2 and that gbox takes its v2 path there, so the suites after it
# exercise that path and not a hybrid or legacy fallback. Outside such a host every test fails:
# this file is not part of make check.

load ../integration/helpers

# fstype of every cgroup mount, from /proc/self/mountinfo
cgroup_fstypes() {
    awk '{ split($0, a, " - "); split(a[2], b, " "); if (b[1] ~ /^cgroup2?$/) print b[1], $5 }' /proc/self/mountinfo
}

@test "the host is pure cgroup v2: one cgroup2 mount at /sys/fs/cgroup, no v1 hierarchy" {
    run cgroup_fstypes
    assert_success
    assert_output "cgroup2 /sys/fs/cgroup"
    # with cgroup_no_v1=all every controller is still listed but none is bound to a v1 hierarchy
    run awk 'NR > 1 && $2 != 0 { print "v1 hierarchy for", $1 }' /proc/cgroups
    assert_output ""
}

@test "the root cgroup has memory, cpu, pids, io and cpuset, all enabled for its children" {
    local c
    for c in memory cpu pids io cpuset; do
        grep -qw "$c" /sys/fs/cgroup/cgroup.controllers || fail "$c not in cgroup.controllers"
        grep -qw "$c" /sys/fs/cgroup/cgroup.subtree_control || fail "$c not in cgroup.subtree_control"
    done
}

@test "gbox reports the v2 layout and puts its limits in the unified tree" {
    local pol rep=$BATS_TEST_TMPDIR/report.json pid d="" i
    pol=$(policy_file v2 '"resources": {"memory": {"max": "48M"}, "pids": {"max": 33}}')
    "$GBOX" run --quiet --policy "$pol" --report "$rep" --in-image probe sleep 20 &
    pid=$!
    for i in $(seq 200); do
        d=$(compgen -G "/sys/fs/cgroup/gbox-$pid-*" || true)
        [ -n "$d" ] && [ -n "$(cat "$d/cgroup.procs" 2>/dev/null)" ] && break
        sleep 0.05
    done
    [ -n "$d" ] || { kill "$pid"; fail "no /sys/fs/cgroup/gbox-$pid-* while the sandbox runs"; }
    local mem pids procs
    mem=$(cat "$d/memory.max") pids=$(cat "$d/pids.max") procs=$(wc -l <"$d/cgroup.procs")
    kill -TERM "$pid"
    wait "$pid" || true
    assert_equal "$mem" $((48 * 1024 * 1024))
    assert_equal "$pids" 33
    [ "$procs" -ge 2 ] || fail "$procs processes in $d (init and the program expected)"
    assert_equal "$(report_field "$rep" .resources.cgroup)" v2
    assert_no_cgroups "$pid"
}
