/* The storage accountant: bytes each principal stores, held against its
 * max_storage_bytes quota (docs/capsules.md, "Storage quota and logs").
 *
 * What counts for principal P: its capsule KV (every record whose physical
 * key starts with "P:capsule:", key + value bytes), and the regular files
 * under home/P/ (capsule logs, home:// and /tmp files) except
 * .local/capsules/ (installed by operators, not written by guests) — that is
 * what astrid_storage_measure_principal reports. Workspace files a capsule
 * writes for P are charged to P from then on (the workspace is shared, so a
 * re-measurement cannot attribute them and does not count them).
 *
 * Usage is measured once per principal, lazily, at its first charge (a
 * callback does the measuring), then kept by deltas: a write charges what
 * it adds, an overwrite the difference, a delete/unlink/rotation credits.
 * A positive charge that would take usage past `max` is refused with
 * ASTRID_E_LIMIT "storage quota exceeded for principal P: MAX bytes
 * (max_storage_bytes)"; credits and zero are always accepted (usage floors
 * at 0). `max` is passed by the caller at charge time, so a quota change
 * takes effect at the next write.
 *
 * Thread safety: any thread. `table_lock` guards the principal table;
 * each principal's `usage_lock` guards its counters and is held while it
 * is measured, so a write never sees a half-measured principal.
 * Ownership: astrid_storage_new returns a handle freed by
 * astrid_storage_free; principal strings are copied.
 */
#ifndef ASTRID_STORE_STORAGE_H
#define ASTRID_STORE_STORAGE_H

#include <stdint.h>

#include "astrid/err.h"

struct astrid_kv;
typedef struct astrid_storage astrid_storage;

/* Measure the principal's current usage into *bytes; 0 or -1 with err. */
typedef int (*astrid_storage_measure_fn)(void *ctx, const char *principal, uint64_t *bytes,
                                         astrid_err *err);

astrid_storage *astrid_storage_new(astrid_storage_measure_fn measure, void *ctx, astrid_err *err);
void astrid_storage_free(astrid_storage *s);

/* Charge `delta` bytes (negative = credit) to `principal` against `max`.
 * 0 = accepted; -1 = refused (ASTRID_E_LIMIT, quota message) or the
 * measurement failed. When a positive charge is accepted after log lines
 * were dropped, *drops_ended (optional) receives how many were dropped
 * (and the count restarts); else 0. */
int astrid_storage_charge(astrid_storage *s, const char *principal, int64_t delta, uint64_t max,
                          uint64_t *drops_ended, astrid_err *err);
/* Current usage (measured first if needed). */
int astrid_storage_used(astrid_storage *s, const char *principal, uint64_t *used, astrid_err *err);
/* Count one dropped log line; returns the count since the last accepted
 * positive charge (1 = the first: time to warn). */
uint64_t astrid_storage_note_drop(astrid_storage *s, const char *principal);
/* Forget the principal: its next charge measures again (after an agent is
 * deleted, or an operator cleaned up its home). */
void astrid_storage_forget(astrid_storage *s, const char *principal);

/* The quota error, as the accountant words it. */
int astrid_storage_quota_err(astrid_err *err, const char *principal, uint64_t max);

/* Apparent size of the regular files under `dir` (symlinks not followed,
 * directories count 0), leaving out the subtree `skip` (relative to dir,
 * NULL = none). A missing dir is 0. */
int astrid_storage_du(const char *dir, const char *skip, uint64_t *bytes, astrid_err *err);
/* The default measurement: KV under "P:capsule:" plus
 * du(home/P, skip .local/capsules). `home` is $ASTRID_HOME. */
int astrid_storage_measure_principal(struct astrid_kv *kv, const char *home, const char *principal,
                                     uint64_t *bytes, astrid_err *err);

#endif
