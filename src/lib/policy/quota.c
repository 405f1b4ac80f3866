/* SIZE and DURATION quota specs: exact integer arithmetic, overflow rejected. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "astrid/quota.h"

typedef struct unit {
    const char *name;
    uint64_t mult;
} unit;

static const unit size_units[] = {
    {"", 1},
    {"b", 1},
    {"k", 1000ull},
    {"kb", 1000ull},
    {"m", 1000000ull},
    {"mb", 1000000ull},
    {"g", 1000000000ull},
    {"gb", 1000000000ull},
    {"t", 1000000000000ull},
    {"tb", 1000000000000ull},
    {"kib", 1ull << 10},
    {"mib", 1ull << 20},
    {"gib", 1ull << 30},
    {"tib", 1ull << 40},
};

int astrid_size_parse(const char *s, uint64_t *out, astrid_err *err)
{
    if (!s || !out)
        return astrid_err_set(err, ASTRID_E_INVALID, "invalid size: missing value");
    const char *p = s;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!isdigit((unsigned char)*p))
        return astrid_err_set(err, ASTRID_E_INVALID,
                              "invalid size '%s': expected a number, e.g. 32M or 1.5GiB", s);
    uint64_t ip = 0, frac = 0, fscale = 1;
    for (; isdigit((unsigned char)*p); p++)
        if (__builtin_mul_overflow(ip, 10, &ip) ||
            __builtin_add_overflow(ip, (uint64_t)(*p - '0'), &ip))
            return astrid_err_set(err, ASTRID_E_INVALID, "invalid size '%s': too large", s);
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return astrid_err_set(err, ASTRID_E_INVALID,
                                  "invalid size '%s': expected digits after '.'", s);
        for (; isdigit((unsigned char)*p); p++) {
            if (fscale >= 1000000000000000000ull)
                return astrid_err_set(err, ASTRID_E_INVALID,
                                      "invalid size '%s': too many decimal digits", s);
            frac = frac * 10 + (uint64_t)(*p - '0');
            fscale *= 10;
        }
    }
    while (*p == ' ' || *p == '\t')
        p++;
    const char *u = p;
    size_t ulen = strlen(u);
    while (ulen && (u[ulen - 1] == ' ' || u[ulen - 1] == '\t'))
        ulen--;
    const unit *found = NULL;
    for (size_t i = 0; i < sizeof size_units / sizeof size_units[0]; i++)
        if (strlen(size_units[i].name) == ulen && strncasecmp(u, size_units[i].name, ulen) == 0)
            found = &size_units[i];
    if (!found)
        return astrid_err_set(err, ASTRID_E_INVALID,
                              "invalid size '%s': unknown unit (use B, K/KB, M/MB, G/GB, T/TB, "
                              "KiB, MiB, GiB or TiB)",
                              s);
    uint64_t whole, fpart;
    if (__builtin_mul_overflow(ip, found->mult, &whole))
        return astrid_err_set(err, ASTRID_E_INVALID, "invalid size '%s': too large", s);
    /* frac/fscale * mult must be a whole number of bytes. fscale and mult
     * are bounded (<= 1e18, <= 2^40) but their product is not; use 128-bit. */
    unsigned __int128 fm = (unsigned __int128)frac * found->mult;
    if (fm % fscale != 0)
        return astrid_err_set(err, ASTRID_E_INVALID,
                              "invalid size '%s': not a whole number of bytes", s);
    fm /= fscale;
    if (fm > UINT64_MAX)
        return astrid_err_set(err, ASTRID_E_INVALID, "invalid size '%s': too large", s);
    fpart = (uint64_t)fm;
    if (__builtin_add_overflow(whole, fpart, out))
        return astrid_err_set(err, ASTRID_E_INVALID, "invalid size '%s': too large", s);
    return 0;
}

int astrid_size_format(uint64_t v, char *buf, size_t n)
{
    static const unit bin[] = {
        {"TiB", 1ull << 40}, {"GiB", 1ull << 30}, {"MiB", 1ull << 20}, {"KiB", 1ull << 10}};
    static const unit dec[] = {
        {"TB", 1000000000000ull}, {"GB", 1000000000ull}, {"MB", 1000000ull}, {"KB", 1000ull}};
    int w;
    if (v == 0) {
        w = snprintf(buf, n, "0 B");
        return (w < 0 || (size_t)w >= n) ? -1 : 0;
    }
    /* Prefer the exact representation with the smallest number. */
    const unit *best = NULL;
    for (size_t i = 0; i < 4; i++) {
        if (v % bin[i].mult == 0 && (!best || v / bin[i].mult < v / best->mult))
            best = &bin[i];
        if (v % dec[i].mult == 0 && (!best || v / dec[i].mult < v / best->mult))
            best = &dec[i];
    }
    if (best) {
        w = snprintf(buf, n, "%llu %s", (unsigned long long)(v / best->mult), best->name);
    } else {
        /* Up to three exact decimals of a decimal unit ("1.5 GB"). */
        w = -2;
        for (size_t i = 0; i < 4 && w == -2; i++) {
            uint64_t m = dec[i].mult;
            if (v < m)
                continue;
            for (uint64_t d = 10, places = 1; places <= 3 && d <= m; d *= 10, places++)
                if (v % (m / d) == 0) {
                    uint64_t f = (v % m) / (m / d);
                    w = snprintf(buf, n, "%llu.%0*llu %s", (unsigned long long)(v / m), (int)places,
                                 (unsigned long long)f, dec[i].name);
                    break;
                }
        }
        if (w == -2)
            w = snprintf(buf, n, "%llu B", (unsigned long long)v);
    }
    return (w < 0 || (size_t)w >= n) ? -1 : 0;
}

int astrid_duration_parse(const char *s, uint64_t *ms_out, astrid_err *err)
{
    if (!s || !ms_out)
        return astrid_err_set(err, ASTRID_E_INVALID, "invalid duration: missing value");
    const char *p = s;
    uint64_t total = 0;
    int parts = 0;
    if (!*p)
        return astrid_err_set(err, ASTRID_E_INVALID, "invalid duration '': empty");
    while (*p) {
        if (!isdigit((unsigned char)*p))
            return astrid_err_set(err, ASTRID_E_INVALID,
                                  "invalid duration '%s': expected a number, e.g. 30s or 2h30m", s);
        uint64_t v = 0;
        for (; isdigit((unsigned char)*p); p++)
            if (__builtin_mul_overflow(v, 10, &v) ||
                __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v))
                return astrid_err_set(err, ASTRID_E_INVALID, "invalid duration '%s': too large", s);
        uint64_t mult;
        if (!*p) {
            if (parts > 0)
                return astrid_err_set(err, ASTRID_E_INVALID,
                                      "invalid duration '%s': missing unit after the last number",
                                      s);
            mult = 1000; /* bare integer: seconds */
        } else if (strncmp(p, "ms", 2) == 0) {
            mult = 1, p += 2;
        } else if (*p == 's') {
            mult = 1000, p++;
        } else if (*p == 'm') {
            mult = 60000, p++;
        } else if (*p == 'h') {
            mult = 3600000, p++;
        } else if (*p == 'd') {
            mult = 86400000, p++;
        } else {
            return astrid_err_set(err, ASTRID_E_INVALID,
                                  "invalid duration '%s': unknown unit (use ms, s, m, h or d)", s);
        }
        if (__builtin_mul_overflow(v, mult, &v) || __builtin_add_overflow(total, v, &total))
            return astrid_err_set(err, ASTRID_E_INVALID, "invalid duration '%s': too large", s);
        parts++;
    }
    *ms_out = total;
    return 0;
}

int astrid_duration_format(uint64_t ms, char *buf, size_t n)
{
    static const unit units[] = {
        {"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
    size_t off = 0;
    if (ms == 0) {
        int w = snprintf(buf, n, "0s");
        return (w < 0 || (size_t)w >= n) ? -1 : 0;
    }
    for (size_t i = 0; i < 5; i++) {
        uint64_t q = ms / units[i].mult;
        ms %= units[i].mult;
        if (!q)
            continue;
        int w = snprintf(buf + off, n - off, "%llu%s", (unsigned long long)q, units[i].name);
        if (w < 0 || (size_t)w >= n - off)
            return -1;
        off += (size_t)w;
    }
    return 0;
}
