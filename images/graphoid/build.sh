#!/bin/sh
# Build the Graphoid interpreter images from a host `gr` binary:
#   OUTDIR/graphoid/         the binary at /usr/bin/gr and its shared-library closure (ldd), at
#                            their host paths, with the dynamic loader
#   OUTDIR/graphoid-stdlib/  the standard library, a module of its own mounted at
#                            /usr/share/graphoid/stdlib (reloadable by swap)
# graphoid depends on graphoid-stdlib, so `--image graphoid` (or interpreter.image "graphoid")
# stacks both. Any dynamically linked binary works as GR (the tests use a stand-in).
#
# Usage: GR=/path/to/gr images/graphoid/build.sh OUTDIR
# Environment: GR (required), GR_VERSION (default 0.1.0), GR_STDLIB (a directory; default
# $(dirname GR)/../share/graphoid/stdlib, else $(dirname GR)/stdlib, else an empty stdlib),
# GR_DESCRIPTION (the interpreter image's description; the Makefile's stand-in built from
# tests/fixtures/grstub says it is a test double).
set -eu
[ "$#" -eq 1 ] || { echo "usage: GR=/path/to/gr $0 OUTDIR" >&2; exit 2; }
outdir=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"

gr=${GR:-}
[ -n "$gr" ] || image_die "GR is not set: GR=/path/to/gr make image-graphoid"
[ -f "$gr" ] && [ -x "$gr" ] || image_die "GR=$gr is not an executable file"
version=${GR_VERSION:-0.1.0}
description=${GR_DESCRIPTION:-the Graphoid interpreter /usr/bin/gr with its shared libraries}
stdlib=${GR_STDLIB:-}
if [ -z "$stdlib" ]; then
    for candidate in "$(dirname "$gr")/../share/graphoid/stdlib" "$(dirname "$gr")/stdlib"; do
        if [ -d "$candidate" ]; then
            stdlib=$candidate
            break
        fi
    done
fi

# --- the interpreter and its closure --------------------------------------------------------
image_begin "$outdir/graphoid"
mkdir -p "$tmp/usr/bin" "$tmp/etc" "$tmp/tmp"
cp -L "$gr" "$tmp/usr/bin/gr"
chmod 0755 "$tmp/usr/bin/gr"
# ldd prints "name => /path (addr)" per library and "/path/ld-linux... (addr)" for the loader;
# a static binary has no closure ("not a dynamic executable").
libs=$(LC_ALL=C ldd "$gr" 2>/dev/null | awk '
    $2 == "=>" && $3 ~ /^\// { print $3 }
    $1 ~ /^\// { print $1 }') || true
for lib in $libs; do
    mkdir -p "$tmp$(dirname "$lib")"
    cp -L "$lib" "$tmp$lib"
done
# the usual loader paths exist whatever the binary asked for (usrmerge: /lib64 -> /usr/lib64)
for lib in $libs; do
    case $lib in
    /lib64/* | /lib/*)
        usr=/usr$lib
        [ -e "$tmp$usr" ] || { mkdir -p "$tmp$(dirname "$usr")"; cp -L "$lib" "$tmp$usr"; }
        ;;
    esac
done
chmod 1777 "$tmp/tmp"
printf 'root:x:0:0:root:/:/usr/bin/gr\ngbox:x:1000:1000:gbox:/tmp:/usr/bin/gr\n' >"$tmp/etc/passwd"
printf 'root:x:0:\ngbox:x:1000:\n' >"$tmp/etc/group"
manifest=$outdir/graphoid.json.$$
cat >"$manifest" <<JSON
{
  "name": "graphoid",
  "version": "$version",
  "description": "$description",
  "depends": [{"name": "graphoid-stdlib", "version": "^$version"}],
  "provides": ["graphoid-interpreter"],
  "domains": ["*"],
  "set": "minimal",
  "mount_point": "/",
  "reload": "restart"
}
JSON
image_commit "$manifest"
rm -f "$manifest"

# --- the standard library -------------------------------------------------------------------
image_begin "$outdir/graphoid-stdlib"
if [ -n "$stdlib" ]; then
    cp -R "$stdlib"/. "$tmp"/
else
    echo "No Graphoid standard library was given (GR_STDLIB); this layer is empty." >"$tmp/README"
fi
find "$tmp" -type d -exec chmod 0755 {} +
find "$tmp" -type f -exec chmod a+r {} +
manifest=$outdir/graphoid-stdlib.json.$$
cat >"$manifest" <<JSON
{
  "name": "graphoid-stdlib",
  "version": "$version",
  "description": "the Graphoid standard library at /usr/share/graphoid/stdlib",
  "provides": ["graphoid-stdlib"],
  "domains": ["*"],
  "set": "minimal",
  "mount_point": "/usr/share/graphoid/stdlib",
  "reload": "swap"
}
JSON
image_commit "$manifest"
rm -f "$manifest"
