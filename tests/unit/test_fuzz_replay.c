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

/* the new targets' per-input functions, exactly as the fuzzers run them */
#define FUZZ_REPLAY
#include "../fuzz/fuzz_manifest.c"
#include "../fuzz/fuzz_request.c"

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

static void replay_manifest(const char *file, const char *buf, size_t len)
{
    (void)file;
    fuzz_manifest_one((const uint8_t *)buf, len);
}

static void replay_request(const char *file, const char *buf, size_t len)
{
    (void)file;
    fuzz_request_one((const uint8_t *)buf, len);
}

static void test_manifest_seeds(void **state)
{
    (void)state;
    assert_true(replay_dir("tests/fuzz/corpus/manifest", replay_manifest) >= 30);
    /* the seeds hold good and bad manifests: both paths are taken */
    size_t len = 0;
    char *buf = read_file("tests/fuzz/corpus/manifest/full.json", &len);
    assert_non_null(buf);
    struct gbox_manifest *m = NULL;
    struct sbx_err *err = NULL;
    if (manifest_load_mem(buf, len, "full.json", &m, &err) < 0)
        fail_msg("%s", err->msg);
    assert_string_equal(m->version_text, "2.1.0-rc.1");
    assert_int_equal(m->n_deps, 4);
    manifest_free(m);
    free(buf);
    buf = read_file("tests/fuzz/corpus/manifest/bad_depends_self.json", &len);
    assert_non_null(buf);
    assert_int_equal(manifest_load_mem(buf, len, "bad.json", &m, &err), -1);
    assert_non_null(strstr(err->msg, "bad.json: depends[1].name: a module cannot depend on itself (\"app\")"));
    sbx_err_free(&err);
    free(buf);
}

static void test_manifest_regressions(void **state)
{
    (void)state;
    replay_dir("tests/fuzz/regressions/manifest", replay_manifest);
}

static void test_request_seeds(void **state)
{
    (void)state;
    assert_true(replay_dir("tests/fuzz/corpus/request", replay_request) >= 25);
    char err[REQUEST_MAX_ERROR];
    const char *ok = "{\"op\":\"stop\",\"id\":\"web\",\"grace_ms\":1500}";
    json_t *rq = request_parse(ok, strlen(ok), err, sizeof(err));
    assert_non_null(rq);
    json_decref(rq);
    static const struct {
        const char *line, *error;
    } bad[] = {
        {"{\"op\":\"stop\",\"id\":\"web\",\"grace_ms\":-1}",
         "stop: \"grace_ms\": expected an integer from 0 to 604800000, got -1"},
        {"{\"op\":\"stop\",\"id\":\"web\",\"grace\":1}",
         "stop: \"grace\": unknown field (docs/api.md lists the fields of each op)"},
        {"{\"op\":\"kill\"}", "kill: \"id\": required"},
        {"{\"op\":\"kill\",\"id\":\"x\",\"signal\":\"NOPE\"}",
         "kill: \"signal\": expected a signal name like TERM or SIGKILL, got \"NOPE\""},
        {"{\"op\":\"logs\",\"id\":\"x\",\"follow\":1}", "logs: \"follow\": expected true or false, got an integer"},
        {"{\"op\":\"spawn\",\"argv\":[\"true\"],\"in_image\":true,\"modules\":[\"Bad@@\"]}",
         "spawn: \"modules[0]\": expected a string NAME[@RANGE], got \"Bad@@\""},
        {"{\"op\":\"spawn\",\"argv\":[\"true\"],\"in_image\":true,\"env\":[\"=x\"]}",
         "spawn: \"env[0]\": expected a string NAME=VALUE, got \"=x\""},
        {"{\"op\":\"ps\",\"op\":\"ps\"}", "request: column 15: duplicate object key near '\"op\"'"},
        {"{\"op\":\"ps\"}", NULL},
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        size_t n = strlen(bad[i].line) + (bad[i].error ? 0 : 1); /* the last one: an embedded NUL */
        rq = request_parse(bad[i].line, n, err, sizeof(err));
        if (rq)
            fail_msg("accepted: %s", bad[i].line);
        if (bad[i].error)
            assert_string_equal(err, bad[i].error);
    }
    /* regression: a message cut in the middle of "é" (0xC3 0xA9) still makes a reply */
    char cut[REQUEST_MAX_ERROR];
    snprintf(cut, sizeof(cut), "policy \"%s", "\xc3\xa9\xc3\xa9\xc3");
    json_t *reply = request_error_reply(cut);
    assert_non_null(reply);
    assert_string_equal(json_string_value(json_object_get(reply, "error")), "policy \"????\?");
    json_decref(reply);
    /* an unknown op passes with only "op" checked: the daemon answers it (or handles it) */
    const char *other = "{\"op\":\"explode\",\"x\":1}";
    rq = request_parse(other, strlen(other), err, sizeof(err));
    assert_non_null(rq);
    json_decref(rq);
}

static void test_request_regressions(void **state)
{
    (void)state;
    replay_dir("tests/fuzz/regressions/request", replay_request);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_seeds),
        cmocka_unit_test(test_policy_regressions),
        cmocka_unit_test(test_oci_config_seeds),
        cmocka_unit_test(test_oci_config_errors),
        cmocka_unit_test(test_manifest_seeds),
        cmocka_unit_test(test_manifest_regressions),
        cmocka_unit_test(test_request_seeds),
        cmocka_unit_test(test_request_regressions),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
