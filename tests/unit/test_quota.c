/* SIZE / DURATION quota specs: parsing, errors, formatting round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "astrid/quota.h"

static uint64_t sz(const char *s)
{
    uint64_t v = 0;
    astrid_err e;
    assert_int_equal(astrid_size_parse(s, &v, &e), 0);
    return v;
}

static void size_bad(const char *s)
{
    uint64_t v = 77;
    astrid_err e;
    assert_int_equal(astrid_size_parse(s, &v, &e), -1);
    assert_int_equal(e.code, ASTRID_E_INVALID);
    char q[128];
    snprintf(q, sizeof q, "'%s'", s);
    assert_non_null(strstr(e.msg, q));
    assert_int_equal(v, 77);
}

static void test_size_parse(void **state)
{
    (void)state;
    assert_int_equal(sz("32"), 32);
    assert_int_equal(sz("32B"), 32);
    assert_int_equal(sz("32M"), 32000000ull);
    assert_int_equal(sz("32mb"), 32000000ull);
    assert_int_equal(sz("2K"), 2000);
    assert_int_equal(sz("2kB"), 2000);
    assert_int_equal(sz("1G"), 1000000000ull);
    assert_int_equal(sz("3T"), 3000000000000ull);
    assert_int_equal(sz("3tb"), 3000000000000ull);
    assert_int_equal(sz("64MiB"), 67108864ull);
    assert_int_equal(sz("64mib"), 67108864ull);
    assert_int_equal(sz("1KiB"), 1024);
    assert_int_equal(sz("1GiB"), 1073741824ull);
    assert_int_equal(sz("2TiB"), 2ull << 40);
    assert_int_equal(sz("1.5G"), 1500000000ull);
    assert_int_equal(sz("1.5KiB"), 1536);
    assert_int_equal(sz("10 MB"), 10000000ull);
    assert_int_equal(sz("18446744073709551615"), UINT64_MAX);
    size_bad("");
    size_bad("abc");
    size_bad("12X");
    size_bad("1.5B");
    size_bad("1.");
    size_bad("-1M");
    size_bad("18446744073709551616");
    size_bad("20000000T");
    size_bad("16777216TiB");
}

static void test_size_format(void **state)
{
    (void)state;
    char b[64];
    const struct {
        uint64_t v;
        const char *s;
    } cases[] = {
        {0, "0 B"},
        {32000000ull, "32 MB"},
        {67108864ull, "64 MiB"},
        {1073741824ull, "1 GiB"},
        {1500000000ull, "1500 MB"},
        {2500, "2.5 KB"},
        {123, "123 B"},
        {1024, "1 KiB"},
        {3000, "3 KB"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(astrid_size_format(cases[i].v, b, sizeof b), 0);
        assert_string_equal(b, cases[i].s);
    }
    const uint64_t rt[] = {1,        999,     1001,       1234567,          67108864,
                           10485760, 1500000, UINT64_MAX, (1ull << 40) * 3, 1000000000000000ull};
    for (size_t i = 0; i < sizeof rt / sizeof rt[0]; i++) {
        assert_int_equal(astrid_size_format(rt[i], b, sizeof b), 0);
        assert_int_equal(sz(b), rt[i]);
    }
    assert_int_equal(astrid_size_format(67108864ull, b, 4), -1);
}

static uint64_t dur(const char *s)
{
    uint64_t v = 0;
    astrid_err e;
    assert_int_equal(astrid_duration_parse(s, &v, &e), 0);
    return v;
}

static void dur_bad(const char *s)
{
    uint64_t v = 5;
    astrid_err e;
    assert_int_equal(astrid_duration_parse(s, &v, &e), -1);
    char q[128];
    snprintf(q, sizeof q, "'%s'", s);
    assert_non_null(strstr(e.msg, q));
    assert_int_equal(v, 5);
}

static void test_duration(void **state)
{
    (void)state;
    assert_int_equal(dur("500ms"), 500);
    assert_int_equal(dur("30s"), 30000);
    assert_int_equal(dur("5m"), 300000);
    assert_int_equal(dur("1h"), 3600000);
    assert_int_equal(dur("2d"), 172800000);
    assert_int_equal(dur("2h30m"), 9000000);
    assert_int_equal(dur("300"), 300000);
    assert_int_equal(dur("1s500ms"), 1500);
    dur_bad("");
    dur_bad("h");
    dur_bad("5x");
    dur_bad("1h30");
    dur_bad("-5s");
    dur_bad("99999999999999999999d");
    dur_bad("999999999999999d");
    char b[64];
    const struct {
        uint64_t v;
        const char *s;
    } cases[] = {
        {500, "500ms"}, {30000, "30s"},     {9000000, "2h30m"},
        {0, "0s"},      {93600000, "1d2h"}, {1500, "1s500ms"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(astrid_duration_format(cases[i].v, b, sizeof b), 0);
        assert_string_equal(b, cases[i].s);
        assert_int_equal(dur(b), cases[i].v);
    }
    assert_int_equal(astrid_duration_format(9000000, b, 3), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_parse),
        cmocka_unit_test(test_size_format),
        cmocka_unit_test(test_duration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
