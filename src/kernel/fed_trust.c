/* Federation trust in the daemon (fed_trust.h): the trust table, remote
 * principals' profiles, and the trust.add/remove/list admin handlers.
 *
 * trust_lock guards the table. It is held only for
 * copies and lookups, never across disk I/O by a reader: add/remove build
 * the new table from disk (so a hand edit is seen, or refused), write it,
 * and only then swap it in under the lock. */
#include "kernel/fed_trust.h"

#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "astrid/caps.h"
#include "astrid/home.h"
#include "astrid/trust.h"
#include "kernel/admin.h"
#include "kernel/fed_policy.h"
#include "kernel/federation.h"

struct astrid_fed_trust {
    pthread_mutex_t trust_lock; /* guards everything below */
    astrid_trust *table;
    char self[ASTRID_FED_NAME_MAX + 1]; /* [federation] host, "" = off */
    char **map_remote, **map_group;     /* the [[map]]s, in file order */
    size_t nmaps;
};

static void maps_free(char **r, char **g, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(r ? r[i] : NULL);
        free(g ? g[i] : NULL);
    }
    free(r);
    free(g);
}

int astrid_kernel_trust_start(astrid_kernel *k, astrid_err *err)
{
    struct astrid_fed_trust *t = calloc(1, sizeof *t);
    if (!t)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    if (astrid_trust_load(k->home, &t->table, err) != 0) {
        free(t);
        return astrid_err_prefix(err, "federation trust table");
    }
    pthread_mutex_init(&t->trust_lock, NULL);
    k->fed_trust = t;
    return 0;
}

void astrid_kernel_trust_stop(astrid_kernel *k)
{
    struct astrid_fed_trust *t = k->fed_trust;
    if (!t)
        return;
    astrid_trust_free(t->table);
    maps_free(t->map_remote, t->map_group, t->nmaps);
    pthread_mutex_destroy(&t->trust_lock);
    free(t);
    k->fed_trust = NULL;
}

int astrid_kernel_trust_lookup(astrid_kernel *k, const char *host, uint8_t pk[32])
{
    struct astrid_fed_trust *t = k->fed_trust;
    if (!t)
        return -1;
    pthread_mutex_lock(&t->trust_lock);
    int rc = astrid_trust_lookup(t->table, host, pk);
    pthread_mutex_unlock(&t->trust_lock);
    return rc;
}

int astrid_kernel_fed_self_set(astrid_kernel *k, const char *host, astrid_err *err)
{
    struct astrid_fed_trust *t = k->fed_trust;
    if (!t)
        return astrid_err_set(err, ASTRID_E_INTERNAL, "federation trust not started");
    if (astrid_fed_name_validate("host name", host, err) != 0)
        return -1;
    pthread_mutex_lock(&t->trust_lock);
    snprintf(t->self, sizeof t->self, "%s", host);
    pthread_mutex_unlock(&t->trust_lock);
    return 0;
}

void astrid_kernel_fed_self(astrid_kernel *k, char *out, size_t n)
{
    struct astrid_fed_trust *t = k->fed_trust;
    if (!n)
        return;
    out[0] = '\0';
    if (!t)
        return;
    pthread_mutex_lock(&t->trust_lock);
    snprintf(out, n, "%s", t->self);
    pthread_mutex_unlock(&t->trust_lock);
}

/* "id@host" or "*@host". */
static int map_remote_validate(const char *remote, astrid_err *err)
{
    if (remote && remote[0] == '*' && remote[1] == '@')
        return astrid_fed_name_validate("host name", remote + 2, err);
    return astrid_remote_principal_validate(remote, err);
}

int astrid_kernel_fed_maps_set(astrid_kernel *k, const char *const *remote,
                               const char *const *group, size_t n, astrid_err *err)
{
    struct astrid_fed_trust *t = k->fed_trust;
    if (!t)
        return astrid_err_set(err, ASTRID_E_INTERNAL, "federation trust not started");
    char **r = n ? calloc(n, sizeof *r) : NULL, **g = n ? calloc(n, sizeof *g) : NULL;
    if (n && (!r || !g)) {
        maps_free(r, g, n);
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        astrid_err e;
        if (map_remote_validate(remote[i], &e) != 0) {
            maps_free(r, g, n);
            return astrid_err_set(err, e.code, "[[map]] %zu: remote: %s", i + 1, e.msg);
        }
        if (!group[i] || !*group[i] || strlen(group[i]) > ASTRID_MAX_GROUP_NAME_LEN) {
            maps_free(r, g, n);
            return astrid_err_set(err, ASTRID_E_INVALID, "[[map]] %zu: group must be 1-%d bytes",
                                  i + 1, ASTRID_MAX_GROUP_NAME_LEN);
        }
        r[i] = strdup(remote[i]);
        g[i] = strdup(group[i]);
        if (!r[i] || !g[i]) {
            maps_free(r, g, n);
            return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        }
    }
    pthread_mutex_lock(&t->trust_lock);
    char ** or = t->map_remote, **og = t->map_group;
    size_t on = t->nmaps;
    t->map_remote = r;
    t->map_group = g;
    t->nmaps = n;
    pthread_mutex_unlock(&t->trust_lock);
    maps_free(or, og, on);
    return 0;
}

/* The group of `id`'s mapping: an exact "alice@B" entry before "*@B"
 * (a specific mapping can narrow a host-wide one); a copy, or NULL. Caller
 * holds trust_lock. */
static char *mapped_group_locked(const struct astrid_fed_trust *t, const char *id)
{
    const char *at = strchr(id, '@');
    for (size_t i = 0; i < t->nmaps; i++)
        if (strcmp(t->map_remote[i], id) == 0)
            return strdup(t->map_group[i]);
    for (size_t i = 0; at && i < t->nmaps; i++)
        if (t->map_remote[i][0] == '*' && strcmp(t->map_remote[i] + 1, at) == 0)
            return strdup(t->map_group[i]);
    return NULL;
}

const astrid_profile *astrid_kernel_remote_profile(astrid_kernel *k, const char *id,
                                                   astrid_err *err)
{
    struct astrid_fed_trust *t = k->fed_trust;
    char host[ASTRID_FED_NAME_MAX + 1];
    if (astrid_remote_principal_split(id, NULL, host, err) != 0)
        return NULL;
    uint8_t pk[32];
    if (!t || astrid_kernel_trust_lookup(k, host, pk) != 0) {
        astrid_err_set(err, ASTRID_E_PERM,
                       "permission denied for principal %s: host %s is not trusted", id, host);
        return NULL;
    }
    /* Its own profile, when there is one; a broken one denies (never read
     * as "no profile", which mappings alone would then decide). */
    char path[PATH_MAX];
    if (astrid_profile_path(path, sizeof path, k->home, id, err) != 0)
        return NULL;
    const astrid_profile *base = NULL;
    if (access(path, F_OK) == 0) {
        base = astrid_profile_cache_get(k->profiles, id, err);
        if (!base)
            return NULL;
    }
    pthread_mutex_lock(&t->trust_lock);
    char *group = mapped_group_locked(t, id);
    pthread_mutex_unlock(&t->trust_lock);
    astrid_profile *p = astrid_fed_remote_profile(id, base, group, err);
    free(group);
    astrid_profile_release(base);
    return p;
}

/* ---- admin handlers ----------------------------------------------------- */

static int fail_err(admin_call *c, const char *what, const astrid_err *err)
{
    return astrid_req_fail(c, astrid_errkind_of(err->code), "%s rejected: %s", what, err->msg);
}

/* Persist `next` and swap it in; takes ownership of `next`. */
static int commit(admin_call *c, astrid_trust *next, const char *what)
{
    astrid_err err;
    if (astrid_trust_save(next, c->k->home, &err) != 0) {
        astrid_trust_free(next);
        return astrid_req_fail(c, ASTRID_KIND_INTERNAL, "%s: cannot write the trust table: %s",
                               what, err.msg);
    }
    struct astrid_fed_trust *t = c->k->fed_trust;
    pthread_mutex_lock(&t->trust_lock);
    astrid_trust *old = t->table;
    t->table = next;
    pthread_mutex_unlock(&t->trust_lock);
    astrid_trust_free(old); /* the bridge's next lookup sees the new table */
    astrid_fed_policy_resync(c->k);
    return 0;
}

int admin_trust_add(admin_call *c, json_t **data, const char **status)
{
    (void)status;
    const char *host = admin_str(c, "host");
    const char *key = host ? admin_str(c, "pubkey") : NULL;
    if (!key)
        return -1;
    astrid_err err;
    char self[ASTRID_FED_NAME_MAX + 1];
    astrid_kernel_fed_self(c->k, self, sizeof self);
    uint8_t pk[32];
    if (strlen(key) == 64 && astrid_hex_decode(pk, 32, key, 64) == 0 &&
        astrid_ct_equal(pk, c->k->key.pk, 32))
        return astrid_req_fail(c, ASTRID_KIND_INVALID,
                               "trust.add rejected: that is this host's own key");
    if (self[0] && strcmp(self, host) == 0)
        return astrid_req_fail(c, ASTRID_KIND_INVALID,
                               "trust.add rejected: '%s' is this host's own name", host);
    astrid_trust *next = NULL;
    if (astrid_trust_load(c->k->home, &next, &err) != 0)
        return fail_err(c, "trust.add", &err);
    if (astrid_trust_add(next, host, key, NULL, &err) != 0) {
        astrid_trust_free(next);
        return fail_err(c, "trust.add", &err);
    }
    if (commit(c, next, "trust.add") != 0)
        return -1;
    char hex[65];
    astrid_hex_encode(hex, pk, 32);
    astrid_klog(c->k, "INFO", "trust: %s added host %s (key %s)", c->caller, host, hex);
    *data = json_pack("{s:s,s:s}", "host", host, "pubkey", hex);
    return 0;
}

int admin_trust_remove(admin_call *c, json_t **data, const char **status)
{
    (void)status;
    const char *host = admin_str(c, "host");
    if (!host)
        return -1;
    astrid_err err;
    astrid_trust *next = NULL;
    if (astrid_trust_load(c->k->home, &next, &err) != 0)
        return fail_err(c, "trust.remove", &err);
    if (astrid_trust_remove(next, host, &err) != 0) {
        astrid_trust_free(next);
        return fail_err(c, "trust.remove", &err);
    }
    if (commit(c, next, "trust.remove") != 0)
        return -1;
    astrid_klog(c->k, "INFO", "trust: %s removed host %s", c->caller, host);
    *data = json_pack("{s:s}", "host", host);
    return 0;
}

int admin_trust_list(admin_call *c, json_t **data, const char **status)
{
    struct astrid_fed_trust *t = c->k->fed_trust;
    json_t *arr = json_array();
    char hex[65], self[ASTRID_FED_NAME_MAX + 1];
    astrid_kernel_fed_self(c->k, self, sizeof self);
    astrid_hex_encode(hex, c->k->key.pk, 32);
    /* This host first, so an operator can copy its line to the others. */
    json_array_append_new(arr, json_pack("{s:s,s:s,s:o,s:b}", "host", self[0] ? self : "(unset)",
                                         "pubkey", hex, "added", json_null(), "this_host", 1));
    pthread_mutex_lock(&t->trust_lock);
    for (size_t i = 0; i < astrid_trust_count(t->table); i++) {
        const char *name, *added;
        uint8_t pk[32];
        astrid_trust_at(t->table, i, &name, pk, &added);
        astrid_hex_encode(hex, pk, 32);
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:b}", "host", name, "pubkey", hex,
                                             "added", added, "this_host", 0));
    }
    pthread_mutex_unlock(&t->trust_lock);
    *status = "trust_list";
    *data = arr;
    return 0;
}

int admin_trust_check(admin_call *c, json_t **data, const char **status)
{
    (void)status;
    const char *who = admin_str(c, "principal");
    const char *cap = who ? admin_str(c, "capability") : NULL;
    if (!cap)
        return -1;
    char why[256];
    if (astrid_cap_validate(cap, why, sizeof why) != 0)
        return astrid_req_fail(c, ASTRID_KIND_INVALID, "invalid capability '%s': %s", cap, why);
    astrid_err err;
    if (astrid_profile_principal_validate(who, &err) != 0)
        return astrid_req_fail_err(c, &err);
    char reason[512] = "";
    bool allowed = astrid_authorize(c->k, who, cap, reason, sizeof reason) == 0;
    *data = json_pack("{s:s,s:s,s:b}", "principal", who, "capability", cap, "allowed", allowed);
    if (!allowed)
        json_object_set_new(*data, "reason", json_string(reason));
    return 0;
}
