/* Capability token store (captokens.h). */
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/jsonsafe.h"
#include "store/captokens.h"

#define NS_TOKENS "caps:tokens"
#define NS_INDEX "caps:token_index"
#define NS_REVOKED "caps:revoked"
#define NS_USED "caps:used"
#define CACHE_SLOTS 4096 /* power of two */

typedef struct idset {
    char (*ids)[37];
    size_t n, cap;
} idset;

typedef struct cache_slot {
    uint8_t hash[32];
    bool used;
} cache_slot;

struct astrid_captokens {
    astrid_kv *kv;
    uint8_t pk[32];
    pthread_rwlock_t tokens_lock; /* guards tokens, n, cap, revoked, used */
    astrid_captoken *tokens;
    size_t n, cap;
    idset revoked, used;
    pthread_mutex_t cache_lock; /* guards cache */
    cache_slot cache[CACHE_SLOTS];
    atomic_uint_fast64_t verifies;
};

static bool idset_has(const idset *s, const char *id)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->ids[i], id) == 0)
            return true;
    return false;
}

static int idset_add(idset *s, const char *id)
{
    if (idset_has(s, id))
        return 0;
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 64;
        char(*ni)[37] = realloc(s->ids, nc * sizeof *ni);
        if (!ni)
            return -1;
        s->ids = ni;
        s->cap = nc;
    }
    snprintf(s->ids[s->n++], 37, "%s", id);
    return 0;
}

static bool cache_hit(astrid_captokens *s, const uint8_t h[32])
{
    size_t i = (h[0] | (size_t)h[1] << 8) & (CACHE_SLOTS - 1);
    pthread_mutex_lock(&s->cache_lock);
    bool hit = s->cache[i].used && memcmp(s->cache[i].hash, h, 32) == 0;
    pthread_mutex_unlock(&s->cache_lock);
    return hit;
}

static void cache_put(astrid_captokens *s, const uint8_t h[32])
{
    size_t i = (h[0] | (size_t)h[1] << 8) & (CACHE_SLOTS - 1);
    pthread_mutex_lock(&s->cache_lock);
    memcpy(s->cache[i].hash, h, 32);
    s->cache[i].used = true;
    pthread_mutex_unlock(&s->cache_lock);
}

/* Signature through the cache. */
static int verify_cached(astrid_captokens *s, const astrid_captoken *t, astrid_err *err)
{
    if (cache_hit(s, t->content_hash))
        return 0;
    atomic_fetch_add(&s->verifies, 1);
    if (astrid_captoken_verify_sig(t, s->pk, err) != 0)
        return -1;
    cache_put(s, t->content_hash);
    return 0;
}

static int push_token(astrid_captokens *s, const astrid_captoken *t)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->tokens[i].id, t->id) == 0) {
            s->tokens[i] = *t;
            return 0;
        }
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 16;
        astrid_captoken *nt = realloc(s->tokens, nc * sizeof *nt);
        if (!nt)
            return -1;
        s->tokens = nt;
        s->cap = nc;
    }
    s->tokens[s->n++] = *t;
    return 0;
}

static int load_set(astrid_captokens *s, const char *ns, idset *set, astrid_err *err)
{
    astrid_kv_keys keys = {0};
    if (astrid_kv_list(s->kv, ns, "", &keys, err) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < keys.count && rc == 0; i++)
        if (idset_add(set, keys.keys[i]) != 0)
            rc = astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    astrid_kv_keys_free(&keys);
    return rc;
}

static int load_tokens(astrid_captokens *s, size_t *refused, astrid_err *why, astrid_err *err)
{
    astrid_kv_keys keys = {0};
    if (astrid_kv_list(s->kv, NS_TOKENS, "", &keys, err) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < keys.count && rc == 0; i++) {
        char *val = NULL;
        size_t len = 0;
        if (astrid_kv_get(s->kv, NS_TOKENS, keys.keys[i], &val, &len, err) != 0) {
            rc = -1;
            break;
        }
        json_t *j = val ? astrid_json_loadb(val, len, 0, NULL) : NULL;
        free(val);
        astrid_captoken t;
        astrid_err e;
        const char *slash = strchr(keys.keys[i], '/');
        if (!j) {
            astrid_err_set(&e, ASTRID_E_PARSE, "caps:tokens %s: not JSON", keys.keys[i]);
        } else if (astrid_captoken_from_json(j, &t, &e) == 0 &&
                   astrid_captoken_verify_sig(&t, s->pk, &e) == 0) {
            /* The key's principal is part of the record's name: one that
             * disagrees with the signed principal was moved by hand. */
            if (!slash || (size_t)(slash - keys.keys[i]) != strlen(t.principal) ||
                strncmp(keys.keys[i], t.principal, strlen(t.principal)) != 0) {
                astrid_err_set(&e, ASTRID_E_PERM, "caps:tokens %s: stored under another principal",
                               keys.keys[i]);
            } else {
                cache_put(s, t.content_hash);
                if (push_token(s, &t) != 0)
                    rc = astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
                json_decref(j);
                continue;
            }
        }
        json_decref(j);
        if (refused)
            (*refused)++;
        if (why)
            *why = e;
    }
    astrid_kv_keys_free(&keys);
    return rc;
}

astrid_captokens *astrid_captokens_open(astrid_kv *kv, const uint8_t runtime_pk[32],
                                        size_t *refused, astrid_err *why, astrid_err *err)
{
    astrid_captokens *s = calloc(1, sizeof *s);
    if (!s) {
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        return NULL;
    }
    s->kv = kv;
    memcpy(s->pk, runtime_pk, 32);
    pthread_rwlock_init(&s->tokens_lock, NULL);
    pthread_mutex_init(&s->cache_lock, NULL);
    if (refused)
        *refused = 0;
    if (kv &&
        (load_set(s, NS_REVOKED, &s->revoked, err) != 0 ||
         load_set(s, NS_USED, &s->used, err) != 0 || load_tokens(s, refused, why, err) != 0)) {
        astrid_captokens_close(s);
        return NULL;
    }
    return s;
}

void astrid_captokens_close(astrid_captokens *s)
{
    if (!s)
        return;
    pthread_rwlock_destroy(&s->tokens_lock);
    pthread_mutex_destroy(&s->cache_lock);
    free(s->tokens);
    free(s->revoked.ids);
    free(s->used.ids);
    free(s);
}

static void token_key(const astrid_captoken *t, char *key, size_t n)
{
    snprintf(key, n, "%s/%s", t->principal, t->id);
}

int astrid_captokens_add(astrid_captokens *s, const astrid_captoken *t, astrid_err *err)
{
    astrid_captoken c = *t;
    astrid_captoken_hash(&c, c.content_hash);
    if (verify_cached(s, &c, err) != 0)
        return -1;
    pthread_rwlock_wrlock(&s->tokens_lock);
    int rc = 0;
    if (c.persistent && s->kv) {
        json_t *j = astrid_captoken_to_json(&c);
        char *text = j ? astrid_json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        char key[160];
        token_key(&c, key, sizeof key);
        if (!text)
            rc = astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        else if (astrid_kv_set(s->kv, NS_TOKENS, key, text, strlen(text), err) != 0 ||
                 astrid_kv_set(s->kv, NS_INDEX, c.id, c.principal, strlen(c.principal), err) != 0)
            rc = -1;
        free(text);
    }
    if (rc == 0 && push_token(s, &c) != 0)
        rc = astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    pthread_rwlock_unlock(&s->tokens_lock);
    return rc;
}

/* Everything but the signature, under a held tokens_lock. */
static int check_locked(astrid_captokens *s, const astrid_captoken *t, const char *principal,
                        const char *resource, unsigned perm, int64_t now, astrid_err *err)
{
    if (strcmp(t->principal, principal) != 0)
        return astrid_err_set(err, ASTRID_E_PERM,
                              "token %s belongs to principal %s, not %s (cross-principal tokens "
                              "never match)",
                              t->id, t->principal, principal);
    if (idset_has(&s->revoked, t->id))
        return astrid_err_set(err, ASTRID_E_PERM, "token %s is revoked", t->id);
    if (t->single_use && idset_has(&s->used, t->id))
        return astrid_err_set(err, ASTRID_E_PERM, "single-use token %s was already used", t->id);
    if (astrid_captoken_expired(t, now))
        return astrid_err_set(err, ASTRID_E_PERM, "token %s expired", t->id);
    if (!astrid_captoken_grants(t, resource, perm))
        return astrid_err_set(err, ASTRID_E_PERM, "token %s does not grant %s on %s", t->id,
                              astrid_perm_name(perm) ? astrid_perm_name(perm) : "?", resource);
    return 0;
}

int astrid_captokens_check(astrid_captokens *s, const astrid_captoken *t, const char *principal,
                           const char *resource, unsigned perm, int64_t now, astrid_err *err)
{
    pthread_rwlock_rdlock(&s->tokens_lock);
    int rc = check_locked(s, t, principal, resource, perm, now, err);
    pthread_rwlock_unlock(&s->tokens_lock);
    if (rc != 0)
        return -1;
    return verify_cached(s, t, err);
}

static int mark_used_locked(astrid_captokens *s, const char *id, astrid_err *err)
{
    if (s->kv && astrid_kv_set(s->kv, NS_USED, id, "[1]", 3, err) != 0)
        return -1;
    if (idset_add(&s->used, id) != 0)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    return 0;
}

int astrid_captokens_find(astrid_captokens *s, const char *principal, const char *resource,
                          unsigned perm, int64_t now, astrid_captoken *out, astrid_err *err)
{
    /* A write lock: a single-use token's check and its used mark are one
     * step, so two callers never both spend it. */
    pthread_rwlock_wrlock(&s->tokens_lock);
    int found = 0;
    for (size_t i = 0; i < s->n && !found; i++) {
        astrid_captoken *t = &s->tokens[i];
        if (strcmp(t->principal, principal) != 0)
            continue;
        if (check_locked(s, t, principal, resource, perm, now, NULL) != 0)
            continue;
        if (verify_cached(s, t, NULL) != 0)
            continue;
        if (t->single_use && mark_used_locked(s, t->id, err) != 0) {
            found = -1;
            break;
        }
        if (out)
            *out = *t;
        found = 1;
    }
    pthread_rwlock_unlock(&s->tokens_lock);
    return found;
}

int astrid_captokens_revoke(astrid_captokens *s, const char *id, bool *existed, astrid_err *err)
{
    pthread_rwlock_wrlock(&s->tokens_lock);
    int rc = 0;
    bool had = false;
    if (s->kv && astrid_kv_set(s->kv, NS_REVOKED, id, "[1]", 3, err) != 0)
        rc = -1;
    if (rc == 0 && idset_add(&s->revoked, id) != 0)
        rc = astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < s->n; i++) {
        if (strcmp(s->tokens[i].id, id) != 0)
            continue;
        had = true;
        if (s->tokens[i].persistent && s->kv) {
            char key[160];
            token_key(&s->tokens[i], key, sizeof key);
            if (astrid_kv_delete(s->kv, NS_TOKENS, key, NULL, err) != 0 ||
                astrid_kv_delete(s->kv, NS_INDEX, id, NULL, err) != 0)
                rc = -1; /* revoked regardless: the set above is what counts */
        }
        s->tokens[i] = s->tokens[--s->n];
        break;
    }
    pthread_rwlock_unlock(&s->tokens_lock);
    if (existed)
        *existed = had;
    return rc;
}

size_t astrid_captokens_clear_session(astrid_captokens *s, const char *principal)
{
    size_t c = 0;
    pthread_rwlock_wrlock(&s->tokens_lock);
    for (size_t i = 0; i < s->n;) {
        if (!s->tokens[i].persistent &&
            (!principal || strcmp(s->tokens[i].principal, principal) == 0)) {
            s->tokens[i] = s->tokens[--s->n];
            c++;
        } else {
            i++;
        }
    }
    pthread_rwlock_unlock(&s->tokens_lock);
    return c;
}

size_t astrid_captokens_count(astrid_captokens *s, const char *principal)
{
    size_t c = 0;
    pthread_rwlock_rdlock(&s->tokens_lock);
    for (size_t i = 0; i < s->n; i++)
        c += strcmp(s->tokens[i].principal, principal) == 0;
    pthread_rwlock_unlock(&s->tokens_lock);
    return c;
}

uint64_t astrid_captokens_verifies(astrid_captokens *s)
{
    return atomic_load(&s->verifies);
}
