/* swap.c — live swap of a module mount point, and the frozen copy that checkpoints it.
 *
 * The order in the helper, and why:
 *   1. open the sandbox's pid 1 as a pidfd and its mount point through /proc/PID/root
 *      (openat2 RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS: the sandbox's own symlinks cannot send
 *      the swap elsewhere), before setns, while the host's /proc is still ours;
 *   2. build the new tree as a detached mount in the host's namespace, where the store's
 *      paths resolve (open_tree(OPEN_TREE_CLONE) of one layer, or fsopen/fsmount of an overlay);
 *   3. setns(pidfd, CLONE_NEWNS): move_mount and umount only work on mounts of the caller's
 *      namespace, and a detached tree may be attached to any namespace we may mount in;
 *   4. move_mount(MOVE_MOUNT_BENEATH) under the current mount, then umount(MNT_DETACH) of the
 *      top one through a descriptor of it (fchdir + "."), so no path is looked up in between.
 * The helper is a separate process so the daemon never leaves its own namespace. */
#include "swap.h"

#include "tree.h"
#include "../sandbox/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MOVE_MOUNT_BENEATH
#define MOVE_MOUNT_BENEATH 0x00000200
#endif

struct helper_err {
    int errnum;
    char msg[480];
};

static int herr(struct helper_err *h, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int herr(struct helper_err *h, int e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->msg, sizeof(h->msg), fmt, ap);
    va_end(ap);
    h->errnum = e;
    return -1;
}

static int sys_fsconfig(int fd, unsigned cmd, const char *key, const void *val, int aux)
{
    return (int)syscall(SYS_fsconfig, fd, cmd, key, val, aux);
}

/* Step 2: the new tree, detached, read-only, nosuid, nodev (as sandbox/mount.c mounts modules). */
static int build_tree(char *const *layers, size_t n, struct helper_err *h)
{
    struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};
    if (n == 1) {
        int t = (int)syscall(SYS_open_tree, AT_FDCWD, layers[0], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (t < 0)
            return herr(h, errno, "open_tree %s", layers[0]);
        if (syscall(SYS_mount_setattr, t, "", AT_EMPTY_PATH | AT_RECURSIVE, &ro, sizeof(ro)) < 0) {
            close(t);
            return herr(h, errno, "make the module tree %s read-only", layers[0]);
        }
        return t;
    }
    _cleanup_close_ int fs = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
    if (fs < 0)
        return herr(h, errno, "fsopen overlay");
    size_t len = 16;
    for (size_t i = 0; i < n; i++)
        len += strlen(layers[i]) + 1;
    char *lower = xcalloc(len, 1);
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        if (strchr(layers[i], ':') || strchr(layers[i], ',')) {
            free(lower);
            return herr(h, EINVAL, "layer %s: a path with ':' or ',' cannot be an overlay layer", layers[i]);
        }
        used += (size_t)snprintf(lower + used, len - used, "%s%s", i ? ":" : "", layers[i]);
    }
    int rc = sys_fsconfig(fs, FSCONFIG_SET_STRING, "source", "gbox", 0);
    if (rc == 0)
        rc = sys_fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir", lower, 0);
    free(lower);
    /* the store's opaque markers are user.overlay.opaque (tree.h) */
    if (rc == 0)
        rc = sys_fsconfig(fs, FSCONFIG_SET_FLAG, "userxattr", NULL, 0);
    if (rc == 0)
        rc = sys_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
    if (rc < 0)
        return herr(h, errno, "mount an overlay of %zu module layers", n);
    int t = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
    return t < 0 ? herr(h, errno, "fsmount the module overlay") : t;
}

static int helper(pid_t init_pid, const char *mp, char *const *layers, size_t n, struct helper_err *h)
{
    char p[64];
    /* setns takes a pidfd (Linux 5.8); without pidfd_open (valgrind, old seccomp profiles) the
     * namespace file does */
    _cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, init_pid, 0);
    if (pidfd < 0 && errno == ENOSYS) {
        snprintf(p, sizeof(p), "/proc/%d/ns/mnt", (int)init_pid);
        pidfd = open(p, O_RDONLY | O_CLOEXEC);
    }
    if (pidfd < 0)
        return herr(h, errno, "the sandbox's pid 1 (%d)", (int)init_pid);
    snprintf(p, sizeof(p), "/proc/%d/root", (int)init_pid);
    _cleanup_close_ int root = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return herr(h, errno, "open %s", p);
    struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
    _cleanup_close_ int top = (int)syscall(SYS_openat2, root, mp, &how, sizeof(how));
    if (top < 0)
        return herr(h, errno, "mount point %s in the sandbox", mp);
    /* the mount point must be a mount of its own (the module's): never swap the root overlay */
    struct statx sx;
    if (statx(top, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) == 0 && (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
        !(sx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
        return herr(h, 0, "%s is not a mount point in the sandbox (a module at \"/\" cannot be swapped)", mp);
    _cleanup_close_ int tree = build_tree(layers, n, h);
    if (tree < 0)
        return -1;
    if (setns(pidfd, CLONE_NEWNS) < 0)
        return herr(h, errno, "enter the sandbox's mount namespace");
    if (syscall(SYS_move_mount, tree, "", top, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH |
                MOVE_MOUNT_BENEATH) == 0) {
        if (fchdir(top) < 0 || umount2(".", MNT_DETACH) < 0)
            return herr(h, errno, "detach the old tree at %s (the new one is beneath it)", mp);
        return 0;
    }
    if (errno != EINVAL)
        return herr(h, errno, "move the new tree beneath %s", mp);
    /* before Linux 6.5: on top; the old tree stays shadowed underneath */
    if (syscall(SYS_move_mount, tree, "", top, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        return herr(h, errno, "move the new tree onto %s", mp);
    return 0;
}

int swap_mount(pid_t init_pid, const char *mount_point, char *const *layers, size_t n, struct sbx_err **err)
{
    if (init_pid <= 0 || n == 0)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0, "swap %s: %s", mount_point,
                           n ? "the sandbox's pid 1 is not known" : "no module layers");
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "swap %s: pipe", mount_point);
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "swap %s: fork", mount_point);
    }
    if (pid == 0) {
        close(pfd[0]);
        struct helper_err h = {0, ""};
        int rc = helper(init_pid, mount_point, layers, n, &h);
        if (rc < 0 && write(pfd[1], &h, sizeof(h)) < 0)
            _exit(2);
        _exit(rc < 0 ? 1 : 0);
    }
    close(pfd[1]);
    struct helper_err h = {0, ""};
    ssize_t got = TEMP_RETRY(read(pfd[0], &h, sizeof(h)));
    close(pfd[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    if (got == (ssize_t)sizeof(h))
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, h.errnum, "swap %s: %s", mount_point, h.msg);
    return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0, "swap %s: the helper failed (status 0x%x)", mount_point, st);
}

/* ---- freezing and the checkpoint ------------------------------------------------------------ */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000 * 1000};
    nanosleep(&ts, NULL);
}

int swap_freeze(const struct sbx_started *w, bool frozen, struct sbx_err **err)
{
    char dir[PATH_MAX] = "", p[PATH_MAX];
    const char *file = NULL, *want = NULL, *check_file = NULL, *check = NULL;
    if (w->cgroup_v2) {
        snprintf(p, sizeof(p), "%s/cgroup.freeze", w->cgroup_v2);
        if (access(p, W_OK) == 0) {
            snprintf(dir, sizeof(dir), "%s", w->cgroup_v2);
            file = "cgroup.freeze", want = frozen ? "1" : "0";
            check_file = "cgroup.events", check = frozen ? "frozen 1" : "frozen 0";
        }
    }
    for (size_t i = 0; !file && i < w->n_cgroup_v1; i++) {
        snprintf(p, sizeof(p), "%s/freezer.state", w->cgroup_v1[i]);
        if (access(p, W_OK) == 0) {
            snprintf(dir, sizeof(dir), "%s", w->cgroup_v1[i]);
            file = check_file = "freezer.state", want = check = frozen ? "FROZEN" : "THAWED";
        }
    }
    if (!file)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0, "freeze: the sandbox has neither cgroup.freeze (v2) nor a v1 freezer");
    snprintf(p, sizeof(p), "%s/%s", dir, file);
    if (write_file(p, want) < 0)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "write %s to %s", want, p);
    /* completes asynchronously (a task in uninterruptible sleep freezes when it leaves it) */
    char c[PATH_MAX];
    snprintf(c, sizeof(c), "%s/%s", dir, check_file);
    for (int i = 0; i < 4000; i++) {
        char *s = read_file(c, NULL);
        bool done = s && strstr(s, check);
        free(s);
        if (done)
            return 0;
        if (i && frozen && strcmp(file, "freezer.state") == 0)
            write_file(p, want); /* v1: FREEZING sticks until asked again */
        if (i)
            sleep_ms(1);
    }
    return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0, "%s did not reach \"%s\" within 4 s", c, check);
}

int swap_checkpoint(const char *dir, const char *name, const struct sbx_started *w, struct sbx_err **err)
{
    char upper[PATH_MAX], dst[PATH_MAX], tmp[PATH_MAX + 8];
    snprintf(upper, sizeof(upper), "%sstate/upper", dir);
    snprintf(dst, sizeof(dst), "%slayers/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s.tmp", dst);
    struct stat st;
    if (lstat(dst, &st) == 0)
        return 0; /* replayed after a crash: sealed already */
    snprintf(tmp, sizeof(tmp), "%slayers", dir);
    mkdir(tmp, 0700);
    snprintf(tmp, sizeof(tmp), "%s.tmp", dst);
    if (lstat(tmp, &st) == 0) { /* a copy a crash interrupted */
        _cleanup_close_ int ld = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        char rel[64];
        snprintf(rel, sizeof(rel), "layers/%s.tmp", name);
        if (ld < 0 || tree_remove_at(ld, rel) < 0)
            return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "remove the interrupted copy %s", tmp);
    }
    if (lstat(upper, &st) < 0 && errno == ENOENT) { /* nothing written yet: an empty layer */
        if (mkdir(dst, 0755) < 0)
            return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "checkpoint: create %s", dst);
        return 0;
    }
    if (swap_freeze(w, true, err) < 0)
        return -1;
    int rc = tree_copy_state(upper, tmp, err);
    struct sbx_err *e2 = NULL;
    if (swap_freeze(w, false, &e2) < 0) { /* thaw whatever happened: never leave it frozen */
        if (rc == 0)
            rc = -1, *err = e2, e2 = NULL;
        sbx_err_free(&e2);
    }
    if (rc < 0)
        return sbx_err_wrap(err, "checkpoint %s", name);
    if (rename(tmp, dst) < 0)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "checkpoint: rename %s to %s", tmp, dst);
    snprintf(tmp, sizeof(tmp), "%slayers", dir);
    int dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}
