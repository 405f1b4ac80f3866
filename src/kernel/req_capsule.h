/* Capsule writes served by the daemon (docs/wire.md "Capsule management"):
 * InstallCapsule, UpdateCapsule, RemoveCapsule, SetCapsuleConfig and
 * CollectGarbage. The request pipeline (requests.c) admits the request
 * (capability + audit) and calls the row's handler, which answers later:
 * each request becomes a job on its own thread (a compile takes seconds,
 * a lifecycle hook up to 10 minutes), whose progress lines go to the
 * requesting connection alone on
 * astrid.v1.response.<suffix>.progress; the loop thread then runs the
 * requester's scoped reload and sends the reply on
 * astrid.v1.response.<suffix>, after the progress lines.
 *
 * Threads: the handlers, astrid_capsule_jobs_conn_closed and
 * astrid_capsule_jobs_stop run on the loop thread; job threads touch only
 * thread-safe kernel members (bus, profiles, groups, audit, kv, engine,
 * klog) and the job table's own locks.
 *
 * Ownership: request_id and params are borrowed (copied when kept). */
#ifndef ASTRID_KERNEL_REQ_CAPSULE_H
#define ASTRID_KERNEL_REQ_CAPSULE_H

#include "astrid/err.h"

struct astrid_kernel;
struct astrid_conn;

/* The table rows' handlers (req_install_capsule ... req_collect_garbage)
 * are declared in requests.h with the other management handlers. */

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
