/* plan.c — everything that defaults, looks up or decides happens here, before any privileged
 * step: the result is a plain `struct sbx_spec` that sandbox/ only executes. */
#include "plan.h"

#include "names.h"
#include "netaddr.h"
#include "paths.h"
#include "seccomp_plan.h"
#include "units.h"
#include "../sandbox/util.h"

#include <arpa/inet.h>
#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

struct strv {
    char **v;
    size_t n, cap;
};

static void strv_push(struct strv *s, const char *str)
{
    if (s->n + 2 > s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->v = realloc(s->v, s->cap * sizeof(char *));
        if (!s->v)
            abort();
    }
    s->v[s->n++] = xstrdup(str);
    s->v[s->n] = NULL;
}

struct sbx_mount *plan_add_mount(struct sbx_spec *s, enum sbx_mount_kind kind, const char *target)
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
#define add_mount plan_add_mount

/* Is cmd present in the image (any of its layers at "/") along PATH? Only a hint for a clear
 * error: the exec inside is the real test. */
static bool in_image_exists(const struct sbx_spec *s, const char *path_env, const char *cmd, char *found,
                            size_t len)
{
    char *const *layers = s->n_layers ? s->layers : &s->rootfs;
    size_t n = s->n_layers ? s->n_layers : 1;
    struct stat st;
    char p[PATH_MAX];
    /* a module at its own mount point (only for absolute commands: PATH lookups stay at "/") */
    for (size_t m = 0; cmd[0] == '/' && m < s->n_mounts; m++) {
        const struct sbx_mount *mt = &s->mounts[m];
        size_t tl = strlen(mt->target);
        if (mt->kind != SBX_MOUNT_LAYERS || strncmp(cmd, mt->target, tl) != 0 || cmd[tl] != '/')
            continue;
        snprintf(found, len, "%s", cmd);
        for (size_t i = 0; i < mt->n_layers; i++) {
            snprintf(p, sizeof(p), "%s%s", mt->layers[i], cmd + tl);
            if (lstat(p, &st) == 0)
                return true;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (strchr(cmd, '/')) {
            snprintf(p, sizeof(p), "%s/%s", layers[i], cmd);
            snprintf(found, len, "%s", cmd);
            if (lstat(p, &st) == 0)
                return true;
            continue;
        }
        char buf[1024];
        snprintf(buf, sizeof(buf), "%s", path_env ? path_env : "/usr/local/bin:/usr/bin:/bin");
        char *save = NULL;
        for (char *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
            snprintf(p, sizeof(p), "%s/%s/%s", layers[i], d, cmd);
            if (lstat(p, &st) == 0) {
                snprintf(found, len, "%s/%s", d, cmd);
                return true;
            }
        }
    }
    return false;
}

const json_t *plan_handler(const struct gbox_policy *p, const char *program, size_t *index)
{
    if (!program)
        return NULL;
    const char *base = strrchr(program, '/');
    const char *ext = strrchr(base ? base + 1 : program, '.');
    const json_t *h, *e;
    size_t i, j;
    json_array_foreach(pol_get(p, "interpreter.handlers"), i, h)
    {
        json_array_foreach(json_object_get(h, "extensions"), j, e)
        {
            if (ext && strcmp(json_string_value(e), ext) == 0) {
                if (index)
                    *index = i;
                return h;
            }
        }
    }
    return NULL;
}

/* A handler with "project": the program's directory read-only at program_dir instead of the file
 * alone, and the working directory as gr's import search path needs it: program_dir when gbox
 * runs from the program's directory (or from "/"), else /work with the current directory's src/
 * and lib/ read-only beneath it (docs/gbox.1.md "Running Graphoid programs"). */
static int plan_project(const struct gbox_policy *p, const char *real, struct sbx_spec *s, struct sbx_err **err)
{
    char dir[PATH_MAX], cwd[PATH_MAX], sub[PATH_MAX + 8];
    snprintf(dir, sizeof(dir), "%s", real);
    *strrchr(dir, '/') = '\0';
    if (dir[0] == '\0')
        return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "program %s: refusing to mount \"/\" as a project "
                           "directory (interpreter.handlers[].project): move the program into a directory", real);
    const char *pdir = pol_str(p, "interpreter.program_dir");
    struct sbx_mount *m = add_mount(s, SBX_MOUNT_BIND, pdir);
    m->source = xstrdup(dir);
    struct stat st;
    /* run from "/" (gbox daemon's shims are), nothing of the host's root is a project's */
    if (!getcwd(cwd, sizeof(cwd)) || strcmp(cwd, dir) == 0 || strcmp(cwd, "/") == 0) {
        s->cwd = xstrdup(pdir);
        return 0;
    }
    s->cwd = xstrdup("/work");
    static const char *const subs[] = {"src", "lib"};
    for (size_t i = 0; i < ARRAY_LEN(subs); i++) {
        snprintf(sub, sizeof(sub), "%s/%s", cwd, subs[i]);
        if (stat(sub, &st) < 0 || !S_ISDIR(st.st_mode))
            continue;
        char target[32];
        snprintf(target, sizeof(target), "/work/%s", subs[i]);
        m = add_mount(s, SBX_MOUNT_BIND, target);
        m->source = xstrdup(sub);
    }
    return 0;
}

static int plan_argv(const struct gbox_policy *p, const struct run_request *rq, struct sbx_spec *s,
                     struct strv *argv, struct sbx_err **err)
{
    const char *path_env = json_string_value(json_object_get(pol_get(p, "interpreter.env"), "PATH"));
    char found[PATH_MAX];
    if (rq->in_image) {
        if (!in_image_exists(s, path_env, rq->argv[0], found, sizeof(found)))
            return sbx_err_set(err, GBOX_EXIT_NOT_FOUND, 0, "%s: not found in image %s (PATH %s)",
                               rq->argv[0], s->n_layers ? s->layers[0] : s->rootfs,
                               path_env ? path_env : "unset");
        strv_push(argv, found);
        for (int i = 1; i < rq->argc; i++)
            strv_push(argv, rq->argv[i]);
        return 0;
    }
    char real[PATH_MAX];
    struct stat st;
    if (!realpath(rq->program, real) || stat(real, &st) < 0)
        return sbx_err_set(err, GBOX_EXIT_NOT_FOUND, errno, "program %s", rq->program);
    if (!S_ISREG(st.st_mode))
        return sbx_err_set(err, GBOX_EXIT_CANNOT_EXEC, 0, "program %s: not a regular file", rq->program);
    /* The sandbox reads it as an unprivileged mapped uid, through a read-only bind. */
    if (!(st.st_mode & S_IROTH))
        return sbx_err_set(err, GBOX_EXIT_CANNOT_EXEC, 0,
                           "program %s (mode %04o) is not readable by the sandbox's unprivileged "
                           "user: chmod o+r it", rq->program, st.st_mode & 07777);
    char copy[PATH_MAX];
    snprintf(copy, sizeof(copy), "%s", real);
    const char *base = basename(copy);
    char inside[PATH_MAX];
    const char *pdir = pol_str(p, "interpreter.program_dir");
    snprintf(inside, sizeof(inside), "%s/%s", pdir, base);
    const char *ext = strrchr(base, '.');
    const json_t *h = plan_handler(p, real, NULL);
    if (json_is_true(json_object_get(h, "project"))) {
        if (plan_project(p, real, s, err) < 0)
            return -1;
    } else {
        /* The program directory is a small tmpfs of the sandbox's own (the image's directories
         * belong to the host's root, so the sandbox could not create a mount point in them),
         * holding only the program, read-only. */
        struct sbx_mount *m = add_mount(s, SBX_MOUNT_TMPFS, pdir);
        m->size = 64 * 1024;
        m->mode = 0755;
        m = add_mount(s, SBX_MOUNT_BIND, inside);
        m->source = xstrdup(real);
        m->file = true;
        add_mount(s, SBX_MOUNT_READONLY, pdir);
    }
    if (h) {
        const json_t *c;
        size_t k;
        json_array_foreach(json_object_get(h, "command"), k, c)
        {
            const char *arg = json_string_value(c);
            strv_push(argv, strcmp(arg, "{program}") == 0 ? inside : arg);
        }
        for (int a = 0; a < rq->argc; a++)
            strv_push(argv, rq->argv[a]);
        return 0;
    }
    if (!(st.st_mode & S_IXOTH))
        return sbx_err_set(err, GBOX_EXIT_CANNOT_EXEC, 0,
                           "%s: no interpreter for \"%s\" in policy %s (interpreter.handlers) and "
                           "the file is not executable by others", rq->program, ext ? ext : base,
                           p->name);
    strv_push(argv, inside);
    for (int a = 0; a < rq->argc; a++)
        strv_push(argv, rq->argv[a]);
    return 0;
}

static void plan_env(const struct gbox_policy *p, const struct run_request *rq, struct sbx_spec *s)
{
    struct strv env = {0};
    const char *k;
    const json_t *v;
    char buf[4096];
    json_object_foreach((json_t *)pol_get(p, "interpreter.env"), k, v)
    {
        snprintf(buf, sizeof(buf), "%s=%s", k, json_string_value(v));
        strv_push(&env, buf);
    }
    const char *term = getenv("TERM");
    if (term && isatty(STDOUT_FILENO) && !json_object_get(pol_get(p, "interpreter.env"), "TERM")) {
        snprintf(buf, sizeof(buf), "TERM=%s", term);
        strv_push(&env, buf);
    }
    /* --env overrides: replace NAME= in place, else append */
    for (size_t i = 0; rq && i < rq->n_env; i++) {
        size_t kl = (size_t)(strchr(rq->env[i], '=') - rq->env[i]) + 1;
        size_t j = 0;
        while (j < env.n && strncmp(env.v[j], rq->env[i], kl) != 0)
            j++;
        if (j < env.n) {
            free(env.v[j]);
            env.v[j] = xstrdup(rq->env[i]);
        } else {
            strv_push(&env, rq->env[i]);
        }
    }
    if (!env.v)
        strv_push(&env, "PATH=/usr/bin:/bin");
    s->envp = env.v;
}

static int plan_rlimits(const struct gbox_policy *p, struct sbx_spec *s, struct sbx_err **err)
{
    struct rlimit cur;
    int64_t nofile = json_integer_value(pol_get(p, "resources.open_files"));
    if (getrlimit(RLIMIT_NOFILE, &cur) == 0 && cur.rlim_max != RLIM_INFINITY &&
        (uint64_t)nofile > cur.rlim_max)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0,
                           "%s: resources.open_files: %lld is above this host's hard limit of %llu "
                           "open files (raising it needs CAP_SYS_RESOURCE)",
                           p->file, (long long)nofile, (unsigned long long)cur.rlim_max);
    int64_t fsize = pol_size(p, "resources.file_size");
    int64_t cpu_ms = pol_duration(p, "resources.cpu_time");
    struct sbx_rlimit rl[] = {
        {RLIMIT_NOFILE, (uint64_t)nofile, (uint64_t)nofile},
        /* 1, not 0: the kernel ignores RLIMIT_CORE when core_pattern pipes to a helper
         * (systemd-coredump, apport), which then runs as root on the host and reads the
         * sandbox's memory; 1 is the value that aborts every dump, to a pipe or a file. The
         * seccomp rules of base.json keep the program from lowering it to 0. */
        {RLIMIT_CORE, 1, 1},
        {RLIMIT_FSIZE, fsize >= 0 ? (uint64_t)fsize : RLIM_INFINITY, fsize >= 0 ? (uint64_t)fsize : RLIM_INFINITY},
        /* SIGXCPU at the limit, SIGKILL one second later */
        {RLIMIT_CPU, cpu_ms >= 0 ? (uint64_t)(cpu_ms + 999) / 1000 : RLIM_INFINITY,
         cpu_ms >= 0 ? (uint64_t)(cpu_ms + 999) / 1000 + 1 : RLIM_INFINITY},
        /* Not inherited from whoever started gbox: with RLIMIT_RTPRIO > 0 an unprivileged
         * program may take SCHED_FIFO and starve the host's CPUs (cpu.max does not throttle
         * real-time tasks), with RLIMIT_NICE > 0 it may raise its priority above the host's. */
        {RLIMIT_RTPRIO, 0, 0},
        {RLIMIT_NICE, 0, 0},
    };
    s->rlimits = xcalloc(ARRAY_LEN(rl), sizeof(rl[0]));
    memcpy(s->rlimits, rl, sizeof(rl));
    s->n_rlimits = ARRAY_LEN(rl);
    return 0;
}

static void plan_mounts_after_program(const struct gbox_policy *p, struct sbx_spec *s)
{
    const json_t *e;
    size_t i;
    json_array_foreach(pol_get(p, "filesystem.masked_paths"), i, e)
        add_mount(s, SBX_MOUNT_MASK, json_string_value(e))->optional = true;
    json_array_foreach(pol_get(p, "filesystem.readonly_paths"), i, e)
        add_mount(s, SBX_MOUNT_READONLY, json_string_value(e))->optional = true;
}

static int plan_mounts_before_program(const struct gbox_policy *p, struct sbx_spec *s,
                                      struct sbx_err **err)
{
    add_mount(s, SBX_MOUNT_PROC, "/proc");
    add_mount(s, SBX_MOUNT_DEV, "/dev");
    const char *sys = pol_str(p, "filesystem.sys");
    add_mount(s, strcmp(sys, "ro") == 0 ? SBX_MOUNT_SYSFS : SBX_MOUNT_EMPTY_RO, "/sys");
    const json_t *e;
    size_t i;
    json_array_foreach(pol_get(p, "filesystem.tmpfs"), i, e)
    {
        struct sbx_mount *m = add_mount(s, SBX_MOUNT_TMPFS, json_string_value(json_object_get(e, "path")));
        int64_t size = 0;
        parse_size_json(json_object_get(e, "size"), &size);
        m->size = (uint64_t)size;
        m->mode = (unsigned)strtoul(json_string_value(json_object_get(e, "mode")), NULL, 8);
    }
    json_array_foreach(pol_get(p, "filesystem.binds"), i, e)
    {
        const char *src = json_string_value(json_object_get(e, "source"));
        struct stat st;
        if (stat(src, &st) < 0)
            return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "%s: filesystem.binds[%zu].source %s",
                               p->file, i, src);
        struct sbx_mount *m = add_mount(s, SBX_MOUNT_BIND, json_string_value(json_object_get(e, "target")));
        m->source = xstrdup(src);
        m->file = !S_ISDIR(st.st_mode);
        m->writable = json_is_true(json_object_get(e, "writable"));
    }
    return 0;
}

static void ll_add(struct sbx_landlock *ll, const char *path, enum sbx_ll_access access)
{
    ll->paths = realloc(ll->paths, (ll->n_paths + 1) * sizeof(*ll->paths));
    if (!ll->paths)
        abort();
    ll->paths[ll->n_paths++] = (struct sbx_ll_path){xstrdup(path), access};
}

static uint16_t *ll_ports(const json_t *list, size_t *n)
{
    size_t i;
    const json_t *e;
    uint16_t *v = xcalloc(json_array_size(list) + 1, sizeof(*v));
    json_array_foreach(list, i, e) v[i] = (uint16_t)json_integer_value(e);
    *n = json_array_size(list);
    return v;
}

/* Landlock rules. With from_mounts, Landlock mirrors the mount tree: whatever a mount lets the
 * sandbox write stays writable, the rest is read and execute only, so a mistake in one fence
 * (a writable submount, an image symlink, a DAC slip) is still stopped by the other. /proc is
 * read-only for Landlock even though procfs is mounted read-write. Called after every mount is
 * planned. */
static void plan_landlock(const struct gbox_policy *p, struct sbx_spec *s)
{
    struct sbx_landlock *ll = &s->landlock;
    if (!json_is_true(pol_get(p, "filesystem.landlock.enabled")))
        return;
    ll->enabled = true;
    ll->stdio = true;
    ll->min_abi = (int)json_integer_value(pol_get(p, "filesystem.landlock.abi"));
    if (json_is_true(pol_get(p, "filesystem.landlock.from_mounts"))) {
        ll_add(ll, "/", s->readonly_root ? SBX_LL_READ_EXEC : SBX_LL_READ_WRITE);
        for (size_t i = 0; i < s->n_mounts; i++) {
            const struct sbx_mount *m = &s->mounts[i];
            bool later_ro = false;
            for (size_t j = i + 1; j < s->n_mounts; j++)
                later_ro |= s->mounts[j].kind == SBX_MOUNT_READONLY && strcmp(s->mounts[j].target, m->target) == 0;
            if (later_ro)
                continue;
            if (m->kind == SBX_MOUNT_TMPFS || m->kind == SBX_MOUNT_DEV ||
                (m->kind == SBX_MOUNT_BIND && m->writable))
                ll_add(ll, m->target, SBX_LL_READ_WRITE);
        }
    }
    const json_t *e;
    size_t i;
    json_array_foreach(pol_get(p, "filesystem.landlock.read_only"), i, e)
        ll_add(ll, json_string_value(e), SBX_LL_READ_EXEC);
    json_array_foreach(pol_get(p, "filesystem.landlock.read_write"), i, e)
        ll_add(ll, json_string_value(e), SBX_LL_READ_WRITE);
    const json_t *bind = pol_get(p, "filesystem.landlock.tcp_bind");
    const json_t *conn = pol_get(p, "filesystem.landlock.tcp_connect");
    if (json_is_array(bind)) {
        ll->restrict_bind = true;
        ll->bind_ports = ll_ports(bind, &ll->n_bind_ports);
    }
    if (json_is_array(conn)) {
        ll->restrict_connect = true;
        ll->connect_ports = ll_ports(conn, &ll->n_connect_ports);
    }
    json_array_foreach(pol_get(p, "filesystem.landlock.scope"), i, e)
        ll->scope |= strcmp(json_string_value(e), "signal") == 0 ? SBX_LL_SCOPE_SIGNAL : SBX_LL_SCOPE_ABSTRACT_UNIX;
}

/* A resources.io device → the whole disk's major:minor (the kernel throttles disks, not
 * partitions). */
static int io_device(const struct gbox_policy *p, size_t i, const char *dev, struct sbx_io_limit *io,
                     struct sbx_err **err)
{
    unsigned maj, min;
    char tail;
    if (sscanf(dev, "%u:%u%c", &maj, &min, &tail) != 2) {
        struct stat st;
        if (stat(dev, &st) < 0)
            return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "%s: resources.io[%zu].device: %s",
                               p->file, i, dev);
        if (!S_ISBLK(st.st_mode))
            return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0,
                               "%s: resources.io[%zu].device: expected a block device, %s is not one",
                               p->file, i, dev);
        maj = major(st.st_rdev), min = minor(st.st_rdev);
    }
    char sys[PATH_MAX];
    struct stat st;
    snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u", maj, min);
    if (stat(sys, &st) < 0)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0,
                           "%s: resources.io[%zu].device: expected a block device of this host, "
                           "there is no %u:%u (%s)", p->file, i, maj, min, dev);
    snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/partition", maj, min);
    if (access(sys, F_OK) == 0) {
        snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/../dev", maj, min);
        char *whole = read_file(sys, NULL);
        if (!whole || sscanf(whole, "%u:%u", &maj, &min) != 2) {
            free(whole);
            return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "%s: resources.io[%zu].device: "
                               "cannot find the disk of partition %s", p->file, i, dev);
        }
        free(whole);
    }
    io->major = maj, io->minor = min;
    return 0;
}

static int64_t nullable_int(const json_t *v) { return json_is_integer(v) ? json_integer_value(v) : -1; }

static int plan_limits(const struct gbox_policy *p, struct sbx_spec *s, struct sbx_err **err)
{
    struct sbx_cgroup_limits *l = &s->limits;
    l->memory_max = pol_size(p, "resources.memory.max");
    l->memory_high = pol_size(p, "resources.memory.high");
    l->swap_max = pol_size(p, "resources.memory.swap");
    const json_t *cpu = pol_get(p, "resources.cpu.max");
    l->cpu_period_us = 100000;
    l->cpu_quota_us = json_is_number(cpu) ? (int64_t)(json_number_value(cpu) * 100000.0 + 0.5) : -1;
    /* the default weight is the kernel's default: no need to touch the controller for it */
    int64_t w = json_integer_value(pol_get(p, "resources.cpu.weight"));
    l->cpu_weight = w == 100 ? -1 : w;
    l->pids_max = nullable_int(pol_get(p, "resources.pids.max"));
    const char *cpus = pol_str(p, "resources.cpu.cpus"), *mems = pol_str(p, "resources.cpu.mems");
    l->cpuset_cpus = cpus ? xstrdup(cpus) : NULL;
    l->cpuset_mems = mems ? xstrdup(mems) : NULL;
    const json_t *io = pol_get(p, "resources.io"), *e;
    size_t i;
    l->io = xcalloc(json_array_size(io) + 1, sizeof(*l->io));
    json_array_foreach(io, i, e)
    {
        struct sbx_io_limit *d = &l->io[l->n_io++];
        d->read_bps = d->write_bps = -1;
        parse_size_json(json_object_get(e, "read_bps"), &d->read_bps);
        parse_size_json(json_object_get(e, "write_bps"), &d->write_bps);
        d->read_iops = nullable_int(json_object_get(e, "read_iops"));
        d->write_iops = nullable_int(json_object_get(e, "write_iops"));
        if (io_device(p, i, json_string_value(json_object_get(e, "device")), d, err) < 0)
            return -1;
    }
    s->cgroup_enabled = l->memory_max >= 0 || l->memory_high >= 0 || l->swap_max >= 0 ||
                        l->cpu_quota_us >= 0 || l->cpu_weight >= 0 || l->pids_max >= 0 ||
                        l->cpuset_cpus || l->cpuset_mems || l->n_io;
    char name[64];
    static unsigned counter;
    snprintf(name, sizeof(name), "gbox-%d-%u", (int)getpid(), counter++);
    s->cgroup_name = xstrdup(name);
    return 0;
}

int plan_cgroup_limits(const struct gbox_policy *p, struct sbx_cgroup_limits *out, struct sbx_err **err)
{
    struct sbx_spec s;
    memset(&s, 0, sizeof(s));
    int rc = plan_limits(p, &s, err);
    free(s.cgroup_name);
    *out = s.limits;
    return rc;
}

void plan_cgroup_limits_free(struct sbx_cgroup_limits *l)
{
    free(l->cpuset_cpus);
    free(l->cpuset_mems);
    free(l->io);
    memset(l, 0, sizeof(*l));
}

static void plan_timeout(const struct gbox_policy *p, struct sbx_spec *s)
{
    s->timeout_ms = pol_duration(p, "resources.timeout");
    s->kill_grace_ms = pol_duration(p, "failure_policies.grace");
    const char *on = pol_str(p, "failure_policies.on_timeout");
    /* A one-shot run cannot restart, roll back or fall back: those mean "kill" here, and so does
     * "ignore" — a timeout is a protection, not advice. */
    s->timeout_signal = SIGKILL;
    if (strncmp(on, "signal:", 7) == 0)
        s->timeout_signal = signal_from_name(on + 7);
}

static void plan_network(const struct gbox_policy *p, struct sbx_spec *s)
{
    const char *mode = pol_str(p, "network.mode");
    s->net = strcmp(mode, "loopback") == 0 ? SBX_NET_LOOPBACK
             : strcmp(mode, "veth") == 0   ? SBX_NET_VETH
             : strcmp(mode, "host") == 0   ? SBX_NET_HOST
                                           : SBX_NET_NONE;
    if (s->net != SBX_NET_HOST)
        s->ns_flags |= CLONE_NEWNET;
    if (s->net != SBX_NET_VETH)
        return;
    struct sbx_veth *v = &s->veth;
    static unsigned counter;
    snprintf(v->host_ifname, sizeof(v->host_ifname), "gb%d-%u", (int)getpid(), counter++ % 10000);
    snprintf(v->ifname, sizeof(v->ifname), "eth0");
    v->prefix = (unsigned)json_integer_value(pol_get(p, "network.prefix"));
    v->default_route = json_is_true(pol_get(p, "network.default_route"));
    const json_t *eg = pol_get(p, "network.egress"), *r;
    v->egress_filter = json_is_array(eg);
    v->egress = v->egress_filter ? xcalloc(json_array_size(eg) + 1, sizeof(*v->egress)) : NULL;
    size_t i;
    json_array_foreach(eg, i, r)
    {
        struct sbx_egress_rule *e = &v->egress[v->n_egress++];
        cidr_parse(json_string_value(json_object_get(r, "to")), &e->net, &e->prefix);
        const char *proto = json_string_value(json_object_get(r, "protocol"));
        e->proto = strcmp(proto, "tcp") == 0   ? SBX_PROTO_TCP
                   : strcmp(proto, "udp") == 0  ? SBX_PROTO_UDP
                   : strcmp(proto, "icmp") == 0 ? SBX_PROTO_ICMP
                                                : SBX_PROTO_ANY;
        const json_t *ports = json_object_get(r, "ports");
        char buf[16];
        snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(ports));
        if (!json_is_null(ports))
            port_range_parse(json_is_string(ports) ? json_string_value(ports) : buf, &e->port_lo, &e->port_hi);
    }
}

int plan_net_lease(const struct gbox_policy *p, struct sbx_spec *s, struct net_lease *lease,
                   struct sbx_err **err)
{
    lease->record[0] = '\0';
    if (s->net != SBX_NET_VETH)
        return 0;
    struct sbx_veth *v = &s->veth;
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/net", gbox_run_dir());
    uint32_t pool, subnet, fixed = 0, addr = 0;
    unsigned pool_prefix;
    cidr_parse(pol_str(p, "network.pool"), &pool, &pool_prefix);
    const char *a = pol_str(p, "network.address"), *h = pol_str(p, "network.host_address");
    if (a) {
        ipv4_parse(a, &addr);
        fixed = addr & ipv4_mask(v->prefix);
    }
    if (netpool_acquire(dir, pool, pool_prefix, v->prefix, a ? &fixed : NULL, v->host_ifname, &subnet,
                        lease, err) < 0)
        return sbx_err_wrap(err, "%s", p->file);
    if (!a) /* the pool's subnet: its first usable address is the host end's, the next ours */
        addr = htonl(ntohl(subnet) + (v->prefix >= 31 ? 1 : 2));
    v->addr = addr;
    if (!h || ipv4_parse(h, &v->host_addr) < 0)
        v->host_addr = cidr_peer(subnet, v->prefix, addr);
    return 0;
}

int plan_program(const struct gbox_policy *p, const struct run_request *rq, struct sbx_spec *s,
                 struct sbx_err **err)
{
    if (!rq->in_image || rq->argc < 1)
        return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "a warm sandbox runs a command of its image (in_image)");
    struct strv argv = {0};
    if (plan_argv(p, rq, s, &argv, err) < 0) {
        for (size_t k = 0; argv.v && k < argv.n; k++)
            free(argv.v[k]);
        free(argv.v);
        return -1;
    }
    for (char **v = s->argv; v && *v; v++)
        free(*v);
    free(s->argv);
    for (char **v = s->envp; v && *v; v++)
        free(*v);
    free(s->envp);
    s->argv = argv.v;
    plan_env(p, rq, s);
    return 0;
}

int plan_build(struct gbox_policy *p, const struct run_request *rq, struct sbx_spec *s,
               struct sbx_err **err)
{
    memset(s, 0, sizeof(*s));
    struct strv argv = {0};
    struct run_hold local = {.run.fd = -1};
    struct run_hold *hold = rq->hold ? rq->hold : &local;
    if (stack_plan(p, rq, s, hold, err) < 0) {
        run_hold_release(hold);
        sbx_spec_free(s);
        return -1;
    }
    run_hold_release(&local); /* a caller without a hold keeps no registration */
    const char *api = getenv("GBOX_OVERLAY_API"); /* tests force each way of mounting the overlay */
    if (api)
        s->overlay_api = strcmp(api, "fd") == 0 ? SBX_OVERLAY_FD : strcmp(api, "string") == 0 ? SBX_OVERLAY_STRING
                         : strcmp(api, "legacy") == 0 ? SBX_OVERLAY_LEGACY : SBX_OVERLAY_AUTO;
    s->readonly_root = json_is_true(pol_get(p, "filesystem.readonly_root"));
    s->shared_image_root = json_is_true(pol_get(p, "filesystem.shared_image_root"));
    s->upper_size = 64ULL << 20;
    char stage[PATH_MAX];
    snprintf(stage, sizeof(stage), "%s/stage", gbox_run_dir());
    s->stage_dir = xstrdup(stage);
    snprintf(stage, sizeof(stage), "%s/bpf-cache", gbox_run_dir());
    s->seccomp_cache_dir = xstrdup(stage);
    snprintf(stage, sizeof(stage), "%s/cgroup-sweep", gbox_run_dir());
    s->cgroup_sweep_stamp = xstrdup(stage);
    if (plan_mounts_before_program(p, s, err) < 0 || (!rq->held && plan_argv(p, rq, s, &argv, err) < 0))
        goto fail;
    s->argv = argv.v;
    argv.v = NULL;
    plan_mounts_after_program(p, s);
    plan_landlock(p, s);
    plan_env(p, rq, s);
    if (!s->cwd) /* a project handler chose it */
        s->cwd = xstrdup(pol_str(p, "interpreter.workdir"));
    s->uid = (uid_t)json_integer_value(pol_get(p, "user.uid"));
    s->gid = (gid_t)json_integer_value(pol_get(p, "user.gid"));
    const json_t *c;
    size_t i;
    json_array_foreach(pol_get(p, "capabilities"), i, c)
        s->caps |= 1ULL << cap_from_name(json_string_value(c));
    if (plan_rlimits(p, s, err) < 0)
        goto fail;

    s->ns_flags = CLONE_NEWNS;
    if (json_is_true(pol_get(p, "user.namespace"))) {
        s->ns_flags |= CLONE_NEWUSER;
        s->uid_map = s->gid_map = (struct sbx_idmap){0, GBOX_HOST_ID_BASE, GBOX_HOST_ID_COUNT};
    }
    static const struct {
        const char *field;
        int flag;
    } ns[] = {{"namespaces.pid", CLONE_NEWPID}, {"namespaces.ipc", CLONE_NEWIPC},
              {"namespaces.uts", CLONE_NEWUTS}, {"namespaces.cgroup", CLONE_NEWCGROUP}};
    for (size_t k = 0; k < ARRAY_LEN(ns); k++)
        if (json_is_true(pol_get(p, ns[k].field)))
            s->ns_flags |= ns[k].flag;
    plan_network(p, s);
    const char *host = pol_str(p, "hostname");
    s->hostname = host ? xstrdup(host) : NULL;

    policy_take_seccomp(p, &s->seccomp);
    if (plan_limits(p, s, err) < 0)
        goto fail;
    plan_timeout(p, s);
    s->forward_signals = true;
    return 0;
fail:
    for (size_t k = 0; argv.v && k < argv.n; k++)
        free(argv.v[k]);
    free(argv.v);
    sbx_spec_free(s);
    return -1;
}
