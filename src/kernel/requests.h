/* The one request pipeline: management (reference §10.1,
 * astrid.v1.request.<suffix> -> astrid.v1.response.<suffix>) and admin
 * (§10.2, astrid.v1.admin.<topic> -> astrid.v1.admin.response.<topic>)
 * requests go through one table (requests.c) and one path: find the row
 * by method (an admin row also by its topic: a method sent on another
 * admin topic is refused as `invalid`), the Layer 5 preamble with the
 * row's capability and scope, the audit record of the decision, the admin
 * write lock around rows that mutate, the handler, the reply.
 *
 * Replies: {"request_id"? (echoed), "status", "data"}; on failure status
 * "error", data the message and, added beside them, "error": {"kind",
 * "message"} (astrid/errkind.h, docs/wire.md).
 *
 * Handlers live with their family: management in router.c, admin in
 * admin_agent.c, admin_group.c, admin_caps.c, admin_quota.c (admin.h).
 * They run on the loop thread (with k->admin_write_lock held when their
 * row mutates) and look like:
 *
 *     int handler(astrid_req *r, json_t **data, const char **status);
 *
 * returning 0 with *data (a new reference; NULL sends null) and, when the
 * reply status is not "success", *status (a static string); or -1 after
 * astrid_req_fail() / astrid_req_fail_err(), which set the error kind and
 * message. Adding a method is one table row in requests.c plus its
 * handler.
 */
#ifndef ASTRID_KERNEL_REQUESTS_H
#define ASTRID_KERNEL_REQUESTS_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "astrid/errkind.h"
#include "kernel/kernel.h"

/* The state of one request as its handler sees it. */
typedef struct astrid_req {
    astrid_kernel *k;
    astrid_conn *conn;  /* the requesting connection; NULL when called directly (tests) */
    const char *caller; /* the authenticated principal */
    json_t *params;     /* borrowed. admin: an object ({} when absent); management: as sent */
    char *err;          /* error message buffer (caller-owned) */
    size_t errn;
    astrid_errkind kind; /* of the error in `err` */
    const char *suffix;  /* of the request topic (the reply goes to <prefix><suffix>) */
    json_t *rid;         /* the request's "request_id" (borrowed; may be NULL) */
} astrid_req;

/* A handler that answers later, from another thread (capsule writes,
 * req_capsule.h), sets *status to this and keeps what it needs of the
 * request (copies: `r` dies when the handler returns); the pipeline then
 * sends no reply. */
extern const char ASTRID_REQ_DEFERRED[];

typedef int (*astrid_req_fn)(astrid_req *r, json_t **data, const char **status);

/* Which capability a row needs for a given request. */
typedef enum astrid_req_scope {
    ASTRID_SCOPE_GLOBAL,         /* the capability as written */
    ASTRID_SCOPE_SELF,           /* always its self: form */
    ASTRID_SCOPE_SELF_IF_TARGET, /* self: when params[target_key] is the caller */
} astrid_req_scope;

/* One method. Each is spelled once: the audit method is `method` for
 * management rows and "admin.<topic>" for admin rows; the reply topic is
 * built from the suffix the request came on. */
typedef struct astrid_req_row { // NOLINT(clang-analyzer-optin.performance.Padding)
    const char *method;         /* wire "method" */
    const char *topic;          /* admin: the topic suffix ("agent.create"); NULL: management */
    const char *capability;     /* global form; the SELF scopes prefix "self:" */
    astrid_req_scope scope;
    const char *target_key; /* params key naming the target principal, or NULL */
    bool mutates;           /* admin_write_lock + durable audit (else write-behind) */
    astrid_req_fn fn;
} astrid_req_row;

/* The table (read-only; for tests and docs checks). */
const astrid_req_row *astrid_req_table(size_t *n);

/* Set the error of `r` (kind + printf message, never cut inside a UTF-8
 * sequence) and return -1. */
int astrid_req_fail(astrid_req *r, astrid_errkind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int astrid_req_vfail(astrid_req *r, astrid_errkind kind, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* The same from an astrid_err: kind astrid_errkind_of(err->code), message
 * err->msg. */
int astrid_req_fail_err(astrid_req *r, const astrid_err *err);

/* Handle a message on astrid.v1.request.* / astrid.v1.admin.* (not
 * .response.*) from `c`: always answers on the reply topic. */
void astrid_requests_handle(astrid_kernel *k, astrid_conn *c, const char *topic, json_t *payload);

/* ---- management handlers (router.c) ---- */
int req_status(astrid_req *r, json_t **data, const char **status);
int req_shutdown(astrid_req *r, json_t **data, const char **status);
int req_list_capsules(astrid_req *r, json_t **data, const char **status);
int req_commands(astrid_req *r, json_t **data, const char **status);
int req_metadata(astrid_req *r, json_t **data, const char **status);
int req_reload(astrid_req *r, json_t **data, const char **status);
int req_install_capsule(astrid_req *r, json_t **data, const char **status);
int req_update_capsule(astrid_req *r, json_t **data, const char **status);
int req_remove_capsule(astrid_req *r, json_t **data, const char **status);
int req_set_capsule_config(astrid_req *r, json_t **data, const char **status);
int req_collect_garbage(astrid_req *r, json_t **data, const char **status);
int req_approve(astrid_req *r, json_t **data, const char **status);
int req_list_approvals(astrid_req *r, json_t **data, const char **status);

#endif
