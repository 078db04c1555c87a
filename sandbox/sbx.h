/* sbx.h — the public interface of gbox's sandbox library.
 *
 * runtime/ builds a `struct sbx_spec` (a plain, fully resolved plan: nothing in it is parsed,
 * defaulted or inherited any more) and hands it to sbx_launch(). Everything in sandbox/ is driven
 * by this structure alone; it never sees JSON, policies or the daemon.
 *
 * Conventions: a function that can fail takes `struct sbx_err **err` last and returns < 0 with
 * *err set (see docs/error-handling.md). The library never exits and never prints.
 */
#ifndef GBOX_SBX_H
#define GBOX_SBX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- errors ------------------------------------------------------------------------------- */

struct sbx_err {
    int errnum;  /* errno value, 0 when not an OS error */
    int code;    /* a GBOX_EXIT_* code the CLI should exit with */
    char msg[1024];
};

/* Create an error. msg is printf-style; when errnum != 0, ": strerror(errnum)" is appended. */
int sbx_err_set(struct sbx_err **err, int code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Prefix context to an existing error ("policy x: " + old message). Returns -1. */
int sbx_err_wrap(struct sbx_err **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbx_err_free(struct sbx_err **err);

/* ---- exit codes (also in docs/gbox.1.md) --------------------------------------------------
 * The program's own exit code passes through; a program killed by signal N gives 128+N.
 * gbox's own outcomes use codes a program is unlikely to pick. */
enum {
    GBOX_EXIT_USAGE = 2,        /* bad command line or invalid policy: nothing ran */
    GBOX_EXIT_LAUNCH = 125,     /* the sandbox could not be set up (fail closed) */
    GBOX_EXIT_CANNOT_EXEC = 126,/* the program exists but cannot be executed */
    GBOX_EXIT_NOT_FOUND = 127,  /* the program or its interpreter does not exist */
    GBOX_EXIT_TIMEOUT = 124,    /* wall-clock timeout: the whole sandbox was killed */
    GBOX_EXIT_SECCOMP = 159,    /* killed for a forbidden syscall (128 + SIGSYS) */
    GBOX_EXIT_OOM = 137,        /* killed by the out-of-memory killer (128 + SIGKILL) */
};

/* ---- the plan ----------------------------------------------------------------------------- */

enum sbx_mount_kind {
    SBX_MOUNT_BIND,     /* bind source onto target (ro unless writable) */
    SBX_MOUNT_TMPFS,    /* tmpfs at target, size and mode */
    SBX_MOUNT_PROC,     /* a new procfs at target */
    SBX_MOUNT_DEV,      /* minimal /dev at target: null zero full random urandom tty, pts, shm */
    SBX_MOUNT_SYSFS,    /* sysfs read-only at target */
    SBX_MOUNT_EMPTY_RO, /* an empty read-only directory at target (e.g. /sys when absent) */
    SBX_MOUNT_MASK,     /* hide target: /dev/null over a file, an empty ro tmpfs over a dir */
    SBX_MOUNT_READONLY, /* remount target read-only */
    SBX_MOUNT_LAYERS,   /* a read-only stack of module layers at target (an overlay; one layer:
                           a read-only bind) */
    SBX_MOUNT_MQUEUE,   /* a POSIX message queue file system at target (OCI front end) */
};

struct sbx_mount {
    enum sbx_mount_kind kind;
    char *source;      /* BIND: host path (opened O_PATH by the parent before clone) */
    char *target;      /* absolute path inside the sandbox */
    bool writable;     /* BIND */
    bool file;         /* BIND: the source is a file, not a directory */
    bool device;       /* BIND: the source is a host device node (OCI linux.devices): the mount
                          keeps dev access (every other bind is nodev), and is noexec */
    bool optional;     /* MASK/READONLY: a missing target is fine */
    uint64_t size;     /* TMPFS: bytes */
    unsigned mode;     /* TMPFS: permission bits */
    char **layers;     /* LAYERS: host directories, top first (opened like the root's layers) */
    size_t n_layers;
};

/* How the overlay is mounted: AUTO tries the new mount API with layers passed as /proc/self/fd
 * strings (fsconfig "lowerdir+", Linux 6.8), then as fds (FSCONFIG_SET_FD, 6.13), then the
 * legacy mount(2) option string; the others force one way (tests). */
enum sbx_overlay_api { SBX_OVERLAY_AUTO, SBX_OVERLAY_FD, SBX_OVERLAY_STRING, SBX_OVERLAY_LEGACY };

/* The kernel's limit on overlay lower layers (OVL_MAX_STACK). */
#define SBX_MAX_LAYERS 500


/* Network: NONE a new namespace with nothing up (not even lo); LOOPBACK a new namespace with lo
 * up; VETH lo up plus a veth link to gbox's own namespace (struct sbx_veth); HOST no new network
 * namespace at all (ns_flags without CLONE_NEWNET). */
enum sbx_net_mode { SBX_NET_NONE, SBX_NET_LOOPBACK, SBX_NET_VETH, SBX_NET_HOST };

enum sbx_proto { SBX_PROTO_ANY, SBX_PROTO_TCP, SBX_PROTO_UDP, SBX_PROTO_ICMP };

/* One allowed kind of outgoing traffic. Addresses are IPv4 in network byte order. */
struct sbx_egress_rule {
    uint32_t net;             /* destination network ... */
    unsigned prefix;          /* ... and its prefix length (0..32) */
    enum sbx_proto proto;
    uint16_t port_lo, port_hi;/* TCP/UDP destination ports; 0, 0: any */
};

/* The veth link of SBX_NET_VETH, fully resolved (addresses already allocated by runtime/). */
struct sbx_veth {
    char host_ifname[16];     /* the end in gbox's own namespace: "gb<pid>-<n>" (< IFNAMSIZ) */
    char ifname[16];          /* the end inside the sandbox ("eth0") */
    uint32_t host_addr, addr; /* host end and sandbox end, network byte order */
    unsigned prefix;          /* of the link subnet both addresses are in */
    bool default_route;       /* inside: default via host_addr */
    bool egress_filter;       /* install the allowlist below (empty: only replies get out) */
    struct sbx_egress_rule *egress;
    size_t n_egress;
};

enum sbx_cmp { SBX_CMP_EQ, SBX_CMP_NE, SBX_CMP_LT, SBX_CMP_LE, SBX_CMP_GT, SBX_CMP_GE, SBX_CMP_MASKED_EQ };

struct sbx_arg_cond {
    unsigned index;
    enum sbx_cmp op;
    uint64_t value;
    uint64_t mask; /* MASKED_EQ */
};

/* A seccomp action: allow, errno(N), kill (the sandbox dies and the parent learns the syscall),
 * log, trap; KILL_PROCESS: the kernel kills the process at once, no notification (OCI profiles'
 * SCMP_ACT_KILL*: any number of filters may use it). */
enum sbx_action_kind { SBX_ACT_ALLOW, SBX_ACT_ERRNO, SBX_ACT_KILL, SBX_ACT_LOG, SBX_ACT_TRAP, SBX_ACT_KILL_PROCESS };
struct sbx_action {
    enum sbx_action_kind kind;
    int errnum; /* ERRNO */
};

struct sbx_syscall_rule {
    int nr; /* native syscall number (resolved by runtime/) */
    struct sbx_action action;
    unsigned n_args;
    struct sbx_arg_cond args[6];
};

/* One BPF program. */
struct sbx_filter {
    struct sbx_action default_action;
    struct sbx_syscall_rule *rules;
    size_t n_rules;
};

/* The sandbox's filters, all loaded (the kernel applies the most restrictive answer). runtime/
 * uses a second filter, defaulting to allow, for conditions that refine an unconditional rule of
 * the first (libseccomp cannot express "if condition then A else B" on one syscall). At most one
 * filter may contain kill actions (they need the one seccomp listener). */
#define SBX_MAX_FILTERS 3 /* a policy's two, plus an OCI config's own profile */
struct sbx_seccomp {
    struct sbx_filter filters[SBX_MAX_FILTERS];
    size_t n_filters;
};

/* Throttling of one block device (a whole disk: partitions are resolved by runtime/); a field
 * < 0 means "not limited". */
struct sbx_io_limit {
    unsigned major, minor;
    int64_t read_bps, write_bps, read_iops, write_iops;
};
/* Limits for the sandbox's cgroup; a field < 0 (or NULL) means "not limited". */
struct sbx_cgroup_limits {
    int64_t memory_max;  /* bytes */
    int64_t memory_high; /* bytes */
    int64_t swap_max;    /* bytes */
    int64_t cpu_quota_us;/* per cpu_period_us */
    int64_t cpu_period_us;
    int64_t cpu_weight;  /* 1..10000 (v2 scale; mapped to shares on v1) */
    int64_t pids_max;
    char *cpuset_cpus;   /* "0-3,6": CPUs the sandbox may run on */
    char *cpuset_mems;   /* memory nodes */
    struct sbx_io_limit *io;
    size_t n_io;
    bool every_controller; /* also a cgroup in each limit controller the host has (memory, cpu,
                              pids, cpuset, blkio/io) with no limit set, so that any limit can be
                              set later (OCI `update`, as runc) */
    bool has_swappiness;   /* memory.swappiness (0..100; cgroup v1 only, v2 has no such knob) */
    unsigned swappiness;
    unsigned io_weight;    /* 10..1000, the BFQ scheduler's weight (or the plain one); 0: none */
};

/* Landlock: which paths (inside the sandbox, after pivot_root) the program may use and how. */
enum sbx_ll_access {
    SBX_LL_READ_EXEC,  /* read files and directories, execute */
    SBX_LL_READ_WRITE, /* everything the kernel's ABI can restrict: create, write, remove, ... */
};

struct sbx_ll_path {
    char *path;
    enum sbx_ll_access access;
};

enum {
    SBX_LL_SCOPE_ABSTRACT_UNIX = 1 << 0, /* LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (ABI 6) */
    SBX_LL_SCOPE_SIGNAL = 1 << 1,        /* LANDLOCK_SCOPE_SIGNAL (ABI 6) */
};

struct sbx_landlock {
    bool enabled;
    int min_abi;               /* refuse to run when the kernel provides less */
    struct sbx_ll_path *paths; /* must exist; every file system right not granted is denied */
    size_t n_paths;
    bool stdio;                /* also grant read/write on fds 0-2 that are files or devices */
    unsigned scope;            /* SBX_LL_SCOPE_* */
    bool restrict_bind, restrict_connect; /* TCP (ABI 4): only the listed ports */
    uint16_t *bind_ports, *connect_ports;
    size_t n_bind_ports, n_connect_ports;
};

struct sbx_rlimit {
    int resource;
    uint64_t soft, hard;
};

struct sbx_idmap {
    uint32_t inside, outside, count;
};
#define SBX_MAX_IDMAP 32 /* ranges per map (the kernel takes 340 since 4.15) */

/* An existing namespace the sandbox joins instead of creating one: CLONE_NEWUSER and CLONE_NEWPID
 * before clone (user first: the namespaces the sandbox creates are then owned by it; its own id
 * maps are not written), CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS and CLONE_NEWCGROUP in the child
 * first thing after the parent's go. A mount namespace cannot be joined (the sandbox builds its
 * root in a new one); none together with a new user namespace (it would not own them). */
struct sbx_ns_join {
    int type;
    char *path;    /* /proc/PID/ns/net, /run/netns/NAME, ... */
};

/* A program run at a moment of the sandbox's life (the OCI hooks) with a state document on its
 * stdin; it must exit 0, within timeout seconds (0: no limit), else it is killed. */
struct sbx_hook {
    char *path;
    char **args;   /* NULL-terminated; args[0] may differ from path */
    char **env;
    int timeout;   /* seconds, 0: none */
};
struct sbx_hooks {
    const struct sbx_hook *hooks; /* the caller's: sbx_spec_free leaves them */
    size_t n;
    const char *state;            /* their stdin */
};
/* Run one hook and wait for it (SIGCHLD is blocked meanwhile): 0, or -1 with msg
 * ("KIND hook PATH failed (exit code 1)", "... timed out after N s", "... exec: ENOENT text"). */
int sbx_hook_run(const struct sbx_hook *h, const char *state, const char *kind, char *msg, size_t len);

/* A namespaced sysctl written inside the sandbox (/proc/sys/KEY with '.' -> '/'), after the mounts. */
struct sbx_sysctl {
    char *key, *value;
};

/* What a supervisor needs to find a running sandbox again (see sbx_spec.on_start). */
struct sbx_started {
    pid_t init_pid;                 /* the sandbox's pid 1, as seen from the host */
    const char *cgroup_v2;          /* its directory in the unified tree, or NULL */
    const char *cgroup_v1[8];       /* its directories in v1 hierarchies */
    size_t n_cgroup_v1;
};
struct seccomp_notif; /* <linux/seccomp.h> */
struct sbx_spec {
    /* process */
    char **argv;             /* argv[0] is the absolute path inside the sandbox */
    char **envp;
    char *cwd;
    uid_t uid;               /* inside the sandbox */
    gid_t gid;
    gid_t *groups;           /* supplementary groups (default none); not with a new user
                                namespace, which denies setgroups (CVE-2014-8989) */
    size_t n_groups;
    uint64_t caps;           /* capability bitmask kept in all five sets (default 0) */
    struct sbx_rlimit *rlimits;
    size_t n_rlimits;

    /* namespaces: CLONE_NEW* bits; CLONE_NEWNS is always set */
    int ns_flags;
    struct sbx_idmap uid_map, gid_map; /* used when CLONE_NEWUSER is set: the first range */
    struct sbx_idmap uid_more[SBX_MAX_IDMAP - 1], gid_more[SBX_MAX_IDMAP - 1]; /* further ranges */
    size_t n_uid_more, n_gid_more;
    char *hostname;          /* NULL: leave as is */
    char *domainname;        /* NIS domain name (needs a uts namespace); NULL: leave as is */
    bool has_personality;    /* personality(2) for the program (PER_LINUX32: a 32-bit uname) */
    unsigned long personality;

    /* filesystem */
    char *rootfs;            /* host directory of the root image (lower layer) when it is one */
    char **layers;           /* or the root's lower layers, top first (n_layers > 0: rootfs unused);
                                opened with RESOLVE_NO_SYMLINKS: pass canonical paths */
    size_t n_layers;
    char *state_dir;         /* persistent upper: a host directory holding upper/ and work/, owned
                                by the sandbox's mapped root and locked (flock) while the sandbox
                                runs, so no two sandboxes mount it at once; NULL: upper on tmpfs */
    enum sbx_overlay_api overlay_api;
    bool readonly_root;
    bool shared_image_root;  /* a read-only root of one layer may be a bind of it (mount.c) */
    uint64_t upper_size;     /* bytes of tmpfs for writes to the root when it is not read-only */
    char *stage_dir;         /* an empty host directory to build the root on (private per sandbox
                                thanks to the mount namespace; may be shared between sandboxes) */
    struct sbx_mount *mounts;/* applied in order after the root is in place */
    size_t n_mounts;

    struct sbx_landlock landlock; /* applied right before the seccomp filter */
    struct sbx_seccomp seccomp;
    char *seccomp_cache_dir; /* compiled programs reused from here; NULL: compile every time */
    enum sbx_net_mode net;
    struct sbx_veth veth;    /* SBX_NET_VETH */
    bool cgroup_enabled;
    char *cgroup_sweep_stamp; /* a file whose mtime says when the stale gbox-<pid>-<n> cgroups of
                                 killed gbox processes were last removed: at most every
                                 SBX_SWEEP_INTERVAL_S, not on every start; NULL: every start */
    struct sbx_cgroup_limits limits;
    char *cgroup_name;       /* leaf name to create beneath our own cgroup(s) */

    /* supervision */
    int64_t timeout_ms;      /* wall clock; <= 0: none */
    int timeout_signal;      /* first signal at the deadline (SIGKILL: kill at once) */
    int64_t kill_grace_ms;   /* after timeout_signal, SIGKILL after this long */
    bool forward_signals;    /* SIGINT/SIGTERM/SIGHUP/SIGQUIT to gbox go to the program; after a
                                forwarded SIGTERM or SIGINT the sandbox is killed once
                                kill_grace_ms has passed */
    bool controlling_tty;    /* stdin is a terminal gbox allocated (run -t): make it the
                                session's controlling terminal, so ^C and ^Z reach the program */
    bool no_stats;           /* nobody reads the cgroup counters (gbox run without --report):
                                after a normal exit only the OOM count is read */
    bool lean;               /* a supervised sandbox, one of many (the daemon's shims): once the
                                program runs, the init and the supervisor give back the heap and
                                stack pages they no longer use */
    /* Learning (gbox policy learn): every seccomp notification (the filter's "kill" actions) is
     * handed to on_syscall in the parent and the call then CONTINUES instead of killing the
     * sandbox. NULL: kill, as always. */
    void (*on_syscall)(void *arg, const struct seccomp_notif *n);
    void *on_syscall_arg;
    /* Called once in the parent when the program has started (NULL: not called). */
    void (*on_start)(void *arg, const struct sbx_started *info);
    void *on_start_arg;

    /* OCI front end (runtime/oci_*.c); all off for gbox run and the daemon. */
    bool rootfs_bind;        /* the root is rootfs itself, bound (writable unless readonly_root),
                                not an overlay over it: OCI bundles own their root */
    bool console;            /* fd 0 is a terminal: make it the sandbox's controlling terminal */
    struct sbx_sysctl *sysctl;
    size_t n_sysctl;
    struct sbx_ns_join *ns_join; /* joined in the child first thing after the parent's go */
    size_t n_ns_join;
    /* wait_start: the child stops after every setup step, right before the program would be
     * forked (OCI "created"); on_created is called in the parent then (init_pid known, cgroups
     * made); the program starts once a byte can be read from start_fd. */
    bool wait_start;
    int start_fd;
    void (*on_created)(void *arg, const struct sbx_started *info);
    /* OCI createContainer: run in the child, in the sandbox's namespaces, once every mount is in
     * place and before pivot_root (paths resolve in the host's file system), with the root of
     * the sandbox's user namespace and its capabilities; a failure fails the setup (stage
     * "createContainer"). startContainer (wait_start only): run by the init once started, before
     * the program is forked (paths resolve in the container), with the program's credentials and
     * under its seccomp filters; a failure ends the sandbox (stage "startContainer"). */
    struct sbx_hooks create_hooks, start_hooks;
    /* A warm sandbox (the daemon's pool, runtime/pool.c): with hold_fd >= 0 the whole sandbox is
     * set up (namespaces, cgroups, root, credentials, Landlock, seccomp) when on_release is set,
     * and its init waits before starting a program. on_held is called once it waits; when
     * hold_fd becomes readable, or SIGTERM/SIGINT arrives (the sandbox is then torn down),
     * on_release is called: it returns 0 after setting this spec's argv and envp (the program to
     * run; the spec is the caller's own object), or -1 to tear the sandbox down unused. The
     * wall-clock deadline counts from the release; the report's wall_ms leaves the wait out (it
     * is the stage "held"). argv + envp must fit SBX_HOLD_MAX bytes. */
    int hold_fd;
    void (*on_held)(void *arg);
    int (*on_release)(void *arg);
    void *hold_arg;
};
#define SBX_HOLD_MAX 65536
#define SBX_SWEEP_INTERVAL_S 10 /* see cgroup_sweep_stamp */

/* The outcome of one sandbox run. */
enum sbx_end {
    SBX_END_EXITED,    /* the program exited; status = its exit code */
    SBX_END_SIGNALED,  /* killed by a signal; status = signal number */
    SBX_END_TIMEOUT,   /* wall-clock deadline reached, sandbox killed */
    SBX_END_SECCOMP,   /* killed for a forbidden syscall (syscall_nr set, or -1 for a bad ABI) */
    SBX_END_OOM,       /* killed by the OOM killer in the sandbox's cgroup */
    SBX_END_SETUP,     /* failed before exec: setup_stage/err say where */
};

/* What the sandbox's cgroups counted; a field < 0 means "unknown on this host" (see
 * docs/gbox.1.md REPORT for where each comes from on v2, hybrid and v1 hosts). */
enum sbx_cg_layout { SBX_CG_NONE, SBX_CG_V2, SBX_CG_HYBRID, SBX_CG_V1 };
enum { SBX_PSI_CPU, SBX_PSI_MEMORY, SBX_PSI_IO, SBX_PSI_N };
struct sbx_cgroup_stats {
    enum sbx_cg_layout layout;
    int64_t memory_current, memory_peak;  /* bytes */
    int64_t oom_events, oom_kills;        /* times the limit was hit / tasks the OOM killer took */
    int64_t cpu_usage_us, cpu_user_us, cpu_system_us;
    int64_t cpu_periods, cpu_throttled_periods, cpu_throttled_us;
    int64_t pids_current, pids_peak;
    int64_t io_read_bytes, io_write_bytes, io_read_ops, io_write_ops;
    int64_t psi_some_us[SBX_PSI_N], psi_full_us[SBX_PSI_N]; /* stall totals (cpu full: kernel >= 5.13) */
};
struct sbx_stage_time {
    const char *name;
    double ms;
};

struct sbx_result {
    enum sbx_end end;
    int status;
    int syscall_nr;           /* SECCOMP: the syscall, native number; -1: non-native ABI */
    uint32_t syscall_arch;    /* SECCOMP: AUDIT_ARCH_* of the call */
    uint64_t syscall_args[6];
    int exit_code;            /* what the CLI exits with */
    double wall_ms;
    double user_cpu_ms, sys_cpu_ms;
    struct sbx_cgroup_stats cg;  /* read just before the cgroups are removed */
    char setup_stage[32];     /* SETUP: the stage that failed */
    struct sbx_stage_time stages[16];
    size_t n_stages;
};

/* Run the plan to completion: set up, exec argv, supervise (timeout, signals, seccomp kills),
 * tear down. Returns 0 with *res filled whenever the program was started or setup failed inside
 * the child (res->end tells); < 0 with *err when the parent itself could not proceed. */
int sbx_run(const struct sbx_spec *spec, struct sbx_result *res, struct sbx_err **err);

/* A supervisor that is not the sandbox's parent (gbox daemon after a restart) finds its cgroups
 * again by the paths of sbx_started: read their counters, kill every task in them, remove them
 * once empty (-1 with errno EBUSY while tasks remain). */
void sbx_cgroup_stats_at(const struct sbx_started *where, struct sbx_cgroup_stats *st);
void sbx_cgroup_kill_at(const struct sbx_started *where);
int sbx_cgroup_remove_at(const struct sbx_started *where);

/* The directories sbx_run will create for spec's cgroups (host path, and the mount point of
 * its hierarchy: "/sys/fs/cgroup/memory"), before they exist: the OCI front end binds them
 * read-only into the container's /sys/fs/cgroup. Returns how many (at most max). */
struct sbx_cgroup_dir {
    char host[4096];
    char mount_point[4096];
};
size_t sbx_cgroup_plan_dirs(const struct sbx_spec *spec, struct sbx_cgroup_dir *out, size_t max);

/* Change limits of a running sandbox found by `where` (gbox daemon's live configuration): only
 * what `what` names (SBX_CGU_*), from old to l (a limit < 0: none; io devices only in old are
 * unthrottled). A controller the sandbox has no cgroup for cannot change: -1, EOPNOTSUPP.
 * sbx_cgroup_updatable_at tells which can. */
enum { SBX_CGU_MEMORY = 1, SBX_CGU_CPU = 2, SBX_CGU_PIDS = 4, SBX_CGU_IO = 8 };
unsigned sbx_cgroup_updatable_at(const struct sbx_started *where);
int sbx_cgroup_update_at(const struct sbx_started *where, const struct sbx_cgroup_limits *old,
                         const struct sbx_cgroup_limits *l, unsigned what, struct sbx_err **err);

/* Set some limits of a running sandbox (OCI `update`): only the fields marked given change, the
 * others keep their values. All or nothing: every controller must have a cgroup for the sandbox
 * (else -1, EOPNOTSUPP, nothing written), and when a write fails the files already written get
 * their old contents back. Values as OCI linux.resources has them: -1 = unlimited for memory,
 * swap (memory+swap), pids and quota; shares on the v1 scale (mapped to cpu.weight on v2). */
struct sbx_cgroup_set {
    bool memory, swap, pids, shares, quota, period, weight, swappiness; /* which fields are given */
    int64_t memory_max, swap_max, pids_max, cpu_shares, cpu_quota_us, cpu_period_us, io_weight;
    int64_t memory_swappiness; /* v1 only */
    const char *cpuset_cpus, *cpuset_mems; /* NULL: unchanged */
};
int sbx_cgroup_set_at(const struct sbx_started *where, const struct sbx_cgroup_set *s, struct sbx_err **err);

/* Remove now the empty gbox-<pid>-<n> cgroups, beneath this process's own cgroups, of gbox
 * processes that are gone (a start does it at most every SBX_SWEEP_INTERVAL_S): the daemon, when a
 * shim of its own was killed. One still holding a dying process stays (rmdir: EBUSY). */
void sbx_cgroup_sweep(void);

/* Start argv inside a running sandbox found by `where`: its cgroups, its namespaces (entered
 * through a pidfd of its init), the spec's uid/gid without supplementary groups, capabilities,
 * rlimits, no_new_privs and seccomp filters, cwd and environment (argv[0] is looked up in the
 * spec's PATH). stdin is /dev/null; stdout and stderr go to out_fd. Returns a pidfd of the new
 * process (a child of the caller: reap it) and its pid in *pid, or -1 with *err. A failure
 * before exec makes it exit 125 with a message on out_fd. Refused when the spec has capabilities
 * beyond the bounding set the sandbox's init started with (the policy in force gained some). */
int sbx_exec_in(const struct sbx_started *where, const struct sbx_spec *spec, char *const argv[],
                int out_fd, pid_t *pid, struct sbx_err **err);

/* sbx_exec_in with choices: keep_stdio leaves the caller's fds 0-2 to the process (out_fd
 * unused); detach lets it outlive the caller (no parent-death signal): the OCI `exec`. */
struct sbx_exec_opts {
    int out_fd;
    bool keep_stdio;
    bool detach;
    bool console;   /* fd 0 is a terminal: make it the controlling terminal */
};
int sbx_exec_in_opts(const struct sbx_started *where, const struct sbx_spec *spec, char *const argv[],
                     const struct sbx_exec_opts *o, pid_t *pid, struct sbx_err **err);

/* Resolve a native syscall number to its name for reports ("syscall-N" when unknown). */
void sbx_syscall_name(int nr, char *buf, size_t len);

/* Free a spec built by runtime/ with heap strings (every pointer owned). */
void sbx_spec_free(struct sbx_spec *spec);

#endif
