/* store.c — the content-addressed image store: atomic builds, tags, removal refused while in use,
 * garbage collection, run registrations and named sandboxes' state directories. The layout and
 * the locking rules are in store.h; docs/images.md has the reasoning. */
#include "store.h"

#include "generation.h"
#include "paths.h"

#include "tree.h"
#include "../sandbox/util.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#define STORE_ERR 1 /* exit code of store failures that are not usage errors */

const char *store_default_dir(void)
{
    const char *e = getenv("GBOX_STORE_DIR");
    return e && *e ? e : "/var/lib/gbox";
}

static int mkdir_p(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, mode) < 0 && errno != EEXIST ? -1 : 0;
}

static const char *const subdirs[] = {"images", "tags", "tmp", "run", "state"};

int store_open(const char *dir, bool create, struct store **out, struct sbx_err **err)
{
    *out = NULL;
    if (!dir)
        dir = store_default_dir();
    if (create && mkdir_p(dir, 0700) < 0)
        return sbx_err_set(err, STORE_ERR, errno, "create image store %s", dir);
    struct store *s = xcalloc(1, sizeof(*s));
    s->fd = s->lock = -1;
    if (!realpath(dir, s->root)) {
        int e = errno;
        free(s);
        sbx_err_set(err, STORE_ERR, e, "image store %s", dir);
        errno = e;
        return -1;
    }
    s->fd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->fd < 0) {
        int e = errno;
        store_close(s);
        return sbx_err_set(err, STORE_ERR, e, "image store %s", dir);
    }
    for (size_t i = 0; i < ARRAY_LEN(subdirs); i++) {
        if (mkdirat(s->fd, subdirs[i], 0700) < 0 && errno != EEXIST) {
            int e = errno;
            store_close(s);
            return sbx_err_set(err, STORE_ERR, e, "create %s/%s", dir, subdirs[i]);
        }
    }
    s->lock = openat(s->fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (s->lock < 0) {
        int e = errno;
        store_close(s);
        return sbx_err_set(err, STORE_ERR, e, "open %s/lock", dir);
    }
    *out = s;
    return 0;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    if (s->lock >= 0)
        close(s->lock);
    if (s->fd >= 0)
        close(s->fd);
    free(s);
}

int store_lock(struct store *s, int op, struct sbx_err **err)
{
    if (TEMP_RETRY(flock(s->lock, op)) < 0)
        return sbx_err_set(err, STORE_ERR, errno, "lock image store %s", s->root);
    return 0;
}

/* ---- small helpers -------------------------------------------------------------------------- */

static void random_hex(char *out, size_t bytes)
{
    unsigned char b[16];
    if (bytes > sizeof(b))
        bytes = sizeof(b);
    if (getrandom(b, bytes, 0) != (ssize_t)bytes) {
        /* never fails for 16 bytes once the pool is up; fall back to something unique enough */
        uint64_t t = (uint64_t)now_ms() ^ ((uint64_t)getpid() << 32);
        memcpy(b, &t, bytes < sizeof(t) ? bytes : sizeof(t));
    }
    for (size_t i = 0; i < bytes; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static void utc_now(char *buf, size_t len)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Write text to dirfd/name atomically: a temporary file, fsync, rename over. */
static int write_atomic(int dirfd, const char *name, const char *text)
{
    char tmp[NAME_MAX + 1], rnd[17];
    random_hex(rnd, 8);
    snprintf(tmp, sizeof(tmp), ".%s.%s.tmp", name, rnd);
    int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    int rc = write_all(fd, text, strlen(text));
    if (rc == 0)
        rc = fsync(fd);
    int e = errno;
    close(fd);
    if (rc == 0 && renameat(dirfd, tmp, dirfd, name) == 0)
        return 0;
    e = rc == 0 ? errno : e;
    unlinkat(dirfd, tmp, 0);
    errno = e;
    return -1;
}

/* A small file below dirfd, NUL-terminated (at most 1 MiB: manifests, tags, records); no
 * symlink is followed on the way. */
static char *read_at(int dirfd, const char *name)
{
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS};
    _cleanup_close_ int fd = openat2_retry(dirfd, name, &how);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return NULL;
    if (st.st_size > (1 << 20)) {
        errno = EFBIG;
        return NULL;
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = malloc(cap);
    if (!buf)
        abort();
    for (;;) {
        ssize_t r = TEMP_RETRY(read(fd, buf + n, cap - n - 1));
        if (r < 0) {
            free(buf);
            return NULL;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n + 1 == cap) { /* grew meanwhile */
            if (cap > (1 << 20)) {
                free(buf);
                errno = EFBIG;
                return NULL;
            }
            cap *= 2;
            buf = realloc(buf, cap);
            if (!buf)
                abort();
        }
    }
    buf[n] = '\0';
    return buf;
}

static bool is_hex64(const char *s)
{
    if (strlen(s) != 64)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s) && !(*s >= 'a' && *s <= 'f'))
            return false;
    return true;
}

/* "sha256:HEX\n" from a tag file into hex. */
static int read_tag(int dirfd, const char *name, char hex[65])
{
    _cleanup_free_ char *s = read_at(dirfd, name);
    if (!s || strncmp(s, "sha256:", 7) != 0)
        return -1;
    snprintf(hex, 65, "%.64s", s + 7);
    return is_hex64(hex) ? 0 : -1;
}

/* Each entry of dir (without dot-files), through cb; stops at the first cb < 0. */
static int each_entry(int parent, const char *dir, int (*cb)(void *ctx, int fd, const char *name), void *ctx)
{
    int fd = openat(parent, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)))
        if (e->d_name[0] != '.')
            rc = cb(ctx, dirfd(d), e->d_name);
    closedir(d);
    return rc;
}

/* ---- listing -------------------------------------------------------------------------------- */

struct tag {
    char name[65], version[SEMVER_MAX_TEXT + 1], hex[65];
};
struct tags {
    struct tag *v;
    size_t n, cap;
    const char *name; /* while walking one name's directory */
};

static int tag_version_cb(void *ctx, int fd, const char *version)
{
    struct tags *t = ctx;
    struct tag tg;
    if (read_tag(fd, version, tg.hex) < 0)
        return 0; /* unreadable or foreign file: not a tag */
    snprintf(tg.name, sizeof(tg.name), "%s", t->name);
    snprintf(tg.version, sizeof(tg.version), "%s", version);
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 16;
        t->v = realloc(t->v, t->cap * sizeof(*t->v));
        if (!t->v)
            abort();
    }
    t->v[t->n++] = tg;
    return 0;
}

static int tag_name_cb(void *ctx, int fd, const char *name)
{
    struct tags *t = ctx;
    t->name = name;
    return each_entry(fd, name, tag_version_cb, t);
}

static int read_tags(struct store *s, struct tags *t)
{
    memset(t, 0, sizeof(*t));
    return each_entry(s->fd, "tags", tag_name_cb, t);
}

struct list_ctx {
    struct store *s;
    struct store_list *l;
    bool info;          /* read info.json too */
    const char *tag;    /* store_tagged: the version the tag names */
    struct sbx_err **err;
};

static int image_cb(void *ctx, int fd, const char *hex)
{
    struct list_ctx *c = ctx;
    if (!is_hex64(hex))
        return 0;
    char rel[96];
    snprintf(rel, sizeof(rel), "%s/manifest.json", hex);
    _cleanup_free_ char *text = read_at(fd, rel);
    char label[PATH_MAX];
    snprintf(label, sizeof(label), "%s/images/%s/manifest.json", c->s->root, hex);
    json_t *doc = text ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
    struct gbox_manifest *m = NULL;
    struct sbx_err *e = NULL;
    if (!doc || manifest_from_json(doc, label, &m, &e) < 0) {
        json_decref(doc);
        sbx_err_free(&e);
        return 0; /* not an image gbox wrote: gc leaves it alone, resolution ignores it */
    }
    json_decref(doc);
    if (c->tag && strcmp(m->version_text, c->tag) != 0) {
        manifest_free(m); /* a tag file that does not match its image: not a tag */
        return 0;
    }
    if (c->l->n == c->l->cap) {
        c->l->cap = c->l->cap ? 2 * c->l->cap : 16;
        c->l->v = realloc(c->l->v, c->l->cap * sizeof(*c->l->v));
        if (!c->l->v)
            abort();
    }
    struct store_image *im = &c->l->v[c->l->n++];
    memset(im, 0, sizeof(*im));
    snprintf(im->digest, sizeof(im->digest), "%s", hex);
    im->m = m;
    im->tagged = c->tag != NULL;
    snprintf(rel, sizeof(rel), "%s/info.json", hex);
    _cleanup_free_ char *info = c->info ? read_at(fd, rel) : NULL;
    im->info = info ? json_loads(info, 0, NULL) : NULL;
    if (!im->info)
        im->info = json_object();
    snprintf(im->rootfs, sizeof(im->rootfs), "%s/images/%s/rootfs", c->s->root, hex);
    return 0;
}

static int image_order(const void *a, const void *b)
{
    const struct store_image *x = a, *y = b;
    int c = strcmp(x->m->name, y->m->name);
    if (c)
        return c;
    c = semver_cmp(&y->m->version, &x->m->version);
    return c ? c : (int)y->tagged - (int)x->tagged;
}

int store_images(struct store *s, struct store_list *out, struct sbx_err **err)
{
    memset(out, 0, sizeof(*out));
    struct list_ctx c = {s, out, true, NULL, err};
    if (each_entry(s->fd, "images", image_cb, &c) < 0) {
        store_list_free(out);
        return sbx_err_set(err, STORE_ERR, errno, "list %s/images", s->root);
    }
    struct tags t;
    if (read_tags(s, &t) < 0) {
        free(t.v);
        store_list_free(out);
        return sbx_err_set(err, STORE_ERR, errno, "list %s/tags", s->root);
    }
    for (size_t i = 0; i < out->n; i++)
        for (size_t k = 0; k < t.n; k++)
            if (strcmp(t.v[k].hex, out->v[i].digest) == 0 && strcmp(t.v[k].name, out->v[i].m->name) == 0 &&
                strcmp(t.v[k].version, out->v[i].m->version_text) == 0)
                out->v[i].tagged = true;
    free(t.v);
    if (out->n)
        qsort(out->v, out->n, sizeof(*out->v), image_order);
    return 0;
}

void store_list_free(struct store_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        manifest_free(l->v[i].m);
        json_decref(l->v[i].info);
    }
    free(l->v);
    memset(l, 0, sizeof(*l));
}

struct tagged_ctx {
    struct list_ctx lc;
    int images;
};

static int tagged_cb(void *ctx, int fd, const char *version)
{
    struct tagged_ctx *t = ctx;
    char hex[65];
    if (read_tag(fd, version, hex) < 0)
        return 0;
    t->lc.tag = version;
    return image_cb(&t->lc, t->images, hex);
}

int store_tagged(struct store *s, const char *name, struct store_list *out, struct sbx_err **err)
{
    char rel[96];
    if (!module_name_valid(name))
        return 0;
    snprintf(rel, sizeof(rel), "tags/%s", name);
    struct tagged_ctx t = {{s, out, false, NULL, err}, openat(s->fd, "images", O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (t.images < 0)
        return sbx_err_set(err, STORE_ERR, errno, "open %s/images", s->root);
    int rc = each_entry(s->fd, rel, tagged_cb, &t);
    int e = errno;
    close(t.images);
    return rc < 0 ? sbx_err_set(err, STORE_ERR, e, "list %s/%s", s->root, rel) : 0;
}

int store_get(struct store *s, const char *hex, struct store_list *out, struct sbx_err **err)
{
    if (!is_hex64(hex))
        return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "sha256:%s: expected 64 hex digits", hex);
    int images = openat(s->fd, "images", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (images < 0)
        return errno == ENOENT ? 1 : sbx_err_set(err, STORE_ERR, errno, "open %s/images", s->root);
    size_t before = out->n;
    struct list_ctx c = {s, out, false, NULL, err};
    image_cb(&c, images, hex);
    close(images);
    return out->n > before ? 0 : 1;
}

struct store_image *store_find(const struct store_list *l, const char *ref, struct sbx_err **err)
{
    const char *hex = strncmp(ref, "sha256:", 7) == 0 ? ref + 7 : NULL;
    size_t rl = strlen(ref);
    bool hexish = rl >= 4 && rl <= 64 && strspn(ref, "0123456789abcdef") == rl;
    if (hex || hexish) {
        const char *want = hex ? hex : ref;
        struct store_image *found = NULL;
        for (size_t i = 0; i < l->n; i++) {
            if (strncmp(l->v[i].digest, want, strlen(want)) != 0)
                continue;
            if (found) {
                sbx_err_set(err, GBOX_EXIT_USAGE, 0, "image %s: ambiguous digest prefix (%.12s, %.12s, ...)",
                            ref, found->digest, l->v[i].digest);
                return NULL;
            }
            found = &l->v[i];
        }
        if (found || hex) {
            if (!found)
                sbx_err_set(err, GBOX_EXIT_USAGE, 0, "image %s not found in the store", ref);
            return found;
        }
    }
    char name[80];
    const char *colon = strchr(ref, ':');
    snprintf(name, sizeof(name), "%.*s", colon ? (int)(colon - ref) : (int)rl, ref);
    struct semver want;
    if (!module_name_valid(name) || (colon && semver_parse(colon + 1, &want) < 0)) {
        sbx_err_set(err, GBOX_EXIT_USAGE, 0,
                    "image reference \"%s\": expected NAME, NAME:VERSION, sha256:DIGEST or a digest prefix", ref);
        return NULL;
    }
    /* the list is sorted highest version first: the first tagged match is the one */
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].tagged && strcmp(l->v[i].m->name, name) == 0 &&
            (!colon || semver_cmp(&l->v[i].m->version, &want) == 0))
            return &l->v[i];
    sbx_err_set(err, GBOX_EXIT_USAGE, 0, "image %s not found in the store (`gbox image ls` lists them)", ref);
    return NULL;
}

/* ---- builds --------------------------------------------------------------------------------- */

int store_tx_begin(struct store *s, struct store_tx *tx, struct sbx_err **err)
{
    memset(tx, 0, sizeof(*tx));
    tx->s = s;
    tx->fd = -1;
    char rnd[17];
    random_hex(rnd, 8);
    snprintf(tx->dir, sizeof(tx->dir), "%s/tmp/build-%s", s->root, rnd);
    snprintf(tx->rootfs, sizeof(tx->rootfs), "%s/rootfs", tx->dir);
    if (mkdir(tx->dir, 0700) < 0)
        return sbx_err_set(err, STORE_ERR, errno, "create %s", tx->dir);
    /* The lock on the directory itself tells gc the build is alive. */
    tx->fd = open(tx->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (tx->fd < 0 || flock(tx->fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        store_tx_abort(tx);
        return sbx_err_set(err, STORE_ERR, e, "lock %s", tx->dir);
    }
    return 0;
}

void store_tx_abort(struct store_tx *tx)
{
    if (!tx->dir[0])
        return;
    _cleanup_close_ int tmp = openat(tx->s->fd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const char *base = strrchr(tx->dir, '/') + 1;
    if (tmp >= 0)
        tree_remove_at(tmp, base);
    if (tx->fd >= 0)
        close(tx->fd);
    tx->fd = -1;
    tx->dir[0] = '\0';
}

static int write_tag(struct store *s, const struct gbox_manifest *m, const char *hex)
{
    char dir[128], text[80];
    snprintf(dir, sizeof(dir), "tags/%s", m->name);
    if (mkdirat(s->fd, dir, 0700) < 0 && errno != EEXIST)
        return -1;
    _cleanup_close_ int fd = openat(s->fd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    snprintf(text, sizeof(text), "sha256:%s\n", hex);
    return write_atomic(fd, m->version_text, text);
}

int store_tx_commit(struct store_tx *tx, const struct gbox_manifest *m, const char *source,
                    char digest[65], struct sbx_err **err)
{
    struct store *s = tx->s;
    _cleanup_free_ char *canon = manifest_canonical(m);
    _cleanup_close_ int root = open(tx->rootfs, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct tree_stats st;
    if (root < 0)
        return sbx_err_set(err, STORE_ERR, errno, "open %s", tx->rootfs);
    /* The digest is computed over the tree as stored, not the source: what the store holds is
     * what the digest names, even if the source changed during the copy. */
    if (tree_digest(root, canon, digest, &st, err) < 0)
        return -1;
    char created[32], full[80];
    utc_now(created, sizeof(created));
    snprintf(full, sizeof(full), "sha256:%s", digest);
    json_t *info = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "digest", full, "name",
                             m->name, "version", m->version_text, "created", created, "source",
                             source ? source : "", "files", (json_int_t)st.files, "dirs",
                             (json_int_t)st.dirs, "symlinks", (json_int_t)st.symlinks, "others",
                             (json_int_t)st.others, "bytes", (json_int_t)st.bytes);
    _cleanup_free_ char *info_text = json_dumps(info, JSON_SORT_KEYS | JSON_INDENT(2));
    json_decref(info);
    _cleanup_close_ int dfd = open(tx->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0 || write_atomic(dfd, "manifest.json", canon) < 0 || write_atomic(dfd, "info.json", info_text) < 0)
        return sbx_err_set(err, STORE_ERR, errno, "write the manifest of %s", tx->dir);
    /* Everything on disk before the image becomes visible under its name. */
    if (syncfs(s->fd) < 0)
        return sbx_err_set(err, STORE_ERR, errno, "sync %s", s->root);
    if (store_lock(s, LOCK_SH, err) < 0)
        return -1;
    char dest[96];
    snprintf(dest, sizeof(dest), "images/%s", digest);
    int rc = renameat(AT_FDCWD, tx->dir, s->fd, dest);
    if (rc < 0 && (errno == EEXIST || errno == ENOTEMPTY)) {
        rc = 0; /* the same content is already stored: ours is a duplicate */
        store_tx_abort(tx);
    } else if (rc < 0) {
        int e = errno;
        store_lock(s, LOCK_UN, NULL);
        return sbx_err_set(err, STORE_ERR, e, "move %s into %s/images", tx->dir, s->root);
    } else {
        if (tx->fd >= 0)
            close(tx->fd);
        tx->fd = -1;
        tx->dir[0] = '\0';
    }
    if (write_tag(s, m, digest) < 0) {
        int e = errno;
        store_lock(s, LOCK_UN, NULL);
        return sbx_err_set(err, STORE_ERR, e, "tag %s:%s", m->name, m->version_text);
    }
    store_lock(s, LOCK_UN, NULL);
    return 0;
}

int store_build(struct store *s, const char *dir, char digest[65], struct gbox_manifest **mout,
                struct sbx_err **err)
{
    char file[PATH_MAX], tree[PATH_MAX], real[PATH_MAX];
    snprintf(file, sizeof(file), "%s/module.json", dir);
    snprintf(tree, sizeof(tree), "%s/rootfs", dir);
    struct gbox_manifest *m = NULL;
    if (manifest_load(file, &m, err) < 0)
        return -1;
    struct stat st;
    if (stat(tree, &st) < 0 || !S_ISDIR(st.st_mode)) {
        manifest_free(m);
        return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "%s: expected the image tree in a directory %s next to "
                           "module.json", dir, tree);
    }
    struct store_tx tx;
    if (store_tx_begin(s, &tx, err) < 0) {
        manifest_free(m);
        return -1;
    }
    if (tree_copy(tree, tx.rootfs, err) < 0 ||
        store_tx_commit(&tx, m, realpath(dir, real) ? real : dir, digest, err) < 0) {
        store_tx_abort(&tx);
        manifest_free(m);
        return -1;
    }
    store_tx_abort(&tx);
    *mout = m;
    return 0;
}

/* ---- users of images ------------------------------------------------------------------------ */

struct users_ctx {
    const char *digest; /* NULL: every live record */
    json_t *out;        /* array of {pid, name, images} */
    bool reap;          /* remove stale records (the caller holds the lock exclusively) */
    void (*say)(const char *line);
    struct store *s;
};

static int user_cb(void *ctx, int dirfd, const char *name)
{
    struct users_ctx *c = ctx;
    _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return 0;
    if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
        /* Nobody holds it: the gbox that wrote it is gone. */
        if (c->reap && unlinkat(dirfd, name, 0) == 0 && c->say) {
            char line[PATH_MAX + 64];
            snprintf(line, sizeof(line), "removed stale run record %s/run/%s", c->s->root, name);
            c->say(line);
        }
        return 0;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    json_t *rec = json_load_file(path, 0, NULL);
    if (!rec)
        return 0;
    const json_t *imgs = json_object_get(rec, "images"), *e;
    size_t i;
    bool uses = !c->digest;
    json_array_foreach(imgs, i, e) uses |= c->digest && json_is_string(e) && strcmp(json_string_value(e), c->digest) == 0;
    if (uses)
        json_array_append(c->out, rec);
    json_decref(rec);
    return 0;
}

static json_t *users(struct store *s, const char *digest, bool reap, void (*say)(const char *))
{
    struct users_ctx c = {digest, json_array(), reap, say, s};
    each_entry(s->fd, "run", user_cb, &c);
    return c.out;
}

json_t *store_users(struct store *s, const char *digest) { return users(s, digest, false, NULL); }

int store_run_register(struct store *s, const char *const *digests, size_t n, const char *name,
                       struct store_run *run, struct sbx_err **err)
{
    char rnd[17], rel[64], started[32];
    random_hex(rnd, 8);
    snprintf(rel, sizeof(rel), "run/%d-%s", (int)getpid(), rnd);
    snprintf(run->path, sizeof(run->path), "%s/%s", s->root, rel);
    run->fd = openat(s->fd, rel, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (run->fd < 0 || flock(run->fd, LOCK_EX) < 0) {
        int e = errno;
        store_run_release(run);
        return sbx_err_set(err, STORE_ERR, e, "register the run in %s", run->path);
    }
    utc_now(started, sizeof(started));
    json_t *imgs = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(imgs, json_string(digests[i]));
    json_t *rec = json_pack("{s:i, s:s?, s:s, s:o}", "pid", (int)getpid(), "name", name, "started", started,
                            "images", imgs);
    _cleanup_free_ char *text = json_dumps(rec, JSON_COMPACT);
    json_decref(rec);
    if (write_all(run->fd, text, strlen(text)) < 0) {
        int e = errno;
        store_run_release(run);
        return sbx_err_set(err, STORE_ERR, e, "write %s", run->path);
    }
    return 0;
}

void store_run_release(struct store_run *run)
{
    if (run->fd >= 0) {
        unlink(run->path);
        close(run->fd);
    }
    run->fd = -1;
}

/* ---- removal and gc ------------------------------------------------------------------------- */

static void say_fmt(void (*say)(const char *), const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say_fmt(void (*say)(const char *), const char *fmt, ...)
{
    if (!say)
        return;
    char line[PATH_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    say(line);
}

/* Move images/HEX out of sight (one rename), then delete it. */
static int delete_image(struct store *s, const char *hex)
{
    char from[96], to[96], rnd[17];
    random_hex(rnd, 8);
    snprintf(from, sizeof(from), "images/%s", hex);
    snprintf(to, sizeof(to), "tmp/rm-%s", rnd);
    if (renameat(s->fd, from, s->fd, to) < 0)
        return -1;
    _cleanup_close_ int tmp = openat(s->fd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return tmp < 0 ? -1 : tree_remove_at(tmp, to + 4);
}

static int untag(struct store *s, const char *name, const char *version)
{
    char rel[160];
    snprintf(rel, sizeof(rel), "tags/%s/%s", name, version);
    if (unlinkat(s->fd, rel, 0) < 0 && errno != ENOENT)
        return -1;
    snprintf(rel, sizeof(rel), "tags/%s", name);
    unlinkat(s->fd, rel, AT_REMOVEDIR); /* when it was the last version */
    return 0;
}

static int refuse_in_use(struct store *s, const char *what, const char *hex, struct sbx_err **err)
{
    json_t *u = users(s, hex, true, NULL);
    size_t n = json_array_size(u);
    if (n == 0) {
        json_decref(u);
        return 0;
    }
    char who[256] = "";
    size_t len = 0, i;
    const json_t *e;
    json_array_foreach(u, i, e)
    {
        const char *nm = json_string_value(json_object_get(e, "name"));
        len += (size_t)snprintf(who + len, len < sizeof(who) ? sizeof(who) - len : 0, "%spid %lld%s%s%s",
                                i ? ", " : "", (long long)json_integer_value(json_object_get(e, "pid")),
                                nm ? " (" : "", nm ? nm : "", nm ? ")" : "");
    }
    json_decref(u);
    return sbx_err_set(err, STORE_ERR, 0, "image %s (sha256:%.12s) is in use by %zu running sandbox%s: %s",
                       what, hex, n, n == 1 ? "" : "es", who);
}

/* Kept generations of supervised sandboxes (gbox daemon's records) roll back to their images. */
static int refuse_kept(const char *what, const char *hex, struct sbx_err **err)
{
    json_t *u = gen_image_users(daemon_state_dir(), hex);
    size_t n = json_array_size(u), i;
    if (n == 0) {
        json_decref(u);
        return 0;
    }
    char who[512] = "";
    size_t len = 0;
    const json_t *e;
    json_array_foreach(u, i, e) len += (size_t)snprintf(
        who + len, len < sizeof(who) ? sizeof(who) - len : 0, "%sgeneration %lld of %s (%.12s)%s", i ? ", " : "",
        (long long)json_integer_value(json_object_get(e, "gen")), json_string_value(json_object_get(e, "name")),
        json_string_value(json_object_get(e, "id")), json_is_true(json_object_get(e, "current")) ? ", current" : "");
    json_decref(u);
    return sbx_err_set(err, STORE_ERR, 0, "image %s (sha256:%.12s) is kept for rollback by %s: remove the sandbox, "
                       "or let newer generations replace it (modules.reload.keep_generations)", what, hex, who);
}

int store_remove(struct store *s, const char *ref, void (*say)(const char *), struct sbx_err **err)
{
    if (store_lock(s, LOCK_EX, err) < 0)
        return -1;
    struct store_list l;
    int rc = store_images(s, &l, err);
    struct store_image *im = rc == 0 ? store_find(&l, ref, err) : NULL;
    if (!im) {
        rc = -1;
        goto out;
    }
    bool by_digest = strncmp(ref, "sha256:", 7) == 0 ||
                     (!strchr(ref, ':') && strncmp(im->digest, ref, strlen(ref)) == 0);
    if (!by_digest && !strchr(ref, ':')) {
        rc = sbx_err_set(err, GBOX_EXIT_USAGE, 0, "image rm %s: expected NAME:VERSION or a digest (every "
                         "version of a name at once is not removed)", ref);
        goto out;
    }
    char what[160];
    snprintf(what, sizeof(what), "%s:%s", im->m->name, im->m->version_text);
    if ((rc = refuse_in_use(s, what, im->digest, err)) < 0 || (rc = refuse_kept(what, im->digest, err)) < 0)
        goto out;
    struct tags t;
    if (read_tags(s, &t) < 0) {
        free(t.v);
        rc = sbx_err_set(err, STORE_ERR, errno, "list %s/tags", s->root);
        goto out;
    }
    size_t others = 0;
    for (size_t k = 0; k < t.n; k++) {
        if (strcmp(t.v[k].hex, im->digest) != 0)
            continue;
        bool this_tag = strcmp(t.v[k].name, im->m->name) == 0 && strcmp(t.v[k].version, im->m->version_text) == 0;
        if (by_digest || this_tag) {
            if (untag(s, t.v[k].name, t.v[k].version) < 0) {
                rc = sbx_err_set(err, STORE_ERR, errno, "untag %s:%s", t.v[k].name, t.v[k].version);
                break;
            }
            say_fmt(say, "untagged %s:%s", t.v[k].name, t.v[k].version);
        } else {
            others++;
        }
    }
    free(t.v);
    if (rc == 0 && others == 0) {
        if (delete_image(s, im->digest) < 0)
            rc = sbx_err_set(err, STORE_ERR, errno, "remove %s/images/%s", s->root, im->digest);
        else
            say_fmt(say, "deleted sha256:%s", im->digest);
    }
out:
    store_list_free(&l);
    store_lock(s, LOCK_UN, NULL);
    return rc;
}

struct gc_ctx {
    struct store *s;
    void (*say)(const char *);
};

static int gc_tmp_cb(void *ctx, int dirfd, const char *name)
{
    struct gc_ctx *c = ctx;
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return 0;
    /* a live build holds its directory's lock */
    bool stale = flock(fd, LOCK_EX | LOCK_NB) == 0;
    close(fd);
    if (stale && tree_remove_at(dirfd, name) == 0)
        say_fmt(c->say, "removed unfinished %s/tmp/%s", c->s->root, name);
    return 0;
}

int store_gc(struct store *s, void (*say)(const char *), struct sbx_err **err)
{
    if (store_lock(s, LOCK_EX, err) < 0)
        return -1;
    struct gc_ctx c = {s, say};
    json_t *live = users(s, NULL, true, say);
    each_entry(s->fd, "tmp", gc_tmp_cb, &c);
    struct store_list l;
    struct tags t = {0};
    int rc = store_images(s, &l, err);
    if (rc == 0 && read_tags(s, &t) < 0)
        rc = sbx_err_set(err, STORE_ERR, errno, "list %s/tags", s->root);
    for (size_t k = 0; rc == 0 && k < t.n; k++) {
        bool found = false;
        for (size_t i = 0; i < l.n && !found; i++)
            found = strcmp(l.v[i].digest, t.v[k].hex) == 0;
        if (!found && untag(s, t.v[k].name, t.v[k].version) == 0)
            say_fmt(say, "removed dangling tag %s:%s (sha256:%.12s is gone)", t.v[k].name, t.v[k].version,
                    t.v[k].hex);
    }
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        bool tagged = false, used = false;
        for (size_t k = 0; k < t.n && !tagged; k++)
            tagged = strcmp(t.v[k].hex, l.v[i].digest) == 0;
        size_t j;
        const json_t *u, *e;
        json_array_foreach(live, j, u)
        {
            size_t q;
            json_array_foreach(json_object_get(u, "images"), q, e) used |= strcmp(json_string_value(e), l.v[i].digest) == 0;
        }
        if (tagged || used)
            continue;
        json_t *kept = gen_image_users(daemon_state_dir(), l.v[i].digest);
        size_t nk = json_array_size(kept);
        if (nk) {
            const json_t *k0 = json_array_get(kept, 0);
            say_fmt(say, "kept untagged %s:%s sha256:%.12s: generation %lld of %s%s may roll back to it",
                    l.v[i].m->name, l.v[i].m->version_text, l.v[i].digest,
                    (long long)json_integer_value(json_object_get(k0, "gen")),
                    json_string_value(json_object_get(k0, "name")), nk > 1 ? " (and others)" : "");
        }
        json_decref(kept);
        if (nk)
            continue;
        if (delete_image(s, l.v[i].digest) == 0)
            say_fmt(say, "deleted untagged %s:%s sha256:%s", l.v[i].m->name, l.v[i].m->version_text, l.v[i].digest);
        else
            rc = sbx_err_set(err, STORE_ERR, errno, "remove %s/images/%s", s->root, l.v[i].digest);
    }
    free(t.v);
    json_decref(live);
    store_list_free(&l);
    store_lock(s, LOCK_UN, NULL);
    return rc;
}

/* ---- named sandboxes ------------------------------------------------------------------------ */

bool sandbox_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64 || !isalnum((unsigned char)name[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && !strchr("_.-", name[i]))
            return false;
    return true;
}

int store_state_dir(struct store *s, const char *name, uid_t uid, gid_t gid, char *out, size_t len,
                    struct sbx_err **err)
{
    if (!sandbox_name_valid(name))
        return sbx_err_set(err, GBOX_EXIT_USAGE, 0,
                           "sandbox name \"%s\": expected letters, digits, _, . and - (at most 64, "
                           "starting with a letter or digit)", name);
    char rel[128];
    snprintf(rel, sizeof(rel), "state/%s", name);
    if (mkdirat(s->fd, rel, 0700) < 0 && errno != EEXIST)
        return sbx_err_set(err, STORE_ERR, errno, "create %s/%s", s->root, rel);
    _cleanup_close_ int fd = openat(s->fd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return sbx_err_set(err, STORE_ERR, errno, "open %s/%s", s->root, rel);
    static const char *const parts[] = {"upper", "work"};
    for (size_t i = 0; i < ARRAY_LEN(parts); i++) {
        struct stat st;
        if (mkdirat(fd, parts[i], 0755) < 0 && errno != EEXIST)
            return sbx_err_set(err, STORE_ERR, errno, "create %s/%s/%s", s->root, rel, parts[i]);
        if (fstatat(fd, parts[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode))
            return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0, "state directory %s/%s/%s: refused, it is %s", s->root,
                               rel, parts[i], S_ISLNK(st.st_mode) ? "a symlink" : "not a directory");
        /* the overlay is mounted by the sandbox's root (a mapped uid): it must own them */
        _cleanup_close_ int d = openat(fd, parts[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (d < 0 || fchown(d, uid, gid) < 0)
            return sbx_err_set(err, STORE_ERR, errno, "give %s/%s/%s to %u:%u", s->root, rel, parts[i],
                               (unsigned)uid, (unsigned)gid);
    }
    snprintf(out, len, "%s/%s", s->root, rel);
    return 0;
}
