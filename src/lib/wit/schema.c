/* WIT -> JSON Schema. See astrid/wit_schema.h. Recursion depth is bounded
 * by the parser (ASTRID_WIT_MAX_DEPTH, named types included); the node
 * budget bounds the width. */
#include "astrid/wit_schema.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "astrid/fs.h"

typedef struct gen {
    size_t nodes;
    astrid_err *err;
    bool failed;
} gen;

void astrid_wit_snake(const char *name, char *out, size_t n)
{
    size_t j = 0;
    if (!n)
        return;
    if (name[0] == '%') /* WIT's escape for a keyword used as a name */
        name++;
    for (size_t i = 0; name[i] && j + 1 < n; i++) {
        char c = name[i];
        out[j++] = c == '-' ? '_' : (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    out[j] = '\0';
}

static json_t *node(gen *g)
{
    if (g->failed)
        return NULL;
    if (++g->nodes > ASTRID_WIT_SCHEMA_MAX_NODES) {
        g->failed = true;
        astrid_err_set(g->err, ASTRID_E_LIMIT, "WIT type expands to more than %d JSON Schema nodes",
                       ASTRID_WIT_SCHEMA_MAX_NODES);
        return NULL;
    }
    json_t *o = json_object();
    if (!o) {
        g->failed = true;
        astrid_err_set(g->err, ASTRID_E_NOMEM, "out of memory");
    }
    return o;
}

static json_t *snake_str(const char *name)
{
    char s[ASTRID_WIT_MAX_IDENT + 2];
    astrid_wit_snake(name, s, sizeof s);
    return json_string(s);
}

static json_t *gen_type(gen *g, const astrid_wit_type *t);
static json_t *gen_def(gen *g, const astrid_wit_typedef *d);

static json_t *integer(gen *g, long long min, long long max, bool has_max)
{
    json_t *o = node(g);
    if (o) {
        json_object_set_new(o, "type", json_string("integer"));
        json_object_set_new(o, "minimum", json_integer(min));
        if (has_max)
            json_object_set_new(o, "maximum", json_integer(max));
    }
    return o;
}

static json_t *typed(gen *g, const char *type)
{
    json_t *o = node(g);
    if (o)
        json_object_set_new(o, "type", json_string(type));
    return o;
}

/* {"<key>": payload} with nothing else: serde's externally tagged form of
 * a variant case / a result arm. */
static json_t *tagged(gen *g, const char *key, json_t *payload)
{
    json_t *o = node(g), *props = json_object(), *req = json_array();
    if (!o || !payload) {
        json_decref(o), json_decref(props), json_decref(req), json_decref(payload);
        return NULL;
    }
    json_object_set_new(props, key, payload);
    json_array_append_new(req, json_string(key));
    json_object_set_new(o, "type", json_string("object"));
    json_object_set_new(o, "properties", props);
    json_object_set_new(o, "required", req);
    json_object_set_new(o, "additionalProperties", json_false());
    return o;
}

static json_t *gen_record(gen *g, const astrid_wit_typedef *d)
{
    json_t *o = node(g), *props = json_object(), *req = json_array();
    if (!o) {
        json_decref(props), json_decref(req);
        return NULL;
    }
    json_object_set_new(o, "type", json_string("object"));
    for (size_t i = 0; i < d->nfields; i++) {
        const astrid_wit_field *f = &d->fields[i];
        json_t *s = gen_type(g, f->type);
        if (!s)
            goto fail;
        if (f->doc)
            json_object_set_new(s, "description", json_string(f->doc));
        char key[ASTRID_WIT_MAX_IDENT + 2];
        astrid_wit_snake(f->name, key, sizeof key);
        json_object_set_new(props, key, s);
        /* an option<T> field may be left out (serde's Option default) */
        const astrid_wit_type *u = astrid_wit_unalias(f->type);
        if (!u || u->kind != ASTRID_WIT_OPTION)
            json_array_append_new(req, json_string(key));
    }
    json_object_set_new(o, "properties", props);
    json_object_set_new(o, "required", req);
    return o;
fail:
    json_decref(o), json_decref(props), json_decref(req);
    return NULL;
}

static json_t *gen_names(gen *g, const astrid_wit_typedef *d)
{
    json_t *e = json_array();
    for (size_t i = 0; i < d->nfields; i++)
        json_array_append_new(e, snake_str(d->fields[i].name));
    return e;
}

static json_t *gen_variant(gen *g, const astrid_wit_typedef *d)
{
    json_t *o = node(g), *one = json_array();
    if (!o) {
        json_decref(one);
        return NULL;
    }
    for (size_t i = 0; i < d->nfields; i++) {
        const astrid_wit_field *f = &d->fields[i];
        char key[ASTRID_WIT_MAX_IDENT + 2];
        astrid_wit_snake(f->name, key, sizeof key);
        json_t *c;
        if (!f->type) { /* no payload: the bare case name */
            c = node(g);
            if (c)
                json_object_set_new(c, "const", json_string(key));
        } else {
            c = tagged(g, key, gen_type(g, f->type));
        }
        if (!c) {
            json_decref(o), json_decref(one);
            return NULL;
        }
        if (f->doc)
            json_object_set_new(c, "description", json_string(f->doc));
        json_array_append_new(one, c);
    }
    json_object_set_new(o, "oneOf", one);
    return o;
}

static json_t *gen_def(gen *g, const astrid_wit_typedef *d)
{
    json_t *o = NULL;
    switch (d->kind) {
    case ASTRID_WIT_RECORD:
        return gen_record(g, d);
    case ASTRID_WIT_ENUM:
        if ((o = typed(g, "string")))
            json_object_set_new(o, "enum", gen_names(g, d));
        return o;
    case ASTRID_WIT_FLAGS: {
        /* the set flags, by name */
        json_t *items = node(g);
        if (!items || !(o = typed(g, "array"))) {
            json_decref(items);
            return NULL;
        }
        json_object_set_new(items, "enum", gen_names(g, d));
        json_object_set_new(o, "items", items);
        json_object_set_new(o, "uniqueItems", json_true());
        return o;
    }
    case ASTRID_WIT_VARIANT:
        return gen_variant(g, d);
    case ASTRID_WIT_ALIAS:
        return gen_type(g, d->target);
    }
    return NULL;
}

static json_t *gen_type(gen *g, const astrid_wit_type *t)
{
    json_t *o = NULL;
    switch (t->kind) {
    case ASTRID_WIT_BOOL:
        return typed(g, "boolean");
    case ASTRID_WIT_U8:
        return integer(g, 0, 255, true);
    case ASTRID_WIT_U16:
        return integer(g, 0, 65535, true);
    case ASTRID_WIT_U32:
        return integer(g, 0, 4294967295LL, true);
    case ASTRID_WIT_U64: /* no exact JSON maximum: 2^64-1 is not an i64 */
        return integer(g, 0, 0, false);
    case ASTRID_WIT_S8:
        return integer(g, -128, 127, true);
    case ASTRID_WIT_S16:
        return integer(g, -32768, 32767, true);
    case ASTRID_WIT_S32:
        return integer(g, -2147483648LL, 2147483647LL, true);
    case ASTRID_WIT_S64:
        return typed(g, "integer");
    case ASTRID_WIT_F32:
    case ASTRID_WIT_F64:
        return typed(g, "number");
    case ASTRID_WIT_CHAR: /* one Unicode scalar value; lengths count code points */
        if ((o = typed(g, "string"))) {
            json_object_set_new(o, "minLength", json_integer(1));
            json_object_set_new(o, "maxLength", json_integer(1));
        }
        return o;
    case ASTRID_WIT_STRING:
        return typed(g, "string");
    case ASTRID_WIT_LIST: {
        json_t *items = gen_type(g, t->elem);
        if (!items || !(o = typed(g, "array"))) {
            json_decref(items);
            return NULL;
        }
        json_object_set_new(o, "items", items);
        return o;
    }
    case ASTRID_WIT_OPTION: { /* serde: the value or null */
        json_t *some = gen_type(g, t->elem), *none = typed(g, "null"), *any = json_array();
        if (!some || !none || !(o = node(g))) {
            json_decref(some), json_decref(none), json_decref(any);
            return NULL;
        }
        json_array_append_new(any, some);
        json_array_append_new(any, none);
        json_object_set_new(o, "anyOf", any);
        return o;
    }
    case ASTRID_WIT_RESULT: { /* serde: {"ok": T} or {"err": E}; a missing side is null */
        json_t *ok = t->ok ? gen_type(g, t->ok) : typed(g, "null");
        json_t *okc = tagged(g, "ok", ok);
        json_t *er = t->err ? gen_type(g, t->err) : typed(g, "null");
        json_t *erc = tagged(g, "err", er);
        json_t *one = json_array();
        if (!okc || !erc || !(o = node(g))) {
            json_decref(okc), json_decref(erc), json_decref(one);
            return NULL;
        }
        json_array_append_new(one, okc);
        json_array_append_new(one, erc);
        json_object_set_new(o, "oneOf", one);
        return o;
    }
    case ASTRID_WIT_TUPLE: {
        json_t *pre = json_array();
        for (size_t i = 0; i < t->nitems; i++) {
            json_t *s = gen_type(g, t->items[i]);
            if (!s) {
                json_decref(pre);
                return NULL;
            }
            json_array_append_new(pre, s);
        }
        if (!(o = typed(g, "array"))) {
            json_decref(pre);
            return NULL;
        }
        json_object_set_new(o, "prefixItems", pre);
        json_object_set_new(o, "items", json_false());
        json_object_set_new(o, "minItems", json_integer((json_int_t)t->nitems));
        json_object_set_new(o, "maxItems", json_integer((json_int_t)t->nitems));
        return o;
    }
    case ASTRID_WIT_NAMED:
        if ((o = gen_def(g, t->def)) && t->def->doc && !json_object_get(o, "description"))
            json_object_set_new(o, "description", json_string(t->def->doc));
        return o;
    }
    return NULL;
}

json_t *astrid_wit_schema_type(const astrid_wit_type *t, astrid_err *err)
{
    gen g = {.err = err};
    json_t *o = gen_type(&g, t);
    if (g.failed) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *astrid_wit_schema_def(const astrid_wit_typedef *d, astrid_err *err)
{
    gen g = {.err = err};
    json_t *o = gen_def(&g, d);
    if (g.failed || !o) {
        json_decref(o);
        if (!g.failed)
            astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        return NULL;
    }
    json_object_set_new(o, "title", json_string(d->name));
    if (d->doc)
        json_object_set_new(o, "description", json_string(d->doc));
    return o;
}

const astrid_wit_typedef *astrid_wit_find_def(const astrid_wit_package *pkg, const char *name)
{
    for (size_t i = 0; i < pkg->nifaces; i++)
        for (size_t j = 0; j < pkg->ifaces[i]->ntypes; j++)
            if (strcmp(pkg->ifaces[i]->types[j]->name, name) == 0)
                return pkg->ifaces[i]->types[j];
    for (size_t i = 0; i < pkg->nworlds; i++)
        for (size_t j = 0; j < pkg->worlds[i]->ntypes; j++)
            if (strcmp(pkg->worlds[i]->types[j]->name, name) == 0)
                return pkg->worlds[i]->types[j];
    return NULL;
}

typedef struct walk {
    const char *name;
    json_t *found;
    char where[512];
    char refused[768]; /* the first file our parser refused */
    size_t files;
    astrid_err *err;
    bool failed;
} walk;

/* deps: at the top, skipped on the first pass (the capsule's own files
 * first, so a name it shares with a dependency such as
 * wit/deps/astrid/astrid.wit is its own) */
static void walk_dir(walk *w, const char *root, const char *rel, int depth, bool skip_deps)
{
    char path[4200];
    snprintf(path, sizeof path, "%s%s%s", root, *rel ? "/" : "", rel);
    DIR *d = depth <= 8 ? opendir(path) : NULL;
    if (!d)
        return;
    struct dirent *de;
    while (!w->failed && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char sub[4200], full[8500];
        snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
        snprintf(full, sizeof full, "%s/%s", root, sub);
        struct stat st;
        size_t nl = strlen(de->d_name);
        if (lstat(full, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (!(skip_deps && depth == 0 && strcmp(de->d_name, "deps") == 0))
                walk_dir(w, root, sub, depth + 1, false);
            continue;
        }
        if (!S_ISREG(st.st_mode) || nl < 5 || strcmp(de->d_name + nl - 4, ".wit") != 0)
            continue;
        if (++w->files > ASTRID_WIT_SCHEMA_MAX_FILES) {
            w->failed = true;
            astrid_err_set(w->err, ASTRID_E_LIMIT, "%s: more than %d .wit files", root,
                           ASTRID_WIT_SCHEMA_MAX_FILES);
            break;
        }
        char *text = NULL;
        size_t len = 0;
        astrid_err e2;
        astrid_wit_package *pkg = NULL;
        if (astrid_read_file(full, ASTRID_WIT_MAX_INPUT, &text, &len, &e2) != 0 ||
            !(pkg = astrid_wit_parse(text, len, &e2))) {
            if (!w->refused[0])
                snprintf(w->refused, sizeof w->refused, "wit/%s: %s", sub, e2.msg);
            free(text);
            continue;
        }
        const astrid_wit_typedef *def = astrid_wit_find_def(pkg, w->name);
        if (def && w->found) {
            w->failed = true;
            astrid_err_set(w->err, ASTRID_E_INVALID,
                           "WIT type '%s' is defined in both %s and wit/%s: ambiguous", w->name,
                           w->where, sub);
        } else if (def) {
            snprintf(w->where, sizeof w->where, "wit/%s", sub);
            if (!(w->found = astrid_wit_schema_def(def, w->err)))
                w->failed = true;
        }
        astrid_wit_free(pkg);
        free(text);
    }
    closedir(d);
}

json_t *astrid_wit_schema_from_dir(const char *dir, const char *name, astrid_err *err)
{
    walk w = {.name = name, .err = err};
    walk_dir(&w, dir, "", 0, true);
    if (!w.failed && !w.found)
        walk_dir(&w, dir, "deps", 1, false);
    if (w.failed) {
        json_decref(w.found);
        return NULL;
    }
    if (!w.found) {
        if (w.refused[0])
            astrid_err_set(err, ASTRID_E_NOTFOUND,
                           "WIT type '%s' not found under wit/ (a file was not read: %s)", name,
                           w.refused);
        else
            astrid_err_set(err, ASTRID_E_NOTFOUND, "WIT type '%s' not found under wit/", name);
    }
    return w.found;
}
