# helpers.bash — shared setup of the OCI runtime suites (tests/oci): gbox as `gbox-runc`, its
# state under a per-test --root, bundles made from the base image's busybox root.

load '../integration/helpers'

RUNC=${GBOX_RUNC:-$(dirname "$GBOX")/gbox-runc}

# A fresh bundle in $BATS_TEST_TMPDIR/bundle: a copy of the base image's root (the container
# writes to its own root) and gbox-runc's default config.json with process.args set to "$@".
make_bundle() {
    local b=$BATS_TEST_TMPDIR/bundle
    mkdir -p "$b"
    cp -a "$(dirname "$GBOX")/images/base/rootfs" "$b/rootfs"
    chown -R 0:0 "$b/rootfs" # the image is owned by gbox's mapped ids; a container's root is 0
    (cd "$b" && "$RUNC" spec) || return 1
    local args
    args=$(jq -cn '$ARGS.positional' --args -- "$@")
    jq --argjson a "$args" '.process.terminal=false | .root.readonly=false | .process.args=$a | .process.rlimits=[{"type":"RLIMIT_NOFILE","hard":1024,"soft":1024}]' \
        "$b/config.json" >"$b/c.json" && mv "$b/c.json" "$b/config.json"
    echo "$b"
}

# edit_config JQ-FILTER [ARGS...] — change the bundle's config.json in place.
edit_config() {
    local f=$BATS_TEST_TMPDIR/bundle/config.json
    jq "$@" "$f" >"$f.new" && mv "$f.new" "$f"
}

# runc ARGS... — gbox-runc with this test's --root.
runc() {
    "$RUNC" --root "$BATS_TEST_TMPDIR/root" "$@"
}

# create ARGS... — `runc create` with the container's stdio on files ($BATS_TEST_TMPDIR/ctr.out,
# ctr.err): the container inherits create's stdio, and bats's `run` would wait for it to close.
# create's own messages are printed.
create() {
    local rc=0
    runc create "$@" </dev/null >>"$BATS_TEST_TMPDIR/ctr.out" 2>"$BATS_TEST_TMPDIR/create.err" || rc=$?
    cat "$BATS_TEST_TMPDIR/create.err"
    return "$rc"
}

status_of() {
    runc state "$1" | jq -r .status
}

# wait_status ID STATUS — poll (up to ~10 s, scaled) until the container reaches STATUS.
wait_status() {
    local i
    for i in $(seq 1 $((100 * ${GBOX_TEST_TIME_SCALE:-1}))); do
        [ "$(status_of "$1")" = "$2" ] && return 0
        sleep 0.1
    done
    echo "container $1 is $(status_of "$1"), not $2" >&2
    return 1
}

# Kill and delete whatever a test left behind (a failed assertion must not leak containers).
oci_teardown() {
    local id
    [ -d "$BATS_TEST_TMPDIR/root" ] || return 0
    for id in $(ls "$BATS_TEST_TMPDIR/root"); do
        runc delete --force "$id" >/dev/null 2>&1 || true
    done
}
