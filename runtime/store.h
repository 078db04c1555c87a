/* store.h — the content-addressed image store (docs/images.md "Store layout").
 *
 *   ROOT/lock                 readers-writer flock: adding (build, import, a run registering
 *                             what it uses) takes it shared, removing (rm, gc) exclusive
 *   ROOT/images/HEX/          one image: manifest.json (canonical), info.json, rootfs/
 *   ROOT/tags/NAME/VERSION    "sha256:HEX": the image a name:version stands for
 *   ROOT/tmp/                 builds in progress (each flocked by its builder), removals
 *   ROOT/run/ID               one per running sandbox that uses store images, flocked by its
 *                             gbox for the run's lifetime: the images it uses
 *   ROOT/state/NAME/          a named sandbox's persistent upper layer (upper/, work/)
 */
#ifndef GBOX_STORE_H
#define GBOX_STORE_H

#include "manifest.h"
#include "tree.h"

#include <jansson.h>
#include <limits.h>

/* Owners are stored shifted by the sandbox's id map (tree.h): uid 0 of an image is this uid on
 * the host. Equal to GBOX_HOST_ID_BASE (plan.h; stack.c checks it at compile time). */
#define STORE_ID_SHIFT TREE_ID_BASE

struct store {
    char root[PATH_MAX]; /* canonical (realpath): nothing below it is a symlink gbox follows */
    int fd;
    int lock;
};

struct store_image {
    char digest[65]; /* hex */
    struct gbox_manifest *m;
    json_t *info;    /* info.json: created, source, files, bytes, ... */
    bool tagged;     /* name:version points at it */
    char rootfs[PATH_MAX];
};

struct store_list {
    struct store_image *v;
    size_t n, cap;
};

/* A registration of the images one run uses; held (flocked) until released. */
struct store_run {
    int fd;
    char path[PATH_MAX];
};

/* In-progress build or import: ROOT/tmp/build-XXXXXX, with the tree to fill at `rootfs`. */
struct store_tx {
    struct store *s;
    int fd;
    char dir[PATH_MAX];
    char rootfs[PATH_MAX];
};

/* $GBOX_STORE_DIR, else /var/lib/gbox. */
const char *store_default_dir(void);
/* Open the store at dir (NULL: the default). With create, make it (0700) when missing;
 * without, a missing store fails with errno ENOENT. */
int store_open(const char *dir, bool create, struct store **out, struct sbx_err **err);
void store_close(struct store *s);
/* Take (LOCK_SH / LOCK_EX) or drop (LOCK_UN) the store lock. */
int store_lock(struct store *s, int op, struct sbx_err **err);

/* Every image in the store, sorted by name, then version (highest first). */
int store_images(struct store *s, struct store_list *out, struct sbx_err **err);
void store_list_free(struct store_list *l);
/* Append the tagged images of one name (manifests only, no info): what resolution reads, so a
 * run reads the images it may need, not the whole store. */
int store_tagged(struct store *s, const char *name, struct store_list *out, struct sbx_err **err);
/* Append the image of digest HEX (64 hex digits), tagged or not (manifest only, no info; its
 * `tagged` is false): 0, or 1 when the store has no such image (or not one gbox wrote). */
int store_get(struct store *s, const char *hex, struct store_list *out, struct sbx_err **err);
/* REF: name:version, name (its highest tagged version), sha256:HEX or a unique HEX prefix. */
struct store_image *store_find(const struct store_list *l, const char *ref, struct sbx_err **err);

/* Builds: begin (a flocked temporary directory), fill tx->rootfs, commit (digest the tree as
 * stored, then rename it into images/ and tag it: a build interrupted at any point leaves only
 * a temporary directory that gc removes). */
int store_tx_begin(struct store *s, struct store_tx *tx, struct sbx_err **err);
int store_tx_commit(struct store_tx *tx, const struct gbox_manifest *m, const char *source,
                    char digest[65], struct sbx_err **err);
void store_tx_abort(struct store_tx *tx);
/* gbox image build DIR: DIR/module.json + DIR/rootfs/. */
int store_build(struct store *s, const char *dir, char digest[65], struct gbox_manifest **m,
                struct sbx_err **err);

/* Remove REF (name:version: that tag, and the image when no other tag points at it; a digest:
 * the image and its tags). Refused while a running sandbox uses the image. say() reports. */
int store_remove(struct store *s, const char *ref, void (*say)(const char *line), struct sbx_err **err);
/* Remove untagged images nobody uses, unfinished builds, dangling tags, stale run records. */
int store_gc(struct store *s, void (*say)(const char *line), struct sbx_err **err);

/* Running sandboxes that use digest (pids and names as JSON objects); call with the lock held
 * when the answer must stay true. */
json_t *store_users(struct store *s, const char *digest);
/* Record that this process runs a sandbox on these images (call with the lock held shared). */
int store_run_register(struct store *s, const char *const *digests, size_t n, const char *name,
                       struct store_run *run, struct sbx_err **err);
void store_run_release(struct store_run *run);

/* ROOT/state/NAME with upper/ and work/ owned by uid:gid (the sandbox's mapped root), created
 * on first use; its path into out. */
int store_state_dir(struct store *s, const char *name, uid_t uid, gid_t gid, char *out, size_t len,
                    struct sbx_err **err);
/* Sandbox names: [A-Za-z0-9][A-Za-z0-9_.-]{0,63}. */
bool sandbox_name_valid(const char *name);

#endif
