/* The one request pipeline (contract in requests.h): the table of every
 * management and admin method, the Layer 5 preamble with the row's scope,
 * the audit of each decision, the admin write lock, the reply. */
#include "kernel/requests.h"

#include <stdio.h>
#include <string.h>

#include "astrid/utf8.h"
#include "kernel/admin.h"
#include "kernel/fed_policy.h"
#include "kernel/fed_trust.h"

#define MGMT_PREFIX "astrid.v1.request."
#define ADMIN_PREFIX "astrid.v1.admin."

/* Management rows have no topic. Their scopes are upstream's: resolve_scope
 * is always Self, and the system:* capabilities have no self: form.
 * quota.set is GLOBAL on purpose: upstream lets a principal holding
 * self:quota:set (every `agent` via self:*) raise its own limits, and a
 * limit its subject can raise is no limit. quota.get stays self-scoped.
 * budget.set likewise (an agent does not raise its own spending limit);
 * budget.get is self-scoped. */
// clang-format off
static const astrid_req_row req_table[] = {
    //method                topic            capability         scope                         target     mutates handler
    {"GetStatus",          NULL,            "system:status",    ASTRID_SCOPE_GLOBAL,         NULL,        false, req_status},
    {"Shutdown",           NULL,            "system:shutdown",  ASTRID_SCOPE_GLOBAL,         NULL,        true,  req_shutdown},
    {"ListCapsules",       NULL,            "capsule:list",     ASTRID_SCOPE_SELF,           NULL,        false, req_list_capsules},
    {"GetCommands",        NULL,            "capsule:list",     ASTRID_SCOPE_SELF,           NULL,        false, req_commands},
    {"GetCapsuleMetadata", NULL,            "capsule:list",     ASTRID_SCOPE_SELF,           NULL,        false, req_metadata},
    {"ReloadCapsules",     NULL,            "capsule:reload",   ASTRID_SCOPE_SELF,           NULL,        true,  req_reload},
    {"InstallCapsule",     NULL,            "capsule:install",  ASTRID_SCOPE_SELF,           NULL,        true,  req_install_capsule},
    {"UpdateCapsule",      NULL,            "capsule:install",  ASTRID_SCOPE_SELF,           NULL,        true,  req_update_capsule},
    {"RemoveCapsule",      NULL,            "capsule:remove",   ASTRID_SCOPE_SELF,           NULL,        true,  req_remove_capsule},
    {"SetCapsuleConfig",   NULL,            "capsule:config",   ASTRID_SCOPE_SELF,           NULL,        true,  req_set_capsule_config},
    {"CollectGarbage",     NULL,            "capsule:gc",       ASTRID_SCOPE_GLOBAL,         NULL,        true,  req_collect_garbage},
    {"ApproveCapability",  NULL,            "approval:respond", ASTRID_SCOPE_SELF,           NULL,        true,  req_approve},
    {"ListApprovals",      NULL,            "approval:respond", ASTRID_SCOPE_SELF,           NULL,        false, req_list_approvals},
    {"AgentCreate",        "agent.create",  "agent:create",     ASTRID_SCOPE_GLOBAL,         "name",      true,  admin_agent_create},
    {"AgentDelete",        "agent.delete",  "agent:delete",     ASTRID_SCOPE_GLOBAL,         "principal", true,  admin_agent_delete},
    {"AgentEnable",        "agent.enable",  "agent:enable",     ASTRID_SCOPE_GLOBAL,         "principal", true,  admin_agent_enable},
    {"AgentDisable",       "agent.disable", "agent:disable",    ASTRID_SCOPE_GLOBAL,         "principal", true,  admin_agent_disable},
    {"AgentModify",        "agent.modify",  "agent:modify",     ASTRID_SCOPE_GLOBAL,         "principal", true,  admin_agent_modify},
    {"AgentList",          "agent.list",    "agent:list",       ASTRID_SCOPE_SELF,           NULL,        false, admin_agent_list},
    {"QuotaSet",           "quota.set",     "quota:set",        ASTRID_SCOPE_GLOBAL,         "principal", true,  admin_quota_set},
    {"QuotaGet",           "quota.get",     "quota:get",        ASTRID_SCOPE_SELF_IF_TARGET, "principal", false, admin_quota_get},
    {"WorkspaceDiff",      "workspace.diff",    "workspace:diff",    ASTRID_SCOPE_SELF_IF_TARGET, "principal", false, admin_workspace_diff},
    {"WorkspaceCommit",    "workspace.commit",  "workspace:commit",  ASTRID_SCOPE_GLOBAL,         "principal", true,  admin_workspace_commit},
    {"WorkspaceDiscard",   "workspace.discard", "workspace:discard", ASTRID_SCOPE_GLOBAL,         "principal", true,  admin_workspace_discard},
    {"GroupCreate",        "group.create",  "group:create",     ASTRID_SCOPE_GLOBAL,         NULL,        true,  admin_group_create},
    {"GroupDelete",        "group.delete",  "group:delete",     ASTRID_SCOPE_GLOBAL,         NULL,        true,  admin_group_delete},
    {"GroupModify",        "group.modify",  "group:modify",     ASTRID_SCOPE_GLOBAL,         NULL,        true,  admin_group_modify},
    {"GroupList",          "group.list",    "group:list",       ASTRID_SCOPE_SELF,           NULL,        false, admin_group_list},
    {"CapsGrant",          "caps.grant",    "caps:grant",       ASTRID_SCOPE_GLOBAL,         "principal", true,  admin_caps_grant},
    {"CapsRevoke",         "caps.revoke",   "caps:revoke",      ASTRID_SCOPE_GLOBAL,         "principal", true,  admin_caps_revoke},
    {"AgentKeyAdd",        "agent.key.add",    "agent:key:add",    ASTRID_SCOPE_SELF_IF_TARGET, "principal", true,  admin_agent_key_add},
    {"AgentKeyRemove",     "agent.key.remove", "agent:key:remove", ASTRID_SCOPE_SELF_IF_TARGET, "principal", true,  admin_agent_key_remove},
    {"AgentKeyList",       "agent.key.list",   "agent:key:list",   ASTRID_SCOPE_SELF_IF_TARGET, "principal", false, admin_agent_key_list},
    {"SecretSet",          "secret.set",    "secret:set",       ASTRID_SCOPE_SELF_IF_TARGET, "agent",     true,  admin_secret_set},
    {"SecretDelete",       "secret.delete", "secret:delete",    ASTRID_SCOPE_SELF_IF_TARGET, "agent",     true,  admin_secret_delete},
    {"SecretList",         "secret.list",   "secret:list",      ASTRID_SCOPE_SELF_IF_TARGET, "agent",     false, admin_secret_list},
    {"BudgetSet",          "budget.set",    "budget:set",       ASTRID_SCOPE_GLOBAL,         "principal", true,  admin_budget_set},
    {"BudgetGet",          "budget.get",    "budget:get",       ASTRID_SCOPE_SELF_IF_TARGET, "principal", false, admin_budget_get},
    {"TrustAdd",           "trust.add",     "trust:add",        ASTRID_SCOPE_GLOBAL,         NULL,        true,  admin_trust_add},
    {"TrustRemove",        "trust.remove",  "trust:remove",     ASTRID_SCOPE_GLOBAL,         NULL,        true,  admin_trust_remove},
    {"TrustList",          "trust.list",    "trust:list",       ASTRID_SCOPE_GLOBAL,         NULL,        false, admin_trust_list},
    {"TrustCheck",         "trust.check",   "trust:check",      ASTRID_SCOPE_GLOBAL,         NULL,        false, admin_trust_check},
};
// clang-format on

const char ASTRID_REQ_DEFERRED[] = "deferred";

const astrid_req_row *astrid_req_table(size_t *n)
{
    *n = sizeof req_table / sizeof *req_table;
    return req_table;
}

int astrid_req_vfail(astrid_req *r, astrid_errkind kind, const char *fmt, va_list ap)
{
    r->kind = kind;
    astrid_vsnprintf_utf8(r->err, r->errn, fmt, ap); /* sent as JSON: no cut sequence */
    return -1;
}

int astrid_req_fail(astrid_req *r, astrid_errkind kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    astrid_req_vfail(r, kind, fmt, ap);
    va_end(ap);
    return -1;
}

int astrid_req_fail_err(astrid_req *r, const astrid_err *err)
{
    return astrid_req_fail(r, astrid_errkind_of(err->code), "%s", err->msg);
}

/* Where and how one request is answered. */
typedef struct reply_to {
    astrid_kernel *k;
    astrid_conn *conn;
    const char *prefix; /* of the reply topic, up to the suffix */
    const char *suffix; /* the request topic's */
    json_t *rid;        /* echoed when a string */
} reply_to;

static void reply(const reply_to *to, const char *status, json_t *data)
{
    char topic[320];
    snprintf(topic, sizeof topic, "%s%s", to->prefix, to->suffix);
    json_t *r = json_object();
    if (json_is_string(to->rid))
        json_object_set(r, "request_id", to->rid);
    json_object_set_new(r, "status", json_string(status));
    json_object_set_new(r, "data", data ? data : json_null());
    astrid_kernel_publish(to->k, to->conn, topic, r, astrid_conn_principal(to->conn));
    json_decref(r);
}

/* Upstream's {"status":"error","data":msg} unchanged, plus the kind. */
static void reply_error(const reply_to *to, astrid_errkind kind, const char *msg)
{
    char topic[320];
    snprintf(topic, sizeof topic, "%s%s", to->prefix, to->suffix);
    json_t *r = json_object();
    if (json_is_string(to->rid))
        json_object_set(r, "request_id", to->rid);
    json_object_set_new(r, "status", json_string("error"));
    json_object_set_new(r, "data", json_string(msg));
    json_object_set_new(r, "error",
                        json_pack("{s:s,s:s}", "kind", astrid_errkind_name(kind), "message", msg));
    astrid_kernel_publish(to->k, to->conn, topic, r, astrid_conn_principal(to->conn));
    json_decref(r);
}

static const astrid_req_row *find_row(const char *method, bool admin)
{
    for (size_t i = 0; i < sizeof req_table / sizeof *req_table; i++)
        if ((req_table[i].topic != NULL) == admin && strcmp(req_table[i].method, method) == 0)
            return &req_table[i];
    return NULL;
}

void astrid_requests_handle(astrid_kernel *k, astrid_conn *conn, const char *topic, json_t *payload)
{
    bool admin = strncmp(topic, ADMIN_PREFIX, strlen(ADMIN_PREFIX)) == 0;
    reply_to to = {
        .k = k,
        .conn = conn,
        .prefix = admin ? "astrid.v1.admin.response." : "astrid.v1.response.",
        .suffix = topic + (admin ? strlen(ADMIN_PREFIX) : strlen(MGMT_PREFIX)),
        .rid = json_object_get(payload, "request_id"),
    };
    char msg[1024];
    const char *method = json_string_value(json_object_get(payload, "method"));
    if (!method) {
        reply_error(&to, ASTRID_KIND_INVALID, "request payload needs a \"method\"");
        return;
    }
    const astrid_req_row *e = find_row(method, admin);
    if (!e) {
        /* json_sprintf: the whole name echoed, however long (as before). */
        json_t *m = json_sprintf("unknown %smethod '%s'", admin ? "admin " : "", method);
        reply_error(&to, ASTRID_KIND_INVALID, m ? json_string_value(m) : "unknown method");
        json_decref(m);
        return;
    }
    /* Upstream dispatches by method alone; a topic naming another method
     * would put one action in the audit trail and the log under another
     * name, so the two must agree. */
    if (admin && strcmp(e->topic, to.suffix) != 0) {
        astrid_snprintf_utf8(msg, sizeof msg, "method %s belongs on %s%s, not on %s", method,
                             ADMIN_PREFIX, e->topic, topic);
        reply_error(&to, ASTRID_KIND_INVALID, msg);
        return;
    }
    json_t *params = json_object_get(payload, "params");
    json_t *empty = NULL;
    if (admin && !params)
        params = empty = json_object();
    if (admin && !json_is_object(params)) {
        reply_error(&to, ASTRID_KIND_INVALID, "params must be an object");
        return;
    }
    const char *caller = astrid_conn_principal(conn);
    const char *target = e->target_key && json_is_object(params)
                             ? json_string_value(json_object_get(params, e->target_key))
                             : NULL;
    char cap[128], audit_method[64], reason[512];
    bool self = e->scope == ASTRID_SCOPE_SELF ||
                (e->scope == ASTRID_SCOPE_SELF_IF_TARGET && target && strcmp(target, caller) == 0);
    snprintf(cap, sizeof cap, "%s%s", self ? "self:" : "", e->capability);
    snprintf(audit_method, sizeof audit_method, "%s%s", admin ? "admin." : "",
             admin ? e->topic : e->method);
    astrid_errkind kind;
    if (astrid_admit_request(k, caller, audit_method, cap, target, params, e->mutates, &kind,
                             reason, sizeof reason) != 0) {
        reply_error(&to, kind, reason);
        json_decref(empty);
        return;
    }
    msg[0] = '\0';
    astrid_req r = {.k = k,
                    .conn = conn,
                    .caller = caller,
                    .params = params,
                    .err = msg,
                    .errn = sizeof msg,
                    .kind = ASTRID_KIND_INTERNAL,
                    .suffix = to.suffix,
                    .rid = to.rid};
    json_t *data = NULL;
    const char *status = "success";
    if (e->mutates)
        pthread_mutex_lock(&k->admin_write_lock);
    int rc = e->fn(&r, &data, &status);
    if (e->mutates)
        pthread_mutex_unlock(&k->admin_write_lock);
    if (rc == 0 && status == ASTRID_REQ_DEFERRED) {
        json_decref(data); /* the handler's job answers */
    } else if (rc != 0) {
        json_decref(data);
        const char *why = msg[0] ? msg : "request failed";
        astrid_klog(k, "INFO", "%s by %s failed: %s", audit_method, caller, why);
        if (e->mutates)
            astrid_audit_request_failed(k, caller, audit_method, cap, target, params, why);
        reply_error(&to, r.kind, why);
    } else {
        if (e->mutates)
            astrid_fed_policy_changed(k); /* replicated policy: compare and publish */
        reply(&to, status, data);
    }
    json_decref(empty);
}
