/* policy.h — loading domain policies into validated, fully resolved JSON. */
#ifndef GBOX_POLICY_H
#define GBOX_POLICY_H

#include "../sandbox/sbx.h"
#include <jansson.h>
#include <stdbool.h>

struct gbox_policy {
    char *name;   /* the policy's name (its "name" field, or the file name) */
    char *file;   /* absolute path of the policy file */
    json_t *root; /* merged with its ancestors, defaults filled, validated */
    struct sbx_seccomp seccomp; /* the filters built from root's seccomp section (owned) */
};

/* NAME (looked up in the policy directory) or FILE (a path, or anything ending in .json). */
int policy_load(const char *arg, struct gbox_policy **out, struct sbx_err **err);
/* The same from memory: buf holds one policy document, label names it in messages (and gives the
 * default name), dir resolves its "extends" and "fallback:" names. For fuzzing and, later, for
 * policies that arrive over the control socket. */
int policy_load_mem(const char *buf, size_t len, const char *label, const char *dir,
                    struct gbox_policy **out, struct sbx_err **err);
/* Hand the policy's filters to a spec (the policy keeps none). */
void policy_take_seccomp(struct gbox_policy *p, struct sbx_seccomp *out);
void policy_free(struct gbox_policy *p);
bool policy_arg_is_file(const char *arg);
/* Where NAME or FILE lives; relative_to (a directory) for extends, NULL for the policy dir. */
int policy_path(const char *arg, const char *relative_to, char *out, size_t len, struct sbx_err **err);

/* Accessors by dotted path on the resolved policy. */
const json_t *pol_get(const struct gbox_policy *p, const char *dotted);
const char *pol_str(const struct gbox_policy *p, const char *dotted);
int64_t pol_size(const struct gbox_policy *p, const char *dotted);     /* -1: null */
int64_t pol_duration(const struct gbox_policy *p, const char *dotted); /* ms, -1: null */

#endif
