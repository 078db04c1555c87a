/* plan.h — a resolved policy plus what to run into a `struct sbx_spec`. */
#ifndef GBOX_PLAN_H
#define GBOX_PLAN_H

#include "netaddr.h"
#include "policy.h"
#include "stack.h"

struct run_request {
    const char *program; /* host file to run (bind-mounted read-only), or NULL with in_image */
    bool in_image;       /* argv[0] is a command inside the image */
    char **argv;         /* in_image: the command and its args; else extra args for program */
    int argc;
    const char *image;   /* --image NAME[@RANGE]|DIR: the root image instead of interpreter.image */
    const char *const *modules; /* --module NAME[@RANGE], stacked above the root image */
    size_t n_modules;
    const char *name;    /* --name: a named sandbox, whose upper layer persists in the store */
    const char *store_dir; /* --store (NULL: $GBOX_STORE_DIR or /var/lib/gbox) */
    struct run_hold *hold; /* filled when the run uses store images; release after the run */
    const char *const *env; /* --env NAME=VALUE: set or override in the policy's environment */
    size_t n_env;
    bool held;           /* a warm sandbox (the daemon's pool): no program yet, see plan_program */
    const char *state_dir; /* --state-dir: the upper layer lives in DIR/upper (gbox daemon's generations) */
    const char *const *state_layers; /* --state-layer: sealed upper layers above the "/" modules, top first */
    size_t n_state_layers;
    const char *const *pins; /* --pin NAME=sha256:HEX: NAME's version is exactly that store image */
    size_t n_pins;
};

/* Takes over the policy's compiled seccomp filters (policy_take_seccomp). */
int plan_build(struct gbox_policy *p, const struct run_request *rq, struct sbx_spec *spec,
               struct sbx_err **err);
/* The interpreter.handlers entry whose extensions include the program's (by its file name), or
 * NULL; *index (when not NULL) gets its position. */
const json_t *plan_handler(const struct gbox_policy *p, const char *program, size_t *index);
/* The cgroup limits alone (gbox daemon changes them in running sandboxes: config.c). */
int plan_cgroup_limits(const struct gbox_policy *p, struct sbx_cgroup_limits *out, struct sbx_err **err);
void plan_cgroup_limits_free(struct sbx_cgroup_limits *l);
/* A held spec's program, once it is known: rq->in_image with argv, env overrides; sets (or
 * replaces) spec->argv and spec->envp. Only in-image commands: a host file would need a mount. */
int plan_program(const struct gbox_policy *p, const struct run_request *rq, struct sbx_spec *spec,
                 struct sbx_err **err);
/* Append a mount to the spec's list (stack.c adds the module mounts first). */
struct sbx_mount *plan_add_mount(struct sbx_spec *s, enum sbx_mount_kind kind, const char *target);

/* veth: claim the sandbox's link subnet (the policy's fixed address, or the next free subnet of
 * network.pool) and fill spec->veth's addresses; a no-op for the other modes. Release the lease
 * with netpool_release once the sandbox is gone. */
int plan_net_lease(const struct gbox_policy *p, struct sbx_spec *spec, struct net_lease *lease,
                   struct sbx_err **err);

/* The host id range a user namespace maps onto (inside 0..65535 -> HOST_ID_BASE..). */
#define GBOX_HOST_ID_BASE 100000u
#define GBOX_HOST_ID_COUNT 65536u

#endif
