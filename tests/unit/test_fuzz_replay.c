/* test_fuzz_replay.c — every fuzzing seed and every input a fuzzer ever crashed on, replayed
 * through the same entry points as the fuzz targets (tests/fuzz/): under make check-asan this
 * runs them with ASan and UBSan on every build, without clang or libFuzzer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../runtime/oci_config.h"
#include "../../runtime/oci_policy.h"
#include "../../runtime/plan.h"
#include "../../runtime/policy.h"
#include "../../sandbox/internal.h"
#include "../../sandbox/util.h"

static char image_dir[PATH_MAX];

/* plan_build looks the image up: a tree with /bin/sh stands in for it (as in make fuzz). */
static int setup(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/gbox-replay-XXXXXX", p[PATH_MAX];
    if (!mkdtemp(tmpl))
        return -1;
    snprintf(image_dir, sizeof(image_dir), "%s", tmpl);
    snprintf(p, sizeof(p), "%s/base", image_dir);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/base/rootfs", image_dir);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/base/rootfs/bin", image_dir);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/bundle", image_dir);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/bundle/rootfs", image_dir);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/base/rootfs/bin/sh", image_dir);
    FILE *f = fopen(p, "w");
    if (!f)
        return -1;
    fclose(f);
    setenv("GBOX_IMAGE_DIR", image_dir, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char p[PATH_MAX];
    static const char *const sub[] = {"base/rootfs/bin/sh", "base/rootfs/bin", "base/rootfs", "base",
                                      "bundle/rootfs", "bundle", ""};
    for (size_t i = 0; i < ARRAY_LEN(sub); i++) {
        snprintf(p, sizeof(p), "%s/%s", image_dir, sub[i]);
        if (remove(p) < 0)
            return -1;
    }
    return 0;
}

/* What fuzz_policy does with one input. */
static void replay_policy(const char *file, const char *buf, size_t len)
{
    struct gbox_policy *p = NULL;
    struct sbx_err *err = NULL;
    if (policy_load_mem(buf, len, "replay.json", "policies", &p, &err) < 0) {
        if (!err || !err->msg[0] || err->code != GBOX_EXIT_USAGE)
            fail_msg("%s: refused without a usage error", file);
        sbx_err_free(&err);
        return;
    }
    char *argv[] = {"sh", "-c", "true", NULL};
    struct run_request rq = {.in_image = true, .argv = argv, .argc = 3};
    struct sbx_spec spec;
    if (plan_build(p, &rq, &spec, &err) == 0) {
        if (len % 16 == 0) {
            struct sbx_bpf bpf[SBX_MAX_FILTERS];
            if (sbx_seccomp_prepare(&spec.seccomp, NULL, bpf, &err) == 0)
                sbx_seccomp_release(bpf);
            sbx_err_free(&err);
        }
        sbx_spec_free(&spec);
    }
    sbx_err_free(&err);
    policy_free(p);
}

/* What fuzz_oci_config does with one input. */
static void replay_oci_config(const char *file, const char *buf, size_t len)
{
    struct oci_config c;
    struct sbx_err *err = NULL;
    char bundle[PATH_MAX];
    snprintf(bundle, sizeof(bundle), "%s/bundle", image_dir);
    if (oci_config_parse(buf, len, "replay/config.json", bundle, "/tmp", &c, &err) < 0) {
        if (!err || !err->msg[0] || err->code != GBOX_EXIT_USAGE)
            fail_msg("%s: refused without a usage error", file);
    } else {
        if (oci_policy_apply(&c, &err) < 0 && (!err || !err->msg[0]))
            fail_msg("%s: policy refused without a message", file);
        oci_config_cgroup_mounts(&c);
    }
    sbx_err_free(&err);
    oci_config_free(&c);
}

static int replay_dir(const char *dir, void (*fn)(const char *, const char *, size_t))
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || strcmp(de->d_name, "README.md") == 0)
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        size_t len = 0;
        char *buf = read_file(path, &len);
        if (!buf)
            fail_msg("read %s", path);
        fn(path, buf, len);
        free(buf);
        n++;
    }
    closedir(d);
    return n;
}

static void test_policy_seeds(void **state)
{
    (void)state;
    /* the shipped policies load through the memory entry point too */
    int n = replay_dir("tests/fuzz/corpus/policy", replay_policy);
    assert_true(n >= 100);
    size_t len = 0;
    char *buf = read_file("policies/playground.json", &len);
    assert_non_null(buf);
    struct gbox_policy *p = NULL;
    struct sbx_err *err = NULL;
    if (policy_load_mem(buf, len, "playground.json", "policies", &p, &err) < 0)
        fail_msg("%s", err->msg);
    assert_string_equal(p->name, "playground");
    assert_true(json_is_true(pol_get(p, "filesystem.landlock.enabled")));
    policy_free(p);
    free(buf);
}

static void test_policy_regressions(void **state)
{
    (void)state;
    replay_dir("tests/fuzz/regressions/policy", replay_policy);
}

/* The seeds: gbox-runc spec (plain and --policy base), podman's config for `run -t --memory
 * --pids-limit`, a config with seccomp arguments, hooks, sysctl and a user namespace, and bad
 * ones; each must parse or be refused with a message. */
static void test_oci_config_seeds(void **state)
{
    (void)state;
    assert_true(replay_dir("tests/fuzz/corpus/oci_config", replay_oci_config) >= 6);
    replay_dir("tests/fuzz/regressions/oci_config", replay_oci_config);
    /* and the good ones do parse */
    static const char *const good[] = {"runc-default.json", "podman-run.json", "policy-base.json",
                                       "seccomp-hooks-userns.json"};
    char bundle[PATH_MAX];
    snprintf(bundle, sizeof(bundle), "%s/bundle", image_dir);
    for (size_t i = 0; i < ARRAY_LEN(good); i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "tests/fuzz/corpus/oci_config/%s", good[i]);
        size_t len = 0;
        char *buf = read_file(path, &len);
        assert_non_null(buf);
        struct oci_config c;
        struct sbx_err *err = NULL;
        if (oci_config_parse(buf, len, path, bundle, "/tmp", &c, &err) < 0)
            fail_msg("%s", err->msg);
        oci_config_free(&c);
        free(buf);
    }
}

/* Precise errors: the file, the JSON path, what was expected and what was there. */
static void test_oci_config_errors(void **state)
{
    (void)state;
    char bundle[PATH_MAX];
    snprintf(bundle, sizeof(bundle), "%s/bundle", image_dir);
    static const struct {
        const char *doc, *msg;
    } cases[] = {
        {"{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},\"root\":{\"path\":\"rootfs\"},"
         "\"linux\":{\"namespaces\":[{\"type\":\"mount\"}],\"resources\":{\"memory\":{\"limit\":\"x\"}}}}",
         "c.json: linux.resources.memory.limit: expected an integer >= -1, got \"x\""},
        {"{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\",\"capabilities\":{\"bounding\":[\"CAP_NOPE\"]}},"
         "\"root\":{\"path\":\"rootfs\"},\"linux\":{\"namespaces\":[{\"type\":\"mount\"}]}}",
         "c.json: process.capabilities.bounding[0]: expected a capability name known to this kernel (CAP_CHOWN, "
         "CAP_NET_BIND_SERVICE, ...), got \"CAP_NOPE\""},
        {"{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},\"root\":{\"path\":\"rootfs\"},"
         "\"linux\":{\"namespaces\":[{\"type\":\"pid\"}]}}",
         "c.json: linux.namespaces: a mount namespace is required"},
        {"{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},\"root\":{\"path\":\"rootfs\"},"
         "\"linux\":{\"namespaces\":[{\"type\":\"mount\"}],\"cgroupsPath\":\"system.slice:x:y\"}}",
         "c.json: linux.cgroupsPath: expected a cgroupfs path"},
        {"{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\",\"rlimits\":[{\"type\":\"RLIMIT_NOPE\","
         "\"soft\":1,\"hard\":1}]},\"root\":{\"path\":\"rootfs\"},\"linux\":{\"namespaces\":[{\"type\":\"mount\"}]}}",
         "c.json: process.rlimits[0].type: expected an RLIMIT_* name"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct oci_config c;
        struct sbx_err *err = NULL;
        assert_int_equal(oci_config_parse(cases[i].doc, strlen(cases[i].doc), "c.json", bundle, "/tmp", &c, &err), -1);
        assert_non_null(err);
        if (strncmp(err->msg, cases[i].msg, strlen(cases[i].msg)) != 0)
            fail_msg("case %zu: got \"%s\"", i, err->msg);
        assert_int_equal(err->code, GBOX_EXIT_USAGE);
        sbx_err_free(&err);
        oci_config_free(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_seeds),
        cmocka_unit_test(test_policy_regressions),
        cmocka_unit_test(test_oci_config_seeds),
        cmocka_unit_test(test_oci_config_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
