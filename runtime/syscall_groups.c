/* syscall_groups.c — the syscall groups policies may name. x86_64 names as libseccomp knows them;
 * tests/unit checks every name resolves. clone and clone3 are in no group: the plan always allows
 * clone without namespace flags and answers clone3 with ENOSYS (its flags live in memory, where
 * seccomp cannot see them, so libc must fall back to clone). */
#include "syscall_groups.h"

#include <stdio.h>
#include <string.h>

#define LIST(...) (const char *const[]){__VA_ARGS__, NULL}

static const struct syscall_group groups[] = {
    {"@default", "always allowed: what any program and gbox's own init need",
     LIST("exit", "exit_group", "execve", "execveat", "brk", "mmap", "munmap", "mprotect", "mremap",
          "madvise", "arch_prctl", "set_tid_address", "set_robust_list", "get_robust_list", "rseq",
          "futex", "rt_sigreturn", "rt_sigprocmask", "rt_sigaction", "rt_sigtimedwait",
          "sigaltstack", "restart_syscall", "getpid", "gettid", "getppid", "getrandom",
          "clock_gettime", "clock_getres", "gettimeofday", "time", "nanosleep", "clock_nanosleep",
          "sched_yield", "sched_getaffinity", "uname", "prlimit64", "getrlimit", "wait4", "waitid",
          "kill", "tgkill", "tkill", "read", "write", "close", "fstat", "newfstatat", "membarrier",
          "getuid", "geteuid", "getgid", "getegid", "access", "faccessat", "faccessat2",
          "readlink", "readlinkat", "openat", "open", "lseek", "pread64", "fcntl", "vfork", "fork")},
    {"@basic-io", "reading and writing open files",
     LIST("read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2",
          "pwritev2", "lseek", "close", "close_range", "dup", "dup2", "dup3", "fcntl", "ioctl",
          "sendfile", "splice", "tee", "copy_file_range", "vmsplice")},
    {"@file-system", "files and directories: open, stat, create, rename, remove, watch",
     LIST("open", "openat", "openat2", "creat", "stat", "fstat", "lstat", "newfstatat", "statx",
          "statfs", "fstatfs", "access", "faccessat", "faccessat2", "getcwd", "chdir", "fchdir",
          "mkdir", "mkdirat", "rmdir", "unlink", "unlinkat", "rename", "renameat", "renameat2",
          "link", "linkat", "symlink", "symlinkat", "readlink", "readlinkat", "getdents",
          "getdents64", "truncate", "ftruncate", "fallocate", "chmod", "fchmod", "fchmodat",
          "chown", "fchown", "lchown", "fchownat", "utime", "utimes", "utimensat", "futimesat",
          "umask", "fsync", "fdatasync", "sync", "syncfs", "sync_file_range", "flock",
          "fadvise64", "getxattr", "lgetxattr", "fgetxattr", "listxattr", "llistxattr",
          "flistxattr", "setxattr", "lsetxattr", "fsetxattr", "removexattr", "lremovexattr",
          "fremovexattr", "inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch",
          "mknod", "mknodat", "readahead")},
    {"@io-event", "waiting on many fds: epoll, poll, select, eventfd",
     LIST("epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2",
          "poll", "ppoll", "select", "pselect6", "eventfd", "eventfd2")},
    {"@ipc", "pipes, shared memory, SysV and POSIX message queues, socketpair",
     LIST("pipe", "pipe2", "memfd_create", "shmget", "shmat", "shmdt", "shmctl", "semget", "semop",
          "semtimedop", "semctl", "msgget", "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink",
          "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr", "socketpair")},
    {"@process", "processes and threads (clone without namespace flags is always allowed)",
     LIST("execve", "execveat", "fork", "vfork", "wait4", "waitid", "exit", "exit_group", "getpid",
          "getppid", "gettid", "getpgid", "setpgid", "getpgrp", "getsid", "setsid", "prctl",
          "arch_prctl", "set_tid_address", "kill", "tkill", "tgkill", "pidfd_open",
          "pidfd_send_signal", "getpriority", "setpriority", "sched_getparam", "sched_setparam",
          "sched_getscheduler", "sched_setscheduler", "sched_get_priority_max",
          "sched_get_priority_min", "sched_rr_get_interval", "sched_getaffinity",
          "sched_setaffinity", "sched_yield", "sched_getattr", "sched_setattr", "ioprio_get",
          "ioprio_set", "rseq", "membarrier", "seccomp", "landlock_create_ruleset",
          "landlock_add_rule", "landlock_restrict_self")},
    {"@signal", "signal handling",
     LIST("rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending", "rt_sigsuspend",
          "rt_sigtimedwait", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "sigaltstack", "signalfd",
          "signalfd4", "pause")},
    {"@memory", "memory mapping and locking",
     LIST("brk", "mmap", "munmap", "mprotect", "mremap", "madvise", "mlock", "mlock2", "munlock",
          "mlockall", "munlockall", "mincore", "msync", "pkey_alloc", "pkey_free", "pkey_mprotect",
          "get_mempolicy", "set_mempolicy", "mbind")},
    {"@network-io", "sockets: create, connect, listen, send, receive",
     LIST("socket", "socketpair", "connect", "bind", "listen", "accept", "accept4", "getsockname",
          "getpeername", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg",
          "shutdown", "setsockopt", "getsockopt")},
    {"@time", "reading clocks and sleeping",
     LIST("clock_gettime", "clock_getres", "gettimeofday", "time", "nanosleep", "clock_nanosleep",
          "times")},
    {"@timer", "timers and alarms",
     LIST("alarm", "getitimer", "setitimer", "timer_create", "timer_settime", "timer_gettime",
          "timer_getoverrun", "timer_delete", "timerfd_create", "timerfd_settime",
          "timerfd_gettime")},
    {"@sync", "futexes and robust lists", LIST("futex", "futex_waitv", "set_robust_list", "get_robust_list")},
    {"@resources", "reading and lowering resource limits and usage",
     LIST("getrlimit", "setrlimit", "prlimit64", "getrusage")},
    {"@credentials", "reading (and, where permitted, changing) ids and capabilities",
     LIST("getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid", "getgroups",
          "capget", "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid",
          "setgroups", "setfsuid", "setfsgid", "capset")},
    {"@system-info", "system information", LIST("uname", "sysinfo", "getcpu", "getrandom")},
    {"@mount", "mounting and the new mount API",
     LIST("mount", "umount2", "pivot_root", "chroot", "fsopen", "fsconfig", "fsmount", "fspick",
          "move_mount", "open_tree", "mount_setattr")},
    {"@module", "kernel modules", LIST("init_module", "finit_module", "delete_module")},
    {"@reboot", "reboot and kexec", LIST("reboot", "kexec_load", "kexec_file_load")},
    {"@swap", "swap areas", LIST("swapon", "swapoff")},
    {"@clock", "setting the system clock", LIST("settimeofday", "clock_settime", "clock_adjtime", "adjtimex")},
    {"@raw-io", "raw I/O port access", LIST("iopl", "ioperm")},
    {"@keyring", "the kernel keyring", LIST("keyctl", "add_key", "request_key")},
    {"@namespaces", "entering or creating namespaces", LIST("unshare", "setns")},
    {"@obsolete", "obsolete and unimplemented calls",
     LIST("uselib", "sysfs", "ustat", "_sysctl", "create_module", "get_kernel_syms", "query_module",
          "nfsservctl", "afs_syscall", "putpmsg", "getpmsg", "tuxcall", "security", "vserver",
          "lookup_dcookie")},
    {"@cpu-emulation", "CPU emulation (LDT)", LIST("modify_ldt")},
    {"@privileged", "administration and kernel attack surface",
     LIST("acct", "quotactl", "quotactl_fd", "bpf", "userfaultfd", "open_by_handle_at",
          "name_to_handle_at", "sethostname", "setdomainname", "syslog", "vhangup", "personality",
          "fanotify_init", "fanotify_mark")},
    {"@debug", "tracing and inspecting other processes",
     LIST("ptrace", "process_vm_readv", "process_vm_writev", "perf_event_open", "kcmp",
          "pidfd_getfd")},
    {"@io-uring", "io_uring (a large kernel attack surface)",
     LIST("io_uring_setup", "io_uring_enter", "io_uring_register")},
};

static const struct syscall_group *all[sizeof(groups) / sizeof(groups[0]) + 1];

const struct syscall_group *const *syscall_groups(void)
{
    if (!all[0])
        for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
            all[i] = &groups[i];
    return all;
}

const struct syscall_group *syscall_group_find(const char *name)
{
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
        if (strcmp(groups[i].name, name) == 0)
            return &groups[i];
    return NULL;
}

void syscall_group_names(char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]) && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "", groups[i].name);
}
