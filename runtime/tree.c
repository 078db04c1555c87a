/* tree.c — the canonical walk behind image digests, copying trees into the store, removing
 * them. Every entry is reached through its parent's fd with O_NOFOLLOW / AT_SYMLINK_NOFOLLOW:
 * a symlink in a tree is data, never a way out of it. */
#define OPENSSL_SUPPRESS_DEPRECATED /* the low-level SHA256_* calls: no provider loading */
#include "tree.h"

#include "../sandbox/util.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#define IO_CHUNK (256 * 1024)

/* ---- listing -------------------------------------------------------------------------------- */

void (*tree_progress)(const char *phase, uint64_t files, uint64_t bytes);
static uint64_t progress_files, progress_bytes;

static void progress(const char *phase, uint64_t bytes)
{
    progress_files++;
    progress_bytes += bytes;
    if (tree_progress)
        tree_progress(phase, progress_files, progress_bytes);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in a directory (without . and ..), sorted bytewise. NULL with errno on failure. */
static char **list_dir(int dirfd, size_t *n)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return NULL;
    }
    size_t cap = 16;
    char **v = xcalloc(cap, sizeof(char *));
    *n = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (*n + 1 >= cap) {
            cap *= 2;
            v = realloc(v, cap * sizeof(char *));
            if (!v)
                abort();
        }
        v[(*n)++] = xstrdup(e->d_name);
        errno = 0;
    }
    int e2 = errno;
    closedir(d);
    if (e2) {
        for (size_t i = 0; i < *n; i++)
            free(v[i]);
        free(v);
        errno = e2;
        return NULL;
    }
    v[*n] = NULL;
    qsort(v, *n, sizeof(char *), by_name);
    return v;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static bool is_opaque(int fd)
{
    char v[4];
    ssize_t n = fgetxattr(fd, TREE_OPAQUE_XATTR, v, sizeof(v));
    if (n < 0)
        n = fgetxattr(fd, "trusted.overlay.opaque", v, sizeof(v));
    return n == 1 && v[0] == 'y';
}

static char type_char(mode_t m)
{
    switch (m & S_IFMT) {
    case S_IFDIR: return 'd';
    case S_IFREG: return 'f';
    case S_IFLNK: return 'l';
    case S_IFCHR: return 'c';
    case S_IFBLK: return 'b';
    case S_IFIFO: return 'p';
    default: return 's';
    }
}

/* ---- digest --------------------------------------------------------------------------------- */

struct walk {
    SHA256_CTX ctx;
    struct tree_stats *st;
    struct sbx_err **err;
    unsigned char *buf;
    char path[PATH_MAX];
};

static void put_u32(SHA256_CTX *c, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
                          (unsigned char)v};
    SHA256_Update(c, b, 4);
}

static void put_u64(SHA256_CTX *c, uint64_t v)
{
    put_u32(c, (uint32_t)(v >> 32));
    put_u32(c, (uint32_t)v);
}

static void put_str(SHA256_CTX *c, const char *s, size_t n)
{
    put_u32(c, (uint32_t)n);
    SHA256_Update(c, s, n);
}

static int hash_file(struct walk *w, int dirfd, const char *name, const struct stat *st)
{
    _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return sbx_err_set(w->err, 1, errno, "open %s", w->path);
    SHA256_CTX c;
    SHA256_Init(&c);
    uint64_t total = 0;
    for (;;) {
        ssize_t n = TEMP_RETRY(read(fd, w->buf, IO_CHUNK));
        if (n < 0)
            return sbx_err_set(w->err, 1, errno, "read %s", w->path);
        if (n == 0)
            break;
        SHA256_Update(&c, w->buf, (size_t)n);
        total += (uint64_t)n;
    }
    if (total != (uint64_t)st->st_size)
        return sbx_err_set(w->err, 1, 0, "%s changed while it was read", w->path);
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256_Final(md, &c);
    put_u64(&w->ctx, total);
    SHA256_Update(&w->ctx, md, sizeof(md));
    w->st->bytes += total;
    progress("digest", total);
    return 0;
}

static int walk_dir(struct walk *w, int fd);

/* One entry of the stream: type, path, mode, owner, then what the type carries. */
static int walk_entry(struct walk *w, int dirfd, const char *name, size_t plen)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return sbx_err_set(w->err, 1, errno, "stat %s", w->path);
    unsigned uid, gid;
    if (!tree_id(st.st_uid, &uid) || !tree_id(st.st_gid, &gid))
        return sbx_err_set(w->err, GBOX_EXIT_USAGE, 0, "%s: owner %u:%u is outside the ids a sandbox has (0-%u, "
                           "or %u-%u shifted)", w->path, (unsigned)st.st_uid, (unsigned)st.st_gid,
                           TREE_ID_COUNT - 1, TREE_ID_BASE, TREE_ID_BASE + TREE_ID_COUNT - 1);
    char t = type_char(st.st_mode);
    SHA256_Update(&w->ctx, &t, 1);
    put_str(&w->ctx, w->path, plen);
    put_u32(&w->ctx, (uint32_t)(st.st_mode & 07777));
    put_u32(&w->ctx, uid);
    put_u32(&w->ctx, gid);
    switch (t) {
    case 'd': {
        _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return sbx_err_set(w->err, 1, errno, "open %s", w->path);
        unsigned char opaque = is_opaque(fd);
        SHA256_Update(&w->ctx, &opaque, 1);
        w->st->dirs++;
        return walk_dir(w, fd);
    }
    case 'f':
        w->st->files++;
        return hash_file(w, dirfd, name, &st);
    case 'l': {
        char target[PATH_MAX];
        ssize_t n = readlinkat(dirfd, name, target, sizeof(target));
        if (n < 0 || n == (ssize_t)sizeof(target))
            return sbx_err_set(w->err, 1, n < 0 ? errno : ENAMETOOLONG, "readlink %s", w->path);
        put_str(&w->ctx, target, (size_t)n);
        w->st->symlinks++;
        return 0;
    }
    case 'c':
    case 'b':
        put_u32(&w->ctx, major(st.st_rdev));
        put_u32(&w->ctx, minor(st.st_rdev));
        w->st->others++;
        return 0;
    case 'p':
        w->st->others++;
        return 0;
    default:
        return sbx_err_set(w->err, 1, 0, "%s: a socket cannot be part of an image", w->path);
    }
}

static int walk_dir(struct walk *w, int fd)
{
    /* the root's record says "."; below it, paths are "a", "a/b" */
    bool root = strcmp(w->path, ".") == 0;
    size_t n, base = root ? 0 : strlen(w->path);
    char **names = list_dir(fd, &n);
    if (!names)
        return sbx_err_set(w->err, 1, errno, "list %s", w->path);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        int len = snprintf(w->path + base, sizeof(w->path) - base, "%s%s", root ? "" : "/", names[i]);
        if ((size_t)len >= sizeof(w->path) - base)
            rc = sbx_err_set(w->err, 1, ENAMETOOLONG, "%s", names[i]);
        else
            rc = walk_entry(w, fd, names[i], strlen(w->path));
        w->path[base] = '\0';
    }
    if (root)
        snprintf(w->path, sizeof(w->path), ".");
    free_list(names, n);
    return rc;
}

bool tree_id(unsigned id, unsigned *out)
{
    if (id < TREE_ID_COUNT)
        *out = id;
    else if (id >= TREE_ID_BASE && id - TREE_ID_BASE < TREE_ID_COUNT)
        *out = id - TREE_ID_BASE;
    else
        return false;
    return true;
}

int tree_digest(int dirfd, const char *manifest, char hex[65], struct tree_stats *st, struct sbx_err **err)
{
    struct tree_stats local;
    memset(&local, 0, sizeof(local));
    struct walk w = {.st = st ? st : &local, .err = err};
    progress_files = progress_bytes = 0;
    memset(w.st, 0, sizeof(*w.st));
    w.buf = malloc(IO_CHUNK);
    if (!w.buf)
        abort();
    SHA256_Init(&w.ctx);
    static const char magic[] = "gbox-image-digest-v1";
    SHA256_Update(&w.ctx, magic, sizeof(magic)); /* with its NUL */
    SHA256_Update(&w.ctx, "M", 1);
    put_str(&w.ctx, manifest, strlen(manifest));
    snprintf(w.path, sizeof(w.path), ".");
    int rc = walk_entry(&w, dirfd, ".", 1);
    free(w.buf);
    if (rc < 0)
        return -1;
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256_Final(md, &w.ctx);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return 0;
}

/* ---- copy ----------------------------------------------------------------------------------- */

struct link_seen {
    dev_t dev;
    ino_t ino;
    char *rel;
};

struct copy {
    int dst_root;
    struct sbx_err **err;
    char path[PATH_MAX]; /* relative to both roots */
    struct link_seen *links;
    size_t n_links, cap_links;
    unsigned char *buf;
    bool sockets; /* a sandbox's state layer: socket nodes are copied (an image refuses them) */
};

static int copy_data(struct copy *c, int in, int out)
{
    if (ioctl(out, FICLONE, in) == 0) /* a reflink where the filesystem has them (btrfs, xfs) */
        return 0;
    for (;;) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
        if (n == 0)
            return 0;
        if (n > 0)
            continue;
        if (errno == EINTR)
            continue;
        if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
            return sbx_err_set(c->err, 1, errno, "copy %s", c->path);
        break;
    }
    for (;;) {
        ssize_t n = TEMP_RETRY(read(in, c->buf, IO_CHUNK));
        if (n < 0)
            return sbx_err_set(c->err, 1, errno, "read %s", c->path);
        if (n == 0)
            return 0;
        if (write_all(out, c->buf, (size_t)n) < 0)
            return sbx_err_set(c->err, 1, errno, "write %s", c->path);
    }
}

static int copy_meta(struct copy *c, int dfd, const char *name, int fd, const struct stat *st)
{
    unsigned u = 0, g = 0;
    tree_id(st->st_uid, &u); /* checked by the caller */
    tree_id(st->st_gid, &g);
    uid_t uid = TREE_ID_BASE + u;
    gid_t gid = TREE_ID_BASE + g;
    /* owner first: chown clears the setuid and setgid bits */
    int rc = fd >= 0 ? fchown(fd, uid, gid) : fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
    if (rc == 0 && !S_ISLNK(st->st_mode))
        rc = fd >= 0 ? fchmod(fd, st->st_mode & 07777) : fchmodat(dfd, name, st->st_mode & 07777, 0);
    struct timespec ts[2] = {st->st_atim, st->st_mtim};
    if (rc == 0)
        rc = fd >= 0 ? futimens(fd, ts) : utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW);
    return rc < 0 ? sbx_err_set(c->err, 1, errno, "set owner, mode and times of %s", c->path) : 0;
}

static bool link_known(struct copy *c, int dfd, const char *name, const struct stat *st, int *rc)
{
    for (size_t i = 0; i < c->n_links; i++) {
        if (c->links[i].dev == st->st_dev && c->links[i].ino == st->st_ino) {
            *rc = linkat(c->dst_root, c->links[i].rel, dfd, name, 0) < 0
                      ? sbx_err_set(c->err, 1, errno, "link %s to %s", c->path, c->links[i].rel)
                      : 0;
            return true;
        }
    }
    if (c->n_links == c->cap_links) {
        c->cap_links = c->cap_links ? 2 * c->cap_links : 16;
        c->links = realloc(c->links, c->cap_links * sizeof(*c->links));
        if (!c->links)
            abort();
    }
    c->links[c->n_links++] = (struct link_seen){st->st_dev, st->st_ino, xstrdup(c->path)};
    return false;
}

static int copy_dir(struct copy *c, int sfd, int dfd);

static int copy_entry(struct copy *c, int sdir, int ddir, const char *name)
{
    struct stat st;
    if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return sbx_err_set(c->err, 1, errno, "stat %s", c->path);
    unsigned u, g;
    if (!tree_id(st.st_uid, &u) || !tree_id(st.st_gid, &g))
        return sbx_err_set(c->err, GBOX_EXIT_USAGE, 0, "%s: owner %u:%u is outside the ids a sandbox has (0-%u, "
                           "or %u-%u shifted)", c->path, (unsigned)st.st_uid, (unsigned)st.st_gid,
                           TREE_ID_COUNT - 1, TREE_ID_BASE, TREE_ID_BASE + TREE_ID_COUNT - 1);
    switch (st.st_mode & S_IFMT) {
    case S_IFDIR: {
        _cleanup_close_ int s = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (s < 0 || mkdirat(ddir, name, 0700) < 0)
            return sbx_err_set(c->err, 1, errno, "copy directory %s", c->path);
        _cleanup_close_ int d = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (d < 0)
            return sbx_err_set(c->err, 1, errno, "open %s", c->path);
        if (is_opaque(s) && fsetxattr(d, TREE_OPAQUE_XATTR, "y", 1, 0) < 0)
            return sbx_err_set(c->err, 1, errno, "mark %s opaque", c->path);
        if (copy_dir(c, s, d) < 0)
            return -1;
        return copy_meta(c, ddir, name, d, &st);
    }
    case S_IFREG: {
        int rc = 0;
        if (st.st_nlink > 1 && link_known(c, ddir, name, &st, &rc))
            return rc;
        _cleanup_close_ int s = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
        if (s < 0)
            return sbx_err_set(c->err, 1, errno, "open %s", c->path);
        _cleanup_close_ int d = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (d < 0)
            return sbx_err_set(c->err, 1, errno, "create %s", c->path);
        if (copy_data(c, s, d) < 0)
            return -1;
        progress("copy", (uint64_t)st.st_size);
        return copy_meta(c, ddir, name, d, &st);
    }
    case S_IFLNK: {
        char target[PATH_MAX];
        ssize_t n = readlinkat(sdir, name, target, sizeof(target) - 1);
        if (n < 0)
            return sbx_err_set(c->err, 1, errno, "readlink %s", c->path);
        target[n] = '\0';
        if (symlinkat(target, ddir, name) < 0)
            return sbx_err_set(c->err, 1, errno, "symlink %s", c->path);
        return copy_meta(c, ddir, name, -1, &st);
    }
    case S_IFCHR:
    case S_IFBLK:
    case S_IFIFO:
        if (mknodat(ddir, name, (st.st_mode & S_IFMT) | 0600, st.st_rdev) < 0)
            return sbx_err_set(c->err, 1, errno, "create node %s", c->path);
        return copy_meta(c, ddir, name, -1, &st);
    default:
        if (c->sockets && S_ISSOCK(st.st_mode)) {
            if (mknodat(ddir, name, S_IFSOCK | 0600, 0) < 0)
                return sbx_err_set(c->err, 1, errno, "create socket node %s", c->path);
            return copy_meta(c, ddir, name, -1, &st);
        }
        return sbx_err_set(c->err, 1, 0, "%s: a socket cannot be part of an image", c->path);
    }
}

/* fn on each entry of the directory sfd, with c->path naming it while it runs */
static int each_entry(struct copy *c, int sfd, int dfd, int (*fn)(struct copy *, int, int, const char *))
{
    size_t n, base = strlen(c->path);
    char **names = list_dir(sfd, &n);
    if (!names)
        return sbx_err_set(c->err, 1, errno, "list %s", base ? c->path : ".");
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        int len = snprintf(c->path + base, sizeof(c->path) - base, "%s%s", base ? "/" : "", names[i]);
        if ((size_t)len >= sizeof(c->path) - base)
            rc = sbx_err_set(c->err, 1, ENAMETOOLONG, "%s", names[i]);
        else
            rc = fn(c, sfd, dfd, names[i]);
        c->path[base] = '\0';
    }
    free_list(names, n);
    return rc;
}

static int copy_dir(struct copy *c, int sfd, int dfd) { return each_entry(c, sfd, dfd, copy_entry); }

static int copy_tree(const char *src, const char *dst, bool sockets, struct sbx_err **err);

int tree_copy(const char *src, const char *dst, struct sbx_err **err) { return copy_tree(src, dst, false, err); }

int tree_copy_state(const char *src, const char *dst, struct sbx_err **err) { return copy_tree(src, dst, true, err); }

static int copy_tree(const char *src, const char *dst, bool sockets, struct sbx_err **err)
{
    _cleanup_close_ int s = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s < 0)
        return sbx_err_set(err, 1, errno, "open %s", src);
    struct stat st;
    if (fstat(s, &st) < 0 || mkdir(dst, 0700) < 0)
        return sbx_err_set(err, 1, errno, "create %s", dst);
    unsigned u, g;
    if (!tree_id(st.st_uid, &u) || !tree_id(st.st_gid, &g))
        return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "%s: owner %u:%u is outside the ids a sandbox has",
                           src, (unsigned)st.st_uid, (unsigned)st.st_gid);
    _cleanup_close_ int d = open(dst, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (d < 0)
        return sbx_err_set(err, 1, errno, "open %s", dst);
    struct copy c = {.dst_root = d, .err = err, .buf = malloc(IO_CHUNK), .sockets = sockets};
    progress_files = progress_bytes = 0;
    if (!c.buf)
        abort();
    int rc = 0;
    if (is_opaque(s) && fsetxattr(d, TREE_OPAQUE_XATTR, "y", 1, 0) < 0)
        rc = sbx_err_set(err, 1, errno, "mark %s opaque", dst);
    if (rc == 0)
        rc = copy_dir(&c, s, d);
    if (rc == 0)
        rc = copy_meta(&c, d, ".", d, &st);
    for (size_t i = 0; i < c.n_links; i++)
        free(c.links[i].rel);
    free(c.links);
    free(c.buf);
    if (rc < 0)
        sbx_err_wrap(err, "copy %s", src);
    return rc;
}

/* ---- merging overlay layers ----------------------------------------------------------------- */

static int merge_dir(struct copy *c, int sfd, int dfd);

/* One entry of the upper layer onto the merged tree, as overlayfs would show the pair. */
static int merge_entry(struct copy *c, int sdir, int ddir, const char *name)
{
    struct stat st, dst;
    if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return sbx_err_set(c->err, 1, errno, "stat %s", c->path);
    bool exists = fstatat(ddir, name, &dst, AT_SYMLINK_NOFOLLOW) == 0;
    if (S_ISDIR(st.st_mode)) {
        _cleanup_close_ int s = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (s < 0)
            return sbx_err_set(c->err, 1, errno, "open %s", c->path);
        if (exists && S_ISDIR(dst.st_mode) && !is_opaque(s)) { /* both directories: merged */
            _cleanup_close_ int d = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (d < 0)
                return sbx_err_set(c->err, 1, errno, "open %s", c->path);
            if (merge_dir(c, s, d) < 0)
                return -1;
            return copy_meta(c, ddir, name, d, &st);
        }
        if (exists && tree_remove_at(ddir, name) < 0)
            return sbx_err_set(c->err, 1, errno, "replace %s", c->path);
        if (copy_entry(c, sdir, ddir, name) < 0)
            return -1;
        /* a directory over a non-directory (or a whiteout) hides what lies below it: overlayfs
         * stops merging there, so the merged directory must say so to the image layers */
        if (exists && !S_ISDIR(dst.st_mode)) {
            _cleanup_close_ int d = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (d < 0 || fsetxattr(d, TREE_OPAQUE_XATTR, "y", 1, 0) < 0)
                return sbx_err_set(c->err, 1, errno, "mark %s opaque", c->path);
        }
        return 0;
    }
    /* a file, link, node or whiteout replaces whatever was there; a whiteout is kept, as it
     * still hides the image layers' entry */
    if (exists && tree_remove_at(ddir, name) < 0)
        return sbx_err_set(c->err, 1, errno, "replace %s", c->path);
    return copy_entry(c, sdir, ddir, name);
}

static int merge_dir(struct copy *c, int sfd, int dfd) { return each_entry(c, sfd, dfd, merge_entry); }

int tree_merge(const char *upper, const char *dst, struct sbx_err **err)
{
    _cleanup_close_ int s = open(upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (s < 0)
        return sbx_err_set(err, 1, errno, "open %s", upper);
    _cleanup_close_ int d = open(dst, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (d < 0)
        return sbx_err_set(err, 1, errno, "open %s", dst);
    struct stat st;
    if (fstat(s, &st) < 0)
        return sbx_err_set(err, 1, errno, "stat %s", upper);
    struct copy c = {.dst_root = d, .err = err, .buf = malloc(IO_CHUNK), .sockets = true};
    if (!c.buf)
        abort();
    int rc = 0;
    if (is_opaque(s)) { /* an opaque root hides every lower entry */
        size_t n;
        char **names = list_dir(d, &n);
        for (size_t i = 0; names && i < n && rc == 0; i++)
            rc = tree_remove_at(d, names[i]) < 0 ? sbx_err_set(err, 1, errno, "remove %s/%s", dst, names[i]) : 0;
        if (names)
            free_list(names, n);
        if (rc == 0 && fsetxattr(d, TREE_OPAQUE_XATTR, "y", 1, 0) < 0)
            rc = sbx_err_set(err, 1, errno, "mark %s opaque", dst);
    }
    if (rc == 0)
        rc = merge_dir(&c, s, d);
    if (rc == 0)
        rc = copy_meta(&c, d, ".", d, &st);
    for (size_t i = 0; i < c.n_links; i++)
        free(c.links[i].rel);
    free(c.links);
    free(c.buf);
    if (rc < 0)
        sbx_err_wrap(err, "merge %s onto %s", upper, dst);
    return rc;
}

/* ---- removal -------------------------------------------------------------------------------- */

int tree_remove_at(int dirfd, const char *name)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -1 : 0;
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t n;
    char **names = list_dir(fd, &n);
    int rc = names ? 0 : -1;
    for (size_t i = 0; names && i < n; i++)
        if (tree_remove_at(fd, names[i]) < 0)
            rc = -1;
    if (names)
        free_list(names, n);
    close(fd);
    if (rc == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        rc = -1;
    return rc;
}
