#!/usr/bin/env bats
# exhaustion.bats — using up the host: processes, memory, disk (tmpfs and the overlay's upper
# layer), file descriptors and inodes. Each must stop at the policy's limit, with the exact
# error the program sees or the report's end.

load helpers

# forked_count — N from the forkbomb's "forked N" line
forked_count() {
    sed -n 's/^forked \([0-9]*\)$/\1/p' <<<"$output"
}

@test "fork bomb: stopped below pids.max (32 in playground, 1024 in server_application) with EAGAIN" {
    local pol max n
    for pol in playground:32 server_application:1024; do
        max=${pol#*:}
        attempt "${pol%:*}" probe forkbomb
        assert_success
        assert_line --index 1 "errno EAGAIN 11"
        n=$(forked_count)
        # init and the program itself count too
        [ -n "$n" ] && [ "$n" -le $((max - 2)) ] && [ "$n" -ge $((max - 4)) ] || fail "$pol: forked '$n'"
    done
}

@test "memory hog: OOM-killed at memory.max and reported as out of memory (137)" {
    attempt playground probe memhog 256M
    assert_failure 137
    refute_line --partial "ok "
    assert_equal "$(report_of .end)" oom
    assert_equal "$stderr" "gbox: out of memory: the kernel killed it at the memory limit of 134217728 bytes (resources.memory.max)"
    # server_application's 4096M is the same mechanism; a smaller limit keeps the test quick
    local pol
    pol=$(policy_from server_application mem '"resources": {"memory": {"max": "96M"}}')
    attempt "$pol" probe memhog 200M
    assert_failure 137
    assert_equal "$(report_of .end)" oom
    assert_equal "$stderr" "gbox: out of memory: the kernel killed it at the memory limit of 100663296 bytes (resources.memory.max)"
}

@test "disk fill in tmpfs: stops at file_size (EFBIG) and at the tmpfs size (ENOSPC)" {
    # playground: 8M per file (RLIMIT_FSIZE), 16M of /tmp
    blocked_as playground "$(printf '%s\n' 'wrote 8 MiB' 'errno EFBIG 27' 'wrote 8 MiB' 'errno EFBIG 27' 'wrote 0 MiB' 'errno ENOSPC 28')" \
        sh -c 'probe diskfill /tmp/a; probe diskfill /tmp/b; probe diskfill /tmp/c'
    # server_application: 256M of /tmp, 16M of /dev/shm
    blocked_as server_application "$(printf '%s\n' 'wrote 256 MiB' 'errno ENOSPC 28' 'wrote 16 MiB' 'errno ENOSPC 28')" \
        sh -c 'probe diskfill /tmp/fill; probe diskfill /dev/shm/fill'
}

@test "disk fill in the overlay's upper layer (writable root): stops at its 64M cap (ENOSPC)" {
    # writing to the root needs root in the sandbox; the upper layer is the stage tmpfs
    local pol
    pol=$(policy_from server_application upper '"filesystem": {"readonly_root": false}, "user": {"uid": 0, "gid": 0, "allow_root": true}')
    blocked_as "$pol" "$(printf 'wrote 64 MiB\nerrno ENOSPC 28')" probe diskfill /fill
}

@test "fd exhaustion: stops at RLIMIT_NOFILE (64 in playground, 4096 in server_application) with EMFILE" {
    blocked_as playground "$(printf 'opened 61\nerrno EMFILE 24')" probe fdbomb
    blocked_as server_application "$(printf 'opened 4093\nerrno EMFILE 24')" probe fdbomb
}

@test "inode exhaustion: empty files stop at the tmpfs inode cap (ENOSPC), not at memory.max (regression)" {
    # one inode per KiB of size: 16M -> 16384 (the root directory takes one)
    blocked_as playground "$(printf 'created 16383\nerrno ENOSPC 28\ncreated 16383\nerrno ENOSPC 28')" \
        sh -c 'attack inodebomb /tmp; attack inodebomb /dev/shm'
    blocked_as server_application "$(printf 'created 262143\nerrno ENOSPC 28')" attack inodebomb /tmp
}
