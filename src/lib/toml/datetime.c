/* RFC 3339 date/time literals as TOML 1.0 restricts them, and UTF-8
 * validation of the raw input. */
#include <stdio.h>
#include <string.h>

#include "toml_internal.h"

static bool digits(const char *s, size_t len, size_t at, size_t n, int *out)
{
    if (at + n > len)
        return false;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[at + i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *out = v;
    return true;
}

static int days_in_month(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return d[m - 1];
}

/* HH:MM:SS[.frac] at s+at; returns bytes consumed or -1. */
static long scan_time(const char *s, size_t len, size_t at, astrid_toml_datetime *dt,
                      const char **why)
{
    size_t p = at;
    if (!digits(s, len, p, 2, &dt->hour) || p + 2 >= len || s[p + 2] != ':' ||
        !digits(s, len, p + 3, 2, &dt->minute)) {
        *why = "malformed time (expected HH:MM:SS)";
        return -1;
    }
    p += 5;
    if (p >= len || s[p] != ':' || !digits(s, len, p + 1, 2, &dt->second)) {
        *why = "malformed time: seconds are required (HH:MM:SS)";
        return -1;
    }
    p += 3;
    if (dt->hour > 23 || dt->minute > 59 || dt->second > 60) {
        *why = "time out of range";
        return -1;
    }
    dt->nanosecond = 0;
    dt->frac_digits = 0;
    if (p < len && s[p] == '.') {
        p++;
        size_t start = p;
        uint32_t ns = 0;
        while (p < len && s[p] >= '0' && s[p] <= '9') {
            if (p - start < 9) {
                ns = ns * 10 + (uint32_t)(s[p] - '0');
                dt->frac_digits++;
            }
            p++;
        }
        if (p == start) {
            *why = "fractional seconds need at least one digit";
            return -1;
        }
        for (int i = dt->frac_digits; i < 9; i++)
            ns *= 10;
        dt->nanosecond = ns;
    }
    return (long)(p - at);
}

long toml_scan_datetime(const char *s, size_t len, astrid_toml_type *type, astrid_toml_datetime *dt,
                        const char **why)
{
    memset(dt, 0, sizeof *dt);
    int tmp;
    /* Local time: HH:MM... */
    if (digits(s, len, 0, 2, &tmp) && len > 2 && s[2] == ':') {
        *type = ASTRID_TOML_TIME_LOCAL;
        return scan_time(s, len, 0, dt, why);
    }
    if (!(digits(s, len, 0, 4, &tmp) && len > 4 && s[4] == '-'))
        return 0;
    if (!digits(s, len, 0, 4, &dt->year) || !digits(s, len, 5, 2, &dt->month) || len < 10 ||
        s[7] != '-' || !digits(s, len, 8, 2, &dt->day)) {
        *why = "malformed date (expected YYYY-MM-DD)";
        return -1;
    }
    if (dt->month < 1 || dt->month > 12 || dt->day < 1 ||
        dt->day > days_in_month(dt->year, dt->month)) {
        *why = "date out of range";
        return -1;
    }
    size_t p = 10;
    /* A space separates date and time only when a time follows. */
    bool sep = p < len && (s[p] == 'T' || s[p] == 't' ||
                           (s[p] == ' ' && p + 1 < len && s[p + 1] >= '0' && s[p + 1] <= '9'));
    if (!sep) {
        *type = ASTRID_TOML_DATE_LOCAL;
        return (long)p;
    }
    long n = scan_time(s, len, p + 1, dt, why);
    if (n < 0)
        return -1;
    p += 1 + (size_t)n;
    if (p < len && (s[p] == 'Z' || s[p] == 'z')) {
        *type = ASTRID_TOML_DATETIME;
        dt->offset_z = true;
        return (long)(p + 1);
    }
    if (p < len && (s[p] == '+' || s[p] == '-')) {
        int oh, om;
        if (!digits(s, len, p + 1, 2, &oh) || p + 3 >= len || s[p + 3] != ':' ||
            !digits(s, len, p + 4, 2, &om)) {
            *why = "malformed time offset (expected +HH:MM)";
            return -1;
        }
        if (oh > 23 || om > 59) {
            *why = "time offset out of range";
            return -1;
        }
        dt->offset_minutes = (oh * 60 + om) * (s[p] == '-' ? -1 : 1);
        *type = ASTRID_TOML_DATETIME;
        return (long)(p + 6);
    }
    *type = ASTRID_TOML_DATETIME_LOCAL;
    return (long)p;
}

static int frac_width(const astrid_toml_datetime *dt)
{
    /* Keep the written precision unless it would lose the stored value. */
    static const uint32_t pow10[] = {1000000000u, 100000000u, 10000000u, 1000000u, 100000u,
                                     10000u,      1000u,      100u,      10u,      1u};
    int w = dt->frac_digits < 0 ? 0 : dt->frac_digits > 9 ? 9 : dt->frac_digits;
    if (dt->nanosecond % pow10[w] == 0)
        return w;
    w = 9;
    while (w > 1 && dt->nanosecond % pow10[w - 1] == 0)
        w--;
    return w;
}

int toml_format_datetime(char *buf, size_t cap, astrid_toml_type type,
                         const astrid_toml_datetime *dt)
{
    int n = 0;
    if (type != ASTRID_TOML_TIME_LOCAL)
        n += snprintf(buf + n, cap - (size_t)n, "%04d-%02d-%02d", dt->year, dt->month, dt->day);
    if (type == ASTRID_TOML_DATE_LOCAL)
        return n;
    if (type != ASTRID_TOML_TIME_LOCAL)
        buf[n++] = 'T';
    n += snprintf(buf + n, cap - (size_t)n, "%02d:%02d:%02d", dt->hour, dt->minute, dt->second);
    int w = frac_width(dt);
    if (w > 0) {
        uint32_t v = dt->nanosecond;
        for (int i = w; i < 9; i++)
            v /= 10;
        n += snprintf(buf + n, cap - (size_t)n, ".%0*u", w, (unsigned)v);
    }
    if (type == ASTRID_TOML_DATETIME) {
        if (dt->offset_z && dt->offset_minutes == 0) {
            buf[n++] = 'Z';
            buf[n] = '\0';
        } else {
            int off = dt->offset_minutes;
            char sign = off < 0 ? '-' : '+';
            if (off < 0)
                off = -off;
            n += snprintf(buf + n, cap - (size_t)n, "%c%02d:%02d", sign, off / 60, off % 60);
        }
    }
    return n;
}

size_t toml_utf8_check(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned cp, min;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1, cp = c & 0x1F, min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2, cp = c & 0x0F, min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return i;
        }
        for (size_t k = 1; k <= n; k++) {
            if (i + k >= len || (s[i + k] & 0xC0) != 0x80)
                return i;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += n + 1;
    }
    return len;
}
