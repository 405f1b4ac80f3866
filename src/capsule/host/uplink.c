/* interface uplink: register an uplink (a platform connection such as a
 * chat bridge) and send what its users say into the system. Only
 * capsules that are uplinks (`uplink = true` or [[uplink]] entries) may;
 * the registry and the inbound path are the daemon's (env callbacks).
 * Lifting and lowering are the generated glue's (host_glue.h). */
#include <ctype.h>
#include <string.h>

#include "host_glue.h"

#define FIELD_MAX 256
#define CONTENT_MAX (1u << 20)

static bool known_profile(const char *p)
{
    static const char *const profiles[] = {"chat", "interactive", "notify", "bridge"};
    for (size_t i = 0; i < sizeof profiles / sizeof *profiles; i++)
        if (strcmp(p, profiles[i]) == 0)
            return true;
    return false;
}

/* 0 when the capsule may use uplinks here; else the call failed. */
static int gate(astrid_host_call *c)
{
    const astrid_invocation *inv = c->inv;
    if (!inv->manifest->uplink)
        return astrid_host_fail(c,
                                "capsule %s is not an uplink (declare uplink = true or "
                                "[[uplink]])",
                                inv->capsule);
    if (!inv->env->uplink_register)
        return astrid_host_fail(c,
                                "capsule %s has no uplink registry in this program (only "
                                "the daemon has one)",
                                inv->capsule);
    return 0;
}

/* A 1..FIELD_MAX byte string without NUL. */
static bool field_ok(const astrid_str *s)
{
    return s->len && s->len <= FIELD_MAX && strlen(s->ptr) == s->len;
}

int astrid_host_uplink_register(astrid_host_call *c, const astrid_str *name,
                                const astrid_str *platform, const astrid_str *profile,
                                astrid_str *out)
{
    if (gate(c))
        return -1;
    if (!field_ok(name) || !field_ok(platform))
        return astrid_host_fail(c, "uplink-register: name and platform are 1..%d bytes, no NUL",
                                FIELD_MAX);
    char plat[FIELD_MAX + 1];
    for (size_t i = 0; i <= platform->len; i++)
        plat[i] = (char)tolower((unsigned char)platform->ptr[i]);
    const char *prof = strcmp(profile->ptr, "human") == 0 ? "chat" : profile->ptr;
    if (!known_profile(prof))
        return astrid_host_fail(
            c, "uplink-register: profile '%.64s' is not chat, interactive, notify or bridge",
            profile->ptr);
    char id[37];
    astrid_err err;
    const astrid_invocation *inv = c->inv;
    if (inv->env->uplink_register(inv->env->rt, inv, name->ptr, plat, prof, id, &err) != 0)
        return astrid_host_fail(c, "uplink-register: %s", err.msg);
    return astrid_host_set_str(c, out, id);
}

int astrid_host_uplink_send(astrid_host_call *c, const astrid_str *uplink_id,
                            const astrid_str *platform_user_id, const astrid_str *content,
                            bool *delivered)
{
    if (gate(c))
        return -1;
    if (uplink_id->len != 36) /* a UUID (upstream: <= 64 bytes and a UUID) */
        return astrid_host_fail(c, "uplink-send: '%.64s' is not an uplink id", uplink_id->ptr);
    if (platform_user_id->len > FIELD_MAX || content->len > CONTENT_MAX)
        return astrid_host_fail(c, "uplink-send: user id over %d bytes or content over 1 MiB",
                                FIELD_MAX);
    astrid_err err;
    const astrid_invocation *inv = c->inv;
    if (inv->env->uplink_send(inv->env->rt, inv, uplink_id->ptr, platform_user_id->ptr,
                              content->ptr, delivered, &err) != 0)
        return astrid_host_fail(c, "uplink-send: %s", err.msg);
    return 0;
}
