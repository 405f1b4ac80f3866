/* Internal to the daemon's capsule runtime (capsules.c, capsule_run.c):
 * one loaded capsule. */
#ifndef ASTRID_KERNEL_CAPSULE_RT_H
#define ASTRID_KERNEL_CAPSULE_RT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "capsule/invoke.h"
#include "kernel/kernel.h"

#define KCAPSULE_MAX_COUNTERS 64

typedef struct kcapsule kcapsule;

typedef struct icpt_ctx {
    kcapsule *c;
    size_t index; /* into manifest->interceptors */
} icpt_ctx;

typedef struct kcounter {
    char principal[65];
    uint64_t invocations, errors, denied;
} kcounter;

enum { RUN_NONE, RUN_RUNNING, RUN_EXITED };

struct kcapsule {
    astrid_kernel *k;
    astrid_capsule *cap;          /* module and manifest (capsule/invoke.h) */
    const astrid_installed *inst; /* borrowed from cap: manifest, owner, dir */
    char source_id[ASTRID_UUID_STR_LEN];
    icpt_ctx *icpt;
    uint64_t *icpt_ids;
    size_t nicpt;
    pthread_mutex_t stats_lock; /* guards counters */
    kcounter counters[KCAPSULE_MAX_COUNTERS];
    size_t ncounters;
    /* A run-loop capsule (a real `run` export): one long-lived instance on
     * its own thread (capsule_run.c), fed by subscriptions instead of
     * interceptor registrations. Written by the loop thread before the
     * run thread starts and after it is joined; run_state is atomic. */
    bool run_loop;
    /* Serves every principal (owner holds capsule:shared), else only its
     * owner's messages (capsule_owner.c). Fixed at load, before any
     * registration. */
    bool shared;
    /* Its agent.v1.usage reports are charged to budgets: the owner holds
     * capsule:usage_report and it is no uplink (capsule_owner.c, usage.h).
     * Fixed at load. */
    bool usage_report;
    astrid_capsule_run *run;
    atomic_int run_state;
    atomic_bool ready; /* signal-ready called (run loops); others are ready once loaded */
    /* Set once at unload: new messages are skipped and running
     * invocations interrupted (astrid_capsule_interrupt). */
    atomic_bool unloading;
    /* Uplinks registered by any instance of this capsule (capsule_uplink.c). */
    pthread_mutex_t uplinks_lock; /* guards uplinks, nuplinks */
    struct kuplink *uplinks;
    size_t nuplinks;
    /* Its stdio [[mcp_server]]s (mcp_host.c); NULL when it has none. */
    struct kmcp *mcp;
    /* Its schema catalog entry: meta.json topics (capsule_schema.c), set
     * at load, immutable after, freed at unload. */
    json_t *topics;
};

/* meta.json `topics` of the install at `dir` as the catalog keeps them
 * ([{name, direction, description?, schema?}]; a new array, empty when
 * there are none or meta.json does not read). */
json_t *kcapsule_topics_load(const char *dir);

/* At load: refuse a manifest asking for what its owner does not hold
 * (the error names capsule, field and capability) and set c->shared
 * (capsule_owner.c). */
int kcapsule_owner_check(kcapsule *c, astrid_err *err);
/* Does `c` run for a message of `principal` (NULL = the system's)? */
bool kcapsule_serves(const kcapsule *c, const char *principal);

/* The services every invocation of `c` borrows. */
void kcapsule_env(kcapsule *c, astrid_host_env *env);
/* Layer 3 for `principal` (profile exists and enabled, home on disk);
 * counts a refusal. 0, or -1 with the reason. */
int kcapsule_admit(kcapsule *c, const char *principal, char *reason, size_t n);
void kcapsule_count(kcapsule *c, const char *principal, int error, int denied);

/* trigger-hook for an invocation of `rt` (capsule_hook.c; the env's
 * `trigger`). */
int kcapsule_trigger(void *rt, const astrid_invocation *inv, const char *request, size_t len,
                     char **out, astrid_err *err);

/* uplink-register / uplink-send (capsule_uplink.c; the env's callbacks);
 * kcapsule_uplinks_free at unload. */
int kcapsule_uplink_register(void *rt, const astrid_invocation *inv, const char *name,
                             const char *platform, const char *profile, char id[37],
                             astrid_err *err);
int kcapsule_uplink_send(void *rt, const astrid_invocation *inv, const char *id, const char *user,
                         const char *content, bool *delivered, astrid_err *err);
void kcapsule_uplinks_free(kcapsule *c);
/* [{id, name, platform, profile}] for ps. */
json_t *kcapsule_uplinks_json(kcapsule *c);

/* interface process (capsule_process.c; the env's `proc`);
 * kcapsule_procs_stop at unload, once no invocation of `c` can run: kill
 * and reap every background process the capsule started. */
extern const astrid_proc_ops kcapsule_proc_ops;
void kcapsule_procs_stop(kcapsule *c);

/* Tell the connection that published `msg` that an invocation of `c` on it
 * failed (`why`), privately and at once (capsule_fail.c). Any thread. */
void kcapsule_report_failure(kcapsule *c, const astrid_msg *msg, const char *why);

/* Start the run loop under the owner with the owner's memory quota
 * (astrid_capsule_run_start: instance, subscriptions, thread). */
int kcapsule_run_start(kcapsule *c, astrid_err *err);
/* Interrupt the guest, join the thread, free the instance. */
void kcapsule_run_stop(kcapsule *c);

#endif
