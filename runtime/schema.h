/* schema.h — validation of policy JSON against the embedded policies/schema.json, and of module
 * manifests against images/schema.json (the same meta-format, docs/policy-format-contract.md). */
#ifndef GBOX_SCHEMA_H
#define GBOX_SCHEMA_H

#include "../sandbox/sbx.h"
#include <jansson.h>

struct vctx {
    const char *file;      /* named in every message */
    struct sbx_err **err;
};

json_t *schema_get(void);
json_t *schema_fields(void);
/* Free the parsed schemas and the compiled patterns (they are parsed again when next needed):
 * a long-lived process (gbox run supervising a sandbox) keeps ~100 KiB less. */
void schema_release(void);
/* The "fields" of the embedded images/schema.json (module.json). */
json_t *image_schema_fields(void);
/* Check types, ranges, enums, patterns and unknown keys of one policy document (not merged). */
int schema_validate(const struct vctx *c, const json_t *policy);
/* The same against any schema's fields (a manifest against image_schema_fields()). */
int schema_validate_fields(const struct vctx *c, const json_t *fields, const json_t *doc);
/* Every field marked "required" is present in obj (recursively); path prefixes the messages. */
int schema_check_required(const struct vctx *c, const char *path, const json_t *fields,
                          const json_t *obj);
/* Add every default the schema declares that obj does not set (recursively). */
void schema_fill_defaults(const json_t *fields, json_t *obj);
/* The schema entry of a dotted field path ("resources.memory.max"), or NULL. */
const json_t *schema_field_at(const char *dotted);
/* Compact rendering of a value for messages. */
void json_short(const json_t *v, char *buf, size_t len);

#endif
