/* File-per-secret store: layout, modes, validation, scope fall-through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "astrid/fs.h"
#include "store/secrets.h"
#include "fixture.h"

static char home[256];

static int setup(void **state)
{
    (void)state;
    return fixture_tmpdir(home, sizeof home, "secrets");
}

static int teardown(void **state)
{
    (void)state;
    return fixture_rmdir(home);
}

static void set_get_modes(void **state)
{
    (void)state;
    astrid_err err;
    assert_int_equal(astrid_secret_set(home, "alice", "openai", "OPENAI_API_KEY", "sk-a", &err), 0);
    char p[400];
    struct stat st;
    snprintf(p, sizeof p, "%s/secrets/alice/openai/OPENAI_API_KEY", home);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(p, sizeof p, "%s/secrets/alice", home);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    char *v;
    assert_int_equal(astrid_secret_get(home, "alice", "openai", "OPENAI_API_KEY", &v, &err), 0);
    assert_string_equal(v, "sk-a");
    free(v);
    assert_int_equal(astrid_secret_get(home, "bob", "openai", "OPENAI_API_KEY", &v, &err), 0);
    assert_null(v);
}

static void resolve_falls_through_to_host(void **state)
{
    (void)state;
    astrid_err err;
    char *v;
    assert_int_equal(astrid_secret_set(home, "__host__", "bot", "TOKEN", "shared", &err), 0);
    assert_int_equal(astrid_secret_resolve(home, "bob", "bot", "TOKEN", &v, &err), 0);
    assert_string_equal(v, "shared");
    free(v);
    assert_int_equal(astrid_secret_set(home, "bob", "bot", "TOKEN", "own", &err), 0);
    assert_int_equal(astrid_secret_resolve(home, "bob", "bot", "TOKEN", &v, &err), 0);
    assert_string_equal(v, "own");
    free(v);
    bool existed;
    assert_int_equal(astrid_secret_delete(home, "bob", "bot", "TOKEN", &existed, &err), 0);
    assert_true(existed);
    assert_int_equal(astrid_secret_delete(home, "bob", "bot", "TOKEN", &existed, &err), 0);
    assert_false(existed);
}

static void rejects_bad_names_and_values(void **state)
{
    (void)state;
    astrid_err err;
    assert_int_equal(astrid_secret_set(home, "alice", "c", "a:b", "v", &err), -1);
    assert_int_equal(astrid_secret_set(home, "alice", "c", "../x", "v", &err), -1);
    assert_int_equal(astrid_secret_set(home, "alice", "c", "", "v", &err), -1);
    assert_int_equal(astrid_secret_set(home, "alice", "c", "K", "", &err), -1);
    assert_int_equal(astrid_secret_set(home, "../etc", "c", "K", "v", &err), -1);
    assert_int_equal(astrid_secret_set(home, "alice", "..", "K", "v", &err), -1);
    assert_int_equal(astrid_secret_set(home, "alice", "a/b", "K", "v", &err), -1);
    char p[400];
    snprintf(p, sizeof p, "%s/secrets", home);
    struct stat st;
    assert_int_not_equal(stat(p, &st), 0); /* nothing was created */
}

static void oversized_file_refused(void **state)
{
    (void)state;
    astrid_err err;
    assert_int_equal(astrid_secret_set(home, "alice", "c", "K", "v", &err), 0);
    char p[400];
    snprintf(p, sizeof p, "%s/secrets/alice/c/K", home);
    size_t n = ASTRID_SECRET_MAX_BYTES + 1;
    char *big = malloc(n);
    memset(big, 'x', n);
    assert_int_equal(astrid_atomic_write(p, big, n, 0600, &err), 0);
    free(big);
    char *v;
    assert_int_equal(astrid_secret_get(home, "alice", "c", "K", &v, &err), -1);
    assert_string_equal(err.msg, "secret file exceeds 65536-byte cap");
}

static void copy_capsule_between_scopes(void **state)
{
    (void)state;
    astrid_err err;
    assert_int_equal(astrid_secret_set(home, "default", "openai", "A", "1", &err), 0);
    assert_int_equal(astrid_secret_set(home, "default", "openai", "B", "2", &err), 0);
    size_t n;
    assert_int_equal(astrid_secret_copy_capsule(home, "default", "carol", "openai", &n, &err), 0);
    assert_int_equal(n, 2);
    char *v;
    assert_int_equal(astrid_secret_get(home, "carol", "openai", "B", &v, &err), 0);
    assert_string_equal(v, "2");
    free(v);
    assert_int_equal(astrid_secret_copy_capsule(home, "default", "carol", "none", &n, &err), 0);
    assert_int_equal(n, 0);
}

/* keys are listed (never values), temp files of an interrupted write are
 * not keys, and purge leaves nothing of the capsule in the scope */
static void keys_and_purge(void **state)
{
    (void)state;
    astrid_err err;
    assert_int_equal(astrid_secret_set(home, "alice", "bot", "B", "v", &err), 0);
    assert_int_equal(astrid_secret_set(home, "alice", "bot", "A", "v", &err), 0);
    assert_int_equal(astrid_secret_set(home, "alice", "other", "C", "v", &err), 0);
    char p[400];
    snprintf(p, sizeof p, "%s/secrets/alice/bot/.A.tmp.1", home);
    assert_int_equal(astrid_atomic_write(p, "x", 1, 0600, &err), 0);
    char **v;
    size_t n;
    assert_int_equal(astrid_secret_keys(home, "alice", "bot", &v, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0], "A");
    assert_string_equal(v[1], "B");
    astrid_secret_names_free(v, n);
    assert_int_equal(astrid_secret_capsules(home, "alice", &v, &n, &err), 0);
    assert_int_equal(n, 2);
    astrid_secret_names_free(v, n);
    size_t removed;
    assert_int_equal(astrid_secret_purge_capsule(home, "alice", "bot", &removed, &err), 0);
    assert_int_equal(removed, 2);
    snprintf(p, sizeof p, "%s/secrets/alice/bot", home);
    assert_int_not_equal(access(p, F_OK), 0);
    char *val;
    assert_int_equal(astrid_secret_get(home, "alice", "other", "C", &val, &err), 0);
    assert_string_equal(val, "v");
    free(val);
    assert_int_equal(astrid_secret_purge_capsule(home, "alice", "bot", &removed, &err), 0);
    assert_int_equal(removed, 0);
    assert_int_equal(astrid_secret_purge_capsule(home, "alice", "../x", &removed, &err), -1);
    assert_int_equal(astrid_secret_keys(home, "../..", "bot", &v, &n, &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(set_get_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(resolve_falls_through_to_host, setup, teardown),
        cmocka_unit_test_setup_teardown(rejects_bad_names_and_values, setup, teardown),
        cmocka_unit_test_setup_teardown(oversized_file_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(copy_capsule_between_scopes, setup, teardown),
        cmocka_unit_test_setup_teardown(keys_and_purge, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
