/* test_generation.c — generation records and the state layers on disk (runtime/generation.c):
 * append and find, sealing the upper as a layer (idempotent, as a replayed journal step needs),
 * dropping it, trimming old generations and the layers only they used. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../runtime/generation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

static int setup(void **s)
{
    (void)s;
    snprintf(dir, sizeof(dir), "/tmp/gbox-test-gen.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **s)
{
    (void)s;
    gen_remove_all(dir);
    return rmdir(dir);
}

static bool exists(const char *rel)
{
    char p[512];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%s", dir, rel);
    return lstat(p, &st) == 0;
}

static void put(const char *rel, const char *text)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", dir, rel);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void records_round_trip(void **s)
{
    (void)s;
    json_t *m1 = json_pack("[s]", "app@=1.0.0"), *m2 = json_pack("[s]", "app@=2.0.0"), *none = json_array();
    json_t *g = gen_new(m1, none, "sha256:x"); /* modules and images are borrowed, layers taken */
    assert_int_equal(json_integer_value(json_object_get(g, "current")), 1);
    int n = gen_append(g, m2, NULL, json_pack("[s]", "s0"), "sha256:y", "reload", "verifying");
    json_decref(m1);
    json_decref(m2);
    json_decref(none);
    assert_int_equal(n, 2);
    assert_int_equal(json_integer_value(json_object_get(gen_current(g), "gen")), 2);
    assert_non_null(gen_find(g, 1));
    assert_null(gen_find(g, 3));
    assert_int_equal(gen_save(dir, g, NULL), 0);
    json_t *back = gen_load(dir, NULL);
    assert_non_null(back);
    assert_true(json_equal(g, back));
    json_decref(back);
    json_decref(g);
    /* a broken record is refused, not half-read */
    put("generations.json", "{\"current\": 1}");
    struct sbx_err *err = NULL;
    assert_null(gen_load(dir, &err));
    assert_non_null(err);
    assert_non_null(strstr(err->msg, "expected {\"current\": N, \"generations\": [...]}"));
    sbx_err_free(&err);
}

static void seal_is_one_rename_and_idempotent(void **s)
{
    (void)s;
    char p[512];
    snprintf(p, sizeof(p), "%s/state", dir);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof(p), "%s/state/upper", dir);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof(p), "%s/state/work", dir);
    assert_int_equal(mkdir(p, 0755), 0);
    put("state/upper/f", "written");
    struct stat before, after;
    snprintf(p, sizeof(p), "%s/state/upper/f", dir);
    assert_int_equal(stat(p, &before), 0);
    assert_int_equal(gen_seal_upper(dir, "s0", NULL), 0);
    snprintf(p, sizeof(p), "%s/layers/s0/f", dir);
    assert_int_equal(stat(p, &after), 0);
    assert_int_equal(before.st_ino, after.st_ino); /* moved, not copied */
    assert_false(exists("state"));
    /* replayed: the layer stays as sealed, a new upper written meanwhile is dropped */
    snprintf(p, sizeof(p), "%s/state", dir);
    assert_int_equal(mkdir(p, 0700), 0);
    assert_int_equal(gen_seal_upper(dir, "s0", NULL), 0);
    assert_true(exists("layers/s0/f"));
    /* nothing written yet: an empty layer */
    assert_int_equal(gen_seal_upper(dir, "s1", NULL), 0);
    assert_true(exists("layers/s1"));
    assert_int_equal(gen_drop_upper(dir, NULL), 0);
}

static void trim_keeps_the_newest_and_their_layers(void **s)
{
    (void)s;
    json_t *none = json_array();
    json_t *g = gen_new(none, none, "");
    char name[32];
    for (int i = 0; i < 4; i++) {
        gen_next_layer(g, name, sizeof(name));
        char p[512];
        snprintf(p, sizeof(p), "%s/layers", dir);
        mkdir(p, 0700);
        snprintf(p, sizeof(p), "%s/layers/%s", dir, name);
        assert_int_equal(mkdir(p, 0755), 0);
        gen_append(g, none, NULL, json_pack("[s]", name), "", "r", "verified"); /* gens 2..5 use s0..s3 */
    }
    assert_int_equal(gen_trim(dir, g, 2), 3);
    assert_int_equal(json_array_size(json_object_get(g, "generations")), 2);
    assert_non_null(gen_find(g, 5));
    assert_non_null(gen_find(g, 4));
    assert_false(exists("layers/s0"));
    assert_false(exists("layers/s1"));
    assert_true(exists("layers/s2"));
    assert_true(exists("layers/s3"));
    /* the current generation is never trimmed, even when it is the oldest */
    json_object_set_new(g, "current", json_integer(4));
    gen_append(g, none, NULL, json_array(), "", "r", "verified");
    json_object_set_new(g, "current", json_integer(4));
    assert_int_equal(gen_trim(dir, g, 2), 1);
    assert_non_null(gen_find(g, 4));
    assert_null(gen_find(g, 5));
    json_decref(g);
    json_decref(none);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(records_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(seal_is_one_rename_and_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(trim_keeps_the_newest_and_their_layers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
