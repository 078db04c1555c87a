/* oci_config.h — an OCI bundle's config.json into a `struct sbx_spec` (docs/oci.md has the field
 * by field mapping and what is refused). */
#ifndef GBOX_OCI_CONFIG_H
#define GBOX_OCI_CONFIG_H

#include "../sandbox/sbx.h"
#include <jansson.h>

enum oci_hook_kind {
    OCI_HOOK_PRESTART,
    OCI_HOOK_CREATE_RUNTIME,
    OCI_HOOK_CREATE_CONTAINER,
    OCI_HOOK_START_CONTAINER,
    OCI_HOOK_POSTSTART,
    OCI_HOOK_POSTSTOP,
    OCI_HOOK_N,
};

struct oci_config {
    struct sbx_spec spec;
    bool terminal;          /* process.terminal */
    unsigned console_rows, console_cols; /* process.consoleSize (0: unset) */
    int umask;              /* process.user.umask, -1: unset */
    bool has_oom_score_adj;
    int oom_score_adj;
    char *policy;           /* annotation org.graphoid.policy, NULL when absent */
    json_t *annotations;    /* the annotations object (owned), never NULL */
    char *cgroup_mount;     /* destination of a "cgroup" mount (see oci_config_cgroup_mounts) */
    char **devices;         /* linux.devices beyond gbox's six: host nodes bound at the same path */
    size_t n_devices;
    struct sbx_hook *hooks[OCI_HOOK_N];
    size_t n_hooks[OCI_HOOK_N];
};

/* The annotation that puts a domain policy over the config (docs/oci.md). */
#define OCI_POLICY_ANNOTATION "org.graphoid.policy"

/* Parse text (len bytes) as config.json of the bundle directory `bundle` (relative paths in it
 * resolve there); errors name `file` and the JSON path ("FILE: linux.resources.memory.limit:
 * expected an integer >= 0, got \"x\""), exit code GBOX_EXIT_USAGE. stage_dir: where the root is
 * assembled (host directory, private per sandbox thanks to the mount namespace). Nothing on the
 * host is changed. */
int oci_config_parse(const char *text, size_t len, const char *file, const char *bundle,
                     const char *stage_dir, struct oci_config *c, struct sbx_err **err);
/* Read BUNDLE/config.json and parse it. */
int oci_config_load(const char *bundle, const char *stage_dir, struct oci_config *c, struct sbx_err **err);
/* Replace spec's process (args, env, cwd, user, capabilities, rlimits) by an OCI process object
 * (`exec --process FILE`). */
int oci_process_apply(const json_t *proc, const char *file, struct sbx_spec *s, bool *terminal,
                      struct sbx_err **err);
void oci_config_free(struct oci_config *c);
/* Once the spec's cgroup name and limits are final: the "cgroup" mount becomes a read-only
 * tmpfs holding read-only binds of the container's own cgroup directories (one per hierarchy
 * it has: unified, memory, pids, ...), so a program sees its limits where it looks for them. */
void oci_config_cgroup_mounts(struct oci_config *c);
/* A linux.resources object (`update --resources FILE`) into limits (-1: unchanged). */
int oci_resources_parse(const json_t *r, const char *file, struct sbx_cgroup_limits *l, struct sbx_err **err);
/* `update --resources FILE`: what the object names, as a set of changes (the cpuset strings are
 * the caller's to free). The same checks as in config.json; blockIO.weight besides. */
int oci_update_parse(const json_t *r, const char *file, struct sbx_cgroup_set *set, struct sbx_err **err);

/* "RLIMIT_NOFILE" -> RLIMIT_NOFILE; -1 if unknown. */
int oci_rlimit_from_name(const char *name);

#endif
