/* learn.c — `gbox policy learn [--policy BASE] -- PROGRAM [ARGS]`: run PROGRAM once in a sandbox
 * built from BASE, but with a seccomp filter whose every syscall is a user notification that
 * gbox records and lets CONTINUE; then print the smallest policy that extends BASE and lets the
 * program do what it did: the syscalls BASE does not allow (taken out of its deny and kill lists
 * when it names them there, groups split), the network it used, and, when BASE turns Landlock on,
 * the paths it wrote. The paths, addresses and calls it saw are summarized on stderr.
 *
 * Learning runs the program with every syscall allowed (the other fences of BASE — namespaces,
 * mounts, no capabilities, limits — still hold) and with loopback networking when BASE has none,
 * so that connection attempts can be seen: learn from programs you would run anyway. */
#include "cli.h"
#include "paths.h"
#include "plan.h"
#include "report.h"
#include "syscall_groups.h"
#include "../sandbox/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_NR 1024

struct learned {
    bool nr[MAX_NR];
    json_t *read, *write, *exec; /* objects used as sets: path -> true */
    json_t *connect, *bind;      /* "addr:port" -> true */
    json_t *families;            /* socket families by name */
    bool inet_remote;            /* an IPv4/IPv6 address outside loopback */
};

static const char learn_usage[] =
    "usage: gbox policy learn [--policy BASE] [--name NAME] [--report FILE] [--in-image] [--] PROGRAM [ARGS...]\n"
    "\n"
    "Runs PROGRAM once under BASE (default: the default policy) with every syscall allowed and\n"
    "recorded, and prints a policy extending BASE that lets it do what it did: the syscalls\n"
    "BASE does not allow, the network it used, and the paths it wrote when BASE uses Landlock.\n"
    "The program's stdout and stderr go to stderr; stdout is the policy alone. What it saw\n"
    "(syscalls, paths, addresses) goes to stderr too; --report FILE also writes it as JSON.\n"
    "  -p, --policy BASE   the policy to extend (name or file)\n"
    "      --name NAME     the new policy's name (default: learned)\n"
    "  -i, --in-image      PROGRAM is a command inside the image (as gbox run --in-image)\n"
    "Save the output as NAME.json, then: gbox policy validate NAME.json; gbox run --policy NAME.json ...\n"
    "Learning lifts the seccomp fence (the others hold) and gives loopback networking when BASE\n"
    "has none: learn from programs you would run anyway. Exit status: 0 printed (whatever the\n"
    "program's own exit), 2 usage or invalid BASE, 125 the sandbox could not be set up.\n";

/* A NUL-terminated string from the sandboxed process's memory. */
static bool read_str(pid_t pid, uint64_t addr, char *buf, size_t len)
{
    if (!addr)
        return false;
    char p[64];
    snprintf(p, sizeof(p), "/proc/%d/mem", (int)pid);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = pread(fd, buf, len - 1, (off_t)addr);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    return memchr(buf, '\0', (size_t)n) != NULL || (size_t)n < len - 1;
}

static bool read_mem(pid_t pid, uint64_t addr, void *buf, size_t len)
{
    char p[64];
    snprintf(p, sizeof(p), "/proc/%d/mem", (int)pid);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = pread(fd, buf, len, (off_t)addr);
    close(fd);
    return n == (ssize_t)len;
}

static void add_path(json_t *set, const char *path)
{
    if (path[0] && json_object_size(set) < 500)
        json_object_set_new(set, path, json_true());
}

/* syscalls that name a path: which argument, and which one holds open flags (-1: none) */
static const struct {
    const char *name;
    int path_arg, flags_arg;
    char kind; /* r read, w write, x exec, o open (by flags) */
} path_calls[] = {
    {"open", 0, 1, 'o'},       {"openat", 1, 2, 'o'},     {"openat2", 1, -1, 'r'},
    {"creat", 0, -1, 'w'},     {"execve", 0, -1, 'x'},    {"execveat", 1, -1, 'x'},
    {"stat", 0, -1, 'r'},      {"lstat", 0, -1, 'r'},     {"newfstatat", 1, -1, 'r'},
    {"statx", 1, -1, 'r'},     {"access", 0, -1, 'r'},    {"faccessat", 1, -1, 'r'},
    {"faccessat2", 1, -1, 'r'}, {"readlink", 0, -1, 'r'}, {"readlinkat", 1, -1, 'r'},
    {"mkdir", 0, -1, 'w'},     {"mkdirat", 1, -1, 'w'},   {"unlink", 0, -1, 'w'},
    {"unlinkat", 1, -1, 'w'},  {"rmdir", 0, -1, 'w'},     {"rename", 0, -1, 'w'},
    {"renameat", 1, -1, 'w'},  {"renameat2", 1, -1, 'w'}, {"truncate", 0, -1, 'w'},
    {"chdir", 0, -1, 'r'},     {"symlink", 1, -1, 'w'},   {"link", 1, -1, 'w'},
    {"chmod", 0, -1, 'w'},     {"fchmodat", 1, -1, 'w'},  {"mknod", 0, -1, 'w'},
};

static void record_sockaddr(struct learned *L, pid_t pid, uint64_t addr, uint64_t len, json_t *set)
{
    struct sockaddr_storage ss;
    if (len < sizeof(sa_family_t) || len > sizeof(ss) || !read_mem(pid, addr, &ss, (size_t)len))
        return;
    char host[INET6_ADDRSTRLEN], buf[INET6_ADDRSTRLEN + 16];
    if (ss.ss_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        snprintf(buf, sizeof(buf), "%s:%u", host, ntohs(in->sin_port));
        if ((ntohl(in->sin_addr.s_addr) >> 24) != 127 && in->sin_addr.s_addr != 0)
            L->inet_remote = true;
    } else if (ss.ss_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        snprintf(buf, sizeof(buf), "[%s]:%u", host, ntohs(in6->sin6_port));
        if (!IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) && !IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
            L->inet_remote = true;
    } else if (ss.ss_family == AF_UNIX) {
        const struct sockaddr_un *un = (const struct sockaddr_un *)&ss;
        size_t n = (size_t)len - offsetof(struct sockaddr_un, sun_path);
        snprintf(buf, sizeof(buf), "unix:%.*s", (int)(n < 40 ? n : 40), un->sun_path[0] ? un->sun_path : "@abstract");
    } else {
        snprintf(buf, sizeof(buf), "family %u", ss.ss_family);
    }
    if (json_object_size(set) < 200)
        json_object_set_new(set, buf, json_true());
}

static void on_syscall(void *arg, const struct seccomp_notif *n)
{
    struct learned *L = arg;
    if (n->data.nr < 0 || n->data.nr >= MAX_NR)
        return;
    L->nr[n->data.nr] = true;
    char name[64], path[4096];
    sbx_syscall_name(n->data.nr, name, sizeof(name));
    for (size_t i = 0; i < sizeof(path_calls) / sizeof(path_calls[0]); i++) {
        if (strcmp(path_calls[i].name, name) != 0)
            continue;
        if (!read_str((pid_t)n->pid, n->data.args[path_calls[i].path_arg], path, sizeof(path)))
            return;
        char kind = path_calls[i].kind;
        if (kind == 'o') {
            uint64_t fl = n->data.args[path_calls[i].flags_arg];
            kind = (fl & O_ACCMODE) != O_RDONLY || (fl & (O_CREAT | O_TRUNC)) ? 'w' : 'r';
        }
        add_path(kind == 'w' ? L->write : kind == 'x' ? L->exec : L->read, path);
        return;
    }
    if (strcmp(name, "connect") == 0 || strcmp(name, "sendto") == 0)
        record_sockaddr(L, (pid_t)n->pid, n->data.args[strcmp(name, "connect") == 0 ? 1 : 4],
                        n->data.args[strcmp(name, "connect") == 0 ? 2 : 5], L->connect);
    else if (strcmp(name, "bind") == 0)
        record_sockaddr(L, (pid_t)n->pid, n->data.args[1], n->data.args[2], L->bind);
    else if (strcmp(name, "socket") == 0) {
        static const char *const fam[] = {[AF_UNIX] = "unix", [AF_INET] = "inet", [AF_INET6] = "inet6",
                                          [AF_NETLINK] = "netlink"};
        uint64_t f = n->data.args[0];
        char buf[32];
        snprintf(buf, sizeof(buf), "%s", f < sizeof(fam) / sizeof(fam[0]) && fam[f] ? fam[f] : "other");
        json_object_set_new(L->families, buf, json_true());
    }
}

/* Does a list entry (a syscall or a @group) name the syscall? */
static bool entry_names(const char *s, const char *name)
{
    if (strcmp(s, name) == 0)
        return true;
    const struct syscall_group *g = s[0] == '@' ? syscall_group_find(s) : NULL;
    for (const char *const *m = g ? g->syscalls : NULL; m && *m; m++)
        if (strcmp(*m, name) == 0)
            return true;
    return false;
}

static bool names(const json_t *list, const char *name)
{
    size_t i;
    const json_t *e;
    json_array_foreach(list, i, e)
        if (entry_names(json_string_value(e), name))
            return true;
    return false;
}

/* BASE's list without the used syscalls: a group that holds one is replaced by its other members. */
static json_t *list_without(const json_t *list, const json_t *used, bool *changed)
{
    json_t *out = json_array();
    size_t i, j;
    const json_t *e, *u;
    json_array_foreach(list, i, e)
    {
        const char *s = json_string_value(e);
        bool hit = false;
        json_array_foreach(used, j, u) hit |= entry_names(s, json_string_value(u));
        if (!hit) {
            json_array_append(out, (json_t *)e);
            continue;
        }
        *changed = true;
        const struct syscall_group *g = s[0] == '@' ? syscall_group_find(s) : NULL;
        for (const char *const *m = g ? g->syscalls : NULL; m && *m; m++) {
            bool is_used = false;
            json_array_foreach(used, j, u) is_used |= strcmp(*m, json_string_value(u)) == 0;
            if (!is_used)
                json_array_append_new(out, json_string(*m));
        }
    }
    return out;
}

static json_t *set_keys(const json_t *set)
{
    json_t *a = json_array();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)set, k, v) json_array_append_new(a, json_string(k));
    return a;
}

/* The policy: extends BASE, with only what BASE lacks. */
static json_t *learned_policy(const struct gbox_policy *base, const char *base_ref, const char *name,
                              const struct learned *L, json_t *added, json_t *by_rules)
{
    json_t *pol = json_pack("{s:i,s:s,s:s}", "version", 1, "name", name, "extends", base_ref);
    const json_t *sc = pol_get(base, "seccomp");
    json_t *used = json_array();
    for (int nr = 0; nr < MAX_NR; nr++) {
        if (!L->nr[nr])
            continue;
        char n[64];
        sbx_syscall_name(nr, n, sizeof(n));
        if (strncmp(n, "syscall-", 8) == 0)
            continue; /* libseccomp does not know it: policies cannot name it either */
        /* what gbox always allows whatever the policy says (seccomp_plan.c) */
        if (strcmp(n, "clone") == 0 || strcmp(n, "clone3") == 0 || entry_names("@default", n))
            continue;
        bool allowed = names(json_object_get(sc, "allow"), n);
        bool denied = names(json_object_get(sc, "deny"), n) || names(json_object_get(sc, "kill"), n);
        /* BASE's argument rules (seccomp.rules) still refine it: report them */
        size_t i;
        const json_t *r;
        json_array_foreach(json_object_get(sc, "rules"), i, r)
        {
            if (names(json_object_get(r, "syscalls"), n)) {
                json_array_append_new(by_rules, json_string(n));
                break;
            }
        }
        if (!allowed || denied)
            json_array_append_new(used, json_string(n));
    }
    json_t *seccomp = json_object();
    if (json_array_size(used)) {
        json_t *allow = json_deep_copy(json_object_get(sc, "allow"));
        size_t i;
        json_t *u;
        json_array_foreach(used, i, u)
        {
            if (!names(allow, json_string_value(u)))
                json_array_append(allow, u);
            json_array_append(added, u);
        }
        json_object_set_new(seccomp, "allow", allow);
        static const char *const lists[] = {"deny", "kill"};
        for (size_t k = 0; k < 2; k++) {
            bool changed = false;
            json_t *l = list_without(json_object_get(sc, lists[k]), used, &changed);
            if (changed)
                json_object_set_new(seccomp, lists[k], l);
            else
                json_decref(l);
        }
    }
    if (json_object_size(seccomp))
        json_object_set_new(pol, "seccomp", seccomp);
    else
        json_decref(seccomp);
    const char *mode = pol_str(base, "network.mode");
    bool inet = json_object_get(L->families, "inet") || json_object_get(L->families, "inet6");
    if (inet && strcmp(mode, "none") == 0)
        json_object_set_new(pol, "network", json_pack("{s:s}", "mode", L->inet_remote ? "veth" : "loopback"));
    else if (inet && L->inet_remote && strcmp(mode, "loopback") == 0)
        json_object_set_new(pol, "network", json_pack("{s:s}", "mode", "veth"));
    if (json_is_true(pol_get(base, "filesystem.landlock.enabled")) && json_object_size(L->write)) {
        json_t *rw = json_deep_copy(pol_get(base, "filesystem.landlock.read_write"));
        if (!json_is_array(rw)) {
            json_decref(rw);
            rw = json_array();
        }
        const char *k;
        json_t *v;
        json_object_foreach(L->write, k, v)
        {
            if (k[0] != '/' || strncmp(k, "/proc/", 6) == 0 || strncmp(k, "/dev/", 5) == 0)
                continue;
            /* the directory: files come and go under their names */
            char dir[4096];
            snprintf(dir, sizeof(dir), "%s", k);
            char *slash = strrchr(dir, '/');
            if (slash && slash != dir)
                *slash = '\0';
            size_t i;
            json_t *e;
            bool have = false;
            json_array_foreach(rw, i, e) have |= strcmp(json_string_value(e), dir) == 0;
            if (!have)
                json_array_append_new(rw, json_string(dir));
        }
        json_object_set_new(pol, "filesystem", json_pack("{s:{s:o}}", "landlock", "read_write", rw));
    }
    char desc[200];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    snprintf(desc, sizeof(desc), "learned by gbox policy learn from one run, extending %s (%04d-%02d-%02d)",
             base->name, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    json_object_set_new(pol, "description", json_string(desc));
    json_decref(used);
    return pol;
}

static void print_set(const char *label, const json_t *set)
{
    if (!json_object_size(set))
        return;
    fprintf(stderr, "learn: %s:", label);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)set, k, v) fprintf(stderr, " %s", k);
    fputc('\n', stderr);
}

int cmd_policy_learn(int argc, char **argv)
{
    static const struct option opts[] = {
        {"policy", required_argument, NULL, 'p'}, {"name", required_argument, NULL, 'N'},
        {"report", required_argument, NULL, 'r'}, {"in-image", no_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    const char *base_arg = NULL, *name = "learned", *report_file = NULL;
    bool in_image = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+p:r:ih", opts, NULL)) != -1) {
        switch (c) {
        case 'p': base_arg = optarg; break;
        case 'N': name = optarg; break;
        case 'r': report_file = optarg; break;
        case 'i': in_image = true; break;
        case 'h': fputs(learn_usage, stdout); return 0;
        default: fputs(learn_usage, stderr); return GBOX_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "gbox policy learn: expected a PROGRAM to run\n%s", learn_usage);
        return GBOX_EXIT_USAGE;
    }
    if (!*name || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(name)) {
        fprintf(stderr, "gbox policy learn: --name: expected lowercase letters, digits, _ and -, got \"%s\"\n", name);
        return GBOX_EXIT_USAGE;
    }
    char dflt[4096];
    snprintf(dflt, sizeof(dflt), "%s/default.json", gbox_policy_dir());
    if (!base_arg)
        base_arg = access(dflt, F_OK) == 0 ? "default" : "base";
    struct sbx_err *err = NULL;
    struct gbox_policy *p = NULL;
    if (policy_load(base_arg, &p, &err) < 0)
        return cli_fail(&err);
    /* extends: BASE's absolute path, so the learned policy works wherever it is saved */
    char base_ref[4096];
    snprintf(base_ref, sizeof(base_ref), "%s", p->file);

    struct run_hold hold = {.run.fd = -1};
    struct run_request rq = {.hold = &hold, .in_image = in_image};
    rq.program = in_image ? NULL : argv[optind];
    rq.argv = in_image ? argv + optind : argv + optind + 1;
    rq.argc = in_image ? argc - optind : argc - optind - 1;
    struct sbx_spec spec;
    if (plan_build(p, &rq, &spec, &err) < 0) {
        run_hold_release(&hold);
        policy_free(p);
        return cli_fail(&err);
    }
    /* the learning filter: one, every syscall a notification (answered CONTINUE) */
    for (size_t i = 0; i < spec.seccomp.n_filters; i++)
        free(spec.seccomp.filters[i].rules);
    memset(&spec.seccomp, 0, sizeof(spec.seccomp));
    spec.seccomp.n_filters = 1;
    spec.seccomp.filters[0].default_action = (struct sbx_action){SBX_ACT_KILL, 0};
    struct learned L = {.read = json_object(), .write = json_object(), .exec = json_object(),
                        .connect = json_object(), .bind = json_object(), .families = json_object()};
    /* Except read, write, close and prctl: after loading the filter the sandbox's setup checks
     * it (PR_GET_SECCOMP) and hands the listener to gbox with them, and notifying them then
     * would deadlock. They are counted as used (every program reads, writes and closes). */
    static const int plain[] = {SYS_read, SYS_write, SYS_close, SYS_prctl};
    struct sbx_syscall_rule *rules = xcalloc(ARRAY_LEN(plain), sizeof(*rules));
    for (size_t i = 0; i < ARRAY_LEN(plain); i++) {
        rules[i] = (struct sbx_syscall_rule){.nr = plain[i], .action = {SBX_ACT_ALLOW, 0}};
        L.nr[plain[i]] = true;
    }
    spec.seccomp.filters[0].rules = rules;
    spec.seccomp.filters[0].n_rules = ARRAY_LEN(plain);
    spec.on_syscall = on_syscall;
    spec.on_syscall_arg = &L;
    if (spec.net == SBX_NET_NONE)
        spec.net = SBX_NET_LOOPBACK; /* so that connection attempts can be seen */
    struct sbx_result res;
    struct net_lease lease = {""};
    char stage[4096];
    snprintf(stage, sizeof(stage), "%s/stage", gbox_run_dir());
    mkdir(gbox_run_dir(), 0755);
    mkdir(stage, 0755);
    int code = 0, run_rc = -1;
    /* the program writes to stderr: stdout is the policy's */
    fflush(stdout);
    int saved_out = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    if (saved_out < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
        sbx_err_set(&err, GBOX_EXIT_LAUNCH, errno, "redirect the program's stdout to stderr");
    } else if (plan_net_lease(p, &spec, &lease, &err) == 0) {
        run_rc = sbx_run(&spec, &res, &err);
    }
    if (saved_out >= 0) {
        dup2(saved_out, STDOUT_FILENO);
        close(saved_out);
    }
    if (run_rc < 0) {
        code = cli_fail(&err);
    } else if (res.end == SBX_END_SETUP) {
        fprintf(stderr, "gbox: %s\n", err ? err->msg : "sandbox setup failed");
        sbx_err_free(&err);
        code = res.exit_code;
    } else {
        sbx_err_free(&err);
        json_t *added = json_array(), *by_rules = json_array();
        json_t *pol = learned_policy(p, base_ref, name, &L, added, by_rules);
        char *out = json_dumps(pol, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (out)
            puts(out);
        free(out);
        fprintf(stderr, "learn: the program ended: %s (exit code %d)\n",
                res.end == SBX_END_EXITED ? "exited" : "killed", res.exit_code);
        fprintf(stderr, "learn: syscalls %s does not allow:", p->name);
        size_t i;
        json_t *u;
        json_array_foreach(added, i, u) fprintf(stderr, " %s", json_string_value(u));
        fprintf(stderr, "%s\n", json_array_size(added) ? "" : " none");
        if (json_array_size(by_rules)) {
            fprintf(stderr, "learn: %s's argument rules (seccomp.rules) still apply to:", p->name);
            json_array_foreach(by_rules, i, u) fprintf(stderr, " %s", json_string_value(u));
            fputc('\n', stderr);
        }
        print_set("paths read", L.read);
        print_set("paths written", L.write);
        print_set("programs run", L.exec);
        print_set("socket families", L.families);
        print_set("connected to", L.connect);
        print_set("bound to", L.bind);
        if (report_file) {
            json_t *all = json_array();
            for (int nr = 0; nr < MAX_NR; nr++) {
                char n[64];
                if (!L.nr[nr])
                    continue;
                sbx_syscall_name(nr, n, sizeof(n));
                json_array_append_new(all, json_string(n));
            }
            json_t *rep = json_pack("{s:s,s:i,s:o,s:O,s:{s:o,s:o,s:o},s:{s:o,s:o,s:o},s:O}", "base", p->name,
                                    "exit_code", res.exit_code, "syscalls", all, "added", added, "paths", "read",
                                    set_keys(L.read), "write", set_keys(L.write), "exec", set_keys(L.exec),
                                    "network", "families", set_keys(L.families), "connect", set_keys(L.connect),
                                    "bind", set_keys(L.bind), "policy", pol);
            if (report_write(rep, report_file, &err) < 0)
                code = cli_fail(&err);
            json_decref(rep);
        }
        json_decref(added);
        json_decref(by_rules);
        json_decref(pol);
    }
    netpool_release(&lease);
    run_hold_release(&hold);
    sbx_spec_free(&spec);
    policy_free(p);
    json_t *sets[] = {L.read, L.write, L.exec, L.connect, L.bind, L.families};
    for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
        json_decref(sets[i]);
    return code;
}
