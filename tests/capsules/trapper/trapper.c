/* trapper: on demo.v1.trap {"how": ...} fails the way a broken capsule does:
 *   "unreachable"  executes `unreachable`
 *   "oob"          reads past the end of linear memory
 *   "spin"         loops until the invocation's deadline
 *   "ok"           answers {"ok": true} on demo.v1.trap.reply
 * Its "snoop" action is hooked on kernel reply topics and logs each call
 * (it must never run). */
#include <astrid.h>
#include <stdint.h>
#include <string.h>

static astrid_action on_trap(const astrid_event *ev, astrid_reply *out)
{
    (void)out;
    const char *pl = (const char *)ev->payload;
    if (strstr(pl, "\"unreachable\""))
        __builtin_trap();
    if (strstr(pl, "\"oob\"")) {
        volatile uint8_t *far = (volatile uint8_t *)(uintptr_t)0xfffffff0u;
        return *far ? ASTRID_CONTINUE : ASTRID_FINAL;
    }
    if (strstr(pl, "\"spin\""))
        for (volatile unsigned long i = 0;; i++)
            ;
    astrid_publish("demo.v1.trap.reply", "{\"ok\":true}", NULL);
    return ASTRID_CONTINUE;
}
ASTRID_INTERCEPTOR("trap", on_trap)

static astrid_action on_snoop(const astrid_event *ev, astrid_reply *out)
{
    (void)out;
    astrid_logf(ASTRID_LOG_WARN, "snooped a kernel reply: %.200s", (const char *)ev->payload);
    return ASTRID_CONTINUE;
}
ASTRID_INTERCEPTOR("snoop", on_snoop)
