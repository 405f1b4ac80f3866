/* The capsule runtime inside the daemon: load every installed capsule
 * (integrity-checked, compiled ahead of time through the engine), register
 * its [[interceptor]]s on the bus, and run each matching message in a fresh
 * instance under the publisher's principal (Layer 3: profile exists and is
 * enabled, home on disk; memory cap and deadline from its quotas; its KV
 * namespace, log and secrets). Handlers run on the chain workers
 * (dispatch.c), never on the loop thread.
 *
 * The how of an invocation (instance, ABI, context) is capsule/invoke.h;
 * here is the policy around it.
 *
 * Threads: k->capsules is read and replaced on the loop thread only
 * (boot, ReloadCapsules, listings). The chain workers reach a capsule only
 * through its interceptor registration; unregistering waits for a running
 * chain (bus icpt_lock), so a capsule is freed only when no handler can
 * still run. `stats_lock` guards each capsule's counters. */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kernel/admin.h"
#include "kernel/capsule_lookup.h"
#include "kernel/dispatch.h"
#include "astrid/home.h"
#include "kernel/capsule_rt.h"
#include "astrid/trust.h"
#include "kernel/capsules.h"
#include "kernel/fed_trust.h"
#include "kernel/gate.h"
#include "kernel/kernel.h"
#include "kernel/mcp_host.h"
#include "kernel/usage.h"

static int env_publish(void *ctx, const char *topic, const char *payload, size_t len,
                       const char *source_id, const char *principal, astrid_err *err)
{
    kcapsule *c = ctx;
    /* charged before it is seen: the turn goes on only once it counts */
    if (strcmp(topic, ASTRID_USAGE_TOPIC) == 0)
        kcapsule_usage_report(c, principal, payload, len);
    return astrid_kernel_bus_publish(c->k, topic, payload, len, source_id, principal,
                                     ASTRID_PUB_RATE_LIMIT, NULL, err);
}

static int env_admit(void *rt, const char *principal, bool same, char *reason, size_t n)
{
    (void)same; /* enabled may have changed since: always check */
    kcapsule *c = rt;
    if (kcapsule_admit(c, principal, reason, n) != 0)
        return -1;
    kcapsule_count(c, principal, 0, 0);
    return 0;
}

static void env_ready(void *rt)
{
    kcapsule *c = rt;
    if (!atomic_exchange(&c->ready, true))
        astrid_klog(c->k, "INFO", "capsule %s is ready", c->inst->manifest->name);
}

void kcapsule_env(kcapsule *c, astrid_host_env *env)
{
    astrid_kernel *k = c->k;
    *env = (astrid_host_env){.home = k->home,
                             .workspace = k->workspace,
                             .kv = k->kv,
                             .publish = env_publish,
                             .publish_ctx = c,
                             .http = &k->http_ops,
                             .bus = k->bus,
                             .admit = env_admit,
                             .trigger = kcapsule_trigger,
                             .uplink_register = kcapsule_uplink_register,
                             .uplink_send = kcapsule_uplink_send,
                             .signal_ready = env_ready,
                             .rt = c,
                             .owner_only = !c->shared,
                             .capsule_flag = astrid_capsule_lookup_flag,
                             .capsule_flag_ctx = k->capsule_index,
                             .storage_charge = astrid_kernel_storage_charge,
                             .storage_dropped = astrid_kernel_storage_dropped,
                             .storage_ctx = k,
                             .proc = &kcapsule_proc_ops,
                             .approval = astrid_gate_env_approval,
                             .elicit = astrid_gate_env_elicit,
                             .gate_ctx = k,
                             .overlays = k->overlays};
}

void kcapsule_count(kcapsule *c, const char *principal, int error, int denied)
{
    pthread_mutex_lock(&c->stats_lock);
    kcounter *ct = NULL;
    for (size_t i = 0; i < c->ncounters && !ct; i++)
        if (strcmp(c->counters[i].principal, principal) == 0)
            ct = &c->counters[i];
    if (!ct && c->ncounters < KCAPSULE_MAX_COUNTERS) {
        ct = &c->counters[c->ncounters++];
        snprintf(ct->principal, sizeof ct->principal, "%s", principal);
    }
    if (ct) {
        ct->invocations++;
        ct->errors += error != 0;
        ct->denied += denied != 0;
    }
    pthread_mutex_unlock(&c->stats_lock);
}

/* One invocation of astrid-hook-trigger under `principal`, with its
 * memory cap and deadline. */
static int invoke(kcapsule *c, const char *principal, const astrid_msg *msg, const char *action,
                  const uint8_t *payload, size_t len, astrid_icpt_result *out, astrid_err *err)
{
    /* a remote principal (federation) is held to what its profile and
     * [[map]] groups give (fed_trust.c), with their quotas */
    const astrid_profile *prof = astrid_principal_is_remote(principal)
                                     ? astrid_kernel_remote_profile(c->k, principal, err)
                                     : astrid_profile_cache_get(c->k->profiles, principal, err);
    if (!prof)
        return -1;
    astrid_host_env env;
    kcapsule_env(c, &env);
    astrid_principal_ctx pc = {.principal = principal,
                               .max_memory_bytes = prof->quotas.max_memory_bytes,
                               .timeout_ms = prof->quotas.max_timeout_secs * 1000u,
                               .source_id = c->source_id,
                               .caller = msg,
                               .env = &env};
    astrid_profile_release(prof);
    astrid_capsule_result r;
    if (astrid_capsule_invoke(c->cap, &pc, action, payload, len, &r, err) != 0)
        return -1;
    if (r.action == ASTRID_CAPSULE_DENY) {
        out->action = ASTRID_ICPT_DENY;
        out->reason = r.data ? r.data : strdup("denied by capsule");
    } else {
        out->action = r.action == ASTRID_CAPSULE_FINAL ? ASTRID_ICPT_FINAL : ASTRID_ICPT_CONTINUE;
        out->data = (uint8_t *)r.data;
        out->len = r.len;
    }
    return 0;
}

int kcapsule_admit(kcapsule *c, const char *principal, char *reason, size_t n)
{
    char home[4200];
    astrid_principal_home(home, sizeof home, c->k->home, principal, NULL);
    struct stat st;
    /* A remote principal (id@host, federation.c) has no home here, only
     * what its profile or [[map]] group grants. */
    bool remote = astrid_principal_is_remote(principal);
    if (astrid_principal_admissible(c->k, principal, reason, n) != 0 ||
        (!remote && stat(home, &st) != 0 &&
         snprintf(reason, n, "principal %s has no home on disk", principal))) {
        kcapsule_count(c, principal, 0, 1);
        return -1;
    }
    return 0;
}

static int on_icpt(void *vctx, const astrid_msg *msg, const uint8_t *payload, size_t len,
                   astrid_icpt_result *out)
{
    icpt_ctx *ic = vctx;
    kcapsule *c = ic->c;
    astrid_kernel *k = c->k;
    if (atomic_load(&c->unloading)) {
        out->action = ASTRID_ICPT_SKIP;
        return 0;
    }
    /* A private capsule is not there for other principals: skipped, not
     * denied, so their chain goes on (trigger-hook fan-out too). */
    if (!kcapsule_serves(c, msg->principal)) {
        out->action = ASTRID_ICPT_SKIP;
        return 0;
    }
    const char *principal = msg->principal ? msg->principal : c->inst->owner;
    char reason[512];
    /* Layer 3 before any guest code: a phantom or disabled principal is
     * refused, never mapped to the owner. */
    if (kcapsule_admit(c, principal, reason, sizeof reason) != 0) {
        out->action = ASTRID_ICPT_DENY;
        out->reason = strdup(reason);
        astrid_klog(k, "INFO", "capsule %s: %s on %s refused: %s", c->inst->manifest->name,
                    c->inst->manifest->interceptors[ic->index].action, msg->topic, reason);
        return 0;
    }
    astrid_err err;
    int rc = invoke(c, principal, msg, c->inst->manifest->interceptors[ic->index].action, payload,
                    len, out, &err);
    kcapsule_count(c, principal, rc != 0, rc == 0 && out->action == ASTRID_ICPT_DENY);
    if (rc != 0) {
        astrid_klog(k, "WARN", "capsule %s (%s for %s): %s", c->inst->manifest->name,
                    c->inst->manifest->interceptors[ic->index].action, principal, err.msg);
        kcapsule_report_failure(c, msg, err.msg);
    }
    return rc;
}

void *astrid_capsule_lane_key(void *vctx, const astrid_msg *msg)
{
    kcapsule *c = ((icpt_ctx *)vctx)->c;
    if (atomic_load(&c->unloading) || !kcapsule_serves(c, msg->principal))
        return NULL;
    return c;
}

/* Stop new invocations and interrupt running ones, so unregistering (which
 * waits for every running chain, of any capsule) does not wait out a
 * guest's timeout. */
static void capsule_interrupt(kcapsule *c)
{
    bool first = !atomic_exchange(&c->unloading, true);
    size_t n = c->cap ? astrid_capsule_interrupt(c->cap) : 0;
    if (first && n)
        astrid_klog(c->k, "INFO", "capsule %s unloading: %zu running invocation(s) interrupted",
                    c->inst->manifest->name, n);
}

static void capsule_free(kcapsule *c)
{
    if (!c)
        return;
    capsule_interrupt(c);
    for (size_t i = 0; i < c->nicpt; i++)
        if (c->icpt_ids[i])
            astrid_bus_unintercept(c->k->bus, c->icpt_ids[i]);
    kcapsule_run_stop(c);
    kcapsule_procs_stop(c);
    kmcp_stop(c);
    astrid_capsule_free(c->cap);
    kcapsule_uplinks_free(c);
    pthread_mutex_destroy(&c->stats_lock);
    pthread_mutex_destroy(&c->uplinks_lock);
    free(c->icpt);
    free(c->icpt_ids);
    json_decref(c->topics);
    free(c);
}

typedef struct scan_ctx {
    astrid_kernel *k;
    json_t *errors;
} scan_ctx;

static void load_one(void *vctx, const char *owner, const char *dir)
{
    scan_ctx *s = vctx;
    astrid_kernel *k = s->k;
    astrid_err err;
    kcapsule *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->k = k;
    pthread_mutex_init(&c->stats_lock, NULL);
    pthread_mutex_init(&c->uplinks_lock, NULL);
    astrid_uuid_v4(c->source_id);
    if (astrid_capsule_open(k->home, owner, dir, &c->cap, &err) != 0)
        goto fail;
    c->inst = astrid_capsule_installed(c->cap);
    c->topics = kcapsule_topics_load(c->inst->dir);
    for (size_t i = 0; i < k->ncapsules; i++)
        if (strcmp(k->capsules[i]->inst->manifest->name, c->inst->manifest->name) == 0) {
            astrid_err_set(&err, ASTRID_E_EXISTS, "capsule %s is already loaded from %s",
                           c->inst->manifest->name, k->capsules[i]->inst->dir);
            goto fail;
        }
    /* policy first: nothing is compiled for a capsule refused here */
    if (kcapsule_owner_check(c, &err) != 0)
        goto fail;
    /* before the first invocation: no plaintext secret outlives a load */
    astrid_secrets_heal(k, c->inst->manifest);
    if (astrid_capsule_prepare(c->cap, k->engine, &err) != 0)
        goto fail;
    if (kmcp_start(c, &err) != 0) /* its MCP servers (docs/mcp.md) */
        goto fail;
    c->run_loop = astrid_capsule_is_run_loop(c->cap);
    if (c->run_loop) {
        if (kcapsule_run_start(c, &err) != 0)
            goto fail;
        goto loaded;
    }
    c->nicpt = c->inst->manifest->ninterceptors;
    c->icpt = calloc(c->nicpt ? c->nicpt : 1, sizeof *c->icpt);
    c->icpt_ids = calloc(c->nicpt ? c->nicpt : 1, sizeof *c->icpt_ids);
    if (!c->icpt || !c->icpt_ids) {
        astrid_err_set(&err, ASTRID_E_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < c->nicpt; i++) {
        c->icpt[i] = (icpt_ctx){c, i};
        const astrid_manifest_interceptor *mi = &c->inst->manifest->interceptors[i];
        if (!(c->icpt_ids[i] = astrid_bus_intercept(k->bus, mi->event, mi->priority, on_icpt,
                                                    &c->icpt[i], &err)))
            goto fail;
    }
loaded:;
    kcapsule **nv = realloc(k->capsules, (k->ncapsules + 1) * sizeof(kcapsule *));
    if (!nv) {
        astrid_err_set(&err, ASTRID_E_NOMEM, "out of memory");
        goto fail;
    }
    k->capsules = nv;
    k->capsules[k->ncapsules++] = c;
    if (astrid_capsule_index_add(k->capsule_index, c->source_id, c->inst->manifest, &err) != 0)
        astrid_klog(k, "WARN", "capsule %s: not in the UUID index: %s", c->inst->manifest->name,
                    err.msg);
    astrid_klog(k, "INFO", "capsule %s %s loaded from %s (%zu interceptors%s)",
                c->inst->manifest->name, c->inst->manifest->version, dir,
                c->run_loop ? c->inst->manifest->ninterceptors : c->nicpt,
                c->run_loop ? ", run loop" : "");
    return;
fail:
    astrid_klog(k, "ERROR", "capsule at %s not loaded: %s", dir, err.msg);
    if (s->errors)
        json_array_append_new(s->errors, json_pack("{s:s,s:s}", "dir", dir, "error", err.msg));
    capsule_free(c);
}

static bool owned_by(const kcapsule *c, const char *owner)
{
    return !owner || strcmp(c->inst->owner, owner) == 0;
}

/* Unload the capsules `owner` owns (NULL: every capsule); the others keep
 * running untouched. */
static void unload_owned(astrid_kernel *k, const char *owner)
{
    if (!owner)
        astrid_capsule_index_clear(k->capsule_index);
    for (size_t i = 0; i < k->ncapsules; i++)
        if (owned_by(k->capsules[i], owner)) {
            if (owner)
                astrid_capsule_index_remove(k->capsule_index, k->capsules[i]->source_id);
            capsule_interrupt(k->capsules[i]);
        }
    size_t keep = 0;
    for (size_t i = 0; i < k->ncapsules; i++)
        if (owned_by(k->capsules[i], owner))
            capsule_free(k->capsules[i]);
        else
            k->capsules[keep++] = k->capsules[i];
    k->ncapsules = keep;
    if (!keep) {
        free(k->capsules);
        k->capsules = NULL;
    }
}

static void unload_all(astrid_kernel *k)
{
    unload_owned(k, NULL);
}

/* Every principal's capsules, then the workspace's (owned by default; a
 * name already loaded from a home is refused with an error). */
static void scan_all(astrid_kernel *k, scan_ctx *s)
{
    astrid_installed_scan(k->home, load_one, s);
    if (k->workspace[0]) {
        char ws[4200];
        snprintf(ws, sizeof ws, "%s/" ASTRID_WORKSPACE_CAPSULES, k->workspace);
        astrid_installed_scan_dir(ws, "default", load_one, s);
    }
}

int astrid_capsules_start(astrid_kernel *k, astrid_err *err)
{
    if (!(k->engine = astrid_capsule_engine_new(k->home, err)))
        return -1;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return astrid_err_set(err, ASTRID_E_INTERNAL, "libcurl failed to initialise");
    astrid_kernel_http_ops(k, &k->http_ops);
    if (!(k->capsule_index = astrid_capsule_index_new(err)))
        return -1;
    if (astrid_kernel_procs_start(k, err) != 0)
        return -1;
    scan_ctx s = {k, NULL};
    scan_all(k, &s);
    return 0;
}

void astrid_capsules_stop(astrid_kernel *k)
{
    unload_all(k);
    astrid_kernel_procs_stop(k);
    astrid_capsule_index_free(k->capsule_index);
    k->capsule_index = NULL;
    astrid_capsule_engine_free(k->engine);
    k->engine = NULL;
    curl_global_cleanup();
}

json_t *astrid_capsules_reload(astrid_kernel *k)
{
    return astrid_capsules_reload_owned(k, NULL);
}

json_t *astrid_capsules_reload_owned(astrid_kernel *k, const char *owner)
{
    unload_owned(k, owner);
    size_t kept = k->ncapsules;
    scan_ctx s = {k, json_array()};
    if (!owner) {
        scan_all(k, &s);
    } else {
        char dir[4200];
        astrid_home_capsules_dir(dir, sizeof dir, k->home, owner, NULL);
        astrid_installed_scan_dir(dir, owner, load_one, &s);
        if (k->workspace[0] && strcmp(owner, "default") == 0) {
            snprintf(dir, sizeof dir, "%s/" ASTRID_WORKSPACE_CAPSULES, k->workspace);
            astrid_installed_scan_dir(dir, "default", load_one, &s);
        }
    }
    json_t *r =
        json_pack("{s:s,s:I}", "status", "reloaded", "loaded", (json_int_t)(k->ncapsules - kept));
    if (json_array_size(s.errors))
        json_object_set_new(r, "errors", s.errors);
    else
        json_decref(s.errors);
    return r;
}

json_t *astrid_capsules_names(astrid_kernel *k)
{
    json_t *a = json_array();
    for (size_t i = 0; i < k->ncapsules; i++)
        json_array_append_new(a, json_string(k->capsules[i]->inst->manifest->name));
    return a;
}

json_t *astrid_capsules_metadata(astrid_kernel *k)
{
    json_t *a = json_array();
    for (size_t i = 0; i < k->ncapsules; i++) {
        kcapsule *c = k->capsules[i];
        const astrid_manifest *m = c->inst->manifest;
        json_t *events = json_array(), *counters = json_array();
        for (size_t j = 0; j < m->ninterceptors; j++)
            json_array_append_new(events, json_string(m->interceptors[j].event));
        pthread_mutex_lock(&c->stats_lock);
        for (size_t j = 0; j < c->ncounters; j++)
            json_array_append_new(counters, json_pack("{s:s,s:I,s:I,s:I}", "principal",
                                                      c->counters[j].principal, "invocations",
                                                      (json_int_t)c->counters[j].invocations,
                                                      "errors", (json_int_t)c->counters[j].errors,
                                                      "denied", (json_int_t)c->counters[j].denied));
        pthread_mutex_unlock(&c->stats_lock);
        int rs = atomic_load(&c->run_state);
        const char *run = rs == RUN_RUNNING ? "running" : rs == RUN_EXITED ? "exited" : "none";
        bool ready = rs == RUN_NONE || (rs == RUN_RUNNING && atomic_load(&c->ready));
        json_t *row = json_pack("{s:s,s:s,s:s,s:o,s:o,s:s,s:b,s:o,s:b}", "name", m->name, "version",
                                m->version, "owner", c->inst->owner, "interceptor_events", events,
                                "principals", counters, "run_loop", run, "ready", ready, "uplinks",
                                kcapsule_uplinks_json(c), "shared", c->shared);
        if (c->mcp)
            json_object_set_new(row, "mcp_servers", kmcp_ps_json(c));
        if (json_array_size(c->topics))
            json_object_set(row, "topics", c->topics);
        json_array_append_new(a, row);
    }
    return a;
}
