/* Pre-parse validation of untrusted JSON: UTF-8 and nesting depth. */
#include <stdbool.h>
#include <stdint.h>

#include "astrid/wire.h"

/* Length of the UTF-8 sequence at p (1..4), or 0 when invalid (overlongs,
 * surrogates and code points above U+10FFFF rejected). */
static size_t utf8_seq(const unsigned char *p, size_t left)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    size_t n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (left < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

int astrid_wire_check(const char *buf, size_t len, astrid_err *err)
{
    const unsigned char *p = (const unsigned char *)buf;
    int depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        if (c >= 0x80) {
            size_t n = utf8_seq(p + i, len - i);
            if (n == 0)
                return astrid_err_set(err, ASTRID_E_PARSE, "invalid UTF-8 at byte %zu", i);
            i += n;
            continue;
        }
        if (c == 0)
            return astrid_err_set(err, ASTRID_E_PARSE, "NUL byte at byte %zu", i);
        if (in_str) {
            if (c == '\\')
                i++; /* the escaped character cannot end the string */
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > ASTRID_WIRE_MAX_DEPTH)
                return astrid_err_set(err, ASTRID_E_LIMIT, "JSON nesting deeper than %d levels",
                                      ASTRID_WIRE_MAX_DEPTH);
        } else if (c == '}' || c == ']') {
            depth--;
        }
        i++;
    }
    return 0;
}

json_t *astrid_wire_parse(const char *buf, size_t len, astrid_err *err)
{
    if (astrid_wire_check(buf, len, err) != 0)
        return NULL;
    json_error_t je;
    json_t *v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!v) {
        astrid_err_set(err, ASTRID_E_PARSE, "malformed JSON at line %d, column %d: %s", je.line,
                       je.column, je.text);
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        astrid_err_set(err, ASTRID_E_PARSE, "a frame must hold a JSON object");
        return NULL;
    }
    return v;
}
