/* Management API handlers (reference §10.1): astrid.v1.request.<suffix>
 * carries {"method": ..., "params"?: ...}; the reply goes to
 * astrid.v1.response.<suffix>. Their rows (capability, scope, mutates) and
 * the dispatch are in requests.c; the contract is requests.h. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "astrid/version.h"
#include "kernel/capsules.h"
#include "kernel/federation.h"
#include "kernel/kernel.h"
#include "kernel/requests.h"

int req_status(astrid_req *r, json_t **data, const char **status)
{
    astrid_kernel *k = r->k;
    *status = "status";
    json_t *d = json_pack("{s:i,s:I,s:s,s:b,s:I,s:i}", "pid", (int)getpid(), "uptime_secs",
                          (json_int_t)(time(NULL) - k->boot_time), "version", ASTRID_VERSION,
                          "ephemeral", k->ephemeral, "connected_clients", (json_int_t)k->n_conns,
                          "loaded_capsules", (json_int_t)k->ncapsules);
    json_t *fed = astrid_fed_status_json(k);
    if (fed)
        json_object_set_new(d, "federation", fed);
    json_t *by = astrid_server_connections_by_principal(k);
    if (json_array_size(by) > 0)
        json_object_set_new(d, "connections_by_principal", by);
    else
        json_decref(by);
    *data = d;
    return 0;
}

int req_shutdown(astrid_req *r, json_t **data, const char **status)
{
    (void)status;
    const char *reason = json_string_value(json_object_get(r->params, "reason"));
    astrid_klog(r->k, "INFO", "shutdown requested by %s: %s", r->caller,
                reason ? reason : "(no reason)");
    astrid_kernel_request_shutdown(r->k, reason ? reason : "shutdown request");
    *data = json_pack("{s:s}", "status", "shutting_down");
    return 0;
}

int req_list_capsules(astrid_req *r, json_t **data, const char **status)
{
    (void)status;
    *data = astrid_capsules_names(r->k);
    return 0;
}

/* Slash commands come from [[command]] entries, which the runtime does not
 * read yet: the list is truthfully empty. */
int req_commands(astrid_req *r, json_t **data, const char **status)
{
    (void)r;
    *status = "commands";
    *data = json_array();
    return 0;
}

int req_metadata(astrid_req *r, json_t **data, const char **status)
{
    *status = "capsule_metadata";
    *data = astrid_capsules_metadata(r->k);
    /* Topics other hosts of the lattice serve (federation.c): rows of
     * their own kind, so `astrid ps` lists them with their host. */
    json_t *remote = astrid_fed_services_json(r->k);
    size_t i;
    json_t *row;
    json_array_foreach(remote, i, row)
    {
        json_t *x = json_pack("{s:O, s:s, s:O, s:O}", "name", json_object_get(row, "topic"), "kind",
                              "remote", "host", json_object_get(row, "host"), "alive",
                              json_object_get(row, "alive"));
        if (x)
            json_array_append_new(*data, x);
    }
    json_decref(remote);
    return 0;
}

/* The preamble admitted self:capsule:reload: that reloads the caller's own
 * capsules. Daemon-wide (every agent's, interrupting their run loops)
 * needs the global capsule:reload (admin's `*`). */
int req_reload(astrid_req *r, json_t **data, const char **status)
{
    (void)status;
    char reason[512];
    if (astrid_authorize(r->k, r->caller, "capsule:reload", reason, sizeof reason) == 0)
        *data = astrid_capsules_reload(r->k);
    else
        *data = astrid_capsules_reload_owned(r->k, r->caller);
    return 0;
}
