#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "astrid/crypto.h"
#include "astrid/fs.h"

int astrid_crypto_init(astrid_err *err)
{
    if (sodium_init() < 0)
        return astrid_err_set(err, ASTRID_E_CRYPTO, "libsodium failed to initialise");
    return 0;
}

int astrid_keypair_from_seed(astrid_keypair *kp, const uint8_t seed[ASTRID_ED25519_SEED_LEN],
                             astrid_err *err)
{
    if (crypto_sign_seed_keypair(kp->pk, kp->sk, seed) != 0)
        return astrid_err_set(err, ASTRID_E_CRYPTO, "ed25519 key derivation failed");
    return 0;
}

int astrid_keypair_load(astrid_keypair *kp, const char *path, astrid_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        int e = errno;
        astrid_err_sys(err, "open key %s", path);
        if (err && e == ENOENT)
            err->code = ASTRID_E_NOTFOUND;
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return astrid_err_sys(err, "stat key %s", path);
    }
    if (!S_ISREG(st.st_mode) || st.st_size != ASTRID_ED25519_SEED_LEN) {
        close(fd);
        return astrid_err_set(err, ASTRID_E_CRYPTO,
                              "key %s must be a %d-byte regular file (found %lld bytes)", path,
                              ASTRID_ED25519_SEED_LEN, (long long)st.st_size);
    }
    if (st.st_mode & 077) {
        close(fd);
        return astrid_err_set(err, ASTRID_E_PERM,
                              "key %s is accessible by group or others (mode %03o); "
                              "chmod 600 it",
                              path, (unsigned)(st.st_mode & 0777));
    }
    uint8_t seed[ASTRID_ED25519_SEED_LEN];
    ssize_t n = read(fd, seed, sizeof seed);
    close(fd);
    if (n != (ssize_t)sizeof seed) {
        sodium_memzero(seed, sizeof seed);
        return astrid_err_set(err, ASTRID_E_IO, "short read of key %s", path);
    }
    int rc = astrid_keypair_from_seed(kp, seed, err);
    sodium_memzero(seed, sizeof seed);
    return rc;
}

int astrid_keypair_load_or_create(astrid_keypair *kp, const char *path, bool *created,
                                  astrid_err *err)
{
    if (created)
        *created = false;
    astrid_err e2;
    if (astrid_keypair_load(kp, path, &e2) == 0)
        return 0;
    if (e2.code != ASTRID_E_NOTFOUND) {
        if (err)
            *err = e2;
        return -1;
    }
    uint8_t seed[ASTRID_ED25519_SEED_LEN];
    randombytes_buf(seed, sizeof seed);
    int rc = astrid_atomic_write(path, seed, sizeof seed, 0600, err);
    if (rc == 0)
        rc = astrid_keypair_from_seed(kp, seed, err);
    sodium_memzero(seed, sizeof seed);
    if (rc == 0 && created)
        *created = true;
    return rc;
}

void astrid_keypair_wipe(astrid_keypair *kp)
{
    sodium_memzero(kp, sizeof *kp);
}

void astrid_sign(uint8_t sig[ASTRID_ED25519_SIG_LEN], const void *msg, size_t len,
                 const astrid_keypair *kp)
{
    crypto_sign_detached(sig, NULL, msg, len, kp->sk);
}

bool astrid_verify(const uint8_t sig[ASTRID_ED25519_SIG_LEN], const void *msg, size_t len,
                   const uint8_t pk[ASTRID_ED25519_PK_LEN])
{
    return crypto_sign_verify_detached(sig, msg, len, pk) == 0;
}

void astrid_random_bytes(void *buf, size_t len)
{
    randombytes_buf(buf, len);
}

void astrid_hex_encode(char *out, const void *in, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    const uint8_t *p = in;
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * len] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int astrid_hex_decode(void *out, size_t outlen, const char *hex, size_t hexlen)
{
    if (hexlen != 2 * outlen)
        return -1;
    uint8_t *o = out;
    for (size_t i = 0; i < outlen; i++) {
        int hi = hexval(hex[2 * i]);
        int lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        o[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

bool astrid_ct_equal(const void *a, const void *b, size_t len)
{
    return sodium_memcmp(a, b, len) == 0;
}

bool astrid_ct_streq(const char *a, const char *b)
{
    size_t la = strlen(a);
    size_t lb = strlen(b);
    /* Compare over the longer length so timing depends only on lengths. */
    size_t n = la > lb ? la : lb;
    unsigned diff = (unsigned)(la ^ lb);
    for (size_t i = 0; i < n; i++) {
        unsigned char ca = i < la ? (unsigned char)a[i] : 0;
        unsigned char cb = i < lb ? (unsigned char)b[i] : 0;
        diff |= (unsigned)(ca ^ cb);
    }
    return diff == 0;
}
