/* swap.h — the live swap of a module mount point inside a running sandbox (docs/reload.md,
 * "Swap"), and the checkpoint it needs: the cgroup frozen while the upper layer is copied.
 * Used by the daemon (daemon_reload.c); everything here runs as root in the initial user
 * namespace, which holds CAP_SYS_ADMIN over the sandbox's own user namespace. */
#ifndef GBOX_SWAP_H
#define GBOX_SWAP_H

#include "../sandbox/sbx.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Mount the module tree `layers` (host directories, top first: one is a read-only bind, more
 * an overlay of them) over `mount_point` in the mount namespace of the sandbox whose pid 1 is
 * init_pid, atomically for path lookups: a helper process builds the tree as a detached mount,
 * enters the namespace (setns through a pidfd), puts the tree beneath the current mount
 * (MOVE_MOUNT_BENEATH, Linux 6.5) and detaches the one on top, so every lookup sees the old
 * tree or the new one. Kernels without MOVE_MOUNT_BENEATH get the tree moved on top and the old
 * one left shadowed underneath (detaching it would take the new one along). */
int swap_mount(pid_t init_pid, const char *mount_point, char *const *layers, size_t n, struct sbx_err **err);

/* Freeze (or thaw) every task of a sandbox: cgroup v2's cgroup.freeze where its v2 directory
 * has one, else the v1 freezer among its v1 directories; waits until the kernel says done. */
int swap_freeze(const struct sbx_started *where, bool frozen, struct sbx_err **err);

/* The checkpoint of a live swap: with the sandbox frozen, copy DIR/state/upper to
 * DIR/layers/NAME (reflinks where the filesystem has them; built beside as NAME.tmp, then
 * renamed), then thaw. Idempotent: a layer already there under NAME is kept. */
int swap_checkpoint(const char *dir, const char *name, const struct sbx_started *where, struct sbx_err **err);

#endif
