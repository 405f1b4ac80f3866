/* Distro.toml / Distro.lock (reference §15.1, §15.2). See distro.h. */
#include "lib/distro/distro.h"

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "astrid/fs.h"
#include "astrid/toml.h"
#include "lib/manifest/semver.h"

#define MAX_CAPSULES 256
#define MAX_VARS 256
#define MAX_ENV 256

/* A table's keys must all be in `known` (NULL-terminated): an unknown key
 * is most likely a typo that would silently do nothing. */
static int known_keys(const astrid_toml *t, const char *where, const char *const *known,
                      astrid_err *err)
{
    for (size_t i = 0; i < astrid_toml_len(t); i++) {
        const char *k = astrid_toml_key_at(t, i);
        bool ok = false;
        for (const char *const *q = known; *q && !ok; q++)
            ok = strcmp(*q, k) == 0;
        if (!ok)
            return astrid_err_set(err, ASTRID_E_INVALID, "%s%s%s: unknown key", where,
                                  where[0] ? "." : "", k);
    }
    return 0;
}

/* Optional string member: absent = NULL, wrong type = error naming it. */
static int opt_str(const astrid_toml *t, const char *where, const char *key, char **out,
                   astrid_err *err)
{
    *out = NULL;
    const astrid_toml *v = astrid_toml_get(t, key);
    if (!v)
        return 0;
    if (astrid_toml_type_of(v) != ASTRID_TOML_STRING)
        return astrid_err_set(err, ASTRID_E_INVALID, "%s%s%s: expected a string, got %s", where,
                              where[0] ? "." : "", key,
                              astrid_toml_type_name(astrid_toml_type_of(v)));
    if (!(*out = strdup(astrid_toml_str(v, NULL))))
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    return 0;
}

static int req_str(const astrid_toml *t, const char *where, const char *key, char **out,
                   astrid_err *err)
{
    if (opt_str(t, where, key, out, err) < 0)
        return -1;
    if (!*out)
        return astrid_err_set(err, ASTRID_E_INVALID, "%s%s%s: missing (required)", where,
                              where[0] ? "." : "", key);
    return 0;
}

static int opt_str_array(const astrid_toml *t, const char *where, const char *key, astrid_err *err)
{
    const astrid_toml *v = astrid_toml_get(t, key);
    if (!v)
        return 0;
    if (astrid_toml_type_of(v) != ASTRID_TOML_ARRAY)
        return astrid_err_set(err, ASTRID_E_INVALID, "%s.%s: expected an array of strings", where,
                              key);
    for (size_t i = 0; i < astrid_toml_len(v); i++)
        if (astrid_toml_type_of(astrid_toml_at(v, i)) != ASTRID_TOML_STRING)
            return astrid_err_set(err, ASTRID_E_INVALID, "%s.%s[%zu]: expected a string", where,
                                  key, i);
    return 0;
}

static bool id_ok(const char *s)
{
    if (!(*s >= 'a' && *s <= 'z'))
        return false;
    for (s++; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
            return false;
    return true;
}

static bool var_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 64 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

/* Walks a template: literal runs and {{ name }} references. */
typedef int (*tmpl_fn)(const char *lit, size_t n, const char *var, void *user);

static int tmpl_walk(const char *t, tmpl_fn fn, void *user, astrid_err *err)
{
    const char *p = t;
    for (;;) {
        const char *o = strstr(p, "{{");
        if (!o)
            return fn(p, strlen(p), NULL, user);
        if (fn(p, (size_t)(o - p), NULL, user) < 0)
            return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        const char *c = strstr(o + 2, "}}");
        if (!c)
            return astrid_err_set(err, ASTRID_E_INVALID, "unclosed '{{' in \"%s\"", t);
        const char *a = o + 2, *b = c;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (!var_name_ok(a, (size_t)(b - a)))
            return astrid_err_set(err, ASTRID_E_INVALID, "'%.*s' is not a variable reference",
                                  (int)(c + 2 - o), o);
        char name[65];
        snprintf(name, sizeof name, "%.*s", (int)(b - a), a);
        if (fn(NULL, 0, name, user) < 0)
            return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        p = c + 2;
    }
}

typedef struct each_ctx {
    void (*fn)(const char *, void *);
    void *user;
} each_ctx;

static int each_cb(const char *lit, size_t n, const char *var, void *user)
{
    (void)lit;
    (void)n;
    each_ctx *e = user;
    if (var)
        e->fn(var, e->user);
    return 0;
}

int astrid_distro_template_each(const char *tmpl, void (*fn)(const char *name, void *user),
                                void *user, astrid_err *err)
{
    each_ctx e = {fn, user};
    return tmpl_walk(tmpl, each_cb, &e, err) < 0 ? -1 : 0;
}

typedef struct render_ctx {
    char *buf;
    size_t len, cap;
    const char *(*lookup)(const char *, void *);
    void *user;
} render_ctx;

static int render_cb(const char *lit, size_t n, const char *var, void *user)
{
    render_ctx *r = user;
    if (var) {
        lit = r->lookup(var, r->user);
        if (!lit)
            lit = "";
        n = strlen(lit);
    }
    if (r->len + n + 1 > r->cap) {
        size_t cap = (r->len + n + 1) * 2;
        char *nb = realloc(r->buf, cap);
        if (!nb)
            return -1;
        r->buf = nb;
        r->cap = cap;
    }
    if (!r->buf)
        return -1;
    if (n)
        memcpy(r->buf + r->len, lit, n);
    r->len += n;
    r->buf[r->len] = '\0';
    return 0;
}

char *astrid_distro_render(const char *tmpl, const char *(*lookup)(const char *name, void *user),
                           void *user, astrid_err *err)
{
    render_ctx r = {.lookup = lookup, .user = user};
    if (tmpl_walk(tmpl, render_cb, &r, err) < 0 || !r.buf) {
        if (r.buf == NULL && err->code == 0)
            astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        free(r.buf);
        return NULL;
    }
    return r.buf;
}

/* undefined-variable check */
typedef struct undef_ctx {
    const astrid_distro *d;
    char missing[65];
} undef_ctx;

static void undef_cb(const char *name, void *user)
{
    undef_ctx *u = user;
    if (!u->missing[0] && !astrid_distro_var_find(u->d, name))
        snprintf(u->missing, sizeof u->missing, "%s", name);
}

const astrid_distro_var *astrid_distro_var_find(const astrid_distro *d, const char *name)
{
    for (size_t i = 0; i < d->n_vars; i++)
        if (strcmp(d->vars[i].name, name) == 0)
            return &d->vars[i];
    return NULL;
}

void astrid_distro_free(astrid_distro *d)
{
    if (!d)
        return;
    free(d->id);
    free(d->name);
    free(d->version);
    free(d->pretty_name);
    free(d->codename);
    free(d->description);
    free(d->astrid_version);
    for (size_t i = 0; i < d->n_vars; i++) {
        free(d->vars[i].name);
        free(d->vars[i].description);
        free(d->vars[i].def);
    }
    free(d->vars);
    for (size_t i = 0; i < d->n_caps; i++) {
        astrid_distro_capsule *c = &d->caps[i];
        free(c->name);
        free(c->source);
        free(c->version);
        free(c->role);
        free(c->group);
        for (size_t j = 0; j < c->n_env; j++) {
            free(c->env[j].key);
            free(c->env[j].value);
        }
        free(c->env);
    }
    free(d->caps);
    free(d);
}

static int parse_distro_table(const astrid_toml *t, astrid_distro *d, astrid_err *err)
{
    static const char *const known[] = {
        "id",          "name",    "pretty-name",    "version",  "codename", "release-date",
        "description", "authors", "maintainers",    "homepage", "support",  "bug-tracker",
        "repository",  "license", "astrid-version", "requires", NULL};
    if (astrid_toml_type_of(t) != ASTRID_TOML_TABLE)
        return astrid_err_set(err, ASTRID_E_INVALID, "distro: expected a table");
    if (known_keys(t, "distro", known, err) < 0)
        return -1;
    char *tmp = NULL;
    if (req_str(t, "distro", "id", &d->id, err) < 0 ||
        req_str(t, "distro", "name", &d->name, err) < 0 ||
        req_str(t, "distro", "version", &d->version, err) < 0 ||
        opt_str(t, "distro", "pretty-name", &d->pretty_name, err) < 0 ||
        opt_str(t, "distro", "codename", &d->codename, err) < 0 ||
        opt_str(t, "distro", "description", &d->description, err) < 0 ||
        opt_str(t, "distro", "astrid-version", &d->astrid_version, err) < 0)
        return -1;
    static const char *const strs[] = {"release-date", "homepage", "support", "bug-tracker",
                                       "repository",   "license",  NULL};
    for (const char *const *k = strs; *k; k++) {
        if (opt_str(t, "distro", *k, &tmp, err) < 0)
            return -1;
        free(tmp);
    }
    if (opt_str_array(t, "distro", "authors", err) < 0 ||
        opt_str_array(t, "distro", "maintainers", err) < 0)
        return -1;
    if (!id_ok(d->id))
        return astrid_err_set(err, ASTRID_E_INVALID,
                              "distro.id: \"%s\" must match ^[a-z][a-z0-9-]*$", d->id);
    astrid_semver v;
    astrid_err e2;
    if (astrid_semver_parse(d->version, &v, &e2) < 0)
        return astrid_err_set(err, ASTRID_E_INVALID, "distro.version: not semver: %s", e2.msg);
    if (d->astrid_version && astrid_semver_req(d->astrid_version, NULL, NULL, &e2) < 0)
        return astrid_err_set(err, ASTRID_E_INVALID, "distro.astrid-version: %s", e2.msg);
    const astrid_toml *req = astrid_toml_get(t, "requires");
    if (req) {
        if (astrid_toml_type_of(req) != ASTRID_TOML_TABLE)
            return astrid_err_set(err, ASTRID_E_INVALID, "distro.requires: expected a table");
        for (size_t i = 0; i < astrid_toml_len(req); i++) {
            const char *ns = astrid_toml_key_at(req, i);
            const astrid_toml *ifs = astrid_toml_value_at(req, i);
            if (astrid_toml_type_of(ifs) != ASTRID_TOML_TABLE)
                return astrid_err_set(err, ASTRID_E_INVALID,
                                      "distro.requires.%s: expected a table of interface = "
                                      "\"requirement\"",
                                      ns);
            for (size_t j = 0; j < astrid_toml_len(ifs); j++) {
                const char *ifn = astrid_toml_key_at(ifs, j);
                const astrid_toml *r = astrid_toml_value_at(ifs, j);
                if (astrid_toml_type_of(r) != ASTRID_TOML_STRING)
                    return astrid_err_set(err, ASTRID_E_INVALID,
                                          "distro.requires.%s.%s: expected a string", ns, ifn);
                if (astrid_semver_req(astrid_toml_str(r, NULL), NULL, NULL, &e2) < 0)
                    return astrid_err_set(err, ASTRID_E_INVALID, "distro.requires.%s.%s: %s", ns,
                                          ifn, e2.msg);
            }
        }
    }
    return 0;
}

static int parse_vars(const astrid_toml *t, astrid_distro *d, astrid_err *err)
{
    if (astrid_toml_type_of(t) != ASTRID_TOML_TABLE)
        return astrid_err_set(err, ASTRID_E_INVALID, "variables: expected a table");
    size_t n = astrid_toml_len(t);
    if (n > MAX_VARS)
        return astrid_err_set(err, ASTRID_E_LIMIT, "variables: more than %d", MAX_VARS);
    d->vars = calloc(n ? n : 1, sizeof *d->vars);
    if (!d->vars)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    static const char *const known[] = {"secret", "description", "default", NULL};
    for (size_t i = 0; i < n; i++) {
        const char *name = astrid_toml_key_at(t, i);
        const astrid_toml *v = astrid_toml_value_at(t, i);
        char where[128];
        snprintf(where, sizeof where, "variables.%s", name);
        if (!var_name_ok(name, strlen(name)))
            return astrid_err_set(err, ASTRID_E_INVALID,
                                  "%s: not a variable name (letters, digits, _ and -)", where);
        if (astrid_toml_type_of(v) != ASTRID_TOML_TABLE)
            return astrid_err_set(err, ASTRID_E_INVALID,
                                  "%s: expected a table { secret, description, default }", where);
        if (known_keys(v, where, known, err) < 0)
            return -1;
        astrid_distro_var *x = &d->vars[d->n_vars++];
        x->name = strdup(name);
        const astrid_toml *s = astrid_toml_get(v, "secret");
        if (s && astrid_toml_type_of(s) != ASTRID_TOML_BOOL)
            return astrid_err_set(err, ASTRID_E_INVALID, "%s.secret: expected a boolean", where);
        x->secret = s && astrid_toml_bool(s);
        if (!x->name || opt_str(v, where, "description", &x->description, err) < 0 ||
            opt_str(v, where, "default", &x->def, err) < 0)
            return x->name ? -1 : astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    }
    return 0;
}

static int parse_capsule(const astrid_toml *t, size_t i, astrid_distro *d, astrid_err *err)
{
    char where[64];
    snprintf(where, sizeof where, "capsule[%zu]", i);
    if (astrid_toml_type_of(t) != ASTRID_TOML_TABLE)
        return astrid_err_set(err, ASTRID_E_INVALID, "%s: expected a table", where);
    static const char *const known[] = {"name", "source", "version", "role", "group", "env", NULL};
    if (known_keys(t, where, known, err) < 0)
        return -1;
    astrid_distro_capsule *c = &d->caps[d->n_caps++];
    if (req_str(t, where, "name", &c->name, err) < 0 ||
        req_str(t, where, "source", &c->source, err) < 0 ||
        req_str(t, where, "version", &c->version, err) < 0 ||
        opt_str(t, where, "role", &c->role, err) < 0 ||
        opt_str(t, where, "group", &c->group, err) < 0)
        return -1;
    if (!c->name[0])
        return astrid_err_set(err, ASTRID_E_INVALID, "%s.name: empty", where);
    if (!c->source[0])
        return astrid_err_set(err, ASTRID_E_INVALID, "%s.source: empty", where);
    astrid_semver v;
    astrid_err e2;
    if (astrid_semver_parse(c->version, &v, &e2) < 0)
        return astrid_err_set(err, ASTRID_E_INVALID, "%s.version: not semver: %s", where, e2.msg);
    for (size_t j = 0; j + 1 < d->n_caps; j++)
        if (strcmp(d->caps[j].name, c->name) == 0)
            return astrid_err_set(err, ASTRID_E_INVALID,
                                  "%s.name: \"%s\" is already capsule[%zu]'s name (names are "
                                  "unique)",
                                  where, c->name, j);
    const astrid_toml *env = astrid_toml_get(t, "env");
    if (!env)
        return 0;
    if (astrid_toml_type_of(env) != ASTRID_TOML_TABLE)
        return astrid_err_set(err, ASTRID_E_INVALID, "%s.env: expected a table", where);
    size_t n = astrid_toml_len(env);
    if (n > MAX_ENV)
        return astrid_err_set(err, ASTRID_E_LIMIT, "%s.env: more than %d keys", where, MAX_ENV);
    c->env = calloc(n ? n : 1, sizeof *c->env);
    if (!c->env)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    for (size_t j = 0; j < n; j++) {
        const char *k = astrid_toml_key_at(env, j);
        const astrid_toml *val = astrid_toml_value_at(env, j);
        if (astrid_toml_type_of(val) != ASTRID_TOML_STRING)
            return astrid_err_set(err, ASTRID_E_INVALID, "%s.env.%s: expected a string", where, k);
        astrid_distro_kv *kv = &c->env[c->n_env++];
        kv->key = strdup(k);
        kv->value = strdup(astrid_toml_str(val, NULL));
        if (!kv->key || !kv->value)
            return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    }
    return 0;
}

static int check_templates(const astrid_distro *d, astrid_err *err)
{
    for (size_t i = 0; i < d->n_caps; i++)
        for (size_t j = 0; j < d->caps[i].n_env; j++) {
            undef_ctx u = {.d = d};
            astrid_err e2;
            if (astrid_distro_template_each(d->caps[i].env[j].value, undef_cb, &u, &e2) < 0)
                return astrid_err_set(err, ASTRID_E_INVALID, "capsule[%zu].env.%s: %s", i,
                                      d->caps[i].env[j].key, e2.msg);
            if (u.missing[0])
                return astrid_err_set(err, ASTRID_E_INVALID,
                                      "capsule[%zu].env.%s: {{ %s }} is not a defined variable "
                                      "(add it under [variables])",
                                      i, d->caps[i].env[j].key, u.missing);
        }
    return 0;
}

int astrid_distro_parse(const char *buf, size_t len, astrid_distro **out, astrid_err *err)
{
    *out = NULL;
    astrid_toml *root = astrid_toml_parse(buf, len, err, NULL);
    if (!root)
        return astrid_err_prefix(err, "Distro.toml");
    astrid_distro *d = calloc(1, sizeof *d);
    int rc = -1;
    if (!d) {
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        goto done;
    }
    static const char *const known[] = {"schema-version", "distro", "variables", "capsule", NULL};
    if (known_keys(root, "", known, err) < 0)
        goto done;
    const astrid_toml *sv = astrid_toml_get(root, "schema-version");
    if (!sv) {
        astrid_err_set(err, ASTRID_E_INVALID, "schema-version: missing (must be 1)");
        goto done;
    }
    if (astrid_toml_type_of(sv) != ASTRID_TOML_INTEGER || astrid_toml_int(sv) != 1) {
        astrid_err_set(err, ASTRID_E_INVALID, "schema-version: must be 1");
        goto done;
    }
    const astrid_toml *dt = astrid_toml_get(root, "distro");
    if (!dt) {
        astrid_err_set(err, ASTRID_E_INVALID, "distro: missing [distro] table");
        goto done;
    }
    if (parse_distro_table(dt, d, err) < 0)
        goto done;
    const astrid_toml *vars = astrid_toml_get(root, "variables");
    if (vars && parse_vars(vars, d, err) < 0)
        goto done;
    const astrid_toml *caps = astrid_toml_get(root, "capsule");
    if (caps && astrid_toml_type_of(caps) != ASTRID_TOML_ARRAY) {
        astrid_err_set(err, ASTRID_E_INVALID, "capsule: expected [[capsule]] entries");
        goto done;
    }
    size_t n = caps ? astrid_toml_len(caps) : 0;
    if (n == 0) {
        astrid_err_set(err, ASTRID_E_INVALID, "capsule: at least one [[capsule]] is required");
        goto done;
    }
    if (n > MAX_CAPSULES) {
        astrid_err_set(err, ASTRID_E_LIMIT, "capsule: more than %d entries", MAX_CAPSULES);
        goto done;
    }
    if (!(d->caps = calloc(n, sizeof *d->caps))) {
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        goto done;
    }
    bool uplink = false;
    for (size_t i = 0; i < n; i++) {
        if (parse_capsule(astrid_toml_at(caps, i), i, d, err) < 0)
            goto done;
        uplink |= d->caps[i].role && strcmp(d->caps[i].role, "uplink") == 0;
    }
    if (!uplink) {
        astrid_err_set(err, ASTRID_E_INVALID,
                       "capsule: at least one capsule must have role = \"uplink\"");
        goto done;
    }
    if (check_templates(d, err) < 0)
        goto done;
    *out = d;
    d = NULL;
    rc = 0;
done:
    astrid_distro_free(d);
    astrid_toml_free(root);
    return rc;
}

static int read_all(const char *path, char **buf, size_t *len, size_t cap, astrid_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? astrid_err_set(err, ASTRID_E_NOTFOUND, "%s: no such file", path)
                               : astrid_err_sys(err, "%s", path);
    char *b = malloc(cap + 1);
    if (!b) {
        fclose(f);
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    }
    size_t n = fread(b, 1, cap + 1, f);
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        free(b);
        return astrid_err_sys(err, "%s: read", path);
    }
    if (n > cap) {
        free(b);
        return astrid_err_set(err, ASTRID_E_LIMIT, "%s: larger than %zu bytes", path, cap);
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
}

/* Upstream caps a fetched manifest at 1 MiB; a local one gets the same. */
#define DISTRO_MAX_BYTES (1u << 20)

int astrid_distro_load(const char *path, astrid_distro **out, astrid_err *err)
{
    char *b = NULL;
    size_t n = 0;
    if (read_all(path, &b, &n, DISTRO_MAX_BYTES, err) < 0)
        return -1;
    int rc = astrid_distro_parse(b, n, out, err);
    free(b);
    if (rc < 0)
        astrid_err_prefix(err, "%s", path);
    return rc;
}

/* --- lock --- */

void astrid_distro_lock_free(astrid_distro_lock *l)
{
    if (!l)
        return;
    free(l->id);
    free(l->version);
    free(l->resolved_at);
    for (size_t i = 0; i < l->n_caps; i++) {
        free(l->caps[i].name);
        free(l->caps[i].version);
        free(l->caps[i].source);
        free(l->caps[i].hash);
    }
    free(l->caps);
    free(l);
}

int astrid_distro_lock_parse(const char *buf, size_t len, astrid_distro_lock **out, astrid_err *err)
{
    *out = NULL;
    astrid_toml *root = astrid_toml_parse(buf, len, err, NULL);
    if (!root)
        return astrid_err_prefix(err, "distro.lock");
    astrid_distro_lock *l = calloc(1, sizeof *l);
    int rc = -1;
    if (!l) {
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        goto done;
    }
    const astrid_toml *sv = astrid_toml_get(root, "schema-version");
    if (!sv || astrid_toml_type_of(sv) != ASTRID_TOML_INTEGER || astrid_toml_int(sv) != 1) {
        astrid_err_set(err, ASTRID_E_INVALID, "distro.lock: schema-version: must be 1");
        goto done;
    }
    const astrid_toml *dt = astrid_toml_get(root, "distro");
    if (!dt || astrid_toml_type_of(dt) != ASTRID_TOML_TABLE) {
        astrid_err_set(err, ASTRID_E_INVALID, "distro.lock: distro: missing [distro] table");
        goto done;
    }
    if (req_str(dt, "distro", "id", &l->id, err) < 0 ||
        req_str(dt, "distro", "version", &l->version, err) < 0 ||
        opt_str(dt, "distro", "resolved-at", &l->resolved_at, err) < 0)
        goto done;
    const astrid_toml *caps = astrid_toml_get(root, "capsule");
    size_t n = caps && astrid_toml_type_of(caps) == ASTRID_TOML_ARRAY ? astrid_toml_len(caps) : 0;
    if (n > MAX_CAPSULES) {
        astrid_err_set(err, ASTRID_E_LIMIT, "distro.lock: capsule: more than %d", MAX_CAPSULES);
        goto done;
    }
    l->caps = calloc(n ? n : 1, sizeof *l->caps);
    if (!l->caps) {
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const astrid_toml *c = astrid_toml_at(caps, i);
        char where[64];
        snprintf(where, sizeof where, "capsule[%zu]", i);
        astrid_distro_lock_capsule *x = &l->caps[l->n_caps++];
        if (astrid_toml_type_of(c) != ASTRID_TOML_TABLE) {
            astrid_err_set(err, ASTRID_E_INVALID, "distro.lock: %s: expected a table", where);
            goto done;
        }
        if (req_str(c, where, "name", &x->name, err) < 0 ||
            req_str(c, where, "version", &x->version, err) < 0 ||
            req_str(c, where, "source", &x->source, err) < 0 ||
            req_str(c, where, "hash", &x->hash, err) < 0) {
            astrid_err_prefix(err, "distro.lock");
            goto done;
        }
    }
    *out = l;
    l = NULL;
    rc = 0;
done:
    astrid_distro_lock_free(l);
    astrid_toml_free(root);
    return rc;
}

int astrid_distro_lock_read(const char *path, astrid_distro_lock **out, astrid_err *err)
{
    char *b = NULL;
    size_t n = 0;
    if (read_all(path, &b, &n, 4u << 20, err) < 0)
        return -1;
    int rc = astrid_distro_lock_parse(b, n, out, err);
    free(b);
    if (rc < 0)
        astrid_err_prefix(err, "%s", path);
    return rc;
}

static int set_str(astrid_toml *t, const char *k, const char *v)
{
    return astrid_toml_set(t, k, astrid_toml_new_string(v ? v : "", strlen(v ? v : "")));
}

/* Appends emit(t) to *text (both freed on failure). */
static int append_emit(char **text, size_t *len, const char *head, astrid_toml *t, astrid_err *err)
{
    if (!t)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    char *part = astrid_toml_emit(t, err);
    astrid_toml_free(t);
    if (!part)
        return -1;
    size_t hl = strlen(head), pl = strlen(part);
    char *nt = realloc(*text, *len + hl + pl + 1);
    if (!nt) {
        free(part);
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    }
    memcpy(nt + *len, head, hl + 1); /* its NUL is overwritten next */
    memcpy(nt + *len + hl, part, pl + 1);
    *len += hl + pl;
    *text = nt;
    free(part);
    return 0;
}

/* Upstream's shape: schema-version, [distro], then one [[capsule]] per
 * entry. The tree emitter has no way to ask for [[x]] on a built array,
 * so each table is emitted on its own (it does the escaping) and joined. */
int astrid_distro_lock_write(const char *path, const astrid_distro_lock *l, astrid_err *err)
{
    char now[40];
    if (!l->resolved_at) {
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
    }
    char *text = NULL;
    size_t len = 0;
    astrid_toml *root = astrid_toml_new_table(), *dt = astrid_toml_new_table();
    if (root && astrid_toml_set(root, "schema-version", astrid_toml_new_int(1)) < 0) {
        astrid_toml_free(root);
        root = NULL;
    }
    if (dt && (set_str(dt, "id", l->id) < 0 || set_str(dt, "version", l->version) < 0 ||
               set_str(dt, "resolved-at", l->resolved_at ? l->resolved_at : now) < 0)) {
        astrid_toml_free(dt);
        dt = NULL;
    }
    int rc = append_emit(&text, &len, "", root, err);
    if (rc == 0)
        rc = append_emit(&text, &len, "\n[distro]\n", dt, err);
    else
        astrid_toml_free(dt);
    for (size_t i = 0; i < l->n_caps && rc == 0; i++) {
        astrid_toml *c = astrid_toml_new_table();
        if (c && (set_str(c, "name", l->caps[i].name) < 0 ||
                  set_str(c, "version", l->caps[i].version) < 0 ||
                  set_str(c, "source", l->caps[i].source) < 0 ||
                  set_str(c, "hash", l->caps[i].hash) < 0)) {
            astrid_toml_free(c);
            c = NULL;
        }
        rc = append_emit(&text, &len, "\n[[capsule]]\n", c, err);
    }
    if (rc < 0) {
        free(text);
        return -1;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    rc = astrid_mkdir_p(dirname(dir), 0700, 0, err);
    if (rc == 0)
        rc = astrid_atomic_write(path, text, len, 0600, err);
    free(text);
    return rc;
}

bool astrid_distro_lock_fresh(const astrid_distro_lock *l, const astrid_distro *d)
{
    return l && d && strcmp(l->id, d->id) == 0 && strcmp(l->version, d->version) == 0;
}
