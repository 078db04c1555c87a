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
#include <sys/sysmacros.h>
#include <sys/xattr.h>
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

static void mk(const char *rel, mode_t mode, dev_t dev)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", dir, rel);
    if (S_ISDIR(mode))
        assert_int_equal(mkdir(p, mode & 07777), 0);
    else
        assert_int_equal(mknod(p, mode, dev), 0);
}

static mode_t type_of(const char *rel)
{
    char p[512];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%s", dir, rel);
    return lstat(p, &st) == 0 ? st.st_mode & S_IFMT : 0;
}

/* Two generations that share s1 and s0 at their bottom: the two are merged into one layer with
 * the whiteout of a and the opaque d of s1 applied and kept, a socket node copied. */
static void compaction_merges_shared_layers(void **s)
{
    (void)s;
    mk("layers", S_IFDIR | 0700, 0);
    mk("layers/s0", S_IFDIR | 0755, 0);
    put("layers/s0/a", "a");
    put("layers/s0/b", "b");
    mk("layers/s0/d", S_IFDIR | 0755, 0);
    put("layers/s0/d/x", "x");
    mk("layers/s0/e.sock", S_IFSOCK | 0600, 0);
    mk("layers/s1", S_IFDIR | 0755, 0);
    mk("layers/s1/a", S_IFCHR | 0600, makedev(0, 0)); /* a deleted under the second generation */
    mk("layers/s1/d", S_IFDIR | 0755, 0);
    put("layers/s1/d/y", "y");
    char p[512];
    snprintf(p, sizeof(p), "%s/layers/s1/d", dir);
    assert_int_equal(setxattr(p, "user.overlay.opaque", "y", 1, 0), 0);
    mk("layers/s2", S_IFDIR | 0755, 0);
    json_t *none = json_array();
    json_t *g = gen_new(none, none, "");
    char name[32];
    for (int i = 0; i < 3; i++)
        gen_next_layer(g, name, sizeof(name));
    gen_append(g, none, NULL, json_pack("[s,s]", "s1", "s0"), "", "r", "verified");
    gen_append(g, none, NULL, json_pack("[s,s,s]", "s2", "s1", "s0"), "", "r", "verified");
    assert_int_equal(gen_trim(dir, g, 2), 1); /* generation 1 (no layers) goes */
    assert_int_equal(gen_compact(dir, g, NULL), 2);
    json_t *l2 = json_object_get(gen_find(g, 2), "layers"), *l3 = json_object_get(gen_find(g, 3), "layers");
    assert_int_equal(json_array_size(l2), 1);
    assert_int_equal(json_array_size(l3), 2);
    assert_string_equal(json_string_value(json_array_get(l3, 0)), "s2");
    const char *c = json_string_value(json_array_get(l2, 0));
    assert_string_equal(json_string_value(json_array_get(l3, 1)), c);
    assert_string_equal(c, "s3");
    assert_false(exists("layers/s0"));
    assert_false(exists("layers/s1"));
    assert_true(exists("layers/s2"));
    assert_int_equal(type_of("layers/s3/a"), S_IFCHR); /* the whiteout stays: it hides the image's a */
    assert_int_equal(type_of("layers/s3/b"), S_IFREG);
    assert_int_equal(type_of("layers/s3/d/y"), S_IFREG);
    assert_false(exists("layers/s3/d/x"));
    assert_int_equal(type_of("layers/s3/e.sock"), S_IFSOCK);
    char v[4] = "";
    snprintf(p, sizeof(p), "%s/layers/s3/d", dir);
    assert_int_equal(getxattr(p, "user.overlay.opaque", v, sizeof(v)), 1);
    /* the record on disk says the same; nothing left to merge */
    json_t *back = gen_load(dir, NULL);
    assert_true(json_equal(json_object_get(back, "generations"), json_object_get(g, "generations")));
    assert_int_equal(gen_compact(dir, back, NULL), 0);
    json_decref(back);
    json_decref(g);
    json_decref(none);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(records_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(seal_is_one_rename_and_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(trim_keeps_the_newest_and_their_layers, setup, teardown),
        cmocka_unit_test_setup_teardown(compaction_merges_shared_layers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
