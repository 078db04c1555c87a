/* test_policy.c — loading policies: inheritance, defaults, and every validation rule with its
 * exact message. Fixtures live in tests/unit/fixtures/ (tests run from the repository root). */
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

#include "../../runtime/policy.h"
#include "../../runtime/schema.h"
#include "../../runtime/syscall_groups.h"

#define FIX "tests/unit/fixtures/"

/* ---- helpers -------------------------------------------------------------------------------- */

static struct gbox_policy *load_ok(const char *arg)
{
    struct gbox_policy *p = NULL;
    struct sbx_err *err = NULL;
    if (policy_load(arg, &p, &err) < 0) {
        fail_msg("policy_load(\"%s\") failed: %s", arg, err ? err->msg : "(no error set)");
        return NULL;
    }
    assert_null(err);
    assert_non_null(p);
    assert_non_null(p->root);
    return p;
}

/* Load arg, expect failure with code 2 and exactly the message want. */
static void expect_load_error(const char *arg, const char *want)
{
    struct gbox_policy *p = NULL;
    struct sbx_err *err = NULL;
    int rc = policy_load(arg, &p, &err);
    if (rc == 0) {
        policy_free(p);
        fail_msg("policy_load(\"%s\") succeeded, expected: %s", arg, want);
    }
    assert_int_equal(rc, -1);
    assert_null(p);
    assert_non_null(err);
    int code = err->code;
    char got[sizeof(err->msg)];
    memcpy(got, err->msg, sizeof(got));
    sbx_err_free(&err);
    assert_int_equal(code, 2);
    if (strcmp(got, want) != 0)
        fail_msg("policy_load(\"%s\")\n  got:      %s\n  expected: %s", arg, got, want);
}

/* The fixture tests/unit/fixtures/NAME must fail with "tests/unit/fixtures/NAME" + tail. */
static void expect_error(const char *fixture, const char *tail)
{
    char arg[PATH_MAX], want[2048];
    snprintf(arg, sizeof(arg), FIX "%s", fixture);
    snprintf(want, sizeof(want), "%s%s", arg, tail);
    expect_load_error(arg, want);
}

/* Like expect_error, for errors that name a file of the chain by its absolute path. */
static void expect_error_abs(const char *load, const char *named, const char *tail)
{
    char arg[PATH_MAX], rel[PATH_MAX], abs[PATH_MAX], want[2048];
    snprintf(arg, sizeof(arg), FIX "%s", load);
    snprintf(rel, sizeof(rel), FIX "%s", named);
    assert_non_null(realpath(rel, abs));
    snprintf(want, sizeof(want), "%s%s", abs, tail);
    expect_load_error(arg, want);
}

/* Load must fail (code 2) with a message starting with prefix. */
static void expect_error_prefix(const char *fixture, const char *tail)
{
    char arg[PATH_MAX], want[2048];
    snprintf(arg, sizeof(arg), FIX "%s", fixture);
    snprintf(want, sizeof(want), "%s%s", arg, tail);
    struct gbox_policy *p = NULL;
    struct sbx_err *err = NULL;
    if (policy_load(arg, &p, &err) == 0) {
        policy_free(p);
        fail_msg("policy_load(\"%s\") succeeded, expected an error starting with: %s", arg, want);
    }
    assert_non_null(err);
    int code = err->code;
    char got[sizeof(err->msg)];
    memcpy(got, err->msg, sizeof(got));
    sbx_err_free(&err);
    assert_int_equal(code, 2);
    if (strncmp(got, want, strlen(want)) != 0)
        fail_msg("policy_load(\"%s\")\n  got:      %s\n  expected: %s...", arg, got, want);
}

/* got must equal the JSON text want. */
static void json_is(const json_t *got, const char *want)
{
    json_error_t je;
    json_t *w = json_loads(want, JSON_DECODE_ANY, &je);
    if (!w)
        fail_msg("bad expected JSON %s: %s", want, je.text);
    if (!got || !json_equal((json_t *)got, w)) {
        char *g = got ? json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
        print_error("got:      %s\nexpected: %s\n", g ? g : "(missing)", want);
        free(g);
        json_decref(w);
        fail();
    }
    json_decref(w);
}

static void field_is(const struct gbox_policy *p, const char *dotted, const char *want)
{
    const json_t *v = pol_get(p, dotted);
    if (!v)
        fail_msg("%s: field %s missing", p->name, dotted);
    json_is(v, want);
}

/* ---- loading and naming --------------------------------------------------------------------- */

static void test_minimal_policy_loads(void **state)
{
    (void)state;
    struct gbox_policy *p = load_ok(FIX "minimal.json");
    assert_string_equal(p->name, "minimal");
    char abs[PATH_MAX];
    assert_non_null(realpath(FIX "minimal.json", abs));
    assert_string_equal(p->file, abs);
    field_is(p, "name", "\"minimal\"");
    field_is(p, "extends", "null");
    field_is(p, "version", "1");
    policy_free(p);
}

/* A policy that extends nothing gets every field from schema.json's defaults. */
static void test_defaults_filled_from_schema(void **state)
{
    (void)state;
    struct gbox_policy *p = load_ok(FIX "minimal.json");
    field_is(p, "description", "\"\"");
    field_is(p, "hostname", "\"gbox\"");
    field_is(p, "interpreter.image", "\"base\"");
    field_is(p, "interpreter.handlers",
             "[{\"extensions\":[\".gr\"],\"command\":[\"/usr/bin/gr\",\"{program}\"],"
             "\"modules\":[\"graphoid\"],\"project\":true},"
             "{\"extensions\":[\".sh\"],\"command\":[\"/bin/sh\",\"{program}\"]}]");
    field_is(p, "interpreter.program_dir", "\"/app\"");
    field_is(p, "interpreter.workdir", "\"/app\"");
    field_is(p, "interpreter.env",
             "{\"PATH\":\"/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin\",\"HOME\":\"/tmp\","
             "\"LANG\":\"C.UTF-8\"}");
    field_is(p, "resources.memory.max", "\"512M\"");
    field_is(p, "resources.memory.high", "null");
    field_is(p, "resources.memory.swap", "\"0\"");
    /* the embedded schema is minified by jq, which writes 1.0 as 1: both are "1 CPU" */
    field_is(p, "resources.cpu.max", "1");
    field_is(p, "resources.cpu.weight", "100");
    field_is(p, "resources.cpu.cpus", "null");
    field_is(p, "resources.cpu.mems", "null");
    field_is(p, "resources.io", "[]");
    field_is(p, "resources.pids.max", "256");
    field_is(p, "resources.open_files", "256");
    field_is(p, "resources.file_size", "null");
    field_is(p, "resources.timeout", "\"300s\"");
    field_is(p, "resources.cpu_time", "null");
    field_is(p, "filesystem.readonly_root", "true");
    field_is(p, "filesystem.tmpfs", "[{\"path\":\"/tmp\",\"size\":\"64M\",\"mode\":\"1777\"}]");
    field_is(p, "filesystem.binds", "[]");
    field_is(p, "filesystem.masked_paths",
             "[\"/proc/kcore\",\"/proc/keys\",\"/proc/timer_list\",\"/proc/sched_debug\","
             "\"/proc/sysrq-trigger\",\"/proc/latency_stats\",\"/proc/acpi\",\"/proc/scsi\","
             "\"/proc/kallsyms\",\"/proc/kmsg\",\"/proc/config.gz\",\"/sys/firmware\"]");
    field_is(p, "filesystem.readonly_paths", "[\"/proc/sys\",\"/proc/bus\",\"/proc/fs\",\"/proc/irq\"]");
    field_is(p, "filesystem.sys", "\"none\"");
    field_is(p, "namespaces", "{\"pid\":true,\"ipc\":true,\"uts\":true,\"cgroup\":true}");
    field_is(p, "network.mode", "\"none\"");
    field_is(p, "user", "{\"namespace\":true,\"uid\":1000,\"gid\":1000,\"allow_root\":false}");
    field_is(p, "capabilities", "[]");
    field_is(p, "no_new_privs", "true");
    field_is(p, "seccomp",
             "{\"default_action\":\"errno:ENOSYS\",\"allow\":[\"@default\"],\"deny\":[],"
             "\"deny_action\":\"errno:EPERM\",\"kill\":[],\"rules\":[]}");
    field_is(p, "modules", "{\"set\":\"standard\",\"allow\":[],\"load\":[],\"reload\":{\"verify_window\":\"10s\",\"verify_passes\":1,\"keep_generations\":5,\"auto\":false,\"signal\":\"none\",\"swap_fallback\":\"refuse\"}}");
    field_is(p, "behavior", "{\"error_handling\":\"standard\",\"log_level\":\"info\",\"retry_policy\":\"none\"}");
    field_is(p, "safety", "{\"require_explicit_approval\":false,\"distinct_approver\":false,\"emergency_stop\":true,\"audit_all_actions\":false}");
    field_is(p, "monitoring.health_check",
             "{\"command\":[],\"interval\":\"30s\",\"timeout\":\"5s\",\"retries\":3,\"start_period\":\"0s\"}");
    field_is(p, "monitoring.metrics", "\"standard\"");
    field_is(p, "monitoring.anomaly_detection", "false");
    field_is(p, "failure_policies.on_timeout", "\"kill\"");
    field_is(p, "failure_policies.on_oom", "\"kill\"");
    field_is(p, "failure_policies.on_crash", "\"kill\"");
    field_is(p, "failure_policies.on_health_fail", "\"restart\"");
    field_is(p, "failure_policies.on_memory_high", "\"ignore\"");
    field_is(p, "failure_policies.grace", "\"5s\"");
    field_is(p, "failure_policies.restart",
             "{\"max_restarts\":5,\"backoff_initial\":\"1s\",\"backoff_max\":\"60s\",\"multiplier\":2,\"jitter\":0.1}");
    field_is(p, "failure_policies.circuit_breaker",
             "{\"failure_threshold\":5,\"window\":\"60s\",\"cooldown\":\"300s\",\"half_open_successes\":1,\"healthy_period\":\"30s\"}");
    /* nothing beyond the schema's fields */
    assert_int_equal(json_object_size(p->root), json_object_size(schema_fields()));
    policy_free(p);
}

static void test_accessors(void **state)
{
    (void)state;
    struct gbox_policy *p = load_ok(FIX "minimal.json");
    assert_int_equal(pol_size(p, "resources.memory.max"), 536870912);
    assert_int_equal(pol_size(p, "resources.memory.swap"), 0);
    assert_int_equal(pol_size(p, "resources.memory.high"), -1); /* null */
    assert_int_equal(pol_duration(p, "resources.timeout"), 300000);
    assert_int_equal(pol_duration(p, "failure_policies.grace"), 5000);
    assert_int_equal(pol_duration(p, "resources.cpu_time"), -1); /* null */
    assert_string_equal(pol_str(p, "filesystem.sys"), "none");
    assert_null(pol_str(p, "resources.open_files")); /* not a string */
    assert_null(pol_get(p, "resources.bogus"));
    assert_null(pol_get(p, "bogus.deeper.still"));
    assert_int_equal(pol_size(p, "resources.bogus"), -1);
    assert_int_equal(pol_duration(p, "resources.bogus"), -1);
    policy_free(p);
}

/* Defaults reach into the objects of arrays: a tmpfs that gives only its path gets size and mode. */
static void test_defaults_filled_in_array_items(void **state)
{
    (void)state;
    struct gbox_policy *p = load_ok(FIX "item_defaults.json");
    field_is(p, "filesystem.tmpfs", "[{\"path\":\"/data\",\"size\":\"64M\",\"mode\":\"1777\"}]");
    field_is(p, "filesystem.binds", "[{\"source\":\"/srv\",\"target\":\"/srv\",\"writable\":false}]");
    field_is(p, "seccomp.rules",
             "[{\"syscalls\":[\"ioctl\"],\"action\":\"errno:EPERM\",\"args\":[]},"
             "{\"syscalls\":[\"personality\"],\"action\":\"errno:EINVAL\","
             "\"args\":[{\"index\":0,\"op\":\"ne\",\"value\":0,\"mask\":null}]}]");
    policy_free(p);
}

static void test_nullable_fields_accept_null(void **state)
{
    (void)state;
    struct gbox_policy *p = load_ok(FIX "nullable_limits.json");
    field_is(p, "hostname", "null");
    assert_int_equal(pol_size(p, "resources.memory.max"), -1);
    assert_int_equal(pol_size(p, "resources.memory.swap"), -1);
    assert_int_equal(pol_size(p, "resources.file_size"), -1);
    assert_int_equal(pol_duration(p, "resources.timeout"), -1);
    field_is(p, "resources.cpu.max", "null");
    field_is(p, "resources.pids.max", "null");
    policy_free(p);
}

static void test_load_by_name_uses_policy_dir(void **state)
{
    (void)state;
    struct gbox_policy *p = load_ok("base");
    assert_string_equal(p->name, "base");
    char abs[PATH_MAX];
    assert_non_null(realpath("policies/base.json", abs));
    assert_string_equal(p->file, abs);
    policy_free(p);
}

static void test_load_missing_policy(void **state)
{
    (void)state;
    expect_load_error("nope", "policy \"nope\" not found (looked for policies/nope.json; `gbox policy "
                              "list` shows the available ones)");
    expect_load_error("Bad", "policy name \"Bad\": expected lowercase letters, digits, _ and -");
    expect_load_error("a b", "policy name \"a b\": expected lowercase letters, digits, _ and -");
    expect_load_error(FIX "nope.json", FIX "nope.json: No such file or directory");
}

static void test_policy_arg_is_file(void **state)
{
    (void)state;
    assert_false(policy_arg_is_file("base"));
    assert_false(policy_arg_is_file("space_probe"));
    assert_true(policy_arg_is_file("base.json"));
    assert_true(policy_arg_is_file("./base"));
    assert_true(policy_arg_is_file("/etc/gbox/x"));
    assert_false(policy_arg_is_file(".json")); /* nothing before the extension */
}

static void test_policy_path(void **state)
{
    (void)state;
    char out[PATH_MAX];
    struct sbx_err *err = NULL;
    assert_int_equal(policy_path("base", NULL, out, sizeof(out), &err), 0);
    assert_string_equal(out, "policies/base.json");
    assert_int_equal(policy_path("x/y.json", NULL, out, sizeof(out), &err), 0);
    assert_string_equal(out, "x/y.json");
    assert_int_equal(policy_path("y.json", "/some/dir", out, sizeof(out), &err), 0);
    assert_string_equal(out, "/some/dir/y.json");
    assert_int_equal(policy_path("/abs/y.json", "/some/dir", out, sizeof(out), &err), 0);
    assert_string_equal(out, "/abs/y.json");
    assert_int_equal(policy_path("parent", FIX "inherit", out, sizeof(out), &err), 0);
    assert_string_equal(out, FIX "inherit/parent.json");
    assert_null(err);
    assert_int_equal(policy_path("", NULL, out, sizeof(out), &err), -1);
    assert_non_null(err);
    assert_int_equal(err->code, 2);
    assert_string_equal(err->msg, "policy name \"\": expected lowercase letters, digits, _ and -");
    sbx_err_free(&err);
}

/* ---- inheritance ---------------------------------------------------------------------------- */

static void test_child_overrides_scalar(void **state)
{
    (void)state;
    struct gbox_policy *p = load_ok(FIX "inherit/child.json");
    field_is(p, "hostname", "\"childhost\"");
    field_is(p, "description", "\"the parent\""); /* not set by the child: inherited */
    field_is(p, "version", "1");                  /* the child has none: inherited */
    field_is(p, "resources.file_size", "null");   /* null replaces the parent's "1G" */
    policy_free(p);
}

static void test_child_deep_merges_objects(void **state)
{
    (void)state;
    struct gbox_policy *p = load_ok(FIX "inherit/child.json");
    /* the child sets only resources.memory.max */
    field_is(p, "resources.memory", "{\"max\":\"128M\",\"swap\":\"16M\",\"high\":null}");
    field_is(p, "resources.open_files", "512");
    field_is(p, "user", "{\"uid\":2000,\"gid\":1000,\"namespace\":true,\"allow_root\":false}");
    policy_free(p);
}

static void test_child_replaces_arrays(void **state)
{
    (void)state;
    struct gbox_policy *p = load_ok(FIX "inherit/child.json");
    field_is(p, "interpreter.handlers",
             "[{\"extensions\":[\".lua\"],\"command\":[\"/usr/bin/lua\",\"{program}\"],"
             "\"modules\":[],\"project\":false}]");
    field_is(p, "filesystem.masked_paths", "[\"/proc/kmsg\"]");
    policy_free(p);
}

static void test_child_merges_map_per_key(void **state)
{
    (void)state;
    struct gbox_policy *p = load_ok(FIX "inherit/child.json");
    /* the parent's env replaces the schema default as a whole (defaults only fill what is
     * missing), then the child's keys merge onto it */
    field_is(p, "interpreter.env", "{\"A\":\"1\",\"B\":\"20\",\"C\":\"3\"}");
    policy_free(p);
}

static void test_name_not_inherited(void **state)
{
    (void)state;
    struct gbox_policy *parent = load_ok(FIX "inherit/parent.json");
    assert_string_equal(parent->name, "parent_named");
    policy_free(parent);

    struct gbox_policy *p = load_ok(FIX "inherit/child.json");
    assert_string_equal(p->name, "child");
    field_is(p, "name", "\"child\"");
    field_is(p, "extends", "\"parent\""); /* its own extends, not the parent's null */
    policy_free(p);

    p = load_ok(FIX "inherit/named_child.json");
    assert_string_equal(p->name, "explicit_name");
    field_is(p, "name", "\"explicit_name\"");
    policy_free(p);

    p = load_ok(FIX "inherit/null_name.json"); /* "name": null means the file name */
    assert_string_equal(p->name, "null_name");
    field_is(p, "name", "\"null_name\"");
    policy_free(p);
}

static void test_extends_relative_path(void **state)
{
    (void)state;
    /* sub/grandchild.json extends "../child.json": relative to its own directory, not the cwd */
    struct gbox_policy *p = load_ok(FIX "inherit/sub/grandchild.json");
    assert_string_equal(p->name, "grandchild");
    field_is(p, "extends", "\"../child.json\"");
    field_is(p, "resources.open_files", "1024");       /* its own */
    field_is(p, "hostname", "\"childhost\"");          /* from child */
    field_is(p, "resources.memory.swap", "\"16M\"");   /* from parent, through child */
    field_is(p, "interpreter.env", "{\"A\":\"1\",\"B\":\"20\",\"C\":\"3\"}");
    field_is(p, "user.uid", "2000");
    policy_free(p);
}

static void test_extends_name_resolved_in_own_directory(void **state)
{
    (void)state;
    /* sub/by_name.json extends "base": sub/base.json, not policies/base.json */
    struct gbox_policy *p = load_ok(FIX "inherit/sub/by_name.json");
    field_is(p, "description", "\"fixture base, not policies/base.json\"");
    field_is(p, "resources.open_files", "64");
    field_is(p, "network.mode", "\"loopback\"");
    field_is(p, "seccomp.allow", "[\"@default\"]"); /* policies/base.json would give its list */
    policy_free(p);

    p = load_ok(FIX "inherit/sub/by_json_name.json"); /* "base.json": a path relative to the file */
    field_is(p, "description", "\"fixture base, not policies/base.json\"");
    policy_free(p);

    p = load_ok(FIX "inherit/sub/by_abs_like_path.json"); /* "./base.json" */
    field_is(p, "description", "\"fixture base, not policies/base.json\"");
    policy_free(p);
}

/* The cycle message names the revisited file by its absolute path, twice. */
static void expect_cycle(const char *load, const char *closing)
{
    char rel[PATH_MAX], abs[PATH_MAX], want[2 * PATH_MAX + 64], arg[PATH_MAX];
    snprintf(arg, sizeof(arg), FIX "%s", load);
    snprintf(rel, sizeof(rel), FIX "%s", closing);
    assert_non_null(realpath(rel, abs));
    snprintf(want, sizeof(want), "%s: extends: inheritance cycle through %s", abs, abs);
    expect_load_error(arg, want);
}

static void test_extends_cycles(void **state)
{
    (void)state;
    expect_cycle("cycle_a.json", "cycle_a.json");
    expect_cycle("cycle_b.json", "cycle_b.json");
    expect_cycle("cycle_self.json", "cycle_self.json");
}

static void test_extends_missing_policy(void **state)
{
    (void)state;
    char dir[PATH_MAX], tail[2 * PATH_MAX];
    assert_non_null(realpath(FIX, dir));
    snprintf(tail, sizeof(tail),
             ": extends: policy \"nope\" not found (looked for %s/nope.json; `gbox policy list` "
             "shows the available ones)",
             dir);
    expect_error("extends_missing.json", tail);
    expect_error("extends_bad_name.json",
                 ": extends: policy name \"Bad Name\": expected lowercase letters, digits, _ and -");
}

/* A missing parent given as a path is an error too, and like a missing parent given by name it
 * says which file's extends is broken. */
static void test_extends_missing_file(void **state)
{
    (void)state;
    expect_error_prefix("extends_missing_file.json", ": extends: ");
}

/* An error in a parent names the parent file. */
static void test_extends_invalid_parent(void **state)
{
    (void)state;
    expect_error_abs("extends_bad_parent.json", "int_below_min.json",
                     ": resources.open_files: expected a value of at least 16, got 8");
}

static void test_version_inherited_or_required(void **state)
{
    (void)state;
    struct gbox_policy *p = load_ok(FIX "inherit/child.json"); /* child has no version */
    field_is(p, "version", "1");
    policy_free(p);
    expect_error("inherit/no_version_anywhere.json", ": version: required field is missing");
}

/* Write a chain of n policies into dir: p0 extends p1 ... p(n-1) extends nothing. */
static void write_chain(const char *dir, int n)
{
    for (int i = 0; i < n; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/p%d.json", dir, i);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        if (i + 1 < n)
            fprintf(f, "{\"extends\": \"p%d\", \"description\": \"level %d\"}\n", i + 1, i);
        else
            fprintf(f, "{\"version\": 1, \"description\": \"root\", \"resources\": {\"open_files\": 99}}\n");
        fclose(f);
    }
}

static void remove_chain(const char *dir, int n)
{
    for (int i = 0; i < n; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/p%d.json", dir, i);
        unlink(path);
    }
    rmdir(dir);
}

static void test_extends_depth_limit(void **state)
{
    (void)state;
    char dir[] = "/tmp/gbox-test-chain-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char real[PATH_MAX];
    assert_non_null(realpath(dir, real));

    write_chain(dir, 16); /* 16 files: allowed */
    char top[PATH_MAX + 16];
    snprintf(top, sizeof(top), "%s/p0.json", dir);
    struct gbox_policy *p = load_ok(top);
    field_is(p, "description", "\"level 0\"");
    field_is(p, "resources.open_files", "99");
    policy_free(p);
    remove_chain(dir, 16);

    assert_int_equal(mkdir(dir, 0700), 0);
    write_chain(dir, 17); /* 17 files: one too many */
    char want[2 * PATH_MAX];
    snprintf(want, sizeof(want), "%s/p16.json: extends: more than 16 levels of inheritance", real);
    expect_load_error(top, want);
    remove_chain(dir, 17);
}

/* ---- every real policy ---------------------------------------------------------------------- */

static void test_all_real_policies_load(void **state)
{
    (void)state;
    DIR *d = opendir("policies");
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0 || strcmp(de->d_name, "schema.json") == 0)
            continue;
        char file[PATH_MAX], name[256];
        snprintf(file, sizeof(file), "policies/%s", de->d_name);
        snprintf(name, sizeof(name), "%.*s", (int)(len - 5), de->d_name);
        struct gbox_policy *p = load_ok(file); /* by path */
        assert_string_equal(p->name, name);
        field_is(p, "version", "1");
        field_is(p, "no_new_privs", "true");
        assert_non_null(pol_get(p, "seccomp.allow"));
        policy_free(p);
        p = load_ok(name); /* by name, through GBOX_POLICY_DIR */
        assert_string_equal(p->name, name);
        policy_free(p);
        n++;
    }
    closedir(d);
    assert_int_equal(n, 13); /* base and the 12 domains */
}

static void test_real_policy_inherits_base(void **state)
{
    (void)state;
    struct gbox_policy *p = load_ok("space_probe");
    field_is(p, "resources.memory.max", "\"256M\"");
    field_is(p, "network.mode", "\"veth\"");
    field_is(p, "network.egress", "[{\"to\":\"10.200.0.0/16\",\"protocol\":\"tcp\",\"ports\":null}]");
    field_is(p, "network.pool", "\"10.200.0.0/16\""); /* schema defaults fill what it leaves out */
    field_is(p, "network.prefix", "30");
    field_is(p, "network.address", "null");
    field_is(p, "extends", "\"base\"");
    struct gbox_policy *b = load_ok("base");
    /* what space_probe does not set comes from base */
    static const char *const same[] = {"filesystem.masked_paths", "seccomp.kill", "seccomp.deny",
                                       "seccomp.rules", "resources.memory.swap", "user"};
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
        if (!json_equal((json_t *)pol_get(p, same[i]), (json_t *)pol_get(b, same[i])))
            fail_msg("space_probe's %s differs from base's", same[i]);
    field_is(p, "seccomp.kill", "[\"@debug\"]"); /* base's, not the schema default [] */
    field_is(p, "resources.file_size", "\"64M\"");
    policy_free(b);
    policy_free(p);
}

/* ---- syntax --------------------------------------------------------------------------------- */

static void test_syntax_error_has_line_and_column(void **state)
{
    (void)state;
    expect_error("syntax_error.json", ":4:1: syntax error: string or '}' expected near '}'");
}

static void test_duplicate_keys_rejected(void **state)
{
    (void)state;
    expect_error("duplicate_key.json", ":3:46: syntax error: duplicate object key near '\"open_files\"'");
}

static void test_top_level_not_object(void **state)
{
    (void)state;
    expect_error("not_object.json", ": expected a JSON object at the top level");
}

/* ---- schema rules --------------------------------------------------------------------------- */

static void test_unknown_field(void **state)
{
    (void)state;
    expect_error("unknown_field.json",
                 ": bogus: unknown field (known here: version, name, description, extends, hostname, "
                 "interpreter, resources, filesystem, namespaces, network, user, capabilities, "
                 "no_new_privs, seccomp, modules, behavior, safety, monitoring, failure_policies)");
    expect_error("unknown_nested_field.json",
                 ": resources.memory.maximum: unknown field (known here: max, high, swap)");
}

static void test_wrong_type(void **state)
{
    (void)state;
    expect_error("wrong_type_int.json", ": resources.open_files: expected an integer, got \"many\"");
    expect_error("wrong_type_version.json", ": version: expected an integer, got \"1\"");
    expect_error("wrong_type_real_for_int.json", ": version: expected an integer, got 1.0");
    expect_error("wrong_type_object.json", ": resources: expected an object, got []");
    expect_error("wrong_type_bool.json", ": namespaces.pid: expected true or false, got \"yes\"");
    expect_error("wrong_type_string.json", ": description: expected a string, got 5");
    expect_error("wrong_type_number.json", ": resources.cpu.max: expected a number, got \"1\"");
    expect_error("wrong_type_array.json", ": filesystem.masked_paths: expected an array, got \"/proc/kcore\"");
    expect_error("wrong_type_map.json", ": interpreter.env: expected an object, got [\"PATH=/bin\"]");
    expect_error("wrong_type_map_value.json", ": interpreter.env.DEBUG: expected a string, got 1");
}

static void test_int_below_min(void **state)
{
    (void)state;
    expect_error("int_below_min.json", ": resources.open_files: expected a value of at least 16, got 8");
    expect_error("arg_value_negative.json",
                 ": seccomp.rules[0].args[0].value: expected a value of at least 0, got -1");
}

static void test_int_above_max(void **state)
{
    (void)state;
    expect_error("version_too_high.json", ": version: expected a value of at most 1, got 2");
    expect_error("arg_index_above_max.json", ": seccomp.rules[0].args[0].index: expected a value of at most 5, got 6");
}

/* "got VALUE" must show the value, not a rounded %g rendering ("1.04858e+06"). */
static void test_int_above_max_shows_exact_value(void **state)
{
    (void)state;
    expect_error("int_above_max.json", ": resources.open_files: expected a value of at most 1048576, got 1048577");
}

static void test_number_out_of_range(void **state)
{
    (void)state;
    expect_error("number_above_max.json", ": resources.cpu.max: expected a value of at most 1024, got 2000");
    expect_error("number_below_min.json", ": resources.cpu.max: expected a value of at least 0.01, got 0.001");
    expect_error("jitter_above_max.json", ": failure_policies.restart.jitter: expected a value of at most 1, got 1.5");
}

static void test_size_bad(void **state)
{
    (void)state;
    expect_error("size_bad.json",
                 ": resources.memory.max: expected a size like \"256M\" (K, M, G, T) or a number of bytes, got \"lots\"");
    expect_error("size_lowercase.json",
                 ": resources.memory.max: expected a size like \"256M\" (K, M, G, T) or a number of bytes, got \"256m\"");
    expect_error("size_negative.json",
                 ": resources.memory.max: expected a size like \"256M\" (K, M, G, T) or a number of bytes, got -1");
}

/* Like every other message, "got" shows the value as the policy wrote it. */
static void test_size_below_min(void **state)
{
    (void)state;
    expect_error("size_below_min.json", ": resources.memory.max: expected a size of at least \"4M\", got \"1M\"");
}

static void test_duration_bad(void **state)
{
    (void)state;
    expect_error("duration_bad.json",
                 ": resources.timeout: expected a duration like \"300s\", \"1500ms\", \"5m\" or \"1h\", got \"5\"");
    expect_error("duration_integer.json",
                 ": resources.timeout: expected a duration like \"300s\", \"1500ms\", \"5m\" or \"1h\", got 300");
}

static void test_enum_unknown_value(void **state)
{
    (void)state;
    expect_error("enum_unknown.json", ": filesystem.sys: expected one of [\"none\",\"ro\"], got \"rw\"");
    expect_error("args_op_unknown.json",
                 ": seccomp.rules[0].args[0].op: expected one of [\"eq\",\"ne\",\"lt\",\"le\",\"gt\",\"ge\",\"masked_eq\"], got \"contains\"");
}

static void test_pattern_mismatch(void **state)
{
    (void)state;
    expect_error("pattern_name.json", ": name: expected a string matching [a-z][a-z0-9_-]*, got \"Bad Name\"");
    expect_error("pattern_mode.json", ": filesystem.tmpfs[0].mode: expected a string matching [0-7]{3,4}, got \"999\"");
    expect_error("pattern_hostname.json",
                 ": hostname: expected a string matching [a-zA-Z0-9][a-zA-Z0-9.-]{0,62}, got \"-bad\"");
    expect_error("pattern_extension.json",
                 ": interpreter.handlers[0].extensions[0]: expected a string matching \\.[A-Za-z0-9_]+, got \"py\"");
}

static void test_path_rules(void **state)
{
    (void)state;
    expect_error("path_relative.json",
                 ": interpreter.workdir: expected an absolute path without \"..\" or \"//\", got \"app\"");
    expect_error("path_dotdot.json",
                 ": interpreter.workdir: expected an absolute path without \"..\" or \"//\", got \"/app/../etc\"");
    expect_error("path_trailing_dotdot.json",
                 ": interpreter.program_dir: expected an absolute path without \"..\" or \"//\", got \"/app/..\"");
    expect_error("path_double_slash.json",
                 ": filesystem.masked_paths[0]: expected an absolute path without \"..\" or \"//\", got \"/proc//kcore\"");
    expect_error("path_not_string.json", ": interpreter.workdir: expected an absolute path, got 5");
}

static void test_const_field(void **state)
{
    (void)state;
    expect_error("const_no_new_privs.json", ": no_new_privs: expected true (this field cannot be changed), got false");
}

static void test_null_only_where_nullable(void **state)
{
    (void)state;
    expect_error("null_not_allowed.json",
                 ": resources.open_files: expected a value of type int (null is not allowed here), got null");
    expect_error("null_object.json", ": resources: expected a value of type object (null is not allowed here), got null");
}

static void test_array_item_counts(void **state)
{
    (void)state;
    expect_error("handler_command_empty.json", ": interpreter.handlers[0].command: expected at least 1 items, got 0");
    expect_error("args_too_many.json", ": seccomp.rules[0].args: expected at most 6 items, got 7");
}

static void test_unknown_syscall(void **state)
{
    (void)state;
    expect_error("unknown_syscall.json", ": seccomp.allow[1]: unknown syscall \"bogus_call\"");
    expect_error("rule_unknown_syscall.json", ": seccomp.rules[0].syscalls[0]: unknown syscall \"bogus_call\"");
    expect_error("syscall_not_string.json", ": seccomp.kill[0]: expected a syscall name or @group, got 5");
    expect_error("syscalls_not_array.json", ": seccomp.deny: expected an array of syscall names, got \"ptrace\"");
}

static void test_unknown_group(void **state)
{
    (void)state;
    char known[1024], tail[1200];
    syscall_group_names(known, sizeof(known));
    assert_true(strncmp(known, "@default, @basic-io, ", 21) == 0);
    snprintf(tail, sizeof(tail), ": seccomp.deny[0]: unknown syscall group \"@bogus\" (known: %s)", known);
    expect_error("unknown_group.json", tail);
}

/* seccomp.rules[].syscalls takes names only: a group there must be an error, not silently
 * dropped (the plan skips names libseccomp cannot resolve). */
static void test_group_in_rule_rejected(void **state)
{
    (void)state;
    expect_error("rule_with_group.json",
                 ": seccomp.rules[0].syscalls[0]: expected a syscall name (groups are not allowed here), got \"@file-system\"");
}

static void test_action_malformed(void **state)
{
    (void)state;
    expect_error("action_bad_errno.json",
                 ": seccomp.deny_action: expected a seccomp action: allow, kill, log, trap or errno:NAME, got \"errno:EBOGUS\"");
    expect_error("action_deny.json",
                 ": seccomp.rules[0].action: expected a seccomp action: allow, kill, log, trap or errno:NAME, got \"deny\"");
}

static void test_capability_unknown(void **state)
{
    (void)state;
    expect_error("capability_unknown.json",
                 ": capabilities[1]: expected a capability name like \"CAP_NET_BIND_SERVICE\", got \"CAP_FOO\"");
    expect_error("capabilities_not_array.json", ": capabilities: expected an array of capability names, got \"CAP_CHOWN\"");
}

static void test_failure_action_malformed(void **state)
{
    (void)state;
    expect_error("failure_action_bad.json",
                 ": failure_policies.on_crash: expected ignore, kill, restart, rollback, signal:NAME or fallback:POLICY, got \"explode\"");
    expect_error("failure_action_bad_signal.json",
                 ": failure_policies.on_timeout: expected ignore, kill, restart, rollback, signal:NAME or fallback:POLICY, got \"signal:BOGUS\"");
    expect_error("failure_action_empty_fallback.json",
                 ": failure_policies.on_oom: expected ignore, kill, restart, rollback, signal:NAME or fallback:POLICY, got \"fallback:\"");
}

static void test_required_fields(void **state)
{
    (void)state;
    expect_error("no_version.json", ": version: required field is missing");
    expect_error("handler_no_command.json", ": interpreter.handlers[0].command: required field is missing");
    expect_error("tmpfs_no_path.json", ": filesystem.tmpfs[0].path: required field is missing");
    expect_error("rule_no_action.json", ": seccomp.rules[0].action: required field is missing");
    expect_error("arg_no_op.json", ": seccomp.rules[0].args[0].op: required field is missing");
}

/* ---- rules across fields -------------------------------------------------------------------- */

static void test_same_syscall_in_two_lists(void **state)
{
    (void)state;
    expect_error("same_in_allow_and_deny.json",
                 ": seccomp.deny[0]: \"ptrace\" is also named in seccomp.allow: a syscall can be named in "
                 "only one of seccomp.allow, seccomp.deny and seccomp.kill");
    expect_error("same_in_deny_and_kill.json",
                 ": seccomp.kill[0]: \"keyctl\" is also named in seccomp.deny: a syscall can be named in "
                 "only one of seccomp.allow, seccomp.deny and seccomp.kill");
    /* through a group it is fine: precedence settles it */
    policy_free(load_ok(FIX "group_overlap_ok.json"));
}

static void test_clone3_cannot_be_allowed(void **state)
{
    (void)state;
    expect_error("clone3_allowed.json",
                 ": seccomp.allow[1]: clone3 cannot be allowed: its flags are invisible to seccomp, so gbox "
                 "answers ENOSYS and libc falls back to clone");
}

static void test_fallback_rules(void **state)
{
    (void)state;
    expect_error("fallback_missing.json",
                 ": failure_policies.on_oom: expected fallback:POLICY naming an existing policy, got \"fallback:nope\"");
    expect_error("fallback_self.json", ": failure_policies.on_crash: a policy cannot fall back to itself");
    struct gbox_policy *p = load_ok(FIX "fallback_ok.json"); /* fallback:minimal exists next to it */
    field_is(p, "failure_policies.on_oom", "\"fallback:minimal\"");
    field_is(p, "failure_policies.on_crash", "\"signal:TERM\"");
    policy_free(p);
}

/* "fallback:POLICY names another policy, which must exist": also when POLICY is a file name. */
static void test_fallback_to_missing_file(void **state)
{
    (void)state;
    expect_error("fallback_missing_file.json",
                 ": failure_policies.on_oom: expected fallback:POLICY naming an existing policy, got \"fallback:missing.json\"");
}

/* fallback:POLICY is looked up by file name; a policy whose "name" differs from its file name
 * still must not fall back to its own file. */
static void test_fallback_to_own_file(void **state)
{
    (void)state;
    expect_error("fallback_self_by_file.json", ": failure_policies.on_crash: a policy cannot fall back to itself");
}

static void test_root_needs_allow_root(void **state)
{
    (void)state;
    expect_error("uid_root.json", ": user.uid: expected a non-root uid (set user.allow_root to run as 0), got 0");
    expect_error("gid_root.json", ": user.gid: expected a non-root gid (set user.allow_root to run as 0), got 0");
    struct gbox_policy *p = load_ok(FIX "root_allowed.json");
    field_is(p, "user", "{\"uid\":0,\"gid\":0,\"allow_root\":true,\"namespace\":true}");
    policy_free(p);
}

static void test_hostname_needs_uts(void **state)
{
    (void)state;
    expect_error("hostname_without_uts.json",
                 ": hostname: a hostname needs its own uts namespace: set it to null or namespaces.uts to true");
    policy_free(load_ok(FIX "no_uts_no_hostname.json"));
}

static void test_memory_high_above_max(void **state)
{
    (void)state;
    expect_error("memory_high_above_max.json",
                 ": resources.memory.high: expected at most resources.memory.max (268435456 bytes), got 536870912");
    policy_free(load_ok(FIX "memory_high_equal.json"));
    policy_free(load_ok(FIX "memory_high_no_max.json")); /* no max: any high */
}

static void test_handler_rules(void **state)
{
    (void)state;
    expect_error("handler_no_program.json",
                 ": interpreter.handlers[0].command: expected exactly one element to be \"{program}\", got 0");
    expect_error("handler_relative.json",
                 ": interpreter.handlers[0].command: expected the interpreter as an absolute path inside the image, got \"python3\"");
    expect_error("handler_duplicate_extension.json",
                 ": interpreter.handlers[2].extensions[1]: \".sh\" is already handled by interpreter.handlers[0]");
}

/* schema.json: "exactly one element must be "{program}"". */
static void test_handler_program_exactly_once(void **state)
{
    (void)state;
    expect_error_prefix("handler_two_programs.json", ": interpreter.handlers[0].command: ");
}

static void test_tmpfs_rules(void **state)
{
    (void)state;
    expect_error("tmpfs_root.json",
                 ": filesystem.tmpfs[0].path: expected a directory below /, got \"/\" (use filesystem.readonly_root)");
    expect_error("tmpfs_duplicate.json", ": filesystem.tmpfs[2].path: \"/tmp\" is already a tmpfs (filesystem.tmpfs[0])");
}

static void test_masked_eq_needs_mask(void **state)
{
    (void)state;
    expect_error("masked_eq_no_mask.json", ": seccomp.rules[0].args[0].mask: expected an integer mask with op \"masked_eq\"");
    expect_error("masked_eq_null_mask.json", ": seccomp.rules[0].args[1].mask: expected an integer mask with op \"masked_eq\"");
}

static void test_one_comparison_per_argument(void **state)
{
    (void)state;
    expect_error("two_comparisons_same_arg.json",
                 ": seccomp.rules[0].args[1]: argument 1 is already compared in this rule (one comparison per argument)");
}

static void test_rule_that_can_never_take_effect(void **state)
{
    (void)state;
    expect_error("rule_never_takes_effect.json",
                 ": seccomp.rules[0]: the allow rule for keyctl can never take effect: seccomp.deny already gives it "
                 "errno:EPERM unconditionally (remove keyctl from that list so the rule falls through to the default action)");
    expect_error("rule_on_killed_syscall.json",
                 ": seccomp.rules[0]: the errno:EPERM rule for ptrace can never take effect: seccomp.kill already gives it "
                 "kill unconditionally (remove ptrace from that list so the rule falls through to the default action)");
}

static int setup(void **state)
{
    (void)state;
    setenv("GBOX_POLICY_DIR", "policies", 1);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_policy_loads),
        cmocka_unit_test(test_defaults_filled_from_schema),
        cmocka_unit_test(test_accessors),
        cmocka_unit_test(test_defaults_filled_in_array_items),
        cmocka_unit_test(test_nullable_fields_accept_null),
        cmocka_unit_test(test_load_by_name_uses_policy_dir),
        cmocka_unit_test(test_load_missing_policy),
        cmocka_unit_test(test_policy_arg_is_file),
        cmocka_unit_test(test_policy_path),
        cmocka_unit_test(test_child_overrides_scalar),
        cmocka_unit_test(test_child_deep_merges_objects),
        cmocka_unit_test(test_child_replaces_arrays),
        cmocka_unit_test(test_child_merges_map_per_key),
        cmocka_unit_test(test_name_not_inherited),
        cmocka_unit_test(test_extends_relative_path),
        cmocka_unit_test(test_extends_name_resolved_in_own_directory),
        cmocka_unit_test(test_extends_cycles),
        cmocka_unit_test(test_extends_missing_policy),
        cmocka_unit_test(test_extends_missing_file),
        cmocka_unit_test(test_extends_invalid_parent),
        cmocka_unit_test(test_version_inherited_or_required),
        cmocka_unit_test(test_extends_depth_limit),
        cmocka_unit_test(test_all_real_policies_load),
        cmocka_unit_test(test_real_policy_inherits_base),
        cmocka_unit_test(test_syntax_error_has_line_and_column),
        cmocka_unit_test(test_duplicate_keys_rejected),
        cmocka_unit_test(test_top_level_not_object),
        cmocka_unit_test(test_unknown_field),
        cmocka_unit_test(test_wrong_type),
        cmocka_unit_test(test_int_below_min),
        cmocka_unit_test(test_int_above_max),
        cmocka_unit_test(test_int_above_max_shows_exact_value),
        cmocka_unit_test(test_number_out_of_range),
        cmocka_unit_test(test_size_bad),
        cmocka_unit_test(test_size_below_min),
        cmocka_unit_test(test_duration_bad),
        cmocka_unit_test(test_enum_unknown_value),
        cmocka_unit_test(test_pattern_mismatch),
        cmocka_unit_test(test_path_rules),
        cmocka_unit_test(test_const_field),
        cmocka_unit_test(test_null_only_where_nullable),
        cmocka_unit_test(test_array_item_counts),
        cmocka_unit_test(test_unknown_syscall),
        cmocka_unit_test(test_unknown_group),
        cmocka_unit_test(test_group_in_rule_rejected),
        cmocka_unit_test(test_action_malformed),
        cmocka_unit_test(test_capability_unknown),
        cmocka_unit_test(test_failure_action_malformed),
        cmocka_unit_test(test_required_fields),
        cmocka_unit_test(test_same_syscall_in_two_lists),
        cmocka_unit_test(test_clone3_cannot_be_allowed),
        cmocka_unit_test(test_fallback_rules),
        cmocka_unit_test(test_fallback_to_missing_file),
        cmocka_unit_test(test_fallback_to_own_file),
        cmocka_unit_test(test_root_needs_allow_root),
        cmocka_unit_test(test_hostname_needs_uts),
        cmocka_unit_test(test_memory_high_above_max),
        cmocka_unit_test(test_handler_rules),
        cmocka_unit_test(test_handler_program_exactly_once),
        cmocka_unit_test(test_tmpfs_rules),
        cmocka_unit_test(test_masked_eq_needs_mask),
        cmocka_unit_test(test_one_comparison_per_argument),
        cmocka_unit_test(test_rule_that_can_never_take_effect),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
