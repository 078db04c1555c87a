/* test_netaddr.c — IPv4 addresses, networks and port ranges as policies write them; the veth
 * subnet pool (distinct subnets, fixed subnets that collide, reclaim of dead owners'
 * records, exhaustion); the nftables script of an egress allowlist. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../runtime/netaddr.h"
#include "../../sandbox/internal.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static uint32_t A(const char *s)
{
    struct in_addr a;
    if (inet_pton(AF_INET, s, &a) != 1)
        fail_msg("bad test address %s", s);
    return a.s_addr;
}

static void test_ipv4_parse(void **state)
{
    (void)state;
    uint32_t a = 7;
    assert_int_equal(ipv4_parse("10.200.0.2", &a), 0);
    assert_int_equal(a, A("10.200.0.2"));
    assert_int_equal(ipv4_parse("0.0.0.0", &a), 0);
    assert_int_equal(ipv4_parse("255.255.255.255", &a), 0);
    assert_int_equal(a, A("255.255.255.255"));
    static const char *const bad[] = {"", "10.200.0", "10.200.0.2.1", "256.0.0.1", "10.200.0.02",
                                      "10.200.0.2 ", " 10.200.0.2", "10..0.2", "a.b.c.d", "10.200.0.2/30",
                                      "-1.0.0.0", "1.2.3.99999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        a = 7;
        if (ipv4_parse(bad[i], &a) != -1)
            fail_msg("ipv4_parse(\"%s\") accepted", bad[i]);
        assert_int_equal(a, 7);
    }
    assert_int_equal(ipv4_parse(NULL, &a), -1);
}

static void test_cidr_parse(void **state)
{
    (void)state;
    uint32_t a;
    unsigned p;
    assert_int_equal(cidr_parse("10.200.0.0/16", &a, &p), 0);
    assert_int_equal(a, A("10.200.0.0"));
    assert_int_equal(p, 16);
    assert_int_equal(cidr_parse("0.0.0.0/0", &a, &p), 0);
    assert_int_equal(p, 0);
    assert_int_equal(cidr_parse("1.2.3.4/32", &a, &p), 0);
    assert_int_equal(p, 32);
    assert_int_equal(cidr_parse("10.0.0.0/33", &a, &p), -1);
    assert_int_equal(cidr_parse("10.0.0.0/", &a, &p), -1);
    assert_int_equal(cidr_parse("10.0.0.0", &a, &p), -1);
    assert_int_equal(cidr_parse("10.0.0.0/08", &a, &p), -1);
    assert_int_equal(cidr_parse("10.0.0.0/8x", &a, &p), -1);
    assert_true(cidr_is_network(A("10.200.0.0"), 16));
    assert_false(cidr_is_network(A("10.200.0.1"), 16));
    assert_true(cidr_is_network(A("0.0.0.0"), 0));
    assert_true(cidr_is_network(A("1.2.3.4"), 32));
}

static void test_cidr_math(void **state)
{
    (void)state;
    assert_int_equal(ipv4_mask(0), 0);
    assert_int_equal(ipv4_mask(30), A("255.255.255.252"));
    assert_int_equal(ipv4_mask(32), A("255.255.255.255"));
    assert_true(cidr_overlap(A("10.0.0.0"), 8, A("10.200.0.4"), 30));
    assert_false(cidr_overlap(A("10.200.0.0"), 30, A("10.200.0.4"), 30));
    assert_true(cidr_contains(A("10.200.0.4"), 30, A("10.200.0.7")));
    assert_false(cidr_contains(A("10.200.0.4"), 30, A("10.200.0.8")));
    /* /30: only the two middle addresses are usable; /31: both */
    assert_false(cidr_usable(A("10.0.0.0"), 30, A("10.0.0.0")));
    assert_true(cidr_usable(A("10.0.0.0"), 30, A("10.0.0.1")));
    assert_true(cidr_usable(A("10.0.0.0"), 30, A("10.0.0.2")));
    assert_false(cidr_usable(A("10.0.0.0"), 30, A("10.0.0.3")));
    assert_true(cidr_usable(A("10.0.0.0"), 31, A("10.0.0.0")));
    assert_true(cidr_usable(A("10.0.0.0"), 31, A("10.0.0.1")));
    assert_int_equal(cidr_peer(A("10.0.0.0"), 30, A("10.0.0.2")), A("10.0.0.1"));
    assert_int_equal(cidr_peer(A("10.0.0.0"), 30, A("10.0.0.1")), A("10.0.0.2"));
    assert_int_equal(cidr_peer(A("10.0.0.0"), 31, A("10.0.0.1")), A("10.0.0.0"));
    assert_int_equal(cidr_peer(A("10.0.0.0"), 24, A("10.0.0.77")), A("10.0.0.1"));
    char b[16];
    assert_string_equal(ipv4_str(A("192.0.2.255"), b, sizeof(b)), "192.0.2.255");
}

static void test_port_range(void **state)
{
    (void)state;
    uint16_t lo = 0, hi = 0;
    assert_int_equal(port_range_parse("443", &lo, &hi), 0);
    assert_int_equal(lo, 443);
    assert_int_equal(hi, 443);
    assert_int_equal(port_range_parse("8000-8099", &lo, &hi), 0);
    assert_int_equal(lo, 8000);
    assert_int_equal(hi, 8099);
    assert_int_equal(port_range_parse("1-65535", &lo, &hi), 0);
    static const char *const bad[] = {"0", "65536", "10-9", "-1", "1-", "1--2", "80 ", "http", "", "080"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (port_range_parse(bad[i], &lo, &hi) != -1)
            fail_msg("port_range_parse(\"%s\") accepted", bad[i]);
}

/* ---- the pool ---- */

static char *tmpdir(void)
{
    char *d = strdup("/tmp/gbox-netpool-XXXXXX");
    if (!d || !mkdtemp(d))
        fail_msg("mkdtemp");
    return d;
}

static void rmtree(char *d)
{
    DIR *dir = opendir(d);
    struct dirent *de;
    while (dir && (de = readdir(dir))) {
        char p[600];
        snprintf(p, sizeof(p), "%s/%s", d, de->d_name);
        if (de->d_name[0] != '.')
            unlink(p);
    }
    if (dir)
        closedir(dir);
    rmdir(d);
    free(d);
}

static uint32_t take(const char *dir, const char *pool, unsigned prefix, struct net_lease *l)
{
    uint32_t net, sub = 0;
    unsigned pp;
    struct sbx_err *err = NULL;
    assert_int_equal(cidr_parse(pool, &net, &pp), 0);
    if (netpool_acquire(dir, net, pp, prefix, NULL, "gbtest", &sub, l, &err) < 0)
        fail_msg("acquire: %s", err->msg);
    return sub;
}

static void test_pool_distinct(void **state)
{
    (void)state;
    char *d = tmpdir();
    struct net_lease l[4];
    assert_int_equal(take(d, "10.200.0.0/16", 30, &l[0]), A("10.200.0.0"));
    assert_int_equal(take(d, "10.200.0.0/16", 30, &l[1]), A("10.200.0.4"));
    assert_int_equal(take(d, "10.200.0.0/16", 31, &l[2]), A("10.200.0.8"));
    netpool_release(&l[1]);
    /* the freed subnet is the first free one again */
    assert_int_equal(take(d, "10.200.0.0/16", 30, &l[1]), A("10.200.0.4"));
    /* a /24 from an overlapping pool skips everything the /30s hold */
    assert_int_equal(take(d, "10.200.0.0/16", 24, &l[3]), A("10.200.1.0"));
    for (int i = 0; i < 4; i++)
        netpool_release(&l[i]);
    assert_int_equal(take(d, "10.200.0.0/16", 30, &l[0]), A("10.200.0.0"));
    netpool_release(&l[0]);
    rmtree(d);
}

static void test_pool_fixed_collides(void **state)
{
    (void)state;
    char *d = tmpdir();
    struct net_lease l1, l2;
    struct sbx_err *err = NULL;
    uint32_t sub, fixed = A("10.200.0.4");
    take(d, "10.200.0.0/16", 30, &l1);
    take(d, "10.200.0.0/16", 30, &l2); /* 10.200.0.4/30 */
    struct net_lease l3;
    assert_int_equal(netpool_acquire(d, A("10.200.0.0"), 16, 30, &fixed, "gbx", &sub, &l3, &err), -1);
    assert_non_null(strstr(err->msg, "network.address: subnet 10.200.0.4/30 is in use by the sandbox of gbox pid"));
    sbx_err_free(&err);
    netpool_release(&l2);
    assert_int_equal(netpool_acquire(d, A("10.200.0.0"), 16, 30, &fixed, "gbx", &sub, &l3, &err), 0);
    assert_int_equal(sub, fixed);
    /* and the pool now steps over it */
    assert_int_equal(take(d, "10.200.0.0/16", 30, &l2), A("10.200.0.8"));
    netpool_release(&l1);
    netpool_release(&l2);
    netpool_release(&l3);
    rmtree(d);
}

static void test_pool_reclaims_dead_owner(void **state)
{
    (void)state;
    char *d = tmpdir();
    pid_t dead = fork();
    if (dead == 0)
        _exit(0);
    waitpid(dead, NULL, 0);
    char p[600];
    snprintf(p, sizeof(p), "%s/10.200.0.0_30", d);
    FILE *f = fopen(p, "w");
    fprintf(f, "%d 12345 gb%d-0\n", (int)dead, (int)dead);
    fclose(f);
    /* a live pid with the wrong start time is a reused pid: stale too */
    snprintf(p, sizeof(p), "%s/10.200.0.4_30", d);
    f = fopen(p, "w");
    fprintf(f, "%d 1 gb%d-0\n", (int)getpid(), (int)getpid());
    fclose(f);
    struct net_lease l;
    assert_int_equal(take(d, "10.200.0.0/16", 30, &l), A("10.200.0.0"));
    assert_int_equal(access(p, F_OK), -1);
    netpool_release(&l);
    rmtree(d);
}

static void test_pool_exhausted(void **state)
{
    (void)state;
    char *d = tmpdir();
    struct net_lease l[2], l3;
    take(d, "192.0.2.0/30", 31, &l[0]);
    take(d, "192.0.2.0/30", 31, &l[1]);
    uint32_t sub;
    struct sbx_err *err = NULL;
    assert_int_equal(netpool_acquire(d, A("192.0.2.0"), 30, 31, NULL, "gbx", &sub, &l3, &err), -1);
    assert_string_equal(err->msg, "network.pool 192.0.2.0/30: no free /31 subnet left (2 held by running sandboxes)");
    sbx_err_free(&err);
    netpool_release(&l[0]);
    netpool_release(&l[1]);
    rmtree(d);
}

/* ---- nftables ---- */

static void test_nft_ruleset(void **state)
{
    (void)state;
    struct sbx_egress_rule r[] = {
        {A("10.200.0.1"), 32, SBX_PROTO_TCP, 8080, 8080},
        {A("192.0.2.0"), 24, SBX_PROTO_UDP, 5000, 5099},
        {A("198.51.100.0"), 24, SBX_PROTO_ICMP, 0, 0},
        {A("203.0.113.0"), 24, SBX_PROTO_ANY, 0, 0},
        {A("0.0.0.0"), 0, SBX_PROTO_TCP, 0, 0},
    };
    struct sbx_veth v = {.egress_filter = true, .egress = r, .n_egress = 5};
    char buf[2048];
    assert_true(sbx_nft_ruleset(&v, buf, sizeof(buf)) > 0);
    assert_string_equal(buf,
        "add table inet gbox\n"
        "add chain inet gbox egress { type filter hook output priority 0; policy drop; }\n"
        "add rule inet gbox egress ct state established,related accept\n"
        "add rule inet gbox egress oifname \"lo\" accept\n"
        "add rule inet gbox egress ip daddr 10.200.0.1/32 tcp dport 8080 accept\n"
        "add rule inet gbox egress ip daddr 192.0.2.0/24 udp dport 5000-5099 accept\n"
        "add rule inet gbox egress ip daddr 198.51.100.0/24 ip protocol icmp accept\n"
        "add rule inet gbox egress ip daddr 203.0.113.0/24 accept\n"
        "add rule inet gbox egress ip daddr 0.0.0.0/0 ip protocol tcp accept\n"
        "add rule inet gbox egress reject with icmpx type admin-prohibited\n");
    /* too small a buffer is an error, not a truncated rule set */
    assert_int_equal(sbx_nft_ruleset(&v, buf, 100), -1);
    /* an empty allowlist lets only replies and lo out */
    v.n_egress = 0;
    assert_true(sbx_nft_ruleset(&v, buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "oifname \"lo\" accept\nadd rule inet gbox egress reject"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_parse),
        cmocka_unit_test(test_cidr_parse),
        cmocka_unit_test(test_cidr_math),
        cmocka_unit_test(test_port_range),
        cmocka_unit_test(test_pool_distinct),
        cmocka_unit_test(test_pool_fixed_collides),
        cmocka_unit_test(test_pool_reclaims_dead_owner),
        cmocka_unit_test(test_pool_exhausted),
        cmocka_unit_test(test_nft_ruleset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
