/* interface identity: the identity store (src/store/identity.h) for
 * capsules, gated by the manifest's capabilities.identity list with
 * upstream's hierarchy resolve < link < admin: resolve needs any entry,
 * link/unlink/list-links need link or admin, create-user needs admin.
 *
 * Shapes follow upstream: a refused gate is result::err (upstream puts it
 * in the response; a policy refusal is a host error here, as for fs), a
 * store or argument error is ok=false/found=false with `error` set. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/utf8.h"
#include "astrid/uuid.h"
#include "capsule/host/abi.h"
#include "store/identity.h"

#define IDN(f) HOST_FN(identity, f)
#define ARG_MAX (64u << 10)

/* 0 when the call may go on; else the result::err is written. */
static int gate(void *inst, uint32_t ret, const char *fn, int need)
{
    static const char *const wants[] = {"\"resolve\", \"link\" or \"admin\"",
                                        "\"link\" or \"admin\"", "\"admin\""};
    const astrid_invocation *inv = abi_inv(inst);
    if (!inv->env->kv) {
        abi_err(inst, ret, 4, "identity store not available");
        return -1;
    }
    if (astrid_manifest_identity_level(inv->manifest) >= need)
        return 0;
    abi_err(inst, ret, 4, "%s: capsule '%s' denied: capabilities.identity must include %s", fn,
            inv->capsule, wants[need]);
    return -1;
}

static void put_opt(void *inst, uint32_t at, const char *s)
{
    if (!s)
        return;
    abi_u8(inst, at, 1);
    abi_put(inst, at + 4, s, (uint32_t)strlen(s));
}

/* result<identity-ok-response>: ok @4, error @8, user-id @20, removed
 * option<bool> @32, links-json @36. removed < 0 = none. */
static void ok_response(void *inst, uint32_t ret, const char *error, const char *user_id,
                        int removed, const char *links_json)
{
    abi_ok(inst, ret, 48);
    abi_u8(inst, ret + 4, error ? 0 : 1);
    put_opt(inst, ret + 8, error);
    put_opt(inst, ret + 20, user_id);
    if (removed >= 0) {
        abi_u8(inst, ret + 32, 1);
        abi_u8(inst, ret + 33, (uint8_t)removed);
    }
    put_opt(inst, ret + 36, links_json);
}

/* An "invalid UUID" response unless `s` is one (canonical form in out). */
static int uuid_arg(void *inst, uint32_t ret, const char *s, char out[ASTRID_UUID_STR_LEN])
{
    if (astrid_uuid_parse(s, out))
        return 0;
    char msg[200];
    astrid_snprintf_utf8(msg, sizeof msg, "invalid UUID: '%.120s' is not a UUID", s);
    ok_response(inst, ret, msg, NULL, -1, NULL);
    return -1;
}

/* result<identity-resolve-response>: found @4, user-id @8, display-name
 * @20, error @32. */
void IDN(identityZ2Dresolve)(void *inst, uint32_t pp, uint32_t pn, uint32_t up, uint32_t un,
                             uint32_t ret);
void IDN(identityZ2Dresolve)(void *inst, uint32_t pp, uint32_t pn, uint32_t up, uint32_t un,
                             uint32_t ret)
{
    astrid_wasm_host_enter(inst);
    char *platform = abi_str(inst, pp, pn, ARG_MAX), *puid = abi_str(inst, up, un, ARG_MAX);
    if (gate(inst, ret, "identity-resolve", ASTRID_IDENTITY_RESOLVE) == 0) {
        astrid_user u;
        bool found = false;
        astrid_err err;
        int rc = astrid_identity_resolve(abi_inv(inst)->env->kv, platform, puid, &u, &found, &err);
        abi_ok(inst, ret, 44);
        if (rc != 0) {
            put_opt(inst, ret + 32, err.msg);
        } else if (found) {
            abi_u8(inst, ret + 4, 1);
            put_opt(inst, ret + 8, u.id);
            put_opt(inst, ret + 20, u.display_name[0] ? u.display_name : NULL);
        }
    }
    free(platform);
    free(puid);
    astrid_wasm_host_leave(inst);
}

void IDN(identityZ2Dlink)(void *inst, uint32_t pp, uint32_t pn, uint32_t up, uint32_t un,
                          uint32_t ip, uint32_t in, uint32_t mp, uint32_t mn, uint32_t ret);
void IDN(identityZ2Dlink)(void *inst, uint32_t pp, uint32_t pn, uint32_t up, uint32_t un,
                          uint32_t ip, uint32_t in, uint32_t mp, uint32_t mn, uint32_t ret)
{
    astrid_wasm_host_enter(inst);
    char *platform = abi_str(inst, pp, pn, ARG_MAX), *puid = abi_str(inst, up, un, ARG_MAX);
    char *id = abi_str(inst, ip, in, ARG_MAX), *method = abi_str(inst, mp, mn, ARG_MAX);
    char uuid[ASTRID_UUID_STR_LEN];
    if (gate(inst, ret, "identity-link", ASTRID_IDENTITY_LINK) == 0 &&
        uuid_arg(inst, ret, id, uuid) == 0) {
        astrid_err err;
        if (astrid_identity_link(abi_inv(inst)->env->kv, platform, puid, uuid, method, &err) != 0)
            ok_response(inst, ret, err.msg, NULL, -1, NULL);
        else
            ok_response(inst, ret, NULL, NULL, -1, NULL);
    }
    free(platform);
    free(puid);
    free(id);
    free(method);
    astrid_wasm_host_leave(inst);
}

void IDN(identityZ2Dunlink)(void *inst, uint32_t pp, uint32_t pn, uint32_t up, uint32_t un,
                            uint32_t ret);
void IDN(identityZ2Dunlink)(void *inst, uint32_t pp, uint32_t pn, uint32_t up, uint32_t un,
                            uint32_t ret)
{
    astrid_wasm_host_enter(inst);
    char *platform = abi_str(inst, pp, pn, ARG_MAX), *puid = abi_str(inst, up, un, ARG_MAX);
    if (gate(inst, ret, "identity-unlink", ASTRID_IDENTITY_LINK) == 0) {
        bool existed = false;
        astrid_err err;
        if (astrid_identity_unlink(abi_inv(inst)->env->kv, platform, puid, &existed, &err) != 0)
            ok_response(inst, ret, err.msg, NULL, -1, NULL);
        else
            ok_response(inst, ret, NULL, NULL, existed, NULL);
    }
    free(platform);
    free(puid);
    astrid_wasm_host_leave(inst);
}

/* display-name: option<string> flattened to (d, ptr, len). */
void IDN(identityZ2DcreateZ2Duser)(void *inst, uint32_t has, uint32_t np, uint32_t nn,
                                   uint32_t ret);
void IDN(identityZ2DcreateZ2Duser)(void *inst, uint32_t has, uint32_t np, uint32_t nn, uint32_t ret)
{
    astrid_wasm_host_enter(inst);
    char *name = has ? abi_str(inst, np, nn, ARG_MAX) : NULL;
    if (gate(inst, ret, "identity-create-user", ASTRID_IDENTITY_ADMIN) == 0) {
        astrid_user u;
        astrid_err err;
        if (name && strlen(name) != nn)
            ok_response(inst, ret, "display name must not contain NUL", NULL, -1, NULL);
        else if (astrid_identity_create_user(abi_inv(inst)->env->kv, name, NULL, &u, &err) != 0)
            ok_response(inst, ret, err.msg, NULL, -1, NULL);
        else
            ok_response(inst, ret, NULL, u.id, -1, NULL);
    }
    free(name);
    astrid_wasm_host_leave(inst);
}

/* links-json: upstream's serde form of Vec<FrontendLink>. */
static char *links_json(const astrid_link_list *l)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < l->count; i++) {
        const astrid_link *k = &l->links[i];
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:s}", "platform", k->platform,
                                           "platform_user_id", k->platform_user_id,
                                           "astrid_user_id", k->astrid_user_id, "linked_at",
                                           k->linked_at, "method", k->method));
    }
    char *s = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return s;
}

void IDN(identityZ2DlistZ2Dlinks)(void *inst, uint32_t ip, uint32_t in, uint32_t ret);
void IDN(identityZ2DlistZ2Dlinks)(void *inst, uint32_t ip, uint32_t in, uint32_t ret)
{
    astrid_wasm_host_enter(inst);
    char *id = abi_str(inst, ip, in, ARG_MAX);
    char uuid[ASTRID_UUID_STR_LEN];
    if (gate(inst, ret, "identity-list-links", ASTRID_IDENTITY_LINK) == 0 &&
        uuid_arg(inst, ret, id, uuid) == 0) {
        astrid_link_list links;
        astrid_err err;
        if (astrid_identity_list_links(abi_inv(inst)->env->kv, uuid, &links, &err) != 0) {
            ok_response(inst, ret, err.msg, NULL, -1, NULL);
        } else {
            char *js = links_json(&links);
            if (js)
                ok_response(inst, ret, NULL, NULL, -1, js);
            else
                abi_err(inst, ret, 4, "identity-list-links: out of memory");
            free(js);
            astrid_link_list_free(&links);
        }
    }
    free(id);
    astrid_wasm_host_leave(inst);
}
