/* workspace.diff / workspace.commit / workspace.discard: an operator looks
 * at, applies or drops an agent's pending overlay changes (src/vfs/
 * overlay.h). Upstream never applies them (reference §12.3); ours can
 * because only a caller holding the global workspace:commit capability
 * decides, on the kernel's own authority, and the pipeline audits the
 * request like every admin write. The target must be an existing agent
 * (phantom guard), so no overlay is created for a made-up name. */
#include "kernel/admin.h"
#include "vfs/overlay.h"

static astrid_overlay *target(admin_call *c, const char **who)
{
    const char *p = admin_str(c, "principal");
    if (!p)
        return NULL;
    astrid_profile *prof = admin_load_existing(c, p);
    if (!prof)
        return NULL;
    astrid_profile_release(prof);
    if (!c->k->overlays) {
        astrid_req_fail(c, ASTRID_KIND_INTERNAL, "no overlay registry in this kernel");
        return NULL;
    }
    astrid_err err;
    astrid_overlay *ov = astrid_overlay_acquire(c->k->overlays, p, &err);
    if (!ov)
        astrid_req_fail_err(c, &err);
    *who = p;
    return ov;
}

static json_t *changes_json(astrid_overlay *ov, admin_call *c)
{
    astrid_overlay_change *ch = NULL;
    size_t n = 0;
    astrid_err err;
    if (astrid_overlay_diff(ov, &ch, &n, &err) != 0) {
        astrid_req_fail_err(c, &err);
        return NULL;
    }
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a,
                              json_pack("{s:s,s:s}", "path", ch[i].path, "change", ch[i].change));
    astrid_overlay_changes_free(ch, n);
    return a;
}

int admin_workspace_diff(admin_call *c, json_t **data, const char **status)
{
    (void)status;
    const char *who = NULL;
    astrid_overlay *ov = target(c, &who);
    if (!ov)
        return -1;
    json_t *a = changes_json(ov, c);
    astrid_overlay_release(c->k->overlays, ov);
    if (!a)
        return -1;
    *data = json_pack("{s:s,s:o}", "principal", who, "changes", a);
    return 0;
}

int admin_workspace_commit(admin_call *c, json_t **data, const char **status)
{
    (void)status;
    const char *who = NULL;
    astrid_overlay *ov = target(c, &who);
    if (!ov)
        return -1;
    json_t *a = changes_json(ov, c);
    size_t applied = 0;
    astrid_err err;
    int rc = a ? astrid_overlay_commit(ov, &applied, &err) : -1;
    astrid_overlay_release(c->k->overlays, ov);
    if (!a)
        return -1;
    if (rc != 0) {
        json_decref(a);
        return astrid_req_fail(
            c, err.code == ASTRID_E_PERM ? ASTRID_KIND_PERMISSION_DENIED : ASTRID_KIND_INTERNAL,
            "commit stopped after %zu change(s), the rest stays pending: %s", applied, err.msg);
    }
    astrid_klog(c->k, "INFO", "workspace: committed %zu overlay change(s) of %s", applied, who);
    *data =
        json_pack("{s:s,s:I,s:o}", "principal", who, "applied", (json_int_t)applied, "changes", a);
    return 0;
}

int admin_workspace_discard(admin_call *c, json_t **data, const char **status)
{
    (void)status;
    const char *who = NULL;
    astrid_overlay *ov = target(c, &who);
    if (!ov)
        return -1;
    json_t *a = changes_json(ov, c);
    astrid_err err;
    int rc = a ? astrid_overlay_discard(ov, &err) : -1;
    astrid_overlay_release(c->k->overlays, ov);
    if (!a)
        return -1;
    if (rc != 0) {
        json_decref(a);
        return astrid_req_fail_err(c, &err);
    }
    astrid_klog(c->k, "INFO", "workspace: discarded %zu overlay change(s) of %s",
                json_array_size(a), who);
    *data = json_pack("{s:s,s:o}", "principal", who, "discarded", a);
    return 0;
}
