/* TOML document parser: keys, key/value pairs, [table] and [[array]]
 * headers with TOML 1.0's definition rules, input checks, and the public
 * parse entry points. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/fs.h"
#include "parser.h"

typedef struct key_seg {
    const char *src; /* in the input, or NULL: bytes at p->buf + off */
    size_t off, len;
} key_seg;

typedef struct key_path {
    key_seg *segs;
    size_t n, cap;
    size_t at; /* input offset of the key, for messages */
} key_path;

int toml_fail_at(toml_parser *p, size_t at, astrid_errcode code, const char *why)
{
    if (p->failed)
        return -1;
    p->failed = true;
    int line = 1, col = 1;
    for (size_t i = 0; i < at && i < p->len; i++) {
        unsigned char c = (unsigned char)p->s[i];
        if (c == '\n') {
            line++;
            col = 1;
        } else if ((c & 0xC0) != 0x80) {
            col++;
        }
    }
    if (p->epos) {
        p->epos->line = line;
        p->epos->column = col;
    }
    return astrid_err_set(p->err, code, "line %d, column %d: %s", line, col, why);
}

int toml_fail(toml_parser *p, const char *why)
{
    return toml_fail_at(p, p->pos, ASTRID_E_PARSE, why);
}

static const char *seg_bytes(const toml_parser *p, const key_seg *k)
{
    return k->src ? k->src : p->buf ? p->buf + k->off : "";
}

static bool bare_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

/* Parse `a . "b" . 'c'` into kp. Decoded quoted parts go to p->buf, which
 * the caller rewinds afterwards. */
static int parse_key(toml_parser *p, key_path *kp)
{
    kp->n = 0;
    kp->at = p->pos;
    for (;;) {
        tp_skip_ws(p);
        if (kp->n == kp->cap) {
            size_t cap = kp->cap ? kp->cap * 2 : 8;
            key_seg *s = realloc(kp->segs, cap * sizeof *s);
            if (!s)
                return toml_fail_at(p, p->pos, ASTRID_E_NOMEM, "out of memory");
            kp->segs = s;
            kp->cap = cap;
        }
        key_seg *k = &kp->segs[kp->n];
        int c = tp_peek(p);
        if (c == '"' || c == '\'') {
            if (toml_scan_string(p, false, &k->src, &k->off, &k->len) != 0)
                return -1;
        } else if (c >= 0 && bare_char(c)) {
            k->src = p->s + p->pos;
            size_t st = p->pos;
            while (p->pos < p->len && bare_char((unsigned char)p->s[p->pos]))
                p->pos++;
            k->len = p->pos - st;
        } else {
            return toml_fail(p, c < 0 || c == '\n' || c == '\r' || c == '='
                                    ? "expected a key"
                                    : "invalid character in key");
        }
        kp->n++;
        if (kp->n > ASTRID_TOML_MAX_DEPTH)
            return toml_fail_at(p, kp->at, ASTRID_E_LIMIT,
                                "key has too many dotted parts (nesting limit 128)");
        tp_skip_ws(p);
        if (tp_peek(p) != '.')
            return 0;
        p->pos++;
    }
}

static int fail_key(toml_parser *p, const key_path *kp, size_t upto, const char *what)
{
    /* "what 'a.b.c'" with the key as written in decoded form. */
    char msg[256];
    size_t m = (size_t)snprintf(msg, sizeof msg, "%s '", what);
    for (size_t i = 0; i <= upto && i < kp->n && m < sizeof msg - 8; i++) {
        if (i)
            msg[m++] = '.';
        size_t l = kp->segs[i].len;
        if (l > sizeof msg - 8 - m)
            l = sizeof msg - 8 - m;
        memcpy(msg + m, seg_bytes(p, &kp->segs[i]), l);
        for (size_t j = m; j < m + l; j++)
            if (msg[j] == '\0')
                msg[j] = '?';
        m += l;
    }
    msg[m++] = '\'';
    msg[m] = '\0';
    return toml_fail_at(p, kp->at, ASTRID_E_PARSE, msg);
}

static astrid_toml *add_table(toml_parser *p, astrid_toml *parent, const key_seg *k, unsigned flags)
{
    astrid_toml *t = astrid_toml_new_table();
    if (!t || toml_table_append(parent, seg_bytes(p, k), k->len, t) != 0) {
        toml_fail_at(p, p->pos, ASTRID_E_NOMEM, "out of memory");
        return NULL;
    }
    t->flags = flags;
    return t;
}

int toml_parse_keyval(toml_parser *p, astrid_toml *table, bool in_inline)
{
    key_path kp = {0};
    size_t mark = p->blen;
    int rc = -1;
    if (parse_key(p, &kp) != 0 || kp.n == 0)
        goto out;
    if (tp_peek(p) != '=') {
        toml_fail(p, "expected '=' after key");
        goto out;
    }
    p->pos++;
    tp_skip_ws(p);
    if ((size_t)p->depth + kp.n > ASTRID_TOML_MAX_DEPTH) {
        toml_fail_at(p, kp.at, ASTRID_E_LIMIT,
                     "nesting too deep (limit ASTRID_TOML_MAX_DEPTH = 128)");
        goto out;
    }
    astrid_toml *t = table;
    for (size_t i = 0; i + 1 < kp.n; i++) {
        const key_seg *k = &kp.segs[i];
        astrid_toml *v = toml_table_find(t, seg_bytes(p, k), k->len);
        if (!v) {
            t = add_table(p, t, k, TF_DOTTED | (in_inline ? TF_INLINE : 0u));
            if (!t)
                goto out;
        } else if (v->type == ASTRID_TOML_TABLE && (v->flags & TF_DOTTED) &&
                   !(v->flags & TF_FROZEN)) {
            t = v;
        } else {
            fail_key(p, &kp, i,
                     v->type == ASTRID_TOML_TABLE ? "cannot add keys with a dotted key to table"
                                                  : "key is not a table");
            goto out;
        }
    }
    const key_seg *last = &kp.segs[kp.n - 1];
    if (toml_table_find(t, seg_bytes(p, last), last->len)) {
        fail_key(p, &kp, kp.n, "duplicate key");
        goto out;
    }
    int saved = p->depth;
    p->depth += (int)kp.n - 1;
    /* The value's decoded bytes go after the key's in the scratch buffer. */
    astrid_toml *v = toml_parse_value(p);
    p->depth = saved;
    if (!v)
        goto out;
    if (toml_table_append(t, seg_bytes(p, last), last->len, v) != 0) {
        toml_fail_at(p, p->pos, ASTRID_E_NOMEM, "out of memory");
        goto out;
    }
    rc = 0;
out:
    free(kp.segs);
    p->blen = mark;
    return rc;
}

/* [a.b.c] or [[a.b.c]]; returns the table later key/values go into. */
static astrid_toml *parse_header(toml_parser *p, astrid_toml *root, key_path *kp, int *depth)
{
    size_t at = p->pos;
    bool aot = p->pos + 1 < p->len && p->s[p->pos + 1] == '[';
    p->pos += aot ? 2 : 1;
    if (parse_key(p, kp) != 0 || kp->n == 0)
        return NULL;
    if (tp_peek(p) != ']' || (aot && (p->pos + 1 >= p->len || p->s[p->pos + 1] != ']'))) {
        toml_fail(p, aot ? "expected ']]' to close the array-of-tables header"
                         : "expected ']' to close the table header");
        return NULL;
    }
    p->pos += aot ? 2 : 1;
    kp->at = at;
    astrid_toml *t = root;
    int d = 0;
    for (size_t i = 0; i + 1 < kp->n; i++) {
        const key_seg *k = &kp->segs[i];
        astrid_toml *v = toml_table_find(t, seg_bytes(p, k), k->len);
        if (!v) {
            t = add_table(p, t, k, TF_IMPLICIT);
            d++;
        } else if (v->type == ASTRID_TOML_TABLE && !(v->flags & TF_FROZEN)) {
            t = v;
            d++;
        } else if (v->type == ASTRID_TOML_ARRAY && (v->flags & TF_AOT) && v->u.arr.n > 0) {
            t = v->u.arr.items[v->u.arr.n - 1];
            d += 2;
        } else {
            fail_key(p, kp, i,
                     v->type == ASTRID_TOML_TABLE ? "cannot extend inline table"
                                                  : "key is not a table");
            return NULL;
        }
        if (!t)
            return NULL;
    }
    const key_seg *last = &kp->segs[kp->n - 1];
    astrid_toml *v = toml_table_find(t, seg_bytes(p, last), last->len);
    if (d + (aot ? 2 : 1) > ASTRID_TOML_MAX_DEPTH) {
        toml_fail_at(p, at, ASTRID_E_LIMIT, "nesting too deep (limit ASTRID_TOML_MAX_DEPTH = 128)");
        return NULL;
    }
    if (!aot) {
        *depth = d + 1;
        if (!v)
            return add_table(p, t, last, TF_DEFINED);
        if (v->type == ASTRID_TOML_TABLE &&
            (v->flags & (TF_IMPLICIT | TF_DEFINED | TF_DOTTED | TF_FROZEN)) == TF_IMPLICIT) {
            v->flags = TF_DEFINED;
            return v;
        }
        fail_key(p, kp, kp->n, "table already defined:");
        return NULL;
    }
    *depth = d + 2;
    if (!v) {
        v = astrid_toml_new_array();
        if (!v || toml_table_append(t, seg_bytes(p, last), last->len, v) != 0) {
            toml_fail_at(p, at, ASTRID_E_NOMEM, "out of memory");
            return NULL;
        }
        v->flags = TF_AOT | TF_INLINE;
    } else if (v->type != ASTRID_TOML_ARRAY || !(v->flags & TF_AOT)) {
        fail_key(p, kp, kp->n, "cannot define an array of tables over existing key");
        return NULL;
    }
    astrid_toml *elem = astrid_toml_new_table();
    if (!elem || astrid_toml_push(v, elem) != 0) {
        toml_fail_at(p, at, ASTRID_E_NOMEM, "out of memory");
        return NULL;
    }
    elem->flags = TF_DEFINED;
    return elem;
}

/* Reject what TOML forbids anywhere in a document: invalid UTF-8, control
 * characters other than tab/newline, and a CR not followed by LF. Checking
 * once up front keeps the scanners simple. */
static int check_input(toml_parser *p)
{
    const unsigned char *s = (const unsigned char *)p->s;
    for (size_t i = 0; i < p->len; i++) {
        unsigned c = s[i];
        if (c >= 0x20 && c != 0x7f) {
            if (c >= 0x80) {
                size_t j = i;
                while (j < p->len && s[j] >= 0x80)
                    j++;
                size_t bad = toml_utf8_check(p->s + i, j - i);
                if (bad != j - i)
                    return toml_fail_at(p, i + bad, ASTRID_E_PARSE, "invalid UTF-8");
                i = j - 1;
            }
            continue;
        }
        if (c == '\t' || c == '\n')
            continue;
        if (c == '\r' && i + 1 < p->len && s[i + 1] == '\n')
            continue;
        return toml_fail_at(p, i, ASTRID_E_PARSE,
                            c == '\r' ? "carriage return not followed by newline"
                                      : "control characters are not allowed");
    }
    return 0;
}

static int end_of_line(toml_parser *p)
{
    tp_skip_ws(p);
    int c = tp_peek(p);
    if (c == '#') {
        while (p->pos < p->len && p->s[p->pos] != '\n')
            p->pos++;
        c = tp_peek(p);
    }
    if (c < 0)
        return 0;
    if (c == '\n') {
        p->pos++;
        return 0;
    }
    if (c == '\r') {
        p->pos += 2;
        return 0;
    }
    return toml_fail(p, "expected a newline after the value");
}

astrid_toml *astrid_toml_parse(const char *buf, size_t len, astrid_err *err, astrid_toml_error *pos)
{
    toml_parser p = {.s = buf, .len = len, .err = err, .epos = pos};
    if (pos)
        pos->line = pos->column = 0;
    if (len > ASTRID_TOML_MAX_INPUT) {
        astrid_err_set(err, ASTRID_E_LIMIT, "TOML input is %zu bytes, over the %u-byte limit", len,
                       ASTRID_TOML_MAX_INPUT);
        return NULL;
    }
    if (!buf && len)
        return astrid_err_set(err, ASTRID_E_INVALID, "TOML input is NULL"), NULL;
    astrid_toml *root = astrid_toml_new_table();
    if (!root)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory"), NULL;
    key_path kp = {0};
    if (check_input(&p) != 0)
        goto fail;
    /* A UTF-8 byte order mark is not content. */
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        p.pos = 3;
    astrid_toml *cur = root;
    int cur_depth = 0;
    while (p.pos < p.len) {
        tp_skip_ws(&p);
        int c = tp_peek(&p);
        if (c < 0)
            break;
        if (c == '[') {
            size_t mark = p.blen;
            cur = parse_header(&p, root, &kp, &cur_depth);
            p.blen = mark;
            if (!cur)
                goto fail;
        } else if (c != '#' && c != '\n' && c != '\r') {
            p.depth = cur_depth;
            if (toml_parse_keyval(&p, cur, false) != 0)
                goto fail;
        }
        if (end_of_line(&p) != 0)
            goto fail;
    }
    free(kp.segs);
    free(p.buf);
    return root;
fail:
    free(kp.segs);
    free(p.buf);
    astrid_toml_free(root);
    return NULL;
}

astrid_toml *astrid_toml_parse_file(const char *path, astrid_err *err, astrid_toml_error *pos)
{
    char *buf;
    size_t len;
    if (pos)
        pos->line = pos->column = 0;
    if (astrid_read_file(path, ASTRID_TOML_MAX_INPUT, &buf, &len, err) != 0)
        return NULL;
    astrid_toml *t = astrid_toml_parse(buf, len, err, pos);
    free(buf);
    if (!t)
        astrid_err_prefix(err, "%s", path);
    return t;
}
