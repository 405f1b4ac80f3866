/* `astrid secret set|list|delete` — capsule secrets and env values
 * (reference §11.3, §14.2). The daemon decides where a value goes and does
 * every write (astrid.v1.admin.secret.*, kernel/admin_secret.c): this file
 * only carries the request. A value travels in params.secrets, which the
 * audit log records without values, and is never printed.
 *
 * The value on the command line is visible to every local user through
 * `ps` for as long as the process runs; `set` wipes it from argv before it
 * connects (what is left is the window between exec and that wipe), and
 * VALUE `-` reads it from stdin instead, which never shows. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli/admin.h"
#include "cli/cli_stub.h"
#include "cli/context.h"

#define SECRET_STDIN_MAX 65537 /* one over the store's cap: the daemon says what the cap is */

/* The value, read from stdin for "-" (one trailing newline dropped).
 * malloc'd; NULL after printing the error. */
static char *take_value(cli_ctx *ctx, char *arg)
{
    if (strcmp(arg, "-") != 0) {
        char *v = strdup(arg);
        /* out of /proc/PID/cmdline (`ps`) from here on */
        explicit_bzero(arg, strlen(arg));
        if (!v)
            fprintf(ctx->err, "astrid: out of memory\n");
        return v;
    }
    char *v = malloc(SECRET_STDIN_MAX + 1);
    if (!v) {
        fprintf(ctx->err, "astrid: out of memory\n");
        return NULL;
    }
    size_t n = fread(v, 1, SECRET_STDIN_MAX, stdin);
    v[n] = '\0';
    if (n && v[n - 1] == '\n')
        v[--n] = '\0';
    if (n && v[n - 1] == '\r')
        v[--n] = '\0';
    if (strlen(v) != n) {
        explicit_bzero(v, n);
        free(v);
        fprintf(ctx->err, "astrid: the value read from stdin contains a NUL byte\n");
        return NULL;
    }
    return v;
}

static int secret_set(cli_ctx *ctx)
{
    char who[CLI_PRINCIPAL_MAX];
    const char *key = ctx->argv[0], *capsule = cli_flag_str(ctx, "capsule"),
               *scope = cli_flag_str(ctx, "scope");
    /* argv is the process's own (writable) memory, borrowed by the parser */
    union {
        const char *c;
        char *m;
    } arg = {.c = ctx->argv[1]};
    char *value = take_value(ctx, arg.m);
    if (!value)
        return CLI_ERROR;
    int rc = cli_admin_target(ctx, who, sizeof who);
    if (rc == CLI_OK && scope && strcmp(scope, "agent") != 0 && strcmp(scope, "shared") != 0) {
        fprintf(ctx->err, "astrid: --scope must be agent or shared, got '%s'\n", scope);
        rc = CLI_ERROR;
    } else if (rc == CLI_OK && scope && !capsule) {
        fprintf(ctx->err, "astrid: --scope needs --capsule NAME\n");
        rc = CLI_ERROR;
    } else if (rc == CLI_OK && !*value) {
        fprintf(ctx->err, "astrid: the value of %s must not be empty\n", key);
        rc = CLI_ERROR;
    }
    if (rc != CLI_OK) {
        explicit_bzero(value, strlen(value));
        free(value);
        return rc;
    }
    json_t *params = json_pack("{s:s,s:{s:s}}", "agent", who, "secrets", key, value);
    explicit_bzero(value, strlen(value));
    free(value);
    if (!params) {
        fprintf(ctx->err, "astrid: the key or value is not valid UTF-8\n");
        return CLI_ERROR;
    }
    if (capsule)
        json_object_set_new(params, "capsule", json_string(capsule));
    if (scope)
        json_object_set_new(params, "scope", json_string(scope));
    json_t *d = NULL;
    rc = cli_admin_call(ctx, "secret.set", "SecretSet", params, &d);
    /* the request's copy of the value: wipe it before it is freed */
    json_t *sec = json_object_get(params, "secrets"), *v = json_object_get(sec, key);
    if (json_is_string(v))
        explicit_bzero((char *)json_string_value(v), json_string_length(v));
    json_decref(params);
    if (rc != CLI_OK)
        return rc;
    const char *storage = json_string_value(json_object_get(d, "storage"));
    bool file = storage && strcmp(storage, "file") == 0;
    fprintf(ctx->out, "Set %s for %s/%s (%s%s)\n", key,
            strcmp(json_string_value(json_object_get(d, "scope")) ?: "", "shared") == 0 ? "shared"
                                                                                        : who,
            json_string_value(json_object_get(d, "capsule")) ?: "?",
            file ? "secret store" : "env JSON", file ? ", 0600" : "");
    json_decref(d);
    return CLI_OK;
}

static int secret_list(cli_ctx *ctx)
{
    char who[CLI_PRINCIPAL_MAX];
    int rc = cli_admin_target(ctx, who, sizeof who);
    if (rc != CLI_OK)
        return rc;
    json_t *params = json_pack("{s:s}", "agent", who), *d = NULL;
    rc = cli_admin_call(ctx, "secret.list", "SecretList", params, &d);
    json_decref(params);
    if (rc != CLI_OK)
        return rc;
    if (ctx->format && strcmp(ctx->format, "pretty") != 0)
        return cli_output(ctx, d);
    if (json_array_size(d) == 0) {
        fprintf(ctx->out, "No secrets or env values stored for %s.\n", who);
        json_decref(d);
        return CLI_OK;
    }
    fprintf(ctx->out, "%-32s %-24s %-8s %s\n", "KEY", "CAPSULE", "SCOPE", "STORAGE");
    size_t i;
    json_t *row;
    json_array_foreach(d, i, row)
    {
        fprintf(ctx->out, "%-32s %-24s %-8s %s\n",
                json_string_value(json_object_get(row, "key")) ?: "",
                json_string_value(json_object_get(row, "capsule")) ?: "",
                json_string_value(json_object_get(row, "scope")) ?: "",
                json_string_value(json_object_get(row, "storage")) ?: "");
    }
    json_decref(d);
    return CLI_OK;
}

static int secret_delete(cli_ctx *ctx)
{
    char who[CLI_PRINCIPAL_MAX];
    int rc = cli_admin_target(ctx, who, sizeof who);
    if (rc != CLI_OK)
        return rc;
    const char *capsule = cli_flag_str(ctx, "capsule"), *scope = cli_flag_str(ctx, "scope");
    json_t *params = json_pack("{s:s,s:s}", "agent", who, "key", ctx->argv[0]), *d = NULL;
    if (capsule)
        json_object_set_new(params, "capsule", json_string(capsule));
    if (scope)
        json_object_set_new(params, "scope", json_string(scope));
    rc = cli_admin_call(ctx, "secret.delete", "SecretDelete", params, &d);
    json_decref(params);
    if (rc != CLI_OK)
        return rc;
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(d, "deleted"), i, row)
    {
        fprintf(ctx->out, "Deleted %s from %s (%s, %s)\n", ctx->argv[0],
                json_string_value(json_object_get(row, "capsule")) ?: "?",
                json_string_value(json_object_get(row, "scope")) ?: "?",
                json_string_value(json_object_get(row, "storage")) ?: "?");
    }
    json_decref(d);
    return CLI_OK;
}

static const cli_cmd s_set = {
    .name = "set",
    .args = "<KEY> <VALUE>",
    .min_args = 2,
    .max_args = 2,
    .help = "Set a secret or env value",
    .long_help = "A key the capsule's manifest declares type = \"secret\" goes to the secret "
                 "store (secrets/{agent}/{capsule}/{KEY}, or secrets/__host__/... with --scope "
                 "shared), never to env JSON; other keys to the agent's env JSON "
                 "({capsule}.env.json under its home's config). Without --capsule the one "
                 "installed capsule declaring KEY is used. VALUE '-' reads the value from stdin "
                 "(a value on the command line is visible in `ps` until the CLI wipes it).",
    .flags =
        CLI_FLAGS(CLI_F_AGENT, {"capsule", 0, "NAME", "Capsule the key belongs to", false, false},
                  {"scope", 0, "SCOPE", "agent|shared (needs --capsule)", false, false}),
    .fn = secret_set};
static const cli_cmd s_list = {.name = "list",
                               .max_args = 0,
                               .help = "List secret keys (never values) with their STORAGE",
                               .flags = CLI_FLAGS(CLI_F_AGENT, CLI_F_FORMAT),
                               .fn = secret_list};
static const cli_cmd s_delete = {
    .name = "delete",
    .args = "<KEY>",
    .min_args = 1,
    .max_args = 1,
    .help = "Delete a secret (every capsule holding it, unless --capsule)",
    .flags =
        CLI_FLAGS(CLI_F_AGENT, {"capsule", 0, "NAME", "Capsule the key belongs to", false, false},
                  {"scope", 0, "SCOPE", "agent|shared", false, false}),
    .fn = secret_delete};

const cli_cmd cli_cmd_secret = {
    .name = "secret", .help = "Manage capsule secrets", .sub = CLI_SUB(&s_set, &s_list, &s_delete)};
