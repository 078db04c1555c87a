/* stack.c — choose the root filesystem of a run (docs/images.md "How a run gets its root").
 *
 * Fast path, unchanged from before modules: no module asked for (no --module, an empty
 * modules.load) and the root image is an absolute directory or a directory of the image
 * directory: spec->rootfs, and the store is not even opened.
 *
 * Otherwise the catalog is every tagged image of the store plus every image of the image
 * directory that has a module.json (the store wins for the same name@version); the requests are
 * the root image, modules.load and each --module; resolve.c picks the stack; the modules mounted
 * at "/" become the root overlay's lower layers and the others one read-only mount per
 * mount point. Catalog, resolution and the run's registration happen under the store lock held
 * shared, so `gbox image rm` cannot remove an image between being chosen and being registered. */
#include "stack.h"

#include "generation.h"

#include "paths.h"
#include "plan.h"
#include "resolve.h"
#include "../sandbox/util.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

_Static_assert(STORE_ID_SHIFT == GBOX_HOST_ID_BASE, "the store shifts owners by the sandbox's id map");

struct requests {
    struct res_request *v;
    char (*origin)[160];
    size_t n;
};

struct catalog {
    struct res_module *v;
    size_t n, cap;
    struct store_list store; /* the pinned images first (n_pinned), then the tagged ones */
    size_t n_pinned;
    struct gbox_manifest **dir_manifests;
    char **dir_roots;
    size_t n_dir;
};

static void cat_add(struct catalog *c, const struct gbox_manifest *m, const char *where, void *user)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 32;
        c->v = realloc(c->v, c->cap * sizeof(*c->v));
        if (!c->v)
            abort();
    }
    c->v[c->n++] = (struct res_module){m, where, user};
}

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Images of the image directory with a manifest (the recipes' output: NAME/module.json and
 * NAME/rootfs). A manifest there that does not validate is an error, as in the store. */
static int cat_image_dir(struct catalog *c, struct sbx_err **err)
{
    const char *dir = gbox_image_dir();
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d))) {
        char mf[PATH_MAX], root[PATH_MAX], real[PATH_MAX];
        if (e->d_name[0] == '.')
            continue;
        snprintf(mf, sizeof(mf), "%s/%s/module.json", dir, e->d_name);
        snprintf(root, sizeof(root), "%s/%s/rootfs", dir, e->d_name);
        if (access(mf, F_OK) < 0 || !is_dir(root) || !realpath(root, real))
            continue;
        struct gbox_manifest *m;
        if (manifest_load(mf, &m, err) < 0) {
            rc = -1;
            break;
        }
        c->dir_manifests = realloc(c->dir_manifests, (c->n_dir + 1) * sizeof(*c->dir_manifests));
        c->dir_roots = realloc(c->dir_roots, (c->n_dir + 1) * sizeof(*c->dir_roots));
        if (!c->dir_manifests || !c->dir_roots)
            abort();
        c->dir_manifests[c->n_dir] = m;
        c->dir_roots[c->n_dir++] = xstrdup(real);
    }
    closedir(d);
    return rc;
}

static void cat_free(struct catalog *c)
{
    free(c->v);
    store_list_free(&c->store);
    for (size_t i = 0; i < c->n_dir; i++) {
        manifest_free(c->dir_manifests[i]);
        free(c->dir_roots[i]);
    }
    free(c->dir_manifests);
    free(c->dir_roots);
}

struct names {
    char **v;
    size_t n, cap;
};

static void add_name(struct names *ns, const char *name)
{
    for (size_t i = 0; i < ns->n; i++)
        if (strcmp(ns->v[i], name) == 0)
            return;
    if (ns->n == ns->cap) {
        ns->cap = ns->cap ? 2 * ns->cap : 32;
        ns->v = realloc(ns->v, ns->cap * sizeof(char *));
        if (!ns->v)
            abort();
    }
    ns->v[ns->n++] = xstrdup(name);
}

static void add_deps(struct names *ns, const struct gbox_manifest *m)
{
    for (size_t d = 0; d < m->n_deps; d++)
        add_name(ns, m->deps[d].name);
}

/* --pin NAME=sha256:HEX: the image a generation recorded for NAME, tagged or not, loaded into the
 * catalog's store list; a pin whose image is gone fails the run (no fallback to the tag, which
 * may name a rebuild of the same version since). */
static int cat_pins(struct catalog *c, struct store *st, const struct run_request *rq, struct sbx_err **err)
{
    for (size_t i = 0; i < rq->n_pins; i++) {
        const char *pin = rq->pins[i], *eq = strchr(pin, '=');
        char name[80];
        if (!eq || (size_t)(eq - pin) >= sizeof(name) || strncmp(eq + 1, "sha256:", 7) != 0)
            return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "--pin %s: expected NAME=sha256:HEX", pin);
        snprintf(name, sizeof(name), "%.*s", (int)(eq - pin), pin);
        const char *hex = eq + 8;
        if (!module_name_valid(name))
            return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "--pin %s: expected NAME=sha256:HEX", pin);
        int rc = st ? store_get(st, hex, &c->store, err) : 1;
        if (rc < 0) {
            sbx_err_wrap(err, "--pin %s", pin);
            return -1;
        }
        if (rc > 0)
            return sbx_err_set(err, GBOX_EXIT_NOT_FOUND, 0, "module %s sha256:%.12s recorded by this generation "
                               "is no longer in the store (%s)", name, hex, st ? st->root : "no store");
        const struct gbox_manifest *m = c->store.v[c->store.n - 1].m;
        if (strcmp(m->name, name) != 0)
            return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "--pin %s: image sha256:%.12s is module %s, not %s", pin,
                               hex, m->name, name);
    }
    return 0;
}

/* A pinned name: the pin is its only candidate, any version (the generation recorded one). */
static bool pinned_name(const struct catalog *c, const char *name)
{
    for (size_t k = 0; k < c->n_pinned; k++)
        if (strcmp(c->store.v[k].m->name, name) == 0)
            return true;
    return false;
}

/* The store's tagged images of every name the requests can reach through any version's
 * dependencies, in the store or the image directory (which is small and read whole): a run reads
 * the part of the store it may need. Pinned images come first, and they are the only candidates
 * of their name: the tagged images of that name (a rebuild of the same version, or another
 * version) are left out. */
static int cat_store(struct catalog *c, struct store *st, const struct run_request *rq, const struct requests *req,
                     struct sbx_err **err)
{
    if (cat_pins(c, st, rq, err) < 0)
        return -1;
    size_t n_pinned = c->n_pinned = c->store.n;
    struct names ns = {0};
    for (size_t i = 0; i < req->n; i++)
        add_name(&ns, req->v[i].name);
    for (size_t i = 0; i < n_pinned; i++)
        add_deps(&ns, c->store.v[i].m);
    int rc = 0;
    for (size_t next = 0; st && next < ns.n && rc == 0; next++) {
        size_t before = c->store.n;
        rc = store_tagged(st, ns.v[next], &c->store, err);
        for (size_t i = before; rc == 0 && i < c->store.n;) {
            struct store_image *im = &c->store.v[i];
            if (pinned_name(c, im->m->name)) { /* drop it: the pin decides */
                manifest_free(im->m);
                json_decref(im->info);
                memmove(im, im + 1, (c->store.n - i - 1) * sizeof(*im));
                c->store.n--;
                continue;
            }
            add_deps(&ns, im->m);
            i++;
        }
        for (size_t i = 0; rc == 0 && i < c->n_dir; i++)
            if (strcmp(c->dir_manifests[i]->name, ns.v[next]) == 0)
                add_deps(&ns, c->dir_manifests[i]);
    }
    for (size_t i = 0; i < ns.n; i++)
        free(ns.v[i]);
    free(ns.v);
    return rc;
}

static int cat_build(struct catalog *c, struct store *st, const struct run_request *rq, const struct requests *req,
                     struct sbx_err **err)
{
    if (cat_image_dir(c, err) < 0 || ((st || rq->n_pins) && cat_store(c, st, rq, req, err) < 0))
        return -1;
    for (size_t i = 0; i < c->store.n; i++)
        cat_add(c, c->store.v[i].m, c->store.v[i].digest, &c->store.v[i]);
    size_t n_store = c->n;
    for (size_t i = 0; i < c->n_dir; i++) {
        bool dup = pinned_name(c, c->dir_manifests[i]->name);
        for (size_t k = 0; k < n_store && !dup; k++)
            dup = strcmp(c->v[k].m->name, c->dir_manifests[i]->name) == 0 &&
                  semver_cmp(&c->v[k].m->version, &c->dir_manifests[i]->version) == 0;
        if (!dup)
            cat_add(c, c->dir_manifests[i], c->dir_roots[i], NULL);
    }
    return 0;
}

/* The policy's side of resolution: domain, module set, allow list. */
struct policy_rules {
    struct res_policy pol;
    struct res_allow *allow;
};

static void rules_from(const struct gbox_policy *p, struct policy_rules *r)
{
    const char *set = pol_str(p, "modules.set");
    const json_t *allow = pol_get(p, "modules.allow"), *e;
    size_t i;
    r->allow = xcalloc(json_array_size(allow) + 1, sizeof(*r->allow));
    r->pol = (struct res_policy){.domain = p->name, .allow = r->allow,
                                 .set = strcmp(set, "minimal") == 0 ? MODULE_SET_MINIMAL
                                        : strcmp(set, "standard") == 0 ? MODULE_SET_STANDARD
                                                                       : MODULE_SET_FULL};
    json_array_foreach(allow, i, e)
    {
        struct res_allow *a = &r->allow[r->pol.n_allow];
        if (module_ref_parse(json_string_value(e), a->name, sizeof(a->name), &a->range) == 0)
            r->pol.n_allow++;
    }
}


static int add_request(struct requests *r, const char *ref, const char *origin, bool policy_named,
                       struct sbx_err **err)
{
    snprintf(r->origin[r->n], sizeof(r->origin[0]), "%s", origin);
    if (res_request_parse(ref, r->origin[r->n], policy_named, &r->v[r->n]) < 0)
        return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "%s: expected a module name, optionally with @ and a "
                           "version range (\"stdlib@^1.2\"), got \"%s\"", origin, ref);
    r->n++;
    return 0;
}

/* Requests in the order the stack is built from the bottom: root image, modules.load, the
 * program's handler's modules (the interpreter of its extension), --module. */
static int build_requests(const struct gbox_policy *p, const struct run_request *rq, const char *img,
                          struct requests *r, struct sbx_err **err)
{
    const json_t *load = pol_get(p, "modules.load"), *e;
    size_t hi = 0;
    const json_t *handler = rq->in_image ? NULL : plan_handler(p, rq->program, &hi);
    const json_t *hmods = json_object_get(handler, "modules");
    size_t cap = 1 + json_array_size(load) + json_array_size(hmods) + rq->n_modules, i;
    r->v = xcalloc(cap, sizeof(*r->v));
    r->origin = xcalloc(cap, sizeof(*r->origin));
    char origin[160];
    if (img[0] != '/') {
        snprintf(origin, sizeof(origin), rq->image ? "--image %s" : "interpreter.image \"%s\"", img);
        if (add_request(r, img, origin, !rq->image, err) < 0)
            return -1;
    }
    json_array_foreach(load, i, e)
    {
        snprintf(origin, sizeof(origin), "modules.load[%zu] of policy %s", i, p->name);
        if (add_request(r, json_string_value(e), origin, true, err) < 0)
            return -1;
    }
    json_array_foreach(hmods, i, e)
    {
        snprintf(origin, sizeof(origin), "interpreter.handlers[%zu].modules[%zu] of policy %s", hi, i, p->name);
        if (add_request(r, json_string_value(e), origin, true, err) < 0)
            return -1;
    }
    for (i = 0; i < rq->n_modules; i++) {
        snprintf(origin, sizeof(origin), "--module %s", rq->modules[i]);
        if (add_request(r, rq->modules[i], origin, false, err) < 0)
            return -1;
    }
    return 0;
}

static int mount_point_depth(const char *mp)
{
    int d = 0;
    for (; *mp; mp++)
        d += *mp == '/';
    return d;
}

/* Resolved stack (top first) into the spec: "/" modules are the root's layers, every other
 * mount point gets its modules as one LAYERS mount, shallower mount points first. */
static int place_layers(const struct res_stack *st, const char *bottom, struct sbx_spec *s, json_t *images,
                        struct sbx_err **err)
{
    size_t n_root = 0;
    for (size_t i = 0; i < st->n; i++)
        n_root += strcmp(st->v[i]->m->mount_point, "/") == 0;
    if (bottom)
        n_root++;
    if (n_root == 0)
        return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "the module stack has no module at mount point \"/\" to be the root");
    if (n_root > SBX_MAX_LAYERS)
        return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "the module stack has %zu layers at \"/\"; overlayfs stacks at most %d",
                           n_root, SBX_MAX_LAYERS);
    s->layers = xcalloc(n_root + 1, sizeof(char *));
    for (size_t i = 0; i < st->n; i++) {
        const struct res_module *m = st->v[i];
        const struct store_image *si = m->user;
        const char *dir = si ? si->rootfs : m->where;
        json_t *o = json_pack("{s:s, s:s, s:s}", "name", m->m->name, "version", m->m->version_text,
                              "mount_point", m->m->mount_point);
        if (si) {
            char d[80];
            snprintf(d, sizeof(d), "sha256:%s", si->digest);
            json_object_set_new(o, "digest", json_string(d));
        } else {
            json_object_set_new(o, "dir", json_string(dir));
        }
        json_array_append_new(images, o);
        if (strcmp(m->m->mount_point, "/") == 0)
            s->layers[s->n_layers++] = xstrdup(dir);
    }
    if (bottom) {
        s->layers[s->n_layers++] = xstrdup(bottom);
        json_array_append_new(images, json_pack("{s:s, s:s}", "dir", bottom, "mount_point", "/"));
    }
    /* other mount points, shallowest first, each with its modules in stack order */
    for (int depth = 1; depth < 64; depth++) {
        for (size_t i = 0; i < st->n; i++) {
            const char *mp = st->v[i]->m->mount_point;
            if (strcmp(mp, "/") == 0 || mount_point_depth(mp) != depth)
                continue;
            bool done = false;
            for (size_t k = 0; k < i && !done; k++)
                done = strcmp(st->v[k]->m->mount_point, mp) == 0;
            if (done)
                continue;
            struct sbx_mount *mnt = plan_add_mount(s, SBX_MOUNT_LAYERS, mp);
            mnt->layers = xcalloc(st->n + 1, sizeof(char *));
            for (size_t k = i; k < st->n; k++) {
                const struct store_image *si = st->v[k]->user;
                if (strcmp(st->v[k]->m->mount_point, mp) == 0)
                    mnt->layers[mnt->n_layers++] = xstrdup(si ? si->rootfs : st->v[k]->where);
            }
            if (mnt->n_layers > SBX_MAX_LAYERS)
                return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "%zu layers at mount point %s; overlayfs stacks at most %d",
                                   mnt->n_layers, mp, SBX_MAX_LAYERS);
        }
    }
    return 0;
}

/* Register the store images of the stack as in use by this run. */
static int register_run(struct store *st, const struct res_stack *rs, const char *name, struct run_hold *hold,
                        struct sbx_err **err)
{
    const char **digests = xcalloc(rs->n + 1, sizeof(char *));
    size_t n = 0;
    for (size_t i = 0; i < rs->n; i++)
        if (rs->v[i]->user)
            digests[n++] = ((const struct store_image *)rs->v[i]->user)->digest;
    int rc = n ? store_run_register(st, digests, n, name, &hold->run, err) : 0;
    free(digests);
    return rc;
}

static int resolve_root(const struct gbox_policy *p, const struct run_request *rq, const char *img,
                        const char *bottom, struct sbx_spec *s, struct run_hold *hold, struct sbx_err **err)
{
    struct store *st = NULL;
    struct sbx_err *e2 = NULL;
    if (store_open(rq->store_dir, false, &st, &e2) < 0) {
        if (errno != ENOENT) {
            *err = e2;
            return -1;
        }
        sbx_err_free(&e2); /* no store yet: the image directory alone */
    }
    struct catalog cat = {0};
    struct requests req = {0};
    struct policy_rules rules = {0};
    struct res_stack rs = {0};
    int rc = -1;
    if (st && store_lock(st, LOCK_SH, err) < 0)
        goto out;
    if (build_requests(p, rq, img, &req, err) < 0 || cat_build(&cat, st, rq, &req, err) < 0)
        goto out;
    rules_from(p, &rules);
    if (resolve_stack(cat.v, cat.n, req.v, req.n, &rules.pol, &rs, err) < 0)
        goto out;
    hold->images = json_array();
    if (place_layers(&rs, bottom, s, hold->images, err) < 0)
        goto out;
    if (st && register_run(st, &rs, rq->name, hold, err) < 0)
        goto out;
    rc = 0;
out:
    if (st)
        store_lock(st, LOCK_UN, NULL);
    res_stack_free(&rs);
    free(rules.allow);
    free(req.v);
    free(req.origin);
    cat_free(&cat);
    store_close(st);
    return rc;
}

static int state_dir(const struct gbox_policy *p, const struct run_request *rq, struct sbx_spec *s,
                     struct sbx_err **err)
{
    struct store *st;
    if (store_open(rq->store_dir, true, &st, err) < 0)
        return -1;
    /* the overlay is mounted by the sandbox's root: the mapped uid when there is a user namespace */
    uid_t owner = json_is_true(pol_get(p, "user.namespace")) ? GBOX_HOST_ID_BASE : 0;
    char dir[PATH_MAX];
    int rc = store_state_dir(st, rq->name, owner, owner, dir, sizeof(dir), err);
    if (rc == 0)
        s->state_dir = xstrdup(dir);
    store_close(st);
    return rc;
}

/* The fast path may take an image of the image directory alone only when resolution would give
 * the same: it depends on nothing (a module with dependencies, like graphoid on graphoid-stdlib,
 * needs the resolver) and the store has no version of that name (the store wins). */
static bool fast_path_ok(const struct run_request *rq, const char *img)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/tags/%s", rq->store_dir ? rq->store_dir : store_default_dir(), img);
    if (access(p, F_OK) == 0)
        return false;
    snprintf(p, sizeof(p), "%s/%s/module.json", gbox_image_dir(), img);
    json_t *m = json_load_file(p, 0, NULL);
    bool ok = !m || json_array_size(json_object_get(m, "depends")) == 0;
    json_decref(m);
    return ok;
}

int stack_plan(const struct gbox_policy *p, const struct run_request *rq, struct sbx_spec *s,
               struct run_hold *hold, struct sbx_err **err)
{
    const char *img = rq->image ? rq->image : pol_str(p, "interpreter.image");
    const char *where = rq->image ? "--image" : "interpreter.image";
    const json_t *handler = rq->in_image ? NULL : plan_handler(p, rq->program, NULL);
    bool modules = rq->n_modules || json_array_size(pol_get(p, "modules.load")) ||
                   json_array_size(json_object_get(handler, "modules"));
    char path[PATH_MAX], real[PATH_MAX];
    const char *bottom = NULL;
    if (rq->name && (rq->name[0] == '\0' || !sandbox_name_valid(rq->name)))
        return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "--name %s: expected letters, digits, _, . and - (at most "
                           "64, starting with a letter or digit)", rq->name);
    if (img[0] == '/') {
        if (!realpath(img, real) || !is_dir(real))
            return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "%s: %s: image \"%s\" is not a directory",
                               rq->image ? "gbox run" : p->file, where, img);
        bottom = real;
    } else if (!modules && !strchr(img, '@') && fast_path_ok(rq, img)) {
        /* without a readlink per component when the image directory is canonical (as it is unless
         * $GBOX_IMAGE_DIR names it) and neither level is a symlink */
        char imgdir[PATH_MAX];
        bool plain = !getenv("GBOX_IMAGE_DIR") && path_real_subdir(gbox_image_dir(), img, imgdir, sizeof(imgdir)) &&
                     path_real_subdir(imgdir, "rootfs", real, sizeof(real));
        snprintf(path, sizeof(path), "%s/%s/rootfs", gbox_image_dir(), img);
        if (plain || (realpath(path, real) && is_dir(real)))
            bottom = real;
    }
    if (bottom && !modules) {
        s->rootfs = xstrdup(bottom);
    } else if (resolve_root(p, rq, img, img[0] == '/' ? bottom : NULL, s, hold, err) < 0) {
        /* the interpreter of the program's extension is missing: "not found" (127), with the way
         * to get it */
        if (handler && *err && strstr((*err)->msg, "interpreter.handlers[") && strstr((*err)->msg, "not found")) {
            (*err)->code = GBOX_EXIT_NOT_FOUND;
            sbx_err_wrap(err, "no interpreter image for %s", rq->program);
            size_t l = strlen((*err)->msg);
            snprintf((*err)->msg + l, sizeof((*err)->msg) - l,
                     " (build one, e.g. GR=/path/to/gr make image-graphoid for .gr)");
        }
        return -1;
    }
    if (rq->name && state_dir(p, rq, s, err) < 0)
        return -1;
    if ((rq->state_dir || rq->n_state_layers) && gen_state_plan(p, rq, s, err) < 0)
        return -1;
    return 0;
}

void run_hold_release(struct run_hold *h)
{
    if (!h)
        return;
    if (h->run.fd >= 0)
        store_run_release(&h->run);
    json_decref(h->images);
    h->images = NULL;
}
