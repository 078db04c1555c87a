# shellcheck shell=bash
# shellcheck disable=SC2034 # the BENCH_* variables are for the scripts that source this file
# Shared helpers for the benchmarks in tests/bench/. A bench script sources it:
#
#     . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Everything here is named bench_* (functions) or BENCH_* (variables). The helpers do not change
# the caller's shell options; bench scripts run with `set -euo pipefail`.
#
# The timing itself is done by one python3 process (bench_py below) that posix_spawns each command
# and reads CLOCK_MONOTONIC in nanoseconds right before the spawn and right after the reap, so
# every column pays the same harness cost and no shell start-up is ever measured.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_ROOT=$(cd "$BENCH_DIR/../.." && pwd)
BENCH_NAME=${BENCH_NAME:-$(basename "$0")}
# The hybrid-layout file crun 1.8 trips over (see bench_cgroup_mask_start).
BENCH_UNIFIED_CONTROLLERS=/sys/fs/cgroup/unified/cgroup.controllers

bench_log() {
    printf '%s: %s\n' "$BENCH_NAME" "$*" >&2
}

bench_die() {
    bench_log "$*"
    exit 1
}

bench_require_root() {
    [ "$(id -u)" -eq 0 ] || bench_die "must run as root (the runtimes compared need it)"
}

# bench_have CMD: true if CMD is on PATH.
bench_have() {
    command -v "$1" >/dev/null 2>&1
}

# bench_require CMD...: die naming the package source when a helper tool is missing.
bench_require() {
    local c
    for c in "$@"; do
        bench_have "$c" || bench_die "$c not found (scripts/install-deps.sh --bench)"
    done
}

# bench_version CMD: first line of `CMD --version`, or "unknown".
bench_version() {
    local v
    v=$("$1" --version 2>/dev/null | head -n 1) || true
    printf '%s\n' "${v:-unknown}"
}

# bench_sysinfo: sets BENCH_DATE (UTC), BENCH_KERNEL, BENCH_CPU and BENCH_CORES.
bench_sysinfo() {
    BENCH_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
    BENCH_KERNEL=$(uname -r)
    BENCH_CPU=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1)
    [ -n "$BENCH_CPU" ] || BENCH_CPU=$(uname -m)
    BENCH_CORES=$(getconf _NPROCESSORS_ONLN)
}

# bench_quote ARG...: the arguments as one shell-quoted command line.
bench_quote() {
    local out="" a
    for a in "$@"; do
        if [[ $a =~ ^[A-Za-z0-9_./=:,+@%-]+$ ]]; then
            out+=" $a"
        else
            out+=" $(printf '%q' "$a")"
        fi
    done
    printf '%s\n' "${out# }"
}

# bench_json_array ARG...: the arguments as a JSON array of strings (jq 1.6 has no "--" to end
# its options, so "$@" cannot go through jq --args safely).
bench_json_array() {
    python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@"
}

# bench_oci_bundle DIR ROOTFS ARG...: write DIR/config.json, the default spec of `crun spec`
# (or `runc spec` when only runc is installed) with process.args = ARG..., no terminal and a
# read-only root at the absolute path ROOTFS, used in place, so nothing is copied or mounted and
# nothing needs cleaning up. The same bundle serves crun and runc.
bench_oci_bundle() {
    local dir=$1 rootfs=$2 spec
    shift 2
    if bench_have crun; then
        spec=crun
    elif bench_have runc; then
        spec=runc
    else
        bench_die "bench_oci_bundle: neither crun nor runc is installed"
    fi
    mkdir -p "$dir"
    (cd "$dir" && rm -f config.json && "$spec" spec) || bench_die "$spec spec failed in $dir"
    jq --arg root "$rootfs" --argjson args "$(bench_json_array "$@")" '.process.args = $args
        | .process.terminal = false
        | .root = {path: $root, readonly: true}' \
        <"$dir/config.json" >"$dir/config.json.new" || bench_die "jq failed on $dir/config.json"
    mv "$dir/config.json.new" "$dir/config.json"
}

# bench_cgroup_mask_needed: true on a hybrid cgroup host whose v2 hierarchy has controllers, which
# crun 1.8 refuses ("cgroups in hybrid mode not supported, drop all controllers from cgroupv2").
bench_cgroup_mask_needed() {
    [ -f "$BENCH_UNIFIED_CONTROLLERS" ] && [ -n "$(cat "$BENCH_UNIFIED_CONTROLLERS")" ]
}

# bench_cgroup_mask_start: start a holder process in a private mount namespace where
# BENCH_UNIFIED_CONTROLLERS is covered by /dev/null, so crun sees an empty v2 hierarchy and
# uses the v1 controllers. Sets BENCH_MASK_NS (the namespace, for bench_col --ns and
# bench_in_ns) and BENCH_MASK_PID (the holder; bench_cgroup_mask_stop ends it).
# The bind is private to that namespace: the host and the other columns never see it.
bench_cgroup_mask_start() {
    local fifo line
    fifo=$(mktemp -u "${TMPDIR:-/tmp}/bench-mask.XXXXXX")
    mkfifo -m 600 "$fifo"
    # shellcheck disable=SC2016 # $1 is expanded by the inner sh
    unshare -m --propagation private sh -c \
        'mount --bind /dev/null "$1" && echo ready && exec sleep 2147483647' sh \
        "$BENCH_UNIFIED_CONTROLLERS" >"$fifo" </dev/null &
    BENCH_MASK_PID=$!
    line=$(head -n 1 "$fifo") || true
    rm -f "$fifo"
    if [ "$line" != ready ]; then
        bench_cgroup_mask_stop
        bench_die "could not mask $BENCH_UNIFIED_CONTROLLERS in a private mount namespace"
    fi
    BENCH_MASK_NS=/proc/$BENCH_MASK_PID/ns/mnt
}

bench_cgroup_mask_stop() {
    if [ -n "${BENCH_MASK_PID:-}" ]; then
        kill "$BENCH_MASK_PID" 2>/dev/null || true
        wait "$BENCH_MASK_PID" 2>/dev/null || true
        BENCH_MASK_PID=
        BENCH_MASK_NS=
    fi
}

# bench_in_ns NS CMD...: run CMD (untimed) inside mount namespace NS (a /proc/PID/ns/mnt path),
# or directly if NS is empty. Entering a mount namespace resets the working directory, so use
# absolute paths.
bench_in_ns() {
    local ns=$1
    shift
    if [ -n "$ns" ]; then
        nsenter --mount="$ns" -- "$@"
    else
        "$@"
    fi
}

# bench_oci_cgroups RUNTIME BUNDLE ID [NS]: run `cat /proc/self/cgroup` in a container made from a
# copy of BUNDLE's config (inside mount namespace NS if given) and print which cgroups it got:
# "v1 (cpu, memory, ...)", "v2", "v1 (...) + v2", "none", or "unknown" if the run failed.
bench_oci_cgroups() {
    local rt=$1 bundle=$2 id=$3 ns=${4:-} probe out
    probe=$(mktemp -d "${TMPDIR:-/tmp}/bench-probe.XXXXXX")
    jq '.process.args = ["/bin/cat", "/proc/self/cgroup"]' <"$bundle/config.json" >"$probe/config.json"
    if ! out=$(bench_in_ns "$ns" "$rt" run --bundle "$probe" "$id" </dev/null 2>/dev/null); then
        bench_in_ns "$ns" "$rt" delete -f "$id" >/dev/null 2>&1 || true
        rm -rf "$probe"
        echo unknown
        return 0
    fi
    rm -rf "$probe"
    # Lines are "N:controllers:/path"; the container's own cgroups end in its id.
    printf '%s\n' "$out" | awk -F: -v id="$id" '
        $3 ~ ("/" id "$") { if ($2 == "") v2 = 1; else { v1 = v1 sep $2; sep = ", " } }
        END {
            if (v1 != "") s = "v1 (" v1 ")"
            if (v2) s = (s == "" ? "v2" : s " + v2")
            print (s == "" ? "none" : s)
        }'
}

# bench_oci_leftovers RUNTIME PREFIX [NS]: force-delete (inside NS if given) every container whose
# id starts with PREFIX, naming each one.
bench_oci_leftovers() {
    local rt=$1 prefix=$2 ns=${3:-} id
    for id in $("$rt" list -q 2>/dev/null | grep -F -- "$prefix" || true); do
        bench_log "$rt: deleting leftover container $id"
        bench_in_ns "$ns" "$rt" delete -f "$id" >/dev/null 2>&1 ||
            bench_log "$rt: could not delete $id"
    done
}

# bench_cgroup_leftovers PREFIX: after every container is gone, remove (naming each) the cgroup
# directories called PREFIX* that a runtime left behind. rmdir only removes empty cgroups.
bench_cgroup_leftovers() {
    local d
    while IFS= read -r d; do
        bench_log "removing leftover cgroup $d"
        rmdir "$d" 2>/dev/null || bench_log "could not remove $d"
    done < <(find /sys/fs/cgroup -maxdepth 4 -type d -name "$1*" 2>/dev/null)
}

# Columns. A bench script builds a spec file, one JSON object per line, then runs it with
# bench_interleave and prints it with bench_table.
#
# bench_col SPEC NAME [--ns NSFILE] [--cleanup CMD] [--label TEXT] -- ARGV...
#   A timed column. "{i}" in ARGV and CMD is replaced by the run number, from 1, warm-up rounds
#   included (for unique container ids). --ns runs ARGV inside that mount namespace (entered after fork, before exec, untimed
#   apart from one setns call). --cleanup is a command line run (untimed, same namespace) after a
#   failed run. --label is a note shown with the command in the report.
bench_col() {
    local spec=$1 name=$2 ns="" cleanup="" label=""
    shift 2
    while [ "$#" -gt 0 ]; do
        case $1 in
        --ns) ns=$2; shift 2 ;;
        --cleanup) cleanup=$2; shift 2 ;;
        --label) label=$2; shift 2 ;;
        --) shift; break ;;
        *) bench_die "bench_col: unknown option $1" ;;
        esac
    done
    [ "$#" -gt 0 ] || bench_die "bench_col $name: no command"
    jq -nc --arg name "$name" --arg ns "$ns" --arg cleanup "$cleanup" --arg lbl "$label" \
        --argjson argv "$(bench_json_array "$@")" \
        '{name: $name, ns: $ns, cleanup: $cleanup, label: $lbl, argv: $argv}' >>"$spec"
}

# bench_col_absent SPEC NAME REASON: a column that is reported as REASON ("not installed") and
# not run. Also logs it, so a missing tool is never silent.
bench_col_absent() {
    bench_log "$2: $3"
    jq -nc --arg name "$2" --arg reason "$3" '{name: $name, reason: $reason}' >>"$1"
}

# bench_interleave SPEC N WARMUP OUT: run every column N + WARMUP times, round-robin (run 1 of
# each column, then run 2 of each, ...) so that machine noise hits all columns alike; the first
# WARMUP rounds are not recorded. A run that exits non-zero (or is killed) is not timed: its
# column stops, and its stderr and exit status are kept. Writes the results (JSON) to OUT.
bench_interleave() {
    bench_py interleave "$@"
}

# bench_table RESULTS BASE...: a markdown table (tool, median, p90, min, then one "× BASE"
# ratio column per BASE, ratio of medians) of a bench_interleave result.
bench_table() {
    bench_py table "$@"
}

# bench_ratio RESULTS A B: median(A) / median(B) with 2 decimals, or nothing if either is absent.
bench_ratio() {
    bench_py ratio "$@"
}

# bench_plot_data RESULTS: gnuplot data, one line per measured column: "name" median p90 min (ms).
bench_plot_data() {
    bench_py plot-data "$@"
}

# bench_failures RESULTS: print each failed column's command, exit status and stderr; return 1 if
# there was any.
bench_failures() {
    bench_py failures "$@"
}

# bench_commands RESULTS: a markdown list of the exact command each column timed.
bench_commands() {
    bench_py commands "$@"
}

# bench_doc_section FILE NAME CONTENT_FILE: replace what lies between "<!-- NAME begin -->" and
# "<!-- NAME end -->" in FILE with CONTENT_FILE, keeping the rest; append the section if the
# markers are missing; create FILE with a short intro if it does not exist. Atomic (rename).
bench_doc_section() {
    bench_py doc-section "$@"
}

bench_py() {
    python3 -c "$(cat <<'PYTHON'
import ctypes, json, math, os, shlex, sys, tempfile, time

CLONE_NEWNS = 0x00020000

def load_spec(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]

def subst(argv, run):
    return [a.replace("{i}", str(run)) for a in argv]

def run(argv, err, devnull):
    """posix_spawn argv (vfork + exec: the cheapest start, and the same for every column), wait,
    return (exit code, ns from just before the spawn to just after the reap)."""
    acts = [(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 1),
            (os.POSIX_SPAWN_DUP2, err, 2)]
    t0 = time.monotonic_ns()
    try:
        pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=acts)
    except OSError as e:
        os.write(err, ("bench: exec %s: %s\n" % (argv[0], e.strerror)).encode())
        return 127, 0
    while True:
        try:
            status = os.waitpid(pid, 0)[1]
            break
        except InterruptedError:
            continue
    t1 = time.monotonic_ns()
    return os.waitstatus_to_exitcode(status), t1 - t0

class Worker:
    """A forked copy of this process that entered another mount namespace and runs commands
    there on request, timing them itself with the same run(), so a column that needs the
    namespace pays exactly what the others pay: the pipe round trip lies outside the timing."""

    def __init__(self, ns, devnull, others=()):
        nsfd = os.open(ns, os.O_RDONLY | os.O_CLOEXEC)
        req_r, self.req_w = os.pipe()
        self.rep_r, rep_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            os.close(self.req_w)
            os.close(self.rep_r)
            # The pipes of the workers forked before this one: holding their request pipe open
            # would keep them from ever seeing end-of-file, and close() would wait forever.
            for w in others:
                os.close(w.req_w)
                os.close(w.rep_r)
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.setns(nsfd, CLONE_NEWNS) != 0:
                os.write(rep_w, b"setns %s: %s\n" % (ns.encode(), os.strerror(ctypes.get_errno()).encode()))
                os._exit(1)
            os.write(rep_w, b"ready\n")
            with os.fdopen(req_r) as rq, os.fdopen(rep_w, "w") as rp:
                for line in rq:
                    argv, err = json.loads(line)
                    rp.write(json.dumps(run(argv, err, devnull)) + "\n")
                    rp.flush()
            os._exit(0)
        os.close(nsfd)
        os.close(req_r)
        os.close(rep_w)
        self.rep = os.fdopen(self.rep_r)
        line = self.rep.readline()
        if line != "ready\n":
            sys.exit("bench: worker for %s: %s" % (ns, line.strip() or "died"))

    def run(self, argv, err):
        os.write(self.req_w, (json.dumps([argv, err]) + "\n").encode())
        line = self.rep.readline()
        if not line:
            sys.exit("bench: the worker for a mount namespace died")
        return tuple(json.loads(line))

    def close(self):
        os.close(self.req_w)
        os.waitpid(self.pid, 0)

def interleave(spec, n, warmup, out):
    n, warmup = int(n), int(warmup)
    cols = load_spec(spec)
    devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    live, workers = [], {}
    for c in cols:
        c.update(samples_ns=[], failed=None)
        if "reason" in c:
            continue
        c["_errfile"] = tempfile.TemporaryFile()
        c["_err"] = c["_errfile"].fileno()
        live.append(c)
    # Fork the workers after every stderr file exists, so they share them.
    for c in live:
        if c["ns"]:
            if c["ns"] not in workers:
                workers[c["ns"]] = Worker(c["ns"], devnull, list(workers.values()))
            c["_run"] = workers[c["ns"]].run
        else:
            c["_run"] = lambda argv, err: run(argv, err, devnull)
    for i in range(warmup + n):
        for c in live:
            if c["failed"]:
                continue
            argv = subst(c["argv"], i + 1)
            os.ftruncate(c["_err"], 0)
            os.lseek(c["_err"], 0, os.SEEK_SET)
            code, dt = c["_run"](argv, c["_err"])
            if code != 0:
                os.lseek(c["_err"], 0, os.SEEK_SET)
                err = os.read(c["_err"], 65536).decode(errors="replace")
                c["failed"] = {"run": i + 1, "exit": code, "argv": argv, "stderr": err}
                if c["cleanup"]:
                    c["_run"](subst(shlex.split(c["cleanup"]), i + 1), devnull)
            elif i >= warmup:
                c["samples_ns"].append(dt)
    for w in workers.values():
        w.close()
    for c in cols:
        for k in [k for k in c if k.startswith("_")]:
            del c[k]
    with open(out, "w") as f:
        json.dump({"n": n, "warmup": warmup, "columns": cols}, f)

def stats(c):
    s = sorted(c.get("samples_ns") or [])
    if not s or c.get("failed"):
        return None
    k = len(s)
    med = s[k // 2] if k % 2 else (s[k // 2 - 1] + s[k // 2]) / 2
    p90 = s[max(0, math.ceil(0.9 * k) - 1)]  # nearest rank
    return {"median": med / 1e6, "p90": p90 / 1e6, "min": s[0] / 1e6}

def columns(path):
    with open(path) as f:
        return json.load(f)["columns"]

def find(cols, name):
    for c in cols:
        if c["name"] == name:
            return stats(c)
    return None

def table(path, *bases):
    cols = columns(path)
    head = ["tool", "median ms", "p90 ms", "min ms"] + ["× %s" % b for b in bases]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
    for c in cols:
        st = stats(c)
        if st is None:
            if c.get("failed"):
                what = "failed (exit %d)" % c["failed"]["exit"]
            else:
                what = c.get("reason") or "no samples"
            row = [c["name"], what] + ["—"] * (len(head) - 2)
        else:
            row = [c["name"]] + ["%.2f" % st[k] for k in ("median", "p90", "min")]
            for b in bases:
                bs = find(cols, b)
                row.append("%.2f" % (st["median"] / bs["median"]) if bs else "—")
        print("| " + " | ".join(row) + " |")

def plot_data(path):
    """gnuplot data: one line per measured column, "name median p90 min" in ms."""
    for c in columns(path):
        st = stats(c)
        if st is not None:
            print('"%s" %.3f %.3f %.3f' % (c["name"], st["median"], st["p90"], st["min"]))

def ratio(path, a, b):
    cols = columns(path)
    sa, sb = find(cols, a), find(cols, b)
    if sa and sb:
        print("%.2f" % (sa["median"] / sb["median"]))

def failures(path):
    bad = [c for c in columns(path) if c.get("failed")]
    for c in bad:
        f = c["failed"]
        print("%s: run %d of `%s` exited with status %d; its stderr:" %
              (c["name"], f["run"], shlex.join(f["argv"]), f["exit"]))
        print("".join("    " + l + "\n" for l in (f["stderr"].rstrip("\n") or "(empty)").split("\n")), end="")
    sys.exit(1 if bad else 0)

def commands(path):
    for c in columns(path):
        if "reason" in c:
            print("- %s: %s" % (c["name"], c["reason"]))
            continue
        line = "- %s: `%s`" % (c["name"], shlex.join(c["argv"]))
        if c.get("label"):
            line += " — " + c["label"]
        print(line)

INTRO = """# gbox benchmarks

Numbers measured by the scripts in `tests/bench/` (see `tests/bench/README.md`), comparing gbox
with bubblewrap, crun and runc on the same machine in the same run. Each section below is
rewritten by its script when run with `--write`: edit outside the `<!-- … begin/end -->` markers.
"""

def doc_section(path, name, content_path):
    begin, end = "<!-- %s begin -->" % name, "<!-- %s end -->" % name
    with open(content_path) as f:
        body = f.read().rstrip("\n") + "\n"
    block = begin + "\n" + body + end + "\n"
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        text = INTRO
    nb, ne = text.count(begin), text.count(end)
    if nb == 0 and ne == 0:
        text = text.rstrip("\n") + "\n\n" + block
    elif nb == 1 and ne == 1 and text.index(begin) < text.index(end):
        i, j = text.index(begin), text.index(end) + len(end)
        if text[j:j + 1] == "\n":
            j += 1
        text = text[:i] + block + text[j:]
    else:
        sys.exit("%s: markers %s / %s are unbalanced; fix them by hand" % (path, begin, end))
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)

cmd, args = sys.argv[1], sys.argv[2:]
{"interleave": interleave, "table": table, "ratio": ratio, "failures": failures, "plot-data": plot_data,
 "commands": commands, "doc-section": doc_section}[cmd](*args)
PYTHON
)" "$@"
}

# bench_reexec_in_netns ARG...: unless this script already runs in a network namespace of its
# own, make one (gbox-bench-PID, lo up), run the script again inside it with ARG..., delete it
# and exit with the script's status. For benchmarks of gbox's veth networking, whose host ends
# must never land in the machine's own namespace. nsenter, unlike `ip netns exec`, keeps the
# cgroup mounts.
bench_reexec_in_netns() {
    [ -z "${GBOX_BENCH_NETNS:-}" ] || return 0
    local ns=gbox-bench-$$ rc=0
    ip netns add "$ns" || bench_die "cannot create network namespace $ns"
    ip -n "$ns" link set lo up
    GBOX_BENCH_NETNS=$ns nsenter --net="/run/netns/$ns" -- "$0" "$@" || rc=$?
    ip netns del "$ns"
    exit "$rc"
}
