/* kv-counter: each demo.v1.count message increments "count" in the
 * invoking agent's KV (so two agents keep two counts) and the new value is
 * published on demo.v1.count.reply as {"count": N, "principal": P}. */
#include <astrid.h>
#include <stdio.h>
#include <stdlib.h>

static astrid_action on_count(const astrid_event *ev, astrid_reply *out)
{
    (void)ev;
    uint8_t *val = NULL;
    size_t len = 0;
    bool found = false;
    char *err = NULL;
    if (astrid_kv_get("count", &val, &len, &found, &err) != 0)
        goto fail;
    unsigned long n = found ? strtoul((const char *)val, NULL, 10) + 1 : 1;
    free(val);
    char buf[32];
    int bl = snprintf(buf, sizeof buf, "%lu", n);
    if (astrid_kv_set("count", buf, (size_t)bl, &err) != 0)
        goto fail;
    astrid_caller who = {0};
    char *cerr = NULL;
    if (astrid_get_caller(&who, &cerr) != 0)
        free(cerr);
    char reply[256];
    snprintf(reply, sizeof reply, "{\"count\":%lu,\"principal\":\"%s\"}", n,
             who.principal ? who.principal : "");
    astrid_caller_free(&who);
    if (astrid_publish("demo.v1.count.reply", reply, &err) != 0)
        goto fail;
    astrid_reply_set(out, reply);
    return ASTRID_CONTINUE;
fail:
    astrid_logf(ASTRID_LOG_ERROR, "kv-counter: %s", err);
    astrid_reply_set(out, err);
    free(err);
    return ASTRID_DENY;
}
ASTRID_INTERCEPTOR("count", on_count)
