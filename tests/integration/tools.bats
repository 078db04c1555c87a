#!/usr/bin/env bats
# tools.bats — the operator's tools: gbox explain (why a sandbox ended: the syscall, rule and
# field; the limit with its numbers), gbox policy learn, man pages, bash completion, --json on
# listings, gbox stats.

load helpers

setup() {
    export GBOX_STORE_DIR=$BATS_TEST_TMPDIR/store
    small=$(policy_file small '"name": "small", "resources": {"memory": {"max": "32M"}, "pids": {"max": 8}, "timeout": "3s"}')
}

gr_prog() { # gr_prog NAME 'LINES' — a .gr program for the grstub test double
    printf '%b' "$2" >"$BATS_TEST_TMPDIR/$1.gr"
    chmod a+r "$BATS_TEST_TMPDIR/$1.gr"
    echo "$BATS_TEST_TMPDIR/$1.gr"
}

# ---- explain ------------------------------------------------------------------------------

@test "explain: a killed syscall: the call with its arguments, the rule, the field to change" {
    run -159 "$GBOX" run -q --report "$BATS_TEST_TMPDIR/r.json" --in-image probe syscall ptrace 16 1234
    run "$GBOX" explain "$BATS_TEST_TMPDIR/r.json"
    assert_success
    assert_line "end      seccomp"
    assert_line "cause    ptrace(0x10, 0x4d2, 0x0, 0x0, 0x0, 0x0) — syscall 101, x86_64"
    assert_line "rule     seccomp.kill (@debug) of policy base"
    assert_line "field    seccomp.kill"
    assert_line --partial "change   seccomp.kill names ptrace through the group @debug"
    run "$GBOX" explain --json "$BATS_TEST_TMPDIR/r.json"
    assert_success
    assert_equal "$(jq -r .field <<<"$output")" seccomp.kill
    assert_equal "$(jq -r .end <<<"$output")" seccomp
}

@test "explain: out of memory, with the limit and the peak in numbers" {
    local prog
    prog=$(gr_prog oom 'alloc 200\n')
    run -137 "$GBOX" run -q --policy "$small" --report "$BATS_TEST_TMPDIR/r.json" "$prog"
    run "$GBOX" explain "$BATS_TEST_TMPDIR/r.json"
    assert_success
    assert_line "end      oom"
    assert_line --regexp '^cause    out of memory: the kernel.s OOM killer ended it at the memory limit 32.0 MiB \(33554432 bytes\); peak use .*[0-9]+ OOM kill'
    assert_line "field    resources.memory.max"
}

@test "explain: the process limit, the wall-clock timeout and the CPU time limit" {
    local prog
    prog=$(gr_prog pids 'threads 20\n')
    run -1 "$GBOX" run -q --policy "$small" --report "$BATS_TEST_TMPDIR/p.json" "$prog"
    run "$GBOX" explain "$BATS_TEST_TMPDIR/p.json"
    assert_line "field    resources.pids.max"
    assert_line "change   raise resources.pids.max (now 8) if the program needs more processes or threads"
    prog=$(gr_prog slow 'sleep 60000\n')
    run -124 "$GBOX" run -q --policy "$small" --report "$BATS_TEST_TMPDIR/t.json" "$prog"
    run "$GBOX" explain "$BATS_TEST_TMPDIR/t.json"
    assert_line "end      timeout"
    assert_line --regexp '^cause    wall-clock timeout: it ran [0-9]+ ms, resources.timeout is 3000 ms'
    assert_line "field    resources.timeout"
    local cpu
    cpu=$(policy_file cpu '"resources": {"timeout": "120s", "cpu_time": "1s"}')
    run -152 "$GBOX" run -q --policy "$cpu" --report "$BATS_TEST_TMPDIR/c.json" --in-image sh -c 'while :; do :; done'
    run "$GBOX" explain "$BATS_TEST_TMPDIR/c.json"
    assert_line --regexp '^cause    CPU time limit: it used [0-9]+ ms of CPU \(user \+ system\), resources.cpu_time is 1000 ms'
    assert_line "field    resources.cpu_time"
}

@test "explain: a normal exit says no limit ended it; bad input exits 2 naming the file" {
    run "$GBOX" run -q --report "$BATS_TEST_TMPDIR/ok.json" --in-image true
    run "$GBOX" explain "$BATS_TEST_TMPDIR/ok.json"
    assert_success
    assert_line "cause    the program exited by itself with status 0; no limit ended it"
    echo '{"end": "bogus"}' >"$BATS_TEST_TMPDIR/bad.json"
    run -2 --separate-stderr "$GBOX" explain "$BATS_TEST_TMPDIR/bad.json"
    assert_equal "$stderr" "gbox: $BATS_TEST_TMPDIR/bad.json: json.end: expected one of exited, signaled, timeout, seccomp, oom, setup (a report of gbox run --report)"
    echo '{"end": ' >"$BATS_TEST_TMPDIR/bad.json"
    run -2 --separate-stderr "$GBOX" explain "$BATS_TEST_TMPDIR/bad.json"
    [[ $stderr == "gbox: $BATS_TEST_TMPDIR/bad.json:"* ]] || fail "$stderr"
    run -2 "$GBOX" explain
    run -2 "$GBOX" explain a b
}

@test "explain ID: the last report gbox daemon kept for a sandbox" {
    export GBOX_SOCKET=$BATS_TEST_TMPDIR/gbox.sock GBOX_STATE_DIR=$BATS_TEST_TMPDIR/state
    getent group gbox >/dev/null || groupadd --system gbox
    "$GBOX" daemon >"$BATS_TEST_TMPDIR/daemon.log" 2>&1 &
    local dpid=$! i
    for i in $(seq 100); do [ -S "$GBOX_SOCKET" ] && "$GBOX" ps >/dev/null 2>&1 && break; sleep 0.05; done
    "$GBOX" spawn --name killed --in-image probe syscall ptrace >/dev/null
    for i in $(seq 300); do
        [ "$("$GBOX" ps --json | jq -r '.[] | select(.name == "killed") | .state')" = failed ] && break
        sleep 0.1
    done
    run "$GBOX" explain killed
    kill -TERM "$dpid"
    wait "$dpid" || true
    assert_success
    assert_line "end      seccomp"
    assert_line "field    seccomp.kill"
}

@test "explain ID: no daemon, or no such sandbox: exit 1 with the reason" {
    export GBOX_SOCKET=$BATS_TEST_TMPDIR/none.sock
    run -1 --separate-stderr "$GBOX" explain nosuchbox
    [[ $stderr == "gbox: cannot reach the daemon at $GBOX_SOCKET"* ]] || fail "$stderr"
}

# ---- policy learn ---------------------------------------------------------------------------

@test "policy learn: a network program under base: the policy adds its calls and loopback; it validates and then runs" {
    local prog out=$BATS_TEST_TMPDIR/learned.json
    prog=$(gr_prog net 'print hi\nlisten 7000\nconnect 127.0.0.1 7000\nopen /etc/passwd\nwrite /tmp/out.txt x\n')
    # under base itself it fails: no socket calls, no network
    run -1 "$GBOX" run "$prog"
    assert_line "listen: Function not implemented"
    run --separate-stderr "$GBOX" policy learn --report "$BATS_TEST_TMPDIR/learn.json" -- "$prog"
    assert_success
    echo "$output" >"$out"
    # stdout is the policy alone; the program's output and the summary are on stderr
    assert_equal "$(jq -r .extends "$out")" "$POLICY_DIR/base.json"
    assert_equal "$(jq -r .name "$out")" learned
    assert_equal "$(jq -c '.seccomp.allow - (input | .seccomp.allow)' "$out" <("$GBOX" policy show base))" '["socket","connect","bind","listen"]'
    assert_equal "$(jq -r .network.mode "$out")" loopback
    [[ $stderr == *"hi"*"listening 7000"* ]] || fail "the program's output is not on stderr: $stderr"
    [[ $stderr == *"learn: syscalls base does not allow: socket connect bind listen"* ]] || fail "$stderr"
    [[ $stderr == *"learn: paths written: /tmp/out.txt"* ]] || fail "$stderr"
    [[ $stderr == *"learn: connected to: 127.0.0.1:7000"* ]] || fail "$stderr"
    run jq -c '[(.paths.read | index("/etc/passwd") != null), .network.bind]' "$BATS_TEST_TMPDIR/learn.json"
    assert_output '[true,["127.0.0.1:7000"]]'
    run "$GBOX" policy validate "$out"
    assert_success
    run "$GBOX" run --policy "$out" "$prog"
    assert_success
    assert_output "hi
listening 7000
connected
opened /etc/passwd
wrote /tmp/out.txt"
}

@test "policy learn: a syscall BASE kills through a group: the group is split, the call allowed, the rest still killed" {
    local out=$BATS_TEST_TMPDIR/l.json
    run -159 "$GBOX" run -q --in-image probe syscall ptrace 16 1
    "$GBOX" policy learn --name tracer --in-image probe syscall ptrace 16 1 >"$out" 2>/dev/null
    assert_equal "$(jq -c .seccomp.kill "$out")" '["process_vm_readv","process_vm_writev","perf_event_open","kcmp","pidfd_getfd"]'
    assert_equal "$(jq -c '.seccomp.allow[-1], .name' "$out")" '"ptrace"
"tracer"'
    run "$GBOX" policy validate "$out"
    assert_success
    # the call now runs (and fails for want of a capability) instead of killing the sandbox
    run -1 "$GBOX" run --policy "$out" --in-image probe syscall ptrace 16 1
    assert_output "errno EPERM 1"
    run -159 "$GBOX" run -q --policy "$out" --in-image probe syscall process_vm_readv
}

@test "policy learn: usage errors and a bad BASE exit 2" {
    run -2 "$GBOX" policy learn
    run -2 "$GBOX" policy learn --name 'Bad Name' --in-image true
    run -2 --separate-stderr "$GBOX" policy learn --policy no_such_policy --in-image true
    [[ $stderr == *'policy "no_such_policy" not found'* ]] || fail "$stderr"
}

# ---- stats ----------------------------------------------------------------------------------

start_daemon() {
    export GBOX_SOCKET=$BATS_TEST_TMPDIR/gbox.sock GBOX_STATE_DIR=$BATS_TEST_TMPDIR/state
    getent group gbox >/dev/null || groupadd --system gbox
    "$GBOX" daemon >"$BATS_TEST_TMPDIR/daemon.log" 2>&1 &
    DAEMON_PID=$!
    local i
    for i in $(seq 100); do [ -S "$GBOX_SOCKET" ] && "$GBOX" ps >/dev/null 2>&1 && return 0; sleep 0.05; done
    fail "the daemon did not come up: $(cat "$BATS_TEST_TMPDIR/daemon.log")"
}

stop_daemon() {
    local id
    for id in $("$GBOX" ps --json | jq -r '.[] | select(.state == "running") | .id'); do "$GBOX" kill "$id" >/dev/null || true; done
    for id in $(seq 50); do
        [ -z "$("$GBOX" ps --json | jq -r '.[] | select(.state == "running") | .id')" ] && break
        sleep 0.1
    done
    kill -TERM "$DAEMON_PID"
    wait "$DAEMON_PID" || true
}

@test "stats: a table once with --no-stream (and off a terminal), --json the counters, live on a terminal" {
    start_daemon
    "$GBOX" spawn --name spin --in-image sh -c 'while :; do :; done' >/dev/null
    "$GBOX" spawn --name idle --in-image probe sleep 100 >/dev/null
    local i
    for i in $(seq 100); do
        [ "$("$GBOX" ps --json | jq '[.[] | select(.state == "running")] | length')" = 2 ] && break
        sleep 0.1
    done
    run "$GBOX" stats --no-stream
    local no_stream=$output
    run "$GBOX" stats --json idle
    local as_json=$output
    run "$GBOX" stats spin
    local one=$output
    run python3 "$BATS_TEST_DIRNAME/ptydrive.py" 24 120 '[{"expect":"spin"},{"sleep":3},{"send":"\u0003"}]' -- "$GBOX" stats
    local live=$output live_rc=$status
    run -1 --separate-stderr "$GBOX" stats nosuch
    local missing=$stderr
    stop_daemon
    [[ $(head -n 1 <<<"$no_stream") =~ ^ID\ +NAME\ +DOMAIN\ +CPU%\ +MEM\ +MEM-PEAK\ +PIDS\ +IO-READ\ +IO-WRITE$ ]] || fail "$no_stream"
    grep -Eq '^[0-9a-f]{12} spin +base +[0-9.]+ +[0-9.]+[KMG]?i?B ' <<<"$no_stream" || fail "$no_stream"
    grep -Eq '^[0-9a-f]{12} idle ' <<<"$no_stream" || fail "$no_stream"
    assert_equal "$(wc -l <<<"$one")" 2
    [ "$(jq .pids <<<"$as_json")" -ge 1 ] || fail "$as_json"
    # on a terminal: redrawn in place (home + clear) more than once, ^C ends it with 0
    assert_equal "$live_rc" 0
    [ "$(grep -o $'\033\[H\033\[2J' <<<"$live" | wc -l)" -ge 2 ] || fail "$live"
    [[ $live == *"EXIT 0"* ]] || fail "$live"
    assert_equal "$missing" "gbox: no sandbox nosuch"
}

# ---- man pages, completion, --json ----------------------------------------------------------

@test "make install puts roff man pages (from docs/*.md) and the bash completion in place; man -l reads them" {
    local dest=$BATS_TEST_TMPDIR/dest
    run make -s -C "$SRC_DIR" install DESTDIR="$dest" PREFIX=/usr
    assert_success
    local page
    for page in man1/gbox.1 man5/gbox-policy.5 man5/gbox-image.5; do
        [ -f "$dest/usr/share/man/$page" ] || fail "$page not installed"
        head -c 300 "$dest/usr/share/man/$page" | grep -q '^\.TH ' || fail "$page is not roff"
    done
    run env MANWIDTH=100 man -l "$dest/usr/share/man/man1/gbox.1"
    assert_success
    assert_line --regexp '^GBOX\(1\) +User Commands +GBOX\(1\)$'
    assert_line --regexp '^RUNNING GRAPHOID PROGRAMS$'
    assert_output --partial "gbox policy learn"
    run env MANWIDTH=100 man -l "$dest/usr/share/man/man5/gbox-image.5"
    assert_line --regexp '^GBOX-IMAGE\(5\) +File Formats +GBOX-IMAGE\(5\)$'
    assert_output --partial "mount_point"
    run env MANWIDTH=100 man -l "$dest/usr/share/man/man5/gbox-policy.5"
    assert_line --regexp '^GBOX-POLICY\(5\) +File Formats +GBOX-POLICY\(5\)$'
    cmp "$dest/usr/share/bash-completion/completions/gbox" "$SRC_DIR/completions/gbox"
}

# complete WORD... — what the completion offers for the last word, sorted, one line
complete_words() {
    bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _gbox
             printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' _ "$SRC_DIR/completions/gbox" "$@"
}

@test "bash completion: verbs, subcommands, options, policy names from the policy directory" {
    run complete_words "$GBOX" ""
    assert_output --partial "explain "
    assert_output --partial "run "
    assert_output --partial "stats "
    run complete_words "$GBOX" po
    assert_output "policy "
    run complete_words "$GBOX" policy ""
    assert_output "--help diff groups learn list show validate "
    run complete_words "$GBOX" run --policy p
    assert_output "playground "
    run complete_words "$GBOX" policy show s
    assert_output "scientific_compute server_application space_probe "
    run complete_words "$GBOX" run --t
    assert_output "--tty "
    run complete_words "$GBOX" stats --n
    assert_output "--no-stream "
    run complete_words "$GBOX" image ""
    assert_output "--help build digest gc import inspect ls rm validate "
    # every shipped policy is offered
    local names
    names=$(complete_words "$GBOX" run --policy "")
    assert_equal "$names" "$(cd "$POLICY_DIR" && ls *.json | grep -v '^schema.json$' | sed 's/\.json$//' | sort | tr '\n' ' ')"
}

@test "--json on every listing: policy list, policy groups, image ls, ps, stats" {
    run "$GBOX" policy list --json
    assert_success
    jq -e 'length > 10' <<<"$output" >/dev/null || fail "$output"
    run "$GBOX" policy groups --json
    assert_success
    assert_equal "$(jq -r '.[] | select(.name == "@debug") | .syscalls | index("ptrace") != null' <<<"$output")" true
    run -2 "$GBOX" policy groups --yaml
    run "$GBOX" image ls --json
    assert_success
    jq -e 'type == "array"' <<<"$output" >/dev/null
    start_daemon
    run "$GBOX" ps --json
    local ps_out=$output
    run "$GBOX" stats --json
    local st=$output
    stop_daemon
    jq -e 'type == "array"' <<<"$ps_out" >/dev/null || fail "$ps_out"
    jq -e 'type == "object"' <<<"$st" >/dev/null || fail "$st"
}

@test "image build: progress on a terminal (stderr, rewritten in place, cleared), nothing when not a terminal" {
    run python3 "$BATS_TEST_DIRNAME/ptydrive.py" 24 100 '[]' -- "$GBOX" image build "$(dirname "$GBOX")/images/base"
    assert_success
    assert_output --partial $'\r\033[Kcopy: 1 files'
    assert_output --partial $'\r\033[Kdigest: '
    assert_line --regexp $'\r\033\\[Kbase:1\\.0\\.0 sha256:[0-9a-f]{64}$'
    # piped: only the result line
    rm -rf "$GBOX_STORE_DIR"
    run --separate-stderr "$GBOX" image build "$(dirname "$GBOX")/images/base"
    assert_success
    assert_output --regexp '^base:1\.0\.0 sha256:[0-9a-f]{64}$'
    assert_equal "$stderr" ""
    # GBOX_PROGRESS=never silences it on a terminal too
    rm -rf "$GBOX_STORE_DIR"
    run env GBOX_PROGRESS=never python3 "$BATS_TEST_DIRNAME/ptydrive.py" 24 100 '[]' -- "$GBOX" image build "$(dirname "$GBOX")/images/base"
    refute_output --partial "copy: "
}
