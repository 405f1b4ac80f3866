/* meta.json topics[] at install (reference §6.1, §6.7, §15.3): [[topic]]
 * entries with their schema baked in (wit_type from the capsule's wit/,
 * which wins over a `schema` file), and the v0.6 [publish]/[subscribe]
 * entries whose `wit` ref names a local type. See install.h. */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "astrid/fs.h"
#include "astrid/jsonsafe.h"
#include "astrid/toml.h"
#include "astrid/wit_schema.h"
#include "capsule/install.h"

#define SCHEMA_FILE_MAX (1u << 20) /* upstream's cap on a JSON-Schema file */

/* Is `path` (resolved) inside the resolved source directory? A schema
 * file or wit/ reached through a link out of the capsule is not read: the
 * daemon reads sources as the operator's uid, and what it bakes into
 * meta.json any agent can read back through GetCapsuleMetadata. */
static int inside(const char *src_real, const char *path, const char *what, astrid_err *err)
{
    char real[PATH_MAX];
    if (!realpath(path, real))
        return astrid_err_sys(err, "%s", what);
    if (!astrid_install_path_under(real, src_real))
        return astrid_err_set(err, ASTRID_E_PERM, "%s resolves outside the capsule (%s)", what,
                              real);
    return 0;
}

/* A bare kebab-case name: a type of this capsule's wit/. Anything with a
 * namespace, a package path or `@` (`astrid:demo/side`,
 * `@unicity-astrid/wit/...`) and "opaque" are not local. */
static bool local_ref(const char *ref)
{
    if (!*ref || strcmp(ref, "opaque") == 0)
        return false;
    for (const char *p = ref; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
              (*p >= 'A' && *p <= 'Z')))
            return false;
    return true;
}

static json_t *wit_schema(const char *src, const char *src_real, const char *type,
                          const char *field, astrid_err *err)
{
    char dir[PATH_MAX + 8];
    snprintf(dir, sizeof dir, "%s/wit", src);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        astrid_err_set(err, ASTRID_E_NOTFOUND,
                       "%s: WIT type '%s' named but the capsule has no wit/ directory", field,
                       type);
        return NULL;
    }
    astrid_err e2;
    if (inside(src_real, dir, "wit/", &e2) != 0) {
        astrid_err_set(err, e2.code, "%s: %s", field, e2.msg);
        return NULL;
    }
    json_t *s = astrid_wit_schema_from_dir(dir, type, &e2);
    if (!s)
        astrid_err_set(err, e2.code, "%s: %s", field, e2.msg);
    return s;
}

static json_t *file_schema(const char *src, const char *src_real, const char *rel,
                           const char *field, astrid_err *err)
{
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/%s", src, rel);
    char *text = NULL;
    size_t len = 0;
    astrid_err e2;
    if (inside(src_real, path, rel, &e2) != 0 ||
        astrid_read_file(path, SCHEMA_FILE_MAX, &text, &len, &e2) != 0) {
        astrid_err_set(err, e2.code, "%s: %s", field, e2.msg);
        return NULL;
    }
    json_error_t je;
    json_t *s = astrid_json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    free(text);
    if (!json_is_object(s) && !json_is_boolean(s)) {
        astrid_err_set(err, ASTRID_E_INVALID, "%s: %s is not a JSON Schema (%s)", field, rel,
                       s ? "not an object" : je.text);
        json_decref(s);
        return NULL;
    }
    return s;
}

static bool listed(json_t *topics, const char *name, const char *dir)
{
    size_t i;
    json_t *t;
    json_array_foreach(topics, i,
                       t) if (strcmp(json_string_value(json_object_get(t, "name")), name) == 0 &&
                              strcmp(json_string_value(json_object_get(t, "direction")), dir) ==
                                  0) return true;
    return false;
}

json_t *astrid_capsule_topics(const char *toml, size_t len, const char *src, astrid_err *err)
{
    char src_real[PATH_MAX];
    if (!realpath(src, src_real)) {
        astrid_err_sys(err, "%s", src);
        return NULL;
    }
    astrid_toml *root = astrid_toml_parse(toml, len, err, NULL);
    if (!root)
        return NULL;
    /* Every row or none: under ENOMEM a row left out of meta.json would
     * silently drop a topic's schema (fault sweep, issue #18). */
    json_t *topics = json_array();
    if (!topics)
        goto nomem;
    /* [[topic]]: shape already validated by the manifest rules */
    const astrid_toml *ts = astrid_toml_get(root, "topic");
    for (size_t i = 0; ts && i < astrid_toml_len(ts); i++) {
        const astrid_toml *t = astrid_toml_at(ts, i);
        const char *name = astrid_toml_str(astrid_toml_get(t, "name"), NULL);
        const char *dir = astrid_toml_str(astrid_toml_get(t, "direction"), NULL);
        const char *desc = astrid_toml_str(astrid_toml_get(t, "description"), NULL);
        const char *wt = astrid_toml_str(astrid_toml_get(t, "wit_type"), NULL);
        const char *sf = astrid_toml_str(astrid_toml_get(t, "schema"), NULL);
        if (!name || !dir)
            continue;
        json_t *row = json_pack("{s:s,s:s}", "name", name, "direction", dir), *s = NULL;
        if (!row || (desc && json_object_set_new(row, "description", json_string(desc)) != 0)) {
            json_decref(row);
            goto nomem;
        }
        char field[64];
        if (wt && *wt) {
            snprintf(field, sizeof field, "topic[%zu].wit_type", i);
            s = wit_schema(src, src_real, wt, field, err);
        } else if (sf) {
            snprintf(field, sizeof field, "topic[%zu].schema", i);
            s = file_schema(src, src_real, sf, field, err);
        }
        if ((wt && *wt) || sf) {
            if (!s) {
                json_decref(row);
                goto fail;
            }
            if (json_object_set_new(row, "schema", s) != 0) {
                json_decref(row);
                goto nomem;
            }
        }
        if (json_array_append_new(topics, row) != 0)
            goto nomem;
    }
    /* [publish] / [subscribe] refs naming a local type; a [[topic]] entry
     * for the same (name, direction) was explicit and stays */
    static const char *const tables[] = {"publish", "subscribe"};
    for (size_t k = 0; k < 2; k++) {
        const astrid_toml *tb = astrid_toml_get(root, tables[k]);
        if (!tb || astrid_toml_type_of(tb) != ASTRID_TOML_TABLE)
            continue;
        for (size_t i = 0; i < astrid_toml_len(tb); i++) {
            const char *topic = astrid_toml_key_at(tb, i);
            const astrid_toml *v = astrid_toml_value_at(tb, i);
            const char *ref = !v ? NULL
                              : astrid_toml_type_of(v) == ASTRID_TOML_TABLE
                                  ? astrid_toml_str(astrid_toml_get(v, "wit"), NULL)
                                  : astrid_toml_str(v, NULL);
            if (!ref || !local_ref(ref) || listed(topics, topic, tables[k]))
                continue;
            char field[600];
            snprintf(field, sizeof field, "[%s] \"%s\"", tables[k], topic);
            json_t *s = wit_schema(src, src_real, ref, field, err);
            if (!s)
                goto fail;
            if (json_array_append_new(topics, json_pack("{s:s,s:s,s:o}", "name", topic, "direction",
                                                        tables[k], "schema", s)) != 0)
                goto nomem;
        }
    }
    astrid_toml_free(root);
    return topics;
nomem:
    astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
fail:
    astrid_toml_free(root);
    json_decref(topics);
    return NULL;
}
