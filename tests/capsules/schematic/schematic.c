/* schematic (test capsule with topic schemas; code is echo's): every demo.v1.echo message comes back on demo.v1.echo.reply, and
 * is also its answer (what trigger-hook collects). */
#include <astrid.h>
#include <stdlib.h>

static astrid_action on_echo(const astrid_event *ev, astrid_reply *out)
{
    char *err = NULL;
    if (astrid_publish("demo.v1.echo.reply", (const char *)ev->payload, &err) != 0) {
        astrid_logf(ASTRID_LOG_ERROR, "echo: publish failed: %s", err);
        astrid_reply_set(out, err);
        free(err);
        return ASTRID_DENY;
    }
    astrid_logf(ASTRID_LOG_INFO, "echoed %zu bytes", ev->len);
    astrid_reply_set(out, (const char *)ev->payload);
    return ASTRID_CONTINUE;
}
ASTRID_INTERCEPTOR("echo", on_echo)
