/* Management API (reference §10.1): astrid.v1.request.<suffix> carries
 * {"method": ..., "params"?: ...}; the reply goes to
 * astrid.v1.response.<suffix> as {"status": ..., "data": ...} with the
 * request_id echoed. Each method maps to one required capability (no
 * default-allow) and runs through the Layer 5 preamble and the audit log. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "astrid/version.h"
#include "kernel/capsules.h"
#include "kernel/kernel.h"
#include "kernel/req_capsule.h"

typedef json_t *(*request_fn)(astrid_kernel *k, astrid_conn *c, json_t *params,
                              const char **status);

typedef struct request_entry {
    const char *method;
    const char *capability;
    request_fn fn;
    bool read_only; /* changes nothing: audited write-behind (audit.h) */
} request_entry;

static json_t *req_status(astrid_kernel *k, astrid_conn *c, json_t *params, const char **status)
{
    (void)c;
    (void)params;
    *status = "status";
    json_t *d = json_pack("{s:i,s:I,s:s,s:b,s:I,s:i}", "pid", (int)getpid(), "uptime_secs",
                          (json_int_t)(time(NULL) - k->boot_time), "version", ASTRID_VERSION,
                          "ephemeral", k->ephemeral, "connected_clients", (json_int_t)k->n_conns,
                          "loaded_capsules", (json_int_t)k->ncapsules);
    json_t *by = astrid_server_connections_by_principal(k);
    if (json_array_size(by) > 0)
        json_object_set_new(d, "connections_by_principal", by);
    else
        json_decref(by);
    return d;
}

static json_t *req_shutdown(astrid_kernel *k, astrid_conn *c, json_t *params, const char **status)
{
    const char *reason = json_string_value(json_object_get(params, "reason"));
    astrid_klog(k, "INFO", "shutdown requested by %s: %s", astrid_conn_principal(c),
                reason ? reason : "(no reason)");
    astrid_kernel_request_shutdown(k, reason ? reason : "shutdown request");
    *status = "success";
    return json_pack("{s:s}", "status", "shutting_down");
}

static json_t *req_list_capsules(astrid_kernel *k, astrid_conn *c, json_t *p, const char **st)
{
    (void)c, (void)p;
    *st = "success";
    return astrid_capsules_names(k);
}

/* Slash commands come from [[command]] entries, which the runtime does not
 * read yet: the list is truthfully empty. */
static json_t *req_commands(astrid_kernel *k, astrid_conn *c, json_t *p, const char **st)
{
    (void)k, (void)c, (void)p;
    *st = "commands";
    return json_array();
}

static json_t *req_metadata(astrid_kernel *k, astrid_conn *c, json_t *p, const char **st)
{
    (void)c, (void)p;
    *st = "capsule_metadata";
    return astrid_capsules_metadata(k);
}

/* The preamble admitted self:capsule:reload: that reloads the caller's own
 * capsules. Daemon-wide (every agent's, interrupting their run loops)
 * needs the global capsule:reload (admin's `*`). */
static json_t *req_reload(astrid_kernel *k, astrid_conn *c, json_t *p, const char **st)
{
    (void)p;
    *st = "success";
    const char *who = astrid_conn_principal(c);
    char reason[512];
    if (astrid_authorize(k, who, "capsule:reload", reason, sizeof reason) == 0)
        return astrid_capsules_reload(k);
    return astrid_capsules_reload_owned(k, who);
}

static json_t *req_approve(astrid_kernel *k, astrid_conn *c, json_t *p, const char **st)
{
    (void)k, (void)c, (void)p;
    *st = "error";
    return json_string("not available in this release: needs the approval flow "
                       "(capability tokens, reference §8)");
}

static const request_entry request_table[] = {
    {"GetStatus", "system:status", req_status, true},
    {"Shutdown", "system:shutdown", req_shutdown, false},
    {"ListCapsules", "self:capsule:list", req_list_capsules, true},
    {"GetCommands", "self:capsule:list", req_commands, true},
    {"GetCapsuleMetadata", "self:capsule:list", req_metadata, true},
    {"ReloadCapsules", "self:capsule:reload", req_reload, false},
    {"ApproveCapability", "self:approval:respond", req_approve, false},
};

/* Capsule writes: they act (audited durably) and answer later, from a
 * job thread (req_capsule.h). */
static const struct {
    const char *method;
    const char *capability;
    astrid_deferred_fn fn;
} deferred_table[] = {
    {"InstallCapsule", "self:capsule:install", astrid_req_install_capsule},
    {"UpdateCapsule", "self:capsule:install", astrid_req_update_capsule},
    {"RemoveCapsule", "self:capsule:remove", astrid_req_remove_capsule},
    {"SetCapsuleConfig", "self:capsule:config", astrid_req_set_capsule_config},
    {"CollectGarbage", "capsule:gc", astrid_req_collect_garbage},
};

static void reply(astrid_kernel *k, astrid_conn *c, const char *suffix, json_t *request_id,
                  const char *status, json_t *data)
{
    char topic[300];
    snprintf(topic, sizeof topic, "astrid.v1.response.%s", suffix);
    json_t *r = json_object();
    if (json_is_string(request_id))
        json_object_set(r, "request_id", request_id);
    json_object_set_new(r, "status", json_string(status));
    json_object_set_new(r, "data", data);
    astrid_kernel_publish(k, c, topic, r, astrid_conn_principal(c));
    json_decref(r);
}

void astrid_router_handle(astrid_kernel *k, astrid_conn *c, const char *topic, json_t *payload)
{
    const char *suffix = topic + strlen("astrid.v1.request.");
    json_t *rid = json_object_get(payload, "request_id");
    const char *method = json_string_value(json_object_get(payload, "method"));
    if (!method) {
        reply(k, c, suffix, rid, "error", json_string("request payload needs a \"method\""));
        return;
    }
    const request_entry *e = NULL;
    for (size_t i = 0; i < sizeof request_table / sizeof *request_table; i++)
        if (strcmp(request_table[i].method, method) == 0)
            e = &request_table[i];
    astrid_deferred_fn deferred = NULL;
    request_entry de;
    for (size_t i = 0; !e && i < sizeof deferred_table / sizeof *deferred_table; i++)
        if (strcmp(deferred_table[i].method, method) == 0) {
            de = (request_entry){method, deferred_table[i].capability, NULL, false};
            deferred = deferred_table[i].fn;
            e = &de;
        }
    if (!e) {
        reply(k, c, suffix, rid, "error", json_sprintf("unknown method '%s'", method));
        return;
    }
    const char *p = astrid_conn_principal(c);
    json_t *params = json_object_get(payload, "params");
    char reason[512];
    if (astrid_admit_request(k, p, method, e->capability, NULL, params, !e->read_only, reason,
                             sizeof reason) != 0) {
        reply(k, c, suffix, rid, "error", json_string(reason));
        return;
    }
    if (deferred) {
        deferred(k, c, suffix, rid, params);
        return;
    }
    const char *status = "success";
    json_t *data = e->fn(k, c, params, &status);
    reply(k, c, suffix, rid, status, data);
}
