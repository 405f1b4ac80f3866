/* The federation trust table (etc/trust.toml) and remote principal ids. */
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

#include "astrid/capcheck.h"
#include "astrid/crypto.h"
#include "astrid/groups.h"
#include "astrid/fs.h"
#include "astrid/home.h"
#include "astrid/trust.h"
#include "fixture.h"

static char home[256];
static const char KA[] = "8f1c2a3b4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8";
static const char KB[] = "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff";

static int setup(void **state)
{
    (void)state;
    return fixture_tmpdir(home, sizeof home, "trust") == 0 && astrid_crypto_init(NULL) == 0 ? 0
                                                                                            : -1;
}

static int teardown(void **state)
{
    (void)state;
    return fixture_rmdir(home);
}

static void trust_path(char *out, size_t n)
{
    assert_int_equal(astrid_home_trust_file(out, n, home, NULL), 0);
}

static void write_trust(const char *text, mode_t mode)
{
    char etc[512], p[512];
    snprintf(etc, sizeof etc, "%s/etc", home);
    mkdir(etc, 0700);
    trust_path(p, sizeof p);
    unlink(p);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    chmod(p, mode);
}

static void missing_is_empty(void **state)
{
    (void)state;
    astrid_trust *t = NULL;
    astrid_err err;
    assert_int_equal(astrid_trust_load(home, &t, &err), 0);
    assert_int_equal(astrid_trust_count(t), 0);
    uint8_t pk[32];
    assert_int_equal(astrid_trust_lookup(t, "B", pk), -1);
    astrid_trust_free(t);
}

static void add_save_load_remove(void **state)
{
    (void)state;
    astrid_trust *t = astrid_trust_new();
    astrid_err err;
    assert_int_equal(astrid_trust_add(t, "B", KA, NULL, &err), 0);
    assert_int_equal(astrid_trust_add(t, "gpu-box_2", KB, "2026-12-05T07:00:00Z", &err), 0);
    /* never silently replace a key */
    assert_int_equal(astrid_trust_add(t, "B", KB, NULL, &err), -1);
    assert_int_equal(err.code, ASTRID_E_EXISTS);
    assert_int_equal(astrid_trust_save(t, home, &err), 0);
    astrid_trust_free(t);

    char p[512];
    trust_path(p, sizeof p);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    t = NULL;
    assert_int_equal(astrid_trust_load(home, &t, &err), 0);
    assert_int_equal(astrid_trust_count(t), 2);
    uint8_t pk[32], want[32];
    assert_int_equal(astrid_trust_lookup(t, "B", pk), 0);
    astrid_hex_decode(want, 32, KA, 64);
    assert_memory_equal(pk, want, 32);
    assert_int_equal(astrid_trust_lookup(t, "gpu-box_2", pk), 0);
    astrid_hex_decode(want, 32, KB, 64);
    assert_memory_equal(pk, want, 32);
    assert_int_equal(astrid_trust_lookup(t, "b", pk), -1); /* names are exact */
    const char *name, *added;
    assert_int_equal(astrid_trust_at(t, 1, &name, pk, &added), 0);
    assert_string_equal(name, "gpu-box_2");
    assert_string_equal(added, "2026-12-05T07:00:00Z");
    assert_int_equal(astrid_trust_at(t, 2, &name, pk, &added), -1);

    /* the stored key is lower-case hex */
    char *text = NULL;
    size_t len;
    assert_int_equal(astrid_read_file(p, 1 << 20, &text, &len, &err), 0);
    assert_non_null(strstr(text, "00112233445566778899aabbccddeeff"));
    assert_non_null(strstr(text, "[[host]]"));
    free(text);

    assert_int_equal(astrid_trust_remove(t, "B", &err), 0);
    assert_int_equal(astrid_trust_remove(t, "B", &err), -1);
    assert_int_equal(err.code, ASTRID_E_NOTFOUND);
    assert_int_equal(astrid_trust_lookup(t, "B", pk), -1);
    assert_int_equal(astrid_trust_save(t, home, &err), 0);
    astrid_trust_free(t);
    assert_int_equal(astrid_trust_load(home, &t, &err), 0);
    assert_int_equal(astrid_trust_count(t), 1);
    assert_int_equal(astrid_trust_lookup(t, "B", pk), -1);
    astrid_trust_free(t);
}

static void bad_input_refused(void **state)
{
    (void)state;
    astrid_trust *t = astrid_trust_new();
    astrid_err err;
    static const char *const names[] = {
        "",  "a.b", "a@b", "a b",
        "*", ">",   "a/b", "0123456789012345678901234567890123456789012345678901234567890123"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        assert_int_equal(astrid_trust_add(t, names[i], KA, NULL, &err), -1);
        assert_int_equal(err.code, ASTRID_E_INVALID);
    }
    static const char *const keys[] = {
        "", "abc", KA + 1, "zz1c2a3b4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8",
        "0000000000000000000000000000000000000000000000000000000000000000"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_int_equal(astrid_trust_add(t, "B", keys[i], NULL, &err), -1);
    assert_int_equal(astrid_trust_count(t), 0);
    astrid_trust_free(t);
}

/* A table that is wrong anywhere is refused whole. */
static void bad_file_refused(void **state)
{
    (void)state;
    char good[512];
    snprintf(good, sizeof good, "[[host]]\nname = \"B\"\npubkey = \"%s\"\nadded = \"x\"\n", KA);
    /* one host twice */
    static const char twice[] = "[[host]]\nname = \"B\"\npubkey = \"%s\"\nadded = \"x\"\n"
                                "[[host]]\nname = \"B\"\npubkey = \"%s\"\nadded = \"y\"\n";
    static const char *const bad[] = {
        "[[host]]\nname = \"B\"\n",                                           /* no key */
        "[[host]]\nname = \"B\"\npubkey = \"00\"\nadded = \"x\"\n",           /* short key */
        "host = 5\n",                                                         /* not tables */
        "[host]\nname = \"B\"\n",                                             /* a table */
        "extra = 1\n",                                                        /* unknown key */
        "[[host]]\nname = \"B.c\"\npubkey = \"%s\"\nadded = \"x\"\n",         /* bad name */
        "[[host]]\nname = \"B\"\npubkey = \"%s\"\nadded = \"x\"\nnote = 1\n", /* unknown */
        twice,
        "[[host]]\nname = \"B\\u0000x\"\npubkey = \"%s\"\nadded = \"x\"\n", /* NUL */
        "[[host\n",                                                         /* syntax */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[1024];
        snprintf(text, sizeof text, bad[i], KA, KB);
        write_trust(text, 0600);
        astrid_trust *t = (astrid_trust *)1;
        astrid_err err;
        if (astrid_trust_load(home, &t, &err) != -1)
            fail_msg("case %zu accepted", i);
        assert_null(t);
    }
    /* group/other-writable: refused (whoever writes it picks whom we trust) */
    write_trust(good, 0620);
    astrid_trust *t = NULL;
    astrid_err err;
    assert_int_equal(astrid_trust_load(home, &t, &err), -1);
    assert_int_equal(err.code, ASTRID_E_PERM);
    write_trust(good, 0602);
    assert_int_equal(astrid_trust_load(home, &t, &err), -1);
    /* a symlink is not followed */
    char p[512], real[512];
    trust_path(p, sizeof p);
    snprintf(real, sizeof real, "%s/real.toml", home);
    write_trust(good, 0600);
    assert_int_equal(rename(p, real), 0);
    assert_int_equal(symlink(real, p), 0);
    assert_int_equal(astrid_trust_load(home, &t, &err), -1);
    unlink(p);
    /* the same file, 0600 and regular: loads */
    write_trust(good, 0600);
    assert_int_equal(astrid_trust_load(home, &t, &err), 0);
    assert_int_equal(astrid_trust_count(t), 1);
    astrid_trust_free(t);
}

static void remote_principals(void **state)
{
    (void)state;
    char local[80], host[80];
    astrid_err err;
    assert_true(astrid_principal_is_remote("alice@B"));
    assert_false(astrid_principal_is_remote("alice"));
    assert_int_equal(astrid_remote_principal_split("alice@B", local, host, &err), 0);
    assert_string_equal(local, "alice");
    assert_string_equal(host, "B");
    static const char *const bad[] = {"alice",     "@B",    "alice@",  "al.ice@B", "alice@B@C",
                                      "alice@B.c", "a b@B", "alice@*", "*@B"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (astrid_remote_principal_validate(bad[i], &err) != -1)
            fail_msg("'%s' accepted", bad[i]);
    char longid[200];
    memset(longid, 'a', 65);
    strcpy(longid + 65, "@B");
    assert_int_equal(astrid_remote_principal_validate(longid, &err), -1);
}

/* The profile a remote principal is checked against: its own profile's
 * authz fields plus the mapped group; nothing by default. */
static void remote_profile_resolution(void **state)
{
    (void)state;
    astrid_err err;
    astrid_group_error why;
    astrid_group_config *g0 = astrid_groups_load("/nonexistent/groups.toml", &why, &err);
    assert_non_null(g0);
    static const char *const caps[] = {"capsule:list"};
    astrid_group_config *g = astrid_groups_insert(g0, "fedread", caps, 1, NULL, false, &why, &err);
    astrid_groups_unref(g0);
    assert_non_null(g);

    /* no profile, no map: nothing, not even an agent's self: rights */
    astrid_profile *p = astrid_fed_remote_profile("alice@B", NULL, NULL, &err);
    assert_non_null(p);
    assert_true(p->enabled);
    assert_false(astrid_capcheck_has(p, g, "capsule:list"));
    assert_false(astrid_capcheck_has(p, g, "self:agent:list"));
    astrid_profile_release(p);

    /* the mapped group */
    p = astrid_fed_remote_profile("alice@B", NULL, "fedread", &err);
    assert_true(astrid_capcheck_has(p, g, "capsule:list"));
    assert_false(astrid_capcheck_has(p, g, "capsule:install"));
    astrid_profile_release(p);

    /* its profile: grants add, revokes beat the mapped group, disabled
     * denies all; only authz fields are taken */
    astrid_profile *base = astrid_profile_new(&err);
    assert_int_equal(astrid_strlist_push(&base->grants, "agent:list", &err), 0);
    assert_int_equal(astrid_strlist_push(&base->revokes, "capsule:list", &err), 0);
    assert_int_equal(astrid_strlist_push(&base->network_egress, "example.com:443", &err), 0);
    p = astrid_fed_remote_profile("alice@B", base, "fedread", &err);
    assert_true(astrid_capcheck_has(p, g, "agent:list"));
    assert_false(astrid_capcheck_has(p, g, "capsule:list"));
    assert_int_equal(p->network_egress.n, 0);
    astrid_profile_release(p);
    base->enabled = false;
    p = astrid_fed_remote_profile("alice@B", base, "fedread", &err);
    assert_false(astrid_capcheck_has(p, g, "agent:list"));
    astrid_profile_release(p);
    astrid_profile_release(base);

    /* not a remote id: refused */
    assert_null(astrid_fed_remote_profile("alice", NULL, "fedread", &err));
    assert_null(astrid_fed_remote_profile("a@b@c", NULL, NULL, &err));
    astrid_groups_unref(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(missing_is_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(add_save_load_remove, setup, teardown),
        cmocka_unit_test(bad_input_refused),
        cmocka_unit_test_setup_teardown(bad_file_refused, setup, teardown),
        cmocka_unit_test(remote_principals),
        cmocka_unit_test(remote_profile_resolution),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
