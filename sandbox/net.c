/* net.c — the sandbox's network namespace.
 *
 * `none`: a new namespace with nothing up, not even lo. `loopback`: lo brought up through
 * rtnetlink (libnl-route), no `ip` binary involved. `host`: no new namespace at all (decided by
 * the plan's ns_flags). `veth`: lo plus a veth pair between gbox's own namespace and the
 * sandbox's, split between the two processes like this:
 *
 *   parent, before clone (sbx_net_prepare): a netlink socket in gbox's own namespace (it stays
 *       bound to it whatever happens later), and the sweep of host ends left by dead gbox
 *       processes;
 *   parent, after clone and before "go" (sbx_net_from_parent): one RTM_NEWLINK creates the pair
 *       with the peer born directly inside the child's namespace (IFLA_NET_NS_PID of the child,
 *       which cannot be reused while we have not reaped it), so there is no moment where both
 *       ends are in our namespace; then the host end gets its address and goes up;
 *   child, after "go" (sbx_net_in_child): lo up, the address, the link up, the default route,
 *       and the egress allowlist (nft.c), as root of the user namespace that owns its network
 *       namespace — before the capabilities are dropped, so the program cannot undo any of it;
 *   parent, on every exit path (sbx_net_release): delete the host end, which deletes the pair.
 *       The kernel would remove it with the namespace too, but asynchronously: deleting it
 *       ourselves means the address is free again when gbox returns.
 */
#include "internal.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/inet6.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct sbx_net {
    struct nl_sock *sk;       /* NETLINK_ROUTE in gbox's own namespace */
    const struct sbx_veth *v;
    bool created;             /* the pair exists and is ours to delete */
};

static struct nl_sock *rtnl_open(void)
{
    struct nl_sock *sk = nl_socket_alloc();
    if (sk && nl_connect(sk, NETLINK_ROUTE) < 0) {
        nl_socket_free(sk);
        return NULL;
    }
    return sk;
}

static struct nl_addr *addr4(uint32_t a, unsigned prefix)
{
    struct nl_addr *n = nl_addr_build(AF_INET, &a, sizeof(a));
    if (n)
        nl_addr_set_prefixlen(n, (int)prefix);
    return n;
}

/* Change a link: up (and with addrgenmode none first, so IPv6 never gets a link-local address
 * on it: the veth carries IPv4 only, and the egress allowlist is IPv4). Two messages: do_setlink
 * applies the flags before IFLA_AF_SPEC, so one message would bring the link up with the
 * default mode and only linkwatch's delay would keep the link-local address away. */
static int link_up(struct nl_sock *sk, struct rtnl_link *link, bool no_ipv6)
{
    struct rtnl_link *change = rtnl_link_alloc();
    if (!change)
        return -NLE_NOMEM;
    int rc = 0;
    if (no_ipv6 && rtnl_link_inet6_set_addr_gen_mode(change, rtnl_link_inet6_str2addrgenmode("none")) == 0) {
        rc = rtnl_link_change(sk, link, change, 0);
        if (rc == -NLE_OPNOTSUPP || rc == -NLE_AF_NOSUPPORT)
            rc = 0; /* no IPv6 in this kernel: nothing to turn off */
        rtnl_link_put(change);
        if (rc < 0 || !(change = rtnl_link_alloc()))
            return rc < 0 ? rc : -NLE_NOMEM;
    }
    rtnl_link_set_flags(change, IFF_UP);
    rc = rtnl_link_change(sk, link, change, 0);
    rtnl_link_put(change);
    return rc;
}

static int add_address(struct nl_sock *sk, int ifindex, uint32_t a, unsigned prefix)
{
    struct rtnl_addr *ra = rtnl_addr_alloc();
    struct nl_addr *local = addr4(a, prefix);
    int rc = -NLE_NOMEM;
    if (ra && local) {
        rtnl_addr_set_ifindex(ra, ifindex);
        rtnl_addr_set_family(ra, AF_INET);
        rc = rtnl_addr_set_local(ra, local);
        if (rc == 0)
            rc = rtnl_addr_add(sk, ra, 0);
    }
    if (local)
        nl_addr_put(local);
    if (ra)
        rtnl_addr_put(ra);
    return rc;
}

static int add_default_route(struct nl_sock *sk, int ifindex, uint32_t gw)
{
    struct rtnl_route *r = rtnl_route_alloc();
    struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
    struct nl_addr *dst = addr4(0, 0), *via = addr4(gw, 32);
    int rc = -NLE_NOMEM;
    if (r && nh && dst && via) {
        rtnl_route_set_family(r, AF_INET);
        rtnl_route_set_table(r, RT_TABLE_MAIN);
        rtnl_route_set_protocol(r, RTPROT_BOOT);
        rtnl_route_set_scope(r, RT_SCOPE_UNIVERSE);
        rtnl_route_set_type(r, RTN_UNICAST);
        rc = rtnl_route_set_dst(r, dst);
        rtnl_route_nh_set_ifindex(nh, ifindex);
        rtnl_route_nh_set_gateway(nh, via);
        rtnl_route_add_nexthop(r, nh);
        nh = NULL; /* the route owns it now */
        if (rc == 0)
            rc = rtnl_route_add(sk, r, NLM_F_CREATE | NLM_F_EXCL);
    }
    if (nh)
        rtnl_route_nh_free(nh);
    if (dst)
        nl_addr_put(dst);
    if (via)
        nl_addr_put(via);
    if (r)
        rtnl_route_put(r);
    return rc;
}

static bool is_up(struct nl_sock *sk, const char *name)
{
    struct rtnl_link *l = NULL;
    bool up = false;
    if (rtnl_link_get_kernel(sk, 0, name, &l) == 0) {
        up = rtnl_link_get_flags(l) & IFF_UP;
        rtnl_link_put(l);
    }
    return up;
}

/* ---- parent --------------------------------------------------------------------------------- */

/* Delete host ends gb<pid>-<n> whose gbox is gone. Normally the kernel removes them with the
 * sandbox's namespace, but anything that keeps that namespace alive would keep them too. */
static void sweep_stale(struct nl_sock *sk)
{
    struct nl_cache *cache = NULL;
    if (rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache) < 0)
        return;
    for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
        struct rtnl_link *l = (struct rtnl_link *)o;
        const char *name = rtnl_link_get_name(l);
        int pid;
        unsigned n;
        char tail;
        const char *type = rtnl_link_get_type(l);
        if (!name || sscanf(name, "gb%d-%u%c", &pid, &n, &tail) != 2 || pid <= 0 || !type ||
            strcmp(type, "veth") != 0)
            continue;
        if (kill(pid, 0) == 0 || errno != ESRCH)
            continue;
        rtnl_link_delete(sk, l);
    }
    nl_cache_free(cache);
}

int sbx_net_prepare(const struct sbx_spec *spec, struct sbx_net **out, struct sbx_err **err)
{
    *out = NULL;
    if (spec->net != SBX_NET_VETH)
        return 0;
    struct sbx_net *net = calloc(1, sizeof(*net));
    if (!net)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, ENOMEM, "network");
    net->v = &spec->veth;
    net->sk = rtnl_open();
    if (!net->sk) {
        free(net);
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0, "network: veth: open a netlink socket");
    }
    sweep_stale(net->sk);
    *out = net;
    return 0;
}

int sbx_net_from_parent(struct sbx_net *net, pid_t child, struct sbx_err **err)
{
    if (!net)
        return 0;
    const struct sbx_veth *v = net->v;
    char a[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &v->host_addr, a, sizeof(a));
    int rc = rtnl_link_veth_add(net->sk, v->host_ifname, v->ifname, child);
    if (rc < 0)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0, "network: veth: create %s with its peer %s in the "
                           "sandbox: %s", v->host_ifname, v->ifname, nl_geterror(rc));
    net->created = true;
    struct rtnl_link *host = NULL;
    rc = rtnl_link_get_kernel(net->sk, 0, v->host_ifname, &host);
    const char *step = "find";
    if (rc == 0) {
        step = "set address on";
        rc = add_address(net->sk, rtnl_link_get_ifindex(host), v->host_addr, v->prefix);
    }
    if (rc == 0) {
        step = "bring up";
        rc = link_up(net->sk, host, true);
    }
    if (host)
        rtnl_link_put(host);
    if (rc < 0)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0, "network: veth: %s host end %s (%s/%u): %s", step,
                           v->host_ifname, a, v->prefix, nl_geterror(rc));
    return 0;
}

void sbx_net_release(struct sbx_net **pnet)
{
    struct sbx_net *net = *pnet;
    if (!net)
        return;
    if (net->created) {
        struct rtnl_link *l = rtnl_link_alloc();
        if (l) {
            rtnl_link_set_name(l, net->v->host_ifname);
            rtnl_link_delete(net->sk, l); /* -NLE_NODEV: the namespace took it already */
            rtnl_link_put(l);
        }
    }
    nl_socket_free(net->sk);
    free(net);
    *pnet = NULL;
}

/* ---- child ---------------------------------------------------------------------------------- */

/* lo up with two ioctls and checked with a third: a netlink socket, a link dump and two acks
 * cost several times more, and lo needs no IPv6 setting (issue #10). */
static int lo_up(struct child_err *ce)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return child_fail(ce, "network", errno, "bring up lo: socket");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    const char *step = "read the flags of";
    int rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
    if (rc == 0) {
        step = "bring up";
        ifr.ifr_flags |= IFF_UP;
        rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
    }
    if (rc == 0) {
        step = "check";
        rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
    }
    int e = errno;
    close(fd);
    if (rc < 0)
        return child_fail(ce, "network", e, "%s lo", step);
    /* Fail closed: what we brought up must be up. */
    if (!(ifr.ifr_flags & IFF_UP))
        return child_fail(ce, "network", 0, "lo is not up after bringing it up");
    return 0;
}

static int veth_in_child(struct nl_sock *sk, const struct sbx_veth *v, struct child_err *ce)
{
    char a[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &v->addr, a, sizeof(a));
    inet_ntop(AF_INET, &v->host_addr, g, sizeof(g));
    struct rtnl_link *link = NULL;
    int rc = rtnl_link_get_kernel(sk, 0, v->ifname, &link);
    if (rc < 0)
        return child_fail(ce, "network", 0, "veth: find %s in the sandbox: %s", v->ifname, nl_geterror(rc));
    int ifindex = rtnl_link_get_ifindex(link);
    const char *step = "set address";
    rc = add_address(sk, ifindex, v->addr, v->prefix);
    if (rc == 0) {
        step = "bring up";
        rc = link_up(sk, link, true);
    }
    rtnl_link_put(link);
    if (rc == 0 && v->default_route) {
        step = "add the default route via";
        rc = add_default_route(sk, ifindex, v->host_addr);
    }
    if (rc < 0)
        return child_fail(ce, "network", 0, "veth: %s %s on %s (%s/%u, host end %s): %s", step,
                          strcmp(step, "add the default route via") == 0 ? g : a, v->ifname, a,
                          v->prefix, g, nl_geterror(rc));
    return 0;
}

int sbx_net_in_child(const struct sbx_spec *spec, struct child_err *ce)
{
    if (spec->net != SBX_NET_LOOPBACK && spec->net != SBX_NET_VETH)
        return 0;
    if (lo_up(ce) < 0)
        return -1;
    if (spec->net != SBX_NET_VETH)
        return 0;
    struct nl_sock *sk = rtnl_open();
    if (!sk)
        return child_fail(ce, "network", 0, "open a netlink socket");
    int rc = veth_in_child(sk, &spec->veth, ce);
    /* Fail closed: check that what we brought up is up. */
    if (rc == 0 && !is_up(sk, spec->veth.ifname))
        rc = child_fail(ce, "network", 0, "veth: %s is not up after bringing it up", spec->veth.ifname);
    nl_socket_free(sk);
    /* Raw sockets need CAP_NET_RAW, which the program never has: let its group use ICMP echo
     * ("ping") sockets instead, in this namespace only (the gid is read in our user namespace). */
    char range[32];
    snprintf(range, sizeof(range), "%u %u", (unsigned)spec->gid, (unsigned)spec->gid);
    if (rc == 0 && spec->net == SBX_NET_VETH && write_file("/proc/sys/net/ipv4/ping_group_range", range) < 0)
        rc = child_fail(ce, "network", errno, "veth: allow ping sockets for gid %u (net.ipv4.ping_group_range)",
                        (unsigned)spec->gid);
    if (rc == 0 && spec->net == SBX_NET_VETH && spec->veth.egress_filter)
        rc = sbx_nft_in_child(&spec->veth, ce);
    return rc;
}
