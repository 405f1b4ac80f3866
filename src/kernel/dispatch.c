/* Interceptor chains, one lane per (principal, capsule) (see dispatch.h).
 *
 * The dispatch router pops `icpt_feed` and appends each message to the lane
 * of its publisher (NULL principal: the "system" lanes) and of the capsule
 * at the head of its chain (the first matching interceptor that serves that
 * principal; astrid_capsule_lane_key) — upstream's per-capsule queues, kept
 * per agent. A pool of chain workers takes lanes that have work and are not
 * already running, one message at a time, round robin: each capsule sees an
 * agent's messages in publish order, and a capsule that is slow for an
 * agent (a provider streaming for 30 s, a tool waiting for an approval)
 * holds one worker and its own lane only — the same agent's other capsules
 * (the orchestrator handling that stream) and every other agent go on.
 *
 * A chain of several capsules runs whole on its head's lane, so a later
 * capsule of it may run at the same time as that capsule's own lane for
 * the same agent (as upstream's spawned chain tasks); two invocations
 * running at once take two instances (capsule/invoke.h), so this only
 * matters to a capsule keeping state across topics whose chains have
 * different heads (react keeps its turn in memory only because all of its
 * topics queue on its own lane).
 *
 * `lanes_lock` guards every lane and the ready list; workers run chains
 * without it. The router computes the lane key before taking it (the key
 * needs the bus's interceptor lock). */
#include "kernel/dispatch.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel/kernel.h"
#include "kernel/usage.h"

#define DISPATCH_BATCH 256
#define TICK_TOPIC "astrid.v1.watchdog.tick"
#define TICK_MS 5000
#define ACTIVE_MAX 1024            /* principals remembered for the tick */
#define ACTIVE_MS (10 * 60 * 1000) /* "lately": longer than any phase timeout */

typedef struct active {
    char principal[65];
    uint64_t last_ms;
} active;

typedef struct lane {
    char principal[65];   /* "" = system messages */
    const void *capsule;  /* head of the chain (a key only, never read) */
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
    /* principals whose messages reached an interceptor lately (router
     * writes, tick thread reads; under lanes_lock) */
    active active[ACTIVE_MAX];
    size_t nactive;
    pthread_cond_t tick_wake;
    pthread_t ticker;
    bool ticker_started;
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

static lane *lane_get(astrid_dispatch *d, const char *principal, const void *capsule)
{
    const char *p = principal ? principal : "";
    for (lane *l = d->lanes; l; l = l->next)
        if (l->capsule == capsule && strcmp(l->principal, p) == 0)
            return l;
    lane *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    snprintf(l->principal, sizeof l->principal, "%s", p);
    l->capsule = capsule;
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
                astrid_klog(
                    d->k, "WARN",
                    "interceptor lane of %s (one capsule) is full: dropping its oldest messages "
                    "(%llu so far)",
                    *l->principal ? l->principal : "system", (unsigned long long)l->dropped);
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
    if (astrid_usage_refuse(k, m))
        return; /* over budget: answered instead of run (usage.c) */
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

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Under lanes_lock. The tick's own messages do not count, or an agent
 * would stay "active" forever. */
static void note_active(astrid_dispatch *d, const astrid_msg *m, uint64_t now)
{
    if (!m->principal || strcmp(m->topic, TICK_TOPIC) == 0)
        return;
    size_t oldest = 0;
    for (size_t i = 0; i < d->nactive; i++) {
        if (strcmp(d->active[i].principal, m->principal) == 0) {
            d->active[i].last_ms = now;
            return;
        }
        if (d->active[i].last_ms < d->active[oldest].last_ms)
            oldest = i;
    }
    size_t at = d->nactive < ACTIVE_MAX ? d->nactive++ : oldest;
    snprintf(d->active[at].principal, sizeof d->active[at].principal, "%s", m->principal);
    d->active[at].last_ms = now;
}

static void publish_tick(astrid_dispatch *d, const char *principal)
{
    astrid_err err;
    if (astrid_kernel_bus_publish(d->k, TICK_TOPIC, "{}", 2, d->k->session, principal, 0, NULL,
                                  &err) != 0)
        astrid_klog(d->k, "WARN", "watchdog tick for %s: %s", principal ? principal : "system",
                    err.msg);
}

/* The "watchdog tick" thread: astrid.v1.watchdog.tick every 5 s
 * (reference §4.7), once for the system (no principal) and once as each
 * principal active in the last 10 minutes, so a capsule keeping per-agent
 * state (react's phase timeouts) checks it as that agent. */
static void *ticker_main(void *arg)
{
    astrid_dispatch *d = arg;
    char(*who)[65] = malloc(ACTIVE_MAX * sizeof *who);
    if (!who)
        return NULL;
    pthread_mutex_lock(&d->lanes_lock);
    while (!d->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += TICK_MS / 1000;
        while (!d->stopping && pthread_cond_timedwait(&d->tick_wake, &d->lanes_lock, &until) == 0)
            ;
        if (d->stopping)
            break;
        uint64_t now = now_ms();
        size_t n = 0;
        for (size_t i = 0; i < d->nactive;) {
            if (now - d->active[i].last_ms > ACTIVE_MS) {
                d->active[i] = d->active[--d->nactive];
                continue;
            }
            memcpy(who[n++], d->active[i].principal, sizeof who[0]);
            i++;
        }
        pthread_mutex_unlock(&d->lanes_lock);
        if (astrid_bus_intercepted(d->k->bus, TICK_TOPIC)) {
            publish_tick(d, NULL);
            for (size_t i = 0; i < n; i++)
                publish_tick(d, who[i]);
        }
        pthread_mutex_lock(&d->lanes_lock);
    }
    pthread_mutex_unlock(&d->lanes_lock);
    free(who);
    return NULL;
}

static void *router_main(void *arg)
{
    astrid_dispatch *d = arg;
    const astrid_msg *batch[DISPATCH_BATCH];
    void *keys[DISPATCH_BATCH];
    size_t n;
    while ((n = astrid_sub_pop_batch(d->k->icpt_feed, -1, batch, DISPATCH_BATCH)) > 0) {
        for (size_t i = 0; i < n; i++)
            keys[i] = astrid_bus_chain_key(d->k->bus, batch[i], astrid_capsule_lane_key);
        uint64_t now = now_ms();
        pthread_mutex_lock(&d->lanes_lock);
        for (size_t i = 0; i < n; i++) {
            note_active(d, batch[i], now);
            lane *l = lane_get(d, batch[i]->principal, keys[i]);
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
    pthread_cond_init(&d->tick_wake, NULL);
    for (; d->nworkers < ASTRID_DISPATCH_WORKERS; d->nworkers++)
        if (pthread_create(&d->workers[d->nworkers], NULL, worker_main, d) != 0)
            break;
    /* the ticker before the router: stopping a started router needs
     * icpt_feed closed, which a failed start does not do */
    d->ticker_started = pthread_create(&d->ticker, NULL, ticker_main, d) == 0;
    if (d->nworkers == 0 || !d->ticker_started ||
        pthread_create(&d->router, NULL, router_main, d) != 0) {
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
    pthread_cond_broadcast(&d->tick_wake);
    pthread_mutex_unlock(&d->lanes_lock);
    if (d->ticker_started)
        pthread_join(d->ticker, NULL);
    for (size_t i = 0; i < d->nworkers; i++)
        pthread_join(d->workers[i], NULL);
    while (d->lanes) {
        lane *l = d->lanes;
        for (size_t i = 0; i < l->len; i++)
            astrid_msg_unref(l->q[(l->head + i) % l->cap]);
        lane_unlink(d, l);
    }
    pthread_cond_destroy(&d->work);
    pthread_cond_destroy(&d->tick_wake);
    pthread_mutex_destroy(&d->lanes_lock);
    free(d);
}
