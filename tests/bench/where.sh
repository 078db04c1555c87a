#!/usr/bin/env bash
# where.sh — where a cold `gbox run` spends its time: a timeline of one start from the kernel's
# own clock, and what the start waits for.
#
# Two passes over N runs of `true` under server_application (network.mode loopback, as start.sh):
#   1. uprobes on gbox's launch functions plus scheduler and syscall tracepoints (perf probe,
#      perf record -a): per event, the median time since the parent's execve, for the parent
#      (P), the sandbox's init (C) and the program (prog);
#   2. off-CPU: every sched_switch of a gbox process that blocks, with its kernel stack; the time
#      until it runs again, summed per stack and divided by N (what a start waits for, and where:
#      an RCU grace period, a lock, the other process).
# The probes slow every event down by a few microseconds; read the shape, and compare stages
# within one run. perf comes from Debian's linux-perf (scripts/install-deps.sh --bench).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<EOF
usage: tests/bench/where.sh [-n N] [--write [--doc FILE]]

  -n N       runs per pass (default 30)
  --write    also replace the where.sh section of the doc file
  --doc FILE the doc file (default docs/benchmarks.md)

Environment: GBOX (default build/gbox). Needs root and perf.
EOF
}

n=30
write=0
doc=docs/benchmarks.md
while [ $# -gt 0 ]; do
    case $1 in
    -n) n=${2:?-n needs a number}; shift 2 ;;
    --write) write=1; shift ;;
    --doc) doc=${2:?--doc needs a file}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
case $n in '' | *[!0-9]* | 0) bench_die "-n: expected a positive number, got '$n'" ;; esac
bench_require_root
bench_require perf python3
cd "$BENCH_ROOT"
gbox=${GBOX:-build/gbox}
[ -x "$gbox" ] || bench_die "$gbox is not built (make)"

work=$(mktemp -d /tmp/gbox-bench-where.XXXXXX)
# A copy of its own: the probes attach to this file, and its processes have a name of their own
# (other gbox processes on the machine stay out of the numbers). Next to the original, where it
# finds the images.
bin=$(dirname "$gbox")/gbox-where
group=gboxwhere
cleanup() {
    perf probe -q -d "$group:*" >/dev/null 2>&1 || true
    rm -f "$bin"
    rm -rf "$work"
}
trap cleanup EXIT
cp "$gbox" "$bin"
policy=$work/server_application-loopback.json
printf '{"version": 1, "extends": "%s/policies/server_application.json", "network": {"mode": "loopback"}}\n' \
    "$BENCH_ROOT" >"$policy"
"$bin" run --policy "$policy" --in-image /bin/true || bench_die "$bin run failed"

funcs=(main policy_load plan_build sbx_run sbx_cgroup_plan sbx_cgroup_from_parent sbx_userns_from_parent
    sbx_cgroup_in_child sbx_mount_open_sources sbx_net_in_child sbx_mount_in_child sbx_caps_bounding_in_child
    sbx_seccomp_in_child sbx_init_run sbx_cgroup_release report_build)
for f in "${funcs[@]}"; do
    perf probe -q -f -x "$bin" --add "$group:$f=$f" >/dev/null 2>&1 || bench_log "no probe on $f (inlined?)"
done
perf probe -q -f -x "$bin" --add "$group:sbx_run_return=sbx_run%return" >/dev/null 2>&1 || true

loop="for i in \$(seq $n); do $(bench_quote "$bin" run --policy "$policy" --in-image /bin/true) || exit 1; done"
bench_log "pass 1: timeline, $n runs"
perf record -q -a -o "$work/timeline.data" -e "$group:*" -e sched:sched_process_exec -e sched:sched_process_exit \
    -e syscalls:sys_exit_wait4 -e syscalls:sys_enter_clone3 -e syscalls:sys_exit_clone3 \
    -e syscalls:sys_enter_unshare -e syscalls:sys_exit_unshare -e syscalls:sys_enter_pivot_root \
    -e syscalls:sys_enter_clone -- bash -c "$loop" >"$work/perf1.log" 2>&1 || { cat "$work/perf1.log" >&2; bench_die "perf record failed (pass 1)"; }
perf script -i "$work/timeline.data" -F comm,pid,time,event >"$work/timeline.txt" 2>/dev/null
bench_log "pass 2: off-CPU, $n runs"
perf record -q -a -g -o "$work/offcpu.data" -e sched:sched_switch -- bash -c "$loop" >"$work/perf2.log" 2>&1 ||
    { cat "$work/perf2.log" >&2; bench_die "perf record failed (pass 2)"; }
perf script -i "$work/offcpu.data" >"$work/offcpu.txt" 2>/dev/null
load=$(cut -d' ' -f1-3 /proc/loadavg)
bench_sysinfo

out=$work/section.md
python3 - "$work/timeline.txt" "$work/offcpu.txt" "$n" "$group" "$(basename "$bin" | cut -c1-15)" >"$out" <<'PYTHON'
import collections, re, statistics, sys
timeline, offcpu, n, group, comm = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]

# pass 1: runs start at the parent's execve
runs, cur = [], None
for line in open(timeline):
    p = line.split()
    if len(p) < 4:
        continue
    who, pid, t, ev = p[0], int(p[1]), float(p[2].rstrip(':')), p[3].rstrip(':')
    if who == comm and ev == 'sched:sched_process_exec':
        cur = {'pid': pid, 'ev': []}
        runs.append(cur)
    if cur is not None:
        cur['ev'].append((t, who, pid, ev))
agg = collections.defaultdict(list)
for r in runs[1:]:  # the first run fills the caches
    t0, seen = r['ev'][0][0], collections.Counter()
    for t, who, pid, ev in r['ev']:
        side = 'P' if pid == r['pid'] else ('C' if who == comm else 'prog')
        ev = ev.replace(group + ':', '').replace('syscalls:', '').replace('sched:', '')
        key = f'{side} {ev}'
        seen[key] += 1
        if seen[key] > 1:
            key += f' #{seen[key]}'
        agg[key].append((t - t0) * 1000)
done = max(1, len(runs) - 1)
print('## Where a cold start spends its time (where.sh)')
print()
print(f'{n} runs of `true` under server_application (network.mode loopback) per pass; the medians of')
print('the time since the parent\'s execve of each event, P the parent (`gbox run`), C the child that')
print('becomes the sandbox\'s init, prog the program. Uprobes add a few microseconds to each event.')
print()
print('| ms since execve | process | event |')
print('|---:|---|---|')
for k, v in sorted(agg.items(), key=lambda kv: statistics.median(kv[1])):
    if len(v) >= 0.8 * done:
        side, ev = k.split(' ', 1)
        print(f'| {statistics.median(v):.3f} | {side} | `{ev}` |')
print()

# pass 2: blocked time per kernel stack
evs, e = [], None
for line in open(offcpu):
    if not line.strip():
        if e:
            evs.append(e)
        e = None
        continue
    if not line[0].isspace():
        m = re.search(r'\s([\d.]+): sched:sched_switch: prev_comm=(.*?) prev_pid=(\d+) prev_prio=\d+ '
                      r'prev_state=(\S+) ==> next_comm=(.*?) next_pid=(\d+)', line)
        e = {'t': float(m.group(1)), 'comm': m.group(2), 'prev': int(m.group(3)), 'state': m.group(4),
             'next': int(m.group(6)), 'stack': []} if m else None
    elif e is not None:
        f = line.split()
        if len(f) >= 2:
            e['stack'].append(f[1].split('+')[0])
if e:
    evs.append(e)
skip = {'__traceiter_sched_switch', '__schedule', 'schedule', '[unknown]', 'schedule_preempt_disabled'}
away, total, count = {}, collections.defaultdict(float), collections.Counter()
for e in evs:
    if e['next'] in away:
        t0, key = away.pop(e['next'])
        total[key] += (e['t'] - t0) * 1000
        count[key] += 1
    if e['comm'] == comm and not e['state'].startswith('R'):
        st = [s for s in e['stack'] if s not in skip]
        away[e['prev']] = (e['t'], ' < '.join(st[:4]))
print('What the start waits for (off-CPU, blocked gbox processes: the parent and the init):')
print()
print('| ms per run | times per run | kernel stack where it blocked |')
print('|---:|---:|---|')
for k, v in sorted(total.items(), key=lambda kv: -kv[1])[:12]:
    if v / n >= 0.01:
        print(f'| {v / n:.3f} | {count[k] / n:.1f} | `{k}` |')
PYTHON
{
    echo
    echo "Measured $BENCH_DATE on Linux $BENCH_KERNEL, $BENCH_CPU ($BENCH_CORES cores); load average $load after."
    echo
    echo "Command: \`tests/bench/where.sh -n $n\`"
} >>"$out"
cat "$out"
if [ "$write" -eq 1 ]; then
    bench_doc_section "$doc" where.sh "$out"
    bench_log "wrote the where.sh section of $doc"
fi
