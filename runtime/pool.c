/* pool.c — the daemon's warm pool (`gbox daemon --pool POLICY=N`).
 *
 * A member is a shim started ahead of time as `gbox run --quiet --policy P --hold-fd 3`: it loads
 * the policy and sets the whole sandbox up (cgroups, namespaces, root, credentials, Landlock,
 * seccomp), then its init waits (sandbox/hold.c) and the shim says "held" on fd 3, a SEQPACKET
 * socket whose other end the daemon keeps. A spawn of that policy hands its program to a held
 * member before the daemon does any bookkeeping: the member's directory (its logs) is renamed to
 * the sandbox's and the daemon sends one JSON message {argv, env, report, state, id}; from then
 * on the member is an ordinary shim of that sandbox (the daemon's child, watched through its
 * pidfd), and it says "started" once the program runs: the daemon then writes the record and
 * answers the client (daemon.c, sb_record_start) and marks it running without its tick. A member runs one
 * program only: fresh state per spawn. Members are refilled from the tick, at most two coming up
 * per policy at a time; a member that fails to come up backs its policy off (1 s doubling to 60 s).
 * The daemon going away (stop or kill -9) closes the sockets: every member still held gives up,
 * kills its sandbox and removes its cgroups itself (pool_shim.c). */
#include "pool.h"
#include "daemon.h"
#include "policy.h"
#include "tree.h"
#include "../sandbox/util.h"

#include <errno.h>
#include <libgen.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define POOL_MAX 64           /* members per policy */
#define POOL_WARMING_MAX 2    /* members coming up at once, per policy */
#define POOL_MSG_MAX (48 * 1024) /* argv + env of a pooled spawn, as JSON */

struct domain {
    char *policy, *name; /* as spawn names it; the domain (the policy's name) */
    uint64_t sig;        /* of the policy's files when `cached` was loaded (policy_sig) */
    struct gbox_policy *cached;
    int size, failures;
    int64_t retry_at;
    struct domain *next;
};

struct member {
    char id[17];
    struct domain *d;
    pid_t pid;
    int fd, pidfd;
    bool held, handed, retired; /* retired: built from an older policy, told to give up */
    uint64_t sig;               /* policy_sig when it was started */
    int64_t created_at; /* wall ms */
    char sb_id[17];     /* handed: the sandbox it became */
    int exit_tag;       /* &exit_tag tags the pidfd in epoll, the member itself its socket */
    struct member *next;
};

static struct {
    int ep;
    const char *exe;
    char dir[PATH_MAX];
    void (*started)(const char *id);
    const char *(*map)(const char *policy); /* the daemon's version in force of a policy name */
    struct domain *doms;
    struct member *ms;
} P = {.ep = -1};

static int64_t now_ms_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The "extends" of a policy file, remembered per file for as long as its device, inode, size and
 * mtime stay those it was read with (the same identity policy_sig hashes): a spawn of a pooled
 * policy stats its chain instead of parsing each file again. NULL: it extends nothing. */
static const char *extends_of(const char *real, const struct stat *st)
{
    static struct {
        char *path, *ext;
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtim;
    } memo[16];
    static unsigned next;
    for (size_t i = 0; i < ARRAY_LEN(memo); i++)
        if (memo[i].path && strcmp(memo[i].path, real) == 0 && memo[i].dev == st->st_dev &&
            memo[i].ino == st->st_ino && memo[i].size == st->st_size &&
            memo[i].mtim.tv_sec == st->st_mtim.tv_sec && memo[i].mtim.tv_nsec == st->st_mtim.tv_nsec)
            return memo[i].ext;
    json_t *doc = json_load_file(real, 0, NULL);
    const char *ext = json_string_value(json_object_get(doc, "extends"));
    unsigned k = next++ % ARRAY_LEN(memo);
    free(memo[k].path);
    free(memo[k].ext);
    memo[k].path = xstrdup(real);
    memo[k].ext = ext ? xstrdup(ext) : NULL;
    memo[k].dev = st->st_dev;
    memo[k].ino = st->st_ino;
    memo[k].size = st->st_size;
    memo[k].mtim = st->st_mtim;
    json_decref(doc);
    /* a file that did not parse is not remembered: its signature is read again next time */
    if (!doc) {
        free(memo[k].path);
        memo[k].path = NULL;
    }
    return memo[k].ext;
}

/* A signature of the policy's files: device, inode, size and mtime of the policy and each file
 * its "extends" chain names (resolved as policy.c resolves them), FNV-1a hashed; 0 when a file
 * cannot be read. An edited policy has a new signature: its warm members and the cached load are
 * not used any more. */
static uint64_t policy_sig(const char *arg)
{
    char path[PATH_MAX], real[PATH_MAX], dir[PATH_MAX];
    uint64_t h = 1469598103934665603ULL;
    if (policy_path(arg, NULL, path, sizeof(path), NULL) < 0)
        return 0;
    for (int depth = 0; depth < 32; depth++) {
        struct stat st;
        if (!realpath(path, real) || stat(real, &st) < 0)
            return 0;
        uint64_t v[5] = {st.st_dev, st.st_ino, (uint64_t)st.st_size, (uint64_t)st.st_mtim.tv_sec,
                         (uint64_t)st.st_mtim.tv_nsec};
        for (size_t i = 0; i < sizeof(v); i++)
            h = (h ^ ((const unsigned char *)v)[i]) * 1099511628211ULL;
        const char *ext = extends_of(real, &st);
        snprintf(dir, sizeof(dir), "%s", real);
        int rc = ext ? policy_path(ext, dirname(dir), path, sizeof(path), NULL) : 1;
        if (rc != 0)
            return rc > 0 ? h : 0;
    }
    return 0;
}

static struct gbox_policy *policy_copy(const struct gbox_policy *p)
{
    struct gbox_policy *c = xcalloc(1, sizeof(*c));
    c->name = xstrdup(p->name);
    c->file = xstrdup(p->file);
    c->root = json_deep_copy(p->root);
    c->seccomp = p->seccomp;
    for (size_t i = 0; i < 2; i++) {
        size_t n = p->seccomp.filters[i].n_rules;
        c->seccomp.filters[i].rules = n ? xcalloc(n, sizeof(*c->seccomp.filters[i].rules)) : NULL;
        if (n)
            memcpy(c->seccomp.filters[i].rules, p->seccomp.filters[i].rules, n * sizeof(*c->seccomp.filters[i].rules));
    }
    return c;
}

/* What a policy string loads from: the daemon's version in force (config.c) when it has one. */
static const char *in_force(const char *policy)
{
    return P.map ? P.map(policy) : policy;
}

void pool_set_policy_map(const char *(*map)(const char *policy))
{
    P.map = map;
}

static struct domain *domain_of(const char *policy)
{
    for (struct domain *d = P.doms; d; d = d->next)
        if (strcmp(d->policy, policy) == 0)
            return d;
    return NULL;
}

int pool_policy_load(const char *arg, struct gbox_policy **out, struct sbx_err **err)
{
    struct domain *d = domain_of(arg);
    arg = in_force(arg);
    if (!d)
        return policy_load(arg, out, err);
    uint64_t sig = policy_sig(arg);
    if (d->cached && sig && sig == d->sig) {
        *out = d->cached;
        return 1;
    }
    if (policy_load(arg, out, err) < 0)
        return -1;
    policy_free(d->cached);
    d->cached = sig ? policy_copy(*out) : NULL;
    d->sig = sig;
    return 0;
}

int pool_config(const char *arg, char *msg, size_t len)
{
    const char *eq = strrchr(arg, '=');
    char *end = NULL;
    long n = eq ? strtol(eq + 1, &end, 10) : -1;
    if (!eq || eq == arg || !end || *end || eq[1] == '\0' || n < 0 || n > POOL_MAX)
        return snprintf(msg, len, "--pool: expected POLICY=N with N from 0 to %d, got \"%s\"", POOL_MAX, arg),
               GBOX_EXIT_USAGE;
    char *policy = strndup(arg, (size_t)(eq - arg));
    if (!policy)
        abort();
    struct gbox_policy *p = NULL;
    struct sbx_err *err = NULL;
    if (policy_load(policy, &p, &err) < 0) {
        snprintf(msg, len, "--pool %s: %s", arg, err ? err->msg : "policy load failed");
        sbx_err_free(&err);
        free(policy);
        return GBOX_EXIT_USAGE;
    }
    struct domain *d = NULL;
    for (d = P.doms; d && strcmp(d->policy, policy) != 0; d = d->next)
        ;
    if (!d) {
        d = xcalloc(1, sizeof(*d));
        d->policy = policy;
        d->name = xstrdup(p->name);
        d->next = P.doms;
        P.doms = d;
    } else {
        free(policy);
    }
    d->size = (int)n; /* the last --pool for a policy wins */
    policy_free(p);
    return 0;
}

/* ---- members ------------------------------------------------------------------------------- */

static void member_dir(const struct member *m, const char *file, char *out, size_t len)
{
    snprintf(out, len, "%s/%s%s%s", P.dir, m->id, *file ? "/" : "", file);
}

static void member_free(struct member *m)
{
    for (struct member **pp = &P.ms; *pp; pp = &(*pp)->next)
        if (*pp == m) {
            *pp = m->next;
            break;
        }
    if (m->fd >= 0) {
        epoll_ctl(P.ep, EPOLL_CTL_DEL, m->fd, NULL);
        close(m->fd);
    }
    if (m->pidfd >= 0) {
        epoll_ctl(P.ep, EPOLL_CTL_DEL, m->pidfd, NULL);
        close(m->pidfd);
    }
    if (!m->handed && m->id[0]) {
        int dfd = open(P.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            tree_remove_at(dfd, m->id);
            close(dfd);
        }
    }
    free(m);
}

static void __attribute__((noreturn)) member_exec(const struct member *m, int out, int err, int sock)
{
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    setsid();
    int nul = open("/dev/null", O_RDONLY);
    /* fd 3 is the socket: move it out of the way of 0-2 first */
    int s = fcntl(sock, F_DUPFD, 10);
    if (nul < 0 || s < 0 || dup2(nul, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0 || dup2(s, 3) < 0)
        _exit(125);
    syscall(SYS_close_range, 4, ~0U, 0);
    char *argv[] = {(char *)P.exe, "run", "--quiet", "--policy", (char *)in_force(m->d->policy), "--hold-fd", "3", NULL};
    execv(P.exe, argv);
    _exit(127);
}

static void member_start(struct domain *d)
{
    struct member *m = xcalloc(1, sizeof(*m));
    m->d = d;
    m->fd = m->pidfd = -1;
    m->sig = policy_sig(in_force(d->policy));
    uint8_t rb[8];
    if (getrandom(rb, sizeof(rb), 0) != sizeof(rb))
        memset(rb, 0, sizeof(rb));
    for (int k = 0; k < 8; k++)
        snprintf(m->id + 2 * k, 3, "%02x", rb[k]);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    m->created_at = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    m->next = P.ms;
    P.ms = m;
    char p[PATH_MAX];
    member_dir(m, "", p, sizeof(p));
    int sv[2] = {-1, -1}, out = -1, err = -1;
    if (mkdir(p, 0700) == 0) {
        member_dir(m, "stdout.log", p, sizeof(p));
        out = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        member_dir(m, "stderr.log", p, sizeof(p));
        err = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    }
    pid_t pid = -1;
    if (out >= 0 && err >= 0 && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0) {
        pid = fork();
        if (pid == 0)
            member_exec(m, out, err, sv[1]);
    }
    int e = errno;
    if (out >= 0)
        close(out);
    if (err >= 0)
        close(err);
    if (sv[1] >= 0)
        close(sv[1]);
    m->fd = sv[0];
    m->pid = pid;
    m->pidfd = pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
    if (pid <= 0 || m->pidfd < 0) {
        fprintf(stderr, "gbox daemon: pool %s: start a warm sandbox: %s\n", d->policy, strerror(e));
        if (pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
        }
        d->failures++;
        d->retry_at = now_ms_mono() + 1000;
        member_free(m);
        return;
    }
    epoll_ctl(P.ep, EPOLL_CTL_ADD, m->fd, &(struct epoll_event){.events = EPOLLIN, .data.ptr = m});
    epoll_ctl(P.ep, EPOLL_CTL_ADD, m->pidfd, &(struct epoll_event){.events = EPOLLIN, .data.ptr = &m->exit_tag});
}

/* The last line of a member's stderr.log, for the daemon's message when it fails. */
static void last_line(const struct member *m, char *out, size_t len)
{
    char p[PATH_MAX];
    member_dir(m, "stderr.log", p, sizeof(p));
    size_t n = 0;
    char *t = read_file(p, &n);
    out[0] = '\0';
    while (t && n > 0 && t[n - 1] == '\n')
        t[--n] = '\0';
    if (t && n > 0) {
        char *nl = strrchr(t, '\n');
        snprintf(out, len, "%s", nl ? nl + 1 : t);
    }
    free(t);
}

static void member_ended(struct member *m)
{
    int st = 0;
    if (waitpid(m->pid, &st, WNOHANG) == 0)
        return;
    struct domain *d = m->d;
    if (m->retired) {
        member_free(m);
        return;
    }
    if (WIFSIGNALED(st))
        daemon_sweep_cgroups_soon(); /* a killed member could not remove its cgroups */
    char line[512];
    last_line(m, line, sizeof(line));
    d->failures++;
    int64_t delay = 1000LL << (d->failures > 6 ? 6 : d->failures - 1);
    d->retry_at = now_ms_mono() + (delay > 60000 ? 60000 : delay);
    fprintf(stderr, "gbox daemon: pool %s: a warm sandbox ended before use (%s %d)%s%s; retry in %lld ms\n",
            d->policy, WIFSIGNALED(st) ? "signal" : "exit", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
            line[0] ? ": " : "", line, (long long)(d->retry_at - now_ms_mono()));
    member_free(m);
}

static void member_message(struct member *m)
{
    char buf[64];
    ssize_t n = TEMP_RETRY(recv(m->fd, buf, sizeof(buf) - 1, MSG_DONTWAIT));
    if (n < 0 && errno == EAGAIN)
        return;
    if (n > 0) {
        buf[n] = '\0';
        if (strcmp(buf, "held") == 0 && !m->handed) {
            m->held = true;
            m->d->failures = 0;
        } else if (strcmp(buf, "started") == 0 && m->handed) {
            if (P.started)
                P.started(m->sb_id);
            member_free(m);
        }
        return;
    }
    /* end of file: a handed member needs nothing more; a warming one is ending (its pidfd says when) */
    if (m->handed) {
        member_free(m);
        return;
    }
    epoll_ctl(P.ep, EPOLL_CTL_DEL, m->fd, NULL);
    close(m->fd);
    m->fd = -1;
    m->held = false;
}

bool pool_owns(const void *tag)
{
    for (struct member *m = P.ms; m; m = m->next)
        if (tag == m || tag == &m->exit_tag)
            return true;
    return false;
}

void pool_event(void *tag)
{
    for (struct member *m = P.ms; m; m = m->next) {
        if (tag == m) {
            member_message(m);
            return;
        }
        if (tag == &m->exit_tag) {
            member_ended(m);
            return;
        }
    }
}

/* ---- the daemon's side ------------------------------------------------------------------------ */

void pool_start(int ep, const char *exe, const char *state_dir, void (*started)(const char *id))
{
    P.ep = ep;
    P.exe = exe;
    P.started = started;
    snprintf(P.dir, sizeof(P.dir), "%s/pool", state_dir);
    /* an earlier daemon's members gave up when it went away: remove their directories */
    int dfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        tree_remove_at(dfd, "pool");
        close(dfd);
    }
    bool any = false;
    for (struct domain *d = P.doms; d; d = d->next)
        any |= d->size > 0;
    if (!any)
        return;
    if (mkdir(P.dir, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "gbox daemon: pool: create %s: %s (no warm sandboxes)\n", P.dir, strerror(errno));
        return;
    }
    pool_tick();
}

void pool_tick(void)
{
    if (P.ep < 0)
        return;
    int64_t now = now_ms_mono();
    for (struct domain *d = P.doms; d; d = d->next) {
        if (now < d->retry_at)
            continue;
        int have = 0, warming = 0;
        for (struct member *m = P.ms; m; m = m->next)
            if (m->d == d && !m->handed && !m->retired) {
                have++;
                warming += !m->held;
            }
        /* after a failure, one at a time until one comes up */
        int max_warming = d->failures ? 1 : POOL_WARMING_MAX;
        while (have < d->size && warming < max_warming) {
            member_start(d);
            have++;
            warming++;
        }
    }
}

static bool poolable(const json_t *rq)
{
    if (!json_is_true(json_object_get(rq, "in_image")) || json_array_size(json_object_get(rq, "modules")))
        return false;
    size_t bytes = 0, i;
    json_t *e;
    json_array_foreach(json_object_get(rq, "argv"), i, e) bytes += json_string_length(e) + 8;
    json_array_foreach(json_object_get(rq, "env"), i, e) bytes += json_string_length(e) + 8;
    return bytes < POOL_MSG_MAX / 2; /* JSON escapes can double a string */
}

/* Members started from an older version of their policy give up (closing their socket); their
 * pidfd still reaps them. */
static void retire_stale(struct domain *d, uint64_t sig)
{
    for (struct member *m = P.ms; m; m = m->next)
        if (m->d == d && !m->handed && !m->retired && (m->sig != sig || !sig)) {
            m->retired = true;
            m->held = false;
            if (m->fd >= 0) {
                epoll_ctl(P.ep, EPOLL_CTL_DEL, m->fd, NULL);
                close(m->fd);
                m->fd = -1;
            }
        }
}

pid_t pool_take(const char *policy, const json_t *request, const char *id, const char *dir)
{
    struct domain *d = domain_of(policy);
    if (!d || !poolable(request))
        return 0;
    /* d->sig is the policy's signature as the spawn's pool_policy_load just computed it */
    retire_stale(d, d->sig);
    struct member *m = NULL;
    for (struct member *c = P.ms; c; c = c->next)
        if (c->held && !c->handed && c->fd >= 0 && c->d == d && (!m || c->created_at < m->created_at))
            m = c; /* the oldest */
    if (!m)
        return 0;
    char report[PATH_MAX], state[PATH_MAX], from[PATH_MAX];
    snprintf(report, sizeof(report), "%s/report.json", dir);
    snprintf(state, sizeof(state), "%s/state.json", dir);
    json_t *env = json_object_get(request, "env");
    json_t *msg = json_pack("{s:O,s:o,s:s,s:s,s:s}", "argv", json_object_get(request, "argv"), "env",
                            env ? json_incref(env) : json_array(), "report", report, "state", state, "id", id);
    char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    json_decref(msg);
    if (!text || strlen(text) >= POOL_MSG_MAX) {
        free(text);
        return 0;
    }
    /* The member's directory (its two logs, whose descriptors the shim holds) becomes the
     * sandbox's: one rename on the hot path instead of mkdir, two renames and rmdir. The
     * sandbox's directory must not exist (a restart appends to its logs: it starts cold). */
    member_dir(m, "", from, sizeof(from));
    if (renameat2(AT_FDCWD, from, AT_FDCWD, dir, RENAME_NOREPLACE) < 0) {
        free(text);
        return 0;
    }
    ssize_t n = TEMP_RETRY(send(m->fd, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT));
    free(text);
    if (n < 0) {
        /* a member that cannot take its program is broken: let it go (it gives up on EOF), its
         * directory back where member_free removes it; the spawn starts cold */
        fprintf(stderr, "gbox daemon: pool %s: hand a program to a warm sandbox: %s\n", policy, strerror(errno));
        rename(dir, from);
        member_free(m);
        return 0;
    }
    m->handed = true;
    snprintf(m->sb_id, sizeof(m->sb_id), "%s", id);
    epoll_ctl(P.ep, EPOLL_CTL_DEL, m->pidfd, NULL); /* the daemon watches it as a sandbox's shim now */
    close(m->pidfd);
    m->pidfd = -1;
    return m->pid;
}

int pool_count(const char *policy)
{
    int n = 0;
    for (struct member *m = P.ms; m; m = m->next)
        n += m->held && !m->handed && (!policy || strcmp(policy, m->d->policy) == 0);
    return n;
}

void pool_ps(json_t *arr)
{
    for (struct member *m = P.ms; m; m = m->next) {
        if (!m->held || m->handed)
            continue;
        char id[32];
        snprintf(id, sizeof(id), "warm-%s", m->id);
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:I,s:i}", "id", id, "name", id,
                                             "domain", m->d->name, "policy", m->d->policy, "state", "warm",
                                             "restarts", 0, "circuit", "closed", "created_at",
                                             (json_int_t)m->created_at, "shim_pid", (int)m->pid));
    }
}

void pool_stop(void)
{
    /* closing a member's socket makes it give up: it kills its sandbox and removes its cgroups */
    for (struct member *m = P.ms; m; m = m->next)
        if (m->fd >= 0) {
            epoll_ctl(P.ep, EPOLL_CTL_DEL, m->fd, NULL);
            close(m->fd);
            m->fd = -1;
        }
    int64_t deadline = now_ms_mono() + 30000;
    while (P.ms) {
        struct member *m = P.ms;
        if (!m->handed && m->pidfd >= 0 && m->pid > 0) {
            struct pollfd pf = {.fd = m->pidfd, .events = POLLIN};
            int64_t left = deadline - now_ms_mono();
            if (poll(&pf, 1, left > 0 ? (int)left : 0) <= 0) {
                /* stuck: kill it (its cgroups may stay behind; the message says so) */
                fprintf(stderr, "gbox daemon: pool %s: warm sandbox %d did not give up in time: killed\n",
                        m->d->policy, (int)m->pid);
                kill(m->pid, SIGKILL);
            }
            waitpid(m->pid, NULL, 0);
        }
        member_free(m);
    }
    int dfd = open(P.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        close(dfd);
        char parent[PATH_MAX];
        snprintf(parent, sizeof(parent), "%s", P.dir);
        char *sl = strrchr(parent, '/');
        if (sl) {
            *sl = '\0';
            int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (pfd >= 0) {
                tree_remove_at(pfd, "pool");
                close(pfd);
            }
        }
    }
    for (struct domain *d = P.doms, *nx; d; d = nx) {
        nx = d->next;
        policy_free(d->cached);
        free(d->policy);
        free(d->name);
        free(d);
    }
    P.doms = NULL;
}
