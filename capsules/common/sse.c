/* Server-Sent Events parser (see sse.h). */
#include "sse.h"

#include <stdlib.h>
#include <string.h>

void sse_init(sse_parser *p, sse_event_fn fn, void *ctx)
{
    memset(p, 0, sizeof *p);
    p->fn = fn;
    p->ctx = ctx;
}

void sse_free(sse_parser *p)
{
    free(p->line);
    free(p->data);
    memset(p, 0, sizeof *p);
}

static int sse_grow(char **buf, size_t *cap, size_t need)
{
    if (need > SSE_MAX_EVENT + 1)
        return -1;
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 256;
    while (n < need)
        n *= 2;
    char *b = realloc(*buf, n);
    if (!b)
        return -1;
    *buf = b;
    *cap = n;
    return 0;
}

static int sse_dispatch(sse_parser *p)
{
    int rc = 0;
    if (p->has_data) {
        if (sse_grow(&p->data, &p->data_cap, p->data_len + 1) != 0)
            return -1;
        p->data[p->data_len] = '\0';
        rc = p->fn(p->ctx, p->event, p->data, p->data_len);
    }
    p->data_len = 0;
    p->has_data = false;
    p->event[0] = '\0';
    return rc;
}

/* One complete line (without its terminator) in p->line. */
static int sse_line_done(sse_parser *p)
{
    const char *l = p->line ? p->line : "";
    size_t n = p->line_len;
    p->line_len = 0;
    if (n == 0)
        return sse_dispatch(p);
    if (l[0] == ':')
        return 0; /* comment (keep-alives) */
    const char *colon = memchr(l, ':', n);
    size_t flen = colon ? (size_t)(colon - l) : n;
    const char *val = colon ? colon + 1 : l + n;
    size_t vlen = colon ? n - flen - 1 : 0;
    if (vlen && *val == ' ') {
        val++;
        vlen--;
    }
    if (flen == 4 && memcmp(l, "data", 4) == 0) {
        size_t sep = p->has_data ? 1 : 0;
        if (sse_grow(&p->data, &p->data_cap, p->data_len + sep + vlen + 1) != 0)
            return -1;
        if (sep)
            p->data[p->data_len++] = '\n';
        memcpy(p->data + p->data_len, val, vlen);
        p->data_len += vlen;
        p->has_data = true;
    } else if (flen == 5 && memcmp(l, "event", 5) == 0) {
        size_t k = vlen < sizeof p->event - 1 ? vlen : sizeof p->event - 1;
        memcpy(p->event, val, k);
        p->event[k] = '\0';
    }
    return 0;
}

int sse_feed(sse_parser *p, const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (c == '\n' && p->after_cr) {
            p->after_cr = false;
            continue;
        }
        p->after_cr = c == '\r';
        if (c == '\n' || c == '\r') {
            int rc = sse_line_done(p);
            if (rc != 0)
                return rc;
            continue;
        }
        if (sse_grow(&p->line, &p->line_cap, p->line_len + 2) != 0)
            return -1;
        p->line[p->line_len++] = c;
    }
    return 0;
}

int sse_finish(sse_parser *p, bool dispatch_pending)
{
    int rc = 0;
    if (p->line_len)
        rc = sse_line_done(p);
    if (rc == 0 && dispatch_pending)
        rc = sse_dispatch(p);
    return rc;
}
