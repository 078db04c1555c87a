/* reload.h — what a reload of a supervised sandbox will run, checked before anything changes
 * (docs/reload.md), and the journal that makes a reload survive a crash of the daemon. The daemon
 * (daemon.c, "reload" section) drives the steps; generation.c keeps the records. */
#ifndef GBOX_RELOAD_H
#define GBOX_RELOAD_H

#include <jansson.h>
#include <stddef.h>

struct reload_plan {
    json_t *modules;     /* the new --module refs, each pinned to the version chosen (name@=V) */
    json_t *images;      /* the resolved stack, as in a report: [{name, version, digest|dir, mount_point}] */
    char mode[16];       /* the strictest manifest reload mode among the changed modules: swap, restart */
    char changed[512];   /* "sample 1.0.0 -> 2.0.0, ..." for events and messages */
};

/* The safety checks of `gbox reload`: `refs` (NAME[@RANGE] strings) replace the entries of the same
 * name in the current generation's `cur_modules` (or are added); the new set must resolve under
 * the sandbox's policy (every other module's range still satisfied, every module allowed in the
 * domain, capabilities provided, at most 500 layers), no changed module (old or new version) may
 * say `reload: never`, and something must change. 0 and *out filled, or -1 with the refusal in
 * why (one line naming the module and the rule). */
int reload_plan(const char *policy, const json_t *cur_modules, const json_t *cur_images, const json_t *refs,
                size_t n_state_layers, struct reload_plan *out, char *why, size_t len);
/* Resolve and pin `modules` as they are (a new sandbox's generation 1). */
int reload_resolve(const char *policy, const json_t *modules, struct reload_plan *out, char *why, size_t len);
void reload_plan_free(struct reload_plan *p);

/* What a live swap from stack `cur` to stack `next` (images as in a plan) has to mount:
 * {MOUNT_POINT: [host directory of each layer, top first]} for every mount point whose modules
 * differ. -1 with the reason in why when the swap is impossible: a module at "/" differs (the
 * root overlay cannot be remounted under a running program) or an image is not in the store. */
int reload_swap_mounts(const json_t *cur, const json_t *next, json_t **out, char *why, size_t len);

/* The journal DIR/reload.json: written (atomically) before each step, removed when done. */
json_t *reload_journal_load(const char *dir);
int reload_journal_save(const char *dir, const json_t *j);
void reload_journal_remove(const char *dir);

#endif
