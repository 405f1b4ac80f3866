/* PrincipalProfile: defaults, load errors, save round trip, migration. */
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
#include "astrid/profile.h"
#include "fixture.h"

static char home[256];

static int setup(void **state)
{
    (void)state;
    return fixture_tmpdir(home, sizeof home, "profile");
}

static int teardown(void **state)
{
    (void)state;
    return fixture_rmdir(home);
}

static void put(const char *rel, const char *text)
{
    char p[512], cmd[600];
    snprintf(p, sizeof p, "%s/%s", home, rel);
    snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\"", p);
    assert_int_equal(system(cmd), 0);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *slurp(const char *rel)
{
    char p[512];
    char *t = NULL;
    size_t n;
    snprintf(p, sizeof p, "%s/%s", home, rel);
    return astrid_read_file(p, 1 << 20, &t, &n, NULL) == 0 ? t : NULL;
}

static const char *example =
    "profile_version = 1\nenabled = true\ngroups = [\"agent\"]\ngrants = []\nrevokes = []\n"
    "[auth]\nmethods = []\npublic_keys = []\n[network]\negress = []\n[process]\nallow = []\n"
    "[quotas]\nmax_memory_bytes = 67108864\nmax_timeout_secs = 300\n"
    "max_ipc_throughput_bytes = 10485760\nmax_background_processes = 8\n"
    "max_storage_bytes = 1073741824\n";

static void test_defaults_and_example(void **state)
{
    (void)state;
    astrid_err e;
    astrid_profile *p = astrid_profile_load(home, "alice", &e); /* missing */
    assert_non_null(p);
    assert_int_equal(p->profile_version, 1);
    assert_true(p->enabled);
    assert_int_equal(p->groups.n + p->grants.n + p->revokes.n, 0);
    assert_int_equal(p->quotas.max_memory_bytes, 67108864ull);
    assert_int_equal(p->quotas.max_timeout_secs, 300);
    assert_int_equal(p->quotas.max_ipc_throughput_bytes, 10485760ull);
    assert_int_equal(p->quotas.max_background_processes, 8);
    assert_int_equal(p->quotas.max_storage_bytes, 1073741824ull);
    astrid_profile_release(p);
    put("etc/profiles/alice.toml", example);
    p = astrid_profile_load(home, "alice", &e);
    assert_non_null(p);
    assert_int_equal(p->groups.n, 1);
    assert_string_equal(p->groups.v[0], "agent");
    astrid_profile_release(p);
    /* Partial quotas keep the other defaults. */
    put("etc/profiles/bob.toml", "enabled = false\n[quotas]\nmax_timeout_secs = 60\n");
    p = astrid_profile_load(home, "bob", &e);
    assert_non_null(p);
    assert_false(p->enabled);
    assert_int_equal(p->quotas.max_timeout_secs, 60);
    assert_int_equal(p->quotas.max_memory_bytes, 67108864ull);
    astrid_profile_release(p);
    assert_null(astrid_profile_load(home, "../etc", &e));
}

static void bad(const char *text, const char *needle)
{
    astrid_err e;
    put("etc/profiles/x.toml", text);
    astrid_profile *p = astrid_profile_load(home, "x", &e);
    assert_null(p);
    if (!strstr(e.msg, needle))
        fail_msg("'%s' not in '%s'", needle, e.msg);
    char *t = slurp("etc/profiles/x.toml");
    assert_string_equal(t, text); /* a failed load leaves the file intact */
    free(t);
}

static void test_load_errors(void **state)
{
    (void)state;
    bad("enabled = true\nbogus = 1\n", "x.toml: line 2, column 1: unknown key 'bogus'");
    bad("[quotas]\nmax_cpu = 3\n", "line 2, column 1: unknown key 'max_cpu' in [quotas]");
    bad("[auth]\nmethods = [\"password\"]\n", "unknown auth method 'password'");
    bad("[auth]\nmethods = [\"keypair\"]\nextra = []\n", "unknown key 'extra'");
    bad("[network]\negress = [\" \"]\n", "network.egress");
    bad("[process]\nallow = [\"\"]\n", "process.allow");
    bad("profile_version = 2\n", "profile_version 2");
    bad("grants = [\"a::b\"]\n", "invalid capability in grants");
    bad("revokes = [\"x.y\"]\n", "invalid capability in revokes");
    bad("groups = [\"bad name\"]\n", "invalid group name");
    bad("enabled = \"yes\"\n", "'enabled' must be a boolean");
    bad("[quotas]\nmax_memory_bytes = 0\n", "max_memory_bytes must be > 0");
    bad("[quotas]\nmax_timeout_secs = 86401\n", "max_timeout_secs");
    bad("[quotas]\nmax_timeout_secs = 0\n", "max_timeout_secs");
    bad("[quotas]\nmax_background_processes = 257\n", "max_background_processes");
    bad("[quotas]\nmax_storage_bytes = -1\n", "max_storage_bytes");
    bad("groups = [\"a\"\n", "x.toml");
    bad("[auth]\npublic_keys = [\"\"]\n", "public_keys");
    /* A NUL would make "enabled\0x" read as enabled, "a\0b" as a (#12). */
    bad("\"enabled\\u0000x\" = false\n",
        "x.toml: \"enabled\\u0000x\": must not contain a NUL character");
    bad("grants = [\"system:status\\u0000x\"]\n",
        "x.toml: grants[0]: must not contain a NUL character");
}

static void test_save_roundtrip(void **state)
{
    (void)state;
    astrid_err e;
    astrid_profile *p = astrid_profile_new(&e);
    assert_int_equal(astrid_strlist_push(&p->groups, "agent", &e), 0);
    assert_int_equal(astrid_strlist_push(&p->grants, "system:status", &e), 0);
    assert_int_equal(astrid_strlist_push(&p->revokes, "self:capsule:*", &e), 0);
    assert_int_equal(astrid_strlist_push(&p->auth_methods, "keypair", &e), 0);
    assert_int_equal(astrid_strlist_push(&p->network_egress, "api.example.com", &e), 0);
    p->quotas.max_timeout_secs = 42;
    assert_int_equal(astrid_profile_save(home, "alice", p, &e), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/etc/profiles/alice.toml", home);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    astrid_profile *q = astrid_profile_load(home, "alice", &e);
    assert_non_null(q);
    assert_string_equal(q->grants.v[0], "system:status");
    assert_string_equal(q->revokes.v[0], "self:capsule:*");
    assert_string_equal(q->auth_methods.v[0], "keypair");
    assert_string_equal(q->network_egress.v[0], "api.example.com");
    assert_int_equal(q->quotas.max_timeout_secs, 42);
    astrid_profile_release(q);
    /* Save validates: an invalid profile is refused and the file untouched. */
    char *before = slurp("etc/profiles/alice.toml");
    assert_int_equal(astrid_strlist_push(&p->grants, "no spaces", &e), 0);
    assert_int_equal(astrid_profile_save(home, "alice", p, &e), -1);
    assert_non_null(strstr(e.msg, "refusing to save"));
    char *after = slurp("etc/profiles/alice.toml");
    assert_string_equal(before, after);
    free(before);
    free(after);
    assert_int_equal(astrid_strlist_remove(&p->grants, "no spaces"), 1);
    p->quotas.max_background_processes = 300;
    assert_int_equal(astrid_profile_save(home, "alice", p, &e), -1);
    astrid_profile_release(p);
    /* Defaults emit exactly the documented example shape (groups aside). */
    p = astrid_profile_new(&e);
    astrid_strlist_push(&p->groups, "agent", &e);
    char *text = astrid_profile_emit(p, &e);
    assert_non_null(text);
    put("etc/profiles/ex.toml", example);
    astrid_profile *x = astrid_profile_load(home, "ex", &e);
    assert_non_null(x);
    char *text2 = astrid_profile_emit(x, &e);
    assert_string_equal(text, text2);
    free(text);
    free(text2);
    astrid_profile_release(x);
    astrid_profile_release(p);
}

static void test_migration(void **state)
{
    (void)state;
    astrid_err e;
    bool moved;
    assert_int_equal(astrid_profile_migrate_legacy(home, "default", &moved, &e), 0);
    assert_false(moved);
    put("home/default/.config/profile.toml", "groups = [\"admin\"]\n");
    assert_int_equal(astrid_profile_migrate_legacy(home, "default", &moved, &e), 0);
    assert_true(moved);
    char *legacy = slurp("home/default/.config/profile.toml");
    assert_null(legacy);
    astrid_profile *p = astrid_profile_load(home, "default", &e);
    assert_string_equal(p->groups.v[0], "admin");
    astrid_profile_release(p);
    /* New file exists: the legacy one is deleted, the new one kept. */
    put("home/default/.config/profile.toml", "groups = [\"restricted\"]\n");
    assert_int_equal(astrid_profile_migrate_legacy(home, "default", &moved, &e), 0);
    assert_false(moved);
    assert_null(slurp("home/default/.config/profile.toml"));
    p = astrid_profile_load(home, "default", &e);
    assert_string_equal(p->groups.v[0], "admin");
    astrid_profile_release(p);
    /* Invalid legacy file: error, left in place, nothing written. */
    put("home/bob/.config/profile.toml", "nonsense = 1\n");
    assert_int_equal(astrid_profile_migrate_legacy(home, "bob", &moved, &e), -1);
    char *t = slurp("home/bob/.config/profile.toml");
    assert_string_equal(t, "nonsense = 1\n");
    free(t);
    assert_null(slurp("etc/profiles/bob.toml"));
}

static void test_bootstrap_default(void **state)
{
    (void)state;
    astrid_err e;
    bool seeded;
    assert_int_equal(astrid_profile_bootstrap_default(home, &seeded, &e), 0);
    assert_true(seeded);
    astrid_profile *p = astrid_profile_load(home, "default", &e);
    assert_int_equal(p->groups.n, 1);
    assert_string_equal(p->groups.v[0], "admin");
    astrid_profile_release(p);
    assert_int_equal(astrid_profile_bootstrap_default(home, &seeded, &e), 0);
    assert_false(seeded);
    /* Empty lists are re-seeded but other fields survive. */
    put("etc/profiles/default.toml", "groups = []\n[quotas]\nmax_timeout_secs = 9\n");
    assert_int_equal(astrid_profile_bootstrap_default(home, &seeded, &e), 0);
    assert_true(seeded);
    p = astrid_profile_load(home, "default", &e);
    assert_string_equal(p->groups.v[0], "admin");
    assert_int_equal(p->quotas.max_timeout_secs, 9);
    astrid_profile_release(p);
    /* An explicit non-admin choice is left alone. */
    put("etc/profiles/default.toml", "groups = [\"restricted\"]\n");
    assert_int_equal(astrid_profile_bootstrap_default(home, &seeded, &e), 0);
    assert_false(seeded);
    put("etc/profiles/default.toml", "revokes = [\"system:*\"]\n");
    assert_int_equal(astrid_profile_bootstrap_default(home, &seeded, &e), 0);
    assert_false(seeded);
    put("etc/profiles/default.toml", "junk = 1\n");
    assert_int_equal(astrid_profile_bootstrap_default(home, &seeded, &e), -1);
    char *t = slurp("etc/profiles/default.toml");
    assert_string_equal(t, "junk = 1\n");
    free(t);
}

/* Security issue #12: a save the loader would refuse never reaches the
 * disk, and the loader applies the same bounds. */
static void test_bounds(void **state)
{
    (void)state;
    astrid_err e;
    char path[512];
    snprintf(path, sizeof path, "%s/etc/profiles/bob.toml", home);
    astrid_profile *p = astrid_profile_new(&e);
    for (unsigned i = 0; i < ASTRID_PROFILE_MAX_LIST; i++) {
        char cap[32];
        snprintf(cap, sizeof cap, "c%u:x", i);
        assert_int_equal(astrid_strlist_push(&p->grants, cap, &e), 0);
    }
    assert_int_equal(astrid_profile_save(home, "bob", p, &e), 0);
    char *before = slurp("etc/profiles/bob.toml");
    assert_non_null(before);
    assert_int_equal(astrid_strlist_push(&p->grants, "one:more", &e), 0);
    assert_int_equal(astrid_profile_validate(p, &e), -1);
    assert_non_null(strstr(e.msg, "grants has 1025 entries, over the limit of 1024"));
    assert_int_equal(astrid_profile_save(home, "bob", p, &e), -1);
    char *after = slurp("etc/profiles/bob.toml");
    assert_string_equal(after, before);
    free(after);
    free(before);
    /* the same list written by hand does not load either, naming the file */
    char *text = astrid_profile_emit(p, &e);
    assert_non_null(text);
    put("etc/profiles/eve.toml", text);
    free(text);
    assert_null(astrid_profile_load(home, "eve", &e));
    assert_non_null(strstr(e.msg, "eve.toml"));
    assert_non_null(strstr(e.msg, "over the limit of 1024"));
    astrid_profile_release(p);
    /* an entry no grammar bounds (egress, process, keys) is bounded too */
    p = astrid_profile_new(&e);
    char big[ASTRID_PROFILE_MAX_ENTRY + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(astrid_strlist_push(&p->network_egress, big, &e), 0);
    assert_int_equal(astrid_profile_save(home, "bob", p, &e), -1);
    assert_non_null(
        strstr(e.msg, "network.egress entry 1 is 1025 bytes, over the 1024-byte limit"));
    astrid_profile_release(p);
    /* the file-size bound is the loader's, checked on the emitted text */
    size_t n = ASTRID_PROFILE_FILE_MAX + 1;
    char *huge = malloc(n + 1);
    memset(huge, '#', n);
    huge[n] = '\0';
    assert_null(astrid_profile_parse(path, huge, n, &e));
    assert_non_null(strstr(e.msg, "over the 1048576-byte limit"));
    free(huge);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults_and_example, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bootstrap_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
