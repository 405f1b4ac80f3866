/* Replicated policy through JetStream KV (fed_policy.h).
 *
 * Keys: "groups" (etc/groups.toml) and "profile.<p>" (etc/profiles/<p>.toml;
 * the '@' of a remote id is written '=' since KV keys cannot hold it).
 * Per key the replicator remembers the revision, the envelope time and the
 * hash of the text it last applied or published: a value older than that
 * (a replayed old envelope re-put by whoever can write the bucket) is
 * refused, and a local file equal to it is not published again (so an
 * applied value does not echo back). */
#include "kernel/fed_policy.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "astrid/blake3.h"
#include "astrid/envelope.h"
#include "astrid/fs.h"
#include "astrid/groups.h"
#include "astrid/home.h"
#include "astrid/jsonsafe.h"
#include "astrid/policy_cache.h"
#include "astrid/profile.h"
#include "astrid/trust.h"
#include "kernel/fed_trust.h"
#include "kernel/federation.h"

#define POLICY_MAX_KEYS 4096
#define POLICY_KEY_MAX 160
#define POLICY_RETRY_MS 1000
#define POLICY_SCAN_MS 2000

#define POLICY_ORIGINS 32

/* The highest envelope seq seen from one origin for one key: a value is
 * fresh only when its seq is above it (seq grows per origin, across its
 * restarts too), so an old signed value put back is refused. */
typedef struct seen_seq {
    char origin[ASTRID_FED_NAME_MAX + 1];
    uint64_t seq;
} seen_seq;

typedef struct pkey {
    char key[POLICY_KEY_MAX];
    uint64_t rev;     /* KV revision last applied or written, 0 = none */
    uint64_t kv_rev;  /* latest revision seen in the bucket (applied or refused):
                       * what a local change is written over */
    uint8_t hash[32]; /* blake3 of its TOML text ("" for a deletion) */
    bool deleted;
    seen_seq seen[POLICY_ORIGINS];
    size_t nseen;
} pkey;

static seen_seq *seen_get(pkey *k, const char *origin)
{
    for (size_t i = 0; i < k->nseen; i++)
        if (strcmp(k->seen[i].origin, origin) == 0)
            return &k->seen[i];
    /* more origins than slots: the oldest slot is reused */
    seen_seq *s = k->nseen < POLICY_ORIGINS ? &k->seen[k->nseen++] : &k->seen[0];
    snprintf(s->origin, sizeof s->origin, "%s", origin);
    s->seq = 0;
    return s;
}

struct astrid_fed_policy {
    astrid_kernel *k;
    char bucket[96];
    pthread_t thread;
    bool started;
    pthread_mutex_t policy_lock; /* guards stopping and dirty; policy_cond wakes the thread */
    pthread_cond_t policy_cond;
    bool stopping, dirty, resync;
    int64_t next_scan_ms; /* the replicator's: when to compare local files again */
    /* the replicator thread's alone: */
    jsCtx *js;
    kvStore *kv;
    kvWatcher *w;
    bool synced;         /* the watch delivered the bucket's initial state */
    uint64_t reconnects; /* of the bridge's connection when the watch opened */
    pkey *keys;
    size_t nkeys;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static pkey *key_get(struct astrid_fed_policy *p, const char *key, bool create)
{
    for (size_t i = 0; i < p->nkeys; i++)
        if (strcmp(p->keys[i].key, key) == 0)
            return &p->keys[i];
    if (!create || p->nkeys >= POLICY_MAX_KEYS || strlen(key) >= POLICY_KEY_MAX)
        return NULL;
    pkey *n = realloc(p->keys, (p->nkeys + 1) * sizeof *n);
    if (!n)
        return NULL;
    p->keys = n;
    pkey *e = &p->keys[p->nkeys++];
    memset(e, 0, sizeof *e);
    snprintf(e->key, sizeof e->key, "%s", key);
    return e;
}

/* KV key of a principal's profile and back. */
static int profile_key(char *out, size_t n, const char *principal)
{
    int w = snprintf(out, n, "profile.%s", principal);
    if (w < 0 || (size_t)w >= n)
        return -1;
    for (char *c = out; *c; c++)
        if (*c == '@')
            *c = '=';
    return 0;
}

static int principal_of_key(const char *key, char *out, size_t n)
{
    if (strncmp(key, "profile.", 8) != 0)
        return -1;
    int w = snprintf(out, n, "%s", key + 8);
    if (w < 0 || (size_t)w >= n)
        return -1;
    for (char *c = out; *c; c++)
        if (*c == '=')
            *c = '@';
    return astrid_profile_principal_validate(out, NULL);
}

static void audit(struct astrid_fed_policy *p, const char *what, const char *key, bool allowed,
                  const char *origin, uint64_t rev, const char *reason)
{
    json_t *params = json_pack("{s:s,s:s,s:I}", "key", key, "origin", origin ? origin : "",
                               "revision", (json_int_t)rev);
    astrid_audit_request_mode(p->k, ASTRID_AUDIT_DURABLE, "default", what, "federation:policy", key,
                              params, allowed, reason);
    json_decref(params);
}

/* Validate `text` as the file `key` names and write it (NULL: remove the
 * profile). Under the admin write lock: never interleaved with an admin
 * read-modify-write of the same file. */
static int apply_text(struct astrid_fed_policy *p, const char *key, const char *text, size_t len,
                      astrid_err *err)
{
    astrid_kernel *k = p->k;
    char path[PATH_MAX], who[POLICY_KEY_MAX];
    int rc = -1;
    pthread_mutex_lock(&k->admin_write_lock);
    if (strcmp(key, "groups") == 0) {
        astrid_group_error why;
        astrid_group_config *g = NULL;
        if (!text)
            astrid_err_set(err, ASTRID_E_INVALID, "groups cannot be deleted");
        else if (astrid_home_groups_file(path, sizeof path, k->home, err) == 0 &&
                 (g = astrid_groups_parse(path, text, len, &why, err)) != NULL &&
                 astrid_atomic_write(path, text, len, 0600, err) == 0) {
            astrid_group_swap_store(k->groups, g);
            g = NULL;
            rc = 0;
        }
        astrid_groups_unref(g);
    } else if (principal_of_key(key, who, sizeof who) == 0) {
        if (astrid_profile_path(path, sizeof path, k->home, who, err) != 0) {
            /* err set */
        } else if (!text) {
            rc = unlink(path) == 0 || errno == ENOENT ? 0 : astrid_err_sys(err, "%s", path);
        } else {
            astrid_profile *prof = astrid_profile_parse(path, text, len, err);
            if (prof && astrid_atomic_write(path, text, len, 0600, err) == 0)
                rc = 0;
            astrid_profile_release(prof);
        }
        astrid_profile_cache_invalidate(k->profiles, who);
    } else {
        astrid_err_set(err, ASTRID_E_INVALID, "unknown policy key '%s'", key);
    }
    pthread_mutex_unlock(&k->admin_write_lock);
    return rc;
}

/* One value of the bucket: verify everything, then apply. */
static void on_entry(struct astrid_fed_policy *p, kvEntry *e)
{
    astrid_kernel *k = p->k;
    const char *key = kvEntry_Key(e);
    uint64_t rev = kvEntry_Revision(e);
    if (kvEntry_Operation(e) != kvOp_Put) {
        /* A bare delete or purge carries no signature: refused (a deletion
         * travels as a signed value with "toml": null). */
        audit(p, "federation.policy.refused", key, false, NULL, rev,
              "unsigned delete/purge of a policy key");
        astrid_klog(k, "WARN", "policy: unsigned delete of %s (revision %llu) ignored", key,
                    (unsigned long long)rev);
        return;
    }
    pkey *st = key_get(p, key, true);
    if (st && rev == st->rev)
        return; /* in force already (our own write, or a re-sync) */
    if (st && rev > st->kv_rev)
        st->kv_rev = rev;
    const astrid_fedconf *conf = astrid_fed_conf(k);
    astrid_envelope env;
    char *payload = NULL, reason[ASTRID_ERR_MSG_MAX + 64] = "";
    size_t plen = 0;
    astrid_err err;
    json_t *doc = NULL;
    uint8_t pk[32];
    char self[ASTRID_FED_NAME_MAX + 1];
    astrid_kernel_fed_self(k, self, sizeof self);
    if (astrid_envelope_parse(kvEntry_Value(e), (size_t)kvEntry_ValueLen(e), &env, &payload, &plen,
                              &err) != 0) {
        snprintf(reason, sizeof reason, "not a valid envelope: %s", err.msg);
        goto refuse;
    }
    if (strcmp(env.lattice, conf->lattice) != 0 ||
        strcmp(env.topic, ASTRID_FED_POLICY_TOPIC) != 0) {
        snprintf(reason, sizeof reason, "envelope for lattice %s, topic %s", env.lattice,
                 env.topic);
        goto refuse;
    }
    if (strcmp(env.origin, self) == 0)
        memcpy(pk, k->key.pk, 32);
    else if (astrid_kernel_trust_lookup(k, env.origin, pk) != 0) {
        snprintf(reason, sizeof reason, "writer %s is not in the trust table", env.origin);
        goto refuse;
    }
    if (astrid_envelope_verify(&env, pk, &err) != 0) {
        snprintf(reason, sizeof reason, "%s", err.msg);
        goto refuse;
    }
    doc = astrid_json_loadb(payload, plen, JSON_REJECT_DUPLICATES, NULL);
    json_t *jt = json_object_get(doc, "toml");
    const char *inner = json_string_value(json_object_get(doc, "key"));
    if (!inner || strcmp(inner, key) != 0 || !(json_is_string(jt) || json_is_null(jt))) {
        /* a signed value moved under another key is not that key's value */
        snprintf(reason, sizeof reason, "signed for key '%.100s', found under '%.100s'",
                 inner ? inner : "?", key);
        goto refuse;
    }
    if (!st) {
        snprintf(reason, sizeof reason, "too many policy keys");
        goto refuse;
    }
    seen_seq *seen = seen_get(st, env.origin);
    if (rev < st->rev || env.seq <= seen->seq) {
        snprintf(reason, sizeof reason,
                 "not newer than the value in force (revision %llu, in force %llu; seq %llu of "
                 "%s, seen %llu): a replayed value",
                 (unsigned long long)rev, (unsigned long long)st->rev, (unsigned long long)env.seq,
                 env.origin, (unsigned long long)seen->seq);
        goto refuse;
    }
    const char *text = json_string_value(jt);
    size_t tlen = text ? json_string_length(jt) : 0;
    if (apply_text(p, key, text, tlen, &err) != 0) {
        snprintf(reason, sizeof reason, "invalid: %s", err.msg);
        goto refuse;
    }
    st->rev = rev;
    seen->seq = env.seq;
    st->deleted = text == NULL;
    astrid_blake3(text ? text : "", tlen, st->hash);
    audit(p, "federation.policy.apply", key, true, env.origin, rev, NULL);
    astrid_klog(k, "INFO", "policy: applied %s revision %llu from %s", key, (unsigned long long)rev,
                env.origin);
    json_decref(doc);
    free(payload);
    return;
refuse:
    audit(p, "federation.policy.refused", key, false, env.origin[0] ? env.origin : NULL, rev,
          reason);
    astrid_klog(k, "WARN", "policy: %s revision %llu refused, local copy kept: %s", key,
                (unsigned long long)rev, reason);
    json_decref(doc);
    free(payload);
}

/* Seal and write one key with a revision check. */
static void publish(struct astrid_fed_policy *p, const char *key, const char *text, size_t len)
{
    astrid_kernel *k = p->k;
    uint8_t h[32];
    astrid_blake3(text ? text : "", len, h);
    pkey *st = key_get(p, key, true);
    if (!st || (st->rev && st->deleted == (text == NULL) && memcmp(st->hash, h, 32) == 0))
        return; /* what the bucket already holds */
    if (!text && (!st->rev || st->deleted))
        return;
    json_t *doc =
        json_pack("{s:s,s:o}", "key", key, "toml", text ? json_stringn(text, len) : json_null());
    char *payload = astrid_json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    char *wire = NULL;
    size_t wlen = 0;
    astrid_err err;
    if (!payload || astrid_fed_seal(k, ASTRID_FED_POLICY_TOPIC, "", payload, strlen(payload), &wire,
                                    &wlen, &err) != 0) {
        astrid_klog(k, "ERROR", "policy: cannot seal %s", key);
        free(payload);
        return;
    }
    free(payload);
    astrid_envelope env;
    char *echo = NULL;
    if (astrid_envelope_parse(wire, wlen, &env, &echo, NULL, &err) != 0) {
        free(wire);
        return;
    }
    free(echo);
    uint64_t rev = 0;
    natsStatus s = st->kv_rev ? kvStore_Update(&rev, p->kv, key, wire, (int)wlen, st->kv_rev)
                              : kvStore_Create(&rev, p->kv, key, wire, (int)wlen);
    free(wire);
    if (s == NATS_OK) {
        st->rev = st->kv_rev = rev;
        seen_get(st, env.origin)->seq = env.seq;
        st->deleted = text == NULL;
        memcpy(st->hash, h, 32);
        audit(p, "federation.policy.publish", key, true, NULL, rev, NULL);
        astrid_klog(k, "INFO", "policy: published %s revision %llu", key, (unsigned long long)rev);
        return;
    }
    /* Someone else wrote the key since the revision we saw: theirs stays,
     * ours is reported (and replaced by theirs when the watch brings it). */
    kvEntry *cur = NULL;
    bool conflict =
        kvStore_Get(&cur, p->kv, key) == NATS_OK && cur && kvEntry_Revision(cur) != st->kv_rev;
    if (!conflict && s == NATS_ERR && !st->kv_rev)
        conflict = true; /* create over an existing key */
    kvEntry_Destroy(cur);
    if (conflict) {
        char why[256];
        snprintf(why, sizeof why,
                 "conflict: %s changed in the lattice since revision %llu; the local change "
                 "was not published",
                 key, (unsigned long long)st->kv_rev);
        audit(p, "federation.policy.conflict", key, false, NULL, st->kv_rev, why);
        astrid_klog(k, "WARN", "policy: %s", why);
    } else {
        astrid_klog(k, "WARN", "policy: publishing %s failed (%s); will retry", key,
                    natsStatus_GetText(s));
    }
}

static void publish_file(struct astrid_fed_policy *p, const char *key, const char *path)
{
    char *text = NULL;
    size_t len = 0;
    astrid_err err;
    if (astrid_read_file(path, ASTRID_PROFILE_FILE_MAX, &text, &len, &err) != 0) {
        if (err.code == ASTRID_E_IO && err.sys_errno == ENOENT)
            publish(p, key, NULL, 0);
        return;
    }
    publish(p, key, text, len);
    free(text);
}

/* Every local policy file against what the bucket holds. */
static void publish_local(struct astrid_fed_policy *p)
{
    char path[PATH_MAX], key[POLICY_KEY_MAX], dir[PATH_MAX];
    if (astrid_home_groups_file(path, sizeof path, p->k->home, NULL) == 0 &&
        access(path, F_OK) == 0)
        publish_file(p, "groups", path);
    if (astrid_home_profiles_dir(dir, sizeof dir, p->k->home, NULL) != 0)
        return;
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        size_t n = strlen(de->d_name);
        char who[POLICY_KEY_MAX];
        if (n <= 5 || n - 5 >= sizeof who || strcmp(de->d_name + n - 5, ".toml") != 0)
            continue;
        memcpy(who, de->d_name, n - 5);
        who[n - 5] = '\0';
        if (astrid_profile_principal_validate(who, NULL) != 0 ||
            profile_key(key, sizeof key, who) != 0 ||
            astrid_profile_path(path, sizeof path, p->k->home, who, NULL) != 0)
            continue;
        publish_file(p, key, path);
    }
    if (d)
        closedir(d);
    /* profiles deleted here: a signed deletion */
    for (size_t i = 0; i < p->nkeys; i++) {
        char who[POLICY_KEY_MAX];
        if (p->keys[i].deleted || principal_of_key(p->keys[i].key, who, sizeof who) != 0 ||
            astrid_profile_path(path, sizeof path, p->k->home, who, NULL) != 0 ||
            access(path, F_OK) == 0)
            continue;
        snprintf(key, sizeof key, "%s", p->keys[i].key);
        publish(p, key, NULL, 0);
    }
}

static void close_kv(struct astrid_fed_policy *p)
{
    if (p->w) {
        kvWatcher_Stop(p->w);
        kvWatcher_Destroy(p->w);
    }
    kvStore_Destroy(p->kv);
    jsCtx_Destroy(p->js);
    p->w = NULL;
    p->kv = NULL;
    p->js = NULL;
    p->synced = false;
}

static uint64_t reconnects_of(natsConnection *nc)
{
    natsStatistics *st = NULL;
    uint64_t r = 0;
    if (nc && natsStatistics_Create(&st) == NATS_OK && natsConnection_GetStats(nc, st) == NATS_OK)
        natsStatistics_GetCounts(st, NULL, NULL, NULL, NULL, &r);
    natsStatistics_Destroy(st);
    return r;
}

static int open_kv(struct astrid_fed_policy *p)
{
    natsConnection *nc = astrid_fed_conn(p->k);
    if (!nc || natsConnection_Status(nc) != NATS_CONN_STATUS_CONNECTED)
        return -1;
    p->reconnects = reconnects_of(nc);
    if (natsConnection_JetStream(&p->js, nc, NULL) != NATS_OK)
        goto fail;
    if (js_KeyValue(&p->kv, p->js, p->bucket) != NATS_OK) {
        kvConfig cfg;
        kvConfig_Init(&cfg);
        cfg.Bucket = p->bucket;
        cfg.History = 1;
        cfg.MaxValueSize = (int32_t)ASTRID_ENV_MAX_WIRE;
        if (js_CreateKeyValue(&p->kv, p->js, &cfg) != NATS_OK)
            goto fail;
    }
    if (kvStore_WatchAll(&p->w, p->kv, NULL) != NATS_OK)
        goto fail;
    astrid_klog(p->k, "INFO", "policy: watching bucket %s", p->bucket);
    return 0;
fail:
    astrid_klog(p->k, "WARN", "policy: bucket %s not reachable yet: %s", p->bucket,
                nats_GetLastError(NULL));
    close_kv(p);
    return -1;
}

static bool should_stop(struct astrid_fed_policy *p)
{
    pthread_mutex_lock(&p->policy_lock);
    bool s = p->stopping;
    pthread_mutex_unlock(&p->policy_lock);
    return s;
}

static void *replicator(void *arg)
{
    struct astrid_fed_policy *p = arg;
    while (!should_stop(p)) {
        if (!p->kv && open_kv(p) != 0) {
            pthread_mutex_lock(&p->policy_lock);
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += POLICY_RETRY_MS / 1000;
            if (!p->stopping)
                pthread_cond_timedwait(&p->policy_cond, &p->policy_lock, &ts);
            pthread_mutex_unlock(&p->policy_lock);
            continue;
        }
        /* A new connection (the server restarted: its consumers are gone)
         * or a changed trust table: watch afresh; the bucket's values are
         * delivered again and those refused before are judged again. */
        pthread_mutex_lock(&p->policy_lock);
        bool resync = p->resync;
        p->resync = false;
        pthread_mutex_unlock(&p->policy_lock);
        if (resync || reconnects_of(astrid_fed_conn(p->k)) != p->reconnects) {
            close_kv(p);
            continue;
        }
        kvEntry *e = NULL;
        natsStatus s = kvWatcher_Next(&e, p->w, 200);
        if (s == NATS_OK && e) {
            on_entry(p, e);
            kvEntry_Destroy(e);
            continue; /* drain before publishing */
        }
        if (s == NATS_OK && !e) {
            p->synced = true; /* the initial state is in: our files may go out */
            p->next_scan_ms = 0;
        } else if (s != NATS_TIMEOUT) {
            astrid_klog(p->k, "WARN", "policy: watch of %s ended (%s); reopening", p->bucket,
                        natsStatus_GetText(s));
            close_kv(p);
            continue;
        }
        /* Local files are compared when an admin request wrote one, and
         * every POLICY_SCAN_MS anyway (hand edits, failed publishes). */
        pthread_mutex_lock(&p->policy_lock);
        bool due = p->dirty || now_ms() >= p->next_scan_ms;
        p->dirty = false;
        pthread_mutex_unlock(&p->policy_lock);
        if (due && p->synced) {
            publish_local(p);
            p->next_scan_ms = now_ms() + POLICY_SCAN_MS;
        }
    }
    close_kv(p);
    return NULL;
}

int astrid_fed_policy_start(astrid_kernel *k, astrid_err *err)
{
    const astrid_fedconf *conf = astrid_fed_conf(k);
    if (!conf || !conf->replicate_policy)
        return 0;
    struct astrid_fed_policy *p = calloc(1, sizeof *p);
    if (!p)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    p->k = k;
    snprintf(p->bucket, sizeof p->bucket, "astrid-%s-policy", conf->lattice);
    pthread_mutex_init(&p->policy_lock, NULL);
    pthread_cond_init(&p->policy_cond, NULL);
    if (pthread_create(&p->thread, NULL, replicator, p) != 0) {
        pthread_cond_destroy(&p->policy_cond);
        pthread_mutex_destroy(&p->policy_lock);
        free(p);
        return astrid_err_set(err, ASTRID_E_INTERNAL, "cannot start the policy replicator");
    }
    p->started = true;
    k->fed_policy = p;
    return 0;
}

void astrid_fed_policy_stop(astrid_kernel *k)
{
    struct astrid_fed_policy *p = k->fed_policy;
    if (!p)
        return;
    pthread_mutex_lock(&p->policy_lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->policy_cond);
    pthread_mutex_unlock(&p->policy_lock);
    if (p->started)
        pthread_join(p->thread, NULL);
    pthread_cond_destroy(&p->policy_cond);
    pthread_mutex_destroy(&p->policy_lock);
    free(p->keys);
    free(p);
    k->fed_policy = NULL;
}

void astrid_fed_policy_changed(astrid_kernel *k)
{
    struct astrid_fed_policy *p = k->fed_policy;
    if (!p)
        return;
    pthread_mutex_lock(&p->policy_lock);
    p->dirty = true;
    pthread_cond_broadcast(&p->policy_cond);
    pthread_mutex_unlock(&p->policy_lock);
}

void astrid_fed_policy_resync(astrid_kernel *k)
{
    struct astrid_fed_policy *p = k->fed_policy;
    if (!p)
        return;
    pthread_mutex_lock(&p->policy_lock);
    p->resync = true;
    pthread_mutex_unlock(&p->policy_lock);
}
