/* Run-loop capsules: a capsule whose `run` export is a real loop gets one
 * long-lived instance, created under its owner, on a thread of its own
 * ("capsule run thread": it runs nothing but that guest's `run`, which
 * must loop forever). Its [[interceptor]]s and [subscribe] handlers become
 * runtime-owned subscriptions the guest drains with ipc-recv/ipc-poll
 * (get-interceptor-handles); every drained batch switches the instance to
 * its publisher's principal (capsule/host/ipc_sub.c). The bus never calls
 * it as an interceptor, so chains skip it, as upstream.
 *
 * `run` has no deadline; unloading interrupts it through the engine (a
 * computing guest is signalled, one blocked in ipc-recv notices within
 * 100 ms) and joins the thread. */
#include <stdio.h>
#include <string.h>

#include "kernel/capsule_rt.h"

#define RUN_STACK (8u << 20)
#define INIT_TIMEOUT_MS 10000

bool kcapsule_is_run_loop(const astrid_wasm_module *mod)
{
    uint32_t run, other;
    const char *params, *results;
    if (astrid_wasm_export_func_index(mod, "run", &run) != 0 ||
        astrid_wasm_export_sig(mod, "run", &params, &results) != 0 || *params || *results)
        return false;
    static const char *const hooks[] = {"astrid-install", "astrid-upgrade"};
    for (size_t i = 0; i < 2; i++)
        if (astrid_wasm_export_func_index(mod, hooks[i], &other) == 0 && other == run)
            return false;
    return true;
}

static void run_log(void *user, int fd, const char *data, size_t len)
{
    astrid_capsule_log(user, fd == 2 ? "WARN" : "INFO", data,
                       len && data[len - 1] == '\n' ? len - 1 : len);
}

static void *run_main(void *arg)
{
    kcapsule *c = arg;
    astrid_wasm_outcome out = {0};
    astrid_err err;
    int rc =
        astrid_wasm_call(c->run_inst, "run", NULL, 0, NULL, 0, ASTRID_WASM_FOREVER, &out, &err);
    if (!astrid_wasm_instance_interrupted(c->run_inst))
        astrid_klog(c->k, rc ? "ERROR" : "WARN",
                    "capsule %s: WASM run loop exited unexpectedly%s%s", c->inst.manifest->name,
                    rc ? ": " : "", rc ? err.msg : "");
    atomic_store(&c->run_state, RUN_EXITED);
    return NULL;
}

int kcapsule_run_start(kcapsule *c, astrid_err *err)
{
    const astrid_manifest *m = c->inst.manifest;
    if (m->ninterceptors > ASTRID_MAX_INTERCEPTOR_HANDLES)
        return astrid_err_set(err, ASTRID_E_LIMIT,
                              "run-loop capsule %s declares %zu interceptors (at most %d)", m->name,
                              m->ninterceptors, ASTRID_MAX_INTERCEPTOR_HANDLES);
    const astrid_profile *prof = astrid_profile_cache_get(c->k->profiles, c->inst.owner, err);
    if (!prof)
        return -1;
    uint64_t mem = prof->quotas.max_memory_bytes;
    astrid_profile_release(prof);
    kcapsule_env(c, &c->run_env);
    astrid_invocation_init(&c->run_inv, &c->run_env, m, c->source_id, c->inst.owner);
    astrid_wasi_config wc = {.log = run_log,
                             .log_user = &c->run_inv,
                             .charge = astrid_invocation_wasi_charge,
                             .charge_user = &c->run_inv};
    if (!(c->run_wasi = astrid_wasi_new(&wc, err)))
        return -1;
    astrid_wasm_instance_config ic = {
        .max_memory_bytes = mem, .host_ctx = &c->run_inv, .wasi = c->run_wasi};
    if (!(c->run_inst = astrid_wasm_instantiate(c->mod, &ic, NULL, err)))
        return -1;
    const char *params, *results;
    if (astrid_wasm_export_sig(c->mod, "_initialize", &params, &results) == 0 &&
        astrid_wasm_call(c->run_inst, "_initialize", NULL, 0, NULL, 0, INIT_TIMEOUT_MS, NULL,
                         err) != 0)
        return -1;
    for (size_t i = 0; i < m->ninterceptors; i++) {
        uint64_t h;
        if (astrid_invocation_subscribe(&c->run_inv, m->interceptors[i].event,
                                        m->interceptors[i].action, true, &h, err) != 0)
            return -1;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, RUN_STACK);
    atomic_store(&c->run_state, RUN_RUNNING);
    int rc = pthread_create(&c->run_thread, &attr, run_main, c);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        atomic_store(&c->run_state, RUN_NONE);
        return astrid_err_set(err, ASTRID_E_IO, "cannot start the run thread of %s", m->name);
    }
    c->run_started = true;
    return 0;
}

void kcapsule_run_stop(kcapsule *c)
{
    if (c->run_started) {
        astrid_wasm_instance_interrupt(c->run_inst);
        pthread_join(c->run_thread, NULL);
        c->run_started = false;
    }
    if (c->run_inst || c->run_wasi) {
        astrid_invocation_release(&c->run_inv);
        astrid_wasm_instance_free(c->run_inst);
        astrid_wasi_free(c->run_wasi);
        c->run_inst = NULL;
        c->run_wasi = NULL;
    }
}
