/* mount.c — build the sandbox's root inside its private mount namespace, then pivot into it.
 *
 * Sequence (all in the child, before pivot_root, so the host's /proc is still there to mount a
 * new procfs in a user namespace, and bind sources are still reachable):
 *   1. make every mount private, so nothing we do propagates back to the host;
 *   2. a small tmpfs on the stage directory holds the overlay's upper/work and the new root;
 *   3. overlay: lower = the image (read-only), upper = stage tmpfs, so mount points can be created
 *      without touching the image;
 *   4. the plan's mounts in order; every target is resolved with openat2(RESOLVE_IN_ROOT) against
 *      the new root, so a symlink in the image can never point a mount at a host path
 *      (CVE-2021-30465 class), and mounted through its O_PATH fd;
 *   5. remount the root read-only, pivot_root, detach the old root.
 */
#include "internal.h"
#include "util.h"

#include <fcntl.h>
#include <limits.h>
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
    return (int)TEMP_RETRY(syscall(SYS_openat2, root, path, &how, sizeof(how)));
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
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
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
    if (mount_at(root, target, false, "gbox-dev", "tmpfs", MS_NOSUID | MS_NOEXEC,
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

static int apply_mount(int root, const struct sbx_mount *m, int src, struct child_err *ce)
{
    char data[96];
    switch (m->kind) {
    case SBX_MOUNT_BIND: {
        char sp[64];
        fd_path(src, sp, sizeof(sp));
        if (mount_at(root, m->target, m->file, sp, NULL, MS_BIND | MS_REC, NULL, ce, m->source) < 0)
            return -1;
        if (!m->writable)
            return remount_flags(root, m->target, MS_RDONLY | MS_NOSUID | MS_NODEV, false, ce);
        return 0;
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
    case SBX_MOUNT_MASK:
        return mask_path(root, m->target, m->optional, ce);
    case SBX_MOUNT_READONLY:
        return remount_flags(root, m->target, MS_RDONLY | MS_NOSUID | MS_NODEV, m->optional, ce);
    }
    return child_fail(ce, "mount", EINVAL, "unknown mount kind %d", (int)m->kind);
}

int sbx_mount_open_sources(const struct sbx_spec *spec, int *fds, struct child_err *ce)
{
    /* Opened in the child's own mount namespace (a bind source must live in the caller's
     * namespace) but before it becomes root of its user namespace: it still has the host's
     * credentials, without capabilities, so it reaches what the host's root owns. */
    fds[spec->n_mounts] = open(spec->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fds[spec->n_mounts] < 0)
        return child_fail(ce, "mount", errno, "root image %s", spec->rootfs);
    for (size_t i = 0; i < spec->n_mounts; i++) {
        fds[i] = -1;
        if (spec->mounts[i].kind != SBX_MOUNT_BIND)
            continue;
        fds[i] = open(spec->mounts[i].source, O_PATH | O_CLOEXEC);
        if (fds[i] < 0)
            return child_fail(ce, "mount", errno, "bind source %s", spec->mounts[i].source);
    }
    return 0;
}

int sbx_mount_in_child(const struct sbx_spec *spec, const int *fds, struct child_err *ce)
{
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return child_fail(ce, "mount", errno, "make / private");
    const char *stage = spec->stage_dir;
    /* A read-only root needs the upper layer only for mount points; a writable one gets room. */
    char stage_opts[96];
    unsigned long long stage_size = spec->readonly_root ? 1024ULL * 1024 : (unsigned long long)spec->upper_size;
    snprintf(stage_opts, sizeof(stage_opts), "size=%llu,nr_inodes=%llu,mode=0755", stage_size,
             tmpfs_inodes(stage_size));
    if (mount("gbox-stage", stage, "tmpfs", MS_NOSUID | MS_NODEV, stage_opts) < 0)
        return child_fail(ce, "mount", errno, "stage tmpfs on %s", stage);
    char upper[PATH_MAX], work[PATH_MAX], newroot[PATH_MAX], opts[PATH_MAX * 2];
    snprintf(upper, sizeof(upper), "%s/upper", stage);
    snprintf(work, sizeof(work), "%s/work", stage);
    snprintf(newroot, sizeof(newroot), "%s/root", stage);
    if (mkdir(upper, 0755) < 0 || mkdir(work, 0755) < 0 || mkdir(newroot, 0755) < 0)
        return child_fail(ce, "mount", errno, "stage directories in %s", stage);
    int img = fds[spec->n_mounts];
    snprintf(opts, sizeof(opts), "lowerdir=/proc/self/fd/%d,upperdir=%s,workdir=%s", img, upper, work);
    int rc = mount("gbox-root", newroot, "overlay", MS_NOSUID | MS_NODEV, opts);
    if (rc < 0)
        return child_fail(ce, "mount", errno, "overlay root from image %s", spec->rootfs);

    _cleanup_close_ int root = open(newroot, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return child_fail(ce, "mount", errno, "open new root");
    for (size_t i = 0; i < spec->n_mounts; i++)
        if (apply_mount(root, &spec->mounts[i], fds[i], ce) < 0)
            return -1;
    if (spec->readonly_root &&
        mount(NULL, newroot, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
        return child_fail(ce, "mount", errno, "remount root read-only");

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
