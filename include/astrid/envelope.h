/* Signed federation envelopes (issue #19). Pure functions: no I/O, no globals.
 * Signed bytes (all strings NUL-terminated, integers big-endian):
 *   "astrid-fed-v1\0" lattice\0 origin\0 topic\0 principal\0 seq(u64) ts_ms(i64)
 * blake3(payload)[32] Wire form (what goes in the NATS message body), one JSON object:
 *   {"v":1,"lattice":S,"origin":S,"topic":S,"principal":S,"seq":N,"ts_ms":N,
 *    "payload_b3":HEX64,"sig":HEX128,"payload":S}   (payload = the IpcMessage JSON text)
 * The receiver verifies with the key *its trust table* holds for `origin`, never a key carried
 * in the message.
 *
 * Batch envelopes (v2): one signature over several messages of ONE origin and topic (the
 * exporter seals what it has queued for one NATS subject at once). Signed bytes:
 *   "astrid-fed-batch-v2\0" lattice\0 origin\0 topic\0 n(u32) then per entry
 *   principal\0 seq(u64) ts_ms(i64) blake3(payload)[32]
 * Wire form: {"v":2,"lattice":S,"origin":S,"topic":S,"sig":HEX128,
 *   "entries":[{"principal":S,"seq":N,"ts_ms":N,"payload_b3":HEX64,"payload":S}, ...]}
 * A message alone still travels as v1. Every entry is replay-checked on its own; a signature
 * that fails refuses the whole batch. */
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

#define ASTRID_ENV_BATCH_VERSION 2
#define ASTRID_ENV_BATCH_MAX 256 /* entries per batch; more is refused on parse */
typedef struct astrid_env_entry {
    char principal[128];
    uint64_t seq;
    int64_t ts_ms;
    uint8_t payload_b3[32];
    /* seal: borrowed from the caller; open: malloc'd, freed by astrid_env_batch_free.
     * NULL with len 0 in a batch rebuilt from an audit entry (verify needs only the hash). */
    char *payload;
    size_t payload_len;
} astrid_env_entry;
typedef struct astrid_env_batch {
    int version; /* 1: one v1 envelope (n == 1), 2: a batch */
    char lattice[64];
    char origin[64];
    char topic[256];
    uint8_t sig[64];
    size_t n;
    astrid_env_entry *e; /* n entries; open: malloc'd (astrid_env_batch_free) */
} astrid_env_batch;
/* Seal b->e[0..n) (1 <= n <= ASTRID_ENV_BATCH_MAX, payloads given) as ONE v2 batch: fills
 * each entry's payload_b3 and b->sig; *out malloc'd, NUL-terminated (caller frees). Refuses
 * (ASTRID_E_LIMIT) a wire form over ASTRID_ENV_MAX_WIRE: the caller then seals singly. */
int astrid_envelope_batch_seal(astrid_env_batch *b, const astrid_keypair *kp, char **out,
                               size_t *out_len, astrid_err *err);
/* Parse a v1 envelope or a v2 batch into *b (version says which; a v1 is a batch of one). Same
 * refusals as astrid_envelope_parse, for every entry. Does NOT verify the signature. On
 * success the caller frees with astrid_env_batch_free; on failure *b is zeroed (nothing to
 * free). */
int astrid_envelope_open(const char *wire, size_t len, astrid_env_batch *b, astrid_err *err);
/* Verify b->sig with `pk`: v1 over entry 0's v1 signed bytes, v2 over the whole batch. Uses
 * only the signed fields (payloads are bound by their hashes, checked on parse). */
int astrid_env_batch_verify(const astrid_env_batch *b, const uint8_t pk[32], astrid_err *err);
/* Entry i as a v1 envelope struct (sig = the batch's signature), for audits and refusals. */
void astrid_env_batch_entry(const astrid_env_batch *b, size_t i, astrid_envelope *out);
void astrid_env_batch_free(astrid_env_batch *b);

#ifdef __cplusplus
}
#endif
#endif
