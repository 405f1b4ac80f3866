/* BLAKE3 against the official test vectors (hash, keyed_hash, derive_key,
 * full extended output), in the portable and the SIMD path; incremental
 * updates with odd splits; seek into the extended output. One TAP line per
 * vector per mode and path. */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/blake3.h"
#include "lib/blake3/blake3_impl.h"

static int n_test;
static int n_fail;

static void report(bool ok, const char *fmt, size_t len, const char *mode, const char *path)
{
    n_test++;
    if (!ok)
        n_fail++;
    printf("%s %d - ", ok ? "ok" : "not ok", n_test);
    printf(fmt, len, mode, path);
    printf("\n");
}

static void to_hex(char *out, const uint8_t *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", in[i]);
}

/* Feed `in` in a pattern of uneven pieces so every buffering path runs. */
static void update_split(astrid_blake3_hasher *h, const uint8_t *in, size_t len, int pattern)
{
    static const size_t sizes[] = {1, 63, 64, 65, 1023, 1024, 1025, 7, 8192 + 3};
    size_t i = (size_t)pattern;
    while (len > 0) {
        size_t take = sizes[i % (sizeof sizes / sizeof sizes[0])];
        if (take > len)
            take = len;
        astrid_blake3_update(h, in, take);
        in += take;
        len -= take;
        i++;
    }
}

static void check_case(const char *mode, astrid_blake3_hasher *proto, const uint8_t *input,
                       size_t len, const char *want, const char *path)
{
    size_t out_len = strlen(want) / 2;
    uint8_t *out = malloc(out_len);
    char *hex = malloc(2 * out_len + 1);
    astrid_blake3_hasher h = *proto;
    astrid_blake3_update(&h, input, len);
    astrid_blake3_finalize(&h, out, out_len);
    to_hex(hex, out, out_len);
    bool ok = strcmp(hex, want) == 0;
    /* Same result when the input arrives in pieces. */
    astrid_blake3_hasher h2 = *proto;
    update_split(&h2, input, len, (int)len % 5);
    astrid_blake3_finalize(&h2, out, out_len);
    to_hex(hex, out, out_len);
    ok = ok && strcmp(hex, want) == 0;
    /* Seek: output from byte 17 equals the tail of the full output. */
    astrid_blake3_finalize_seek(&h, 17, out, out_len - 17);
    to_hex(hex, out, out_len - 17);
    ok = ok && strcmp(hex, want + 34) == 0;
    report(ok, "len %zu %s (%s)", len, mode, path);
    free(out);
    free(hex);
}

int main(void)
{
    const char *shared = getenv("ASTRID_SHARED");
    char path[1024];
    snprintf(path, sizeof path, "%s/testdata/blake3/test_vectors.json",
             shared ? shared : "../shared");
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) {
        snprintf(path, sizeof path, "/work/shared/testdata/blake3/test_vectors.json");
        root = json_load_file(path, 0, &je);
    }
    if (!root) {
        printf("not ok 1 - load test vectors: %s\n", je.text);
        return 1;
    }
    const char *key = json_string_value(json_object_get(root, "key"));
    const char *context = json_string_value(json_object_get(root, "context_string"));
    json_t *cases = json_object_get(root, "cases");
    printf("1..%zu\n", json_array_size(cases) * 3 * 2 + 1);
    for (int simd = 0; simd < 2; simd++) {
        astrid_blake3_force_portable(simd == 0);
        const char *pname = simd ? "simd" : "portable";
        size_t idx;
        json_t *c;
        json_array_foreach(cases, idx, c)
        {
            size_t len = (size_t)json_integer_value(json_object_get(c, "input_len"));
            uint8_t *input = malloc(len ? len : 1);
            for (size_t i = 0; i < len; i++)
                input[i] = (uint8_t)(i % 251);
            astrid_blake3_hasher h;
            astrid_blake3_init(&h);
            check_case("hash", &h, input, len, json_string_value(json_object_get(c, "hash")),
                       pname);
            astrid_blake3_init_keyed(&h, (const uint8_t *)key);
            check_case("keyed_hash", &h, input, len,
                       json_string_value(json_object_get(c, "keyed_hash")), pname);
            astrid_blake3_init_derive_key(&h, context);
            check_case("derive_key", &h, input, len,
                       json_string_value(json_object_get(c, "derive_key")), pname);
            free(input);
        }
    }
    astrid_blake3_force_portable(false);
    /* Large input: SIMD and portable agree (exercises many batches and
     * deep merges beyond the vectors' 100 KiB). */
    size_t big = (5u << 20) + 12345;
    uint8_t *buf = malloc(big);
    for (size_t i = 0; i < big; i++)
        buf[i] = (uint8_t)(i * 2654435761u >> 13);
    uint8_t a[32], b[32];
    astrid_blake3(buf, big, a);
    astrid_blake3_force_portable(true);
    astrid_blake3(buf, big, b);
    astrid_blake3_force_portable(false);
    n_test++;
    bool same = memcmp(a, b, 32) == 0;
    n_fail += !same;
    printf("%s %d - 5 MiB input: simd (degree %zu) equals portable\n", same ? "ok" : "not ok",
           n_test, astrid_b3_simd_degree());
    free(buf);
    json_decref(root);
    return n_fail ? 1 : 0;
}
