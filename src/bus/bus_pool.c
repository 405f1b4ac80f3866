/* Recycled message blocks. With a publisher and a reader on two threads,
 * every message is malloc'd on one and freed on the other; glibc then
 * returns the block to the publisher's arena under the arena lock, and the
 * two threads spend their time contending for it (seen as half the cost of
 * a publish). Small messages instead come from, and go back to, a bounded
 * lock-free MPMC ring of fixed-size blocks (D. Vyukov's sequence-numbered
 * queue: no ABA, no locks). A full ring frees; an empty one mallocs.
 * Off by default under AddressSanitizer so use-after-free stays
 * detectable (tests turn it on explicitly to exercise it). */
#include <stdlib.h>

#include "bus/bus_internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define POOL_ENABLED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL_ENABLED 0
#endif
#endif
#ifndef POOL_ENABLED
#define POOL_ENABLED 1
#endif

void astrid_bus_pool_init(astrid_bus_pool *p, int mode)
{
    p->enabled = mode > 0 || (mode == 0 && POOL_ENABLED);
    for (size_t i = 0; i < ASTRID_BUS_POOL_CELLS; i++) {
        atomic_init(&p->cells[i].seq, i);
        p->cells[i].block = NULL;
    }
    atomic_init(&p->enq, 0);
    atomic_init(&p->deq, 0);
}

static void *pool_pop(astrid_bus_pool *p)
{
    size_t pos = atomic_load_explicit(&p->deq, memory_order_relaxed);
    for (;;) {
        astrid_bus_pool_cell *c = &p->cells[pos & (ASTRID_BUS_POOL_CELLS - 1)];
        size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
        intptr_t dif = (intptr_t)seq - (intptr_t)(pos + 1);
        if (dif == 0) {
            if (atomic_compare_exchange_weak_explicit(&p->deq, &pos, pos + 1, memory_order_relaxed,
                                                      memory_order_relaxed)) {
                void *b = c->block;
                atomic_store_explicit(&c->seq, pos + ASTRID_BUS_POOL_CELLS, memory_order_release);
                return b;
            }
        } else if (dif < 0) {
            return NULL; /* empty */
        } else {
            pos = atomic_load_explicit(&p->deq, memory_order_relaxed);
        }
    }
}

static bool pool_push(astrid_bus_pool *p, void *b)
{
    size_t pos = atomic_load_explicit(&p->enq, memory_order_relaxed);
    for (;;) {
        astrid_bus_pool_cell *c = &p->cells[pos & (ASTRID_BUS_POOL_CELLS - 1)];
        size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
        intptr_t dif = (intptr_t)seq - (intptr_t)pos;
        if (dif == 0) {
            if (atomic_compare_exchange_weak_explicit(&p->enq, &pos, pos + 1, memory_order_relaxed,
                                                      memory_order_relaxed)) {
                c->block = b;
                atomic_store_explicit(&c->seq, pos + 1, memory_order_release);
                return true;
            }
        } else if (dif < 0) {
            return false; /* full */
        } else {
            pos = atomic_load_explicit(&p->enq, memory_order_relaxed);
        }
    }
}

void *astrid_bus_pool_alloc(astrid_bus_pool *p, size_t size, bool *pooled)
{
    *pooled = p->enabled && size <= ASTRID_BUS_POOL_BLOCK;
    if (!*pooled)
        return malloc(size);
    void *b = pool_pop(p);
    return b ? b : malloc(ASTRID_BUS_POOL_BLOCK);
}

void astrid_bus_pool_release(astrid_bus_pool *p, void *block, bool pooled)
{
    if (!pooled || !pool_push(p, block))
        free(block);
}

void astrid_bus_pool_drain(astrid_bus_pool *p)
{
    void *b;
    while ((b = pool_pop(p)))
        free(b);
}
