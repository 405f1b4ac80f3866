/* Audit appends/s with group commit (8 appending threads, fsync on, files
 * under the build tree's filesystem) against libsodium's raw
 * crypto_sign_detached rate over the same entry bytes, measured in the same
 * run. Medians of 3 runs; prints the ratio (target >= 0.7). */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "audit/audit.h"

#define THREADS 8
#define PER 400
#define RUNS 3

static astrid_keypair kp;
static const char SESSION[] = "6f1c2c1e-93a4-4c47-9e2e-3f0b7d3a1a10";

static void *appender(void *arg)
{
    astrid_audit *log = arg;
    json_t *params = json_pack("{s:s}", "name", "bob");
    json_t *act = astrid_audit_action_admin("AgentCreate", "agent:create", "bob", params);
    json_t *auth = astrid_audit_auth_system("policy allow: default holds agent:create");
    json_t *out = astrid_audit_outcome_success(NULL);
    for (int i = 0; i < PER; i++)
        if (astrid_audit_append(log, "default", act, auth, out, NULL, NULL) < 0)
            fprintf(stderr, "append failed\n");
    json_decref(params);
    json_decref(act);
    json_decref(auth);
    json_decref(out);
    return NULL;
}

static double audit_run(const char *home)
{
    astrid_audit *log = astrid_audit_open(home, &kp, SESSION, NULL, NULL, NULL);
    pthread_t t[THREADS];
    double s = bench_now_s();
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, appender, log);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    double el = bench_now_s() - s;
    astrid_audit_close(log);
    return THREADS * PER / el;
}

/* A stream of read-only queries: one thread queues write-behind entries,
 * then waits until every one is signed, chained and fsynced. */
static double write_behind_run(const char *home)
{
    astrid_audit *log = astrid_audit_open(home, &kp, SESSION, NULL, NULL, NULL);
    json_t *act = astrid_audit_action_admin("GetStatus", "system:status", NULL, NULL);
    json_t *auth = astrid_audit_auth_system("policy allow: default holds system:status");
    json_t *out = astrid_audit_outcome_success(NULL);
    double s = bench_now_s();
    for (int i = 0; i < THREADS * PER; i++)
        if (astrid_audit_append_mode(log, ASTRID_AUDIT_WRITE_BEHIND, "default", act, auth, out,
                                     NULL, NULL) < 0)
            fprintf(stderr, "append failed\n");
    if (astrid_audit_flush(log, NULL) < 0)
        fprintf(stderr, "flush failed\n");
    double el = bench_now_s() - s;
    json_decref(act);
    json_decref(auth);
    json_decref(out);
    astrid_audit_close(log);
    return THREADS * PER / el;
}

static double sign_run(const char *line, size_t len)
{
    uint8_t sig[64];
    int n = THREADS * PER;
    double s = bench_now_s();
    for (int i = 0; i < n; i++)
        crypto_sign_detached(sig, NULL, (const unsigned char *)line, len, kp.sk);
    return n / (bench_now_s() - s);
}

/* One small append + fsync on the same filesystem: the floor of a batch. */
static double fsync_latency(const char *home)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/fsync-probe", home);
    FILE *f = fopen(path, "a");
    double t[9];
    for (int i = 0; i < 9; i++) {
        double s = bench_now_s();
        fputs("x\n", f);
        fflush(f);
        fsync(fileno(f));
        t[i] = bench_now_s() - s;
    }
    fclose(f);
    unlink(path);
    bench_sort(t, 9);
    return t[4];
}

int main(void)
{
    astrid_crypto_init(NULL);
    uint8_t seed[32] = {1};
    astrid_keypair_from_seed(&kp, seed, NULL);
    const char *base = getenv("ASTRID_BUILD") ? getenv("ASTRID_BUILD") : "build";
    char home[4096];
    snprintf(home, sizeof home, "%s/bench-audit-XXXXXX", base);
    if (!mkdtemp(home)) {
        perror("mkdtemp");
        return 1;
    }
    /* a typical entry line, for the raw-sign baseline */
    char line[1024];
    int len = snprintf(line, sizeof line,
                       "{\"id\":\"0b8e7c6a-1d2f-4e3a-9b8c-7d6e5f4a3b2c\",\"timestamp\":"
                       "\"2026-11-28T17:00:00.000000Z\",\"session_id\":\"%s\",\"principal\":"
                       "\"default\",\"action\":{\"type\":\"admin_request\",\"method\":"
                       "\"AgentCreate\",\"required_capability\":\"agent:create\","
                       "\"target_principal\":\"bob\",\"params\":{\"name\":\"bob\"}},"
                       "\"authorization\":{\"type\":\"system\",\"reason\":\"policy allow: "
                       "default holds agent:create\"},\"outcome\":{\"status\":\"success\"},"
                       "\"previous_hash\":\"%064d\",\"runtime_key\":"
                       "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}",
                       SESSION, 0);
    double a[RUNS], r[RUNS], w[RUNS];
    for (int i = 0; i < RUNS; i++) {
        r[i] = sign_run(line, (size_t)len);
        a[i] = audit_run(home);
        w[i] = write_behind_run(home);
    }
    bench_sort(a, RUNS);
    bench_sort(r, RUNS);
    bench_sort(w, RUNS);
    printf("   raw crypto_sign_detached (%d-byte entry): %.0f signs/s\n", len, r[RUNS / 2]);
    printf("   audit appends, %d threads, group commit + fsync: %.0f appends/s (ratio %.2f; "
           "target >= 0.7)\n",
           THREADS, a[RUNS / 2], a[RUNS / 2] / r[RUNS / 2]);
    printf("   audit appends, write-behind stream until durable: %.0f appends/s (ratio %.2f; "
           "target >= 0.7)\n",
           w[RUNS / 2], w[RUNS / 2] / r[RUNS / 2]);
    double fl = fsync_latency(home);
    printf(
        "   same-run fsync latency %.2f ms: with %d closed-loop appenders at most %.0f appends/s "
        "reach the disk\n",
        fl * 1e3, THREADS, THREADS / fl);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", home);
    return system(cmd) == 0 ? 0 : 1;
}
