/* fds.c — the file descriptors that cross from the host into the sandbox.
 *
 * Only stdin, stdout and stderr do (the child closes everything else, CVE-2024-21626 class),
 * and they are what the caller chose: a terminal, pipes, files. A directory is never a
 * legitimate stdio, and in the sandbox it would be a handle on the host's file system: fchdir,
 * openat(fd, "..") or /proc/self/fd/N lead out of the new root. Refuse it before anything runs. */
#include "internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

int sbx_stdio_prepare(struct sbx_err **err)
{
    static const char *const names[] = {"stdin", "stdout", "stderr"};
    for (int fd = 0; fd <= 2; fd++) {
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode))
            continue;
        char link[32], target[256] = "?";
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, target, sizeof(target) - 1);
        target[n > 0 ? n : 1] = '\0';
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0,
                           "%s (fd %d) is the directory %s: handing a host directory to the "
                           "sandbox would let it walk the host's file system; redirect it from "
                           "a file or /dev/null", names[fd], fd, target);
    }
    return 0;
}
