/* NATS helper of tests/integration/federation.sh and bench_federation.sh:
 * what a hostile or a raw client puts on the lattice's subjects.
 *
 *   fedtool nkey-gen SEEDFILE                 write a user nkey seed (0600), print its U... key
 *   fedtool pub URL SUBJECT TEXT              publish TEXT as it is (unsigned garbage, ...)
 *   fedtool pubfile URL SUBJECT FILE          publish a file's bytes (a captured envelope)
 *   fedtool seal URL SUBJECT KEYFILE LATTICE ORIGIN TOPIC PRINCIPAL PAYLOAD [SEQ [TS_MS]]
 *                                             seal with the key in KEYFILE (made when absent)
 *                                             and publish; SUBJECT "-" prints the wire instead
 *   fedtool capture URL SUBJECT OUTFILE MS    write the first message's body seen within MS
 *   fedtool serve URL SUBJECT N               answer N requests with their own body (raw echo)
 *   fedtool request URL SUBJECT TEXT MS       print the reply's body, or "no responders" /
 *                                             "timeout" (exit 1)
 *   fedtool sealbatch URL SUBJECT KEYFILE LATTICE ORIGIN TOPIC PRINCIPAL SEQ:PAYLOAD...
 *                                             seal the messages as ONE batch envelope (v2)
 *                                             and publish it; SUBJECT "-" prints the wire
 *   fedtool pubkey KEYFILE                    print the key's public half (hex; made when absent)
 *   fedtool verify PUBHEX LATTICE ORIGIN TOPIC PRINCIPAL
 *                                             check origin signatures kept in an audit entry:
 *                                             stdin lines "SEQ TS_MS B3HEX SIGHEX"; prints
 *                                             "<verified> <failed>", exit 1 if any failed
 *   fedtool verify-audit PUBHEX LATTICE ORIGIN
 *                                             stdin: audit entries (JSON lines); checks the
 *                                             origin signature of every message of ORIGIN's
 *                                             federation_import entries (single, batched
 *                                             `envelopes`, or a signed `batch`); prints
 *                                             "<verified> <failed>" messages, exit 1 if any
 *                                             failed
 * Exit 0 on success, 1 on a failed request, 2 on bad usage or setup. */
#include <jansson.h>
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "astrid/crypto.h"
#include "astrid/envelope.h"
#include "astrid/fedconf.h"

static natsConnection *connect_to(const char *url)
{
    natsConnection *nc = NULL;
    natsStatus s = natsConnection_ConnectTo(&nc, url);
    if (s != NATS_OK) {
        fprintf(stderr, "fedtool: connect %s: %s\n", url, natsStatus_GetText(s));
        return NULL;
    }
    return nc;
}

static int finish(natsConnection *nc, int rc)
{
    natsConnection_Flush(nc);
    natsConnection_Destroy(nc);
    nats_Close();
    return rc;
}

/* Every message of one federation_import entry `a` (an audit action) of
 * origin `origin`, checked against `pk`: adds to *ok / *bad. */
static void verify_import(const json_t *a, const uint8_t pk[32], const char *lattice,
                          const char *origin, long *ok, long *bad)
{
    const char *topic = json_string_value(json_object_get(a, "topic"));
    const char *remote = json_string_value(json_object_get(a, "remote_principal"));
    const char *sighex = json_string_value(json_object_get(a, "origin_signature"));
    json_int_t count = json_integer_value(json_object_get(a, "count"));
    if (count <= 0)
        count = 1;
    const json_t *batch = json_object_get(a, "batch");
    if (!topic || !remote || !sighex) {
        *bad += count;
        return;
    }
    if (batch) {
        /* a signed batch (v2): rebuild its signed entries, one signature */
        const json_t *entries = json_object_get(batch, "entries");
        const json_t *imported = json_object_get(batch, "imported");
        size_t n = json_array_size(entries);
        astrid_env_batch b;
        memset(&b, 0, sizeof b);
        b.version = ASTRID_ENV_BATCH_VERSION;
        snprintf(b.lattice, sizeof b.lattice, "%s", lattice);
        snprintf(b.origin, sizeof b.origin, "%s", origin);
        snprintf(b.topic, sizeof b.topic, "%s", topic);
        b.e = n ? calloc(n, sizeof *b.e) : NULL;
        b.n = n;
        bool shape = b.e && json_array_size(imported) == (size_t)count && strlen(sighex) == 128 &&
                     astrid_hex_decode(b.sig, 64, sighex, 128) == 0;
        for (size_t i = 0; shape && i < n; i++) {
            const json_t *x = json_array_get(entries, i);
            const char *pr = json_string_value(json_array_get(x, 0));
            const char *b3 = json_string_value(json_array_get(x, 3));
            shape = pr && b3 && strlen(pr) < sizeof b.e[i].principal && strlen(b3) == 64 &&
                    astrid_hex_decode(b.e[i].payload_b3, 32, b3, 64) == 0;
            if (shape) {
                snprintf(b.e[i].principal, sizeof b.e[i].principal, "%s", pr);
                b.e[i].seq = (uint64_t)json_integer_value(json_array_get(x, 1));
                b.e[i].ts_ms = (int64_t)json_integer_value(json_array_get(x, 2));
            }
        }
        /* every imported index names a signed entry, the first one the
         * entry's own seq */
        for (size_t i = 0; shape && i < (size_t)count; i++) {
            json_int_t ix = json_integer_value(json_array_get(json_array_get(imported, i), 0));
            shape = ix >= 0 && (size_t)ix < n;
            if (shape && i == 0)
                shape = b.e[ix].seq == (uint64_t)json_integer_value(json_object_get(a, "seq")) &&
                        strcmp(b.e[ix].principal, remote) == 0;
        }
        if (shape && astrid_env_batch_verify(&b, pk, NULL) == 0)
            *ok += count;
        else
            *bad += count;
        free(b.e);
        return;
    }
    astrid_envelope env;
    memset(&env, 0, sizeof env);
    snprintf(env.lattice, sizeof env.lattice, "%s", lattice);
    snprintf(env.origin, sizeof env.origin, "%s", origin);
    snprintf(env.topic, sizeof env.topic, "%s", topic);
    snprintf(env.principal, sizeof env.principal, "%s", remote);
    const json_t *envs = json_object_get(a, "envelopes");
    size_t n = envs ? json_array_size(envs) : 1;
    for (size_t i = 0; i < n; i++) {
        const json_t *x = envs ? json_array_get(envs, i) : NULL;
        json_int_t seq = json_integer_value(x ? json_array_get(x, 0) : json_object_get(a, "seq"));
        json_int_t ts = json_integer_value(x ? json_array_get(x, 1) : json_object_get(a, "ts_ms"));
        const char *b3 =
            json_string_value(x ? json_array_get(x, 2) : json_object_get(a, "payload_b3"));
        const char *sig = x ? json_string_value(json_array_get(x, 3)) : sighex;
        env.seq = (uint64_t)seq;
        env.ts_ms = (int64_t)ts;
        if (b3 && sig && strlen(b3) == 64 && strlen(sig) == 128 &&
            astrid_hex_decode(env.payload_b3, 32, b3, 64) == 0 &&
            astrid_hex_decode(env.sig, 64, sig, 128) == 0 &&
            astrid_envelope_verify(&env, pk, NULL) == 0)
            (*ok)++;
        else
            (*bad)++;
    }
    if (envs && (size_t)count != n)
        *bad += 1; /* the count does not match the kept envelopes */
}

static int verify_audit(const char *pubhex, const char *lattice, const char *origin)
{
    uint8_t pk[32];
    if (astrid_crypto_init(NULL) != 0 || strlen(pubhex) != 64 ||
        astrid_hex_decode(pk, sizeof pk, pubhex, 64) != 0)
        return 2;
    static char line[1u << 20];
    long ok = 0, bad = 0;
    while (fgets(line, sizeof line, stdin)) {
        json_t *e = json_loads(line, 0, NULL);
        const json_t *a = json_object_get(e, "action");
        const char *type = json_string_value(json_object_get(a, "type"));
        const char *org = json_string_value(json_object_get(a, "origin"));
        if (type && org && strcmp(type, "federation_import") == 0 && strcmp(org, origin) == 0)
            verify_import(a, pk, lattice, origin, &ok, &bad);
        json_decref(e);
    }
    printf("%ld %ld\n", ok, bad);
    return bad ? 1 : 0;
}

static int seal_batch(int argc, char **argv)
{
    /* fedtool sealbatch URL SUBJECT KEYFILE LATTICE ORIGIN TOPIC PRINCIPAL SEQ:PAYLOAD... */
    astrid_keypair kp;
    astrid_err err;
    if (astrid_crypto_init(&err) != 0 ||
        astrid_keypair_load_or_create(&kp, argv[4], NULL, &err) != 0) {
        fprintf(stderr, "fedtool: %s\n", err.msg);
        return 2;
    }
    size_t n = (size_t)(argc - 9);
    astrid_env_batch b;
    memset(&b, 0, sizeof b);
    snprintf(b.lattice, sizeof b.lattice, "%s", argv[5]);
    snprintf(b.origin, sizeof b.origin, "%s", argv[6]);
    snprintf(b.topic, sizeof b.topic, "%s", argv[7]);
    b.e = calloc(n, sizeof *b.e);
    b.n = n;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    for (size_t i = 0; b.e && i < n; i++) {
        char *arg = argv[9 + i], *colon = strchr(arg, ':');
        if (!colon) {
            free(b.e);
            return 2;
        }
        snprintf(b.e[i].principal, sizeof b.e[i].principal, "%s", argv[8]);
        b.e[i].seq = strtoull(arg, NULL, 10);
        b.e[i].ts_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        b.e[i].payload = colon + 1;
        b.e[i].payload_len = strlen(colon + 1);
    }
    char *wire = NULL;
    size_t wl = 0;
    int rc = b.e ? astrid_envelope_batch_seal(&b, &kp, &wire, &wl, &err) : -1;
    free(b.e);
    if (rc != 0) {
        fprintf(stderr, "fedtool: %s\n", err.msg);
        return 2;
    }
    if (strcmp(argv[3], "-") == 0) {
        fwrite(wire, 1, wl, stdout);
        free(wire);
        return 0;
    }
    natsConnection *nc = connect_to(argv[2]);
    if (!nc) {
        free(wire);
        return 2;
    }
    natsStatus s = natsConnection_Publish(nc, argv[3], wire, (int)wl);
    free(wire);
    return finish(nc, s == NATS_OK ? 0 : 1);
}

int main(int argc, char **argv)
{
    if (argc < 3)
        goto usage;
    const char *cmd = argv[1];
    if (strcmp(cmd, "nkey-gen") == 0) {
        uint8_t raw[32];
        char seed[80], pub[80];
        astrid_crypto_init(NULL);
        astrid_random_bytes(raw, sizeof raw);
        if (astrid_nkey_seed_from_bytes(raw, seed, sizeof seed, NULL) != 0 ||
            astrid_nkey_public_of_seed(seed, pub, sizeof pub, NULL) != 0)
            return 2;
        FILE *f = fopen(argv[2], "w");
        if (!f)
            return 2;
        fprintf(f, "%s\n", seed);
        fclose(f);
        printf("%s\n", pub);
        return 0;
    }
    if (strcmp(cmd, "pubkey") == 0) {
        astrid_keypair kp;
        astrid_err err;
        char hex[65];
        if (astrid_crypto_init(&err) != 0 ||
            astrid_keypair_load_or_create(&kp, argv[2], NULL, &err) != 0) {
            fprintf(stderr, "fedtool: %s\n", err.msg);
            return 2;
        }
        astrid_hex_encode(hex, kp.pk, 32);
        printf("%s\n", hex);
        return 0;
    }
    if (strcmp(cmd, "verify-audit") == 0 && argc >= 5)
        return verify_audit(argv[2], argv[3], argv[4]);
    if (strcmp(cmd, "sealbatch") == 0 && argc >= 10)
        return seal_batch(argc, argv);
    if (strcmp(cmd, "verify") == 0 && argc >= 7) {
        uint8_t pk[32];
        astrid_envelope env;
        memset(&env, 0, sizeof env);
        if (astrid_crypto_init(NULL) != 0 ||
            astrid_hex_decode(pk, sizeof pk, argv[2], strlen(argv[2])) != 0)
            return 2;
        snprintf(env.lattice, sizeof env.lattice, "%s", argv[3]);
        snprintf(env.origin, sizeof env.origin, "%s", argv[4]);
        snprintf(env.topic, sizeof env.topic, "%s", argv[5]);
        snprintf(env.principal, sizeof env.principal, "%s", argv[6]);
        char line[512];
        long ok = 0, bad = 0;
        while (fgets(line, sizeof line, stdin)) {
            char *p = line, *end = NULL;
            env.seq = strtoull(p, &end, 10);
            env.ts_ms = strtoll(end, &end, 10);
            char *b3 = strtok_r(end, " \n", &p), *sig = strtok_r(NULL, " \n", &p);
            if (b3 && sig && astrid_hex_decode(env.payload_b3, 32, b3, strlen(b3)) == 0 &&
                astrid_hex_decode(env.sig, 64, sig, strlen(sig)) == 0 &&
                astrid_envelope_verify(&env, pk, NULL) == 0)
                ok++;
            else
                bad++;
        }
        printf("%ld %ld\n", ok, bad);
        return bad ? 1 : 0;
    }
    if (argc < 4)
        goto usage;
    const char *url = argv[2], *subject = argv[3];
    if (strcmp(cmd, "seal") == 0) {
        if (argc < 10)
            goto usage;
        astrid_keypair kp;
        astrid_err err;
        if (astrid_crypto_init(&err) != 0 ||
            astrid_keypair_load_or_create(&kp, argv[4], NULL, &err) != 0) {
            fprintf(stderr, "fedtool: %s\n", err.msg);
            return 2;
        }
        astrid_envelope env;
        memset(&env, 0, sizeof env);
        snprintf(env.lattice, sizeof env.lattice, "%s", argv[5]);
        snprintf(env.origin, sizeof env.origin, "%s", argv[6]);
        snprintf(env.topic, sizeof env.topic, "%s", argv[7]);
        snprintf(env.principal, sizeof env.principal, "%s", argv[8]);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        env.seq = argc > 10 ? strtoull(argv[10], NULL, 10)
                            : (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
        env.ts_ms = argc > 11 ? strtoll(argv[11], NULL, 10)
                              : (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        char *wire = NULL;
        size_t wl = 0;
        if (astrid_envelope_seal(&env, argv[9], strlen(argv[9]), &kp, &wire, &wl, &err) != 0) {
            fprintf(stderr, "fedtool: %s\n", err.msg);
            return 2;
        }
        if (strcmp(subject, "-") == 0) {
            fwrite(wire, 1, wl, stdout);
            free(wire);
            return 0;
        }
        natsConnection *nc = connect_to(url);
        if (!nc)
            return 2;
        natsStatus s = natsConnection_Publish(nc, subject, wire, (int)wl);
        free(wire);
        return finish(nc, s == NATS_OK ? 0 : 1);
    }
    if (argc < 5)
        goto usage;
    natsConnection *nc = connect_to(url);
    if (!nc)
        return 2;
    if (strcmp(cmd, "pub") == 0)
        return finish(nc, natsConnection_PublishString(nc, subject, argv[4]) == NATS_OK ? 0 : 1);
    if (strcmp(cmd, "pubfile") == 0) {
        FILE *f = fopen(argv[4], "rb");
        if (!f)
            return finish(nc, 2);
        static char buf[8u << 20];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        return finish(nc, natsConnection_Publish(nc, subject, buf, (int)n) == NATS_OK ? 0 : 1);
    }
    if (strcmp(cmd, "capture") == 0 && argc >= 6) {
        natsSubscription *sub = NULL;
        natsMsg *m = NULL;
        if (natsConnection_SubscribeSync(&sub, nc, subject) != NATS_OK)
            return finish(nc, 2);
        natsConnection_Flush(nc);
        printf("ready\n");
        fflush(stdout);
        natsStatus s = natsSubscription_NextMsg(&m, sub, strtoll(argv[5], NULL, 10));
        int rc = 1;
        if (s == NATS_OK) {
            FILE *f = fopen(argv[4], "wb");
            if (f) {
                fwrite(natsMsg_GetData(m), 1, (size_t)natsMsg_GetDataLength(m), f);
                rc = fclose(f) == 0 ? 0 : 1;
            }
            natsMsg_Destroy(m);
        }
        natsSubscription_Destroy(sub);
        return finish(nc, rc);
    }
    if (strcmp(cmd, "serve") == 0) {
        natsSubscription *sub = NULL;
        long n = strtol(argv[4], NULL, 10);
        if (natsConnection_SubscribeSync(&sub, nc, subject) != NATS_OK)
            return finish(nc, 2);
        natsConnection_Flush(nc);
        printf("ready\n");
        fflush(stdout);
        for (long i = 0; i < n; i++) {
            natsMsg *m = NULL;
            if (natsSubscription_NextMsg(&m, sub, 60000) != NATS_OK)
                break;
            if (natsMsg_GetReply(m))
                natsConnection_Publish(nc, natsMsg_GetReply(m), natsMsg_GetData(m),
                                       natsMsg_GetDataLength(m));
            natsMsg_Destroy(m);
        }
        natsSubscription_Destroy(sub);
        return finish(nc, 0);
    }
    if (strcmp(cmd, "request") == 0 && argc >= 6) {
        natsMsg *r = NULL;
        natsStatus s =
            natsConnection_RequestString(&r, nc, subject, argv[4], strtoll(argv[5], NULL, 10));
        if (s == NATS_NO_RESPONDERS) {
            printf("no responders\n");
            return finish(nc, 1);
        }
        if (s != NATS_OK) {
            printf("timeout\n");
            return finish(nc, 1);
        }
        fwrite(natsMsg_GetData(r), 1, (size_t)natsMsg_GetDataLength(r), stdout);
        printf("\n");
        natsMsg_Destroy(r);
        return finish(nc, 0);
    }
    natsConnection_Destroy(nc);
usage:
    fprintf(stderr, "usage: see the header of tests/tools/fedtool.c\n");
    return 2;
}
