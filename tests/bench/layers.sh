#!/usr/bin/env bash
# Layered roots: how the start of a sandbox grows with the number of module layers in its root
# overlay (1, 10, 50, 200), and what each way of mounting the overlay costs at 200 layers.
# See tests/bench/README.md. Run as root from anywhere; paths are relative to the repository.
set -euo pipefail

BENCH_NAME=layers.sh
# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

POLICY=server_application

usage() {
    cat <<EOF
usage: tests/bench/layers.sh [-n N] [-w W] [--write [--doc FILE]]

Builds a chain of 199 one-file module images l1..l199 (each depending on the one below, l1 on
the base image) in a temporary store, then times N (default 50) runs of \`true\` for each stack
size, round-robin after W (default 2) warm-up rounds: 1 layer (the base image alone, gbox's
default path), 10, 50 and 200 layers (\`--module l9\`, \`l49\`, \`l199\`), and 200 layers with the
overlay mounted each way (fsconfig lowerdir+ as /proc/self/fd strings, as fds, and the legacy
mount(2) option string). Prints the wall time per run and the median time of the sandbox's
mount stage (from each run's --report stages_ms.mounts).

  -n N          timed runs per column
  -w W          warm-up rounds (not timed)
  --write       also replace the layers.sh section of the doc file
  --doc FILE    the doc file (default docs/benchmarks.md)

Environment: GBOX (default build/gbox).
EOF
}

n=50
warmup=2
write=0
doc=docs/benchmarks.md
invocation=tests/bench/layers.sh
[ -z "${GBOX:-}" ] || invocation="GBOX=$(bench_quote "$GBOX") $invocation"
[ "$#" -eq 0 ] || invocation="$invocation $(bench_quote "$@")"

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
bench_require python3 jq
cd "$BENCH_ROOT"
GBOX=${GBOX:-build/gbox}
[ -x "$GBOX" ] || bench_die "$GBOX is not built (run make)"
[ -f build/images/base/module.json ] || bench_die "no base image with a manifest in build/images/base (run make)"

work=$(mktemp -d "${TMPDIR:-/tmp}/gbox-bench-layers.XXXXXX")
cleanup() {
    local rc=$?
    trap - EXIT
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
export GBOX_STORE_DIR=$work/store

bench_log "building 199 module images in $GBOX_STORE_DIR"
t0=$(date +%s%N)
dirs=()
for i in $(seq 199); do
    d=$work/src/l$i
    mkdir -p "$d/rootfs/usr/share/layers"
    echo "$i" >"$d/rootfs/usr/share/layers/l$i"
    dep=base
    [ "$i" -eq 1 ] || dep=l$((i - 1))
    printf '{"name": "l%d", "version": "1.0.0", "depends": [{"name": "%s"}]}\n' "$i" "$dep" >"$d/module.json"
    dirs+=("$d")
done
"$GBOX" image build "${dirs[@]}" >/dev/null
build_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
bench_log "built in $build_ms ms"
"$GBOX" run --policy "$POLICY" --module l199 --in-image cat /usr/share/layers/l1 >/dev/null ||
    bench_die "a 200-layer run failed"

spec=$work/spec.jsonl
: >"$spec"
mkdir -p "$work/reports"
# every column through env, so each pays the same extra exec
names=("1 layer" "10 layers" "50 layers" "200 layers" "200, fd" "200, mount(2)")
slugs=(l1 l10 l50 l200 l200-fd l200-legacy)
column() { # column INDEX API ARGS...
    local k=$1 api=$2
    shift 2
    bench_col "$spec" "${names[$k]}" -- env GBOX_OVERLAY_API="$api" "$GBOX" run --policy "$POLICY" \
        --report "$work/reports/${slugs[$k]}-{i}.json" "$@" --in-image /bin/true
}
column 0 auto
column 1 auto --module l9
column 2 auto --module l49
column 3 auto --module l199
column 4 fd --module l199
column 5 legacy --module l199

bench_log "timing $n runs of each column, interleaved, after $warmup warm-up rounds"
results=$work/results.json
bench_interleave "$spec" "$n" "$warmup" "$results"

# median of stages_ms.mounts over the timed runs of each column
mounts_table() {
    local k name files
    echo "| column | mount stage, median ms | layers in the report |"
    echo "|---|---:|---:|"
    for k in "${!names[@]}"; do
        name=${names[$k]}
        files=()
        for i in $(seq $((warmup + 1)) $((warmup + n))); do
            [ -f "$work/reports/${slugs[$k]}-$i.json" ] && files+=("$work/reports/${slugs[$k]}-$i.json")
        done
        [ "${#files[@]}" -gt 0 ] || { echo "| $name | — | — |"; continue; }
        jq -rs --arg name "$name" '
            (map(.stages_ms.mounts) | sort) as $m
            | ($m | length) as $k
            | (if $k % 2 == 1 then $m[($k - 1) / 2] else ($m[$k / 2 - 1] + $m[$k / 2]) / 2 end) as $med
            | "| \($name) | \($med * 100 | round / 100) | \(.[0].images // [1] | length) |"' "${files[@]}"
    done
}

bench_sysinfo
report=$work/report.md
{
    echo "## Layered roots: start time by number of module layers"
    echo
    echo "Wall-clock time of one \`gbox run --policy $POLICY ... --in-image /bin/true\`, from spawn to"
    echo "reap, $n runs per column interleaved round-robin after $warmup untimed warm-up rounds. The"
    echo "stacks are a chain of one-file modules l1..l199 on the base image, resolved from a store of"
    echo "199 images (built in $build_ms ms). \"fd\" and \"mount(2)\" force the other ways of mounting"
    echo "the overlay (\`GBOX_OVERLAY_API\`); the others use the default, fsconfig \`lowerdir+\` with"
    echo "/proc/self/fd strings."
    echo "Measured $BENCH_DATE on Linux $BENCH_KERNEL, $BENCH_CPU ($BENCH_CORES cores)."
    echo
    bench_table "$results" "1 layer"
    echo
    echo "The sandbox's own mount stage (the overlay, /proc, /dev, tmpfs, binds, masks, pivot_root),"
    echo "from each run's report:"
    echo
    mounts_table
    echo
    echo "Command: \`$invocation\` (WORK is its temporary directory)"
    echo
    bench_commands "$results" | sed "s|$work|WORK|g"
    echo
    echo "Version: gbox $(git describe --always --dirty 2>/dev/null || echo '(no commit yet)')."
} >"$report"
cat "$report"

if ! bench_failures "$results" >&2; then
    bench_log "not every column ran; see above"
    [ "$write" -eq 0 ] || bench_log "not writing $doc"
    exit 1
fi
if [ "$write" -eq 1 ]; then
    bench_doc_section "$doc" layers.sh "$report"
    bench_log "wrote the layers.sh section of $doc"
fi
