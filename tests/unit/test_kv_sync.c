/* How the store's writes reach the disk (store/kv.h, astrid_kv_sync): a
 * DURABLE commit syncs its data and writes its meta page through LMDB's
 * O_DSYNC descriptor; a META_LAZY commit (capsule KV) syncs its data only.
 * The program interposes pwrite and fdatasync (liblmdb calls them through
 * the PLT, so this executable's definitions win) and counts what LMDB does
 * per commit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/kv.h"
#include "fixture_kv.h"

/* Counters of the interposed calls; atomic: the concurrency test writes
 * from two threads. */
static atomic_int dsync_writes; /* pwrite on an O_DSYNC descriptor: a synced meta page */
static atomic_int datasyncs;    /* fdatasync: a commit's data (or a flush) */

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    static ssize_t (*real)(int, const void *, size_t, off_t);
    if (!real)
        real = (ssize_t(*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
    int fl = fcntl(fd, F_GETFL);
    if (fl != -1 && (fl & O_DSYNC))
        atomic_fetch_add(&dsync_writes, 1);
    return real(fd, buf, n, off);
}

int fdatasync(int fd)
{
    static int (*real)(int);
    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    atomic_fetch_add(&datasyncs, 1);
    return real(fd);
}

static char tmpdir[256];
static astrid_kv *kv;

static int setup(void **state)
{
    (void)state;
    return fixture_kv_open(tmpdir, sizeof tmpdir, "kvsync", &kv);
}

static int teardown(void **state)
{
    (void)state;
    return fixture_kv_close(tmpdir, &kv);
}

static void reset(void)
{
    atomic_store(&dsync_writes, 0);
    atomic_store(&datasyncs, 0);
}

#define NS "alice:capsule:react"

static void durable_commit_syncs_data_and_meta(void **state)
{
    (void)state;
    astrid_err err;
    reset();
    assert_int_equal(astrid_kv_set(kv, NS, "k", "v1", 2, &err), 0);
    assert_int_equal(atomic_load(&dsync_writes), 1);
    assert_true(atomic_load(&datasyncs) >= 1);
    reset();
    assert_int_equal(
        astrid_kv_set_charged(kv, NS, "k", "v2", 2, ASTRID_KV_DURABLE, NULL, NULL, &err), 0);
    assert_int_equal(atomic_load(&dsync_writes), 1);
}

static void lazy_commit_syncs_data_only(void **state)
{
    (void)state;
    astrid_err err;
    reset();
    assert_int_equal(
        astrid_kv_set_charged(kv, NS, "k", "v1", 2, ASTRID_KV_META_LAZY, NULL, NULL, &err), 0);
    assert_int_equal(atomic_load(&dsync_writes), 0);
    assert_true(atomic_load(&datasyncs) >= 1);
    /* visible at once, to the next reader */
    char *v = NULL;
    size_t len = 0;
    assert_int_equal(astrid_kv_get(kv, NS, "k", &v, &len, &err), 0);
    assert_non_null(v);
    assert_string_equal(v, "v1");
    free(v);
    reset();
    assert_int_equal(
        astrid_kv_delete_charged(kv, NS, "k", NULL, ASTRID_KV_META_LAZY, NULL, NULL, &err), 0);
    assert_int_equal(
        astrid_kv_set_charged(kv, NS, "p.a", "1", 1, ASTRID_KV_META_LAZY, NULL, NULL, &err), 0);
    uint64_t removed = 0;
    assert_int_equal(astrid_kv_clear_prefix_charged(kv, NS, "p.", &removed, ASTRID_KV_META_LAZY,
                                                    NULL, NULL, &err),
                     0);
    assert_int_equal(removed, 1);
    assert_int_equal(atomic_load(&dsync_writes), 0);
    /* the next durable commit syncs the file, the lazy meta page with it */
    reset();
    assert_int_equal(astrid_kv_set(kv, NS, "d", "1", 1, &err), 0);
    assert_int_equal(atomic_load(&dsync_writes), 1);
    assert_true(atomic_load(&datasyncs) >= 1);
}

/* A lazy commit's meta page is synced when the store closes, and the
 * value is there after a reopen. */
static void close_syncs_and_keeps_lazy_writes(void **state)
{
    (void)state;
    astrid_err err;
    assert_int_equal(
        astrid_kv_set_charged(kv, NS, "k", "kept", 4, ASTRID_KV_META_LAZY, NULL, NULL, &err), 0);
    reset();
    astrid_kv_close(kv);
    kv = NULL;
    assert_true(atomic_load(&datasyncs) >= 1);
    char db[300];
    snprintf(db, sizeof db, "%s/state.db", tmpdir);
    assert_int_equal(astrid_kv_open(&kv, db, 64u << 20, &err), 0);
    char *v = NULL;
    assert_int_equal(astrid_kv_get(kv, NS, "k", &v, NULL, &err), 0);
    assert_non_null(v);
    assert_string_equal(v, "kept");
    free(v);
    reset();
    assert_int_equal(astrid_kv_flush(kv, &err), 0);
    assert_true(atomic_load(&datasyncs) >= 1);
}

/* ASTRID_KV_SYNC=full: a lazy request is committed durably. */
static void durable_only_ignores_lazy(void **state)
{
    (void)state;
    astrid_err err;
    astrid_kv_set_durable_only(kv, true);
    reset();
    assert_int_equal(
        astrid_kv_set_charged(kv, NS, "k", "v", 1, ASTRID_KV_META_LAZY, NULL, NULL, &err), 0);
    assert_int_equal(atomic_load(&dsync_writes), 1);
    astrid_kv_set_durable_only(kv, false);
}

/* Writers of both kinds at once: the env flag is per environment, so
 * without the write lock one thread's lazy flag could strip another's
 * durable commit of its synced meta page (or the reverse). Every durable
 * commit must write exactly one synced meta page, no lazy one any. */
#define ROUNDS 60

static void *lazy_writer(void *arg)
{
    (void)arg;
    astrid_err err;
    char key[32];
    for (int i = 0; i < ROUNDS; i++) {
        snprintf(key, sizeof key, "lazy%d", i);
        if (astrid_kv_set_charged(kv, NS, key, "x", 1, ASTRID_KV_META_LAZY, NULL, NULL, &err) != 0)
            return (void *)1;
    }
    return NULL;
}

static void mixed_writers_keep_their_durability(void **state)
{
    (void)state;
    astrid_err err;
    reset();
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, lazy_writer, NULL), 0);
    char key[32];
    for (int i = 0; i < ROUNDS; i++) {
        snprintf(key, sizeof key, "durable%d", i);
        assert_int_equal(astrid_kv_set(kv, "system:identity", key, "y", 1, &err), 0);
    }
    void *rc = NULL;
    pthread_join(t, &rc);
    assert_null(rc);
    assert_int_equal(atomic_load(&dsync_writes), ROUNDS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(durable_commit_syncs_data_and_meta, setup, teardown),
        cmocka_unit_test_setup_teardown(lazy_commit_syncs_data_only, setup, teardown),
        cmocka_unit_test_setup_teardown(close_syncs_and_keeps_lazy_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(durable_only_ignores_lazy, setup, teardown),
        cmocka_unit_test_setup_teardown(mixed_writers_keep_their_durability, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
