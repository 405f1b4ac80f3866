/* `astrid capsule show NAME [-a AGENT] [--format F]`: one installed
 * capsule, from its meta.json and Capsule.toml (reference §6, §6.7). Secret
 * env values are never read into the output: only whether they are set. */
#include <stdlib.h>
#include <string.h>

#include "astrid/toml.h"
#include "cli/admin.h"
#include "cli/capsule_util.h"
#include "cli/cli_stub.h"

static json_t *strv_json(const astrid_strv *s)
{
    json_t *a = json_array();
    for (size_t i = 0; i < s->n; i++)
        json_array_append_new(a, json_string(s->v[i]));
    return a;
}

json_t *cli_capsule_deps_json(const astrid_manifest_dep *d, size_t n, bool imports)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        char ifc[300];
        snprintf(ifc, sizeof ifc, "%s:%s", d[i].ns, d[i].iface);
        json_t *o = json_pack("{s:s,s:s}", "interface", ifc, "version", d[i].version);
        if (imports)
            json_object_set_new(o, "optional", json_boolean(d[i].optional));
        json_array_append_new(a, o);
    }
    return a;
}

/* [publish]/[subscribe] rows from the raw TOML: the manifest keeps only
 * their ACL keys and handlers, the operator also wants the WIT refs. */
static json_t *topic_rows(const astrid_toml *t, bool subscribe)
{
    json_t *a = json_array();
    for (size_t i = 0; t && astrid_toml_type_of(t) == ASTRID_TOML_TABLE && i < astrid_toml_len(t);
         i++) {
        const astrid_toml *v = astrid_toml_value_at(t, i);
        const char *wit = astrid_toml_str(v, NULL);
        const char *handler = NULL;
        if (!wit) {
            wit = astrid_toml_str(astrid_toml_get(v, "wit"), NULL);
            handler = astrid_toml_str(astrid_toml_get(v, "handler"), NULL);
        }
        json_t *o = json_pack("{s:s}", "topic", astrid_toml_key_at(t, i));
        json_object_set_new(o, "wit", wit ? json_string(wit) : json_null());
        if (subscribe)
            json_object_set_new(o, "handler", handler ? json_string(handler) : json_null());
        json_array_append_new(a, o);
    }
    return a;
}

static int env_rows(cli_ctx *ctx, const cli_capsule_loc *loc, const astrid_manifest *m,
                    json_t **out)
{
    char path[PATH_MAX + 64];
    astrid_err err;
    cli_capsule_env_path(loc, m->name, path, sizeof path);
    json_t *vals = cli_capsule_env_load(path, &err);
    if (!vals)
        return cli_fail(ctx, &err);
    json_t *a = json_array();
    for (size_t i = 0; i < m->nenv; i++) {
        const astrid_manifest_env *e = &m->env[i];
        bool secret = strcmp(e->type, "secret") == 0, set;
        json_t *v = json_object_get(vals, e->key);
        if (secret && cli_capsule_secret_set(loc, m->name, e->key, &set, &err) != 0) {
            json_decref(a);
            json_decref(vals);
            return cli_fail(ctx, &err);
        }
        if (!secret)
            set = v != NULL;
        json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "key", e->key, "type", e->type,
                                           "status", set ? "set" : "unset"));
    }
    json_decref(vals);
    *out = a;
    return CLI_OK;
}

static int capsule_show(cli_ctx *ctx)
{
    cli_capsule_loc loc;
    int rc = cli_capsule_locate(ctx, ctx->argv[0], cli_flag_str(ctx, "agent"), &loc);
    json_t *meta = NULL, *env = NULL;
    astrid_manifest *m = NULL;
    if (rc != CLI_OK || (rc = cli_capsule_read(ctx, &loc, &meta, &m)) != CLI_OK)
        return rc;
    if ((rc = env_rows(ctx, &loc, m, &env)) != CLI_OK)
        goto out;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/Capsule.toml", loc.dir);
    astrid_toml *raw = astrid_toml_parse_file(path, NULL, NULL);
    json_t *ics = json_array();
    for (size_t i = 0; i < m->ninterceptors; i++)
        json_array_append_new(ics, json_pack("{s:s,s:s,s:i}", "event", m->interceptors[i].event,
                                             "action", m->interceptors[i].action, "priority",
                                             m->interceptors[i].priority));
#define META(k) (json_object_get(meta, k) ? json_incref(json_object_get(meta, k)) : json_null())
    json_t *d =
        json_pack("{s:s,s:s,s:o,s:s,s:s,s:o,s:o,s:o,s:o}", "name", m->name, "version", m->version,
                  "description", m->description ? json_string(m->description) : json_null(), "dir",
                  loc.dir, "location", loc.workspace ? "workspace" : "user", "wasm_hash",
                  META("wasm_hash"), "installed_at", META("installed_at"), "updated_at",
                  META("updated_at"), "source", META("source"));
#undef META
    json_object_set_new(d, "interceptors", ics);
    json_object_set_new(d, "publish", topic_rows(astrid_toml_get(raw, "publish"), false));
    json_object_set_new(d, "subscribe", topic_rows(astrid_toml_get(raw, "subscribe"), true));
    json_object_set_new(d, "capabilities",
                        json_pack("{s:o,s:o,s:o,s:o,s:o,s:b}", "ipc_publish",
                                  strv_json(&m->ipc_publish), "ipc_subscribe",
                                  strv_json(&m->ipc_subscribe), "fs_read", strv_json(&m->fs_read),
                                  "fs_write", strv_json(&m->fs_write), "net", strv_json(&m->net),
                                  "uplink", m->uplink));
    json_object_set_new(d, "env", env);
    env = NULL;
    json_object_set_new(d, "imports", cli_capsule_deps_json(m->imports, m->nimports, true));
    json_object_set_new(d, "exports", cli_capsule_deps_json(m->exports, m->nexports, false));
    astrid_toml_free(raw);
    rc = cli_output(ctx, d);
out:
    json_decref(env);
    json_decref(meta);
    astrid_manifest_free(m);
    return rc;
}

const cli_cmd cli_capsule_show = {
    .name = "show",
    .args = "<name>",
    .min_args = 1,
    .max_args = 1,
    .help = "Show a capsule",
    .long_help = "Shows an installed capsule: version, install dir, wasm hash, source, "
                 "interceptors, [publish]/[subscribe] entries, capabilities, [env] keys (secret "
                 "values are never printed: only set/unset) and imports/exports. Looks in the "
                 "agent's home/{p}/.local/capsules, then in ./.astrid/capsules.",
    .flags = CLI_FLAGS(CLI_F_AGENT, CLI_F_FORMAT),
    .fn = capsule_show};
