#!/usr/bin/env bash
# Every benchmark of issue #10 in one command: gbox next to plain fork/exec, bubblewrap, crun and
# runc, interleaved, on the same payload — sequential start (start.sh), N concurrent starts
# (concurrent.sh), memory per live sandbox (supervisor.sh), per-syscall seccomp overhead
# (syscall.sh) and daemon spawn latency (spawn.sh), and where a cold start's time goes (where.sh,
# when perf is installed) — then a summary of every ratio against its
# target. With --write (the default) each script replaces its section of docs/benchmarks.md and
# draws its plot under docs/bench/. See tests/bench/README.md.
set -euo pipefail

BENCH_NAME=all.sh
# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<EOF
usage: tests/bench/all.sh [--quick] [--no-write] [--only NAME[,NAME...]]

Runs, in this order: start.sh (-n 100), concurrent.sh (-n 100), spawn.sh, syscall.sh,
supervisor.sh (-n 1000: memory per supervised sandbox, about 7 minutes) and where.sh (-n 30: a
timeline of one cold start and what it waits for, from perf; skipped without perf), each with --write
unless --no-write. --quick: fewer rounds (start -n 30, concurrent -r 3, spawn -r 15,
syscall -r 5, supervisor -n 200 --peer-n 100) for a look, not for the doc. --only runs a subset
(start, concurrent, spawn, syscall, supervisor, where). Each script's report goes to stdout; the
summary (every PASS/MISS line) comes last. Exits 1 if any script failed (the others still run).
Run it as root on a quiet machine: scripts/install-deps.sh --bench, then make.
EOF
}

write=(--write)
quick=0
only=start,concurrent,spawn,syscall,supervisor,where
while [ "$#" -gt 0 ]; do
    case $1 in
    --quick) quick=1; shift ;;
    --no-write) write=(); shift ;;
    --only) only=${2:?--only needs a value}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
bench_require_root
cd "$BENCH_ROOT"
[ -x build/gbox ] || bench_die "build/gbox is not built (make)"

declare -A args=(
    [start]="-n 100" [concurrent]="-n 100" [spawn]="" [syscall]="" [supervisor]="-n 1000" [where]="-n 30"
)
if [ "$quick" -eq 1 ]; then
    args=([start]="-n 30" [concurrent]="-r 3" [spawn]="-r 15" [syscall]="-r 5"
        [supervisor]="-n 200 --peer-n 100" [where]="-n 10")
fi

out=$(mktemp -d /tmp/gbox-bench-all.XXXXXX)
trap 'rm -rf "$out"' EXIT
failed=()
IFS=, read -r -a names <<<"$only"
for name in "${names[@]}"; do
    [ -n "${args[$name]+x}" ] || bench_die "--only: unknown benchmark \"$name\""
    if [ "$name" = where ] && ! bench_have perf; then
        bench_log "where.sh skipped: perf is not installed (scripts/install-deps.sh --bench)"
        continue
    fi
    bench_log "running tests/bench/$name.sh ${args[$name]} ${write[*]}"
    # shellcheck disable=SC2086 # the arguments are words on purpose
    if ! "$BENCH_DIR/$name.sh" ${args[$name]} "${write[@]}" | tee "$out/$name.md"; then
        failed+=("$name")
    fi
    echo
done

echo "## Summary (tests/bench/all.sh, $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
for name in "${names[@]}"; do
    [ -f "$out/$name.md" ] || continue
    grep -h -E 'PASS|MISS|target' "$out/$name.md" | sed "s/^/$name: /" || true
    if [ "$name" = supervisor ]; then
        grep -h -E '^- gbox per sandbox' "$out/$name.md" | sed "s/^/$name: /" || true
    fi
done
if [ "${#failed[@]}" -gt 0 ]; then
    bench_log "failed: ${failed[*]}"
    exit 1
fi
