/* stack.h — the root filesystem of one run: a single image directory (the fast path), or a
 * module stack resolved from the image store and the image directory; and the persistent upper
 * layer of a named sandbox. */
#ifndef GBOX_STACK_H
#define GBOX_STACK_H

#include "policy.h"
#include "store.h"

struct run_request;

/* What a run holds until it ends: its registration in the store (so `gbox image rm` refuses the
 * images it uses) and the stack it got, for the report. */
struct run_hold {
    struct store_run run;
    json_t *images; /* [{name, version, digest | dir, mount_point}], top first; NULL: one image dir */
};

/* Fill spec->rootfs, or spec->layers and the LAYERS mounts (added first to spec->mounts), and
 * spec->state_dir for rq->name. */
int stack_plan(const struct gbox_policy *p, const struct run_request *rq, struct sbx_spec *s,
               struct run_hold *hold, struct sbx_err **err);
void run_hold_release(struct run_hold *h);

#endif
