/* `astrid capsule ...` — install and inspect capsules (reference §15.3).
 * install/remove are requests the daemon serves (InstallCapsule,
 * RemoveCapsule: it compiles, writes and reloads; an --ephemeral one is
 * started when none runs); list reads the files. */
#include <dirent.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/manifest/manifest.h"
#include "cli/admin.h"
#include "cli/capsule_util.h"
#include "cli/cli_stub.h"
#include "cli/context.h"

/* The source as the daemon reads it: absolute (its working directory is
 * not ours), symlinks left for it to resolve. */
static int abs_source(cli_ctx *ctx, const char *src, char *out, size_t n)
{
    char cwd[PATH_MAX];
    /* remote sources (https://, @org/repo, github.com/...) are the
     * daemon's to fetch (docs/capsules.md "Sources") */
    if (src[0] == '/' || src[0] == '@' || strstr(src, "://") ||
        strncmp(src, "github.com/", 11) == 0) {
        snprintf(out, n, "%s", src);
        return CLI_OK;
    }
    if (!getcwd(cwd, sizeof cwd)) {
        astrid_err err;
        astrid_err_sys(&err, "getcwd");
        return cli_fail(ctx, &err);
    }
    while (src[0] == '.' && src[1] == '/')
        src += 2;
    snprintf(out, n, "%s/%s", cwd, src);
    return CLI_OK;
}

static int capsule_install(cli_ctx *ctx)
{
    char src[PATH_MAX * 2];
    json_t *params = json_object(), *r = NULL;
    int rc = abs_source(ctx, ctx->argv[0], src, sizeof src);
    if (rc == CLI_OK)
        rc = cli_capsule_scope(ctx, params);
    if (rc != CLI_OK) {
        json_decref(params);
        return rc;
    }
    json_object_set_new(params, "source", json_string(src));
    astrid_err err;
    fprintf(ctx->err, "Installing %s\n", ctx->argv[0]);
    if (cli_capsule_call(ctx, "install_capsule", "InstallCapsule", params, NULL, NULL, &r, &err) !=
        0) {
        json_decref(params);
        return cli_fail(ctx, &err);
    }
    json_decref(params);
    const char *status = json_string_value(json_object_get(r, "status")) ?: "installed";
    const char *name = json_string_value(json_object_get(r, "name")) ?: "?";
    const char *hash = json_string_value(json_object_get(r, "wasm_hash")) ?: "";
    bool upgraded = strcmp(status, "upgraded") == 0,
         ran = json_is_true(json_object_get(r, "hook_ran"));
    json_t *asks = json_object_get(r, "asks");
    if (ctx->format && strcmp(ctx->format, "pretty") != 0) {
        json_t *out = json_pack("{s:s,s:s,s:O,s:s,s:O,s:b,s:O}", "status", status, "name", name,
                                "version", json_object_get(r, "version") ?: json_null(),
                                "wasm_hash", hash, "dir", json_object_get(r, "dir") ?: json_null(),
                                "hook_ran", ran, "asks", asks ? asks : json_object());
        rc = cli_output(ctx, out);
    } else {
        if (json_object_size(asks))
            cli_capsule_print_asks(ctx, name, asks);
        /* an MCP-only capsule has no wasm (docs/mcp.md) */
        fprintf(ctx->out, "%s %s %s (%s%.12s) into %s%s\n", upgraded ? "Upgraded" : "Installed",
                name, json_string_value(json_object_get(r, "version")) ?: "?",
                *hash ? "wasm " : "MCP servers only", hash,
                json_string_value(json_object_get(r, "dir")) ?: "?",
                ran ? (upgraded ? "; astrid-upgrade hook ran" : "; astrid-install hook ran") : "");
    }
    fflush(ctx->out);
    cli_capsule_print_reload(ctx, r);
    json_decref(r);
    return rc;
}

static int capsule_list(cli_ctx *ctx)
{
    char home[PATH_MAX], dir[PATH_MAX];
    int rc = cli_capsules_dir(ctx, home, dir, sizeof dir);
    if (rc != CLI_OK)
        return rc;
    json_t *out = json_array();
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[PATH_MAX + 300];
        snprintf(path, sizeof path, "%s/%s/meta.json", dir, de->d_name);
        json_t *meta = json_load_file(path, 0, NULL);
        if (!meta)
            continue;
        json_t *row = json_pack("{s:s,s:O,s:O}", "name", de->d_name, "version",
                                json_object_get(meta, "version") ?: json_null(), "wasm_hash",
                                json_object_get(meta, "wasm_hash") ?: json_null());
        if (cli_flag_count(ctx, "verbose")) {
            snprintf(path, sizeof path, "%s/%s/Capsule.toml", dir, de->d_name);
            astrid_err err;
            astrid_manifest *m = astrid_manifest_load(path, &err);
            json_t *ev = json_array();
            for (size_t i = 0; m && i < m->ninterceptors; i++)
                json_array_append_new(ev, json_string(m->interceptors[i].event));
            json_object_set_new(row, "interceptors", ev);
            json_object_set(row, "installed_at", json_object_get(meta, "installed_at"));
            astrid_manifest_free(m);
        }
        json_array_append_new(out, row);
        json_decref(meta);
    }
    if (d)
        closedir(d);
    return cli_output(ctx, out);
}

static int capsule_remove(cli_ctx *ctx)
{
    const char *name = ctx->argv[0];
    if (!cli_capsule_name_ok(name)) {
        fprintf(ctx->err, "astrid: '%s' is not a capsule name\n", name);
        return CLI_ERROR;
    }
    json_t *params =
               json_pack("{s:s,s:b}", "name", name, "purge", cli_flag_count(ctx, "purge") > 0),
           *r = NULL;
    int rc = cli_capsule_scope(ctx, params);
    astrid_err err;
    if (rc == CLI_OK &&
        cli_capsule_call(ctx, "remove_capsule", "RemoveCapsule", params, NULL, NULL, &r, &err) != 0)
        rc = cli_fail(ctx, &err);
    json_decref(params);
    if (rc != CLI_OK)
        return rc;
    fprintf(ctx->out, "Removed capsule %s%s (its wasm stays in bin/ until `astrid gc`)\n", name,
            json_is_true(json_object_get(r, "purged")) ? " and its env config" : "");
    if (json_is_true(json_object_get(r, "purged")))
        fprintf(ctx->out, "Purged %lld secret(s) of %s and %lld host-wide secret(s)\n",
                (long long)json_integer_value(json_object_get(r, "purged_secrets")), name,
                (long long)json_integer_value(json_object_get(r, "purged_shared_secrets")));
    fflush(ctx->out);
    cli_capsule_print_reload(ctx, r);
    json_decref(r);
    return CLI_OK;
}

#define F_WS                                                                                       \
    {                                                                                              \
        "workspace", 0, NULL, "Use the workspace's .astrid/capsules", false, false                 \
    }

static const cli_cmd k_install = {.name = "install",
                                  .args = "<dir|file.capsule>",
                                  .min_args = 1,
                                  .max_args = 1,
                                  .help = "Install a capsule (compiles it ahead of time)",
                                  .flags = CLI_FLAGS(F_WS, CLI_F_FORMAT),
                                  .fn = capsule_install};
static const cli_cmd k_list = {
    .name = "list",
    .max_args = 0,
    .help = "List installed capsules",
    .flags = CLI_FLAGS(F_WS, CLI_F_FORMAT,
                       {"verbose", 'v', NULL, "Interceptors and dates", false, false}),
    .fn = capsule_list};
static const cli_cmd k_remove = {
    .name = "remove",
    .args = "<name>",
    .min_args = 1,
    .max_args = 1,
    .help = "Remove a capsule",
    .flags = CLI_FLAGS(
        F_WS, {"force", 0, NULL, "Skip the dependents check", false, false},
        {"purge", 0, NULL, "Also delete the capsule's env JSON and secrets", false, false}),
    .fn = capsule_remove};
const cli_cmd cli_cmd_capsule = {.name = "capsule",
                                 .help = "Install and manage capsules",
                                 .sub = CLI_SUB(&k_install, &cli_capsule_update, &k_list, &k_remove,
                                                &cli_capsule_tree, &cli_capsule_build,
                                                &cli_capsule_config, &cli_capsule_show)};
