/* PrincipalProfile: defaults, validation, TOML load/save, legacy migration. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "astrid/caps.h"
#include "astrid/fs.h"
#include "astrid/home.h"
#include "astrid/principal.h"
#include "astrid/trust.h"
#include "astrid/profile.h"
#include "lib/policy/tomlutil.h"

astrid_profile *astrid_profile_new(astrid_err *err)
{
    astrid_profile *p = calloc(1, sizeof *p);
    if (!p) {
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        return NULL;
    }
    p->profile_version = ASTRID_PROFILE_VERSION;
    p->enabled = true;
    p->quotas = (astrid_quotas){ASTRID_QUOTA_DEFAULT_MEMORY, ASTRID_QUOTA_DEFAULT_TIMEOUT,
                                ASTRID_QUOTA_DEFAULT_IPC, ASTRID_QUOTA_DEFAULT_BG_PROCS,
                                ASTRID_QUOTA_DEFAULT_STORAGE};
    atomic_init(&p->refs, 1);
    return p;
}

static void list_free(astrid_strlist *l)
{
    policy_free_strv(l->v, l->n);
}

const astrid_profile *astrid_profile_retain(const astrid_profile *p)
{
    if (p)
        atomic_fetch_add_explicit(&((astrid_profile *)p)->refs, 1, memory_order_relaxed);
    return p;
}

void astrid_profile_release(const astrid_profile *cp)
{
    astrid_profile *p = (astrid_profile *)cp;
    if (!p || atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
        return;
    astrid_strlist *ls[] = {&p->groups,       &p->grants,           &p->revokes,
                            &p->auth_methods, &p->auth_public_keys, &p->network_egress,
                            &p->process_allow};
    for (size_t i = 0; i < sizeof ls / sizeof ls[0]; i++)
        list_free(ls[i]);
    free(p);
}

int astrid_strlist_push(astrid_strlist *l, const char *s, astrid_err *err)
{
    char **v = realloc(l->v, (l->n + 1) * sizeof *v);
    if (!v)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    l->v = v;
    if (!(v[l->n] = strdup(s)))
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    l->n++;
    return 0;
}

size_t astrid_strlist_remove(astrid_strlist *l, const char *s)
{
    size_t w = 0, removed = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i], s) == 0) {
            free(l->v[i]);
            removed++;
        } else {
            l->v[w++] = l->v[i];
        }
    }
    l->n = w;
    return removed;
}

static bool blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

/* List lengths and the lengths of entries no other rule bounds (group
 * names and capabilities have their own 64- and 256-byte rules). */
static int check_bounds(const astrid_profile *p, astrid_err *err)
{
    const struct {
        const char *name;
        const astrid_strlist *l;
        bool entries;
    } ls[] = {{"groups", &p->groups, false},
              {"grants", &p->grants, false},
              {"revokes", &p->revokes, false},
              {"auth.methods", &p->auth_methods, false},
              {"auth.public_keys", &p->auth_public_keys, true},
              {"network.egress", &p->network_egress, true},
              {"process.allow", &p->process_allow, true}};
    for (size_t k = 0; k < sizeof ls / sizeof ls[0]; k++) {
        if (ls[k].l->n > ASTRID_PROFILE_MAX_LIST)
            return astrid_err_set(err, ASTRID_E_LIMIT,
                                  "%s has %zu entries, over the limit of %u per list", ls[k].name,
                                  ls[k].l->n, ASTRID_PROFILE_MAX_LIST);
        for (size_t i = 0; ls[k].entries && i < ls[k].l->n; i++) {
            size_t n = strlen(ls[k].l->v[i]);
            if (n > ASTRID_PROFILE_MAX_ENTRY)
                return astrid_err_set(err, ASTRID_E_LIMIT,
                                      "%s entry %zu is %zu bytes, over the %u-byte limit",
                                      ls[k].name, i + 1, n, ASTRID_PROFILE_MAX_ENTRY);
        }
    }
    return 0;
}

int astrid_profile_validate(const astrid_profile *p, astrid_err *err)
{
    char msg[256];
    if (p->profile_version > ASTRID_PROFILE_VERSION)
        return astrid_err_set(err, ASTRID_E_INVALID,
                              "profile_version %u is newer than supported version %u",
                              p->profile_version, ASTRID_PROFILE_VERSION);
    if (check_bounds(p, err) != 0)
        return -1;
    for (size_t i = 0; i < p->groups.n; i++) {
        astrid_err e;
        if (astrid_principal_validate(p->groups.v[i], &e) != 0)
            return astrid_err_set(err, ASTRID_E_INVALID,
                                  "invalid group name '%s': must be 1-%d characters of a-z, A-Z, "
                                  "0-9, -, _",
                                  p->groups.v[i], ASTRID_MAX_GROUP_NAME_LEN);
    }
    const astrid_strlist *cl[] = {&p->grants, &p->revokes};
    const char *cn[] = {"grants", "revokes"};
    for (size_t k = 0; k < 2; k++)
        for (size_t i = 0; i < cl[k]->n; i++)
            if (astrid_cap_validate(cl[k]->v[i], msg, sizeof msg) != 0)
                return astrid_err_set(err, ASTRID_E_INVALID, "invalid capability in %s: %s", cn[k],
                                      msg);
    for (size_t i = 0; i < p->auth_methods.n; i++) {
        const char *m = p->auth_methods.v[i];
        if (strcmp(m, "keypair") != 0 && strcmp(m, "passkey") != 0 && strcmp(m, "system") != 0)
            return astrid_err_set(err, ASTRID_E_INVALID,
                                  "unknown auth method '%s' (expected keypair, passkey or system)",
                                  m);
    }
    for (size_t i = 0; i < p->auth_public_keys.n; i++)
        if (!*p->auth_public_keys.v[i])
            return astrid_err_set(err, ASTRID_E_INVALID,
                                  "auth.public_keys entries must not be empty");
    for (size_t i = 0; i < p->network_egress.n; i++)
        if (blank(p->network_egress.v[i]))
            return astrid_err_set(err, ASTRID_E_INVALID,
                                  "network.egress entries must not be blank");
    for (size_t i = 0; i < p->process_allow.n; i++)
        if (blank(p->process_allow.v[i]))
            return astrid_err_set(err, ASTRID_E_INVALID, "process.allow entries must not be blank");
    const astrid_quotas *q = &p->quotas;
    if (q->max_memory_bytes == 0)
        return astrid_err_set(err, ASTRID_E_INVALID, "quotas.max_memory_bytes must be > 0");
    if (q->max_timeout_secs < 1 || q->max_timeout_secs > 86400)
        return astrid_err_set(err, ASTRID_E_INVALID,
                              "quotas.max_timeout_secs must be in 1..=86400");
    if (q->max_ipc_throughput_bytes == 0)
        return astrid_err_set(err, ASTRID_E_INVALID, "quotas.max_ipc_throughput_bytes must be > 0");
    if (q->max_background_processes > 256)
        return astrid_err_set(err, ASTRID_E_INVALID,
                              "quotas.max_background_processes must be <= 256");
    if (q->max_storage_bytes == 0)
        return astrid_err_set(err, ASTRID_E_INVALID, "quotas.max_storage_bytes must be > 0");
    return 0;
}

/* Upstream's principal messages first, then the shared path helper. */
static int profile_path(const char *home, const char *principal, char *out, size_t outsz,
                        astrid_err *err)
{
    if (astrid_profile_principal_validate(principal, err) != 0)
        return -1;
    return astrid_profile_path(out, outsz, home, principal, err);
}

/* ---- load ---- */

typedef struct ctx {
    const char *path, *text;
    astrid_err *err;
} ctx;

static int type_err(const ctx *c, const char *key, const char *want)
{
    int line, col;
    policy_key_pos(c->text, key, &line, &col);
    return astrid_err_set(c->err, ASTRID_E_PARSE, "%s: line %d, column %d: '%s' must be %s",
                          c->path, line, col, key, want);
}

static int get_list(const ctx *c, const astrid_toml *v, const char *key, astrid_strlist *l)
{
    list_free(l);
    l->v = NULL;
    l->n = 0;
    return policy_str_array(v, &l->v, &l->n, c->path, c->text, key, c->err);
}

static int get_u64(const ctx *c, const astrid_toml *v, const char *key, uint64_t max, uint64_t *out)
{
    if (astrid_toml_type_of(v) != ASTRID_TOML_INTEGER || astrid_toml_int(v) < 0 ||
        (uint64_t)astrid_toml_int(v) > max)
        return type_err(c, key, "a non-negative integer in range");
    *out = (uint64_t)astrid_toml_int(v);
    return 0;
}

/* One sub-table whose keys are all string lists. */
static int get_section(const ctx *c, const astrid_toml *t, const char *sect,
                       const char *const *keys, astrid_strlist *const *lists, size_t nk)
{
    if (astrid_toml_type_of(t) != ASTRID_TOML_TABLE)
        return type_err(c, sect, "a table");
    char where[32];
    snprintf(where, sizeof where, "[%s]", sect);
    for (size_t i = 0; i < astrid_toml_len(t); i++) {
        const char *k = astrid_toml_key_at(t, i);
        size_t j = 0;
        while (j < nk && strcmp(k, keys[j]) != 0)
            j++;
        if (j == nk)
            return policy_unknown_key(c->err, c->path, c->text, k, where);
        if (get_list(c, astrid_toml_value_at(t, i), k, lists[j]) != 0)
            return -1;
    }
    return 0;
}

static int get_quotas(const ctx *c, const astrid_toml *t, astrid_quotas *q)
{
    if (astrid_toml_type_of(t) != ASTRID_TOML_TABLE)
        return type_err(c, "quotas", "a table");
    for (size_t i = 0; i < astrid_toml_len(t); i++) {
        const char *k = astrid_toml_key_at(t, i);
        const astrid_toml *v = astrid_toml_value_at(t, i);
        uint64_t x = 0;
        int rc;
        if (strcmp(k, "max_memory_bytes") == 0)
            rc = get_u64(c, v, k, UINT64_MAX, &q->max_memory_bytes);
        else if (strcmp(k, "max_timeout_secs") == 0)
            rc = get_u64(c, v, k, UINT64_MAX, &q->max_timeout_secs);
        else if (strcmp(k, "max_ipc_throughput_bytes") == 0)
            rc = get_u64(c, v, k, UINT64_MAX, &q->max_ipc_throughput_bytes);
        else if (strcmp(k, "max_storage_bytes") == 0)
            rc = get_u64(c, v, k, UINT64_MAX, &q->max_storage_bytes);
        else if (strcmp(k, "max_background_processes") == 0) {
            rc = get_u64(c, v, k, UINT32_MAX, &x);
            if (rc == 0)
                q->max_background_processes = (uint32_t)x;
        } else
            return policy_unknown_key(c->err, c->path, c->text, k, "[quotas]");
        if (rc != 0)
            return -1;
    }
    return 0;
}

static int parse_root(const ctx *c, const astrid_toml *root, astrid_profile *p)
{
    for (size_t i = 0; i < astrid_toml_len(root); i++) {
        const char *k = astrid_toml_key_at(root, i);
        const astrid_toml *v = astrid_toml_value_at(root, i);
        int rc;
        uint64_t x = 0;
        if (strcmp(k, "profile_version") == 0) {
            rc = get_u64(c, v, k, UINT32_MAX, &x);
            if (rc == 0)
                p->profile_version = (uint32_t)x;
        } else if (strcmp(k, "enabled") == 0) {
            if (astrid_toml_type_of(v) != ASTRID_TOML_BOOL)
                return type_err(c, k, "a boolean");
            p->enabled = astrid_toml_bool(v);
            rc = 0;
        } else if (strcmp(k, "groups") == 0) {
            rc = get_list(c, v, k, &p->groups);
        } else if (strcmp(k, "grants") == 0) {
            rc = get_list(c, v, k, &p->grants);
        } else if (strcmp(k, "revokes") == 0) {
            rc = get_list(c, v, k, &p->revokes);
        } else if (strcmp(k, "auth") == 0) {
            const char *keys[] = {"methods", "public_keys"};
            astrid_strlist *ls[] = {&p->auth_methods, &p->auth_public_keys};
            rc = get_section(c, v, k, keys, ls, 2);
        } else if (strcmp(k, "network") == 0) {
            const char *keys[] = {"egress"};
            astrid_strlist *ls[] = {&p->network_egress};
            rc = get_section(c, v, k, keys, ls, 1);
        } else if (strcmp(k, "process") == 0) {
            const char *keys[] = {"allow"};
            astrid_strlist *ls[] = {&p->process_allow};
            rc = get_section(c, v, k, keys, ls, 1);
        } else if (strcmp(k, "quotas") == 0) {
            rc = get_quotas(c, v, &p->quotas);
        } else {
            return policy_unknown_key(c->err, c->path, c->text, k, "profile");
        }
        if (rc != 0)
            return -1;
    }
    return 0;
}

astrid_profile *astrid_profile_parse(const char *path, const char *text, size_t len,
                                     astrid_err *err)
{
    if (policy_check_size(path, len, ASTRID_PROFILE_FILE_MAX, err) != 0)
        return NULL;
    astrid_profile *p = astrid_profile_new(err);
    if (!p)
        return NULL;
    astrid_toml *root = astrid_toml_parse(text, len, err, NULL);
    ctx c = {path, text, err};
    int rc = root ? policy_refuse_nul(root, path, err) : (astrid_err_prefix(err, "%s", path), -1);
    if (rc == 0)
        rc = parse_root(&c, root, p);
    if (rc == 0 && astrid_profile_validate(p, err) != 0)
        rc = astrid_err_prefix(err, "%s", path);
    astrid_toml_free(root);
    if (rc != 0) {
        astrid_profile_release(p);
        return NULL;
    }
    return p;
}

astrid_profile *astrid_profile_load_path(const char *path, astrid_err *err)
{
    char *text = NULL;
    size_t len = 0;
    bool missing;
    if (policy_read(path, ASTRID_PROFILE_FILE_MAX, &text, &len, &missing, err) != 0)
        return NULL;
    astrid_profile *p =
        missing ? astrid_profile_new(err) : astrid_profile_parse(path, text, len, err);
    free(text);
    return p;
}

astrid_profile *astrid_profile_load(const char *home, const char *principal, astrid_err *err)
{
    char path[4096];
    if (profile_path(home, principal, path, sizeof path, err) != 0)
        return NULL;
    return astrid_profile_load_path(path, err);
}

/* ---- save ---- */

static int set_list(astrid_toml *t, const char *k, const astrid_strlist *l)
{
    return astrid_toml_set(t, k, policy_toml_strv((const char *const *)l->v, l->n));
}

char *astrid_profile_emit(const astrid_profile *p, astrid_err *err)
{
    astrid_toml *r = astrid_toml_new_table(), *auth = astrid_toml_new_table(),
                *net = astrid_toml_new_table(), *proc = astrid_toml_new_table(),
                *q = astrid_toml_new_table();
    int rc = (r && auth && net && proc && q) ? 0 : -1;
    const astrid_quotas *qq = &p->quotas;
    /* Quotas above INT64_MAX cannot be written as TOML integers. */
    if (qq->max_memory_bytes > INT64_MAX || qq->max_timeout_secs > INT64_MAX ||
        qq->max_ipc_throughput_bytes > INT64_MAX || qq->max_storage_bytes > INT64_MAX)
        rc = -2;
    if (rc == 0)
        rc = astrid_toml_set(r, "profile_version", astrid_toml_new_int(p->profile_version)) |
             astrid_toml_set(r, "enabled", astrid_toml_new_bool(p->enabled)) |
             set_list(r, "groups", &p->groups) | set_list(r, "grants", &p->grants) |
             set_list(r, "revokes", &p->revokes) | set_list(auth, "methods", &p->auth_methods) |
             set_list(auth, "public_keys", &p->auth_public_keys) |
             set_list(net, "egress", &p->network_egress) |
             set_list(proc, "allow", &p->process_allow) |
             astrid_toml_set(q, "max_memory_bytes",
                             astrid_toml_new_int((int64_t)qq->max_memory_bytes)) |
             astrid_toml_set(q, "max_timeout_secs",
                             astrid_toml_new_int((int64_t)qq->max_timeout_secs)) |
             astrid_toml_set(q, "max_ipc_throughput_bytes",
                             astrid_toml_new_int((int64_t)qq->max_ipc_throughput_bytes)) |
             astrid_toml_set(q, "max_background_processes",
                             astrid_toml_new_int(qq->max_background_processes)) |
             astrid_toml_set(q, "max_storage_bytes",
                             astrid_toml_new_int((int64_t)qq->max_storage_bytes));
    if (rc == 0) {
        rc = astrid_toml_set(r, "auth", auth) | astrid_toml_set(r, "network", net) |
             astrid_toml_set(r, "process", proc) | astrid_toml_set(r, "quotas", q);
        auth = net = proc = q = NULL;
    }
    astrid_toml_free(auth);
    astrid_toml_free(net);
    astrid_toml_free(proc);
    astrid_toml_free(q);
    char *out = NULL;
    if (rc == -2)
        astrid_err_set(err, ASTRID_E_INVALID, "quota value exceeds the TOML integer range");
    else if (rc != 0)
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    else
        out = astrid_toml_emit(r, err);
    astrid_toml_free(r);
    return out;
}

int astrid_profile_save_path(const astrid_profile *p, const char *path, astrid_err *err)
{
    if (astrid_profile_validate(p, err) != 0)
        return astrid_err_prefix(err, "refusing to save %s", path);
    char *out = astrid_profile_emit(p, err);
    if (!out)
        return -1;
    /* What the next load will see, checked by the next load's own code. */
    astrid_profile *back = astrid_profile_parse(path, out, strlen(out), err);
    int rc = back ? astrid_atomic_write(path, out, strlen(out), 0600, err)
                  : astrid_err_prefix(err, "would not load, not written");
    astrid_profile_release(back);
    free(out);
    return rc;
}

int astrid_profile_save(const char *home, const char *principal, const astrid_profile *p,
                        astrid_err *err)
{
    char path[4096], dir[4096];
    if (profile_path(home, principal, path, sizeof path, err) != 0)
        return -1;
    if (astrid_home_profiles_dir(dir, sizeof dir, home, err) != 0 ||
        astrid_mkdir_p(dir, 0700, 0, err) != 0)
        return -1;
    return astrid_profile_save_path(p, path, err);
}

int astrid_profile_migrate_legacy(const char *home, const char *principal, bool *migrated,
                                  astrid_err *err)
{
    char legacy[4096], path[4096];
    if (migrated)
        *migrated = false;
    if (profile_path(home, principal, path, sizeof path, err) != 0)
        return -1;
    if (astrid_home_legacy_profile(legacy, sizeof legacy, home, principal, err) != 0)
        return -1;
    if (access(legacy, F_OK) != 0)
        return 0;
    if (access(path, F_OK) == 0) {
        if (unlink(legacy) != 0)
            return astrid_err_sys(err, "remove legacy profile %s", legacy);
        return 0;
    }
    astrid_profile *p = astrid_profile_load_path(legacy, err);
    if (!p)
        return astrid_err_prefix(err, "legacy profile not migrated");
    int rc = astrid_profile_save(home, principal, p, err);
    astrid_profile_release(p);
    if (rc != 0)
        return -1;
    if (unlink(legacy) != 0)
        return astrid_err_sys(err, "remove legacy profile %s", legacy);
    if (migrated)
        *migrated = true;
    return 0;
}

int astrid_profile_bootstrap_default(const char *home, bool *seeded, astrid_err *err)
{
    if (seeded)
        *seeded = false;
    astrid_profile *p = astrid_profile_load(home, ASTRID_DEFAULT_PRINCIPAL, err);
    if (!p)
        return -1;
    int rc = 0;
    if (p->groups.n == 0 && p->grants.n == 0 && p->revokes.n == 0) {
        rc = astrid_strlist_push(&p->groups, "admin", err);
        if (rc == 0)
            rc = astrid_profile_save(home, ASTRID_DEFAULT_PRINCIPAL, p, err);
        if (rc == 0 && seeded)
            *seeded = true;
    }
    astrid_profile_release(p);
    return rc;
}
