/* hooked: its lifecycle hooks record the phase in KV ("install" count,
 * "upgrade" count) and log it; on demo.v1.hooked it answers both counts.
 * The upgrade hook fails (traps) while home://hook-fail exists, to show a
 * failing hook leaves the previous install in place. */
#include <astrid.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((import_module("astrid:capsule/fs@0.1.0"), import_name("fs-exists"))) extern void
fs_exists(const char *p, size_t pn, void *ret);

static long get(const char *key)
{
    uint8_t *v = NULL;
    size_t len = 0;
    bool found = false;
    long n = 0;
    if (astrid_kv_get(key, &v, &len, &found, NULL) == 0 && found)
        n = strtol((const char *)v, NULL, 10);
    free(v);
    return n;
}

static long bump(const char *key)
{
    long n = get(key) + 1;
    char buf[32];
    snprintf(buf, sizeof buf, "%ld", n);
    astrid_kv_set(key, buf, strlen(buf), NULL);
    return n;
}

__attribute__((export_name("astrid-install"))) void on_install(void);
void on_install(void)
{
    astrid_logf(ASTRID_LOG_INFO, "install hook #%ld", bump("install"));
}

__attribute__((export_name("astrid-upgrade"))) void on_upgrade(void);
void on_upgrade(void)
{
    _Alignas(8) unsigned char ret[16];
    const char *f = "home://hook-fail";
    fs_exists(f, strlen(f), ret);
    if (ret[0] == 0 && ret[4]) {
        astrid_log(ASTRID_LOG_ERROR, "upgrade hook refusing: hook-fail is set");
        __builtin_trap();
    }
    astrid_logf(ASTRID_LOG_INFO, "upgrade hook #%ld", bump("upgrade"));
}

static astrid_action on_phase(const astrid_event *ev, astrid_reply *out)
{
    (void)ev;
    char buf[128];
    snprintf(buf, sizeof buf, "{\"install\":%ld,\"upgrade\":%ld}", get("install"), get("upgrade"));
    astrid_publish("demo.v1.hooked.reply", buf, NULL);
    astrid_reply_set(out, buf);
    return ASTRID_CONTINUE;
}
ASTRID_INTERCEPTOR("phase", on_phase)
