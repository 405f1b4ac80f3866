/* The storage accountant (store/storage.h) and the store's charged writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/kv.h"
#include "store/storage.h"
#include "fixture.h"

typedef struct fake {
    int calls;
    uint64_t bytes;
    int fail;
} fake;

static int fake_measure(void *ctx, const char *principal, uint64_t *bytes, astrid_err *err)
{
    fake *f = ctx;
    f->calls++;
    if (f->fail)
        return astrid_err_set(err, ASTRID_E_IO, "disk on fire");
    *bytes = strcmp(principal, "bob") == 0 ? f->bytes : 0;
    return 0;
}

static void charge_measures_once_and_refuses_past_max(void **state)
{
    (void)state;
    fake f = {0, 900, 0};
    astrid_storage *s = astrid_storage_new(fake_measure, &f, NULL);
    astrid_err err;
    uint64_t used;
    assert_int_equal(astrid_storage_charge(s, "bob", 100, 1000, NULL, &err), 0);
    assert_int_equal(f.calls, 1);
    assert_int_equal(astrid_storage_used(s, "bob", &used, &err), 0);
    assert_int_equal(used, 1000);
    /* exactly at max is fine, one byte more is not */
    assert_int_equal(astrid_storage_charge(s, "bob", 1, 1000, NULL, &err), -1);
    assert_int_equal(err.code, ASTRID_E_LIMIT);
    assert_string_equal(err.msg,
                        "storage quota exceeded for principal bob: 1000 bytes (max_storage_bytes)");
    assert_int_equal(astrid_storage_used(s, "bob", &used, &err), 0);
    assert_int_equal(used, 1000); /* a refusal charges nothing */
    /* a raised quota applies at the next charge */
    assert_int_equal(astrid_storage_charge(s, "bob", 1, 2000, NULL, &err), 0);
    /* a lowered one: usage over max refuses growth, never a shrink or 0 */
    assert_int_equal(astrid_storage_charge(s, "bob", 1, 500, NULL, &err), -1);
    assert_int_equal(astrid_storage_charge(s, "bob", 0, 500, NULL, &err), 0);
    assert_int_equal(astrid_storage_charge(s, "bob", -601, 500, NULL, &err), 0);
    assert_int_equal(astrid_storage_charge(s, "bob", 100, 500, NULL, &err), 0);
    /* credits floor at 0 */
    assert_int_equal(astrid_storage_charge(s, "bob", INT64_MIN, 500, NULL, &err), 0);
    assert_int_equal(astrid_storage_used(s, "bob", &used, &err), 0);
    assert_int_equal(used, 0);
    /* another principal has its own count; still one measurement per principal */
    assert_int_equal(astrid_storage_charge(s, "alice", 1000, 1000, NULL, &err), 0);
    assert_int_equal(f.calls, 2);
    assert_int_equal(astrid_storage_charge(s, "bob", 500, 500, NULL, &err), 0);
    assert_int_equal(f.calls, 2);
    /* an overflowing delta is refused, not wrapped */
    assert_int_equal(astrid_storage_charge(s, "bob", INT64_MAX, UINT64_MAX - 10, NULL, &err), 0);
    assert_int_equal(astrid_storage_charge(s, "bob", INT64_MAX, UINT64_MAX - 10, NULL, &err), -1);
    /* forget: measured again at the next charge */
    astrid_storage_forget(s, "bob");
    f.bytes = 7;
    assert_int_equal(astrid_storage_used(s, "bob", &used, &err), 0);
    assert_int_equal(used, 7);
    assert_int_equal(f.calls, 3);
    astrid_storage_free(s);
}

static void failed_measurement_refuses_and_retries(void **state)
{
    (void)state;
    fake f = {0, 0, 1};
    astrid_storage *s = astrid_storage_new(fake_measure, &f, NULL);
    astrid_err err;
    assert_int_equal(astrid_storage_charge(s, "bob", 1, 1000, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "measuring the storage of principal bob: disk on fire"));
    f.fail = 0;
    assert_int_equal(astrid_storage_charge(s, "bob", 1, 1000, NULL, &err), 0);
    assert_int_equal(f.calls, 2);
    astrid_storage_free(s);
}

static void drops_are_counted_until_growth_is_accepted(void **state)
{
    (void)state;
    astrid_storage *s = astrid_storage_new(NULL, NULL, NULL);
    uint64_t ended = 99;
    assert_int_equal(astrid_storage_note_drop(s, "bob"), 1);
    assert_int_equal(astrid_storage_note_drop(s, "bob"), 2);
    assert_int_equal(astrid_storage_note_drop(s, "carol"), 1);
    assert_int_equal(astrid_storage_charge(s, "bob", -5, 10, &ended, NULL), 0);
    assert_int_equal(ended, 0); /* a credit does not end the episode */
    assert_int_equal(astrid_storage_charge(s, "bob", 5, 10, &ended, NULL), 0);
    assert_int_equal(ended, 2);
    assert_int_equal(astrid_storage_note_drop(s, "bob"), 1);
    astrid_storage_free(s);
}

typedef struct racer {
    astrid_storage *s;
    int accepted;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    for (int i = 0; i < 2000; i++)
        if (astrid_storage_charge(r->s, "bob", 1, 3000, NULL, NULL) == 0)
            r->accepted++;
    return NULL;
}

static void concurrent_charges_never_exceed_max(void **state)
{
    (void)state;
    fake f = {0, 0, 0};
    astrid_storage *s = astrid_storage_new(fake_measure, &f, NULL);
    pthread_t t[4];
    racer r[4];
    for (int i = 0; i < 4; i++) {
        r[i] = (racer){s, 0};
        pthread_create(&t[i], NULL, race, &r[i]);
    }
    int total = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        total += r[i].accepted;
    }
    assert_int_equal(total, 3000);
    assert_int_equal(f.calls, 1);
    astrid_storage_free(s);
}

static char tmpdir[256];

static int mk_tmp(void **state)
{
    (void)state;
    return fixture_tmpdir(tmpdir, sizeof tmpdir, "storage");
}

static int rm_tmp(void **state)
{
    (void)state;
    return fixture_rmdir(tmpdir);
}

static void put(const char *rel, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++)
        fputc('x', f);
    fclose(f);
}

static void mkdirs(const char *rel)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/%s'", tmpdir, rel);
    assert_int_equal(system(cmd), 0);
}

static void measure_counts_kv_and_home_files(void **state)
{
    (void)state;
    mkdirs("home/bob/.local/log/cap");
    mkdirs("home/bob/.local/capsules/big");
    mkdirs("home/bob/.local/tmp");
    mkdirs("home/bobby");
    mkdirs("outside");
    put("home/bob/.local/log/cap/2026-01-01.log", 100);
    put("home/bob/.local/tmp/t", 20);
    put("home/bob/note", 3);
    put("home/bob/.local/capsules/big/x.wasm", 5000); /* operator's, not counted */
    put("home/bobby/other", 7000);                    /* another principal */
    put("outside/secret", 9000);
    char link[400], target[400];
    snprintf(target, sizeof target, "%s/outside", tmpdir);
    snprintf(link, sizeof link, "%s/home/bob/link", tmpdir);
    assert_int_equal(symlink(target, link), 0); /* not followed */
    char db[300];
    snprintf(db, sizeof db, "%s/state.db", tmpdir);
    astrid_kv *kv;
    astrid_err err;
    assert_int_equal(astrid_kv_open(&kv, db, 64u << 20, &err), 0);
    assert_int_equal(astrid_kv_set(kv, "bob:capsule:c", "k", "12345", 5, &err), 0);
    assert_int_equal(astrid_kv_set(kv, "bobby:capsule:c", "k", "12345", 5, &err), 0);
    assert_int_equal(astrid_kv_set(kv, "system:identity", "bob", "zzzzzz", 6, &err), 0);
    uint64_t bytes;
    assert_int_equal(astrid_storage_measure_principal(kv, tmpdir, "bob", &bytes, &err), 0);
    /* "bob:capsule:c" NUL "k" = 15 key bytes + 5 value; 100 + 20 + 3 files */
    assert_int_equal(bytes, 15 + 5 + 100 + 20 + 3);
    assert_int_equal(astrid_storage_measure_principal(kv, tmpdir, "nobody", &bytes, &err), 0);
    assert_int_equal(bytes, 0);
    astrid_kv_close(kv);
}

typedef struct ledger {
    int64_t used, max;
    int calls;
} ledger;

static int ledger_charge(void *ctx, int64_t delta, astrid_err *err)
{
    ledger *l = ctx;
    l->calls++;
    if (delta > 0 && l->used + delta > l->max)
        return astrid_err_set(err, ASTRID_E_LIMIT, "over");
    l->used += delta;
    return 0;
}

static void kv_charged_writes_report_deltas(void **state)
{
    (void)state;
    char db[300];
    snprintf(db, sizeof db, "%s/state.db", tmpdir);
    astrid_kv *kv;
    astrid_err err;
    assert_int_equal(astrid_kv_open(&kv, db, 64u << 20, &err), 0);
    ledger l = {0, 100, 0};
    const char *ns = "bob:capsule:c"; /* physical key "bob:capsule:c\0k" = 15 bytes */
    assert_int_equal(astrid_kv_set_charged(kv, ns, "k", "0123456789", 10, ASTRID_KV_META_LAZY,
                                           ledger_charge, &l, &err),
                     0);
    assert_int_equal(l.used, 25);
    /* an overwrite is charged the difference only */
    assert_int_equal(astrid_kv_set_charged(kv, ns, "k", "0123456789ABCDE", 15, ASTRID_KV_META_LAZY,
                                           ledger_charge, &l, &err),
                     0);
    assert_int_equal(l.used, 30);
    /* a refused growth leaves the old value and the ledger as they were */
    char big[100];
    memset(big, 'b', sizeof big);
    assert_int_equal(
        astrid_kv_set_charged(kv, ns, "k", big, 90, ASTRID_KV_META_LAZY, ledger_charge, &l, &err),
        -1);
    assert_string_equal(err.msg, "over");
    assert_int_equal(l.used, 30);
    char *v;
    size_t len;
    assert_int_equal(astrid_kv_get(kv, ns, "k", &v, &len, &err), 0);
    assert_string_equal(v, "0123456789ABCDE");
    free(v);
    /* a shrink credits */
    assert_int_equal(
        astrid_kv_set_charged(kv, ns, "k", "x", 1, ASTRID_KV_META_LAZY, ledger_charge, &l, &err),
        0);
    assert_int_equal(l.used, 16);
    assert_int_equal(
        astrid_kv_set_charged(kv, ns, "k2", "yy", 2, ASTRID_KV_META_LAZY, ledger_charge, &l, &err),
        0);
    assert_int_equal(
        astrid_kv_set_charged(kv, ns, "k3", "zzz", 3, ASTRID_KV_META_LAZY, ledger_charge, &l, &err),
        0);
    assert_int_equal(l.used, 16 + 18 + 19);
    uint64_t usage;
    assert_int_equal(astrid_kv_usage(kv, "bob:capsule:", &usage, &err), 0);
    assert_int_equal(usage, (uint64_t)l.used);
    bool existed;
    assert_int_equal(astrid_kv_delete_charged(kv, ns, "k", &existed, ASTRID_KV_META_LAZY,
                                              ledger_charge, &l, &err),
                     0);
    assert_true(existed);
    assert_int_equal(l.used, 18 + 19);
    int calls = l.calls;
    assert_int_equal(astrid_kv_delete_charged(kv, ns, "k", &existed, ASTRID_KV_META_LAZY,
                                              ledger_charge, &l, &err),
                     0);
    assert_false(existed);
    assert_int_equal(l.calls, calls); /* nothing removed, nothing reported */
    uint64_t removed;
    assert_int_equal(astrid_kv_clear_prefix_charged(kv, ns, "k", &removed, ASTRID_KV_META_LAZY,
                                                    ledger_charge, &l, &err),
                     0);
    assert_int_equal(removed, 2);
    assert_int_equal(l.used, 0);
    assert_int_equal(astrid_kv_usage(kv, "bob:capsule:", &usage, &err), 0);
    assert_int_equal(usage, 0);
    astrid_kv_close(kv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(charge_measures_once_and_refuses_past_max),
        cmocka_unit_test(failed_measurement_refuses_and_retries),
        cmocka_unit_test(drops_are_counted_until_growth_is_accepted),
        cmocka_unit_test(concurrent_charges_never_exceed_max),
        cmocka_unit_test_setup_teardown(measure_counts_kv_and_home_files, mk_tmp, rm_tmp),
        cmocka_unit_test_setup_teardown(kv_charged_writes_report_deltas, mk_tmp, rm_tmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
