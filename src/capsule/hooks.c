/* Lifecycle hooks, run by the installer. See hooks.h. */
#include "capsule/hooks.h"

#include <stdio.h>
#include <string.h>

#include "astrid/home.h"
#include "astrid/profile.h"
#include "astrid/uuid.h"
#include "capsule/invoke.h"
#include "store/kv.h"

static int no_bus(void *ctx, const char *topic, const char *payload, size_t len,
                  const char *source_id, const char *principal, astrid_err *err)
{
    (void)ctx, (void)payload, (void)len, (void)source_id, (void)principal;
    return astrid_err_set(err, ASTRID_E_UNSUPPORTED,
                          "ipc: no bus during a lifecycle hook (it runs before the capsule is "
                          "loaded); %s not published",
                          topic);
}

int astrid_capsule_run_hook(const char *home, astrid_kv *shared_kv, astrid_wasm_module *mod,
                            const astrid_manifest *m, const char *principal, bool upgrade,
                            bool *ran, astrid_err *err)
{
    const char *hook = upgrade ? "astrid-upgrade" : "astrid-install";
    const char *params, *results;
    if (ran)
        *ran = false;
    if (astrid_wasm_export_sig(mod, hook, &params, &results) != 0)
        return 0;
    if (*params || *results)
        return astrid_err_set(err, ASTRID_E_INVALID,
                              "%s: the %s export must take and return "
                              "nothing",
                              m->name, hook);
    astrid_err e2;
    astrid_profile *prof = astrid_profile_load(home, principal, &e2);
    uint64_t mem = prof ? prof->quotas.max_memory_bytes : ASTRID_QUOTA_DEFAULT_MEMORY;
    astrid_profile_release(prof);
    char state[4200];
    astrid_kv *kv = shared_kv;
    if (!kv && (astrid_home_state_db(state, sizeof state, home, err) != 0 ||
                astrid_kv_open(&kv, state, 0, err) != 0))
        return -1;
    astrid_host_env env = {.home = home, .kv = kv, .publish = no_bus};
    char uuid[ASTRID_UUID_STR_LEN];
    astrid_uuid_v4(uuid);
    astrid_principal_ctx pc = {.principal = principal,
                               .max_memory_bytes = mem,
                               .timeout_ms = ASTRID_HOOK_TIMEOUT_MS,
                               .source_id = uuid,
                               .env = &env};
    int rc = astrid_capsule_call_lifecycle(mod, m, &pc, hook, ran, err);
    if (rc != 0) {
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err->msg);
        astrid_err_set(err, err->code ? err->code : ASTRID_E_INVALID, "%s: %s hook failed: %s",
                       m->name, hook, why);
    }
    if (kv != shared_kv)
        astrid_kv_close(kv);
    return rc;
}
