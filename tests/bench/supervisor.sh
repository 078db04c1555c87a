#!/usr/bin/env bash
# The supervisor at scale: N sandboxes under one `gbox daemon` — spawn rate, the daemon's memory
# and CPU while it supervises them, memory per sandbox, and the latency of its events — next to
# the memory per instance of N long-running bubblewrap, crun and runc sandboxes.
# See tests/bench/README.md. Run as root from anywhere; paths are relative to the repository.
set -euo pipefail

BENCH_NAME=supervisor.sh
# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<EOF
usage: tests/bench/supervisor.sh [-n N] [--peer-n M] [-k K] [--idle S] [--rootfs DIR]
                                 [--write [--doc FILE]]

Starts its own gbox daemon (socket and state in a temporary directory), spawns N (default 1000)
sandboxes running \`probe sleep 600\` (half through one socket connection, half with \`gbox
spawn\`, interleaved), measures the spawn rate, the daemon's memory and CPU while it idles over
them, the memory per sandbox and the latency of the running/exited events, removes them all, then
holds M (default N) \`probe sleep 600\` sandboxes of bubblewrap, crun and runc in turn and
measures their memory per instance. Prints a markdown section.

  -n N          gbox sandboxes held at once
  --peer-n M    bwrap/crun/runc sandboxes held at once (default N)
  -k K          samples per event-latency row (default min(100, N))
  --idle S      seconds of idle supervision for the CPU figure (default 10)
  --rootfs DIR  image root for bwrap, crun and runc (default build/images/base/rootfs)
  --write       also replace the supervisor.sh section of the doc file
  --doc FILE    the doc file (default docs/benchmarks.md)

Environment: GBOX (default build/gbox). Exit status 1 if something failed (nothing is written).
EOF
}

# sup_py measure|render ARGS...: the harness (one python3 process: a client on the daemon's
# socket, the timing, the /proc readings) and the report's tables.
sup_py() {
    python3 -c "$(cat <<'PYTHON'
import ctypes, json, math, os, random, select, signal, socket, subprocess, sys, time

PROG = ["probe", "sleep", "600"]             # gbox: in the image
HOST_PROG = ["/usr/bin/probe", "sleep", "600"]  # bwrap/crun/runc: the same binary of the image
DEVNULL = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
SETTLE = 3.0

def log(msg):
    print("supervisor.sh: " + msg, file=sys.stderr, flush=True)

class Fail(Exception):
    pass

def rt():
    return time.time_ns()  # CLOCK_REALTIME: comparable with the events' "ts" (ms since the epoch)

def median(v):
    s = sorted(v)
    k = len(s)
    return None if not k else (s[k // 2] if k % 2 else (s[k // 2 - 1] + s[k // 2]) / 2)

def p90(v):
    s = sorted(v)
    return s[max(0, math.ceil(0.9 * len(s)) - 1)] if s else None

# ---- /proc ---------------------------------------------------------------------------------

def meminfo():
    d = {}
    with open("/proc/meminfo") as f:
        for l in f:
            k, v = l.split(":", 1)
            d[k] = int(v.split()[0])
    return d

def mem_sample(n=5, gap=0.2):
    """Median of a few reads (kB): MemAvailable, and the kernel objects among it."""
    a, kern = [], []
    for i in range(n):
        m = meminfo()
        a.append(m["MemAvailable"])
        kern.append(m["SUnreclaim"] + m["KernelStack"] + m["PageTables"] + m.get("Percpu", 0))
        if i + 1 < n:
            time.sleep(gap)
    return {"avail": median(a), "kernel": median(kern)}

def rollup(pid):
    """Pss, Rss and private memory (kB) of a process, None if it is gone."""
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            lines = f.read().splitlines()[1:]
    except OSError:
        return None
    d = {}
    for l in lines:
        p = l.split()
        if len(p) >= 2 and p[0].endswith(":"):
            d[p[0][:-1]] = int(p[1])
    return {"pss": d.get("Pss", 0), "rss": d.get("Rss", 0), "anon": d.get("Anonymous", 0),
            "private": d.get("Private_Clean", 0) + d.get("Private_Dirty", 0)}

def vmrss(pid):
    with open("/proc/%d/status" % pid) as f:
        for l in f:
            if l.startswith("VmRSS:"):
                return int(l.split()[1])
    return 0

def cpu_ms(pid):
    """Time on a CPU in ms, from /proc/PID/schedstat (ns, exact; utime and stime are sampled at the
    250 Hz tick and miss most of a 5 ms start-up). The processes measured are single-threaded."""
    with open("/proc/%d/schedstat" % pid) as f:
        return int(f.read().split()[0]) / 1e6

def stat_ms(pid):
    """utime + stime from /proc/PID/stat, in ms (sampled at the clock tick)."""
    with open("/proc/%d/stat" % pid) as f:
        v = f.read().rsplit(")", 1)[1].split()
    return (int(v[11]) + int(v[12])) * 1000 / os.sysconf("SC_CLK_TCK")

def daemon_mem(pid):
    r = rollup(pid)
    return {"rss_kb": vmrss(pid), "pss_kb": r["pss"], "anon_kb": r["anon"]}

def host_cpu():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v[:8]) - idle, sum(v[:8])

def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None

def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []

def tree(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop(0)
        out.append(p)
        todo.extend(children(p))
    return out

def instance_memory(trees):
    """trees: one list of pids per instance. Sum of Pss, and of the program's (comm probe)."""
    tot = prog = priv = procs = 0
    for t in trees:
        for p in t:
            r = rollup(p)
            if r is None:
                raise Fail("process %d vanished while its memory was read" % p)
            tot += r["pss"]
            priv += r["private"]
            procs += 1
            if comm(p) == "probe":
                prog += r["pss"]
    return {"pss_kb": tot, "prog_pss_kb": prog, "private_kb": priv, "procs": procs}

# ---- the daemon's socket ----------------------------------------------------------------------

class Conn:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        self.s.connect(path)
        self.buf = b""
        self.lines = []  # (receive time ns, message)

    def fileno(self):
        return self.s.fileno()

    def send(self, obj):
        self.s.sendall(json.dumps(obj).encode() + b"\n")

    def feed(self):
        d = self.s.recv(1 << 20)
        t = rt()
        if not d:
            raise Fail("the daemon closed the connection")
        *full, self.buf = (self.buf + d).split(b"\n")
        self.lines.extend((t, json.loads(l)) for l in full)

class Daemon:
    """Two connections: ctl for requests, ev following every event. Single-threaded: pump()
    polls both (and a child's pidfd when one runs) and stamps each line when it is received."""

    def __init__(self, path, gbox):
        self.gbox = gbox
        self.ctl = Conn(path)
        self.ev = Conn(path)
        self.events = {}  # id -> type -> (ts ms, received ns, event)
        self.exited = []  # ids, in the order their "exited" arrived
        self.pidfds = {}  # fd -> list set non-empty when it is readable
        self.poll = select.poll()
        self.poll.register(self.ctl.fileno(), select.POLLIN)
        self.poll.register(self.ev.fileno(), select.POLLIN)
        self.ev.send({"op": "events", "follow": True})
        self.ev.s.settimeout(10)
        while not self.ev.lines:
            self.ev.feed()
        self.ev.s.settimeout(None)
        rep = self.ev.lines.pop(0)[1]
        if not rep.get("ok"):
            raise Fail("events --follow: %s" % rep.get("error"))

    def pump(self, timeout):
        for fd, _ in self.poll.poll(max(0, timeout) * 1000):
            if fd == self.ev.fileno():
                self.ev.feed()
                for t, m in self.ev.lines:
                    e = m.get("event")
                    if e and "id" in e:
                        self.events.setdefault(e["id"], {}).setdefault(e["type"], (e["ts"], t, e))
                        if e["type"] == "exited":
                            self.exited.append(e["id"])
                self.ev.lines.clear()
            elif fd == self.ctl.fileno():
                self.ctl.feed()
            elif fd in self.pidfds:
                self.pidfds.pop(fd).append(True)
                self.poll.unregister(fd)

    def wait(self, pred, timeout, what):
        end = time.monotonic() + timeout
        while not pred():
            left = end - time.monotonic()
            if left <= 0:
                raise Fail("timed out after %d s waiting for %s" % (timeout, what))
            self.pump(min(left, 0.5))

    def request(self, obj):
        t0 = rt()
        self.ctl.send(obj)
        self.wait(lambda: self.ctl.lines, 120, "the reply to " + obj["op"])
        t1, rep = self.ctl.lines.pop(0)
        return rep, t0, t1

    def ev_of(self, sid, typ):
        return self.events.get(sid, {}).get(typ)

    def spawn_socket(self):
        rep, t0, t1 = self.request({"op": "spawn", "argv": PROG, "in_image": True})
        if not rep.get("ok"):
            raise Fail("spawn over the socket: %s" % rep.get("error"))
        return rep["id"], t0, t1

    def spawn_cli(self, errfile):
        r, w = os.pipe()
        os.ftruncate(errfile.fileno(), 0)
        os.lseek(errfile.fileno(), 0, os.SEEK_SET)
        acts = [(os.POSIX_SPAWN_DUP2, DEVNULL, 0), (os.POSIX_SPAWN_DUP2, w, 1),
                (os.POSIX_SPAWN_DUP2, errfile.fileno(), 2)]
        argv = [self.gbox, "spawn", "--in-image"] + PROG
        t0 = rt()
        pid = os.posix_spawn(self.gbox, argv, os.environ, file_actions=acts)
        os.close(w)
        fd = os.pidfd_open(pid)
        done = []
        self.pidfds[fd] = done
        self.poll.register(fd, select.POLLIN)
        self.wait(lambda: done, 120, "gbox spawn")
        st = os.waitpid(pid, 0)[1]
        t1 = rt()
        os.close(fd)
        out = os.read(r, 4096).decode().strip()
        os.close(r)
        if os.waitstatus_to_exitcode(st) != 0:
            errfile.seek(0)
            raise Fail("`%s` exited with %d: %s" % (" ".join(argv), os.waitstatus_to_exitcode(st),
                                                     errfile.read().decode(errors="replace").strip()))
        return out, t0, t1

def state_of(statedir, sid):
    p = os.path.join(statedir, "sandboxes", sid, "state.json")
    with open(p) as f:
        st = json.load(f)
    st["mtime_ns"] = os.stat(p).st_mtime_ns
    return st

def program_of(init_pid, timeout=5):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for c in children(init_pid):
            if comm(c) == "probe":
                return c
        time.sleep(0.001)
    raise Fail("no program under the sandbox init %d" % init_pid)

# ---- gbox ----------------------------------------------------------------------------------------

def gbox_phase(R, gbox, dpid, n, k, idle, statedir):
    d = Daemon(os.environ["GBOX_SOCKET"], gbox)
    errfile = open(os.path.join(os.environ["GBOX_STATE_DIR"], "..", "cli.err"), "w+b")
    live = []  # ids that may be running, for the teardown
    cgroups = []
    try:
        time.sleep(1)
        base = mem_sample()
        R["daemon0"] = daemon_mem(dpid)
        # 1. spawn N, alternating one socket request and one `gbox spawn`, each waited for
        log("gbox: spawning %d sandboxes" % n)
        lat = {"socket": [], "cli": []}
        issued = {}
        cpu0 = cpu_ms(dpid)
        t_start = rt()
        for i in range(n):
            if i % 2 == 0:
                sid, t0, t1 = d.spawn_socket()
                lat["socket"].append((t1 - t0) / 1e6)
            else:
                sid, t0, t1 = d.spawn_cli(errfile)
                lat["cli"].append((t1 - t0) / 1e6)
            issued[sid] = t0
            live.append(sid)
            d.pump(0)
            if d.exited:
                s = d.exited[0]
                raise Fail("sandbox %s ended during the spawn burst: %s" % (s, d.ev_of(s, "exited")[2].get("reason")))
            if (i + 1) % 100 == 0:
                log("gbox: %d spawned, %d running" % (i + 1, sum(1 for s in live if d.ev_of(s, "running"))))
        t_issued = rt()

        def all_running():
            if d.exited:
                s = d.exited[0]
                raise Fail("sandbox %s ended before all were running: %s" % (s, d.ev_of(s, "exited")[2].get("reason")))
            return all(d.ev_of(s, "running") for s in live)
        d.wait(all_running, 120 + n * 0.2, "all %d sandboxes to be running" % n)
        t_running = max(d.ev_of(s, "running")[1] for s in live)
        spawn_cpu = cpu_ms(dpid) - cpu0
        states = {s: state_of(statedir, s) for s in live}
        for st in states.values():
            cgroups.extend([st["cgroup_v2"]] + st["cgroup_v1"])
        R["spawn"] = {
            "socket_ms": lat["socket"], "cli_ms": lat["cli"],
            "issued_s": (t_issued - t_start) / 1e9, "running_s": (t_running - t_start) / 1e9,
            "daemon_cpu_ms": spawn_cpu,
            "to_running_ms": [(d.ev_of(s, "running")[1] - issued[s]) / 1e6 for s in live],
            "tick_ms": [d.ev_of(s, "running")[0] - states[s]["mtime_ns"] / 1e6 for s in live],
        }
        log("gbox: %d running after %.1f s; idling %d s" % (n, R["spawn"]["running_s"], idle))
        # 2. idle supervision: the daemon's CPU over the window, then memory
        end = time.monotonic() + SETTLE
        while time.monotonic() < end:
            d.pump(end - time.monotonic())
        procs = {s: (st["shim_pid"], st["init_pid"], program_of(st["init_pid"])) for s, st in states.items()}
        shim_start_cpu = sum(cpu_ms(p[0]) for p in procs.values())
        init_start_cpu = sum(cpu_ms(p[1]) for p in procs.values())
        h0, c0, u0 = host_cpu(), cpu_ms(dpid), stat_ms(dpid)
        s0 = sum(cpu_ms(p[0]) + cpu_ms(p[1]) + cpu_ms(p[2]) for p in procs.values())
        t0 = time.monotonic()
        end = t0 + idle
        while time.monotonic() < end:
            d.pump(end - time.monotonic())
        win = time.monotonic() - t0
        if d.exited:
            s = d.exited[0]
            raise Fail("sandbox %s ended while idle: %s" % (s, d.ev_of(s, "exited")[2].get("reason")))
        h1, c1, u1 = host_cpu(), cpu_ms(dpid), stat_ms(dpid)
        s1 = sum(cpu_ms(p[0]) + cpu_ms(p[1]) + cpu_ms(p[2]) for p in procs.values())
        after = mem_sample()
        mem = instance_memory([list(p) for p in procs.values()])
        R["idle"] = {
            "window_s": win, "daemon_cpu_ms": c1 - c0, "daemon_stat_ms": u1 - u0, "sandboxes_cpu_ms": s1 - s0,
            "host_busy": (h1[0] - h0[0]) / (h1[1] - h0[1]),
            "daemon": daemon_mem(dpid),
            "shim_start_cpu_ms": shim_start_cpu / n, "init_start_cpu_ms": init_start_cpu / n,
            "shim_pss_kb": sum(rollup(p[0])["pss"] for p in procs.values()) / n,
            "init_pss_kb": sum(rollup(p[1])["pss"] for p in procs.values()) / n,
        }
        R["mem"]["gbox"] = dict(mem, instances=n, procs_each=mem["procs"] / n,
                                avail_drop_kb=base["avail"] - after["avail"],
                                kernel_drop_kb=after["kernel"] - base["kernel"])
        # requests that walk every sandbox
        rep, t0, t1 = d.request({"op": "ps"})
        R["api"] = {"ps_ms": (t1 - t0) / 1e6, "ps_kb": len(json.dumps(rep)) / 1024}
        rep, t0, t1 = d.request({"op": "metrics"})
        R["api"].update(metrics_ms=(t1 - t0) / 1e6, metrics_kb=len(rep.get("text", "")) / 1024)
        # 3. event latency, with N sandboxes supervised
        log("gbox: event latency, %d single spawns and kills, then %d kill requests" % (k, k))
        L = {"prog_to_recv": [], "emit_to_recv": [], "kill_to_recv": [], "kill_ack": [],
             "spawn_to_running": [], "tick": []}
        for i in range(k):
            # a random phase against the daemon's 200 ms tick: without it this loop, which
            # starts right after an event of the previous tick, would lock onto it
            end = time.monotonic() + random.uniform(0, 0.2)
            while time.monotonic() < end:
                d.pump(end - time.monotonic())
            sid, t0, _ = d.spawn_socket()
            live.append(sid)
            d.wait(lambda: d.ev_of(sid, "running") or d.ev_of(sid, "exited"), 60, "running of " + sid)
            if d.ev_of(sid, "exited"):
                raise Fail("sandbox %s ended at once: %s" % (sid, d.ev_of(sid, "exited")[2].get("reason")))
            ts, recv, ev = d.ev_of(sid, "running")
            st = state_of(statedir, sid)
            cgroups.extend([st["cgroup_v2"]] + st["cgroup_v1"])
            L["spawn_to_running"].append((recv - t0) / 1e6)
            L["tick"].append(ts - st["mtime_ns"] / 1e6)
            prog = program_of(ev["init_pid"])
            t_kill = rt()
            os.kill(prog, signal.SIGKILL)
            d.wait(lambda: d.ev_of(sid, "exited"), 60, "exited of " + sid)
            ts, recv, _ = d.ev_of(sid, "exited")
            L["prog_to_recv"].append((recv - t_kill) / 1e6)
            L["emit_to_recv"].append(recv / 1e6 - ts)
        fleet = list(procs)
        for sid in fleet[:k]:
            rep, t0, t1 = d.request({"op": "kill", "id": sid})
            if not rep.get("ok"):
                raise Fail("kill %s: %s" % (sid, rep.get("error")))
            d.wait(lambda: d.ev_of(sid, "exited"), 60, "exited of " + sid)
            ts, recv, _ = d.ev_of(sid, "exited")
            L["kill_ack"].append((t1 - t0) / 1e6)
            L["kill_to_recv"].append((recv - t0) / 1e6)
            L["emit_to_recv"].append(recv / 1e6 - ts)
        R["lat"] = L
        rest = fleet[k:]
        if rest:
            log("gbox: killing the other %d at once" % len(rest))
            t0 = rt()
            for sid in rest:
                d.ctl.send({"op": "kill", "id": sid})
            d.wait(lambda: len(d.ctl.lines) >= len(rest), 120, "the kill replies")
            bad = [m for _, m in d.ctl.lines if not m.get("ok")]
            d.ctl.lines.clear()
            if bad:
                raise Fail("kill: %s" % bad[0].get("error"))
            d.wait(lambda: all(d.ev_of(s, "exited") for s in rest), 300, "every sandbox to end")
            R["teardown"] = {"count": len(rest), "s": (max(d.ev_of(s, "exited")[1] for s in rest) - t0) / 1e9}
    finally:
        teardown(d, live)
    # nothing left behind: the shims removed their cgroups
    end = time.monotonic() + 10
    while time.monotonic() < end and any(os.path.exists(c) for c in cgroups):
        time.sleep(0.1)
    left = [c for c in cgroups if os.path.exists(c)]
    R["leftover_cgroups"] = len(left)
    if left:
        raise Fail("%d cgroups of ended sandboxes are still there, e.g. %s" % (len(left), left[0]))
    R["daemon_after"] = daemon_mem(dpid)

def teardown(d, ids):
    """Kill whatever of ids still runs, wait for its end, remove every record."""
    d.pump(0)
    running = [s for s in ids if not d.ev_of(s, "exited")]
    if running:
        log("gbox: killing %d sandboxes still running" % len(running))
        d.wait(lambda: all(d.ev_of(s, "running") or d.ev_of(s, "exited") for s in running), 60,
               "the starting sandboxes")
        for s in running:
            d.ctl.send({"op": "kill", "id": s})
        d.wait(lambda: len(d.ctl.lines) >= len(running), 120, "the kill replies")
        d.ctl.lines.clear()
        d.wait(lambda: all(d.ev_of(s, "exited") for s in running), 300, "every sandbox to end")
    for s in ids:
        d.ctl.send({"op": "rm", "id": s})
    d.wait(lambda: len(d.ctl.lines) >= len(ids), 120, "the rm replies")
    bad = [m for _, m in d.ctl.lines if not m.get("ok")]
    d.ctl.lines.clear()
    if bad:
        raise Fail("rm: %s" % bad[0].get("error"))

# ---- peers ------------------------------------------------------------------------------------

def settle_and_measure(trees, base, m):
    time.sleep(SETTLE)
    after = mem_sample()
    mem = instance_memory(trees)
    return dict(mem, instances=m, procs_each=mem["procs"] / m, avail_drop_kb=base["avail"] - after["avail"],
                kernel_drop_kb=after["kernel"] - base["kernel"])

def peer_bwrap(m, rootfs, work):
    argv = ["bwrap", "--unshare-all", "--ro-bind", rootfs, "/", "--proc", "/proc", "--dev", "/dev"] + HOST_PROG
    err = open(os.path.join(work, "bwrap.err"), "w+b")
    pids = []
    base = mem_sample()
    try:
        with open(os.path.join(work, "bwrap.pids"), "w") as pf:
            for i in range(m):
                pid = os.posix_spawnp("bwrap", argv, os.environ, file_actions=[
                    (os.POSIX_SPAWN_DUP2, DEVNULL, 0), (os.POSIX_SPAWN_DUP2, DEVNULL, 1),
                    (os.POSIX_SPAWN_DUP2, err.fileno(), 2)])
                pids.append(pid)
                pf.write("%d\n" % pid)
                pf.flush()
                end = time.monotonic() + 10
                while not any(comm(p) == "probe" for p in tree(pid)):
                    if os.waitpid(pid, os.WNOHANG)[0] or time.monotonic() > end:
                        err.seek(0)
                        raise Fail("bwrap %d did not run the program: %s" % (i + 1, err.read().decode(errors="replace").strip()))
                    time.sleep(0.001)
        return settle_and_measure([tree(p) for p in pids], base, m), "`%s &`" % " ".join(argv)
    finally:
        for p in pids:
            for q in reversed(tree(p)):
                try:
                    os.kill(q, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for p in pids:
            try:
                os.waitpid(p, 0)
            except ChildProcessError:
                pass

def peer_oci(rtname, m, ns, bundle, root, prefix):
    pre = ["nsenter", "--mount=" + ns, "--"] if ns else []
    err = open(os.path.join(root + ".err"), "w+b")
    def run(*args, check=True, capture=False):
        # never a pipe the container could inherit: `run -d` would never reach EOF on it
        err.seek(0)
        err.truncate()
        p = subprocess.run(pre + [rtname, "--root", root] + list(args), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE if capture else subprocess.DEVNULL, stderr=err)
        if check and p.returncode != 0:
            err.seek(0)
            raise Fail("`%s %s` exited with %d: %s" % (rtname, " ".join(args), p.returncode,
                                                         err.read().decode(errors="replace").strip()))
        return p
    def reap():
        got = set()
        while True:
            try:
                pid = os.waitpid(-1, os.WNOHANG)[0]
            except ChildProcessError:
                return got
            if not pid:
                return got
            got.add(pid)
    libc = ctypes.CDLL(None, use_errno=True)
    # PR_SET_CHILD_SUBREAPER: the detached containers (and crun's intermediate processes) become
    # our children, so we reap them instead of leaving it to whatever pid 1 is
    libc.prctl(36, 1, 0, 0, 0)
    ids, pids = [], []
    base = mem_sample()
    try:
        for i in range(m):
            cid = "%s%s-%d" % (prefix, rtname, i + 1)
            ids.append(cid)
            run("run", "-d", "--bundle", bundle, cid)
            pids.append(json.loads(run("state", cid, capture=True).stdout)["pid"])
            reap()
        return settle_and_measure([tree(p) for p in pids], base, m), \
            "`%s --root R run -d --bundle B ID`, then `%s --root R state ID` for the pid%s" % (rtname, rtname, \
            (" (through `nsenter --mount`, in the private mount namespace where /sys/fs/cgroup/unified/"
             "cgroup.controllers is covered by /dev/null: crun 1.8 refuses hybrid cgroup hosts otherwise)") if ns else "")
    finally:
        for cid in ids:
            run("kill", cid, "KILL", check=False)
        end = time.monotonic() + 30
        left = set(pids)
        while left and time.monotonic() < end:
            left -= reap()
            time.sleep(0.01)
        for cid in ids:
            if run("delete", cid, check=False).returncode != 0:
                run("delete", "-f", cid, check=False)
        libc.prctl(36, 0, 0, 0, 0)

# ---- main -------------------------------------------------------------------------------------

def measure(out, gbox, dpid, n, k, idle, peer_n, rootfs, bundle, work, prefix, *peers):
    dpid, n, k, idle, peer_n = int(dpid), int(n), int(k), int(idle), int(peer_n)
    def interrupted(*_):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, interrupted)
    R = {"n": n, "k": k, "peer_n": peer_n, "mem": {}, "failures": [], "commands": {}}
    try:
        gbox_phase(R, gbox, dpid, n, k, idle, os.environ["GBOX_STATE_DIR"])
    except Fail as e:
        R["failures"].append("gbox: %s" % e)
        log("gbox: %s" % e)
    for spec in peers:
        name, ns = spec.split("=", 1)
        if ns == "-":
            R["mem"][name] = {"absent": "not installed"}
            continue
        if peer_n == 0:
            R["mem"][name] = {"absent": "not run (--peer-n 0)"}
            continue
        time.sleep(2)
        log("%s: holding %d sandboxes" % (name, peer_n))
        try:
            if name == "bwrap":
                R["mem"][name], R["commands"][name] = peer_bwrap(peer_n, rootfs, work)
            else:
                R["mem"][name], R["commands"][name] = peer_oci(name, peer_n, ns, bundle,
                                                               os.path.join(work, name), prefix)
        except Fail as e:
            R["mem"][name] = {"absent": "failed"}
            R["failures"].append("%s: %s" % (name, e))
            log("%s: %s" % (name, e))
    with open(out, "w") as f:
        json.dump(R, f)
    sys.exit(1 if R["failures"] else 0)

# ---- report -----------------------------------------------------------------------------------

def kib(v):
    return "%.0f" % v

def mib(kb):
    return "%.1f MiB" % (kb / 1024)

def ratio(a, b):
    return "%.2f" % (a / b) if a > 0 and b > 0 else "—"

def render(path):
    with open(path) as f:
        R = json.load(f)
    n, k = R["n"], R["k"]
    S, I = R.get("spawn"), R.get("idle")
    if S:
        print("### Spawn rate")
        print()
        print("%d spawns, one after the other, alternating a request on one socket connection (a JSON" % n)
        print("line, then its reply) and a `gbox spawn --in-image probe sleep 600` process (started with")
        print("`posix_spawn`, timed to its reap); the shims start in the background meanwhile.")
        print()
        print("| client | spawns | median ms | p90 ms | back to back |")
        print("|---|---:|---:|---:|---:|")
        for name, key in (("socket, one connection", "socket_ms"), ("`gbox spawn`, a process each", "cli_ms")):
            v = S[key]
            if v:
                print("| %s | %d | %.1f | %.1f | %.0f spawns/s |" % (name, len(v), median(v), p90(v), len(v) / (sum(v) / 1e3)))
        print()
        print("- all %d issued after %.1f s (%.0f spawns/s acknowledged); all `running` after %.1f s:" %
              (n, S["issued_s"], n / S["issued_s"], S["running_s"]))
        print("  **%.0f sandboxes/s from the first request to the last `running` event**." % (n / S["running_s"]))
        print("- spawn request → `running` received, during the burst: median %.0f ms, p90 %.0f ms." %
              (median(S["to_running_ms"]), p90(S["to_running_ms"])))
        if I:
            print("- CPU time per sandbox start (`/proc/PID/schedstat`): the daemon %.1f ms, the shim %.1f ms," %
                  (S["daemon_cpu_ms"] / n, I["shim_start_cpu_ms"]))
            print("  the sandbox's init %.1f ms." % I["init_start_cpu_ms"])
        print()
    if I:
        d0, dn = R["daemon0"], I["daemon"]
        print("### %d sandboxes supervised" % n)
        print()
        print("| the daemon | no sandboxes | %d running | per sandbox |" % n)
        print("|---|---:|---:|---:|")
        for name, key in (("VmRSS", "rss_kb"), ("anonymous (heap, stack)", "anon_kb"), ("Pss", "pss_kb")):
            print("| %s | %s | %s | %.1f KiB |" % (name, mib(d0[key]), mib(dn[key]), (dn[key] - d0[key]) / n))
        cpu = I["daemon_cpu_ms"] / I["window_s"]
        print("| CPU while idle, %.0f s (schedstat) | — | %.2f ms/s (%.2f %% of a core) | %.2f µs/s |" %
              (I["window_s"], cpu, cpu / 10, cpu * 1000 / n))
        cpu = I["daemon_stat_ms"] / I["window_s"]
        print("| same, utime + stime | — | %.2f ms/s | %.2f µs/s |" % (cpu, cpu * 1000 / n))
        print()
        print("- The daemon's Pss falls as sandboxes come: the shims and inits map the same static `gbox`")
        print("  binary, so its shared pages are split %d ways; its own growth is the anonymous line." % (2 * n + 1))
        print("- The %d sandboxes themselves (shims, inits, programs) used %.0f ms of CPU in that window;" %
              (n, I["sandboxes_cpu_ms"]))
        print("  the host was %.0f %% busy meanwhile (other jobs)." % (100 * I["host_busy"]))
        A = R.get("api")
        if A:
            print("- With %d sandboxes, `ps` answers in %.0f ms (%.0f KiB) and `metrics` (which reads every" % (n, A["ps_ms"], A["ps_kb"]))
            print("  sandbox's cgroup files) in %.0f ms (%.0f KiB)." % (A["metrics_ms"], A["metrics_kb"]))
        da = R.get("daemon_after")
        if da:
            print("- After all of them were killed and removed: VmRSS %s, anonymous %s." % (mib(da["rss_kb"]), mib(da["anon_kb"])))
        if "leftover_cgroups" in R:
            print("- cgroups left behind by the %d + %d sandboxes: %d." % (n, k, R["leftover_cgroups"]))
        print()
    M = R["mem"]
    if M:
        print("### Memory per instance, %d gbox sandboxes held at once, %d of each peer" % (n, R["peer_n"]))
        print()
        print("Pss summed over every process of an instance (`/proc/PID/smaps_rollup`): gbox = shim +")
        print("sandbox init + program; bwrap = bwrap + its pid-1 bwrap + program; crun, runc = the")
        print("program alone (they exit after `run -d`: no supervisor; crun's would be conmon, not installed).")
        print("Every tool runs the same static `/usr/bin/probe sleep 600` of the base image. \"Kernel\" is")
        print("the growth of SUnreclaim + KernelStack + PageTables + Percpu in `/proc/meminfo` from before")
        print("the first instance to after the last (medians of 5 reads): namespaces, mounts, cgroups,")
        print("tasks, page tables. \"MemAvailable drop\" is the fall of MemAvailable over the same span, a")
        print("cross-check that includes everything and, on this shared machine, the other jobs' churn")
        print("(it can even come out negative). All per instance.")
        print()
        G = M.get("gbox") if "pss_kb" in M.get("gbox", {}) else None
        def per(m):
            c = m["instances"]
            return m["pss_kb"] / c, m["kernel_drop_kb"] / c, m["avail_drop_kb"] / c
        print("| tool | instances | processes each | Pss KiB | of which the program | kernel KiB | Pss + kernel KiB | MemAvailable drop KiB | gbox ÷ tool: Pss | Pss + kernel | MemAvailable |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for name in ("gbox", "bwrap", "crun", "runc"):
            m = M.get(name)
            if m is None:
                continue
            if "absent" in m:
                print("| %s | %s |%s" % (name, m["absent"], " — |" * 9))
                continue
            pss, kern, drop = per(m)
            r = ["—"] * 3
            if G:
                gp, gk, gd = per(G)
                r = [ratio(gp, pss), ratio(gp + gk, pss + kern), ratio(gd, drop)]
            print("| %s | %d | %.0f | %s | %s | %s | %s | %s | %s |" %
                  (name, m["instances"], m["procs_each"], kib(pss), kib(m["prog_pss_kb"] / m["instances"]),
                   kib(kern), kib(pss + kern), kib(drop), " | ".join(r)))
        print()
        if I and G:
            print("- gbox per sandbox: shim %.0f KiB + init %.0f KiB + program %.0f KiB of Pss; the daemon's own" %
                  (I["shim_pss_kb"], I["init_pss_kb"], G["prog_pss_kb"] / n))
            print("  growth adds %.1f KiB (anonymous). The peers have no supervising process at all." %
                  ((I["daemon"]["anon_kb"] - R["daemon0"]["anon_kb"]) / n))
            rt = I["shim_pss_kb"] + I["init_pss_kb"] + (I["daemon"]["anon_kb"] - R["daemon0"]["anon_kb"]) / n
            print("- gbox runtime memory per supervised sandbox (shim + init + the daemon's growth), target")
            print("  ≤ 300 KiB at 1,000 (issue #10, informational): %.0f KiB at %d — **%s**" %
                  (rt, n, "PASS" if rt <= 300 else "MISS"))
        for name, cmd in R["commands"].items():
            print("- %s: %s" % (name, cmd))
        print()
    L = R.get("lat")
    if L:
        print("### Event latency, with %d sandboxes supervised" % n)
        print()
        print("A python client follows `events` on its own connection and stamps each line when it")
        print("arrives (CLOCK_REALTIME; an event's `ts` is in whole ms). The exit path runs on the shim's")
        print("pidfd becoming readable; the `running` transition waits for the daemon's 200 ms tick.")
        print()
        print("| path | samples | median ms | p90 ms |")
        print("|---|---:|---:|---:|")
        rows = [
            ("program SIGKILLed by the harness → `exited` received", "prog_to_recv"),
            ("`kill` request sent → its reply", "kill_ack"),
            ("`kill` request sent → `exited` received", "kill_to_recv"),
            ("`exited` emitted (its `ts`) → received", "emit_to_recv"),
            ("spawn request → `running` received, one at a time", "spawn_to_running"),
            ("program started (state.json written) → `running` emitted", "tick"),
        ]
        for name, key in rows:
            v = L[key]
            print("| %s | %d | %.1f | %.1f |" % (name, len(v), median(v), p90(v)))
        if S:
            v = S["tick_ms"]
            print("| the same during the spawn burst | %d | %.1f | %.1f |" % (len(v), median(v), p90(v)))
        print()
        print("The SIGKILL and one-at-a-time spawn rows are %d more sandboxes, spawned and ended one" % k)
        print("at a time beside the %d; the `kill` rows are %d of the %d, killed one at a time." % (n, k, n), end="")
        T = R.get("teardown")
        if T:
            print(" The other\n%d were then killed at once (pipelined `kill` requests): all `exited` after %.1f s." % (T["count"], T["s"]))
        else:
            print()
        print()
    if R["failures"]:
        print("### Failures")
        print()
        for f in R["failures"]:
            print("- " + f)

cmd, args = sys.argv[1], sys.argv[2:]
{"measure": measure, "render": render}[cmd](*args)
PYTHON
)" "$@"
}

n=1000
peer_n=""
k=""
idle=10
write=0
doc=docs/benchmarks.md
rootfs=build/images/base/rootfs
invocation=tests/bench/supervisor.sh
[ -z "${GBOX:-}" ] || invocation="GBOX=$(bench_quote "$GBOX") $invocation"
[ "$#" -eq 0 ] || invocation="$invocation $(bench_quote "$@")"

while [ "$#" -gt 0 ]; do
    case $1 in
    -n) n=${2:?-n needs a value}; shift 2 ;;
    --peer-n) peer_n=${2:?--peer-n needs a value}; shift 2 ;;
    -k) k=${2:?-k needs a value}; shift 2 ;;
    --idle) idle=${2:?--idle needs a value}; shift 2 ;;
    --rootfs) rootfs=${2:?--rootfs needs a value}; shift 2 ;;
    --doc) doc=${2:?--doc needs a value}; shift 2 ;;
    --write) write=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
peer_n=${peer_n:-$n}
[[ $n =~ ^[1-9][0-9]*$ ]] || bench_die "-n wants a positive integer, not '$n'"
[[ $peer_n =~ ^[0-9]+$ ]] || bench_die "--peer-n wants a non-negative integer, not '$peer_n'"
[[ $idle =~ ^[1-9][0-9]*$ ]] || bench_die "--idle wants a positive integer, not '$idle'"
if [ -z "$k" ]; then k=$((n < 100 ? n : 100)); fi
if ! [[ $k =~ ^[1-9][0-9]*$ ]] || [ "$k" -gt "$n" ]; then
    bench_die "-k wants an integer from 1 to N, not '$k'"
fi

bench_require_root
bench_require python3 jq
cd "$BENCH_ROOT"
GBOX=${GBOX:-build/gbox}
[ -x "$GBOX" ] || bench_die "$GBOX is not built (run make)"
GBOX=$(cd "$(dirname "$GBOX")" && pwd)/$(basename "$GBOX")
[ -x "$rootfs/usr/bin/probe" ] || bench_die "no image at $rootfs (run make)"
rootfs=$(cd "$rootfs" && pwd)
getent group gbox >/dev/null || groupadd --system gbox

SECONDS=0
work=$(mktemp -d "${TMPDIR:-/tmp}/gbox-bench-supervisor.XXXXXX")
prefix=gbox-bench-$$-
daemon_pid=""
export GBOX_SOCKET=$work/gbox.sock GBOX_STATE_DIR=$work/state

# Cleanup, also after a failure or Ctrl-C: sandboxes outlive the daemon by design, so they are
# killed first (through the daemon, or by their cgroups if it is gone), then the daemon is stopped.
# bwrap processes are listed by the harness in bwrap.pids, OCI containers live in private --root
# directories, so nothing of anybody else's is touched.
gbox_live() {
    "$GBOX" ps --json 2>/dev/null |
        jq -r '.[] | select(.state == "running" or .state == "starting") | .id' 2>/dev/null || true
}
cleanup() {
    local rc=$? id pid f cg live
    trap - EXIT
    if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
        live=$(gbox_live)
        if [ -n "$live" ]; then
            bench_log "killing $(wc -w <<<"$live") sandboxes left running"
            for _ in $(seq 50); do # starting ones first become running (they have cgroups then)
                [ -z "$("$GBOX" ps --json 2>/dev/null | jq -r '.[] | select(.state == "starting") | .id')" ] && break
                sleep 0.2
            done
            for id in $(gbox_live); do "$GBOX" kill "$id" >/dev/null 2>&1 || true; done
            for _ in $(seq 300); do
                [ -z "$(gbox_live)" ] && break
                sleep 0.2
            done
        fi
        kill -TERM "$daemon_pid" 2>/dev/null || true
        wait "$daemon_pid" 2>/dev/null || true
    fi
    # Without a daemon: kill what any sandbox's state file still names (cgroup.kill).
    for f in "$work"/state/sandboxes/*/state.json; do
        [ -f "$f" ] || continue
        pid=$(jq -r .shim_pid "$f" 2>/dev/null) || continue
        cg=$(jq -r '.cgroup_v2 // empty' "$f" 2>/dev/null) || continue
        if [ -n "$cg" ] && [ -e "$cg/cgroup.kill" ] && kill -0 "$pid" 2>/dev/null; then
            bench_log "killing leftover sandbox of shim $pid ($cg)"
            echo 1 >"$cg/cgroup.kill" 2>/dev/null || true
        fi
    done
    if [ -f "$work/bwrap.pids" ]; then
        while read -r pid; do
            if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = bwrap ]; then
                bench_log "killing leftover bwrap $pid"
                pkill -KILL -P "$pid" 2>/dev/null || true
                kill -KILL "$pid" 2>/dev/null || true
            fi
        done <"$work/bwrap.pids"
    fi
    if bench_have crun && [ -d "$work/crun" ]; then
        for id in $(crun --root "$work/crun" list -q 2>/dev/null || true); do
            bench_log "crun: deleting leftover container $id"
            bench_in_ns "${BENCH_MASK_NS:-}" crun --root "$work/crun" delete -f "$id" >/dev/null 2>&1 ||
                bench_log "crun: could not delete $id"
        done
    fi
    if bench_have runc && [ -d "$work/runc" ]; then
        for id in $(runc --root "$work/runc" list -q 2>/dev/null || true); do
            bench_log "runc: deleting leftover container $id"
            runc --root "$work/runc" delete -f "$id" >/dev/null 2>&1 || bench_log "runc: could not delete $id"
        done
    fi
    bench_cgroup_leftovers "$prefix"
    bench_cgroup_mask_stop
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

versions=("gbox $(git describe --always --dirty 2>/dev/null || echo '(no commit yet)')")
peers=()
if bench_have bwrap; then
    peers+=("bwrap=bwrap")
    versions+=("$(bench_version bwrap)")
else
    peers+=("bwrap=-")
    bench_log "bwrap: not installed (scripts/install-deps.sh --bench)"
fi
bundle=$work/bundle
if bench_have crun || bench_have runc; then
    bench_oci_bundle "$bundle" "$rootfs" /usr/bin/probe sleep 600
fi
if bench_have crun; then
    ns=""
    if bench_cgroup_mask_needed; then
        bench_cgroup_mask_start
        ns=$BENCH_MASK_NS
    fi
    peers+=("crun=$ns")
    versions+=("$(bench_version crun)")
else
    peers+=("crun=-")
    bench_log "crun: not installed (scripts/install-deps.sh --bench)"
fi
if bench_have runc; then
    peers+=("runc=")
    versions+=("$(bench_version runc)")
else
    peers+=("runc=-")
    bench_log "runc: not installed (scripts/install-deps.sh --bench)"
fi

mkdir -p "$GBOX_STATE_DIR"
"$GBOX" daemon --socket "$GBOX_SOCKET" --state-dir "$GBOX_STATE_DIR" </dev/null 2>"$work/daemon.log" &
daemon_pid=$!
for _ in $(seq 100); do
    [ -S "$GBOX_SOCKET" ] && break
    kill -0 "$daemon_pid" 2>/dev/null || bench_die "the daemon did not start: $(cat "$work/daemon.log")"
    sleep 0.05
done
[ -S "$GBOX_SOCKET" ] || bench_die "the daemon did not create $GBOX_SOCKET"

bench_sysinfo
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
statefs=$(findmnt -no FSTYPE -T "$GBOX_STATE_DIR" 2>/dev/null || stat -f -c %T "$GBOX_STATE_DIR")
results=$work/results.json
bench_log "gbox: $n sandboxes (k=$k); peers: ${peer_n} each; this takes a few minutes"
rc=0
sup_py measure "$results" "$GBOX" "$daemon_pid" "$n" "$k" "$idle" "$peer_n" "$rootfs" "$bundle" "$work" \
    "$prefix" "${peers[@]}" || rc=$?
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
[ -f "$results" ] || bench_die "the measurement stopped before it had results (exit $rc)"

report=$work/report.md
{
    echo "## Supervisor: $n sandboxes under one daemon"
    echo
    echo "One \`gbox daemon\` with its own socket and state directory ($statefs), policy \`base\`,"
    echo "every sandbox running \`probe sleep 600\` from the base image. Measured $BENCH_DATE on"
    echo "Linux $BENCH_KERNEL, $BENCH_CPU ($BENCH_CORES cores), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)."
    echo "**The machine was shared**: other jobs ran meanwhile (load average $load_start at the start,"
    echo "$load_end at the end; host CPU figures below), so times are medians and memory deltas"
    echo "taken from /proc/meminfo carry their noise."
    echo
    sup_py render "$results"
    echo
    echo "Command: \`$invocation\` (took $((SECONDS / 60)) min $((SECONDS % 60)) s)."
    echo
    (IFS=,; echo "Versions: ${versions[*]}." | sed 's/,/, /g')
} >"$report"
cat "$report"

if [ "$rc" -ne 0 ]; then
    bench_log "something failed (see above); not writing $doc"
    exit 1
fi
if [ "$write" -eq 1 ]; then
    bench_doc_section "$doc" supervisor.sh "$report"
    bench_log "wrote the supervisor.sh section of $doc"
fi
