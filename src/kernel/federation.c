/* The NATS bridge (issue #19, docs/federation.md; threads and locks in
 * federation.h).
 *
 * Subjects: astrid.<lattice>.<topic> (lattice-wide; a served topic is also
 * received by one host of the queue group astrid.<lattice>.serve),
 * astrid.<lattice>.@<host>.<topic> (directed: a remote principal's traffic
 * goes back only to its own host), astrid.<lattice>.@.hb (heartbeats) and
 * astrid.<lattice>.@<host>.@ping (RTT). Every body is a sealed envelope
 * (include/astrid/envelope.h) verified against the trust table: nothing a
 * message says about itself is believed before its signature checks with
 * the key this host holds for its origin. */
#include <errno.h>
#include <assert.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "astrid/envelope.h"
#include "astrid/home.h"
#include "astrid/jsonsafe.h"
#include "astrid/principal.h"
#include "astrid/topic.h"
#include "astrid/trust.h"
#include "astrid/uuid.h"
#include "kernel/fed_trust.h"
#include "kernel/federation.h"
#include "kernel/kernel.h"
#include "lib/audit/audit_format.h"

#define FED_MAX_PEERS 64
#define FED_MAX_PENDING 8192
#define FED_MAX_TURNS 8192
#define FED_MAX_SERVES 64
#define FED_FEED_CAPACITY 65536
#define FED_TURN_IDLE_MS (15u * 60u * 1000u) /* a turn nobody hears from is forgotten */
#define FED_PING_EVERY 5                     /* heartbeats between two pings of a peer */
#define FED_TOPIC_HB "astrid.v1.federation.heartbeat"
#define FED_TOPIC_PING "astrid.v1.federation.ping"
#define FED_TOPIC_ACK "astrid.v1.federation.ack"
/* Imports are audited in batches (docs/federation.md "Performance"): one
 * entry per run of up to FED_AUDIT_BATCH messages of one (origin,
 * principal, topic, subject), written at the latest FED_AUDIT_FLUSH_MS
 * after its first message, carrying every envelope's seq, timestamp,
 * payload hash and origin signature. A signed, chained entry per message
 * cost more CPU than verifying the message did. */
#define FED_AUDIT_BATCH 64
#define FED_AUDIT_SLOTS 16
#define FED_AUDIT_FLUSH_MS 50
/* Exports: consecutive messages for one subject found queued together go
 * in one batch envelope of at most this many messages and payload bytes.
 * The byte bound is small on purpose: a batch saves signatures, which
 * small messages are dominated by; large payloads cost their JSON
 * escaping and hashing either way, and batches of them measured slower
 * per message than singles (bench_federation: 64 x 4 KiB, large buffers
 * grown and page-faulted per batch). */
#define FED_EXPORT_BATCH 64
#define FED_EXPORT_BATCH_BYTES (16u * 1024u)

typedef struct fed_peer {
    char name[ASTRID_FED_NAME_MAX + 1];
    bool alive, has_window;
    uint64_t last_seen_ms;
    double rtt_ms; /* -1 = not measured yet */
    char *serves[FED_MAX_SERVES];
    size_t nserves;
    astrid_replay_window window;
} fed_peer;

typedef enum { PEND_REQUEST, PEND_PING } pend_kind;

/* A request sent with NATS request/reply, waiting for its ack (or a ping
 * waiting for its pong). */
typedef struct fed_pending {
    uint64_t id;
    pend_kind kind;
    uint64_t sent_ms, deadline_ms;
    char host[ASTRID_FED_NAME_MAX + 1]; /* ping target */
    char *topic, *principal, *request_id, *payload;
    size_t len;
    int attempt;
} fed_pending;

/* An acked request whose answers (stream events) come back on this host's
 * directed subject: only its serving host may answer it, only for its
 * principal, only while it runs. */
typedef struct fed_turn {
    char *request_id, *principal, *topic, *payload;
    size_t len;
    char host[ASTRID_FED_NAME_MAX + 1];
    uint64_t events, last_ms;
    int attempt;
} fed_turn;

/* One envelope of an import batch: enough, with the batch's lattice,
 * origin, topic and principal, to check the origin's signature again. */
typedef struct fed_imp_env {
    uint64_t seq;
    int64_t ts_ms;
    uint8_t b3[32];
    uint8_t sig[64];
} fed_imp_env;

typedef struct fed_imp_batch {
    size_t n; /* 0 = free slot */
    uint64_t first_ms;
    char origin[ASTRID_FED_NAME_MAX + 1];
    char remote[sizeof(((astrid_envelope *)0)->principal)]; /* the envelope's principal */
    char principal[300];                                    /* as stamped here */
    char topic[ASTRID_TOPIC_MAX_BYTES + 1];
    char subject[ASTRID_FED_SUBJECT_MAX];
    fed_imp_env env[FED_AUDIT_BATCH];
} fed_imp_batch;

typedef enum { SUB_IMPORT, SUB_SERVE, SUB_DIRECT, SUB_HB, SUB_INBOX } sub_kind;

typedef struct sub_ctx {
    struct astrid_fed *f;
    sub_kind kind;
} sub_ctx;

#define FED_MAX_SUBS (3 * 256 + 8)

typedef struct astrid_fed {
    astrid_kernel *k;
    astrid_fedconf *conf;
    natsOptions *opts;
    natsConnection *nc;
    natsSubscription *subs[FED_MAX_SUBS];
    sub_ctx ctxs[FED_MAX_SUBS]; /* each subscription's callback closure */
    size_t nsubs;
    char inbox[128];
    char source_id[ASTRID_UUID_STR_LEN]; /* imported messages' bus source: never re-exported */
    _Atomic uint64_t seq;
    _Atomic uint64_t next_id;
    _Atomic uint64_t exported, imported, dropped;
    astrid_sub *feed;
    pthread_t exporter, ticker;
    bool exporter_started, ticker_started;
    pthread_mutex_t stop_lock; /* guards stopping; stop_cond wakes the ticker */
    pthread_cond_t stop_cond;
    bool stopping;
    pthread_mutex_t peers_lock; /* peers, pending, turns (see federation.h) */
    fed_peer peers[FED_MAX_PEERS];
    size_t npeers;
    fed_pending *pending;
    size_t npending;
    fed_turn *turns;
    size_t nturns;
    /* the drop audit of heartbeats from unknown hosts, once a minute per
     * name: a stranger on the server must not fill the log */
    char hb_warned[16][ASTRID_FED_NAME_MAX + 1];
    uint64_t hb_warned_ms[16];
    /* import audit batches (FED_AUDIT_BATCH): filled by the delivery
     * threads, written by whoever fills one, by the exporter once one is
     * FED_AUDIT_FLUSH_MS old, and by astrid_fed_stop */
    pthread_mutex_t imp_lock; /* guards imp */
    fed_imp_batch imp[FED_AUDIT_SLOTS];
    /* the exporter's per-run principals (only the exporter touches it) */
    char exp_as[FED_EXPORT_BATCH][ASTRID_REMOTE_PRINCIPAL_MAX + 1];
} astrid_fed;

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

natsConnection *astrid_fed_conn(astrid_kernel *k)
{
    return k->fed ? k->fed->nc : NULL;
}

const astrid_fedconf *astrid_fed_conf(astrid_kernel *k)
{
    return k->fed ? k->fed->conf : NULL;
}

/* ------------------------------------------------------------------ trust */

/* The key of `host` from the daemon's one trust table (fed_trust.c, which
 * `astrid trust add|remove` changes at once under its trust_lock). */
static int trust_key(astrid_fed *f, const char *host, uint8_t pk[32])
{
    return astrid_kernel_trust_lookup(f->k, host, pk);
}

/* ------------------------------------------------------------------ audit */

/* One entry in the kernel's own chain ("default", like the other entries
 * the kernel makes for itself) naming the origin, the remote principal and
 * the envelope's signature, so a reader can check the origin's signature
 * with its key as well as this kernel's over the entry. Imports are
 * write-behind (a read of the lattice, not an action of this host). */
static void fed_audit(astrid_fed *f, const char *what, const astrid_envelope *env,
                      const char *subject, const char *stamped, const char *reason)
{
    char sig[129] = "", b3[65] = "";
    if (env) {
        astrid_hex_encode(sig, env->sig, sizeof env->sig);
        astrid_hex_encode(b3, env->payload_b3, sizeof env->payload_b3);
    }
    json_t *action =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s}", "type", what, "subject",
                  subject ? subject : "", "origin", env ? env->origin : "", "remote_principal",
                  env ? env->principal : "", "principal", stamped ? stamped : "", "topic",
                  env ? env->topic : "", "seq", (json_int_t)(env ? env->seq : 0), "ts_ms",
                  (json_int_t)(env ? env->ts_ms : 0), "payload_b3", b3, "origin_signature", sig);
    json_t *auth = reason ? astrid_audit_auth_denied(reason)
                          : astrid_audit_auth_system("envelope signature verified with the "
                                                     "trust table's key of its origin");
    json_t *out =
        reason ? astrid_audit_outcome_failure(reason) : astrid_audit_outcome_success(NULL);
    astrid_err err;
    if (!action || !auth || !out ||
        astrid_audit_append_mode(f->k->audit, ASTRID_AUDIT_WRITE_BEHIND, "default", action, auth,
                                 out, NULL, &err) < 0)
        astrid_klog(f->k, "ERROR", "federation: audit of %s failed", what);
    json_decref(action);
    json_decref(auth);
    json_decref(out);
}

/* The entry of one import batch: the first envelope's fields where a
 * single import's entry has them (seq, ts_ms, payload_b3,
 * origin_signature), `count` and `seq_last`, and with more than one
 * message `envelopes`: [[seq, ts_ms, payload_b3, origin_signature], ...]
 * for every message, in the order they were imported. */
static void imp_audit(astrid_fed *f, const fed_imp_batch *b)
{
    char sig[129], b3[65];
    astrid_hex_encode(sig, b->env[0].sig, sizeof b->env[0].sig);
    astrid_hex_encode(b3, b->env[0].b3, sizeof b->env[0].b3);
    json_t *action = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:I, s:I}", "type", "federation_import",
        "subject", b->subject, "origin", b->origin, "remote_principal", b->remote, "principal",
        b->principal, "topic", b->topic, "seq", (json_int_t)b->env[0].seq, "ts_ms",
        (json_int_t)b->env[0].ts_ms, "payload_b3", b3, "origin_signature", sig, "count",
        (json_int_t)b->n, "seq_last", (json_int_t)b->env[b->n - 1].seq);
    json_t *all = b->n > 1 ? json_array() : NULL;
    for (size_t i = 0; all && i < b->n; i++) {
        astrid_hex_encode(sig, b->env[i].sig, sizeof b->env[i].sig);
        astrid_hex_encode(b3, b->env[i].b3, sizeof b->env[i].b3);
        json_array_append_new(all, json_pack("[I, I, s, s]", (json_int_t)b->env[i].seq,
                                             (json_int_t)b->env[i].ts_ms, b3, sig));
    }
    if (action && all)
        json_object_set_new(action, "envelopes", all);
    else
        json_decref(all);
    json_t *auth = astrid_audit_auth_system("envelope signature verified with the trust table's "
                                            "key of its origin");
    json_t *out = astrid_audit_outcome_success(NULL);
    astrid_err err;
    if (!action || (b->n > 1 && !json_object_get(action, "envelopes")) || !auth || !out ||
        astrid_audit_append_mode(f->k->audit, ASTRID_AUDIT_WRITE_BEHIND, "default", action, auth,
                                 out, NULL, &err) < 0)
        astrid_klog(f->k, "ERROR", "federation: audit of %zu imports from %s failed", b->n,
                    b->origin);
    json_decref(action);
    json_decref(auth);
    json_decref(out);
}

/* Add an accepted import to its batch. A batch that fills up, or the
 * oldest one when every slot is taken by another key, is written after
 * imp_lock is released. */
static void imp_add(astrid_fed *f, const astrid_envelope *env, const char *subject,
                    const char *stamped)
{
    fed_imp_batch *out[2] = {NULL, NULL};
    size_t nout = 0;
    pthread_mutex_lock(&f->imp_lock);
    fed_imp_batch *b = NULL, *free_slot = NULL, *oldest = NULL;
    for (size_t i = 0; i < FED_AUDIT_SLOTS && !b; i++) {
        fed_imp_batch *s = &f->imp[i];
        if (!s->n) {
            if (!free_slot)
                free_slot = s;
        } else if (strcmp(s->origin, env->origin) == 0 && strcmp(s->remote, env->principal) == 0 &&
                   strcmp(s->principal, stamped) == 0 && strcmp(s->topic, env->topic) == 0 &&
                   strcmp(s->subject, subject) == 0) {
            b = s;
        } else if (!oldest || s->first_ms < oldest->first_ms) {
            oldest = s;
        }
    }
    if (b && b->n == FED_AUDIT_BATCH) {
        b = NULL; /* still full after an out-of-memory: this import goes alone */
    } else if (!b) {
        if (!free_slot && oldest && (out[nout] = malloc(sizeof *oldest))) {
            *out[nout++] = *oldest;
            oldest->n = 0;
            free_slot = oldest;
        }
        if ((b = free_slot)) {
            b->first_ms = astrid_now_ms();
            snprintf(b->origin, sizeof b->origin, "%s", env->origin);
            snprintf(b->remote, sizeof b->remote, "%s", env->principal);
            snprintf(b->principal, sizeof b->principal, "%s", stamped);
            snprintf(b->topic, sizeof b->topic, "%s", env->topic);
            snprintf(b->subject, sizeof b->subject, "%s", subject);
        }
    }
    if (b) {
        fed_imp_env *e = &b->env[b->n++];
        e->seq = env->seq;
        e->ts_ms = env->ts_ms;
        memcpy(e->b3, env->payload_b3, sizeof e->b3);
        memcpy(e->sig, env->sig, sizeof e->sig);
        if (b->n == FED_AUDIT_BATCH && (out[nout] = malloc(sizeof *b))) {
            *out[nout++] = *b;
            b->n = 0;
        }
    }
    pthread_mutex_unlock(&f->imp_lock);
    if (!b) /* out of memory for the evicted batch: this import alone, unbatched */
        fed_audit(f, "federation_import", env, subject, stamped, NULL);
    for (size_t i = 0; i < nout; i++) {
        imp_audit(f, out[i]);
        free(out[i]);
    }
}

/* Write the batches older than `age_ms` (0: all). */
static void imp_flush(astrid_fed *f, uint64_t age_ms)
{
    uint64_t now = astrid_now_ms();
    for (size_t i = 0; i < FED_AUDIT_SLOTS; i++) {
        fed_imp_batch *copy = NULL;
        pthread_mutex_lock(&f->imp_lock);
        fed_imp_batch *s = &f->imp[i];
        if (s->n && now - s->first_ms >= age_ms && (copy = malloc(sizeof *copy))) {
            *copy = *s;
            s->n = 0;
        }
        pthread_mutex_unlock(&f->imp_lock);
        if (copy) {
            imp_audit(f, copy);
            free(copy);
        }
    }
}

static void drop(astrid_fed *f, const astrid_envelope *env, const char *subject, const char *fmt,
                 ...) __attribute__((format(printf, 4, 5)));
static void drop(astrid_fed *f, const astrid_envelope *env, const char *subject, const char *fmt,
                 ...)
{
    char reason[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    atomic_fetch_add(&f->dropped, 1);
    astrid_klog(f->k, "WARN", "federation: dropped %s: %s", subject, reason);
    fed_audit(f, "federation_drop", env, subject, NULL, reason);
}

/* ------------------------------------------------------------------ seal */

static int seal(astrid_fed *f, const char *topic, const char *principal, const char *payload,
                size_t len, char **wire, size_t *wire_len, astrid_err *err)
{
    astrid_envelope env;
    memset(&env, 0, sizeof env);
    if (strlen(topic) >= sizeof env.topic || strlen(principal) >= sizeof env.principal)
        return astrid_err_set(err, ASTRID_E_LIMIT, "topic or principal too long to federate");
    snprintf(env.lattice, sizeof env.lattice, "%s", f->conf->lattice);
    snprintf(env.origin, sizeof env.origin, "%s", f->conf->host);
    snprintf(env.topic, sizeof env.topic, "%s", topic);
    snprintf(env.principal, sizeof env.principal, "%s", principal);
    env.seq = atomic_fetch_add(&f->seq, 1);
    env.ts_ms = (int64_t)wall_ms();
    return astrid_envelope_seal(&env, payload, len, &f->k->key, wire, wire_len, err);
}

int astrid_fed_seal(astrid_kernel *k, const char *topic, const char *principal, const char *payload,
                    size_t len, char **wire, size_t *wire_len, astrid_err *err)
{
    if (!k->fed)
        return astrid_err_set(err, ASTRID_E_UNSUPPORTED,
                              "federation is off (no etc/federation.toml)");
    return seal(k->fed, topic, principal, payload, len, wire, wire_len, err);
}

/* ---------------------------------------------------------------- peers */

static fed_peer *peer_get(astrid_fed *f, const char *name, bool create)
{
    for (size_t i = 0; i < f->npeers; i++)
        if (strcmp(f->peers[i].name, name) == 0)
            return &f->peers[i];
    if (!create || f->npeers == FED_MAX_PEERS)
        return NULL;
    fed_peer *p = &f->peers[f->npeers++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->rtt_ms = -1;
    return p;
}

/* Free a batch's entries but keep its header (origin): a refused
 * heartbeat still names its claimed sender. */
static void batch_clear(astrid_env_batch *b)
{
    for (size_t i = 0; b->e && i < b->n; i++)
        free(b->e[i].payload);
    free(b->e);
    b->e = NULL;
    b->n = 0;
}

/* A refusal of a whole envelope (v1) or batch (v2), audited naming its
 * first entry and, for a batch, its size and seq range. */
static void drop_batch(astrid_fed *f, const astrid_env_batch *b, const char *subject,
                       const char *reason)
{
    astrid_envelope env;
    astrid_env_batch_entry(b, 0, &env);
    if (b->n > 1)
        drop(f, &env, subject, "%s (batch of %zu, seq %" PRIu64 "..%" PRIu64 ")", reason, b->n,
             b->e[0].seq, b->e[b->n - 1].seq);
    else
        drop(f, &env, subject, "%s", reason);
}

/* An envelope or batch read from `subject`: parse, lattice, origin
 * trusted, signature (once for a whole batch). 0 = accepted (*b filled;
 * caller frees with astrid_env_batch_free); -1 = dropped (and audited
 * unless `quiet`); the caller frees *b either way (after a refusal it
 * holds the claimed origin, and with `quiet` an untrusted origin's
 * entries). Replay is checked per entry by the caller (replay_entry). */
static int accept_batch(astrid_fed *f, const char *subject, const char *data, size_t len,
                        astrid_env_batch *b, bool quiet)
{
    astrid_err err;
    memset(b, 0, sizeof *b);
    if (len > ASTRID_ENV_MAX_WIRE) {
        drop(f, NULL, subject, "envelope of %zu bytes, over the %u-byte limit", len,
             ASTRID_ENV_MAX_WIRE);
        return -1;
    }
    if (astrid_envelope_open(data, len, b, &err) != 0) {
        drop(f, NULL, subject, "not a valid envelope: %s", err.msg);
        return -1;
    }
    char why[600];
    if (strcmp(b->lattice, f->conf->lattice) != 0) {
        snprintf(why, sizeof why, "envelope of lattice %s on lattice %s", b->lattice,
                 f->conf->lattice);
        goto bad;
    }
    if (strcmp(b->origin, f->conf->host) == 0) {
        /* our own name from elsewhere: another host claiming it, or a
         * replay of ours; the signature check below would tell, but we
         * never import our own traffic anyway */
        snprintf(why, sizeof why, "envelope claims this host (%s) as its origin", b->origin);
        goto bad;
    }
    uint8_t pk[32];
    if (trust_key(f, b->origin, pk) != 0) {
        if (quiet) { /* the caller audits it (rate-limited), its entries still in *b */
            atomic_fetch_add(&f->dropped, 1);
            return -1;
        }
        snprintf(why, sizeof why, "host %s is not in the trust table", b->origin);
        goto bad;
    }
    if (astrid_env_batch_verify(b, pk, &err) != 0) {
        snprintf(why, sizeof why, "signature of %s does not verify: %s", b->origin, err.msg);
        goto bad;
    }
    return 0;
bad:
    drop_batch(f, b, subject, why);
    batch_clear(b);
    return -1;
}

/* The replay window of entry `i`'s origin: 0 = fresh (the origin is seen
 * alive), -1 = refused (err set). */
static int replay_entry(astrid_fed *f, const astrid_env_batch *b, size_t i, astrid_err *err)
{
    pthread_mutex_lock(&f->peers_lock);
    fed_peer *p = peer_get(f, b->origin, true);
    int rc = -1;
    if (p) {
        if (!p->has_window) {
            memset(&p->window, 0, sizeof p->window);
            p->has_window = true;
        }
        rc = astrid_replay_check(&p->window, b->e[i].seq, b->e[i].ts_ms, (int64_t)wall_ms(),
                                 f->conf->skew_ms, err);
        if (rc == 0) {
            p->last_seen_ms = astrid_now_ms();
            p->alive = true;
        }
    } else {
        astrid_err_set(err, ASTRID_E_LIMIT, "peer table full (%d hosts)", FED_MAX_PEERS);
    }
    pthread_mutex_unlock(&f->peers_lock);
    return rc;
}

/* One envelope (never a batch) on a control subject (heartbeats, acks,
 * pings): accept_batch, then its replay window. 0 = accepted (env and
 * *payload filled; caller frees payload); -1 = dropped (env holds the
 * claimed origin, if any). */
static int accept_env(astrid_fed *f, const char *subject, const char *data, size_t len,
                      astrid_envelope *env, char **payload, size_t *plen, bool quiet)
{
    astrid_env_batch b;
    astrid_err err;
    *payload = NULL;
    memset(env, 0, sizeof *env);
    int rc = accept_batch(f, subject, data, len, &b, quiet);
    if (b.n)
        astrid_env_batch_entry(&b, 0, env);
    else
        snprintf(env->origin, sizeof env->origin, "%s", b.origin);
    if (rc != 0)
        goto bad;
    if (b.version != ASTRID_ENV_VERSION) {
        drop_batch(f, &b, subject, "a batch envelope on a control subject");
        goto bad;
    }
    if (replay_entry(f, &b, 0, &err) != 0) {
        drop(f, env, subject, "refused from %s: %s", env->origin, err.msg);
        goto bad;
    }
    *payload = b.e[0].payload;
    *plen = b.e[0].payload_len;
    b.e[0].payload = NULL;
    astrid_env_batch_free(&b);
    return 0;
bad:
    astrid_env_batch_free(&b);
    return -1;
}

/* ------------------------------------------------------------ local side */

static bool is_llm_request(const char *topic)
{
    return strncmp(topic, "llm.v1.request.generate.", 24) == 0;
}

/* A remote request failed (no responder, timeout, denied, host lost):
 * tell the local requester the way a local failure would reach it. For a
 * model request that is the provider's own error event, so the turn ends
 * with "LLM error: federation: ..." like any provider failure. */
static void fail_request(astrid_fed *f, const char *topic, const char *principal,
                         const char *request_id, const char *kind, const char *msg)
{
    astrid_kernel *k = f->k;
    astrid_klog(k, "WARN", "federation: %s for %s (%s, request %s): %s", kind, topic, principal,
                request_id ? request_id : "-", msg);
    char text[700];
    snprintf(text, sizeof text, "federation: %s: %s", kind, msg);
    astrid_err err;
    if (is_llm_request(topic) && request_id) {
        char st[300];
        snprintf(st, sizeof st, "llm.v1.stream.%s", topic + 24);
        json_t *ev = json_pack("{s:s, s:{s:s}}", "request_id", request_id, "event", "Error", text);
        char *s = ev ? astrid_json_dumps(ev, JSON_COMPACT) : NULL;
        if (!s || astrid_kernel_bus_publish(k, st, s, strlen(s), f->source_id, principal, 0, NULL,
                                            &err) != 0)
            astrid_klog(k, "ERROR", "federation: could not report the failure of %s", topic);
        free(s);
        json_decref(ev);
        return;
    }
    json_t *ev = json_pack("{s:s, s:s, s:s, s:s?}", "topic", topic, "kind", kind, "error", msg,
                           "request_id", request_id);
    if (!ev || astrid_kernel_publish_to(k, NULL, principal, "astrid.v1.federation.error", ev,
                                        principal, &err) != 0)
        astrid_klog(k, "ERROR", "federation: could not report the failure of %s", topic);
    json_decref(ev);
}

static char *json_request_id(const json_t *o)
{
    static const char *const keys[] = {"request_id", "call_id", "correlation_id"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *s = json_string_value(json_object_get(o, keys[i]));
        if (s && *s && strlen(s) < 256)
            return strdup(s);
    }
    return NULL;
}

/* ------------------------------------------------------------- importing */

/* `principal@origin` for an envelope's principal; -1 when the envelope
 * names none (the origin kernel itself) or an already remote one (no
 * relaying of third hosts' principals). */
static int stamp(const astrid_envelope *env, char *out, size_t n)
{
    if (!env->principal[0] || strchr(env->principal, '@') ||
        astrid_principal_validate(env->principal, NULL) != 0)
        return -1;
    int w = snprintf(out, n, "%s@%s", env->principal, env->origin);
    return w > 0 && (size_t)w < n ? 0 : -1;
}

static void reply(astrid_fed *f, natsMsg *m, const json_t *body)
{
    const char *to = natsMsg_GetReply(m);
    if (!to || !*to)
        return;
    char *s = astrid_json_dumps(body, JSON_COMPACT);
    char *wire = NULL;
    size_t wl = 0;
    astrid_err err;
    if (s && seal(f, FED_TOPIC_ACK, "", s, strlen(s), &wire, &wl, &err) == 0)
        natsConnection_Publish(f->nc, to, wire, (int)wl);
    free(wire);
    free(s);
}

static void reply_ack(astrid_fed *f, natsMsg *m, bool ok, const char *kind, const char *error)
{
    json_t *b = ok ? json_pack("{s:b}", "ok", 1)
                   : json_pack("{s:b, s:s, s:s}", "ok", 0, "kind", kind, "error", error);
    if (b)
        reply(f, m, b);
    json_decref(b);
}

/* A message for a local principal on this host's directed subject: the
 * answer to one of our requests. Only the host that acked the request may
 * answer it, for the principal that sent it, while it runs. */
static int turn_answer(astrid_fed *f, const astrid_envelope *env, const json_t *body, char *local,
                       size_t n, char *why, size_t whyn)
{
    snprintf(local, n, "%s", env->principal);
    const char *rid = json_string_value(json_object_get(body, "request_id"));
    if (!rid)
        rid = json_string_value(json_object_get(body, "call_id"));
    if (!rid) {
        snprintf(why, whyn, "answer for %s names no request_id", local);
        return -1;
    }
    const json_t *ev = json_object_get(body, "event");
    bool last = (json_is_string(ev) && strcmp(json_string_value(ev), "Done") == 0) ||
                (json_is_object(ev) && json_object_get(ev, "Error"));
    int rc = -1;
    pthread_mutex_lock(&f->peers_lock);
    /* The serving host publishes the request on its bus before it acks,
     * so its first answers may overtake the ack: the first answer from a
     * trusted host binds the request to that host, as the ack would. */
    for (size_t i = 0; i < f->npending && f->nturns < FED_MAX_TURNS; i++) {
        fed_pending *pd = &f->pending[i];
        if (pd->kind != PEND_REQUEST || !pd->request_id || strcmp(pd->request_id, rid) != 0 ||
            strcmp(pd->principal, local) != 0)
            continue;
        f->turns[f->nturns] = (fed_turn){.request_id = pd->request_id,
                                         .principal = pd->principal,
                                         .topic = pd->topic,
                                         .payload = pd->payload,
                                         .len = pd->len,
                                         .last_ms = astrid_now_ms(),
                                         .attempt = pd->attempt};
        snprintf(f->turns[f->nturns].host, sizeof f->turns[0].host, "%s", env->origin);
        f->nturns++;
        f->pending[i] = f->pending[--f->npending];
        break;
    }
    for (size_t i = 0; i < f->nturns; i++) {
        fed_turn *t = &f->turns[i];
        if (strcmp(t->request_id, rid) != 0 || strcmp(t->principal, local) != 0)
            continue;
        if (strcmp(t->host, env->origin) != 0)
            break;
        t->events++;
        t->last_ms = astrid_now_ms();
        rc = 0;
        if (last) {
            free(t->request_id);
            free(t->principal);
            free(t->topic);
            free(t->payload);
            f->turns[i] = f->turns[--f->nturns];
        }
        break;
    }
    pthread_mutex_unlock(&f->peers_lock);
    if (rc != 0)
        snprintf(why, whyn, "no running request %s of %s served by %s", rid, local, env->origin);
    return rc;
}

static void on_heartbeat(astrid_fed *f, const char *subject, const char *data, size_t len)
{
    astrid_envelope env;
    char *payload;
    size_t plen;
    if (accept_env(f, subject, data, len, &env, &payload, &plen, true) != 0) {
        /* a host we do not trust: say so once a minute, not per beat */
        if (env.origin[0]) {
            uint64_t now = astrid_now_ms();
            size_t slot = 0;
            for (size_t i = 0; i < 16; i++) {
                if (strcmp(f->hb_warned[i], env.origin) == 0) {
                    slot = i;
                    break;
                }
                if (f->hb_warned_ms[i] < f->hb_warned_ms[slot])
                    slot = i;
            }
            if (strcmp(f->hb_warned[slot], env.origin) != 0 ||
                now - f->hb_warned_ms[slot] > 60000) {
                snprintf(f->hb_warned[slot], sizeof f->hb_warned[slot], "%s", env.origin);
                f->hb_warned_ms[slot] = now;
                fed_audit(f, "federation_drop", &env, subject, NULL,
                          "heartbeat of a host not in the trust table");
                astrid_klog(f->k, "WARN", "federation: heartbeat of untrusted host %s ignored",
                            env.origin);
            }
        }
        return;
    }
    json_t *b = astrid_json_loadb(payload, plen, 0, NULL);
    free(payload);
    const json_t *sv = json_object_get(b, "serves");
    pthread_mutex_lock(&f->peers_lock);
    fed_peer *p = peer_get(f, env.origin, false);
    if (p && json_is_array(sv)) {
        for (size_t i = 0; i < p->nserves; i++)
            free(p->serves[i]);
        p->nserves = 0;
        for (size_t i = 0; i < json_array_size(sv) && p->nserves < FED_MAX_SERVES; i++) {
            const char *t = json_string_value(json_array_get(sv, i));
            if (t && astrid_topic_check(t, ASTRID_TOPIC_SUBSCRIBE, NULL) == 0)
                p->serves[p->nserves++] = strdup(t);
        }
    }
    pthread_mutex_unlock(&f->peers_lock);
    json_decref(b);
}

static void on_inbox(astrid_fed *f, natsMsg *m)
{
    const char *subject = natsMsg_GetSubject(m);
    const char *dot = strrchr(subject, '.');
    uint64_t id = dot ? strtoull(dot + 1, NULL, 10) : 0;
    bool noresp = natsMsg_IsNoResponders(m);
    astrid_envelope env;
    char *payload = NULL;
    size_t plen = 0;
    if (!noresp && accept_env(f, subject, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m),
                              &env, &payload, &plen, false) != 0)
        return;
    json_t *b = payload ? astrid_json_loadb(payload, plen, 0, NULL) : NULL;
    free(payload);
    pthread_mutex_lock(&f->peers_lock);
    fed_pending pd = {0};
    bool found = false;
    for (size_t i = 0; i < f->npending; i++)
        if (f->pending[i].id == id) {
            pd = f->pending[i];
            f->pending[i] = f->pending[--f->npending];
            found = true;
            break;
        }
    uint64_t now = astrid_now_ms();
    if (found && !noresp) {
        fed_peer *p = peer_get(f, env.origin, false);
        if (p)
            p->rtt_ms = (double)(now - pd.sent_ms);
    }
    bool ok = b && json_is_true(json_object_get(b, "ok"));
    bool keep = false;
    if (found && pd.kind == PEND_REQUEST && ok && pd.request_id && f->nturns < FED_MAX_TURNS) {
        f->turns[f->nturns++] = (fed_turn){.request_id = pd.request_id,
                                           .principal = pd.principal,
                                           .topic = pd.topic,
                                           .payload = pd.payload,
                                           .len = pd.len,
                                           .last_ms = now,
                                           .attempt = pd.attempt};
        snprintf(f->turns[f->nturns - 1].host, sizeof f->turns[0].host, "%s", env.origin);
        keep = true;
    }
    pthread_mutex_unlock(&f->peers_lock);
    if (found && pd.kind == PEND_REQUEST && !ok) {
        const char *kind = noresp ? "no_responder" : json_string_value(json_object_get(b, "kind"));
        const char *error = noresp ? "no host of the lattice serves this topic"
                                   : json_string_value(json_object_get(b, "error"));
        fail_request(f, pd.topic, pd.principal, pd.request_id, kind ? kind : "internal",
                     error ? error : "refused by the serving host");
    }
    if (found && !keep) {
        free(pd.topic);
        free(pd.principal);
        free(pd.request_id);
        free(pd.payload);
    }
    json_decref(b);
}

static void on_ping(astrid_fed *f, natsMsg *m, const char *subject)
{
    astrid_envelope env;
    char *payload;
    size_t plen;
    if (accept_env(f, subject, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), &env, &payload,
                   &plen, false) != 0)
        return;
    free(payload);
    json_t *b = json_pack("{s:b}", "pong", 1);
    if (b)
        reply(f, m, b);
    json_decref(b);
}

/* The import audit of a batch envelope (v2): one entry per signed batch
 * (a batch already spreads the entry's cost over its messages). It keeps
 * the first imported message's fields where a single import has them,
 * `count` and `seq_last` of the imported ones, the batch's signature as
 * `origin_signature`, and `batch`: {"v":2, "entries": [[principal, seq,
 * ts_ms, payload_b3], ...] (every signed entry, imported or not: the
 * signature covers them all), "imported": [[index, stamped principal],
 * ...]}, so the origin's signature can be checked again (fedtool
 * verify-audit). */
static void batch_audit(astrid_fed *f, const astrid_env_batch *b, const char *subject,
                        const size_t *idx, char (*stamped)[300], size_t k)
{
    char sig[129], b3[65];
    astrid_hex_encode(sig, b->sig, sizeof b->sig);
    const astrid_env_entry *e0 = &b->e[idx[0]];
    astrid_hex_encode(b3, e0->payload_b3, sizeof e0->payload_b3);
    json_t *action = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:I, s:I}",
                               "type", "federation_import", "subject", subject, "origin", b->origin,
                               "remote_principal", e0->principal, "principal", stamped[0], "topic",
                               b->topic, "seq", (json_int_t)e0->seq, "ts_ms", (json_int_t)e0->ts_ms,
                               "payload_b3", b3, "origin_signature", sig, "count", (json_int_t)k,
                               "seq_last", (json_int_t)b->e[idx[k - 1]].seq);
    json_t *entries = json_array(), *imported = json_array();
    for (size_t i = 0; entries && i < b->n; i++) {
        astrid_hex_encode(b3, b->e[i].payload_b3, sizeof b->e[i].payload_b3);
        json_array_append_new(entries,
                              json_pack("[s, I, I, s]", b->e[i].principal, (json_int_t)b->e[i].seq,
                                        (json_int_t)b->e[i].ts_ms, b3));
    }
    for (size_t i = 0; imported && i < k; i++)
        json_array_append_new(imported, json_pack("[I, s]", (json_int_t)idx[i], stamped[i]));
    json_t *batch = entries && imported
                        ? json_pack("{s:i, s:O, s:O}", "v", ASTRID_ENV_BATCH_VERSION, "entries",
                                    entries, "imported", imported)
                        : NULL;
    json_decref(entries);
    json_decref(imported);
    if (action && batch)
        json_object_set_new(action, "batch", batch);
    else
        json_decref(batch);
    json_t *auth = astrid_audit_auth_system("batch signature verified with the trust table's key "
                                            "of its origin");
    json_t *out = astrid_audit_outcome_success(NULL);
    astrid_err err;
    if (!action || !json_object_get(action, "batch") || !auth || !out ||
        astrid_audit_append_mode(f->k->audit, ASTRID_AUDIT_WRITE_BEHIND, "default", action, auth,
                                 out, NULL, &err) < 0)
        astrid_klog(f->k, "ERROR", "federation: audit of a batch of %zu imports from %s failed", k,
                    b->origin);
    json_decref(action);
    json_decref(auth);
    json_decref(out);
}

/* Entry `i` of an accepted (signature-checked) envelope or batch: its own
 * replay window, then the batch-wide refusal if any, then the principal
 * stamp, admission and the local bus. 0 = imported (*principal stamped).
 * Acks go only to a single envelope (a request): a batch is never one. */
static int import_entry(astrid_fed *f, sub_kind kind, natsMsg *m, const char *subject,
                        const char *topic, const astrid_env_batch *b, size_t i, const char *refusal,
                        char principal[300], char admitted[300])
{
    astrid_envelope env;
    astrid_env_batch_entry(b, i, &env);
    const astrid_env_entry *e = &b->e[i];
    bool ack = kind == SUB_SERVE && b->version == ASTRID_ENV_VERSION;
    astrid_err err;
    if (replay_entry(f, b, i, &err) != 0) {
        drop(f, &env, subject, "refused from %s: %s", env.origin, err.msg);
        return -1;
    }
    char why[400];
    json_t *body = NULL;
    int rc = -1;
    if (refusal)
        goto refuse;
    body = astrid_json_loadb(e->payload, e->payload_len, 0, NULL);
    if (!json_is_object(body)) {
        refusal = "payload is not a JSON object";
        goto refuse;
    }
    /* On this host's directed subject: the answer to one of our requests
     * (same principal, request id, served by the origin) is our
     * principal's; anything else is the origin's principal as usual. */
    if (kind == SUB_DIRECT && turn_answer(f, &env, body, principal, 300, why, sizeof why) == 0) {
    } else if (stamp(&env, principal, 300) != 0) {
        refusal = "the envelope names no principal of its origin (or one of a third host)";
        goto refuse;
    }
    /* Admitted per entry; within one envelope the decision for the same
     * principal as the entry before is taken once (a profile file looked
     * up and a remote profile built per message cost more than the
     * decision is worth repeating microseconds later). */
    char reason[512];
    if (strcmp(admitted, principal) != 0) {
        if (astrid_principal_admissible(f->k, principal, reason, sizeof reason) != 0) {
            admitted[0] = 0;
            drop(f, &env, subject, "%s", reason);
            if (ack)
                reply_ack(f, m, false, "permission_denied", reason);
            goto out;
        }
        snprintf(admitted, 300, "%s", principal);
    }
    if (astrid_kernel_bus_publish(f->k, topic, e->payload, e->payload_len, f->source_id, principal,
                                  ASTRID_PUB_RATE_LIMIT, NULL, &err) != 0) {
        drop(f, &env, subject, "local bus refused it: %s", err.msg);
        if (ack)
            reply_ack(f, m, false, err.code == ASTRID_E_LIMIT ? "rate_limited" : "invalid",
                      err.msg);
        goto out;
    }
    atomic_fetch_add(&f->imported, 1);
    if (b->version == ASTRID_ENV_VERSION)
        imp_add(f, &env, subject, principal);
    if (ack)
        reply_ack(f, m, true, NULL, NULL);
    rc = 0;
    goto out;
refuse:
    drop(f, &env, subject, "%s", refusal);
    if (ack)
        reply_ack(f, m, false, "invalid", refusal);
out:
    json_decref(body);
    return rc;
}

static void on_message(astrid_fed *f, sub_kind kind, natsMsg *m)
{
    const char *subject = natsMsg_GetSubject(m);
    char host[ASTRID_FED_NAME_MAX + 1], topic[ASTRID_TOPIC_MAX_BYTES + 1];
    if (astrid_fed_topic_of(subject, f->conf->lattice, host, sizeof host, topic, sizeof topic) !=
        0) {
        drop(f, NULL, subject, "not a topic subject of lattice %s", f->conf->lattice);
        return;
    }
    astrid_env_batch b;
    if (accept_batch(f, subject, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), &b, false) !=
        0) {
        astrid_env_batch_free(&b);
        return;
    }
    /* Refusals of the whole envelope are applied per entry after its
     * replay check, so a refused message still burns its seq. */
    const char *refusal = NULL;
    bool listed = kind == SUB_SERVE
                      ? astrid_fed_topic_listed(f->conf->serves, f->conf->nserves, topic)
                      : astrid_fed_topic_listed(f->conf->imports, f->conf->nimports, topic) ||
                            astrid_fed_topic_listed(f->conf->serves, f->conf->nserves, topic);
    if (strcmp(b.topic, topic) != 0)
        refusal = "the envelope was sealed for another topic";
    else if (!listed)
        refusal = "topic is not in this host's import or serve list";
    size_t *idx = NULL;
    char(*stamped)[300] = NULL;
    if (b.version != ASTRID_ENV_VERSION &&
        (!(idx = malloc(b.n * sizeof *idx)) || !(stamped = malloc(b.n * sizeof *stamped)))) {
        drop_batch(f, &b, subject, "out of memory for a batch");
        goto out;
    }
    size_t k = 0;
    char one[300] = "", admitted[300] = "";
    for (size_t i = 0; i < b.n; i++)
        if (import_entry(f, kind, m, subject, topic, &b, i, refusal, stamped ? stamped[k] : one,
                         admitted) == 0 &&
            idx)
            idx[k++] = i;
    if (k)
        batch_audit(f, &b, subject, idx, stamped, k);
out:
    free(idx);
    free(stamped);
    astrid_env_batch_free(&b);
}

static void on_nats(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *closure)
{
    (void)nc;
    (void)sub;
    sub_ctx *c = closure;
    astrid_fed *f = c->f;
    const char *subject = natsMsg_GetSubject(m);
    switch (c->kind) {
    case SUB_HB:
        on_heartbeat(f, subject, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
        break;
    case SUB_INBOX:
        on_inbox(f, m);
        break;
    case SUB_DIRECT: {
        /* astrid.<lattice>.@<host>.@ping: a control subject, not a topic */
        const char *tail = strrchr(subject, '.');
        if (tail && strcmp(tail, ".@ping") == 0) {
            on_ping(f, m, subject);
            break;
        }
        on_message(f, c->kind, m);
        break;
    }
    default:
        on_message(f, c->kind, m);
    }
    natsMsg_Destroy(m);
}

/* -------------------------------------------------------------- exporting */

static bool peer_serves(astrid_fed *f, const char *topic)
{
    bool yes = false;
    pthread_mutex_lock(&f->peers_lock);
    for (size_t i = 0; i < f->npeers && !yes; i++)
        if (f->peers[i].alive)
            for (size_t j = 0; j < f->peers[i].nserves && !yes; j++)
                yes = astrid_topic_sub_matches_bus(topic, f->peers[i].serves[j]);
    pthread_mutex_unlock(&f->peers_lock);
    return yes;
}

/* Send a request with NATS request/reply: the ack (or its absence) says
 * whether a serving host took it. Takes ownership of the strings. */
static void send_request(astrid_fed *f, char *topic, char *principal, char *request_id,
                         char *payload, size_t len, int attempt)
{
    char subj[ASTRID_FED_SUBJECT_MAX], rep[200];
    char *wire = NULL;
    size_t wl = 0;
    astrid_err err;
    uint64_t id = atomic_fetch_add(&f->next_id, 1);
    const char *fail = NULL;
    if (astrid_fed_subject(subj, sizeof subj, f->conf->lattice, NULL, topic, &err) != 0 ||
        seal(f, topic, principal, payload, len, &wire, &wl, &err) != 0) {
        fail = err.msg;
        goto failed;
    }
    snprintf(rep, sizeof rep, "%s.%" PRIu64, f->inbox, id);
    uint64_t now = astrid_now_ms();
    pthread_mutex_lock(&f->peers_lock);
    bool room = f->npending < FED_MAX_PENDING;
    if (room)
        f->pending[f->npending++] = (fed_pending){.id = id,
                                                  .kind = PEND_REQUEST,
                                                  .sent_ms = now,
                                                  .deadline_ms = now + f->conf->request_timeout_ms,
                                                  .topic = topic,
                                                  .principal = principal,
                                                  .request_id = request_id,
                                                  .payload = payload,
                                                  .len = len,
                                                  .attempt = attempt};
    pthread_mutex_unlock(&f->peers_lock);
    if (!room) {
        fail = "too many requests waiting for the lattice";
        goto failed;
    }
    natsStatus s = natsConnection_PublishRequest(f->nc, subj, rep, wire, (int)wl);
    free(wire);
    if (s != NATS_OK)
        astrid_klog(f->k, "WARN", "federation: publish of %s: %s (the deadline will tell)", topic,
                    natsStatus_GetText(s));
    atomic_fetch_add(&f->exported, 1);
    return;
failed:
    free(wire);
    fail_request(f, topic, principal, request_id, "internal", fail);
    free(topic);
    free(principal);
    free(request_id);
    free(payload);
}

/* The exporter's feed filter (publisher's thread, bus list read-locked):
 * only what could be exported is queued, so the bridge's own imports and
 * local traffic on other topics never wake the exporter. The conf is fixed
 * for the daemon's life and source_id for the bridge's. */
static bool export_wanted(void *ctx, const astrid_msg *m)
{
    const astrid_fed *f = ctx;
    return m->principal && m->is_json && strcmp(m->source_id, f->source_id) != 0 &&
           astrid_fed_topic_listed(f->conf->exports, f->conf->nexports, m->topic);
}

typedef enum { EXP_SKIP, EXP_REQUEST, EXP_PUBLISH } exp_kind;

/* What the exporter does with a bus message: nothing; a NATS request (a
 * local principal's message on a topic a live peer serves); or a plain
 * publish on `subj`, sealed as `as`. Decides only: sends nothing. */
static exp_kind export_kind(astrid_fed *f, const astrid_msg *m, char subj[ASTRID_FED_SUBJECT_MAX],
                            char as[ASTRID_REMOTE_PRINCIPAL_MAX + 1])
{
    if (strcmp(m->source_id, f->source_id) == 0 || m->restricted || !m->principal || !m->is_json ||
        !astrid_fed_topic_listed(f->conf->exports, f->conf->nexports, m->topic))
        return EXP_SKIP;
    astrid_err err;
    const char *at = strchr(m->principal, '@');
    if (at) {
        /* a remote principal's traffic (a served request's answers) goes
         * back to its own host only, sealed as that host's principal: its
         * host takes it as an answer to its own request or not at all */
        if (!astrid_fed_name_valid(at + 1) ||
            (size_t)(at - m->principal) > ASTRID_REMOTE_PRINCIPAL_MAX ||
            astrid_fed_subject(subj, ASTRID_FED_SUBJECT_MAX, f->conf->lattice, at + 1, m->topic,
                               &err) != 0)
            return EXP_SKIP;
        memcpy(as, m->principal, (size_t)(at - m->principal));
        as[at - m->principal] = 0;
        return EXP_PUBLISH;
    }
    if (peer_serves(f, m->topic))
        return EXP_REQUEST;
    if (astrid_fed_subject(subj, ASTRID_FED_SUBJECT_MAX, f->conf->lattice, NULL, m->topic, &err) !=
            0 ||
        strlen(m->principal) > ASTRID_REMOTE_PRINCIPAL_MAX)
        return EXP_SKIP;
    snprintf(as, ASTRID_REMOTE_PRINCIPAL_MAX + 1, "%s", m->principal);
    return EXP_PUBLISH;
}

static void export_request(astrid_fed *f, const astrid_msg *m)
{
    json_t *o = astrid_json_loadb((const char *)m->payload, m->len, 0, NULL);
    char *rid = json_request_id(o);
    json_decref(o);
    char *topic = strdup(m->topic), *pr = strdup(m->principal), *pl = malloc(m->len + 1);
    if (!topic || !pr || !pl) {
        free(topic);
        free(pr);
        free(pl);
        free(rid);
        return;
    }
    memcpy(pl, m->payload, m->len);
    pl[m->len] = 0;
    send_request(f, topic, pr, rid, pl, m->len, 0);
}

static void export_single(astrid_fed *f, const char *subj, const astrid_msg *m, const char *as)
{
    char *wire = NULL;
    size_t wl = 0;
    astrid_err err;
    if (seal(f, m->topic, as, (const char *)m->payload, m->len, &wire, &wl, &err) != 0) {
        astrid_klog(f->k, "WARN", "federation: cannot seal %s: %s", m->topic, err.msg);
        return;
    }
    natsStatus s = natsConnection_Publish(f->nc, subj, wire, (int)wl);
    free(wire);
    if (s == NATS_OK)
        atomic_fetch_add(&f->exported, 1);
    else
        astrid_klog(f->k, "WARN", "federation: publish of %s: %s", m->topic, natsStatus_GetText(s));
}

/* Publish a run of n messages for one subject: alone as a v1 envelope,
 * else as one batch envelope (one signature, one NATS message; seqs taken
 * in one step, so they are contiguous). A batch the envelope refuses (too
 * large, a payload it cannot carry) goes out message by message. */
static void export_run(astrid_fed *f, const char *subj, const astrid_msg *const *ms,
                       char (*as)[ASTRID_REMOTE_PRINCIPAL_MAX + 1], size_t n)
{
    if (n == 1) {
        export_single(f, subj, ms[0], as[0]);
        return;
    }
    astrid_env_entry e[FED_EXPORT_BATCH];
    astrid_env_batch b;
    memset(&b, 0, sizeof b);
    bool fits = strlen(ms[0]->topic) < sizeof b.topic;
    for (size_t i = 0; i < n; i++)
        fits = fits && strlen(as[i]) < sizeof e[i].principal; /* never a truncated principal */
    if (!fits) {
        for (size_t i = 0; i < n; i++)
            export_single(f, subj, ms[i], as[i]); /* seal() refuses it with its reason */
        return;
    }
    snprintf(b.lattice, sizeof b.lattice, "%s", f->conf->lattice);
    snprintf(b.origin, sizeof b.origin, "%s", f->conf->host);
    snprintf(b.topic, sizeof b.topic, "%s", ms[0]->topic);
    uint64_t seq = atomic_fetch_add(&f->seq, n);
    int64_t ts = (int64_t)wall_ms();
    for (size_t i = 0; i < n; i++) {
        memset(&e[i], 0, sizeof e[i]);
        snprintf(e[i].principal, sizeof e[i].principal, "%s", as[i]);
        e[i].seq = seq + i;
        e[i].ts_ms = ts;
        e[i].payload = (char *)ms[i]->payload;
        e[i].payload_len = ms[i]->len;
    }
    b.e = e;
    b.n = n;
    char *wire = NULL;
    size_t wl = 0;
    astrid_err err;
    if (astrid_envelope_batch_seal(&b, &f->k->key, &wire, &wl, &err) != 0) {
        for (size_t i = 0; i < n; i++)
            export_single(f, subj, ms[i], as[i]);
        return;
    }
    natsStatus s = natsConnection_Publish(f->nc, subj, wire, (int)wl);
    free(wire);
    if (s == NATS_OK)
        atomic_fetch_add(&f->exported, n);
    else
        astrid_klog(f->k, "WARN", "federation: publish of a batch of %zu on %s: %s", n,
                    ms[0]->topic, natsStatus_GetText(s));
}

/* Export what the feed held: consecutive plain publishes for one subject
 * go as one batch (never waiting for more: what is queued is taken). */
static void export_all(astrid_fed *f, const astrid_msg *const *ms, size_t n)
{
    static_assert(FED_EXPORT_BATCH <= ASTRID_ENV_BATCH_MAX, "batch over the envelope's limit");
    char subj[ASTRID_FED_SUBJECT_MAX], next[ASTRID_FED_SUBJECT_MAX];
    char(*as)[ASTRID_REMOTE_PRINCIPAL_MAX + 1] = f->exp_as;
    size_t i = 0;
    while (i < n) {
        exp_kind k = export_kind(f, ms[i], subj, as[0]);
        if (k != EXP_PUBLISH) {
            if (k == EXP_REQUEST)
                export_request(f, ms[i]);
            i++;
            continue;
        }
        size_t j = i + 1, bytes = ms[i]->len;
        while (j < n && j - i < FED_EXPORT_BATCH && bytes + ms[j]->len <= FED_EXPORT_BATCH_BYTES &&
               export_kind(f, ms[j], next, as[j - i]) == EXP_PUBLISH && strcmp(next, subj) == 0) {
            bytes += ms[j]->len;
            j++;
        }
        export_run(f, subj, ms + i, as, j - i);
        i = j;
    }
}

static bool is_stopping(astrid_fed *f)
{
    pthread_mutex_lock(&f->stop_lock);
    bool s = f->stopping;
    pthread_mutex_unlock(&f->stop_lock);
    return s;
}

static void *exporter_main(void *arg)
{
    astrid_fed *f = arg;
    const astrid_msg *batch[256];
    while (!is_stopping(f)) {
        size_t n = astrid_sub_pop_batch(f->feed, FED_AUDIT_FLUSH_MS, batch, 256);
        export_all(f, batch, n);
        for (size_t i = 0; i < n; i++)
            astrid_msg_unref(batch[i]);
        imp_flush(f, FED_AUDIT_FLUSH_MS);
    }
    return NULL;
}

/* ---------------------------------------------------------------- ticker */

static void heartbeat(astrid_fed *f)
{
    json_t *sv = json_array();
    for (size_t i = 0; sv && i < f->conf->nserves; i++)
        json_array_append_new(sv, json_string(f->conf->serves[i]));
    json_t *b = json_pack("{s:s, s:o}", "host", f->conf->host, "serves", sv);
    char *s = b ? astrid_json_dumps(b, JSON_COMPACT) : NULL;
    json_decref(b);
    char subj[ASTRID_FED_SUBJECT_MAX], *wire = NULL;
    size_t wl = 0;
    snprintf(subj, sizeof subj, "astrid.%s.@.hb", f->conf->lattice);
    if (s && seal(f, FED_TOPIC_HB, "", s, strlen(s), &wire, &wl, NULL) == 0)
        natsConnection_Publish(f->nc, subj, wire, (int)wl);
    free(wire);
    free(s);
}

static void ping(astrid_fed *f, const char *host)
{
    char subj[ASTRID_FED_SUBJECT_MAX], rep[200], *wire = NULL;
    size_t wl = 0;
    uint64_t id = atomic_fetch_add(&f->next_id, 1);
    snprintf(subj, sizeof subj, "astrid.%s.@%s.@ping", f->conf->lattice, host);
    snprintf(rep, sizeof rep, "%s.%" PRIu64, f->inbox, id);
    if (seal(f, FED_TOPIC_PING, "", "{}", 2, &wire, &wl, NULL) != 0)
        return;
    uint64_t now = astrid_now_ms();
    pthread_mutex_lock(&f->peers_lock);
    bool room = f->npending < FED_MAX_PENDING;
    if (room) {
        f->pending[f->npending] =
            (fed_pending){.id = id, .kind = PEND_PING, .sent_ms = now, .deadline_ms = now + 5000};
        snprintf(f->pending[f->npending].host, sizeof f->pending[0].host, "%s", host);
        f->npending++;
    }
    pthread_mutex_unlock(&f->peers_lock);
    if (room)
        natsConnection_PublishRequest(f->nc, subj, rep, wire, (int)wl);
    free(wire);
}

typedef struct fed_redo {
    char *topic, *principal, *request_id, *payload;
    size_t len;
    int attempt;
    bool resend;
    char why[200];
} fed_redo;

/* Appends `r` (its strings move into the list). False when the list cannot
 * grow: the caller then leaves the item where it was, for the next tick to
 * try again, rather than dropping a request nobody would ever answer. */
static bool redo_push(fed_redo **redo, size_t *n, size_t *cap, const fed_redo *r)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        fed_redo *nr = realloc(*redo, nc * sizeof *nr);
        if (!nr)
            return false;
        *redo = nr;
        *cap = nc;
    }
    (*redo)[(*n)++] = *r;
    return true;
}

/* Liveness, deadlines, failover. Work found under peers_lock is done after
 * it is released (publishing on the bus or on NATS under it would stall
 * every delivery thread). */
static void tick(astrid_fed *f, unsigned round)
{
    uint64_t now = astrid_now_ms();
    fed_redo *redo = NULL;
    size_t nredo = 0, capredo = 0;
    char pings[FED_MAX_PEERS][ASTRID_FED_NAME_MAX + 1];
    size_t npings = 0;
    pthread_mutex_lock(&f->peers_lock);
    for (size_t i = 0; i < f->npeers; i++) {
        fed_peer *p = &f->peers[i];
        bool was = p->alive;
        p->alive = p->last_seen_ms && now - p->last_seen_ms <= f->conf->peer_timeout_ms;
        if (was && !p->alive)
            astrid_klog(f->k, "WARN", "federation: host %s silent for %" PRIu64 " ms: lost",
                        p->name, now - p->last_seen_ms);
        if (p->alive && round % FED_PING_EVERY == 0)
            snprintf(pings[npings++], sizeof pings[0], "%s", p->name);
    }
    for (size_t i = 0; i < f->npending;) {
        fed_pending *pd = &f->pending[i];
        if (now < pd->deadline_ms) {
            i++;
            continue;
        }
        if (pd->kind == PEND_REQUEST &&
            !redo_push(&redo, &nredo, &capredo,
                       &(fed_redo){.topic = pd->topic,
                                   .principal = pd->principal,
                                   .request_id = pd->request_id,
                                   .payload = pd->payload,
                                   .len = pd->len,
                                   .why = "no serving host answered within the deadline"})) {
            i++;
            continue;
        }
        f->pending[i] = f->pending[--f->npending];
    }
    for (size_t i = 0; i < f->nturns;) {
        fed_turn *t = &f->turns[i];
        fed_peer *p = peer_get(f, t->host, false);
        bool lost = !p || !p->alive;
        if (!lost && now - t->last_ms < FED_TURN_IDLE_MS) {
            i++;
            continue;
        }
        if (lost) {
            /* Nothing of the answer reached the requester yet: the
             * request goes to the queue group again (another host takes
             * it). Once events flowed, a second answer would splice two
             * streams: the turn fails with an error instead. */
            bool resend = t->events == 0 && t->attempt == 0;
            fed_redo r = {.topic = t->topic,
                          .principal = t->principal,
                          .request_id = t->request_id,
                          .payload = t->payload,
                          .len = t->len,
                          .attempt = t->attempt + 1,
                          .resend = resend};
            snprintf(r.why, sizeof r.why, "host %s was lost %s", t->host,
                     t->events ? "mid-stream" : "before it answered");
            if (!redo_push(&redo, &nredo, &capredo, &r)) {
                i++;
                continue;
            }
        } else {
            free(t->topic);
            free(t->principal);
            free(t->request_id);
            free(t->payload);
        }
        /* memmove, not an assignment: after a struct copy between two
         * symbolic indexes the analyzer still sees the freed pointers at
         * i and reports a double free on the next round. */
        memmove(t, &f->turns[--f->nturns], sizeof *t);
    }
    pthread_mutex_unlock(&f->peers_lock);
    for (size_t i = 0; i < npings; i++)
        ping(f, pings[i]);
    for (size_t i = 0; i < nredo; i++) {
        fed_redo *r = &redo[i];
        if (r->resend) {
            astrid_klog(f->k, "INFO", "federation: %s; sending %s again to the lattice", r->why,
                        r->topic);
            send_request(f, r->topic, r->principal, r->request_id, r->payload, r->len, r->attempt);
            continue;
        }
        fail_request(f, r->topic, r->principal, r->request_id,
                     strstr(r->why, "deadline") ? "timeout" : "unavailable", r->why);
        free(r->topic);
        free(r->principal);
        free(r->request_id);
        free(r->payload);
    }
    free(redo);
}

static void *ticker_main(void *arg)
{
    astrid_fed *f = arg;
    unsigned round = 0;
    pthread_mutex_lock(&f->stop_lock);
    while (!f->stopping) {
        pthread_mutex_unlock(&f->stop_lock);
        heartbeat(f);
        tick(f, round++);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        uint64_t ns = (uint64_t)until.tv_nsec + (uint64_t)f->conf->heartbeat_ms * 1000000u;
        until.tv_sec += (time_t)(ns / 1000000000u);
        until.tv_nsec = (long)(ns % 1000000000u);
        pthread_mutex_lock(&f->stop_lock);
        if (!f->stopping)
            pthread_cond_timedwait(&f->stop_cond, &f->stop_lock, &until);
    }
    pthread_mutex_unlock(&f->stop_lock);
    return NULL;
}

/* ------------------------------------------------------------- lifecycle */

static void on_connected(natsConnection *nc, void *closure)
{
    (void)nc;
    astrid_fed *f = closure;
    astrid_klog(f->k, "INFO", "federation: connected to NATS");
}

static void on_disconnected(natsConnection *nc, void *closure)
{
    (void)nc;
    astrid_fed *f = closure;
    astrid_klog(f->k, "WARN", "federation: NATS connection lost, reconnecting");
}

static void on_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure)
{
    (void)nc;
    (void)sub;
    astrid_fed *f = closure;
    astrid_klog(f->k, "WARN", "federation: NATS: %s", natsStatus_GetText(err));
}

static int nats_fail(astrid_err *err, const char *what, natsStatus s)
{
    return astrid_err_set(err, ASTRID_E_IO, "federation: %s: %s (%s)", what, natsStatus_GetText(s),
                          nats_GetLastError(NULL));
}

static int options(astrid_fed *f, astrid_err *err)
{
    const astrid_fedconf *c = f->conf;
    natsStatus s = natsOptions_Create(&f->opts);
    if (s != NATS_OK)
        return nats_fail(err, "options", s);
    char name[200];
    snprintf(name, sizeof name, "astrid-%s-%s", c->lattice, c->host);
    if ((s = natsOptions_SetServers(f->opts, (const char **)c->urls, (int)c->nurls)) != NATS_OK ||
        (s = natsOptions_SetName(f->opts, name)) != NATS_OK ||
        (s = natsOptions_SetNoEcho(f->opts, true)) != NATS_OK ||
        (s = natsOptions_UseGlobalMessageDelivery(f->opts, true)) != NATS_OK ||
        /* without it every publish waits for libnats's flusher thread
         * (~1 ms): two exports per round trip made the bridge 4x slower;
         * one write per message costs far less than its signature */
        (s = natsOptions_SetSendAsap(f->opts, true)) != NATS_OK ||
        (s = natsOptions_SetMaxReconnect(f->opts, -1)) != NATS_OK ||
        (s = natsOptions_SetReconnectWait(f->opts, 250)) != NATS_OK ||
        (s = natsOptions_SetDisconnectedCB(f->opts, on_disconnected, f)) != NATS_OK ||
        (s = natsOptions_SetErrorHandler(f->opts, on_error, f)) != NATS_OK)
        return nats_fail(err, "options", s);
    if (c->tls_ca || c->tls_cert) {
        if ((s = natsOptions_SetSecure(f->opts, true)) != NATS_OK ||
            (c->tls_ca &&
             (s = natsOptions_LoadCATrustedCertificates(f->opts, c->tls_ca)) != NATS_OK) ||
            (c->tls_cert &&
             (s = natsOptions_LoadCertificatesChain(f->opts, c->tls_cert, c->tls_key)) != NATS_OK))
            return nats_fail(err, "TLS files", s);
    }
    if (c->nkey_seed) {
        char seed[200] = "";
        FILE *fp = fopen(c->nkey_seed, "r");
        if (!fp)
            return astrid_err_sys(err, "federation: nkey seed %s", c->nkey_seed);
        size_t n = fread(seed, 1, sizeof seed - 1, fp);
        fclose(fp);
        seed[n] = 0;
        char pub[80];
        int rc = astrid_nkey_public_of_seed(seed, pub, sizeof pub, err);
        memset(seed, 0, sizeof seed);
        if (rc != 0)
            return astrid_err_prefix(err, "federation: %s", c->nkey_seed);
        if ((s = natsOptions_SetNKeyFromSeed(f->opts, pub, c->nkey_seed)) != NATS_OK)
            return nats_fail(err, "nkey", s);
    }
    return 0;
}

static int subscribe(astrid_fed *f, const char *subj, const char *queue, sub_kind kind,
                     astrid_err *err)
{
    if (f->nsubs == sizeof f->subs / sizeof f->subs[0])
        return astrid_err_set(err, ASTRID_E_LIMIT, "federation: too many subscriptions");
    sub_ctx *c = &f->ctxs[f->nsubs];
    *c = (sub_ctx){f, kind};
    natsSubscription *s = NULL;
    natsStatus st = queue ? natsConnection_QueueSubscribe(&s, f->nc, subj, queue, on_nats, c)
                          : natsConnection_Subscribe(&s, f->nc, subj, on_nats, c);
    if (st != NATS_OK) {
        /* a closed connection: the server refused us (authorization, TLS);
         * its reason says more than the subscription's status */
        const char *why = NULL;
        if (natsConnection_Status(f->nc) == NATS_CONN_STATUS_CLOSED &&
            natsConnection_GetLastError(f->nc, &why) != NATS_OK && why && *why)
            return astrid_err_set(err, ASTRID_E_PERM, "federation: connect: %s", why);
        return nats_fail(err, subj, st);
    }
    natsSubscription_SetPendingLimits(s, 65536, 256 * 1024 * 1024);
    f->subs[f->nsubs++] = s;
    return 0;
}

static void fed_free(astrid_fed *f)
{
    for (size_t i = 0; i < f->npending; i++) {
        free(f->pending[i].topic);
        free(f->pending[i].principal);
        free(f->pending[i].request_id);
        free(f->pending[i].payload);
    }
    for (size_t i = 0; i < f->nturns; i++) {
        free(f->turns[i].topic);
        free(f->turns[i].principal);
        free(f->turns[i].request_id);
        free(f->turns[i].payload);
    }
    for (size_t i = 0; i < f->npeers; i++)
        for (size_t j = 0; j < f->peers[i].nserves; j++)
            free(f->peers[i].serves[j]);
    free(f->pending);
    free(f->turns);
    astrid_fedconf_free(f->conf);
    pthread_mutex_destroy(&f->peers_lock);
    pthread_mutex_destroy(&f->imp_lock);
    pthread_mutex_destroy(&f->stop_lock);
    pthread_cond_destroy(&f->stop_cond);
    free(f);
}

void astrid_fed_stop(astrid_kernel *k)
{
    astrid_fed *f = k->fed;
    if (!f)
        return;
    pthread_mutex_lock(&f->stop_lock);
    f->stopping = true;
    pthread_cond_broadcast(&f->stop_cond);
    pthread_mutex_unlock(&f->stop_lock);
    if (f->feed)
        astrid_sub_close(f->feed);
    if (f->ticker_started)
        pthread_join(f->ticker, NULL);
    if (f->exporter_started)
        pthread_join(f->exporter, NULL);
    /* Unsubscribe and close first: no delivery thread may run on after
     * the bus and the audit log are gone. */
    for (size_t i = 0; i < f->nsubs; i++)
        natsSubscription_Unsubscribe(f->subs[i]);
    if (f->nc) {
        natsConnection_Close(f->nc);
        natsConnection_Destroy(f->nc);
    }
    for (size_t i = 0; i < f->nsubs; i++)
        natsSubscription_Destroy(f->subs[i]);
    natsOptions_Destroy(f->opts);
    nats_CloseAndWait(2000);
    imp_flush(f, 0); /* no delivery thread is left to add to them */
    astrid_sub_free(f->feed);
    k->fed = NULL;
    fed_free(f);
}

int astrid_fed_start(astrid_kernel *k, astrid_err *err)
{
    astrid_fedconf *conf = NULL;
    if (astrid_fedconf_load(k->home, &conf, err) != 0)
        return -1;
    if (!conf)
        return 0;
    astrid_fed *f = calloc(1, sizeof *f);
    if (!f) {
        astrid_fedconf_free(conf);
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    }
    f->k = k;
    f->conf = conf;
    pthread_mutex_init(&f->peers_lock, NULL);
    pthread_mutex_init(&f->imp_lock, NULL);
    pthread_mutex_init(&f->stop_lock, NULL);
    pthread_cond_init(&f->stop_cond, NULL);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* per the envelope contract: this boot's seqs start above any earlier
     * boot's (boot time in µs), so peers' replay windows accept them */
    atomic_store(&f->seq, (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
    atomic_store(&f->next_id, 1);
    astrid_uuid_v4(f->source_id);
    k->fed = f;
    f->pending = calloc(FED_MAX_PENDING, sizeof *f->pending);
    f->turns = calloc(FED_MAX_TURNS, sizeof *f->turns);
    if (!f->pending || !f->turns) {
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        goto fail;
    }
    /* this host's name and the [[map]] groups for the authz of remote
     * principals (fed_trust.c) */
    const char **remote = calloc(conf->nmaps + 1, sizeof *remote);
    const char **group = calloc(conf->nmaps + 1, sizeof *group);
    for (size_t i = 0; remote && group && i < conf->nmaps; i++) {
        remote[i] = conf->maps[i].remote;
        group[i] = conf->maps[i].group;
    }
    int mrc = !remote || !group ? astrid_err_set(err, ASTRID_E_NOMEM, "out of memory")
                                : astrid_kernel_fed_maps_set(k, remote, group, conf->nmaps, err);
    free(remote);
    free(group);
    if (mrc != 0 || astrid_kernel_fed_self_set(k, conf->host, err) != 0)
        goto fail;
    if (options(f, err) != 0)
        goto fail;
    /* First without retrying, so a server that refuses us (authorization,
     * TLS) refuses boot with its reason; only an unreachable server is
     * waited for in the background. */
    natsStatus s = natsConnection_Connect(&f->nc, f->opts);
    if (s == NATS_NO_SERVER) {
        if ((s = natsOptions_SetRetryOnFailedConnect(f->opts, true, on_connected, f)) == NATS_OK)
            s = natsConnection_Connect(&f->nc, f->opts);
    }
    if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED) {
        nats_fail(err, "connect", s);
        goto fail;
    }
    if (s == NATS_NOT_YET_CONNECTED)
        astrid_klog(k, "WARN", "federation: NATS server not reachable yet; retrying");
    natsInbox *inbox = NULL;
    if (natsInbox_Create(&inbox) != NATS_OK) {
        astrid_err_set(err, ASTRID_E_NOMEM, "federation: inbox");
        goto fail;
    }
    snprintf(f->inbox, sizeof f->inbox, "%s", (const char *)inbox);
    natsInbox_Destroy(inbox);
    char subj[ASTRID_FED_SUBJECT_MAX], queue[200];
    snprintf(queue, sizeof queue, "astrid.%s.serve", conf->lattice);
    for (size_t i = 0; i < conf->nimports; i++)
        if (astrid_fed_subject(subj, sizeof subj, conf->lattice, NULL, conf->imports[i], err) !=
                0 ||
            subscribe(f, subj, NULL, SUB_IMPORT, err) != 0)
            goto fail;
    for (size_t i = 0; i < conf->nserves; i++)
        if (astrid_fed_subject(subj, sizeof subj, conf->lattice, NULL, conf->serves[i], err) != 0 ||
            subscribe(f, subj, queue, SUB_SERVE, err) != 0)
            goto fail;
    char inb[200];
    snprintf(subj, sizeof subj, "astrid.%s.@%s.>", conf->lattice, conf->host);
    snprintf(inb, sizeof inb, "%s.*", f->inbox);
    if (subscribe(f, subj, NULL, SUB_DIRECT, err) != 0 || subscribe(f, inb, NULL, SUB_INBOX, err))
        goto fail;
    snprintf(subj, sizeof subj, "astrid.%s.@.hb", conf->lattice);
    if (subscribe(f, subj, NULL, SUB_HB, err) != 0)
        goto fail;
    astrid_sub_opts so = {.capacity = FED_FEED_CAPACITY,
                          .overflow = ASTRID_OVERFLOW_DROP_OLDEST,
                          .accept = export_wanted,
                          .accept_ctx = f};
    if (!(f->feed = astrid_bus_subscribe(k->bus, NULL, &so, err)))
        goto fail;
    if (pthread_create(&f->exporter, NULL, exporter_main, f) != 0) {
        astrid_err_set(err, ASTRID_E_INTERNAL, "federation: cannot start the exporter thread");
        goto fail;
    }
    f->exporter_started = true;
    if (pthread_create(&f->ticker, NULL, ticker_main, f) != 0) {
        astrid_err_set(err, ASTRID_E_INTERNAL, "federation: cannot start the ticker thread");
        goto fail;
    }
    f->ticker_started = true;
    astrid_klog(k, "INFO", "federation: host %s on lattice %s (%zu export, %zu import, %zu serve)",
                conf->host, conf->lattice, conf->nexports, conf->nimports, conf->nserves);
    return 0;
fail:
    astrid_fed_stop(k);
    return -1;
}

/* ---------------------------------------------------------------- status */

json_t *astrid_fed_status_json(astrid_kernel *k)
{
    astrid_fed *f = k->fed;
    if (!f)
        return NULL;
    char url[256] = "";
    bool connected = f->nc && natsConnection_Status(f->nc) == NATS_CONN_STATUS_CONNECTED;
    if (connected)
        natsConnection_GetConnectedUrl(f->nc, url, sizeof url);
    json_t *peers = json_array();
    uint64_t now = astrid_now_ms();
    pthread_mutex_lock(&f->peers_lock);
    for (size_t i = 0; peers && i < f->npeers; i++) {
        fed_peer *p = &f->peers[i];
        json_t *sv = json_array();
        for (size_t j = 0; sv && j < p->nserves; j++)
            json_array_append_new(sv, json_string(p->serves[j]));
        json_t *row =
            json_pack("{s:s, s:b, s:o, s:I, s:o}", "host", p->name, "alive", p->alive, "rtt_ms",
                      p->rtt_ms >= 0 ? json_real(p->rtt_ms) : json_null(), "last_seen_ms_ago",
                      (json_int_t)(now - p->last_seen_ms), "serves", sv ? sv : json_array());
        if (row)
            json_array_append_new(peers, row);
    }
    pthread_mutex_unlock(&f->peers_lock);
    return json_pack(
        "{s:s, s:s, s:b, s:s, s:o, s:I, s:I, s:I}", "host", f->conf->host, "lattice",
        f->conf->lattice, "connected", connected, "server", url, "peers",
        peers ? peers : json_array(), "exported", (json_int_t)atomic_load(&f->exported), "imported",
        (json_int_t)atomic_load(&f->imported), "dropped", (json_int_t)atomic_load(&f->dropped));
}

json_t *astrid_fed_services_json(astrid_kernel *k)
{
    json_t *a = json_array();
    astrid_fed *f = k->fed;
    if (!f || !a)
        return a;
    pthread_mutex_lock(&f->peers_lock);
    for (size_t i = 0; i < f->npeers; i++)
        for (size_t j = 0; j < f->peers[i].nserves; j++)
            json_array_append_new(a,
                                  json_pack("{s:s, s:s, s:b}", "topic", f->peers[i].serves[j],
                                            "host", f->peers[i].name, "alive", f->peers[i].alive));
    pthread_mutex_unlock(&f->peers_lock);
    return a;
}
