/* Signed federation envelopes (include/astrid/envelope.h). The wire JSON is
 * untrusted until astrid_envelope_verify() succeeds with the key the
 * receiver's trust table holds: parse checks only shape and the payload
 * hash, so a caller can name the origin in its refusal. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/blake3.h"
#include "astrid/envelope.h"
#include "astrid/jsonsafe.h"
#include "astrid/principal.h"
#include "astrid/topic.h"
#include "astrid/trust.h"
#include "astrid/wire.h"

#define ENV_DOMAIN "astrid-fed-v1"

/* Every field a signature covers, checked identically when sealing and when
 * parsing, so a sender cannot produce an envelope receivers refuse and a
 * receiver never hands on a field the sender could not have sealed. */
static int fields_check(const astrid_envelope *env, astrid_err *err)
{
    if (strnlen(env->lattice, sizeof env->lattice) == sizeof env->lattice ||
        astrid_fed_name_validate("lattice name", env->lattice, err) != 0)
        return astrid_err_set(err, ASTRID_E_INVALID, "envelope: invalid lattice name");
    if (strnlen(env->origin, sizeof env->origin) == sizeof env->origin ||
        astrid_fed_name_validate("host name", env->origin, err) != 0)
        return astrid_err_set(err, ASTRID_E_INVALID, "envelope: invalid origin host name");
    if (strnlen(env->topic, sizeof env->topic) == sizeof env->topic ||
        astrid_topic_check(env->topic, ASTRID_TOPIC_PUBLISH, err) != 0)
        return astrid_err_prefix(err, "envelope: topic");
    if (strnlen(env->principal, sizeof env->principal) == sizeof env->principal)
        return astrid_err_set(err, ASTRID_E_INVALID, "envelope: principal too long");
    /* Only a host's own principals travel: an imported message is never
     * re-exported, so "alice@B" arriving from C is a forgery of B's. */
    if (env->principal[0] && astrid_principal_validate(env->principal, err) != 0)
        return astrid_err_prefix(err, "envelope: principal");
    if (env->seq == 0 || env->seq > (uint64_t)INT64_MAX)
        return astrid_err_set(err, ASTRID_E_INVALID, "envelope: seq out of range");
    if (env->ts_ms < 0)
        return astrid_err_set(err, ASTRID_E_INVALID, "envelope: negative timestamp");
    return 0;
}

static size_t put_str(uint8_t *buf, size_t off, const char *s)
{
    size_t n = strlen(s) + 1;
    memcpy(buf + off, s, n);
    return off + n;
}

static size_t put_u64(uint8_t *buf, size_t off, uint64_t v)
{
    for (int i = 7; i >= 0; i--)
        buf[off++] = (uint8_t)(v >> (i * 8));
    return off;
}

/* The signed bytes; `buf` holds at least SIGNED_MAX. Fields are bounded by
 * their arrays and hold no NUL, so the NUL separators are unambiguous. */
#define SIGNED_MAX                                                                                 \
    (sizeof ENV_DOMAIN + sizeof((astrid_envelope *)0)->lattice +                                   \
     sizeof((astrid_envelope *)0)->origin + sizeof((astrid_envelope *)0)->topic +                  \
     sizeof((astrid_envelope *)0)->principal + 8 + 8 + 32)
static size_t signed_bytes(const astrid_envelope *env, uint8_t *buf)
{
    size_t off = put_str(buf, 0, ENV_DOMAIN);
    off = put_str(buf, off, env->lattice);
    off = put_str(buf, off, env->origin);
    off = put_str(buf, off, env->topic);
    off = put_str(buf, off, env->principal);
    off = put_u64(buf, off, env->seq);
    off = put_u64(buf, off, (uint64_t)env->ts_ms);
    memcpy(buf + off, env->payload_b3, 32);
    return off + 32;
}

int astrid_envelope_seal(astrid_envelope *env, const char *payload, size_t payload_len,
                         const astrid_keypair *kp, char **out, size_t *out_len, astrid_err *err)
{
    *out = NULL;
    if (out_len)
        *out_len = 0;
    if (!payload) {
        if (payload_len)
            return astrid_err_set(err, ASTRID_E_INVALID, "envelope: no payload");
        payload = "";
    }
    if (fields_check(env, err) != 0)
        return -1;
    if (memchr(payload, '\0', payload_len))
        return astrid_err_set(err, ASTRID_E_INVALID, "envelope: payload holds a NUL byte");
    astrid_blake3(payload, payload_len, env->payload_b3);
    uint8_t sb[SIGNED_MAX];
    size_t sl = signed_bytes(env, sb);
    astrid_sign(env->sig, sb, sl, kp);

    char b3[65], sig[129];
    astrid_hex_encode(b3, env->payload_b3, 32);
    astrid_hex_encode(sig, env->sig, 64);
    json_t *o = json_object();
    json_t *p = json_stringn(payload, payload_len);
    if (!o || !p) {
        json_decref(o);
        json_decref(p);
        return astrid_err_set(err, ASTRID_E_INVALID, "envelope: payload is not valid UTF-8");
    }
    int rc = 0;
    rc |= json_object_set_new(o, "v", json_integer(ASTRID_ENV_VERSION));
    rc |= json_object_set_new(o, "lattice", json_string(env->lattice));
    rc |= json_object_set_new(o, "origin", json_string(env->origin));
    rc |= json_object_set_new(o, "topic", json_string(env->topic));
    rc |= json_object_set_new(o, "principal", json_string(env->principal));
    rc |= json_object_set_new(o, "seq", json_integer((json_int_t)env->seq));
    rc |= json_object_set_new(o, "ts_ms", json_integer((json_int_t)env->ts_ms));
    rc |= json_object_set_new(o, "payload_b3", json_string(b3));
    rc |= json_object_set_new(o, "sig", json_string(sig));
    rc |= json_object_set_new(o, "payload", p);
    char *s = rc ? NULL : astrid_json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!s)
        return astrid_err_set(err, ASTRID_E_NOMEM, "envelope: out of memory");
    size_t n = strlen(s);
    if (n > ASTRID_ENV_MAX_WIRE) {
        free(s);
        return astrid_err_set(err, ASTRID_E_LIMIT, "envelope: %zu bytes, over the %u-byte limit", n,
                              ASTRID_ENV_MAX_WIRE);
    }
    *out = s;
    if (out_len)
        *out_len = n;
    return 0;
}

static int get_str(json_t *o, const char *key, char *dst, size_t dstsz, astrid_err *err)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        return astrid_err_set(err, ASTRID_E_PARSE, "envelope: '%s' missing or not a string", key);
    size_t n = json_string_length(v);
    if (n >= dstsz)
        return astrid_err_set(err, ASTRID_E_LIMIT, "envelope: '%s' longer than %zu bytes", key,
                              dstsz - 1);
    memcpy(dst, json_string_value(v), n + 1);
    return 0;
}

static int get_hex(json_t *o, const char *key, uint8_t *dst, size_t n, astrid_err *err)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v) || json_string_length(v) != 2 * n ||
        astrid_hex_decode(dst, n, json_string_value(v), 2 * n) != 0)
        return astrid_err_set(err, ASTRID_E_PARSE, "envelope: '%s' must be %zu hex digits", key,
                              2 * n);
    return 0;
}

static const char *const known_keys[] = {"v",   "lattice", "origin",     "topic", "principal",
                                         "seq", "ts_ms",   "payload_b3", "sig",   "payload"};

int astrid_envelope_parse(const char *wire, size_t len, astrid_envelope *env, char **payload,
                          size_t *payload_len, astrid_err *err)
{
    *payload = NULL;
    if (payload_len)
        *payload_len = 0;
    memset(env, 0, sizeof *env);
    if (!wire || len == 0)
        return astrid_err_set(err, ASTRID_E_PARSE, "envelope: empty message");
    if (len > ASTRID_ENV_MAX_WIRE)
        return astrid_err_set(err, ASTRID_E_LIMIT, "envelope: %zu bytes, over the %u-byte limit",
                              len, ASTRID_ENV_MAX_WIRE);
    json_t *o = astrid_wire_parse(wire, len, err);
    if (!o)
        return astrid_err_prefix(err, "envelope");
    int rc = -1;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        size_t i = 0;
        while (i < sizeof known_keys / sizeof known_keys[0] && strcmp(k, known_keys[i]) != 0)
            i++;
        if (i == sizeof known_keys / sizeof known_keys[0]) {
            astrid_err_set(err, ASTRID_E_PARSE, "envelope: unknown field '%.64s'", k);
            goto out;
        }
    }
    v = json_object_get(o, "v");
    if (!json_is_integer(v) || json_integer_value(v) != ASTRID_ENV_VERSION) {
        astrid_err_set(err, ASTRID_E_PARSE, "envelope: unsupported version (want %d)",
                       ASTRID_ENV_VERSION);
        goto out;
    }
    if (get_str(o, "lattice", env->lattice, sizeof env->lattice, err) ||
        get_str(o, "origin", env->origin, sizeof env->origin, err) ||
        get_str(o, "topic", env->topic, sizeof env->topic, err) ||
        get_str(o, "principal", env->principal, sizeof env->principal, err) ||
        get_hex(o, "payload_b3", env->payload_b3, 32, err) || get_hex(o, "sig", env->sig, 64, err))
        goto out;
    json_t *seq = json_object_get(o, "seq"), *ts = json_object_get(o, "ts_ms");
    if (!json_is_integer(seq) || json_integer_value(seq) <= 0 || !json_is_integer(ts)) {
        astrid_err_set(err, ASTRID_E_PARSE,
                       "envelope: 'seq' and 'ts_ms' must be integers, seq > 0");
        goto out;
    }
    env->seq = (uint64_t)json_integer_value(seq);
    env->ts_ms = (int64_t)json_integer_value(ts);
    if (fields_check(env, err) != 0)
        goto out;
    json_t *p = json_object_get(o, "payload");
    if (!json_is_string(p)) {
        astrid_err_set(err, ASTRID_E_PARSE, "envelope: 'payload' missing or not a string");
        goto out;
    }
    size_t pl = json_string_length(p);
    uint8_t h[32];
    astrid_blake3(json_string_value(p), pl, h);
    if (!astrid_ct_equal(h, env->payload_b3, 32)) {
        astrid_err_set(err, ASTRID_E_CRYPTO, "envelope: payload does not match payload_b3");
        goto out;
    }
    char *copy = malloc(pl + 1);
    if (!copy) {
        astrid_err_set(err, ASTRID_E_NOMEM, "envelope: out of memory");
        goto out;
    }
    memcpy(copy, json_string_value(p), pl + 1);
    *payload = copy;
    if (payload_len)
        *payload_len = pl;
    rc = 0;
out:
    json_decref(o);
    if (rc != 0)
        memset(env, 0, sizeof *env);
    return rc;
}

int astrid_envelope_verify(const astrid_envelope *env, const uint8_t pk[32], astrid_err *err)
{
    if (!env || !pk)
        return astrid_err_set(err, ASTRID_E_INVALID, "envelope: nothing to verify");
    /* Re-checked here too: a caller may have built `env` by hand. */
    if (fields_check(env, err) != 0)
        return -1;
    uint8_t sb[SIGNED_MAX];
    size_t sl = signed_bytes(env, sb);
    if (!astrid_verify(env->sig, sb, sl, pk))
        return astrid_err_set(err, ASTRID_E_CRYPTO, "envelope from '%s': bad signature",
                              env->origin);
    return 0;
}

/* Bit i of the window is seq (top - i). */
static bool bit_get(const astrid_replay_window *w, uint64_t i)
{
    return (w->bits[i / 64] >> (i % 64)) & 1u;
}

static void bit_set(astrid_replay_window *w, uint64_t i)
{
    w->bits[i / 64] |= (uint64_t)1 << (i % 64);
}

#define WINDOW_BITS (16u * 64u)

/* Move the window up by d (< WINDOW_BITS): bit i becomes bit i + d. */
static void window_shift(astrid_replay_window *w, uint64_t d)
{
    size_t words = (size_t)(d / 64), bits = (size_t)(d % 64);
    for (size_t i = 16; i-- > 0;) {
        uint64_t v = 0;
        if (i >= words) {
            v = w->bits[i - words] << bits;
            if (bits && i > words)
                v |= w->bits[i - words - 1] >> (64 - bits);
        }
        w->bits[i] = v;
    }
}

int astrid_replay_check(astrid_replay_window *w, uint64_t seq, int64_t ts_ms, int64_t now_ms,
                        int64_t skew_ms, astrid_err *err)
{
    /* Skew first, and without touching the window: a message refused for
     * its clock must not burn its seq. Compared without overflow. */
    if (skew_ms < 0)
        skew_ms = 0;
    bool skewed = ts_ms > now_ms ? (uint64_t)ts_ms - (uint64_t)now_ms > (uint64_t)skew_ms
                                 : (uint64_t)now_ms - (uint64_t)ts_ms > (uint64_t)skew_ms;
    if (skewed)
        return astrid_err_set(err, ASTRID_E_PERM,
                              "timestamp %lld ms is more than %lld ms from this host's clock",
                              (long long)ts_ms, (long long)skew_ms);
    if (seq == 0)
        return astrid_err_set(err, ASTRID_E_PERM, "seq 0 is never valid");
    if (w->top == 0 || seq > w->top) {
        uint64_t d = w->top == 0 ? WINDOW_BITS : seq - w->top;
        if (d >= WINDOW_BITS)
            memset(w->bits, 0, sizeof w->bits);
        else
            window_shift(w, d);
        w->top = seq;
        bit_set(w, 0);
        return 0;
    }
    uint64_t d = w->top - seq;
    if (d >= WINDOW_BITS)
        return astrid_err_set(err, ASTRID_E_PERM,
                              "seq %llu is older than the replay window (highest %llu)",
                              (unsigned long long)seq, (unsigned long long)w->top);
    if (bit_get(w, d))
        return astrid_err_set(err, ASTRID_E_PERM, "seq %llu replayed", (unsigned long long)seq);
    bit_set(w, d);
    return 0;
}
