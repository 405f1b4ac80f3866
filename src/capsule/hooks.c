/* Lifecycle hooks, run by the installer. See hooks.h. */
#include "capsule/hooks.h"

#include <stdio.h>
#include <string.h>

#include "astrid/profile.h"
#include "astrid/uuid.h"
#include "capsule/host/host.h"
#include "capsule/wasm/wasi.h"
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

static void hook_log(void *user, int fd, const char *data, size_t len)
{
    astrid_capsule_log(user, fd == 2 ? "WARN" : "INFO", data,
                       len && data[len - 1] == '\n' ? len - 1 : len);
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
    snprintf(state, sizeof state, "%s/var/state.db", home);
    astrid_kv *kv = shared_kv;
    if (!kv && astrid_kv_open(&kv, state, 0, err) != 0)
        return -1;
    astrid_host_env env = {.home = home, .kv = kv, .publish = no_bus};
    char uuid[ASTRID_UUID_STR_LEN];
    astrid_uuid_v4(uuid);
    astrid_invocation inv;
    astrid_invocation_init(&inv, &env, m, uuid, principal);
    astrid_wasi_config wc = {.log = hook_log, .log_user = &inv};
    astrid_wasi *w = astrid_wasi_new(&wc, err);
    astrid_wasm_instance *inst = NULL;
    int rc = -1;
    if (!w)
        goto out;
    astrid_wasm_instance_config ic = {.max_memory_bytes = mem, .host_ctx = &inv, .wasi = w};
    if (!(inst = astrid_wasm_instantiate(mod, &ic, NULL, err)))
        goto out;
    if (astrid_wasm_export_sig(mod, "_initialize", &params, &results) == 0 &&
        astrid_wasm_call(inst, "_initialize", NULL, 0, NULL, 0, ASTRID_HOOK_TIMEOUT_MS, NULL,
                         err) != 0)
        goto out;
    if (ran)
        *ran = true;
    astrid_wasm_outcome out = {0};
    if (astrid_wasm_call(inst, hook, NULL, 0, NULL, 0, ASTRID_HOOK_TIMEOUT_MS, &out, err) != 0)
        goto out;
    if (out.trap == ASTRID_WASM_EXITED && out.exit_code != 0) {
        astrid_err_set(err, ASTRID_E_INVALID, "exited with status %d", out.exit_code);
        goto out;
    }
    rc = 0;
out:
    if (rc != 0) {
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err->msg);
        astrid_err_set(err, err->code ? err->code : ASTRID_E_INVALID, "%s: %s hook failed: %s",
                       m->name, hook, why);
    }
    astrid_invocation_release(&inv);
    astrid_wasm_instance_free(inst);
    astrid_wasi_free(w);
    if (kv != shared_kv)
        astrid_kv_close(kv);
    return rc;
}
