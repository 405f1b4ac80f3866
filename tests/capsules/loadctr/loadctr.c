/* loadctr: the capsule bench/loadgen drives. A message on demo.v1.loadctr
 * {"op":"inc"|"get","key":K,"reply":"demo.v1.loadctr.reply.<client>",
 *  "request_id":R} increments (inc) or reads (get) the KV counter K of the
 * invoking agent and answers {"request_id":R,"key":K,"value":N} on `reply`
 * (a per-client topic, so 100 clients do not each receive every answer).
 * An inc is a read-modify-write: a lost increment under concurrency shows
 * as a counter below the number of increments the clients saw answered. */
#include <astrid.h>
#include <astrid_json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static astrid_action on_run(const astrid_event *ev, astrid_reply *out)
{
    char *err = NULL;
    astrid_json *req = astrid_json_parse((const char *)ev->payload, ev->len, &err);
    const char *op = astrid_json_get_str(req, "op");
    const char *key = astrid_json_get_str(req, "key");
    const char *reply = astrid_json_get_str(req, "reply");
    const char *rid = astrid_json_get_str(req, "request_id");
    if (!op || !key || !reply || !rid || strncmp(reply, "demo.v1.loadctr.reply.", 22) != 0 ||
        strlen(key) > 64) {
        astrid_reply_set(out,
                         err ? err : "loadctr: needs op, key (<= 64 bytes), reply, request_id");
        free(err);
        astrid_json_free(req);
        return ASTRID_DENY;
    }
    char kv[80];
    snprintf(kv, sizeof kv, "ctr.%s", key);
    uint8_t *val = NULL;
    size_t len = 0;
    bool found = false;
    long long n = 0;
    if (astrid_kv_get(kv, &val, &len, &found, &err) != 0)
        goto fail;
    if (found) {
        char num[32] = {0};
        memcpy(num, val, len < sizeof num - 1 ? len : sizeof num - 1);
        n = strtoll(num, NULL, 10);
    }
    free(val);
    if (strcmp(op, "inc") == 0) {
        char buf[32];
        int bl = snprintf(buf, sizeof buf, "%lld", ++n);
        if (astrid_kv_set(kv, buf, (size_t)bl, &err) != 0)
            goto fail;
    }
    astrid_json *ans = astrid_json_object();
    astrid_json_set_str(ans, "request_id", rid);
    astrid_json_set_str(ans, "key", key);
    astrid_json_set_int(ans, "value", n);
    char *text = astrid_json_dump(ans);
    astrid_json_free(ans);
    int rc = text ? astrid_publish(reply, text, &err) : -1;
    free(text);
    if (rc != 0)
        goto fail;
    astrid_json_free(req);
    return ASTRID_CONTINUE;
fail:
    astrid_logf(ASTRID_LOG_ERROR, "loadctr: %s", err ? err : "out of memory");
    astrid_reply_set(out, err ? err : "out of memory");
    free(err);
    astrid_json_free(req);
    return ASTRID_DENY;
}
ASTRID_INTERCEPTOR("run", on_run)
