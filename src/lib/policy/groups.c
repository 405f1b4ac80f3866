/* GroupConfig: immutable, reference-counted; mutators build new configs. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/caps.h"
#include "astrid/fs.h"
#include "astrid/groups.h"
#include "astrid/principal.h"
#include "lib/policy/tomlutil.h"

struct astrid_group_config {
    atomic_uint refs;
    size_t n;
    astrid_group *g; /* every string heap-owned by this config */
};

static const char *const admin_caps[] = {"*"};
static const char *const agent_caps[] = {"self:*", "self:quota:get", "self:agent:list",
                                         "delegate:self:*"};
static const struct {
    const char *name, *desc;
    const char *const *caps;
    size_t n;
} builtins[] = {
    {"admin", "Built-in administrator \xe2\x80\x94 universal capability grant", admin_caps, 1},
    {"agent",
     "Built-in agent \xe2\x80\x94 self-scoped capability grants for routine agent workflows",
     agent_caps, 4},
    {"restricted",
     "Built-in restricted \xe2\x80\x94 no implicit capabilities; grants must be explicit", NULL, 0},
};
#define NBUILTIN (sizeof builtins / sizeof builtins[0])

bool astrid_groups_is_builtin_name(const char *name)
{
    for (size_t i = 0; name && i < NBUILTIN; i++)
        if (strcmp(name, builtins[i].name) == 0)
            return true;
    return false;
}

static void group_clear(astrid_group *g)
{
    free((char *)g->name);
    free((char *)g->description);
    policy_free_strv((char **)g->caps, g->ncaps);
}

static void cfg_free(astrid_group_config *c)
{
    for (size_t i = 0; i < c->n; i++)
        group_clear(&c->g[i]);
    free(c->g);
    free(c);
}

astrid_group_config *astrid_groups_ref(astrid_group_config *cfg)
{
    if (cfg)
        atomic_fetch_add_explicit(&cfg->refs, 1, memory_order_relaxed);
    return cfg;
}

void astrid_groups_unref(astrid_group_config *cfg)
{
    /* acq_rel: the freeing thread must see every other holder's reads done. */
    if (cfg && atomic_fetch_sub_explicit(&cfg->refs, 1, memory_order_acq_rel) == 1)
        cfg_free(cfg);
}

size_t astrid_groups_count(const astrid_group_config *cfg)
{
    return cfg ? cfg->n : 0;
}

const astrid_group *astrid_groups_at(const astrid_group_config *cfg, size_t i)
{
    return cfg && i < cfg->n ? &cfg->g[i] : NULL;
}

const astrid_group *astrid_groups_find(const astrid_group_config *cfg, const char *name)
{
    for (size_t i = 0; cfg && name && i < cfg->n; i++)
        if (strcmp(cfg->g[i].name, name) == 0)
            return &cfg->g[i];
    return NULL;
}

static astrid_group_config *cfg_alloc(size_t cap, astrid_err *err)
{
    astrid_group_config *c = calloc(1, sizeof *c);
    if (c)
        c->g = calloc(cap ? cap : 1, sizeof *c->g);
    if (!c || !c->g) {
        free(c);
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        return NULL;
    }
    atomic_init(&c->refs, 1);
    return c;
}

/* Append a deep copy. */
static int cfg_push(astrid_group_config *c, const char *name, const char *const *caps, size_t n,
                    const char *desc, bool unsafe_admin, bool builtin, astrid_err *err)
{
    astrid_group *g = &c->g[c->n];
    memset(g, 0, sizeof *g);
    char **v = calloc(n ? n : 1, sizeof *v);
    g->name = strdup(name);
    g->description = desc ? strdup(desc) : NULL;
    g->caps = (const char *const *)v;
    bool ok = v && g->name && (!desc || g->description);
    for (size_t i = 0; ok && i < n; i++, g->ncaps++)
        ok = (v[i] = strdup(caps[i])) != NULL;
    g->unsafe_admin = unsafe_admin;
    g->builtin = builtin;
    c->n++;
    return ok ? 0 : astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
}

static int seterr(astrid_group_error *why, astrid_group_error w)
{
    if (why)
        *why = w;
    return -1;
}

/* Rules for a custom group (load, insert and modify). */
static int validate_custom(const char *name, const char *const *caps, size_t n, const char *desc,
                           bool unsafe_admin, astrid_group_error *why, astrid_err *err)
{
    if (astrid_groups_is_builtin_name(name)) {
        astrid_err_set(err, ASTRID_E_INVALID, "group '%s' redefines a built-in group", name);
        return seterr(why, ASTRID_GROUP_REDEFINED_BUILTIN);
    }
    if (n > ASTRID_GROUP_MAX_CAPS) {
        astrid_err_set(err, ASTRID_E_LIMIT,
                       "group '%s' has %zu capabilities, over the limit of %u per group", name, n,
                       ASTRID_GROUP_MAX_CAPS);
        return seterr(why, ASTRID_GROUP_LIMIT);
    }
    if (desc && strlen(desc) > ASTRID_GROUP_MAX_DESC) {
        astrid_err_set(err, ASTRID_E_LIMIT,
                       "group '%s' description is %zu bytes, over the %u-byte limit", name,
                       strlen(desc), ASTRID_GROUP_MAX_DESC);
        return seterr(why, ASTRID_GROUP_LIMIT);
    }
    for (size_t i = 0; i < n; i++) {
        char msg[256];
        if (astrid_cap_validate(caps[i], msg, sizeof msg) != 0) {
            astrid_err_set(err, ASTRID_E_INVALID, "group '%s' has invalid capability '%s': %s",
                           name, caps[i], msg);
            return seterr(why, ASTRID_GROUP_INVALID_CAPABILITY);
        }
        if (strcmp(caps[i], "*") == 0 && !unsafe_admin) {
            astrid_err_set(err, ASTRID_E_INVALID,
                           "group '%s' grants '*' (universal admin); set `unsafe_admin = true` "
                           "to confirm this elevation",
                           name);
            return seterr(why, ASTRID_GROUP_UNSAFE_UNIVERSAL_GRANT);
        }
    }
    return 0;
}

astrid_group_config *astrid_groups_builtin(astrid_err *err)
{
    astrid_group_config *c = cfg_alloc(NBUILTIN, err);
    for (size_t i = 0; c && i < NBUILTIN; i++)
        if (cfg_push(c, builtins[i].name, builtins[i].caps, builtins[i].n, builtins[i].desc, false,
                     true, err) != 0) {
            cfg_free(c);
            return NULL;
        }
    return c;
}

/* Copy `src` with room for one more group, skipping group `skip` (or -1). */
static astrid_group_config *cfg_copy(const astrid_group_config *src, size_t skip, astrid_err *err)
{
    astrid_group_config *c = cfg_alloc(src->n + 1, err);
    for (size_t i = 0; c && i < src->n; i++) {
        const astrid_group *g = &src->g[i];
        if (i != skip && cfg_push(c, g->name, g->caps, g->ncaps, g->description, g->unsafe_admin,
                                  g->builtin, err) != 0) {
            cfg_free(c);
            return NULL;
        }
    }
    return c;
}

astrid_group_config *astrid_groups_insert(const astrid_group_config *cfg, const char *name,
                                          const char *const *caps, size_t ncaps,
                                          const char *description, bool unsafe_admin,
                                          astrid_group_error *why, astrid_err *err)
{
    if (why)
        *why = ASTRID_GROUP_OK;
    astrid_err perr;
    if (!cfg || !name || (ncaps && !caps)) {
        astrid_err_set(err, ASTRID_E_INVALID, "group insert: missing argument");
        seterr(why, ASTRID_GROUP_INVALID_NAME);
        return NULL;
    }
    if (!astrid_groups_is_builtin_name(name) && astrid_principal_validate(name, &perr) != 0) {
        astrid_err_set(err, ASTRID_E_INVALID,
                       "invalid group name '%s': 1-64 characters of a-z, A-Z, 0-9, -, _", name);
        seterr(why, ASTRID_GROUP_INVALID_NAME);
        return NULL;
    }
    if (validate_custom(name, caps, ncaps, description, unsafe_admin, why, err) != 0)
        return NULL;
    if (astrid_groups_find(cfg, name)) {
        astrid_err_set(err, ASTRID_E_EXISTS, "group '%s' already exists", name);
        seterr(why, ASTRID_GROUP_DUPLICATE_NAME);
        return NULL;
    }
    if (cfg->n >= NBUILTIN + ASTRID_GROUPS_MAX_CUSTOM) {
        astrid_err_set(err, ASTRID_E_LIMIT, "there are already %u custom groups, the limit",
                       ASTRID_GROUPS_MAX_CUSTOM);
        seterr(why, ASTRID_GROUP_LIMIT);
        return NULL;
    }
    astrid_group_config *c = cfg_copy(cfg, (size_t)-1, err);
    if (c && cfg_push(c, name, caps, ncaps, description, unsafe_admin, false, err) != 0) {
        cfg_free(c);
        return NULL;
    }
    return c;
}

static long find_idx(const astrid_group_config *cfg, const char *name)
{
    for (size_t i = 0; cfg && name && i < cfg->n; i++)
        if (strcmp(cfg->g[i].name, name) == 0)
            return (long)i;
    return -1;
}

static int check_mutable(const astrid_group_config *cfg, const char *name, long *idx,
                         astrid_group_error *why, astrid_err *err)
{
    if (astrid_groups_is_builtin_name(name)) {
        astrid_err_set(err, ASTRID_E_INVALID, "group '%s' is built-in and cannot be changed", name);
        return seterr(why, ASTRID_GROUP_REDEFINED_BUILTIN);
    }
    if ((*idx = find_idx(cfg, name)) < 0) {
        astrid_err_set(err, ASTRID_E_NOTFOUND, "unknown group '%s'", name ? name : "");
        return seterr(why, ASTRID_GROUP_UNKNOWN_GROUP);
    }
    return 0;
}

astrid_group_config *astrid_groups_modify(const astrid_group_config *cfg, const char *name,
                                          const char *const *caps, size_t ncaps,
                                          astrid_desc_change desc_change, const char *description,
                                          int unsafe_admin, astrid_group_error *why,
                                          astrid_err *err)
{
    long idx;
    if (why)
        *why = ASTRID_GROUP_OK;
    if (!cfg || check_mutable(cfg, name, &idx, why, err) != 0)
        return NULL;
    const astrid_group *old = &cfg->g[idx];
    const char *const *nc = caps ? caps : old->caps;
    size_t nn = caps ? ncaps : old->ncaps;
    bool nu = unsafe_admin < 0 ? old->unsafe_admin : unsafe_admin != 0;
    const char *nd = desc_change == ASTRID_DESC_KEEP  ? old->description
                     : desc_change == ASTRID_DESC_SET ? description
                                                      : NULL;
    if (validate_custom(name, nc, nn, nd, nu, why, err) != 0)
        return NULL;
    /* Rebuild keeping order: copy all, replacing idx in place. */
    astrid_group_config *c = cfg_alloc(cfg->n, err);
    for (size_t i = 0; c && i < cfg->n; i++) {
        const astrid_group *g = &cfg->g[i];
        int rc = (long)i == idx ? cfg_push(c, name, nc, nn, nd, nu, false, err)
                                : cfg_push(c, g->name, g->caps, g->ncaps, g->description,
                                           g->unsafe_admin, g->builtin, err);
        if (rc != 0) {
            cfg_free(c);
            return NULL;
        }
    }
    return c;
}

astrid_group_config *astrid_groups_remove(const astrid_group_config *cfg, const char *name,
                                          astrid_group_error *why, astrid_err *err)
{
    long idx;
    if (why)
        *why = ASTRID_GROUP_OK;
    if (!cfg || check_mutable(cfg, name, &idx, why, err) != 0)
        return NULL;
    return cfg_copy(cfg, (size_t)idx, err);
}

/* ---- file I/O ---- */

static astrid_group_config *load_fail(astrid_group_config *c, astrid_toml *root,
                                      astrid_group_error *why, astrid_group_error w)
{
    if (c)
        cfg_free(c);
    astrid_toml_free(root);
    seterr(why, w);
    return NULL;
}

astrid_group_config *astrid_groups_load(const char *path, astrid_group_error *why, astrid_err *err)
{
    char *text = NULL;
    size_t len = 0;
    bool missing;
    if (why)
        *why = ASTRID_GROUP_OK;
    if (policy_read(path, ASTRID_GROUPS_FILE_MAX, &text, &len, &missing, err) != 0) {
        seterr(why, ASTRID_GROUP_FILE);
        return NULL;
    }
    if (missing)
        return astrid_groups_builtin(err);
    astrid_group_config *c = astrid_groups_parse(path, text, len, why, err);
    free(text);
    return c;
}

/* `text` is borrowed: load_fail frees only what parse made. */
astrid_group_config *astrid_groups_parse(const char *path, const char *text, size_t len,
                                         astrid_group_error *why, astrid_err *err)
{
    if (why)
        *why = ASTRID_GROUP_OK;
    if (policy_check_size(path, len, ASTRID_GROUPS_FILE_MAX, err) != 0)
        return load_fail(NULL, NULL, why, ASTRID_GROUP_LIMIT);
    astrid_toml *root = astrid_toml_parse(text, len, err, NULL);
    if (!root) {
        astrid_err_prefix(err, "%s", path);
        return load_fail(NULL, NULL, why, ASTRID_GROUP_FILE);
    }
    if (policy_refuse_nul(root, path, err) != 0)
        return load_fail(NULL, root, why, ASTRID_GROUP_FILE);
    for (size_t i = 0; i < astrid_toml_len(root); i++)
        if (strcmp(astrid_toml_key_at(root, i), "groups") != 0) {
            policy_unknown_key(err, path, text, astrid_toml_key_at(root, i), "groups file");
            return load_fail(NULL, root, why, ASTRID_GROUP_FILE);
        }
    const astrid_toml *gt = astrid_toml_get(root, "groups");
    size_t ng = gt ? astrid_toml_len(gt) : 0;
    if (gt && astrid_toml_type_of(gt) != ASTRID_TOML_TABLE) {
        astrid_err_set(err, ASTRID_E_PARSE, "%s: 'groups' must be a table", path);
        return load_fail(NULL, root, why, ASTRID_GROUP_FILE);
    }
    if (ng > ASTRID_GROUPS_MAX_CUSTOM) {
        astrid_err_set(err, ASTRID_E_LIMIT, "%s: %zu custom groups, over the limit of %u", path, ng,
                       ASTRID_GROUPS_MAX_CUSTOM);
        return load_fail(NULL, root, why, ASTRID_GROUP_LIMIT);
    }
    astrid_group_config *c = cfg_alloc(NBUILTIN + ng, err);
    astrid_group_config *b = c ? astrid_groups_builtin(err) : NULL;
    for (size_t i = 0; b && i < b->n; i++)
        cfg_push(c, b->g[i].name, b->g[i].caps, b->g[i].ncaps, b->g[i].description, false, true,
                 err);
    astrid_groups_unref(b);
    if (!b)
        return load_fail(c, root, why, ASTRID_GROUP_FILE);
    for (size_t i = 0; i < ng; i++) {
        const char *name = astrid_toml_key_at(gt, i);
        const astrid_toml *g = astrid_toml_value_at(gt, i);
        char where[128];
        snprintf(where, sizeof where, "[groups.%.100s]", name);
        if (astrid_toml_type_of(g) != ASTRID_TOML_TABLE) {
            astrid_err_set(err, ASTRID_E_PARSE, "%s: %s must be a table", path, where);
            return load_fail(c, root, why, ASTRID_GROUP_FILE);
        }
        char **caps = NULL;
        size_t ncaps = 0;
        const char *desc = NULL;
        bool unsafe_admin = false, have_caps = false;
        for (size_t k = 0; k < astrid_toml_len(g); k++) {
            const char *key = astrid_toml_key_at(g, k);
            const astrid_toml *v = astrid_toml_value_at(g, k);
            int bad = 0;
            if (strcmp(key, "capabilities") == 0) {
                if (policy_str_array(v, &caps, &ncaps, path, text, key, err) != 0) {
                    return load_fail(c, root, why, ASTRID_GROUP_FILE);
                }
                have_caps = true;
            } else if (strcmp(key, "description") == 0) {
                bad = astrid_toml_type_of(v) != ASTRID_TOML_STRING;
                desc = bad ? NULL : astrid_toml_str(v, NULL);
            } else if (strcmp(key, "unsafe_admin") == 0) {
                bad = astrid_toml_type_of(v) != ASTRID_TOML_BOOL;
                unsafe_admin = !bad && astrid_toml_bool(v);
            } else {
                policy_free_strv(caps, ncaps);
                policy_unknown_key(err, path, text, key, where);
                return load_fail(c, root, why, ASTRID_GROUP_FILE);
            }
            if (bad) {
                int line, col;
                policy_free_strv(caps, ncaps);
                policy_key_pos(text, key, &line, &col);
                astrid_err_set(err, ASTRID_E_PARSE,
                               "%s: line %d, column %d: %s: '%s' has the wrong type", path, line,
                               col, where, key);
                return load_fail(c, root, why, ASTRID_GROUP_FILE);
            }
        }
        if (!have_caps) {
            astrid_err_set(err, ASTRID_E_PARSE, "%s: %s: missing field 'capabilities'", path,
                           where);
            return load_fail(c, root, why, ASTRID_GROUP_FILE);
        }
        astrid_group_error w = ASTRID_GROUP_OK;
        int rc =
            validate_custom(name, (const char *const *)caps, ncaps, desc, unsafe_admin, &w, err);
        if (rc == 0)
            rc =
                cfg_push(c, name, (const char *const *)caps, ncaps, desc, unsafe_admin, false, err);
        policy_free_strv(caps, ncaps);
        if (rc != 0) {
            astrid_err_prefix(err, "%s", path);
            return load_fail(c, root, why, w ? w : ASTRID_GROUP_FILE);
        }
    }
    astrid_toml_free(root);
    return c;
}

char *astrid_groups_emit(const astrid_group_config *cfg, astrid_err *err)
{
    astrid_toml *root = astrid_toml_new_table(), *gt = astrid_toml_new_table();
    if (!root || !gt || astrid_toml_set(root, "groups", gt) != 0) {
        astrid_toml_free(root);
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; cfg && i < cfg->n; i++) {
        const astrid_group *g = &cfg->g[i];
        if (g->builtin)
            continue;
        astrid_toml *t = astrid_toml_new_table();
        int rc = t ? astrid_toml_set(t, "capabilities", policy_toml_strv(g->caps, g->ncaps)) : -1;
        if (rc == 0 && g->description)
            rc = astrid_toml_set(t, "description",
                                 astrid_toml_new_string(g->description, strlen(g->description)));
        if (rc == 0)
            rc = astrid_toml_set(t, "unsafe_admin", astrid_toml_new_bool(g->unsafe_admin));
        if (rc != 0 || astrid_toml_set(gt, g->name, t) != 0) {
            astrid_toml_free(root);
            astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
            return NULL;
        }
    }
    char *out = astrid_toml_emit(root, err);
    astrid_toml_free(root);
    return out;
}

int astrid_groups_save(const astrid_group_config *cfg, const char *path, astrid_err *err)
{
    char *out = astrid_groups_emit(cfg, err);
    if (!out)
        return -1;
    /* What the next boot will load, checked by the next boot's own code. */
    astrid_group_config *back = astrid_groups_parse(path, out, strlen(out), NULL, err);
    int rc = back ? astrid_atomic_write(path, out, strlen(out), 0600, err)
                  : astrid_err_prefix(err, "would not load, not written");
    astrid_groups_unref(back);
    free(out);
    return rc;
}
