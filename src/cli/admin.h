/* Admin API calls from the CLI (reference §10.2): one request on
 * astrid.v1.admin.<suffix>, the reply matched on
 * astrid.v1.admin.response.<suffix> by request_id, through the one request
 * helper (astrid_client_call, client.h: 15 s, as upstream's admin_client).
 * An ephemeral daemon is started when none runs.
 *
 * Ownership: `params` is borrowed; *data is a new reference. */
#ifndef ASTRID_CLI_ADMIN_H
#define ASTRID_CLI_ADMIN_H

#include <jansson.h>

#include "astrid/profile.h"
#include "cli/cli.h"
#include "client/client.h"

/* Connect (autostarting an --ephemeral daemon) as the active agent. */
int cli_connect_auto(astrid_client **out, astrid_err *err);

/* astrid_client_call on the admin API: 0 with *data on a non-error reply;
 * -1 with the daemon's error text in err, its code from the reply's
 * error.kind. */
int cli_admin_request(astrid_client *c, const char *suffix, const char *method,
                      const json_t *params, json_t **data, astrid_err *err);

/* Connect, one request, close; prints the error and returns the exit code
 * (CLI_OK with *data set). */
/* The agent a per-agent admin verb targets (-a AGENT, else the active
 * agent) into who; CLI_OK, or the error printed and its exit code. */
int cli_admin_target(cli_ctx *ctx, char *who, size_t n);
int cli_admin_call(cli_ctx *ctx, const char *suffix, const char *method, const json_t *params,
                   json_t **data);

/* Render `data` (stolen) in ctx->format. */
int cli_output(cli_ctx *ctx, json_t *data);

/* Comma-separated values (each trimmed, empty ones rejected) appended to
 * `arr`; every value of a repeatable flag is split. -1 with err. */
int cli_csv_append(json_t *arr, const cli_val *vals, const char *flag, astrid_err *err);

/* --memory/--timeout/--storage/--processes/--ipc-rate (those the command
 * defines) into the quotas object `q`; *any tells whether one was given.
 * Validates every value; -1 with err. (cmd_agent.c) */
int cli_quota_flags(cli_ctx *ctx, json_t *q, bool *any, astrid_err *err);

/* The agent summary of `principal` from agent.list (new reference) or
 * NULL with err (ASTRID_E_NOTFOUND when no such agent). */
json_t *cli_agent_summary(astrid_client *c, const char *principal, astrid_err *err);

#endif
