/* The host side of the capsule ABI (docs/abi.md): one host module per WIT
 * interface, every function present (those of later issues answer an error
 * naming what is missing), and the per-invocation context they run under.
 *
 * Every host function receives the astrid_wasm_instance; its host ctx is
 * the astrid_invocation the caller (the kernel's capsule runtime) set up
 * for this one call: the invoking principal's KV namespace, home, log and
 * secrets. Nothing in here keeps state between invocations.
 *
 * Ownership: the env and manifest are borrowed for the invocation.
 */
#ifndef ASTRID_CAPSULE_HOST_H
#define ASTRID_CAPSULE_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "astrid/err.h"
#include "lib/manifest/manifest.h"
#include "capsule/wasm/engine.h"

struct astrid_kv;
struct astrid_bus;
struct astrid_sub;
struct astrid_msg;
typedef struct astrid_invocation astrid_invocation;

/* One HTTP header; both strings heap-owned by whoever owns the array. */
typedef struct astrid_http_header {
    char *key, *value;
} astrid_http_header;

/* A capsule's request, borrowed from the host function for the call. */
typedef struct astrid_http_req {
    const char *url, *method;
    const astrid_http_header *headers;
    size_t nheaders;
    const uint8_t *body; /* NULL: none */
    size_t body_len;
} astrid_http_req;

/* A response; the callee fills it, the caller frees it with
 * astrid_http_resp_clear. */
typedef struct astrid_http_resp {
    unsigned status;
    astrid_http_header *headers;
    size_t nheaders;
    uint8_t *body;
    size_t body_len;
} astrid_http_resp;
void astrid_http_resp_clear(astrid_http_resp *r);

/* HTTP for capsules, lent by the daemon (src/kernel/capsule_http.c links
 * libcurl; programs that only install capsules leave it NULL). Every call
 * applies the gates itself: the manifest's net list, the principal's
 * egress, the SSRF filter. A stream is owned by the invocation that
 * started it until stream_close. */
typedef struct astrid_http_ops {
    int (*request)(void *ctx, const astrid_invocation *inv, const astrid_http_req *req,
                   astrid_http_resp *resp, astrid_err *err);
    /* Headers and status land in *head (body empty); NULL on error. */
    void *(*stream_start)(void *ctx, const astrid_invocation *inv, const astrid_http_req *req,
                          astrid_http_resp *head, astrid_err *err);
    /* The next chunk (malloc'd, caller frees) or *len = 0 at the end. */
    int (*stream_read)(void *stream, uint8_t **chunk, size_t *len, astrid_err *err);
    void (*stream_close)(void *stream);
    void *ctx;
} astrid_http_ops;

#define ASTRID_HTTP_MAX_STREAMS 4 /* per instance, as upstream's per-capsule cap */
#define ASTRID_NET_MAX_STREAMS 8  /* accepted unix streams per instance */

/* Output of a native process (interface process): what a call hands the
 * guest. Buffers are malloc'd by the kernel and freed by the host function
 * (astrid_proc_output_clear); bytes, not yet UTF-8 checked. */
typedef struct astrid_proc_output {
    char *out, *err; /* NULL when empty */
    size_t out_len, err_len;
    bool running;  /* read-logs: still running */
    bool has_code; /* exited (or was killed) and reaped */
    int32_t code;  /* exit status; -1 when killed by a signal */
    bool killed;   /* kill: this call killed it */
} astrid_proc_output;
void astrid_proc_output_clear(astrid_proc_output *o);

/* The process host functions' machinery, lent by the daemon
 * (src/kernel/capsule_process.c: the policy gates, the sandbox, the
 * per-principal registry). `argv` is the command split (cmd's words, then
 * the args), `cmd` the request's cmd as the gates match it. `stop` says a
 * foreground wait must end (unload or deadline). */
typedef struct astrid_proc_ops {
    int (*spawn)(void *rt, const astrid_invocation *inv, const char *cmd, const char *const *argv,
                 bool (*stop)(void *), void *stop_ctx, astrid_proc_output *out, astrid_err *err);
    int (*start)(void *rt, const astrid_invocation *inv, const char *cmd, const char *const *argv,
                 uint64_t *id, astrid_err *err);
    int (*read)(void *rt, const astrid_invocation *inv, uint64_t id, astrid_proc_output *out,
                astrid_err *err);
    int (*kill)(void *rt, const astrid_invocation *inv, uint64_t id, astrid_proc_output *out,
                astrid_err *err);
} astrid_proc_ops;

/* What the runtime lends the host functions (thread-safe services). */
typedef struct astrid_host_env {
    const char *home;      /* $ASTRID_HOME */
    const char *workspace; /* cwd:// root; NULL = the principal's home */
    struct astrid_kv *kv;  /* var/state.db */
    /* Publish `payload` (JSON text) on `topic` as `principal` from `source_id`,
     * charged to the (source, principal) token bucket. */
    int (*publish)(void *ctx, const char *topic, const char *payload, size_t len,
                   const char *source_id, const char *principal, astrid_err *err);
    void *publish_ctx;
    const astrid_http_ops *http; /* NULL: no HTTP in this program */
    struct astrid_bus *bus;      /* subscriptions; NULL: none in this program */
    /* Layer 3 for a principal a drained message switches the invocation
     * to (enabled, home on disk); also counts the delivery. 0 = admitted,
     * else -1 with the reason. NULL: every switch is refused. */
    int (*admit)(void *rt, const char *principal, bool admitted_before, char *reason, size_t n);
    /* trigger-hook: run the other capsules' interceptors matching the
     * request's "hook" topic and return their JSON answers as a JSON array
     * text in *out (malloc'd). NULL: not in this program. */
    int (*trigger)(void *rt, const astrid_invocation *inv, const char *request, size_t len,
                   char **out, astrid_err *err);
    /* uplinks (the daemon's per-capsule registry; NULL: none here).
     * register: validated (name, platform lower-cased, profile) -> id.
     * send: *delivered false when the inbound path is full (rate). */
    int (*uplink_register)(void *rt, const astrid_invocation *inv, const char *name,
                           const char *platform, const char *profile, char id[37], astrid_err *err);
    int (*uplink_send)(void *rt, const astrid_invocation *inv, const char *id, const char *user,
                       const char *content, bool *delivered, astrid_err *err);
    /* signal-ready: the capsule (a run loop) is ready; NULL: ignored. */
    void (*signal_ready)(void *rt);
    void *rt;
    /* A private capsule (its owner lacks capsule:shared): its
     * subscriptions deliver only messages its owner published. */
    bool owner_only;
    /* check-capsule-capability: is manifest flag `cap` set for the loaded
     * capsule whose runtime UUID is `uuid`? An unknown UUID or capability
     * is 0 with *out = false. NULL: no capsule registry in this program
     * (the host function then answers an error). */
    int (*capsule_flag)(void *ctx, const char *uuid, const char *cap, bool *out);
    void *capsule_flag_ctx;
    /* max_storage_bytes (store/storage.h): charge `delta` bytes (negative =
     * credit, always accepted) to `principal`; 0 = accepted, else -1 with
     * the quota error. `dropped`: a capsule log line of `principal` was
     * dropped for the quota (log has no error channel). NULL: nothing is
     * charged in this program. */
    int (*storage_charge)(void *ctx, const char *principal, int64_t delta, astrid_err *err);
    void (*storage_dropped)(void *ctx, const char *principal, const char *capsule);
    void *storage_ctx;
    /* interface process (its ctx is `rt`); NULL: no native processes in
     * this program (the host functions then answer an error). */
    const astrid_proc_ops *proc;
    /* request-approval and elicit: the daemon's security gate
     * (kernel/gate.h), which may block the calling thread until the
     * invoking principal's human answers (or the timeout denies).
     * approval: *approved is the decision; -1 only when the gate could not
     * decide. elicit: `field_json` is the prompt's field object, *value
     * malloc'd (caller frees). NULL: not in this program (the host
     * functions answer an error). */
    int (*approval)(void *ctx, const astrid_invocation *inv, const char *action,
                    const char *resource, bool *approved, astrid_err *err);
    int (*elicit)(void *ctx, const astrid_invocation *inv, const char *field_json, char **value,
                  astrid_err *err);
    void *gate_ctx;
    /* cwd:// writes go to the invoking principal's copy-on-write overlay
     * (src/vfs/overlay.h); NULL: straight to the workspace (programs
     * without a kernel). */
    struct astrid_overlay_registry *overlays;
} astrid_host_env;

/* One subscription an instance holds (ipc-subscribe, or an interceptor of
 * a run-loop capsule: runtime-owned). Messages drained from the bus but not
 * yet handed to the guest (a batch is cut where the principal changes)
 * wait in `pending` (one reference each). */
typedef struct astrid_inv_sub {
    uint64_t handle;
    struct astrid_sub *sub;
    bool runtime_owned;
    char *topic, *action; /* action: runtime-owned only */
    const struct astrid_msg **pending;
    size_t npending, pending_off, pending_cap;
    uint64_t seen_dropped; /* bus drops already reported as `lagged` */
} astrid_inv_sub;

#define ASTRID_MAX_SUBSCRIPTIONS 128      /* per instance, ipc-subscribe */
#define ASTRID_MAX_INTERCEPTOR_HANDLES 64 /* run-loop capsules */

struct astrid_invocation {
    const astrid_host_env *env;
    const astrid_manifest *manifest;
    const char *capsule;       /* manifest name (CapsuleId) */
    char source_id[37];        /* the capsule's runtime UUID */
    char principal[65];        /* the invoking principal */
    bool has_caller;           /* triggered by a message */
    char caller_principal[65]; /* "" when the message carried none */
    char caller_source[37];
    char caller_time[40]; /* RFC 3339 */
    char kv_ns[160];      /* "{principal}:capsule:{capsule}" */
    char owner[65];       /* the capsule's owner */
    /* The principal the instance was started as (a run loop: its owner;
     * an interceptor: the message's principal): the context of an empty
     * drain and of a system message's batch. Never the owner for an
     * interceptor invoked by an agent, or an empty ipc-recv would let the
     * agent's invocation act as the owner. */
    char base[65];
    /* Resources the guest holds by handle, released by
     * astrid_invocation_release when the instance goes. */
    struct {
        uint64_t handle;
        void *stream;
    } http_streams[ASTRID_HTTP_MAX_STREAMS];
    uint64_t next_handle;
    astrid_inv_sub *subs;
    size_t nsubs;
    /* net: the instance's unix listener (-1: none) and its streams. */
    int net_listener;
    struct {
        uint64_t handle;
        int fd;
    } net_streams[ASTRID_NET_MAX_STREAMS];
};

/* Fill the principal-derived fields (kv namespace). */
void astrid_invocation_init(astrid_invocation *inv, const astrid_host_env *env,
                            const astrid_manifest *m, const char *source_id, const char *principal);

/* Close every resource the instance still holds (HTTP streams,
 * subscriptions and their pending messages, the unix listener and its
 * streams: astrid_net_release). */
void astrid_invocation_release(astrid_invocation *inv);
void astrid_net_release(astrid_invocation *inv);

/* Subscribe the invocation to `pattern` (validated by the caller; the
 * runtime uses this for a run loop's interceptor handles). */
int astrid_invocation_subscribe(astrid_invocation *inv, const char *pattern, const char *action,
                                bool runtime_owned, uint64_t *handle, astrid_err *err);
/* Run under `principal` (the publisher of a drained message) with that
 * message as the caller; principal NULL = back to the owner, no caller
 * (an empty drain: nobody's context may leak into the next host call). */
void astrid_invocation_switch(astrid_invocation *inv, const char *principal,
                              const struct astrid_msg *caller);

/* The host modules to give the engine (astrid:capsule/<iface>@0.1.0 x11),
 * generated from wit/astrid.wit with the glue (host_glue.c). */
extern const astrid_wasm_host_module astrid_capsule_host_modules[];
extern const size_t astrid_capsule_host_nmodules;

/* Charge `delta` bytes of storage to the invoking principal (env's
 * storage_charge; 0 when the program charges nothing). */
int astrid_invocation_charge(const astrid_invocation *inv, int64_t delta, astrid_err *err);
/* The same as an astrid_wasi_config charge callback (user = the invocation). */
int astrid_invocation_wasi_charge(void *inv, int64_t delta);

/* Capsule logs rotate by size: a file reaching ASTRID_CAPSULE_LOG_MAX is
 * renamed NAME.log.1 (older ones shift to .2, .3; the oldest beyond
 * ASTRID_CAPSULE_LOG_KEEP is deleted, crediting the quota). */
#define ASTRID_CAPSULE_LOG_MAX (10u << 20)
#define ASTRID_CAPSULE_LOG_KEEP 3
#define ASTRID_CAPSULE_LOG_LINE_MAX (64u << 10) /* longer messages are cut */

/* Append a line to home/{principal}/.local/log/{capsule}/{YYYY-MM-DD}.log
 * ("{RFC 3339 UTC with ms} {LEVEL} [{capsule}] {message}"), charged to the
 * principal's storage quota; over the quota the line is dropped (and the
 * env told). */
void astrid_capsule_log(const astrid_invocation *inv, const char *level, const char *msg,
                        size_t len);

#endif
