/* ed25519 key files, signatures, hex, constant-time compare and UUIDs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "astrid/crypto.h"
#include "astrid/fs.h"
#include "astrid/uuid.h"
#include "fixture.h"

static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    return fixture_tmpdir(tmpdir, sizeof tmpdir, "crypto") == 0 && astrid_crypto_init(NULL) == 0
               ? 0
               : -1;
}

static int teardown(void **state)
{
    (void)state;
    return fixture_rmdir(tmpdir);
}

static void key_create_then_load_same(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof path, "%s/runtime.key", tmpdir);
    astrid_keypair a, b;
    bool created = false;
    astrid_err err;
    assert_int_equal(astrid_keypair_load_or_create(&a, path, &created, &err), 0);
    assert_true(created);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 32);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(astrid_keypair_load_or_create(&b, path, &created, &err), 0);
    assert_false(created);
    assert_memory_equal(a.pk, b.pk, 32);

    uint8_t sig[64];
    astrid_sign(sig, "hello", 5, &a);
    assert_true(astrid_verify(sig, "hello", 5, b.pk));
    assert_false(astrid_verify(sig, "hellp", 5, b.pk));
    sig[10] ^= 1;
    assert_false(astrid_verify(sig, "hello", 5, b.pk));
}

static void key_bad_file_refused(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof path, "%s/bad.key", tmpdir);
    astrid_err err;
    assert_int_equal(astrid_atomic_write(path, "short", 5, 0600, &err), 0);
    astrid_keypair kp;
    assert_int_equal(astrid_keypair_load_or_create(&kp, path, NULL, &err), -1);
    assert_int_equal(err.code, ASTRID_E_CRYPTO);
    /* The bad file is reported, never replaced. */
    char *buf;
    size_t len;
    assert_int_equal(astrid_read_file(path, 100, &buf, &len, &err), 0);
    assert_int_equal(len, 5);
    free(buf);
    uint8_t seed[32] = {0};
    assert_int_equal(astrid_atomic_write(path, seed, 32, 0644, &err), 0);
    assert_int_equal(astrid_keypair_load(&kp, path, &err), -1);
    assert_int_equal(err.code, ASTRID_E_PERM);
}

static void rfc8032_vector(void **state)
{
    (void)state;
    /* RFC 8032 section 7.1, TEST 1 (empty message). */
    uint8_t seed[32], pk[32], want_sig[64];
    assert_int_equal(
        astrid_hex_decode(seed, 32,
                          "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", 64),
        0);
    assert_int_equal(
        astrid_hex_decode(pk, 32,
                          "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", 64),
        0);
    assert_int_equal(
        astrid_hex_decode(want_sig, 64,
                          "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
                          "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
                          128),
        0);
    astrid_keypair kp;
    assert_int_equal(astrid_keypair_from_seed(&kp, seed, NULL), 0);
    assert_memory_equal(kp.pk, pk, 32);
    uint8_t sig[64];
    astrid_sign(sig, "", 0, &kp);
    assert_memory_equal(sig, want_sig, 64);
    astrid_keypair_wipe(&kp);
    uint8_t zero[64] = {0};
    assert_memory_equal(kp.sk, zero, 64);
}

static void hex_and_ct(void **state)
{
    (void)state;
    char hex[9];
    const uint8_t in[4] = {0x00, 0xab, 0x7f, 0xff};
    astrid_hex_encode(hex, in, 4);
    assert_string_equal(hex, "00ab7fff");
    uint8_t out[4];
    assert_int_equal(astrid_hex_decode(out, 4, "00AB7fff", 8), 0);
    assert_memory_equal(out, in, 4);
    assert_int_equal(astrid_hex_decode(out, 4, "00ab7ff", 7), -1);
    assert_int_equal(astrid_hex_decode(out, 4, "00ab7fgf", 8), -1);
    assert_true(astrid_ct_equal("abcd", "abcd", 4));
    assert_false(astrid_ct_equal("abcd", "abce", 4));
    assert_true(astrid_ct_streq("token", "token"));
    assert_false(astrid_ct_streq("token", "token2"));
    assert_false(astrid_ct_streq("", "x"));
    assert_true(astrid_ct_streq("", ""));
}

static void uuids(void **state)
{
    (void)state;
    char a[ASTRID_UUID_STR_LEN], b[ASTRID_UUID_STR_LEN];
    astrid_uuid_v4(a);
    astrid_uuid_v4(b);
    assert_int_equal(strlen(a), 36);
    assert_int_equal(a[14], '4');
    assert_true(strchr("89ab", a[19]) != NULL);
    assert_string_not_equal(a, b);
    /* Python: uuid.uuid5(uuid.NAMESPACE_URL, "my-session") */
    astrid_uuid_v5_url(a, "my-session", 10);
    assert_string_equal(a, "b882d584-f49b-5a47-8658-7b5b675ff22c");
    astrid_uuid_v5_url(b, "my-session", 10);
    assert_string_equal(a, b);
    char canon[ASTRID_UUID_STR_LEN];
    assert_true(astrid_uuid_parse("B882D584-F49B-5A47-8658-7B5B675FF22C", canon));
    assert_string_equal(canon, a);
    assert_false(astrid_uuid_parse("my-session", NULL));
    assert_false(astrid_uuid_parse("45e8dd5d5f3a5c2ca3ab0f4d94a38d54", NULL));
}

/* base64 round trip; anything but exactly the padded encoding of N bytes
 * is refused (a profile key that does not decode matches nothing) */
static void b64_strict(void **state)
{
    (void)state;
    uint8_t in[32], out[32];
    for (int i = 0; i < 32; i++)
        in[i] = (uint8_t)(i * 7 + 1);
    char b[ASTRID_B64_LEN(32)];
    astrid_b64_encode(b, in, sizeof in);
    assert_int_equal(strlen(b), 44);
    assert_int_equal(astrid_b64_decode(out, sizeof out, b), 0);
    assert_memory_equal(in, out, 32);
    char bad[64];
    snprintf(bad, sizeof bad, " %s", b);
    assert_int_equal(astrid_b64_decode(out, sizeof out, bad), -1); /* whitespace */
    snprintf(bad, sizeof bad, "%.43s", b);
    assert_int_equal(astrid_b64_decode(out, sizeof out, bad), -1); /* short */
    snprintf(bad, sizeof bad, "%sAAAA", b);
    assert_int_equal(astrid_b64_decode(out, sizeof out, bad), -1); /* long */
    assert_int_equal(
        astrid_b64_decode(out, sizeof out, "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!="), -1);
}

/* identity files: created 0600 and never overwritten, loaded back to the
 * same key, refused when others may read them; the signed message */
static void identity_file(void **state)
{
    (void)state;
    char path[400];
    snprintf(path, sizeof path, "%s/erin.key", tmpdir);
    astrid_keypair a, b;
    astrid_err err;
    assert_int_equal(astrid_identity_create(path, "erin", &a, &err), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(astrid_identity_create(path, "erin", &b, &err), -1);
    assert_int_equal(err.code, ASTRID_E_EXISTS);
    char who[65];
    assert_int_equal(astrid_identity_load(path, &b, who, sizeof who, &err), 0);
    assert_string_equal(who, "erin");
    assert_memory_equal(a.pk, b.pk, sizeof a.pk);
    chmod(path, 0640);
    assert_int_equal(astrid_identity_load(path, &b, who, sizeof who, &err), -1);
    assert_int_equal(err.code, ASTRID_E_PERM);
    assert_int_equal(astrid_identity_create(path, "../x", &b, &err), -1);
    char msg[256];
    assert_int_equal(astrid_auth_message(msg, sizeof msg, "ab", "erin", "/h/run/agents.sock"),
                     (int)strlen("astrid-handshake-v1\nab\nerin\n/h/run/agents.sock"));
    assert_string_equal(msg, "astrid-handshake-v1\nab\nerin\n/h/run/agents.sock");
    assert_int_equal(astrid_auth_message(msg, 10, "ab", "erin", "/x"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(key_create_then_load_same, setup, teardown),
        cmocka_unit_test_setup_teardown(key_bad_file_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(rfc8032_vector, setup, teardown),
        cmocka_unit_test(hex_and_ct),
        cmocka_unit_test(b64_strict),
        cmocka_unit_test_setup_teardown(identity_file, setup, teardown),
        cmocka_unit_test(uuids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
