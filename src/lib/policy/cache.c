/* Profile cache (mutex-guarded table) and lock-free-read group swap. The
 * scheme and its memory-ordering argument are in astrid/policy_cache.h. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/policy_cache.h"
#include "astrid/principal.h"
#include "astrid/trust.h"

struct astrid_group_swap {
    _Atomic(astrid_group_config *) current; /* the swap owns one reference */
    atomic_uint epoch;                      /* selects the reader counter */
    atomic_ulong active[2];                 /* readers between load and ref */
    pthread_mutex_t writers_lock;           /* guards: the writer side (one store at a time) */
};

astrid_group_swap *astrid_group_swap_new(astrid_group_config *initial, astrid_err *err)
{
    if (!initial) {
        astrid_err_set(err, ASTRID_E_INVALID, "group swap needs an initial config");
        return NULL;
    }
    astrid_group_swap *s = calloc(1, sizeof *s);
    if (!s) {
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        return NULL;
    }
    atomic_init(&s->current, initial);
    atomic_init(&s->epoch, 0);
    atomic_init(&s->active[0], 0);
    atomic_init(&s->active[1], 0);
    pthread_mutex_init(&s->writers_lock, NULL);
    return s;
}

void astrid_group_swap_free(astrid_group_swap *s)
{
    if (!s)
        return;
    astrid_groups_unref(atomic_load(&s->current));
    pthread_mutex_destroy(&s->writers_lock);
    free(s);
}

astrid_group_config *astrid_group_swap_acquire(astrid_group_swap *s)
{
    unsigned e = atomic_load(&s->epoch) & 1u;
    atomic_fetch_add(&s->active[e], 1);
    astrid_group_config *c = astrid_groups_ref(atomic_load(&s->current));
    atomic_fetch_sub(&s->active[e], 1);
    return c;
}

void astrid_group_swap_store(astrid_group_swap *s, astrid_group_config *next)
{
    if (!next)
        return;
    pthread_mutex_lock(&s->writers_lock);
    astrid_group_config *old = atomic_exchange(&s->current, next);
    unsigned e = atomic_fetch_xor(&s->epoch, 1u) & 1u;
    while (atomic_load(&s->active[e]) != 0)
        sched_yield();
    pthread_mutex_unlock(&s->writers_lock);
    astrid_groups_unref(old);
}

/* ---- profile cache ---- */

typedef struct entry {
    char principal[ASTRID_PRINCIPAL_MAX + 1];
    const astrid_profile *profile; /* the cache's reference */
} entry;

struct astrid_profile_cache {
    char *home;
    pthread_mutex_t profiles_lock; /* guards: entries, n, cap */
    entry *entries;
    size_t n, cap;
};

astrid_profile_cache *astrid_profile_cache_new(const char *home, astrid_err *err)
{
    astrid_profile_cache *c = calloc(1, sizeof *c);
    if (c && !(c->home = strdup(home))) {
        free(c);
        c = NULL;
    }
    if (!c) {
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&c->profiles_lock, NULL);
    return c;
}

void astrid_profile_cache_free(astrid_profile_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        astrid_profile_release(c->entries[i].profile);
    free(c->entries);
    free(c->home);
    pthread_mutex_destroy(&c->profiles_lock);
    free(c);
}

/* Caller holds profiles_lock. */
static long find_locked(const astrid_profile_cache *c, const char *principal)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->entries[i].principal, principal) == 0)
            return (long)i;
    return -1;
}

const astrid_profile *astrid_profile_cache_get(astrid_profile_cache *c, const char *principal,
                                               astrid_err *err)
{
    if (astrid_profile_principal_validate(principal, err) != 0)
        return NULL;
    pthread_mutex_lock(&c->profiles_lock);
    long i = find_locked(c, principal);
    const astrid_profile *p = i >= 0 ? astrid_profile_retain(c->entries[i].profile) : NULL;
    pthread_mutex_unlock(&c->profiles_lock);
    if (p)
        return p;
    /* Load outside the lock: disk I/O must not stall other principals. */
    astrid_profile *loaded = astrid_profile_load(c->home, principal, err);
    if (!loaded)
        return NULL; /* errors are never cached */
    pthread_mutex_lock(&c->profiles_lock);
    i = find_locked(c, principal);
    if (i >= 0) {
        /* Another thread won the race; use its copy so all holders agree. */
        p = astrid_profile_retain(c->entries[i].profile);
        pthread_mutex_unlock(&c->profiles_lock);
        astrid_profile_release(loaded);
        return p;
    }
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 8;
        entry *ne = realloc(c->entries, nc * sizeof *ne);
        if (!ne) {
            pthread_mutex_unlock(&c->profiles_lock);
            /* Not cached, but still a valid answer for this caller. */
            return loaded;
        }
        c->entries = ne;
        c->cap = nc;
    }
    entry *e = &c->entries[c->n++];
    strcpy(e->principal, principal);
    e->profile = astrid_profile_retain(loaded);
    pthread_mutex_unlock(&c->profiles_lock);
    return loaded;
}

void astrid_profile_cache_invalidate(astrid_profile_cache *c, const char *principal)
{
    const astrid_profile *drop = NULL;
    if (!principal)
        return;
    pthread_mutex_lock(&c->profiles_lock);
    long i = find_locked(c, principal);
    if (i >= 0) {
        drop = c->entries[i].profile;
        c->entries[i] = c->entries[--c->n];
    }
    pthread_mutex_unlock(&c->profiles_lock);
    astrid_profile_release(drop);
}
