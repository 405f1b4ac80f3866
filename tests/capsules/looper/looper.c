/* looper: a run-loop capsule. Its `run` drains the runtime-owned handle of
 * demo.v1.loop and answers on demo.v1.loop.reply:
 *   {"op":"tick"}          count one for the caller (KV, the caller's namespace)
 *   {"op":"stall","ms":N}  busy for N ms (so messages queue up behind it)
 *   {"op":"report"}        {"principal", "count", "batches"} for the caller
 *   {"op":"sub"}           tries ipc-subscribe/poll/unsubscribe and reports
 * Each reply carries the batch size it came in. */
#include <astrid.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long num_after(const char *s, const char *key)
{
    const char *p = strstr(s, key);
    return p ? strtol(p + strlen(key), NULL, 10) : 0;
}

static long kv_num(const char *key)
{
    uint8_t *v = NULL;
    size_t len = 0;
    bool found = false;
    long n = 0;
    if (astrid_kv_get(key, &v, &len, &found, NULL) == 0 && found) {
        char buf[32];
        snprintf(buf, sizeof buf, "%.*s", (int)len, (const char *)v);
        n = strtol(buf, NULL, 10);
    }
    free(v);
    return n;
}

static void kv_put(const char *key, long n)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%ld", n);
    astrid_kv_set(key, buf, strlen(buf), NULL);
}

static void reply(const char *json)
{
    char *err = NULL;
    if (astrid_publish("demo.v1.loop.reply", json, &err) != 0) {
        astrid_logf(ASTRID_LOG_ERROR, "reply: %s", err);
        free(err);
    }
}

static void try_subs(size_t batch)
{
    char *e1 = NULL, *e2 = NULL, *e3 = NULL, out[1400];
    uint64_t h = 0, bad = 0;
    int ok_sub = astrid_subscribe("demo.v1.side", &h, &e1) == 0;
    int bad_sub = astrid_subscribe("demo.v1.secret", &bad, &e2) == 0;
    astrid_envelope env = {0};
    int ok_poll = ok_sub && astrid_poll(h, &env, NULL) == 0;
    astrid_handle *hs = NULL;
    size_t n = 0;
    astrid_interceptor_handles(&hs, &n, NULL);
    int unsub_rt = n && astrid_unsubscribe(hs[0].id, &e3) == 0;
    int unsub = ok_sub && astrid_unsubscribe(h, NULL) == 0;
    snprintf(out, sizeof out,
             "{\"batch\":%zu,\"subscribed\":%s,\"polled\":%s,\"poll_count\":%zu,"
             "\"acl_refused\":%s,\"acl_error\":\"%.300s\",\"runtime_unsub_refused\":%s,"
             "\"runtime_error\":\"%.200s\",\"unsubscribed\":%s}",
             batch, ok_sub ? "true" : "false", ok_poll ? "true" : "false", env.count,
             bad_sub ? "false" : "true", e2 ? e2 : "", unsub_rt ? "false" : "true", e3 ? e3 : "",
             unsub ? "true" : "false");
    astrid_envelope_free(&env);
    astrid_handles_free(hs, n);
    free(e1);
    free(e2);
    free(e3);
    reply(out);
}

static void handle(const astrid_message *m, size_t batch)
{
    astrid_caller who = {0};
    astrid_get_caller(&who, NULL);
    const char *p = who.principal ? who.principal : "";
    char out[512];
    if (strstr(m->payload, "\"stall\"")) {
        uint64_t until = astrid_clock_ms() + (uint64_t)num_after(m->payload, "\"ms\":");
        while (astrid_clock_ms() < until)
            ;
        snprintf(out, sizeof out, "{\"principal\":\"%s\",\"stalled\":true,\"batch\":%zu}", p,
                 batch);
        reply(out);
    } else if (strstr(m->payload, "\"tick\"")) {
        long n = kv_num("ticks") + 1;
        kv_put("ticks", n);
        astrid_logf(ASTRID_LOG_INFO, "tick %ld in a batch of %zu", n, batch);
        snprintf(out, sizeof out, "{\"principal\":\"%s\",\"count\":%ld,\"batch\":%zu}", p, n,
                 batch);
        reply(out);
    } else if (strstr(m->payload, "\"report\"")) {
        snprintf(out, sizeof out,
                 "{\"principal\":\"%s\",\"count\":%ld,\"batches\":%ld,\"batch\":%zu}", p,
                 kv_num("ticks"), kv_num("batches"), batch);
        reply(out);
    } else if (strstr(m->payload, "\"sub\"")) {
        try_subs(batch);
    }
    astrid_caller_free(&who);
}

static void loop(void)
{
    astrid_handle *hs = NULL;
    size_t n = 0;
    char *err = NULL;
    if (astrid_interceptor_handles(&hs, &n, &err) != 0 || n != 1) {
        astrid_logf(ASTRID_LOG_ERROR, "interceptor handles: %s", err ? err : "not exactly one");
        return; /* the daemon logs the exit */
    }
    astrid_logf(ASTRID_LOG_INFO, "run loop on %s (%s)", hs[0].topic, hs[0].action);
    astrid_signal_ready();
    for (;;) {
        astrid_envelope env = {0};
        if (astrid_recv(hs[0].id, 5000, &env, &err) != 0) {
            astrid_logf(ASTRID_LOG_ERROR, "recv: %s", err);
            free(err);
            err = NULL;
            continue;
        }
        if (env.count)
            kv_put("batches", kv_num("batches") + 1);
        for (size_t i = 0; i < env.count; i++)
            handle(&env.messages[i], env.count);
        astrid_envelope_free(&env);
    }
}
ASTRID_RUN(loop)
