#!/usr/bin/env bats
# image.bats — what an image an attacker controls could try: symlinks that point mount targets
# at host paths (CVE-2021-30465 class), a redirected /proc to dodge the masks, setuid-root
# binaries and binaries with file capabilities. The test image is the base image plus those
# plants (tests/adversarial/make-image.sh); the policies are playground and server_application
# with only interpreter.image (and the mounts under test) changed.

load helpers

setup_file() {
    export EVIL=$BATS_FILE_TMPDIR/evil
    "$BATS_TEST_DIRNAME/make-image.sh" "$(dirname "$GBOX_REAL")/images/base/rootfs" "$EVIL/rootfs"
    mkdir -p "$EVIL/data"
    echo secret-from-the-bind >"$EVIL/data/f"
    chmod -R o+rX "$BATS_FILE_TMPDIR"
    chmod o+x "$BATS_FILE_TMPDIR/.." 2>/dev/null || true
}

# evil_policy BASE NAME 'FILESYSTEM MEMBERS' — BASE with the test image and these mounts.
evil_policy() {
    local f=$BATS_TEST_TMPDIR/$2.json
    printf '{"version": 1, "extends": "%s/%s.json", "interpreter": {"image": "%s/rootfs"}, "filesystem": {%s}}\n' \
        "$POLICY_DIR" "$1" "$EVIL" "$3" >"$f"
    echo "$f"
}

@test "CVE-2021-30465: a bind whose target goes through an absolute symlink lands inside the root, not on the host" {
    # /evil-abs -> /home in the image: a runtime resolving the target on the host would create
    # and mount over the host's /home/gbox
    [ ! -e /home/gbox ] || fail "the host has /home/gbox: the test needs a host path that does not exist"
    local base pol
    for base in playground server_application; do
        pol=$(evil_policy "$base" bind "\"binds\": [{\"source\": \"$EVIL/data\", \"target\": \"/evil-abs/gbox\"}]")
        run "$GBOX" run --policy "$pol" --in-image sh -c 'cat /home/gbox/f; cat /evil-abs/gbox/f; probe write /home/gbox/x hi'
        assert_output "$(printf '%s\n' secret-from-the-bind secret-from-the-bind 'errno EROFS 30')"
        [ ! -e /home/gbox ] || fail "$base: /home/gbox appeared on the host"
    done
}

@test "CVE-2021-30465: a tmpfs whose target climbs out through ../../.. lands inside the root" {
    [ ! -e /gbox-evil-tmpfs ]
    local base pol
    for base in playground server_application; do
        pol=$(evil_policy "$base" up '"tmpfs": [{"path": "/tmp"}, {"path": "/evil-up/gbox-evil-tmpfs", "size": "1M"}]')
        run "$GBOX" run --policy "$pol" --in-image sh -c 'probe write /gbox-evil-tmpfs/x hi; probe stat /gbox-evil-tmpfs'
        assert_success
        assert_output "$(printf 'ok 3\nok mode=01777 uid=0 gid=0')"
        [ ! -e /gbox-evil-tmpfs ] || fail "$base: /gbox-evil-tmpfs appeared on the host"
    done
}

@test "CVE-2021-30465: a mount target through a /proc magic link is refused (ELOOP, 125)" {
    local base pol
    for base in playground server_application; do
        pol=$(evil_policy "$base" magic '"tmpfs": [{"path": "/tmp"}, {"path": "/evil-magic/gbox-x", "size": "1M"}]')
        run --separate-stderr "$GBOX" run --policy "$pol" --in-image probe echo ran
        assert_failure 125
        assert_output ""
        assert_equal "$stderr" "gbox: sandbox setup failed at mount: mount point /evil-magic/gbox-x for tmpfs: Too many levels of symbolic links"
    done
}

@test "an image that redirects /proc (symlink) still gets every mask and read-only path" {
    local base pol p
    local -a want=()
    for p in $(jq -r '.filesystem.masked_paths[] | select(startswith("/proc/"))' "$POLICY_DIR/base.json"); do
        if [ -d "$p" ]; then want+=("$p: empty-dir"); elif [ -e "$p" ]; then want+=("$p: null"); else want+=("$p: absent"); fi
    done
    for base in playground server_application; do
        pol=$(evil_policy "$base" proc '"tmpfs": [{"path": "/tmp"}]')
        run "$GBOX" run --policy "$pol" --in-image sh -c 'readlink /proc; attack masked '"$(jq -r '[.filesystem.masked_paths[] | select(startswith("/proc/"))] | join(" ")' "$POLICY_DIR/base.json")"'; probe write /proc/sys/kernel/core_pattern x'
        assert_output "$(printf '%s\n' /altproc "${want[@]}" 'errno EROFS 30')"
    done
}

@test "a setuid-root binary in the image gains nothing (euid, capabilities, setuid 0)" {
    local pol
    for pol in playground server_application; do
        attempt "$pol" probe stat /usr/bin/suid-probe
        # owned by the sandbox's own root (image owners are shifted into its id range): a real
        # setuid-root binary inside, which must still gain nothing
        assert_output --regexp '^ok mode=04755 uid=0 '
        attempt "$pol" suid-probe status
        assert_line --index 2 "uid 1000"
        assert_line --index 4 "euid 1000"
        attempt "$pol" suid-probe caps
        assert_output "$(printf '%s\n' 'inh 0000000000000000' 'prm 0000000000000000' 'eff 0000000000000000' \
            'bnd 0000000000000000' 'amb 0000000000000000' 'no_new_privs 1' 'seccomp 2')"
        blocked_as "$pol" "errno EPERM 1" suid-probe setuid 0
    done
}

@test "file capabilities on an image binary are ignored (cap_sys_admin,cap_setuid,...+eip)" {
    # the fixture really carries them
    run getcap "$EVIL/rootfs/usr/bin/fcap-probe"
    assert_output --partial "cap_sys_admin=eip"
    local base pol
    for base in playground server_application; do
        pol=$(evil_policy "$base" fcap '"tmpfs": [{"path": "/tmp"}]')
        run "$GBOX" run --policy "$pol" --in-image fcap-probe caps
        assert_success
        assert_output "$(printf '%s\n' 'inh 0000000000000000' 'prm 0000000000000000' 'eff 0000000000000000' \
            'bnd 0000000000000000' 'amb 0000000000000000' 'no_new_privs 1' 'seccomp 2')"
        run "$GBOX" run --policy "$pol" --in-image fcap-probe setuid 0
        assert_output "errno EPERM 1"
        # CAP_DAC_OVERRIDE would open a directory its owner locked (mode 000)
        run "$GBOX" run --policy "$pol" --in-image sh -c 'mkdir /tmp/locked && chmod 000 /tmp/locked && fcap-probe ls /tmp/locked'
        assert_output "errno EACCES 13"
    done
}
