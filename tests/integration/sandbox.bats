#!/usr/bin/env bats
# sandbox.bats — what a program sees and may do inside a gbox sandbox, proven from inside with the
# probe helper of the base image (tests/probe/probe.c): namespaces, file system, identity,
# seccomp, resource limits, pass-through of stdio, exit codes and signals, network.

load helpers

# ---- namespaces and identity ------------------------------------------------------------------

@test "own pid namespace: the program is pid 2 under gbox's init (pid 1)" {
    run "$GBOX" run --in-image probe status
    assert_success
    assert_line --index 0 "pid 2"
    assert_line --index 1 "ppid 1"
}

@test "own pid namespace: /proc lists only the sandbox's processes" {
    run "$GBOX" run --in-image probe ls /proc
    assert_success
    run grep -E '^[0-9]+$' <<<"$output"
    assert_output "$(printf '1\n2')"
}

@test "own pid namespace: ps sees only init and itself" {
    run "$GBOX" run --in-image ps -o pid
    assert_success
    assert_output "$(printf 'PID\n    1\n    2')"
}

@test "hostname comes from the policy: base gives gbox" {
    run "$GBOX" run --in-image probe status
    assert_success
    assert_line "hostname gbox"
}

@test "hostname comes from the policy: space_probe gives its own" {
    local want
    want=$(jq -r .hostname "$POLICY_DIR/space_probe.json")
    [ -n "$want" ] && [ "$want" != null ] && [ "$want" != gbox ]
    # space_probe has a veth link: in a namespace of the test's own
    run in_netns "$GBOX" run --policy space_probe --in-image probe status
    assert_success
    assert_line "hostname $want"
}

@test "identity: uid, gid, euid, egid 1000 and no supplementary groups" {
    run "$GBOX" run --in-image probe status
    assert_success
    assert_line --index 2 "uid 1000"
    assert_line --index 3 "gid 1000"
    assert_line --index 4 "euid 1000"
    assert_line --index 5 "egid 1000"
    assert_line --index 6 "groups"
}

@test "no capabilities in any set, no_new_privs 1, seccomp filter mode 2 (/proc/self/status)" {
    run "$GBOX" run --in-image probe status
    assert_success
    local set
    for set in CapInh CapPrm CapEff CapBnd CapAmb; do
        assert_line "$(printf '%s:\t0000000000000000' "$set")"
    done
    assert_line "$(printf 'NoNewPrivs:\t1')"
    assert_line "$(printf 'Seccomp:\t2')"
}

@test "no capabilities (capget and prctl), no_new_privs 1, seccomp 2" {
    run "$GBOX" run --in-image probe caps
    assert_success
    assert_output "$(printf '%s\n' 'inh 0000000000000000' 'prm 0000000000000000' \
        'eff 0000000000000000' 'bnd 0000000000000000' 'amb 0000000000000000' \
        'no_new_privs 1' 'seccomp 2')"
}

@test "a setuid-root binary does not raise privileges (no_new_privs)" {
    run "$GBOX" run --in-image probe stat /usr/bin/suid-probe
    assert_success
    assert_output --regexp '^ok mode=04755 '
    run "$GBOX" run --in-image suid-probe status
    assert_success
    assert_line --index 2 "uid 1000"
    assert_line --index 4 "euid 1000"
    assert_line "$(printf 'CapEff:\t0000000000000000')"
}

@test "a setuid program owned by the sandbox's own root does not raise privileges either" {
    # the host uid that is root inside the sandbox, from the sandbox's uid_map
    run "$GBOX" run --in-image cat /proc/self/uid_map
    assert_success
    local inside outside count
    read -r inside outside count <<<"$output"
    assert_equal "$inside" 0
    local prog=$BATS_TEST_TMPDIR/suidprobe
    cp "$PROBE" "$prog"
    chown "$outside:$outside" "$prog"
    chmod 4755 "$prog"
    run "$GBOX" run "$prog" status
    assert_success
    assert_line --index 2 "uid 1000"
    assert_line --index 4 "euid 1000"
    assert_line "$(printf 'CapEff:\t0000000000000000')"
}

@test "setuid(0) and raising a capability fail" {
    run "$GBOX" run --in-image probe setuid 0
    assert_failure 1
    assert_output "errno EPERM 1"
    run "$GBOX" run --in-image probe caps-raise CAP_SYS_ADMIN
    assert_failure 1
    assert_output "errno EPERM 1"
}

@test "environment is the policy's, nothing leaks from the host; cwd is /app" {
    GBOX_TEST_LEAK=secret run "$GBOX" run --in-image probe env
    assert_success
    assert_output "$(printf '%s\n' PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME=/tmp LANG=C.UTF-8)"
    run "$GBOX" run --in-image probe cwd
    assert_success
    assert_output "/app"
}

@test "rlimits: open files, core and file size from the policy" {
    run "$GBOX" run --in-image probe rlimits
    assert_success
    assert_line "nofile 256 256"
    assert_line "core 1 1"
    assert_line "fsize 268435456 268435456"
}

# ---- file system -----------------------------------------------------------------------------

@test "no host files visible: a marker made by the test, /etc/shadow, /work, the test dir" {
    local marker=$BATS_TEST_TMPDIR/host-marker
    echo here >"$marker"
    [ -e /etc/shadow ]
    local p
    for p in "$marker" "$BATS_TEST_TMPDIR" /etc/shadow "$SRC_DIR" /work /root/.bashrc; do
        run "$GBOX" run --in-image probe exists "$p"
        assert_failure 1
        assert_output "no"
    done
}

@test "the root file system is read-only (EROFS)" {
    run "$GBOX" run --in-image probe write /x hi
    assert_failure 1
    assert_output "errno EROFS 30"
    run "$GBOX" run --in-image probe mkdir /usr/x
    assert_failure 1
    assert_output "errno EROFS 30"
    run "$GBOX" run --in-image probe write /etc/passwd x
    assert_failure 1
    assert_output "errno EROFS 30"
}

@test "filesystem.shared_image_root: a read-only root of one image layer is a read-only bind of it, not an overlay" {
    local pol
    pol=$(policy_file shared '"filesystem": {"shared_image_root": true}')
    # the root's line of mountinfo: its options and, after " - ", the file system type
    run "$GBOX" run --policy "$pol" --in-image sh -c 'awk "\$5 == \"/\"" /proc/self/mountinfo'
    assert_success
    [ "${#lines[@]}" -eq 1 ] || fail "not one root mount: $output"
    [[ "$output" != *" - overlay "* ]] || fail "the root is an overlay: $output"
    local opts
    opts=$(awk '{ print $6 }' <<<"$output")
    [[ ",$opts," == *,ro,* && ",$opts," == *,nosuid,* && ",$opts," == *,nodev,* ]] ||
        fail "root mount options $opts: expected ro, nosuid, nodev"
}

# the file system type of the mount at / (or at the directory given after it), from mountinfo
ROOT_FSTYPE='f() { awk -v m="${1:-/}" '"'"'$5 == m { split($0, a, " - "); split(a[2], b, " "); print b[1] }'"'"' /proc/self/mountinfo; }; f'

@test "the root is an overlay by default, and with shared_image_root when it needs a new mount point or keeps CAP_SYS_ADMIN" {
    local pol
    run "$GBOX" run --in-image sh -c "$ROOT_FSTYPE"
    assert_success
    assert_output overlay
    pol=$(policy_file newdir '"filesystem": {"shared_image_root": true, "tmpfs": [{"path": "/tmp", "size": "1M", "mode": "1777"}, {"path": "/gbox-new-dir", "size": "1M", "mode": "0755"}]}')
    run "$GBOX" run --policy "$pol" --in-image sh -c "$ROOT_FSTYPE; $ROOT_FSTYPE /gbox-new-dir"
    assert_success
    assert_output $'overlay\ntmpfs'
    pol=$(policy_file sysadmin '"capabilities": ["CAP_SYS_ADMIN"], "filesystem": {"shared_image_root": true}')
    run "$GBOX" run --policy "$pol" --in-image sh -c "$ROOT_FSTYPE"
    assert_success
    assert_output overlay
    # and that overlay is read-only all the same
    run "$GBOX" run --policy "$pol" --in-image probe write /x hi
    assert_failure 1
    assert_output "errno EROFS 30"
}

@test "/tmp is a writable, sticky, private tmpfs" {
    run "$GBOX" run --in-image probe stat /tmp
    assert_success
    assert_output "ok mode=01777 uid=0 gid=0"
    run "$GBOX" run --in-image sh -c 'probe write /tmp/f hello && probe read /tmp/f'
    assert_success
    assert_output "$(printf 'ok 6\nok 6')"
    # private: nothing from the previous sandbox
    run "$GBOX" run --in-image probe exists /tmp/f
    assert_failure 1
    assert_output "no"
}

@test "/tmp is capped at 64M in base: filling it ends with ENOSPC" {
    run "$GBOX" run --in-image probe diskfill /tmp/fill
    assert_success
    assert_line --index 1 "errno ENOSPC 28"
    local mib
    mib=$(sed -n 's/^wrote \([0-9]*\) MiB$/\1/p' <<<"${lines[0]}")
    [ -n "$mib" ] && [ "$mib" -ge 60 ] && [ "$mib" -le 64 ]
}

@test "masked /proc files read as empty, masked directories are unreadable" {
    local p
    # files: empty inside when they exist on the host, absent when the host has none
    for p in /proc/keys /proc/kallsyms /proc/kmsg /proc/timer_list /proc/sched_debug \
        /proc/kcore /proc/config.gz /proc/latency_stats /proc/sysrq-trigger; do
        run "$GBOX" run --in-image probe read "$p"
        if [ -e "$p" ]; then
            [ "$output" = "ok 0" ] || fail "$p: expected 'ok 0' (masked), got '$output'"
        else
            [ "$output" = "errno ENOENT 2" ] || fail "$p: expected ENOENT, got '$output'"
        fi
    done
    # /proc/keys exists on every kernel with keys; prove the mask is there, not just absence
    [ -e /proc/keys ]
    run "$GBOX" run --in-image probe read /proc/keys
    assert_output "ok 0"
    # directories: nothing listable
    for p in /proc/acpi /proc/scsi; do
        run "$GBOX" run --in-image probe ls "$p"
        if [ -d "$p" ]; then
            [ "$output" = "errno EACCES 13" ] || [ -z "$output" ] || fail "$p: listed '$output'"
        else
            [ "$output" = "errno ENOENT 2" ] || fail "$p: expected ENOENT, got '$output'"
        fi
    done
}

@test "/proc/sys and the other readonly_paths are read-only (EROFS)" {
    run "$GBOX" run --in-image probe write /proc/sys/kernel/hostname evil
    assert_failure 1
    assert_output "errno EROFS 30"
    run "$GBOX" run --in-image probe write /proc/sys/vm/drop_caches 3
    assert_failure 1
    assert_output "errno EROFS 30"
}

@test "/sys is an empty read-only directory" {
    run "$GBOX" run --in-image probe ls /sys
    assert_success
    assert_output ""
    run "$GBOX" run --in-image probe write /sys/x hi
    assert_failure 1
    assert_output "errno EROFS 30"
    run "$GBOX" run --in-image probe stat /sys
    assert_success
    assert_output "ok mode=0555 uid=0 gid=0"
}

@test "/dev is minimal: exactly the expected entries" {
    run "$GBOX" run --in-image probe ls /dev
    assert_success
    assert_output "$(printf '%s\n' fd full null ptmx pts random shm stderr stdin stdout tty urandom zero)"
}

@test "the program file is mounted read-only at /app/NAME, alone in a read-only /app" {
    local prog=$BATS_TEST_TMPDIR/x.sh
    cat >"$prog" <<'EOF'
probe ls /app
probe write /app/x.sh pwned
probe write /app/new hi
exit 0
EOF
    local before
    before=$(cat "$prog")
    run "$GBOX" run "$prog"
    assert_success
    assert_output "$(printf '%s\n' x.sh 'errno EROFS 30' 'errno EROFS 30')"
    assert_equal "$(cat "$prog")" "$before"
}

# ---- seccomp ---------------------------------------------------------------------------------

@test "a denied syscall fails with the policy's errno: keyctl -> EPERM" {
    run "$GBOX" run --in-image probe syscall keyctl
    assert_failure 1
    assert_output "errno EPERM 1"
    run "$GBOX" run --in-image probe syscall add_key
    assert_failure 1
    assert_output "errno EPERM 1"
}

@test "a killed syscall ends the sandbox: ptrace -> 159, named on stderr and in the report" {
    local rep=$BATS_TEST_TMPDIR/report.json
    run --separate-stderr "$GBOX" run --report "$rep" --in-image probe ptrace 1
    assert_failure 159
    assert_output ""
    assert_equal "$stderr" "gbox: killed for forbidden syscall ptrace (policy base, seccomp.kill (@debug))"
    assert_equal "$(report_field "$rep" .end)" seccomp
    assert_equal "$(report_field "$rep" .exit_code)" 159
    assert_equal "$(report_field "$rep" .policy)" base
    assert_equal "$(report_field "$rep" .syscall.name)" ptrace
    assert_equal "$(report_field "$rep" .syscall.nr)" 101
    assert_equal "$(report_field "$rep" .syscall.arch)" x86_64
    run report_field "$rep" .syscall.rule
    assert_output --partial "seccomp.kill"
}

@test "a killed syscall in a child process kills the whole sandbox" {
    run --separate-stderr "$GBOX" run --in-image sh -c 'probe syscall process_vm_readv; echo survived'
    assert_failure 159
    refute_output --partial survived
    assert_equal "$stderr" "gbox: killed for forbidden syscall process_vm_readv (policy base, seccomp.kill (@debug))"
}

@test "a syscall no policy list names gets the default ENOSYS (unknown nr 470, process_mrelease)" {
    run "$GBOX" run --in-image probe syscall-nr 470
    assert_failure 1
    assert_output "errno ENOSYS 38"
    # implemented by the kernel (EBADF outside), named nowhere in base: ENOSYS inside
    run "$PROBE" syscall process_mrelease -1 0
    if [ "$output" = "errno ENOSYS 38" ]; then
        require_feature process_mrelease "the host kernel does not implement it (Linux >= 5.15)"
    fi
    run "$GBOX" run --in-image probe syscall process_mrelease -1 0
    assert_failure 1
    assert_output "errno ENOSYS 38"
}

@test "io_uring_setup -> ENOSYS" {
    run "$GBOX" run --in-image probe uring
    assert_failure 1
    assert_output "errno ENOSYS 38"
}

@test "clone3 -> ENOSYS (so libc falls back to clone)" {
    run "$GBOX" run --in-image probe clone3
    assert_failure 1
    assert_output "errno ENOSYS 38"
}

@test "clone with CLONE_NEWUSER, unshare and setns -> EPERM" {
    run "$GBOX" run --in-image probe clone-ns user
    assert_failure 1
    assert_output "errno EPERM 1"
    run "$GBOX" run --in-image probe clone-ns net
    assert_failure 1
    assert_output "errno EPERM 1"
    run "$GBOX" run --in-image probe unshare user
    assert_failure 1
    assert_output "errno EPERM 1"
    run "$GBOX" run --in-image probe syscall setns 0 0
    assert_failure 1
    assert_output "errno EPERM 1"
}

@test "plain fork still works (clone without namespace flags)" {
    run "$GBOX" run --in-image sh -c 'probe echo child; echo parent'
    assert_success
    assert_output "$(printf 'child\nparent')"
}

@test "a non-native ABI kills: i386 int 0x80 -> 159, report names non-native-abi" {
    local rep=$BATS_TEST_TMPDIR/report.json
    run --separate-stderr "$GBOX" run --report "$rep" --in-image probe i386 20
    if [ "$output" = "unsupported i386" ]; then
        require_feature ia32-emulation "the host kernel has no i386 syscall ABI (CONFIG_IA32_EMULATION)"
    fi
    assert_failure 159
    assert_equal "$(report_field "$rep" .end)" seccomp
    assert_equal "$(report_field "$rep" .syscall.name)" non-native-abi
    assert_equal "$stderr" "gbox: killed for a syscall from a non-native ABI (i386 or x32): only the native x86_64 ABI is allowed"
}

@test "a non-native ABI kills: x32 getpid -> 159, report names non-native-abi" {
    local rep=$BATS_TEST_TMPDIR/report.json
    run --separate-stderr "$GBOX" run --report "$rep" --in-image probe x32 39
    assert_failure 159
    assert_output ""
    assert_equal "$(report_field "$rep" .end)" seccomp
    assert_equal "$(report_field "$rep" .syscall.name)" non-native-abi
}

@test "TIOCSTI, its high-bits variant and TIOCLINUX -> EPERM" {
    run "$GBOX" run --in-image probe tiocsti
    assert_failure 1
    assert_output "errno EPERM 1"
    run "$GBOX" run --in-image probe tiocsti high
    assert_failure 1
    assert_output "errno EPERM 1"
    run "$GBOX" run --in-image probe tioclinux
    assert_failure 1
    assert_output "errno EPERM 1"
}

# ---- file descriptors, stdio, exit codes, signals ----------------------------------------------

@test "no fd beyond 0-2 reaches the program, even when the caller has more open" {
    exec 7</dev/null 8>/dev/null 9<"$BATS_TEST_FILENAME"
    run "$GBOX" run --in-image probe fds
    exec 7<&- 8>&- 9<&-
    assert_success
    run grep -E '^(fd|count) ' <<<"$output"
    assert_line --index 0 --regexp '^fd 0 '
    assert_line --index 1 --regexp '^fd 1 '
    assert_line --index 2 --regexp '^fd 2 '
    assert_line --index 3 "count 3"
    [ "${#lines[@]}" -eq 4 ]
}

@test "stdin and stdout pass through" {
    run bash -c 'echo hi | "$1" run --in-image cat' _ "$GBOX"
    assert_success
    assert_output "hi"
    run bash -c 'head -c 100000 /dev/zero | "$1" run --in-image wc -c' _ "$GBOX"
    assert_success
    assert_output --regexp '^ *100000$'
}

@test "stderr passes through separately" {
    run --separate-stderr "$GBOX" run --in-image sh -c 'echo out; echo err >&2'
    assert_success
    assert_output "out"
    assert_equal "$stderr" "err"
}

@test "the program's exit code passes through" {
    run "$GBOX" run --in-image sh -c 'exit 7'
    assert_failure 7
    run "$GBOX" run --in-image probe exit 0
    assert_success
    run "$GBOX" run --in-image probe exit 42
    assert_failure 42
}

@test "death by signal N gives 128+N" {
    run --separate-stderr "$GBOX" run --in-image sh -c 'kill -TERM $$'
    assert_failure 143
    assert_equal "$stderr" "gbox: killed by signal SIGTERM"
    run --separate-stderr "$GBOX" run --quiet --in-image probe signal SEGV
    assert_failure 139
    assert_equal "$stderr" ""
}

@test "SIGTERM to gbox is forwarded: a sleeping program ends with 143 at once" {
    local t0 t1 rc
    "$GBOX" run --quiet --in-image sleep 30 &
    local pid=$!
    sleep 0.3
    t0=$(now_ms)
    kill -TERM "$pid"
    rc=0
    wait "$pid" || rc=$?
    t1=$(now_ms)
    assert_equal "$rc" 143
    [ $((t1 - t0)) -lt "$(scaled_ms 1000)" ] || fail "took $((t1 - t0)) ms to end after SIGTERM"
}

@test "SIGINT to gbox is forwarded too (130)" {
    # job control on, so the background gbox does not start with SIGINT ignored
    set -m
    "$GBOX" run --quiet --in-image probe sleep 30 &
    local pid=$! rc=0
    set +m
    sleep 0.3
    kill -INT "$pid"
    wait "$pid" || rc=$?
    assert_equal "$rc" 130
}

@test "the report of a normal exit: end, status, exit code, policy, argv" {
    local rep=$BATS_TEST_TMPDIR/report.json
    run --separate-stderr "$GBOX" run --report "$rep" --in-image probe exit 3
    assert_failure 3
    assert_equal "$stderr" ""
    assert_equal "$(report_field "$rep" .end)" exited
    assert_equal "$(report_field "$rep" .status)" 3
    assert_equal "$(report_field "$rep" .exit_code)" 3
    assert_equal "$(report_field "$rep" .policy)" base
    assert_equal "$(report_field "$rep" '.argv | join(" ")')" "/usr/bin/probe exit 3"
}

@test "concurrent sandboxes each get their own /tmp" {
    local i
    local -a pids=()
    for i in 1 2 3 4 5 6; do
        "$GBOX" run --in-image sh -c "probe write /tmp/id $i >/dev/null; sleep 0.2; cat /tmp/id; probe ls /tmp" \
            >"$BATS_TEST_TMPDIR/out.$i" 2>&1 &
        pids+=($!)
    done
    for i in 1 2 3 4 5 6; do
        wait "${pids[$((i - 1))]}" || fail "sandbox $i failed: $(cat "$BATS_TEST_TMPDIR/out.$i")"
        assert_equal "$(cat "$BATS_TEST_TMPDIR/out.$i")" "$(printf '%s\nid' "$i")"
    done
}

# ---- resource limits -------------------------------------------------------------------------

@test "timeout: a sleeping program is killed at its deadline, not before (124, report timeout)" {
    local pol rep=$BATS_TEST_TMPDIR/report.json t0 t1 rc
    pol=$(policy_file timeout '"resources": {"timeout": "500ms"}')
    t0=$(now_ms)
    rc=0
    "$GBOX" run --policy "$pol" --report "$rep" --quiet --in-image sleep 10 || rc=$?
    t1=$(now_ms)
    assert_equal "$rc" 124
    local ms=$((t1 - t0))
    # never early; the upper bound only shows it did not wait for the program (10 s): a loaded
    # host may delay the start by far more than the deadline's precision
    [ "$ms" -ge 500 ] && [ "$ms" -le $((5000 + $(scaled_ms 100))) ] || fail "timeout of 500 ms took $ms ms"
    assert_equal "$(report_field "$rep" .end)" timeout
    assert_equal "$(report_field "$rep" .exit_code)" 124
    assert_equal "$(report_field "$rep" .timeout_ms)" 500
}

@test "timeout: the summary on stderr names the limit" {
    local pol
    pol=$(policy_file timeout '"resources": {"timeout": "100ms"}')
    run --separate-stderr "$GBOX" run --policy "$pol" --in-image sleep 10
    assert_failure 124
    assert_equal "$stderr" "gbox: wall-clock timeout of 100 ms (resources.timeout) reached: sandbox killed"
}

@test "memory limit: allocating past memory.max ends with 137 and report oom" {
    local pol rep=$BATS_TEST_TMPDIR/report.json
    pol=$(policy_file mem '"resources": {"memory": {"max": "64M"}}')
    run --separate-stderr "$GBOX" run --policy "$pol" --report "$rep" --in-image probe memhog 200M
    assert_failure 137
    refute_line --partial "ok "
    assert_equal "$(report_field "$rep" .end)" oom
    assert_equal "$(report_field "$rep" .exit_code)" 137
    assert_equal "$stderr" "gbox: out of memory: the kernel killed it at the memory limit of 67108864 bytes (resources.memory.max)"
}

@test "memory limit: allocating below memory.max works" {
    local pol
    pol=$(policy_file mem '"resources": {"memory": {"max": "64M"}}')
    run "$GBOX" run --policy "$pol" --in-image probe memhog 16M
    assert_success
    assert_line "ok 16"
}

@test "memory limit: tmpfs pages count against memory.max" {
    local pol rep=$BATS_TEST_TMPDIR/report.json
    pol=$(policy_file mem '"resources": {"memory": {"max": "32M"}}')
    run --separate-stderr "$GBOX" run --policy "$pol" --report "$rep" --in-image probe diskfill /tmp/fill
    assert_failure 137
    assert_equal "$(report_field "$rep" .end)" oom
}

@test "a program killed by SIGKILL is reported as signaled, not as OOM" {
    local rep=$BATS_TEST_TMPDIR/report.json
    run --separate-stderr "$GBOX" run --report "$rep" --in-image probe signal KILL
    assert_failure 137
    assert_equal "$stderr" "gbox: killed by signal SIGKILL"
    assert_equal "$(report_field "$rep" .end)" signaled
    assert_equal "$(report_field "$rep" .signal)" SIGKILL
}

@test "pids limit: a fork bomb stops below pids.max" {
    local pol
    pol=$(policy_file pids '"resources": {"pids": {"max": 20}}')
    run "$GBOX" run --policy "$pol" --in-image probe forkbomb
    assert_success
    assert_line --index 1 "errno EAGAIN 11"
    local n
    n=$(sed -n 's/^forked \([0-9]*\)$/\1/p' <<<"${lines[0]}")
    [ -n "$n" ] && [ "$n" -ge 10 ] && [ "$n" -lt 20 ] || fail "forked '$n' with pids.max 20"
}

@test "pids limit of base (256) holds too" {
    run "$GBOX" run --in-image probe forkbomb
    assert_success
    assert_line --index 1 "errno EAGAIN 11"
    local n
    n=$(sed -n 's/^forked \([0-9]*\)$/\1/p' <<<"${lines[0]}")
    [ -n "$n" ] && [ "$n" -lt 256 ] || fail "forked '$n' with pids.max 256"
}

@test "open files limit: an fd bomb stops with EMFILE at open_files" {
    run "$GBOX" run --in-image probe fdbomb
    assert_success
    assert_output "$(printf 'opened 253\nerrno EMFILE 24')"
}

# ---- network ---------------------------------------------------------------------------------

@test "network none under base: sockets are not even available (ENOSYS)" {
    run "$GBOX" run --in-image probe connect 127.0.0.1 5555
    assert_failure 1
    assert_output "errno ENOSYS 38"
    run "$GBOX" run --in-image probe socket inet stream
    assert_failure 1
    assert_output "errno ENOSYS 38"
}

@test "network none with sockets allowed: an empty namespace, nothing is reachable" {
    local pol
    pol=$(policy_file netio "\"seccomp\": {\"allow\": [$ALLOW_WITH_NET]}")
    run "$GBOX" run --policy "$pol" --in-image probe connect 127.0.0.1 5555
    assert_failure 1
    assert_output "errno ENETUNREACH 101"
    # TEST-NET-1 (RFC 5737): never routed, and there is no route out anyway
    run "$GBOX" run --policy "$pol" --in-image probe connect 192.0.2.1 9 udp
    assert_failure 1
    assert_output "errno ENETUNREACH 101"
}

@test "network loopback (development): only lo exists" {
    run "$GBOX" run --policy development --in-image probe ls /sys/class/net
    assert_success
    assert_output "lo"
}

listen_and_connect() {
    # listener in the background, connect once it reports it is listening (in a namespace of the
    # test's own: server_application has a veth link)
    in_netns "$GBOX" run --policy "$1" --in-image sh -c '
        probe listen 127.0.0.1 5555 >/tmp/l &
        i=0
        until grep -qs listening /tmp/l; do
            i=$((i + 1)); [ $i -gt 500 ] && { echo "listener never came up"; exit 9; }
            sleep 0.01
        done
        probe connect 127.0.0.1 5555
        wait
        cat /tmp/l'
}

@test "network loopback (development): a listener on 127.0.0.1 inside accepts a connection" {
    run listen_and_connect development
    assert_success
    assert_output "$(printf 'ok 0\nlistening 5555\naccepted')"
}

@test "network veth (server_application): a listener on 127.0.0.1 inside accepts a connection" {
    run listen_and_connect server_application
    assert_success
    assert_output "$(printf 'ok 0\nlistening 5555\naccepted')"
}

@test "network loopback: the host's loopback is not the sandbox's" {
    # nothing listens on this port inside; a listener on the host must not be reachable
    run "$GBOX" run --policy development --in-image probe connect 127.0.0.1 5557
    assert_failure 1
    assert_output "errno ECONNREFUSED 111"
}

# ---- programs --------------------------------------------------------------------------------

@test "a .sh program runs through /bin/sh with its arguments" {
    local prog=$BATS_TEST_TMPDIR/args.sh
    printf 'echo "$0|$#|$1|$2"\n' >"$prog"
    run "$GBOX" run "$prog" one "two words"
    assert_success
    assert_output "/app/args.sh|2|one|two words"
}

@test "a .gr program fails with 127 when no graphoid interpreter image exists" {
    local prog=$BATS_TEST_TMPDIR/p.gr imgs=$BATS_TEST_TMPDIR/imgs
    echo 'print hi' >"$prog"
    mkdir "$imgs"
    ln -s "$(dirname "$GBOX")/images/base" "$imgs/base"
    GBOX_IMAGE_DIR=$imgs GBOX_STORE_DIR=$BATS_TEST_TMPDIR/store run -127 --separate-stderr "$GBOX" run "$prog"
    assert_failure 127
    assert_output ""
    assert_equal "$stderr" "gbox: no interpreter image for $prog: module graphoid not found (wanted by interpreter.handlers[0].modules[0] of policy base): no image of that name in the store or the image directory (build one, e.g. GR=/path/to/gr make image-graphoid for .gr)"
}

@test "a program the sandbox cannot read (mode 0600) is refused with 126 and a message" {
    local prog=$BATS_TEST_TMPDIR/private.sh
    echo 'echo ran' >"$prog"
    chmod 600 "$prog"
    run --separate-stderr "$GBOX" run "$prog"
    assert_failure 126
    assert_output ""
    assert_equal "$stderr" "gbox: program $prog (mode 0600) is not readable by the sandbox's unprivileged user: chmod o+r it"
}

@test "examples/hello.sh runs under base" {
    run "$GBOX" run "$SRC_DIR/examples/hello.sh"
    assert_success
    assert_output "$(printf 'hello from gbox\nuid=1000(gbox) gid=1000(gbox)\ngbox')"
}

@test "--env sets and overrides variables of the policy's environment; a bad one is a usage error" {
    run "$GBOX" run --env FOO=bar --env HOME=/x --in-image sh -c 'echo "$FOO $HOME $LANG"'
    assert_success
    assert_output "bar /x C.UTF-8"
    run --separate-stderr "$GBOX" run --env 1X=y --in-image true
    assert_failure 2
    assert_equal "$stderr" 'gbox run: --env: expected NAME=VALUE with NAME of letters, digits and _, got "1X=y"'
}
