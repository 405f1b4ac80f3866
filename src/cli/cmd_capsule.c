/* `astrid capsule ...` — install and inspect capsules (reference §15.3).
 * install/list/remove work on the files (no daemon needed, as upstream's
 * installer); a running daemon is then asked to ReloadCapsules. */
#include <dirent.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capsule/install.h"
#include "capsule/manifest.h"
#include "cli/admin.h"
#include "cli/cli_stub.h"
#include "cli/context.h"
#include "cli/daemon.h"

static int capsules_dir(cli_ctx *ctx, char *home, char *dir, size_t n)
{
    char who[CLI_PRINCIPAL_MAX];
    astrid_err err;
    if (cli_home(home, PATH_MAX, &err) < 0 || cli_context_active(home, who, sizeof who, &err) < 0)
        return cli_fail(ctx, &err);
    if (cli_flag_count(ctx, "workspace")) {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd))
            return CLI_ERROR;
        snprintf(dir, n, "%.3000s/.astrid/capsules", cwd);
    } else {
        snprintf(dir, n, "%.3000s/home/%s/.local/capsules", home, who);
    }
    return CLI_OK;
}

static void progress(void *ctx, const char *line)
{
    fprintf(((cli_ctx *)ctx)->err, "  %s\n", line);
}

/* Ask a running daemon to reload; say what happened, never fail on it. */
static void reload_daemon(cli_ctx *ctx, const char *home)
{
    if (!astrid_client_daemon_running(home))
        return;
    astrid_client *c = NULL;
    json_t *d = NULL;
    astrid_err err;
    if (cli_connect(&c, &err) < 0 ||
        cli_kernel_request(c, "reload_capsules", "ReloadCapsules", NULL, "success", &d, &err) < 0)
        fprintf(ctx->err, "astrid: note: the running daemon did not reload: %s\n", err.msg);
    else
        fprintf(ctx->err, "  daemon reloaded: %lld capsule(s) loaded%s\n",
                (long long)json_integer_value(json_object_get(d, "loaded")),
                json_object_get(d, "errors") ? " (some failed: see the daemon log)" : "");
    json_decref(d);
    astrid_client_close(c);
}

/* Unpack through `astrid-build unpack` (which links libarchive). */
static int unpack_child(const char *archive, const char *dest, astrid_err *err)
{
    char ab[PATH_MAX];
    if (astrid_client_find_program("astrid-build", ab, sizeof ab) != 0)
        return astrid_err_set(err, ASTRID_E_NOTFOUND,
                              "astrid-build (which unpacks .capsule archives) not found next to "
                              "astrid or on PATH");
    char *argv[] = {ab, "unpack", (char *)archive, (char *)dest, NULL};
    int pfd[2];
    if (pipe(pfd) != 0)
        return astrid_err_sys(err, "pipe");
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pfd[1], 2);
        close(pfd[0]);
        close(pfd[1]);
        execv(ab, argv);
        _exit(127);
    }
    close(pfd[1]);
    char msg[1024] = "";
    ssize_t n = read(pfd[0], msg, sizeof msg - 1);
    msg[n > 0 ? n : 0] = '\0';
    close(pfd[0]);
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) < 0)
        return astrid_err_sys(err, "astrid-build unpack");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        size_t l = strlen(msg);
        while (l && msg[l - 1] == '\n')
            msg[--l] = '\0';
        return astrid_err_set(err, ASTRID_E_INVALID, "%s", l ? msg : "unpack failed");
    }
    return 0;
}

static int capsule_install(cli_ctx *ctx)
{
    char home[PATH_MAX], dir[PATH_MAX];
    int rc = capsules_dir(ctx, home, dir, sizeof dir);
    if (rc != CLI_OK)
        return rc;
    char who[CLI_PRINCIPAL_MAX] = "default";
    astrid_err cerr;
    if (!cli_flag_count(ctx, "workspace"))
        cli_context_active(home, who, sizeof who, &cerr);
    astrid_install_opts o = {.home = home,
                             .source = ctx->argv[0],
                             .target = dir,
                             .progress = progress,
                             .progress_ctx = ctx,
                             .unpack = unpack_child,
                             .principal = who,
                             .local_wasm = cli_flag_count(ctx, "workspace") > 0};
    astrid_install_result r;
    astrid_err err;
    fprintf(ctx->err, "Installing %s\n", ctx->argv[0]);
    if (astrid_capsule_install(&o, &r, &err) != 0)
        return cli_fail(ctx, &err);
    fprintf(ctx->out, "%s %s %s (wasm %.12s) into %s%s\n", r.upgraded ? "Upgraded" : "Installed",
            r.name, r.version, r.wasm_hash, r.dir,
            r.hook_ran ? (r.upgraded ? "; astrid-upgrade hook ran" : "; astrid-install hook ran")
                       : "");
    reload_daemon(ctx, home);
    return CLI_OK;
}

static int capsule_list(cli_ctx *ctx)
{
    char home[PATH_MAX], dir[PATH_MAX];
    int rc = capsules_dir(ctx, home, dir, sizeof dir);
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
    int rc = capsules_dir(ctx, home, dir, sizeof dir);
    if (rc != CLI_OK)
        return rc;
    const char *name = ctx->argv[0];
    if (!*name || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(name)) {
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
            snprintf(path, sizeof path, "%s/home/%s/.config/env/%s.env.json", home, who, name);
            unlink(path);
        }
    }
    fprintf(ctx->out, "Removed capsule %s%s (its wasm stays in bin/ until `astrid gc`)\n", name,
            cli_flag_count(ctx, "purge") ? " and its env config" : "");
    reload_daemon(ctx, home);
    return CLI_OK;
}

#define MISSING_INSTALL "needs the capsule installer (reference §15.3)"
#define F_WS                                                                                       \
    {                                                                                              \
        "workspace", 0, NULL, "Use the workspace's .astrid/capsules", false, false                 \
    }

static const cli_cmd k_install = {.name = "install",
                                  .args = "<dir|file.capsule>",
                                  .min_args = 1,
                                  .max_args = 1,
                                  .help = "Install a capsule (compiles it ahead of time)",
                                  .flags = CLI_FLAGS(F_WS),
                                  .fn = capsule_install};
CLI_STUB(k_update, "update", "[target]", 0, 1, "Re-install capsules from their source",
         CLI_FLAGS(F_WS), MISSING_INSTALL);
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
static const cli_cmd k_tree = {.name = "tree",
                               .aliases = CLI_ALIASES("deps"),
                               .max_args = 0,
                               .help = "Show the imports/exports graph",
                               .missing = "needs the capsule registry and WIT resolver"};
#define BUILD_FLAGS                                                                                \
    CLI_FLAGS({"output", 'o', "PATH", "Output path", false, false},                                \
              {"type", 't', "TYPE", "Project type", false, false},                                 \
              {"from-mcp-json", 0, "PATH", "Convert an MCP server config", false, false})
CLI_STUB(k_build, "build", "[path]", 0, 1, "Build a capsule (runs astrid-build)", BUILD_FLAGS,
         "needs astrid-build (the capsule builder)");
CLI_STUB(k_config, "config", "<name>", 1, 1, "Show or set a capsule's env values",
         CLI_FLAGS(CLI_F_AGENT, CLI_F_FORMAT, {"show", 0, NULL, "Show values", false, false},
                   {"set", 0, "K=V", "Set a value", true, false}),
         "needs the capsule env store (home/{p}/.config/env/)");
CLI_STUB(k_show, "show", "<name>", 1, 1, "Show a capsule", CLI_FLAGS(CLI_F_AGENT, CLI_F_FORMAT),
         "needs the capsule registry (meta.json reader)");

const cli_cmd cli_cmd_capsule = {.name = "capsule",
                                 .help = "Install and manage capsules",
                                 .sub = CLI_SUB(&k_install, &k_update, &k_list, &k_remove, &k_tree,
                                                &k_build, &k_config, &k_show)};

/* Hidden top-level `build` (upstream migration alias of `capsule build`). */
const cli_cmd cli_cmd_build_alias = {.name = "build",
                                     .args = "[path]",
                                     .max_args = 1,
                                     .help = "Build a capsule (alias of 'capsule build')",
                                     .flags = BUILD_FLAGS,
                                     .hidden = true,
                                     .missing = "needs astrid-build (the capsule builder)"};
