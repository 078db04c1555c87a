/* pool.h — the daemon's warm pool: sandboxes set up ahead of time, per policy, handed out on spawn.
 * The daemon side is pool.c; the shim side (`gbox run --hold-fd`) is pool_shim.c. */
#ifndef GBOX_POOL_H
#define GBOX_POOL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "../sandbox/sbx.h"

/* `gbox daemon --pool POLICY=N`: keep N warm sandboxes of POLICY (a name of the policy
 * directory, loaded and checked now). 0 on success, else GBOX_EXIT_USAGE with msg filled. */
int pool_config(const char *arg, char *msg, size_t len);

/* policy_load for the daemon's spawns: a pooled policy is loaded once and lent while its files
 * (the policy and its "extends" chain: device, inode, size, mtime) stay the same; others are
 * loaded as always. 1: *out is the pool's own (read it, do not free it; valid until the next
 * call), 0: *out is the caller's to policy_free, -1: error. */
struct gbox_policy;
int pool_policy_load(const char *arg, struct gbox_policy **out, struct sbx_err **err);

/* Start the pool: its directory <state>/pool (leftovers of an earlier daemon are removed), the
 * first members. ep: the daemon's epoll (a member's tags are its own addresses); exe: gbox.
 * started: called with a sandbox id when a handed-out member's program runs. */
/* Policy names load from what map returns (gbox daemon: the version in force, config.c). */
void pool_set_policy_map(const char *(*map)(const char *policy));
void pool_start(int ep, const char *exe, const char *state_dir, void (*started)(const char *id));

/* Is this epoll tag the pool's? Then pool_event handles it. */
bool pool_owns(const void *tag);
void pool_event(void *tag);

/* Hand a spawn to a warm member of its policy: the request (argv, in_image, env, modules) must be
 * an in-image command without modules, and dir (the sandbox's directory, without a trailing
 * slash) must not exist yet: the member's directory, with its logs, is renamed to it. Call it
 * right after pool_policy_load of the same policy: members built from another version of the
 * policy files than the one just loaded are retired, never used. The member is told the program,
 * the report and state-file paths and the sandbox id. Returns the shim's pid (the daemon's child,
 * to be watched like a cold shim), or 0 with nothing changed: no member fits, start a cold shim. */
pid_t pool_take(const char *policy, const json_t *request, const char *id, const char *dir);

/* Once per daemon tick: refill (members that failed to come up are retried with a backoff). */
void pool_tick(void);

/* Warm members (of one policy, or all with NULL). */
int pool_count(const char *policy);
/* Append a row per warm member to ps's array: id, name, domain, policy, state "warm". */
void pool_ps(json_t *arr);

/* Tear every member down (they remove their cgroups) and remove the pool's directory. */
void pool_stop(void);

/* The shim side (pool_shim.c), for `gbox run --hold-fd FD`. */
struct sbx_spec;
struct pool_shim {
    int fd;
    struct gbox_policy *p;
    struct sbx_spec *spec;
    json_t *msg;                      /* the release message (its strings stay in use) */
    const char *report, *state, *id;  /* from the release message */
    const char **argv, **env;
    struct sbx_err *err;              /* why the release failed, if it did */
};
void pool_shim_held(void *arg);
int pool_shim_release(void *arg);
void pool_shim_free(struct pool_shim *ps);

#endif
