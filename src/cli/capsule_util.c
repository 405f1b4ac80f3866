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
            "home/%s/.local/capsules and ./.astrid/capsules)\n",
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

static int reply_error(json_t *reply, const char *method, astrid_err *err)
{
    json_t *e = json_object_get(reply, "error");
    const char *kind = json_string_value(json_object_get(e, "kind"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    if (!msg)
        msg = json_string_value(json_object_get(reply, "data"));
    static const struct {
        const char *kind;
        astrid_errcode code;
    } kinds[] = {{"permission_denied", ASTRID_E_PERM}, {"not_found", ASTRID_E_NOTFOUND},
                 {"invalid", ASTRID_E_INVALID},        {"conflict", ASTRID_E_EXISTS},
                 {"unavailable", ASTRID_E_LIMIT},      {"internal", ASTRID_E_INTERNAL}};
    astrid_errcode code = ASTRID_E_INVALID;
    for (size_t i = 0; kind && i < sizeof kinds / sizeof *kinds; i++)
        if (strcmp(kind, kinds[i].kind) == 0)
            code = kinds[i].code;
    return astrid_err_set(err, code, "%s", msg ? msg : method);
}

int cli_capsule_call(cli_ctx *ctx, const char *suffix, const char *method, json_t *params,
                     cli_capsule_result_fn on_result, void *user, json_t **data, astrid_err *err)
{
    *data = NULL;
    char topic[160], reply_topic[192], progress_topic[224], rid[ASTRID_UUID_STR_LEN];
    snprintf(topic, sizeof topic, "astrid.v1.request.%s", suffix);
    snprintf(reply_topic, sizeof reply_topic, "astrid.v1.response.%s", suffix);
    snprintf(progress_topic, sizeof progress_topic, "%s.progress", reply_topic);
    astrid_uuid_v4(rid);
    astrid_client *c = NULL;
    if (cli_connect_auto(&c, err) < 0)
        return -1;
    json_t *req = json_pack("{s:s,s:s,s:s,s:O}", "type", "raw_json", "method", method, "request_id",
                            rid, "params", params ? params : json_object());
    int rc = req ? astrid_client_publish(c, topic, req, err)
                 : astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    json_decref(req);
    while (rc == 0) {
        json_t *m = NULL;
        if ((rc = astrid_client_recv(c, CALL_IDLE_MS, &m, err)) != 0)
            break;
        const char *t = json_string_value(json_object_get(m, "topic"));
        json_t *pl = json_object_get(m, "payload");
        const char *id = json_string_value(json_object_get(pl, "request_id"));
        if (!t || !id || strcmp(id, rid) != 0) {
            json_decref(m); /* a broadcast or another request's */
            continue;
        }
        if (strcmp(t, progress_topic) == 0) {
            const char *line = json_string_value(json_object_get(pl, "line"));
            json_t *res = json_object_get(pl, "result");
            if (line)
                fprintf(ctx->err, "  %s\n", line);
            else if (res && on_result)
                on_result(ctx, res, user);
        } else if (strcmp(t, reply_topic) == 0) {
            const char *status = json_string_value(json_object_get(pl, "status"));
            if (!status || strcmp(status, "error") == 0)
                rc = reply_error(pl, method, err);
            else
                *data = json_incref(json_object_get(pl, "data") ?: json_null());
            json_decref(m);
            break;
        }
        json_decref(m);
    }
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
