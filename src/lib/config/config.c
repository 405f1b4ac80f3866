/* Layered configuration: load, merge, tighten-only workspace, sources
 * (config.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "astrid/home.h"
#include "astrid/toml.h"
#include "lib/config/config.h"

struct astrid_config {
    astrid_config_value *v; /* astrid_config_nkeys, parallel to the schema */
    bool present[ASTRID_CFG_NLAYERS];
};

static const char *const layer_names[ASTRID_CFG_NLAYERS] = {"defaults", "system", "home",
                                                            "workspace", "env"};

const char *astrid_config_layer_name(astrid_config_layer l)
{
    return (unsigned)l < ASTRID_CFG_NLAYERS ? layer_names[l] : "?";
}

static const char *type_name(astrid_config_type t)
{
    switch (t) {
    case ASTRID_CFG_INT:
        return "an integer";
    case ASTRID_CFG_FLOAT:
        return "a number";
    case ASTRID_CFG_BOOL:
        return "a boolean";
    case ASTRID_CFG_ENUM:
        return "a string";
    case ASTRID_CFG_STRLIST:
        return "an array of strings";
    }
    return "?";
}

/* "an integer", "a table": a TOML type name with its article. */
static void with_article(const char *tn, char *out, size_t n)
{
    snprintf(out, n, "%s %s", strchr("aeiou", tn[0]) ? "an" : "a", tn);
}

/* ---- lookups ---------------------------------------------------------------- */

static ssize_t key_index(const char *section, size_t seclen, const char *name)
{
    for (size_t i = 0; i < astrid_config_nkeys; i++) {
        const astrid_config_key *k = &astrid_config_schema[i];
        if (strlen(k->section) == seclen && strncmp(k->section, section, seclen) == 0 &&
            strcmp(k->name, name) == 0)
            return (ssize_t)i;
    }
    return -1;
}

static ssize_t dotted_index(const char *dotted)
{
    if (!dotted)
        return -1;
    const char *dot = strrchr(dotted, '.');
    if (!dot)
        return -1;
    return key_index(dotted, (size_t)(dot - dotted), dot + 1);
}

const astrid_config_key *astrid_config_key_find(const char *dotted)
{
    ssize_t i = dotted_index(dotted);
    return i < 0 ? NULL : &astrid_config_schema[i];
}

const astrid_config_value *astrid_config_get(const astrid_config *c, const char *dotted)
{
    ssize_t i = dotted_index(dotted);
    return c && i >= 0 ? &c->v[i] : NULL;
}

/* A NULL config reads the schema's defaults: code that runs on a kernel
 * struct built without a boot (unit tests) keeps the documented values. */
int64_t astrid_config_int(const astrid_config *c, const char *dotted)
{
    ssize_t i = dotted_index(dotted);
    if (i < 0)
        return 0;
    return c ? c->v[i].i : astrid_config_schema[i].def_int;
}

double astrid_config_float(const astrid_config *c, const char *dotted)
{
    ssize_t i = dotted_index(dotted);
    if (i < 0)
        return 0;
    return c ? c->v[i].f : astrid_config_schema[i].def_float;
}

bool astrid_config_bool(const astrid_config *c, const char *dotted)
{
    ssize_t i = dotted_index(dotted);
    if (i < 0)
        return false;
    return c ? c->v[i].b : astrid_config_schema[i].def_bool;
}

const char *astrid_config_enum(const astrid_config *c, const char *dotted)
{
    ssize_t i = dotted_index(dotted);
    if (i < 0 || astrid_config_schema[i].type != ASTRID_CFG_ENUM)
        return "";
    return astrid_config_schema[i].choices[c ? c->v[i].choice : astrid_config_schema[i].def_choice];
}

const char *const *astrid_config_list(const astrid_config *c, const char *dotted, size_t *n)
{
    ssize_t i = dotted_index(dotted);
    *n = 0;
    if (i < 0)
        return NULL;
    if (c) {
        *n = c->v[i].nlist;
        return (const char *const *)c->v[i].list;
    }
    const char *const *d = astrid_config_schema[i].def_list;
    while (d && d[*n])
        (*n)++;
    return d;
}

bool astrid_config_layer_present(const astrid_config *c, astrid_config_layer l)
{
    return (unsigned)l < ASTRID_CFG_NLAYERS && c->present[l];
}

void astrid_config_source(const astrid_config_value *v, char *out, size_t n)
{
    if (v->layer == ASTRID_CFG_DEFAULTS)
        snprintf(out, n, "defaults");
    else if (v->layer == ASTRID_CFG_ENV)
        snprintf(out, n, "env %s", v->where);
    else if (v->line > 0)
        snprintf(out, n, "%s:%d", v->where, v->line);
    else
        snprintf(out, n, "%s", v->where);
}

/* ---- values ------------------------------------------------------------------- */

static void list_free(char **l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

void astrid_config_free(astrid_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < astrid_config_nkeys && c->v; i++)
        list_free(c->v[i].list, c->v[i].nlist);
    free(c->v);
    free(c);
}

static int set_defaults(astrid_config *c, astrid_err *err)
{
    for (size_t i = 0; i < astrid_config_nkeys; i++) {
        const astrid_config_key *k = &astrid_config_schema[i];
        astrid_config_value *v = &c->v[i];
        v->layer = ASTRID_CFG_DEFAULTS;
        v->i = k->def_int;
        v->f = k->def_float;
        v->b = k->def_bool;
        v->choice = k->def_choice;
        size_t n = 0;
        while (k->def_list && k->def_list[n])
            n++;
        if (n) {
            v->list = calloc(n, sizeof *v->list);
            if (!v->list)
                return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
            for (size_t j = 0; j < n; j++)
                if (!(v->list[v->nlist++] = strdup(k->def_list[j])))
                    return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        }
    }
    return 0;
}

/* Text of a value for messages: 5, 2.5, true, "off", ["a", "b"]. */
static void value_text(const astrid_config_key *k, const astrid_config_value *v, char *out,
                       size_t n)
{
    switch (k->type) {
    case ASTRID_CFG_INT:
        snprintf(out, n, "%lld", (long long)v->i);
        break;
    case ASTRID_CFG_FLOAT:
        snprintf(out, n, "%g", v->f);
        break;
    case ASTRID_CFG_BOOL:
        snprintf(out, n, "%s", v->b ? "true" : "false");
        break;
    case ASTRID_CFG_ENUM:
        snprintf(out, n, "\"%s\"", k->choices[v->choice]);
        break;
    case ASTRID_CFG_STRLIST: {
        size_t o = (size_t)snprintf(out, n, "[");
        for (size_t i = 0; i < v->nlist && o < n; i++)
            o += (size_t)snprintf(out + o, n - o, "%s\"%.80s\"", i ? ", " : "", v->list[i]);
        if (o < n)
            snprintf(out + o, n - o, "]");
        break;
    }
    }
}

/* ---- tighten-only ---------------------------------------------------------------- */

static bool list_has(const astrid_config_value *v, const char *s)
{
    for (size_t i = 0; i < v->nlist; i++)
        if (strcmp(v->list[i], s) == 0)
            return true;
    return false;
}

/* 0 when `nv` (workspace) is at least as strict as `base` (the layers
 * below); else -1 with the key and both values named. */
static int check_tighten(const astrid_config_key *k, const astrid_config_value *base,
                         const astrid_config_value *nv, astrid_err *err)
{
    char src[400], a[160], b[160];
    astrid_config_source(base, src, sizeof src);
    value_text(k, nv, a, sizeof a);
    value_text(k, base, b, sizeof b);
    char detail[400] = "";
    switch (k->tighten) {
    case ASTRID_TIGHT_NEVER:
        return astrid_err_set(err, ASTRID_E_PERM,
                              "workspace config may not set %s.%s (an operator setting: put it "
                              "in the system or home config)",
                              k->section, k->name);
    case ASTRID_TIGHT_LOWER:
        if (k->type == ASTRID_CFG_FLOAT ? nv->f > base->f : nv->i > base->i)
            snprintf(detail, sizeof detail, "%s > %s", a, b);
        break;
    case ASTRID_TIGHT_LOWER_0_UNLIMITED: {
        double x = k->type == ASTRID_CFG_FLOAT ? nv->f : (double)nv->i;
        double y = k->type == ASTRID_CFG_FLOAT ? base->f : (double)base->i;
        if (y != 0 && (x == 0 || x > y))
            snprintf(detail, sizeof detail, "%s%s > %s", a, x == 0 ? " (unlimited)" : "", b);
        break;
    }
    case ASTRID_TIGHT_TRUE:
        if (base->b && !nv->b)
            snprintf(detail, sizeof detail, "false is looser than true");
        break;
    case ASTRID_TIGHT_ENUM:
        if (nv->choice > base->choice)
            snprintf(detail, sizeof detail, "%s is looser than %s", a, b);
        break;
    case ASTRID_TIGHT_SUPERSET:
        for (size_t i = 0; i < base->nlist && !detail[0]; i++)
            if (!list_has(nv, base->list[i]))
                snprintf(detail, sizeof detail, "it drops \"%.120s\" of %s", base->list[i], b);
        break;
    case ASTRID_TIGHT_SUBSET:
        if (base->nlist == 0)
            break; /* anything is at least as strict as "anything" */
        if (nv->nlist == 0)
            snprintf(detail, sizeof detail, "[] (anything) is looser than %s", b);
        for (size_t i = 0; i < nv->nlist && !detail[0]; i++)
            if (!list_has(base, nv->list[i]))
                snprintf(detail, sizeof detail, "\"%.120s\" is not in %s", nv->list[i], b);
        break;
    }
    if (!detail[0])
        return 0;
    return astrid_err_set(err, ASTRID_E_PERM,
                          "workspace config may only tighten %s.%s: %s (from %s)", k->section,
                          k->name, detail, src);
}

/* ---- files ------------------------------------------------------------------------- */

/* The 1-based line where `section`.`name` is set in `text`, or 0. The tree
 * keeps no positions; the schema has two levels of plain keys, so a scan of
 * table headers and `key =` lines finds it (a key inside a multi-line value
 * could fool it; the line is then only a hint). */
static void norm_key(const char *s, size_t n, char *out, size_t outsz)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < outsz; i++)
        if (!isspace((unsigned char)s[i]) && s[i] != '"' && s[i] != '\'')
            out[o++] = s[i];
    out[o] = '\0';
}

static int locate(const char *text, const char *section, const char *name)
{
    char want[256], cur[256] = "", key[256], full[520];
    snprintf(want, sizeof want, "%s%s%s", section, section[0] ? "." : "", name);
    int line = 1;
    for (const char *p = text; *p; line++) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        const char *s = p;
        while (s < p + len && isspace((unsigned char)*s))
            s++;
        if (s < p + len && *s == '[' && s + 1 < p + len && s[1] != '[') {
            const char *close = memchr(s, ']', (size_t)(p + len - s));
            if (close)
                norm_key(s + 1, (size_t)(close - s - 1), cur, sizeof cur);
            if (close && strcmp(cur, want) == 0)
                return line;
        } else if (s < p + len && *s != '#') {
            const char *eq = memchr(s, '=', (size_t)(p + len - s));
            if (eq) {
                norm_key(s, (size_t)(eq - s), key, sizeof key);
                snprintf(full, sizeof full, "%s%s%s", cur, cur[0] ? "." : "", key);
                if (strcmp(full, want) == 0)
                    return line;
            }
        }
        if (!e)
            break;
        p = e + 1;
    }
    return 0;
}

typedef struct file_ctx {
    astrid_config *c;
    astrid_config_layer layer;
    const char *label; /* the file as messages name it */
    const char *text;
    astrid_config_value *base; /* the merge of the layers below (workspace only) */
} file_ctx;

static int ferr(const file_ctx *f, int line, astrid_errcode code, astrid_err *err, const char *fmt,
                ...) __attribute__((format(printf, 5, 6)));
static int ferr(const file_ctx *f, int line, astrid_errcode code, astrid_err *err, const char *fmt,
                ...)
{
    char msg[ASTRID_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (line > 0)
        return astrid_err_set(err, code, "%s:%d: %s", f->label, line, msg);
    return astrid_err_set(err, code, "%s: %s", f->label, msg);
}

/* A TOML value into `out` (type and range checked). */
static int from_toml(const file_ctx *f, const astrid_config_key *k, const astrid_toml *t, int line,
                     astrid_config_value *out, astrid_err *err)
{
    astrid_toml_type tt = astrid_toml_type_of(t);
    char tn[40];
    with_article(astrid_toml_type_name(tt), tn, sizeof tn);
    switch (k->type) {
    case ASTRID_CFG_INT:
        if (tt != ASTRID_TOML_INTEGER)
            return ferr(f, line, ASTRID_E_INVALID, err, "%s.%s must be %s, not %s", k->section,
                        k->name, type_name(k->type), tn);
        out->i = astrid_toml_int(t);
        if (out->i < k->min_int || out->i > k->max_int)
            return ferr(f, line, ASTRID_E_INVALID, err, "%s.%s must be in %lld..%lld, not %lld",
                        k->section, k->name, (long long)k->min_int, (long long)k->max_int,
                        (long long)out->i);
        return 0;
    case ASTRID_CFG_FLOAT:
        if (tt != ASTRID_TOML_INTEGER && tt != ASTRID_TOML_FLOAT)
            return ferr(f, line, ASTRID_E_INVALID, err, "%s.%s must be %s, not %s", k->section,
                        k->name, type_name(k->type), tn);
        out->f = tt == ASTRID_TOML_INTEGER ? (double)astrid_toml_int(t) : astrid_toml_float(t);
        if (!isfinite(out->f) || out->f < k->min_float || out->f > k->max_float)
            return ferr(f, line, ASTRID_E_INVALID, err, "%s.%s must be in %g..%g, not %g",
                        k->section, k->name, k->min_float, k->max_float, out->f);
        return 0;
    case ASTRID_CFG_BOOL:
        if (tt != ASTRID_TOML_BOOL)
            return ferr(f, line, ASTRID_E_INVALID, err, "%s.%s must be %s, not %s", k->section,
                        k->name, type_name(k->type), tn);
        out->b = astrid_toml_bool(t);
        return 0;
    case ASTRID_CFG_ENUM: {
        if (tt != ASTRID_TOML_STRING)
            return ferr(f, line, ASTRID_E_INVALID, err, "%s.%s must be %s, not %s", k->section,
                        k->name, type_name(k->type), tn);
        size_t len = 0;
        const char *s = astrid_toml_str(t, &len);
        for (int i = 0; k->choices[i]; i++)
            if (strlen(k->choices[i]) == len && strcmp(k->choices[i], s) == 0) {
                out->choice = i;
                return 0;
            }
        char acc[200] = "";
        for (int i = 0; k->choices[i]; i++) {
            size_t o = strlen(acc);
            snprintf(acc + o, sizeof acc - o, "%s\"%s\"", i ? ", " : "", k->choices[i]);
        }
        return ferr(f, line, ASTRID_E_INVALID, err, "%s.%s must be one of %s, not \"%.64s\"",
                    k->section, k->name, acc, s);
    }
    case ASTRID_CFG_STRLIST: {
        if (tt != ASTRID_TOML_ARRAY)
            return ferr(f, line, ASTRID_E_INVALID, err, "%s.%s must be %s, not %s", k->section,
                        k->name, type_name(k->type), tn);
        size_t n = astrid_toml_len(t);
        out->list = n ? calloc(n, sizeof *out->list) : NULL;
        if (n && !out->list)
            return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
            const astrid_toml *e = astrid_toml_at(t, i);
            size_t len = 0;
            const char *s =
                astrid_toml_type_of(e) == ASTRID_TOML_STRING ? astrid_toml_str(e, &len) : NULL;
            if (!s) {
                char et[40];
                with_article(astrid_toml_type_name(astrid_toml_type_of(e)), et, sizeof et);
                return ferr(f, line, ASTRID_E_INVALID, err, "%s.%s must be %s; element %zu is %s",
                            k->section, k->name, type_name(k->type), i + 1, et);
            }
            if (len != strlen(s) || len == 0)
                return ferr(f, line, ASTRID_E_INVALID, err,
                            "%s.%s: element %zu must be a non-empty string without NUL", k->section,
                            k->name, i + 1);
            if (!(out->list[out->nlist++] = strdup(s)))
                return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        }
        return 0;
    }
    }
    return astrid_err_set(err, ASTRID_E_INTERNAL, "config: bad schema type");
}

/* Replace the merged value of key `i` by `nv` (taking its list). */
static void put(astrid_config *c, size_t i, astrid_config_value *nv)
{
    list_free(c->v[i].list, c->v[i].nlist);
    c->v[i] = *nv;
    memset(nv, 0, sizeof *nv);
}

static bool is_section_prefix(const char *path)
{
    size_t n = strlen(path);
    for (size_t i = 0; i < astrid_config_nkeys; i++) {
        const char *s = astrid_config_schema[i].section;
        if (strncmp(s, path, n) == 0 && (s[n] == '\0' || s[n] == '.'))
            return true;
    }
    return false;
}

static int walk(const file_ctx *f, const astrid_toml *table, const char *prefix, astrid_err *err)
{
    for (size_t i = 0; i < astrid_toml_len(table); i++) {
        const char *key = astrid_toml_key_at(table, i);
        const astrid_toml *val = astrid_toml_value_at(table, i);
        char path[512];
        snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] ? "." : "", key);
        bool is_table = astrid_toml_type_of(val) == ASTRID_TOML_TABLE;
        ssize_t ki = prefix[0] ? key_index(prefix, strlen(prefix), key) : -1;
        if (ki < 0) {
            if (is_table && is_section_prefix(path)) {
                if (walk(f, val, path, err) != 0)
                    return -1;
                continue;
            }
            int line = locate(f->text, prefix, key);
            if (is_section_prefix(path)) {
                char tn[40];
                with_article(astrid_toml_type_name(astrid_toml_type_of(val)), tn, sizeof tn);
                return ferr(f, line, ASTRID_E_INVALID, err, "[%s] must be a table, not %s", path,
                            tn);
            }
            return ferr(f, line, ASTRID_E_INVALID, err,
                        "unknown key '%s' (astrid config show lists every key)", path);
        }
        const astrid_config_key *k = &astrid_config_schema[ki];
        int line = locate(f->text, k->section, k->name);
        astrid_config_value nv = {0};
        if (from_toml(f, k, val, line, &nv, err) != 0) {
            list_free(nv.list, nv.nlist);
            return -1;
        }
        nv.layer = f->layer;
        snprintf(nv.where, sizeof nv.where, "%s", f->label);
        nv.line = line;
        if (f->base && check_tighten(k, &f->base[ki], &nv, err) != 0) {
            list_free(nv.list, nv.nlist);
            if (line > 0)
                return astrid_err_prefix(err, "%s:%d", f->label, line);
            return astrid_err_prefix(err, "%s", f->label);
        }
        put(f->c, (size_t)ki, &nv);
    }
    return 0;
}

/* Read `path`: 0 and *text (malloc'd) when present, 0 and *text NULL when
 * absent, -1 on any refusal. */
static int read_layer(const char *path, const char *label, bool check_owner, char **text,
                      size_t *len, astrid_err *err)
{
    *text = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0;
        return astrid_err_sys(err, "%s", label);
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return astrid_err_sys(err, "%s", label);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return astrid_err_set(err, ASTRID_E_INVALID, "%s: not a regular file", label);
    }
    /* Someone else able to write the operator's policy could loosen it. */
    if (check_owner && ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 002))) {
        close(fd);
        return astrid_err_set(err, ASTRID_E_PERM,
                              "%s: must be owned by you or root and not writable by others "
                              "(owner uid %u, mode %04o)",
                              label, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
    }
    if ((size_t)st.st_size > ASTRID_CONFIG_MAX_BYTES) {
        close(fd);
        return astrid_err_set(err, ASTRID_E_LIMIT, "%s is %lld bytes, over the %u-byte limit",
                              label, (long long)st.st_size, ASTRID_CONFIG_MAX_BYTES);
    }
    char *buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        close(fd);
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            free(buf);
            close(fd);
            return astrid_err_sys(err, "%s", label);
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    *text = buf;
    *len = got;
    return 0;
}

static int load_file(astrid_config *c, astrid_config_layer layer, const char *path,
                     const char *label, astrid_config_value *base, astrid_err *err)
{
    char *text = NULL;
    size_t len = 0;
    if (read_layer(path, label, layer != ASTRID_CFG_WORKSPACE, &text, &len, err) != 0)
        return -1;
    if (!text)
        return 0;
    c->present[layer] = true;
    astrid_err perr;
    astrid_toml *root = astrid_toml_parse(text, len, &perr, NULL);
    if (!root) {
        free(text);
        return astrid_err_set(err, ASTRID_E_PARSE, "%s: %s", label, perr.msg);
    }
    char nul[128];
    int rc;
    if (astrid_toml_find_nul(root, nul, sizeof nul))
        rc = astrid_err_set(err, ASTRID_E_INVALID, "%s: %s must not contain a NUL character", label,
                            nul);
    else {
        file_ctx f = {.c = c, .layer = layer, .label = label, .text = text, .base = base};
        rc = walk(&f, root, "", err);
    }
    astrid_toml_free(root);
    free(text);
    return rc;
}

/* ---- environment --------------------------------------------------------------------- */

static int env_value(const astrid_config_key *k, const char *raw, astrid_config_value *out,
                     astrid_err *err)
{
    char s[4096];
    /* Names and lists are trimmed ("  off " is off, as ASTRID_SANDBOX_POLICY
     * always read); numbers and booleans are taken exactly as written. */
    bool trim = k->type == ASTRID_CFG_ENUM || k->type == ASTRID_CFG_STRLIST;
    const char *a = raw;
    while (trim && isspace((unsigned char)*a))
        a++;
    size_t n = strlen(a);
    while (trim && n && isspace((unsigned char)a[n - 1]))
        n--;
    if (n >= sizeof s)
        return astrid_err_set(err, ASTRID_E_LIMIT, "%s is longer than %zu bytes", k->env,
                              sizeof s - 1);
    memcpy(s, a, n);
    s[n] = '\0';
    char *end = NULL;
    switch (k->type) {
    case ASTRID_CFG_INT: {
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (!n || !(isdigit((unsigned char)s[0]) || s[0] == '-') || *end || errno ||
            v < k->min_int || v > k->max_int)
            return astrid_err_set(err, ASTRID_E_INVALID,
                                  "%s must be a whole number in %lld..%lld, not '%.64s' (%s.%s)",
                                  k->env, (long long)k->min_int, (long long)k->max_int, raw,
                                  k->section, k->name);
        out->i = v;
        return 0;
    }
    case ASTRID_CFG_FLOAT: {
        double v = strtod(s, &end);
        if (!n || isspace((unsigned char)s[0]) || *end || !isfinite(v) || v < k->min_float ||
            v > k->max_float)
            return astrid_err_set(err, ASTRID_E_INVALID,
                                  "%s must be a number in %g..%g, not '%.64s' (%s.%s)", k->env,
                                  k->min_float, k->max_float, raw, k->section, k->name);
        out->f = v;
        return 0;
    }
    case ASTRID_CFG_BOOL:
        if (!strcasecmp(s, "true") || !strcmp(s, "1") || !strcasecmp(s, "yes"))
            out->b = true;
        else if (!strcasecmp(s, "false") || !strcmp(s, "0") || !strcasecmp(s, "no"))
            out->b = false;
        else
            return astrid_err_set(err, ASTRID_E_INVALID,
                                  "%s must be true or false, not '%.64s' (%s.%s)", k->env, raw,
                                  k->section, k->name);
        return 0;
    case ASTRID_CFG_ENUM:
        if (k->env_check && k->env_check(raw, err) != 0)
            return -1;
        for (int i = 0; k->choices[i]; i++)
            if (!strcasecmp(k->choices[i], s)) {
                out->choice = i;
                return 0;
            }
        return astrid_err_set(err, ASTRID_E_INVALID, "%s=\"%.64s\": not one of the values of %s.%s",
                              k->env, raw, k->section, k->name);
    case ASTRID_CFG_STRLIST: {
        /* comma-separated; blanks around entries dropped */
        size_t cap = 1;
        for (const char *p = s; *p; p++)
            cap += *p == ',';
        out->list = calloc(cap, sizeof *out->list);
        if (!out->list)
            return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        char *save = NULL;
        for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            while (isspace((unsigned char)*t))
                t++;
            size_t l = strlen(t);
            while (l && isspace((unsigned char)t[l - 1]))
                t[--l] = '\0';
            if (l && !(out->list[out->nlist++] = strdup(t)))
                return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        }
        return 0;
    }
    }
    return astrid_err_set(err, ASTRID_E_INTERNAL, "config: bad schema type");
}

static int load_env(astrid_config *c, astrid_err *err)
{
    for (size_t i = 0; i < astrid_config_nkeys; i++) {
        const astrid_config_key *k = &astrid_config_schema[i];
        const char *raw = k->env ? getenv(k->env) : NULL;
        if (!raw || !*raw) /* empty = unset, as the variables always read */
            continue;
        astrid_config_value nv = {0};
        if (env_value(k, raw, &nv, err) != 0) {
            list_free(nv.list, nv.nlist);
            return -1;
        }
        nv.layer = ASTRID_CFG_ENV;
        snprintf(nv.where, sizeof nv.where, "%s", k->env);
        put(c, i, &nv);
        c->present[ASTRID_CFG_ENV] = true;
    }
    return 0;
}

/* ---- load ------------------------------------------------------------------------------ */

static int snapshot(const astrid_config *c, astrid_config_value *out, astrid_err *err)
{
    for (size_t i = 0; i < astrid_config_nkeys; i++) {
        out[i] = c->v[i];
        out[i].list = NULL;
        out[i].nlist = 0;
        if (!c->v[i].nlist)
            continue;
        out[i].list = calloc(c->v[i].nlist, sizeof(char *));
        if (!out[i].list)
            return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        for (size_t j = 0; j < c->v[i].nlist; j++)
            if (!(out[i].list[out[i].nlist++] = strdup(c->v[i].list[j])))
                return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    }
    return 0;
}

astrid_config *astrid_config_load(const astrid_config_paths *p, astrid_err *err)
{
    astrid_config *c = calloc(1, sizeof *c);
    if (!c || !(c->v = calloc(astrid_config_nkeys, sizeof *c->v))) {
        free(c);
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        return NULL;
    }
    c->present[ASTRID_CFG_DEFAULTS] = true;
    if (set_defaults(c, err) != 0)
        goto fail;
    for (int l = ASTRID_CFG_SYSTEM; l <= ASTRID_CFG_WORKSPACE; l++) {
        const char *path = p ? p->path[l] : NULL;
        if (!path)
            continue;
        const char *label = p->label[l] ? p->label[l] : path;
        astrid_config_value *base = NULL;
        if (l == ASTRID_CFG_WORKSPACE) {
            base = calloc(astrid_config_nkeys, sizeof *base);
            if (!base || snapshot(c, base, err) != 0) {
                for (size_t i = 0; base && i < astrid_config_nkeys; i++)
                    list_free(base[i].list, base[i].nlist);
                free(base);
                if (!base)
                    astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
                goto fail;
            }
        }
        int rc = load_file(c, (astrid_config_layer)l, path, label, base, err);
        for (size_t i = 0; base && i < astrid_config_nkeys; i++)
            list_free(base[i].list, base[i].nlist);
        free(base);
        if (rc != 0)
            goto fail;
    }
    if (!(p && p->no_env) && load_env(c, err) != 0)
        goto fail;
    return c;
fail:
    astrid_config_free(c);
    return NULL;
}

/* ---- paths --------------------------------------------------------------------------- */

int astrid_config_default_paths(astrid_config_paths *p, astrid_config_pathbuf *buf,
                                const char *home, const char *workspace, astrid_err *err)
{
    memset(p, 0, sizeof *p);
    const char *sys = getenv(ASTRID_SYSTEM_CONFIG_ENV);
    if (sys && *sys && sys[0] != '/')
        return astrid_err_set(err, ASTRID_E_INVALID, "%s must be an absolute path, not '%.200s'",
                              ASTRID_SYSTEM_CONFIG_ENV, sys);
    snprintf(buf->system, sizeof buf->system, "%s", sys && *sys ? sys : ASTRID_SYSTEM_CONFIG_PATH);
    p->path[ASTRID_CFG_SYSTEM] = buf->system;
    if (home) {
        if (astrid_home_config(buf->home, sizeof buf->home, home, err) != 0)
            return -1;
        p->path[ASTRID_CFG_HOME] = buf->home;
    }
    if (workspace) {
        int n =
            snprintf(buf->workspace, sizeof buf->workspace, "%s/.astrid/config.toml", workspace);
        if (n < 0 || (size_t)n >= sizeof buf->workspace)
            return astrid_err_set(err, ASTRID_E_LIMIT, "workspace path too long");
        p->path[ASTRID_CFG_WORKSPACE] = buf->workspace;
    }
    return 0;
}

/* ---- show ------------------------------------------------------------------------------ */

static bool section_known(const char *section)
{
    for (size_t i = 0; i < astrid_config_nkeys; i++)
        if (strcmp(astrid_config_schema[i].section, section) == 0)
            return true;
    return false;
}

static astrid_toml *to_toml(const astrid_config_key *k, const astrid_config_value *v)
{
    switch (k->type) {
    case ASTRID_CFG_INT:
        return astrid_toml_new_int(v->i);
    case ASTRID_CFG_FLOAT:
        return astrid_toml_new_float(v->f);
    case ASTRID_CFG_BOOL:
        return astrid_toml_new_bool(v->b);
    case ASTRID_CFG_ENUM:
        return astrid_toml_new_string(k->choices[v->choice], strlen(k->choices[v->choice]));
    case ASTRID_CFG_STRLIST: {
        astrid_toml *a = astrid_toml_new_array();
        for (size_t i = 0; a && i < v->nlist; i++)
            if (astrid_toml_push(a, astrid_toml_new_string(v->list[i], strlen(v->list[i]))) != 0) {
                astrid_toml_free(a);
                return NULL;
            }
        return a;
    }
    }
    return NULL;
}

static json_t *to_json(const astrid_config_key *k, const astrid_config_value *v)
{
    switch (k->type) {
    case ASTRID_CFG_INT:
        return json_integer(v->i);
    case ASTRID_CFG_FLOAT:
        return json_real(v->f);
    case ASTRID_CFG_BOOL:
        return json_boolean(v->b);
    case ASTRID_CFG_ENUM:
        return json_string(k->choices[v->choice]);
    case ASTRID_CFG_STRLIST: {
        json_t *a = json_array();
        for (size_t i = 0; a && i < v->nlist; i++)
            json_array_append_new(a, json_string(v->list[i]));
        return a;
    }
    }
    return NULL;
}

typedef struct sbuf {
    char *s;
    size_t n, cap;
    bool oom;
} sbuf;

static void sb_add(sbuf *b, const char *s)
{
    size_t l = strlen(s);
    if (b->oom)
        return;
    if (b->n + l + 1 > b->cap) {
        size_t nc = (b->n + l + 1) * 2;
        char *ns = realloc(b->s, nc);
        if (!ns) {
            b->oom = true;
            return;
        }
        b->s = ns;
        b->cap = nc;
    }
    memcpy(b->s + b->n, s, l + 1);
    b->n += l;
}

char *astrid_config_show_toml(const astrid_config *c, const char *section, astrid_err *err)
{
    if (section && !section_known(section)) {
        astrid_err_set(err, ASTRID_E_NOTFOUND, "no section [%s] in the configuration", section);
        return NULL;
    }
    sbuf b = {0};
    const char *last = NULL;
    for (size_t i = 0; i < astrid_config_nkeys; i++) {
        const astrid_config_key *k = &astrid_config_schema[i];
        if (section && strcmp(k->section, section) != 0)
            continue;
        if (!last || strcmp(last, k->section) != 0) {
            sb_add(&b, last ? "\n[" : "[");
            sb_add(&b, k->section);
            sb_add(&b, "]\n");
            last = k->section;
        }
        astrid_toml *t = astrid_toml_new_table();
        astrid_toml *val = to_toml(k, &c->v[i]);
        if (!t || !val || astrid_toml_set(t, k->name, val) != 0) {
            astrid_toml_free(t);
            free(b.s);
            astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
            return NULL;
        }
        char *line = astrid_toml_emit(t, err);
        astrid_toml_free(t);
        if (!line) {
            free(b.s);
            return NULL;
        }
        size_t l = strlen(line);
        while (l && line[l - 1] == '\n')
            line[--l] = '\0';
        char src[400];
        astrid_config_source(&c->v[i], src, sizeof src);
        sb_add(&b, line);
        sb_add(&b, "  # from ");
        sb_add(&b, src);
        sb_add(&b, "\n");
        free(line);
    }
    if (b.oom || !b.s) {
        free(b.s);
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        return NULL;
    }
    return b.s;
}

json_t *astrid_config_show_json(const astrid_config *c, const char *section, astrid_err *err)
{
    if (section && !section_known(section)) {
        astrid_err_set(err, ASTRID_E_NOTFOUND, "no section [%s] in the configuration", section);
        return NULL;
    }
    json_t *root = json_object();
    for (size_t i = 0; root && i < astrid_config_nkeys; i++) {
        const astrid_config_key *k = &astrid_config_schema[i];
        if (section && strcmp(k->section, section) != 0)
            continue;
        json_t *sec = json_object_get(root, k->section);
        if (!sec) {
            sec = json_object();
            json_object_set_new(root, k->section, sec);
        }
        char src[400];
        astrid_config_source(&c->v[i], src, sizeof src);
        json_object_set_new(sec, k->name,
                            json_pack("{s:o,s:s}", "value", to_json(k, &c->v[i]), "source", src));
    }
    if (!root)
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    return root;
}
