#!/usr/bin/env bats
# Debian's containerd with gbox as the runc of its runc shim (ctr run --runc-binary gbox-runc):
# the test starts its own containerd (config, root, state and socket in a temp dir, the CRI
# plugin off), imports a busybox image made by podman, and stops containerd by pid at the end.

load helpers

IMG=localhost/gbox-busybox:1

setup_file() {
    command -v containerd >/dev/null && command -v podman >/dev/null || return 0
    local t=$BATS_FILE_TMPDIR bb=$BATS_FILE_TMPDIR/bb
    # /run/containerd holds the shims' sockets and ctr's fifos whatever the config says: remove
    # it at the end only if this suite made it
    [ -e /run/containerd ] || touch "$t/made-run-containerd"
    mkdir -p "$bb/bin" "$bb/etc" "$bb/tmp" "$t/tmp"
    cp /bin/busybox "$bb/bin/busybox"
    for a in $("$bb/bin/busybox" --list); do [ "$a" = busybox ] || ln -sf busybox "$bb/bin/$a"; done
    echo 'root:x:0:0:root:/root:/bin/sh' >"$bb/etc/passwd"
    tar -C "$bb" -cf "$t/busybox.tar" .
    local pm=(podman --root "$t/storage" --runroot "$t/runroot" --storage-driver vfs --tmpdir "$t/tmp")
    "${pm[@]}" import "$t/busybox.tar" "$IMG" >/dev/null
    "${pm[@]}" save --format oci-archive -o "$t/image.tar" "$IMG" >/dev/null
    "${pm[@]}" rmi -a -f >/dev/null 2>&1 || true
    cat >"$t/config.toml" <<EOF
version = 2
root = "$t/root"
state = "$t/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$t/containerd.sock"
[ttrpc]
  address = "$t/containerd.sock.ttrpc"
[debug]
  address = "$t/debug.sock"
[metrics]
  address = ""
EOF
    containerd --config "$t/config.toml" >"$t/containerd.log" 2>&1 &
    echo $! >"$t/containerd.pid"
    local i
    for i in $(seq $((100 * ${GBOX_TEST_TIME_SCALE:-1}))); do
        ctr -a "$t/containerd.sock" version >/dev/null 2>&1 && break
        sleep 0.1
    done
    ctr -a "$t/containerd.sock" -n gboxtest images import "$t/image.tar" >/dev/null
}

teardown_file() {
    local t=$BATS_FILE_TMPDIR pid
    [ -f "$t/containerd.pid" ] || return 0
    pid=$(cat "$t/containerd.pid")
    kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    # snapshots of a killed run may still be mounted
    grep -o " $t/root[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m"; done
    [ -f "$t/made-run-containerd" ] && rm -rf /run/containerd
    return 0
}

setup() {
    command -v containerd >/dev/null || require_feature containerd "Debian's containerd (scripts/install-deps.sh)"
    command -v podman >/dev/null || require_feature podman "podman makes the image (scripts/install-deps.sh)"
}

teardown() {
    c tasks kill -s KILL t1 >/dev/null 2>&1 || true
    c tasks delete t1 >/dev/null 2>&1 || true
    c containers delete t1 >/dev/null 2>&1 || true
}

# c ARGS... — ctr on the suite's containerd, namespace gboxtest.
c() {
    timeout "$((120 * ${GBOX_TEST_TIME_SCALE:-1}))" ctr -a "$BATS_FILE_TMPDIR/containerd.sock" -n gboxtest "$@"
}

R() {
    echo --runc-binary "$RUNC" --runc-root "$BATS_FILE_TMPDIR/runc"
}

@test "ctr run --rm with gbox as runc: output, exit code, gbox's init" {
    run -0 c run --rm $(R) "$IMG" t1 sh -c 'echo hello; cat /proc/1/cmdline | tr "\0" "\n" | head -1'
    assert_output "hello
gbox-init"
    run -5 c run --rm $(R) "$IMG" t1 sh -c 'exit 5'
}

@test "ctr run -d, task exec, task kill, delete" {
    run -0 c run -d $(R) "$IMG" t1 sleep 1000
    run -0 c tasks ls
    assert_output --regexp "t1 +[0-9]+ +RUNNING"
    run -0 c tasks exec --exec-id e1 t1 sh -c 'echo in-exec; pidof sleep | wc -w'
    assert_output "in-exec
1"
    # the runtime's own view
    run -0 "$RUNC" --root "$BATS_FILE_TMPDIR/runc/gboxtest" state t1
    assert_equal "$(jq -r .status <<<"$output")" running
    run -0 c tasks kill -s TERM t1
    for _ in $(seq $((100 * ${GBOX_TEST_TIME_SCALE:-1}))); do
        c tasks ls | grep -q "t1 .*STOPPED" && break
        sleep 0.1
    done
    run -0 c tasks ls
    assert_output --regexp "t1 +[0-9]+ +STOPPED"
    run -0 c tasks delete t1
    run -0 c containers delete t1
    [ ! -e "$BATS_FILE_TMPDIR/runc/gboxtest/t1" ]
}

@test "ctr run --memory-limit is applied by gbox" {
    # cgroupsPath /gboxtest/t1 becomes one cgroup beneath gbox's own
    run -0 c run --rm $(R) --memory-limit 67108864 "$IMG" t1 sh -c 'grep memory: /proc/self/cgroup'
    assert_output --regexp "memory:/.*gboxtest\.t1$"
    # enforced: allocating past the limit is OOM-killed (exit 137)
    run -137 c run --rm $(R) --memory-limit 33554432 "$IMG" t1 sh -c 'x=$(head -c 100000000 /dev/zero | tr "\0" a); echo survived'
}
