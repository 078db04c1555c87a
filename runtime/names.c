/* names.c — tables of the symbolic names policies may use. */
#include "names.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define E(x) {#x, x}
static const struct {
    const char *name;
    int value;
} errnos[] = {
    E(EPERM),  E(ENOENT), E(ESRCH),   E(EINTR),  E(EIO),     E(ENXIO),   E(E2BIG),
    E(ENOEXEC), E(EBADF), E(ECHILD),  E(EAGAIN), E(ENOMEM),  E(EACCES),  E(EFAULT),
    E(EBUSY),  E(EEXIST), E(EXDEV),   E(ENODEV), E(ENOTDIR), E(EISDIR),  E(EINVAL),
    E(ENFILE), E(EMFILE), E(ENOTTY),  E(EFBIG),  E(ENOSPC),  E(ESPIPE),  E(EROFS),
    E(EMLINK), E(EPIPE),  E(ERANGE),  E(ENOSYS), E(ENOTSUP), E(EOPNOTSUPP), E(ENETUNREACH),
    E(ECONNREFUSED), E(EHOSTUNREACH), E(EAFNOSUPPORT), E(EPROTONOSUPPORT), E(EADDRNOTAVAIL),
    E(ETIMEDOUT), E(ELOOP), E(ENAMETOOLONG), E(EOVERFLOW), E(ENODATA),
};
#undef E

int errno_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
        if (strcmp(errnos[i].name, name) == 0)
            return errnos[i].value;
    char *end;
    long v = strtol(name, &end, 10);
    if (isdigit((unsigned char)*name) && !*end && v >= 1 && v <= 4095)
        return (int)v;
    return -1;
}

const char *errno_name(int e)
{
    for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
        if (errnos[i].value == e)
            return errnos[i].name;
    return "E?";
}

int signal_from_name(const char *name)
{
    if (strncasecmp(name, "SIG", 3) == 0)
        name += 3;
    for (int s = 1; s < NSIG; s++) {
        const char *a = sigabbrev_np(s);
        if (a && strcasecmp(a, name) == 0)
            return s;
    }
    char *end;
    long v = strtol(name, &end, 10);
    if (isdigit((unsigned char)*name) && !*end && v >= 1 && v < NSIG)
        return (int)v;
    return -1;
}

static const char *const caps[] = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
    "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
    "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

int cap_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
        if (strcmp(caps[i], name) == 0)
            return (int)i;
    return -1;
}

const char *cap_name(int cap)
{
    return cap >= 0 && (size_t)cap < sizeof(caps) / sizeof(caps[0]) ? caps[cap] : "CAP_?";
}

int parse_action(const char *s, struct sbx_action *out)
{
    struct sbx_action a = {0};
    if (strcmp(s, "allow") == 0)
        a.kind = SBX_ACT_ALLOW;
    else if (strcmp(s, "kill") == 0)
        a.kind = SBX_ACT_KILL;
    else if (strcmp(s, "log") == 0)
        a.kind = SBX_ACT_LOG;
    else if (strcmp(s, "trap") == 0)
        a.kind = SBX_ACT_TRAP;
    else if (strncmp(s, "errno:", 6) == 0 && (a.errnum = errno_from_name(s + 6)) > 0)
        a.kind = SBX_ACT_ERRNO;
    else
        return -1;
    if (out)
        *out = a;
    return 0;
}

int parse_failure_action(const char *s)
{
    static const char *const plain[] = {"ignore", "kill", "restart", "rollback"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, plain[i]) == 0)
            return i;
    if (strncmp(s, "signal:", 7) == 0 && signal_from_name(s + 7) > 0)
        return FAIL_SIGNAL;
    if (strncmp(s, "fallback:", 9) == 0 && s[9])
        return FAIL_FALLBACK;
    return -1;
}
