/* cgroup.c — the sandbox's cgroups, beneath our own cgroup in every hierarchy.
 *
 * Host layouts (enum sbx_cg_layout):
 *   v2      the unified tree has the controllers: limits, placement, freeze, kill and stats there.
 *   hybrid  v1 controllers carry the limits; the v2 tree, even with no controllers, still gives
 *           clone-time placement, cgroup.freeze, cgroup.kill, cpu usage (cpu.stat is a core file)
 *           and pressure stall information.
 *   v1      legacy: limits and stats in v1; freezer for freeze and for a race-free kill.
 * A limit the plan asks for that the host cannot apply is an error naming the controller: never
 * half-applied. Everything created here is removed on release, on every exit path. */
#include "internal.h"
#include "util.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { V1_MEMORY, V1_CPU, V1_CPUACCT, V1_PIDS, V1_BLKIO, V1_CPUSET, V1_FREEZER, V1_N };
static const char *const v1_names[V1_N] = {"memory", "cpu", "cpuacct", "pids", "blkio", "cpuset", "freezer"};
/* the v2 name of the controller a v1 one stands for (NULL: no v2 controller needed) */
static const char *const v2_names[V1_N] = {"memory", "cpu", NULL, "pids", "io", "cpuset", NULL};

struct sbx_cgroup {
    enum sbx_cg_layout layout;
    char *v2;          /* created directory in the unified tree, or NULL */
    int v2_fd;
    char *v1[V1_N];    /* created directories per v1 controller, or NULL */
    /* sbx_cgroup_plan: the v1 directories are named before clone and created (with their limits)
     * by sbx_cgroup_from_parent while the child builds its namespaces. Until then a bit here is
     * set per v1[i] not created yet (never removed on release: it may not be ours). */
    unsigned v1_pending;
    char *v1_parent[V1_N]; /* where v1[i] is created (also the cpuset values' source) */
    bool sweep;            /* remove stale siblings before creating (sweep_due) */
    struct sbx_cgroup_limits limits;
};

struct hier {
    char mnt[PATH_MAX]; /* mount point + our own path: the directory to create beneath */
    char mp[PATH_MAX];  /* the mount point alone */
    bool found;
};

/* Whether the comma-separated list holds item (whole items only: "cpu" is not "cpuset"). */
static bool has_item(const char *list, const char *item)
{
    size_t n = strlen(item);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && memcmp(p, item, n) == 0)
            return true;
        if (!end)
            break;
        p = end + 1;
    }
    return false;
}

/* Find where our own cgroup is in the unified tree and in each v1 controller we care about. */
static void find_hierarchies(struct hier *v2, struct hier v1[V1_N])
{
    char *cg = read_file("/proc/self/cgroup", NULL);
    char *mi = read_file("/proc/self/mountinfo", NULL);
    if (!cg || !mi)
        goto out;
    for (char *ml = strtok(mi, "\n"); ml; ml = strtok(NULL, "\n")) {
        /* id parent maj:min root mountpoint opts... - fstype source superopts */
        char root[PATH_MAX], mnt[PATH_MAX], fstype[32], super[256];
        char *dash = strstr(ml, " - ");
        /* most lines are other file systems: skip them before the costly sscanf */
        if (!dash || strncmp(dash + 3, "cgroup", 6) != 0)
            continue;
        if (sscanf(ml, "%*s %*s %*s %4095s %4095s", root, mnt) != 2 ||
            sscanf(dash + 3, "%31s %*s %255s", fstype, super) != 2)
            continue;
        bool is2 = strcmp(fstype, "cgroup2") == 0;
        if (!is2 && strcmp(fstype, "cgroup") != 0)
            continue;
        /* match the line of /proc/self/cgroup for this hierarchy */
        char *save = NULL, *copy = xstrdup(cg);
        for (char *cl = strtok_r(copy, "\n", &save); cl; cl = strtok_r(NULL, "\n", &save)) {
            char *c1 = strchr(cl, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
            if (!c2)
                continue;
            *c2 = '\0';
            const char *ctrls = c1 + 1, *path = c2 + 1;
            const char *rel = path;
            size_t rl = strlen(root);
            if (strcmp(root, "/") != 0 && strncmp(path, root, rl) == 0)
                rel = path + rl;
            if (is2 && *ctrls == '\0' && !v2->found) {
                snprintf(v2->mnt, sizeof(v2->mnt), "%s%s", mnt, strcmp(rel, "/") ? rel : "");
                snprintf(v2->mp, sizeof(v2->mp), "%s", mnt);
                v2->found = true;
            } else if (!is2) {
                for (int i = 0; i < V1_N; i++) {
                    if (!v1[i].found && has_item(super, v1_names[i]) && has_item(ctrls, v1_names[i])) {
                        snprintf(v1[i].mnt, sizeof(v1[i].mnt), "%s%s", mnt, strcmp(rel, "/") ? rel : "");
                        snprintf(v1[i].mp, sizeof(v1[i].mp), "%s", mnt);
                        v1[i].found = true;
                    }
                }
            }
        }
        free(copy);
    }
out:
    free(cg);
    free(mi);
}

static bool has_word(const char *dir, const char *file, const char *word)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", dir, file);
    char *s = read_file(p, NULL);
    bool found = false;
    for (char *t = s ? strtok(s, " \n") : NULL; t; t = strtok(NULL, " \n"))
        if (strcmp(t, word) == 0)
            found = true;
    free(s);
    return found;
}

static bool file_exists(const char *dir, const char *file)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", dir, file);
    return access(p, F_OK) == 0;
}

static int cg_write(const char *dir, const char *file, const char *val, struct sbx_err **err)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", dir, file);
    if (write_file(p, val) < 0)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "write \"%s\" to %s", val, p);
    return 0;
}

static int cg_writei(const char *dir, const char *file, int64_t v, struct sbx_err **err)
{
    char b[32];
    snprintf(b, sizeof(b), "%lld", (long long)v);
    return cg_write(dir, file, b, err);
}

/* Remove empty gbox-<pid>-* directories whose gbox is gone (killed with SIGKILL: its sandbox died
 * with it through PDEATHSIG, but nobody was left to remove the cgroups). */
static void sweep_stale(const char *parent)
{
    DIR *d = opendir(parent);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        int pid;
        unsigned n;
        char tail;
        if (sscanf(de->d_name, "gbox-%d-%u%c", &pid, &n, &tail) != 2 || pid <= 0)
            continue;
        if (kill(pid, 0) == 0 || errno != ESRCH)
            continue;
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/%s", parent, de->d_name);
        rmdir(p); /* fails harmlessly if anything is still inside */
    }
    closedir(d);
}

/* Whether this start should sweep: every start without a stamp file, else when the stamp is
 * older than SBX_SWEEP_INTERVAL_S (or from the future), and it is touched first so that starts at
 * the same moment mostly skip. Reading the parent directories and probing every gbox-<pid>-<n>
 * entry's pid on each start cost 100 starts at once O(n²) (issue #10); a killed gbox's empty
 * cgroups now wait up to the interval, or until a start needs their exact name (make_dir). */
static bool sweep_due(const char *stamp)
{
    if (!stamp)
        return true;
    struct stat st;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (stat(stamp, &st) == 0 && st.st_mtim.tv_sec <= now.tv_sec &&
        now.tv_sec - st.st_mtim.tv_sec < SBX_SWEEP_INTERVAL_S)
        return false;
    int fd = open(stamp, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) {
        futimens(fd, NULL);
        close(fd);
    }
    return true;
}

static int mkdir_fresh(const char *parent, const char *name, bool sweep, char *p, size_t len)
{
    if (sweep)
        sweep_stale(parent);
    snprintf(p, len, "%s/%s", parent, name);
    if (mkdir(p, 0755) == 0)
        return 0;
    if (errno != EEXIST)
        return -1;
    /* gbox's own names carry the creating process's pid and its own counter: a directory of this
     * name is a leftover of a killed gbox whose pid this process has now (or of one the sweep would
     * take). Any other name (an OCI cgroupsPath) that exists is not ours to remove. */
    int pid;
    unsigned n;
    char tail;
    if (sscanf(name, "gbox-%d-%u%c", &pid, &n, &tail) != 2 || pid != getpid()) {
        errno = EEXIST;
        return -1;
    }
    sweep_stale(parent);
    if (rmdir(p) < 0 && errno != ENOENT) {
        errno = EEXIST;
        return -1;
    }
    return mkdir(p, 0755);
}

static char *make_dir(const char *parent, const char *name, bool sweep, struct sbx_err **err)
{
    char p[PATH_MAX];
    if (mkdir_fresh(parent, name, sweep, p, sizeof(p)) < 0) {
        sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "create cgroup %s", p);
        return NULL;
    }
    return xstrdup(p);
}

static bool host_has_swap(void)
{
    char *s = read_file("/proc/swaps", NULL);
    bool any = s && strchr(s, '\n') && strchr(s, '\n')[1] != '\0';
    free(s);
    return any;
}

/* Which controllers the limits need, indexed like v1_names. */
static void needed(const struct sbx_cgroup_limits *l, bool need[V1_N])
{
    memset(need, 0, sizeof(bool) * V1_N);
    need[V1_MEMORY] = l->memory_max >= 0 || l->memory_high >= 0 || l->swap_max >= 0 || l->has_swappiness;
    need[V1_CPU] = l->cpu_quota_us >= 0 || l->cpu_weight >= 0;
    need[V1_PIDS] = l->pids_max >= 0;
    need[V1_BLKIO] = l->n_io > 0 || l->io_weight > 0;
    need[V1_CPUSET] = l->cpuset_cpus || l->cpuset_mems;
}

/* needed(), plus with every_controller the limit controllers this host has (found[i]); strict
 * keeps what the limits themselves need (a missing controller is an error only for those). */
static void wanted(const struct sbx_cgroup_limits *l, const bool found[V1_N], bool need[V1_N], bool strict[V1_N])
{
    needed(l, strict);
    memcpy(need, strict, sizeof(bool) * V1_N);
    if (l->every_controller)
        for (int i = 0; i < V1_N; i++)
            need[i] |= found[i] && i != V1_CPUACCT && i != V1_FREEZER;
}

static void io_value(char *b, size_t len, const char *key, int64_t v)
{
    size_t n = strlen(b);
    if (v >= 0)
        snprintf(b + n, len - n, " %s=%lld", key, (long long)v);
    else
        snprintf(b + n, len - n, " %s=max", key);
}

/* The block controller's weight file in dir d (BFQ's first), or NULL with err set. */
static const char *weight_file(const char *d, bool v2, struct sbx_err **err)
{
    static const char *const files[2][2] = {{"blkio.bfq.weight", "blkio.weight"}, {"io.bfq.weight", "io.weight"}};
    for (int i = 0; i < 2; i++)
        if (d && file_exists(d, files[v2][i]))
            return files[v2][i];
    sbx_err_set(err, GBOX_EXIT_LAUNCH, EOPNOTSUPP,
                "this host's %s controller has no weight file (%s.bfq.weight needs the BFQ I/O scheduler): "
                "blockIO.weight cannot be set", v2 ? "io" : "blkio", v2 ? "io" : "blkio");
    return NULL;
}

/* io.max for each device of l (v2): start a sandbox, or change a running one's limits. */
static int write_io_max(const char *d, const struct sbx_cgroup_limits *l, struct sbx_err **err)
{
    char b[256];
    for (size_t i = 0; i < l->n_io; i++) {
        const struct sbx_io_limit *io = &l->io[i];
        snprintf(b, sizeof(b), "%u:%u", io->major, io->minor);
        io_value(b, sizeof(b), "rbps", io->read_bps);
        io_value(b, sizeof(b), "wbps", io->write_bps);
        io_value(b, sizeof(b), "riops", io->read_iops);
        io_value(b, sizeof(b), "wiops", io->write_iops);
        if (cg_write(d, "io.max", b, err) < 0)
            return -1;
    }
    const char *wf = l->io_weight ? weight_file(d, true, err) : NULL;
    if (l->io_weight && (!wf || cg_writei(d, wf, l->io_weight, err) < 0))
        return -1;
    return 0;
}

static int apply_v2(struct sbx_cgroup *cg, const char *parent, const struct sbx_cgroup_limits *l,
                    struct sbx_err **err)
{
    bool need[V1_N], strict[V1_N], avail[V1_N];
    for (int i = 0; i < V1_N; i++)
        avail[i] = v2_names[i] && has_word(parent, "cgroup.controllers", v2_names[i]); /* cpuacct, freezer: none */
    wanted(l, avail, need, strict);
    for (int i = 0; i < V1_N; i++) {
        if (!need[i] || !v2_names[i] || has_word(parent, "cgroup.subtree_control", v2_names[i]))
            continue;
        if (!strict[i] && !avail[i])
            continue;
        /* Available to us but not switched on for our children: switch it on. That works when our
         * own cgroup is the root or holds no process (cgroup v2's "no internal processes"). */
        char plus[32];
        snprintf(plus, sizeof(plus), "+%s", v2_names[i]);
        if (has_word(parent, "cgroup.controllers", v2_names[i]) &&
            cg_write(parent, "cgroup.subtree_control", plus, err) == 0)
            continue;
        sbx_err_free(err);
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0,
                           "the policy needs the cgroup v2 controller \"%s\", which is not enabled "
                           "for %s (add it to %s/cgroup.subtree_control, or run gbox in a "
                           "delegated cgroup)", v2_names[i], parent, parent);
    }
    const char *d = cg->v2;
    if (l->memory_max >= 0 && cg_writei(d, "memory.max", l->memory_max, err) < 0)
        return -1;
    if (l->memory_high >= 0 && cg_writei(d, "memory.high", l->memory_high, err) < 0)
        return -1;
    if (l->swap_max >= 0) {
        if (file_exists(d, "memory.swap.max")) {
            if (cg_writei(d, "memory.swap.max", l->swap_max, err) < 0)
                return -1;
        } else if (host_has_swap()) {
            return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0,
                               "resources.memory.swap is limited but %s has no memory.swap.max "
                               "and swap is active", d);
        }
    }
    char b[256];
    if (l->cpu_quota_us >= 0) {
        snprintf(b, sizeof(b), "%lld %lld", (long long)l->cpu_quota_us, (long long)l->cpu_period_us);
        if (cg_write(d, "cpu.max", b, err) < 0)
            return -1;
    }
    if (l->cpu_weight >= 0 && cg_writei(d, "cpu.weight", l->cpu_weight, err) < 0)
        return -1;
    if (l->pids_max >= 0 && cg_writei(d, "pids.max", l->pids_max, err) < 0)
        return -1;
    if (l->cpuset_cpus && cg_write(d, "cpuset.cpus", l->cpuset_cpus, err) < 0)
        return -1;
    if (l->cpuset_mems && cg_write(d, "cpuset.mems", l->cpuset_mems, err) < 0)
        return -1;
    return write_io_max(d, l, err);
}

/* v1 cpuset: a new cgroup starts with no CPUs and no memory nodes, and a task cannot join it
 * until both are set; what the policy leaves open is copied from our own cpuset. */
static int cpuset_v1(const char *dir, const char *parent, const char *file, const char *want,
                     struct sbx_err **err)
{
    if (want)
        return cg_write(dir, file, want, err);
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", parent, file);
    char *v = read_file(p, NULL);
    if (!v)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "read %s", p);
    v[strcspn(v, "\n")] = '\0';
    int rc = cg_write(dir, file, v, err);
    free(v);
    return rc;
}

static int throttle_v1(const char *dir, const char *file, const struct sbx_io_limit *io, int64_t v,
                       struct sbx_err **err)
{
    if (v < 0)
        return 0;
    char b[64];
    snprintf(b, sizeof(b), "%u:%u %lld", io->major, io->minor, (long long)v);
    return cg_write(dir, file, b, err);
}

static int write_v1_limits(struct sbx_cgroup *cg, const char *cpuset_parent,
                           const struct sbx_cgroup_limits *l, struct sbx_err **err);

/* Check what the limits need and name each v1 directory (co-mounted controllers share one);
 * create them only with create, else leave them pending for sbx_cgroup_from_parent. */
static int plan_v1(struct sbx_cgroup *cg, struct hier v1[V1_N], const struct sbx_cgroup_limits *l,
                   const char *name, bool create, struct sbx_err **err)
{
    bool need[V1_N], strict[V1_N], found[V1_N];
    for (int i = 0; i < V1_N; i++)
        found[i] = v1[i].found;
    wanted(l, found, need, strict);
    /* accounting: on a legacy host cpuacct gives cpu usage and the freezer a race-free kill (the
     * v2 tree does both on hybrid hosts) */
    if (cg->layout == SBX_CG_V1)
        need[V1_CPUACCT] = need[V1_FREEZER] = true;
    if (l->memory_high >= 0)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0,
                           "resources.memory.high needs the cgroup v2 memory controller; this host "
                           "has memory on cgroup v1 (%s)", v1[V1_MEMORY].mnt);
    for (int i = 0; i < V1_N; i++) {
        if (strict[i] && !v1[i].found && i != V1_CPUACCT && i != V1_FREEZER)
            return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0,
                               "the policy sets a %s limit but this host has no %s cgroup controller",
                               i == V1_BLKIO ? "resources.io" : v1_names[i], v1_names[i]);
        if (!need[i] || !v1[i].found)
            continue;
        for (int j = 0; j < i && !cg->v1[i]; j++) /* co-mounted (cpu,cpuacct): one directory */
            if (cg->v1[j] && strcmp(v1[j].mp, v1[i].mp) == 0)
                cg->v1[i] = xstrdup(cg->v1[j]);
        if (cg->v1[i])
            continue;
        if (create) {
            if (!(cg->v1[i] = make_dir(v1[i].mnt, name, cg->sweep, err)))
                return -1;
            continue;
        }
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/%s", v1[i].mnt, name);
        cg->v1[i] = xstrdup(p);
        cg->v1_parent[i] = xstrdup(v1[i].mnt);
        cg->v1_pending |= 1u << i;
    }
    if (create)
        return write_v1_limits(cg, v1[V1_CPUSET].mnt, l, err);
    if (cg->v1_parent[V1_CPUSET] == NULL && v1[V1_CPUSET].found && cg->v1[V1_CPUSET])
        cg->v1_parent[V1_CPUSET] = xstrdup(v1[V1_CPUSET].mnt);
    return 0;
}

static int write_v1_limits(struct sbx_cgroup *cg, const char *cpuset_parent,
                           const struct sbx_cgroup_limits *l, struct sbx_err **err)
{
    const char *mem = cg->v1[V1_MEMORY];
    if (l->memory_max >= 0 && cg_writei(mem, "memory.limit_in_bytes", l->memory_max, err) < 0)
        return -1;
    if (l->has_swappiness && (!mem ? sbx_err_set(err, GBOX_EXIT_LAUNCH, 0, "memory.swappiness needs the v1 memory controller") < 0
                                   : cg_writei(mem, "memory.swappiness", l->swappiness, err) < 0))
        return -1;
    if (l->swap_max >= 0) {
        if (file_exists(mem, "memory.memsw.limit_in_bytes")) {
            int64_t total = l->memory_max >= 0 ? l->memory_max + l->swap_max : -1;
            if (total >= 0 && cg_writei(mem, "memory.memsw.limit_in_bytes", total, err) < 0)
                return -1;
        } else if (host_has_swap()) {
            return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0,
                               "resources.memory.swap is limited but swap accounting is off on this "
                               "host (no memory.memsw.limit_in_bytes) and swap is active");
        }
    }
    const char *cpu = cg->v1[V1_CPU];
    /* a new cgroup's period is the kernel's default, 100 ms: only another one is written */
    if (l->cpu_quota_us >= 0 &&
        ((l->cpu_period_us != 100000 && cg_writei(cpu, "cpu.cfs_period_us", l->cpu_period_us, err) < 0) ||
         cg_writei(cpu, "cpu.cfs_quota_us", l->cpu_quota_us, err) < 0))
        return -1;
    if (l->cpu_weight >= 0) {
        int64_t shares = l->cpu_weight * 1024 / 100;
        if (cg_writei(cpu, "cpu.shares", shares < 2 ? 2 : shares, err) < 0)
            return -1;
    }
    if (l->pids_max >= 0 && cg_writei(cg->v1[V1_PIDS], "pids.max", l->pids_max, err) < 0)
        return -1;
    /* a cpuset cgroup takes no task before it has cpus and mems (every_controller makes one
     * without cpuset limits: the parent's are copied) */
    if (cg->v1[V1_CPUSET] &&
        (cpuset_v1(cg->v1[V1_CPUSET], cpuset_parent, "cpuset.cpus", l->cpuset_cpus, err) < 0 ||
         cpuset_v1(cg->v1[V1_CPUSET], cpuset_parent, "cpuset.mems", l->cpuset_mems, err) < 0))
        return -1;
    for (size_t i = 0; i < l->n_io; i++) {
        const char *bk = cg->v1[V1_BLKIO];
        const struct sbx_io_limit *io = &l->io[i];
        if (throttle_v1(bk, "blkio.throttle.read_bps_device", io, io->read_bps, err) < 0 ||
            throttle_v1(bk, "blkio.throttle.write_bps_device", io, io->write_bps, err) < 0 ||
            throttle_v1(bk, "blkio.throttle.read_iops_device", io, io->read_iops, err) < 0 ||
            throttle_v1(bk, "blkio.throttle.write_iops_device", io, io->write_iops, err) < 0)
            return -1;
    }
    const char *wf = l->io_weight ? weight_file(cg->v1[V1_BLKIO], false, err) : NULL;
    if (l->io_weight && (!wf || cg_writei(cg->v1[V1_BLKIO], wf, l->io_weight, err) < 0))
        return -1;
    return 0;
}

/* The v2 tree carries the limits when it has (any of) the controllers; on a hybrid host it has
 * none of them and is used only for placement, freeze, kill and core stats. */
static enum sbx_cg_layout detect_layout(const struct hier *v2, const struct hier v1[V1_N])
{
    if (!v2->found)
        return SBX_CG_V1;
    static const char *const ctl[] = {"memory", "pids", "cpu", "io"};
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/cgroup.controllers", v2->mnt);
    char *have = read_file(p, NULL); /* once, not once per controller */
    bool any = false;
    for (char *t = have ? strtok(have, " \n") : NULL; t && !any; t = strtok(NULL, " \n"))
        for (size_t i = 0; i < sizeof(ctl) / sizeof(ctl[0]); i++)
            any |= strcmp(t, ctl[i]) == 0;
    free(have);
    if (any)
        return SBX_CG_V2;
    for (int i = 0; i < V1_N; i++)
        if (v1[i].found)
            return SBX_CG_HYBRID;
    return SBX_CG_V2; /* a v2 host that delegated nothing to us: limits will be refused by name */
}

/* An empty handle for this host: where our cgroups are, and the layout. */
static struct sbx_cgroup *cg_new(struct hier *v2, struct hier v1[V1_N])
{
    memset(v2, 0, sizeof(*v2));
    memset(v1, 0, sizeof(struct hier) * V1_N);
    find_hierarchies(v2, v1);
    struct sbx_cgroup *cg = xcalloc(1, sizeof(*cg));
    cg->v2_fd = -1;
    cg->layout = detect_layout(v2, v1);
    return cg;
}

static int prepare(const struct sbx_spec *spec, struct sbx_cgroup **out, struct hier *h, bool create,
                   struct sbx_err **err)
{
    struct hier *v2 = &h[0], *v1 = h + 1;
    struct sbx_cgroup *cg = cg_new(v2, v1);
    *out = cg;
    cg->sweep = sweep_due(spec->cgroup_sweep_stamp);
    if (v2->found) {
        if (!(cg->v2 = make_dir(v2->mnt, spec->cgroup_name, cg->sweep, err)))
            return -1;
        cg->v2_fd = open(cg->v2, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (cg->v2_fd < 0)
            return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "open cgroup %s", cg->v2);
    }
    if (cg->layout == SBX_CG_V2 && spec->limits.has_swappiness)
        return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "memory swappiness needs cgroup v1 (the v2 memory controller "
                                                   "has no such knob)");
    if (cg->layout == SBX_CG_V2)
        return apply_v2(cg, v2->mnt, &spec->limits, err);
    bool any = false;
    for (int i = 0; i < V1_N; i++)
        any |= v1[i].found;
    if (!any)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0, "no cgroup hierarchy found in /proc/self/mountinfo");
    return plan_v1(cg, v1, &spec->limits, spec->cgroup_name, create, err);
}

static int prepare_mapped(const struct sbx_spec *spec, struct sbx_cgroup **out, bool create,
                          struct sbx_err **err)
{
    *out = NULL;
    if (!spec->cgroup_enabled)
        return 0;
    /* ~70 KiB of paths: in a mapping of their own, given back right after; on the stack (or the
     * heap) the long-lived supervisor, and the sandbox's init, its copy, kept the pages */
    size_t len = (V1_N + 1) * sizeof(struct hier);
    struct hier *h = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (h == MAP_FAILED)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "cgroup: allocate %zu bytes", len);
    int rc = prepare(spec, out, h, create, err);
    munmap(h, len);
    return rc;
}

void sbx_cgroup_sweep(void)
{
    size_t len = (V1_N + 1) * sizeof(struct hier);
    struct hier *h = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (h == MAP_FAILED)
        return;
    struct hier *v2 = &h[0], *v1 = h + 1;
    memset(h, 0, len);
    find_hierarchies(v2, v1);
    if (v2->found)
        sweep_stale(v2->mnt);
    for (int i = 0; i < V1_N; i++) {
        bool seen = false; /* co-mounted controllers: one directory */
        for (int j = 0; j < i; j++)
            seen |= v1[j].found && strcmp(v1[j].mnt, v1[i].mnt) == 0;
        if (v1[i].found && !seen)
            sweep_stale(v1[i].mnt);
    }
    munmap(h, len);
}

int sbx_cgroup_prepare(const struct sbx_spec *spec, struct sbx_cgroup **out, struct sbx_err **err)
{
    return prepare_mapped(spec, out, true, err);
}

int sbx_cgroup_plan(const struct sbx_spec *spec, struct sbx_cgroup **out, struct sbx_err **err)
{
    if (prepare_mapped(spec, out, false, err) < 0)
        return -1;
    if (*out && (*out)->v1_pending) {
        (*out)->limits = spec->limits; /* the strings stay the spec's: it outlives the launch */
        (*out)->limits.io = spec->limits.io;
    }
    return 0;
}

int sbx_cgroup_from_parent(struct sbx_cgroup *cg, struct sbx_err **err)
{
    if (!cg || !cg->v1_pending)
        return 0;
    for (int i = 0; i < V1_N; i++) {
        if (!(cg->v1_pending & (1u << i)))
            continue;
        char p[PATH_MAX];
        const char *name = strrchr(cg->v1[i], '/') + 1;
        if (mkdir_fresh(cg->v1_parent[i], name, cg->sweep, p, sizeof(p)) < 0)
            return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "create cgroup %s", cg->v1[i]);
        /* co-mounted controllers name the same directory: created once, for all of them */
        for (int j = i; j < V1_N; j++)
            if ((cg->v1_pending & (1u << j)) && strcmp(cg->v1[j], cg->v1[i]) == 0)
                cg->v1_pending &= ~(1u << j);
    }
    return write_v1_limits(cg, cg->v1_parent[V1_CPUSET], &cg->limits, err);
}

int sbx_cgroup_clone_fd(const struct sbx_cgroup *cg) { return cg ? cg->v2_fd : -1; }

int sbx_cgroup_in_child(const struct sbx_cgroup *cg, struct child_err *ce)
{
    if (!cg)
        return 0;
    /* The child moves itself, one thread, by writing "0" to each v1 "tasks" file. Moving another
     * process (cgroup.procs) takes the global threadgroup rwsem for writing and waits for an RCU
     * grace period (~10 ms here); a single thread moving itself skips that lock. It runs before
     * any credential change, while the child still has the host's root euid the v1 permission
     * check asks for, and while it is single-threaded. */
    for (int i = 0; i < V1_N; i++) {
        if (!cg->v1[i])
            continue;
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/tasks", cg->v1[i]);
        if (write_file(p, "0") < 0)
            return child_fail(ce, "cgroup", errno, "join cgroup %s", cg->v1[i]);
    }
    /* Fail closed: /proc/self/cgroup must now name our cgroup in each of those hierarchies. */
    char *self = read_file("/proc/self/cgroup", NULL);
    for (int i = 0; i < V1_N; i++) {
        const char *leaf = cg->v1[i] ? strrchr(cg->v1[i], '/') : NULL;
        char needle[NAME_MAX + 3];
        if (leaf)
            snprintf(needle, sizeof(needle), "%s\n", leaf); /* whole name: gbox-1-1 is not gbox-1-10 */
        if (leaf && (!self || !strstr(self, needle))) {
            free(self);
            return child_fail(ce, "cgroup", 0, "not in cgroup %s after joining it", cg->v1[i]);
        }
    }
    free(self);
    return 0;
}

void sbx_cgroup_paths(const struct sbx_cgroup *cg, struct sbx_started *info)
{
    info->cgroup_v2 = cg ? cg->v2 : NULL;
    info->n_cgroup_v1 = 0;
    for (int i = 0; cg && i < V1_N; i++)
        if (cg->v1[i] && info->n_cgroup_v1 < ARRAY_LEN(info->cgroup_v1))
            info->cgroup_v1[info->n_cgroup_v1++] = cg->v1[i];
}

int sbx_cgroup_attach(const struct sbx_cgroup *cg, pid_t pid, struct sbx_err **err)
{
    if (!cg)
        return 0;
    char b[32];
    snprintf(b, sizeof(b), "%d", (int)pid);
    if (cg->v2 && cg_write(cg->v2, "cgroup.procs", b, err) < 0)
        return -1;
    for (int i = 0; i < V1_N; i++)
        if (cg->v1[i] && cg_write(cg->v1[i], "cgroup.procs", b, err) < 0)
            return -1;
    return 0;
}

static int kill_listed(const char *dir)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/cgroup.procs", dir);
    char *s = read_file(p, NULL);
    int n = 0;
    for (char *t = s ? strtok(s, "\n") : NULL; t; t = strtok(NULL, "\n"), n++)
        kill((pid_t)strtol(t, NULL, 10), SIGKILL);
    free(s);
    return n;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000 * 1000};
    nanosleep(&ts, NULL);
}

int sbx_cgroup_freeze(struct sbx_cgroup *cg, bool frozen, struct sbx_err **err)
{
    if (!cg)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0, "the sandbox has no cgroup to freeze");
    const char *dir, *file, *want, *check_file, *check;
    if (cg->v2) {
        dir = cg->v2, file = "cgroup.freeze", want = frozen ? "1" : "0";
        check_file = "cgroup.events", check = frozen ? "frozen 1" : "frozen 0";
    } else if (cg->v1[V1_FREEZER]) {
        dir = cg->v1[V1_FREEZER], file = "freezer.state", want = frozen ? "FROZEN" : "THAWED";
        check_file = "freezer.state", check = want;
    } else {
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0, "no cgroup v2 tree and no v1 freezer on this host");
    }
    if (cg_write(dir, file, want, err) < 0)
        return -1;
    /* Freezing completes asynchronously (tasks in uninterruptible sleep are frozen when they
     * leave it): wait until the kernel says the whole cgroup is in the asked state. */
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", dir, check_file);
    for (int i = 0; i < 1000; i++) {
        char *s = read_file(p, NULL);
        bool done = s && strstr(s, check);
        free(s);
        if (done)
            return 0;
        if (i && !cg->v2 && frozen)
            cg_write(dir, file, want, NULL); /* v1: FREEZING sticks until asked again */
        sleep_ms(2);
    }
    return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0, "%s did not reach \"%s\" within 2 s", p, check);
}

void sbx_cgroup_kill(struct sbx_cgroup *cg)
{
    if (!cg)
        return;
    if (cg->v2) {
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/cgroup.kill", cg->v2);
        if (write_file(p, "1") == 0)
            return;
        kill_listed(cg->v2);
    }
    /* legacy: freeze first so nothing forks between reading the list and the kills */
    bool frozen = cg->v1[V1_FREEZER] && sbx_cgroup_freeze(cg, true, NULL) == 0;
    for (int i = 0; i < V1_N; i++)
        if (cg->v1[i])
            kill_listed(cg->v1[i]);
    if (frozen)
        sbx_cgroup_freeze(cg, false, NULL); /* SIGKILL is delivered once the tasks thaw */
}

/* ---- stats ------------------------------------------------------------------------------- */

/* The number after "key" (a whole word at the start of a line, or the only number in the file
 * when key is NULL), scaled by div; -1 when absent. */
static int64_t read_key(const char *dir, const char *file, const char *key, int64_t div)
{
    if (!dir)
        return -1;
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", dir, file);
    char *s = read_file(p, NULL);
    int64_t v = -1;
    if (s && !key) {
        char *end;
        long long n = strtoll(s, &end, 10);
        if (end != s)
            v = n / div;
    } else if (s) {
        size_t kl = strlen(key);
        char *save = NULL;
        for (char *t = strtok_r(s, "\n", &save); t; t = strtok_r(NULL, "\n", &save))
            if (strncmp(t, key, kl) == 0 && (t[kl] == ' ' || t[kl] == '='))
                v = strtoll(t + kl + 1, NULL, 10) / div;
    }
    free(s);
    return v;
}

/* v2 io.stat: "MAJ:MIN rbytes=N wbytes=N rios=N wios=N ..." per device, summed. */
static void io_stat_v2(const char *dir, struct sbx_cgroup_stats *st)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/io.stat", dir);
    char *s = read_file(p, NULL);
    if (!s)
        return;
    int64_t *dst[] = {&st->io_read_bytes, &st->io_write_bytes, &st->io_read_ops, &st->io_write_ops};
    static const char *const keys[] = {"rbytes=", "wbytes=", "rios=", "wios="};
    for (int k = 0; k < 4; k++)
        *dst[k] = 0;
    for (char *t = strtok(s, " \n"); t; t = strtok(NULL, " \n"))
        for (int k = 0; k < 4; k++)
            if (strncmp(t, keys[k], strlen(keys[k])) == 0)
                *dst[k] += strtoll(t + strlen(keys[k]), NULL, 10);
    free(s);
}

/* v1 blkio.throttle.io_service_bytes / io_serviced: "MAJ:MIN Read N" lines, summed. */
static void io_stat_v1(const char *dir, const char *file, int64_t *rd, int64_t *wr)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", dir, file);
    char *s = read_file(p, NULL);
    if (!s)
        return;
    *rd = *wr = 0;
    char *save = NULL;
    for (char *t = strtok_r(s, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
        char op[16];
        long long n;
        if (sscanf(t, "%*u:%*u %15s %lld", op, &n) != 2)
            continue;
        if (strcmp(op, "Read") == 0)
            *rd += n;
        else if (strcmp(op, "Write") == 0)
            *wr += n;
    }
    free(s);
}

/* PSI: "some avg10=… total=N" and "full … total=N" lines, in microseconds. */
static void psi(const char *dir, const char *file, int64_t *some, int64_t *full)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", dir, file);
    char *s = read_file(p, NULL);
    char *save = NULL;
    for (char *t = s ? strtok_r(s, "\n", &save) : NULL; t; t = strtok_r(NULL, "\n", &save)) {
        char *tot = strstr(t, "total=");
        if (!tot)
            continue;
        if (strncmp(t, "some ", 5) == 0)
            *some = strtoll(tot + 6, NULL, 10);
        else if (strncmp(t, "full ", 5) == 0)
            *full = strtoll(tot + 6, NULL, 10);
    }
    free(s);
}

void sbx_cgroup_read_oom(const struct sbx_cgroup *cg, struct sbx_cgroup_stats *st)
{
    memset(st, 0xff, sizeof(*st));
    st->layout = cg ? cg->layout : SBX_CG_NONE;
    if (!cg)
        return;
    if (cg->layout == SBX_CG_V2)
        st->oom_kills = read_key(cg->v2, "memory.events", "oom_kill", 1);
    else
        st->oom_kills = read_key(cg->v1[V1_MEMORY], "memory.oom_control", "oom_kill", 1);
}

void sbx_cgroup_read_stats(const struct sbx_cgroup *cg, struct sbx_cgroup_stats *st)
{
    memset(st, 0xff, sizeof(*st)); /* every count -1: unknown */
    st->layout = cg ? cg->layout : SBX_CG_NONE;
    if (!cg)
        return;
    const char *v2 = cg->v2, *lim = cg->layout == SBX_CG_V2 ? v2 : NULL;
    if (lim) {
        st->memory_current = read_key(lim, "memory.current", NULL, 1);
        st->memory_peak = read_key(lim, "memory.peak", NULL, 1);
        st->oom_events = read_key(lim, "memory.events", "oom", 1);
        st->oom_kills = read_key(lim, "memory.events", "oom_kill", 1);
        st->pids_current = read_key(lim, "pids.current", NULL, 1);
        st->pids_peak = read_key(lim, "pids.peak", NULL, 1);
        io_stat_v2(lim, st);
    } else {
        const char *mem = cg->v1[V1_MEMORY], *pids = cg->v1[V1_PIDS], *bk = cg->v1[V1_BLKIO];
        st->memory_current = read_key(mem, "memory.usage_in_bytes", NULL, 1);
        st->memory_peak = read_key(mem, "memory.max_usage_in_bytes", NULL, 1);
        st->oom_kills = read_key(mem, "memory.oom_control", "oom_kill", 1);
        st->pids_current = read_key(pids, "pids.current", NULL, 1);
        st->pids_peak = read_key(pids, "pids.peak", NULL, 1);
        if (bk) {
            io_stat_v1(bk, "blkio.throttle.io_service_bytes", &st->io_read_bytes, &st->io_write_bytes);
            io_stat_v1(bk, "blkio.throttle.io_serviced", &st->io_read_ops, &st->io_write_ops);
        }
    }
    /* cpu usage: cpu.stat is a core file of every v2 cgroup, controllers or not */
    if (v2) {
        st->cpu_usage_us = read_key(v2, "cpu.stat", "usage_usec", 1);
        st->cpu_user_us = read_key(v2, "cpu.stat", "user_usec", 1);
        st->cpu_system_us = read_key(v2, "cpu.stat", "system_usec", 1);
    } else if (cg->v1[V1_CPUACCT]) {
        st->cpu_usage_us = read_key(cg->v1[V1_CPUACCT], "cpuacct.usage", NULL, 1000);
        st->cpu_user_us = read_key(cg->v1[V1_CPUACCT], "cpuacct.usage_user", NULL, 1000);
        st->cpu_system_us = read_key(cg->v1[V1_CPUACCT], "cpuacct.usage_sys", NULL, 1000);
    }
    if (lim) {
        st->cpu_periods = read_key(lim, "cpu.stat", "nr_periods", 1);
        st->cpu_throttled_periods = read_key(lim, "cpu.stat", "nr_throttled", 1);
        st->cpu_throttled_us = read_key(lim, "cpu.stat", "throttled_usec", 1);
    } else if (cg->v1[V1_CPU]) {
        st->cpu_periods = read_key(cg->v1[V1_CPU], "cpu.stat", "nr_periods", 1);
        st->cpu_throttled_periods = read_key(cg->v1[V1_CPU], "cpu.stat", "nr_throttled", 1);
        st->cpu_throttled_us = read_key(cg->v1[V1_CPU], "cpu.stat", "throttled_time", 1000);
    }
    if (v2) {
        psi(v2, "cpu.pressure", &st->psi_some_us[SBX_PSI_CPU], &st->psi_full_us[SBX_PSI_CPU]);
        psi(v2, "memory.pressure", &st->psi_some_us[SBX_PSI_MEMORY], &st->psi_full_us[SBX_PSI_MEMORY]);
        psi(v2, "io.pressure", &st->psi_some_us[SBX_PSI_IO], &st->psi_full_us[SBX_PSI_IO]);
    }
}

static void remove_dir(char **path)
{
    if (!*path)
        return;
    /* rmdir fails with EBUSY until the last task has really exited; killed tasks go quickly. */
    for (int i = 0; i < 200 && rmdir(*path) < 0 && errno == EBUSY; i++) {
        kill_listed(*path);
        sleep_ms(5);
    }
    free(*path);
    *path = NULL;
}

void sbx_cgroup_release(struct sbx_cgroup **cgp)
{
    struct sbx_cgroup *cg = *cgp;
    if (!cg)
        return;
    /* Normally nothing is left (the sandbox's pid namespace ended with its init, and no process
     * can leave the v2 cgroup it was cloned into): removing it comes first, and the kill, a file
     * opened and written, only when something is still in it. */
    if (!cg->v2 || rmdir(cg->v2) < 0)
        sbx_cgroup_kill(cg);
    if (cg->v2_fd >= 0)
        close(cg->v2_fd);
    remove_dir(&cg->v2);
    for (int i = 0; i < V1_N; i++) {
        if (cg->v1_pending & (1u << i)) { /* never created: not ours to remove */
            free(cg->v1[i]);
            cg->v1[i] = NULL;
        }
        remove_dir(&cg->v1[i]);
        free(cg->v1_parent[i]);
    }
    free(cg);
    *cgp = NULL;
}

/* ---- a sandbox found again by its paths ------------------------------------------------- */

static struct sbx_cgroup *reopen(const struct sbx_started *w)
{
    struct hier *h = xcalloc(V1_N + 1, sizeof(*h)), *v1 = h + 1; /* on the heap: see above */
    struct sbx_cgroup *cg = cg_new(&h[0], v1);
    cg->v2 = w->cgroup_v2 ? xstrdup(w->cgroup_v2) : NULL;
    for (size_t k = 0; k < w->n_cgroup_v1; k++) {
        /* which hierarchy: the v1 mount point the path lies under */
        for (int i = 0; i < V1_N; i++) {
            size_t ml = strlen(v1[i].mp);
            if (v1[i].found && !cg->v1[i] && strncmp(w->cgroup_v1[k], v1[i].mp, ml) == 0 &&
                w->cgroup_v1[k][ml] == '/')
                cg->v1[i] = xstrdup(w->cgroup_v1[k]); /* co-mounted controllers share it */
        }
    }
    free(h);
    return cg;
}

static void forget(struct sbx_cgroup *cg)
{
    free(cg->v2);
    for (int i = 0; i < V1_N; i++)
        free(cg->v1[i]);
    free(cg);
}

void sbx_cgroup_stats_at(const struct sbx_started *where, struct sbx_cgroup_stats *st)
{
    struct sbx_cgroup *cg = reopen(where);
    sbx_cgroup_read_stats(cg, st);
    forget(cg);
}

void sbx_cgroup_kill_at(const struct sbx_started *where)
{
    struct sbx_cgroup *cg = reopen(where);
    sbx_cgroup_kill(cg);
    forget(cg);
}

int sbx_cgroup_remove_at(const struct sbx_started *where)
{
    int rc = 0;
    if (where->cgroup_v2 && rmdir(where->cgroup_v2) < 0 && errno != ENOENT)
        rc = -1;
    for (size_t k = 0; k < where->n_cgroup_v1; k++)
        if (rmdir(where->cgroup_v1[k]) < 0 && errno != ENOENT)
            rc = -1;
    return rc;
}

size_t sbx_cgroup_plan_dirs(const struct sbx_spec *spec, struct sbx_cgroup_dir *out, size_t max)
{
    if (!spec->cgroup_enabled || !spec->cgroup_name)
        return 0;
    struct hier v2, v1[V1_N];
    struct sbx_cgroup *cg = cg_new(&v2, v1);
    enum sbx_cg_layout layout = cg->layout;
    free(cg);
    size_t n = 0;
    if (v2.found && n < max) {
        snprintf(out[n].host, sizeof(out[n].host), "%s/%s", v2.mnt, spec->cgroup_name);
        snprintf(out[n].mount_point, sizeof(out[n].mount_point), "%s", v2.mp);
        n++;
    }
    if (layout == SBX_CG_V2)
        return n;
    bool need[V1_N], strict[V1_N], found[V1_N];
    for (int i = 0; i < V1_N; i++)
        found[i] = v1[i].found;
    wanted(&spec->limits, found, need, strict);
    if (layout == SBX_CG_V1)
        need[V1_CPUACCT] = need[V1_FREEZER] = true;
    for (int i = 0; i < V1_N && n < max; i++) {
        bool dup = false;
        for (int j = 0; j < i; j++) /* co-mounted (cpu,cpuacct): one directory */
            dup |= need[j] && v1[j].found && strcmp(v1[j].mp, v1[i].mp) == 0;
        if (!need[i] || !v1[i].found || dup)
            continue;
        snprintf(out[n].host, sizeof(out[n].host), "%s/%s", v1[i].mnt, spec->cgroup_name);
        snprintf(out[n].mount_point, sizeof(out[n].mount_point), "%s", v1[i].mp);
        n++;
    }
    return n;
}

/* ---- limits of a running sandbox (gbox daemon: live configuration) ------------------------ */

static int update_v2(const char *d, const struct sbx_cgroup_limits *old, const struct sbx_cgroup_limits *l,
                     unsigned what, struct sbx_err **err)
{
    char b[256];
    if ((what & SBX_CGU_MEMORY) && cg_write(d, "memory.max", l->memory_max >= 0 ? (snprintf(b, sizeof(b), "%lld", (long long)l->memory_max), b) : "max", err) < 0)
        return -1;
    if (what & SBX_CGU_CPU) {
        if (l->cpu_quota_us >= 0)
            snprintf(b, sizeof(b), "%lld %lld", (long long)l->cpu_quota_us, (long long)l->cpu_period_us);
        else
            snprintf(b, sizeof(b), "max %lld", (long long)l->cpu_period_us);
        if (cg_write(d, "cpu.max", b, err) < 0 || cg_writei(d, "cpu.weight", l->cpu_weight >= 0 ? l->cpu_weight : 100, err) < 0)
            return -1;
    }
    if ((what & SBX_CGU_PIDS) && cg_write(d, "pids.max", l->pids_max >= 0 ? (snprintf(b, sizeof(b), "%lld", (long long)l->pids_max), b) : "max", err) < 0)
        return -1;
    if (what & SBX_CGU_IO) {
        for (size_t i = 0; i < old->n_io; i++) { /* devices no longer listed: unthrottled */
            snprintf(b, sizeof(b), "%u:%u rbps=max wbps=max riops=max wiops=max", old->io[i].major, old->io[i].minor);
            if (cg_write(d, "io.max", b, err) < 0)
                return -1;
        }
        if (write_io_max(d, l, err) < 0)
            return -1;
    }
    return 0;
}

static int update_v1(struct sbx_cgroup *cg, const struct sbx_cgroup_limits *old, const struct sbx_cgroup_limits *l,
                     unsigned what, struct sbx_err **err)
{
    if ((what & SBX_CGU_MEMORY) &&
        cg_writei(cg->v1[V1_MEMORY], "memory.limit_in_bytes", l->memory_max >= 0 ? l->memory_max : -1, err) < 0)
        return -1;
    if (what & SBX_CGU_CPU) {
        const char *cpu = cg->v1[V1_CPU];
        int64_t shares = l->cpu_weight >= 0 ? l->cpu_weight * 1024 / 100 : 1024;
        if (cg_writei(cpu, "cpu.cfs_period_us", l->cpu_period_us, err) < 0 ||
            cg_writei(cpu, "cpu.cfs_quota_us", l->cpu_quota_us >= 0 ? l->cpu_quota_us : -1, err) < 0 ||
            cg_writei(cpu, "cpu.shares", shares < 2 ? 2 : shares, err) < 0)
            return -1;
    }
    if ((what & SBX_CGU_PIDS) &&
        (l->pids_max >= 0 ? cg_writei(cg->v1[V1_PIDS], "pids.max", l->pids_max, err)
                          : cg_write(cg->v1[V1_PIDS], "pids.max", "max", err)) < 0)
        return -1;
    if (what & SBX_CGU_IO) {
        static const char *const files[] = {"blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
                                            "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device"};
        const char *bk = cg->v1[V1_BLKIO];
        for (size_t i = 0; i < old->n_io; i++) /* 0 removes a device's throttle */
            for (size_t f = 0; f < 4; f++) {
                struct sbx_io_limit z = old->io[i];
                if (throttle_v1(bk, files[f], &z, 0, err) < 0)
                    return -1;
            }
        for (size_t i = 0; i < l->n_io; i++) {
            const struct sbx_io_limit *io = &l->io[i];
            if (throttle_v1(bk, files[0], io, io->read_bps, err) < 0 || throttle_v1(bk, files[1], io, io->write_bps, err) < 0 ||
                throttle_v1(bk, files[2], io, io->read_iops, err) < 0 || throttle_v1(bk, files[3], io, io->write_iops, err) < 0)
                return -1;
        }
    }
    return 0;
}

unsigned sbx_cgroup_updatable_at(const struct sbx_started *where)
{
    struct sbx_cgroup *cg = reopen(where);
    unsigned m = 0;
    if (cg->layout == SBX_CG_V2 && cg->v2) {
        m = SBX_CGU_MEMORY | SBX_CGU_CPU | SBX_CGU_PIDS | SBX_CGU_IO; /* the controllers are delegated to it */
        static const char *const files[] = {"memory.max", "cpu.max", "pids.max", "io.max"};
        for (unsigned i = 0; i < 4; i++)
            if (!file_exists(cg->v2, files[i]))
                m &= ~(1u << i);
    } else {
        m |= cg->v1[V1_MEMORY] ? SBX_CGU_MEMORY : 0;
        m |= cg->v1[V1_CPU] ? SBX_CGU_CPU : 0;
        m |= cg->v1[V1_PIDS] ? SBX_CGU_PIDS : 0;
        m |= cg->v1[V1_BLKIO] ? SBX_CGU_IO : 0;
    }
    forget(cg);
    return m;
}

int sbx_cgroup_update_at(const struct sbx_started *where, const struct sbx_cgroup_limits *old,
                         const struct sbx_cgroup_limits *l, unsigned what, struct sbx_err **err)
{
    unsigned can = sbx_cgroup_updatable_at(where);
    if (what & ~can)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, EOPNOTSUPP, "the sandbox has no cgroup for some of the changed limits");
    struct sbx_cgroup *cg = reopen(where);
    int rc = cg->layout == SBX_CG_V2 ? update_v2(cg->v2, old, l, what, err) : update_v1(cg, old, l, what, err);
    forget(cg);
    return rc;
}

/* ---- OCI update: set the given limits, all or nothing --------------------------------------- */

struct set_op {
    const char *dir, *file;
    char val[128];
    char *old; /* the file's contents before, once written */
};

static int add_op(struct set_op *ops, size_t *n, const char *dir, const char *ctl, const char *file, const char *val,
                  struct sbx_err **err)
{
    if (!dir)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, EOPNOTSUPP,
                           "the sandbox has no %s cgroup (it was created without %s limits): %s cannot change", ctl,
                           ctl, file);
    if (!file_exists(dir, file))
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, EOPNOTSUPP, "%s/%s does not exist on this host", dir, file);
    ops[*n] = (struct set_op){.dir = dir, .file = file};
    snprintf(ops[*n].val, sizeof(ops[*n].val), "%s", val);
    (*n)++;
    return 0;
}

static const char *num_or(char *b, size_t len, int64_t v, const char *unlimited)
{
    if (v < 0)
        return unlimited;
    snprintf(b, len, "%lld", (long long)v);
    return b;
}

/* The cgroup files and values for s, in the order they must be written. */
static int plan_set(const struct sbx_cgroup *cg, const struct sbx_cgroup_set *s, struct set_op *ops, size_t *n,
                    struct sbx_err **err)
{
    char b[64];
    bool v2 = cg->layout == SBX_CG_V2;
    const char *mem = v2 ? cg->v2 : cg->v1[V1_MEMORY], *cpu = v2 ? cg->v2 : cg->v1[V1_CPU];
    const char *pids = v2 ? cg->v2 : cg->v1[V1_PIDS], *cpuset = v2 ? cg->v2 : cg->v1[V1_CPUSET];
    const char *io = v2 ? cg->v2 : cg->v1[V1_BLKIO];
    /* v1 keeps memory <= memory+swap at every step: a raised memsw goes first, a lowered one last */
    bool memsw_first = false;
    if (!v2 && s->swap && mem) {
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/memory.memsw.limit_in_bytes", mem);
        char *cur = read_file(p, NULL);
        memsw_first = cur && (s->swap_max < 0 || s->swap_max > strtoll(cur, NULL, 10));
        free(cur);
    }
    if (s->memory && !memsw_first && add_op(ops, n, mem, "memory", v2 ? "memory.max" : "memory.limit_in_bytes",
                                            num_or(b, sizeof(b), s->memory_max, v2 ? "max" : "-1"), err) < 0)
        return -1;
    if (s->swap) { /* memory+swap; v2 counts swap alone */
        int64_t sw = s->swap_max < 0 ? -1 : (v2 && s->memory_max >= 0 ? s->swap_max - s->memory_max : s->swap_max);
        if (add_op(ops, n, mem, "memory", v2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes",
                   num_or(b, sizeof(b), sw, v2 ? "max" : "-1"), err) < 0)
            return -1;
    }
    if (s->memory && memsw_first && add_op(ops, n, mem, "memory", "memory.limit_in_bytes",
                                           num_or(b, sizeof(b), s->memory_max, "-1"), err) < 0)
        return -1;
    if (s->swappiness && v2)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, EOPNOTSUPP, "memory swappiness needs cgroup v1 (the v2 memory "
                                                             "controller has no such knob)");
    if (s->swappiness && add_op(ops, n, mem, "memory", "memory.swappiness",
                                num_or(b, sizeof(b), s->memory_swappiness, ""), err) < 0)
        return -1;
    if (s->pids && add_op(ops, n, pids, "pids", "pids.max", num_or(b, sizeof(b), s->pids_max, "max"), err) < 0)
        return -1;
    if (s->shares) {
        int64_t w = s->cpu_shares * 100 / 1024;
        if (add_op(ops, n, cpu, "cpu", v2 ? "cpu.weight" : "cpu.shares",
                   num_or(b, sizeof(b), v2 ? (w < 1 ? 1 : w) : s->cpu_shares, ""), err) < 0)
            return -1;
    }
    if (v2 && (s->quota || s->period)) { /* cpu.max "QUOTA PERIOD": the part not given stays */
        char p[PATH_MAX], q[32] = "max";
        long long period = 100000;
        snprintf(p, sizeof(p), "%s/cpu.max", cpu ? cpu : "");
        char *old = cpu ? read_file(p, NULL) : NULL;
        if (old && sscanf(old, "%31s %lld", q, &period) != 2)
            snprintf(q, sizeof(q), "max");
        free(old);
        if (s->quota)
            num_or(q, sizeof(q), s->cpu_quota_us, "max");
        if (s->period)
            period = s->cpu_period_us;
        snprintf(b, sizeof(b), "%s %lld", s->quota && s->cpu_quota_us < 0 ? "max" : q, period);
        if (add_op(ops, n, cpu, "cpu", "cpu.max", b, err) < 0)
            return -1;
    } else {
        /* the period first: the kernel checks the quota against it */
        if (s->period && add_op(ops, n, cpu, "cpu", "cpu.cfs_period_us", num_or(b, sizeof(b), s->cpu_period_us, ""), err) < 0)
            return -1;
        if (s->quota && add_op(ops, n, cpu, "cpu", "cpu.cfs_quota_us", num_or(b, sizeof(b), s->cpu_quota_us, "-1"), err) < 0)
            return -1;
    }
    if (s->cpuset_cpus && add_op(ops, n, cpuset, "cpuset", "cpuset.cpus", s->cpuset_cpus, err) < 0)
        return -1;
    if (s->cpuset_mems && add_op(ops, n, cpuset, "cpuset", "cpuset.mems", s->cpuset_mems, err) < 0)
        return -1;
    if (s->weight) {
        const char *f = weight_file(io, v2, err);
        if (!f || add_op(ops, n, io, v2 ? "io" : "blkio", f, num_or(b, sizeof(b), s->io_weight, ""), err) < 0)
            return -1;
    }
    return 0;
}

int sbx_cgroup_set_at(const struct sbx_started *where, const struct sbx_cgroup_set *s, struct sbx_err **err)
{
    struct set_op ops[12];
    size_t n = 0;
    struct sbx_cgroup *cg = reopen(where);
    int rc = plan_set(cg, s, ops, &n, err);
    size_t done = 0;
    for (; rc == 0 && done < n; done++) {
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/%s", ops[done].dir, ops[done].file);
        ops[done].old = read_file(p, NULL);
        if (!ops[done].old) {
            rc = sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "read %s", p);
            break;
        }
        if (cg_write(ops[done].dir, ops[done].file, ops[done].val, err) < 0) {
            rc = -1;
            break;
        }
    }
    if (rc < 0) /* put back what was written, newest first */
        while (done-- > 0) {
            char *nl = strchr(ops[done].old, '\n');
            if (nl)
                *nl = '\0';
            cg_write(ops[done].dir, ops[done].file, ops[done].old, NULL);
        }
    for (size_t i = 0; i < n; i++)
        free(ops[i].old);
    forget(cg);
    return rc;
}
