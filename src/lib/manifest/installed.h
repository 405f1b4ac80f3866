/* Installed capsules on disk (reference §2, §6.7, §15.5):
 *   home/{owner}/.local/capsules/{name}/Capsule.toml + meta.json
 *   bin/{blake3}.wasm   the wasm, content-addressed
 * meta.json: {version, installed_at, updated_at, source?, wasm_hash,
 * wit_files?}. A capsule loads only when bin/{wasm_hash}.wasm hashes to
 * wasm_hash ("WASM integrity check failed ..."); a missing hash refuses too.
 *
 * Ownership: astrid_installed_load fills a caller-owned struct; release it
 * with astrid_installed_free. */
#ifndef ASTRID_LIB_MANIFEST_INSTALLED_H
#define ASTRID_LIB_MANIFEST_INSTALLED_H

#include <stddef.h>
#include <stdint.h>

#include "astrid/err.h"
#include "lib/manifest/manifest.h"

typedef struct astrid_installed {
    char owner[65];
    char dir[4096];
    char wasm_hash[65];
    astrid_manifest *manifest;
    uint8_t *wasm; /* verified bytes */
    size_t wasm_len;
} astrid_installed;

/* Load and verify the capsule in `dir` owned by `owner`. */
int astrid_installed_load(const char *home, const char *owner, const char *dir,
                          astrid_installed *out, astrid_err *err);
void astrid_installed_free(astrid_installed *c);

/* Calls fn for every home/{p}/.local/capsules/{name} directory with a
 * meta.json (sorted by owner then name). */
typedef void (*astrid_installed_fn)(void *ctx, const char *owner, const char *dir);
void astrid_installed_scan(const char *home, astrid_installed_fn fn, void *ctx);
/* The same for one capsules directory (e.g. a workspace's
 * .astrid/capsules), every capsule owned by `owner`. */
void astrid_installed_scan_dir(const char *caps, const char *owner, astrid_installed_fn fn,
                               void *ctx);
/* "{workspace}/.astrid/capsules" into out; workspace capsules are owned by
 * "default". */
#define ASTRID_WORKSPACE_CAPSULES ".astrid/capsules"

#endif
