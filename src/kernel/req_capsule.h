/* Capsule writes served by the daemon (docs/wire.md "Capsule management"):
 * InstallCapsule, UpdateCapsule, RemoveCapsule, SetCapsuleConfig and
 * CollectGarbage. The router admits the request (capability + audit), then
 * hands it to one of the astrid_req_* entry points below, which answer
 * later: each request becomes a job on its own thread (a compile takes
 * seconds, a lifecycle hook up to 10 minutes), whose progress lines go to
 * the requesting connection alone on
 * astrid.v1.response.<suffix>.progress; the loop thread then runs the
 * requester's scoped reload and sends the reply on
 * astrid.v1.response.<suffix>, after the progress lines.
 *
 * Threads: the entry points, astrid_capsule_jobs_conn_closed and
 * astrid_capsule_jobs_stop run on the loop thread; job threads touch only
 * thread-safe kernel members (bus, profiles, groups, audit, kv, engine,
 * klog) and the job table's own locks.
 *
 * Ownership: request_id and params are borrowed (copied when kept). */
#ifndef ASTRID_KERNEL_REQ_CAPSULE_H
#define ASTRID_KERNEL_REQ_CAPSULE_H

#include <jansson.h>

#include "astrid/err.h"

struct astrid_kernel;
struct astrid_conn;

/* A management handler that replies itself, later (router.c). */
typedef void (*astrid_deferred_fn)(struct astrid_kernel *k, struct astrid_conn *c,
                                   const char *suffix, json_t *request_id, json_t *params);

void astrid_req_install_capsule(struct astrid_kernel *k, struct astrid_conn *c, const char *suffix,
                                json_t *request_id, json_t *params);
void astrid_req_update_capsule(struct astrid_kernel *k, struct astrid_conn *c, const char *suffix,
                               json_t *request_id, json_t *params);
void astrid_req_remove_capsule(struct astrid_kernel *k, struct astrid_conn *c, const char *suffix,
                               json_t *request_id, json_t *params);
void astrid_req_set_capsule_config(struct astrid_kernel *k, struct astrid_conn *c,
                                   const char *suffix, json_t *request_id, json_t *params);
void astrid_req_collect_garbage(struct astrid_kernel *k, struct astrid_conn *c, const char *suffix,
                                json_t *request_id, json_t *params);

/* The job table (k->capsule_jobs): after the bus, before the server. */
int astrid_capsule_jobs_start(struct astrid_kernel *k, astrid_err *err);
/* A connection went away: its running installs give up before they
 * commit (as the CLI's own installer did when killed). */
void astrid_capsule_jobs_conn_closed(struct astrid_kernel *k, const char *source_id);
/* Shutdown, before the connections close: cancel every job, wait for them
 * (a stage already running — a compile, a hook — finishes first), drop
 * their replies, close the wake-up handle. */
void astrid_capsule_jobs_stop(struct astrid_kernel *k);

#endif
