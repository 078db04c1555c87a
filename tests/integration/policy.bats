#!/usr/bin/env bats
# policy.bats — the domain policies in policies/ and `gbox policy validate|show|list|diff|groups`.

load helpers

# The policies that ship: every *.json in policies/ except the schema.
shipped_policies() {
    local f
    for f in "$POLICY_DIR"/*.json; do
        f=${f##*/}
        [ "$f" = schema.json ] || echo "${f%.json}"
    done
}

@test "policy list names exactly the policies in policies/" {
    run "$GBOX" policy list
    assert_success
    run awk '{ print $1 }' <<<"$output"
    assert_output "$(shipped_policies | LC_ALL=C sort)"
}

@test "policy list --json is valid JSON: every shipped policy, valid, with its description" {
    run --separate-stderr "$GBOX" policy list --json
    assert_success
    local json=$output
    run jq -e 'type == "array" and all(.[]; .valid == true and (.description | type) == "string")' <<<"$json"
    assert_success
    run jq -r '.[].name' <<<"$json"
    assert_output "$(shipped_policies | LC_ALL=C sort)"
    run jq -r '.[] | select(.name == "base") | .description' <<<"$json"
    assert_output "$(jq -r .description "$POLICY_DIR/base.json")"
}

@test "every policy from policy list validates" {
    local names name
    names=$("$GBOX" policy list --json | jq -r '.[].name')
    [ -n "$names" ]
    for name in $names; do
        run --separate-stderr "$GBOX" policy validate "$name"
        assert_success
        assert_output "$name: ok ($POLICY_DIR/$name.json)"
        assert_equal "$stderr" ""
    done
}

@test "policy validate takes several policies at once" {
    run "$GBOX" policy validate base playground "$POLICY_DIR/edge_iot.json"
    assert_success
    assert_output "$(printf '%s\n' "base: ok ($POLICY_DIR/base.json)" \
        "playground: ok ($POLICY_DIR/playground.json)" "edge_iot: ok ($POLICY_DIR/edge_iot.json)")"
}

@test "examples/hello.sh runs under every policy" {
    local name
    for name in $(shipped_policies); do
        run --separate-stderr "$GBOX" run --policy "$name" "$SRC_DIR/examples/hello.sh"
        [ "$status" -eq 0 ] || fail "policy $name: exit $status, stderr: $stderr"
        assert_line --index 0 "hello from gbox"
        assert_line --index 1 "uid=1000(gbox) gid=1000(gbox)"
    done
}

@test "every policy's hostname, limits and identity hold inside the sandbox" {
    local name host nofile
    for name in $(shipped_policies); do
        run "$GBOX" policy show "$name"
        assert_success
        host=$(jq -r .hostname <<<"$output")
        nofile=$(jq -r .resources.open_files <<<"$output")
        run "$GBOX" run --policy "$name" --in-image sh -c 'probe status; probe rlimits'
        [ "$status" -eq 0 ] || fail "policy $name: exit $status: $output"
        assert_line "hostname $host"
        assert_line "uid 1000"
        assert_line "nofile $nofile $nofile"
        assert_line "$(printf 'CapEff:\t0000000000000000')"
        assert_line "$(printf 'NoNewPrivs:\t1')"
    done
}

@test "policy show base prints the resolved JSON" {
    run --separate-stderr "$GBOX" policy show base
    assert_success
    local json=$output
    assert_equal "$(jq -r .name <<<"$json")" base
    assert_equal "$(jq -r .version <<<"$json")" 1
    assert_equal "$(jq -r .resources.open_files <<<"$json")" 256
    assert_equal "$(jq -r .resources.memory.max <<<"$json")" 512M
    assert_equal "$(jq -c .seccomp.kill <<<"$json")" '["@debug"]'
}

@test "policy show fills every default into a policy that sets nothing" {
    local f=$BATS_TEST_TMPDIR/minimal.json
    echo '{"version": 1}' >"$f"
    run --separate-stderr "$GBOX" policy show "$f"
    assert_success
    local json=$output
    assert_equal "$(jq -r .name <<<"$json")" minimal
    assert_equal "$(jq -r .extends <<<"$json")" null
    assert_equal "$(jq -r .hostname <<<"$json")" gbox
    assert_equal "$(jq -r .resources.open_files <<<"$json")" 256
    assert_equal "$(jq -r .resources.memory.max <<<"$json")" 512M
    assert_equal "$(jq -r .resources.timeout <<<"$json")" 300s
    assert_equal "$(jq -r .resources.pids.max <<<"$json")" 256
    assert_equal "$(jq -r .network.mode <<<"$json")" none
    assert_equal "$(jq -r .no_new_privs <<<"$json")" true
    assert_equal "$(jq -r .seccomp.default_action <<<"$json")" errno:ENOSYS
    assert_equal "$(jq -c '.filesystem.tmpfs' <<<"$json")" '[{"path":"/tmp","size":"64M","mode":"1777"}]'
    assert_equal "$(jq -r .failure_policies.grace <<<"$json")" 5s
}

@test "policy show merges the extends chain: objects deep-merge, arrays replace" {
    run --separate-stderr "$GBOX" policy show space_probe
    assert_success
    local json=$output
    assert_equal "$(jq -r .name <<<"$json")" space_probe
    assert_equal "$(jq -r .extends <<<"$json")" base
    # set by space_probe
    assert_equal "$(jq -r .resources.memory.max <<<"$json")" 256M
    assert_equal "$(jq -r .resources.open_files <<<"$json")" 128
    # inherited from base, key by key next to what space_probe sets in the same object
    assert_equal "$(jq -r .resources.memory.swap <<<"$json")" 0
    assert_equal "$(jq -r .filesystem.readonly_root <<<"$json")" true
    assert_equal "$(jq -c .seccomp.kill <<<"$json")" '["@debug"]'
    assert_equal "$(jq -r .user.uid <<<"$json")" 1000
    # arrays replace: space_probe's allow list is its own
    assert_equal "$(jq -c .seccomp.allow <<<"$json")" "$(jq -c .seccomp.allow "$POLICY_DIR/space_probe.json")"
}

@test "a child's null switches a limit off; leaving it out inherits" {
    local f
    f=$(policy_file nulls '"resources": {"memory": {"max": null}}')
    run --separate-stderr "$GBOX" policy show "$f"
    assert_success
    assert_equal "$(jq -r .resources.memory.max <<<"$output")" null
    assert_equal "$(jq -r .resources.memory.swap <<<"$output")" 0
}

@test "policy diff base playground lists resources.memory.max" {
    run --separate-stderr "$GBOX" policy diff base playground
    assert_failure 1
    assert_output --partial "$(printf '%s\n' 'resources.memory.max:' '  - base: "512M"' '  + playground: "128M"')"
    assert_line "resources.pids.max:"
    refute_line "version:"
}

@test "policy diff of a policy with itself is empty and exits 0" {
    run --separate-stderr "$GBOX" policy diff base base
    assert_success
    assert_output ""
}

@test "policy groups lists every group with its members" {
    run "$GBOX" policy groups
    assert_success
    local g
    for g in @default @basic-io @file-system @network-io @mount @keyring @namespaces @debug @io-uring; do
        assert_line --regexp "^$g "
    done
    run bash -c '"$1" policy groups | grep -A1 "^@debug " | tail -1' _ "$GBOX"
    assert_output --regexp '(^| )ptrace( |$)'
}

@test "--policy takes a file path as well as a name" {
    run in_netns "$GBOX" run --policy "$POLICY_DIR/space_probe.json" --in-image probe status
    assert_success
    assert_line "hostname $(jq -r .hostname "$POLICY_DIR/space_probe.json")"
}

@test "the policy's limits reach the sandbox: playground's file_size 8M and /tmp 16M" {
    run "$GBOX" run --policy playground --in-image probe diskfill /tmp/f
    assert_success
    assert_output "$(printf 'wrote 8 MiB\nerrno EFBIG 27')"
    run "$GBOX" run --policy playground --in-image sh -c \
        'probe diskfill /tmp/a 7 && probe diskfill /tmp/b 7 && probe diskfill /tmp/c 7'
    assert_success
    assert_line --index 0 "wrote 7 MiB"
    assert_line --index 2 "wrote 7 MiB"
    assert_line --index 5 "errno ENOSPC 28"
    local mib
    mib=$(sed -n 's/^wrote \([0-9]*\) MiB$/\1/p' <<<"${lines[4]}")
    [ -n "$mib" ] && [ "$mib" -le 2 ] || fail "wrote '$mib' MiB more into a 16M /tmp holding 14 MiB"
}

@test "playground kills on @namespaces where base only denies" {
    run "$GBOX" run --in-image probe unshare user
    assert_failure 1
    assert_output "errno EPERM 1"
    run --separate-stderr "$GBOX" run --policy playground --in-image probe unshare user
    assert_failure 159
    assert_equal "$stderr" "gbox: killed for forbidden syscall unshare (policy playground, seccomp.kill (@namespaces))"
}

@test "development denies @debug with EPERM instead of killing" {
    run "$GBOX" run --policy development --in-image probe ptrace 1
    assert_failure 1
    assert_output "errno EPERM 1"
}

@test "the policy cache: what a cached load gives is what a fresh one gives; an edit anywhere on the chain is seen" {
    export GBOX_RUN_DIR=$BATS_TEST_TMPDIR/run
    mkdir -p "$GBOX_RUN_DIR"
    local d=$BATS_TEST_TMPDIR/chain
    mkdir -p "$d"
    echo '{"version": 1, "extends": "'"$POLICY_DIR"'/base.json", "resources": {"pids": {"max": 40}}}' >"$d/mid.json"
    echo '{"version": 1, "extends": "mid.json", "hostname": "cached"}' >"$d/top.json"
    run --separate-stderr "$GBOX" policy show "$d/top.json"
    assert_success
    local fresh=$output
    # the entry exists and a second load gives the same bytes
    run find "$GBOX_RUN_DIR/policy-cache" -name '*.json' -type f
    assert_equal "${#lines[@]}" 1
    run --separate-stderr "$GBOX" policy show "$d/top.json"
    assert_success
    assert_equal "$output" "$fresh"
    assert_equal "$(jq -r .resources.pids.max <<<"$output")" 40
    # the middle file is edited: the new limit, not the cached one
    echo '{"version": 1, "extends": "'"$POLICY_DIR"'/base.json", "resources": {"pids": {"max": 41}}}' >"$d/mid.json"
    run --separate-stderr "$GBOX" policy show "$d/top.json"
    assert_success
    assert_equal "$(jq -r .resources.pids.max <<<"$output")" 41
    # settled files are checked by their fingerprint (dev, inode, size, mtime, ctime): an edit
    # of the same size with its mtime set back is still seen (the ctime moves)
    sleep 2.1
    run --separate-stderr "$GBOX" policy show "$d/top.json"
    assert_success
    run --separate-stderr "$GBOX" policy show "$d/top.json"
    assert_equal "$(jq -r .resources.pids.max <<<"$output")" 41
    touch -r "$d/mid.json" "$d/stamp"
    echo '{"version": 1, "extends": "'"$POLICY_DIR"'/base.json", "resources": {"pids": {"max": 42}}}' >"$d/mid.json"
    touch -r "$d/stamp" "$d/mid.json"
    run --separate-stderr "$GBOX" policy show "$d/top.json"
    assert_success
    assert_equal "$(jq -r .resources.pids.max <<<"$output")" 42
    # the middle file made invalid: the error, not a cached policy
    echo '{"version": 1, "extends": "'"$POLICY_DIR"'/base.json", "resources": {"pids": {"max": "many"}}}' >"$d/mid.json"
    run --separate-stderr "$GBOX" policy show "$d/top.json"
    assert_failure 2
    [[ $stderr == *mid.json*resources.pids.max* ]] || fail "stderr: $stderr"
}
