/* Guest path schemes, traversal and symlink confinement, the manifest gate. */
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

#include "vfs/vfs.h"

static char base[256], home_p[300], ws[300];

static int setup(void **state)
{
    (void)state;
    snprintf(base, sizeof base, "/tmp/astrid-vfs-XXXXXX");
    if (!mkdtemp(base))
        return -1;
    char *rb = realpath(base, NULL);
    snprintf(base, sizeof base, "%s", rb);
    free(rb);
    snprintf(home_p, sizeof home_p, "%s/home/alice", base);
    snprintf(ws, sizeof ws, "%s/ws", base);
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "mkdir -p %s/.local/tmp %s/sub %s/home/bob && echo secret > %s/home/bob/key && "
             "ln -s %s/home/bob %s/escape && ln -s ../.. %s/sub/up",
             home_p, ws, base, base, base, home_p, ws);
    return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    return system(cmd) == 0 ? 0 : -1;
}

static void schemes_map_to_roots(void **state)
{
    (void)state;
    astrid_vfs_roots roots = {home_p, ws};
    astrid_vfs_path p;
    astrid_err err;
    char want[600];
    assert_int_equal(astrid_vfs_resolve(&roots, "home://notes/a.txt", &p, &err), 0);
    assert_int_equal(p.mount, ASTRID_VFS_HOME);
    snprintf(want, sizeof want, "%s/notes/a.txt", home_p);
    assert_string_equal(p.physical, want);
    assert_string_equal(p.rel, "notes/a.txt");
    assert_int_equal(astrid_vfs_resolve(&roots, "/tmp/x", &p, &err), 0);
    snprintf(want, sizeof want, "%s/.local/tmp/x", home_p);
    assert_string_equal(p.physical, want);
    assert_int_equal(astrid_vfs_resolve(&roots, "/tmp", &p, &err), 0);
    assert_string_equal(p.rel, "");
    assert_int_equal(astrid_vfs_resolve(&roots, "cwd://sub/f", &p, &err), 0);
    snprintf(want, sizeof want, "%s/sub/f", ws);
    assert_string_equal(p.physical, want);
    assert_int_equal(astrid_vfs_resolve(&roots, "/sub/f", &p, &err), 0);
    assert_string_equal(p.physical, want);
}

static void traversal_and_symlinks_denied(void **state)
{
    (void)state;
    astrid_vfs_roots roots = {home_p, ws};
    astrid_vfs_path p;
    astrid_err err;
    assert_int_equal(astrid_vfs_resolve(&roots, "home://../bob/key", &p, &err), -1);
    assert_int_equal(err.code, ASTRID_E_PERM);
    assert_int_equal(astrid_vfs_resolve(&roots, "/tmp/../../x", &p, &err), -1);
    assert_int_equal(astrid_vfs_resolve(&roots, "cwd://a/../../b", &p, &err), -1);
    /* A symlink inside the home pointing at another principal's home. */
    assert_int_equal(astrid_vfs_resolve(&roots, "home://escape/key", &p, &err), -1);
    assert_non_null(strstr(err.msg, "escapes root boundary"));
    assert_int_equal(astrid_vfs_resolve(&roots, "cwd://sub/up/home/bob/key", &p, &err), -1);
    /* No home on disk: denied, never mapped elsewhere. */
    astrid_vfs_roots homeless = {NULL, ws};
    assert_int_equal(astrid_vfs_resolve(&homeless, "home://x", &p, &err), -1);
    assert_int_equal(err.code, ASTRID_E_PERM);
    assert_int_equal(astrid_vfs_resolve(&homeless, "/tmp/x", &p, &err), -1);
}

static void open_is_beneath(void **state)
{
    (void)state;
    astrid_vfs_roots roots = {home_p, ws};
    astrid_vfs_path p;
    astrid_err err;
    assert_int_equal(astrid_vfs_resolve(&roots, "home://new.txt", &p, &err), 0);
    int fd = astrid_vfs_open(&p, O_WRONLY | O_CREAT | O_TRUNC, 0600, &err);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "hi", 2), 2);
    close(fd);
    /* Swap the resolved path for a symlink after resolution: openat2 must
     * still refuse to follow it out of the root. */
    char link[600], target[600];
    snprintf(link, sizeof link, "%s/new.txt", home_p);
    snprintf(target, sizeof target, "%s/home/bob/key", base);
    unlink(link);
    assert_int_equal(symlink(target, link), 0);
    fd = astrid_vfs_open(&p, O_RDONLY, 0, &err);
    assert_int_equal(fd, -1);
}

static void manifest_gate(void **state)
{
    (void)state;
    astrid_vfs_roots roots = {home_p, ws};
    astrid_vfs_path p;
    astrid_err err;
    const char *home_all[] = {"home://"};
    const char *home_notes[] = {"home://notes"};
    const char *star[] = {"*"};
    const char *dotdot[] = {"home://../bob"};
    assert_int_equal(astrid_vfs_resolve(&roots, "home://notes/a", &p, &err), 0);
    assert_true(astrid_vfs_gate_allows(&roots, home_all, 1, &p));
    assert_true(astrid_vfs_gate_allows(&roots, home_notes, 1, &p));
    assert_false(astrid_vfs_gate_allows(&roots, star, 1, &p));
    assert_false(astrid_vfs_gate_allows(&roots, NULL, 0, &p));
    assert_int_equal(astrid_vfs_resolve(&roots, "home://notesX/a", &p, &err), 0);
    assert_false(astrid_vfs_gate_allows(&roots, home_notes, 1, &p));
    assert_int_equal(astrid_vfs_resolve(&roots, "/tmp/a", &p, &err), 0);
    assert_true(astrid_vfs_gate_allows(&roots, home_all, 1, &p));
    assert_false(astrid_vfs_gate_allows(&roots, home_notes, 1, &p));
    assert_int_equal(astrid_vfs_resolve(&roots, "cwd://sub/f", &p, &err), 0);
    assert_true(astrid_vfs_gate_allows(&roots, star, 1, &p));
    assert_false(astrid_vfs_gate_allows(&roots, dotdot, 1, &p));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(schemes_map_to_roots, setup, teardown),
        cmocka_unit_test_setup_teardown(traversal_and_symlinks_denied, setup, teardown),
        cmocka_unit_test_setup_teardown(open_is_beneath, setup, teardown),
        cmocka_unit_test_setup_teardown(manifest_gate, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
