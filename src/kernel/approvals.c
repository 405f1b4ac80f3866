/* The human in the loop (gate.h): approval and elicit prompts addressed to
 * the invoking principal's connections, answered by one of them, and the
 * per-principal connection counts behind "no connected human -> deny" and
 * the session allowances' lifetime.
 *
 * A waiter (a chain worker or a capsule's run thread) sleeps on
 * `pending_cond` with `pending_lock`; the loop thread sets the answer and
 * broadcasts. Every change a waiter must notice (answer, last connection
 * of its principal gone, shutdown) broadcasts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "astrid/jsonsafe.h"
#include "astrid/uuid.h"
#include "capsule/wasm/engine.h"
#include "kernel/gate_int.h"

#define APPROVAL_TOPIC "astrid.v1.approval"
#define ELICIT_TOPIC "astrid.v1.elicit"
#define APPROVAL_RESP "astrid.v1.approval.response."
#define ELICIT_RESP "astrid.v1.elicit.response."
#define MAX_PENDING_PER_PRINCIPAL 64

struct gate_pending {
    char id[37];
    char principal[65];
    char capsule[65];
    char action[65];
    char resource[1025];
    char reason[512];
    bool elicit;
    bool answered;
    char decision[32];
    char *value; /* elicit answer (malloc'd) */
    int64_t created;
    gate_pending *next;
};

static gate_conns *conns_find(struct astrid_gate *g, const char *principal)
{
    for (size_t i = 0; i < g->nconns; i++)
        if (strcmp(g->conns[i].principal, principal) == 0)
            return &g->conns[i];
    return NULL;
}

/* Connections that can answer a prompt of `principal`. */
static unsigned conns_of(struct astrid_gate *g, const char *principal)
{
    gate_conns *c = conns_find(g, principal);
    return c ? c->listeners : 0;
}

void astrid_gate_listener(astrid_kernel *k, const char *principal, bool add)
{
    struct astrid_gate *g = k->gate;
    if (!g)
        return;
    pthread_mutex_lock(&g->pending_lock);
    gate_conns *c = conns_find(g, principal);
    if (c && add)
        c->listeners++;
    else if (c && c->listeners > 0 && --c->listeners == 0)
        pthread_cond_broadcast(&g->pending_cond);
    pthread_mutex_unlock(&g->pending_lock);
}

void astrid_gate_conn_opened(astrid_kernel *k, const char *principal)
{
    struct astrid_gate *g = k->gate;
    if (!g)
        return;
    pthread_mutex_lock(&g->pending_lock);
    gate_conns *c = conns_find(g, principal);
    if (!c && g->nconns == g->capconns) {
        size_t nc = g->capconns ? g->capconns * 2 : 16;
        gate_conns *n = realloc(g->conns, nc * sizeof *n);
        if (n) {
            g->conns = n;
            g->capconns = nc;
        }
    }
    if (!c && g->nconns < g->capconns) {
        c = &g->conns[g->nconns++];
        snprintf(c->principal, sizeof c->principal, "%s", principal);
        c->count = 0;
        c->listeners = 0;
    }
    if (c)
        c->count++;
    pthread_mutex_unlock(&g->pending_lock);
}

void astrid_gate_conn_closed(astrid_kernel *k, const char *principal)
{
    struct astrid_gate *g = k->gate;
    if (!g)
        return;
    pthread_mutex_lock(&g->pending_lock);
    gate_conns *c = conns_find(g, principal);
    bool last = false;
    if (c && c->count > 0 && --c->count == 0) {
        last = true;
        *c = g->conns[--g->nconns];
    }
    if (last)
        pthread_cond_broadcast(&g->pending_cond);
    pthread_mutex_unlock(&g->pending_lock);
    if (last) {
        size_t a = astrid_allowances_clear_session(g->allow, principal);
        size_t t = astrid_captokens_clear_session(g->tokens, principal);
        if (a || t)
            astrid_klog(k, "INFO",
                        "last connection of %s closed: %zu session allowance(s) and %zu session "
                        "token(s) dropped",
                        principal, a, t);
    }
}

void gate_pending_free_all(struct astrid_gate *g)
{
    for (gate_pending *p = g->pending, *n; p; p = n) {
        n = p->next;
        free(p->value);
        free(p);
    }
    g->pending = NULL;
}

void astrid_gate_cancel_all(astrid_kernel *k)
{
    struct astrid_gate *g = k->gate;
    if (!g)
        return;
    pthread_mutex_lock(&g->pending_lock);
    g->cancelled = true;
    pthread_cond_broadcast(&g->pending_cond);
    pthread_mutex_unlock(&g->pending_lock);
}

static void unlink_pending(struct astrid_gate *g, gate_pending *p)
{
    for (gate_pending **pp = &g->pending; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            return;
        }
}

/* Publish `payload` on `topic` to `p`'s principal and wait for the
 * answer. 0 = answered (p->decision / p->value set), -1 = no answer (err
 * says why: no connection, timeout, shutdown). `p` is the caller's and
 * is unlinked before returning. */
static int ask(astrid_kernel *k, gate_pending *p, const char *topic, json_t *payload,
               astrid_err *err)
{
    struct astrid_gate *g = k->gate;
    pthread_mutex_lock(&g->pending_lock);
    unsigned mine = 0;
    for (gate_pending *q = g->pending; q; q = q->next)
        mine += strcmp(q->principal, p->principal) == 0;
    int rc = 0;
    if (g->cancelled)
        rc = astrid_err_set(err, ASTRID_E_UNSUPPORTED, "denied: the daemon is shutting down");
    else if (conns_of(g, p->principal) == 0)
        rc = astrid_err_set(err, ASTRID_E_PERM,
                            "denied: no connected session of principal %s listens for "
                            "approvals",
                            p->principal);
    else if (mine >= MAX_PENDING_PER_PRINCIPAL)
        rc = astrid_err_set(err, ASTRID_E_LIMIT,
                            "denied: principal %s already has %d prompts waiting", p->principal,
                            MAX_PENDING_PER_PRINCIPAL);
    if (rc == 0) {
        p->next = g->pending;
        g->pending = p;
    }
    pthread_mutex_unlock(&g->pending_lock);
    if (rc != 0)
        return -1;
    /* Addressed: only p's principal's connections subscribed to the topic
     * receive it, never another principal, capsule or interceptor. */
    if (astrid_kernel_publish_to(k, NULL, p->principal, topic, payload, p->principal, err) != 0) {
        pthread_mutex_lock(&g->pending_lock);
        unlink_pending(g, p);
        pthread_mutex_unlock(&g->pending_lock);
        return -1;
    }
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += (time_t)(g->timeout_ms / 1000);
    dl.tv_nsec += (long)(g->timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&g->pending_lock);
    for (;;) {
        if (p->answered)
            break;
        if (g->cancelled) {
            rc = astrid_err_set(err, ASTRID_E_UNSUPPORTED, "denied: the daemon is shutting down");
            break;
        }
        if (conns_of(g, p->principal) == 0) {
            rc = astrid_err_set(err, ASTRID_E_PERM,
                                "denied: no session of principal %s listens for approvals any more",
                                p->principal);
            break;
        }
        /* The invocation's deadline, or an unload interrupting it, ends
         * the wait too: a signal does not wake a condition wait, so look
         * every 100 ms (a reload must not wait out the prompt). */
        if (astrid_wasm_deadline_expired()) {
            rc = astrid_err_set(err, ASTRID_E_TIMEOUT,
                                "denied: the capsule invocation was interrupted or timed out");
            break;
        }
        struct timespec now, slice;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > dl.tv_sec || (now.tv_sec == dl.tv_sec && now.tv_nsec >= dl.tv_nsec)) {
            rc = astrid_err_set(err, ASTRID_E_TIMEOUT, "denied: no answer within %llu ms",
                                (unsigned long long)g->timeout_ms);
            break;
        }
        slice = now;
        slice.tv_nsec += 100000000L;
        if (slice.tv_nsec >= 1000000000L) {
            slice.tv_sec++;
            slice.tv_nsec -= 1000000000L;
        }
        if (slice.tv_sec > dl.tv_sec || (slice.tv_sec == dl.tv_sec && slice.tv_nsec > dl.tv_nsec))
            slice = dl;
        pthread_cond_timedwait(&g->pending_cond, &g->pending_lock, &slice);
    }
    unlink_pending(g, p);
    pthread_mutex_unlock(&g->pending_lock);
    return rc;
}

static gate_pending *new_pending(const char *principal, const char *capsule)
{
    gate_pending *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    astrid_uuid_v4(p->id);
    snprintf(p->principal, sizeof p->principal, "%s", principal);
    snprintf(p->capsule, sizeof p->capsule, "%s", capsule ? capsule : "");
    p->created = (int64_t)time(NULL);
    return p;
}

int astrid_gate_ask_approval(astrid_kernel *k, const char *principal, const char *capsule,
                             const char *action, const char *resource, const char *reason,
                             char decision[32], astrid_err *err)
{
    gate_pending *p = new_pending(principal, capsule);
    if (!p)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    snprintf(p->action, sizeof p->action, "%s", action);
    snprintf(p->resource, sizeof p->resource, "%s", resource);
    snprintf(p->reason, sizeof p->reason, "%s", reason ? reason : "");
    /* The shape the CLI renders (docs/authority.md): do not change it. */
    json_t *payload =
        json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "approval_required", "request_id", p->id,
                  "action", p->action, "resource", p->resource, "reason", p->reason);
    int rc = payload ? ask(k, p, APPROVAL_TOPIC, payload, err)
                     : astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    json_decref(payload);
    if (rc == 0)
        snprintf(decision, 32, "%s", p->decision);
    free(p->value);
    free(p);
    return rc;
}

int astrid_gate_elicit(astrid_kernel *k, const char *principal, const char *capsule,
                       const json_t *field, char **value, astrid_err *err)
{
    *value = NULL;
    gate_pending *p = new_pending(principal, capsule);
    if (!p)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    p->elicit = true;
    snprintf(p->action, sizeof p->action, "elicit");
    const char *key = json_string_value(json_object_get(field, "key"));
    snprintf(p->resource, sizeof p->resource, "%s", key ? key : "");
    json_t *payload = json_pack("{s:s,s:s,s:s,s:O}", "type", "elicit_request", "request_id", p->id,
                                "capsule_id", p->capsule, "field", field);
    int rc = payload ? ask(k, p, ELICIT_TOPIC, payload, err)
                     : astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    json_decref(payload);
    if (rc == 0 && !p->value)
        rc = astrid_err_set(err, ASTRID_E_PERM, "elicit %s: the user gave no value", p->resource);
    if (rc == 0) {
        *value = p->value;
        p->value = NULL;
    }
    free(p->value);
    free(p);
    return rc;
}

static bool decision_ok(const char *d)
{
    static const char *const ok[] = {"approve", "approve_session", "approve_workspace",
                                     "approve_always", "deny"};
    for (size_t i = 0; d && i < sizeof ok / sizeof *ok; i++)
        if (strcmp(d, ok[i]) == 0)
            return true;
    return false;
}

/* Set the answer of prompt `id` as `principal` (under pending_lock). */
static int answer_locked(struct astrid_gate *g, const char *principal, const char *id, bool elicit,
                         const json_t *payload, const char *decision, char *owner, astrid_err *err)
{
    gate_pending *p = g->pending;
    while (p && strcmp(p->id, id) != 0)
        p = p->next;
    if (!p || p->elicit != elicit || p->answered)
        return astrid_err_set(err, ASTRID_E_NOTFOUND, "no pending %s request %s",
                              elicit ? "elicit" : "approval", id);
    if (strcmp(p->principal, principal) != 0) {
        snprintf(owner, 65, "%s", p->principal);
        return astrid_err_set(err, ASTRID_E_PERM,
                              "request %s belongs to another principal: answer ignored", id);
    }
    if (!elicit) {
        if (!decision_ok(decision))
            return astrid_err_set(err, ASTRID_E_INVALID,
                                  "decision must be approve, approve_session, approve_workspace, "
                                  "approve_always or deny");
        snprintf(p->decision, sizeof p->decision, "%s", decision);
    } else {
        const json_t *v = json_object_get(payload, "value");
        const json_t *vs = json_object_get(payload, "values");
        if (json_is_string(v))
            p->value = strdup(json_string_value(v));
        else if (json_is_array(vs))
            p->value = astrid_json_dumps(vs, JSON_COMPACT);
        /* neither: answered with no value, the capsule gets an error */
    }
    p->answered = true;
    pthread_cond_broadcast(&g->pending_cond);
    return 0;
}

static int answer(astrid_kernel *k, const char *principal, const char *id, bool elicit,
                  const json_t *payload, const char *decision, astrid_err *err)
{
    struct astrid_gate *g = k->gate;
    if (!g)
        return astrid_err_set(err, ASTRID_E_UNSUPPORTED, "security gate not started");
    char owner[65] = "";
    pthread_mutex_lock(&g->pending_lock);
    int rc = answer_locked(g, principal, id, elicit, payload, decision, owner, err);
    pthread_mutex_unlock(&g->pending_lock);
    if (rc != 0 && owner[0]) {
        /* Bob answering Alice's prompt: on Bob's record, naming Alice. */
        json_t *params = json_pack("{s:s,s:s}", "request_id", id, "owner", owner);
        astrid_audit_request_mode(k, ASTRID_AUDIT_WRITE_BEHIND, principal,
                                  elicit ? "ElicitResponse" : "ApprovalResponse",
                                  "approval:respond", owner, params, false, err->msg);
        json_decref(params);
        astrid_klog(k, "WARN", "%s answered %s's request %s: ignored", principal, owner, id);
    }
    return rc;
}

void astrid_gate_on_response(astrid_kernel *k, const char *principal, const char *topic,
                             const json_t *payload)
{
    bool elicit = strncmp(topic, ELICIT_RESP, strlen(ELICIT_RESP)) == 0;
    const char *id = topic + strlen(elicit ? ELICIT_RESP : APPROVAL_RESP);
    const char *pid = json_string_value(json_object_get(payload, "request_id"));
    astrid_err err;
    if (pid && strcmp(pid, id) != 0) {
        astrid_klog(k, "WARN", "response on %s names request %s: ignored", topic, pid);
        return;
    }
    const char *decision = json_string_value(json_object_get(payload, "decision"));
    if (answer(k, principal, id, elicit, payload, decision, &err) != 0)
        astrid_klog(k, "WARN", "%s from %s: %s", topic, principal, err.msg);
}

int astrid_gate_answer(astrid_kernel *k, const char *principal, const char *request_id,
                       const char *decision, const char *reason, astrid_err *err)
{
    (void)reason;
    return answer(k, principal, request_id, false, NULL, decision, err);
}

json_t *astrid_gate_pending(astrid_kernel *k, const char *principal)
{
    json_t *arr = json_array();
    struct astrid_gate *g = k->gate;
    if (!g || !arr)
        return arr;
    pthread_mutex_lock(&g->pending_lock);
    for (gate_pending *p = g->pending; p; p = p->next)
        if (strcmp(p->principal, principal) == 0 && !p->answered)
            json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I}", "request_id",
                                                 p->id, "type", p->elicit ? "elicit" : "approval",
                                                 "capsule", p->capsule, "action", p->action,
                                                 "resource", p->resource, "reason", p->reason,
                                                 "created_at", (json_int_t)p->created));
    pthread_mutex_unlock(&g->pending_lock);
    return arr;
}
