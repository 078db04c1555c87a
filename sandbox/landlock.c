/* landlock.c — restrict the sandbox with Landlock, in the child, after pivot_root and
 * no_new_privs and right before the seccomp filter.
 *
 * Landlock is a second, independent fence around what the mount tree already allows: a rule set
 * names the paths (of the new root) beneath which the program may read, execute or write, the
 * TCP ports it may bind or connect to, and whether it may reach abstract unix sockets or signal
 * processes outside its domain. Everything the kernel's ABI can restrict and no rule grants is
 * denied with EACCES, even where a mount or DAC mistake would have let it through.
 *
 * The ABI is detected at run time (LANDLOCK_CREATE_RULESET_VERSION) and only the access rights
 * that ABI knows are handled: a newer right on an older kernel would make create_ruleset fail.
 * The plan states the lowest ABI it needs; below it the child refuses to continue (fail closed)
 * rather than run with a partial fence. Raw syscalls: libc has no wrappers.
 */
#include "internal.h"
#include "util.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

/* The uapi constants, spelled out: the build host's headers may predate the newer ABIs. */
#define LL_CREATE_RULESET_VERSION (1U << 0)
#define LL_RULE_PATH_BENEATH 1
#define LL_RULE_NET_PORT 2

#define LL_FS_EXECUTE (1ULL << 0)
#define LL_FS_WRITE_FILE (1ULL << 1)
#define LL_FS_READ_FILE (1ULL << 2)
#define LL_FS_READ_DIR (1ULL << 3)
#define LL_FS_REMOVE_DIR (1ULL << 4)
#define LL_FS_REMOVE_FILE (1ULL << 5)
#define LL_FS_MAKE_CHAR (1ULL << 6)
#define LL_FS_MAKE_DIR (1ULL << 7)
#define LL_FS_MAKE_REG (1ULL << 8)
#define LL_FS_MAKE_SOCK (1ULL << 9)
#define LL_FS_MAKE_FIFO (1ULL << 10)
#define LL_FS_MAKE_BLOCK (1ULL << 11)
#define LL_FS_MAKE_SYM (1ULL << 12)
#define LL_FS_REFER (1ULL << 13)     /* ABI 2 */
#define LL_FS_TRUNCATE (1ULL << 14)  /* ABI 3 */
#define LL_FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */
#define LL_NET_BIND_TCP (1ULL << 0)  /* ABI 4 */
#define LL_NET_CONNECT_TCP (1ULL << 1)
#define LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL (1ULL << 1)

struct ll_ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net; /* ABI 4 */
    uint64_t scoped;             /* ABI 6 */
};

struct ll_path_beneath_attr {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));

struct ll_net_port_attr {
    uint64_t allowed_access;
    uint64_t port;
};

/* Rights a rule on a file (not a directory) may carry. */
#define LL_FS_FILE_RIGHTS (LL_FS_EXECUTE | LL_FS_WRITE_FILE | LL_FS_READ_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV)
#define LL_FS_READ_EXEC (LL_FS_EXECUTE | LL_FS_READ_FILE | LL_FS_READ_DIR)

uint64_t sbx_landlock_fs_rights(int abi)
{
    if (abi < 1)
        return 0;
    uint64_t r = (LL_FS_MAKE_SYM << 1) - 1; /* ABI 1: bits 0..12 */
    if (abi >= 2)
        r |= LL_FS_REFER;
    if (abi >= 3)
        r |= LL_FS_TRUNCATE;
    if (abi >= 5)
        r |= LL_FS_IOCTL_DEV;
    return r;
}

int sbx_landlock_abi(void)
{
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
#ifdef GBOX_TEST_HOOKS
    /* Test builds only: pretend the kernel offers less (0: no Landlock) to exercise refusal. */
    const char *fake = getenv("GBOX_TEST_LANDLOCK_ABI");
    if (fake && *fake) {
        long f = strtol(fake, NULL, 10);
        if (f <= 0) {
            errno = EOPNOTSUPP;
            return 0;
        }
        if (abi < 0 || f < abi)
            abi = f;
    }
#endif
    return abi < 0 ? 0 : (int)abi;
}

int sbx_landlock_required_abi(const struct sbx_landlock *ll)
{
    int need = ll->min_abi > 1 ? ll->min_abi : 1;
    if ((ll->restrict_bind || ll->restrict_connect) && need < 4)
        need = 4;
    if (ll->scope && need < 6)
        need = 6;
    return need;
}

int sbx_landlock_check(const struct sbx_landlock *ll, int kernel_abi, int kernel_errno, char *msg,
                       size_t len)
{
    int need = sbx_landlock_required_abi(ll);
    if (need > SBX_LANDLOCK_ABI_KNOWN) {
        snprintf(msg, len, "Landlock ABI %d is needed but this gbox knows only up to ABI %d", need,
                 SBX_LANDLOCK_ABI_KNOWN);
        return -1;
    }
    if (kernel_abi < 1) {
        snprintf(msg, len, "Landlock ABI %d is needed but the kernel has no Landlock (%s)", need,
                 kernel_errno == EOPNOTSUPP ? "disabled at boot: add landlock to the lsm= kernel parameter"
                                            : "not built in: CONFIG_SECURITY_LANDLOCK");
        return -1;
    }
    if (kernel_abi < need) {
        snprintf(msg, len, "Landlock ABI %d is needed but the kernel provides ABI %d", need, kernel_abi);
        return -1;
    }
    return kernel_abi < SBX_LANDLOCK_ABI_KNOWN ? kernel_abi : SBX_LANDLOCK_ABI_KNOWN;
}

static int add_path_rule(int ruleset, int fd, uint64_t access)
{
    struct ll_path_beneath_attr pb = {.allowed_access = access, .parent_fd = fd};
    return (int)syscall(SYS_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH, &pb, 0);
}

static int add_paths(int ruleset, const struct sbx_landlock *ll, uint64_t handled, struct child_err *ce)
{
    for (size_t i = 0; i < ll->n_paths; i++) {
        const struct sbx_ll_path *p = &ll->paths[i];
        _cleanup_close_ int fd = open(p->path, O_PATH | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0)
            return child_fail(ce, "landlock", errno, "rule path %s", p->path);
        uint64_t access = (p->access == SBX_LL_READ_WRITE ? handled : LL_FS_READ_EXEC) & handled;
        if (!S_ISDIR(st.st_mode))
            access &= LL_FS_FILE_RIGHTS;
        if (add_path_rule(ruleset, fd, access) < 0)
            return child_fail(ce, "landlock", errno, "add rule for %s", p->path);
    }
    /* stdio as gbox received it: a file or terminal the caller chose may be reopened through
     * /proc/self/fd (e.g. /dev/stdout); pipes and sockets need no rule. Best effort: a file
     * Landlock cannot name (a memfd, on an internal mount) just gets no rule, which only
     * denies more. */
    for (int fd = 0; ll->stdio && fd <= 2; fd++) {
        struct stat st;
        if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISCHR(st.st_mode)))
            continue;
        uint64_t access = (LL_FS_READ_FILE | LL_FS_WRITE_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV) & handled;
        (void)add_path_rule(ruleset, fd, access);
    }
    return 0;
}

static int add_ports(int ruleset, const uint16_t *ports, size_t n, uint64_t access, struct child_err *ce)
{
    for (size_t i = 0; i < n; i++) {
        struct ll_net_port_attr np = {.allowed_access = access, .port = ports[i]};
        if (syscall(SYS_landlock_add_rule, ruleset, LL_RULE_NET_PORT, &np, 0) < 0)
            return child_fail(ce, "landlock", errno, "add rule for TCP port %u", ports[i]);
    }
    return 0;
}

int sbx_landlock_in_child(const struct sbx_landlock *ll, struct child_err *ce)
{
    if (!ll->enabled)
        return 0;
    errno = 0;
    int kabi = sbx_landlock_abi();
    char msg[256];
    int abi = sbx_landlock_check(ll, kabi, errno, msg, sizeof(msg));
    if (abi < 0)
        return child_fail(ce, "landlock", 0, "%s", msg);
    struct ll_ruleset_attr attr = {.handled_access_fs = sbx_landlock_fs_rights(abi)};
    if (ll->restrict_bind)
        attr.handled_access_net |= LL_NET_BIND_TCP;
    if (ll->restrict_connect)
        attr.handled_access_net |= LL_NET_CONNECT_TCP;
    if (ll->scope & SBX_LL_SCOPE_ABSTRACT_UNIX)
        attr.scoped |= LL_SCOPE_ABSTRACT_UNIX_SOCKET;
    if (ll->scope & SBX_LL_SCOPE_SIGNAL)
        attr.scoped |= LL_SCOPE_SIGNAL;
    /* Older kernels take a shorter structure (the fields they know). */
    size_t size = abi >= 6 ? sizeof(attr) : abi >= 4 ? offsetof(struct ll_ruleset_attr, scoped)
                                                      : offsetof(struct ll_ruleset_attr, handled_access_net);
    _cleanup_close_ int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
    if (rs < 0)
        return child_fail(ce, "landlock", errno, "create the rule set (ABI %d)", abi);
    if (add_paths(rs, ll, attr.handled_access_fs, ce) < 0 ||
        add_ports(rs, ll->bind_ports, ll->n_bind_ports, LL_NET_BIND_TCP, ce) < 0 ||
        add_ports(rs, ll->connect_ports, ll->n_connect_ports, LL_NET_CONNECT_TCP, ce) < 0)
        return -1;
    /* Its success is the kernel's word that the domain is in force for this process and every
     * child: there is no status to read back (tests/adversarial/landlock.bats checks behaviour). */
    if (syscall(SYS_landlock_restrict_self, rs, 0) < 0)
        return child_fail(ce, "landlock", errno, "restrict the sandbox (landlock_restrict_self)");
    return 0;
}
