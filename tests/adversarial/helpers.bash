# helpers.bash — shared by the adversarial suites (tests/adversarial/*.bats).
#
# Every test makes an escape attempt from inside a sandbox of a shipped policy (playground and
# server_application unchanged, or a policy that extends them by one field) with the attack
# helper of the base image (tests/adversarial/attack.c, /usr/bin/attack), and asserts that it is
# blocked and how: the exact errno, the signal, or the report's end and seccomp rule. Where it
# helps, a control run of the same attack on the host shows the attack itself is real here.

load '../integration/helpers'

# Every gbox of these suites runs in a network namespace of its own (see gbox-netns); GBOX_REAL
# is the binary itself, beside which the attack helper and the images are.
if [ "$GBOX" != "$BATS_TEST_DIRNAME/gbox-netns" ]; then
    export GBOX_REAL=$GBOX
fi
GBOX=$BATS_TEST_DIRNAME/gbox-netns
ATTACK=${ATTACK:-$(dirname "$GBOX_REAL")/attack}
PROBE=$(dirname "$GBOX_REAL")/probe
# the host uid/gid that uid/gid 1000 inside every sandbox maps to (plan.h: GBOX_HOST_ID_BASE)
SANDBOX_HOST_UID=101000

# attempt POLICY CMD... — run CMD (from the image) in a sandbox of POLICY with a report.
attempt() {
    local pol=$1
    shift
    run --separate-stderr "$GBOX" run --policy "$pol" --report "$BATS_TEST_TMPDIR/report.json" --in-image "$@"
}

# report_of FILTER — a field of the last attempt's report.
report_of() {
    jq -r "$1" "$BATS_TEST_TMPDIR/report.json"
}

# blocked_as POLICY 'EXPECTED' CMD... — the attempt ran to its end (no kill) and printed exactly
# EXPECTED.
blocked_as() {
    local pol=$1 want=$2
    shift 2
    attempt "$pol" "$@"
    [ "$(report_of .end)" = exited ] ||
        fail "[$pol] $*: expected to end normally, report: $(jq -c '{"end": .end, exit_code, syscall}' "$BATS_TEST_TMPDIR/report.json" 2>&1), stderr: $stderr"
    [ "$output" = "$want" ] || fail "[$pol] $*: expected
$want
--- got
$output"
}

# killed_for POLICY SYSCALL RULE CMD... — seccomp killed the whole sandbox for SYSCALL and the
# report and message name RULE.
killed_for() {
    local pol=$1 sc=$2 rule=$3
    shift 3
    attempt "$pol" "$@"
    [ "$status" -eq 159 ] || fail "[$pol] $*: expected exit 159 (seccomp kill), got $status: $output $stderr"
    assert_equal "$(report_of .end)" seccomp
    assert_equal "$(report_of .syscall.name)" "$sc"
    assert_equal "$(report_of .syscall.rule)" "$rule"
    assert_equal "$stderr" "gbox: killed for forbidden syscall $sc (policy $pol, $rule)"
}

# sandbox_program_pid GBOX_PID — host pid of the program (pid 2 inside) that gbox GBOX_PID runs.
sandbox_program_pid() {
    local init prog i
    for i in $(seq 250); do
        if init=$(pgrep -P "$1" | head -n 1) && [ -n "$init" ] &&
            prog=$(pgrep -P "$init" | head -n 1) && [ -n "$prog" ]; then
            echo "$prog"
            return 0
        fi
        sleep 0.02
    done
    return 1
}

# wait_for_line FILE TEXT — until FILE has a line starting with TEXT (5 s at most).
wait_for_line() {
    local i
    for i in $(seq 250); do
        grep -q "^$2" "$1" 2>/dev/null && return 0
        sleep 0.02
    done
    fail "no line \"$2\" in $1: $(cat "$1" 2>/dev/null)"
}

# stop PID... — end host helpers started by a test (only those), and reap them.
stop() {
    local p
    for p in "$@"; do
        [ -n "$p" ] || continue
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
}

# policy_from BASE NAME 'JSON MEMBERS' — write $BATS_TEST_TMPDIR/NAME.json extending the shipped
# policy BASE (playground, server_application, ...) with these top-level members; print its path.
policy_from() {
    local f=$BATS_TEST_TMPDIR/$2.json
    printf '{"version": 1, "extends": "%s/%s.json"%s%s}\n' "$POLICY_DIR" "$1" "${3:+, }" "${3:-}" >"$f"
    echo "$f"
}
