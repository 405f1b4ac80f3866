/* Canonical-ABI helpers for host functions (docs/abi.md). All guest
 * memory access is bounds-checked; a bad pointer traps the invocation
 * (an invariant violation, as upstream). Internal to src/capsule/host/. */
#ifndef ASTRID_CAPSULE_HOST_ABI_H
#define ASTRID_CAPSULE_HOST_ABI_H

#include <stddef.h>
#include <stdint.h>

#include "capsule/host/host.h"

#define HOST_MOD(iface) Z_astridZ3AcapsuleZ2F##iface##Z400Z2E1Z2E0
#define HOST_PASTE_(a, b) a##b
#define HOST_PASTE(a, b) HOST_PASTE_(a, b)
/* wasm2c's symbol for astrid:capsule/<iface>@0.1.0 <fn> (fn mangled, e.g.
 * kvZ2Dget for kv-get). */
#define HOST_FN(iface, fn) HOST_PASTE(HOST_MOD(iface), HOST_PASTE(Z_, fn))

/* A malloc'd NUL-terminated copy of guest bytes [p, p+n) (caller frees);
 * traps when out of bounds or over `max`. */
char *abi_str(void *inst, uint32_t p, uint32_t n, size_t max);
/* Zero `size` bytes at ret (discriminant 0 = ok). */
void abi_ok(void *inst, uint32_t ret, uint32_t size);
/* Allocate len bytes in the guest (cabi_realloc), copy data there and
 * write (ptr, len) at `at`. */
void abi_put(void *inst, uint32_t at, const void *data, uint32_t len);
/* Allocate `size` bytes aligned to `align` in the guest (cabi_realloc);
 * 0 for size 0. Traps on failure. */
uint32_t abi_alloc(void *inst, uint32_t align, uint32_t size);
/* Write a list's (ptr, len) at `at`. */
void abi_list(void *inst, uint32_t at, uint32_t base, uint32_t n);
/* result err: discriminant 1 at ret, the message as a string at ret+off. */
void abi_err(void *inst, uint32_t ret, uint32_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void abi_u8(void *inst, uint32_t at, uint8_t v);
void abi_u64(void *inst, uint32_t at, uint64_t v);
astrid_invocation *abi_inv(void *inst);
/* Close the instance's unix listener and streams (net.c). */
void astrid_net_release(astrid_invocation *inv);

#endif
