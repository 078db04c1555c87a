/* config.c — domain policies in force, their candidates, revisions and history (config.h).
 * Nothing here knows the daemon's sandboxes: the daemon checks a candidate against them, queues
 * it or commits it, and applies it (daemon.c, "live configuration"). */
#include "config.h"
#include "plan.h"
#include "../sandbox/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct dom {
    char *name;
    json_t *doc;             /* the top-level document in force */
    struct gbox_policy *pol; /* it, resolved */
    int rev;
    char *seen;              /* the policy file's text when last examined (NULL: not yet; "": gone) */
    char active[PATH_MAX];
};

struct config_store {
    char *pdir, *cdir, *adir, *hdir;
    struct dom *d;
    size_t n;
};

static int cfail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int cfail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* temp file, fsync, rename, fsync of the directory */
static int write_atomic(const char *path, const char *text, mode_t mode)
{
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return -1;
    int rc = write_all(fd, text, strlen(text)) == 0 && fsync(fd) == 0 ? 0 : -1;
    int saved = errno;
    close(fd);
    if (rc == 0 && rename(tmp, path) < 0) {
        saved = errno;
        rc = -1;
    }
    if (rc < 0) {
        unlink(tmp);
        errno = saved;
        return -1;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    return 0;
}

static int write_json(const char *path, const json_t *v, size_t flags)
{
    char *s = json_dumps(v, flags);
    if (!s)
        return errno = ENOMEM, -1;
    size_t n = strlen(s);
    char *t = realloc(s, n + 2);
    if (!t) {
        free(s);
        return errno = ENOMEM, -1;
    }
    memcpy(t + n, "\n", 2);
    int rc = write_atomic(path, t, 0644);
    free(t);
    return rc;
}

static struct dom *find(struct config_store *cs, const char *name)
{
    for (size_t i = 0; name && i < cs->n; i++)
        if (strcmp(cs->d[i].name, name) == 0)
            return &cs->d[i];
    return NULL;
}

static struct dom *add(struct config_store *cs, const char *name)
{
    cs->d = realloc(cs->d, (cs->n + 1) * sizeof(*cs->d));
    if (!cs->d)
        abort();
    struct dom *d = &cs->d[cs->n++];
    memset(d, 0, sizeof(*d));
    d->name = xstrdup(name);
    snprintf(d->active, sizeof(d->active), "%s/%s.json", cs->adir, name);
    return d;
}

static bool valid_domain(const char *n)
{
    return n && *n && strlen(n) < 100 && strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789_-") == strlen(n);
}

static json_t *history_load(struct config_store *cs, const char *name)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s.json", cs->hdir, name);
    json_t *h = json_load_file(p, 0, NULL);
    if (!json_is_array(json_object_get(h, "revisions"))) {
        json_decref(h);
        h = json_pack("{s:s,s:[]}", "domain", name, "revisions");
    }
    return h;
}

/* The in-force copies from the last run. */
static void load_active(struct config_store *cs)
{
    DIR *dd = opendir(cs->adir);
    struct dirent *de;
    while (dd && (de = readdir(dd))) {
        size_t l = strlen(de->d_name);
        char name[128];
        if (l <= 5 || l - 5 >= sizeof(name) || strcmp(de->d_name + l - 5, ".json") != 0)
            continue;
        snprintf(name, sizeof(name), "%.*s", (int)(l - 5), de->d_name);
        if (!valid_domain(name))
            continue;
        struct dom *d = add(cs, name);
        struct sbx_err *e = NULL;
        d->doc = json_load_file(d->active, 0, NULL);
        if (!d->doc || policy_load(d->active, &d->pol, &e) < 0) {
            /* no longer valid (a newer schema): the policy file decides, as for a new domain */
            fprintf(stderr, "gbox daemon: in-force copy %s: %s (dropped)\n", d->active, e ? e->msg : "unreadable");
            sbx_err_free(&e);
            json_decref(d->doc);
            free(d->name);
            cs->n--;
            continue;
        }
        json_t *h = history_load(cs, name);
        d->rev = (int)json_array_size(json_object_get(h, "revisions"));
        json_decref(h);
    }
    if (dd)
        closedir(dd);
}

int config_open(struct config_store **out, const char *policy_dir, const char *state_dir, char *err, size_t errlen)
{
    *out = NULL;
    struct config_store *cs = xcalloc(1, sizeof(*cs));
    char p[PATH_MAX];
    cs->pdir = realpath(policy_dir, NULL);
    if (!cs->pdir) {
        int e = errno;
        free(cs);
        return cfail(err, errlen, "policy directory %s: %s", policy_dir, strerror(e));
    }
    snprintf(p, sizeof(p), "%s/config", state_dir);
    cs->cdir = xstrdup(p);
    snprintf(p, sizeof(p), "%s/config/active", state_dir);
    cs->adir = xstrdup(p);
    snprintf(p, sizeof(p), "%s/config/history", state_dir);
    cs->hdir = xstrdup(p);
    const char *dirs[] = {cs->cdir, cs->adir, cs->hdir};
    for (size_t i = 0; i < 3; i++)
        if (mkdir(dirs[i], 0700) < 0 && errno != EEXIST) {
            int e = errno;
            config_close(cs);
            return cfail(err, errlen, "create %s: %s", dirs[i], strerror(e));
        }
    load_active(cs);
    *out = cs;
    return 0;
}

void config_close(struct config_store *cs)
{
    if (!cs)
        return;
    for (size_t i = 0; i < cs->n; i++) {
        free(cs->d[i].name);
        json_decref(cs->d[i].doc);
        policy_free(cs->d[i].pol);
        free(cs->d[i].seen);
    }
    free(cs->d);
    free(cs->pdir);
    free(cs->cdir);
    free(cs->adir);
    free(cs->hdir);
    free(cs);
}

const char *config_policy_dir(const struct config_store *cs) { return cs->pdir; }

const char *config_policy_arg(struct config_store *cs, const char *arg)
{
    struct dom *d = cs && arg && !policy_arg_is_file(arg) ? find(cs, arg) : NULL;
    return d ? d->active : arg;
}

const struct gbox_policy *config_policy(struct config_store *cs, const char *domain)
{
    struct dom *d = find(cs, domain);
    return d ? d->pol : NULL;
}

int config_rev(struct config_store *cs, const char *domain)
{
    struct dom *d = find(cs, domain);
    return d ? d->rev : 0;
}

static struct dom *need(struct config_store *cs, const char *domain, char *err, size_t errlen)
{
    struct dom *d = find(cs, domain);
    if (!d)
        cfail(err, errlen, "domain \"%s\": no such policy in force (the policy directory %s holds the domains)",
              domain ? domain : "", cs->pdir);
    return d;
}

json_t *config_get(struct config_store *cs, const char *domain, const char *path, char *err, size_t errlen)
{
    struct dom *d = need(cs, domain, err, errlen);
    if (!d)
        return NULL;
    const json_t *v = path && *path ? pol_get(d->pol, path) : d->pol->root;
    if (!v) {
        cfail(err, errlen, "config get %s: no field \"%s\" (gbox config get %s lists them all)", domain, path, domain);
        return NULL;
    }
    return json_pack("{s:s,s:i,s:O}", "domain", domain, "rev", d->rev, "value", v);
}

/* ---- candidates ------------------------------------------------------------------------------- */

/* Fields a running sandbox can take: its cgroup limits, and what the daemon itself acts on. */
static const struct {
    const char *path;
    unsigned cg;
} live_fields[] = {
    {"resources.memory.max", SBX_CGU_MEMORY}, {"resources.cpu.max", SBX_CGU_CPU},
    {"resources.cpu.weight", SBX_CGU_CPU},    {"resources.pids.max", SBX_CGU_PIDS},
    {"resources.io", SBX_CGU_IO},             {"resources.memory.high", 0},
    {"monitoring", 0},                        {"failure_policies", 0},
    {"safety", 0},                            {"description", 0},
};

static bool under(const char *path, const char *prefix)
{
    size_t l = strlen(prefix);
    return strncmp(path, prefix, l) == 0 && (path[l] == '\0' || path[l] == '.');
}

static void add_change(struct config_cand *c, const char *path, const json_t *a, const json_t *b)
{
    const char *applies = "new-sandboxes";
    for (size_t i = 0; i < ARRAY_LEN(live_fields); i++)
        if (under(path, live_fields[i].path)) {
            applies = "live";
            c->cg_what |= live_fields[i].cg;
        }
    json_array_append_new(c->changes, json_pack("{s:s,s:O,s:O,s:s}", "path", path, "old", a ? a : json_null(),
                                                "new", b ? b : json_null(), "applies", applies));
}

/* Leaves of two resolved policies that differ (arrays compared whole). */
static void diff(struct config_cand *c, const char *prefix, const json_t *a, const json_t *b)
{
    if (json_is_object(a) && json_is_object(b)) {
        const char *k;
        json_t *v;
        char p[512];
        json_object_foreach((json_t *)a, k, v)
        {
            snprintf(p, sizeof(p), "%s%s%s", prefix, *prefix ? "." : "", k);
            diff(c, p, v, json_object_get(b, k));
        }
        json_object_foreach((json_t *)b, k, v) if (!json_object_get(a, k))
        {
            snprintf(p, sizeof(p), "%s%s%s", prefix, *prefix ? "." : "", k);
            add_change(c, p, NULL, v);
        }
        return;
    }
    if (!a || !b || !json_equal((json_t *)a, (json_t *)b))
        add_change(c, prefix, a, b);
}

void config_cand_free(struct config_cand *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_deps; i++)
        config_cand_free(c->deps[i]);
    free(c->deps);
    json_decref(c->doc);
    json_decref(c->changes);
    policy_free(c->pol);
    plan_cgroup_limits_free(&c->lim_old);
    plan_cgroup_limits_free(&c->lim_new);
    free(c);
}

static int check_dependents(struct config_store *cs, struct config_cand *c, char *err, size_t errlen);

int config_cand_doc(struct config_store *cs, const char *domain, const json_t *doc, struct config_cand **out,
                    char *err, size_t errlen)
{
    *out = NULL;
    if (!valid_domain(domain))
        return cfail(err, errlen, "domain \"%s\": expected lowercase letters, digits, _ and -", domain ? domain : "");
    struct dom *d = find(cs, domain);
    char label[PATH_MAX];
    snprintf(label, sizeof(label), "%s/%s.json", cs->pdir, domain);
    char *text = json_dumps(doc, JSON_INDENT(2));
    if (!text)
        return cfail(err, errlen, "%s: expected a JSON object", label);
    struct config_cand *c = xcalloc(1, sizeof(*c));
    snprintf(c->domain, sizeof(c->domain), "%s", domain);
    c->doc = json_deep_copy(doc);
    c->changes = json_array();
    struct sbx_err *e = NULL;
    /* validated exactly like a file: its ancestors are the versions in force */
    int rc = policy_load_mem(text, strlen(text), label, d ? cs->adir : cs->pdir, &c->pol, &e);
    free(text);
    if (rc < 0) {
        cfail(err, errlen, "%s", e ? e->msg : "invalid policy");
        sbx_err_free(&e);
        config_cand_free(c);
        return -1;
    }
    if (plan_cgroup_limits(c->pol, &c->lim_new, &e) < 0 || (d && plan_cgroup_limits(d->pol, &c->lim_old, &e) < 0)) {
        cfail(err, errlen, "%s", e ? e->msg : "resources");
        sbx_err_free(&e);
        config_cand_free(c);
        return -1;
    }
    if (d) {
        diff(c, "", d->pol->root, c->pol->root);
        c->approval = json_is_true(pol_get(d->pol, "safety.require_explicit_approval"));
        c->distinct = json_is_true(pol_get(d->pol, "safety.distinct_approver"));
        c->base_rev = d->rev;
        if (check_dependents(cs, c, err, errlen) < 0) {
            config_cand_free(c);
            return -1;
        }
    }
    *out = c;
    return 0;
}

/* Does d extend `target` (directly or through its ancestors in force)? By name, or by a file of
 * the same name. */
static bool extends_domain(struct config_store *cs, const struct dom *d, const char *target)
{
    for (int depth = 0; d && depth < 16; depth++) {
        const char *ext = json_string_value(json_object_get(d->doc, "extends"));
        if (!ext)
            return false;
        const char *base = strrchr(ext, '/') ? strrchr(ext, '/') + 1 : ext;
        size_t bl = strlen(base);
        if (bl > 5 && strcmp(base + bl - 5, ".json") == 0)
            bl -= 5;
        char name[128];
        snprintf(name, sizeof(name), "%.*s", (int)bl, base);
        if (strcmp(name, target) == 0)
            return true;
        d = find(cs, name);
    }
    return false;
}

/* The domains extending c's resolved again as they would be with c in force (their documents and
 * c's in a scratch directory): one that would no longer validate refuses c; one whose resolved
 * policy changes becomes a dependent candidate, checked and applied with c. */
static int check_dependents(struct config_store *cs, struct config_cand *c, char *err, size_t errlen)
{
    char chk[PATH_MAX], p[PATH_MAX];
    snprintf(chk, sizeof(chk), "%s/check", cs->cdir);
    if (mkdir(chk, 0700) < 0 && errno != EEXIST)
        return cfail(err, errlen, "create %s: %s", chk, strerror(errno));
    for (size_t i = 0; i < cs->n; i++) {
        snprintf(p, sizeof(p), "%s/%s.json", chk, cs->d[i].name);
        const json_t *doc = strcmp(cs->d[i].name, c->domain) == 0 ? c->doc : cs->d[i].doc;
        if (json_dump_file(doc, p, JSON_COMPACT) < 0)
            return cfail(err, errlen, "write %s: %s", p, strerror(errno));
    }
    int rc = 0;
    for (size_t i = 0; i < cs->n && rc == 0; i++) {
        struct dom *d = &cs->d[i];
        if (strcmp(d->name, c->domain) == 0 || !extends_domain(cs, d, c->domain))
            continue;
        snprintf(p, sizeof(p), "%s/%s.json", chk, d->name);
        struct gbox_policy *pol = NULL;
        struct sbx_err *e = NULL;
        if (policy_load(p, &pol, &e) < 0) {
            rc = cfail(err, errlen, "config %s: domain %s (which extends it) would no longer be valid: %s", c->domain,
                       d->name, e ? e->msg : "?");
            sbx_err_free(&e);
            break;
        }
        if (json_equal(pol->root, d->pol->root)) {
            policy_free(pol);
            continue;
        }
        struct config_cand *dc = xcalloc(1, sizeof(*dc));
        snprintf(dc->domain, sizeof(dc->domain), "%s", d->name);
        dc->doc = json_incref(d->doc);
        dc->pol = pol;
        free(pol->file);
        pol->file = xstrdup(d->active);
        dc->changes = json_array();
        dc->base_rev = d->rev;
        diff(dc, "", d->pol->root, pol->root);
        if (plan_cgroup_limits(pol, &dc->lim_new, &e) < 0 || plan_cgroup_limits(d->pol, &dc->lim_old, &e) < 0) {
            rc = cfail(err, errlen, "%s", e ? e->msg : "resources");
            sbx_err_free(&e);
        }
        c->deps = realloc(c->deps, (c->n_deps + 1) * sizeof(*c->deps));
        if (!c->deps)
            abort();
        c->deps[c->n_deps++] = dc;
    }
    for (size_t i = 0; i < cs->n; i++) {
        snprintf(p, sizeof(p), "%s/%s.json", chk, cs->d[i].name);
        unlink(p);
    }
    return rc;
}

static bool valid_path(const char *p)
{
    if (!p || !*p || *p == '.' || p[strlen(p) - 1] == '.' || strstr(p, ".."))
        return false;
    return strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == strlen(p);
}

int config_cand_set(struct config_store *cs, const char *domain, const json_t *set, struct config_cand **out,
                    char *err, size_t errlen)
{
    *out = NULL;
    struct dom *d = need(cs, domain, err, errlen);
    if (!d)
        return -1;
    if (!json_is_object(set) || json_object_size(set) == 0)
        return cfail(err, errlen, "config set %s: \"set\": expected an object of {\"dotted.path\": value}", domain);
    json_t *doc = json_deep_copy(d->doc);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)set, k, v)
    {
        if (!valid_path(k) || strcmp(k, "name") == 0 || strcmp(k, "extends") == 0) {
            json_decref(doc);
            return cfail(err, errlen, "config set %s: \"%s\": expected a dotted field path like resources.memory.max "
                         "(name and extends cannot change)", domain, k);
        }
        char buf[512];
        snprintf(buf, sizeof(buf), "%s", k);
        json_t *cur = doc;
        char *save = NULL, *t = strtok_r(buf, ".", &save);
        for (char *nx; t && (nx = strtok_r(NULL, ".", &save)); t = nx) {
            json_t *sub = json_object_get(cur, t);
            if (!json_is_object(sub)) {
                sub = json_object();
                json_object_set_new(cur, t, sub);
            }
            cur = sub;
        }
        json_object_set(cur, t, v);
    }
    int rc = config_cand_doc(cs, domain, doc, out, err, errlen);
    json_decref(doc);
    return rc;
}

/* RFC 7396 */
static json_t *merge_patch(json_t *target, const json_t *patch)
{
    if (!json_is_object(patch)) {
        json_decref(target);
        return json_deep_copy(patch);
    }
    if (!json_is_object(target)) {
        json_decref(target);
        target = json_object();
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)patch, k, v)
    {
        if (json_is_null(v)) {
            json_object_del(target, k);
        } else {
            json_t *cur = json_object_get(target, k);
            json_object_set_new(target, k, merge_patch(cur ? json_incref(cur) : NULL, v));
        }
    }
    return target;
}

int config_cand_patch(struct config_store *cs, const char *domain, const json_t *patch, struct config_cand **out,
                      char *err, size_t errlen)
{
    *out = NULL;
    struct dom *d = need(cs, domain, err, errlen);
    if (!d)
        return -1;
    if (!json_is_object(patch))
        return cfail(err, errlen, "config set %s: \"patch\": expected a JSON merge patch (an object)", domain);
    if (json_object_get(patch, "name") || json_object_get(patch, "extends"))
        return cfail(err, errlen, "config set %s: \"patch\": name and extends cannot change", domain);
    json_t *doc = merge_patch(json_deep_copy(d->doc), patch);
    int rc = config_cand_doc(cs, domain, doc, out, err, errlen);
    json_decref(doc);
    return rc;
}

int config_cand_rev(struct config_store *cs, const char *domain, int rev, struct config_cand **out, char *err,
                    size_t errlen)
{
    *out = NULL;
    if (!need(cs, domain, err, errlen))
        return -1;
    json_t *h = history_load(cs, domain);
    json_t *revs = json_object_get(h, "revisions");
    json_t *r = rev >= 1 ? json_array_get(revs, (size_t)rev - 1) : NULL;
    int rc;
    if (!json_is_object(json_object_get(r, "doc")))
        rc = cfail(err, errlen, "config revert %s: no revision %d (gbox config history %s lists %zu)", domain, rev,
                   domain, json_array_size(revs));
    else
        rc = config_cand_doc(cs, domain, json_object_get(r, "doc"), out, err, errlen);
    json_decref(h);
    return rc;
}

/* ---- commit and history ------------------------------------------------------------------------- */

int config_commit(struct config_store *cs, struct config_cand *c, uid_t uid, const char *source, char *err,
                  size_t errlen)
{
    struct dom *d = find(cs, c->domain);
    if (d && d->rev != c->base_rev)
        return cfail(err, errlen, "config %s: the domain changed since this change was made (revision %d, now %d): "
                     "make it again", c->domain, c->base_rev, d->rev);
    char file[PATH_MAX];
    snprintf(file, sizeof(file), "%s/%s.json", cs->pdir, c->domain);
    /* the policy file too, so that it says what is in force; left alone when it does already (an
     * edit made on disk keeps its layout) */
    json_t *on_disk = json_load_file(file, 0, NULL);
    bool same = on_disk && json_equal(on_disk, c->doc);
    json_decref(on_disk);
    if (!same && write_json(file, c->doc, JSON_INDENT(2)) < 0)
        return cfail(err, errlen, "write policy file %s: %s (nothing changed)", file, strerror(errno));
    char active[PATH_MAX];
    snprintf(active, sizeof(active), "%s/%s.json", cs->adir, c->domain);
    if (write_json(active, c->doc, JSON_INDENT(2)) < 0)
        return cfail(err, errlen, "write %s: %s", active, strerror(errno));
    json_t *h = history_load(cs, c->domain);
    json_t *revs = json_object_get(h, "revisions");
    int rev = (int)json_array_size(revs) + 1;
    json_array_append_new(revs, json_pack("{s:i,s:I,s:i,s:s,s:O,s:O}", "rev", rev, "time", (json_int_t)wall_ms(),
                                          "uid", (int)uid, "source", source, "changes", c->changes, "doc", c->doc));
    char hp[PATH_MAX];
    snprintf(hp, sizeof(hp), "%s/%s.json", cs->hdir, c->domain);
    int rc = write_json(hp, h, JSON_COMPACT);
    json_decref(h);
    if (rc < 0)
        return cfail(err, errlen, "write %s: %s", hp, strerror(errno));
    if (!d)
        d = add(cs, c->domain);
    json_decref(d->doc);
    d->doc = json_incref(c->doc);
    policy_free(d->pol);
    d->pol = c->pol;
    c->pol = NULL;
    free(d->pol->file);
    d->pol->file = xstrdup(d->active);
    d->rev = rev;
    free(d->seen);
    d->seen = read_file(file, NULL);
    for (size_t i = 0; i < c->n_deps; i++) { /* the domains extending it, resolved again */
        struct dom *dd = find(cs, c->deps[i]->domain);
        if (!dd || !c->deps[i]->pol)
            continue;
        policy_free(dd->pol);
        dd->pol = c->deps[i]->pol;
        c->deps[i]->pol = NULL;
    }
    return rev;
}

json_t *config_history(struct config_store *cs, const char *domain, char *err, size_t errlen)
{
    if (!need(cs, domain, err, errlen))
        return NULL;
    json_t *h = history_load(cs, domain);
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(h, "revisions"), i, r) json_object_del(r, "doc");
    return h;
}

/* ---- the policy directory ------------------------------------------------------------------ */

static void examine(struct config_store *cs, const char *name, struct config_cand ***cands, size_t *n,
                    json_t *invalid)
{
    struct dom *d = find(cs, name);
    char file[PATH_MAX];
    snprintf(file, sizeof(file), "%s/%s.json", cs->pdir, name);
    char *text = read_file(file, NULL);
    if (!text && !d)
        return;
    if (!text) {
        if (d->seen && !*d->seen)
            return;
        free(d->seen);
        d->seen = xstrdup("");
        json_array_append_new(invalid, json_pack("{s:s,s:s,s:s}", "domain", name, "file", file, "error",
                                                 "the policy file was removed; the version in force stays"));
        return;
    }
    if (d && d->seen && strcmp(d->seen, text) == 0) {
        free(text);
        return;
    }
    json_error_t je;
    json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (d) {
        free(d->seen);
        d->seen = xstrdup(text);
    }
    char err[1024];
    struct config_cand *c = NULL;
    if (d && doc && json_equal(doc, d->doc)) {
        /* unchanged */
    } else if (!doc) {
        snprintf(err, sizeof(err), "%s:%d:%d: syntax error: %s", file, je.line, je.column, je.text);
        json_array_append_new(invalid, json_pack("{s:s,s:s,s:s}", "domain", name, "file", file, "error", err));
    } else if (config_cand_doc(cs, name, doc, &c, err, sizeof(err)) < 0) {
        json_array_append_new(invalid, json_pack("{s:s,s:s,s:s}", "domain", name, "file", file, "error", err));
    } else {
        *cands = realloc(*cands, (*n + 1) * sizeof(**cands));
        if (!*cands)
            abort();
        (*cands)[(*n)++] = c;
    }
    json_decref(doc);
    free(text);
}

void config_scan(struct config_store *cs, struct config_cand ***cands, size_t *n, json_t *invalid)
{
    *cands = NULL;
    *n = 0;
    DIR *dd = opendir(cs->pdir);
    struct dirent *de;
    /* parents first: a new domain's ancestors must be in force to validate it against them */
    for (int pass = 0; pass < 2; pass++) {
        if (dd)
            rewinddir(dd);
        while (dd && (de = readdir(dd))) {
            size_t l = strlen(de->d_name);
            char name[128];
            if (l <= 5 || l - 5 >= sizeof(name) || strcmp(de->d_name + l - 5, ".json") != 0 ||
                strcmp(de->d_name, "schema.json") == 0)
                continue;
            snprintf(name, sizeof(name), "%.*s", (int)(l - 5), de->d_name);
            if (!valid_domain(name))
                continue;
            char file[PATH_MAX];
            snprintf(file, sizeof(file), "%s/%s", cs->pdir, de->d_name);
            json_t *doc = json_load_file(file, 0, NULL);
            bool root = !json_is_string(json_object_get(doc, "extends"));
            json_decref(doc);
            if ((pass == 0) == root)
                examine(cs, name, cands, n, invalid);
        }
    }
    /* domains whose file is gone */
    for (size_t i = 0; i < cs->n; i++) {
        char file[PATH_MAX];
        snprintf(file, sizeof(file), "%s/%s.json", cs->pdir, cs->d[i].name);
        if (access(file, F_OK) < 0)
            examine(cs, cs->d[i].name, cands, n, invalid);
    }
    if (dd)
        closedir(dd);
}
