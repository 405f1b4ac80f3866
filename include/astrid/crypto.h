/* ed25519 keys and signatures (libsodium), randomness, hex and constant-time
 * comparison.
 *
 * Call astrid_crypto_init() once before any other function here (it is
 * idempotent and thread-safe; libsodium's sodium_init()).
 *
 * Key files: `keys/runtime.key` holds the 32-byte ed25519 seed, mode 0600.
 * The public key is derived from it; `keys/runtime.pub` (written by the
 * kernel) holds the 32-byte public key as 64 lowercase hex chars + "\n".
 */
#ifndef ASTRID_CRYPTO_H
#define ASTRID_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "astrid/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ASTRID_ED25519_SEED_LEN 32
#define ASTRID_ED25519_PK_LEN 32
#define ASTRID_ED25519_SK_LEN 64
#define ASTRID_ED25519_SIG_LEN 64

typedef struct astrid_keypair {
    uint8_t pk[ASTRID_ED25519_PK_LEN];
    uint8_t sk[ASTRID_ED25519_SK_LEN]; /* libsodium form: seed || pk */
} astrid_keypair;

int astrid_crypto_init(astrid_err *err);

/* Derive a key pair from a 32-byte seed. */
int astrid_keypair_from_seed(astrid_keypair *kp, const uint8_t seed[ASTRID_ED25519_SEED_LEN],
                             astrid_err *err);

/* Load the seed at `path`, or create it (random, 0600, atomic) when the file
 * does not exist. A file of the wrong size, or group/other-accessible, is an
 * error (never silently replaced). `*created` (optional) tells which. */
int astrid_keypair_load_or_create(astrid_keypair *kp, const char *path, bool *created,
                                  astrid_err *err);
/* Load only; ASTRID_E_NOTFOUND when absent. */
int astrid_keypair_load(astrid_keypair *kp, const char *path, astrid_err *err);

/* Wipe secret material. */
void astrid_keypair_wipe(astrid_keypair *kp);

void astrid_sign(uint8_t sig[ASTRID_ED25519_SIG_LEN], const void *msg, size_t len,
                 const astrid_keypair *kp);
bool astrid_verify(const uint8_t sig[ASTRID_ED25519_SIG_LEN], const void *msg, size_t len,
                   const uint8_t pk[ASTRID_ED25519_PK_LEN]);

void astrid_random_bytes(void *buf, size_t len);

/* Lowercase hex. `out` must hold 2*len+1 bytes; it is NUL-terminated. */
void astrid_hex_encode(char *out, const void *in, size_t len);
/* Decode exactly `outlen` bytes from a hex string of length 2*outlen (either
 * case). Returns -1 on bad length or digit. */
int astrid_hex_decode(void *out, size_t outlen, const char *hex, size_t hexlen);

/* Constant-time equality of two equal-length buffers (sodium_memcmp). */
bool astrid_ct_equal(const void *a, const void *b, size_t len);
/* Constant-time equality of two strings; lengths compared without leaking
 * content. */
bool astrid_ct_streq(const char *a, const char *b);

/* Standard base64 with padding (libsodium's ORIGINAL variant): the form
 * of [auth] public_keys entries and of identity files. Encode: `out`
 * holds ASTRID_B64_LEN(len) bytes, NUL-terminated. Decode: exactly
 * `outlen` bytes, whitespace not accepted; -1 on anything else. */
#define ASTRID_B64_LEN(n) ((((n) + 2u) / 3u) * 4u + 1u)
void astrid_b64_encode(char *out, const void *in, size_t len);
int astrid_b64_decode(void *out, size_t outlen, const char *b64);

/* ---- agent identities (docs/wire.md "Key authentication") ----------------
 * An identity file is TOML, mode 0600 (group/other access is refused, as
 * ssh does):
 *     principal = "erin"
 *     secret_key = "<base64 of the 32-byte ed25519 seed>"
 * Its public key (base64 of 32 bytes) is what `[auth] public_keys` lists. */
/* Load `path`: the key pair and the principal (out, `n` bytes). */
int astrid_identity_load(const char *path, astrid_keypair *kp, char *principal, size_t n,
                         astrid_err *err);
/* Create `path` (refusing to overwrite, 0600) with a fresh key pair for
 * `principal`; *kp gets it. */
int astrid_identity_create(const char *path, const char *principal, astrid_keypair *kp,
                           astrid_err *err);
/* The bytes a client signs to answer a handshake challenge:
 *     "astrid-handshake-v1\n" NONCE_HEX "\n" PRINCIPAL "\n" SOCKET_PATH
 * into `out` (`n` bytes). Returns the length, or -1 when it does not fit. */
int astrid_auth_message(char *out, size_t n, const char *nonce_hex, const char *principal,
                        const char *socket_path);

#ifdef __cplusplus
}
#endif
#endif
