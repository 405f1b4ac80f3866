/* interface ipc, the receiving half: subscribe/unsubscribe/poll/recv and
 * get-interceptor-handles, over bus subscriptions the instance holds.
 *
 * Every drained batch runs under its publisher's principal: a batch is cut
 * at the first message from another principal (the rest wait in the
 * subscription's `pending` for the next call), the invocation switches to
 * that principal (KV namespace, home, log, rate bucket, caller) after the
 * runtime's Layer 3 check, and an empty drain switches back to the owner
 * with no caller. A batch whose principal is refused is dropped and
 * counted in the envelope's `dropped`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "astrid/topic.h"
#include "bus/bus.h"
#include "host_glue.h"

#define TOPIC_MAX 256
#define RECV_MAX_MS 60000
#define SLICE_MS 100 /* a blocked recv looks for an unload this often */
#define BATCH_BYTES_MAX (10u << 20)
#define DRAIN_MAX 1024

void astrid_invocation_switch(astrid_invocation *inv, const char *principal,
                              const astrid_msg *caller)
{
    const char *p = principal ? principal : inv->base;
    snprintf(inv->principal, sizeof inv->principal, "%s", p);
    snprintf(inv->kv_ns, sizeof inv->kv_ns, "%s:capsule:%s", p, inv->capsule);
    inv->has_caller = caller != NULL;
    inv->caller_principal[0] = inv->caller_source[0] = inv->caller_time[0] = '\0';
    if (caller) {
        snprintf(inv->caller_principal, sizeof inv->caller_principal, "%s",
                 caller->principal ? caller->principal : "");
        snprintf(inv->caller_source, sizeof inv->caller_source, "%s", caller->source_id);
        time_t s = (time_t)(caller->timestamp_ns / 1000000000);
        struct tm tm;
        gmtime_r(&s, &tm);
        strftime(inv->caller_time, sizeof inv->caller_time, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
}

int astrid_invocation_subscribe(astrid_invocation *inv, const char *pattern, const char *action,
                                bool runtime_owned, uint64_t *handle, astrid_err *err)
{
    if (!inv->env->bus)
        return astrid_err_set(err, ASTRID_E_UNSUPPORTED,
                              "ipc: this program has no bus (only the daemon does)");
    size_t user = 0;
    for (size_t i = 0; i < inv->nsubs; i++)
        user += !inv->subs[i].runtime_owned;
    if (!runtime_owned && user >= ASTRID_MAX_SUBSCRIPTIONS)
        return astrid_err_set(err, ASTRID_E_LIMIT, "Too many subscriptions (at most %d)",
                              ASTRID_MAX_SUBSCRIPTIONS);
    astrid_inv_sub *ns = realloc(inv->subs, (inv->nsubs + 1) * sizeof *ns);
    if (!ns)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    inv->subs = ns;
    astrid_inv_sub *s = &ns[inv->nsubs];
    *s = (astrid_inv_sub){.runtime_owned = runtime_owned};
    s->topic = strdup(pattern);
    s->action = action ? strdup(action) : NULL;
    astrid_sub_opts o = {.capacity = ASTRID_BUS_DEFAULT_CAPACITY,
                         .only_principal = inv->env->owner_only ? inv->owner : NULL};
    if (!s->topic || (action && !s->action) ||
        !(s->sub = astrid_bus_subscribe(inv->env->bus, pattern, &o, err))) {
        free(s->topic);
        free(s->action);
        return s->topic ? -1 : astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    }
    s->handle = *handle = ++inv->next_handle;
    inv->nsubs++;
    return 0;
}

static void sub_clear(astrid_inv_sub *s)
{
    for (size_t i = s->pending_off; i < s->npending; i++)
        astrid_msg_unref(s->pending[i]);
    free(s->pending);
    astrid_sub_free(s->sub);
    free(s->topic);
    free(s->action);
}

void astrid_invocation_release(astrid_invocation *inv)
{
    for (size_t k = 0; k < ASTRID_HTTP_MAX_STREAMS; k++)
        if (inv->http_streams[k].stream) {
            inv->env->http->stream_close(inv->http_streams[k].stream);
            inv->http_streams[k].stream = NULL;
        }
    astrid_net_release(inv);
    for (size_t i = 0; i < inv->nsubs; i++)
        sub_clear(&inv->subs[i]);
    free(inv->subs);
    inv->subs = NULL;
    inv->nsubs = 0;
}

static astrid_inv_sub *find_sub(astrid_invocation *inv, uint64_t h)
{
    for (size_t i = 0; i < inv->nsubs; i++)
        if (inv->subs[i].handle == h)
            return &inv->subs[i];
    return NULL;
}

/* Subscribe ACL: the pattern must fall under an ipc_subscribe entry. */
static bool may_subscribe(const astrid_manifest *m, const char *pattern)
{
    for (size_t i = 0; i < m->ipc_subscribe.n; i++)
        if (astrid_topic_matches(pattern, m->ipc_subscribe.v[i]) ||
            strcmp(m->ipc_subscribe.v[i], pattern) == 0)
            return true;
    return false;
}

int astrid_host_ipc_subscribe(astrid_host_call *c, const astrid_str *topic_pattern, uint64_t *out)
{
    astrid_invocation *inv = c->inv;
    const char *pattern = topic_pattern->ptr;
    astrid_err err;
    if (topic_pattern->len > TOPIC_MAX)
        return astrid_host_fail(c, "topic pattern longer than %d bytes", TOPIC_MAX);
    if (astrid_topic_check(pattern, ASTRID_TOPIC_SUBSCRIBE, &err) != 0)
        return astrid_host_fail(c, "%s", err.msg);
    if (!may_subscribe(inv->manifest, pattern))
        return astrid_host_fail(c,
                                "capsule %s may not subscribe to %s (not in its ipc_subscribe ACL)",
                                inv->capsule, pattern);
    if (astrid_invocation_subscribe(inv, pattern, NULL, false, out, &err) != 0)
        return astrid_host_fail(c, "%s", err.msg);
    return 0;
}

static int unknown_handle(astrid_host_call *c, uint64_t h)
{
    return astrid_host_fail(c, "Unknown subscription handle %llu", (unsigned long long)h);
}

int astrid_host_ipc_unsubscribe(astrid_host_call *c, uint64_t handle_id)
{
    astrid_invocation *inv = c->inv;
    astrid_inv_sub *s = find_sub(inv, handle_id);
    if (!s)
        return unknown_handle(c, handle_id);
    if (s->runtime_owned)
        return astrid_host_fail(c, "Cannot unsubscribe a runtime-owned interceptor handle");
    sub_clear(s);
    size_t i = (size_t)(s - inv->subs);
    memmove(s, s + 1, (inv->nsubs - i - 1) * sizeof *s);
    inv->nsubs--;
    return 0;
}

static int push_pending(astrid_inv_sub *s, const astrid_msg **m, size_t n)
{
    if (s->pending_off == s->npending)
        s->pending_off = s->npending = 0;
    if (s->npending + n > s->pending_cap) {
        size_t nc = s->pending_cap ? s->pending_cap * 2 : 64;
        while (nc < s->npending + n)
            nc *= 2;
        const astrid_msg **np = realloc(s->pending, nc * sizeof(const astrid_msg *));
        if (!np)
            return -1;
        s->pending = np;
        s->pending_cap = nc;
    }
    memcpy(s->pending + s->npending, m, n * sizeof(const astrid_msg *));
    s->npending += n;
    return 0;
}

/* Move queued messages into `pending`: wait up to timeout_ms for the
 * first (in slices, so an unload or a deadline is noticed), then take what else is
 * queued without waiting. */
static void fill(astrid_wasm_instance *inst, astrid_inv_sub *s, int timeout_ms)
{
    const astrid_msg *buf[256];
    int waited = 0;
    while (s->pending_off == s->npending) {
        int slice = timeout_ms - waited < SLICE_MS ? timeout_ms - waited : SLICE_MS;
        size_t n = astrid_sub_pop_batch(s->sub, slice > 0 ? slice : 0, buf, 256);
        if (n && push_pending(s, buf, n) != 0) {
            for (size_t i = 0; i < n; i++)
                astrid_msg_unref(buf[i]);
            return;
        }
        waited += slice;
        if (n || waited >= timeout_ms || astrid_wasm_instance_interrupted(inst) ||
            astrid_wasm_deadline_expired())
            break;
    }
    size_t n;
    while (s->npending - s->pending_off < DRAIN_MAX &&
           (n = astrid_sub_pop_batch(s->sub, 0, buf, 256)) > 0)
        if (push_pending(s, buf, n) != 0) {
            for (size_t i = 0; i < n; i++)
                astrid_msg_unref(buf[i]);
            return;
        }
}

static bool same_principal(const astrid_msg *a, const astrid_msg *b)
{
    if (!a->principal || !b->principal)
        return a->principal == b->principal;
    return strcmp(a->principal, b->principal) == 0;
}

/* Hand the next single-principal batch of `pending` to the guest. The
 * messages leave `pending` only once copied into *out. */
static int deliver(astrid_host_call *c, astrid_inv_sub *s, wit_ipc_envelope *out)
{
    astrid_invocation *inv = c->inv;
    astrid_sub_stats st;
    astrid_sub_get_stats(s->sub, &st);
    out->lagged = st.dropped - s->seen_dropped;
    s->seen_dropped = st.dropped;
    size_t first = s->pending_off, end = first, bytes = 0;
    while (end < s->npending && same_principal(s->pending[first], s->pending[end]) &&
           (end == first || bytes + s->pending[end]->len <= BATCH_BYTES_MAX))
        bytes += s->pending[end++]->len;
    if (end == first) {
        astrid_invocation_switch(inv, NULL, NULL);
    } else {
        const astrid_msg *m0 = s->pending[first];
        const char *who = m0->principal ? m0->principal : inv->base;
        char reason[512];
        bool admitted =
            inv->env->admit && inv->env->admit(inv->env->rt, who, strcmp(who, inv->principal) == 0,
                                               reason, sizeof reason) == 0;
        if (!admitted) {
            for (size_t i = first; i < end; i++)
                astrid_msg_unref(s->pending[i]);
            out->dropped = end - first;
            s->pending_off = end;
            end = first;
            astrid_invocation_switch(inv, NULL, NULL);
        } else {
            astrid_invocation_switch(inv, who, m0);
        }
    }
    size_t n = end - first;
    wit_list_ipc_message *l = &out->messages;
    if (!(l->v = calloc(n ? n : 1, sizeof *l->v)))
        return astrid_host_fail(c, "%s: out of memory", c->fn->name);
    for (; l->n < n; l->n++) {
        const astrid_msg *m = s->pending[first + l->n];
        wit_ipc_message *w = &l->v[l->n];
        if (astrid_host_set_str(c, &w->topic, m->topic) ||
            astrid_host_set_strn(c, &w->payload, (const char *)m->payload, m->len) ||
            astrid_host_set_str(c, &w->source_id, m->source_id))
            return -1; /* still pending: the next call hands them over */
    }
    for (size_t i = first; i < end; i++)
        astrid_msg_unref(s->pending[i]);
    if (n)
        s->pending_off = end;
    return 0;
}

/* poll (timeout 0) and recv: fill `pending`, hand over the next batch.
 * A blocked recv wakes every SLICE_MS to notice an unload (the
 * instance's interrupt) or a passed call deadline; the glue's
 * astrid_wasm_host_leave then traps for the deadline. */
static int drain(astrid_host_call *c, uint64_t h, int timeout_ms, wit_ipc_envelope *out)
{
    astrid_inv_sub *s = find_sub(c->inv, h);
    if (!s)
        return unknown_handle(c, h);
    fill(c->inst, s, timeout_ms);
    return deliver(c, s, out);
}

int astrid_host_ipc_poll(astrid_host_call *c, uint64_t handle_id, wit_ipc_envelope *out)
{
    return drain(c, handle_id, 0, out);
}

int astrid_host_ipc_recv(astrid_host_call *c, uint64_t handle_id, uint64_t timeout_ms,
                         wit_ipc_envelope *out)
{
    return drain(c, handle_id, timeout_ms > RECV_MAX_MS ? RECV_MAX_MS : (int)timeout_ms, out);
}

int astrid_host_ipc_get_interceptor_handles(astrid_host_call *c, wit_list_interceptor_handle *out)
{
    const astrid_invocation *inv = c->inv;
    size_t n = 0;
    for (size_t i = 0; i < inv->nsubs; i++)
        n += inv->subs[i].runtime_owned;
    if (!(out->v = calloc(n ? n : 1, sizeof *out->v)))
        return astrid_host_fail(c, "%s: out of memory", c->fn->name);
    for (size_t i = 0; i < inv->nsubs; i++) {
        const astrid_inv_sub *s = &inv->subs[i];
        if (!s->runtime_owned)
            continue;
        wit_interceptor_handle *w = &out->v[out->n++];
        w->handle_id = s->handle;
        if (astrid_host_set_str(c, &w->action, s->action) ||
            astrid_host_set_str(c, &w->topic, s->topic))
            return -1;
    }
    return 0;
}
