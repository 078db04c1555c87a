#!/bin/sh
# Build the probe module: the static test helper alone, at /usr/bin/probe, as OUTDIR/rootfs with
# OUTDIR/module.json beside it. Stack it on a root image that lacks it (an imported OCI image)
# with `gbox run --module probe ...`.
# Usage: images/probe/build.sh OUTDIR PROBE_BINARY
set -eu
[ "$#" -eq 2 ] || { echo "usage: $0 OUTDIR PROBE_BINARY" >&2; exit 2; }
outdir=$1
probe=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"

[ -x "$probe" ] || image_die "probe binary not found or not executable: $probe"
image_is_static "$probe" || image_die "$probe is dynamically linked (build it with -static)"
image_begin "$outdir"
mkdir -p "$tmp/usr/bin"
cp "$probe" "$tmp/usr/bin/probe"
chmod 0755 "$tmp/usr/bin/probe"
image_commit "$here/module.json"
