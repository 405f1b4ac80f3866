/* Astrid C guest SDK: the canonical-ABI lifting of the results of the host
 * calls it wraps (layouts in docs/abi.md) and the guest exports every
 * capsule needs: cabi_realloc, astrid-hook-trigger and its cabi_post_
 * cleanup.
 * Compiled for wasm32-wasi: pointers and size_t are 32 bits. */
#include "astrid.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The imports are astrid_imports.h's, generated from wit/astrid.wit with
 * the host's glue (astrid-build puts the header on the include path), so
 * the SDK cannot drift from the host. Their arguments are the flattened
 * core values: a pointer or length as int32_t. */
#define P(x) ((int32_t)(uintptr_t)(x))
/* A C string as its (ptr, len) argument pair. */
#define S(s) P(s), (int32_t)strlen(s)
/* The result area of import FN, as large and aligned as the host fills it. */
#define RET(FN) _Alignas(ASTRID_IMPORT_##FN##_RET_ALIGN) uint8_t ret[ASTRID_IMPORT_##FN##_RET_SIZE]

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
/* Length (1..4) of the valid UTF-8 sequence at p (left bytes readable),
 * 0 when invalid: overlong forms, surrogates, above U+10FFFF, cut. */
static size_t utf8_seq(const unsigned char *p, size_t left)
{
    unsigned c = p[0];
    size_t n = c < 0x80                 ? 1
               : c >= 0xc2 && c <= 0xdf ? 2
               : c >= 0xe0 && c <= 0xef ? 3
               : c >= 0xf0 && c <= 0xf4 ? 4
                                        : 0;
    if (!n || n > left)
        return 0;
    for (size_t k = 1; k < n; k++)
        if ((p[k] & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0) || (c == 0xf0 && p[1] < 0x90) ||
        (c == 0xf4 && p[1] >= 0x90))
        return 0;
    return n;
}

char *astrid_utf8_lossy(const char *s, size_t len)
{
    char *o = malloc(len + 1);
    if (!o)
        __builtin_trap();
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t k = utf8_seq(u + i, len - i);
        if (!k || (k == 1 && u[i] == 0)) {
            o[i++] = '?';
            continue;
        }
        memcpy(o + i, s + i, k);
        i += k;
    }
    o[len] = '\0';
    return o;
}

/* A WIT string must be UTF-8 (the host traps otherwise); log never
 * fails, so each byte of a message that is not (raw data, a multi-byte
 * character cut by a buffer) is logged as '?'. */
void astrid_log(astrid_log_level level, const char *message)
{
    const unsigned char *m = (const unsigned char *)message;
    size_t n = strlen(message), i = 0, k = 0;
    while (i < n && (k = utf8_seq(m + i, n - i)))
        i += k;
    if (i == n) {
        astrid_import_sys_log((int32_t)level, P(message), (int32_t)n);
        return;
    }
    char *fixed = astrid_utf8_lossy(message, n);
    astrid_import_sys_log((int32_t)level, P(fixed), (int32_t)n);
    free(fixed);
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
    return (uint64_t)astrid_import_sys_clock_ms();
}

void astrid_signal_ready(void)
{
    astrid_import_sys_signal_ready();
}

int astrid_get_config(const char *key, char **value, char **err)
{
    RET(SYS_GET_CONFIG);
    astrid_import_sys_get_config(S(key), P(ret));
    if (ret[0])
        return fail(ret, 4, err);
    *value = take_str(rd32(ret + 4), rd32(ret + 8));
    return 0;
}

int astrid_get_caller(astrid_caller *out, char **err)
{
    RET(SYS_GET_CALLER);
    astrid_import_sys_get_caller(P(ret));
    if (ret[0])
        return fail(ret, 4, err);
    out->principal = ret[4] ? take_str(rd32(ret + 8), rd32(ret + 12)) : NULL;
    out->source_id = take_str(rd32(ret + 16), rd32(ret + 20));
    out->timestamp = take_str(rd32(ret + 24), rd32(ret + 28));
    return 0;
}

int astrid_trigger_hook(const char *hook, const char *payload_json, char **answers, char **err)
{
    /* {"hook":<quoted>,"payload":<payload>}; the hook is quoted by hand so
     * the SDK core does not depend on the JSON library. */
    const char *pl = payload_json ? payload_json : "{}";
    size_t n = strlen(hook), m = strlen(pl);
    char *req = malloc(2 * n + m + 32);
    if (!req)
        __builtin_trap();
    char *w = req;
    w += sprintf(w, "{\"hook\":\"");
    for (size_t i = 0; i < n; i++) {
        if (hook[i] == '"' || hook[i] == '\\')
            *w++ = '\\';
        *w++ = hook[i];
    }
    w += sprintf(w, "\",\"payload\":%s}", pl);
    RET(SYS_TRIGGER_HOOK);
    astrid_import_sys_trigger_hook(P(req), (int32_t)(w - req), P(ret));
    free(req);
    if (ret[0])
        return fail(ret, 4, err);
    *answers = take_str(rd32(ret + 4), rd32(ret + 8));
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
    RET(IPC_PUBLISH);
    astrid_import_ipc_publish(S(topic), S(json), P(ret));
    return ret[0] ? fail(ret, 4, err) : 0;
}

int astrid_subscribe(const char *pattern, uint64_t *handle, char **err)
{
    RET(IPC_SUBSCRIBE);
    astrid_import_ipc_subscribe(S(pattern), P(ret));
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
    RET(IPC_RECV);
    astrid_import_ipc_recv((int64_t)handle, (int64_t)timeout_ms, P(ret));
    return envelope(ret, out, err);
}

int astrid_poll(uint64_t handle, astrid_envelope *out, char **err)
{
    RET(IPC_POLL);
    astrid_import_ipc_poll((int64_t)handle, P(ret));
    return envelope(ret, out, err);
}

int astrid_unsubscribe(uint64_t handle, char **err)
{
    RET(IPC_UNSUBSCRIBE);
    astrid_import_ipc_unsubscribe((int64_t)handle, P(ret));
    return ret[0] ? fail(ret, 4, err) : 0;
}

int astrid_interceptor_handles(astrid_handle **out, size_t *count, char **err)
{
    RET(IPC_GET_INTERCEPTOR_HANDLES);
    astrid_import_ipc_get_interceptor_handles(P(ret));
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
    RET(KV_GET);
    astrid_import_kv_get(S(key), P(ret));
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
    RET(KV_SET);
    astrid_import_kv_set(S(key), P(value), (int32_t)len, P(ret));
    return ret[0] ? fail(ret, 4, err) : 0;
}

int astrid_kv_delete(const char *key, char **err)
{
    RET(KV_DELETE);
    astrid_import_kv_delete(S(key), P(ret));
    return ret[0] ? fail(ret, 4, err) : 0;
}

int astrid_kv_list_keys(const char *prefix, char ***keys, size_t *count, char **err)
{
    RET(KV_LIST_KEYS);
    astrid_import_kv_list_keys(S(prefix), P(ret));
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
    RET(HTTP_REQUEST);
    astrid_import_http_request(S(req->url), S(method), P(hdr), (int32_t)req->nheaders,
                               req->body != NULL, S(req->body ? req->body : ""), P(ret));
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
    // NOLINTNEXTLINE(bugprone-not-null-terminated-result): an ABI string is pointer + length
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
