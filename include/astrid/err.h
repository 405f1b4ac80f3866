/* Error reporting for libastrid.
 *
 * Convention (see CONTRIBUTING.md): a fallible function returns an int
 * (0 on success, -1 on failure) or a pointer (NULL on failure) and fills a
 * caller-owned `astrid_err` with a code and a printable message. The `err`
 * argument may be NULL when the caller does not want the message. Nothing in
 * the library prints or exits on its own.
 */
#ifndef ASTRID_ERR_H
#define ASTRID_ERR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum astrid_errcode {
    ASTRID_OK = 0,
    ASTRID_E_INVALID,     /* bad argument or input that fails validation */
    ASTRID_E_PARSE,       /* malformed TOML/JSON/frame */
    ASTRID_E_IO,          /* a system call failed; errno is in `sys_errno` */
    ASTRID_E_NOTFOUND,    /* the named thing does not exist */
    ASTRID_E_EXISTS,      /* the named thing already exists */
    ASTRID_E_PERM,        /* denied by policy */
    ASTRID_E_LIMIT,       /* a size, depth, rate or quota limit was hit */
    ASTRID_E_CRYPTO,      /* signature or key failure */
    ASTRID_E_NOMEM,       /* allocation failed */
    ASTRID_E_UNSUPPORTED, /* a feature not built yet: message names it */
    ASTRID_E_TIMEOUT,     /* a deadline passed */
    ASTRID_E_INTERNAL,
} astrid_errcode;

#define ASTRID_ERR_MSG_MAX 512

typedef struct astrid_err {
    astrid_errcode code;
    int sys_errno; /* errno at failure for ASTRID_E_IO, else 0 */
    char msg[ASTRID_ERR_MSG_MAX];
} astrid_err;

/* Fill `e` (if non-NULL) and return -1, so callers can `return astrid_err_set(...)`. */
int astrid_err_set(astrid_err *e, astrid_errcode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like astrid_err_set with ASTRID_E_IO, appending ": strerror(errno)". Reads errno. */
int astrid_err_sys(astrid_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefix an existing message: "prefix: old message". Keeps the code. Returns -1. */
int astrid_err_prefix(astrid_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void astrid_err_clear(astrid_err *e);

/* Stable lower-case name of a code ("invalid", "io", ...). */
const char *astrid_errcode_name(astrid_errcode code);

#ifdef __cplusplus
}
#endif
#endif
