/* resolve.c — module stack resolution (rules in resolve.h): a depth-first search over versions,
 * highest first, with chronological backtracking. Each "need" is one range on one name, from a
 * request or from the dependencies of a chosen module; a need on a name already chosen must
 * accept that choice, or the search backs up. The first failure met is the one reported, with
 * the chain of needs that led to it: with versions tried highest first, that is the failure of
 * the stack the user would have got. */
#include "resolve.h"

#include "../sandbox/util.h"

#include <stdio.h>
#include <string.h>

#define MAX_STEPS 100000

struct need {
    int name;                        /* name id */
    const struct semver_range *range;
    const char *range_text;
    int parent;                      /* name id of the module depending on it; -1: a request */
    const struct res_request *req;
};

struct rs {
    const struct res_module *cat;
    const struct res_policy *pol;
    const char **names;              /* name ids */
    int **cands;                     /* per name: catalog indices, highest version first */
    size_t *n_cands, n_names;
    int *chosen, *chooser;           /* per name: catalog index / need index, or -1 */
    struct need *needs;
    size_t n_needs, cap_needs;
    unsigned long steps;
    bool failed, gave_up;
    char fail[1024];
};

static void fail(struct rs *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct rs *r, const char *fmt, ...)
{
    if (r->failed)
        return;
    r->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->fail, sizeof(r->fail), fmt, ap);
    va_end(ap);
}

static int name_id(struct rs *r, const char *name)
{
    for (size_t i = 0; i < r->n_names; i++)
        if (strcmp(r->names[i], name) == 0)
            return (int)i;
    size_t n = r->n_names++;
    r->names = realloc(r->names, r->n_names * sizeof(*r->names));
    r->cands = realloc(r->cands, r->n_names * sizeof(*r->cands));
    r->n_cands = realloc(r->n_cands, r->n_names * sizeof(*r->n_cands));
    r->chosen = realloc(r->chosen, r->n_names * sizeof(*r->chosen));
    r->chooser = realloc(r->chooser, r->n_names * sizeof(*r->chooser));
    if (!r->names || !r->cands || !r->n_cands || !r->chosen || !r->chooser)
        abort();
    r->names[n] = name;
    r->cands[n] = NULL;
    r->n_cands[n] = 0;
    r->chosen[n] = r->chooser[n] = -1;
    return (int)n;
}

static void label(const struct res_module *m, char *buf, size_t len)
{
    snprintf(buf, len, "%s@%s", m->m->name, m->m->version_text);
}

/* "app@1.2.0 <- web@2.0.0 <- --module web" for need i. */
static void chain(const struct rs *r, int i, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int guard = 0; i >= 0 && guard < 64; guard++) {
        const struct need *nd = &r->needs[i];
        if (nd->parent < 0) {
            snprintf(buf + n, n < len ? len - n : 0, "%s", nd->req->origin);
            return;
        }
        char l[160];
        label(&r->cat[r->chosen[nd->parent]], l, sizeof(l));
        n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s <- ", l);
        i = r->chooser[nd->parent];
    }
}

static bool in_domain(const struct rs *r, const struct gbox_manifest *m)
{
    if (!r->pol)
        return true;
    for (char **d = m->domains; *d; d++)
        if (strcmp(*d, "*") == 0 || strcmp(*d, r->pol->domain) == 0)
            return true;
    return false;
}

static bool allowed(const struct rs *r, const struct need *nd, const struct gbox_manifest *m)
{
    if (!r->pol || (nd->parent < 0 && nd->req->policy_named) || m->set <= r->pol->set)
        return true;
    for (size_t i = 0; i < r->pol->n_allow; i++)
        if (strcmp(r->pol->allow[i].name, m->name) == 0 && semver_satisfies(&m->version, &r->pol->allow[i].range))
            return true;
    return false;
}

static void push_need(struct rs *r, struct need nd)
{
    if (r->n_needs == r->cap_needs) {
        r->cap_needs = r->cap_needs ? 2 * r->cap_needs : 32;
        r->needs = realloc(r->needs, r->cap_needs * sizeof(*r->needs));
        if (!r->needs)
            abort();
    }
    r->needs[r->n_needs++] = nd;
}

/* Why no candidate of need i's name can be used. */
static void explain_none(struct rs *r, int i)
{
    const struct need *nd = &r->needs[i];
    char ch[512], l[160];
    chain(r, i, ch, sizeof(ch));
    const char *name = r->names[nd->name];
    if (r->n_cands[nd->name] == 0) {
        fail(r, "module %s not found (wanted by %s): no image of that name in the store or the image "
             "directory", name, ch);
        return;
    }
    for (size_t k = 0; k < r->n_cands[nd->name]; k++) {
        const struct res_module *c = &r->cat[r->cands[nd->name][k]];
        if (!semver_satisfies(&c->m->version, nd->range))
            continue;
        label(c, l, sizeof(l));
        if (!in_domain(r, c->m)) {
            char doms[256] = "";
            size_t n = 0;
            for (char **d = c->m->domains; *d; d++)
                n += (size_t)snprintf(doms + n, n < sizeof(doms) ? sizeof(doms) - n : 0, "%s%s",
                                      d == c->m->domains ? "" : ", ", *d);
            fail(r, "%s (wanted by %s) does not run in domain %s (its domains: %s)", l, ch, r->pol->domain, doms);
        } else {
            fail(r, "%s (wanted by %s) is not allowed by policy %s: the module is in set \"%s\", the "
                 "policy's modules.set is \"%s\" (name it in modules.allow)", l, ch, r->pol->domain,
                 module_set_name(c->m->set), module_set_name(r->pol->set));
        }
        return;
    }
    char avail[512] = "";
    size_t n = 0;
    for (size_t k = 0; k < r->n_cands[nd->name]; k++)
        n += (size_t)snprintf(avail + n, n < sizeof(avail) ? sizeof(avail) - n : 0, "%s%s", k ? ", " : "",
                              r->cat[r->cands[nd->name][k]].m->version_text);
    fail(r, "no version of %s matches \"%s\" (wanted by %s); available: %s", name, nd->range_text, ch, avail);
}

/* ---- checks on a complete assignment -------------------------------------------------------- */

/* 0: unvisited, 1: on the current path, 2: done */
static bool find_cycle(struct rs *r, int name, char *state, int *path, int depth)
{
    state[name] = 1;
    path[depth] = name;
    const struct gbox_manifest *m = r->cat[r->chosen[name]].m;
    for (size_t d = 0; d < m->n_deps; d++) {
        int dep = name_id(r, m->deps[d].name);
        if (state[dep] == 1) {
            char msg[768], l[160];
            size_t n = 0;
            int start = 0;
            while (path[start] != dep)
                start++;
            for (int k = start; k <= depth; k++) {
                label(&r->cat[r->chosen[path[k]]], l, sizeof(l));
                n += (size_t)snprintf(msg + n, n < sizeof(msg) ? sizeof(msg) - n : 0, "%s -> ", l);
            }
            label(&r->cat[r->chosen[dep]], l, sizeof(l));
            snprintf(msg + n, n < sizeof(msg) ? sizeof(msg) - n : 0, "%s", l);
            fail(r, "dependency cycle: %s", msg);
            return true;
        }
        if (state[dep] == 0 && find_cycle(r, dep, state, path, depth + 1))
            return true;
    }
    state[name] = 2;
    return false;
}

static bool provided(const struct rs *r, const char *cap, int except)
{
    for (size_t i = 0; i < r->n_names; i++) {
        if (r->chosen[i] < 0 || (int)i == except)
            continue;
        for (char **p = r->cat[r->chosen[i]].m->provides; *p; p++)
            if (strcmp(*p, cap) == 0)
                return true;
    }
    return false;
}

static int check_complete(struct rs *r)
{
    char *state = xcalloc(r->n_names, 1);
    int *path = xcalloc(r->n_names + 1, sizeof(int));
    bool cyc = false;
    /* from what was asked for, in order, so the message starts there */
    for (size_t i = 0; i < r->n_needs && !cyc; i++)
        if (r->needs[i].parent < 0 && state[r->needs[i].name] == 0)
            cyc = find_cycle(r, r->needs[i].name, state, path, 0);
    free(state);
    free(path);
    if (cyc)
        return -1;
    for (size_t i = 0; i < r->n_names; i++) {
        if (r->chosen[i] < 0)
            continue;
        const struct res_module *c = &r->cat[r->chosen[i]];
        for (char **q = c->m->requires; *q; q++) {
            if (provided(r, *q, (int)i))
                continue;
            char l[160], ch[512];
            label(c, l, sizeof(l));
            chain(r, r->chooser[i], ch, sizeof(ch));
            fail(r, "%s (wanted by %s) requires \"%s\", which no module of the stack provides", l, ch, *q);
            return -1;
        }
    }
    return 0;
}

/* ---- search --------------------------------------------------------------------------------- */

static int solve(struct rs *r, size_t next)
{
    if (r->gave_up)
        return -1;
    if (next == r->n_needs)
        return check_complete(r);
    const struct need nd = r->needs[next];
    int have = r->chosen[nd.name];
    if (have >= 0) {
        if (semver_satisfies(&r->cat[have].m->version, nd.range))
            return solve(r, next + 1);
        char c1[512], c2[512], l[160];
        chain(r, (int)next, c1, sizeof(c1));
        chain(r, r->chooser[nd.name], c2, sizeof(c2));
        label(&r->cat[have], l, sizeof(l));
        fail(r, "version conflict on %s: %s needs \"%s\", but %s was chosen for %s, which needs \"%s\"",
             r->names[nd.name], c1, nd.range_text, l, c2, r->needs[r->chooser[nd.name]].range_text);
        return -1;
    }
    bool any = false;
    for (size_t k = 0; k < r->n_cands[nd.name]; k++) {
        int ci = r->cands[nd.name][k];
        const struct gbox_manifest *m = r->cat[ci].m;
        if (!semver_satisfies(&m->version, nd.range) || !in_domain(r, m) || !allowed(r, &nd, m))
            continue;
        any = true;
        if (++r->steps > MAX_STEPS) {
            r->gave_up = true;
            r->failed = false;
            fail(r, "module resolution gave up after %d steps (too many combinations of versions)", MAX_STEPS);
            return -1;
        }
        size_t mark = r->n_needs;
        r->chosen[nd.name] = ci;
        r->chooser[nd.name] = (int)next;
        for (size_t d = 0; d < m->n_deps; d++)
            push_need(r, (struct need){name_id(r, m->deps[d].name), &m->deps[d].range, m->deps[d].range_text,
                                       nd.name, nd.req});
        if (solve(r, next + 1) == 0)
            return 0;
        r->n_needs = mark;
        r->chosen[nd.name] = r->chooser[nd.name] = -1;
        if (r->gave_up)
            return -1;
    }
    if (!any)
        explain_none(r, (int)next);
    return -1;
}

/* ---- result --------------------------------------------------------------------------------- */

static void post_order(struct rs *r, int name, char *seen, struct res_stack *out)
{
    if (seen[name])
        return;
    seen[name] = 1;
    const struct gbox_manifest *m = r->cat[r->chosen[name]].m;
    for (size_t d = 0; d < m->n_deps; d++)
        post_order(r, name_id(r, m->deps[d].name), seen, out);
    out->v[out->n++] = &r->cat[r->chosen[name]];
}

static int version_desc(const void *a, const void *b, void *cat)
{
    const struct res_module *c = cat;
    int x = *(const int *)a, y = *(const int *)b;
    int d = semver_cmp(&c[y].m->version, &c[x].m->version);
    return d ? d : x - y; /* equal versions: the catalog's order */
}

int resolve_stack(const struct res_module *catalog, size_t n_catalog, const struct res_request *req,
                  size_t n_req, const struct res_policy *pol, struct res_stack *out, struct sbx_err **err)
{
    memset(out, 0, sizeof(*out));
    struct rs r = {.cat = catalog, .pol = pol};
    for (size_t i = 0; i < n_catalog; i++) {
        int id = name_id(&r, catalog[i].m->name);
        r.cands[id] = realloc(r.cands[id], (r.n_cands[id] + 1) * sizeof(int));
        if (!r.cands[id])
            abort();
        r.cands[id][r.n_cands[id]++] = (int)i;
    }
    for (size_t i = 0; i < r.n_names; i++)
        qsort_r(r.cands[i], r.n_cands[i], sizeof(int), version_desc, (void *)catalog);
    for (size_t i = 0; i < n_req; i++)
        push_need(&r, (struct need){name_id(&r, req[i].name), &req[i].range, req[i].range_text, -1, &req[i]});
    int rc = solve(&r, 0);
    if (rc == 0) {
        size_t n = 0;
        for (size_t i = 0; i < r.n_names; i++)
            n += r.chosen[i] >= 0;
        out->v = xcalloc(n + 1, sizeof(*out->v));
        char *seen = xcalloc(r.n_names, 1);
        for (size_t i = 0; i < n_req; i++)
            post_order(&r, name_id(&r, req[i].name), seen, out);
        free(seen);
        /* post-order puts dependencies first: the stack is read top first */
        for (size_t i = 0; i < out->n / 2; i++) {
            const struct res_module *t = out->v[i];
            out->v[i] = out->v[out->n - 1 - i];
            out->v[out->n - 1 - i] = t;
        }
    } else {
        sbx_err_set(err, GBOX_EXIT_USAGE, 0, "%s", r.failed ? r.fail : "module resolution failed");
    }
    for (size_t i = 0; i < r.n_names; i++)
        free(r.cands[i]);
    free(r.cands);
    free(r.n_cands);
    free(r.names);
    free(r.chosen);
    free(r.chooser);
    free(r.needs);
    return rc;
}

void res_stack_free(struct res_stack *s)
{
    free(s->v);
    memset(s, 0, sizeof(*s));
}

int res_request_parse(const char *ref, const char *origin, bool policy_named, struct res_request *out)
{
    memset(out, 0, sizeof(*out));
    if (module_ref_parse(ref, out->name, sizeof(out->name), &out->range) < 0)
        return -1;
    const char *at = strchr(ref, '@');
    snprintf(out->range_text, sizeof(out->range_text), "%s", at ? at + 1 : "*");
    out->origin = origin;
    out->policy_named = policy_named;
    return 0;
}
