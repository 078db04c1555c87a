#!/usr/bin/env bats
# runtime.bats — attacks on the runtime itself: overwriting the binary that runs the sandbox
# (CVE-2019-5736 class), file descriptors and working directories that lead back to the host
# (CVE-2024-21626 class), and the sandbox's pid 1, which is a copy of the host's gbox.

load helpers

@test "CVE-2019-5736: the program's own binary cannot be opened for writing through /proc/self/exe" {
    local pol
    for pol in playground server_application; do
        blocked_as "$pol" "errno EACCES 13" attack exe-write
        blocked_as "$pol" "$(printf 'o_path: ok 3\nreopen: errno EACCES 13')" attack exe-reopen
    done
}

@test "CVE-2019-5736: a host program the sandbox user owns and may write stays unwritable (ETXTBSY, EROFS)" {
    # the worst case: the program is a host file owned by the sandbox's own host uid, mode 0777;
    # while it runs the kernel refuses writers (ETXTBSY), and its bind is read-only (EROFS)
    local prog=$BATS_TEST_TMPDIR/evil script=$BATS_TEST_TMPDIR/self.sh
    cp "$ATTACK" "$prog"
    printf 'probe write /app/self.sh pwned\n' >"$script"
    chown "$SANDBOX_HOST_UID:$SANDBOX_HOST_UID" "$prog" "$script"
    chmod 0777 "$prog" "$script"
    local before_prog before_script pol
    before_prog=$(sha256sum <"$prog")
    before_script=$(sha256sum <"$script")
    for pol in playground server_application; do
        run "$GBOX" run --policy "$pol" "$prog" exe-write
        assert_output "errno ETXTBSY 26"
        run "$GBOX" run --policy "$pol" "$prog" exe-reopen
        assert_output "$(printf 'o_path: ok 3\nreopen: errno ETXTBSY 26')"
        run "$GBOX" run --policy "$pol" "$script"
        assert_output "errno EROFS 30"
    done
    assert_equal "$(sha256sum <"$prog")" "$before_prog"
    assert_equal "$(sha256sum <"$script")" "$before_script"
}

@test "CVE-2019-5736: gbox's binary behind the sandbox's pid 1 is out of reach (/proc/1/exe and all of /proc/1)" {
    local before pol
    before=$(sha256sum <"$GBOX")
    for pol in playground server_application; do
        blocked_as "$pol" "errno EACCES 13" attack exe-write 1
        blocked_as "$pol" "o_path: errno EACCES 13" attack exe-reopen 1
        blocked_as "$pol" "$(printf '%s\n' 'readlink exe: errno EACCES 13' 'open exe: errno EACCES 13' \
            'readlink cwd: errno EACCES 13' 'open cwd: errno EACCES 13' 'readlink root: errno EACCES 13' \
            'open root: errno EACCES 13' 'open environ: errno EACCES 13' 'open maps: errno EACCES 13' \
            'open mem: errno EACCES 13' 'open auxv: errno EACCES 13' 'open stack: errno EACCES 13' \
            'write mem: errno EACCES 13' 'list fd: errno EACCES 13')" attack init-proc
    done
    assert_equal "$(sha256sum <"$GBOX")" "$before"
}

@test "CVE-2024-21626: no fd, working directory or /proc view leads outside, even with host fds open in the caller" {
    local pol
    # directories and files of the host open in gbox's caller, beyond stdio
    exec 7</ 8<"$BATS_TEST_TMPDIR" 9<"$BATS_TEST_FILENAME"
    for pol in playground server_application; do
        attempt "$pol" attack fd-escape
        assert_success
        assert_line --index 0 --regexp '^fd 0 (chr|fifo|file|sock) '
        assert_line --index 1 --regexp '^fd 1 (chr|fifo|file|sock) '
        assert_line --index 2 --regexp '^fd 2 (chr|fifo|file|sock) '
        assert_line --index 3 "cwd /app"
        assert_line --index 4 "/proc/self/cwd /app"
        assert_line --index 5 "/proc/self/root /"
        assert_line --index 6 "fds 3"
        assert_line --index 7 "contained"
    done
    exec 7<&- 8<&- 9<&-
}

@test "CVE-2024-21626: a host directory as stdin, stdout or stderr is refused before anything runs (125)" {
    local pol
    for pol in playground server_application; do
        # without the check, fd 0 would be the host's / inside (fd-escape prints ESCAPED)
        run --separate-stderr "$GBOX" run --policy "$pol" --in-image attack fd-escape </
        assert_failure 125
        assert_output ""
        assert_equal "$stderr" "gbox: stdin (fd 0) is the directory /: handing a host directory to the sandbox would let it walk the host's file system; redirect it from a file or /dev/null"
        # stderr a directory: gbox cannot even say why, but nothing runs
        run bash -c '"$1" run --policy "$2" --in-image attack fd-escape 2<"$3"' _ "$GBOX" "$pol" "$BATS_TEST_TMPDIR"
        assert_failure 125
        assert_output ""
        # stdout a directory (opened read-only, as a directory can only be): refused, said on stderr
        run bash -c '"$1" run --policy "$2" --in-image attack fd-escape 1<"$3" 2>"$3/stdout.err"; echo "exit $?"' _ "$GBOX" "$pol" "$BATS_TEST_TMPDIR"
        assert_output "exit 125"
        assert_equal "$(cat "$BATS_TEST_TMPDIR/stdout.err")" "gbox: stdout (fd 1) is the directory $BATS_TEST_TMPDIR: handing a host directory to the sandbox would let it walk the host's file system; redirect it from a file or /dev/null"
        rm -f "$BATS_TEST_TMPDIR/stdout.err"
    done
}

@test "the sandbox's init cannot be killed or stopped from inside (its signals are dropped)" {
    local pol
    for pol in playground server_application; do
        attempt "$pol" sh -c 'probe kill 1 KILL; probe kill 1 STOP; probe kill 1 0; echo init alive'
        assert_success
        assert_output "$(printf '%s\n' 'ok 0' 'ok 0' 'ok 0' 'init alive')"
    done
}
