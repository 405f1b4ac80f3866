/* secret.set / secret.delete / secret.list (reference §11.3, §14.2) and
 * the load-time heal of plaintext secrets in env JSON.
 *
 * Where a value goes is decided here, from the manifest of the capsule as
 * the target agent sees it (astrid_capsule_dir_for): a key the manifest
 * declares `type = "secret"` goes to the file store
 * secrets/{agent|__host__}/{capsule}/{KEY}, never to env JSON; any other
 * key to home/{agent}/.config/env/{capsule}.env.json. The value travels in
 * params.secrets, which the audit log records without values
 * (astrid_audit_action_admin); no reply, log line or error carries it.
 *
 * Scope: the rows are self-scoped when params.agent is the caller
 * (requests.c), so an agent may write its own secrets and needs the global
 * secret:* capability (admin's `*`) for anyone else's; host-wide
 * ("shared") secrets serve every agent and always need the global
 * capability. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "astrid/home.h"
#include "astrid/jsonsafe.h"
#include "astrid/principal.h"
#include "kernel/admin.h"
#include "kernel/req_capsule.h"
#include "audit/audit.h"
#include "lib/audit/audit_entry.h"
#include "lib/manifest/installed.h"
#include "lib/manifest/manifest.h"
#include "store/secrets.h"

#define STORAGE_FILE "file"
#define STORAGE_ENV "env-json"
#define STORAGE_LEGACY "env-json (LEGACY!)"

static bool is_secret(const astrid_manifest_env *e)
{
    return e && strcmp(e->type, "secret") == 0;
}

static const astrid_manifest_env *declared(const astrid_manifest *m, const char *key)
{
    for (size_t i = 0; m && i < m->nenv; i++)
        if (strcmp(m->env[i].key, key) == 0)
            return &m->env[i];
    return NULL;
}

/* The manifest of `name` as `agent` sees it; NULL with err. */
static astrid_manifest *manifest_for(astrid_kernel *k, const char *agent, const char *name,
                                     astrid_err *err)
{
    char dir[PATH_MAX], path[PATH_MAX + 32];
    if (astrid_capsule_dir_for(k, agent, name, dir, sizeof dir, err) != 0)
        return NULL;
    snprintf(path, sizeof path, "%s/Capsule.toml", dir);
    return astrid_manifest_load(path, err);
}

/* Add the capsule names of one capsules directory to `names` (a set). */
static void names_in(const char *dir, json_t *names)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char meta[PATH_MAX + 300];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(meta, sizeof meta, "%s/%s/meta.json", dir, e->d_name);
        if (access(meta, F_OK) == 0)
            json_object_set_new(names, e->d_name, json_true());
    }
    closedir(d);
}

/* Every capsule name `agent` sees (its own, default's, the workspace's). */
static json_t *visible_capsules(astrid_kernel *k, const char *agent)
{
    json_t *names = json_object();
    char dir[PATH_MAX];
    const char *owners[] = {agent, ASTRID_DEFAULT_PRINCIPAL};
    for (size_t i = 0; i < 2; i++)
        if (astrid_home_capsules_dir(dir, sizeof dir, k->home, owners[i], NULL) == 0)
            names_in(dir, names);
    if (k->workspace[0]) {
        snprintf(dir, sizeof dir, "%.3000s/" ASTRID_WORKSPACE_CAPSULES, k->workspace);
        names_in(dir, names);
    }
    return names;
}

/* Without --capsule: the one capsule that declares `key`. Upstream writes
 * an undeclared key to a plaintext default.env.json; a value the operator
 * calls a secret must not land in plaintext because a flag was left out,
 * so we ask for --capsule instead. */
static int capsule_declaring(admin_call *c, const char *agent, const char *key, char *out, size_t n)
{
    json_t *names = visible_capsules(c->k, agent), *v;
    const char *name;
    char found[1024] = "";
    size_t hits = 0;
    json_object_foreach(names, name, v)
    {
        astrid_manifest *m = manifest_for(c->k, agent, name, NULL);
        if (declared(m, key)) {
            if (hits++ == 0)
                snprintf(out, n, "%s", name);
            size_t l = strlen(found);
            snprintf(found + l, sizeof found - l, "%s%s", l ? ", " : "", name);
        }
        astrid_manifest_free(m);
    }
    json_decref(names);
    if (hits == 1)
        return 0;
    if (hits == 0)
        return astrid_req_fail(c, ASTRID_KIND_NOT_FOUND,
                               "no capsule installed for agent '%s' declares env key '%s': give "
                               "--capsule NAME",
                               agent, key);
    return astrid_req_fail(c, ASTRID_KIND_INVALID,
                           "env key '%s' is declared by several capsules (%s): give --capsule "
                           "NAME",
                           key, found);
}

/* The target agent (params.agent), which must exist. */
static const char *target_agent(admin_call *c)
{
    const char *agent = admin_str(c, "agent");
    if (!agent)
        return NULL;
    astrid_profile *p = admin_load_existing(c, agent);
    if (!p)
        return NULL;
    astrid_profile_release(p);
    return agent;
}

/* "agent" (default) or "shared"; shared needs the global capability. */
static int scope_of(admin_call *c, const char *cap, bool *shared)
{
    json_t *s = json_object_get(c->params, "scope");
    *shared = false;
    if (!s || json_is_null(s))
        return 0;
    const char *v = json_string_value(s);
    if (!v || (strcmp(v, "agent") != 0 && strcmp(v, "shared") != 0))
        return astrid_req_fail(c, ASTRID_KIND_INVALID,
                               "params.scope must be \"agent\" or "
                               "\"shared\"");
    *shared = strcmp(v, "shared") == 0;
    char reason[512];
    if (*shared && astrid_authorize(c->k, c->caller, cap, reason, sizeof reason) != 0)
        return astrid_req_fail(c, ASTRID_KIND_PERMISSION_DENIED,
                               "%s (host-wide secrets serve every agent)", reason);
    return 0;
}

typedef struct env_set {
    const char *key, *value;
} env_set;

static int env_set_fn(json_t *vals, void *user, astrid_err *err)
{
    const env_set *s = user;
    if (json_object_set_new(vals, s->key, json_string(s->value)) != 0)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    return 1;
}

typedef struct env_del {
    const char *key;
    bool found;
} env_del;

static int env_del_fn(json_t *vals, void *user, astrid_err *err)
{
    (void)err;
    env_del *d = user;
    d->found = json_object_del(vals, d->key) == 0;
    return d->found ? 1 : 0;
}

int admin_secret_set(admin_call *c, json_t **data, const char **status)
{
    (void)status;
    const char *agent = target_agent(c);
    if (!agent)
        return -1;
    json_t *sec = json_object_get(c->params, "secrets");
    if (!json_is_object(sec) || json_object_size(sec) != 1)
        return astrid_req_fail(c, ASTRID_KIND_INVALID,
                               "params.secrets must be an object of exactly one KEY: VALUE");
    const char *key = json_object_iter_key(json_object_iter(sec));
    const char *value = json_string_value(json_object_iter_value(json_object_iter(sec)));
    if (!*key || strlen(key) > 200)
        return astrid_req_fail(c, ASTRID_KIND_INVALID, "the key must be 1 to 200 bytes");
    if (!value || !*value)
        return astrid_req_fail(c, ASTRID_KIND_INVALID, "%s: the value must be a non-empty string",
                               key);
    astrid_err err;
    bool shared;
    if (scope_of(c, "secret:set", &shared) != 0)
        return -1;
    char capsule[256];
    json_t *cp = json_object_get(c->params, "capsule");
    if (cp && !json_is_string(cp))
        return astrid_req_fail(c, ASTRID_KIND_INVALID, "params.capsule must be a string");
    if (shared && !cp)
        return astrid_req_fail(c, ASTRID_KIND_INVALID, "--scope needs --capsule");
    if (cp)
        snprintf(capsule, sizeof capsule, "%s", json_string_value(cp));
    else if (capsule_declaring(c, agent, key, capsule, sizeof capsule) != 0)
        return -1;
    astrid_manifest *m = manifest_for(c->k, agent, capsule, &err);
    if (!m)
        return astrid_req_fail_err(c, &err);
    const astrid_manifest_env *e = declared(m, key);
    bool secret = is_secret(e);
    astrid_manifest_free(m);
    int rc;
    if (secret) {
        rc = astrid_secret_set(c->k->home, shared ? ASTRID_SECRET_SCOPE_HOST : agent, capsule, key,
                               value, &err);
    } else if (shared) {
        return astrid_req_fail(c, ASTRID_KIND_INVALID,
                               "--scope needs a key the manifest of '%s' declares type = "
                               "\"secret\"; '%s' is %s",
                               capsule, key, e ? "not a secret" : "not declared");
    } else {
        env_set s = {key, value};
        rc = astrid_capsule_env_edit(c->k, agent, capsule, env_set_fn, &s, &err);
    }
    if (rc != 0)
        return astrid_req_fail_err(c, &err);
    *data = json_pack("{s:s,s:s,s:s,s:s,s:s}", "key", key, "capsule", capsule, "principal", agent,
                      "scope", shared ? "shared" : "agent", "storage",
                      secret ? STORAGE_FILE : STORAGE_ENV);
    return 0;
}

/* Delete `key` of one capsule: its file (in the scope) and, for the agent
 * scope, its env JSON entry (a legacy plaintext copy included). */
static int delete_in(admin_call *c, const char *agent, const char *capsule, const char *key,
                     bool shared, json_t *deleted)
{
    astrid_err err;
    bool existed = false;
    if (astrid_secret_delete(c->k->home, shared ? ASTRID_SECRET_SCOPE_HOST : agent, capsule, key,
                             &existed, &err) != 0)
        return astrid_req_fail_err(c, &err);
    if (existed)
        json_array_append_new(deleted,
                              json_pack("{s:s,s:s,s:s}", "capsule", capsule, "scope",
                                        shared ? "shared" : "agent", "storage", STORAGE_FILE));
    if (shared)
        return 0;
    env_del d = {key, false};
    if (astrid_capsule_env_edit(c->k, agent, capsule, env_del_fn, &d, &err) != 0)
        return astrid_req_fail_err(c, &err);
    if (d.found)
        json_array_append_new(deleted, json_pack("{s:s,s:s,s:s}", "capsule", capsule, "scope",
                                                 "agent", "storage", STORAGE_ENV));
    return 0;
}

/* The capsules with an env JSON file of `agent`, added to `names`. */
static void env_capsules(astrid_kernel *k, const char *agent, json_t *names)
{
    char dir[PATH_MAX];
    if (astrid_home_env_dir(dir, sizeof dir, k->home, agent, NULL) != 0)
        return;
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    size_t sl = strlen(ASTRID_ENV_JSON_SUFFIX);
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' || l <= sl ||
            strcmp(e->d_name + l - sl, ASTRID_ENV_JSON_SUFFIX) != 0)
            continue;
        json_object_set_new(names, e->d_name, json_true()); /* FILE names: cut by callers */
    }
    closedir(d);
}

static void secret_capsules(astrid_kernel *k, const char *scope, json_t *names)
{
    char **v = NULL;
    size_t n = 0;
    if (astrid_secret_capsules(k->home, scope, &v, &n, NULL) != 0)
        return;
    for (size_t i = 0; i < n; i++)
        json_object_set_new(names, v[i], json_true());
    astrid_secret_names_free(v, n);
}

int admin_secret_delete(admin_call *c, json_t **data, const char **status)
{
    (void)status;
    const char *agent = target_agent(c);
    const char *key = agent ? admin_str(c, "key") : NULL;
    if (!key)
        return -1;
    bool shared;
    if (scope_of(c, "secret:delete", &shared) != 0)
        return -1;
    json_t *cp = json_object_get(c->params, "capsule");
    if (cp && !json_is_string(cp))
        return astrid_req_fail(c, ASTRID_KIND_INVALID, "params.capsule must be a string");
    json_t *deleted = json_array();
    int rc = 0;
    if (cp) {
        rc = delete_in(c, agent, json_string_value(cp), key, shared, deleted);
    } else {
        /* every capsule that holds the key for this agent (or host-wide) */
        json_t *names = json_object(), *v;
        const char *name;
        secret_capsules(c->k, shared ? ASTRID_SECRET_SCOPE_HOST : agent, names);
        if (!shared) {
            json_t *envs = json_object();
            env_capsules(c->k, agent, envs);
            size_t sl = strlen(ASTRID_ENV_JSON_SUFFIX);
            json_object_foreach(envs, name, v)
            {
                char cap[300];
                snprintf(cap, sizeof cap, "%.*s", (int)(strlen(name) - sl), name);
                json_object_set_new(names, cap, json_true());
            }
            json_decref(envs);
        }
        json_object_foreach(names, name, v)
        {
            if ((rc = delete_in(c, agent, name, key, shared, deleted)) != 0)
                break;
        }
        json_decref(names);
    }
    if (rc == 0 && json_array_size(deleted) == 0)
        rc = astrid_req_fail(c, ASTRID_KIND_NOT_FOUND, "no %ssecret '%s' stored for agent '%s'%s%s",
                             shared ? "host-wide " : "", key, agent, cp ? " in capsule " : "",
                             cp ? json_string_value(cp) : "");
    if (rc != 0) {
        json_decref(deleted);
        return -1;
    }
    *data = json_pack("{s:s,s:s,s:o}", "key", key, "principal", agent, "deleted", deleted);
    return 0;
}

static void list_files(astrid_kernel *k, const char *scope, json_t *rows)
{
    json_t *names = json_object(), *v;
    const char *name;
    secret_capsules(k, scope, names);
    bool host = strcmp(scope, ASTRID_SECRET_SCOPE_HOST) == 0;
    json_object_foreach(names, name, v)
    {
        char **keys = NULL;
        size_t n = 0;
        if (astrid_secret_keys(k->home, scope, name, &keys, &n, NULL) != 0)
            continue;
        for (size_t i = 0; i < n; i++)
            json_array_append_new(rows, json_pack("{s:s,s:s,s:s,s:s}", "key", keys[i], "capsule",
                                                  name, "scope", host ? "shared" : "agent",
                                                  "storage", STORAGE_FILE));
        astrid_secret_names_free(keys, n);
    }
    json_decref(names);
}

int admin_secret_list(admin_call *c, json_t **data, const char **status)
{
    (void)status;
    const char *agent = target_agent(c);
    if (!agent)
        return -1;
    json_t *rows = json_array();
    list_files(c->k, agent, rows);
    list_files(c->k, ASTRID_SECRET_SCOPE_HOST, rows);
    /* env JSON keys, cross-referenced with the manifest: a secret-typed
     * key still in plaintext is LEGACY (the next load heals it) */
    json_t *envs = json_object(), *v;
    const char *fname;
    env_capsules(c->k, agent, envs);
    size_t sl = strlen(ASTRID_ENV_JSON_SUFFIX);
    json_object_foreach(envs, fname, v)
    {
        char capsule[300], path[PATH_MAX + 64];
        snprintf(capsule, sizeof capsule, "%.*s", (int)(strlen(fname) - sl), fname);
        if (astrid_home_env_json(path, sizeof path, c->k->home, agent, capsule, NULL) != 0)
            continue;
        json_t *vals = astrid_json_load_file(path, 0, NULL);
        astrid_manifest *m = manifest_for(c->k, agent, capsule, NULL);
        const char *key;
        json_t *val;
        json_object_foreach(vals, key, val)
        {
            json_array_append_new(
                rows,
                json_pack("{s:s,s:s,s:s,s:s}", "key", key, "capsule", capsule, "scope", "agent",
                          "storage", is_secret(declared(m, key)) ? STORAGE_LEGACY : STORAGE_ENV));
        }
        astrid_manifest_free(m);
        json_decref(vals);
    }
    json_decref(envs);
    *data = rows;
    *status = "secrets";
    return 0;
}

/* ------------------------------------------------------------- the heal */

typedef struct heal_ctx {
    astrid_kernel *k;
    const astrid_manifest *m;
    const char *principal;
    json_t *moved; /* keys moved to the file store */
    astrid_err *err;
} heal_ctx;

static int heal_fn(json_t *vals, void *user, astrid_err *err)
{
    heal_ctx *h = user;
    const char *key;
    json_t *v, *tmp;
    int changed = 0;
    json_object_foreach_safe(vals, tmp, key, v)
    {
        if (!is_secret(declared(h->m, key)))
            continue;
        /* A value already in the file store wins: it was set through the
         * right path after the plaintext one. */
        char *have = NULL;
        if (astrid_secret_get(h->k->home, h->principal, h->m->name, key, &have, err) != 0)
            return -1;
        const char *plain = json_string_value(v);
        if (!have && plain && *plain &&
            astrid_secret_set(h->k->home, h->principal, h->m->name, key, plain, err) != 0)
            return -1;
        if (have) {
            explicit_bzero(have, strlen(have));
            free(have);
        }
        json_array_append_new(h->moved, json_string(key));
        json_object_del(vals, key);
        changed = 1;
    }
    return changed;
}

void astrid_secrets_heal(astrid_kernel *k, const astrid_manifest *m)
{
    bool any_secret = false;
    for (size_t i = 0; i < m->nenv; i++)
        any_secret = any_secret || is_secret(&m->env[i]);
    char dir[PATH_MAX];
    if (!any_secret || astrid_home_homes_dir(dir, sizeof dir, k->home, NULL) != 0)
        return;
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (astrid_principal_validate(e->d_name, NULL) != 0)
            continue;
        char path[PATH_MAX + 64];
        if (astrid_home_env_json(path, sizeof path, k->home, e->d_name, m->name, NULL) != 0 ||
            access(path, F_OK) != 0)
            continue;
        astrid_err err;
        heal_ctx h = {k, m, e->d_name, json_array(), &err};
        int rc = astrid_capsule_env_edit(k, e->d_name, m->name, heal_fn, &h, &err);
        if (json_array_size(h.moved)) {
            char details[1024];
            json_t *keys = h.moved;
            char *list = astrid_json_dumps(keys, JSON_COMPACT);
            snprintf(details, sizeof details,
                     "capsule %s: plaintext secret-typed env JSON entries %s of %s %s the file "
                     "store%s%s",
                     m->name, list ? list : "?", e->d_name,
                     rc == 0 ? "moved to" : "could not all be moved to", rc == 0 ? "" : ": ",
                     rc == 0 ? "" : err.msg);
            free(list);
            json_t *action =
                json_pack("{s:s,s:s,s:s}", "type", "security_violation", "violation_type",
                          "plaintext_secret_in_env_json", "details", details);
            json_t *auth = astrid_audit_auth_system("capsule load: legacy plaintext secret heal");
            json_t *out = rc == 0 ? astrid_audit_outcome_success(NULL)
                                  : astrid_audit_outcome_failure(err.msg);
            astrid_err aerr;
            if (astrid_audit_append(k->audit, e->d_name, action, auth, out, NULL, &aerr) != 0)
                astrid_klog(k, "ERROR", "audit of the secret heal failed: %s", aerr.msg);
            json_decref(action);
            json_decref(auth);
            json_decref(out);
            astrid_klog(k, "WARN", "security_event: %s", details);
        } else if (rc != 0) {
            astrid_klog(k, "WARN",
                        "capsule %s: env JSON of %s not checked for plaintext "
                        "secrets: %s",
                        m->name, e->d_name, err.msg);
        }
        json_decref(h.moved);
    }
    closedir(d);
}
