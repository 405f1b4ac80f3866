/* caps.grant / caps.revoke (reference §10.3): appended with de-duplication;
 * a grant never clears a matching revoke (revoke keeps precedence). */
#include <string.h>

#include "astrid/caps.h"
#include "kernel/admin.h"

static int change(admin_call *c, json_t **data, bool grant)
{
    const char *p = admin_str(c, "principal");
    if (!p)
        return -1;
    if (!grant && strcmp(p, "default") == 0)
        return astrid_req_fail(c, ASTRID_KIND_PERMISSION_DENIED,
                               "cannot revoke capabilities of principal default");
    astrid_strlist caps;
    if (admin_strlist(c, "capabilities", false, &caps) != 0)
        return -1;
    json_t *ua = json_object_get(c->params, "unsafe_admin");
    bool unsafe_admin = json_is_true(ua);
    int rc = 0;
    if (ua && !json_is_boolean(ua))
        rc = astrid_req_fail(c, ASTRID_KIND_INVALID, "params.unsafe_admin must be a boolean");
    if (rc == 0 && caps.n == 0)
        rc = astrid_req_fail(c, ASTRID_KIND_INVALID, "params.capabilities must not be empty");
    for (size_t i = 0; i < caps.n && rc == 0; i++) {
        char why[256];
        if (astrid_cap_validate(caps.v[i], why, sizeof why) != 0)
            rc = astrid_req_fail(c, ASTRID_KIND_INVALID, "invalid capability '%s': %s", caps.v[i],
                                 why);
        else if (grant && strcmp(caps.v[i], "*") == 0 && !unsafe_admin)
            rc = astrid_req_fail(c, ASTRID_KIND_INVALID,
                                 "granting '*' (every capability) requires unsafe_admin = true");
    }
    astrid_profile *prof = rc == 0 ? admin_load_existing(c, p) : NULL;
    if (rc == 0 && !prof)
        rc = -1;
    /* `added` decides whether the profile is saved: an append lost to a
     * failed allocation would answer "granted 0" and store nothing (the
     * malloc sweep's grant step, N 191), so every failure fails the call. */
    json_t *added = json_array();
    if (rc == 0 && !added)
        rc = astrid_req_fail(c, ASTRID_KIND_INTERNAL, "out of memory");
    for (size_t i = 0; i < caps.n && rc == 0; i++) {
        bool a = false;
        rc = admin_push_unique(c, grant ? &prof->grants : &prof->revokes, caps.v[i], &a);
        if (rc == 0 && a && json_array_append_new(added, json_string(caps.v[i])) != 0)
            rc = astrid_req_fail(c, ASTRID_KIND_INTERNAL, "out of memory");
    }
    if (rc == 0 && json_array_size(added) > 0)
        rc = admin_save_profile(c, p, prof);
    if (rc == 0) {
        *data = json_pack("{s:s,s:O,s:o}", "principal", p, grant ? "granted" : "revoked", added,
                          grant ? "grants" : "revokes",
                          admin_strlist_json(grant ? &prof->grants : &prof->revokes));
        if (!*data)
            rc = astrid_req_fail(c, ASTRID_KIND_INTERNAL, "out of memory");
    }
    json_decref(added);
    astrid_profile_release(prof);
    admin_strlist_free(&caps);
    return rc;
}

int admin_caps_grant(admin_call *c, json_t **data, const char **status)
{
    (void)status;
    return change(c, data, true);
}

int admin_caps_revoke(admin_call *c, json_t **data, const char **status)
{
    (void)status;
    return change(c, data, false);
}
