/* agent.key.add / agent.key.remove / agent.key.list: the ed25519 public
 * keys in a profile's [auth] public_keys (base64 of 32 bytes). Once a
 * principal lists one, claiming it in the handshake needs a signature by
 * one of them, whatever token the client holds (server.c, docs/wire.md
 * "Key authentication"). Self-scoped: an agent manages its own keys; the
 * global agent:key:* forms (admin's `*`) anyone's. */
#include <stdlib.h>
#include <string.h>

#include "astrid/crypto.h"
#include "kernel/admin.h"

/* params.public_key, which must decode to 32 bytes; NULL after the error. */
static const char *key_param(admin_call *c, uint8_t raw[ASTRID_ED25519_PK_LEN])
{
    const char *pk = admin_str(c, "public_key");
    if (pk && astrid_b64_decode(raw, ASTRID_ED25519_PK_LEN, pk) != 0) {
        astrid_req_fail(c, ASTRID_KIND_INVALID,
                        "public_key must be an ed25519 public key: standard base64 of 32 bytes "
                        "(44 characters)");
        return NULL;
    }
    return pk;
}

/* Index of the entry that decodes to `raw`, or -1. */
static long find_key(const astrid_strlist *l, const uint8_t raw[ASTRID_ED25519_PK_LEN])
{
    for (size_t i = 0; i < l->n; i++) {
        uint8_t have[ASTRID_ED25519_PK_LEN];
        if (astrid_b64_decode(have, sizeof have, l->v[i]) == 0 &&
            memcmp(have, raw, sizeof have) == 0)
            return (long)i;
    }
    return -1;
}

int admin_agent_key_add(admin_call *c, json_t **data, const char **status)
{
    (void)status;
    uint8_t raw[ASTRID_ED25519_PK_LEN];
    const char *p = admin_str(c, "principal");
    const char *pk = p ? key_param(c, raw) : NULL;
    if (!pk)
        return -1;
    astrid_profile *prof = admin_load_existing(c, p);
    if (!prof)
        return -1;
    int rc = -1;
    if (find_key(&prof->auth_public_keys, raw) >= 0) {
        astrid_req_fail(c, ASTRID_KIND_CONFLICT, "%s already lists this key", p);
    } else if (admin_push_unique(c, &prof->auth_public_keys, pk, NULL) == 0 &&
               admin_save_profile(c, p, prof) == 0) {
        *data = json_pack("{s:s,s:o}", "principal", p, "public_keys",
                          admin_strlist_json(&prof->auth_public_keys));
        rc = 0;
    }
    astrid_profile_release(prof);
    return rc;
}

int admin_agent_key_remove(admin_call *c, json_t **data, const char **status)
{
    (void)status;
    uint8_t raw[ASTRID_ED25519_PK_LEN];
    const char *p = admin_str(c, "principal");
    const char *pk = p ? key_param(c, raw) : NULL;
    if (!pk)
        return -1;
    astrid_profile *prof = admin_load_existing(c, p);
    if (!prof)
        return -1;
    astrid_strlist *l = &prof->auth_public_keys;
    long i = find_key(l, raw);
    int rc = -1;
    if (i < 0) {
        astrid_req_fail(c, ASTRID_KIND_NOT_FOUND, "%s does not list this key", p);
    } else {
        free(l->v[i]);
        memmove(&l->v[i], &l->v[i + 1], (l->n - (size_t)i - 1) * sizeof *l->v);
        l->n--;
        if (admin_save_profile(c, p, prof) == 0) {
            *data = json_pack("{s:s,s:o}", "principal", p, "public_keys", admin_strlist_json(l));
            rc = 0;
        }
    }
    astrid_profile_release(prof);
    return rc;
}

int admin_agent_key_list(admin_call *c, json_t **data, const char **status)
{
    const char *p = admin_str(c, "principal");
    if (!p)
        return -1;
    astrid_profile *prof = admin_load_existing(c, p);
    if (!prof)
        return -1;
    *data = json_pack("{s:s,s:o}", "principal", p, "public_keys",
                      admin_strlist_json(&prof->auth_public_keys));
    astrid_profile_release(prof);
    *status = "keys";
    return 0;
}
