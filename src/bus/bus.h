/* The in-process IPC bus (reference §4.3–4.6, DESIGN.md §3). Thread-safe.
 *
 * Messages: astrid_msg is refcounted and immutable once published. Topic,
 * principal and payload live in the same allocation as the header, so a
 * 256-byte payload costs one malloc. The payload is bytes; `is_json` says the
 * bytes are a JSON object text (the socket layer embeds them as the
 * IpcMessage "payload"). seq is stamped at publish from a counter starting at
 * 1; timestamp is CLOCK_REALTIME ns at publish.
 *
 * Ownership: astrid_bus_publish copies its inputs. astrid_sub_pop/try_pop
 * hand the caller one reference (astrid_msg_unref when done). astrid_sub
 * objects are owned by the caller: astrid_sub_close() detaches and wakes
 * waiters, astrid_sub_free() (once no thread uses it) releases it.
 *
 * Locks: bus->subs_lock (rwlock) guards the subscriber list; each sub's
 * `lock` guards its ring; bus->icpt_lock (rwlock) guards interceptors and is
 * held for reading while a chain runs (so callbacks must not register or
 * unregister interceptors); bus->rate_lock guards the token buckets.
 */
#ifndef ASTRID_BUS_BUS_H
#define ASTRID_BUS_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "astrid/err.h"

#define ASTRID_BUS_MAX_PAYLOAD (5u * 1024u * 1024u)    /* "Payload too large" */
#define ASTRID_BUS_DEFAULT_QUOTA (10u * 1024u * 1024u) /* bytes/s, per (source, principal) */
#define ASTRID_BUS_DEFAULT_CAPACITY 1024
#define ASTRID_INTERCEPTOR_DEFAULT_PRIORITY 100

typedef struct astrid_bus astrid_bus;
typedef struct astrid_sub astrid_sub;

typedef struct astrid_msg {
    uint64_t seq;
    int64_t timestamp_ns; /* CLOCK_REALTIME */
    const char *topic;
    const char *principal; /* NULL = system event */
    char source_id[37];    /* UUID text; nil UUID when unset */
    bool is_json;
    const uint8_t *payload; /* followed by a NUL not counted in len */
    size_t len;
    /* Private delivery (docs/wire.md): set by the kernel only, never from a
     * client frame or a capsule. A message that is addressed or on a private
     * topic (astrid_topic_privacy_of) is `restricted`: the bus hands it only
     * to `private_router` subscriptions, which deliver it to its addressee
     * (or to nobody when it has none). */
    char to_source[37];       /* addressee connection (its source UUID); "" = none */
    const char *to_principal; /* addressee principal's connections; NULL = none */
    bool restricted;
    bool direct; /* the publisher already handed it to its addressee: routers skip it */
    /* private */
    _Atomic unsigned refs_;
    bool pooled_;
    struct astrid_bus_pool *pool_;
} astrid_msg;

void astrid_msg_ref(const astrid_msg *m);
void astrid_msg_unref(const astrid_msg *m);

/* Clock in ns (monotonic) used by the rate limiter; replaceable for tests. */
typedef int64_t (*astrid_bus_clock_fn)(void *ctx);
/* Quota in bytes/s for a principal (NULL = system); 0 means the default. */
typedef uint64_t (*astrid_bus_quota_fn)(void *ctx, const char *principal);

typedef struct astrid_bus_opts {
    astrid_bus_quota_fn quota;
    void *quota_ctx; /* optional */
    astrid_bus_clock_fn clock;
    void *clock_ctx; /* optional; default CLOCK_MONOTONIC */
    /* Recycle small message blocks (bus_pool.c): 0 = the build's default
     * (on, except under AddressSanitizer), 1 = on, -1 = off. */
    int pool;
} astrid_bus_opts;

astrid_bus *astrid_bus_new(const astrid_bus_opts *opts, astrid_err *err);
/* All subscriptions must have been freed and every message reference
 * released (messages return their memory to the bus's pool). */
void astrid_bus_free(astrid_bus *bus);

#define ASTRID_PUB_RATE_LIMIT                                                                      \
    1u                       /* apply the (source, principal) token bucket (guest publishes)       \
                              */
#define ASTRID_PUB_DIRECT 2u /* astrid_msg.direct: already written to its addressee */

typedef struct astrid_pub {
    const char *topic; /* validated: no wildcard, <= 256 B, <= 8 segments */
    const void *payload;
    size_t len; /* <= ASTRID_BUS_MAX_PAYLOAD */
    bool is_json;
    const char *source_id; /* NULL = nil UUID */
    const char *principal; /* NULL = system */
    unsigned flags;
    const astrid_msg **msg_out; /* optional: a reference to the published message */
    /* Addressee (kernel publishers only; see astrid_msg). NULL = none. */
    const char *to_source;
    const char *to_principal;
} astrid_pub;

/* Validate, rate-limit (if flagged), stamp seq and deliver to every matching
 * subscription. Never blocks on a full queue (see overflow policy). Errors:
 * ASTRID_E_INVALID bad topic, ASTRID_E_LIMIT "Payload too large" /
 * "Rate limit exceeded". *seq_out (optional) gets the stamped seq. */
int astrid_bus_publish(astrid_bus *bus, const astrid_pub *p, uint64_t *seq_out, astrid_err *err);

/* The rate-limit check alone (charges `len` bytes when it passes). */
int astrid_bus_rate_check(astrid_bus *bus, const char *source_id, const char *principal, size_t len,
                          astrid_err *err);

typedef enum astrid_overflow {
    ASTRID_OVERFLOW_DROP_OLDEST = 0, /* like upstream's Lagged: the reader loses the oldest */
    ASTRID_OVERFLOW_DROP_NEWEST,
} astrid_overflow;

/* Called from the publisher's thread (the bus subscriber list read-locked) when the queue goes
 * from empty to non-empty. Must be cheap; must not subscribe or close subs. */
typedef void (*astrid_sub_wake_fn)(void *ctx);

typedef struct astrid_sub_opts {
    size_t capacity; /* 0 = ASTRID_BUS_DEFAULT_CAPACITY */
    astrid_overflow overflow;
    astrid_sub_wake_fn wake;
    void *wake_ctx;
    bool want_eventfd; /* readable while the queue is non-empty (edge: drained on empty pop) */
    /* Only messages whose topic some registered interceptor matches (the
     * dispatcher's feed: other messages never wake it). */
    bool intercepted_only;
    /* Also receive restricted messages (private topic or addressed): only
     * for kernel routers that deliver them to their addressee themselves
     * (the socket fan-out). Every other subscription never sees them. */
    bool private_router;
    /* Non-NULL: only messages this principal published (system events,
     * which have none, are not delivered either). Copied. A private
     * capsule's subscriptions (docs/capsules.md). */
    const char *only_principal;
    /* Non-NULL: asked (in the publisher's thread, the subscriber list
     * read-locked) about each unrestricted message the pattern matched;
     * false = not delivered, so it never wakes the reader (the federation
     * exporter takes only its allow-listed, non-imported messages). Must be
     * cheap, must not block or touch the bus. */
    bool (*accept)(void *ctx, const astrid_msg *m);
    void *accept_ctx;
} astrid_sub_opts;

/* `pattern` uses the subscription matcher (trailing ".*" = one or more);
 * NULL receives every topic (the kernel's own feeds: socket fan-out and the
 * interceptor dispatcher). */
astrid_sub *astrid_bus_subscribe(astrid_bus *bus, const char *pattern, const astrid_sub_opts *opts,
                                 astrid_err *err);
/* NULL when empty. */
const astrid_msg *astrid_sub_try_pop(astrid_sub *s);
/* Wait up to timeout_ms (<0 forever). 0 with *out set; ASTRID_E_TIMEOUT;
 * ASTRID_E_NOTFOUND once closed and drained. */
int astrid_sub_pop(astrid_sub *s, int timeout_ms, const astrid_msg **out, astrid_err *err);
/* Wait like astrid_sub_pop for the first message, then take whatever else
 * is queued, up to `max`, under one lock. Returns how many were stored in
 * out[] (0 on timeout or once closed and drained); one reference each. */
size_t astrid_sub_pop_batch(astrid_sub *s, int timeout_ms, const astrid_msg **out, size_t max);
int astrid_sub_eventfd(const astrid_sub *s); /* -1 unless want_eventfd */

typedef struct astrid_sub_stats {
    uint64_t delivered, dropped;
    size_t queued;
} astrid_sub_stats;
void astrid_sub_get_stats(astrid_sub *s, astrid_sub_stats *st);

void astrid_sub_close(astrid_sub *s); /* detach from the bus, wake waiters */
void astrid_sub_free(astrid_sub *s);  /* closes if needed, drops queued messages */

typedef struct astrid_bus_stats {
    uint64_t published, delivered, dropped, rate_limited, rejected;
    size_t subscribers, buckets;
} astrid_bus_stats;
void astrid_bus_get_stats(astrid_bus *bus, astrid_bus_stats *st);

/* ---------------------------------------------------------- interceptors */
typedef enum astrid_icpt_action {
    ASTRID_ICPT_CONTINUE, /* data (if non-empty) replaces the payload for the next one */
    ASTRID_ICPT_FINAL,    /* stop the chain; data is the final payload */
    ASTRID_ICPT_DENY,     /* stop the chain; reason */
    ASTRID_ICPT_SKIP,     /* NotSupported: as if not registered */
} astrid_icpt_action;

typedef struct astrid_icpt_result {
    astrid_icpt_action action;
    uint8_t *data; /* malloc'd by the callback; the chain takes ownership */
    size_t len;
    char *reason; /* DENY: malloc'd by the callback (NULL = "denied by interceptor") */
} astrid_icpt_result;

/* Return 0 with *out filled, or -1 (an error: logged by the caller, the
 * chain continues with the unchanged payload). */
typedef int (*astrid_interceptor_fn)(void *ctx, const astrid_msg *msg, const uint8_t *payload,
                                     size_t len, astrid_icpt_result *out);

/* `pattern` uses astrid_topic_matches (equal segment counts). Returns an id
 * (> 0) for astrid_bus_unintercept, or 0 on error. Equal priorities fire in
 * registration order. */
uint64_t astrid_bus_intercept(astrid_bus *bus, const char *pattern, int priority,
                              astrid_interceptor_fn fn, void *ctx, astrid_err *err);
int astrid_bus_unintercept(astrid_bus *bus, uint64_t id);

typedef struct astrid_chain_result {
    astrid_icpt_action action; /* CONTINUE when the chain ran out, else FINAL/DENY */
    uint8_t *payload;          /* the payload after the chain (malloc'd, caller frees) */
    size_t len;
    char *reason; /* DENY reason (malloc'd, caller frees) */
    unsigned invoked, errors;
    uint64_t stopped_by; /* interceptor id that returned FINAL/DENY, else 0 */
} astrid_chain_result;

/* Run every interceptor matching msg->topic in priority order on the
 * caller's thread. Returns -1 only on allocation failure. */
int astrid_bus_dispatch(astrid_bus *bus, const astrid_msg *msg, astrid_chain_result *res,
                        astrid_err *err);
void astrid_chain_result_free(astrid_chain_result *res);
/* Fan-out instead of a chain (trigger-hook): call every interceptor
 * matching msg->topic whose ctx `skip` does not reject, each with the
 * original payload, and hand each result to `collect` (which owns its data
 * and reason). Sequential, on the caller's thread; may be called from
 * inside a chain. Returns how many were called. */
typedef bool (*astrid_icpt_skip_fn)(void *skip_ctx, void *icpt_ctx);
typedef void (*astrid_icpt_collect_fn)(void *ctx, int rc, astrid_icpt_result *r);
unsigned astrid_bus_fanout(astrid_bus *bus, const astrid_msg *msg, astrid_icpt_skip_fn skip,
                           void *skip_ctx, astrid_icpt_collect_fn collect, void *collect_ctx);
/* The lane of msg's chain: `key_of` is asked for each interceptor matching
 * msg->topic, in priority order, and the first non-NULL answer is returned
 * (NULL when none). Called under the interceptor lock, so key_of may read
 * the interceptor's ctx but must not register or unregister. */
typedef void *(*astrid_icpt_key_fn)(void *icpt_ctx, const astrid_msg *msg);
void *astrid_bus_chain_key(astrid_bus *bus, const astrid_msg *msg, astrid_icpt_key_fn key_of);
/* Does any registered interceptor match `topic`? */
bool astrid_bus_intercepted(astrid_bus *bus, const char *topic);

#endif
