/* BLAKE3 throughput on 64 MiB in memory: ours (SIMD and portable) against
 * Debian's b3sum --num-threads 1 hashing the same bytes from /dev/shm, all
 * measured in this run. b3sum's figure includes process start and the mmap
 * of the file; nothing is subtracted. Medians of RUNS runs. */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "astrid/blake3.h"
#include "bench_util.h"

#define SIZE (64u << 20)
#define RUNS 7

extern char **environ;

static double time_ours(const uint8_t *data, uint8_t out[32])
{
    double t[RUNS];
    for (int i = 0; i < RUNS; i++) {
        double t0 = bench_now_s();
        astrid_blake3(data, SIZE, out);
        t[i] = bench_now_s() - t0;
    }
    return bench_median(t, RUNS);
}

/* Returns the median seconds, or a negative value if b3sum cannot run. */
static double time_b3sum(const char *path, char hex_out[65])
{
    double t[RUNS];
    for (int i = 0; i < RUNS; i++) {
        int p[2];
        if (pipe(p) != 0)
            return -1;
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
        posix_spawn_file_actions_addclose(&fa, p[0]);
        char *argv[] = {"b3sum", "--num-threads", "1", "--no-names", (char *)path, NULL};
        pid_t pid;
        double t0 = bench_now_s();
        int rc = posix_spawnp(&pid, "b3sum", &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        close(p[1]);
        if (rc != 0) {
            close(p[0]);
            return -1;
        }
        ssize_t n = read(p[0], hex_out, 64);
        int status;
        waitpid(pid, &status, 0);
        t[i] = bench_now_s() - t0;
        close(p[0]);
        if (n != 64 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            return -1;
        hex_out[64] = '\0';
    }
    return bench_median(t, RUNS);
}

int main(void)
{
    uint8_t *data = malloc(SIZE);
    if (!data)
        return 1;
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < SIZE; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        data[i] = (uint8_t)x;
    }
    char path[] = "/dev/shm/astrid-bench-blake3-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, data, SIZE) != (ssize_t)SIZE) {
        perror("bench_blake3: /dev/shm");
        return 1;
    }
    close(fd);

    uint8_t simd[32], port[32];
    const char *backend = astrid_blake3_backend_name();
    double t_simd = time_ours(data, simd);
    astrid_blake3_force_portable(1);
    double t_port = time_ours(data, port);
    astrid_blake3_force_portable(0);
    char b3hex[65], ourhex[65];
    double t_b3 = time_b3sum(path, b3hex);
    unlink(path);
    for (int i = 0; i < 32; i++)
        snprintf(ourhex + 2 * i, 3, "%02x", simd[i]);

    double gb = (double)SIZE / 1e9;
    printf("blake3 64 MiB, median of %d runs\n", RUNS);
    printf("  ours (%s)      %6.2f GB/s\n", backend, gb / t_simd);
    printf("  ours (portable)  %6.2f GB/s\n", gb / t_port);
    if (t_b3 < 0) {
        printf("  b3sum unavailable: no baseline\n");
    } else {
        printf("  b3sum 1 thread   %6.2f GB/s (process start + mmap included)\n", gb / t_b3);
        printf("  ratio ours/b3sum %6.2f (target >= 0.5); portable/b3sum %.2f\n", t_b3 / t_simd,
               t_b3 / t_port);
        printf("  digests %s\n", strcmp(b3hex, ourhex) == 0 ? "agree" : "DIFFER");
    }
    if (memcmp(simd, port, 32) != 0)
        printf("  portable and SIMD digests DIFFER\n");
    free(data);
    return 0;
}
