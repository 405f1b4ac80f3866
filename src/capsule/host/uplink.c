/* interface uplink: register an uplink (a platform connection such as a
 * chat bridge) and send what its users say into the system. Only
 * capsules that are uplinks (`uplink = true` or [[uplink]] entries) may;
 * the registry and the inbound path are the daemon's (env callbacks). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "capsule/host/abi.h"

#define UPL(f) HOST_FN(uplink, f)
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

static const char *gate(const astrid_invocation *inv)
{
    if (!inv->manifest->uplink)
        return "is not an uplink (declare uplink = true or [[uplink]])";
    if (!inv->env->uplink_register)
        return "has no uplink registry in this program (only the daemon has one)";
    return NULL;
}

void UPL(uplinkZ2Dregister)(void *inst, uint32_t np, uint32_t nn, uint32_t pp, uint32_t pn,
                            uint32_t fp, uint32_t fn, uint32_t ret);
void UPL(uplinkZ2Dregister)(void *inst, uint32_t np, uint32_t nn, uint32_t pp, uint32_t pn,
                            uint32_t fp, uint32_t fn, uint32_t ret)
{
    astrid_wasm_host_enter(inst);
    const astrid_invocation *inv = abi_inv(inst);
    char *name = abi_str(inst, np, nn > FIELD_MAX ? 0 : nn, FIELD_MAX);
    char *plat = abi_str(inst, pp, pn > FIELD_MAX ? 0 : pn, FIELD_MAX);
    char *prof = abi_str(inst, fp, fn > FIELD_MAX ? 0 : fn, FIELD_MAX);
    const char *why = gate(inv);
    for (char *c = plat; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    const char *profile = strcmp(prof, "human") == 0 ? "chat" : prof;
    char id[37];
    astrid_err err;
    if (why)
        abi_err(inst, ret, 4, "capsule %s %s", inv->capsule, why);
    else if (nn > FIELD_MAX || pn > FIELD_MAX || fn > FIELD_MAX || !*name || !*plat ||
             strlen(name) != nn || strlen(plat) != pn)
        abi_err(inst, ret, 4, "uplink-register: name and platform are 1..%d bytes, no NUL",
                FIELD_MAX);
    else if (!known_profile(profile))
        abi_err(inst, ret, 4,
                "uplink-register: profile '%.64s' is not chat, interactive, notify or bridge",
                prof);
    else if (inv->env->uplink_register(inv->env->rt, inv, name, plat, profile, id, &err) != 0)
        abi_err(inst, ret, 4, "uplink-register: %s", err.msg);
    else {
        abi_ok(inst, ret, 12);
        abi_put(inst, ret + 4, id, (uint32_t)strlen(id));
    }
    free(name);
    free(plat);
    free(prof);
    astrid_wasm_host_leave(inst);
}

void UPL(uplinkZ2Dsend)(void *inst, uint32_t ip, uint32_t in, uint32_t up, uint32_t un, uint32_t cp,
                        uint32_t cn, uint32_t ret);
void UPL(uplinkZ2Dsend)(void *inst, uint32_t ip, uint32_t in, uint32_t up, uint32_t un, uint32_t cp,
                        uint32_t cn, uint32_t ret)
{
    astrid_wasm_host_enter(inst);
    const astrid_invocation *inv = abi_inv(inst);
    const char *why = gate(inv);
    char *id = abi_str(inst, ip, in > 64 ? 0 : in, 64);
    char *user = abi_str(inst, up, un > FIELD_MAX ? 0 : un, FIELD_MAX);
    char *content = cn > CONTENT_MAX ? NULL : abi_str(inst, cp, cn, CONTENT_MAX);
    bool delivered = false;
    astrid_err err;
    if (why)
        abi_err(inst, ret, 4, "capsule %s %s", inv->capsule, why);
    else if (in != 36) /* a UUID (upstream: <= 64 bytes and a UUID) */
        abi_err(inst, ret, 4, "uplink-send: '%.64s' is not an uplink id", id);
    else if (un > FIELD_MAX || !content)
        abi_err(inst, ret, 4, "uplink-send: user id over %d bytes or content over 1 MiB",
                FIELD_MAX);
    else if (inv->env->uplink_send(inv->env->rt, inv, id, user, content, &delivered, &err) != 0)
        abi_err(inst, ret, 4, "uplink-send: %s", err.msg);
    else {
        abi_ok(inst, ret, 12);
        abi_u8(inst, ret + 4, delivered);
    }
    free(id);
    free(user);
    free(content);
    astrid_wasm_host_leave(inst);
}
