/* Atomic writes, bounded reads and safe path joins. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "astrid/fs.h"
#include "fixture.h"

static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    return fixture_tmpdir(tmpdir, sizeof tmpdir, "fs");
}

static int teardown(void **state)
{
    (void)state;
    return fixture_rmdir(tmpdir);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void atomic_write_creates_0600_and_replaces(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof path, "%s/state.toml", tmpdir);
    astrid_err err;
    assert_int_equal(astrid_atomic_write(path, "a = 1\n", 6, 0600, &err), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(astrid_atomic_write(path, "b = 2\n", 6, 0600, &err), 0);
    char *buf;
    size_t len;
    assert_int_equal(astrid_read_file(path, 1024, &buf, &len, &err), 0);
    assert_int_equal(len, 6);
    assert_string_equal(buf, "b = 2\n");
    free(buf);
    /* No temp file is left behind. */
    assert_int_equal(count_entries(tmpdir), 1);
}

static void atomic_write_failure_keeps_old_and_no_temp(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof path, "%s/dir-target", tmpdir);
    assert_int_equal(mkdir(path, 0700), 0);
    astrid_err err;
    /* Renaming a file over a directory fails: the temp must be removed. */
    assert_int_equal(astrid_atomic_write(path, "x", 1, 0600, &err), -1);
    assert_int_equal(err.code, ASTRID_E_IO);
    assert_int_equal(count_entries(tmpdir), 1);
    char missing[300];
    snprintf(missing, sizeof missing, "%s/no/such/dir/file", tmpdir);
    assert_int_equal(astrid_atomic_write(missing, "x", 1, 0600, &err), -1);
}

/* Boot must not need free space for files it would rewrite unchanged. */
static void write_if_changed_leaves_same_content_alone(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof path, "%s/runtime.pub", tmpdir);
    astrid_err err;
    bool written = false;
    assert_int_equal(astrid_write_if_changed(path, "k1\n", 3, 0600, &written, &err), 0);
    assert_true(written);
    struct stat a, b;
    assert_int_equal(stat(path, &a), 0);
    assert_int_equal(astrid_write_if_changed(path, "k1\n", 3, 0600, &written, &err), 0);
    assert_false(written);
    assert_int_equal(stat(path, &b), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    assert_int_equal(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec);
    /* other content, or the same content with another mode: rewritten */
    assert_int_equal(astrid_write_if_changed(path, "k2\n", 3, 0600, &written, &err), 0);
    assert_true(written);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(astrid_write_if_changed(path, "k2\n", 3, 0600, &written, &err), 0);
    assert_true(written);
    assert_int_equal(stat(path, &b), 0);
    assert_int_equal(b.st_mode & 0777, 0600);
    assert_int_equal(count_entries(tmpdir), 1);
}

static void read_file_limits(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof path, "%s/big", tmpdir);
    astrid_err err;
    assert_int_equal(astrid_atomic_write(path, "0123456789", 10, 0600, &err), 0);
    char *buf = NULL;
    assert_int_equal(astrid_read_file(path, 9, &buf, NULL, &err), -1);
    assert_int_equal(err.code, ASTRID_E_LIMIT);
    assert_null(buf);
    assert_int_equal(astrid_read_file(path, 10, &buf, NULL, &err), 0);
    free(buf);
    snprintf(path, sizeof path, "%s/absent", tmpdir);
    assert_int_equal(astrid_read_file(path, 10, &buf, NULL, &err), -1);
    assert_int_equal(err.code, ASTRID_E_NOTFOUND);
    assert_int_equal(astrid_read_file(tmpdir, 10, &buf, NULL, &err), -1);
    assert_int_equal(err.code, ASTRID_E_INVALID);
}

static void path_join_rules(void **state)
{
    (void)state;
    char out[64];
    astrid_err err;
    assert_int_equal(astrid_path_join(out, sizeof out, "/a/b/", "c/./d//e", &err), 0);
    assert_string_equal(out, "/a/b/c/d/e");
    assert_int_equal(astrid_path_join(out, sizeof out, "/a", "", &err), 0);
    assert_string_equal(out, "/a");
    assert_int_equal(astrid_path_join(out, sizeof out, "/a", "..", &err), -1);
    assert_int_equal(astrid_path_join(out, sizeof out, "/a", "x/../y", &err), -1);
    assert_non_null(strstr(err.msg, ".."));
    assert_int_equal(astrid_path_join(out, sizeof out, "/a", "/etc/passwd", &err), -1);
    assert_non_null(strstr(err.msg, "absolute"));
    assert_int_equal(astrid_path_join_n(out, sizeof out, "/a", "b\0c", 3, &err), -1);
    assert_non_null(strstr(err.msg, "NUL"));
    /* `..x` and `x..` are ordinary names. */
    assert_int_equal(astrid_path_join(out, sizeof out, "/a", "..x/y..", &err), 0);
    assert_string_equal(out, "/a/..x/y..");
    char small[8];
    assert_int_equal(astrid_path_join(small, sizeof small, "/abc", "defgh", &err), -1);
    assert_int_equal(err.code, ASTRID_E_LIMIT);
}

static void mkdir_p_sets_mode(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof path, "%s/x/y/z", tmpdir);
    astrid_err err;
    mode_t old = umask(022);
    assert_int_equal(astrid_mkdir_p(path, 0700, 1, &err), 0);
    umask(old);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    chmod(path, 0755);
    assert_int_equal(astrid_mkdir_p(path, 0700, 1, &err), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(atomic_write_creates_0600_and_replaces, setup, teardown),
        cmocka_unit_test_setup_teardown(atomic_write_failure_keeps_old_and_no_temp, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(write_if_changed_leaves_same_content_alone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(read_file_limits, setup, teardown),
        cmocka_unit_test(path_join_rules),
        cmocka_unit_test_setup_teardown(mkdir_p_sets_mode, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
