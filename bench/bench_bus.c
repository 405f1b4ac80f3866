/* Bus publish -> deliver throughput, 256-byte payloads, with 1 and 8
 * subscribers (each on its own thread, blocking pop), against a plain
 * mutex+condvar queue handing the same malloc'd payload from one thread to
 * another, measured in the same run. Prints medians of 5 runs and ratios. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "bus/bus.h"

#define N 200000
#define RUNS 5
#define PAYLOAD 256

static char payload[PAYLOAD];
static _Atomic size_t sink; /* keeps the consumers' reads alive */

static _Atomic size_t consumed;

/* Consumers drain in batches, as the kernel's feeds do. */
static void *drain(void *arg)
{
    astrid_sub *s = arg;
    const astrid_msg *m[256];
    size_t got = 0, n, count = 0;
    while ((n = astrid_sub_pop_batch(s, -1, m, 256)) > 0) {
        for (size_t i = 0; i < n; i++) {
            got += m[i]->len;
            astrid_msg_unref(m[i]);
        }
        count += n;
    }
    sink += got;
    consumed += count;
    return NULL;
}

static double bus_run(int nsubs, double *delivered_per_s)
{
    astrid_bus *b = astrid_bus_new(NULL, NULL);
    astrid_sub *subs[8];
    pthread_t t[8];
    astrid_sub_opts o = {.capacity = 8192, .overflow = ASTRID_OVERFLOW_DROP_NEWEST};
    for (int i = 0; i < nsubs; i++) {
        subs[i] = astrid_bus_subscribe(b, "bench.v1.*", &o, NULL);
        pthread_create(&t[i], NULL, drain, subs[i]);
    }
    astrid_pub p = {.topic = "bench.v1.msg", .payload = payload, .len = PAYLOAD, .is_json = true};
    consumed = 0;
    double s = bench_now_s();
    for (int i = 0; i < N; i++)
        astrid_bus_publish(b, &p, NULL, NULL);
    for (int i = 0; i < nsubs; i++)
        astrid_sub_close(subs[i]);
    for (int i = 0; i < nsubs; i++)
        pthread_join(t[i], NULL);
    double el = bench_now_s() - s;
    /* Messages a consumer actually popped (drops on a full queue not counted). */
    *delivered_per_s = (double)consumed / el;
    for (int i = 0; i < nsubs; i++)
        astrid_sub_free(subs[i]);
    astrid_bus_free(b);
    return N / el;
}

/* Baseline: bounded ring of malloc'd payload copies, one mutex, two condvars. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t nonempty, nonfull;
    char *ring[8192];
    size_t head, count;
    int done;
} q;

static void *q_drain(void *arg)
{
    q *x = arg;
    size_t got = 0;
    for (;;) {
        pthread_mutex_lock(&x->mu);
        while (!x->count && !x->done)
            pthread_cond_wait(&x->nonempty, &x->mu);
        if (!x->count) {
            pthread_mutex_unlock(&x->mu);
            break;
        }
        char *m = x->ring[x->head];
        x->head = (x->head + 1) % 8192;
        x->count--;
        pthread_cond_signal(&x->nonfull);
        pthread_mutex_unlock(&x->mu);
        got += (size_t)m[0];
        free(m);
    }
    sink += got;
    return NULL;
}

static double baseline_run(void)
{
    static q x;
    memset(&x, 0, sizeof x);
    pthread_mutex_init(&x.mu, NULL);
    pthread_cond_init(&x.nonempty, NULL);
    pthread_cond_init(&x.nonfull, NULL);
    pthread_t t;
    pthread_create(&t, NULL, q_drain, &x);
    double s = bench_now_s();
    for (int i = 0; i < N; i++) {
        char *m = malloc(PAYLOAD);
        memcpy(m, payload, PAYLOAD);
        pthread_mutex_lock(&x.mu);
        while (x.count == 8192)
            pthread_cond_wait(&x.nonfull, &x.mu);
        x.ring[(x.head + x.count) % 8192] = m;
        x.count++;
        pthread_cond_signal(&x.nonempty);
        pthread_mutex_unlock(&x.mu);
    }
    pthread_mutex_lock(&x.mu);
    x.done = 1;
    pthread_cond_signal(&x.nonempty);
    pthread_mutex_unlock(&x.mu);
    pthread_join(t, NULL);
    double el = bench_now_s() - s;
    pthread_mutex_destroy(&x.mu);
    pthread_cond_destroy(&x.nonempty);
    pthread_cond_destroy(&x.nonfull);
    return N / el;
}

int main(void)
{
    memset(payload, 'x', sizeof payload);
    double r1[RUNS], r8[RUNS], rb[RUNS], d1[RUNS], d8[RUNS];
    for (int i = 0; i < RUNS; i++) {
        rb[i] = baseline_run();
        r1[i] = bus_run(1, &d1[i]);
        r8[i] = bus_run(8, &d8[i]);
    }
    double b = bench_median(rb, RUNS), one = bench_median(r1, RUNS), eight = bench_median(r8, RUNS),
           done = bench_median(d1, RUNS), deight = bench_median(d8, RUNS);
    printf("   baseline mutex+condvar handoff: %.0f msg/s\n", b);
    printf("   bus, 1 subscriber:  %.0f msg/s published, %.0f delivered/s (delivered ratio %.2f x "
           "baseline; target >= 1M msg/s)\n",
           one, done, done / b);
    printf("   bus, 8 subscribers: %.0f msg/s published, %.0f delivered/s (delivered ratio %.2f x "
           "baseline)\n",
           eight, deight, deight / b);
    return 0;
}
