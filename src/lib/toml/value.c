/* TOML values: numbers, booleans, date-times, arrays and inline tables. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "parser.h"

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* Characters a number/date token may contain; the token ends at anything else. */
static bool tok_char(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           c == '+' || c == '-' || c == '.';
}

/* Digits in `base` with single underscores strictly between digits.
 * Returns chars consumed (0 when no digit at t[0]). */
static size_t digit_run(const char *t, size_t n, int base)
{
    size_t i = 0;
    for (;;) {
        if (i >= n)
            return i;
        int c = (unsigned char)t[i], v;
        if (c >= '0' && c <= '9')
            v = c - '0';
        else if (c >= 'a' && c <= 'f')
            v = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v = c - 'A' + 10;
        else
            v = 99;
        if (v < base) {
            i++;
            continue;
        }
        if (c == '_' && i > 0 && i + 1 < n && t[i - 1] != '_') {
            int d = (unsigned char)t[i + 1], w;
            w = is_digit(d)                              ? d - '0'
                : (d | 0x20) >= 'a' && (d | 0x20) <= 'f' ? (d | 0x20) - 'a' + 10
                                                         : 99;
            if (w < base) {
                i++;
                continue;
            }
        }
        return i;
    }
}

static astrid_toml *new_float(toml_parser *p, double v)
{
    astrid_toml *n = astrid_toml_new_float(v);
    if (!n)
        toml_fail_at(p, p->pos, ASTRID_E_NOMEM, "out of memory");
    return n;
}

static astrid_toml *parse_number(toml_parser *p)
{
    const char *t = p->s + p->pos;
    size_t start = p->pos, n = 0;
    while (p->pos + n < p->len && tok_char((unsigned char)t[n]))
        n++;
    size_t i = 0;
    bool neg = false, sign = false;
    if (t[0] == '+' || t[0] == '-') {
        neg = t[0] == '-';
        sign = true;
        i = 1;
    }
    if (n - i == 3 && (memcmp(t + i, "inf", 3) == 0 || memcmp(t + i, "nan", 3) == 0)) {
        p->pos += n;
        if (t[i] == 'i')
            return new_float(p, neg ? -INFINITY : INFINITY);
        return new_float(p, neg ? -NAN : NAN);
    }
    if (!sign && n > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'o' || t[1] == 'b')) {
        int base = t[1] == 'x' ? 16 : t[1] == 'o' ? 8 : 2;
        size_t d = digit_run(t + 2, n - 2, base);
        if (d == 0 || d != n - 2)
            return toml_fail_at(p, start, ASTRID_E_PARSE, "invalid integer"), NULL;
        uint64_t v = 0;
        for (size_t k = 2; k < n; k++) {
            if (t[k] == '_')
                continue;
            int c = (unsigned char)t[k];
            uint64_t dv = is_digit(c) ? (uint64_t)(c - '0') : (uint64_t)((c | 0x20) - 'a' + 10);
            if (v > (UINT64_C(0x7fffffffffffffff) - dv) / (uint64_t)base)
                return toml_fail_at(p, start, ASTRID_E_PARSE, "integer out of range"), NULL;
            v = v * (uint64_t)base + dv;
        }
        p->pos += n;
        astrid_toml *node = astrid_toml_new_int((int64_t)v);
        if (!node)
            toml_fail_at(p, start, ASTRID_E_NOMEM, "out of memory");
        return node;
    }
    size_t ip = digit_run(t + i, n - i, 10);
    if (ip == 0)
        return toml_fail_at(p, start, ASTRID_E_PARSE, "invalid value"), NULL;
    if (t[i] == '0' && ip > 1)
        return toml_fail_at(p, start, ASTRID_E_PARSE, "leading zeros are not allowed"), NULL;
    size_t k = i + ip;
    bool is_float = false;
    if (k < n && t[k] == '.') {
        size_t f = digit_run(t + k + 1, n - k - 1, 10);
        if (f == 0)
            return toml_fail_at(p, start, ASTRID_E_PARSE,
                                "a decimal point must be followed by digits"),
                   NULL;
        k += 1 + f;
        is_float = true;
    }
    if (k < n && (t[k] == 'e' || t[k] == 'E')) {
        k++;
        if (k < n && (t[k] == '+' || t[k] == '-'))
            k++;
        size_t e = digit_run(t + k, n - k, 10);
        if (e == 0)
            return toml_fail_at(p, start, ASTRID_E_PARSE, "exponent needs digits"), NULL;
        k += e;
        is_float = true;
    }
    if (k != n)
        return toml_fail_at(p, start, ASTRID_E_PARSE, "invalid number"), NULL;
    p->pos += n;
    if (!is_float) {
        uint64_t v = 0, lim = neg ? UINT64_C(0x8000000000000000) : UINT64_C(0x7fffffffffffffff);
        for (size_t j = i; j < n; j++) {
            if (t[j] == '_')
                continue;
            uint64_t dv = (uint64_t)(t[j] - '0');
            if (v > (lim - dv) / 10)
                return toml_fail_at(p, start, ASTRID_E_PARSE, "integer out of range"), NULL;
            v = v * 10 + dv;
        }
        astrid_toml *node = astrid_toml_new_int(neg ? (int64_t)(0 - v) : (int64_t)v);
        if (!node)
            toml_fail_at(p, start, ASTRID_E_NOMEM, "out of memory");
        return node;
    }
    char small[64], *b = small;
    if (n >= sizeof small) {
        b = malloc(n + 1);
        if (!b)
            return toml_fail_at(p, start, ASTRID_E_NOMEM, "out of memory"), NULL;
    }
    size_t bl = 0;
    for (size_t j = 0; j < n; j++)
        if (t[j] != '_')
            b[bl++] = t[j];
    b[bl] = '\0';
    double v = strtod(b, NULL);
    if (b != small)
        free(b);
    return new_float(p, v);
}

static astrid_toml *parse_datetime(toml_parser *p)
{
    astrid_toml_type type;
    astrid_toml_datetime dt;
    const char *why = NULL;
    long n = toml_scan_datetime(p->s + p->pos, p->len - p->pos, &type, &dt, &why);
    if (n < 0)
        return toml_fail_at(p, p->pos, ASTRID_E_PARSE, why), NULL;
    p->pos += (size_t)n;
    astrid_toml *node = astrid_toml_new_datetime(type, &dt);
    if (!node)
        toml_fail_at(p, p->pos, ASTRID_E_NOMEM, "out of memory");
    return node;
}

/* Whitespace, newlines and comments between array elements. */
static void skip_ws_nl(toml_parser *p)
{
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            p->pos++;
        } else if (c == '#') {
            while (p->pos < p->len && p->s[p->pos] != '\n')
                p->pos++;
        } else {
            break;
        }
    }
}

static int enter(toml_parser *p)
{
    if (p->depth >= ASTRID_TOML_MAX_DEPTH)
        return toml_fail_at(p, p->pos, ASTRID_E_LIMIT,
                            "nesting too deep (limit "
                            "ASTRID_TOML_MAX_DEPTH = 128)");
    p->depth++;
    return 0;
}

static astrid_toml *parse_array(toml_parser *p)
{
    if (enter(p) != 0)
        return NULL;
    p->pos++;
    astrid_toml *arr = astrid_toml_new_array();
    if (!arr)
        return toml_fail_at(p, p->pos, ASTRID_E_NOMEM, "out of memory"), NULL;
    for (;;) {
        skip_ws_nl(p);
        if (tp_peek(p) == ']')
            break;
        astrid_toml *v = toml_parse_value(p);
        if (!v)
            goto fail;
        if (astrid_toml_push(arr, v) != 0) {
            toml_fail_at(p, p->pos, ASTRID_E_NOMEM, "out of memory");
            goto fail;
        }
        skip_ws_nl(p);
        int c = tp_peek(p);
        if (c == ',') {
            p->pos++;
            continue;
        }
        if (c == ']')
            break;
        toml_fail(p, c < 0 ? "unterminated array" : "expected ',' or ']' in array");
        goto fail;
    }
    p->pos++;
    p->depth--;
    return arr;
fail:
    astrid_toml_free(arr);
    return NULL;
}

static astrid_toml *parse_inline_table(toml_parser *p)
{
    if (enter(p) != 0)
        return NULL;
    p->pos++;
    astrid_toml *t = astrid_toml_new_table();
    if (!t)
        return toml_fail_at(p, p->pos, ASTRID_E_NOMEM, "out of memory"), NULL;
    t->flags = TF_INLINE;
    tp_skip_ws(p);
    if (tp_peek(p) != '}') {
        for (;;) {
            tp_skip_ws(p);
            int c = tp_peek(p);
            if (c == '\n' || c == '\r') {
                toml_fail(p, "newlines are not allowed in inline tables");
                goto fail;
            }
            if (c == '}') {
                toml_fail(p, "trailing comma in inline table");
                goto fail;
            }
            if (toml_parse_keyval(p, t, true) != 0)
                goto fail;
            tp_skip_ws(p);
            c = tp_peek(p);
            if (c == ',') {
                p->pos++;
                continue;
            }
            if (c == '}')
                break;
            toml_fail(p, c < 0 || c == '\n' || c == '\r' ? "unterminated inline table"
                                                         : "expected ',' or '}' in inline table");
            goto fail;
        }
    }
    p->pos++;
    p->depth--;
    t->flags |= TF_FROZEN;
    return t;
fail:
    astrid_toml_free(t);
    return NULL;
}

astrid_toml *toml_parse_value(toml_parser *p)
{
    int c = tp_peek(p);
    switch (c) {
    case '"':
    case '\'': {
        const char *src;
        size_t off, n, mark = p->blen;
        if (toml_scan_string(p, true, &src, &off, &n) != 0)
            return NULL;
        astrid_toml *node = astrid_toml_new_string(src ? src : p->buf ? p->buf + off : "", n);
        p->blen = mark;
        if (!node)
            toml_fail_at(p, p->pos, ASTRID_E_NOMEM, "out of memory");
        return node;
    }
    case 't':
    case 'f': {
        size_t n = c == 't' ? 4 : 5;
        if (p->len - p->pos >= n && memcmp(p->s + p->pos, c == 't' ? "true" : "false", n) == 0 &&
            (p->pos + n == p->len || !tok_char((unsigned char)p->s[p->pos + n]))) {
            p->pos += n;
            astrid_toml *node = astrid_toml_new_bool(c == 't');
            if (!node)
                toml_fail_at(p, p->pos, ASTRID_E_NOMEM, "out of memory");
            return node;
        }
        break;
    }
    case '[':
        return parse_array(p);
    case '{':
        return parse_inline_table(p);
    case '+':
    case '-':
    case 'i':
    case 'n':
        return parse_number(p);
    default:
        if (is_digit(c)) {
            const char *s = p->s + p->pos;
            size_t rest = p->len - p->pos;
            if ((rest > 4 && is_digit(s[1]) && is_digit(s[2]) && is_digit(s[3]) && s[4] == '-') ||
                (rest > 2 && is_digit(s[1]) && s[2] == ':'))
                return parse_datetime(p);
            return parse_number(p);
        }
        break;
    }
    toml_fail(p, c < 0 || c == '\n' || c == '\r' ? "expected a value" : "invalid value");
    return NULL;
}
