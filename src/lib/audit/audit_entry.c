/* Audit entry encoding, signing and single-line checking (docs/audit.md). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "astrid/blake3.h"
#include "astrid/fs.h"
#include "astrid/home.h"
#include "astrid/jsonsafe.h"
#include "lib/audit/audit_entry.h"

#define SIG_KEY ",\"signature\":\""

void audit_now_rfc3339(char out[32])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%06ldZ", ts.tv_nsec / 1000);
}

int audit_file_path(char *out, size_t outsz, const char *home, const char *principal,
                    astrid_err *err)
{
    return astrid_home_audit_file(out, outsz, home, principal, err);
}

char *audit_entry_head(const char *id, const char *session_id, const char *principal,
                       json_t *action, json_t *authorization, json_t *outcome, astrid_err *err)
{
    if (!json_is_object(action) || !json_is_string(json_object_get(action, "type")) ||
        !json_is_object(authorization) || !json_is_object(outcome) ||
        !json_is_string(json_object_get(outcome, "status"))) {
        astrid_err_set(err, ASTRID_E_INVALID,
                       "audit entry needs action{type}, authorization{} and outcome{status}");
        return NULL;
    }
    char ts[32];
    audit_now_rfc3339(ts);
    /* Every field or no entry: a set that fails (out of memory) would
     * otherwise drop its key silently, and the entry be signed without it
     * (the fault sweep signed one without "principal"). */
    json_t *o = json_object();
    if (!o || json_object_set_new(o, "id", json_string(id)) != 0 ||
        json_object_set_new(o, "timestamp", json_string(ts)) != 0 ||
        json_object_set_new(o, "session_id", json_string(session_id)) != 0 ||
        json_object_set_new(o, "principal", json_string(principal)) != 0 ||
        json_object_set(o, "action", action) != 0 ||
        json_object_set(o, "authorization", authorization) != 0 ||
        json_object_set(o, "outcome", outcome) != 0) {
        json_decref(o);
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory building an audit entry");
        return NULL;
    }
    /* guarded: json_dumps drops a key it cannot append (astrid/jsonsafe.h),
     * and the entry would be signed without it */
    char *s = astrid_json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!s) {
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory encoding an audit entry");
        return NULL;
    }
    s[strlen(s) - 1] = '\0'; /* drop the closing brace: seal appends more keys */
    return s;
}

int audit_entry_seal(const char *head, const char *prev_hash, const astrid_keypair *kp, char **line,
                     size_t *len, char hash_out[AUDIT_HEX_LEN + 1], astrid_err *err)
{
    char pkb64[AUDIT_PK_B64_LEN + 1];
    sodium_bin2base64(pkb64, sizeof pkb64, kp->pk, sizeof kp->pk, sodium_base64_VARIANT_ORIGINAL);
    size_t hl = strlen(head);
    size_t cap =
        hl + 64 + AUDIT_HEX_LEN + AUDIT_PK_B64_LEN + sizeof SIG_KEY + AUDIT_SIG_B64_LEN + 8;
    char *buf = malloc(cap);
    if (!buf)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    int n = snprintf(buf, cap, "%s,\"previous_hash\":\"%s\",\"runtime_key\":\"%s\"}", head,
                     prev_hash, pkb64);
    uint8_t sig[ASTRID_ED25519_SIG_LEN];
    astrid_sign(sig, buf, (size_t)n, kp);
    char sigb64[AUDIT_SIG_B64_LEN + 1];
    sodium_bin2base64(sigb64, sizeof sigb64, sig, sizeof sig, sodium_base64_VARIANT_ORIGINAL);
    n--; /* overwrite the closing brace */
    n += snprintf(buf + n, cap - (size_t)n, SIG_KEY "%s\"}", sigb64);
    astrid_blake3_hex(buf, (size_t)n, hash_out);
    buf[n++] = '\n';
    *line = buf;
    *len = (size_t)n;
    return 0;
}

static bool why_set(char *why, size_t whysz, const char *msg)
{
    snprintf(why, whysz, "%s", msg);
    return false;
}

bool audit_line_check(const char *line, size_t len, const uint8_t *pk, json_t **entry, char *why,
                      size_t whysz)
{
    if (entry)
        *entry = NULL;
    json_error_t je;
    json_t *o = astrid_json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(o)) {
        json_decref(o);
        return why_set(why, whysz, "line is not a JSON object");
    }
    /* the signature must be the last field: `...,"signature":"<88 b64>"}` */
    size_t tail = sizeof SIG_KEY - 1 + AUDIT_SIG_B64_LEN + 2;
    const char *sigp = line + len - tail;
    uint8_t sig[ASTRID_ED25519_SIG_LEN], key[ASTRID_ED25519_PK_LEN];
    size_t got = 0;
    if (len < tail + 1 || memcmp(sigp, SIG_KEY, sizeof SIG_KEY - 1) != 0 ||
        memcmp(line + len - 2, "\"}", 2) != 0 ||
        sodium_base642bin(sig, sizeof sig, sigp + sizeof SIG_KEY - 1, AUDIT_SIG_B64_LEN, NULL, &got,
                          NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        got != sizeof sig) {
        json_decref(o);
        return why_set(why, whysz, "signature field missing, malformed or not last");
    }
    if (!pk) {
        const char *rk = json_string_value(json_object_get(o, "runtime_key"));
        if (!rk ||
            sodium_base642bin(key, sizeof key, rk, strlen(rk), NULL, &got, NULL,
                              sodium_base64_VARIANT_ORIGINAL) != 0 ||
            got != sizeof key) {
            json_decref(o);
            return why_set(why, whysz, "runtime_key missing or malformed");
        }
        pk = key;
    }
    size_t slen = (size_t)(sigp - line);
    char *signed_bytes = malloc(slen + 1);
    if (!signed_bytes) {
        json_decref(o);
        return why_set(why, whysz, "out of memory");
    }
    memcpy(signed_bytes, line, slen);
    signed_bytes[slen] = '}';
    bool ok = astrid_verify(sig, signed_bytes, slen + 1, pk);
    free(signed_bytes);
    if (!ok) {
        json_decref(o);
        return why_set(why, whysz, "bad signature");
    }
    if (entry)
        *entry = o;
    else
        json_decref(o);
    return true;
}

json_t *astrid_audit_action_admin(const char *method, const char *required_capability,
                                  const char *target_principal, json_t *params)
{
    /* NULL unless every part is in: a dropped field would be signed as if
     * the request had not had it, and a failed mask would log a secret.
     * A NULL action makes the append fail, so the request is denied. */
    json_t *a = json_pack("{s:s, s:s, s:s}", "type", "admin_request", "method", method,
                          "required_capability", required_capability);
    if (a && target_principal &&
        json_object_set_new(a, "target_principal", json_string(target_principal)) != 0)
        goto fail;
    if (a && params) {
        /* params.secrets carries secret values (SetCapsuleConfig): the
         * log keeps which keys were set, never the values. */
        json_t *sec = json_object_get(params, "secrets");
        if (json_is_object(sec)) {
            json_t *copy = json_copy(params), *masked = json_object();
            int bad = !copy || !masked;
            const char *key;
            json_t *v;
            json_object_foreach(sec, key, v)
            {
                bad = bad || json_object_set_new(masked, key, json_string("[redacted]")) != 0;
            }
            if (bad || json_object_set_new(copy, "secrets", masked) != 0) {
                if (!bad)
                    masked = NULL; /* taken (and freed) by the failed set */
                json_decref(masked);
                json_decref(copy);
                goto fail;
            }
            if (json_object_set_new(a, "params", copy) != 0)
                goto fail;
        } else if (json_object_set(a, "params", params) != 0) {
            goto fail;
        }
    }
    return a;
fail:
    json_decref(a);
    return NULL;
}

json_t *astrid_audit_auth_system(const char *reason)
{
    return json_pack("{s:s, s:s}", "type", "system", "reason", reason);
}

json_t *astrid_audit_auth_denied(const char *reason)
{
    return json_pack("{s:s, s:s}", "type", "denied", "reason", reason);
}

json_t *astrid_audit_outcome_success(json_t *details)
{
    json_t *o = json_pack("{s:s}", "status", "success");
    if (o && details && json_object_set(o, "details", details) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *astrid_audit_outcome_failure(const char *error)
{
    return json_pack("{s:s, s:s}", "status", "failure", "error", error);
}
