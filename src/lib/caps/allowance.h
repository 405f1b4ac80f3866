/* Allowances (reference §8.4, seed: "AllowanceStore keys on (principal,
 * id)"): remembered answers to approval requests, per principal.
 *
 * An allowance matches an (action, resource) pair of its principal only:
 * the action exactly, the resource exactly or, when `glob` is set, as a
 * glob (token.h's astrid_resource_matches). Kinds, from the approval decisions:
 *   once      (max_uses 1)     approve, remembered for one more use
 *   session   (session_only)   until the principal's last connection closes
 *   workspace (workspace set)  only while the daemon serves that workspace
 *   deny      (deny)           a remembered "no"
 * (`always` is a capability token, store/captokens.h, not an allowance.)
 *
 * Thread-safe: one mutex (`lock`) guards the table; lookups of exact
 * resources are one hash probe, glob allowances are scanned per principal.
 * Memory only, as upstream (its export/import helpers were never used).
 *
 * Ownership: the store owns its allowances; results are copied out.
 */
#ifndef ASTRID_LIB_CAPS_ALLOWANCE_H
#define ASTRID_LIB_CAPS_ALLOWANCE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "astrid/err.h"

typedef struct astrid_allowance {
    char id[37];
    char principal[65];
    char action[65];
    char resource[1025]; /* exact, or a glob when `glob` */
    bool glob;           /* explicit: a resource a capsule named with '*' in it is not a pattern */
    int64_t created_at, expires_at; /* unix seconds; expires_at 0 = never */
    int64_t uses_remaining;         /* -1 = unlimited */
    bool session_only;
    bool deny;
    char workspace[PATH_MAX]; /* "" = any */
} astrid_allowance;

typedef struct astrid_allowances astrid_allowances;

astrid_allowances *astrid_allowances_new(void);
void astrid_allowances_free(astrid_allowances *s);

/* Add a copy of `a` (id filled with a new UUID when empty; principal,
 * action and resource checked). ASTRID_E_LIMIT past 100 000 allowances
 * for one principal. */
int astrid_allowances_add(astrid_allowances *s, astrid_allowance *a, astrid_err *err);

/* Find the first valid allowance of `principal` matching (action,
 * resource) in `workspace` and consume one use atomically (an allowance
 * reaching 0 uses is removed). Expired ones met on the way are pruned.
 * Returns true with a copy in *out (optional). */
bool astrid_allowances_consume(astrid_allowances *s, const char *principal, const char *action,
                               const char *resource, const char *workspace, int64_t now,
                               astrid_allowance *out);

/* Drop the session-only allowances of `principal` (its last connection
 * closed); returns how many. Other principals' are untouched. */
size_t astrid_allowances_clear_session(astrid_allowances *s, const char *principal);
/* Every session-only allowance (shutdown). */
size_t astrid_allowances_clear_all_sessions(astrid_allowances *s);
/* Allowances of `principal`. */
size_t astrid_allowances_count(astrid_allowances *s, const char *principal);

#endif
