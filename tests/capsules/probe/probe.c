/* probe: on demo.v1.probe {"try": "forge"|"acl"|"kv"} attempts the named
 * thing and publishes {"try": ..., "ok": bool, "error": "..."} on
 * demo.v1.probe.reply. */
#include <astrid.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Not wrapped by the SDK: declared from docs/abi.md. */
__attribute__((import_module("astrid:capsule/ipc@0.1.0"),
               import_name("ipc-publish-as"))) extern void
publish_as(const char *t, size_t tn, const char *p, size_t pn, const char *who, size_t wn,
           void *ret);

static void report(const char *what, int ok, const char *err)
{
    char buf[1200];
    snprintf(buf, sizeof buf, "{\"try\":\"%s\",\"ok\":%s,\"error\":\"%.1000s\"}", what,
             ok ? "true" : "false", err ? err : "");
    for (char *p = buf + 30; *p; p++)
        if (*p == '\\')
            *p = '/';
    astrid_publish("demo.v1.probe.reply", buf, NULL);
}

static astrid_action on_probe(const astrid_event *ev, astrid_reply *out)
{
    (void)out;
    const char *pl = (const char *)ev->payload;
    char *err = NULL;
    if (strstr(pl, "\"forge\"")) {
        _Alignas(8) unsigned char ret[16];
        const char *t = "demo.v1.probe.reply", *p = "{\"forged\":true}", *who = "mallory";
        publish_as(t, strlen(t), p, strlen(p), who, strlen(who), ret);
        char msg[256] = "";
        if (ret[0]) {
            unsigned int mp, ml;
            memcpy(&mp, ret + 4, 4);
            memcpy(&ml, ret + 8, 4);
            snprintf(msg, sizeof msg, "%.*s", (int)ml, (const char *)(size_t)mp);
        }
        report("forge", ret[0] == 0, msg);
    } else if (strstr(pl, "\"acl\"")) {
        int rc = astrid_publish("secret.v1.stolen", "{}", &err);
        report("acl", rc == 0, err);
    } else if (strstr(pl, "\"kv\"")) {
        int rc = astrid_kv_set("", "x", 1, &err);
        report("kv", rc == 0, err);
    }
    free(err);
    return ASTRID_CONTINUE;
}
ASTRID_INTERCEPTOR("probe", on_probe)
