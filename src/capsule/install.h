/* The capsule installer behind InstallCapsule / UpdateCapsule (the daemon
 * runs it on a worker thread, src/kernel/req_capsule.c; reference §15.3,
 * §15.5): from a directory
 * (Capsule.toml + its .wasm, built by any toolchain) or a .capsule archive
 * (unpacked safely: regular files and directories only, no absolute paths,
 * no "..", no links; size-capped). The wasm goes to bin/{blake3}.wasm, every
 * *.wit under wit/ to wit/{blake3}.wit, the module is compiled ahead of time
 * (progress through `progress`), and Capsule.toml + meta.json are written
 * into `{target}/.{name}.staging-*`, which then replaces `{target}/{name}`
 * in one rename (RENAME_EXCHANGE): until then nothing is installed, and a
 * kill leaves the old install or the new one, never a mix. A complete
 * existing install (meta.json an object with version and wasm_hash, beside
 * Capsule.toml) is upgraded (installed_at kept); anything less there, and
 * staging directories of killed installs, are leftovers and are removed.
 * The lifecycle hook (hooks.h) runs after the compile and before any
 * write: if it fails, nothing changes. */
#ifndef ASTRID_CAPSULE_INSTALL_H
#define ASTRID_CAPSULE_INSTALL_H

#include <stdatomic.h>
#include <stdbool.h>

#include "astrid/err.h"
#include "capsule/wasm/engine.h"

struct astrid_manifest;

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
    /* Called once Capsule.toml is read, before anything is compiled or
     * written; non-zero refuses the install with its `err` (the CLI checks
     * the manifest's asks against the installing agent). NULL = none. */
    int (*vet)(void *ctx, const struct astrid_manifest *m, astrid_err *err);
    void *vet_ctx;
    /* The engine to compile with (borrowed; the daemon's, whose cache is
     * bin/aot too); NULL = one is made for this install. */
    astrid_wasm_engine *engine;
    /* var/state.db as the process has it open, for the hook (hooks.h);
     * NULL = opened for the hook. */
    struct astrid_kv *kv;
    /* Set from another thread to give up (the requester went away):
     * checked after each stage and once more under the install lock right
     * before the commit. A cancelled install writes nothing. NULL = never. */
    const atomic_bool *cancel;
    /* Files of a directory source (Capsule.toml, the wasm, wit/) are read
     * only when their real path is not under this directory (realpath'd
     * by the caller): the daemon reads sources for a principal as the
     * operator's uid and passes $ASTRID_HOME. NULL = no such rule. */
    const char *forbid_under;
    /* What meta.json records as `source` (a remote source fetched into
     * `source` by the daemon, reference §15.3); NULL = source's real path. */
    const char *record_source;
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

/* Is the resolved path `real` `root` itself or below it? Both absolute
 * and free of symlinks (realpath). */
bool astrid_install_path_under(const char *real, const char *root);

/* meta.json topics[] from Capsule.toml's text (topics.c): [[topic]]
 * entries with `schema` baked from wit_type (the capsule's wit/ under
 * `src`) or a JSON-Schema file, and [publish]/[subscribe] entries whose
 * wit ref is a local type name. A wit_type or local ref that does not
 * resolve, or a schema file that is not JSON, refuses the install (the
 * error names the field). Returns a new array (maybe empty). */
struct json_t;
struct json_t *astrid_capsule_topics(const char *toml, size_t len, const char *src,
                                     astrid_err *err);

/* Safe unpack of a .capsule into the existing empty directory `dest`
 * (unpack.c; links libarchive). */
int astrid_capsule_unpack(const char *archive, const char *dest, astrid_err *err);

#endif
