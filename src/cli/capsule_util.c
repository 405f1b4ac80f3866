/* Shared helpers of the `astrid capsule` verbs. See capsule_util.h. */
#include "cli/capsule_util.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "astrid/home.h"
#include "cli/daemon.h"
#include "store/secrets.h"

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
    } else {
        if (astrid_home_capsules_dir(dir, n, home, who, &err) < 0)
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
    if (astrid_home_capsule_dir(loc->dir, sizeof loc->dir, loc->home, loc->principal, name, &err) <
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

void cli_capsule_progress(void *ctx, const char *line)
{
    fprintf(((cli_ctx *)ctx)->err, "  %s\n", line);
}

void cli_capsule_reload(cli_ctx *ctx, const char *home)
{
    if (!astrid_client_daemon_running(home))
        return;
    astrid_client *c = NULL;
    json_t *d = NULL;
    astrid_err err;
    astrid_call reload = {
        .suffix = "reload_capsules", .method = "ReloadCapsules", .want_status = "success"};
    if (cli_connect(&c, &err) < 0 || astrid_client_call(c, &reload, &d, &err) < 0)
        fprintf(ctx->err, "astrid: note: the running daemon did not reload: %s\n", err.msg);
    else
        fprintf(ctx->err, "  daemon reloaded: %lld capsule(s) loaded%s\n",
                (long long)json_integer_value(json_object_get(d, "loaded")),
                json_object_get(d, "errors") ? " (some failed: see the daemon log)" : "");
    json_decref(d);
    astrid_client_close(c);
}

int cli_capsule_unpack(const char *archive, const char *dest, astrid_err *err)
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

void cli_capsule_env_path(const cli_capsule_loc *loc, const char *name, char *path, size_t n)
{
    astrid_home_env_json(path, n, loc->home, loc->principal, name, NULL); /* "" on failure */
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
    char *v = NULL;
    if (astrid_secret_resolve(loc->home, loc->principal, capsule, key, &v, err) != 0)
        return -1;
    *set = v != NULL;
    if (v) {
        sodium_memzero(v, strlen(v));
        free(v);
    }
    return 0;
}
