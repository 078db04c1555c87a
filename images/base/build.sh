#!/bin/sh
# Build the default gbox root image: busybox-static, the probe helper and a
# minimal /etc, as OUTDIR/rootfs with OUTDIR/module.json beside it.
# Usage: images/base/build.sh OUTDIR PROBE_BINARY [EXTRA_BINARY...]
# Each EXTRA_BINARY (static, e.g. the adversarial suite's attack helper) is
# copied to /usr/bin under its own name.
#
# The tree is built in OUTDIR/rootfs.tmp.PID and renamed to OUTDIR/rootfs at
# the end, so a half-built image is never left under the final name. Every
# file is world-readable and every directory world-searchable: the sandbox
# runs as an unprivileged mapped uid.
set -eu

usage() {
    echo "usage: $0 OUTDIR PROBE_BINARY [EXTRA_BINARY...]" >&2
    exit 2
}

die() {
    echo "build.sh: $*" >&2
    exit 1
}

[ "$#" -ge 2 ] || usage
outdir=$1
probe=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
busybox=${BUSYBOX:-}
if [ -z "$busybox" ]; then
    for candidate in /bin/busybox /usr/bin/busybox; do
        if [ -x "$candidate" ]; then
            busybox=$candidate
            break
        fi
    done
fi

if [ -z "$busybox" ] || [ ! -x "$busybox" ]; then
    die "busybox not found (apt-get install busybox-static)"
fi
if [ ! -f "$probe" ] || [ ! -x "$probe" ]; then
    die "probe binary not found or not executable: $probe"
fi
[ -f "$here/module.json" ] || die "module.json missing next to $0"

# Nothing from the host's /lib is copied in, so both binaries must be static.
is_static() {
    ! LC_ALL=C ldd "$1" >/dev/null 2>&1
}
if command -v ldd >/dev/null 2>&1; then
    is_static "$busybox" || die "$busybox is dynamically linked (install busybox-static)"
    is_static "$probe" || die "$probe is dynamically linked (build it with -static)"
    for extra in "$@"; do
        is_static "$extra" || die "$extra is dynamically linked (build it with -static)"
    done
fi

mkdir -p "$outdir"
final=$outdir/rootfs
tmp=$outdir/rootfs.tmp.$$
old=$outdir/rootfs.old.$$
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
umask 022

mkdir "$tmp"
for dir in bin sbin usr usr/bin usr/sbin usr/local usr/local/bin proc dev sys tmp app run \
    etc home home/gbox root var var/tmp; do
    mkdir "$tmp/$dir"
done

# busybox and one symlink per applet in /bin; /usr/bin/env for "#!/usr/bin/env sh".
cp "$busybox" "$tmp/bin/busybox"
for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$tmp/bin/$applet"
done
ln -s ../../bin/busybox "$tmp/usr/bin/env"

cp "$probe" "$tmp/usr/bin/probe"
for extra in "$@"; do
    [ -f "$extra" ] && [ -x "$extra" ] || die "not an executable file: $extra"
    cp "$extra" "$tmp/usr/bin/$(basename "$extra")"
done
# Setuid-root fixtures: under no_new_privs the bit must have no effect.
# busybox drops setuid privileges by itself, so only suid-probe shows the
# difference: "suid-probe status" prints "euid 0" unless no_new_privs is on.
cp "$busybox" "$tmp/usr/bin/suid-busybox"
cp "$probe" "$tmp/usr/bin/suid-probe"

cat >"$tmp/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
gbox:x:1000:1000:gbox:/home/gbox:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$tmp/etc/group" <<'EOF'
root:x:0:
gbox:x:1000:
nogroup:x:65534:
EOF
echo gbox >"$tmp/etc/hostname"
cat >"$tmp/etc/hosts" <<'EOF'
127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
EOF
cp "$here/module.json" "$tmp/etc/gbox-image.json"

# Owner: the sandbox's root everywhere, i.e. host uid 100000, where gbox's id map puts uid 0 of
# the sandbox (the image store shifts owners the same way). The sandbox's root then owns its
# image, and overlayfs can copy files up into a writable upper layer (a named sandbox's state):
# it cannot give a copy an owner the sandbox's user namespace does not map, such as host root.
owner=${GBOX_IMAGE_OWNER:-100000:100000}
if [ "$(id -u)" -eq 0 ]; then
    chown -R -h "$owner" "$tmp"
else
    echo "build.sh: warning: not root, the image is owned by uid $(id -u)" >&2
fi
find "$tmp" -type d -exec chmod 0755 {} +
find "$tmp" -type f -exec chmod 0644 {} +
chmod 0755 "$tmp/bin/busybox" "$tmp/usr/bin/probe"
for extra in "$@"; do
    chmod 0755 "$tmp/usr/bin/$(basename "$extra")"
done
chmod 1777 "$tmp/tmp" "$tmp/var/tmp"
# After the chown, which would clear the setuid bit.
chmod 4755 "$tmp/usr/bin/suid-busybox" "$tmp/usr/bin/suid-probe"

# rename(2) cannot replace a non-empty directory: move the old image aside,
# put the new one in place, then delete the old one.
if [ -e "$final" ] || [ -L "$final" ]; then
    mv "$final" "$old"
fi
mv "$tmp" "$final"
rm -rf "$old"
trap - EXIT
# The manifest next to the tree: OUTDIR is an image gbox can resolve as a module ("base") and
# `gbox image build OUTDIR` can store.
cp "$here/module.json" "$outdir/module.json.tmp.$$" && mv "$outdir/module.json.tmp.$$" "$outdir/module.json"

echo "base image: $final"
