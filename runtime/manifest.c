/* manifest.c — load module.json as strictly as a policy: syntax errors with line:column, the
 * schema (images/schema.json, embedded) for types, patterns and unknown keys, required fields,
 * defaults, then what no single field can say (a module depending on itself, swap at "/"). */
#include "manifest.h"

#include "schema.h"
#include "../sandbox/util.h"

#include <stdio.h>
#include <string.h>

static int merr(struct sbx_err **err, const char *file, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int merr(struct sbx_err **err, const char *file, const char *path, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "%s: %s: %s", file, path, msg);
}

const char *module_set_name(enum module_set s)
{
    static const char *const names[] = {"minimal", "standard", "full"};
    return names[s];
}

const char *module_reload_name(enum module_reload r)
{
    static const char *const names[] = {"swap", "restart", "never"};
    return names[r];
}

static char **strings(const json_t *arr)
{
    char **v = xcalloc(json_array_size(arr) + 1, sizeof(char *));
    size_t i;
    const json_t *e;
    json_array_foreach(arr, i, e) v[i] = xstrdup(json_string_value(e));
    return v;
}

static void free_strings(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

static int index_of(const json_t *arr, size_t before, const char *s)
{
    for (size_t j = 0; j < before; j++)
        if (strcmp(json_string_value(json_array_get(arr, j)), s) == 0)
            return (int)j;
    return -1;
}

static int check_semantics(const char *file, const json_t *root, struct sbx_err **err)
{
    const char *name = json_string_value(json_object_get(root, "name"));
    const json_t *deps = json_object_get(root, "depends"), *d;
    size_t i;
    char p[96];
    json_array_foreach(deps, i, d)
    {
        const char *dn = json_string_value(json_object_get(d, "name"));
        snprintf(p, sizeof(p), "depends[%zu].name", i);
        if (strcmp(dn, name) == 0)
            return merr(err, file, p, "a module cannot depend on itself (\"%s\")", dn);
        for (size_t j = 0; j < i; j++)
            if (strcmp(json_string_value(json_object_get(json_array_get(deps, j), "name")), dn) == 0)
                return merr(err, file, p, "\"%s\" is already listed in depends[%zu]", dn, j);
    }
    static const char *const lists[] = {"provides", "requires", "domains"};
    for (size_t l = 0; l < ARRAY_LEN(lists); l++) {
        const json_t *arr = json_object_get(root, lists[l]), *e;
        json_array_foreach(arr, i, e)
        {
            int j = index_of(arr, i, json_string_value(e));
            snprintf(p, sizeof(p), "%s[%zu]", lists[l], i);
            if (j >= 0)
                return merr(err, file, p, "\"%s\" is already listed in %s[%d]", json_string_value(e),
                            lists[l], j);
        }
    }
    const json_t *req = json_object_get(root, "requires"), *e;
    json_array_foreach(req, i, e)
    {
        int j = index_of(json_object_get(root, "provides"), json_array_size(json_object_get(root, "provides")),
                         json_string_value(e));
        snprintf(p, sizeof(p), "requires[%zu]", i);
        if (j >= 0)
            return merr(err, file, p, "\"%s\" is provided by the module itself (provides[%d])",
                        json_string_value(e), j);
    }
    const json_t *doms = json_object_get(root, "domains");
    if (json_array_size(doms) > 1 && index_of(doms, json_array_size(doms), "*") >= 0)
        return merr(err, file, "domains", "expected either \"*\" alone or a list of policy names, got both");
    const char *mp = json_string_value(json_object_get(root, "mount_point"));
    const char *reload = json_string_value(json_object_get(root, "reload"));
    if (strcmp(reload, "swap") == 0 && strcmp(mp, "/") == 0)
        return merr(err, file, "reload", "expected \"restart\" or \"never\" for a module at mount_point "
                    "\"/\" (the root cannot be swapped under a running program), got \"swap\"");
    if (strlen(mp) > 1 && mp[strlen(mp) - 1] == '/')
        return merr(err, file, "mount_point", "expected a path without a trailing \"/\", got \"%s\"", mp);
    return 0;
}

static int enum_index(const char *s, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return (int)i;
    return 0;
}

int manifest_from_json(const json_t *doc, const char *label, struct gbox_manifest **out,
                       struct sbx_err **err)
{
    *out = NULL;
    struct vctx c = {label, err};
    if (!json_is_object(doc))
        return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "%s: expected a JSON object at the top level", label);
    if (schema_validate_fields(&c, image_schema_fields(), doc) < 0 ||
        schema_check_required(&c, "", image_schema_fields(), doc) < 0)
        return -1;
    json_t *root = json_deep_copy(doc);
    schema_fill_defaults(image_schema_fields(), root);
    if (check_semantics(label, root, err) < 0) {
        json_decref(root);
        return -1;
    }
    struct gbox_manifest *m = xcalloc(1, sizeof(*m));
    m->root = root;
    snprintf(m->name, sizeof(m->name), "%s", json_string_value(json_object_get(root, "name")));
    semver_parse(json_string_value(json_object_get(root, "version")), &m->version);
    semver_format(&m->version, m->version_text, sizeof(m->version_text));
    const json_t *deps = json_object_get(root, "depends"), *d;
    size_t i;
    m->deps = xcalloc(json_array_size(deps) + 1, sizeof(*m->deps));
    json_array_foreach(deps, i, d)
    {
        struct module_dep *md = &m->deps[m->n_deps++];
        snprintf(md->name, sizeof(md->name), "%s", json_string_value(json_object_get(d, "name")));
        snprintf(md->range_text, sizeof(md->range_text), "%s", json_string_value(json_object_get(d, "version")));
        semver_range_parse(md->range_text, &md->range);
    }
    m->provides = strings(json_object_get(root, "provides"));
    m->requires = strings(json_object_get(root, "requires"));
    m->domains = strings(json_object_get(root, "domains"));
    static const char *const sets[] = {"minimal", "standard", "full"};
    static const char *const reloads[] = {"swap", "restart", "never"};
    m->set = (enum module_set)enum_index(json_string_value(json_object_get(root, "set")), sets, 3);
    m->reload = (enum module_reload)enum_index(json_string_value(json_object_get(root, "reload")), reloads, 3);
    m->mount_point = xstrdup(json_string_value(json_object_get(root, "mount_point")));
    m->stateful = json_is_true(json_object_get(root, "stateful"));
    *out = m;
    return 0;
}

static int loaded(json_t *doc, const json_error_t *je, const char *file, struct gbox_manifest **out,
                  struct sbx_err **err)
{
    if (!doc) {
        if (je->line <= 0)
            return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "%s: %s", file, je->text);
        return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "%s:%d:%d: syntax error: %s", file, je->line,
                           je->column, je->text);
    }
    int rc = manifest_from_json(doc, file, out, err);
    json_decref(doc);
    return rc;
}

int manifest_load(const char *file, struct gbox_manifest **out, struct sbx_err **err)
{
    *out = NULL;
    json_error_t je;
    json_t *doc = json_load_file(file, JSON_REJECT_DUPLICATES, &je);
    return loaded(doc, &je, file, out, err);
}

int manifest_load_mem(const char *buf, size_t len, const char *label, struct gbox_manifest **out,
                      struct sbx_err **err)
{
    *out = NULL;
    json_error_t je;
    json_t *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    return loaded(doc, &je, label, out, err);
}

char *manifest_canonical(const struct gbox_manifest *m)
{
    char *s = json_dumps(m->root, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII);
    if (!s)
        abort();
    return s;
}

void manifest_free(struct gbox_manifest *m)
{
    if (!m)
        return;
    free(m->deps);
    free_strings(m->provides);
    free_strings(m->requires);
    free_strings(m->domains);
    free(m->mount_point);
    json_decref(m->root);
    free(m);
}
