# lib.sh — shared steps of the image recipes (sourced by images/*/build.sh).
#
# An image directory is OUTDIR/rootfs (the tree) and OUTDIR/module.json (its manifest): what
# `gbox image build OUTDIR` stores and what gbox resolves from the image directory. The tree is
# built in OUTDIR/rootfs.tmp.PID and renamed into place at the end, so an interrupted build never
# leaves a half image under the final name.
#
# Owners: the sandbox's root everywhere, i.e. host uid 100000, where gbox's id map puts uid 0 of
# the sandbox (the image store shifts owners the same way). The sandbox's root then owns its
# image, and overlayfs can copy files up into a writable upper layer; it cannot give a copy an
# owner the sandbox's user namespace does not map, such as the host's root.

image_die() {
    echo "${0##*/}: $*" >&2
    exit 1
}

# Nothing from the host's /lib is copied by the static recipes: their binaries must be static.
image_is_static() {
    ! LC_ALL=C ldd "$1" >/dev/null 2>&1
}

# image_begin OUTDIR: sets $final and $tmp (the tree to fill) and cleans up on failure.
image_begin() {
    mkdir -p "$1"
    image_out=$1
    final=$1/rootfs
    tmp=$1/rootfs.tmp.$$
    image_old=$1/rootfs.old.$$
    rm -rf "$tmp"
    trap 'rm -rf "$tmp"' EXIT
    trap 'exit 1' HUP INT TERM
    umask 022
    mkdir "$tmp"
}

# image_commit MANIFEST: owners, then the tree and the manifest into place.
image_commit() {
    if [ "$(id -u)" -eq 0 ]; then
        chown -R -h "${GBOX_IMAGE_OWNER:-100000:100000}" "$tmp"
    else
        echo "${0##*/}: warning: not root, the image is owned by uid $(id -u)" >&2
    fi
    # rename(2) cannot replace a non-empty directory: move the old image aside first
    if [ -e "$final" ] || [ -L "$final" ]; then
        mv "$final" "$image_old"
    fi
    mv "$tmp" "$final"
    rm -rf "$image_old"
    trap - EXIT
    cp "$1" "$image_out/module.json.tmp.$$"
    mv "$image_out/module.json.tmp.$$" "$image_out/module.json"
    echo "image: $image_out ($(sed -n 's/^ *"name": *"\([^"]*\)".*/\1/p' "$image_out/module.json" | head -1))"
}
