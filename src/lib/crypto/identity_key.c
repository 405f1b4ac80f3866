/* Base64, identity files and the handshake's signed message (crypto.h). */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "astrid/crypto.h"
#include "astrid/fs.h"
#include "astrid/principal.h"
#include "astrid/toml.h"

void astrid_b64_encode(char *out, const void *in, size_t len)
{
    sodium_bin2base64(out, ASTRID_B64_LEN(len), in, len, sodium_base64_VARIANT_ORIGINAL);
}

int astrid_b64_decode(void *out, size_t outlen, const char *b64)
{
    size_t got = 0;
    const char *end = NULL;
    size_t n = strlen(b64);
    if (n != ASTRID_B64_LEN(outlen) - 1)
        return -1;
    if (sodium_base642bin(out, outlen, b64, n, NULL, &got, &end, sodium_base64_VARIANT_ORIGINAL) !=
            0 ||
        got != outlen || end != b64 + n)
        return -1;
    return 0;
}

int astrid_identity_load(const char *path, astrid_keypair *kp, char *principal, size_t n,
                         astrid_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return astrid_err_sys(err, "identity %s", path);
    if (st.st_mode & 077)
        return astrid_err_set(err, ASTRID_E_PERM,
                              "identity %s is readable by others (mode %03o): chmod 600 it", path,
                              (unsigned)(st.st_mode & 0777));
    astrid_toml *t = astrid_toml_parse_file(path, err, NULL);
    if (!t)
        return -1;
    size_t plen = 0, slen = 0;
    const char *p = astrid_toml_str(astrid_toml_get(t, "principal"), &plen);
    const char *s = astrid_toml_str(astrid_toml_get(t, "secret_key"), &slen);
    uint8_t seed[ASTRID_ED25519_SEED_LEN];
    int rc = -1;
    if (!p || strlen(p) != plen || astrid_principal_validate(p, NULL) != 0)
        astrid_err_set(err, ASTRID_E_PARSE, "identity %s: principal must be a valid agent name",
                       path);
    else if (!s || strlen(s) != slen || astrid_b64_decode(seed, sizeof seed, s) != 0)
        astrid_err_set(err, ASTRID_E_PARSE,
                       "identity %s: secret_key must be the base64 of a 32-byte ed25519 seed",
                       path);
    else if (snprintf(principal, n, "%s", p) >= (int)n)
        astrid_err_set(err, ASTRID_E_LIMIT, "identity %s: principal too long", path);
    else
        rc = astrid_keypair_from_seed(kp, seed, err);
    sodium_memzero(seed, sizeof seed);
    astrid_toml_free(t);
    return rc;
}

int astrid_identity_create(const char *path, const char *principal, astrid_keypair *kp,
                           astrid_err *err)
{
    if (astrid_principal_validate(principal, err) != 0)
        return -1;
    uint8_t seed[ASTRID_ED25519_SEED_LEN];
    astrid_random_bytes(seed, sizeof seed);
    int rc = astrid_keypair_from_seed(kp, seed, err);
    char sk[ASTRID_B64_LEN(ASTRID_ED25519_SEED_LEN)], pk[ASTRID_B64_LEN(ASTRID_ED25519_PK_LEN)];
    astrid_b64_encode(sk, seed, sizeof seed);
    astrid_b64_encode(pk, kp->pk, sizeof kp->pk);
    sodium_memzero(seed, sizeof seed);
    char text[512];
    snprintf(text, sizeof text,
             "# astrid identity (ed25519). Keep it private: anyone holding it is %s.\n"
             "# public key: %s\n"
             "principal = \"%s\"\n"
             "secret_key = \"%s\"\n",
             principal, pk, principal, sk);
    sodium_memzero(sk, sizeof sk);
    /* O_EXCL: an existing identity is never replaced */
    int fd = rc == 0 ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
    if (rc == 0 && fd < 0)
        rc = errno == EEXIST ? astrid_err_set(err, ASTRID_E_EXISTS,
                                              "%s exists: an identity is never overwritten", path)
                             : astrid_err_sys(err, "create %s", path);
    if (fd >= 0) {
        size_t len = strlen(text);
        if (write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
            rc = astrid_err_sys(err, "write %s", path);
            unlink(path);
        }
        close(fd);
    }
    sodium_memzero(text, sizeof text);
    return rc;
}

int astrid_auth_message(char *out, size_t n, const char *nonce_hex, const char *principal,
                        const char *socket_path)
{
    int len =
        snprintf(out, n, "astrid-handshake-v1\n%s\n%s\n%s", nonce_hex, principal, socket_path);
    return len < 0 || (size_t)len >= n ? -1 : len;
}
