/* test_stack.c — module resolution with --pin (gbox daemon's generations, docs/reload.md "Pinned
 * by digest"): the pinned image is the only candidate of its name and version, tagged or not; a
 * pinned image gone from the store, or of another module, fails the plan. A store in a temporary
 * directory with app:1.0.0 built twice (the tag moves to the second build) and app:1.1.0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../runtime/plan.h"
#include "../../runtime/policy.h"
#include "../../runtime/store.h"

static char dir[PATH_MAX], store_dir[PATH_MAX], d1[65], d2[65], d3[65];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        abort();
    fputs(text, f);
    fclose(f);
}

/* SRC/module.json (app VERSION at "/") and SRC/rootfs with bin/sh and the file MARK. */
static int build(struct store *st, const char *src, const char *version, const char *mark, char digest[65])
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", dir, src);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/%s/rootfs", dir, src);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/%s/rootfs/bin", dir, src);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/%s/rootfs/bin/sh", dir, src);
    write_file(p, "");
    snprintf(p, sizeof(p), "%s/%s/rootfs/%s", dir, src, mark);
    write_file(p, mark);
    snprintf(p, sizeof(p), "%s/%s/module.json", dir, src);
    char text[200];
    snprintf(text, sizeof(text), "{\"name\": \"app\", \"version\": \"%s\", \"mount_point\": \"/\"}\n", version);
    write_file(p, text);
    snprintf(p, sizeof(p), "%s/%s", dir, src);
    struct gbox_manifest *m = NULL;
    struct sbx_err *err = NULL;
    if (store_build(st, p, digest, &m, &err) < 0) {
        fprintf(stderr, "build %s: %s\n", p, err->msg);
        sbx_err_free(&err);
        return -1;
    }
    manifest_free(m);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/gbox-stack-XXXXXX", p[PATH_MAX];
    if (!mkdtemp(tmpl))
        return -1;
    snprintf(dir, sizeof(dir), "%s", tmpl);
    snprintf(store_dir, sizeof(store_dir), "%s/store", dir);
    snprintf(p, sizeof(p), "%s/images", dir);
    mkdir(p, 0755);
    setenv("GBOX_IMAGE_DIR", p, 1);
    setenv("GBOX_POLICY_DIR", "policies", 1); /* tests run from the repository root */
    struct store *st = NULL;
    struct sbx_err *err = NULL;
    if (store_open(store_dir, true, &st, &err) < 0) {
        fprintf(stderr, "store: %s\n", err->msg);
        return -1;
    }
    int rc = build(st, "one", "1.0.0", "one", d1) < 0 || build(st, "two", "1.0.0", "two", d2) < 0 ||
                     build(st, "three", "1.1.0", "three", d3) < 0 ? -1 : 0;
    store_close(st);
    return rc;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Plan `sh -c true` on the root image app@1 with the pins: 0 and the root's layer, or -1
 * and the error in msg. */
static int plan_pinned(const char *const *pins, size_t n_pins, char *layer, char *msg, size_t len)
{
    struct gbox_policy *p = NULL;
    struct sbx_err *err = NULL;
    if (policy_load("base", &p, &err) < 0)
        fail_msg("base: %s", err->msg);
    char *argv[] = {"sh", "-c", "true", NULL};
    struct run_hold hold = {.run.fd = -1};
    struct run_request rq = {.in_image = true, .argv = argv, .argc = 3, .image = "app@1",
                             .store_dir = store_dir, .hold = &hold, .pins = pins, .n_pins = n_pins};
    struct sbx_spec s = {0};
    int rc = plan_build(p, &rq, &s, &err);
    if (rc == 0) {
        assert_int_equal(s.n_layers, 1);
        snprintf(layer, PATH_MAX, "%s", s.layers[0]);
    } else {
        snprintf(msg, len, "%s", err->msg);
        sbx_err_free(&err);
    }
    sbx_spec_free(&s);
    run_hold_release(&hold);
    policy_free(p);
    return rc;
}

static void test_pin_picks_the_recorded_image(void **state)
{
    (void)state;
    char layer[PATH_MAX], msg[1024], want[PATH_MAX], pin[128];
    assert_string_not_equal(d1, d2);
    /* no pin: the highest tagged version */
    assert_int_equal(plan_pinned(NULL, 0, layer, msg, sizeof(msg)), 0);
    snprintf(want, sizeof(want), "/images/%s/rootfs", d3);
    assert_non_null(strstr(layer, want));
    /* pinned to the first build of 1.0.0, untagged since: neither its rebuild nor 1.1.0 */
    snprintf(pin, sizeof(pin), "app=sha256:%s", d1);
    const char *pins[] = {pin};
    assert_int_equal(plan_pinned(pins, 1, layer, msg, sizeof(msg)), 0);
    snprintf(want, sizeof(want), "/images/%s/rootfs", d1);
    assert_non_null(strstr(layer, want));
    /* pinned to the tagged one: that one */
    snprintf(pin, sizeof(pin), "app=sha256:%s", d2);
    assert_int_equal(plan_pinned(pins, 1, layer, msg, sizeof(msg)), 0);
    snprintf(want, sizeof(want), "/images/%s/rootfs", d2);
    assert_non_null(strstr(layer, want));
}

static void test_pin_fails_closed(void **state)
{
    (void)state;
    char layer[PATH_MAX], msg[1024], pin[128], want[200];
    const char *pins[] = {pin};
    /* an image not in the store: no fallback to the tag */
    snprintf(pin, sizeof(pin), "app=sha256:%064d", 0);
    assert_int_equal(plan_pinned(pins, 1, layer, msg, sizeof(msg)), -1);
    snprintf(want, sizeof(want), "module app sha256:%.12s recorded by this generation is no longer in the store",
             pin + 11);
    assert_non_null(strstr(msg, want));
    /* an image of another module */
    snprintf(pin, sizeof(pin), "base=sha256:%s", d1);
    assert_int_equal(plan_pinned(pins, 1, layer, msg, sizeof(msg)), -1);
    assert_non_null(strstr(msg, "is module app, not base"));
    /* not NAME=sha256:HEX */
    snprintf(pin, sizeof(pin), "app@1.0.0");
    assert_int_equal(plan_pinned(pins, 1, layer, msg, sizeof(msg)), -1);
    assert_non_null(strstr(msg, "expected NAME=sha256:HEX"));
    snprintf(pin, sizeof(pin), "app=sha256:abc");
    assert_int_equal(plan_pinned(pins, 1, layer, msg, sizeof(msg)), -1);
    assert_non_null(strstr(msg, "64 hex digits"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pin_picks_the_recorded_image),
        cmocka_unit_test(test_pin_fails_closed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
