/* Loaded capsules by runtime UUID (see capsule_lookup.h for why this is a
 * copy under its own lock rather than a walk of k->capsules). */
#include "kernel/capsule_lookup.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/uuid.h"

typedef struct entry {
    char uuid[ASTRID_UUID_STR_LEN];
    bool allow_prompt_injection;
} entry;

struct astrid_capsule_index {
    pthread_mutex_t index_lock; /* guards entries, n, cap */
    entry *entries;
    size_t n, cap;
};

astrid_capsule_index *astrid_capsule_index_new(astrid_err *err)
{
    astrid_capsule_index *ix = calloc(1, sizeof *ix);
    if (!ix) {
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&ix->index_lock, NULL);
    return ix;
}

void astrid_capsule_index_free(astrid_capsule_index *ix)
{
    if (!ix)
        return;
    pthread_mutex_destroy(&ix->index_lock);
    free(ix->entries);
    free(ix);
}

int astrid_capsule_index_add(astrid_capsule_index *ix, const char *uuid, const astrid_manifest *m,
                             astrid_err *err)
{
    entry e = {.allow_prompt_injection = m->allow_prompt_injection};
    if (!astrid_uuid_parse(uuid, e.uuid))
        return astrid_err_set(err, ASTRID_E_INVALID, "capsule index: '%s' is not a UUID", uuid);
    pthread_mutex_lock(&ix->index_lock);
    int rc = 0;
    if (ix->n == ix->cap) {
        size_t nc = ix->cap ? ix->cap * 2 : 16;
        entry *ne = realloc(ix->entries, nc * sizeof *ne);
        if (ne) {
            ix->entries = ne;
            ix->cap = nc;
        } else {
            rc = astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        }
    }
    if (rc == 0)
        ix->entries[ix->n++] = e;
    pthread_mutex_unlock(&ix->index_lock);
    return rc;
}

void astrid_capsule_index_remove(astrid_capsule_index *ix, const char *uuid)
{
    char canon[ASTRID_UUID_STR_LEN];
    if (!ix || !astrid_uuid_parse(uuid, canon))
        return;
    pthread_mutex_lock(&ix->index_lock);
    for (size_t i = 0; i < ix->n; i++)
        if (strcmp(ix->entries[i].uuid, canon) == 0) {
            ix->entries[i] = ix->entries[--ix->n];
            break;
        }
    pthread_mutex_unlock(&ix->index_lock);
}

void astrid_capsule_index_clear(astrid_capsule_index *ix)
{
    if (!ix)
        return;
    pthread_mutex_lock(&ix->index_lock);
    ix->n = 0;
    pthread_mutex_unlock(&ix->index_lock);
}

int astrid_capsule_lookup_flag(void *ctx, const char *uuid, const char *cap, bool *out)
{
    astrid_capsule_index *ix = ctx;
    *out = false;
    char canon[ASTRID_UUID_STR_LEN];
    if (!ix || strcmp(cap, "allow_prompt_injection") != 0 || !astrid_uuid_parse(uuid, canon))
        return 0;
    pthread_mutex_lock(&ix->index_lock);
    for (size_t i = 0; i < ix->n; i++)
        if (strcmp(ix->entries[i].uuid, canon) == 0) {
            *out = ix->entries[i].allow_prompt_injection;
            break;
        }
    pthread_mutex_unlock(&ix->index_lock);
    return 0;
}

bool astrid_capsule_index_has(astrid_capsule_index *ix, const char *uuid)
{
    char canon[ASTRID_UUID_STR_LEN];
    bool found = false;
    if (!ix || !uuid || !astrid_uuid_parse(uuid, canon))
        return false;
    pthread_mutex_lock(&ix->index_lock);
    for (size_t i = 0; i < ix->n && !found; i++)
        found = strcmp(ix->entries[i].uuid, canon) == 0;
    pthread_mutex_unlock(&ix->index_lock);
    return found;
}
