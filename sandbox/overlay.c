/* overlay.c — the sandbox's layered root: opening the layers, locking a persistent upper layer,
 * and mounting an overlay of up to SBX_MAX_LAYERS lower layers.
 *
 * Layers and upper/work directories are opened by the child in its own mount namespace, before
 * it becomes root of its user namespace (sbx_mount_open_sources): overlayfs clones each layer's
 * mount privately and the kernel only allows that for mounts of the caller's namespace — fds
 * the parent opened are refused ("failed to clone lowerpath"). They are opened with
 * RESOLVE_NO_SYMLINKS: the runtime passes canonical paths, so any symlink met on the way (an
 * image or a state directory swapped for a link) is a trick, and refused.
 *
 * The mount itself prefers the new mount API, one fsconfig per layer, so the layer count is not
 * bounded by the one-page option string of mount(2):
 *   FSCONFIG_SET_STRING "lowerdir+"  Linux 6.8: "/proc/self/fd/N" (first: the sandbox's mountinfo
 *                                    then shows that string, not the host path of the store)
 *   FSCONFIG_SET_FD "lowerdir+"      Linux 6.13: the fd itself (no /proc needed)
 *   mount(2) "lowerdir=N:N:...,"     anything older, run from /proc/self/fd so each layer costs
 *                                    only its fd number in the option string (500 layers fit).
 * "userxattr" always: the mount happens in a user namespace, where trusted.* xattrs are out of
 * reach; without it overlayfs silently loses opaque directories on the upper layer. */
#include "internal.h"
#include "util.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/syscall.h>

int sbx_open_nofollow(const char *path, int flags)
{
    struct open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC),
        .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    return openat2_retry(AT_FDCWD, path, &how);
}

int sbx_overlay_open(const char *path, const char *what, int *fd, struct child_err *ce)
{
    *fd = sbx_open_nofollow(path, O_PATH | O_DIRECTORY);
    if (*fd >= 0)
        return 0;
    if (errno == ELOOP)
        return child_fail(ce, "mount", 0, "%s %s: refused, a component of the path is a symlink", what, path);
    return child_fail(ce, "mount", errno, "%s %s", what, path);
}

int sbx_overlay_lock_state(const struct sbx_spec *spec, int *lock_fd, struct sbx_err **err)
{
    *lock_fd = -1;
    if (!spec->state_dir)
        return 0;
    int fd = sbx_open_nofollow(spec->state_dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno == ELOOP ? 0 : errno, "state directory %s%s",
                           spec->state_dir, errno == ELOOP ? ": refused, a component of the path is a symlink" : "");
    /* An overlay upper mounted twice at once is undefined behaviour for overlayfs. */
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0,
                               "state directory %s is in use by another running sandbox (its upper "
                               "layer is mounted by one sandbox at a time)", spec->state_dir);
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, e, "lock state directory %s", spec->state_dir);
    }
    *lock_fd = fd;
    return 0;
}

/* ---- mounting ------------------------------------------------------------------------------- */

static int sys_fsopen(const char *fs, unsigned flags) { return (int)syscall(SYS_fsopen, fs, flags); }
static int sys_fsconfig(int fd, unsigned cmd, const char *key, const void *val, int aux)
{
    return (int)syscall(SYS_fsconfig, fd, cmd, key, val, aux);
}

/* The kernel's explanation of a failed fsconfig ("e overlayfs: ..."), if it left one. */
static void fs_log(int fs, char *buf, size_t len)
{
    buf[0] = '\0';
    char line[256];
    ssize_t n;
    size_t used = 0;
    while ((n = read(fs, line, sizeof(line) - 1)) > 0 && used < len) {
        line[n] = '\0';
        used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "; " : " (", line);
    }
    if (used && used < len - 1)
        snprintf(buf + used, len - used, ")");
}

static void fd_str(int fd, char *buf, size_t len) { snprintf(buf, len, "/proc/self/fd/%d", fd); }

static int set_dir(int fs, bool by_fd, const char *key, int fd)
{
    if (by_fd)
        return sys_fsconfig(fs, FSCONFIG_SET_FD, key, NULL, fd);
    char p[32];
    fd_str(fd, p, sizeof(p));
    return sys_fsconfig(fs, FSCONFIG_SET_STRING, key, p, 0);
}

/* 1: this kernel lacks the API (try the next way); 0: mounted; -1: failed (ce set). */
static int mount_new_api(const struct sbx_overlay *o, bool by_fd, struct child_err *ce)
{
    _cleanup_close_ int fs = sys_fsopen("overlay", FSOPEN_CLOEXEC);
    if (fs < 0)
        return errno == ENOSYS ? 1 : child_fail(ce, "mount", errno, "fsopen overlay for %s", o->what);
    char log[300];
    sys_fsconfig(fs, FSCONFIG_SET_STRING, "source", "gbox", 0);
    for (size_t i = 0; i < o->n_lower; i++) {
        if (set_dir(fs, by_fd, "lowerdir+", o->lower[i]) == 0)
            continue;
        if (i == 0 && errno == EINVAL)
            return 1; /* "lowerdir+" or its fd form unknown here */
        fs_log(fs, log, sizeof(log));
        return child_fail(ce, "mount", errno, "overlay %s: layer %zu%s", o->what, i, log);
    }
    if (o->upper >= 0 && (set_dir(fs, by_fd, "upperdir", o->upper) < 0 || set_dir(fs, by_fd, "workdir", o->work) < 0)) {
        fs_log(fs, log, sizeof(log));
        return child_fail(ce, "mount", errno, "overlay %s: upper layer%s", o->what, log);
    }
    if (sys_fsconfig(fs, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0 ||
        sys_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
        fs_log(fs, log, sizeof(log));
        return child_fail(ce, "mount", errno, "mount overlay %s (%zu layers)%s", o->what, o->n_lower, log);
    }
    unsigned attr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (o->upper < 0 ? MOUNT_ATTR_RDONLY : 0);
    _cleanup_close_ int mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, attr);
    if (mnt < 0)
        return child_fail(ce, "mount", errno, "fsmount overlay %s", o->what);
    if (syscall(SYS_move_mount, mnt, "", o->target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        return child_fail(ce, "mount", errno, "move overlay %s into place", o->what);
    return 0;
}

static int mount_legacy(const struct sbx_overlay *o, struct child_err *ce)
{
    /* Relative to /proc/self/fd, each layer is just its number: "lowerdir=5:6:7". */
    char *opts = malloc(o->n_lower * 12 + 128);
    if (!opts)
        return child_fail(ce, "mount", ENOMEM, "overlay options");
    size_t n = (size_t)snprintf(opts, 16, "lowerdir=");
    for (size_t i = 0; i < o->n_lower; i++)
        n += (size_t)snprintf(opts + n, 12, "%s%d", i ? ":" : "", o->lower[i]);
    if (o->upper >= 0)
        n += (size_t)snprintf(opts + n, 64, ",upperdir=%d,workdir=%d", o->upper, o->work);
    snprintf(opts + n, 16, ",userxattr");
    char target[32];
    fd_str(o->target_fd, target, sizeof(target));
    int rc = chdir("/proc/self/fd");
    if (rc == 0)
        rc = mount("gbox", target, "overlay", MS_NOSUID | MS_NODEV | (o->upper < 0 ? MS_RDONLY : 0), opts);
    int e = errno;
    free(opts);
    if (chdir("/") < 0 && rc == 0)
        rc = -1, e = errno;
    if (rc < 0)
        return child_fail(ce, "mount", e, "mount overlay %s (%zu layers, mount(2))", o->what, o->n_lower);
    return 0;
}

int sbx_overlay_mount(const struct sbx_overlay *o, struct child_err *ce)
{
    if (o->n_lower == 0 || o->n_lower > SBX_MAX_LAYERS)
        return child_fail(ce, "mount", EINVAL, "overlay %s: %zu layers (1 to %d)", o->what, o->n_lower,
                          SBX_MAX_LAYERS);
    /* AUTO tries the next way after any failure of one, not only after a clean "unknown": kernels
     * before 6.5 take "lowerdir+" through the legacy option adapter and fail only at create time
     * (6.1: ENODATA, "unrecognized mount option" in the log). The last way's error is reported. */
    bool auto_ = o->api == SBX_OVERLAY_AUTO;
    int rc = 1;
    if (auto_ || o->api == SBX_OVERLAY_STRING)
        rc = mount_new_api(o, false, ce);
    if ((rc == 1 || (auto_ && rc < 0)) && (auto_ || o->api == SBX_OVERLAY_FD)) {
        memset(ce, 0, sizeof(*ce));
        rc = mount_new_api(o, true, ce);
    }
    if ((rc == 1 || (auto_ && rc < 0)) && (auto_ || o->api == SBX_OVERLAY_LEGACY)) {
        memset(ce, 0, sizeof(*ce));
        rc = mount_legacy(o, ce);
    }
    if (rc == 1)
        return child_fail(ce, "mount", ENOSYS, "overlay %s: this kernel lacks the forced mount API", o->what);
    return rc;
}
