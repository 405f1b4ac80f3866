/* The federation trust table (issue #19): which hosts' runtime keys this
 * host believes, in etc/trust.toml:
 *     [[host]]
 *     name = "B"
 *     pubkey = "<64 lowercase hex: B's keys/runtime.pub>"
 *     added = "<rfc3339 UTC>"
 * Written atomically, 0600. A file that is group/other-writable, malformed,
 * holds an unknown key, a bad name or key, or one host twice is refused
 * whole: an envelope is only ever verified against a table that loaded
 * cleanly (fail closed). A missing file is an empty table.
 *
 * Ownership: an astrid_trust is owned by whoever loaded/created it and freed
 * with astrid_trust_free(); strings returned by the accessors are borrowed
 * from it. Not thread-safe: the daemon guards its copy with a lock. */
#ifndef ASTRID_TRUST_H
#define ASTRID_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "astrid/err.h"
#include "astrid/fedconf.h"
#include "astrid/principal.h"
#include "astrid/profile.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The profile remote principal `id` is checked against: a copy of `base`
 * (its own profile "alice@B"; NULL when it has none: then enabled, with
 * nothing) keeping only what authz reads (enabled, groups, grants,
 * revokes), plus `mapped_group` (the [[map]] group of etc/federation.toml,
 * astrid_fedconf_map_group: an exact "alice@B" entry before "*@B"; NULL
 * for none). Nothing by default. One reference for the caller (release);
 * NULL with err on a bad id or allocation failure. */
astrid_profile *astrid_fed_remote_profile(const char *id, const astrid_profile *base,
                                          const char *mapped_group, astrid_err *err);

typedef struct astrid_trust astrid_trust;

/* An empty table (NULL on allocation failure). */
astrid_trust *astrid_trust_new(void);
/* Load `home`/etc/trust.toml (absent: empty table). */
int astrid_trust_load(const char *home, astrid_trust **out, astrid_err *err);
/* Parse a document; `path` names it in messages. */
int astrid_trust_parse(const char *text, size_t len, const char *path, astrid_trust **out,
                       astrid_err *err);
/* Write the table to `home`/etc/trust.toml (atomic, 0600). */
int astrid_trust_save(const astrid_trust *t, const char *home, astrid_err *err);
/* The TOML text of the table (malloc'd, caller frees). */
char *astrid_trust_emit(const astrid_trust *t, astrid_err *err);
void astrid_trust_free(astrid_trust *t);

/* 0 and the key in `pk` when `host` is trusted, else -1. */
int astrid_trust_lookup(const astrid_trust *t, const char *host, uint8_t pk[32]);
size_t astrid_trust_count(const astrid_trust *t);
/* The i-th host in file order: name, key, added (borrowed). -1 past the end. */
int astrid_trust_at(const astrid_trust *t, size_t i, const char **name, uint8_t pk[32],
                    const char **added);

/* Add `host` with `pubkey_hex` (64 hex digits, either case; stored lower).
 * `added` is an RFC 3339 timestamp (NULL: now, UTC). ASTRID_E_EXISTS when
 * the host is already there (remove it first: a key is never silently
 * replaced); ASTRID_E_INVALID for a bad name or key. */
int astrid_trust_add(astrid_trust *t, const char *host, const char *pubkey_hex, const char *added,
                     astrid_err *err);
/* ASTRID_E_NOTFOUND when absent. */
int astrid_trust_remove(astrid_trust *t, const char *host, astrid_err *err);

#ifdef __cplusplus
}
#endif
#endif
