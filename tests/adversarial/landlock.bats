#!/usr/bin/env bats
# landlock.bats — filesystem.landlock: Landlock refuses what the mounts, DAC and seccomp would
# have allowed (EACCES), restricts TCP ports and IPC scopes, and gbox refuses to start a sandbox
# whose policy asks for more Landlock than the kernel (or gbox) provides.

load helpers

teardown() {
    stop "${SANDBOX:-}"
}

@test "playground's Landlock refuses writes to /proc/self that nothing else would (EACCES vs ok)" {
    local open
    open=$(policy_from playground open '"filesystem": {"landlock": {"enabled": false}}')
    # raising one's own OOM score and renaming oneself need no privilege
    blocked_as "$open" "ok 3" attack oom-adj 500
    blocked_as playground "errno EACCES 13" attack oom-adj 500
    blocked_as "$open" "ok 5" probe write /proc/self/comm evil
    blocked_as playground "errno EACCES 13" probe write /proc/self/comm evil
    # what the mounts allow stays allowed
    blocked_as playground "$(printf 'ok 3\nok 3\nok 3')" sh -c 'probe write /tmp/x hi; probe read /tmp/x; probe write /dev/shm/x hi'
}

@test "Landlock takes any stdin: a file on an internal mount (memfd) gets no rule instead of failing the start (regression)" {
    run "$ATTACK" memfd-stdin "$GBOX" run --policy playground --in-image cat
    assert_success
    assert_output "memfd"
}

@test "listed rules: a write to a writable tmpfs and a read of a bind outside them fail (EACCES)" {
    mkdir -p "$BATS_TEST_TMPDIR/data"
    echo visible >"$BATS_TEST_TMPDIR/data/f"
    chmod -R o+rX "$BATS_TEST_TMPDIR"
    local mounts without with
    mounts="\"tmpfs\": [{\"path\": \"/tmp\"}, {\"path\": \"/scratch\"}], \"binds\": [{\"source\": \"$BATS_TEST_TMPDIR/data\", \"target\": \"/data\"}]"
    without=$(policy_from server_application without "\"filesystem\": {$mounts}")
    with=$(policy_from server_application with "\"filesystem\": {$mounts, \"landlock\": {\"enabled\": true, \"from_mounts\": false, \"read_only\": [\"/bin\", \"/usr\", \"/etc\", \"/dev\"], \"read_write\": [\"/tmp\"]}}")
    local cmd='probe write /tmp/x hi; probe write /scratch/x hi; probe read /data/f; probe ls /proc'
    attempt "$without" sh -c "$cmd"
    assert_output --regexp "^ok 3
ok 3
ok 8
[0-9]"
    blocked_as "$with" "$(printf '%s\n' 'ok 3' 'errno EACCES 13' 'errno EACCES 13' 'errno EACCES 13')" sh -c "$cmd"
}

# refused_below POLICY NEED — on a kernel below Landlock ABI NEED (the 6.1 kernel of the cgroup v2
# VM has ABI 2), what gbox must do instead: refuse the policy, 125, nothing runs, both ABIs named.
refused_below() {
    local abi
    abi=$("$ATTACK" landlock-abi)
    run --separate-stderr "$GBOX" run --policy "$1" --in-image probe echo ran
    assert_failure 125
    assert_output ""
    if [ "$abi" -eq 0 ]; then
        assert_equal "$stderr" "gbox: sandbox setup failed at landlock: Landlock ABI $2 is needed but the kernel has no Landlock (disabled at boot: add landlock to the lsm= kernel parameter)"
    else
        assert_equal "$stderr" "gbox: sandbox setup failed at landlock: Landlock ABI $2 is needed but the kernel provides ABI $abi"
    fi
}

@test "TCP ports (Landlock ABI 4): bind and connect only to the listed ports (EACCES); below ABI 4 refused (125)" {
    local pol
    pol=$(policy_from server_application ports '"filesystem": {"landlock": {"enabled": true, "tcp_bind": [8080], "tcp_connect": [8080]}}')
    if [ "$("$ATTACK" landlock-abi)" -lt 4 ]; then
        refused_below "$pol" 4
        return 0
    fi
    blocked_as "$pol" "$(printf '%s\n' 'errno EACCES 13' 'errno EACCES 13' 'errno ECONNREFUSED 111')" \
        sh -c 'probe listen 127.0.0.1 5555; probe connect 127.0.0.1 5555; probe connect 127.0.0.1 8080'
    blocked_as server_application "errno ECONNREFUSED 111" probe connect 127.0.0.1 5555
}

# scope_run SCOPE — a sandbox that waits for a pid in /shared/pid, then signals it and connects to
# the abstract socket gbox-scope-$$; the test starts that process from the host inside the
# sandbox's pid and network namespaces (nsenter), as the sandbox's own host uid: it shares
# everything with the sandbox except its Landlock domain.
scope_run() {
    local dir=$BATS_TEST_TMPDIR/shared
    mkdir -p "$dir"
    chmod 0755 "$dir"
    rm -f "$dir/pid"
    local pol
    pol=$(policy_from server_application "scope$2" "\"filesystem\": {\"binds\": [{\"source\": \"$dir\", \"target\": \"/shared\"}], \"landlock\": {\"enabled\": true, \"scope\": $1}}")
    "$GBOX" run --policy "$pol" --in-image sh -c 'i=0
        until [ -s /shared/pid ]; do i=$((i + 1)); [ $i -gt 250 ] && exit 9; sleep 0.02; done
        sleep 0.1
        probe kill "$(cat /shared/pid)" 0; probe unix-abstract gbox-scope-'"$$" >"$BATS_TEST_TMPDIR/out" 2>&1 &
    SANDBOX=$!
    local prog
    prog=$(sandbox_program_pid "$SANDBOX") || fail "the sandbox did not start"
    nsenter -t "$prog" -p -n -S "$SANDBOX_HOST_UID" -G "$SANDBOX_HOST_UID" -- \
        sh -c "echo pid \$\$; exec $ATTACK listen-abstract gbox-scope-$$" >"$BATS_TEST_TMPDIR/helper" &
    local helper=$!
    wait_for_line "$BATS_TEST_TMPDIR/helper" listening
    # its pid as the sandbox sees it (the helper's own pid namespace is the sandbox's)
    sed -n 's/^pid //p' "$BATS_TEST_TMPDIR/helper" >"$dir/pid.tmp"
    mv "$dir/pid.tmp" "$dir/pid"
    wait "$SANDBOX" || true
    SANDBOX=
    stop "$helper"
    cat "$BATS_TEST_TMPDIR/out"
}

@test "IPC scopes (Landlock ABI 6): no signal and no abstract unix connection to a process outside the sandbox; below ABI 6 refused (125)" {
    if [ "$("$ATTACK" landlock-abi)" -lt 6 ]; then
        refused_below "$(policy_from server_application scoped '"filesystem": {"landlock": {"enabled": true, "scope": ["signal", "abstract_unix_socket"]}}')" 6
        return 0
    fi
    # without scopes, the process nsenter put into the sandbox's namespaces is reachable
    run scope_run '[]' 0
    assert_output "$(printf 'ok 0\nok 0')"
    run scope_run '["signal", "abstract_unix_socket"]' 1
    assert_output "$(printf 'errno EPERM 1\nerrno EPERM 1')"
}

@test "fail closed: a policy needing a Landlock ABI this gbox does not know is refused (125, nothing runs)" {
    local pol
    pol=$(policy_from playground abi8 '"filesystem": {"landlock": {"abi": 8}}')
    run --separate-stderr "$GBOX" run --policy "$pol" --in-image probe echo ran
    assert_failure 125
    assert_output ""
    assert_equal "$stderr" "gbox: sandbox setup failed at landlock: Landlock ABI 8 is needed but this gbox knows only up to ABI 7"
}

@test "fail closed: a Landlock rule path missing from the sandbox is refused (125)" {
    local pol
    pol=$(policy_from playground missing '"filesystem": {"landlock": {"read_only": ["/nonexistent"]}}')
    run --separate-stderr "$GBOX" run --policy "$pol" --in-image probe echo ran
    assert_failure 125
    assert_output ""
    assert_equal "$stderr" "gbox: sandbox setup failed at landlock: rule path /nonexistent: No such file or directory"
}

@test "fail closed: a kernel without Landlock, or with an older ABI, is refused (test builds fake it; production ignores the hook)" {
    local scoped
    scoped=$(policy_from playground scoped '"filesystem": {"landlock": {"scope": ["signal"]}}')
    if "$GBOX" --version | grep -q "test build"; then
        GBOX_TEST_LANDLOCK_ABI=0 run --separate-stderr "$GBOX" run --policy playground --in-image probe echo ran
        assert_failure 125
        assert_output ""
        assert_equal "$stderr" "gbox: sandbox setup failed at landlock: Landlock ABI 1 is needed but the kernel has no Landlock (disabled at boot: add landlock to the lsm= kernel parameter)"
        GBOX_TEST_LANDLOCK_ABI=5 run --separate-stderr "$GBOX" run --policy "$scoped" --in-image probe echo ran
        assert_failure 125
        assert_equal "$stderr" "gbox: sandbox setup failed at landlock: Landlock ABI 6 is needed but the kernel provides ABI 5"
    else
        # a production build must not let its environment weaken or fake a protection
        GBOX_TEST_LANDLOCK_ABI=0 run "$GBOX" run --policy playground --in-image probe echo ran
        assert_success
        assert_output "ran"
        GBOX_TEST_LANDLOCK_ABI=5 run "$GBOX" run --policy "$scoped" --in-image probe echo ran
        assert_success
    fi
}
