/* Capsule.toml parsing and the §6.4 rules the runtime relies on. */
#include "lib/manifest/manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/fs.h"
#include "astrid/toml.h"
#include "astrid/topic.h"
#include "lib/manifest/manifest_rules.h"
#include "lib/manifest/semver.h"

#define FAIL(...) (astrid_err_set(err, ASTRID_E_INVALID, __VA_ARGS__), -1)

static void strv_free(astrid_strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

static int strv_push(astrid_strv *s, const char *v, astrid_err *err)
{
    char **nv = realloc(s->v, (s->n + 1) * sizeof *nv);
    char *c = strdup(v);
    if (!nv || !c) {
        free(c);
        if (nv)
            s->v = nv;
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    }
    s->v = nv;
    s->v[s->n++] = c;
    return 0;
}

void astrid_manifest_free(astrid_manifest *m)
{
    if (!m)
        return;
    free(m->name);
    free(m->version);
    free(m->description);
    free(m->wasm_file);
    astrid_manifest_mcp_free(m);
    for (size_t i = 0; i < m->ninterceptors; i++) {
        free(m->interceptors[i].event);
        free(m->interceptors[i].action);
    }
    free(m->interceptors);
    astrid_manifest_dep *deps[] = {m->imports, m->exports};
    size_t ndeps[] = {m->nimports, m->nexports};
    for (size_t d = 0; d < 2; d++) {
        for (size_t i = 0; i < ndeps[d]; i++) {
            free(deps[d][i].ns);
            free(deps[d][i].iface);
            free(deps[d][i].version);
        }
        free(deps[d]);
    }
    astrid_strv *lists[] = {&m->ipc_publish, &m->ipc_subscribe, &m->net,
                            &m->kv,          &m->fs_read,       &m->fs_write,
                            &m->identity,    &m->host_process,  &m->net_bind};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
        strv_free(lists[i]);
    for (size_t i = 0; i < m->nenv; i++) {
        free(m->env[i].key);
        free(m->env[i].type);
        free(m->env[i].default_value);
    }
    free(m->env);
    free(m);
}

/* An optional array of strings at t[key] into out. */
static int str_array(const astrid_toml *t, const char *table, const char *key, astrid_strv *out,
                     const char *origin, astrid_err *err)
{
    const astrid_toml *a = astrid_toml_get(t, key);
    if (!a)
        return 0;
    if (astrid_toml_type_of(a) != ASTRID_TOML_ARRAY)
        return FAIL("%s: %s.%s must be an array of strings", origin, table, key);
    for (size_t i = 0; i < astrid_toml_len(a); i++) {
        const char *s = astrid_toml_str(astrid_toml_at(a, i), NULL);
        if (!s)
            return FAIL("%s: %s.%s[%zu] must be a string", origin, table, key, i);
        if (strv_push(out, s, err) != 0)
            return -1;
    }
    return 0;
}

static int dup_opt(char **dst, const astrid_toml *v)
{
    const char *s = astrid_toml_str(v, NULL);
    if (s && !(*dst = strdup(s)))
        return -1;
    return 0;
}

static int add_interceptor(astrid_manifest *m, const char *event, const char *action, int priority,
                           bool override, const char *origin, astrid_err *err)
{
    astrid_err e2;
    if (astrid_topic_check(event, ASTRID_TOPIC_PATTERN, &e2) != 0)
        return FAIL("%s: interceptor event '%s': %s", origin, event, e2.msg);
    if (!*action)
        return FAIL("%s: interceptor on '%s' has an empty action", origin, event);
    for (size_t i = 0; i < m->ninterceptors; i++)
        if (strcmp(m->interceptors[i].event, event) == 0 && override) {
            char *a = strdup(action);
            if (!a)
                return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
            free(m->interceptors[i].action);
            m->interceptors[i].action = a;
            m->interceptors[i].priority = priority;
            return 0;
        }
    if (m->ninterceptors >= ASTRID_MANIFEST_MAX_INTERCEPTORS)
        return FAIL("%s: more than %d interceptors", origin, ASTRID_MANIFEST_MAX_INTERCEPTORS);
    astrid_manifest_interceptor *n = realloc(m->interceptors, (m->ninterceptors + 1) * sizeof *n);
    if (!n)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    m->interceptors = n;
    n[m->ninterceptors] = (astrid_manifest_interceptor){strdup(event), strdup(action), priority};
    if (!n[m->ninterceptors].event || !n[m->ninterceptors].action)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    m->ninterceptors++;
    return 0;
}

/* [publish] / [subscribe] (v0.6): keys are topics; a value is a WIT ref
 * string or a table with at most one source pin. */
static int topic_table(astrid_manifest *m, const astrid_toml *t, const char *name, astrid_strv *acl,
                       const char *origin, astrid_err *err)
{
    if (!t)
        return 0;
    if (astrid_toml_type_of(t) != ASTRID_TOML_TABLE)
        return FAIL("%s: [%s] must be a table", origin, name);
    strv_free(acl); /* the table's keys replace the ipc_* ACL */
    for (size_t i = 0; i < astrid_toml_len(t); i++) {
        const char *topic = astrid_toml_key_at(t, i);
        const astrid_toml *v = astrid_toml_value_at(t, i);
        astrid_err e2;
        if (astrid_topic_check(topic, ASTRID_TOPIC_SUBSCRIBE, &e2) != 0)
            return FAIL("%s: [%s] \"%s\": %s (only a trailing .* wildcard)", origin, name, topic,
                        e2.msg);
        if (strv_push(acl, topic, err) != 0)
            return -1;
        if (astrid_toml_type_of(v) == ASTRID_TOML_TABLE) {
            const char *wit = astrid_toml_str(astrid_toml_get(v, "wit"), NULL);
            if (!wit || !*wit)
                return FAIL("%s: [%s] \"%s\".wit is required (a WIT reference string)", origin,
                            name, topic);
            static const char *const pins[] = {"version", "tag", "rev", "branch", "path"};
            int npins = 0;
            for (size_t p = 0; p < sizeof pins / sizeof *pins; p++)
                npins += astrid_toml_get(v, pins[p]) != NULL;
            if (npins > 1)
                return FAIL("%s: [%s] \"%s\": give at most one of version, tag, rev, branch, "
                            "path",
                            origin, name, topic);
            const char *handler = astrid_toml_str(astrid_toml_get(v, "handler"), NULL);
            if (handler && strcmp(name, "subscribe") == 0 &&
                add_interceptor(m, topic, handler, 100, true, origin, err) != 0)
                return -1;
        } else if (!astrid_toml_str(v, NULL)) {
            return FAIL("%s: [%s] \"%s\" must be a WIT reference string or a table", origin, name,
                        topic);
        }
    }
    return 0;
}

/* Rule 1 of §6.4: each [[component]]'s capabilities fs_read, fs_write,
 * host_process, net and net_bind are appended to [capabilities]. */
static int merge_component_caps(astrid_manifest *m, const astrid_toml *comp, const char *o,
                                astrid_err *err)
{
    for (size_t c = 0; comp && c < astrid_toml_len(comp); c++) {
        const astrid_toml *caps = astrid_toml_get(astrid_toml_at(comp, c), "capabilities");
        if (!caps)
            continue;
        char table[64];
        snprintf(table, sizeof table, "component[%zu].capabilities", c);
        if (astrid_toml_type_of(caps) != ASTRID_TOML_TABLE)
            return FAIL("%s: %s must be a table", o, table);
        if (str_array(caps, table, "fs_read", &m->fs_read, o, err) != 0 ||
            str_array(caps, table, "fs_write", &m->fs_write, o, err) != 0 ||
            str_array(caps, table, "host_process", &m->host_process, o, err) != 0 ||
            str_array(caps, table, "net", &m->net, o, err) != 0 ||
            str_array(caps, table, "net_bind", &m->net_bind, o, err) != 0)
            return -1;
    }
    return 0;
}

/* Record one [imports]/[exports] entry; the rules (manifest_rules.c) have
 * already refused malformed ones, so anything odd here is skipped. */
static int add_dep(astrid_manifest *m, bool exports, const char *ns, size_t nslen,
                   const char *iface, const astrid_toml *v, astrid_err *err)
{
    const char *ver = astrid_toml_str(v, NULL);
    bool optional = false;
    if (!ver && astrid_toml_type_of(v) == ASTRID_TOML_TABLE) {
        ver = astrid_toml_str(astrid_toml_get(v, "version"), NULL);
        const astrid_toml *opt = astrid_toml_get(v, "optional");
        optional = opt && astrid_toml_bool(opt);
    }
    if (!ver)
        return 0;
    astrid_manifest_dep **arr = exports ? &m->exports : &m->imports;
    size_t *n = exports ? &m->nexports : &m->nimports;
    astrid_manifest_dep *na = realloc(*arr, (*n + 1) * sizeof *na);
    if (!na)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    *arr = na;
    na[*n] = (astrid_manifest_dep){strndup(ns, nslen), strdup(iface), strdup(ver), optional};
    (*n)++;
    if (!na[*n - 1].ns || !na[*n - 1].iface || !na[*n - 1].version)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    return 0;
}

/* [imports]/[exports]: a "ns:iface" key is the flat v0.6 form, any other
 * key a namespace table of iface = value (the HEAD form). */
static int dep_table(astrid_manifest *m, const astrid_toml *t, bool exports, astrid_err *err)
{
    if (!t || astrid_toml_type_of(t) != ASTRID_TOML_TABLE)
        return 0;
    for (size_t i = 0; i < astrid_toml_len(t); i++) {
        const char *key = astrid_toml_key_at(t, i);
        const astrid_toml *v = astrid_toml_value_at(t, i);
        const char *colon = strchr(key, ':');
        if (colon) {
            if (add_dep(m, exports, key, (size_t)(colon - key), colon + 1, v, err) != 0)
                return -1;
        } else if (astrid_toml_type_of(v) == ASTRID_TOML_TABLE) {
            for (size_t j = 0; j < astrid_toml_len(v); j++)
                if (add_dep(m, exports, key, strlen(key), astrid_toml_key_at(v, j),
                            astrid_toml_value_at(v, j), err) != 0)
                    return -1;
        }
    }
    return 0;
}

static int fill(astrid_manifest *m, const astrid_toml *root, const char *o, astrid_err *err)
{
    const astrid_toml *pkg = astrid_toml_get(root, "package");
    if (!pkg)
        return FAIL("%s: [package] is required", o);
    size_t namelen = 0;
    const char *name = astrid_toml_str(astrid_toml_get(pkg, "name"), &namelen);
    const char *version = astrid_toml_str(astrid_toml_get(pkg, "version"), NULL);
    /* Counted length: a C-string view would stop at an embedded NUL. */
    if (!name || !namelen || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != namelen)
        return FAIL("%s: package.name must be a non-empty string of a-z, 0-9 and '-'", o);
    if (namelen > ASTRID_MANIFEST_NAME_MAX)
        return FAIL("%s: package.name is %zu characters long; at most %d are allowed", o, namelen,
                    ASTRID_MANIFEST_NAME_MAX);
    astrid_semver sv;
    if (!version || astrid_semver_parse(version, &sv, NULL) != 0)
        return FAIL("%s: package.version must be a semantic version (e.g. 0.1.0)", o);
    if (!(m->name = strdup(name)) || !(m->version = strdup(version)) ||
        dup_opt(&m->description, astrid_toml_get(pkg, "description")) != 0)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    const astrid_toml *comp = astrid_toml_get(root, "component");
    if (comp && astrid_toml_len(comp) > 0) {
        const astrid_toml *c0 = astrid_toml_at(comp, 0);
        const char *file = astrid_toml_str(astrid_toml_get(c0, "file"), NULL);
        if (!file)
            file = astrid_toml_str(astrid_toml_get(c0, "entrypoint"), NULL);
        if (!file || !*file || strstr(file, "..") || file[0] == '/')
            return FAIL("%s: component[0].file must be a relative .wasm path inside the capsule",
                        o);
        if (!(m->wasm_file = strdup(file)))
            return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    }
    const astrid_toml *caps = astrid_toml_get(root, "capabilities");
    if (caps) {
        struct {
            const char *key;
            astrid_strv *dst;
        } lists[] = {{"ipc_publish", &m->ipc_publish},
                     {"ipc_subscribe", &m->ipc_subscribe},
                     {"net", &m->net},
                     {"kv", &m->kv},
                     {"fs_read", &m->fs_read},
                     {"fs_write", &m->fs_write},
                     {"identity", &m->identity},
                     {"host_process", &m->host_process},
                     {"net_bind", &m->net_bind}};
        for (size_t i = 0; i < sizeof lists / sizeof *lists; i++)
            if (str_array(caps, "capabilities", lists[i].key, lists[i].dst, o, err) != 0)
                return -1;
        m->uplink = astrid_toml_bool(astrid_toml_get(caps, "uplink"));
        m->allow_prompt_injection =
            astrid_toml_bool(astrid_toml_get(caps, "allow_prompt_injection"));
    }
    if (merge_component_caps(m, comp, o, err) != 0)
        return -1;
    for (size_t i = 0; i < m->ipc_publish.n; i++) {
        astrid_err e2;
        if (astrid_topic_check(m->ipc_publish.v[i], ASTRID_TOPIC_PATTERN, &e2) != 0)
            return FAIL("%s: capabilities.ipc_publish[%zu]: %s", o, i, e2.msg);
    }
    const astrid_toml *imports = astrid_toml_get(root, "imports");
    m->has_imports = imports && astrid_toml_len(imports) > 0;
    if (dep_table(m, imports, false, err) != 0 ||
        dep_table(m, astrid_toml_get(root, "exports"), true, err) != 0)
        return -1;
    /* [[uplink]] entries make a capsule an uplink as much as the flag. */
    const astrid_toml *ups = astrid_toml_get(root, "uplink");
    if (ups && astrid_toml_type_of(ups) == ASTRID_TOML_ARRAY && astrid_toml_len(ups) > 0)
        m->uplink = true;
    if (m->uplink && m->has_imports)
        return FAIL("%s: [imports] is not allowed on uplink capsules", o);
    const astrid_toml *ics = astrid_toml_get(root, "interceptor");
    for (size_t i = 0; ics && i < astrid_toml_len(ics); i++) {
        const astrid_toml *ic = astrid_toml_at(ics, i);
        const char *ev = astrid_toml_str(astrid_toml_get(ic, "event"), NULL);
        const char *ac = astrid_toml_str(astrid_toml_get(ic, "action"), NULL);
        const astrid_toml *pr = astrid_toml_get(ic, "priority");
        if (!ev || !ac)
            return FAIL("%s: interceptor[%zu] needs event and action strings", o, i);
        if (add_interceptor(m, ev, ac, pr ? (int)astrid_toml_int(pr) : 100, false, o, err) != 0)
            return -1;
    }
    if (topic_table(m, astrid_toml_get(root, "publish"), "publish", &m->ipc_publish, o, err) ||
        topic_table(m, astrid_toml_get(root, "subscribe"), "subscribe", &m->ipc_subscribe, o, err))
        return -1;
    const astrid_toml *env = astrid_toml_get(root, "env");
    for (size_t i = 0; env && i < astrid_toml_len(env); i++) {
        const astrid_toml *d = astrid_toml_value_at(env, i);
        const char *type = astrid_toml_str(astrid_toml_get(d, "type"), NULL);
        if (!type)
            return FAIL("%s: env.%s.type is required", o, astrid_toml_key_at(env, i));
        astrid_manifest_env *ne = realloc(m->env, (m->nenv + 1) * sizeof *ne);
        if (!ne)
            return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        m->env = ne;
        ne[m->nenv] = (astrid_manifest_env){strdup(astrid_toml_key_at(env, i)), strdup(type), NULL};
        dup_opt(&ne[m->nenv].default_value, astrid_toml_get(d, "default"));
        m->nenv++;
    }
    if (astrid_manifest_parse_mcp(m, root, o, err) != 0)
        return -1;
    return astrid_manifest_check_rules(m, root, o, err);
}

astrid_manifest *astrid_manifest_parse(const char *text, size_t len, const char *origin,
                                       astrid_err *err)
{
    astrid_toml *root = astrid_toml_parse(text, len, err, NULL);
    if (!root) {
        if (err) {
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s: %s", origin, err->msg);
            snprintf(err->msg, sizeof err->msg, "%s", msg);
        }
        return NULL;
    }
    /* Every manifest string ends up a C string (a name, a path, a topic):
     * one holding a NUL would be silently cut there ("rt-\u0000x" would
     * install as "rt-"), so the document is refused, naming the field. */
    char field[256];
    if (astrid_toml_find_nul(root, field, sizeof field)) {
        astrid_err_set(err, ASTRID_E_INVALID, "%s: %s: must not contain a NUL character (\\u0000)",
                       origin, field);
        astrid_toml_free(root);
        return NULL;
    }
    astrid_manifest *m = calloc(1, sizeof *m);
    if (!m || fill(m, root, origin, err) != 0) {
        if (!m)
            astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        astrid_manifest_free(m);
        m = NULL;
    }
    astrid_toml_free(root);
    return m;
}

astrid_manifest *astrid_manifest_load(const char *path, astrid_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    if (astrid_read_file(path, 1u << 20, &buf, &len, err) != 0)
        return NULL;
    astrid_manifest *m = astrid_manifest_parse(buf, len, path, err);
    free(buf);
    return m;
}

bool astrid_manifest_may_publish(const astrid_manifest *m, const char *topic)
{
    for (size_t i = 0; i < m->ipc_publish.n; i++)
        if (astrid_topic_matches(topic, m->ipc_publish.v[i]))
            return true;
    return false;
}

int astrid_manifest_identity_level(const astrid_manifest *m)
{
    static const char *const levels[] = {"resolve", "link", "admin"};
    int best = -1;
    for (size_t i = 0; i < m->identity.n; i++)
        for (int l = 0; l < 3; l++)
            if (strcmp(m->identity.v[i], levels[l]) == 0 && l > best)
                best = l;
    return best;
}
