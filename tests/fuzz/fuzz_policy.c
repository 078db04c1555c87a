/* fuzz_policy.c — libFuzzer target for the policy loader: one input is one policy document,
 * loaded from memory the way gbox loads a policy file (syntax, schema validation, the "extends"
 * chain resolved against the shipped policies, defaults, semantic checks, the seccomp plan),
 * then planned into a struct sbx_spec like `gbox run --in-image sh` would be, and for some
 * inputs compiled into BPF.
 *
 * Build and run: make fuzz (FUZZ_SECONDS per target). Run from the repository root: "extends"
 * names resolve in policies/, the image in build-fuzz/images (GBOX_POLICY_DIR, GBOX_IMAGE_DIR
 * override). A crash is saved under build-fuzz/crashes/; copy it to tests/fuzz/regressions/policy/
 * and the unit test test_fuzz_replay replays it in every make check. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../runtime/plan.h"
#include "../../runtime/policy.h"
#include "../../sandbox/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static const char *policy_dir;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    policy_dir = getenv("GBOX_POLICY_DIR");
    if (!policy_dir)
        policy_dir = "policies";
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gbox_policy *p = NULL;
    struct sbx_err *err = NULL;
    if (policy_load_mem((const char *)data, size, "fuzz.json", policy_dir, &p, &err) < 0) {
        /* every refusal says why */
        if (!err || !err->msg[0] || err->code != GBOX_EXIT_USAGE)
            abort();
        sbx_err_free(&err);
        return 0;
    }
    char *argv[] = {"sh", "-c", "true", NULL};
    struct run_request rq = {.in_image = true, .argv = argv, .argc = 3};
    struct sbx_spec spec;
    if (plan_build(p, &rq, &spec, &err) == 0) {
        /* Compiling the filters with libseccomp costs milliseconds: one input in 16 (chosen by
         * its size, so a crash reproduces) goes that far. */
        if (size % 16 == 0) {
            struct sbx_bpf bpf[SBX_MAX_FILTERS];
            if (sbx_seccomp_prepare(&spec.seccomp, NULL, bpf, &err) == 0)
                sbx_seccomp_release(bpf);
            sbx_err_free(&err);
        }
        sbx_spec_free(&spec);
    }
    sbx_err_free(&err);
    policy_free(p);
    return 0;
}
