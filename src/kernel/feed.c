/* The bus inside the daemon (DESIGN.md §3): every message — from a client,
 * the kernel or a capsule — is published on k->bus, which stamps its seq
 * and charges the sender's token bucket. Two kernel subscriptions take
 * every topic: `conn_feed`, drained on the loop thread into the sockets of
 * subscribed connections (and the only one that receives restricted
 * messages — replies, private events — which it hands to their addressee
 * alone), and `icpt_feed`, routed into per-principal lanes
 * whose interceptor chains a pool of workers runs (dispatch.c). Both queues are bounded and drop
 * the oldest message when full (counted in the bus stats), so no publisher ever waits on a slow
 * reader. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "astrid/jsonsafe.h"
#include "astrid/profile.h"
#include "astrid/topic.h"
#include "kernel/dispatch.h"
#include "kernel/kernel.h"

#define FEED_CAPACITY 65536 /* messages queued for the loop / the dispatcher */
#define FEED_BATCH 256

/* Token bucket size for a principal: its profile's max_ipc_throughput_bytes
 * (0 = the bus default). Unknown principals get the default: they cannot
 * reach the bus anyway (the handshake and capsule context refuse them). */
static uint64_t principal_quota(void *ctx, const char *principal)
{
    astrid_kernel *k = ctx;
    if (!principal)
        return 0;
    astrid_err err;
    const astrid_profile *p = astrid_profile_cache_get(k->profiles, principal, &err);
    if (!p)
        return 0;
    uint64_t q = p->quotas.max_ipc_throughput_bytes;
    astrid_profile_release(p);
    return q;
}

/* Publisher's thread, when conn_feed turns non-empty. Publishes made on the
 * loop thread itself (replies, client messages) are drained by the prepare
 * hook before the loop next blocks: no eventfd round trip for them. */
static void on_feed_wake(void *ctx)
{
    astrid_kernel *k = ctx;
    if (!pthread_equal(pthread_self(), k->loop_thread))
        uv_async_send(&k->feed_async);
}

static void drain_feed(astrid_kernel *k)
{
    const astrid_msg *batch[FEED_BATCH];
    size_t n;
    /* Bounded per wake-up so a flood cannot starve the sockets' reads. */
    for (int rounds = 0; rounds < 16; rounds++) {
        n = astrid_sub_pop_batch(k->conn_feed, 0, batch, FEED_BATCH);
        if (n == 0)
            return;
        for (size_t i = 0; i < n; i++) {
            astrid_server_fanout(k, batch[i]);
            astrid_msg_unref(batch[i]);
        }
    }
    uv_async_send(&k->feed_async); /* more left: come back after other events */
}

static void on_feed_async(uv_async_t *a)
{
    drain_feed(a->data);
}

static void on_feed_prepare(uv_prepare_t *p)
{
    drain_feed(p->data);
}

int astrid_kernel_bus_start(astrid_kernel *k, astrid_err *err)
{
    astrid_bus_opts bo = {.quota = principal_quota, .quota_ctx = k};
    if (!(k->bus = astrid_bus_new(&bo, err)))
        return -1;
    astrid_sub_opts co = {.capacity = FEED_CAPACITY,
                          .overflow = ASTRID_OVERFLOW_DROP_OLDEST,
                          .wake = on_feed_wake,
                          .wake_ctx = k,
                          .private_router = true};
    astrid_sub_opts io = {.capacity = FEED_CAPACITY,
                          .overflow = ASTRID_OVERFLOW_DROP_OLDEST,
                          .intercepted_only = true};
    k->loop_thread = pthread_self();
    if (uv_async_init(k->loop, &k->feed_async, on_feed_async) != 0 ||
        uv_prepare_init(k->loop, &k->feed_prepare) != 0)
        return astrid_err_set(err, ASTRID_E_INTERNAL, "uv_async_init/uv_prepare_init failed");
    k->feed_async.data = k;
    k->feed_prepare.data = k;
    uv_prepare_start(&k->feed_prepare, on_feed_prepare);
    uv_unref((uv_handle_t *)&k->feed_prepare);
    k->feed_started = true;
    if (!(k->conn_feed = astrid_bus_subscribe(k->bus, NULL, &co, err)) ||
        !(k->icpt_feed = astrid_bus_subscribe(k->bus, NULL, &io, err)))
        return -1;
    if (!(k->dispatch = astrid_dispatch_start(k, err)))
        return -1;
    return 0;
}

/* Loop thread, while stopping: the async handle closes with the others. */
void astrid_kernel_bus_stop(astrid_kernel *k)
{
    if (k->icpt_feed)
        astrid_sub_close(k->icpt_feed);
    astrid_dispatch_stop(k->dispatch);
    k->dispatch = NULL;
    astrid_sub_free(k->icpt_feed);
    astrid_sub_free(k->conn_feed);
    k->icpt_feed = k->conn_feed = NULL;
    astrid_bus_free(k->bus);
    k->bus = NULL;
}

int astrid_kernel_bus_publish(astrid_kernel *k, const char *topic, const char *payload, size_t len,
                              const char *source_id, const char *principal, unsigned flags,
                              uint64_t *seq, astrid_err *err)
{
    /* Clients and capsules never speak on the kernel's private topics: a
     * forged reply or approval would reach its addressee as the kernel's. */
    astrid_topic_privacy priv = astrid_topic_privacy_of(topic);
    if (priv == ASTRID_TOPIC_PRIVATE_OUT ||
        (priv == ASTRID_TOPIC_PRIVATE_IN && !(flags & ASTRID_KPUB_CLIENT_INGRESS)))
        return astrid_err_set(err, ASTRID_E_PERM,
                              "%s is a private kernel topic (replies and private events): "
                              "%s",
                              topic,
                              priv == ASTRID_TOPIC_PRIVATE_OUT
                                  ? "only the kernel publishes there"
                                  : "only a connected client may answer there");
    astrid_pub p = {.topic = topic,
                    .payload = payload,
                    .len = len,
                    .is_json = true,
                    .source_id = source_id ? source_id : k->session,
                    .principal = principal,
                    .flags = flags};
    return astrid_bus_publish(k->bus, &p, seq, err);
}

int astrid_kernel_publish_to(astrid_kernel *k, const char *to_source, const char *to_principal,
                             const char *topic, const json_t *payload, const char *principal,
                             astrid_err *err)
{
    if ((!to_source || !*to_source) && !to_principal)
        return astrid_err_set(err, ASTRID_E_INVALID, "a private message needs an addressee");
    char *text = astrid_json_dumps(payload, JSON_COMPACT);
    if (!text)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    astrid_pub p = {.topic = topic,
                    .payload = text,
                    .len = strlen(text),
                    .is_json = true,
                    .source_id = k->session,
                    .principal = principal,
                    .to_source = to_source,
                    .to_principal = to_principal};
    int rc = astrid_bus_publish(k->bus, &p, NULL, err);
    free(text);
    return rc;
}

/* JSON string literal of `s` into buf (topic and principal are validated
 * ASCII, but escape anyway: the frame must stay JSON whatever they hold). */
static size_t json_quote(char *out, const char *s)
{
    size_t n = 0;
    out[n++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            out[n++] = '\\';
            out[n++] = (char)*p;
        } else if (*p < 0x20) {
            n += (size_t)sprintf(out + n, "\\u%04x", *p);
        } else {
            out[n++] = (char)*p;
        }
    }
    out[n++] = '"';
    return n;
}

char *astrid_msg_frame(const astrid_msg *m, size_t *len)
{
    size_t tl = strlen(m->topic), pl = m->principal ? strlen(m->principal) : 0;
    /* Worst case: every topic/principal byte escaped as \u00XX (6 bytes). */
    size_t cap = 4 + 200 + 6 * (tl + pl) + (m->is_json ? m->len : 6 * m->len + 16);
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    char *o = buf + 4;
    size_t n = 0;
    n += (size_t)sprintf(o + n, "{\"topic\":");
    n += json_quote(o + n, m->topic);
    n += (size_t)sprintf(o + n, ",\"payload\":");
    if (m->is_json && m->len) {
        memcpy(o + n, m->payload, m->len);
        n += m->len;
    } else if (m->is_json) {
        n += (size_t)sprintf(o + n, "{}");
    } else {
        /* Raw bytes (never from a client: the socket accepts JSON only). */
        json_t *s = json_stringn((const char *)m->payload, m->len);
        char *t = s ? astrid_json_dumps(s, JSON_ENCODE_ANY) : NULL;
        json_decref(s);
        n += (size_t)sprintf(o + n, "%s", t ? t : "null");
        free(t);
    }
    n += (size_t)sprintf(o + n, ",\"source_id\":\"%s\"", m->source_id);
    if (m->principal) {
        n += (size_t)sprintf(o + n, ",\"principal\":");
        n += json_quote(o + n, m->principal);
    }
    time_t secs = (time_t)(m->timestamp_ns / 1000000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    n += strftime(o + n, 40, ",\"timestamp\":\"%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)sprintf(o + n, ".%06ldZ\",\"seq\":%llu,\"signature\":null}",
                         (long)(m->timestamp_ns % 1000000000) / 1000, (unsigned long long)m->seq);
    buf[0] = (char)((n >> 24) & 0xff);
    buf[1] = (char)((n >> 16) & 0xff);
    buf[2] = (char)((n >> 8) & 0xff);
    buf[3] = (char)(n & 0xff);
    *len = n + 4;
    return buf;
}
