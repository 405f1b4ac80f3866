/* Astrid C guest SDK: the canonical-ABI lowering of the host calls it wraps
 * (layouts in docs/abi.md) and the guest exports every capsule needs:
 * cabi_realloc, astrid-hook-trigger and its cabi_post_ cleanup.
 * Compiled for wasm32-wasi: pointers and size_t are 32 bits. */
#include "astrid.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMPORT(iface, fn)                                                                          \
    __attribute__((import_module("astrid:capsule/" iface "@0.1.0"), import_name(fn)))

/* ---- imports (core signatures per docs/abi.md) ---- */
IMPORT("sys", "log") extern void imp_log(int32_t level, const char *p, size_t n);
IMPORT("sys", "clock-ms") extern int64_t imp_clock_ms(void);
IMPORT("sys", "signal-ready") extern void imp_signal_ready(void);
IMPORT("sys", "get-config") extern void imp_get_config(const char *k, size_t kn, void *ret);
IMPORT("sys", "get-caller") extern void imp_get_caller(void *ret);
IMPORT("ipc", "ipc-publish")
extern void imp_publish(const char *t, size_t tn, const char *p, size_t pn, void *ret);
IMPORT("ipc", "ipc-subscribe") extern void imp_subscribe(const char *t, size_t tn, void *ret);
IMPORT("ipc", "ipc-recv") extern void imp_recv(int64_t handle, int64_t timeout, void *ret);
IMPORT("ipc", "ipc-poll") extern void imp_poll(int64_t handle, void *ret);
IMPORT("ipc", "ipc-unsubscribe") extern void imp_unsubscribe(int64_t handle, void *ret);
IMPORT("ipc", "get-interceptor-handles") extern void imp_handles(void *ret);
IMPORT("kv", "kv-get") extern void imp_kv_get(const char *k, size_t kn, void *ret);
IMPORT("kv", "kv-set")
extern void imp_kv_set(const char *k, size_t kn, const void *v, size_t vn, void *ret);
IMPORT("kv", "kv-delete") extern void imp_kv_delete(const char *k, size_t kn, void *ret);
IMPORT("kv", "kv-list-keys") extern void imp_kv_list_keys(const char *p, size_t pn, void *ret);
IMPORT("http", "http-request")
extern void imp_http_request(const char *url, size_t url_n, const char *method, size_t method_n,
                             const void *headers, size_t nheaders, int32_t has_body,
                             const char *body, size_t body_n, void *ret);

/* ---- memory the host fills ---- */
__attribute__((export_name("cabi_realloc"))) void *cabi_realloc(void *old, size_t old_size,
                                                                size_t align, size_t new_size)
{
    (void)old_size;
    if (new_size == 0)
        return (void *)align; /* any non-null, aligned pointer */
    void *p = realloc(old, new_size);
    if (!p)
        __builtin_trap(); /* out of memory: the invocation ends with a trap */
    return p;
}

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Take a host-allocated (ptr, len) string: NUL-terminate it in place. */
static char *take_str(uint32_t ptr, uint32_t len)
{
    /* An empty string or list was never really allocated (cabi_realloc of
     * size 0 hands out a dummy pointer): do not touch it. */
    char *s = len ? realloc((void *)(uintptr_t)ptr, (size_t)len + 1) : malloc(1);
    if (!s)
        __builtin_trap();
    s[len] = '\0';
    return s;
}

/* result<_, string>-style error at `off`: hand it over or free it. */
static int fail(const uint8_t *ret, size_t off, char **err)
{
    char *msg = take_str(rd32(ret + off), rd32(ret + off + 4));
    if (err)
        *err = msg;
    else
        free(msg);
    return -1;
}

/* ---- sys ---- */
void astrid_log(astrid_log_level level, const char *message)
{
    imp_log((int32_t)level, message, strlen(message));
}

void astrid_logf(astrid_log_level level, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    astrid_log(level, buf);
}

uint64_t astrid_clock_ms(void)
{
    return (uint64_t)imp_clock_ms();
}

void astrid_signal_ready(void)
{
    imp_signal_ready();
}

int astrid_get_config(const char *key, char **value, char **err)
{
    _Alignas(8) uint8_t ret[16];
    imp_get_config(key, strlen(key), ret);
    if (ret[0])
        return fail(ret, 4, err);
    *value = take_str(rd32(ret + 4), rd32(ret + 8));
    return 0;
}

int astrid_get_caller(astrid_caller *out, char **err)
{
    _Alignas(8) uint8_t ret[32];
    imp_get_caller(ret);
    if (ret[0])
        return fail(ret, 4, err);
    out->principal = ret[4] ? take_str(rd32(ret + 8), rd32(ret + 12)) : NULL;
    out->source_id = take_str(rd32(ret + 16), rd32(ret + 20));
    out->timestamp = take_str(rd32(ret + 24), rd32(ret + 28));
    return 0;
}

void astrid_caller_free(astrid_caller *c)
{
    free(c->principal);
    free(c->source_id);
    free(c->timestamp);
    memset(c, 0, sizeof *c);
}

/* ---- ipc ---- */
int astrid_publish(const char *topic, const char *json, char **err)
{
    _Alignas(8) uint8_t ret[16];
    imp_publish(topic, strlen(topic), json, strlen(json), ret);
    return ret[0] ? fail(ret, 4, err) : 0;
}

int astrid_subscribe(const char *pattern, uint64_t *handle, char **err)
{
    _Alignas(8) uint8_t ret[16];
    imp_subscribe(pattern, strlen(pattern), ret);
    if (ret[0])
        return fail(ret, 8, err);
    *handle = rd64(ret + 8);
    return 0;
}

static int envelope(const uint8_t *ret, astrid_envelope *out, char **err)
{
    if (ret[0])
        return fail(ret, 8, err);
    uint8_t *msgs = (uint8_t *)(uintptr_t)rd32(ret + 8);
    size_t n = rd32(ret + 12);
    out->count = n;
    out->dropped = rd64(ret + 16);
    out->lagged = rd64(ret + 24);
    out->messages = n ? calloc(n, sizeof *out->messages) : NULL;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *m = msgs + 24 * i;
        out->messages[i].topic = take_str(rd32(m), rd32(m + 4));
        out->messages[i].payload = take_str(rd32(m + 8), rd32(m + 12));
        out->messages[i].source_id = take_str(rd32(m + 16), rd32(m + 20));
    }
    if (n)
        free(msgs);
    return 0;
}

int astrid_recv(uint64_t handle, uint64_t timeout_ms, astrid_envelope *out, char **err)
{
    _Alignas(8) uint8_t ret[32];
    imp_recv((int64_t)handle, (int64_t)timeout_ms, ret);
    return envelope(ret, out, err);
}

int astrid_poll(uint64_t handle, astrid_envelope *out, char **err)
{
    _Alignas(8) uint8_t ret[32];
    imp_poll((int64_t)handle, ret);
    return envelope(ret, out, err);
}

int astrid_unsubscribe(uint64_t handle, char **err)
{
    _Alignas(8) uint8_t ret[16];
    imp_unsubscribe((int64_t)handle, ret);
    return ret[0] ? fail(ret, 4, err) : 0;
}

int astrid_interceptor_handles(astrid_handle **out, size_t *count, char **err)
{
    _Alignas(8) uint8_t ret[16];
    imp_handles(ret);
    if (ret[0])
        return fail(ret, 4, err);
    uint8_t *list = (uint8_t *)(uintptr_t)rd32(ret + 4);
    size_t n = rd32(ret + 8);
    *count = n;
    *out = n ? calloc(n, sizeof **out) : NULL;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *h = list + 24 * i;
        (*out)[i].id = rd64(h);
        (*out)[i].action = take_str(rd32(h + 8), rd32(h + 12));
        (*out)[i].topic = take_str(rd32(h + 16), rd32(h + 20));
    }
    if (n)
        free(list);
    return 0;
}

void astrid_handles_free(astrid_handle *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(h[i].action);
        free(h[i].topic);
    }
    free(h);
}

void astrid_envelope_free(astrid_envelope *e)
{
    for (size_t i = 0; i < e->count; i++) {
        free(e->messages[i].topic);
        free(e->messages[i].payload);
        free(e->messages[i].source_id);
    }
    free(e->messages);
    memset(e, 0, sizeof *e);
}

/* ---- kv ---- */
int astrid_kv_get(const char *key, uint8_t **value, size_t *len, bool *found, char **err)
{
    _Alignas(8) uint8_t ret[16];
    imp_kv_get(key, strlen(key), ret);
    if (ret[0])
        return fail(ret, 4, err);
    *found = ret[4] != 0;
    *value = NULL;
    *len = 0;
    if (*found) {
        *len = rd32(ret + 12);
        *value = (uint8_t *)take_str(rd32(ret + 8), (uint32_t)*len);
    }
    return 0;
}

int astrid_kv_set(const char *key, const void *value, size_t len, char **err)
{
    _Alignas(8) uint8_t ret[16];
    imp_kv_set(key, strlen(key), value, len, ret);
    return ret[0] ? fail(ret, 4, err) : 0;
}

int astrid_kv_delete(const char *key, char **err)
{
    _Alignas(8) uint8_t ret[16];
    imp_kv_delete(key, strlen(key), ret);
    return ret[0] ? fail(ret, 4, err) : 0;
}

int astrid_kv_list_keys(const char *prefix, char ***keys, size_t *count, char **err)
{
    _Alignas(8) uint8_t ret[16];
    imp_kv_list_keys(prefix, strlen(prefix), ret);
    if (ret[0])
        return fail(ret, 4, err);
    uint8_t *arr = (uint8_t *)(uintptr_t)rd32(ret + 4);
    size_t n = rd32(ret + 8);
    *count = n;
    *keys = n ? calloc(n, sizeof **keys) : NULL;
    for (size_t i = 0; i < n; i++)
        (*keys)[i] = take_str(rd32(arr + 8 * i), rd32(arr + 8 * i + 4));
    if (n)
        free(arr);
    return 0;
}

void astrid_strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* ---- http ---- */
int astrid_http(const astrid_http_request *req, astrid_http_response *resp, char **err)
{
    const char *method = req->method ? req->method : "GET";
    uint32_t *hdr = req->nheaders ? calloc(req->nheaders, 16) : NULL;
    for (size_t i = 0; i < req->nheaders; i++) {
        hdr[4 * i] = (uint32_t)(uintptr_t)req->headers[i].key;
        hdr[4 * i + 1] = (uint32_t)strlen(req->headers[i].key);
        hdr[4 * i + 2] = (uint32_t)(uintptr_t)req->headers[i].value;
        hdr[4 * i + 3] = (uint32_t)strlen(req->headers[i].value);
    }
    _Alignas(8) uint8_t ret[24];
    imp_http_request(req->url, strlen(req->url), method, strlen(method), hdr, req->nheaders,
                     req->body != NULL, req->body ? req->body : "",
                     req->body ? strlen(req->body) : 0, ret);
    free(hdr);
    if (ret[0])
        return fail(ret, 4, err);
    memset(resp, 0, sizeof *resp);
    resp->status = (uint16_t)(ret[4] | ret[5] << 8);
    uint8_t *h = (uint8_t *)(uintptr_t)rd32(ret + 8);
    size_t nh = rd32(ret + 12);
    resp->nheaders = nh;
    resp->header_keys = nh ? calloc(nh, sizeof(char *)) : NULL;
    resp->header_values = nh ? calloc(nh, sizeof(char *)) : NULL;
    for (size_t i = 0; i < nh; i++) {
        resp->header_keys[i] = take_str(rd32(h + 16 * i), rd32(h + 16 * i + 4));
        resp->header_values[i] = take_str(rd32(h + 16 * i + 8), rd32(h + 16 * i + 12));
    }
    if (nh)
        free(h);
    resp->body_len = rd32(ret + 20);
    resp->body = (uint8_t *)take_str(rd32(ret + 16), (uint32_t)resp->body_len);
    return 0;
}

void astrid_http_response_free(astrid_http_response *r)
{
    astrid_strv_free(r->header_keys, r->nheaders);
    astrid_strv_free(r->header_values, r->nheaders);
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* ---- interceptors ---- */
#define MAX_HANDLERS 64
typedef struct handler_entry {
    const char *action;
    astrid_handler fn;
} handler_entry;
static handler_entry handlers[MAX_HANDLERS];
static size_t nhandlers;

void astrid_register(const char *action, astrid_handler fn)
{
    if (nhandlers < MAX_HANDLERS)
        handlers[nhandlers++] = (handler_entry){action, fn};
}

void astrid_reply_set(astrid_reply *r, const char *text)
{
    free(r->data);
    r->data = text ? strdup(text) : NULL;
}

/* capsule-result {action: string, data: option<string>}: action @0/@4,
 * data discriminant @8, string @12/@16. Freed by the post-return export. */
static _Alignas(8) uint8_t hook_ret[20];

static void put_str(uint8_t *at, const char *s)
{
    size_t n = strlen(s);
    char *copy = malloc(n ? n : 1);
    if (!copy)
        __builtin_trap();
    memcpy(copy, s, n);
    uint32_t p = (uint32_t)(uintptr_t)copy, l = (uint32_t)n;
    memcpy(at, &p, 4);
    memcpy(at + 4, &l, 4);
}

__attribute__((export_name("astrid-hook-trigger"))) uint8_t *
astrid_hook_trigger(char *action, size_t action_len, uint8_t *payload, size_t payload_len)
{
    /* The arguments were allocated for us by the host (cabi_realloc). */
    char *act = take_str((uint32_t)(uintptr_t)action, (uint32_t)action_len);
    uint8_t *pl = (uint8_t *)take_str((uint32_t)(uintptr_t)payload, (uint32_t)payload_len);
    astrid_handler fn = NULL;
    for (size_t i = 0; i < nhandlers && !fn; i++)
        if (strcmp(handlers[i].action, act) == 0)
            fn = handlers[i].fn;
    astrid_reply reply = {0};
    astrid_action a;
    if (fn) {
        astrid_event ev = {act, pl, payload_len};
        a = fn(&ev, &reply);
    } else {
        a = ASTRID_CONTINUE; /* an action this capsule does not handle */
    }
    memset(hook_ret, 0, sizeof hook_ret);
    put_str(hook_ret, a == ASTRID_FINAL ? "final" : a == ASTRID_DENY ? "deny" : "continue");
    if (reply.data) {
        hook_ret[8] = 1;
        put_str(hook_ret + 12, reply.data);
    }
    free(reply.data);
    free(act);
    free(pl);
    return hook_ret;
}

__attribute__((export_name("cabi_post_astrid-hook-trigger"))) void
astrid_hook_trigger_post(uint8_t *ret)
{
    free((void *)(uintptr_t)rd32(ret));
    if (ret[8])
        free((void *)(uintptr_t)rd32(ret + 12));
}
