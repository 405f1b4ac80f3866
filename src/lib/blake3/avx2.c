/* AVX2: eight chunks compressed side by side, one 32-bit lane per chunk.
 * Compiled with a per-function target attribute so the rest of the build
 * stays baseline x86-64; only called after __builtin_cpu_supports("avx2"). */
#if defined(__x86_64__)
#include <immintrin.h>

#include "lib/blake3/blake3_impl.h"

#define AVX2 __attribute__((target("avx2")))

static const uint8_t SCHED[7][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8},
    {3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1},
    {10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6},
    {12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4},
    {9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7},
    {11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13},
};

AVX2 static inline __m256i rot16(__m256i x)
{
    const __m256i m = _mm256_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13, 2,
                                       3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
    return _mm256_shuffle_epi8(x, m);
}

AVX2 static inline __m256i rot8(__m256i x)
{
    const __m256i m = _mm256_setr_epi8(1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12, 1,
                                       2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12);
    return _mm256_shuffle_epi8(x, m);
}

AVX2 static inline __m256i rot12(__m256i x)
{
    return _mm256_or_si256(_mm256_srli_epi32(x, 12), _mm256_slli_epi32(x, 20));
}

AVX2 static inline __m256i rot7(__m256i x)
{
    return _mm256_or_si256(_mm256_srli_epi32(x, 7), _mm256_slli_epi32(x, 25));
}

#define ADD(a, b) _mm256_add_epi32(a, b)
#define XOR(a, b) _mm256_xor_si256(a, b)

AVX2 static inline void g(__m256i *v, int a, int b, int c, int d, __m256i x, __m256i y)
{
    v[a] = ADD(ADD(v[a], v[b]), x);
    v[d] = rot16(XOR(v[d], v[a]));
    v[c] = ADD(v[c], v[d]);
    v[b] = rot12(XOR(v[b], v[c]));
    v[a] = ADD(ADD(v[a], v[b]), y);
    v[d] = rot8(XOR(v[d], v[a]));
    v[c] = ADD(v[c], v[d]);
    v[b] = rot7(XOR(v[b], v[c]));
}

/* 8x8 transpose of 32-bit words: row j (lane j's words) <-> column w. */
AVX2 static inline void transpose8(__m256i *r)
{
    __m256i ab0145 = _mm256_unpacklo_epi32(r[0], r[1]);
    __m256i ab2367 = _mm256_unpackhi_epi32(r[0], r[1]);
    __m256i cd0145 = _mm256_unpacklo_epi32(r[2], r[3]);
    __m256i cd2367 = _mm256_unpackhi_epi32(r[2], r[3]);
    __m256i ef0145 = _mm256_unpacklo_epi32(r[4], r[5]);
    __m256i ef2367 = _mm256_unpackhi_epi32(r[4], r[5]);
    __m256i gh0145 = _mm256_unpacklo_epi32(r[6], r[7]);
    __m256i gh2367 = _mm256_unpackhi_epi32(r[6], r[7]);
    __m256i abcd04 = _mm256_unpacklo_epi64(ab0145, cd0145);
    __m256i abcd15 = _mm256_unpackhi_epi64(ab0145, cd0145);
    __m256i abcd26 = _mm256_unpacklo_epi64(ab2367, cd2367);
    __m256i abcd37 = _mm256_unpackhi_epi64(ab2367, cd2367);
    __m256i efgh04 = _mm256_unpacklo_epi64(ef0145, gh0145);
    __m256i efgh15 = _mm256_unpackhi_epi64(ef0145, gh0145);
    __m256i efgh26 = _mm256_unpacklo_epi64(ef2367, gh2367);
    __m256i efgh37 = _mm256_unpackhi_epi64(ef2367, gh2367);
    r[0] = _mm256_permute2x128_si256(abcd04, efgh04, 0x20);
    r[4] = _mm256_permute2x128_si256(abcd04, efgh04, 0x31);
    r[1] = _mm256_permute2x128_si256(abcd15, efgh15, 0x20);
    r[5] = _mm256_permute2x128_si256(abcd15, efgh15, 0x31);
    r[2] = _mm256_permute2x128_si256(abcd26, efgh26, 0x20);
    r[6] = _mm256_permute2x128_si256(abcd26, efgh26, 0x31);
    r[3] = _mm256_permute2x128_si256(abcd37, efgh37, 0x20);
    r[7] = _mm256_permute2x128_si256(abcd37, efgh37, 0x31);
}

AVX2 void astrid_b3_hash8_avx2(const uint8_t *const *inputs, const uint32_t key[8],
                               uint64_t counter, uint8_t flags, uint8_t *out)
{
    __m256i h[8];
    for (int i = 0; i < 8; i++)
        h[i] = _mm256_set1_epi32((int)key[i]);
    __m256i ctr_lo = _mm256_setr_epi32((int)(uint32_t)(counter + 0), (int)(uint32_t)(counter + 1),
                                       (int)(uint32_t)(counter + 2), (int)(uint32_t)(counter + 3),
                                       (int)(uint32_t)(counter + 4), (int)(uint32_t)(counter + 5),
                                       (int)(uint32_t)(counter + 6), (int)(uint32_t)(counter + 7));
    __m256i ctr_hi = _mm256_setr_epi32(
        (int)(uint32_t)((counter + 0) >> 32), (int)(uint32_t)((counter + 1) >> 32),
        (int)(uint32_t)((counter + 2) >> 32), (int)(uint32_t)((counter + 3) >> 32),
        (int)(uint32_t)((counter + 4) >> 32), (int)(uint32_t)((counter + 5) >> 32),
        (int)(uint32_t)((counter + 6) >> 32), (int)(uint32_t)((counter + 7) >> 32));
    const __m256i block_len = _mm256_set1_epi32(64);
    for (int b = 0; b < 16; b++) {
        __m256i m[16];
        for (int j = 0; j < 8; j++) {
            m[j] = _mm256_loadu_si256((const __m256i *)(const void *)(inputs[j] + 64 * b));
            m[8 + j] =
                _mm256_loadu_si256((const __m256i *)(const void *)(inputs[j] + 64 * b + 32));
        }
        transpose8(m);
        transpose8(m + 8);
        uint8_t f = flags;
        if (b == 0)
            f |= B3_CHUNK_START;
        if (b == 15)
            f |= B3_CHUNK_END;
        __m256i v[16];
        for (int i = 0; i < 8; i++)
            v[i] = h[i];
        for (int i = 0; i < 4; i++)
            v[8 + i] = _mm256_set1_epi32((int)astrid_b3_iv[i]);
        v[12] = ctr_lo;
        v[13] = ctr_hi;
        v[14] = block_len;
        v[15] = _mm256_set1_epi32(f);
        for (int r = 0; r < 7; r++) {
            const uint8_t *k = SCHED[r];
            g(v, 0, 4, 8, 12, m[k[0]], m[k[1]]);
            g(v, 1, 5, 9, 13, m[k[2]], m[k[3]]);
            g(v, 2, 6, 10, 14, m[k[4]], m[k[5]]);
            g(v, 3, 7, 11, 15, m[k[6]], m[k[7]]);
            g(v, 0, 5, 10, 15, m[k[8]], m[k[9]]);
            g(v, 1, 6, 11, 12, m[k[10]], m[k[11]]);
            g(v, 2, 7, 8, 13, m[k[12]], m[k[13]]);
            g(v, 3, 4, 9, 14, m[k[14]], m[k[15]]);
        }
        for (int i = 0; i < 8; i++)
            h[i] = XOR(v[i], v[i + 8]);
    }
    transpose8(h);
    for (int j = 0; j < 8; j++)
        _mm256_storeu_si256((__m256i *)(void *)(out + 32 * j), h[j]);
}
#endif
