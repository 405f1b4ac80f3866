/* Federation envelopes per message (issue #19): seal (BLAKE3 of the payload
 * + ed25519 sign + JSON) and parse + verify + replay check, for a small
 * control payload and a 4 KiB model-stream-sized one, against the bare
 * ed25519 sign/verify of the same bytes in the same run; then batch envelopes
 * (one signature over 8 or 64 messages), per message.
 *
 * With arguments it is the C wire client of bench/bench_federation.sh (the
 * end-to-end request/reply through two bridges against raw NATS):
 *   bench_federation echo HOME       on B: answer every bench.v1.ping.* with
 *                                    bench.v1.pong.x (same payload)
 *   bench_federation ping HOME N     on A: N sequential round trips, then N
 *                                    pipelined (a sender thread, the main
 *                                    thread reading); prints
 *                                    "median_us requests_per_s"
 *   bench_federation rawserve URL SUBJECT
 *                                    the raw baseline's replier: answer
 *                                    every request with its own body
 *   bench_federation rawping URL SUBJECT N
 *                                    the raw baseline's requester: same
 *                                    measures as `ping`, libnats only
 * The wire clients connect as `default` through libastrid's client, the raw
 * side uses libnats from C: no interpreter on either path. The raw replier
 * sets SendAsap, as the bridge does and as libnats documents for repliers:
 * without it every reply waits for libnats's flusher thread (about 1 ms),
 * which would make a slow baseline, not a fast bridge. */
#include <nats/nats.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/crypto.h"
#include "astrid/envelope.h"
#include "bench_util.h"
#include "client/client.h"

#define N 2000

static void run(size_t plen, const astrid_keypair *kp)
{
    char *payload = malloc(plen + 1);
    memset(payload, 'x', plen);
    payload[0] = '{';
    payload[plen - 1] = '}';
    if (plen > 8)
        memcpy(payload + 1, "\"a\":\"", 5), payload[plen - 2] = '"';
    payload[plen] = 0;
    static double seal_us[N], open_us[N], sign_us[N], verify_us[N];
    astrid_replay_window w = {0};
    for (int i = 0; i < N; i++) {
        astrid_envelope env;
        memset(&env, 0, sizeof env);
        strcpy(env.lattice, "dev");
        strcpy(env.origin, "A");
        strcpy(env.topic, "llm.v1.stream.openai-compat");
        strcpy(env.principal, "alice");
        env.seq = 1000000 + (uint64_t)i;
        env.ts_ms = 1700000000000;
        char *wire = NULL, *back = NULL;
        size_t wl = 0, bl = 0;
        double t0 = bench_now_us();
        if (astrid_envelope_seal(&env, payload, plen, kp, &wire, &wl, NULL) != 0)
            break;
        double t1 = bench_now_us();
        astrid_envelope got;
        if (astrid_envelope_parse(wire, wl, &got, &back, &bl, NULL) != 0 ||
            astrid_envelope_verify(&got, kp->pk, NULL) != 0 ||
            astrid_replay_check(&w, got.seq, got.ts_ms, got.ts_ms, 30000, NULL) != 0) {
            free(wire);
            free(back);
            break;
        }
        double t2 = bench_now_us();
        seal_us[i] = t1 - t0;
        open_us[i] = t2 - t1;
        uint8_t sig[64];
        double t3 = bench_now_us();
        astrid_sign(sig, wire, wl < 200 ? wl : 200, kp);
        double t4 = bench_now_us();
        astrid_verify(sig, wire, wl < 200 ? wl : 200, kp->pk);
        double t5 = bench_now_us();
        sign_us[i] = t4 - t3;
        verify_us[i] = t5 - t4;
        free(wire);
        free(back);
    }
    printf("  payload %5zu B: seal %.1f us (bare ed25519 sign %.1f us), parse+verify+replay %.1f "
           "us (bare verify %.1f us)\n",
           plen, bench_median(seal_us, N), bench_median(sign_us, N), bench_median(open_us, N),
           bench_median(verify_us, N));
    free(payload);
}

/* A batch envelope of `n` messages of plen bytes: seal and open+verify
 * (one signature), per message, as the bridge does them. */
static void run_batch(size_t plen, size_t n, const astrid_keypair *kp)
{
    char *payload = malloc(plen + 1);
    memset(payload, 'x', plen);
    payload[0] = '{';
    payload[plen - 1] = '}';
    if (plen > 8)
        memcpy(payload + 1, "\"a\":\"", 5), payload[plen - 2] = '"';
    payload[plen] = 0;
    enum { R = 200 };
    static double seal_us[R], open_us[R];
    astrid_env_entry *e = calloc(n, sizeof *e);
    int r = 0;
    for (; e && r < R; r++) {
        astrid_env_batch b;
        memset(&b, 0, sizeof b);
        strcpy(b.lattice, "dev");
        strcpy(b.origin, "A");
        strcpy(b.topic, "llm.v1.stream.openai-compat");
        for (size_t i = 0; i < n; i++) {
            strcpy(e[i].principal, "alice");
            e[i].seq = 1000000 + (uint64_t)(r * n + i);
            e[i].ts_ms = 1700000000000;
            e[i].payload = payload;
            e[i].payload_len = plen;
        }
        b.e = e;
        b.n = n;
        char *wire = NULL;
        size_t wl = 0;
        double t0 = bench_now_us();
        if (astrid_envelope_batch_seal(&b, kp, &wire, &wl, NULL) != 0)
            break;
        double t1 = bench_now_us();
        astrid_env_batch got;
        int rc = astrid_envelope_open(wire, wl, &got, NULL);
        rc = rc ? rc : astrid_env_batch_verify(&got, kp->pk, NULL);
        double t2 = bench_now_us();
        astrid_env_batch_free(&got);
        free(wire);
        if (rc != 0)
            break;
        seal_us[r] = (t1 - t0) / (double)n;
        open_us[r] = (t2 - t1) / (double)n;
    }
    if (r == R)
        printf("  batch of %3zu x %5zu B: seal %.1f us, parse+verify %.1f us per message\n", n,
               plen, bench_median(seal_us, R), bench_median(open_us, R));
    free(e);
    free(payload);
}

static astrid_client *wire_connect(const char *home)
{
    astrid_client_opts o = {.home = home, .principal = "default"};
    astrid_client *c = NULL;
    astrid_err err;
    if (astrid_client_connect(&c, &o, &err) != 0) {
        fprintf(stderr, "bench_federation: %s: %s\n", home, err.msg);
        return NULL;
    }
    return c;
}

static int wire_echo(const char *home)
{
    astrid_client *c = wire_connect(home);
    astrid_err err;
    if (!c || astrid_client_subscribe(c, "bench.v1.ping.*", &err) != 0) {
        if (c)
            fprintf(stderr, "bench_federation echo: %s\n", err.msg);
        astrid_client_close(c);
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        json_t *m = NULL;
        if (astrid_client_recv(c, -1, &m, &err) != 0)
            break;
        const char *t = json_string_value(json_object_get(m, "topic"));
        if (t && strncmp(t, "bench.v1.ping.", 14) == 0 &&
            astrid_client_publish(c, "bench.v1.pong.x", json_object_get(m, "payload"), &err) != 0)
            break;
        json_decref(m);
    }
    astrid_client_close(c);
    return 0;
}

/* The pong of request `i` (-1: any pong), or -2 on timeout/error. */
static long wait_pong(astrid_client *c, long want)
{
    for (;;) {
        json_t *m = NULL;
        astrid_err err;
        if (astrid_client_recv(c, 10000, &m, &err) != 0)
            return -2;
        const char *t = json_string_value(json_object_get(m, "topic"));
        json_int_t i = json_integer_value(json_object_get(json_object_get(m, "payload"), "i"));
        bool pong = t && strncmp(t, "bench.v1.pong.", 14) == 0;
        json_decref(m);
        if (pong && (want == -1 || i == want))
            return (long)i;
    }
}

static int send_ping(astrid_client *c, long i)
{
    json_t *p = json_pack("{s:I}", "i", (json_int_t)i);
    astrid_err err;
    int rc = p ? astrid_client_publish(c, "bench.v1.ping.x", p, &err) : -1;
    json_decref(p);
    return rc;
}

typedef struct pipe_arg {
    astrid_client *c;
    long from, n;
} pipe_arg;

static void *pipe_sender(void *arg)
{
    pipe_arg *a = arg;
    for (long i = 0; i < a->n; i++)
        if (send_ping(a->c, a->from + i) != 0)
            break;
    return NULL;
}

static int wire_ping(const char *home, long n)
{
    astrid_client *c = wire_connect(home);
    astrid_err err;
    if (!c || n <= 0 || astrid_client_subscribe(c, "bench.v1.pong.*", &err) != 0) {
        astrid_client_close(c);
        return 1;
    }
    for (long i = 0; i < 20; i++) /* warm-up: connections, caches, the peer's window */
        if (send_ping(c, 1000000000L + i) != 0 || wait_pong(c, 1000000000L + i) == -2) {
            fprintf(stderr, "bench_federation ping: no pong within 10 s\n");
            astrid_client_close(c);
            return 1;
        }
    double *lat = calloc((size_t)n, sizeof *lat);
    if (!lat) {
        astrid_client_close(c);
        return 1;
    }
    for (long i = 0; i < n; i++) {
        double t = bench_now_us();
        if (send_ping(c, i) != 0 || wait_pong(c, i) == -2) {
            fprintf(stderr, "bench_federation ping: round trip %ld lost\n", i);
            free(lat);
            astrid_client_close(c);
            return 1;
        }
        lat[i] = bench_now_us() - t;
    }
    double med = bench_median(lat, (int)n);
    free(lat);
    /* The client's send and receive touch disjoint state (the fd's send
     * side vs. the frame reader), so one thread may send while this one
     * reads: neither socket buffer can fill up and stall the other. */
    pipe_arg a = {c, n, n};
    pthread_t th;
    double t0 = bench_now_us();
    if (pthread_create(&th, NULL, pipe_sender, &a) != 0) {
        astrid_client_close(c);
        return 1;
    }
    long got = 0;
    while (got < n && wait_pong(c, -1) != -2)
        got++;
    double dt = bench_now_us() - t0;
    pthread_join(th, NULL);
    astrid_client_close(c);
    if (got < n)
        fprintf(stderr, "bench_federation ping: %ld of %ld pipelined pongs\n", got, n);
    printf("%.0f %.0f\n", med, (double)got * 1e6 / dt);
    return got == n ? 0 : 1;
}

static natsConnection *raw_connect(const char *url, bool asap)
{
    natsOptions *o = NULL;
    natsConnection *nc = NULL;
    if (natsOptions_Create(&o) != NATS_OK || natsOptions_SetURL(o, url) != NATS_OK ||
        natsOptions_SetSendAsap(o, asap) != NATS_OK || natsConnection_Connect(&nc, o) != NATS_OK)
        fprintf(stderr, "bench_federation: connect %s: %s\n", url, nats_GetLastError(NULL));
    natsOptions_Destroy(o);
    return nc;
}

static void raw_echo(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *closure)
{
    (void)sub;
    (void)closure;
    if (natsMsg_GetReply(m))
        natsConnection_Publish(nc, natsMsg_GetReply(m), natsMsg_GetData(m),
                               natsMsg_GetDataLength(m));
    natsMsg_Destroy(m);
}

static int raw_serve(const char *url, const char *subject)
{
    natsConnection *nc = raw_connect(url, true);
    natsSubscription *sub = NULL;
    if (!nc || natsConnection_Subscribe(&sub, nc, subject, raw_echo, NULL) != NATS_OK ||
        natsSubscription_SetPendingLimits(sub, -1, -1) != NATS_OK ||
        natsConnection_Flush(nc) != NATS_OK)
        return 1;
    printf("ready\n");
    fflush(stdout);
    for (;;) /* until killed: the bench script owns our lifetime */
        nats_Sleep(1000);
}

typedef struct raw_pipe {
    natsConnection *nc;
    const char *subject, *inbox;
    long n;
} raw_pipe;

static void *raw_sender(void *arg)
{
    raw_pipe *a = arg;
    const char body[] = "{\"i\":1}";
    for (long i = 0; i < a->n; i++)
        natsConnection_PublishRequest(a->nc, a->subject, a->inbox, body, (int)sizeof body - 1);
    natsConnection_Flush(a->nc);
    return NULL;
}

static int raw_ping(const char *url, const char *subject, long n)
{
    natsConnection *nc = raw_connect(url, false);
    double *lat = n > 0 ? calloc((size_t)n, sizeof *lat) : NULL;
    if (!nc || !lat) {
        free(lat);
        return 1;
    }
    const char body[] = "{\"i\":1}";
    for (long i = -20; i < n; i++) { /* 20 warm-up requests first */
        natsMsg *r = NULL;
        double t = bench_now_us();
        if (natsConnection_Request(&r, nc, subject, body, (int)sizeof body - 1, 10000) != NATS_OK) {
            fprintf(stderr, "bench_federation rawping: request %ld lost\n", i);
            free(lat);
            return 1;
        }
        if (i >= 0)
            lat[i] = bench_now_us() - t;
        natsMsg_Destroy(r);
    }
    double med = bench_median(lat, (int)n);
    free(lat);
    natsInbox *inbox = NULL;
    natsSubscription *sub = NULL;
    if (natsInbox_Create(&inbox) != NATS_OK ||
        natsConnection_SubscribeSync(&sub, nc, (const char *)inbox) != NATS_OK)
        return 1;
    natsSubscription_SetPendingLimits(sub, -1, -1);
    natsConnection_Flush(nc);
    raw_pipe a = {nc, subject, (const char *)inbox, n};
    pthread_t th;
    double t0 = bench_now_us();
    if (pthread_create(&th, NULL, raw_sender, &a) != 0)
        return 1;
    long got = 0;
    for (; got < n; got++) {
        natsMsg *m = NULL;
        if (natsSubscription_NextMsg(&m, sub, 10000) != NATS_OK)
            break;
        natsMsg_Destroy(m);
    }
    double dt = bench_now_us() - t0;
    pthread_join(th, NULL);
    natsSubscription_Destroy(sub);
    natsInbox_Destroy(inbox);
    natsConnection_Destroy(nc);
    printf("%.0f %.0f\n", med, (double)got * 1e6 / dt);
    return got == n ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "rawserve") == 0)
        return raw_serve(argv[2], argv[3]);
    if (argc >= 5 && strcmp(argv[1], "rawping") == 0)
        return raw_ping(argv[2], argv[3], strtol(argv[4], NULL, 10));
    if (argc >= 3 && strcmp(argv[1], "echo") == 0)
        return wire_echo(argv[2]);
    if (argc >= 4 && strcmp(argv[1], "ping") == 0)
        return wire_ping(argv[2], strtol(argv[3], NULL, 10));
    if (argc > 1) {
        fprintf(stderr, "usage: bench_federation [echo HOME | ping HOME N | rawserve URL SUBJECT | "
                        "rawping URL SUBJECT N]\n");
        return 2;
    }
    astrid_keypair kp;
    uint8_t seed[32] = {1};
    if (astrid_crypto_init(NULL) != 0 || astrid_keypair_from_seed(&kp, seed, NULL) != 0)
        return 1;
    printf("federation envelope per message (median of %d):\n", N);
    run(64, &kp);
    run(4096, &kp);
    printf("batch envelopes, per message (median of 200 batches):\n");
    run_batch(64, 8, &kp);
    run_batch(64, 64, &kp);
    run_batch(4096, 8, &kp);
    run_batch(4096, 16, &kp);
    run_batch(4096, 64, &kp);
    return 0;
}
