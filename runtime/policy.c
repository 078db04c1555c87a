/* policy.c — load a domain policy: parse (syntax errors with line:column), validate each file of
 * the `extends` chain against the schema, deep-merge parent-first, fill the schema's defaults,
 * check what no single field can say (contradictions), and hand out the resolved JSON.
 * A policy that fails any of this changes nothing anywhere: nothing runs. */
#include "policy.h"

#include "names.h"
#include "netaddr.h"
#include "paths.h"
#include "policy_cache.h"
#include "schema.h"
#include "seccomp_plan.h"
#include "semver.h"
#include "units.h"
#include "../sandbox/util.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_DEPTH 16

/* policy_load: [realpath, sha256] of each file load_chain parsed, for the cache (NULL: not
 * recording); chain_unhashed when one was parsed without its bytes in hand. */
static json_t *chain_deps;
static bool chain_unhashed;

static int perr(struct sbx_err **err, const char *file, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int perr(struct sbx_err **err, const char *file, const char *path, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "%s: %s: %s", file, path, msg);
}

bool policy_arg_is_file(const char *arg)
{
    size_t n = strlen(arg);
    return strchr(arg, '/') || (n > 5 && strcmp(arg + n - 5, ".json") == 0);
}

int policy_path(const char *arg, const char *relative_to, char *out, size_t len, struct sbx_err **err)
{
    if (policy_arg_is_file(arg)) {
        if (arg[0] == '/' || !relative_to)
            snprintf(out, len, "%s", arg);
        else
            snprintf(out, len, "%s/%s", relative_to, arg);
        return 0;
    }
    if (arg[0] == '\0' || strspn(arg, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(arg))
        return sbx_err_set(err, GBOX_EXIT_USAGE, 0,
                           "policy name \"%s\": expected lowercase letters, digits, _ and -", arg);
    const char *dir = relative_to ? relative_to : gbox_policy_dir();
    snprintf(out, len, "%s/%s.json", dir, arg);
    struct stat st;
    if (stat(out, &st) < 0)
        return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "policy \"%s\" not found (looked for %s; `gbox "
                           "policy list` shows the available ones)", arg, out);
    return 0;
}

/* Parse one policy document (from file, or from buf when buf is not NULL; file then only names
 * it in messages) and validate it against the schema. */
static json_t *load_doc(const char *file, const char *buf, size_t len, struct sbx_err **err)
{
    json_error_t je;
    json_t *doc = buf ? json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je)
                      : json_load_file(file, JSON_REJECT_DUPLICATES, &je);
    if (!doc) {
        if (je.line <= 0) {
            sbx_err_set(err, GBOX_EXIT_USAGE, 0, "%s: %s", file, je.text);
            return NULL;
        }
        sbx_err_set(err, GBOX_EXIT_USAGE, 0, "%s:%d:%d: syntax error: %s", file, je.line, je.column,
                    je.text);
        return NULL;
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        sbx_err_set(err, GBOX_EXIT_USAGE, 0, "%s: expected a JSON object at the top level", file);
        return NULL;
    }
    struct vctx c = {file, err};
    if (schema_validate(&c, doc) < 0) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* Merge src into dst following the schema: objects and maps deep-merge, arrays replace unless
 * the field says "merge": "append", scalars replace. */
static void merge(const json_t *fields, json_t *dst, const json_t *src)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)src, k, v)
    {
        const json_t *f = fields ? json_object_get(fields, k) : NULL;
        const char *t = f ? json_string_value(json_object_get(f, "type")) : NULL;
        json_t *cur = json_object_get(dst, k);
        if (t && cur && json_is_object(cur) && json_is_object(v) &&
            (strcmp(t, "object") == 0 || strcmp(t, "map") == 0)) {
            merge(strcmp(t, "object") == 0 ? json_object_get(f, "fields") : NULL, cur, v);
        } else if (t && cur && json_is_array(cur) && json_is_array(v) &&
                   json_is_string(json_object_get(f, "merge")) &&
                   strcmp(json_string_value(json_object_get(f, "merge")), "append") == 0) {
            json_array_extend(cur, v);
        } else {
            json_object_set_new(dst, k, json_deep_copy(v));
        }
    }
}

static json_t *load_chain(const char *file, char visited[][PATH_MAX], int depth, struct sbx_err **err);

/* doc (already validated, from file, whose directory is dir) merged onto its ancestors. */
static json_t *load_parents(json_t *doc, const char *file, const char *dir, char visited[][PATH_MAX],
                            int depth, struct sbx_err **err)
{
    const char *ext = json_string_value(json_object_get(doc, "extends"));
    if (!ext)
        return doc;
    char parent[PATH_MAX];
    if (policy_path(ext, dir, parent, sizeof(parent), err) < 0) {
        json_decref(doc);
        return (void)sbx_err_wrap(err, "%s: extends", file), NULL;
    }
    struct stat pst;
    if (stat(parent, &pst) < 0) {
        int e = errno;
        json_decref(doc);
        return (void)sbx_err_set(err, GBOX_EXIT_USAGE, e, "%s: extends: %s", file, parent), NULL;
    }
    json_t *base = load_chain(parent, visited, depth + 1, err);
    if (!base) {
        json_decref(doc);
        return NULL;
    }
    merge(schema_fields(), base, doc);
    json_decref(doc);
    return base;
}

/* Load file and its ancestors; returns the merged (not yet defaulted) document. */
static json_t *load_chain(const char *file, char visited[][PATH_MAX], int depth, struct sbx_err **err)
{
    char real[PATH_MAX];
    if (!realpath(file, real)) {
        sbx_err_set(err, GBOX_EXIT_USAGE, errno, "%s", file);
        return NULL;
    }
    for (int i = 0; i < depth; i++) {
        if (strcmp(visited[i], real) == 0) {
            sbx_err_set(err, GBOX_EXIT_USAGE, 0, "%s: extends: inheritance cycle through %s", file, real);
            return NULL;
        }
    }
    if (depth >= MAX_DEPTH) {
        sbx_err_set(err, GBOX_EXIT_USAGE, 0, "%s: extends: more than %d levels of inheritance", file,
                    MAX_DEPTH);
        return NULL;
    }
    snprintf(visited[depth], PATH_MAX, "%s", real);
    size_t blen = 0;
    char fp[160] = "";
    char *buf = policy_cache_read(real, &blen, fp, sizeof(fp)); /* json_load_file says why a file cannot be read */
    json_t *doc = buf ? load_doc(file, buf, blen, err) : load_doc(file, NULL, 0, err);
    if (doc && chain_deps && buf) {
        char hex[65];
        policy_cache_digest(buf, blen, hex);
        /* the path as named too: a symlink on the chain retargeted to another file misses */
        json_array_append_new(chain_deps, json_pack("[ssss]", real, hex, file[0] == '/' ? file : real, fp));
    } else if (doc && chain_deps) {
        chain_unhashed = true;
    }
    free(buf);
    if (!doc)
        return NULL;
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", real);
    return load_parents(doc, file, dirname(dir), visited, depth, err);
}

static int check_handlers(const char *file, const json_t *root, struct sbx_err **err)
{
    const json_t *hs = json_object_get(json_object_get(root, "interpreter"), "handlers");
    size_t i, j;
    const json_t *h, *e;
    json_array_foreach(hs, i, h)
    {
        char p[128];
        const json_t *cmd = json_object_get(h, "command");
        int n_prog = 0;
        json_array_foreach(cmd, j, e) n_prog += strcmp(json_string_value(e), "{program}") == 0;
        snprintf(p, sizeof(p), "interpreter.handlers[%zu].command", i);
        if (n_prog != 1)
            return perr(err, file, p, "expected exactly one element to be \"{program}\", got %d", n_prog);
        if (json_string_value(json_array_get(cmd, 0))[0] != '/')
            return perr(err, file, p, "expected the interpreter as an absolute path inside the image, got \"%s\"",
                        json_string_value(json_array_get(cmd, 0)));
        /* an extension handled twice is ambiguous */
        const json_t *exts = json_object_get(h, "extensions");
        json_array_foreach(exts, j, e)
        {
            size_t k;
            const json_t *h2;
            json_array_foreach(hs, k, h2)
            {
                size_t m;
                const json_t *e2;
                if (k >= i)
                    break;
                json_array_foreach(json_object_get(h2, "extensions"), m, e2) if (json_equal((json_t *)e, (json_t *)e2))
                {
                    snprintf(p, sizeof(p), "interpreter.handlers[%zu].extensions[%zu]", i, j);
                    return perr(err, file, p, "\"%s\" is already handled by interpreter.handlers[%zu]",
                                json_string_value(e), k);
                }
            }
        }
    }
    return 0;
}

/* Each resources.io entry limits something, and names a device only once. */
static int check_io(const char *file, const json_t *root, struct sbx_err **err)
{
    const json_t *io = json_object_get(json_object_get(root, "resources"), "io"), *e, *f;
    size_t i, j;
    json_array_foreach(io, i, e)
    {
        char p[64];
        snprintf(p, sizeof(p), "resources.io[%zu]", i);
        static const char *const keys[] = {"read_bps", "write_bps", "read_iops", "write_iops"};
        bool any = false;
        for (size_t k = 0; k < 4; k++)
            any |= !json_is_null(json_object_get(e, keys[k])) && json_object_get(e, keys[k]);
        if (!any)
            return perr(err, file, p, "expected at least one of read_bps, write_bps, read_iops, write_iops, got none");
        const char *dev = json_string_value(json_object_get(e, "device"));
        json_array_foreach(io, j, f)
        {
            if (j < i && strcmp(dev, json_string_value(json_object_get(f, "device"))) == 0) {
                snprintf(p, sizeof(p), "resources.io[%zu].device", i);
                return perr(err, file, p, "\"%s\" is already limited by resources.io[%zu]", dev, j);
            }
        }
    }
    return 0;
}

/* The network section: fields that only mean something in one mode, addresses that must fit
 * together, ports only where a protocol has them. */
static int check_network(const char *file, const json_t *root, struct sbx_err **err)
{
    const json_t *net = json_object_get(root, "network");
    const char *mode = json_string_value(json_object_get(net, "mode"));
    char g[80];
    if (strcmp(mode, "host") == 0 && json_is_true(json_object_get(json_object_get(root, "user"), "namespace")) &&
        !json_is_true(json_object_get(net, "allow_host_with_userns")))
        return perr(err, file, "network.mode",
                    "expected none, loopback or veth with user.namespace true (set "
                    "network.allow_host_with_userns to share the host's network from a user "
                    "namespace), got \"host\"");
    static const char *const veth_only[] = {"address", "host_address", "egress"};
    for (size_t i = 0; i < ARRAY_LEN(veth_only); i++) {
        const json_t *v = json_object_get(net, veth_only[i]);
        char p[64];
        snprintf(p, sizeof(p), "network.%s", veth_only[i]);
        if (strcmp(mode, "veth") != 0 && !json_is_null(v)) {
            json_short(v, g, sizeof(g));
            return perr(err, file, p, "expected null with network.mode \"%s\" (only veth uses it), got %s",
                        mode, g);
        }
    }
    unsigned prefix = (unsigned)json_integer_value(json_object_get(net, "prefix")), pool_prefix;
    uint32_t pool, addr, host;
    cidr_parse(json_string_value(json_object_get(net, "pool")), &pool, &pool_prefix);
    if (prefix < pool_prefix)
        return perr(err, file, "network.prefix",
                    "expected at least the prefix length of network.pool (/%u), got %u", pool_prefix, prefix);
    const json_t *ja = json_object_get(net, "address"), *jh = json_object_get(net, "host_address");
    if (json_is_null(ja) && !json_is_null(jh)) {
        json_short(jh, g, sizeof(g));
        return perr(err, file, "network.host_address",
                    "expected null when network.address is null (the pool gives both ends), got %s", g);
    }
    if (!json_is_null(ja)) {
        ipv4_parse(json_string_value(ja), &addr);
        uint32_t subnet = addr & ipv4_mask(prefix);
        char n[16];
        ipv4_str(subnet, n, sizeof(n));
        if (!cidr_usable(subnet, prefix, addr))
            return perr(err, file, "network.address",
                        "expected an address an interface can have in %s/%u (not its network or "
                        "broadcast address), got \"%s\"", n, prefix, json_string_value(ja));
        if (!json_is_null(jh)) {
            ipv4_parse(json_string_value(jh), &host);
            if (!cidr_usable(subnet, prefix, host) || host == addr)
                return perr(err, file, "network.host_address",
                            "expected another usable address of the link subnet %s/%u "
                            "(network.address, network.prefix), got \"%s\"", n, prefix, json_string_value(jh));
        }
    }
    size_t i;
    const json_t *r;
    /* The allowlist holds because the program has no say over its namespace's network: with
     * CAP_NET_ADMIN it could rewrite the rules, with CAP_NET_RAW send packets (AF_PACKET) that
     * netfilter never sees. */
    json_array_foreach(json_is_array(json_object_get(net, "egress")) ? json_object_get(root, "capabilities") : NULL, i, r)
    {
        const char *cap = json_string_value(r);
        char p[64];
        snprintf(p, sizeof(p), "capabilities[%zu]", i);
        if (strcmp(cap, "CAP_NET_ADMIN") == 0 || strcmp(cap, "CAP_NET_RAW") == 0)
            return perr(err, file, p, "expected no %s with network.egress set (it would let the program "
                        "get around the allowlist), got \"%s\"", cap, cap);
    }
    json_array_foreach(json_object_get(net, "egress"), i, r)
    {
        const char *proto = json_string_value(json_object_get(r, "protocol"));
        const json_t *ports = json_object_get(r, "ports");
        char p[64];
        snprintf(p, sizeof(p), "network.egress[%zu].ports", i);
        if (!json_is_null(ports) && strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0) {
            json_short(ports, g, sizeof(g));
            return perr(err, file, p, "expected null with protocol \"%s\" (only tcp and udp have ports), got %s",
                        proto, g);
        }
    }
    return 0;
}

static int check_semantics(const char *file, const char *dir, const json_t *root,
                           struct sbx_seccomp *sc, struct sbx_err **err)
{
    const json_t *user = json_object_get(root, "user");
    bool allow_root = json_is_true(json_object_get(user, "allow_root"));
    if (!allow_root && json_integer_value(json_object_get(user, "uid")) == 0)
        return perr(err, file, "user.uid", "expected a non-root uid (set user.allow_root to run as 0), got 0");
    if (!allow_root && json_integer_value(json_object_get(user, "gid")) == 0)
        return perr(err, file, "user.gid", "expected a non-root gid (set user.allow_root to run as 0), got 0");
    if (json_is_string(json_object_get(root, "hostname")) &&
        json_is_false(json_object_get(json_object_get(root, "namespaces"), "uts")))
        return perr(err, file, "hostname", "a hostname needs its own uts namespace: set it to null or namespaces.uts to true");
    const json_t *mem = json_object_get(json_object_get(root, "resources"), "memory");
    int64_t max = -1, high = -1;
    parse_size_json(json_object_get(mem, "max"), &max);
    parse_size_json(json_object_get(mem, "high"), &high);
    if (max >= 0 && high > max)
        return perr(err, file, "resources.memory.high", "expected at most resources.memory.max (%lld bytes), got %lld",
                    (long long)max, (long long)high);
    if (check_handlers(file, root, err) < 0 || check_io(file, root, err) < 0 ||
        check_network(file, root, err) < 0)
        return -1;
    const char *img = json_string_value(json_object_get(json_object_get(root, "interpreter"), "image"));
    char mname[80];
    struct semver_range mrange;
    if (img && img[0] != '/' && module_ref_parse(img, mname, sizeof(mname), &mrange) < 0)
        return perr(err, file, "interpreter.image", "expected a module name (optionally name@version-range) "
                    "or an absolute path, got \"%s\"", img);
    const json_t *tmpfs = json_object_get(json_object_get(root, "filesystem"), "tmpfs");
    size_t i, j;
    const json_t *a, *b;
    json_array_foreach(tmpfs, i, a)
    {
        char p[64];
        snprintf(p, sizeof(p), "filesystem.tmpfs[%zu].path", i);
        const char *pa = json_string_value(json_object_get(a, "path"));
        if (strcmp(pa, "/") == 0)
            return perr(err, file, p, "expected a directory below /, got \"/\" (use filesystem.readonly_root)");
        json_array_foreach(tmpfs, j, b) if (j < i && strcmp(pa, json_string_value(json_object_get(b, "path"))) == 0)
            return perr(err, file, p, "\"%s\" is already a tmpfs (filesystem.tmpfs[%zu])", pa, j);
    }
    const json_t *rules = json_object_get(json_object_get(root, "seccomp"), "rules");
    json_array_foreach(rules, i, a)
    {
        json_array_foreach(json_object_get(a, "args"), j, b)
        {
            const char *op = json_string_value(json_object_get(b, "op"));
            const json_t *mask = json_object_get(b, "mask");
            char p[64];
            snprintf(p, sizeof(p), "seccomp.rules[%zu].args[%zu].mask", i, j);
            if (strcmp(op, "masked_eq") == 0 && !json_is_integer(mask))
                return perr(err, file, p, "expected an integer mask with op \"masked_eq\"");
            if (strcmp(op, "masked_eq") != 0 && json_is_integer(mask))
                return perr(err, file, p,
                            "expected null with op \"%s\" (a mask is only used by op \"masked_eq\"), got %lld",
                            op, (long long)json_integer_value(mask));
        }
    }
    const char *k;
    const json_t *v;
    json_object_foreach(json_object_get(root, "failure_policies"), k, v)
    {
        const char *s = json_string_value(v);
        if (!s || strncmp(s, "fallback:", 9) != 0)
            continue;
        char p[64], target[PATH_MAX], treal[PATH_MAX], freal[PATH_MAX];
        snprintf(p, sizeof(p), "failure_policies.%s", k);
        struct sbx_err *e2 = NULL;
        if (policy_path(s + 9, dir, target, sizeof(target), &e2) < 0 || !realpath(target, treal)) {
            sbx_err_free(&e2);
            return perr(err, file, p, "expected fallback:POLICY naming an existing policy, got \"%s\"", s);
        }
        if (realpath(file, freal) && strcmp(treal, freal) == 0)
            return perr(err, file, p, "a policy cannot fall back to itself");
    }
    /* Building the filters is the last check (contradictions between lists and rules); the
     * result is kept for plan_build rather than computed again on the launch path. */
    return seccomp_plan(json_object_get(root, "seccomp"), file, sc, err);
}

/* The merged chain root, given the document the chain starts from (top, which keeps its own name
 * and extends), its file (or label) and directory: defaults, required fields, semantics. */
static int finish_load(json_t *root, const json_t *top, const char *file, const char *dir,
                       struct gbox_policy **out, struct sbx_err **err)
{
    /* name and extends describe the file itself, they are not inherited */
    char stem[PATH_MAX];
    snprintf(stem, sizeof(stem), "%s", file);
    char *base = basename(stem);
    char *dot = strrchr(base, '.');
    if (dot && strcmp(dot, ".json") == 0)
        *dot = '\0';
    const json_t *own = json_object_get(top, "name");
    json_object_set_new(root, "name", json_is_string(own) ? json_deep_copy(own) : json_string(base));
    json_object_set(root, "extends", json_object_get(top, "extends") ? json_object_get(top, "extends") : json_null());
    schema_fill_defaults(schema_fields(), root);
    const char *name = json_string_value(json_object_get(root, "name"));
    struct gbox_policy *p = xcalloc(1, sizeof(*p));
    struct vctx vc = {file, err};
    if (schema_check_required(&vc, "", schema_fields(), root) < 0 ||
        check_semantics(file, dir, root, &p->seccomp, err) < 0) {
        free(p);
        json_decref(root);
        return -1;
    }
    p->root = root;
    p->name = xstrdup(name);
    *out = p;
    return 0;
}

/* A root from the cache (policy_cache.c): merged, validated and defaulted already; the checks
 * that look beyond its bytes, and the seccomp plan, are done as for a fresh load. */
static int finish_cached(json_t *root, const char *file, const char *dir, struct gbox_policy **out,
                         struct sbx_err **err)
{
    const char *name = json_string_value(json_object_get(root, "name"));
    struct gbox_policy *p = xcalloc(1, sizeof(*p));
    if (!name || check_semantics(file, dir, root, &p->seccomp, err) < 0) {
        if (!name)
            sbx_err_set(err, GBOX_EXIT_USAGE, 0, "%s: cached policy without a name", file);
        free(p);
        json_decref(root);
        return -1;
    }
    p->root = root;
    p->name = xstrdup(name);
    *out = p;
    return 0;
}

int policy_load(const char *arg, struct gbox_policy **out, struct sbx_err **err)
{
    *out = NULL;
    char file[PATH_MAX];
    if (policy_path(arg, NULL, file, sizeof(file), err) < 0)
        return -1;
    char *real = realpath(file, NULL);
    size_t tlen = 0;
    char *tbuf = real ? read_file(real, &tlen) : NULL;
    char dirbuf[PATH_MAX];
    snprintf(dirbuf, sizeof(dirbuf), "%s", real ? real : file);
    json_t *root = tbuf ? policy_cache_get(real, tbuf, tlen) : NULL;
    if (root) {
        /* resolved before from these very bytes: what depends on the host is checked again */
        int rc = finish_cached(root, file, dirname(dirbuf), out, err);
        free(tbuf);
        if (rc < 0) {
            free(real);
            return -1;
        }
        (*out)->file = real;
        return 0;
    }
    static char visited[MAX_DEPTH + 1][PATH_MAX];
    chain_deps = tbuf ? json_array() : NULL;
    chain_unhashed = false;
    root = load_chain(file, visited, 0, err);
    json_t *deps = chain_deps;
    chain_deps = NULL;
    if (!root) {
        json_decref(deps);
        free(tbuf);
        free(real);
        return -1;
    }
    json_t *top = tbuf ? json_loadb(tbuf, tlen, 0, NULL) : json_load_file(file, 0, NULL);
    int rc = finish_load(root, top, file, dirname(dirbuf), out, err);
    json_decref(top);
    if (rc == 0 && deps && !chain_unhashed)
        policy_cache_put(real, tbuf, tlen, deps, (*out)->root);
    json_decref(deps);
    free(tbuf);
    if (rc < 0) {
        free(real);
        return -1;
    }
    (*out)->file = real ? real : xstrdup(file);
    return 0;
}

int policy_load_mem(const char *buf, size_t len, const char *label, const char *dir,
                    struct gbox_policy **out, struct sbx_err **err)
{
    *out = NULL;
    static char visited[MAX_DEPTH + 1][PATH_MAX];
    visited[0][0] = '\0'; /* the document itself has no path: nothing can extend it */
    json_t *doc = load_doc(label, buf, len, err);
    if (!doc)
        return -1;
    json_t *top = json_deep_copy(doc);
    json_t *root = load_parents(doc, label, dir, visited, 0, err);
    int rc = root ? finish_load(root, top, label, dir, out, err) : -1;
    json_decref(top);
    if (rc < 0)
        return -1;
    (*out)->file = xstrdup(label);
    return 0;
}

void policy_free(struct gbox_policy *p)
{
    if (!p)
        return;
    json_decref(p->root);
    free(p->seccomp.filters[0].rules);
    free(p->seccomp.filters[1].rules);
    free(p->file);
    free(p->name);
    free(p);
}

void policy_take_seccomp(struct gbox_policy *p, struct sbx_seccomp *out)
{
    *out = p->seccomp;
    memset(&p->seccomp, 0, sizeof(p->seccomp));
}

const json_t *pol_get(const struct gbox_policy *p, const char *dotted)
{
    const json_t *cur = p->root;
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", dotted);
    char *save = NULL;
    for (char *t = strtok_r(buf, ".", &save); t && cur; t = strtok_r(NULL, ".", &save))
        cur = json_object_get(cur, t);
    return cur;
}

const char *pol_str(const struct gbox_policy *p, const char *dotted)
{
    return json_string_value(pol_get(p, dotted));
}

int64_t pol_size(const struct gbox_policy *p, const char *dotted)
{
    int64_t v = -1;
    const json_t *j = pol_get(p, dotted);
    if (j && !json_is_null(j))
        parse_size_json(j, &v);
    return v;
}

int64_t pol_duration(const struct gbox_policy *p, const char *dotted)
{
    int64_t v = -1;
    const char *s = pol_str(p, dotted);
    if (s)
        parse_duration(s, &v);
    return v;
}
