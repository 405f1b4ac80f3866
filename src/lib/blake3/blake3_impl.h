/* Internals shared by the portable and SIMD BLAKE3 paths. */
#ifndef ASTRID_BLAKE3_IMPL_H
#define ASTRID_BLAKE3_IMPL_H

#include <stdbool.h>
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

/* Compress one 64-byte block in place of `cv`. */
void astrid_b3_compress_in_place(uint32_t cv[8], const uint8_t block[64], uint8_t block_len,
                                 uint64_t counter, uint8_t flags);
/* Full 16-word output of one compression (for XOF). */
void astrid_b3_compress_xof(const uint32_t cv[8], const uint8_t block[64], uint8_t block_len,
                            uint64_t counter, uint8_t flags, uint8_t out[64]);

/* Hash `n` whole 1024-byte chunks laid out consecutively at `input`, with
 * chunk counters counter..counter+n-1, writing n 32-byte chaining values. The
 * widest available SIMD path is used unless astrid_b3_force_portable is set. */
void astrid_b3_hash_chunks(const uint8_t *input, size_t n, const uint32_t key[8],
                           uint64_t counter, uint8_t flags, uint8_t *out);

/* Degree of parallelism of the selected path (1 or 8 chunks). */
size_t astrid_b3_simd_degree(void);

/* Tests and benchmarks flip this to compare paths; not for production use. */
void astrid_blake3_force_portable(bool on);

#if defined(__x86_64__)
void astrid_b3_hash8_avx2(const uint8_t *const *inputs, const uint32_t key[8], uint64_t counter,
                          uint8_t flags, uint8_t *out);
#endif

static inline uint32_t b3_load32(const void *p)
{
    const uint8_t *b = p;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline void b3_store32(void *p, uint32_t w)
{
    uint8_t *b = p;
    b[0] = (uint8_t)w;
    b[1] = (uint8_t)(w >> 8);
    b[2] = (uint8_t)(w >> 16);
    b[3] = (uint8_t)(w >> 24);
}

#endif
