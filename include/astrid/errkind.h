/* Machine-readable error kinds of management and admin replies.
 *
 * A reply that fails carries, beside upstream's {"status":"error","data":
 * "<message>"}, an object {"error": {"kind": "<kind>", "message": "..."}}
 * (docs/wire.md). The kind is what a client acts on; the message is for
 * people. The daemon derives a kind from an astrid_errcode in one place
 * (astrid_errkind_of) and the CLI maps a kind back to a code, hence to an
 * exit status, without reading the message (astrid_errkind_code).
 *
 * Everything here is pure and allocation-free; names are static strings.
 */
#ifndef ASTRID_ERRKIND_H
#define ASTRID_ERRKIND_H

#include "astrid/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum astrid_errkind {
    ASTRID_KIND_INTERNAL = 0,      /* the daemon failed (disk, memory, a bug) */
    ASTRID_KIND_PERMISSION_DENIED, /* the caller may not: capability, disabled, revoked */
    ASTRID_KIND_NOT_FOUND,         /* the named principal, group, ... does not exist */
    ASTRID_KIND_INVALID,           /* the request is malformed or breaks a rule or limit */
    ASTRID_KIND_CONFLICT,          /* the thing to create already exists */
    ASTRID_KIND_UNAVAILABLE,       /* not built in this release: the message names what */
} astrid_errkind;

#define ASTRID_ERRKIND_COUNT 6

/* The wire name: "internal", "permission_denied", "not_found", "invalid",
 * "conflict", "unavailable". */
const char *astrid_errkind_name(astrid_errkind kind);

/* 0 and *out set when `name` is one of the wire names; -1 otherwise
 * (NULL included). */
int astrid_errkind_parse(const char *name, astrid_errkind *out);

/* The kind of an error code: E_PERM -> permission_denied, E_NOTFOUND ->
 * not_found, E_INVALID/E_PARSE/E_LIMIT -> invalid, E_EXISTS -> conflict,
 * E_UNSUPPORTED -> unavailable, anything else -> internal. */
astrid_errkind astrid_errkind_of(astrid_errcode code);

/* The code a client reports for a kind (the inverse on the kinds'
 * representatives): permission_denied -> E_PERM, not_found -> E_NOTFOUND,
 * invalid -> E_INVALID, conflict -> E_EXISTS, unavailable -> E_UNSUPPORTED,
 * internal -> E_INTERNAL. */
astrid_errcode astrid_errkind_code(astrid_errkind kind);

#ifdef __cplusplus
}
#endif
#endif
