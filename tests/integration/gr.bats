#!/usr/bin/env bats
# gr.bats — running Graphoid programs the way an operator does: `gbox run prog.gr` with no flags,
# the interpreter image chosen by the extension, gr's import search path inside the sandbox
# (the importing file's directory, ./src and ./lib under the working directory, the stdlib),
# gbox.json beside the program, stdin/stdout, and an interactive REPL with -t.
#
# `gr` cannot be shipped: /usr/bin/gr is grstub, the TEST DOUBLE of tests/fixtures/grstub.c,
# packed by make as the stand-in `graphoid` image (build/images/graphoid). Its commands: import,
# print, alloc, threads, connect, listen, spawn, readline, open, write, tty, sleep, exit.

load helpers

PTYDRIVE=$BATS_TEST_DIRNAME/ptydrive.py

setup() {
    export GBOX_STORE_DIR=$BATS_TEST_TMPDIR/store
    [ -x "$(dirname "$GBOX")/images/graphoid/rootfs/usr/bin/gr" ] ||
        fail "the stand-in graphoid image is missing: run make"
    # a project: app/main.gr imports a sibling, a module of ./lib, one of ./src and one of the stdlib
    proj=$BATS_TEST_TMPDIR/proj
    mkdir -p "$proj/app" "$proj/lib" "$proj/src"
    printf 'print main\nimport sib\nimport util\nimport helper\nimport core\nargs\n' >"$proj/app/main.gr"
    printf 'print sibling\n' >"$proj/app/sib.gr"
    printf 'print lib util\n' >"$proj/lib/util.gr"
    printf 'print src helper\n' >"$proj/src/helper.gr"
    echo "not for the sandbox" >"$proj/secret.txt"
    chmod -R a+rX "$BATS_TEST_TMPDIR"
}

# pty ROWS COLS STEPS -- CMD...: run CMD on a terminal (tests/integration/ptydrive.py)
pty() {
    command -v python3 >/dev/null || fail "python3 (scripts/install-deps.sh) is needed for the terminal tests"
    python3 "$PTYDRIVE" "$@"
}

@test "gr in the stand-in image is the grstub test double, and says so" {
    run "$GBOX" run --module graphoid --in-image /usr/bin/gr --version
    assert_success
    assert_output "grstub 1 (test double for gr)"
    run jq -r .description "$(dirname "$GBOX")/images/graphoid/module.json"
    assert_output --partial "TEST DOUBLE"
}

@test "gbox run prog.gr, no flags: default domain, graphoid by the extension, every import path resolves" {
    cd "$proj"
    run --separate-stderr "$GBOX" run --report "$BATS_TEST_TMPDIR/r.json" app/main.gr one "two words"
    assert_success
    assert_output "main
sibling
lib util
src helper
stdlib core loaded
one
two words"
    assert_equal "$stderr" ""
    run jq -c '[.policy, .argv, [.images[].name]]' "$BATS_TEST_TMPDIR/r.json"
    assert_output '["base",["/usr/bin/gr","/app/main.gr","one","two words"],["graphoid","graphoid-stdlib","base"]]'
}

@test "from the program's own directory ./lib is that directory's: gr's error names what it searched" {
    cd "$proj/app"
    run --separate-stderr "$GBOX" run main.gr
    assert_failure 1
    assert_output "main
sibling"
    assert_equal "$stderr" "gr: import util: not found in /app, ./src, ./lib or the stdlib"
    # with its own lib/ beside it, the same program finds util there
    mkdir "$proj/app/lib" && printf 'print app lib util\n' >"$proj/app/lib/util.gr"
    mkdir "$proj/app/src" && printf 'print app src helper\n' >"$proj/app/src/helper.gr"
    chmod -R a+rX "$proj/app"
    run "$GBOX" run main.gr
    assert_success
    assert_line --index 2 "app lib util"
    assert_line --index 3 "app src helper"
}

@test "the sandbox sees the program's directory and ./src ./lib, read-only, and nothing else of the project" {
    cd "$proj"
    printf 'open /app/sib.gr\nopen /work/lib/util.gr\nopen /work/src/helper.gr\nopen /work/secret.txt\nopen %s/secret.txt\nwrite /app/new.gr x\nwrite /work/lib/new.gr x\nspawn /bin/pwd\n' \
        "$proj" >"$proj/app/look.gr"
    chmod a+r "$proj/app/look.gr"
    run "$GBOX" run app/look.gr
    assert_success
    assert_output "opened /app/sib.gr
opened /work/lib/util.gr
opened /work/src/helper.gr
open /work/secret.txt: No such file or directory
open $proj/secret.txt: No such file or directory
write /app/new.gr: Read-only file system
write /work/lib/new.gr: Read-only file system
/work
spawned /bin/pwd: exit 0"
}

@test "run from / (as gbox daemon's shims are), nothing of the host's root is mounted: the working directory is /app" {
    printf 'spawn /bin/pwd\nopen /work/lib\nimport sib\n' >"$proj/app/where.gr"
    chmod a+r "$proj/app/where.gr"
    cd /
    run "$GBOX" run "$proj/app/where.gr"
    assert_success
    assert_output "/app
spawned /bin/pwd: exit 0
open /work/lib: No such file or directory
sibling"
}

@test "gbox.json beside the program names the domain; --policy wins; a bad one is refused with file and field" {
    cd "$proj"
    echo '{"policy": "playground"}' >"$proj/app/gbox.json"
    run "$GBOX" run --report "$BATS_TEST_TMPDIR/r.json" app/sib.gr
    assert_success
    assert_output "sibling"
    assert_equal "$(jq -r .policy "$BATS_TEST_TMPDIR/r.json")" playground
    run "$GBOX" run --policy education --report "$BATS_TEST_TMPDIR/r.json" app/sib.gr
    assert_success
    assert_equal "$(jq -r .policy "$BATS_TEST_TMPDIR/r.json")" education
    # a policy file relative to gbox.json
    policy_file mine '"name": "mine"' >/dev/null
    cp "$BATS_TEST_TMPDIR/mine.json" "$proj/app/mine.json"
    echo '{"policy": "mine.json", "modules": ["probe"]}' >"$proj/app/gbox.json"
    printf 'spawn /usr/bin/probe status\n' >"$proj/app/p.gr"
    chmod -R a+r "$proj/app"
    run "$GBOX" run --report "$BATS_TEST_TMPDIR/r.json" app/p.gr
    assert_success
    assert_line "uid 1000"
    assert_equal "$(jq -r .policy "$BATS_TEST_TMPDIR/r.json")" mine
    echo '{"policy": "playground", "polcy": 1}' >"$proj/app/gbox.json"
    run -2 --separate-stderr "$GBOX" run app/sib.gr
    assert_equal "$stderr" "gbox: $proj/app/gbox.json: json.polcy: unknown field, expected \"policy\" or \"modules\""
    echo '{"modules": "probe"}' >"$proj/app/gbox.json"
    run -2 --separate-stderr "$GBOX" run app/sib.gr
    assert_equal "$stderr" "gbox: $proj/app/gbox.json: json.modules: expected an array of at most 64 module names (NAME or NAME@RANGE)"
    echo '{"policy": "no_such_domain"}' >"$proj/app/gbox.json"
    run -2 --separate-stderr "$GBOX" run app/sib.gr
    assert_output ""
    assert_equal "${stderr%%:*}" "gbox"
    [[ $stderr == *"gbox.json: json.policy: policy \"no_such_domain\" not found"* ]] || fail "$stderr"
    echo '{"policy": ' >"$proj/app/gbox.json"
    run -2 --separate-stderr "$GBOX" run app/sib.gr
    [[ $stderr == "gbox: $proj/app/gbox.json:2:0: unexpected token near end of file" ]] || fail "$stderr"
}

@test "stdin, stdout and the exit code pass through as with gr itself; threads, memory, processes" {
    printf 'readline\nreadline\nthreads 8\nalloc 16\nspawn /bin/false\nexit 42\n' >"$proj/io.gr"
    chmod a+r "$proj/io.gr"
    run -42 "$GBOX" run "$proj/io.gr" < <(printf 'first line\nsecond\n')
    assert_output "read: first line
read: second
threads 8
allocated 16 MiB
spawned /bin/false: exit 1"
    # no stdin at all: EOF, as gr would see it
    printf 'readline\n' >"$proj/eof.gr"
    chmod a+r "$proj/eof.gr"
    run "$GBOX" run "$proj/eof.gr" </dev/null
    assert_success
    assert_output "read: EOF"
}

@test "sockets follow the domain: none refuses, loopback listens and connects" {
    printf 'listen 7777\nconnect 127.0.0.1 7777\n' >"$proj/net.gr"
    chmod a+r "$proj/net.gr"
    local pol
    pol=$(policy_file lo '"network": {"mode": "loopback"}, "seccomp": {"allow": ['"$ALLOW_WITH_NET"']}')
    run "$GBOX" run --policy "$pol" "$proj/net.gr"
    assert_success
    assert_output "listening 7777
connected"
    pol=$(policy_file none '"seccomp": {"allow": ['"$ALLOW_WITH_NET"']}')
    printf 'connect 127.0.0.1 7777\n' >"$proj/net2.gr"
    chmod a+r "$proj/net2.gr"
    run -1 "$GBOX" run --policy "$pol" "$proj/net2.gr"
    assert_output "connect: Network is unreachable"
}

@test "-t: an interactive REPL on a pseudo-terminal: prompt, window size and resize, exit code, terminal restored" {
    run pty 30 100 '[{"expect":"gr> "},{"send":"tty\r"},{"expect":"tty yes 30x100"},
        {"resize":[40,120]},{"send":"tty\r"},{"expect":"tty yes 40x120"},
        {"send":"print hi there\r"},{"expect":"hi there"},{"send":"exit 7\r"}]' \
        -- "$GBOX" run -t --module graphoid --in-image gr
    assert_success
    assert_line "grstub REPL (a test double for gr): commands as in a script, \"exit 0\" or EOF ends"
    assert_line "EXIT 7"
    assert_line "TERMIOS RESTORED"
}

@test "-t: ^C reaches the program as SIGINT (the pty is its controlling terminal); terminal restored" {
    printf 'print ready\nsleep 60000\n' >"$proj/wait.gr"
    chmod a+r "$proj/wait.gr"
    run pty 24 80 '[{"expect":"ready"},{"send":"\u0003"}]' -- "$GBOX" run -t "$proj/wait.gr"
    assert_success
    assert_line "EXIT 130"
    assert_line --partial "killed by signal SIGINT"
    assert_line "TERMIOS RESTORED"
}

@test "-t: input typed at the terminal reaches readline; without -t a terminal stdin still gets the REPL" {
    printf 'tty\nreadline\nprint done\n' >"$proj/ask.gr"
    chmod a+r "$proj/ask.gr"
    run pty 24 80 '[{"expect":"tty yes 24x80"},{"send":"hello\r"},{"expect":"done"}]' -- "$GBOX" run -t "$proj/ask.gr"
    assert_success
    assert_line "read: hello"
    assert_line "EXIT 0"
    # gbox run without -t hands the terminal itself on (as gr run directly): the REPL starts
    run pty 24 80 '[{"expect":"gr> "},{"send":"print direct\r"},{"expect":"direct"},{"send":"exit 0\r"}]' \
        -- "$GBOX" run --module graphoid --in-image gr
    assert_success
    assert_line "EXIT 0"
}
