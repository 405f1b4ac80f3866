/* TOML tree: node construction, lookup (ordered entries + hash index),
 * mutation, deep copy and equality. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "toml_internal.h"

/* Tables with more keys than this get a hash index; below it a linear scan
 * over the ordered entries is faster than hashing. */
#define INDEX_MIN 8

uint32_t toml_hash(const char *key, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)key[i]) * 16777619u;
    return h;
}

astrid_toml *toml_new_node(astrid_toml_type type)
{
    astrid_toml *n = calloc(1, sizeof *n);
    if (n)
        n->type = type;
    return n;
}

void astrid_toml_free(astrid_toml *node)
{
    if (!node)
        return;
    if (node->type == ASTRID_TOML_TABLE) {
        for (size_t i = 0; i < node->u.tab.n; i++) {
            free(node->u.tab.ents[i].key);
            astrid_toml_free(node->u.tab.ents[i].val);
        }
        free(node->u.tab.ents);
        free(node->u.tab.index);
    } else if (node->type == ASTRID_TOML_ARRAY) {
        for (size_t i = 0; i < node->u.arr.n; i++)
            astrid_toml_free(node->u.arr.items[i]);
        free(node->u.arr.items);
    }
    free(node);
}

/* ---------------------------------------------------------------- index */

static int index_rebuild(astrid_toml *t)
{
    size_t need = 16;
    while (need < t->u.tab.n * 2)
        need *= 2;
    uint32_t *idx = calloc(need, sizeof *idx);
    if (!idx)
        return -1;
    for (size_t i = 0; i < t->u.tab.n; i++) {
        size_t s = t->u.tab.ents[i].hash & (need - 1);
        while (idx[s])
            s = (s + 1) & (need - 1);
        idx[s] = (uint32_t)(i + 1);
    }
    free(t->u.tab.index);
    t->u.tab.index = idx;
    t->u.tab.icap = need;
    return 0;
}

static long find_slot(const astrid_toml *t, const char *key, size_t klen)
{
    if (!t->u.tab.index) {
        for (size_t i = 0; i < t->u.tab.n; i++) {
            const toml_entry *e = &t->u.tab.ents[i];
            if (e->klen == klen && memcmp(e->key, key, klen) == 0)
                return (long)i;
        }
        return -1;
    }
    uint32_t h = toml_hash(key, klen);
    size_t mask = t->u.tab.icap - 1;
    for (size_t s = h & mask;; s = (s + 1) & mask) {
        uint32_t v = t->u.tab.index[s];
        if (!v)
            return -1;
        const toml_entry *e = &t->u.tab.ents[v - 1];
        if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
            return (long)(v - 1);
    }
}

astrid_toml *toml_table_find(const astrid_toml *t, const char *key, size_t klen)
{
    long i = find_slot(t, key, klen);
    return i < 0 ? NULL : t->u.tab.ents[i].val;
}

int toml_table_append(astrid_toml *t, const char *key, size_t klen, astrid_toml *val)
{
    if (t->u.tab.n == t->u.tab.cap) {
        size_t cap = t->u.tab.cap ? t->u.tab.cap * 2 : 4;
        toml_entry *e = realloc(t->u.tab.ents, cap * sizeof *e);
        if (!e)
            goto fail;
        t->u.tab.ents = e;
        t->u.tab.cap = cap;
    }
    char *k = malloc(klen + 1);
    if (!k)
        goto fail;
    memcpy(k, key, klen);
    k[klen] = '\0';
    toml_entry *e = &t->u.tab.ents[t->u.tab.n++];
    e->key = k;
    e->klen = klen;
    e->hash = toml_hash(key, klen);
    e->val = val;
    if (t->u.tab.index && t->u.tab.n * 2 <= t->u.tab.icap) {
        size_t mask = t->u.tab.icap - 1, s = e->hash & mask;
        while (t->u.tab.index[s])
            s = (s + 1) & mask;
        t->u.tab.index[s] = (uint32_t)t->u.tab.n;
    } else if (t->u.tab.n > INDEX_MIN && index_rebuild(t) != 0) {
        t->u.tab.n--;
        free(k);
        goto fail;
    }
    return 0;
fail:
    astrid_toml_free(val);
    return -1;
}

/* ---------------------------------------------------------------- reading */

astrid_toml_type astrid_toml_type_of(const astrid_toml *node)
{
    return node->type;
}

const char *astrid_toml_type_name(astrid_toml_type t)
{
    switch (t) {
    case ASTRID_TOML_TABLE:
        return "table";
    case ASTRID_TOML_ARRAY:
        return "array";
    case ASTRID_TOML_STRING:
        return "string";
    case ASTRID_TOML_INTEGER:
        return "integer";
    case ASTRID_TOML_FLOAT:
        return "float";
    case ASTRID_TOML_BOOL:
        return "bool";
    case ASTRID_TOML_DATETIME:
        return "datetime";
    case ASTRID_TOML_DATETIME_LOCAL:
        return "datetime-local";
    case ASTRID_TOML_DATE_LOCAL:
        return "date-local";
    case ASTRID_TOML_TIME_LOCAL:
        return "time-local";
    }
    return "unknown";
}

size_t astrid_toml_len(const astrid_toml *node)
{
    if (!node)
        return 0;
    if (node->type == ASTRID_TOML_TABLE)
        return node->u.tab.n;
    if (node->type == ASTRID_TOML_ARRAY)
        return node->u.arr.n;
    return 0;
}

const char *astrid_toml_key_at(const astrid_toml *table, size_t i)
{
    if (!table || table->type != ASTRID_TOML_TABLE || i >= table->u.tab.n)
        return NULL;
    return table->u.tab.ents[i].key;
}

astrid_toml *astrid_toml_value_at(const astrid_toml *table, size_t i)
{
    if (!table || table->type != ASTRID_TOML_TABLE || i >= table->u.tab.n)
        return NULL;
    return table->u.tab.ents[i].val;
}

astrid_toml *astrid_toml_at(const astrid_toml *array, size_t i)
{
    if (!array || array->type != ASTRID_TOML_ARRAY || i >= array->u.arr.n)
        return NULL;
    return array->u.arr.items[i];
}

astrid_toml *astrid_toml_get(const astrid_toml *table, const char *key)
{
    if (!table || !key || table->type != ASTRID_TOML_TABLE)
        return NULL;
    return toml_table_find(table, key, strlen(key));
}

const char *astrid_toml_str(const astrid_toml *node, size_t *len)
{
    if (!node || node->type != ASTRID_TOML_STRING) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = node->u.str.len;
    return node->u.str.s;
}

int64_t astrid_toml_int(const astrid_toml *node)
{
    return node && node->type == ASTRID_TOML_INTEGER ? node->u.i : 0;
}

double astrid_toml_float(const astrid_toml *node)
{
    return node && node->type == ASTRID_TOML_FLOAT ? node->u.f : 0.0;
}

bool astrid_toml_bool(const astrid_toml *node)
{
    return node && node->type == ASTRID_TOML_BOOL ? node->u.b : false;
}

const astrid_toml_datetime *astrid_toml_datetime_of(const astrid_toml *node)
{
    if (!node || node->type < ASTRID_TOML_DATETIME)
        return NULL;
    return &node->u.dt;
}

bool astrid_toml_is_inline(const astrid_toml *node)
{
    return node && (node->flags & TF_INLINE);
}

/* ---------------------------------------------------------------- building */

astrid_toml *astrid_toml_new_table(void)
{
    return toml_new_node(ASTRID_TOML_TABLE);
}
astrid_toml *astrid_toml_new_array(void)
{
    return toml_new_node(ASTRID_TOML_ARRAY);
}

astrid_toml *astrid_toml_new_string(const char *s, size_t len)
{
    /* One allocation: the bytes live right after the node. */
    astrid_toml *n = malloc(sizeof *n + len + 1);
    if (!n)
        return NULL;
    memset(n, 0, sizeof *n);
    n->type = ASTRID_TOML_STRING;
    n->u.str.s = (char *)(n + 1);
    n->u.str.len = len;
    if (len)
        memcpy(n->u.str.s, s, len);
    n->u.str.s[len] = '\0';
    return n;
}

astrid_toml *astrid_toml_new_int(int64_t v)
{
    astrid_toml *n = toml_new_node(ASTRID_TOML_INTEGER);
    if (n)
        n->u.i = v;
    return n;
}

astrid_toml *astrid_toml_new_float(double v)
{
    astrid_toml *n = toml_new_node(ASTRID_TOML_FLOAT);
    if (n)
        n->u.f = v;
    return n;
}

astrid_toml *astrid_toml_new_bool(bool v)
{
    astrid_toml *n = toml_new_node(ASTRID_TOML_BOOL);
    if (n)
        n->u.b = v;
    return n;
}

astrid_toml *astrid_toml_new_datetime(astrid_toml_type t, const astrid_toml_datetime *dt)
{
    if (t < ASTRID_TOML_DATETIME || t > ASTRID_TOML_TIME_LOCAL || !dt)
        return NULL;
    astrid_toml *n = toml_new_node(t);
    if (n)
        n->u.dt = *dt;
    return n;
}

int astrid_toml_set(astrid_toml *table, const char *key, astrid_toml *value)
{
    if (!table || !key || !value || table->type != ASTRID_TOML_TABLE) {
        astrid_toml_free(value);
        return -1;
    }
    size_t klen = strlen(key);
    long i = find_slot(table, key, klen);
    if (i >= 0) {
        astrid_toml_free(table->u.tab.ents[i].val);
        table->u.tab.ents[i].val = value;
        return 0;
    }
    return toml_table_append(table, key, klen, value);
}

int astrid_toml_remove(astrid_toml *table, const char *key)
{
    if (!table || !key || table->type != ASTRID_TOML_TABLE)
        return -1;
    long i = find_slot(table, key, strlen(key));
    if (i < 0)
        return -1;
    free(table->u.tab.ents[i].key);
    astrid_toml_free(table->u.tab.ents[i].val);
    memmove(&table->u.tab.ents[i], &table->u.tab.ents[i + 1],
            (table->u.tab.n - (size_t)i - 1) * sizeof(toml_entry));
    table->u.tab.n--;
    if (table->u.tab.index && index_rebuild(table) != 0) {
        /* Without a fresh index lookups fall back to the linear scan. */
        free(table->u.tab.index);
        table->u.tab.index = NULL;
        table->u.tab.icap = 0;
    }
    return 0;
}

int astrid_toml_push(astrid_toml *array, astrid_toml *value)
{
    if (!array || !value || array->type != ASTRID_TOML_ARRAY) {
        astrid_toml_free(value);
        return -1;
    }
    if (array->u.arr.n == array->u.arr.cap) {
        size_t cap = array->u.arr.cap ? array->u.arr.cap * 2 : 4;
        astrid_toml **it = realloc(array->u.arr.items, cap * sizeof(astrid_toml *));
        if (!it) {
            astrid_toml_free(value);
            return -1;
        }
        array->u.arr.items = it;
        array->u.arr.cap = cap;
    }
    array->u.arr.items[array->u.arr.n++] = value;
    return 0;
}

astrid_toml *astrid_toml_clone(const astrid_toml *node)
{
    if (!node)
        return NULL;
    astrid_toml *c;
    switch (node->type) {
    case ASTRID_TOML_STRING:
        c = astrid_toml_new_string(node->u.str.s, node->u.str.len);
        break;
    case ASTRID_TOML_TABLE:
        c = astrid_toml_new_table();
        for (size_t i = 0; c && i < node->u.tab.n; i++) {
            const toml_entry *e = &node->u.tab.ents[i];
            astrid_toml *v = astrid_toml_clone(e->val);
            if (!v || toml_table_append(c, e->key, e->klen, v) != 0) {
                astrid_toml_free(c);
                return NULL;
            }
        }
        break;
    case ASTRID_TOML_ARRAY:
        c = astrid_toml_new_array();
        for (size_t i = 0; c && i < node->u.arr.n; i++) {
            astrid_toml *v = astrid_toml_clone(node->u.arr.items[i]);
            if (!v || astrid_toml_push(c, v) != 0) {
                astrid_toml_free(c);
                return NULL;
            }
        }
        break;
    default:
        c = toml_new_node(node->type);
        if (c)
            c->u = node->u;
        break;
    }
    if (c)
        c->flags = node->flags;
    return c;
}

static bool dt_equal(const astrid_toml_datetime *a, const astrid_toml_datetime *b,
                     astrid_toml_type t)
{
    if (t != ASTRID_TOML_TIME_LOCAL &&
        (a->year != b->year || a->month != b->month || a->day != b->day))
        return false;
    if (t != ASTRID_TOML_DATE_LOCAL && (a->hour != b->hour || a->minute != b->minute ||
                                        a->second != b->second || a->nanosecond != b->nanosecond))
        return false;
    return t != ASTRID_TOML_DATETIME || a->offset_minutes == b->offset_minutes;
}

bool astrid_toml_equal(const astrid_toml *a, const astrid_toml *b)
{
    if (!a || !b)
        return a == b;
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case ASTRID_TOML_TABLE:
        if (a->u.tab.n != b->u.tab.n)
            return false;
        for (size_t i = 0; i < a->u.tab.n; i++) {
            const toml_entry *e = &a->u.tab.ents[i];
            const astrid_toml *o = toml_table_find(b, e->key, e->klen);
            if (!o || !astrid_toml_equal(e->val, o))
                return false;
        }
        return true;
    case ASTRID_TOML_ARRAY:
        if (a->u.arr.n != b->u.arr.n)
            return false;
        for (size_t i = 0; i < a->u.arr.n; i++)
            if (!astrid_toml_equal(a->u.arr.items[i], b->u.arr.items[i]))
                return false;
        return true;
    case ASTRID_TOML_STRING:
        return a->u.str.len == b->u.str.len && memcmp(a->u.str.s, b->u.str.s, a->u.str.len) == 0;
    case ASTRID_TOML_INTEGER:
        return a->u.i == b->u.i;
    case ASTRID_TOML_FLOAT:
        if (isnan(a->u.f) || isnan(b->u.f))
            return isnan(a->u.f) && isnan(b->u.f);
        {
            /* Bitwise, so 0.0 and -0.0 differ. */
            uint64_t x, y;
            memcpy(&x, &a->u.f, sizeof x);
            memcpy(&y, &b->u.f, sizeof y);
            return x == y;
        }
    case ASTRID_TOML_BOOL:
        return a->u.b == b->u.b;
    default:
        return dt_equal(&a->u.dt, &b->u.dt, a->type);
    }
}

/* ---------------------------------------------------------- NUL search */

typedef struct nul_path {
    char *buf;
    size_t cap, len;
} nul_path;

static void path_put(nul_path *p, const char *s, size_t n)
{
    for (size_t i = 0; i < n && p->len + 1 < p->cap; i++)
        p->buf[p->len++] = s[i];
    if (p->cap)
        p->buf[p->len < p->cap ? p->len : p->cap - 1] = '\0';
}

/* A key as TOML would write it: bare when it can be, else quoted with
 * control bytes (the NUL among them) escaped. */
static void path_key(nul_path *p, const char *k, size_t n)
{
    bool bare = n > 0;
    for (size_t i = 0; i < n && bare; i++)
        bare = (k[i] >= 'a' && k[i] <= 'z') || (k[i] >= 'A' && k[i] <= 'Z') ||
               (k[i] >= '0' && k[i] <= '9') || k[i] == '_' || k[i] == '-';
    if (p->len > 0)
        path_put(p, ".", 1);
    if (bare) {
        path_put(p, k, n);
        return;
    }
    path_put(p, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)k[i];
        char esc[8];
        if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            path_put(p, esc, 6);
        } else if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            path_put(p, esc, 2);
        } else {
            path_put(p, k + i, 1);
        }
    }
    path_put(p, "\"", 1);
}

static bool find_nul(const astrid_toml *n, nul_path *p)
{
    size_t mark = p->len;
    switch (n->type) {
    case ASTRID_TOML_STRING:
        return memchr(n->u.str.s, '\0', n->u.str.len) != NULL;
    case ASTRID_TOML_TABLE:
        for (size_t i = 0; i < n->u.tab.n; i++) {
            const toml_entry *e = &n->u.tab.ents[i];
            path_key(p, e->key, e->klen);
            if (memchr(e->key, '\0', e->klen) || find_nul(e->val, p))
                return true;
            p->len = mark;
            if (p->cap)
                p->buf[mark < p->cap ? mark : p->cap - 1] = '\0';
        }
        return false;
    case ASTRID_TOML_ARRAY:
        for (size_t i = 0; i < n->u.arr.n; i++) {
            char idx[32];
            int w = snprintf(idx, sizeof idx, "[%zu]", i);
            path_put(p, idx, (size_t)w);
            if (find_nul(n->u.arr.items[i], p))
                return true;
            p->len = mark;
            if (p->cap)
                p->buf[mark < p->cap ? mark : p->cap - 1] = '\0';
        }
        return false;
    default:
        return false;
    }
}

bool astrid_toml_find_nul(const astrid_toml *node, char *path, size_t pathsz)
{
    char dummy[1];
    nul_path p = {path ? path : dummy, path ? pathsz : sizeof dummy, 0};
    if (p.cap)
        p.buf[0] = '\0';
    return node && find_nul(node, &p);
}
