#!/usr/bin/env bats
# hardening.bats — regressions for fail-open bugs found in review: read-only binds must be
# read-only all the way down, host supplementary groups must not reach the sandbox, and a
# policy cannot silently "deny" a call gbox always allows.

load helpers

teardown() {
    if [ -n "${SUBMNT:-}" ] && mountpoint -q "$SUBMNT"; then umount "$SUBMNT"; fi
}

@test "a read-only bind is read-only in its submounts too (no write to the host)" {
    mkdir -p "$BATS_TEST_TMPDIR/data/sub"
    SUBMNT=$BATS_TEST_TMPDIR/data/sub
    mount -t tmpfs gbox-test "$SUBMNT"
    pol=$(policy_file robind '"filesystem": {"binds": [{"source": "'"$BATS_TEST_TMPDIR"'/data", "target": "/data"}]}')
    run "$GBOX" run --policy "$pol" --in-image probe write /data/x hi
    assert_output "errno EROFS 30"
    run "$GBOX" run --policy "$pol" --in-image probe write /data/sub/x hi
    assert_output "errno EROFS 30"
    [ ! -e "$SUBMNT/x" ]
}

@test "readonly_paths are read-only recursively (/proc/sys and below)" {
    run "$GBOX" run --in-image probe write /proc/sys/kernel/hostname x
    assert_output "errno EROFS 30"
    run "$GBOX" run --in-image probe write /proc/sys/fs/binfmt_misc/register x
    refute_output --partial "ok"
}

@test "gbox's supplementary groups do not reach the sandbox" {
    command -v setpriv >/dev/null || require_feature setpriv "util-linux setpriv is needed to start gbox with groups"
    run setpriv --groups 0,4 "$GBOX" run --in-image sh -c 'grep "^Groups:" /proc/self/status'
    assert_success
    assert_output --regexp '^Groups:[[:space:]]*$'
}

@test "a host file readable only through a supplementary group stays unreadable" {
    printf 'secret\n' >"$BATS_TEST_TMPDIR/groupfile"
    chown root:4 "$BATS_TEST_TMPDIR/groupfile"
    chmod 0640 "$BATS_TEST_TMPDIR/groupfile"
    chmod o+x "$BATS_TEST_TMPDIR"
    pol=$(policy_file grp '"filesystem": {"binds": [{"source": "'"$BATS_TEST_TMPDIR"'/groupfile", "target": "/data/groupfile"}]}')
    run setpriv --groups 4 "$GBOX" run --policy "$pol" --in-image probe read /data/groupfile
    assert_output "errno EACCES 13"
}

@test "denying or killing a call of @default is an error, not silently ignored" {
    pol=$(policy_file denydefault '"seccomp": {"deny": ["kill"], "kill": ["getrandom"]}')
    run "$GBOX" policy validate "$pol"
    assert_failure 2
    assert_output "gbox: $pol: seccomp.deny[0]: \"kill\" cannot be denied: gbox always allows it (@default, clone without namespace flags) and always answers clone3 with ENOSYS"
}

@test "the sandbox cannot read gbox's command line through its init (/proc/1/cmdline)" {
    run "$GBOX" run --policy base --report "$BATS_TEST_TMPDIR/r.json" --in-image sh -c 'tr "\0" " " </proc/1/cmdline'
    assert_success
    assert_output --regexp '^gbox-init *$'
    refute_output --partial "report"
}
