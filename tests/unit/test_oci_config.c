/* test_oci_config.c — config.json fields of issue #8's second part: namespaces to join, id maps
 * with several ranges, in-container hooks, supplementary groups, devices, domainname, and the
 * `update --resources` object (which fields are given). Every refusal names file, field, why. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../runtime/oci_config.h"

#include <sched.h>
#include <stdio.h>
#include <string.h>

/* A valid config with `linux` and `extra` (top-level members) spliced in; root is "/". */
static char *config(const char *linux_members, const char *extra)
{
    static char buf[8192];
    snprintf(buf, sizeof(buf),
             "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"/\"},"
             "\"process\":{\"args\":[\"/bin/sh\"],\"cwd\":\"/\",\"user\":{\"uid\":0,\"gid\":0}},"
             "\"linux\":{\"namespaces\":[{\"type\":\"mount\"}]%s}%s}",
             linux_members, extra);
    return buf;
}

/* like config(), but namespaces given whole */
static char *config_ns(const char *namespaces, const char *linux_rest, const char *extra)
{
    static char buf[8192];
    snprintf(buf, sizeof(buf),
             "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"/\"},"
             "\"process\":{\"args\":[\"/bin/sh\"],\"cwd\":\"/\",\"user\":{\"uid\":0,\"gid\":0}},"
             "\"linux\":{\"namespaces\":[%s]%s}%s}",
             namespaces, linux_rest, extra);
    return buf;
}

static void parse_ok(const char *text, struct oci_config *c)
{
    struct sbx_err *err = NULL;
    if (oci_config_parse(text, strlen(text), "cfg.json", "/", "/tmp", c, &err) != 0)
        fail_msg("rejected: %s\n%s", err ? err->msg : "?", text);
}

static void parse_bad(const char *text, const char *want)
{
    struct oci_config c;
    struct sbx_err *err = NULL;
    int rc = oci_config_parse(text, strlen(text), "cfg.json", "/", "/tmp", &c, &err);
    oci_config_free(&c);
    if (rc == 0)
        fail_msg("accepted, expected \"%s\"\n%s", want, text);
    if (!err || !strstr(err->msg, want))
        fail_msg("message \"%s\" lacks \"%s\"", err ? err->msg : "(none)", want);
    assert_int_equal(err->code, GBOX_EXIT_USAGE);
    sbx_err_free(&err);
}

static void test_namespace_joins(void **state)
{
    (void)state;
    struct oci_config c;
    parse_ok(config_ns("{\"type\":\"mount\"},{\"type\":\"user\",\"path\":\"/proc/1/ns/user\"},"
                       "{\"type\":\"pid\",\"path\":\"/proc/1/ns/pid\"},{\"type\":\"cgroup\",\"path\":\"/proc/1/ns/cgroup\"},"
                       "{\"type\":\"network\",\"path\":\"/run/netns/x\"}",
                       "", ""),
             &c);
    assert_int_equal(c.spec.ns_flags, CLONE_NEWNS);
    assert_int_equal(c.spec.n_ns_join, 4);
    assert_int_equal(c.spec.ns_join[0].type, CLONE_NEWUSER);
    assert_string_equal(c.spec.ns_join[0].path, "/proc/1/ns/user");
    assert_int_equal(c.spec.ns_join[1].type, CLONE_NEWPID);
    assert_int_equal(c.spec.ns_join[2].type, CLONE_NEWCGROUP);
    assert_int_equal(c.spec.ns_join[3].type, CLONE_NEWNET);
    oci_config_free(&c);
    parse_bad(config_ns("{\"type\":\"mount\",\"path\":\"/proc/1/ns/mnt\"}", "", ""),
              "cfg.json: linux.namespaces[0].path: joining an existing mount namespace is not supported");
    parse_bad(config_ns("{\"type\":\"mount\"},{\"type\":\"user\",\"path\":\"/proc/1/ns/user\"}",
                        ",\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}],"
                        "\"gidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}]", ""),
              "cfg.json: linux.uidMappings: mappings with a joined user namespace");
    parse_bad(config_ns("{\"type\":\"mount\"},{\"type\":\"user\"},{\"type\":\"pid\",\"path\":\"/proc/1/ns/pid\"}",
                        ",\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}],"
                        "\"gidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}]", ""),
              "joining a namespace with a new user namespace");
}

static void test_idmap_ranges(void **state)
{
    (void)state;
    const char *ns = "{\"type\":\"mount\"},{\"type\":\"user\"}";
    struct oci_config c;
    parse_ok(config_ns(ns, ",\"uidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":1000},"
                           "{\"containerID\":1000,\"hostID\":300000,\"size\":5}],"
                           "\"gidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":10}]", ""),
             &c);
    assert_int_equal(c.spec.uid_map.outside, 100000);
    assert_int_equal(c.spec.n_uid_more, 1);
    assert_int_equal(c.spec.uid_more[0].inside, 1000);
    assert_int_equal(c.spec.uid_more[0].outside, 300000);
    assert_int_equal(c.spec.uid_more[0].count, 5);
    assert_int_equal(c.spec.n_gid_more, 0);
    oci_config_free(&c);
    /* overlapping inside, then outside */
    parse_bad(config_ns(ns, ",\"uidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":1000},"
                            "{\"containerID\":999,\"hostID\":300000,\"size\":5}],"
                            "\"gidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":10}]", ""),
              "cfg.json: linux.uidMappings[1]: expected a range overlapping no other (it overlaps linux.uidMappings[0]");
    parse_bad(config_ns(ns, ",\"uidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":10}],"
                            "\"gidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":10},"
                            "{\"containerID\":10,\"hostID\":100009,\"size\":1}]", ""),
              "cfg.json: linux.gidMappings[1]: expected a range overlapping no other");
}

static void test_in_container_hooks(void **state)
{
    (void)state;
    struct oci_config c;
    parse_ok(config("", ",\"hooks\":{\"createContainer\":[{\"path\":\"/usr/bin/x\",\"args\":[\"x\",\"1\"],"
                        "\"timeout\":5}],\"startContainer\":[{\"path\":\"/bin/y\"},{\"path\":\"/bin/z\"}]}"),
             &c);
    assert_int_equal(c.n_hooks[OCI_HOOK_CREATE_CONTAINER], 1);
    assert_string_equal(c.hooks[OCI_HOOK_CREATE_CONTAINER][0].path, "/usr/bin/x");
    assert_string_equal(c.hooks[OCI_HOOK_CREATE_CONTAINER][0].args[1], "1");
    assert_int_equal(c.hooks[OCI_HOOK_CREATE_CONTAINER][0].timeout, 5);
    assert_int_equal(c.n_hooks[OCI_HOOK_START_CONTAINER], 2);
    assert_string_equal(c.hooks[OCI_HOOK_START_CONTAINER][0].args[0], "/bin/y");
    oci_config_free(&c);
    parse_bad(config("", ",\"hooks\":{\"startContainer\":[{\"path\":\"y\"}]}"),
              "cfg.json: hooks.startContainer[0].path: expected an absolute path");
    parse_bad(config("", ",\"hooks\":{\"createContainer\":[{\"path\":\"/y\",\"timeout\":0}]}"),
              "cfg.json: hooks.createContainer[0].timeout");
}

static void test_groups_domainname_devices(void **state)
{
    (void)state;
    struct oci_config c;
    char text[8192];
    snprintf(text, sizeof(text), "%s", config(",\"devices\":[{\"path\":\"/dev/null\",\"type\":\"c\",\"major\":1,\"minor\":3}]", ""));
    char *u = strstr(text, "\"user\":{\"uid\":0,\"gid\":0}");
    assert_non_null(u);
    const char *with_groups = "\"user\":{\"uid\":5,\"gid\":7,\"additionalGids\":[7,9,11,9]}";
    char out[8192];
    snprintf(out, sizeof(out), "%.*s%s%s", (int)(u - text), text, with_groups, u + strlen("\"user\":{\"uid\":0,\"gid\":0}"));
    parse_ok(out, &c);
    assert_int_equal(c.spec.n_groups, 2); /* the primary gid and the repeat are left out */
    assert_int_equal(c.spec.groups[0], 9);
    assert_int_equal(c.spec.groups[1], 11);
    assert_int_equal(c.n_devices, 0);     /* /dev/null is one of gbox's own */
    oci_config_free(&c);
    parse_bad(config(",\"devices\":[{\"path\":\"/dev/gbox-no-such-device\",\"type\":\"c\",\"major\":10,\"minor\":200}]", ""),
              "cfg.json: linux.devices[0]: the host has no character device 10:200 at /dev/gbox-no-such-device");
    parse_bad(config(",\"devices\":[{\"path\":\"/dev/fifo\",\"type\":\"p\"}]", ""),
              "cfg.json: linux.devices[0].type: expected c, u or b (fifos are not supported)");
    parse_bad(config(",\"devices\":[{\"path\":\"/etc/passwd\",\"type\":\"c\",\"major\":1,\"minor\":3}]", ""),
              "cfg.json: linux.devices[0].path: expected an absolute path under /dev");
    parse_bad(config("", ",\"domainname\":\"example\""), "cfg.json: domainname: setting it needs a uts namespace");
    parse_ok(config_ns("{\"type\":\"mount\"},{\"type\":\"uts\"}", "", ",\"domainname\":\"example\""), &c);
    assert_string_equal(c.spec.domainname, "example");
    oci_config_free(&c);
}

static void test_blkio(void **state)
{
    (void)state;
    struct oci_config c;
    parse_ok(config(",\"resources\":{\"blockIO\":{\"weight\":300,"
                    "\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":1000}],"
                    "\"throttleWriteIOPSDevice\":[{\"major\":8,\"minor\":0,\"rate\":50},{\"major\":8,\"minor\":16,\"rate\":7}],"
                    "\"throttleWriteBpsDevice\":[{\"major\":8,\"minor\":16,\"rate\":0}]}}", ""),
             &c);
    const struct sbx_cgroup_limits *l = &c.spec.limits;
    assert_int_equal(l->io_weight, 300);
    assert_int_equal(l->n_io, 2); /* merged per device; rate 0 is no limit */
    assert_int_equal(l->io[0].major, 8);
    assert_int_equal(l->io[0].minor, 0);
    assert_int_equal(l->io[0].read_bps, 1000);
    assert_int_equal(l->io[0].write_iops, 50);
    assert_int_equal(l->io[0].write_bps, -1);
    assert_int_equal(l->io[1].minor, 16);
    assert_int_equal(l->io[1].write_iops, 7);
    assert_int_equal(l->io[1].write_bps, -1);
    oci_config_free(&c);
    parse_bad(config(",\"resources\":{\"blockIO\":{\"leafWeight\":300}}", ""),
              "cfg.json: linux.resources.blockIO.leafWeight: not supported");
    parse_bad(config(",\"resources\":{\"blockIO\":{\"weight\":1}}", ""), "cfg.json: linux.resources.blockIO.weight: expected");
    parse_bad(config(",\"resources\":{\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":8,\"rate\":1}]}}", ""),
              "cfg.json: linux.resources.blockIO.throttleReadBpsDevice[0]: major, minor and rate are required");
}

/* update --resources: only what the object names is "given"; the checks of config.json apply */
static void test_update_parse(void **state)
{
    (void)state;
    struct sbx_cgroup_set set;
    struct sbx_err *err = NULL;
    json_t *r = json_loads("{\"cpu\":{\"shares\":256,\"cpus\":\"0-1\"},\"memory\":{\"swappiness\":10},"
                           "\"blockIO\":{\"weight\":500}}", 0, NULL);
    assert_int_equal(oci_update_parse(r, "r.json", &set, &err), 0);
    assert_true(set.shares);
    assert_int_equal(set.cpu_shares, 256);
    assert_false(set.quota);
    assert_false(set.period);
    assert_false(set.memory);
    assert_false(set.pids);
    assert_true(set.swappiness);
    assert_int_equal(set.memory_swappiness, 10);
    assert_true(set.weight);
    assert_int_equal(set.io_weight, 500);
    assert_string_equal(set.cpuset_cpus, "0-1");
    assert_null(set.cpuset_mems);
    free((char *)set.cpuset_cpus);
    json_decref(r);
    r = json_loads("{\"memory\":{\"limit\":-1,\"swap\":-1},\"pids\":{\"limit\":-1},\"cpu\":{\"quota\":-1}}", 0, NULL);
    assert_int_equal(oci_update_parse(r, "r.json", &set, &err), 0);
    assert_true(set.memory && set.swap && set.pids && set.quota);
    assert_int_equal(set.memory_max, -1);
    assert_int_equal(set.swap_max, -1);
    assert_int_equal(set.pids_max, -1);
    assert_int_equal(set.cpu_quota_us, -1);
    json_decref(r);
    static const struct {
        const char *json, *want;
    } bad[] = {
        {"{\"cpu\":{\"shares\":1}}", "r.json: linux.resources.cpu.shares: expected"},
        {"{\"blockIO\":{\"weight\":5}}", "r.json: linux.resources.blockIO.weight: expected"},
        {"{\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":1}]}}",
         "r.json: linux.resources.blockIO.throttleReadBpsDevice: not supported by update (weight is)"},
        {"{\"memory\":{\"kernel\":1}}", "r.json: linux.resources.memory.kernel"},
        {"{\"bogus\":{}}", "r.json: linux.resources.bogus"},
        {"[]", "r.json: (top level)"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = json_loads(bad[i].json, 0, NULL);
        assert_non_null(r);
        int rc = oci_update_parse(r, "r.json", &set, &err);
        json_decref(r);
        if (rc == 0)
            fail_msg("%s accepted", bad[i].json);
        if (!err || !strstr(err->msg, bad[i].want))
            fail_msg("%s: message \"%s\" lacks \"%s\"", bad[i].json, err ? err->msg : "(none)", bad[i].want);
        sbx_err_free(&err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_namespace_joins),
        cmocka_unit_test(test_idmap_ranges),
        cmocka_unit_test(test_in_container_hooks),
        cmocka_unit_test(test_groups_domainname_devices),
        cmocka_unit_test(test_blkio),
        cmocka_unit_test(test_update_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
