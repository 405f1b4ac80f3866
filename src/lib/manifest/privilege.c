/* The privileged-ask table. See privilege.h. */
#include "lib/manifest/privilege.h"

#include <stdbool.h>

const char *const astrid_capsule_priv_caps[] = {ASTRID_CAP_CAPSULE_SHARED,
                                                "capsule:uplink",
                                                "capsule:identity",
                                                "capsule:net_bind",
                                                "capsule:host_process",
                                                "capsule:allow_prompt_injection",
                                                NULL};

/* net.c opens a socket when any entry is non-empty: the same predicate, so
 * the check can never be narrower than the gate. */
static bool any_nonempty(const astrid_strv *v)
{
    for (size_t i = 0; i < v->n; i++)
        if (v->v[i] && *v->v[i])
            return true;
    return false;
}

size_t astrid_capsule_privileges(const astrid_manifest *m,
                                 astrid_capsule_priv out[ASTRID_CAPSULE_PRIV_MAX])
{
    size_t n = 0;
    /* publish-as any principal, inbound messages as the invoking agent */
    if (m->uplink)
        out[n++] = (astrid_capsule_priv){"uplink", "capsule:uplink"};
    /* the identity store is global: every agent's platform links */
    if (astrid_manifest_identity_level(m) >= 0)
        out[n++] = (astrid_capsule_priv){"identity", "capsule:identity"};
    /* a socket in run/, served to any local client with the token */
    if (any_nonempty(&m->net_bind))
        out[n++] = (astrid_capsule_priv){"net_bind", "capsule:net_bind"};
    /* native processes run as the daemon's uid (unbuilt today: asked now
     * so that no manifest waved through today escalates once it is) */
    if (m->host_process.n > 0)
        out[n++] = (astrid_capsule_priv){"host_process", "capsule:host_process"};
    /* a flag other capsules (possibly admin's) trust about this one */
    if (m->allow_prompt_injection)
        out[n++] =
            (astrid_capsule_priv){"allow_prompt_injection", "capsule:allow_prompt_injection"};
    return n;
}

static json_t *strv_json(const astrid_strv *v)
{
    json_t *a = json_array();
    for (size_t i = 0; i < v->n; i++)
        json_array_append_new(a, json_string(v->v[i]));
    return a;
}

json_t *astrid_manifest_asks_json(const astrid_manifest *m)
{
    static const char *const levels[] = {"resolve", "link", "admin"};
    int lvl = astrid_manifest_identity_level(m);
    astrid_capsule_priv p[ASTRID_CAPSULE_PRIV_MAX];
    size_t np = astrid_capsule_privileges(m, p);
    json_t *needs = json_array();
    for (size_t i = 0; i < np; i++)
        json_array_append_new(needs, json_string(p[i].capability));
    return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:b,s:s,s:o}", "fs_read",
                     strv_json(&m->fs_read), "fs_write", strv_json(&m->fs_write), "net",
                     strv_json(&m->net), "ipc_publish", strv_json(&m->ipc_publish), "ipc_subscribe",
                     strv_json(&m->ipc_subscribe), "host_process", strv_json(&m->host_process),
                     "net_bind", strv_json(&m->net_bind), "uplink", m->uplink,
                     "allow_prompt_injection", m->allow_prompt_injection, "identity",
                     lvl >= 0 ? levels[lvl] : "none", "needs", needs);
}
