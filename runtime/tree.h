/* tree.h — directory trees of module images: the canonical walk behind an image digest, a
 * faithful copy, and removal; none of them ever follows a symlink. */
#ifndef GBOX_TREE_H
#define GBOX_TREE_H

#include "../sandbox/sbx.h"

#include <stdint.h>

struct tree_stats {
    uint64_t dirs, files, symlinks, others, bytes;
};

/* The overlay "opaque directory" marker as gbox writes it (overlay mounts use userxattr). */
#define TREE_OPAQUE_XATTR "user.overlay.opaque"

/* Owners inside a sandbox are 0..TREE_ID_COUNT-1; the store keeps them shifted by the sandbox's
 * id map (uid 0 inside = TREE_ID_BASE outside, GBOX_HOST_ID_BASE in plan.h), so the sandbox's
 * root owns its image and overlayfs can copy files up into a writable upper layer (it cannot
 * give a copy an owner the user namespace does not map, such as the host's root). A tree's
 * owner id is read as the sandbox sees it: below TREE_ID_COUNT as it is, within
 * TREE_ID_BASE..TREE_ID_BASE+TREE_ID_COUNT-1 (a tree already shifted, like the store's or the
 * image directory's) minus TREE_ID_BASE; anything else is refused. */
#define TREE_ID_COUNT 65536u
#define TREE_ID_BASE 100000u

/* sha256 (64 hex digits into hex[65]) of the canonical stream of a manifest and a tree
 * (docs/images.md "Digest"): names, types, permission bits, owners (as the sandbox sees them),
 * file contents, symlink targets, device numbers and the opaque marker, in bytewise name order;
 * not times, not other extended attributes, not hard-link structure. dirfd is the tree's root. */
int tree_digest(int dirfd, const char *manifest, char hex[65], struct tree_stats *st, struct sbx_err **err);

/* Copy the tree at src into the new directory dst (created; its parent must exist): types,
 * modes, owners (shifted to TREE_ID_BASE + the sandbox's id), contents, symlink targets, hard
 * links within the tree, device nodes, fifos, modification times and the opaque marker. Sockets
 * are refused. */
int tree_copy(const char *src, const char *dst, struct sbx_err **err);
/* The same for a sandbox's state layer (an upper layer, sealed or live): socket nodes the
 * program left are copied too. */
int tree_copy_state(const char *src, const char *dst, struct sbx_err **err);

/* Apply the overlay layer `upper` onto the existing tree `dst` (a copy of the layers below it,
 * merged already), so that dst alone shows what the two did stacked: upper's entries replace
 * dst's, directories present in both are merged unless upper's is opaque, whiteouts (0/0
 * character devices) and opaque markers are kept (they still hide the image layers beneath),
 * and a directory that replaces a non-directory is marked opaque. Copies as tree_copy_state does. */
int tree_merge(const char *upper, const char *dst, struct sbx_err **err);

/* Progress of long copies and digests (gbox image build and import show it on a terminal):
 * called after each regular file with the totals of the current copy or digest; NULL: none. */
extern void (*tree_progress)(const char *phase, uint64_t files, uint64_t bytes);

/* The sandbox's view of a tree's owner id (see above); false when it has none. */
bool tree_id(unsigned id, unsigned *out);

/* rm -rf below dirfd's entry name (a directory or anything else), without following symlinks. */
int tree_remove_at(int dirfd, const char *name);

#endif
