/* interface http: lower the canonical-ABI arguments and results; the
 * transfer itself and every gate (net list, egress, SSRF, limits) belong to
 * the env's astrid_http_ops (the daemon's libcurl client), so a program
 * that never serves capsules does not link libcurl. */
#include <stdlib.h>
#include <string.h>

#include "capsule/host/abi.h"

#define HTTP(f) HOST_FN(http, f)
#define URL_MAX 8192
#define HDR_MAX 8192
#define MAX_HEADERS 128
#define BODY_MAX (10u << 20)

void astrid_http_resp_clear(astrid_http_resp *r)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->headers[i].key);
        free(r->headers[i].value);
    }
    free(r->headers);
    free(r->body);
    *r = (astrid_http_resp){0};
}

typedef struct req_args {
    astrid_http_req req;
    char *url, *method, *body;
    astrid_http_header *hdrs;
} req_args;

static void args_free(req_args *a)
{
    for (size_t i = 0; a->hdrs && i < a->req.nheaders; i++) {
        free(a->hdrs[i].key);
        free(a->hdrs[i].value);
    }
    free(a->hdrs);
    free(a->url);
    free(a->method);
    free(a->body);
}

/* Copy the request out of guest memory; traps on bad pointers, an error
 * string (returned) on limits. */
static const char *args_read(void *inst, req_args *a, const uint32_t v[9])
{
    *a = (req_args){0};
    a->url = abi_str(inst, v[0], v[1], URL_MAX);
    a->method = abi_str(inst, v[2], v[3], 16);
    if (v[5] > MAX_HEADERS)
        return "too many headers (at most 128)";
    a->hdrs = calloc(v[5] ? v[5] : 1, sizeof *a->hdrs);
    if (!a->hdrs)
        return "host out of memory";
    const uint8_t *h = v[5] ? astrid_wasm_mem(inst, v[4], v[5] * 16u) : NULL;
    if (v[5] && !h)
        astrid_wasm_host_trap(inst, "headers out of bounds of guest memory");
    for (uint32_t i = 0; i < v[5]; i++) {
        uint32_t f[4];
        memcpy(f, h + (size_t)i * 16, 16);
        a->hdrs[i].key = abi_str(inst, f[0], f[1], HDR_MAX);
        a->hdrs[i].value = abi_str(inst, f[2], f[3], HDR_MAX);
        a->req.nheaders = i + 1;
    }
    if (v[6]) {
        if (v[8] > BODY_MAX)
            return "request body over 10 MiB";
        a->body = abi_str(inst, v[7], v[8], BODY_MAX);
        a->req.body = (const uint8_t *)a->body;
        a->req.body_len = v[8];
    }
    if (strlen(a->url) != v[1] || strlen(a->method) != v[3])
        return "url and method hold no NUL";
    a->req.url = a->url;
    a->req.method = a->method;
    a->req.headers = a->hdrs;
    return NULL;
}

/* list<key-value-pair> into guest memory at `at`. */
static void put_headers(void *inst, uint32_t at, const astrid_http_resp *r)
{
    uint32_t n = (uint32_t)r->nheaders;
    /* The list first, then each string into it: every allocation may grow
     * guest memory, so no host pointer into it is kept across one. */
    uint32_t base = abi_alloc(inst, 4, n * 16);
    for (uint32_t i = 0; i < n; i++) {
        abi_put(inst, base + i * 16, r->headers[i].key, (uint32_t)strlen(r->headers[i].key));
        abi_put(inst, base + i * 16 + 8, r->headers[i].value,
                (uint32_t)strlen(r->headers[i].value));
    }
    abi_list(inst, at, base, n);
}

static void put_u16(void *inst, uint32_t at, unsigned v)
{
    uint16_t s = (uint16_t)v;
    uint8_t *g = astrid_wasm_mem(inst, at, 2);
    if (g)
        memcpy(g, &s, 2);
    else
        astrid_wasm_host_trap(inst, "result area out of bounds of guest memory");
}

#define NO_HTTP "http: this program serves no capsule HTTP (only the daemon does)"

void HTTP(httpZ2Drequest)(void *inst, uint32_t a, uint32_t b, uint32_t c, uint32_t d, uint32_t e,
                          uint32_t f, uint32_t g, uint32_t h, uint32_t i, uint32_t ret);
void HTTP(httpZ2Drequest)(void *inst, uint32_t a, uint32_t b, uint32_t c, uint32_t d, uint32_t e,
                          uint32_t f, uint32_t g, uint32_t h, uint32_t i, uint32_t ret)
{
    astrid_wasm_host_enter(inst);
    const astrid_invocation *inv = abi_inv(inst);
    const uint32_t v[9] = {a, b, c, d, e, f, g, h, i};
    req_args ra;
    const char *bad = args_read(inst, &ra, v);
    astrid_http_resp resp = {0};
    astrid_err err;
    if (bad) {
        abi_err(inst, ret, 4, "http-request: %s", bad);
    } else if (!inv->env->http) {
        abi_err(inst, ret, 4, "%s", NO_HTTP);
    } else if (inv->env->http->request(inv->env->http->ctx, inv, &ra.req, &resp, &err) != 0) {
        abi_err(inst, ret, 4, "%s", err.msg);
    } else {
        abi_ok(inst, ret, 24);
        put_u16(inst, ret + 4, resp.status);
        put_headers(inst, ret + 8, &resp);
        abi_put(inst, ret + 16, resp.body, (uint32_t)resp.body_len);
    }
    astrid_http_resp_clear(&resp);
    args_free(&ra);
    astrid_wasm_host_leave(inst);
}

void HTTP(httpZ2DstreamZ2Dstart)(void *inst, uint32_t a, uint32_t b, uint32_t c, uint32_t d,
                                 uint32_t e, uint32_t f, uint32_t g, uint32_t h, uint32_t i,
                                 uint32_t ret);
void HTTP(httpZ2DstreamZ2Dstart)(void *inst, uint32_t a, uint32_t b, uint32_t c, uint32_t d,
                                 uint32_t e, uint32_t f, uint32_t g, uint32_t h, uint32_t i,
                                 uint32_t ret)
{
    astrid_wasm_host_enter(inst);
    astrid_invocation *inv = abi_inv(inst);
    const uint32_t v[9] = {a, b, c, d, e, f, g, h, i};
    req_args ra;
    const char *bad = args_read(inst, &ra, v);
    astrid_http_resp head = {0};
    astrid_err err;
    size_t slot = ASTRID_HTTP_MAX_STREAMS;
    for (size_t k = 0; k < ASTRID_HTTP_MAX_STREAMS && slot == ASTRID_HTTP_MAX_STREAMS; k++)
        if (!inv->http_streams[k].stream)
            slot = k;
    void *s = NULL;
    if (bad) {
        abi_err(inst, ret, 8, "http-stream-start: %s", bad);
    } else if (!inv->env->http) {
        abi_err(inst, ret, 8, "%s", NO_HTTP);
    } else if (slot == ASTRID_HTTP_MAX_STREAMS) {
        abi_err(inst, ret, 8, "http-stream-start: at most %d active streams",
                ASTRID_HTTP_MAX_STREAMS);
    } else if (!(s = inv->env->http->stream_start(inv->env->http->ctx, inv, &ra.req, &head,
                                                  &err))) {
        abi_err(inst, ret, 8, "%s", err.msg);
    } else {
        uint64_t handle = ++inv->next_handle;
        inv->http_streams[slot].handle = handle;
        inv->http_streams[slot].stream = s;
        abi_ok(inst, ret, 32);
        abi_u64(inst, ret + 8, handle);
        put_u16(inst, ret + 16, head.status);
        put_headers(inst, ret + 20, &head);
    }
    astrid_http_resp_clear(&head);
    args_free(&ra);
    astrid_wasm_host_leave(inst);
}

static size_t find_stream(const astrid_invocation *inv, uint64_t h)
{
    for (size_t k = 0; k < ASTRID_HTTP_MAX_STREAMS; k++)
        if (inv->http_streams[k].stream && inv->http_streams[k].handle == h)
            return k;
    return ASTRID_HTTP_MAX_STREAMS;
}

void HTTP(httpZ2DstreamZ2Dread)(void *inst, uint64_t h, uint32_t ret);
void HTTP(httpZ2DstreamZ2Dread)(void *inst, uint64_t h, uint32_t ret)
{
    astrid_wasm_host_enter(inst);
    astrid_invocation *inv = abi_inv(inst);
    size_t k = find_stream(inv, h);
    uint8_t *chunk = NULL;
    size_t len = 0;
    astrid_err err;
    if (k == ASTRID_HTTP_MAX_STREAMS)
        abi_err(inst, ret, 4, "http-stream-read: no open stream %llu", (unsigned long long)h);
    else if (inv->env->http->stream_read(inv->http_streams[k].stream, &chunk, &len, &err) != 0)
        abi_err(inst, ret, 4, "%s", err.msg);
    else {
        abi_ok(inst, ret, 12);
        abi_put(inst, ret + 4, chunk, (uint32_t)len);
    }
    free(chunk);
    astrid_wasm_host_leave(inst);
}

void HTTP(httpZ2DstreamZ2Dclose)(void *inst, uint64_t h, uint32_t ret);
void HTTP(httpZ2DstreamZ2Dclose)(void *inst, uint64_t h, uint32_t ret)
{
    astrid_wasm_host_enter(inst);
    astrid_invocation *inv = abi_inv(inst);
    size_t k = find_stream(inv, h);
    if (k < ASTRID_HTTP_MAX_STREAMS) {
        inv->env->http->stream_close(inv->http_streams[k].stream);
        inv->http_streams[k].stream = NULL;
    }
    abi_ok(inst, ret, 12); /* idempotent, as upstream */
    astrid_wasm_host_leave(inst);
}
