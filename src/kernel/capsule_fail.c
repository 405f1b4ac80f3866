/* A failed interceptor invocation (a trap: deadline, out-of-bounds access,
 * unreachable, memory limit; or a host error before the guest ran) is
 * answered to the connection that published the triggering message, at
 * once, instead of leaving it to wait out its timeout for a reply that
 * will never come. The answer uses the shape and private topic of a refused
 * publish (docs/wire.md):
 *   astrid.v1.connection.response.publish
 *   {"request_id"?, "status": "error", "topic": "<trigger>", "data": "capsule <name>: <why>"}
 * addressed to that connection alone (Private delivery): no one else, and
 * no capsule or interceptor, sees another principal's failures. Chain
 * workers call this; astrid_kernel_publish_to is thread-safe. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "astrid/jsonsafe.h"
#include "kernel/capsule_rt.h"

#define FAIL_TOPIC "astrid.v1.connection.response.publish"

void kcapsule_report_failure(kcapsule *c, const astrid_msg *msg, const char *why)
{
    astrid_kernel *k = c->k;
    /* The kernel's own messages and a capsule's have no connection to tell;
     * a connection's source UUID is never the kernel's session. */
    if (!msg->source_id[0] || strcmp(msg->source_id, k->session) == 0)
        return;
    json_t *r = json_object();
    if (msg->is_json && msg->len) {
        json_t *req = astrid_json_loadb((const char *)msg->payload, msg->len, 0, NULL);
        json_t *rid = json_object_get(req, "request_id");
        if (json_is_string(rid))
            json_object_set(r, "request_id", rid);
        json_decref(req);
    }
    char data[1200];
    snprintf(data, sizeof data, "capsule %s: %s", c->inst->manifest->name, why);
    json_object_set_new(r, "status", json_string("error"));
    json_object_set_new(r, "topic", json_string(msg->topic));
    json_object_set_new(r, "data", json_string(data));
    astrid_err err;
    if (astrid_kernel_publish_to(k, msg->source_id, NULL, FAIL_TOPIC, r, msg->principal, &err) != 0)
        astrid_klog(k, "WARN", "capsule %s: failure report for %s not sent: %s",
                    c->inst->manifest->name, msg->topic, err.msg);
    json_decref(r);
}
