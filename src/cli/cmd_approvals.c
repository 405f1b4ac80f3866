/* `astrid approvals list|answer` — the approval prompts of the active
 * agent waiting for a human (docs/authority.md). list = ListApprovals,
 * answer = ApproveCapability {request_id, decision, reason?}; both
 * management requests, answered only for the caller's own prompts. */
#include <string.h>

#include "cli/admin.h"
#include "cli/cli_stub.h"
#include "client/client.h"

static int mgmt(cli_ctx *ctx, const char *suffix, const char *method, const json_t *params,
                json_t **data)
{
    astrid_client *c = NULL;
    astrid_err err;
    if (cli_connect_auto(&c, &err) < 0)
        return cli_fail(ctx, &err);
    astrid_call call = {.suffix = suffix, .method = method, .params = params};
    int rc = astrid_client_call(c, &call, data, &err);
    astrid_client_close(c);
    return rc < 0 ? cli_fail(ctx, &err) : CLI_OK;
}

static int approvals_list(cli_ctx *ctx)
{
    json_t *d = NULL;
    int rc = mgmt(ctx, "list_approvals", "ListApprovals", NULL, &d);
    if (rc != CLI_OK)
        return rc;
    if (!ctx->format && json_array_size(d) == 0) {
        json_decref(d);
        fprintf(ctx->out, "No pending approvals\n");
        return CLI_OK;
    }
    return cli_output(ctx, d);
}

static int approvals_answer(cli_ctx *ctx)
{
    static const char *const ok[] = {"approve", "approve_session", "approve_workspace",
                                     "approve_always", "deny"};
    const char *id = ctx->argv[0], *decision = ctx->argv[1];
    bool valid = false;
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        valid = valid || strcmp(decision, ok[i]) == 0;
    if (!valid) {
        fprintf(ctx->err, "astrid: decision must be approve, approve_session, "
                          "approve_workspace, approve_always or deny\n");
        return CLI_ERROR;
    }
    json_t *params = json_pack("{s:s,s:s}", "request_id", id, "decision", decision), *d = NULL;
    const char *reason = cli_flag_str(ctx, "reason");
    if (reason)
        json_object_set_new(params, "reason", json_string(reason));
    int rc = mgmt(ctx, "approve_capability", "ApproveCapability", params, &d);
    json_decref(params);
    json_decref(d);
    if (rc == CLI_OK)
        fprintf(ctx->out, "Answered %s: %s\n", id, decision);
    return rc;
}

static const cli_cmd a_list = {.name = "list",
                               .max_args = 0,
                               .help = "List the active agent's approval prompts waiting",
                               .flags = CLI_FLAGS(CLI_F_FORMAT),
                               .fn = approvals_list};
static const cli_cmd a_answer = {
    .name = "answer",
    .args = "<ID> <DECISION>",
    .min_args = 2,
    .max_args = 2,
    .help = "Answer a prompt: approve|approve_session|approve_workspace|approve_always|deny",
    .flags = CLI_FLAGS({"reason", 0, "TEXT", "Why (recorded)", false, false}),
    .fn = approvals_answer};
const cli_cmd cli_cmd_approvals = {.name = "approvals",
                                   .help = "Approval prompts waiting for the human",
                                   .sub = CLI_SUB(&a_list, &a_answer)};
