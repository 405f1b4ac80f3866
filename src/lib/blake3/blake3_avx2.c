/* AVX2 backend: eight chunks compressed in parallel, one chunk per 32-bit
 * lane (the reference implementation's hash_many design). Compiled with a
 * per-function target attribute and only called after a runtime CPU check. */
#include "lib/blake3/blake3_impl.h"

#if ASTRID_B3_X86
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2")))

/* A file-local copy of the schedule: with the round loop unrolled the
 * compiler resolves every message index at compile time, so the message
 * words stay in registers instead of being indexed through memory. */
static const uint8_t sched[7][16] = {
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
    return _mm256_shuffle_epi8(x, _mm256_set_epi8(13, 12, 15, 14, 9, 8, 11, 10, 5, 4, 7, 6, 1, 0, 3,
                                                  2, 13, 12, 15, 14, 9, 8, 11, 10, 5, 4, 7, 6, 1, 0,
                                                  3, 2));
}

AVX2 static inline __m256i rot8(__m256i x)
{
    return _mm256_shuffle_epi8(x, _mm256_set_epi8(12, 15, 14, 13, 8, 11, 10, 9, 4, 7, 6, 5, 0, 3, 2,
                                                  1, 12, 15, 14, 13, 8, 11, 10, 9, 4, 7, 6, 5, 0, 3,
                                                  2, 1));
}

AVX2 static inline __m256i rot12(__m256i x)
{
    return _mm256_or_si256(_mm256_srli_epi32(x, 12), _mm256_slli_epi32(x, 20));
}

AVX2 static inline __m256i rot7(__m256i x)
{
    return _mm256_or_si256(_mm256_srli_epi32(x, 7), _mm256_slli_epi32(x, 25));
}

AVX2 static inline void g(__m256i *v, int a, int b, int c, int d, __m256i x, __m256i y)
{
    v[a] = _mm256_add_epi32(_mm256_add_epi32(v[a], v[b]), x);
    v[d] = rot16(_mm256_xor_si256(v[d], v[a]));
    v[c] = _mm256_add_epi32(v[c], v[d]);
    v[b] = rot12(_mm256_xor_si256(v[b], v[c]));
    v[a] = _mm256_add_epi32(_mm256_add_epi32(v[a], v[b]), y);
    v[d] = rot8(_mm256_xor_si256(v[d], v[a]));
    v[c] = _mm256_add_epi32(v[c], v[d]);
    v[b] = rot7(_mm256_xor_si256(v[b], v[c]));
}

/* Rows r[i] (8 words of lane i) become columns r[j] (word j of every lane). */
AVX2 static inline void transpose8(__m256i r[8])
{
    __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]), t1 = _mm256_unpackhi_epi32(r[0], r[1]);
    __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]), t3 = _mm256_unpackhi_epi32(r[2], r[3]);
    __m256i t4 = _mm256_unpacklo_epi32(r[4], r[5]), t5 = _mm256_unpackhi_epi32(r[4], r[5]);
    __m256i t6 = _mm256_unpacklo_epi32(r[6], r[7]), t7 = _mm256_unpackhi_epi32(r[6], r[7]);
    __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
    __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
    __m256i u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);
    __m256i u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);
    r[0] = _mm256_permute2x128_si256(u0, u4, 0x20);
    r[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
    r[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
    r[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
    r[2] = _mm256_permute2x128_si256(u2, u6, 0x20);
    r[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
    r[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
    r[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
}

AVX2 static void hash8(const uint8_t *input, size_t stride, int blocks, const uint32_t key[8],
                       uint64_t counter, uint64_t inc, uint8_t flags, uint8_t start, uint8_t end,
                       uint8_t *out)
{
    __m256i h[8], v[16], m[16];
    uint32_t lo[8], hi[8];
    for (int i = 0; i < 8; i++) {
        h[i] = _mm256_set1_epi32((int)key[i]);
        lo[i] = (uint32_t)(counter + inc * (uint64_t)i);
        hi[i] = (uint32_t)((counter + inc * (uint64_t)i) >> 32);
    }
    const __m256i ctr_lo = _mm256_loadu_si256((const __m256i *)lo);
    const __m256i ctr_hi = _mm256_loadu_si256((const __m256i *)hi);
    for (int b = 0; b < blocks; b++) {
        for (int l = 0; l < 8; l++) {
            const uint8_t *p = input + (size_t)l * stride + (size_t)b * 64;
            m[l] = _mm256_loadu_si256((const __m256i *)p);
            m[l + 8] = _mm256_loadu_si256((const __m256i *)(p + 32));
        }
        transpose8(m);
        transpose8(m + 8);
        uint8_t f = flags;
        if (b == 0)
            f |= start;
        if (b == blocks - 1)
            f |= end;
        for (int i = 0; i < 8; i++)
            v[i] = h[i];
        for (int i = 0; i < 4; i++)
            v[8 + i] = _mm256_set1_epi32((int)astrid_b3_iv[i]);
        v[12] = ctr_lo;
        v[13] = ctr_hi;
        v[14] = _mm256_set1_epi32(64);
        v[15] = _mm256_set1_epi32(f);
#pragma GCC unroll 7
        for (int r = 0; r < 7; r++) {
            const uint8_t *s = sched[r];
            g(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
            g(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
            g(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
            g(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
            g(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
            g(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
            g(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
            g(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
        }
        for (int i = 0; i < 8; i++)
            h[i] = _mm256_xor_si256(v[i], v[i + 8]);
    }
    transpose8(h);
    for (int l = 0; l < 8; l++)
        _mm256_storeu_si256((__m256i *)(out + 32 * l), h[l]);
}

AVX2 void astrid_b3_hash_chunks_avx2(const uint8_t *input, size_t n, const uint32_t key[8],
                                     uint64_t counter, uint8_t flags, uint8_t *out)
{
    while (n >= 8) {
        hash8(input, 1024, 16, key, counter, 1, flags, B3_CHUNK_START, B3_CHUNK_END, out);
        input += 8 * 1024;
        out += 8 * 32;
        counter += 8;
        n -= 8;
    }
    if (n > 0)
        astrid_b3_hash_chunks_sse41(input, n, key, counter, flags, out);
}
AVX2 void astrid_b3_hash_parents_avx2(const uint8_t *blocks, size_t n, const uint32_t key[8],
                                      uint8_t flags, uint8_t *out)
{
    while (n >= 8) {
        hash8(blocks, 64, 1, key, 0, 0, (uint8_t)(flags | B3_PARENT), 0, 0, out);
        blocks += 8 * 64;
        out += 8 * 32;
        n -= 8;
    }
    if (n > 0)
        astrid_b3_hash_parents_sse41(blocks, n, key, flags, out);
}
#endif
