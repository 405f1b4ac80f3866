/* CapabilityCheck: the pure policy evaluator over (profile, group config).
 *
 * Order: disabled -> PrincipalDisabled; any revoke matching -> Revoked (beats
 * even `admin`); any grant matching -> allow; each profile group in order
 * (unknown names skipped and reported in the result) -> allow when a group
 * capability matches; else Missing.
 *
 * No heap allocation, no locks, no I/O: all strings in the result are
 * borrowed from the profile / group config, valid while the caller holds
 * them. Messages are upstream's:
 *   "permission denied for principal P: missing capability C"
 *   "permission denied for principal P: capability C is revoked via \"PAT\""
 *   "permission denied for principal P: agent is disabled" */
#ifndef ASTRID_CAPCHECK_H
#define ASTRID_CAPCHECK_H
#include <stdbool.h>
#include "astrid/err.h"
#include "astrid/groups.h"
#include "astrid/profile.h"
#ifdef __cplusplus
extern "C" {
#endif
typedef enum astrid_cap_verdict {
    ASTRID_CAP_ALLOWED = 0,
    ASTRID_CAP_PRINCIPAL_DISABLED,
    ASTRID_CAP_REVOKED,
    ASTRID_CAP_MISSING,
} astrid_cap_verdict;

typedef enum astrid_cap_source {
    ASTRID_CAP_SRC_NONE = 0,
    ASTRID_CAP_SRC_DISABLED,
    ASTRID_CAP_SRC_REVOKE,
    ASTRID_CAP_SRC_GRANT,
    ASTRID_CAP_SRC_GROUP,
} astrid_cap_source;

typedef struct astrid_cap_explain {
    astrid_cap_verdict verdict;
    astrid_cap_source source;
    const char *pattern;             /* the deciding pattern, or NULL */
    const char *group;               /* the deciding group when source == GROUP */
    unsigned unknown_groups;         /* profile groups absent from the config */
    const char *first_unknown_group; /* warn about this (and unknown_groups-1 more) */
} astrid_cap_explain;

/* Full evaluation; always fills `out` (required). Returns the verdict. */
astrid_cap_verdict astrid_capcheck_explain(const astrid_profile *profile,
                                           const astrid_group_config *groups, const char *cap,
                                           astrid_cap_explain *out);
/* True only when allowed (NULL inputs deny). */
bool astrid_capcheck_has(const astrid_profile *profile, const astrid_group_config *groups,
                         const char *cap);
/* 0 when allowed; -1 with ASTRID_E_PERM and upstream's message. `out`
 * (optional) receives the explanation, including unknown-group warnings. */
int astrid_capcheck_require(const char *principal, const astrid_profile *profile,
                            const astrid_group_config *groups, const char *cap,
                            astrid_cap_explain *out, astrid_err *err);
#ifdef __cplusplus
}
#endif
#endif
