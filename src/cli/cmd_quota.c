/* `astrid quota ...` — per-agent resource quotas (reference §7.2, §10.2).
 * `set` reads the current quotas and changes only the fields given, so one
 * quota.set replaces the block with everything else kept. */
#include <limits.h>

#include "cli/admin.h"
#include "cli/cli_stub.h"
#include "cli/context.h"

static int quota_show(cli_ctx *ctx)
{
    char who[CLI_PRINCIPAL_MAX];
    int rc = cli_admin_target(ctx, who, sizeof who);
    if (rc != CLI_OK)
        return rc;
    json_t *params = json_pack("{s:s}", "principal", who), *d = NULL;
    rc = cli_admin_call(ctx, "quota.get", "QuotaGet", params, &d);
    json_decref(params);
    return rc == CLI_OK ? cli_output(ctx, d) : rc;
}

static int quota_set(cli_ctx *ctx)
{
    char who[CLI_PRINCIPAL_MAX];
    int rc = cli_admin_target(ctx, who, sizeof who);
    if (rc != CLI_OK)
        return rc;
    if (cli_flag_count(ctx, "group") || cli_flag_count(ctx, "streams"))
        return cli_unavailable(ctx, "quota set --group/--streams",
                               "group quotas and stream "
                               "limits are not built yet");
    astrid_err err;
    json_t *changes = json_object();
    bool any = false;
    if (cli_quota_flags(ctx, changes, &any, &err) < 0) {
        json_decref(changes);
        return cli_fail(ctx, &err);
    }
    if (!any) {
        json_decref(changes);
        fprintf(ctx->err, "astrid: quota set needs at least one of --memory, --timeout, "
                          "--storage, --processes, --ipc-rate\n");
        return CLI_ERROR;
    }
    astrid_client *c = NULL;
    json_t *cur = NULL, *d = NULL;
    json_t *get = json_pack("{s:s}", "principal", who);
    if (cli_connect_auto(&c, &err) < 0 ||
        cli_admin_request(c, "quota.get", "QuotaGet", get, &cur, &err) < 0) {
        rc = cli_fail(ctx, &err);
    } else {
        json_object_update(cur, changes);
        json_t *params = json_pack("{s:s,s:O}", "principal", who, "quotas", cur);
        if (cli_admin_request(c, "quota.set", "QuotaSet", params, &d, &err) < 0)
            rc = cli_fail(ctx, &err);
        else
            fprintf(ctx->out, "Quotas of '%s' updated\n", who);
        json_decref(params);
    }
    astrid_client_close(c);
    json_decref(get);
    json_decref(cur);
    json_decref(d);
    json_decref(changes);
    return rc;
}

static const cli_cmd q_show = {.name = "show",
                               .max_args = 0,
                               .help = "Show an agent's quotas",
                               .flags = CLI_FLAGS(CLI_F_AGENT, CLI_F_FORMAT),
                               .fn = quota_show};
static const cli_cmd q_set = {
    .name = "set",
    .max_args = 0,
    .help = "Set an agent's quotas (needs quota:set)",
    .flags =
        CLI_FLAGS(CLI_F_AGENT, {"memory", 0, "SIZE", "Memory limit (e.g. 64MiB)", false, false},
                  {"timeout", 0, "DUR", "Invocation timeout (e.g. 30s)", false, false},
                  {"storage", 0, "SIZE", "Storage limit", false, false},
                  {"processes", 0, "N", "Background processes (0..256)", false, false},
                  {"ipc-rate", 0, "RATE", "IPC throughput (e.g. 10MiB/s)", false, false},
                  {"group", 'g', "GROUP", "Group quota", false, true},
                  {"streams", 0, "N", "HTTP streams", false, true}),
    .fn = quota_set};
const cli_cmd cli_cmd_quota = {
    .name = "quota", .help = "Show and set resource quotas", .sub = CLI_SUB(&q_show, &q_set)};
