/* The per-instance context host functions run under (host.h): set up
 * once per instance, and the storage quota every write is charged to. */
#include <stdio.h>

#include "capsule/host/host.h"

void astrid_invocation_init(astrid_invocation *inv, const astrid_host_env *env,
                            const astrid_manifest *m, const char *source_id, const char *principal)
{
    *inv = (astrid_invocation){.env = env, .manifest = m, .capsule = m->name};
    snprintf(inv->source_id, sizeof inv->source_id, "%s", source_id);
    snprintf(inv->principal, sizeof inv->principal, "%s", principal);
    snprintf(inv->owner, sizeof inv->owner, "%s", principal);
    snprintf(inv->base, sizeof inv->base, "%s", principal);
    inv->net_listener = -1;
    snprintf(inv->kv_ns, sizeof inv->kv_ns, "%s:capsule:%s", principal, m->name);
}

int astrid_invocation_charge(const astrid_invocation *inv, int64_t delta, astrid_err *err)
{
    const astrid_host_env *env = inv->env;
    if (!env->storage_charge)
        return 0; /* delta 0 still goes through: it measures a new principal */
    return env->storage_charge(env->storage_ctx, inv->principal, delta, err);
}

int astrid_invocation_wasi_charge(void *inv, int64_t delta)
{
    return astrid_invocation_charge(inv, delta, NULL);
}
