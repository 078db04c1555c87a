/* test_policy_cache.c — the resolved-policy cache (runtime/policy_cache.c): its sha256 against
 * FIPS 180-4's vectors, and an entry that is used only while every file of the chain keeps its
 * content and every named path still leads to the same file, only from a directory nobody else
 * can write. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../runtime/policy_cache.h"

static char dir[256], run[300], a[300], b[300], link_path[300], top[300];

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **s)
{
    (void)s;
    snprintf(dir, sizeof(dir), "/tmp/gbox-pcache-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(run, sizeof(run), "%s/run", dir);
    snprintf(a, sizeof(a), "%s/a.json", dir);
    snprintf(b, sizeof(b), "%s/b.json", dir);
    snprintf(link_path, sizeof(link_path), "%s/parent.json", dir);
    snprintf(top, sizeof(top), "%s/top.json", dir);
    if (mkdir(run, 0700) < 0)
        return -1;
    setenv("GBOX_RUN_DIR", run, 1);
    return 0;
}

static int teardown(void **s)
{
    (void)s;
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void digest_is(const char *msg, size_t len, const char *want)
{
    char hex[65];
    policy_cache_digest(msg, len, hex);
    assert_string_equal(hex, want);
}

static void test_sha256_vectors(void **s)
{
    (void)s;
    digest_is("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    digest_is("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* 56 bytes: the length no longer fits the first block's padding */
    const char *m56 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    digest_is(m56, strlen(m56), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    char *million = malloc(1000000);
    assert_non_null(million);
    memset(million, 'a', 1000000);
    digest_is(million, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(million);
}

/* top.json extends parent.json, a symlink to a.json; the entry is put as policy.c puts it */
static void put_entry(const char *top_text)
{
    char hex_top[65], hex_a[65], real_top[PATH_MAX], real_a[PATH_MAX];
    assert_non_null(realpath(top, real_top));
    assert_non_null(realpath(a, real_a));
    policy_cache_digest(top_text, strlen(top_text), hex_top);
    size_t n = 0;
    FILE *f = fopen(a, "r");
    char buf[256];
    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    policy_cache_digest(buf, n, hex_a);
    json_t *deps = json_pack("[[sss][sss]]", real_top, hex_top, real_top, real_a, hex_a, link_path);
    json_t *root = json_pack("{s:s,s:i}", "name", "top", "answer", 42);
    policy_cache_put(real_top, top_text, strlen(top_text), deps, root);
    json_decref(deps);
    json_decref(root);
}

static json_t *get_entry(const char *top_text)
{
    char real_top[PATH_MAX];
    assert_non_null(realpath(top, real_top));
    return policy_cache_get(real_top, top_text, strlen(top_text));
}

static void chain(const char *top_text)
{
    write_text(a, "{\"version\": 1, \"name\": \"a\"}\n");
    write_text(b, "{\"version\": 1, \"name\": \"b\"}\n");
    unlink(link_path);
    assert_int_equal(symlink("a.json", link_path), 0);
    write_text(top, top_text);
}

static void test_entry_used_while_the_chain_is_unchanged(void **s)
{
    (void)s;
    const char *t = "{\"version\": 1, \"extends\": \"parent.json\"}\n";
    chain(t);
    assert_null(get_entry(t)); /* nothing put yet */
    put_entry(t);
    json_t *root = get_entry(t);
    assert_non_null(root);
    assert_int_equal(json_integer_value(json_object_get(root, "answer")), 42);
    json_decref(root);
    /* other bytes of the top file: another key */
    assert_null(get_entry("{\"version\": 1, \"extends\": \"parent.json\" }\n"));
}

static void test_a_changed_parent_misses(void **s)
{
    (void)s;
    const char *t = "{\"version\": 1, \"extends\": \"parent.json\"}\n";
    chain(t);
    put_entry(t);
    write_text(a, "{\"version\": 1, \"name\": \"a\", \"description\": \"edited\"}\n");
    assert_null(get_entry(t));
}

static void test_a_retargeted_symlink_misses(void **s)
{
    (void)s;
    const char *t = "{\"version\": 1, \"extends\": \"parent.json\"}\n";
    chain(t);
    put_entry(t);
    unlink(link_path);
    assert_int_equal(symlink("b.json", link_path), 0);
    assert_null(get_entry(t));
    unlink(link_path); /* a parent that is gone */
    assert_null(get_entry(t));
    assert_int_equal(symlink("a.json", link_path), 0);
    json_t *root = get_entry(t);
    assert_non_null(root);
    json_decref(root);
}

static void test_a_directory_others_can_write_is_not_trusted(void **s)
{
    (void)s;
    const char *t = "{\"version\": 1, \"extends\": \"parent.json\"}\n";
    chain(t);
    put_entry(t);
    char cdir[400];
    snprintf(cdir, sizeof(cdir), "%s/policy-cache", run);
    assert_int_equal(chmod(cdir, 0770), 0);
    assert_null(get_entry(t));
    assert_int_equal(chmod(cdir, 0700), 0);
    json_t *root = get_entry(t);
    assert_non_null(root);
    json_decref(root);
}

/* An entry whose parent a.json is recorded with fingerprint fp and sha256 hex (each made up or
 * real), named by its real path (by_link: through the symlink parent.json). */
static void put_named(const char *top_text, const char *hex_a, const char *fp_a, bool by_link)
{
    char hex_top[65], real_top[PATH_MAX], real_a[PATH_MAX];
    assert_non_null(realpath(top, real_top));
    assert_non_null(realpath(a, real_a));
    policy_cache_digest(top_text, strlen(top_text), hex_top);
    json_t *deps = json_pack("[[ssss][ssss]]", real_top, hex_top, real_top, "", real_a, hex_a,
                             by_link ? link_path : real_a, fp_a);
    json_t *root = json_pack("{s:i}", "answer", 7);
    policy_cache_put(real_top, top_text, strlen(top_text), deps, root);
    json_decref(deps);
    json_decref(root);
}

static void put_with(const char *top_text, const char *hex_a, const char *fp_a)
{
    put_named(top_text, hex_a, fp_a, false);
}

static void test_fingerprints(void **s)
{
    (void)s;
    const char *t = "{\"version\": 1, \"extends\": \"parent.json\"}\n";
    chain(t);
    /* a file read right after a change gets no fingerprint: its next change could keep every time */
    size_t n = 0;
    char fp[160], hex[65], wrong[65];
    free(policy_cache_read(a, &n, fp, sizeof(fp)));
    assert_string_equal(fp, "");
    sleep(POLICY_CACHE_SETTLE_S + 1);
    char real_a[PATH_MAX];
    assert_non_null(realpath(a, real_a));
    char *text = policy_cache_read(real_a, &n, fp, sizeof(fp));
    assert_non_null(text);
    assert_true(fp[0] != '\0');
    policy_cache_digest(text, n, hex);
    free(text);
    memset(wrong, '0', 64);
    wrong[64] = '\0';
    /* a matching fingerprint is trusted without reading the file: even a wrong hash passes */
    put_with(t, wrong, fp);
    json_t *root = get_entry(t);
    assert_non_null(root);
    json_decref(root);
    /* named through a symlink, the fingerprint is not enough: the realpath and the bytes decide */
    put_named(t, wrong, fp, true);
    assert_null(get_entry(t));
    /* without one, the bytes decide, and the entry gains the settled file's fingerprint */
    put_with(t, wrong, "");
    assert_null(get_entry(t));
    put_with(t, hex, "");
    root = get_entry(t);
    assert_non_null(root);
    json_decref(root);
    /* that get rewrote the entry with fp */
    char cdir[400], cmd[600];
    snprintf(cdir, sizeof(cdir), "%s/policy-cache", run);
    snprintf(cmd, sizeof(cmd), "grep -q '%s' %s/*.json", fp, cdir);
    assert_int_equal(system(cmd), 0);
    /* edited in place to other bytes of the same size, its times set back: the ctime moved, so
     * the fingerprint no longer matches and the hash check misses */
    put_with(t, hex, fp);
    struct stat before;
    assert_int_equal(stat(a, &before), 0);
    write_text(a, "{\"version\": 1, \"name\": \"A\"}\n");
    struct timespec times[2] = {before.st_atim, before.st_mtim};
    assert_int_equal(utimensat(AT_FDCWD, a, times, 0), 0);
    assert_null(get_entry(t));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_entry_used_while_the_chain_is_unchanged),
        cmocka_unit_test(test_a_changed_parent_misses),
        cmocka_unit_test(test_a_retargeted_symlink_misses),
        cmocka_unit_test(test_a_directory_others_can_write_is_not_trusted),
        cmocka_unit_test(test_fingerprints),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
