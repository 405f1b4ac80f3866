/* Helpers shared by the admin handlers (admin.h). Their table rows and
 * the dispatch are in requests.c. */
#include "kernel/admin.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "astrid/home.h"
#include "astrid/principal.h"
#include "astrid/utf8.h"

const char *admin_str(admin_call *c, const char *key)
{
    const char *s = json_string_value(json_object_get(c->params, key));
    if (!s)
        astrid_req_fail(c, ASTRID_KIND_INVALID, "params.%s must be a string", key);
    return s;
}

json_t *admin_object(admin_call *c, const char *key, const char *const *known, size_t n,
                     const char *what)
{
    json_t *o = json_object_get(c->params, key);
    if (!json_is_object(o)) {
        astrid_req_fail(c, ASTRID_KIND_INVALID, "params.%s must be an object", key);
        return NULL;
    }
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        size_t i = 0;
        while (i < n && strcmp(k, known[i]) != 0)
            i++;
        if (i == n) {
            astrid_req_fail(c, ASTRID_KIND_INVALID, "unknown %s '%s'", what, k);
            return NULL;
        }
    }
    return o;
}

void admin_strlist_free(astrid_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

int admin_push_unique(admin_call *c, astrid_strlist *l, const char *s, bool *added)
{
    if (added)
        *added = false;
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return 0;
    astrid_err err;
    if (astrid_strlist_push(l, s, &err) != 0)
        return astrid_req_fail_err(c, &err);
    if (added)
        *added = true;
    return 0;
}

int admin_strlist(admin_call *c, const char *key, bool optional, astrid_strlist *out)
{
    *out = (astrid_strlist){0};
    json_t *a = json_object_get(c->params, key);
    if (!a && optional)
        return 0;
    if (!json_is_array(a))
        return astrid_req_fail(c, ASTRID_KIND_INVALID, "params.%s must be an array of strings",
                               key);
    /* No list the loader accepts is longer: refuse before the quadratic
     * de-duplication a handler would run on it. */
    if (json_array_size(a) > ASTRID_PROFILE_MAX_LIST)
        return astrid_req_fail(c, ASTRID_KIND_INVALID,
                               "invalid: params.%s has %zu entries, over the limit of %u per list",
                               key, json_array_size(a), ASTRID_PROFILE_MAX_LIST);
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        astrid_err err;
        if (!json_is_string(v)) {
            admin_strlist_free(out);
            return astrid_req_fail(c, ASTRID_KIND_INVALID, "params.%s[%zu] must be a string", key,
                                   i);
        }
        if (astrid_strlist_push(out, json_string_value(v), &err) != 0) {
            admin_strlist_free(out);
            return astrid_req_fail_err(c, &err);
        }
    }
    return 0;
}

astrid_profile *admin_load_existing(admin_call *c, const char *principal)
{
    astrid_err err;
    char path[PATH_MAX];
    if (astrid_principal_validate(principal, &err) != 0 ||
        astrid_profile_path(path, sizeof path, c->k->home, principal, &err) != 0) {
        astrid_req_fail_err(c, &err);
        return NULL;
    }
    if (access(path, F_OK) != 0) {
        astrid_req_fail(c, ASTRID_KIND_NOT_FOUND,
                        "principal %s does not exist (no profile.toml at %s)", principal, path);
        return NULL;
    }
    astrid_profile *p = astrid_profile_load(c->k->home, principal, &err);
    if (!p)
        astrid_req_fail(c, ASTRID_KIND_INTERNAL, "profile of %s cannot be loaded: %s", principal,
                        err.msg);
    return p;
}

int admin_save_profile(admin_call *c, const char *principal, const astrid_profile *p)
{
    astrid_err err;
    if (astrid_profile_validate(p, &err) != 0)
        return astrid_req_fail(c, ASTRID_KIND_INVALID,
                               "invalid: the profile of %s would not load: %s", principal, err.msg);
    int rc = astrid_profile_save(c->k->home, principal, p, &err);
    astrid_profile_cache_invalidate(c->k->profiles, principal);
    if (rc != 0 && err.code != ASTRID_E_IO && err.code != ASTRID_E_NOMEM)
        return astrid_req_fail(c, ASTRID_KIND_INVALID, "invalid: the profile of %s %s", principal,
                               err.msg);
    if (rc != 0)
        return astrid_req_fail(c, ASTRID_KIND_INTERNAL, "cannot save the profile of %s: %s",
                               principal, err.msg);
    return 0;
}

json_t *admin_strlist_json(const astrid_strlist *l)
{
    json_t *a = json_array();
    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(a, json_string(l->v[i]));
    return a;
}

json_t *admin_quotas_json(const astrid_quotas *q)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:I}", "max_memory_bytes", (json_int_t)q->max_memory_bytes,
                     "max_timeout_secs", (json_int_t)q->max_timeout_secs,
                     "max_ipc_throughput_bytes", (json_int_t)q->max_ipc_throughput_bytes,
                     "max_background_processes", (json_int_t)q->max_background_processes,
                     "max_storage_bytes", (json_int_t)q->max_storage_bytes);
}

json_t *admin_agent_summary(const char *principal, const astrid_profile *p)
{
    return json_pack("{s:s,s:b,s:o,s:o,s:o,s:o,s:o,s:o}", "principal", principal, "enabled",
                     p->enabled, "groups", admin_strlist_json(&p->groups), "grants",
                     admin_strlist_json(&p->grants), "revokes", admin_strlist_json(&p->revokes),
                     "quotas", admin_quotas_json(&p->quotas), "network_egress",
                     admin_strlist_json(&p->network_egress), "process_allow",
                     admin_strlist_json(&p->process_allow));
}

bool admin_group_known(astrid_kernel *k, const char *name)
{
    astrid_group_config *g = astrid_group_swap_acquire(k->groups);
    bool known = astrid_groups_find(g, name) != NULL;
    astrid_groups_unref(g);
    return known;
}
