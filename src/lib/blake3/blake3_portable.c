/* BLAKE3 compression function, portable C; the reference for every SIMD
 * backend. */
#include <string.h>

#include "lib/blake3/blake3_impl.h"

const uint32_t astrid_b3_iv[8] = {0x6A09E667u, 0xBB67AE85u, 0x3C6EF372u, 0xA54FF53Au,
                                  0x510E527Fu, 0x9B05688Cu, 0x1F83D9ABu, 0x5BE0CD19u};

const uint8_t astrid_b3_msg_schedule[7][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8},
    {3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1},
    {10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6},
    {12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4},
    {9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7},
    {11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13},
};

static inline uint32_t rotr32(uint32_t w, unsigned c)
{
    return (w >> c) | (w << (32 - c));
}

static inline void g(uint32_t *s, int a, int b, int c, int d, uint32_t x, uint32_t y)
{
    s[a] = s[a] + s[b] + x;
    s[d] = rotr32(s[d] ^ s[a], 16);
    s[c] = s[c] + s[d];
    s[b] = rotr32(s[b] ^ s[c], 12);
    s[a] = s[a] + s[b] + y;
    s[d] = rotr32(s[d] ^ s[a], 8);
    s[c] = s[c] + s[d];
    s[b] = rotr32(s[b] ^ s[c], 7);
}

static void compress_pre(uint32_t s[16], const uint32_t cv[8], const uint8_t block[64],
                         uint8_t block_len, uint64_t counter, uint8_t flags)
{
    uint32_t m[16];
    for (int i = 0; i < 16; i++)
        m[i] = b3_load32(block + 4 * i);
    memcpy(s, cv, 8 * sizeof(uint32_t));
    memcpy(s + 8, astrid_b3_iv, 4 * sizeof(uint32_t));
    s[12] = (uint32_t)counter;
    s[13] = (uint32_t)(counter >> 32);
    s[14] = block_len;
    s[15] = flags;
    for (int r = 0; r < 7; r++) {
        const uint8_t *sc = astrid_b3_msg_schedule[r];
        g(s, 0, 4, 8, 12, m[sc[0]], m[sc[1]]);
        g(s, 1, 5, 9, 13, m[sc[2]], m[sc[3]]);
        g(s, 2, 6, 10, 14, m[sc[4]], m[sc[5]]);
        g(s, 3, 7, 11, 15, m[sc[6]], m[sc[7]]);
        g(s, 0, 5, 10, 15, m[sc[8]], m[sc[9]]);
        g(s, 1, 6, 11, 12, m[sc[10]], m[sc[11]]);
        g(s, 2, 7, 8, 13, m[sc[12]], m[sc[13]]);
        g(s, 3, 4, 9, 14, m[sc[14]], m[sc[15]]);
    }
}

void astrid_b3_compress_in_place(uint32_t cv[8], const uint8_t block[64], uint8_t block_len,
                                 uint64_t counter, uint8_t flags)
{
    uint32_t s[16];
    compress_pre(s, cv, block, block_len, counter, flags);
    for (int i = 0; i < 8; i++)
        cv[i] = s[i] ^ s[i + 8];
}

void astrid_b3_compress_xof(const uint32_t cv[8], const uint8_t block[64], uint8_t block_len,
                            uint64_t counter, uint8_t flags, uint8_t out[64])
{
    uint32_t s[16];
    compress_pre(s, cv, block, block_len, counter, flags);
    for (int i = 0; i < 8; i++) {
        b3_store32(out + 4 * i, s[i] ^ s[i + 8]);
        b3_store32(out + 32 + 4 * i, s[i + 8] ^ cv[i]);
    }
}

void astrid_b3_hash_chunks_portable(const uint8_t *input, size_t n, const uint32_t key[8],
                                    uint64_t counter, uint8_t flags, uint8_t *out)
{
    for (size_t c = 0; c < n; c++) {
        uint32_t cv[8];
        memcpy(cv, key, sizeof cv);
        const uint8_t *chunk = input + c * 1024;
        for (int b = 0; b < 16; b++) {
            uint8_t f = flags;
            if (b == 0)
                f |= B3_CHUNK_START;
            if (b == 15)
                f |= B3_CHUNK_END;
            astrid_b3_compress_in_place(cv, chunk + 64 * b, 64, counter + c, f);
        }
        for (int i = 0; i < 8; i++)
            b3_store32(out + 32 * c + 4 * i, cv[i]);
    }
}
