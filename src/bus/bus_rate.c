/* Token bucket per (source_id, principal) for guest publishes (§4.6). The
 * bucket holds up to one second of the principal's quota and refills
 * continuously; buckets idle for >= 60 s are pruned once there are more
 * than 1000 of them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus_internal.h"

#define PRUNE_AFTER_NS (60LL * 1000000000LL)
#define PRUNE_ABOVE 1000

static void prune_locked(astrid_bus *bus, int64_t now)
{
    size_t w = 0;
    for (size_t i = 0; i < bus->nbuckets; i++) {
        if (now - bus->buckets[i].last_ns >= PRUNE_AFTER_NS) {
            free(bus->buckets[i].key);
            continue;
        }
        bus->buckets[w++] = bus->buckets[i];
    }
    bus->nbuckets = w;
    bus->last_prune_ns = now;
}

int astrid_bus_rate_check(astrid_bus *bus, const char *source_id, const char *principal, size_t len,
                          astrid_err *err)
{
    uint64_t quota = bus->opts.quota ? bus->opts.quota(bus->opts.quota_ctx, principal) : 0;
    if (!quota)
        quota = ASTRID_BUS_DEFAULT_QUOTA;
    char key[400];
    snprintf(key, sizeof key, "%s\n%s", source_id ? source_id : "", principal ? principal : "");
    int64_t now = astrid_bus_now_ns(bus);
    pthread_mutex_lock(&bus->rate_lock);
    if (bus->nbuckets > PRUNE_ABOVE && now - bus->last_prune_ns >= PRUNE_AFTER_NS)
        prune_locked(bus, now);
    bucket *b = NULL;
    for (size_t i = 0; i < bus->nbuckets; i++)
        if (strcmp(bus->buckets[i].key, key) == 0) {
            b = &bus->buckets[i];
            break;
        }
    if (!b) {
        if (bus->nbuckets == bus->buckets_cap) {
            size_t nc = bus->buckets_cap ? bus->buckets_cap * 2 : 16;
            bucket *nb = realloc(bus->buckets, nc * sizeof *nb);
            if (!nb) {
                pthread_mutex_unlock(&bus->rate_lock);
                return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
            }
            bus->buckets = nb;
            bus->buckets_cap = nc;
        }
        char *k = strdup(key);
        if (!k) {
            pthread_mutex_unlock(&bus->rate_lock);
            return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        }
        b = &bus->buckets[bus->nbuckets++];
        *b = (bucket){.key = k, .tokens = (double)quota, .last_ns = now};
    }
    double elapsed = (double)(now - b->last_ns) / 1e9;
    if (elapsed > 0) {
        b->tokens += elapsed * (double)quota;
        if (b->tokens > (double)quota)
            b->tokens = (double)quota;
    }
    b->last_ns = now;
    int rc = 0;
    if ((double)len > b->tokens) {
        atomic_fetch_add_explicit(&bus->rate_limited, 1, memory_order_relaxed);
        rc = astrid_err_set(err, ASTRID_E_LIMIT, "Rate limit exceeded");
    } else {
        b->tokens -= (double)len;
    }
    pthread_mutex_unlock(&bus->rate_lock);
    return rc;
}

void astrid_bus_rate_free(astrid_bus *bus)
{
    for (size_t i = 0; i < bus->nbuckets; i++)
        free(bus->buckets[i].key);
    free(bus->buckets);
}
