/* Profile cache and hot-swappable group config, including threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/capcheck.h"
#include "astrid/policy_cache.h"
#include "fixture.h"

static char home[256];

static int setup(void **state)
{
    (void)state;
    return fixture_tmpdir(home, sizeof home, "pcache");
}

static int teardown(void **state)
{
    (void)state;
    return fixture_rmdir(home);
}

static void write_profile(const char *who, const char *text)
{
    char p[512], cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/etc/profiles'", home);
    assert_int_equal(system(cmd), 0);
    snprintf(p, sizeof p, "%s/etc/profiles/%s.toml", home, who);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_cache_basics(void **state)
{
    (void)state;
    astrid_err e;
    astrid_profile_cache *c = astrid_profile_cache_new(home, &e);
    write_profile("alice", "groups = [\"agent\"]\n");
    const astrid_profile *a1 = astrid_profile_cache_get(c, "alice", &e);
    const astrid_profile *a2 = astrid_profile_cache_get(c, "alice", &e);
    assert_non_null(a1);
    assert_ptr_equal(a1, a2); /* cached */
    write_profile("alice", "groups = [\"admin\"]\n");
    const astrid_profile *a3 = astrid_profile_cache_get(c, "alice", &e);
    assert_ptr_equal(a1, a3); /* no TTL: stale until invalidated */
    astrid_profile_cache_invalidate(c, "alice");
    const astrid_profile *a4 = astrid_profile_cache_get(c, "alice", &e);
    assert_ptr_not_equal(a1, a4);
    assert_string_equal(a4->groups.v[0], "admin");
    /* Old references stay valid after invalidation. */
    assert_string_equal(a1->groups.v[0], "agent");
    astrid_profile_release(a1);
    astrid_profile_release(a2);
    astrid_profile_release(a3);
    astrid_profile_release(a4);
    /* Errors are returned, not cached. */
    write_profile("bob", "bogus = 1\n");
    assert_null(astrid_profile_cache_get(c, "bob", &e));
    assert_non_null(strstr(e.msg, "unknown key 'bogus'"));
    write_profile("bob", "enabled = false\n");
    const astrid_profile *b = astrid_profile_cache_get(c, "bob", &e);
    assert_non_null(b);
    assert_false(b->enabled);
    astrid_profile_release(b);
    assert_null(astrid_profile_cache_get(c, "../x", &e));
    /* Missing file: defaults. */
    const astrid_profile *d = astrid_profile_cache_get(c, "nobody", &e);
    assert_non_null(d);
    assert_true(d->enabled);
    astrid_profile_release(d);
    astrid_profile_cache_free(c);
}

static void test_swap_snapshot(void **state)
{
    (void)state;
    astrid_err e;
    astrid_group_error why;
    astrid_group_config *b = astrid_groups_builtin(&e);
    astrid_group_swap *s = astrid_group_swap_new(astrid_groups_ref(b), &e);
    astrid_group_config *snap = astrid_group_swap_acquire(s);
    assert_ptr_equal(snap, b);
    const char *caps[] = {"ops:run"};
    astrid_group_swap_store(s, astrid_groups_insert(b, "ops", caps, 1, NULL, false, &why, &e));
    astrid_groups_unref(b);
    /* The old snapshot is intact and unchanged; new readers see the swap. */
    assert_null(astrid_groups_find(snap, "ops"));
    astrid_group_config *snap2 = astrid_group_swap_acquire(s);
    assert_non_null(astrid_groups_find(snap2, "ops"));
    astrid_groups_unref(snap);
    astrid_groups_unref(snap2);
    astrid_group_swap_free(s);
}

/* ---- threads ---- */

typedef struct shared {
    astrid_group_swap *swap;
    astrid_profile_cache *cache;
    atomic_int stop;
    atomic_long checks, bad;
} shared;

static void *reader(void *arg)
{
    shared *sh = arg;
    while (!atomic_load(&sh->stop)) {
        astrid_group_config *g = astrid_group_swap_acquire(sh->swap);
        const astrid_profile *p = astrid_profile_cache_get(sh->cache, "alice", NULL);
        if (!p) {
            atomic_fetch_add(&sh->bad, 1);
            astrid_groups_unref(g);
            continue;
        }
        /* Every published config has group "ops" granting exactly ops:vN for
         * its own N (the 2nd capability names N too): a torn or freed config
         * would break the pair. */
        const astrid_group *ops = astrid_groups_find(g, "ops");
        if (!ops || ops->ncaps != 2 || strcmp(ops->caps[0] + 4, ops->caps[1] + 7) != 0 ||
            !astrid_capcheck_has(p, g, ops->caps[0]) || astrid_capcheck_has(p, g, "ops:none"))
            atomic_fetch_add(&sh->bad, 1);
        atomic_fetch_add(&sh->checks, 1);
        astrid_profile_release(p);
        astrid_groups_unref(g);
    }
    return NULL;
}

static astrid_group_config *version(const astrid_group_config *base, int n)
{
    char a[32], b[32];
    snprintf(a, sizeof a, "ops:v%d", n);
    snprintf(b, sizeof b, "ops:vN:v%d", n);
    const char *caps[] = {a, b};
    astrid_group_error why;
    return astrid_groups_insert(base, "ops", caps, 2, NULL, false, &why, NULL);
}

static void test_threads(void **state)
{
    (void)state;
    astrid_err e;
    write_profile("alice", "groups = [\"ops\"]\n");
    astrid_group_config *base = astrid_groups_builtin(&e);
    shared sh = {.swap = astrid_group_swap_new(version(base, 0), &e),
                 .cache = astrid_profile_cache_new(home, &e)};
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, reader, &sh), 0);
    for (int n = 1; n <= 300; n++) {
        astrid_group_swap_store(sh.swap, version(base, n));
        if (n % 10 == 0)
            astrid_profile_cache_invalidate(sh.cache, "alice");
    }
    atomic_store(&sh.stop, 1);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&sh.bad), 0);
    assert_true(atomic_load(&sh.checks) > 0);
    astrid_group_config *last = astrid_group_swap_acquire(sh.swap);
    assert_string_equal(astrid_groups_find(last, "ops")->caps[0], "ops:v300");
    astrid_groups_unref(last);
    astrid_group_swap_free(sh.swap);
    astrid_profile_cache_free(sh.cache);
    astrid_groups_unref(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cache_basics, setup, teardown),
        cmocka_unit_test(test_swap_snapshot),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
