/* fuzz_oci_config.c — libFuzzer target for the OCI front end's config.json parser: one input is
 * one config.json, parsed the way `gbox-runc create` parses it (oci_config_parse: every field's
 * type and range, seccomp names resolved, hooks, mounts, the cgroup mount plan), then its
 * policy annotation applied when it names one.
 *
 * Build and run: make fuzz. Run from the repository root: the bundle is build-fuzz/bundle (an
 * empty rootfs/ made by make fuzzers), policies resolve in policies/. A crash is saved under
 * build-fuzz/crashes/; copy it to tests/fuzz/regressions/oci_config/ and the unit test
 * test_fuzz_replay replays it in every make check. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../runtime/oci_config.h"
#include "../../runtime/oci_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct oci_config c;
    struct sbx_err *err = NULL;
    const char *bundle = getenv("GBOX_FUZZ_BUNDLE");
    if (!bundle)
        bundle = "build-fuzz/bundle";
    if (oci_config_parse((const char *)data, size, "fuzz/config.json", bundle, "/tmp", &c, &err) < 0) {
        /* every refusal says why, as a usage error */
        if (!err || !err->msg[0] || err->code != GBOX_EXIT_USAGE)
            abort();
    } else {
        if (oci_policy_apply(&c, &err) < 0 && (!err || !err->msg[0]))
            abort();
        oci_config_cgroup_mounts(&c);
    }
    sbx_err_free(&err);
    oci_config_free(&c);
    return 0;
}
