/* SSE4.1 backend: four chunks compressed in parallel, one chunk per 32-bit
 * lane (the reference implementation's hash_many design). Compiled with a
 * per-function target attribute and only called after a runtime CPU check. */
#include "lib/blake3/blake3_impl.h"

#if ASTRID_B3_X86
#include <immintrin.h>

#define SSE41 __attribute__((target("sse4.1")))

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

SSE41 static inline __m128i rot16(__m128i x)
{
    return _mm_shuffle_epi8(x, _mm_set_epi8(13, 12, 15, 14, 9, 8, 11, 10, 5, 4, 7, 6, 1, 0, 3, 2));
}

SSE41 static inline __m128i rot8(__m128i x)
{
    return _mm_shuffle_epi8(x, _mm_set_epi8(12, 15, 14, 13, 8, 11, 10, 9, 4, 7, 6, 5, 0, 3, 2, 1));
}

SSE41 static inline __m128i rot12(__m128i x)
{
    return _mm_or_si128(_mm_srli_epi32(x, 12), _mm_slli_epi32(x, 20));
}

SSE41 static inline __m128i rot7(__m128i x)
{
    return _mm_or_si128(_mm_srli_epi32(x, 7), _mm_slli_epi32(x, 25));
}

SSE41 static inline void g(__m128i *v, int a, int b, int c, int d, __m128i x, __m128i y)
{
    v[a] = _mm_add_epi32(_mm_add_epi32(v[a], v[b]), x);
    v[d] = rot16(_mm_xor_si128(v[d], v[a]));
    v[c] = _mm_add_epi32(v[c], v[d]);
    v[b] = rot12(_mm_xor_si128(v[b], v[c]));
    v[a] = _mm_add_epi32(_mm_add_epi32(v[a], v[b]), y);
    v[d] = rot8(_mm_xor_si128(v[d], v[a]));
    v[c] = _mm_add_epi32(v[c], v[d]);
    v[b] = rot7(_mm_xor_si128(v[b], v[c]));
}

/* Rows r[i] (4 words of lane i) become columns r[j] (word j of every lane). */
SSE41 static inline void transpose4(__m128i r[4])
{
    __m128i t0 = _mm_unpacklo_epi32(r[0], r[1]), t1 = _mm_unpacklo_epi32(r[2], r[3]);
    __m128i t2 = _mm_unpackhi_epi32(r[0], r[1]), t3 = _mm_unpackhi_epi32(r[2], r[3]);
    r[0] = _mm_unpacklo_epi64(t0, t1);
    r[1] = _mm_unpackhi_epi64(t0, t1);
    r[2] = _mm_unpacklo_epi64(t2, t3);
    r[3] = _mm_unpackhi_epi64(t2, t3);
}

SSE41 static void hash4(const uint8_t *input, size_t stride, int blocks, const uint32_t key[8],
                        uint64_t counter, uint64_t inc, uint8_t flags, uint8_t start, uint8_t end,
                        uint8_t *out)
{
    __m128i h[8], v[16], m[16];
    uint32_t lo[4], hi[4];
    for (int i = 0; i < 8; i++)
        h[i] = _mm_set1_epi32((int)key[i]);
    for (int i = 0; i < 4; i++) {
        lo[i] = (uint32_t)(counter + inc * (uint64_t)i);
        hi[i] = (uint32_t)((counter + inc * (uint64_t)i) >> 32);
    }
    const __m128i ctr_lo = _mm_loadu_si128((const __m128i *)lo);
    const __m128i ctr_hi = _mm_loadu_si128((const __m128i *)hi);
    for (int b = 0; b < blocks; b++) {
        for (int q = 0; q < 4; q++)
            for (int l = 0; l < 4; l++)
                m[4 * q + l] = _mm_loadu_si128(
                    (const __m128i *)(input + (size_t)l * stride + (size_t)b * 64 + 16 * q));
        for (int q = 0; q < 4; q++)
            transpose4(m + 4 * q);
        uint8_t f = flags;
        if (b == 0)
            f |= start;
        if (b == blocks - 1)
            f |= end;
        for (int i = 0; i < 8; i++)
            v[i] = h[i];
        for (int i = 0; i < 4; i++)
            v[8 + i] = _mm_set1_epi32((int)astrid_b3_iv[i]);
        v[12] = ctr_lo;
        v[13] = ctr_hi;
        v[14] = _mm_set1_epi32(64);
        v[15] = _mm_set1_epi32(f);
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
            h[i] = _mm_xor_si128(v[i], v[i + 8]);
    }
    transpose4(h);
    transpose4(h + 4);
    for (int l = 0; l < 4; l++) {
        _mm_storeu_si128((__m128i *)(out + 32 * l), h[l]);
        _mm_storeu_si128((__m128i *)(out + 32 * l + 16), h[4 + l]);
    }
}

SSE41 void astrid_b3_hash_chunks_sse41(const uint8_t *input, size_t n, const uint32_t key[8],
                                       uint64_t counter, uint8_t flags, uint8_t *out)
{
    while (n >= 4) {
        hash4(input, 1024, 16, key, counter, 1, flags, B3_CHUNK_START, B3_CHUNK_END, out);
        input += 4 * 1024;
        out += 4 * 32;
        counter += 4;
        n -= 4;
    }
    if (n > 0)
        astrid_b3_hash_chunks_portable(input, n, key, counter, flags, out);
}
SSE41 void astrid_b3_hash_parents_sse41(const uint8_t *blocks, size_t n, const uint32_t key[8],
                                        uint8_t flags, uint8_t *out)
{
    while (n >= 4) {
        hash4(blocks, 64, 1, key, 0, 0, (uint8_t)(flags | B3_PARENT), 0, 0, out);
        blocks += 4 * 64;
        out += 4 * 32;
        n -= 4;
    }
    if (n > 0)
        astrid_b3_hash_parents_portable(blocks, n, key, flags, out);
}
#endif
