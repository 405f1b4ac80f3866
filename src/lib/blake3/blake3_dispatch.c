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

static const astrid_b3_backend_t portable = {astrid_b3_hash_chunks_portable,
                                             astrid_b3_hash_parents_portable, 1, "portable"};
#if ASTRID_B3_X86
static const astrid_b3_backend_t sse41 = {astrid_b3_hash_chunks_sse41, astrid_b3_hash_parents_sse41,
                                          4, "sse4.1"};
static const astrid_b3_backend_t avx2 = {astrid_b3_hash_chunks_avx2, astrid_b3_hash_parents_avx2, 8,
                                         "avx2"};
#endif

const char *astrid_blake3_backend_name(void)
{
    return astrid_b3_backend()->name;
}

const astrid_b3_backend_t *astrid_b3_backend(void)
{
    if (!atomic_load(&force_portable)) {
#if ASTRID_B3_X86
        if (__builtin_cpu_supports("avx2"))
            return &avx2;
        if (__builtin_cpu_supports("sse4.1"))
            return &sse41;
#endif
    }
    return &portable;
}
