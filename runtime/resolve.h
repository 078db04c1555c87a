/* resolve.h — choosing a module stack: which version of each module, in which order.
 *
 * Pure logic (no files, no store): the caller hands in the candidates it knows (store images and
 * image-directory images), what was asked for (the root image, the policy's modules.load, each
 * --module) and the policy's rules; the answer is the stack, top first (a module above everything
 * it depends on, the root image at the bottom), or an error that shows the chain of requirements
 * that led to it. Rules (docs/images.md "Resolution"):
 *   - every range on a name must hold for the one version chosen for it; among the versions that
 *     do, the highest wins, and the search backtracks to lower ones when a choice leads to a
 *     conflict further down;
 *   - the dependency graph of the chosen versions has no cycle;
 *   - every module runs in the domain (its "domains" has the policy's name or "*");
 *   - every module is allowed: its set is within the policy's modules.set, or modules.allow names
 *     it (with a range, only matching versions), or the policy itself asked for it by name
 *     (interpreter.image, modules.load) — dependencies are never allowed implicitly;
 *   - every capability a module "requires" is provided by another module of the stack.
 */
#ifndef GBOX_RESOLVE_H
#define GBOX_RESOLVE_H

#include "manifest.h"

struct res_module {
    const struct gbox_manifest *m;
    const char *where; /* for messages and the caller: "sha256:abc..." or a directory */
    void *user;        /* the caller's own handle */
};

struct res_request {
    char name[65];
    struct semver_range range;
    char range_text[SEMVER_MAX_TEXT + 1];
    const char *origin;  /* how it was asked for: "--module app@^1", "modules.load[0]", ... */
    bool policy_named;   /* named by the policy itself: allowed whatever its set */
};

struct res_allow {
    char name[65];
    struct semver_range range;
};

struct res_policy {
    const char *domain;  /* the policy's name */
    enum module_set set; /* modules.set */
    const struct res_allow *allow;
    size_t n_allow;
};

struct res_stack {
    const struct res_module **v; /* top first */
    size_t n;
};

/* Parse "name" or "name@range" into a request; 0 or -1. */
int res_request_parse(const char *ref, const char *origin, bool policy_named, struct res_request *out);

/* pol NULL: no domain or allow-list checks. Returns 0 with *out (free with res_stack_free), or
 * -1 with *err (exit code 2: nothing ran). */
int resolve_stack(const struct res_module *catalog, size_t n_catalog, const struct res_request *req,
                  size_t n_req, const struct res_policy *pol, struct res_stack *out, struct sbx_err **err);
void res_stack_free(struct res_stack *s);

#endif
