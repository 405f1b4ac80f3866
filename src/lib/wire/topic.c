/* Topic validation and the two matchers of reference §4.4. */
#include <string.h>

#include "astrid/topic.h"

int astrid_topic_check(const char *topic, astrid_topic_kind kind, astrid_err *err)
{
    size_t n = topic ? strlen(topic) : 0;
    if (n == 0)
        return astrid_err_set(err, ASTRID_E_INVALID, "topic must not be empty");
    if (n > ASTRID_TOPIC_MAX_BYTES)
        return astrid_err_set(err, ASTRID_E_LIMIT, "topic exceeds %d bytes",
                              ASTRID_TOPIC_MAX_BYTES);
    int segs = 1;
    const char *seg = topic;
    for (size_t i = 0; i <= n; i++) {
        if (topic[i] != '.' && topic[i] != '\0')
            continue;
        size_t len = (size_t)(topic + i - seg);
        if (len == 0)
            return astrid_err_set(err, ASTRID_E_INVALID, "topic '%s' has an empty segment", topic);
        if (memchr(seg, '*', len)) {
            bool whole = len == 1;
            bool ok = whole && (kind == ASTRID_TOPIC_PATTERN ||
                                (kind == ASTRID_TOPIC_SUBSCRIBE && topic[i] == '\0' && segs > 1));
            if (!ok)
                return astrid_err_set(err, ASTRID_E_INVALID, "topic '%s': '*' is not allowed here",
                                      topic);
        }
        if (topic[i] == '.')
            segs++;
        seg = topic + i + 1;
    }
    if (segs > ASTRID_TOPIC_MAX_SEGMENTS)
        return astrid_err_set(err, ASTRID_E_LIMIT, "topic '%s' has more than %d segments", topic,
                              ASTRID_TOPIC_MAX_SEGMENTS);
    return 0;
}

/* Next segment of *s into (seg, len); false at the end. An empty segment
 * sets *bad. */
static bool next_seg(const char **s, const char **seg, size_t *len, bool *bad)
{
    if (!*s)
        return false;
    const char *dot = strchr(*s, '.');
    *seg = *s;
    *len = dot ? (size_t)(dot - *s) : strlen(*s);
    if (*len == 0)
        *bad = true;
    *s = dot ? dot + 1 : NULL;
    return true;
}

static bool seg_eq(const char *p, size_t pl, const char *t, size_t tl)
{
    return (pl == 1 && p[0] == '*') || (pl == tl && memcmp(p, t, pl) == 0);
}

bool astrid_topic_matches(const char *topic, const char *pattern)
{
    if (!topic || !pattern || !*topic || !*pattern)
        return false;
    const char *t = topic, *p = pattern, *ts = NULL, *ps = NULL;
    size_t tl = 0, pl = 0;
    bool bad = false;
    for (;;) {
        bool ht = next_seg(&t, &ts, &tl, &bad), hp = next_seg(&p, &ps, &pl, &bad);
        if (bad || ht != hp)
            return false;
        if (!ht)
            return true;
        if (!seg_eq(ps, pl, ts, tl))
            return false;
    }
}

static int count_segs(const char *s)
{
    int n = 1;
    for (; *s; s++)
        n += *s == '.';
    return n;
}

bool astrid_topic_sub_matches_bus(const char *topic, const char *pattern)
{
    if (!topic || !pattern || !*topic || !*pattern || count_segs(topic) > 20)
        return false;
    size_t plen = strlen(pattern);
    bool trailing = plen >= 2 && strcmp(pattern + plen - 2, ".*") == 0;
    const char *t = topic, *p = pattern, *ts = NULL, *ps = NULL;
    size_t tl = 0, pl = 0;
    bool bad = false;
    for (;;) {
        if (trailing && p && strcmp(p, "*") == 0) {
            /* trailing ".*": one or more further (valid) segments */
            if (!t)
                return false;
            while (next_seg(&t, &ts, &tl, &bad))
                ;
            return !bad;
        }
        bool ht = next_seg(&t, &ts, &tl, &bad), hp = next_seg(&p, &ps, &pl, &bad);
        if (bad || ht != hp)
            return false;
        if (!ht)
            return true;
        if (!seg_eq(ps, pl, ts, tl))
            return false;
    }
}

static bool has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* `base` itself or anything under "base." */
static bool at_or_under(const char *s, const char *base)
{
    size_t n = strlen(base);
    return strncmp(s, base, n) == 0 && (s[n] == '\0' || s[n] == '.');
}

astrid_topic_privacy astrid_topic_privacy_of(const char *topic)
{
    /* Every private topic is the kernel's own: one compare for the rest. */
    if (!topic || !has_prefix(topic, "astrid.v1."))
        return ASTRID_TOPIC_PUBLIC;
    static const char *const in[] = {"astrid.v1.approval.response.", "astrid.v1.elicit.response."};
    for (size_t i = 0; i < sizeof in / sizeof *in; i++)
        if (has_prefix(topic, in[i]))
            return ASTRID_TOPIC_PRIVATE_IN;
    /* "astrid.v1.response" covers the capsule writes' progress topics,
     * astrid.v1.response.<suffix>.progress (src/kernel/req_capsule.c). */
    static const char *const out[] = {
        "astrid.v1.response", "astrid.v1.admin.response", "astrid.v1.connection.response",
        "astrid.v1.approval", "astrid.v1.elicit",         "astrid.v1.onboarding"};
    for (size_t i = 0; i < sizeof out / sizeof *out; i++)
        if (at_or_under(topic, out[i]))
            return ASTRID_TOPIC_PRIVATE_OUT;
    return ASTRID_TOPIC_PUBLIC;
}
