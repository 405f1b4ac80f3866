/* Chooses between the portable and the AVX2 multi-chunk path at run time. */
#include <stdatomic.h>
#include <string.h>

#include "lib/blake3/blake3_impl.h"

/* Test/benchmark switch only; reading it is a relaxed atomic load so a
 * benchmark thread flipping it never races with hashing threads. */
static atomic_bool force_portable;

void astrid_blake3_force_portable(bool on)
{
    atomic_store_explicit(&force_portable, on, memory_order_relaxed);
}

static bool have_avx2(void)
{
#if defined(__x86_64__)
    return __builtin_cpu_supports("avx2");
#else
    return false;
#endif
}

size_t astrid_b3_simd_degree(void)
{
    if (atomic_load_explicit(&force_portable, memory_order_relaxed))
        return 1;
    return have_avx2() ? 8 : 1;
}

static void hash_one_chunk(const uint8_t *in, const uint32_t key[8], uint64_t counter,
                           uint8_t flags, uint8_t out[32])
{
    uint32_t cv[8];
    memcpy(cv, key, 32);
    for (int b = 0; b < 16; b++) {
        uint8_t f = flags;
        if (b == 0)
            f |= B3_CHUNK_START;
        if (b == 15)
            f |= B3_CHUNK_END;
        astrid_b3_compress_in_place(cv, in + 64 * b, 64, counter, f);
    }
    for (int i = 0; i < 8; i++)
        b3_store32(out + 4 * i, cv[i]);
}

void astrid_b3_hash_chunks(const uint8_t *input, size_t n, const uint32_t key[8],
                           uint64_t counter, uint8_t flags, uint8_t *out)
{
#if defined(__x86_64__)
    if (astrid_b3_simd_degree() == 8) {
        while (n >= 8) {
            const uint8_t *ins[8];
            for (int i = 0; i < 8; i++)
                ins[i] = input + (size_t)i * 1024;
            astrid_b3_hash8_avx2(ins, key, counter, flags, out);
            input += 8 * 1024;
            out += 8 * 32;
            counter += 8;
            n -= 8;
        }
    }
#endif
    for (size_t i = 0; i < n; i++)
        hash_one_chunk(input + i * 1024, key, counter + i, flags, out + i * 32);
}
