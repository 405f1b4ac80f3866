/* interface approval and interface elicit: the capsule's side of the
 * security gate. request-approval and elicit hand the question to the
 * env's gate (the daemon's, kernel/gate.h), which asks the invoking
 * principal's human and blocks this guest call until the answer, the
 * timeout (deny) or the last connection of that principal closing (deny).
 * has-secret looks in the secret store (per agent, then host-wide) and
 * never returns the value. */
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/jsonsafe.h"
#include "host_glue.h"
#include "store/secrets.h"

#define ACTION_MAX 64
#define RESOURCE_MAX 1024
#define FIELD_MAX (64u << 10)

int astrid_host_approval_request_approval(astrid_host_call *c, const wit_approval_request *req,
                                          wit_approval_response *out)
{
    const astrid_invocation *inv = c->inv;
    if (req->action.len == 0 || req->action.len > ACTION_MAX ||
        strlen(req->action.ptr) != req->action.len)
        return astrid_host_fail(c, "request-approval: action must be 1..%d bytes", ACTION_MAX);
    if (req->target_resource.len == 0 || req->target_resource.len > RESOURCE_MAX ||
        strlen(req->target_resource.ptr) != req->target_resource.len)
        return astrid_host_fail(c, "request-approval: target-resource must be 1..%d bytes",
                                RESOURCE_MAX);
    if (!inv->env->approval)
        return astrid_host_fail(c, "request-approval: no security gate in this program");
    bool ok = false;
    astrid_err err;
    if (inv->env->approval(inv->env->gate_ctx, inv, req->action.ptr, req->target_resource.ptr, &ok,
                           &err) != 0)
        return astrid_host_fail(c, "request-approval: %s", err.msg);
    out->approved = ok;
    return 0;
}

int astrid_host_elicit_elicit(astrid_host_call *c, const wit_elicit_request *req, astrid_str *out)
{
    const astrid_invocation *inv = c->inv;
    size_t total = req->elicit_type.len + req->key.len + req->description.len;
    if (req->options.has)
        for (size_t i = 0; i < req->options.val.n; i++)
            total += req->options.val.v[i].len;
    if (total > FIELD_MAX)
        return astrid_host_fail(c, "elicit: request over %u KiB", FIELD_MAX >> 10);
    if (!req->key.len)
        return astrid_host_fail(c, "elicit: key must not be empty");
    if (!inv->env->elicit)
        return astrid_host_fail(c, "elicit: no security gate in this program");
    json_t *field = json_pack("{s:s%,s:s%,s:s%}", "type", req->elicit_type.ptr,
                              req->elicit_type.len, "key", req->key.ptr, req->key.len,
                              "description", req->description.ptr, req->description.len);
    if (field && req->options.has) {
        json_t *opts = json_array();
        for (size_t i = 0; i < req->options.val.n; i++)
            json_array_append_new(
                opts, json_stringn(req->options.val.v[i].ptr, req->options.val.v[i].len));
        json_object_set_new(field, "options", opts);
    }
    if (field && req->default_value.has)
        json_object_set_new(field, "default",
                            json_stringn(req->default_value.val.ptr, req->default_value.val.len));
    char *text = field ? astrid_json_dumps(field, JSON_COMPACT) : NULL;
    json_decref(field);
    if (!text)
        return astrid_host_fail(c, "elicit: request is not valid UTF-8");
    char *value = NULL;
    astrid_err err;
    int rc = inv->env->elicit(inv->env->gate_ctx, inv, text, &value, &err);
    free(text);
    if (rc != 0)
        return astrid_host_fail(c, "elicit: %s", err.msg);
    *out = (astrid_str){value, strlen(value)}; /* the glue frees it */
    return 0;
}

int astrid_host_elicit_has_secret(astrid_host_call *c, const astrid_str *key, bool *out)
{
    const astrid_invocation *inv = c->inv;
    if (key->len == 0 || key->len > 256 || strlen(key->ptr) != key->len)
        return astrid_host_fail(c, "has-secret: key must be 1..256 bytes");
    char *v = NULL;
    astrid_err err;
    if (astrid_secret_resolve(inv->env->home, inv->principal, inv->capsule, key->ptr, &v, &err) !=
        0)
        return astrid_host_fail(c, "has-secret %s: %s", key->ptr, err.msg);
    *out = v != NULL;
    if (v) {
        sodium_memzero(v, strlen(v));
        free(v);
    }
    return 0;
}
