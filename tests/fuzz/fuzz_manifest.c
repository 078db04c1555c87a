/* fuzz_manifest.c — libFuzzer target for module manifests (module.json, runtime/manifest.c): one
 * input is one manifest, loaded from memory the way `gbox image build` and the resolver load the
 * file (syntax, images/schema.json, defaults, the checks no single field can make). What it
 * asserts beyond "no crash, no leak, no undefined behaviour":
 *   - a refusal is a usage error (exit 2) with a message;
 *   - an accepted manifest's canonical text (what the image digest covers) is itself accepted and
 *     is a fixed point: canonical(load(canonical(m))) == canonical(m);
 *   - its version text parses back to the same version; its ranges can be evaluated.
 * Build and run: make fuzz. tests/unit/test_fuzz_replay.c includes this file (FUZZ_REPLAY) to
 * replay corpus/manifest and regressions/manifest through fuzz_manifest_one in every make check. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/manifest.h"
#include "../../sandbox/internal.h"

int fuzz_manifest_one(const uint8_t *data, size_t size);

int fuzz_manifest_one(const uint8_t *data, size_t size)
{
    struct gbox_manifest *m = NULL, *again = NULL;
    struct sbx_err *err = NULL;
    if (manifest_load_mem((const char *)data, size, "module.json", &m, &err) < 0) {
        if (!err || !err->msg[0] || err->code != GBOX_EXIT_USAGE || m)
            abort();
        sbx_err_free(&err);
        return 0;
    }
    char *canon = manifest_canonical(m);
    if (manifest_load_mem(canon, strlen(canon), "canonical", &again, &err) < 0)
        abort(); /* the store keeps this text: it must load back */
    char *canon2 = manifest_canonical(again);
    if (strcmp(canon, canon2) != 0)
        abort();
    struct semver v;
    if (semver_parse(m->version_text, &v) < 0 || semver_cmp(&v, &m->version) != 0 ||
        strcmp(m->version_text, again->version_text) != 0)
        abort();
    for (size_t i = 0; i < m->n_deps; i++) {
        struct semver_range r;
        if (semver_range_parse(m->deps[i].range_text, &r) < 0)
            abort();
        (void)semver_satisfies(&m->version, &m->deps[i].range);
    }
    free(canon2);
    free(canon);
    manifest_free(again);
    manifest_free(m);
    return 0;
}

#ifndef FUZZ_REPLAY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_manifest_one(data, size); }
#endif
