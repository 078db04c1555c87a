#!/usr/bin/env bash
# Hot reload: how long a supervised sandbox takes to come up on a new module version (restart
# mode) or to read it (swap mode), and how long a rollback takes, each with 10 MB in the
# sandbox's state directory, next to a cold start of the same program under gbox run and bubblewrap.
# See tests/bench/README.md. Run as root from anywhere; paths are relative to the repository.
set -euo pipefail

BENCH_NAME=reload.sh
# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<EOF
usage: tests/bench/reload.sh [-n N] [--write [--doc FILE]]

Starts its own gbox daemon and image store in a temporary directory. Restart mode: one sandbox on
module app 1.0.0 (a shell loop at /opt/app) with 10 MB in its state, reloaded N times (default 30)
alternately to 2.0.0 and 1.0.0, then rolled back N times with 10 MB written since the checkpoint,
each timed from the request to the daemon's "running" event of the new run (and to "verified").
Swap mode: a second sandbox on app 3.0.0 ("reload": "swap") with 10 MB in its state, reloaded N
times to 4.0.0 (request -> "swapped": checkpoint copied, tree moved, program signalled) and
rolled back live each time (request -> "rollback" event). Then N cold starts of the same command:
gbox run on the same stack, and bubblewrap on the base image. Prints a markdown section.

  -n N          reloads and rollbacks measured
  --write       also replace the reload.sh section of the doc file
  --doc FILE    the doc file (default docs/benchmarks.md)

Environment: GBOX (default build/gbox). Exit status 1 if something failed (nothing is written).
EOF
}

n=30 write=0 doc=$BENCH_ROOT/docs/benchmarks.md
while [ $# -gt 0 ]; do
    case $1 in
    -n) n=$2; shift 2 ;;
    --write) write=1; shift ;;
    --doc) doc=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
bench_require_root
bench_require python3 bwrap
GBOX=${GBOX:-$BENCH_ROOT/build/gbox}
ROOTFS=$BENCH_ROOT/build/images/base/rootfs
work=$(mktemp -d /tmp/gbox-bench-reload.XXXXXX)
export GBOX_STORE_DIR=$work/store GBOX_SOCKET=$work/gbox.sock GBOX_STATE_DIR=$work/state
daemon_pid=
cleanup() {
    if [ -n "$daemon_pid" ]; then
        "$GBOX" kill bench >/dev/null 2>&1 || true
        "$GBOX" kill bswap >/dev/null 2>&1 || true
        sleep 1
        kill "$daemon_pid" 2>/dev/null || true
        wait "$daemon_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

for v in 1 2 3 4; do
    d=$work/src/app-$v.0.0
    mkdir -p "$d/rootfs"
    printf '#!/bin/sh\necho app %s\n' "$v" >"$d/rootfs/run"
    chmod 0755 "$d/rootfs/run"
    mode=restart
    [ "$v" -ge 3 ] && mode=swap
    printf '{"name": "app", "version": "%s.0.0", "depends": [{"name": "base", "version": "^1"}], "mount_point": "/opt/app", "reload": "%s"}\n' "$v" "$mode" >"$d/module.json"
    "$GBOX" image build "$d" >/dev/null
done
pol=$work/bench.json
cat >"$pol" <<EOF
{"version": 1, "name": "bench", "extends": "$BENCH_ROOT/policies/base.json",
 "filesystem": {"readonly_root": false}, "failure_policies": {"grace": "200ms"},
 "resources": {"timeout": "1h"},
 "modules": {"reload": {"verify_window": "100ms", "verify_passes": 0, "keep_generations": 3}}}
EOF
getent group gbox >/dev/null || groupadd --system gbox
"$GBOX" daemon >"$work/daemon.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 100); do [ -S "$GBOX_SOCKET" ] && break; sleep 0.05; done
# exits at once on TERM (a trap runs only after a foreground sleep: wait on it instead)
prog='trap "exit 0" TERM; while true; do /opt/app/run >/dev/null; sleep 1 & wait $!; done'
"$GBOX" spawn --name bench --policy "$pol" --module app@1 --in-image sh -c "$prog" >/dev/null
"$GBOX" spawn --name bswap --policy "$pol" --module app@3 --in-image sh -c "$prog" >/dev/null
bench_sysinfo

results=$work/results.json
python3 - "$GBOX_SOCKET" "$n" "$GBOX" "$pol" "$ROOTFS" "$results" "$prog" <<'PYTHON'
import json, os, socket, subprocess, sys, time
sock, n, gbox, pol, rootfs, out, prog = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7]

def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    return s, s.makefile("r")

def ask(rq):
    s, f = conn()
    s.sendall((json.dumps(rq) + "\n").encode())
    r = json.loads(f.readline())
    s.close()
    return r

ev_s, ev_f = conn()
ev_s.sendall((json.dumps({"op": "events", "follow": True}) + "\n").encode())
ev_f.readline()

ev_s.settimeout(60)

def wait_event(pred, sb="bench", timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        m = json.loads(ev_f.readline())
        e = m.get("event")
        if e and e.get("name") == sb and pred(e):
            return e
    raise SystemExit("reload.sh: timed out waiting for an event")

def write_state(sb, name):
    """10 MB into the sandbox's state, through its own root (the upper layer on disk)."""
    d = ask({"op": "inspect", "id": sb})
    subprocess.run(["nsenter", "-t", str(d["sandbox"]["init_pid"]), "-m", "-U", "sh", "-c",
                    "dd if=/dev/zero of=/var/tmp/%s bs=1M count=10 2>/dev/null && sync" % name], check=True)
    st = os.path.join(os.environ["GBOX_STATE_DIR"], "sandboxes", d["sandbox"]["id"], "state", "upper", "var", "tmp", name)
    return os.path.getsize(st)

for sb in ("bench", "bswap"):
    while ask({"op": "inspect", "id": sb})["sandbox"]["state"] != "running":
        time.sleep(0.05)
res = {"restart": [], "restart_verified": [], "rollback": [], "bytes": 0, "swap": [], "swap_verified": [],
       "swap_rollback": []}
res["bytes"] = write_state("bench", "state")
for i in range(n):
    ref = "app@2.0.0" if i % 2 == 0 else "app@1.0.0"
    t0 = time.monotonic_ns()
    r = ask({"op": "reload", "id": "bench", "modules": [ref]})
    if not r.get("ok"):
        raise SystemExit("reload.sh: reload refused: %s" % r.get("error"))
    wait_event(lambda e: e["type"] == "running")
    res["restart"].append((time.monotonic_ns() - t0) / 1e6)
    e = wait_event(lambda e: e["type"] == "reload" and e.get("phase") in ("verified", "rolling_back"))
    if e["phase"] != "verified":
        raise SystemExit("reload.sh: reload %d rolled back: %s" % (i, e.get("reason")))
    res["restart_verified"].append((time.monotonic_ns() - t0) / 1e6)
# rollback with 10 MB written since the checkpoint
for i in range(n):
    write_state("bench", "ten")
    t0 = time.monotonic_ns()
    r = ask({"op": "rollback", "id": "bench"})
    if not r.get("ok"):
        raise SystemExit("reload.sh: rollback refused: %s" % r.get("error"))
    wait_event(lambda e: e["type"] == "running")
    res["rollback"].append((time.monotonic_ns() - t0) / 1e6)
# swap mode: 3.0.0 -> 4.0.0 live, then the live rollback, 10 MB in the state (copied at each checkpoint)
res["swap_bytes"] = write_state("bswap", "state")
for i in range(n):
    t0 = time.monotonic_ns()
    r = ask({"op": "reload", "id": "bswap", "modules": ["app@4.0.0"]})
    if not r.get("ok") or r.get("mode") != "swap":
        raise SystemExit("reload.sh: swap reload refused or not a swap: %s" % r)
    wait_event(lambda e: e["type"] == "reload" and e.get("phase") in ("swapped", "rolling_back"), "bswap")
    res["swap"].append((time.monotonic_ns() - t0) / 1e6)
    e = wait_event(lambda e: e["type"] == "reload" and e.get("phase") in ("verified", "rolling_back"), "bswap")
    if e["phase"] != "verified":
        raise SystemExit("reload.sh: swap %d rolled back: %s" % (i, e.get("reason")))
    res["swap_verified"].append((time.monotonic_ns() - t0) / 1e6)
    t0 = time.monotonic_ns()
    r = ask({"op": "rollback", "id": "bswap"})
    if not r.get("ok") or r.get("mode") != "swap":
        raise SystemExit("reload.sh: swap rollback refused or not live: %s" % r)
    wait_event(lambda e: e["type"] == "rollback", "bswap")
    res["swap_rollback"].append((time.monotonic_ns() - t0) / 1e6)
# cold starts of the same command, for scale
def cold(cmd):
    v = []
    for _ in range(n):
        t0 = time.monotonic_ns()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        v.append((time.monotonic_ns() - t0) / 1e6)
    return v
res["gbox_run"] = cold([gbox, "run", "--quiet", "--policy", pol, "--module", "app@1", "--in-image", "/opt/app/run"])
res["bwrap"] = cold(["bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", rootfs, "/", "--proc", "/proc",
                     "--dev", "/dev", "/bin/sh", "-c", "echo app 1"])
json.dump(res, open(out, "w"))
PYTHON

report=$work/report.md
python3 - "$results" "$n" >"$report.body" <<'PYTHON'
import json, sys
r, n = json.load(open(sys.argv[1])), int(sys.argv[2])
def pct(v, p):
    s = sorted(v)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]
base = pct(r["bwrap"], 50)
print("| operation | p50 ms | p99 ms | min ms | × bwrap cold start |")
print("|---|---:|---:|---:|---:|")
mb = r["bytes"] / 1e6
rows = [("reload, swap mode, %.0f MB state: request → swapped (checkpoint, move, signal)" % (r["swap_bytes"] / 1e6), r["swap"]),
        ("reload, swap mode: request → verified (window 100 ms)", r["swap_verified"]),
        ("rollback of a swap (live move back): request → done", r["swap_rollback"]),
        ("reload, restart mode, %.0f MB state: request → new run running" % mb, r["restart"]),
        ("reload, restart mode: request → verified (window 100 ms)", r["restart_verified"]),
        ("rollback by restart, %.0f MB written since the checkpoint: request → running" % mb, r["rollback"]),
        ("cold start: gbox run, same stack", r["gbox_run"]),
        ("cold start: bwrap, base image", r["bwrap"])]
for name, v in rows:
    print("| %s | %.1f | %.1f | %.1f | %.1f |" % (name, pct(v, 50), pct(v, 99), min(v), pct(v, 50) / base))
PYTHON
{
    echo "## Hot reload and rollback"
    echo
    echo "Two sandboxes under \`gbox daemon\` on module app (a shell loop at /opt/app), each with 10 MB in"
    echo "its state (the upper layer on disk). Swap mode: $n reloads app 3.0.0 → 4.0.0, each followed by a"
    echo "live rollback, from the request on the socket to the \`swapped\` event (frozen copy of the"
    echo "upper, new tree moved over /opt/app, signal) and to the \`rollback\` event. Restart mode: $n"
    echo "reloads alternating app 1.0.0 and 2.0.0, then $n rollbacks each with 10 MB more written since"
    echo "the checkpoint, to the daemon's \`running\` event of the new run (the new program exec'd)."
    echo "Measured $BENCH_DATE on Linux $BENCH_KERNEL, $BENCH_CPU ($BENCH_CORES cores)."
    echo
    cat "$report.body"
    echo
    echo "Command: \`tests/bench/reload.sh -n $n$([ "$write" -eq 1 ] && echo " --write")\`. Version: gbox $(git -C "$BENCH_ROOT" describe --always --dirty 2>/dev/null || echo '?')."
} >"$report"
cat "$report"
if [ "$write" -eq 1 ]; then
    bench_doc_section "$doc" reload.sh "$report"
    bench_log "wrote the reload.sh section of $doc"
fi
