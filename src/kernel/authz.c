/* Layer 5 enforcement preamble: profile -> enabled -> CapabilityCheck.
 * The profile must exist on disk (no phantom principals); the group config
 * is a counted snapshot, so a concurrent hot swap never changes a check in
 * flight. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "astrid/capcheck.h"
#include "astrid/home.h"
#include "astrid/principal.h"
#include "astrid/utf8.h"
#include "astrid/trust.h"
#include "kernel/fed_trust.h"
#include "kernel/kernel.h"

static const astrid_profile *existing_profile(astrid_kernel *k, const char *principal, char *reason,
                                              size_t n)
{
    astrid_err err;
    char path[PATH_MAX];
    /* A remote principal ("alice@B", stamped by the federation bridge) has
     * no profile of its own to require: it holds what its profile and the
     * [[map]]s give, nothing by default, and nothing once B is untrusted. */
    if (astrid_principal_is_remote(principal)) {
        const astrid_profile *p = astrid_kernel_remote_profile(k, principal, &err);
        if (!p)
            astrid_snprintf_utf8(reason, n, "%s", err.msg);
        return p;
    }
    if (astrid_principal_validate(principal, &err) != 0 ||
        astrid_profile_path(path, sizeof path, k->home, principal, &err) != 0) {
        astrid_snprintf_utf8(reason, n, "%s", err.msg);
        return NULL;
    }
    if (access(path, F_OK) != 0) {
        astrid_snprintf_utf8(reason, n, "principal %s does not exist (no profile.toml at %s)",
                             principal, path);
        return NULL;
    }
    const astrid_profile *p = astrid_profile_cache_get(k->profiles, principal, &err);
    if (!p)
        astrid_snprintf_utf8(reason, n, "profile of %s cannot be loaded: %s", principal, err.msg);
    return p;
}

int astrid_principal_admissible(astrid_kernel *k, const char *principal, char *reason, size_t n)
{
    const astrid_profile *p = existing_profile(k, principal, reason, n);
    if (!p)
        return -1;
    bool enabled = p->enabled;
    astrid_profile_release(p);
    if (!enabled) {
        astrid_snprintf_utf8(reason, n, "permission denied for principal %s: agent is disabled",
                             principal);
        return -1;
    }
    return 0;
}

int astrid_admit_request(astrid_kernel *k, const char *principal, const char *method,
                         const char *cap, const char *target, const json_t *params, bool acts,
                         astrid_errkind *kind, char *reason, size_t n)
{
    /* Every refusal of the preamble is a denial of the caller, even "does
     * not exist" (a caller whose profile went away after the handshake). */
    *kind = ASTRID_KIND_PERMISSION_DENIED;
    if (astrid_authorize(k, principal, cap, reason, n) != 0) {
        astrid_audit_request_mode(k, ASTRID_AUDIT_WRITE_BEHIND, principal, method, cap, target,
                                  params, false, reason);
        return -1;
    }
    /* Fail closed: an action that cannot be recorded does not happen. */
    astrid_err err;
    if (astrid_audit_request_why(k, acts ? ASTRID_AUDIT_DURABLE : ASTRID_AUDIT_WRITE_BEHIND,
                                 principal, method, cap, target, params, true, NULL, &err) != 0) {
        *kind = ASTRID_KIND_INTERNAL; /* the daemon's failure, not the caller's */
        astrid_snprintf_utf8(reason, n, "denied: the audit log could not record this request: %s",
                             err.msg);
        return -1;
    }
    return 0;
}

int astrid_authorize(astrid_kernel *k, const char *principal, const char *cap, char *reason,
                     size_t n)
{
    const astrid_profile *p = existing_profile(k, principal, reason, n);
    if (!p)
        return -1;
    astrid_group_config *g = astrid_group_swap_acquire(k->groups);
    astrid_cap_explain ex;
    astrid_err err;
    int rc = astrid_capcheck_require(principal, p, g, cap, &ex, &err);
    if (ex.unknown_groups > 0)
        astrid_klog(k, "WARN", "principal %s names unknown group '%s' (%u unknown); skipped",
                    principal, ex.first_unknown_group, ex.unknown_groups);
    astrid_groups_unref(g);
    astrid_profile_release(p);
    if (rc != 0)
        astrid_snprintf_utf8(reason, n, "%s", err.msg);
    return rc;
}
