/* The storage accountant (storage.h). */
#include "store/storage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "astrid/home.h"
#include "store/kv.h"

typedef struct usage {
    char *principal;
    pthread_mutex_t usage_lock; /* guards measured, used, drops */
    bool measured;
    uint64_t used;
    uint64_t drops; /* log lines dropped since the last accepted growth */
} usage;

struct astrid_storage {
    astrid_storage_measure_fn measure;
    void *ctx;
    pthread_mutex_t table_lock; /* guards v, n, cap (entries live until free) */
    usage **v;
    size_t n, cap;
};

astrid_storage *astrid_storage_new(astrid_storage_measure_fn measure, void *ctx, astrid_err *err)
{
    astrid_storage *s = calloc(1, sizeof *s);
    if (!s) {
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        return NULL;
    }
    s->measure = measure;
    s->ctx = ctx;
    pthread_mutex_init(&s->table_lock, NULL);
    return s;
}

void astrid_storage_free(astrid_storage *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        pthread_mutex_destroy(&s->v[i]->usage_lock);
        free(s->v[i]->principal);
        free(s->v[i]);
    }
    free(s->v);
    pthread_mutex_destroy(&s->table_lock);
    free(s);
}

/* The principal's entry, created when missing; NULL when out of memory. */
static usage *entry(astrid_storage *s, const char *principal)
{
    pthread_mutex_lock(&s->table_lock);
    usage *u = NULL;
    for (size_t i = 0; i < s->n && !u; i++)
        if (strcmp(s->v[i]->principal, principal) == 0)
            u = s->v[i];
    if (!u && s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        usage **nv = realloc(s->v, cap * sizeof(usage *));
        if (nv) {
            s->v = nv;
            s->cap = cap;
        }
    }
    if (!u && s->n < s->cap && (u = calloc(1, sizeof *u))) {
        if ((u->principal = strdup(principal))) {
            pthread_mutex_init(&u->usage_lock, NULL);
            s->v[s->n++] = u;
        } else {
            free(u);
            u = NULL;
        }
    }
    pthread_mutex_unlock(&s->table_lock);
    return u;
}

/* With u->usage_lock held: measure once. */
static int ensure_measured(astrid_storage *s, usage *u, astrid_err *err)
{
    if (u->measured)
        return 0;
    uint64_t bytes = 0;
    if (s->measure && s->measure(s->ctx, u->principal, &bytes, err) != 0) {
        astrid_err_prefix(err, "measuring the storage of principal %s", u->principal);
        return -1;
    }
    u->used = bytes;
    u->measured = true;
    return 0;
}

int astrid_storage_quota_err(astrid_err *err, const char *principal, uint64_t max)
{
    return astrid_err_set(err, ASTRID_E_LIMIT,
                          "storage quota exceeded for principal %s: %llu bytes (max_storage_bytes)",
                          principal, (unsigned long long)max);
}

int astrid_storage_charge(astrid_storage *s, const char *principal, int64_t delta, uint64_t max,
                          uint64_t *drops_ended, astrid_err *err)
{
    if (drops_ended)
        *drops_ended = 0;
    usage *u = entry(s, principal);
    if (!u)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    pthread_mutex_lock(&u->usage_lock);
    int rc = ensure_measured(s, u, err);
    if (rc == 0 && delta > 0) {
        /* usage may already be past max (the quota was lowered): growth
         * is refused, a shrink always goes through */
        if (u->used > max || (uint64_t)delta > max - u->used) {
            rc = astrid_storage_quota_err(err, principal, max);
        } else {
            u->used += (uint64_t)delta;
            if (drops_ended)
                *drops_ended = u->drops;
            u->drops = 0;
        }
    } else if (rc == 0 && delta < 0) {
        uint64_t credit = (uint64_t)(-(delta + 1)) + 1; /* no overflow at INT64_MIN */
        u->used = credit > u->used ? 0 : u->used - credit;
    }
    pthread_mutex_unlock(&u->usage_lock);
    return rc;
}

int astrid_storage_used(astrid_storage *s, const char *principal, uint64_t *used, astrid_err *err)
{
    *used = 0;
    usage *u = entry(s, principal);
    if (!u)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    pthread_mutex_lock(&u->usage_lock);
    int rc = ensure_measured(s, u, err);
    *used = u->used;
    pthread_mutex_unlock(&u->usage_lock);
    return rc;
}

uint64_t astrid_storage_note_drop(astrid_storage *s, const char *principal)
{
    usage *u = entry(s, principal);
    if (!u)
        return 0;
    pthread_mutex_lock(&u->usage_lock);
    uint64_t n = ++u->drops;
    pthread_mutex_unlock(&u->usage_lock);
    return n;
}

void astrid_storage_forget(astrid_storage *s, const char *principal)
{
    usage *u = entry(s, principal);
    if (!u)
        return;
    pthread_mutex_lock(&u->usage_lock);
    u->measured = false;
    u->used = 0;
    pthread_mutex_unlock(&u->usage_lock);
}

#define DU_MAX_DEPTH 128

/* Sum the regular files beneath the open directory `fd` (consumed). */
static int du_fd(int fd, const char *skip, int depth, uint64_t *sum, astrid_err *err)
{
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return astrid_err_sys(err, "du: opendir");
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        /* `skip` is "a/b": match the first component here, pass the rest down */
        const char *rest = NULL;
        if (skip) {
            size_t cl = strcspn(skip, "/");
            if (strlen(e->d_name) == cl && strncmp(e->d_name, skip, cl) == 0) {
                if (!skip[cl])
                    continue;
                rest = skip + cl + 1;
            }
        }
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue; /* removed meanwhile */
        if (S_ISREG(st.st_mode)) {
            *sum += (uint64_t)st.st_size;
        } else if (S_ISDIR(st.st_mode) && depth < DU_MAX_DEPTH) {
            int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0)
                rc = du_fd(sub, rest, depth + 1, sum, err);
        }
    }
    closedir(d);
    return rc;
}

int astrid_storage_du(const char *dir, const char *skip, uint64_t *bytes, astrid_err *err)
{
    *bytes = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : astrid_err_sys(err, "du %s", dir);
    uint64_t sum = 0;
    if (du_fd(fd, skip, 0, &sum, err) != 0)
        return -1;
    *bytes = sum;
    return 0;
}

int astrid_storage_measure_principal(struct astrid_kv *kv, const char *home, const char *principal,
                                     uint64_t *bytes, astrid_err *err)
{
    *bytes = 0;
    char prefix[128], dir[4200];
    snprintf(prefix, sizeof prefix, "%s:capsule:", principal);
    astrid_principal_home(dir, sizeof dir, home, principal, NULL); /* "" measures as empty */
    uint64_t kvb = 0, files = 0;
    if ((kv && astrid_kv_usage(kv, prefix, &kvb, err) != 0) ||
        astrid_storage_du(dir, ASTRID_PHOME_CAPSULES, &files, err) != 0)
        return -1;
    *bytes = kvb + files;
    return 0;
}
