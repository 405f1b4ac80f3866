/* stubrun: exports `run` as an alias of `astrid-install` (what some
 * toolchains emit for a capsule without a loop). The daemon must treat it
 * as an interceptor capsule, so demo.v1.stub is answered. */
#include <astrid.h>

__attribute__((export_name("astrid-install"))) void install_hook(void);
void install_hook(void)
{
    astrid_log(ASTRID_LOG_INFO, "install hook");
}
__attribute__((export_name("run"))) void run_alias(void) __attribute__((alias("install_hook")));

static astrid_action on_stub(const astrid_event *ev, astrid_reply *out)
{
    (void)ev;
    astrid_publish("demo.v1.stub.reply", "{\"stub\":\"answered\"}", NULL);
    astrid_reply_set(out, "{\"stub\":\"answered\"}");
    return ASTRID_CONTINUE;
}
ASTRID_INTERCEPTOR("stub", on_stub)
