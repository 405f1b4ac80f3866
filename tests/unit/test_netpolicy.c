/* The capsule HTTP gates: host allow-lists and the SSRF address filter,
 * checked against addresses parsed by the C library (getaddrinfo). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <netdb.h>
#include <string.h>

#include "capsule/netpolicy.h"

static bool listed(const char *host, const char *const *list, size_t n)
{
    return astrid_net_host_listed((char *const *)list, n, host);
}

static void test_host_listed(void **state)
{
    (void)state;
    const char *l[] = {"example.com", "API.Other.org"};
    assert_true(listed("example.com", l, 2));
    assert_true(listed("EXAMPLE.com.", l, 2));
    assert_true(listed("a.b.example.com", l, 2));
    assert_true(listed("api.other.org", l, 2));
    assert_false(listed("evilexample.com", l, 2));
    assert_false(listed("example.com.evil.net", l, 2));
    assert_false(listed("other.org", l, 2));
    assert_false(listed("", l, 2));
    assert_false(listed("example.com", l, 0));
    const char *star[] = {"x.org", "*"};
    assert_true(listed("anything.net", star, 2));
    const char *empty[] = {""};
    assert_false(listed("example.com", empty, 1));
}

static bool priv(const char *addr)
{
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST}, *ai = NULL;
    assert_int_equal(getaddrinfo(addr, NULL, &hints, &ai), 0);
    bool p = astrid_net_addr_private(ai->ai_addr);
    freeaddrinfo(ai);
    return p;
}

static void test_ssrf_filter(void **state)
{
    (void)state;
    const char *blocked[] = {"127.0.0.1",
                             "127.255.1.2",
                             "0.0.0.0",
                             "10.1.2.3",
                             "100.64.0.1",
                             "100.127.255.1",
                             "169.254.169.254",
                             "172.16.0.1",
                             "172.31.255.255",
                             "192.168.1.1",
                             "224.0.0.1",
                             "255.255.255.255",
                             "::1",
                             "::",
                             "fc00::1",
                             "fdff::1",
                             "fe80::1",
                             "febf::1",
                             "ff02::1",
                             "::ffff:127.0.0.1",
                             "::ffff:10.0.0.1",
                             "::127.0.0.1",
                             "64:ff9b::a9fe:a9fe"};
    for (size_t i = 0; i < sizeof blocked / sizeof *blocked; i++) {
        if (!priv(blocked[i]))
            fail_msg("%s should be refused", blocked[i]);
    }
    const char *open[] = {"93.184.216.34", "8.8.8.8",        "100.128.0.1",     "172.32.0.1",
                          "172.15.255.1",  "192.169.0.1",    "169.255.0.1",     "2606:4700::1111",
                          "fec0::1",       "::ffff:1.1.1.1", "64:ff9b::808:808"};
    for (size_t i = 0; i < sizeof open / sizeof *open; i++) {
        if (priv(open[i]))
            fail_msg("%s should be allowed", open[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_host_listed),
                                       cmocka_unit_test(test_ssrf_filter)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
