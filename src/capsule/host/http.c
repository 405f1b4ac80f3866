/* interface http: the capsule's request handed to the env's
 * astrid_http_ops, which own the transfer and every gate (net list,
 * egress, SSRF, limits): the daemon's libcurl client, so a program that
 * never serves capsules does not link libcurl. Streams are held per
 * instance (astrid_invocation.http_streams) until closed or the instance
 * goes. Lifting and lowering are the generated glue's (host_glue.h). */
#include <stdlib.h>
#include <string.h>

#include "host_glue.h"

#define URL_MAX 8192
#define METHOD_MAX 16
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

/* The capsule's request as the ops take it (borrowing the lifted
 * strings; hdrs has room for MAX_HEADERS), or NULL after failing the call
 * on a limit. */
static const astrid_http_req *req_of(astrid_host_call *c, const wit_http_request_data *r,
                                     astrid_http_header *hdrs, astrid_http_req *out)
{
    const char *bad = NULL;
    if (r->headers.n > MAX_HEADERS)
        bad = "too many headers (at most 128)";
    else if (r->url.len > URL_MAX || r->method.len > METHOD_MAX)
        bad = "url over 8192 bytes or method over 16 bytes";
    for (size_t i = 0; !bad && i < r->headers.n; i++) {
        if (r->headers.v[i].key.len > HDR_MAX || r->headers.v[i].value.len > HDR_MAX)
            bad = "header over 8192 bytes";
        hdrs[i] = (astrid_http_header){r->headers.v[i].key.ptr, r->headers.v[i].value.ptr};
    }
    if (!bad && r->body.has && r->body.val.len > BODY_MAX)
        bad = "request body over 10 MiB";
    if (!bad && (strlen(r->url.ptr) != r->url.len || strlen(r->method.ptr) != r->method.len))
        bad = "url and method hold no NUL";
    if (bad) {
        astrid_host_fail(c, "%s: %s", c->fn->name, bad);
        return NULL;
    }
    *out = (astrid_http_req){.url = r->url.ptr,
                             .method = r->method.ptr,
                             .headers = hdrs,
                             .nheaders = r->headers.n,
                             .body = r->body.has ? (const uint8_t *)r->body.val.ptr : NULL,
                             .body_len = r->body.has ? r->body.val.len : 0};
    return out;
}

/* Move the response's headers into a list<key-value-pair> out value (the
 * glue frees them); -1 with the call failed when out of memory. */
static int take_headers(astrid_host_call *c, astrid_http_resp *r, wit_list_key_value_pair *out)
{
    if (!(out->v = calloc(r->nheaders ? r->nheaders : 1, sizeof *out->v)))
        return astrid_host_fail(c, "%s: out of memory", c->fn->name);
    for (; out->n < r->nheaders; out->n++) {
        astrid_http_header *h = &r->headers[out->n];
        out->v[out->n] =
            (wit_key_value_pair){{h->key, strlen(h->key)}, {h->value, strlen(h->value)}};
        h->key = h->value = NULL;
    }
    return 0;
}

#define NO_HTTP "http: this program serves no capsule HTTP (only the daemon does)"

int astrid_host_http_request(astrid_host_call *c, const wit_http_request_data *request,
                             wit_http_response_data *out)
{
    const astrid_invocation *inv = c->inv;
    astrid_http_header hdrs[MAX_HEADERS];
    astrid_http_req req;
    astrid_http_resp resp = {0};
    astrid_err err;
    if (!req_of(c, request, hdrs, &req))
        return -1;
    if (!inv->env->http)
        return astrid_host_fail(c, "%s", NO_HTTP);
    if (inv->env->http->request(inv->env->http->ctx, inv, &req, &resp, &err) != 0) {
        astrid_http_resp_clear(&resp);
        return astrid_host_fail(c, "%s", err.msg);
    }
    out->status = (uint16_t)resp.status;
    int rc = take_headers(c, &resp, &out->headers);
    out->body = (astrid_bytes){resp.body, resp.body_len};
    resp.body = NULL;
    astrid_http_resp_clear(&resp);
    return rc;
}

int astrid_host_http_stream_start(astrid_host_call *c, const wit_http_request_data *request,
                                  wit_http_stream_start_response *out)
{
    astrid_invocation *inv = c->inv;
    astrid_http_header hdrs[MAX_HEADERS];
    astrid_http_req req;
    astrid_http_resp head = {0};
    astrid_err err;
    size_t slot = ASTRID_HTTP_MAX_STREAMS;
    for (size_t k = 0; k < ASTRID_HTTP_MAX_STREAMS && slot == ASTRID_HTTP_MAX_STREAMS; k++)
        if (!inv->http_streams[k].stream)
            slot = k;
    if (!req_of(c, request, hdrs, &req))
        return -1;
    if (!inv->env->http)
        return astrid_host_fail(c, "%s", NO_HTTP);
    if (slot == ASTRID_HTTP_MAX_STREAMS)
        return astrid_host_fail(c, "http-stream-start: at most %d active streams",
                                ASTRID_HTTP_MAX_STREAMS);
    void *s = inv->env->http->stream_start(inv->env->http->ctx, inv, &req, &head, &err);
    if (!s) {
        astrid_http_resp_clear(&head);
        return astrid_host_fail(c, "%s", err.msg);
    }
    inv->http_streams[slot].handle = out->handle = ++inv->next_handle;
    inv->http_streams[slot].stream = s;
    out->status = (uint16_t)head.status;
    int rc = take_headers(c, &head, &out->headers);
    astrid_http_resp_clear(&head);
    return rc;
}

static size_t find_stream(const astrid_invocation *inv, uint64_t h)
{
    for (size_t k = 0; k < ASTRID_HTTP_MAX_STREAMS; k++)
        if (inv->http_streams[k].stream && inv->http_streams[k].handle == h)
            return k;
    return ASTRID_HTTP_MAX_STREAMS;
}

/* The next chunk; empty at the end of the body. */
int astrid_host_http_stream_read(astrid_host_call *c, uint64_t stream_handle, astrid_bytes *out)
{
    astrid_invocation *inv = c->inv;
    size_t k = find_stream(inv, stream_handle);
    astrid_err err;
    if (k == ASTRID_HTTP_MAX_STREAMS)
        return astrid_host_fail(c, "http-stream-read: no open stream %llu",
                                (unsigned long long)stream_handle);
    /* the chunk becomes the result (the glue frees it) */
    if (inv->env->http->stream_read(inv->http_streams[k].stream, &out->ptr, &out->len, &err) != 0)
        return astrid_host_fail(c, "%s", err.msg);
    return 0;
}

/* Idempotent, as upstream: closing an unknown stream is not an error. */
int astrid_host_http_stream_close(astrid_host_call *c, uint64_t stream_handle)
{
    astrid_invocation *inv = c->inv;
    size_t k = find_stream(inv, stream_handle);
    if (k < ASTRID_HTTP_MAX_STREAMS) {
        inv->env->http->stream_close(inv->http_streams[k].stream);
        inv->http_streams[k].stream = NULL;
    }
    return 0;
}
