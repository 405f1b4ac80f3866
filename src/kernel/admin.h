/* Admin API (Layer 6, reference §10.2–10.3): astrid.v1.admin.<topic>
 * carries {request_id?, method, params}; the reply goes to
 * astrid.v1.admin.response.<topic> as {request_id?, status, data}.
 *
 * admin.c holds the one table of methods (capability and scope rule each)
 * and the dispatch: Layer 5 preamble, audit of every allow and deny as
 * `admin.<topic>`, the admin write lock around mutating handlers. The
 * handlers live one family a file: admin_agent.c, admin_group.c,
 * admin_caps.c, admin_quota.c.
 *
 * Handlers run on the loop thread with k->admin_write_lock held when they
 * mutate. They return 0 with *data (a new reference) and *status set, or -1
 * with the error text in `err` (sent as {"status":"error","data":err}).
 */
#ifndef ASTRID_KERNEL_ADMIN_H
#define ASTRID_KERNEL_ADMIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "astrid/profile.h"
#include "kernel/kernel.h"

typedef struct admin_call {
    astrid_kernel *k;
    const char *caller; /* the authenticated principal */
    json_t *params;     /* borrowed; an object (empty when absent) */
    char *err;          /* handler error text */
    size_t errn;
} admin_call;

typedef int (*admin_fn)(admin_call *c, json_t **data, const char **status);

/* Handlers (one family a file). */
int admin_agent_create(admin_call *c, json_t **data, const char **status);
int admin_agent_delete(admin_call *c, json_t **data, const char **status);
int admin_agent_enable(admin_call *c, json_t **data, const char **status);
int admin_agent_disable(admin_call *c, json_t **data, const char **status);
int admin_agent_modify(admin_call *c, json_t **data, const char **status);
int admin_agent_list(admin_call *c, json_t **data, const char **status);
int admin_group_create(admin_call *c, json_t **data, const char **status);
int admin_group_delete(admin_call *c, json_t **data, const char **status);
int admin_group_modify(admin_call *c, json_t **data, const char **status);
int admin_group_list(admin_call *c, json_t **data, const char **status);
int admin_caps_grant(admin_call *c, json_t **data, const char **status);
int admin_caps_revoke(admin_call *c, json_t **data, const char **status);
int admin_quota_set(admin_call *c, json_t **data, const char **status);
int admin_quota_get(admin_call *c, json_t **data, const char **status);

/* ---- helpers shared by the handlers (admin.c) ---- */
int admin_fail(admin_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* params[key] as a string; NULL (and an error set) when missing or not one. */
const char *admin_str(admin_call *c, const char *key);
/* params[key] as a list of strings into `out` (absent = empty when
 * `optional`); -1 with an error when not an array of strings. */
int admin_strlist(admin_call *c, const char *key, bool optional, astrid_strlist *out);
void admin_strlist_free(astrid_strlist *l);
/* Append `s` unless present; *added (optional) tells which. */
int admin_push_unique(admin_call *c, astrid_strlist *l, const char *s, bool *added);
/* The target must be a valid principal whose profile exists (phantom
 * guard): loads it fresh from disk (caller releases). */
astrid_profile *admin_load_existing(admin_call *c, const char *principal);
/* Save atomically, then invalidate the cache entry. */
int admin_save_profile(admin_call *c, const char *principal, const astrid_profile *p);
/* {principal, enabled, groups, grants, revokes, quotas, network_egress,
 * process_allow}: AgentSummary plus what `agent show` needs. */
json_t *admin_agent_summary(const char *principal, const astrid_profile *p);
json_t *admin_quotas_json(const astrid_quotas *q);
json_t *admin_strlist_json(const astrid_strlist *l);
/* Does the current group config define `name`? */
bool admin_group_known(astrid_kernel *k, const char *name);

#endif
