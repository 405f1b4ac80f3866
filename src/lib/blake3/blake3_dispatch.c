/* Backend choice: the widest SIMD path this CPU supports, unless a test or
 * benchmark forces the portable one. The flag is the only process-wide state
 * in BLAKE3 and exists so both paths can be checked in one process. */
#include <stdatomic.h>

#include "astrid/blake3.h"
#include "lib/blake3/blake3_impl.h"

static atomic_int force_portable;

void astrid_blake3_force_portable(int on)
{
    atomic_store(&force_portable, on != 0);
}

const char *astrid_blake3_backend_name(void)
{
    size_t degree;
    astrid_b3_hash_chunks_fn fn = astrid_b3_backend(&degree);
#if ASTRID_B3_X86
    if (fn == astrid_b3_hash_chunks_avx2)
        return "avx2";
    if (fn == astrid_b3_hash_chunks_sse41)
        return "sse4.1";
#endif
    (void)fn;
    return "portable";
}

astrid_b3_hash_chunks_fn astrid_b3_backend(size_t *degree)
{
    if (!atomic_load(&force_portable)) {
#if ASTRID_B3_X86
        if (__builtin_cpu_supports("avx2")) {
            *degree = 8;
            return astrid_b3_hash_chunks_avx2;
        }
        if (__builtin_cpu_supports("sse4.1")) {
            *degree = 4;
            return astrid_b3_hash_chunks_sse41;
        }
#endif
    }
    *degree = 1;
    return astrid_b3_hash_chunks_portable;
}
