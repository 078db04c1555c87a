/* oci_resources.c — linux.resources of config.json into sbx_cgroup_limits, and the object of
 * `update --resources FILE` into the set of changes it names (docs/oci.md). Same rules as the rest
 * of the parser (oci_parse.h): keys checked, values ranged, refusals by name. */
#include "oci_config.h"
#include "oci_parse.h"

#include "../sandbox/util.h"

#include <stdio.h>
#include <string.h>

static int parse_memory(const struct ctx *x, const json_t *m, struct sbx_cgroup_limits *l)
{
    static const char *const keys[] = {"limit", "reservation", "swap", "kernel", "kernelTCP", "swappiness",
                                       "disableOOMKiller", "useHierarchy", "checkBeforeUpdate", NULL};
    const char *P = "linux.resources.memory";
    int64_t limit = -1, swap = -1, res = -1, swappiness = -1;
    bool hl, hs, hr, h;
    bool oomd = false;
    if (oci_check_keys(x, m, P, keys) < 0 || oci_get_int(x, m, P, "limit", -1, INT64_MAX, &limit, &hl) < 0 ||
        oci_get_int(x, m, P, "swap", -1, INT64_MAX, &swap, &hs) < 0 ||
        oci_get_int(x, m, P, "reservation", -1, INT64_MAX, &res, &hr) < 0 ||
        oci_get_int(x, m, P, "swappiness", 0, 100, &swappiness, &h) < 0 ||
        oci_get_bool(x, m, P, "disableOOMKiller", &oomd) < 0)
        return -1;
    if (json_object_get(m, "kernel") || json_object_get(m, "kernelTCP"))
        return oci_refuse(x, "linux.resources.memory.kernel", "kernel memory limits are deprecated and not supported");
    if (oomd)
        return oci_refuse(x, "linux.resources.memory.disableOOMKiller", "not supported (a sandbox at its limit is OOM-killed)");
    if (hl && limit == 0)
        return oci_bad(x, "linux.resources.memory.limit", "an integer > 0 (or -1: unlimited)", json_object_get(m, "limit"));
    l->memory_max = limit > 0 ? limit : -1;
    l->has_swappiness = h;
    l->swappiness = h ? (unsigned)swappiness : 0;
    /* OCI swap is memory+swap; gbox's swap_max is swap alone */
    if (hs && swap >= 0) {
        if (limit <= 0)
            return oci_refuse(x, "linux.resources.memory.swap", "needs linux.resources.memory.limit");
        if (swap < limit)
            return oci_bad(x, "linux.resources.memory.swap", "memory+swap, at least linux.resources.memory.limit",
                       json_object_get(m, "swap"));
        l->swap_max = swap - limit;
    }
    /* reservation (a soft limit) has no effect in gbox: accepted, documented */
    return 0;
}

static int parse_cpu(const struct ctx *x, const json_t *c, struct sbx_cgroup_limits *l)
{
    static const char *const keys[] = {"shares", "quota", "period", "cpus", "mems", "realtimeRuntime",
                                       "realtimePeriod", "burst", "idle", NULL};
    const char *P = "linux.resources.cpu";
    int64_t shares = 0, quota = -1, period = 100000;
    bool hsh, hq, hp;
    const char *cpus, *mems;
    if (oci_check_keys(x, c, P, keys) < 0 || oci_get_int(x, c, P, "shares", 2, 262144, &shares, &hsh) < 0 ||
        oci_get_int(x, c, P, "quota", -1, INT64_MAX, &quota, &hq) < 0 ||
        oci_get_int(x, c, P, "period", 1000, 1000000, &period, &hp) < 0 ||
        oci_get_str(x, c, P, "cpus", false, &cpus) < 0 || oci_get_str(x, c, P, "mems", false, &mems) < 0)
        return -1;
    static const char *const refused[] = {"realtimeRuntime", "realtimePeriod", "burst", "idle"};
    for (size_t i = 0; i < ARRAY_LEN(refused); i++) {
        const json_t *v = json_object_get(c, refused[i]);
        if (v && !(json_is_integer(v) && json_integer_value(v) == 0)) {
            char p[64];
            oci_sub(p, sizeof(p), P, refused[i]);
            return oci_refuse(x, p, "not supported");
        }
    }
    if (hsh)
        l->cpu_weight = shares * 100 / 1024 < 1 ? 1 : shares * 100 / 1024;
    if (hq && quota > 0) {
        if (quota < 1000)
            return oci_bad(x, "linux.resources.cpu.quota", "an integer >= 1000 (microseconds), or -1", json_object_get(c, "quota"));
        l->cpu_quota_us = quota;
        l->cpu_period_us = period;
    }
    if (cpus && cpus[0])
        l->cpuset_cpus = xstrdup(cpus);
    if (mems && mems[0])
        l->cpuset_mems = xstrdup(mems);
    return 0;
}

/* The throttle lists of blockIO: [{major, minor, rate}], merged per device into l->io. */
static int parse_throttle(const struct ctx *x, const json_t *a, const char *path, int which, struct sbx_cgroup_limits *l)
{
    static const char *const keys[] = {"major", "minor", "rate", NULL};
    size_t i;
    const json_t *e;
    json_array_foreach(a, i, e)
    {
        char p[128];
        oci_idx(p, sizeof(p), path, i);
        if (!json_is_object(e))
            return oci_bad(x, p, "an object", e);
        int64_t maj = 0, mnr = 0, rate = 0;
        bool h1, h2, h3;
        if (oci_check_keys(x, e, p, keys) < 0 || oci_get_int(x, e, p, "major", 0, 4095, &maj, &h1) < 0 ||
            oci_get_int(x, e, p, "minor", 0, 1048575, &mnr, &h2) < 0 || oci_get_int(x, e, p, "rate", 0, INT64_MAX, &rate, &h3) < 0)
            return -1;
        if (!h1 || !h2 || !h3)
            return oci_refuse(x, p, "major, minor and rate are required");
        if (rate == 0) /* 0: no limit */
            continue;
        struct sbx_io_limit *d = NULL;
        for (size_t k = 0; k < l->n_io && !d; k++)
            if (l->io[k].major == (unsigned)maj && l->io[k].minor == (unsigned)mnr)
                d = &l->io[k];
        if (!d) {
            l->io = realloc(l->io, (l->n_io + 1) * sizeof(*l->io));
            if (!l->io)
                abort();
            d = &l->io[l->n_io++];
            *d = (struct sbx_io_limit){(unsigned)maj, (unsigned)mnr, -1, -1, -1, -1};
        }
        int64_t *f[] = {&d->read_bps, &d->write_bps, &d->read_iops, &d->write_iops};
        *f[which] = rate;
    }
    return 0;
}

/* blockIO: weight and the four throttle lists; per-device weights are not supported. */
static int parse_blkio(const struct ctx *x, const json_t *b, struct sbx_cgroup_limits *l)
{
    static const char *const keys[] = {"weight", "leafWeight", "weightDevice", "throttleReadBpsDevice",
                                       "throttleWriteBpsDevice", "throttleReadIOPSDevice",
                                       "throttleWriteIOPSDevice", NULL};
    const char *P = "linux.resources.blockIO";
    int64_t w = 0, lw = 0;
    bool hw, hlw;
    if (oci_check_keys(x, b, P, keys) < 0 || oci_get_int(x, b, P, "weight", 10, 1000, &w, &hw) < 0 ||
        oci_get_int(x, b, P, "leafWeight", 10, 1000, &lw, &hlw) < 0)
        return -1;
    if (hlw)
        return oci_refuse(x, "linux.resources.blockIO.leafWeight", "not supported (cgroup v1 CFQ only; weight is)");
    const json_t *wd = json_object_get(b, "weightDevice");
    if (wd && !(json_is_array(wd) && json_array_size(wd) == 0))
        return oci_refuse(x, "linux.resources.blockIO.weightDevice", "per-device weights are not supported (weight is)");
    l->io_weight = hw ? (unsigned)w : 0;
    for (int k = 0; k < 4; k++) {
        const json_t *a;
        char p[96];
        if (oci_get_arr(x, b, P, keys[3 + k], &a) < 0)
            return -1;
        oci_sub(p, sizeof(p), P, keys[3 + k]);
        if (a && parse_throttle(x, a, p, k, l) < 0)
            return -1;
    }
    return 0;
}

int oci_parse_resources(const struct ctx *x, const json_t *r, struct sbx_spec *s)
{
    static const char *const keys[] = {"memory", "cpu", "pids", "devices", "blockIO", "hugepageLimits",
                                       "network", "rdma", "unified", NULL};
    const char *P = "linux.resources";
    struct sbx_cgroup_limits *l = &s->limits;
    const json_t *mem, *cpu, *pids;
    if (oci_check_keys(x, r, P, keys) < 0 || oci_get_obj(x, r, P, "memory", &mem) < 0 ||
        oci_get_obj(x, r, P, "cpu", &cpu) < 0 || oci_get_obj(x, r, P, "pids", &pids) < 0)
        return -1;
    static const char *const refused[] = {"hugepageLimits", "network", "rdma", "unified"};
    for (size_t i = 0; i < ARRAY_LEN(refused); i++) {
        const json_t *v = json_object_get(r, refused[i]);
        if (v && json_is_object(v) ? json_object_size(v) > 0 : v && json_array_size(v) > 0) {
            char p[64];
            oci_sub(p, sizeof(p), P, refused[i]);
            return oci_refuse(x, p, "not supported (memory, cpu, pids and blockIO are)");
        }
    }
    const json_t *bio;
    if (oci_get_obj(x, r, P, "blockIO", &bio) < 0 || (bio && parse_blkio(x, bio, l) < 0))
        return -1;
    if ((mem && parse_memory(x, mem, l) < 0) || (cpu && parse_cpu(x, cpu, l) < 0))
        return -1;
    if (pids) {
        static const char *const pk[] = {"limit", NULL};
        int64_t lim = -1;
        bool h;
        if (oci_check_keys(x, pids, "linux.resources.pids", pk) < 0 ||
            oci_get_int(x, pids, "linux.resources.pids", "limit", -1, INT64_MAX, &lim, &h) < 0)
            return -1;
        l->pids_max = lim > 0 ? lim : -1;
    }
    /* devices: the device cgroup's rules. gbox's /dev holds only the six harmless devices and the
     * program cannot mknod (no CAP_MKNOD unless granted; nodev everywhere): accepted. */
    return 0;
}

int oci_resources_parse(const json_t *r, const char *file, struct sbx_cgroup_limits *l, struct sbx_err **err)
{
    struct oci_config tmp = {.umask = -1};
    struct ctx x = {file, NULL, &tmp, err};
    struct sbx_spec s;
    memset(&s, 0, sizeof(s));
    s.limits = (struct sbx_cgroup_limits){-1, -1, -1, -1, -1, -1, -1, NULL, NULL, NULL, 0, false, false, 0, 0};
    int rc = json_is_object(r) ? oci_parse_resources(&x, r, &s) : oci_bad(&x, "(top level)", "an object", r);
    *l = s.limits;
    if (rc < 0) {
        free(l->cpuset_cpus);
        free(l->cpuset_mems);
        free(l->io);
        l->cpuset_cpus = l->cpuset_mems = NULL;
        l->io = NULL;
        l->n_io = 0;
    }
    return rc;
}

/* blockIO in an update: only weight (10..1000), where the host's block controller has one. */
static int parse_update_blkio(const struct ctx *x, const json_t *b, struct sbx_cgroup_set *set)
{
    static const char *const keys[] = {"weight", "leafWeight", "weightDevice", "throttleReadBpsDevice",
                                       "throttleWriteBpsDevice", "throttleReadIOPSDevice",
                                       "throttleWriteIOPSDevice", NULL};
    const char *P = "linux.resources.blockIO";
    if (!json_is_object(b))
        return oci_bad(x, P, "an object", b);
    int64_t w = 0;
    if (oci_check_keys(x, b, P, keys) < 0 || oci_get_int(x, b, P, "weight", 10, 1000, &w, &set->weight) < 0)
        return -1;
    for (size_t i = 1; keys[i]; i++) {
        const json_t *v = json_object_get(b, keys[i]);
        if (v && !(json_is_array(v) && json_array_size(v) == 0) && !json_is_null(v)) {
            char p[96];
            oci_sub(p, sizeof(p), P, keys[i]);
            return oci_refuse(x, p, "not supported by update (weight is)");
        }
    }
    set->io_weight = w;
    return 0;
}

int oci_update_parse(const json_t *r, const char *file, struct sbx_cgroup_set *set, struct sbx_err **err)
{
    memset(set, 0, sizeof(*set));
    if (!json_is_object(r))
        return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "%s: (top level): expected a linux.resources object", file);
    /* the same checks as in config.json (keys, ranges, refusals), blockIO aside */
    json_t *rest = json_copy((json_t *)r);
    json_object_del(rest, "blockIO");
    struct sbx_cgroup_limits l;
    int rc = oci_resources_parse(rest, file, &l, err);
    json_decref(rest);
    free(l.io); /* blockIO was taken out: none */
    if (rc < 0)
        return -1;
    struct oci_config tmp = {.umask = -1};
    struct ctx x = {file, NULL, &tmp, err};
    const json_t *b = json_object_get(r, "blockIO");
    if (b && parse_update_blkio(&x, b, set) < 0) {
        free(l.cpuset_cpus);
        free(l.cpuset_mems);
        return -1;
    }
    const json_t *m = json_object_get(r, "memory"), *c = json_object_get(r, "cpu"), *p = json_object_get(r, "pids");
    set->memory = m && json_object_get(m, "limit");
    set->memory_max = l.memory_max;
    set->swap = m && json_object_get(m, "swap");
    set->swap_max = set->swap ? json_integer_value(json_object_get(m, "swap")) : -1;
    set->swappiness = l.has_swappiness;
    set->memory_swappiness = l.swappiness;
    set->pids = p && json_object_get(p, "limit");
    set->pids_max = l.pids_max;
    set->shares = c && json_object_get(c, "shares");
    set->cpu_shares = set->shares ? json_integer_value(json_object_get(c, "shares")) : -1;
    set->quota = c && json_object_get(c, "quota");
    set->cpu_quota_us = l.cpu_quota_us;
    set->period = c && json_object_get(c, "period");
    set->cpu_period_us = set->period ? json_integer_value(json_object_get(c, "period")) : -1;
    set->cpuset_cpus = l.cpuset_cpus;
    set->cpuset_mems = l.cpuset_mems;
    return 0;
}
