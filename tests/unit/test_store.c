/* LMDB-backed namespaced KV and the identity store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/identity.h"
#include "store/kv.h"
#include "fixture_kv.h"

static char tmpdir[256];
static astrid_kv *kv;

static int setup(void **state)
{
    (void)state;
    return fixture_kv_open(tmpdir, sizeof tmpdir, "store", &kv);
}

static int teardown(void **state)
{
    (void)state;
    return fixture_kv_close(tmpdir, &kv);
}

static void kv_namespaces_are_isolated(void **state)
{
    (void)state;
    astrid_err err;
    assert_int_equal(astrid_kv_set(kv, "alice:capsule:counter", "n", "1", 1, &err), 0);
    assert_int_equal(astrid_kv_set(kv, "bob:capsule:counter", "n", "7", 1, &err), 0);
    /* A namespace that is a prefix of another must not see its keys. */
    assert_int_equal(astrid_kv_set(kv, "alice:capsule:counter2", "n", "9", 1, &err), 0);
    char *v;
    size_t len;
    assert_int_equal(astrid_kv_get(kv, "alice:capsule:counter", "n", &v, &len, &err), 0);
    assert_string_equal(v, "1");
    free(v);
    assert_int_equal(astrid_kv_get(kv, "bob:capsule:counter", "n", &v, &len, &err), 0);
    assert_string_equal(v, "7");
    free(v);
    astrid_kv_keys keys;
    assert_int_equal(astrid_kv_list(kv, "alice:capsule:counter", "", &keys, &err), 0);
    assert_int_equal(keys.count, 1);
    astrid_kv_keys_free(&keys);
    assert_int_equal(astrid_kv_get(kv, "carol:capsule:counter", "n", &v, &len, &err), 0);
    assert_null(v);
}

static void kv_delete_list_clear_copy(void **state)
{
    (void)state;
    astrid_err err;
    const char *ns = "default:capsule:x";
    char k[16];
    for (int i = 0; i < 10; i++) {
        snprintf(k, sizeof k, "%s%d", i < 6 ? "a/" : "b/", i);
        assert_int_equal(astrid_kv_set(kv, ns, k, k, strlen(k), &err), 0);
    }
    bool existed;
    assert_int_equal(astrid_kv_delete(kv, ns, "a/0", &existed, &err), 0);
    assert_true(existed);
    assert_int_equal(astrid_kv_delete(kv, ns, "a/0", &existed, &err), 0);
    assert_false(existed);
    astrid_kv_keys keys;
    assert_int_equal(astrid_kv_list(kv, ns, "a/", &keys, &err), 0);
    assert_int_equal(keys.count, 5);
    assert_string_equal(keys.keys[0], "a/1");
    astrid_kv_keys_free(&keys);

    uint64_t n;
    assert_int_equal(astrid_kv_copy_namespace(kv, ns, "zed:capsule:x", &n, &err), 0);
    assert_int_equal(n, 9);
    assert_int_equal(astrid_kv_copy_namespace(kv, ns, "aaa:capsule:x", &n, &err), 0);
    assert_int_equal(n, 9);

    assert_int_equal(astrid_kv_clear_prefix(kv, ns, "a/", &n, &err), 0);
    assert_int_equal(n, 5);
    assert_int_equal(astrid_kv_list(kv, ns, "", &keys, &err), 0);
    assert_int_equal(keys.count, 4);
    astrid_kv_keys_free(&keys);
    /* The copies are untouched. */
    assert_int_equal(astrid_kv_list(kv, "zed:capsule:x", "", &keys, &err), 0);
    assert_int_equal(keys.count, 9);
    astrid_kv_keys_free(&keys);
}

static void kv_rejects_bad_names(void **state)
{
    (void)state;
    astrid_err err;
    assert_int_equal(astrid_kv_set(kv, "", "k", "v", 1, &err), -1);
    assert_int_equal(astrid_kv_set(kv, "ns", "", "v", 1, &err), -1);
    char big[600];
    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(astrid_kv_set(kv, "ns", big, "v", 1, &err), -1);
    assert_int_equal(err.code, ASTRID_E_LIMIT);
}

static void identity_lifecycle(void **state)
{
    (void)state;
    astrid_err err;
    astrid_user root, alice, got;
    bool found;
    assert_int_equal(astrid_identity_create_user(kv, "root", NULL, &root, &err), 0);
    assert_int_equal(astrid_identity_link(kv, "CLI ", "local", root.id, "system", &err), 0);
    assert_int_equal(astrid_identity_resolve(kv, "cli", "local", &got, &found, &err), 0);
    assert_true(found);
    assert_string_equal(got.id, root.id);
    assert_string_equal(got.principal, "root");

    assert_int_equal(astrid_identity_create_user(kv, "Alice Smith!", NULL, &alice, &err), 0);
    assert_string_equal(alice.principal, "alice-smith");
    assert_int_equal(astrid_identity_link(kv, "cli", "alice", alice.id, "system", &err), 0);
    assert_int_equal(astrid_identity_link(kv, "telegram", "42", alice.id, "admin", &err), 0);
    assert_int_equal(astrid_identity_link(kv, "cli", "x", "00000000-0000-4000-8000-000000000000",
                                          "system", &err),
                     -1);
    assert_int_equal(err.code, ASTRID_E_NOTFOUND);
    assert_int_equal(astrid_identity_link(kv, "cli", "a/b", alice.id, "system", &err), -1);

    astrid_user_list users;
    assert_int_equal(astrid_identity_list_users(kv, &users, &err), 0);
    assert_int_equal(users.count, 2);
    astrid_user_list_free(&users);

    /* The name index moves to a newer user with the same name (last writer
     * wins); deleting the older user must not clear it. */
    astrid_user alice2;
    assert_int_equal(astrid_identity_create_user(kv, "Alice Smith!", NULL, &alice2, &err), 0);
    bool existed;
    assert_int_equal(astrid_identity_delete_user(kv, alice.id, &existed, &err), 0);
    assert_true(existed);
    assert_int_equal(astrid_identity_resolve(kv, "telegram", "42", &got, &found, &err), 0);
    assert_false(found);
    assert_int_equal(astrid_identity_resolve(kv, "cli", "alice", &got, &found, &err), 0);
    assert_false(found);
    assert_int_equal(astrid_identity_get_user_by_name(kv, "Alice Smith!", &got, &found, &err), 0);
    assert_true(found);
    assert_string_equal(got.id, alice2.id);
    assert_int_equal(astrid_identity_delete_user(kv, alice2.id, &existed, &err), 0);
    assert_int_equal(astrid_identity_get_user_by_name(kv, "Alice Smith!", &got, &found, &err), 0);
    assert_false(found);
    assert_int_equal(astrid_identity_delete_user(kv, alice2.id, &existed, &err), 0);
    assert_false(existed);
    /* root is untouched. */
    assert_int_equal(astrid_identity_resolve(kv, "cli", "local", &got, &found, &err), 0);
    assert_true(found);
}

/* set_many is all or nothing: a bad pair anywhere stores none of them. */
static void kv_set_many_all_or_nothing(void **state)
{
    (void)state;
    astrid_err err;
    char big[600];
    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    astrid_kv_pair bad[] = {{"a", "1", 1}, {big, "2", 1}};
    assert_int_equal(astrid_kv_set_many(kv, "ns", 2, bad, &err), -1);
    astrid_kv_keys keys;
    assert_int_equal(astrid_kv_list(kv, "ns", "", &keys, &err), 0);
    assert_int_equal(keys.count, 0);
    astrid_kv_keys_free(&keys);
    astrid_kv_pair good[] = {{"a", "1", 1}, {"b", "22", 2}};
    assert_int_equal(astrid_kv_set_many(kv, "ns", 2, good, &err), 0);
    char *v;
    size_t len;
    assert_int_equal(astrid_kv_get(kv, "ns", "b", &v, &len, &err), 0);
    assert_int_equal(len, 2);
    free(v);
    /* agent create's identity: user, name index and cli link together */
    astrid_user u, got;
    bool found;
    assert_int_equal(astrid_identity_create_linked_user(kv, "carol", "carol", "CLI", "carol",
                                                        "system", &u, &err),
                     0);
    assert_int_equal(astrid_identity_resolve(kv, "cli", "carol", &got, &found, &err), 0);
    assert_true(found);
    assert_string_equal(got.id, u.id);
    assert_int_equal(astrid_identity_get_user_by_name(kv, "carol", &got, &found, &err), 0);
    assert_true(found);
    /* a bad link refuses the whole user: nothing of it is stored */
    assert_int_equal(
        astrid_identity_create_linked_user(kv, "dave", "dave", "cli", "a/b", "system", &u, &err),
        -1);
    assert_int_equal(astrid_identity_get_user_by_name(kv, "dave", &got, &found, &err), 0);
    assert_false(found);
}

static void principal_derivation(void **state)
{
    (void)state;
    char p[65];
    astrid_identity_principal_from_name(p, "  --Bob__Jones--  ", "12345678-aaaa");
    assert_string_equal(p, "bob__jones");
    astrid_identity_principal_from_name(p, "!!!", "12345678-aaaa");
    assert_string_equal(p, "user-12345678");
    char longname[200];
    memset(longname, 'x', 63);
    longname[63] = ' ';
    memset(longname + 64, 'y', 50);
    longname[114] = '\0';
    astrid_identity_principal_from_name(p, longname, "u");
    assert_int_equal(strlen(p), 63); /* trailing '-' at position 64 dropped */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(kv_namespaces_are_isolated, setup, teardown),
        cmocka_unit_test_setup_teardown(kv_delete_list_clear_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(kv_rejects_bad_names, setup, teardown),
        cmocka_unit_test_setup_teardown(identity_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(kv_set_many_all_or_nothing, setup, teardown),
        cmocka_unit_test(principal_derivation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
