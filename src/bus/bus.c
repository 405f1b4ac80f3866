/* Bus core: messages, publish, subscriptions with bounded queues. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "bus/bus_internal.h"
#include "astrid/topic.h"

struct astrid_sub {
    astrid_bus *bus;
    char *pattern;
    char *only_principal; /* copy of opts.only_principal */
    astrid_sub_opts opts;
    int efd;
    pthread_mutex_t lock; /* guards ring, head, count, closed, waiters, stats */
    pthread_cond_t cond;
    const astrid_msg **ring;
    size_t cap, head, count;
    bool closed;
    unsigned waiters;
    bool hot; /* the last pop found a message without sleeping (reader thread only) */
    uint64_t delivered, dropped;
};

#define SPIN_BEFORE_SLEEP 4000 /* ~10-40 us of pause instructions */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static const char NIL_UUID[] = "00000000-0000-0000-0000-000000000000";

void astrid_msg_ref(const astrid_msg *m)
{
    atomic_fetch_add_explicit(&((astrid_msg *)m)->refs_, 1, memory_order_relaxed);
}

void astrid_msg_unref(const astrid_msg *m)
{
    if (m && atomic_fetch_sub_explicit(&((astrid_msg *)m)->refs_, 1, memory_order_acq_rel) == 1)
        astrid_bus_pool_release(m->pool_, (void *)m, m->pooled_);
}

static int64_t default_clock(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t astrid_bus_now_ns(astrid_bus *bus)
{
    return bus->opts.clock(bus->opts.clock_ctx);
}

astrid_bus *astrid_bus_new(const astrid_bus_opts *opts, astrid_err *err)
{
    astrid_bus *b = aligned_alloc(64, sizeof *b);
    if (b)
        memset(b, 0, sizeof *b);
    if (!b) {
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        return NULL;
    }
    astrid_bus_pool_init(&b->pool, opts ? opts->pool : 0);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    b->ncpu = ncpu > 0 ? (size_t)ncpu : 1;
    if (opts)
        b->opts = *opts;
    if (!b->opts.clock)
        b->opts.clock = default_clock;
    atomic_init(&b->next_seq, 1);
    pthread_rwlock_init(&b->subs_lock, NULL);
    pthread_rwlock_init(&b->icpt_lock, NULL);
    pthread_mutex_init(&b->rate_lock, NULL);
    b->next_icpt = 1;
    return b;
}

void astrid_bus_free(astrid_bus *bus)
{
    if (!bus)
        return;
    free(bus->subs);
    astrid_bus_pool_drain(&bus->pool);
    astrid_bus_icpt_free(bus);
    astrid_bus_rate_free(bus);
    pthread_rwlock_destroy(&bus->subs_lock);
    pthread_rwlock_destroy(&bus->icpt_lock);
    pthread_mutex_destroy(&bus->rate_lock);
    free(bus);
}

static astrid_msg *msg_new(astrid_bus *bus, const astrid_pub *p, uint64_t seq)
{
    size_t tl = strlen(p->topic) + 1, pl = p->principal ? strlen(p->principal) + 1 : 0;
    size_t al = p->to_principal ? strlen(p->to_principal) + 1 : 0;
    bool pooled;
    astrid_msg *m =
        astrid_bus_pool_alloc(&bus->pool, sizeof *m + tl + pl + p->len + 1 + al, &pooled);
    if (!m)
        return NULL;
    m->pooled_ = pooled;
    m->pool_ = &bus->pool;
    char *tail = (char *)(m + 1);
    memcpy(tail, p->topic, tl);
    m->topic = tail;
    m->principal = NULL;
    if (pl) {
        memcpy(tail + tl, p->principal, pl);
        m->principal = tail + tl;
    }
    m->payload = (const uint8_t *)tail + tl + pl;
    if (p->len)
        memcpy(tail + tl + pl, p->payload, p->len);
    tail[tl + pl + p->len] = '\0';
    m->to_principal = NULL;
    if (al) {
        memcpy(tail + tl + pl + p->len + 1, p->to_principal, al);
        m->to_principal = tail + tl + pl + p->len + 1;
    }
    size_t sl_to = p->to_source ? strnlen(p->to_source, sizeof m->to_source - 1) : 0;
    if (sl_to)
        memcpy(m->to_source, p->to_source, sl_to);
    m->to_source[sl_to] = '\0';
    m->restricted = sl_to || al || astrid_topic_privacy_of(p->topic) != ASTRID_TOPIC_PUBLIC;
    m->direct = (p->flags & ASTRID_PUB_DIRECT) != 0;
    m->len = p->len;
    m->is_json = p->is_json;
    const char *src = p->source_id ? p->source_id : NIL_UUID;
    size_t sl = strnlen(src, sizeof m->source_id - 1);
    memcpy(m->source_id, src, sl);
    m->source_id[sl] = '\0';
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    m->timestamp_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    m->seq = seq;
    atomic_init(&m->refs_, 1);
    return m;
}

static void efd_signal(int fd)
{
    uint64_t one = 1;
    if (fd >= 0 && write(fd, &one, sizeof one) < 0 && errno != EAGAIN) {
        /* EAGAIN means the counter is already non-zero: still readable. */
    }
}

static void efd_drain(int fd)
{
    uint64_t v;
    if (fd >= 0 && read(fd, &v, sizeof v) < 0 && errno != EAGAIN) {
        /* nothing to drain */
    }
}

/* Enqueue one reference of `m`; never blocks beyond the sub's lock. */
static void deliver(astrid_sub *s, const astrid_msg *m)
{
    const astrid_msg *victim = NULL;
    bool wake = false;
    pthread_mutex_lock(&s->lock);
    if (s->closed) {
        pthread_mutex_unlock(&s->lock);
        return;
    }
    if (s->count == s->cap) {
        s->dropped++;
        atomic_fetch_add_explicit(&s->bus->dropped, 1, memory_order_relaxed);
        if (s->opts.overflow == ASTRID_OVERFLOW_DROP_NEWEST) {
            pthread_mutex_unlock(&s->lock);
            return;
        }
        victim = s->ring[s->head];
        s->head = (s->head + 1) % s->cap;
        s->count--;
    }
    astrid_msg_ref(m);
    s->ring[(s->head + s->count) % s->cap] = m;
    wake = s->count++ == 0;
    s->delivered++;
    if (wake)
        efd_signal(s->efd);
    if (s->waiters)
        pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
    atomic_fetch_add_explicit(&s->bus->delivered, 1, memory_order_relaxed);
    astrid_msg_unref(victim);
    if (wake && s->opts.wake)
        s->opts.wake(s->opts.wake_ctx);
}

int astrid_bus_publish(astrid_bus *bus, const astrid_pub *p, uint64_t *seq_out, astrid_err *err)
{
    if (astrid_topic_check(p->topic, ASTRID_TOPIC_PUBLISH, err) < 0 || (p->len && !p->payload)) {
        atomic_fetch_add_explicit(&bus->rejected, 1, memory_order_relaxed);
        if (p->len && !p->payload)
            return astrid_err_set(err, ASTRID_E_INVALID, "payload is NULL");
        return -1;
    }
    if (p->len > ASTRID_BUS_MAX_PAYLOAD) {
        atomic_fetch_add_explicit(&bus->rejected, 1, memory_order_relaxed);
        return astrid_err_set(err, ASTRID_E_LIMIT, "Payload too large");
    }
    if ((p->flags & ASTRID_PUB_RATE_LIMIT) &&
        astrid_bus_rate_check(bus, p->source_id, p->principal, p->len, err) < 0)
        return -1;
    uint64_t seq = atomic_fetch_add_explicit(&bus->next_seq, 1, memory_order_relaxed);
    astrid_msg *m = msg_new(bus, p, seq);
    if (!m)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    int intercepted = -1; /* computed once, only if an intercepted_only sub exists */
    pthread_rwlock_rdlock(&bus->subs_lock);
    for (size_t i = 0; i < bus->nsubs; i++) {
        astrid_sub *s = bus->subs[i];
        if (s->only_principal && (!m->principal || strcmp(m->principal, s->only_principal) != 0))
            continue;
        if (m->restricted) {
            /* replies and private events: never a plain subscription or an
             * interceptor, whatever their pattern */
            if (s->opts.private_router)
                deliver(s, m);
        } else if (s->opts.intercepted_only) {
            if (intercepted < 0)
                intercepted = astrid_bus_intercepted(bus, m->topic);
            if (intercepted)
                deliver(s, m);
        } else if ((!s->pattern || astrid_topic_sub_matches_bus(m->topic, s->pattern)) &&
                   (!s->opts.accept || s->opts.accept(s->opts.accept_ctx, m))) {
            deliver(s, m);
        }
    }
    pthread_rwlock_unlock(&bus->subs_lock);
    atomic_fetch_add_explicit(&bus->published, 1, memory_order_relaxed);
    if (p->msg_out)
        *p->msg_out = m; /* the publisher's reference passes to the caller */
    else
        astrid_msg_unref(m);
    if (seq_out)
        *seq_out = seq;
    return 0;
}

astrid_sub *astrid_bus_subscribe(astrid_bus *bus, const char *pattern, const astrid_sub_opts *opts,
                                 astrid_err *err)
{
    if (pattern && astrid_topic_check(pattern, ASTRID_TOPIC_SUBSCRIBE, err) < 0)
        return NULL;
    astrid_sub *s = calloc(1, sizeof *s);
    if (!s)
        goto oom;
    if (opts)
        s->opts = *opts;
    s->cap = s->opts.capacity ? s->opts.capacity : ASTRID_BUS_DEFAULT_CAPACITY;
    s->ring = calloc(s->cap, sizeof(const astrid_msg *));
    s->pattern = pattern ? strdup(pattern) : NULL;
    s->only_principal = s->opts.only_principal ? strdup(s->opts.only_principal) : NULL;
    s->opts.only_principal = NULL; /* the caller's string: use the copy */
    s->bus = bus;
    s->efd = -1;
    if (!s->ring || (pattern && !s->pattern) ||
        (opts && opts->only_principal && !s->only_principal))
        goto oom;
    if (s->opts.want_eventfd && (s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        astrid_err_sys(err, "eventfd");
        goto fail;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_rwlock_wrlock(&bus->subs_lock);
    if (bus->nsubs == bus->subs_cap) {
        size_t nc = bus->subs_cap ? bus->subs_cap * 2 : 8;
        astrid_sub **ns = realloc(bus->subs, nc * sizeof(astrid_sub *));
        if (!ns) {
            pthread_rwlock_unlock(&bus->subs_lock);
            pthread_mutex_destroy(&s->lock);
            pthread_cond_destroy(&s->cond);
            goto oom;
        }
        bus->subs = ns;
        bus->subs_cap = nc;
    }
    bus->subs[bus->nsubs++] = s;
    pthread_rwlock_unlock(&bus->subs_lock);
    return s;
oom:
    astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
fail:
    if (s) {
        if (s->efd >= 0)
            close(s->efd);
        free(s->ring);
        free(s->pattern);
        free(s->only_principal);
        free(s);
    }
    return NULL;
}

/* Caller holds s->lock. */
static const astrid_msg *pop_locked(astrid_sub *s)
{
    if (!s->count)
        return NULL;
    const astrid_msg *m = s->ring[s->head];
    s->head = (s->head + 1) % s->cap;
    if (--s->count == 0)
        efd_drain(s->efd);
    return m;
}

const astrid_msg *astrid_sub_try_pop(astrid_sub *s)
{
    pthread_mutex_lock(&s->lock);
    const astrid_msg *m = pop_locked(s);
    pthread_mutex_unlock(&s->lock);
    return m;
}

int astrid_sub_pop(astrid_sub *s, int timeout_ms, const astrid_msg **out, astrid_err *err)
{
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    if (timeout_ms > 0) {
        dl.tv_sec += timeout_ms / 1000;
        dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (dl.tv_nsec >= 1000000000L) {
            dl.tv_sec++;
            dl.tv_nsec -= 1000000000L;
        }
    }
    /* A consumer that keeps up with a fast publisher would otherwise sleep
     * and be woken (two futex calls) for every message; waiting a few
     * microseconds for the next one lets it take messages in bursts. Only
     * while messages are streaming (`hot`): an idle reader sleeps at once
     * rather than burning a shared core. */
    bool slept = false;
    bool crowded = __atomic_load_n(&s->bus->nsubs, __ATOMIC_RELAXED) >= s->bus->ncpu;
    if (timeout_ms != 0 && s->hot)
        for (int spin = 0; spin < SPIN_BEFORE_SLEEP; spin++) {
            if (__atomic_load_n(&s->count, __ATOMIC_RELAXED) ||
                __atomic_load_n(&s->closed, __ATOMIC_RELAXED))
                break;
            /* with at least as many readers as cores, a spinning reader
             * would otherwise hold the publisher's core: yield now and then */
            if ((spin & 255) == 255 && crowded)
                sched_yield();
            else
                cpu_relax();
        }
    pthread_mutex_lock(&s->lock);
    int rc = 0;
    while (!(*out = pop_locked(s))) {
        if (s->closed) {
            rc = astrid_err_set(err, ASTRID_E_NOTFOUND, "subscription closed");
            break;
        }
        if (timeout_ms == 0) {
            rc = astrid_err_set(err, ASTRID_E_TIMEOUT, "no message within %d ms", timeout_ms);
            break;
        }
        s->waiters++;
        slept = true;
        int w = timeout_ms < 0 ? pthread_cond_wait(&s->cond, &s->lock)
                               : pthread_cond_timedwait(&s->cond, &s->lock, &dl);
        s->waiters--;
        if (w == ETIMEDOUT && !(*out = pop_locked(s))) {
            rc = astrid_err_set(err, ASTRID_E_TIMEOUT, "no message within %d ms", timeout_ms);
            break;
        }
        if (*out)
            break;
    }
    s->hot = rc == 0 && !slept;
    pthread_mutex_unlock(&s->lock);
    return rc;
}

size_t astrid_sub_pop_batch(astrid_sub *s, int timeout_ms, const astrid_msg **out, size_t max)
{
    size_t n = 0;
    const astrid_msg *first;
    if (max == 0 || astrid_sub_pop(s, timeout_ms, &first, NULL) != 0)
        return 0;
    out[n++] = first;
    pthread_mutex_lock(&s->lock);
    while (n < max && (out[n] = pop_locked(s)))
        n++;
    pthread_mutex_unlock(&s->lock);
    return n;
}

int astrid_sub_eventfd(const astrid_sub *s)
{
    return s->efd;
}

void astrid_sub_get_stats(astrid_sub *s, astrid_sub_stats *st)
{
    pthread_mutex_lock(&s->lock);
    st->delivered = s->delivered;
    st->dropped = s->dropped;
    st->queued = s->count;
    pthread_mutex_unlock(&s->lock);
}

void astrid_sub_close(astrid_sub *s)
{
    astrid_bus *bus = s->bus;
    pthread_rwlock_wrlock(&bus->subs_lock);
    for (size_t i = 0; i < bus->nsubs; i++)
        if (bus->subs[i] == s) {
            bus->subs[i] = bus->subs[--bus->nsubs];
            break;
        }
    pthread_rwlock_unlock(&bus->subs_lock);
    pthread_mutex_lock(&s->lock);
    s->closed = true;
    pthread_cond_broadcast(&s->cond);
    efd_signal(s->efd);
    pthread_mutex_unlock(&s->lock);
}

void astrid_sub_free(astrid_sub *s)
{
    if (!s)
        return;
    if (!s->closed)
        astrid_sub_close(s);
    const astrid_msg *m;
    while ((m = pop_locked(s)))
        astrid_msg_unref(m);
    if (s->efd >= 0)
        close(s->efd);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free(s->ring);
    free(s->pattern);
    free(s->only_principal);
    free(s);
}

void astrid_bus_get_stats(astrid_bus *bus, astrid_bus_stats *st)
{
    st->published = atomic_load(&bus->published);
    st->delivered = atomic_load(&bus->delivered);
    st->dropped = atomic_load(&bus->dropped);
    st->rate_limited = atomic_load(&bus->rate_limited);
    st->rejected = atomic_load(&bus->rejected);
    pthread_rwlock_rdlock(&bus->subs_lock);
    st->subscribers = bus->nsubs;
    pthread_rwlock_unlock(&bus->subs_lock);
    pthread_mutex_lock(&bus->rate_lock);
    st->buckets = bus->nbuckets;
    pthread_mutex_unlock(&bus->rate_lock);
}
