/* UTF-8 validation and repair (see astrid/utf8.h). */
#include "astrid/utf8.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

size_t astrid_utf8_seq(const char *s, size_t left)
{
    const unsigned char *p = (const unsigned char *)s;
    if (left == 0)
        return 0;
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

bool astrid_utf8_valid(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = astrid_utf8_seq(s + i, n - i);
        if (k == 0)
            return false;
        i += k;
    }
    return true;
}

/* True when the bytes from `p` to the end are the start of a sequence that
 * more bytes could have completed (lead byte plus continuation bytes only). */
static bool cut_tail(const unsigned char *p, size_t left)
{
    size_t want = p[0] >= 0xC2 && p[0] <= 0xDF   ? 2
                  : p[0] >= 0xE0 && p[0] <= 0xEF ? 3
                  : p[0] >= 0xF0 && p[0] <= 0xF4 ? 4
                                                 : 0;
    if (want == 0 || left >= want)
        return false;
    for (size_t i = 1; i < left; i++)
        if ((p[i] & 0xC0) != 0x80)
            return false;
    return true;
}

char *astrid_utf8_fix(char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        size_t k = astrid_utf8_seq(s + i, n - i);
        if (k > 0) {
            i += k;
            continue;
        }
        if (cut_tail((const unsigned char *)s + i, n - i)) {
            s[i] = '\0';
            break;
        }
        s[i++] = '?';
    }
    return s;
}

size_t astrid_vsnprintf_utf8(char *buf, size_t n, const char *fmt, va_list ap)
{
    if (n == 0)
        return 0;
    vsnprintf(buf, n, fmt, ap);
    return strlen(astrid_utf8_fix(buf));
}

size_t astrid_snprintf_utf8(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t r = astrid_vsnprintf_utf8(buf, n, fmt, ap);
    va_end(ap);
    return r;
}
