/* interface ipc, the sending half: publish (and publish-as for uplinks)
 * under the manifest's ACL (receiving: ipc_sub.c). Lifting and lowering
 * are the generated glue's (host_glue.h). */
#include <jansson.h>

#include "astrid/jsonsafe.h"
#include "astrid/principal.h"
#include "astrid/topic.h"
#include "host_glue.h"

#define TOPIC_MAX 256
#define PAYLOAD_MAX (5u << 20)

/* Publish as `as` (NULL: the invoking principal). */
static int publish(astrid_host_call *c, const astrid_str *topic, const astrid_str *payload,
                   const char *as)
{
    const astrid_invocation *inv = c->inv;
    astrid_err err;
    if (topic->len > TOPIC_MAX)
        return astrid_host_fail(c, "topic longer than %d bytes", TOPIC_MAX);
    if (astrid_topic_check(topic->ptr, ASTRID_TOPIC_PUBLISH, &err) != 0)
        return astrid_host_fail(c, "%s", err.msg);
    if (!astrid_manifest_may_publish(inv->manifest, topic->ptr))
        return astrid_host_fail(c, "capsule %s may not publish to %s (not in its ipc_publish ACL)",
                                inv->capsule, topic->ptr);
    if (payload->len > PAYLOAD_MAX)
        return astrid_host_fail(c, "Payload too large");
    json_error_t je;
    json_t *j = astrid_json_loadb(payload->ptr, payload->len, JSON_REJECT_DUPLICATES, &je);
    int rc = 0;
    if (!json_is_object(j))
        rc = astrid_host_fail(c, "payload must be a JSON object");
    else if (inv->env->publish(inv->env->publish_ctx, topic->ptr, payload->ptr, payload->len,
                               inv->source_id, as ? as : inv->principal, &err) != 0)
        rc = astrid_host_fail(c, "%s", err.msg);
    json_decref(j);
    return rc;
}

int astrid_host_ipc_publish(astrid_host_call *c, const astrid_str *topic, const astrid_str *payload)
{
    return publish(c, topic, payload, NULL);
}

/* Only capsules declaring `uplink = true` may speak for another principal:
 * anything else would let a capsule forge its caller. */
int astrid_host_ipc_publish_as(astrid_host_call *c, const astrid_str *topic,
                               const astrid_str *payload, const astrid_str *principal)
{
    astrid_err err;
    if (!c->inv->manifest->uplink)
        return astrid_host_fail(c, "capsule %s is not an uplink", c->inv->capsule);
    if (astrid_principal_validate(principal->ptr, &err) != 0)
        return astrid_host_fail(c, "%s", err.msg);
    return publish(c, topic, payload, principal->ptr);
}
