/* report.c — what a sandbox used and why it ended, as JSON (docs/gbox.1.md "REPORT"). */
#include "report.h"

#include "names.h"
#include "netaddr.h"
#include "seccomp_plan.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const end_names[] = {"exited", "signaled", "timeout", "seccomp", "oom", "setup"};

static void add_syscall(json_t *rep, const struct gbox_policy *p, const struct sbx_result *r,
                        char *reason, size_t len)
{
    if (r->syscall_nr < 0) {
        json_object_set_new(rep, "syscall", json_pack("{s:s}", "name", "non-native-abi"));
        snprintf(reason, len, "killed for a syscall from a non-native ABI (i386 or x32): only the "
                              "native x86_64 ABI is allowed");
        return;
    }
    char name[64], rule[128];
    sbx_syscall_name(r->syscall_nr, name, sizeof(name));
    seccomp_explain(pol_get(p, "seccomp"), name, rule, sizeof(rule));
    json_t *args = json_array();
    for (int i = 0; i < 6; i++)
        json_array_append_new(args, json_integer((json_int_t)r->syscall_args[i]));
    json_object_set_new(rep, "syscall",
                        json_pack("{s:s,s:i,s:o,s:s,s:s}", "name", name, "nr", r->syscall_nr, "args",
                                  args, "arch", r->syscall_arch == AUDIT_ARCH_X86_64 ? "x86_64" : "other",
                                  "rule", rule));
    snprintf(reason, len, "killed for forbidden syscall %s (policy %s, %s)", name, p->name, rule);
}

static void put(json_t *o, const char *key, int64_t v, int64_t div)
{
    if (v >= 0)
        json_object_set_new(o, key, div == 1 ? json_integer(v) : json_real((double)v / (double)div));
}

/* What the cgroups counted; a counter this host cannot give is left out. */
static json_t *resources(const struct sbx_cgroup_stats *c)
{
    static const char *const layouts[] = {"none", "v2", "hybrid", "v1"};
    json_t *o = json_pack("{s:s}", "cgroup", layouts[c->layout]);
    put(o, "memory_peak_bytes", c->memory_peak, 1);
    put(o, "oom_events", c->oom_events, 1);
    put(o, "oom_kills", c->oom_kills, 1);
    put(o, "cpu_usage_ms", c->cpu_usage_us, 1000);
    put(o, "cpu_user_ms", c->cpu_user_us, 1000);
    put(o, "cpu_system_ms", c->cpu_system_us, 1000);
    put(o, "cpu_periods", c->cpu_periods, 1);
    put(o, "cpu_throttled_periods", c->cpu_throttled_periods, 1);
    put(o, "cpu_throttled_ms", c->cpu_throttled_us, 1000);
    put(o, "pids_peak", c->pids_peak, 1);
    put(o, "io_read_bytes", c->io_read_bytes, 1);
    put(o, "io_write_bytes", c->io_write_bytes, 1);
    put(o, "io_read_ops", c->io_read_ops, 1);
    put(o, "io_write_ops", c->io_write_ops, 1);
    static const char *const psi[SBX_PSI_N] = {"cpu", "memory", "io"};
    json_t *pr = json_object();
    for (int i = 0; i < SBX_PSI_N; i++) {
        json_t *one = json_object();
        put(one, "some_ms", c->psi_some_us[i], 1000);
        put(one, "full_ms", c->psi_full_us[i], 1000);
        if (json_object_size(one))
            json_object_set_new(pr, psi[i], one);
        else
            json_decref(one);
    }
    if (json_object_size(pr))
        json_object_set_new(o, "pressure_stall", pr);
    else
        json_decref(pr);
    return o;
}

static json_t *or_null(int64_t v) { return v >= 0 ? json_integer(v) : json_null(); }

/* The limits the run had, with their numbers (null: none): what `gbox explain` compares the
 * usage with. */
static json_t *limits_json(const struct gbox_policy *p, const struct sbx_spec *s)
{
    return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "memory_max_bytes", or_null(s->limits.memory_max),
                     "pids_max", or_null(s->limits.pids_max), "timeout_ms", or_null(s->timeout_ms > 0 ? s->timeout_ms : -1),
                     "cpu_time_ms", or_null(pol_duration(p, "resources.cpu_time")),
                     "open_files", or_null(json_integer_value(pol_get(p, "resources.open_files"))),
                     "file_size_bytes", or_null(pol_size(p, "resources.file_size")));
}

static const char *const net_modes[] = {"none", "loopback", "veth", "host"};

/* network: the mode, and for veth the two ends' names and addresses and the egress rule count. */
static json_t *network_json(const struct sbx_spec *s)
{
    json_t *n = json_pack("{s:s}", "mode", net_modes[s->net]);
    if (s->net != SBX_NET_VETH)
        return n;
    const struct sbx_veth *v = &s->veth;
    char a[16], h[16], cidr[24];
    snprintf(cidr, sizeof(cidr), "%s/%u", ipv4_str(v->addr, a, sizeof(a)), v->prefix);
    json_object_set_new(n, "interface", json_string(v->ifname));
    json_object_set_new(n, "address", json_string(cidr));
    json_object_set_new(n, "host_interface", json_string(v->host_ifname));
    json_object_set_new(n, "host_address", json_string(ipv4_str(v->host_addr, h, sizeof(h))));
    json_object_set_new(n, "default_route", json_boolean(v->default_route));
    json_object_set_new(n, "egress_rules", v->egress_filter ? json_integer((json_int_t)v->n_egress) : json_null());
    return n;
}

json_t *report_build(const struct gbox_policy *p, const struct sbx_spec *s,
                     const struct sbx_result *r, const struct sbx_err *setup_err)
{
    json_t *rep = json_object();
    char reason[512] = "";
    json_object_set_new(rep, "policy", json_string(p->name));
    json_t *argv = json_array();
    for (char **a = s->argv; a && *a; a++)
        json_array_append_new(argv, json_string(*a));
    json_object_set_new(rep, "argv", argv);
    json_object_set_new(rep, "end", json_string(end_names[r->end]));
    json_object_set_new(rep, "exit_code", json_integer(r->exit_code));
    switch (r->end) {
    case SBX_END_EXITED:
        json_object_set_new(rep, "status", json_integer(r->status));
        snprintf(reason, sizeof(reason), "exited with status %d", r->status);
        break;
    case SBX_END_SIGNALED:
        json_object_set_new(rep, "signal", json_sprintf("SIG%s", sigabbrev_np(r->status) ? sigabbrev_np(r->status) : "?"));
        snprintf(reason, sizeof(reason), "killed by signal SIG%s", sigabbrev_np(r->status) ? sigabbrev_np(r->status) : "?");
        break;
    case SBX_END_TIMEOUT:
        snprintf(reason, sizeof(reason), "wall-clock timeout of %lld ms (resources.timeout) reached: sandbox killed",
                 (long long)s->timeout_ms);
        json_object_set_new(rep, "timeout_ms", json_integer(s->timeout_ms));
        break;
    case SBX_END_SECCOMP:
        add_syscall(rep, p, r, reason, sizeof(reason));
        break;
    case SBX_END_OOM:
        snprintf(reason, sizeof(reason), "out of memory: the kernel killed it at the memory limit of %lld bytes (resources.memory.max)",
                 (long long)s->limits.memory_max);
        break;
    case SBX_END_SETUP:
        snprintf(reason, sizeof(reason), "%s", setup_err ? setup_err->msg : "sandbox setup failed");
        json_object_set_new(rep, "setup_stage", json_string(r->setup_stage));
        break;
    }
    json_object_set_new(rep, "reason", json_string(reason));
    json_object_set_new(rep, "limits", limits_json(p, s));
    json_object_set_new(rep, "network", network_json(s));
    json_object_set_new(rep, "wall_ms", json_real(r->wall_ms));
    json_object_set_new(rep, "cpu", json_pack("{s:f,s:f}", "user_ms", r->user_cpu_ms, "sys_ms", r->sys_cpu_ms));
    if (r->cg.layout != SBX_CG_NONE)
        json_object_set_new(rep, "resources", resources(&r->cg));
    json_t *st = json_object();
    for (size_t i = 0; i < r->n_stages; i++)
        json_object_set_new(st, r->stages[i].name, json_real(r->stages[i].ms));
    json_object_set_new(rep, "stages_ms", st);
    return rep;
}

const char *report_summary(const json_t *rep, char *buf, size_t len)
{
    const char *end = json_string_value(json_object_get(rep, "end"));
    if (!end || strcmp(end, "exited") == 0)
        return NULL;
    snprintf(buf, len, "%s", json_string_value(json_object_get(rep, "reason")));
    return buf;
}

int report_write(const json_t *rep, const char *file, struct sbx_err **err)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp.%d", file, (int)getpid());
    if (json_dump_file(rep, tmp, JSON_INDENT(2) | JSON_SORT_KEYS) < 0)
        return sbx_err_set(err, 1, errno, "write report %s", tmp);
    if (rename(tmp, file) < 0) {
        int e = errno;
        unlink(tmp);
        return sbx_err_set(err, 1, e, "write report %s", file);
    }
    return 0;
}
