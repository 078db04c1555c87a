/* err.c — the error object: an errno, an exit code and a message; callers add context. */
#include "sbx.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sbx_err_set(struct sbx_err **err, int code, int errnum, const char *fmt, ...)
{
    if (!err)
        return -1;
    struct sbx_err *e = *err ? *err : calloc(1, sizeof(*e));
    if (!e)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vformat_msg(e->msg, sizeof(e->msg), errnum, fmt, ap);
    va_end(ap);
    e->errnum = errnum;
    e->code = code;
    *err = e;
    return -1;
}

int sbx_err_wrap(struct sbx_err **err, const char *fmt, ...)
{
    if (!err || !*err)
        return -1;
    char prefix[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    char old[sizeof((*err)->msg)];
    memcpy(old, (*err)->msg, sizeof(old));
    snprintf((*err)->msg, sizeof((*err)->msg), "%s: %s", prefix, old);
    return -1;
}

void sbx_err_free(struct sbx_err **err)
{
    if (err && *err) {
        free(*err);
        *err = NULL;
    }
}
