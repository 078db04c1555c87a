#!/usr/bin/env bash
# Start-up latency: how long one run of `true` takes in a fresh sandbox, for gbox and its peers
# (plain fork/exec, bubblewrap, crun, runc), measured side by side in one interleaved run.
# See tests/bench/README.md. Run as root from anywhere; paths are relative to the repository.
set -euo pipefail

BENCH_NAME=start.sh
# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

POLICY=server_application
# bwrap --unshare-all gives a network namespace with lo up: gbox runs the policy with the same
# network (server_application itself has a veth link; --net veth measures that, in a network
# namespace made for the run).
net=loopback
# issue #10: gbox's median within TARGET × bwrap's and TARGET_CRUN × crun's (informational)
TARGET=1.0
TARGET_CRUN=0.25

usage() {
    cat <<EOF
usage: tests/bench/start.sh [-n N] [-w W] [--rootfs DIR] [--net MODE] [--baseline GBOX] [--write [--doc FILE]]

Times N (default 100) sequential runs of \`true\` in each tool, round-robin, after W (default 2)
untimed warm-up rounds, and prints a markdown table: median, p90 and min in ms, and the ratio of
medians against bwrap and crun.

  -n N          timed runs per tool
  -w W          warm-up rounds (not timed)
  --rootfs DIR  image root for bwrap, crun and runc (default build/images/base/rootfs)
  --baseline GBOX  also time another gbox binary (column "gbox baseline"), e.g. the build of
                the commit before a change: before/after ratios from the same run
  --net MODE    gbox's network.mode: none, loopback (default, what bwrap --unshare-all gives),
                veth (run inside a network namespace made for it) or host
  --write       also replace the start.sh section of the doc file
  --doc FILE    the doc file (default docs/benchmarks.md)

Environment: GBOX (default build/gbox). Exit status 1 if an installed tool fails to run \`true\`.
EOF
}

n=100
warmup=2
write=0
baseline=
doc=docs/benchmarks.md
rootfs=build/images/base/rootfs
invocation=tests/bench/start.sh
[ -z "${GBOX:-}" ] || invocation="GBOX=$(bench_quote "$GBOX") $invocation"
[ "$#" -eq 0 ] || invocation="$invocation $(bench_quote "$@")"

args=("$@")
while [ "$#" -gt 0 ]; do
    case $1 in
    -n) n=${2:?-n needs a value}; shift 2 ;;
    -w) warmup=${2:?-w needs a value}; shift 2 ;;
    --rootfs) rootfs=${2:?--rootfs needs a value}; shift 2 ;;
    --net) net=${2:?--net needs a value}; shift 2 ;;
    --baseline) baseline=${2:?--baseline needs a gbox binary}; shift 2 ;;
    --doc) doc=${2:?--doc needs a value}; shift 2 ;;
    --write) write=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
[[ $n =~ ^[1-9][0-9]*$ ]] || bench_die "-n wants a positive integer, not '$n'"
[[ $warmup =~ ^[0-9]+$ ]] || bench_die "-w wants a non-negative integer, not '$warmup'"

case $net in none | loopback | veth | host) ;; *) bench_die "--net: none, loopback, veth or host, not '$net'" ;; esac

bench_require_root
bench_require python3 jq
[ "$net" != veth ] || bench_reexec_in_netns "${args[@]}"
cd "$BENCH_ROOT"
GBOX=${GBOX:-build/gbox}
[ -x "$rootfs/bin/true" ] || bench_die "no image at $rootfs (run make)"
rootfs=$(cd "$rootfs" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/gbox-bench-start.XXXXXX")
prefix=gbox-bench-$$-
cleanup() {
    local rc=$?
    trap - EXIT
    if bench_have crun; then bench_oci_leftovers crun "$prefix" "${BENCH_MASK_NS:-}"; fi
    if bench_have runc; then bench_oci_leftovers runc "$prefix"; fi
    bench_cgroup_leftovers "$prefix"
    bench_cgroup_mask_stop
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

spec=$work/spec.jsonl
notes=$work/notes.md
: >"$spec"
: >"$notes"
versions=()

bench_col "$spec" plain -- /bin/true

if [ -x "$GBOX" ]; then
    policy=$work/$POLICY-$net.json
    host=""
    [ "$net" != host ] || host=', "allow_host_with_userns": true'
    printf '{"version": 1, "extends": "%s/policies/%s.json", "network": {"mode": "%s"%s}}\n' \
        "$BENCH_ROOT" "$POLICY" "$net" "$host" >"$policy"
    bench_col "$spec" gbox --label "$POLICY with network.mode $net" -- "$GBOX" run --policy "$policy" --in-image /bin/true
    versions+=("gbox $(git describe --always --dirty 2>/dev/null || echo '(no commit yet)')")
    if [ -n "$baseline" ]; then
        [ -x "$baseline" ] || bench_die "--baseline: $baseline is not executable"
        bench_col "$spec" "gbox baseline" --label "$POLICY with network.mode $net" -- "$baseline" run --policy "$policy" --in-image /bin/true
    fi
else
    bench_col_absent "$spec" gbox "not built ($GBOX missing: run make)"
fi

if bench_have bwrap; then
    bench_col "$spec" bwrap -- bwrap --unshare-all --ro-bind "$rootfs" / --proc /proc --dev /dev /bin/true
    versions+=("$(bench_version bwrap)")
else
    bench_col_absent "$spec" bwrap "not installed (scripts/install-deps.sh --bench)"
fi

bundle=$work/bundle
if bench_have crun || bench_have runc; then
    bench_oci_bundle "$bundle" "$rootfs" /bin/true
fi

if bench_have crun; then
    ns="" label=""
    if bench_cgroup_mask_needed; then
        bench_cgroup_mask_start
        ns=$BENCH_MASK_NS
        label="inside a private mount namespace where \`$BENCH_UNIFIED_CONTROLLERS\` is covered by \
/dev/null (crun 1.8 refuses hybrid cgroup hosts otherwise)"
    fi
    cg=$(bench_oci_cgroups crun "$bundle" "${prefix}crun-probe" "$ns")
    echo "- crun ran with cgroups: $cg" >>"$notes"
    bench_col "$spec" crun --ns "$ns" --label "$label" --cleanup "crun delete -f ${prefix}crun-{i}" \
        -- crun run --bundle "$bundle" "${prefix}crun-{i}"
    versions+=("$(bench_version crun)")
else
    bench_col_absent "$spec" crun "not installed (scripts/install-deps.sh --bench)"
fi

if bench_have runc; then
    cg=$(bench_oci_cgroups runc "$bundle" "${prefix}runc-probe")
    echo "- runc ran with cgroups: $cg" >>"$notes"
    bench_col "$spec" runc --cleanup "runc delete -f ${prefix}runc-{i}" \
        -- runc run --bundle "$bundle" "${prefix}runc-{i}"
    versions+=("$(bench_version runc)")
else
    bench_col_absent "$spec" runc "not installed (scripts/install-deps.sh --bench)"
fi

bench_log "timing $n runs of each tool, interleaved, after $warmup warm-up rounds"
results=$work/results.json
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
bench_interleave "$spec" "$n" "$warmup" "$results"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

ratio=$(bench_ratio "$results" gbox bwrap)
if [ -z "$ratio" ]; then
    verdict="n/a (gbox or bwrap not measured)"
elif awk -v r="$ratio" -v t="$TARGET" 'BEGIN { exit !(r <= t) }'; then
    verdict="$ratio — **PASS**"
else
    verdict="$ratio — **MISS**"
fi

ratio_crun=$(bench_ratio "$results" gbox crun)
if [ -z "$ratio_crun" ]; then
    verdict_crun="n/a (gbox or crun not measured)"
elif awk -v r="$ratio_crun" -v t="$TARGET_CRUN" 'BEGIN { exit !(r <= t) }'; then
    verdict_crun="$ratio_crun — **PASS**"
else
    verdict_crun="$ratio_crun — **MISS**"
fi

bench_sysinfo
report=$work/report.md
{
    echo "## Start-up: \`true\` in a fresh sandbox"
    echo
    echo "Wall-clock time of one run of \`/bin/true\`, from spawn to reap (CLOCK_MONOTONIC), $n runs"
    echo "per tool interleaved round-robin after $warmup untimed warm-up rounds."
    echo "Measured $BENCH_DATE on Linux $BENCH_KERNEL, $BENCH_CPU ($BENCH_CORES cores); load average"
    echo "$load_before before, $load_after after."
    echo
    if [ -n "$baseline" ]; then bench_table "$results" bwrap crun "gbox baseline"; else bench_table "$results" bwrap crun; fi
    echo
    echo "![start-up](bench/start.png)"
    echo
    echo "- gbox / bwrap (medians), target ≤ $TARGET (informational): $verdict"
    echo "- gbox / crun (medians), target ≤ $TARGET_CRUN (informational): $verdict_crun"
    cat "$notes"
    echo
    echo "Command: \`$invocation\`"
    echo
    echo "Timed commands (\`{i}\` is the run number; the OCI bundle's config.json is \`crun spec\` with"
    echo "args \`/bin/true\`, \`terminal\` false and a read-only root at the image, used in place):"
    echo
    bench_commands "$results"
    echo
    (IFS=,; echo "Versions: ${versions[*]}." | sed 's/,/, /g')
} >"$report"
cat "$report"

if ! bench_failures "$results" >&2; then
    bench_log "not all tools ran; see above"
    [ "$write" -eq 0 ] || bench_log "not writing $doc"
    exit 1
fi
if [ "$write" -eq 1 ]; then
    dat=$work/start.dat
    bench_plot_data "$results" >"$dat"
    mkdir -p "$(dirname "$doc")/bench"
    bench_require gnuplot
    gnuplot <<EOF
set terminal pngcairo size 800,420 noenhanced
set output "$(dirname "$doc")/bench/start.png"
set title "one run of true in a fresh sandbox: median (box), min-p90 (bar); load $load_before"
set ylabel "ms"
set style fill solid 0.6
set boxwidth 0.6
set yrange [0:*]
set grid ytics
plot "$dat" using 0:2:xtic(1) with boxes notitle, "" using 0:2:4:3 with yerrorbars lc rgb "black" notitle
EOF
    bench_doc_section "$doc" start.sh "$report"
    bench_log "wrote the start.sh section of $doc and $(dirname "$doc")/bench/start.png"
fi
