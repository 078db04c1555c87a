/* netaddr.c — IPv4 parsing and the veth subnet pool (see netaddr.h). */
#include "netaddr.h"

#include "../sandbox/util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

static int parse_uint(const char **p, unsigned max, unsigned *out)
{
    const char *s = *p;
    unsigned v = 0;
    int n = 0;
    while (*s >= '0' && *s <= '9') {
        if (n == 1 && v == 0)
            return -1; /* leading zero */
        v = v * 10 + (unsigned)(*s - '0');
        if (v > max || ++n > 5)
            return -1;
        s++;
    }
    if (n == 0)
        return -1;
    *p = s;
    *out = v;
    return 0;
}

static int parse_addr(const char **p, uint32_t *addr)
{
    uint32_t h = 0;
    for (int i = 0; i < 4; i++) {
        unsigned o;
        if (i > 0 && *(*p)++ != '.')
            return -1;
        if (parse_uint(p, 255, &o) < 0)
            return -1;
        h = h << 8 | o;
    }
    *addr = htonl(h);
    return 0;
}

int ipv4_parse(const char *s, uint32_t *addr)
{
    uint32_t a;
    if (!s || parse_addr(&s, &a) < 0 || *s)
        return -1;
    *addr = a;
    return 0;
}

int cidr_parse(const char *s, uint32_t *addr, unsigned *prefix)
{
    uint32_t a;
    unsigned p;
    if (!s || parse_addr(&s, &a) < 0 || *s++ != '/' || parse_uint(&s, 32, &p) < 0 || *s)
        return -1;
    *addr = a;
    *prefix = p;
    return 0;
}

uint32_t ipv4_mask(unsigned prefix)
{
    return htonl(prefix == 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1));
}

bool cidr_is_network(uint32_t addr, unsigned prefix)
{
    return (addr & ~ipv4_mask(prefix)) == 0;
}

bool cidr_contains(uint32_t net, unsigned prefix, uint32_t addr)
{
    return (addr & ipv4_mask(prefix)) == (net & ipv4_mask(prefix));
}

bool cidr_overlap(uint32_t a, unsigned pa, uint32_t b, unsigned pb)
{
    unsigned p = pa < pb ? pa : pb;
    return (a & ipv4_mask(p)) == (b & ipv4_mask(p));
}

bool cidr_usable(uint32_t net, unsigned prefix, uint32_t addr)
{
    if (!cidr_contains(net, prefix, addr))
        return false;
    if (prefix >= 31)
        return true;
    uint32_t host = addr & ~ipv4_mask(prefix);
    return host != 0 && host != ~ipv4_mask(prefix);
}

uint32_t cidr_peer(uint32_t net, unsigned prefix, uint32_t addr)
{
    uint32_t base = ntohl(net & ipv4_mask(prefix));
    uint32_t first = prefix >= 31 ? base : base + 1;
    return htonl(htonl(first) == addr ? first + 1 : first);
}

const char *ipv4_str(uint32_t addr, char *buf, size_t len)
{
    uint32_t h = ntohl(addr);
    snprintf(buf, len, "%u.%u.%u.%u", h >> 24, h >> 16 & 255, h >> 8 & 255, h & 255);
    return buf;
}

int port_range_parse(const char *s, uint16_t *lo, uint16_t *hi)
{
    unsigned a, b;
    if (!s || parse_uint(&s, 65535, &a) < 0 || a == 0)
        return -1;
    b = a;
    if (*s == '-' && (s++, parse_uint(&s, 65535, &b) < 0 || b < a))
        return -1;
    if (*s)
        return -1;
    *lo = (uint16_t)a;
    *hi = (uint16_t)b;
    return 0;
}

/* ---- the pool ------------------------------------------------------------------------------ */

/* Field 22 of /proc/PID/stat: the start time, which tells a reused pid from its first owner. */
static unsigned long long start_time(pid_t pid)
{
    char p[64];
    snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
    _cleanup_free_ char *s = read_file(p, NULL);
    char *r = s ? strrchr(s, ')') : NULL;
    unsigned long long st = 0;
    if (r && sscanf(r + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
                           "%*d %*d %llu", &st) == 1)
        return st;
    return 0;
}

struct record {
    uint32_t net;
    unsigned prefix;
    int pid;
};

/* Read DIR's records into *out, removing those of owners that are gone. */
static size_t live_records(const char *dir, struct record **out)
{
    size_t n = 0, cap = 0;
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        char name[64], path[PATH_MAX];
        snprintf(name, sizeof(name), "%s", de->d_name);
        char *us = strchr(name, '_');
        struct record r;
        if (!us)
            continue;
        *us = '/';
        if (cidr_parse(name, &r.net, &r.prefix) < 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        _cleanup_free_ char *text = read_file(path, NULL);
        unsigned long long st = 0;
        if (!text || sscanf(text, "%d %llu", &r.pid, &st) != 2 || r.pid <= 0 ||
            (kill(r.pid, 0) < 0 && errno == ESRCH) || start_time(r.pid) != st) {
            unlink(path); /* its gbox is gone (or the record is garbage) */
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            *out = realloc(*out, cap * sizeof(**out));
            if (!*out)
                abort();
        }
        (*out)[n++] = r;
    }
    closedir(d);
    return n;
}

static const struct record *overlapping(const struct record *rs, size_t n, uint32_t net, unsigned prefix)
{
    for (size_t i = 0; i < n; i++)
        if (cidr_overlap(rs[i].net, rs[i].prefix, net, prefix))
            return &rs[i];
    return NULL;
}

static int claim(const char *dir, uint32_t net, unsigned prefix, const char *owner,
                 struct net_lease *lease, struct sbx_err **err)
{
    char a[16];
    snprintf(lease->record, sizeof(lease->record), "%s/%s_%u", dir, ipv4_str(net, a, sizeof(a)), prefix);
    char text[128];
    snprintf(text, sizeof(text), "%d %llu %s\n", (int)getpid(), start_time(getpid()), owner);
    _cleanup_close_ int fd = open(lease->record, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 || write_all(fd, text, strlen(text)) < 0) {
        int e = errno;
        if (fd >= 0)
            unlink(lease->record);
        sbx_err_set(err, GBOX_EXIT_LAUNCH, e, "record address allocation %s", lease->record);
        lease->record[0] = '\0';
        return -1;
    }
    return 0;
}

int netpool_acquire(const char *dir, uint32_t pool, unsigned pool_prefix, unsigned prefix,
                    const uint32_t *fixed, const char *owner, uint32_t *subnet,
                    struct net_lease *lease, struct sbx_err **err)
{
    lease->record[0] = '\0';
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "create %s", dir);
    char lock[PATH_MAX];
    snprintf(lock, sizeof(lock), "%s/lock", dir);
    _cleanup_close_ int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lfd < 0 || TEMP_RETRY(flock(lfd, LOCK_EX)) < 0)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "lock %s", lock);
    _cleanup_free_ struct record *rs = NULL;
    size_t n = live_records(dir, &rs);
    char a[16];
    if (fixed) {
        const struct record *r = overlapping(rs, n, *fixed, prefix);
        if (r) {
            char b[16];
            return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0,
                               "network.address: subnet %s/%u is in use by the sandbox of gbox pid "
                               "%d (%s/%u)", ipv4_str(*fixed, a, sizeof(a)), prefix, r->pid,
                               ipv4_str(r->net, b, sizeof(b)), r->prefix);
        }
        *subnet = *fixed;
        return claim(dir, *fixed, prefix, owner, lease, err);
    }
    uint64_t count = 1ull << (prefix - pool_prefix);
    uint32_t base = ntohl(pool & ipv4_mask(pool_prefix));
    for (uint64_t i = 0; i < count; i++) {
        uint32_t net = htonl(base + (uint32_t)(i << (32 - prefix)));
        const struct record *r = overlapping(rs, n, net, prefix);
        if (r) {
            /* skip past the whole record when it is larger than one of our subnets */
            if (r->prefix < prefix) {
                uint32_t end = ntohl(r->net & ipv4_mask(r->prefix)) + (uint32_t)((1ull << (32 - r->prefix)) - 1);
                i = (end - base) >> (32 - prefix);
            }
            continue;
        }
        *subnet = net;
        return claim(dir, net, prefix, owner, lease, err);
    }
    return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0,
                       "network.pool %s/%u: no free /%u subnet left (%zu held by running sandboxes)",
                       ipv4_str(pool, a, sizeof(a)), pool_prefix, prefix, n);
}

void netpool_release(struct net_lease *lease)
{
    if (lease->record[0])
        unlink(lease->record);
    lease->record[0] = '\0';
}
