/* manifest.h — module.json, the manifest of a module image (images/schema.json). */
#ifndef GBOX_MANIFEST_H
#define GBOX_MANIFEST_H

#include "semver.h"
#include "../sandbox/sbx.h"

#include <jansson.h>

enum module_set { MODULE_SET_MINIMAL, MODULE_SET_STANDARD, MODULE_SET_FULL };
enum module_reload { MODULE_RELOAD_SWAP, MODULE_RELOAD_RESTART, MODULE_RELOAD_NEVER };

struct module_dep {
    char name[65];
    char range_text[SEMVER_MAX_TEXT + 1];
    struct semver_range range;
};

struct gbox_manifest {
    char name[65];
    char version_text[SEMVER_MAX_TEXT + 1]; /* canonical: no build metadata */
    struct semver version;
    struct module_dep *deps;
    size_t n_deps;
    char **provides, **requires, **domains; /* NULL-terminated */
    enum module_set set;
    enum module_reload reload;
    char *mount_point;
    bool stateful;
    json_t *root;  /* the validated document with every default filled */
};

/* Load and validate FILE (exit code 2 and "FILE: json.path: expected ..., got ..." on error;
 * syntax errors with line:column). */
int manifest_load(const char *file, struct gbox_manifest **out, struct sbx_err **err);
/* The same for a document in memory (LEN bytes; label names it in messages): fuzz_manifest. */
int manifest_load_mem(const char *buf, size_t len, const char *label, struct gbox_manifest **out,
                      struct sbx_err **err);
/* Validate a document already parsed (label names it in messages); takes no reference. */
int manifest_from_json(const json_t *doc, const char *label, struct gbox_manifest **out,
                       struct sbx_err **err);
/* The canonical text of the manifest (sorted keys, compact, ASCII, defaults filled): what the
 * image digest covers and what the store keeps. Heap string. */
char *manifest_canonical(const struct gbox_manifest *m);
void manifest_free(struct gbox_manifest *m);

const char *module_set_name(enum module_set s);
const char *module_reload_name(enum module_reload r);

#endif
