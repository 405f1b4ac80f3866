/* Semantic versions and Cargo-style requirements (see semver.h). */
#include "lib/manifest/semver.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A numeric identifier at *p: digits, no leading zero unless "0". */
static int number(const char **p, uint64_t *out)
{
    const char *s = *p;
    if (!isdigit((unsigned char)*s) || (s[0] == '0' && isdigit((unsigned char)s[1])))
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno == ERANGE)
        return -1;
    *out = v;
    *p = end;
    return 0;
}

/* Dot-separated identifiers of [0-9A-Za-z-], none empty; numeric ones
 * without leading zeros when `numeric_rule`. Returns the length consumed. */
static size_t identifiers(const char *s, bool numeric_rule)
{
    size_t i = 0;
    for (;;) {
        size_t start = i;
        bool digits = true;
        while (isalnum((unsigned char)s[i]) || s[i] == '-') {
            digits = digits && isdigit((unsigned char)s[i]);
            i++;
        }
        if (i == start)
            return 0;
        if (numeric_rule && digits && s[start] == '0' && i - start > 1)
            return 0;
        if (s[i] != '.')
            return i;
        i++;
    }
}

/* pre-release and build metadata after MAJOR.MINOR.PATCH at *p. */
static int suffix(const char **p, char *pre, size_t presz)
{
    const char *s = *p;
    pre[0] = '\0';
    if (*s == '-') {
        size_t n = identifiers(s + 1, true);
        if (n == 0 || n >= presz)
            return -1;
        memcpy(pre, s + 1, n);
        pre[n] = '\0';
        s += 1 + n;
    }
    if (*s == '+') {
        size_t n = identifiers(s + 1, false);
        if (n == 0)
            return -1;
        s += 1 + n;
    }
    *p = s;
    return 0;
}

int astrid_semver_parse(const char *s, astrid_semver *out, astrid_err *err)
{
    const char *p = s;
    memset(out, 0, sizeof *out);
    if (number(&p, &out->major) != 0 || *p++ != '.' || number(&p, &out->minor) != 0 ||
        *p++ != '.' || number(&p, &out->patch) != 0 || suffix(&p, out->pre, sizeof out->pre) || *p)
        return astrid_err_set(err, ASTRID_E_INVALID,
                              "'%s' is not a semantic version (MAJOR.MINOR.PATCH, e.g. 0.1.0)", s);
    return 0;
}

static int cmp_u64(uint64_t a, uint64_t b)
{
    return a < b ? -1 : a > b;
}

/* semver.org §11: identifiers compared one by one; numeric < alphanumeric;
 * fewer identifiers sort first when all before are equal. */
static int cmp_pre(const char *a, const char *b)
{
    if (!*a || !*b)
        return !*a && !*b ? 0 : !*a ? 1 : -1; /* no pre-release ranks higher */
    while (*a && *b) {
        size_t na = strcspn(a, "."), nb = strcspn(b, ".");
        bool da = strspn(a, "0123456789") >= na, db = strspn(b, "0123456789") >= nb;
        int c;
        if (da && db)
            c = na != nb ? (na < nb ? -1 : 1) : strncmp(a, b, na);
        else if (da != db)
            c = da ? -1 : 1;
        else {
            c = strncmp(a, b, na < nb ? na : nb);
            if (c == 0 && na != nb)
                c = na < nb ? -1 : 1;
        }
        if (c != 0)
            return c < 0 ? -1 : 1;
        a += na + (a[na] == '.');
        b += nb + (b[nb] == '.');
    }
    return *a ? 1 : *b ? -1 : 0;
}

int astrid_semver_cmp(const astrid_semver *a, const astrid_semver *b)
{
    int c = cmp_u64(a->major, b->major);
    if (!c)
        c = cmp_u64(a->minor, b->minor);
    if (!c)
        c = cmp_u64(a->patch, b->patch);
    return c ? c : cmp_pre(a->pre, b->pre);
}

enum op { OP_EQ, OP_GT, OP_GE, OP_LT, OP_LE, OP_TILDE, OP_CARET };

typedef struct comparator {
    enum op op;
    int parts; /* how many of major/minor/patch were given (0 = "*") */
    astrid_semver v;
} comparator;

/* One comparator, `s` trimmed, n bytes. */
static int parse_comparator(const char *s, size_t n, comparator *c)
{
    char buf[256];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    const char *p = buf;
    static const struct {
        const char *text;
        enum op op;
    } ops[] = {{">=", OP_GE}, {"<=", OP_LE},   {">", OP_GT},   {"<", OP_LT},
               {"=", OP_EQ},  {"~", OP_TILDE}, {"^", OP_CARET}};
    c->op = OP_CARET;
    bool explicit_op = false;
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
        if (strncmp(p, ops[i].text, strlen(ops[i].text)) == 0) {
            c->op = ops[i].op;
            p += strlen(ops[i].text);
            explicit_op = true;
            break;
        }
    while (*p == ' ')
        p++;
    memset(&c->v, 0, sizeof c->v);
    c->parts = 0;
    uint64_t *fields[3] = {&c->v.major, &c->v.minor, &c->v.patch};
    for (int i = 0; i < 3; i++) {
        if ((*p == '*' || *p == 'x' || *p == 'X') && (p[1] == '\0')) {
            /* a wildcard ends the version; only plain or = may use one */
            if (explicit_op && c->op != OP_EQ)
                return -1;
            c->op = OP_EQ;
            p++;
            break;
        }
        if (number(&p, fields[i]) != 0)
            return -1;
        c->parts++;
        if (*p != '.')
            break;
        p++;
        if (i == 2)
            return -1;
    }
    if (c->parts == 3 && suffix(&p, c->v.pre, sizeof c->v.pre) != 0)
        return -1;
    return *p ? -1 : 0;
}

/* Does v satisfy comparator c? Lower/upper bounds per Cargo. */
static bool satisfies(const comparator *c, const astrid_semver *v)
{
    astrid_semver lo = c->v, hi = {0};
    lo.pre[0] = c->parts == 3 ? lo.pre[0] : '\0';
    int cl = astrid_semver_cmp(v, &lo);
    /* Upper bound for partial = and ^/~ ranges: bump the last significant
     * part; hi.pre = "0" makes the bound exclude its own pre-releases. */
    bool has_hi = false;
    switch (c->op) {
    case OP_EQ:
        if (c->parts == 3)
            return cl == 0;
        if (c->parts == 0)
            return true;
        hi = (astrid_semver){c->v.major + (c->parts == 1), c->parts == 2 ? c->v.minor + 1 : 0, 0,
                             ""};
        has_hi = true;
        break;
    case OP_GT:
        if (c->parts == 3)
            return cl > 0;
        hi = (astrid_semver){c->v.major + (c->parts == 1), c->parts == 2 ? c->v.minor + 1 : 0, 0,
                             ""};
        return astrid_semver_cmp(v, &hi) >= 0;
    case OP_GE:
        return cl >= 0;
    case OP_LT:
        return cl < 0;
    case OP_LE:
        if (c->parts == 3)
            return cl <= 0;
        hi = (astrid_semver){c->v.major + (c->parts == 1), c->parts == 2 ? c->v.minor + 1 : 0, 0,
                             ""};
        return astrid_semver_cmp(v, &hi) < 0;
    case OP_TILDE:
        hi = (astrid_semver){c->v.major + (c->parts == 1), c->parts >= 2 ? c->v.minor + 1 : 0, 0,
                             ""};
        has_hi = true;
        break;
    case OP_CARET:
        if (c->v.major > 0 || c->parts == 1)
            hi = (astrid_semver){c->v.major + 1, 0, 0, ""};
        else if (c->v.minor > 0 || c->parts == 2)
            hi = (astrid_semver){0, c->v.minor + 1, 0, ""};
        else
            hi = (astrid_semver){0, 0, c->v.patch + 1, ""};
        has_hi = true;
        break;
    }
    if (cl < 0)
        return false;
    if (has_hi) {
        /* < hi, where a pre-release of hi itself is also excluded */
        astrid_semver base = *v;
        base.pre[0] = '\0';
        if (astrid_semver_cmp(&base, &hi) >= 0)
            return false;
    }
    return true;
}

int astrid_semver_req(const char *req, const astrid_semver *version, bool *matches, astrid_err *err)
{
    bool all = true, pre_allowed = false;
    size_t count = 0;
    const char *p = req;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n && isspace((unsigned char)*p)) {
            p++;
            n--;
        }
        while (n && isspace((unsigned char)p[n - 1]))
            n--;
        comparator c;
        if (parse_comparator(p, n, &c) != 0)
            return astrid_err_set(err, ASTRID_E_INVALID,
                                  "'%s' is not a version requirement (e.g. \"^1.0\", "
                                  "\">=0.5, <0.7\")",
                                  req);
        count++;
        if (version) {
            all = all && satisfies(&c, version);
            pre_allowed =
                pre_allowed || (c.v.pre[0] && c.v.major == version->major &&
                                c.v.minor == version->minor && c.v.patch == version->patch);
        }
        if (!end)
            break;
        p = end + 1;
    }
    if (count > 32)
        return astrid_err_set(err, ASTRID_E_LIMIT, "'%.64s...': too many comparators", req);
    if (matches)
        *matches = version && all && (!version->pre[0] || pre_allowed);
    return 0;
}

bool astrid_semver_matches(const char *req, const char *version)
{
    astrid_semver v;
    astrid_err err;
    bool ok = false;
    if (astrid_semver_parse(version, &v, &err) != 0 || astrid_semver_req(req, &v, &ok, &err) != 0)
        return false;
    return ok;
}
