/* Private state of the bus, shared by bus.c, bus_icpt.c and bus_rate.c. */
#ifndef ASTRID_BUS_BUS_INTERNAL_H
#define ASTRID_BUS_BUS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "bus/bus.h"

typedef struct icpt {
    uint64_t id;
    int priority;
    char *pattern;
    astrid_interceptor_fn fn;
    void *ctx;
} icpt;

typedef struct bucket {
    char *key; /* source_id "\n" principal */
    double tokens;
    int64_t last_ns;
} bucket;

/* bus_pool.c: fixed-size message blocks recycled through a lock-free ring. */
#define ASTRID_BUS_POOL_CELLS 4096 /* power of two */
#define ASTRID_BUS_POOL_BLOCK 1024 /* header + topic + principal + a small payload */
typedef struct astrid_bus_pool_cell {
    _Atomic size_t seq;
    void *block;
} astrid_bus_pool_cell;
typedef struct astrid_bus_pool {
    _Alignas(64) _Atomic size_t enq; /* producers' and consumers' counters on */
    _Alignas(64) _Atomic size_t deq; /* separate cache lines */
    bool enabled;
    _Alignas(64) astrid_bus_pool_cell cells[ASTRID_BUS_POOL_CELLS];
} astrid_bus_pool;
void astrid_bus_pool_init(astrid_bus_pool *p, int mode); /* astrid_bus_opts.pool */
/* *pooled tells astrid_bus_pool_release where the block goes back. */
void *astrid_bus_pool_alloc(astrid_bus_pool *p, size_t size, bool *pooled);
void astrid_bus_pool_release(astrid_bus_pool *p, void *block, bool pooled);
void astrid_bus_pool_drain(astrid_bus_pool *p); /* frees the idle blocks */

struct astrid_bus {
    astrid_bus_pool pool;
    astrid_bus_opts opts;
    _Atomic uint64_t next_seq;
    _Atomic uint64_t published, delivered, dropped, rate_limited, rejected;

    pthread_rwlock_t subs_lock; /* guards subs/nsubs */
    astrid_sub **subs;
    size_t nsubs, subs_cap;
    size_t ncpu; /* online CPUs: readers spin politely when nsubs >= ncpu */

    pthread_rwlock_t icpt_lock; /* guards icpts/nicpt/next_icpt; read-held while chains run */
    icpt *icpts;
    size_t nicpt;
    uint64_t next_icpt;

    pthread_mutex_t rate_lock; /* guards buckets/nbuckets/last_prune_ns */
    bucket *buckets;
    size_t nbuckets, buckets_cap;
    int64_t last_prune_ns;
};

int64_t astrid_bus_now_ns(astrid_bus *bus);
void astrid_bus_rate_free(astrid_bus *bus);
void astrid_bus_icpt_free(astrid_bus *bus);

#endif
