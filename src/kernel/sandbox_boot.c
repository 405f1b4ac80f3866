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
    /* Say where "off" came from: the variable, or a config file's line. */
    const astrid_config_value *v = astrid_config_get(k->config, "sandbox.policy");
    char who[400] = "ASTRID_SANDBOX_POLICY=off", details[512];
    if (v && v->layer != ASTRID_CFG_ENV) {
        char src[360];
        astrid_config_source(v, src, sizeof src);
        snprintf(who, sizeof who, "sandbox.policy = \"off\" (%s)", src);
    }
    snprintf(details, sizeof details, "%s: native subprocesses run unsandboxed", who);
    astrid_klog(k, "WARN", "sandbox: %s: native subprocesses run WITHOUT the sandbox", who);
    /* Recorded durably before any capsule can start: an operator reading
     * the log sees that containment was switched off and when. */
    json_t *action = json_pack("{s:s, s:s, s:s}", "type", "security_violation", "violation_type",
                               "sandbox_disabled", "details", details);
    char why[420];
    snprintf(why, sizeof why, "operator set %s", who);
    json_t *auth = astrid_audit_auth_system(why);
    json_t *outcome = astrid_audit_outcome_success(NULL);
    int rc = -1;
    if (action && auth && outcome)
        rc = astrid_audit_append(k->audit, "default", action, auth, outcome, NULL, err);
    else
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    json_decref(action);
    json_decref(auth);
    json_decref(outcome);
    return rc < 0 ? astrid_err_prefix(err, "audit entry for %s", who) : 0;
}
