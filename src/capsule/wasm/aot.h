/* AOT pipeline internals shared by engine.c and aot.c: glue generation,
 * compiler runs and the on-disk cache.
 *
 * Cache layout under the engine's cache dir (0700):
 *   <key>.so    the compiled module (0600), key = 64 hex chars
 *   <key>.meta  sidecar: "astrid-aot 1\nkey <key>\nso <hash of .so>\n" (0600),
 *               written after the .so, so its presence commits the entry
 *   tmp/        per-compile scratch directories, removed after each run
 * An entry whose sidecar is missing, names another key, or whose .so does
 * not hash to the recorded value is rebuilt, never loaded.
 */
#ifndef ASTRID_CAPSULE_WASM_AOT_H
#define ASTRID_CAPSULE_WASM_AOT_H

#include <stddef.h>
#include <stdint.h>

#include "astrid/err.h"
#include "capsule/wasm/engine.h"
#include "capsule/wasm/wasm_parse.h"

/* 2: element-segment import repair (w2c_patch.c); 3: astrid_glue_calls,
 * one trampoline per signature */
#define ASTRID_AOT_ABI 3
#define ASTRID_AOT_KEY_HEX 65

typedef struct astrid_aot_toolchain {
    const char *cache_dir;
    const char *cc;
    const char *wasm2c;
    int opt_level;
    uint64_t timeout_ms;
    /* Not in the key: an entry compiled in any number of parts behaves the
     * same. parts: 0 = by size, up to `jobs`; 1 = never split; n = exactly n
     * where the module has the functions. jobs: compilers at once (>= 1). */
    int parts;
    int jobs;
    char identity[1024]; /* compiler + wasm2c versions + flags, hashed into keys */
} astrid_aot_toolchain;

/* Probe the tools' versions into tc->identity. */
int astrid_aot_probe(astrid_aot_toolchain *tc, astrid_err *err);

/* BLAKE3 for cache keys and .so integrity (hex, 64 chars + NUL). */
void astrid_aot_hash_hex(const void *data, size_t len, char out[ASTRID_AOT_KEY_HEX]);

/* Cache key of (wasm, link name, toolchain identity, engine ABI). */
void astrid_aot_key(const astrid_aot_toolchain *tc, const uint8_t *wasm, size_t len,
                    const char *link_name, char key[ASTRID_AOT_KEY_HEX]);

/* Open a verified cache entry: returns an fd open on the .so (caller
 * closes), or -1 when there is no valid entry (a corrupt one is removed). */
int astrid_aot_cache_open(const astrid_aot_toolchain *tc, const char *key);

/* Compile into the cache. Returns 0 or -1 with err (compile errors carry
 * the first lines of the tool's output). */
int astrid_aot_compile(const astrid_aot_toolchain *tc, const uint8_t *wasm, size_t len,
                       const astrid_wasm_info *info, const char *link_name, const char *key,
                       astrid_wasm_progress_fn progress, void *progress_user, astrid_err *err);

/* Index of each function export among the glue's trampolines, or -1 when
 * the export's signature cannot be called from the host. */
int astrid_aot_callable(const astrid_wasm_functype *t);

#endif
