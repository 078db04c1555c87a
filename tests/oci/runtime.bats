#!/usr/bin/env bats
# The OCI runtime command line on its own (no podman): create/start/state/kill/delete and their
# edge cases, config.json errors, hooks, exec, the policy annotation. docs/oci.md.

load helpers

teardown() {
    oci_teardown
}

@test "create leaves the process waiting; start runs it; the pid file holds the bare pid" {
    b=$(make_bundle sh -c 'echo started > /ran; exit 0')
    run -0 create --bundle "$b" --pid-file "$BATS_TEST_TMPDIR/pid" c1
    run -0 cat "$BATS_TEST_TMPDIR/pid"
    [[ "$output" =~ ^[0-9]+$ ]]
    [ "$(wc -l <"$BATS_TEST_TMPDIR/pid")" -eq 0 ] # no newline, as runc writes it
    pid=$output
    kill -0 "$pid"
    run -0 runc state c1
    assert_equal "$(jq -r .status <<<"$output")" created
    assert_equal "$(jq -r .pid <<<"$output")" "$pid"
    assert_equal "$(jq -r .bundle <<<"$output")" "$b"
    assert_equal "$(jq -r .ociVersion <<<"$output")" 1.0.2
    # created: the program has not run
    [ ! -e "$b/rootfs/ran" ]
    run -0 runc start c1
    wait_status c1 stopped
    run -0 cat "$b/rootfs/ran"
    assert_output started
    run -0 runc delete c1
    [ ! -e "$BATS_TEST_TMPDIR/root/c1" ]
}

@test "duplicate and unknown ids fail; an invalid id is a usage error" {
    b=$(make_bundle sleep 100)
    run -0 create --bundle "$b" c1
    run -1 create --bundle "$b" c1
    assert_output --partial "container c1 already exists"
    assert_equal "$(status_of c1)" created # the first is untouched
    for verb in state start delete kill; do
        run -1 runc "$verb" nope
        assert_output --partial "container nope does not exist"
    done
    run -2 create --bundle "$b" "../x"
    assert_output --partial 'invalid container id "../x"'
}

@test "delete refuses a created or running container without --force" {
    b=$(make_bundle sleep 100)
    run -0 create --bundle "$b" c1
    run -1 runc delete c1
    assert_output --partial "container c1 is created: stop it first, or delete --force"
    run -0 runc start c1
    wait_status c1 running
    run -1 runc delete c1
    assert_output --partial "container c1 is running"
    assert_equal "$(status_of c1)" running
    run -0 runc delete --force c1
    run -1 runc state c1
}

@test "delete --force of a running container kills it and removes its cgroups" {
    b=$(make_bundle sleep 100)
    edit_config '.linux.resources={"pids":{"limit":20}}'
    run -0 create --bundle "$b" --pid-file "$BATS_TEST_TMPDIR/pid" c1
    run -0 runc start c1
    wait_status c1 running
    pid=$(cat "$BATS_TEST_TMPDIR/pid")
    dirs=$(jq -r '.cgroup_v2, .cgroup_v1[]' "$BATS_TEST_TMPDIR/root/c1/state.json" | grep -v null)
    [ -n "$dirs" ]
    for d in $dirs; do [ -d "$d" ]; done
    run -0 runc delete --force c1
    ! kill -0 "$pid" 2>/dev/null
    for d in $dirs; do [ ! -d "$d" ]; done
}

@test "start twice fails; start of a stopped container fails" {
    b=$(make_bundle sleep 100)
    run -0 create --bundle "$b" c1
    run -0 runc start c1
    run -1 runc start c1
    assert_output --partial "container c1 is running: only a created container can be started"
    run -0 runc kill c1 KILL
    wait_status c1 stopped
    run -1 runc start c1
    assert_output --partial "is stopped"
}

@test "kill takes names with and without SIG, and numbers; a bad signal is a usage error" {
    b=$(make_bundle sleep 100)
    for sig in TERM SIGTERM 15; do
        run -0 create --bundle "$b" c1
        run -0 runc start c1
        wait_status c1 running
        run -0 runc kill c1 "$sig"
        wait_status c1 stopped
        run -0 runc delete c1
    done
    run -0 create --bundle "$b" c1
    run -2 runc kill c1 SIGNOPE
    assert_output --partial 'unknown signal "SIGNOPE"'
    assert_equal "$(status_of c1)" created
}

@test "kill of a created container ends it before the program ever runs" {
    b=$(make_bundle sh -c 'touch /ran')
    run -0 create --bundle "$b" c1
    run -0 runc kill c1 TERM
    wait_status c1 stopped
    [ ! -e "$b/rootfs/ran" ]
    run -1 runc kill c1 TERM
    assert_output --partial "is stopped: nothing to signal"
}

@test "the container's exit code is the shim's: run returns it" {
    b=$(make_bundle sh -c 'exit 7')
    run -7 runc run --bundle "$b" c1
    [ ! -e "$BATS_TEST_TMPDIR/root/c1" ]
    b2=$BATS_TEST_TMPDIR/bundle
    edit_config '.process.args=["sh","-c","kill -9 $$"]'
    run -137 runc run --bundle "$b2" c2
}

@test "config.json errors name the file, the field and what was expected; nothing is left" {
    b=$(make_bundle true)
    edit_config '.linux.resources={"memory":{"limit":"x"}}'
    run -2 create --bundle "$b" c1
    assert_output "gbox: $b/config.json: linux.resources.memory.limit: expected an integer >= -1, got \"x\""
    [ ! -e "$BATS_TEST_TMPDIR/root/c1" ]
    edit_config '.linux.resources={} | .process.capabilities.bounding += ["CAP_NOPE"]'
    run -2 create --bundle "$b" c1
    assert_output --partial "process.capabilities.bounding[3]: expected a capability name"
    assert_output --partial '"CAP_NOPE"'
    edit_config '.process.capabilities.bounding -= ["CAP_NOPE"] | .linux.bogus=1'
    run -2 create --bundle "$b" c1
    assert_output --partial "linux.bogus: unknown or unsupported field"
    edit_config 'del(.linux.bogus) | .linux.namespaces |= (map(select(.type != "mount")) + [{"type":"mount","path":"/proc/1/ns/mnt"}])'
    run -2 create --bundle "$b" c1
    assert_output --partial "path: joining an existing mount namespace is not supported"
    echo '{"ociVersion": "1.0.2",' >"$b/config.json"
    run -2 create --bundle "$b" c1
    assert_output --partial "config.json: line 2"
    [ -z "$(ls "$BATS_TEST_TMPDIR/root")" ]
}

@test "an unknown seccomp syscall fails only when the rule would restrict" {
    b=$(make_bundle true)
    edit_config '.linux.seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["no_such_call"],"action":"SCMP_ACT_ERRNO"}]}'
    run -2 create --bundle "$b" c1
    assert_output --partial 'linux.seccomp.syscalls[0].names[0]: expected a syscall name libseccomp knows'
    edit_config '.linux.seccomp={"defaultAction":"SCMP_ACT_LOG","syscalls":[{"names":["no_such_call"],"action":"SCMP_ACT_ALLOW"}]}'
    run -0 create --bundle "$b" c1
}

@test "an OCI seccomp profile is enforced" {
    b=$(make_bundle sh -c 'mkdir /d 2>&1; echo rc=$?')
    edit_config '.linux.seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}'
    run -0 runc run --bundle "$b" c1
    assert_output --partial "Permission denied"
    assert_output --partial "rc=1"
}

@test "limits, hostname, domainname, sysctl, rlimits, masked and read-only paths apply inside" {
    b=$(make_bundle sh -c 'hostname; cat /proc/sys/kernel/domainname; cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max; cat /proc/sys/net/ipv4/ip_forward; ulimit -n; cat /proc/keys | wc -c; (echo 0 > /proc/sys/net/ipv4/ip_forward) 2>&1 | grep -c Read-only')
    edit_config '.hostname="oci-host" | .domainname="oci.example" | .linux.resources={"memory":{"limit":67108864},"pids":{"limit":33}}
                 | .mounts += [{"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup","options":["ro"]}]
                 | .linux.sysctl={"net.ipv4.ip_forward":"1"} | .process.rlimits=[{"type":"RLIMIT_NOFILE","hard":321,"soft":123}]'
    run -0 runc run --bundle "$b" c1
    assert_output "oci-host
oci.example
67108864
33
1
123
0
1"
}

@test "a sysctl outside the container's namespaces is refused" {
    b=$(make_bundle true)
    edit_config '.linux.sysctl={"kernel.pid_max":"4096"}'
    run -2 create --bundle "$b" c1
    assert_output --partial "linux.sysctl.kernel.pid_max: not a sysctl of a namespace the container has of its own"
}

@test "hooks run at their moments with the state on stdin" {
    b=$(make_bundle sh -c 'echo program >> /hooklog')
    log=$b/rootfs/hooklog
    hook=$BATS_TEST_TMPDIR/hook.sh
    printf '#!/bin/sh\nst=$(cat)\necho "$1 $(echo "$st" | jq -r .id) $(echo "$st" | jq -r .status)" >> %s\n' "$log" >"$hook"
    chmod +x "$hook"
    edit_config --arg h "$hook" '.hooks={"prestart":[{"path":$h,"args":["hook","prestart"]}],
        "createRuntime":[{"path":$h,"args":["hook","createRuntime"]}],
        "poststart":[{"path":$h,"args":["hook","poststart"]}],
        "poststop":[{"path":$h,"args":["hook","poststop"]}]}'
    run -0 create --bundle "$b" c1
    run -0 cat "$log"
    assert_output "prestart c1 created
createRuntime c1 created"
    run -0 runc start c1
    wait_status c1 stopped
    run -0 runc delete c1
    # poststart runs once start returned: the program may have ended already
    run -0 sort "$log"
    assert_line --index 0 "createRuntime c1 created"
    assert_line --index 1 --regexp "^poststart c1 (running|stopped)$"
    assert_line --index 2 "poststop c1 stopped"
    assert_line --index 3 "prestart c1 created"
    assert_line --index 4 "program"
}

@test "a failing prestart hook fails create and leaves nothing" {
    b=$(make_bundle true)
    edit_config '.hooks={"prestart":[{"path":"/bin/false"}]}'
    run -125 create --bundle "$b" c1
    assert_output --partial "prestart hook /bin/false failed (exit code 1)"
    [ -z "$(ls "$BATS_TEST_TMPDIR/root")" ]
}

@test "createContainer runs in the container's namespaces before pivot_root; startContainer in the container after start" {
    b=$(make_bundle sh -c 'echo program >> /startlog')
    hostlog=$BATS_TEST_TMPDIR/create.log
    # createContainer: a host path; the host's file system is still visible (no pivot_root yet)
    printf '#!/bin/sh\nst=$(cat)\n{ echo "$(echo "$st" | jq -r .id) $(echo "$st" | jq -r .status) $(echo "$st" | jq -r .pid)"\n  readlink /proc/self/ns/mnt; readlink /proc/self/ns/pid; readlink /proc/self/ns/uts\n  test -e %s/config.json && echo host-visible; } > %s\n' "$b" "$hostlog" >"$BATS_TEST_TMPDIR/cc.sh"
    chmod +x "$BATS_TEST_TMPDIR/cc.sh"
    # startContainer: a path inside the container only
    cat >"$b/rootfs/starthook.sh" <<'EOS'
#!/bin/sh
st=$(cat)
echo "startContainer $1 $(echo "$st" | grep -o '"status":"[a-z]*"')" >> /startlog
EOS
    chmod +x "$b/rootfs/starthook.sh"
    [ ! -e /starthook.sh ]
    edit_config --arg cc "$BATS_TEST_TMPDIR/cc.sh" '.hooks={"createContainer":[{"path":$cc}],
        "startContainer":[{"path":"/starthook.sh","args":["starthook.sh","arg1"],"timeout":30}]}'
    run -0 create --bundle "$b" --pid-file "$BATS_TEST_TMPDIR/pid" c1
    init=$(jq -r .init_pid "$BATS_TEST_TMPDIR/root/c1/state.json")
    run -0 cat "$hostlog"
    assert_line --index 0 "c1 creating $(cat "$BATS_TEST_TMPDIR/pid")"
    assert_line --index 1 "$(readlink /proc/"$init"/ns/mnt)"
    assert_line --index 2 "$(readlink /proc/"$init"/ns/pid)"
    assert_line --index 3 "$(readlink /proc/"$init"/ns/uts)"
    assert_line --index 4 host-visible
    [ "$(readlink /proc/"$init"/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ]
    # created: startContainer has not run
    [ ! -e "$b/rootfs/startlog" ]
    run -0 runc start c1
    wait_status c1 stopped
    run -0 cat "$b/rootfs/startlog"
    assert_output 'startContainer arg1 "status":"created"
program'
}

@test "a failing createContainer hook fails create and leaves nothing; a hook that hangs times out" {
    b=$(make_bundle true)
    cg=gbox-test-cc-$$-$RANDOM
    edit_config --arg cg "/$cg" '.hooks={"createContainer":[{"path":"/bin/false"}]} | .linux.cgroupsPath=$cg
        | .linux.resources={"pids":{"limit":50}}'
    run -125 create --bundle "$b" c1
    assert_output --partial "sandbox setup failed at createContainer: createContainer hook /bin/false failed (exit code 1)"
    [ -z "$(ls "$BATS_TEST_TMPDIR/root")" ]
    # its cgroups are gone too
    [ -z "$(find /sys/fs/cgroup -maxdepth 6 -type d -name "$cg" 2>/dev/null)" ]
    edit_config '.hooks={"createContainer":[{"path":"/bin/sleep","args":["sleep","60"],"timeout":1}]}'
    run -125 create --bundle "$b" c1
    assert_output --partial "createContainer hook /bin/sleep: timed out after 1 s"
    [ -z "$(ls "$BATS_TEST_TMPDIR/root")" ]
    edit_config '.hooks={"createContainer":[{"path":"/nonexistent/hook"}]}'
    run -125 create --bundle "$b" c1
    assert_output --partial "createContainer hook /nonexistent/hook: exec: No such file or directory"
}

@test "a failing startContainer hook stops the container before its program; start reports it" {
    b=$(make_bundle sh -c 'echo ran > /ran')
    edit_config '.hooks={"startContainer":[{"path":"/bin/false"}]}'
    run -0 create --bundle "$b" c1
    run -125 runc start c1
    assert_output --partial "start container c1: sandbox setup failed at startContainer: startContainer hook /bin/false failed (exit code 1)"
    wait_status c1 stopped
    [ ! -e "$b/rootfs/ran" ]
    run -0 runc delete c1
    # the path resolves in the container: a host-only path is not found there
    edit_config --arg h "$BATS_TEST_TMPDIR/host-only" '.hooks={"startContainer":[{"path":$h}]}'
    printf '#!/bin/sh\nexit 0\n' >"$BATS_TEST_TMPDIR/host-only"
    chmod +x "$BATS_TEST_TMPDIR/host-only"
    run -0 create --bundle "$b" c2
    run -125 runc start c2
    assert_output --partial "startContainer hook $BATS_TEST_TMPDIR/host-only: exec: No such file or directory"
    [ ! -e "$b/rootfs/ran" ]
    run -0 runc delete c2
    # run: the same failure, and nothing is left behind
    run -125 runc run --bundle "$b" c3
    assert_output --partial "start container c3: sandbox setup failed at startContainer"
    [ ! -e "$b/rootfs/ran" ]
    [ -z "$(ls "$BATS_TEST_TMPDIR/root")" ]
}

@test "exec runs in the container: command line, --process FILE, --detach with a pid file" {
    b=$(make_bundle sleep 100)
    run -0 create --bundle "$b" c1
    run -1 runc exec c1 true
    assert_output --partial "exec needs a running container"
    run -0 runc start c1
    wait_status c1 running
    run -0 runc exec c1 sh -c 'hostname; cat /proc/1/cmdline | tr "\0" " "'
    assert_output --partial gbox
    run -5 runc exec c1 sh -c 'exit 5'
    jq -n '{"cwd":"/tmp","args":["sh","-c","pwd; echo $FOO"],"env":["FOO=bar"],"user":{"uid":0,"gid":0}}' >"$BATS_TEST_TMPDIR/p.json"
    run -0 runc exec --process "$BATS_TEST_TMPDIR/p.json" c1
    assert_output "/tmp
bar"
    runc exec --detach --pid-file "$BATS_TEST_TMPDIR/xpid" c1 sleep 50 </dev/null >/dev/null 2>&1
    xpid=$(cat "$BATS_TEST_TMPDIR/xpid")
    kill -0 "$xpid"
    run -0 runc ps --format json c1
    [ "$(jq length <<<"$output")" -ge 3 ]
}

@test "pause and resume freeze the container's cgroup" {
    b=$(make_bundle sleep 100)
    run -0 create --bundle "$b" c1
    run -1 runc pause c1
    run -0 runc start c1
    wait_status c1 running
    run -0 runc pause c1
    assert_equal "$(status_of c1)" paused
    run -0 runc resume c1
    assert_equal "$(status_of c1)" running
}

@test "global options: --log-format json both ways, --systemd-cgroup refused, --version, features, list" {
    run -0 "$RUNC" --version
    assert_output --partial "gbox-runc version"
    run -2 runc --systemd-cgroup state x
    assert_output --partial "--systemd-cgroup is not supported"
    run -1 "$RUNC" --root "$BATS_TEST_TMPDIR/root" --log "$BATS_TEST_TMPDIR/log1" --log-format=json state nope
    run -0 jq -r .msg "$BATS_TEST_TMPDIR/log1"
    assert_output "container nope does not exist"
    run -1 "$RUNC" --root "$BATS_TEST_TMPDIR/root" --log "$BATS_TEST_TMPDIR/log2" --log-format json state nope
    run -0 jq -r .level "$BATS_TEST_TMPDIR/log2"
    assert_output error
    run -0 "$RUNC" features
    assert_equal "$(jq -r .linux.cgroup.systemd <<<"$output")" false
    # `gbox oci` and `gbox --root` reach the same runtime
    b=$(make_bundle sleep 100)
    "$GBOX" --root "$BATS_TEST_TMPDIR/root" create --bundle "$b" c1 </dev/null >/dev/null
    run -0 "$GBOX" oci --root "$BATS_TEST_TMPDIR/root" list --format json
    assert_equal "$(jq -r '.[0].id + " " + .[0].status' <<<"$output")" "c1 created"
}

@test "a terminal through --console-socket: the pty master arrives by SCM_RIGHTS" {
    command -v python3 >/dev/null || require_feature python3 "the console-socket receiver is a python3 script"
    b=$(make_bundle sh -c 'test -t 0 && test -t 1 && stty size && echo on-a-tty')
    edit_config '.process.terminal=true | .process.consoleSize={"height":33,"width":111}'
    run -2 create --bundle "$b" c1
    assert_output --partial "--console-socket is required"
    sock=$BATS_TEST_TMPDIR/console.sock
    python3 - "$sock" >"$BATS_TEST_TMPDIR/tty.out" 2>&1 <<'EOF' &
import array, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept()
msg, anc, _, _ = c.recvmsg(256, socket.CMSG_LEN(4))
fd = array.array("i", anc[0][2][:4])[0]
out = b""
while True:
    try:
        d = os.read(fd, 1024)
    except OSError:
        break
    if not d:
        break
    out += d
    if b"on-a-tty" in out:
        break
sys.stdout.write(out.decode(errors="replace"))
EOF
    rcv=$!
    for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
    run -0 create --bundle "$b" --console-socket "$sock" c1
    run -0 runc start c1
    wait "$rcv"
    run -0 cat "$BATS_TEST_TMPDIR/tty.out"
    assert_output --partial "33 111"
    assert_output --partial on-a-tty
}

@test "the org.graphoid.policy annotation: the stricter of policy and config wins" {
    b=$(make_bundle sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max; grep CapEff /proc/self/status; ulimit -n; mkdir /x 2>&1 >/dev/null; unshare -U true 2>&1 | head -1')
    # config: 64M (stricter than base's 512M), pids unlimited (base: 256), CAP_KILL (base: none)
    edit_config '.annotations={"org.graphoid.policy":"base"} | .linux.resources={"memory":{"limit":67108864}}
                 | .mounts += [{"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup"}]'
    run -0 runc run --bundle "$b" c1
    assert_line --index 0 67108864
    assert_line --index 1 256
    assert_line --index 2 "CapEff:	0000000000000000"
    assert_line --index 3 256
    # base: a read-only root, and the namespaces group denied
    assert_line --index 4 --partial "Read-only file system"
    assert_line --index 5 --partial "not permitted"
    edit_config '.annotations={"org.graphoid.policy":"no-such-policy"}'
    run -2 create --bundle "$b" c2
    assert_output --partial "annotation org.graphoid.policy=no-such-policy"
}

@test "spec --policy writes a config.json and the same seccomp profile, which run" {
    d=$BATS_TEST_TMPDIR/sp
    mkdir -p "$d"
    run -0 "$RUNC" spec --bundle "$d" --policy base
    run -0 jq -r '.linux.resources.pids.limit, .root.readonly, .process.user.uid, .annotations["org.graphoid.policy"]' "$d/config.json"
    assert_output "256
true
1000
base"
    run -0 jq -e '.defaultAction == "SCMP_ACT_ERRNO" and .defaultErrnoRet == 38 and (.syscalls | length > 50)' "$d/seccomp.json"
    run -0 cmp <(jq -S .linux.seccomp "$d/config.json") <(jq -S . "$d/seccomp.json")
    run -1 "$RUNC" spec --bundle "$d"
    assert_output --partial "exists already"
    cp -a "$(dirname "$GBOX")/images/base/rootfs" "$d/rootfs"
    jq '.process.terminal=false | .process.args=["sh","-c","id -u; mount -t tmpfs t /tmp 2>&1 | head -1"]' "$d/config.json" >"$d/c" && mv "$d/c" "$d/config.json"
    run -0 runc run --bundle "$d" c1
    assert_line --index 0 1000
    assert_line --index 1 --partial "denied"
}

@test "linux.namespaces paths: a second container joins the first one's network, ipc and uts" {
    b=$(make_bundle sleep 100)
    run -0 create --bundle "$b" c1
    run -0 runc start c1
    wait_status c1 running
    init=$(jq -r .init_pid "$BATS_TEST_TMPDIR/root/c1/state.json")
    want=$(readlink /proc/"$init"/ns/net)
    b2=$BATS_TEST_TMPDIR/bundle2
    mkdir -p "$b2"
    ln -s "$b/rootfs" "$b2/rootfs"
    jq --arg p "/proc/$init/ns" '.process.args=["sh","-c","readlink /proc/self/ns/net; hostname"]
        | .hostname="joined" | .linux.namespaces |= (map(select(.type != "network" and .type != "ipc" and .type != "uts"))
        + [{"type":"network","path":($p + "/net")},{"type":"ipc","path":($p + "/ipc")},{"type":"uts","path":($p + "/uts")}])' \
        "$b/config.json" >"$b2/config.json"
    run -0 runc run --bundle "$b2" c2
    assert_line --index 0 "$want"
    assert_line --index 1 joined
    # the policy's network.mode none forbids it
    jq '.annotations={"org.graphoid.policy":"base"}' "$b2/config.json" >"$b2/c" && mv "$b2/c" "$b2/config.json"
    run -2 create --bundle "$b2" c3
    assert_output --partial "network.mode none forbids joining the network namespace /proc/$init/ns/net"
}

@test "update --resources changes memory, pids and cpu (shares, quota, period, cpus, mems); the rest stays" {
    b=$(make_bundle sleep 100)
    edit_config '.linux.resources={"memory":{"limit":67108864,"swappiness":30},"pids":{"limit":40},
                 "cpu":{"shares":512,"quota":50000,"period":100000,"cpus":"0","mems":"0"}}'
    run -0 create --bundle "$b" c1
    run -0 runc start c1
    wait_status c1 running
    st=$BATS_TEST_TMPDIR/root/c1/state.json
    dir() { jq -r --arg c "/$1/" '.cgroup_v1[] | select(contains($c))' "$st"; }
    cpu=$(dir cpu) cpuset=$(dir cpuset) mem=$(dir memory) pids=$(dir pids)
    [ -n "$cpu" ] && [ -n "$cpuset" ] && [ -n "$mem" ] && [ -n "$pids" ]
    assert_equal "$(cat "$cpu/cpu.shares" "$cpu/cpu.cfs_quota_us" "$cpu/cpu.cfs_period_us" | tr '\n' ' ')" "512 50000 100000 "
    assert_equal "$(cat "$mem/memory.swappiness")" 30
    run -0 runc update --resources - c1 <<<'{"memory":{"swappiness":10}}'
    assert_equal "$(cat "$mem/memory.swappiness")" 10
    ncpu=$(cat "$(dirname "$cpuset")/cpuset.cpus")
    echo '{"cpu":{"shares":256,"quota":20000,"period":50000,"cpus":"'"$ncpu"'","mems":"0"},"memory":{"limit":100663296},"pids":{"limit":50}}' >"$BATS_TEST_TMPDIR/r.json"
    run -0 runc update --resources "$BATS_TEST_TMPDIR/r.json" c1
    assert_equal "$(cat "$cpu/cpu.shares" "$cpu/cpu.cfs_quota_us" "$cpu/cpu.cfs_period_us" | tr '\n' ' ')" "256 20000 50000 "
    assert_equal "$(cat "$cpuset/cpuset.cpus")" "$ncpu"
    assert_equal "$(cat "$mem/memory.limit_in_bytes" "$pids/pids.max" | tr '\n' ' ')" "100663296 50 "
    # only what the file names changes; -1 lifts the quota (stdin as the file)
    run -0 runc update --resources - c1 <<<'{"cpu":{"quota":-1}}'
    assert_equal "$(cat "$cpu/cpu.shares" "$cpu/cpu.cfs_quota_us" "$cpu/cpu.cfs_period_us" | tr '\n' ' ')" "256 -1 50000 "
    assert_equal "$(cat "$mem/memory.limit_in_bytes" "$pids/pids.max" | tr '\n' ' ')" "100663296 50 "
}

@test "update refuses bad fields precisely and changes nothing, also when a later write fails" {
    b=$(make_bundle sleep 100)
    edit_config '.linux.resources={"memory":{"limit":67108864},"cpu":{"shares":512,"cpus":"0"}}'
    run -0 create --bundle "$b" c1
    run -0 runc start c1
    wait_status c1 running
    st=$BATS_TEST_TMPDIR/root/c1/state.json
    cpu=$(jq -r '.cgroup_v1[] | select(contains("/cpu/"))' "$st")
    mem=$(jq -r '.cgroup_v1[] | select(contains("/memory/"))' "$st")
    cpuset=$(jq -r '.cgroup_v1[] | select(contains("/cpuset/"))' "$st")
    r=$BATS_TEST_TMPDIR/r.json
    echo '{"cpu":{"shares":1}}' >"$r"
    run -2 runc update --resources "$r" c1
    assert_output --partial "$r: linux.resources.cpu.shares: expected"
    echo '{"cpu":{"shares":300,"realtimeRuntime":5}}' >"$r"
    run -2 runc update --resources "$r" c1
    assert_output --partial "$r: linux.resources.cpu.realtimeRuntime: not supported"
    echo '{"cpu":{"shares":300},"blockIO":{"weightDevice":[{"major":8,"minor":0,"weight":10}]}}' >"$r"
    run -2 runc update --resources "$r" c1
    assert_output --partial "$r: linux.resources.blockIO.weightDevice: not supported by update (weight is)"
    # blockIO.weight where the host's block controller has a weight file (BFQ), else refused
    # before anything is written, not even the memory limit
    blk=$(jq -r '.cgroup_v1[] | select(contains("/blkio/"))' "$st")
    [ -d "$blk" ]
    echo '{"memory":{"limit":100663296},"blockIO":{"weight":500}}' >"$r"
    if [ -e "$blk/blkio.bfq.weight" ] || [ -e "$blk/blkio.weight" ]; then
        run -0 runc update --resources "$r" c1
        run -0 cat "$blk"/blkio*weight
        assert_output --partial 500
        echo '{"memory":{"limit":67108864}}' | runc update --resources - c1
    else
        run -125 runc update --resources "$r" c1
        assert_output --partial "update c1 ($r): this host's blkio controller has no weight file"
    fi
    assert_equal "$(cat "$mem/memory.limit_in_bytes")" 67108864
    # the kernel refuses the cpuset (no such cpu) after shares were written: shares are put back
    echo '{"cpu":{"shares":300,"cpus":"1023"}}' >"$r"
    run -125 runc update --resources "$r" c1
    assert_output --partial "cpuset.cpus"
    assert_equal "$(cat "$cpu/cpu.shares")" 512
    assert_equal "$(cat "$cpuset/cpuset.cpus")" 0
    # the container has a cgroup in every controller: a limit it was created without can be set
    pids=$(jq -r '.cgroup_v1[] | select(contains("/pids/"))' "$st")
    [ -n "$pids" ]
    assert_equal "$(cat "$pids/pids.max")" max
    echo '{"pids":{"limit":9}}' >"$r"
    run -0 runc update --resources "$r" c1
    assert_equal "$(cat "$pids/pids.max")" 9
    run -1 runc update --resources "$r" nope
    assert_output --partial "container nope does not exist"
}

@test "linux.namespaces paths: a second container joins the first one's user, pid and cgroup namespaces" {
    b=$(make_bundle sleep 100)
    chown -R 100000:100000 "$b/rootfs"
    # the user namespace's root (host uid 100000) must reach the bundle and the state directory
    d=$BATS_TEST_TMPDIR
    while [ "$d" != / ] && [ "$d" != /tmp ]; do chmod o+x "$d"; d=$(dirname "$d"); done
    edit_config '.linux.namespaces += [{"type":"user"},{"type":"cgroup"}]
        | .linux.uidMappings=[{"containerID":0,"hostID":100000,"size":65536}]
        | .linux.gidMappings=[{"containerID":0,"hostID":100000,"size":65536}]'
    run -0 create --bundle "$b" c1
    run -0 runc start c1
    wait_status c1 running
    init=$(jq -r .init_pid "$BATS_TEST_TMPDIR/root/c1/state.json")
    b2=$BATS_TEST_TMPDIR/bundle2
    mkdir -p "$b2"
    ln -s "$b/rootfs" "$b2/rootfs"
    jq --arg p "/proc/$init/ns" '.process.args=["sh","-c","for n in user pid cgroup net ipc uts mnt; do readlink /proc/self/ns/$n; done; cat /proc/self/uid_map; pidof sleep"]
        | del(.linux.uidMappings, .linux.gidMappings)
        | .linux.namespaces = [{"type":"mount"},{"type":"user","path":($p + "/user")},{"type":"pid","path":($p + "/pid")},
            {"type":"cgroup","path":($p + "/cgroup")},{"type":"network","path":($p + "/net")},
            {"type":"ipc","path":($p + "/ipc")},{"type":"uts","path":($p + "/uts")}]' \
        "$b/config.json" >"$b2/config.json"
    run runc run --bundle "$b2" c2
    echo "$output"
    [ "$status" -eq 0 ]
    for i in 0 1 2 3 4 5; do
        n=(user pid cgroup net ipc uts)
        assert_line --index "$i" "$(readlink /proc/"$init"/ns/${n[$i]})"
    done
    # its own mount namespace; A's user namespace's map (no map of its own); A's program is visible
    [ "${lines[6]}" != "$(readlink /proc/"$init"/ns/mnt)" ]
    assert_equal "$(echo ${lines[7]})" "0 100000 65536"
    [ -n "${lines[8]}" ]
    # exec in such a container enters the joined namespaces too
    jq '.process.args=["sleep","100"]' "$b2/config.json" >"$b2/c" && mv "$b2/c" "$b2/config.json"
    run -0 create --bundle "$b2" c4
    run -0 runc start c4
    wait_status c4 running
    run -0 runc exec c4 sh -c 'for n in user pid net; do readlink /proc/self/ns/$n; done'
    assert_output "$(for n in user pid net; do readlink /proc/"$init"/ns/$n; done)"
    run -0 runc delete --force c4
    # id maps with a joined user namespace, and joining a mount namespace, are refused by name
    jq --arg p "/proc/$init/ns" '.linux.uidMappings=[{"containerID":0,"hostID":100000,"size":65536}]' "$b2/config.json" >"$b2/c"
    mv "$b2/c" "$b2/config.json"
    run -2 create --bundle "$b2" c3
    assert_output --partial "linux.uidMappings: mappings with a joined user namespace (its mappings are its own)"
    jq --arg p "/proc/$init/ns" 'del(.linux.uidMappings) | .linux.namespaces[0]={"type":"mount","path":($p + "/mnt")}' "$b2/config.json" >"$b2/c"
    mv "$b2/c" "$b2/config.json"
    run -2 create --bundle "$b2" c3
    assert_output --partial "linux.namespaces[0].path: joining an existing mount namespace is not supported"
}

@test "uid and gid mappings with several ranges; overlapping ranges are refused by name" {
    b=$(make_bundle sh -c 'cat /proc/self/uid_map /proc/self/gid_map')
    chown -R 100000:100000 "$b/rootfs"
    d=$BATS_TEST_TMPDIR
    while [ "$d" != / ] && [ "$d" != /tmp ]; do chmod o+x "$d"; d=$(dirname "$d"); done
    edit_config '.linux.namespaces += [{"type":"user"}]
        | .linux.uidMappings=[{"containerID":0,"hostID":100000,"size":1000},{"containerID":1000,"hostID":300000,"size":500}]
        | .linux.gidMappings=[{"containerID":0,"hostID":100000,"size":1000},{"containerID":5000,"hostID":400000,"size":10}]'
    run -0 runc run --bundle "$b" c1
    assert_equal "$(echo "$output" | tr -s ' ' | sed 's/^ //')" "0 100000 1000
1000 300000 500
0 100000 1000
5000 400000 10"
    edit_config '.linux.uidMappings[1].hostID=100500'
    run -2 create --bundle "$b" c2
    assert_output --partial "linux.uidMappings[1]: expected a range overlapping no other (it overlaps linux.uidMappings[0] inside or outside)"
    [ -z "$(ls "$BATS_TEST_TMPDIR/root")" ]
}

@test "linux.devices: a host device node is bound in; /dev and binds stay nodev against mknod" {
    [ -c /dev/net/tun ] || skip "this host has no /dev/net/tun"
    b=$(make_bundle sh -c 'exec 3<>/dev/net/tun && echo tun-open; mknod /dev/xnull c 1 3 && (echo x > /dev/xnull) 2>&1 | grep -c "Permission denied"; (echo x > /hostdev/null) 2>&1 | grep -c "Permission denied"; echo x > /dev/null && echo null-ok')
    edit_config '.linux.devices=[{"path":"/dev/net/tun","type":"c","major":10,"minor":200,"fileMode":384,"uid":0,"gid":0}]
        | .linux.resources={"devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":10,"minor":200,"access":"rwm"}]}
        | .mounts += [{"destination":"/hostdev","type":"bind","source":"/dev","options":["rbind","rw"]}]
        | .process.capabilities.bounding += ["CAP_MKNOD"] | .process.capabilities.effective += ["CAP_MKNOD"]
        | .process.capabilities.permitted += ["CAP_MKNOD"]'
    run -0 runc run --bundle "$b" c1
    assert_output "tun-open
1
1
null-ok"
    # what a bind cannot honour, or the device rules forbid, is refused by name
    edit_config '.linux.devices[0].fileMode=438'
    run -2 create --bundle "$b" c2
    assert_output --partial "linux.devices[0].fileMode: expected the host node's mode 0600 (a bind cannot change it)"
    edit_config '.linux.devices[0].fileMode=384 | .linux.devices[0].minor=201'
    run -2 create --bundle "$b" c2
    assert_output --partial "linux.devices[0]: the host has no character device 10:201 at /dev/net/tun"
    edit_config '.linux.devices[0].minor=200 | .linux.resources.devices |= .[0:1]'
    run -2 create --bundle "$b" c2
    assert_output --partial "linux.devices[0]: linux.resources.devices does not allow read and write of c 10:200"
    edit_config '.linux.devices[0].type="p"'
    run -2 create --bundle "$b" c2
    assert_output --partial "linux.devices[0].type: expected c, u or b (fifos are not supported)"
    [ -z "$(ls "$BATS_TEST_TMPDIR/root")" ]
}

@test "process.user.additionalGids are the process's supplementary groups, also in exec; refused with a new user namespace" {
    b=$(make_bundle sh -c 'id -G; grep Groups /proc/self/status; sleep 100')
    edit_config '.process.user={"uid":1000,"gid":1000,"additionalGids":[1000,2000,3000]}'
    run -0 create --bundle "$b" c1
    run -0 runc start c1
    wait_status c1 running
    run -0 runc exec c1 sh -c 'grep Groups /proc/self/status'
    assert_output --regexp "^Groups:[[:space:]]+2000 3000[[:space:]]*$"
    run -0 cat "$BATS_TEST_TMPDIR/ctr.out"
    assert_line --index 0 "1000 2000 3000"
    assert_line --index 1 --regexp "^Groups:[[:space:]]+2000 3000[[:space:]]*$"
    run -0 runc delete --force c1
    edit_config '.linux.namespaces += [{"type":"user"}] | .linux.uidMappings=[{"containerID":0,"hostID":100000,"size":65536}]
        | .linux.gidMappings=[{"containerID":0,"hostID":100000,"size":65536}]'
    run -2 create --bundle "$b" c2
    assert_output --partial "process.user.additionalGids: supplementary groups with a new user namespace"
}

@test "linux.resources.blockIO: throttles per device apply; weight where the host has a weight file" {
    dev=
    for d in /sys/block/*; do
        case ${d##*/} in loop* | ram*) continue ;; esac
        dev=$(cat "$d/dev") && break
    done
    [ -n "$dev" ] || skip "this host has no block device to throttle"
    maj=${dev%:*} mnr=${dev#*:}
    b=$(make_bundle sleep 100)
    edit_config --argjson M "$maj" --argjson m "$mnr" '.linux.resources={"blockIO":{
        "throttleReadBpsDevice":[{"major":$M,"minor":$m,"rate":1048576}],
        "throttleWriteIOPSDevice":[{"major":$M,"minor":$m,"rate":100}]}}'
    run -0 create --bundle "$b" c1
    blk=$(jq -r '.cgroup_v1[] | select(contains("/blkio/"))' "$BATS_TEST_TMPDIR/root/c1/state.json")
    [ -d "$blk" ]
    assert_equal "$(cat "$blk/blkio.throttle.read_bps_device")" "$dev 1048576"
    assert_equal "$(cat "$blk/blkio.throttle.write_iops_device")" "$dev 100"
    assert_equal "$(cat "$blk/blkio.throttle.write_bps_device")" ""
    weight=$(ls "$blk"/blkio.bfq.weight "$blk"/blkio.weight 2>/dev/null | head -1)
    run -0 runc delete --force c1
    edit_config '.linux.resources.blockIO.weight=300'
    if [ -n "$weight" ]; then
        run -0 create --bundle "$b" c2
        run -0 cat "$(jq -r '.cgroup_v1[] | select(contains("/blkio/"))' "$BATS_TEST_TMPDIR/root/c2/state.json")/${weight##*/}"
        assert_output --regexp "(^| )300$"
    else
        run -125 create --bundle "$b" c2
        assert_output --partial "this host's blkio controller has no weight file"
        [ -z "$(ls "$BATS_TEST_TMPDIR/root")" ]
    fi
    edit_config '.linux.resources.blockIO={"weightDevice":[{"major":8,"minor":0,"weight":10}]}'
    run -2 create --bundle "$b" c3
    assert_output --partial "linux.resources.blockIO.weightDevice: per-device weights are not supported (weight is)"
}

@test "linux.personality: LINUX32 gives the program a 32-bit uname; other domains and flags are refused" {
    want=$(setarch linux32 uname -m) || skip "setarch cannot switch to linux32 here"
    [ "$want" != "$(uname -m)" ]
    b=$(make_bundle uname -m)
    edit_config '.linux.personality={"domain":"LINUX32"}'
    run -0 runc run --bundle "$b" c1
    assert_output "$want"
    edit_config '.linux.personality={"domain":"LINUX"}'
    run -0 runc run --bundle "$b" c2
    assert_output "$(uname -m)"
    edit_config '.linux.personality={"domain":"BSD"}'
    run -2 create --bundle "$b" c3
    assert_output --partial 'linux.personality.domain: expected LINUX or LINUX32, got "BSD"'
    edit_config '.linux.personality={"domain":"LINUX","flags":["SHORT_INODE"]}'
    run -2 create --bundle "$b" c3
    assert_output --partial "linux.personality.flags: personality flags are not supported"
}
