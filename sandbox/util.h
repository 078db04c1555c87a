/* util.h — small helpers shared by sandbox/ and runtime/: cleanup attributes, EINTR-safe I/O. */
#ifndef GBOX_UTIL_H
#define GBOX_UTIL_H

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

static inline void cleanup_freep(void *p) { free(*(void **)p); }
static inline void cleanup_closep(int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
    }
}
#define _cleanup_free_ __attribute__((cleanup(cleanup_freep)))
#define _cleanup_close_ __attribute__((cleanup(cleanup_closep)))

/* Hand ownership on: the cleanup variable no longer frees it. */
static inline void *steal_ptr(void *pp)
{
    void **p = pp;
    void *v = *p;
    *p = NULL;
    return v;
}
static inline int steal_fd(int *fd)
{
    int v = *fd;
    *fd = -1;
    return v;
}

#define TEMP_RETRY(expr)                                                                            \
    __extension__({                                                                                          \
        long _r;                                                                                   \
        do                                                                                         \
            _r = (long)(expr);                                                                     \
        while (_r < 0 && errno == EINTR);                                                          \
        _r;                                                                                        \
    })

/* openat2(2) retried on EINTR and on EAGAIN: with RESOLVE_IN_ROOT or RESOLVE_BENEATH the kernel
 * answers EAGAIN when a rename or mount anywhere on the system raced a ".." step, and asks the
 * caller to retry (a busy host makes that common). Bounded, then EAGAIN is returned. */
struct open_how;
int openat2_retry(int dirfd, const char *path, struct open_how *how);

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Write all of buf; returns 0 or -1 with errno. */
int write_all(int fd, const void *buf, size_t len);
/* Write a string to a file (open, write, close); returns 0 or -1 with errno. */
int write_file(const char *path, const char *text);
/* Read a whole small file into a NUL-terminated heap buffer; NULL with errno on failure. */
char *read_file(const char *path, size_t *len);
/* printf-style into buf, with ": strerror(errnum)" appended when errnum != 0. */
void vformat_msg(char *buf, size_t len, int errnum, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
/* Monotonic milliseconds. */
double now_ms(void);
/* Give back free heap pages (malloc_trim) and the stack pages below the caller's frame, which
 * nothing uses any more: a page touched again comes back zeroed. For long-lived processes whose
 * setup is over (the daemon's shims and their sandboxes' inits: memory per sandbox). */
void give_back_memory(void);
/* xmalloc-style helpers that abort on OOM (only used for small runtime structures). */
void *xcalloc(size_t n, size_t sz);
char *xstrdup(const char *s);

#endif
