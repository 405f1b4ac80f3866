/* Who a capsule serves, and what its owner must hold (docs/capsules.md,
 * "Who a capsule serves, and what installing grants"). Checked at every
 * load with the kernel's own evaluator (profile cache, group snapshot):
 * the files under home/{owner}/.local/capsules may have been written by
 * anyone with the operator's uid, so the CLI's install-time check is only
 * a courtesy and this one is the rule. Loop thread (load) and any thread
 * (kcapsule_serves reads a field fixed before registration). */
#include <string.h>

#include "lib/manifest/privilege.h"
#include "kernel/capsule_rt.h"
#include "kernel/usage.h"

int kcapsule_owner_check(kcapsule *c, astrid_err *err)
{
    const astrid_manifest *m = c->inst->manifest;
    const char *owner = c->inst->owner;
    astrid_capsule_priv p[ASTRID_CAPSULE_PRIV_MAX];
    size_t n = astrid_capsule_privileges(m, p);
    char reason[512];
    for (size_t i = 0; i < n; i++)
        if (astrid_authorize(c->k, owner, p[i].capability, reason, sizeof reason) != 0)
            return astrid_err_set(err, ASTRID_E_PERM,
                                  "capsule %s: manifest asks for %s, which needs capability %s "
                                  "that owner %s does not hold",
                                  m->name, p[i].field, p[i].capability, owner);
    c->shared =
        astrid_authorize(c->k, owner, ASTRID_CAP_CAPSULE_SHARED, reason, sizeof reason) == 0;
    /* Not a privileged ask (nothing is refused at load): an owner without
     * it simply has its capsules' usage reports ignored. */
    c->usage_report = !m->uplink && astrid_authorize(c->k, owner, ASTRID_CAP_USAGE_REPORT, reason,
                                                     sizeof reason) == 0;
    return 0;
}

bool kcapsule_serves(const kcapsule *c, const char *principal)
{
    /* a message without a principal is the system's, not the owner's */
    return c->shared || (principal && strcmp(principal, c->inst->owner) == 0);
}
