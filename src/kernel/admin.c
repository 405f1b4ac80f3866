/* Admin API dispatch: the table of methods, the Layer 5 preamble, the
 * audit record of every decision, the write lock. See admin.h. */
#include "kernel/admin.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "astrid/home.h"
#include "astrid/principal.h"
#include "astrid/utf8.h"

typedef enum admin_scope {
    SCOPE_GLOBAL,         /* the capability as written */
    SCOPE_SELF,           /* always the self: form */
    SCOPE_SELF_IF_TARGET, /* self: when params.principal is the caller */
} admin_scope;

typedef struct admin_entry { // NOLINT(clang-analyzer-optin.performance.Padding)
    const char *method;
    const char *topic;      /* conventional suffix; the audit method is admin.<topic> */
    const char *capability; /* global form; SCOPE_SELF* prefix "self:" */
    admin_scope scope;
    const char *target_key; /* params key naming the target principal, or NULL */
    bool mutates;           /* holds admin_write_lock; audited durably */
    admin_fn fn;
} admin_entry;

/* quota.set is GLOBAL on purpose: upstream lets a principal holding
 * self:quota:set (every `agent` via self:*) raise its own limits, and a
 * limit its subject can raise is no limit. quota.get stays self-scoped. */
static const admin_entry admin_table[] = {
    {"AgentCreate", "agent.create", "agent:create", SCOPE_GLOBAL, "name", true, admin_agent_create},
    {"AgentDelete", "agent.delete", "agent:delete", SCOPE_GLOBAL, "principal", true,
     admin_agent_delete},
    {"AgentEnable", "agent.enable", "agent:enable", SCOPE_GLOBAL, "principal", true,
     admin_agent_enable},
    {"AgentDisable", "agent.disable", "agent:disable", SCOPE_GLOBAL, "principal", true,
     admin_agent_disable},
    {"AgentModify", "agent.modify", "agent:modify", SCOPE_GLOBAL, "principal", true,
     admin_agent_modify},
    {"AgentList", "agent.list", "agent:list", SCOPE_SELF, NULL, false, admin_agent_list},
    {"QuotaSet", "quota.set", "quota:set", SCOPE_GLOBAL, "principal", true, admin_quota_set},
    {"QuotaGet", "quota.get", "quota:get", SCOPE_SELF_IF_TARGET, "principal", false,
     admin_quota_get},
    {"GroupCreate", "group.create", "group:create", SCOPE_GLOBAL, NULL, true, admin_group_create},
    {"GroupDelete", "group.delete", "group:delete", SCOPE_GLOBAL, NULL, true, admin_group_delete},
    {"GroupModify", "group.modify", "group:modify", SCOPE_GLOBAL, NULL, true, admin_group_modify},
    {"GroupList", "group.list", "group:list", SCOPE_SELF, NULL, false, admin_group_list},
    {"CapsGrant", "caps.grant", "caps:grant", SCOPE_GLOBAL, "principal", true, admin_caps_grant},
    {"CapsRevoke", "caps.revoke", "caps:revoke", SCOPE_GLOBAL, "principal", true,
     admin_caps_revoke},
};

int admin_fail(admin_call *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    astrid_vsnprintf_utf8(c->err, c->errn, fmt, ap); /* sent as JSON: no cut sequence */
    va_end(ap);
    return -1;
}

const char *admin_str(admin_call *c, const char *key)
{
    const char *s = json_string_value(json_object_get(c->params, key));
    if (!s)
        admin_fail(c, "params.%s must be a string", key);
    return s;
}

void admin_strlist_free(astrid_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

int admin_push_unique(admin_call *c, astrid_strlist *l, const char *s, bool *added)
{
    if (added)
        *added = false;
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return 0;
    astrid_err err;
    if (astrid_strlist_push(l, s, &err) != 0)
        return admin_fail(c, "%s", err.msg);
    if (added)
        *added = true;
    return 0;
}

int admin_strlist(admin_call *c, const char *key, bool optional, astrid_strlist *out)
{
    *out = (astrid_strlist){0};
    json_t *a = json_object_get(c->params, key);
    if (!a && optional)
        return 0;
    if (!json_is_array(a))
        return admin_fail(c, "params.%s must be an array of strings", key);
    /* No list the loader accepts is longer: refuse before the quadratic
     * de-duplication a handler would run on it. */
    if (json_array_size(a) > ASTRID_PROFILE_MAX_LIST)
        return admin_fail(c, "invalid: params.%s has %zu entries, over the limit of %u per list",
                          key, json_array_size(a), ASTRID_PROFILE_MAX_LIST);
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        astrid_err err;
        if (!json_is_string(v)) {
            admin_strlist_free(out);
            return admin_fail(c, "params.%s[%zu] must be a string", key, i);
        }
        if (astrid_strlist_push(out, json_string_value(v), &err) != 0) {
            admin_strlist_free(out);
            return admin_fail(c, "%s", err.msg);
        }
    }
    return 0;
}

astrid_profile *admin_load_existing(admin_call *c, const char *principal)
{
    astrid_err err;
    char path[PATH_MAX];
    if (astrid_principal_validate(principal, &err) != 0 ||
        astrid_profile_path(path, sizeof path, c->k->home, principal, &err) != 0) {
        admin_fail(c, "%s", err.msg);
        return NULL;
    }
    if (access(path, F_OK) != 0) {
        admin_fail(c, "principal %s does not exist (no profile.toml at %s)", principal, path);
        return NULL;
    }
    astrid_profile *p = astrid_profile_load(c->k->home, principal, &err);
    if (!p)
        admin_fail(c, "profile of %s cannot be loaded: %s", principal, err.msg);
    return p;
}

int admin_save_profile(admin_call *c, const char *principal, const astrid_profile *p)
{
    astrid_err err;
    if (astrid_profile_validate(p, &err) != 0)
        return admin_fail(c, "invalid: the profile of %s would not load: %s", principal, err.msg);
    int rc = astrid_profile_save(c->k->home, principal, p, &err);
    astrid_profile_cache_invalidate(c->k->profiles, principal);
    if (rc != 0 && err.code != ASTRID_E_IO && err.code != ASTRID_E_NOMEM)
        return admin_fail(c, "invalid: the profile of %s %s", principal, err.msg);
    if (rc != 0)
        return admin_fail(c, "cannot save the profile of %s: %s", principal, err.msg);
    return 0;
}

json_t *admin_strlist_json(const astrid_strlist *l)
{
    json_t *a = json_array();
    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(a, json_string(l->v[i]));
    return a;
}

json_t *admin_quotas_json(const astrid_quotas *q)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:I}", "max_memory_bytes", (json_int_t)q->max_memory_bytes,
                     "max_timeout_secs", (json_int_t)q->max_timeout_secs,
                     "max_ipc_throughput_bytes", (json_int_t)q->max_ipc_throughput_bytes,
                     "max_background_processes", (json_int_t)q->max_background_processes,
                     "max_storage_bytes", (json_int_t)q->max_storage_bytes);
}

json_t *admin_agent_summary(const char *principal, const astrid_profile *p)
{
    return json_pack("{s:s,s:b,s:o,s:o,s:o,s:o,s:o,s:o}", "principal", principal, "enabled",
                     p->enabled, "groups", admin_strlist_json(&p->groups), "grants",
                     admin_strlist_json(&p->grants), "revokes", admin_strlist_json(&p->revokes),
                     "quotas", admin_quotas_json(&p->quotas), "network_egress",
                     admin_strlist_json(&p->network_egress), "process_allow",
                     admin_strlist_json(&p->process_allow));
}

bool admin_group_known(astrid_kernel *k, const char *name)
{
    astrid_group_config *g = astrid_group_swap_acquire(k->groups);
    bool known = astrid_groups_find(g, name) != NULL;
    astrid_groups_unref(g);
    return known;
}

static void reply(astrid_kernel *k, astrid_conn *conn, const char *topic_suffix, json_t *rid,
                  const char *status, json_t *data)
{
    char topic[320];
    snprintf(topic, sizeof topic, "astrid.v1.admin.response.%s", topic_suffix);
    json_t *r = json_object();
    if (json_is_string(rid))
        json_object_set(r, "request_id", rid);
    json_object_set_new(r, "status", json_string(status));
    json_object_set_new(r, "data", data ? data : json_null());
    astrid_kernel_publish(k, conn, topic, r, astrid_conn_principal(conn));
    json_decref(r);
}

void astrid_admin_handle(astrid_kernel *k, astrid_conn *conn, const char *topic, json_t *payload)
{
    const char *suffix = topic + strlen("astrid.v1.admin.");
    json_t *rid = json_object_get(payload, "request_id");
    const char *method = json_string_value(json_object_get(payload, "method"));
    if (!method) {
        reply(k, conn, suffix, rid, "error", json_string("request payload needs a \"method\""));
        return;
    }
    const admin_entry *e = NULL;
    for (size_t i = 0; i < sizeof admin_table / sizeof *admin_table; i++)
        if (strcmp(admin_table[i].method, method) == 0)
            e = &admin_table[i];
    if (!e) {
        reply(k, conn, suffix, rid, "error", json_sprintf("unknown admin method '%s'", method));
        return;
    }
    json_t *params = json_object_get(payload, "params");
    json_t *empty = NULL;
    if (!params)
        params = empty = json_object();
    if (!json_is_object(params)) {
        reply(k, conn, suffix, rid, "error", json_string("params must be an object"));
        return;
    }
    const char *caller = astrid_conn_principal(conn);
    const char *target =
        e->target_key ? json_string_value(json_object_get(params, e->target_key)) : NULL;
    char cap[128], audit_method[64], reason[512];
    bool self = e->scope == SCOPE_SELF ||
                (e->scope == SCOPE_SELF_IF_TARGET && target && strcmp(target, caller) == 0);
    snprintf(cap, sizeof cap, "%s%s", self ? "self:" : "", e->capability);
    snprintf(audit_method, sizeof audit_method, "admin.%s", e->topic);
    if (astrid_admit_request(k, caller, audit_method, cap, target, params, e->mutates, reason,
                             sizeof reason) != 0) {
        reply(k, conn, suffix, rid, "error", json_string(reason));
        json_decref(empty);
        return;
    }
    char err[1024] = "";
    admin_call c = {.k = k, .caller = caller, .params = params, .err = err, .errn = sizeof err};
    json_t *data = NULL;
    const char *status = "success";
    if (e->mutates)
        pthread_mutex_lock(&k->admin_write_lock);
    int rc = e->fn(&c, &data, &status);
    if (e->mutates)
        pthread_mutex_unlock(&k->admin_write_lock);
    if (rc != 0) {
        json_decref(data);
        astrid_klog(k, "INFO", "%s by %s failed: %s", audit_method, caller, err);
        if (e->mutates)
            astrid_audit_request_failed(k, caller, audit_method, cap, target, params,
                                        err[0] ? err : "request failed");
        reply(k, conn, suffix, rid, "error", json_string(err[0] ? err : "request failed"));
    } else {
        reply(k, conn, suffix, rid, status, data);
    }
    json_decref(empty);
}
