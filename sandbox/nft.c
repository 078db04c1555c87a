/* nft.c — the egress allowlist of a veth sandbox: nftables rules inside its own network
 * namespace, installed by the child (root of the user namespace that owns that namespace, so
 * CAP_NET_ADMIN there) before it drops every capability: the program can neither change nor
 * flush them, nor make a namespace where they do not apply (no capabilities, and seccomp refuses
 * namespace creation).
 *
 * libnftables is loaded with dlopen, and only here: gbox is linked statically (nothing to load
 * at every start), Debian ships no static libnftables, and its load and context setup cost
 * ~1.5-3 ms that only a sandbox with an egress allowlist should pay. A static glibc program can
 * dlopen as long as the glibc it was linked with is the one installed, which holds for gbox
 * built on the host it runs on (docs/architecture.md). */
#include "internal.h"
#include "util.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <linux/netlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TABLE "add table inet gbox\n"
#define CHAIN "add chain inet gbox egress { type filter hook output priority 0; policy drop; }\n"
#define RULE "add rule inet gbox egress "

static const char *const proto_names[] = {[SBX_PROTO_TCP] = "tcp", [SBX_PROTO_UDP] = "udp",
                                          [SBX_PROTO_ICMP] = "icmp"};

int sbx_nft_ruleset(const struct sbx_veth *v, char *buf, size_t len)
{
    size_t n = 0;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        int k = snprintf(buf + n, n < len ? len - n : 0, __VA_ARGS__);                             \
        if (k < 0)                                                                                 \
            return -1;                                                                             \
        n += (size_t)k;                                                                            \
    } while (0)
    /* Replies to what was allowed out and to connections that came in; the sandbox's own lo. */
    PUT(TABLE CHAIN RULE "ct state established,related accept\n" RULE "oifname \"lo\" accept\n");
    for (size_t i = 0; i < v->n_egress; i++) {
        const struct sbx_egress_rule *r = &v->egress[i];
        char a[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &r->net, a, sizeof(a));
        PUT(RULE "ip daddr %s/%u", a, r->prefix);
        if (r->proto == SBX_PROTO_ICMP)
            PUT(" ip protocol icmp");
        else if (r->proto != SBX_PROTO_ANY && r->port_lo == 0)
            PUT(" ip protocol %s", proto_names[r->proto]);
        else if (r->proto != SBX_PROTO_ANY && r->port_lo == r->port_hi)
            PUT(" %s dport %u", proto_names[r->proto], r->port_lo);
        else if (r->proto != SBX_PROTO_ANY)
            PUT(" %s dport %u-%u", proto_names[r->proto], r->port_lo, r->port_hi);
        PUT(" accept\n");
    }
    /* Refuse the rest at once (EHOSTUNREACH for TCP, an ICMP error for UDP) rather than letting
     * the chain's policy drop it silently, which leaves a connect waiting for its timeout. */
    PUT(RULE "reject with icmpx type admin-prohibited\n");
#undef PUT
    return n < len ? (int)n : -1;
}

struct nft_api {
    __typeof__(nft_ctx_new) *ctx_new;
    __typeof__(nft_ctx_free) *ctx_free;
    __typeof__(nft_ctx_buffer_output) *buffer_output;
    __typeof__(nft_ctx_buffer_error) *buffer_error;
    __typeof__(nft_ctx_get_output_buffer) *output;
    __typeof__(nft_ctx_get_error_buffer) *error;
    __typeof__(nft_run_cmd_from_buffer) *run;
};

static int nft_load(struct nft_api *api, struct child_err *ce)
{
    static const char lib[] = "libnftables.so.1";
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return child_fail(ce, "network", 0, "egress: load %s (install nftables' library, libnftables1): %s",
                          lib, dlerror());
    struct {
        void **fn;
        const char *name;
    } syms[] = {
        {(void **)&api->ctx_new, "nft_ctx_new"},
        {(void **)&api->ctx_free, "nft_ctx_free"},
        {(void **)&api->buffer_output, "nft_ctx_buffer_output"},
        {(void **)&api->buffer_error, "nft_ctx_buffer_error"},
        {(void **)&api->output, "nft_ctx_get_output_buffer"},
        {(void **)&api->error, "nft_ctx_get_error_buffer"},
        {(void **)&api->run, "nft_run_cmd_from_buffer"},
    };
    for (size_t i = 0; i < ARRAY_LEN(syms); i++)
        if (!(*syms[i].fn = dlsym(h, syms[i].name)))
            return child_fail(ce, "network", 0, "egress: %s has no %s", lib, syms[i].name);
    return 0; /* the library stays loaded until exec replaces us */
}

/* The error text of libnftables, on one line. */
static void one_line(const char *in, char *out, size_t len)
{
    size_t n = 0;
    for (; in && *in && n + 1 < len; in++)
        out[n++] = *in == '\n' ? ' ' : *in;
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
}

/* libnftables exit()s the process (status 3) when it cannot open its netlink socket: probe first so
 * a kernel without nf_tables gets a message naming what is missing. */
static int nft_probe(struct child_err *ce)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
    if (fd < 0)
        return child_fail(ce, "network", errno, "egress: the kernel offers no nf_tables netlink "
                          "socket (load the nf_tables and nfnetlink modules)");
    close(fd);
    return 0;
}

int sbx_nft_in_child(const struct sbx_veth *v, struct child_err *ce)
{
    if (nft_probe(ce) < 0)
        return -1;
    size_t len = 1024 + v->n_egress * 128;
    char *rules = malloc(len);
    if (!rules || sbx_nft_ruleset(v, rules, len) < 0) {
        free(rules);
        return child_fail(ce, "network", ENOMEM, "egress: build the nftables rules");
    }
    struct nft_api api;
    int rc = nft_load(&api, ce);
    struct nft_ctx *ctx = rc == 0 ? api.ctx_new(NFT_CTX_DEFAULT) : NULL;
    if (rc == 0 && !ctx)
        rc = child_fail(ce, "network", 0, "egress: nft_ctx_new failed");
    if (rc == 0) {
        api.buffer_output(ctx);
        api.buffer_error(ctx);
        char msg[300];
        if (api.run(ctx, rules) != 0) {
            one_line(api.error(ctx), msg, sizeof(msg));
            rc = child_fail(ce, "network", 0, "egress: install the nftables rules: %s", msg);
        } else if (api.run(ctx, "list chain inet gbox egress") != 0 ||
                   !strstr(api.output(ctx), "policy drop;")) {
            /* Fail closed: the chain must be there, with its policy, as the kernel reports it. */
            one_line(api.error(ctx), msg, sizeof(msg));
            rc = child_fail(ce, "network", 0, "egress: the nftables chain is not in place after "
                            "installing it%s%s", msg[0] ? ": " : "", msg);
        }
    }
    if (ctx)
        api.ctx_free(ctx);
    free(rules);
    return rc;
}
