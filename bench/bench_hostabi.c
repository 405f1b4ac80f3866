/* Host ABI benchmarks (issue #7):
 *  1. kv-set + kv-get through the ABI: the kv-counter capsule's handler
 *     (one kv-get, one kv-set, one get-caller, one publish) invoked in a
 *     fresh instance per call, against the same KV operations called
 *     directly on the store, in the same run;
 *  2. publish -> interceptor -> reply through the daemon socket
 *     (`demo.v1.echo` answered by the echo capsule), against a raw
 *     socketpair ping-pong;
 *  3. per-principal instance memory: linear memory + instance overhead of
 *     one live instance of the echo capsule (KiB).
 * Needs the example .capsule files under build/capsules (make) and astrid-daemon. */
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "capsule/host/host.h"
#include "capsule/wasm/wasi.h"
#include "bench_daemon.h"
#include "client/client.h"
#include "store/kv.h"

#define RUNS 5

static void *echo_peer(void *arg)
{
    int fd = *(int *)arg;
    char buf[512];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        if (write(fd, buf, (size_t)n) != n)
            break;
    return NULL;
}

static double socketpair_us(size_t len, int iters)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pthread_t t;
    pthread_create(&t, NULL, echo_peer, &sv[1]);
    char buf[512] = {0};
    double s = bench_now_us();
    for (int i = 0; i < iters; i++) {
        if (write(sv[0], buf, len) != (ssize_t)len)
            break;
        size_t got = 0;
        while (got < len) {
            ssize_t n = read(sv[0], buf, len - got);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
    }
    double per = (bench_now_us() - s) / iters;
    close(sv[0]);
    pthread_join(t, NULL);
    close(sv[1]);
    return per;
}

/* Resident pages of this process (/proc/self/statm, second field). */
static long resident_pages(void)
{
    char buf[128] = "";
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *sp = strchr(buf, ' ');
    return sp ? strtol(sp + 1, NULL, 10) : 0;
}

static int sh(const char *fmt, const char *a, const char *b)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    return system(cmd);
}

static double rpc(astrid_client *c, const char *topic, const char *reply, int n)
{
    json_t *p = json_pack("{s:s}", "hello", "world"), *r = NULL;
    astrid_err err;
    double s = bench_now_us();
    for (int i = 0; i < n; i++) {
        if (astrid_client_request(c, topic, p, reply, 10000, &r, &err) != 0) {
            fprintf(stderr, "bench_hostabi: %s\n", err.msg);
            break;
        }
        json_decref(r);
    }
    json_decref(p);
    return (bench_now_us() - s) / n;
}

/* Ask kvbench for a run; the guest's own timing per op, in us. */
static double guest_us(astrid_client *c, const char *payload)
{
    astrid_err err;
    json_t *p = json_loads(payload, 0, NULL), *r = NULL;
    double us = 0;
    if (astrid_client_request(c, "demo.v1.kvbench", p, "demo.v1.kvbench.reply", 120000, &r, &err) ==
        0)
        us = json_number_value(json_object_get(r, "us_per_op"));
    json_decref(r);
    json_decref(p);
    return us;
}

int main(void)
{
    const char *build = getenv("ASTRID_BUILD") ? getenv("ASTRID_BUILD") : "build";
    char home[] = "/tmp/astrid-bench-hostabi-XXXXXX";
    if (!mkdtemp(home))
        return 1;
    setenv("ASTRID_HOME", home, 1);
    char bin[1024];
    snprintf(bin, sizeof bin, "%s/bin", build);
    if (sh("'%s/astrid' capsule install '%s/../capsules/kv-counter.capsule' >/dev/null 2>&1", bin,
           bin) != 0 ||
        sh("'%s/astrid' capsule install '%s/../capsules/echo.capsule' >/dev/null 2>&1", bin, bin) !=
            0) {
        printf("   skipped: capsules not installable (run make first)\n");
        return 0;
    }
    /* the kv benchmark capsule is built here (bench-only, not an example),
     * beside the home: the daemon refuses to install from inside it */
    char kvb[1200];
    snprintf(kvb, sizeof kvb, "%s-kvb", home);
    setenv("ASTRID_SDK", "sdk/c", 0);
    bool have_kvb =
        sh("'%s/astrid-build' tests/capsules/kvbench -o '%s' >/dev/null 2>&1", bin, kvb) == 0 &&
        sh("'%s/astrid' capsule install '%s/kvbench.capsule' >/dev/null 2>&1", bin, kvb) == 0;
    pid_t pid;
    astrid_client *c = bench_daemon_start(home, &pid, "bench_hostabi");
    if (!c)
        return 1;
    astrid_err err;
    if (astrid_client_subscribe(c, "demo.v1.count.reply", &err) != 0 ||
        astrid_client_subscribe(c, "demo.v1.echo.reply", &err) != 0) {
        fprintf(stderr, "bench_hostabi: %s\n", err.msg);
        kill(pid, SIGTERM);
        return 1;
    }
    rpc(c, "demo.v1.count", "demo.v1.count.reply", 20); /* warm the AOT cache */
    rpc(c, "demo.v1.echo", "demo.v1.echo.reply", 20);
    double kvget[RUNS] = {0}, kvset[RUNS] = {0};
    if (have_kvb && astrid_client_subscribe(c, "demo.v1.kvbench.reply", &err) == 0) {
        for (int r = 0; r < RUNS; r++) {
            kvget[r] = guest_us(c, "{\"op\":\"get\",\"n\":200000}");
            kvset[r] = guest_us(c, "{\"op\":\"set\",\"n\":2000}");
        }
    }
    double kvc[RUNS], echo[RUNS], base[RUNS], direct[RUNS], dget[RUNS] = {0}, dset[RUNS] = {0};
    for (int r = 0; r < RUNS; r++) {
        kvc[r] = rpc(c, "demo.v1.count", "demo.v1.count.reply", 100);
        echo[r] = rpc(c, "demo.v1.echo", "demo.v1.echo.reply", 100);
        base[r] = socketpair_us(300, 2000);
    }
    astrid_client_close(c);
    c = NULL;
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    /* the same KV work called directly on the store */
    char db[200];
    snprintf(db, sizeof db, "%s/var/state.db", home);
    astrid_kv *kv;
    if (astrid_kv_open(&kv, db, 0, &err) == 0) {
        for (int r = 0; r < RUNS; r++) {
            double s = bench_now_us();
            for (int i = 0; i < 2000; i++) {
                char *v = NULL, val[16];
                size_t len;
                astrid_kv_get(kv, "bench:capsule:kv-counter", "count", &v, &len, NULL);
                free(v);
                snprintf(val, sizeof val, "%d", i);
                astrid_kv_set(kv, "bench:capsule:kv-counter", "count", val, strlen(val), NULL);
            }
            direct[r] = (bench_now_us() - s) / 2000;
            s = bench_now_us();
            for (int i = 0; i < 200000; i++) {
                char *v = NULL;
                size_t len;
                astrid_kv_get(kv, "bench:capsule:kv-counter", "count", &v, &len, NULL);
                free(v);
            }
            dget[r] = (bench_now_us() - s) / 200000;
            s = bench_now_us();
            for (int i = 0; i < 2000; i++) {
                char val[16];
                snprintf(val, sizeof val, "%d", i);
                astrid_kv_set(kv, "bench:capsule:kv-counter", "count", val, strlen(val), NULL);
            }
            dset[r] = (bench_now_us() - s) / 2000;
        }
        astrid_kv_close(kv);
    }
    double k = bench_median(kvc, RUNS), e = bench_median(echo, RUNS), b = bench_median(base, RUNS),
           d = bench_median(direct, RUNS);
    printf("   kv-counter through the socket (fresh instance, kv-get + kv-set + publish): %.1f us "
           "= %.0f invocations/s (direct kv get+set on the store: %.2f us = %.0f pairs/s)\n",
           k, 1e6 / k, d, 1e6 / d);
    if (have_kvb)
        printf("   kv through the ABI, in one invocation: get %.2f us = %.0f ops/s (direct on the "
               "store %.2f us, ratio %.2f); set %.1f us = %.0f ops/s (direct %.1f us, ratio "
               "%.2f: each set is a durable LMDB commit)\n",
               bench_median(kvget, RUNS), 1e6 / bench_median(kvget, RUNS), bench_median(dget, RUNS),
               bench_median(kvget, RUNS) / bench_median(dget, RUNS), bench_median(kvset, RUNS),
               1e6 / bench_median(kvset, RUNS), bench_median(dset, RUNS),
               bench_median(kvset, RUNS) / bench_median(dset, RUNS));
    else
        printf("   kv through the ABI: skipped (kvbench capsule did not build or install)\n");
    printf("   publish -> echo interceptor -> reply through the socket: %.1f us (raw socketpair "
           "ping-pong %.1f us; ratio %.1f)\n",
           e, b, e / b);
    /* 3. memory of live instances of the echo capsule */
    char path[600], *wasm = NULL;
    size_t wlen = 0;
    snprintf(path, sizeof path, "%s/../capsules/echo.capsule", bin);
    char tmpd[300];
    snprintf(tmpd, sizeof tmpd, "%s/x", home);
    char cmd2[900];
    snprintf(cmd2, sizeof cmd2, "mkdir -p '%s' && tar xzf '%s' -C '%s' echo.wasm", tmpd, path,
             tmpd);
    if (system(cmd2) == 0) {
        snprintf(path, sizeof path, "%s/echo.wasm", tmpd);
        FILE *f = fopen(path, "rb");
        if (f) {
            wasm = malloc(1 << 20);
            wlen = wasm ? fread(wasm, 1, 1 << 20, f) : 0;
            fclose(f);
        }
    }
    if (wasm) {
        astrid_wasm_host_module hosts[16];
        memcpy(hosts, astrid_capsule_host_modules, astrid_capsule_host_nmodules * sizeof hosts[0]);
        hosts[astrid_capsule_host_nmodules] = astrid_wasi_host_module;
        char cache[400];
        snprintf(cache, sizeof cache, "%s/bin/aot", home);
        astrid_wasm_engine_config cfg = {.cache_dir = cache,
                                         .host_modules = hosts,
                                         .nhost_modules = astrid_capsule_host_nmodules + 1};
        astrid_wasm_engine *eng = astrid_wasm_engine_new(&cfg, &err);
        astrid_wasm_module *m =
            eng ? astrid_wasm_module_load(eng, (uint8_t *)wasm, wlen, NULL, NULL, &err) : NULL;
        enum { NI = 200 };
        astrid_wasm_instance *insts[NI] = {0};
        astrid_wasi *ws[NI] = {0};
        long page = sysconf(_SC_PAGESIZE);
        long rss0 = resident_pages(), rss1;
        size_t made = 0;
        for (size_t i = 0; m && i < NI; i++) {
            astrid_wasi_config wc = {0};
            ws[i] = astrid_wasi_new(&wc, &err);
            astrid_wasm_instance_config ic = {.wasi = ws[i]};
            if (!(insts[i] = astrid_wasm_instantiate(m, &ic, NULL, &err)))
                break;
            astrid_wasm_call(insts[i], "_initialize", NULL, 0, NULL, 0, 5000, NULL, &err);
            made++;
        }
        rss1 = resident_pages();
        if (made)
            printf("   per-principal instance memory (echo, initialized, resident): %.0f KiB "
                   "(%zu live instances)\n",
                   (double)(rss1 - rss0) * (double)page / 1024.0 / (double)made, made);
        for (size_t i = 0; i < made; i++) {
            astrid_wasm_instance_free(insts[i]);
            astrid_wasi_free(ws[i]);
        }
        if (made < NI && ws[made])
            astrid_wasi_free(ws[made]);
        astrid_wasm_module_free(m);
        astrid_wasm_engine_free(eng);
        free(wasm);
    }
    sh("rm -rf '%s'%s", kvb, "");
    return bench_daemon_stop(NULL, 0, home);
}
