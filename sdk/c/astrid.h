/* Astrid C guest SDK: write a capsule in a few lines of C.
 *
 *   #include <astrid.h>
 *   static astrid_action on_ping(const astrid_event *ev, astrid_reply *out) {
 *       astrid_log(ASTRID_LOG_INFO, "ping");
 *       return astrid_publish("demo.v1.pong", "{\"ok\":true}", NULL) == 0
 *                  ? ASTRID_CONTINUE : ASTRID_DENY;
 *   }
 *   ASTRID_INTERCEPTOR("on_ping", on_ping)
 *
 * Build with `astrid-build DIR` (clang --target=wasm32-wasi, reactor
 * model). The host interface is wit/astrid.wit; its core-wasm lowering is
 * docs/abi.md. This SDK wraps the calls most capsules need; every host
 * function is also declared, generated from the WIT, by astrid_imports.h
 * (included below; astrid-build provides it): astrid_import_<iface>_<fn>
 * with its flattened arguments and ASTRID_IMPORT_<FN>_RET_SIZE/_ALIGN for
 * the result area it fills (layouts in docs/abi.md).
 *
 * Ownership: every char ** / uint8_t ** out-parameter receives memory the
 * caller frees with free(). Strings the host returns are NUL-terminated
 * copies (their length is also given where binary data may hold NULs).
 * Error convention: functions return 0, or -1 with *err (when err is not
 * NULL) set to the host's message (caller frees).
 * A capsule instance runs one call at a time; the SDK is not thread-safe.
 */
#ifndef ASTRID_SDK_H
#define ASTRID_SDK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include <astrid_imports.h>

#define ASTRID_SDK_VERSION "0.1.0"

/* ---- sys ---- */
typedef enum astrid_log_level {
    ASTRID_LOG_TRACE,
    ASTRID_LOG_DEBUG,
    ASTRID_LOG_INFO,
    ASTRID_LOG_WARN,
    ASTRID_LOG_ERROR,
} astrid_log_level;

/* To the invoking agent's capsule log (home/{agent}/.local/log/{capsule}/). */
void astrid_log(astrid_log_level level, const char *message);
/* A copy of len bytes of s safe to hand to the host as a WIT string: each
 * byte not part of a valid UTF-8 sequence, and each NUL, becomes '?'
 * (same length; NUL-terminated; caller frees). */
char *astrid_utf8_lossy(const char *s, size_t len);
void astrid_logf(astrid_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
uint64_t astrid_clock_ms(void);
/* A manifest [env] value (secrets resolved per agent); "" when unset. */
int astrid_get_config(const char *key, char **value, char **err);
/* Marks a run-loop capsule ready. */
void astrid_signal_ready(void);

/* Who published the message being handled. */
typedef struct astrid_caller {
    char *principal; /* NULL when the message carried none */
    char *source_id;
    char *timestamp; /* RFC 3339 */
} astrid_caller;
int astrid_get_caller(astrid_caller *out, char **err);
void astrid_caller_free(astrid_caller *c);

/* trigger-hook: ask every other loaded interceptor capsule on `hook` (an
 * exact topic) for its answer, synchronously and as the same agent;
 * `payload_json` is a JSON object (NULL = {}). *answers receives the JSON
 * array of their Continue/Final bodies ("[]" when none answered). */
int astrid_trigger_hook(const char *hook, const char *payload_json, char **answers, char **err);

/* ---- ipc ---- */
/* Publish a JSON payload (text) on `topic`, under the manifest's ACL. */
int astrid_publish(const char *topic, const char *json, char **err);
int astrid_subscribe(const char *pattern, uint64_t *handle, char **err);

typedef struct astrid_message {
    char *topic, *payload, *source_id;
} astrid_message;
typedef struct astrid_envelope {
    astrid_message *messages;
    size_t count;
    uint64_t dropped, lagged;
} astrid_envelope;
/* Wait up to timeout_ms for messages on a subscription (run loops). */
int astrid_recv(uint64_t handle, uint64_t timeout_ms, astrid_envelope *out, char **err);
/* The same without waiting. */
int astrid_poll(uint64_t handle, astrid_envelope *out, char **err);
int astrid_unsubscribe(uint64_t handle, char **err);
void astrid_envelope_free(astrid_envelope *e);

/* ---- run loops ----
 * A capsule that defines ASTRID_RUN(fn) exports `run`: the daemon calls fn
 * once, on a thread of its own, and fn must loop forever. Its
 * [[interceptor]]s are then not called through astrid-hook-trigger but
 * delivered to subscriptions the runtime made for it (handles below);
 * each astrid_recv/astrid_poll batch comes from one principal, and host
 * calls after it (KV, files, publish, log) act as that principal. */
typedef struct astrid_handle {
    uint64_t id;
    char *action, *topic;
} astrid_handle;
int astrid_interceptor_handles(astrid_handle **out, size_t *count, char **err);
void astrid_handles_free(astrid_handle *h, size_t n);
#define ASTRID_RUN(fn)                                                                             \
    __attribute__((export_name("run"))) void astrid_run_export_(void);                             \
    void astrid_run_export_(void)                                                                  \
    {                                                                                              \
        fn();                                                                                      \
    }

/* ---- kv: the invoking agent's namespace for this capsule ---- */
/* *found false (and *value NULL) when the key is absent. */
int astrid_kv_get(const char *key, uint8_t **value, size_t *len, bool *found, char **err);
int astrid_kv_set(const char *key, const void *value, size_t len, char **err);
int astrid_kv_delete(const char *key, char **err);
/* *keys: an array of *count strings; free with astrid_strv_free. */
int astrid_kv_list_keys(const char *prefix, char ***keys, size_t *count, char **err);
void astrid_strv_free(char **v, size_t n);

/* ---- http: hosts in the manifest's `net` list ---- */
typedef struct astrid_header {
    const char *key, *value;
} astrid_header;
typedef struct astrid_http_request {
    const char *url;
    const char *method; /* NULL = "GET" */
    const astrid_header *headers;
    size_t nheaders;
    const char *body; /* NULL = none */
} astrid_http_request;
typedef struct astrid_http_response {
    uint16_t status;
    char **header_keys, **header_values;
    size_t nheaders;
    uint8_t *body; /* NUL-terminated for convenience; body_len excludes it */
    size_t body_len;
} astrid_http_response;
int astrid_http(const astrid_http_request *req, astrid_http_response *resp, char **err);
void astrid_http_response_free(astrid_http_response *r);

/* ---- interceptors ---- */
typedef enum astrid_action { ASTRID_CONTINUE, ASTRID_FINAL, ASTRID_DENY } astrid_action;

typedef struct astrid_event {
    const char *action;     /* the [[interceptor]] action that matched */
    const uint8_t *payload; /* the message payload (JSON text), NUL-terminated */
    size_t len;
} astrid_event;

/* What a handler may set: for CONTINUE/FINAL a replacement payload, for
 * DENY the reason. Set with astrid_reply_set (copied). */
typedef struct astrid_reply {
    char *data;
} astrid_reply;
void astrid_reply_set(astrid_reply *r, const char *text);

typedef astrid_action (*astrid_handler)(const astrid_event *ev, astrid_reply *out);

/* Route interceptor `action` to `fn` (at most 64 actions). */
void astrid_register(const char *action, astrid_handler fn);
/* A handler's registration at instance start (the reactor's constructors). */
#define ASTRID_INTERCEPTOR(action, fn)                                                             \
    __attribute__((constructor)) static void astrid_reg_##fn(void)                                 \
    {                                                                                              \
        astrid_register((action), (fn));                                                           \
    }

#ifdef __cplusplus
}
#endif
#endif
