#!/usr/bin/env bash
# Start-up cost of each network mode: one run of `true` in a fresh gbox sandbox under
# server_application with network none, loopback, veth, veth with an egress allowlist, and host,
# next to bwrap --unshare-all (loopback, the reference of start.sh), measured side by side in one
# interleaved run. Runs inside a network namespace of its own: the veth host ends never touch the
# machine's. See tests/bench/README.md.
set -euo pipefail

BENCH_NAME=net.sh
# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<USAGE
usage: tests/bench/net.sh [-n N] [-w W] [--write [--doc FILE]]

Times N (default 100) sequential runs of \`true\` per network mode, round-robin, after W
(default 2) untimed warm-up rounds, and prints a markdown table: median, p90 and min in ms, and
the ratio of medians against gbox with loopback and against bwrap.

  -n N          timed runs per column
  -w W          warm-up rounds (not timed)
  --write       also replace the net.sh section of the doc file
  --doc FILE    the doc file (default docs/benchmarks.md)

Environment: GBOX (default build/gbox).
USAGE
}

n=100
warmup=2
write=0
doc=docs/benchmarks.md
invocation=tests/bench/net.sh
[ -z "${GBOX:-}" ] || invocation="GBOX=$(bench_quote "$GBOX") $invocation"
[ "$#" -eq 0 ] || invocation="$invocation $(bench_quote "$@")"
args=("$@")
while [ "$#" -gt 0 ]; do
    case $1 in
    -n) n=${2:?-n needs a value}; shift 2 ;;
    -w) warmup=${2:?-w needs a value}; shift 2 ;;
    --doc) doc=${2:?--doc needs a value}; shift 2 ;;
    --write) write=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
[[ $n =~ ^[1-9][0-9]*$ ]] || bench_die "-n wants a positive integer, not '$n'"
[[ $warmup =~ ^[0-9]+$ ]] || bench_die "-w wants a non-negative integer, not '$warmup'"

bench_require_root
bench_require python3 jq nsenter ip
bench_reexec_in_netns "${args[@]}"
cd "$BENCH_ROOT"
GBOX=${GBOX:-build/gbox}
[ -x "$GBOX" ] || bench_die "$GBOX is not built (run make)"
rootfs=$BENCH_ROOT/build/images/base/rootfs

work=$(mktemp -d "${TMPDIR:-/tmp}/gbox-bench-net.XXXXXX")
cleanup() {
    local rc=$?
    trap - EXIT
    bench_cgroup_leftovers gbox-bench-$$-
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

spec=$work/spec.jsonl
: >"$spec"
policy() { # NAME 'NETWORK MEMBERS'
    printf '{"version": 1, "extends": "%s/policies/server_application.json", "network": {%s}}\n' \
        "$BENCH_ROOT" "$2" >"$work/$1.json"
    echo "$work/$1.json"
}
egress='"egress": [{"to": "10.200.0.0/16", "protocol": "tcp", "ports": 443},
                   {"to": "192.0.2.0/24", "protocol": "udp", "ports": "5000-5099"},
                   {"to": "198.51.100.1/32", "protocol": "icmp"}]'
for mode in none loopback veth veth+egress host; do
    case $mode in
    veth+egress) net="\"mode\": \"veth\", $egress" ;;
    host) net='"mode": "host", "allow_host_with_userns": true' ;;
    *) net="\"mode\": \"$mode\"" ;;
    esac
    bench_col "$spec" "gbox $mode" -- "$GBOX" run --policy "$(policy "${mode/+/-}" "$net")" --in-image /bin/true
done
if bench_have bwrap; then
    bench_col "$spec" bwrap -- bwrap --unshare-all --ro-bind "$rootfs" / --proc /proc --dev /dev /bin/true
else
    bench_col_absent "$spec" bwrap "not installed (scripts/install-deps.sh --bench)"
fi

bench_log "timing $n runs of each column, interleaved, after $warmup warm-up rounds (in network namespace $GBOX_BENCH_NETNS)"
results=$work/results.json
load=$(cut -d' ' -f1-3 /proc/loadavg)
bench_interleave "$spec" "$n" "$warmup" "$results"

# Where the time of one veth run goes, from gbox's own report.
stages=$work/stages.json
"$GBOX" run --policy "$work/veth-egress.json" --report "$stages" --in-image /bin/true

bench_sysinfo
report=$work/report.md
{
    echo "## Network modes: \`true\` in a fresh sandbox per mode"
    echo
    echo "Wall-clock time of one run of \`/bin/true\` under \`server_application\` with each"
    echo "\`network.mode\`, $n runs per column interleaved round-robin after $warmup warm-up rounds,"
    echo "inside a network namespace made for the run."
    echo "Measured $BENCH_DATE on Linux $BENCH_KERNEL, $BENCH_CPU ($BENCH_CORES cores), load average"
    echo "$load when the timing started."
    echo
    bench_table "$results" "gbox loopback" bwrap
    echo
    echo "veth+egress has three rules (tcp 443, udp 5000-5099, icmp). One veth+egress run's stages"
    echo "(\`stages_ms\` of its report, ms): $(jq -r '.stages_ms | to_entries | map("\(.key) \(.value * 100 | round / 100)") | join(", ")' "$stages")."
    echo
    echo "Command: \`$invocation\`"
    echo
    bench_commands "$results"
    echo
    echo "Versions: gbox $(git describe --always --dirty 2>/dev/null || echo '(no commit yet)')$(bench_have bwrap && echo ", $(bench_version bwrap)")."
} >"$report"
cat "$report"

if ! bench_failures "$results" >&2; then
    bench_log "not every column ran; see above"
    [ "$write" -eq 0 ] || bench_log "not writing $doc"
    exit 1
fi
if [ "$write" -eq 1 ]; then
    bench_doc_section "$doc" net.sh "$report"
    bench_log "wrote the net.sh section of $doc"
fi
