#!/usr/bin/env bats
# Debian's podman with gbox as its OCI runtime (--runtime gbox-runc): cgroupfs, its own storage
# (vfs) and run directories in a temp dir, `--network none` always (podman never creates an
# interface), an image imported from a busybox rootfs tarball, explicit ulimits (root here lacks
# CAP_SYS_RESOURCE and the hard open-files limit is 20000: podman's defaults are refused).

load helpers

# podman puts conmon in PARENT/conmon of every hierarchy: PARENT beneath our own cgroup (the
# memory hierarchy's own path; in the others ours is the root here), removed at the end.
cgroup_parent() {
    local own
    own=$(awk -F: '$2 == "memory" {print $3}' /proc/self/cgroup)
    echo "${own%/}/gbox-oci-podman-test"
}

teardown_file() {
    local d p
    p=$(cgroup_parent)
    for d in /sys/fs/cgroup/*/"${p#/}" /sys/fs/cgroup/unified/"${p#/}"; do
        [ -d "$d" ] || continue
        find "$d" -depth -mindepth 1 -type d -exec rmdir {} \; 2>/dev/null
        rmdir "$d" 2>/dev/null || true
    done
}

setup_file() {
    command -v podman >/dev/null || return 0
    local t=$BATS_FILE_TMPDIR bb=$BATS_FILE_TMPDIR/bb
    mkdir -p "$bb/bin" "$bb/etc" "$bb/tmp" "$bb/proc" "$bb/sys" "$bb/dev" "$t/tmp"
    cp /bin/busybox "$bb/bin/busybox"
    for a in $("$bb/bin/busybox" --list); do [ "$a" = busybox ] || ln -sf busybox "$bb/bin/$a"; done
    echo 'root:x:0:0:root:/root:/bin/sh' >"$bb/etc/passwd"
    echo 'root:x:0:' >"$bb/etc/group"
    tar -C "$bb" -cf "$t/busybox.tar" .
    printf '[containers]\ndefault_sysctls = []\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n' \
        >"$t/containers.conf"
    CONTAINERS_CONF=$t/containers.conf podman --root "$t/storage" --runroot "$t/runroot" --storage-driver vfs \
        --tmpdir "$t/tmp" import "$t/busybox.tar" localhost/gbox-busybox:1 >/dev/null
}

setup() {
    command -v podman >/dev/null || require_feature podman "Debian's podman (scripts/install-deps.sh)"
}

teardown() {
    # every container this test left, then the runtime's own state
    pm ps -aq 2>/dev/null | while read -r id; do pm rm -f -t 0 "$id" >/dev/null 2>&1 || true; done
}

# pm ARGS... — podman with the suite's private storage, cgroupfs and gbox-runc.
pm() {
    local t=$BATS_FILE_TMPDIR
    CONTAINERS_CONF=$t/containers.conf timeout "$((120 * ${GBOX_TEST_TIME_SCALE:-1}))" podman \
        --root "$t/storage" --runroot "$t/runroot" --storage-driver vfs --tmpdir "$t/tmp" \
        --cgroup-manager cgroupfs --events-backend file --runtime "$RUNC" "$@"
}

# run/create options every test uses
pm_run() {
    local verb=$1
    shift
    pm "$verb" --cgroup-parent "$(cgroup_parent)" "$@"
}

U=(--network none --ulimit nofile=1024:1024 --ulimit nproc=4096:4096)
IMG=localhost/gbox-busybox:1

@test "podman run --rm: output, exit code, gbox is the runtime" {
    run -0 pm_run run --rm "${U[@]}" "$IMG" sh -c 'echo hello; cat /proc/1/cmdline | tr "\0" " "'
    assert_line --index 0 hello
    assert_line --index 1 --partial gbox-init
    run -3 pm_run run --rm "${U[@]}" "$IMG" sh -c 'exit 3'
    run -0 pm info --format '{{.Host.OCIRuntime.Path}}'
    assert_output "$RUNC"
}

@test "podman run -d, exec, stop" {
    run -0 pm_run run -d "${U[@]}" "$IMG" sleep 1000
    id=$output
    run -0 pm exec "$id" sh -c 'echo in-exec; pidof sleep | wc -w'
    assert_output "in-exec
1"
    run -4 pm exec "$id" sh -c 'exit 4'
    run -0 pm inspect --format '{{.State.Status}}' "$id"
    assert_output running
    run -0 pm stop -t 10 "$id"
    run -0 pm inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$id"
    assert_output "exited 143"
    run -0 pm rm "$id"
}

@test "podman run -t: the program has a terminal" {
    run -0 pm_run run --rm -t "${U[@]}" "$IMG" sh -c 'test -t 0 && test -t 1 && echo on-a-tty'
    assert_output --partial on-a-tty
    run -1 pm_run run --rm "${U[@]}" "$IMG" sh -c 'test -t 1'
}

@test "podman --memory and --pids-limit are visible inside and enforced" {
    run -0 pm_run run --rm "${U[@]}" --memory 64m --pids-limit 40 "$IMG" \
        sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max'
    assert_output "67108864
40"
    # more processes than the limit: fork fails inside; with room, the same script ends
    run pm_run run --rm "${U[@]}" --pids-limit 20 "$IMG" sh -c 'for i in $(seq 40); do sleep 5 & done; echo all-started'
    [ "$status" -ne 0 ]
    assert_output --partial "can't fork"
    refute_output --partial all-started
    run -0 pm_run run --rm "${U[@]}" --pids-limit 100 "$IMG" sh -c 'for i in $(seq 40); do sleep 1 & done; echo all-started'
    assert_output --partial all-started
}

@test "podman --annotation org.graphoid.policy applies the domain policy" {
    run -0 pm_run run --rm "${U[@]}" --annotation org.graphoid.policy=base "$IMG" \
        sh -c 'cat /sys/fs/cgroup/pids/pids.max; grep CapEff /proc/self/status; mount -t tmpfs t /tmp 2>&1 | head -1'
    assert_line --index 0 256
    assert_line --index 1 "CapEff:	0000000000000000"
    assert_line --index 2 --partial "denied"
    run -0 pm_run run --rm "${U[@]}" "$IMG" sh -c 'cat /sys/fs/cgroup/pids/pids.max'
    refute_output 256
}

@test "podman --device binds the host's node; a config gbox cannot honour fails the run with gbox's message" {
    run -0 pm_run run --rm "${U[@]}" --device /dev/fuse "$IMG" sh -c 'exec 3<>/dev/fuse && echo fuse-open'
    assert_output fuse-open
    run pm_run run --rm "${U[@]}" --mount "type=bind,src=$BATS_TEST_TMPDIR,dst=/x,bind-propagation=rshared" "$IMG" true
    [ "$status" -ne 0 ]
    # a shared bind makes podman ask for a shared root: gbox keeps every mount private
    assert_output --partial "config.json: linux.rootfsPropagation: expected private, rprivate, slave or rslave"
}
