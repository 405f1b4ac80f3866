/* Differential fuzzing of BLAKE3: SIMD one-shot vs portable updates split at
 * fuzzer-chosen points, plus finalize_seek vs a slice of the long output. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/blake3.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    /* First bytes steer the split size and the seek; the rest is input,
     * repeated so multi-chunk trees appear without huge corpora. */
    size_t split = (size_t)data[0] * 7 + 1;
    size_t seek = data[1] % (256 - 64 + 32 + 1);
    size_t reps = (size_t)(data[2] % 40) + 1;
    data += 3;
    size -= 3;
    size_t len = size * reps;
    uint8_t *in = malloc(len ? len : 1);
    if (!in)
        return 0;
    for (size_t r = 0; r < reps; r++)
        if (size)
            memcpy(in + r * size, data, size);

    uint8_t a[32 + 256], b[32 + 256], c[64];
    astrid_blake3_hasher h;
    astrid_blake3_force_portable(0);
    astrid_blake3_init(&h);
    astrid_blake3_update(&h, in, len);
    astrid_blake3_finalize(&h, a, sizeof a);

    astrid_blake3_force_portable(1);
    astrid_blake3_init(&h);
    for (size_t off = 0; off < len; off += split)
        astrid_blake3_update(&h, in + off, len - off < split ? len - off : split);
    astrid_blake3_finalize(&h, b, sizeof b);
    astrid_blake3_force_portable(0);
    if (memcmp(a, b, sizeof a) != 0)
        abort();
    astrid_blake3_finalize_seek(&h, seek, c, sizeof c);
    if (memcmp(c, a + seek, sizeof c) != 0)
        abort();
    free(in);
    return 0;
}
