/* Canonical-ABI helpers: guest strings in, results out. */
#include "capsule/host/abi.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/utf8.h"

int astrid_invocation_charge(const astrid_invocation *inv, int64_t delta, astrid_err *err)
{
    const astrid_host_env *env = inv->env;
    if (!env->storage_charge)
        return 0; /* delta 0 still goes through: it measures a new principal */
    return env->storage_charge(env->storage_ctx, inv->principal, delta, err);
}

int astrid_invocation_wasi_charge(void *inv, int64_t delta)
{
    return astrid_invocation_charge(inv, delta, NULL);
}

astrid_invocation *abi_inv(void *inst)
{
    return astrid_wasm_host_ctx(inst);
}

char *abi_str(void *inst, uint32_t p, uint32_t n, size_t max)
{
    if (n > max)
        astrid_wasm_host_trap(inst, "argument larger than the host accepts");
    const uint8_t *g = n ? astrid_wasm_mem(inst, p, n) : (const uint8_t *)"";
    if (!g)
        astrid_wasm_host_trap(inst, "argument out of bounds of guest memory");
    char *s = g ? malloc((size_t)n + 1) : NULL;
    if (s) {
        memcpy(s, g, n);
        s[n] = '\0';
        return s;
    }
    astrid_wasm_host_trap(inst, "host out of memory");
}

static uint8_t *mem(void *inst, uint32_t at, uint32_t n)
{
    uint8_t *g = astrid_wasm_mem(inst, at, n);
    if (!g)
        astrid_wasm_host_trap(inst, "result area out of bounds of guest memory");
    return g;
}

void abi_ok(void *inst, uint32_t ret, uint32_t size)
{
    memset(mem(inst, ret, size), 0, size);
}

void abi_u8(void *inst, uint32_t at, uint8_t v)
{
    *mem(inst, at, 1) = v;
}

void abi_u64(void *inst, uint32_t at, uint64_t v)
{
    memcpy(mem(inst, at, 8), &v, 8);
}

uint32_t abi_alloc(void *inst, uint32_t align, uint32_t size)
{
    if (!size)
        return 0;
    uint64_t args[4] = {0, 0, align, size}, res[1] = {0};
    astrid_err err;
    if (astrid_wasm_call(inst, "cabi_realloc", args, 4, res, 1, 0, NULL, &err) != 0)
        astrid_wasm_host_trap(inst, "cabi_realloc failed");
    return (uint32_t)res[0];
}

void abi_list(void *inst, uint32_t at, uint32_t base, uint32_t n)
{
    uint8_t *slot = mem(inst, at, 8);
    memcpy(slot, &base, 4);
    memcpy(slot + 4, &n, 4);
}

void abi_put(void *inst, uint32_t at, const void *data, uint32_t len)
{
    uint32_t p = abi_alloc(inst, 1, len);
    if (len)
        memcpy(mem(inst, p, len), data, len);
    abi_list(inst, at, p, len);
}

void abi_err(void *inst, uint32_t ret, uint32_t off, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    astrid_vsnprintf_utf8(msg, sizeof msg, fmt, ap); /* a WIT string: whole characters only */
    va_end(ap);
    abi_ok(inst, ret, off + 8);
    abi_u8(inst, ret, 1);
    abi_put(inst, ret + off, msg, (uint32_t)strlen(msg));
}
