/* internal.h — what the parts of sandbox/ share with each other; runtime/ never includes this. */
#ifndef GBOX_SBX_INTERNAL_H
#define GBOX_SBX_INTERNAL_H

#include "sbx.h"
#include <linux/filter.h>
#include <signal.h>
#include <stdarg.h>

/* A failure inside the child, reported to the parent over the sync socket. */
struct child_err {
    char stage[32];
    int errnum;
    int exit_code;
    char msg[400];
};
int child_fail(struct child_err *ce, const char *stage, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Messages on the parent<->child SEQPACKET socket. */
enum msg_type {
    MSG_ERROR = 1,    /* child setup failed: child_err */
    MSG_LISTENER = 2, /* value = fd number of the seccomp listener in the child */
    MSG_READY = 3,    /* setup done, about to exec; stages carry the child's timings */
    MSG_EXIT = 4,     /* init: the program ended; value = wait status */
    MSG_HELD = 5,     /* a warm sandbox (spec->on_release) is set up and waits for its program */
    MSG_CREATED = 6,  /* spec->wait_start: set up, waiting for one byte before forking the program */
    MSG_NETNS = 7,    /* the child made its network namespace (launch.c: after clone, not in it) */
};
struct child_msg {
    int type;
    int value;
    struct child_err err;
    unsigned n_stages;
    struct {
        char name[16];
        double ms;
    } stages[8];
};

/* launch.c: whether the spec joins an existing namespace of this CLONE_NEW* type */
bool sbx_ns_joined(const struct sbx_spec *s, int type);

/* hook.c: run hs's hooks in order; the first failure fills ce (stage kind). */
int sbx_hooks_in_child(const struct sbx_hooks *hs, const char *kind, struct child_err *ce);

/* seccomp.c */
struct sbx_bpf {
    struct sock_filter *insns;
    unsigned short len;
    bool notify; /* some action is "kill": the parent needs the listener fd */
};
/* Compile the filters (in the parent). With cache_dir, a compiled program is reused when the
 * filter's canonical form matches byte for byte. */
int sbx_seccomp_prepare(const struct sbx_seccomp *sc, const char *cache_dir, struct sbx_bpf out[SBX_MAX_FILTERS],
                        struct sbx_err **err);
void sbx_seccomp_release(struct sbx_bpf bpf[SBX_MAX_FILTERS]);
/* Load the program (no_new_privs must already be set); returns the listener fd (or -1 when the
 * program has no notify action) and 0, or -1 with ce filled. */
int sbx_seccomp_in_child(const struct sbx_bpf bpf[SBX_MAX_FILTERS], int *listener, struct child_err *ce);

/* mount.c */
/* What the child opens before it acts as root of its user namespace (see overlay.c). */
struct sbx_sources {
    int *bind;      /* per spec mount: a BIND's source, else -1 */
    int **layers;   /* per spec mount: a LAYERS mount's layers, else NULL */
    int *root;      /* the root's lower layers, top first */
    size_t n_root;
    int upper, work;/* the persistent upper layer (spec->state_dir), else -1 */
};
int sbx_mount_open_sources(const struct sbx_spec *spec, struct sbx_sources *src, struct child_err *ce);
int sbx_mount_in_child(const struct sbx_spec *spec, const struct sbx_sources *src, struct child_err *ce);
void sbx_mount_close_sources(const struct sbx_spec *spec, struct sbx_sources *src);

/* overlay.c */
struct sbx_overlay {
    const int *lower;   /* top first */
    size_t n_lower;
    int upper, work;    /* -1: a read-only overlay */
    int target_fd;      /* the mount point (O_PATH) */
    enum sbx_overlay_api api;
    const char *what;   /* for messages: "root", "/usr/share/x" */
};
/* openat2(AT_FDCWD, path, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS). */
int sbx_open_nofollow(const char *path, int flags);
/* Open a layer or upper directory (O_PATH), refusing symlinks on the way. */
int sbx_overlay_open(const char *path, const char *what, int *fd, struct child_err *ce);
/* Parent, before clone: lock spec->state_dir (LOCK_EX|LOCK_NB) for the sandbox's lifetime;
 * *lock_fd -1 when there is none. */
int sbx_overlay_lock_state(const struct sbx_spec *spec, int *lock_fd, struct sbx_err **err);
int sbx_overlay_mount(const struct sbx_overlay *o, struct child_err *ce);

/* userns.c */
int sbx_userns_from_parent(pid_t pid, const struct sbx_spec *spec, struct sbx_err **err);
int sbx_creds_in_child(const struct sbx_spec *spec, struct child_err *ce);

/* caps.c */
int sbx_caps_bounding_in_child(uint64_t keep, struct child_err *ce);
int sbx_caps_in_child(uint64_t keep, struct child_err *ce);
int sbx_caps_verify(uint64_t keep, struct child_err *ce);

/* net.c (the division of work between parent and child is described at its top) */
struct sbx_net;
/* Parent, before clone: veth only, a netlink socket in our own namespace; sweeps stale host ends. */
int sbx_net_prepare(const struct sbx_spec *spec, struct sbx_net **net, struct sbx_err **err);
/* Parent, after clone, before releasing the child: create the pair (peer inside the child's
 * namespace), address the host end and bring it up. */
int sbx_net_from_parent(struct sbx_net *net, pid_t child, struct sbx_err **err);
/* Child: lo up; veth: address, link up, default route, egress rules. */
int sbx_net_in_child(const struct sbx_spec *spec, struct child_err *ce);
/* Parent, every exit path: delete the host end if we created it. */
void sbx_net_release(struct sbx_net **net);

/* nft.c */
/* The nft script of the egress allowlist into buf; its length, or -1 when buf is too small. */
int sbx_nft_ruleset(const struct sbx_veth *v, char *buf, size_t len);
/* Child: install it in the current network namespace through libnftables (loaded here). */
int sbx_nft_in_child(const struct sbx_veth *v, struct child_err *ce);

/* init.c: every signal to its default action, none blocked (before exec of a program) */
void sbx_reset_signals(void);
/* The init, before the program: note which signals it ignores (init.c). */
void sbx_note_ignored_signals(void);

/* fds.c */
/* Refuse to start when stdin, stdout or stderr is a directory (it would lead out of the root). */
int sbx_stdio_prepare(struct sbx_err **err);

/* landlock.c */
/* Restrict the child with Landlock (no_new_privs must be set). Fails when the kernel cannot
 * provide spec's min_abi: Landlock asked for and not applied would be a silent fail-open. */
int sbx_landlock_in_child(const struct sbx_landlock *ll, struct child_err *ce);
/* The ABI the kernel provides (0 when Landlock is missing or disabled, errno says which). */
int sbx_landlock_abi(void);
/* Highest ABI this gbox knows the access rights of. */
#define SBX_LANDLOCK_ABI_KNOWN 7
/* The ABI the plan needs: min_abi, raised by the features it uses (TCP ports 4, scopes 6). */
int sbx_landlock_required_abi(const struct sbx_landlock *ll);
/* The ABI to use with a kernel that provides kernel_abi (0: none, kernel_errno says why), or -1
 * with msg saying why the sandbox must not start. Pure: unit-tested with made-up kernels. */
int sbx_landlock_check(const struct sbx_landlock *ll, int kernel_abi, int kernel_errno, char *msg,
                       size_t len);
/* Every file system access right ABI abi knows. */
uint64_t sbx_landlock_fs_rights(int abi);


/* cgroup.c */
struct sbx_cgroup;
int sbx_cgroup_prepare(const struct sbx_spec *spec, struct sbx_cgroup **cg, struct sbx_err **err);
/* The same in two steps, so the parent writes the v1 cgroups while the child builds its network
 * namespace: plan (before clone) checks the limits against the host, creates the v2 directory
 * (CLONE_INTO_CGROUP; on a v2 host with its limits) and names the v1 ones; from_parent (after
 * clone, before "go") creates those and writes their limits. The child joins them after "go". */
int sbx_cgroup_plan(const struct sbx_spec *spec, struct sbx_cgroup **cg, struct sbx_err **err);
int sbx_cgroup_from_parent(struct sbx_cgroup *cg, struct sbx_err **err);
/* v2 directory fd for CLONE_INTO_CGROUP, or -1 */
int sbx_cgroup_clone_fd(const struct sbx_cgroup *cg);
/* The child joins its v1 cgroups itself (the v2 placement happened at clone time). */
int sbx_cgroup_in_child(const struct sbx_cgroup *cg, struct child_err *ce);
/* Move an existing process into the sandbox's cgroups (slow path: see sbx_cgroup_in_child). */
int sbx_cgroup_attach(const struct sbx_cgroup *cg, pid_t pid, struct sbx_err **err);
/* Freeze or thaw every task (v2 tree's cgroup.freeze, else the v1 freezer) and wait until the
 * kernel reports the state reached. */
int sbx_cgroup_freeze(struct sbx_cgroup *cg, bool frozen, struct sbx_err **err);
/* Kill every task: cgroup.kill, else freeze + SIGKILL each listed task + thaw. */
void sbx_cgroup_kill(struct sbx_cgroup *cg);
/* The created directories, for sbx_started. */
void sbx_cgroup_paths(const struct sbx_cgroup *cg, struct sbx_started *info);
/* Counters now (fields the host cannot give stay -1). */
void sbx_cgroup_read_stats(const struct sbx_cgroup *cg, struct sbx_cgroup_stats *st);
/* Only the OOM kill count (everything else -1): what classifying the end needs. */
void sbx_cgroup_read_oom(const struct sbx_cgroup *cg, struct sbx_cgroup_stats *st);
void sbx_cgroup_release(struct sbx_cgroup **cg);

/* init.c: the sandbox's pid 1 — forks the program, forwards signals, reports its status. */
int sbx_init_run(const struct sbx_spec *spec, int sync_fd, struct child_msg *ready);

/* hold.c: a warm sandbox's program (sbx_spec.on_release). The parent sends argv and envp; the
 * held init reads them: 0, 1 when the parent closed the socket (released unused), -1 with ce. */
int sbx_hold_send(int fd, char *const *argv, char *const *envp, struct sbx_err **err);
int sbx_hold_in_child(int fd, char ***argv, char ***envp, struct child_err *ce);
/* The signals gbox forwards to the program, plus SIGCHLD. */
void sbx_forward_set(sigset_t *set);

#endif
