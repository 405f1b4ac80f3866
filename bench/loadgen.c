/* loadgen: the load and soak driver of issue #18 (docs/testing.md, "Load and
 * soak"), driven by bench/load.sh, which sets up the daemon, the capsules,
 * the agents and the local model server first.
 *
 *   loadgen HOME [--soak SECONDS] [--pid PID] [--expect FILE]
 *   loadgen HOME --verify FILE      (the checks alone, e.g. after a restart)
 *   loadgen --sample PID SECONDS    (the growth check alone, on any process)
 *
 * LOAD_CLIENTS threads (default 100), each with two connections (one as
 * `default`, one as the agent load-<i % LOAD_AGENTS>), each sending
 * LOAD_REQUESTS requests (default 1000; with --soak: until the time is up)
 * drawn from a fixed mix: GetStatus, capability checks (QuotaGet of
 * oneself, allowed; CapsGrant to oneself, which must be refused), CapsGrant
 * by the admin, capsule invocations (the loadctr test capsule: a KV counter
 * per client and one shared by all) and, when LOAD_CHAT=1, chat turns
 * against the local model server (1 request in LOAD_CHAT_EVERY, default 50:
 * a turn is some ten capsule invocations and an HTTP stream). Reported:
 * each failed request as it happens (client, kind, message; the first
 * ERRORS_PRINTED), errors per kind, p50/p99/p999 per kind and overall,
 * throughput.
 *
 * Nothing lost: every grant answered ok must be in the agent's profile on
 * disk; every counter must equal the increments answered (no more, no
 * less). --expect FILE writes those expectations so --verify can check them
 * again after a restart.
 *
 * With --pid, a sampler thread reads the daemon's RSS, open fds and threads
 * every LOAD_SAMPLE_S seconds; after the warm-up (the first quarter of the
 * run, at least one sample) the least-squares slope of each is reported per
 * hour, and the run fails when the growth it predicts over the window
 * exceeds the bound: RSS max(LOAD_RSS_BOUND_MB (16) MiB, 20 % of the
 * RSS at warm-up), fds LOAD_FD_BOUND (16), threads LOAD_THREAD_BOUND (8).
 * A long soak thereby holds a stricter bound per hour than a short one.
 *
 * Exit: 0 all well, 1 errors, losses or growth, 2 usage or setup.
 * Threads: main (setup, join, report), one per client, one sampler. Shared
 * state: each client writes only its own struct; the sampler only its
 * series; main reads them after joining. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <dirent.h>
#include <unistd.h>

#include "astrid/profile.h"
#include "bench_util.h"
#include "client/client.h"

enum op { OP_STATUS, OP_CAPS, OP_GRANT, OP_CAPSULE, OP_CHAT, OP_N };
static const char *const op_name[OP_N] = {"status", "caps check", "grant", "capsule", "chat"};

#define GRANT_KINDS 50 /* distinct caps per client: keeps a profile under its 1024 grants */
#define SHARED_KEY "shared"

typedef struct lat {
    double *v;
    size_t n, cap;
} lat;

typedef struct client {
    int id;
    char agent[32];
    const char *home;
    long requests;   /* per client; < 0: until `deadline` */
    double deadline; /* bench_now_s() */
    double t0;       /* bench_now_s() at the start of the run */
    unsigned seed;
    lat lat[OP_N];
    long ok[OP_N], errors[OP_N];
    char first_error[OP_N][256];
    long inc_own, inc_shared; /* increments answered */
    unsigned char granted[GRANT_KINDS];
    long chat_turns;
    int setup_failed;
} client;

typedef struct series {
    double t[8192];
    double rss_kb[8192], anon_kb[8192], fds[8192], threads[8192];
    int n;
} series;

typedef struct sampler {
    pid_t pid;
    double period_s;
    atomic_bool stop;
    series s;
} sampler;

static int chat_every; /* set once in main before any thread starts */
static int n_agents;

/* A whole non-negative number, or -1 (garbage is refused, not read as 0). */
static double num_arg(const char *s)
{
    char *end = NULL;
    errno = 0;
    double v = s && *s ? strtod(s, &end) : -1;
    return !end || *end || errno || v < 0 || v > 1e9 ? -1 : v;
}

static int env_int(const char *name, int dflt)
{
    const char *v = getenv(name);
    return v && *v ? (int)num_arg(v) : dflt;
}

static void lat_add(lat *l, double us)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 1024;
        double *nv = realloc(l->v, nc * sizeof *nv);
        if (!nv)
            return; /* a lost sample skews nothing that matters; counts stay exact */
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n++] = us;
}

/* Failures printed as they happen, kind and message each (a run's summary
 * keeps only the first of each kind); past this many, only counted. */
#define ERRORS_PRINTED 100
static atomic_int errors_printed;

static void fail_op(client *c, enum op op, double t_s, const char *msg)
{
    if (c->errors[op]++ == 0)
        snprintf(c->first_error[op], sizeof c->first_error[op], "%s", msg);
    int n = atomic_fetch_add(&errors_printed, 1);
    if (n < ERRORS_PRINTED)
        printf("   error: client %d (%s) %s at %.1f s: %s\n", c->id, c->agent, op_name[op], t_s,
               msg);
    else if (n == ERRORS_PRINTED)
        printf("   error: more than %d failed requests, the rest only counted\n", ERRORS_PRINTED);
}

static astrid_client *connect_as(const char *home, const char *principal, astrid_err *err)
{
    astrid_client_opts o = {
        .home = home, .principal = principal, .identity = "", .timeout_ms = 30000};
    astrid_client *c = NULL;
    return astrid_client_connect(&c, &o, err) == 0 ? c : NULL;
}

/* One capsule request: op "inc"/"get" of counter `key`; *value its answer. */
static int ctr_call(astrid_client *c, int id, const char *op, const char *key, long long *value,
                    astrid_err *err)
{
    char reply[64];
    snprintf(reply, sizeof reply, "demo.v1.loadctr.reply.%d", id);
    json_t *p = json_pack("{s:s,s:s,s:s}", "op", op, "key", key, "reply", reply), *r = NULL;
    int rc = astrid_client_request(c, "demo.v1.loadctr", p, reply, 30000, &r, err);
    json_decref(p);
    if (rc != 0)
        return -1;
    json_t *v = json_object_get(r, "value");
    const char *k = json_string_value(json_object_get(r, "key"));
    if (!json_is_integer(v) || !k || strcmp(k, key) != 0) {
        astrid_err_set(err, ASTRID_E_PARSE, "loadctr answered without the key's value");
        json_decref(r);
        return -1;
    }
    *value = json_integer_value(v);
    json_decref(r);
    return 0;
}

static int admin(astrid_client *c, const char *suffix, const char *method, json_t *params,
                 astrid_err *err)
{
    astrid_call call = {.api = ASTRID_API_ADMIN,
                        .suffix = suffix,
                        .method = method,
                        .params = params,
                        .timeout_ms = 30000};
    json_t *d = NULL;
    int rc = astrid_client_call(c, &call, &d, err);
    json_decref(d);
    json_decref(params);
    return rc;
}

/* One chat turn on the agent's connection: the final answer must be the
 * model server's echo of the prompt, not an error. Frames of the agent's
 * other clients' sessions (same principal) are skipped. */
static int chat_turn(client *c, astrid_client *a, astrid_err *err)
{
    char session[64], text[96], want[128];
    snprintf(session, sizeof session, "load-%d-%ld", c->id, c->chat_turns / 50);
    snprintf(text, sizeof text, "load turn %ld of client %d", c->chat_turns, c->id);
    snprintf(want, sizeof want, "mockllm heard: %s", text);
    c->chat_turns++;
    json_t *p =
        json_pack("{s:s,s:s,s:s}", "type", "user_input", "text", text, "session_id", session);
    int rc = astrid_client_publish(a, "user.v1.prompt", p, err);
    json_decref(p);
    if (rc != 0)
        return -1;
    double until = bench_now_s() + 60;
    for (;;) {
        int left = (int)((until - bench_now_s()) * 1000);
        json_t *m = NULL;
        if (left <= 0 || astrid_client_recv(a, left, &m, err) != 0) {
            if (left <= 0)
                astrid_err_set(err, ASTRID_E_TIMEOUT, "no final answer within 60 s");
            return -1;
        }
        json_t *pl = json_object_get(m, "payload");
        const char *topic = json_string_value(json_object_get(m, "topic"));
        const char *sid = json_string_value(json_object_get(pl, "session_id"));
        if (topic && strcmp(topic, "agent.v1.response") == 0 && sid && strcmp(sid, session) == 0 &&
            json_is_true(json_object_get(pl, "is_final"))) {
            const char *got = json_string_value(json_object_get(pl, "text"));
            rc = got && strcmp(got, want) == 0 && !json_is_true(json_object_get(pl, "error")) ? 0
                                                                                              : -1;
            if (rc != 0)
                astrid_err_set(err, ASTRID_E_INTERNAL, "turn answered \"%.120s\"",
                               got ? got : "(no text)");
            json_decref(m);
            return rc;
        }
        json_decref(m);
    }
}

static enum op pick(client *c)
{
    if (chat_every > 0 && rand_r(&c->seed) % (unsigned)chat_every == 0)
        return OP_CHAT;
    unsigned r = rand_r(&c->seed) % 100;
    return r < 35 ? OP_STATUS : r < 60 ? OP_CAPS : r < 70 ? OP_GRANT : OP_CAPSULE;
}

static void *client_main(void *arg)
{
    client *c = arg;
    astrid_err err;
    char reply[64], own[32];
    snprintf(reply, sizeof reply, "demo.v1.loadctr.reply.%d", c->id);
    snprintf(own, sizeof own, "c%d", c->id);
    astrid_client *d = connect_as(c->home, "default", &err);
    astrid_client *a = d ? connect_as(c->home, c->agent, &err) : NULL;
    if (!a || astrid_client_subscribe(d, reply, &err) != 0 ||
        (chat_every > 0 && astrid_client_subscribe(a, "agent.v1.*", &err) != 0)) {
        fprintf(stderr, "loadgen: client %d: %s\n", c->id, err.msg);
        c->setup_failed = 1;
        astrid_client_close(a);
        astrid_client_close(d);
        return NULL;
    }
    for (long i = 0; c->requests < 0 ? bench_now_s() < c->deadline : i < c->requests; i++) {
        enum op op = pick(c);
        double t0 = bench_now_us();
        int rc = 0;
        astrid_err_clear(&err);
        switch (op) {
        case OP_STATUS: {
            astrid_call call = {.api = ASTRID_API_MANAGEMENT,
                                .suffix = "status",
                                .method = "GetStatus",
                                .timeout_ms = 30000};
            json_t *data = NULL;
            rc = astrid_client_call(d, &call, &data, &err);
            json_decref(data);
            break;
        }
        case OP_CAPS:
            if (rand_r(&c->seed) % 2) {
                rc = admin(a, "quota.get", "QuotaGet", json_pack("{s:s}", "principal", c->agent),
                           &err);
            } else {
                /* an agent granting itself: the kernel must refuse */
                rc = admin(
                    a, "caps.grant", "CapsGrant",
                    json_pack("{s:s,s:[s]}", "principal", c->agent, "capabilities", "caps:grant"),
                    &err);
                if (rc == 0) {
                    astrid_err_set(&err, ASTRID_E_INTERNAL, "%s granted itself caps:grant",
                                   c->agent);
                    rc = -1;
                } else if (err.code == ASTRID_E_PERM) {
                    rc = 0;
                }
            }
            break;
        case OP_GRANT: {
            int k = (int)(rand_r(&c->seed) % GRANT_KINDS);
            char cap[64];
            snprintf(cap, sizeof cap, "load%d:k%d", c->id, k);
            rc = admin(d, "caps.grant", "CapsGrant",
                       json_pack("{s:s,s:[s]}", "principal", c->agent, "capabilities", cap), &err);
            if (rc == 0)
                c->granted[k] = 1;
            break;
        }
        case OP_CAPSULE: {
            long long v;
            bool shared = rand_r(&c->seed) % 4 == 0;
            rc = ctr_call(d, c->id, "inc", shared ? SHARED_KEY : own, &v, &err);
            if (rc == 0 && !shared && v != c->inc_own + 1) {
                astrid_err_set(&err, ASTRID_E_INTERNAL, "counter %s answered %lld after %ld", own,
                               v, c->inc_own);
                rc = -1;
            }
            if (rc == 0)
                (*(shared ? &c->inc_shared : &c->inc_own))++;
            break;
        }
        case OP_CHAT:
            rc = chat_turn(c, a, &err);
            break;
        default:
            break;
        }
        if (rc == 0) {
            c->ok[op]++;
            lat_add(&c->lat[op], bench_now_us() - t0);
        } else {
            fail_op(c, op, bench_now_s() - c->t0,
                    err.msg[0] ? err.msg : "failed without a message");
        }
    }
    astrid_client_close(a);
    astrid_client_close(d);
    return NULL;
}

static int sample_proc(pid_t pid, double *rss_kb, double *anon_kb, double *fds, double *threads)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    *rss_kb = *anon_kb = *threads = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmRSS:", 6) == 0)
            *rss_kb = strtod(line + 6, NULL);
        else if (strncmp(line, "RssAnon:", 8) == 0)
            *anon_kb = strtod(line + 8, NULL);
        else if (strncmp(line, "Threads:", 8) == 0)
            *threads = strtod(line + 8, NULL);
    }
    fclose(f);
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    *fds = n;
    return *rss_kb < 0 || *anon_kb < 0 || *threads < 0 ? -1 : 0;
}

static void *sampler_main(void *arg)
{
    sampler *sm = arg;
    double t0 = bench_now_s();
    while (!atomic_load(&sm->stop) && sm->s.n < 8192) {
        series *s = &sm->s;
        if (sample_proc(sm->pid, &s->rss_kb[s->n], &s->anon_kb[s->n], &s->fds[s->n],
                        &s->threads[s->n]) == 0)
            s->t[s->n++] = bench_now_s() - t0;
        for (double until = bench_now_s() + sm->period_s;
             !atomic_load(&sm->stop) && bench_now_s() < until;)
            usleep(50000);
    }
    return NULL;
}

/* Least-squares slope of y over t (per second) for samples [from, n). */
static double slope(const double *t, const double *y, int from, int n)
{
    double st = 0, sy = 0, stt = 0, sty = 0;
    int m = n - from;
    for (int i = from; i < n; i++) {
        st += t[i];
        sy += y[i];
        stt += t[i] * t[i];
        sty += t[i] * y[i];
    }
    double den = m * stt - st * st;
    return m < 2 || den == 0 ? 0 : (m * sty - st * sy) / den;
}

/* Report the growth after warm-up; 0 within the bounds, 1 beyond. */
static int growth_report(const series *s)
{
    if (s->n < 3) {
        printf("not ok - soak: only %d samples of the daemon (it exited?)\n", s->n);
        return 1;
    }
    int from = s->n / 4 > 0 ? s->n / 4 : 1;
    double window = s->t[s->n - 1] - s->t[from];
    double rss_bound = env_int("LOAD_RSS_BOUND_MB", 16) * 1024.0;
    if (rss_bound < s->anon_kb[from] * 0.2)
        rss_bound = s->anon_kb[from] * 0.2;
    /* The bound is on anonymous memory (the heap): file pages of the LMDB
     * map and the audit log are counted in VmRSS and grow with the data on
     * disk, which is no leak. Total RSS is reported beside it. */
    struct {
        const char *name, *unit;
        const double *y;
        double bound, scale;
    } m[4] = {
        {"RSS (anonymous)", "MiB", s->anon_kb, rss_bound, 1024.0},
        {"RSS (total, reported only)", "MiB", s->rss_kb, INFINITY, 1024.0},
        {"open fds", "", s->fds, env_int("LOAD_FD_BOUND", 16), 1},
        {"threads", "", s->threads, env_int("LOAD_THREAD_BOUND", 8), 1},
    };
    int bad = 0;
    for (int i = 0; i < 4; i++) {
        double sl = slope(s->t, m[i].y, from, s->n);
        double grow = sl * window;
        int over = grow > m[i].bound;
        bad |= over;
        printf("%s - soak: daemon %s %.1f -> %.1f%s%s over %d samples after warm-up (%.0f s): "
               "slope %+.2f%s%s/h, fitted growth %+.2f (bound %.2f)\n",
               over ? "not ok" : "ok", m[i].name, m[i].y[from] / m[i].scale,
               m[i].y[s->n - 1] / m[i].scale, *m[i].unit ? " " : "", m[i].unit, s->n - from, window,
               sl * 3600 / m[i].scale, *m[i].unit ? " " : "", m[i].unit, grow / m[i].scale,
               m[i].bound / m[i].scale);
    }
    return bad;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void pct_line(const char *name, double *v, size_t n, long errors, const char *first)
{
    if (n == 0 && errors == 0)
        return;
    if (n)
        qsort(v, n, sizeof *v, cmp_d);
#define P(q) (n ? v[(size_t)((double)(n - 1) * (q))] / 1000.0 : 0)
    printf("   %-11s %8zu ok %6ld errors  p50 %8.2f ms  p99 %8.2f ms  p999 %8.2f ms\n", name, n,
           errors, P(0.5), P(0.99), P(0.999));
#undef P
    if (errors)
        printf("      first error: %s\n", first);
}

/* ---- expectations: what must be on disk and in the counters ---- */

static json_t *expectations(client *cl, int n)
{
    json_t *e = json_object(), *ctr = json_object(), *gr = json_object();
    long shared = 0;
    for (int i = 0; i < n; i++) {
        char key[32];
        snprintf(key, sizeof key, "c%d", cl[i].id);
        json_object_set_new(ctr, key, json_integer(cl[i].inc_own));
        shared += cl[i].inc_shared;
        json_t *list = json_object_get(gr, cl[i].agent);
        if (!list) {
            list = json_array();
            json_object_set_new(gr, cl[i].agent, list);
        }
        for (int k = 0; k < GRANT_KINDS; k++) {
            char cap[64];
            snprintf(cap, sizeof cap, "load%d:k%d", cl[i].id, k);
            if (cl[i].granted[k])
                json_array_append_new(list, json_string(cap));
        }
    }
    json_object_set_new(ctr, SHARED_KEY, json_integer(shared));
    json_object_set_new(e, "counters", ctr);
    json_object_set_new(e, "grants", gr);
    return e;
}

/* Every expectation against the live daemon (counters) and the profiles on
 * disk (grants). Prints one TAP line per kind; returns the failures. */
static int verify(const char *home, const json_t *e)
{
    int bad = 0;
    astrid_err err;
    astrid_client *c = connect_as(home, "default", &err);
    if (!c || astrid_client_subscribe(c, "demo.v1.loadctr.reply.verify", &err) != 0) {
        printf("not ok - verify: connect: %s\n", err.msg);
        astrid_client_close(c);
        return 1;
    }
    const char *key;
    json_t *want;
    size_t nctr = 0, badctr = 0;
    char first[256] = "";
    json_object_foreach(json_object_get(e, "counters"), key, want)
    {
        long long got = -1;
        nctr++;
        /* the verifier's reply topic: "verify" is not a client number */
        char reply[64];
        snprintf(reply, sizeof reply, "demo.v1.loadctr.reply.verify");
        json_t *p = json_pack("{s:s,s:s,s:s}", "op", "get", "key", key, "reply", reply), *r = NULL;
        if (astrid_client_request(c, "demo.v1.loadctr", p, reply, 30000, &r, &err) == 0)
            got = json_integer_value(json_object_get(r, "value"));
        json_decref(p);
        json_decref(r);
        if (got != json_integer_value(want)) {
            if (badctr++ == 0)
                snprintf(first, sizeof first, "%s is %lld, %lld increments were answered", key, got,
                         (long long)json_integer_value(want));
        }
    }
    astrid_client_close(c);
    printf("%s - every KV counter equals its answered increments (%zu counters)%s%s\n",
           badctr ? "not ok" : "ok", nctr, badctr ? ": " : "", first);
    bad += badctr != 0;

    size_t ngr = 0, missing = 0;
    first[0] = 0;
    json_t *caps;
    json_object_foreach(json_object_get(e, "grants"), key, caps)
    {
        astrid_profile *p = astrid_profile_load(home, key, &err);
        size_t i;
        json_t *cap;
        json_array_foreach(caps, i, cap)
        {
            const char *s = json_string_value(cap);
            bool found = false;
            for (size_t j = 0; p && j < p->grants.n && !found; j++)
                found = strcmp(p->grants.v[j], s) == 0;
            ngr++;
            if (!found && missing++ == 0)
                snprintf(first, sizeof first, "%s lacks %s%s%s", key, s, p ? "" : ": ",
                         p ? "" : err.msg);
        }
        astrid_profile_release(p);
    }
    printf("%s - every grant answered ok is in its profile on disk (%zu grants)%s%s\n",
           missing ? "not ok" : "ok", ngr, missing ? ": " : "", first);
    return bad + (missing != 0);
}

static int usage(void)
{
    fprintf(stderr, "usage: loadgen HOME [--soak SECONDS] [--pid PID] [--expect FILE]\n"
                    "       loadgen HOME --verify FILE\n"
                    "       loadgen --sample PID SECONDS\n");
    return 2;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 4 && strcmp(argv[1], "--sample") == 0) {
        static sampler sm;
        sm.pid = (pid_t)num_arg(argv[2]);
        sm.period_s = env_int("LOAD_SAMPLE_S", 1);
        double secs = num_arg(argv[3]);
        if (sm.pid <= 0 || secs < 0 || sm.period_s <= 0)
            return usage();
        pthread_t th;
        if (pthread_create(&th, NULL, sampler_main, &sm) != 0)
            return 2;
        sleep((unsigned)secs);
        atomic_store(&sm.stop, true);
        pthread_join(th, NULL);
        return growth_report(&sm.s);
    }
    if (argc < 2 || argv[1][0] == '-')
        return usage();
    const char *home = argv[1], *expect_file = NULL, *verify_file = NULL;
    double soak_s = 0;
    pid_t pid = 0;
    for (int i = 2; i < argc; i++) {
        if (i + 1 >= argc)
            return usage();
        if (strcmp(argv[i], "--soak") == 0)
            soak_s = num_arg(argv[++i]);
        else if (strcmp(argv[i], "--pid") == 0)
            pid = (pid_t)num_arg(argv[++i]);
        else if (strcmp(argv[i], "--expect") == 0)
            expect_file = argv[++i];
        else if (strcmp(argv[i], "--verify") == 0)
            verify_file = argv[++i];
        else
            return usage();
    }
    if (soak_s < 0 || pid < 0)
        return usage();
    if (verify_file) {
        json_error_t je;
        json_t *e = json_load_file(verify_file, 0, &je);
        if (!e) {
            fprintf(stderr, "loadgen: %s: %s\n", verify_file, je.text);
            return 2;
        }
        int bad = verify(home, e);
        json_decref(e);
        return bad ? 1 : 0;
    }
    int nclients = env_int("LOAD_CLIENTS", 100);
    long nreq = env_int("LOAD_REQUESTS", 1000);
    n_agents = env_int("LOAD_AGENTS", 20);
    chat_every = env_int("LOAD_CHAT", 0) ? env_int("LOAD_CHAT_EVERY", 50) : 0;
    if (nclients < 1 || nclients > 1000 || n_agents < 1 || nreq < 1)
        return usage();
    static sampler sm;
    sm.period_s = env_int("LOAD_SAMPLE_S", soak_s >= 600 ? 10 : 2);
    if (sm.period_s <= 0)
        return usage();
    client *cl = calloc((size_t)nclients, sizeof *cl);
    pthread_t *th = calloc((size_t)nclients, sizeof *th);
    pthread_t sth;
    bool sampling = pid > 0;
    sm.pid = pid;
    if (!cl || !th || (sampling && pthread_create(&sth, NULL, sampler_main, &sm) != 0)) {
        free(cl);
        free(th);
        return 2;
    }
    double t0 = bench_now_s();
    int started = 0;
    for (int i = 0; i < nclients; i++) {
        cl[i].id = i;
        snprintf(cl[i].agent, sizeof cl[i].agent, "load-%d", i % n_agents);
        cl[i].home = home;
        cl[i].requests = soak_s > 0 ? -1 : nreq;
        cl[i].deadline = t0 + soak_s;
        cl[i].t0 = t0;
        cl[i].seed = (unsigned)(i * 2654435761u + 1);
        if (pthread_create(&th[i], NULL, client_main, &cl[i]) != 0) {
            fprintf(stderr, "loadgen: cannot start client %d\n", i);
            for (int j = i; j < nclients; j++)
                cl[j].setup_failed = 1; /* counted as failed below */
            break;
        }
        started++;
    }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    double wall = bench_now_s() - t0;
    if (sampling) {
        atomic_store(&sm.stop, true);
        pthread_join(sth, NULL);
    }

    int bad = 0, setup_failed = 0;
    long total_ok = 0, total_err = 0;
    lat all = {0};
    char chat[64] = "off (no model server)";
    if (chat_every)
        snprintf(chat, sizeof chat, "1 request in %d", chat_every);
    if (soak_s > 0)
        printf("   %d clients, steady load for %.0f s, %d agents, chat %s\n", nclients, soak_s,
               n_agents, chat);
    else
        printf("   %d clients x %ld requests, %d agents, chat %s\n", nclients, nreq, n_agents,
               chat);
    for (int op = 0; op < OP_N; op++) {
        lat merged = {0};
        long errors = 0;
        const char *first = "";
        for (int i = 0; i < nclients; i++) {
            for (size_t j = 0; j < cl[i].lat[op].n; j++) {
                lat_add(&merged, cl[i].lat[op].v[j]);
                lat_add(&all, cl[i].lat[op].v[j]);
            }
            if (cl[i].errors[op] && !errors)
                first = cl[i].first_error[op];
            errors += cl[i].errors[op];
            total_ok += cl[i].ok[op];
        }
        total_err += errors;
        pct_line(op_name[op], merged.v, merged.n, errors, first);
        free(merged.v);
    }
    for (int i = 0; i < nclients; i++)
        setup_failed += cl[i].setup_failed;
    pct_line("all", all.v, all.n, total_err, "(see above)");
    free(all.v);
    printf("   %ld requests in %.1f s: %.0f requests/s, %ld errors, %d clients failed to "
           "connect\n",
           total_ok + total_err, wall, (double)total_ok / wall, total_err, setup_failed);
    printf("%s - load: no request failed (%ld ok)\n", total_err || setup_failed ? "not ok" : "ok",
           total_ok);
    bad += total_err != 0 || setup_failed != 0;

    json_t *e = expectations(cl, nclients);
    if (expect_file && json_dump_file(e, expect_file, JSON_INDENT(1)) != 0) {
        fprintf(stderr, "loadgen: cannot write %s\n", expect_file);
        bad++;
    }
    bad += verify(home, e);
    json_decref(e);
    if (sampling)
        bad += growth_report(&sm.s);
    for (int i = 0; i < nclients; i++)
        for (int op = 0; op < OP_N; op++)
            free(cl[i].lat[op].v);
    free(cl);
    free(th);
    return bad ? 1 : 0;
}
