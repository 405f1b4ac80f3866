/* `astrid capsule ...` — install and inspect capsules (reference §15.3).
 * install/list/remove work on the files (no daemon needed, as upstream's
 * installer); a running daemon is then asked to ReloadCapsules. */
#include <dirent.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capsule/install.h"
#include "astrid/home.h"
#include "lib/manifest/manifest.h"
#include "cli/admin.h"
#include "cli/capsule_util.h"
#include "cli/cli_stub.h"
#include "cli/context.h"

static int capsule_install(cli_ctx *ctx)
{
    char home[PATH_MAX], dir[PATH_MAX];
    int rc = cli_capsules_dir(ctx, home, dir, sizeof dir);
    if (rc != CLI_OK)
        return rc;
    char who[CLI_PRINCIPAL_MAX] = "default", me[CLI_PRINCIPAL_MAX] = "default";
    astrid_err cerr;
    cli_context_active(home, me, sizeof me, &cerr);
    if (!cli_flag_count(ctx, "workspace"))
        snprintf(who, sizeof who, "%s", me);
    cli_capsule_vet vet = {.home = home, .owner = who, .installer = me};
    astrid_install_opts o = {.home = home,
                             .source = ctx->argv[0],
                             .target = dir,
                             .progress = cli_capsule_progress,
                             .progress_ctx = ctx,
                             .unpack = cli_capsule_unpack,
                             .principal = who,
                             .local_wasm = cli_flag_count(ctx, "workspace") > 0,
                             .vet = cli_capsule_vet_fn,
                             .vet_ctx = &vet};
    astrid_install_result r;
    astrid_err err;
    fprintf(ctx->err, "Installing %s\n", ctx->argv[0]);
    if (astrid_capsule_install(&o, &r, &err) != 0) {
        json_decref(vet.asks);
        return cli_fail(ctx, &err);
    }
    if (ctx->format && strcmp(ctx->format, "pretty") != 0) {
        json_t *out = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:o}", "status",
                                r.upgraded ? "upgraded" : "installed", "name", r.name, "version",
                                r.version, "wasm_hash", r.wasm_hash, "dir", r.dir, "hook_ran",
                                r.hook_ran, "asks", vet.asks ? vet.asks : json_object());
        rc = cli_output(ctx, out);
    } else {
        if (vet.asks)
            cli_capsule_print_asks(ctx, r.name, vet.asks);
        json_decref(vet.asks);
        fprintf(ctx->out, "%s %s %s (wasm %.12s) into %s%s\n",
                r.upgraded ? "Upgraded" : "Installed", r.name, r.version, r.wasm_hash, r.dir,
                r.hook_ran
                    ? (r.upgraded ? "; astrid-upgrade hook ran" : "; astrid-install hook ran")
                    : "");
    }
    /* said before the reload, which may wait: a kill then still leaves the
     * line on a pipe */
    fflush(ctx->out);
    cli_capsule_reload(ctx, home);
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

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int capsule_remove(cli_ctx *ctx)
{
    char home[PATH_MAX], dir[PATH_MAX], path[PATH_MAX + 300];
    int rc = cli_capsules_dir(ctx, home, dir, sizeof dir);
    if (rc != CLI_OK)
        return rc;
    const char *name = ctx->argv[0];
    if (!cli_capsule_name_ok(name)) {
        fprintf(ctx->err, "astrid: '%s' is not a capsule name\n", name);
        return CLI_ERROR;
    }
    snprintf(path, sizeof path, "%s/%s/meta.json", dir, name);
    if (access(path, F_OK) != 0) {
        fprintf(ctx->err, "astrid: no capsule '%s' installed in %s\n", name, dir);
        return CLI_ERROR;
    }
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
        fprintf(ctx->err, "astrid: cannot remove %s\n", path);
        return CLI_ERROR;
    }
    if (cli_flag_count(ctx, "purge")) {
        char who[CLI_PRINCIPAL_MAX];
        astrid_err err;
        if (cli_context_active(home, who, sizeof who, &err) == 0) {
            astrid_home_env_json(path, sizeof path, home, who, name, NULL);
            unlink(path);
        }
    }
    fprintf(ctx->out, "Removed capsule %s%s (its wasm stays in bin/ until `astrid gc`)\n", name,
            cli_flag_count(ctx, "purge") ? " and its env config" : "");
    cli_capsule_reload(ctx, home);
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
    .flags = CLI_FLAGS(F_WS, {"force", 0, NULL, "Skip the dependents check", false, false},
                       {"purge", 0, NULL, "Also delete the capsule's env JSON", false, false}),
    .fn = capsule_remove};
const cli_cmd cli_cmd_capsule = {.name = "capsule",
                                 .help = "Install and manage capsules",
                                 .sub = CLI_SUB(&k_install, &cli_capsule_update, &k_list, &k_remove,
                                                &cli_capsule_tree, &cli_capsule_build,
                                                &cli_capsule_config, &cli_capsule_show)};
