/* Length-prefixed frames. */
#include <stdlib.h>
#include <string.h>

#include "astrid/wire.h"

int astrid_frame_encode(const json_t *obj, char **out, size_t *len, astrid_err *err)
{
    *out = NULL;
    size_t n = json_dumpb(obj, NULL, 0, JSON_COMPACT);
    if (n == 0)
        return astrid_err_set(err, ASTRID_E_INVALID, "cannot encode frame");
    if (n > ASTRID_WIRE_MAX_FRAME)
        return astrid_err_set(err, ASTRID_E_LIMIT, "frame of %zu bytes exceeds %u", n,
                              ASTRID_WIRE_MAX_FRAME);
    char *buf = malloc(n + 4);
    if (!buf)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    buf[0] = (char)(n >> 24);
    buf[1] = (char)(n >> 16);
    buf[2] = (char)(n >> 8);
    buf[3] = (char)n;
    /* The second pass can fail too (jansson's loop check allocates): the
     * buffer would then go out with uninitialised heap bytes after a
     * partial text, so it is checked like the first. */
    if (json_dumpb(obj, buf + 4, n, JSON_COMPACT) != n) {
        free(buf);
        return astrid_err_set(err, ASTRID_E_NOMEM, "cannot encode frame: out of memory");
    }
    *out = buf;
    *len = n + 4;
    return 0;
}

void astrid_frame_reader_init(astrid_frame_reader *r, size_t max_body)
{
    r->buf = NULL;
    r->len = r->cap = 0;
    r->max = max_body;
}

void astrid_frame_reader_free(astrid_frame_reader *r)
{
    free(r->buf);
    r->buf = NULL;
    r->len = r->cap = 0;
}

int astrid_frame_reader_feed(astrid_frame_reader *r, const void *data, size_t n, astrid_err *err)
{
    /* An empty read on a fresh reader would memcpy into a NULL buffer (UB,
     * found by fuzz_frame). */
    if (n == 0)
        return 0;
    if (r->len + n > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->len + n)
            cap *= 2;
        /* Never buffer more than one maximal frame plus its header and a
         * read's worth of the next. */
        if (cap > r->max + 4 + 65536 * 2)
            cap = r->max + 4 + 65536 * 2;
        if (r->len + n > cap)
            return astrid_err_set(err, ASTRID_E_LIMIT, "receive buffer overflow");
        char *nb = realloc(r->buf, cap);
        if (!nb)
            return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        r->buf = nb;
        r->cap = cap;
    }
    memcpy(r->buf + r->len, data, n);
    r->len += n;
    return 0;
}

int astrid_frame_reader_next(astrid_frame_reader *r, const char **body, size_t *len,
                             astrid_err *err)
{
    if (r->len < 4)
        return 0;
    const unsigned char *p = (const unsigned char *)r->buf;
    uint32_t n = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    if (n > r->max)
        return astrid_err_set(err, ASTRID_E_LIMIT, "frame of %u bytes exceeds the %zu-byte limit",
                              n, r->max);
    if (r->len < 4 + (size_t)n)
        return 0;
    *body = r->buf + 4;
    *len = n;
    return 1;
}

void astrid_frame_reader_pop(astrid_frame_reader *r)
{
    if (r->len < 4)
        return;
    const unsigned char *p = (const unsigned char *)r->buf;
    size_t n = 4 + ((size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3]);
    if (n > r->len)
        return;
    memmove(r->buf, r->buf + n, r->len - n);
    r->len -= n;
}
