/* Deterministic TOML emitter: per table, plain key/values first (inline
 * tables and arrays written inline), then sub-tables as [a.b] sections and
 * arrays of tables as [[a]], all in stored key order. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "toml_internal.h"

typedef struct sbuf {
    char *b;
    size_t len, cap;
    bool oom;
    astrid_err *err;
    int failed;
} sbuf;

static void sb_put(sbuf *sb, const char *s, size_t n)
{
    if (sb->oom)
        return;
    if (sb->len + n + 1 > sb->cap) {
        size_t cap = sb->cap ? sb->cap : 1024;
        while (cap < sb->len + n + 1)
            cap *= 2;
        char *b = realloc(sb->b, cap);
        if (!b) {
            sb->oom = true;
            return;
        }
        sb->b = b;
        sb->cap = cap;
    }
    memcpy(sb->b + sb->len, s, n);
    sb->len += n;
    sb->b[sb->len] = '\0';
}

static void sb_str(sbuf *sb, const char *s)
{
    sb_put(sb, s, strlen(s));
}

static int fail(sbuf *sb, astrid_errcode code, const char *why)
{
    if (!sb->failed)
        astrid_err_set(sb->err, code, "cannot emit TOML: %s", why);
    sb->failed = 1;
    return -1;
}

static int quoted(sbuf *sb, const char *s, size_t n)
{
    if (toml_utf8_check(s, n) != n)
        return fail(sb, ASTRID_E_INVALID, "string or key is not valid UTF-8");
    sb_put(sb, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
            continue;
        sb_put(sb, s + run, i - run);
        run = i + 1;
        char esc[8];
        switch (c) {
        case '"':
            sb_put(sb, "\\\"", 2);
            break;
        case '\\':
            sb_put(sb, "\\\\", 2);
            break;
        case '\n':
            sb_put(sb, "\\n", 2);
            break;
        case '\t':
            sb_put(sb, "\\t", 2);
            break;
        case '\r':
            sb_put(sb, "\\r", 2);
            break;
        case '\b':
            sb_put(sb, "\\b", 2);
            break;
        case '\f':
            sb_put(sb, "\\f", 2);
            break;
        default:
            snprintf(esc, sizeof esc, "\\u%04X", c);
            sb_put(sb, esc, 6);
            break;
        }
    }
    sb_put(sb, s + run, n - run);
    sb_put(sb, "\"", 1);
    return 0;
}

static int key(sbuf *sb, const char *k, size_t n)
{
    bool bare = n > 0;
    for (size_t i = 0; i < n && bare; i++) {
        char c = k[i];
        bare = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    }
    if (!bare)
        return quoted(sb, k, n);
    sb_put(sb, k, n);
    return 0;
}

static void emit_float(sbuf *sb, double v)
{
    char b[40];
    if (isnan(v)) {
        sb_str(sb, "nan");
        return;
    }
    if (isinf(v)) {
        sb_str(sb, v < 0 ? "-inf" : "inf");
        return;
    }
    /* Shortest of %.15g..%.17g that reads back to the same double. */
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(b, sizeof b, "%.*g", prec, v);
        if (strtod(b, NULL) == v)
            break;
    }
    sb_str(sb, b);
    if (!strpbrk(b, ".e"))
        sb_put(sb, ".0", 2);
}

static int inline_value(sbuf *sb, const astrid_toml *v, int depth);

static int inline_table(sbuf *sb, const astrid_toml *t, int depth)
{
    if (t->u.tab.n == 0) {
        sb_put(sb, "{}", 2);
        return 0;
    }
    sb_put(sb, "{ ", 2);
    for (size_t i = 0; i < t->u.tab.n; i++) {
        const toml_entry *e = &t->u.tab.ents[i];
        if (i)
            sb_put(sb, ", ", 2);
        if (key(sb, e->key, e->klen) != 0)
            return -1;
        sb_put(sb, " = ", 3);
        if (inline_value(sb, e->val, depth + 1) != 0)
            return -1;
    }
    sb_put(sb, " }", 2);
    return 0;
}

static int inline_value(sbuf *sb, const astrid_toml *v, int depth)
{
    char b[64];
    /* Same depth rule as the parser: containers count, scalars do not. */
    if (depth > ASTRID_TOML_MAX_DEPTH &&
        (v->type == ASTRID_TOML_TABLE || v->type == ASTRID_TOML_ARRAY))
        return fail(sb, ASTRID_E_LIMIT, "tree nested deeper than ASTRID_TOML_MAX_DEPTH");
    switch (v->type) {
    case ASTRID_TOML_TABLE:
        return inline_table(sb, v, depth);
    case ASTRID_TOML_ARRAY:
        sb_put(sb, "[", 1);
        for (size_t i = 0; i < v->u.arr.n; i++) {
            if (i)
                sb_put(sb, ", ", 2);
            if (inline_value(sb, v->u.arr.items[i], depth + 1) != 0)
                return -1;
        }
        sb_put(sb, "]", 1);
        return 0;
    case ASTRID_TOML_STRING:
        return quoted(sb, v->u.str.s, v->u.str.len);
    case ASTRID_TOML_INTEGER:
        snprintf(b, sizeof b, "%" PRId64, v->u.i);
        sb_str(sb, b);
        return 0;
    case ASTRID_TOML_FLOAT:
        emit_float(sb, v->u.f);
        return 0;
    case ASTRID_TOML_BOOL:
        sb_str(sb, v->u.b ? "true" : "false");
        return 0;
    default:
        toml_format_datetime(b, sizeof b, v->type, &v->u.dt);
        sb_str(sb, b);
        return 0;
    }
}

static bool is_section(const astrid_toml *v)
{
    if (v->type == ASTRID_TOML_TABLE)
        return !(v->flags & TF_INLINE);
    if (v->type != ASTRID_TOML_ARRAY || !(v->flags & TF_INLINE) || v->u.arr.n == 0)
        return false;
    for (size_t i = 0; i < v->u.arr.n; i++)
        if (v->u.arr.items[i]->type != ASTRID_TOML_TABLE)
            return false;
    return true;
}

/* `path` holds the escaped dotted path of `t` (empty for the root). */
static int table_body(sbuf *sb, const astrid_toml *t, sbuf *path, int depth)
{
    if (depth > ASTRID_TOML_MAX_DEPTH)
        return fail(sb, ASTRID_E_LIMIT, "tree nested deeper than ASTRID_TOML_MAX_DEPTH");
    for (size_t i = 0; i < t->u.tab.n; i++) {
        const toml_entry *e = &t->u.tab.ents[i];
        if (is_section(e->val))
            continue;
        if (key(sb, e->key, e->klen) != 0)
            return -1;
        sb_put(sb, " = ", 3);
        if (inline_value(sb, e->val, depth + 1) != 0)
            return -1;
        sb_put(sb, "\n", 1);
    }
    for (size_t i = 0; i < t->u.tab.n; i++) {
        const toml_entry *e = &t->u.tab.ents[i];
        if (!is_section(e->val))
            continue;
        size_t mark = path->len;
        if (mark)
            sb_put(path, ".", 1);
        if (key(path, e->key, e->klen) != 0)
            return fail(sb, ASTRID_E_INVALID, "key is not valid UTF-8");
        if (path->oom)
            return fail(sb, ASTRID_E_NOMEM, "out of memory");
        if (e->val->type == ASTRID_TOML_TABLE) {
            sb_str(sb, sb->len ? "\n[" : "[");
            sb_put(sb, path->b, path->len);
            sb_put(sb, "]\n", 2);
            if (table_body(sb, e->val, path, depth + 1) != 0)
                return -1;
        } else {
            for (size_t j = 0; j < e->val->u.arr.n; j++) {
                sb_str(sb, sb->len ? "\n[[" : "[[");
                sb_put(sb, path->b, path->len);
                sb_put(sb, "]]\n", 3);
                if (table_body(sb, e->val->u.arr.items[j], path, depth + 2) != 0)
                    return -1;
            }
        }
        path->len = mark;
    }
    return 0;
}

char *astrid_toml_emit(const astrid_toml *root, astrid_err *err)
{
    if (!root || root->type != ASTRID_TOML_TABLE)
        return astrid_err_set(err, ASTRID_E_INVALID, "cannot emit TOML: root is not a table"), NULL;
    sbuf sb = {.err = err}, path = {.err = NULL};
    sb_put(&sb, "", 0);
    int rc = table_body(&sb, root, &path, 0);
    free(path.b);
    if (rc == 0 && sb.oom)
        rc = fail(&sb, ASTRID_E_NOMEM, "out of memory");
    if (rc != 0) {
        free(sb.b);
        return NULL;
    }
    return sb.b;
}
