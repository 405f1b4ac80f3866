/* `astrid workspace diff|commit|discard -a AGENT`: an agent's pending
 * copy-on-write overlay of the workspace (docs/capsules.md "The workspace
 * overlay"). diff lists, commit applies (needs workspace:commit), discard
 * drops (needs workspace:discard); the kernel does the work and audits it. */
#include <limits.h>
#include <string.h>

#include "cli/admin.h"
#include "cli/cli_stub.h"
#include "cli/context.h"

static int ws_call(cli_ctx *ctx, const char *topic, const char *method, const char *key,
                   const char *verb)
{
    char who[CLI_PRINCIPAL_MAX];
    int rc = cli_admin_target(ctx, who, sizeof who);
    if (rc != CLI_OK)
        return rc;
    json_t *params = json_pack("{s:s}", "principal", who), *d = NULL;
    rc = cli_admin_call(ctx, topic, method, params, &d);
    json_decref(params);
    if (rc != CLI_OK)
        return rc;
    if (ctx->format && strcmp(ctx->format, "pretty") != 0)
        return cli_output(ctx, d);
    json_t *list = json_object_get(d, key);
    size_t i;
    json_t *e;
    if (json_array_size(list) == 0)
        fprintf(ctx->out, "No pending workspace changes for '%s'\n", who);
    json_array_foreach(list, i, e)
    {
        fprintf(ctx->out, "%-9s %s\n", json_string_value(json_object_get(e, "change")),
                json_string_value(json_object_get(e, "path")));
    }
    if (verb && json_array_size(list))
        fprintf(ctx->out, "%s %zu change(s) of '%s'\n", verb, json_array_size(list), who);
    json_decref(d);
    return CLI_OK;
}

static int ws_diff(cli_ctx *ctx)
{
    return ws_call(ctx, "workspace.diff", "WorkspaceDiff", "changes", NULL);
}

static int ws_commit(cli_ctx *ctx)
{
    return ws_call(ctx, "workspace.commit", "WorkspaceCommit", "changes", "Committed");
}

static int ws_discard(cli_ctx *ctx)
{
    return ws_call(ctx, "workspace.discard", "WorkspaceDiscard", "discarded", "Discarded");
}

static const cli_cmd w_diff = {.name = "diff",
                               .max_args = 0,
                               .help = "List an agent's pending workspace changes",
                               .flags = CLI_FLAGS(CLI_F_AGENT, CLI_F_FORMAT),
                               .fn = ws_diff};
static const cli_cmd w_commit = {.name = "commit",
                                 .max_args = 0,
                                 .help = "Apply an agent's pending changes to the workspace "
                                         "(needs workspace:commit)",
                                 .flags = CLI_FLAGS(CLI_F_AGENT, CLI_F_FORMAT),
                                 .fn = ws_commit};
static const cli_cmd w_discard = {.name = "discard",
                                  .max_args = 0,
                                  .help = "Drop an agent's pending changes (needs "
                                          "workspace:discard)",
                                  .flags = CLI_FLAGS(CLI_F_AGENT, CLI_F_FORMAT),
                                  .fn = ws_discard};
const cli_cmd cli_cmd_workspace = {.name = "workspace",
                                   .help = "Show, commit or discard an agent's workspace overlay",
                                   .sub = CLI_SUB(&w_diff, &w_commit, &w_discard)};
