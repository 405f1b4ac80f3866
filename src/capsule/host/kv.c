/* interface kv: the invoking principal's namespace for this capsule,
 * "{principal}:capsule:{capsule}" in var/state.db. */
#include <stdlib.h>
#include <string.h>

#include "capsule/host/abi.h"
#include "store/kv.h"

#define KV(f) HOST_FN(kv, f)
#define KEY_MAX 1024
#define VALUE_MAX (10u << 20)

static char *key_arg(void *inst, uint32_t p, uint32_t n, uint32_t ret, bool allow_empty)
{
    char *k = abi_str(inst, p, n, KEY_MAX);
    if ((!allow_empty && n == 0) || strlen(k) != n) {
        abi_err(inst, ret, 4, "invalid key: keys are non-empty and hold no NUL");
        free(k);
        return NULL;
    }
    return k;
}

void KV(kvZ2Dget)(void *inst, uint32_t kp, uint32_t kn, uint32_t ret);
void KV(kvZ2Dget)(void *inst, uint32_t kp, uint32_t kn, uint32_t ret)
{
    astrid_wasm_host_enter(inst);
    const astrid_invocation *inv = abi_inv(inst);
    char *k = key_arg(inst, kp, kn, ret, false), *v = NULL;
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
    char *k = key_arg(inst, kp, kn, ret, false);
    astrid_err err;
    if (k) {
        if (vn > VALUE_MAX) {
            abi_err(inst, ret, 4, "kv-set: value over %u bytes", VALUE_MAX);
        } else {
            char *v = abi_str(inst, vp, vn, VALUE_MAX);
            if (astrid_kv_set(inv->env->kv, inv->kv_ns, k, v, vn, &err) != 0)
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
    char *k = key_arg(inst, kp, kn, ret, false);
    astrid_err err;
    if (k && astrid_kv_delete(inv->env->kv, inv->kv_ns, k, NULL, &err) != 0)
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
    char *prefix = key_arg(inst, pp, pn, ret, true);
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
    char *prefix = abi_str(inst, pp, pn, KEY_MAX);
    uint64_t removed = 0;
    astrid_err err;
    if (astrid_kv_clear_prefix(inv->env->kv, inv->kv_ns, prefix, &removed, &err) != 0) {
        abi_err(inst, ret, 8, "kv-clear-prefix: %s", err.msg);
    } else {
        abi_ok(inst, ret, 16);
        abi_u64(inst, ret + 8, removed);
    }
    free(prefix);
    astrid_wasm_host_leave(inst);
}
