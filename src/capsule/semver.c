/* Semver requirements as cargo reads them. See semver.h. */
#include "capsule/semver.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INF 0x7fffffffL

typedef struct semver {
    long p[3];
    int n; /* parts given before the end or a wildcard */
} semver;

static int vcmp(const long a[3], const long b[3])
{
    for (int i = 0; i < 3; i++)
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    return 0;
}

/* "1", "1.2", "1.2.3", "1.*", "*"; a -pre/+build tail is ignored. */
static const char *partial(const char *s, semver *v, bool *wild)
{
    memset(v, 0, sizeof *v);
    *wild = false;
    while (v->n < 3) {
        if (*s == '*' || *s == 'x' || *s == 'X') {
            *wild = true;
            s++;
            break;
        }
        if (!isdigit((unsigned char)*s))
            return NULL;
        char *end;
        v->p[v->n++] = strtol(s, &end, 10);
        if (end - s > 9)
            return NULL; /* keeps bump() far from overflow */
        s = end;
        if (*s != '.')
            break;
        s++;
    }
    if (*s == '-' || *s == '+')
        s += strcspn(s, ", ");
    return s;
}

static void bump(const semver *v, int idx, long out[3])
{
    for (int i = 0; i < 3; i++)
        out[i] = i < idx ? v->p[i] : i == idx ? v->p[i] + 1 : 0;
}

/* Narrow [lo, hi) by one comparator; false when it does not parse. */
static bool comparator(const char **sp, long lo[3], long hi[3])
{
    const char *s = *sp;
    while (*s == ' ')
        s++;
    char op[3] = "";
    size_t ol = strspn(s, "^~=<>");
    if (ol > 2)
        return false;
    memcpy(op, s, ol);
    s += ol;
    while (*s == ' ')
        s++;
    semver v;
    bool wild;
    if (!(s = partial(s, &v, &wild)))
        return false;
    if (!*op)
        snprintf(op, sizeof op, "%s", wild ? "=" : "^");
    long clo[3] = {0, 0, 0}, chi[3] = {INF, 0, 0};
    if (v.n > 0) {
        if (strcmp(op, "^") == 0) {
            memcpy(clo, v.p, sizeof clo);
            bump(&v, v.p[0] > 0 || v.n == 1 ? 0 : v.p[1] > 0 || v.n == 2 ? 1 : 2, chi);
        } else if (strcmp(op, "~") == 0) {
            memcpy(clo, v.p, sizeof clo);
            bump(&v, v.n >= 2 ? 1 : 0, chi);
        } else if (strcmp(op, "=") == 0) {
            memcpy(clo, v.p, sizeof clo);
            bump(&v, v.n - 1, chi);
        } else if (strcmp(op, ">=") == 0) {
            memcpy(clo, v.p, sizeof clo);
        } else if (strcmp(op, ">") == 0) {
            bump(&v, v.n - 1, clo);
        } else if (strcmp(op, "<") == 0) {
            memcpy(chi, v.p, sizeof chi);
        } else if (strcmp(op, "<=") == 0) {
            bump(&v, v.n - 1, chi);
        } else {
            return false;
        }
    }
    if (vcmp(clo, lo) > 0)
        memcpy(lo, clo, sizeof clo);
    if (vcmp(chi, hi) < 0)
        memcpy(hi, chi, sizeof chi);
    while (*s == ' ')
        s++;
    if (*s == ',')
        s++;
    else if (*s)
        return false;
    *sp = s;
    return true;
}

bool astrid_semver_matches(const char *req, const char *version)
{
    semver v;
    bool wild;
    const char *rest = partial(version, &v, &wild);
    if (!rest || *rest || v.n != 3 || wild)
        return false;
    long lo[3] = {0, 0, 0}, hi[3] = {INF, 0, 0};
    const char *s = req;
    while (*s)
        if (!comparator(&s, lo, hi))
            return false;
    return vcmp(v.p, lo) >= 0 && vcmp(v.p, hi) < 0;
}
