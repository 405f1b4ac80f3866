/* The daemon's capsule runtime (capsules.c). Loop thread only. */
#ifndef ASTRID_KERNEL_CAPSULES_H
#define ASTRID_KERNEL_CAPSULES_H

#include <jansson.h>

#include "astrid/err.h"

struct astrid_kernel;

/* Engine (cache bin/aot) + every installed capsule; a capsule that fails
 * to load is logged and skipped, never fatal. */
int astrid_capsules_start(struct astrid_kernel *k, astrid_err *err);
void astrid_capsules_stop(struct astrid_kernel *k);
/* Unload everything, load again: {status:"reloaded", loaded, errors?}. */
json_t *astrid_capsules_reload(struct astrid_kernel *k);
/* The same for the capsules `owner` owns only (its home's; the
 * workspace's too for "default"): every other capsule and run loop goes
 * on untouched; `loaded` and `errors` tell of this owner's only. NULL
 * owner = astrid_capsules_reload. */
json_t *astrid_capsules_reload_owned(struct astrid_kernel *k, const char *owner);
/* [name...] (ListCapsules) and [{name, version, owner, interceptor_events,
 * principals:[{principal, invocations, errors, denied}], run_loop, ready,
 * uplinks, shared}] (GetCapsuleMetadata). */
json_t *astrid_capsules_names(struct astrid_kernel *k);
json_t *astrid_capsules_metadata(struct astrid_kernel *k);
/* The schema catalog (capsule_schema.c): the JSON Schema a loaded capsule
 * declares for `topic` (matched against its [[topic]] names, trailing .*
 * families included) in `direction` ("publish"/"subscribe"); a new
 * reference, NULL when none. Loop thread (reads the capsule table). */
json_t *astrid_capsules_topic_schema(struct astrid_kernel *k, const char *topic,
                                     const char *direction);

/* Capsule HTTP through libcurl (capsule_http.c): fill `ops` with the
 * daemon's client, its ctx = k. Process-wide curl_global_init belongs to
 * astrid_capsules_start. */
struct astrid_http_ops;
void astrid_kernel_http_ops(struct astrid_kernel *k, struct astrid_http_ops *ops);

#endif
