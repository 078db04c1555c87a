/* test_resolve.c — module stack resolution: highest compatible versions, backtracking, order of
 * the layers, and every refusal with its exact message (the chain that led to it). The catalog
 * is built in memory from manifests written inline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/resolve.h"

#define MAX_MODS 32

struct cat {
    struct res_module v[MAX_MODS];
    struct gbox_manifest *m[MAX_MODS];
    size_t n;
};

/* Add a module from the inside of a manifest's JSON object. */
static void mod(struct cat *c, const char *json_members)
{
    char text[2048];
    snprintf(text, sizeof(text), "{%s}", json_members);
    json_error_t je;
    json_t *doc = json_loads(text, 0, &je);
    if (!doc)
        fail_msg("bad test manifest %s: %s", text, je.text);
    struct sbx_err *err = NULL;
    struct gbox_manifest *m = NULL;
    if (manifest_from_json(doc, "test", &m, &err) < 0)
        fail_msg("manifest %s: %s", text, err->msg);
    json_decref(doc);
    assert_true(c->n < MAX_MODS);
    c->m[c->n] = m;
    c->v[c->n] = (struct res_module){m, m->name, NULL};
    c->n++;
}

static void cat_free(struct cat *c)
{
    for (size_t i = 0; i < c->n; i++)
        manifest_free(c->m[i]);
    c->n = 0;
}

struct reqs {
    struct res_request v[8];
    char origin[8][80];
    size_t n;
};

static void req(struct reqs *r, const char *ref, bool policy_named)
{
    snprintf(r->origin[r->n], sizeof(r->origin[0]), "%s%s", policy_named ? "modules.load " : "--module ", ref);
    assert_int_equal(res_request_parse(ref, r->origin[r->n], policy_named, &r->v[r->n]), 0);
    r->n++;
}

/* Resolve and compare the stack (top first) with "a@1.0.0 b@2.0.0". */
static void expect_stack(struct cat *c, struct reqs *r, const struct res_policy *pol, const char *want)
{
    struct res_stack st;
    struct sbx_err *err = NULL;
    if (resolve_stack(c->v, c->n, r->v, r->n, pol, &st, &err) < 0)
        fail_msg("resolution failed: %s (expected %s)", err->msg, want);
    char got[1024] = "";
    size_t n = 0;
    for (size_t i = 0; i < st.n; i++)
        n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%s@%s", i ? " " : "", st.v[i]->m->name,
                              st.v[i]->m->version_text);
    res_stack_free(&st);
    if (strcmp(got, want) != 0)
        fail_msg("stack\n  got:      %s\n  expected: %s", got, want);
}

static void expect_error(struct cat *c, struct reqs *r, const struct res_policy *pol, const char *want)
{
    struct res_stack st;
    struct sbx_err *err = NULL;
    if (resolve_stack(c->v, c->n, r->v, r->n, pol, &st, &err) == 0) {
        res_stack_free(&st);
        fail_msg("resolution succeeded, expected: %s", want);
    }
    assert_non_null(err);
    assert_int_equal(err->code, 2);
    char got[sizeof(err->msg)];
    memcpy(got, err->msg, sizeof(got));
    sbx_err_free(&err);
    if (strcmp(got, want) != 0)
        fail_msg("error\n  got:      %s\n  expected: %s", got, want);
}

#define M(name, ver, extra) "\"name\":\"" name "\",\"version\":\"" ver "\"" extra

static void test_highest_version(void **state)
{
    (void)state;
    struct cat c = {0};
    mod(&c, M("base", "1.0.0", ""));
    mod(&c, M("base", "1.4.2", ""));
    mod(&c, M("base", "1.10.0", ""));
    mod(&c, M("base", "2.0.0-rc.1", ""));
    struct reqs r = {0};
    req(&r, "base", false);
    expect_stack(&c, &r, NULL, "base@1.10.0");
    r.n = 0;
    req(&r, "base@~1.4", false);
    expect_stack(&c, &r, NULL, "base@1.4.2");
    r.n = 0;
    req(&r, "base@2.0.0-rc.1", false);
    expect_stack(&c, &r, NULL, "base@2.0.0-rc.1");
    cat_free(&c);
}

static void test_transitive_order(void **state)
{
    (void)state;
    struct cat c = {0};
    mod(&c, M("base", "1.0.0", ""));
    mod(&c, M("lib", "1.2.0", ",\"depends\":[{\"name\":\"base\",\"version\":\"^1\"}]"));
    mod(&c, M("app", "3.0.0", ",\"depends\":[{\"name\":\"lib\",\"version\":\"^1.1\"}]"));
    mod(&c, M("tool", "0.1.0", ",\"depends\":[{\"name\":\"base\"}]"));
    struct reqs r = {0};
    req(&r, "app", false);
    expect_stack(&c, &r, NULL, "app@3.0.0 lib@1.2.0 base@1.0.0");
    /* the root image first, later requests higher: base, then app's stack, then tool on top */
    r.n = 0;
    req(&r, "base", true);
    req(&r, "app", false);
    req(&r, "tool", false);
    expect_stack(&c, &r, NULL, "tool@0.1.0 app@3.0.0 lib@1.2.0 base@1.0.0");
    cat_free(&c);
}

static void test_diamond_one_version(void **state)
{
    (void)state;
    struct cat c = {0};
    mod(&c, M("lib", "1.1.0", ""));
    mod(&c, M("lib", "1.5.0", ""));
    mod(&c, M("lib", "1.9.0", ""));
    mod(&c, M("a", "1.0.0", ",\"depends\":[{\"name\":\"lib\",\"version\":\">=1.1 <1.8\"}]"));
    mod(&c, M("b", "1.0.0", ",\"depends\":[{\"name\":\"lib\",\"version\":\"^1.5\"}]"));
    mod(&c, M("app", "1.0.0", ",\"depends\":[{\"name\":\"a\"},{\"name\":\"b\"}]"));
    struct reqs r = {0};
    req(&r, "app", false);
    expect_stack(&c, &r, NULL, "app@1.0.0 b@1.0.0 a@1.0.0 lib@1.5.0");
    cat_free(&c);
}

/* The highest app needs a lib nobody has: the search backs up to the next app. */
static void test_backtrack_version(void **state)
{
    (void)state;
    struct cat c = {0};
    mod(&c, M("lib", "1.3.0", ""));
    mod(&c, M("app", "2.0.0", ",\"depends\":[{\"name\":\"lib\",\"version\":\"^3\"}]"));
    mod(&c, M("app", "1.7.0", ",\"depends\":[{\"name\":\"lib\",\"version\":\"^1\"}]"));
    struct reqs r = {0};
    req(&r, "app", false);
    expect_stack(&c, &r, NULL, "app@1.7.0 lib@1.3.0");
    cat_free(&c);
}

/* A later need conflicts with an earlier choice: the earlier choice is revised. */
static void test_backtrack_conflict(void **state)
{
    (void)state;
    struct cat c = {0};
    mod(&c, M("lib", "1.4.0", ""));
    mod(&c, M("lib", "2.1.0", ""));
    mod(&c, M("web", "1.0.0", ",\"depends\":[{\"name\":\"lib\"}]"));
    mod(&c, M("db", "1.0.0", ",\"depends\":[{\"name\":\"lib\",\"version\":\"^1\"}]"));
    struct reqs r = {0};
    req(&r, "web", false);
    req(&r, "db", false);
    expect_stack(&c, &r, NULL, "db@1.0.0 web@1.0.0 lib@1.4.0");
    cat_free(&c);
}

static void test_conflict_error(void **state)
{
    (void)state;
    struct cat c = {0};
    mod(&c, M("lib", "1.4.0", ""));
    mod(&c, M("lib", "2.1.0", ""));
    mod(&c, M("web", "1.0.0", ",\"depends\":[{\"name\":\"lib\",\"version\":\"^2\"}]"));
    mod(&c, M("mid", "1.0.0", ",\"depends\":[{\"name\":\"lib\",\"version\":\"~1.4\"}]"));
    mod(&c, M("db", "1.0.0", ",\"depends\":[{\"name\":\"mid\"}]"));
    struct reqs r = {0};
    req(&r, "web", false);
    req(&r, "db@1", false);
    expect_error(&c, &r, NULL,
                 "version conflict on lib: mid@1.0.0 <- db@1.0.0 <- --module db@1 needs \"~1.4\", but "
                 "lib@2.1.0 was chosen for web@1.0.0 <- --module web, which needs \"^2\"");
    cat_free(&c);
}

static void test_cycle(void **state)
{
    (void)state;
    struct cat c = {0};
    mod(&c, M("a", "1.0.0", ",\"depends\":[{\"name\":\"b\"}]"));
    mod(&c, M("b", "1.0.0", ",\"depends\":[{\"name\":\"c\"}]"));
    mod(&c, M("c", "1.0.0", ",\"depends\":[{\"name\":\"a\",\"version\":\"^1\"}]"));
    struct reqs r = {0};
    req(&r, "a", false);
    expect_error(&c, &r, NULL, "dependency cycle: a@1.0.0 -> b@1.0.0 -> c@1.0.0 -> a@1.0.0");
    /* a cycle through a module asked for separately is still a cycle */
    r.n = 0;
    req(&r, "c", false);
    req(&r, "b", false);
    expect_error(&c, &r, NULL, "dependency cycle: c@1.0.0 -> a@1.0.0 -> b@1.0.0 -> c@1.0.0");
    /* a cycle only the highest version has: the lower one is chosen */
    struct cat d = {0};
    mod(&d, M("x", "2.0.0", ",\"depends\":[{\"name\":\"y\"}]"));
    mod(&d, M("x", "1.0.0", ""));
    mod(&d, M("y", "1.0.0", ",\"depends\":[{\"name\":\"x\"}]"));
    r.n = 0;
    req(&r, "y", false);
    expect_stack(&d, &r, NULL, "y@1.0.0 x@1.0.0");
    cat_free(&c);
    cat_free(&d);
}

static void test_missing(void **state)
{
    (void)state;
    struct cat c = {0};
    mod(&c, M("lib", "1.4.0", ""));
    mod(&c, M("lib", "1.2.0", ""));
    mod(&c, M("app", "1.0.0", ",\"depends\":[{\"name\":\"lib\",\"version\":\"^2\"}]"));
    mod(&c, M("gui", "1.0.0", ",\"depends\":[{\"name\":\"toolkit\"}]"));
    struct reqs r = {0};
    req(&r, "app", false);
    expect_error(&c, &r, NULL,
                 "no version of lib matches \"^2\" (wanted by app@1.0.0 <- --module app); available: 1.4.0, 1.2.0");
    r.n = 0;
    req(&r, "gui", false);
    expect_error(&c, &r, NULL,
                 "module toolkit not found (wanted by gui@1.0.0 <- --module gui): no image of that name in "
                 "the store or the image directory");
    r.n = 0;
    req(&r, "nothing@^1", false);
    expect_error(&c, &r, NULL,
                 "module nothing not found (wanted by --module nothing@^1): no image of that name in the "
                 "store or the image directory");
    cat_free(&c);
}

static void test_domain(void **state)
{
    (void)state;
    struct cat c = {0};
    mod(&c, M("probe-io", "1.0.0", ",\"domains\":[\"space_probe\",\"edge_iot\"],\"set\":\"minimal\""));
    mod(&c, M("web", "2.0.0", ",\"domains\":[\"*\"],\"set\":\"minimal\",\"depends\":[{\"name\":\"probe-io\"}]"));
    struct reqs r = {0};
    req(&r, "probe-io", false);
    struct res_policy sp = {.domain = "space_probe", .set = MODULE_SET_MINIMAL};
    expect_stack(&c, &r, &sp, "probe-io@1.0.0");
    struct res_policy pg = {.domain = "playground", .set = MODULE_SET_FULL};
    expect_error(&c, &r, &pg,
                 "probe-io@1.0.0 (wanted by --module probe-io) does not run in domain playground (its "
                 "domains: space_probe, edge_iot)");
    r.n = 0;
    req(&r, "web", false);
    expect_error(&c, &r, &pg,
                 "probe-io@1.0.0 (wanted by web@2.0.0 <- --module web) does not run in domain playground "
                 "(its domains: space_probe, edge_iot)");
    cat_free(&c);
}

static void test_allowed(void **state)
{
    (void)state;
    struct cat c = {0};
    mod(&c, M("base", "1.0.0", ",\"set\":\"minimal\""));
    mod(&c, M("net", "1.0.0", ",\"set\":\"standard\""));
    mod(&c, M("gpu", "1.0.0", ",\"set\":\"full\""));
    mod(&c, M("gpu", "2.0.0", ",\"set\":\"full\""));
    mod(&c, M("ml", "1.0.0", ",\"set\":\"standard\",\"depends\":[{\"name\":\"gpu\"}]"));
    struct reqs r = {0};
    struct res_policy minimal = {.domain = "space_probe", .set = MODULE_SET_MINIMAL};
    struct res_policy standard = {.domain = "server", .set = MODULE_SET_STANDARD};
    req(&r, "base", false);
    expect_stack(&c, &r, &minimal, "base@1.0.0");
    r.n = 0;
    req(&r, "net", false);
    expect_stack(&c, &r, &standard, "net@1.0.0");
    expect_error(&c, &r, &minimal,
                 "net@1.0.0 (wanted by --module net) is not allowed by policy space_probe: the module is in "
                 "set \"standard\", the policy's modules.set is \"minimal\" (name it in modules.allow)");
    /* named by the policy itself: allowed whatever its set */
    r.n = 0;
    req(&r, "net", true);
    expect_stack(&c, &r, &minimal, "net@1.0.0");
    /* a dependency is never allowed implicitly */
    r.n = 0;
    req(&r, "ml", false);
    expect_error(&c, &r, &standard,
                 "gpu@2.0.0 (wanted by ml@1.0.0 <- --module ml) is not allowed by policy server: the module "
                 "is in set \"full\", the policy's modules.set is \"standard\" (name it in modules.allow)");
    /* modules.allow with a range lets only those versions in */
    struct res_allow allow = {.name = "gpu"};
    assert_int_equal(semver_range_parse("^1", &allow.range), 0);
    struct res_policy some = {.domain = "server", .set = MODULE_SET_STANDARD, .allow = &allow, .n_allow = 1};
    expect_stack(&c, &r, &some, "ml@1.0.0 gpu@1.0.0");
    r.n = 0;
    req(&r, "gpu@2", false);
    expect_error(&c, &r, &some,
                 "gpu@2.0.0 (wanted by --module gpu@2) is not allowed by policy server: the module is in set "
                 "\"full\", the policy's modules.set is \"standard\" (name it in modules.allow)");
    cat_free(&c);
}

static void test_requires(void **state)
{
    (void)state;
    struct cat c = {0};
    mod(&c, M("base", "1.0.0", ",\"provides\":[\"shell\"]"));
    mod(&c, M("tls", "1.0.0", ",\"provides\":[\"tls\"]"));
    mod(&c, M("web", "1.0.0", ",\"requires\":[\"shell\",\"tls\"],\"depends\":[{\"name\":\"base\"}]"));
    struct reqs r = {0};
    req(&r, "web", false);
    expect_error(&c, &r, NULL,
                 "web@1.0.0 (wanted by --module web) requires \"tls\", which no module of the stack provides");
    req(&r, "tls", false);
    expect_stack(&c, &r, NULL, "tls@1.0.0 web@1.0.0 base@1.0.0");
    cat_free(&c);
}

static void test_same_name_twice(void **state)
{
    (void)state;
    struct cat c = {0};
    mod(&c, M("lib", "1.0.0", ""));
    mod(&c, M("lib", "1.6.0", ""));
    mod(&c, M("lib", "2.0.0", ""));
    struct reqs r = {0};
    req(&r, "lib@>=1.0", true);
    req(&r, "lib@<1.9", false);
    expect_stack(&c, &r, NULL, "lib@1.6.0");
    cat_free(&c);
}

static void test_equal_versions_keep_catalog_order(void **state)
{
    (void)state;
    struct cat c = {0};
    mod(&c, M("base", "1.0.0", ",\"description\":\"from the store\""));
    mod(&c, M("base", "1.0.0", ",\"description\":\"from the image directory\""));
    struct reqs r = {0};
    req(&r, "base", false);
    struct res_stack st;
    struct sbx_err *err = NULL;
    assert_int_equal(resolve_stack(c.v, c.n, r.v, r.n, NULL, &st, &err), 0);
    assert_int_equal(st.n, 1);
    assert_ptr_equal(st.v[0], &c.v[0]);
    res_stack_free(&st);
    cat_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_highest_version),
        cmocka_unit_test(test_transitive_order),
        cmocka_unit_test(test_diamond_one_version),
        cmocka_unit_test(test_backtrack_version),
        cmocka_unit_test(test_backtrack_conflict),
        cmocka_unit_test(test_conflict_error),
        cmocka_unit_test(test_cycle),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_domain),
        cmocka_unit_test(test_allowed),
        cmocka_unit_test(test_requires),
        cmocka_unit_test(test_same_name_twice),
        cmocka_unit_test(test_equal_versions_keep_catalog_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
