#!/usr/bin/env bash
# Daemon spawn latency: from a spawn request to the program's first instruction, for a cold spawn
# (the shim sets the sandbox up after the request), a warm one (`gbox daemon --pool`: a sandbox
# set up beforehand takes the program), a plain `gbox run` and a plain fork/exec of the same
# program, R rounds interleaved. See tests/bench/README.md.
set -euo pipefail

BENCH_NAME=spawn.sh
# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<EOF
usage: tests/bench/spawn.sh [-r R] [--policy NAME] [--write]

The program is \`probe now\` (the base image's probe): it prints CLOCK_REALTIME in ns first
thing, so the latency is that stamp minus the client's clock right before it sent the request
(or spawned the process). R (default 40) rounds, each: fork/exec, gbox run, cold spawn, warm
spawn. The daemon runs with its own socket and state directory and \`--pool NAME=2\` (default
NAME base); cold spawns name a policy file that only extends NAME, which the pool does not serve.
Prints medians, p90 and ratios against fork/exec, with the load average; --write replaces the
spawn.sh section of docs/benchmarks.md and draws docs/bench/spawn.png (gnuplot).
EOF
}

rounds=40
policy=base
write=0
invocation=tests/bench/spawn.sh
[ "$#" -eq 0 ] || invocation="$invocation $(bench_quote "$@")"
while [ "$#" -gt 0 ]; do
    case $1 in
    -r) rounds=${2:?-r needs a value}; shift 2 ;;
    --policy) policy=${2:?--policy needs a value}; shift 2 ;;
    --write) write=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || bench_die "-r wants a positive integer, not '$rounds'"

bench_require_root
bench_require python3 jq
cd "$BENCH_ROOT"
GBOX=$(cd "$(dirname "${GBOX:-build/gbox}")" && pwd)/$(basename "${GBOX:-build/gbox}")
PROBE=build/probe
[ -x "$GBOX" ] && [ -x "$PROBE" ] || bench_die "build/gbox or build/probe missing (run make)"
getent group gbox >/dev/null || groupadd --system gbox

work=$(mktemp -d "${TMPDIR:-/tmp}/gbox-bench-spawn.XXXXXX")
dpid=
cleanup() {
    local rc=$?
    trap - EXIT
    if [ -n "$dpid" ]; then kill -TERM "$dpid" 2>/dev/null || true; wait "$dpid" 2>/dev/null || true; fi
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

cold=$work/cold.json
printf '{"version": 1, "name": "cold", "extends": "%s/policies/%s.json"}\n' "$BENCH_ROOT" "$policy" >"$cold"
export GBOX_SOCKET=$work/gbox.sock GBOX_STATE_DIR=$work/state
"$GBOX" daemon --pool "$policy=2" >"$work/daemon.log" 2>&1 &
dpid=$!

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
bench_log "$rounds rounds (load $load_before)"
results=$work/results.json
python3 - "$rounds" "$results" "$GBOX" "$PROBE" "$policy" "$cold" "$work" <<'PYTHON' || { cat "$work/daemon.log" >&2; exit 1; }
import json, os, socket, sys, time
rounds, out, gbox, probe, policy, cold, work = sys.argv[1:]
rounds = int(rounds)
sock_path, state = os.environ["GBOX_SOCKET"], os.environ["GBOX_STATE_DIR"]

def connect():
    for _ in range(200):
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(sock_path)
            return s, s.makefile("rb")
        except OSError:
            time.sleep(0.05)
    sys.exit("the daemon did not come up")

conn, rd = connect()

def request(obj):
    conn.sendall((json.dumps(obj) + "\n").encode())
    return json.loads(rd.readline())

def wait(pred, what, timeout=120):
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            sys.exit("timed out waiting for " + what)
        time.sleep(0.005)

def warm():
    return sum(1 for s in request({"op": "ps"})["sandboxes"] if s["state"] == "warm")

def first_line(path):
    try:
        with open(path) as f:
            line = f.readline()
        return line if line.endswith("\n") else None
    except FileNotFoundError:
        return None

def spawn(pol):
    t0 = time.time_ns()
    rep = request({"op": "spawn", "policy": pol, "argv": ["probe", "now"], "in_image": True})
    t1 = time.time_ns()
    if not rep.get("ok"):
        sys.exit("spawn: %s" % rep.get("error"))
    d = os.path.join(state, "sandboxes", rep["id"])
    ts = int(wait(lambda: first_line(os.path.join(d, "stdout.log")), "the program's output"))
    wait(lambda: os.path.exists(os.path.join(d, "report.json")), "the sandbox's end")
    # the record leaves a moment after the report: retry rm until it is not running any more
    wait(lambda: request({"op": "rm", "id": rep["id"]}).get("ok"), "rm")
    return (ts - t0) / 1e6, (t1 - t0) / 1e6

def process(argv):
    r, w = os.pipe()
    t0 = time.time_ns()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, w, 1)])
    os.close(w)
    with os.fdopen(r) as f:
        ts = int(f.readline())
    os.waitpid(pid, 0)
    return (ts - t0) / 1e6

res = {k: [] for k in ("fork/exec", "gbox run", "cold spawn", "warm spawn")}
replies = {"cold spawn": [], "warm spawn": []}
pooled = 0
for r in range(rounds + 1):
    a = process([probe, "now"])
    b = process([gbox, "run", "--policy", policy, "--in-image", "probe", "now"])
    c, cr = spawn(cold)
    wait(lambda: warm() >= 1, "a warm sandbox")
    before = {s["shim_pid"] for s in request({"op": "ps"})["sandboxes"] if s["state"] == "warm"}
    d, dr = spawn(policy)
    if r == 0:
        continue
    for k, v in zip(res, (a, b, c, d)):
        res[k].append(v)
    replies["cold spawn"].append(cr)
    replies["warm spawn"].append(dr)
    ev = [json.loads(l) for l in open(os.path.join(state, "events.jsonl"))]
    pooled += sum(1 for e in ev if e.get("type") == "started" and e.get("shim_pid") in before)
json.dump({"latency_ms": res, "reply_ms": replies, "pooled": pooled, "rounds": rounds}, open(out, "w"))
PYTHON
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

table=$work/table.md
dat=$work/spawn.dat
python3 - "$results" "$table" "$dat" <<'PYTHON'
import json, math, sys
r = json.load(open(sys.argv[1]))
lat, rep = r["latency_ms"], r["reply_ms"]
med = lambda s: sorted(s)[len(s) // 2] if len(s) % 2 else sum(sorted(s)[len(s) // 2 - 1:len(s) // 2 + 1]) / 2
p90 = lambda s: sorted(s)[max(0, math.ceil(0.9 * len(s)) - 1)]
base = med(lat["fork/exec"])
with open(sys.argv[2], "w") as t, open(sys.argv[3], "w") as d:
    t.write("| path | to the program, median ms | p90 ms | min ms | × fork/exec | request → reply, median ms |\n")
    t.write("|---|---:|---:|---:|---:|---:|\n")
    for k, s in lat.items():
        t.write("| %s | %.2f | %.2f | %.2f | %.2f | %s |\n" % (k, med(s), p90(s), min(s), med(s) / base,
                "%.2f" % med(rep[k]) if k in rep else "—"))
        d.write('"%s" %.3f %.3f %.3f\n' % (k, med(s), min(s), p90(s)))
    t.write("\n- warm spawns that ran in a member of the pool (shim pid among the warm ones before the request): %d of %d\n" % (r["pooled"], r["rounds"]))
    t.write("- warm spawn / fork/exec: **%.2f** (target ≤ 1.5, informational); warm / cold spawn: %.2f\n" %
            (med(lat["warm spawn"]) / base, med(lat["warm spawn"]) / med(lat["cold spawn"])))
PYTHON

bench_sysinfo
report=$work/report.md
{
    echo "## Daemon spawn latency: cold, warm, gbox run, fork/exec"
    echo
    echo "From the client's clock right before it sends the spawn request (or spawns the process) to"
    echo "the program's first instruction: the program is \`probe now\`, which prints CLOCK_REALTIME (ns)"
    echo "first thing; the client reads it from the sandbox's stdout.log (or a pipe). $rounds rounds after"
    echo "one untimed round, each: fork/exec of the static probe, \`gbox run --policy $policy --in-image"
    echo "probe now\`, a cold spawn (a policy file that only extends \`$policy\`: the pool does not serve"
    echo "it, the shim sets the sandbox up after the request) and a warm spawn (\`gbox daemon --pool"
    echo "$policy=2\`; the client waits until a member is warm before it asks). One socket connection."
    echo "Measured $BENCH_DATE on Linux $BENCH_KERNEL, $BENCH_CPU ($BENCH_CORES cores); load average"
    echo "$load_before before, $load_after after (shared machine: ratios within this run)."
    echo
    cat "$table"
    echo
    echo "![spawn latency](bench/spawn.png)"
    echo
    echo "Command: \`$invocation\`"
} >"$report"
cat "$report"
if [ "$write" -eq 1 ]; then
    mkdir -p docs/bench
    bench_require gnuplot
    gnuplot <<EOF
set terminal pngcairo size 800,420 noenhanced
set output "docs/bench/spawn.png"
set title "request to program start, median (bars) and min-p90 (load $load_before)"
set ylabel "ms (log scale)"
set logscale y
set style fill solid 0.6
set boxwidth 0.6
set grid ytics
plot "$dat" using 0:2:xtic(1) with boxes notitle, "" using 0:2:3:4 with yerrorbars lc rgb "black" notitle
EOF
    bench_doc_section docs/benchmarks.md spawn.sh "$report"
    bench_log "wrote the spawn.sh section of docs/benchmarks.md and docs/bench/spawn.png"
fi
