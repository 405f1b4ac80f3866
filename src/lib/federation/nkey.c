/* NATS user nkeys: base32 (RFC 4648, no padding) of prefix ‖ key ‖ crc16
 * (XMODEM, little-endian), as nats-server and the nk tool write them. The
 * bridge derives its public key from the seed file so the operator
 * configures one path, and the federation test makes its users with it. */
#include <sodium.h>
#include <string.h>

#include "astrid/fedconf.h"

#define PREFIX_SEED (18u << 3)
#define PREFIX_USER (20u << 3)

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

static uint16_t crc16(const uint8_t *p, size_t n)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint16_t)(p[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    }
    return crc;
}

static int enc(const uint8_t *in, size_t n, char *out, size_t outn)
{
    size_t need = (n * 8 + 4) / 5;
    if (need + 1 > outn)
        return -1;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            out[o++] = b32[(acc >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0)
        out[o++] = b32[(acc << (5 - bits)) & 31];
    out[o] = 0;
    return 0;
}

static int dec(const char *in, uint8_t *out, size_t outn, size_t *outlen)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (const char *p = in; *p; p++) {
        const char *q = strchr(b32, *p);
        if (!q || !*p)
            return -1;
        acc = (acc << 5) | (uint32_t)(q - b32);
        bits += 5;
        if (bits >= 8) {
            if (o >= outn)
                return -1;
            out[o++] = (uint8_t)(acc >> (bits - 8));
            bits -= 8;
        }
    }
    *outlen = o;
    return 0;
}

int astrid_nkey_decode_seed(const char *seed, uint8_t raw[32], astrid_err *err)
{
    uint8_t b[64];
    size_t n = 0;
    size_t sl = strlen(seed);
    while (sl > 0 && (seed[sl - 1] == '\n' || seed[sl - 1] == '\r' || seed[sl - 1] == ' '))
        sl--;
    char tmp[128];
    if (sl == 0 || sl >= sizeof tmp)
        return astrid_err_set(err, ASTRID_E_INVALID, "nkey seed: wrong length");
    memcpy(tmp, seed, sl);
    tmp[sl] = 0;
    if (dec(tmp, b, sizeof b, &n) != 0 || n != 36)
        return astrid_err_set(err, ASTRID_E_INVALID, "nkey seed: not a base32 seed");
    uint16_t want = (uint16_t)(b[34] | (b[35] << 8));
    if (crc16(b, 34) != want)
        return astrid_err_set(err, ASTRID_E_INVALID, "nkey seed: checksum mismatch");
    unsigned p1 = b[0] & 248u, p2 = ((b[0] & 7u) << 5) | ((b[1] & 248u) >> 3);
    if (p1 != PREFIX_SEED || p2 != PREFIX_USER)
        return astrid_err_set(err, ASTRID_E_INVALID, "nkey seed: not a user seed (SU...)");
    memcpy(raw, b + 2, 32);
    sodium_memzero(b, sizeof b);
    sodium_memzero(tmp, sizeof tmp);
    return 0;
}

int astrid_nkey_public_of_seed(const char *seed, char *pub, size_t pubn, astrid_err *err)
{
    uint8_t raw[32], pk[32], sk[64];
    if (astrid_nkey_decode_seed(seed, raw, err) != 0)
        return -1;
    crypto_sign_seed_keypair(pk, sk, raw);
    sodium_memzero(raw, sizeof raw);
    sodium_memzero(sk, sizeof sk);
    uint8_t b[35];
    b[0] = PREFIX_USER;
    memcpy(b + 1, pk, 32);
    uint16_t c = crc16(b, 33);
    b[33] = (uint8_t)(c & 0xff);
    b[34] = (uint8_t)(c >> 8);
    if (enc(b, sizeof b, pub, pubn) != 0)
        return astrid_err_set(err, ASTRID_E_LIMIT, "nkey public key buffer too small");
    return 0;
}

int astrid_nkey_seed_from_bytes(const uint8_t raw[32], char *seed, size_t seedn, astrid_err *err)
{
    uint8_t b[36];
    b[0] = (uint8_t)(PREFIX_SEED | (PREFIX_USER >> 5));
    b[1] = (uint8_t)((PREFIX_USER & 31u) << 3);
    memcpy(b + 2, raw, 32);
    uint16_t c = crc16(b, 34);
    b[34] = (uint8_t)(c & 0xff);
    b[35] = (uint8_t)(c >> 8);
    int rc = enc(b, sizeof b, seed, seedn);
    sodium_memzero(b, sizeof b);
    if (rc != 0)
        return astrid_err_set(err, ASTRID_E_LIMIT, "nkey seed buffer too small");
    return 0;
}
