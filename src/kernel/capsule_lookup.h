/* The kernel's index of loaded capsules by runtime UUID, for
 * check-capsule-capability (capsule_lookup.c).
 *
 * Why an index and not k->capsules: host functions run on the dispatcher
 * and run-loop threads, while k->capsules belongs to the loop thread and
 * is freed capsule by capsule during a reload (each free waits for running
 * chains, so holding a lock across it would deadlock a handler that asks).
 * The index copies what lookups need and is guarded by its own
 * `index_lock`, held only for a copy or a scan.
 *
 * Ownership: astrid_capsule_index_new returns an index the kernel frees
 * with astrid_capsule_index_free; entries are copies (nothing borrowed).
 */
#ifndef ASTRID_KERNEL_CAPSULE_LOOKUP_H
#define ASTRID_KERNEL_CAPSULE_LOOKUP_H

#include <stdbool.h>

#include "astrid/err.h"
#include "lib/manifest/manifest.h"

typedef struct astrid_capsule_index astrid_capsule_index;

astrid_capsule_index *astrid_capsule_index_new(astrid_err *err);
void astrid_capsule_index_free(astrid_capsule_index *ix);
/* Record a loaded capsule (thread-safe). */
int astrid_capsule_index_add(astrid_capsule_index *ix, const char *uuid, const astrid_manifest *m,
                             astrid_err *err);
/* Forget one capsule (a scoped reload unloads it). */
void astrid_capsule_index_remove(astrid_capsule_index *ix, const char *uuid);
/* Forget every capsule (before a reload or shutdown frees them). */
void astrid_capsule_index_clear(astrid_capsule_index *ix);
/* Whether `uuid` is a loaded capsule's source id (thread-safe). */
bool astrid_capsule_index_has(astrid_capsule_index *ix, const char *uuid);
/* astrid_host_env.capsule_flag over an index (ctx): the only flag is
 * "allow_prompt_injection"; unknown UUID or flag: 0 with *out = false. */
int astrid_capsule_lookup_flag(void *ctx, const char *uuid, const char *cap, bool *out);

#endif
