/* generation.h — the generations of a supervised sandbox (docs/reload.md).
 *
 * A sandbox spawned with modules keeps its writable state on disk, under its record directory:
 *
 *   DIR/generations.json  {"format":1, "current":N, "next_layer":M, "generations":[ENTRY...]}
 *   DIR/state/upper, work the upper layer the running generation writes to
 *   DIR/layers/sK/        sealed upper layers (read-only lower layers of later generations)
 *   DIR/reload.json       the journal of a reload or rollback in progress (reload.c)
 *
 * ENTRY: {"gen", "modules": the --module refs the sandbox runs with, "images": the resolved
 * stack [{name, version, digest|dir}], "layers": the sealed state layers, top first,
 * "policy_digest", "time" (ms since the epoch), "reason", "status": verifying|verified|failed}.
 * A generation is its stack plus the state as at its checkpoint; the upper layer holds what was
 * written since. Every file here is replaced atomically (temp file, fsync, rename). */
#ifndef GBOX_GENERATION_H
#define GBOX_GENERATION_H

#include "../sandbox/sbx.h"

#include <jansson.h>
#include <stdbool.h>

struct gbox_policy;
struct run_request;

/* Read DIR/generations.json (NULL with *err when it cannot be read; errno ENOENT: none). */
json_t *gen_load(const char *dir, struct sbx_err **err);
int gen_save(const char *dir, const json_t *g, struct sbx_err **err);
/* Write a JSON value to PATH atomically (temp file, fsync, rename, fsync of the directory). */
int gen_write_json(const char *path, const json_t *v, struct sbx_err **err);

/* A new record whose generation 1 runs `modules` (borrowed, as images). */
json_t *gen_new(json_t *modules, json_t *images, const char *policy_digest);
json_t *gen_find(const json_t *g, int gen);
json_t *gen_current(const json_t *g);
/* Append a generation and make it current; returns its number. modules and images are borrowed,
 * layers is taken. */
int gen_append(json_t *g, json_t *modules, json_t *images, json_t *layers, const char *policy_digest,
               const char *reason, const char *status);
/* A fresh layer name (sK), counted in the record. */
void gen_next_layer(json_t *g, char *name, size_t len);

/* Checkpoint for a restart: DIR/state/upper becomes DIR/layers/NAME (one rename) and the work
 * directory goes; the shim creates a fresh upper at the next start. Idempotent: a layer already
 * sealed under NAME is left as it is. */
int gen_seal_upper(const char *dir, const char *name, struct sbx_err **err);
/* Drop what was written since the checkpoint: DIR/state goes (renamed aside, then removed). */
int gen_drop_upper(const char *dir, struct sbx_err **err);
/* Keep the newest `keep` generations (and the current one); remove layers no kept one uses.
 * Returns how many generations were dropped. */
int gen_trim(const char *dir, json_t *g, int keep);
/* Compaction: the state layers every generation of g has at its bottom (the oldest ones, shared
 * since older generations were trimmed) merged into one new layer (tree_merge: whiteouts and
 * opaque directories applied as overlayfs would, and kept), which replaces them in every
 * generation; the record is saved (the commit point) and the merged layers removed. Only while
 * no sandbox mounts them (between a stop and a start). Returns how many layers were merged (0:
 * fewer than 2 to merge), or -1 with *err and nothing changed. */
int gen_compact(const char *dir, json_t *g, struct sbx_err **err);
/* The kept generations, across every sandbox record under STATE_DIR/sandboxes, whose stack has
 * the image sha256:HEX: [{id, name, gen, current}] (empty when none). gbox image rm refuses such
 * an image, gc keeps it: a rollback to the generation would need it. */
json_t *gen_image_users(const char *state_dir, const char *hex);
/* Remove everything generations left in DIR (gbox rm). */
void gen_remove_all(const char *dir);

/* sha256:HEX of the resolved policy (canonical JSON). */
void gen_policy_digest(const struct gbox_policy *p, char out[80]);

/* gbox run --state-dir / --state-layer (stack.c): the upper layer in DIR/upper, owned by the
 * sandbox's mapped root, and the sealed layers above the "/" modules. */
int gen_state_plan(const struct gbox_policy *p, const struct run_request *rq, struct sbx_spec *s,
                   struct sbx_err **err);

#endif
