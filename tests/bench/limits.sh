#!/usr/bin/env bash
# Cgroup limits: how accurately gbox, crun and runc enforce a memory limit, a CPU quota and a pids
# limit (measured by what a probe inside could do), and what creating cgroups costs at start-up.
# See tests/bench/README.md. Run as root from anywhere; paths are relative to the repository.
set -euo pipefail

BENCH_NAME=limits.sh
# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MEM_LIMIT=67108864 # 64 MiB: gbox "64M", OCI memory.limit (and memory.swap, so no swap)
CPU_MAX=0.5        # gbox cpu.max 0.5, OCI cpu quota 50000 / period 100000
CPU_WEIGHT=10000   # and the top weight (v1 cpu.shares 102400), so other work cannot get in the way
PIDS_MAX=64
MEM_TARGET=1  # % of the limit (informational, like every target here)
CPU_TARGET=5  # % of the quota
PIDS_TARGET=1 # % of pids.max, i.e. exact at 64
CPU_SECONDS=2
# The workloads, the same binary of the base image for every tool.
WL_MEM=(/usr/bin/probe memhog 256M 64K) # progress every 64 KiB: 0.1 % of the limit
WL_CPU=(/usr/bin/probe cpuburn "$CPU_SECONDS")
WL_PIDS=(/usr/bin/probe forkbomb)

usage() {
    cat <<EOF
usage: tests/bench/limits.sh [-n N] [-s S] [-w W] [--rootfs DIR] [--write [--doc FILE]]

Enforcement accuracy of cgroup limits in gbox, crun and runc (N rounds, default 10, each running
every tool once in turn): a memory hog under a 64 MiB limit, a ${CPU_SECONDS} s spinner under a 0.5 CPU
quota, a fork bomb under pids.max 64. Then the start-up cost of cgroups: S (default 100) timed
runs of \`true\` per column, interleaved after W (default 2) warm-up rounds, gbox with its default
limits and with none (on this host's cgroup layout and on the legacy v1 path), crun and runc
with and without a resources section. Prints a markdown section.

  -n N          rounds of the enforcement measurements
  -s S          timed start-up runs per column
  -w W          start-up warm-up rounds (not timed)
  --rootfs DIR  image root for crun and runc (default build/images/base/rootfs)
  --write       also replace the limits.sh section of the doc file
  --doc FILE    the doc file (default docs/benchmarks.md)

Environment: GBOX (default build/gbox). Exit status 1 if an installed tool fails to run a workload.
EOF
}

n=10
starts=100
warmup=2
write=0
doc=docs/benchmarks.md
rootfs=build/images/base/rootfs
invocation=tests/bench/limits.sh
[ -z "${GBOX:-}" ] || invocation="GBOX=$(bench_quote "$GBOX") $invocation"
[ "$#" -eq 0 ] || invocation="$invocation $(bench_quote "$@")"

while [ "$#" -gt 0 ]; do
    case $1 in
    -n) n=${2:?-n needs a value}; shift 2 ;;
    -s) starts=${2:?-s needs a value}; shift 2 ;;
    -w) warmup=${2:?-w needs a value}; shift 2 ;;
    --rootfs) rootfs=${2:?--rootfs needs a value}; shift 2 ;;
    --doc) doc=${2:?--doc needs a value}; shift 2 ;;
    --write) write=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
[[ $n =~ ^[1-9][0-9]*$ ]] || bench_die "-n wants a positive integer, not '$n'"
[[ $starts =~ ^[1-9][0-9]*$ ]] || bench_die "-s wants a positive integer, not '$starts'"
[[ $warmup =~ ^[0-9]+$ ]] || bench_die "-w wants a non-negative integer, not '$warmup'"

bench_require_root
bench_require python3 jq unshare nsenter
cd "$BENCH_ROOT"
GBOX=${GBOX:-build/gbox}
# absolute: some columns run in another mount namespace, which resets the working directory
if [[ $GBOX == */* ]] && [ -d "$(dirname "$GBOX")" ]; then
    GBOX=$(cd "$(dirname "$GBOX")" && pwd)/$(basename "$GBOX")
fi
[ -x "$rootfs/usr/bin/probe" ] || bench_die "no image with /usr/bin/probe at $rootfs (run make)"
rootfs=$(cd "$rootfs" && pwd)
started=$SECONDS
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

work=$(mktemp -d "${TMPDIR:-/tmp}/gbox-bench-limits.XXXXXX")
prefix=gbox-bench-$$-
LEGACY_PID=
LEGACY_NS=

# cg_remove NAME...: remove the cgroup directories NAME (and anything below, deepest first) in
# every hierarchy, naming what cannot be removed. rmdir only removes empty cgroups.
cg_remove() {
    local name d
    for name in "$@"; do
        for d in /sys/fs/cgroup/"$name" /sys/fs/cgroup/*/"$name"; do
            [ -d "$d" ] || continue
            find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
            [ ! -d "$d" ] || bench_log "could not remove cgroup $d"
        done
    done
}

legacy_ns_stop() {
    if [ -n "$LEGACY_PID" ]; then
        kill "$LEGACY_PID" 2>/dev/null || true
        wait "$LEGACY_PID" 2>/dev/null || true
        LEGACY_PID=
        LEGACY_NS=
    fi
}

cleanup() {
    local rc=$? d
    trap - EXIT
    if bench_have crun; then bench_oci_leftovers crun "$prefix" "${BENCH_MASK_NS:-}"; fi
    if bench_have runc; then bench_oci_leftovers runc "$prefix"; fi
    for d in /sys/fs/cgroup/"$prefix"* /sys/fs/cgroup/*/"$prefix"*; do
        [ -d "$d" ] || continue
        bench_log "removing leftover cgroup $d"
        cg_remove "${d#/sys/fs/cgroup/}"
    done
    bench_cgroup_mask_stop
    legacy_ns_stop
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# The cgroup2 mount points (none on a legacy host) and whether v1 controllers are mounted.
mapfile -t cg2_mounts < <(awk '{ split($0, a, " - "); split(a[2], b, " ");
    if (b[1] == "cgroup2") print $5 }' /proc/self/mountinfo)
has_v1=$(awk '{ split($0, a, " - "); split(a[2], b, " "); if (b[1] == "cgroup") { print 1; exit } }' \
    /proc/self/mountinfo)

# legacy_ns_start: a holder process in a private mount namespace without any cgroup2 mount, so
# gbox sees a legacy v1-only host there (as tests/integration/cgroup-legacy.bats does). Sets
# LEGACY_NS for bench_col --ns / bench_in_ns, like bench_cgroup_mask_start.
legacy_ns_start() {
    local fifo line
    fifo=$(mktemp -u "${TMPDIR:-/tmp}/bench-legacy.XXXXXX")
    mkfifo -m 600 "$fifo"
    # shellcheck disable=SC2016 # "$@" is expanded by the inner sh
    unshare -m --propagation private sh -c \
        'for m in "$@"; do umount -l "$m" || exit 1; done; echo ready; exec sleep 2147483647' sh \
        "${cg2_mounts[@]}" >"$fifo" </dev/null &
    LEGACY_PID=$!
    line=$(head -n 1 "$fifo") || true
    rm -f "$fifo"
    if [ "$line" != ready ]; then
        legacy_ns_stop
        bench_die "could not unmount the cgroup2 hierarchy in a private mount namespace"
    fi
    LEGACY_NS=/proc/$LEGACY_PID/ns/mnt
}

# Versions and which tools run.
versions=()
have_gbox=0 have_crun=0 have_runc=0
if [ -x "$GBOX" ]; then
    have_gbox=1
    versions+=("gbox $(git describe --always --dirty 2>/dev/null || echo '(no commit yet)')")
else
    bench_log "gbox: not built ($GBOX missing: run make)"
fi
for t in crun runc; do
    if bench_have "$t"; then
        eval "have_$t=1"
        versions+=("$(bench_version "$t")")
    else
        bench_log "$t: not installed (scripts/install-deps.sh --bench)"
    fi
done
if bench_have bwrap; then versions+=("$(bench_version bwrap)"); fi
bwrap_note="bubblewrap has no resource limits (no cgroup options: it only sets up namespaces and \
mounts), so there is nothing to enforce; a limit around bwrap would come from whoever starts it"

# gbox policies: the fully merged base policy with the limits changed, so every variant parses
# the same amount of JSON and depends on no policy directory.
if [ "$have_gbox" -eq 1 ]; then
    "$GBOX" policy show base >"$work/base.json" || bench_die "$GBOX policy show base failed"
    gbox_policy() { # NAME JQ-FILTER: $work/NAME.json, named bench-NAME
        jq --arg name "bench-$1" ".name = \$name | $2" "$work/base.json" >"$work/$1.json"
    }
    nolimits='.resources.memory.max = null | .resources.memory.swap = null
        | .resources.cpu.max = null | .resources.pids.max = null'
    gbox_policy limits '.'
    gbox_policy none "$nolimits"
    gbox_policy mem "$nolimits | .resources.memory.max = \"64M\" | .resources.memory.swap = \"0\""
    gbox_policy cpu "$nolimits | .resources.cpu.max = $CPU_MAX | .resources.cpu.weight = $CPU_WEIGHT"
    gbox_policy pids "$nolimits | .resources.pids.max = $PIDS_MAX"
    gbox_limits_desc=$(jq -r '.resources
        | "memory.max \(.memory.max), memory.swap \(.memory.swap), cpu.max \(.cpu.max), pids.max \(.pids.max)"' \
        "$work/limits.json")
fi

# OCI bundles. The memory and pids bundles put the container's cgroup below a parent cgroup of
# ours (cgroupsPath /PREFIX-TEST/ctr), created fresh for each run, whose memory and pids peaks
# outlive the container (the runtime removes the container's own cgroup when `run` returns).
if [ "$have_crun" -eq 1 ] || [ "$have_runc" -eq 1 ]; then
    oci_bundle() { # NAME JQ-FILTER ARG...
        local name=$1 filter=$2
        shift 2
        bench_oci_bundle "$work/$name" "$rootfs" "$@"
        jq "$filter" "$work/$name/config.json" >"$work/$name/config.json.new"
        mv "$work/$name/config.json.new" "$work/$name/config.json"
    }
    oci_bundle mem ".linux.resources.memory = {limit: $MEM_LIMIT, swap: $MEM_LIMIT}
        | .linux.cgroupsPath = \"/${prefix}mem/ctr\"" "${WL_MEM[@]}"
    # no parent here: the parent's own weight would decide the share a busy host leaves the
    # container; /NAME puts it level with gbox's (below the script's own cgroup, the root here)
    oci_bundle cpu ".linux.resources.cpu = {quota: 50000, period: 100000, shares: $((CPU_WEIGHT * 1024 / 100))}
        | .linux.cgroupsPath = \"/${prefix}cpu\"" "${WL_CPU[@]}"
    oci_bundle pids ".linux.resources.pids = {limit: $PIDS_MAX}
        | .linux.cgroupsPath = \"/${prefix}pids/ctr\"" "${WL_PIDS[@]}"
    # gbox's default limits (base policy) as OCI resources, and no resources section at all
    oci_bundle start-res '.linux.resources.memory = {limit: 536870912, swap: 536870912}
        | .linux.resources.cpu = {quota: 100000, period: 100000}
        | .linux.resources.pids = {limit: 256}' /bin/true
    oci_bundle start-nores 'del(.linux.resources)' /bin/true
fi

crun_ns="" crun_label=""
if [ "$have_crun" -eq 1 ] && bench_cgroup_mask_needed; then
    bench_cgroup_mask_start
    crun_ns=$BENCH_MASK_NS
    crun_label="inside a private mount namespace where \`$BENCH_UNIFIED_CONTROLLERS\` is covered by \
/dev/null (crun 1.8 refuses hybrid cgroup hosts otherwise)"
fi

# The parent cgroups for one OCI run: memory and pids, on v1 or (pure v2) with both controllers
# delegated to the children.
oci_parent_make() { # TEST
    local p=$prefix$1
    cg_remove "$p"
    if [ -d /sys/fs/cgroup/memory ] || [ -d /sys/fs/cgroup/pids ]; then
        [ ! -d /sys/fs/cgroup/memory ] || mkdir "/sys/fs/cgroup/memory/$p"
        [ ! -d /sys/fs/cgroup/pids ] || mkdir "/sys/fs/cgroup/pids/$p"
    elif [ -f /sys/fs/cgroup/cgroup.controllers ]; then
        mkdir "/sys/fs/cgroup/$p"
        echo "+memory +pids" >"/sys/fs/cgroup/$p/cgroup.subtree_control" 2>/dev/null || true
    fi
}

oci_parent_peaks() { # TEST: sets MEM_PEAK and PIDS_PEAK (empty when unknown)
    local p=$prefix$1 f
    MEM_PEAK="" PIDS_PEAK=""
    for f in "/sys/fs/cgroup/memory/$p/memory.max_usage_in_bytes" "/sys/fs/cgroup/$p/memory.peak"; do
        [ ! -r "$f" ] || MEM_PEAK=$(cat "$f")
    done
    for f in "/sys/fs/cgroup/pids/$p/pids.peak" "/sys/fs/cgroup/$p/pids.peak"; do
        [ ! -r "$f" ] || PIDS_PEAK=$(cat "$f")
    done
}

# run_once TOOL TEST ROUND: one enforcement run; appends a JSON line to $work/runs.jsonl, or on
# an unexpected exit a line to $work/failures.jsonl (and that TOOL/TEST stops).
runs=$work/runs.jsonl
failures=$work/failures.jsonl
: >"$runs"
: >"$failures"
declare -A failed=()
run_once() {
    local tool=$1 test=$2 round=$3 rc=0 out=$work/out err=$work/err wl report=$work/report.json
    local id="${prefix}${tool}-${test}-${round}" rep_json=null argv
    case $test in
    mem) wl=("${WL_MEM[@]}") ;;
    cpu) wl=("${WL_CPU[@]}") ;;
    pids) wl=("${WL_PIDS[@]}") ;;
    esac
    MEM_PEAK="" PIDS_PEAK=""
    rm -f "$report"
    case $tool in
    gbox)
        argv=("$GBOX" run --policy "$work/$test.json" --report "$report" --in-image "${wl[@]}")
        "${argv[@]}" </dev/null >"$out" 2>"$err" || rc=$?
        [ ! -s "$report" ] || rep_json=$(jq -c '{end: .end, resources: .resources}' "$report")
        ;;
    crun | runc)
        local ns=""
        [ "$tool" = runc ] || ns=$crun_ns
        argv=("$tool" run --bundle "$work/$test" "$id")
        [ "$test" = cpu ] || oci_parent_make "$test"
        bench_in_ns "$ns" "${argv[@]}" </dev/null >"$out" 2>"$err" || rc=$?
        bench_in_ns "$ns" "$tool" delete -f "$id" >/dev/null 2>&1 || true
        oci_parent_peaks "$test"
        cg_remove "$prefix$test"
        ;;
    esac
    local ok=1
    case $test in
    mem) [ "$rc" -eq 137 ] || { [ "$rc" -eq 0 ] && grep -q '^ok ' "$out"; } || ok=0 ;;
    cpu) [ "$rc" -eq 0 ] && grep -q '^wall_ms ' "$out" || ok=0 ;;
    pids) [ "$rc" -eq 0 ] && grep -q '^forked ' "$out" || ok=0 ;;
    esac
    if [ "$ok" -eq 0 ]; then
        failed[$tool-$test]=1
        jq -nc --arg tool "$tool" --arg test "$test" --argjson rc "$rc" --argjson round "$round" \
            --arg cmd "$(bench_quote "${argv[@]}")" --rawfile out "$out" --rawfile err "$err" \
            '{tool: $tool, test: $test, rc: $rc, round: $round, cmd: $cmd, stdout: $out, stderr: $err}' \
            >>"$failures"
        return 0
    fi
    jq -nc --arg tool "$tool" --arg test "$test" --argjson rc "$rc" --rawfile out "$out" \
        --arg mem_peak "$MEM_PEAK" --arg pids_peak "$PIDS_PEAK" --argjson report "$rep_json" \
        '{tool: $tool, test: $test, rc: $rc, stdout: $out, report: $report,
          mem_peak: ($mem_peak | if . == "" then null else tonumber end),
          pids_peak: ($pids_peak | if . == "" then null else tonumber end)}' >>"$runs"
}

# What an empty child memory cgroup charges its parent (its own kernel structures).
memcg_cost=unknown
if [ -d /sys/fs/cgroup/memory ]; then
    mkdir -p "/sys/fs/cgroup/memory/${prefix}cal/child"
    memcg_cost=$(awk '{ printf "%.2f MiB", $1 / 1048576 }' "/sys/fs/cgroup/memory/${prefix}cal/memory.usage_in_bytes")
    cg_remove "${prefix}cal"
fi

tools=()
[ "$have_gbox" -eq 0 ] || tools+=(gbox)
[ "$have_crun" -eq 0 ] || tools+=(crun)
[ "$have_runc" -eq 0 ] || tools+=(runc)

bench_log "enforcement: $n rounds of memory, cpu and pids in ${tools[*]:-nothing} (about $((n * CPU_SECONDS * ${#tools[@]})) s of spinning)"
for round in $(seq "$n"); do
    for test in mem cpu pids; do
        for tool in "${tools[@]}"; do
            [ -z "${failed[$tool-$test]:-}" ] || continue
            run_once "$tool" "$test" "$round"
        done
    done
done

# Start-up cost of cgroups.
spec=$work/spec.jsonl
notes=$work/notes.md
: >"$spec"
: >"$notes"
layout_host="" layout_legacy=""
if [ "${#cg2_mounts[@]}" -gt 0 ] && [ -n "$has_v1" ]; then
    legacy_ns_start
fi
if [ "$have_gbox" -eq 1 ]; then
    # which layout gbox uses on each path, and that the policy without limits makes no cgroup
    gbox_layout() { # NS POLICY
        local r=$work/layout.json
        rm -f "$r"
        bench_in_ns "$1" "$GBOX" run --policy "$2" --report "$r" --in-image /bin/true \
            </dev/null >/dev/null 2>&1 || true
        if [ -s "$r" ]; then jq -r '.resources.cgroup // "none"' "$r"; else echo unknown; fi
    }
    layout_host=$(gbox_layout "" "$work/limits.json")
    none_host=$(gbox_layout "" "$work/none.json")
    bench_col "$spec" "gbox $layout_host, limits" \
        -- "$GBOX" run --policy "$work/limits.json" --in-image /bin/true
    bench_col "$spec" "gbox $layout_host, no limits" \
        -- "$GBOX" run --policy "$work/none.json" --in-image /bin/true
    echo "- gbox on the host: cgroup layout \`$layout_host\` with limits, \`$none_host\` with none" >>"$notes"
    if [ -n "$LEGACY_NS" ]; then
        layout_legacy=$(gbox_layout "$LEGACY_NS" "$work/limits.json")
        none_legacy=$(gbox_layout "$LEGACY_NS" "$work/none.json")
        lbl="inside a private mount namespace where the cgroup2 mount (${cg2_mounts[*]}) is unmounted"
        bench_col "$spec" "gbox $layout_legacy, limits" --ns "$LEGACY_NS" --label "$lbl" \
            -- "$GBOX" run --policy "$work/limits.json" --in-image /bin/true
        bench_col "$spec" "gbox $layout_legacy, no limits" --ns "$LEGACY_NS" --label "$lbl" \
            -- "$GBOX" run --policy "$work/none.json" --in-image /bin/true
        echo "- gbox with the cgroup2 mount unmounted: layout \`$layout_legacy\` with limits, \`$none_legacy\` with none" >>"$notes"
    elif [ -z "$has_v1" ]; then
        bench_col_absent "$spec" "gbox v1" "no v1 hierarchy on this host"
    else
        echo "- this host has no cgroup2 mount: its path is the legacy v1 path" >>"$notes"
    fi
fi
if [ "$have_crun" -eq 1 ]; then
    cg=$(bench_oci_cgroups crun "$work/start-res" "${prefix}crun-probe" "$crun_ns")
    echo "- crun ran with cgroups: $cg (with or without a resources section)" >>"$notes"
    for v in res nores; do
        lbl=$([ "$v" = res ] && echo "resources" || echo "no resources")
        bench_col "$spec" "crun, $lbl" --ns "$crun_ns" --label "$crun_label" \
            --cleanup "crun delete -f ${prefix}crun-$v-{i}" \
            -- crun run --bundle "$work/start-$v" "${prefix}crun-$v-{i}"
    done
else
    bench_col_absent "$spec" crun "not installed (scripts/install-deps.sh --bench)"
fi
if [ "$have_runc" -eq 1 ]; then
    cg=$(bench_oci_cgroups runc "$work/start-res" "${prefix}runc-probe")
    echo "- runc ran with cgroups: $cg (with or without a resources section)" >>"$notes"
    for v in res nores; do
        lbl=$([ "$v" = res ] && echo "resources" || echo "no resources")
        bench_col "$spec" "runc, $lbl" --cleanup "runc delete -f ${prefix}runc-$v-{i}" \
            -- runc run --bundle "$work/start-$v" "${prefix}runc-$v-{i}"
    done
else
    bench_col_absent "$spec" runc "not installed (scripts/install-deps.sh --bench)"
fi
bench_log "start-up: timing $starts runs of each column, interleaved, after $warmup warm-up rounds"
results=$work/results.json
bench_interleave "$spec" "$starts" "$warmup" "$results"
bench_cgroup_leftovers "$prefix"

# The report.
limits_py() {
    python3 -c "$(cat <<'PYTHON'
import json, re, sys

def median(v):
    s = sorted(v)
    k = len(s)
    return s[k // 2] if k % 2 else (s[k // 2 - 1] + s[k // 2]) / 2

def load(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]

def last(pattern, text):
    m = re.findall(pattern, text, re.M)
    return m[-1] if m else None

def within(ratio, pct):
    return abs(ratio - 1) <= pct / 100 + 1e-9

def verdict(ok):
    return "**PASS**" if ok else "**MISS**"

def enforcement(runs_path, fails_path, tools, test, n, mem_limit, cpu_max, pids_max,
                mem_t, cpu_t, pids_t, bwrap_note):
    tools = tools.split()
    runs, fails = load(runs_path), load(fails_path)
    mem_limit, cpu_max, pids_max = int(mem_limit), float(cpu_max), int(pids_max)
    mem_t, cpu_t, pids_t = float(mem_t), float(cpu_t), float(pids_t)
    if test == "mem":
        print("| tool | allocated at the kill, MiB (median) | min–max | × limit | cgroup peak × limit "
              "| killed | verdict (within %g %%) |" % mem_t)
        print("|---|---:|---:|---:|---:|---:|---|")
    elif test == "cpu":
        print("| tool | cpu_ms / wall_ms (median) | min–max | × %g | cgroup throttled ms (median) "
              "| verdict (within %g %%) |" % (cpu_max, cpu_t))
        print("|---|---:|---:|---:|---:|---|")
    else:
        print("| tool | children forked | tasks at the stop | × %d | cgroup pids.peak | fork failed with "
              "| verdict (within %g %%) |" % (pids_max, pids_t))
        print("|---|---:|---:|---:|---:|---|---|")
    for tool in tools:
        rs = [r for r in runs if r["tool"] == tool and r["test"] == test]
        fl = [f for f in fails if f["tool"] == tool and f["test"] == test]
        if fl:
            cols = {"mem": 6, "cpu": 5, "pids": 6}[test]
            print("| %s | failed (exit %d) |%s" % (tool, fl[0]["rc"], " — |" * (cols - 1)))
            continue
        if not rs:
            continue
        if test == "mem":
            alloc = []
            killed = 0
            for r in rs:
                kib = last(r"^allocated (\d+) KiB$", r["stdout"])
                alloc.append(int(kib) * 1024 if kib else 0)
                killed += r["rc"] == 137
            ratios = [a / mem_limit for a in alloc]
            peaks = [r["report"]["resources"].get("memory_peak_bytes") if tool == "gbox"
                     and r["report"] and r["report"].get("resources") else r["mem_peak"] for r in rs]
            pk = [p for p in peaks if p is not None]
            pk_ratio = median(pk) / mem_limit if pk else None
            ok = (killed == len(rs) and within(median(ratios), mem_t)
                  and (pk_ratio is None or pk_ratio <= 1 + mem_t / 100))
            print("| %s | %.2f | %.2f–%.2f | %.3f | %s | %d/%d | %s |" % (
                tool, median(alloc) / 2**20, min(alloc) / 2**20, max(alloc) / 2**20,
                median(ratios), "%.3f" % pk_ratio if pk_ratio else "—", killed, len(rs),
                verdict(ok)))
        elif test == "cpu":
            share = [int(last(r"^cpu_ms (\d+)$", r["stdout"])) / int(last(r"^wall_ms (\d+)$", r["stdout"]))
                     for r in rs]
            thr = [r["report"]["resources"].get("cpu_throttled_ms") for r in rs
                   if tool == "gbox" and r["report"] and r["report"].get("resources")]
            thr = [t for t in thr if t is not None]
            m = median(share)
            print("| %s | %.3f | %.3f–%.3f | %.3f | %s | %s |" % (
                tool, m, min(share), max(share), m / cpu_max,
                "%.0f" % median(thr) if thr else "—", verdict(within(m / cpu_max, cpu_t))))
        else:
            # gbox: its init (pid 1) and the probe hold two tasks; crun/runc: the probe is pid 1.
            extra = 2 if tool == "gbox" else 1
            forked = [int(last(r"^forked (\d+)$", r["stdout"])) for r in rs]
            tasks = [f + extra for f in forked]
            pp = [r["report"]["resources"].get("pids_peak") if tool == "gbox" and r["report"]
                  and r["report"].get("resources") else r["pids_peak"] for r in rs]
            pp = [p for p in pp if p is not None]
            ok = all(within(t / pids_max, pids_t) for t in tasks)
            rng = lambda v: "%d" % v[0] if min(v) == max(v) else "%d–%d" % (min(v), max(v))
            errs = {}
            for r in rs:
                e = last(r"^errno (\w+)", r["stdout"]) or "no error"
                errs[e] = errs.get(e, 0) + 1
            print("| %s | %s | %s | %.3f | %s | %s | %s |" % (
                tool, rng(sorted(forked)), rng(sorted(tasks)), median(tasks) / pids_max,
                rng(sorted(pp)) if pp else "—",
                ", ".join("%s %d/%d" % (e, k, len(rs)) for e, k in sorted(errs.items())), verdict(ok)))
    cols = {"mem": 6, "cpu": 5, "pids": 6}[test]
    print("| bwrap | no cgroup limits |%s" % (" — |" * (cols - 1)))

def cost(results, pairs):
    with open(results) as f:
        cols = {c["name"]: c for c in json.load(f)["columns"]}
    def med(name):
        c = cols.get(name)
        if not c or c.get("failed") or not c.get("samples_ns"):
            return None
        return median(c["samples_ns"]) / 1e6
    print("| tool, path | with limits, ms | without, ms | cost, ms | × without |")
    print("|---|---:|---:|---:|---:|")
    for pair in pairs.split(";"):
        label, a, b = pair.split("|")
        ma, mb = med(a), med(b)
        if ma is None or mb is None:
            print("| %s | — | — | — | — |" % label)
        else:
            print("| %s | %.2f | %.2f | %+.2f | %.2f |" % (label, ma, mb, ma - mb, ma / mb))

def failures(path):
    bad = load(path)
    for f in bad:
        print("%s, %s: round %d of `%s` exited with status %d; its stdout and stderr:" %
              (f["tool"], f["test"], f["round"], f["cmd"], f["rc"]))
        for l in ((f["stdout"] + f["stderr"]).rstrip("\n") or "(empty)").split("\n")[-20:]:
            print("    " + l)
    sys.exit(1 if bad else 0)

cmd, args = sys.argv[1], sys.argv[2:]
{"enforcement": enforcement, "cost": cost, "failures": failures}[cmd](*args)
PYTHON
)" "$@"
}

table() { # TEST
    limits_py enforcement "$runs" "$failures" "${tools[*]}" "$1" "$n" "$MEM_LIMIT" "$CPU_MAX" \
        "$PIDS_MAX" "$MEM_TARGET" "$CPU_TARGET" "$PIDS_TARGET" "$bwrap_note"
}

pairs=""
if [ "$have_gbox" -eq 1 ]; then
    pairs+="gbox, $layout_host (host)|gbox $layout_host, limits|gbox $layout_host, no limits;"
    [ -z "$LEGACY_NS" ] ||
        pairs+="gbox, $layout_legacy (cgroup2 unmounted)|gbox $layout_legacy, limits|gbox $layout_legacy, no limits;"
fi
[ "$have_crun" -eq 0 ] || pairs+="crun (cgroups either way)|crun, resources|crun, no resources;"
[ "$have_runc" -eq 0 ] || pairs+="runc (cgroups either way)|runc, resources|runc, no resources;"
pairs=${pairs%;}

bench_sysinfo
elapsed=$((SECONDS - started))
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
oci_cfg="\`crun spec\` with \`terminal\` false, a read-only root at the image used in place"
report=$work/report.md
{
    echo "## Limits: enforcement accuracy and the start-up cost of cgroups"
    echo
    echo "What a probe inside each sandbox could do against a limit, over $n rounds (each round runs"
    echo "gbox, crun and runc in turn), and what the cgroups cost at start-up."
    echo "Measured $BENCH_DATE on Linux $BENCH_KERNEL, $BENCH_CPU ($BENCH_CORES cores); the script"
    echo "took ${elapsed} s; load average $load_start at the start, $load_end at the end. Targets are"
    echo "informational: PASS/MISS is reported, never asserted."
    echo "bwrap: $bwrap_note."
    echo
    echo "### Memory: a hog under a 64 MiB limit"
    echo
    echo "\`${WL_MEM[*]}\` (touches 1 MiB chunks page by page, printing progress every"
    echo "64 KiB) under gbox \`resources.memory.max \"64M\"\`, \`memory.swap \"0\"\` and OCI"
    echo "\`linux.resources.memory\` limit = swap = $MEM_LIMIT. \"Allocated at the kill\" is the last"
    echo "progress line the probe printed before the OOM kill; \"cgroup peak\" is gbox's"
    echo "\`.resources.memory_peak_bytes\` and, for crun and runc, the peak of a parent cgroup the"
    echo "script creates around the container's (\`cgroupsPath\` /PARENT/ctr; the runtime removes the"
    echo "container's own cgroup on exit). That parent is also charged the container cgroup's own"
    echo "kernel structures ($memcg_cost: what an empty child cgroup costs its parent, measured by the"
    echo "script), so for crun and runc the peak reads that much above the limit. PASS: killed every"
    echo "time, allocated within $MEM_TARGET % of the limit (median) and the peak not above it by more"
    echo "than that."
    echo
    table mem
    echo
    echo "### CPU: a spinner under a 0.5 CPU quota"
    echo
    echo "\`${WL_CPU[*]}\`: the probe's own CPU time over its wall time, under gbox"
    echo "\`resources.cpu.max $CPU_MAX\` and OCI \`linux.resources.cpu\` quota 50000 / period 100000. Both"
    echo "also get the top CPU weight (gbox \`cpu.weight $CPU_WEIGHT\`, OCI \`shares\` $((CPU_WEIGHT * 1024 / 100)), the same"
    echo "v1 \`cpu.shares\`): without it other work on the host takes CPU the quota would allow, and the"
    echo "share falls below the quota by however busy the machine is, not by how the limit is enforced."
    echo "crun's and runc's cgroup sits at the top of the hierarchy (\`cgroupsPath\` /NAME), level with"
    echo "gbox's: below a parent of the default weight, as in the memory and pids tests, a busy host"
    echo "took up to 40 % of their share in a trial run."
    echo "The ${CPU_SECONDS} s window holds $((CPU_SECONDS * 10)) periods: where in a period the probe starts moves its share by up"
    echo "to one period's quota ($(awk -v s="$CPU_SECONDS" 'BEGIN { printf "%.1f", 5 / s }') %). PASS: the median within $CPU_TARGET % of $CPU_MAX."
    echo
    table cpu
    echo
    echo "### pids: a fork bomb under pids.max $PIDS_MAX"
    echo
    echo "\`${WL_PIDS[*]}\` forks until fork fails (pids.max makes it fail with EAGAIN). Tasks at the"
    echo "stop are what the cgroup holds: in gbox its init (pid 1), the probe and the children; in crun and runc the"
    echo "probe (pid 1) and the children. \`pids.peak\` is gbox's \`.resources.pids_peak\` and the"
    echo "parent cgroup's peak for crun and runc. PASS: exactly $PIDS_MAX in every round."
    echo
    table pids
    echo
    echo "### Start-up cost of cgroups"
    echo
    echo "One run of \`/bin/true\`, spawn to reap, $starts runs per column interleaved round-robin after"
    echo "$warmup warm-up rounds (the harness of start.sh). gbox \"limits\" is the base policy's"
    echo "defaults ($gbox_limits_desc);"
    echo "\"no limits\" sets all four to null, and then gbox creates no cgroup at all. crun and runc"
    echo "\"resources\" is the same limits as an OCI"
    echo "resources section (memory = swap 512M, cpu quota = period 100000, pids 256); without one they"
    echo "still create and join their cgroups, so their difference is the cost of writing the limits."
    echo
    limits_py cost "$results" "$pairs"
    echo
    if awk -v l="${load_start%% *}" -v e="${load_end%% *}" -v c="$BENCH_CORES" 'BEGIN { exit !(l > c || e > c) }'; then
        echo "The load average (above) exceeded the $BENCH_CORES cores during this run: every run queues for a"
        echo "CPU, the medians grow several-fold and wander by more than what cgroups cost, so a cost of a"
        echo "few ms here is noise (compare it with the p90 − median spread below); rerun on a quiet machine."
        echo
    fi
    bench_table "$results"
    echo
    cat "$notes"
    echo "- A v1 cgroup move done by another process (crun and runc move the container's init) costs"
    echo "  one RCU grace period (~10 ms on these machines) in the kernel's threadgroup rwsem; gbox's child joins"
    echo "  its v1 cgroups itself, a single thread writing \"0\" to each \`tasks\` file, which skips it"
    echo "  (docs/architecture.md, \"Cgroups as built\")."
    echo
    echo "Command: \`$invocation\`"
    echo
    echo "Enforcement commands (OCI bundles: $oci_cfg, the workload as args, the resources above):"
    echo
    echo "- gbox: \`$GBOX run --policy P --report R --in-image ARGS\`, P the merged base policy"
    echo "  (\`gbox policy show base\`) with memory.max, memory.swap, cpu.max and pids.max null except"
    echo "  the one measured"
    if [ "$have_crun" -eq 1 ]; then
        echo "- crun: \`crun run --bundle B ID\`${crun_label:+ — $crun_label}"
    fi
    [ "$have_runc" -eq 0 ] || echo "- runc: \`runc run --bundle B ID\`"
    echo
    echo "Timed start-up commands (\`{i}\` is the run number; bundles: $oci_cfg, args \`/bin/true\`):"
    echo
    bench_commands "$results"
    echo
    (IFS=,; echo "Versions: ${versions[*]}." | sed 's/,/, /g')
} >"$report"
cat "$report"

bad=0
if ! limits_py failures "$failures" >&2; then bad=1; fi
if ! bench_failures "$results" >&2; then bad=1; fi
if [ "$bad" -eq 1 ]; then
    bench_log "not all tools ran; see above"
    [ "$write" -eq 0 ] || bench_log "not writing $doc"
    exit 1
fi
if [ "$write" -eq 1 ]; then
    bench_doc_section "$doc" limits.sh "$report"
    bench_log "wrote the limits.sh section of $doc"
fi
bench_log "done in $((SECONDS - started)) s"
