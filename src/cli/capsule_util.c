/* Shared helpers of the `astrid capsule` verbs. See capsule_util.h. */
#include "cli/capsule_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "astrid/home.h"
#include "astrid/uuid.h"
#include "cli/admin.h"
#include "cli/daemon.h"

bool cli_capsule_name_ok(const char *name)
{
    return *name && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(name);
}

int cli_capsules_dir(cli_ctx *ctx, char *home, char *dir, size_t n)
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
    } else if (astrid_home_capsules_dir(dir, n, home, who, &err) != 0) {
        return cli_fail(ctx, &err);
    }
    return CLI_OK;
}

int cli_capsule_locate(cli_ctx *ctx, const char *name, const char *agent, cli_capsule_loc *loc)
{
    astrid_err err;
    memset(loc, 0, sizeof *loc);
    if (!cli_capsule_name_ok(name)) {
        fprintf(ctx->err, "astrid: '%s' is not a capsule name (a-z, 0-9 and '-')\n", name);
        return CLI_ERROR;
    }
    if (cli_home(loc->home, sizeof loc->home, &err) < 0 ||
        cli_target_agent(agent, loc->home, loc->principal, sizeof loc->principal, &err) < 0)
        return cli_fail(ctx, &err);
    char meta[PATH_MAX + 16], cwd[PATH_MAX];
    if (astrid_home_capsule_dir(loc->dir, sizeof loc->dir, loc->home, loc->principal, name, &err) !=
        0)
        return cli_fail(ctx, &err);
    snprintf(meta, sizeof meta, "%s/meta.json", loc->dir);
    if (access(meta, F_OK) == 0)
        return CLI_OK;
    /* Capsules are installed once and shared (reference v0.6): another
     * agent's view of one is default's install with its own values. */
    if (astrid_home_capsule_dir(loc->dir, sizeof loc->dir, loc->home, ASTRID_DEFAULT_PRINCIPAL,
                                name, &err) != 0)
        return cli_fail(ctx, &err);
    snprintf(meta, sizeof meta, "%s/meta.json", loc->dir);
    if (access(meta, F_OK) == 0)
        return CLI_OK;
    if (getcwd(cwd, sizeof cwd)) {
        snprintf(loc->dir, sizeof loc->dir, "%.3000s/.astrid/capsules/%s", cwd, name);
        snprintf(meta, sizeof meta, "%s/meta.json", loc->dir);
        if (access(meta, F_OK) == 0) {
            loc->workspace = true;
            return CLI_OK;
        }
    }
    fprintf(ctx->err,
            "astrid: no capsule '%s' installed for agent '%s' (looked in "
            "home/%s/.local/capsules, home/default/.local/capsules and ./.astrid/capsules)\n",
            name, loc->principal, loc->principal);
    return CLI_ERROR;
}

int cli_capsule_read(cli_ctx *ctx, const cli_capsule_loc *loc, json_t **meta, astrid_manifest **m)
{
    char path[PATH_MAX + 32];
    json_error_t je;
    astrid_err err;
    snprintf(path, sizeof path, "%s/meta.json", loc->dir);
    if (!(*meta = json_load_file(path, 0, &je)) || !json_is_object(*meta)) {
        fprintf(ctx->err, "astrid: %s: %s\n", path, *meta ? "not a JSON object" : je.text);
        json_decref(*meta);
        *meta = NULL;
        return CLI_ERROR;
    }
    snprintf(path, sizeof path, "%s/Capsule.toml", loc->dir);
    if (!(*m = astrid_manifest_load(path, &err))) {
        json_decref(*meta);
        *meta = NULL;
        return cli_fail(ctx, &err);
    }
    return CLI_OK;
}

/* A lifecycle hook may run 10 minutes without a line; the compile
 * before it says what it does. */
#define CALL_IDLE_MS (15 * 60 * 1000)

typedef struct progress {
    cli_ctx *ctx;
    cli_capsule_result_fn on_result;
    void *user;
} progress;

static void on_progress(json_t *pl, void *user)
{
    progress *p = user;
    const char *line = json_string_value(json_object_get(pl, "line"));
    json_t *res = json_object_get(pl, "result");
    if (line)
        fprintf(p->ctx->err, "  %s\n", line);
    else if (res && p->on_result)
        p->on_result(p->ctx, res, p->user);
}

int cli_capsule_call(cli_ctx *ctx, const char *suffix, const char *method, json_t *params,
                     cli_capsule_result_fn on_result, void *user, json_t **data, astrid_err *err)
{
    *data = NULL;
    astrid_client *c = NULL;
    if (cli_connect_auto(&c, err) < 0)
        return -1;
    progress p = {ctx, on_result, user};
    json_t *none = params ? NULL : json_object();
    astrid_call call = {.api = ASTRID_API_MANAGEMENT,
                        .suffix = suffix,
                        .method = method,
                        .params = params ? params : none,
                        .timeout_ms = CALL_IDLE_MS,
                        .on_progress = on_progress,
                        .progress_user = &p,
                        .message_only = true};
    int rc = astrid_client_call(c, &call, data, err);
    json_decref(none);
    astrid_client_close(c);
    return rc;
}

int cli_capsule_scope(cli_ctx *ctx, json_t *params)
{
    if (!cli_flag_count(ctx, "workspace"))
        return CLI_OK;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) {
        astrid_err err;
        astrid_err_sys(&err, "getcwd");
        return cli_fail(ctx, &err);
    }
    json_object_set_new(params, "workspace", json_true());
    json_object_set_new(params, "workspace_dir", json_string(cwd));
    return CLI_OK;
}

void cli_capsule_print_reload(cli_ctx *ctx, json_t *data)
{
    json_t *r = json_object_get(data, "reload");
    const char *why = json_string_value(json_object_get(data, "reload_error"));
    if (why)
        fprintf(ctx->err, "astrid: note: the running daemon did not reload: ReloadCapsules: %s\n",
                why);
    else if (r)
        fprintf(ctx->err, "  daemon reloaded: %lld capsule(s) loaded%s\n",
                (long long)json_integer_value(json_object_get(r, "loaded")),
                json_object_get(r, "errors") ? " (some failed: see the daemon log)" : "");
}

void cli_capsule_env_path(const cli_capsule_loc *loc, const char *name, char *path, size_t n)
{
    /* "" when it cannot be built: the load then finds nothing */
    astrid_home_env_json(path, n, loc->home, loc->principal, name, NULL);
}

json_t *cli_capsule_env_load(const char *path, astrid_err *err)
{
    if (access(path, F_OK) != 0)
        return json_object();
    json_error_t je;
    json_t *o = json_load_file(path, 0, &je);
    if (!o || !json_is_object(o)) {
        astrid_err_set(err, ASTRID_E_PARSE, "%s: %s", path,
                       o ? "not a JSON object of strings" : je.text);
        json_decref(o);
        return NULL;
    }
    return o;
}

int cli_capsule_secret_set(const cli_capsule_loc *loc, const char *capsule, const char *key,
                           bool *set, astrid_err *err)
{
    /* secrets/{scope}/{capsule}/{KEY}, the principal's scope first, then
     * the host-wide "__host__" (store/secrets.h, which the CLI does not
     * link: the daemon writes the store). */
    const char *scopes[] = {loc->principal, "__host__"};
    *set = false;
    for (size_t i = 0; i < 2 && !*set; i++) {
        char path[PATH_MAX + 400];
        struct stat st;
        if (astrid_home_secret_file(path, sizeof path, loc->home, scopes[i], capsule, key, err) !=
            0)
            return -1;
        if (stat(path, &st) == 0)
            *set = S_ISREG(st.st_mode) && st.st_size > 0;
        else if (errno != ENOENT && errno != ENOTDIR)
            return astrid_err_sys(err, "%s", path);
    }
    return 0;
}
