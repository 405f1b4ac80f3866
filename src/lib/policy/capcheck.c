/* CapabilityCheck: pure, allocation-free evaluation (revoke > grant > group). */
#include <string.h>

#include "astrid/caps.h"
#include "astrid/capcheck.h"

astrid_cap_verdict astrid_capcheck_explain(const astrid_profile *profile,
                                           const astrid_group_config *groups, const char *cap,
                                           astrid_cap_explain *out)
{
    memset(out, 0, sizeof *out);
    /* Fail closed on missing inputs. */
    if (!profile || !cap) {
        out->verdict = ASTRID_CAP_MISSING;
        return out->verdict;
    }
    if (!profile->enabled) {
        out->source = ASTRID_CAP_SRC_DISABLED;
        return out->verdict = ASTRID_CAP_PRINCIPAL_DISABLED;
    }
    for (size_t i = 0; i < profile->revokes.n; i++)
        if (astrid_cap_matches(profile->revokes.v[i], cap)) {
            out->source = ASTRID_CAP_SRC_REVOKE;
            out->pattern = profile->revokes.v[i];
            return out->verdict = ASTRID_CAP_REVOKED;
        }
    for (size_t i = 0; i < profile->grants.n; i++)
        if (astrid_cap_matches(profile->grants.v[i], cap)) {
            out->source = ASTRID_CAP_SRC_GRANT;
            out->pattern = profile->grants.v[i];
            return out->verdict = ASTRID_CAP_ALLOWED;
        }
    for (size_t i = 0; i < profile->groups.n; i++) {
        const astrid_group *g = astrid_groups_find(groups, profile->groups.v[i]);
        if (!g) {
            if (out->unknown_groups++ == 0)
                out->first_unknown_group = profile->groups.v[i];
            continue;
        }
        for (size_t j = 0; j < g->ncaps; j++)
            if (astrid_cap_matches(g->caps[j], cap)) {
                out->source = ASTRID_CAP_SRC_GROUP;
                out->pattern = g->caps[j];
                out->group = g->name;
                return out->verdict = ASTRID_CAP_ALLOWED;
            }
    }
    return out->verdict = ASTRID_CAP_MISSING;
}

bool astrid_capcheck_has(const astrid_profile *profile, const astrid_group_config *groups,
                         const char *cap)
{
    astrid_cap_explain x;
    return astrid_capcheck_explain(profile, groups, cap, &x) == ASTRID_CAP_ALLOWED;
}

int astrid_capcheck_require(const char *principal, const astrid_profile *profile,
                            const astrid_group_config *groups, const char *cap,
                            astrid_cap_explain *out, astrid_err *err)
{
    astrid_cap_explain local = {0};
    astrid_cap_explain *x = out ? out : &local;
    const char *p = principal ? principal : "";
    const char *c = cap ? cap : "";
    switch (astrid_capcheck_explain(profile, groups, cap, x)) {
    case ASTRID_CAP_ALLOWED:
        return 0;
    case ASTRID_CAP_PRINCIPAL_DISABLED:
        return astrid_err_set(err, ASTRID_E_PERM,
                              "permission denied for principal %s: agent is disabled", p);
    case ASTRID_CAP_REVOKED:
        return astrid_err_set(
            err, ASTRID_E_PERM,
            "permission denied for principal %s: capability %s is revoked via \"%s\"", p, c,
            x->pattern);
    case ASTRID_CAP_MISSING:
    default:
        return astrid_err_set(err, ASTRID_E_PERM,
                              "permission denied for principal %s: missing capability %s", p, c);
    }
}
