/* Internal to src/lib/blake3: the compression function and the multi-chunk
 * backends (portable, SSE4.1, AVX2). Not part of the public API. */
#ifndef ASTRID_BLAKE3_IMPL_H
#define ASTRID_BLAKE3_IMPL_H

#include <stddef.h>
#include <stdint.h>

enum {
    B3_CHUNK_START = 1 << 0,
    B3_CHUNK_END = 1 << 1,
    B3_PARENT = 1 << 2,
    B3_ROOT = 1 << 3,
    B3_KEYED_HASH = 1 << 4,
    B3_DERIVE_KEY_CONTEXT = 1 << 5,
    B3_DERIVE_KEY_MATERIAL = 1 << 6,
};

extern const uint32_t astrid_b3_iv[8];
extern const uint8_t astrid_b3_msg_schedule[7][16];

static inline uint32_t b3_load32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void b3_store32(uint8_t *p, uint32_t w)
{
    p[0] = (uint8_t)w;
    p[1] = (uint8_t)(w >> 8);
    p[2] = (uint8_t)(w >> 16);
    p[3] = (uint8_t)(w >> 24);
}

void astrid_b3_compress_in_place(uint32_t cv[8], const uint8_t block[64], uint8_t block_len,
                                 uint64_t counter, uint8_t flags);
void astrid_b3_compress_xof(const uint32_t cv[8], const uint8_t block[64], uint8_t block_len,
                            uint64_t counter, uint8_t flags, uint8_t out[64]);

/* Hash `n` whole, contiguous 1024-byte chunks starting at `input`, the first
 * with chunk counter `counter`, none of them the root. Writes n 32-byte
 * chaining values to `out`. */
typedef void (*astrid_b3_hash_chunks_fn)(const uint8_t *input, size_t n, const uint32_t key[8],
                                         uint64_t counter, uint8_t flags, uint8_t *out);

void astrid_b3_hash_chunks_portable(const uint8_t *input, size_t n, const uint32_t key[8],
                                    uint64_t counter, uint8_t flags, uint8_t *out);
#if defined(__x86_64__) || defined(__i386__)
#define ASTRID_B3_X86 1
void astrid_b3_hash_chunks_sse41(const uint8_t *input, size_t n, const uint32_t key[8],
                                 uint64_t counter, uint8_t flags, uint8_t *out);
void astrid_b3_hash_chunks_avx2(const uint8_t *input, size_t n, const uint32_t key[8],
                                uint64_t counter, uint8_t flags, uint8_t *out);
#else
#define ASTRID_B3_X86 0
#endif

/* The backend for this CPU (or the portable one when forced), and how many
 * chunks it wants at once for full speed. */
astrid_b3_hash_chunks_fn astrid_b3_backend(size_t *degree);

#endif
