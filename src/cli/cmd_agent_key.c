/* `astrid agent key add|list|remove|generate` — the ed25519 keys an agent
 * proves itself with (profile [auth] public_keys; docs/wire.md "Key
 * authentication"). add/list/remove are admin requests
 * (astrid.v1.admin.agent.key.*); generate writes an identity file locally
 * and talks to nobody. */
#include <limits.h>
#include <string.h>

#include "astrid/crypto.h"
#include "cli/admin.h"
#include "cli/cli_stub.h"

static int key_call(cli_ctx *ctx, const char *suffix, const char *method, const char *key,
                    const char *done)
{
    const char *name = ctx->argv[0];
    json_t *params = json_pack("{s:s}", "principal", name), *d = NULL;
    if (key)
        json_object_set_new(params, "public_key", json_string(key));
    int rc = cli_admin_call(ctx, suffix, method, params, &d);
    json_decref(params);
    if (rc != CLI_OK)
        return rc;
    if (done) {
        fprintf(ctx->out, done, name);
        json_decref(d);
        return CLI_OK;
    }
    if (ctx->format && strcmp(ctx->format, "pretty") != 0)
        return cli_output(ctx, d);
    json_t *keys = json_object_get(d, "public_keys"), *k;
    size_t i;
    if (json_array_size(keys) == 0)
        fprintf(ctx->out, "%s has no keys (the token alone claims it on system.sock)\n", name);
    json_array_foreach(keys, i, k)
    {
        fprintf(ctx->out, "%s\n", json_string_value(k) ?: "");
    }
    json_decref(d);
    return CLI_OK;
}

static int key_add(cli_ctx *ctx)
{
    return key_call(ctx, "agent.key.add", "AgentKeyAdd", ctx->argv[1],
                    "Key added to '%s': claiming it now needs this key\n");
}

static int key_remove(cli_ctx *ctx)
{
    return key_call(ctx, "agent.key.remove", "AgentKeyRemove", ctx->argv[1],
                    "Key removed from '%s'\n");
}

static int key_list(cli_ctx *ctx)
{
    return key_call(ctx, "agent.key.list", "AgentKeyList", NULL, NULL);
}

static int key_generate(cli_ctx *ctx)
{
    astrid_err err;
    astrid_keypair kp;
    if (astrid_crypto_init(&err) != 0 ||
        astrid_identity_create(ctx->argv[1], ctx->argv[0], &kp, &err) != 0)
        return cli_fail(ctx, &err);
    char pk[ASTRID_B64_LEN(ASTRID_ED25519_PK_LEN)];
    astrid_b64_encode(pk, kp.pk, sizeof kp.pk);
    astrid_keypair_wipe(&kp);
    if (ctx->format && strcmp(ctx->format, "pretty") != 0)
        return cli_output(ctx, json_pack("{s:s,s:s,s:s}", "principal", ctx->argv[0], "identity",
                                         ctx->argv[1], "public_key", pk));
    fprintf(ctx->out,
            "Wrote identity for '%s' to %s (0600)\npublic key: %s\n"
            "Register it with: astrid agent key add %s %s\n",
            ctx->argv[0], ctx->argv[1], pk, ctx->argv[0], pk);
    return CLI_OK;
}

static const cli_cmd k_add = {.name = "add",
                              .args = "<NAME> <PUBLIC_KEY>",
                              .min_args = 2,
                              .max_args = 2,
                              .help = "Add an ed25519 public key (base64) to an agent",
                              .fn = key_add};
static const cli_cmd k_list = {.name = "list",
                               .args = "<NAME>",
                               .min_args = 1,
                               .max_args = 1,
                               .help = "List an agent's public keys",
                               .flags = CLI_FLAGS(CLI_F_FORMAT),
                               .fn = key_list};
static const cli_cmd k_remove = {.name = "remove",
                                 .args = "<NAME> <PUBLIC_KEY>",
                                 .min_args = 2,
                                 .max_args = 2,
                                 .help = "Remove a public key from an agent",
                                 .fn = key_remove};
static const cli_cmd k_generate = {
    .name = "generate",
    .args = "<NAME> <KEYFILE>",
    .min_args = 2,
    .max_args = 2,
    .help = "Write a new identity file for NAME and print its public key",
    .long_help = "KEYFILE (created 0600, never overwritten) holds principal = NAME and the "
                 "base64 ed25519 seed; use it with `astrid --identity KEYFILE` or "
                 "ASTRID_IDENTITY after `astrid agent key add NAME PUBLIC_KEY`.",
    .flags = CLI_FLAGS(CLI_F_FORMAT),
    .fn = key_generate};

const cli_cmd cli_agent_key = {.name = "key",
                               .help = "Manage the keys an agent proves itself with",
                               .sub = CLI_SUB(&k_add, &k_list, &k_remove, &k_generate)};
