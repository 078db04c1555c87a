#!/usr/bin/env bash
# `podman run --rm IMAGE true` with gbox as podman's OCI runtime, against crun and runc, side by
# side in one interleaved run (see tests/bench/README.md). Podman gets private storage (vfs) and
# run directories in a temp dir, cgroupfs, --network none and explicit ulimits; the image is a
# busybox root imported from a tarball. crun 1.8 refuses this hybrid host: its column runs podman
# inside a private mount namespace where /sys/fs/cgroup/unified/cgroup.controllers is covered
# by /dev/null (bench_cgroup_mask_start). Run as root from the repository.
set -euo pipefail

BENCH_NAME=oci.sh
# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<EOF
usage: tests/bench/oci.sh [-n N] [-w W] [--write [--doc FILE]]

Times N (default 20) runs of \`podman run --rm IMAGE true\` per runtime (gbox, crun, runc),
round-robin after W (default 2) warm-up rounds; prints a markdown table with the ratios of
medians against crun and runc. --write replaces the oci.sh section of FILE (docs/benchmarks.md).
Environment: GBOX (default build/gbox; its gbox-runc symlink is the runtime).
EOF
}

n=20
warmup=2
write=0
doc=docs/benchmarks.md
invocation=tests/bench/oci.sh
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

bench_require_root
bench_require python3 jq podman
GBOX=$(cd "$(dirname "${GBOX:-build/gbox}")" && pwd)/$(basename "${GBOX:-build/gbox}")
RUNC_GBOX=$(dirname "$GBOX")/gbox-runc
[ -x "$RUNC_GBOX" ] || bench_die "no $RUNC_GBOX (run make)"

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-oci.XXXXXX")
own=$(awk -F: '$2 == "memory" {print $3}' /proc/self/cgroup)
parent="${own%/}/gbox-bench-oci"
cleanup() {
    pm rm -a -f >/dev/null 2>&1 || true
    bench_cgroup_mask_stop
    local d
    for d in /sys/fs/cgroup/*/"${parent#/}" /sys/fs/cgroup/unified/"${parent#/}"; do
        [ -d "$d" ] || continue
        find "$d" -depth -mindepth 1 -type d -exec rmdir {} \; 2>/dev/null
        rmdir "$d" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

printf '[containers]\ndefault_sysctls = []\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n' \
    >"$work/containers.conf"
export CONTAINERS_CONF=$work/containers.conf
PM=(podman --root "$work/storage" --runroot "$work/runroot" --storage-driver vfs --tmpdir "$work/tmp"
    --cgroup-manager cgroupfs --events-backend file)
pm() { "${PM[@]}" "$@"; }
mkdir -p "$work/tmp" "$work/bb/bin" "$work/bb/etc"
cp /bin/busybox "$work/bb/bin/busybox"
for a in $("$work/bb/bin/busybox" --list); do [ "$a" = busybox ] || ln -sf busybox "$work/bb/bin/$a"; done
tar -C "$work/bb" -cf "$work/bb.tar" .
pm import "$work/bb.tar" localhost/bench-busybox:1 >/dev/null
RUN=(run --rm --network none --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 --cgroup-parent "$parent"
     localhost/bench-busybox:1 true)

spec=$work/spec.jsonl
versions=("$("$GBOX" --version | head -n 1)" "$(bench_version podman)")
bench_col "$spec" gbox -- "${PM[@]}" --runtime "$RUNC_GBOX" "${RUN[@]}"
if bench_have crun; then
    ns=""
    label="podman --runtime crun"
    if bench_cgroup_mask_needed; then
        bench_cgroup_mask_start
        ns=$BENCH_MASK_NS
        label="$label, in a mount namespace with the unified cgroup.controllers masked"
    fi
    bench_col "$spec" crun --ns "$ns" --label "$label" -- "${PM[@]}" --runtime "$(command -v crun)" "${RUN[@]}"
    versions+=("$(bench_version crun)")
else
    bench_col_absent "$spec" crun "not installed (scripts/install-deps.sh --bench)"
fi
if bench_have runc; then
    bench_col "$spec" runc -- "${PM[@]}" --runtime "$(command -v runc)" "${RUN[@]}"
    versions+=("$(bench_version runc)")
else
    bench_col_absent "$spec" runc "not installed (scripts/install-deps.sh --bench)"
fi

bench_log "timing $n runs of each runtime under podman, interleaved, after $warmup warm-up rounds"
results=$work/results.json
bench_interleave "$spec" "$n" "$warmup" "$results"

bench_sysinfo
report=$work/report.md
{
    echo "## OCI runtime under podman: \`podman run --rm IMAGE true\`"
    echo
    echo "Wall-clock time of one \`podman run --rm\` of a busybox image (vfs storage, cgroupfs,"
    echo "\`--network none\`), $n runs per runtime interleaved round-robin after $warmup warm-up rounds."
    echo "Podman's own work (storage, conmon, cleanup) is most of each run: the ratios say how much"
    echo "the runtime adds. Measured $BENCH_DATE on Linux $BENCH_KERNEL, $BENCH_CPU ($BENCH_CORES cores)."
    echo
    bench_table "$results" crun runc
    echo
    echo "Command: \`$invocation\`"
    echo
    bench_commands "$results"
    echo
    (IFS=,; echo "Versions: ${versions[*]}." | sed 's/,/, /g')
} >"$report"
cat "$report"
if ! bench_failures "$results" >&2; then
    bench_log "not all runtimes ran; see above"
    exit 1
fi
if [ "$write" -eq 1 ]; then
    bench_doc_section "$doc" oci.sh "$report"
    bench_log "wrote the oci.sh section of $doc"
fi
