/* `astrid capsule install` (reference §15.3, §15.5): from a directory
 * (Capsule.toml + its .wasm, built by any toolchain) or a .capsule archive
 * (unpacked safely: regular files and directories only, no absolute paths,
 * no "..", no links; size-capped). The wasm goes to bin/{blake3}.wasm, every
 * *.wit under wit/ to wit/{blake3}.wit, the module is compiled ahead of time
 * (progress through `progress`), and meta.json is written last, atomically:
 * until then nothing is installed. An existing install is upgraded
 * (installed_at kept). The lifecycle hook (hooks.h) runs after the compile
 * and before any write: if it fails, nothing changes. */
#ifndef ASTRID_CAPSULE_INSTALL_H
#define ASTRID_CAPSULE_INSTALL_H

#include <stdbool.h>

#include "astrid/err.h"
#include "capsule/wasm/engine.h"

typedef void (*astrid_install_progress)(void *ctx, const char *line);

typedef struct astrid_install_opts {
    const char *home;
    const char *source; /* directory or .capsule file */
    const char *target; /* the capsules directory, e.g. home/{p}/.local/capsules */
    astrid_install_progress progress;
    void *progress_ctx;
    /* Unpacks a .capsule into an empty directory (astrid_capsule_unpack, or
     * the CLI's `astrid-build unpack` child); NULL = archives refused. */
    int (*unpack)(const char *archive, const char *dest, astrid_err *err);
    /* The owner the lifecycle hook runs as (NULL = "default"); no_hooks
     * skips it (hooks.h). */
    const char *principal;
    bool no_hooks;
    /* Also keep the wasm in the capsule directory (workspace installs: the
     * load falls back to it when bin/ no longer has it). */
    bool local_wasm;
} astrid_install_opts;

typedef struct astrid_install_result {
    char name[128];
    char version[64];
    char wasm_hash[65];
    char dir[4096];
    bool upgraded;
    bool hook_ran; /* astrid-install / astrid-upgrade was exported and ran */
} astrid_install_result;

int astrid_capsule_install(const astrid_install_opts *o, astrid_install_result *res,
                           astrid_err *err);

/* Safe unpack of a .capsule into the existing empty directory `dest`
 * (unpack.c; links libarchive). */
int astrid_capsule_unpack(const char *archive, const char *dest, astrid_err *err);

#endif
