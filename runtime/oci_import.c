/* oci_import.c — unpack an OCI image layout into the store, one module image per layer.
 *
 * Every blob is hashed before it is used and refused unless it matches its descriptor. Each layer
 * is unpacked into a store build directory the way overlay-based container storage does it: the
 * layer's own files only, whiteouts kept in overlayfs form so the stacked layers give the image's
 * view (a ".wh.NAME" entry becomes a 0/0 character device NAME, ".wh..wh..opq" marks its
 * directory opaque with TREE_OPAQUE_XATTR). Entries are created through openat2(RESOLVE_IN_ROOT)
 * on the layer's root, with O_EXCL|O_NOFOLLOW for the last component: a tar entry with "..", an
 * absolute path or a path through a symlink can only land inside the layer. Device nodes are
 * skipped (the sandbox gets its own /dev), owners are shifted like every stored image. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "oci_import.h"

#include "tree.h"
#include "../sandbox/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#define MAX_JSON_BLOB (4 << 20)
#define IMPORT_ERR 1

/* ---- blobs ---------------------------------------------------------------------------------- */

struct blob {
    int fd;
    SHA256_CTX sha;
    uint64_t size;
    unsigned char buf[128 * 1024];
};

/* "sha256:HEX" -> DIR/blobs/sha256/HEX opened, or -1 with err. */
static int blob_open(const char *dir, const json_t *desc, char hex[65], uint64_t *size, struct sbx_err **err)
{
    const char *d = json_string_value(json_object_get(desc, "digest"));
    const json_t *sz = json_object_get(desc, "size");
    if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 71 || strspn(d + 7, "0123456789abcdef") != 64 ||
        !json_is_integer(sz) || json_integer_value(sz) < 0)
        return sbx_err_set(err, IMPORT_ERR, 0, "%s: a descriptor without a sha256 digest and a size", dir);
    snprintf(hex, 65, "%s", d + 7);
    *size = (uint64_t)json_integer_value(sz);
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/blobs/sha256/%s", dir, hex);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sbx_err_set(err, IMPORT_ERR, errno, "blob %s", path);
    return fd;
}

static int blob_check(const struct blob *b, const char *hex, uint64_t size, const char *what, struct sbx_err **err)
{
    SHA256_CTX c = b->sha;
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256_Final(md, &c);
    char got[65];
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(got + 2 * i, 3, "%02x", md[i]);
    if (strcmp(got, hex) != 0 || b->size != size)
        return sbx_err_set(err, IMPORT_ERR, 0, "%s sha256:%.12s: content does not match its descriptor "
                           "(sha256:%.12s, %llu bytes; expected %llu bytes)", what, hex, got,
                           (unsigned long long)b->size, (unsigned long long)size);
    return 0;
}

/* A small JSON blob, verified. */
static json_t *blob_json(const char *dir, const json_t *desc, const char *what, struct sbx_err **err)
{
    char hex[65];
    uint64_t size;
    int fd = blob_open(dir, desc, hex, &size, err);
    if (fd < 0)
        return NULL;
    if (size > MAX_JSON_BLOB) {
        close(fd);
        sbx_err_set(err, IMPORT_ERR, 0, "%s sha256:%.12s: %llu bytes is too large", what, hex, (unsigned long long)size);
        return NULL;
    }
    struct blob *b = xcalloc(1, sizeof(*b));
    char *text = xcalloc(size + 1, 1);
    SHA256_Init(&b->sha);
    ssize_t n = 0;
    while (b->size < size && (n = TEMP_RETRY(read(fd, text + b->size, size - b->size))) > 0)
        b->size += (uint64_t)n;
    SHA256_Update(&b->sha, text, b->size);
    if (n > 0 && TEMP_RETRY(read(fd, b->buf, 1)) > 0)
        b->size++; /* longer than its descriptor says */
    close(fd);
    json_t *doc = NULL;
    if (blob_check(b, hex, size, what, err) == 0) {
        json_error_t je;
        doc = json_loads(text, 0, &je);
        if (!doc || !json_is_object(doc)) {
            json_decref(doc);
            doc = NULL;
            sbx_err_set(err, IMPORT_ERR, 0, "%s sha256:%.12s: not a JSON object (%s)", what, hex, je.text);
        }
    }
    free(text);
    free(b);
    return doc;
}

/* ---- finding the image ---------------------------------------------------------------------- */

static const char *ref_name(const json_t *desc)
{
    return json_string_value(json_object_get(json_object_get(desc, "annotations"), "org.opencontainers.image.ref.name"));
}

/* From an index (index.json or a nested image index): the image manifest to import. */
static json_t *pick_manifest(const char *dir, const json_t *index, const char *ref, int depth, struct sbx_err **err)
{
    const json_t *ms = json_object_get(index, "manifests"), *m, *pick = NULL;
    size_t i;
    if (!json_is_array(ms) || json_array_size(ms) == 0) {
        sbx_err_set(err, IMPORT_ERR, 0, "%s: the index lists no manifests", dir);
        return NULL;
    }
    json_array_foreach(ms, i, m)
    {
        const json_t *plat = json_object_get(m, "platform");
        const char *os = json_string_value(json_object_get(plat, "os"));
        const char *arch = json_string_value(json_object_get(plat, "architecture"));
        if (plat && ((os && strcmp(os, "linux") != 0) || (arch && strcmp(arch, "amd64") != 0)))
            continue;
        if (ref && depth == 0 && (!ref_name(m) || strcmp(ref_name(m), ref) != 0))
            continue;
        if (pick && depth == 0) {
            sbx_err_set(err, GBOX_EXIT_USAGE, 0, "%s holds several images (%s, %s, ...): choose one with --ref NAME",
                        dir, ref_name(pick) ? ref_name(pick) : "(unnamed)", ref_name(m) ? ref_name(m) : "(unnamed)");
            return NULL;
        }
        if (!pick)
            pick = m;
    }
    if (!pick) {
        sbx_err_set(err, GBOX_EXIT_USAGE, 0, "%s: no image %s%s%sfor linux/amd64", dir, ref ? "named \"" : "",
                    ref ? ref : "", ref ? "\" " : "");
        return NULL;
    }
    const char *mt = json_string_value(json_object_get(pick, "mediaType"));
    json_t *doc = blob_json(dir, pick, "manifest", err);
    if (!doc)
        return NULL;
    const char *dmt = json_string_value(json_object_get(doc, "mediaType"));
    bool is_index = (mt && strstr(mt, "index")) || (dmt && strstr(dmt, "index")) ||
                    (mt && strstr(mt, "manifest.list")) || json_object_get(doc, "manifests");
    if (is_index) {
        json_t *inner = depth < 2 ? pick_manifest(dir, doc, ref, depth + 1, err) : NULL;
        if (depth >= 2)
            sbx_err_set(err, IMPORT_ERR, 0, "%s: image indexes nested too deep", dir);
        json_decref(doc);
        return inner;
    }
    return doc;
}

/* ---- unpacking one layer -------------------------------------------------------------------- */

struct layer {
    int root;           /* the layer's root directory */
    struct blob *blob;
    struct archive *a;
    struct sbx_err **err;
    unsigned long devices, owners_clamped;
    const char *what;   /* "layer 2" */
};

static ssize_t read_cb(struct archive *a, void *ctx, const void **buf)
{
    struct layer *l = ctx;
    ssize_t n = TEMP_RETRY(read(l->blob->fd, l->blob->buf, sizeof(l->blob->buf)));
    if (n < 0) {
        archive_set_error(a, errno, "read layer blob");
        return -1;
    }
    *buf = l->blob->buf;
    return n;
}

/* Hash the whole blob first: nothing unverified reaches the tar and decompression code. */
static int blob_verify(struct blob *b, const char *hex, uint64_t size, const char *what, struct sbx_err **err)
{
    SHA256_Init(&b->sha);
    b->size = 0;
    ssize_t n;
    while ((n = TEMP_RETRY(read(b->fd, b->buf, sizeof(b->buf)))) > 0) {
        SHA256_Update(&b->sha, b->buf, (size_t)n);
        b->size += (uint64_t)n;
    }
    if (n < 0)
        return sbx_err_set(err, IMPORT_ERR, errno, "%s: read blob sha256:%.12s", what, hex);
    if (blob_check(b, hex, size, what, err) < 0)
        return -1;
    if (lseek(b->fd, 0, SEEK_SET) < 0)
        return sbx_err_set(err, IMPORT_ERR, errno, "%s: rewind blob", what);
    return 0;
}

static int open_in_root(int root, const char *path, int flags, uint64_t resolve)
{
    struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .resolve = RESOLVE_IN_ROOT | resolve};
    return openat2_retry(root, *path ? path : ".", &how);
}

/* Clean an entry's path: no leading "/" or "./", no "//", no trailing "/"; ".." is refused. */
static int clean_path(const char *in, char *out, size_t len)
{
    size_t n = 0;
    const char *p = in;
    while (*p) {
        while (*p == '/')
            p++;
        const char *e = p;
        while (*e && *e != '/')
            e++;
        size_t l = (size_t)(e - p);
        if (l == 2 && p[0] == '.' && p[1] == '.')
            return -1;
        if (l && !(l == 1 && p[0] == '.')) {
            if (n + l + 2 > len)
                return -1;
            if (n)
                out[n++] = '/';
            memcpy(out + n, p, l);
            n += l;
        }
        p = e;
    }
    out[n] = '\0';
    return 0;
}

/* The directory an entry goes in, created (0755, owned by the sandbox's root) when missing. */
static int parent_dir(struct layer *l, const char *parent)
{
    int fd = open_in_root(l->root, parent, O_RDONLY | O_DIRECTORY, RESOLVE_NO_MAGICLINKS);
    if (fd >= 0 || errno != ENOENT)
        return fd;
    char up[PATH_MAX];
    snprintf(up, sizeof(up), "%s", parent);
    char *slash = strrchr(up, '/');
    const char *base = slash ? slash + 1 : up;
    if (slash)
        *slash = '\0';
    int pfd = parent_dir(l, slash ? up : "");
    if (pfd < 0)
        return -1;
    if (mkdirat(pfd, base, 0755) < 0 && errno != EEXIST) {
        close(pfd);
        return -1;
    }
    int rc = fchownat(pfd, base, STORE_ID_SHIFT, STORE_ID_SHIFT, AT_SYMLINK_NOFOLLOW);
    close(pfd);
    if (rc < 0)
        return -1;
    return open_in_root(l->root, parent, O_RDONLY | O_DIRECTORY, RESOLVE_NO_MAGICLINKS);
}

static unsigned shift_id(struct layer *l, la_int64_t id)
{
    if (id < 0 || id >= (la_int64_t)TREE_ID_COUNT) {
        l->owners_clamped++;
        id = 65534;
    }
    return (unsigned)id + STORE_ID_SHIFT;
}

static int write_data(struct layer *l, int fd, la_int64_t size)
{
    const void *buf;
    size_t len;
    la_int64_t off;
    int r;
    while ((r = archive_read_data_block(l->a, &buf, &len, &off)) == ARCHIVE_OK) {
        for (size_t done = 0; done < len;) {
            ssize_t n = TEMP_RETRY(pwrite(fd, (const char *)buf + done, len - done, off + (off_t)done));
            if (n < 0)
                return -1;
            done += (size_t)n;
        }
    }
    if (r != ARCHIVE_EOF) {
        errno = archive_errno(l->a) > 0 ? archive_errno(l->a) : EIO;
        return -1;
    }
    /* a sparse file may end in a hole */
    return ftruncate(fd, (off_t)size);
}

static int set_meta(struct layer *l, int dfd, const char *name, struct archive_entry *e, bool link)
{
    unsigned uid = shift_id(l, archive_entry_uid(e)), gid = shift_id(l, archive_entry_gid(e));
    if (fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
        return -1;
    if (!link && fchmodat(dfd, name, archive_entry_perm(e) & 07777, 0) < 0)
        return -1;
    struct timespec ts[2] = {{archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
                             {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
    utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW);
    return 0;
}

/* Make room for an entry: anything already there goes, unless both are directories. */
static int clear_for(int dfd, const char *name, bool dir)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -1;
    if (dir && S_ISDIR(st.st_mode))
        return 1;
    return tree_remove_at(dfd, name);
}

static int apply_entry(struct layer *l, struct archive_entry *e)
{
    char path[PATH_MAX], parent[PATH_MAX];
    if (clean_path(archive_entry_pathname(e), path, sizeof(path)) < 0)
        return sbx_err_set(l->err, IMPORT_ERR, 0, "%s: entry \"%s\" leaves the layer (..)", l->what,
                           archive_entry_pathname(e));
    if (!path[0]) { /* "./": the layer's root itself */
        struct stat st;
        return fstat(l->root, &st) == 0 && archive_entry_filetype(e) == AE_IFDIR ? set_meta(l, l->root, ".", e, false) : 0;
    }
    snprintf(parent, sizeof(parent), "%s", path);
    char *slash = strrchr(parent, '/');
    const char *base = slash ? path + (slash - parent) + 1 : path;
    if (slash)
        *slash = '\0';
    else
        parent[0] = '\0';
    _cleanup_close_ int dfd = parent_dir(l, parent);
    if (dfd < 0)
        return sbx_err_set(l->err, IMPORT_ERR, errno, "%s: directory of %s", l->what, path);
    if (strcmp(base, ".wh..wh..opq") == 0) {
        if (fsetxattr(dfd, TREE_OPAQUE_XATTR, "y", 1, 0) < 0)
            return sbx_err_set(l->err, IMPORT_ERR, errno, "%s: mark %s opaque", l->what, parent[0] ? parent : "/");
        return 0;
    }
    if (strncmp(base, ".wh.", 4) == 0) {
        const char *hidden = base + 4;
        if (clear_for(dfd, hidden, false) < 0 || mknodat(dfd, hidden, S_IFCHR | 0600, makedev(0, 0)) < 0 ||
            fchownat(dfd, hidden, STORE_ID_SHIFT, STORE_ID_SHIFT, AT_SYMLINK_NOFOLLOW) < 0)
            return sbx_err_set(l->err, IMPORT_ERR, errno, "%s: whiteout for %s%s%s", l->what, parent,
                               parent[0] ? "/" : "", hidden);
        return 0;
    }
    const char *hard = archive_entry_hardlink(e);
    mode_t type = archive_entry_filetype(e);
    int c = clear_for(dfd, base, type == AE_IFDIR && !hard);
    if (c < 0)
        return sbx_err_set(l->err, IMPORT_ERR, errno, "%s: replace %s", l->what, path);
    if (hard) {
        char target[PATH_MAX];
        if (clean_path(hard, target, sizeof(target)) < 0)
            return sbx_err_set(l->err, IMPORT_ERR, 0, "%s: hard link %s -> %s leaves the layer", l->what, path, hard);
        _cleanup_close_ int t = open_in_root(l->root, target, O_PATH | O_NOFOLLOW, RESOLVE_NO_MAGICLINKS);
        if (t < 0 || linkat(t, "", dfd, base, AT_EMPTY_PATH) < 0)
            return sbx_err_set(l->err, IMPORT_ERR, errno, "%s: hard link %s -> %s (the target must be in the "
                               "same layer)", l->what, path, target);
        return 0;
    }
    int rc = 0;
    switch (type) {
    case AE_IFDIR:
        rc = c == 1 ? 0 : mkdirat(dfd, base, 0700);
        break;
    case AE_IFREG: {
        _cleanup_close_ int fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 || write_data(l, fd, archive_entry_size(e)) < 0)
            return sbx_err_set(l->err, IMPORT_ERR, errno, "%s: write %s", l->what, path);
        break;
    }
    case AE_IFLNK:
        rc = symlinkat(archive_entry_symlink(e) ? archive_entry_symlink(e) : "", dfd, base);
        break;
    case AE_IFIFO:
        rc = mkfifoat(dfd, base, 0600);
        break;
    case AE_IFCHR:
    case AE_IFBLK:
        l->devices++;
        return 0;
    default:
        return 0; /* sockets: nothing to keep */
    }
    if (rc < 0 || set_meta(l, dfd, base, e, type == AE_IFLNK) < 0)
        return sbx_err_set(l->err, IMPORT_ERR, errno, "%s: create %s", l->what, path);
    return 0;
}

static int unpack_layer(const char *dir, const json_t *desc, const char *rootfs, const char *what,
                        struct layer *l, struct sbx_err **err)
{
    const char *mt = json_string_value(json_object_get(desc, "mediaType"));
    if (mt && !strstr(mt, "layer") && !strstr(mt, "rootfs.diff"))
        return sbx_err_set(err, IMPORT_ERR, 0, "%s: media type %s is not an image layer", what, mt);
    if (mt && strstr(mt, "nondistributable") == NULL && strstr(mt, "+encrypted"))
        return sbx_err_set(err, IMPORT_ERR, 0, "%s: encrypted layers are not supported", what);
    char hex[65];
    uint64_t size;
    struct blob *b = xcalloc(1, sizeof(*b));
    b->fd = blob_open(dir, desc, hex, &size, err);
    if (b->fd < 0) {
        free(b);
        return -1;
    }
    int rc = -1;
    memset(l, 0, sizeof(*l));
    l->blob = b, l->err = err, l->what = what, l->root = -1;
    if (blob_verify(b, hex, size, what, err) < 0)
        goto out;
    if (mkdir(rootfs, 0755) < 0 || chown(rootfs, STORE_ID_SHIFT, STORE_ID_SHIFT) < 0) {
        sbx_err_set(err, IMPORT_ERR, errno, "create %s", rootfs);
        goto out;
    }
    l->root = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    l->a = archive_read_new();
    archive_read_support_format_tar(l->a);
    archive_read_support_filter_gzip(l->a);
    archive_read_support_filter_zstd(l->a);
    archive_read_support_filter_xz(l->a);
    archive_read_support_filter_bzip2(l->a);
    if (l->root < 0 || archive_read_open(l->a, l, NULL, read_cb, NULL) != ARCHIVE_OK) {
        sbx_err_set(err, IMPORT_ERR, 0, "%s: %s", what, l->root < 0 ? "open" : archive_error_string(l->a));
        goto out;
    }
    struct archive_entry *e;
    int r;
    while ((r = archive_read_next_header(l->a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN)
        if (apply_entry(l, e) < 0)
            goto out;
    if (r != ARCHIVE_EOF) {
        sbx_err_set(err, IMPORT_ERR, 0, "%s: %s", what, archive_error_string(l->a));
        goto out;
    }
    rc = 0;
out:
    if (l->a)
        archive_read_free(l->a);
    if (l->root >= 0)
        close(l->root);
    close(b->fd);
    free(b);
    return rc;
}

/* ---- the import ----------------------------------------------------------------------------- */

static int check_layout(const char *dir, struct sbx_err **err)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/oci-layout", dir);
    json_t *lay = json_load_file(p, 0, NULL);
    const char *v = json_string_value(json_object_get(lay, "imageLayoutVersion"));
    int rc = v && strncmp(v, "1.", 2) == 0 ? 0
             : sbx_err_set(err, GBOX_EXIT_USAGE, 0, "%s: not an OCI image layout (no oci-layout file with "
                           "imageLayoutVersion 1.x)", dir);
    json_decref(lay);
    return rc;
}

static json_t *layer_manifest(const struct oci_import_opts *o, size_t i, size_t n, const char *image_digest)
{
    char name[80], prev[80], desc[200];
    if (i + 1 == n)
        snprintf(name, sizeof(name), "%s", o->name);
    else
        snprintf(name, sizeof(name), "%s-layer%zu", o->name, i);
    snprintf(prev, sizeof(prev), "%s-layer%zu", o->name, i - 1);
    snprintf(desc, sizeof(desc), "layer %zu of %zu of OCI image sha256:%.12s", i + 1, n, image_digest);
    json_t *deps = json_array();
    if (i > 0) {
        char exact[SEMVER_MAX_TEXT + 2];
        snprintf(exact, sizeof(exact), "=%s", o->version);
        json_array_append_new(deps, json_pack("{s:s, s:s}", "name", prev, "version", exact));
    }
    return json_pack("{s:s, s:s, s:s, s:o, s:s}", "name", name, "version", o->version, "description", desc,
                     "depends", deps, "set", module_set_name(o->set));
}

int oci_import(struct store *s, const char *dir, const struct oci_import_opts *o,
               void (*say)(const char *line), struct sbx_err **err)
{
    if (!module_name_valid(o->name) || strlen(o->name) > 52)
        return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "--name %s: expected a module name ([a-z][a-z0-9_-]*, at most "
                           "52 characters to leave room for -layerN)", o->name);
    struct semver v;
    if (semver_parse(o->version, &v) < 0)
        return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "--version %s: expected a version like \"1.2.3\"", o->version);
    if (check_layout(dir, err) < 0)
        return -1;
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/index.json", dir);
    json_error_t je;
    json_t *index = json_load_file(p, 0, &je);
    if (!index)
        return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "%s:%d:%d: %s", p, je.line, je.column, je.text);
    json_t *man = pick_manifest(dir, index, o->ref, 0, err);
    json_decref(index);
    if (!man)
        return -1;
    int rc = -1;
    const json_t *layers = json_object_get(man, "layers"), *ld;
    json_t *config = json_object_get(man, "config") ? blob_json(dir, json_object_get(man, "config"), "config", err) : NULL;
    if (!config)
        goto out;
    const char *cfg_digest = json_string_value(json_object_get(json_object_get(man, "config"), "digest"));
    size_t n = json_array_size(layers), i;
    if (n == 0 || n > SBX_MAX_LAYERS) {
        sbx_err_set(err, IMPORT_ERR, 0, "%s: %zu layers (1 to %d can be stacked)", dir, n, SBX_MAX_LAYERS);
        goto out;
    }
    /* every layer verified before any is stored: a bad blob imports nothing */
    json_array_foreach(layers, i, ld)
    {
        char what[64], hex[65];
        uint64_t size;
        snprintf(what, sizeof(what), "layer %zu", i);
        struct blob *b = xcalloc(1, sizeof(*b));
        b->fd = blob_open(dir, ld, hex, &size, err);
        int r = b->fd < 0 ? -1 : blob_verify(b, hex, size, what, err);
        if (b->fd >= 0)
            close(b->fd);
        free(b);
        if (r < 0)
            goto out;
    }
    json_array_foreach(layers, i, ld)
    {
        char what[64], digest[65];
        snprintf(what, sizeof(what), "layer %zu", i);
        json_t *mdoc = layer_manifest(o, i, n, cfg_digest + 7);
        struct gbox_manifest *m = NULL;
        int r = manifest_from_json(mdoc, "imported manifest", &m, err);
        json_decref(mdoc);
        if (r < 0)
            goto out;
        struct store_tx tx;
        struct layer l;
        if (store_tx_begin(s, &tx, err) < 0) {
            manifest_free(m);
            goto out;
        }
        char source[PATH_MAX + 80];
        snprintf(source, sizeof(source), "oci:%s %s", dir, json_string_value(json_object_get(ld, "digest")));
        if (unpack_layer(dir, ld, tx.rootfs, what, &l, err) < 0 || store_tx_commit(&tx, m, source, digest, err) < 0) {
            store_tx_abort(&tx);
            manifest_free(m);
            goto out;
        }
        store_tx_abort(&tx);
        char line[300];
        snprintf(line, sizeof(line), "%s:%s sha256:%s%s", m->name, m->version_text, digest,
                 l.devices ? " (device nodes skipped)" : "");
        if (say)
            say(line);
        if (l.owners_clamped && say) {
            snprintf(line, sizeof(line), "  %lu owners outside 0-65535 became 65534", l.owners_clamped);
            say(line);
        }
        manifest_free(m);
    }
    rc = 0;
out:
    json_decref(config);
    json_decref(man);
    return rc;
}
