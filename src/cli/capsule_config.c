/* `astrid capsule config NAME [--show | --set K=V ...] [-a AGENT]`: an
 * agent's values for the keys a capsule declares in [env] (reference §6.3,
 * §11.3). Plain values live in home/{p}/.config/env/{NAME}.env.json (an
 * object of strings, 0600), secret-typed ones in the file secret store
 * (secrets/{p}/{NAME}/{KEY}), never in the JSON. Every --set is checked
 * before anything is written, so a bad one leaves both stores unchanged;
 * the daemon does the writes (SetCapsuleConfig) and checks again. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "astrid/principal.h"
#include "cli/admin.h"
#include "cli/capsule_util.h"
#include "cli/cli_stub.h"

#define MASK "********"

static const astrid_manifest_env *declared(const astrid_manifest *m, const char *key, size_t n)
{
    for (size_t i = 0; i < m->nenv; i++)
        if (strlen(m->env[i].key) == n && strncmp(m->env[i].key, key, n) == 0)
            return &m->env[i];
    return NULL;
}

static void list_declared(FILE *f, const astrid_manifest *m)
{
    if (m->nenv == 0) {
        fprintf(f, "  (capsule '%s' declares no [env] keys)\n", m->name);
        return;
    }
    fprintf(f, "  declared:");
    for (size_t i = 0; i < m->nenv; i++)
        fprintf(f, " %s (%s)", m->env[i].key, m->env[i].type);
    fputc('\n', f);
}

/* Check every --set against the manifest; 0 when all are acceptable. */
static int check_sets(cli_ctx *ctx, const astrid_manifest *m, const cli_val *sets)
{
    for (int i = 0; i < sets->count; i++) {
        const char *kv = sets->v[i], *eq = strchr(kv, '=');
        if (!eq || eq == kv) {
            fprintf(ctx->err, "astrid: --set expects KEY=VALUE, got '%s'\n", kv);
            return CLI_ERROR;
        }
        const astrid_manifest_env *e = declared(m, kv, (size_t)(eq - kv));
        if (!e) {
            fprintf(ctx->err, "astrid: capsule '%s' declares no env key '%.*s'\n", m->name,
                    (int)(eq - kv), kv);
            list_declared(ctx->err, m);
            return CLI_ERROR;
        }
        if (strcmp(e->type, "secret") == 0 && !eq[1]) {
            fprintf(ctx->err, "astrid: %s is a secret: its value must not be empty\n", e->key);
            return CLI_ERROR;
        }
    }
    return CLI_OK;
}

/* The daemon writes (SetCapsuleConfig): plain values under params.env,
 * secret-typed ones under params.secrets, which the audit log records
 * without their values. */
static int do_set(cli_ctx *ctx, const cli_capsule_loc *loc, const astrid_manifest *m,
                  const cli_val *sets)
{
    int rc = check_sets(ctx, m, sets);
    if (rc != CLI_OK)
        return rc;
    json_t *env = json_object(), *sec = json_object(), *r = NULL;
    for (int i = 0; i < sets->count; i++) {
        const char *kv = sets->v[i], *eq = strchr(kv, '=');
        const astrid_manifest_env *e = declared(m, kv, (size_t)(eq - kv));
        json_object_set_new(strcmp(e->type, "secret") == 0 ? sec : env, e->key,
                            json_string(eq + 1));
    }
    json_t *params = json_pack("{s:s,s:s,s:o,s:o}", "name", m->name, "agent", loc->principal, "env",
                               env, "secrets", sec);
    char cwd[PATH_MAX];
    if (loc->workspace && getcwd(cwd, sizeof cwd))
        json_object_set_new(params, "workspace_dir", json_string(cwd));
    astrid_err err;
    rc = cli_capsule_call(ctx, "capsule_config", "SetCapsuleConfig", params, NULL, NULL, &r, &err);
    json_decref(params);
    if (rc != 0)
        return cli_fail(ctx, &err);
    for (int i = 0; i < sets->count; i++) {
        const char *kv = sets->v[i], *eq = strchr(kv, '=');
        const astrid_manifest_env *e = declared(m, kv, (size_t)(eq - kv));
        fprintf(ctx->out, "Set %s for %s/%s (%s)\n", e->key, loc->principal, m->name,
                strcmp(e->type, "secret") == 0 ? "secret store" : "env JSON");
    }
    fflush(ctx->out);
    cli_capsule_print_reload(ctx, r);
    json_decref(r);
    return CLI_OK;
}

static int do_show(cli_ctx *ctx, const cli_capsule_loc *loc, const astrid_manifest *m)
{
    char path[PATH_MAX + 64];
    astrid_err err;
    cli_capsule_env_path(loc, m->name, path, sizeof path);
    json_t *vals = cli_capsule_env_load(path, &err);
    if (!vals)
        return cli_fail(ctx, &err);
    /* what get-config falls back to for another agent: default's values */
    json_t *dvals = NULL;
    if (strcmp(loc->principal, ASTRID_DEFAULT_PRINCIPAL) != 0) {
        cli_capsule_loc dl = *loc;
        snprintf(dl.principal, sizeof dl.principal, "%s", ASTRID_DEFAULT_PRINCIPAL);
        cli_capsule_env_path(&dl, m->name, path, sizeof path);
        dvals = cli_capsule_env_load(path, NULL); /* unreadable: no fallback shown */
    }
    json_t *rows = json_array();
    for (size_t i = 0; i < m->nenv; i++) {
        const astrid_manifest_env *e = &m->env[i];
        json_t *value = NULL;
        bool set, inherited = false;
        if (strcmp(e->type, "secret") == 0) {
            if (cli_capsule_secret_set(loc, m->name, e->key, &set, &err) != 0) {
                json_decref(rows);
                json_decref(vals);
                json_decref(dvals);
                return cli_fail(ctx, &err);
            }
            value = set ? json_string(MASK) : json_null();
        } else {
            json_t *v = json_object_get(vals, e->key);
            set = v != NULL;
            if (!v && (v = json_object_get(dvals, e->key)))
                inherited = true;
            value = v ? json_incref(v) : json_null();
        }
        json_t *row = json_pack(
            "{s:s,s:s,s:o,s:o,s:b}", "key", e->key, "type", e->type, "value", value, "default",
            e->default_value ? json_string(e->default_value) : json_null(), "set", set);
        /* `set` is this agent's own value; an inherited one says whose */
        if (inherited)
            json_object_set_new(row, "inherited_from", json_string(ASTRID_DEFAULT_PRINCIPAL));
        json_array_append_new(rows, row);
    }
    json_decref(vals);
    json_decref(dvals);
    if (m->nenv == 0 && (!ctx->format || strcmp(ctx->format, "pretty") == 0)) {
        json_decref(rows);
        fprintf(ctx->out, "Capsule '%s' declares no [env] keys.\n", m->name);
        return CLI_OK;
    }
    return cli_output(ctx, rows);
}

static int capsule_config(cli_ctx *ctx)
{
    const cli_val *sets = cli_flag_vals(ctx, "set");
    if (sets->count && cli_flag_count(ctx, "show")) {
        fprintf(ctx->err, "astrid: give either --show or --set, not both\n");
        return CLI_ERROR;
    }
    cli_capsule_loc loc;
    int rc = cli_capsule_locate(ctx, ctx->argv[0], cli_flag_str(ctx, "agent"), &loc);
    json_t *meta = NULL;
    astrid_manifest *m = NULL;
    if (rc != CLI_OK || (rc = cli_capsule_read(ctx, &loc, &meta, &m)) != CLI_OK)
        return rc;
    rc = sets->count ? do_set(ctx, &loc, m, sets) : do_show(ctx, &loc, m);
    json_decref(meta);
    astrid_manifest_free(m);
    return rc;
}

const cli_cmd cli_capsule_config = {
    .name = "config",
    .args = "<name>",
    .min_args = 1,
    .max_args = 1,
    .help = "Show or set a capsule's env values",
    .long_help = "Without --set, lists every key the capsule declares in [env] with its value "
                 "(secrets masked), default and whether it is set. --set KEY=VALUE (repeatable) "
                 "only accepts declared keys: type=\"secret\" keys go to the secret store "
                 "(secrets/{agent}/{capsule}/{KEY}), the others to "
                 "home/{agent}/.config/env/{capsule}.env.json. A running daemon then reloads.",
    .flags = CLI_FLAGS(CLI_F_AGENT, CLI_F_FORMAT,
                       {"show", 0, NULL, "Show values (the default)", false, false},
                       {"set", 0, "K=V", "Set a declared key (repeatable)", true, false}),
    .fn = capsule_config};
