/* Management/admin decisions into the signed audit log (reference §9.3,
 * §10): admin_request with AuthorizationProof system (allow) or denied
 * (deny). Fail closed: when the entry is not durable the caller denies. */
#include <stdio.h>

#include "astrid/trust.h"
#include "kernel/kernel.h"

int astrid_audit_request(astrid_kernel *k, const char *principal, const char *method,
                         const char *cap, const char *target, const json_t *params, bool allowed,
                         const char *reason)
{
    return astrid_audit_request_mode(k, ASTRID_AUDIT_DURABLE, principal, method, cap, target,
                                     params, allowed, reason);
}

/* Append one admin_request entry (takes `auth` and `outcome`). */
static int record(astrid_kernel *k, astrid_audit_mode mode, const char *principal,
                  const char *method, const char *cap, const char *target, const json_t *params,
                  json_t *auth, json_t *outcome, astrid_err *err)
{
    json_t *action = astrid_audit_action_admin(method, cap, target, (json_t *)params);
    /* A remote principal ("alice@B", federation) has no home here, so no
     * log of its own: its decisions go into the kernel's own chain
     * ("default"), naming it. */
    if (action && astrid_principal_is_remote(principal)) {
        json_object_set_new(action, "remote_principal", json_string(principal));
        principal = "default";
    }
    int rc = astrid_audit_append_mode(k->audit, mode, principal, action, auth, outcome, NULL, err);
    json_decref(action);
    json_decref(auth);
    json_decref(outcome);
    return rc;
}

static json_t *allow_proof(const char *principal, const char *cap)
{
    char why[600];
    snprintf(why, sizeof why, "policy allow: %s holds %s", principal, cap);
    return astrid_audit_auth_system(why);
}

int astrid_audit_request_why(astrid_kernel *k, astrid_audit_mode mode, const char *principal,
                             const char *method, const char *cap, const char *target,
                             const json_t *params, bool allowed, const char *reason,
                             astrid_err *err)
{
    json_t *auth;
    json_t *outcome;
    if (allowed) {
        auth = allow_proof(principal, cap);
        outcome = astrid_audit_outcome_success(NULL);
    } else {
        auth = astrid_audit_auth_denied(reason ? reason : "denied");
        outcome = astrid_audit_outcome_failure(reason ? reason : "denied");
    }
    astrid_err local = {0};
    astrid_err *e = err ? err : &local;
    int rc = record(k, mode, principal, method, cap, target, params, auth, outcome, e);
    if (rc != 0)
        astrid_klog(k, "ERROR", "audit append for %s (%s) failed, denying: %s", principal, method,
                    e->msg);
    return rc;
}

int astrid_audit_request_mode(astrid_kernel *k, astrid_audit_mode mode, const char *principal,
                              const char *method, const char *cap, const char *target,
                              const json_t *params, bool allowed, const char *reason)
{
    return astrid_audit_request_why(k, mode, principal, method, cap, target, params, allowed,
                                    reason, NULL);
}

void astrid_audit_request_failed(astrid_kernel *k, const char *principal, const char *method,
                                 const char *cap, const char *target, const json_t *params,
                                 const char *error)
{
    astrid_err err;
    if (record(k, ASTRID_AUDIT_DURABLE, principal, method, cap, target, params,
               allow_proof(principal, cap), astrid_audit_outcome_failure(error), &err) != 0)
        astrid_klog(k, "ERROR", "audit: the failure of %s by %s was not recorded: %s", method,
                    principal, err.msg);
}
