/* Admin API (Layer 6, reference §10.2–10.3): astrid.v1.admin.<topic>
 * carries {request_id?, method, params}; the reply goes to
 * astrid.v1.admin.response.<topic> as {request_id?, status, data} (and
 * "error" on failure).
 *
 * The rows of the methods (capability, scope, target, mutates) and the
 * dispatch (preamble, audit as `admin.<topic>`, write lock, reply) are the
 * one request pipeline's: requests.c / requests.h. Here are the handlers,
 * one family a file (admin_agent.c, admin_group.c, admin_caps.c,
 * admin_quota.c), and the helpers they share (admin.c).
 *
 * Handlers are astrid_req_fn: they return 0 with *data (a new reference)
 * and *status set, or -1 after astrid_req_fail() with an error kind and text.
 */
#ifndef ASTRID_KERNEL_ADMIN_H
#define ASTRID_KERNEL_ADMIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "astrid/profile.h"
#include "kernel/kernel.h"
#include "kernel/requests.h"

/* The admin names of the pipeline's request and handler types. */
typedef astrid_req admin_call;
typedef astrid_req_fn admin_fn;

/* Handlers (one family a file). */
int admin_agent_create(admin_call *c, json_t **data, const char **status);
/* At boot: remove the identity of agents without a profile (an agent
 * create or delete cut short by a crash; admin_agent.c says why). */
int admin_agent_reconcile(astrid_kernel *k, astrid_err *err);
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
int admin_budget_set(admin_call *c, json_t **data, const char **status);
int admin_budget_get(admin_call *c, json_t **data, const char **status);
/* admin_workspace.c: an agent's pending overlay changes */
int admin_workspace_diff(admin_call *c, json_t **data, const char **status);
int admin_workspace_commit(admin_call *c, json_t **data, const char **status);
int admin_workspace_discard(admin_call *c, json_t **data, const char **status);
int admin_agent_key_add(admin_call *c, json_t **data, const char **status);
int admin_agent_key_remove(admin_call *c, json_t **data, const char **status);
int admin_agent_key_list(admin_call *c, json_t **data, const char **status);
int admin_secret_set(admin_call *c, json_t **data, const char **status);
int admin_secret_delete(admin_call *c, json_t **data, const char **status);
int admin_secret_list(admin_call *c, json_t **data, const char **status);

/* The load-time heal (admin_secret.c): every agent's plaintext value of a
 * key `m` declares type = "secret" found in its env JSON moves to the file
 * store (a value already there wins) and leaves the JSON, with a
 * security_violation entry in that agent's audit log and a WARN line
 * naming the keys, never the values. Loop thread, before the capsule runs. */
struct astrid_manifest;
void astrid_secrets_heal(astrid_kernel *k, const struct astrid_manifest *m);

/* ---- helpers shared by the handlers (admin.c) ---- */
/* params[key] as a string; NULL (and an error set) when missing or not one. */
const char *admin_str(admin_call *c, const char *key);
/* params[key] as a list of strings into `out` (absent = empty when
 * `optional`); -1 with an error when not an array of strings. */
int admin_strlist(admin_call *c, const char *key, bool optional, astrid_strlist *out);
void admin_strlist_free(astrid_strlist *l);
/* params[key] as an object whose every key is one of known[0..n): NULL
 * (and an error naming the first stranger as "unknown <what> '<key>'")
 * otherwise. Borrowed from c->params. */
json_t *admin_object(admin_call *c, const char *key, const char *const *known, size_t n,
                     const char *what);
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
