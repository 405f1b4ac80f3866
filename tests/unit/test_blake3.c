/* BLAKE3 against the official test vectors, on the portable and SIMD paths,
 * plus incremental-update and seek consistency. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/blake3.h"
#include "lib/blake3/blake3_impl.h"

static json_t *vectors;

static int load_vectors(void **state)
{
    (void)state;
    const char *shared = getenv("ASTRID_SHARED");
    char path[1024];
    snprintf(path, sizeof path, "%s/testdata/blake3/test_vectors.json",
             shared ? shared : "/work/shared");
    json_error_t jerr;
    vectors = json_load_file(path, 0, &jerr);
    if (!vectors)
        fprintf(stderr, "cannot load %s: %s\n", path, jerr.text);
    return vectors ? 0 : -1;
}

static int free_vectors(void **state)
{
    (void)state;
    json_decref(vectors);
    astrid_blake3_force_portable(0);
    return 0;
}

static void to_hex(const uint8_t *in, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[in[i] >> 4];
        out[2 * i + 1] = d[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static uint8_t *make_input(size_t len)
{
    uint8_t *in = malloc(len ? len : 1);
    assert_non_null(in);
    for (size_t i = 0; i < len; i++)
        in[i] = (uint8_t)(i % 251);
    return in;
}

enum mode { HASH, KEYED, DERIVE };

static void init_mode(astrid_blake3_hasher *h, enum mode m)
{
    const char *key = json_string_value(json_object_get(vectors, "key"));
    const char *ctx = json_string_value(json_object_get(vectors, "context_string"));
    assert_non_null(key);
    assert_non_null(ctx);
    assert_int_equal(strlen(key), ASTRID_BLAKE3_KEY_LEN);
    if (m == HASH)
        astrid_blake3_init(h);
    else if (m == KEYED)
        astrid_blake3_init_keyed(h, (const uint8_t *)key);
    else
        astrid_blake3_init_derive_key(h, ctx);
}

/* Every case, every mode, full extended output, one-shot update; `split`
 * nonzero feeds the input in pieces of that size instead. */
static void check_all(int portable, size_t split)
{
    static const char *const field[] = {"hash", "keyed_hash", "derive_key"};
    astrid_blake3_force_portable(portable);
    size_t idx;
    json_t *c;
    int checked = 0;
    json_array_foreach(json_object_get(vectors, "cases"), idx, c)
    {
        size_t len = (size_t)json_integer_value(json_object_get(c, "input_len"));
        uint8_t *in = make_input(len);
        for (int m = HASH; m <= DERIVE; m++) {
            const char *want = json_string_value(json_object_get(c, field[m]));
            assert_non_null(want);
            size_t out_len = strlen(want) / 2;
            astrid_blake3_hasher h;
            init_mode(&h, (enum mode)m);
            if (split == 0) {
                astrid_blake3_update(&h, in, len);
            } else {
                for (size_t off = 0; off < len; off += split)
                    astrid_blake3_update(&h, in + off, len - off < split ? len - off : split);
            }
            uint8_t *out = malloc(out_len);
            char *hex = malloc(2 * out_len + 1);
            assert_non_null(out);
            assert_non_null(hex);
            astrid_blake3_finalize(&h, out, out_len);
            to_hex(out, out_len, hex);
            if (strcmp(hex, want) != 0)
                fail_msg("len %zu mode %s portable %d split %zu: got %.64s", len, field[m],
                         portable, split, hex);
            /* The 32-byte default output is a prefix of the extended one. */
            uint8_t short_out[32];
            astrid_blake3_finalize(&h, short_out, sizeof short_out);
            assert_memory_equal(short_out, out, 32);
            /* Seeking lands on the same bytes at an odd offset. */
            if (out_len > 40) {
                uint8_t tail[64];
                size_t n = out_len - 37 < sizeof tail ? out_len - 37 : sizeof tail;
                astrid_blake3_finalize_seek(&h, 37, tail, n);
                assert_memory_equal(tail, out + 37, n);
            }
            free(out);
            free(hex);
            checked++;
        }
        free(in);
    }
    assert_true(checked >= 3 * 30);
}

static void vectors_portable(void **state)
{
    (void)state;
    check_all(1, 0);
}

static void vectors_simd(void **state)
{
    (void)state;
    check_all(0, 0);
}

static void vectors_incremental_odd_splits(void **state)
{
    (void)state;
    static const size_t splits[] = {1, 7, 63, 64, 65, 1000, 1023, 1025, 3073, 8191};
    for (size_t i = 0; i < sizeof splits / sizeof splits[0]; i++) {
        check_all(0, splits[i]);
        check_all(1, splits[i]);
    }
}

/* Large input crosses many SIMD batches and a deep CV stack; the portable
 * and SIMD paths and one-shot vs ragged updates must all agree. */
static void large_input_paths_agree(void **state)
{
    (void)state;
    size_t len = (1u << 20) * 3 + 777;
    uint8_t *in = make_input(len);
    uint8_t a[32], b[32], c[32];
    astrid_blake3_force_portable(1);
    astrid_blake3(in, len, a);
    astrid_blake3_force_portable(0);
    astrid_blake3(in, len, b);
    assert_memory_equal(a, b, 32);
    astrid_blake3_hasher h;
    astrid_blake3_init(&h);
    size_t off = 0, step = 1;
    while (off < len) {
        size_t n = len - off < step ? len - off : step;
        astrid_blake3_update(&h, in + off, n);
        off += n;
        step = step * 3 + 5;
        if (step > 200000)
            step = 9;
    }
    astrid_blake3_finalize(&h, c, 32);
    assert_memory_equal(a, c, 32);
    free(in);
}

/* Each backend directly, so SSE4.1 is covered on AVX2 machines too; the
 * counter straddles 2^32 to exercise the high counter word. */
static void backends_match_portable(void **state)
{
    (void)state;
    size_t max = 19;
    uint8_t *in = make_input(max * 1024);
    for (size_t i = 0; i < max * 1024; i++)
        in[i] = (uint8_t)(in[i] * 37u + (i >> 10));
    static const uint32_t key[8] = {1, 2, 3, 4, 5, 6, 7, 0xdeadbeefu};
    uint8_t want[19 * 32], got[19 * 32];
    int ran = 0;
    for (size_t n = 1; n <= max; n++) {
        uint64_t counter = 0xfffffffdull;
        astrid_b3_hash_chunks_portable(in, n, key, counter, B3_KEYED_HASH, want);
#if ASTRID_B3_X86
        if (__builtin_cpu_supports("sse4.1")) {
            memset(got, 0, sizeof got);
            astrid_b3_hash_chunks_sse41(in, n, key, counter, B3_KEYED_HASH, got);
            assert_memory_equal(got, want, 32 * n);
            ran++;
        }
        if (__builtin_cpu_supports("avx2")) {
            memset(got, 0, sizeof got);
            astrid_b3_hash_chunks_avx2(in, n, key, counter, B3_KEYED_HASH, got);
            assert_memory_equal(got, want, 32 * n);
            ran++;
        }
#endif
    }
    free(in);
    if (ran == 0)
        skip();
}

static void hex_helper_matches_known_empty_hash(void **state)
{
    (void)state;
    char hex[65];
    astrid_blake3_hex("", 0, hex);
    assert_string_equal(hex, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
    assert_true(strcmp(astrid_blake3_backend_name(), "") != 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vectors_portable),
        cmocka_unit_test(vectors_simd),
        cmocka_unit_test(vectors_incremental_odd_splits),
        cmocka_unit_test(large_input_paths_agree),
        cmocka_unit_test(backends_match_portable),
        cmocka_unit_test(hex_helper_matches_known_empty_hash),
    };
    return cmocka_run_group_tests(tests, load_vectors, free_vectors);
}
