/* Interceptor registry and the sequential dispatch chain (§4.5). */
#include <stdlib.h>
#include <string.h>

#include "bus/bus_internal.h"
#include "astrid/topic.h"

uint64_t astrid_bus_intercept(astrid_bus *bus, const char *pattern, int priority,
                              astrid_interceptor_fn fn, void *ctx, astrid_err *err)
{
    if (!fn) {
        astrid_err_set(err, ASTRID_E_INVALID, "interceptor callback is NULL");
        return 0;
    }
    if (astrid_topic_check(pattern, ASTRID_TOPIC_PATTERN, err) < 0)
        return 0;
    char *pat = strdup(pattern);
    pthread_rwlock_wrlock(&bus->icpt_lock);
    icpt *n = pat ? realloc(bus->icpts, (bus->nicpt + 1) * sizeof *n) : NULL;
    if (!n) {
        pthread_rwlock_unlock(&bus->icpt_lock);
        free(pat);
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        return 0;
    }
    bus->icpts = n;
    /* keep sorted by priority, stable for equal priorities */
    size_t at = bus->nicpt;
    while (at > 0 && n[at - 1].priority > priority)
        at--;
    memmove(&n[at + 1], &n[at], (bus->nicpt - at) * sizeof *n);
    uint64_t id = bus->next_icpt++;
    n[at] = (icpt){.id = id, .priority = priority, .pattern = pat, .fn = fn, .ctx = ctx};
    bus->nicpt++;
    pthread_rwlock_unlock(&bus->icpt_lock);
    return id;
}

int astrid_bus_unintercept(astrid_bus *bus, uint64_t id)
{
    int rc = -1;
    pthread_rwlock_wrlock(&bus->icpt_lock);
    for (size_t i = 0; i < bus->nicpt; i++)
        if (bus->icpts[i].id == id) {
            free(bus->icpts[i].pattern);
            memmove(&bus->icpts[i], &bus->icpts[i + 1], (bus->nicpt - i - 1) * sizeof(icpt));
            bus->nicpt--;
            rc = 0;
            break;
        }
    pthread_rwlock_unlock(&bus->icpt_lock);
    return rc;
}

void astrid_bus_icpt_free(astrid_bus *bus)
{
    for (size_t i = 0; i < bus->nicpt; i++)
        free(bus->icpts[i].pattern);
    free(bus->icpts);
}

bool astrid_bus_intercepted(astrid_bus *bus, const char *topic)
{
    bool hit = false;
    pthread_rwlock_rdlock(&bus->icpt_lock);
    for (size_t i = 0; i < bus->nicpt && !hit; i++)
        hit = astrid_topic_matches(topic, bus->icpts[i].pattern);
    pthread_rwlock_unlock(&bus->icpt_lock);
    return hit;
}

void *astrid_bus_chain_key(astrid_bus *bus, const astrid_msg *msg, astrid_icpt_key_fn key_of)
{
    void *key = NULL;
    pthread_rwlock_rdlock(&bus->icpt_lock);
    for (size_t i = 0; i < bus->nicpt && !key; i++)
        if (astrid_topic_matches(msg->topic, bus->icpts[i].pattern))
            key = key_of(bus->icpts[i].ctx, msg);
    pthread_rwlock_unlock(&bus->icpt_lock);
    return key;
}

int astrid_bus_dispatch(astrid_bus *bus, const astrid_msg *msg, astrid_chain_result *res,
                        astrid_err *err)
{
    memset(res, 0, sizeof *res);
    res->action = ASTRID_ICPT_CONTINUE;
    uint8_t *cur = malloc(msg->len ? msg->len : 1);
    if (!cur)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    if (msg->len)
        memcpy(cur, msg->payload, msg->len);
    size_t cur_len = msg->len;
    pthread_rwlock_rdlock(&bus->icpt_lock);
    for (size_t i = 0; i < bus->nicpt; i++) {
        const icpt *ic = &bus->icpts[i];
        if (!astrid_topic_matches(msg->topic, ic->pattern))
            continue;
        astrid_icpt_result r = {.action = ASTRID_ICPT_CONTINUE};
        int rc = ic->fn(ic->ctx, msg, cur, cur_len, &r);
        if (rc < 0 || r.action == ASTRID_ICPT_SKIP) {
            res->errors += rc < 0;
            res->invoked += rc < 0;
            free(r.data);
            free(r.reason);
            continue;
        }
        res->invoked++;
        if (r.data && r.len && r.action != ASTRID_ICPT_DENY) {
            free(cur);
            cur = r.data;
            cur_len = r.len;
        } else {
            free(r.data);
        }
        if (r.action == ASTRID_ICPT_DENY) {
            res->action = ASTRID_ICPT_DENY;
            res->reason = r.reason ? r.reason : strdup("denied by interceptor");
            res->stopped_by = ic->id;
            break;
        }
        free(r.reason);
        if (r.action == ASTRID_ICPT_FINAL) {
            res->action = ASTRID_ICPT_FINAL;
            res->stopped_by = ic->id;
            break;
        }
    }
    pthread_rwlock_unlock(&bus->icpt_lock);
    res->payload = cur;
    res->len = cur_len;
    return 0;
}

unsigned astrid_bus_fanout(astrid_bus *bus, const astrid_msg *msg, astrid_icpt_skip_fn skip,
                           void *skip_ctx, astrid_icpt_collect_fn collect, void *collect_ctx)
{
    unsigned called = 0;
    pthread_rwlock_rdlock(&bus->icpt_lock);
    for (size_t i = 0; i < bus->nicpt; i++) {
        const icpt *ic = &bus->icpts[i];
        if (!astrid_topic_matches(msg->topic, ic->pattern) || (skip && skip(skip_ctx, ic->ctx)))
            continue;
        astrid_icpt_result r = {.action = ASTRID_ICPT_CONTINUE};
        int rc = ic->fn(ic->ctx, msg, msg->payload, msg->len, &r);
        called++;
        collect(collect_ctx, rc, &r);
    }
    pthread_rwlock_unlock(&bus->icpt_lock);
    return called;
}

void astrid_chain_result_free(astrid_chain_result *res)
{
    free(res->payload);
    free(res->reason);
    res->payload = NULL;
    res->reason = NULL;
}
