/* Capability grammar, matching and PrincipalId validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "astrid/caps.h"
#include "astrid/principal.h"

static void test_matching_upstream_examples(void **state)
{
    (void)state;
    assert_true(astrid_cap_matches("self:*", "self:capsule:install"));
    assert_true(astrid_cap_matches("self:*", "self:x"));
    assert_false(astrid_cap_matches("self:*", "self"));
    assert_true(astrid_cap_matches("a:*:c", "a:b:c"));
    assert_false(astrid_cap_matches("a:*:c", "a:b:x:c"));
    assert_false(astrid_cap_matches("a:*:c", "a:c"));
    assert_false(astrid_cap_matches("a:*:c", "a:b:c:d"));
    assert_true(astrid_cap_matches("*", "anything:at:all"));
    assert_true(astrid_cap_matches("*", "x"));
    assert_true(astrid_cap_matches("system:status", "system:status"));
    assert_false(astrid_cap_matches("system:status", "system:statu"));
    assert_false(astrid_cap_matches("system:statu", "system:status"));
    assert_false(astrid_cap_matches("system", "system:status"));
    assert_false(astrid_cap_matches("system:status", "system"));
    assert_true(astrid_cap_matches("*:status", "system:status"));
    assert_false(astrid_cap_matches("*:status", "status"));
    assert_true(astrid_cap_matches("delegate:self:*", "delegate:self:a:b"));
    assert_false(astrid_cap_matches("delegate:self:*", "delegate:other:a"));
    assert_false(astrid_cap_matches(NULL, "a"));
    assert_false(astrid_cap_matches("a", NULL));
    /* A literal pattern is not a prefix match. */
    assert_false(astrid_cap_matches("self", "self:capsule"));
}

static astrid_cap_error kind(const char *c, char *msg)
{
    return astrid_cap_classify(c, msg, 256);
}

static void test_validation_kinds(void **state)
{
    (void)state;
    char msg[256];
    char big[300];
    memset(big, 'a', 257);
    big[257] = '\0';
    assert_int_equal(kind("", msg), ASTRID_CAP_EMPTY);
    assert_string_equal(msg, "capability must not be empty");
    assert_int_equal(kind(big, msg), ASTRID_CAP_TOO_LONG);
    big[256] = '\0';
    assert_int_equal(kind(big, msg), ASTRID_CAP_VALID);
    assert_int_equal(kind("a:**", msg), ASTRID_CAP_DOUBLE_STAR);
    assert_int_equal(kind("**", msg), ASTRID_CAP_DOUBLE_STAR);
    assert_int_equal(kind(":a", msg), ASTRID_CAP_EMPTY_SEGMENT);
    assert_int_equal(kind("a:", msg), ASTRID_CAP_EMPTY_SEGMENT);
    assert_int_equal(kind("a::b", msg), ASTRID_CAP_EMPTY_SEGMENT);
    assert_int_equal(kind("a:b*", msg), ASTRID_CAP_PARTIAL_STAR);
    assert_non_null(strstr(msg, "'b*'"));
    assert_int_equal(kind("a:b.c", msg), ASTRID_CAP_INVALID_CHAR);
    assert_non_null(strstr(msg, "'b.c'"));
    assert_non_null(strstr(msg, "'.'"));
    assert_int_equal(kind("a:$(rm)", msg), ASTRID_CAP_INVALID_CHAR);
    assert_int_equal(kind("caf\xc3\xa9", msg), ASTRID_CAP_INVALID_CHAR);
    /* First failure wins: empty segment is reported before a bad char. */
    assert_int_equal(kind("a.b::c", msg), ASTRID_CAP_EMPTY_SEGMENT);
    assert_int_equal(kind("*", msg), ASTRID_CAP_VALID);
    assert_int_equal(kind("a:*:c", msg), ASTRID_CAP_VALID);
    assert_int_equal(kind("self:capsule-x_1:*", msg), ASTRID_CAP_VALID);
    assert_int_equal(astrid_cap_validate("x:y", msg, sizeof msg), 0);
    assert_int_equal(astrid_cap_validate("x y", msg, sizeof msg), -1);
    assert_int_equal(astrid_cap_validate("x y", NULL, 0), -1);
    assert_int_equal(astrid_cap_validate(NULL, msg, sizeof msg), -1);
}

static void test_principal(void **state)
{
    (void)state;
    astrid_err e;
    char big[80];
    memset(big, 'a', 65);
    big[65] = '\0';
    assert_int_equal(astrid_principal_validate("default", &e), 0);
    assert_int_equal(astrid_principal_validate("Al-ice_9", &e), 0);
    assert_int_equal(astrid_principal_validate("", &e), -1);
    assert_string_equal(e.msg, "principal id must not be empty");
    assert_int_equal(astrid_principal_validate(big, &e), -1);
    assert_string_equal(e.msg, "principal id exceeds 64 characters");
    big[64] = '\0';
    assert_int_equal(astrid_principal_validate(big, &e), 0);
    assert_int_equal(astrid_principal_validate("../x", &e), -1);
    assert_string_equal(e.msg, "principal id contains invalid character '.' (allowed: a-z, "
                               "A-Z, 0-9, -, _)");
    assert_int_equal(e.code, ASTRID_E_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matching_upstream_examples),
        cmocka_unit_test(test_validation_kinds),
        cmocka_unit_test(test_principal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
