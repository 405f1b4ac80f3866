/* interface identity: the identity store (src/store/identity.h) for
 * capsules, gated by the manifest's capabilities.identity list with
 * upstream's hierarchy resolve < link < admin: resolve needs any entry,
 * link/unlink/list-links need link or admin, create-user needs admin.
 *
 * Shapes follow upstream: a refused gate is result::err (upstream puts it
 * in the response; a policy refusal is a host error here, as for fs), a
 * store or argument error is ok=false/found=false with `error` set.
 * Lifting and lowering are the generated glue's (host_glue.h). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/jsonsafe.h"
#include "astrid/utf8.h"
#include "astrid/uuid.h"
#include "host_glue.h"
#include "store/identity.h"

#define ARG_MAX (64u << 10)

/* 0 when the call may go on; else the call failed (result::err). */
static int gate(astrid_host_call *c, int need)
{
    static const char *const wants[] = {"\"resolve\", \"link\" or \"admin\"",
                                        "\"link\" or \"admin\"", "\"admin\""};
    if (!c->inv->env->kv)
        return astrid_host_fail(c, "identity store not available");
    if (astrid_manifest_identity_level(c->inv->manifest) >= need)
        return 0;
    return astrid_host_fail(c, "%s: capsule '%s' denied: capabilities.identity must include %s",
                            c->fn->name, c->inv->capsule, wants[need]);
}

/* Arguments are strings of at most 64 KiB. */
static int sizes(astrid_host_call *c, const astrid_str *a, const astrid_str *b)
{
    if (a->len > ARG_MAX || (b && b->len > ARG_MAX))
        return astrid_host_fail(c, "%s: argument over %u KiB", c->fn->name, ARG_MAX >> 10);
    return 0;
}

static int opt(astrid_host_call *c, wit_option_string *o, const char *s)
{
    o->has = s != NULL;
    return astrid_host_set_str(c, &o->val, s);
}

/* identity-ok-response; error NULL = ok. */
static int ok_response(astrid_host_call *c, wit_identity_ok_response *out, const char *error)
{
    out->ok = error == NULL;
    return opt(c, &out->error, error);
}

/* The ok=false answer to an argument that is not a UUID. */
static int bad_uuid(astrid_host_call *c, wit_identity_ok_response *out, const char *s)
{
    char msg[200];
    astrid_snprintf_utf8(msg, sizeof msg, "invalid UUID: '%.120s' is not a UUID", s);
    return ok_response(c, out, msg);
}

int astrid_host_identity_resolve(astrid_host_call *c, const wit_identity_resolve_request *req,
                                 wit_identity_resolve_response *out)
{
    if (sizes(c, &req->platform, &req->platform_user_id) || gate(c, ASTRID_IDENTITY_RESOLVE))
        return -1;
    astrid_user u;
    bool found = false;
    astrid_err err;
    if (astrid_identity_resolve(c->inv->env->kv, req->platform.ptr, req->platform_user_id.ptr, &u,
                                &found, &err) != 0)
        return opt(c, &out->error, err.msg);
    if (!found)
        return 0;
    out->found = true;
    return opt(c, &out->user_id, u.id) ||
           opt(c, &out->display_name, u.display_name[0] ? u.display_name : NULL);
}

int astrid_host_identity_link(astrid_host_call *c, const wit_identity_link_request *req,
                              wit_identity_ok_response *out)
{
    if (sizes(c, &req->platform, &req->platform_user_id) ||
        sizes(c, &req->astrid_user_id, &req->method) || gate(c, ASTRID_IDENTITY_LINK))
        return -1;
    char uuid[ASTRID_UUID_STR_LEN];
    if (!astrid_uuid_parse(req->astrid_user_id.ptr, uuid))
        return bad_uuid(c, out, req->astrid_user_id.ptr);
    astrid_err err;
    if (astrid_identity_link(c->inv->env->kv, req->platform.ptr, req->platform_user_id.ptr, uuid,
                             req->method.ptr, &err) != 0)
        return ok_response(c, out, err.msg);
    return ok_response(c, out, NULL);
}

int astrid_host_identity_unlink(astrid_host_call *c, const wit_identity_unlink_request *req,
                                wit_identity_ok_response *out)
{
    if (sizes(c, &req->platform, &req->platform_user_id) || gate(c, ASTRID_IDENTITY_LINK))
        return -1;
    bool existed = false;
    astrid_err err;
    if (astrid_identity_unlink(c->inv->env->kv, req->platform.ptr, req->platform_user_id.ptr,
                               &existed, &err) != 0)
        return ok_response(c, out, err.msg);
    out->removed.has = true;
    out->removed.val = existed;
    return ok_response(c, out, NULL);
}

int astrid_host_identity_create_user(astrid_host_call *c,
                                     const wit_identity_create_user_request *req,
                                     wit_identity_ok_response *out)
{
    const wit_option_string *name = &req->display_name;
    if ((name->has && sizes(c, &name->val, NULL)) || gate(c, ASTRID_IDENTITY_ADMIN))
        return -1;
    if (name->has && strlen(name->val.ptr) != name->val.len)
        return ok_response(c, out, "display name must not contain NUL");
    astrid_user u;
    astrid_err err;
    if (astrid_identity_create_user(c->inv->env->kv, name->has ? name->val.ptr : NULL, NULL, &u,
                                    &err) != 0)
        return ok_response(c, out, err.msg);
    return ok_response(c, out, NULL) || opt(c, &out->user_id, u.id);
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
    char *s = a ? astrid_json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return s;
}

int astrid_host_identity_list_links(astrid_host_call *c, const wit_identity_list_links_request *req,
                                    wit_identity_ok_response *out)
{
    if (sizes(c, &req->astrid_user_id, NULL) || gate(c, ASTRID_IDENTITY_LINK))
        return -1;
    char uuid[ASTRID_UUID_STR_LEN];
    if (!astrid_uuid_parse(req->astrid_user_id.ptr, uuid))
        return bad_uuid(c, out, req->astrid_user_id.ptr);
    astrid_link_list links;
    astrid_err err;
    if (astrid_identity_list_links(c->inv->env->kv, uuid, &links, &err) != 0)
        return ok_response(c, out, err.msg);
    char *js = links_json(&links);
    astrid_link_list_free(&links);
    if (!js)
        return astrid_host_fail(c, "identity-list-links: out of memory");
    out->links_json.has = true;
    out->links_json.val = (astrid_str){js, strlen(js)};
    return ok_response(c, out, NULL);
}
