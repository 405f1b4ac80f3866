/* Frame codec, pre-parse checks, IpcMessage validation, topic rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/wire.h"

static void frames_round_trip_in_pieces(void **state)
{
    (void)state;
    json_t *a = json_pack("{s:s}", "topic", "x.y");
    json_t *b = json_pack("{s:i}", "n", 7);
    char *fa, *fb;
    size_t la, lb;
    assert_int_equal(astrid_frame_encode(a, &fa, &la, NULL), 0);
    assert_int_equal(astrid_frame_encode(b, &fb, &lb, NULL), 0);
    char *all = malloc(la + lb);
    memcpy(all, fa, la);
    memcpy(all + la, fb, lb);
    astrid_frame_reader r;
    astrid_frame_reader_init(&r, 1024);
    const char *body;
    size_t len;
    int got = 0;
    /* Byte at a time: a frame appears only once complete. */
    for (size_t i = 0; i < la + lb; i++) {
        assert_int_equal(astrid_frame_reader_feed(&r, all + i, 1, NULL), 0);
        while (astrid_frame_reader_next(&r, &body, &len, NULL) == 1) {
            json_t *v = astrid_wire_parse(body, len, NULL);
            assert_non_null(v);
            assert_true(json_equal(v, got == 0 ? a : b));
            json_decref(v);
            astrid_frame_reader_pop(&r);
            got++;
        }
    }
    assert_int_equal(got, 2);
    astrid_frame_reader_free(&r);
    free(all);
    free(fa);
    free(fb);
    json_decref(a);
    json_decref(b);
}

static void oversized_frame_refused(void **state)
{
    (void)state;
    astrid_frame_reader r;
    astrid_frame_reader_init(&r, ASTRID_WIRE_MAX_FRAME);
    const unsigned char hdr[4] = {0x7f, 0xff, 0xff, 0xff};
    assert_int_equal(astrid_frame_reader_feed(&r, hdr, 4, NULL), 0);
    const char *body;
    size_t len;
    astrid_err err;
    assert_int_equal(astrid_frame_reader_next(&r, &body, &len, &err), -1);
    assert_int_equal(err.code, ASTRID_E_LIMIT);
    astrid_frame_reader_free(&r);
}

static void hostile_json_refused(void **state)
{
    (void)state;
    astrid_err err;
    size_t n = 10000;
    char *deep = malloc(2 * n + 1);
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    deep[2 * n] = 0;
    assert_null(astrid_wire_parse(deep, 2 * n, &err));
    assert_int_equal(err.code, ASTRID_E_LIMIT);
    free(deep);
    /* Brackets inside strings do not count. */
    const char *s =
        "{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}";
    json_t *v = astrid_wire_parse(s, strlen(s), &err);
    assert_non_null(v);
    json_decref(v);
    const char bad_utf8[] = "{\"a\":\"\xc3\x28\"}";
    assert_null(astrid_wire_parse(bad_utf8, sizeof bad_utf8 - 1, &err));
    assert_non_null(strstr(err.msg, "UTF-8"));
    const char surrogate[] = "{\"a\":\"\xed\xa0\x80\"}";
    assert_null(astrid_wire_parse(surrogate, sizeof surrogate - 1, &err));
    assert_null(astrid_wire_parse("{\"a\":", 5, &err));
    assert_int_equal(err.code, ASTRID_E_PARSE);
    assert_null(astrid_wire_parse("[1]", 3, &err));
    assert_null(astrid_wire_parse("{\"a\":1,\"a\":2}", 13, &err));
}

static void ipc_validation(void **state)
{
    (void)state;
    json_t *m = astrid_ipc_new("astrid.v1.request.status", NULL, NULL, "default", 3);
    assert_int_equal(astrid_ipc_validate(m, NULL), 0);
    assert_int_equal(json_integer_value(json_object_get(m, "seq")), 3);
    json_object_set_new(m, "topic", json_integer(1));
    assert_int_equal(astrid_ipc_validate(m, NULL), -1);
    json_decref(m);
    json_t *partial = json_pack("{s:s,s:{}}", "topic", "a.b", "payload");
    assert_int_equal(astrid_ipc_validate(partial, NULL), 0); /* timestamp/signature optional */
    json_decref(partial);
}

/* Regression (fuzz_frame): an empty read on a fresh reader is a no-op. */
static void empty_feed_is_noop(void **state)
{
    (void)state;
    astrid_frame_reader r;
    astrid_frame_reader_init(&r, 1024);
    assert_int_equal(astrid_frame_reader_feed(&r, "", 0, NULL), 0);
    const char *body;
    size_t len;
    assert_int_equal(astrid_frame_reader_next(&r, &body, &len, NULL), 0);
    astrid_frame_reader_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frames_round_trip_in_pieces), cmocka_unit_test(oversized_frame_refused),
        cmocka_unit_test(hostile_json_refused),        cmocka_unit_test(ipc_validation),
        cmocka_unit_test(empty_feed_is_noop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
