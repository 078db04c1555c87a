/* config.h — the daemon's runtime configuration: the domain policies in force, changed live.
 *
 * Every NAME.json of the policy directory (schema.json aside) that validates is a domain. The
 * version in force is kept in STATE/config/active/NAME.json (what gbox run is given, so that an
 * invalid edit on disk never reaches a sandbox), its revisions in STATE/config/history/NAME.json.
 * A change (config set, a merge patch, a revert, an edited file) becomes a candidate: the new
 * document validated like a file, the resolved fields that differ, which of them apply to running
 * sandboxes and which to new ones only, the cgroup limits before and after. The daemon checks it
 * against its sandboxes, queues it when the domain asks for approval, or commits and applies it. */
#ifndef GBOX_CONFIG_H
#define GBOX_CONFIG_H

#include "policy.h"
#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

struct config_store;

struct config_cand {
    char domain[128];
    json_t *doc;                    /* the new top-level document */
    struct gbox_policy *pol;        /* it, resolved */
    json_t *changes;                /* [{path, old, new, applies: "live"|"new-sandboxes"}] */
    bool approval, distinct;        /* safety.require_explicit_approval / distinct_approver (old or new) */
    unsigned cg_what;               /* SBX_CGU_* that differ */
    struct sbx_cgroup_limits lim_old, lim_new;
    int base_rev;                   /* the revision it changes */
    struct config_cand **deps;      /* domains extending it whose resolved policy changes with it */
    size_t n_deps;
};

int config_open(struct config_store **cs, const char *policy_dir, const char *state_dir, char *err, size_t errlen);
void config_close(struct config_store *cs);
const char *config_policy_dir(const struct config_store *cs);

/* What gbox run should load for a spawn's policy argument: the in-force copy of a domain, else arg. */
const char *config_policy_arg(struct config_store *cs, const char *arg);
/* The domain in force (NULL: none by that name). */
const struct gbox_policy *config_policy(struct config_store *cs, const char *domain);
int config_rev(struct config_store *cs, const char *domain);

/* {domain, rev, value} of a dotted path of the resolved policy (NULL path: all of it). */
json_t *config_get(struct config_store *cs, const char *domain, const char *path, char *err, size_t errlen);

/* Candidates. set: {"dotted.path": value}; patch: an RFC 7396 merge patch; rev: an old revision;
 * doc: a whole document (an edited file, an approved change). 0 or -1 with err. */
int config_cand_set(struct config_store *cs, const char *domain, const json_t *set, struct config_cand **out,
                    char *err, size_t errlen);
int config_cand_patch(struct config_store *cs, const char *domain, const json_t *patch, struct config_cand **out,
                      char *err, size_t errlen);
int config_cand_rev(struct config_store *cs, const char *domain, int rev, struct config_cand **out, char *err,
                    size_t errlen);
int config_cand_doc(struct config_store *cs, const char *domain, const json_t *doc, struct config_cand **out,
                    char *err, size_t errlen);
void config_cand_free(struct config_cand *c);

/* Make it the version in force: the policy file, the in-force copy and a new revision, each
 * written atomically; the domains that extend it (deps) are resolved again. Returns the new
 * revision, or -1 with err (nothing changed). */
int config_commit(struct config_store *cs, struct config_cand *c, uid_t uid, const char *source, char *err,
                  size_t errlen);

/* {domain, revisions: [{rev, time, uid, source, changes}]} */
json_t *config_history(struct config_store *cs, const char *domain, char *err, size_t errlen);

/* Policy files changed on disk: for each domain whose file differs from what was last seen, a
 * candidate (*cands) or an error ({domain, file, error} in *invalid). */
void config_scan(struct config_store *cs, struct config_cand ***cands, size_t *n, json_t *invalid);

#endif
