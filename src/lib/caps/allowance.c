/* The allowance store (allowance.h): a chained hash table keyed by
 * (principal, action, resource) for exact allowances and one list of glob
 * allowances, all under `lock`. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/principal.h"
#include "astrid/uuid.h"
#include "lib/caps/allowance.h"
#include "lib/caps/token.h"

#define MAX_PER_PRINCIPAL 100000

typedef struct node {
    astrid_allowance a;
    uint64_t h;
    struct node *next;
} node;

struct astrid_allowances {
    pthread_mutex_t lock; /* guards buckets, nbuckets, n, globs */
    node **buckets;
    size_t nbuckets, n;
    node *globs;
};

static uint64_t fnv(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return (h ^ 0xff) * 1099511628211ull; /* separator: ("ab","c") != ("a","bc") */
}

static uint64_t key_hash(const char *p, const char *act, const char *res)
{
    return fnv(fnv(fnv(1469598103934665603ull, p), act), res);
}

astrid_allowances *astrid_allowances_new(void)
{
    astrid_allowances *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->nbuckets = 1024;
    s->buckets = calloc(s->nbuckets, sizeof(node *));
    if (!s->buckets) {
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    return s;
}

static void free_chain(node *n)
{
    while (n) {
        node *next = n->next;
        free(n);
        n = next;
    }
}

void astrid_allowances_free(astrid_allowances *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nbuckets; i++)
        free_chain(s->buckets[i]);
    free_chain(s->globs);
    free(s->buckets);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static void grow(astrid_allowances *s)
{
    size_t nb = s->nbuckets * 2;
    node **b = calloc(nb, sizeof(node *));
    if (!b)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < s->nbuckets; i++)
        for (node *n = s->buckets[i], *next; n; n = next) {
            next = n->next;
            n->next = b[n->h & (nb - 1)];
            b[n->h & (nb - 1)] = n;
        }
    free(s->buckets);
    s->buckets = b;
    s->nbuckets = nb;
}

static size_t count_locked(astrid_allowances *s, const char *principal)
{
    size_t c = 0;
    for (size_t i = 0; i < s->nbuckets; i++)
        for (node *n = s->buckets[i]; n; n = n->next)
            c += strcmp(n->a.principal, principal) == 0;
    for (node *n = s->globs; n; n = n->next)
        c += strcmp(n->a.principal, principal) == 0;
    return c;
}

int astrid_allowances_add(astrid_allowances *s, astrid_allowance *a, astrid_err *err)
{
    if (astrid_principal_validate(a->principal, err) != 0)
        return -1;
    if (!a->action[0] || !a->resource[0])
        return astrid_err_set(err, ASTRID_E_INVALID, "allowance needs an action and a resource");
    if (!a->id[0])
        astrid_uuid_v4(a->id);
    node *n = malloc(sizeof *n);
    if (!n)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    n->a = *a;
    n->h = key_hash(a->principal, a->action, a->resource);
    pthread_mutex_lock(&s->lock);
    /* Counting is O(n) but only on add, which follows a human's answer. */
    if (s->n >= MAX_PER_PRINCIPAL && count_locked(s, a->principal) >= MAX_PER_PRINCIPAL) {
        pthread_mutex_unlock(&s->lock);
        free(n);
        return astrid_err_set(err, ASTRID_E_LIMIT, "principal %s has %d allowances (the limit)",
                              a->principal, MAX_PER_PRINCIPAL);
    }
    if (a->glob) {
        n->next = s->globs;
        s->globs = n;
    } else {
        if (s->n + 1 > s->nbuckets)
            grow(s);
        node **b = &s->buckets[n->h & (s->nbuckets - 1)];
        n->next = *b;
        *b = n;
    }
    s->n++;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

static bool expired(const astrid_allowance *a, int64_t now)
{
    return (a->expires_at && now > a->expires_at) || a->uses_remaining == 0;
}

static bool matches(const astrid_allowance *a, const char *principal, const char *action,
                    const char *resource, const char *ws, bool glob)
{
    if (strcmp(a->principal, principal) != 0 || strcmp(a->action, action) != 0)
        return false;
    if (a->workspace[0] && (!ws || strcmp(a->workspace, ws) != 0))
        return false;
    return glob ? astrid_resource_matches(a->resource, resource)
                : strcmp(a->resource, resource) == 0;
}

/* Scan one chain; unlink expired nodes and consume the first match. */
static bool scan(astrid_allowances *s, node **head, const char *principal, const char *action,
                 const char *resource, const char *ws, int64_t now, bool glob,
                 astrid_allowance *out)
{
    for (node **pp = head; *pp;) {
        node *n = *pp;
        if (expired(&n->a, now)) {
            *pp = n->next;
            free(n);
            s->n--;
            continue;
        }
        if (matches(&n->a, principal, action, resource, ws, glob)) {
            if (n->a.uses_remaining > 0)
                n->a.uses_remaining--;
            if (out)
                *out = n->a;
            if (n->a.uses_remaining == 0) {
                *pp = n->next;
                free(n);
                s->n--;
            }
            return true;
        }
        pp = &n->next;
    }
    return false;
}

bool astrid_allowances_consume(astrid_allowances *s, const char *principal, const char *action,
                               const char *resource, const char *workspace, int64_t now,
                               astrid_allowance *out)
{
    uint64_t h = key_hash(principal, action, resource);
    pthread_mutex_lock(&s->lock);
    bool hit = scan(s, &s->buckets[h & (s->nbuckets - 1)], principal, action, resource, workspace,
                    now, false, out) ||
               scan(s, &s->globs, principal, action, resource, workspace, now, true, out);
    pthread_mutex_unlock(&s->lock);
    return hit;
}

static size_t drop_chain(astrid_allowances *s, node **head, const char *principal)
{
    size_t c = 0;
    for (node **pp = head; *pp;) {
        node *n = *pp;
        if (n->a.session_only && (!principal || strcmp(n->a.principal, principal) == 0)) {
            *pp = n->next;
            free(n);
            s->n--;
            c++;
        } else {
            pp = &n->next;
        }
    }
    return c;
}

size_t astrid_allowances_clear_session(astrid_allowances *s, const char *principal)
{
    size_t c = 0;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->nbuckets; i++)
        c += drop_chain(s, &s->buckets[i], principal);
    c += drop_chain(s, &s->globs, principal);
    pthread_mutex_unlock(&s->lock);
    return c;
}

size_t astrid_allowances_clear_all_sessions(astrid_allowances *s)
{
    return astrid_allowances_clear_session(s, NULL);
}

size_t astrid_allowances_count(astrid_allowances *s, const char *principal)
{
    pthread_mutex_lock(&s->lock);
    size_t c = count_locked(s, principal);
    pthread_mutex_unlock(&s->lock);
    return c;
}
