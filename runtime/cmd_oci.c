/* cmd_oci.c — gbox as an OCI runtime: the runc command line that podman/conmon and containerd's
 * runc shim send (docs/oci.md). Invoked as `gbox-runc ...` (a symlink to gbox), `gbox oci ...`,
 * or `gbox --root DIR ...` (a runc-style global option first).
 *
 * Processes: `create` forks a shim (a gbox process that stays) and returns once the container
 * is created; the shim runs the sandbox with sbx_run (wait_start): the sandbox's init waits,
 * fully set up, until `start` writes a byte into ROOT/ID/start.fifo, which the shim holds open.
 * The pid file names the shim: it is what conmon and containerd's shim wait for (it becomes
 * their child when create exits; they are subreapers), and it exits with the container's exit
 * code (128+N for a signal), the container's end being its end. */
#include "cli.h"
#include "oci_config.h"
#include "oci_policy.h"
#include "oci_state.h"
#include "names.h"
#include "report.h"
#include "../sandbox/util.h"

#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef GBOX_VERSION
#define GBOX_VERSION "0.1.0"
#endif

struct oci_globals {
    const char *root;
    FILE *log;
    bool log_json;
};
static struct oci_globals G = {OCI_DEFAULT_ROOT, NULL, false};

static const char oci_usage[] =
    "usage: gbox-runc [GLOBAL OPTIONS] COMMAND [OPTIONS] ID   (also: gbox oci ...)\n"
    "\n"
    "global options: --root DIR (default " OCI_DEFAULT_ROOT "), --log FILE, --log-format text|json,\n"
    "                --systemd-cgroup (refused: gbox manages cgroupfs paths only), --debug\n"
    "\n"
    "  create [--bundle DIR] [--pid-file FILE] [--console-socket SOCK] ID\n"
    "  start ID | state ID | kill [--all] ID [SIGNAL] | delete [--force] ID\n"
    "  exec [--process FILE] [--detach] [--pid-file FILE] [--tty] [--console-socket SOCK] ID [CMD...]\n"
    "  run [--bundle DIR] ID          create + start, wait, delete\n"
    "  ps [--format json] ID | pause ID | resume ID | update --resources FILE ID\n"
    "  list [--format json] [-q] | features | spec [--bundle DIR] [--policy NAME] | --version\n"
    "\n"
    "A container's config.json may name a domain policy in the annotation\n"
    "org.graphoid.policy=NAME: the stricter of the two wins. See docs/oci.md.\n";

/* ---- messages ------------------------------------------------------------------------------- */

static void log_line(const char *level, const char *msg)
{
    if (!G.log)
        return;
    char ts[64];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (G.log_json) {
        json_t *o = json_pack("{s:s,s:s,s:s}", "level", level, "msg", msg, "time", ts);
        char *s = json_dumps(o, JSON_COMPACT);
        fprintf(G.log, "%s\n", s ? s : "{}");
        free(s);
        json_decref(o);
    } else {
        fprintf(G.log, "time=\"%s\" level=%s msg=\"%s\"\n", ts, level, msg);
    }
    fflush(G.log);
}

static int oci_fail(struct sbx_err **err)
{
    int code = *err && (*err)->code ? (*err)->code : 1;
    const char *msg = *err ? (*err)->msg : "unknown error";
    fprintf(stderr, "gbox: %s\n", msg);
    log_line("error", msg);
    sbx_err_free(err);
    return code;
}

static int __attribute__((format(printf, 2, 3))) usage_fail(const char *verb, const char *fmt, ...)
{
    struct sbx_err *err = NULL;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sbx_err_set(&err, GBOX_EXIT_USAGE, 0, "%s: %s", verb, msg);
    return oci_fail(&err);
}

static char *now_rfc3339(char *buf, size_t len)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%09ldZ", now.tv_nsec);
    return buf;
}

/* Write "PID" (no newline, as runc does) to file atomically. */
static int write_pid_file(const char *file, pid_t pid, struct sbx_err **err)
{
    char tmp[PATH_MAX], buf[32];
    snprintf(tmp, sizeof(tmp), "%s.tmp.%d", file, (int)getpid());
    snprintf(buf, sizeof(buf), "%d", (int)pid);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = fd < 0 ? -1 : write_all(fd, buf, strlen(buf));
    if (fd >= 0 && close(fd) < 0)
        rc = -1;
    if (rc < 0 || rename(tmp, file) < 0) {
        int e = errno;
        unlink(tmp);
        return sbx_err_set(err, 1, e, "write pid file %s", file);
    }
    return 0;
}

/* ---- hooks ---------------------------------------------------------------------------------- */

static int run_hook(const struct sbx_hook *h, const char *state, const char *kind, struct sbx_err **err)
{
    char msg[600];
    if (sbx_hook_run(h, state, kind, msg, sizeof(msg)) < 0)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0, "%s", msg);
    return 0;
}

static const char *const hook_names[] = {"prestart", "createRuntime", "createContainer", "startContainer",
                                         "poststart", "poststop"};

static int run_hooks(const struct oci_config *c, enum oci_hook_kind k, const json_t *doc, struct sbx_err **err)
{
    if (!c->n_hooks[k])
        return 0;
    json_t *pub = oci_state_public(doc);
    char *state = json_dumps(pub, JSON_COMPACT);
    json_decref(pub);
    int rc = 0;
    for (size_t i = 0; i < c->n_hooks[k] && rc == 0; i++)
        rc = run_hook(&c->hooks[k][i], state, hook_names[k], err);
    free(state);
    return rc;
}

/* ---- console -------------------------------------------------------------------------------- */

/* A new pty: the master goes to the console socket (SCM_RIGHTS, as runc does), the slave is
 * returned for the process's stdio. */
static int console_open(const char *sock_path, int *slave, struct sbx_err **err)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    char name[128];
    if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 || ptsname_r(master, name, sizeof(name)) != 0) {
        int e = errno;
        if (master >= 0)
            close(master);
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, e, "allocate a pty");
    }
    *slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(sock_path) >= sizeof(sa.sun_path)) {
        close(master);
        close(s);
        return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "--console-socket %s: path too long", sock_path);
    }
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
    char dummy = 0, cbuf[CMSG_SPACE(sizeof(int))];
    memset(cbuf, 0, sizeof(cbuf));
    struct iovec iov = {.iov_base = name, .iov_len = strlen(name)};
    (void)dummy;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &master, sizeof(int));
    int rc = 0;
    if (*slave < 0 || s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        TEMP_RETRY(sendmsg(s, &mh, 0)) < 0)
        rc = sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "send the pty to --console-socket %s", sock_path);
    close(master);
    if (s >= 0)
        close(s);
    return rc;
}

/* ---- create --------------------------------------------------------------------------------- */

struct shim {
    struct oci_config *cfg;
    const char *dir;
    json_t *doc;
    int ready_fd; /* to create: "OK" or "ERR code message"; closed once said */
};

static void shim_say(struct shim *sh, const char *msg)
{
    if (sh->ready_fd < 0)
        return;
    write_all(sh->ready_fd, msg, strlen(msg));
    close(sh->ready_fd);
    sh->ready_fd = -1;
}

static void shim_created(void *arg, const struct sbx_started *info)
{
    struct shim *sh = arg;
    json_t *d = sh->doc;
    json_object_set_new(d, "init_pid", json_integer(info->init_pid));
    json_object_set_new(d, "init_start", json_integer(proc_start_time(info->init_pid)));
    json_object_set_new(d, "cgroup_v2", info->cgroup_v2 ? json_string(info->cgroup_v2) : json_null());
    json_t *v1 = json_array();
    for (size_t i = 0; i < info->n_cgroup_v1; i++)
        json_array_append_new(v1, json_string(info->cgroup_v1[i]));
    json_object_set_new(d, "cgroup_v1", v1);
    json_object_del(d, "incomplete");
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/state.json", sh->dir);
    struct sbx_err *err = NULL;
    if (report_write(d, p, &err) < 0 || run_hooks(sh->cfg, OCI_HOOK_PRESTART, d, &err) < 0 ||
        run_hooks(sh->cfg, OCI_HOOK_CREATE_RUNTIME, d, &err) < 0) {
        char msg[1100];
        snprintf(msg, sizeof(msg), "ERR %d %s", err->code ? err->code : 1, err->msg);
        sbx_err_free(&err);
        kill(info->init_pid, SIGKILL);
        shim_say(sh, msg);
        return;
    }
    shim_say(sh, "OK");
}

/* To a waiting `start` (ROOT/ID/started.fifo): "OK" once the program is forked, or "ERR CODE
 * MESSAGE" when the container ended before (a startContainer hook failed). No reader: no one asks. */
static void shim_tell_start(const struct shim *sh, const char *msg)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/started.fifo", sh->dir);
    int fd = open(p, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return;
    write_all(fd, msg, strlen(msg)); /* < PIPE_BUF: one piece */
    close(fd);
}

static void shim_started(void *arg, const struct sbx_started *info)
{
    (void)info;
    shim_tell_start(arg, "OK");
}

/* The state on the stdin of the hooks inside the container (their pid is the shim's, as for
 * every state document of gbox-runc). */
static char *hook_state(const json_t *doc, const char *status)
{
    json_t *pub = oci_state_public(doc);
    json_object_set_new(pub, "status", json_string(status));
    char *s = json_dumps(pub, JSON_COMPACT);
    json_decref(pub);
    return s;
}

static void __attribute__((noreturn)) shim_main(struct shim *sh, int console_slave)
{
    struct oci_config *c = sh->cfg;
    setsid();
    if (console_slave >= 0) {
        for (int fd = 0; fd < 3; fd++)
            dup2(console_slave, fd);
        close(console_slave);
    }
    struct sbx_err *err = NULL;
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/start.fifo", sh->dir);
    /* O_RDWR: the shim is a writer too, so the fifo never reports hang-up before start */
    c->spec.start_fd = open(p, O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (c->umask >= 0)
        umask((mode_t)c->umask);
    char adj[16];
    snprintf(adj, sizeof(adj), "%d", c->oom_score_adj);
    if (c->spec.start_fd < 0)
        sbx_err_set(&err, GBOX_EXIT_LAUNCH, errno, "open %s", p);
    else if (c->has_oom_score_adj && write_file("/proc/self/oom_score_adj", adj) < 0)
        sbx_err_set(&err, GBOX_EXIT_LAUNCH, errno, "process.oomScoreAdj: set oom_score_adj to %s", adj);
    c->spec.wait_start = true;
    c->spec.on_created = shim_created;
    c->spec.on_start = shim_started;
    c->spec.on_start_arg = sh;
    char *creating = hook_state(sh->doc, "creating"), *created = hook_state(sh->doc, "created");
    c->spec.create_hooks = (struct sbx_hooks){c->hooks[OCI_HOOK_CREATE_CONTAINER], c->n_hooks[OCI_HOOK_CREATE_CONTAINER], creating};
    c->spec.start_hooks = (struct sbx_hooks){c->hooks[OCI_HOOK_START_CONTAINER], c->n_hooks[OCI_HOOK_START_CONTAINER], created};
    struct sbx_result res;
    int code = GBOX_EXIT_LAUNCH;
    if (!err && sbx_run(&c->spec, &res, &err) == 0)
        code = res.exit_code;
    if (err) {
        char msg[1100];
        snprintf(msg, sizeof(msg), "ERR %d %s", err->code ? err->code : GBOX_EXIT_LAUNCH, err->msg);
        if (sh->ready_fd < 0) { /* after start: the container's stderr, the log and `start` */
            fprintf(stderr, "gbox: %s\n", err->msg);
            shim_tell_start(sh, msg);
        }
        log_line("error", err->msg);
        shim_say(sh, msg);
        sbx_err_free(&err);
    }
    shim_say(sh, "ERR 125 the container ended during setup");
    free(creating);
    free(created);
    _exit(code);
}

static int create_state_dir(const char *id, char *dir, size_t len, struct sbx_err **err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s", G.root);
    for (char *p = path + 1; *p; p++) { /* mkdir -p: containerd's shim passes /run/containerd/runc/NS */
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0711) < 0 && errno != EEXIST)
            return sbx_err_set(err, 1, errno, "create --root %s", path);
        *p = '/';
    }
    if (mkdir(G.root, 0711) < 0 && errno != EEXIST)
        return sbx_err_set(err, 1, errno, "create --root %s", G.root);
    snprintf(dir, len, "%s/%s", G.root, id);
    if (mkdir(dir, 0711) < 0) {
        if (errno == EEXIST)
            return sbx_err_set(err, 1, 0, "container %s already exists", id);
        return sbx_err_set(err, 1, errno, "create %s", dir);
    }
    return 0;
}

/* Everything create does before the shim: returns the shim's pid or -1. */
static pid_t do_create(const char *id, const char *bundle_arg, const char *console, struct oci_state *st,
                       struct sbx_err **err)
{
    char bundle[PATH_MAX], stage[PATH_MAX + 16], fifo[PATH_MAX + 16];
    if (!realpath(bundle_arg, bundle))
        return sbx_err_set(err, GBOX_EXIT_USAGE, errno, "bundle %s", bundle_arg), -1;
    if (create_state_dir(id, st->dir, sizeof(st->dir), err) < 0)
        return -1;
    st->lock_fd = open(st->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (st->lock_fd < 0 || flock(st->lock_fd, LOCK_EX) < 0)
        return sbx_err_set(err, 1, errno, "lock %s", st->dir), -1;
    snprintf(stage, sizeof(stage), "%s/stage", st->dir);
    snprintf(fifo, sizeof(fifo), "%s/start.fifo", st->dir);
    if (mkdir(stage, 0755) < 0 || mkfifo(fifo, 0600) < 0)
        return sbx_err_set(err, 1, errno, "create %s", stage), -1;
    snprintf(fifo, sizeof(fifo), "%s/started.fifo", st->dir);
    if (mkfifo(fifo, 0600) < 0)
        return sbx_err_set(err, 1, errno, "create %s", fifo), -1;
    struct oci_config c;
    if (oci_config_load(bundle, stage, &c, err) < 0 || oci_policy_apply(&c, err) < 0) {
        oci_config_free(&c);
        return -1;
    }
    if (!c.spec.cgroup_name) {
        /* the id and which --root: two state roots may hold the same id */
        uint32_t h = 2166136261u;
        for (const char *r = G.root; *r; r++)
            h = (h ^ (unsigned char)*r) * 16777619u;
        char name[180];
        snprintf(name, sizeof(name), "gbox-oci-%s-%08x", id, h);
        c.spec.cgroup_name = xstrdup(name);
    }
    oci_config_cgroup_mounts(&c);
    char created[64];
    st->doc = json_pack("{s:s,s:s,s:s,s:O,s:b,s:b,s:i,s:I}", "id", id, "bundle", bundle, "created",
                        now_rfc3339(created, sizeof(created)), "annotations", c.annotations, "started", 0,
                        "incomplete", 1, "shim_pid", 0, "shim_start", (json_int_t)0);
    int slave = -1;
    if (c.terminal && !console) {
        oci_config_free(&c);
        return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "process.terminal is true: --console-socket is required"), -1;
    }
    if (console && console_open(console, &slave, err) < 0) {
        oci_config_free(&c);
        return -1;
    }
    c.spec.console = slave >= 0;
    if (slave >= 0 && (c.console_rows || c.console_cols)) {
        struct winsize ws = {.ws_row = (unsigned short)c.console_rows, .ws_col = (unsigned short)c.console_cols};
        ioctl(slave, TIOCSWINSZ, &ws);
    }
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) < 0) {
        oci_config_free(&c);
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "pipe"), -1;
    }
    pid_t shim = fork();
    if (shim == 0) {
        close(ready[0]);
        close(st->lock_fd); /* the lock is create's, not the container's */
        json_object_set_new(st->doc, "shim_pid", json_integer(getpid()));
        json_object_set_new(st->doc, "shim_start", json_integer(proc_start_time(getpid())));
        struct shim sh = {&c, st->dir, st->doc, ready[1]};
        shim_main(&sh, slave);
    }
    close(ready[1]);
    if (slave >= 0)
        close(slave);
    oci_config_free(&c);
    if (shim < 0) {
        close(ready[0]);
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "fork the container's shim"), -1;
    }
    char msg[1200];
    size_t n = 0;
    ssize_t r;
    while (n + 1 < sizeof(msg) && (r = TEMP_RETRY(read(ready[0], msg + n, sizeof(msg) - 1 - n))) > 0)
        n += (size_t)r;
    msg[n] = '\0';
    close(ready[0]);
    if (strcmp(msg, "OK") == 0)
        return shim;
    int code = GBOX_EXIT_LAUNCH, off = 0;
    if (sscanf(msg, "ERR %d %n", &code, &off) < 1 || off == 0)
        snprintf(msg, sizeof(msg), "ERR 125 the container's shim ended without a word");
    TEMP_RETRY(waitpid(shim, NULL, 0));
    return sbx_err_set(err, code, 0, "%s", msg + (off ? off : 8)), -1;
}

static int cmd_create(int argc, char **argv, bool and_start);
static int signal_init(const json_t *doc, int sig);

/* state.json as the shim wrote it */
static json_t *oci_state_reload(const struct oci_state *st)
{
    char p[PATH_MAX + 16];
    snprintf(p, sizeof(p), "%s/state.json", st->dir);
    json_t *d = json_load_file(p, 0, NULL);
    return d ? d : json_object();
}
static int cmd_start(int argc, char **argv);
static int cmd_delete(int argc, char **argv);

static const struct option create_opts[] = {
    {"bundle", required_argument, NULL, 'b'}, {"pid-file", required_argument, NULL, 'p'},
    {"console-socket", required_argument, NULL, 'c'}, {"no-pivot", no_argument, NULL, 'N'},
    {"no-new-keyring", no_argument, NULL, 'K'}, {"preserve-fds", required_argument, NULL, 'F'},
    {"detach", no_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
};

static int cmd_create(int argc, char **argv, bool and_start)
{
    const char *bundle = ".", *pid_file = NULL, *console = NULL, *verb = and_start ? "run" : "create";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+b:dh", create_opts, NULL)) != -1) {
        switch (c) {
        case 'b': bundle = optarg; break;
        case 'p': pid_file = optarg; break;
        case 'c': console = optarg; break;
        case 'N': case 'K': case 'd': break; /* gbox always pivots; no keyring is created */
        case 'F':
            if (strcmp(optarg, "0") != 0)
                return usage_fail(verb, "--preserve-fds %s: passing extra fds is not supported", optarg);
            break;
        case 'h': fputs(oci_usage, stdout); return 0;
        default: return usage_fail(verb, "bad option (see gbox-runc --help)");
        }
    }
    if (optind != argc - 1)
        return usage_fail(verb, "expected exactly one container ID");
    const char *id = argv[optind];
    struct sbx_err *err = NULL;
    if (!oci_id_valid(id))
        return usage_fail(verb, "invalid container id \"%s\": expected 1-128 of letters, digits and _+-.", id);
    struct oci_state st = {.lock_fd = -1};
    pid_t shim = do_create(id, bundle, console, &st, &err);
    if (shim < 0) {
        if (st.dir[0] && (!err || !strstr(err->msg, "already exists")))
            oci_state_remove(st.dir);
        oci_state_close(&st);
        return oci_fail(&err);
    }
    if (pid_file && write_pid_file(pid_file, shim, &err) < 0) {
        /* the shim tears the sandbox down (cgroups included) once its init is gone */
        json_t *doc = oci_state_reload(&st);
        signal_init(doc, SIGKILL);
        json_decref(doc);
        TEMP_RETRY(waitpid(shim, NULL, 0));
        oci_state_remove(st.dir);
        oci_state_close(&st);
        return oci_fail(&err);
    }
    oci_state_close(&st);
    if (!and_start)
        return 0;
    char *sargv[] = {"start", (char *)id, NULL};
    int rc = cmd_start(2, sargv);
    int st_code = 0;
    if (rc != 0) /* a startContainer hook failed (the container stopped), or the shim is gone */
        kill(shim, SIGKILL);
    while (TEMP_RETRY(waitpid(shim, &st_code, 0)) < 0 && errno != ECHILD)
        ;
    char *dargv[] = {"delete", "--force", (char *)id, NULL};
    cmd_delete(3, dargv);
    if (rc != 0)
        return rc;
    return WIFEXITED(st_code) ? WEXITSTATUS(st_code) : 128 + WTERMSIG(st_code);
}

/* ---- verbs on one container ------------------------------------------------------------------- */

/* Parse "[options] ID": the common shape of start/state/pause/resume/ps. */
static const char *one_id(const char *verb, int argc, char **argv, const struct option *opts, const char *short_opts,
                          int (*on_opt)(int c, const char *arg, void *ctx), void *ctx, int *rc)
{
    int c;
    optind = 1;
    *rc = 0;
    while ((c = getopt_long(argc, argv, short_opts, opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(oci_usage, stdout);
            *rc = -1;
            return NULL;
        }
        if (c == '?' || !on_opt || on_opt(c, optarg, ctx) < 0) {
            *rc = usage_fail(verb, "bad option (see gbox-runc --help)");
            return NULL;
        }
    }
    if (optind != argc - 1) {
        *rc = usage_fail(verb, "expected exactly one container ID");
        return NULL;
    }
    return argv[optind];
}

static const struct option help_only[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};

static int open_or_fail(const char *id, struct oci_state *st)
{
    struct sbx_err *err = NULL;
    if (oci_state_open(G.root, id, st, &err) < 0) {
        oci_state_close(st);
        return oci_fail(&err);
    }
    return 0;
}

static int __attribute__((format(printf, 3, 4))) state_fail(struct oci_state *st, int code, const char *fmt, ...)
{
    struct sbx_err *err = NULL;
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sbx_err_set(&err, code, 0, "%s", msg);
    oci_state_close(st);
    return oci_fail(&err);
}

/* After the go: wait until the shim says the program was forked ("OK"), or why the container
 * ended before (the startContainer hooks run in between); closes said. */
static int start_outcome(const char *id, const json_t *doc, int said, struct sbx_err **err)
{
    pid_t shim = (pid_t)json_integer_value(json_object_get(doc, "shim_pid"));
    int pidfd = (int)syscall(SYS_pidfd_open, shim, 0);
    if (pidfd >= 0 && !oci_pid_alive(shim, json_integer_value(json_object_get(doc, "shim_start")))) {
        close(pidfd);
        pidfd = -1;
    }
    char msg[1200];
    size_t n = 0;
    for (;;) {
        struct pollfd p[2] = {{.fd = said, .events = POLLIN}, {.fd = pidfd, .events = POLLIN}};
        /* the shim gone already: what it said is in the fifo, or nothing will be */
        if (poll(p, 2, pidfd < 0 ? 0 : -1) < 0 && errno != EINTR)
            break;
        ssize_t r = p[0].revents ? TEMP_RETRY(read(said, msg + n, sizeof(msg) - 1 - n)) : 0;
        if (r > 0)
            n += (size_t)r;
        if ((p[0].revents & POLLHUP) || (r == 0 && p[0].revents) || p[1].revents || pidfd < 0 ||
            n >= sizeof(msg) - 1)
            break;
    }
    msg[n] = '\0';
    close(said);
    if (pidfd >= 0)
        close(pidfd);
    if (strncmp(msg, "OK", 2) == 0)
        return 0;
    int code = GBOX_EXIT_LAUNCH, off = 0;
    if (sscanf(msg, "ERR %d %n", &code, &off) >= 1 && off > 0)
        return sbx_err_set(err, code, 0, "start container %s: %s", id, msg + off);
    return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0, "start container %s: it ended before its program started", id);
}

static int cmd_start(int argc, char **argv)
{
    int rc;
    const char *id = one_id("start", argc, argv, help_only, "+h", NULL, NULL, &rc);
    if (!id)
        return rc < 0 ? 0 : rc;
    struct oci_state st;
    if ((rc = open_or_fail(id, &st)) != 0)
        return rc;
    const char *status = oci_state_status(st.doc);
    if (strcmp(status, "created") != 0)
        return state_fail(&st, 1, "container %s is %s: only a created container can be started", id, status);
    char fifo[PATH_MAX + 16];
    snprintf(fifo, sizeof(fifo), "%s/started.fifo", st.dir);
    /* opened before the go: the shim says there whether the program started */
    int said = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    snprintf(fifo, sizeof(fifo), "%s/start.fifo", st.dir);
    int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    char go = 1;
    if (fd < 0 || write(fd, &go, 1) != 1) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        if (said >= 0)
            close(said);
        return state_fail(&st, 1, "start container %s: its shim is gone (%s)", id, strerror(e));
    }
    close(fd);
    json_object_set_new(st.doc, "started", json_true());
    struct sbx_err *err = NULL;
    if (oci_state_save(&st, &err) < 0 || (said >= 0 && start_outcome(id, st.doc, said, &err) < 0)) {
        oci_state_close(&st);
        return oci_fail(&err);
    }
    /* poststart: failures are logged, the container keeps running (runtime spec) */
    char bundle[PATH_MAX + 16];
    snprintf(bundle, sizeof(bundle), "%s", json_string_value(json_object_get(st.doc, "bundle")));
    struct oci_config c;
    if (oci_config_load(bundle, "/", &c, &err) == 0 && run_hooks(&c, OCI_HOOK_POSTSTART, st.doc, &err) < 0) {
        log_line("warning", err->msg);
        fprintf(stderr, "gbox: warning: %s\n", err->msg);
    }
    sbx_err_free(&err);
    oci_config_free(&c);
    oci_state_close(&st);
    return 0;
}

static int cmd_state(int argc, char **argv)
{
    int rc;
    const char *id = one_id("state", argc, argv, help_only, "+h", NULL, NULL, &rc);
    if (!id)
        return rc < 0 ? 0 : rc;
    struct oci_state st;
    if ((rc = open_or_fail(id, &st)) != 0)
        return rc;
    json_t *pub = oci_state_public(st.doc);
    char *s = json_dumps(pub, JSON_INDENT(2));
    printf("%s\n", s);
    free(s);
    json_decref(pub);
    oci_state_close(&st);
    return 0;
}

static int signal_init(const json_t *doc, int sig)
{
    pid_t init = (pid_t)json_integer_value(json_object_get(doc, "init_pid"));
    int fd = (int)syscall(SYS_pidfd_open, init, 0);
    if (fd < 0)
        return -1;
    /* the pidfd names the process we checked, not a later one with a reused pid */
    long long start = json_integer_value(json_object_get(doc, "init_start"));
    int rc = oci_pid_alive(init, start) ? (int)syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) : (errno = ESRCH, -1);
    close(fd);
    return rc;
}

static int all_opt(int c, const char *arg, void *ctx)
{
    (void)arg;
    if (c != 'a')
        return -1;
    *(bool *)ctx = true;
    return 0;
}

static int cmd_kill(int argc, char **argv)
{
    static const struct option opts[] = {{"all", no_argument, NULL, 'a'}, {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    bool all = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+ah", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(oci_usage, stdout);
            return 0;
        }
        if (all_opt(c, optarg, &all) < 0)
            return usage_fail("kill", "bad option (see gbox-runc --help)");
    }
    if (optind != argc - 1 && optind != argc - 2)
        return usage_fail("kill", "expected ID [SIGNAL]");
    const char *id = argv[optind];
    const char *signame = optind == argc - 2 ? argv[optind + 1] : "TERM";
    int sig = signal_from_name(signame);
    if (sig < 0)
        return usage_fail("kill", "unknown signal \"%s\": expected a name (TERM, SIGTERM) or a number", signame);
    struct oci_state st;
    int rc;
    if ((rc = open_or_fail(id, &st)) != 0)
        return rc;
    const char *status = oci_state_status(st.doc);
    if (strcmp(status, "created") != 0 && strcmp(status, "running") != 0 && strcmp(status, "paused") != 0)
        return state_fail(&st, 1, "container %s is %s: nothing to signal", id, status);
    /* created: the program has not started, init waits with the forwarded signals blocked;
     * any signal ends the container (there is no program yet to handle it) */
    if (strcmp(status, "created") == 0)
        sig = SIGKILL;
    struct sbx_started where;
    oci_state_where(st.doc, &where);
    if (all && sig == SIGKILL)
        sbx_cgroup_kill_at(&where);
    if (signal_init(st.doc, sig) < 0 && errno != ESRCH)
        return state_fail(&st, 1, "signal container %s: %s", id, strerror(errno));
    oci_state_close(&st);
    return 0;
}

/* Wait (up to ~10 s, scaled) for a process that is not our child to go away. */
static void wait_gone(pid_t pid, long long start)
{
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0)
        return;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (oci_pid_alive(pid, start))
        poll(&p, 1, 10000);
    close(fd);
}

static int force_opt(int c, const char *arg, void *ctx)
{
    (void)arg;
    if (c != 'f')
        return -1;
    *(bool *)ctx = true;
    return 0;
}

static int cmd_delete(int argc, char **argv)
{
    static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    bool force = false;
    int rc;
    const char *id = one_id("delete", argc, argv, opts, "+fh", force_opt, &force, &rc);
    if (!id)
        return rc < 0 ? 0 : rc;
    struct oci_state st;
    if ((rc = open_or_fail(id, &st)) != 0)
        return rc;
    const char *status = oci_state_status(st.doc);
    if (strcmp(status, "stopped") != 0) {
        if (!force)
            return state_fail(&st, 1, "container %s is %s: stop it first, or delete --force", id, status);
        struct sbx_started where;
        oci_state_where(st.doc, &where);
        if (where.cgroup_v2 || where.n_cgroup_v1)
            sbx_cgroup_kill_at(&where);
        signal_init(st.doc, SIGKILL);
        /* the shim sees its sandbox end and removes the cgroups; kill it only if it hangs */
        pid_t shim = (pid_t)json_integer_value(json_object_get(st.doc, "shim_pid"));
        long long start = json_integer_value(json_object_get(st.doc, "shim_start"));
        wait_gone(shim, start);
        if (oci_pid_alive(shim, start)) {
            int fd = (int)syscall(SYS_pidfd_open, shim, 0);
            if (fd >= 0) {
                syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
                close(fd);
            }
        }
        wait_gone(shim, start);
    }
    /* the shim removed the cgroups when the sandbox ended; a killed shim could not */
    struct sbx_started where;
    oci_state_where(st.doc, &where);
    if (where.cgroup_v2 || where.n_cgroup_v1)
        sbx_cgroup_remove_at(&where);
    char bundle[PATH_MAX];
    const char *b = json_string_value(json_object_get(st.doc, "bundle"));
    snprintf(bundle, sizeof(bundle), "%s", b ? b : "");
    struct sbx_err *err = NULL;
    struct oci_config c;
    if (b && oci_config_load(bundle, "/", &c, &err) == 0 && run_hooks(&c, OCI_HOOK_POSTSTOP, st.doc, &err) < 0) {
        log_line("warning", err->msg);
        fprintf(stderr, "gbox: warning: %s\n", err->msg);
    }
    sbx_err_free(&err);
    if (b)
        oci_config_free(&c);
    oci_state_remove(st.dir);
    oci_state_close(&st);
    return 0;
}

static int freeze(const char *verb, int argc, char **argv, bool on)
{
    int rc;
    const char *id = one_id(verb, argc, argv, help_only, "+h", NULL, NULL, &rc);
    if (!id)
        return rc < 0 ? 0 : rc;
    struct oci_state st;
    if ((rc = open_or_fail(id, &st)) != 0)
        return rc;
    const char *status = oci_state_status(st.doc);
    if (strcmp(status, on ? "running" : "paused") != 0)
        return state_fail(&st, 1, "container %s is %s: cannot change its pause state", id, status);
    const char *v2 = json_string_value(json_object_get(st.doc, "cgroup_v2"));
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/cgroup.freeze", v2 ? v2 : "");
    if (!v2 || write_file(p, on ? "1" : "0") < 0)
        return state_fail(&st, GBOX_EXIT_LAUNCH, "%s %s: the cgroup v2 freezer is not available", verb, id);
    /* wait until the kernel says it is done */
    for (int i = 0; i < 500 && strcmp(oci_state_status(st.doc), on ? "paused" : "running") != 0; i++)
        usleep(10000);
    oci_state_close(&st);
    return 0;
}

static int cmd_pause(int argc, char **argv) { return freeze("pause", argc, argv, true); }
static int cmd_resume(int argc, char **argv) { return freeze("resume", argc, argv, false); }

static int format_opt(int c, const char *arg, void *ctx)
{
    if (c != 'f' || (strcmp(arg, "json") != 0 && strcmp(arg, "table") != 0))
        return -1;
    *(bool *)ctx = strcmp(arg, "json") == 0;
    return 0;
}

static int cmd_ps(int argc, char **argv)
{
    static const struct option opts[] = {{"format", required_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    bool json = false;
    int rc;
    const char *id = one_id("ps", argc, argv, opts, "+f:h", format_opt, &json, &rc);
    if (!id)
        return rc < 0 ? 0 : rc;
    struct oci_state st;
    if ((rc = open_or_fail(id, &st)) != 0)
        return rc;
    const char *v2 = json_string_value(json_object_get(st.doc, "cgroup_v2"));
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/cgroup.procs", v2 ? v2 : "");
    size_t len;
    char *procs = v2 && strcmp(oci_state_status(st.doc), "stopped") != 0 ? read_file(p, &len) : NULL;
    json_t *a = json_array();
    for (char *line = procs ? strtok(procs, "\n") : NULL; line; line = strtok(NULL, "\n"))
        json_array_append_new(a, json_integer(strtol(line, NULL, 10)));
    free(procs);
    if (json) {
        char *s = json_dumps(a, JSON_COMPACT);
        printf("%s\n", s);
        free(s);
    } else {
        printf("PID\n");
        size_t i;
        json_t *e;
        json_array_foreach(a, i, e)
            printf("%lld\n", (long long)json_integer_value(e));
    }
    json_decref(a);
    oci_state_close(&st);
    return 0;
}

/* ---- exec ----------------------------------------------------------------------------------- */

struct exec_args {
    const char *process, *pid_file, *console, *cwd, *user;
    bool detach, tty;
    const char *env[64];
    size_t n_env;
};

/* The process to start: --process FILE, or the container's own process with CMD, --cwd, --env,
 * --user over it. */
static int exec_spec(const struct exec_args *a, int argc, char **argv, struct oci_config *c, bool *terminal,
                     struct sbx_err **err)
{
    if (a->process) {
        json_error_t je;
        json_t *proc = json_load_file(a->process, JSON_REJECT_DUPLICATES, &je);
        if (!proc)
            return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "%s: line %d, column %d: %s", a->process, je.line,
                               je.column, je.text);
        int rc = oci_process_apply(proc, a->process, &c->spec, terminal, err);
        json_decref(proc);
        return rc;
    }
    if (argc == 0)
        return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "exec: expected --process FILE or a command after the ID");
    for (char **p = c->spec.argv; p && *p; p++)
        free(*p);
    free(c->spec.argv);
    c->spec.argv = xcalloc((size_t)argc + 1, sizeof(char *));
    for (int i = 0; i < argc; i++)
        c->spec.argv[i] = xstrdup(argv[i]);
    *terminal = a->tty;
    if (a->cwd) {
        free(c->spec.cwd);
        c->spec.cwd = xstrdup(a->cwd);
    }
    if (a->user) {
        unsigned uid, gid = 0;
        int n = sscanf(a->user, "%u:%u", &uid, &gid);
        if (n < 1)
            return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "exec: --user %s: expected UID[:GID]", a->user);
        c->spec.uid = uid;
        c->spec.gid = n == 2 ? gid : 0;
    }
    size_t n = 0;
    while (c->spec.envp && c->spec.envp[n])
        n++;
    c->spec.envp = realloc(c->spec.envp, (n + a->n_env + 1) * sizeof(char *));
    if (!c->spec.envp)
        abort();
    for (size_t i = 0; i < a->n_env; i++)
        c->spec.envp[n++] = xstrdup(a->env[i]);
    c->spec.envp[n] = NULL;
    return 0;
}

static int cmd_exec(int argc, char **argv)
{
    static const struct option opts[] = {
        {"process", required_argument, NULL, 'p'}, {"detach", no_argument, NULL, 'd'},
        {"pid-file", required_argument, NULL, 'P'}, {"tty", no_argument, NULL, 't'},
        {"console-socket", required_argument, NULL, 'c'}, {"cwd", required_argument, NULL, 'C'},
        {"env", required_argument, NULL, 'e'}, {"user", required_argument, NULL, 'u'},
        {"no-new-privs", no_argument, NULL, 'n'}, {"preserve-fds", required_argument, NULL, 'F'},
        {"process-label", required_argument, NULL, 'L'}, {"apparmor", required_argument, NULL, 'A'},
        {"cap", required_argument, NULL, 'K'}, {"cgroup", required_argument, NULL, 'G'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    struct exec_args a = {0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+p:dte:u:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': a.process = optarg; break;
        case 'd': a.detach = true; break;
        case 'P': a.pid_file = optarg; break;
        case 't': a.tty = true; break;
        case 'c': a.console = optarg; break;
        case 'C': a.cwd = optarg; break;
        case 'u': a.user = optarg; break;
        case 'n': break; /* always set */
        case 'e':
            if (a.n_env == ARRAY_LEN(a.env) || !strchr(optarg, '='))
                return usage_fail("exec", "--env %s: expected NAME=VALUE (at most 64)", optarg);
            a.env[a.n_env++] = optarg;
            break;
        case 'F':
            if (strcmp(optarg, "0") != 0)
                return usage_fail("exec", "--preserve-fds %s: passing extra fds is not supported", optarg);
            break;
        case 'L': case 'A': case 'K': case 'G':
            return usage_fail("exec", "this option is not supported by gbox");
        case 'h': fputs(oci_usage, stdout); return 0;
        default: return usage_fail("exec", "bad option (see gbox-runc --help)");
        }
    }
    if (optind >= argc)
        return usage_fail("exec", "expected a container ID");
    const char *id = argv[optind];
    struct oci_state st;
    int rc;
    if ((rc = open_or_fail(id, &st)) != 0)
        return rc;
    const char *status = oci_state_status(st.doc);
    if (strcmp(status, "running") != 0)
        return state_fail(&st, 1, "container %s is %s: exec needs a running container", id, status);
    struct sbx_err *err = NULL;
    struct oci_config cfg;
    char bundle[PATH_MAX];
    snprintf(bundle, sizeof(bundle), "%s", json_string_value(json_object_get(st.doc, "bundle")));
    bool terminal = false;
    int slave = -1;
    if (oci_config_load(bundle, "/", &cfg, &err) < 0 || oci_policy_apply(&cfg, &err) < 0 ||
        exec_spec(&a, argc - optind - 1, argv + optind + 1, &cfg, &terminal, &err) < 0)
        goto fail;
    if (terminal && !a.console) {
        sbx_err_set(&err, GBOX_EXIT_USAGE, 0, "exec: a terminal needs --console-socket");
        goto fail;
    }
    if (terminal && console_open(a.console, &slave, &err) < 0)
        goto fail;
    int saved[3] = {-1, -1, -1};
    if (slave >= 0)
        for (int fd = 0; fd < 3; fd++) {
            saved[fd] = dup(fd);
            dup2(slave, fd);
        }
    struct sbx_started where;
    oci_state_where(st.doc, &where);
    struct sbx_exec_opts o = {.keep_stdio = true, .detach = a.detach, .console = slave >= 0};
    pid_t pid;
    int pidfd = sbx_exec_in_opts(&where, &cfg.spec, cfg.spec.argv, &o, &pid, &err);
    for (int fd = 0; fd < 3; fd++)
        if (saved[fd] >= 0) {
            dup2(saved[fd], fd);
            close(saved[fd]);
        }
    if (slave >= 0)
        close(slave);
    if (pidfd < 0 || (a.pid_file && write_pid_file(a.pid_file, pid, &err) < 0))
        goto fail;
    oci_state_close(&st);
    oci_config_free(&cfg);
    if (a.detach) {
        close(pidfd);
        return 0;
    }
    int status_code = 0;
    TEMP_RETRY(waitpid(pid, &status_code, 0));
    close(pidfd);
    return WIFEXITED(status_code) ? WEXITSTATUS(status_code) : 128 + WTERMSIG(status_code);
fail:
    oci_config_free(&cfg);
    oci_state_close(&st);
    return oci_fail(&err);
}

/* ---- list, features, update, spec ------------------------------------------------------------ */

static int cmd_list(int argc, char **argv)
{
    static const struct option opts[] = {{"format", required_argument, NULL, 'f'}, {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    bool json = false, quiet = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+f:qh", opts, NULL)) != -1) {
        if (c == 'q')
            quiet = true;
        else if (c == 'h')
            return fputs(oci_usage, stdout), 0;
        else if (c != 'f' || format_opt(c, optarg, &json) < 0)
            return usage_fail("list", "bad option: --format json|table, -q");
    }
    json_t *all = json_array();
    DIR *d = opendir(G.root);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!oci_id_valid(e->d_name))
            continue;
        struct oci_state st;
        struct sbx_err *err = NULL;
        if (oci_state_open(G.root, e->d_name, &st, &err) == 0)
            json_array_append_new(all, oci_state_public(st.doc));
        sbx_err_free(&err);
        oci_state_close(&st);
    }
    if (d)
        closedir(d);
    size_t i;
    json_t *s;
    if (json) {
        char *out = json_dumps(all, JSON_COMPACT);
        printf("%s\n", out);
        free(out);
    } else {
        if (!quiet)
            printf("%-24s %-8s %-10s %s\n", "ID", "PID", "STATUS", "BUNDLE");
        json_array_foreach(all, i, s)
        {
            if (quiet)
                printf("%s\n", json_string_value(json_object_get(s, "id")));
            else
                printf("%-24s %-8lld %-10s %s\n", json_string_value(json_object_get(s, "id")),
                       (long long)json_integer_value(json_object_get(s, "pid")),
                       json_string_value(json_object_get(s, "status")),
                       json_is_string(json_object_get(s, "bundle")) ? json_string_value(json_object_get(s, "bundle")) : "");
        }
    }
    json_decref(all);
    return 0;
}

static int cmd_features(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    json_t *caps = json_array();
    for (int i = 0; i < 64; i++)
        if (cap_name(i))
            json_array_append_new(caps, json_string(cap_name(i)));
    json_t *f = json_pack(
        "{s:s,s:s,s:[ssssss],s:[sssssssssssssssssss],s:{s:[sssssss],s:o,s:{s:b,s:b,s:b},"
        "s:{s:b,s:[sssssss],s:[sssssss],s:[ss]},s:{s:b}},s:{s:s}}",
        "ociVersionMin", "1.0.0", "ociVersionMax", "1.1.0", "hooks", "prestart", "createRuntime",
        "createContainer", "startContainer", "poststart", "poststop",
        "mountOptions", "bind", "rbind", "ro", "rw", "nosuid", "nodev", "noexec", "suid", "dev", "exec",
        "relatime", "strictatime", "noatime", "private", "rprivate", "slave", "rslave", "mode=", "size=",
        "linux", "namespaces", "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "capabilities", caps,
        "cgroup", "v1", 1, "v2", 1, "systemd", 0, "seccomp", "enabled", 1, "actions", "SCMP_ACT_ALLOW",
        "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP",
        "SCMP_ACT_LOG", "operators", "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE",
        "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ", "supportedFlags", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        "SECCOMP_FILTER_FLAG_LOG", "apparmor", "enabled", 0, "annotations", OCI_POLICY_ANNOTATION,
        "a gbox domain policy applied over the config (the stricter wins)");
    if (!f)
        return 1;
    char *s = json_dumps(f, JSON_INDENT(2));
    printf("%s\n", s);
    free(s);
    json_decref(f);
    return 0;
}

/* update --resources FILE: the limits the object names change, the others stay (memory, swap,
 * pids, cpu shares/quota/period/cpus/mems, blockIO weight); all or nothing (sbx_cgroup_set_at). */
static int cmd_update(int argc, char **argv)
{
    static const struct option opts[] = {{"resources", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    const char *file = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+r:h", opts, NULL)) != -1) {
        if (c == 'r')
            file = optarg;
        else if (c == 'h')
            return fputs(oci_usage, stdout), 0;
        else
            return usage_fail("update", "only --resources FILE is supported");
    }
    if (!file || optind != argc - 1)
        return usage_fail("update", "expected --resources FILE ID");
    const char *id = argv[optind];
    struct sbx_err *err = NULL;
    json_error_t je;
    json_t *r = strcmp(file, "-") == 0 ? json_loadf(stdin, JSON_REJECT_DUPLICATES, &je)
                                       : json_load_file(file, JSON_REJECT_DUPLICATES, &je);
    if (!r) {
        sbx_err_set(&err, GBOX_EXIT_USAGE, 0, "%s: line %d, column %d: %s", file, je.line, je.column, je.text);
        return oci_fail(&err);
    }
    struct sbx_cgroup_set set;
    int rc = oci_update_parse(r, file, &set, &err);
    json_decref(r);
    if (rc < 0)
        return oci_fail(&err);
    struct oci_state st;
    if ((rc = open_or_fail(id, &st)) == 0) {
        const char *status = oci_state_status(st.doc);
        struct sbx_started where;
        oci_state_where(st.doc, &where);
        if (strcmp(status, "stopped") == 0)
            sbx_err_set(&err, 1, 0, "update %s: the container is stopped", id);
        else if (sbx_cgroup_set_at(&where, &set, &err) < 0)
            sbx_err_wrap(&err, "update %s (%s)", id, file);
        oci_state_close(&st);
        rc = err ? oci_fail(&err) : 0;
    }
    free((char *)set.cpuset_cpus);
    free((char *)set.cpuset_mems);
    return rc;
}

/* ---- dispatch --------------------------------------------------------------------------------- */

static int cmd_version(void)
{
    printf("gbox-runc version %s\nspec: 1.1.0\n", GBOX_VERSION);
    return 0;
}

static const struct {
    const char *name;
    int (*fn)(int, char **);
} verbs[] = {
    {"start", cmd_start}, {"state", cmd_state},   {"kill", cmd_kill},       {"delete", cmd_delete},
    {"exec", cmd_exec},   {"ps", cmd_ps},         {"pause", cmd_pause},     {"resume", cmd_resume},
    {"list", cmd_list},   {"features", cmd_features}, {"update", cmd_update}, {"spec", oci_cmd_spec},
};

/* Value of a global option given as "--opt VALUE" or "--opt=VALUE"; advances *i. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] == '\0' && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

int cmd_oci(int argc, char **argv)
{
    int i = 1;
    const char *log = NULL, *fmt = "text", *v;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if ((v = opt_value(argc, argv, &i, "--root")))
            G.root = v;
        else if ((v = opt_value(argc, argv, &i, "--log-format")))
            fmt = v;
        else if ((v = opt_value(argc, argv, &i, "--log")))
            log = v;
        else if (strcmp(argv[i], "--debug") == 0)
            ;
        else if ((v = opt_value(argc, argv, &i, "--rootless"))) {
            if (strcmp(v, "false") != 0 && strcmp(v, "auto") != 0)
                return usage_fail("gbox-runc", "--rootless %s: gbox runs containers as root only", v);
        } else if (strcmp(argv[i], "--systemd-cgroup") == 0)
            return usage_fail("gbox-runc", "--systemd-cgroup is not supported: gbox creates cgroups beneath its "
                                           "own (use podman --cgroup-manager cgroupfs, containerd SystemdCgroup = false)");
        else if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-v") == 0)
            return cmd_version();
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return fputs(oci_usage, stdout), 0;
        else
            return usage_fail("gbox-runc", "unknown global option \"%s\"", argv[i]);
    }
    if (strcmp(fmt, "json") != 0 && strcmp(fmt, "text") != 0)
        return usage_fail("gbox-runc", "--log-format %s: expected text or json", fmt);
    G.log_json = strcmp(fmt, "json") == 0;
    if (log && !(G.log = fopen(log, "ae"))) {
        struct sbx_err *err = NULL;
        sbx_err_set(&err, GBOX_EXIT_USAGE, errno, "--log %s", log);
        return oci_fail(&err);
    }
    int rc;
    if (i >= argc) {
        fputs(oci_usage, stderr);
        rc = GBOX_EXIT_USAGE;
    } else if (strcmp(argv[i], "create") == 0) {
        rc = cmd_create(argc - i, argv + i, false);
    } else if (strcmp(argv[i], "run") == 0) {
        rc = cmd_create(argc - i, argv + i, true);
    } else {
        rc = -1;
        for (size_t k = 0; k < ARRAY_LEN(verbs) && rc == -1; k++)
            if (strcmp(verbs[k].name, argv[i]) == 0)
                rc = verbs[k].fn(argc - i, argv + i);
        if (rc == -1)
            rc = usage_fail("gbox-runc", "unknown command \"%s\" (see --help)", argv[i]);
    }
    if (G.log)
        fclose(G.log);
    return rc;
}
