/* etc/federation.toml parsing, subjects, [[map]] lookup, nkey encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/fedconf.h"

#define GOOD                                                                                       \
    "[federation]\nhost = \"A\"\nlattice = \"dev\"\nurls = [\"nats://127.0.0.1:4222\"]\n"          \
    "export = [\"llm.v1.request.generate.*\"]\nimport = [\"agent.v1.response\"]\n"                 \
    "serve = [\"tool.v1.execute.*\"]\nnkey_seed = \"keys/n.nk\"\ntls_ca = \"/etc/ca.pem\"\n"       \
    "heartbeat_ms = 200\npeer_timeout_ms = 900\n"                                                  \
    "[[map]]\nremote = \"alice@B\"\ngroup = \"agent\"\n[[map]]\nremote = \"*@B\"\ngroup = "        \
    "\"ro\"\n"

static astrid_fedconf *parse(const char *text, astrid_err *err)
{
    return astrid_fedconf_parse(text, strlen(text), "etc/federation.toml", "/h", err);
}

static void test_good(void **state)
{
    (void)state;
    astrid_err err;
    astrid_fedconf *c = parse(GOOD, &err);
    assert_non_null(c);
    assert_string_equal(c->host, "A");
    assert_string_equal(c->lattice, "dev");
    assert_int_equal(c->nurls, 1);
    assert_int_equal(c->nexports, 1);
    assert_string_equal(c->serves[0], "tool.v1.execute.*");
    assert_string_equal(c->nkey_seed, "/h/keys/n.nk");
    assert_string_equal(c->tls_ca, "/etc/ca.pem");
    assert_null(c->tls_cert);
    assert_int_equal(c->heartbeat_ms, 200);
    assert_int_equal(c->request_timeout_ms, 5000);
    assert_string_equal(astrid_fedconf_map_group(c, "alice@B"), "agent");
    assert_string_equal(astrid_fedconf_map_group(c, "bob@B"), "ro");
    assert_null(astrid_fedconf_map_group(c, "alice@C"));
    assert_null(astrid_fedconf_map_group(c, "alice"));
    assert_true(astrid_fed_topic_listed(c->exports, c->nexports, "llm.v1.request.generate.x"));
    assert_false(astrid_fed_topic_listed(c->exports, c->nexports, "llm.v1.stream.x"));
    astrid_fedconf_free(c);
}

static void test_bad(void **state)
{
    (void)state;
    static const struct {
        const char *text, *needle;
    } cases[] = {
        {"[federation]\nhost=\"A\"\nlattice=\"dev\"\n", "urls"},
        {"[federation]\nhost=\"A.B\"\nlattice=\"dev\"\nurls=[\"nats://x\"]\n", "host"},
        {"[federation]\nhost=\"A\"\nlattice=\"d*\"\nurls=[\"nats://x\"]\n", "lattice"},
        {"[federation]\nhost=\"A\"\nlattice=\"d\"\nurls=[\"http://x\"]\n", "urls"},
        {"[federation]\nhost=\"A\"\nlattice=\"d\"\nurls=[\"nats://x\"]\nexprot=[]\n", "exprot"},
        {"[federation]\nhost=\"A\"\nlattice=\"d\"\nurls=[\"nats://x\"]\nexport=[\"a.*.b\"]\n",
         "export"},
        {"[federation]\nhost=\"A\"\nlattice=\"d\"\nurls=[\"nats://x\"]\nexport=[\"@B.x\"]\n",
         "export"},
        {"[federation]\nhost=\"A\"\nlattice=\"d\"\nurls=[\"nats://x\"]\nimport=[\"a.>\"]\n",
         "import"},
        {"[federation]\nhost=\"A\"\nlattice=\"d\"\nurls=[\"nats://x\"]\ntls_cert=\"c\"\n",
         "tls_key"},
        {"[federation]\nhost=\"A\"\nlattice=\"d\"\nurls=[\"nats://x\"]\nheartbeat_ms=1\n",
         "heartbeat_ms"},
        {"[federation]\nhost=\"A\"\nlattice=\"d\"\nurls=[\"nats://x\"]\n[[map]]\nremote=\"alice\"\n"
         "group=\"g\"\n",
         "remote"},
        {"[federation]\nhost=\"A\"\nlattice=\"d\"\nurls=[\"nats://x\"]\n[[map]]\nremote=\"a@B\"\n",
         "group"},
        {"[federation]\nhost=\"A\"\nlattice=\"d\"\nurls=[\"nats://x\"]\n[other]\n", "other"},
        {"host=\"A\"\n", "host"},
        {"[federation\n", "federation"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        astrid_err err = {0};
        astrid_fedconf *c = parse(cases[i].text, &err);
        if (c)
            fail_msg("case %zu parsed", i);
        if (!strstr(err.msg, cases[i].needle))
            fail_msg("case %zu: '%s' does not name %s", i, err.msg, cases[i].needle);
    }
}

static void test_subjects(void **state)
{
    (void)state;
    char s[ASTRID_FED_SUBJECT_MAX], host[64], topic[300];
    assert_int_equal(
        astrid_fed_subject(s, sizeof s, "dev", NULL, "llm.v1.request.generate.*", NULL), 0);
    assert_string_equal(s, "astrid.dev.llm.v1.request.generate.>");
    assert_int_equal(astrid_fed_subject(s, sizeof s, "dev", "A", "llm.v1.stream.x", NULL), 0);
    assert_string_equal(s, "astrid.dev.@A.llm.v1.stream.x");
    assert_int_equal(astrid_fed_topic_of(s, "dev", host, sizeof host, topic, sizeof topic), 0);
    assert_string_equal(host, "A");
    assert_string_equal(topic, "llm.v1.stream.x");
    assert_int_equal(
        astrid_fed_topic_of("astrid.dev.a.b", "dev", host, sizeof host, topic, sizeof topic), 0);
    assert_string_equal(host, "");
    assert_string_equal(topic, "a.b");
    /* another lattice, a control subject, a wildcard */
    assert_int_equal(
        astrid_fed_topic_of("astrid.prod.a.b", "dev", host, sizeof host, topic, sizeof topic), -1);
    assert_int_equal(
        astrid_fed_topic_of("astrid.dev.@A.@ping", "dev", host, sizeof host, topic, sizeof topic),
        -1);
    assert_int_equal(
        astrid_fed_topic_of("astrid.dev.a.*", "dev", host, sizeof host, topic, sizeof topic), -1);
    assert_int_equal(
        astrid_fed_topic_of("astrid.devx.a", "dev", host, sizeof host, topic, sizeof topic), -1);
}

static void test_nkey(void **state)
{
    (void)state;
    uint8_t raw[32], back[32];
    for (int i = 0; i < 32; i++)
        raw[i] = (uint8_t)(i * 7 + 1);
    char seed[80], pub[80], pub2[80];
    assert_int_equal(astrid_nkey_seed_from_bytes(raw, seed, sizeof seed, NULL), 0);
    assert_int_equal(strlen(seed), 58);
    assert_memory_equal(seed, "SU", 2);
    assert_int_equal(astrid_nkey_decode_seed(seed, back, NULL), 0);
    assert_memory_equal(raw, back, 32);
    assert_int_equal(astrid_nkey_public_of_seed(seed, pub, sizeof pub, NULL), 0);
    assert_int_equal(strlen(pub), 56);
    assert_int_equal(pub[0], 'U');
    /* deterministic, and a flipped character breaks the checksum */
    assert_int_equal(astrid_nkey_public_of_seed(seed, pub2, sizeof pub2, NULL), 0);
    assert_string_equal(pub, pub2);
    seed[20] = seed[20] == 'A' ? 'B' : 'A';
    astrid_err err;
    assert_int_equal(astrid_nkey_decode_seed(seed, back, &err), -1);
    assert_non_null(strstr(err.msg, "checksum"));
    assert_int_equal(astrid_nkey_decode_seed("not base32!", back, NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_subjects),
        cmocka_unit_test(test_nkey),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
