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

/* seccomp.c */
struct sbx_bpf {
    struct sock_filter *insns;
    unsigned short len;
    bool notify; /* some action is "kill": the parent needs the listener fd */
};
/* Compile the filters (in the parent). With cache_dir, a compiled program is reused when the
 * filter's canonical form matches byte for byte. */
int sbx_seccomp_prepare(const struct sbx_seccomp *sc, const char *cache_dir, struct sbx_bpf out[2],
                        struct sbx_err **err);
void sbx_seccomp_release(struct sbx_bpf bpf[2]);
/* Load the program (no_new_privs must already be set); returns the listener fd (or -1 when the
 * program has no notify action) and 0, or -1 with ce filled. */
int sbx_seccomp_in_child(const struct sbx_bpf bpf[2], int *listener, struct child_err *ce);

/* mount.c */
/* fds: n_mounts + 1 entries; the last is the root image. */
int sbx_mount_open_sources(const struct sbx_spec *spec, int *fds, struct child_err *ce);
int sbx_mount_in_child(const struct sbx_spec *spec, const int *fds, struct child_err *ce);

/* userns.c */
int sbx_userns_from_parent(pid_t pid, const struct sbx_spec *spec, struct sbx_err **err);
int sbx_creds_in_child(const struct sbx_spec *spec, struct child_err *ce);

/* caps.c */
int sbx_caps_bounding_in_child(uint64_t keep, struct child_err *ce);
int sbx_caps_in_child(uint64_t keep, struct child_err *ce);
int sbx_caps_verify(uint64_t keep, struct child_err *ce);

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

/* net.c */
int sbx_net_in_child(enum sbx_net_mode mode, struct child_err *ce);

/* cgroup.c */
struct sbx_cgroup;
int sbx_cgroup_prepare(const struct sbx_spec *spec, struct sbx_cgroup **cg, struct sbx_err **err);
/* v2 directory fd for CLONE_INTO_CGROUP, or -1 */
int sbx_cgroup_clone_fd(const struct sbx_cgroup *cg);
/* The child joins its v1 cgroups itself (the v2 placement happened at clone time). */
int sbx_cgroup_in_child(const struct sbx_cgroup *cg, struct child_err *ce);
void sbx_cgroup_kill(struct sbx_cgroup *cg);
void sbx_cgroup_stats(struct sbx_cgroup *cg, struct sbx_result *res);
void sbx_cgroup_release(struct sbx_cgroup **cg);

/* init.c: the sandbox's pid 1 — forks the program, forwards signals, reports its status. */
int sbx_init_run(const struct sbx_spec *spec, int sync_fd, struct child_msg *ready);
/* The signals gbox forwards to the program, plus SIGCHLD. */
void sbx_forward_set(sigset_t *set);

#endif
