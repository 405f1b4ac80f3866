/* Counting the heap allocations a measured loop makes (a hot path that
 * allocates is a finding): this program's malloc/calloc/realloc are
 * replaced by ones that count while bench_allocs_counting is set, then call
 * glibc's. Header-only like bench_util.h; include it in one bench program
 * (each bench/ source file links as its own program), never in the library. */
#ifndef ASTRID_BENCH_ALLOCS_H
#define ASTRID_BENCH_ALLOCS_H

#include <stdatomic.h>
#include <stddef.h>

void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void *malloc(size_t n);
void *calloc(size_t a, size_t b);
void *realloc(void *p, size_t n);

static atomic_long bench_allocs;
static atomic_int bench_allocs_counting;

static inline void bench_allocs_tick(void)
{
    if (atomic_load_explicit(&bench_allocs_counting, memory_order_relaxed))
        atomic_fetch_add_explicit(&bench_allocs, 1, memory_order_relaxed);
}

void *malloc(size_t n)
{
    bench_allocs_tick();
    return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
    bench_allocs_tick();
    return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
    bench_allocs_tick();
    return __libc_realloc(p, n);
}

#endif
