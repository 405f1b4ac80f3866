/* Portable BLAKE3 compression function (the spec's reference form). */
#include <string.h>

#include "lib/blake3/blake3_impl.h"

const uint32_t astrid_b3_iv[8] = {0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
                                  0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19};

/* Message word schedule for each of the 7 rounds (the permutation applied
 * round after round, precomputed). */
static const uint8_t SCHEDULE[7][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8},
    {3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1},
    {10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6},
    {12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4},
    {9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7},
    {11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13},
};

static inline uint32_t rotr(uint32_t w, unsigned c)
{
    return (w >> c) | (w << (32 - c));
}

#define G(a, b, c, d, x, y)                                                                        \
    do {                                                                                           \
        s[a] = s[a] + s[b] + (x);                                                                  \
        s[d] = rotr(s[d] ^ s[a], 16);                                                              \
        s[c] = s[c] + s[d];                                                                        \
        s[b] = rotr(s[b] ^ s[c], 12);                                                              \
        s[a] = s[a] + s[b] + (y);                                                                  \
        s[d] = rotr(s[d] ^ s[a], 8);                                                               \
        s[c] = s[c] + s[d];                                                                        \
        s[b] = rotr(s[b] ^ s[c], 7);                                                               \
    } while (0)

static void compress_pre(uint32_t s[16], const uint32_t cv[8], const uint8_t block[64],
                         uint8_t block_len, uint64_t counter, uint8_t flags)
{
    uint32_t m[16];
    for (int i = 0; i < 16; i++)
        m[i] = b3_load32(block + 4 * i);
    for (int i = 0; i < 8; i++)
        s[i] = cv[i];
    s[8] = astrid_b3_iv[0];
    s[9] = astrid_b3_iv[1];
    s[10] = astrid_b3_iv[2];
    s[11] = astrid_b3_iv[3];
    s[12] = (uint32_t)counter;
    s[13] = (uint32_t)(counter >> 32);
    s[14] = block_len;
    s[15] = flags;
    for (int r = 0; r < 7; r++) {
        const uint8_t *k = SCHEDULE[r];
        G(0, 4, 8, 12, m[k[0]], m[k[1]]);
        G(1, 5, 9, 13, m[k[2]], m[k[3]]);
        G(2, 6, 10, 14, m[k[4]], m[k[5]]);
        G(3, 7, 11, 15, m[k[6]], m[k[7]]);
        G(0, 5, 10, 15, m[k[8]], m[k[9]]);
        G(1, 6, 11, 12, m[k[10]], m[k[11]]);
        G(2, 7, 8, 13, m[k[12]], m[k[13]]);
        G(3, 4, 9, 14, m[k[14]], m[k[15]]);
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
        b3_store32(out + 4 * (i + 8), s[i + 8] ^ cv[i]);
    }
}
