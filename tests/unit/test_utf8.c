/* UTF-8 repair of truncated/echoed text before it is JSON-encoded, and the
 * principal validation message for non-ASCII input (security issue #12). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <string.h>

#include "astrid/caps.h"
#include "astrid/err.h"
#include "astrid/principal.h"
#include "astrid/utf8.h"

static void test_seq(void **state)
{
    (void)state;
    assert_int_equal(astrid_utf8_seq("a", 1), 1);
    assert_int_equal(astrid_utf8_seq("\xc3\xa9", 2), 2);
    assert_int_equal(astrid_utf8_seq("\xc3\xa9", 1), 0);         /* cut */
    assert_int_equal(astrid_utf8_seq("\xe2\x82\xac", 3), 3);     /* € */
    assert_int_equal(astrid_utf8_seq("\xf0\x9f\x98\x80", 4), 4); /* 😀 */
    assert_int_equal(astrid_utf8_seq("\xc0\xaf", 2), 0);         /* overlong */
    assert_int_equal(astrid_utf8_seq("\xed\xa0\x80", 3), 0);     /* surrogate */
    assert_int_equal(astrid_utf8_seq("\xf4\x90\x80\x80", 4), 0); /* > U+10FFFF */
    assert_int_equal(astrid_utf8_seq("\xff", 1), 0);
    assert_true(astrid_utf8_valid("b\xc3\xb3"
                                  "b",
                                  4));
    assert_false(astrid_utf8_valid("b\xc3", 2));
}

static void test_fix(void **state)
{
    (void)state;
    char a[] = "ok \xc3\xa9\xe2\x82"; /* é, then € cut after two bytes */
    assert_string_equal(astrid_utf8_fix(a), "ok \xc3\xa9");
    char b[] = "x\xffy\xc3(z"; /* invalid bytes inside: replaced, never echoed raw */
    assert_string_equal(astrid_utf8_fix(b), "x?y?(z");
    char c[] = "\xf0\x9f\x98";
    assert_string_equal(astrid_utf8_fix(c), "");
    char d[] = "plain";
    assert_string_equal(astrid_utf8_fix(d), "plain");
}

/* Every cut of a multi-byte text into a small buffer stays valid and
 * encodable by jansson. */
static void test_snprintf_cuts(void **state)
{
    (void)state;
    const char *text = "r\xc3\xa9sum\xc3\xa9 \xe2\x82\xac\xf0\x9f\x98\x80 end";
    for (size_t n = 1; n <= strlen(text) + 1; n++) {
        char buf[64];
        size_t len = astrid_snprintf_utf8(buf, n, "%s", text);
        assert_int_equal(len, strlen(buf));
        assert_true(len < n);
        assert_true(astrid_utf8_valid(buf, len));
        assert_int_equal(strncmp(buf, text, len), 0); /* a prefix at a character boundary */
        json_t *s = json_string(buf);
        assert_non_null(s);
        json_decref(s);
    }
    assert_int_equal(astrid_snprintf_utf8(NULL, 0, "%s", text), 0);
}

/* astrid_err messages are cut at 512 bytes and then sent as JSON. */
static void test_err_messages_stay_valid(void **state)
{
    (void)state;
    char big[1200] = "";
    for (int i = 0; i < 500; i++)
        strcat(big, "\xc3\xa9"); /* 1000 bytes of 'é' */
    astrid_err e;
    for (int pad = 0; pad < 4; pad++) {
        astrid_err_set(&e, ASTRID_E_INVALID, "%.*stopic '%s' is bad", pad, "xxx", big);
        assert_true(astrid_utf8_valid(e.msg, strlen(e.msg)));
        astrid_err_prefix(&e, "%.*sa", pad, "yyy");
        assert_true(astrid_utf8_valid(e.msg, strlen(e.msg)));
    }
    /* A capability validation message names a multi-byte segment. */
    char cap[300], why[256];
    snprintf(cap, sizeof cap, "a:%.250s", big);
    assert_int_equal(astrid_cap_validate(cap, why, sizeof why), -1);
    assert_true(astrid_utf8_valid(why, strlen(why)));
}

static void test_principal_non_ascii(void **state)
{
    (void)state;
    astrid_err e;
    assert_int_equal(astrid_principal_validate("b\xc3\xb3"
                                               "b",
                                               &e),
                     -1);
    assert_string_equal(e.msg, "principal id contains invalid character '\xc3\xb3' (allowed: "
                               "a-z, A-Z, 0-9, -, _)");
    assert_int_equal(astrid_principal_validate("\xf0\x9f\x98\x80", &e), -1);
    assert_string_equal(e.msg, "principal id contains invalid character '\xf0\x9f\x98\x80' "
                               "(allowed: a-z, A-Z, 0-9, -, _)");
    /* Not valid UTF-8, or a control character: escaped, never raw. */
    assert_int_equal(astrid_principal_validate("a\xff", &e), -1);
    assert_string_equal(e.msg, "principal id contains invalid character '\\xff' (allowed: "
                               "a-z, A-Z, 0-9, -, _)");
    assert_int_equal(astrid_principal_validate("a\nb", &e), -1);
    assert_string_equal(e.msg, "principal id contains invalid character '\\x0a' (allowed: "
                               "a-z, A-Z, 0-9, -, _)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seq),
        cmocka_unit_test(test_fix),
        cmocka_unit_test(test_snprintf_cuts),
        cmocka_unit_test(test_err_messages_stay_valid),
        cmocka_unit_test(test_principal_non_ascii),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
