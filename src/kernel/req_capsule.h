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

#include <jansson.h>
#include <stddef.h>

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

/* The install directory of capsule `name` as `agent` sees it: its own
 * home/{agent}/.local/capsules/{name}, else default's (capsules are
 * installed once and shared, reference v0.6), else the daemon's
 * workspace's .astrid/capsules/{name}. ASTRID_E_NOTFOUND when none has a
 * meta.json. Any thread. */
int astrid_capsule_dir_for(struct astrid_kernel *k, const char *agent, const char *name, char *dir,
                           size_t n, astrid_err *err);

/* One read-modify-write of home/{agent}/.config/env/{name}.env.json under
 * the env lock (the lock SetCapsuleConfig and remove --purge hold): `edit`
 * gets the object (empty when the file is missing; a malformed file is an
 * error and never overwritten) and returns 1 when it changed it (then it
 * is written atomically, 0600), 0 when not, -1 with err. Any thread. */
typedef int (*astrid_env_edit_fn)(json_t *vals, void *user, astrid_err *err);
int astrid_capsule_env_edit(struct astrid_kernel *k, const char *agent, const char *name,
                            astrid_env_edit_fn edit, void *user, astrid_err *err);

#endif
