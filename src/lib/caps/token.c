/* Capability tokens v2: canonical payload, signing, JSON, resource patterns
 * (reference §8.1–8.2). */
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <uuid/uuid.h>

#include "astrid/blake3.h"
#include "astrid/principal.h"
#include "astrid/uuid.h"
#include "lib/caps/token.h"

static const char *const perm_names[] = {"read",   "write", "execute", "delete",
                                         "invoke", "list",  "create"};
#define NPERMS (sizeof perm_names / sizeof *perm_names)

unsigned astrid_perm_parse(const char *name)
{
    for (size_t i = 0; name && i < NPERMS; i++)
        if (strcmp(name, perm_names[i]) == 0)
            return 1u << i;
    return 0;
}

const char *astrid_perm_name(unsigned bit)
{
    for (size_t i = 0; i < NPERMS; i++)
        if (bit == 1u << i)
            return perm_names[i];
    return NULL;
}

static uint8_t *put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

static uint8_t *put_i64(uint8_t *p, int64_t s)
{
    uint64_t v = (uint64_t)s;
    for (int i = 0; i < 8; i++)
        *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

static uint8_t *put_lp(uint8_t *p, const void *b, size_t n)
{
    p = put_u32(p, (uint32_t)n);
    memcpy(p, b, n);
    return p + n;
}

static uint8_t *put_uuid(uint8_t *p, const char *s)
{
    uuid_t u;
    if (uuid_parse(s, u) != 0)
        memset(u, 0, sizeof u); /* checked at mint/parse; never signs garbage silently */
    return put_lp(p, u, sizeof u);
}

size_t astrid_captoken_payload(const astrid_captoken *t, uint8_t *buf)
{
    uint8_t *p = buf;
    *p++ = ASTRID_TOKEN_VERSION;
    p = put_uuid(p, t->id);
    size_t rl = strnlen(t->resource, ASTRID_TOKEN_RESOURCE_MAX);
    p = put_lp(p, t->resource, rl);
    uint32_t n = 0;
    for (size_t i = 0; i < NPERMS; i++)
        n += (t->perms >> i) & 1u;
    p = put_u32(p, n);
    for (size_t i = 0; i < NPERMS; i++)
        if (t->perms & (1u << i))
            p = put_lp(p, perm_names[i], strlen(perm_names[i]));
    p = put_i64(p, t->issued_at);
    if (t->expires_at) {
        *p++ = 1;
        p = put_i64(p, t->expires_at);
    } else {
        *p++ = 0;
    }
    const char *scope = t->persistent ? "persistent" : "session";
    p = put_lp(p, scope, strlen(scope));
    memcpy(p, t->issuer, sizeof t->issuer);
    p += sizeof t->issuer;
    memcpy(p, t->user_id, sizeof t->user_id);
    p += sizeof t->user_id;
    p = put_uuid(p, t->approval_audit_id);
    *p++ = t->single_use ? 1 : 0;
    p = put_lp(p, t->principal, strnlen(t->principal, ASTRID_TOKEN_PRINCIPAL_MAX));
    return (size_t)(p - buf);
}

void astrid_captoken_hash(const astrid_captoken *t, uint8_t out[32])
{
    uint8_t buf[ASTRID_TOKEN_PAYLOAD_MAX];
    size_t n = astrid_captoken_payload(t, buf);
    astrid_blake3_hasher h;
    astrid_blake3_init(&h);
    astrid_blake3_update(&h, buf, n);
    astrid_blake3_update(&h, t->signature, sizeof t->signature);
    astrid_blake3_finalize(&h, out, 32);
}

static int check_fields(const astrid_captoken *t, astrid_err *err)
{
    if (!astrid_uuid_parse(t->id, NULL))
        return astrid_err_set(err, ASTRID_E_INVALID, "token id '%s' is not a UUID", t->id);
    if (!astrid_uuid_parse(t->approval_audit_id, NULL))
        return astrid_err_set(err, ASTRID_E_INVALID, "token %s: approval_audit_id is not a UUID",
                              t->id);
    if (astrid_resource_pattern_check(t->resource, err) != 0)
        return astrid_err_prefix(err, "token %s", t->id);
    if (astrid_principal_validate(t->principal, err) != 0)
        return astrid_err_prefix(err, "token %s", t->id);
    if (!t->perms || t->perms >> NPERMS)
        return astrid_err_set(err, ASTRID_E_INVALID, "token %s: no valid permission", t->id);
    return 0;
}

int astrid_captoken_mint(astrid_captoken *t, const astrid_keypair *key, astrid_err *err)
{
    astrid_uuid_v4(t->id);
    t->issued_at = (int64_t)time(NULL);
    memcpy(t->issuer, key->pk, sizeof t->issuer);
    memcpy(t->user_id, key->pk, sizeof t->user_id); /* key_id, as upstream */
    if (check_fields(t, err) != 0)
        return -1;
    uint8_t buf[ASTRID_TOKEN_PAYLOAD_MAX];
    size_t n = astrid_captoken_payload(t, buf);
    astrid_sign(t->signature, buf, n, key);
    astrid_captoken_hash(t, t->content_hash);
    return 0;
}

int astrid_captoken_verify_sig(const astrid_captoken *t, const uint8_t trusted[32], astrid_err *err)
{
    if (!astrid_ct_equal(t->issuer, trusted, ASTRID_ED25519_PK_LEN))
        return astrid_err_set(err, ASTRID_E_CRYPTO,
                              "token %s: issuer is not the runtime key (untrusted issuer)", t->id);
    uint8_t buf[ASTRID_TOKEN_PAYLOAD_MAX];
    size_t n = astrid_captoken_payload(t, buf);
    if (!astrid_verify(t->signature, buf, n, t->issuer))
        return astrid_err_set(err, ASTRID_E_CRYPTO,
                              "token %s: invalid signature (a v1 token, signed before the "
                              "principal was part of the payload, must be re-minted)",
                              t->id);
    return 0;
}

bool astrid_captoken_expired(const astrid_captoken *t, int64_t now)
{
    return t->expires_at && now > t->expires_at + ASTRID_TOKEN_SKEW_SECS;
}

bool astrid_captoken_grants(const astrid_captoken *t, const char *resource, unsigned perm)
{
    return (t->perms & perm) == perm && perm && astrid_resource_matches(t->resource, resource);
}

json_t *astrid_captoken_to_json(const astrid_captoken *t)
{
    char issuer[65], user[17], sig[129];
    astrid_hex_encode(issuer, t->issuer, sizeof t->issuer);
    astrid_hex_encode(user, t->user_id, sizeof t->user_id);
    astrid_hex_encode(sig, t->signature, sizeof t->signature);
    json_t *perms = json_array();
    for (size_t i = 0; i < NPERMS; i++)
        if (t->perms & (1u << i))
            json_array_append_new(perms, json_string(perm_names[i]));
    json_t *j = json_pack("{s:i,s:s,s:s,s:o,s:I,s:s,s:s,s:s,s:s,s:b,s:s,s:s}", "version",
                          ASTRID_TOKEN_VERSION, "id", t->id, "resource", t->resource, "permissions",
                          perms, "issued_at", (json_int_t)t->issued_at, "scope",
                          t->persistent ? "persistent" : "session", "issuer", issuer, "user_id",
                          user, "approval_audit_id", t->approval_audit_id, "single_use",
                          t->single_use, "principal", t->principal, "signature", sig);
    if (j)
        json_object_set_new(j, "expires_at",
                            t->expires_at ? json_integer(t->expires_at) : json_null());
    return j;
}

static int str_field(const json_t *j, const char *k, char *out, size_t n, const char *id,
                     astrid_err *err)
{
    const char *s = json_string_value(json_object_get(j, k));
    if (!s || strlen(s) >= n)
        return astrid_err_set(err, ASTRID_E_PARSE, "token %s: field '%s' missing or too long", id,
                              k);
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

static int hex_field(const json_t *j, const char *k, uint8_t *out, size_t n, const char *id,
                     astrid_err *err)
{
    const char *s = json_string_value(json_object_get(j, k));
    if (!s || astrid_hex_decode(out, n, s, strlen(s)) != 0)
        return astrid_err_set(err, ASTRID_E_PARSE, "token %s: field '%s' is not %zu hex bytes", id,
                              k, n);
    return 0;
}

int astrid_captoken_from_json(const json_t *j, astrid_captoken *t, astrid_err *err)
{
    memset(t, 0, sizeof *t);
    if (!json_is_object(j))
        return astrid_err_set(err, ASTRID_E_PARSE, "token: not a JSON object");
    const char *id = json_string_value(json_object_get(j, "id"));
    if (!id)
        id = "?";
    json_t *ver = json_object_get(j, "version");
    if (!json_object_get(j, "principal") || (ver && json_integer_value(ver) != 2))
        return astrid_err_set(err, ASTRID_E_CRYPTO,
                              "token %s: a v1 capability token (no principal in its signed "
                              "payload) is refused: re-mint it (approve the action again)",
                              id);
    if (str_field(j, "id", t->id, sizeof t->id, id, err) ||
        str_field(j, "resource", t->resource, sizeof t->resource, id, err) ||
        str_field(j, "approval_audit_id", t->approval_audit_id, sizeof t->approval_audit_id, id,
                  err) ||
        str_field(j, "principal", t->principal, sizeof t->principal, id, err) ||
        hex_field(j, "issuer", t->issuer, sizeof t->issuer, id, err) ||
        hex_field(j, "user_id", t->user_id, sizeof t->user_id, id, err) ||
        hex_field(j, "signature", t->signature, sizeof t->signature, id, err))
        return -1;
    json_t *perms = json_object_get(j, "permissions"), *v;
    size_t i;
    if (!json_is_array(perms))
        return astrid_err_set(err, ASTRID_E_PARSE, "token %s: permissions must be a list", id);
    json_array_foreach(perms, i, v)
    {
        unsigned b = astrid_perm_parse(json_string_value(v));
        if (!b)
            return astrid_err_set(err, ASTRID_E_PARSE, "token %s: unknown permission", id);
        t->perms |= b;
    }
    json_t *ia = json_object_get(j, "issued_at"), *ea = json_object_get(j, "expires_at");
    if (!json_is_integer(ia) || (ea && !json_is_null(ea) && !json_is_integer(ea)))
        return astrid_err_set(err, ASTRID_E_PARSE,
                              "token %s: issued_at/expires_at must be unix "
                              "seconds",
                              id);
    t->issued_at = json_integer_value(ia);
    t->expires_at = json_is_integer(ea) ? json_integer_value(ea) : 0;
    const char *scope = json_string_value(json_object_get(j, "scope"));
    if (!scope || (strcmp(scope, "persistent") != 0 && strcmp(scope, "session") != 0))
        return astrid_err_set(err, ASTRID_E_PARSE, "token %s: scope must be session|persistent",
                              id);
    t->persistent = strcmp(scope, "persistent") == 0;
    t->single_use = json_is_true(json_object_get(j, "single_use"));
    if (check_fields(t, err) != 0)
        return -1;
    astrid_captoken_hash(t, t->content_hash);
    return 0;
}

/* A `..` path segment anywhere in `s` (after the scheme). */
static bool has_dotdot(const char *s)
{
    for (const char *p = s; (p = strstr(p, "..")) != NULL; p += 2) {
        bool start = p == s || p[-1] == '/' || p[-1] == ':';
        bool end = p[2] == '\0' || p[2] == '/';
        if (start && end)
            return true;
    }
    return false;
}

int astrid_resource_pattern_check(const char *pattern, astrid_err *err)
{
    if (!pattern || !*pattern)
        return astrid_err_set(err, ASTRID_E_INVALID, "resource pattern must not be empty");
    if (strlen(pattern) > ASTRID_TOKEN_RESOURCE_MAX)
        return astrid_err_set(err, ASTRID_E_INVALID, "resource pattern over %d bytes",
                              ASTRID_TOKEN_RESOURCE_MAX);
    const char *rest = strstr(pattern, "://");
    if (!rest || rest == pattern)
        return astrid_err_set(err, ASTRID_E_INVALID,
                              "resource pattern '%.200s' needs a scheme (scheme://...)", pattern);
    if (has_dotdot(rest + 3))
        return astrid_err_set(err, ASTRID_E_INVALID,
                              "resource pattern '%.200s' has a '..' path segment", pattern);
    return 0;
}

/* fnmatch(3) without flags for patterns of `*`, `?` and `\` escapes (the
 * common case, and the hot path of a token check): one backtracking point,
 * no allocation. */
static bool glob_simple(const char *p, const char *s)
{
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*p == '*') {
            star = ++p;
            resume = s;
        } else if (*p == '?' || (*p == '\\' && p[1] && p[1] == *s) || (*p != '\\' && *p == *s)) {
            p += *p == '\\' ? 2 : 1;
            s++;
        } else if (star) {
            p = star;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

bool astrid_resource_matches(const char *pattern, const char *resource)
{
    const char *rest = strstr(resource, "://");
    if (!rest || has_dotdot(rest + 3))
        return false;
    if (strchr(pattern, '['))
        return fnmatch(pattern, resource, 0) == 0;
    if (strpbrk(pattern, "*?"))
        return glob_simple(pattern, resource);
    return strcmp(pattern, resource) == 0;
}
