/* Interceptor chains, one lane per principal (see dispatch.h).
 *
 * The dispatch router pops `icpt_feed` and appends each message to its
 * publisher's lane (NULL principal: the "system" lane). A pool of chain
 * workers takes lanes that have work and are not already running, one
 * message at a time, round robin: each principal's messages run in order,
 * and a principal whose capsule is slow (up to its own timeout quota)
 * holds one worker, never the others' lanes.
 *
 * `lanes_lock` guards every lane and the ready list; workers run chains
 * without it. */
#include "kernel/dispatch.h"

#include <stdlib.h>
#include <string.h>

#include "kernel/kernel.h"

#define DISPATCH_BATCH 256

typedef struct lane {
    char principal[65];   /* "" = system messages */
    const astrid_msg **q; /* ring of queued messages */
    size_t head, len, cap;
    bool busy, ready; /* a worker runs it / it is on the ready list */
    uint64_t dropped;
    struct lane *next, *next_ready;
} lane;

struct astrid_dispatch {
    astrid_kernel *k;
    pthread_mutex_t lanes_lock;
    pthread_cond_t work;
    lane *lanes;                   /* every lane with queued or running work */
    lane *ready_head, *ready_tail; /* lanes with work and no worker */
    bool stopping;
    pthread_t router;
    pthread_t workers[ASTRID_DISPATCH_WORKERS];
    size_t nworkers;
    bool router_started;
};

static void ready_push(astrid_dispatch *d, lane *l)
{
    l->ready = true;
    l->next_ready = NULL;
    if (d->ready_tail)
        d->ready_tail->next_ready = l;
    else
        d->ready_head = l;
    d->ready_tail = l;
}

static lane *ready_pop(astrid_dispatch *d)
{
    lane *l = d->ready_head;
    if (l) {
        d->ready_head = l->next_ready;
        if (!d->ready_head)
            d->ready_tail = NULL;
        l->ready = false;
    }
    return l;
}

static lane *lane_get(astrid_dispatch *d, const char *principal)
{
    const char *p = principal ? principal : "";
    for (lane *l = d->lanes; l; l = l->next)
        if (strcmp(l->principal, p) == 0)
            return l;
    lane *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    snprintf(l->principal, sizeof l->principal, "%s", p);
    l->next = d->lanes;
    d->lanes = l;
    return l;
}

static void lane_unlink(astrid_dispatch *d, lane *l)
{
    for (lane **pp = &d->lanes; *pp; pp = &(*pp)->next)
        if (*pp == l) {
            *pp = l->next;
            break;
        }
    free(l->q);
    free(l);
}

/* Append (one reference handed over); a full lane drops its oldest. */
static void lane_push(astrid_dispatch *d, lane *l, const astrid_msg *m)
{
    if (l->len == l->cap) {
        if (l->cap >= ASTRID_DISPATCH_LANE_MAX) {
            astrid_msg_unref(l->q[l->head]);
            l->head = (l->head + 1) % l->cap;
            l->len--;
            if (l->dropped++ % 1024 == 0)
                astrid_klog(d->k, "WARN",
                            "interceptor lane of %s is full: dropping its oldest messages "
                            "(%llu so far)",
                            *l->principal ? l->principal : "system",
                            (unsigned long long)l->dropped);
        } else {
            size_t nc = l->cap ? l->cap * 2 : 16;
            const astrid_msg **nq = malloc(nc * sizeof(const astrid_msg *));
            if (!nq) {
                astrid_msg_unref(m);
                return;
            }
            for (size_t i = 0; i < l->len; i++)
                nq[i] = l->q[(l->head + i) % l->cap];
            free(l->q);
            l->q = nq;
            l->head = 0;
            l->cap = nc;
        }
    }
    l->q[(l->head + l->len) % l->cap] = m;
    l->len++;
    if (!l->busy && !l->ready) {
        ready_push(d, l);
        pthread_cond_signal(&d->work);
    }
}

static void run_chain(astrid_kernel *k, const astrid_msg *m)
{
    astrid_chain_result res;
    astrid_err err;
    if (astrid_bus_dispatch(k->bus, m, &res, &err) != 0) {
        astrid_klog(k, "ERROR", "interceptor chain for %s: %s", m->topic, err.msg);
        return;
    }
    if (res.action == ASTRID_ICPT_DENY)
        astrid_klog(k, "INFO", "%s (seq %llu) denied by interceptor %llu: %s", m->topic,
                    (unsigned long long)m->seq, (unsigned long long)res.stopped_by,
                    res.reason ? res.reason : "denied");
    astrid_chain_result_free(&res);
}

static void *worker_main(void *arg)
{
    astrid_dispatch *d = arg;
    pthread_mutex_lock(&d->lanes_lock);
    for (;;) {
        lane *l;
        while (!(l = ready_pop(d)) && !d->stopping)
            pthread_cond_wait(&d->work, &d->lanes_lock);
        if (!l)
            break;
        const astrid_msg *m = l->q[l->head];
        l->head = (l->head + 1) % l->cap;
        l->len--;
        l->busy = true;
        pthread_mutex_unlock(&d->lanes_lock);
        run_chain(d->k, m);
        astrid_msg_unref(m);
        pthread_mutex_lock(&d->lanes_lock);
        l->busy = false;
        if (l->len)
            ready_push(d, l); /* to the back: round robin between principals */
        else
            lane_unlink(d, l);
    }
    pthread_mutex_unlock(&d->lanes_lock);
    return NULL;
}

static void *router_main(void *arg)
{
    astrid_dispatch *d = arg;
    const astrid_msg *batch[DISPATCH_BATCH];
    size_t n;
    while ((n = astrid_sub_pop_batch(d->k->icpt_feed, -1, batch, DISPATCH_BATCH)) > 0) {
        pthread_mutex_lock(&d->lanes_lock);
        for (size_t i = 0; i < n; i++) {
            lane *l = lane_get(d, batch[i]->principal);
            if (l)
                lane_push(d, l, batch[i]);
            else
                astrid_msg_unref(batch[i]);
        }
        pthread_mutex_unlock(&d->lanes_lock);
    }
    return NULL;
}

astrid_dispatch *astrid_dispatch_start(astrid_kernel *k, astrid_err *err)
{
    astrid_dispatch *d = calloc(1, sizeof *d);
    if (!d) {
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        return NULL;
    }
    d->k = k;
    pthread_mutex_init(&d->lanes_lock, NULL);
    pthread_cond_init(&d->work, NULL);
    for (; d->nworkers < ASTRID_DISPATCH_WORKERS; d->nworkers++)
        if (pthread_create(&d->workers[d->nworkers], NULL, worker_main, d) != 0)
            break;
    if (d->nworkers == 0 || pthread_create(&d->router, NULL, router_main, d) != 0) {
        astrid_dispatch_stop(d);
        astrid_err_set(err, ASTRID_E_INTERNAL, "cannot start the interceptor dispatch threads");
        return NULL;
    }
    d->router_started = true;
    return d;
}

void astrid_dispatch_stop(astrid_dispatch *d)
{
    if (!d)
        return;
    /* The router ends when icpt_feed is closed (the caller's job). */
    if (d->router_started)
        pthread_join(d->router, NULL);
    pthread_mutex_lock(&d->lanes_lock);
    d->stopping = true;
    pthread_cond_broadcast(&d->work);
    pthread_mutex_unlock(&d->lanes_lock);
    for (size_t i = 0; i < d->nworkers; i++)
        pthread_join(d->workers[i], NULL);
    while (d->lanes) {
        lane *l = d->lanes;
        for (size_t i = 0; i < l->len; i++)
            astrid_msg_unref(l->q[(l->head + i) % l->cap]);
        lane_unlink(d, l);
    }
    pthread_cond_destroy(&d->work);
    pthread_mutex_destroy(&d->lanes_lock);
    free(d);
}
