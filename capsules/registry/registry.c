/* astrid-capsule-registry: which LLM providers exist (asked each time with
 * trigger-hook llm.v1.request.describe, so an installed or removed provider
 * shows at once) and which model each agent talks to (KV "active_model",
 * the invoking agent's own namespace). Topics and shapes:
 * docs/chat.md "Providers and tools". */
#include <astrid.h>
#include <astrid_json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/guest.c"

#define GEN_PREFIX "llm.v1.request.generate."
#define KEY "active_model"

/* A correlation id becomes a topic segment: one segment, no wildcard. */
static bool corr_ok(const char *c)
{
    size_t n = c ? strlen(c) : 0;
    if (n == 0 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = c[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_'))
            return false;
    }
    return true;
}

/* The providers' describe answers that look like one (an id, a generate
 * topic of their own id, a models array); caller frees. */
static astrid_json *discover(char **err)
{
    char *ans = NULL;
    if (astrid_trigger_hook("llm.v1.request.describe", "{}", &ans, err) != 0)
        return NULL;
    astrid_json *arr = astrid_json_parse(ans, strlen(ans), NULL), *out = astrid_json_array();
    free(ans);
    for (size_t i = 0; i < astrid_json_len(arr); i++) {
        const astrid_json *p = astrid_json_at(arr, i);
        const char *id = astrid_json_get_str(p, "id");
        const char *topic = astrid_json_get_str(p, "request_topic");
        if (!id || !topic || strncmp(topic, GEN_PREFIX, strlen(GEN_PREFIX)) != 0 ||
            strcmp(topic + strlen(GEN_PREFIX), id) != 0 ||
            !astrid_json_is(astrid_json_get(p, "models"), ASTRID_JSON_ARRAY))
            continue; /* a capsule answering the hook with something else */
        astrid_json_append(out, astrid_json_copy(p));
    }
    astrid_json_free(arr);
    return out;
}

static const astrid_json *find_provider(const astrid_json *provs, const char *id)
{
    for (size_t i = 0; i < astrid_json_len(provs); i++)
        if (strcmp(astrid_json_get_str(astrid_json_at(provs, i), "id"), id) == 0)
            return astrid_json_at(provs, i);
    return NULL;
}

static bool lists_model(const astrid_json *prov, const char *model)
{
    const astrid_json *ms = astrid_json_get(prov, "models");
    for (size_t i = 0; i < astrid_json_len(ms); i++) {
        const char *m = astrid_json_get_str(astrid_json_at(ms, i), "id");
        if (m && strcmp(m, model) == 0)
            return true;
    }
    return false;
}

static astrid_json *entry(const char *provider, const char *model)
{
    char topic[200];
    snprintf(topic, sizeof topic, GEN_PREFIX "%s", provider);
    astrid_json *o = astrid_json_object();
    astrid_json_set_str(o, "provider", provider);
    astrid_json_set_str(o, "model", model);
    astrid_json_set_str(o, "request_topic", topic);
    return o;
}

/* The agent's active model while its provider is still installed, else
 * the first provider's first model; JSON null when there is none. */
static astrid_json *active(const astrid_json *provs)
{
    uint8_t *v = NULL;
    size_t len = 0;
    bool found = false;
    if (astrid_kv_get(KEY, &v, &len, &found, NULL) == 0 && found) {
        astrid_json *a = astrid_json_parse((const char *)v, len, NULL);
        free(v);
        const char *p = astrid_json_get_str(a, "provider");
        const char *m = astrid_json_get_str(a, "model");
        if (p && m && find_provider(provs, p)) {
            astrid_json *e = entry(p, m);
            astrid_json_free(a);
            return e;
        }
        astrid_json_free(a);
    }
    const astrid_json *first = astrid_json_at(provs, 0);
    const char *m = astrid_json_get_str(astrid_json_at(astrid_json_get(first, "models"), 0), "id");
    if (!first || !m)
        return astrid_json_null();
    return entry(astrid_json_get_str(first, "id"), m);
}

/* Publishes `reply` on PREFIX.<corr> (when the request has one) and
 * answers it as the FINAL data for trigger-hook callers. Takes reply. */
static astrid_action answer(const char *prefix, const char *corr, astrid_json *reply,
                            astrid_reply *out)
{
    char *s = astrid_json_dump(reply);
    astrid_json_free(reply);
    if (!s) {
        astrid_reply_set(out, "out of memory");
        return ASTRID_DENY;
    }
    if (corr) {
        char topic[256];
        char *err = NULL;
        snprintf(topic, sizeof topic, "%s.%s", prefix, corr);
        if (astrid_publish(topic, s, &err) != 0) {
            astrid_logf(ASTRID_LOG_WARN, "publish %s: %s", topic, err);
            free(err);
        }
    }
    astrid_reply_set(out, s);
    free(s);
    return ASTRID_FINAL;
}

/* Parses the request and its optional correlation id; DENY on a bad one. */
static astrid_json *request(const astrid_event *ev, const char **corr, astrid_reply *out)
{
    astrid_json *req = astrid_json_parse((const char *)ev->payload, ev->len, NULL);
    if (!astrid_json_is(req, ASTRID_JSON_OBJECT)) {
        astrid_json_free(req);
        astrid_reply_set(out, "registry: the request must be a JSON object");
        return NULL;
    }
    *corr = astrid_json_get_str(req, "correlation_id");
    if (*corr && !corr_ok(*corr)) {
        astrid_json_free(req);
        astrid_reply_set(out, "registry: correlation_id must be 1-128 of [A-Za-z0-9_-]");
        return NULL;
    }
    return req;
}

static astrid_action on_get_providers(const astrid_event *ev, astrid_reply *out)
{
    const char *corr = NULL;
    astrid_json *req = request(ev, &corr, out);
    if (!req)
        return ASTRID_DENY;
    char *err = NULL;
    astrid_json *provs = discover(&err), *reply = astrid_json_object();
    if (!provs) {
        astrid_json_set_str(reply, "error", err);
        free(err);
        provs = astrid_json_array();
    }
    astrid_json_set(reply, "active", active(provs));
    astrid_json_set(reply, "providers", provs);
    astrid_action a = answer("registry.v1.response.get_providers", corr, reply, out);
    astrid_json_free(req);
    return a;
}

static astrid_action on_get_active(const astrid_event *ev, astrid_reply *out)
{
    const char *corr = NULL;
    astrid_json *req = request(ev, &corr, out);
    if (!req)
        return ASTRID_DENY;
    astrid_json *provs = discover(NULL);
    astrid_json *a = active(provs);
    astrid_json_free(provs);
    if (astrid_json_is(a, ASTRID_JSON_NULL)) {
        astrid_json_free(a);
        a = astrid_json_object();
        astrid_json_set_str(a, "error", "no LLM provider is installed");
    }
    astrid_action r = answer("registry.v1.response.get_active_model", corr, a, out);
    astrid_json_free(req);
    return r;
}

static astrid_action on_set_active(const astrid_event *ev, astrid_reply *out)
{
    const char *corr = NULL;
    astrid_json *req = request(ev, &corr, out);
    if (!req)
        return ASTRID_DENY;
    const char *model = astrid_json_get_str(req, "model");
    const char *prov = astrid_json_get_str(req, "provider");
    char *err = NULL;
    astrid_json *provs = discover(&err), *reply = astrid_json_object();
    const astrid_json *p = NULL;
    char msg[512] = "";
    if (!provs)
        snprintf(msg, sizeof msg, "cannot list providers: %s", err);
    else if (!model || !*model || strlen(model) > 128)
        snprintf(msg, sizeof msg, "model must be a name of 1-128 bytes");
    else if (prov) {
        /* a named provider may serve a model off its table (a local
         * server's); without one the model must be listed somewhere */
        if (!(p = find_provider(provs, prov)))
            snprintf(msg, sizeof msg, "unknown provider '%.128s'", prov);
    } else {
        for (size_t i = 0; i < astrid_json_len(provs) && !p; i++)
            if (lists_model(astrid_json_at(provs, i), model))
                p = astrid_json_at(provs, i);
        if (!p)
            snprintf(msg, sizeof msg, "no provider lists model '%.128s'", model);
    }
    free(err);
    if (p) {
        astrid_json *e = entry(astrid_json_get_str(p, "id"), model);
        char *s = astrid_json_dump(e), *kerr = NULL;
        if (!s || astrid_kv_set(KEY, s, strlen(s), &kerr) != 0) {
            snprintf(msg, sizeof msg, "cannot store the active model: %.400s",
                     kerr ? kerr : "out of memory");
            astrid_json_free(e);
        } else {
            if (astrid_publish("registry.v1.active_model_changed", s, &kerr) != 0)
                astrid_logf(ASTRID_LOG_WARN, "publish active_model_changed: %s", kerr);
            astrid_json_set_bool(reply, "ok", true);
            astrid_json_set(reply, "active", e);
        }
        free(kerr);
        free(s);
    }
    if (msg[0]) {
        astrid_json_set_bool(reply, "ok", false);
        astrid_json_set_str(reply, "error", msg);
    }
    astrid_json_free(provs);
    astrid_action a = answer("registry.v1.response.set_active_model", corr, reply, out);
    astrid_json_free(req);
    return a;
}

ASTRID_INTERCEPTOR("get_providers", on_get_providers)
ASTRID_INTERCEPTOR("get_active_model", on_get_active)
ASTRID_INTERCEPTOR("set_active_model", on_set_active)
