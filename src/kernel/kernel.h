/* The kernel: one struct owns every piece of daemon state.
 *
 * Threads: the daemon runs ONE libuv loop thread (main thread) that owns the
 * listening socket, every connection, the timers (handshake deadlines, idle
 * monitor) and signal handling; request handlers run on it too. No other
 * thread touches this struct. (Capsule worker threads arrive with the
 * capsule runtime and talk to the loop through the bus.)
 *
 * Ownership: astrid_kernel_boot() fills a caller-provided struct;
 * astrid_kernel_shutdown() releases everything it holds.
 */
#ifndef ASTRID_KERNEL_H
#define ASTRID_KERNEL_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <uv.h>

#include "astrid/crypto.h"
#include "astrid/err.h"
#include "astrid/policy_cache.h"
#include "astrid/uuid.h"
#include "kernel/audit.h"

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
    char token_path[PATH_MAX];
    char ready_path[PATH_MAX];
    char session[ASTRID_UUID_STR_LEN];
    char token[65];
    astrid_keypair key;
    int lock_fd;
    FILE *log;
    char log_day[16];
    bool ephemeral;
    bool verbose;
    uint64_t idle_timeout_ms; /* 0 = never */
    uint64_t last_active_ms;  /* when the connection count last dropped to 0 */
    time_t boot_time;
    uint64_t seq;             /* IpcMessage sequence, stamped at publish */
    uv_loop_t *loop;
    uv_pipe_t server;
    uv_timer_t idle_timer;
    uv_signal_t sigint, sigterm;
    bool stopping;
    astrid_profile_cache *profiles; /* Layer 2 policy, loaded lazily */
    astrid_group_swap *groups;      /* hot-swappable etc/groups.toml */
    astrid_audit *audit;            /* signed, chained, group-committed */
    astrid_conn *conns; /* intrusive list of live connections */
    size_t n_conns;     /* authenticated connections */
} astrid_kernel;

/* Boot: layout, keys, policy files, token, lock, socket, ready file. */
int astrid_kernel_boot(astrid_kernel *k, const astrid_kernel_opts *o, astrid_err *err);
/* Run the loop until shutdown; returns the exit code. */
int astrid_kernel_run(astrid_kernel *k);
/* Begin a graceful shutdown from inside the loop. */
void astrid_kernel_request_shutdown(astrid_kernel *k, const char *reason);

/* Logging to log/astrid.YYYY-MM-DD.log (and stderr when verbose). */
void astrid_klog(astrid_kernel *k, const char *level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

uint64_t astrid_now_ms(void);

/* ---- connections (server.c) ---- */
/* Send an IpcMessage to one connection (json borrowed). */
void astrid_conn_send(astrid_conn *c, const json_t *msg);
const char *astrid_conn_principal(const astrid_conn *c);
/* Publish a kernel message: delivered to every authenticated connection
 * whose subscriptions match, plus `origin` (may be NULL) when it is a reply
 * to that connection's request. Stamps seq. Takes a reference to payload. */
void astrid_kernel_publish(astrid_kernel *k, astrid_conn *origin, const char *topic,
                           json_t *payload, const char *principal);
int astrid_server_start(astrid_kernel *k, astrid_err *err);
void astrid_server_close_all(astrid_kernel *k);
/* Connections per principal as [{principal, count}] sorted by name. */
json_t *astrid_server_connections_by_principal(astrid_kernel *k);

/* ---- management requests (router.c) ---- */
/* Handle a message on astrid.v1.request.* from `c`. */
void astrid_router_handle(astrid_kernel *k, astrid_conn *c, const char *topic, json_t *payload);

/* ---- Layer 5 preamble (authz.c) ---- */
/* 0 when `principal` may use `cap`; else -1 with the PermissionError text. */
int astrid_authorize(astrid_kernel *k, const char *principal, const char *cap, char *reason,
                     size_t n);
/* Does the principal have a profile on disk and is it enabled? (handshake) */
int astrid_principal_admissible(astrid_kernel *k, const char *principal, char *reason,
                                size_t n);
/* Record an allow/deny of a management/admin request. Returns -1 when the
 * record could not be made durable: the caller must then deny. */
int astrid_audit_request(astrid_kernel *k, const char *principal, const char *method,
                         const char *cap, const char *target, const json_t *params, bool allowed,
                         const char *reason);

#endif
