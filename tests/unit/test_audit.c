/* test_audit.c — the hash-chained audit log: an intact chain verifies, and an edited, removed,
 * reordered, cut-off or inserted entry is found at its line; the chain goes on across reopen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../runtime/audit.h"

static char dir[256], path[300];

static int setup(void **s)
{
    (void)s;
    snprintf(dir, sizeof(dir), "/tmp/gbox-audit-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
    return 0;
}

static int teardown(void **s)
{
    (void)s;
    char p[320];
    snprintf(p, sizeof(p), "%s.head", path);
    unlink(p);
    unlink(path);
    return rmdir(dir);
}

/* n entries, written across two opens of the log */
static void write_log(int n)
{
    char err[256];
    struct audit_log *a;
    for (int i = 0; i < n; i++) {
        if (i == 0 || i == n / 2) {
            if (i)
                audit_log_close(a);
            assert_int_equal(audit_log_open(&a, path, err, sizeof(err)), 0);
        }
        json_t *e = json_pack("{s:s,s:i,s:s}", "op", "config-set", "uid", 1000 + i, "target", "web");
        assert_int_equal(audit_log_append(a, e), 0);
        json_decref(e);
    }
    audit_log_close(a);
}

static char *slurp(size_t *len) { FILE *f = fopen(path, "r"); assert_non_null(f); char *b = calloc(1, 1 << 16); *len = fread(b, 1, (1 << 16) - 1, f); fclose(f); return b; }

static void put(const char *b)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(b, f);
    fclose(f);
}

/* The lines of the log, to be rearranged. */
static int lines(char *b, char **l, int max)
{
    int n = 0;
    for (char *t = strtok(b, "\n"); t && n < max; t = strtok(NULL, "\n"))
        l[n++] = t;
    return n;
}

static void join(char **l, int n, char *out, size_t len)
{
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        strncat(out, l[i], len - strlen(out) - 2);
        strncat(out, "\n", len - strlen(out) - 1);
    }
}

static void intact(void **s)
{
    (void)s;
    write_log(6);
    struct audit_report r;
    int rc = audit_verify(path, &r);
    if (rc)
        print_message("%s\n", r.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(r.entries, 6);
    assert_int_equal(r.bad_line, 0);
}

static void edited(void **s)
{
    (void)s;
    write_log(5);
    size_t len;
    char *b = slurp(&len);
    char *u = strstr(b, "1002");
    assert_non_null(u);
    u[3] = '9'; /* uid 1002 -> 1009 on line 3 */
    put(b);
    free(b);
    struct audit_report r;
    assert_int_equal(audit_verify(path, &r), 1);
    assert_int_equal(r.bad_line, 3);
    assert_non_null(strstr(r.msg, "changed"));
}

static void removed_reordered_cut_inserted(void **s)
{
    (void)s;
    write_log(5);
    size_t len;
    char *orig = slurp(&len), out[1 << 16], *l[8], *b;
    struct audit_report r;

    b = strdup(orig); /* line 2 removed */
    int n = lines(b, l, 8);
    assert_int_equal(n, 5);
    memmove(&l[1], &l[2], 3 * sizeof(char *));
    join(l, 4, out, sizeof(out));
    put(out);
    assert_int_equal(audit_verify(path, &r), 1);
    assert_int_equal(r.bad_line, 2);
    free(b);

    b = strdup(orig); /* lines 3 and 4 swapped */
    lines(b, l, 8);
    char *t = l[2];
    l[2] = l[3];
    l[3] = t;
    join(l, 5, out, sizeof(out));
    put(out);
    assert_int_equal(audit_verify(path, &r), 1);
    assert_int_equal(r.bad_line, 3);
    free(b);

    b = strdup(orig); /* the last entry cut off: the head file tells */
    lines(b, l, 8);
    join(l, 4, out, sizeof(out));
    put(out);
    assert_int_equal(audit_verify(path, &r), 1);
    assert_non_null(strstr(r.msg, "end"));
    free(b);

    b = strdup(orig); /* an unchained line inserted after chained ones */
    lines(b, l, 8);
    l[5] = l[4];
    l[4] = "{\"op\":\"spawn\",\"uid\":0}";
    join(l, 6, out, sizeof(out));
    put(out);
    assert_int_equal(audit_verify(path, &r), 1);
    assert_int_equal(r.bad_line, 5);
    free(b);

    put(orig); /* restored: intact again */
    assert_int_equal(audit_verify(path, &r), 0);
    free(orig);
}

static void legacy_lines_before_the_chain(void **s)
{
    (void)s;
    put("{\"op\":\"ps\",\"uid\":0}\n{\"op\":\"spawn\",\"uid\":0}\n");
    write_log(3);
    struct audit_report r;
    assert_int_equal(audit_verify(path, &r), 0);
    assert_int_equal(r.legacy, 2);
    assert_int_equal(r.entries, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(intact, setup, teardown),
        cmocka_unit_test_setup_teardown(edited, setup, teardown),
        cmocka_unit_test_setup_teardown(removed_reordered_cut_inserted, setup, teardown),
        cmocka_unit_test_setup_teardown(legacy_lines_before_the_chain, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
