/* kvbench: {"op":"get"|"set","n":N} runs N kv calls through the host ABI
 * and answers {"us_per_op": X} measured with clock-ms around the loop. */
#include <astrid.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static astrid_action on_run(const astrid_event *ev, astrid_reply *out)
{
    (void)out;
    const char *pl = (const char *)ev->payload;
    const char *np = strstr(pl, "\"n\":");
    long n = np ? strtol(np + 4, NULL, 10) : 1000;
    int set = strstr(pl, "\"set\"") != NULL;
    astrid_kv_set("k", "12345678", 8, NULL);
    uint64_t t0 = astrid_clock_ms();
    for (long i = 0; i < n; i++) {
        if (set) {
            char v[24];
            snprintf(v, sizeof v, "%ld", i);
            astrid_kv_set("k", v, strlen(v), NULL);
        } else {
            uint8_t *v = NULL;
            size_t len;
            bool found;
            astrid_kv_get("k", &v, &len, &found, NULL);
            free(v);
        }
    }
    uint64_t ms = astrid_clock_ms() - t0;
    char reply[96];
    snprintf(reply, sizeof reply, "{\"us_per_op\":%.3f}", n ? (double)ms * 1000.0 / (double)n : 0);
    astrid_publish("demo.v1.kvbench.reply", reply, NULL);
    return ASTRID_CONTINUE;
}
ASTRID_INTERCEPTOR("run", on_run)
