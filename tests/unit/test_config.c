/* test_config.c — the daemon's domain configuration store: a set validated like a file (error
 * names the file and the field), resolved diffs classified live / new-sandboxes with the cgroup
 * limits before and after, commit with history and revert that survive reopening, a file edited
 * on disk: an invalid one reported and the version in force kept. Run from the repository root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../runtime/config.h"

static char tmp[256], pdir[300], sdir[300];

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **s)
{
    (void)s;
    snprintf(tmp, sizeof(tmp), "/tmp/gbox-config-XXXXXX");
    if (!mkdtemp(tmp))
        return -1;
    snprintf(pdir, sizeof(pdir), "%s/p", tmp);
    snprintf(sdir, sizeof(sdir), "%s/s", tmp);
    mkdir(pdir, 0755);
    mkdir(sdir, 0700);
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "cp policies/base.json '%s'/", pdir);
    if (system(cmd) != 0)
        return -1;
    char p[400];
    snprintf(p, sizeof(p), "%s/web.json", pdir);
    put(p, "{\"version\": 1, \"name\": \"web\", \"extends\": \"base\", \"resources\": {\"pids\": {\"max\": 64}}}\n");
    return 0;
}

static int teardown(void **s)
{
    (void)s;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : -1;
}

/* open and take every domain of the directory in (what the daemon does at start) */
static struct config_store *open_loaded(void)
{
    char err[1024];
    struct config_store *cs;
    assert_int_equal(config_open(&cs, pdir, sdir, err, sizeof(err)), 0);
    struct config_cand **c;
    size_t n;
    json_t *inv = json_array();
    config_scan(cs, &c, &n, inv);
    assert_int_equal(json_array_size(inv), 0);
    for (size_t i = 0; i < n; i++) {
        if (c[i]->base_rev == 0)
            assert_true(config_commit(cs, c[i], 0, "load", err, sizeof(err)) >= 1);
        config_cand_free(c[i]);
    }
    free(c);
    json_decref(inv);
    return cs;
}

static const json_t *change(const struct config_cand *c, const char *path)
{
    size_t i;
    json_t *e;
    json_array_foreach(c->changes, i, e) if (strcmp(json_string_value(json_object_get(e, "path")), path) == 0) return e;
    return NULL;
}

static void set_diff_commit_revert(void **s)
{
    (void)s;
    struct config_store *cs = open_loaded();
    char err[1024];
    assert_int_equal(config_rev(cs, "web"), 1);
    json_t *set = json_pack("{s:s,s:i,s:s}", "resources.memory.max", "128M", "resources.pids.max", 32,
                            "seccomp.default_action", "kill");
    struct config_cand *c;
    assert_int_equal(config_cand_set(cs, "web", set, &c, err, sizeof(err)), 0);
    json_decref(set);
    assert_int_equal(json_array_size(c->changes), 3);
    assert_string_equal(json_string_value(json_object_get(change(c, "resources.pids.max"), "applies")), "live");
    assert_string_equal(json_string_value(json_object_get(change(c, "seccomp.default_action"), "applies")),
                        "new-sandboxes");
    assert_int_equal(c->cg_what, SBX_CGU_MEMORY | SBX_CGU_PIDS);
    assert_int_equal(c->lim_old.pids_max, 64);
    assert_int_equal(c->lim_new.pids_max, 32);
    assert_int_equal(c->lim_new.memory_max, 128 << 20);
    assert_false(c->approval);
    assert_int_equal(config_commit(cs, c, 1000, "set", err, sizeof(err)), 2);
    config_cand_free(c);
    json_t *g = config_get(cs, "web", "resources.pids.max", err, sizeof(err));
    assert_int_equal(json_integer_value(json_object_get(g, "value")), 32);
    json_decref(g);
    /* the in-force copy is what gbox run gets */
    assert_non_null(strstr(config_policy_arg(cs, "web"), "/config/active/web.json"));
    assert_string_equal(config_policy_arg(cs, "/some/file.json"), "/some/file.json");
    config_close(cs);

    /* reopened: history kept; revert to 1 makes revision 3 */
    cs = open_loaded();
    assert_int_equal(config_rev(cs, "web"), 2);
    assert_int_equal(config_cand_rev(cs, "web", 1, &c, err, sizeof(err)), 0);
    assert_int_equal(c->lim_new.pids_max, 64);
    assert_int_equal(config_commit(cs, c, 0, "revert to 1", err, sizeof(err)), 3);
    config_cand_free(c);
    json_t *h = config_history(cs, "web", err, sizeof(err));
    json_t *revs = json_object_get(h, "revisions");
    assert_int_equal(json_array_size(revs), 3);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(revs, 1), "uid")), 1000);
    assert_null(json_object_get(json_array_get(revs, 1), "doc"));
    json_decref(h);
    assert_int_equal(config_cand_rev(cs, "web", 7, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no revision 7"));
    config_close(cs);
}

static void invalid_values_and_stale_changes(void **s)
{
    (void)s;
    struct config_store *cs = open_loaded();
    char err[1024], want[600];
    json_t *set = json_pack("{s:s}", "resources.memory.max", "lots");
    struct config_cand *c = NULL, *c2 = NULL;
    assert_int_equal(config_cand_set(cs, "web", set, &c, err, sizeof(err)), -1);
    json_decref(set);
    snprintf(want, sizeof(want), "%s/web.json: resources.memory.max: expected a size", pdir);
    assert_non_null(strstr(err, want));
    set = json_pack("{s:i}", "name", 1);
    assert_int_equal(config_cand_set(cs, "web", set, &c, err, sizeof(err)), -1);
    json_decref(set);
    /* a merge patch; and two candidates of one revision: the second is stale once the first is in */
    json_t *patch = json_pack("{s:{s:{s:i}}}", "resources", "pids", "max", 10);
    assert_int_equal(config_cand_patch(cs, "web", patch, &c, err, sizeof(err)), 0);
    json_decref(patch);
    patch = json_pack("{s:{s:n}}", "resources", "pids"); /* null removes: base's 256 again */
    assert_int_equal(config_cand_patch(cs, "web", patch, &c2, err, sizeof(err)), 0);
    json_decref(patch);
    assert_int_equal(c2->lim_new.pids_max, 256);
    assert_int_equal(config_commit(cs, c, 0, "patch", err, sizeof(err)), 2);
    assert_int_equal(config_commit(cs, c2, 0, "patch", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "changed since"));
    config_cand_free(c);
    config_cand_free(c2);
    config_close(cs);
}

static void edited_files(void **s)
{
    (void)s;
    struct config_store *cs = open_loaded();
    char p[400];
    snprintf(p, sizeof(p), "%s/web.json", pdir);
    put(p, "{\"version\": 1, \"name\": \"web\", \"extends\": \"base\", \"resources\": {\"pids\": {\"max\": \"many\"}}}\n");
    struct config_cand **c;
    size_t n;
    json_t *inv = json_array();
    config_scan(cs, &c, &n, inv);
    assert_int_equal(n, 0);
    assert_int_equal(json_array_size(inv), 1);
    assert_non_null(strstr(json_string_value(json_object_get(json_array_get(inv, 0), "error")), "resources.pids.max"));
    json_decref(inv);
    free(c);
    const struct gbox_policy *pol = config_policy(cs, "web");
    assert_int_equal(json_integer_value(pol_get(pol, "resources.pids.max")), 64);
    /* seen once: not reported again until the file changes */
    inv = json_array();
    config_scan(cs, &c, &n, inv);
    assert_int_equal(json_array_size(inv), 0);
    json_decref(inv);
    free(c);
    put(p, "{\"version\": 1, \"name\": \"web\", \"extends\": \"base\", \"resources\": {\"pids\": {\"max\": 5}},"
           " \"safety\": {\"require_explicit_approval\": true}}\n");
    inv = json_array();
    config_scan(cs, &c, &n, inv);
    assert_int_equal(n, 1);
    assert_int_equal(c[0]->lim_new.pids_max, 5);
    assert_false(c[0]->approval); /* asked for by the version in force only */
    char err[1024];
    assert_int_equal(config_commit(cs, c[0], 0, "file", err, sizeof(err)), 2);
    config_cand_free(c[0]);
    free(c);
    json_decref(inv);
    json_t *set = json_pack("{s:i}", "resources.pids.max", 6);
    struct config_cand *c1;
    assert_int_equal(config_cand_set(cs, "web", set, &c1, err, sizeof(err)), 0);
    json_decref(set);
    assert_true(c1->approval);
    config_cand_free(c1);
    config_close(cs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(set_diff_commit_revert, setup, teardown),
        cmocka_unit_test_setup_teardown(invalid_values_and_stale_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(edited_files, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
