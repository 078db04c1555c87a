/* request.c — the daemon's requests, validated field by field before anything acts on them
 * (docs/api.md is the contract; tests/fuzz/fuzz_request.c fuzzes this file). A bad request is
 * answered with the field and what was expected, and changes nothing. */
#include "request.h"

#include "names.h"
#include "restart.h"
#include "semver.h"
#include "../sandbox/util.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum ftype {
    F_STRING,   /* any string */
    F_ID,       /* a sandbox id, id prefix or name: 1-64 bytes */
    F_POLICY,   /* a policy name or file: non-empty */
    F_NAME,     /* [A-Za-z0-9._-]{1,64} */
    F_BOOL,
    F_MS,       /* integer, 0 .. REQUEST_MAX_MS */
    F_COUNT,    /* integer, 0 .. INT32_MAX */
    F_ARGV,     /* non-empty array of strings */
    F_ENV,      /* array of NAME=VALUE */
    F_MODULES,  /* array of NAME[@RANGE] */
    F_RESTART,  /* never | on-failure | always */
    F_SIGNAL,   /* a signal name or number */
    F_STREAM,   /* stdout | stderr */
};

struct field {
    const char *name;
    enum ftype type;
    bool required;
};

#define MAX_FIELDS 10
struct op_spec {
    const char *op;
    struct field fields[MAX_FIELDS];
};

/* a week: more is a typo, and mono_ms() + grace must not overflow */
#define REQUEST_MAX_MS (7LL * 24 * 3600 * 1000)

static const struct op_spec ops[] = {
    {"spawn",
     {{"argv", F_ARGV, true},
      {"in_image", F_BOOL, false},
      {"policy", F_POLICY, false},
      {"name", F_NAME, false},
      {"restart", F_RESTART, false},
      {"env", F_ENV, false},
      {"modules", F_MODULES, false}}},
    {"ps", {{0}}},
    {"metrics", {{0}}},
    {"events", {{"follow", F_BOOL, false}, {"filter_id", F_STRING, false}, {"filter_type", F_STRING, false}}},
    {"emergency-stop", {{"domain", F_STRING, true}}},
    {"inspect", {{"id", F_ID, true}}},
    {"stats", {{"id", F_ID, true}}},
    {"rm", {{"id", F_ID, true}}},
    {"stop", {{"id", F_ID, true}, {"grace_ms", F_MS, false}}},
    {"kill", {{"id", F_ID, true}, {"signal", F_SIGNAL, false}}},
    {"logs", {{"id", F_ID, true}, {"stream", F_STREAM, false}, {"tail", F_COUNT, false}, {"follow", F_BOOL, false}}},
};

/* The longest prefix of s (at most max bytes) that ends on a UTF-8 character boundary. */
static size_t utf8_prefix(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return n;
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

/* A value quoted in a message: at most 100 bytes of it, "..." when cut. */
static const char *shown(const char *s, char *buf, size_t len)
{
    size_t n = utf8_prefix(s, len > 4 ? len - 4 : 0);
    snprintf(buf, len, "%.*s%s", (int)n, s, s[n] ? "..." : "");
    return buf;
}

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    err[utf8_prefix(err, errlen - 1)] = '\0';
    return -1;
}

static bool valid_name(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len > 64)
        return false;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            return false;
    return true;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* Each element of the array field f a string that ok() accepts. */
static int check_list(const char *op, const struct field *f, const json_t *v, bool (*ok)(const char *),
                      const char *what, char *err, size_t errlen)
{
    char b[104];
    if (!json_is_array(v))
        return fail(err, errlen, "%s: \"%s\": expected an array of %s, got %s", op, f->name, what, type_name(v));
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e))
            return fail(err, errlen, "%s: \"%s[%zu]\": expected %s, got %s", op, f->name, i, what, type_name(e));
        if (!ok(json_string_value(e)))
            return fail(err, errlen, "%s: \"%s[%zu]\": expected %s, got \"%s\"", op, f->name, i, what,
                        shown(json_string_value(e), b, sizeof(b)));
    }
    return 0;
}

static bool any_string(const char *s) { return s != NULL; }

static bool env_entry(const char *s)
{
    const char *eq = strchr(s, '=');
    return eq && eq != s;
}

static bool module_entry(const char *s)
{
    char name[65];
    struct semver_range r;
    return module_ref_parse(s, name, sizeof(name), &r) == 0;
}

static int check_field(const char *op, const struct field *f, const json_t *v, char *err, size_t errlen)
{
    char b[104];
    const char *s = json_string_value(v);
    switch (f->type) {
    case F_BOOL:
        if (!json_is_boolean(v))
            return fail(err, errlen, "%s: \"%s\": expected true or false, got %s", op, f->name, type_name(v));
        return 0;
    case F_MS:
    case F_COUNT: {
        json_int_t max = f->type == F_MS ? REQUEST_MAX_MS : INT32_MAX;
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max) {
            if (json_is_integer(v))
                return fail(err, errlen, "%s: \"%s\": expected an integer from 0 to %lld, got %lld", op, f->name,
                            (long long)max, (long long)json_integer_value(v));
            return fail(err, errlen, "%s: \"%s\": expected an integer from 0 to %lld, got %s", op, f->name,
                        (long long)max, type_name(v));
        }
        return 0;
    }
    case F_ARGV:
        if (!json_is_array(v) || json_array_size(v) == 0)
            return fail(err, errlen, "%s: \"%s\": expected a non-empty array of strings", op, f->name);
        return check_list(op, f, v, any_string, "a string", err, errlen);
    case F_ENV:
        return check_list(op, f, v, env_entry, "a string NAME=VALUE", err, errlen);
    case F_MODULES:
        return check_list(op, f, v, module_entry, "a string NAME[@RANGE]", err, errlen);
    default:
        break;
    }
    if (!s)
        return fail(err, errlen, "%s: \"%s\": expected a string, got %s", op, f->name, type_name(v));
    enum restart_mode mode;
    switch (f->type) {
    case F_ID:
        if (!*s || strlen(s) > 64)
            return fail(err, errlen, "%s: \"%s\": expected an id, a unique id prefix or a name (1-64 characters), got \"%s\"",
                        op, f->name, shown(s, b, sizeof(b)));
        return 0;
    case F_POLICY:
        if (!*s)
            return fail(err, errlen, "%s: \"%s\": expected a policy name or file, got \"\"", op, f->name);
        return 0;
    case F_NAME:
        if (!valid_name(s))
            return fail(err, errlen, "%s: \"%s\": expected 1-64 characters of [A-Za-z0-9._-], got \"%s\"", op,
                        f->name, shown(s, b, sizeof(b)));
        return 0;
    case F_RESTART:
        if (restart_mode_parse(s, &mode) < 0)
            return fail(err, errlen, "%s: \"%s\": expected never, on-failure or always, got \"%s\"", op, f->name,
                        shown(s, b, sizeof(b)));
        return 0;
    case F_SIGNAL:
        if (signal_from_name(s) <= 0)
            return fail(err, errlen, "%s: \"%s\": expected a signal name like TERM or SIGKILL, got \"%s\"", op,
                        f->name, shown(s, b, sizeof(b)));
        return 0;
    case F_STREAM:
        if (strcmp(s, "stdout") != 0 && strcmp(s, "stderr") != 0)
            return fail(err, errlen, "%s: \"%s\": expected stdout or stderr, got \"%s\"", op, f->name,
                        shown(s, b, sizeof(b)));
        return 0;
    default:
        return 0;
    }
}

/* What a field's value says about the others: a host program is named by absolute path. */
static int check_spawn(const json_t *rq, char *err, size_t errlen)
{
    char b[104];
    const char *prog = json_string_value(json_array_get(json_object_get(rq, "argv"), 0));
    if (!json_is_true(json_object_get(rq, "in_image")) && prog[0] != '/')
        return fail(err, errlen, "spawn: \"argv[0]\": expected an absolute host path (or in_image), got \"%s\"",
                    shown(prog, b, sizeof(b)));
    return 0;
}

static int check_op(const struct op_spec *spec, const json_t *rq, char *err, size_t errlen)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)rq, key, v)
    {
        if (strcmp(key, "op") == 0)
            continue;
        const struct field *f = NULL;
        for (size_t i = 0; i < MAX_FIELDS && spec->fields[i].name && !f; i++)
            if (strcmp(spec->fields[i].name, key) == 0)
                f = &spec->fields[i];
        char b[104];
        if (!f)
            return fail(err, errlen, "%s: \"%s\": unknown field (docs/api.md lists the fields of each op)",
                        spec->op, shown(key, b, sizeof(b)));
        if (check_field(spec->op, f, v, err, errlen) < 0)
            return -1;
    }
    for (size_t i = 0; i < MAX_FIELDS && spec->fields[i].name; i++)
        if (spec->fields[i].required && !json_object_get(rq, spec->fields[i].name)) {
            if (spec->fields[i].type == F_ARGV)
                return fail(err, errlen, "%s: \"%s\": expected a non-empty array of strings", spec->op,
                            spec->fields[i].name);
            return fail(err, errlen, "%s: \"%s\": required", spec->op, spec->fields[i].name);
        }
    if (strcmp(spec->op, "spawn") == 0)
        return check_spawn(rq, err, errlen);
    return 0;
}

json_t *request_parse(const char *line, size_t len, char *err, size_t errlen)
{
    json_error_t je;
    json_t *rq = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
    if (!rq) {
        fail(err, errlen, "request: column %d: %s", je.column, je.text);
        return NULL;
    }
    if (!json_is_object(rq)) {
        fail(err, errlen, "request: expected a JSON object");
        json_decref(rq);
        return NULL;
    }
    const char *op = json_string_value(json_object_get(rq, "op"));
    if (!op) {
        fail(err, errlen, "request: \"op\": expected a string");
        json_decref(rq);
        return NULL;
    }
    for (size_t i = 0; i < ARRAY_LEN(ops); i++)
        if (strcmp(op, ops[i].op) == 0) {
            if (check_op(&ops[i], rq, err, errlen) < 0) {
                json_decref(rq);
                return NULL;
            }
            break;
        }
    return rq;
}

json_t *request_error_reply(const char *msg)
{
    json_t *r = json_pack("{s:b,s:s}", "ok", 0, "error", msg);
    if (!r) { /* not valid UTF-8 (a cut character): the message with "?" for each non-ASCII byte */
        char b[REQUEST_MAX_ERROR];
        snprintf(b, sizeof(b), "%s", msg);
        for (char *p = b; *p; p++)
            if ((unsigned char)*p >= 0x80)
                *p = '?';
        r = json_pack("{s:b,s:s}", "ok", 0, "error", b);
    }
    if (!r)
        abort();
    return r;
}
