/* Lifecycle hooks (reference §5.3, §15.3): `astrid-install` on a first
 * install, `astrid-upgrade` when meta.json already exists, run by the
 * installer (in the daemon, on an install worker) before anything is
 * written to the target, so a failing hook leaves the previous install
 * untouched.
 *
 * The hook runs as the capsule's owner: its KV namespace in var/state.db,
 * its home for fs, its capsule log; 10 minutes; the owner's memory quota.
 * There is no bus and no HTTP during install: those calls answer errors
 * saying so. */
#ifndef ASTRID_CAPSULE_HOOKS_H
#define ASTRID_CAPSULE_HOOKS_H

#include <stdbool.h>

#include "astrid/err.h"
#include "lib/manifest/manifest.h"
#include "capsule/wasm/engine.h"

#define ASTRID_HOOK_TIMEOUT_MS 600000u

struct astrid_kv;

/* Run the hook if the module exports it. *ran (optional) tells whether it
 * did. Errors name the hook and the cause. `kv` is var/state.db as the
 * process already has it open (borrowed; LMDB allows one environment per
 * file and process, so the daemon passes its own); NULL = opened and
 * closed here. */
int astrid_capsule_run_hook(const char *home, struct astrid_kv *kv, astrid_wasm_module *mod,
                            const astrid_manifest *m, const char *principal, bool upgrade,
                            bool *ran, astrid_err *err);

#endif
