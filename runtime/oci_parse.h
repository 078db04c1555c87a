/* oci_parse.h — what the config.json parser's files share (oci_config.c, oci_resources.c): the
 * parse context and the typed getters whose errors name the file and the JSON path
 * ("FILE: linux.resources.cpu.shares: expected an integer in 2..262144, got 1"). Internal. */
#ifndef GBOX_OCI_PARSE_H
#define GBOX_OCI_PARSE_H

#include "oci_config.h"

struct ctx {
    const char *file;
    const char *bundle;
    struct oci_config *c;
    struct sbx_err **err;
};

/* Errors: "FILE: PATH: expected EXPECTED, got VALUE" and "FILE: PATH: WHY"; both return -1. */
int oci_bad(const struct ctx *x, const char *path, const char *expected, const json_t *got);
int oci_refuse(const struct ctx *x, const char *path, const char *why);
/* Every key of obj must be in known (NULL-terminated). */
int oci_check_keys(const struct ctx *x, const json_t *obj, const char *path, const char *const *known);
/* "PATH.KEY" and "PATH[I]" into buf. */
void oci_sub(char *buf, size_t len, const char *path, const char *key);
void oci_idx(char *buf, size_t len, const char *path, size_t i);
/* Typed members: absent is fine (NULL, or *present false) unless required. */
int oci_get_obj(const struct ctx *x, const json_t *o, const char *path, const char *key, const json_t **out);
int oci_get_arr(const struct ctx *x, const json_t *o, const char *path, const char *key, const json_t **out);
int oci_get_str(const struct ctx *x, const json_t *o, const char *path, const char *key, bool required,
                const char **out);
int oci_get_bool(const struct ctx *x, const json_t *o, const char *path, const char *key, bool *out);
int oci_get_int(const struct ctx *x, const json_t *o, const char *path, const char *key, int64_t min,
                int64_t max, int64_t *out, bool *present);

/* linux.resources (oci_resources.c) into s->limits. */
int oci_parse_resources(const struct ctx *x, const json_t *r, struct sbx_spec *s);

#endif
