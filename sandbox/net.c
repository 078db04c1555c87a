/* net.c — the sandbox's network namespace. `none`: a new namespace with nothing up, not even lo.
 * `loopback`: lo brought up through rtnetlink (libnl-route), no `ip` binary involved. `host`: no
 * new namespace at all (decided by the plan's ns_flags). */
#include "internal.h"

#include <errno.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>

int sbx_net_in_child(enum sbx_net_mode mode, struct child_err *ce)
{
    if (mode != SBX_NET_LOOPBACK)
        return 0;
    struct nl_sock *sk = nl_socket_alloc();
    if (!sk)
        return child_fail(ce, "network", ENOMEM, "netlink socket");
    int rc = nl_connect(sk, NETLINK_ROUTE);
    struct rtnl_link *lo = NULL, *change = NULL;
    if (rc == 0)
        rc = rtnl_link_get_kernel(sk, 0, "lo", &lo);
    if (rc == 0 && !(change = rtnl_link_alloc()))
        rc = -NLE_NOMEM;
    if (rc == 0) {
        rtnl_link_set_flags(change, IFF_UP);
        rc = rtnl_link_change(sk, lo, change, 0);
    }
    if (change)
        rtnl_link_put(change);
    if (lo)
        rtnl_link_put(lo);
    nl_socket_free(sk);
    if (rc < 0)
        return child_fail(ce, "network", 0, "bring up lo: %s", nl_geterror(rc));
    /* Fail closed: check it is up. */
    struct nl_sock *chk = nl_socket_alloc();
    struct rtnl_link *l = NULL;
    bool up = false;
    if (chk && nl_connect(chk, NETLINK_ROUTE) == 0 && rtnl_link_get_kernel(chk, 0, "lo", &l) == 0) {
        up = rtnl_link_get_flags(l) & IFF_UP;
        rtnl_link_put(l);
    }
    if (chk)
        nl_socket_free(chk);
    if (!up)
        return child_fail(ce, "network", 0, "lo is not up after bringing it up");
    return 0;
}
