/* Run-loop capsules: a capsule whose `run` export is a real loop gets one
 * long-lived instance, created under its owner, on a thread of its own
 * ("capsule run thread", started by capsule/invoke.c: it runs nothing but
 * that guest's `run`, which must loop forever). Its [[interceptor]]s and
 * [subscribe] handlers become runtime-owned subscriptions the guest drains
 * with ipc-recv/ipc-poll (get-interceptor-handles); every drained batch
 * switches the instance to its publisher's principal, admitted by the
 * env's `admit` (capsule/host/ipc_sub.c). The bus never calls it as an
 * interceptor, so chains skip it, as upstream.
 *
 * Here: the policy of it. The loop runs as the owner with the owner's
 * memory quota; `run` has no deadline; unloading stops it
 * (astrid_capsule_run_stop: interrupt, join). */
#include <stdio.h>
#include <string.h>

#include "kernel/capsule_rt.h"

/* On the run thread, when `run` came back. */
static void run_exited(void *user, int rc, bool interrupted, const char *why)
{
    kcapsule *c = user;
    if (!interrupted)
        astrid_klog(c->k, rc ? "ERROR" : "WARN",
                    "capsule %s: WASM run loop exited unexpectedly%s%s", c->inst->manifest->name,
                    rc ? ": " : "", rc ? why : "");
    atomic_store(&c->run_state, RUN_EXITED);
}

int kcapsule_run_start(kcapsule *c, astrid_err *err)
{
    const astrid_profile *prof = astrid_profile_cache_get(c->k->profiles, c->inst->owner, err);
    if (!prof)
        return -1;
    astrid_host_env env;
    kcapsule_env(c, &env);
    astrid_principal_ctx pc = {.principal = c->inst->owner,
                               .max_memory_bytes = prof->quotas.max_memory_bytes,
                               .source_id = c->source_id,
                               .env = &env};
    astrid_profile_release(prof);
    /* before the thread can exit */
    atomic_store(&c->run_state, RUN_RUNNING);
    if (astrid_capsule_run_start(c->cap, &pc, run_exited, c, &c->run, err) != 0) {
        atomic_store(&c->run_state, RUN_NONE);
        return -1;
    }
    return 0;
}

void kcapsule_run_stop(kcapsule *c)
{
    astrid_capsule_run_stop(c->run);
    c->run = NULL;
}
