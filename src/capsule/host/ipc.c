/* interface ipc: publish (and publish-as for uplinks) under the manifest's
 * ACL; subscriptions belong to run loops (unbuilt.c). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/principal.h"
#include "astrid/topic.h"
#include "capsule/host/abi.h"

#define IPC(f) HOST_FN(ipc, f)
#define PAYLOAD_MAX (5u << 20)

static void publish(void *inst, uint32_t tp, uint32_t tn, uint32_t pp, uint32_t pn, const char *as,
                    uint32_t ret)
{
    const astrid_invocation *inv = abi_inv(inst);
    char *topic = abi_str(inst, tp, tn, 256 + 1);
    astrid_err err;
    if (tn > 256) {
        abi_err(inst, ret, 4, "topic longer than 256 bytes");
    } else if (astrid_topic_check(topic, ASTRID_TOPIC_PUBLISH, &err) != 0) {
        abi_err(inst, ret, 4, "%s", err.msg);
    } else if (!astrid_manifest_may_publish(inv->manifest, topic)) {
        abi_err(inst, ret, 4, "capsule %s may not publish to %s (not in its ipc_publish ACL)",
                inv->capsule, topic);
    } else if (pn > PAYLOAD_MAX) {
        abi_err(inst, ret, 4, "Payload too large");
    } else {
        char *payload = abi_str(inst, pp, pn, PAYLOAD_MAX);
        json_error_t je;
        json_t *j = json_loadb(payload, pn, JSON_REJECT_DUPLICATES, &je);
        if (!json_is_object(j))
            abi_err(inst, ret, 4, "payload must be a JSON object");
        else if (inv->env->publish(inv->env->publish_ctx, topic, payload, pn, inv->source_id,
                                   as ? as : inv->principal, &err) != 0)
            abi_err(inst, ret, 4, "%s", err.msg);
        else
            abi_ok(inst, ret, 12);
        json_decref(j);
        free(payload);
    }
    free(topic);
}

void IPC(ipcZ2Dpublish)(void *inst, uint32_t tp, uint32_t tn, uint32_t pp, uint32_t pn,
                        uint32_t ret);
void IPC(ipcZ2Dpublish)(void *inst, uint32_t tp, uint32_t tn, uint32_t pp, uint32_t pn,
                        uint32_t ret)
{
    astrid_wasm_host_enter(inst);
    publish(inst, tp, tn, pp, pn, NULL, ret);
    astrid_wasm_host_leave(inst);
}

/* Only capsules declaring `uplink = true` may speak for another principal:
 * anything else would let a capsule forge its caller. */
void IPC(ipcZ2DpublishZ2Das)(void *inst, uint32_t tp, uint32_t tn, uint32_t pp, uint32_t pn,
                             uint32_t ap, uint32_t an, uint32_t ret);
void IPC(ipcZ2DpublishZ2Das)(void *inst, uint32_t tp, uint32_t tn, uint32_t pp, uint32_t pn,
                             uint32_t ap, uint32_t an, uint32_t ret)
{
    astrid_wasm_host_enter(inst);
    const astrid_invocation *inv = abi_inv(inst);
    char *as = abi_str(inst, ap, an, 4096);
    astrid_err err;
    if (!inv->manifest->uplink)
        abi_err(inst, ret, 4, "capsule %s is not an uplink", inv->capsule);
    else if (astrid_principal_validate(as, &err) != 0)
        abi_err(inst, ret, 4, "%s", err.msg);
    else
        publish(inst, tp, tn, pp, pn, as, ret);
    free(as);
    astrid_wasm_host_leave(inst);
}
