/* mount.c — build the sandbox's root inside its private mount namespace, then pivot into it.
 *
 * Sequence (all in the child, before pivot_root, so the host's /proc is still there to mount a
 * new procfs in a user namespace, and bind sources are still reachable):
 *   1. make every mount private, so nothing we do propagates back to the host;
 *   2. a small tmpfs on the stage directory holds the overlay's upper/work and the new root;
 *   3. overlay (overlay.c): lower = the image, or the module stack, top first (read-only);
 *      upper = the stage tmpfs, or a named sandbox's state directory, so mount points can be
 *      created without touching the image; or, with filesystem.shared_image_root, for a read-only
 *      root of one layer that has every mount point already (root_as_bind), a read-only bind of the
 *      layer, without steps 2 and 3;
 *   4. the plan's mounts in order; every target is resolved with openat2(RESOLVE_IN_ROOT) against
 *      the new root, so a symlink in the image can never point a mount at a host path
 *      (CVE-2021-30465 class), and mounted through its O_PATH fd;
 *   5. remount the root read-only; the createContainer hooks (OCI); pivot_root, detach the old root.
 */
#include "internal.h"
#include "util.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <linux/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>


static int openat2_in_root(int root, const char *path, int flags)
{
    struct open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC),
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    while (*path == '/')
        path++;
    if (!*path)
        path = ".";
    return openat2_retry(root, path, &how);
}

/* Resolve path inside root, creating it (a directory, or an empty file when as_file) if missing.
 * Returns an O_PATH fd. */
static int resolve_target(int root, const char *path, bool as_file, bool create)
{
    int fd = openat2_in_root(root, path, O_PATH);
    if (fd >= 0 || errno != ENOENT || !create)
        return fd;
    char parent[PATH_MAX];
    snprintf(parent, sizeof(parent), "%s", path);
    char *slash = strrchr(parent, '/');
    if (!slash || !slash[1]) {
        errno = EINVAL;
        return -1;
    }
    const char *base = slash + 1;
    char name[NAME_MAX + 1];
    snprintf(name, sizeof(name), "%s", base);
    if (slash == parent)
        slash[1] = '\0';
    else
        *slash = '\0';
    int pfd = resolve_target(root, parent, false, true);
    if (pfd < 0)
        return -1;
    /* O_PATH fds cannot be used with mkdirat; reopen the directory itself. */
    int dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    close(pfd);
    if (dfd < 0)
        return -1;
    int rc;
    if (as_file) {
        rc = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (rc >= 0)
            close(rc);
    } else {
        rc = mkdirat(dfd, name, 0755);
    }
    close(dfd);
    if (rc < 0 && errno != EEXIST)
        return -1;
    return openat2_in_root(root, path, O_PATH);
}

/* tmpfs limits its pages with size= but not its inodes: without nr_inodes, empty files would be
 * bounded only by kernel memory (memory.max at best). One inode per KiB of size, at least 1024:
 * at most ~1 KiB of kernel memory per inode, so a full tmpfs costs at most about twice its size. */
static unsigned long long tmpfs_inodes(unsigned long long size)
{
    return size / 1024 > 1024 ? size / 1024 : 1024;
}

static void fd_path(int fd, char *buf, size_t len) { snprintf(buf, len, "/proc/self/fd/%d", fd); }

static int mount_at(int root, const char *target, bool as_file, const char *src, const char *fstype,
                    unsigned long flags, const char *data, struct child_err *ce, const char *what)
{
    int fd = resolve_target(root, target, as_file, true);
    if (fd < 0)
        return child_fail(ce, "mount", errno, "mount point %s for %s", target, what);
    char p[64];
    fd_path(fd, p, sizeof(p));
    int rc = mount(src, p, fstype, flags, data);
    int e = errno;
    close(fd);
    if (rc < 0)
        return child_fail(ce, "mount", e, "mount %s on %s", what, target);
    return 0;
}

/* Remount an existing mount at target with new per-mount flags (bind remount). */
static int remount_flags(int root, const char *target, unsigned long flags, bool optional,
                         struct child_err *ce)
{
    int fd = resolve_target(root, target, false, false);
    if (fd < 0) {
        if (optional && errno == ENOENT)
            return 0;
        return child_fail(ce, "mount", errno, "read-only path %s", target);
    }
    char p[64];
    fd_path(fd, p, sizeof(p));
    /* Make it a mount of its own first (a bind onto itself), then change its flags. */
    int rc = mount(p, p, NULL, MS_BIND | MS_REC, NULL);
    close(fd);
    if (rc < 0)
        return child_fail(ce, "mount", errno, "bind %s onto itself", target);
    fd = resolve_target(root, target, false, false);
    if (fd < 0)
        return child_fail(ce, "mount", errno, "reopen %s", target);
    /* Recursively: a bind's submounts must not stay writable (a plain MS_REMOUNT|MS_BIND only
     * changes the top mount). */
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_NOSUID | ((flags & MS_NODEV) ? MOUNT_ATTR_NODEV : 0) |
                                          ((flags & MS_NOEXEC) ? MOUNT_ATTR_NOEXEC : 0) |
                                          ((flags & MS_RDONLY) ? MOUNT_ATTR_RDONLY : 0)};
    rc = (int)syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr));
    int e = errno;
    struct statvfs sv;
    if (rc == 0 && (flags & MS_RDONLY) && (fstatvfs(fd, &sv) < 0 || !(sv.f_flag & ST_RDONLY)))
        rc = -1, e = 0;
    close(fd);
    if (rc < 0)
        return child_fail(ce, "mount", e, "make %s read-only", target);
    return 0;
}

static int mask_path(int root, const char *target, bool optional, struct child_err *ce)
{
    int fd = resolve_target(root, target, false, false);
    if (fd < 0) {
        if (optional && errno == ENOENT)
            return 0;
        return child_fail(ce, "mount", errno, "masked path %s", target);
    }
    struct stat st;
    int rc = fstat(fd, &st);
    char p[64];
    fd_path(fd, p, sizeof(p));
    if (rc == 0 && S_ISDIR(st.st_mode))
        rc = mount("gbox-mask", p, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0,mode=0000");
    else if (rc == 0)
        rc = mount("/dev/null", p, NULL, MS_BIND, NULL);
    int e = errno;
    close(fd);
    if (rc < 0)
        return child_fail(ce, "mount", e, "mask %s", target);
    return 0;
}

static const char *const dev_nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};

static int mount_dev(int root, const char *target, struct child_err *ce)
{
    /* nodev: a node made with mknod here (CAP_MKNOD, which containerd grants) is useless; the
     * six devices are bind mounts with flags of their own */
    if (mount_at(root, target, false, "gbox-dev", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                 "size=64k,nr_inodes=1024,mode=0755", ce, "/dev tmpfs") < 0)
        return -1;
    char path[PATH_MAX], host[64];
    for (size_t i = 0; i < ARRAY_LEN(dev_nodes); i++) {
        snprintf(path, sizeof(path), "%s/%s", target, dev_nodes[i]);
        snprintf(host, sizeof(host), "/dev/%s", dev_nodes[i]);
        if (mount_at(root, path, true, host, NULL, MS_BIND, NULL, ce, host) < 0)
            return -1;
    }
    snprintf(path, sizeof(path), "%s/pts", target);
    if (mount_at(root, path, false, "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
                 "newinstance,ptmxmode=0666,mode=0620", ce, "devpts") < 0)
        return -1;
    snprintf(path, sizeof(path), "%s/shm", target);
    if (mount_at(root, path, false, "gbox-shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                 "size=16m,nr_inodes=16384,mode=1777", ce, "/dev/shm") < 0)
        return -1;
    static const char *const links[][2] = {
        {"ptmx", "pts/ptmx"},        {"fd", "/proc/self/fd"},     {"stdin", "/proc/self/fd/0"},
        {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"},
    };
    int dfd = openat2_in_root(root, target, O_RDONLY | O_DIRECTORY);
    if (dfd < 0)
        return child_fail(ce, "mount", errno, "open %s", target);
    for (size_t i = 0; i < ARRAY_LEN(links); i++) {
        if (symlinkat(links[i][1], dfd, links[i][0]) < 0) {
            int e = errno;
            close(dfd);
            return child_fail(ce, "mount", e, "symlink %s/%s", target, links[i][0]);
        }
    }
    close(dfd);
    return 0;
}

/* A module stack at its own mount point: a read-only overlay, or a read-only bind of one layer. */
static int mount_layers(int root, const struct sbx_mount *m, const int *fds, enum sbx_overlay_api api,
                        struct child_err *ce)
{
    if (m->n_layers == 1) {
        char sp[64];
        fd_path(fds[0], sp, sizeof(sp));
        if (mount_at(root, m->target, false, sp, NULL, MS_BIND | MS_REC, NULL, ce, m->layers[0]) < 0)
            return -1;
        return remount_flags(root, m->target, MS_RDONLY | MS_NOSUID | MS_NODEV, false, ce);
    }
    _cleanup_close_ int t = resolve_target(root, m->target, false, true);
    if (t < 0)
        return child_fail(ce, "mount", errno, "mount point %s for module layers", m->target);
    struct sbx_overlay o = {fds, m->n_layers, -1, -1, t, api, m->target};
    return sbx_overlay_mount(&o, ce);
}

static int apply_mount(int root, const struct sbx_spec *spec, size_t i, const struct sbx_sources *srcs,
                       struct child_err *ce)
{
    const struct sbx_mount *m = &spec->mounts[i];
    int src = srcs->bind[i];
    char data[96];
    switch (m->kind) {
    case SBX_MOUNT_LAYERS:
        return mount_layers(root, m, srcs->layers[i], spec->overlay_api, ce);
    case SBX_MOUNT_BIND: {
        char sp[64];
        fd_path(src, sp, sizeof(sp));
        if (mount_at(root, m->target, m->file, sp, NULL, MS_BIND | MS_REC, NULL, ce, m->source) < 0)
            return -1;
        /* writable or not, never a device (a bind keeps its source mount's flags: a host
         * directory under devtmpfs would give device access) unless it is one (OCI devices) */
        unsigned long fl = MS_NOSUID | (m->writable ? 0 : MS_RDONLY) | (m->device ? MS_NOEXEC : MS_NODEV);
        return remount_flags(root, m->target, fl, false, ce);
    }
    case SBX_MOUNT_TMPFS:
        snprintf(data, sizeof(data), "size=%llu,nr_inodes=%llu,mode=%04o", (unsigned long long)m->size,
                 tmpfs_inodes(m->size), m->mode);
        return mount_at(root, m->target, false, "gbox-tmp", "tmpfs", MS_NOSUID | MS_NODEV, data, ce,
                        "tmpfs");
    case SBX_MOUNT_PROC:
        return mount_at(root, m->target, false, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                        NULL, ce, "proc");
    case SBX_MOUNT_DEV:
        return mount_dev(root, m->target, ce);
    case SBX_MOUNT_SYSFS:
        return mount_at(root, m->target, false, "sysfs", "sysfs",
                        MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, ce, "sysfs");
    case SBX_MOUNT_EMPTY_RO:
        return mount_at(root, m->target, false, "gbox-empty", "tmpfs",
                        MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0,mode=0555", ce,
                        "empty directory");
    case SBX_MOUNT_MQUEUE:
        return mount_at(root, m->target, false, "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                        NULL, ce, "mqueue");
    case SBX_MOUNT_MASK:
        return mask_path(root, m->target, m->optional, ce);
    case SBX_MOUNT_READONLY:
        return remount_flags(root, m->target, MS_RDONLY | MS_NOSUID | MS_NODEV, m->optional, ce);
    }
    return child_fail(ce, "mount", EINVAL, "unknown mount kind %d", (int)m->kind);
}

/* The spec's sysctls, through the new root's own /proc (its procfs is mounted by now): before
 * the read-only and masked paths, which usually cover /proc/sys. */
static int apply_sysctls(int root, const struct sbx_spec *s, struct child_err *ce)
{
    for (size_t i = 0; i < s->n_sysctl; i++) {
        char path[512];
        snprintf(path, sizeof(path), "/proc/sys/%s", s->sysctl[i].key);
        for (char *c = path + 10; *c; c++)
            if (*c == '.')
                *c = '/';
        int fd = openat2_in_root(root, path, O_WRONLY);
        int rc = fd < 0 ? -1 : write_all(fd, s->sysctl[i].value, strlen(s->sysctl[i].value));
        int e = errno;
        if (fd >= 0)
            close(fd);
        if (rc < 0)
            return child_fail(ce, "sysctl", e, "set sysctl %s to %s", s->sysctl[i].key, s->sysctl[i].value);
    }
    return 0;
}

static int open_layers(char *const *paths, size_t n, int **out, struct child_err *ce)
{
    *out = malloc((n ? n : 1) * sizeof(int));
    if (!*out)
        return child_fail(ce, "mount", ENOMEM, "layer table");
    for (size_t i = 0; i < n; i++)
        (*out)[i] = -1;
    for (size_t i = 0; i < n; i++)
        if (sbx_overlay_open(paths[i], "layer", &(*out)[i], ce) < 0)
            return -1;
    return 0;
}

int sbx_mount_open_sources(const struct sbx_spec *spec, struct sbx_sources *src, struct child_err *ce)
{
    /* Opened in the child's own mount namespace (a bind source or an overlay layer must live in
     * the caller's namespace) but before it becomes root of its user namespace: it still has the
     * host's credentials, without capabilities, so it reaches what the host's root owns. */
    memset(src, 0, sizeof(*src));
    src->upper = src->work = -1;
    src->bind = malloc((spec->n_mounts + 1) * sizeof(int));
    src->layers = calloc(spec->n_mounts + 1, sizeof(int *));
    if (!src->bind || !src->layers)
        return child_fail(ce, "mount", ENOMEM, "mount source table");
    for (size_t i = 0; i < spec->n_mounts; i++)
        src->bind[i] = -1;
    char *const *root = spec->n_layers ? spec->layers : &spec->rootfs;
    src->n_root = spec->n_layers ? spec->n_layers : 1;
    if (open_layers(root, src->n_root, &src->root, ce) < 0)
        return -1;
    if (spec->state_dir) {
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/upper", spec->state_dir);
        if (sbx_overlay_open(p, "upper layer", &src->upper, ce) < 0)
            return -1;
        snprintf(p, sizeof(p), "%s/work", spec->state_dir);
        if (sbx_overlay_open(p, "overlay work directory", &src->work, ce) < 0)
            return -1;
    }
    for (size_t i = 0; i < spec->n_mounts; i++) {
        const struct sbx_mount *m = &spec->mounts[i];
        if (m->kind == SBX_MOUNT_LAYERS && open_layers(m->layers, m->n_layers, &src->layers[i], ce) < 0)
            return -1;
        if (m->kind != SBX_MOUNT_BIND)
            continue;
        src->bind[i] = open(m->source, O_PATH | O_CLOEXEC);
        if (src->bind[i] < 0)
            return child_fail(ce, "mount", errno, "bind source %s", m->source);
    }
    return 0;
}

static void close_all(int *fds, size_t n)
{
    for (size_t i = 0; fds && i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(fds);
}

void sbx_mount_close_sources(const struct sbx_spec *spec, struct sbx_sources *src)
{
    close_all(src->bind, src->bind ? spec->n_mounts : 0);
    for (size_t i = 0; src->layers && i < spec->n_mounts; i++)
        close_all(src->layers[i], src->layers[i] ? spec->mounts[i].n_layers : 0);
    free(src->layers);
    close_all(src->root, src->n_root);
    if (src->upper >= 0)
        close(src->upper);
    if (src->work >= 0)
        close(src->work);
    memset(src, 0, sizeof(*src));
    src->upper = src->work = -1;
}

static int finish_root(const struct sbx_spec *spec, const struct sbx_sources *src, const char *newroot,
                       struct child_err *ce);

/* Whether mount i's target lies inside an earlier mount of the plan (a file in /dev, a mask in
 * /proc): then it is not looked for in the image. */
static bool nested_in_earlier(const struct sbx_spec *spec, size_t i, const char *target)
{
    for (size_t j = 0; j < i && j < spec->n_mounts; j++) {
        const struct sbx_mount *m = &spec->mounts[j];
        size_t n = strlen(m->target);
        if (m->kind == SBX_MOUNT_MASK || m->kind == SBX_MOUNT_READONLY || m->file)
            continue;
        if (n == 1 || (strncmp(target, m->target, n) == 0 && (target[n] == '/' || target[n] == '\0')))
            return true;
    }
    return false;
}

/* With filesystem.shared_image_root, a read-only root of one image layer is a read-only bind of
 * that layer (as bubblewrap does) when nothing has to be created in it: every mount point and the
 * working directory exist in the image. The overlay costs more than its mount: tearing it down
 * waits for an expedited RCU grace period (ovl_free_fs → kern_unmount_array, found off-CPU with
 * tests/bench/where.sh, issue #10), and its upper needs the stage tmpfs, one superblock more:
 * 0.3–0.8 ms a start on the development machine. But the bind shares the image's inodes with every
 * other sandbox and the host (inotify on them sees their accesses; statfs, mountinfo show the
 * host's disk and path): the policy opts in. Only for a sandbox that can never remount the bind
 * writable: CAP_SYS_ADMIN is not among the capabilities it keeps (exec.c refuses it to processes
 * entering later). A forced overlay API (tests) keeps the overlay. */
static bool root_as_bind(const struct sbx_spec *spec, const struct sbx_sources *src)
{
    if (!spec->shared_image_root || !spec->readonly_root || spec->state_dir || spec->rootfs_bind || src->n_root != 1 ||
        spec->overlay_api != SBX_OVERLAY_AUTO || (spec->caps & (1ULL << CAP_SYS_ADMIN)))
        return false;
    for (size_t i = 0; i < spec->n_mounts; i++) {
        enum sbx_mount_kind k = spec->mounts[i].kind;
        if (k == SBX_MOUNT_MASK || k == SBX_MOUNT_READONLY || nested_in_earlier(spec, i, spec->mounts[i].target))
            continue; /* masks and read-only paths never create their target */
        int fd = openat2_in_root(src->root[0], spec->mounts[i].target, O_PATH);
        if (fd < 0)
            return false;
        close(fd);
    }
    if (spec->cwd && !nested_in_earlier(spec, spec->n_mounts, spec->cwd)) {
        int fd = openat2_in_root(src->root[0], spec->cwd, O_PATH);
        if (fd < 0)
            return false;
        close(fd);
    }
    return true;
}

/* The layer bound read-only onto the stage directory itself (no tmpfs under it); false when the
 * kernel refuses the bind (a layer with mounts of the host beneath it), for the overlay instead. */
static bool bind_root(const struct sbx_sources *src, const char *stage)
{
    char sp[64];
    fd_path(src->root[0], sp, sizeof(sp));
    if (mount(sp, stage, NULL, MS_BIND, NULL) < 0)
        return false;
    /* read-only at once: nothing may be created in the image, even by mistake */
    if (mount(NULL, stage, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0) {
        umount2(stage, MNT_DETACH);
        return false;
    }
    return true;
}

int sbx_mount_in_child(const struct sbx_spec *spec, const struct sbx_sources *src, struct child_err *ce)
{
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return child_fail(ce, "mount", errno, "make / private");
    const char *stage = spec->stage_dir;
    char newroot[PATH_MAX];
    if (root_as_bind(spec, src) && bind_root(src, stage)) {
        snprintf(newroot, sizeof(newroot), "%s", stage);
        return finish_root(spec, src, newroot, ce);
    }
    /* A read-only root needs the upper layer only for mount points; a writable one gets room
     * (unless the upper layer is the named sandbox's own directory). */
    char stage_opts[96];
    unsigned long long stage_size =
        spec->readonly_root || spec->state_dir ? 1024ULL * 1024 : (unsigned long long)spec->upper_size;
    snprintf(stage_opts, sizeof(stage_opts), "size=%llu,nr_inodes=%llu,mode=0755", stage_size,
             tmpfs_inodes(stage_size));
    if (mount("gbox-stage", stage, "tmpfs", MS_NOSUID | MS_NODEV, stage_opts) < 0)
        return child_fail(ce, "mount", errno, "stage tmpfs on %s", stage);
    char upper[PATH_MAX], work[PATH_MAX];
    snprintf(upper, sizeof(upper), "%s/upper", stage);
    snprintf(work, sizeof(work), "%s/work", stage);
    snprintf(newroot, sizeof(newroot), "%s/root", stage);
    if (mkdir(newroot, 0755) < 0 || (!spec->state_dir && (mkdir(upper, 0755) < 0 || mkdir(work, 0755) < 0)))
        return child_fail(ce, "mount", errno, "stage directories in %s", stage);
    _cleanup_close_ int up = spec->state_dir ? -1 : open(upper, O_PATH | O_DIRECTORY | O_CLOEXEC);
    _cleanup_close_ int wk = spec->state_dir ? -1 : open(work, O_PATH | O_DIRECTORY | O_CLOEXEC);
    _cleanup_close_ int nr = open(newroot, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (nr < 0 || (!spec->state_dir && (up < 0 || wk < 0)))
        return child_fail(ce, "mount", errno, "open stage directories in %s", stage);
    char what[PATH_MAX + 64];
    snprintf(what, sizeof(what), "root from image %s", spec->n_layers ? spec->layers[0] : spec->rootfs);
    if (spec->n_layers > 1)
        snprintf(what + strlen(what), sizeof(what) - strlen(what), " and %zu more layers", spec->n_layers - 1);
    struct sbx_overlay o = {src->root, src->n_root, spec->state_dir ? src->upper : up,
                            spec->state_dir ? src->work : wk, nr, spec->overlay_api, what};
    if (spec->rootfs_bind) {
        /* an OCI bundle's root: the directory itself, so what the program writes stays there */
        char sp[64];
        fd_path(src->root[0], sp, sizeof(sp));
        if (mount(sp, newroot, NULL, MS_BIND | MS_REC, NULL) < 0)
            return child_fail(ce, "mount", errno, "bind root %s", spec->rootfs);
    } else if (sbx_overlay_mount(&o, ce) < 0) {
        return -1;
    }
    return finish_root(spec, src, newroot, ce);
}

/* The plan's mounts on the new root at newroot, read-only, the createContainer hooks, pivot_root. */
static int finish_root(const struct sbx_spec *spec, const struct sbx_sources *src, const char *newroot,
                       struct child_err *ce)
{
    _cleanup_close_ int root = open(newroot, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return child_fail(ce, "mount", errno, "open new root");
    bool sysctls_done = false;
    for (size_t i = 0; i < spec->n_mounts; i++) {
        enum sbx_mount_kind k = spec->mounts[i].kind;
        if (!sysctls_done && (k == SBX_MOUNT_READONLY || k == SBX_MOUNT_MASK)) {
            if (apply_sysctls(root, spec, ce) < 0)
                return -1;
            sysctls_done = true;
        }
        if (apply_mount(root, spec, i, src, ce) < 0)
            return -1;
    }
    if (!sysctls_done && apply_sysctls(root, spec, ce) < 0)
        return -1;
    /* The working directory exists, like a mount point: an image need not have it. */
    int cwd = spec->cwd ? resolve_target(root, spec->cwd, false, true) : -1;
    if (spec->cwd && cwd < 0)
        return child_fail(ce, "cwd", errno, "working directory %s", spec->cwd);
    if (cwd >= 0)
        close(cwd);
    if (spec->readonly_root &&
        mount(NULL, newroot, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
        return child_fail(ce, "mount", errno, "remount root read-only");

    /* OCI createContainer: the container's namespaces and mounts are in place, the host's file
     * system still visible (its paths resolve there) */
    if (sbx_hooks_in_child(&spec->create_hooks, "createContainer", ce) < 0)
        return -1;

    /* pivot_root(new, new) stacks the old root on top of the new one; detaching "." then drops
     * the old root without needing a directory for it inside the image. */
    if (chdir(newroot) < 0)
        return child_fail(ce, "pivot_root", errno, "chdir %s", newroot);
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        return child_fail(ce, "pivot_root", errno, "pivot_root into %s", newroot);
    if (umount2(".", MNT_DETACH) < 0)
        return child_fail(ce, "pivot_root", errno, "detach old root");
    if (chdir("/") < 0)
        return child_fail(ce, "pivot_root", errno, "chdir /");
    return 0;
}
