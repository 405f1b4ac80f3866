/* `astrid budget show|set` — an agent's USD limits and spend (the gate's
 * budgets, docs/authority.md) through budget.get / budget.set. transfer and
 * history stay deferred upstream (exit 2). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "cli/admin.h"
#include "cli/cli_stub.h"
#include "cli/context.h"

#define ISSUE(n) "deferred upstream: https://github.com/unicity-astrid/astrid/issues/" #n

static int budget_show(cli_ctx *ctx)
{
    char who[CLI_PRINCIPAL_MAX];
    int rc = cli_admin_target(ctx, who, sizeof who);
    if (rc != CLI_OK)
        return rc;
    json_t *params = json_pack("{s:s}", "principal", who), *d = NULL;
    rc = cli_admin_call(ctx, "budget.get", "BudgetGet", params, &d);
    json_decref(params);
    return rc == CLI_OK ? cli_output(ctx, d) : rc;
}

/* --flag USD into b[key]; -1 on a bad number (message printed). */
static int usd(cli_ctx *ctx, json_t *b, const char *flag, const char *key, bool *any)
{
    const char *v = cli_flag_str(ctx, flag);
    if (!v)
        return 0;
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(d) || d < 0) {
        fprintf(ctx->err, "astrid: --%s must be a USD amount >= 0 (0 = unlimited), got '%s'\n",
                flag, v);
        return -1;
    }
    json_object_set_new(b, key, json_real(d));
    *any = true;
    return 0;
}

static int budget_set(cli_ctx *ctx)
{
    char who[CLI_PRINCIPAL_MAX];
    int rc = cli_admin_target(ctx, who, sizeof who);
    if (rc != CLI_OK)
        return rc;
    json_t *b = json_object();
    bool any = false;
    if (usd(ctx, b, "per-action", "per_action_usd", &any) ||
        usd(ctx, b, "session", "session_usd", &any) ||
        usd(ctx, b, "workspace", "workspace_usd", &any) ||
        usd(ctx, b, "warn-at", "warn_at_percent", &any)) {
        json_decref(b);
        return CLI_ERROR;
    }
    if (!any) {
        json_decref(b);
        fprintf(ctx->err, "astrid: budget set needs at least one of --per-action, --session, "
                          "--workspace, --warn-at\n");
        return CLI_ERROR;
    }
    json_t *params = json_pack("{s:s,s:o}", "principal", who, "budget", b), *d = NULL;
    rc = cli_admin_call(ctx, "budget.set", "BudgetSet", params, &d);
    json_decref(params);
    if (rc == CLI_OK)
        fprintf(ctx->out, "Budget of '%s' updated\n", who);
    json_decref(d);
    return rc;
}

static const cli_cmd b_show = {.name = "show",
                               .max_args = 0,
                               .help = "Show an agent's budget limits and spend (USD)",
                               .flags = CLI_FLAGS(CLI_F_AGENT, CLI_F_FORMAT),
                               .fn = budget_show};
static const cli_cmd b_set = {
    .name = "set",
    .max_args = 0,
    .help = "Set an agent's budget limits (needs budget:set)",
    .flags = CLI_FLAGS(
        CLI_F_AGENT, {"per-action", 0, "USD", "Per-action limit (0 = unlimited)", false, false},
        {"session", 0, "USD", "Per-session limit (0 = unlimited)", false, false},
        {"workspace", 0, "USD", "Per-workspace limit (0 = unlimited)", false, false},
        {"warn-at", 0, "PCT", "Warn at this percent of a limit (1..100)", false, false}),
    .fn = budget_set};
CLI_STUB(b_transfer, "transfer", NULL, 0, -1, "Transfer budget", NULL, ISSUE(653));
CLI_STUB(b_history, "history", NULL, 0, -1, "Budget history", NULL, ISSUE(653));
const cli_cmd cli_cmd_budget = {.name = "budget",
                                .help = "Budgets in USD",
                                .sub = CLI_SUB(&b_show, &b_set, &b_transfer, &b_history)};
