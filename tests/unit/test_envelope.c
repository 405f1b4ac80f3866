/* Federation envelopes (issue #19): seal/parse/verify round trip, every
 * signed field tampered, wrong key, hostile wire forms, and the per-origin
 * replay/skew window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/blake3.h"
#include "astrid/crypto.h"
#include "astrid/envelope.h"

static const char PAYLOAD[] =
    "{\"topic\":\"llm.v1.request.generate.mock\",\"payload\":{\"type\":\"custom\",\"data\":{}}}";

static astrid_keypair kp_a, kp_b;

static int group_setup(void **state)
{
    (void)state;
    uint8_t sa[32], sb[32];
    memset(sa, 0xa1, sizeof sa);
    memset(sb, 0xb2, sizeof sb);
    return astrid_crypto_init(NULL) == 0 && astrid_keypair_from_seed(&kp_a, sa, NULL) == 0 &&
                   astrid_keypair_from_seed(&kp_b, sb, NULL) == 0
               ? 0
               : -1;
}

static void fill(astrid_envelope *e)
{
    memset(e, 0, sizeof *e);
    strcpy(e->lattice, "dev");
    strcpy(e->origin, "A");
    strcpy(e->topic, "llm.v1.request.generate.mock");
    strcpy(e->principal, "alice");
    e->seq = 1733380000000000ull;
    e->ts_ms = 1733380000000;
}

/* Seal PAYLOAD as A; returns the wire text (caller frees). */
static char *seal(astrid_envelope *e, size_t *len)
{
    char *wire = NULL;
    astrid_err err;
    int rc = astrid_envelope_seal(e, PAYLOAD, strlen(PAYLOAD), &kp_a, &wire, len, &err);
    if (rc != 0)
        fail_msg("seal: %s", err.msg);
    return wire;
}

static void round_trip(void **state)
{
    (void)state;
    astrid_envelope e, p;
    fill(&e);
    size_t len;
    char *wire = seal(&e, &len);
    assert_int_equal(strlen(wire), len);
    char *payload = NULL;
    size_t pl = 0;
    astrid_err err;
    assert_int_equal(astrid_envelope_parse(wire, len, &p, &payload, &pl, &err), 0);
    assert_string_equal(payload, PAYLOAD);
    assert_int_equal(pl, strlen(PAYLOAD));
    assert_string_equal(p.lattice, "dev");
    assert_string_equal(p.origin, "A");
    assert_string_equal(p.topic, "llm.v1.request.generate.mock");
    assert_string_equal(p.principal, "alice");
    assert_true(p.seq == e.seq);
    assert_true(p.ts_ms == e.ts_ms);
    uint8_t h[32];
    astrid_blake3(PAYLOAD, strlen(PAYLOAD), h);
    assert_memory_equal(p.payload_b3, h, 32);
    assert_int_equal(astrid_envelope_verify(&p, kp_a.pk, &err), 0);
    /* The kernel's own messages carry principal "". */
    free(wire);
    free(payload);
    fill(&e);
    e.principal[0] = '\0';
    wire = seal(&e, &len);
    assert_int_equal(astrid_envelope_parse(wire, len, &p, &payload, &pl, &err), 0);
    assert_string_equal(p.principal, "");
    assert_int_equal(astrid_envelope_verify(&p, kp_a.pk, &err), 0);
    free(wire);
    free(payload);
}

static void wrong_key(void **state)
{
    (void)state;
    astrid_envelope e;
    fill(&e);
    size_t len;
    char *wire = seal(&e, &len);
    astrid_envelope p;
    char *payload;
    astrid_err err;
    assert_int_equal(astrid_envelope_parse(wire, len, &p, &payload, NULL, &err), 0);
    assert_int_equal(astrid_envelope_verify(&p, kp_b.pk, &err), -1);
    assert_int_equal(err.code, ASTRID_E_CRYPTO);
    assert_non_null(strstr(err.msg, "bad signature"));
    free(wire);
    free(payload);
}

/* Each signed field changed after sealing makes verification fail. */
static void every_field_tampered(void **state)
{
    (void)state;
    astrid_envelope e;
    fill(&e);
    size_t len;
    char *wire = seal(&e, &len);
    astrid_err err;
    for (int f = 0; f < 8; f++) {
        astrid_envelope t = e;
        switch (f) {
        case 0:
            strcpy(t.lattice, "prod");
            break;
        case 1:
            strcpy(t.origin, "C");
            break;
        case 2:
            strcpy(t.topic, "llm.v1.request.generate.other");
            break;
        case 3:
            strcpy(t.principal, "mallory");
            break;
        case 4:
            t.seq++;
            break;
        case 5:
            t.ts_ms++;
            break;
        case 6:
            t.payload_b3[31] ^= 1;
            break;
        case 7:
            t.sig[0] ^= 0x80;
            break;
        }
        assert_int_equal(astrid_envelope_verify(&t, kp_a.pk, &err), -1);
        assert_int_equal(err.code, ASTRID_E_CRYPTO);
    }
    astrid_envelope ok = e;
    assert_int_equal(astrid_envelope_verify(&ok, kp_a.pk, &err), 0);
    free(wire);
}

/* Tampering with the wire text: a field edited in the JSON fails either the
 * payload hash (at parse) or the signature (at verify). */
static int wire_accepts(const char *wire)
{
    astrid_envelope p;
    char *payload = NULL;
    astrid_err err;
    int ok = astrid_envelope_parse(wire, strlen(wire), &p, &payload, NULL, &err) == 0 &&
             astrid_envelope_verify(&p, kp_a.pk, &err) == 0;
    free(payload);
    return ok;
}

static char *replace(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    if (!at)
        return NULL;
    size_t n = strlen(s) - strlen(from) + strlen(to) + 1;
    char *o = malloc(n);
    snprintf(o, n, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
    return o;
}

static void wire_tampered(void **state)
{
    (void)state;
    astrid_envelope e;
    fill(&e);
    size_t len;
    char *wire = seal(&e, &len);
    assert_true(wire_accepts(wire));
    static const char *const edits[][2] = {
        {"\"lattice\":\"dev\"", "\"lattice\":\"dew\""},
        {"\"origin\":\"A\"", "\"origin\":\"B\""},
        {"generate.mock\",\"principal", "generate.mocc\",\"principal"},
        {"\"principal\":\"alice\"", "\"principal\":\"admin\""},
        {"\"seq\":1733380000000000", "\"seq\":1733380000000001"},
        {"\"ts_ms\":1733380000000", "\"ts_ms\":1733380000001"},
        {"custom", "cu5tom"},
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        char *t = replace(wire, edits[i][0], edits[i][1]);
        assert_non_null(t);
        if (wire_accepts(t))
            fail_msg("edit %zu accepted: %s", i, t);
        free(t);
    }
    /* The payload and its hash replaced together still fail the signature. */
    char b3[65], nb3[65];
    uint8_t h[32];
    astrid_hex_encode(b3, e.payload_b3, 32);
    static const char other[] = "{\"topic\":\"x\"}";
    astrid_blake3(other, strlen(other), h);
    astrid_hex_encode(nb3, h, 32);
    /* only the hash replaced: the payload no longer matches it */
    char *t1 = replace(wire, b3, nb3);
    assert_false(wire_accepts(t1));
    /* both replaced: the signature no longer matches */
    char sig[129];
    astrid_hex_encode(sig, e.sig, 64);
    char forged[1024];
    snprintf(forged, sizeof forged,
             "{\"v\":1,\"lattice\":\"dev\",\"origin\":\"A\",\"topic\":\"%s\",\"principal\":"
             "\"alice\",\"seq\":%llu,\"ts_ms\":%lld,\"payload_b3\":\"%s\",\"sig\":\"%s\","
             "\"payload\":\"{\\\"topic\\\":\\\"x\\\"}\"}",
             e.topic, (unsigned long long)e.seq, (long long)e.ts_ms, nb3, sig);
    assert_false(wire_accepts(forged));
    /* A signature stripped, or zeroed: refused. */
    char *nosig = replace(wire, sig, "");
    assert_false(wire_accepts(nosig));
    char zeros[129];
    memset(zeros, '0', 128);
    zeros[128] = '\0';
    char *zsig = replace(wire, sig, zeros);
    assert_false(wire_accepts(zsig));
    free(t1);
    free(nosig);
    free(zsig);
    free(wire);
}

static void expect_parse_fail(const char *wire, size_t len, const char *needle)
{
    astrid_envelope p;
    char *payload = (char *)1;
    astrid_err err;
    memset(&err, 0, sizeof err);
    assert_int_equal(astrid_envelope_parse(wire, len, &p, &payload, NULL, &err), -1);
    assert_null(payload);
    if (needle && !strstr(err.msg, needle))
        fail_msg("want '%s' in '%s'", needle, err.msg);
}

static void hostile_wire(void **state)
{
    (void)state;
    astrid_envelope e;
    fill(&e);
    size_t len;
    char *wire = seal(&e, &len);
    /* truncated at every length */
    for (size_t n = 0; n < len; n++)
        expect_parse_fail(wire, n, NULL);
    expect_parse_fail("", 0, "empty");
    expect_parse_fail("garbage", 7, "envelope");
    expect_parse_fail("[1,2]", 5, NULL);
    expect_parse_fail("{\"v\":1}", 7, NULL);
    /* a duplicated key would let two readers see different fields */
    char *dup = replace(wire, "\"v\":1,", "\"v\":1,\"origin\":\"B\",");
    expect_parse_fail(dup, strlen(dup), NULL);
    free(dup);
    char *v2 = replace(wire, "\"v\":1", "\"v\":2");
    expect_parse_fail(v2, strlen(v2), "version");
    free(v2);
    char *unk = replace(wire, "\"v\":1,", "\"v\":1,\"pubkey\":\"00\",");
    expect_parse_fail(unk, strlen(unk), "unknown field");
    free(unk);
    char *neg = replace(wire, "\"seq\":1733380000000000", "\"seq\":-5");
    expect_parse_fail(neg, strlen(neg), "seq");
    free(neg);
    char *zero = replace(wire, "\"seq\":1733380000000000", "\"seq\":0");
    expect_parse_fail(zero, strlen(zero), "seq");
    free(zero);
    char *fseq = replace(wire, "\"seq\":1733380000000000", "\"seq\":1.5");
    expect_parse_fail(fseq, strlen(fseq), "seq");
    free(fseq);
    char *sseq = replace(wire, "\"seq\":1733380000000000", "\"seq\":\"1\"");
    expect_parse_fail(sseq, strlen(sseq), "seq");
    free(sseq);
    /* names that would change a NATS subject or a principal@host stamp */
    char *dot = replace(wire, "\"origin\":\"A\"", "\"origin\":\"A.x\"");
    expect_parse_fail(dot, strlen(dot), "origin");
    free(dot);
    char *at = replace(wire, "\"principal\":\"alice\"", "\"principal\":\"alice@C\"");
    expect_parse_fail(at, strlen(at), "principal");
    free(at);
    char *wild = replace(wire, "generate.mock\",\"principal", "generate.*\",\"principal");
    expect_parse_fail(wild, strlen(wild), "topic");
    free(wild);
    char *nul = replace(wire, "\"principal\":\"alice\"", "\"principal\":\"al\\u0000ice\"");
    expect_parse_fail(nul, strlen(nul), NULL);
    free(nul);
    char *bad_hex = replace(wire, "\"sig\":\"", "\"sig\":\"zz");
    expect_parse_fail(bad_hex, strlen(bad_hex), "sig");
    free(bad_hex);
    /* an origin longer than the field */
    char longo[200];
    memset(longo, 'a', 100);
    longo[100] = '\0';
    char to[220];
    snprintf(to, sizeof to, "\"origin\":\"%s\"", longo);
    char *lo = replace(wire, "\"origin\":\"A\"", to);
    expect_parse_fail(lo, strlen(lo), "origin");
    free(lo);
    /* oversized: refused on size alone, before any parsing */
    size_t big = ASTRID_ENV_MAX_WIRE + 1;
    char *huge = malloc(big);
    memset(huge, '{', big);
    expect_parse_fail(huge, big, "limit");
    free(huge);
    /* invalid UTF-8 */
    char *utf = replace(wire, "custom", "cu\xff\xfeom");
    expect_parse_fail(utf, strlen(utf), NULL);
    free(utf);
    free(wire);
}

static void seal_refuses_bad_fields(void **state)
{
    (void)state;
    astrid_envelope e;
    char *wire = NULL;
    astrid_err err;
    fill(&e);
    strcpy(e.origin, "a.b");
    assert_int_equal(astrid_envelope_seal(&e, "{}", 2, &kp_a, &wire, NULL, &err), -1);
    assert_null(wire);
    fill(&e);
    e.seq = 0;
    assert_int_equal(astrid_envelope_seal(&e, "{}", 2, &kp_a, &wire, NULL, &err), -1);
    fill(&e);
    strcpy(e.principal, "bob@B");
    assert_int_equal(astrid_envelope_seal(&e, "{}", 2, &kp_a, &wire, NULL, &err), -1);
    fill(&e);
    assert_int_equal(astrid_envelope_seal(&e, "{\0}", 3, &kp_a, &wire, NULL, &err), -1);
    assert_int_equal(astrid_envelope_seal(&e, "\xff", 1, &kp_a, &wire, NULL, &err), -1);
    assert_null(wire);
}

#define NOW 1733380000000LL
#define SKEW 30000LL

static void replay_window(void **state)
{
    (void)state;
    astrid_replay_window w;
    memset(&w, 0, sizeof w);
    astrid_err err;
    uint64_t b = 1000000;
    assert_int_equal(astrid_replay_check(&w, b, NOW, NOW, SKEW, &err), 0);
    /* duplicate */
    assert_int_equal(astrid_replay_check(&w, b, NOW, NOW, SKEW, &err), -1);
    assert_non_null(strstr(err.msg, "replayed"));
    /* out of order within the window: accepted once */
    assert_int_equal(astrid_replay_check(&w, b + 10, NOW, NOW, SKEW, &err), 0);
    assert_int_equal(astrid_replay_check(&w, b + 5, NOW, NOW, SKEW, &err), 0);
    assert_int_equal(astrid_replay_check(&w, b + 5, NOW, NOW, SKEW, &err), -1);
    assert_int_equal(astrid_replay_check(&w, b + 3, NOW, NOW, SKEW, &err), 0);
    assert_int_equal(astrid_replay_check(&w, b, NOW, NOW, SKEW, &err), -1);
    assert_int_equal(astrid_replay_check(&w, b + 10, NOW, NOW, SKEW, &err), -1);
    /* move up across word boundaries: every seq seen stays refused while in
     * the window, every unseen one is accepted exactly once */
    uint64_t top = b + 10 + 1000;
    assert_int_equal(astrid_replay_check(&w, top, NOW, NOW, SKEW, &err), 0);
    assert_int_equal(astrid_replay_check(&w, b + 10, NOW, NOW, SKEW, &err), -1);
    assert_int_equal(astrid_replay_check(&w, b + 5, NOW, NOW, SKEW, &err), -1);
    assert_int_equal(astrid_replay_check(&w, b + 11, NOW, NOW, SKEW, &err), 0);
    assert_int_equal(astrid_replay_check(&w, b + 11, NOW, NOW, SKEW, &err), -1);
    /* older than the window: refused even if never seen */
    assert_int_equal(astrid_replay_check(&w, top - 1024, NOW, NOW, SKEW, &err), -1);
    assert_non_null(strstr(err.msg, "older than the replay window"));
    assert_int_equal(astrid_replay_check(&w, top - 1023, NOW, NOW, SKEW, &err), 0);
    assert_int_equal(astrid_replay_check(&w, top - 1023, NOW, NOW, SKEW, &err), -1);
    /* a jump beyond the window clears it */
    assert_int_equal(astrid_replay_check(&w, top + 5000, NOW, NOW, SKEW, &err), 0);
    assert_int_equal(astrid_replay_check(&w, top + 4999, NOW, NOW, SKEW, &err), 0);
    assert_int_equal(astrid_replay_check(&w, top, NOW, NOW, SKEW, &err), -1);
    assert_int_equal(astrid_replay_check(&w, 0, NOW, NOW, SKEW, &err), -1);
}

/* Exhaustive against a plain set: 3000 seqs in a shuffled order with
 * duplicates; the window agrees with "accept iff unseen and within 1024 of
 * the highest accepted". */
static void replay_model(void **state)
{
    (void)state;
    astrid_replay_window w;
    memset(&w, 0, sizeof w);
    enum { N = 3000 };
    static unsigned char seen[N + 2000];
    memset(seen, 0, sizeof seen);
    uint64_t top = 0;
    unsigned x = 12345;
    astrid_err err;
    for (int i = 0; i < 20000; i++) {
        x = x * 1103515245u + 12345u;
        uint64_t s = 1 + (uint64_t)(i / 8) + (x >> 8) % 200; /* wanders upwards, jitters */
        bool want = !seen[s] && (top == 0 || s > top || top - s < 1024);
        int rc = astrid_replay_check(&w, s, NOW, NOW, SKEW, &err);
        if ((rc == 0) != want)
            fail_msg("seq %llu top %llu: got %d want %d", (unsigned long long)s,
                     (unsigned long long)top, rc, want);
        if (rc == 0) {
            seen[s] = 1;
            if (s > top)
                top = s;
        }
    }
}

static void replay_skew(void **state)
{
    (void)state;
    astrid_replay_window w;
    memset(&w, 0, sizeof w);
    astrid_err err;
    assert_int_equal(astrid_replay_check(&w, 5, NOW + SKEW + 1, NOW, SKEW, &err), -1);
    assert_non_null(strstr(err.msg, "from this host's clock"));
    assert_int_equal(astrid_replay_check(&w, 5, NOW - SKEW - 1, NOW, SKEW, &err), -1);
    /* a refusal for skew does not burn the seq */
    assert_int_equal(astrid_replay_check(&w, 5, NOW - SKEW, NOW, SKEW, &err), 0);
    assert_int_equal(astrid_replay_check(&w, 6, NOW + SKEW, NOW, SKEW, &err), 0);
    /* extreme values do not overflow into acceptance */
    assert_int_equal(astrid_replay_check(&w, 7, INT64_MIN, NOW, SKEW, &err), -1);
    assert_int_equal(astrid_replay_check(&w, 7, INT64_MAX, NOW, SKEW, &err), -1);
    assert_int_equal(astrid_replay_check(&w, 7, INT64_MAX, INT64_MIN, INT64_MAX, &err), -1);
}

/* ---- batches (v2): one signature over several messages */

static const char *const BATCH_PAYLOADS[3] = {"{\"i\":1}", "{\"i\":2,\"s\":\"two\"}", "{}"};

static void batch_fill(astrid_env_batch *b, astrid_env_entry e[3])
{
    memset(b, 0, sizeof *b);
    strcpy(b->lattice, "dev");
    strcpy(b->origin, "A");
    strcpy(b->topic, "bench.v1.ping.x");
    for (size_t i = 0; i < 3; i++) {
        memset(&e[i], 0, sizeof e[i]);
        strcpy(e[i].principal, i == 1 ? "bob" : "alice");
        e[i].seq = 1733380000000000ull + i;
        e[i].ts_ms = 1733380000000 + (int64_t)i;
        e[i].payload = (char *)BATCH_PAYLOADS[i];
        e[i].payload_len = strlen(BATCH_PAYLOADS[i]);
    }
    b->e = e;
    b->n = 3;
}

static char *batch_seal(size_t *len)
{
    astrid_env_batch b;
    astrid_env_entry e[3];
    batch_fill(&b, e);
    char *wire = NULL;
    astrid_err err;
    if (astrid_envelope_batch_seal(&b, &kp_a, &wire, len, &err) != 0)
        fail_msg("batch seal: %s", err.msg);
    return wire;
}

/* 0 = opened and verified with A's key. */
static int batch_check_wire(const char *wire, size_t len)
{
    astrid_env_batch b;
    astrid_err err;
    if (astrid_envelope_open(wire, len, &b, &err) != 0)
        return -1;
    int rc = astrid_env_batch_verify(&b, kp_a.pk, &err);
    astrid_env_batch_free(&b);
    return rc;
}

static void batch_round_trip(void **state)
{
    (void)state;
    size_t len;
    char *wire = batch_seal(&len);
    astrid_env_batch b;
    astrid_err err;
    assert_int_equal(astrid_envelope_open(wire, len, &b, &err), 0);
    assert_int_equal(b.version, 2);
    assert_int_equal(b.n, 3);
    assert_string_equal(b.origin, "A");
    assert_string_equal(b.topic, "bench.v1.ping.x");
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(b.e[i].payload, BATCH_PAYLOADS[i]);
        assert_int_equal(b.e[i].seq, 1733380000000000ull + i);
    }
    assert_string_equal(b.e[1].principal, "bob");
    assert_int_equal(astrid_env_batch_verify(&b, kp_a.pk, &err), 0);
    assert_int_equal(astrid_env_batch_verify(&b, kp_b.pk, &err), -1);
    assert_non_null(strstr(err.msg, "bad signature"));
    /* an audit reader rebuilds the batch without payloads: the hashes are signed */
    astrid_envelope one;
    astrid_env_batch_entry(&b, 2, &one);
    assert_int_equal(one.seq, b.e[2].seq);
    assert_memory_equal(one.sig, b.sig, 64);
    for (size_t i = 0; i < 3; i++) {
        free(b.e[i].payload);
        b.e[i].payload = NULL;
        b.e[i].payload_len = 0;
    }
    assert_int_equal(astrid_env_batch_verify(&b, kp_a.pk, &err), 0);
    /* every signed field of every entry matters */
    b.e[2].seq++;
    assert_int_equal(astrid_env_batch_verify(&b, kp_a.pk, &err), -1);
    b.e[2].seq--;
    b.e[0].ts_ms++;
    assert_int_equal(astrid_env_batch_verify(&b, kp_a.pk, &err), -1);
    b.e[0].ts_ms--;
    b.e[1].principal[0] = 'c';
    assert_int_equal(astrid_env_batch_verify(&b, kp_a.pk, &err), -1);
    b.e[1].principal[0] = 'b';
    b.e[1].payload_b3[5] ^= 1;
    assert_int_equal(astrid_env_batch_verify(&b, kp_a.pk, &err), -1);
    b.e[1].payload_b3[5] ^= 1;
    b.n = 2; /* an entry left out */
    assert_int_equal(astrid_env_batch_verify(&b, kp_a.pk, &err), -1);
    b.n = 3;
    strcpy(b.topic, "bench.v1.ping.y");
    assert_int_equal(astrid_env_batch_verify(&b, kp_a.pk, &err), -1);
    strcpy(b.topic, "bench.v1.ping.x");
    assert_int_equal(astrid_env_batch_verify(&b, kp_a.pk, &err), 0);
    astrid_env_batch_free(&b);
    /* a batch is not a v1 envelope: the single-message parser refuses it */
    astrid_envelope env;
    char *payload = NULL;
    assert_int_equal(astrid_envelope_parse(wire, len, &env, &payload, NULL, &err), -1);
    assert_null(payload);
    free(wire);
}

static void batch_opens_v1(void **state)
{
    (void)state;
    astrid_envelope e;
    fill(&e);
    size_t len;
    char *wire = seal(&e, &len);
    astrid_env_batch b;
    astrid_err err;
    assert_int_equal(astrid_envelope_open(wire, len, &b, &err), 0);
    assert_int_equal(b.version, 1);
    assert_int_equal(b.n, 1);
    assert_string_equal(b.e[0].payload, PAYLOAD);
    assert_string_equal(b.e[0].principal, "alice");
    assert_int_equal(astrid_env_batch_verify(&b, kp_a.pk, &err), 0);
    b.e[0].seq++;
    assert_int_equal(astrid_env_batch_verify(&b, kp_a.pk, &err), -1);
    astrid_env_batch_free(&b);
    free(wire);
}

static void batch_tampered_wire(void **state)
{
    (void)state;
    size_t len;
    char *wire = batch_seal(&len);
    assert_int_equal(batch_check_wire(wire, len), 0);
    /* one entry's seq, principal, payload changed; an entry dropped; a key added */
    static const char *const edits[][2] = {
        {"\"seq\":1733380000000001", "\"seq\":1733380000000009"},
        {"\"principal\":\"bob\"", "\"principal\":\"eve\""},
        {"\"i\\\":2", "\"i\\\":3"},
        {"\"entries\":[", "\"entries\":[{\"x\":1},"},
        {"\"v\":2,", "\"v\":2,\"pubkey\":\"00\","},
        {"\"seq\":1733380000000002,", "\"seq\":1733380000000002,\"extra\":1,"},
        {"\"entries\":[", "\"entries\":{\"a\":["},
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        char *t = replace(wire, edits[i][0], edits[i][1]);
        assert_non_null(t);
        assert_int_not_equal(batch_check_wire(t, strlen(t)), 0);
        free(t);
    }
    /* empty and oversized entry lists */
    char *empty = malloc(len + 1);
    snprintf(empty, len + 1,
             "{\"v\":2,\"lattice\":\"dev\",\"origin\":\"A\",\"topic\":\"t.x\",\"sig\":\"%0128d\","
             "\"entries\":[]}",
             0);
    assert_int_not_equal(batch_check_wire(empty, strlen(empty)), 0);
    free(empty);
    free(wire);
    astrid_env_batch b;
    astrid_env_entry *many = calloc(ASTRID_ENV_BATCH_MAX + 1, sizeof *many);
    astrid_env_entry e3[3];
    batch_fill(&b, e3);
    for (size_t i = 0; i <= ASTRID_ENV_BATCH_MAX; i++) {
        many[i] = e3[0];
        many[i].seq = 1 + i;
    }
    b.e = many;
    b.n = ASTRID_ENV_BATCH_MAX + 1;
    char *out = NULL;
    astrid_err err;
    assert_int_equal(astrid_envelope_batch_seal(&b, &kp_a, &out, NULL, &err), -1);
    b.n = ASTRID_ENV_BATCH_MAX;
    assert_int_equal(astrid_envelope_batch_seal(&b, &kp_a, &out, &len, &err), 0);
    assert_int_equal(batch_check_wire(out, len), 0);
    free(out);
    /* a third host's principal inside a batch is refused when sealing */
    strcpy(many[3].principal, "alice@C");
    assert_int_equal(astrid_envelope_batch_seal(&b, &kp_a, &out, NULL, &err), -1);
    free(many);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),           cmocka_unit_test(wrong_key),
        cmocka_unit_test(every_field_tampered), cmocka_unit_test(wire_tampered),
        cmocka_unit_test(hostile_wire),         cmocka_unit_test(seal_refuses_bad_fields),
        cmocka_unit_test(replay_window),        cmocka_unit_test(replay_model),
        cmocka_unit_test(replay_skew),          cmocka_unit_test(batch_round_trip),
        cmocka_unit_test(batch_opens_v1),       cmocka_unit_test(batch_tampered_wire),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
