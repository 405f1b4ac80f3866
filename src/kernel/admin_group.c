/* group.create / delete / modify / list (reference §10.3): the immutable
 * GroupConfig mutators (built-ins cannot change), an atomic write of
 * etc/groups.toml, then a hot swap so the next check sees the new config. */
#include <stdio.h>
#include <stdlib.h>

#include "kernel/admin.h"
#include "astrid/home.h"

/* Persist `next` and publish it; takes ownership of `next`. */
static int commit(admin_call *c, astrid_group_config *next)
{
    char path[PATH_MAX];
    astrid_err err;
    astrid_home_groups_file(path, sizeof path, c->k->home, NULL);
    if (astrid_groups_save(next, path, &err) != 0) {
        astrid_groups_unref(next);
        if (err.code == ASTRID_E_IO || err.code == ASTRID_E_NOMEM)
            return astrid_req_fail(c, ASTRID_KIND_INTERNAL, "cannot write %s: %s", path, err.msg);
        return astrid_req_fail(c, ASTRID_KIND_INVALID, "invalid: %s", err.msg);
    }
    astrid_group_swap_store(c->k->groups, next);
    return 0;
}

static json_t *ok(void)
{
    return json_pack("{s:s}", "status", "ok");
}

int admin_group_create(admin_call *c, json_t **data, const char **status)
{
    (void)status;
    const char *name = admin_str(c, "name");
    astrid_strlist caps;
    if (!name || admin_strlist(c, "capabilities", false, &caps) != 0)
        return -1;
    json_t *d = json_object_get(c->params, "description");
    json_t *ua = json_object_get(c->params, "unsafe_admin");
    if ((d && !json_is_string(d) && !json_is_null(d)) || (ua && !json_is_boolean(ua))) {
        admin_strlist_free(&caps);
        return astrid_req_fail(c, ASTRID_KIND_INVALID,
                               "group.create rejected: description must be a string and "
                               "unsafe_admin a boolean");
    }
    astrid_group_config *cur = astrid_group_swap_acquire(c->k->groups);
    astrid_group_error why;
    astrid_err err;
    astrid_group_config *next =
        astrid_groups_insert(cur, name, (const char *const *)caps.v, caps.n, json_string_value(d),
                             json_is_true(ua), &why, &err);
    astrid_groups_unref(cur);
    admin_strlist_free(&caps);
    if (!next)
        return astrid_req_fail(c, astrid_errkind_of(err.code), "group.create rejected: %s",
                               err.msg);
    if (commit(c, next) != 0)
        return -1;
    *data = ok();
    return 0;
}

int admin_group_delete(admin_call *c, json_t **data, const char **status)
{
    (void)status;
    const char *name = admin_str(c, "name");
    if (!name)
        return -1;
    astrid_group_config *cur = astrid_group_swap_acquire(c->k->groups);
    astrid_group_error why;
    astrid_err err;
    astrid_group_config *next = astrid_groups_remove(cur, name, &why, &err);
    astrid_groups_unref(cur);
    if (!next)
        return astrid_req_fail(c, astrid_errkind_of(err.code), "group.delete rejected: %s",
                               err.msg);
    if (commit(c, next) != 0)
        return -1;
    *data = ok();
    return 0;
}

int admin_group_modify(admin_call *c, json_t **data, const char **status)
{
    (void)status;
    const char *name = admin_str(c, "name");
    if (!name)
        return -1;
    astrid_strlist caps = {0};
    bool have_caps = json_object_get(c->params, "capabilities") != NULL;
    if (have_caps && admin_strlist(c, "capabilities", false, &caps) != 0)
        return -1;
    json_t *d = json_object_get(c->params, "description");
    json_t *ua = json_object_get(c->params, "unsafe_admin");
    if ((d && !json_is_string(d) && !json_is_null(d)) || (ua && !json_is_boolean(ua))) {
        admin_strlist_free(&caps);
        return astrid_req_fail(c, ASTRID_KIND_INVALID,
                               "group.modify rejected: description must be a string or null and "
                               "unsafe_admin a boolean");
    }
    astrid_desc_change dc = !d                ? ASTRID_DESC_KEEP
                            : json_is_null(d) ? ASTRID_DESC_CLEAR
                                              : ASTRID_DESC_SET;
    astrid_group_config *cur = astrid_group_swap_acquire(c->k->groups);
    astrid_group_error why;
    astrid_err err;
    astrid_group_config *next = astrid_groups_modify(
        cur, name, have_caps ? (const char *const *)caps.v : NULL, have_caps ? caps.n : 0, dc,
        json_string_value(d), ua ? json_is_true(ua) : -1, &why, &err);
    astrid_groups_unref(cur);
    admin_strlist_free(&caps);
    if (!next)
        return astrid_req_fail(c, astrid_errkind_of(err.code), "group.modify rejected: %s",
                               err.msg);
    if (commit(c, next) != 0)
        return -1;
    *data = ok();
    return 0;
}

int admin_group_list(admin_call *c, json_t **data, const char **status)
{
    astrid_group_config *cur = astrid_group_swap_acquire(c->k->groups);
    json_t *arr = json_array();
    for (size_t i = 0; i < astrid_groups_count(cur); i++) {
        const astrid_group *g = astrid_groups_at(cur, i);
        json_t *caps = json_array();
        for (size_t j = 0; j < g->ncaps; j++)
            json_array_append_new(caps, json_string(g->caps[j]));
        json_t *o = json_pack("{s:s,s:o,s:b,s:b}", "name", g->name, "capabilities", caps,
                              "unsafe_admin", g->unsafe_admin, "builtin", g->builtin);
        if (g->description)
            json_object_set_new(o, "description", json_string(g->description));
        json_array_append_new(arr, o);
    }
    astrid_groups_unref(cur);
    *status = "group_list";
    *data = arr;
    return 0;
}
