/* JSON tree for capsules; contract in astrid_json.h. Checked against
 * jansson by tests/unit/test_sdk_json.c (same documents, same answers). */
#include "astrid_json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct astrid_json {
    astrid_json_type type;
    bool is_int; /* number written without fraction or exponent, fits int64 */
    union {
        bool b;
        struct {
            double d;
            int64_t i;
        } num;
        struct {
            char *s;
            size_t n;
        } str;
        struct {
            astrid_json **items;
            char **keys; /* objects only */
            size_t n, cap;
        } c;
    } u;
};

static astrid_json *node(astrid_json_type t)
{
    astrid_json *v = calloc(1, sizeof *v);
    if (v)
        v->type = t;
    return v;
}

void astrid_json_free(astrid_json *v)
{
    if (!v)
        return;
    if (v->type == ASTRID_JSON_STRING)
        free(v->u.str.s);
    else if (v->type == ASTRID_JSON_ARRAY || v->type == ASTRID_JSON_OBJECT) {
        for (size_t i = 0; i < v->u.c.n; i++) {
            astrid_json_free(v->u.c.items[i]);
            if (v->u.c.keys)
                free(v->u.c.keys[i]);
        }
        free(v->u.c.items);
        free(v->u.c.keys);
    }
    free(v);
}

/* ---- parser ---- */
typedef struct parser {
    const char *p, *end, *start;
    char **err;
    int depth;
} parser;

static astrid_json *json_fail(parser *ps, const char *what)
{
    if (ps->err && !*ps->err) {
        char buf[160];
        snprintf(buf, sizeof buf, "json: %s at byte %zu", what, (size_t)(ps->p - ps->start));
        *ps->err = strdup(buf);
    }
    return NULL;
}

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Length of the valid UTF-8 sequence at p (at most end), 0 when invalid
 * (overlongs, surrogates and code points over U+10FFFF included). */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* Parses a string literal at ps->p (the opening quote) into a malloc'd
 * buffer; the decoded text is never longer than the literal. */
static char *parse_string(parser *ps, size_t *outn)
{
    const char *p = ps->p + 1;
    char *out = malloc((size_t)(ps->end - p) + 1);
    size_t n = 0;
    if (!out)
        return (char *)json_fail(ps, "out of memory");
    while (p < ps->end && *p != '"') {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20) {
            ps->p = p;
            free(out);
            return (char *)json_fail(ps, "control character in string");
        }
        if (c != '\\') {
            size_t k = utf8_seq((const unsigned char *)p, (const unsigned char *)ps->end);
            if (k == 0) {
                ps->p = p;
                free(out);
                return (char *)json_fail(ps, "invalid UTF-8 in string");
            }
            memcpy(out + n, p, k);
            n += k;
            p += k;
            continue;
        }
        if (++p >= ps->end)
            break;
        char e = *p++;
        switch (e) {
        case '"':
            out[n++] = '"';
            break;
        case '\\':
            out[n++] = '\\';
            break;
        case '/':
            out[n++] = '/';
            break;
        case 'b':
            out[n++] = '\b';
            break;
        case 'f':
            out[n++] = '\f';
            break;
        case 'n':
            out[n++] = '\n';
            break;
        case 'r':
            out[n++] = '\r';
            break;
        case 't':
            out[n++] = '\t';
            break;
        case 'u': {
            unsigned cp, lo;
            if (ps->end - p < 4 || hex4(p, &cp) != 0) {
                ps->p = p;
                free(out);
                return (char *)json_fail(ps, "bad \\u escape");
            }
            p += 4;
            if (cp >= 0xDC00 && cp <= 0xDFFF) {
                ps->p = p;
                free(out);
                return (char *)json_fail(ps, "lone low surrogate");
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (ps->end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) != 0 ||
                    lo < 0xDC00 || lo > 0xDFFF) {
                    ps->p = p;
                    free(out);
                    return (char *)json_fail(ps, "lone high surrogate");
                }
                p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            n += put_utf8(out + n, cp);
            break;
        }
        default:
            ps->p = p - 1;
            free(out);
            return (char *)json_fail(ps, "bad escape");
        }
    }
    if (p >= ps->end) {
        ps->p = p;
        free(out);
        return (char *)json_fail(ps, "unterminated string");
    }
    ps->p = p + 1;
    out[n] = '\0';
    *outn = n;
    return out;
}

static astrid_json *parse_value(parser *ps);

static int grow(astrid_json *c, bool keys)
{
    if (c->u.c.n < c->u.c.cap)
        return 0;
    size_t cap = c->u.c.cap ? c->u.c.cap * 2 : 4;
    /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers, sized by its element */
    astrid_json **it = realloc(c->u.c.items, cap * sizeof *it);
    if (!it)
        return -1;
    /* New slots start NULL: when the keys' realloc below fails the items
     * array is already the larger one, and nothing past n may read as a
     * pointer (astrid_json_free walks only n, the analyzer cannot tell). */
    // NOLINTNEXTLINE(bugprone-sizeof-expression): as above
    memset(it + c->u.c.cap, 0, (cap - c->u.c.cap) * sizeof *it);
    c->u.c.items = it;
    if (keys) {
        char **k = realloc(c->u.c.keys, cap * sizeof *k);
        if (!k)
            return -1;
        memset(k + c->u.c.cap, 0, (cap - c->u.c.cap) * sizeof *k);
        c->u.c.keys = k;
    }
    c->u.c.cap = cap;
    return 0;
}

static astrid_json *parse_container(parser *ps, bool obj)
{
    if (++ps->depth > ASTRID_JSON_MAX_DEPTH)
        return json_fail(ps, "nesting too deep");
    astrid_json *c = node(obj ? ASTRID_JSON_OBJECT : ASTRID_JSON_ARRAY);
    if (!c)
        return json_fail(ps, "out of memory");
    char close = obj ? '}' : ']';
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        ps->depth--;
        return c;
    }
    for (;;) {
        char *key = NULL;
        size_t kn;
        skip_ws(ps);
        if (obj) {
            if (ps->p >= ps->end || *ps->p != '"')
                goto bad_key;
            if (!(key = parse_string(ps, &kn)))
                goto err;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                free(key);
                json_fail(ps, "expected ':'");
                goto err;
            }
            ps->p++;
        }
        astrid_json *v = parse_value(ps);
        if (!v || grow(c, obj) != 0) {
            free(key);
            astrid_json_free(v);
            if (v)
                json_fail(ps, "out of memory");
            goto err;
        }
        if (obj)
            c->u.c.keys[c->u.c.n] = key;
        c->u.c.items[c->u.c.n++] = v;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            ps->depth--;
            return c;
        }
        json_fail(ps, obj ? "expected ',' or '}'" : "expected ',' or ']'");
        goto err;
    }
bad_key:
    json_fail(ps, "expected a string key");
err:
    astrid_json_free(c);
    return NULL;
}

static astrid_json *parse_number(parser *ps)
{
    const char *p = ps->p, *s = p;
    bool integral = true;
    if (p < ps->end && *p == '-')
        p++;
    if (p >= ps->end || *p < '0' || *p > '9')
        return json_fail(ps, "bad number");
    if (*p == '0')
        p++;
    else
        while (p < ps->end && *p >= '0' && *p <= '9')
            p++;
    if (p < ps->end && *p == '.') {
        integral = false;
        p++;
        if (p >= ps->end || *p < '0' || *p > '9')
            return json_fail(ps, "bad number");
        while (p < ps->end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < ps->end && (*p == 'e' || *p == 'E')) {
        integral = false;
        p++;
        if (p < ps->end && (*p == '+' || *p == '-'))
            p++;
        if (p >= ps->end || *p < '0' || *p > '9')
            return json_fail(ps, "bad number");
        while (p < ps->end && *p >= '0' && *p <= '9')
            p++;
    }
    char buf[64];
    size_t n = (size_t)(p - s);
    char *tmp = n < sizeof buf ? buf : malloc(n + 1);
    if (!tmp)
        return json_fail(ps, "out of memory");
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    astrid_json *v = node(ASTRID_JSON_NUMBER);
    if (v) {
        v->u.num.d = strtod(tmp, NULL);
        if (integral) {
            errno = 0;
            long long ll = strtoll(tmp, NULL, 10);
            if (errno == 0) {
                v->is_int = true;
                v->u.num.i = ll;
            }
        }
    }
    if (tmp != buf)
        free(tmp);
    ps->p = p;
    return v ? v : json_fail(ps, "out of memory");
}

static bool lit(parser *ps, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n) != 0)
        return false;
    ps->p += n;
    return true;
}

static astrid_json *parse_value(parser *ps)
{
    skip_ws(ps);
    if (ps->p >= ps->end)
        return json_fail(ps, "unexpected end of input");
    switch (*ps->p) {
    case '{':
        return parse_container(ps, true);
    case '[':
        return parse_container(ps, false);
    case '"': {
        size_t n = 0;
        char *s = parse_string(ps, &n);
        if (!s)
            return NULL;
        astrid_json *v = node(ASTRID_JSON_STRING);
        if (!v) {
            free(s);
            return json_fail(ps, "out of memory");
        }
        v->u.str.s = s;
        v->u.str.n = n;
        return v;
    }
    case 't':
        if (lit(ps, "true"))
            return astrid_json_boolean(true);
        break;
    case 'f':
        if (lit(ps, "false"))
            return astrid_json_boolean(false);
        break;
    case 'n':
        if (lit(ps, "null"))
            return astrid_json_null();
        break;
    default:
        if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
            return parse_number(ps);
    }
    return json_fail(ps, "unexpected character");
}

astrid_json *astrid_json_parse(const char *text, size_t len, char **err)
{
    if (err)
        *err = NULL;
    if (!text) { /* before text + len: arithmetic on NULL is undefined */
        static const char empty[] = "";
        parser none = {empty, empty, empty, err, 0};
        return json_fail(&none, "no input");
    }
    parser ps = {text, text + len, text, err, 0};
    astrid_json *v = parse_value(&ps);
    if (!v)
        return NULL;
    skip_ws(&ps);
    if (ps.p != ps.end) {
        astrid_json_free(v);
        return json_fail(&ps, "trailing characters");
    }
    return v;
}

/* ---- reading ---- */
astrid_json_type astrid_json_typeof(const astrid_json *v)
{
    return v ? v->type : ASTRID_JSON_NULL;
}
bool astrid_json_is(const astrid_json *v, astrid_json_type t)
{
    return v && v->type == t;
}

astrid_json *astrid_json_get(const astrid_json *v, const char *key)
{
    if (!v || v->type != ASTRID_JSON_OBJECT || !key)
        return NULL;
    for (size_t i = v->u.c.n; i-- > 0;)
        if (strcmp(v->u.c.keys[i], key) == 0)
            return v->u.c.items[i];
    return NULL;
}

astrid_json *astrid_json_at(const astrid_json *v, size_t i)
{
    if (!v || (v->type != ASTRID_JSON_ARRAY && v->type != ASTRID_JSON_OBJECT) || i >= v->u.c.n)
        return NULL;
    return v->u.c.items[i];
}

const char *astrid_json_key_at(const astrid_json *v, size_t i)
{
    if (!v || v->type != ASTRID_JSON_OBJECT || i >= v->u.c.n)
        return NULL;
    return v->u.c.keys[i];
}

size_t astrid_json_len(const astrid_json *v)
{
    if (!v)
        return 0;
    if (v->type == ASTRID_JSON_STRING)
        return v->u.str.n;
    if (v->type == ASTRID_JSON_ARRAY || v->type == ASTRID_JSON_OBJECT)
        return v->u.c.n;
    return 0;
}

const char *astrid_json_str(const astrid_json *v)
{
    return v && v->type == ASTRID_JSON_STRING ? v->u.str.s : NULL;
}

const char *astrid_json_str_or(const astrid_json *v, const char *dflt)
{
    const char *s = astrid_json_str(v);
    return s ? s : dflt;
}

double astrid_json_num(const astrid_json *v, double dflt)
{
    return v && v->type == ASTRID_JSON_NUMBER ? v->u.num.d : dflt;
}

int64_t astrid_json_int(const astrid_json *v, int64_t dflt)
{
    return v && v->type == ASTRID_JSON_NUMBER && v->is_int ? v->u.num.i : dflt;
}

bool astrid_json_bool(const astrid_json *v, bool dflt)
{
    return v && v->type == ASTRID_JSON_BOOL ? v->u.b : dflt;
}

const char *astrid_json_get_str(const astrid_json *obj, const char *key)
{
    return astrid_json_str(astrid_json_get(obj, key));
}

int64_t astrid_json_get_int(const astrid_json *obj, const char *key, int64_t dflt)
{
    return astrid_json_int(astrid_json_get(obj, key), dflt);
}

bool astrid_json_get_bool(const astrid_json *obj, const char *key, bool dflt)
{
    return astrid_json_bool(astrid_json_get(obj, key), dflt);
}

/* ---- building ---- */
astrid_json *astrid_json_null(void)
{
    return node(ASTRID_JSON_NULL);
}

astrid_json *astrid_json_boolean(bool b)
{
    astrid_json *v = node(ASTRID_JSON_BOOL);
    if (v)
        v->u.b = b;
    return v;
}

astrid_json *astrid_json_number(double d)
{
    astrid_json *v = node(ASTRID_JSON_NUMBER);
    if (v)
        v->u.num.d = d;
    return v;
}

astrid_json *astrid_json_integer(int64_t i)
{
    astrid_json *v = node(ASTRID_JSON_NUMBER);
    if (v) {
        v->is_int = true;
        v->u.num.i = i;
        v->u.num.d = (double)i;
    }
    return v;
}

astrid_json *astrid_json_stringn(const char *s, size_t n)
{
    if (!s)
        return astrid_json_null();
    astrid_json *v = node(ASTRID_JSON_STRING);
    if (!v)
        return NULL;
    if (!(v->u.str.s = malloc(n + 1))) {
        free(v);
        return NULL;
    }
    memcpy(v->u.str.s, s, n);
    v->u.str.s[n] = '\0';
    v->u.str.n = n;
    return v;
}

astrid_json *astrid_json_string(const char *s)
{
    return astrid_json_stringn(s, s ? strlen(s) : 0);
}
astrid_json *astrid_json_array(void)
{
    return node(ASTRID_JSON_ARRAY);
}
astrid_json *astrid_json_object(void)
{
    return node(ASTRID_JSON_OBJECT);
}

astrid_json *astrid_json_copy(const astrid_json *v)
{
    if (!v)
        return NULL;
    switch (v->type) {
    case ASTRID_JSON_STRING:
        return astrid_json_stringn(v->u.str.s, v->u.str.n);
    case ASTRID_JSON_ARRAY:
    case ASTRID_JSON_OBJECT: {
        astrid_json *c = node(v->type);
        for (size_t i = 0; c && i < v->u.c.n; i++) {
            astrid_json *it = astrid_json_copy(v->u.c.items[i]);
            int rc = v->type == ASTRID_JSON_OBJECT ? astrid_json_set(c, v->u.c.keys[i], it)
                                                   : astrid_json_append(c, it);
            if (rc != 0) {
                astrid_json_free(c);
                return NULL;
            }
        }
        return c;
    }
    default: {
        astrid_json *c = node(v->type);
        if (c)
            *c = *v;
        return c;
    }
    }
}

int astrid_json_set(astrid_json *obj, const char *key, astrid_json *val)
{
    if (!obj || obj->type != ASTRID_JSON_OBJECT || !key || !val) {
        astrid_json_free(val);
        return -1;
    }
    for (size_t i = 0; i < obj->u.c.n; i++)
        if (strcmp(obj->u.c.keys[i], key) == 0) {
            astrid_json_free(obj->u.c.items[i]);
            obj->u.c.items[i] = val;
            return 0;
        }
    char *k = strdup(key);
    if (!k || grow(obj, true) != 0) {
        free(k);
        astrid_json_free(val);
        return -1;
    }
    obj->u.c.keys[obj->u.c.n] = k;
    obj->u.c.items[obj->u.c.n++] = val;
    return 0;
}

int astrid_json_set_str(astrid_json *obj, const char *key, const char *s)
{
    return astrid_json_set(obj, key, astrid_json_string(s));
}

int astrid_json_set_int(astrid_json *obj, const char *key, int64_t i)
{
    return astrid_json_set(obj, key, astrid_json_integer(i));
}

int astrid_json_set_bool(astrid_json *obj, const char *key, bool b)
{
    return astrid_json_set(obj, key, astrid_json_boolean(b));
}

int astrid_json_append(astrid_json *arr, astrid_json *val)
{
    if (!arr || arr->type != ASTRID_JSON_ARRAY || !val || grow(arr, false) != 0) {
        astrid_json_free(val);
        return -1;
    }
    arr->u.c.items[arr->u.c.n++] = val;
    return 0;
}

astrid_json *astrid_json_take(astrid_json *obj, const char *key)
{
    if (!obj || obj->type != ASTRID_JSON_OBJECT || !key)
        return NULL;
    for (size_t i = obj->u.c.n; i-- > 0;)
        if (strcmp(obj->u.c.keys[i], key) == 0) {
            astrid_json *v = obj->u.c.items[i];
            free(obj->u.c.keys[i]);
            memmove(&obj->u.c.items[i], &obj->u.c.items[i + 1],
                    (obj->u.c.n - i - 1) *
                        sizeof *obj->u.c.items); // NOLINT(bugprone-sizeof-expression): pointers
            memmove(&obj->u.c.keys[i], &obj->u.c.keys[i + 1],
                    (obj->u.c.n - i - 1) * sizeof *obj->u.c.keys);
            obj->u.c.n--;
            return v;
        }
    return NULL;
}

/* ---- writing ---- */
static int put(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    /* len + n + 1 and the doubling below must not wrap: a wrapped sum would
     * skip the growth and write past the buffer. No document gets near. */
    if (*len > SIZE_MAX / 4 || n > SIZE_MAX / 4)
        return -1;
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 64;
        while (c < *len + n + 1)
            c *= 2;
        char *b = realloc(*buf, c);
        if (!b)
            return -1;
        *buf = b;
        *cap = c;
    }
    if (n)
        memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

int astrid_json_quote(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (put(buf, len, cap, "\"", 1) != 0)
        return -1;
    size_t run = 0; /* bytes copied verbatim in one put */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[7];
        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\f':
            esc = "\\f";
            break;
        default:
            if (c < 0x20) {
                u[0] = '\\', u[1] = 'u', u[2] = '0', u[3] = '0', u[4] = hex[c >> 4],
                u[5] = hex[c & 15], u[6] = '\0';
                esc = u;
            }
        }
        if (!esc) {
            run++;
            continue;
        }
        if (put(buf, len, cap, s + i - run, run) != 0 || put(buf, len, cap, esc, strlen(esc)) != 0)
            return -1;
        run = 0;
    }
    if (put(buf, len, cap, s + n - run, run) != 0)
        return -1;
    return put(buf, len, cap, "\"", 1);
}

static int dump(const astrid_json *v, char **buf, size_t *len, size_t *cap)
{
    char num[40];
    switch (v->type) {
    case ASTRID_JSON_NULL:
        return put(buf, len, cap, "null", 4);
    case ASTRID_JSON_BOOL:
        return v->u.b ? put(buf, len, cap, "true", 4) : put(buf, len, cap, "false", 5);
    case ASTRID_JSON_NUMBER:
        if (v->is_int)
            snprintf(num, sizeof num, "%lld", (long long)v->u.num.i);
        else if (!isfinite(v->u.num.d))
            snprintf(num, sizeof num, "null");
        else {
            snprintf(num, sizeof num, "%.17g", v->u.num.d);
            /* keep a float a float when read back: 2.0 dumps "2.0", not "2" */
            if (!strpbrk(num, ".eEn"))
                strncat(num, ".0", sizeof num - strlen(num) - 1);
        }
        return put(buf, len, cap, num, strlen(num));
    case ASTRID_JSON_STRING:
        return astrid_json_quote(buf, len, cap, v->u.str.s, v->u.str.n);
    case ASTRID_JSON_ARRAY:
    case ASTRID_JSON_OBJECT: {
        bool obj = v->type == ASTRID_JSON_OBJECT;
        if (put(buf, len, cap, obj ? "{" : "[", 1) != 0)
            return -1;
        for (size_t i = 0; i < v->u.c.n; i++) {
            if (i && put(buf, len, cap, ",", 1) != 0)
                return -1;
            if (obj &&
                (astrid_json_quote(buf, len, cap, v->u.c.keys[i], strlen(v->u.c.keys[i])) != 0 ||
                 put(buf, len, cap, ":", 1) != 0))
                return -1;
            if (dump(v->u.c.items[i], buf, len, cap) != 0)
                return -1;
        }
        return put(buf, len, cap, obj ? "}" : "]", 1);
    }
    }
    return -1;
}

char *astrid_json_dump(const astrid_json *v)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    if (!v)
        return strdup("null");
    if (dump(v, &buf, &len, &cap) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
