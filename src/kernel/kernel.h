/* The kernel: one struct owns every piece of daemon state.
 *
 * Threads:
 *  - the libuv loop thread (main thread) owns the listening socket, every
 *    connection, the timers (handshake deadlines, idle monitor), signal
 *    handling and the management/admin request handlers; it drains
 *    `conn_feed` (woken through `feed_async`) and writes each bus message to
 *    the connections whose subscriptions match (private messages: their
 *    addressee only, server.c). Fields below without a
 *    "thread-safe" note belong to it alone.
 *  - the dispatch router (dispatch.c) drains `icpt_feed` into one FIFO lane
 *    per principal; 4 chain workers run the lanes' interceptor chains
 *    (astrid_bus_dispatch), each principal's in order, different
 *    principals in parallel: capsule handlers never run on the loop
 *    thread, and one agent's slow guest cannot stall another agent.
 *  - the audit writer thread (audit.c) and the engine's watchdog thread.
 *  - one run thread per run-loop capsule (started by capsule/invoke.c for
 *    capsule_run.c): only that guest's `run`; joined by the loop thread
 *    on unload.
 *  - one supervisor thread per capsule background process
 *    (capsule_process.c): launches it, reads its output, reaps it; joined
 *    by kill, by the read-logs that collects the exit, or at unload.
 *  - capsule threads (run loops, workers) publish with
 *    astrid_kernel_bus_publish(), which is thread-safe.
 *  - a capsule invocation that asks a human (request-approval, elicit)
 *    blocks its own thread (chain worker or run loop) in the gate until
 *    the answer arrives on the loop thread (gate.h, approvals.c).
 *  - one job thread per capsule write in progress (InstallCapsule and the
 *    other capsule management writes, req_capsule.c): the compile, the
 *    lifecycle hook and the file writes; the loop thread joins it, reloads
 *    and replies.
 *  - MCP capsules (mcp_host.c): one "mcp supervisor" per MCP server
 *    process, 4 "mcp workers" per MCP capsule (its tool calls), and the
 *    MCP client's reader per process; started and joined on load/unload.
 *  - federation (federation.c, when etc/federation.toml exists): libnats's
 *    delivery thread runs the import path, a "federation exporter" seals
 *    and sends allow-listed bus messages, a "federation ticker" beats,
 *    pings and fails over (federation.h).
 *  Thread-safe members: bus, profiles, groups, audit, and klog (log_lock).
 *
 * Ownership: astrid_kernel_boot() fills a caller-provided struct;
 * astrid_kernel_shutdown() releases everything it holds.
 */
#ifndef ASTRID_KERNEL_H
#define ASTRID_KERNEL_H

#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <uv.h>

#include "astrid/crypto.h"
#include "astrid/err.h"
#include "astrid/errkind.h"
#include "astrid/policy_cache.h"
#include "astrid/uuid.h"
#include "audit/audit.h"
#include "capsule/host/host.h"
#include "capsule/sandbox/sandbox.h"
#include "bus/bus.h"

typedef struct astrid_conn astrid_conn;

typedef struct astrid_kernel_opts {
    bool ephemeral;
    bool verbose;
    const char *session;   /* session UUID; NULL = nil UUID */
    const char *workspace; /* NULL = cwd */
} astrid_kernel_opts;

typedef struct astrid_kernel {
    char home[PATH_MAX];
    char workspace[PATH_MAX];
    char sock_path[PATH_MAX];
    /* run/agents.sock: key-authenticated principals only, no token
     * (server.c); its canonical form is what clients sign */
    char agents_sock_path[PATH_MAX];
    char token_path[PATH_MAX];
    char ready_path[PATH_MAX];
    char session[ASTRID_UUID_STR_LEN];
    char token[65];
    astrid_keypair key;
    int lock_fd;
    pthread_mutex_t log_lock; /* guards log, log_day, log_bytes, log_capped (klog, any thread) */
    FILE *log;
    char log_day[16];
    uint64_t log_bytes;       /* size of today's file (log.max_file_bytes) */
    bool log_capped;          /* today's file reached the cap */
    uint64_t idle_timeout_ms; /* 0 = never */
    uint64_t last_active_ms;  /* when the connection count last dropped to 0 */
    time_t boot_time;
    uv_loop_t *loop;
    uv_pipe_t server;
    uv_pipe_t agents_server; /* run/agents.sock */
    uv_timer_t idle_timer;
    uv_timer_t stop_timer;
    uv_signal_t sigint, sigterm;
    astrid_profile_cache *profiles;       /* Layer 2 policy, loaded lazily */
    astrid_group_swap *groups;            /* hot-swappable etc/groups.toml */
    astrid_audit *audit;                  /* signed, chained, group-committed */
    struct astrid_kv *kv;                 /* var/state.db: identity, capsule KV (thread-safe) */
    struct astrid_capsule_engine *engine; /* capsule AOT engine (thread-safe) */
    astrid_http_ops http_ops;             /* capsule HTTP (capsule_http.c), read-only */
    struct kcapsule **capsules;           /* loaded capsules (loop thread; see capsules.c) */
    size_t ncapsules;
    struct astrid_capsule_index *capsule_index; /* loaded capsules by UUID (thread-safe) */
    pthread_mutex_t admin_write_lock;           /* one admin read-modify-write at a time */
    astrid_bus *bus;           /* every publish goes through it; stamps seq (thread-safe) */
    astrid_sub *conn_feed;     /* every topic -> connections, drained on the loop */
    uv_async_t feed_async;     /* wakes the loop when another thread fills conn_feed */
    uv_prepare_t feed_prepare; /* drains conn_feed before the loop blocks */
    pthread_t loop_thread;
    astrid_sub *icpt_feed;            /* every intercepted topic -> the dispatch router */
    struct astrid_dispatch *dispatch; /* lanes and chain workers (dispatch.c) */
    astrid_conn *conns;               /* intrusive list of live connections */
    size_t n_conns;                   /* authenticated connections */
    bool ephemeral;
    bool verbose;
    bool stopping;
    bool feed_started;
    /* max_storage_bytes accountant (storage.c; thread-safe) */
    struct astrid_storage *storage;
    /* capsule writes in progress (req_capsule.c; its own locks) */
    struct astrid_capsule_jobs *capsule_jobs;
    /* capsules' background processes (capsule_process.c; its own lock) */
    struct astrid_procs *procs;
    /* native subprocess sandbox (sandbox_boot.c): ASTRID_SANDBOX_POLICY and
     * the prerequisites probe, both fixed at boot (read-only afterwards) */
    astrid_sandbox_policy sandbox_policy;
    astrid_sandbox_probe sandbox_probe;
    /* the security gate: tokens, allowances, budgets, pending approvals
     * (gate.c, approvals.c; thread-safe, see gate.h) */
    struct astrid_gate *gate;
    /* per-principal copy-on-write overlays of the workspace
     * (src/vfs/overlay.h; its own locks); built at boot */
    struct astrid_overlay_registry *overlays;
    /* federation trust table, this host's name, [[map]]s (fed_trust.c;
     * thread-safe under its trust_lock) */
    struct astrid_fed_trust *fed_trust;
    /* replicated policy (fed_policy.c; NULL = off; its thread and lock,
     * fed_policy.h) */
    struct astrid_fed_policy *fed_policy;
    /* the NATS bridge (federation.c; NULL = federation off; its own
     * threads and locks, federation.h) */
    struct astrid_fed *fed;
    /* the layered configuration (config_boot.c, lib/config/config.h):
     * loaded first at boot, read-only afterwards, so any thread reads it */
    struct astrid_config *config;
} astrid_kernel;

/* Boot: layout, keys, policy files, token, lock, socket, ready file. */
int astrid_kernel_boot(astrid_kernel *k, const astrid_kernel_opts *o, astrid_err *err);

/* Refuse a workspace that is $ASTRID_HOME or lies inside it: cwd:// would
 * be the kernel's own state. One that contains the home (the `~` layout)
 * is fine; the VFS guard keeps the home out of reach. Both must exist. */
int astrid_kernel_check_workspace(const char *home, const char *workspace, astrid_err *err);
/* Run the loop until shutdown; returns the exit code. */
int astrid_kernel_run(astrid_kernel *k);
/* Begin a graceful shutdown from inside the loop. */
void astrid_kernel_request_shutdown(astrid_kernel *k, const char *reason);
/* Shutdown: move run/system.token aside (boot.c) so the next boot can reuse
 * its disk space for the new token; its token is dead once we stop. */
void astrid_kernel_retire_token(astrid_kernel *k);

/* The layered configuration (config_boot.c): defaults, system, home,
 * workspace (k->workspace/.astrid/config.toml, tighten-only), ASTRID_*
 * environment into k->config. A bad file, key or value refuses boot. */
int astrid_kernel_config_load(astrid_kernel *k, astrid_err *err);

/* Sandbox at boot (sandbox_boot.c). The policy is read first, so a bad
 * ASTRID_SANDBOX_POLICY refuses boot before anything is created; the probe
 * runs once the audit log is open: its result is logged, and policy off is
 * an audit entry saying native subprocesses run unsandboxed. */
int astrid_kernel_sandbox_policy(astrid_kernel *k, astrid_err *err);
int astrid_kernel_sandbox_probe(astrid_kernel *k, astrid_err *err);

/* Logging to log/astrid.YYYY-MM-DD.log (and stderr when verbose). */
void astrid_klog(astrid_kernel *k, const char *level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

uint64_t astrid_now_ms(void);

/* ---- storage quota (storage.c) ---- */
/* Create the accountant (after the KV store is open). */
int astrid_kernel_storage_start(astrid_kernel *k, astrid_err *err);
/* The host env's storage_charge / storage_dropped; ctx is the kernel. */
int astrid_kernel_storage_charge(void *ctx, const char *principal, int64_t delta, astrid_err *err);
void astrid_kernel_storage_dropped(void *ctx, const char *principal, const char *capsule);

/* ---- capsules' native processes (capsule_process.c) ---- */
/* The registry of background processes (before any capsule loads). */
int astrid_kernel_procs_start(astrid_kernel *k, astrid_err *err);
/* After every capsule was unloaded (which killed its processes). */
void astrid_kernel_procs_stop(astrid_kernel *k);

/* ---- the bus inside the daemon (feed.c) ---- */
/* Create the bus, its two kernel feeds and the dispatch threads. */
int astrid_kernel_bus_start(astrid_kernel *k, astrid_err *err);
/* Close the feeds, join the dispatch threads, free the bus (after the loop ended). */
void astrid_kernel_bus_stop(astrid_kernel *k);
/* Publish from any thread. `payload` is JSON object text of `len` bytes
 * (copied); `principal` is stamped as given (the caller authenticated it);
 * `source_id` NULL = the kernel (nil UUID). ASTRID_PUB_RATE_LIMIT in
 * `flags` charges the (source, principal) token bucket sized by the
 * principal's max_ipc_throughput_bytes. This is the path of clients and
 * capsules: a private topic (astrid_topic_privacy_of) is refused
 * (ASTRID_E_PERM), except a PRIVATE_IN answer with
 * ASTRID_KPUB_CLIENT_INGRESS (a client's frame); it never sets an addressee. */
#define ASTRID_KPUB_CLIENT_INGRESS (1u << 8)
int astrid_kernel_bus_publish(astrid_kernel *k, const char *topic, const char *payload, size_t len,
                              const char *source_id, const char *principal, unsigned flags,
                              uint64_t *seq, astrid_err *err);
/* Publish a kernel message to one addressee, from any thread: the
 * connection whose source UUID is `to_source`, else (to_source NULL/"")
 * the connections of `to_principal` subscribed to a matching pattern. No
 * subscription of anyone else, capsule or interceptor receives it
 * (docs/wire.md "Private delivery"). Payload is borrowed. */
int astrid_kernel_publish_to(astrid_kernel *k, const char *to_source, const char *to_principal,
                             const char *topic, const json_t *payload, const char *principal,
                             astrid_err *err);
/* The IpcMessage frame (4-byte big-endian length + JSON) of a bus message:
 * malloc'd, caller frees. NULL on allocation failure. */
char *astrid_msg_frame(const astrid_msg *m, size_t *len);

/* ---- connections (server.c) ---- */
/* Loop thread: hand one bus message to every subscribed connection, or a
 * restricted one (private topic or addressed) to its addressee only. */
void astrid_server_fanout(astrid_kernel *k, const astrid_msg *m);
/* Send an IpcMessage to one connection (json borrowed). */
void astrid_conn_send(astrid_conn *c, const json_t *msg);
const char *astrid_conn_principal(const astrid_conn *c);
/* The connection's own source UUID (the addressee of its replies). */
const char *astrid_conn_source(const astrid_conn *c);
/* Publish a kernel reply (loop thread) on the bus, addressed to `origin`
 * and written to it at once: no other connection, capsule or interceptor
 * sees it. With `origin` NULL the message is a broadcast (a private topic
 * then reaches nobody). Payload is borrowed. */
void astrid_kernel_publish(astrid_kernel *k, astrid_conn *origin, const char *topic,
                           json_t *payload, const char *principal);
int astrid_server_start(astrid_kernel *k, astrid_err *err);
void astrid_server_close_all(astrid_kernel *k);
/* Loop thread: close the connection whose source UUID is `source_id`
 * (none: nothing), logging `why`. For a reply that could not be sent: the
 * client sees the hang-up instead of waiting for ever. */
void astrid_server_close_source(astrid_kernel *k, const char *source_id, const char *why);
/* Connections per principal as [{principal, count}] sorted by name. */
json_t *astrid_server_connections_by_principal(astrid_kernel *k);

/* ---- management and admin requests: requests.c (requests.h) ---- */

/* ---- Layer 5 preamble (authz.c) ---- */
/* 0 when `principal` may use `cap`; else -1 with the PermissionError text. */
int astrid_authorize(astrid_kernel *k, const char *principal, const char *cap, char *reason,
                     size_t n);
/* The whole preamble of a request: authorize, then record the decision in
 * the audit log (durably when the request `acts`, write-behind for reads
 * and denials). 0 = go ahead; -1 = refused, `reason` is the reply text and
 * *kind its error kind (permission_denied; internal when the audit log
 * could not record the decision). */
int astrid_admit_request(astrid_kernel *k, const char *principal, const char *method,
                         const char *cap, const char *target, const json_t *params, bool acts,
                         astrid_errkind *kind, char *reason, size_t n);
/* Does the principal have a profile on disk and is it enabled? (handshake) */
int astrid_principal_admissible(astrid_kernel *k, const char *principal, char *reason, size_t n);
/* Record an allow/deny of a management/admin request. Returns -1 when the
 * record could not be made durable: the caller must then deny. */
int astrid_audit_request(astrid_kernel *k, const char *principal, const char *method,
                         const char *cap, const char *target, const json_t *params, bool allowed,
                         const char *reason);
/* The same with a chosen durability (audit.h): read-only queries and
 * denials use ASTRID_AUDIT_WRITE_BEHIND, anything that acts DURABLE. */
int astrid_audit_request_mode(astrid_kernel *k, astrid_audit_mode mode, const char *principal,
                              const char *method, const char *cap, const char *target,
                              const json_t *params, bool allowed, const char *reason);
/* The same, with why the record failed in `err` (may be NULL). */
int astrid_audit_request_why(astrid_kernel *k, astrid_audit_mode mode, const char *principal,
                             const char *method, const char *cap, const char *target,
                             const json_t *params, bool allowed, const char *reason,
                             astrid_err *err);
/* An allowed request that acts failed in its handler, so nothing changed:
 * record that outcome (durably; a failure is only logged, the action did
 * not happen either way), or the allow entry alone would read as success. */
void astrid_audit_request_failed(astrid_kernel *k, const char *principal, const char *method,
                                 const char *cap, const char *target, const json_t *params,
                                 const char *error);

#endif
