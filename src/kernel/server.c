/* The socket server on the loop thread: accept, authenticate, read frames,
 * route, write, idle shutdown. See docs/wire.md for the protocol. */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "astrid/crypto.h"
#include "astrid/jsonsafe.h"
#include "astrid/version.h"
#include "astrid/topic.h"
#include "astrid/utf8.h"
#include "astrid/wire.h"
#include "astrid/trust.h"
#include "kernel/gate.h"
#include "kernel/kernel.h"
#include "kernel/req_capsule.h"
#include "kernel/requests.h"

#define HANDSHAKE_TIMEOUT_MS 5000
#define AUTH_NONCE_LEN 32
#define AGENTS_PENDING_MAX 64
#define MAX_SUBS 128
/* A burst of clients (scripts, parallel CLIs) must queue, not see EAGAIN:
 * the kernel clamps this to net.core.somaxconn (4096 by default). */
#define LISTEN_BACKLOG 4096
/* A connection whose unread output exceeds this loses broadcasts (counted)
 * rather than growing the daemon without bound; replies to its own
 * requests are still sent. */
#define CONN_MAX_QUEUED (8u << 20)
#define PUBLISH_REPLY "astrid.v1.connection.response.publish"
#define SUBSCRIBE_TOPIC "astrid.v1.connection.subscribe"
#define UNSUBSCRIBE_TOPIC "astrid.v1.connection.unsubscribe"

struct astrid_conn {
    astrid_kernel *k;
    uv_pipe_t pipe;
    uv_timer_t hs_timer;
    int open_handles;
    bool authed;
    bool closing;
    bool agents;     /* accepted on run/agents.sock: a key, never the token */
    bool challenged; /* a nonce was sent; the next frame must answer it */
    char nonce[2 * AUTH_NONCE_LEN + 1];
    char principal[65];
    /* this connection's bus source (token bucket key) and its address for
     * private delivery (astrid_msg.to_source) */
    char source_id[ASTRID_UUID_STR_LEN];
    uint64_t dropped; /* broadcasts lost to CONN_MAX_QUEUED */
    astrid_frame_reader rd;
    char *subs[MAX_SUBS];
    /* subs[i] is a frontend pattern: only this principal's messages */
    bool subs_own[MAX_SUBS];
    size_t n_subs;
    /* subscribed to approval prompts: counted by the gate as a human
     * who can answer (until the connection closes) */
    bool prompt_listener;
    astrid_conn *next, *prev;
};

const char *astrid_conn_principal(const astrid_conn *c)
{
    return c->principal;
}

const char *astrid_conn_source(const astrid_conn *c)
{
    return c->source_id;
}

static void on_handle_closed(uv_handle_t *h)
{
    astrid_conn *c = h->data;
    if (--c->open_handles > 0)
        return;
    astrid_frame_reader_free(&c->rd);
    for (size_t i = 0; i < c->n_subs; i++)
        free(c->subs[i]);
    free(c);
}

static void conn_close(astrid_conn *c, const char *why)
{
    if (c->closing)
        return;
    c->closing = true;
    astrid_kernel *k = c->k;
    if (c->prev)
        c->prev->next = c->next;
    else
        k->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    astrid_capsule_jobs_conn_closed(k, c->source_id);
    if (c->authed) {
        k->n_conns--;
        if (c->prompt_listener)
            astrid_gate_listener(k, c->principal, false);
        astrid_gate_conn_closed(k, c->principal);
        if (k->n_conns == 0)
            k->last_active_ms = astrid_now_ms();
        astrid_klog(k, "INFO", "connection closed (principal %s): %s", c->principal, why);
    }
    uv_close((uv_handle_t *)&c->hs_timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->pipe, on_handle_closed);
}

/* One encoded frame shared by every connection it is written to. */
typedef struct frame {
    unsigned refs;
    size_t len;
    char *data;
} frame;

typedef struct write_req {
    uv_write_t req;
    frame *f;
} write_req;

static void frame_unref(frame *f)
{
    if (f && --f->refs == 0) {
        free(f->data);
        free(f);
    }
}

/* Takes ownership of `data`. */
static frame *frame_new(char *data, size_t len)
{
    frame *f = malloc(sizeof *f);
    if (!f) {
        free(data);
        return NULL;
    }
    *f = (frame){.refs = 1, .len = len, .data = data};
    return f;
}

static void on_written(uv_write_t *req, int status)
{
    write_req *w = (write_req *)req;
    frame_unref(w->f);
    free(w);
    (void)status;
}

/* A frame the peer may be waiting for (a reply: an install has no
 * deadline) that cannot be written must not vanish: the connection is
 * closed instead, so the client sees the daemon hang up and says so rather
 * than waiting forever (the malloc sweep of issue #18 hung installs here). */
static void unsendable(astrid_conn *c, const char *what)
{
    astrid_klog(c->k, "WARN", "closing the connection of %s: %s", c->principal, what);
    conn_close(c, what);
}

void astrid_server_close_source(astrid_kernel *k, const char *source_id, const char *why)
{
    for (astrid_conn *c = k->conns; c; c = c->next)
        if (!c->closing && source_id && strcmp(c->source_id, source_id) == 0) {
            unsendable(c, why);
            return;
        }
}

static void write_frame(astrid_conn *c, frame *f)
{
    if (c->closing)
        return;
    write_req *w = malloc(sizeof *w);
    if (!w) {
        unsendable(c, "out of memory writing a frame");
        return;
    }
    w->f = f;
    f->refs++;
    uv_buf_t b = uv_buf_init(f->data, (unsigned)f->len);
    if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, on_written) != 0) {
        f->refs--; /* never the last: the caller holds one */
        free(w);
        unsendable(c, "a frame could not be queued for writing");
    }
}

static void send_json(astrid_conn *c, const json_t *obj)
{
    if (c->closing)
        return;
    char *buf;
    size_t len;
    astrid_err err;
    if (astrid_frame_encode(obj, &buf, &len, &err) != 0) {
        if (err.code == ASTRID_E_NOMEM)
            unsendable(c, "out of memory encoding a frame");
        else
            astrid_klog(c->k, "WARN", "drop outgoing frame: %s", err.msg);
        return;
    }
    frame *f = frame_new(buf, len);
    if (!f) {
        unsendable(c, "out of memory encoding a frame");
        return;
    }
    write_frame(c, f);
    frame_unref(f);
}

void astrid_conn_send(astrid_conn *c, const json_t *msg)
{
    send_json(c, msg);
}

/* An error frame, then close: the peer learns why. */
static void fail_conn(astrid_conn *c, const char *why)
{
    /* A reason that is not valid UTF-8 (a cut sequence, echoed input) would
     * make the frame unencodable and the peer would see a bare close. */
    char reason[ASTRID_ERR_MSG_MAX];
    astrid_snprintf_utf8(reason, sizeof reason, "%s", why);
    json_t *e =
        json_pack("{s:s,s:i,s:s,s:s}", "status", "error", "protocol_version",
                  ASTRID_PROTOCOL_VERSION, "server_version", ASTRID_VERSION, "reason", reason);
    send_json(c, e);
    json_decref(e);
    astrid_klog(c->k, "WARN", "connection refused: %s", reason);
    conn_close(c, reason);
}

/* The chat frontend's patterns (docs/wire.md, "Frontend subscriptions"):
 * every topic they can match lies under one of these literal prefixes, so
 * a subscription to them carries only the subscriber's own conversation and
 * needs no system:bus. */
static bool frontend_pattern(const char *p)
{
    static const char *const prefix[] = {"agent.v1.", "session.v1.response.",
                                         "registry.v1.response.", "llm.v1.stream."};
    if (strcmp(p, "registry.v1.active_model_changed") == 0)
        return true;
    for (size_t i = 0; i < sizeof prefix / sizeof *prefix; i++)
        if (strncmp(p, prefix[i], strlen(prefix[i])) == 0)
            return true;
    return false;
}

static bool subscribed_as(const astrid_conn *c, const char *topic, const char *principal)
{
    for (size_t i = 0; i < c->n_subs; i++)
        if (astrid_topic_sub_matches_bus(topic, c->subs[i]) &&
            (!c->subs_own[i] || (principal && strcmp(principal, c->principal) == 0)))
            return true;
    return false;
}

static bool subscribed(const astrid_conn *c, const char *topic)
{
    return subscribed_as(c, topic, c->principal);
}

/* Is `c` the addressee of restricted message `m`? Its connection by source
 * UUID (a reply: subscribed or not), else the subscribed connections of its
 * principal. A restricted message without an addressee has none. */
static bool addressee(const astrid_conn *c, const astrid_msg *m)
{
    if (m->to_source[0])
        return strcmp(c->source_id, m->to_source) == 0;
    return m->to_principal && strcmp(c->principal, m->to_principal) == 0 && subscribed(c, m->topic);
}

void astrid_server_fanout(astrid_kernel *k, const astrid_msg *m)
{
    if (m->restricted && m->direct)
        return; /* astrid_kernel_publish wrote it already */
    frame *f = NULL;
    for (astrid_conn *c = k->conns; c; c = c->next) {
        if (!c->authed || c->closing)
            continue;
        if (m->restricted ? !addressee(c, m) : !subscribed_as(c, m->topic, m->principal))
            continue;
        if (!m->restricted &&
            uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) > CONN_MAX_QUEUED) {
            if (c->dropped++ % 1024 == 0)
                astrid_klog(k, "WARN", "connection of %s is not reading: %llu broadcasts dropped",
                            c->principal, (unsigned long long)c->dropped);
            continue;
        }
        if (!f) {
            size_t len;
            char *data = astrid_msg_frame(m, &len);
            if (!data || !(f = frame_new(data, len))) {
                /* a broadcast is dropped like one to a slow reader; an
                 * addressed message (a reply) closes its addressee */
                if (m->restricted)
                    unsendable(c, "out of memory encoding a reply");
                continue;
            }
        }
        write_frame(c, f);
    }
    frame_unref(f);
}

void astrid_kernel_publish(astrid_kernel *k, astrid_conn *origin, const char *topic,
                           json_t *payload, const char *principal)
{
    char *text = astrid_json_dumps(payload, JSON_COMPACT);
    const astrid_msg *m = NULL;
    astrid_err err;
    /* Addressed to the origin and written here, at once and whatever its
     * queue holds; the fan-out skips it (ASTRID_PUB_DIRECT). */
    astrid_pub p = {.topic = topic,
                    .payload = text,
                    .len = text ? strlen(text) : 0,
                    .is_json = true,
                    .source_id = k->session,
                    .principal = principal,
                    .msg_out = &m,
                    .to_source = origin ? origin->source_id : NULL,
                    .flags = origin ? ASTRID_PUB_DIRECT : 0};
    if (!text || astrid_bus_publish(k->bus, &p, NULL, &err) != 0) {
        astrid_klog(k, "ERROR", "kernel publish on %s failed: %s", topic,
                    text ? err.msg : "out of memory");
        free(text);
        if (origin && !origin->closing)
            unsendable(origin, "a reply could not be published");
        return;
    }
    free(text);
    if (origin && !origin->closing) {
        size_t len;
        char *data = astrid_msg_frame(m, &len);
        frame *f = data ? frame_new(data, len) : NULL;
        if (f) {
            write_frame(origin, f);
            frame_unref(f);
        } else {
            unsendable(origin, "out of memory encoding a reply");
        }
    }
    astrid_msg_unref(m);
}

static void reply_control(astrid_conn *c, const char *topic, json_t *payload)
{
    astrid_kernel_publish(c->k, c, topic, payload, c->principal);
    json_decref(payload);
}

static void handle_subscribe(astrid_conn *c, json_t *payload, bool add)
{
    const char *pattern = json_string_value(json_object_get(payload, "pattern"));
    const char *reply = add ? "astrid.v1.connection.response.subscribe"
                            : "astrid.v1.connection.response.unsubscribe";
    char reason[512];
    astrid_err err;
    if (!pattern || astrid_topic_check(pattern, ASTRID_TOPIC_SUBSCRIBE, &err) != 0) {
        reply_control(c, reply,
                      json_pack("{s:s,s:s}", "status", "error", "data",
                                pattern ? err.msg : "payload.pattern must be a string"));
        return;
    }
    /* The prompts of the approval and elicit flows reach only their own
     * principal's connections (addressed, docs/wire.md), so any connection
     * may listen for its own without system:bus (a human's CLI, an agent).
     * A frontend pattern is always narrowed to the connection's own
     * principal, system:bus or not: an operator chatting as an admin must
     * not get every agent's tokens interleaved with its own (watching all
     * agents takes a non-frontend pattern such as `agent.*`, which needs
     * system:bus). */
    static const char *const own_list[] = {"astrid.v1.approval", "astrid.v1.approval.*",
                                           "astrid.v1.elicit", "astrid.v1.elicit.*"};
    bool own_prompts = false;
    for (size_t i = 0; i < sizeof own_list / sizeof *own_list; i++)
        own_prompts = own_prompts || strcmp(pattern, own_list[i]) == 0;
    bool own = frontend_pattern(pattern);
    const char *cap = own || own_prompts ? "self" : "system:bus";
    if (!own && !own_prompts &&
        astrid_authorize(c->k, c->principal, "system:bus", reason, sizeof reason) != 0) {
        astrid_audit_request(c->k, c->principal, add ? "Subscribe" : "Unsubscribe", cap, NULL,
                             payload, false, reason);
        reply_control(c, reply, json_pack("{s:s,s:s}", "status", "error", "data", reason));
        return;
    }
    if (astrid_audit_request(c->k, c->principal, add ? "Subscribe" : "Unsubscribe", cap, NULL,
                             payload, true, NULL) != 0) {
        reply_control(c, reply,
                      json_pack("{s:s,s:s}", "status", "error", "data", "audit log unavailable"));
        return;
    }
    if (add) {
        if (c->n_subs >= MAX_SUBS) {
            reply_control(c, reply,
                          json_pack("{s:s,s:s}", "status", "error", "data",
                                    "subscription limit (128) reached"));
            return;
        }
        c->subs_own[c->n_subs] = own;
        c->subs[c->n_subs++] = strdup(pattern);
        if (!c->prompt_listener && astrid_topic_sub_matches_bus("astrid.v1.approval", pattern)) {
            c->prompt_listener = true;
            astrid_gate_listener(c->k, c->principal, true);
        }
    } else {
        for (size_t i = 0; i < c->n_subs; i++)
            if (strcmp(c->subs[i], pattern) == 0) {
                free(c->subs[i]);
                c->subs_own[i] = c->subs_own[c->n_subs - 1];
                c->subs[i] = c->subs[--c->n_subs];
                break;
            }
    }
    reply_control(c, reply,
                  json_pack("{s:s,s:{s:s}}", "status", "success", "data", "pattern", pattern));
}

/* Topics a plain client may publish without `system:bus` (the CLI proxy's
 * ingress allow-list upstream). */
static bool open_ingress(const char *t)
{
    /* The registry requests act in the publisher's own KV (the registry
     * capsule runs as the message's agent): `/model` for any agent. */
    static const char *const exact[] = {"user.v1.prompt", "cli.v1.command.execute",
                                        "registry.v1.get_providers", "registry.v1.set_active_model",
                                        "registry.v1.get_active_model"};
    static const char *const prefix[] = {"astrid.v1.elicit.response.",
                                         "astrid.v1.approval.response.", "registry.v1.selection.",
                                         "session.v1.request."};
    for (size_t i = 0; i < sizeof exact / sizeof *exact; i++)
        if (strcmp(t, exact[i]) == 0)
            return true;
    for (size_t i = 0; i < sizeof prefix / sizeof *prefix; i++)
        if (strncmp(t, prefix[i], strlen(prefix[i])) == 0)
            return true;
    return false;
}

static void handle_message(astrid_conn *c, json_t *msg)
{
    astrid_kernel *k = c->k;
    astrid_err err;
    if (astrid_ipc_validate(msg, &err) != 0) {
        fail_conn(c, err.msg);
        return;
    }
    const char *topic = json_string_value(json_object_get(msg, "topic"));
    json_t *payload = json_object_get(msg, "payload");
    if (strcmp(topic, SUBSCRIBE_TOPIC) == 0 || strcmp(topic, UNSUBSCRIBE_TOPIC) == 0) {
        handle_subscribe(c, payload, strcmp(topic, SUBSCRIBE_TOPIC) == 0);
        return;
    }
    if (strncmp(topic, "astrid.v1.request.", 18) == 0 ||
        (strncmp(topic, "astrid.v1.admin.", 16) == 0 &&
         strncmp(topic, "astrid.v1.admin.response.", 25) != 0)) {
        astrid_requests_handle(k, c, topic, payload);
        return;
    }
    char reason[512];
    if (astrid_topic_check(topic, ASTRID_TOPIC_PUBLISH, &err) != 0) {
        reply_control(
            c, PUBLISH_REPLY,
            json_pack("{s:s,s:s,s:s}", "status", "error", "topic", topic, "data", err.msg));
        return;
    }
    /* Before the capability: no one, system:bus included, forges a reply. */
    if (astrid_topic_privacy_of(topic) == ASTRID_TOPIC_PRIVATE_OUT) {
        astrid_klog(k, "WARN", "publish to private topic %s by %s refused", topic, c->principal);
        reply_control(c, PUBLISH_REPLY,
                      json_pack("{s:s,s:s,s:s}", "status", "error", "topic", topic, "data",
                                "private kernel topic (replies and private events): only the "
                                "kernel publishes there"));
        return;
    }
    /* Answers to the kernel's prompts go to the gate alone (never onto the
     * bus): it checks the answering principal is the prompt's own. */
    if (strncmp(topic, "astrid.v1.approval.response.", 28) == 0 ||
        strncmp(topic, "astrid.v1.elicit.response.", 26) == 0) {
        astrid_gate_on_response(k, c->principal, topic, payload);
        return;
    }
    if (!open_ingress(topic)) {
        if (astrid_authorize(k, c->principal, "system:bus", reason, sizeof reason) != 0) {
            astrid_audit_request(k, c->principal, "Publish", "system:bus", NULL,
                                 json_object_get(msg, "topic"), false, reason);
            astrid_klog(k, "WARN", "publish to %s by %s denied: %s", topic, c->principal, reason);
            return;
        }
    }
    /* The kernel stamps the authenticated principal, whatever was claimed,
     * and charges this connection's (source, principal) token bucket. */
    char *text = astrid_json_dumps(payload, JSON_COMPACT);
    if (!text || astrid_kernel_bus_publish(k, topic, text, strlen(text), c->source_id, c->principal,
                                           ASTRID_PUB_RATE_LIMIT | ASTRID_KPUB_CLIENT_INGRESS, NULL,
                                           &err) != 0) {
        const char *why = text ? err.msg : "out of memory";
        astrid_klog(k, "WARN", "publish to %s by %s refused: %s", topic, c->principal, why);
        reply_control(c, PUBLISH_REPLY,
                      json_pack("{s:s,s:s,s:s}", "status", "error", "topic", topic, "data", why));
    }
    free(text);
}

static void accept_conn(astrid_conn *c, const char *principal, bool by_key)
{
    astrid_kernel *k = c->k;
    if (principal != c->principal) /* a challenged conn already holds it */
        snprintf(c->principal, sizeof c->principal, "%s", principal);
    c->authed = true;
    k->n_conns++;
    astrid_gate_conn_opened(k, c->principal);
    uv_timer_stop(&c->hs_timer);
    json_t *ok =
        json_pack("{s:s,s:i,s:s,s:s}", "status", "ok", "protocol_version", ASTRID_PROTOCOL_VERSION,
                  "server_version", ASTRID_VERSION, "principal", principal);
    if (by_key)
        json_object_set_new(ok, "authenticated", json_string("key"));
    send_json(c, ok);
    json_decref(ok);
    astrid_klog(k, "INFO", "client connected as %s%s%s", principal, by_key ? " (key)" : "",
                c->agents ? " on agents.sock" : "");
}

/* The socket path a client signs: the listener's, its directory resolved
 * (symlinks, ..), so both ends name it alike. */
static int signed_socket_path(const astrid_conn *c, char *out, size_t n)
{
    const char *path = c->agents ? c->k->agents_sock_path : c->k->sock_path;
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX], real[PATH_MAX];
    if (!slash || (size_t)(slash - path) >= sizeof dir)
        return -1;
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = '\0';
    if (!realpath(dir, real))
        return -1;
    int len = snprintf(out, n, "%s%s", real, slash);
    return len < 0 || (size_t)len >= n ? -1 : 0;
}

/* Does `principal` list `pk` in [auth] public_keys (read fresh through the
 * cache, so a key removed a moment ago no longer counts)? Entries that do
 * not decode match nothing. */
static bool key_listed(astrid_kernel *k, const char *principal,
                       const uint8_t pk[ASTRID_ED25519_PK_LEN])
{
    astrid_err err;
    const astrid_profile *p = astrid_profile_cache_get(k->profiles, principal, &err);
    bool found = false;
    for (size_t i = 0; p && !found && i < p->auth_public_keys.n; i++) {
        uint8_t have[ASTRID_ED25519_PK_LEN];
        found = astrid_b64_decode(have, sizeof have, p->auth_public_keys.v[i]) == 0 &&
                astrid_ct_equal(have, pk, sizeof have);
    }
    if (p)
        astrid_profile_release(p);
    return found;
}

/* The answer to a challenge: {"public_key": b64, "signature": b64} over
 * astrid_auth_message(nonce, principal, socket path). The nonce is good
 * for this one answer: any failure closes the connection. */
static void handle_proof(astrid_conn *c, json_t *m)
{
    astrid_kernel *k = c->k;
    char nonce[sizeof c->nonce];
    snprintf(nonce, sizeof nonce, "%s", c->nonce);
    explicit_bzero(c->nonce, sizeof c->nonce);
    c->challenged = false;
    const char *pkb = json_string_value(json_object_get(m, "public_key"));
    const char *sigb = json_string_value(json_object_get(m, "signature"));
    uint8_t pk[ASTRID_ED25519_PK_LEN], sig[ASTRID_ED25519_SIG_LEN];
    char path[PATH_MAX], msg[PATH_MAX + 256];
    int len;
    const char *why = NULL;
    if (!pkb || !sigb || astrid_b64_decode(pk, sizeof pk, pkb) != 0 ||
        astrid_b64_decode(sig, sizeof sig, sigb) != 0)
        why = "malformed answer to the challenge";
    else if (!key_listed(k, c->principal, pk))
        why = "key not listed in the principal's [auth] public_keys";
    else if (signed_socket_path(c, path, sizeof path) != 0 ||
             (len = astrid_auth_message(msg, sizeof msg, nonce, c->principal, path)) < 0)
        why = "cannot build the signed message";
    else if (!astrid_verify(sig, msg, (size_t)len, pk))
        why = "bad signature";
    if (why) {
        astrid_klog(k, "WARN", "key authentication of %s refused: %s", c->principal, why);
        fail_conn(c, "authentication failed");
        return;
    }
    accept_conn(c, c->principal, true);
}

/* A refusal before any proof. On agents.sock the peer may be another
 * Unix user: it learns nothing (not whether the principal exists, is
 * disabled or has keys); the log keeps the reason. */
static void agents_refuse(astrid_conn *c, const char *reason)
{
    if (!c->agents) {
        fail_conn(c, reason);
        return;
    }
    astrid_klog(c->k, "WARN", "agents.sock handshake refused: %s", reason);
    fail_conn(c, "authentication failed");
}

static void handle_handshake(astrid_conn *c, json_t *hs)
{
    astrid_kernel *k = c->k;
    if (c->challenged) {
        handle_proof(c, hs);
        return;
    }
    const char *token = json_string_value(json_object_get(hs, "token"));
    json_t *pv = json_object_get(hs, "protocol_version");
    const char *principal = json_string_value(json_object_get(hs, "principal"));
    if (!json_is_integer(pv) || json_integer_value(pv) != ASTRID_PROTOCOL_VERSION) {
        fail_conn(c, "protocol version mismatch: this daemon speaks protocol 1; restart the "
                     "daemon (astrid restart) after upgrading");
        return;
    }
    /* agents.sock takes no token: the key is the whole proof there */
    if (!c->agents && (!token || !astrid_ct_streq(token, k->token))) {
        fail_conn(c, "authentication failed");
        return;
    }
    if (!principal)
        principal = "default";
    /* "alice@B" exists here only as the stamp the federation bridge puts
     * on B's messages; no local connection may speak as it. */
    if (astrid_principal_is_remote(principal)) {
        agents_refuse(c, "a remote principal (id@host) cannot connect; it acts only through "
                         "federation");
        return;
    }
    char reason[512];
    if (astrid_principal_admissible(k, principal, reason, sizeof reason) != 0) {
        agents_refuse(c, reason);
        return;
    }
    astrid_err err;
    const astrid_profile *p = astrid_profile_cache_get(k->profiles, principal, &err);
    if (!p) {
        fail_conn(c, err.msg);
        return;
    }
    size_t nkeys = p->auth_public_keys.n;
    astrid_profile_release(p);
    if (nkeys == 0 && !c->agents) {
        accept_conn(c, principal, false); /* as before: the token is the proof */
        return;
    }
    if (nkeys == 0) {
        snprintf(reason, sizeof reason,
                 "principal %s has no [auth] public_keys: agents.sock accepts key-authenticated "
                 "principals only",
                 principal);
        agents_refuse(c, reason);
        return;
    }
    /* A principal with keys is claimed with one of them, whatever token
     * the client holds (fail closed). A client that does not know the
     * challenge reads a status other than "ok" and gives up with the
     * reason. */
    uint8_t raw[AUTH_NONCE_LEN];
    astrid_random_bytes(raw, sizeof raw);
    astrid_hex_encode(c->nonce, raw, sizeof raw);
    snprintf(c->principal, sizeof c->principal, "%s", principal);
    c->challenged = true;
    snprintf(reason, sizeof reason,
             "principal %s requires key authentication: sign the challenge (astrid --identity "
             "KEYFILE)",
             principal);
    json_t *ch = json_pack("{s:s,s:i,s:s,s:s,s:s,s:s}", "status", "challenge", "protocol_version",
                           ASTRID_PROTOCOL_VERSION, "server_version", ASTRID_VERSION, "principal",
                           principal, "nonce", c->nonce, "reason", reason);
    send_json(c, ch);
    json_decref(ch);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    static __thread char slab[65536]; /* loop thread only; data is copied out at once */
    *buf = uv_buf_init(slab, sizeof slab);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    astrid_conn *c = s->data;
    if (n < 0) {
        conn_close(c, n == UV_EOF ? "peer closed" : uv_strerror((int)n));
        return;
    }
    if (c->closing || n == 0)
        return;
    astrid_err err;
    if (astrid_frame_reader_feed(&c->rd, buf->base, (size_t)n, &err) != 0) {
        fail_conn(c, err.msg);
        return;
    }
    for (;;) {
        const char *body;
        size_t len;
        int r = astrid_frame_reader_next(&c->rd, &body, &len, &err);
        if (r < 0) {
            fail_conn(c, err.msg);
            return;
        }
        if (r == 0)
            return;
        json_t *obj = astrid_wire_parse(body, len, &err);
        astrid_frame_reader_pop(&c->rd);
        if (!obj) {
            fail_conn(c, err.msg);
            return;
        }
        if (c->authed)
            handle_message(c, obj);
        else
            handle_handshake(c, obj);
        json_decref(obj);
        if (c->closing)
            return;
    }
}

static void on_hs_timeout(uv_timer_t *t)
{
    astrid_conn *c = t->data;
    if (!c->authed)
        fail_conn(c, "handshake not received within 5 s");
}

static void on_connection(uv_stream_t *server, int status)
{
    astrid_kernel *k = server->data;
    if (status < 0 || k->stopping)
        return;
    astrid_conn *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->k = k;
    astrid_uuid_v4(c->source_id);
    astrid_frame_reader_init(&c->rd, ASTRID_WIRE_MAX_FRAME);
    uv_pipe_init(k->loop, &c->pipe, 0);
    uv_timer_init(k->loop, &c->hs_timer);
    c->pipe.data = c;
    c->hs_timer.data = c;
    c->open_handles = 2;
    c->next = k->conns;
    if (k->conns)
        k->conns->prev = c;
    k->conns = c;
    if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0) {
        conn_close(c, "accept failed");
        return;
    }
    /* Only the daemon's own user may talk to it on system.sock
     * (SO_PEERCRED); agents.sock is for other users, who prove a key. */
    c->agents = server == (uv_stream_t *)&k->agents_server;
    uv_os_fd_t fd;
    struct ucred cred = {.pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
    socklen_t cl = sizeof cred;
    if (uv_fileno((uv_handle_t *)&c->pipe, &fd) != 0 ||
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0 ||
        (!c->agents && cred.uid != geteuid())) {
        astrid_klog(k, "WARN", "dropped connection from another user (uid %d)", (int)cred.uid);
        conn_close(c, "peer uid mismatch");
        return;
    }
    if (c->agents) {
        /* Other uids may connect here: bound what their unanswered
         * handshakes can hold (each lives up to the 5 s timeout). */
        size_t pending = 0;
        for (astrid_conn *o = k->conns; o; o = o->next)
            pending += o->agents && !o->authed && !o->closing;
        if (pending > AGENTS_PENDING_MAX) {
            astrid_klog(k, "WARN",
                        "agents.sock: %zu handshakes pending, dropped a connection (uid %d)",
                        pending - 1, (int)cred.uid);
            conn_close(c, "too many pending handshakes");
            return;
        }
    }
    uv_timer_start(&c->hs_timer, on_hs_timeout, HANDSHAKE_TIMEOUT_MS, 0);
    uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
}

static void on_idle_tick(uv_timer_t *t)
{
    astrid_kernel *k = t->data;
    if (k->idle_timeout_ms == 0 || k->n_conns > 0 || k->stopping)
        return;
    if (astrid_now_ms() - k->last_active_ms >= k->idle_timeout_ms)
        astrid_kernel_request_shutdown(k, "idle_timeout");
}

static void on_signal(uv_signal_t *s, int signum)
{
    astrid_kernel_request_shutdown(s->data, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

/* run/agents.sock, 0660, group ASTRID_AGENTS_GROUP (a name or a gid;
 * unset: the daemon's own group). A stale one is ours to replace: we
 * hold run/daemon.lock. */
static int agents_listen(astrid_kernel *k, astrid_err *err)
{
    uv_pipe_init(k->loop, &k->agents_server, 0); /* first: close_all closes it */
    k->agents_server.data = k;
    const char *grp = getenv("ASTRID_AGENTS_GROUP");
    gid_t gid = (gid_t)-1;
    if (grp && *grp) {
        struct group *g = getgrnam(grp);
        char *end;
        unsigned long n = strtoul(grp, &end, 10);
        if (g)
            gid = g->gr_gid;
        else if (*end == '\0')
            gid = (gid_t)n;
        else
            return astrid_err_set(err, ASTRID_E_INVALID, "ASTRID_AGENTS_GROUP: no group '%s'", grp);
    }
    unlink(k->agents_sock_path);
    mode_t old = umask(0177); /* born 0600; opened to the group once it is chowned */
    int rc = uv_pipe_bind(&k->agents_server, k->agents_sock_path);
    umask(old);
    if (rc != 0)
        return astrid_err_set(err, ASTRID_E_IO, "bind %s: %s", k->agents_sock_path,
                              uv_strerror(rc));
    if (gid != (gid_t)-1 && chown(k->agents_sock_path, (uid_t)-1, gid) != 0)
        return astrid_err_sys(err, "chgrp %s to %s", k->agents_sock_path, grp);
    if (chmod(k->agents_sock_path, 0660) != 0)
        return astrid_err_sys(err, "chmod %s", k->agents_sock_path);
    if ((rc = uv_listen((uv_stream_t *)&k->agents_server, LISTEN_BACKLOG, on_connection)) != 0)
        return astrid_err_set(err, ASTRID_E_IO, "listen %s: %s", k->agents_sock_path,
                              uv_strerror(rc));
    return 0;
}

int astrid_server_start(astrid_kernel *k, astrid_err *err)
{
    uv_pipe_init(k->loop, &k->server, 0);
    k->server.data = k;
    mode_t old = umask(0177); /* the socket is born 0600: no window for others */
    int rc = uv_pipe_bind(&k->server, k->sock_path);
    umask(old);
    if (rc != 0)
        return astrid_err_set(err, ASTRID_E_IO, "bind %s: %s", k->sock_path, uv_strerror(rc));
    chmod(k->sock_path, 0600);
    if ((rc = uv_listen((uv_stream_t *)&k->server, LISTEN_BACKLOG, on_connection)) != 0)
        return astrid_err_set(err, ASTRID_E_IO, "listen %s: %s", k->sock_path, uv_strerror(rc));
    if (agents_listen(k, err) != 0)
        return -1;
    k->last_active_ms = astrid_now_ms();
    uv_timer_init(k->loop, &k->idle_timer);
    k->idle_timer.data = k;
    uv_timer_start(&k->idle_timer, on_idle_tick, 250, 250);
    uv_signal_init(k->loop, &k->sigint);
    uv_signal_init(k->loop, &k->sigterm);
    k->sigint.data = k->sigterm.data = k;
    uv_signal_start(&k->sigint, on_signal, SIGINT);
    uv_signal_start(&k->sigterm, on_signal, SIGTERM);
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

void astrid_server_close_all(astrid_kernel *k)
{
    while (k->conns)
        conn_close(k->conns, "daemon shutting down");
    uv_handle_t *hs[] = {(uv_handle_t *)&k->server, (uv_handle_t *)&k->agents_server,
                         (uv_handle_t *)&k->idle_timer, (uv_handle_t *)&k->sigint,
                         (uv_handle_t *)&k->sigterm};
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++)
        if (!uv_is_closing(hs[i]))
            uv_close(hs[i], NULL);
    if (k->feed_started && !uv_is_closing((uv_handle_t *)&k->feed_async)) {
        uv_close((uv_handle_t *)&k->feed_async, NULL);
        uv_close((uv_handle_t *)&k->feed_prepare, NULL);
    }
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *astrid_server_connections_by_principal(astrid_kernel *k)
{
    const char *names[1024] = {0};
    size_t n = 0;
    for (astrid_conn *c = k->conns; c && n < 1024; c = c->next)
        if (c->authed)
            names[n++] = c->principal;
    qsort(names, n, sizeof *names, cmp_entry);
    json_t *arr = json_array();
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && strcmp(names[j], names[i]) == 0)
            j++;
        json_array_append_new(
            arr, json_pack("{s:s,s:I}", "principal", names[i], "count", (json_int_t)(j - i)));
        i = j;
    }
    return arr;
}
