/* daemon_reload.c — the daemon's reload section: generations, verification, rollback
 * (docs/reload.md). Split out of daemon.c; the record it works on is struct sb (daemon_priv.h). */

#include "approval.h"
#include "daemon_priv.h"
#include "generation.h"
#include "policy.h"
#include "reload.h"
#include "swap.h"
#include "request.h"
#include "../sandbox/util.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- reload: generations, verification, rollback (docs/reload.md) ------------------------------
 *
 * A sandbox spawned with modules has generations (generation.h): its upper layer lives on disk
 * in its record directory, and each reload seals it as a read-only state layer. A reload is a
 * sequence of steps, each announced in the journal (reload.json, atomically) before it is done,
 * so a daemon killed at any moment finishes or undoes it on start (adopt_all -> rl_resume or
 * rl_on_end) and the sandbox runs exactly one generation, the record's "current":
 *   stopping -> (shim ended) switching: seal the upper as layer L, record generation N (verifying)
 *   -> starting -> (shim started) verifying -> verified: journal removed
 *   any failure during verifying -> rollback -> (shim ended) rollback_switching: drop the upper,
 *   record generation N+1 = previous stack + the checkpoint's layers -> journal removed, start. */

#define RL_START_MS 60000 /* a new generation must be running this soon after its start */

struct rl_pol {
    int64_t window;
    int passes, keep;
    bool approval, autoreload;
    int signal;        /* modules.reload.signal after a swap; 0: none */
    bool swap_restart; /* modules.reload.swap_fallback: restart */
};

static void rl_policy(const struct sb *s, struct rl_pol *rp)
{
    struct gbox_policy *p = NULL;
    struct sbx_err *err = NULL;
    *rp = (struct rl_pol){10000, 1, 5, false, false, 0, false};
    if (policy_load(s->policy, &p, &err) < 0) {
        sbx_err_free(&err);
        return;
    }
    rp->window = pol_duration(p, "modules.reload.verify_window");
    rp->passes = (int)json_integer_value(pol_get(p, "modules.reload.verify_passes"));
    rp->keep = (int)json_integer_value(pol_get(p, "modules.reload.keep_generations"));
    rp->approval = json_is_true(pol_get(p, "safety.require_explicit_approval"));
    rp->autoreload = json_is_true(pol_get(p, "modules.reload.auto"));
    const char *sig = or_str(json_string_value(pol_get(p, "modules.reload.signal")), "none");
    rp->signal = strcmp(sig, "SIGHUP") == 0 ? SIGHUP : strcmp(sig, "SIGUSR1") == 0 ? SIGUSR1
               : strcmp(sig, "SIGUSR2") == 0 ? SIGUSR2 : 0;
    rp->swap_restart = strcmp(or_str(json_string_value(pol_get(p, "modules.reload.swap_fallback")), "refuse"), "restart") == 0;
    policy_free(p);
}

static void rl_dir(const struct sb *s, char *dir, size_t len) { sb_path(s, "", dir, len); }

json_t *rl_shim_args(struct sb *s)
{
    char dir[PATH_MAX], p[PATH_MAX];
    rl_dir(s, dir, sizeof(dir));
    json_t *g = gen_load(dir, NULL), *cur = g ? gen_current(g) : NULL;
    if (!cur) {
        json_decref(g);
        return NULL;
    }
    json_t *a = json_array(), *e;
    size_t i;
    snprintf(p, sizeof(p), "%sstate", dir);
    json_array_append_new(a, json_string("--state-dir"));
    json_array_append_new(a, json_string(p));
    json_array_foreach(json_object_get(cur, "layers"), i, e)
    {
        snprintf(p, sizeof(p), "%slayers/%s", dir, json_string_value(e));
        json_array_append_new(a, json_string("--state-layer"));
        json_array_append_new(a, json_string(p));
    }
    json_array_foreach(json_object_get(cur, "modules"), i, e)
    {
        json_array_append_new(a, json_string("--module"));
        json_array_append(a, e);
    }
    /* the images the generation recorded, by digest: a rebuild of the same name:version since
     * (the tag moved) does not change what a restart or a rollback runs */
    json_array_foreach(json_object_get(cur, "images"), i, e)
    {
        const char *name = json_string_value(json_object_get(e, "name"));
        const char *digest = json_string_value(json_object_get(e, "digest"));
        if (!name || !digest || strncmp(digest, "sha256:", 7) != 0)
            continue; /* an image directory's module ("dir"): no digest to pin */
        snprintf(p, sizeof(p), "%s=%s", name, digest);
        json_array_append_new(a, json_string("--pin"));
        json_array_append_new(a, json_string(p));
    }
    json_decref(g);
    return a;
}

/* The --module refs the sandbox runs with: its current generation's, else its request's. */
json_t *rl_modules(struct sb *s)
{
    char dir[PATH_MAX];
    rl_dir(s, dir, sizeof(dir));
    json_t *g = gen_load(dir, NULL), *cur = g ? gen_current(g) : NULL;
    json_t *m = json_incref(cur ? json_object_get(cur, "modules") : json_object_get(s->request, "modules"));
    json_decref(g);
    return m ? m : json_array();
}

/* A new sandbox with modules: generation 1, its stack resolved and pinned. */
int rl_spawn(struct sb *s, char *errbuf, size_t errlen)
{
    json_t *mods = json_object_get(s->request, "modules");
    if (!json_array_size(mods))
        return 0;
    struct reload_plan pl;
    if (reload_resolve(s->policy, mods, &pl, errbuf, errlen) < 0)
        return -1;
    char dir[PATH_MAX], digest[80] = "";
    struct gbox_policy *p = NULL;
    struct sbx_err *err = NULL;
    if (policy_load(s->policy, &p, NULL) == 0) {
        gen_policy_digest(p, digest);
        policy_free(p);
    }
    rl_dir(s, dir, sizeof(dir));
    json_t *g = gen_new(pl.modules, pl.images, digest);
    int rc = gen_save(dir, g, &err);
    if (rc < 0)
        snprintf(errbuf, errlen, "%s", err->msg);
    sbx_err_free(&err);
    json_decref(g);
    reload_plan_free(&pl);
    return rc;
}

static void rl_journal(struct sb *s, const char *phase)
{
    char dir[PATH_MAX];
    rl_dir(s, dir, sizeof(dir));
    json_object_set_new(s->rl, "phase", json_string(phase));
    if (reload_journal_save(dir, s->rl) < 0)
        emit(s, "error", json_pack("{s:s}", "message", "reload: cannot write the journal reload.json"));
}

static void rl_done(struct sb *s)
{
    char dir[PATH_MAX];
    rl_dir(s, dir, sizeof(dir));
    reload_journal_remove(dir);
    json_decref(s->rl);
    s->rl = NULL;
}

/* A replayed step takes the journal's layer counter, never a lower one than the record's (a
 * compaction may have counted further): a layer name is never given twice. */
static void rl_next_layer_at_least(json_t *g, const json_t *rl)
{
    json_int_t j = json_integer_value(json_object_get(rl, "next_layer"));
    if (j > json_integer_value(json_object_get(g, "next_layer")))
        json_object_set_new(g, "next_layer", json_integer(j));
}

/* Between a stop and a start (nothing mounts the layers): merge the state layers every kept
 * generation shares at its bottom into one (gen_compact). */
static void rl_compact(struct sb *s)
{
    char dir[PATH_MAX], msg[1024];
    rl_dir(s, dir, sizeof(dir));
    struct sbx_err *err = NULL;
    json_t *g = gen_load(dir, NULL);
    int n = g ? gen_compact(dir, g, &err) : 0;
    if (n > 0) {
        json_t *cur = gen_current(g);
        emit(s, "reload", json_pack("{s:s,s:i,s:s,s:I}", "phase", "compacted", "merged", n, "layer",
                                    json_string_value(json_array_get(json_object_get(cur, "layers"),
                                                                     json_array_size(json_object_get(cur, "layers")) - 1)),
                                    "layers", (json_int_t)json_array_size(json_object_get(cur, "layers"))));
    } else if (n < 0) {
        snprintf(msg, sizeof(msg), "reload: %s (the layers stay as they were)", err ? err->msg : "compaction failed");
        emit(s, "error", json_pack("{s:s}", "message", msg));
    }
    sbx_err_free(&err);
    json_decref(g);
}

static int64_t rl_elapsed(const struct sb *s)
{
    return json_integer_value(json_object_get(s->rl, "began")) > 0
               ? wall_ms() - json_integer_value(json_object_get(s->rl, "began"))
               : 0;
}

static void rl_start(struct sb *s)
{
    char err[1024];
    if (sb_start(s, err, sizeof(err)) < 0) {
        s->state = SB_FAILED;
        sb_save(s);
        emit(s, "error", json_pack("{s:s}", "message", err));
    }
}

/* Stop the sandbox for a step: TERM through the shim (grace as for stop); `now`: kill at once.
 * false when there is nothing to stop (its shim has ended: in sb_ended the state is not yet
 * updated, so the shim's pid decides). */
static bool rl_stop(struct sb *s, bool now)
{
    if ((s->state != SB_RUNNING && s->state != SB_STARTING) || s->shim <= 0)
        return false;
    if (now) {
        sb_kill_now(s);
        s->stop_deadline = mono_ms() + 2000;
        s->stop_escalated = true;
    } else {
        kill(s->shim, SIGTERM);
        s->stop_deadline = mono_ms() + s->grace_ms + 2000;
        s->stop_escalated = false;
    }
    return true;
}

static void rl_switch_rollback(struct sb *s, bool start);

/* Roll back: the journal gets the target (automatic: the previous generation's stack with the
 * failed one's checkpoint; manual: the chosen generation), then the sandbox stops. */
static void rl_begin_rollback(struct sb *s, const char *reason)
{
    json_object_set_new(s->rl, "reason", json_string(reason));
    rl_journal(s, "rollback");
    emit(s, "reload", json_pack("{s:s,s:s,s:I}", "phase", "rolling_back", "reason", reason, "failed_gen",
                                json_integer_value(json_object_get(s->rl, "gen"))));
    if (!rl_stop(s, true)) /* the failed version's writes are dropped anyway */
        rl_switch_rollback(s, !s->stop_requested);
}

static void rl_commit(struct sb *s)
{
    char dir[PATH_MAX];
    rl_dir(s, dir, sizeof(dir));
    json_t *g = gen_load(dir, NULL);
    int gen = (int)json_integer_value(json_object_get(s->rl, "gen"));
    json_t *e = g ? gen_find(g, gen) : NULL;
    struct rl_pol rp;
    rl_policy(s, &rp);
    if (e) {
        json_object_set_new(e, "status", json_string("verified"));
        gen_trim(dir, g, rp.keep);
        gen_save(dir, g, NULL);
    }
    json_decref(g);
    emit(s, "reload", json_pack("{s:s,s:i,s:i,s:I}", "phase", "verified", "gen", gen, "passes", s->rl_passes, "ms",
                                (json_int_t)rl_elapsed(s)));
    rl_done(s);
}

/* The sandbox's generations, or NULL after an error event and the end of the reload. */
static json_t *rl_load_or_end(struct sb *s, const char *dir)
{
    struct sbx_err *err = NULL;
    json_t *g = gen_load(dir, &err);
    if (!g) {
        char msg[1024];
        snprintf(msg, sizeof(msg), "reload: %s", err ? err->msg : "no generations");
        sbx_err_free(&err);
        emit(s, "error", json_pack("{s:s}", "message", msg));
        rl_done(s);
    }
    return g;
}

/* The state layer this reload seals into, in layer: named and journalled (as step) the first
 * time, so that a replay after a crash uses the same name. true when named now. */
static bool rl_claim_layer(struct sb *s, json_t *g, const char *step, char *layer, size_t len)
{
    bool fresh = !json_object_get(s->rl, "layer");
    if (fresh) {
        gen_next_layer(g, layer, len);
        json_object_set_new(s->rl, "layer", json_string(layer));
        json_object_set_new(s->rl, "next_layer", json_incref(json_object_get(g, "next_layer")));
        rl_journal(s, step);
    }
    rl_next_layer_at_least(g, s->rl);
    snprintf(layer, len, "%s", json_string_value(json_object_get(s->rl, "layer")));
    return fresh;
}

/* After the sandbox stopped for a reload: seal, record, start, verify. Every step can be
 * replayed: the layer name and generation number are in the journal before they are used. */
static void rl_switch_reload(struct sb *s)
{
    char dir[PATH_MAX], layer[32], msg[1024];
    rl_dir(s, dir, sizeof(dir));
    json_t *g = rl_load_or_end(s, dir);
    if (!g)
        return;
    struct sbx_err *err = NULL;
    rl_claim_layer(s, g, "switching", layer, sizeof(layer));
    int gen = (int)json_integer_value(json_object_get(s->rl, "gen"));
    if (!gen_find(g, gen)) {
        if (gen_seal_upper(dir, layer, &err) < 0) {
            snprintf(msg, sizeof(msg), "reload: checkpoint: %s", err ? err->msg : "failed");
            sbx_err_free(&err);
            emit(s, "error", json_pack("{s:s}", "message", msg));
            json_decref(g);
            rl_done(s); /* nothing recorded: the sandbox stays on its generation */
            rl_start(s);
            return;
        }
        json_t *from = gen_find(g, (int)json_integer_value(json_object_get(s->rl, "from_gen")));
        json_t *layers = json_pack("[s]", layer);
        json_array_extend(layers, json_object_get(from, "layers"));
        char reason[600];
        snprintf(reason, sizeof(reason), "reload: %s", json_string_value(json_object_get(s->rl, "changed")));
        gen_append(g, json_object_get(s->rl, "modules"), json_object_get(s->rl, "images"), layers,
                   json_string_value(json_object_get(s->rl, "policy_digest")), reason, "verifying");
        json_object_set_new(s->rl, "layers", json_deep_copy(layers));
        if (gen_save(dir, g, &err) < 0) {
            snprintf(msg, sizeof(msg), "reload: %s", err ? err->msg : "record");
            sbx_err_free(&err);
            emit(s, "error", json_pack("{s:s}", "message", msg));
        }
    }
    json_decref(g);
    rl_compact(s);
    rl_journal(s, "starting");
    emit(s, "reload", json_pack("{s:s,s:i,s:s}", "phase", "checkpoint", "gen", gen, "layer", layer));
    if (s->stop_requested) { /* stopped meanwhile: the new generation is tried at the next start */
        rl_begin_rollback(s, "stopped during the reload");
        return;
    }
    rl_start(s);
    /* the window counts from when the new program runs (rl_tick); until then it may take this long */
    s->rl_deadline = mono_ms() + RL_START_MS;
    s->rl_passes = 0;
    s->rl_started = mono_ms();
    if (s->state == SB_STARTING)
        rl_journal(s, "verifying");
}

/* Rollback after the failed generation stopped: drop the upper, record the target, start. */
static void rl_switch_rollback(struct sb *s, bool start)
{
    char dir[PATH_MAX];
    rl_dir(s, dir, sizeof(dir));
    json_t *g = gen_load(dir, NULL);
    if (!g) {
        rl_done(s);
        return;
    }
    if (!json_object_get(s->rl, "to_gen")) {
        int last = 0;
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(g, "generations"), i, e) if (json_integer_value(json_object_get(e, "gen")) > last) last =
            (int)json_integer_value(json_object_get(e, "gen"));
        json_object_set_new(s->rl, "to_gen", json_integer(last + 1));
        rl_journal(s, "rollback_switching");
    }
    int to = (int)json_integer_value(json_object_get(s->rl, "to_gen"));
    int failed = (int)json_integer_value(json_object_get(s->rl, "gen"));
    if (!gen_find(g, to)) {
        gen_drop_upper(dir, NULL);
        json_t *target = json_object_get(s->rl, "target");
        json_t *src = gen_find(g, (int)json_integer_value(json_object_get(target, "gen")));
        json_t *chk = json_object_get(target, "layers_of") ? gen_find(g, (int)json_integer_value(json_object_get(target, "layers_of"))) : src;
        if (!src || !chk) { /* the target was trimmed away: stay, but say so */
            emit(s, "error", json_pack("{s:s}", "message", "rollback: the target generation is gone"));
        } else {
            char reason[700];
            snprintf(reason, sizeof(reason), "rollback to generation %d: %s",
                     (int)json_integer_value(json_object_get(src, "gen")),
                     json_string_value(json_object_get(s->rl, "reason")));
            json_t *fe = failed ? gen_find(g, failed) : NULL;
            if (fe)
                json_object_set_new(fe, "status", json_string("failed"));
            gen_append(g, json_object_get(src, "modules"), json_object_get(src, "images"),
                       json_deep_copy(json_object_get(chk, "layers")),
                       json_string_value(json_object_get(src, "policy_digest")), reason, "verified");
            struct rl_pol rp;
            rl_policy(s, &rp);
            gen_trim(dir, g, rp.keep);
            gen_save(dir, g, NULL);
        }
    } else {
        gen_drop_upper(dir, NULL); /* replayed: the upper may still hold the failed writes */
    }
    json_decref(g);
    emit(s, "rollback", json_pack("{s:i,s:i,s:s,s:I}", "from_gen", failed, "to_gen", to, "reason",
                                  json_string_value(json_object_get(s->rl, "reason")), "ms", (json_int_t)rl_elapsed(s)));
    rl_done(s);
    if (start) {
        rl_compact(s);
        rl_start(s);
    }
    else {
        s->state = SB_STOPPED;
        s->started_at = -1;
        sb_save(s);
        emit(s, "stopped", NULL);
    }
}

/* ---- swap mode: checkpoint (frozen copy), record, mount, signal, verify --------------------- */

/* Mount the journal's "mounts" in the running sandbox; -1 with the reason. */
static int rl_swap_mounts(struct sb *s, const json_t *mounts, char *why, size_t len)
{
    const char *mp;
    json_t *dirs;
    json_object_foreach((json_t *)mounts, mp, dirs)
    {
        size_t n = json_array_size(dirs);
        char **v = calloc(n + 1, sizeof(char *));
        if (!v)
            abort();
        for (size_t i = 0; i < n; i++)
            v[i] = (char *)json_string_value(json_array_get(dirs, i));
        struct sbx_err *err = NULL;
        int rc = swap_mount(s->where.init_pid, mp, v, n, &err);
        free(v);
        if (rc < 0) {
            snprintf(why, len, "%s", err ? err->msg : "swap failed");
            sbx_err_free(&err);
            return -1;
        }
    }
    return 0;
}

/* Steps of a swap, each announced in the journal: swap_checkpoint (the upper copied, frozen, to
 * layer L) -> swapping (generation N recorded, verifying) -> mounts moved, signal -> verifying.
 * Replayed from any step after a crash (rl_resume): the copy and the record are idempotent, and
 * mounting the same tree again over the mount point leaves it as the first time. */
/* Why the last rl_swap ended the reload before it changed anything (the request's answer). */
static char rl_refusal[1100];

static void rl_swap(struct sb *s)
{
    char dir[PATH_MAX], layer[32], msg[1024];
    rl_dir(s, dir, sizeof(dir));
    json_t *g = rl_load_or_end(s, dir);
    if (!g)
        return;
    struct sbx_err *err = NULL;
    int gen = (int)json_integer_value(json_object_get(s->rl, "gen"));
    if (rl_claim_layer(s, g, "swap_checkpoint", layer, sizeof(layer)))
        emit(s, "reload", json_pack("{s:s,s:s,s:i,s:i,s:s}", "phase", "swapping", "changed",
                                    json_string_value(json_object_get(s->rl, "changed")), "from_gen",
                                    (int)json_integer_value(json_object_get(s->rl, "from_gen")), "gen", gen, "mode", "swap"));
    if (!gen_find(g, gen)) {
        if (swap_checkpoint(dir, layer, &s->where, &err) < 0) {
            snprintf(msg, sizeof(msg), "the swap's checkpoint failed: %s", err ? err->msg : "?");
            sbx_err_free(&err);
            snprintf(rl_refusal, sizeof(rl_refusal), "%s", msg);
            emit(s, "reload", json_pack("{s:s,s:s}", "phase", "refused", "reason", msg));
            json_decref(g);
            rl_done(s); /* nothing recorded, nothing mounted: the sandbox stays on its generation */
            return;
        }
        json_t *from = gen_find(g, (int)json_integer_value(json_object_get(s->rl, "from_gen")));
        json_t *layers = json_pack("[s]", layer);
        json_array_extend(layers, json_object_get(from, "layers"));
        char reason[600];
        snprintf(reason, sizeof(reason), "reload: %s", json_string_value(json_object_get(s->rl, "changed")));
        gen_append(g, json_object_get(s->rl, "modules"), json_object_get(s->rl, "images"), layers,
                   json_string_value(json_object_get(s->rl, "policy_digest")), reason, "verifying");
        json_object_set_new(gen_find(g, gen), "mode", json_string("swap"));
        json_object_set(gen_find(g, gen), "swapped_from", json_object_get(s->rl, "from_gen"));
        json_object_set_new(s->rl, "layers", json_deep_copy(layers));
        if (gen_save(dir, g, &err) < 0) {
            snprintf(msg, sizeof(msg), "reload: %s", err ? err->msg : "record");
            sbx_err_free(&err);
            emit(s, "error", json_pack("{s:s}", "message", msg));
        }
    }
    json_decref(g);
    rl_journal(s, "swapping");
    if (rl_swap_mounts(s, json_object_get(s->rl, "mounts"), msg, sizeof(msg)) < 0) {
        char reason[1100];
        snprintf(reason, sizeof(reason), "the swap of generation %d failed: %s", gen, msg);
        rl_begin_rollback(s, reason); /* by restart: the previous stack on the checkpoint's state */
        return;
    }
    struct rl_pol rp;
    rl_policy(s, &rp);
    if (rp.signal && s->where.init_pid > 0)
        kill(s->where.init_pid, rp.signal); /* the sandbox's init passes it on to the program */
    json_object_set_new(s->rl, "started", json_true());
    rl_journal(s, "verifying");
    s->rl_deadline = mono_ms() + rp.window;
    s->rl_passes = 0;
    s->rl_started = mono_ms();
    emit(s, "reload", json_pack("{s:s,s:i,s:s,s:s,s:I}", "phase", "swapped", "gen", gen, "layer", layer, "signal",
                                rp.signal ? strsignal(rp.signal) : "none", "ms", (json_int_t)rl_elapsed(s)));
}

/* Record the live rollback's generation (idempotent): the target's stack, the state layers the
 * sandbox runs on now (a swap changes no state, so its rollback keeps it). */
static void rl_swap_back_record(struct sb *s)
{
    char dir[PATH_MAX], reason[700];
    rl_dir(s, dir, sizeof(dir));
    json_t *g = gen_load(dir, NULL);
    int to = (int)json_integer_value(json_object_get(s->rl, "to_gen"));
    if (g && !gen_find(g, to)) {
        json_t *src = gen_find(g, (int)json_integer_value(json_object_get(json_object_get(s->rl, "target"), "gen")));
        json_t *cur = gen_find(g, (int)json_integer_value(json_object_get(s->rl, "from_gen")));
        if (src && cur) {
            snprintf(reason, sizeof(reason), "rollback to generation %d (swap): %s",
                     (int)json_integer_value(json_object_get(src, "gen")),
                     or_str(json_string_value(json_object_get(s->rl, "reason")), ""));
            gen_append(g, json_object_get(src, "modules"), json_object_get(src, "images"),
                       json_deep_copy(json_object_get(cur, "layers")), json_string_value(json_object_get(src, "policy_digest")),
                       reason, "verified");
            json_object_set_new(gen_find(g, to), "mode", json_string("swap"));
            struct rl_pol rp;
            rl_policy(s, &rp);
            gen_trim(dir, g, rp.keep);
            gen_save(dir, g, NULL);
        }
    }
    json_decref(g);
}

/* A live rollback (the current generation was swapped in from the target, and the sandbox
 * runs): journal swap_back -> the target's trees moved back over the mount points -> record ->
 * journal removed. false when it could not be done live (the caller rolls back by restart). */
static bool rl_swap_back(struct sb *s)
{
    char why[1024];
    rl_journal(s, "swap_back");
    if (rl_swap_mounts(s, json_object_get(s->rl, "mounts"), why, sizeof(why)) < 0) {
        emit(s, "reload", json_pack("{s:s,s:s}", "phase", "swap_back_failed", "reason", why));
        return false;
    }
    rl_swap_back_record(s);
    struct rl_pol rp;
    rl_policy(s, &rp);
    if (rp.signal && s->where.init_pid > 0)
        kill(s->where.init_pid, rp.signal);
    emit(s, "rollback", json_pack("{s:i,s:I,s:s,s:s,s:I}", "from_gen", (int)json_integer_value(json_object_get(s->rl, "from_gen")),
                                  "to_gen", json_integer_value(json_object_get(s->rl, "to_gen")), "reason",
                                  or_str(json_string_value(json_object_get(s->rl, "reason")), ""), "mode", "swap", "ms",
                                  (json_int_t)rl_elapsed(s)));
    rl_done(s);
    return true;
}

/* The shim ended while a reload or rollback is in progress. */
bool rl_on_end(struct sb *s)
{
    const char *ph = json_string_value(json_object_get(s->rl, "phase"));
    if (!ph)
        ph = "";
    if (strcmp(ph, "stopping") == 0 && s->stop_requested) {
        emit(s, "reload", json_pack("{s:s,s:s}", "phase", "cancelled", "reason", "stopped during the reload"));
        rl_done(s);
        return false;
    }
    if (strcmp(ph, "swap_back") == 0) { /* ended meanwhile: record it; the usual end follows */
        rl_swap_back_record(s);
        rl_done(s);
        return false;
    }
    if (strcmp(ph, "swap_checkpoint") == 0 || strcmp(ph, "swapping") == 0) {
        char dir[PATH_MAX];
        rl_dir(s, dir, sizeof(dir));
        json_t *g = gen_load(dir, NULL);
        bool recorded = g && gen_find(g, (int)json_integer_value(json_object_get(s->rl, "gen")));
        json_decref(g);
        if (!recorded) { /* ended before the swap was recorded: nothing changed, the usual end */
            rl_done(s);
            return false;
        }
        char reason[600];
        snprintf(reason, sizeof(reason), "generation %d ended during its swap: %s",
                 (int)json_integer_value(json_object_get(s->rl, "gen")),
                 or_str(json_string_value(json_object_get(s->last, "reason")), "no report"));
        rl_begin_rollback(s, reason);
    } else if (strcmp(ph, "stopping") == 0 || strcmp(ph, "switching") == 0) {
        rl_switch_reload(s);
    } else if (strcmp(ph, "starting") == 0 || strcmp(ph, "verifying") == 0) {
        char reason[600];
        snprintf(reason, sizeof(reason), "generation %d ended during verification: %s",
                 (int)json_integer_value(json_object_get(s->rl, "gen")),
                 or_str(json_string_value(json_object_get(s->last, "reason")), "no report"));
        rl_begin_rollback(s, reason);
    } else { /* rollback, rollback_switching */
        rl_switch_rollback(s, !s->stop_requested);
    }
    return true;
}

static bool rl_verifying(const struct sb *s)
{
    const char *ph = json_string_value(json_object_get(s->rl, "phase"));
    return ph && (strcmp(ph, "verifying") == 0 || strcmp(ph, "starting") == 0);
}

bool rl_health(struct sb *s, bool ok, bool counts)
{
    if (!rl_verifying(s))
        return false;
    struct rl_pol rp;
    rl_policy(s, &rp);
    if (ok) {
        s->rl_passes++;
        s->hc_failures = 0;
        if (rp.passes > 0 && s->rl_passes >= rp.passes)
            rl_commit(s);
        return true;
    }
    emit(s, "health_check_failed", json_pack("{s:b}", "verifying", 1));
    if (counts && ++s->hc_failures >= s->hc_retries) {
        char reason[256];
        snprintf(reason, sizeof(reason), "health check failed %d times in a row during verification", s->hc_failures);
        rl_begin_rollback(s, reason);
    }
    return true;
}

void rl_tick(struct sb *s, int64_t now)
{
    if (!rl_verifying(s))
        return;
    struct rl_pol rp;
    if (s->state == SB_RUNNING && !json_is_true(json_object_get(s->rl, "started"))) {
        rl_policy(s, &rp);
        json_object_set_new(s->rl, "started", json_true());
        rl_journal(s, "verifying");
        s->rl_deadline = now + rp.window;
    }
    if (s->rl_deadline < 0 || now < s->rl_deadline)
        return;
    rl_policy(s, &rp);
    int need = json_array_size(s->hc_cmd) ? rp.passes : 0;
    char reason[256];
    if (s->state != SB_RUNNING) {
        snprintf(reason, sizeof(reason), "not running %d s after the reload", RL_START_MS / 1000);
        rl_begin_rollback(s, reason);
    } else if (s->rl_passes < need) {
        snprintf(reason, sizeof(reason), "health check passed %d of %d times within the verification window (%lld ms)",
                 s->rl_passes, need, (long long)rp.window);
        rl_begin_rollback(s, reason);
    } else {
        rl_commit(s);
    }
}

/* After adoption by a new daemon: continue the step the journal names. */
void rl_resume(struct sb *s)
{
    const char *ph = or_str(json_string_value(json_object_get(s->rl, "phase")), "");
    emit(s, "reload", json_pack("{s:s,s:s}", "phase", "resumed", "at", ph));
    if (strcmp(ph, "swap_back") == 0) {
        if (s->state != SB_RUNNING || !rl_swap_back(s)) {
            rl_swap_back_record(s); /* the record wins: a restart puts the target's trees in place */
            rl_done(s);
            rl_stop(s, true);
        }
    } else if (strcmp(ph, "swap_checkpoint") == 0 || strcmp(ph, "swapping") == 0) {
        if (s->state == SB_RUNNING && s->where.init_pid > 0) {
            rl_swap(s);
        } else { /* not running yet: stop it, and rl_on_end decides as after any end */
            rl_stop(s, true);
        }
    } else if (rl_verifying(s)) {
        struct rl_pol rp;
        rl_policy(s, &rp);
        s->rl_deadline = mono_ms() + (json_is_true(json_object_get(s->rl, "started")) ? rp.window : RL_START_MS);
        s->rl_passes = 0;
        s->rl_started = mono_ms();
    } else if (strcmp(ph, "stopping") == 0) {
        rl_stop(s, false);
    } else {
        rl_stop(s, true);
    }
}

json_t *op_generations(struct sb *s)
{
    char dir[PATH_MAX];
    rl_dir(s, dir, sizeof(dir));
    struct sbx_err *err = NULL;
    json_t *g = gen_load(dir, &err);
    if (!g) {
        sbx_err_free(&err);
        return fail_msg("generations: %s has no generations (spawn it with --module to reload it)", s->id);
    }
    json_t *r = json_pack("{s:b,s:O,s:O,s:s}", "ok", 1, "current", json_object_get(g, "current"), "generations",
                          json_object_get(g, "generations"), "state", state_names[s->state]);
    if (s->rl)
        json_object_set(r, "reload", s->rl);
    json_decref(g);
    return r;
}

/* Checks shared by reload and rollback; NULL when the sandbox can take one. */
static json_t *rl_can(struct client *c, struct sb *s, const char *op, json_t **g)
{
    char dir[PATH_MAX];
    rl_dir(s, dir, sizeof(dir));
    if (!allowed(c, op, s->domain))
        return fail_msg("permission denied: uid %d may not %s in domain %s", (int)c->uid, op, s->domain);
    if (s->rl)
        return fail_msg("%s: a %s of %s is in progress (phase %s)", op,
                        or_str(json_string_value(json_object_get(s->rl, "op")), "reload"), s->id,
                        or_str(json_string_value(json_object_get(s->rl, "phase")), "?"));
    *g = gen_load(dir, NULL);
    if (!*g)
        return fail_msg("%s: %s has no generations (spawn it with --module to reload it)", op, s->id);
    if (s->state != SB_RUNNING && s->state != SB_STARTING) {
        json_decref(*g);
        return fail_msg("%s: %s is %s, not running", op, s->id, state_names[s->state]);
    }
    return NULL;
}

/* Queue a reload for approval (domains with safety.require_explicit_approval), in the daemon's
 * one approval queue (daemon_approvals()): `gbox approve ID` applies it through approve_kinds. */
static int rl_submit(struct sb *s, json_t *payload, uid_t uid, char *id, size_t idlen, char *err, size_t errlen)
{
    return approval_submit(daemon_approvals(), "reload", s->domain, s->id, payload, uid, id, idlen, err, errlen);
}

static int rl_last_gen(const json_t *g)
{
    int last = 0;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(g, "generations"), i, e) if (json_integer_value(json_object_get(e, "gen")) > last) last =
        (int)json_integer_value(json_object_get(e, "gen"));
    return last;
}

/* A plan whose changed modules all say swap: what to mount (*mounts), or, when the swap cannot
 * be made, the restart fallback (pl->mode becomes restart, *mounts NULL) if the policy allows it;
 * -1 with the refusal in why otherwise. */
static int rl_swap_decide(struct sb *s, const json_t *cur, struct reload_plan *pl, const struct rl_pol *rp,
                          json_t **mounts, char *why, size_t len)
{
    *mounts = NULL;
    if (strcmp(pl->mode, "swap") != 0)
        return 0;
    char no[700] = "";
    if (s->state != SB_RUNNING || s->where.init_pid <= 0)
        snprintf(no, sizeof(no), "%s is still starting (a swap needs its running mount namespace)", s->id);
    else
        reload_swap_mounts(json_object_get(cur, "images"), pl->images, mounts, no, sizeof(no));
    if (*mounts)
        return 0;
    if (!rp->swap_restart) {
        snprintf(why, len, "cannot swap %s live: %s (modules.reload.swap_fallback is \"refuse\")", pl->changed, no);
        return -1;
    }
    emit(s, "reload", json_pack("{s:s,s:s}", "phase", "swap_fallback", "reason", no));
    snprintf(pl->mode, sizeof(pl->mode), "restart");
    return 0;
}

/* Checks, then queue (approval needed and not given yet) or start the reload. */
static json_t *rl_reload(struct sb *s, json_t *g, json_t *refs, uid_t uid, bool approved)
{
    struct rl_pol rp;
    rl_policy(s, &rp);
    json_t *cur = gen_current(g);
    struct reload_plan pl;
    char why[1024];
    if (reload_plan(s->policy, json_object_get(cur, "modules"), json_object_get(cur, "images"), refs, json_array_size(json_object_get(cur, "layers")) + 1, &pl, why,
                    sizeof(why)) < 0) {
        json_decref(g);
        emit(s, "reload", json_pack("{s:s,s:s}", "phase", "refused", "reason", why));
        return fail_msg("reload refused: %s", why);
    }
    if (rp.approval && !approved) {
        char id[64], err[512] = "";
        json_t *pl_json = json_pack("{s:O,s:s}", "modules", refs, "changed", pl.changed);
        int rc = rl_submit(s, pl_json, uid, id, sizeof(id), err, sizeof(err));
        json_decref(pl_json);
        json_decref(g);
        if (rc < 0) {
            reload_plan_free(&pl);
            return fail_msg("reload: domain %s requires explicit approval and the request cannot be queued: %s",
                            s->domain, err);
        }
        emit(s, "reload", json_pack("{s:s,s:s,s:s,s:i}", "phase", "queued", "approval", id, "changed", pl.changed, "uid",
                                    (int)uid));
        json_t *r = json_pack("{s:b,s:s,s:s,s:s}", "ok", 1, "queued", id, "changed", pl.changed, "message", "");
        char m[256];
        snprintf(m, sizeof(m), "queued for approval as %s (domain %s requires explicit approval)", id, s->domain);
        json_object_set_new(r, "message", json_string(m));
        reload_plan_free(&pl);
        return r;
    }
    json_t *mounts = NULL;
    if (rl_swap_decide(s, cur, &pl, &rp, &mounts, why, sizeof(why)) < 0) {
        reload_plan_free(&pl);
        json_decref(g);
        emit(s, "reload", json_pack("{s:s,s:s}", "phase", "refused", "reason", why));
        return fail_msg("reload refused: %s", why);
    }
    int last = rl_last_gen(g);
    char digest[80] = "";
    struct gbox_policy *p = NULL;
    if (policy_load(s->policy, &p, NULL) == 0) {
        gen_policy_digest(p, digest);
        policy_free(p);
    }
    int from = (int)json_integer_value(json_object_get(g, "current"));
    s->rl = json_pack("{s:s,s:i,s:i,s:O,s:O,s:s,s:s,s:s,s:I,s:{s:i,s:i}}", "op", "reload", "from_gen", from, "gen",
                      last + 1, "modules", pl.modules, "images", pl.images, "changed", pl.changed, "mode", pl.mode,
                      "policy_digest", digest, "began", (json_int_t)wall_ms(), "target", "gen", from, "layers_of",
                      last + 1);
    json_t *r = json_pack("{s:b,s:i,s:i,s:s,s:s}", "ok", 1, "from_gen", from, "gen", last + 1, "changed", pl.changed,
                          "mode", pl.mode);
    if (mounts) {
        json_object_set_new(s->rl, "mounts", mounts);
        reload_plan_free(&pl);
        json_decref(g);
        rl_refusal[0] = '\0';
        rl_swap(s);
        if (!s->rl && rl_refusal[0]) { /* the checkpoint failed: nothing changed */
            json_decref(r);
            return fail_msg("reload refused: %s", rl_refusal);
        }
        return r;
    }
    rl_journal(s, "stopping");
    emit(s, "reload", json_pack("{s:s,s:s,s:i,s:i,s:s}", "phase", "stopping", "changed", pl.changed, "from_gen", from,
                                "gen", last + 1, "mode", pl.mode));
    reload_plan_free(&pl);
    json_decref(g);
    rl_stop(s, false);
    return r;
}

json_t *op_reload(struct client *c, struct sb *s, json_t *rq)
{
    json_t *g = NULL, *no = rl_can(c, s, "reload", &g);
    if (no)
        return no;
    struct rl_pol rp;
    rl_policy(s, &rp);
    if (json_is_true(json_object_get(rq, "auto")) && !rp.autoreload) { /* gbox image watch */
        json_decref(g);
        return fail_msg("reload refused: domain %s does not allow automatic reloads (modules.reload.auto is false)",
                        s->domain);
    }
    return rl_reload(s, g, json_object_get(rq, "modules"), c->uid, false);
}

/* approve ID of kind "reload" (the config branch's approve_kinds table: {"reload", approve_reload}):
 * the checks run again on what is there now, then the reload starts. */
json_t *approve_reload(struct client *c, json_t *entry)
{
    const char *id = json_string_value(json_object_get(entry, "id"));
    struct sb *s = sb_find(json_string_value(json_object_get(entry, "target")));
    json_t *g = NULL;
    char dir[PATH_MAX];
    if (!s)
        return fail_msg("approve %s: sandbox %s is gone (the reload is dropped)", id,
                        json_string_value(json_object_get(entry, "target")));
    rl_dir(s, dir, sizeof(dir));
    if (s->rl)
        return fail_msg("approve %s: a %s of %s is in progress (the reload is dropped)", id,
                        json_string_value(json_object_get(s->rl, "op")), s->id);
    if (s->state != SB_RUNNING && s->state != SB_STARTING)
        return fail_msg("approve %s: %s is %s, not running (the reload is dropped)", id, s->id, state_names[s->state]);
    g = gen_load(dir, NULL);
    if (!g)
        return fail_msg("approve %s: %s has no generations (the reload is dropped)", id, s->id);
    emit(s, "reload", json_pack("{s:s,s:s,s:i}", "phase", "approved", "approval", id, "uid", (int)c->uid));
    return rl_reload(s, g, json_object_get(json_object_get(entry, "payload"), "modules"),
                     (uid_t)json_integer_value(json_object_get(entry, "requester")), true);
}

json_t *op_rollback(struct client *c, struct sb *s, json_t *rq)
{
    json_t *g = NULL, *no = rl_can(c, s, "rollback", &g);
    if (no)
        return no;
    int cur = (int)json_integer_value(json_object_get(g, "current"));
    json_t *to = json_object_get(rq, "to");
    int target = -1;
    if (to && !json_is_integer(to)) {
        json_decref(g);
        return fail_msg("rollback: \"to\": expected a generation number");
    }
    if (to) {
        target = (int)json_integer_value(to);
    } else { /* the newest generation before the current one */
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(g, "generations"), i, e)
        {
            int n = (int)json_integer_value(json_object_get(e, "gen"));
            if (n < cur && n > target)
                target = n;
        }
    }
    json_t *te = target > 0 ? gen_find(g, target) : NULL;
    if (!te || target == cur) {
        json_decref(g);
        return target == cur ? fail_msg("rollback: %s runs generation %d already", s->id, cur)
                             : target < 0 ? fail_msg("rollback: %s has no generation before %d", s->id, cur)
                                          : fail_msg("rollback: %s has no generation %d (gbox generations %s)", s->id, target, s->id);
    }
    char reason[128];
    snprintf(reason, sizeof(reason), "asked by uid %d", (int)c->uid);
    /* live: the current generation was swapped in from the target and the sandbox runs */
    json_t *ce = gen_find(g, cur), *mounts = NULL;
    if (json_integer_value(json_object_get(ce, "swapped_from")) == target && s->state == SB_RUNNING &&
        s->where.init_pid > 0) {
        char why[512];
        reload_swap_mounts(json_object_get(ce, "images"), json_object_get(te, "images"), &mounts, why, sizeof(why));
    }
    if (mounts) {
        int last = rl_last_gen(g);
        s->rl = json_pack("{s:s,s:s,s:i,s:i,s:i,s:I,s:{s:i},s:o,s:s}", "op", "rollback", "mode", "swap", "from_gen", cur,
                          "gen", 0, "to_gen", last + 1, "began", (json_int_t)wall_ms(), "target", "gen", target, "mounts",
                          mounts, "reason", reason);
        json_decref(g);
        if (rl_swap_back(s))
            return json_pack("{s:b,s:i,s:i,s:s}", "ok", 1, "from_gen", cur, "to", target, "mode", "swap");
        json_object_del(s->rl, "to_gen"); /* nothing changed: roll back by restart instead */
        json_object_del(s->rl, "mounts");
        rl_begin_rollback(s, reason);
        return json_pack("{s:b,s:i,s:i,s:s}", "ok", 1, "from_gen", cur, "to", target, "mode", "restart");
    }
    s->rl = json_pack("{s:s,s:i,s:i,s:I,s:{s:i}}", "op", "rollback", "from_gen", cur, "gen", 0, "began",
                      (json_int_t)wall_ms(), "target", "gen", target);
    json_decref(g);
    rl_begin_rollback(s, reason);
    return json_pack("{s:b,s:i,s:i,s:s}", "ok", 1, "from_gen", cur, "to", target, "mode", "restart");
}
