/* Private state of the bus, shared by bus.c, bus_icpt.c and bus_rate.c. */
#ifndef ASTRID_KERNEL_BUS_INTERNAL_H
#define ASTRID_KERNEL_BUS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "kernel/bus.h"

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

struct astrid_bus {
    astrid_bus_opts opts;
    _Atomic uint64_t next_seq;
    _Atomic uint64_t published, delivered, dropped, rate_limited, rejected;

    pthread_rwlock_t subs_lock; /* guards subs/nsubs */
    astrid_sub **subs;
    size_t nsubs, subs_cap;

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
