/* TOML string literals: basic, literal and their multi-line forms, with
 * escape decoding (\uXXXX / \UXXXXXXXX checked against surrogates and the
 * Unicode range) and line-ending backslashes. */
#include <stdlib.h>
#include <string.h>

#include "parser.h"

int toml_buf_reserve(toml_parser *p, size_t extra)
{
    if (p->blen + extra <= p->bcap)
        return 0;
    size_t cap = p->bcap ? p->bcap : 256;
    while (cap < p->blen + extra)
        cap *= 2;
    char *b = realloc(p->buf, cap);
    if (!b)
        return toml_fail_at(p, p->pos, ASTRID_E_NOMEM, "out of memory");
    p->buf = b;
    p->bcap = cap;
    return 0;
}

static int put(toml_parser *p, const char *src, size_t n)
{
    if (n == 0)
        return 0;
    if (toml_buf_reserve(p, n) != 0)
        return -1;
    memcpy(p->buf + p->blen, src, n);
    p->blen += n;
    return 0;
}

static int put_utf8(toml_parser *p, uint32_t cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp, n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6)), b[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12)), b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18)), b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), b[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    }
    return put(p, b, n);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* p->pos is at the backslash. */
static int escape(toml_parser *p, bool multi)
{
    size_t at = p->pos;
    if (p->pos + 1 >= p->len)
        return toml_fail_at(p, at, ASTRID_E_PARSE, "unterminated string");
    char c = p->s[p->pos + 1];
    p->pos += 2;
    switch (c) {
    case 'b':
        return put(p, "\b", 1);
    case 't':
        return put(p, "\t", 1);
    case 'n':
        return put(p, "\n", 1);
    case 'f':
        return put(p, "\f", 1);
    case 'r':
        return put(p, "\r", 1);
    case '"':
        return put(p, "\"", 1);
    case '\\':
        return put(p, "\\", 1);
    case 'u':
    case 'U': {
        int n = c == 'u' ? 4 : 8;
        uint32_t cp = 0;
        for (int i = 0; i < n; i++) {
            int h = p->pos < p->len ? hexval((unsigned char)p->s[p->pos]) : -1;
            if (h < 0)
                return toml_fail_at(p, at, ASTRID_E_PARSE,
                                    c == 'u' ? "\\u escape needs 4 hex digits"
                                             : "\\U escape needs 8 hex digits");
            cp = (cp << 4) | (uint32_t)h;
            p->pos++;
        }
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return toml_fail_at(p, at, ASTRID_E_PARSE, "escape is not a Unicode scalar value");
        return put_utf8(p, cp);
    }
    default:
        break;
    }
    if (multi && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
        /* Line-ending backslash: only whitespace may sit before the newline;
         * then every following whitespace and newline is trimmed. */
        size_t q = p->pos - 1;
        while (q < p->len && (p->s[q] == ' ' || p->s[q] == '\t'))
            q++;
        if (q >= p->len || (p->s[q] != '\n' && p->s[q] != '\r'))
            return toml_fail_at(p, at, ASTRID_E_PARSE, "invalid escape sequence");
        while (q < p->len &&
               (p->s[q] == ' ' || p->s[q] == '\t' || p->s[q] == '\n' || p->s[q] == '\r'))
            q++;
        p->pos = q;
        return 0;
    }
    return toml_fail_at(p, at, ASTRID_E_PARSE, "invalid escape sequence");
}

int toml_scan_string(toml_parser *p, bool allow_multi, const char **src, size_t *off, size_t *n)
{
    const char *s = p->s;
    size_t len = p->len, start = p->pos;
    char q = s[p->pos];
    bool multi = p->pos + 2 < len && s[p->pos + 1] == q && s[p->pos + 2] == q;
    *src = NULL;
    *off = p->blen;
    if (multi && !allow_multi)
        return toml_fail_at(p, start, ASTRID_E_PARSE, "multi-line strings cannot be keys");
    p->pos += multi ? 3 : 1;
    if (multi) {
        /* A newline right after the opening delimiter is trimmed. */
        if (p->pos < len && s[p->pos] == '\n')
            p->pos++;
        else if (p->pos + 1 < len && s[p->pos] == '\r' && s[p->pos + 1] == '\n')
            p->pos += 2;
    }
    size_t run = p->pos; /* start of the not-yet-copied literal run */
    bool copied = false;
    for (;;) {
        if (p->pos >= len)
            return toml_fail_at(p, start, ASTRID_E_PARSE, "unterminated string");
        char c = s[p->pos];
        if (c == q) {
            if (!multi) {
                if (!copied) {
                    *src = s + run;
                    *n = p->pos - run;
                } else {
                    if (put(p, s + run, p->pos - run) != 0)
                        return -1;
                    *n = p->blen - *off;
                }
                p->pos++;
                return 0;
            }
            size_t k = 0;
            while (p->pos + k < len && s[p->pos + k] == q)
                k++;
            if (k >= 3) {
                if (k > 5)
                    return toml_fail_at(p, p->pos, ASTRID_E_PARSE,
                                        "too many quotes at the end of a multi-line string");
                size_t end = p->pos + k - 3;
                if (!copied) {
                    *src = s + run;
                    *n = end - run;
                } else {
                    if (put(p, s + run, end - run) != 0)
                        return -1;
                    *n = p->blen - *off;
                }
                p->pos += k;
                return 0;
            }
            p->pos += k;
            continue;
        }
        if (c == '\\' && q == '"') {
            if (put(p, s + run, p->pos - run) != 0 || escape(p, multi) != 0)
                return -1;
            copied = true;
            run = p->pos;
            continue;
        }
        if ((c == '\n' || c == '\r') && !multi)
            return toml_fail_at(p, p->pos, ASTRID_E_PARSE, "newline in a single-line string");
        p->pos++;
    }
}
