/* TOML API: accessors, mutation, clone/equal, errors with positions,
 * limits, emitter round-trip and key order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/toml.h"

static astrid_toml *parse_ok(const char *s)
{
    astrid_err err;
    astrid_toml *t = astrid_toml_parse(s, strlen(s), &err, NULL);
    if (!t)
        fail_msg("parse failed: %s", err.msg);
    return t;
}

static void accessors_read_every_type(void **state)
{
    (void)state;
    astrid_toml *t = parse_ok("s = \"h\\u00e9\"\ni = -17\nh = 0xff\no = 0o17\nb = 0b101\n"
                              "n = 1_000\nf = 6.25e-1\ninf = -inf\nnan = +nan\nyes = true\n"
                              "odt = 1979-05-27T07:32:00.5-07:30\nldt = 1979-05-27 07:32:00\n"
                              "ld = 2000-02-29\nlt = 23:59:60.123456789123\n"
                              "arr = [1, \"two\", [3]]\n[tab]\nk = 'lit\\n'\n");
    size_t len;
    assert_string_equal(astrid_toml_str(astrid_toml_get(t, "s"), &len), "h\xc3\xa9");
    assert_int_equal(len, 3);
    assert_int_equal(astrid_toml_int(astrid_toml_get(t, "i")), -17);
    assert_int_equal(astrid_toml_int(astrid_toml_get(t, "h")), 255);
    assert_int_equal(astrid_toml_int(astrid_toml_get(t, "o")), 15);
    assert_int_equal(astrid_toml_int(astrid_toml_get(t, "b")), 5);
    assert_int_equal(astrid_toml_int(astrid_toml_get(t, "n")), 1000);
    assert_true(astrid_toml_float(astrid_toml_get(t, "f")) == 0.625);
    assert_true(isinf(astrid_toml_float(astrid_toml_get(t, "inf"))));
    assert_true(astrid_toml_float(astrid_toml_get(t, "inf")) < 0);
    assert_true(isnan(astrid_toml_float(astrid_toml_get(t, "nan"))));
    assert_true(astrid_toml_bool(astrid_toml_get(t, "yes")));
    const astrid_toml_datetime *dt = astrid_toml_datetime_of(astrid_toml_get(t, "odt"));
    assert_int_equal(astrid_toml_type_of(astrid_toml_get(t, "odt")), ASTRID_TOML_DATETIME);
    assert_int_equal(dt->year, 1979);
    assert_int_equal(dt->nanosecond, 500000000);
    assert_int_equal(dt->frac_digits, 1);
    assert_int_equal(dt->offset_minutes, -(7 * 60 + 30));
    assert_int_equal(astrid_toml_type_of(astrid_toml_get(t, "ldt")), ASTRID_TOML_DATETIME_LOCAL);
    assert_int_equal(astrid_toml_type_of(astrid_toml_get(t, "ld")), ASTRID_TOML_DATE_LOCAL);
    dt = astrid_toml_datetime_of(astrid_toml_get(t, "lt"));
    assert_int_equal(dt->nanosecond, 123456789); /* truncated to ns */
    assert_int_equal(dt->second, 60);
    astrid_toml *arr = astrid_toml_get(t, "arr");
    assert_int_equal(astrid_toml_len(arr), 3);
    assert_string_equal(astrid_toml_str(astrid_toml_at(arr, 1), NULL), "two");
    assert_int_equal(astrid_toml_int(astrid_toml_at(astrid_toml_at(arr, 2), 0)), 3);
    assert_null(astrid_toml_at(arr, 3));
    /* Only a line-ending backslash, as the document's first escape: empty
     * (found by the fuzzer: the scratch buffer was still unallocated). */
    astrid_toml *e = parse_ok("e = \"\"\"\\\n  \"\"\"\n");
    assert_string_equal(astrid_toml_str(astrid_toml_get(e, "e"), &len), "");
    assert_int_equal(len, 0);
    astrid_toml_free(e);
    assert_string_equal(astrid_toml_str(astrid_toml_get(astrid_toml_get(t, "tab"), "k"), NULL),
                        "lit\\n");
    /* Wrong-type accessors return zero values. */
    assert_int_equal(astrid_toml_int(astrid_toml_get(t, "s")), 0);
    assert_null(astrid_toml_str(astrid_toml_get(t, "i"), &len));
    assert_int_equal(len, 0);
    assert_null(astrid_toml_get(arr, "x"));
    assert_null(astrid_toml_datetime_of(arr));
    assert_string_equal(astrid_toml_type_name(ASTRID_TOML_DATETIME_LOCAL), "datetime-local");
    astrid_toml_free(t);
}

static void key_order_is_document_order(void **state)
{
    (void)state;
    astrid_toml *t = parse_ok("zeta = 1\nalpha = 2\nmid.x = 3\n\"quoted key\" = 4\n[b]\n[a]\n");
    const char *want[] = {"zeta", "alpha", "mid", "quoted key", "b", "a"};
    assert_int_equal(astrid_toml_len(t), 6);
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(astrid_toml_key_at(t, i), want[i]);
    assert_null(astrid_toml_key_at(t, 6));
    /* Large tables use a hash index; order must still hold. */
    astrid_toml *big = astrid_toml_new_table();
    char k[32];
    for (int i = 0; i < 500; i++) {
        snprintf(k, sizeof k, "k%03d", 499 - i);
        assert_int_equal(astrid_toml_set(big, k, astrid_toml_new_int(i)), 0);
    }
    for (int i = 0; i < 500; i++) {
        snprintf(k, sizeof k, "k%03d", 499 - i);
        assert_string_equal(astrid_toml_key_at(big, (size_t)i), k);
        assert_int_equal(astrid_toml_int(astrid_toml_get(big, k)), i);
    }
    astrid_toml_free(big);
    astrid_toml_free(t);
}

static void set_remove_push_clone_equal(void **state)
{
    (void)state;
    astrid_toml *t = astrid_toml_new_table();
    assert_int_equal(astrid_toml_set(t, "a", astrid_toml_new_int(1)), 0);
    assert_int_equal(astrid_toml_set(t, "b", astrid_toml_new_string("x", 1)), 0);
    assert_int_equal(astrid_toml_set(t, "c", astrid_toml_new_bool(true)), 0);
    /* Replacing keeps the position. */
    assert_int_equal(astrid_toml_set(t, "a", astrid_toml_new_float(2.5)), 0);
    assert_string_equal(astrid_toml_key_at(t, 0), "a");
    assert_true(astrid_toml_float(astrid_toml_get(t, "a")) == 2.5);
    assert_int_equal(astrid_toml_remove(t, "b"), 0);
    assert_int_equal(astrid_toml_remove(t, "b"), -1);
    assert_int_equal(astrid_toml_len(t), 2);
    assert_string_equal(astrid_toml_key_at(t, 1), "c");
    astrid_toml *arr = astrid_toml_new_array();
    assert_int_equal(astrid_toml_push(arr, astrid_toml_new_int(7)), 0);
    assert_int_equal(astrid_toml_push(arr, astrid_toml_new_table()), 0);
    assert_int_equal(astrid_toml_set(t, "arr", arr), 0);
    /* Wrong container types fail and free the value. */
    assert_int_equal(astrid_toml_push(t, astrid_toml_new_int(1)), -1);
    assert_int_equal(astrid_toml_set(arr, "k", astrid_toml_new_int(1)), -1);

    astrid_toml *c = astrid_toml_clone(t);
    assert_true(astrid_toml_equal(t, c));
    assert_int_equal(astrid_toml_set(c, "c", astrid_toml_new_bool(false)), 0);
    assert_false(astrid_toml_equal(t, c));
    assert_int_equal(astrid_toml_set(c, "c", astrid_toml_new_bool(true)), 0);
    assert_true(astrid_toml_equal(t, c));
    /* Table equality ignores key order. */
    astrid_toml *x = parse_ok("a = 1\nb = 2\n"), *y = parse_ok("b = 2\na = 1\n");
    assert_true(astrid_toml_equal(x, y));
    /* Float equality is bitwise, except NaN equals NaN. */
    astrid_toml *z1 = parse_ok("f = 0.0\nn = nan\n"), *z2 = parse_ok("f = -0.0\nn = -nan\n");
    assert_false(astrid_toml_equal(z1, z2));
    assert_int_equal(astrid_toml_set(z2, "f", astrid_toml_new_float(0.0)), 0);
    assert_true(astrid_toml_equal(z1, z2));
    astrid_toml *i1 = parse_ok("v = 1\n"), *f1 = parse_ok("v = 1.0\n");
    assert_false(astrid_toml_equal(i1, f1));
    astrid_toml_free(i1);
    astrid_toml_free(f1);
    astrid_toml_free(z1);
    astrid_toml_free(z2);
    astrid_toml_free(x);
    astrid_toml_free(y);
    astrid_toml_free(c);
    astrid_toml_free(t);
}

static void expect_error(const char *doc, astrid_errcode code, int line, int col, const char *msg)
{
    astrid_err err;
    astrid_toml_error pos;
    astrid_toml *t = astrid_toml_parse(doc, strlen(doc), &err, &pos);
    assert_null(t);
    assert_int_equal(err.code, code);
    if (line) {
        assert_int_equal(pos.line, line);
        assert_int_equal(pos.column, col);
    }
    if (!strstr(err.msg, msg))
        fail_msg("message [%s] lacks [%s]", err.msg, msg);
}

static void errors_carry_positions(void **state)
{
    (void)state;
    expect_error("a = 1\nb = \n", ASTRID_E_PARSE, 2, 5, "line 2, column 5: expected a value");
    expect_error("a = 1\na = 2\n", ASTRID_E_PARSE, 2, 1, "duplicate key 'a'");
    expect_error("[t]\n[t]\n", ASTRID_E_PARSE, 2, 1, "table already defined");
    expect_error("x = \"\\q\"\n", ASTRID_E_PARSE, 1, 6, "invalid escape");
    expect_error("x = \"\\uD800\"\n", ASTRID_E_PARSE, 1, 6, "not a Unicode scalar");
    expect_error("x = 1\n\xc3\x28 = 2\n", ASTRID_E_PARSE, 2, 1, "invalid UTF-8");
    expect_error("# ok\nx = \"a\x01\"\n", ASTRID_E_PARSE, 2, 7, "control characters");
    expect_error("x = 01\n", ASTRID_E_PARSE, 1, 5, "leading zeros");
    expect_error("x = 9223372036854775808\n", ASTRID_E_PARSE, 1, 5, "out of range");
    expect_error("d = 2021-02-29\n", ASTRID_E_PARSE, 1, 5, "date out of range");
    expect_error("t = {a = 1}\nt.b = 2\n", ASTRID_E_PARSE, 2, 1, "cannot add keys");
    expect_error("x = [1 2]\n", ASTRID_E_PARSE, 1, 8, "expected ',' or ']'");
    expect_error("x = 1 y = 2\n", ASTRID_E_PARSE, 1, 7, "expected a newline");
    /* Columns count characters, not bytes. */
    expect_error("\"\xc3\xa9\xc3\xa9\" = ?\n", ASTRID_E_PARSE, 1, 8, "invalid value");
    /* parse_file prefixes the path. */
    astrid_err err;
    assert_null(astrid_toml_parse_file("/nonexistent/x.toml", &err, NULL));
    assert_non_null(strstr(err.msg, "/nonexistent/x.toml"));
}

static void limits_depth_and_size(void **state)
{
    (void)state;
    size_t n = 100000;
    char *bomb = malloc(n + 8);
    memcpy(bomb, "a=", 2);
    memset(bomb + 2, '[', n);
    bomb[n + 2] = '\0';
    expect_error(bomb, ASTRID_E_LIMIT, 1, 3 + ASTRID_TOML_MAX_DEPTH, "nesting too deep");
    /* Inline tables count too. */
    size_t m = 0;
    m += (size_t)sprintf(bomb, "a=");
    for (int i = 0; i < 200; i++)
        m += (size_t)sprintf(bomb + m, "{b=");
    expect_error(bomb, ASTRID_E_LIMIT, 0, 0, "nesting too deep");
    free(bomb);
    /* Exactly at the limit parses. */
    char ok[600];
    m = (size_t)sprintf(ok, "a=");
    for (int i = 0; i < ASTRID_TOML_MAX_DEPTH; i++)
        ok[m++] = '[';
    for (int i = 0; i < ASTRID_TOML_MAX_DEPTH; i++)
        ok[m++] = ']';
    ok[m] = '\0';
    astrid_toml *t = parse_ok(ok);
    /* ...and a tree at the limit emits text that parses back. */
    astrid_err e2;
    char *text = astrid_toml_emit(t, &e2);
    assert_non_null(text);
    astrid_toml *back = parse_ok(text);
    assert_true(astrid_toml_equal(t, back));
    free(text);
    astrid_toml_free(back);
    astrid_toml_free(t);

    size_t big = ASTRID_TOML_MAX_INPUT + 1;
    char *huge = malloc(big);
    memset(huge, '#', big);
    astrid_err err;
    assert_null(astrid_toml_parse(huge, big, &err, NULL));
    assert_int_equal(err.code, ASTRID_E_LIMIT);
    assert_non_null(strstr(err.msg, "limit"));
    free(huge);
}

static astrid_toml *dt_node(astrid_toml_type ty, int y, int mo, int d, int h, int mi, int s,
                            uint32_t ns, int off)
{
    astrid_toml_datetime dt = {.year = y,
                               .month = mo,
                               .day = d,
                               .hour = h,
                               .minute = mi,
                               .second = s,
                               .nanosecond = ns,
                               .offset_minutes = off};
    return astrid_toml_new_datetime(ty, &dt);
}

static void emit_roundtrip_every_type(void **state)
{
    (void)state;
    astrid_toml *t = astrid_toml_new_table();
    astrid_toml_set(t, "str", astrid_toml_new_string("q\"\\\n\t\x01\x7f \xc3\xa9 nul\0x", 17));
    astrid_toml_set(t, "int", astrid_toml_new_int(INT64_MIN));
    astrid_toml_set(t, "float", astrid_toml_new_float(0.1));
    astrid_toml_set(t, "big", astrid_toml_new_float(1e300));
    astrid_toml_set(t, "whole", astrid_toml_new_float(3.0));
    astrid_toml_set(t, "ninf", astrid_toml_new_float(-INFINITY));
    astrid_toml_set(t, "nan", astrid_toml_new_float(NAN));
    astrid_toml_set(t, "bool", astrid_toml_new_bool(false));
    astrid_toml_set(t, "odt", dt_node(ASTRID_TOML_DATETIME, 1979, 5, 27, 7, 32, 0, 999000, -90));
    astrid_toml_set(t, "ldt", dt_node(ASTRID_TOML_DATETIME_LOCAL, 2024, 12, 31, 23, 59, 59, 0, 0));
    astrid_toml_set(t, "ld", dt_node(ASTRID_TOML_DATE_LOCAL, 1, 1, 1, 0, 0, 0, 0, 0));
    astrid_toml_set(t, "lt", dt_node(ASTRID_TOML_TIME_LOCAL, 0, 0, 0, 0, 0, 1, 1, 0));
    astrid_toml *sub = astrid_toml_new_table();
    astrid_toml_set(sub, "needs quoting.and \"escapes\"", astrid_toml_new_int(1));
    astrid_toml *deeper = astrid_toml_new_table();
    astrid_toml_set(deeper, "x", astrid_toml_new_int(2));
    astrid_toml_set(sub, "deeper", deeper);
    astrid_toml_set(sub, "", astrid_toml_new_string("empty key", 9));
    astrid_toml_set(t, "sub", sub);
    astrid_toml *arr = astrid_toml_new_array();
    astrid_toml_push(arr, astrid_toml_new_int(1));
    astrid_toml_push(arr, astrid_toml_new_array());
    astrid_toml *inl = astrid_toml_new_table();
    astrid_toml_set(inl, "k", astrid_toml_new_table());
    astrid_toml_push(arr, inl);
    astrid_toml_set(t, "mixed", arr);
    astrid_toml_set(t, "after", astrid_toml_new_int(5)); /* scalar after a table */

    astrid_err err;
    char *text = astrid_toml_emit(t, &err);
    assert_non_null(text);
    astrid_toml *back = astrid_toml_parse(text, strlen(text), &err, NULL);
    if (!back)
        fail_msg("emitted text does not parse: %s\n%s", err.msg, text);
    assert_true(astrid_toml_equal(t, back));
    /* Deterministic: emitting the re-parsed tree gives the same text. */
    char *again = astrid_toml_emit(back, &err);
    assert_string_equal(text, again);
    assert_non_null(strstr(text, "ld = 0001-01-01\n"));
    assert_non_null(strstr(text, "odt = 1979-05-27T07:32:00.000999-01:30\n"));
    assert_non_null(strstr(text, "whole = 3.0\n"));
    free(again);
    free(text);
    astrid_toml_free(back);

    /* Arrays of tables from a document come back as [[x]] sections. */
    astrid_toml *aot = parse_ok("[[x]]\na = 1\n[x.y]\nb = 2\n[[x]]\na = 3\n");
    text = astrid_toml_emit(aot, &err);
    assert_string_equal(text, "[[x]]\na = 1\n\n[x.y]\nb = 2\n\n[[x]]\na = 3\n");
    free(text);
    astrid_toml_free(aot);

    /* Invalid UTF-8 in a hand-built string is refused, not emitted. */
    assert_int_equal(astrid_toml_set(t, "bad", astrid_toml_new_string("\xff", 1)), 0);
    assert_null(astrid_toml_emit(t, &err));
    assert_int_equal(err.code, ASTRID_E_INVALID);
    astrid_toml_free(t);
}

static void redefinition_rules(void **state)
{
    (void)state;
    astrid_err err;
    const char *bad[] = {
        "a.b = 1\n[a]\n",         "[a]\nb.c = 1\n[a.b]\n", "a = {}\n[a.b]\n",
        "a = []\n[[a]]\n",        "[[a]]\n[a]\n",          "[a.b.c]\n[a]\nb.c.d = 1\n",
        "a = {b = 1}\na.c = 2\n", "a = [{}]\n[a.b]\n",     "a = {b.c = 1, b = 2}\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        astrid_toml *t = astrid_toml_parse(bad[i], strlen(bad[i]), &err, NULL);
        if (t)
            fail_msg("accepted: %s", bad[i]);
        assert_int_equal(err.code, ASTRID_E_PARSE);
    }
    astrid_toml *t = parse_ok("[a.b.c]\n[a]\nx = 1\n[fruit]\napple.color = 'red'\n"
                              "[fruit.apple.texture]\nsmooth = true\n");
    assert_true(astrid_toml_bool(astrid_toml_get(
        astrid_toml_get(astrid_toml_get(astrid_toml_get(t, "fruit"), "apple"), "texture"),
        "smooth")));
    astrid_toml_free(t);
}

/* Strings and keys may hold NUL (\u0000); find_nul names the first one so
 * consumers can refuse instead of cutting a C string there (#12). */
static void find_nul_names_the_field(void **state)
{
    (void)state;
    char path[128];
    astrid_toml *t = parse_ok("[package]\nname = \"rt-\\u0000x\"\n");
    size_t len = 0;
    const char *s = astrid_toml_str(astrid_toml_get(astrid_toml_get(t, "package"), "name"), &len);
    assert_int_equal(len, 5); /* the length accessor sees the whole string */
    assert_int_equal(strlen(s), 3);
    assert_true(astrid_toml_find_nul(t, path, sizeof path));
    assert_string_equal(path, "package.name");
    astrid_toml_free(t);

    t = parse_ok("a = 1\n[[topic]]\nname = \"ok\"\n[[topic]]\nname = \"x\"\n"
                 "tags = [\"p\", \"q\\u0000\"]\n");
    assert_true(astrid_toml_find_nul(t, path, sizeof path));
    assert_string_equal(path, "topic[1].tags[1]");
    astrid_toml_free(t);

    t = parse_ok("[groups.\"a\\u0000b\"]\nx = 1\n[y]\n\"q\\\"\\u0001\" = \"z\\u0000\"\n");
    assert_true(astrid_toml_find_nul(t, path, sizeof path));
    assert_string_equal(path, "groups.\"a\\u0000b\"");
    assert_true(astrid_toml_find_nul(astrid_toml_get(t, "y"), path, sizeof path));
    assert_string_equal(path, "\"q\\\"\\u0001\"");
    char tiny[4];
    assert_true(astrid_toml_find_nul(t, tiny, sizeof tiny)); /* truncated, terminated */
    assert_string_equal(tiny, "gro");
    assert_true(astrid_toml_find_nul(t, NULL, 0));
    astrid_toml_free(t);

    t = parse_ok("a = \"no nul \\u00e9\"\nb = [[1, \"x\"], {c = \"d\"}]\n");
    assert_false(astrid_toml_find_nul(t, path, sizeof path));
    assert_string_equal(path, "");
    astrid_toml_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accessors_read_every_type),
        cmocka_unit_test(key_order_is_document_order),
        cmocka_unit_test(set_remove_push_clone_equal),
        cmocka_unit_test(errors_carry_positions),
        cmocka_unit_test(limits_depth_and_size),
        cmocka_unit_test(emit_roundtrip_every_type),
        cmocka_unit_test(redefinition_rules),
        cmocka_unit_test(find_nul_names_the_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
