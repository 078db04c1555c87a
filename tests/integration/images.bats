#!/usr/bin/env bats
# images.bats — module images: manifests, the content-addressed store (digests, atomic and
# concurrent builds, rm refused while in use, gc), resolution from the command line and the
# policy, the layered root a program sees, named sandboxes' persistent upper layers, deep stacks,
# OCI imports, and the recipes in images/.
#
# Every test uses its own store under $BATS_TEST_TMPDIR (GBOX_STORE_DIR), never /var/lib/gbox.

load helpers

IMAGES_BAD=$SRC_DIR/tests/images/bad
IMAGE_DIR=$(dirname "$GBOX")/images

setup() {
    export GBOX_STORE_DIR=$BATS_TEST_TMPDIR/store
}

# module DIR NAME VERSION [MANIFEST MEMBERS] — an image source: DIR/module.json, DIR/rootfs with
# /usr/share/NAME/VERSION in it (owned by root, world-readable).
module() {
    local dir=$1 name=$2 version=$3 extra=${4:-}
    mkdir -p "$dir/rootfs/usr/share/$name"
    echo "$name $version" >"$dir/rootfs/usr/share/$name/VERSION"
    printf '{"name": "%s", "version": "%s"%s%s}\n' "$name" "$version" "${extra:+, }" "$extra" >"$dir/module.json"
}

# digest_of DIR — the digest `gbox image digest` gives DIR.
digest_of() {
    "$GBOX" image digest "$1" | awk '{ print $2 }'
}

# rw_policy NAME — a policy like base with a writable root.
rw_policy() {
    policy_file "$1" '"filesystem": {"readonly_root": false}'
}

# ---- manifests ----------------------------------------------------------------------------

expected_manifest_message() {
    awk -F '\t' -v n="$1" '$1 == n { sub(/^[^\t]*\t/, ""); print; found = 1 } END { exit !found }' \
        "$IMAGES_BAD/EXPECTED" || fail "$1 has no line in $IMAGES_BAD/EXPECTED"
}

@test "every bad manifest has an EXPECTED line and every EXPECTED line a bad manifest" {
    local f n
    local -a files=() listed=()
    for f in "$IMAGES_BAD"/*.json; do
        f=${f##*/}
        files+=("${f%.json}")
    done
    while IFS=$'\t' read -r n _; do
        case $n in '#'* | '') continue ;; esac
        listed+=("$n")
    done <"$IMAGES_BAD/EXPECTED"
    assert_equal "$(printf '%s\n' "${listed[@]}")" "$(printf '%s\n' "${files[@]}")"
    [ "${#files[@]}" -ge 25 ]
}

@test "bad manifests: exit 2 with FILE: json.path: what was expected, from validate and from build" {
    local f n want dir
    cd "$IMAGES_BAD"
    for f in *.json; do
        n=${f%.json}
        want="gbox: $(expected_manifest_message "$n")"
        run --separate-stderr "$GBOX" image validate "$f"
        [ "$status" -eq 2 ] || fail "$n: validate exit $status"
        assert_output ""
        assert_equal "$stderr" "$want"
        # the same manifest as DIR/module.json of a build: the same message for that path
        dir=$BATS_TEST_TMPDIR/$n
        mkdir -p "$dir/rootfs"
        cp "$f" "$dir/module.json"
        run --separate-stderr "$GBOX" image build "$dir"
        [ "$status" -eq 2 ] || fail "$n: build exit $status"
        assert_equal "$stderr" "gbox: $(expected_manifest_message "$n" | sed "s|^$n.json|$dir/module.json|")"
    done
    # nothing was stored
    run "$GBOX" image ls --json
    assert_output "[]"
}

@test "the manifests of the recipes in images/ and of the built images validate" {
    run "$GBOX" image validate "$SRC_DIR/images/base/module.json" "$SRC_DIR/images/probe/module.json" \
        "$IMAGE_DIR/sample-1.0.0" "$IMAGE_DIR/sample-2.0.0" "$IMAGE_DIR/base"
    assert_success
    assert_line --index 0 "$SRC_DIR/images/base/module.json: ok (base:1.0.0)"
    assert_line --index 3 "$IMAGE_DIR/sample-2.0.0/module.json: ok (sample:2.0.0)"
}

# ---- digests ------------------------------------------------------------------------------

@test "digests are stable: the same tree gives the same digest, wherever it is and whenever it was made" {
    module "$BATS_TEST_TMPDIR/a" lib 1.0.0
    ln -s ../share/lib/VERSION "$BATS_TEST_TMPDIR/a/rootfs/usr/version"
    mkdir -p "$BATS_TEST_TMPDIR/a/rootfs/empty" "$BATS_TEST_TMPDIR/a/rootfs/z" "$BATS_TEST_TMPDIR/a/rootfs/B"
    local d1 d2 d3
    d1=$(digest_of "$BATS_TEST_TMPDIR/a")
    [[ $d1 =~ ^sha256:[0-9a-f]{64}$ ]]
    d2=$(digest_of "$BATS_TEST_TMPDIR/a")
    assert_equal "$d2" "$d1"
    # a copy made in another order, at another time, with other timestamps
    mkdir -p "$BATS_TEST_TMPDIR/b/rootfs"
    for x in z B empty usr; do cp -a "$BATS_TEST_TMPDIR/a/rootfs/$x" "$BATS_TEST_TMPDIR/b/rootfs/"; done
    cp "$BATS_TEST_TMPDIR/a/module.json" "$BATS_TEST_TMPDIR/b/"
    touch -d '2001-02-03' "$BATS_TEST_TMPDIR/b/rootfs/usr/share/lib/VERSION" "$BATS_TEST_TMPDIR/b/rootfs/z"
    d3=$(digest_of "$BATS_TEST_TMPDIR/b")
    assert_equal "$d3" "$d1"
    # the store computes it over what it stored, and gets the same
    run "$GBOX" image build "$BATS_TEST_TMPDIR/a"
    assert_success
    assert_output "lib:1.0.0 $d1"
    run "$GBOX" image build "$BATS_TEST_TMPDIR/b"
    assert_output "lib:1.0.0 $d1"
    # the manifest's defaults written out or left to the schema: the same manifest
    printf '{"name": "lib", "version": "1.0.0", "depends": [], "set": "standard", "mount_point": "/", "format": 1}\n' \
        >"$BATS_TEST_TMPDIR/b/module.json"
    assert_equal "$(digest_of "$BATS_TEST_TMPDIR/b")" "$d1"
}

@test "digests change with any change of content, mode, name, owner, type, symlink target or manifest" {
    local base=$BATS_TEST_TMPDIR/t d0 d
    module "$base" lib 1.0.0
    ln -s VERSION "$base/rootfs/usr/share/lib/link"
    d0=$(digest_of "$base")
    declare -A seen=([$d0]=original)
    change() { # change DESCRIPTION COMMAND... (on a fresh copy; the digest must be new)
        local what=$1
        shift
        rm -rf "$BATS_TEST_TMPDIR/c"
        cp -a "$base" "$BATS_TEST_TMPDIR/c"
        (cd "$BATS_TEST_TMPDIR/c" && "$@")
        d=$(digest_of "$BATS_TEST_TMPDIR/c")
        [ -z "${seen[$d]:-}" ] || fail "$what: same digest as ${seen[$d]}"
        seen[$d]=$what
    }
    change "one byte of content" sh -c 'echo "lib 1.0.1" >rootfs/usr/share/lib/VERSION'
    change "content of equal length" sh -c 'echo "lib 1.0.X" >rootfs/usr/share/lib/VERSION'
    change "mode" chmod 0600 rootfs/usr/share/lib/VERSION
    change "mode of a directory" chmod 0700 rootfs/usr/share
    change "setuid bit" chmod u+s rootfs/usr/share/lib/VERSION
    change "file name" mv rootfs/usr/share/lib/VERSION rootfs/usr/share/lib/VERSIOn
    change "directory name" mv rootfs/usr/share rootfs/usr/shares
    change "owner" chown 1000 rootfs/usr/share/lib/VERSION
    change "group" chgrp 1000 rootfs/usr/share/lib/VERSION
    change "symlink target" ln -sfn VERSION2 rootfs/usr/share/lib/link
    change "symlink made a file" sh -c 'rm rootfs/usr/share/lib/link; echo VERSION >rootfs/usr/share/lib/link'
    change "an empty directory more" mkdir rootfs/opt
    change "an empty file more" touch rootfs/usr/share/lib/empty
    change "a fifo" mkfifo rootfs/usr/share/lib/fifo
    change "the manifest's version" sed -i 's/1.0.0/1.0.1/' module.json
    change "the manifest's description" sed -i 's/}$/, "description": "x"}/' module.json
    [ "${#seen[@]}" -eq 17 ]
    # and a timestamp alone changes nothing
    touch -d '1999-01-01' "$base/rootfs/usr/share/lib/VERSION"
    assert_equal "$(digest_of "$base")" "$d0"
}

@test "owners are stored shifted into the sandbox's id range and hashed as the sandbox sees them" {
    module "$BATS_TEST_TMPDIR/m" lib 1.0.0
    chown 1000:1000 "$BATS_TEST_TMPDIR/m/rootfs/usr/share/lib/VERSION"
    local d
    d=$(digest_of "$BATS_TEST_TMPDIR/m")
    run "$GBOX" image build "$BATS_TEST_TMPDIR/m"
    assert_output "lib:1.0.0 $d"
    local root=$GBOX_STORE_DIR/images/${d#sha256:}/rootfs
    assert_equal "$(stat -c %u:%g "$root/usr/share/lib/VERSION")" "101000:101000"
    assert_equal "$(stat -c %u:%g "$root/usr")" "100000:100000"
    # a tree already shifted (like the image directory's) is the same tree
    rm -rf "$BATS_TEST_TMPDIR/s"
    cp -a "$BATS_TEST_TMPDIR/m" "$BATS_TEST_TMPDIR/s"
    chown -R 100000:100000 "$BATS_TEST_TMPDIR/s/rootfs"
    chown 101000:101000 "$BATS_TEST_TMPDIR/s/rootfs/usr/share/lib/VERSION"
    assert_equal "$(digest_of "$BATS_TEST_TMPDIR/s")" "$d"
    # an owner no sandbox has is refused
    chown 70000 "$BATS_TEST_TMPDIR/s/rootfs/usr/share/lib/VERSION"
    run --separate-stderr "$GBOX" image build "$BATS_TEST_TMPDIR/s"
    assert_failure 2
    assert_equal "$stderr" "gbox: copy $BATS_TEST_TMPDIR/s/rootfs: usr/share/lib/VERSION: owner 70000:101000 is outside the ids a sandbox has (0-65535, or 100000-165535 shifted)"
    # inside, the sandbox's own uid owns the file
    run "$GBOX" run --module lib --in-image stat -c %u /usr/share/lib/VERSION
    assert_success
    assert_output "1000"
}

# ---- the store ----------------------------------------------------------------------------

@test "build is content-addressed and tags name:version; ls, inspect and the layout" {
    module "$BATS_TEST_TMPDIR/m" lib 1.0.0 '"description": "the lib"'
    run "$GBOX" image build "$BATS_TEST_TMPDIR/m"
    assert_success
    local d=${output#lib:1.0.0 sha256:}
    [ -d "$GBOX_STORE_DIR/images/$d/rootfs" ]
    assert_equal "$(cat "$GBOX_STORE_DIR/tags/lib/1.0.0")" "sha256:$d"
    assert_equal "$(stat -c %a "$GBOX_STORE_DIR")" "700"
    # the same content again: nothing new
    run "$GBOX" image build "$BATS_TEST_TMPDIR/m"
    assert_output "lib:1.0.0 sha256:$d"
    [ "$(ls "$GBOX_STORE_DIR/images" | wc -l)" -eq 1 ]
    [ -z "$(ls "$GBOX_STORE_DIR/tmp")" ]
    # a new version is a new image; the name's highest version answers for the name
    module "$BATS_TEST_TMPDIR/m2" lib 1.2.0
    run "$GBOX" image build "$BATS_TEST_TMPDIR/m2"
    assert_success
    run "$GBOX" image ls --json
    assert_success
    assert_equal "$(jq -r '[.[] | .name + ":" + .version + " " + (.tagged | tostring)] | join(",")' <<<"$output")" \
        "lib:1.2.0 true,lib:1.0.0 true"
    run "$GBOX" image inspect lib
    assert_success
    assert_equal "$(jq -r .version <<<"$output")" "1.2.0"
    run "$GBOX" image inspect "lib:1.0.0"
    assert_equal "$(jq -r '.digest + " " + .manifest.description + " " + (.files | tostring) + " " + .source' <<<"$output")" \
        "sha256:$d the lib 1 $BATS_TEST_TMPDIR/m"
    run "$GBOX" image inspect "${d:0:10}"
    assert_equal "$(jq -r .version <<<"$output")" "1.0.0"
    run --separate-stderr "$GBOX" image inspect lib:9.9.9
    assert_failure 2
    assert_equal "$stderr" "gbox: image lib:9.9.9 not found in the store (\`gbox image ls\` lists them)"
    run "$GBOX" image ls
    assert_success
    assert_line --index 0 --regexp '^NAME +VERSION +DIGEST +SIZE +USERS +CREATED$'
    assert_line --index 2 --regexp "^lib +1.0.0 +sha256:${d:0:12} +10B +0 "
}

@test "a rebuilt name:version moves its tag; the old image is untagged until gc deletes it" {
    module "$BATS_TEST_TMPDIR/m" lib 1.0.0
    run "$GBOX" image build "$BATS_TEST_TMPDIR/m"
    local old=${output#lib:1.0.0 sha256:}
    echo changed >"$BATS_TEST_TMPDIR/m/rootfs/usr/share/lib/VERSION"
    run "$GBOX" image build "$BATS_TEST_TMPDIR/m"
    local new=${output#lib:1.0.0 sha256:}
    [ "$old" != "$new" ]
    run "$GBOX" image ls --json
    assert_equal "$(jq -r '[.[] | .digest[7:19] + " " + (.tagged | tostring)] | sort | join(",")' <<<"$output")" \
        "$(printf '%s\n' "${new:0:12} true" "${old:0:12} false" | sort | paste -sd,)"
    run "$GBOX" run --module lib --in-image cat /usr/share/lib/VERSION
    assert_output "changed"
    run "$GBOX" image gc
    assert_success
    assert_output "deleted untagged lib:1.0.0 sha256:$old"
    [ ! -e "$GBOX_STORE_DIR/images/$old" ]
    [ -d "$GBOX_STORE_DIR/images/$new" ]
}

@test "a build killed before it publishes leaves no image, and gc removes what it left" {
    module "$BATS_TEST_TMPDIR/m" lib 1.0.0
    "$GBOX" image ls >/dev/null # creates the store
    mkdir -p "$GBOX_STORE_DIR"
    # hold the store lock exclusively (as gc does): the build copies and hashes, then waits to
    # publish — the last moment before its image would become visible
    exec {lock}>"$GBOX_STORE_DIR/lock"
    flock -x "$lock"
    "$GBOX" image build "$BATS_TEST_TMPDIR/m" >/dev/null 2>&1 &
    local pid=$!
    local i
    for i in $(seq 100); do
        [ -n "$(ls "$GBOX_STORE_DIR/tmp" 2>/dev/null)" ] && [ -e "$GBOX_STORE_DIR/tmp/$(ls "$GBOX_STORE_DIR/tmp" | head -1)/info.json" ] && break
        sleep 0.05
    done
    [ -e "$GBOX_STORE_DIR/tmp/$(ls "$GBOX_STORE_DIR/tmp" | head -1)/info.json" ]
    kill -KILL "$pid"
    wait "$pid" || true
    flock -u "$lock"
    exec {lock}>&-
    run "$GBOX" image ls --json
    assert_output "[]"
    [ -z "$(ls "$GBOX_STORE_DIR/images")" ]
    [ ! -e "$GBOX_STORE_DIR/tags/lib" ]
    run "$GBOX" image gc
    assert_success
    assert_output --regexp "^removed unfinished $GBOX_STORE_DIR/tmp/build-[0-9a-f]{16}\$"
    [ -z "$(ls "$GBOX_STORE_DIR/tmp")" ]
    # and the build works afterwards
    run "$GBOX" image build "$BATS_TEST_TMPDIR/m"
    assert_success
}

@test "gc leaves a build that is still running alone" {
    module "$BATS_TEST_TMPDIR/m" lib 1.0.0
    mkdir -p "$GBOX_STORE_DIR"
    "$GBOX" image ls >/dev/null
    exec {lock}>"$GBOX_STORE_DIR/lock"
    flock -x "$lock"
    "$GBOX" image build "$BATS_TEST_TMPDIR/m" >"$BATS_TEST_TMPDIR/out" 2>&1 &
    local pid=$! i
    for i in $(seq 100); do
        [ -n "$(ls "$GBOX_STORE_DIR/tmp")" ] && break
        sleep 0.05
    done
    flock -u "$lock"
    exec {lock}>&-
    # gc takes the lock too: whichever comes first, the build survives
    run "$GBOX" image gc
    assert_success
    refute_output --partial "removed unfinished"
    wait "$pid"
    run "$GBOX" image ls --json
    assert_equal "$(jq -r '.[].name' <<<"$output")" "lib"
}

@test "concurrent builds of the same and of different images all succeed, each stored once" {
    module "$BATS_TEST_TMPDIR/a" liba 1.0.0
    module "$BATS_TEST_TMPDIR/b" libb 1.0.0
    dd if=/dev/urandom of="$BATS_TEST_TMPDIR/a/rootfs/blob" bs=1M count=8 status=none
    dd if=/dev/urandom of="$BATS_TEST_TMPDIR/b/rootfs/blob" bs=1M count=8 status=none
    local -a pids=()
    local i
    for i in 1 2 3 4 5 6; do
        "$GBOX" image build "$BATS_TEST_TMPDIR/a" >"$BATS_TEST_TMPDIR/a$i.out" 2>&1 &
        pids+=($!)
        "$GBOX" image build "$BATS_TEST_TMPDIR/b" >"$BATS_TEST_TMPDIR/b$i.out" 2>&1 &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i"; done
    for i in 1 2 3 4 5 6; do
        assert_equal "$(cat "$BATS_TEST_TMPDIR/a$i.out")" "liba:1.0.0 $(digest_of "$BATS_TEST_TMPDIR/a")"
        assert_equal "$(cat "$BATS_TEST_TMPDIR/b$i.out")" "libb:1.0.0 $(digest_of "$BATS_TEST_TMPDIR/b")"
    done
    [ "$(ls "$GBOX_STORE_DIR/images" | wc -l)" -eq 2 ]
    [ -z "$(ls "$GBOX_STORE_DIR/tmp")" ]
    run "$GBOX" run --module liba --module libb --in-image sh -c 'cat /usr/share/liba/VERSION /usr/share/libb/VERSION'
    assert_output "$(printf 'liba 1.0.0\nlibb 1.0.0')"
}

@test "rm refuses an image a running sandbox uses (and names it); afterwards it untags and deletes" {
    module "$BATS_TEST_TMPDIR/m" lib 1.0.0
    run "$GBOX" image build "$BATS_TEST_TMPDIR/m"
    local d=${output#lib:1.0.0 sha256:}
    "$GBOX" run --name holder --module lib --in-image sh -c 'cat /usr/share/lib/VERSION; sleep 30' \
        >"$BATS_TEST_TMPDIR/out" 2>&1 &
    local pid=$! i
    for i in $(seq 100); do grep -q "lib 1.0.0" "$BATS_TEST_TMPDIR/out" && break; sleep 0.05; done
    run --separate-stderr "$GBOX" image rm lib:1.0.0
    assert_failure 1
    assert_equal "$stderr" "gbox: image lib:1.0.0 (sha256:${d:0:12}) is in use by 1 running sandbox: pid $pid (holder)"
    run "$GBOX" image rm "sha256:$d"
    assert_failure 1
    run "$GBOX" image gc
    assert_success
    run "$GBOX" image inspect lib:1.0.0
    assert_equal "$(jq -r '.users[0].name + " " + (.users[0].pid | tostring)' <<<"$output")" "holder $pid"
    [ -d "$GBOX_STORE_DIR/images/$d" ]
    kill -TERM "$pid"
    wait "$pid" || true
    run "$GBOX" image rm lib:1.0.0
    assert_success
    assert_output "$(printf 'untagged lib:1.0.0\ndeleted sha256:%s' "$d")"
    [ ! -e "$GBOX_STORE_DIR/images/$d" ]
    [ -z "$(ls "$GBOX_STORE_DIR/run")" ]
    run --separate-stderr "$GBOX" image rm lib
    assert_failure 2
}

@test "a run killed with SIGKILL leaves a stale record that neither blocks rm nor survives gc" {
    module "$BATS_TEST_TMPDIR/m" lib 1.0.0
    "$GBOX" image build "$BATS_TEST_TMPDIR/m" >/dev/null
    "$GBOX" run --module lib --in-image sleep 30 &
    local pid=$! i
    for i in $(seq 100); do [ -n "$(ls "$GBOX_STORE_DIR/run")" ] && break; sleep 0.05; done
    [ -n "$(ls "$GBOX_STORE_DIR/run")" ]
    kill -KILL "$pid"
    wait "$pid" || true
    remove_cgroups "$pid"
    [ -n "$(ls "$GBOX_STORE_DIR/run")" ]
    run "$GBOX" image gc
    assert_success
    assert_output --regexp "^removed stale run record $GBOX_STORE_DIR/run/$pid-[0-9a-f]+\$"
    run "$GBOX" image rm lib:1.0.0
    assert_success
}

# ---- resolution and the layered root ------------------------------------------------------

@test "a program sees the merged view of its module stack: later modules on top, mount points apart" {
    module "$BATS_TEST_TMPDIR/low" low 1.0.0 '"depends": [{"name": "base", "version": "^1"}]'
    echo "from low" >"$BATS_TEST_TMPDIR/low/rootfs/usr/share/both"
    echo "only low" >"$BATS_TEST_TMPDIR/low/rootfs/usr/share/low-only"
    module "$BATS_TEST_TMPDIR/high" high 2.0.0 '"depends": [{"name": "low"}]'
    echo "from high" >"$BATS_TEST_TMPDIR/high/rootfs/usr/share/both"
    module "$BATS_TEST_TMPDIR/opt" extra 1.0.0 '"mount_point": "/opt/extra", "reload": "swap"'
    echo "extra" >"$BATS_TEST_TMPDIR/opt/rootfs/file"
    "$GBOX" image build "$BATS_TEST_TMPDIR/low" "$BATS_TEST_TMPDIR/high" "$BATS_TEST_TMPDIR/opt" >/dev/null
    run "$GBOX" run --report "$BATS_TEST_TMPDIR/r.json" --module high --module extra --in-image sh -c \
        'cat /usr/share/both /usr/share/low-only /usr/share/low/VERSION /usr/share/high/VERSION /opt/extra/file;
         probe status | grep ^uid; touch /opt/extra/x 2>&1; ls /bin/busybox'
    assert_success
    assert_output "$(printf '%s\n' 'from high' 'only low' 'low 1.0.0' 'high 2.0.0' extra 'uid 1000' \
        'touch: /opt/extra/x: Read-only file system' /bin/busybox)"
    # the report lists the stack, top first, the root image at the bottom
    assert_equal "$(jq -r '[.images[] | .name + "@" + .version + " " + .mount_point] | join(",")' "$BATS_TEST_TMPDIR/r.json")" \
        "extra@1.0.0 /opt/extra,high@2.0.0 /,low@1.0.0 /,base@1.0.0 /"
    assert_equal "$(jq -r '.images[0].digest | test("^sha256:[0-9a-f]{64}$")' "$BATS_TEST_TMPDIR/r.json")" "true"
    assert_equal "$(jq -r '.images[3].dir' "$BATS_TEST_TMPDIR/r.json")" "$(cd "$IMAGE_DIR/base/rootfs" && pwd -P)"
}

@test "--module picks the highest version a range allows; the policy's modules.load stacks modules too" {
    local v
    for v in 1.0.0 1.4.0 2.1.0; do
        module "$BATS_TEST_TMPDIR/lib$v" lib $v
        "$GBOX" image build "$BATS_TEST_TMPDIR/lib$v" >/dev/null
    done
    run "$GBOX" run --module lib --in-image cat /usr/share/lib/VERSION
    assert_output "lib 2.1.0"
    run "$GBOX" run --module 'lib@^1' --in-image cat /usr/share/lib/VERSION
    assert_output "lib 1.4.0"
    run "$GBOX" run --module 'lib@<1.4' --in-image cat /usr/share/lib/VERSION
    assert_output "lib 1.0.0"
    local p
    p=$(policy_file loads '"modules": {"load": ["lib@~1.0"]}')
    run "$GBOX" run --policy "$p" --in-image cat /usr/share/lib/VERSION
    assert_output "lib 1.0.0"
    run --separate-stderr "$GBOX" run --policy "$p" --module 'lib@^2' --in-image true
    assert_failure 2
    assert_equal "$stderr" "gbox: version conflict on lib: --module lib@^2 needs \"^2\", but lib@1.0.0 was chosen for modules.load[0] of policy loads, which needs \"~1.0\""
    run --separate-stderr "$GBOX" run --module 'lib@^3' --in-image true
    assert_failure 2
    assert_equal "$stderr" "gbox: no version of lib matches \"^3\" (wanted by --module lib@^3); available: 2.1.0, 1.4.0, 1.0.0"
    run --separate-stderr "$GBOX" run --module 'lib@1.2.3.4' --in-image true
    assert_failure 2
    assert_equal "$stderr" "gbox: --module lib@1.2.3.4: expected a module name, optionally with @ and a version range (\"stdlib@^1.2\"), got \"lib@1.2.3.4\""
}

@test "resolution errors name the chain: cycles and missing dependencies; nothing runs" {
    module "$BATS_TEST_TMPDIR/a" aa 1.0.0 '"depends": [{"name": "bb"}]'
    module "$BATS_TEST_TMPDIR/b" bb 1.0.0 '"depends": [{"name": "aa", "version": "^1"}]'
    module "$BATS_TEST_TMPDIR/c" cc 1.0.0 '"depends": [{"name": "nowhere", "version": "^1"}]'
    "$GBOX" image build "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b" "$BATS_TEST_TMPDIR/c" >/dev/null
    run --separate-stderr "$GBOX" run --module aa --in-image touch /tmp/ran
    assert_failure 2
    assert_equal "$stderr" "gbox: dependency cycle: aa@1.0.0 -> bb@1.0.0 -> aa@1.0.0"
    run --separate-stderr "$GBOX" run --module cc --in-image true
    assert_failure 2
    assert_equal "$stderr" "gbox: module nowhere not found (wanted by cc@1.0.0 <- --module cc): no image of that name in the store or the image directory"
}

@test "the policy decides which modules and domains: set, allow list, domains" {
    module "$BATS_TEST_TMPDIR/f" fancy 1.0.0 '"set": "full"'
    module "$BATS_TEST_TMPDIR/f2" fancy 2.0.0 '"set": "full"'
    module "$BATS_TEST_TMPDIR/p" probe-io 1.0.0 '"set": "minimal", "domains": ["space_probe"]'
    "$GBOX" image build "$BATS_TEST_TMPDIR/f" "$BATS_TEST_TMPDIR/f2" "$BATS_TEST_TMPDIR/p" >/dev/null
    local std allow
    std=$(policy_file std '"modules": {"set": "standard"}')
    run --separate-stderr "$GBOX" run --policy "$std" --module fancy --in-image true
    assert_failure 2
    assert_equal "$stderr" "gbox: fancy@2.0.0 (wanted by --module fancy) is not allowed by policy std: the module is in set \"full\", the policy's modules.set is \"standard\" (name it in modules.allow)"
    allow=$(policy_file allow '"modules": {"set": "standard", "allow": ["fancy@^1"]}')
    run "$GBOX" run --policy "$allow" --module fancy --in-image cat /usr/share/fancy/VERSION
    assert_success
    assert_output "fancy 1.0.0"
    run "$GBOX" run --policy space_probe --module probe-io --in-image cat /usr/share/probe-io/VERSION
    assert_output "probe-io 1.0.0"
    run --separate-stderr "$GBOX" run --policy playground --module probe-io --in-image true
    assert_failure 2
    assert_equal "$stderr" "gbox: probe-io@1.0.0 (wanted by --module probe-io) does not run in domain playground (its domains: space_probe)"
    # a policy with a bad module reference is refused like any bad policy
    run --separate-stderr "$GBOX" policy validate "$(policy_file badref '"modules": {"allow": ["Fancy"]}')"
    assert_failure 2
    assert_equal "$stderr" "gbox: $BATS_TEST_TMPDIR/badref.json: modules.allow[0]: expected a module name, optionally with @ and a version range (\"stdlib@^1.2\"), got \"Fancy\""
}

@test "--image replaces the root image; without any module the store is not touched" {
    module "$BATS_TEST_TMPDIR/m" lib 1.0.0
    "$GBOX" image build "$BATS_TEST_TMPDIR/m" >/dev/null
    # lib alone as the root: no /bin/sh in it
    run "$GBOX" run --image lib --in-image /usr/share/lib/VERSION
    assert_failure 126
    run "$GBOX" run --image lib --module base --in-image cat /usr/share/lib/VERSION
    assert_output "lib 1.0.0"
    # the default path: image directory, no store opened or created
    rm -rf "$GBOX_STORE_DIR"
    run "$GBOX" run --in-image true
    assert_success
    [ ! -e "$GBOX_STORE_DIR" ]
    run "$GBOX" run --image "$IMAGE_DIR/base/rootfs" --in-image true
    assert_success
    [ ! -e "$GBOX_STORE_DIR" ]
}

# ---- named sandboxes ----------------------------------------------------------------------

@test "the upper layer of a named sandbox persists across runs; a one-shot run keeps nothing" {
    local p
    p=$(rw_policy rw)
    run "$GBOX" run --policy "$p" --name keeper --in-image sh -c \
        'echo kept >/var/tmp/file; mkdir /var/tmp/dir; echo deep >/var/tmp/dir/f; rm /var/tmp/dir/f'
    assert_success
    run "$GBOX" run --policy "$p" --name keeper --in-image sh -c 'cat /var/tmp/file; ls -A /var/tmp/dir; id -u'
    assert_success
    assert_output "$(printf 'kept\n1000')"
    # on the host: the upper layer, owned by the sandbox's ids
    [ -f "$GBOX_STORE_DIR/state/keeper/upper/var/tmp/file" ]
    assert_equal "$(stat -c %u "$GBOX_STORE_DIR/state/keeper/upper/var/tmp/file")" 101000
    assert_equal "$(stat -c %u "$GBOX_STORE_DIR/state/keeper/upper")" 100000
    # another name, or no name, starts clean
    run "$GBOX" run --policy "$p" --name other --in-image cat /var/tmp/file
    assert_failure 1
    run "$GBOX" run --policy "$p" --in-image sh -c 'cat /var/tmp/file; echo one-shot >/var/tmp/file'
    assert_success
    assert_output "cat: can't open '/var/tmp/file': No such file or directory"
    run "$GBOX" run --policy "$p" --name keeper --in-image cat /var/tmp/file
    assert_output "kept"
    run "$GBOX" run --policy "$p" --name keeper --in-image sh -c 'rm /var/tmp/file && ls -A /var/tmp'
    assert_output "dir"
    run "$GBOX" run --policy "$p" --name keeper --in-image ls -A /var/tmp
    assert_output "dir"
}

@test "deleting and replacing files of the image persist in a named sandbox (whiteouts, opaque dirs)" {
    local p
    p=$(rw_policy rw)
    module "$BATS_TEST_TMPDIR/data" data 1.0.0
    mkdir -p "$BATS_TEST_TMPDIR/data/rootfs/srv/data/sub"
    echo a >"$BATS_TEST_TMPDIR/data/rootfs/srv/data/a"
    echo b >"$BATS_TEST_TMPDIR/data/rootfs/srv/data/b"
    echo c >"$BATS_TEST_TMPDIR/data/rootfs/srv/data/sub/c"
    chown -R 1000:1000 "$BATS_TEST_TMPDIR/data/rootfs/srv"
    "$GBOX" image build "$BATS_TEST_TMPDIR/data" >/dev/null
    run "$GBOX" run --policy "$p" --name dd --module data --in-image sh -c \
        'rm /srv/data/a && echo B >/srv/data/b && rm -r /srv/data/sub && mkdir /srv/data/sub && echo new >/srv/data/sub/n'
    assert_success
    run "$GBOX" run --policy "$p" --name dd --module data --in-image sh -c 'ls -A /srv/data /srv/data/sub; cat /srv/data/b'
    assert_success
    assert_output "$(printf '%s\n' /srv/data: b sub '' /srv/data/sub: n B)"
    # the image itself is untouched
    run "$GBOX" run --module data --in-image sh -c 'ls -A /srv/data /srv/data/sub'
    assert_output "$(printf '%s\n' /srv/data: a b sub '' /srv/data/sub: c)"
}

@test "a named sandbox's upper layer persists on a module stack too, and survives a module upgrade" {
    local p
    p=$(rw_policy rw)
    module "$BATS_TEST_TMPDIR/m1" app 1.0.0 '"depends": [{"name": "base"}]'
    "$GBOX" image build "$BATS_TEST_TMPDIR/m1" >/dev/null
    run "$GBOX" run --policy "$p" --name app1 --module app --in-image sh -c 'echo state >/var/tmp/s'
    assert_success
    module "$BATS_TEST_TMPDIR/m2" app 1.1.0 '"depends": [{"name": "base"}]'
    "$GBOX" image build "$BATS_TEST_TMPDIR/m2" >/dev/null
    run "$GBOX" run --policy "$p" --name app1 --module app --in-image sh -c 'cat /var/tmp/s /usr/share/app/VERSION'
    assert_output "$(printf 'state\napp 1.1.0')"
}

@test "the same named sandbox cannot run twice at once (its upper layer is locked)" {
    local p
    p=$(rw_policy rw)
    "$GBOX" run --policy "$p" --name once --in-image sh -c 'echo up >/var/tmp/up; sleep 30' &
    local pid=$! i
    for i in $(seq 100); do [ -e "$GBOX_STORE_DIR/state/once/upper/var/tmp/up" ] && break; sleep 0.05; done
    run --separate-stderr "$GBOX" run --policy "$p" --name once --in-image true
    assert_failure 125
    assert_equal "$stderr" "gbox: state directory $GBOX_STORE_DIR/state/once is in use by another running sandbox (its upper layer is mounted by one sandbox at a time)"
    run "$GBOX" run --policy "$p" --name twice --in-image true
    assert_success
    kill -TERM "$pid"
    wait "$pid" || true
    run "$GBOX" run --policy "$p" --name once --in-image cat /var/tmp/up
    assert_output "up"
    run --separate-stderr "$GBOX" run --name '../x' --in-image true
    assert_failure 2
    assert_equal "$stderr" "gbox: --name ../x: expected letters, digits, _, . and - (at most 64, starting with a letter or digit)"
}

@test "symlinks in place of a layer or a state directory are refused" {
    module "$BATS_TEST_TMPDIR/m" lib 1.0.0
    run "$GBOX" image build "$BATS_TEST_TMPDIR/m"
    local d=${output#lib:1.0.0 sha256:}
    mv "$GBOX_STORE_DIR/images/$d/rootfs" "$BATS_TEST_TMPDIR/elsewhere"
    ln -s "$BATS_TEST_TMPDIR/elsewhere" "$GBOX_STORE_DIR/images/$d/rootfs"
    run --separate-stderr "$GBOX" run --module lib --in-image true
    assert_failure 125
    assert_equal "$stderr" "gbox: sandbox setup failed at mount: layer $GBOX_STORE_DIR/images/$d/rootfs: refused, a component of the path is a symlink"
    local p
    p=$(rw_policy rw)
    run "$GBOX" run --policy "$p" --name st --in-image true
    assert_success
    mv "$GBOX_STORE_DIR/state/st/upper" "$BATS_TEST_TMPDIR/upper"
    ln -s "$BATS_TEST_TMPDIR/upper" "$GBOX_STORE_DIR/state/st/upper"
    run --separate-stderr "$GBOX" run --policy "$p" --name st --in-image true
    assert_failure 125
    assert_equal "$stderr" "gbox: state directory $GBOX_STORE_DIR/state/st/upper: refused, it is a symlink"
}

# ---- deep stacks ----------------------------------------------------------------------------

# chain N — modules l1..lN, each depending on the one below, l1 on base.
chain() {
    local i dep
    for i in $(seq "$1"); do
        dep=base
        [ "$i" -eq 1 ] || dep=l$((i - 1))
        module "$BATS_TEST_TMPDIR/l$i" "l$i" 1.0.0 "\"depends\": [{\"name\": \"$dep\"}]"
        echo "$i" >"$BATS_TEST_TMPDIR/l$i/rootfs/usr/share/top"
    done
    "$GBOX" image build $(for i in $(seq "$1"); do echo "$BATS_TEST_TMPDIR/l$i"; done) >/dev/null
}

@test "a 50-layer stack mounts, with every way of mounting the overlay" {
    chain 49
    local api
    for api in auto string fd legacy; do
        run env GBOX_OVERLAY_API=$api "$GBOX" run --report "$BATS_TEST_TMPDIR/r.json" --module l49 --in-image \
            sh -c 'cat /usr/share/top /usr/share/l1/VERSION /usr/share/l49/VERSION; grep -c "lowerdir" /proc/self/mountinfo'
        [ "$status" -eq 0 ] || fail "$api: exit $status: $output"
        assert_line --index 0 "49"
        assert_line --index 1 "l1 1.0.0"
        assert_line --index 2 "l49 1.0.0"
        assert_equal "$(jq '.images | length' "$BATS_TEST_TMPDIR/r.json")" 50
    done
}

@test "a module lists at most 64 dependencies" {
    local i deps
    mkdir -p "$BATS_TEST_TMPDIR/many/rootfs"
    deps=$(for i in $(seq 501); do printf '{"name": "m%d"},' "$i"; done)
    printf '{"name": "many", "version": "1.0.0", "depends": [%s]}\n' "${deps%,}" >"$BATS_TEST_TMPDIR/many/module.json"
    run --separate-stderr "$GBOX" image validate "$BATS_TEST_TMPDIR/many"
    assert_failure 2
    assert_equal "$stderr" "gbox: $BATS_TEST_TMPDIR/many/module.json: depends: expected at most 64 items, got 501"
}

# ---- OCI import -------------------------------------------------------------------------------

# oci_blob DIR FILE MEDIATYPE — store FILE as a blob of the layout DIR; print its descriptor.
oci_blob() {
    local sum size
    sum=$(sha256sum "$2" | cut -d' ' -f1)
    size=$(stat -c %s "$2")
    mkdir -p "$1/blobs/sha256"
    cp "$2" "$1/blobs/sha256/$sum"
    jq -nc --arg mt "$3" --arg d "sha256:$sum" --argjson s "$size" '{mediaType: $mt, digest: $d, size: $s}'
}

# A hand-made OCI layout: the base image as layer 0, then a layer that deletes /etc/hostname
# (.wh.hostname), makes /var/tmp opaque (.wh..wh..opq) with a new file, adds a hard link, and a
# symlink to a file of layer 0; then a layer of the top alone.
make_oci_layout() {
    local dir=$1 w=$BATS_TEST_TMPDIR/oci-work
    rm -rf "$dir" "$w"
    mkdir -p "$dir" "$w/l1/etc" "$w/l1/var/tmp" "$w/l1/usr/bin" "$w/l2/opt"
    cp -a "$IMAGE_DIR/base/rootfs" "$w/l0"
    echo "hidden by the opaque /var/tmp of layer 1" >"$w/l0/var/tmp/old"
    tar --numeric-owner --owner=0 --group=0 -C "$w/l0" -czf "$w/l0.tar.gz" .
    : >"$w/l1/etc/.wh.hostname"
    : >"$w/l1/var/tmp/.wh..wh..opq"
    echo "new in layer 1" >"$w/l1/var/tmp/new"
    ln "$w/l1/var/tmp/new" "$w/l1/usr/bin/hardlinked"
    ln -s /etc/passwd "$w/l1/usr/bin/pw"
    tar --numeric-owner --owner=0 --group=0 -C "$w/l1" -czf "$w/l1.tar.gz" .
    echo "top" >"$w/l2/opt/top"
    tar --numeric-owner --owner=1000 --group=1000 -C "$w/l2" -cf "$w/l2.tar" .
    echo '{"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}, "config": {}}' >"$w/config.json"
    local c l0 l1 l2
    c=$(oci_blob "$dir" "$w/config.json" application/vnd.oci.image.config.v1+json)
    l0=$(oci_blob "$dir" "$w/l0.tar.gz" application/vnd.oci.image.layer.v1.tar+gzip)
    l1=$(oci_blob "$dir" "$w/l1.tar.gz" application/vnd.oci.image.layer.v1.tar+gzip)
    l2=$(oci_blob "$dir" "$w/l2.tar" application/vnd.oci.image.layer.v1.tar)
    jq -n --argjson c "$c" --argjson l0 "$l0" --argjson l1 "$l1" --argjson l2 "$l2" \
        '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: $c, layers: [$l0, $l1, $l2]}' \
        >"$w/manifest.json"
    local m
    m=$(oci_blob "$dir" "$w/manifest.json" application/vnd.oci.image.manifest.v1+json)
    jq -n --argjson m "$m" '{schemaVersion: 2, manifests: [$m + {annotations: {"org.opencontainers.image.ref.name": "handmade:1"}}]}' \
        >"$dir/index.json"
    echo '{"imageLayoutVersion": "1.0.0"}' >"$dir/oci-layout"
}

@test "a hand-made OCI layout imports layer by layer, whiteouts applied, and runs" {
    make_oci_layout "$BATS_TEST_TMPDIR/oci"
    run "$GBOX" image import --name handmade --version 1.2.0 --set standard "$BATS_TEST_TMPDIR/oci"
    assert_success
    assert_line --index 0 --regexp '^handmade-layer0:1.2.0 sha256:[0-9a-f]{64}$'
    assert_line --index 1 --regexp '^handmade-layer1:1.2.0 sha256:[0-9a-f]{64}$'
    assert_line --index 2 --regexp '^handmade:1.2.0 sha256:[0-9a-f]{64}$'
    run "$GBOX" image inspect handmade-layer1
    assert_equal "$(jq -c .manifest.depends <<<"$output")" '[{"name":"handmade-layer0","version":"=1.2.0"}]'
    run "$GBOX" run --image handmade --in-image sh -c \
        'ls /etc; ls -A /var/tmp; cat /usr/bin/hardlinked /opt/top; readlink /usr/bin/pw; stat -c %u /opt/top; stat -c %h /var/tmp/new'
    assert_success
    assert_output "$(printf '%s\n' gbox-image.json group hosts passwd new 'new in layer 1' top /etc/passwd 1000 2)"
    # the whiteout and the opaque marker, as overlayfs reads them, in the stored layer
    local l1
    l1=$(jq -r '.digest[7:]' <<<"$("$GBOX" image inspect handmade-layer1)")
    assert_equal "$(stat -c '%F %t:%T' "$GBOX_STORE_DIR/images/$l1/rootfs/etc/hostname")" "character special file 0:0"
    assert_equal "$(python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "user.overlay.opaque").decode())' \
        "$GBOX_STORE_DIR/images/$l1/rootfs/var/tmp")" "y"
    # importing again stores nothing new
    local before
    before=$(ls "$GBOX_STORE_DIR/images" | sort)
    run "$GBOX" image import --name handmade --version 1.2.0 --set standard "$BATS_TEST_TMPDIR/oci"
    assert_success
    assert_equal "$(ls "$GBOX_STORE_DIR/images" | sort)" "$before"
}

@test "an OCI layout with a corrupted blob, a foreign entry path or no layout file is refused" {
    make_oci_layout "$BATS_TEST_TMPDIR/oci"
    # layer 1's blob corrupted: not even layer 0 is stored
    local victim manifest
    manifest=$(jq -r '.manifests[0].digest[7:]' "$BATS_TEST_TMPDIR/oci/index.json")
    victim=$(jq -r '.layers[1].digest[7:]' "$BATS_TEST_TMPDIR/oci/blobs/sha256/$manifest")
    printf 'X' | dd of="$BATS_TEST_TMPDIR/oci/blobs/sha256/$victim" bs=1 seek=20 conv=notrunc status=none
    run --separate-stderr "$GBOX" image import --name bad "$BATS_TEST_TMPDIR/oci"
    assert_failure 1
    assert_regex "$stderr" "^gbox: layer 1 sha256:${victim:0:12}: content does not match its descriptor \(sha256:[0-9a-f]{12}, [0-9]+ bytes; expected [0-9]+ bytes\)\$"
    run "$GBOX" image ls --json
    assert_output "[]"
    [ -z "$(ls "$GBOX_STORE_DIR/tmp")" ]
    # a layer whose entry climbs out with ".."
    local w=$BATS_TEST_TMPDIR/evil
    mkdir -p "$w/d"
    echo pwned >"$w/d/x"
    tar --numeric-owner -C "$w" -cPf "$w/evil.tar" --transform 's|^d/x|../../escaped|' d/x
    echo '{"rootfs": {}}' >"$w/config.json"
    rm -rf "$BATS_TEST_TMPDIR/oci2"
    local c l m
    c=$(oci_blob "$BATS_TEST_TMPDIR/oci2" "$w/config.json" application/vnd.oci.image.config.v1+json)
    l=$(oci_blob "$BATS_TEST_TMPDIR/oci2" "$w/evil.tar" application/vnd.oci.image.layer.v1.tar)
    jq -n --argjson c "$c" --argjson l "$l" '{schemaVersion: 2, config: $c, layers: [$l]}' >"$w/m.json"
    m=$(oci_blob "$BATS_TEST_TMPDIR/oci2" "$w/m.json" application/vnd.oci.image.manifest.v1+json)
    jq -n --argjson m "$m" '{schemaVersion: 2, manifests: [$m]}' >"$BATS_TEST_TMPDIR/oci2/index.json"
    echo '{"imageLayoutVersion": "1.0.0"}' >"$BATS_TEST_TMPDIR/oci2/oci-layout"
    run --separate-stderr "$GBOX" image import --name evil "$BATS_TEST_TMPDIR/oci2"
    assert_failure 1
    assert_equal "$stderr" 'gbox: layer 0: entry "../../escaped" leaves the layer (..)'
    [ ! -e "$BATS_TEST_TMPDIR/escaped" ] && [ ! -e "$GBOX_STORE_DIR/escaped" ] && [ ! -e "$GBOX_STORE_DIR/tmp/escaped" ]
    rm "$BATS_TEST_TMPDIR/oci2/oci-layout"
    run --separate-stderr "$GBOX" image import --name evil "$BATS_TEST_TMPDIR/oci2"
    assert_failure 2
    assert_equal "$stderr" "gbox: $BATS_TEST_TMPDIR/oci2: not an OCI image layout (no oci-layout file with imageLayoutVersion 1.x)"
}

# podman as root without systemd: cgroupfs, file events, vfs storage, all under the test's dir.
podman_() {
    podman --root "$BATS_TEST_TMPDIR/podman/storage" --runroot "$BATS_TEST_TMPDIR/podman/run" \
        --cgroup-manager=cgroupfs --events-backend=file --storage-driver=vfs "$@"
}

@test "an OCI layout written by podman save imports and runs (whiteouts from a podman build)" {
    command -v podman >/dev/null || require_feature podman "podman is not installed (scripts/install-deps.sh)"
    tar --numeric-owner --owner=0 --group=0 -C "$IMAGE_DIR/base/rootfs" -cf "$BATS_TEST_TMPDIR/base.tar" .
    run podman_ import "$BATS_TEST_TMPDIR/base.tar" localhost/gbox-import:1
    assert_success
    mkdir -p "$BATS_TEST_TMPDIR/ctx"
    printf '%s\n' 'FROM localhost/gbox-import:1' \
        'RUN rm /etc/group && mkdir -p /srv/app && echo built >/srv/app/built' >"$BATS_TEST_TMPDIR/ctx/Containerfile"
    run podman_ build --isolation=chroot --network=host -t localhost/gbox-import:2 "$BATS_TEST_TMPDIR/ctx"
    assert_success
    run podman_ save --format oci-dir -o "$BATS_TEST_TMPDIR/oci" localhost/gbox-import:2
    assert_success
    run "$GBOX" image import --name fromimage --version 2.0.0 "$BATS_TEST_TMPDIR/oci"
    assert_success
    assert_line --index 0 --regexp '^fromimage-layer0:2.0.0 sha256:[0-9a-f]{64}$'
    assert_line --index 1 --regexp '^fromimage:2.0.0 sha256:[0-9a-f]{64}$'
    local p
    p=$(policy_file full '"modules": {"set": "full"}')
    run "$GBOX" run --policy "$p" --image fromimage --in-image sh -c 'cat /srv/app/built; ls /etc; probe status | grep ^uid'
    assert_success
    assert_output "$(printf '%s\n' built gbox-image.json hostname hosts passwd resolv.conf 'uid 1000')"
}

# ---- recipes ----------------------------------------------------------------------------------

@test "the sample module in two versions: --module sample@1 and @2 at /opt/sample" {
    run "$GBOX" run --module 'sample@^1' --in-image /opt/sample/bin/sample
    assert_success
    assert_output "$(printf 'hello from sample 1\nversion 1.0.0 at /opt/sample')"
    run "$GBOX" run --module sample --in-image sh -c '/opt/sample/bin/sample; cat /opt/sample/share/CHANGELOG'
    assert_success
    assert_line --index 0 "hello from sample 2, now with a changelog"
    assert_line --index 2 "2.0.0: a changelog"
    # stored, they resolve from the store
    "$GBOX" image build "$IMAGE_DIR/sample-1.0.0" "$IMAGE_DIR/sample-2.0.0" "$IMAGE_DIR/base" >/dev/null
    run "$GBOX" run --report "$BATS_TEST_TMPDIR/r.json" --module 'sample@1' --in-image /opt/sample/bin/sample
    assert_success
    assert_equal "$(jq -r '[.images[] | (.digest != null)] | all' "$BATS_TEST_TMPDIR/r.json")" "true"
}

@test "the probe module stacks the probe onto a root image without it" {
    mkdir -p "$BATS_TEST_TMPDIR/bare/rootfs/bin"
    cp "$IMAGE_DIR/base/rootfs/bin/busybox" "$BATS_TEST_TMPDIR/bare/rootfs/bin/"
    ln -s busybox "$BATS_TEST_TMPDIR/bare/rootfs/bin/sh"
    echo '{"name": "bare", "version": "1.0.0", "set": "minimal"}' >"$BATS_TEST_TMPDIR/bare/module.json"
    "$GBOX" image build "$BATS_TEST_TMPDIR/bare" >/dev/null
    run -127 "$GBOX" run --image bare --in-image /bin/sh -c 'probe status'
    assert_output "/bin/sh: probe: not found"
    run "$GBOX" run --image bare --module probe --in-image /usr/bin/probe status
    assert_success
    assert_line "uid 1000"
}

@test "the Graphoid recipe packs any dynamic binary with its libraries and a stdlib module" {
    local stand_in=/bin/ls out=$BATS_TEST_TMPDIR/gimages
    mkdir -p "$BATS_TEST_TMPDIR/stdlib/core"
    echo 'fn main() {}' >"$BATS_TEST_TMPDIR/stdlib/core/prelude.gr"
    run env GR=$stand_in GR_VERSION=0.3.1 GR_STDLIB="$BATS_TEST_TMPDIR/stdlib" "$SRC_DIR/images/graphoid/build.sh" "$out"
    assert_success
    ldd "$stand_in" | grep -q "=>" # really dynamic
    for lib in $(ldd "$stand_in" | awk '$2 == "=>" { print $3 }'); do
        [ -f "$out/graphoid/rootfs$lib" ] || fail "$lib missing from the image"
    done
    run "$GBOX" image build "$out/graphoid" "$out/graphoid-stdlib"
    assert_success
    assert_line --index 0 --regexp '^graphoid:0.3.1 sha256:'
    assert_line --index 1 --regexp '^graphoid-stdlib:0.3.1 sha256:'
    # the stand-in "interpreter" lists its stdlib: binary, libraries and stdlib mount all work
    run "$GBOX" run --image graphoid --in-image /usr/bin/gr /usr/share/graphoid/stdlib/core
    assert_success
    assert_output "prelude.gr"
    # a .gr program goes to /usr/bin/gr by the default handler
    printf 'print("hi")\n' >"$BATS_TEST_TMPDIR/prog.gr"
    chmod 0644 "$BATS_TEST_TMPDIR/prog.gr"
    local p
    p=$(policy_file gr '"interpreter": {"image": "graphoid"}')
    run "$GBOX" run --policy "$p" "$BATS_TEST_TMPDIR/prog.gr"
    assert_success
    assert_output "/app/prog.gr"
    # without GR the make target says how to use it
    run make -s -C "$SRC_DIR" image-graphoid GR=
    assert_failure
    assert_output --partial "usage: GR=/path/to/gr make image-graphoid"
}

@test "image: usage errors exit 2" {
    run "$GBOX" image
    assert_failure 2
    run "$GBOX" image frobnicate
    assert_failure 2
    run "$GBOX" image build
    assert_failure 2
    run "$GBOX" image import "$BATS_TEST_TMPDIR"
    assert_failure 2
    run "$GBOX" image --help
    assert_success
}
