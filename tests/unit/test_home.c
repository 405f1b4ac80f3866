/* The $ASTRID_HOME layout module (include/astrid/home.h): every path
 * function gives its path of reference §2, refuses a variable part that is
 * not one plain path component, and never hands back a truncated path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "astrid/home.h"
#include "fixture.h"

typedef int (*fn0)(char *, size_t, const char *, astrid_err *);
typedef int (*fn1)(char *, size_t, const char *, const char *, astrid_err *);
typedef int (*fn2)(char *, size_t, const char *, const char *, const char *, astrid_err *);
typedef int (*fn3)(char *, size_t, const char *, const char *, const char *, const char *,
                   astrid_err *);

/* One row: a function of 0-3 variable parts, what each part is (for the
 * refusal checks), and the path it must give under home "/h". */
typedef enum { NONE, PRINCIPAL, NAME, HASH } part;
typedef struct {
    const char *name;
    void (*fn)(void); /* one of fn0..fn3, by nargs */
    part parts[3];
    int nargs;
    const char *args[3];
    const char *want;
} row;

/* -Wcast-function-type allows void (*)(void) as the generic pointer. */
#define F(f) ((void (*)(void))(f))
#define HASH64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const row rows[] = {
    {"etc_dir", F(astrid_home_etc_dir), {0}, 0, {0}, "/h/etc"},
    {"hooks_dir", F(astrid_home_hooks_dir), {0}, 0, {0}, "/h/etc/hooks"},
    {"profiles_dir", F(astrid_home_profiles_dir), {0}, 0, {0}, "/h/etc/profiles"},
    {"homes_dir", F(astrid_home_homes_dir), {0}, 0, {0}, "/h/home"},
    {"run_dir", F(astrid_home_run_dir), {0}, 0, {0}, "/h/run"},
    {"var_dir", F(astrid_home_var_dir), {0}, 0, {0}, "/h/var"},
    {"log_dir", F(astrid_home_log_dir), {0}, 0, {0}, "/h/log"},
    {"keys_dir", F(astrid_home_keys_dir), {0}, 0, {0}, "/h/keys"},
    {"bin_dir", F(astrid_home_bin_dir), {0}, 0, {0}, "/h/bin"},
    {"aot_dir", F(astrid_home_aot_dir), {0}, 0, {0}, "/h/bin/aot"},
    {"wit_dir", F(astrid_home_wit_dir), {0}, 0, {0}, "/h/wit"},
    {"secrets_dir", F(astrid_home_secrets_dir), {0}, 0, {0}, "/h/secrets"},
    {"groups_file", F(astrid_home_groups_file), {0}, 0, {0}, "/h/etc/groups.toml"},
    {"layout_version", F(astrid_home_layout_version_file), {0}, 0, {0}, "/h/etc/layout-version"},
    {"system_sock", F(astrid_home_system_sock), {0}, 0, {0}, "/h/run/system.sock"},
    {"system_token", F(astrid_home_system_token), {0}, 0, {0}, "/h/run/system.token"},
    {"system_ready", F(astrid_home_system_ready), {0}, 0, {0}, "/h/run/system.ready"},
    {"cli_context", F(astrid_home_cli_context), {0}, 0, {0}, "/h/run/cli-context.toml"},
    {"daemon_lock", F(astrid_home_daemon_lock), {0}, 0, {0}, "/h/run/daemon.lock"},
    {"state_db", F(astrid_home_state_db), {0}, 0, {0}, "/h/var/state.db"},
    {"runtime_key", F(astrid_home_runtime_key), {0}, 0, {0}, "/h/keys/runtime.key"},
    {"runtime_pub", F(astrid_home_runtime_pub), {0}, 0, {0}, "/h/keys/runtime.pub"},
    {"capsule_sock", F(astrid_home_capsule_sock), {NAME}, 1, {"web"}, "/h/run/capsule-web.sock"},
    {"run_temp", F(astrid_home_run_temp), {NAME}, 1, {"unpack"}, "/h/run/unpack-XXXXXX"},
    {"daemon_log",
     F(astrid_home_daemon_log),
     {NAME},
     1,
     {"2026-01-02"},
     "/h/log/astrid.2026-01-02.log"},
    {"wasm_blob", F(astrid_home_wasm_blob), {HASH}, 1, {HASH64}, "/h/bin/" HASH64 ".wasm"},
    {"wit_blob", F(astrid_home_wit_blob), {HASH}, 1, {HASH64}, "/h/wit/" HASH64 ".wit"},
    {"secret_scope_dir", F(astrid_home_secret_scope_dir), {NAME}, 1, {"alice"}, "/h/secrets/alice"},
    {"secret_capsule_dir",
     F(astrid_home_secret_capsule_dir),
     {NAME, NAME},
     2,
     {"__host__", "web"},
     "/h/secrets/__host__/web"},
    {"secret_file",
     F(astrid_home_secret_file),
     {NAME, NAME, NAME},
     3,
     {"alice", "web", "api_key"},
     "/h/secrets/alice/web/api_key"},
    {"principal_home", F(astrid_principal_home), {PRINCIPAL}, 1, {"alice"}, "/h/home/alice"},
    {"profile_path",
     F(astrid_profile_path),
     {PRINCIPAL},
     1,
     {"alice"},
     "/h/etc/profiles/alice.toml"},
    {"env_dir", F(astrid_home_env_dir), {PRINCIPAL}, 1, {"alice"}, "/h/home/alice/.config/env"},
    {"env_json",
     F(astrid_home_env_json),
     {PRINCIPAL, NAME},
     2,
     {"alice", "web"},
     "/h/home/alice/.config/env/web.env.json"},
    {"legacy_profile",
     F(astrid_home_legacy_profile),
     {PRINCIPAL},
     1,
     {"alice"},
     "/h/home/alice/.config/profile.toml"},
    {"kv_dir", F(astrid_home_kv_dir), {PRINCIPAL}, 1, {"alice"}, "/h/home/alice/.local/kv"},
    {"tokens_dir",
     F(astrid_home_tokens_dir),
     {PRINCIPAL},
     1,
     {"alice"},
     "/h/home/alice/.local/tokens"},
    {"tmp_dir", F(astrid_home_tmp_dir), {PRINCIPAL}, 1, {"alice"}, "/h/home/alice/.local/tmp"},
    {"audit_dir",
     F(astrid_home_audit_dir),
     {PRINCIPAL},
     1,
     {"alice"},
     "/h/home/alice/.local/audit"},
    {"guest_log_dir",
     F(astrid_home_guest_log_dir),
     {PRINCIPAL},
     1,
     {"alice"},
     "/h/home/alice/.local/log"},
    {"capsules_dir",
     F(astrid_home_capsules_dir),
     {PRINCIPAL},
     1,
     {"alice"},
     "/h/home/alice/.local/capsules"},
    {"audit_file",
     F(astrid_home_audit_file),
     {PRINCIPAL},
     1,
     {"alice"},
     "/h/home/alice/.local/audit/audit.jsonl"},
    {"capsule_log_dir",
     F(astrid_home_capsule_log_dir),
     {PRINCIPAL, NAME},
     2,
     {"alice", "web"},
     "/h/home/alice/.local/log/web"},
    {"capsule_log",
     F(astrid_home_capsule_log),
     {PRINCIPAL, NAME, NAME},
     3,
     {"alice", "web", "2026-01-02"},
     "/h/home/alice/.local/log/web/2026-01-02.log"},
    {"capsule_dir",
     F(astrid_home_capsule_dir),
     {PRINCIPAL, NAME},
     2,
     {"alice", "web"},
     "/h/home/alice/.local/capsules/web"},
};
#define NROWS (sizeof rows / sizeof rows[0])

static int call(const row *r, char *out, size_t n, const char *home, const char *const *a,
                astrid_err *err)
{
    switch (r->nargs) {
    case 0:
        return ((fn0)r->fn)(out, n, home, err);
    case 1:
        return ((fn1)r->fn)(out, n, home, a[0], err);
    case 2:
        return ((fn2)r->fn)(out, n, home, a[0], a[1], err);
    default:
        return ((fn3)r->fn)(out, n, home, a[0], a[1], a[2], err);
    }
}

static void every_function_gives_its_path(void **state)
{
    (void)state;
    for (size_t i = 0; i < NROWS; i++) {
        char out[PATH_MAX];
        astrid_err err = {0};
        print_message("# %s\n", rows[i].name);
        assert_int_equal(call(&rows[i], out, sizeof out, "/h", rows[i].args, &err), 0);
        assert_string_equal(out, rows[i].want);
        /* a home with a trailing slash joins to the same path */
        assert_int_equal(call(&rows[i], out, sizeof out, "/h/", rows[i].args, &err), 0);
        assert_string_equal(out, rows[i].want);
    }
}

/* Too small a buffer and too long a home: ASTRID_E_LIMIT and an empty
 * result, never a prefix of the path. */
static void overflow_is_an_error_not_a_truncation(void **state)
{
    (void)state;
    static char longhome[PATH_MAX];
    memset(longhome, 'x', sizeof longhome - 1); /* fits alone, not with anything joined */
    longhome[0] = '/';
    for (size_t i = 0; i < NROWS; i++) {
        char out[PATH_MAX];
        astrid_err err = {0};
        print_message("# %s\n", rows[i].name);
        size_t want = strlen(rows[i].want);
        assert_int_equal(call(&rows[i], out, want, "/h", rows[i].args, &err), -1);
        assert_int_equal(err.code, ASTRID_E_LIMIT);
        assert_string_equal(out, "");
        /* exactly enough room succeeds */
        assert_int_equal(call(&rows[i], out, want + 1, "/h", rows[i].args, &err), 0);
        assert_string_equal(out, rows[i].want);
        out[0] = 'z';
        assert_int_equal(call(&rows[i], out, sizeof out, longhome, rows[i].args, &err), -1);
        assert_int_equal(err.code, ASTRID_E_LIMIT);
        assert_string_equal(out, "");
    }
}

/* Every variable part of every function: a value that is not one plain
 * path component is refused with ASTRID_E_INVALID and an empty result. */
static void bad_parts_are_refused(void **state)
{
    (void)state;
    static char long256[257], long65[66];
    memset(long256, 'a', 256);
    memset(long65, 'a', 65);
    const char *bad_name[] = {"", ".", "..", "../x", "a/b", "/abs", ".hidden", long256};
    const char *bad_principal[] = {"", "..", "a/b", "../etc", "a.b", ".x", long65};
    const char *bad_hash[] = {"", "abc",
                              "../" HASH64, /* NOLINT(bugprone-suspicious-missing-comma) */
                              "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
                              "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde/"};
    for (size_t i = 0; i < NROWS; i++) {
        for (int k = 0; k < rows[i].nargs; k++) {
            const char *const *bad = rows[i].parts[k] == PRINCIPAL ? bad_principal
                                     : rows[i].parts[k] == HASH    ? bad_hash
                                                                   : bad_name;
            size_t nbad = rows[i].parts[k] == PRINCIPAL ? sizeof bad_principal / sizeof *bad
                          : rows[i].parts[k] == HASH    ? sizeof bad_hash / sizeof *bad
                                                        : sizeof bad_name / sizeof *bad;
            for (size_t b = 0; b < nbad; b++) {
                const char *a[3] = {rows[i].args[0], rows[i].args[1], rows[i].args[2]};
                a[k] = bad[b];
                char out[PATH_MAX] = "stale";
                astrid_err err = {0};
                print_message("# %s part %d = '%.20s'\n", rows[i].name, k, bad[b]);
                assert_int_equal(call(&rows[i], out, sizeof out, "/h", a, &err), -1);
                assert_int_equal(err.code, ASTRID_E_INVALID);
                assert_string_equal(out, "");
            }
        }
    }
}

static void messages_name_the_bad_part(void **state)
{
    (void)state;
    char out[PATH_MAX];
    astrid_err err;
    assert_int_equal(astrid_home_env_json(out, sizeof out, "/h", "alice", "../x", &err), -1);
    assert_string_equal(err.msg, "invalid capsule name '../x'");
    assert_int_equal(astrid_home_capsule_dir(out, sizeof out, "/h", "a/b", "web", &err), -1);
    assert_string_equal(
        err.msg, "principal id contains invalid character '/' (allowed: a-z, A-Z, 0-9, -, _)");
    assert_int_equal(astrid_home_wasm_blob(out, sizeof out, "/h", "nothex", &err), -1);
    assert_string_equal(err.msg, "invalid content hash 'nothex'");
    assert_int_equal(astrid_home_secret_file(out, sizeof out, "/h", "alice", "web", ".k", &err),
                     -1);
    assert_string_equal(err.msg, "invalid secret key '.k'");
}

/* The directories the ensure functions create are the ones the path
 * functions name: one layout, not two that happen to agree. */
static void ensure_creates_what_the_functions_name(void **state)
{
    (void)state;
    char home[256];
    assert_int_equal(fixture_tmpdir(home, sizeof home, "home"), 0);
    astrid_err err;
    assert_int_equal(astrid_home_ensure(home, &err), 0);
    assert_int_equal(astrid_principal_home_ensure(home, "alice", &err), 0);
    fn0 top[] = {astrid_home_etc_dir, astrid_home_hooks_dir, astrid_home_var_dir,
                 astrid_home_run_dir, astrid_home_log_dir,   astrid_home_keys_dir,
                 astrid_home_bin_dir, astrid_home_wit_dir,   astrid_home_homes_dir};
    fn1 mine[] = {astrid_principal_home,     astrid_home_env_dir,     astrid_home_kv_dir,
                  astrid_home_tokens_dir,    astrid_home_tmp_dir,     astrid_home_audit_dir,
                  astrid_home_guest_log_dir, astrid_home_capsules_dir};
    char p[PATH_MAX];
    struct stat st;
    for (size_t i = 0; i < sizeof top / sizeof *top; i++) {
        assert_int_equal(top[i](p, sizeof p, home, &err), 0);
        assert_int_equal(stat(p, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 0777, 0700);
    }
    for (size_t i = 0; i < sizeof mine / sizeof *mine; i++) {
        assert_int_equal(mine[i](p, sizeof p, home, "alice", &err), 0);
        assert_int_equal(stat(p, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 0777, 0700);
    }
    assert_int_equal(astrid_home_layout_version_file(p, sizeof p, home, &err), 0);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(fixture_rmdir(home), 0);
    assert_int_not_equal(stat(home, &st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_function_gives_its_path),
        cmocka_unit_test(overflow_is_an_error_not_a_truncation),
        cmocka_unit_test(bad_parts_are_refused),
        cmocka_unit_test(messages_name_the_bad_part),
        cmocka_unit_test(ensure_creates_what_the_functions_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
