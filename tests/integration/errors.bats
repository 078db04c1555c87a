#!/usr/bin/env bats
# errors.bats — invalid policies and command lines: exit 2 (or 126/127 for programs), an exact
# message on stderr that names the file, the JSON path and what was expected, and nothing run.
#
# The bad policies live in tests/policies/bad/, one file per mistake; tests/policies/bad/EXPECTED
# holds the exact message for each (see its header). Each is checked through `gbox policy
# validate` and through `gbox run --policy`, which must refuse it the same way before anything
# starts.

load helpers

# expected_message NAME — the EXPECTED line for NAME, with {dir} filled in.
expected_message() {
    local dir msg
    dir=$(cd "$BAD_DIR" && pwd -P)
    msg=$(awk -F '\t' -v n="$1" '$1 == n { sub(/^[^\t]*\t/, ""); print; found = 1 }
                                 END { exit !found }' "$BAD_DIR/EXPECTED") ||
        fail "$1 has no line in $BAD_DIR/EXPECTED"
    echo "${msg//\{dir\}/$dir}"
}

# check_bad NAME — validate and run tests/policies/bad/NAME.json (from that directory, by file
# name): exit 2, nothing on stdout, exactly "gbox: MESSAGE" on stderr, and the program never ran.
check_bad() {
    local want
    want="gbox: $(expected_message "$1")"
    cd "$BAD_DIR"
    run --separate-stderr "$GBOX" policy validate "$1.json"
    assert_failure 2
    assert_output ""
    assert_equal "$stderr" "$want"
    run --separate-stderr "$GBOX" run --policy "$1.json" "$SRC_DIR/examples/hello.sh"
    assert_failure 2
    assert_output ""
    assert_equal "$stderr" "$want"
}

@test "every bad policy has an EXPECTED line and every EXPECTED line a bad policy" {
    local f n
    local -a files=() listed=()
    for f in "$BAD_DIR"/*.json; do
        f=${f##*/}
        files+=("${f%.json}")
    done
    while IFS=$'\t' read -r n _; do
        case $n in '#'* | '') continue ;; esac
        listed+=("$n")
    done <"$BAD_DIR/EXPECTED"
    assert_equal "$(printf '%s\n' "${listed[@]}")" "$(printf '%s\n' "${files[@]}")"
    [ "${#files[@]}" -ge 15 ]
}

@test "every EXPECTED message names the file, and a JSON path or a line:column" {
    local n msg
    while IFS=$'\t' read -r n msg; do
        case $n in '#'* | '') continue ;; esac
        [[ $msg == "$n.json: "* || $msg == "$n.json:"[0-9]* || $msg == "{dir}/$n.json: "* ]] ||
            fail "$n: message does not start with its file name: $msg"
    done <"$BAD_DIR/EXPECTED"
}

@test "bad policy syntax_error: a JSON syntax error gives FILE:LINE:COL" {
    check_bad syntax_error
}

@test "bad policy duplicate_key: a duplicate key is a syntax error with its position" {
    check_bad duplicate_key
}

@test "bad policy not_an_object: a top level that is not an object" {
    check_bad not_an_object
}

@test "bad policy missing_version: version missing after inheritance" {
    check_bad missing_version
}

@test "bad policy version_2: an unknown format version" {
    check_bad version_2
}

@test "bad policy unknown_key: an unknown key, with the known ones" {
    check_bad unknown_key
}

@test "bad policy wrong_type: a wrong type (string for an int)" {
    check_bad wrong_type
}

@test "bad policy size_too_small: a size below its minimum (memory.max 1K)" {
    check_bad size_too_small
}

@test "bad policy bad_size: a size that is not a size (lots)" {
    check_bad bad_size
}

@test "bad policy bad_duration: a duration that is not a duration" {
    check_bad bad_duration
}

@test "bad policy timeout_too_small: a duration below its minimum (timeout 5ms)" {
    check_bad timeout_too_small
}

@test "bad policy cpu_out_of_range: a number below its minimum (cpu.max 0)" {
    check_bad cpu_out_of_range
}

@test "bad policy unknown_enum: an unknown enum value (network.mode wifi)" {
    check_bad unknown_enum
}

@test "bad policy hostname_pattern: a string that does not match its pattern (hostname)" {
    check_bad hostname_pattern
}

@test "bad policy image_bad_name: interpreter.image is neither a module reference nor an absolute path" {
    check_bad image_bad_name
}

@test "bad policy relative_tmpfs_path: a relative path (tmpfs path)" {
    check_bad relative_tmpfs_path
}

@test "bad policy bind_relative_source: a relative path (bind source)" {
    check_bad bind_relative_source
}

@test "bad policy tmpfs_root: a tmpfs on /" {
    check_bad tmpfs_root
}

@test "bad policy duplicate_tmpfs: the same tmpfs path twice" {
    check_bad duplicate_tmpfs
}

@test "bad policy unknown_syscall: an unknown syscall name" {
    check_bad unknown_syscall
}

@test "bad policy unknown_group: an unknown syscall group" {
    check_bad unknown_group
}

@test "bad policy allow_and_kill: the same syscall named explicitly in allow and kill" {
    check_bad allow_and_kill
}

@test "bad policy clone3_allowed: clone3 in allow" {
    check_bad clone3_allowed
}

@test "bad policy rule_with_group: a group in seccomp.rules[].syscalls" {
    check_bad rule_with_group
}

@test "bad policy rule_never_effective: a rule that can never take effect" {
    check_bad rule_never_effective
}

@test "bad policy masked_eq_without_mask: masked_eq without a mask" {
    check_bad masked_eq_without_mask
}

@test "bad policy mask_without_masked_eq: a mask with an op other than masked_eq (it would be ignored)" {
    check_bad mask_without_masked_eq
}

@test "bad policy arg_index_out_of_range: an argument index above 5" {
    check_bad arg_index_out_of_range
}

@test "bad policy bad_errno_action: an unknown errno in an action" {
    check_bad bad_errno_action
}

@test "bad policy bad_signal: an unknown signal in a failure action" {
    check_bad bad_signal
}

@test "bad policy root_uid: uid 0 without allow_root" {
    check_bad root_uid
}

@test "bad policy gid_root: gid 0 without allow_root" {
    check_bad gid_root
}

@test "bad policy no_new_privs_false: no_new_privs false" {
    check_bad no_new_privs_false
}

@test "bad policy bogus_capability: an unknown capability (CAP_BOGUS)" {
    check_bad bogus_capability
}

@test "bad policy handler_without_program: a handler without {program}" {
    check_bad handler_without_program
}

@test "bad policy handler_two_programs: a handler with {program} twice" {
    check_bad handler_two_programs
}

@test "bad policy handler_relative_command: a handler whose interpreter is not an absolute path" {
    check_bad handler_relative_command
}

@test "bad policy extension_twice: one extension in two handlers" {
    check_bad extension_twice
}

@test "bad policy high_above_max: memory.high above memory.max" {
    check_bad high_above_max
}

@test "bad policy io_no_limit: a resources.io entry that limits nothing" {
    check_bad io_no_limit
}

@test "bad policy io_same_device: one device limited twice" {
    check_bad io_same_device
}

@test "bad policy io_bad_device: a device that is neither a /dev path nor MAJOR:MINOR" {
    check_bad io_bad_device
}

@test "bad policy cpuset_pattern: a malformed CPU list" {
    check_bad cpuset_pattern
}

@test "bad policy cycle_a: an extends cycle of two files (first)" {
    check_bad cycle_a
}

@test "bad policy cycle_b: an extends cycle of two files (second)" {
    check_bad cycle_b
}

@test "bad policy extends_missing: extends naming a policy that does not exist" {
    check_bad extends_missing
}

@test "bad policy bad_extends_name: extends naming something that is not a policy name" {
    check_bad bad_extends_name
}

@test "bad policy fallback_missing: fallback to a policy that does not exist" {
    check_bad fallback_missing
}

@test "bad policy fallback_self: fallback to itself" {
    check_bad fallback_self
}

# ---- nothing runs when the policy is invalid --------------------------------------------------

@test "an invalid policy runs nothing: a writable bind in it is never used" {
    local out=$BATS_TEST_TMPDIR/out
    mkdir "$out"
    chmod 0777 "$out"
    local bind="\"filesystem\": {\"binds\": [{\"source\": \"$out\", \"target\": \"/out\", \"writable\": true}]}"
    # control: the same policy without the mistake does write through the bind
    local good bad
    good=$(policy_file good "$bind")
    run "$GBOX" run --policy "$good" --in-image touch /out/good
    assert_success
    [ -e "$out/good" ]
    # the mistake is the last thing in the file, after the bind
    bad=$(policy_file bad "$bind, \"resources\": {\"memory\": {\"max\": \"lots\"}}")
    run --separate-stderr "$GBOX" run --policy "$bad" --in-image touch /out/bad
    assert_failure 2
    assert_output ""
    assert_equal "$stderr" "gbox: $bad: resources.memory.max: expected a size like \"256M\" (K, M, G, T) or a number of bytes, got \"lots\""
    [ ! -e "$out/bad" ] || fail "the program ran under an invalid policy"
}

@test "an invalid policy runs nothing: no cgroup is created" {
    cd "$BAD_DIR"
    "$GBOX" run --policy bad_size.json --in-image touch /tmp/x 2>/dev/null &
    local pid=$! rc=0
    wait "$pid" || rc=$?
    assert_equal "$rc" 2
    assert_no_cgroups "$pid"
}

@test "a report is not written for an invalid policy" {
    local rep=$BATS_TEST_TMPDIR/report.json
    cd "$BAD_DIR"
    run --separate-stderr "$GBOX" run --policy bad_size.json --report "$rep" --in-image true
    assert_failure 2
    [ ! -e "$rep" ]
}

@test "policy validate stops at the first invalid policy with 2" {
    cd "$BAD_DIR"
    run --separate-stderr "$GBOX" policy validate "$POLICY_DIR/base.json" bad_size.json "$POLICY_DIR/playground.json"
    assert_failure 2
    assert_output "base: ok ($POLICY_DIR/base.json)"
    assert_equal "$stderr" "gbox: $(expected_message bad_size)"
}

@test "policy show of an invalid policy prints nothing and exits 2" {
    cd "$BAD_DIR"
    run --separate-stderr "$GBOX" policy show unknown_key.json
    assert_failure 2
    assert_output ""
    assert_equal "$stderr" "gbox: $(expected_message unknown_key)"
}

@test "a policy name that does not exist: 2 with a message" {
    run --separate-stderr "$GBOX" run --policy no_such_policy --in-image true
    assert_failure 2
    assert_output ""
    # the directory as gbox finds it next to its binary (may be spelled build/../policies)
    [[ "$stderr" == 'gbox: policy "no_such_policy" not found (looked for /'*'/policies/no_such_policy.json; `gbox policy list` shows the available ones)' ]] ||
        fail "unexpected message: $stderr"
}

@test "a policy file that does not exist: 2 with a message naming it" {
    run --separate-stderr "$GBOX" run --policy "$BATS_TEST_TMPDIR/nope.json" --in-image true
    assert_failure 2
    assert_output ""
    assert_equal "$stderr" "gbox: $BATS_TEST_TMPDIR/nope.json: No such file or directory"
}

# ---- command line ----------------------------------------------------------------------------

@test "an unknown verb: 2 with a message and the usage" {
    run --separate-stderr "$GBOX" frobnicate
    assert_failure 2
    assert_output ""
    [ "${stderr_lines[0]}" = 'gbox: unknown verb "frobnicate"' ]
    [ "${stderr_lines[1]}" = 'usage: gbox VERB [OPTIONS] ...' ]
}

@test "no verb at all: 2 with the usage" {
    run --separate-stderr "$GBOX"
    assert_failure 2
    assert_output ""
    [ "${stderr_lines[0]}" = 'usage: gbox VERB [OPTIONS] ...' ]
}

@test "an unknown policy subcommand: 2" {
    run --separate-stderr "$GBOX" policy frobnicate
    assert_failure 2
    assert_output ""
    [ "${stderr_lines[0]}" = 'gbox policy: unknown subcommand "frobnicate"' ]
}

@test "gbox run without a program: 2" {
    run --separate-stderr "$GBOX" run
    assert_failure 2
    assert_output ""
    [ "${stderr_lines[0]}" = 'gbox run: expected a PROGRAM to run' ]
    run --separate-stderr "$GBOX" run --in-image
    assert_failure 2
    [ "${stderr_lines[0]}" = 'gbox run: expected a PROGRAM (CMD) to run' ]
}

@test "gbox run with an unknown option: 2" {
    run --separate-stderr "$GBOX" run --frobnicate "$SRC_DIR/examples/hello.sh"
    assert_failure 2
    assert_output ""
    [[ "$stderr" == *"usage: gbox run"* ]]
}

@test "a missing program: 127 with a message" {
    run -127 --separate-stderr "$GBOX" run "$BATS_TEST_TMPDIR/nosuch.sh"
    assert_failure 127
    assert_output ""
    assert_equal "$stderr" "gbox: program $BATS_TEST_TMPDIR/nosuch.sh: No such file or directory"
}

@test "a directory as the program: 126 with a message" {
    run --separate-stderr "$GBOX" run "$BATS_TEST_TMPDIR"
    assert_failure 126
    assert_output ""
    assert_equal "$stderr" "gbox: program $BATS_TEST_TMPDIR: not a regular file"
}

@test "a file with no handler that is not executable: 126 with a message" {
    local prog=$BATS_TEST_TMPDIR/data.txt
    echo hello >"$prog"
    chmod 644 "$prog"
    run --separate-stderr "$GBOX" run "$prog"
    assert_failure 126
    assert_output ""
    assert_equal "$stderr" "gbox: $prog: no interpreter for \".txt\" in policy base (interpreter.handlers) and the file is not executable by others"
}

@test "--in-image with a command the image does not have: 127 with a message" {
    run -127 --separate-stderr "$GBOX" run --in-image nosuchcmd
    assert_failure 127
    assert_output ""
    [[ "$stderr" == 'gbox: nosuchcmd: not found in image '*' (PATH /usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin)' ]] ||
        fail "unexpected message: $stderr"
}

@test "--in-image with an absolute path the image does not have: 127" {
    run -127 --separate-stderr "$GBOX" run --in-image /usr/bin/nosuchcmd
    assert_failure 127
    assert_output ""
}

# ---- network ----------------------------------------------------------------------------------

@test "bad policy egress_without_veth: an egress allowlist outside veth mode" {
    check_bad egress_without_veth
}

@test "bad policy host_with_userns: host networking from a user namespace without saying so" {
    check_bad host_with_userns
}

@test "bad policy net_pool_not_cidr: a pool that is not an IPv4 network (/33)" {
    check_bad net_pool_not_cidr
}

@test "bad policy net_pool_host_bits: a pool with host bits set" {
    check_bad net_pool_host_bits
}

@test "bad policy net_prefix_below_pool: link subnets larger than their pool" {
    check_bad net_prefix_below_pool
}

@test "bad policy net_address_broadcast: the broadcast address of a /30 as the sandbox's" {
    check_bad net_address_broadcast
}

@test "bad policy net_address_not_ipv4: an address with three octets" {
    check_bad net_address_not_ipv4
}

@test "bad policy net_host_address_outside: a host end outside the link subnet" {
    check_bad net_host_address_outside
}

@test "bad policy net_host_address_without_address: a fixed host end with a pooled sandbox end" {
    check_bad net_host_address_without_address
}

@test "bad policy egress_ports_with_icmp: ports on an icmp rule" {
    check_bad egress_ports_with_icmp
}

@test "bad policy egress_bad_port: a port above 65535" {
    check_bad egress_bad_port
}

@test "bad policy egress_bad_range: a port range that runs backwards" {
    check_bad egress_bad_range
}

@test "bad policy egress_without_to: an egress rule without its destination" {
    check_bad egress_without_to
}

@test "bad policy egress_to_host_bits: an egress destination with host bits set" {
    check_bad egress_to_host_bits
}

@test "bad policy egress_with_net_raw: a capability that would get around the egress allowlist" {
    check_bad egress_with_net_raw
}
