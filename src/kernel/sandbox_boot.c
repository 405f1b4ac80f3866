/* The sandbox's boot half: ASTRID_SANDBOX_POLICY and the one probe whose
 * result every native spawn of this daemon uses (kernel.h). */
#include <stdlib.h>

#include "kernel/kernel.h"
#include "lib/audit/audit_format.h"
#include "lib/config/config.h"

/* sandbox.policy of the configuration: ASTRID_SANDBOX_POLICY is its env
 * layer (checked with this parser's message when the config loaded). */
int astrid_kernel_sandbox_policy(astrid_kernel *k, astrid_err *err)
{
    if (astrid_sandbox_policy_parse(astrid_config_enum(k->config, "sandbox.policy"),
                                    &k->sandbox_policy, err) < 0)
        return astrid_err_prefix(err, "refusing to boot");
    return 0;
}

int astrid_kernel_sandbox_probe(astrid_kernel *k, astrid_err *err)
{
    astrid_sandbox_probe *p = &k->sandbox_probe;
    astrid_sandbox_probe_run(p);
    bool usable = astrid_sandbox_usable(p);
    if (usable)
        astrid_klog(k, "INFO", "sandbox: policy %s; bwrap %s usable (namespaces, seccomp)",
                    astrid_sandbox_policy_name(k->sandbox_policy), p->bwrap_path);
    else
        astrid_klog(k, k->sandbox_policy == ASTRID_SANDBOX_OFF ? "WARN" : "ERROR",
                    "sandbox: policy %s; sandbox unavailable: %s; %s",
                    astrid_sandbox_policy_name(k->sandbox_policy), p->reason,
                    k->sandbox_policy == ASTRID_SANDBOX_OFF
                        ? "native subprocesses run unsandboxed"
                        : "native subprocess capsules will be refused (" ASTRID_SANDBOX_REMEDIATION
                          ")");
    if (k->sandbox_policy != ASTRID_SANDBOX_OFF)
        return 0;
    astrid_klog(k, "WARN",
                "sandbox: ASTRID_SANDBOX_POLICY=off: native subprocesses run WITHOUT the sandbox");
    /* Recorded durably before any capsule can start: an operator reading
     * the log sees that containment was switched off and when. */
    json_t *action = json_pack("{s:s, s:s, s:s}", "type", "security_violation", "violation_type",
                               "sandbox_disabled", "details",
                               "ASTRID_SANDBOX_POLICY=off: native subprocesses run unsandboxed");
    json_t *auth = astrid_audit_auth_system("operator set ASTRID_SANDBOX_POLICY=off");
    json_t *outcome = astrid_audit_outcome_success(NULL);
    int rc = -1;
    if (action && auth && outcome)
        rc = astrid_audit_append(k->audit, "default", action, auth, outcome, NULL, err);
    else
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    json_decref(action);
    json_decref(auth);
    json_decref(outcome);
    return rc < 0 ? astrid_err_prefix(err, "audit entry for ASTRID_SANDBOX_POLICY=off") : 0;
}
