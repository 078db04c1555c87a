#!/usr/bin/env bash
# Per-syscall overhead of gbox's seccomp filters: the probe helper loops getpid, openat+close and
# read(1 byte) N times and prints ns per call, run on the host (no sandbox), under bwrap
# (namespaces, no filter) and under gbox (a full domain policy: two filters, Landlock), R rounds
# interleaved round-robin. See tests/bench/README.md.
set -euo pipefail

BENCH_NAME=syscall.sh
# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

POLICY=server_application

usage() {
    cat <<EOF
usage: tests/bench/syscall.sh [-n N] [-r R] [--write]

Runs \`probe loop CALL N\` (default N 200000) for getpid, openat and read, R (default 15) rounds
per tool round-robin; prints the median ns per call per tool, the overhead against the host and
the load average; --write replaces the syscall.sh section of docs/benchmarks.md and draws
docs/bench/syscall.png (gnuplot).

Environment: GBOX (default build/gbox).
EOF
}

n=200000
rounds=15
write=0
invocation=tests/bench/syscall.sh
[ "$#" -eq 0 ] || invocation="$invocation $(bench_quote "$@")"
while [ "$#" -gt 0 ]; do
    case $1 in
    -n) n=${2:?-n needs a value}; shift 2 ;;
    -r) rounds=${2:?-r needs a value}; shift 2 ;;
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
PROBE=build/probe
rootfs=$(cd build/images/base/rootfs && pwd)
[ -x "$GBOX" ] && [ -x "$PROBE" ] || bench_die "build/gbox or build/probe missing (run make)"
cmp -s "$PROBE" "$rootfs/usr/bin/probe" || bench_die "the image's probe differs from $PROBE (run make)"

work=$(mktemp -d "${TMPDIR:-/tmp}/gbox-bench-sys.XXXXXX")
trap 'rm -rf "$work"' EXIT
policy=$work/$POLICY-loopback.json
printf '{"version": 1, "extends": "%s/policies/%s.json", "network": {"mode": "loopback"}}\n' \
    "$BENCH_ROOT" "$POLICY" >"$policy"
bwrap_ok=0
bench_have bwrap && bwrap_ok=1

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
bench_log "$rounds rounds of $n calls per syscall and tool (load $load_before)"
results=$work/results.json
python3 - "$n" "$rounds" "$results" "$PROBE" "$GBOX" "$policy" "$rootfs" "$bwrap_ok" <<'PYTHON'
import json, subprocess, sys
n, rounds, out, probe, gbox, policy, rootfs, bwrap_ok = sys.argv[1:]
tools = {"host": [probe], "gbox": [gbox, "run", "--policy", policy, "--in-image", "/usr/bin/probe"]}
if bwrap_ok == "1":
    tools["bwrap"] = ["bwrap", "--unshare-all", "--ro-bind", rootfs, "/", "--proc", "/proc", "--dev", "/dev", "/usr/bin/probe"]
calls = ["getpid", "openat", "read"]
res = {t: {c: [] for c in calls} for t in tools}
for r in range(int(rounds) + 1):
    for c in calls:
        for t, argv in tools.items():
            p = subprocess.run(argv + ["loop", c, n], capture_output=True, text=True)
            if p.returncode != 0:
                sys.exit("%s loop %s: exit %d: %s" % (t, c, p.returncode, p.stderr.strip()))
            if r > 0:
                res[t][c].append(float(p.stdout.strip()))
json.dump({"tools": {t: " ".join(a) for t, a in tools.items()}, "ns": res}, open(out, "w"))
PYTHON
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

table=$work/table.md
dat=$work/syscall.dat
python3 - "$results" "$table" "$dat" <<'PYTHON'
import json, sys
r = json.load(open(sys.argv[1]))
ns = r["ns"]
med = lambda s: sorted(s)[len(s) // 2]
tools = list(ns)
with open(sys.argv[2], "w") as t, open(sys.argv[3], "w") as d:
    t.write("| call | " + " | ".join("%s ns" % x for x in tools) + " | gbox − host ns | gbox × host |" +
            (" gbox × bwrap |" if "bwrap" in ns else "") + "\n")
    t.write("|---|" + "---:|" * (len(tools) + 2 + ("bwrap" in ns)) + "\n")
    for c in ns["host"]:
        m = {x: med(ns[x][c]) for x in tools}
        row = [c] + ["%.1f" % m[x] for x in tools] + ["%+.1f" % (m["gbox"] - m["host"]), "%.2f" % (m["gbox"] / m["host"])]
        if "bwrap" in ns:
            row.append("%.2f" % (m["gbox"] / m["bwrap"]))
        t.write("| " + " | ".join(row) + " |\n")
        d.write('"%s" %s\n' % (c, " ".join("%.1f" % m[x] for x in tools)))
    d.write("# columns: " + " ".join(tools) + "\n")
PYTHON

bench_sysinfo
report=$work/report.md
{
    echo "## Per-syscall overhead of the seccomp filters"
    echo
    echo "\`probe loop CALL $n\`: $n raw calls in a loop (openat: open + close of /dev/null, both counted;"
    echo "read: 1 byte of /dev/zero), CPU time per call (CLOCK_THREAD_CPUTIME_ID: user + system, so"
    echo "the time other jobs ran on a loaded machine is not counted); median of"
    echo "$rounds rounds, the tools interleaved round-robin after one untimed round. host: the same static"
    echo "probe binary without a sandbox; bwrap: namespaces, no seccomp filter; gbox: \`$POLICY\`"
    echo "(loopback network), its two filters (filter 0: the allow lists, filter 1: argument"
    echo "restrictions and the kill rules as user notifications) and Landlock."
    echo "Measured $BENCH_DATE on Linux $BENCH_KERNEL, $BENCH_CPU ($BENCH_CORES cores); load average"
    echo "$load_before before, $load_after after (shared machine: ratios within this run)."
    echo
    cat "$table"
    echo
    echo "![syscall overhead](bench/syscall.png)"
    echo
    echo "Command: \`$invocation\`"
    echo
    python3 -c '
import json, sys
for t, a in json.load(open(sys.argv[1]))["tools"].items():
    print("- %s: `%s loop CALL N`" % (t, a))
' "$results"
    echo
    echo "crun and runc are left out: \`crun spec\`'s default config has no seccomp profile, so they"
    echo "measure what bwrap measures."
} >"$report"
cat "$report"
if [ "$write" -eq 1 ]; then
    mkdir -p docs/bench
    bench_require gnuplot
    ncols=$(awk '/^# columns:/ { print NF - 2 }' "$dat")
    names=$(awk '/^# columns:/ { $1 = $2 = ""; print }' "$dat")
    plot=""
    i=2
    for t in $names; do
        plot+="${plot:+, }\"$dat\" using $i:xtic(1) title \"$t\""
        i=$((i + 1))
    done
    gnuplot <<EOF
set terminal pngcairo size 800,420 noenhanced
set output "docs/bench/syscall.png"
set title "ns per syscall, median of $rounds rounds (load $load_before)"
set ylabel "ns per call"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.7
set yrange [0:*]
set grid ytics
set key top left
plot $plot
EOF
    : "$ncols"
    bench_doc_section "$doc" syscall.sh "$report"
    bench_log "wrote the syscall.sh section of $doc and docs/bench/syscall.png"
fi
