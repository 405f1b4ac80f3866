/* interface kv: the invoking principal's namespace for this capsule,
 * "{principal}:capsule:{capsule}" in var/state.db. Writes are charged to
 * the principal's storage quota inside the store's write transaction.
 * Writes commit ASTRID_KV_META_LAZY (store/kv.h): a chat turn makes
 * several on its path and a synced meta page would double each one's
 * fsyncs; a power loss may undo the last one, nothing else can.
 * Lifting and lowering are the generated glue's (host_glue.h). */
#include <stdlib.h>
#include <string.h>

#include "host_glue.h"
#include "store/kv.h"

#define KEY_MAX 1024 /* the store's own limit (namespace + key <= 510) is checked there */
#define VALUE_MAX (10u << 20)

/* An oversized or malformed key (or prefix) is the function's error,
 * never a trap (only a pointer outside guest memory traps, as upstream). */
static int key_ok(astrid_host_call *c, const astrid_str *k, bool allow_empty)
{
    if (k->len > KEY_MAX)
        return astrid_host_fail(c, "%s: key of %zu bytes is over the %u-byte limit", c->fn->name,
                                k->len, KEY_MAX);
    if ((!allow_empty && k->len == 0) || strlen(k->ptr) != k->len)
        return astrid_host_fail(c, "%s: invalid key: keys are non-empty and hold no NUL",
                                c->fn->name);
    return 0;
}

/* The store's error as the function's: "<fn>: <why>". */
static int store_fail(astrid_host_call *c, const astrid_err *err)
{
    return astrid_host_fail(c, "%s: %s", c->fn->name, err->msg);
}

/* astrid_kv_charge_fn over the invocation's storage quota. */
static int kv_charge(void *ctx, int64_t delta, astrid_err *err)
{
    return astrid_invocation_charge(ctx, delta, err);
}

int astrid_host_kv_get(astrid_host_call *c, const astrid_str *key, wit_option_list_u8 *out)
{
    const astrid_invocation *inv = c->inv;
    char *v = NULL;
    size_t len = 0;
    astrid_err err;
    if (key_ok(c, key, false))
        return -1;
    if (astrid_kv_get(inv->env->kv, inv->kv_ns, key->ptr, &v, &len, &err) != 0)
        return store_fail(c, &err);
    out->has = v != NULL;
    out->val = (astrid_bytes){(uint8_t *)v, len}; /* the glue frees it */
    return 0;
}

/* kv-get's lookup (its errors name kv-exists: c->fn), the value dropped. */
int astrid_host_kv_exists(astrid_host_call *c, const astrid_str *key, bool *out)
{
    wit_option_list_u8 v = {0};
    int rc = astrid_host_kv_get(c, key, &v);
    *out = v.has;
    free(v.val.ptr);
    return rc;
}

int astrid_host_kv_set(astrid_host_call *c, const astrid_str *key, const astrid_bytes *value)
{
    astrid_invocation *inv = c->inv;
    astrid_err err;
    if (key_ok(c, key, false))
        return -1;
    if (value->len > VALUE_MAX)
        return astrid_host_fail(c, "kv-set: value of %zu bytes is over the %u-byte limit",
                                value->len, VALUE_MAX);
    /* measure a principal not yet seen before the store's write
     * transaction opens (a measurement reads the store) */
    if (astrid_invocation_charge(inv, 0, &err) != 0 ||
        astrid_kv_set_charged(inv->env->kv, inv->kv_ns, key->ptr, value->ptr, value->len,
                              ASTRID_KV_META_LAZY, kv_charge, inv, &err) != 0)
        return store_fail(c, &err);
    return 0;
}

int astrid_host_kv_delete(astrid_host_call *c, const astrid_str *key)
{
    astrid_invocation *inv = c->inv;
    astrid_err err;
    if (key_ok(c, key, false))
        return -1;
    if (astrid_kv_delete_charged(inv->env->kv, inv->kv_ns, key->ptr, NULL, ASTRID_KV_META_LAZY,
                                 kv_charge, inv, &err) != 0)
        return store_fail(c, &err);
    return 0;
}

int astrid_host_kv_list_keys(astrid_host_call *c, const astrid_str *prefix, wit_list_string *out)
{
    const astrid_invocation *inv = c->inv;
    astrid_kv_keys keys = {0};
    astrid_err err;
    if (key_ok(c, prefix, true))
        return -1;
    if (astrid_kv_list(inv->env->kv, inv->kv_ns, prefix->ptr, &keys, &err) != 0)
        return store_fail(c, &err);
    out->v = astrid_host_take_strs(c, keys.keys, keys.count);
    out->n = out->v ? keys.count : 0;
    free(keys.keys);
    return out->v ? 0 : -1;
}

int astrid_host_kv_clear_prefix(astrid_host_call *c, const astrid_str *prefix, uint64_t *out)
{
    astrid_invocation *inv = c->inv;
    astrid_err err;
    if (key_ok(c, prefix, true))
        return -1;
    if (astrid_kv_clear_prefix_charged(inv->env->kv, inv->kv_ns, prefix->ptr, out,
                                       ASTRID_KV_META_LAZY, kv_charge, inv, &err) != 0)
        return store_fail(c, &err);
    return 0;
}
