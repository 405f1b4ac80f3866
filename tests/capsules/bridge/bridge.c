/* bridge: an uplink capsule. On demo.v1.bridge:
 *   {"op":"send","user":U,"text":T}  registers (or re-finds) uplink tg on
 *       Telegram and sends T from U: the kernel publishes it on
 *       uplink.v1.inbound; the reply says what each step answered.
 *   {"op":"bad"}  tries an unknown profile and a duplicate registration. */
#include <astrid.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((import_module("astrid:capsule/uplink@0.1.0"),
               import_name("uplink-register"))) extern void
up_register(const char *n, size_t nn, const char *p, size_t pn, const char *f, size_t fn,
            void *ret);
__attribute__((import_module("astrid:capsule/uplink@0.1.0"),
               import_name("uplink-send"))) extern void
up_send(const char *i, size_t in, const char *u, size_t un, const char *c, size_t cn, void *ret);

static void str_at(const unsigned char *ret, char *buf, size_t n)
{
    unsigned int p, l;
    memcpy(&p, ret + 4, 4);
    memcpy(&l, ret + 8, 4);
    snprintf(buf, n, "%.*s", (int)l, l ? (const char *)(size_t)p : "");
    for (char *c = buf; *c; c++)
        if (*c == '"' || *c == '\\')
            *c = '\'';
}

static int reg(const char *name, const char *platform, const char *profile, char *out, size_t n)
{
    _Alignas(8) unsigned char ret[16];
    up_register(name, strlen(name), platform, strlen(platform), profile, strlen(profile), ret);
    str_at(ret, out, n);
    return ret[0] == 0;
}

static char uplink_id[64];

static astrid_action on_bridge(const astrid_event *ev, astrid_reply *out)
{
    (void)out;
    const char *pl = (const char *)ev->payload;
    char reply[1200], a[300] = "", b[300] = "";
    if (strstr(pl, "\"bad\"")) {
        int ok1 = reg("x", "telegram", "shouting", a, sizeof a);
        int ok2 = reg("tg", "TELEGRAM", "chat", b, sizeof b);
        snprintf(reply, sizeof reply,
                 "{\"bad_profile_ok\":%s,\"bad_profile\":\"%s\",\"dup_ok\":%s,\"dup\":\"%s\"}",
                 ok1 ? "true" : "false", a, ok2 ? "true" : "false", b);
    } else {
        /* every invocation is a fresh instance: register once per daemon */
        if (!uplink_id[0] && !reg("tg", "Telegram", "human", uplink_id, sizeof uplink_id))
            snprintf(a, sizeof a, "register: %s", uplink_id), uplink_id[0] = 0;
        _Alignas(8) unsigned char ret[16];
        const char *u = "tg-user-42", *t = "hello from telegram";
        up_send(uplink_id, strlen(uplink_id), u, strlen(u), t, strlen(t), ret);
        if (ret[0])
            str_at(ret, b, sizeof b);
        snprintf(reply, sizeof reply, "{\"id\":\"%s\",\"err\":\"%s%s\",\"delivered\":%s}",
                 uplink_id, a, b, !ret[0] && ret[4] ? "true" : "false");
    }
    astrid_publish("demo.v1.bridge.reply", reply, NULL);
    return ASTRID_CONTINUE;
}
ASTRID_INTERCEPTOR("bridge", on_bridge)
