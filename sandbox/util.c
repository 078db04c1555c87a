/* util.c — small helpers: EINTR-safe whole-buffer I/O, clocks, allocation. */
#include "util.h"

#include <fcntl.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = TEMP_RETRY(write(fd, p, len));
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int write_file(const char *path, const char *text)
{
    int fd = TEMP_RETRY(open(path, O_WRONLY | O_CLOEXEC));
    if (fd < 0)
        return -1;
    int r = write_all(fd, text, strlen(text));
    int saved = errno;
    close(fd);
    errno = saved;
    return r;
}

char *read_file(const char *path, size_t *len)
{
    int fd = TEMP_RETRY(open(path, O_RDONLY | O_CLOEXEC));
    if (fd < 0)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        ssize_t r = TEMP_RETRY(read(fd, buf + n, cap - n));
        if (r < 0) {
            free(buf);
            buf = NULL;
            break;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n == cap) {
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    int saved = errno;
    close(fd);
    errno = saved;
    if (!buf)
        return NULL;
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

void vformat_msg(char *buf, size_t len, int errnum, const char *fmt, va_list ap)
{
    int n = vsnprintf(buf, len, fmt, ap);
    if (errnum && n >= 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, ": %s", strerror(errnum));
}

double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p) {
        fputs("gbox: out of memory\n", stderr);
        abort();
    }
    return p;
}

char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p) {
        fputs("gbox: out of memory\n", stderr);
        abort();
    }
    return p;
}

int openat2_retry(int dirfd, const char *path, struct open_how *how)
{
    long r = -1;
    for (int tries = 0; tries < 256; tries++) {
        r = TEMP_RETRY(syscall(SYS_openat2, dirfd, path, how, sizeof(*how)));
        if (r >= 0 || errno != EAGAIN)
            break;
    }
    return (int)r;
}

void __attribute__((noinline)) give_back_memory(void)
{
    malloc_trim(0);
    /* The stack below this frame, down to the stack limit (the part of that range that is not
     * mapped is skipped: madvise then says ENOMEM, which is fine). */
    struct rlimit rl;
    unsigned long page = (unsigned long)sysconf(_SC_PAGESIZE);
    unsigned long sp = (unsigned long)__builtin_frame_address(0);
    unsigned long keep = 8 * 1024, span = 8UL << 20;
    if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < span)
        span = rl.rlim_cur;
    if (sp < span + keep)
        return;
    unsigned long hi = (sp - keep) & ~(page - 1), lo = (sp - span) & ~(page - 1);
    madvise((void *)lo, hi - lo, MADV_DONTNEED);
}
