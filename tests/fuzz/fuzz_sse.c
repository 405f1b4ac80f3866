/* libFuzzer: the provider capsules' SSE parser (capsules/common/sse.c),
 * compiled natively as tests/unit/test_provider_sse.c does, and the
 * OpenAI / Anthropic stream mappers (llm_map.c) behind it.
 *
 * Property: the stream cut into pieces at fuzzer-chosen points yields the
 * same events, byte for byte, as the stream fed whole (bytes arrive from
 * http-stream-read in arbitrary pieces). Every event's data then goes
 * through both mappers and llm_http_error, which must not crash or leak.
 *
 * Input: byte 0 = split seed, then the stream. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../sdk/c/astrid_json.c"       // NOLINT(bugprone-suspicious-include)
#include "../../capsules/common/llm_map.c" // NOLINT(bugprone-suspicious-include)
#include "../../capsules/common/sse.c"     // NOLINT(bugprone-suspicious-include)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct seen {
    char *log; /* "<event>\0<len>:<data>" records, appended */
    size_t len, cap;
    int n;
    llm_stream oai, ant;
} seen;

static int drop(void *ctx, astrid_json *ev)
{
    (void)ctx;
    astrid_json_free(ev);
    return 0;
}

static void append(seen *s, const void *p, size_t n)
{
    if (s->len + n > s->cap) {
        size_t cap = (s->len + n) * 2 + 64;
        char *nl = realloc(s->log, cap);
        if (!nl)
            abort();
        s->log = nl;
        s->cap = cap;
    }
    memcpy(s->log + s->len, p, n);
    s->len += n;
}

static int collect(void *ctx, const char *event, const char *d, size_t len)
{
    seen *s = ctx;
    char hdr[32];
    int h = snprintf(hdr, sizeof hdr, ":%zu:", len);
    append(s, event, strlen(event) + 1);
    append(s, hdr, (size_t)h);
    append(s, d, len);
    s->n++;
    if (!s->oai.terminal)
        oai_on_data(&s->oai, d, len);
    if (!s->ant.terminal)
        ant_on_event(&s->ant, event, d, len);
    return 0;
}

static int run(const char *buf, size_t len, const uint8_t *cuts, size_t ncuts, seen *s)
{
    sse_parser p;
    sse_init(&p, collect, s);
    llm_stream_init(&s->oai, drop, NULL);
    llm_stream_init(&s->ant, drop, NULL);
    size_t off = 0;
    int rc = 0;
    for (size_t i = 0; i < ncuts && off < len && rc == 0; i++) {
        size_t step = (size_t)cuts[i] % (len - off + 1);
        rc = sse_feed(&p, buf + off, step);
        off += step;
    }
    if (rc == 0 && off < len)
        rc = sse_feed(&p, buf + off, len - off);
    if (rc == 0)
        rc = sse_finish(&p, (len & 1) != 0);
    sse_free(&p);
    if (!s->oai.terminal)
        llm_on_eof(&s->oai, false);
    if (!s->ant.terminal)
        llm_on_eof(&s->ant, true);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;
    seen whole = {0}, cut = {0};
    int r1 = run(buf, len, NULL, 0, &whole);
    /* The cut points come from the stream itself (seeded by byte 0), so
     * one input exercises many splits without a second length field. */
    uint8_t cuts[16];
    for (size_t i = 0; i < sizeof cuts; i++)
        cuts[i] = (uint8_t)(data[0] * (i + 1) + (len ? (uint8_t)buf[i % len] : 0));
    int r2 = run(buf, len, cuts, sizeof cuts, &cut);
    if (r1 != r2 || whole.n != cut.n || whole.len != cut.len ||
        (whole.len && memcmp(whole.log, cut.log, whole.len) != 0))
        abort();
    char *e = llm_http_error(400 + data[0], buf, len);
    free(e);
    free(whole.log);
    free(cut.log);
    return 0;
}
