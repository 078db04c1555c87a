/* reload.c — the checks of a reload before anything changes, and its journal. */
#include "reload.h"

#include "generation.h"
#include "plan.h"
#include "policy.h"
#include "semver.h"
#include "stack.h"
#include "store.h"
#include "units.h"
#include "../sandbox/util.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *or_empty(const char *s) { return s ? s : ""; }

static void ref_name(const char *ref, char *name, size_t len)
{
    snprintf(name, len, "%s", ref);
    char *at = strchr(name, '@');
    if (at)
        *at = '\0';
}

static const json_t *image_named(const json_t *images, const char *name)
{
    size_t i;
    json_t *e;
    json_array_foreach(images, i, e)
    {
        const char *n = json_string_value(json_object_get(e, "name"));
        if (n && strcmp(n, name) == 0)
            return e;
    }
    return NULL;
}

static bool same_field(const json_t *a, const json_t *b, const char *key)
{
    const json_t *x = json_object_get(a, key), *y = json_object_get(b, key);
    return (!x && !y) || (x && y && json_equal(x, y));
}

/* The manifest of a stack entry: the store's canonical manifest.json, or the image directory's
 * module.json next to its rootfs; NULL when it cannot be read. */
static json_t *image_manifest(const json_t *img)
{
    char p[PATH_MAX];
    const char *digest = json_string_value(json_object_get(img, "digest"));
    const char *dir = json_string_value(json_object_get(img, "dir"));
    if (digest && strncmp(digest, "sha256:", 7) == 0) {
        struct store *st = NULL;
        struct sbx_err *err = NULL;
        if (store_open(NULL, false, &st, &err) < 0) {
            sbx_err_free(&err);
            return NULL;
        }
        snprintf(p, sizeof(p), "%s/images/%s/manifest.json", st->root, digest + 7);
        store_close(st);
    } else if (dir) {
        char d[PATH_MAX];
        snprintf(d, sizeof(d), "%s", dir);
        snprintf(p, sizeof(p), "%s/module.json", dirname(d));
    } else {
        return NULL;
    }
    return json_load_file(p, 0, NULL);
}

/* The manifest's "reload" of a stack entry. */
static const char *image_reload_mode(const json_t *img, char *buf, size_t len)
{
    json_t *m = image_manifest(img);
    const char *mode = json_string_value(json_object_get(m, "reload"));
    snprintf(buf, len, "%s", mode ? mode : "restart"); /* the schema's default */
    json_decref(m);
    return m ? buf : NULL;
}

static void human_size(int64_t b, char *out, size_t len)
{
    if (b >= (1LL << 30) && b % (1LL << 30) == 0)
        snprintf(out, len, "%lldG", (long long)(b >> 30));
    else if (b >= (1LL << 20) && b % (1LL << 20) == 0)
        snprintf(out, len, "%lldM", (long long)(b >> 20));
    else
        snprintf(out, len, "%lld bytes", (long long)b);
}

/* Every module of the new stack fits the policy's limits: requires_memory against
 * resources.memory.max, requires_pids against resources.pids.max (null: no limit). */
static int check_resources(const struct gbox_policy *p, const json_t *images, char *why, size_t len)
{
    int64_t mem_max = pol_size(p, "resources.memory.max");
    const json_t *pids = pol_get(p, "resources.pids.max");
    size_t i;
    json_t *e;
    json_array_foreach(images, i, e)
    {
        if (!json_object_get(e, "name"))
            continue; /* the bottom image directory: not a module */
        json_t *m = image_manifest(e);
        const char *name = or_empty(json_string_value(json_object_get(e, "name")));
        const char *ver = or_empty(json_string_value(json_object_get(e, "version")));
        const json_t *rm = json_object_get(m, "requires_memory"), *rp = json_object_get(m, "requires_pids");
        int64_t need = 0;
        char a[32], b[32];
        int rc = 0;
        if (rm && parse_size_json(rm, &need) < 0) {
            snprintf(why, len, "%s@%s: requires_memory in its manifest: expected a size, got %s", name, ver,
                     json_is_string(rm) ? json_string_value(rm) : "a non-size");
            rc = -1;
        } else if (rm && mem_max >= 0 && need > mem_max) {
            human_size(need, a, sizeof(a));
            human_size(mem_max, b, sizeof(b));
            snprintf(why, len, "%s@%s needs %s of memory (requires_memory in its manifest), more than the policy's "
                     "resources.memory.max of %s", name, ver, a, b);
            rc = -1;
        } else if (rp && json_is_integer(pids) && json_integer_value(rp) > json_integer_value(pids)) {
            snprintf(why, len, "%s@%s needs %lld processes (requires_pids in its manifest), more than the policy's "
                     "resources.pids.max of %lld", name, ver, (long long)json_integer_value(rp),
                     (long long)json_integer_value(pids));
            rc = -1;
        }
        json_decref(m);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* Resolve `modules` under the policy as the shim will (stack.c), without running anything. */
static int dry_resolve(struct gbox_policy *p, const json_t *modules, json_t **images, char *why, size_t len)
{
    size_t n = json_array_size(modules);
    const char **v = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        v[i] = json_string_value(json_array_get(modules, i));
    struct run_hold hold = {.run.fd = -1};
    struct run_request rq = {.modules = v, .n_modules = n, .in_image = true, .hold = &hold};
    struct sbx_spec spec;
    memset(&spec, 0, sizeof(spec));
    struct sbx_err *err = NULL;
    int rc = stack_plan(p, &rq, &spec, &hold, &err);
    if (rc < 0)
        snprintf(why, len, "the new module stack does not resolve in domain %s: %s", p->name,
                 err ? err->msg : "unknown error");
    else
        *images = json_incref(hold.images ? hold.images : json_array());
    sbx_err_free(&err);
    run_hold_release(&hold);
    sbx_spec_free(&spec);
    free(v);
    return rc;
}

/* Pin each requested name to the version chosen, so a rollback comes back to exactly it. */
static void pin(json_t *mods, const json_t *images)
{
    char name[128];
    size_t i;
    json_t *e;
    json_array_foreach(mods, i, e)
    {
        ref_name(json_string_value(e), name, sizeof(name));
        const json_t *img = image_named(images, name);
        if (img) {
            char pinned[256];
            snprintf(pinned, sizeof(pinned), "%s@=%s", name, json_string_value(json_object_get(img, "version")));
            json_array_set_new(mods, i, json_string(pinned));
        }
    }
}

int reload_resolve(const char *policy, const json_t *modules, struct reload_plan *out, char *why, size_t len)
{
    memset(out, 0, sizeof(*out));
    struct gbox_policy *p = NULL;
    struct sbx_err *err = NULL;
    if (policy_load(policy, &p, &err) < 0) {
        snprintf(why, len, "policy %s: %s", policy, err ? err->msg : "cannot be loaded");
        sbx_err_free(&err);
        return -1;
    }
    json_t *images = NULL;
    int rc = dry_resolve(p, modules, &images, why, len);
    policy_free(p);
    if (rc < 0)
        return -1;
    out->modules = json_deep_copy(modules);
    out->images = images;
    pin(out->modules, images);
    snprintf(out->mode, sizeof(out->mode), "restart");
    return 0;
}

int reload_plan(const char *policy, const json_t *cur_modules, const json_t *cur_images, const json_t *refs,
                size_t n_state_layers, struct reload_plan *out, char *why, size_t len)
{
    memset(out, 0, sizeof(*out));
    char name[128], other[128], buf[16];
    size_t i, k;
    json_t *e, *c;
    if (!json_is_array(refs) || json_array_size(refs) == 0) {
        snprintf(why, len, "reload: \"modules\": expected a non-empty array of NAME@VERSION strings");
        return -1;
    }
    json_t *mods = json_deep_copy(json_is_array(cur_modules) ? cur_modules : json_array());
    json_array_foreach(refs, i, e)
    {
        struct semver_range r;
        const char *ref = json_string_value(e);
        if (!ref || module_ref_parse(ref, name, sizeof(name), &r) < 0) {
            snprintf(why, len, "reload: \"modules[%zu]\": expected NAME@VERSION or NAME@RANGE, got %s", i,
                     ref ? ref : "a non-string");
            json_decref(mods);
            return -1;
        }
        bool replaced = false;
        json_array_foreach(mods, k, c)
        {
            ref_name(json_string_value(c), other, sizeof(other));
            if (strcmp(other, name) == 0) {
                json_array_set_new(mods, k, json_string(ref));
                replaced = true;
            }
        }
        if (!replaced)
            json_array_append_new(mods, json_string(ref));
    }
    struct gbox_policy *p = NULL;
    struct sbx_err *err = NULL;
    if (policy_load(policy, &p, &err) < 0) {
        snprintf(why, len, "policy %s: %s", policy, err ? err->msg : "cannot be loaded");
        sbx_err_free(&err);
        json_decref(mods);
        return -1;
    }
    json_t *images = NULL;
    int rc = dry_resolve(p, mods, &images, why, len);
    size_t root_layers = 0;
    json_array_foreach(images, i, e) root_layers += strcmp(json_string_value(json_object_get(e, "mount_point")), "/") == 0;
    if (rc == 0 && root_layers + n_state_layers > 500) {
        snprintf(why, len, "the new stack has %zu layers at \"/\" and %zu state layers: overlayfs stacks at most 500 "
                 "(lower modules.reload.keep_generations)", root_layers, n_state_layers);
        rc = -1;
    }
    if (rc == 0)
        rc = check_resources(p, images, why, len);
    policy_free(p);
    /* the modules asked for: their manifests' reload modes, old and new; something must change */
    bool any = false;
    snprintf(out->mode, sizeof(out->mode), "swap");
    json_array_foreach(refs, i, e)
    {
        if (rc < 0)
            break;
        ref_name(json_string_value(e), name, sizeof(name));
        const json_t *now = image_named(images, name), *before = image_named(cur_images, name);
        const char *vnow = json_string_value(json_object_get(now, "version"));
        for (int side = 0; side < 2 && rc == 0; side++) {
            const json_t *img = side ? before : now;
            if (!img)
                continue;
            const char *mode = image_reload_mode(img, buf, sizeof(buf));
            if (!mode) {
                snprintf(why, len, "%s@%s: its manifest cannot be read", name,
                         json_string_value(json_object_get(img, "version")));
                rc = -1;
            } else if (strcmp(mode, "never") == 0) {
                snprintf(why, len, "%s@%s says \"reload\": \"never\" in its manifest: stop the sandbox and spawn it "
                         "again with the new version", name, json_string_value(json_object_get(img, "version")));
                rc = -1;
            } else if (strcmp(mode, "restart") == 0) {
                snprintf(out->mode, sizeof(out->mode), "restart");
            }
        }
        if (rc < 0)
            break;
        bool same = before && same_field(before, now, "digest") && same_field(before, now, "dir") &&
                    same_field(before, now, "version");
        if (!same) {
            any = true;
            size_t l = strlen(out->changed);
            snprintf(out->changed + l, sizeof(out->changed) - l, "%s%s %s -> %s", l ? ", " : "", name,
                     before ? json_string_value(json_object_get(before, "version")) : "(none)", vnow ? vnow : "?");
        }
    }
    if (rc == 0 && !any) {
        snprintf(why, len, "nothing to reload: %s already runs the stack asked for", json_string_value(json_array_get(refs, 0)));
        rc = -1;
    }
    if (rc < 0) {
        json_decref(mods);
        json_decref(images);
        return -1;
    }
    pin(mods, images);
    out->modules = mods;
    out->images = images;
    return 0;
}

void reload_plan_free(struct reload_plan *p)
{
    json_decref(p->modules);
    json_decref(p->images);
    memset(p, 0, sizeof(*p));
}

/* The layers of one mount point, top first, as identities: "name version digest|dir". */
static json_t *mp_stack(const json_t *images, const char *mp)
{
    json_t *v = json_array(), *e;
    size_t i;
    json_array_foreach(images, i, e)
    {
        const char *m = json_string_value(json_object_get(e, "mount_point"));
        if (!m || strcmp(m, mp) != 0)
            continue;
        char id[PATH_MAX + 256];
        snprintf(id, sizeof(id), "%s %s %s", or_empty(json_string_value(json_object_get(e, "name"))),
                 or_empty(json_string_value(json_object_get(e, "version"))),
                 json_string_value(json_object_get(e, "digest")) ? json_string_value(json_object_get(e, "digest"))
                                                                 : or_empty(json_string_value(json_object_get(e, "dir"))));
        json_array_append_new(v, json_string(id));
    }
    return v;
}

static int layer_dirs(const json_t *images, const char *mp, const char *store_root, json_t *dirs, char *why, size_t len)
{
    json_t *e;
    size_t i;
    json_array_foreach(images, i, e)
    {
        const char *m = json_string_value(json_object_get(e, "mount_point"));
        if (!m || strcmp(m, mp) != 0)
            continue;
        const char *digest = json_string_value(json_object_get(e, "digest"));
        const char *dir = json_string_value(json_object_get(e, "dir"));
        char p[PATH_MAX];
        if (digest && strncmp(digest, "sha256:", 7) == 0 && store_root)
            snprintf(p, sizeof(p), "%s/images/%s/rootfs", store_root, digest + 7);
        else if (dir)
            snprintf(p, sizeof(p), "%s", dir);
        else {
            snprintf(why, len, "%s@%s: not in the image store", or_empty(json_string_value(json_object_get(e, "name"))),
                     or_empty(json_string_value(json_object_get(e, "version"))));
            return -1;
        }
        if (access(p, R_OK | X_OK) < 0) {
            snprintf(why, len, "%s@%s: its tree %s is gone (%s)", or_empty(json_string_value(json_object_get(e, "name"))),
                     or_empty(json_string_value(json_object_get(e, "version"))), p, strerror(errno));
            return -1;
        }
        json_array_append_new(dirs, json_string(p));
    }
    return 0;
}

int reload_swap_mounts(const json_t *cur, const json_t *next, json_t **out, char *why, size_t len)
{
    *out = NULL;
    json_t *mps = json_object(), *e;
    size_t i;
    for (int side = 0; side < 2; side++)
        json_array_foreach(side ? next : cur, i, e)
        {
            const char *m = json_string_value(json_object_get(e, "mount_point"));
            json_object_set_new(mps, m ? m : "/", json_true());
        }
    struct store *st = NULL;
    struct sbx_err *err = NULL;
    if (store_open(NULL, false, &st, &err) < 0)
        sbx_err_free(&err);
    json_t *res = json_object();
    const char *mp;
    json_t *v;
    int rc = 0;
    json_object_foreach(mps, mp, v)
    {
        json_t *a = mp_stack(cur, mp), *b = mp_stack(next, mp);
        bool same = json_equal(a, b);
        json_decref(a);
        json_decref(b);
        if (same)
            continue;
        if (strcmp(mp, "/") == 0) {
            snprintf(why, len, "a module at mount point \"/\" changes with them (the root overlay cannot be "
                     "swapped under a running program)");
            rc = -1;
            break;
        }
        json_t *dirs = json_array();
        if (layer_dirs(next, mp, st ? st->root : NULL, dirs, why, len) < 0) {
            json_decref(dirs);
            rc = -1;
            break;
        }
        if (json_array_size(dirs) == 0) {
            snprintf(why, len, "no module is left at mount point %s (a mount point cannot be removed live)", mp);
            json_decref(dirs);
            rc = -1;
            break;
        }
        json_object_set_new(res, mp, dirs);
    }
    if (st)
        store_close(st);
    json_decref(mps);
    if (rc < 0) {
        json_decref(res);
        return -1;
    }
    *out = res;
    return 0;
}

json_t *reload_journal_load(const char *dir)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/reload.json", dir);
    return json_load_file(p, 0, NULL);
}

int reload_journal_save(const char *dir, const json_t *j)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/reload.json", dir);
    struct sbx_err *err = NULL;
    int rc = gen_write_json(p, j, &err);
    sbx_err_free(&err);
    return rc;
}

void reload_journal_remove(const char *dir)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/reload.json", dir);
    unlink(p);
    char d[PATH_MAX];
    snprintf(d, sizeof(d), "%s", dir);
    int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}
