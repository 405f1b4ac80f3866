/* The overlay registry (src/vfs/overlay.h): bounded, the least recently
 * used unheld handle is dropped at capacity (the 1025th principal evicts
 * the idlest of 1024), a held handle is never dropped, dropping keeps the
 * pending changes on disk; the env bound is validated. And the merged
 * view at the library level: writes in upper, whiteouts, isolation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "astrid/home.h"
#include "fixture.h"
#include "vfs/overlay.h"

static char T[256], H[300], W[300];

static int setup(void **state)
{
    (void)state;
    if (fixture_tmpdir(T, sizeof T, "overlay") != 0)
        return -1;
    char *rb = realpath(T, NULL);
    snprintf(T, sizeof T, "%s", rb);
    free(rb);
    snprintf(H, sizeof H, "%s/home", T);
    snprintf(W, sizeof W, "%s/ws", T);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "mkdir -p %s/home/alice %s/home/bob %s && echo orig > %s/f",
             H, H, W, W);
    return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", T);
    return system(cmd);
}

static void test_bound_evicts_idlest(void **state)
{
    (void)state;
    astrid_err err;
    astrid_overlay_registry *r = astrid_overlay_registry_new(H, W, 1024, &err);
    assert_non_null(r);
    char name[32];
    for (int i = 0; i < 1024; i++) {
        snprintf(name, sizeof name, "p%d", i);
        astrid_overlay *ov = astrid_overlay_acquire(r, name, &err);
        assert_non_null(ov);
        astrid_overlay_release(r, ov);
    }
    assert_int_equal(astrid_overlay_registry_count(r), 1024);
    /* p0 used again: p1 is now the idlest */
    astrid_overlay_release(r, astrid_overlay_acquire(r, "p0", &err));
    astrid_overlay *ov = astrid_overlay_acquire(r, "p1024", &err);
    assert_non_null(ov);
    astrid_overlay_release(r, ov);
    assert_int_equal(astrid_overlay_registry_count(r), 1024);
    assert_false(astrid_overlay_registry_holds(r, "p1"));
    assert_true(astrid_overlay_registry_holds(r, "p0"));
    assert_true(astrid_overlay_registry_holds(r, "p2"));
    assert_true(astrid_overlay_registry_holds(r, "p1024"));
    astrid_overlay_registry_free(r);
}

static void test_held_never_evicted(void **state)
{
    (void)state;
    astrid_err err;
    astrid_overlay_registry *r = astrid_overlay_registry_new(H, W, 2, &err);
    astrid_overlay *a = astrid_overlay_acquire(r, "a", &err);
    astrid_overlay *b = astrid_overlay_acquire(r, "b", &err);
    assert_non_null(a);
    assert_non_null(b);
    assert_null(astrid_overlay_acquire(r, "c", &err));
    assert_int_equal(err.code, ASTRID_E_LIMIT);
    astrid_overlay_release(r, b);
    astrid_overlay *c = astrid_overlay_acquire(r, "c", &err);
    assert_non_null(c);
    assert_true(astrid_overlay_registry_holds(r, "a")); /* held: kept though idlest */
    assert_false(astrid_overlay_registry_holds(r, "b"));
    astrid_overlay_release(r, a);
    astrid_overlay_release(r, c);
    astrid_overlay_registry_free(r);
}

static int resolve(const char *principal, const char *guest, astrid_vfs_path *p)
{
    char ph[600];
    snprintf(ph, sizeof ph, "%s/%s", H, principal);
    astrid_vfs_roots roots = {.principal_home = ph, .workspace = W, .astrid_home = H};
    astrid_err err;
    return astrid_vfs_resolve(&roots, guest, p, &err);
}

static void put(astrid_overlay *ov, const char *guest, const char *principal, const char *text)
{
    astrid_vfs_path p;
    astrid_err err;
    assert_int_equal(resolve(principal, guest, &p), 0);
    int fd = astrid_overlay_open(ov, &p, O_WRONLY | O_CREAT | O_TRUNC, 0600, &err);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static int get(astrid_overlay *ov, const char *guest, const char *principal, char *buf, size_t n)
{
    astrid_vfs_path p;
    astrid_err err;
    assert_int_equal(resolve(principal, guest, &p), 0);
    int fd = astrid_overlay_open(ov, &p, O_RDONLY, 0, &err);
    if (fd < 0) {
        fprintf(stderr, "# get %s: %s\n", guest, err.msg);
        return -1;
    }
    ssize_t got = read(fd, buf, n - 1);
    close(fd);
    buf[got < 0 ? 0 : got] = '\0';
    return 0;
}

static void test_isolation_and_eviction_keeps_disk(void **state)
{
    (void)state;
    astrid_err err;
    astrid_overlay_registry *r = astrid_overlay_registry_new(H, W, 1, &err);
    astrid_overlay *a = astrid_overlay_acquire(r, "alice", &err);
    put(a, "cwd://f", "alice", "alice's");
    astrid_overlay_release(r, a);
    /* bound 1: bob's handle evicts alice's */
    astrid_overlay *b = astrid_overlay_acquire(r, "bob", &err);
    assert_false(astrid_overlay_registry_holds(r, "alice"));
    char buf[64];
    assert_int_equal(get(b, "cwd://f", "bob", buf, sizeof buf), 0);
    assert_string_equal(buf, "orig\n");
    astrid_vfs_path p;
    assert_int_equal(resolve("bob", "cwd://f", &p), 0);
    assert_int_equal(astrid_overlay_unlink(b, &p, &err), 0);
    assert_int_equal(get(b, "cwd://f", "bob", buf, sizeof buf), -1);
    astrid_overlay_release(r, b);
    /* alice again: her change survived the eviction, bob's whiteout is not hers */
    a = astrid_overlay_acquire(r, "alice", &err);
    assert_int_equal(get(a, "cwd://f", "alice", buf, sizeof buf), 0);
    assert_string_equal(buf, "alice's");
    astrid_overlay_change *ch = NULL;
    size_t n = 0;
    assert_int_equal(astrid_overlay_diff(a, &ch, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ch[0].path, "f");
    assert_string_equal(ch[0].change, "modified");
    astrid_overlay_changes_free(ch, n);
    astrid_overlay_release(r, a);
    /* the workspace itself never changed */
    char wf[400];
    snprintf(wf, sizeof wf, "%s/f", W);
    struct stat st;
    assert_int_equal(stat(wf, &st), 0);
    assert_int_equal(st.st_size, 5);
    astrid_overlay_registry_free(r);
}

static void test_env_bound(void **state)
{
    (void)state;
    size_t n;
    astrid_err err;
    unsetenv("ASTRID_OVERLAY_REGISTRY_MAX_PRINCIPALS");
    assert_int_equal(astrid_overlay_max_from_env(&n, &err), 0);
    assert_int_equal(n, 1024);
    setenv("ASTRID_OVERLAY_REGISTRY_MAX_PRINCIPALS", "7", 1);
    assert_int_equal(astrid_overlay_max_from_env(&n, &err), 0);
    assert_int_equal(n, 7);
    const char *bad[] = {"0", "-1", "x", "12x"};
    for (size_t i = 0; i < 4; i++) {
        setenv("ASTRID_OVERLAY_REGISTRY_MAX_PRINCIPALS", bad[i], 1);
        assert_int_equal(astrid_overlay_max_from_env(&n, &err), -1);
        assert_non_null(strstr(err.msg, "ASTRID_OVERLAY_REGISTRY_MAX_PRINCIPALS"));
    }
    unsetenv("ASTRID_OVERLAY_REGISTRY_MAX_PRINCIPALS");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bound_evicts_idlest),
        cmocka_unit_test(test_held_never_evicted),
        cmocka_unit_test(test_isolation_and_eviction_keeps_disk),
        cmocka_unit_test(test_env_bound),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
