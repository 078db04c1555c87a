/* paths.h — where gbox finds its policies and images and keeps its run-time state. */
#ifndef GBOX_PATHS_H
#define GBOX_PATHS_H

/* $GBOX_POLICY_DIR, else <dir of the gbox binary>/../policies when running from a build tree,
 * else DATADIR/policies. */
const char *gbox_policy_dir(void);
/* $GBOX_IMAGE_DIR, else <dir of the gbox binary>/images, else DATADIR/images (the last two
 * canonical: realpath). */
const char *gbox_image_dir(void);
/* out = real_dir/name when name is one plain component that is a directory, not a symlink: then
 * it is canonical if real_dir is (realpath without its readlink per component). false otherwise. */
#include <stdbool.h>
#include <stddef.h>
bool path_real_subdir(const char *real_dir, const char *name, char *out, size_t len);
/* $GBOX_RUN_DIR, else /run/gbox */
const char *gbox_run_dir(void);
/* gbox daemon's state directory: $GBOX_STATE_DIR, else /var/lib/gbox/daemon. */
const char *daemon_state_dir(void);

#endif
