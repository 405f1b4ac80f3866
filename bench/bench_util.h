/* Timing pieces every benchmark uses: a monotonic clock and the median of
 * one run's samples. Header-only (static inline), as each bench/ source
 * file links as its own program. */
#ifndef ASTRID_BENCH_UTIL_H
#define ASTRID_BENCH_UTIL_H

#include <stdlib.h>
#include <time.h>

/* CLOCK_MONOTONIC in seconds, microseconds, nanoseconds. */
static inline double bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline double bench_now_us(void)
{
    return bench_now_s() * 1e6;
}

static inline double bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sort the `n` samples of `v` ascending (in place). */
static inline void bench_sort(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
}

/* The median of `n` samples (v[n / 2] after sorting `v` in place). */
static inline double bench_median(double *v, int n)
{
    bench_sort(v, n);
    return v[n / 2];
}

#endif
