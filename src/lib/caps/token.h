/* Capability tokens, signing format v2 (reference §8.1, seed: "CapabilityToken
 * signing format bumped v1 -> v2 with principal signed into the payload").
 *
 * Pure code: the canonical payload, ed25519 sign/verify by the runtime key,
 * the JSON form stored in LMDB (store/captokens.c) and the resource
 * patterns of §8.2. No state.
 *
 * Ownership: an astrid_captoken is a plain value (fixed-size fields, no
 * pointers); copy it freely.
 */
#ifndef ASTRID_LIB_CAPS_TOKEN_H
#define ASTRID_LIB_CAPS_TOKEN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "astrid/crypto.h"
#include "astrid/err.h"

#define ASTRID_TOKEN_VERSION 2
#define ASTRID_TOKEN_RESOURCE_MAX 1024
#define ASTRID_TOKEN_PRINCIPAL_MAX 64
/* version + id + resource + 7 perms + times + scope + issuer + user + audit
 * id + single_use + principal, with room to spare: the payload always fits
 * a stack buffer of this size, so checks never allocate. */
#define ASTRID_TOKEN_PAYLOAD_MAX 2048
#define ASTRID_TOKEN_SKEW_SECS 30 /* expiry tolerance, as upstream */

/* Permissions (snake_case on the wire); a bit each. */
enum {
    ASTRID_PERM_READ = 1u << 0,
    ASTRID_PERM_WRITE = 1u << 1,
    ASTRID_PERM_EXECUTE = 1u << 2,
    ASTRID_PERM_DELETE = 1u << 3,
    ASTRID_PERM_INVOKE = 1u << 4,
    ASTRID_PERM_LIST = 1u << 5,
    ASTRID_PERM_CREATE = 1u << 6,
};
/* "read" -> ASTRID_PERM_READ; 0 for an unknown name. */
unsigned astrid_perm_parse(const char *name);
const char *astrid_perm_name(unsigned bit);

typedef struct astrid_captoken {
    char id[37]; /* UUID v4 */
    char resource[ASTRID_TOKEN_RESOURCE_MAX + 1];
    unsigned perms;     /* ASTRID_PERM_* bits */
    int64_t issued_at;  /* unix seconds */
    int64_t expires_at; /* 0 = never */
    bool persistent;    /* scope "persistent", else "session" */
    uint8_t issuer[ASTRID_ED25519_PK_LEN];
    uint8_t user_id[8];
    char approval_audit_id[37]; /* UUID */
    bool single_use;
    char principal[ASTRID_TOKEN_PRINCIPAL_MAX + 1];
    uint8_t signature[ASTRID_ED25519_SIG_LEN];
    /* BLAKE3 of payload || signature (astrid_captoken_hash), filled by
     * mint and from_json; not signed, not serialized. A token built by
     * hand gets it from astrid_captoken_hash before it is checked. */
    uint8_t content_hash[32];
} astrid_captoken;

/* The canonical signing payload (v2: ends with lp(principal)) into `buf`
 * (at least ASTRID_TOKEN_PAYLOAD_MAX bytes); returns its length. */
size_t astrid_captoken_payload(const astrid_captoken *t, uint8_t *buf);
/* BLAKE3 of payload || signature: the key of the verification cache (two
 * tokens with one hash are the same signed bytes). */
void astrid_captoken_hash(const astrid_captoken *t, uint8_t out[32]);

/* Fill id (new UUID), issued_at (now), issuer and user_id from `key`, then
 * sign. The caller sets resource, perms, expires_at, persistent,
 * approval_audit_id, single_use and principal first; those are checked
 * (pattern valid, principal valid, perms non-empty). */
int astrid_captoken_mint(astrid_captoken *t, const astrid_keypair *key, astrid_err *err);
/* The signature over the v2 payload by t->issuer, and the issuer is
 * `trusted` (the runtime key). ASTRID_E_CRYPTO when not. */
int astrid_captoken_verify_sig(const astrid_captoken *t, const uint8_t trusted[32],
                               astrid_err *err);
/* now > expires_at + 30 s. */
bool astrid_captoken_expired(const astrid_captoken *t, int64_t now);
/* Pattern matches `resource` and `perm` is granted. */
bool astrid_captoken_grants(const astrid_captoken *t, const char *resource, unsigned perm);

/* JSON form (upstream's field names; base64 -> hex here, see
 * docs/authority.md; plus "version": 2). New reference. */
json_t *astrid_captoken_to_json(const astrid_captoken *t);
/* Parse. A token without "principal" or with version 1 is refused with
 * an error naming re-mint (no silent migration). */
int astrid_captoken_from_json(const json_t *j, astrid_captoken *t, astrid_err *err);

/* ResourcePattern (§8.2): scheme://rest, no `..` segment after ://, at
 * most ASTRID_TOKEN_RESOURCE_MAX bytes. */
int astrid_resource_pattern_check(const char *pattern, astrid_err *err);
/* Glob (`*`, `?`, `[`) or exact; a resource containing a `..` segment
 * never matches. */
bool astrid_resource_matches(const char *pattern, const char *resource);

#endif
