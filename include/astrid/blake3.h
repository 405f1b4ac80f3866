/* BLAKE3 (hash, keyed hash, derive_key, incremental update, extendable
 * output). Written here because Debian 12 has no package for it; checked
 * against the official test vectors and Debian's b3sum.
 *
 * The hasher is a plain value: no heap, copyable, caller-owned.
 */
#ifndef ASTRID_BLAKE3_H
#define ASTRID_BLAKE3_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ASTRID_BLAKE3_KEY_LEN 32
#define ASTRID_BLAKE3_OUT_LEN 32
#define ASTRID_BLAKE3_BLOCK_LEN 64
#define ASTRID_BLAKE3_CHUNK_LEN 1024
#define ASTRID_BLAKE3_MAX_DEPTH 54

typedef struct astrid_blake3_chunk_state {
    uint32_t cv[8];
    uint64_t chunk_counter;
    uint8_t buf[ASTRID_BLAKE3_BLOCK_LEN];
    uint8_t buf_len;
    uint8_t blocks_compressed;
    uint8_t flags;
} astrid_blake3_chunk_state;

typedef struct astrid_blake3_hasher {
    uint32_t key[8];
    astrid_blake3_chunk_state chunk;
    uint8_t cv_stack_len;
    uint8_t cv_stack[(ASTRID_BLAKE3_MAX_DEPTH + 1) * ASTRID_BLAKE3_OUT_LEN];
} astrid_blake3_hasher;

void astrid_blake3_init(astrid_blake3_hasher *h);
void astrid_blake3_init_keyed(astrid_blake3_hasher *h, const uint8_t key[ASTRID_BLAKE3_KEY_LEN]);
/* `context` is a NUL-terminated, hard-coded, globally unique string. */
void astrid_blake3_init_derive_key(astrid_blake3_hasher *h, const char *context);
void astrid_blake3_update(astrid_blake3_hasher *h, const void *input, size_t len);
/* Write `out_len` bytes of output (any length: XOF). Does not modify `h`, so
 * more input may follow. */
void astrid_blake3_finalize(const astrid_blake3_hasher *h, uint8_t *out, size_t out_len);
/* Output starting at byte offset `seek` of the extendable output. */
void astrid_blake3_finalize_seek(const astrid_blake3_hasher *h, uint64_t seek, uint8_t *out,
                                 size_t out_len);

/* One-shot 32-byte hash. */
void astrid_blake3(const void *input, size_t len, uint8_t out[ASTRID_BLAKE3_OUT_LEN]);
/* One-shot hash as 64 lowercase hex chars + NUL. */
void astrid_blake3_hex(const void *input, size_t len, char out[2 * ASTRID_BLAKE3_OUT_LEN + 1]);

/* Tests and benchmarks: nonzero makes every hasher in the process use the
 * portable C path instead of SSE4.1/AVX2; results are identical either way. */
void astrid_blake3_force_portable(int on);
/* "avx2", "sse4.1" or "portable": the path update() uses right now. */
const char *astrid_blake3_backend_name(void);

#ifdef __cplusplus
}
#endif
#endif
