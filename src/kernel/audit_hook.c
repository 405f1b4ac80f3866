/* Management/admin decisions into the signed audit log (reference §9.3,
 * §10): admin_request with AuthorizationProof system (allow) or denied
 * (deny). Fail closed: when the entry is not durable the caller denies. */
#include <stdio.h>

#include "kernel/kernel.h"

int astrid_audit_request(astrid_kernel *k, const char *principal, const char *method,
                         const char *cap, const char *target, const json_t *params, bool allowed,
                         const char *reason)
{
    return astrid_audit_request_mode(k, ASTRID_AUDIT_DURABLE, principal, method, cap, target,
                                     params, allowed, reason);
}

int astrid_audit_request_mode(astrid_kernel *k, astrid_audit_mode mode, const char *principal,
                              const char *method, const char *cap, const char *target,
                              const json_t *params, bool allowed, const char *reason)
{
    char why[600];
    json_t *action = astrid_audit_action_admin(method, cap, target, (json_t *)params);
    json_t *auth;
    json_t *outcome;
    if (allowed) {
        snprintf(why, sizeof why, "policy allow: %s holds %s", principal, cap);
        auth = astrid_audit_auth_system(why);
        outcome = astrid_audit_outcome_success(NULL);
    } else {
        auth = astrid_audit_auth_denied(reason ? reason : "denied");
        outcome = astrid_audit_outcome_failure(reason ? reason : "denied");
    }
    astrid_err err;
    int rc = astrid_audit_append_mode(k->audit, mode, principal, action, auth, outcome, NULL, &err);
    json_decref(action);
    json_decref(auth);
    json_decref(outcome);
    if (rc != 0)
        astrid_klog(k, "ERROR", "audit append for %s (%s) failed, denying: %s", principal, method,
                    err.msg);
    return rc;
}
