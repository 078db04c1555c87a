/* cgroup.c — the sandbox's cgroups, beneath our own cgroup in every hierarchy.
 *
 * Host layouts: pure v2 (limits and placement in the unified tree), hybrid (v1 controllers carry
 * the limits; the v2 tree, even with no controllers, still gives clone-time placement and
 * cgroup.kill) and legacy v1. A limit the plan asks for that the host cannot apply is an error
 * naming the controller: never half-applied. Everything created here is removed on release. */
#include "internal.h"
#include "util.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

enum { V1_MEMORY, V1_CPU, V1_PIDS, V1_N };
static const char *const v1_names[V1_N] = {"memory", "cpu", "pids"};

struct sbx_cgroup {
    char *v2;          /* created directory in the unified tree, or NULL */
    int v2_fd;
    bool v2_limits;    /* limits live in v2 (its controllers are available) */
    char *v1[V1_N];    /* created directories per v1 controller, or NULL */
};

struct hier {
    char mnt[PATH_MAX]; /* mount point + our own path: the directory to create beneath */
    bool found;
};

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
        if (!dash || sscanf(ml, "%*s %*s %*s %4095s %4095s", root, mnt) != 2 ||
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
                v2->found = true;
            } else if (!is2) {
                for (int i = 0; i < V1_N; i++) {
                    char opt[40];
                    snprintf(opt, sizeof(opt), ",%s,", v1_names[i]);
                    char so[300], cs[300];
                    snprintf(so, sizeof(so), ",%s,", super);
                    snprintf(cs, sizeof(cs), ",%s,", ctrls);
                    if (!v1[i].found && strstr(so, opt) && strstr(cs, opt)) {
                        snprintf(v1[i].mnt, sizeof(v1[i].mnt), "%s%s", mnt, strcmp(rel, "/") ? rel : "");
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

static bool v2_has_controller(const char *dir, const char *name, const char *file)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", dir, file);
    char *s = read_file(p, NULL);
    bool found = false;
    for (char *t = s ? strtok(s, " \n") : NULL; t; t = strtok(NULL, " \n"))
        if (strcmp(t, name) == 0)
            found = true;
    free(s);
    return found;
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

static char *make_dir(const char *parent, const char *name, struct sbx_err **err)
{
    sweep_stale(parent);
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", parent, name);
    if (mkdir(p, 0755) < 0) {
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

static int apply_v2(struct sbx_cgroup *cg, const char *parent, const struct sbx_cgroup_limits *l,
                    struct sbx_err **err)
{
    const char *need[3] = {NULL};
    if (l->memory_max >= 0 || l->memory_high >= 0 || l->swap_max >= 0)
        need[0] = "memory";
    if (l->cpu_quota_us >= 0 || l->cpu_weight >= 0)
        need[1] = "cpu";
    if (l->pids_max >= 0)
        need[2] = "pids";
    for (int i = 0; i < 3; i++)
        if (need[i] && !v2_has_controller(parent, need[i], "cgroup.subtree_control"))
            return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0,
                               "cgroup v2 controller \"%s\" is not delegated to %s (enable it in "
                               "%s/cgroup.subtree_control, or run gbox in a delegated cgroup)",
                               need[i], parent, parent);
    char b[64];
    if (l->memory_max >= 0 && cg_writei(cg->v2, "memory.max", l->memory_max, err) < 0)
        return -1;
    if (l->memory_high >= 0 && cg_writei(cg->v2, "memory.high", l->memory_high, err) < 0)
        return -1;
    if (l->swap_max >= 0) {
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/memory.swap.max", cg->v2);
        if (access(p, F_OK) == 0) {
            if (cg_writei(cg->v2, "memory.swap.max", l->swap_max, err) < 0)
                return -1;
        } else if (host_has_swap()) {
            return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0,
                               "resources.memory.swap is limited but %s has no memory.swap.max "
                               "and swap is active", cg->v2);
        }
    }
    if (l->cpu_quota_us >= 0) {
        snprintf(b, sizeof(b), "%lld %lld", (long long)l->cpu_quota_us, (long long)l->cpu_period_us);
        if (cg_write(cg->v2, "cpu.max", b, err) < 0)
            return -1;
    }
    if (l->cpu_weight >= 0 && cg_writei(cg->v2, "cpu.weight", l->cpu_weight, err) < 0)
        return -1;
    if (l->pids_max >= 0 && cg_writei(cg->v2, "pids.max", l->pids_max, err) < 0)
        return -1;
    return 0;
}

static int apply_v1(struct sbx_cgroup *cg, struct hier v1[V1_N], const struct sbx_cgroup_limits *l,
                    const char *name, struct sbx_err **err)
{
    bool need[V1_N] = {
        [V1_MEMORY] = l->memory_max >= 0 || l->memory_high >= 0 || l->swap_max >= 0,
        [V1_CPU] = l->cpu_quota_us >= 0 || l->cpu_weight >= 0,
        [V1_PIDS] = l->pids_max >= 0,
    };
    for (int i = 0; i < V1_N; i++) {
        if (need[i] && !v1[i].found)
            return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0,
                               "the policy sets a %s limit but this host has no %s cgroup controller",
                               v1_names[i], v1_names[i]);
        if (need[i] && !(cg->v1[i] = make_dir(v1[i].mnt, name, err)))
            return -1;
    }
    if (l->memory_high >= 0)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0,
                           "resources.memory.high needs the cgroup v2 memory controller; this host "
                           "has memory on cgroup v1 (%s)", v1[V1_MEMORY].mnt);
    if (l->memory_max >= 0 && cg_writei(cg->v1[V1_MEMORY], "memory.limit_in_bytes", l->memory_max, err) < 0)
        return -1;
    if (l->swap_max >= 0) {
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/memory.memsw.limit_in_bytes", cg->v1[V1_MEMORY]);
        if (access(p, F_OK) == 0) {
            int64_t total = l->memory_max >= 0 ? l->memory_max + l->swap_max : -1;
            if (total >= 0 && cg_writei(cg->v1[V1_MEMORY], "memory.memsw.limit_in_bytes", total, err) < 0)
                return -1;
        } else if (host_has_swap()) {
            return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0,
                               "resources.memory.swap is limited but swap accounting is off on this "
                               "host (no memory.memsw.limit_in_bytes) and swap is active");
        }
    }
    if (l->cpu_quota_us >= 0 &&
        (cg_writei(cg->v1[V1_CPU], "cpu.cfs_period_us", l->cpu_period_us, err) < 0 ||
         cg_writei(cg->v1[V1_CPU], "cpu.cfs_quota_us", l->cpu_quota_us, err) < 0))
        return -1;
    if (l->cpu_weight >= 0) {
        int64_t shares = l->cpu_weight * 1024 / 100;
        if (cg_writei(cg->v1[V1_CPU], "cpu.shares", shares < 2 ? 2 : shares, err) < 0)
            return -1;
    }
    if (l->pids_max >= 0 && cg_writei(cg->v1[V1_PIDS], "pids.max", l->pids_max, err) < 0)
        return -1;
    return 0;
}

int sbx_cgroup_prepare(const struct sbx_spec *spec, struct sbx_cgroup **out, struct sbx_err **err)
{
    *out = NULL;
    if (!spec->cgroup_enabled)
        return 0;
    struct hier v2 = {0}, v1[V1_N] = {{{0}, 0}};
    find_hierarchies(&v2, v1);
    struct sbx_cgroup *cg = xcalloc(1, sizeof(*cg));
    cg->v2_fd = -1;
    *out = cg;
    if (v2.found) {
        if (!(cg->v2 = make_dir(v2.mnt, spec->cgroup_name, err)))
            return -1;
        cg->v2_fd = open(cg->v2, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (cg->v2_fd < 0)
            return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "open cgroup %s", cg->v2);
        cg->v2_limits = v2_has_controller(v2.mnt, "memory", "cgroup.controllers") ||
                        v2_has_controller(v2.mnt, "pids", "cgroup.controllers");
    }
    if (cg->v2_limits)
        return apply_v2(cg, v2.mnt, &spec->limits, err);
    if (!v2.found && !v1[V1_MEMORY].found && !v1[V1_PIDS].found)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0, "no cgroup hierarchy found in /proc/self/mountinfo");
    return apply_v1(cg, v1, &spec->limits, spec->cgroup_name, err);
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
    for (int i = 0; i < V1_N; i++)
        if (cg->v1[i])
            kill_listed(cg->v1[i]);
}

static int64_t read_i64(const char *dir, const char *file, const char *key)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", dir, file);
    char *s = read_file(p, NULL);
    int64_t v = -1;
    if (s && !key) {
        v = strtoll(s, NULL, 10);
    } else if (s) {
        size_t kl = strlen(key);
        for (char *t = strtok(s, "\n"); t; t = strtok(NULL, "\n"))
            if (strncmp(t, key, kl) == 0 && t[kl] == ' ')
                v = strtoll(t + kl + 1, NULL, 10);
    }
    free(s);
    return v;
}

void sbx_cgroup_stats(struct sbx_cgroup *cg, struct sbx_result *res)
{
    res->memory_peak = -1;
    res->oom_kills = -1;
    if (!cg)
        return;
    if (cg->v2_limits) {
        res->memory_peak = read_i64(cg->v2, "memory.peak", NULL);
        res->oom_kills = read_i64(cg->v2, "memory.events", "oom_kill");
    } else if (cg->v1[V1_MEMORY]) {
        res->memory_peak = read_i64(cg->v1[V1_MEMORY], "memory.max_usage_in_bytes", NULL);
        res->oom_kills = read_i64(cg->v1[V1_MEMORY], "memory.oom_control", "oom_kill");
    }
}

static void remove_dir(char **path)
{
    if (!*path)
        return;
    /* rmdir fails with EBUSY until the last task has really exited; killed tasks go quickly. */
    for (int i = 0; i < 200 && rmdir(*path) < 0 && errno == EBUSY; i++) {
        kill_listed(*path);
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    free(*path);
    *path = NULL;
}

void sbx_cgroup_release(struct sbx_cgroup **cgp)
{
    struct sbx_cgroup *cg = *cgp;
    if (!cg)
        return;
    sbx_cgroup_kill(cg);
    if (cg->v2_fd >= 0)
        close(cg->v2_fd);
    remove_dir(&cg->v2);
    for (int i = 0; i < V1_N; i++)
        remove_dir(&cg->v1[i]);
    free(cg);
    *cgp = NULL;
}
