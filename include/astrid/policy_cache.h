/* Profile cache and hot-swappable group config (C counterpart of ArcSwap).
 *
 * astrid_group_swap: holds the current astrid_group_config.
 *   Readers (astrid_group_swap_acquire) take NO lock. Scheme: two reader
 *   counters `active[2]` and an epoch bit. A reader reads the epoch e,
 *   increments active[e], loads the config pointer, increments the config's
 *   refcount, then decrements active[e]. A writer (serialized by
 *   `writers_lock`, which guards only the writer side) exchanges the pointer,
 *   flips the epoch, and waits until active[old e] drains to 0 before dropping
 *   its reference to the old config.
 *   Memory ordering: all counter/pointer/epoch operations are seq_cst. If a
 *   reader loaded the OLD pointer, its load precedes the writer's exchange in
 *   the single total order, hence so does its increment of active[e]; the
 *   writer's drain-wait therefore cannot finish before that reader has taken
 *   its own reference. If the writer's wait did not observe a reader's
 *   increment, that increment (and the later pointer load) follow the
 *   exchange, so the reader sees the NEW pointer. New readers go to the other
 *   counter after the flip, so a stream of readers cannot starve a writer.
 *   A snapshot stays valid until astrid_groups_unref(), whatever swaps happen.
 *
 * astrid_profile_cache: principal -> profile, loaded lazily from
 *   `{home}/etc/profiles`. `profiles_lock` (mutex) guards the entry table
 *   only; loading happens outside it. Load errors are returned, never cached.
 *   astrid_profile_cache_get returns a counted reference: the caller releases
 *   it with astrid_profile_release(). invalidate() drops the cache's
 *   reference; holders keep theirs. */
#ifndef ASTRID_POLICY_CACHE_H
#define ASTRID_POLICY_CACHE_H
#include "astrid/err.h"
#include "astrid/groups.h"
#include "astrid/profile.h"
#ifdef __cplusplus
extern "C" {
#endif
typedef struct astrid_group_swap astrid_group_swap;
/* Takes ownership of the caller's reference to `initial`. */
astrid_group_swap *astrid_group_swap_new(astrid_group_config *initial, astrid_err *err);
/* Frees the swap; no acquire/store may be in flight. Snapshots stay valid. */
void astrid_group_swap_free(astrid_group_swap *s);
/* Counted snapshot (release with astrid_groups_unref). Lock-free. */
astrid_group_config *astrid_group_swap_acquire(astrid_group_swap *s);
/* Publish `next` (takes ownership of the caller's reference). */
void astrid_group_swap_store(astrid_group_swap *s, astrid_group_config *next);

typedef struct astrid_profile_cache astrid_profile_cache;
astrid_profile_cache *astrid_profile_cache_new(const char *home, astrid_err *err);
void astrid_profile_cache_free(astrid_profile_cache *c);
const astrid_profile *astrid_profile_cache_get(astrid_profile_cache *c, const char *principal,
                                               astrid_err *err);
void astrid_profile_cache_invalidate(astrid_profile_cache *c, const char *principal);
#ifdef __cplusplus
}
#endif
#endif
