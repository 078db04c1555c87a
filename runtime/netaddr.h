/* netaddr.h — IPv4 addresses, networks and port ranges as policies write them, and the pool of
 * veth link subnets shared by concurrent sandboxes. Addresses are uint32_t in network byte
 * order, as struct in_addr holds them. */
#ifndef GBOX_NETADDR_H
#define GBOX_NETADDR_H

#include "../sandbox/sbx.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "a.b.c.d": four decimal octets 0..255, no leading zeros, nothing else; 0 or -1. */
int ipv4_parse(const char *s, uint32_t *addr);
/* "a.b.c.d/p" with p in 0..32; 0 or -1. Host bits may be set (see cidr_is_network). */
int cidr_parse(const char *s, uint32_t *addr, unsigned *prefix);
/* No bits set beyond the prefix. */
bool cidr_is_network(uint32_t addr, unsigned prefix);
/* Netmask of a prefix length, network byte order. */
uint32_t ipv4_mask(unsigned prefix);
/* Do the two networks share an address? */
bool cidr_overlap(uint32_t a, unsigned pa, uint32_t b, unsigned pb);
/* Is addr inside net/prefix? */
bool cidr_contains(uint32_t net, unsigned prefix, uint32_t addr);
/* Can addr be given to an interface of the subnet net/prefix (not its network or broadcast
 * address when it has those, i.e. prefix <= 30)? */
bool cidr_usable(uint32_t net, unsigned prefix, uint32_t addr);
/* The host end's address when the sandbox end has addr: the first usable address of the subnet
 * that is not addr. */
uint32_t cidr_peer(uint32_t net, unsigned prefix, uint32_t addr);
/* "a.b.c.d" into buf (at least 16 bytes). */
const char *ipv4_str(uint32_t addr, char *buf, size_t len);
/* A port or a range: a JSON integer 1..65535 or a string "LOW-HIGH" (or "N"); 0 or -1. */
int port_range_parse(const char *s, uint16_t *lo, uint16_t *hi);

/* ---- the subnet pool -----------------------------------------------------------------------
 * Every veth sandbox holds one subnet, recorded as a file DIR/<a.b.c.d>_<prefix> holding the
 * owner's "pid starttime ifname". Allocation runs under an flock on DIR/lock: it reads every
 * record, removes those whose owner is gone (pid dead, or reused: another start time), and
 * picks the first subnet of the pool that overlaps no live record. A fixed subnet (the policy's
 * network.address) goes through the same check, so it never collides with a pooled one. */
struct net_lease {
    char record[512]; /* the record file, "" when nothing is held */
};

/* fixed: NULL to allocate from pool/pool_prefix, else the subnet (with prefix) to claim.
 * owner: the host interface name, kept in the record for humans. */
int netpool_acquire(const char *dir, uint32_t pool, unsigned pool_prefix, unsigned prefix,
                    const uint32_t *fixed, const char *owner, uint32_t *subnet,
                    struct net_lease *lease, struct sbx_err **err);
/* Drop the record (after the host end is gone). */
void netpool_release(struct net_lease *lease);

#endif
