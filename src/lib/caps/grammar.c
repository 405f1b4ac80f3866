/* Capability grammar validation and matching (upstream capability_grammar.rs). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "astrid/caps.h"
#include "astrid/utf8.h"

static bool seg_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

__attribute__((format(printf, 4, 5))) static astrid_cap_error
fail(astrid_cap_error kind, char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        astrid_vsnprintf_utf8(err, errlen, fmt, ap); /* the segment may be cut */
        va_end(ap);
    }
    return kind;
}

astrid_cap_error astrid_cap_classify(const char *cap, char *err, size_t errlen)
{
    if (!cap || !*cap)
        return fail(ASTRID_CAP_EMPTY, err, errlen, "capability must not be empty");
    size_t len = strlen(cap);
    if (len > ASTRID_CAP_MAX_LEN)
        return fail(ASTRID_CAP_TOO_LONG, err, errlen, "capability exceeds %d bytes (got %zu)",
                    ASTRID_CAP_MAX_LEN, len);
    if (strstr(cap, "**"))
        return fail(ASTRID_CAP_DOUBLE_STAR, err, errlen,
                    "capability '%s' contains '**' (recursive wildcards are not supported)", cap);
    /* Empty segments are checked over the whole string before characters,
     * matching upstream's "first failure wins" order. */
    for (const char *s = cap;;) {
        const char *e = strchr(s, ':');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 0)
            return fail(ASTRID_CAP_EMPTY_SEGMENT, err, errlen,
                        "capability '%s' contains an empty segment", cap);
        if (!e)
            break;
        s = e + 1;
    }
    for (const char *s = cap;;) {
        const char *e = strchr(s, ':');
        int n = (int)(e ? (size_t)(e - s) : strlen(s));
        if (memchr(s, '*', (size_t)n) && n != 1)
            return fail(ASTRID_CAP_PARTIAL_STAR, err, errlen,
                        "capability segment '%.*s' mixes '*' with other characters "
                        "(wildcards must be a whole segment)",
                        n, s);
        if (!e)
            break;
        s = e + 1;
    }
    for (const char *s = cap;;) {
        const char *e = strchr(s, ':');
        int n = (int)(e ? (size_t)(e - s) : strlen(s));
        if (!(n == 1 && s[0] == '*'))
            for (int i = 0; i < n; i++)
                if (!seg_char_ok(s[i])) {
                    unsigned char c = (unsigned char)s[i];
                    if (c >= 0x20 && c < 0x7f)
                        return fail(ASTRID_CAP_INVALID_CHAR, err, errlen,
                                    "capability segment '%.*s' contains invalid character "
                                    "'%c' (allowed: a-z, A-Z, 0-9, -, _)",
                                    n, s, c);
                    return fail(ASTRID_CAP_INVALID_CHAR, err, errlen,
                                "capability segment '%.*s' contains invalid character "
                                "'\\x%02x' (allowed: a-z, A-Z, 0-9, -, _)",
                                n, s, c);
                }
        if (!e)
            break;
        s = e + 1;
    }
    if (err && errlen)
        err[0] = '\0';
    return ASTRID_CAP_VALID;
}

int astrid_cap_validate(const char *cap, char *err, size_t errlen)
{
    return astrid_cap_classify(cap, err, errlen) == ASTRID_CAP_VALID ? 0 : -1;
}

/* Segment end: next ':' or NUL. */
static const char *seg_end(const char *s)
{
    while (*s && *s != ':')
        s++;
    return s;
}

bool astrid_cap_matches(const char *pattern, const char *cap)
{
    if (!pattern || !cap)
        return false;
    if (pattern[0] == '*' && pattern[1] == '\0')
        return true;
    /* Cheap reject: most patterns on the check path differ in the first byte
     * of a literal first segment. */
    if (pattern[0] != '*' && pattern[0] != cap[0])
        return false;
    const char *p = pattern, *c = cap;
    for (;;) {
        const char *pe = seg_end(p), *ce = seg_end(c);
        bool star = (pe - p == 1 && *p == '*');
        if (star && *pe == '\0')
            return true; /* trailing '*': >= 1 remaining cap segments (c has one) */
        if (!star && (pe - p != ce - c || memcmp(p, c, (size_t)(pe - p)) != 0))
            return false;
        if (*pe == '\0' || *ce == '\0')
            return *pe == '\0' && *ce == '\0';
        p = pe + 1;
        c = ce + 1;
    }
}
