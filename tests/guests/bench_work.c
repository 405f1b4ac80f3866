/* Compute workloads shared by bench/bench_wasm.c: compiled natively into
 * the benchmark and to wasm32 (clang, no libc) for the engine and for V8. */
#include <stdint.h>

#ifdef __wasm__
#define EXPORT(n) __attribute__((export_name(n)))
__attribute__((import_module("env"), import_name("bench_nop"))) uint32_t bench_nop(uint32_t);
#else
#define EXPORT(n)
uint32_t bench_nop(uint32_t);
#endif

uint32_t work_sha256(uint32_t mib);
uint32_t work_sort(uint32_t n);
uint32_t work_fib(uint32_t n);
uint32_t work_call_host(uint32_t n);

#define SORT_MAX (10u * 1000 * 1000)
static int32_t sort_buf[SORT_MAX];
static uint8_t chunk[65536];

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_block(uint32_t h[8], const uint8_t *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 =
            hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

/* SHA-256 (no padding step: the timing is the compression) of `mib` MiB. */
EXPORT("sha256") uint32_t work_sha256(uint32_t mib)
{
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    for (uint32_t i = 0; i < sizeof chunk; i++)
        chunk[i] = (uint8_t)(i * 31 + 7);
    for (uint32_t m = 0; m < mib * 16; m++)
        for (uint32_t off = 0; off < sizeof chunk; off += 64)
            sha_block(h, chunk + off);
    return h[0];
}

static void sift(int32_t *a, uint32_t i, uint32_t n)
{
    for (;;) {
        uint32_t l = 2 * i + 1, m = i;
        if (l < n && a[l] > a[m])
            m = l;
        if (l + 1 < n && a[l + 1] > a[m])
            m = l + 1;
        if (m == i)
            return;
        int32_t t = a[i];
        a[i] = a[m];
        a[m] = t;
        i = m;
    }
}

/* Heapsort of n pseudo-random ints; returns a checksum. */
EXPORT("sort") uint32_t work_sort(uint32_t n)
{
    if (n > SORT_MAX)
        n = SORT_MAX;
    uint32_t x = 12345;
    for (uint32_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        sort_buf[i] = (int32_t)(x >> 1);
    }
    for (uint32_t i = n / 2; i-- > 0;)
        sift(sort_buf, i, n);
    for (uint32_t end = n; end-- > 1;) {
        int32_t t = sort_buf[0];
        sort_buf[0] = sort_buf[end];
        sort_buf[end] = t;
        sift(sort_buf, 0, end);
    }
    uint32_t sum = 0;
    for (uint32_t i = 0; i < n; i += 1000)
        sum = sum * 31 + (uint32_t)sort_buf[i];
    return sum;
}

EXPORT("fib") uint32_t work_fib(uint32_t n)
{
    return n < 2 ? n : work_fib(n - 1) + work_fib(n - 2);
}

/* n guest->host->guest round trips. */
EXPORT("call_host") uint32_t work_call_host(uint32_t n)
{
    uint32_t s = 0;
    for (uint32_t i = 0; i < n; i++)
        s += bench_nop(i);
    return s;
}
