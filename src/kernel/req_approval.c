/* ApproveCapability (reference §10.1, unimplemented upstream) and
 * ListApprovals: the management side of the approval flow (gate.h). The
 * answering principal is the authenticated caller; a prompt of another
 * principal cannot be answered (the gate ignores and audits it). */
#include <string.h>

#include "kernel/gate.h"
#include "kernel/requests.h"

int req_approve(astrid_req *r, json_t **data, const char **status)
{
    (void)status;
    json_t *p = json_is_object(r->params) ? r->params : NULL;
    const char *id = json_string_value(json_object_get(p, "request_id"));
    const char *decision = json_string_value(json_object_get(p, "decision"));
    const char *reason = json_string_value(json_object_get(p, "reason"));
    if (!id)
        return astrid_req_fail(r, ASTRID_KIND_INVALID, "params.request_id must be a string");
    /* Upstream's shape carries only a signature: approving is its meaning.
     * The signature is not needed: the connection is authenticated. */
    if (!decision)
        decision = "approve";
    astrid_err err;
    if (astrid_gate_answer(r->k, r->caller, id, decision, reason, &err) != 0)
        return astrid_req_fail_err(r, &err);
    *data = json_pack("{s:s,s:s}", "request_id", id, "decision", decision);
    return 0;
}

int req_list_approvals(astrid_req *r, json_t **data, const char **status)
{
    (void)status;
    *data = astrid_gate_pending(r->k, r->caller);
    return 0;
}
