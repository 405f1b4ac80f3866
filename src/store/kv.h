/* Namespaced key-value store on LMDB (var/state.db), shared by the kernel's
 * stores: capsule KV (`{principal}:capsule:{id}`), capability tokens,
 * identity (`system:identity`).
 *
 * Physical key = namespace ‖ 0x00 ‖ key (reference §11.1), so a namespace is a
 * contiguous range. Namespaces and keys are non-empty and contain no NUL;
 * namespace + key must fit LMDB's 511-byte key limit. Every set/delete is its
 * own committed transaction, durable as its astrid_kv_sync says (the
 * uncharged calls: ASTRID_KV_DURABLE).
 *
 * Thread safety: one astrid_kv per process, shared by all threads (the env is
 * opened with MDB_NOTLS; writers are serialised, by LMDB and by the
 * handle's write lock that guards the env's sync flag).
 * Ownership: astrid_kv_close() frees the handle; values and key lists
 * returned are malloc'd and owned by the caller (free(), astrid_kv_keys_free()).
 */
#ifndef ASTRID_STORE_KV_H
#define ASTRID_STORE_KV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "astrid/err.h"

typedef struct astrid_kv astrid_kv;

#define ASTRID_KV_DEFAULT_MAP_SIZE (1ull << 30)
#define ASTRID_KV_MAX_VALUE (64u * 1024u * 1024u)

/* How a write reaches the disk before it returns. Either way a committed
 * write is visible to every reader at once and survives the process being
 * killed (it is in the OS's page cache), and the database stays intact
 * whatever happens.
 *   ASTRID_KV_DURABLE: data and meta page synced (fdatasync + an O_DSYNC
 *     meta write): survives a power loss once returned.
 *   ASTRID_KV_META_LAZY: data synced, the meta page written but not synced
 *     (LMDB's MDB_NOMETASYNC): one sync instead of two. A power loss or OS
 *     crash may undo the last such transaction; the next write of either
 *     kind, astrid_kv_flush() or astrid_kv_close() makes it durable. */
typedef enum astrid_kv_sync {
    ASTRID_KV_DURABLE = 0,
    ASTRID_KV_META_LAZY = 1,
} astrid_kv_sync;

/* Open (creating `dir` 0700 when missing) with a maximum size of `map_size`
 * bytes (0 = ASTRID_KV_DEFAULT_MAP_SIZE). */
int astrid_kv_open(astrid_kv **out, const char *dir, size_t map_size, astrid_err *err);
/* Syncs the meta page of a META_LAZY commit first (see astrid_kv_flush). */
void astrid_kv_close(astrid_kv *kv);
/* Every write ASTRID_KV_DURABLE whatever it asks (ASTRID_KV_SYNC=full, the
 * old behaviour, for comparison). Call before other threads use `kv`. */
void astrid_kv_set_durable_only(astrid_kv *kv, bool on);
/* Make every committed write durable now (mdb_env_sync). */
int astrid_kv_flush(astrid_kv *kv, astrid_err *err);

/* *val = malloc'd copy (NUL-terminated for convenience, not counted in
 * *len) or NULL when the key is absent; both return 0. */
int astrid_kv_get(astrid_kv *kv, const char *ns, const char *key, char **val, size_t *len,
                  astrid_err *err);
int astrid_kv_set(astrid_kv *kv, const char *ns, const char *key, const void *val, size_t len,
                  astrid_err *err);
/* Several keys of `ns` in one transaction: all of them are stored, or
 * (error) none. Records that must exist together (a user and its name
 * index) go through here, so no crash or failed write leaves half. The
 * pairs are borrowed. */
typedef struct astrid_kv_pair {
    const char *key;
    const void *val;
    size_t len;
} astrid_kv_pair;
int astrid_kv_set_many(astrid_kv *kv, const char *ns, size_t n, const astrid_kv_pair *pairs,
                       astrid_err *err);
/* `existed` (optional) tells whether a key was removed. */
int astrid_kv_delete(astrid_kv *kv, const char *ns, const char *key, bool *existed,
                     astrid_err *err);

typedef struct astrid_kv_keys {
    char **keys; /* each malloc'd, in byte order */
    size_t count;
} astrid_kv_keys;

/* Keys of `ns` starting with `prefix` ("" = all). */
int astrid_kv_list(astrid_kv *kv, const char *ns, const char *prefix, astrid_kv_keys *out,
                   astrid_err *err);
void astrid_kv_keys_free(astrid_kv_keys *keys);

/* Delete every key of `ns` starting with `prefix` in one transaction. */
int astrid_kv_clear_prefix(astrid_kv *kv, const char *ns, const char *prefix, uint64_t *removed,
                           astrid_err *err);

/* Storage accounting (max_storage_bytes, store/storage.h). A charged write
 * reports the byte change it makes (physical key + value bytes) to
 * `charge`: a growth (delta > 0) inside its write transaction, before the
 * put; a non-zero return refuses it: the transaction is aborted, the
 * stored value stays, and the callback's `err` is returned; a write that
 * then fails gives it back (-delta). A shrink or removal (delta < 0) is
 * reported after the commit and must be accepted (err NULL). */
typedef int (*astrid_kv_charge_fn)(void *ctx, int64_t delta, astrid_err *err);
int astrid_kv_set_charged(astrid_kv *kv, const char *ns, const char *key, const void *val,
                          size_t len, astrid_kv_sync sync, astrid_kv_charge_fn charge, void *ctx,
                          astrid_err *err);
int astrid_kv_delete_charged(astrid_kv *kv, const char *ns, const char *key, bool *existed,
                             astrid_kv_sync sync, astrid_kv_charge_fn charge, void *ctx,
                             astrid_err *err);
int astrid_kv_clear_prefix_charged(astrid_kv *kv, const char *ns, const char *prefix,
                                   uint64_t *removed, astrid_kv_sync sync,
                                   astrid_kv_charge_fn charge, void *ctx, astrid_err *err);
/* Physical key + value bytes of every record whose physical key starts
 * with `raw_prefix` ("bob:capsule:" = all of bob's capsule namespaces). */
int astrid_kv_usage(astrid_kv *kv, const char *raw_prefix, uint64_t *bytes, astrid_err *err);

/* Copy every key of `src_ns` into `dst_ns` (overwriting), one transaction. */
int astrid_kv_copy_namespace(astrid_kv *kv, const char *src_ns, const char *dst_ns,
                             uint64_t *copied, astrid_err *err);

#endif
