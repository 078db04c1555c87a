/* hold.c — a warm sandbox's program, handed over after the sandbox was set up.
 *
 * A held sandbox (sbx_spec.on_release) goes through the whole launch sequence up to C4, then its
 * init sends MSG_HELD and waits on the sync socket for the program: one SEQPACKET message,
 *   u32 argc, u32 envc, then argc + envc NUL-terminated strings,
 * at most SBX_HOLD_MAX bytes of strings. The parent encodes it (sbx_hold_send), the init decodes
 * it (sbx_hold_in_child) under its seccomp filter: only read(2) and memory allocation. */
#include "internal.h"
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static size_t strv_bytes(char *const *v, uint32_t *n)
{
    size_t b = 0;
    *n = 0;
    for (; v && *v; v++, (*n)++)
        b += strlen(*v) + 1;
    return b;
}

int sbx_hold_send(int fd, char *const *argv, char *const *envp, struct sbx_err **err)
{
    uint32_t hdr[2];
    size_t a = strv_bytes(argv, &hdr[0]), e = strv_bytes(envp, &hdr[1]);
    if (hdr[0] == 0)
        return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "warm sandbox: no program to run");
    if (a + e > SBX_HOLD_MAX)
        return sbx_err_set(err, GBOX_EXIT_USAGE, 0,
                           "warm sandbox: arguments and environment take %zu bytes, at most %d fit",
                           a + e, SBX_HOLD_MAX);
    char *buf = xcalloc(1, sizeof(hdr) + a + e);
    memcpy(buf, hdr, sizeof(hdr));
    size_t off = sizeof(hdr);
    for (int pass = 0; pass < 2; pass++)
        for (char *const *p = pass ? envp : argv; p && *p; p++) {
            size_t l = strlen(*p) + 1;
            memcpy(buf + off, *p, l);
            off += l;
        }
    ssize_t n = TEMP_RETRY(send(fd, buf, off, MSG_NOSIGNAL));
    free(buf);
    if (n != (ssize_t)off)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "warm sandbox: hand the program to its init");
    return 0;
}

/* Split n strings off buf[*off..len) into a NULL-terminated vector. */
static char **take_strings(char *buf, size_t len, size_t *off, uint32_t n)
{
    char **v = calloc((size_t)n + 1, sizeof(char *));
    if (!v)
        return NULL;
    for (uint32_t i = 0; i < n; i++) {
        char *end = *off < len ? memchr(buf + *off, '\0', len - *off) : NULL;
        if (!end) {
            free(v);
            return NULL;
        }
        v[i] = buf + *off;
        *off = (size_t)(end - buf) + 1;
    }
    return v;
}

int sbx_hold_in_child(int fd, char ***argv, char ***envp, struct child_err *ce)
{
    static char buf[8 + SBX_HOLD_MAX + 1];
    sbx_note_ignored_signals(); /* while nothing waits on us (init.c) */
    ssize_t n = TEMP_RETRY(read(fd, buf, sizeof(buf)));
    if (n == 0)
        return child_fail(ce, "held", 0, "released without a program"), 1;
    if (n < 8)
        return child_fail(ce, "held", n < 0 ? errno : EPROTO, "read the program from gbox");
    uint32_t hdr[2];
    memcpy(hdr, buf, sizeof(hdr));
    size_t off = sizeof(hdr);
    if (hdr[0] == 0 || hdr[0] > SBX_HOLD_MAX || hdr[1] > SBX_HOLD_MAX)
        return child_fail(ce, "held", EPROTO, "bad program message (%u args, %u variables)", hdr[0], hdr[1]);
    *argv = take_strings(buf, (size_t)n, &off, hdr[0]);
    *envp = *argv ? take_strings(buf, (size_t)n, &off, hdr[1]) : NULL;
    if (!*argv || !*envp || off != (size_t)n)
        return child_fail(ce, "held", EPROTO, "bad program message (%zd bytes)", n);
    return 0;
}
