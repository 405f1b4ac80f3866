/* Signed federation envelopes (issue #19). Pure functions: no I/O, no globals.
 * Signed bytes (all strings NUL-terminated, integers big-endian):
 *   "astrid-fed-v1\0" lattice\0 origin\0 topic\0 principal\0 seq(u64) ts_ms(i64)
 * blake3(payload)[32] Wire form (what goes in the NATS message body), one JSON object:
 *   {"v":1,"lattice":S,"origin":S,"topic":S,"principal":S,"seq":N,"ts_ms":N,
 *    "payload_b3":HEX64,"sig":HEX128,"payload":S}   (payload = the IpcMessage JSON text)
 * The receiver verifies with the key *its trust table* holds for `origin`, never a key carried
 * in the message. */
#ifndef ASTRID_ENVELOPE_H
#define ASTRID_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "astrid/crypto.h"
#include "astrid/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ASTRID_ENV_VERSION 1
#define ASTRID_ENV_MAX_WIRE (4u << 20) /* larger bodies are refused before parsing */
typedef struct astrid_envelope {
    char lattice[64];
    char origin[64]; /* sending host's name as in trust tables */
    char topic[256];
    char principal[128]; /* principal on the origin host, "" for the kernel itself */
    uint64_t seq;        /* per origin; starts at the origin's boot time in µs, +1 per message */
    int64_t ts_ms;       /* origin wall clock */
    uint8_t payload_b3[32];
    uint8_t sig[64];
} astrid_envelope;
/* Fill env->payload_b3 and env->sig for `payload`; *out (malloc'd, caller frees) is the wire
 * JSON, NUL-terminated, *out_len without the NUL. */
int astrid_envelope_seal(astrid_envelope *env, const char *payload, size_t payload_len,
                         const astrid_keypair *kp, char **out, size_t *out_len, astrid_err *err);
/* Parse the wire form (size, JSON, field lengths, version, hash of payload). *payload is
 * malloc'd (caller frees). Does NOT verify the signature. */
int astrid_envelope_parse(const char *wire, size_t len, astrid_envelope *env, char **payload,
                          size_t *payload_len, astrid_err *err);
/* Verify env->sig over the signed bytes with `pk` (from the trust table). */
int astrid_envelope_verify(const astrid_envelope *env, const uint8_t pk[32], astrid_err *err);
/* Replay/skew window for ONE origin: refuse seq already seen (a 1024-wide sliding bitmap below
 * the highest seq; anything older than the window refused) and |ts_ms - now_ms| > skew_ms. */
typedef struct astrid_replay_window {
    uint64_t top; /* highest seq accepted, 0 = none yet */
    uint64_t bits[16];
} astrid_replay_window;
int astrid_replay_check(astrid_replay_window *w, uint64_t seq, int64_t ts_ms, int64_t now_ms,
                        int64_t skew_ms, astrid_err *err);

#ifdef __cplusplus
}
#endif
#endif
