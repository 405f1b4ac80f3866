/* The capability token store (reference §8.3, v2 keys): session tokens in
 * memory, persistent ones in LMDB (var/state.db):
 *   caps:tokens       {principal}/{token_id} -> token JSON (lib/caps/token.h)
 *   caps:token_index  {token_id}             -> principal
 *   caps:revoked      {token_id}             -> [1]
 *   caps:used         {token_id}             -> [1]   (single-use consumed)
 * Revocation and single-use consumption are global (about the token, not
 * the caller); lookups are per principal, and a token of another principal
 * is refused before its pattern is looked at.
 *
 * Verification cache: a token whose content hash (payload || signature)
 * verified once is not verified again; the cache holds hashes only, so a
 * changed byte is a miss and a fresh verify. A cached check allocates
 * nothing.
 *
 * Thread-safe: `tokens_lock` (rwlock) guards the token list and the
 * revoked/used sets; `cache_lock` guards the cache. Order: tokens_lock ->
 * cache_lock.
 *
 * Ownership: the store owns its tokens; results are copies. The kv is
 * borrowed and must outlive the store.
 */
#ifndef ASTRID_STORE_CAPTOKENS_H
#define ASTRID_STORE_CAPTOKENS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "astrid/err.h"
#include "lib/caps/token.h"
#include "store/kv.h"

typedef struct astrid_captokens astrid_captokens;

/* Open over `kv` (NULL: memory only) trusting `runtime_pk` as the only
 * issuer; loads persistent tokens and the revoked/used sets. A stored token
 * that fails to parse or verify (a v1 token, a forged one) is skipped and
 * counted in *refused (optional) with the last reason in *why (optional). */
astrid_captokens *astrid_captokens_open(astrid_kv *kv, const uint8_t runtime_pk[32],
                                        size_t *refused, astrid_err *why, astrid_err *err);
void astrid_captokens_close(astrid_captokens *s);

/* Verify and add (persistent ones written to LMDB first). */
int astrid_captokens_add(astrid_captokens *s, const astrid_captoken *t, astrid_err *err);

/* Check a presented token for (principal, resource, perm) at `now`, in
 * this order: principal (before the pattern), revoked, used, expiry,
 * pattern and permission, signature (cached by content hash). 0 = it
 * authorizes; -1 with the reason (ASTRID_E_PERM / ASTRID_E_CRYPTO). Does not
 * consume a single-use token. */
int astrid_captokens_check(astrid_captokens *s, const astrid_captoken *t, const char *principal,
                           const char *resource, unsigned perm, int64_t now, astrid_err *err);

/* Find a token of `principal` granting (resource, perm); a single-use one
 * is consumed atomically (persisted before it counts). 1 = found (copy in
 * *out, optional), 0 = none, -1 = error (the used mark could not be
 * persisted: fail closed). */
int astrid_captokens_find(astrid_captokens *s, const char *principal, const char *resource,
                          unsigned perm, int64_t now, astrid_captoken *out, astrid_err *err);

/* Revoke by id (persisted first); *existed (optional). */
int astrid_captokens_revoke(astrid_captokens *s, const char *id, bool *existed, astrid_err *err);
/* Drop the session tokens of `principal` (NULL = all). */
size_t astrid_captokens_clear_session(astrid_captokens *s, const char *principal);
/* Tokens held for `principal`. */
size_t astrid_captokens_count(astrid_captokens *s, const char *principal);
/* Cache statistics: signature verifications done (tests, benches). */
uint64_t astrid_captokens_verifies(astrid_captokens *s);

#endif
