/* generation.c — a supervised sandbox's generations on disk: the record, sealing the upper layer
 * as a read-only state layer (one rename), dropping it, trimming old generations, and the
 * shim's side (--state-dir, --state-layer). The layout is in generation.h. */
#include "generation.h"

#include "plan.h"
#include "policy.h"
#include "tree.h"
#include "../sandbox/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void fsync_dir(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
}

int gen_write_json(const char *path, const json_t *v, struct sbx_err **err)
{
    char tmp[PATH_MAX], dir[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "create %s", tmp);
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    int rc = s && write_all(fd, s, strlen(s)) == 0 && write_all(fd, "\n", 1) == 0 && fsync(fd) == 0 ? 0 : -1;
    int e = errno;
    free(s);
    close(fd);
    if (rc < 0 || rename(tmp, path) < 0) {
        e = rc < 0 ? e : errno;
        unlink(tmp);
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, e, "write %s", path);
    }
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        fsync_dir(dir);
    }
    return 0;
}

json_t *gen_load(const char *dir, struct sbx_err **err)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/generations.json", dir);
    json_error_t je;
    json_t *g = json_load_file(p, 0, &je);
    if (!g) {
        int e = access(p, F_OK) < 0 ? ENOENT : EINVAL;
        sbx_err_set(err, GBOX_EXIT_LAUNCH, e, "%s: %s", p, e == ENOENT ? "no generations" : je.text);
        errno = e;
        return NULL;
    }
    if (!json_is_array(json_object_get(g, "generations")) || !json_is_integer(json_object_get(g, "current"))) {
        json_decref(g);
        sbx_err_set(err, GBOX_EXIT_LAUNCH, EINVAL, "%s: expected {\"current\": N, \"generations\": [...]}", p);
        errno = EINVAL;
        return NULL;
    }
    return g;
}

int gen_save(const char *dir, const json_t *g, struct sbx_err **err)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/generations.json", dir);
    return gen_write_json(p, g, err);
}

static int64_t wall_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

json_t *gen_new(json_t *modules, json_t *images, const char *policy_digest)
{
    json_t *g = json_pack("{s:i,s:i,s:i,s:[]}", "format", 1, "current", 0, "next_layer", 0, "generations");
    gen_append(g, modules, images, json_array(), policy_digest, "spawn", "verified");
    return g;
}

json_t *gen_find(const json_t *g, int gen)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(g, "generations"), i, e) if (json_integer_value(json_object_get(e, "gen")) == gen) return e;
    return NULL;
}

json_t *gen_current(const json_t *g)
{
    return gen_find(g, (int)json_integer_value(json_object_get(g, "current")));
}

int gen_append(json_t *g, json_t *modules, json_t *images, json_t *layers, const char *policy_digest,
               const char *reason, const char *status)
{
    json_t *arr = json_object_get(g, "generations");
    int last = 0;
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) if (json_integer_value(json_object_get(e, "gen")) > last) last =
        (int)json_integer_value(json_object_get(e, "gen"));
    int n = last + 1;
    json_array_append_new(arr, json_pack("{s:i,s:O,s:O,s:o,s:s,s:I,s:s,s:s}", "gen", n, "modules", modules, "images",
                                         images ? images : json_null(), "layers", layers, "policy_digest",
                                         policy_digest ? policy_digest : "", "time", (json_int_t)wall_now_ms(),
                                         "reason", reason, "status", status));
    json_object_set_new(g, "current", json_integer(n));
    return n;
}

void gen_next_layer(json_t *g, char *name, size_t len)
{
    json_int_t k = json_integer_value(json_object_get(g, "next_layer"));
    snprintf(name, len, "s%lld", (long long)k);
    json_object_set_new(g, "next_layer", json_integer(k + 1));
}

/* Rename DIR/REL aside into DIR/trash-RANDOM and remove it: gone at once, a crash midway leaves
 * only trash that the next call sweeps. */
static int remove_aside(const char *dir, const char *rel)
{
    _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return -1;
    uint32_t r = 0;
    if (getrandom(&r, sizeof(r), GRND_NONBLOCK) < 0)
        r = (uint32_t)getpid();
    char trash[64];
    snprintf(trash, sizeof(trash), "trash-%08x", r);
    if (renameat(dfd, rel, dfd, trash) < 0)
        return errno == ENOENT ? 0 : -1;
    fsync(dfd);
    return tree_remove_at(dfd, trash);
}

static void sweep_trash(const char *dir)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s", dir);
    _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return;
    DIR *d = fdopendir(dup(dfd));
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strncmp(de->d_name, "trash-", 6) == 0)
            tree_remove_at(dfd, de->d_name);
    closedir(d);
}

int gen_seal_upper(const char *dir, const char *name, struct sbx_err **err)
{
    char layers[PATH_MAX], upper[PATH_MAX], dst[PATH_MAX];
    snprintf(layers, sizeof(layers), "%s/layers", dir);
    snprintf(upper, sizeof(upper), "%s/state/upper", dir);
    snprintf(dst, sizeof(dst), "%s/%s", layers, name);
    if (mkdir(layers, 0700) < 0 && errno != EEXIST)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "create %s", layers);
    struct stat st;
    if (lstat(dst, &st) == 0) /* sealed already (a replayed step) */
        return gen_drop_upper(dir, err);
    if (lstat(upper, &st) < 0 && errno == ENOENT) { /* nothing written yet: an empty layer */
        if (mkdir(dst, 0755) < 0)
            return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "create %s", dst);
    } else if (rename(upper, dst) < 0) {
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "seal %s as %s", upper, dst);
    }
    fsync_dir(layers);
    return gen_drop_upper(dir, err);
}

int gen_drop_upper(const char *dir, struct sbx_err **err)
{
    sweep_trash(dir);
    if (remove_aside(dir, "state") < 0)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "remove %s/state", dir);
    return 0;
}

static bool layer_used(const json_t *g, const char *name)
{
    size_t i, k;
    json_t *e, *l;
    json_array_foreach(json_object_get(g, "generations"), i, e) json_array_foreach(json_object_get(e, "layers"), k, l)
    {
        if (strcmp(json_string_value(l), name) == 0)
            return true;
    }
    return false;
}

/* Remove the layers no generation of g uses (and anything half-built beside them). */
static void sweep_layers(const char *dir, const json_t *g)
{
    char ldir[PATH_MAX];
    snprintf(ldir, sizeof(ldir), "%s/layers", dir);
    DIR *d = opendir(ldir);
    if (!d)
        return;
    struct dirent *de;
    char gone[256][64];
    int n_gone = 0;
    while ((de = readdir(d)) && n_gone < 256)
        if (de->d_name[0] == 's' && !layer_used(g, de->d_name))
            snprintf(gone[n_gone++], sizeof(gone[0]), "%.63s", de->d_name);
    closedir(d);
    for (int i = 0; i < n_gone; i++)
        remove_aside(ldir, gone[i]);
}

int gen_compact(const char *dir, json_t *g, struct sbx_err **err)
{
    json_t *gens = json_object_get(g, "generations"), *e;
    size_t i, n = 0;
    json_t *first = json_object_get(json_array_get(gens, 0), "layers");
    n = json_array_size(first);
    json_array_foreach(gens, i, e)
    {
        json_t *l = json_object_get(e, "layers");
        size_t m = json_array_size(l), k = 0;
        while (k < n && k < m &&
               strcmp(json_string_value(json_array_get(first, json_array_size(first) - 1 - k)),
                      json_string_value(json_array_get(l, m - 1 - k))) == 0)
            k++;
        n = k;
    }
    if (n < 2)
        return 0;
    char name[32], ldir[PATH_MAX], tmp[PATH_MAX], src[PATH_MAX], dst[PATH_MAX];
    gen_next_layer(g, name, sizeof(name));
    snprintf(ldir, sizeof(ldir), "%s/layers", dir);
    snprintf(tmp, sizeof(tmp), "%s/%s.tmp", ldir, name);
    snprintf(dst, sizeof(dst), "%s/%s", ldir, name);
    _cleanup_close_ int lfd = open(ldir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (lfd < 0)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "open %s", ldir);
    char rel[64];
    snprintf(rel, sizeof(rel), "%s.tmp", name);
    /* left by a compaction a crash interrupted before its record: never recorded, so unused */
    if (tree_remove_at(lfd, rel) < 0 || tree_remove_at(lfd, name) < 0)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "remove the leftovers of %s", dst);
    size_t top = json_array_size(first) - n; /* index of the suffix's top layer in `first` */
    snprintf(src, sizeof(src), "%s/%s", ldir, json_string_value(json_array_get(first, top + n - 1)));
    int rc = tree_copy_state(src, tmp, err);
    for (size_t k = top + n - 1; rc == 0 && k-- > top;) {
        snprintf(src, sizeof(src), "%s/%s", ldir, json_string_value(json_array_get(first, k)));
        rc = tree_merge(src, tmp, err);
    }
    if (rc == 0 && rename(tmp, dst) < 0)
        rc = sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "rename %s to %s", tmp, dst);
    if (rc < 0) {
        tree_remove_at(lfd, rel);
        return sbx_err_wrap(err, "compact %zu state layers", n);
    }
    fsync(lfd);
    json_array_foreach(gens, i, e)
    {
        json_t *l = json_object_get(e, "layers");
        size_t m = json_array_size(l);
        json_t *nl = json_array();
        for (size_t k = 0; k < m - n; k++)
            json_array_append(nl, json_array_get(l, k));
        json_array_append_new(nl, json_string(name));
        json_object_set_new(e, "layers", nl);
    }
    /* the record's atomic replacement is the commit point: before it the old layers are in use
     * and the new one is an unused leftover; after it, the other way round */
    if (gen_save(dir, g, err) < 0)
        return -1;
    sweep_layers(dir, g);
    return (int)n;
}

int gen_trim(const char *dir, json_t *g, int keep)
{
    json_t *arr = json_object_get(g, "generations");
    json_int_t cur = json_integer_value(json_object_get(g, "current"));
    int dropped = 0;
    while ((int)json_array_size(arr) > keep) {
        size_t victim = 0; /* the oldest that is not current */
        if (json_integer_value(json_object_get(json_array_get(arr, 0), "gen")) == cur)
            victim = 1;
        if (victim >= json_array_size(arr))
            break;
        json_array_remove(arr, victim);
        dropped++;
    }
    sweep_layers(dir, g);
    return dropped;
}

json_t *gen_image_users(const char *state_dir, const char *hex)
{
    json_t *out = json_array();
    char p[PATH_MAX], want[80];
    snprintf(want, sizeof(want), "sha256:%s", hex);
    snprintf(p, sizeof(p), "%s/sandboxes", state_dir);
    DIR *d = opendir(p);
    if (!d)
        return out;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "%s/sandboxes/%s", state_dir, de->d_name);
        json_t *g = gen_load(p, NULL);
        if (!g)
            continue;
        snprintf(p, sizeof(p), "%s/sandboxes/%s/meta.json", state_dir, de->d_name);
        json_t *meta = json_load_file(p, 0, NULL);
        size_t i, k;
        json_t *e, *im;
        json_array_foreach(json_object_get(g, "generations"), i, e) json_array_foreach(json_object_get(e, "images"), k, im)
        {
            const char *dg = json_string_value(json_object_get(im, "digest"));
            if (dg && strcmp(dg, want) == 0) {
                json_array_append_new(out, json_pack("{s:s,s:s,s:I,s:b}", "id", de->d_name, "name",
                                                     json_string_value(json_object_get(meta, "name"))
                                                         ? json_string_value(json_object_get(meta, "name"))
                                                         : de->d_name,
                                                     "gen", json_integer_value(json_object_get(e, "gen")), "current",
                                                     json_equal(json_object_get(e, "gen"), json_object_get(g, "current"))));
                break;
            }
        }
        json_decref(meta);
        json_decref(g);
    }
    closedir(d);
    return out;
}

void gen_remove_all(const char *dir)
{
    static const char *const parts[] = {"state", "layers", "generations.json", "reload.json"};
    _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return;
    sweep_trash(dir);
    for (size_t i = 0; i < ARRAY_LEN(parts); i++)
        tree_remove_at(dfd, parts[i]);
}

void gen_policy_digest(const struct gbox_policy *p, char out[80])
{
    char *s = json_dumps(p->root, JSON_COMPACT | JSON_SORT_KEYS);
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)(s ? s : ""), s ? strlen(s) : 0, md);
    free(s);
    int k = snprintf(out, 80, "sha256:");
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        k += snprintf(out + k, 80 - (size_t)k, "%02x", md[i]);
}

/* ---- the shim's side --------------------------------------------------------------------------- */

static int state_upper(const struct gbox_policy *p, const char *dir, struct sbx_spec *s, struct sbx_err **err)
{
    char real[PATH_MAX];
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "--state-dir: create %s", dir);
    if (!realpath(dir, real))
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "--state-dir %s", dir);
    _cleanup_close_ int fd = open(real, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "--state-dir: open %s", real);
    /* the overlay is mounted by the sandbox's root: the mapped uid when there is a user namespace */
    uid_t owner = json_is_true(pol_get(p, "user.namespace")) ? GBOX_HOST_ID_BASE : 0;
    static const char *const parts[] = {"upper", "work"};
    for (size_t i = 0; i < ARRAY_LEN(parts); i++) {
        if (mkdirat(fd, parts[i], 0755) < 0 && errno != EEXIST)
            return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "--state-dir: create %s/%s", real, parts[i]);
        _cleanup_close_ int d = openat(fd, parts[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (d < 0 || fchown(d, owner, owner) < 0)
            return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "--state-dir: give %s/%s to %u", real, parts[i],
                               (unsigned)owner);
    }
    free(s->state_dir);
    s->state_dir = xstrdup(real);
    return 0;
}

int gen_state_plan(const struct gbox_policy *p, const struct run_request *rq, struct sbx_spec *s,
                   struct sbx_err **err)
{
    if (rq->name && rq->state_dir)
        return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "--name and --state-dir both name the upper layer: give one");
    if (rq->state_dir && state_upper(p, rq->state_dir, s, err) < 0)
        return -1;
    if (!rq->n_state_layers)
        return 0;
    size_t below = s->n_layers ? s->n_layers : 1;
    if (rq->n_state_layers + below > SBX_MAX_LAYERS)
        return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "%zu state layers over %zu image layers: overlayfs stacks at most %d",
                           rq->n_state_layers, below, SBX_MAX_LAYERS);
    char **v = xcalloc(rq->n_state_layers + below + 1, sizeof(char *));
    size_t n = 0;
    for (size_t i = 0; i < rq->n_state_layers; i++) {
        char real[PATH_MAX];
        struct stat st;
        if (!realpath(rq->state_layers[i], real) || stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
            for (size_t k = 0; k < n; k++)
                free(v[k]);
            free(v);
            return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno ? errno : ENOTDIR, "--state-layer %s: expected a directory",
                               rq->state_layers[i]);
        }
        v[n++] = xstrdup(real);
    }
    if (s->n_layers) {
        for (size_t i = 0; i < s->n_layers; i++)
            v[n++] = s->layers[i];
        free(s->layers);
    } else {
        v[n++] = s->rootfs;
        s->rootfs = NULL;
    }
    s->layers = v;
    s->n_layers = n;
    return 0;
}
