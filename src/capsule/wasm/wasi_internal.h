/* Internals shared by wasi.c (the implemented calls) and wasi_table.c
 * (the ENOSYS calls and the host module table). */
#ifndef ASTRID_CAPSULE_WASM_WASI_INTERNAL_H
#define ASTRID_CAPSULE_WASM_WASI_INTERNAL_H

#include <stdint.h>

#include "capsule/wasm/wasi.h"

#define W_NOSYS 52

/* wasm2c's mangled name of a wasi_snapshot_preview1 function, and a
 * declaration/definition head for one taking the instance first. */
#define WASI(name) Z_wasi_snapshot_preview1Z_##name
#define P(ret, name, ...) ret WASI(name)(void *inst, ##__VA_ARGS__)

#endif
