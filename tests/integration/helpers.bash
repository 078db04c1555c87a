# helpers.bash — shared setup for gbox's bats suites (load 'helpers' at the top of each file).
#
# Everything a test proves is observed from INSIDE the sandbox (through the probe helper in the
# base image) or from gbox's exit code, stderr and --report JSON. Tests run as root, create
# files only in $BATS_TEST_TMPDIR and never reach beyond loopback.

bats_require_minimum_version 1.5.0

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

GBOX=${GBOX:-$BATS_TEST_DIRNAME/../../build/gbox}
# the probe helper built next to gbox (also copied into the base image as /usr/bin/probe)
PROBE=${PROBE:-$(dirname "$GBOX")/probe}
SRC_DIR=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
POLICY_DIR=$SRC_DIR/policies
BAD_DIR=$SRC_DIR/tests/policies/bad

# The one skip helper: only for optional host features, never for a property gbox must provide
# (CI runs with GBOX_REQUIRE_ALL=1 and counts every skip as a failure).
require_feature() {
    skip "$1: $2"
}

# scaled_ms MS — an upper bound on how long something may take, scaled by GBOX_TEST_TIME_SCALE
# (default 1) on machines much slower than real hardware: the cgroup v2 VM runs under software
# emulation, where every fork and exec costs ~100 ms, and sets 20 (docs/testing.md).
scaled_ms() {
    echo $(($1 * ${GBOX_TEST_TIME_SCALE:-1}))
}

# Milliseconds since the epoch.
now_ms() {
    echo $(($(date +%s%N) / 1000000))
}

# policy_file NAME 'JSON MEMBERS' — write $BATS_TEST_TMPDIR/NAME.json extending base.json by
# absolute path with the given top-level members, and print its path.
policy_file() {
    local f=$BATS_TEST_TMPDIR/$1.json
    printf '{"version": 1, "extends": "%s/base.json"%s%s}\n' "$POLICY_DIR" "${2:+, }" "${2:-}" >"$f"
    echo "$f"
}

# base.json's seccomp.allow plus @network-io, for policies that need sockets under base.
ALLOW_WITH_NET='"@default", "@basic-io", "@file-system", "@io-event", "@ipc", "@process", "@signal", "@memory", "@time", "@timer", "@sync", "@resources", "@credentials", "@system-info", "@network-io"'

# report_field FILE JQ-FILTER — one value of a --report JSON.
report_field() {
    jq -r "$2" "$1"
}

# cgroup_parents — every directory gbox may create its per-sandbox cgroups in: the root of each
# mounted cgroup hierarchy and our own cgroup in each (from /proc/self/cgroup), e.g.
# /sys/fs/cgroup/unified, /sys/fs/cgroup/pids, /sys/fs/cgroup/memory/<own path>.
cgroup_parents() {
    local mnt own
    while read -r mnt; do
        echo "$mnt"
        while IFS= read -r own; do
            [ "$own" != / ] && [ -d "$mnt$own" ] && echo "$mnt$own"
        done < <(cut -d: -f3- /proc/self/cgroup)
    done < <(awk '{ split($0, a, " - "); split(a[2], b, " ");
                    if (b[1] == "cgroup" || b[1] == "cgroup2") print $5 }' /proc/self/mountinfo) |
        sort -u
}

# gbox_cgroups PID... — cgroup directories left by the gbox processes PID... (gbox names them
# gbox-<its pid>-<counter>). Pass no PID for every gbox-* directory.
gbox_cgroups() {
    local parent pid
    local -a pats=()
    if [ $# -eq 0 ]; then pats=("gbox-*"); fi
    for pid in "$@"; do pats+=("gbox-$pid-*"); done
    while read -r parent; do
        for pid in "${pats[@]}"; do
            compgen -G "$parent/$pid" || true
        done
    done < <(cgroup_parents)
}

# assert_no_cgroups PID... — nothing left behind by these gbox runs.
assert_no_cgroups() {
    local left
    left=$(gbox_cgroups "$@")
    if [ -n "$left" ]; then
        echo "cgroups left behind:" >&2
        echo "$left" >&2
        return 1
    fi
}

# remove_cgroups PID... — teardown for tests that kill gbox itself: kill what is still in the
# cgroups those gbox processes created (our own sandboxes), then remove the directories.
remove_cgroups() {
    local d p i
    for d in $(gbox_cgroups "$@"); do
        for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
    done
    for d in $(gbox_cgroups "$@"); do
        for i in $(seq 50); do rmdir "$d" 2>/dev/null && break; sleep 0.02; done
    done
}

# in_netns CMD... — run CMD inside a network namespace made for it and deleted afterwards, for
# policies with veth networking: their host ends must never land in the machine's own namespace.
# nsenter, unlike `ip netns exec`, keeps the cgroup mounts gbox needs.
in_netns() {
    local ns=gbox-test-$$-${BATS_TEST_NUMBER:-0}-$RANDOM rc=0
    ip netns add "$ns" || return 1
    ip -n "$ns" link set lo up
    nsenter --net="/run/netns/$ns" -- "$@" || rc=$?
    ip netns del "$ns"
    return "$rc"
}
