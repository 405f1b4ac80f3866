/* The capsule runtime inside the daemon: load every installed capsule
 * (integrity-checked, compiled ahead of time through the engine), register
 * its [[interceptor]]s on the bus, and run each matching message in a fresh
 * instance under the publisher's principal (Layer 3: profile exists and is
 * enabled, home on disk; memory cap and deadline from its quotas; its KV
 * namespace, log and secrets). Handlers run on the chain workers
 * (dispatch.c), never on the loop thread.
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

#include "kernel/capsule_lookup.h"
#include "astrid/home.h"
#include "kernel/capsule_rt.h"
#include "kernel/capsules.h"
#include "kernel/kernel.h"

static int env_publish(void *ctx, const char *topic, const char *payload, size_t len,
                       const char *source_id, const char *principal, astrid_err *err)
{
    return astrid_kernel_bus_publish(ctx, topic, payload, len, source_id, principal,
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
        astrid_klog(c->k, "INFO", "capsule %s is ready", c->inst.manifest->name);
}

void kcapsule_env(kcapsule *c, astrid_host_env *env)
{
    astrid_kernel *k = c->k;
    *env = (astrid_host_env){.home = k->home,
                             .workspace = k->workspace,
                             .kv = k->kv,
                             .publish = env_publish,
                             .publish_ctx = k,
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
                             .storage_ctx = k};
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

static void wasi_log(void *user, int fd, const char *data, size_t len)
{
    astrid_capsule_log(user, fd == 2 ? "WARN" : "INFO", data,
                       len && data[len - 1] == '\n' ? len - 1 : len);
}

/* Allocate `len` bytes in the guest and copy `data` there; 0 on failure. */
static uint32_t guest_copy(astrid_wasm_instance *inst, const void *data, size_t len,
                           astrid_err *err)
{
    uint64_t a[4] = {0, 0, 1, len}, r[1] = {0};
    if (astrid_wasm_call(inst, "cabi_realloc", a, 4, r, 1, 10000, NULL, err) != 0)
        return 0;
    uint8_t *g = len ? astrid_wasm_mem(inst, (uint32_t)r[0], (uint32_t)len) : NULL;
    if (len && !g) {
        astrid_err_set(err, ASTRID_E_INVALID, "cabi_realloc returned an invalid pointer");
        return 0;
    }
    if (len)
        memcpy(g, data, len);
    return (uint32_t)r[0];
}

static char *guest_string(astrid_wasm_instance *inst, uint32_t p, uint32_t n)
{
    const uint8_t *g = n ? astrid_wasm_mem(inst, p, n) : (const uint8_t *)"";
    if (!g || n > (5u << 20))
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (s) {
        memcpy(s, g, n);
        s[n] = '\0';
    }
    return s;
}

static void active_add(kcapsule *c, astrid_wasm_instance *inst)
{
    pthread_mutex_lock(&c->active_lock);
    if (c->nactive < KCAPSULE_MAX_ACTIVE)
        c->active[c->nactive++] = inst;
    /* registered after an unload began: stop at once */
    if (atomic_load(&c->unloading))
        astrid_wasm_instance_interrupt(inst);
    pthread_mutex_unlock(&c->active_lock);
}

static void active_remove(kcapsule *c, astrid_wasm_instance *inst)
{
    pthread_mutex_lock(&c->active_lock);
    for (size_t i = 0; i < c->nactive; i++)
        if (c->active[i] == inst) {
            c->active[i] = c->active[--c->nactive];
            break;
        }
    pthread_mutex_unlock(&c->active_lock);
}

/* One invocation of astrid-hook-trigger in a fresh instance. */
static int invoke(kcapsule *c, const char *principal, const astrid_msg *msg, const char *action,
                  const uint8_t *payload, size_t len, astrid_icpt_result *out, astrid_err *err)
{
    astrid_kernel *k = c->k;
    const astrid_profile *prof = astrid_profile_cache_get(k->profiles, principal, err);
    if (!prof)
        return -1;
    uint64_t mem = prof->quotas.max_memory_bytes;
    uint64_t timeout_ms = prof->quotas.max_timeout_secs * 1000u;
    astrid_profile_release(prof);
    astrid_host_env env;
    kcapsule_env(c, &env);
    astrid_invocation inv;
    astrid_invocation_init(&inv, &env, c->inst.manifest, c->source_id, principal);
    snprintf(inv.owner, sizeof inv.owner, "%s", c->inst.owner);
    if (msg) /* the triggering message is the caller (same as a run loop's recv) */
        astrid_invocation_switch(&inv, principal, msg);
    astrid_wasi_config wc = {.log = wasi_log,
                             .log_user = &inv,
                             .charge = astrid_invocation_wasi_charge,
                             .charge_user = &inv};
    astrid_wasi *w = astrid_wasi_new(&wc, err);
    if (!w)
        return -1;
    astrid_wasm_instance_config ic = {.max_memory_bytes = mem, .host_ctx = &inv, .wasi = w};
    astrid_wasm_instance *inst = astrid_wasm_instantiate(c->mod, &ic, NULL, err);
    int rc = -1;
    if (!inst)
        goto done;
    active_add(c, inst);
    const char *params, *results;
    if (astrid_wasm_export_sig(c->mod, "_initialize", &params, &results) == 0 &&
        astrid_wasm_call(inst, "_initialize", NULL, 0, NULL, 0, timeout_ms, NULL, err) != 0)
        goto done;
    uint64_t a[4] = {0, strlen(action), 0, len}, r[1] = {0};
    if (!(a[0] = guest_copy(inst, action, a[1], err)) ||
        (len && !(a[2] = guest_copy(inst, payload, len, err))))
        goto done;
    if (astrid_wasm_call(inst, "astrid-hook-trigger", a, 4, r, 1, timeout_ms, NULL, err) != 0)
        goto done;
    const uint8_t *cr = astrid_wasm_mem(inst, (uint32_t)r[0], 20);
    if (!cr) {
        astrid_err_set(err, ASTRID_E_INVALID, "capsule-result out of bounds");
        goto done;
    }
    uint32_t f[5];
    memcpy(f, cr, 8);
    memcpy(&f[2], cr + 12, 8);
    bool has_data = cr[8] != 0;
    char *act = guest_string(inst, f[0], f[1]);
    char *data = has_data ? guest_string(inst, f[2], f[3]) : NULL;
    uint64_t post[1] = {r[0]};
    astrid_err perr;
    if (astrid_wasm_export_sig(c->mod, "cabi_post_astrid-hook-trigger", &params, &results) == 0)
        astrid_wasm_call(inst, "cabi_post_astrid-hook-trigger", post, 1, NULL, 0, 10000, NULL,
                         &perr);
    if (!act) {
        astrid_err_set(err, ASTRID_E_INVALID, "capsule-result action out of bounds");
        free(data);
        goto done;
    }
    if (strcmp(act, "deny") == 0) {
        out->action = ASTRID_ICPT_DENY;
        out->reason = data ? data : strdup("denied by capsule");
        data = NULL;
    } else {
        out->action = strcmp(act, "final") == 0 ? ASTRID_ICPT_FINAL : ASTRID_ICPT_CONTINUE;
        if (data) {
            out->data = (uint8_t *)data;
            out->len = strlen(data);
            data = NULL;
        }
    }
    free(act);
    free(data);
    rc = 0;
done:
    if (inst)
        active_remove(c, inst);
    astrid_invocation_release(&inv);
    astrid_wasm_instance_free(inst);
    astrid_wasi_free(w);
    return rc;
}

int kcapsule_admit(kcapsule *c, const char *principal, char *reason, size_t n)
{
    char home[4200];
    astrid_principal_home(home, sizeof home, c->k->home, principal, NULL);
    struct stat st;
    if (astrid_principal_admissible(c->k, principal, reason, n) != 0 ||
        (stat(home, &st) != 0 &&
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
    const char *principal = msg->principal ? msg->principal : c->inst.owner;
    char reason[512];
    /* Layer 3 before any guest code: a phantom or disabled principal is
     * refused, never mapped to the owner. */
    if (kcapsule_admit(c, principal, reason, sizeof reason) != 0) {
        out->action = ASTRID_ICPT_DENY;
        out->reason = strdup(reason);
        astrid_klog(k, "INFO", "capsule %s: %s on %s refused: %s", c->inst.manifest->name,
                    c->inst.manifest->interceptors[ic->index].action, msg->topic, reason);
        return 0;
    }
    astrid_err err;
    int rc = invoke(c, principal, msg, c->inst.manifest->interceptors[ic->index].action, payload,
                    len, out, &err);
    kcapsule_count(c, principal, rc != 0, rc == 0 && out->action == ASTRID_ICPT_DENY);
    if (rc != 0) {
        astrid_klog(k, "WARN", "capsule %s (%s for %s): %s", c->inst.manifest->name,
                    c->inst.manifest->interceptors[ic->index].action, principal, err.msg);
        kcapsule_report_failure(c, msg, err.msg);
    }
    return rc;
}

/* Stop new invocations and interrupt running ones, so unregistering (which
 * waits for every running chain, of any capsule) does not wait out a
 * guest's timeout. */
static void capsule_interrupt(kcapsule *c)
{
    pthread_mutex_lock(&c->active_lock);
    if (!atomic_exchange(&c->unloading, true) && c->nactive)
        astrid_klog(c->k, "INFO", "capsule %s unloading: %zu running invocation(s) interrupted",
                    c->inst.manifest->name, c->nactive);
    for (size_t i = 0; i < c->nactive; i++)
        astrid_wasm_instance_interrupt(c->active[i]);
    pthread_mutex_unlock(&c->active_lock);
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
    astrid_wasm_module_free(c->mod);
    astrid_installed_free(&c->inst);
    kcapsule_uplinks_free(c);
    pthread_mutex_destroy(&c->stats_lock);
    pthread_mutex_destroy(&c->uplinks_lock);
    pthread_mutex_destroy(&c->active_lock);
    free(c->icpt);
    free(c->icpt_ids);
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
    pthread_mutex_init(&c->active_lock, NULL);
    astrid_uuid_v4(c->source_id);
    if (astrid_installed_load(k->home, owner, dir, &c->inst, &err) != 0)
        goto fail;
    for (size_t i = 0; i < k->ncapsules; i++)
        if (strcmp(k->capsules[i]->inst.manifest->name, c->inst.manifest->name) == 0) {
            astrid_err_set(&err, ASTRID_E_EXISTS, "capsule %s is already loaded from %s",
                           c->inst.manifest->name, k->capsules[i]->inst.dir);
            goto fail;
        }
    if (kcapsule_owner_check(c, &err) != 0)
        goto fail;
    if (!(c->mod =
              astrid_wasm_module_load(k->engine, c->inst.wasm, c->inst.wasm_len, NULL, NULL, &err)))
        goto fail;
    const char *params, *results;
    c->run_loop = kcapsule_is_run_loop(c->mod);
    if (c->run_loop) {
        if (kcapsule_run_start(c, &err) != 0)
            goto fail;
        goto loaded;
    }
    if (astrid_wasm_export_sig(c->mod, "astrid-hook-trigger", &params, &results) != 0 &&
        c->inst.manifest->ninterceptors > 0) {
        astrid_err_set(&err, ASTRID_E_INVALID,
                       "capsule %s declares interceptors but exports no astrid-hook-trigger",
                       c->inst.manifest->name);
        goto fail;
    }
    c->nicpt = c->inst.manifest->ninterceptors;
    c->icpt = calloc(c->nicpt ? c->nicpt : 1, sizeof *c->icpt);
    c->icpt_ids = calloc(c->nicpt ? c->nicpt : 1, sizeof *c->icpt_ids);
    if (!c->icpt || !c->icpt_ids) {
        astrid_err_set(&err, ASTRID_E_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < c->nicpt; i++) {
        c->icpt[i] = (icpt_ctx){c, i};
        const astrid_manifest_interceptor *mi = &c->inst.manifest->interceptors[i];
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
    if (astrid_capsule_index_add(k->capsule_index, c->source_id, c->inst.manifest, &err) != 0)
        astrid_klog(k, "WARN", "capsule %s: not in the UUID index: %s", c->inst.manifest->name,
                    err.msg);
    astrid_klog(k, "INFO", "capsule %s %s loaded from %s (%zu interceptors%s)",
                c->inst.manifest->name, c->inst.manifest->version, dir,
                c->run_loop ? c->inst.manifest->ninterceptors : c->nicpt,
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
    return !owner || strcmp(c->inst.owner, owner) == 0;
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
    size_t n = astrid_capsule_host_nmodules;
    if (n + 1 > sizeof k->host_modules / sizeof k->host_modules[0])
        return astrid_err_set(err, ASTRID_E_INTERNAL, "host module table too small");
    memcpy(k->host_modules, astrid_capsule_host_modules, n * sizeof *k->host_modules);
    k->host_modules[n] = astrid_wasi_host_module;
    char cache[4200];
    if (astrid_home_aot_dir(cache, sizeof cache, k->home, err) != 0)
        return -1;
    astrid_wasm_engine_config cfg = {
        .cache_dir = cache, .host_modules = k->host_modules, .nhost_modules = n + 1};
    if (!(k->engine = astrid_wasm_engine_new(&cfg, err)))
        return -1;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return astrid_err_set(err, ASTRID_E_INTERNAL, "libcurl failed to initialise");
    astrid_kernel_http_ops(k, &k->http_ops);
    if (!(k->capsule_index = astrid_capsule_index_new(err)))
        return -1;
    scan_ctx s = {k, NULL};
    scan_all(k, &s);
    return 0;
}

void astrid_capsules_stop(astrid_kernel *k)
{
    unload_all(k);
    astrid_capsule_index_free(k->capsule_index);
    k->capsule_index = NULL;
    astrid_wasm_engine_free(k->engine);
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
        json_array_append_new(a, json_string(k->capsules[i]->inst.manifest->name));
    return a;
}

json_t *astrid_capsules_metadata(astrid_kernel *k)
{
    json_t *a = json_array();
    for (size_t i = 0; i < k->ncapsules; i++) {
        kcapsule *c = k->capsules[i];
        const astrid_manifest *m = c->inst.manifest;
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
        json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:o,s:o,s:s,s:b,s:o,s:b}", "name", m->name,
                                           "version", m->version, "owner", c->inst.owner,
                                           "interceptor_events", events, "principals", counters,
                                           "run_loop", run, "ready", ready, "uplinks",
                                           kcapsule_uplinks_json(c), "shared", c->shared));
    }
    return a;
}
