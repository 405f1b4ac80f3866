/* interface kv: the invoking principal's namespace for this capsule,
 * "{principal}:capsule:{capsule}" in var/state.db. */
#include <stdlib.h>
#include <string.h>

#include "capsule/host/abi.h"
#include "store/kv.h"

#define KV(f) HOST_FN(kv, f)
#define KEY_MAX 1024 /* the store's own limit (namespace + key <= 510) is checked there */
#define VALUE_MAX (10u << 20)

/* The key (or prefix) argument, or NULL after writing an error result at
 * ret+4: an oversized argument is the function's error, never a trap
 * (only a pointer outside guest memory traps, as upstream). */
static char *key_arg(void *inst, const char *fn, uint32_t p, uint32_t n, uint32_t ret, uint32_t off,
                     bool allow_empty)
{
    if (n > KEY_MAX) {
        abi_err(inst, ret, off, "%s: key of %u bytes is over the %u-byte limit", fn, n, KEY_MAX);
        return NULL;
    }
    char *k = abi_str(inst, p, n, KEY_MAX);
    if ((!allow_empty && n == 0) || strlen(k) != n) {
        abi_err(inst, ret, off, "%s: invalid key: keys are non-empty and hold no NUL", fn);
        free(k);
        return NULL;
    }
    return k;
}

/* astrid_kv_charge_fn over the invocation's storage quota. */
static int kv_charge(void *ctx, int64_t delta, astrid_err *err)
{
    return astrid_invocation_charge(ctx, delta, err);
}

/* Measure a principal not yet seen before the store's write transaction
 * opens (a measurement reads the store). */
static int charge_ready(void *inst, const astrid_invocation *inv, const char *fn, uint32_t ret,
                        uint32_t off)
{
    astrid_err err;
    if (astrid_invocation_charge(inv, 0, &err) == 0)
        return 0;
    abi_err(inst, ret, off, "%s: %s", fn, err.msg);
    return -1;
}

void KV(kvZ2Dget)(void *inst, uint32_t kp, uint32_t kn, uint32_t ret);
void KV(kvZ2Dget)(void *inst, uint32_t kp, uint32_t kn, uint32_t ret)
{
    astrid_wasm_host_enter(inst);
    const astrid_invocation *inv = abi_inv(inst);
    char *k = key_arg(inst, "kv-get", kp, kn, ret, 4, false), *v = NULL;
    size_t len = 0;
    astrid_err err;
    if (k && astrid_kv_get(inv->env->kv, inv->kv_ns, k, &v, &len, &err) != 0) {
        abi_err(inst, ret, 4, "kv-get: %s", err.msg);
    } else if (k) {
        abi_ok(inst, ret, 16);
        if (v) {
            abi_u8(inst, ret + 4, 1);
            abi_put(inst, ret + 8, v, (uint32_t)len);
        }
    }
    free(v);
    free(k);
    astrid_wasm_host_leave(inst);
}

void KV(kvZ2Dset)(void *inst, uint32_t kp, uint32_t kn, uint32_t vp, uint32_t vn, uint32_t ret);
void KV(kvZ2Dset)(void *inst, uint32_t kp, uint32_t kn, uint32_t vp, uint32_t vn, uint32_t ret)
{
    astrid_wasm_host_enter(inst);
    const astrid_invocation *inv = abi_inv(inst);
    char *k = key_arg(inst, "kv-set", kp, kn, ret, 4, false);
    astrid_err err;
    if (k) {
        if (vn > VALUE_MAX) {
            abi_err(inst, ret, 4, "kv-set: value of %u bytes is over the %u-byte limit", vn,
                    VALUE_MAX);
        } else if (charge_ready(inst, inv, "kv-set", ret, 4) == 0) {
            char *v = abi_str(inst, vp, vn, VALUE_MAX);
            if (astrid_kv_set_charged(inv->env->kv, inv->kv_ns, k, v, vn, kv_charge, (void *)inv,
                                      &err) != 0)
                abi_err(inst, ret, 4, "kv-set: %s", err.msg);
            else
                abi_ok(inst, ret, 12);
            free(v);
        }
    }
    free(k);
    astrid_wasm_host_leave(inst);
}

void KV(kvZ2Ddelete)(void *inst, uint32_t kp, uint32_t kn, uint32_t ret);
void KV(kvZ2Ddelete)(void *inst, uint32_t kp, uint32_t kn, uint32_t ret)
{
    astrid_wasm_host_enter(inst);
    const astrid_invocation *inv = abi_inv(inst);
    char *k = key_arg(inst, "kv-delete", kp, kn, ret, 4, false);
    astrid_err err;
    if (k && astrid_kv_delete_charged(inv->env->kv, inv->kv_ns, k, NULL, kv_charge, (void *)inv,
                                      &err) != 0)
        abi_err(inst, ret, 4, "kv-delete: %s", err.msg);
    else if (k)
        abi_ok(inst, ret, 12);
    free(k);
    astrid_wasm_host_leave(inst);
}

/* result<list<string>, string>: (ptr, len) @4 of 8-byte (ptr, len) items. */
void KV(kvZ2DlistZ2Dkeys)(void *inst, uint32_t pp, uint32_t pn, uint32_t ret);
void KV(kvZ2DlistZ2Dkeys)(void *inst, uint32_t pp, uint32_t pn, uint32_t ret)
{
    astrid_wasm_host_enter(inst);
    const astrid_invocation *inv = abi_inv(inst);
    char *prefix = key_arg(inst, "kv-list-keys", pp, pn, ret, 4, true);
    astrid_kv_keys keys = {0};
    astrid_err err;
    if (prefix && astrid_kv_list(inv->env->kv, inv->kv_ns, prefix, &keys, &err) != 0) {
        abi_err(inst, ret, 4, "kv-list-keys: %s", err.msg);
    } else if (prefix) {
        /* the item array first (8 bytes each), then each string into it */
        uint32_t *items = calloc(keys.count ? keys.count : 1, 8);
        abi_ok(inst, ret, 12);
        abi_put(inst, ret + 4, items, (uint32_t)(keys.count * 8));
        free(items);
        const uint8_t *slot = astrid_wasm_mem(inst, ret + 4, 8);
        uint32_t arr = 0;
        memcpy(&arr, slot, 4);
        uint32_t count = (uint32_t)keys.count;
        memcpy(astrid_wasm_mem(inst, ret + 8, 4), &count, 4);
        for (size_t i = 0; i < keys.count; i++)
            abi_put(inst, arr + (uint32_t)(8 * i), keys.keys[i], (uint32_t)strlen(keys.keys[i]));
    }
    astrid_kv_keys_free(&keys);
    free(prefix);
    astrid_wasm_host_leave(inst);
}

void KV(kvZ2DclearZ2Dprefix)(void *inst, uint32_t pp, uint32_t pn, uint32_t ret);
void KV(kvZ2DclearZ2Dprefix)(void *inst, uint32_t pp, uint32_t pn, uint32_t ret)
{
    astrid_wasm_host_enter(inst);
    const astrid_invocation *inv = abi_inv(inst);
    char *prefix = key_arg(inst, "kv-clear-prefix", pp, pn, ret, 8, true);
    uint64_t removed = 0;
    astrid_err err;
    if (!prefix) {
        /* the error result is written */
    } else if (astrid_kv_clear_prefix_charged(inv->env->kv, inv->kv_ns, prefix, &removed, kv_charge,
                                              (void *)inv, &err) != 0) {
        abi_err(inst, ret, 8, "kv-clear-prefix: %s", err.msg);
    } else {
        abi_ok(inst, ret, 16);
        abi_u64(inst, ret + 8, removed);
    }
    free(prefix);
    astrid_wasm_host_leave(inst);
}
