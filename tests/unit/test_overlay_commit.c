/* The overlay's merged view and its two operator verbs at the library level
 * (src/vfs/overlay.h), the paths coverage found unexercised by unit tests:
 * mkdir, lstat and readdir through the overlay (upper first, whiteouts
 * hiding the workspace), the quota's own-size, applies(), then commit
 * (the workspace gets exactly the pending changes, the overlay empties)
 * and discard (the workspace untouched). And an attacker's try: a
 * directory of the workspace swapped for a symlink to elsewhere between
 * the write and the commit must not carry the commit outside. */
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

#include "fixture.h"
#include "vfs/overlay.h"

static char T[256], H[300], W[300], OUT[300];

static int run(const char *fmt, const char *a, const char *b)
{
    char cmd[1400];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    return system(cmd);
}

static int setup(void **state)
{
    (void)state;
    if (fixture_tmpdir(T, sizeof T, "ovcommit") != 0)
        return -1;
    char *rb = realpath(T, NULL);
    snprintf(T, sizeof T, "%s", rb);
    free(rb);
    snprintf(H, sizeof H, "%s/home", T);
    snprintf(W, sizeof W, "%s/ws", T);
    snprintf(OUT, sizeof OUT, "%s/outside", T);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return run("rm -rf '%s'%s", T, "");
}

/* A fresh workspace per test: f (orig), gone (to delete), sub/keep. */
static int fresh(void **state)
{
    (void)state;
    char cmd[1400];
    snprintf(cmd, sizeof cmd,
             "rm -rf '%s' '%s' '%s' && mkdir -p '%s/alice' '%s/sub' '%s' && echo orig > '%s/f' && "
             "echo bye > '%s/gone' && echo keep > '%s/sub/keep'",
             H, W, OUT, H, W, OUT, W, W, W);
    return system(cmd) == 0 ? 0 : -1;
}

static void resolve(const char *guest, astrid_vfs_path *p)
{
    char ph[600];
    snprintf(ph, sizeof ph, "%s/alice", H);
    astrid_vfs_roots roots = {.principal_home = ph, .workspace = W, .astrid_home = H};
    astrid_err err;
    assert_int_equal(astrid_vfs_resolve(&roots, guest, p, &err), 0);
}

static void put(astrid_overlay *ov, const char *guest, const char *text)
{
    astrid_vfs_path p;
    astrid_err err;
    resolve(guest, &p);
    int fd = astrid_overlay_open(ov, &p, O_WRONLY | O_CREAT | O_TRUNC, 0600, &err);
    if (fd < 0)
        fail_msg("open %s: %s", guest, err.msg);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static char *slurp(const char *dir, const char *rel)
{
    static char buf[256];
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static int has_name(char **names, size_t n, const char *want)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], want) == 0)
            return 1;
    return 0;
}

static void test_merged_view_then_commit(void **state)
{
    (void)state;
    astrid_err err;
    astrid_overlay_registry *r = astrid_overlay_registry_new(H, W, 4, &err);
    assert_non_null(r);
    astrid_overlay *ov = astrid_overlay_acquire(r, "alice", &err);
    assert_non_null(ov);
    astrid_vfs_path p;

    resolve("cwd://f", &p);
    assert_true(astrid_overlay_applies(r, &p));
    assert_int_equal(astrid_overlay_own_size(ov, &p), 0); /* nothing of her own yet */
    put(ov, "cwd://f", "alice's version");
    assert_int_equal(astrid_overlay_own_size(ov, &p), 15);

    resolve("cwd://newdir", &p);
    assert_int_equal(astrid_overlay_mkdir(ov, &p, &err), 0);
    put(ov, "cwd://newdir/n", "new");
    resolve("cwd://gone", &p);
    assert_int_equal(astrid_overlay_unlink(ov, &p, &err), 0);

    struct stat st;
    resolve("cwd://gone", &p);
    assert_int_equal(astrid_overlay_lstat(ov, &p, &st, &err), -1); /* hidden by the whiteout */
    resolve("cwd://newdir", &p);
    assert_int_equal(astrid_overlay_lstat(ov, &p, &st, &err), 0);
    assert_true(S_ISDIR(st.st_mode));
    resolve("cwd://sub/keep", &p); /* lower only */
    assert_int_equal(astrid_overlay_lstat(ov, &p, &st, &err), 0);
    assert_int_equal(st.st_size, 5);

    char **names = NULL;
    size_t n = 0;
    resolve("cwd://", &p);
    assert_int_equal(astrid_overlay_readdir(ov, &p, &names, &n, 100, &err), 0);
    assert_true(has_name(names, n, "f"));
    assert_true(has_name(names, n, "sub"));
    assert_true(has_name(names, n, "newdir"));
    assert_false(has_name(names, n, "gone"));
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);

    /* the workspace has not changed yet */
    assert_string_equal(slurp(W, "f"), "orig\n");
    assert_non_null(slurp(W, "gone"));
    assert_null(slurp(W, "newdir/n"));

    size_t applied = 0;
    assert_int_equal(astrid_overlay_commit(ov, &applied, &err), 0);
    assert_true(applied >= 3);
    assert_string_equal(slurp(W, "f"), "alice's version");
    assert_string_equal(slurp(W, "newdir/n"), "new");
    assert_null(slurp(W, "gone"));
    assert_string_equal(slurp(W, "sub/keep"), "keep\n");
    astrid_overlay_change *ch = NULL;
    assert_int_equal(astrid_overlay_diff(ov, &ch, &n, &err), 0);
    assert_int_equal(n, 0); /* nothing pending after the commit */
    astrid_overlay_changes_free(ch, n);
    astrid_overlay_release(r, ov);
    astrid_overlay_registry_free(r);
}

static void test_discard_leaves_workspace(void **state)
{
    (void)state;
    astrid_err err;
    astrid_overlay_registry *r = astrid_overlay_registry_new(H, W, 4, &err);
    astrid_overlay *ov = astrid_overlay_acquire(r, "alice", &err);
    assert_non_null(ov);
    put(ov, "cwd://f", "scratch");
    astrid_vfs_path p;
    resolve("cwd://gone", &p);
    assert_int_equal(astrid_overlay_unlink(ov, &p, &err), 0);
    assert_int_equal(astrid_overlay_discard(ov, &err), 0);
    astrid_overlay_change *ch = NULL;
    size_t n = 9;
    assert_int_equal(astrid_overlay_diff(ov, &ch, &n, &err), 0);
    assert_int_equal(n, 0);
    astrid_overlay_changes_free(ch, n);
    /* the merged view is the workspace again */
    char buf[32] = {0};
    resolve("cwd://f", &p);
    int fd = astrid_overlay_open(ov, &p, O_RDONLY, 0, &err);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, buf, sizeof buf - 1), 5);
    close(fd);
    assert_string_equal(buf, "orig\n");
    assert_string_equal(slurp(W, "f"), "orig\n");
    assert_non_null(slurp(W, "gone"));
    astrid_overlay_release(r, ov);
    astrid_overlay_registry_free(r);
}

static void test_commit_through_planted_symlink_refused(void **state)
{
    (void)state;
    astrid_err err;
    astrid_overlay_registry *r = astrid_overlay_registry_new(H, W, 4, &err);
    astrid_overlay *ov = astrid_overlay_acquire(r, "alice", &err);
    assert_non_null(ov);
    put(ov, "cwd://sub/planted", "payload");
    /* after the write, the workspace's sub/ becomes a link to elsewhere */
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/sub' && ln -s '%s' '%s/sub'", W, OUT, W);
    assert_int_equal(system(cmd), 0);
    size_t applied = 0;
    int rc = astrid_overlay_commit(ov, &applied, &err);
    assert_int_equal(rc, -1);
    assert_null(slurp(OUT, "planted")); /* nothing landed outside */
    astrid_overlay_change *ch = NULL;
    size_t n = 0;
    assert_int_equal(astrid_overlay_diff(ov, &ch, &n, &err), 0);
    assert_true(n >= 1); /* what was not applied stays pending */
    astrid_overlay_changes_free(ch, n);
    astrid_overlay_release(r, ov);
    astrid_overlay_registry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_merged_view_then_commit, fresh),
        cmocka_unit_test_setup(test_discard_leaves_workspace, fresh),
        cmocka_unit_test_setup(test_commit_through_planted_symlink_refused, fresh),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
