/* oci_policy.c — a domain policy over an OCI config (annotation org.graphoid.policy), and a
 * policy written out as an OCI config (`gbox-runc spec --policy NAME`). docs/oci.md lists what
 * each policy field does to a container. */
#include "oci_policy.h"

#include "names.h"
#include "policy.h"
#include "../sandbox/util.h"

#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

/* -1 is "unlimited": the smaller of two set values, else whichever is set. */
static int64_t stricter(int64_t a, int64_t b)
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    return a < b ? a : b;
}

static void policy_limits(const struct gbox_policy *p, struct sbx_cgroup_limits *l)
{
    l->memory_max = stricter(l->memory_max, pol_size(p, "resources.memory.max"));
    l->memory_high = stricter(l->memory_high, pol_size(p, "resources.memory.high"));
    l->swap_max = stricter(l->swap_max, pol_size(p, "resources.memory.swap"));
    const json_t *pids = pol_get(p, "resources.pids.max");
    l->pids_max = stricter(l->pids_max, json_is_integer(pids) ? json_integer_value(pids) : -1);
    const json_t *cpu = pol_get(p, "resources.cpu.max");
    if (json_is_number(cpu)) {
        /* compare as CPUs: quota/period */
        int64_t q = (int64_t)(json_number_value(cpu) * 100000.0 + 0.5);
        if (l->cpu_quota_us < 0 || (double)q / 100000.0 < (double)l->cpu_quota_us / (double)l->cpu_period_us) {
            l->cpu_quota_us = q;
            l->cpu_period_us = 100000;
        }
    }
}

/* The policy's rlimits as gbox run sets them, the lower of each pair winning. */
static void policy_rlimits(const struct gbox_policy *p, struct sbx_spec *s)
{
    int64_t nofile = json_integer_value(pol_get(p, "resources.open_files"));
    int64_t fsize = pol_size(p, "resources.file_size");
    struct sbx_rlimit want[] = {
        {RLIMIT_NOFILE, (uint64_t)nofile, (uint64_t)nofile},
        {RLIMIT_CORE, 1, 1},
        {RLIMIT_FSIZE, fsize >= 0 ? (uint64_t)fsize : RLIM_INFINITY, fsize >= 0 ? (uint64_t)fsize : RLIM_INFINITY},
        {RLIMIT_RTPRIO, 0, 0},
        {RLIMIT_NICE, 0, 0},
    };
    for (size_t i = 0; i < ARRAY_LEN(want); i++) {
        size_t k = 0;
        while (k < s->n_rlimits && s->rlimits[k].resource != want[i].resource)
            k++;
        if (k == s->n_rlimits) {
            s->rlimits = realloc(s->rlimits, (s->n_rlimits + 1) * sizeof(*s->rlimits));
            if (!s->rlimits)
                abort();
            s->rlimits[s->n_rlimits++] = want[i];
            continue;
        }
        struct sbx_rlimit *r = &s->rlimits[k];
        r->soft = r->soft < want[i].soft ? r->soft : want[i].soft;
        r->hard = r->hard < want[i].hard ? r->hard : want[i].hard;
        if (r->soft > r->hard)
            r->soft = r->hard;
    }
}

static bool policy_joined(const struct sbx_spec *s, int type)
{
    for (size_t i = 0; i < s->n_ns_join; i++)
        if (s->ns_join[i].type == type)
            return true;
    return false;
}

int oci_policy_apply(struct oci_config *c, struct sbx_err **err)
{
    if (!c->policy)
        return 0;
    struct gbox_policy *p = NULL;
    if (policy_load(c->policy, &p, err) < 0)
        return sbx_err_wrap(err, "annotation " OCI_POLICY_ANNOTATION "=%s", c->policy);
    struct sbx_spec *s = &c->spec;
    policy_limits(p, &s->limits);
    policy_rlimits(p, s);
    uint64_t caps = 0;
    const json_t *e;
    size_t i;
    json_array_foreach(pol_get(p, "capabilities"), i, e)
        caps |= 1ULL << cap_from_name(json_string_value(e));
    s->caps &= caps;
    if (json_is_true(pol_get(p, "filesystem.readonly_root")))
        s->readonly_root = true;
    const char *net = pol_str(p, "network.mode");
    for (size_t k = 0; k < s->n_ns_join; k++)
        if (s->ns_join[k].type == CLONE_NEWNET && strcmp(net, "host") != 0 && strcmp(net, "veth") != 0) {
            sbx_err_set(err, GBOX_EXIT_USAGE, 0, "annotation " OCI_POLICY_ANNOTATION "=%s: network.mode %s forbids "
                        "joining the network namespace %s", c->policy, net, s->ns_join[k].path);
            policy_free(p);
            return -1;
        }
    if (strcmp(net, "host") != 0 && !(s->ns_flags & CLONE_NEWNET)) {
        s->ns_flags |= CLONE_NEWNET;
        s->net = strcmp(net, "none") == 0 ? SBX_NET_NONE : SBX_NET_LOOPBACK;
    }
    if (strcmp(net, "none") == 0)
        s->net = SBX_NET_NONE;
    static const struct {
        const char *field;
        int flag;
    } ns[] = {{"namespaces.pid", CLONE_NEWPID}, {"namespaces.ipc", CLONE_NEWIPC},
              {"namespaces.uts", CLONE_NEWUTS}, {"namespaces.cgroup", CLONE_NEWCGROUP}};
    for (size_t k = 0; k < ARRAY_LEN(ns); k++)
        if (json_is_true(pol_get(p, ns[k].field)) && !policy_joined(s, ns[k].flag))
            s->ns_flags |= ns[k].flag; /* a joined one is not the host's either */
    /* the policy's filters join the config's: every filter is loaded, the strictest answer wins */
    struct sbx_seccomp add;
    policy_take_seccomp(p, &add);
    if (s->seccomp.n_filters + add.n_filters > SBX_MAX_FILTERS) {
        for (size_t k = 0; k < SBX_MAX_FILTERS; k++)
            free(add.filters[k].rules);
        policy_free(p);
        return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "annotation " OCI_POLICY_ANNOTATION "=%s: too many seccomp filters",
                           c->policy);
    }
    for (size_t k = 0; k < add.n_filters; k++)
        s->seccomp.filters[s->seccomp.n_filters++] = add.filters[k];
    json_object_set_new(c->annotations, "org.graphoid.policy.file", json_string(p->file));
    policy_free(p);
    return 0;
}

/* ---- spec ----------------------------------------------------------------------------------- */

static const char *oci_action(struct sbx_action a)
{
    switch (a.kind) {
    case SBX_ACT_ALLOW: return "SCMP_ACT_ALLOW";
    case SBX_ACT_ERRNO: return "SCMP_ACT_ERRNO";
    case SBX_ACT_KILL:
    case SBX_ACT_KILL_PROCESS: return "SCMP_ACT_KILL_PROCESS";
    case SBX_ACT_LOG: return "SCMP_ACT_LOG";
    case SBX_ACT_TRAP: return "SCMP_ACT_TRAP";
    }
    return "SCMP_ACT_KILL_PROCESS";
}

static json_t *oci_rule(const struct sbx_syscall_rule *r)
{
    static const char *const ops[] = {"SCMP_CMP_EQ", "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",
                                      "SCMP_CMP_GT", "SCMP_CMP_GE", "SCMP_CMP_MASKED_EQ"};
    char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, r->nr);
    json_t *o = json_pack("{s:[s],s:s}", "names", name ? name : "?", "action", oci_action(r->action));
    free(name);
    if (r->action.kind == SBX_ACT_ERRNO)
        json_object_set_new(o, "errnoRet", json_integer(r->action.errnum));
    if (r->n_args) {
        json_t *args = json_array();
        for (unsigned i = 0; i < r->n_args; i++) {
            const struct sbx_arg_cond *c = &r->args[i];
            bool m = c->op == SBX_CMP_MASKED_EQ;
            json_array_append_new(args, json_pack("{s:i,s:I,s:I,s:s}", "index", (int)c->index, "value",
                                                  (json_int_t)(m ? c->mask : c->value), "valueTwo",
                                                  (json_int_t)(m ? c->value : 0), "op", ops[c->op]));
        }
        json_object_set_new(o, "args", args);
    }
    return o;
}

/* One OCI profile from the policy's filters. The second filter holds conditions that refine an
 * unconditional rule of the first (gbox needs two filters for "if condition then A else B" on
 * one syscall; so would any runtime using libseccomp): such refinements cannot be written into a
 * single profile and are left out with a warning naming the syscalls. The config.json keeps the
 * policy annotation, so gbox itself still enforces them exactly. */
static json_t *policy_profile(const struct gbox_policy *pol, const struct sbx_seccomp *sc)
{
    const struct sbx_filter *f = &sc->filters[0];
    json_t *calls = json_array();
    for (size_t i = 0; i < f->n_rules; i++)
        json_array_append_new(calls, oci_rule(&f->rules[i]));
    char dropped[512] = "";
    for (size_t k = 1; k < sc->n_filters; k++) {
        for (size_t i = 0; i < sc->filters[k].n_rules; i++) {
            const struct sbx_syscall_rule *r = &sc->filters[k].rules[i];
            bool refines = false;
            for (size_t j = 0; j < f->n_rules && !refines; j++)
                refines = f->rules[j].nr == r->nr;
            if (!refines) {
                json_array_append_new(calls, oci_rule(r));
                continue;
            }
            char name[64];
            sbx_syscall_name(r->nr, name, sizeof(name));
            if (!strstr(dropped, name) && strlen(dropped) + strlen(name) + 3 < sizeof(dropped))
                snprintf(dropped + strlen(dropped), sizeof(dropped) - strlen(dropped), "%s%s", dropped[0] ? ", " : "", name);
        }
    }
    if (dropped[0])
        fprintf(stderr, "gbox: spec: warning: %s: the argument conditions on %s refine another rule and "
                        "cannot be written into one OCI profile: seccomp.json leaves them out (gbox applies them "
                        "through the org.graphoid.policy annotation)\n", pol->file, dropped);
    json_t *prof = json_pack("{s:s,s:[s],s:o}", "defaultAction", oci_action(f->default_action),
                             "architectures", "SCMP_ARCH_X86_64", "syscalls", calls);
    if (f->default_action.kind == SBX_ACT_ERRNO)
        json_object_set_new(prof, "defaultErrnoRet", json_integer(f->default_action.errnum));
    return prof;
}

static json_t *default_mounts(void)
{
    return json_pack(
        "[{s:s,s:s,s:s},{s:s,s:s,s:s,s:[ssss]},{s:s,s:s,s:s,s:[sssss]},{s:s,s:s,s:s,s:[sssss]},"
        "{s:s,s:s,s:s,s:[sss]},{s:s,s:s,s:s,s:[ssss]}]",
        "destination", "/proc", "type", "proc", "source", "proc",
        "destination", "/dev", "type", "tmpfs", "source", "tmpfs", "options", "nosuid", "strictatime", "mode=755", "size=65536k",
        "destination", "/dev/pts", "type", "devpts", "source", "devpts", "options", "nosuid", "noexec", "newinstance",
        "ptmxmode=0666", "mode=0620",
        "destination", "/dev/shm", "type", "tmpfs", "source", "shm", "options", "nosuid", "noexec", "nodev", "mode=1777",
        "size=65536k",
        "destination", "/dev/mqueue", "type", "mqueue", "source", "mqueue", "options", "nosuid", "noexec", "nodev",
        "destination", "/sys", "type", "sysfs", "source", "sysfs", "options", "nosuid", "noexec", "nodev", "ro");
}

static json_t *default_config(void)
{
    static const char *const caps[] = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
    json_t *c = json_array();
    for (size_t i = 0; i < ARRAY_LEN(caps); i++)
        json_array_append_new(c, json_string(caps[i]));
    json_t *cfg = json_pack(
        "{s:s,s:{s:b,s:{s:i,s:i},s:[s],s:[ss],s:s,s:{s:O,s:O,s:O},s:[{s:s,s:i,s:i}],s:b},"
        "s:{s:s,s:b},s:s,s:o,s:{s:[{s:s},{s:s},{s:s},{s:s},{s:s}],s:[ssssssssss],s:[ssssss]}}",
        "ociVersion", "1.0.2", "process", "terminal", 1, "user", "uid", 0, "gid", 0, "args", "sh", "env",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", "cwd", "/",
        "capabilities", "bounding", c, "effective", c, "permitted", c, "rlimits", "type", "RLIMIT_NOFILE",
        "hard", 1024, "soft", 1024, "noNewPrivileges", 1, "root", "path", "rootfs", "readonly", 1,
        "hostname", "gbox", "mounts", default_mounts(), "linux", "namespaces", "type", "pid", "type",
        "network", "type", "ipc", "type", "uts", "type", "mount", "maskedPaths", "/proc/acpi", "/proc/asound",
        "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
        "/proc/sched_debug", "/sys/firmware", "/proc/scsi", "readonlyPaths", "/proc/bus", "/proc/fs", "/proc/irq",
        "/proc/sys", "/proc/sysrq-trigger", "/sys/fs/cgroup");
    json_decref(c);
    return cfg;
}

/* The policy's settings over the default config. */
static int policy_config(const char *name, json_t *cfg, json_t **profile, struct sbx_err **err)
{
    struct gbox_policy *p = NULL;
    if (policy_load(name, &p, err) < 0)
        return -1;
    json_t *proc = json_object_get(cfg, "process"), *lx = json_object_get(cfg, "linux");
    json_t *caps = json_array();
    const json_t *e;
    size_t i;
    json_array_foreach(pol_get(p, "capabilities"), i, e)
        json_array_append(caps, (json_t *)e);
    json_object_set_new(proc, "capabilities", json_pack("{s:O,s:O,s:O}", "bounding", caps, "effective", caps,
                                                        "permitted", caps));
    json_decref(caps);
    json_object_set_new(proc, "user", json_pack("{s:I,s:I}", "uid", (json_int_t)json_integer_value(pol_get(p, "user.uid")),
                                                "gid", (json_int_t)json_integer_value(pol_get(p, "user.gid"))));
    json_t *env = json_array();
    const char *k;
    json_object_foreach((json_t *)pol_get(p, "interpreter.env"), k, e)
    {
        char kv[4096];
        snprintf(kv, sizeof(kv), "%s=%s", k, json_string_value(e));
        json_array_append_new(env, json_string(kv));
    }
    json_object_set_new(proc, "env", env);
    json_object_set_new(proc, "cwd", json_string(pol_str(p, "interpreter.workdir")));
    int64_t nofile = json_integer_value(pol_get(p, "resources.open_files"));
    json_object_set_new(proc, "rlimits", json_pack("[{s:s,s:I,s:I}]", "type", "RLIMIT_NOFILE", "hard",
                                                   (json_int_t)nofile, "soft", (json_int_t)nofile));
    json_object_set_new(json_object_get(cfg, "root"), "readonly",
                        json_boolean(json_is_true(pol_get(p, "filesystem.readonly_root"))));
    const char *host = pol_str(p, "hostname");
    if (host)
        json_object_set_new(cfg, "hostname", json_string(host));
    json_t *res = json_object();
    int64_t mem = pol_size(p, "resources.memory.max");
    if (mem > 0)
        json_object_set_new(res, "memory", json_pack("{s:I}", "limit", (json_int_t)mem));
    const json_t *pids = pol_get(p, "resources.pids.max");
    if (json_is_integer(pids))
        json_object_set_new(res, "pids", json_pack("{s:I}", "limit", (json_int_t)json_integer_value(pids)));
    const json_t *cpu = pol_get(p, "resources.cpu.max");
    if (json_is_number(cpu))
        json_object_set_new(res, "cpu", json_pack("{s:I,s:I}", "quota",
                                                  (json_int_t)(json_number_value(cpu) * 100000.0 + 0.5), "period",
                                                  (json_int_t)100000));
    json_object_set_new(lx, "resources", res);
    json_t *masked = json_array();
    json_array_foreach(pol_get(p, "filesystem.masked_paths"), i, e)
        json_array_append(masked, (json_t *)e);
    json_object_set_new(lx, "maskedPaths", masked);
    json_object_set_new(cfg, "annotations", json_pack("{s:s}", OCI_POLICY_ANNOTATION, p->name));
    struct sbx_seccomp sc;
    policy_take_seccomp(p, &sc);
    *profile = policy_profile(p, &sc);
    for (size_t f = 0; f < SBX_MAX_FILTERS; f++)
        free(sc.filters[f].rules);
    json_object_set(lx, "seccomp", *profile);
    policy_free(p);
    return 0;
}

int oci_cmd_spec(int argc, char **argv)
{
    static const struct option opts[] = {{"bundle", required_argument, NULL, 'b'}, {"policy", required_argument, NULL, 'p'},
                                         {"rootless", no_argument, NULL, 'r'}, {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *bundle = ".", *policy = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+b:p:h", opts, NULL)) != -1) {
        switch (c) {
        case 'b': bundle = optarg; break;
        case 'p': policy = optarg; break;
        case 'h':
            fputs("usage: gbox-runc spec [--bundle DIR] [--policy NAME|FILE]\n"
                  "  write DIR/config.json; with --policy, the policy's settings and DIR/seccomp.json\n", stdout);
            return 0;
        case 'r':
            fprintf(stderr, "gbox: spec: --rootless: gbox runs containers as root only\n");
            return GBOX_EXIT_USAGE;
        default: fprintf(stderr, "gbox: spec: bad option\n"); return GBOX_EXIT_USAGE;
        }
    }
    char file[PATH_MAX], prof_file[PATH_MAX];
    snprintf(file, sizeof(file), "%s/config.json", bundle);
    snprintf(prof_file, sizeof(prof_file), "%s/seccomp.json", bundle);
    if (access(file, F_OK) == 0) {
        fprintf(stderr, "gbox: spec: %s exists already: remove it first\n", file);
        return 1;
    }
    json_t *cfg = default_config(), *profile = NULL;
    struct sbx_err *err = NULL;
    if (policy && policy_config(policy, cfg, &profile, &err) < 0) {
        json_decref(cfg);
        fprintf(stderr, "gbox: spec: %s\n", err->msg);
        int code = err->code ? err->code : 1;
        sbx_err_free(&err);
        return code;
    }
    int rc = 0;
    if (json_dump_file(cfg, file, JSON_INDENT(2)) < 0 ||
        (profile && json_dump_file(profile, prof_file, JSON_INDENT(2)) < 0)) {
        fprintf(stderr, "gbox: spec: write %s: %s\n", file, strerror(errno));
        rc = 1;
    }
    json_decref(cfg);
    json_decref(profile);
    return rc;
}
