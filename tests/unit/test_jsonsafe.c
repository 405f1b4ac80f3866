/* Guarded JSON decoding (astrid/jsonsafe.h): every allocation of a decode
 * and of every encode failed in turn. jansson 2.14 alone drops a character
 * of a string token when its lexer buffer cannot grow (and runs past the
 * buffer when the dropped one is the closing quote), and drops an object's
 * key it cannot append when encoding (both found by the fault sweep). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "astrid/err.h"
#include "astrid/jsonsafe.h"
#include "astrid/wire.h"

/* The allocator under test fails its fail_at-th call (0: none). Test
 * state: cmocka runs one test at a time on one thread. */
static unsigned long calls, fail_at;

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define LSAN_OFF() __lsan_disable()
#define LSAN_ON() __lsan_enable()
#else
#define LSAN_OFF() ((void)0)
#define LSAN_ON() ((void)0)
#endif

/* In a run with a failure armed, jansson's partial work is left behind when
 * the guard jumps out (jsonsafe.h: the price of a whole-or-nothing result
 * under memory pressure), so those blocks are not leak reports; a run with
 * no failure armed stays under the leak checker. */
static void *failing_malloc(size_t n)
{
    if (++calls == fail_at)
        return NULL;
    if (!fail_at)
        return malloc(n);
    LSAN_OFF(); /* what is allocated while disabled is never reported */
    void *p = malloc(n);
    LSAN_ON();
    return p;
}

/* Strings longer than jansson's first token buffer (16 bytes), so the lexer
 * grows it while a string is open, escapes included. */
static const char frame[] =
    "{\"topic\":\"astrid.v1.connection.subscribe\",\"payload\":{\"pattern\":"
    "\"demo.v1.kvcount.reply\",\"request_id\":\"4cfc7e0a-d199-4cf1-aeb6-2b18ec87176a\","
    "\"note\":\"tab\\there, quote \\\" and \\u00e9 in a long enough string\"},"
    "\"principal\":\"load-10-with-a-longer-name\",\"n\":[1,2,3]}";

static void test_every_allocation_failed(void **state)
{
    (void)state;
    astrid_json_install_alloc(failing_malloc);
    json_error_t je;
    calls = 0;
    fail_at = 0;
    json_t *want = astrid_json_loadb(frame, strlen(frame), JSON_REJECT_DUPLICATES, &je);
    assert_non_null(want);
    unsigned long total = calls;
    assert_true(total > 10);
    for (unsigned long k = 1; k <= total; k++) {
        calls = 0;
        fail_at = k;
        json_t *got = astrid_json_loadb(frame, strlen(frame), JSON_REJECT_DUPLICATES, &je);
        if (got) {
            /* never a silently altered value */
            if (!json_equal(got, want))
                fail_msg("allocation %lu failed: the decode returned another value", k);
            json_decref(got);
        } else {
            assert_string_equal(je.text, "out of memory");
        }
    }
    /* the frame parser says what happened */
    for (unsigned long k = 1; k <= total; k++) {
        calls = 0;
        fail_at = k;
        astrid_err err = {0};
        json_t *got = astrid_wire_parse(frame, strlen(frame), &err);
        if (got) {
            assert_true(json_equal(got, want));
            json_decref(got);
        } else {
            assert_int_equal(err.code, ASTRID_E_NOMEM);
        }
    }
    fail_at = 0;
    json_decref(want);
}

static void test_every_allocation_of_an_encode_failed(void **state)
{
    (void)state;
    astrid_json_install_alloc(malloc);
    /* many keys of growing length, so the output buffer grows while one
     * or another key is being appended */
    json_t *v = json_object();
    assert_non_null(v);
    char key[64] = "k";
    for (int i = 0; i < 40; i++) {
        strcat(key, "y");
        assert_int_equal(json_object_set_new(v, key, json_integer(i)), 0);
    }
    astrid_json_install_alloc(failing_malloc);
    calls = 0;
    fail_at = 0;
    char *want = astrid_json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_non_null(want);
    unsigned long total = calls;
    assert_true(total > 3);
    for (unsigned long k = 1; k <= total; k++) {
        calls = 0;
        fail_at = k;
        char *got = astrid_json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
        /* the whole text or none: never one with a key left out */
        if (got && strcmp(got, want) != 0)
            fail_msg("allocation %lu failed: the encoder returned %s", k, got);
        free(got);
    }
    fail_at = 0;
    free(want);
    json_decref(v);
}

/* astrid_frame_encode sizes the text with one json_dumpb and writes it
 * with a second; the second allocates too (jansson's loop check) and, when
 * that failed, the frame went out with uninitialised bytes after a partial
 * text. */
static void test_every_allocation_of_a_frame_encode_failed(void **state)
{
    (void)state;
    astrid_json_install_alloc(malloc);
    json_error_t je;
    json_t *v = json_loadb(frame, strlen(frame), 0, &je);
    assert_non_null(v);
    astrid_json_install_alloc(failing_malloc);
    calls = 0;
    fail_at = 0;
    char *want = NULL;
    size_t wlen = 0;
    astrid_err err = {0};
    assert_int_equal(astrid_frame_encode(v, &want, &wlen, &err), 0);
    unsigned long total = calls;
    assert_true(total > 2);
    unsigned long failed = 0;
    for (unsigned long k = 1; k <= total; k++) {
        calls = 0;
        fail_at = k;
        char *got = NULL;
        size_t glen = 0;
        if (astrid_frame_encode(v, &got, &glen, &err) != 0) {
            assert_null(got);
            failed++;
            continue;
        }
        if (glen != wlen || memcmp(got, want, wlen) != 0)
            fail_msg("allocation %lu failed: the frame differs from the fault-free one", k);
        free(got);
    }
    assert_true(failed > 0);
    fail_at = 0;
    free(want);
    json_decref(v);
}

static void test_load_file(void **state)
{
    (void)state;
    astrid_json_install_alloc(malloc);
    char dir[] = "/tmp/test_jsonsafe.XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/meta.json", dir);
    json_error_t je;
    assert_null(astrid_json_load_file(path, 0, &je));
    assert_non_null(strstr(je.text, "No such file"));
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(frame, f);
    fclose(f);
    json_t *want = astrid_json_loadb(frame, strlen(frame), 0, &je);
    assert_non_null(want);
    astrid_json_install_alloc(failing_malloc);
    calls = 0;
    fail_at = 0;
    json_t *got = astrid_json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    assert_non_null(got);
    assert_true(json_equal(got, want));
    json_decref(got);
    /* the file's buffer is malloc's, not jansson's: the jansson allocations
     * are failed in turn and never yield an altered value */
    unsigned long total = calls;
    for (unsigned long k = 1; k <= total; k++) {
        calls = 0;
        fail_at = k;
        got = astrid_json_load_file(path, 0, &je);
        if (got) {
            if (!json_equal(got, want))
                fail_msg("allocation %lu failed: the file decoded to another value", k);
            json_decref(got);
        } else {
            assert_string_equal(je.text, "out of memory");
        }
    }
    fail_at = 0;
    astrid_json_install_alloc(malloc);
    json_decref(want);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(dir), 0);
}

static void test_outside_a_decode_null_is_returned(void **state)
{
    (void)state;
    astrid_json_install_alloc(failing_malloc);
    calls = 0;
    fail_at = 1;
    /* building a value keeps its own error path: NULL, no jump */
    assert_null(json_string("a string that needs an allocation"));
    fail_at = 0;
    json_t *s = json_string("fine");
    assert_non_null(s);
    json_decref(s);
}

static void test_malformed_stays_a_parse_error(void **state)
{
    (void)state;
    astrid_json_install_alloc(malloc);
    json_error_t je;
    assert_null(astrid_json_loadb("{\"a\":", 5, 0, &je));
    assert_string_not_equal(je.text, "out of memory");
    assert_null(astrid_json_loadb("{\"a\":", 5, 0, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_allocation_failed),
        cmocka_unit_test(test_every_allocation_of_an_encode_failed),
        cmocka_unit_test(test_every_allocation_of_a_frame_encode_failed),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_outside_a_decode_null_is_returned),
        cmocka_unit_test(test_malformed_stays_a_parse_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
