/* oci_config.c — config.json (OCI runtime spec 1.x) into a `struct sbx_spec`.
 *
 * Strict like the policy loader: every object's keys are checked against the fields gbox knows,
 * every value against its type and range, and an error names the file, the JSON path and what
 * was expected. A field gbox cannot honour is refused by name rather than ignored (fail closed);
 * the few that are accepted without effect are listed in docs/oci.md with the reason. */
#include "oci_config.h"
#include "oci_parse.h"

#include "names.h"
#include "../sandbox/util.h"

#include <limits.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/personality.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* ---- errors and typed getters --------------------------------------------------------------- */

int oci_bad(const struct ctx *x, const char *path, const char *expected, const json_t *got)
{
    char *dump = got ? json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    char shown[80];
    snprintf(shown, sizeof(shown), "%s", dump ? dump : "nothing");
    if (dump && strlen(dump) >= sizeof(shown))
        snprintf(shown + sizeof(shown) - 4, 4, "...");
    free(dump);
    return sbx_err_set(x->err, GBOX_EXIT_USAGE, 0, "%s: %s: expected %s, got %s", x->file, path, expected, shown);
}

int oci_refuse(const struct ctx *x, const char *path, const char *why)
{
    return sbx_err_set(x->err, GBOX_EXIT_USAGE, 0, "%s: %s: %s", x->file, path, why);
}

/* Reject keys not in `known` (NULL-terminated). */
int oci_check_keys(const struct ctx *x, const json_t *obj, const char *path, const char *const *known)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        bool ok = false;
        for (const char *const *p = known; *p && !ok; p++)
            ok = strcmp(*p, k) == 0;
        if (!ok) {
            char where[300];
            snprintf(where, sizeof(where), "%s%s%s", path, path[0] ? "." : "", k);
            return oci_refuse(x, where, "unknown or unsupported field");
        }
    }
    return 0;
}

void oci_sub(char *buf, size_t len, const char *path, const char *key)
{
    snprintf(buf, len, "%s%s%s", path, path[0] ? "." : "", key);
}

void oci_idx(char *buf, size_t len, const char *path, size_t i)
{
    snprintf(buf, len, "%s[%zu]", path, i);
}

/* An optional object member of the given JSON type; *out NULL when absent. */
int oci_get_obj(const struct ctx *x, const json_t *o, const char *path, const char *key, const json_t **out)
{
    char p[300];
    oci_sub(p, sizeof(p), path, key);
    *out = json_object_get(o, key);
    if (*out && !json_is_object(*out))
        return oci_bad(x, p, "an object", *out);
    return 0;
}

int oci_get_arr(const struct ctx *x, const json_t *o, const char *path, const char *key, const json_t **out)
{
    char p[300];
    oci_sub(p, sizeof(p), path, key);
    *out = json_object_get(o, key);
    if (*out && !json_is_array(*out))
        return oci_bad(x, p, "an array", *out);
    return 0;
}

int oci_get_str(const struct ctx *x, const json_t *o, const char *path, const char *key, bool required,
                const char **out)
{
    char p[300];
    oci_sub(p, sizeof(p), path, key);
    const json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v && required)
        return oci_refuse(x, p, "required field missing");
    if (v && !json_is_string(v))
        return oci_bad(x, p, "a string", v);
    *out = v ? json_string_value(v) : NULL;
    return 0;
}

int oci_get_bool(const struct ctx *x, const json_t *o, const char *path, const char *key, bool *out)
{
    char p[300];
    oci_sub(p, sizeof(p), path, key);
    const json_t *v = json_object_get(o, key);
    if (v && !json_is_boolean(v))
        return oci_bad(x, p, "true or false", v);
    if (v)
        *out = json_is_true(v);
    return 0;
}

/* An integer in [min, max]; *present false when absent (out untouched). */
int oci_get_int(const struct ctx *x, const json_t *o, const char *path, const char *key, int64_t min,
                int64_t max, int64_t *out, bool *present)
{
    char p[300], what[96];
    oci_sub(p, sizeof(p), path, key);
    const json_t *v = json_object_get(o, key);
    if (present)
        *present = v != NULL;
    if (!v)
        return 0;
    if (min == 0 && max == INT64_MAX)
        snprintf(what, sizeof(what), "an integer >= 0");
    else if (max == INT64_MAX)
        snprintf(what, sizeof(what), "an integer >= %lld", (long long)min);
    else
        snprintf(what, sizeof(what), "an integer in %lld..%lld", (long long)min, (long long)max);
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return oci_bad(x, p, what, v);
    *out = json_integer_value(v);
    return 0;
}

static int str_array(const struct ctx *x, const json_t *a, const char *path, char ***out)
{
    size_t i;
    const json_t *e;
    char **v = xcalloc(json_array_size(a) + 1, sizeof(char *));
    json_array_foreach(a, i, e)
    {
        if (!json_is_string(e)) {
            char p[300];
            oci_idx(p, sizeof(p), path, i);
            for (size_t k = 0; k < i; k++)
                free(v[k]);
            free(v);
            return oci_bad(x, p, "a string", e);
        }
        v[i] = xstrdup(json_string_value(e));
    }
    *out = v;
    return 0;
}

static void strv_free(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

/* ---- process -------------------------------------------------------------------------------- */

static const char *const rlimit_names[] = {
    [RLIMIT_CPU] = "RLIMIT_CPU",         [RLIMIT_FSIZE] = "RLIMIT_FSIZE",
    [RLIMIT_DATA] = "RLIMIT_DATA",       [RLIMIT_STACK] = "RLIMIT_STACK",
    [RLIMIT_CORE] = "RLIMIT_CORE",       [RLIMIT_RSS] = "RLIMIT_RSS",
    [RLIMIT_NPROC] = "RLIMIT_NPROC",     [RLIMIT_NOFILE] = "RLIMIT_NOFILE",
    [RLIMIT_MEMLOCK] = "RLIMIT_MEMLOCK", [RLIMIT_AS] = "RLIMIT_AS",
    [RLIMIT_LOCKS] = "RLIMIT_LOCKS",     [RLIMIT_SIGPENDING] = "RLIMIT_SIGPENDING",
    [RLIMIT_MSGQUEUE] = "RLIMIT_MSGQUEUE", [RLIMIT_NICE] = "RLIMIT_NICE",
    [RLIMIT_RTPRIO] = "RLIMIT_RTPRIO",   [RLIMIT_RTTIME] = "RLIMIT_RTTIME",
};

int oci_rlimit_from_name(const char *name)
{
    for (size_t i = 0; i < ARRAY_LEN(rlimit_names); i++)
        if (rlimit_names[i] && strcmp(rlimit_names[i], name) == 0)
            return (int)i;
    return -1;
}

static int parse_rlimits(const struct ctx *x, const json_t *a, struct sbx_spec *s)
{
    static const char *const keys[] = {"type", "soft", "hard", NULL};
    size_t i;
    const json_t *e;
    free(s->rlimits);
    s->rlimits = xcalloc(json_array_size(a) + 1, sizeof(*s->rlimits));
    s->n_rlimits = 0;
    json_array_foreach(a, i, e)
    {
        char p[300];
        oci_idx(p, sizeof(p), "process.rlimits", i);
        if (!json_is_object(e))
            return oci_bad(x, p, "an object", e);
        const char *type;
        int64_t soft = 0, hard = 0;
        bool hs, hh;
        if (oci_check_keys(x, e, p, keys) < 0 || oci_get_str(x, e, p, "type", true, &type) < 0 ||
            oci_get_int(x, e, p, "soft", 0, INT64_MAX, &soft, &hs) < 0 ||
            oci_get_int(x, e, p, "hard", 0, INT64_MAX, &hard, &hh) < 0)
            return -1;
        int r = oci_rlimit_from_name(type);
        if (r < 0) {
            char q[320];
            oci_sub(q, sizeof(q), p, "type");
            return oci_bad(x, q, "an RLIMIT_* name (RLIMIT_NOFILE, RLIMIT_NPROC, ...)", json_object_get(e, "type"));
        }
        if (!hs || !hh)
            return oci_refuse(x, p, "both soft and hard are required");
        if (soft > hard)
            return oci_refuse(x, p, "soft is above hard");
        s->rlimits[s->n_rlimits++] = (struct sbx_rlimit){r, (uint64_t)soft, (uint64_t)hard};
    }
    return 0;
}

static int cap_set(const struct ctx *x, const json_t *caps, const char *key, uint64_t *out, bool *present)
{
    char p[300];
    oci_sub(p, sizeof(p), "process.capabilities", key);
    const json_t *a = json_object_get(caps, key);
    *present = a != NULL;
    *out = 0;
    if (!a)
        return 0;
    if (!json_is_array(a))
        return oci_bad(x, p, "an array of capability names", a);
    size_t i;
    const json_t *e;
    json_array_foreach(a, i, e)
    {
        char q[320];
        oci_idx(q, sizeof(q), p, i);
        int cap = json_is_string(e) ? cap_from_name(json_string_value(e)) : -1;
        if (cap < 0)
            return oci_bad(x, q, "a capability name known to this kernel (CAP_CHOWN, CAP_NET_BIND_SERVICE, ...)", e);
        *out |= 1ULL << cap;
    }
    return 0;
}

/* gbox keeps one capability set in all five: the ones the process may really use, that is the
 * intersection of bounding, permitted and effective (ambient and inheritable beyond it are
 * refused: the process could otherwise gain them across exec). */
static int parse_caps(const struct ctx *x, const json_t *caps, struct sbx_spec *s)
{
    static const char *const keys[] = {"bounding", "effective", "inheritable", "permitted", "ambient", NULL};
    if (oci_check_keys(x, caps, "process.capabilities", keys) < 0)
        return -1;
    uint64_t set[5];
    bool has[5];
    for (int i = 0; i < 5; i++)
        if (cap_set(x, caps, keys[i], &set[i], &has[i]) < 0)
            return -1;
    uint64_t keep = ~0ULL;
    for (int i = 0; i < 4; i++)
        if (i != 2)
            keep &= has[i] ? set[i] : 0;
    if (set[4] & ~keep)
        return oci_refuse(x, "process.capabilities.ambient", "holds a capability not in bounding, effective and permitted");
    s->caps = keep;
    return 0;
}

static int parse_user(const struct ctx *x, const json_t *u, struct sbx_spec *s)
{
    static const char *const keys[] = {"uid", "gid", "umask", "additionalGids", "username", NULL};
    int64_t uid = 0, gid = 0, um = -1;
    bool has;
    const json_t *ag;
    if (oci_check_keys(x, u, "process.user", keys) < 0 ||
        oci_get_int(x, u, "process.user", "uid", 0, UINT32_MAX - 1, &uid, &has) < 0 ||
        oci_get_int(x, u, "process.user", "gid", 0, UINT32_MAX - 1, &gid, &has) < 0 ||
        oci_get_int(x, u, "process.user", "umask", 0, 0777, &um, &has) < 0 ||
        oci_get_arr(x, u, "process.user", "additionalGids", &ag) < 0)
        return -1;
    size_t i;
    const json_t *e;
    free(s->groups);
    s->groups = NULL;
    s->n_groups = 0;
    if (json_array_size(ag) > 64)
        return oci_bad(x, "process.user.additionalGids", "at most 64 groups", ag);
    json_array_foreach(ag, i, e)
    {
        char p[320];
        oci_idx(p, sizeof(p), "process.user.additionalGids", i);
        if (!json_is_integer(e) || json_integer_value(e) < 0 || json_integer_value(e) >= UINT32_MAX)
            return oci_bad(x, p, "a gid", e);
        gid_t g = (gid_t)json_integer_value(e);
        bool dup = g == (gid_t)gid;
        for (size_t k = 0; k < s->n_groups && !dup; k++)
            dup = s->groups[k] == g;
        if (dup)
            continue;
        s->groups = realloc(s->groups, (s->n_groups + 1) * sizeof(gid_t));
        if (!s->groups)
            abort();
        s->groups[s->n_groups++] = g;
    }
    s->uid = (uid_t)uid;
    s->gid = (gid_t)gid;
    x->c->umask = (int)um;
    return 0;
}

static int process_common(const struct ctx *x, const json_t *proc, struct sbx_spec *s, bool *terminal)
{
    static const char *const keys[] = {"terminal", "consoleSize", "user", "args", "env", "cwd",
                                       "capabilities", "rlimits", "noNewPrivileges", "apparmorProfile",
                                       "oomScoreAdj", "selinuxLabel", "commandLine", NULL};
    const json_t *user, *args, *env, *caps, *rl, *cs;
    const char *cwd, *aa, *se;
    bool nnp = true;
    if (oci_check_keys(x, proc, "process", keys) < 0 || oci_get_bool(x, proc, "process", "terminal", terminal) < 0 ||
        oci_get_obj(x, proc, "process", "user", &user) < 0 || oci_get_arr(x, proc, "process", "args", &args) < 0 ||
        oci_get_arr(x, proc, "process", "env", &env) < 0 || oci_get_str(x, proc, "process", "cwd", true, &cwd) < 0 ||
        oci_get_obj(x, proc, "process", "capabilities", &caps) < 0 ||
        oci_get_arr(x, proc, "process", "rlimits", &rl) < 0 ||
        oci_get_bool(x, proc, "process", "noNewPrivileges", &nnp) < 0 ||
        oci_get_str(x, proc, "process", "apparmorProfile", false, &aa) < 0 ||
        oci_get_str(x, proc, "process", "selinuxLabel", false, &se) < 0 ||
        oci_get_obj(x, proc, "process", "consoleSize", &cs) < 0)
        return -1;
    if (json_object_get(proc, "commandLine"))
        return oci_refuse(x, "process.commandLine", "Windows only");
    if (cs) {
        static const char *const ck[] = {"height", "width", NULL};
        int64_t h = 0, w = 0;
        bool hh, hw;
        if (oci_check_keys(x, cs, "process.consoleSize", ck) < 0 ||
            oci_get_int(x, cs, "process.consoleSize", "height", 0, 65535, &h, &hh) < 0 ||
            oci_get_int(x, cs, "process.consoleSize", "width", 0, 65535, &w, &hw) < 0)
            return -1;
        x->c->console_rows = (unsigned)h;
        x->c->console_cols = (unsigned)w;
    }
    if (aa && aa[0])
        return oci_refuse(x, "process.apparmorProfile", "AppArmor profiles are not supported (gbox uses seccomp and Landlock)");
    if (se && se[0])
        return oci_refuse(x, "process.selinuxLabel", "SELinux labels are not supported");
    if (!args || json_array_size(args) == 0)
        return oci_refuse(x, "process.args", "required: a non-empty array of strings");
    if (cwd[0] != '/')
        return oci_bad(x, "process.cwd", "an absolute path", json_object_get(proc, "cwd"));
    char **argv = NULL, **envp = NULL;
    if (str_array(x, args, "process.args", &argv) < 0)
        return -1;
    if (env && str_array(x, env, "process.env", &envp) < 0) {
        strv_free(argv);
        return -1;
    }
    for (size_t i = 0; envp && envp[i]; i++) {
        if (!strchr(envp[i], '=')) {
            char p[64];
            oci_idx(p, sizeof(p), "process.env", i);
            const json_t *e = json_array_get(env, i);
            strv_free(argv);
            strv_free(envp);
            return oci_bad(x, p, "NAME=VALUE", e);
        }
    }
    strv_free(s->argv);
    strv_free(s->envp);
    free(s->cwd);
    s->argv = argv;
    s->envp = envp ? envp : xcalloc(1, sizeof(char *));
    s->cwd = xstrdup(cwd);
    s->caps = 0;
    if ((user && parse_user(x, user, s) < 0) || (caps && parse_caps(x, caps, s) < 0) ||
        (rl && parse_rlimits(x, rl, s) < 0))
        return -1;
    /* noNewPrivileges: false is accepted and ignored — gbox always sets no_new_privs (stricter). */
    return 0;
}

/* The OCI convention: argv[0] without a slash is looked up in the process's PATH. sbx execs
 * argv[0] as given, so resolve it in the root now (a hint only: exec inside is the real test). */
static void resolve_argv0(const struct sbx_spec *s)
{
    if (!s->argv || !s->argv[0] || strchr(s->argv[0], '/') || !s->rootfs)
        return;
    const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (char **e = s->envp; e && *e; e++)
        if (strncmp(*e, "PATH=", 5) == 0)
            path = *e + 5;
    char dir[PATH_MAX];
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, ":");
        char cand[PATH_MAX], host[PATH_MAX * 2];
        snprintf(dir, sizeof(dir), "%.*s", (int)n, p);
        snprintf(cand, sizeof(cand), "%s/%s", dir, s->argv[0]);
        snprintf(host, sizeof(host), "%s%s", s->rootfs, cand);
        struct stat st;
        /* lstat: a symlink (busybox's applets) counts; its target is the kernel's business */
        if (dir[0] == '/' && lstat(host, &st) == 0 && !S_ISDIR(st.st_mode)) {
            free(s->argv[0]);
            s->argv[0] = xstrdup(cand);
            return;
        }
        p += n + (p[n] == ':');
    }
}

int oci_process_apply(const json_t *proc, const char *file, struct sbx_spec *s, bool *terminal,
                      struct sbx_err **err)
{
    struct oci_config tmp = {.umask = -1};
    struct ctx x = {file, NULL, &tmp, err};
    if (!json_is_object(proc))
        return oci_bad(&x, "process", "an object", proc);
    if (process_common(&x, proc, s, terminal) < 0)
        return -1;
    if (json_object_get(proc, "oomScoreAdj"))
        return oci_refuse(&x, "process.oomScoreAdj", "cannot change for exec");
    resolve_argv0(s);
    return 0;
}

/* ---- mounts --------------------------------------------------------------------------------- */

static struct sbx_mount *add_mount(struct sbx_spec *s, enum sbx_mount_kind kind, const char *target)
{
    s->mounts = realloc(s->mounts, (s->n_mounts + 1) * sizeof(*s->mounts));
    if (!s->mounts)
        abort();
    struct sbx_mount *m = &s->mounts[s->n_mounts++];
    memset(m, 0, sizeof(*m));
    m->kind = kind;
    m->target = xstrdup(target);
    return m;
}

/* Mount options gbox accepts. Flags it always applies (nosuid, nodev on binds; private
 * propagation) or that change nothing for it are accepted; anything else is refused. */
static const char *const known_opts[] = {
    "rbind", "bind", "ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec", "relatime",
    "norelatime", "strictatime", "noatime", "private", "rprivate", "slave", "rslave", "newinstance",
    "z", "Z", "async", "sync", "nodiratime", "tmpcopyup", "notmpcopyup", "rshared", "shared", NULL,
};

static bool opt_prefix(const char *o, const char *const *prefixes)
{
    for (const char *const *p = prefixes; *p; p++)
        if (strncmp(o, *p, strlen(*p)) == 0)
            return true;
    return false;
}

static int parse_size_opt(const char *v, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || end == v || v[0] == '-')
        return -1;
    uint64_t mul = 1;
    if (*end == 'k' || *end == 'K')
        mul = 1024, end++;
    else if (*end == 'm' || *end == 'M')
        mul = 1024 * 1024, end++;
    else if (*end == 'g' || *end == 'G')
        mul = 1024ULL * 1024 * 1024, end++;
    if (*end || n > UINT64_MAX / mul)
        return -1;
    *out = n * mul;
    return 0;
}

struct mount_opts {
    bool bind, ro;
    uint64_t size;
    unsigned mode;
};

static int parse_opts(const struct ctx *x, const json_t *opts, const char *path, struct mount_opts *mo)
{
    static const char *const valued[] = {"mode=", "size=", "gid=", "uid=", "ptmxmode=", "nr_inodes=", NULL};
    size_t i;
    const json_t *e;
    json_array_foreach(opts, i, e)
    {
        char p[320];
        oci_idx(p, sizeof(p), path, i);
        if (!json_is_string(e))
            return oci_bad(x, p, "a mount option string", e);
        const char *o = json_string_value(e);
        bool known = false;
        for (const char *const *k = known_opts; *k && !known; k++)
            known = strcmp(*k, o) == 0;
        if (!known && !opt_prefix(o, valued))
            return oci_bad(x, p, "a mount option gbox supports (docs/oci.md)", e);
        if (strcmp(o, "bind") == 0 || strcmp(o, "rbind") == 0)
            mo->bind = true;
        else if (strcmp(o, "ro") == 0)
            mo->ro = true;
        else if (strcmp(o, "rw") == 0)
            mo->ro = false;
        else if ((strcmp(o, "rshared") == 0 || strcmp(o, "shared") == 0))
            return oci_refuse(x, p, "shared propagation is not supported (every mount is private)");
        else if (strncmp(o, "size=", 5) == 0 && parse_size_opt(o + 5, &mo->size) < 0)
            return oci_bad(x, p, "size=N[k|m|g]", e);
        else if (strncmp(o, "mode=", 5) == 0) {
            char *end;
            unsigned long m = strtoul(o + 5, &end, 8);
            if (*end || end == o + 5 || m > 07777)
                return oci_bad(x, p, "mode=OCTAL", e);
            mo->mode = (unsigned)m;
        }
    }
    return 0;
}

static bool has_dev(const struct sbx_spec *s)
{
    for (size_t i = 0; i < s->n_mounts; i++)
        if (s->mounts[i].kind == SBX_MOUNT_DEV && strcmp(s->mounts[i].target, "/dev") == 0)
            return true;
    return false;
}

static int parse_mount(const struct ctx *x, const json_t *m, size_t i, struct sbx_spec *s)
{
    static const char *const keys[] = {"destination", "type", "source", "options", "uidMappings", "gidMappings", NULL};
    char p[64];
    oci_idx(p, sizeof(p), "mounts", i);
    if (!json_is_object(m))
        return oci_bad(x, p, "an object", m);
    const char *dst, *type, *src;
    const json_t *opts;
    if (oci_check_keys(x, m, p, keys) < 0 || oci_get_str(x, m, p, "destination", true, &dst) < 0 ||
        oci_get_str(x, m, p, "type", false, &type) < 0 || oci_get_str(x, m, p, "source", false, &src) < 0 ||
        oci_get_arr(x, m, p, "options", &opts) < 0)
        return -1;
    char q[128];
    if (json_object_get(m, "uidMappings") || json_object_get(m, "gidMappings")) {
        oci_sub(q, sizeof(q), p, "uidMappings");
        return oci_refuse(x, q, "id-mapped mounts are not supported");
    }
    oci_sub(q, sizeof(q), p, "destination");
    if (dst[0] != '/' || strstr(dst, "/../") || (strlen(dst) >= 3 && strcmp(dst + strlen(dst) - 3, "/..") == 0))
        return oci_bad(x, q, "an absolute path without \"..\"", json_object_get(m, "destination"));
    struct mount_opts mo = {.mode = 0755};
    oci_sub(q, sizeof(q), p, "options");
    if (parse_opts(x, opts, q, &mo) < 0)
        return -1;
    if (!type)
        type = mo.bind ? "bind" : "";
    oci_sub(q, sizeof(q), p, "type");
    if (mo.bind || strcmp(type, "bind") == 0) {
        char host[PATH_MAX], canon[PATH_MAX];
        if (!src)
            return oci_refuse(x, p, "a bind mount needs a source");
        if (src[0] == '/')
            snprintf(host, sizeof(host), "%s", src);
        else
            snprintf(host, sizeof(host), "%s/%s", x->bundle, src);
        struct stat st;
        if (!realpath(host, canon) || stat(canon, &st) < 0) {
            oci_sub(q, sizeof(q), p, "source");
            return sbx_err_set(x->err, GBOX_EXIT_USAGE, errno, "%s: %s: bind source %s", x->file, q, host);
        }
        struct sbx_mount *bm = add_mount(s, SBX_MOUNT_BIND, dst);
        bm->source = xstrdup(canon);
        bm->writable = !mo.ro;
        bm->file = !S_ISDIR(st.st_mode);
        return 0;
    }
    if (strcmp(type, "proc") == 0) {
        add_mount(s, SBX_MOUNT_PROC, dst);
    } else if (strcmp(type, "sysfs") == 0) {
        add_mount(s, SBX_MOUNT_SYSFS, dst);
    } else if (strcmp(type, "mqueue") == 0) {
        add_mount(s, SBX_MOUNT_MQUEUE, dst);
    } else if (strcmp(type, "tmpfs") == 0 && strcmp(dst, "/dev") == 0) {
        /* gbox's own minimal /dev: null zero full random urandom tty, pts, shm */
        add_mount(s, SBX_MOUNT_DEV, dst);
    } else if (strcmp(type, "tmpfs") == 0) {
        struct sbx_mount *t = add_mount(s, SBX_MOUNT_TMPFS, dst);
        t->size = mo.size ? mo.size : 64ULL << 20;
        t->mode = mo.mode;
    } else if (strcmp(type, "devpts") == 0) {
        if (strcmp(dst, "/dev/pts") != 0 || !has_dev(s))
            return oci_refuse(x, p, "devpts is only supported at /dev/pts after a tmpfs at /dev (gbox mounts it there)");
    } else if (strcmp(type, "cgroup") == 0 || strcmp(type, "cgroup2") == 0) {
        /* the container's own cgroups, read-only (oci_config_cgroup_mounts, once they are named) */
        free(x->c->cgroup_mount);
        x->c->cgroup_mount = xstrdup(dst);
    } else {
        return oci_bad(x, q, "bind, proc, sysfs, tmpfs, devpts, mqueue or cgroup", json_object_get(m, "type"));
    }
    return 0;
}

/* ---- linux ---------------------------------------------------------------------------------- */

static bool has_join(const struct sbx_spec *s, int type)
{
    for (size_t i = 0; i < s->n_ns_join; i++)
        if (s->ns_join[i].type == type)
            return true;
    return false;
}

static int parse_namespaces(const struct ctx *x, const json_t *a, struct sbx_spec *s)
{
    static const struct {
        const char *name;
        int flag;
    } kinds[] = {{"pid", CLONE_NEWPID}, {"network", CLONE_NEWNET}, {"mount", CLONE_NEWNS},
                 {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},     {"user", CLONE_NEWUSER},
                 {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME}};
    static const char *const keys[] = {"type", "path", NULL};
    size_t i;
    const json_t *e;
    int flags = 0;
    json_array_foreach(a, i, e)
    {
        char p[64], q[80];
        oci_idx(p, sizeof(p), "linux.namespaces", i);
        if (!json_is_object(e))
            return oci_bad(x, p, "an object", e);
        const char *type, *path;
        if (oci_check_keys(x, e, p, keys) < 0 || oci_get_str(x, e, p, "type", true, &type) < 0 ||
            oci_get_str(x, e, p, "path", false, &path) < 0)
            return -1;
        int f = 0;
        for (size_t k = 0; k < ARRAY_LEN(kinds) && !f; k++)
            if (strcmp(kinds[k].name, type) == 0)
                f = kinds[k].flag;
        oci_sub(q, sizeof(q), p, "type");
        if (!f)
            return oci_bad(x, q, "pid, network, mount, ipc, uts, user or cgroup", json_object_get(e, "type"));
        if (f == CLONE_NEWTIME)
            return oci_refuse(x, q, "time namespaces are not supported");
        if (flags & f || has_join(s, f))
            return oci_refuse(x, q, "namespace listed twice");
        if (path && path[0]) {
            oci_sub(q, sizeof(q), p, "path");
            if (f == CLONE_NEWNS)
                return oci_refuse(x, q, "joining an existing mount namespace is not supported (gbox builds the "
                                    "container's root in a new mount namespace of its own)");
            if (path[0] != '/')
                return oci_bad(x, q, "an absolute path", json_object_get(e, "path"));
            s->ns_join = realloc(s->ns_join, (s->n_ns_join + 1) * sizeof(*s->ns_join));
            if (!s->ns_join)
                abort();
            s->ns_join[s->n_ns_join++] = (struct sbx_ns_join){f, xstrdup(path)};
            continue;
        }
        flags |= f;
    }
    if (!(flags & CLONE_NEWNS))
        return oci_refuse(x, "linux.namespaces", "a mount namespace is required");
    if ((flags & CLONE_NEWUSER) && s->n_ns_join)
        return oci_refuse(x, "linux.namespaces", "joining a namespace with a new user namespace (it would not own it)");
    s->ns_flags = flags;
    /* network listed: a new, empty namespace with lo up; joined or absent: left as it is */
    s->net = (flags & CLONE_NEWNET) ? SBX_NET_LOOPBACK : SBX_NET_HOST;
    return 0;
}

static bool ranges_overlap(uint64_t a, uint64_t an, uint64_t b, uint64_t bn)
{
    return a < b + bn && b < a + an;
}

/* 1..SBX_MAX_IDMAP ranges; none may overlap another inside or outside (the kernel's rule). */
static int parse_idmap(const struct ctx *x, const json_t *a, const char *path, struct sbx_idmap *first,
                       struct sbx_idmap *more, size_t *n_more)
{
    if (json_array_size(a) < 1 || json_array_size(a) > SBX_MAX_IDMAP)
        return oci_bad(x, path, "1 to 32 mappings", a);
    *n_more = 0;
    size_t i;
    const json_t *e;
    json_array_foreach(a, i, e)
    {
        static const char *const keys[] = {"containerID", "hostID", "size", NULL};
        char p[64];
        oci_idx(p, sizeof(p), path, i);
        if (!json_is_object(e))
            return oci_bad(x, p, "an object", e);
        int64_t in = 0, out_ = 0, size = 0;
        bool h1, h2, h3;
        if (oci_check_keys(x, e, p, keys) < 0 || oci_get_int(x, e, p, "containerID", 0, UINT32_MAX - 1, &in, &h1) < 0 ||
            oci_get_int(x, e, p, "hostID", 0, UINT32_MAX - 1, &out_, &h2) < 0 ||
            oci_get_int(x, e, p, "size", 1, UINT32_MAX, &size, &h3) < 0)
            return -1;
        if (!h1 || !h2 || !h3)
            return oci_refuse(x, p, "containerID, hostID and size are required");
        struct sbx_idmap m = {(uint32_t)in, (uint32_t)out_, (uint32_t)size};
        for (size_t k = 0; k < i; k++) {
            const struct sbx_idmap *o = k == 0 ? first : &more[k - 1];
            if (ranges_overlap(m.inside, m.count, o->inside, o->count) ||
                ranges_overlap(m.outside, m.count, o->outside, o->count)) {
                char q[64], want[128];
                oci_idx(q, sizeof(q), path, k);
                snprintf(want, sizeof(want), "a range overlapping no other (it overlaps %s inside or outside)", q);
                return oci_bad(x, p, want, e);
            }
        }
        if (i == 0)
            *first = m;
        else
            more[(*n_more)++] = m;
    }
    return 0;
}

/* The devices gbox's /dev provides; others cannot be created. */
/* linux.resources.devices: do the rules give read and write to (type, major, minor)? In order,
 * the last rule that matches decides each access; none matches: allowed (a cgroup's default). */
static bool devices_allow(const json_t *rules, char type, int64_t major, int64_t minor)
{
    bool r = true, w = true;
    size_t i;
    const json_t *e;
    json_array_foreach(rules, i, e)
    {
        const char *t = json_string_value(json_object_get(e, "type"));
        const char *acc = json_string_value(json_object_get(e, "access"));
        const json_t *ma = json_object_get(e, "major"), *mi = json_object_get(e, "minor");
        if ((t && strcmp(t, "a") != 0 && t[0] != type) || (json_is_integer(ma) && json_integer_value(ma) >= 0 &&
                                                           json_integer_value(ma) != major) ||
            (json_is_integer(mi) && json_integer_value(mi) >= 0 && json_integer_value(mi) != minor))
            continue;
        bool allow = json_is_true(json_object_get(e, "allow"));
        if (!acc || strchr(acc, 'r'))
            r = allow;
        if (!acc || strchr(acc, 'w'))
            w = allow;
    }
    return r && w;
}

/* A container uid/gid as the host sees it (through the new user namespace's map), -1 unmapped. */
static int64_t host_id(const struct sbx_spec *s, bool gid, int64_t id)
{
    if (!(s->ns_flags & CLONE_NEWUSER))
        return id;
    size_t n = gid ? s->n_gid_more : s->n_uid_more;
    for (size_t i = 0; i <= n; i++) {
        const struct sbx_idmap *m = i == 0 ? (gid ? &s->gid_map : &s->uid_map) : (gid ? &s->gid_more[i - 1] : &s->uid_more[i - 1]);
        if (id >= m->inside && id < (int64_t)m->inside + m->count)
            return (int64_t)m->outside + (id - m->inside);
    }
    return -1;
}

/* One linux.devices entry beyond gbox's six: the host's own node at the same path, bound in
 * (gbox creates no device nodes). Type, numbers, and mode and owner when given, must be the
 * host node's: a bind cannot change them. */
static int parse_device(const struct ctx *x, const json_t *e, const char *p, const json_t *rules, struct sbx_spec *s)
{
    static const char *const keys[] = {"type", "path", "major", "minor", "fileMode", "uid", "gid", NULL};
    const char *type, *path;
    int64_t maj = -1, mnr = -1, mode = 0, uid = 0, gid = 0;
    bool hma, hmi, hmo, hu, hg;
    char q[96];
    if (oci_check_keys(x, e, p, keys) < 0 || oci_get_str(x, e, p, "type", true, &type) < 0 ||
        oci_get_str(x, e, p, "path", true, &path) < 0 || oci_get_int(x, e, p, "major", 0, 4095, &maj, &hma) < 0 ||
        oci_get_int(x, e, p, "minor", 0, 1048575, &mnr, &hmi) < 0 ||
        oci_get_int(x, e, p, "fileMode", 0, 0177777, &mode, &hmo) < 0 || oci_get_int(x, e, p, "uid", 0, UINT32_MAX, &uid, &hu) < 0 ||
        oci_get_int(x, e, p, "gid", 0, UINT32_MAX, &gid, &hg) < 0)
        return -1;
    oci_sub(q, sizeof(q), p, "type");
    if (strcmp(type, "c") != 0 && strcmp(type, "u") != 0 && strcmp(type, "b") != 0)
        return oci_bad(x, q, "c, u or b (fifos are not supported)", json_object_get(e, "type"));
    oci_sub(q, sizeof(q), p, "path");
    if (path[0] != '/' || strstr(path, "/../") || strncmp(path, "/dev/", 5) != 0)
        return oci_bad(x, q, "an absolute path under /dev without \"..\"", json_object_get(e, "path"));
    if (!hma || !hmi)
        return oci_refuse(x, p, "major and minor are required");
    char t = type[0] == 'b' ? 'b' : 'c';
    struct stat st;
    if (lstat(path, &st) < 0 || (t == 'b' ? !S_ISBLK(st.st_mode) : !S_ISCHR(st.st_mode)) ||
        (int64_t)major(st.st_rdev) != maj || (int64_t)minor(st.st_rdev) != mnr) {
        char why[300];
        snprintf(why, sizeof(why), "the host has no %s device %lld:%lld at %s (gbox binds the host's device "
                 "nodes, it does not create them)", t == 'b' ? "block" : "character", (long long)maj,
                 (long long)mnr, path);
        return oci_refuse(x, p, why);
    }
    /* podman sends the whole st_mode (type bits too): they must then be the device's */
    if (hmo && ((int64_t)(st.st_mode & 07777) != (mode & 07777) || ((mode & S_IFMT) && (mode & S_IFMT) != (int64_t)(st.st_mode & S_IFMT)))) {
        oci_sub(q, sizeof(q), p, "fileMode");
        char want[80];
        snprintf(want, sizeof(want), "the host node's mode %04o (a bind cannot change it)", (unsigned)(st.st_mode & 07777));
        return oci_bad(x, q, want, json_object_get(e, "fileMode"));
    }
    if ((hu && host_id(s, false, uid) != (int64_t)st.st_uid) || (hg && host_id(s, true, gid) != (int64_t)st.st_gid)) {
        oci_sub(q, sizeof(q), p, hu && host_id(s, false, uid) != (int64_t)st.st_uid ? "uid" : "gid");
        char want[96];
        snprintf(want, sizeof(want), "the host node's owner %u:%u (a bind cannot change it)", (unsigned)st.st_uid,
                 (unsigned)st.st_gid);
        return oci_bad(x, q, want, json_object_get(e, hu && host_id(s, false, uid) != (int64_t)st.st_uid ? "uid" : "gid"));
    }
    if (!devices_allow(rules, t, maj, mnr)) {
        char why[200];
        snprintf(why, sizeof(why), "linux.resources.devices does not allow read and write of %c %lld:%lld",
                 t, (long long)maj, (long long)mnr);
        return oci_refuse(x, p, why);
    }
    x->c->devices = realloc(x->c->devices, (x->c->n_devices + 1) * sizeof(char *));
    if (!x->c->devices)
        abort();
    x->c->devices[x->c->n_devices++] = xstrdup(path);
    return 0;
}

/* gbox's /dev has six devices; others are the host's nodes, bound after the mounts
 * (oci_config_load). */
static int parse_devices(const struct ctx *x, const json_t *a, const json_t *rules, struct sbx_spec *s)
{
    static const char *const have[] = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random",
                                       "/dev/urandom", "/dev/tty", NULL};
    size_t i;
    const json_t *e;
    json_array_foreach(a, i, e)
    {
        char p[64];
        oci_idx(p, sizeof(p), "linux.devices", i);
        if (!json_is_object(e))
            return oci_bad(x, p, "an object", e);
        const char *path = json_string_value(json_object_get(e, "path"));
        bool ok = false;
        for (const char *const *h = have; path && *h && !ok; h++)
            ok = strcmp(*h, path) == 0;
        if (!ok && parse_device(x, e, p, rules, s) < 0)
            return -1;
    }
    return 0;
}

static int parse_paths(const struct ctx *x, const json_t *a, const char *path, enum sbx_mount_kind kind,
                       struct sbx_spec *s)
{
    size_t i;
    const json_t *e;
    json_array_foreach(a, i, e)
    {
        char p[64];
        oci_idx(p, sizeof(p), path, i);
        if (!json_is_string(e) || json_string_value(e)[0] != '/')
            return oci_bad(x, p, "an absolute path", e);
        add_mount(s, kind, json_string_value(e))->optional = true;
    }
    return 0;
}

/* cgroupsPath: always beneath gbox's own cgroup; '/' separated components are flattened into
 * one leaf name (the sandbox library creates a single level). */
static int parse_cgroups_path(const struct ctx *x, const char *cp, struct sbx_spec *s)
{
    if (strchr(cp, ':')) {
        json_t *v = json_string(cp);
        oci_bad(x, "linux.cgroupsPath", "a cgroupfs path (systemd \"slice:prefix:name\" paths need --systemd-cgroup, "
                                    "which gbox does not support)", v);
        json_decref(v);
        return -1;
    }
    char name[200];
    size_t n = 0;
    for (const char *c = cp; *c && n + 1 < sizeof(name); c++) {
        if (*c == '/' && (n == 0 || name[n - 1] == '.'))
            continue;
        name[n++] = (*c == '/') ? '.' : ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                                         (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.')
                                            ? *c
                                            : '_';
    }
    while (n > 0 && name[n - 1] == '.')
        n--;
    name[n] = '\0';
    free(s->cgroup_name);
    s->cgroup_name = NULL; /* empty: the CLI names it after the container */
    if (strstr(name, "..")) {
        json_t *v = json_string(cp);
        oci_bad(x, "linux.cgroupsPath", "a path without \"..\"", v);
        json_decref(v);
        return -1;
    }
    if (name[0])
        s->cgroup_name = xstrdup(name);
    return 0;
}

/* ---- seccomp -------------------------------------------------------------------------------- */

static int seccomp_action(const struct ctx *x, const char *path, const json_t *v, int64_t errno_ret,
                          struct sbx_action *out)
{
    const char *a = json_is_string(v) ? json_string_value(v) : "";
    if (strcmp(a, "SCMP_ACT_ALLOW") == 0)
        *out = (struct sbx_action){SBX_ACT_ALLOW, 0};
    else if (strcmp(a, "SCMP_ACT_ERRNO") == 0)
        *out = (struct sbx_action){SBX_ACT_ERRNO, (int)errno_ret};
    else if (strcmp(a, "SCMP_ACT_KILL") == 0 || strcmp(a, "SCMP_ACT_KILL_THREAD") == 0 ||
             strcmp(a, "SCMP_ACT_KILL_PROCESS") == 0)
        *out = (struct sbx_action){SBX_ACT_KILL_PROCESS, 0};
    else if (strcmp(a, "SCMP_ACT_TRAP") == 0)
        *out = (struct sbx_action){SBX_ACT_TRAP, 0};
    else if (strcmp(a, "SCMP_ACT_LOG") == 0)
        *out = (struct sbx_action){SBX_ACT_LOG, 0};
    else
        return oci_bad(x, path, "SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL(_THREAD|_PROCESS), SCMP_ACT_TRAP or "
                            "SCMP_ACT_LOG (TRACE and NOTIFY are not supported)", v);
    return 0;
}

static int seccomp_args(const struct ctx *x, const json_t *a, const char *path, struct sbx_syscall_rule *r)
{
    static const char *const keys[] = {"index", "value", "valueTwo", "op", NULL};
    static const struct {
        const char *name;
        enum sbx_cmp op;
    } ops[] = {{"SCMP_CMP_NE", SBX_CMP_NE}, {"SCMP_CMP_LT", SBX_CMP_LT}, {"SCMP_CMP_LE", SBX_CMP_LE},
               {"SCMP_CMP_EQ", SBX_CMP_EQ}, {"SCMP_CMP_GE", SBX_CMP_GE}, {"SCMP_CMP_GT", SBX_CMP_GT},
               {"SCMP_CMP_MASKED_EQ", SBX_CMP_MASKED_EQ}};
    if (json_array_size(a) > 6)
        return oci_bad(x, path, "at most 6 argument conditions", a);
    size_t i;
    const json_t *e;
    json_array_foreach(a, i, e)
    {
        char p[320], q[340];
        oci_idx(p, sizeof(p), path, i);
        if (!json_is_object(e))
            return oci_bad(x, p, "an object", e);
        int64_t index = 0, value = 0, two = 0;
        bool hi, hv, h2;
        const char *op;
        /* values are unsigned 64-bit in the spec; jansson holds int64: large masks arrive
         * negative, which is the same bit pattern */
        if (oci_check_keys(x, e, p, keys) < 0 || oci_get_int(x, e, p, "index", 0, 5, &index, &hi) < 0 ||
            oci_get_int(x, e, p, "value", INT64_MIN, INT64_MAX, &value, &hv) < 0 ||
            oci_get_int(x, e, p, "valueTwo", INT64_MIN, INT64_MAX, &two, &h2) < 0 ||
            oci_get_str(x, e, p, "op", true, &op) < 0)
            return -1;
        if (!hi)
            return oci_refuse(x, p, "index is required");
        struct sbx_arg_cond *c = &r->args[r->n_args++];
        c->index = (unsigned)index;
        size_t k = 0;
        while (k < ARRAY_LEN(ops) && strcmp(ops[k].name, op) != 0)
            k++;
        oci_sub(q, sizeof(q), p, "op");
        if (k == ARRAY_LEN(ops))
            return oci_bad(x, q, "an SCMP_CMP_* operator", json_object_get(e, "op"));
        c->op = ops[k].op;
        if (c->op == SBX_CMP_MASKED_EQ) {
            c->mask = (uint64_t)value;
            c->value = (uint64_t)two;
        } else {
            c->value = (uint64_t)value;
        }
    }
    return 0;
}

static bool same_action(struct sbx_action a, struct sbx_action b)
{
    return a.kind == b.kind && (a.kind != SBX_ACT_ERRNO || a.errnum == b.errnum);
}

static int parse_seccomp(const struct ctx *x, const json_t *sc, struct sbx_spec *s)
{
    static const char *const keys[] = {"defaultAction", "defaultErrnoRet", "architectures", "flags",
                                       "listenerPath", "listenerMetadata", "syscalls", NULL};
    const char *P = "linux.seccomp";
    const json_t *arches, *flags, *calls, *e;
    const char *lp;
    int64_t def_errno = EPERM;
    bool h;
    if (oci_check_keys(x, sc, P, keys) < 0 || oci_get_arr(x, sc, P, "architectures", &arches) < 0 ||
        oci_get_arr(x, sc, P, "flags", &flags) < 0 || oci_get_arr(x, sc, P, "syscalls", &calls) < 0 ||
        oci_get_str(x, sc, P, "listenerPath", false, &lp) < 0 ||
        oci_get_int(x, sc, P, "defaultErrnoRet", 1, 4095, &def_errno, &h) < 0)
        return -1;
    if (lp && lp[0])
        return oci_refuse(x, "linux.seccomp.listenerPath", "seccomp notification listeners are not supported");
    size_t i;
    json_array_foreach(flags, i, e)
    {
        const char *f = json_string_value(e);
        if (!f || (strcmp(f, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") != 0 && strcmp(f, "SECCOMP_FILTER_FLAG_LOG") != 0)) {
            char p[64];
            oci_idx(p, sizeof(p), "linux.seccomp.flags", i);
            return oci_bad(x, p, "SECCOMP_FILTER_FLAG_SPEC_ALLOW or SECCOMP_FILTER_FLAG_LOG", e);
        }
    }
    /* architectures: gbox's filter accepts the native ABI only (i386 and x32 calls are killed),
     * which is stricter than any list: accepted. */
    struct sbx_filter *f = &s->seccomp.filters[0];
    if (seccomp_action(x, "linux.seccomp.defaultAction", json_object_get(sc, "defaultAction"), def_errno,
                       &f->default_action) < 0)
        return -1;
    size_t cap = 0;
    json_array_foreach(calls, i, e)
    {
        static const char *const ck[] = {"names", "action", "errnoRet", "args", "comment", "includes", "excludes", NULL};
        char p[64], q[96];
        oci_idx(p, sizeof(p), "linux.seccomp.syscalls", i);
        if (!json_is_object(e))
            return oci_bad(x, p, "an object", e);
        const json_t *names, *args;
        int64_t eret = EPERM;
        struct sbx_action act;
        if (oci_check_keys(x, e, p, ck) < 0 || oci_get_arr(x, e, p, "names", &names) < 0 ||
            oci_get_arr(x, e, p, "args", &args) < 0 || oci_get_int(x, e, p, "errnoRet", 1, 4095, &eret, &h) < 0)
            return -1;
        oci_sub(q, sizeof(q), p, "action");
        if (seccomp_action(x, q, json_object_get(e, "action"), eret, &act) < 0)
            return -1;
        if (json_object_get(e, "includes") || json_object_get(e, "excludes")) {
            oci_sub(q, sizeof(q), p, "includes");
            return oci_refuse(x, q, "not part of the OCI spec (a profile template field): resolve it first");
        }
        size_t k;
        const json_t *n;
        json_array_foreach(names, k, n)
        {
            oci_sub(q, sizeof(q), p, "names");
            char r[128];
            oci_idx(r, sizeof(r), q, k);
            if (!json_is_string(n))
                return oci_bad(x, r, "a syscall name", n);
            int nr = seccomp_syscall_resolve_name(json_string_value(n));
            if (nr == __NR_SCMP_ERROR) {
                /* An unknown name in a rule that allows does not widen anything: skipped (the
                 * profiles container tools ship list calls newer than this libseccomp). One that
                 * restricts cannot be honoured: refused. */
                if (act.kind == SBX_ACT_ALLOW)
                    continue;
                return oci_bad(x, r, "a syscall name libseccomp knows on this architecture", n);
            }
            if (nr < 0) /* exists on other architectures only */
                continue;
            if (same_action(act, f->default_action))
                continue; /* libseccomp refuses rules that repeat the default */
            if (f->n_rules == cap) {
                cap = cap ? cap * 2 : 64;
                f->rules = realloc(f->rules, cap * sizeof(*f->rules));
                if (!f->rules)
                    abort();
            }
            struct sbx_syscall_rule *rule = &f->rules[f->n_rules++];
            memset(rule, 0, sizeof(*rule));
            rule->nr = nr;
            rule->action = act;
            oci_sub(q, sizeof(q), p, "args");
            if (args && seccomp_args(x, args, q, rule) < 0)
                return -1;
        }
    }
    s->seccomp.n_filters = 1;
    return 0;
}

/* ---- sysctl ---------------------------------------------------------------------------------- */

/* Only sysctls that belong to a namespace the sandbox has of its own (as runc checks). */
static bool sysctl_namespaced(const char *k, int ns)
{
    static const char *const ipc[] = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                                      "kernel.shmall", "kernel.shmmax", "kernel.shmmni",
                                      "kernel.shm_rmid_forced", NULL};
    if (strstr(k, "..") || strchr(k, '/'))
        return false;
    for (const char *const *p = ipc; *p; p++)
        if (strcmp(*p, k) == 0)
            return ns & CLONE_NEWIPC;
    if (strncmp(k, "fs.mqueue.", 10) == 0)
        return ns & CLONE_NEWIPC;
    if (strncmp(k, "net.", 4) == 0)
        return ns & CLONE_NEWNET;
    if (strcmp(k, "kernel.hostname") == 0 || strcmp(k, "kernel.domainname") == 0)
        return ns & CLONE_NEWUTS;
    return false;
}

static int parse_sysctl(const struct ctx *x, const json_t *o, struct sbx_spec *s)
{
    const char *k;
    const json_t *v;
    s->sysctl = xcalloc(json_object_size(o) + 1, sizeof(*s->sysctl));
    json_object_foreach((json_t *)o, k, v)
    {
        char p[300];
        oci_sub(p, sizeof(p), "linux.sysctl", k);
        if (!json_is_string(v))
            return oci_bad(x, p, "a string value", v);
        int own = s->ns_flags;
        for (size_t j = 0; j < s->n_ns_join; j++)
            own |= s->ns_join[j].type;
        if (!sysctl_namespaced(k, own))
            return oci_refuse(x, p, "not a sysctl of a namespace the container has of its own (net.* with a "
                                "network namespace, kernel.shm*/msg*/sem and fs.mqueue.* with an ipc one)");
        s->sysctl[s->n_sysctl].key = xstrdup(k);
        s->sysctl[s->n_sysctl++].value = xstrdup(json_string_value(v));
    }
    return 0;
}

/* ---- hooks ---------------------------------------------------------------------------------- */

static int parse_hooks(const struct ctx *x, const json_t *h, struct oci_config *c)
{
    static const char *const keys[] = {"prestart", "createRuntime", "createContainer", "startContainer",
                                       "poststart", "poststop", NULL};
    if (oci_check_keys(x, h, "hooks", keys) < 0)
        return -1;
    for (int k = 0; k < OCI_HOOK_N; k++) {
        const json_t *a, *e;
        if (oci_get_arr(x, h, "hooks", keys[k], &a) < 0)
            return -1;
        if (!a)
            continue;
        c->hooks[k] = xcalloc(json_array_size(a) + 1, sizeof(struct sbx_hook));
        size_t i;
        json_array_foreach(a, i, e)
        {
            static const char *const hk[] = {"path", "args", "env", "timeout", NULL};
            char p[64], q[80];
            oci_sub(q, sizeof(q), "hooks", keys[k]);
            oci_idx(p, sizeof(p), q, i);
            if (!json_is_object(e))
                return oci_bad(x, p, "an object", e);
            const char *path;
            const json_t *args, *env;
            int64_t to = 0;
            bool has;
            if (oci_check_keys(x, e, p, hk) < 0 || oci_get_str(x, e, p, "path", true, &path) < 0 ||
                oci_get_arr(x, e, p, "args", &args) < 0 || oci_get_arr(x, e, p, "env", &env) < 0 ||
                oci_get_int(x, e, p, "timeout", 1, 3600, &to, &has) < 0)
                return -1;
            if (path[0] != '/') {
                oci_sub(q, sizeof(q), p, "path");
                return oci_bad(x, q, "an absolute path", json_object_get(e, "path"));
            }
            struct sbx_hook *hook = &c->hooks[k][c->n_hooks[k]++];
            hook->path = xstrdup(path);
            hook->timeout = (int)to;
            oci_sub(q, sizeof(q), p, "args");
            if (args && str_array(x, args, q, &hook->args) < 0)
                return -1;
            if (!hook->args) {
                hook->args = xcalloc(2, sizeof(char *));
                hook->args[0] = xstrdup(path);
            }
            oci_sub(q, sizeof(q), p, "env");
            if (env && str_array(x, env, q, &hook->env) < 0)
                return -1;
            if (!hook->env)
                hook->env = xcalloc(1, sizeof(char *));
        }
    }
    return 0;
}

/* ---- the document ----------------------------------------------------------------------------- */

static int parse_root(const struct ctx *x, const json_t *root, struct sbx_spec *s)
{
    static const char *const keys[] = {"path", "readonly", NULL};
    const char *path;
    if (!root)
        return oci_refuse(x, "root", "required field missing");
    if (!json_is_object(root))
        return oci_bad(x, "root", "an object", root);
    if (oci_check_keys(x, root, "root", keys) < 0 || oci_get_str(x, root, "root", "path", true, &path) < 0 ||
        oci_get_bool(x, root, "root", "readonly", &s->readonly_root) < 0)
        return -1;
    char host[PATH_MAX], canon[PATH_MAX];
    if (path[0] == '/')
        snprintf(host, sizeof(host), "%s", path);
    else
        snprintf(host, sizeof(host), "%s/%s", x->bundle, path);
    struct stat st;
    /* canonical: the sandbox library opens the root refusing symlinks on the way */
    if (!realpath(host, canon) || stat(canon, &st) < 0)
        return sbx_err_set(x->err, GBOX_EXIT_USAGE, errno, "%s: root.path: %s", x->file, host);
    if (!S_ISDIR(st.st_mode))
        return oci_bad(x, "root.path", "a directory", json_object_get(root, "path"));
    s->rootfs = xstrdup(canon);
    s->rootfs_bind = true;
    return 0;
}

/* linux.personality: the execution domain (LINUX, or LINUX32: a 32-bit uname); no flags. */
static int parse_personality(const struct ctx *x, const json_t *o, struct sbx_spec *s)
{
    static const char *const keys[] = {"domain", "flags", NULL};
    const char *P = "linux.personality", *dom;
    const json_t *fl;
    if (oci_check_keys(x, o, P, keys) < 0 || oci_get_str(x, o, P, "domain", true, &dom) < 0 ||
        oci_get_arr(x, o, P, "flags", &fl) < 0)
        return -1;
    if (fl && json_array_size(fl))
        return oci_refuse(x, "linux.personality.flags", "personality flags are not supported");
    if (strcmp(dom, "LINUX") == 0)
        s->personality = PER_LINUX;
    else if (strcmp(dom, "LINUX32") == 0)
        s->personality = PER_LINUX32;
    else
        return oci_bad(x, "linux.personality.domain", "LINUX or LINUX32", json_object_get(o, "domain"));
    s->has_personality = true;
    return 0;
}

static int parse_linux(const struct ctx *x, const json_t *lx, struct sbx_spec *s)
{
    static const char *const keys[] = {"namespaces", "uidMappings", "gidMappings", "devices", "resources",
                                       "cgroupsPath", "maskedPaths", "readonlyPaths", "sysctl", "seccomp",
                                       "rootfsPropagation", "mountLabel", "intelRdt", "personality",
                                       "timeOffsets", NULL};
    const char *P = "linux";
    const json_t *ns, *um, *gm, *dev, *res, *mp, *rp, *sys, *sc;
    const char *cp, *prop, *ml;
    if (oci_check_keys(x, lx, P, keys) < 0 || oci_get_arr(x, lx, P, "namespaces", &ns) < 0 ||
        oci_get_arr(x, lx, P, "uidMappings", &um) < 0 || oci_get_arr(x, lx, P, "gidMappings", &gm) < 0 ||
        oci_get_arr(x, lx, P, "devices", &dev) < 0 || oci_get_obj(x, lx, P, "resources", &res) < 0 ||
        oci_get_str(x, lx, P, "cgroupsPath", false, &cp) < 0 || oci_get_arr(x, lx, P, "maskedPaths", &mp) < 0 ||
        oci_get_arr(x, lx, P, "readonlyPaths", &rp) < 0 || oci_get_obj(x, lx, P, "sysctl", &sys) < 0 ||
        oci_get_obj(x, lx, P, "seccomp", &sc) < 0 || oci_get_str(x, lx, P, "rootfsPropagation", false, &prop) < 0 ||
        oci_get_str(x, lx, P, "mountLabel", false, &ml) < 0)
        return -1;
    static const char *const refused[] = {"intelRdt", "timeOffsets"};
    for (size_t i = 0; i < ARRAY_LEN(refused); i++)
        if (json_object_get(lx, refused[i])) {
            char p[64];
            oci_sub(p, sizeof(p), P, refused[i]);
            return oci_refuse(x, p, "not supported");
        }
    if (ml && ml[0])
        return oci_refuse(x, "linux.mountLabel", "SELinux labels are not supported");
    const json_t *pers;
    if (oci_get_obj(x, lx, P, "personality", &pers) < 0 || (pers && parse_personality(x, pers, s) < 0))
        return -1;
    if (prop && prop[0] && strcmp(prop, "private") != 0 && strcmp(prop, "rprivate") != 0 &&
        strcmp(prop, "slave") != 0 && strcmp(prop, "rslave") != 0)
        return oci_bad(x, "linux.rootfsPropagation", "private, rprivate, slave or rslave (gbox makes every mount private)",
                   json_object_get(lx, "rootfsPropagation"));
    if (!ns)
        return oci_refuse(x, "linux.namespaces", "required field missing");
    if (parse_namespaces(x, ns, s) < 0)
        return -1;
    if (s->ns_flags & CLONE_NEWUSER) {
        if (!um || !gm)
            return oci_refuse(x, "linux.uidMappings", "a user namespace needs uidMappings and gidMappings");
        if (parse_idmap(x, um, "linux.uidMappings", &s->uid_map, s->uid_more, &s->n_uid_more) < 0 ||
            parse_idmap(x, gm, "linux.gidMappings", &s->gid_map, s->gid_more, &s->n_gid_more) < 0)
            return -1;
    } else if ((um && json_array_size(um)) || (gm && json_array_size(gm))) {
        return oci_refuse(x, "linux.uidMappings", has_join(s, CLONE_NEWUSER)
                                                  ? "mappings with a joined user namespace (its mappings are its own)"
                                                  : "mappings without a user namespace");
    }
    if ((dev && parse_devices(x, dev, res ? json_object_get(res, "devices") : NULL, s) < 0) ||
        (res && oci_parse_resources(x, res, s) < 0) ||
        (sys && parse_sysctl(x, sys, s) < 0) || (sc && parse_seccomp(x, sc, s) < 0) ||
        parse_cgroups_path(x, cp ? cp : "", s) < 0)
        return -1;
    return 0;
}

static void spec_defaults(struct sbx_spec *s, const char *stage_dir)
{
    /* every_controller: `update` may set any limit later, as with runc */
    s->limits = (struct sbx_cgroup_limits){-1, -1, -1, -1, -1, -1, -1, NULL, NULL, NULL, 0, true, false, 0, 0};
    s->cgroup_enabled = true; /* kill, pause and stats go through the container's cgroup */
    s->stage_dir = xstrdup(stage_dir);
    s->upper_size = 1 << 20;
    s->forward_signals = true;
    s->timeout_signal = SIGKILL;
    s->start_fd = -1;
    /* no seccomp section: a filter that allows everything (the kernel's own checks apply) */
    s->seccomp.n_filters = 1;
    s->seccomp.filters[0].default_action = (struct sbx_action){SBX_ACT_ALLOW, 0};
}

static int parse_doc(const struct ctx *x, const json_t *doc, const char *stage_dir)
{
    static const char *const keys[] = {"ociVersion", "process", "root", "hostname", "domainname", "mounts",
                                       "hooks", "annotations", "linux", NULL};
    struct oci_config *c = x->c;
    struct sbx_spec *s = &c->spec;
    spec_defaults(s, stage_dir);
    if (!json_is_object(doc))
        return oci_bad(x, "(top level)", "an object", doc);
    const char *ver, *host, *dom;
    const json_t *proc, *mounts, *hooks, *ann, *lx, *e;
    if (oci_check_keys(x, doc, "", keys) < 0 || oci_get_str(x, doc, "", "ociVersion", true, &ver) < 0 ||
        oci_get_obj(x, doc, "", "process", &proc) < 0 || oci_get_str(x, doc, "", "hostname", false, &host) < 0 ||
        oci_get_str(x, doc, "", "domainname", false, &dom) < 0 || oci_get_arr(x, doc, "", "mounts", &mounts) < 0 ||
        oci_get_obj(x, doc, "", "hooks", &hooks) < 0 || oci_get_obj(x, doc, "", "annotations", &ann) < 0 ||
        oci_get_obj(x, doc, "", "linux", &lx) < 0)
        return -1;
    if (strncmp(ver, "1.", 2) != 0)
        return oci_bad(x, "ociVersion", "a 1.x version", json_object_get(doc, "ociVersion"));
    if (!proc)
        return oci_refuse(x, "process", "required field missing (gbox runs one process per container)");
    if (!lx)
        return oci_refuse(x, "linux", "required field missing");
    const char *k;
    json_object_foreach((json_t *)ann, k, e)
    {
        char p[300];
        oci_sub(p, sizeof(p), "annotations", k);
        if (!json_is_string(e))
            return oci_bad(x, p, "a string", e);
    }
    c->annotations = ann ? json_incref((json_t *)ann) : json_object();
    const char *pol = json_string_value(json_object_get(c->annotations, OCI_POLICY_ANNOTATION));
    c->policy = pol ? xstrdup(pol) : NULL;
    /* linux first: the namespaces decide what hostname and sysctl may do */
    if (parse_root(x, json_object_get(doc, "root"), s) < 0 || parse_linux(x, lx, s) < 0)
        return -1;
    if (host && host[0]) {
        if (!(s->ns_flags & CLONE_NEWUTS) && !has_join(s, CLONE_NEWUTS))
            return oci_refuse(x, "hostname", "setting it needs a uts namespace");
        s->hostname = xstrdup(host);
    }
    if (dom && dom[0]) {
        if (!(s->ns_flags & CLONE_NEWUTS) && !has_join(s, CLONE_NEWUTS))
            return oci_refuse(x, "domainname", "setting it needs a uts namespace");
        s->domainname = xstrdup(dom);
    }
    size_t i;
    json_array_foreach(mounts, i, e) if (parse_mount(x, e, i, s) < 0) return -1;
    /* linux.devices beyond the six: the host's nodes, bound over the container's /dev */
    for (size_t d = 0; d < c->n_devices; d++) {
        struct sbx_mount *dm = add_mount(s, SBX_MOUNT_BIND, c->devices[d]);
        dm->source = xstrdup(c->devices[d]);
        dm->writable = dm->file = dm->device = true;
    }
    /* after the mounts, so a masked or read-only path inside a mount is covered */
    const json_t *mp = json_object_get(lx, "maskedPaths"), *rp = json_object_get(lx, "readonlyPaths");
    if ((mp && parse_paths(x, mp, "linux.maskedPaths", SBX_MOUNT_MASK, s) < 0) ||
        (rp && parse_paths(x, rp, "linux.readonlyPaths", SBX_MOUNT_READONLY, s) < 0))
        return -1;
    if (process_common(x, proc, s, &c->terminal) < 0)
        return -1;
    if (s->n_groups && (s->ns_flags & CLONE_NEWUSER))
        return oci_refuse(x, "process.user.additionalGids", "supplementary groups with a new user namespace (gbox "
                                                        "denies setgroups in it: CVE-2014-8989)");
    int64_t adj = 0;
    if (oci_get_int(x, proc, "process", "oomScoreAdj", -1000, 1000, &adj, &c->has_oom_score_adj) < 0)
        return -1;
    c->oom_score_adj = (int)adj;
    resolve_argv0(s);
    return hooks ? parse_hooks(x, hooks, c) : 0;
}

int oci_config_parse(const char *text, size_t len, const char *file, const char *bundle,
                     const char *stage_dir, struct oci_config *c, struct sbx_err **err)
{
    memset(c, 0, sizeof(*c));
    c->umask = -1;
    json_error_t je;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!doc) {
        sbx_err_set(err, GBOX_EXIT_USAGE, 0, "%s: line %d, column %d: %s", file, je.line, je.column, je.text);
        c->annotations = json_object();
        return -1;
    }
    struct ctx x = {file, bundle, c, err};
    int rc = parse_doc(&x, doc, stage_dir);
    json_decref(doc);
    if (!c->annotations)
        c->annotations = json_object();
    return rc;
}

int oci_config_load(const char *bundle, const char *stage_dir, struct oci_config *c, struct sbx_err **err)
{
    char file[PATH_MAX];
    snprintf(file, sizeof(file), "%s/config.json", bundle);
    size_t len = 0;
    char *text = read_file(file, &len);
    if (!text) {
        memset(c, 0, sizeof(*c));
        c->annotations = json_object();
        return sbx_err_set(err, GBOX_EXIT_USAGE, errno, "read %s", file);
    }
    int rc = oci_config_parse(text, len, file, bundle, stage_dir, c, err);
    free(text);
    return rc;
}

void oci_config_cgroup_mounts(struct oci_config *c)
{
    if (!c->cgroup_mount)
        return;
    struct sbx_cgroup_dir dirs[8];
    size_t n = sbx_cgroup_plan_dirs(&c->spec, dirs, ARRAY_LEN(dirs));
    struct sbx_mount *t = add_mount(&c->spec, SBX_MOUNT_TMPFS, c->cgroup_mount);
    t->size = 64 * 1024;
    t->mode = 0755;
    for (size_t i = 0; i < n; i++) {
        const char *base = strrchr(dirs[i].mount_point, '/');
        char target[PATH_MAX];
        snprintf(target, sizeof(target), "%s/%s", c->cgroup_mount, base ? base + 1 : "cgroup");
        struct sbx_mount *b = add_mount(&c->spec, SBX_MOUNT_BIND, target);
        b->source = xstrdup(dirs[i].host);
    }
    add_mount(&c->spec, SBX_MOUNT_READONLY, c->cgroup_mount);
}

void oci_config_free(struct oci_config *c)
{
    free(c->cgroup_mount);
    for (size_t i = 0; i < c->n_devices; i++)
        free(c->devices[i]);
    free(c->devices);
    sbx_spec_free(&c->spec);
    free(c->policy);
    json_decref(c->annotations);
    for (int k = 0; k < OCI_HOOK_N; k++) {
        for (size_t i = 0; i < c->n_hooks[k]; i++) {
            free(c->hooks[k][i].path);
            strv_free(c->hooks[k][i].args);
            strv_free(c->hooks[k][i].env);
        }
        free(c->hooks[k]);
    }
    memset(c, 0, sizeof(*c));
}
