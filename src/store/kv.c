#include "store/kv.h"

#include <lmdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/fs.h"

struct astrid_kv {
    MDB_env *env;
    MDB_dbi dbi;
    /* Held from a write transaction's begin to its commit or abort: it
     * guards the env's MDB_NOMETASYNC flag, which LMDB reads at commit and
     * which can only be set env-wide, so each writer commits with the
     * durability it asked for. (LMDB serialises writers anyway: this adds
     * no waiting of its own.) */
    pthread_mutex_t write_lock;
    bool durable_only; /* ASTRID_KV_SYNC=full: set before threads start */
};

#define KV_MAX_KEY 511

static int lmdb_err(astrid_err *err, int rc, const char *what)
{
    return astrid_err_set(err, rc == MDB_MAP_FULL ? ASTRID_E_LIMIT : ASTRID_E_IO, "kv %s: %s", what,
                          mdb_strerror(rc));
}

static int check_name(const char *what, const char *s, bool allow_empty, astrid_err *err)
{
    if (!s || (!allow_empty && s[0] == '\0'))
        return astrid_err_set(err, ASTRID_E_INVALID, "kv %s must not be empty", what);
    return 0;
}

/* Build ns ‖ 0 ‖ key into buf; returns its length or -1. */
static int compose(char *buf, const char *ns, const char *key, size_t *out_len, astrid_err *err)
{
    size_t nl = strlen(ns);
    size_t kl = strlen(key);
    if (nl + 1 + kl > KV_MAX_KEY)
        return astrid_err_set(err, ASTRID_E_LIMIT,
                              "kv key too long: namespace and key total %zu bytes (max %d)",
                              nl + 1 + kl, KV_MAX_KEY - 1);
    memcpy(buf, ns, nl);
    buf[nl] = '\0';
    memcpy(buf + nl + 1, key, kl);
    *out_len = nl + 1 + kl;
    return 0;
}

/* Validated physical key of one record. */
static int record_key(char *buf, const char *ns, const char *key, size_t *out_len, astrid_err *err)
{
    if (check_name("namespace", ns, false, err) || check_name("key", key, false, err))
        return -1;
    return compose(buf, ns, key, out_len, err);
}

/* Begin a write transaction with `sync`'s durability; on success the
 * write lock is held until write_commit() or write_abort(). */
static int write_begin(astrid_kv *kv, astrid_kv_sync sync, MDB_txn **txn, astrid_err *err)
{
    *txn = NULL;
    pthread_mutex_lock(&kv->write_lock);
    int lazy = sync == ASTRID_KV_META_LAZY && !kv->durable_only;
    int rc = mdb_env_set_flags(kv->env, MDB_NOMETASYNC, lazy);
    if (rc == 0)
        rc = mdb_txn_begin(kv->env, NULL, 0, txn);
    if (rc != 0) {
        pthread_mutex_unlock(&kv->write_lock);
        lmdb_err(err, rc, "write");
        return -1;
    }
    return 0;
}

static int write_commit(astrid_kv *kv, MDB_txn *txn)
{
    int rc = mdb_txn_commit(txn);
    pthread_mutex_unlock(&kv->write_lock);
    return rc;
}

static void write_abort(astrid_kv *kv, MDB_txn *txn)
{
    mdb_txn_abort(txn);
    pthread_mutex_unlock(&kv->write_lock);
}

int astrid_kv_open(astrid_kv **out, const char *dir, size_t map_size, astrid_err *err)
{
    *out = NULL;
    if (astrid_mkdir_p(dir, 0700, 1, err) != 0)
        return -1;
    astrid_kv *kv = calloc(1, sizeof *kv);
    if (!kv)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    if (pthread_mutex_init(&kv->write_lock, NULL) != 0) {
        free(kv);
        return astrid_err_set(err, ASTRID_E_NOMEM, "kv: cannot create its write lock");
    }
    int rc = mdb_env_create(&kv->env);
    if (rc == 0)
        rc = mdb_env_set_mapsize(kv->env, map_size ? map_size : ASTRID_KV_DEFAULT_MAP_SIZE);
    if (rc == 0)
        rc = mdb_env_set_maxreaders(kv->env, 256);
    if (rc == 0)
        rc = mdb_env_open(kv->env, dir, MDB_NOTLS, 0600);
    if (rc != 0) {
        lmdb_err(err, rc, "open");
        astrid_err_prefix(err, "%s", dir);
        if (kv->env)
            mdb_env_close(kv->env);
        pthread_mutex_destroy(&kv->write_lock);
        free(kv);
        return -1;
    }
    MDB_txn *txn;
    rc = mdb_txn_begin(kv->env, NULL, 0, &txn);
    if (rc == 0) {
        rc = mdb_dbi_open(txn, NULL, 0, &kv->dbi);
        rc = rc == 0 ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
    }
    if (rc != 0) {
        lmdb_err(err, rc, "open database");
        mdb_env_close(kv->env);
        pthread_mutex_destroy(&kv->write_lock);
        free(kv);
        return -1;
    }
    *out = kv;
    return 0;
}

void astrid_kv_set_durable_only(astrid_kv *kv, bool on)
{
    kv->durable_only = on;
}

int astrid_kv_flush(astrid_kv *kv, astrid_err *err)
{
    int rc = mdb_env_sync(kv->env, 1);
    return rc != 0 ? lmdb_err(err, rc, "sync") : 0;
}

void astrid_kv_close(astrid_kv *kv)
{
    if (!kv)
        return;
    /* the last META_LAZY commit's meta page reaches the disk now, not at
     * the OS's next writeback (a failure here leaves what a power loss
     * would: the previous transaction) */
    mdb_env_sync(kv->env, 1);
    mdb_env_close(kv->env);
    pthread_mutex_destroy(&kv->write_lock);
    free(kv);
}

int astrid_kv_get(astrid_kv *kv, const char *ns, const char *key, char **val, size_t *len,
                  astrid_err *err)
{
    *val = NULL;
    if (len)
        *len = 0;
    char kb[KV_MAX_KEY];
    size_t kl = 0;
    if (record_key(kb, ns, key, &kl, err) != 0)
        return -1;
    MDB_txn *txn;
    int rc = mdb_txn_begin(kv->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return lmdb_err(err, rc, "read");
    MDB_val k = {kl, kb};
    MDB_val v;
    rc = mdb_get(txn, kv->dbi, &k, &v);
    if (rc == MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return 0;
    }
    if (rc != 0) {
        mdb_txn_abort(txn);
        return lmdb_err(err, rc, "get");
    }
    char *copy = malloc(v.mv_size + 1);
    if (!copy) {
        mdb_txn_abort(txn);
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    }
    memcpy(copy, v.mv_data, v.mv_size);
    copy[v.mv_size] = '\0';
    if (len)
        *len = v.mv_size;
    mdb_txn_abort(txn);
    *val = copy;
    return 0;
}

int astrid_kv_set(astrid_kv *kv, const char *ns, const char *key, const void *val, size_t len,
                  astrid_err *err)
{
    return astrid_kv_set_charged(kv, ns, key, val, len, ASTRID_KV_DURABLE, NULL, NULL, err);
}

/* Commit `txn`. A reservation (delta > 0, charged before the write) is
 * given back when the commit fails; a credit (delta < 0) is applied only
 * once the commit succeeded, so a rollback never has to re-charge. */
static int commit_charged(astrid_kv *kv, MDB_txn *txn, astrid_kv_charge_fn charge, void *ctx,
                          int64_t delta, astrid_err *err)
{
    int rc = write_commit(kv, txn);
    if (rc != 0) {
        if (charge && delta > 0)
            charge(ctx, -delta, NULL);
        return lmdb_err(err, rc, "commit");
    }
    if (charge && delta < 0)
        charge(ctx, delta, NULL);
    return 0;
}

int astrid_kv_set_charged(astrid_kv *kv, const char *ns, const char *key, const void *val,
                          size_t len, astrid_kv_sync sync, astrid_kv_charge_fn charge, void *ctx,
                          astrid_err *err)
{
    if (check_name("namespace", ns, false, err) || check_name("key", key, false, err))
        return -1;
    if (len > ASTRID_KV_MAX_VALUE)
        return astrid_err_set(err, ASTRID_E_LIMIT, "kv value of %zu bytes exceeds %u", len,
                              ASTRID_KV_MAX_VALUE);
    char kb[KV_MAX_KEY];
    size_t kl = 0;
    if (compose(kb, ns, key, &kl, err) != 0)
        return -1;
    MDB_txn *txn = NULL;
    int rc = write_begin(kv, sync, &txn, err);
    if (rc != 0)
        return -1;
    MDB_val k = {kl, kb};
    int64_t delta = 0;
    if (charge) {
        /* writers are serialised, so the old size cannot change under us */
        MDB_val old;
        rc = mdb_get(txn, kv->dbi, &k, &old);
        if (rc != 0 && rc != MDB_NOTFOUND) {
            write_abort(kv, txn);
            return lmdb_err(err, rc, "get");
        }
        delta = (int64_t)(kl + len) - (rc == 0 ? (int64_t)(kl + old.mv_size) : 0);
        if (delta > 0 && charge(ctx, delta, err) != 0) {
            write_abort(kv, txn);
            return -1;
        }
    }
    MDB_val v = {len, (void *)val};
    rc = mdb_put(txn, kv->dbi, &k, &v, 0);
    if (rc != 0) {
        write_abort(kv, txn);
        if (charge && delta > 0)
            charge(ctx, -delta, NULL);
        return lmdb_err(err, rc, "set");
    }
    return commit_charged(kv, txn, charge, ctx, delta, err);
}

int astrid_kv_set_many(astrid_kv *kv, const char *ns, size_t n, const astrid_kv_pair *pairs,
                       astrid_err *err)
{
    if (check_name("namespace", ns, false, err))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (check_name("key", pairs[i].key, false, err))
            return -1;
        else if (pairs[i].len > ASTRID_KV_MAX_VALUE)
            return astrid_err_set(err, ASTRID_E_LIMIT, "kv value of %zu bytes exceeds %u",
                                  pairs[i].len, ASTRID_KV_MAX_VALUE);
    MDB_txn *txn = NULL;
    int rc = write_begin(kv, ASTRID_KV_DURABLE, &txn, err);
    if (rc != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char kb[KV_MAX_KEY];
        size_t kl = 0;
        if (compose(kb, ns, pairs[i].key, &kl, err) != 0) {
            write_abort(kv, txn);
            return -1;
        }
        MDB_val k = {kl, kb}, v = {pairs[i].len, (void *)pairs[i].val};
        rc = mdb_put(txn, kv->dbi, &k, &v, 0);
        if (rc != 0) {
            write_abort(kv, txn);
            return lmdb_err(err, rc, "set");
        }
    }
    rc = write_commit(kv, txn);
    return rc != 0 ? lmdb_err(err, rc, "commit") : 0;
}

int astrid_kv_delete(astrid_kv *kv, const char *ns, const char *key, bool *existed, astrid_err *err)
{
    return astrid_kv_delete_charged(kv, ns, key, existed, ASTRID_KV_DURABLE, NULL, NULL, err);
}

int astrid_kv_delete_charged(astrid_kv *kv, const char *ns, const char *key, bool *existed,
                             astrid_kv_sync sync, astrid_kv_charge_fn charge, void *ctx,
                             astrid_err *err)
{
    if (existed)
        *existed = false;
    char kb[KV_MAX_KEY];
    size_t kl = 0;
    if (record_key(kb, ns, key, &kl, err) != 0)
        return -1;
    MDB_txn *txn = NULL;
    int rc = write_begin(kv, sync, &txn, err);
    if (rc != 0)
        return -1;
    MDB_val k = {kl, kb};
    MDB_val old;
    rc = mdb_get(txn, kv->dbi, &k, &old);
    int64_t delta = rc == 0 ? -(int64_t)(kl + old.mv_size) : 0;
    if (rc == 0)
        rc = mdb_del(txn, kv->dbi, &k, NULL);
    if (rc == MDB_NOTFOUND) {
        write_abort(kv, txn);
        return 0;
    }
    if (rc != 0) {
        write_abort(kv, txn);
        return lmdb_err(err, rc, "delete");
    }
    if (commit_charged(kv, txn, charge, ctx, delta, err) != 0)
        return -1;
    if (existed)
        *existed = true;
    return 0;
}

/* Visit every record of ns with the given key prefix inside `txn`. The
 * callback returns 0 to continue, -1 to stop with an error. */
typedef int (*visit_fn)(MDB_cursor *cur, const char *key, size_t key_len, MDB_val *val, void *ctx,
                        astrid_err *err);

static int visit_prefix(astrid_kv *kv, MDB_txn *txn, const char *ns, const char *prefix,
                        visit_fn fn, void *ctx, astrid_err *err)
{
    char kb[KV_MAX_KEY];
    size_t pl = 0;
    if (compose(kb, ns, prefix, &pl, err) != 0)
        return -1;
    size_t nsl = strlen(ns) + 1;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, kv->dbi, &cur);
    if (rc != 0)
        return lmdb_err(err, rc, "cursor");
    MDB_val k = {pl, kb};
    MDB_val v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0) {
        if (k.mv_size < pl || memcmp(k.mv_data, kb, pl) != 0)
            break;
        if (fn(cur, (const char *)k.mv_data + nsl, k.mv_size - nsl, &v, ctx, err) != 0) {
            mdb_cursor_close(cur);
            return -1;
        }
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return lmdb_err(err, rc, "iterate");
    return 0;
}

static int collect_key(MDB_cursor *cur, const char *key, size_t key_len, MDB_val *val, void *ctx,
                       astrid_err *err)
{
    (void)cur;
    (void)val;
    astrid_kv_keys *out = ctx;
    char **nk = realloc(out->keys, (out->count + 1) * sizeof *nk);
    if (!nk)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    out->keys = nk;
    char *s = malloc(key_len + 1);
    if (!s)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    memcpy(s, key, key_len);
    s[key_len] = '\0';
    out->keys[out->count++] = s;
    return 0;
}

int astrid_kv_list(astrid_kv *kv, const char *ns, const char *prefix, astrid_kv_keys *out,
                   astrid_err *err)
{
    out->keys = NULL;
    out->count = 0;
    if (check_name("namespace", ns, false, err) || check_name("prefix", prefix, true, err))
        return -1;
    MDB_txn *txn;
    int rc = mdb_txn_begin(kv->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return lmdb_err(err, rc, "read");
    rc = visit_prefix(kv, txn, ns, prefix, collect_key, out, err);
    mdb_txn_abort(txn);
    if (rc != 0)
        astrid_kv_keys_free(out);
    return rc;
}

void astrid_kv_keys_free(astrid_kv_keys *keys)
{
    for (size_t i = 0; i < keys->count; i++)
        free(keys->keys[i]);
    free(keys->keys);
    keys->keys = NULL;
    keys->count = 0;
}

int astrid_kv_clear_prefix(astrid_kv *kv, const char *ns, const char *prefix, uint64_t *removed,
                           astrid_err *err)
{
    return astrid_kv_clear_prefix_charged(kv, ns, prefix, removed, ASTRID_KV_DURABLE, NULL, NULL,
                                          err);
}

int astrid_kv_clear_prefix_charged(astrid_kv *kv, const char *ns, const char *prefix,
                                   uint64_t *removed, astrid_kv_sync sync,
                                   astrid_kv_charge_fn charge, void *ctx, astrid_err *err)
{
    uint64_t n = 0;
    int64_t freed = 0;
    if (removed)
        *removed = 0;
    if (check_name("namespace", ns, false, err) || check_name("prefix", prefix, true, err))
        return -1;
    MDB_txn *txn = NULL;
    int rc = write_begin(kv, sync, &txn, err);
    if (rc != 0)
        return -1;
    /* After mdb_cursor_del the cursor already sits on the next record, so
     * the generic visitor would skip every other key: walk by hand. */
    char kb[KV_MAX_KEY];
    size_t pl = 0;
    if (compose(kb, ns, prefix, &pl, err) != 0) {
        write_abort(kv, txn);
        return -1;
    }
    MDB_cursor *cur;
    rc = mdb_cursor_open(txn, kv->dbi, &cur);
    if (rc != 0) {
        write_abort(kv, txn);
        return lmdb_err(err, rc, "cursor");
    }
    for (;;) {
        MDB_val k = {pl, kb};
        MDB_val v;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (rc != 0 || k.mv_size < pl || memcmp(k.mv_data, kb, pl) != 0)
            break;
        freed += (int64_t)(k.mv_size + v.mv_size);
        rc = mdb_cursor_del(cur, 0);
        if (rc != 0) {
            mdb_cursor_close(cur);
            write_abort(kv, txn);
            return lmdb_err(err, rc, "delete");
        }
        n++;
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        write_abort(kv, txn);
        return lmdb_err(err, rc, "iterate");
    }
    if (commit_charged(kv, txn, charge, ctx, -freed, err) != 0)
        return -1;
    if (removed)
        *removed = n;
    return 0;
}

int astrid_kv_usage(astrid_kv *kv, const char *raw_prefix, uint64_t *bytes, astrid_err *err)
{
    *bytes = 0;
    size_t pl = strlen(raw_prefix);
    if (pl == 0 || pl > KV_MAX_KEY)
        return astrid_err_set(err, ASTRID_E_INVALID, "kv usage: prefix must be 1..%d bytes",
                              KV_MAX_KEY);
    MDB_txn *txn;
    int rc = mdb_txn_begin(kv->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return lmdb_err(err, rc, "read");
    MDB_cursor *cur;
    rc = mdb_cursor_open(txn, kv->dbi, &cur);
    if (rc != 0) {
        mdb_txn_abort(txn);
        return lmdb_err(err, rc, "cursor");
    }
    MDB_val k = {pl, (void *)raw_prefix};
    MDB_val v;
    uint64_t sum = 0;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size < pl || memcmp(k.mv_data, raw_prefix, pl) != 0)
            break;
        sum += k.mv_size + v.mv_size;
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return lmdb_err(err, rc, "iterate");
    *bytes = sum;
    return 0;
}

typedef struct copy_ctx {
    astrid_kv *kv;
    MDB_txn *txn;
    const char *dst;
    uint64_t n;
} copy_ctx;

static int copy_one(const char *key, size_t key_len, MDB_val *val, copy_ctx *c, astrid_err *err)
{
    char kb[KV_MAX_KEY];
    size_t dl = strlen(c->dst);
    if (dl + 1 + key_len > KV_MAX_KEY)
        return astrid_err_set(err, ASTRID_E_LIMIT, "kv key too long in namespace %s", c->dst);
    memcpy(kb, c->dst, dl);
    kb[dl] = '\0';
    memcpy(kb + dl + 1, key, key_len);
    MDB_val k = {dl + 1 + key_len, kb};
    /* The source value lives in the map and may move on put: copy it first. */
    void *tmp = malloc(val->mv_size ? val->mv_size : 1);
    if (!tmp)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    memcpy(tmp, val->mv_data, val->mv_size);
    MDB_val v = {val->mv_size, tmp};
    int rc = mdb_put(c->txn, c->kv->dbi, &k, &v, 0);
    free(tmp);
    if (rc != 0)
        return lmdb_err(err, rc, "copy");
    c->n++;
    return 0;
}

int astrid_kv_copy_namespace(astrid_kv *kv, const char *src_ns, const char *dst_ns,
                             uint64_t *copied, astrid_err *err)
{
    if (copied)
        *copied = 0;
    if (check_name("namespace", src_ns, false, err) || check_name("namespace", dst_ns, false, err))
        return -1;
    if (strcmp(src_ns, dst_ns) == 0)
        return 0;
    /* Collect the keys first: writing while a cursor walks the same tree
     * would revisit copied keys when dst sorts after src. */
    astrid_kv_keys keys;
    if (astrid_kv_list(kv, src_ns, "", &keys, err) != 0)
        return -1;
    MDB_txn *txn = NULL;
    int rc = write_begin(kv, ASTRID_KV_DURABLE, &txn, err);
    if (rc != 0) {
        astrid_kv_keys_free(&keys);
        return -1;
    }
    copy_ctx c = {kv, txn, dst_ns, 0};
    for (size_t i = 0; i < keys.count; i++) {
        char kb[KV_MAX_KEY];
        size_t kl = 0;
        if (compose(kb, src_ns, keys.keys[i], &kl, err) != 0)
            goto fail;
        MDB_val k = {kl, kb};
        MDB_val v;
        rc = mdb_get(txn, kv->dbi, &k, &v);
        if (rc == MDB_NOTFOUND)
            continue;
        if (rc != 0) {
            lmdb_err(err, rc, "get");
            goto fail;
        }
        if (copy_one(keys.keys[i], strlen(keys.keys[i]), &v, &c, err) != 0)
            goto fail;
    }
    astrid_kv_keys_free(&keys);
    rc = write_commit(kv, txn);
    if (rc != 0)
        return lmdb_err(err, rc, "commit");
    if (copied)
        *copied = c.n;
    return 0;
fail:
    astrid_kv_keys_free(&keys);
    write_abort(kv, txn);
    return -1;
}
