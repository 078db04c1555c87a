#!/usr/bin/env bash
# Concurrent start-up: N sandboxes started at once, each running `true`, for gbox and its peers
# (plain fork/exec, bubblewrap, crun, runc): wall time from the first spawn to the last reap,
# R rounds per tool interleaved round-robin. See tests/bench/README.md.
set -euo pipefail

BENCH_NAME=concurrent.sh
# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

POLICY=server_application

usage() {
    cat <<EOF
usage: tests/bench/concurrent.sh [-n N] [-r R] [--write [--doc FILE]]

Starts N (default 100) sandboxes running \`true\` at once and times the batch (first spawn to
last reap), R (default 5) batches per tool, round-robin after one untimed warm-up batch each.
Prints a markdown table (median, min and max batch wall time, ratio of medians against bwrap)
and the load average before and after; --write replaces the concurrent.sh section of the doc
file and draws docs/bench/concurrent.png (gnuplot).

Environment: GBOX (default build/gbox).
EOF
}

n=100
rounds=5
write=0
doc=docs/benchmarks.md
invocation=tests/bench/concurrent.sh
[ "$#" -eq 0 ] || invocation="$invocation $(bench_quote "$@")"
while [ "$#" -gt 0 ]; do
    case $1 in
    -n) n=${2:?-n needs a value}; shift 2 ;;
    -r) rounds=${2:?-r needs a value}; shift 2 ;;
    --doc) doc=${2:?--doc needs a value}; shift 2 ;;
    --write) write=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
[[ $n =~ ^[1-9][0-9]*$ ]] || bench_die "-n wants a positive integer, not '$n'"
[[ $rounds =~ ^[1-9][0-9]*$ ]] || bench_die "-r wants a positive integer, not '$rounds'"

bench_require_root
bench_require python3 jq
cd "$BENCH_ROOT"
doc=docs/benchmarks.md
GBOX=${GBOX:-build/gbox}
rootfs=$(cd build/images/base/rootfs && pwd)
[ -x "$GBOX" ] || bench_die "$GBOX missing (run make)"
# the warm-up batch plus R timed ones, each N containers: raise the nofile limit for the runner
ulimit -n 16384 2>/dev/null || true

work=$(mktemp -d "${TMPDIR:-/tmp}/gbox-bench-conc.XXXXXX")
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
: >"$spec"
versions=("gbox $(git describe --always --dirty 2>/dev/null || echo '?')")
policy=$work/$POLICY-loopback.json
printf '{"version": 1, "extends": "%s/policies/%s.json", "network": {"mode": "loopback"}}\n' \
    "$BENCH_ROOT" "$POLICY" >"$policy"
bench_col "$spec" plain -- /bin/true
bench_col "$spec" gbox --label "$POLICY with network.mode loopback" -- "$GBOX" run --policy "$policy" --in-image /bin/true
if bench_have bwrap; then
    bench_col "$spec" bwrap -- bwrap --unshare-all --ro-bind "$rootfs" / --proc /proc --dev /dev /bin/true
    versions+=("$(bench_version bwrap)")
else
    bench_col_absent "$spec" bwrap "not installed (scripts/install-deps.sh --bench)"
fi
bundle=$work/bundle
if bench_have crun || bench_have runc; then bench_oci_bundle "$bundle" "$rootfs" /bin/true; fi
if bench_have crun; then
    ns=""
    if bench_cgroup_mask_needed; then bench_cgroup_mask_start; ns=$BENCH_MASK_NS; fi
    bench_col "$spec" crun --ns "$ns" --label "crun 1.8 in a private mount namespace where the v2 controllers file is covered (hybrid host)" \
        -- crun run --bundle "$bundle" "${prefix}crun-{i}"
    versions+=("$(bench_version crun)")
else
    bench_col_absent "$spec" crun "not installed (scripts/install-deps.sh --bench)"
fi
if bench_have runc; then
    bench_col "$spec" runc -- runc run --bundle "$bundle" "${prefix}runc-{i}"
    versions+=("$(bench_version runc)")
else
    bench_col_absent "$spec" runc "not installed (scripts/install-deps.sh --bench)"
fi

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
bench_log "starting $n at once per batch, $rounds batches per tool (load $load_before)"
results=$work/results.json
python3 - "$spec" "$n" "$rounds" "$results" <<'PYTHON'
import ctypes, json, os, sys, time
spec, n, rounds, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
cols = [json.loads(l) for l in open(spec) if l.strip()]
devnull = os.open(os.devnull, os.O_RDWR)

def batch(argv, tag):
    """Spawn n copies at once ({i} = tag-k), reap all: (seconds, failures, first stderr)."""
    errf = os.open("/tmp", os.O_TMPFILE | os.O_RDWR, 0o600)
    acts = [(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, errf, 2)]
    t0 = time.monotonic_ns()
    pids = [os.posix_spawnp(argv[0], [a.replace("{i}", "%s-%d" % (tag, k)) for a in argv], os.environ, file_actions=acts)
            for k in range(n)]
    bad = 0
    for p in pids:
        if os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) != 0:
            bad += 1
    t1 = time.monotonic_ns()
    os.lseek(errf, 0, 0)
    err = os.read(errf, 2000).decode(errors="replace")
    os.close(errf)
    return (t1 - t0) / 1e9, bad, err

def run_in(col, tag):
    if not col.get("ns"):
        return batch(col["argv"], tag)
    # a child enters the mount namespace and runs the batch there (timed inside it)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        fd = os.open(col["ns"], os.O_RDONLY)
        if ctypes.CDLL(None, use_errno=True).setns(fd, 0x00020000) != 0:
            os.write(w, json.dumps([0, n, "setns failed"]).encode())
            os._exit(1)
        os.write(w, json.dumps(batch(col["argv"], tag)).encode())
        os._exit(0)
    os.close(w)
    data = b""
    while True:
        b = os.read(r, 65536)
        if not b:
            break
        data += b
    os.close(r)
    os.waitpid(pid, 0)
    return tuple(json.loads(data))

for c in cols:
    c.update(samples=[], failures=0, stderr="")
for rnd in range(rounds + 1):
    for c in cols:
        if "reason" in c:
            continue
        secs, bad, err = run_in(c, "r%d" % rnd)
        if bad:
            c["failures"] += bad
            c["stderr"] = c["stderr"] or err
        if rnd > 0:
            c["samples"].append(secs)
json.dump({"n": n, "rounds": rounds, "columns": cols}, open(out, "w"))
PYTHON
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

table=$work/table.md
dat=$work/concurrent.dat
python3 - "$results" "$table" "$dat" <<'PYTHON'
import json, sys
res = json.load(open(sys.argv[1]))
cols = res["columns"]
med = lambda s: sorted(s)[len(s) // 2] if len(s) % 2 else sum(sorted(s)[len(s) // 2 - 1:len(s) // 2 + 1]) / 2
base = {c["name"]: med(c["samples"]) for c in cols if c.get("samples")}
with open(sys.argv[2], "w") as t, open(sys.argv[3], "w") as d:
    t.write("| tool | median s | min s | max s | failed starts | × bwrap | × plain |\n|---|---:|---:|---:|---:|---:|---:|\n")
    for c in cols:
        if "reason" in c:
            t.write("| %s | %s | — | — | — | — | — |\n" % (c["name"], c["reason"]))
            continue
        s = c["samples"]
        m = med(s)
        rb = "%.2f" % (m / base["bwrap"]) if "bwrap" in base else "—"
        rp = "%.2f" % (m / base["plain"]) if "plain" in base else "—"
        t.write("| %s | %.3f | %.3f | %.3f | %d | %s | %s |\n" % (c["name"], m, min(s), max(s), c["failures"], rb, rp))
        d.write('"%s" %.4f %.4f %.4f\n' % (c["name"], m, min(s), max(s)))
    for c in cols:
        if c.get("failures"):
            t.write("\n%s: %d starts failed; first stderr: `%s`\n" % (c["name"], c["failures"], c["stderr"].strip()[:300]))
    if "gbox" in base and "bwrap" in base:
        r = base["gbox"] / base["bwrap"]
        t.write("\n- gbox / bwrap batch wall time (medians), target ≤ 1.0 (issue #10, informational): %.2f — **%s**\n"
                % (r, "PASS" if r <= 1.0 else "MISS"))
PYTHON

bench_sysinfo
report=$work/report.md
{
    echo "## Concurrent start-up: $n sandboxes at once"
    echo
    echo "$n copies of \`/bin/true\` spawned at once (posix_spawn in a loop), then all reaped: the"
    echo "batch's wall time (CLOCK_MONOTONIC). $rounds batches per tool, round-robin, after one untimed"
    echo "warm-up batch each. Measured $BENCH_DATE on Linux $BENCH_KERNEL, $BENCH_CPU ($BENCH_CORES cores);"
    echo "load average $load_before before, $load_after after (other jobs share the machine: read the"
    echo "ratios, which come from the same run)."
    echo
    cat "$table"
    echo
    echo "![concurrent starts](bench/concurrent.png)"
    echo
    echo "Command: \`$invocation\`"
    echo
    python3 -c '
import json, shlex, sys
for c in json.load(open(sys.argv[1]))["columns"]:
    if "argv" in c:
        print("- %s: `%s`%s" % (c["name"], shlex.join(c["argv"]), (" — " + c["label"]) if c.get("label") else ""))
' "$results"
    echo
    (IFS=,; echo "Versions: ${versions[*]}." | sed 's/,/, /g')
} >"$report"
cat "$report"
if [ "$write" -eq 1 ]; then
    mkdir -p docs/bench
    bench_require gnuplot
    gnuplot <<EOF
set terminal pngcairo size 800,420 noenhanced
set output "docs/bench/concurrent.png"
set title "$n concurrent starts of true: batch wall time (median, min-max; load $load_before)"
set ylabel "seconds"
set style fill solid 0.6
set boxwidth 0.6
set yrange [0:*]
set grid ytics
plot "$dat" using 0:2:xtic(1) with boxes notitle, "" using 0:2:3:4 with yerrorbars lc rgb "black" notitle
EOF
    bench_doc_section "$doc" concurrent.sh "$report"
    bench_log "wrote the concurrent.sh section of $doc and docs/bench/concurrent.png"
fi
