/* Capsule.toml rules over the TOML tree (see manifest_rules.h). Each
 * message names the field as a TOML path. */
#include "lib/manifest/manifest_rules.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "astrid/topic.h"
#include "astrid/version.h"
#include "lib/manifest/semver.h"

#define FAIL(...) astrid_err_set(err, ASTRID_E_INVALID, __VA_ARGS__)

static int check_version_fields(const astrid_toml *pkg, const char *o, astrid_err *err)
{
    astrid_err e2;
    astrid_semver v;
    const char *version = astrid_toml_str(astrid_toml_get(pkg, "version"), NULL);
    if (!version || astrid_semver_parse(version, &v, &e2) != 0)
        return FAIL("%s: package.version: %s", o,
                    version ? e2.msg : "required, a semantic version (e.g. 0.1.0)");
    const astrid_toml *req = astrid_toml_get(pkg, "astrid-version");
    if (!req)
        return 0;
    const char *r = astrid_toml_str(req, NULL);
    if (astrid_toml_type_of(req) != ASTRID_TOML_STRING || !r)
        return FAIL("%s: package.astrid-version must be a version requirement string", o);
    astrid_semver runtime;
    bool ok = false;
    if (astrid_semver_parse(astrid_version(), &runtime, &e2) != 0 ||
        astrid_semver_req(r, &runtime, &ok, &e2) != 0)
        return FAIL("%s: package.astrid-version: %s", o, e2.msg);
    if (!ok)
        return FAIL("%s: package.astrid-version: this capsule requires Astrid %s; this runtime "
                    "is %s",
                    o, r, astrid_version());
    return 0;
}

/* ^[a-z][a-z0-9-]*$ */
static bool wit_name_ok(const char *s, size_t n)
{
    if (n == 0 || !(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

/* One ImportDef ("<req>" or {version = "<req>", optional = bool}) or
 * ExportDef ("<exact>" or {version = "<exact>"}) at FIELD. */
static int check_def(const astrid_toml *v, bool import, const char *field, const char *o,
                     astrid_err *err)
{
    const astrid_toml *ver = v;
    if (astrid_toml_type_of(v) == ASTRID_TOML_TABLE) {
        ver = astrid_toml_get(v, "version");
        const astrid_toml *opt = astrid_toml_get(v, "optional");
        if (import && opt && astrid_toml_type_of(opt) != ASTRID_TOML_BOOL)
            return FAIL("%s: %s.optional must be a boolean", o, field);
        if (!import && opt)
            return FAIL("%s: %s.optional: only imports can be optional", o, field);
    }
    const char *s =
        ver && astrid_toml_type_of(ver) == ASTRID_TOML_STRING ? astrid_toml_str(ver, NULL) : NULL;
    if (!s)
        return FAIL("%s: %s must be a version string or a table with version = \"...\"", o, field);
    astrid_err e2;
    astrid_semver sv;
    if (import ? astrid_semver_req(s, NULL, NULL, &e2) : astrid_semver_parse(s, &sv, &e2))
        return FAIL("%s: %s: %s%s", o, field, e2.msg,
                    import ? "" : " (an export names an exact version)");
    return 0;
}

/* [imports]/[exports]: nested [T.ns] iface = def, or flat "ns:iface" = def
 * (v0.6), mixed in one table. */
static int check_iface_table(const astrid_toml *root, const char *table, const char *o,
                             astrid_err *err)
{
    const astrid_toml *t = astrid_toml_get(root, table);
    if (!t)
        return 0;
    if (astrid_toml_type_of(t) != ASTRID_TOML_TABLE)
        return FAIL("%s: [%s] must be a table", o, table);
    bool import = strcmp(table, "imports") == 0;
    char field[600];
    for (size_t i = 0; i < astrid_toml_len(t); i++) {
        const char *key = astrid_toml_key_at(t, i);
        const astrid_toml *v = astrid_toml_value_at(t, i);
        const char *colon = strchr(key, ':');
        if (colon) {
            snprintf(field, sizeof field, "%s.\"%s\"", table, key);
            if (!wit_name_ok(key, (size_t)(colon - key)) ||
                !wit_name_ok(colon + 1, strlen(colon + 1)))
                return FAIL("%s: %s: namespace and interface must match ^[a-z][a-z0-9-]*$", o,
                            field);
            if (check_def(v, import, field, o, err) != 0)
                return -1;
            continue;
        }
        if (!wit_name_ok(key, strlen(key)))
            return FAIL("%s: %s.%s: namespace must match ^[a-z][a-z0-9-]*$", o, table, key);
        if (astrid_toml_type_of(v) != ASTRID_TOML_TABLE)
            return FAIL("%s: %s.%s must be a table of interfaces (or use a \"namespace:interface\" "
                        "key)",
                        o, table, key);
        for (size_t j = 0; j < astrid_toml_len(v); j++) {
            const char *iface = astrid_toml_key_at(v, j);
            snprintf(field, sizeof field, "%s.%s.%s", table, key, iface);
            if (!wit_name_ok(iface, strlen(iface)))
                return FAIL("%s: %s: interface must match ^[a-z][a-z0-9-]*$", o, field);
            if (check_def(astrid_toml_value_at(v, j), import, field, o, err) != 0)
                return -1;
        }
    }
    return 0;
}

/* A [[topic]] name: not "*", a trailing ".*" only, otherwise ASCII
 * alphanumerics, '-', '_' and '.'. */
static int check_topic_name(const char *name, size_t i, const char *o, astrid_err *err)
{
    if (strcmp(name, "*") == 0)
        return FAIL("%s: topic[%zu].name: '*' is too broad (name a topic or a family a.b.*)", o, i);
    size_t n = strlen(name);
    size_t body = n >= 2 && strcmp(name + n - 2, ".*") == 0 ? n - 2 : n;
    for (size_t k = 0; k < body; k++) {
        unsigned char c = (unsigned char)name[k];
        if (c == '*')
            return FAIL("%s: topic[%zu].name '%s': only a trailing .* wildcard is allowed", o, i,
                        name);
        if (!isalnum(c) && c != '-' && c != '_' && c != '.')
            return FAIL("%s: topic[%zu].name '%s': only ASCII letters, digits, '-', '_' and '.'", o,
                        i, name);
    }
    astrid_err e2;
    if (astrid_topic_check(name, ASTRID_TOPIC_SUBSCRIBE, &e2) != 0)
        return FAIL("%s: topic[%zu].name '%s': %s", o, i, name, e2.msg);
    return 0;
}

static int check_topics(const astrid_toml *root, const char *o, astrid_err *err)
{
    const astrid_toml *ts = astrid_toml_get(root, "topic");
    if (!ts)
        return 0;
    if (astrid_toml_type_of(ts) != ASTRID_TOML_ARRAY)
        return FAIL("%s: [[topic]] must be an array of tables", o);
    for (size_t i = 0; i < astrid_toml_len(ts); i++) {
        const astrid_toml *t = astrid_toml_at(ts, i);
        const char *name = astrid_toml_str(astrid_toml_get(t, "name"), NULL);
        const char *dir = astrid_toml_str(astrid_toml_get(t, "direction"), NULL);
        const astrid_toml *schema = astrid_toml_get(t, "schema");
        if (astrid_toml_type_of(t) != ASTRID_TOML_TABLE || !name)
            return FAIL("%s: topic[%zu].name is required (a string)", o, i);
        if (check_topic_name(name, i, o, err) != 0)
            return -1;
        if (!dir || (strcmp(dir, "publish") != 0 && strcmp(dir, "subscribe") != 0))
            return FAIL("%s: topic[%zu].direction must be \"publish\" or \"subscribe\"", o, i);
        if (schema) {
            const char *s = astrid_toml_str(schema, NULL);
            if (astrid_toml_type_of(schema) != ASTRID_TOML_STRING || !*s || s[0] == '/' ||
                strstr(s, ".."))
                return FAIL("%s: topic[%zu].schema must be a relative path without '..'", o, i);
        }
        for (size_t j = 0; j < i; j++) {
            const astrid_toml *p = astrid_toml_at(ts, j);
            const char *pn = astrid_toml_str(astrid_toml_get(p, "name"), NULL);
            const char *pd = astrid_toml_str(astrid_toml_get(p, "direction"), NULL);
            if (pn && pd && strcmp(pn, name) == 0 && strcmp(pd, dir) == 0)
                return FAIL("%s: topic[%zu]: duplicate (name, direction) ('%s', %s), first at "
                            "topic[%zu]",
                            o, i, name, dir, j);
        }
    }
    return 0;
}

/* Ours, fail closed: entries the identity gate would silently ignore. */
static int check_identity(const astrid_manifest *m, const char *o, astrid_err *err)
{
    for (size_t i = 0; i < m->identity.n; i++) {
        const char *s = m->identity.v[i];
        if (strcmp(s, "resolve") != 0 && strcmp(s, "link") != 0 && strcmp(s, "admin") != 0)
            return FAIL("%s: capabilities.identity[%zu]: '%s' is not one of resolve, link, "
                        "admin",
                        o, i, s);
    }
    return 0;
}

static const char *req_str(const astrid_toml *t, const char *key)
{
    const char *s = astrid_toml_str(astrid_toml_get(t, key), NULL);
    return s && *s ? s : NULL;
}

/* [[uplink]] {name, platform, profile} and [[tool]] {name,
 * description_for_llm}: required fields, the profile set. */
static int check_uplinks_tools(const astrid_toml *root, const char *o, astrid_err *err)
{
    static const char *const profiles[] = {"chat", "interactive", "notify", "bridge"};
    const astrid_toml *ups = astrid_toml_get(root, "uplink");
    for (size_t i = 0; ups && i < astrid_toml_len(ups); i++) {
        const astrid_toml *u = astrid_toml_at(ups, i);
        if (!req_str(u, "name") || !req_str(u, "platform"))
            return FAIL("%s: uplink[%zu] needs name and platform strings", o, i);
        const char *p = req_str(u, "profile");
        bool ok = false;
        for (size_t k = 0; p && k < sizeof profiles / sizeof *profiles; k++)
            ok = ok || strcmp(p, profiles[k]) == 0;
        if (!ok)
            return FAIL("%s: uplink[%zu].profile must be chat, interactive, notify or bridge", o,
                        i);
    }
    const astrid_toml *tools = astrid_toml_get(root, "tool");
    for (size_t i = 0; tools && i < astrid_toml_len(tools); i++) {
        const astrid_toml *t = astrid_toml_at(tools, i);
        if (!req_str(t, "name"))
            return FAIL("%s: tool[%zu].name is required", o, i);
        if (!req_str(t, "description_for_llm"))
            return FAIL("%s: tool[%zu].description_for_llm is required (what the model is told)", o,
                        i);
        const astrid_toml *mut = astrid_toml_get(t, "mutable");
        if (mut && astrid_toml_type_of(mut) != ASTRID_TOML_BOOL)
            return FAIL("%s: tool[%zu].mutable must be a boolean", o, i);
    }
    return 0;
}

int astrid_manifest_check_rules(const astrid_manifest *m, const astrid_toml *root,
                                const char *origin, astrid_err *err)
{
    if (check_version_fields(astrid_toml_get(root, "package"), origin, err) != 0 ||
        check_iface_table(root, "imports", origin, err) != 0 ||
        check_iface_table(root, "exports", origin, err) != 0 ||
        check_topics(root, origin, err) != 0 || check_identity(m, origin, err) != 0 ||
        check_uplinks_tools(root, origin, err) != 0)
        return -1;
    return 0;
}
