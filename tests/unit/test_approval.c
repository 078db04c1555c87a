/* test_approval.c — the approval queue: persistence across reopen, ids never reused, the distinct
 * approver rule, unknown and malformed ids, a corrupt entry refused with its file named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../runtime/approval.h"

static char dir[256];

static int setup(void **s)
{
    (void)s;
    snprintf(dir, sizeof(dir), "/tmp/gbox-approval-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **s)
{
    (void)s;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return WEXITSTATUS(system(cmd)) == 0 ? 0 : -1; /* lint-allow: test cleanup of its own temp dir */
}

static void submit_list_take_reopen(void **s)
{
    (void)s;
    char err[256] = "", id1[32], id2[32];
    struct approval_queue *q;
    assert_int_equal(approval_open(&q, dir, err, sizeof(err)), 0);
    json_t *p = json_pack("{s:s}", "resources.pids.max", "64");
    assert_int_equal(approval_submit(q, "config", "web", "", p, 1000, id1, sizeof(id1), err, sizeof(err)), 0);
    json_object_set_new(p, "changed", json_true()); /* the queue keeps its own copy */
    assert_int_equal(approval_submit(q, "reload", "db", "abc", p, 1001, id2, sizeof(id2), err, sizeof(err)), 0);
    json_decref(p);
    assert_string_equal(id1, "a-000001");
    assert_string_equal(id2, "a-000002");
    approval_close(q);

    /* a restart: both are still there, oldest first, with every field */
    assert_int_equal(approval_open(&q, dir, err, sizeof(err)), 0);
    json_t *l = approval_list(q);
    assert_int_equal(json_array_size(l), 2);
    json_t *e = json_array_get(l, 0);
    assert_string_equal(json_string_value(json_object_get(e, "id")), "a-000001");
    assert_string_equal(json_string_value(json_object_get(e, "kind")), "config");
    assert_string_equal(json_string_value(json_object_get(e, "domain")), "web");
    assert_int_equal(json_integer_value(json_object_get(e, "requester")), 1000);
    assert_null(json_object_get(json_object_get(e, "payload"), "changed"));
    assert_true(json_integer_value(json_object_get(e, "time")) > 0);
    assert_string_equal(json_string_value(json_object_get(json_array_get(l, 1), "target")), "abc");
    json_decref(l);

    /* the requester may not approve its own change when a distinct approver is required */
    json_t *got = NULL;
    assert_int_equal(approval_take(q, id1, 1000, 1, &got, err, sizeof(err)), -EPERM);
    assert_null(got);
    assert_non_null(strstr(err, "uid 1000"));
    assert_int_equal(approval_take(q, id1, 0, 1, &got, err, sizeof(err)), 0);
    assert_string_equal(json_string_value(json_object_get(got, "kind")), "config");
    json_decref(got);
    assert_int_equal(approval_take(q, id1, 0, 0, &got, err, sizeof(err)), -ENOENT);
    assert_int_equal(approval_reject(q, id2, 0, err, sizeof(err)), 0);
    assert_int_equal(approval_reject(q, id2, 0, err, sizeof(err)), -ENOENT);
    approval_close(q);

    /* ids are not reused after the entries are gone */
    assert_int_equal(approval_open(&q, dir, err, sizeof(err)), 0);
    l = approval_list(q);
    assert_int_equal(json_array_size(l), 0);
    json_decref(l);
    p = json_object();
    assert_int_equal(approval_submit(q, "config", "web", "", p, 0, id1, sizeof(id1), err, sizeof(err)), 0);
    json_decref(p);
    assert_string_equal(id1, "a-000003");
    approval_close(q);
}

static void malformed_ids_and_corrupt_entries(void **s)
{
    (void)s;
    char err[512] = "";
    struct approval_queue *q;
    assert_int_equal(approval_open(&q, dir, err, sizeof(err)), 0);
    json_t *got = NULL;
    const char *bad[] = {"../seq", "a-1", "a-00000x", "seq", "", "a-000001/../../x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(approval_take(q, bad[i], 0, 0, &got, err, sizeof(err)), -ENOENT);
    assert_int_equal(approval_take(q, NULL, 0, 0, &got, err, sizeof(err)), -ENOENT);
    approval_close(q);

    char path[300];
    snprintf(path, sizeof(path), "%s/a-000009.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"id\":\"a-000009\",\"kind\":\"config\"}\n", f);
    fclose(f);
    assert_int_equal(approval_open(&q, dir, err, sizeof(err)), -EINVAL);
    assert_null(q);
    assert_non_null(strstr(err, "a-000009.json"));
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(submit_list_take_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_ids_and_corrupt_entries, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
