/* kvcount: the KV counter of the fault sweep (tests/fault/sweep.sh). The
 * reply says what the store holds after the call, or the error, so the
 * sweep can compare the counter with the increments that were answered. */
#include <astrid.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long current(char **e, int *ok)
{
    uint8_t *v = NULL;
    size_t len = 0;
    bool found = false;
    *ok = astrid_kv_get("counter", &v, &len, &found, e) == 0;
    long n = 0;
    if (*ok && found && len > 0 && len < 24) {
        char buf[24];
        memcpy(buf, v, len);
        buf[len] = '\0';
        n = strtol(buf, NULL, 10);
    }
    free(v);
    return n;
}

static astrid_action on_count(const astrid_event *ev, astrid_reply *out)
{
    (void)out;
    const char *pl = (const char *)ev->payload;
    char *e = NULL;
    int ok;
    long n = current(&e, &ok);
    if (ok && strstr(pl, "\"incr\"")) {
        char v[24];
        snprintf(v, sizeof v, "%ld", n + 1);
        ok = astrid_kv_set("counter", v, strlen(v), &e) == 0;
        if (ok)
            n++;
    }
    free(e);
    char reply[128];
    if (ok)
        snprintf(reply, sizeof reply, "{\"counter\":%ld}", n);
    else
        snprintf(reply, sizeof reply, "{\"error\":\"kv failed\"}");
    astrid_publish("demo.v1.kvcount.reply", reply, NULL);
    return ASTRID_CONTINUE;
}
ASTRID_INTERCEPTOR("count", on_count)
