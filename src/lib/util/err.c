#include "astrid/err.h"

#include "astrid/utf8.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int astrid_err_set(astrid_err *e, astrid_errcode code, const char *fmt, ...)
{
    if (!e)
        return -1;
    e->code = code;
    e->sys_errno = 0;
    va_list ap;
    va_start(ap, fmt);
    /* Messages travel in JSON replies: never leave a cut UTF-8 sequence. */
    astrid_vsnprintf_utf8(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int astrid_err_sys(astrid_err *e, const char *fmt, ...)
{
    int saved = errno;
    if (!e)
        return -1;
    char head[ASTRID_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    e->code = ASTRID_E_IO;
    e->sys_errno = saved;
    astrid_snprintf_utf8(e->msg, sizeof e->msg, "%s: %s", head, strerror(saved));
    errno = saved;
    return -1;
}

int astrid_err_prefix(astrid_err *e, const char *fmt, ...)
{
    if (!e)
        return -1;
    char head[ASTRID_ERR_MSG_MAX];
    char old[ASTRID_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    astrid_snprintf_utf8(e->msg, sizeof e->msg, "%s: %s", head, old);
    return -1;
}

void astrid_err_clear(astrid_err *e)
{
    if (e) {
        e->code = ASTRID_OK;
        e->sys_errno = 0;
        e->msg[0] = '\0';
    }
}

const char *astrid_errcode_name(astrid_errcode code)
{
    static const char *const names[] = {
        [ASTRID_OK] = "ok",
        [ASTRID_E_INVALID] = "invalid",
        [ASTRID_E_PARSE] = "parse",
        [ASTRID_E_IO] = "io",
        [ASTRID_E_NOTFOUND] = "not-found",
        [ASTRID_E_EXISTS] = "exists",
        [ASTRID_E_PERM] = "permission",
        [ASTRID_E_LIMIT] = "limit",
        [ASTRID_E_CRYPTO] = "crypto",
        [ASTRID_E_NOMEM] = "no-memory",
        [ASTRID_E_UNSUPPORTED] = "unsupported",
        [ASTRID_E_TIMEOUT] = "timeout",
        [ASTRID_E_INTERNAL] = "internal",
    };
    if ((unsigned)code < sizeof names / sizeof names[0] && names[code])
        return names[code];
    return "unknown";
}
