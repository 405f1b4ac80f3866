/* The guest SDK's JSON tree (sdk/c/astrid_json.c), built natively and
 * checked against jansson, the external reference: random documents
 * round-trip to equal values both ways, and the two agree on which texts
 * are JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../sdk/c/astrid_json.c" // NOLINT(bugprone-suspicious-include)

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static json_t *random_json(int depth)
{
    static const char *const words[] = {
        "",          "a",        "h\xc3\xa9", "\xf0\x9f\x98\x80",     "q\"uo\\te",
        "tab\tnl\n", "\x01\x1f", "/slash",    "long text with spaces"};
    switch (next() % (depth > 5 ? 5 : 7)) {
    case 0:
        return json_null();
    case 1:
        return json_boolean(next() & 1);
    case 2:
        return json_integer((json_int_t)(next() % 2 ? next() : next() % 1000) - (json_int_t)500);
    case 3:
        return json_real((double)(int64_t)next() / 1e6);
    case 4:
        return json_string(words[next() % (sizeof words / sizeof *words)]);
    case 5: {
        json_t *a = json_array();
        for (uint64_t i = next() % 5; i > 0; i--)
            json_array_append_new(a, random_json(depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (uint64_t i = next() % 5; i > 0; i--) {
            char k[16];
            snprintf(k, sizeof k, "k%u", (unsigned)(next() % 8));
            json_object_set_new(o, k, random_json(depth + 1));
        }
        return o;
    }
    }
}

static void random_documents_round_trip_against_jansson(void **state)
{
    (void)state;
    for (int i = 0; i < 2000; i++) {
        json_t *ref = random_json(0);
        char *text = json_dumps(ref, JSON_ENCODE_ANY | (i % 2 ? JSON_ENSURE_ASCII : 0));
        char *err = NULL;
        astrid_json *ours = astrid_json_parse(text, strlen(text), &err);
        if (!ours)
            fail_msg("ours refused jansson's %s: %s", text, err);
        char *back = astrid_json_dump(ours);
        json_error_t je;
        json_t *again = json_loads(back, JSON_DECODE_ANY, &je);
        if (!again || !json_equal(ref, again))
            fail_msg("round trip changed %s into %s", text, back);
        json_decref(again);
        free(back);
        astrid_json_free(ours);
        free(text);
        json_decref(ref);
    }
}

static void same_verdict_as_jansson_on_edge_texts(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "{}",
        "[]",
        "0",
        "-0",
        "1e5",
        "-1.5E-3",
        "\"\\u00e9\"",
        "\"\\ud83d\\ude00\"",
        "[1,2,3]",
        " {\"a\" : [ true , false , null ] } ",
        "\"\\/\"",
        "9223372036854775807",
        /* refused */
        "",
        "{",
        "[1,]",
        "{\"a\":1,}",
        "01",
        "1.",
        ".5",
        "-",
        "+1",
        "1e",
        "tru",
        "nul",
        "\"\\ud83d\"",
        "\"\\ude00\"",
        "\"a\nb\"",
        "\"\\x41\"",
        "[1] 2",
        "{\"a\" 1}",
        "{1:2}",
        "'a'",
        "\"\xc0\xaf\"",
        "\"\xed\xa0\x80\"",
        "\"\xff\"",
        "\"abc",
        "[\"a\",]",
        "NaN",
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        json_error_t je;
        json_t *ref = json_loads(texts[i], JSON_DECODE_ANY, &je);
        char *err = NULL;
        astrid_json *ours = astrid_json_parse(texts[i], strlen(texts[i]), &err);
        if (!!ref != !!ours)
            fail_msg("disagree on [%s]: jansson %s, ours %s (%s)", texts[i], ref ? "ok" : "refuses",
                     ours ? "ok" : "refuses", err ? err : "");
        if (!ours)
            assert_non_null(err);
        free(err);
        json_decref(ref);
        astrid_json_free(ours);
    }
}

static void nesting_is_bounded(void **state)
{
    (void)state;
    size_t n = 100000;
    char *deep = malloc(n);
    assert_non_null(deep);
    memset(deep, '[', n);
    char *err = NULL;
    astrid_json *v = astrid_json_parse(deep, n, &err);
    assert_null(v);
    assert_non_null(err);
    assert_non_null(strstr(err, "too deep"));
    free(err);
    free(deep);
}

static void build_read_take_and_copy(void **state)
{
    (void)state;
    astrid_json *o = astrid_json_object();
    assert_int_equal(astrid_json_set_str(o, "type", "text_delta"), 0);
    assert_int_equal(astrid_json_set_int(o, "n", -9007199254740993LL), 0);
    astrid_json *a = astrid_json_array();
    assert_int_equal(astrid_json_append(a, astrid_json_number(2.0)), 0);
    assert_int_equal(astrid_json_append(a, astrid_json_string(NULL)), 0);
    assert_int_equal(astrid_json_set(o, "a", a), 0);
    assert_int_equal(astrid_json_set_bool(o, "type", true), 0); /* replaces */
    char *s = astrid_json_dump(o);
    assert_string_equal(s, "{\"type\":true,\"n\":-9007199254740993,\"a\":[2.0,null]}");
    free(s);
    astrid_json *c = astrid_json_copy(o);
    astrid_json *n = astrid_json_take(c, "n");
    assert_int_equal(astrid_json_int(n, 0), -9007199254740993LL);
    assert_null(astrid_json_get(c, "n"));
    assert_non_null(astrid_json_get(o, "n"));
    assert_int_equal(astrid_json_len(c), 2);
    assert_string_equal(astrid_json_key_at(c, 1), "a");
    assert_int_equal(astrid_json_set(c, "x", NULL), -1);
    assert_int_equal(astrid_json_append(o, astrid_json_null()), -1); /* not an array: freed */
    assert_null(astrid_json_get_str(NULL, "k"));
    assert_string_equal(astrid_json_str_or(NULL, "d"), "d");
    astrid_json_free(n);
    astrid_json_free(c);
    astrid_json_free(o);
    astrid_json *e = astrid_json_parse("\"a\\u0000b\"", 10, NULL);
    assert_int_equal(astrid_json_len(e), 3);
    s = astrid_json_dump(e);
    assert_string_equal(s, "\"a\\u0000b\"");
    free(s);
    astrid_json_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_documents_round_trip_against_jansson),
        cmocka_unit_test(same_verdict_as_jansson_on_edge_texts),
        cmocka_unit_test(nesting_is_bounded),
        cmocka_unit_test(build_read_take_and_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
