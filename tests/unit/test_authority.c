/* The gate's stores without a daemon: capability tokens v2 (payload,
 * signature, JSON, v1 refusal), the token store (cross-principal refusal,
 * expiry, revocation, single-use under 32 threads, the verification cache,
 * LMDB persistence and what it refuses to load), allowances (per
 * principal, session clearing, max-uses under threads) and budgets (32
 * threads never overspend). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fnmatch.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "astrid/crypto.h"
#include "astrid/uuid.h"
#include "fixture.h"
#include "lib/caps/allowance.h"
#include "lib/caps/budget.h"
#include "lib/caps/token.h"
#include "store/captokens.h"
#include "store/kv.h"

static astrid_keypair key, other;

static int setup(void **state)
{
    (void)state;
    uint8_t seed[32] = {1}, seed2[32] = {2};
    astrid_err err;
    if (astrid_crypto_init(&err) != 0 || astrid_keypair_from_seed(&key, seed, &err) != 0 ||
        astrid_keypair_from_seed(&other, seed2, &err) != 0)
        return -1;
    return 0;
}

static astrid_captoken mk(const char *principal, const char *resource, int64_t expires,
                          bool single_use, bool persistent)
{
    astrid_captoken t = {0};
    snprintf(t.resource, sizeof t.resource, "%s", resource);
    t.perms = ASTRID_PERM_INVOKE;
    t.expires_at = expires;
    t.single_use = single_use;
    t.persistent = persistent;
    astrid_uuid_v4(t.approval_audit_id);
    snprintf(t.principal, sizeof t.principal, "%s", principal);
    astrid_err err;
    assert_int_equal(astrid_captoken_mint(&t, &key, &err), 0);
    return t;
}

static void token_json_roundtrip_verifies(void **state)
{
    (void)state;
    astrid_captoken t = mk("alice", "exec://ls *", 0, false, true), u;
    json_t *j = astrid_captoken_to_json(&t);
    astrid_err err;
    assert_int_equal(astrid_captoken_from_json(j, &u, &err), 0);
    json_decref(j);
    assert_int_equal(astrid_captoken_verify_sig(&u, key.pk, &err), 0);
    assert_string_equal(u.principal, "alice");
    assert_memory_equal(u.content_hash, t.content_hash, 32);
    assert_true(astrid_captoken_grants(&u, "exec://ls -la", ASTRID_PERM_INVOKE));
    assert_false(astrid_captoken_grants(&u, "exec://ls -la", ASTRID_PERM_WRITE));
    assert_false(astrid_captoken_grants(&u, "exec://rm x", ASTRID_PERM_INVOKE));
}

/* No silent migration: a token without a principal, or marked v1, is
 * refused naming re-mint; a signature over the v1 payload does not verify
 * as v2. */
static void token_v1_refused(void **state)
{
    (void)state;
    astrid_captoken t = mk("alice", "approval://a/b", 0, false, true), u;
    json_t *j = astrid_captoken_to_json(&t);
    json_object_del(j, "principal");
    json_object_del(j, "version");
    astrid_err err;
    assert_int_equal(astrid_captoken_from_json(j, &u, &err), -1);
    assert_non_null(strstr(err.msg, "re-mint"));
    json_decref(j);
    j = astrid_captoken_to_json(&t);
    json_object_set_new(j, "version", json_integer(1));
    assert_int_equal(astrid_captoken_from_json(j, &u, &err), -1);
    assert_non_null(strstr(err.msg, "v1"));
    json_decref(j);
    /* the v1 signing payload: version byte 1, no trailing lp(principal) */
    uint8_t buf[ASTRID_TOKEN_PAYLOAD_MAX];
    size_t n = astrid_captoken_payload(&t, buf);
    buf[0] = 1;
    n -= 4 + strlen(t.principal);
    astrid_sign(t.signature, buf, n, &key);
    assert_int_equal(astrid_captoken_verify_sig(&t, key.pk, &err), -1);
    assert_int_equal(err.code, ASTRID_E_CRYPTO);
    assert_non_null(strstr(err.msg, "re-minted"));
}

static void token_forged_refused(void **state)
{
    (void)state;
    astrid_err err;
    astrid_captoken t = mk("alice", "approval://a/b", 0, false, true);
    astrid_captoken f = t;
    snprintf(f.resource, sizeof f.resource, "approval://a/*");
    assert_int_equal(astrid_captoken_verify_sig(&f, key.pk, &err), -1);
    f = t;
    snprintf(f.principal, sizeof f.principal, "bob"); /* re-labelled for bob */
    assert_int_equal(astrid_captoken_verify_sig(&f, key.pk, &err), -1);
    /* signed by another key: not the runtime's */
    astrid_captoken o = t;
    assert_int_equal(astrid_captoken_mint(&o, &other, &err), 0);
    assert_int_equal(astrid_captoken_verify_sig(&o, key.pk, &err), -1);
    assert_non_null(strstr(err.msg, "untrusted issuer"));
    /* patterns with '..' are refused, and never match */
    assert_int_equal(astrid_resource_pattern_check("file:///tmp/../etc/*", &err), -1);
    assert_false(astrid_resource_matches("file:///tmp/**", "file:///tmp/../etc/passwd"));
}

/* The fast matcher agrees with fnmatch(3) on the patterns it takes. */
static void resource_glob_matches_fnmatch(void **state)
{
    (void)state;
    static const char *const pats[] = {"exec://make *", "exec://*",  "net://*.example.com:443",
                                       "x://a?c",       "x://a\\*b", "x://*a*b*",
                                       "x://**",        "x://a*",    "x://\\?",
                                       "x://*/*.txt"};
    static const char *const res[] = {"exec://make all",
                                      "exec://make",
                                      "exec://ls",
                                      "net://api.example.com:443",
                                      "net://example.com:443",
                                      "x://abc",
                                      "x://a*b",
                                      "x://axb",
                                      "x://aXbYb",
                                      "x://a",
                                      "x://?",
                                      "x://d/f.txt",
                                      "x://f.txt",
                                      ""};
    for (size_t i = 0; i < sizeof pats / sizeof *pats; i++)
        for (size_t j = 0; j < sizeof res / sizeof *res; j++) {
            bool want = strstr(res[j], "://") && fnmatch(pats[i], res[j], 0) == 0;
            if (astrid_resource_matches(pats[i], res[j]) != want)
                fail_msg("pattern %s on %s: want %d", pats[i], res[j], want);
        }
}

static void store_rejects_cross_principal(void **state)
{
    (void)state;
    astrid_err err;
    astrid_captokens *s = astrid_captokens_open(NULL, key.pk, NULL, NULL, &err);
    assert_non_null(s);
    astrid_captoken t = mk("alice", "approval://delete/*", 0, false, false);
    assert_int_equal(astrid_captokens_add(s, &t, &err), 0);
    int64_t now = time(NULL);
    assert_int_equal(
        astrid_captokens_find(s, "bob", "approval://delete/x", ASTRID_PERM_INVOKE, now, NULL, &err),
        0);
    assert_int_equal(astrid_captokens_find(s, "alice", "approval://delete/x", ASTRID_PERM_INVOKE,
                                           now, NULL, &err),
                     1);
    /* presented by bob: refused on the principal, before the pattern */
    assert_int_equal(
        astrid_captokens_check(s, &t, "bob", "approval://delete/x", ASTRID_PERM_INVOKE, now, &err),
        -1);
    assert_non_null(strstr(err.msg, "belongs to principal alice"));
    assert_int_equal(
        astrid_captokens_check(s, &t, "bob", "nothing://matches", ASTRID_PERM_INVOKE, now, &err),
        -1);
    assert_non_null(strstr(err.msg, "belongs to principal alice"));
    /* bob's session ending leaves alice's session tokens */
    assert_int_equal(astrid_captokens_clear_session(s, "bob"), 0);
    assert_int_equal(astrid_captokens_count(s, "alice"), 1);
    assert_int_equal(astrid_captokens_clear_session(s, "alice"), 1);
    astrid_captokens_close(s);
}

static void store_expired_and_revoked(void **state)
{
    (void)state;
    astrid_err err;
    astrid_captokens *s = astrid_captokens_open(NULL, key.pk, NULL, NULL, &err);
    int64_t now = time(NULL);
    astrid_captoken old = mk("alice", "approval://a/old", now - 100, false, false);
    astrid_captoken skew = mk("alice", "approval://a/skew", now - 10, false, false);
    astrid_captoken rv = mk("alice", "approval://a/rv", 0, false, false);
    assert_int_equal(astrid_captokens_add(s, &old, &err), 0);
    assert_int_equal(astrid_captokens_add(s, &skew, &err), 0);
    assert_int_equal(astrid_captokens_add(s, &rv, &err), 0);
    assert_int_equal(
        astrid_captokens_find(s, "alice", "approval://a/old", ASTRID_PERM_INVOKE, now, NULL, &err),
        0);
    assert_int_equal(
        astrid_captokens_check(s, &old, "alice", "approval://a/old", ASTRID_PERM_INVOKE, now, &err),
        -1);
    assert_non_null(strstr(err.msg, "expired"));
    /* within the 30 s clock-skew tolerance */
    assert_int_equal(
        astrid_captokens_find(s, "alice", "approval://a/skew", ASTRID_PERM_INVOKE, now, NULL, &err),
        1);
    bool existed = false;
    assert_int_equal(astrid_captokens_revoke(s, rv.id, &existed, &err), 0);
    assert_true(existed);
    assert_int_equal(
        astrid_captokens_find(s, "alice", "approval://a/rv", ASTRID_PERM_INVOKE, now, NULL, &err),
        0);
    assert_int_equal(
        astrid_captokens_check(s, &rv, "alice", "approval://a/rv", ASTRID_PERM_INVOKE, now, &err),
        -1);
    assert_non_null(strstr(err.msg, "revoked"));
    astrid_captokens_close(s);
}

typedef struct race {
    astrid_captokens *s;
    astrid_allowances *a;
    astrid_budgets *b;
    atomic_int wins;
} race;

static void *spend_token(void *p)
{
    race *r = p;
    astrid_err err;
    if (astrid_captokens_find(r->s, "alice", "approval://once/x", ASTRID_PERM_INVOKE, time(NULL),
                              NULL, &err) == 1)
        atomic_fetch_add(&r->wins, 1);
    return NULL;
}

static void run32(void *(*fn)(void *), race *r)
{
    pthread_t th[32];
    for (int i = 0; i < 32; i++)
        assert_int_equal(pthread_create(&th[i], NULL, fn, r), 0);
    for (int i = 0; i < 32; i++)
        pthread_join(th[i], NULL);
}

static void store_single_use_once_under_threads(void **state)
{
    (void)state;
    astrid_err err;
    race r = {.s = astrid_captokens_open(NULL, key.pk, NULL, NULL, &err)};
    astrid_captoken t = mk("alice", "approval://once/x", 0, true, false);
    assert_int_equal(astrid_captokens_add(r.s, &t, &err), 0);
    run32(spend_token, &r);
    assert_int_equal(atomic_load(&r.wins), 1);
    assert_int_equal(astrid_captokens_check(r.s, &t, "alice", "approval://once/x",
                                            ASTRID_PERM_INVOKE, time(NULL), &err),
                     -1);
    assert_non_null(strstr(err.msg, "already used"));
    astrid_captokens_close(r.s);
}

/* A repeated check does no signature verification; a changed byte does
 * (and fails). */
static void store_cache_skips_verify(void **state)
{
    (void)state;
    astrid_err err;
    astrid_captokens *s = astrid_captokens_open(NULL, key.pk, NULL, NULL, &err);
    astrid_captoken t = mk("alice", "approval://c/x", 0, false, false);
    int64_t now = time(NULL);
    uint64_t v0 = astrid_captokens_verifies(s);
    assert_int_equal(
        astrid_captokens_check(s, &t, "alice", "approval://c/x", ASTRID_PERM_INVOKE, now, &err), 0);
    assert_int_equal(astrid_captokens_verifies(s), v0 + 1);
    for (int i = 0; i < 100; i++)
        assert_int_equal(
            astrid_captokens_check(s, &t, "alice", "approval://c/x", ASTRID_PERM_INVOKE, now, &err),
            0);
    assert_int_equal(astrid_captokens_verifies(s), v0 + 1);
    astrid_captoken f = t;
    snprintf(f.resource, sizeof f.resource, "approval://c/*");
    astrid_captoken_hash(&f, f.content_hash);
    assert_int_equal(
        astrid_captokens_check(s, &f, "alice", "approval://c/x", ASTRID_PERM_INVOKE, now, &err),
        -1);
    assert_int_equal(astrid_captokens_verifies(s), v0 + 2);
    astrid_captokens_close(s);
}

static void store_persists_and_refuses_planted(void **state)
{
    (void)state;
    char dir[128];
    assert_int_equal(fixture_tmpdir(dir, sizeof dir, "authority"), 0);
    astrid_err err;
    astrid_kv *kv = NULL;
    assert_int_equal(astrid_kv_open(&kv, dir, 0, &err), 0);
    astrid_captokens *s = astrid_captokens_open(kv, key.pk, NULL, NULL, &err);
    astrid_captoken keep = mk("alice", "approval://p/keep", time(NULL) + 3600, false, true);
    astrid_captoken gone = mk("alice", "approval://p/gone", 0, false, true);
    assert_int_equal(astrid_captokens_add(s, &keep, &err), 0);
    assert_int_equal(astrid_captokens_add(s, &gone, &err), 0);
    assert_int_equal(astrid_captokens_revoke(s, gone.id, NULL, &err), 0);
    astrid_captokens_close(s);
    /* v2 key layout */
    char key1[160], *val = NULL;
    size_t len = 0;
    snprintf(key1, sizeof key1, "alice/%s", keep.id);
    assert_int_equal(astrid_kv_get(kv, "caps:tokens", key1, &val, &len, &err), 0);
    assert_non_null(val);
    free(val);
    /* planted: a v1 token, a forged one, one moved under bob's prefix */
    astrid_captoken v1 = mk("alice", "approval://p/v1", 0, false, true);
    json_t *j = astrid_captoken_to_json(&v1);
    json_object_del(j, "principal");
    char *text = json_dumps(j, JSON_COMPACT);
    snprintf(key1, sizeof key1, "alice/%s", v1.id);
    assert_int_equal(astrid_kv_set(kv, "caps:tokens", key1, text, strlen(text), &err), 0);
    free(text);
    json_decref(j);
    astrid_captoken forged = mk("alice", "approval://p/forged", 0, false, true);
    snprintf(forged.resource, sizeof forged.resource, "approval://*");
    j = astrid_captoken_to_json(&forged);
    text = json_dumps(j, JSON_COMPACT);
    snprintf(key1, sizeof key1, "alice/%s", forged.id);
    assert_int_equal(astrid_kv_set(kv, "caps:tokens", key1, text, strlen(text), &err), 0);
    free(text);
    json_decref(j);
    astrid_captoken moved = mk("alice", "approval://p/moved", 0, false, true);
    j = astrid_captoken_to_json(&moved);
    text = json_dumps(j, JSON_COMPACT);
    snprintf(key1, sizeof key1, "bob/%s", moved.id);
    assert_int_equal(astrid_kv_set(kv, "caps:tokens", key1, text, strlen(text), &err), 0);
    free(text);
    json_decref(j);

    size_t refused = 0;
    astrid_err why;
    s = astrid_captokens_open(kv, key.pk, &refused, &why, &err);
    assert_non_null(s);
    assert_int_equal(refused, 3);
    int64_t now = time(NULL);
    assert_int_equal(
        astrid_captokens_find(s, "alice", "approval://p/keep", ASTRID_PERM_INVOKE, now, NULL, &err),
        1);
    assert_int_equal(
        astrid_captokens_find(s, "alice", "approval://p/gone", ASTRID_PERM_INVOKE, now, NULL, &err),
        0);
    assert_int_equal(
        astrid_captokens_find(s, "alice", "approval://p/v1", ASTRID_PERM_INVOKE, now, NULL, &err),
        0);
    assert_int_equal(astrid_captokens_find(s, "alice", "approval://p/anything", ASTRID_PERM_INVOKE,
                                           now, NULL, &err),
                     0);
    assert_int_equal(
        astrid_captokens_find(s, "bob", "approval://p/moved", ASTRID_PERM_INVOKE, now, NULL, &err),
        0);
    astrid_captokens_close(s);
    astrid_kv_close(kv);
    fixture_rmdir(dir);
}

static astrid_allowance al(const char *p, const char *act, const char *res, int64_t uses)
{
    astrid_allowance a = {0};
    snprintf(a.principal, sizeof a.principal, "%s", p);
    snprintf(a.action, sizeof a.action, "%s", act);
    snprintf(a.resource, sizeof a.resource, "%s", res);
    a.uses_remaining = uses;
    return a;
}

static void allowances_per_principal(void **state)
{
    (void)state;
    astrid_err err;
    astrid_allowances *s = astrid_allowances_new();
    astrid_allowance a = al("alice", "delete", "/tmp/x", -1);
    a.session_only = true;
    assert_int_equal(astrid_allowances_add(s, &a, &err), 0);
    astrid_allowance g = al("alice", "fetch", "net://*.example.com:443", -1);
    g.glob = true;
    assert_int_equal(astrid_allowances_add(s, &g, &err), 0);
    astrid_allowance b = al("bob", "delete", "/tmp/b", -1);
    b.session_only = true;
    assert_int_equal(astrid_allowances_add(s, &b, &err), 0);
    int64_t now = time(NULL);
    assert_true(astrid_allowances_consume(s, "alice", "delete", "/tmp/x", "/w", now, NULL));
    assert_false(astrid_allowances_consume(s, "bob", "delete", "/tmp/x", "/w", now, NULL));
    assert_false(astrid_allowances_consume(s, "alice", "delete", "/tmp/y", "/w", now, NULL));
    assert_true(astrid_allowances_consume(s, "alice", "fetch", "net://api.example.com:443", "/w",
                                          now, NULL));
    assert_false(
        astrid_allowances_consume(s, "bob", "fetch", "net://api.example.com:443", "/w", now, NULL));
    /* a '*' in an exact allowance is a character, not a pattern */
    astrid_allowance star = al("alice", "delete", "/tmp/*", -1);
    assert_int_equal(astrid_allowances_add(s, &star, &err), 0);
    assert_false(astrid_allowances_consume(s, "alice", "delete", "/tmp/secret", "/w", now, NULL));
    assert_true(astrid_allowances_consume(s, "alice", "delete", "/tmp/*", "/w", now, NULL));
    /* workspace-bound */
    astrid_allowance w = al("alice", "write", "/w/f", -1);
    snprintf(w.workspace, sizeof w.workspace, "/w");
    assert_int_equal(astrid_allowances_add(s, &w, &err), 0);
    assert_false(astrid_allowances_consume(s, "alice", "write", "/w/f", "/other", now, NULL));
    assert_true(astrid_allowances_consume(s, "alice", "write", "/w/f", "/w", now, NULL));
    /* alice's last connection: her session allowances go, bob's stay */
    assert_int_equal(astrid_allowances_clear_session(s, "alice"), 1);
    assert_false(astrid_allowances_consume(s, "alice", "delete", "/tmp/x", "/w", now, NULL));
    assert_true(astrid_allowances_consume(s, "bob", "delete", "/tmp/b", "/w", now, NULL));
    /* expired */
    astrid_allowance e = al("alice", "x", "y", -1);
    e.expires_at = now - 1;
    assert_int_equal(astrid_allowances_add(s, &e, &err), 0);
    assert_false(astrid_allowances_consume(s, "alice", "x", "y", "/w", now, NULL));
    astrid_allowances_free(s);
}

static void *use_allowance(void *p)
{
    race *r = p;
    for (int i = 0; i < 10; i++)
        if (astrid_allowances_consume(r->a, "alice", "run", "exec://make", "/w", time(NULL), NULL))
            atomic_fetch_add(&r->wins, 1);
    return NULL;
}

static void allowances_max_uses_atomic(void **state)
{
    (void)state;
    astrid_err err;
    race r = {.a = astrid_allowances_new()};
    astrid_allowance a = al("alice", "run", "exec://make", 5);
    assert_int_equal(astrid_allowances_add(r.a, &a, &err), 0);
    run32(use_allowance, &r);
    assert_int_equal(atomic_load(&r.wins), 5);
    assert_int_equal(astrid_allowances_count(r.a, "alice"), 0);
    astrid_allowances_free(r.a);
}

static void allowances_ten_thousand(void **state)
{
    (void)state;
    astrid_err err;
    astrid_allowances *s = astrid_allowances_new();
    for (int i = 0; i < 10000; i++) {
        char res[64];
        snprintf(res, sizeof res, "file:///data/%d", i);
        astrid_allowance a = al(i % 2 ? "alice" : "bob", "read", res, -1);
        assert_int_equal(astrid_allowances_add(s, &a, &err), 0);
    }
    int64_t now = time(NULL);
    assert_true(
        astrid_allowances_consume(s, "alice", "read", "file:///data/9999", "/w", now, NULL));
    assert_false(
        astrid_allowances_consume(s, "alice", "read", "file:///data/9998", "/w", now, NULL));
    assert_true(astrid_allowances_consume(s, "bob", "read", "file:///data/9998", "/w", now, NULL));
    assert_int_equal(astrid_allowances_count(s, "alice"), 5000);
    astrid_allowances_free(s);
}

static void *reserve_many(void *p)
{
    race *r = p;
    for (int i = 0; i < 1000; i++) {
        astrid_budget_resv v;
        if (astrid_budgets_reserve(r->b, "alice", 0.01, &v, NULL, NULL) == 0)
            atomic_fetch_add(&r->wins, 1);
    }
    return NULL;
}

static void budgets_never_overspend(void **state)
{
    (void)state;
    astrid_err err;
    race r = {.b = astrid_budgets_new()};
    astrid_budget_limits l = {1.0, 5.0, 0, 80};
    assert_int_equal(astrid_budgets_set(r.b, "alice", &l, NULL, &err), 0);
    run32(reserve_many, &r);
    astrid_budget_usage u;
    astrid_budgets_get(r.b, "alice", &l, &u);
    assert_true(u.session_spent <= 5.0 + 1e-9);
    /* 0.01 steps in binary floating point: 499 or 500 fit, never more */
    assert_true(atomic_load(&r.wins) >= 499 && atomic_load(&r.wins) <= 500);
    astrid_budgets_free(r.b);
}

static void budgets_limits_refund_warn(void **state)
{
    (void)state;
    astrid_err err;
    astrid_budgets *b = astrid_budgets_new();
    astrid_budget_limits l = {1.0, 10.0, 3.0, 80};
    assert_int_equal(astrid_budgets_set(b, "alice", &l, NULL, &err), 0);
    astrid_budget_resv v;
    bool warn = true;
    assert_int_equal(astrid_budgets_reserve(b, "alice", 1.5, &v, &warn, &err), -1);
    assert_non_null(strstr(err.msg, "per-action"));
    assert_int_equal(astrid_budgets_reserve(b, "alice", 1.0, &v, &warn, &err), 0);
    assert_false(warn);
    astrid_budget_resv v2, v3;
    assert_int_equal(astrid_budgets_reserve(b, "alice", 1.0, &v2, &warn, &err), 0);
    assert_int_equal(astrid_budgets_reserve(b, "alice", 0.5, &v3, &warn, &err), 0);
    assert_true(warn); /* 2.5 of a 3.0 workspace limit */
    assert_int_equal(astrid_budgets_reserve(b, "alice", 1.0, &v3, &warn, &err), -1);
    assert_non_null(strstr(err.msg, "workspace"));
    astrid_budgets_refund(b, &v2);
    astrid_budgets_refund(b, &v2); /* idempotent */
    assert_int_equal(astrid_budgets_reserve(b, "alice", 0.5, &v3, &warn, &err), 0);
    /* bob has the defaults */
    astrid_budget_usage u;
    astrid_budgets_get(b, "bob", &l, &u);
    assert_true(l.session_usd == ASTRID_BUDGET_DEFAULT_SESSION && u.session_spent == 0);
    astrid_budget_limits bad = {-1, 1, 1, 80};
    assert_int_equal(astrid_budgets_set(b, "alice", &bad, NULL, &err), -1);
    assert_int_equal(astrid_budgets_reserve(b, "alice", -1, &v3, &warn, &err), -1);
    astrid_budgets_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(token_json_roundtrip_verifies),
        cmocka_unit_test(token_v1_refused),
        cmocka_unit_test(token_forged_refused),
        cmocka_unit_test(resource_glob_matches_fnmatch),
        cmocka_unit_test(store_rejects_cross_principal),
        cmocka_unit_test(store_expired_and_revoked),
        cmocka_unit_test(store_single_use_once_under_threads),
        cmocka_unit_test(store_cache_skips_verify),
        cmocka_unit_test(store_persists_and_refuses_planted),
        cmocka_unit_test(allowances_per_principal),
        cmocka_unit_test(allowances_max_uses_atomic),
        cmocka_unit_test(allowances_ten_thousand),
        cmocka_unit_test(budgets_never_overspend),
        cmocka_unit_test(budgets_limits_refund_warn),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
