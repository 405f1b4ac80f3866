/* Loop run and graceful shutdown. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel/capsules.h"
#include "kernel/fed_policy.h"
#include "kernel/fed_trust.h"
#include "kernel/federation.h"
#include "kernel/gate.h"
#include "kernel/kernel.h"
#include "kernel/req_capsule.h"
#include "lib/config/config.h"
#include "store/storage.h"
#include "store/kv.h"
#include "vfs/overlay.h"

static void on_stop_timer(uv_timer_t *t)
{
    astrid_kernel *k = t->data;
    astrid_capsule_jobs_stop(k);
    astrid_server_close_all(k);
    uv_close((uv_handle_t *)t, NULL);
}

void astrid_kernel_request_shutdown(astrid_kernel *k, const char *reason)
{
    if (k->stopping)
        return;
    k->stopping = true;
    astrid_klog(k, "INFO", "shutting down: %s", reason);
    /* Remove the files first so no new client picks this daemon while the
     * replies already queued are flushed. */
    unlink(k->ready_path);
    unlink(k->sock_path);
    unlink(k->agents_sock_path);
    astrid_kernel_retire_token(k);
    uv_timer_init(k->loop, &k->stop_timer);
    k->stop_timer.data = k;
    uv_timer_start(&k->stop_timer, on_stop_timer, 50, 0);
}

int astrid_kernel_run(astrid_kernel *k)
{
    uv_run(k->loop, UV_RUN_DEFAULT);
    uv_loop_close(k->loop);
    astrid_fed_policy_stop(k); /* uses the bridge's connection */
    astrid_fed_stop(k);        /* no import may reach the bus once it stops */
    astrid_gate_cancel_all(k); /* waiting prompts deny, so capsules stop */
    astrid_capsules_stop(k);   /* unregisters interceptors: before the bus goes */
    astrid_kernel_bus_stop(k);
    astrid_klog(k, "INFO", "stopped");
    astrid_audit_close(k->audit);
    astrid_gate_free(k); /* before the KV store its tokens live in */
    astrid_kv_close(k->kv);
    astrid_storage_free(k->storage);
    astrid_overlay_registry_free(k->overlays);
    k->overlays = NULL;
    astrid_keypair_wipe(&k->key);
    astrid_profile_cache_free(k->profiles);
    astrid_group_swap_free(k->groups);
    astrid_kernel_trust_stop(k);
    if (k->lock_fd >= 0)
        close(k->lock_fd);
    if (k->log)
        fclose(k->log);
    astrid_config_free(k->config);
    k->config = NULL;
    return 0;
}
