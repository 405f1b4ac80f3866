/* The kernel's side of the storage quota: the per-principal accountant
 * (store/storage.h) owned by the kernel struct, measured from the KV store
 * and the principal's home, with max_storage_bytes read from the profile
 * cache at every growing charge (so `quota set` applies without restart).
 * Host functions reach it through the env's storage_charge. Any thread. */
#include "kernel/kernel.h"
#include "store/storage.h"

static int measure(void *ctx, const char *principal, uint64_t *bytes, astrid_err *err)
{
    astrid_kernel *k = ctx;
    return astrid_storage_measure_principal(k->kv, k->home, principal, bytes, err);
}

int astrid_kernel_storage_start(astrid_kernel *k, astrid_err *err)
{
    k->storage = astrid_storage_new(measure, k, err);
    return k->storage ? 0 : -1;
}

int astrid_kernel_storage_charge(void *ctx, const char *principal, int64_t delta, astrid_err *err)
{
    astrid_kernel *k = ctx;
    uint64_t max = UINT64_MAX, ended = 0;
    if (delta > 0) {
        const astrid_profile *prof = astrid_profile_cache_get(k->profiles, principal, err);
        if (!prof)
            return -1; /* no profile, no quota: fail closed */
        max = prof->quotas.max_storage_bytes;
        astrid_profile_release(prof);
    }
    int rc = astrid_storage_charge(k->storage, principal, delta, max, &ended, err);
    if (ended)
        astrid_klog(k, "INFO",
                    "principal %s is writing again within its storage quota; %llu capsule log "
                    "lines were dropped while it was over",
                    principal, (unsigned long long)ended);
    return rc;
}

void astrid_kernel_storage_dropped(void *ctx, const char *principal, const char *capsule)
{
    astrid_kernel *k = ctx;
    if (astrid_storage_note_drop(k->storage, principal) == 1)
        astrid_klog(k, "WARN",
                    "storage quota exceeded for principal %s (max_storage_bytes): dropping its "
                    "capsule log lines (first from %s) until it is under quota",
                    principal, capsule);
}
