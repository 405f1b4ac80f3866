/* Minimal reader of a WebAssembly binary's interface: types, imports,
 * exports and memories. The AOT pipeline uses it to check imports against
 * the host before compiling, to know each export's signature (for the call
 * trampolines it generates) and to refuse names that could escape the C
 * comments wasm2c 1.0.32 writes them into (it copies names raw: an export
 * named "*" "/ code /" "*" would inject C into the generated source).
 *
 * It does not validate function bodies: wasm2c does that.
 *
 * Ownership: astrid_wasm_parse() fills a caller-provided struct whose arrays
 * and strings are malloc'd; release them with astrid_wasm_info_free().
 */
#ifndef ASTRID_CAPSULE_WASM_PARSE_H
#define ASTRID_CAPSULE_WASM_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "astrid/err.h"

/* Value type letters used in signature strings: i=i32 I=i64 f=f32 F=f64
 * v=v128 r=funcref e=externref. */
#define ASTRID_WASM_MAX_SIG 64

typedef struct astrid_wasm_functype {
    char params[ASTRID_WASM_MAX_SIG + 1];
    char results[ASTRID_WASM_MAX_SIG + 1];
} astrid_wasm_functype;

enum {
    ASTRID_WASM_EXT_FUNC = 0,
    ASTRID_WASM_EXT_TABLE = 1,
    ASTRID_WASM_EXT_MEMORY = 2,
    ASTRID_WASM_EXT_GLOBAL = 3
};

typedef struct astrid_wasm_limits {
    uint32_t min, max;
    int has_max;
} astrid_wasm_limits;

#define ASTRID_WASM_MAX_SPACES 16 /* memories/tables whose limits are kept */

typedef struct astrid_wasm_import {
    char *module;
    char *name;
    int kind;
    uint32_t type_index; /* functions: index into types */
    char global_type;    /* globals: value type letter */
    int global_mut;
    astrid_wasm_limits limits; /* tables and memories */
} astrid_wasm_import;

typedef struct astrid_wasm_export {
    char *name;
    int kind;
    uint32_t index;      /* index in the kind's index space */
    uint32_t type_index; /* functions: index into types */
    char global_type;
} astrid_wasm_export;

typedef struct astrid_wasm_info {
    astrid_wasm_functype *types;
    size_t ntypes;
    astrid_wasm_import *imports;
    size_t nimports;
    astrid_wasm_export *exports;
    size_t nexports;
    uint32_t *func_types; /* type index of every function (imported first) */
    size_t nfuncs;
    char *global_types; /* value type letter of every global (imported first) */
    size_t nglobals;
    size_t nmemories;           /* imported + defined */
    uint64_t mem_initial_pages; /* first defined memory; 0 when none */
    int has_defined_memory;
    int has_start; /* a start function runs at instantiation */
    /* declared limits of the first memories/tables (imported first) */
    astrid_wasm_limits mem_limits[ASTRID_WASM_MAX_SPACES];
    astrid_wasm_limits table_limits[ASTRID_WASM_MAX_SPACES];
    size_t ntables;
} astrid_wasm_info;

int astrid_wasm_parse(const uint8_t *bytes, size_t len, astrid_wasm_info *info, astrid_err *err);
void astrid_wasm_info_free(astrid_wasm_info *info);

/* The distinct import module names, sorted bytewise (wasm2c's order of
 * instantiate parameters). A malloc'd array of pointers borrowed from
 * `info` (free() the array only); NULL on allocation failure. */
const char **astrid_wasm_import_modules(const astrid_wasm_info *info, size_t *n);

/* wasm2c 1.0.32's symbol mangling ("Z_" + [A-Za-z0-9_] kept, Z and every
 * other byte as Z%02X). Writes into `out` (size `outsz`); -1 if too long. */
int astrid_wasm_mangle(char *out, size_t outsz, const char *name);

/* A name is safe to hand to wasm2c when it cannot end or splice the block
 * comment wasm2c copies it into. */
int astrid_wasm_name_safe(const char *name);

#endif
