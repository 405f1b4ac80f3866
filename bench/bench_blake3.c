/* BLAKE3 throughput on 64 MiB in memory: ours (SIMD and portable) against
 * `b3sum --num-threads 1` hashing the same bytes from /dev/shm, measured in
 * the same run. Prints medians and the ratio ours/b3sum (target >= 0.5).
 * b3sum's time includes process start-up and the page-cache read, which on
 * 64 MiB is a few percent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "astrid/blake3.h"
#include "lib/blake3/blake3_impl.h"

#define SIZE (64u << 20)
#define RUNS 7

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return v[n / 2];
}

static double time_ours(const uint8_t *buf, uint8_t out[32])
{
    double t[RUNS];
    for (int i = 0; i < RUNS; i++) {
        double s = now();
        astrid_blake3(buf, SIZE, out);
        t[i] = now() - s;
    }
    return median(t, RUNS);
}

int main(void)
{
    uint8_t *buf = malloc(SIZE);
    for (size_t i = 0; i < SIZE; i++)
        buf[i] = (uint8_t)(i * 2654435761u >> 11);
    uint8_t out[32];
    double simd = time_ours(buf, out);
    astrid_blake3_force_portable(true);
    double portable = time_ours(buf, out);
    astrid_blake3_force_portable(false);

    char path[] = "/dev/shm/astrid-bench-b3-XXXXXX";
    int fd = mkstemp(path);
    double b3 = -1;
    if (fd >= 0 && write(fd, buf, SIZE) == (ssize_t)SIZE) {
        close(fd);
        char cmd[256];
        snprintf(cmd, sizeof cmd, "b3sum --num-threads 1 %s > /dev/null 2>&1", path);
        double t[RUNS];
        int ok = 1;
        for (int i = 0; i < RUNS && ok; i++) {
            double s = now();
            ok = system(cmd) == 0;
            t[i] = now() - s;
        }
        if (ok)
            b3 = median(t, RUNS);
    }
    unlink(path);
    double gb = (double)SIZE / 1e9;
    printf("blake3 64 MiB: ours %.2f GB/s (simd degree %zu), portable %.2f GB/s\n", gb / simd,
           astrid_b3_simd_degree(), gb / portable);
    if (b3 > 0)
        printf("blake3 64 MiB: b3sum --num-threads 1 %.2f GB/s; ratio ours/b3sum %.2f "
               "(target >= 0.5)\n",
               gb / b3, b3 / simd);
    else
        printf("blake3: b3sum not available, no baseline\n");
    free(buf);
    return 0;
}
