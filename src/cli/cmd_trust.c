/* `astrid trust add|list|remove|self` — the federation trust table
 * (docs/federation-trust.md). Upstream registers these and exits 2 (its
 * issue 675); ours drive the admin API's trust.* methods. */
#include <string.h>

#include "cli/admin.h"
#include "cli/cli_stub.h"

static int trust_add(cli_ctx *ctx)
{
    json_t *params = json_pack("{s:s,s:s}", "host", ctx->argv[0], "pubkey", ctx->argv[1]);
    json_t *d = NULL;
    int rc = cli_admin_call(ctx, "trust.add", "TrustAdd", params, &d);
    json_decref(params);
    if (rc == CLI_OK)
        fprintf(ctx->out, "Host '%s' trusted (key %s)\n", ctx->argv[0],
                json_string_value(json_object_get(d, "pubkey")));
    json_decref(d);
    return rc;
}

static int trust_remove(cli_ctx *ctx)
{
    json_t *params = json_pack("{s:s}", "host", ctx->argv[0]), *d = NULL;
    int rc = cli_admin_call(ctx, "trust.remove", "TrustRemove", params, &d);
    json_decref(params);
    if (rc == CLI_OK)
        fprintf(ctx->out, "Host '%s' is no longer trusted\n", ctx->argv[0]);
    json_decref(d);
    return rc;
}

static int trust_list(cli_ctx *ctx)
{
    json_t *d = NULL;
    int rc = cli_admin_call(ctx, "trust.list", "TrustList", NULL, &d);
    return rc == CLI_OK ? cli_output(ctx, d) : rc;
}

/* This host's line, in the form the other hosts' `trust add` takes. */
static int trust_self(cli_ctx *ctx)
{
    json_t *d = NULL, *v;
    int rc = cli_admin_call(ctx, "trust.list", "TrustList", NULL, &d);
    if (rc != CLI_OK)
        return rc;
    size_t i;
    json_array_foreach(d, i, v)
    {
        if (!json_is_true(json_object_get(v, "this_host")))
            continue;
        const char *host = json_string_value(json_object_get(v, "host"));
        const char *key = json_string_value(json_object_get(v, "pubkey"));
        fprintf(ctx->out, "%s %s\n", host, key);
        if (strcmp(host, "(unset)") == 0)
            fprintf(ctx->err, "astrid: this host has no federation name yet "
                              "(etc/federation.toml [federation] host)\n");
        else
            fprintf(ctx->err, "astrid: on the other hosts: astrid trust add %s %s\n", host, key);
    }
    json_decref(d);
    return CLI_OK;
}

/* The daemon's verdict for a (remote) principal: exit 0 allowed, 1 not. */
static int trust_check(cli_ctx *ctx)
{
    json_t *params = json_pack("{s:s,s:s}", "principal", ctx->argv[0], "capability", ctx->argv[1]);
    json_t *d = NULL;
    int rc = cli_admin_call(ctx, "trust.check", "TrustCheck", params, &d);
    json_decref(params);
    if (rc != CLI_OK)
        return rc;
    bool allowed = json_is_true(json_object_get(d, "allowed"));
    if (allowed)
        fprintf(ctx->out, "allowed: %s holds %s\n", ctx->argv[0], ctx->argv[1]);
    else
        fprintf(ctx->out, "denied: %s\n", json_string_value(json_object_get(d, "reason")));
    json_decref(d);
    return allowed ? CLI_OK : CLI_ERROR;
}

static const cli_cmd t_add = {.name = "add",
                              .args = "<host> <pubkey>",
                              .min_args = 2,
                              .max_args = 2,
                              .help = "Trust a host's runtime key (64 hex: its keys/runtime.pub)",
                              .fn = trust_add};
static const cli_cmd t_list = {.name = "list",
                               .max_args = 0,
                               .help = "List trusted hosts (this host first)",
                               .flags = CLI_FLAGS(CLI_F_FORMAT),
                               .fn = trust_list};
static const cli_cmd t_remove = {.name = "remove",
                                 .args = "<host>",
                                 .min_args = 1,
                                 .max_args = 1,
                                 .help = "Stop trusting a host",
                                 .fn = trust_remove};
static const cli_cmd t_self = {.name = "self",
                               .max_args = 0,
                               .help = "Print this host's name and public key",
                               .fn = trust_self};
static const cli_cmd t_check = {
    .name = "check",
    .args = "<principal@host> <cap>",
    .min_args = 2,
    .max_args = 2,
    .help = "Exit 0 when a (remote) principal holds the capability here, 1 when not",
    .fn = trust_check};
const cli_cmd cli_cmd_trust = {.name = "trust",
                               .help =
                                   "Federation trust: hosts whose signatures this host believes",
                               .sub = CLI_SUB(&t_add, &t_list, &t_remove, &t_self, &t_check)};
