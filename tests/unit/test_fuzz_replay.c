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
    static const char *const sub[] = {"base/rootfs/bin/sh", "base/rootfs/bin", "base/rootfs", "base", ""};
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
            struct sbx_bpf bpf[2];
            if (sbx_seccomp_prepare(&spec.seccomp, NULL, bpf, &err) == 0)
                sbx_seccomp_release(bpf);
            sbx_err_free(&err);
        }
        sbx_spec_free(&spec);
    }
    sbx_err_free(&err);
    policy_free(p);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_seeds),
        cmocka_unit_test(test_policy_regressions),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
