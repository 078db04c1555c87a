/*
 * attack — a static multi-call binary of escape attempts, run INSIDE gbox sandboxes by
 * the bats suites in tests/adversarial (it is copied into the base image as /usr/bin/attack).
 *
 * Each command makes one attack, the real way (proper arguments, not just the syscall number),
 * so that a result tells which layer stopped it. Output uses the probe's conventions:
 *
 *   ok <retval>            the attempt succeeded
 *   errno <NAME> <num>     the attempt failed
 *   LABEL: ok|errno ...    one line per step for attacks made of several calls
 *
 * A seccomp "kill" rule or an OOM kill ends the process; the test reads gbox's exit code and
 * report. Commands that would change the host if they ever ran outside a sandbox (reboot, clock,
 * modules, kexec, swap, acct) refuse to run unless the process is in a user namespace.
 *
 * Build: gcc -std=c17 -O2 -static -D_GNU_SOURCE -o build/attack tests/adversarial/attack.c
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/io_uring.h>
#include <linux/kexec.h>
#include <linux/netlink.h>
#include <linux/perf_event.h>
#include <linux/reboot.h>
#include <linux/rtnetlink.h>
#include <linux/userfaultfd.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/ipc.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define EXIT_USAGE 2
#define EXIT_REFUSED 4

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef N_GSM0710
#define N_GSM0710 21
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

struct mount_attr_v0 {
    uint64_t attr_set, attr_clr, propagation, userns_fd;
};

/* ---- reporting ---------------------------------------------------------------------------- */

static const char *errno_name(int e)
{
    switch (e) {
#define E(x) case x: return #x;
        E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG) E(ENOEXEC) E(EBADF)
        E(ECHILD) E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(EBUSY) E(EEXIST) E(EXDEV) E(ENODEV)
        E(ENOTDIR) E(EISDIR) E(EINVAL) E(ENFILE) E(EMFILE) E(ENOTTY) E(ETXTBSY) E(EFBIG)
        E(ENOSPC) E(ESPIPE) E(EROFS) E(EMLINK) E(EPIPE) E(ERANGE) E(ENAMETOOLONG) E(ENOSYS)
        E(ENOTEMPTY) E(ELOOP) E(ENODATA) E(EOVERFLOW) E(ENOTSOCK) E(EPROTOTYPE) E(ENOPROTOOPT)
        E(EPROTONOSUPPORT) E(ESOCKTNOSUPPORT) E(EOPNOTSUPP) E(EAFNOSUPPORT) E(EADDRINUSE)
        E(EADDRNOTAVAIL) E(ENETDOWN) E(ENETUNREACH) E(ECONNREFUSED) E(ETIMEDOUT) E(EHOSTUNREACH)
        E(ESTALE) E(EDQUOT) E(ENOKEY) E(EKEYREVOKED) E(ENOTCONN) E(EISCONN)
#undef E
    }
    return NULL;
}

static void print_errno(const char *label, int e)
{
    const char *n = errno_name(e);
    char buf[32];
    if (!n) {
        snprintf(buf, sizeof buf, "E%d", e);
        n = buf;
    }
    if (label)
        printf("%s: errno %s %d\n", label, n, e);
    else
        printf("errno %s %d\n", n, e);
}

/* A libc-style result (-1 + errno) as one line; returns 0 on success, 1 on failure. */
static int result(const char *label, long ret)
{
    if (ret == -1) {
        print_errno(label, errno);
        return 1;
    }
    if (label)
        printf("%s: ok %ld\n", label, ret);
    else
        printf("ok %ld\n", ret);
    return 0;
}

static int usage(const char *what)
{
    fprintf(stderr, "attack: usage: %s\n", what);
    return EXIT_USAGE;
}

static int parse_int(const char *s, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 0);
    if (end == s || *end || errno)
        return -1;
    *out = v;
    return 0;
}

/* In a user namespace other than the initial one? The initial one maps all 2^32 ids onto
 * themselves. Attacks that would change the host refuse to run anywhere else. */
static int in_sandbox(void)
{
    FILE *f = fopen("/proc/self/uid_map", "re");
    unsigned long a = 0, b = 0, c = 0;
    int n = f ? fscanf(f, "%lu %lu %lu", &a, &b, &c) : 0;
    if (f)
        fclose(f);
    return n == 3 && !(a == 0 && b == 0 && c == 4294967295UL);
}

static int require_sandbox(void)
{
    if (in_sandbox())
        return 0;
    fputs("attack: refusing to run this outside a user namespace (it would change the host)\n",
          stderr);
    return -1;
}

/* ---- the runtime binary (CVE-2019-5736 class) ---------------------------------------------- */

static const char *pid_dir(const char *pid, char *buf, size_t len)
{
    snprintf(buf, len, "/proc/%s", pid);
    return buf;
}

/* open /proc/PID/exe for writing, directly */
static int cmd_exe_write(int argc, char **argv)
{
    char d[64], p[96];
    pid_dir(argc > 0 ? argv[0] : "self", d, sizeof d);
    snprintf(p, sizeof p, "%s/exe", d);
    return result(NULL, open(p, O_WRONLY | O_CLOEXEC));
}

/* the runc exploit's way: an O_PATH handle on the binary, reopened for writing through
 * /proc/self/fd once the process that runs it is gone */
static int cmd_exe_reopen(int argc, char **argv)
{
    char d[64], p[96];
    pid_dir(argc > 0 ? argv[0] : "self", d, sizeof d);
    snprintf(p, sizeof p, "%s/exe", d);
    int fd = open(p, O_PATH | O_CLOEXEC);
    if (result("o_path", fd) != 0)
        return 1;
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    return result("reopen", open(p, O_WRONLY | O_CLOEXEC));
}

/* everything of pid 1 (gbox's init, a copy of the host's gbox binary) that would lead outside */
static int cmd_init_proc(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    static const char *const links[] = {"exe", "cwd", "root"};
    static const char *const files[] = {"environ", "maps", "mem", "auxv", "stack"};
    char p[64], buf[PATH_MAX];
    int bad = 0;
    for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
        snprintf(p, sizeof p, "/proc/1/%s", links[i]);
        ssize_t n = readlink(p, buf, sizeof buf - 1);
        char label[32];
        snprintf(label, sizeof label, "readlink %s", links[i]);
        bad |= result(label, n) == 0;
        snprintf(label, sizeof label, "open %s", links[i]);
        int fd = open(p, O_PATH | O_CLOEXEC);
        bad |= result(label, fd) == 0;
    }
    for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
        snprintf(p, sizeof p, "/proc/1/%s", files[i]);
        char label[32];
        snprintf(label, sizeof label, "open %s", files[i]);
        bad |= result(label, open(p, O_RDONLY | O_CLOEXEC)) == 0;
    }
    int fd = open("/proc/1/mem", O_WRONLY | O_CLOEXEC);
    bad |= result("write mem", fd) == 0;
    DIR *d = opendir("/proc/1/fd");
    bad |= result("list fd", d ? 0 : -1) == 0;
    return bad;
}

/* ---- leaked file descriptors and working directory (CVE-2024-21626 class) ------------------ */

static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Climb ".." from a directory until it stops moving; the top must be our own root. */
static int reaches_foreign_root(int dirfd, const struct stat *root)
{
    int cur = dup(dirfd);
    struct stat st, up;
    if (cur < 0 || fstat(cur, &st) < 0)
        return 0;
    for (int i = 0; i < 4096; i++) {
        int next = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (next < 0 || fstat(next, &up) < 0) {
            close(cur);
            if (next >= 0)
                close(next);
            return 0;
        }
        close(cur);
        cur = next;
        if (same_file(&up, &st))
            break;
        st = up;
    }
    close(cur);
    return !same_file(&st, root);
}

static const char *kind(mode_t m)
{
    return S_ISDIR(m) ? "dir" : S_ISREG(m) ? "file" : S_ISCHR(m) ? "chr" : S_ISBLK(m) ? "blk"
         : S_ISFIFO(m) ? "fifo" : S_ISSOCK(m) ? "sock" : S_ISLNK(m) ? "link" : "other";
}

static int cmd_fd_escape(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct stat root, st;
    struct rlimit rl;
    int escapes = 0, count = 0;
    if (stat("/", &root) < 0)
        return result("stat /", -1);
    int here = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    long max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY ? (long)rl.rlim_max : 65536;
    if (max > 1048576)
        max = 1048576;
    /* every descriptor number, not just what /proc lists */
    for (int fd = 0; fd < max; fd++) {
        if (fd == here || fcntl(fd, F_GETFD) < 0 || fstat(fd, &st) < 0)
            continue;
        char link[64], target[PATH_MAX];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, target, sizeof target - 1);
        target[n < 0 ? 0 : n] = '\0';
        count++;
        int esc = 0;
        if (S_ISDIR(st.st_mode)) {
            esc = reaches_foreign_root(fd, &root);
            char cwd[PATH_MAX];
            if (fchdir(fd) == 0) {
                if (!getcwd(cwd, sizeof cwd) || cwd[0] != '/')
                    esc = 1;
                if (here >= 0 && fchdir(here) < 0)
                    esc = 1;
            }
            int probe = openat(fd, "etc/passwd", O_RDONLY | O_CLOEXEC);
            if (probe >= 0) {
                struct stat ps, ours;
                if (fstat(probe, &ps) == 0 && (stat("/etc/passwd", &ours) < 0 || !same_file(&ps, &ours)))
                    esc = 1;
                close(probe);
            }
        }
        printf("fd %d %s %s%s\n", fd, kind(st.st_mode), target, esc ? " ESCAPE" : "");
        escapes += esc;
    }
    /* the working directory, and /proc's view of it and of the root */
    char cwd[PATH_MAX], buf[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) {
        print_errno("getcwd", errno);
        escapes++;
    } else {
        int out = cwd[0] != '/' || reaches_foreign_root(here, &root);
        printf("cwd %s%s\n", cwd, out ? " ESCAPE" : "");
        escapes += out;
    }
    static const char *const views[] = {"/proc/self/cwd", "/proc/self/root"};
    for (size_t i = 0; i < ARRAY_SIZE(views); i++) {
        ssize_t n = readlink(views[i], buf, sizeof buf - 1);
        buf[n < 0 ? 0 : n] = '\0';
        int fd = open(views[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
        int out = n <= 0 || buf[0] != '/' || (fd >= 0 && reaches_foreign_root(fd, &root));
        printf("%s %s%s\n", views[i], buf, out ? " ESCAPE" : "");
        escapes += out;
        if (fd >= 0)
            close(fd);
    }
    /* ".." from the root stays at the root */
    for (int i = 0; i < 64; i++)
        if (chdir("..") < 0)
            break;
    if (stat(".", &st) == 0 && !same_file(&st, &root)) {
        puts("chdir .. ESCAPE");
        escapes++;
    }
    printf("fds %d\n", count);
    puts(escapes ? "ESCAPED" : "contained");
    return escapes ? 1 : 0;
}

/* ---- kernel interfaces ---------------------------------------------------------------------- */

/* "shocker" (2014): open a host inode by a guessed handle, relative to any fd on that fs */
static int cmd_open_by_handle(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct {
        struct file_handle h;
        unsigned char bytes[8];
    } fh = {.h = {.handle_bytes = 8, .handle_type = 1}};
    uint32_t ino = 2; /* the root inode of most file systems */
    memcpy(fh.h.f_handle, &ino, sizeof ino);
    int mfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return result(NULL, syscall(SYS_open_by_handle_at, mfd, &fh.h, O_RDONLY));
}

static int cmd_name_to_handle(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct {
        struct file_handle h;
        unsigned char bytes[128];
    } fh = {.h = {.handle_bytes = 128}};
    int mount_id;
    return result(NULL, syscall(SYS_name_to_handle_at, AT_FDCWD, "/", &fh.h, &mount_id, 0));
}

/* A pty of our own made the controlling terminal of a new session, then TIOCSTI on it: without
 * the seccomp rule this pushes input into the terminal (the kernel allows it on one's own
 * controlling tty while dev.tty.legacy_tiocsti=1). */
static int sti_on_ctty(unsigned long cmd, const char *label)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0)
        return result("openpt", -1);
    char name[64];
    if (ptsname_r(m, name, sizeof name) != 0)
        return result("ptsname", -1);
    int pfd[2];
    if (pipe(pfd) < 0)
        return result("pipe", -1);
    pid_t pid = fork();
    if (pid < 0)
        return result("fork", -1);
    if (pid == 0) {
        int r[2] = {0, 0};
        if (setsid() < 0) {
            r[0] = -1, r[1] = errno;
        } else {
            int s = open(name, O_RDWR); /* no O_NOCTTY: becomes the controlling terminal */
            char c = 'x';
            if (s < 0 || syscall(SYS_ioctl, s, cmd, &c) < 0)
                r[0] = -1, r[1] = errno;
        }
        if (write(pfd[1], r, sizeof r) < 0)
            _exit(1);
        _exit(0);
    }
    int r[2] = {-1, EIO};
    close(pfd[1]);
    if (read(pfd[0], r, sizeof r) != sizeof r)
        r[0] = -1, r[1] = EIO;
    waitpid(pid, NULL, 0);
    if (r[0] < 0) {
        print_errno(label, r[1]);
        return 1;
    }
    /* prove it: the byte shows up on the master side */
    struct pollfd p = {.fd = m, .events = POLLIN};
    char got = 0;
    if (poll(&p, 1, 1000) == 1 && read(m, &got, 1) == 1 && got == 'x')
        printf("%s: ok injected\n", label);
    else
        printf("%s: ok\n", label);
    return 0;
}

static int cmd_tiocsti(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int bad = 0;
    bad |= sti_on_ctty(TIOCSTI, "TIOCSTI") == 0;
    /* the kernel reads the request as 32 bits; a filter comparing 64 would miss this one */
    bad |= sti_on_ctty((unsigned long)TIOCSTI | (1UL << 32), "TIOCSTI|1<<32") == 0;
    bad |= sti_on_ctty((unsigned long)TIOCSTI | 0xffffffff00000000UL, "TIOCSTI|~0<<32") == 0;
    return bad;
}

static int cmd_tioclinux(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    char sub = 2; /* TIOCL_SETSEL: select, then paste with TIOCL_PASTESEL (the real attack) */
    int bad = 0;
    bad |= result("TIOCLINUX", syscall(SYS_ioctl, m, (unsigned long)TIOCLINUX, &sub)) == 0;
    bad |= result("TIOCLINUX|1<<32", syscall(SYS_ioctl, m, (unsigned long)TIOCLINUX | (1UL << 32), &sub)) == 0;
    bad |= result("TIOCLINUX on fd 0", syscall(SYS_ioctl, 0, (unsigned long)TIOCLINUX, &sub)) == 0;
    return bad;
}

/* the line discipline of one's own pty: n_gsm and friends are a known kernel attack surface */
static int cmd_ldisc(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    int ld = N_GSM0710;
    if (m < 0)
        return result("openpt", -1);
    return result(NULL, ioctl(m, TIOCSETD, &ld));
}

static int cmd_tty(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return result(NULL, open("/dev/tty", O_RDWR | O_CLOEXEC));
}

static int cmd_keyring(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int bad = 0;
    bad |= result("add_key", syscall(SYS_add_key, "user", "gbox-attack", "x", 1L, -2L)) == 0;
    bad |= result("keyctl join", syscall(SYS_keyctl, 1L /* KEYCTL_JOIN_SESSION_KEYRING */, 0L)) == 0;
    bad |= result("request_key", syscall(SYS_request_key, "user", "gbox-attack", 0L, -2L)) == 0;
    return bad;
}

static int cmd_userfaultfd(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return result(NULL, syscall(SYS_userfaultfd, (long)(O_CLOEXEC | UFFD_USER_MODE_ONLY)));
}

static int cmd_bpf(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct bpf_insn prog[] = {
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
        {.code = BPF_JMP | BPF_EXIT},
    };
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    attr.insns = (uint64_t)(uintptr_t)prog;
    attr.insn_cnt = ARRAY_SIZE(prog);
    attr.license = (uint64_t)(uintptr_t)"GPL";
    return result(NULL, syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr));
}

static int cmd_perf(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.type = PERF_TYPE_SOFTWARE;
    a.size = sizeof a;
    a.config = PERF_COUNT_SW_CPU_CLOCK;
    a.disabled = 1;
    a.exclude_kernel = 1;
    a.exclude_hv = 1;
    return result(NULL, syscall(SYS_perf_event_open, &a, 0L, -1L, -1L, 0L));
}

static int cmd_uring(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    int bad = 0;
    bad |= result("io_uring_setup", syscall(SYS_io_uring_setup, 8L, &p)) == 0;
    bad |= result("io_uring_enter", syscall(SYS_io_uring_enter, 0L, 1L, 0L, 0L, NULL, 0L)) == 0;
    bad |= result("io_uring_register", syscall(SYS_io_uring_register, 0L, 0L, NULL, 0L)) == 0;
    return bad;
}

/* ---- namespaces ------------------------------------------------------------------------------ */

static int wait_clone(long pid, const char *label)
{
    if (pid == 0)
        _exit(0);
    if (pid > 0)
        waitpid((pid_t)pid, NULL, __WALL);
    return result(label, pid);
}

/* clone with namespace flags, including a flag hidden above bit 31 (the kernel reads 32) */
static int cmd_clone_ns(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int bad = 0;
    bad |= wait_clone(syscall(SYS_clone, (long)(CLONE_NEWUSER | SIGCHLD), 0L, 0L, 0L, 0L),
                      "clone NEWUSER") == 0;
    bad |= wait_clone(syscall(SYS_clone, (long)(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID |
                                                CLONE_NEWNET | SIGCHLD), 0L, 0L, 0L, 0L),
                      "clone NEWUSER|NEWNS|NEWPID|NEWNET") == 0;
    bad |= wait_clone(syscall(SYS_clone, (long)((1UL << 32) | CLONE_NEWUSER | SIGCHLD), 0L, 0L, 0L, 0L),
                      "clone NEWUSER|1<<32") == 0;
    bad |= wait_clone(syscall(SYS_clone, (long)(CLONE_NEWCGROUP | SIGCHLD), 0L, 0L, 0L, 0L),
                      "clone NEWCGROUP") == 0;
    struct {
        uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
    } ca = {.flags = CLONE_NEWUSER, .exit_signal = SIGCHLD};
    bad |= wait_clone(syscall(SYS_clone3, &ca, sizeof ca), "clone3 NEWUSER") == 0;
    return bad;
}

static int cmd_unshare(int argc, char **argv)
{
    long flags = CLONE_NEWUSER;
    if (argc > 0 && parse_int(argv[0], &flags) < 0)
        return usage("unshare [FLAGS]");
    return result(NULL, syscall(SYS_unshare, flags));
}

static int cmd_setns(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int fd = open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC);
    if (result("open ns", fd) != 0)
        return 1;
    return result("setns", syscall(SYS_setns, fd, 0L));
}

/* ---- mounts ---------------------------------------------------------------------------------- */

static int cmd_mount_api(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int bad = 0;
    struct mount_attr_v0 attr = {.attr_clr = MOUNT_ATTR_RDONLY};
    bad |= result("mount", mount("none", "/tmp", "tmpfs", 0, NULL)) == 0;
    bad |= result("mount bind", mount("/", "/tmp", NULL, MS_BIND | MS_REC, NULL)) == 0;
    bad |= result("remount rw", mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND, NULL)) == 0;
    bad |= result("umount2", umount2("/proc", MNT_DETACH)) == 0;
    bad |= result("pivot_root", syscall(SYS_pivot_root, "/tmp", "/tmp")) == 0;
    bad |= result("chroot", chroot("/tmp")) == 0;
    long fs = syscall(SYS_fsopen, "tmpfs", 0L);
    bad |= result("fsopen", fs) == 0;
    bad |= result("fsconfig", syscall(SYS_fsconfig, fs, 6L /* FSCONFIG_CMD_CREATE */, 0L, 0L, 0L)) == 0;
    bad |= result("fsmount", syscall(SYS_fsmount, fs, 0L, 0L)) == 0;
    bad |= result("fspick", syscall(SYS_fspick, AT_FDCWD, "/", 0L)) == 0;
    long tree = syscall(SYS_open_tree, AT_FDCWD, "/", (long)OPEN_TREE_CLONE);
    bad |= result("open_tree", tree) == 0;
    bad |= result("move_mount", syscall(SYS_move_mount, tree, "", AT_FDCWD, "/tmp",
                                        (long)MOVE_MOUNT_F_EMPTY_PATH)) == 0;
    bad |= result("mount_setattr", syscall(SYS_mount_setattr, AT_FDCWD, "/", (long)AT_RECURSIVE,
                                           &attr, sizeof attr)) == 0;
    return bad;
}

/* CVE-2022-0492: a cgroup v1 hierarchy of one's own, to write its release_agent */
static int cmd_cgroup_mount(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    mkdir("/tmp/cg", 0755);
    return result(NULL, mount("cgroup", "/tmp/cg", "cgroup", 0, "rdma"));
}

/* ---- attacks that would change the host: only inside a user namespace ----------------------- */

static int cmd_modules(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    if (require_sandbox() < 0)
        return EXIT_REFUSED;
    static const char img[64] = "\177ELF";
    int fd = open("/usr/bin/attack", O_RDONLY | O_CLOEXEC);
    int bad = 0;
    bad |= result("init_module", syscall(SYS_init_module, img, sizeof img, "")) == 0;
    bad |= result("finit_module", syscall(SYS_finit_module, fd, "", 0L)) == 0;
    bad |= result("delete_module", syscall(SYS_delete_module, "loop", (long)O_NONBLOCK)) == 0;
    return bad;
}

static int cmd_kexec(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    if (require_sandbox() < 0)
        return EXIT_REFUSED;
    int fd = open("/usr/bin/attack", O_RDONLY | O_CLOEXEC);
    int bad = 0;
    bad |= result("kexec_load", syscall(SYS_kexec_load, 0L, 0L, NULL, (long)KEXEC_ARCH_DEFAULT)) == 0;
    bad |= result("kexec_file_load", syscall(SYS_kexec_file_load, fd, -1L, 1L, "",
                                             (long)KEXEC_FILE_NO_INITRAMFS)) == 0;
    return bad;
}

static int cmd_reboot(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    if (require_sandbox() < 0)
        return EXIT_REFUSED;
    return result(NULL, syscall(SYS_reboot, (long)LINUX_REBOOT_MAGIC1, (long)LINUX_REBOOT_MAGIC2,
                                (long)LINUX_REBOOT_CMD_RESTART, NULL));
}

static int cmd_clock(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    if (require_sandbox() < 0)
        return EXIT_REFUSED;
    struct timeval tv;
    struct timespec ts;
    struct timex tx;
    int bad = 0;
    gettimeofday(&tv, NULL);
    clock_gettime(CLOCK_REALTIME, &ts);
    memset(&tx, 0, sizeof tx);
    tx.modes = ADJ_OFFSET_SINGLESHOT;
    tx.offset = 0;
    bad |= result("settimeofday", settimeofday(&tv, NULL)) == 0;
    bad |= result("clock_settime", clock_settime(CLOCK_REALTIME, &ts)) == 0;
    bad |= result("adjtimex", syscall(SYS_adjtimex, &tx)) == 0;
    bad |= result("clock_adjtime", syscall(SYS_clock_adjtime, (long)CLOCK_REALTIME, &tx)) == 0;
    return bad;
}

static int cmd_swap(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    if (require_sandbox() < 0)
        return EXIT_REFUSED;
    int bad = 0;
    bad |= result("swapon", syscall(SYS_swapon, "/tmp/swapfile", 0L)) == 0;
    bad |= result("swapoff", syscall(SYS_swapoff, "/tmp/swapfile")) == 0;
    return bad;
}

static int cmd_acct(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    if (require_sandbox() < 0)
        return EXIT_REFUSED;
    return result(NULL, syscall(SYS_acct, "/tmp/acct"));
}

static int cmd_personality(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return result(NULL, syscall(SYS_personality, (long)READ_IMPLIES_EXEC));
}

static int cmd_syslog(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    static char buf[4096];
    return result(NULL, syscall(SYS_syslog, 3L /* SYSLOG_ACTION_READ_ALL */, buf, (long)sizeof buf));
}

static int cmd_hw(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    static char ldt[16];
    int bad = 0;
    bad |= result("iopl", syscall(SYS_iopl, 3L)) == 0;
    bad |= result("ioperm", syscall(SYS_ioperm, 0x80L, 1L, 1L)) == 0;
    bad |= result("modify_ldt", syscall(SYS_modify_ldt, 1L, ldt, (long)sizeof ldt)) == 0;
    return bad;
}

/* ---- other processes ------------------------------------------------------------------------ */

static int cmd_see_pid(int argc, char **argv)
{
    long pid;
    if (argc < 1 || parse_int(argv[0], &pid) < 0)
        return usage("see-pid PID");
    char p[64];
    struct stat st;
    snprintf(p, sizeof p, "/proc/%ld", pid);
    int bad = 0;
    bad |= result("kill 0", kill((pid_t)pid, 0)) == 0;
    bad |= result("pidfd_open", syscall(SYS_pidfd_open, pid, 0L)) == 0;
    bad |= result("stat /proc/PID", stat(p, &st)) == 0;
    bad |= result("kill KILL", kill((pid_t)pid, SIGKILL)) == 0;
    return bad;
}

static int cmd_ptrace(int argc, char **argv)
{
    long pid;
    if (argc < 1 || parse_int(argv[0], &pid) < 0)
        return usage("ptrace PID");
    return result(NULL, syscall(SYS_ptrace, 16L /* PTRACE_ATTACH */, pid, 0L, 0L));
}

static int cmd_vm_read(int argc, char **argv)
{
    long pid;
    if (argc < 1 || parse_int(argv[0], &pid) < 0)
        return usage("vm-read PID");
    char buf[64];
    struct iovec local = {buf, sizeof buf}, remote = {(void *)0x400000, sizeof buf};
    return result(NULL, syscall(SYS_process_vm_readv, pid, &local, 1L, &remote, 1L, 0L));
}

/* Steal an fd of pid 1 (gbox's init holds the socket to gbox on the host; with it the program
 * could forge init's reports): pidfd_open is allowed, pidfd_getfd is not. */
static int cmd_pidfd_getfd(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    long pfd = syscall(SYS_pidfd_open, 1L, 0L);
    if (result("pidfd_open 1", pfd) != 0)
        return 1;
    int bad = 0;
    for (long fd = 3; fd < 8; fd++) {
        char label[32];
        snprintf(label, sizeof label, "pidfd_getfd %ld", fd);
        bad |= result(label, syscall(SYS_pidfd_getfd, pfd, fd, 0L)) == 0;
    }
    return bad;
}

static int cmd_kcmp(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return result(NULL, syscall(SYS_kcmp, 1L, (long)getpid(), 0L /* KCMP_FILE */, 3L, 0L));
}

static int cmd_vm_write(int argc, char **argv)
{
    long pid;
    if (argc < 1 || parse_int(argv[0], &pid) < 0)
        return usage("vm-write PID");
    char buf[64] = "gbox";
    struct iovec local = {buf, sizeof buf}, remote = {(void *)0x400000, sizeof buf};
    return result(NULL, syscall(SYS_process_vm_writev, pid, &local, 1L, &remote, 1L, 0L));
}

/* kill(-1): every process the caller may signal, which must be the sandbox's own only */
static int cmd_kill_all(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return result(NULL, kill(-1, SIGKILL));
}

/* System V shared memory by key: create it (and keep it), or look it up. */
static int cmd_shm(int argc, char **argv)
{
    long key;
    if (argc < 2 || parse_int(argv[1], &key) < 0 || (strcmp(argv[0], "create") != 0 && strcmp(argv[0], "open") != 0))
        return usage("shm create|open KEY");
    int create = strcmp(argv[0], "create") == 0;
    return result(NULL, syscall(SYS_shmget, key, 4096L, create ? (long)(IPC_CREAT | 0666) : 0L) < 0 ? -1 : 0);
}

/* ---- privileges ----------------------------------------------------------------------------- */

static int cmd_privs(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2] = {{~0U, ~0U, ~0U}, {~0U, ~0U, ~0U}};
    int bad = 0;
    bad |= result("capset all", syscall(SYS_capset, &hdr, d)) == 0;
    bad |= result("ambient raise", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (long)CAP_SYS_ADMIN, 0L, 0L)) == 0;
    bad |= result("setuid 0", syscall(SYS_setuid, 0L)) == 0;
    bad |= result("setresuid 0", syscall(SYS_setresuid, 0L, 0L, 0L)) == 0;
    bad |= result("setgid 0", syscall(SYS_setgid, 0L)) == 0;
    bad |= result("setgroups", syscall(SYS_setgroups, 0L, NULL)) == 0;
    bad |= result("unset no_new_privs", prctl(PR_SET_NO_NEW_PRIVS, 0L, 0L, 0L, 0L)) == 0;
    bad |= result("disable seccomp", prctl(PR_SET_SECCOMP, 0L /* SECCOMP_MODE_DISABLED */, 0L, 0L, 0L)) == 0;
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_max = rl.rlim_cur = rl.rlim_max + 1;
    bad |= result("raise RLIMIT_NOFILE", setrlimit(RLIMIT_NOFILE, &rl)) == 0;
    struct sched_param sp = {.sched_priority = 1};
    bad |= result("SCHED_FIFO", sched_setscheduler(0, SCHED_FIFO, &sp)) == 0;
    bad |= result("nice -20", setpriority(PRIO_PROCESS, 0, -20)) == 0;
    bad |= result("mknod /dev/mem", mknod("/tmp/mem", S_IFCHR | 0600, makedev(1, 1))) == 0;
    return bad;
}

/* Turn core dumps "off" with 0, which re-enables dumps to a core_pattern pipe (the host's
 * crash handler, root on the host): setrlimit and prlimit64. */
static int cmd_core_limit(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct rlimit zero = {0, 0}, old;
    int bad = 0;
    bad |= result("setrlimit", syscall(SYS_setrlimit, (long)RLIMIT_CORE, &zero)) == 0;
    bad |= result("prlimit64", syscall(SYS_prlimit64, 0L, (long)RLIMIT_CORE, &zero, NULL)) == 0;
    /* the kernel reads the resource as 32 bits: a filter comparing 64 would miss these */
    bad |= result("setrlimit|1<<32", syscall(SYS_setrlimit, (long)RLIMIT_CORE | (1L << 32), &zero)) == 0;
    bad |= result("prlimit64|1<<32", syscall(SYS_prlimit64, 0L, (long)RLIMIT_CORE | (1L << 32), &zero, NULL)) == 0;
    bad |= result("prlimit64 read", syscall(SYS_prlimit64, 0L, (long)RLIMIT_CORE, NULL, &old)) != 0;
    printf("core %llu %llu\n", (unsigned long long)old.rlim_cur, (unsigned long long)old.rlim_max);
    return bad;
}

static int cmd_oom_adj(int argc, char **argv)
{
    const char *v = argc > 0 ? argv[0] : "-1000";
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return result(NULL, -1);
    ssize_t n = write(fd, v, strlen(v));
    close(fd);
    return result(NULL, n);
}

/* (host helper) The kernel's Landlock ABI: a number, 0 when Landlock is off or missing. The
 * suites assert gbox's refusal where the kernel lacks the ABI a test needs (the 6.1 VM). */
static int cmd_landlock_abi(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, 1U /* LANDLOCK_CREATE_RULESET_VERSION */);
    printf("%ld\n", abi < 0 ? 0L : abi);
    return 0;
}

/* What each path shows: "null" (the null device, reads nothing), "empty-dir" (an empty or
 * unreadable directory), "absent", or "EXPOSED <kind> <bytes readable>". */
static int cmd_masked(int argc, char **argv)
{
    int bad = 0;
    for (int i = 0; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) < 0) {
            printf("%s: %s\n", argv[i], errno == ENOENT ? "absent" : "stat failed");
            bad |= errno != ENOENT;
            continue;
        }
        if (S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3) {
            printf("%s: null\n", argv[i]);
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            DIR *d = opendir(argv[i]);
            int n = 0;
            struct dirent *de;
            while (d && (de = readdir(d)))
                n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
            if (d)
                closedir(d);
            printf("%s: %s\n", argv[i], n == 0 ? "empty-dir" : "EXPOSED dir");
            bad |= n != 0;
            continue;
        }
        char buf[4096];
        long total = 0;
        int fd = open(argv[i], O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        ssize_t n;
        while (fd >= 0 && (n = read(fd, buf, sizeof buf)) > 0 && total < (1 << 20))
            total += n;
        if (fd >= 0)
            close(fd);
        printf("%s: EXPOSED %s %ld\n", argv[i], kind(st.st_mode), total);
        bad = 1;
    }
    return bad;
}

/* ---- network -------------------------------------------------------------------------------- */

static const char *const family_names[] = {
    [1] = "unix", [2] = "inet", [3] = "ax25", [4] = "ipx", [5] = "appletalk", [6] = "netrom",
    [7] = "bridge", [8] = "atmpvc", [9] = "x25", [10] = "inet6", [11] = "rose", [12] = "decnet",
    [13] = "netbeui", [14] = "security", [15] = "key", [16] = "netlink", [17] = "packet",
    [18] = "ash", [19] = "econet", [20] = "atmsvc", [21] = "rds", [22] = "sna", [23] = "irda",
    [24] = "pppox", [25] = "wanpipe", [26] = "llc", [27] = "ib", [28] = "mpls", [29] = "can",
    [30] = "tipc", [31] = "bluetooth", [32] = "iucv", [33] = "rxrpc", [34] = "isdn",
    [35] = "phonet", [36] = "ieee802154", [37] = "caif", [38] = "alg", [39] = "nfc",
    [40] = "vsock", [41] = "kcm", [42] = "qipcrtr", [43] = "smc", [44] = "xdp", [45] = "mctp",
};

/* Every address family and socket type: which ones the sandbox can create a socket of. Only
 * creation: nothing is ever connected. */
static int cmd_socket_families(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    static const int types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET};
    printf("created:");
    for (int fam = 0; fam < 64; fam++) {
        int created = 0;
        for (size_t t = 0; t < ARRAY_SIZE(types); t++) {
            int fd = socket(fam, types[t] | SOCK_CLOEXEC, 0);
            if (fd >= 0) {
                created = 1;
                close(fd);
            }
        }
        if (created)
            printf(" %s", fam < (int)ARRAY_SIZE(family_names) && family_names[fam] ? family_names[fam] : "?");
    }
    printf("\nsocketpair:");
    for (int fam = 0; fam < 64; fam++) {
        int sv[2], created = 0;
        for (size_t t = 0; t < ARRAY_SIZE(types); t++) {
            if (socketpair(fam, types[t] | SOCK_CLOEXEC, 0, sv) == 0) {
                created = 1;
                close(sv[0]);
                close(sv[1]);
            }
        }
        if (created)
            printf(" %s", fam < (int)ARRAY_SIZE(family_names) && family_names[fam] ? family_names[fam] : "?");
    }
    putchar('\n');
    return 0;
}

static int cmd_vsock(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    /* creation only: a vsock socket reaches the hypervisor host, outside every namespace */
    int bad = 0;
    bad |= result("stream", socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0)) == 0;
    bad |= result("dgram", socket(AF_VSOCK, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == 0;
    bad |= result("seqpacket", socket(AF_VSOCK, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) == 0;
    return bad;
}

struct nlreq {
    struct nlmsghdr nh;
    union {
        struct ifinfomsg ifi;
        struct ifaddrmsg ifa;
    };
    char attrs[64];
};

static int nl_ack(int fd)
{
    char buf[8192];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0)
        return -errno;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n))
        if (h->nlmsg_type == NLMSG_ERROR)
            return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
    return -EPROTO;
}

static int nl_result(const char *label, int r)
{
    if (r < 0) {
        print_errno(label, -r);
        return 1;
    }
    printf("%s: ok 0\n", label);
    return 0;
}

/* rtnetlink in the sandbox's own network namespace: listing is fine, changing is not */
static int cmd_netlink(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (result("socket", fd) != 0)
        return 1;
    /* list the links */
    struct nlreq q;
    memset(&q, 0, sizeof q);
    q.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
    q.nh.nlmsg_type = RTM_GETLINK;
    q.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    q.ifi.ifi_family = AF_UNSPEC;
    send(fd, &q, q.nh.nlmsg_len, 0);
    printf("links:");
    for (int done = 0; !done;) {
        char buf[16384];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
                done = 1;
                break;
            }
            struct ifinfomsg *ifi = NLMSG_DATA(h);
            int len = (int)IFLA_PAYLOAD(h);
            for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len))
                if (a->rta_type == IFLA_IFNAME)
                    printf(" %s", (char *)RTA_DATA(a));
        }
    }
    putchar('\n');
    /* take lo down */
    memset(&q, 0, sizeof q);
    q.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
    q.nh.nlmsg_type = RTM_NEWLINK;
    q.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    q.ifi.ifi_index = (int)if_nametoindex("lo");
    q.ifi.ifi_change = IFF_UP;
    q.ifi.ifi_flags = 0;
    send(fd, &q, q.nh.nlmsg_len, 0);
    int bad = nl_result("link down", nl_ack(fd)) == 0;
    /* add an address */
    memset(&q, 0, sizeof q);
    q.nh.nlmsg_type = RTM_NEWADDR;
    q.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
    q.ifa.ifa_family = AF_INET;
    q.ifa.ifa_prefixlen = 8;
    q.ifa.ifa_index = (unsigned)if_nametoindex("lo");
    struct rtattr *a = (struct rtattr *)q.attrs;
    a->rta_type = IFA_LOCAL;
    a->rta_len = RTA_LENGTH(4);
    uint32_t addr = htonl(0x0a090909);
    memcpy(RTA_DATA(a), &addr, 4);
    q.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg)) + RTA_ALIGN(a->rta_len);
    send(fd, &q, q.nh.nlmsg_len, 0);
    bad |= nl_result("add address", nl_ack(fd)) == 0;
    return bad;
}

/* nf_tables, the most used road from a user namespace to root (CVE-2022-32250, CVE-2023-32233,
 * CVE-2024-1086): create a table in the sandbox's own network namespace. */
static int cmd_nftables(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
    if (result("socket", fd) != 0)
        return 1;
    char buf[256];
    memset(buf, 0, sizeof buf);
    size_t off = 0;
    /* batch begin, NFT_MSG_NEWTABLE "gbox" (inet), batch end */
    static const uint16_t types[] = {0x10 /* NFNL_MSG_BATCH_BEGIN */, (10 << 8) | 0 /* NFT_MSG_NEWTABLE */,
                                     0x11 /* NFNL_MSG_BATCH_END */};
    for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
        struct nlmsghdr *h = (struct nlmsghdr *)(buf + off);
        unsigned char *g = NLMSG_DATA(h); /* struct nfgenmsg: family, version, res_id */
        h->nlmsg_type = types[i];
        h->nlmsg_flags = NLM_F_REQUEST;
        h->nlmsg_seq = (uint32_t)i + 1;
        size_t len = NLMSG_LENGTH(4);
        if (i == 1) {
            h->nlmsg_flags |= NLM_F_ACK | NLM_F_CREATE;
            g[0] = 1; /* NFPROTO_INET */
            struct rtattr *a = (struct rtattr *)(buf + off + NLMSG_ALIGN(len));
            a->rta_type = 1; /* NFTA_TABLE_NAME */
            a->rta_len = RTA_LENGTH(5);
            memcpy(RTA_DATA(a), "gbox", 5);
            len = NLMSG_ALIGN(len) + RTA_ALIGN(a->rta_len);
        } else {
            g[2] = 0, g[3] = 10; /* res_id = htons(NFNL_SUBSYS_NFTABLES) */
        }
        h->nlmsg_len = (uint32_t)len;
        off += NLMSG_ALIGN(len);
    }
    if (send(fd, buf, off, 0) < 0)
        return result("send", -1);
    return nl_result("new table", nl_ack(fd)) == 0;
}

/* iptables through setsockopt on an ordinary UDP socket (CVE-2021-22555 was in this path) */
static int cmd_iptables(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (result("socket", fd) != 0)
        return 1;
    static char blob[1024];
    return result("IPT_SO_SET_REPLACE", setsockopt(fd, SOL_IP, 64 /* IPT_SO_SET_REPLACE */, blob, sizeof blob));
}

/* Which netlink protocols the sandbox can open a socket of. */
static int cmd_netlink_protocols(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("created:");
    for (int proto = 0; proto < 32; proto++) {
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, proto);
        if (fd >= 0) {
            printf(" %d", proto);
            close(fd);
        }
    }
    putchar('\n');
    return 0;
}

/* host side helper: an abstract unix socket listener (accepts until killed) */
static int cmd_listen_abstract(int argc, char **argv)
{
    if (argc < 1)
        return usage("listen-abstract NAME");
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    size_t n = strlen(argv[0]);
    if (n + 1 >= sizeof sun.sun_path)
        return usage("listen-abstract NAME (shorter)");
    memcpy(sun.sun_path + 1, argv[0], n);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sun, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) < 0 ||
        listen(fd, 16) < 0)
        return result("listen", -1);
    puts("listening");
    for (;;) {
        int c = accept(fd, NULL, NULL);
        if (c >= 0) {
            puts("accepted");
            close(c);
        }
    }
}

/* host side helper: run CMD with stdin a memfd holding "memfd\n" (a file on an internal mount) */
static int cmd_memfd_stdin(int argc, char **argv)
{
    if (argc < 1)
        return usage("memfd-stdin CMD [ARG...]");
    int fd = memfd_create("gbox-stdin", 0);
    if (fd < 0 || write(fd, "memfd\n", 6) != 6 || lseek(fd, 0, SEEK_SET) != 0 || dup2(fd, 0) < 0)
        return result("memfd", -1);
    execv(argv[0], argv);
    return result("exec", -1);
}

/* ---- exhaustion ------------------------------------------------------------------------------ */

static int cmd_inodebomb(int argc, char **argv)
{
    long max = LONG_MAX, n = 0;
    if (argc < 1 || (argc > 1 && parse_int(argv[1], &max) < 0))
        return usage("inodebomb DIR [MAX]");
    int dfd = open(argv[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return result(NULL, -1);
    char name[32];
    int err = 0;
    for (; n < max; n++) {
        snprintf(name, sizeof name, "%lx", n);
        if (mknodat(dfd, name, S_IFREG | 0600, 0) < 0) {
            err = errno;
            break;
        }
    }
    printf("created %ld\n", n);
    if (err)
        print_errno(NULL, err);
    else
        printf("ok %ld\n", n);
    return 0;
}

/* ---- dispatch -------------------------------------------------------------------------------- */

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
};

static const struct command commands[] = {
    {"exe-write", cmd_exe_write, "[PID] open /proc/PID/exe (default self) for writing"},
    {"exe-reopen", cmd_exe_reopen, "[PID] O_PATH /proc/PID/exe, reopen it O_WRONLY via /proc/self/fd"},
    {"init-proc", cmd_init_proc, "links, memory and fds of pid 1 (gbox's init)"},
    {"fd-escape", cmd_fd_escape, "every fd, cwd, /proc/self/{cwd,root}: does anything lead outside?"},
    {"open-by-handle", cmd_open_by_handle, "open_by_handle_at with a guessed handle (shocker)"},
    {"name-to-handle", cmd_name_to_handle, "name_to_handle_at on /"},
    {"tiocsti", cmd_tiocsti, "TIOCSTI on a pty made the controlling tty, also with high bits set"},
    {"tioclinux", cmd_tioclinux, "TIOCLINUX on a pty and on fd 0, also with high bits set"},
    {"ldisc", cmd_ldisc, "TIOCSETD N_GSM0710 on one's own pty"},
    {"tty", cmd_tty, "open /dev/tty (the controlling terminal)"},
    {"keyring", cmd_keyring, "add_key, keyctl join session, request_key"},
    {"userfaultfd", cmd_userfaultfd, "userfaultfd(UFFD_USER_MODE_ONLY)"},
    {"bpf", cmd_bpf, "BPF_PROG_LOAD of a socket filter"},
    {"perf", cmd_perf, "perf_event_open of a software counter on itself"},
    {"uring", cmd_uring, "io_uring_setup, io_uring_enter, io_uring_register"},
    {"clone-ns", cmd_clone_ns, "clone/clone3 with namespace flags (nested user namespaces)"},
    {"unshare", cmd_unshare, "[FLAGS] unshare (default CLONE_NEWUSER)"},
    {"setns", cmd_setns, "setns into /proc/self/ns/user"},
    {"mount-api", cmd_mount_api, "mount, umount2, pivot_root, chroot and the new mount API"},
    {"cgroup-mount", cmd_cgroup_mount, "mount a cgroup v1 hierarchy (release_agent, CVE-2022-0492)"},
    {"modules", cmd_modules, "init_module, finit_module, delete_module"},
    {"kexec", cmd_kexec, "kexec_load, kexec_file_load"},
    {"reboot", cmd_reboot, "reboot(RESTART)"},
    {"clock", cmd_clock, "settimeofday, clock_settime, adjtimex, clock_adjtime"},
    {"swap", cmd_swap, "swapon, swapoff"},
    {"acct", cmd_acct, "process accounting to a file"},
    {"personality", cmd_personality, "personality(READ_IMPLIES_EXEC)"},
    {"syslog", cmd_syslog, "read the kernel log (syslog READ_ALL)"},
    {"hw", cmd_hw, "iopl, ioperm, modify_ldt"},
    {"see-pid", cmd_see_pid, "PID: kill(PID, 0), pidfd_open, /proc/PID, kill(PID, SIGKILL)"},
    {"ptrace", cmd_ptrace, "PID: PTRACE_ATTACH"},
    {"vm-read", cmd_vm_read, "PID: process_vm_readv"},
    {"vm-write", cmd_vm_write, "PID: process_vm_writev"},
    {"kill-all", cmd_kill_all, "kill(-1, SIGKILL)"},
    {"shm", cmd_shm, "create|open KEY: System V shared memory"},
    {"pidfd-getfd", cmd_pidfd_getfd, "pidfd_open(1), then pidfd_getfd of init's fds 3..7"},
    {"kcmp", cmd_kcmp, "kcmp of an fd with pid 1's"},
    {"privs", cmd_privs, "capset, ambient, setuid 0, setgroups, nnp/seccomp off, rlimits, RT, mknod"},
    {"core-limit", cmd_core_limit, "lower RLIMIT_CORE to 0 (setrlimit, prlimit64), then read it"},
    {"oom-adj", cmd_oom_adj, "[VALUE] write /proc/self/oom_score_adj (default -1000)"},
    {"landlock-abi", cmd_landlock_abi, "(host helper) the kernel's Landlock ABI, 0 without Landlock"},
    {"masked", cmd_masked, "PATH...: null, empty-dir, absent or EXPOSED for each"},
    {"socket-families", cmd_socket_families, "which address families the sandbox can create sockets of"},
    {"vsock", cmd_vsock, "create AF_VSOCK sockets (never connected)"},
    {"netlink", cmd_netlink, "rtnetlink: list links, take lo down, add an address"},
    {"netlink-protocols", cmd_netlink_protocols, "which NETLINK_* protocols can be opened"},
    {"nftables", cmd_nftables, "nf_tables: create a table (batch, NFT_MSG_NEWTABLE)"},
    {"iptables", cmd_iptables, "setsockopt IPT_SO_SET_REPLACE on a UDP socket"},
    {"listen-abstract", cmd_listen_abstract, "NAME: (host helper) listen on an abstract unix socket"},
    {"memfd-stdin", cmd_memfd_stdin, "CMD [ARG...]: (host helper) run CMD with a memfd as stdin"},
    {"inodebomb", cmd_inodebomb, "DIR [MAX]: create empty files until failure"},
};

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 2) {
        for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
            if (strcmp(commands[i].name, argv[1]) == 0)
                return commands[i].run(argc - 2, argv + 2);
    }
    fputs("usage: attack COMMAND [ARG...]\n", stderr);
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        fprintf(stderr, "  %-16s %s\n", commands[i].name, commands[i].help);
    return EXIT_USAGE;
}
