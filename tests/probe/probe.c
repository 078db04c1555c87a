/*
 * probe — a static multi-call helper the tests run INSIDE a sandbox.
 *
 * One command per invocation; the result is printed as exact lines a test can
 * match (the idea of crun's tests/init.c and bubblewrap's try-syscall.c):
 *
 *   ok <retval>            the attempt succeeded                      exit 0
 *   errno <NAME> <num>     the attempt failed (E<num> if unnamed)     exit 1
 *   usage on stderr        bad command line                           exit 2
 *   unsupported <abi>      the kernel has no such ABI (i386 only)     exit 3
 *
 * A seccomp kill or an OOM kill shows up as the process dying by a signal,
 * which the test reads from the exit status. Output is line buffered so a
 * partial result survives the process being killed.
 *
 * Build: gcc -std=c17 -O2 -static -D_GNU_SOURCE -o build/probe tests/probe/probe.c
 */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/ip_icmp.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIB (1024UL * 1024UL)
#define MAX_SYSCALL_ARGS 6
#define X32_SYSCALL_BIT 0x40000000L
#define CONNECT_TIMEOUT_MS 5000
#define EXIT_USAGE 2
#define EXIT_UNSUPPORTED 3

struct named {
    const char *name;
    long value;
};

#define E(x) { #x, x }
/* EWOULDBLOCK == EAGAIN and ENOTSUP == EOPNOTSUPP on Linux: the first listed wins. */
static const struct named errno_names[] = {
    E(EPERM), E(ENOENT), E(ESRCH), E(EINTR), E(EIO), E(ENXIO), E(E2BIG), E(ENOEXEC),
    E(EBADF), E(ECHILD), E(EAGAIN), E(ENOMEM), E(EACCES), E(EFAULT), E(ENOTBLK),
    E(EBUSY), E(EEXIST), E(EXDEV), E(ENODEV), E(ENOTDIR), E(EISDIR), E(EINVAL),
    E(ENFILE), E(EMFILE), E(ENOTTY), E(ETXTBSY), E(EFBIG), E(ENOSPC), E(ESPIPE),
    E(EROFS), E(EMLINK), E(EPIPE), E(EDOM), E(ERANGE), E(EDEADLK), E(ENAMETOOLONG),
    E(ENOLCK), E(ENOSYS), E(ENOTEMPTY), E(ELOOP), E(ENOMSG), E(EIDRM), E(ENODATA),
    E(ETIME), E(EPROTO), E(EBADMSG), E(EOVERFLOW), E(EILSEQ), E(EUSERS), E(ENOTSOCK),
    E(EDESTADDRREQ), E(EMSGSIZE), E(EPROTOTYPE), E(ENOPROTOOPT), E(EPROTONOSUPPORT),
    E(ESOCKTNOSUPPORT), E(EOPNOTSUPP), E(EPFNOSUPPORT), E(EAFNOSUPPORT), E(EADDRINUSE),
    E(EADDRNOTAVAIL), E(ENETDOWN), E(ENETUNREACH), E(ENETRESET), E(ECONNABORTED),
    E(ECONNRESET), E(ENOBUFS), E(EISCONN), E(ENOTCONN), E(ETIMEDOUT), E(ECONNREFUSED),
    E(EHOSTDOWN), E(EHOSTUNREACH), E(EALREADY), E(EINPROGRESS), E(ESTALE), E(EDQUOT),
    E(ENOMEDIUM), E(ECANCELED), E(ENOKEY), E(EKEYEXPIRED), E(EKEYREVOKED),
    E(EKEYREJECTED), E(EOWNERDEAD), E(ENOTRECOVERABLE), E(ERFKILL), E(EHWPOISON),
};
#undef E

#define SC(x) { #x, SYS_##x }
static const struct named syscall_names[] = {
    /* the ones the tests name */
    SC(getpid), SC(keyctl), SC(add_key), SC(request_key), SC(bpf), SC(perf_event_open),
    SC(userfaultfd), SC(io_uring_setup), SC(io_uring_enter), SC(io_uring_register),
    SC(mount), SC(umount2), SC(pivot_root), SC(fsopen), SC(fsmount), SC(move_mount),
    SC(open_tree), SC(unshare), SC(setns), SC(clone), SC(clone3), SC(kexec_load),
    SC(kexec_file_load), SC(init_module), SC(finit_module), SC(delete_module), SC(reboot),
    SC(settimeofday), SC(clock_settime), SC(clock_adjtime), SC(adjtimex), SC(swapon),
    SC(swapoff), SC(acct), SC(personality), SC(ptrace), SC(process_vm_readv),
    SC(process_vm_writev), SC(open_by_handle_at), SC(name_to_handle_at), SC(chroot),
    SC(sethostname), SC(setdomainname), SC(iopl), SC(ioperm), SC(syslog),
    SC(lookup_dcookie), SC(quotactl), SC(vhangup), SC(nfsservctl), SC(uselib), SC(mknod),
    SC(mknodat), SC(kcmp), SC(seccomp), SC(memfd_create), SC(pidfd_open), SC(pidfd_getfd),
    SC(ioctl), SC(socket), SC(getuid), SC(setuid),
    /* a few more that are handy to poke at */
    SC(getppid), SC(gettid), SC(geteuid), SC(getgid), SC(getegid), SC(setgid),
    SC(setreuid), SC(setresuid), SC(setgroups), SC(capget), SC(capset), SC(prctl),
    SC(read), SC(write), SC(open), SC(openat), SC(fork), SC(execve), SC(uname), SC(sysinfo), SC(sync), SC(syncfs), SC(chdir), SC(getcwd), SC(close),
    SC(dup), SC(fsconfig), SC(fspick), SC(mount_setattr), SC(pidfd_send_signal),
    SC(process_madvise), SC(fanotify_init), SC(inotify_init1), SC(mbind),
    SC(migrate_pages), SC(move_pages), SC(set_mempolicy), SC(get_mempolicy), SC(mlock),
    SC(mlockall), SC(ioprio_set), SC(sched_setattr), SC(modify_ldt),
    SC(create_module), SC(get_kernel_syms), SC(query_module), SC(_sysctl), SC(ustat),
    SC(sysfs), SC(afs_syscall), SC(tuxcall), SC(security), SC(getpmsg), SC(putpmsg),
    SC(epoll_create1), SC(eventfd2), SC(signalfd4), SC(timerfd_create), SC(pipe2),
    SC(kill), SC(tgkill), SC(nanosleep), SC(getrandom), SC(rseq), SC(membarrier),
    SC(close_range), SC(openat2), SC(faccessat2), SC(process_mrelease), SC(futex_waitv),
    SC(landlock_create_ruleset), SC(landlock_add_rule), SC(landlock_restrict_self),
    SC(memfd_secret), SC(set_mempolicy_home_node),
#ifdef SYS_cachestat
    SC(cachestat),
#endif
#ifdef SYS_fchmodat2
    SC(fchmodat2),
#endif
#ifdef SYS_map_shadow_stack
    SC(map_shadow_stack),
#endif
#ifdef SYS_mseal
    SC(mseal),
#endif
};
#undef SC

#define S(x) { #x, SIG##x }
static const struct named signal_names[] = {
    S(HUP), S(INT), S(QUIT), S(ILL), S(TRAP), S(ABRT), S(BUS), S(FPE), S(KILL), S(USR1),
    S(SEGV), S(USR2), S(PIPE), S(ALRM), S(TERM), S(STKFLT), S(CHLD), S(CONT), S(STOP),
    S(TSTP), S(TTIN), S(TTOU), S(URG), S(XCPU), S(XFSZ), S(VTALRM), S(PROF), S(WINCH),
    S(IO), S(PWR), S(SYS),
};
#undef S

static const struct named cap_names[] = {
    { "CHOWN", 0 }, { "DAC_OVERRIDE", 1 }, { "DAC_READ_SEARCH", 2 }, { "FOWNER", 3 },
    { "FSETID", 4 }, { "KILL", 5 }, { "SETGID", 6 }, { "SETUID", 7 }, { "SETPCAP", 8 },
    { "LINUX_IMMUTABLE", 9 }, { "NET_BIND_SERVICE", 10 }, { "NET_BROADCAST", 11 },
    { "NET_ADMIN", 12 }, { "NET_RAW", 13 }, { "IPC_LOCK", 14 }, { "IPC_OWNER", 15 },
    { "SYS_MODULE", 16 }, { "SYS_RAWIO", 17 }, { "SYS_CHROOT", 18 }, { "SYS_PTRACE", 19 },
    { "SYS_PACCT", 20 }, { "SYS_ADMIN", 21 }, { "SYS_BOOT", 22 }, { "SYS_NICE", 23 },
    { "SYS_RESOURCE", 24 }, { "SYS_TIME", 25 }, { "SYS_TTY_CONFIG", 26 }, { "MKNOD", 27 },
    { "LEASE", 28 }, { "AUDIT_WRITE", 29 }, { "AUDIT_CONTROL", 30 }, { "SETFCAP", 31 },
    { "MAC_OVERRIDE", 32 }, { "MAC_ADMIN", 33 }, { "SYSLOG", 34 }, { "WAKE_ALARM", 35 },
    { "BLOCK_SUSPEND", 36 }, { "AUDIT_READ", 37 }, { "PERFMON", 38 }, { "BPF", 39 },
    { "CHECKPOINT_RESTORE", 40 },
};

static const struct named ns_names[] = {
    { "user", CLONE_NEWUSER }, { "net", CLONE_NEWNET }, { "mnt", CLONE_NEWNS },
    { "pid", CLONE_NEWPID }, { "uts", CLONE_NEWUTS }, { "ipc", CLONE_NEWIPC },
    { "cgroup", CLONE_NEWCGROUP },
    { "all", CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS |
                 CLONE_NEWIPC | CLONE_NEWCGROUP },
};

static const struct named domain_names[] = {
    { "inet", AF_INET }, { "inet6", AF_INET6 }, { "unix", AF_UNIX },
    { "netlink", AF_NETLINK }, { "packet", AF_PACKET },
};

static const struct named type_names[] = {
    { "stream", SOCK_STREAM }, { "dgram", SOCK_DGRAM }, { "raw", SOCK_RAW },
    { "seqpacket", SOCK_SEQPACKET },
};

static const struct named proto_names[] = {
    { "ip", 0 }, { "icmp", IPPROTO_ICMP }, { "tcp", IPPROTO_TCP }, { "udp", IPPROTO_UDP },
    { "icmpv6", IPPROTO_ICMPV6 },
};

static const struct named rlimit_names[] = {
    { "cpu", RLIMIT_CPU }, { "fsize", RLIMIT_FSIZE }, { "data", RLIMIT_DATA },
    { "stack", RLIMIT_STACK }, { "core", RLIMIT_CORE }, { "rss", RLIMIT_RSS },
    { "nproc", RLIMIT_NPROC }, { "nofile", RLIMIT_NOFILE }, { "memlock", RLIMIT_MEMLOCK },
    { "as", RLIMIT_AS }, { "locks", RLIMIT_LOCKS }, { "sigpending", RLIMIT_SIGPENDING },
    { "msgqueue", RLIMIT_MSGQUEUE }, { "nice", RLIMIT_NICE }, { "rtprio", RLIMIT_RTPRIO },
    { "rttime", RLIMIT_RTTIME },
};

/* The leading fields of struct clone_args (CLONE_ARGS_SIZE_VER0, 64 bytes). */
struct clone_args_v0 {
    uint64_t flags;
    uint64_t pidfd;
    uint64_t child_tid;
    uint64_t parent_tid;
    uint64_t exit_signal;
    uint64_t stack;
    uint64_t stack_size;
    uint64_t tls;
};

/* ---- lookup and parsing ------------------------------------------------- */

static int lookup(const struct named *table, size_t n, const char *name, long *value)
{
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(table[i].name, name) == 0) {
            *value = table[i].value;
            return 0;
        }
    }
    return -1;
}

/* Decimal (optionally negative) or 0x hex; hex may use all 64 bits. */
static int parse_long(const char *s, long *out)
{
    char *end = NULL;

    errno = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        unsigned long long u = strtoull(s + 2, &end, 16);
        if (end == s + 2 || *end != '\0' || errno != 0)
            return -1;
        *out = (long)u;
        return 0;
    }
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || errno != 0)
        return -1;
    *out = (long)v;
    return 0;
}

static int parse_int(const char *s, int *out)
{
    long v;

    if (parse_long(s, &v) < 0 || v < INT_MIN || v > INT_MAX)
        return -1;
    *out = (int)v;
    return 0;
}

/* A syscall argument: an integer, or "str:TEXT" for a pointer to TEXT. */
static int parse_syscall_args(int argc, char **argv, long args[MAX_SYSCALL_ARGS])
{
    if (argc > MAX_SYSCALL_ARGS)
        return -1;
    for (int i = 0; i < MAX_SYSCALL_ARGS; i++)
        args[i] = 0;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "str:", 4) == 0)
            args[i] = (long)(uintptr_t)(argv[i] + 4);
        else if (parse_long(argv[i], &args[i]) < 0)
            return -1;
    }
    return 0;
}

/* "100M", "1G", "4096", "64K" -> bytes (binary units). */
static int parse_size(const char *s, unsigned long long *bytes)
{
    char *end = NULL;
    unsigned long long shift = 0;

    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno != 0 || s[0] == '-')
        return -1;
    switch (toupper((unsigned char)*end)) {
    case '\0': shift = 0; break;
    case 'K': shift = 10; break;
    case 'M': shift = 20; break;
    case 'G': shift = 30; break;
    case 'T': shift = 40; break;
    default: return -1;
    }
    if (shift && strcasecmp(end + 1, "") != 0 && strcasecmp(end + 1, "B") != 0 &&
        strcasecmp(end + 1, "iB") != 0)
        return -1;
    if (shift && v > (~0ULL >> shift))
        return -1;
    *bytes = v << shift;
    return 0;
}

static int parse_signal(const char *s, int *sig)
{
    long v;

    if (parse_int(s, sig) == 0)
        return 0;
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    if (lookup(signal_names, ARRAY_SIZE(signal_names), s, &v) < 0)
        return -1;
    *sig = (int)v;
    return 0;
}

static int parse_cap(const char *s, int *cap)
{
    long v;

    if (parse_int(s, cap) == 0)
        return *cap >= 0 && *cap < 64 ? 0 : -1;
    if (strncasecmp(s, "CAP_", 4) == 0)
        s += 4;
    if (lookup(cap_names, ARRAY_SIZE(cap_names), s, &v) < 0)
        return -1;
    *cap = (int)v;
    return 0;
}

/* Namespace names (user, net, mnt, pid, uts, ipc, cgroup, all), comma separated, or a number. */
static int parse_ns_flags(const char *s, long *flags)
{
    char buf[128];
    char *save = NULL;

    if (parse_long(s, flags) == 0)
        return 0;
    if (snprintf(buf, sizeof buf, "%s", s) >= (int)sizeof buf)
        return -1;
    *flags = 0;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        long v;
        if (lookup(ns_names, ARRAY_SIZE(ns_names), tok, &v) < 0)
            return -1;
        *flags |= v;
    }
    return 0;
}

/* ---- reporting ----------------------------------------------------------- */

static void print_errno_line(int e)
{
    for (size_t i = 0; i < ARRAY_SIZE(errno_names); i++) {
        if (errno_names[i].value == e) {
            printf("errno %s %d\n", errno_names[i].name, e);
            return;
        }
    }
    printf("errno E%d %d\n", e, e);
}

static int report_errno(int e)
{
    print_errno_line(e);
    return 1;
}

/* For libc calls: -1 means failure with errno set. */
static int report(long ret)
{
    if (ret == -1)
        return report_errno(errno);
    printf("ok %ld\n", ret);
    return 0;
}

/* For hand-made syscalls: the kernel's -4095..-1 means -errno. */
static int report_raw(long ret)
{
    if (ret < 0 && ret >= -4095)
        return report_errno((int)-ret);
    printf("ok %ld\n", ret);
    return 0;
}

static int bad_usage(const char *what)
{
    fprintf(stderr, "probe: invalid argument: %s\n", what);
    return EXIT_USAGE;
}

/* ---- syscalls ------------------------------------------------------------ */

static int run_syscall(long nr, int argc, char **argv)
{
    long a[MAX_SYSCALL_ARGS];

    if (parse_syscall_args(argc, argv, a) < 0)
        return bad_usage("syscall arguments (at most 6 integers or str:TEXT)");
    long before = syscall(SYS_getpid);
    long ret = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    int saved = errno;
    /* A clone-like call succeeded and this is the child: leave quietly. */
    if (ret == 0 && syscall(SYS_getpid) != before)
        _exit(0);
    errno = saved;
    return report(ret);
}

static int cmd_syscall(int argc, char **argv)
{
    long nr;

    if (lookup(syscall_names, ARRAY_SIZE(syscall_names), argv[0], &nr) < 0 &&
        parse_long(argv[0], &nr) < 0) {
        fprintf(stderr, "probe: unknown syscall name: %s\n", argv[0]);
        return EXIT_USAGE;
    }
    return run_syscall(nr, argc - 1, argv + 1);
}

static int cmd_syscall_nr(int argc, char **argv)
{
    long nr;

    if (parse_long(argv[0], &nr) < 0)
        return bad_usage(argv[0]);
    return run_syscall(nr, argc - 1, argv + 1);
}

static void on_int80_fault(int sig)
{
    static const char msg[] = "unsupported i386\n";

    (void)sig;
    if (write(STDOUT_FILENO, msg, sizeof msg - 1) < 0)
        _exit(EXIT_UNSUPPORTED);
    _exit(EXIT_UNSUPPORTED);
}

/* i386 ABI through int $0x80; ebp (the sixth argument) is left alone. */
static long int80_syscall(long nr, const long a[MAX_SYSCALL_ARGS])
{
    long ret = nr;

    __asm__ volatile("int $0x80"
                     : "+a"(ret)
                     : "b"(a[0]), "c"(a[1]), "d"(a[2]), "S"(a[3]), "D"(a[4])
                     : "r8", "r9", "r10", "r11", "memory", "cc");
    return (long)(int)ret;
}

static int cmd_i386(int argc, char **argv)
{
    long nr, a[MAX_SYSCALL_ARGS];

    if (parse_long(argv[0], &nr) < 0 || argc - 1 > 5 ||
        parse_syscall_args(argc - 1, argv + 1, a) < 0)
        return bad_usage("i386 NR [ARG...] (at most 5 arguments)");
    /* Without ia32 emulation int $0x80 is a general protection fault. */
    signal(SIGSEGV, on_int80_fault);
    long ret = int80_syscall(nr, a);
    signal(SIGSEGV, SIG_DFL);
    return report_raw(ret);
}

/* x32 ABI: the x86_64 syscall instruction with __X32_SYSCALL_BIT in the number. */
static long x32_syscall(long nr, const long a[MAX_SYSCALL_ARGS])
{
    register long r10 __asm__("r10") = a[3];
    register long r8 __asm__("r8") = a[4];
    register long r9 __asm__("r9") = a[5];
    long ret = nr | X32_SYSCALL_BIT;

    __asm__ volatile("syscall"
                     : "+a"(ret)
                     : "D"(a[0]), "S"(a[1]), "d"(a[2]), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory", "cc");
    return ret;
}

static int cmd_x32(int argc, char **argv)
{
    long nr, a[MAX_SYSCALL_ARGS];

    if (parse_long(argv[0], &nr) < 0 || parse_syscall_args(argc - 1, argv + 1, a) < 0)
        return bad_usage("x32 NR [ARG...]");
    return report_raw(x32_syscall(nr, a));
}

/* ---- identity ------------------------------------------------------------ */

static int print_proc_status_lines(void)
{
    static const char *const keys[] = {
        "CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:", "NoNewPrivs:", "Seccomp:",
    };
    char line[512];
    FILE *f = fopen("/proc/self/status", "re");

    if (!f)
        return report_errno(errno);
    while (fgets(line, sizeof line, f)) {
        for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
            if (strncmp(line, keys[i], strlen(keys[i])) == 0)
                fputs(line, stdout);
        }
    }
    fclose(f);
    return 0;
}

static int cmd_status(int argc, char **argv)
{
    gid_t groups[NGROUPS_MAX];
    struct utsname uts;

    (void)argc;
    (void)argv;
    printf("pid %ld\n", (long)getpid());
    printf("ppid %ld\n", (long)getppid());
    printf("uid %ld\n", (long)getuid());
    printf("gid %ld\n", (long)getgid());
    printf("euid %ld\n", (long)geteuid());
    printf("egid %ld\n", (long)getegid());
    int n = getgroups((int)ARRAY_SIZE(groups), groups);
    fputs("groups", stdout);
    for (int i = 0; i < n; i++)
        printf(" %ld", (long)groups[i]);
    putchar('\n');
    printf("hostname %s\n", uname(&uts) == 0 ? uts.nodename : "?");
    return print_proc_status_lines();
}

/* One 64-bit set out of capget's two 32-bit halves. */
#define CAP_SET64(d, field) ((uint64_t)(d)[1].field << 32 | (uint64_t)(d)[0].field)

static int cmd_caps(int argc, char **argv)
{
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct d[2];
    uint64_t bnd = 0, amb = 0;

    (void)argc;
    (void)argv;
    if (syscall(SYS_capget, &hdr, d) < 0)
        return report_errno(errno);
    for (int i = 0; i < 64; i++) {
        int in_bnd = prctl(PR_CAPBSET_READ, (unsigned long)i, 0UL, 0UL, 0UL);
        if (in_bnd < 0)
            break;
        if (in_bnd)
            bnd |= 1ULL << i;
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, (unsigned long)i, 0UL, 0UL) > 0)
            amb |= 1ULL << i;
    }
    printf("inh %016llx\n", (unsigned long long)CAP_SET64(d, inheritable));
    printf("prm %016llx\n", (unsigned long long)CAP_SET64(d, permitted));
    printf("eff %016llx\n", (unsigned long long)CAP_SET64(d, effective));
    printf("bnd %016llx\n", (unsigned long long)bnd);
    printf("amb %016llx\n", (unsigned long long)amb);
    printf("no_new_privs %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0UL, 0UL, 0UL, 0UL));
    printf("seccomp %d\n", prctl(PR_GET_SECCOMP, 0UL, 0UL, 0UL, 0UL));
    return 0;
}

static int cmd_rlimits(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    for (size_t i = 0; i < ARRAY_SIZE(rlimit_names); i++) {
        struct rlimit rl;
        char cur[32], max[32];

        if (getrlimit((int)rlimit_names[i].value, &rl) < 0)
            return report_errno(errno);
        if (rl.rlim_cur == RLIM_INFINITY)
            snprintf(cur, sizeof cur, "unlimited");
        else
            snprintf(cur, sizeof cur, "%llu", (unsigned long long)rl.rlim_cur);
        if (rl.rlim_max == RLIM_INFINITY)
            snprintf(max, sizeof max, "unlimited");
        else
            snprintf(max, sizeof max, "%llu", (unsigned long long)rl.rlim_max);
        printf("%s %s %s\n", rlimit_names[i].name, cur, max);
    }
    return 0;
}

static int cmd_fds(int argc, char **argv)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int count = 0;

    (void)argc;
    (void)argv;
    if (!d)
        return report_errno(errno);
    while ((de = readdir(d)) != NULL) {
        char link[64], target[PATH_MAX];
        int fd;

        if (parse_int(de->d_name, &fd) < 0 || fd == dirfd(d))
            continue;
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, target, sizeof target - 1);
        target[n < 0 ? 0 : n] = '\0';
        printf("fd %d %s\n", fd, target);
        count++;
    }
    closedir(d);
    printf("count %d\n", count);
    return 0;
}

/* ---- files --------------------------------------------------------------- */

static int cmd_read(int argc, char **argv)
{
    char buf[65536];
    long total = 0;
    ssize_t n;

    (void)argc;
    int fd = open(argv[0], O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return report_errno(errno);
    while ((n = read(fd, buf, sizeof buf)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            return report_errno(e);
        }
        total += n;
    }
    close(fd);
    printf("ok %ld\n", total);
    return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static int cmd_write(int argc, char **argv)
{
    int fd = open(argv[0], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    long total = 0;

    if (fd < 0)
        return report_errno(errno);
    if (argc > 1) {
        if (write_all(fd, argv[1], strlen(argv[1])) < 0 || write_all(fd, "\n", 1) < 0) {
            int e = errno;
            close(fd);
            return report_errno(e);
        }
        total = (long)strlen(argv[1]) + 1;
    }
    if (close(fd) < 0)
        return report_errno(errno);
    printf("ok %ld\n", total);
    return 0;
}

static int cmd_open(int argc, char **argv)
{
    static const struct named modes[] = {
        { "rdonly", O_RDONLY }, { "wronly", O_WRONLY }, { "rdwr", O_RDWR },
    };
    long mode = O_RDONLY;

    if (argc > 1 && lookup(modes, ARRAY_SIZE(modes), argv[1], &mode) < 0)
        return bad_usage(argv[1]);
    return report(open(argv[0], (int)mode));
}

static int skip_dots(const struct dirent *de)
{
    return strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
}

static int cmd_ls(int argc, char **argv)
{
    struct dirent **list = NULL;

    (void)argc;
    int n = scandir(argv[0], &list, skip_dots, alphasort);
    if (n < 0)
        return report_errno(errno);
    for (int i = 0; i < n; i++) {
        puts(list[i]->d_name);
        free(list[i]);
    }
    free(list);
    return 0;
}

static int cmd_mkdir(int argc, char **argv)
{
    (void)argc;
    return report(mkdir(argv[0], 0755));
}

static int cmd_stat(int argc, char **argv)
{
    struct stat st;

    (void)argc;
    if (stat(argv[0], &st) < 0)
        return report_errno(errno);
    printf("ok mode=0%o uid=%ld gid=%ld\n", (unsigned)(st.st_mode & 07777), (long)st.st_uid,
           (long)st.st_gid);
    return 0;
}

static int cmd_exists(int argc, char **argv)
{
    struct stat st;

    (void)argc;
    if (lstat(argv[0], &st) == 0) {
        puts("yes");
        return 0;
    }
    if (errno == ENOENT || errno == ENOTDIR) {
        puts("no");
        return 1;
    }
    return report_errno(errno);
}

static int cmd_chmod_suid(int argc, char **argv)
{
    (void)argc;
    return report(chmod(argv[0], 04755));
}

static int cmd_proc_exe_write(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return report(open("/proc/self/exe", O_WRONLY));
}

/* ---- resource exhaustion --------------------------------------------------- */

/* Chunks are chained through their first word so the memory stays reachable. */
static void *volatile hog_head;

/* Allocate and touch SIZE in 1 MiB chunks, printing progress every STEP (default 16M), so a
 * program killed at a memory limit shows how far it got. A STEP of whole MiB prints
 * "allocated N MiB"; a finer one (rounded up to whole pages) prints "allocated N KiB". */
static int cmd_memhog(int argc, char **argv)
{
    unsigned long long bytes, step = 16 * MIB, done = 0;
    unsigned long page = (unsigned long)sysconf(_SC_PAGESIZE);

    if (parse_size(argv[0], &bytes) < 0)
        return bad_usage(argv[0]);
    if (argc > 1 && (parse_size(argv[1], &step) < 0 || step == 0))
        return bad_usage(argv[1]);
    step = (step + page - 1) / page * page;
    bool in_mib = step % MIB == 0;
    unsigned long long chunks = (bytes + MIB - 1) / MIB;
    for (unsigned long long i = 1; i <= chunks; i++) {
        volatile char *p = mmap(NULL, MIB, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            printf("allocated %llu MiB\n", i - 1);
            return report_errno(errno);
        }
        for (unsigned long off = 0; off < MIB; off += page) {
            p[off] = 1;
            done += page;
            if (done % step == 0)
                printf("allocated %llu %s\n", in_mib ? done / MIB : done / 1024,
                       in_mib ? "MiB" : "KiB");
        }
        *(void *volatile *)p = hog_head;
        hog_head = (void *)p;
    }
    printf("ok %llu\n", chunks);
    return 0;
}

static int cmd_forkbomb(int argc, char **argv)
{
    long max = LONG_MAX, n = 0, cap = 0;
    pid_t *pids = NULL, parent = getpid();
    int err = 0;

    if (argc > 0 && (parse_long(argv[0], &max) < 0 || max < 0))
        return bad_usage(argv[0]);
    while (n < max) {
        if (n == cap) {
            long ncap = cap ? cap * 2 : 256;
            pid_t *grown = realloc(pids, (size_t)ncap * sizeof *pids);
            if (!grown) {
                err = ENOMEM;
                break;
            }
            pids = grown;
            cap = ncap;
        }
        pid_t pid = fork();
        if (pid < 0) {
            err = errno;
            break;
        }
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, (unsigned long)SIGKILL, 0UL, 0UL, 0UL);
            if (getppid() != parent)
                _exit(0);
            for (;;)
                pause();
        }
        pids[n++] = pid;
    }
    printf("forked %ld\n", n);
    if (err)
        print_errno_line(err);
    else
        printf("ok %ld\n", n);
    for (long i = 0; i < n; i++)
        kill(pids[i], SIGKILL);
    for (long i = 0; i < n; i++)
        while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR)
            ;
    free(pids);
    return 0;
}

static int cmd_fdbomb(int argc, char **argv)
{
    long max = LONG_MAX, n = 0;

    if (argc > 0 && (parse_long(argv[0], &max) < 0 || max < 0))
        return bad_usage(argv[0]);
    while (n < max) {
        if (open("/dev/null", O_RDONLY) < 0) {
            int e = errno;
            printf("opened %ld\n", n);
            print_errno_line(e);
            return 0;
        }
        n++;
    }
    printf("opened %ld\n", n);
    printf("ok %ld\n", n);
    return 0;
}

static int cmd_diskfill(int argc, char **argv)
{
    static char block[1024 * 1024];
    long max = LONG_MAX, written = 0;
    int err = 0;

    if (argc > 1 && (parse_long(argv[1], &max) < 0 || max < 0))
        return bad_usage(argv[1]);
    /* RLIMIT_FSIZE should show up as EFBIG, not as death by SIGXFSZ. */
    signal(SIGXFSZ, SIG_IGN);
    memset(block, 'x', sizeof block);
    int fd = open(argv[0], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        err = errno;
    } else {
        long long bytes = 0;
        while (bytes / (long long)MIB < max) {
            ssize_t w = write(fd, block, sizeof block);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                err = w < 0 ? errno : ENOSPC;
                break;
            }
            bytes += w;
        }
        if (!err && fsync(fd) < 0 && errno != EINVAL)
            err = errno;
        close(fd);
        written = (long)(bytes / (long long)MIB);
    }
    printf("wrote %ld MiB\n", written);
    if (err)
        print_errno_line(err);
    else
        printf("ok %ld\n", written);
    return 0;
}

/* ---- network ------------------------------------------------------------- */

static int parse_sockaddr(const char *addr, const char *port, struct sockaddr_storage *ss,
                          socklen_t *len)
{
    long p;

    if (parse_long(port, &p) < 0 || p < 0 || p > 65535)
        return -1;
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)p);
        *len = sizeof *in4;
        return 0;
    }
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)p);
        *len = sizeof *in6;
        return 0;
    }
    return -1;
}

/* connect(2) bounded by CONNECT_TIMEOUT_MS so a black hole reads as ETIMEDOUT. */
static int connect_timeout(int fd, const struct sockaddr *sa, socklen_t len)
{
    struct pollfd pfd = { .fd = fd, .events = POLLOUT };
    int soerr = 0;
    socklen_t sl = sizeof soerr;

    if (connect(fd, sa, len) == 0)
        return 0;
    if (errno != EINPROGRESS)
        return -1;
    int r = poll(&pfd, 1, CONNECT_TIMEOUT_MS);
    if (r < 0)
        return -1;
    if (r == 0) {
        errno = ETIMEDOUT;
        return -1;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
        return -1;
    if (soerr) {
        errno = soerr;
        return -1;
    }
    return 0;
}

static int cmd_connect(int argc, char **argv)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int type = SOCK_STREAM;

    if (parse_sockaddr(argv[0], argv[1], &ss, &len) < 0)
        return bad_usage("connect ADDR PORT (numeric IPv4 or IPv6 address)");
    if (argc > 2) {
        if (strcmp(argv[2], "udp") == 0)
            type = SOCK_DGRAM;
        else if (strcmp(argv[2], "tcp") != 0)
            return bad_usage(argv[2]);
    }
    int fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return report_errno(errno);
    if (connect_timeout(fd, (struct sockaddr *)&ss, len) < 0 ||
        (type == SOCK_DGRAM && send(fd, "x", 1, 0) < 0)) {
        int e = errno;
        close(fd);
        return report_errno(e);
    }
    close(fd);
    puts("ok 0");
    return 0;
}

static int cmd_listen(int argc, char **argv)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int one = 1;

    (void)argc;
    if (parse_sockaddr(argv[0], argv[1], &ss, &len) < 0)
        return bad_usage("listen ADDR PORT (numeric IPv4 or IPv6 address)");
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return report_errno(errno);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 1) < 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
        int e = errno;
        close(fd);
        return report_errno(e);
    }
    printf("listening %u\n", ntohs(((struct sockaddr_in *)&ss)->sin_port));
    int c;
    while ((c = accept(fd, NULL, NULL)) < 0 && errno == EINTR)
        ;
    if (c < 0) {
        int e = errno;
        close(fd);
        return report_errno(e);
    }
    puts("accepted");
    close(c);
    close(fd);
    return 0;
}

static int connect_unix(const char *name, int abstract)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    size_t n = strlen(name), off = abstract ? 1 : 0;

    if (n + off >= sizeof sun.sun_path)
        return report_errno(ENAMETOOLONG);
    memcpy(sun.sun_path + off, name, n);
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + off + n + (abstract ? 0 : 1));
    static const int types[] = { SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM };
    int e = 0;
    for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
        int fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return report_errno(errno);
        int r = connect(fd, (struct sockaddr *)&sun, len);
        e = errno;
        close(fd);
        if (r == 0) {
            puts("ok 0");
            return 0;
        }
        if (e != EPROTOTYPE)
            break;
    }
    return report_errno(e);
}

static int cmd_unix(int argc, char **argv)
{
    (void)argc;
    return connect_unix(argv[0], 0);
}

static int cmd_unix_abstract(int argc, char **argv)
{
    (void)argc;
    return connect_unix(argv[0], 1);
}

static int cmd_socket(int argc, char **argv)
{
    long domain, type, proto = 0;

    if (lookup(domain_names, ARRAY_SIZE(domain_names), argv[0], &domain) < 0 &&
        parse_long(argv[0], &domain) < 0)
        return bad_usage(argv[0]);
    if (lookup(type_names, ARRAY_SIZE(type_names), argv[1], &type) < 0 &&
        parse_long(argv[1], &type) < 0)
        return bad_usage(argv[1]);
    if (argc > 2 && lookup(proto_names, ARRAY_SIZE(proto_names), argv[2], &proto) < 0 &&
        parse_long(argv[2], &proto) < 0)
        return bad_usage(argv[2]);
    return report(socket((int)domain, (int)type, (int)proto));
}

/* ---- network configuration ----------------------------------------------- */

/* Interfaces and their IPv4 addresses: "NAME up|down" per interface, then "NAME A.B.C.D/P". */
static int cmd_ifaces(int argc, char **argv)
{
    struct ifaddrs *ifa, *i;

    (void)argc;
    (void)argv;
    if (getifaddrs(&ifa) < 0)
        return report_errno(errno);
    for (i = ifa; i; i = i->ifa_next)
        if (i->ifa_addr && i->ifa_addr->sa_family == AF_PACKET)
            printf("%s %s\n", i->ifa_name, (i->ifa_flags & IFF_UP) ? "up" : "down");
    for (i = ifa; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
            continue;
        char a[INET_ADDRSTRLEN];
        uint32_t m = ntohl(((struct sockaddr_in *)i->ifa_netmask)->sin_addr.s_addr);
        inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, a, sizeof a);
        printf("%s %s/%d\n", i->ifa_name, a, __builtin_popcount(m));
    }
    freeifaddrs(ifa);
    return 0;
}

/* IPv4 routes from /proc/net/route: "default via GW dev IF" or "NET/P dev IF". */
static int cmd_routes(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    FILE *f = fopen("/proc/net/route", "r");
    if (!f)
        return report_errno(errno);
    char line[256], ifn[32];
    unsigned dst, gw, flags, mask;
    if (!fgets(line, sizeof line, f)) {
        fclose(f);
        return 0;
    }
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%31s %x %x %x %*d %*d %*d %x", ifn, &dst, &gw, &flags, &mask) != 5)
            continue;
        char d[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &dst, d, sizeof d);
        inet_ntop(AF_INET, &gw, g, sizeof g);
        if (dst == 0 && mask == 0)
            printf("default via %s dev %s\n", g, ifn);
        else
            printf("%s/%d dev %s\n", d, __builtin_popcount(mask), ifn);
    }
    fclose(f);
    return 0;
}

/* Send netlink messages and report the first error acknowledgement: ok 0 or errno NAME. */
static int netlink_ack(int proto, const void *msg, size_t len)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, proto);
    if (fd < 0)
        return report_errno(errno);
    struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
    if (sendto(fd, msg, len, 0, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        close(fd);
        return report_errno(e);
    }
    struct pollfd p = { .fd = fd, .events = POLLIN };
    char buf[8192];
    for (;;) {
        if (poll(&p, 1, 2000) <= 0) {
            close(fd);
            return report_errno(ETIMEDOUT);
        }
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0) {
            int e = errno;
            close(fd);
            return report_errno(e);
        }
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type != NLMSG_ERROR)
                continue;
            int e = -((struct nlmsgerr *)NLMSG_DATA(h))->error;
            close(fd);
            if (e == 0) {
                puts("ok 0");
                return 0;
            }
            return report_errno(e);
        }
    }
}

/* "nft flush ruleset" spelled as nf_tables netlink: a batch that deletes every table. */
static int cmd_nft_flush(int argc, char **argv)
{
    struct msg {
        struct nlmsghdr h;
        struct nfgenmsg g;
    } m[3];

    (void)argc;
    (void)argv;
    memset(m, 0, sizeof m);
    for (int i = 0; i < 3; i++) {
        m[i].h.nlmsg_len = sizeof m[i];
        m[i].h.nlmsg_flags = NLM_F_REQUEST;
        m[i].h.nlmsg_seq = (unsigned)i + 1;
        m[i].g.nfgen_family = AF_UNSPEC;
        m[i].g.version = NFNETLINK_V0;
    }
    m[0].h.nlmsg_type = NFNL_MSG_BATCH_BEGIN;
    m[0].g.res_id = htons(NFNL_SUBSYS_NFTABLES);
    m[1].h.nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_DELTABLE;
    m[1].h.nlmsg_flags |= NLM_F_ACK;
    m[2].h.nlmsg_type = NFNL_MSG_BATCH_END;
    m[2].g.res_id = htons(NFNL_SUBSYS_NFTABLES);
    return netlink_ack(NETLINK_NETFILTER, m, sizeof m);
}

/* "ip link set IF down" as rtnetlink. */
static int cmd_link_down(int argc, char **argv)
{
    struct {
        struct nlmsghdr h;
        struct ifinfomsg i;
    } m;

    (void)argc;
    memset(&m, 0, sizeof m);
    m.h.nlmsg_len = sizeof m;
    m.h.nlmsg_type = RTM_NEWLINK;
    m.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    m.i.ifi_family = AF_UNSPEC;
    m.i.ifi_index = (int)if_nametoindex(argv[0]);
    m.i.ifi_change = IFF_UP;
    if (m.i.ifi_index == 0)
        return report_errno(errno);
    return netlink_ack(NETLINK_ROUTE, &m, sizeof m);
}

/* One ICMP echo through an unprivileged ping socket; ok 0 when the reply comes. */
static int cmd_ping(int argc, char **argv)
{
    struct sockaddr_in sin = { .sin_family = AF_INET };
    struct icmphdr req = { .type = ICMP_ECHO };
    char buf[256];

    (void)argc;
    if (inet_pton(AF_INET, argv[0], &sin.sin_addr) != 1)
        return bad_usage("ping A.B.C.D");
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMP);
    if (fd < 0)
        return report_errno(errno);
    req.un.echo.sequence = htons(1);
    if (sendto(fd, &req, sizeof req, 0, (struct sockaddr *)&sin, sizeof sin) < 0) {
        int e = errno;
        close(fd);
        return report_errno(e);
    }
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int r = poll(&p, 1, 2000);
    ssize_t n = r > 0 ? recv(fd, buf, sizeof buf, 0) : -1;
    int e = r == 0 ? ETIMEDOUT : errno;
    close(fd);
    if (n < (ssize_t)sizeof req)
        return report_errno(e);
    puts("ok 0");
    return 0;
}

/* ---- terminals ----------------------------------------------------------- */

static int cmd_tiocsti(int argc, char **argv)
{
    char c = 'x';

    if (argc > 0) {
        if (strcmp(argv[0], "high") != 0)
            return bad_usage(argv[0]);
        /* The kernel must compare the command as 32 bits; filters that compare 64 miss it. */
        unsigned long cmd = (unsigned long)TIOCSTI | 0xffffffff00000000UL;
        return report(syscall(SYS_ioctl, 0L, cmd, &c));
    }
    return report(ioctl(0, TIOCSTI, &c));
}

static int cmd_tioclinux(int argc, char **argv)
{
    char sub = 6; /* TIOCL_GETSHIFTSTATE: harmless, but any TIOCLINUX is refused */
    int v;

    if (argc > 0) {
        if (parse_int(argv[0], &v) < 0 || v < 0 || v > 255)
            return bad_usage(argv[0]);
        sub = (char)v;
    }
    return report(ioctl(0, TIOCLINUX, &sub));
}

/* ---- processes ----------------------------------------------------------- */

static int cmd_sleep(int argc, char **argv)
{
    char *end = NULL;
    double secs;

    (void)argc;
    errno = 0;
    secs = strtod(argv[0], &end);
    if (end == argv[0] || *end != '\0' || errno != 0 || secs < 0 || secs > 1e9)
        return bad_usage(argv[0]);
    struct timespec ts = { .tv_sec = (time_t)secs };
    ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) < 0) {
        if (errno != EINTR)
            return report_errno(errno);
    }
    puts("ok 0");
    return 0;
}

/* now: CLOCK_REALTIME in ns, first thing (tests/bench/spawn.sh: when did the program start?) */
static int cmd_now(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    printf("%lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    return 0;
}

/* loop getpid|openat|read N: N raw calls in a loop, then ns of CPU time (user + system, this
 * thread's) per call (tests/bench/syscall.sh: what a seccomp filter adds to each call). CPU time,
 * not wall time: on a loaded machine the wall clock also counts the time others ran. openat opens
 * and closes /dev/null (2 calls per round, both counted); read reads 1 byte of /dev/zero. */
static int cmd_loop(int argc, char **argv)
{
    (void)argc;
    char *end = NULL;
    long n = strtol(argv[1], &end, 10);
    if (*end || n <= 0)
        return bad_usage(argv[1]);
    int fd = open("/dev/zero", O_RDONLY);
    if (fd < 0)
        return report_errno(errno);
    char c;
    struct timespec a, b;
    long calls = n;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    if (strcmp(argv[0], "getpid") == 0) {
        for (long i = 0; i < n; i++)
            syscall(SYS_getpid);
    } else if (strcmp(argv[0], "read") == 0) {
        for (long i = 0; i < n; i++)
            if (syscall(SYS_read, fd, &c, 1) != 1)
                return report_errno(errno);
    } else if (strcmp(argv[0], "openat") == 0) {
        for (long i = 0; i < n; i++) {
            long f = syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY | O_CLOEXEC);
            if (f < 0)
                return report_errno(errno);
            syscall(SYS_close, f);
        }
        calls = 2 * n;
    } else {
        return bad_usage(argv[0]);
    }
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
    printf("%.1f\n", ns / (double)calls);
    close(fd);
    return 0;
}

static int cmd_exit(int argc, char **argv)
{
    int code;

    (void)argc;
    if (parse_int(argv[0], &code) < 0)
        return bad_usage(argv[0]);
    fflush(stdout);
    _exit(code);
}

static int cmd_kill(int argc, char **argv)
{
    int pid, sig;

    (void)argc;
    if (parse_int(argv[0], &pid) < 0)
        return bad_usage(argv[0]);
    if (parse_signal(argv[1], &sig) < 0)
        return bad_usage(argv[1]);
    return report(kill(pid, sig));
}

static int cmd_signal(int argc, char **argv)
{
    int sig;

    (void)argc;
    if (parse_signal(argv[0], &sig) < 0)
        return bad_usage(argv[0]);
    signal(sig, SIG_DFL);
    return report(raise(sig) == 0 ? 0 : -1);
}

static int cmd_exec(int argc, char **argv)
{
    (void)argc;
    fflush(stdout);
    execvp(argv[0], argv);
    return report_errno(errno);
}

static int cmd_echo(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        printf("%s%s", i ? " " : "", argv[i]);
    putchar('\n');
    return 0;
}

static int cmd_env(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    for (char **e = environ; e && *e; e++)
        puts(*e);
    return 0;
}

static int cmd_cwd(int argc, char **argv)
{
    char buf[PATH_MAX];

    (void)argc;
    (void)argv;
    if (!getcwd(buf, sizeof buf))
        return report_errno(errno);
    puts(buf);
    return 0;
}

static int cmd_ptrace(int argc, char **argv)
{
    int pid, status;

    (void)argc;
    if (parse_int(argv[0], &pid) < 0)
        return bad_usage(argv[0]);
    long ret = syscall(SYS_ptrace, (long)PTRACE_ATTACH, (long)pid, 0L, 0L);
    if (ret < 0)
        return report_errno(errno);
    waitpid(pid, &status, __WALL);
    syscall(SYS_ptrace, (long)PTRACE_DETACH, (long)pid, 0L, 0L);
    return report(ret);
}

static int cmd_unshare(int argc, char **argv)
{
    long flags;

    (void)argc;
    if (parse_ns_flags(argv[0], &flags) < 0)
        return bad_usage(argv[0]);
    return report(syscall(SYS_unshare, flags));
}

static int wait_child_report(long pid)
{
    if (pid == 0)
        _exit(0);
    if (pid < 0)
        return report_errno(errno);
    while (waitpid((pid_t)pid, NULL, __WALL) < 0 && errno == EINTR)
        ;
    printf("ok %ld\n", pid);
    return 0;
}

static int cmd_clone_ns(int argc, char **argv)
{
    long flags = CLONE_NEWUSER;

    if (argc > 0 && parse_ns_flags(argv[0], &flags) < 0)
        return bad_usage(argv[0]);
    /* x86_64 raw clone: flags, stack (0 = share a copy, like fork), ptid, ctid, tls. */
    return wait_child_report(syscall(SYS_clone, flags | SIGCHLD, 0L, 0L, 0L, 0L));
}

static int cmd_clone3(int argc, char **argv)
{
    struct clone_args_v0 args = { .exit_signal = SIGCHLD };
    long flags = 0;

    if (argc > 0 && parse_ns_flags(argv[0], &flags) < 0)
        return bad_usage(argv[0]);
    args.flags = (uint64_t)flags;
    return wait_child_report(syscall(SYS_clone3, &args, sizeof args));
}

static int cmd_setuid(int argc, char **argv)
{
    long uid;

    (void)argc;
    if (parse_long(argv[0], &uid) < 0)
        return bad_usage(argv[0]);
    return report(syscall(SYS_setuid, uid));
}

static int cmd_caps_raise(int argc, char **argv)
{
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct d[2];
    int cap;

    (void)argc;
    if (parse_cap(argv[0], &cap) < 0)
        return bad_usage(argv[0]);
    if (syscall(SYS_capget, &hdr, d) < 0)
        return report_errno(errno);
    __u32 bit = 1U << (cap % 32);
    d[cap / 32].effective |= bit;
    d[cap / 32].permitted |= bit;
    d[cap / 32].inheritable |= bit;
    return report(syscall(SYS_capset, &hdr, d));
}

static int cmd_uring(int argc, char **argv)
{
    struct io_uring_params params;

    (void)argc;
    (void)argv;
    memset(&params, 0, sizeof params);
    return report(syscall(SYS_io_uring_setup, 1L, &params));
}

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Direct I/O bypasses the page cache, so every byte is a bio the cgroup's block throttling sees
 * (buffered writeback is not throttled on cgroup v1). */
static int cmd_directio(int argc, char **argv)
{
    unsigned long long bytes;
    const size_t chunk = 64 * 1024;
    bool rd = argc > 2 && strcmp(argv[2], "read") == 0;

    if (parse_size(argv[1], &bytes) < 0 || (argc > 2 && !rd))
        return bad_usage(argv[1]);
    int fd = open(argv[0], (rd ? O_RDONLY : O_WRONLY | O_CREAT | O_TRUNC) | O_DIRECT, 0644);
    if (fd < 0)
        return report_errno(errno);
    void *buf;
    if (posix_memalign(&buf, 4096, chunk) != 0)
        return report_errno(ENOMEM);
    memset(buf, 'x', chunk);
    double t0 = mono_ms();
    unsigned long long done = 0;
    while (done < bytes) {
        ssize_t n = rd ? read(fd, buf, chunk) : write(fd, buf, chunk);
        if (n < 0)
            return report_errno(errno);
        if (n == 0)
            break;
        done += (unsigned long long)n;
    }
    if (!rd && fsync(fd) < 0)
        return report_errno(errno);
    printf("elapsed_ms %.0f\n", mono_ms() - t0);
    printf("ok %llu\n", done);
    free(buf);
    close(fd);
    return 0;
}

/* Spin for SECONDS of wall time and print the CPU time this process got. */
static int cmd_cpuburn(int argc, char **argv)
{
    double secs;
    char *end;

    (void)argc;
    secs = strtod(argv[0], &end);
    if (*end || secs <= 0)
        return bad_usage(argv[0]);
    double t0 = mono_ms();
    volatile unsigned long spin = 0;
    while (mono_ms() - t0 < secs * 1e3)
        for (int i = 0; i < 10000; i++)
            spin++;
    struct timespec cpu;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
    printf("cpu_ms %.0f\n", (double)cpu.tv_sec * 1e3 + (double)cpu.tv_nsec / 1e6);
    printf("wall_ms %.0f\n", mono_ms() - t0);
    printf("ok 0\n");
    return 0;
}

/* ---- dispatch ------------------------------------------------------------ */

struct command {
    const char *name;
    const char *args;
    int min_args;
    int max_args; /* -1: no limit */
    int (*run)(int argc, char **argv);
    const char *help;
};

static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
    { "syscall", "NAME [ARG...]", 1, 7, cmd_syscall, "raw syscall by name; ARG is an integer or str:TEXT" },
    { "syscall-nr", "NR [ARG...]", 1, 7, cmd_syscall_nr, "raw syscall by number" },
    { "i386", "NR [ARG...]", 1, 6, cmd_i386, "i386 syscall through int $0x80 (at most 5 args)" },
    { "x32", "NR [ARG...]", 1, 7, cmd_x32, "x32 syscall (NR | 0x40000000)" },
    { "status", "", 0, 0, cmd_status, "ids, groups, hostname and the Cap*/NoNewPrivs/Seccomp lines" },
    { "caps", "", 0, 0, cmd_caps, "capability sets in hex, no_new_privs and seccomp mode" },
    { "rlimits", "", 0, 0, cmd_rlimits, "every rlimit as NAME CUR MAX" },
    { "fds", "", 0, 0, cmd_fds, "open fds as 'fd N TARGET', then 'count N'" },
    { "read", "PATH", 1, 1, cmd_read, "read a whole file" },
    { "write", "PATH [TEXT]", 1, 2, cmd_write, "create/truncate PATH (0644) and write TEXT plus a newline" },
    { "open", "PATH [rdonly|wronly|rdwr]", 1, 2, cmd_open, "open and print the fd" },
    { "ls", "PATH", 1, 1, cmd_ls, "directory entries, sorted, one per line" },
    { "mkdir", "PATH", 1, 1, cmd_mkdir, "mkdir with mode 0755" },
    { "stat", "PATH", 1, 1, cmd_stat, "ok mode=0NNN uid=N gid=N" },
    { "exists", "PATH", 1, 1, cmd_exists, "yes (exit 0) or no (exit 1)" },
    { "chmod-suid", "PATH", 1, 1, cmd_chmod_suid, "chmod 04755" },
    { "proc-exe-write", "", 0, 0, cmd_proc_exe_write, "open /proc/self/exe for writing" },
    { "memhog", "SIZE [STEP]", 1, 2, cmd_memhog, "allocate and touch SIZE (e.g. 100M, 1G), printing progress every STEP (default 16M; below 1M in KiB)" },
    { "forkbomb", "[MAX]", 0, 1, cmd_forkbomb, "fork until failure or MAX" },
    { "fdbomb", "[MAX]", 0, 1, cmd_fdbomb, "open /dev/null until failure or MAX" },
    { "diskfill", "PATH [MAX_MIB]", 1, 2, cmd_diskfill, "write 1 MiB blocks until failure or MAX_MIB" },
    { "connect", "ADDR PORT [tcp|udp]", 2, 3, cmd_connect, "connect to a numeric IPv4/IPv6 address" },
    { "listen", "ADDR PORT", 2, 2, cmd_listen, "accept one connection" },
    { "unix", "PATH", 1, 1, cmd_unix, "connect to a unix socket" },
    { "unix-abstract", "NAME", 1, 1, cmd_unix_abstract, "connect to an abstract unix socket" },
    { "socket", "DOMAIN TYPE [PROTO]", 2, 3, cmd_socket, "socket(2); inet inet6 unix netlink packet; stream dgram raw" },
    { "ifaces", "", 0, 0, cmd_ifaces, "interfaces (NAME up|down) and IPv4 addresses (NAME A/P)" },
    { "routes", "", 0, 0, cmd_routes, "IPv4 routes from /proc/net/route" },
    { "nft-flush", "", 0, 0, cmd_nft_flush, "delete every nftables table (netlink batch); ok 0 or errno" },
    { "link-down", "IFNAME", 1, 1, cmd_link_down, "set an interface down (rtnetlink); ok 0 or errno" },
    { "ping", "A.B.C.D", 1, 1, cmd_ping, "one ICMP echo through a ping socket, 2 s for the reply" },
    { "tiocsti", "[high]", 0, 1, cmd_tiocsti, "push a byte into the terminal on fd 0" },
    { "tioclinux", "[SUBCODE]", 0, 1, cmd_tioclinux, "TIOCLINUX on fd 0 (default subcode 6)" },
    { "sleep", "SECONDS", 1, 1, cmd_sleep, "sleep (fractions allowed), then print ok 0" },
    { "exit", "CODE", 1, 1, cmd_exit, "exit with CODE" },
    { "now", "", 0, 0, cmd_now, "print CLOCK_REALTIME in ns (when the program started)" },
    { "loop", "getpid|openat|read N", 2, 2, cmd_loop, "N raw calls, then ns per call" },
    { "kill", "PID SIG", 2, 2, cmd_kill, "kill(2); SIG is a number or a name" },
    { "signal", "SIG", 1, 1, cmd_signal, "raise SIG with its default action" },
    { "exec", "PATH [ARG...]", 1, -1, cmd_exec, "execvp PATH with PATH as argv[0]" },
    { "echo", "[ARG...]", 0, -1, cmd_echo, "print the arguments" },
    { "env", "", 0, 0, cmd_env, "print the environment" },
    { "cwd", "", 0, 0, cmd_cwd, "print the working directory" },
    { "ptrace", "PID", 1, 1, cmd_ptrace, "PTRACE_ATTACH (then detach)" },
    { "unshare", "user|net|mnt|pid|uts|ipc|cgroup|all", 1, 1, cmd_unshare, "unshare(2); names may be comma separated" },
    { "clone-ns", "[NS]", 0, 1, cmd_clone_ns, "raw clone with CLONE_NEWUSER (or NS); prints the child pid" },
    { "clone3", "[NS]", 0, 1, cmd_clone3, "raw clone3 (no flags, or NS); prints the child pid" },
    { "setuid", "UID", 1, 1, cmd_setuid, "setuid(2)" },
    { "caps-raise", "CAP", 1, 1, cmd_caps_raise, "capset adding CAP to all three sets" },
    { "uring", "", 0, 0, cmd_uring, "io_uring_setup(1, params)" },
    { "directio", "PATH SIZE [read]", 2, 3, cmd_directio, "write (or read) SIZE bytes with O_DIRECT in 64 KiB blocks, then fsync" },
    { "cpuburn", "SECONDS", 1, 1, cmd_cpuburn, "spin for SECONDS of wall time, print cpu_ms and wall_ms" },
    { "help", "", 0, 0, cmd_help, "this list" },
};

static void print_commands(FILE *out)
{
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        fprintf(out, "  probe %s%s%s\n      %s\n", commands[i].name,
                commands[i].args[0] ? " " : "", commands[i].args, commands[i].help);
}

static int cmd_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    puts("usage: probe COMMAND [ARG...]");
    puts("prints 'ok RET' (exit 0) or 'errno NAME NUM' (exit 1); usage errors exit 2");
    print_commands(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) {
        fputs("usage: probe COMMAND [ARG...]\n", stderr);
        print_commands(stderr);
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
        const struct command *c = &commands[i];
        int nargs = argc - 2;

        if (strcmp(c->name, argv[1]) != 0)
            continue;
        if (nargs < c->min_args || (c->max_args >= 0 && nargs > c->max_args)) {
            fprintf(stderr, "usage: probe %s %s\n", c->name, c->args);
            return EXIT_USAGE;
        }
        return c->run(nargs, argv + 2);
    }
    fprintf(stderr, "probe: unknown command: %s\n", argv[1]);
    fputs("usage: probe COMMAND [ARG...]\n", stderr);
    print_commands(stderr);
    return EXIT_USAGE;
}
