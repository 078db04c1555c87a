/* schema.c — validate policy JSON against policies/schema.json (embedded in the binary), and fill
 * defaults. The schema is the single reference for field names, types, units, ranges and
 * defaults; this file knows only the meta-format (docs/policy-format-contract.md). */
#include "schema.h"

#include "units.h"
#include "names.h"
#include "netaddr.h"
#include "semver.h"
#include "syscall_groups.h"

#include <regex.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>

extern const char gbox_schema_json[];
extern const char gbox_image_schema_json[];

static json_t *load_embedded(const char *text, const char *what)
{
    json_error_t je;
    json_t *root = json_loads(text, 0, &je);
    if (!root) {
        fprintf(stderr, "gbox: embedded %s:%d:%d: %s\n", what, je.line, je.column, je.text);
        abort();
    }
    return root;
}

static json_t *policy_schema, *image_schema;

json_t *schema_get(void)
{
    if (!policy_schema)
        policy_schema = load_embedded(gbox_schema_json, "policies/schema.json");
    return policy_schema;
}

json_t *schema_fields(void) { return json_object_get(schema_get(), "fields"); }

json_t *image_schema_fields(void)
{
    if (!image_schema)
        image_schema = load_embedded(gbox_image_schema_json, "images/schema.json");
    return json_object_get(image_schema, "fields");
}

/* Render a JSON value short, for messages. */
void json_short(const json_t *v, char *buf, size_t len)
{
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!s) {
        snprintf(buf, len, "?");
        return;
    }
    if (strlen(s) > 60)
        snprintf(buf, len, "%.57s...", s);
    else
        snprintf(buf, len, "%s", s);
    free(s);
}

static const char *type_of(const json_t *f) { return json_string_value(json_object_get(f, "type")); }

/* Field paths for messages ("a.b[2].c"), built for every value validated: plain copies, not
 * snprintf, which cost more than the validation itself (callgrind, issue #10). Truncated and
 * terminated like snprintf. */
static void path_cat(char *buf, size_t len, size_t *at, const char *s)
{
    size_t n = strlen(s);
    if (*at + 1 >= len)
        return;
    if (n > len - 1 - *at)
        n = len - 1 - *at;
    memcpy(buf + *at, s, n);
    *at += n;
    buf[*at] = '\0';
}

/* path + "." + key, or key alone at the top */
static void path_key(char *buf, size_t len, const char *path, const char *key)
{
    size_t at = 0;
    buf[0] = '\0';
    path_cat(buf, len, &at, path);
    if (*path)
        path_cat(buf, len, &at, ".");
    path_cat(buf, len, &at, key);
}

/* path + "[" + i + "]" */
static void path_index(char *buf, size_t len, const char *path, size_t i)
{
    char num[24], *d = num + sizeof(num);
    *--d = '\0';
    *--d = ']';
    do
        *--d = (char)('0' + i % 10);
    while ((i /= 10) > 0);
    *--d = '[';
    size_t at = 0;
    buf[0] = '\0';
    path_cat(buf, len, &at, path);
    path_cat(buf, len, &at, d);
}

#define FAIL(ctx, path, ...) schema_fail(ctx, path, __VA_ARGS__)

static int schema_fail(const struct vctx *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int schema_fail(const struct vctx *c, const char *path, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return sbx_err_set(c->err, GBOX_EXIT_USAGE, 0, "%s: %s: %s", c->file, path, msg);
}

static int expect(const struct vctx *c, const char *path, const char *what, const json_t *got)
{
    char g[80];
    json_short(got, g, sizeof(g));
    return FAIL(c, path, "expected %s, got %s", what, g);
}

/* Compiled patterns, by the address of their text in the embedded schemas (parsed once, until
 * schema_release): a pattern is compiled once per process, not once per value (a module catalog
 * validates hundreds). */
static struct {
    const char *pat;
    regex_t re;
} cache[32];
static size_t n_cache;

void schema_release(void)
{
    for (size_t i = 0; i < n_cache; i++)
        regfree(&cache[i].re);
    n_cache = 0;
    json_decref(policy_schema);
    json_decref(image_schema);
    policy_schema = image_schema = NULL;
}

static const regex_t *pattern_regex(const char *pat)
{
    size_t n = n_cache;
    for (size_t i = 0; i < n; i++)
        if (cache[i].pat == pat)
            return &cache[i].re;
    if (n == sizeof(cache) / sizeof(cache[0]))
        return NULL;
    char full[512];
    snprintf(full, sizeof(full), "^(%s)$", pat);
    if (regcomp(&cache[n].re, full, REG_EXTENDED | REG_NOSUB) != 0)
        return NULL;
    cache[n].pat = pat;
    n_cache = n + 1;
    return &cache[n].re;
}

static int check_pattern(const struct vctx *c, const char *path, const json_t *f, const json_t *v)
{
    const char *s = json_string_value(v);
    const char *pat = json_string_value(json_object_get(f, "pattern"));
    if (!pat)
        return 0;
    const regex_t *re = pattern_regex(pat);
    regex_t own;
    if (!re) { /* cache full: compile for this value alone */
        char full[512];
        snprintf(full, sizeof(full), "^(%s)$", pat);
        if (regcomp(&own, full, REG_EXTENDED | REG_NOSUB) != 0)
            return FAIL(c, path, "schema pattern %s does not compile", pat);
    }
    int m = regexec(re ? re : &own, s, 0, NULL, 0);
    if (!re)
        regfree(&own);
    if (m != 0) {
        char what[600];
        snprintf(what, sizeof(what), "a string matching %s", pat);
        return expect(c, path, what, v);
    }
    return 0;
}

static int check_range(const struct vctx *c, const char *path, const json_t *f, double v,
                       const json_t *orig, double (*conv)(const json_t *, bool *), const char *what)
{
    bool ok = true;
    const json_t *mn = json_object_get(f, "min"), *mx = json_object_get(f, "max");
    char b[80], g[80];
    if (mn && v < conv(mn, &ok)) {
        json_short(orig, g, sizeof(g));
        json_short(mn, b, sizeof(b));
        return FAIL(c, path, "expected %s of at least %s, got %s", what, b, g);
    }
    if (mx && v > conv(mx, &ok)) {
        json_short(orig, g, sizeof(g));
        json_short(mx, b, sizeof(b));
        return FAIL(c, path, "expected %s of at most %s, got %s", what, b, g);
    }
    return 0;
}

static double conv_num(const json_t *j, bool *ok)
{
    *ok = json_is_number(j);
    return json_number_value(j);
}
static double conv_size(const json_t *j, bool *ok)
{
    int64_t v = -1;
    *ok = parse_size_json(j, &v) == 0;
    return (double)v;
}
static double conv_dur(const json_t *j, bool *ok)
{
    int64_t v = -1;
    *ok = json_is_string(j) && parse_duration(json_string_value(j), &v) == 0;
    return (double)v;
}

static int check_syscall_list(const struct vctx *c, const char *path, const json_t *v, bool groups)
{
    if (!json_is_array(v))
        return expect(c, path, "an array of syscall names", v);
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e)
    {
        char p[512];
        path_index(p, sizeof(p), path, i);
        const char *s = json_string_value(e);
        if (!s)
            return expect(c, p, "a syscall name or @group", e);
        if (s[0] == '@') {
            if (!groups)
                return FAIL(c, p, "expected a syscall name (groups are not allowed here), got \"%s\"", s);
            if (!syscall_group_find(s)) {
                char known[1024];
                syscall_group_names(known, sizeof(known));
                return FAIL(c, p, "unknown syscall group \"%s\" (known: %s)", s, known);
            }
        } else if (seccomp_syscall_resolve_name(s) == __NR_SCMP_ERROR) {
            return FAIL(c, p, "unknown syscall \"%s\"", s);
        }
    }
    return 0;
}

static int validate_field(const struct vctx *c, const char *path, const json_t *f, const json_t *v);

static int validate_object(const struct vctx *c, const char *path, const json_t *fields,
                           const json_t *v)
{
    if (!json_is_object(v))
        return expect(c, path, "an object", v);
    const char *k;
    const json_t *val;
    json_object_foreach((json_t *)v, k, val)
    {
        char p[512];
        path_key(p, sizeof(p), path, k);
        const json_t *f = json_object_get(fields, k);
        if (!f) {
            char known[768] = "";
            size_t n = 0;
            const char *fk;
            const json_t *fv;
            json_object_foreach((json_t *)fields, fk, fv)
            {
                n += (size_t)snprintf(known + n, n < sizeof(known) ? sizeof(known) - n : 0, "%s%s",
                                      n ? ", " : "", fk);
                (void)fv;
            }
            return FAIL(c, p, "unknown field (known here: %s)", known);
        }
        if (validate_field(c, p, f, val) < 0)
            return -1;
    }
    return 0;
}

static int validate_field(const struct vctx *c, const char *path, const json_t *f, const json_t *v)
{
    const char *t = type_of(f);
    if (json_is_null(v)) {
        if (json_is_true(json_object_get(f, "nullable")))
            return 0;
        char what[64];
        snprintf(what, sizeof(what), "a value of type %s (null is not allowed here)", t);
        return expect(c, path, what, v);
    }
    const json_t *cst = json_object_get(f, "const");
    if (cst && !json_equal((json_t *)cst, (json_t *)v)) {
        char b[80], what[128];
        json_short(cst, b, sizeof(b));
        snprintf(what, sizeof(what), "%s (this field cannot be changed)", b);
        return expect(c, path, what, v);
    }
    if (strcmp(t, "object") == 0)
        return validate_object(c, path, json_object_get(f, "fields"), v);
    if (strcmp(t, "map") == 0) {
        if (!json_is_object(v))
            return expect(c, path, "an object", v);
        const char *k;
        const json_t *val;
        json_object_foreach((json_t *)v, k, val)
        {
            char p[512];
            size_t at = 0;
            p[0] = '\0';
            path_cat(p, sizeof(p), &at, path);
            path_cat(p, sizeof(p), &at, ".");
            path_cat(p, sizeof(p), &at, k);
            if (validate_field(c, p, json_object_get(f, "values"), val) < 0)
                return -1;
        }
        return 0;
    }
    if (strcmp(t, "array") == 0) {
        if (!json_is_array(v))
            return expect(c, path, "an array", v);
        const json_t *mn = json_object_get(f, "min_items"), *mx = json_object_get(f, "max_items");
        if (mn && json_array_size(v) < (size_t)json_integer_value(mn))
            return FAIL(c, path, "expected at least %lld items, got %zu",
                        (long long)json_integer_value(mn), json_array_size(v));
        if (mx && json_array_size(v) > (size_t)json_integer_value(mx))
            return FAIL(c, path, "expected at most %lld items, got %zu",
                        (long long)json_integer_value(mx), json_array_size(v));
        size_t i;
        const json_t *e;
        json_array_foreach(v, i, e)
        {
            char p[512];
            path_index(p, sizeof(p), path, i);
            if (validate_field(c, p, json_object_get(f, "items"), e) < 0)
                return -1;
        }
        return 0;
    }
    if (strcmp(t, "string") == 0 || strcmp(t, "path") == 0) {
        const char *s = json_string_value(v);
        if (!s)
            return expect(c, path, strcmp(t, "path") == 0 ? "an absolute path" : "a string", v);
        if (strcmp(t, "path") == 0 && (s[0] != '/' || strstr(s, "/../") || strstr(s, "//") ||
                                       (strlen(s) >= 3 && strcmp(s + strlen(s) - 3, "/..") == 0)))
            return expect(c, path, "an absolute path without \"..\" or \"//\"", v);
        const json_t *mx = json_object_get(f, "max_len");
        if (mx && strlen(s) > (size_t)json_integer_value(mx))
            return FAIL(c, path, "expected at most %lld characters", (long long)json_integer_value(mx));
        return check_pattern(c, path, f, v);
    }
    if (strcmp(t, "bool") == 0)
        return json_is_boolean(v) ? 0 : expect(c, path, "true or false", v);
    if (strcmp(t, "int") == 0) {
        if (!json_is_integer(v))
            return expect(c, path, "an integer", v);
        return check_range(c, path, f, (double)json_integer_value(v), v, conv_num, "a value");
    }
    if (strcmp(t, "number") == 0) {
        if (!json_is_number(v))
            return expect(c, path, "a number", v);
        return check_range(c, path, f, json_number_value(v), v, conv_num, "a value");
    }
    if (strcmp(t, "size") == 0) {
        int64_t sz;
        if (parse_size_json(v, &sz) < 0)
            return expect(c, path, "a size like \"256M\" (K, M, G, T) or a number of bytes", v);
        return check_range(c, path, f, (double)sz, v, conv_size, "a size");
    }
    if (strcmp(t, "duration") == 0) {
        int64_t ms;
        if (!json_is_string(v) || parse_duration(json_string_value(v), &ms) < 0)
            return expect(c, path, "a duration like \"300s\", \"1500ms\", \"5m\" or \"1h\"", v);
        return check_range(c, path, f, (double)ms, v, conv_dur, "a duration");
    }
    if (strcmp(t, "enum") == 0) {
        const json_t *vals = json_object_get(f, "values");
        size_t i;
        const json_t *e;
        json_array_foreach(vals, i, e) if (json_equal((json_t *)e, (json_t *)v)) return 0;
        char list[256];
        json_short(vals, list, sizeof(list));
        char what[300];
        snprintf(what, sizeof(what), "one of %s", list);
        return expect(c, path, what, v);
    }
    if (strcmp(t, "syscalls") == 0)
        return check_syscall_list(c, path, v, !json_is_false(json_object_get(f, "groups")));
    if (strcmp(t, "action") == 0) {
        const char *s = json_string_value(v);
        if (!s || parse_action(s, NULL) < 0)
            return expect(c, path, "a seccomp action: allow, kill, log, trap or errno:NAME", v);
        return 0;
    }
    if (strcmp(t, "capabilities") == 0) {
        if (!json_is_array(v))
            return expect(c, path, "an array of capability names", v);
        size_t i;
        const json_t *e;
        json_array_foreach(v, i, e)
        {
            char p[512];
            path_index(p, sizeof(p), path, i);
            if (!json_is_string(e) || cap_from_name(json_string_value(e)) < 0)
                return expect(c, p, "a capability name like \"CAP_NET_BIND_SERVICE\"", e);
        }
        return 0;
    }
    if (strcmp(t, "ipv4") == 0) {
        uint32_t a;
        if (ipv4_parse(json_string_value(v), &a) < 0)
            return expect(c, path, "an IPv4 address like \"10.200.0.2\"", v);
        return 0;
    }
    if (strcmp(t, "cidr") == 0) {
        uint32_t a;
        unsigned pfx;
        if (cidr_parse(json_string_value(v), &a, &pfx) < 0)
            return expect(c, path, "an IPv4 network like \"10.200.0.0/16\"", v);
        if (!cidr_is_network(a, pfx)) {
            char what[96], b[16];
            snprintf(what, sizeof(what), "a network address without host bits (\"%s/%u\")",
                     ipv4_str(a & ipv4_mask(pfx), b, sizeof(b)), pfx);
            return expect(c, path, what, v);
        }
        return 0;
    }
    if (strcmp(t, "port_range") == 0) {
        uint16_t lo, hi;
        char buf[16] = "";
        if (json_is_integer(v))
            snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
        if (port_range_parse(json_is_string(v) ? json_string_value(v) : buf, &lo, &hi) < 0)
            return expect(c, path, "a port 1..65535 or a range \"LOW-HIGH\"", v);
        return 0;
    }
    if (strcmp(t, "semver") == 0) {
        struct semver sv;
        if (!json_is_string(v) || semver_parse(json_string_value(v), &sv) < 0)
            return expect(c, path, "a version like \"1.2.3\" or \"2.0.0-rc.1\" (SemVer)", v);
        return 0;
    }
    if (strcmp(t, "semver_range") == 0) {
        struct semver_range r;
        if (!json_is_string(v) || semver_range_parse(json_string_value(v), &r) < 0)
            return expect(c, path, "a version range like \"^1.2\", \">=1.0 <2.0\", \"1.x\" or \"*\"", v);
        return 0;
    }
    if (strcmp(t, "module_ref") == 0) {
        struct semver_range r;
        char name[80];
        if (!json_is_string(v) || module_ref_parse(json_string_value(v), name, sizeof(name), &r) < 0)
            return expect(c, path, "a module name, optionally with @ and a version range (\"stdlib@^1.2\")", v);
        return 0;
    }
    if (strcmp(t, "failure_action") == 0) {
        const char *s = json_string_value(v);
        if (!s || parse_failure_action(s) < 0)
            return expect(c, path,
                          "ignore, kill, restart, rollback, signal:NAME or fallback:POLICY", v);
        return 0;
    }
    return FAIL(c, path, "schema has unknown type \"%s\"", t ? t : "(none)");
}

int schema_validate(const struct vctx *c, const json_t *policy)
{
    return validate_object(c, "", schema_fields(), policy);
}

int schema_validate_fields(const struct vctx *c, const json_t *fields, const json_t *doc)
{
    return validate_object(c, "", fields, doc);
}

int schema_check_required(const struct vctx *c, const char *path, const json_t *fields,
                          const json_t *obj)
{
    const char *k;
    const json_t *f;
    json_object_foreach((json_t *)fields, k, f)
    {
        char p[512];
        path_key(p, sizeof(p), path, k);
        const json_t *v = json_object_get(obj, k);
        if (!v && json_is_true(json_object_get(f, "required")))
            return FAIL(c, p, "required field is missing");
        const char *t = type_of(f);
        if (v && strcmp(t, "object") == 0 &&
            schema_check_required(c, p, json_object_get(f, "fields"), v) < 0)
            return -1;
        const json_t *items = json_object_get(f, "items");
        if (v && json_is_array(v) && items && strcmp(type_of(items), "object") == 0) {
            size_t i;
            const json_t *e;
            json_array_foreach(v, i, e)
            {
                char q[540];
                path_index(q, sizeof(q), p, i);
                if (schema_check_required(c, q, json_object_get(items, "fields"), e) < 0)
                    return -1;
            }
        }
    }
    return 0;
}

void schema_fill_defaults(const json_t *fields, json_t *obj)
{
    const char *k;
    const json_t *f;
    json_object_foreach((json_t *)fields, k, f)
    {
        json_t *cur = json_object_get(obj, k);
        const char *t = type_of(f);
        if (strcmp(t, "object") == 0) {
            if (!cur) {
                cur = json_object();
                json_object_set_new(obj, k, cur);
            }
            schema_fill_defaults(json_object_get(f, "fields"), cur);
            continue;
        }
        if (!cur && json_object_get(f, "default"))
            json_object_set_new(obj, k, json_deep_copy(json_object_get(f, "default")));
        /* arrays of objects: fill each element's defaults */
        const json_t *items = json_object_get(f, "items");
        if (cur && json_is_array(cur) && items && strcmp(type_of(items), "object") == 0) {
            size_t i;
            json_t *e;
            json_array_foreach(cur, i, e) schema_fill_defaults(json_object_get(items, "fields"), e);
        }
    }
}

const json_t *schema_field_at(const char *dotted)
{
    const json_t *fields = schema_fields(), *f = NULL;
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", dotted);
    char *save = NULL;
    for (char *t = strtok_r(buf, ".", &save); t; t = strtok_r(NULL, ".", &save)) {
        if (!fields)
            return NULL;
        f = json_object_get(fields, t);
        if (!f)
            return NULL;
        fields = json_object_get(f, "fields");
    }
    return f;
}
