/* The security gate's costs (issue #15 §9), each against a baseline of the
 * same run:
 *  1. a cached capability-token check (the verification cache hit: no
 *     signature verify) against one crypto_sign_verify_detached, with the
 *     heap allocations of the timed loop counted by interposing malloc
 *     (must be 0);
 *  2. an allowance lookup among 10 000 allowances (hit and miss);
 *  3. an approval round trip through the socket (a capsule's
 *     request-approval answered by an auto-answering client on another
 *     connection) against a GetStatus round trip. */
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "astrid/crypto.h"
#include "astrid/uuid.h"
#include "bench_daemon.h"
#include "bench_allocs.h"
#include "bench_util.h"
#include "lib/caps/allowance.h"
#include "lib/caps/token.h"
#include "store/captokens.h"

#define ROUNDS 5

static void bench_tokens(void)
{
    astrid_keypair key;
    uint8_t seed[32] = {7};
    astrid_err err;
    astrid_crypto_init(&err);
    astrid_keypair_from_seed(&key, seed, &err);
    astrid_captokens *s = astrid_captokens_open(NULL, key.pk, NULL, NULL, &err);
    astrid_captoken t = {0};
    snprintf(t.resource, sizeof t.resource, "exec://make *");
    t.perms = ASTRID_PERM_EXECUTE;
    t.persistent = false;
    astrid_uuid_v4(t.approval_audit_id);
    snprintf(t.principal, sizeof t.principal, "alice");
    if (!s || astrid_captoken_mint(&t, &key, &err) != 0 || astrid_captokens_add(s, &t, &err) != 0) {
        printf("   token store failed: %s\n", err.msg);
        return;
    }
    int64_t now = time(NULL);
    const int n = 1000000;
    double check[ROUNDS], verify[ROUNDS];
    long alloc_total = 0;
    int bad = 0;
    uint8_t payload[ASTRID_TOKEN_PAYLOAD_MAX];
    size_t plen = astrid_captoken_payload(&t, payload);
    for (int r = 0; r < ROUNDS; r++) {
        atomic_store(&bench_allocs, 0);
        atomic_store(&bench_allocs_counting, 1);
        double t0 = bench_now_ns();
        for (int i = 0; i < n; i++)
            bad += astrid_captokens_check(s, &t, "alice", "exec://make all", ASTRID_PERM_EXECUTE,
                                          now, NULL) != 0;
        check[r] = (bench_now_ns() - t0) / n;
        atomic_store(&bench_allocs_counting, 0);
        alloc_total += atomic_load(&bench_allocs);
        const int m = 2000;
        t0 = bench_now_ns();
        for (int i = 0; i < m; i++)
            bad += crypto_sign_verify_detached(t.signature, payload, plen, key.pk) != 0;
        verify[r] = (bench_now_ns() - t0) / m;
    }
    double c = bench_median(check, ROUNDS), v = bench_median(verify, ROUNDS);
    printf("   cached token check: %.0f ns (%ld heap allocations in %d checks)\n", c, alloc_total,
           n * ROUNDS);
    printf("   crypto_sign_verify_detached: %.0f ns  (check/verify %.3f)%s\n", v, c / v,
           bad ? "  ERRORS" : "");
    printf("   signature verifies done by the store: %llu (one, at add)\n",
           (unsigned long long)astrid_captokens_verifies(s));
    astrid_captokens_close(s);
}

static void bench_allowances(void)
{
    astrid_allowances *a = astrid_allowances_new();
    astrid_err err;
    for (int i = 0; i < 10000; i++) {
        astrid_allowance x = {0};
        snprintf(x.principal, sizeof x.principal, "agent%d", i % 16);
        snprintf(x.action, sizeof x.action, "read");
        snprintf(x.resource, sizeof x.resource, "file:///data/%d", i);
        x.uses_remaining = -1;
        if (astrid_allowances_add(a, &x, &err) != 0) {
            printf("   allowance add failed: %s\n", err.msg);
            return;
        }
    }
    int64_t now = time(NULL);
    const int n = 1000000;
    double hit[ROUNDS], miss[ROUNDS];
    int wrong = 0;
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = bench_now_ns();
        for (int i = 0; i < n; i++)
            wrong += !astrid_allowances_consume(a, "agent7", "read", "file:///data/9991", "/w", now,
                                                NULL);
        hit[r] = (bench_now_ns() - t0) / n;
        t0 = bench_now_ns();
        for (int i = 0; i < n; i++)
            wrong += astrid_allowances_consume(a, "agent8", "read", "file:///data/9991", "/w", now,
                                               NULL);
        miss[r] = (bench_now_ns() - t0) / n;
    }
    printf("   allowance lookup among 10000: hit %.0f ns, miss %.0f ns%s\n",
           bench_median(hit, ROUNDS), bench_median(miss, ROUNDS), wrong ? "  ERRORS" : "");
    astrid_allowances_free(a);
}

typedef struct responder {
    astrid_client *c;
    atomic_int stop;
    atomic_long answered;
} responder;

/* The auto-answering human: every approval prompt gets "approve". */
static void *respond(void *p)
{
    responder *r = p;
    while (!atomic_load(&r->stop)) {
        json_t *m = NULL;
        astrid_err err;
        if (astrid_client_recv(r->c, 200, &m, &err) != 0 || !m)
            continue;
        json_t *pl = json_object_get(m, "payload");
        const char *id = json_string_value(json_object_get(pl, "request_id"));
        if (id && strcmp(json_string_value(json_object_get(m, "topic")) ?: "",
                         "astrid.v1.approval") == 0) {
            char topic[128];
            snprintf(topic, sizeof topic, "astrid.v1.approval.response.%s", id);
            json_t *ans = json_pack("{s:s,s:s,s:s}", "type", "approval_response", "request_id", id,
                                    "decision", "approve");
            if (astrid_client_publish(r->c, topic, ans, &err) == 0)
                atomic_fetch_add(&r->answered, 1);
            json_decref(ans);
        }
        json_decref(m);
    }
    return NULL;
}

static int sh(const char *fmt, const char *a, const char *b)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    return system(cmd);
}

static void bench_roundtrip(void)
{
    const char *build = getenv("ASTRID_BUILD") ? getenv("ASTRID_BUILD") : "build";
    char home[] = "/tmp/astrid-bench-gate-XXXXXX";
    if (!mkdtemp(home))
        return;
    setenv("ASTRID_HOME", home, 1);
    setenv("ASTRID_SDK", "sdk/c", 0);
    char bin[1024], out[1200];
    snprintf(bin, sizeof bin, "%s/bin", build);
    snprintf(out, sizeof out, "%s-cap", home);
    if (sh("'%s/astrid-build' tests/capsules/approver -o '%s' >/dev/null 2>&1", bin, out) != 0 ||
        sh("'%s/astrid' capsule install '%s/approver.capsule' >/dev/null 2>&1", bin, out) != 0) {
        printf("   approval round trip: skipped (approver capsule did not build or install)\n");
        sh("'%s/astrid' stop >/dev/null 2>&1; rm -rf '%s'", bin, out);
        return;
    }
    sh("'%s/astrid' stop >/dev/null 2>&1; rm -rf '%s'", bin, out);
    pid_t pid;
    astrid_client *c = bench_daemon_start(home, &pid, "bench_gate");
    if (!c)
        return;
    astrid_client_opts o = {.home = home, .principal = "default"};
    responder r = {0};
    astrid_err err;
    if (astrid_client_connect(&r.c, &o, &err) != 0 ||
        astrid_client_subscribe(r.c, "astrid.v1.approval", &err) != 0 ||
        astrid_client_subscribe(c, "demo.v1.approver.reply", &err) != 0) {
        printf("   approval round trip: %s\n", err.msg);
        astrid_client_close(r.c);
        bench_daemon_stop(c, pid, home);
        return;
    }
    pthread_t th;
    pthread_create(&th, NULL, respond, &r);
    json_t *ask = json_pack("{s:s,s:s,s:s}", "op", "ask", "action", "bench", "resource", "x");
    const int n = 200;
    double appr[ROUNDS], status[ROUNDS];
    int failed = 0;
    for (int k = 0; k < ROUNDS; k++) {
        double t0 = bench_now_us();
        for (int i = 0; i < n; i++) {
            json_t *rep = NULL;
            if (astrid_client_request(c, "demo.v1.approver", ask, "demo.v1.approver.reply", 20000,
                                      &rep, &err) != 0 ||
                !json_is_true(json_object_get(rep, "approved")))
                failed++;
            json_decref(rep);
        }
        appr[k] = (bench_now_us() - t0) / n;
        astrid_call call = {.suffix = "status", .method = "GetStatus", .want_status = "status"};
        t0 = bench_now_us();
        for (int i = 0; i < n; i++) {
            json_t *d = NULL;
            failed += astrid_client_call(c, &call, &d, &err) != 0;
            json_decref(d);
        }
        status[k] = (bench_now_us() - t0) / n;
    }
    atomic_store(&r.stop, 1);
    pthread_join(th, NULL);
    double a = bench_median(appr, ROUNDS), s = bench_median(status, ROUNDS);
    printf("   approval round trip (capsule -> prompt -> auto-answer -> capsule): %.0f us\n", a);
    printf("   GetStatus round trip: %.0f us  (approval/GetStatus %.1f)%s\n", s, a / s,
           failed ? "  ERRORS" : "");
    json_decref(ask);
    astrid_client_close(r.c);
    bench_daemon_stop(c, pid, home);
}

int main(void)
{
    bench_tokens();
    bench_allowances();
    bench_roundtrip();
    return 0;
}
