/* fakeagent: the chat stack as the CLI sees it, scripted (README.md). It
 * runs as the prompting agent, so its KV (the session store) is per agent. */
#include <astrid.h>
#include <astrid_json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OTHER_SESSION "00000000-0000-4000-8000-000000000000"

static astrid_json *parse(const astrid_event *ev)
{
    return astrid_json_parse((const char *)ev->payload, ev->len, NULL);
}

static void publish(const char *topic, astrid_json *obj)
{
    char *s = astrid_json_dump(obj);
    if (s)
        astrid_publish(topic, s, NULL);
    free(s);
    astrid_json_free(obj);
}

static void respond(const char *session, const char *text, bool final, bool error)
{
    astrid_json *o = astrid_json_object();
    astrid_json_set_str(o, "type", "agent_response");
    astrid_json_set_str(o, "text", text);
    astrid_json_set_bool(o, "is_final", final);
    astrid_json_set_str(o, "session_id", session);
    if (error)
        astrid_json_set_bool(o, "error", true);
    publish("agent.v1.response", o);
}

static bool plain_id(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n > 0 && n <= 64 &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == n;
}

/* The stored session {"updated_ms", "messages"} (a fresh one when absent). */
static astrid_json *load(const char *session)
{
    char key[96];
    uint8_t *v = NULL;
    size_t len = 0;
    bool found = false;
    astrid_json *s = NULL;
    snprintf(key, sizeof key, "sess.%s", session);
    if (astrid_kv_get(key, &v, &len, &found, NULL) == 0 && found)
        s = astrid_json_parse((const char *)v, len, NULL);
    free(v);
    if (!s) {
        s = astrid_json_object();
        astrid_json_set(s, "messages", astrid_json_array());
    }
    return s;
}

static void store(const char *session, astrid_json *s)
{
    char key[96];
    snprintf(key, sizeof key, "sess.%s", session);
    astrid_json_set_int(s, "updated_ms", (int64_t)astrid_clock_ms());
    char *d = astrid_json_dump(s);
    if (d)
        astrid_kv_set(key, d, strlen(d), NULL);
    free(d);
}

static void add_message(astrid_json *s, const char *role, const char *text)
{
    astrid_json *m = astrid_json_object();
    astrid_json_set_str(m, "role", role);
    astrid_json_set_str(m, "content", text);
    astrid_json_append(astrid_json_get(s, "messages"), m);
}

static const char *active_model(char *buf, size_t n)
{
    uint8_t *v = NULL;
    size_t len = 0;
    bool found = false;
    snprintf(buf, n, "fake-1");
    if (astrid_kv_get("model", &v, &len, &found, NULL) == 0 && found)
        snprintf(buf, n, "%.*s", (int)len, (const char *)v);
    free(v);
    return buf;
}

static void tool_pair(const char *session)
{
    astrid_json *o = astrid_json_object();
    astrid_json_set_str(o, "type", "tool_call");
    astrid_json_set_str(o, "session_id", session);
    astrid_json_set_str(o, "call_id", "call_1");
    astrid_json_set_str(o, "tool_name", "read_file");
    astrid_json *args = astrid_json_object();
    astrid_json_set_str(args, "path", "README.md");
    astrid_json_set(o, "arguments", args);
    astrid_json_set_str(o, "phase", "started");
    astrid_json *fin = astrid_json_copy(o);
    publish("agent.v1.tool_call", o);
    astrid_json_set_str(fin, "phase", "finished");
    astrid_json_set_str(fin, "content", "# Astrid\nline two\nline three");
    astrid_json_set_bool(fin, "is_error", false);
    publish("agent.v1.tool_call", fin);
}

static astrid_action on_prompt(const astrid_event *ev, astrid_reply *out)
{
    (void)out;
    astrid_json *p = parse(ev);
    const char *session = astrid_json_get_str(p, "session_id");
    const char *text = astrid_json_get_str(p, "text");
    const char *action = astrid_json_get_str(astrid_json_get(p, "context"), "action");
    if (!plain_id(session) || !text) {
        astrid_json_free(p);
        return ASTRID_CONTINUE;
    }
    if (action && strcmp(action, "cancel_turn") == 0) {
        respond(session, "Turn cancelled.", true, false);
    } else if (strstr(text, "silent")) {
        /* no answer at all */
    } else if (strstr(text, "fail")) {
        respond(session, "LLM error: provider exploded (HTTP 500)", true, true);
    } else {
        astrid_json *s = load(session);
        size_t turn = astrid_json_len(astrid_json_get(s, "messages")) / 2 + 1;
        char tail[512], whole[700], model[64];
        if (strstr(text, "decoy"))
            respond(OTHER_SESSION, "DECOY for another session", true, false);
        if (strstr(text, "tool"))
            tool_pair(session);
        snprintf(tail, sizeof tail, "; turn %zu: %.400s", turn, text);
        respond(session, "Hello", false, false);
        respond(session, " from fakeagent", false, false);
        respond(session, tail, false, false);
        astrid_json *u = astrid_json_object();
        astrid_json_set_str(u, "type", "usage");
        astrid_json_set_str(u, "session_id", session);
        astrid_json_set_str(u, "model", active_model(model, sizeof model));
        astrid_json_set_str(u, "provider", "fake");
        astrid_json_set_int(u, "input_tokens", 10);
        astrid_json_set_int(u, "output_tokens", 5);
        publish("agent.v1.usage", u);
        snprintf(whole, sizeof whole, "Hello from fakeagent%s", tail);
        respond(session, whole, true, false);
        add_message(s, "user", text);
        add_message(s, "assistant", whole);
        store(session, s);
        astrid_json_free(s);
    }
    astrid_json_free(p);
    return ASTRID_CONTINUE;
}

/* Reply on <prefix>.<correlation_id> when the request names a plain one. */
static void reply(const astrid_json *req, const char *prefix, astrid_json *body)
{
    const char *corr = astrid_json_get_str(req, "correlation_id");
    char topic[192];
    if (!plain_id(corr)) {
        astrid_json_free(body);
        return;
    }
    snprintf(topic, sizeof topic, "%s.%s", prefix, corr);
    publish(topic, body);
}

static astrid_action on_list(const astrid_event *ev, astrid_reply *out)
{
    (void)out;
    astrid_json *p = parse(ev), *arr = astrid_json_array();
    char **keys = NULL;
    size_t n = 0;
    if (astrid_kv_list_keys("sess.", &keys, &n, NULL) == 0) {
        for (size_t i = 0; i < n; i++) {
            const char *id = keys[i] + 5;
            astrid_json *s = load(id), *e = astrid_json_object();
            astrid_json *msgs = astrid_json_get(s, "messages");
            astrid_json_set_str(e, "session_id", id);
            astrid_json_set_str(e, "title",
                                astrid_json_get_str(astrid_json_at(msgs, 0), "content") ?: "");
            astrid_json_set_int(e, "messages", (int64_t)astrid_json_len(msgs));
            astrid_json_set_int(e, "updated_ms", astrid_json_get_int(s, "updated_ms", 0));
            astrid_json_append(arr, e);
            astrid_json_free(s);
        }
        astrid_strv_free(keys, n);
    }
    astrid_json *body = astrid_json_object();
    astrid_json_set(body, "sessions", arr);
    reply(p, "session.v1.response.list", body);
    astrid_json_free(p);
    return ASTRID_CONTINUE;
}

static astrid_action on_get(const astrid_event *ev, astrid_reply *out)
{
    (void)out;
    astrid_json *p = parse(ev);
    const char *session = astrid_json_get_str(p, "session_id");
    if (plain_id(session)) {
        astrid_json *s = load(session), *body = astrid_json_object();
        astrid_json_set_str(body, "session_id", session);
        astrid_json_set(body, "messages", astrid_json_take(s, "messages"));
        reply(p, "session.v1.response.get_messages", body);
        astrid_json_free(s);
    }
    astrid_json_free(p);
    return ASTRID_CONTINUE;
}

static void drop(const astrid_event *ev, const char *prefix)
{
    astrid_json *p = parse(ev);
    const char *session = astrid_json_get_str(p, "session_id");
    if (plain_id(session)) {
        char key[96];
        uint8_t *v = NULL;
        size_t len = 0;
        bool found = false;
        snprintf(key, sizeof key, "sess.%s", session);
        astrid_kv_get(key, &v, &len, &found, NULL);
        free(v);
        if (found)
            astrid_kv_delete(key, NULL);
        astrid_json *body = astrid_json_object();
        astrid_json_set_str(body, "session_id", session);
        astrid_json_set_bool(body, "ok", found);
        reply(p, prefix, body);
    }
    astrid_json_free(p);
}

static astrid_action on_delete(const astrid_event *ev, astrid_reply *out)
{
    (void)out;
    drop(ev, "session.v1.response.delete");
    return ASTRID_CONTINUE;
}

static astrid_action on_clear(const astrid_event *ev, astrid_reply *out)
{
    (void)out;
    drop(ev, "session.v1.response.clear");
    return ASTRID_CONTINUE;
}

static astrid_json *active(void)
{
    char model[64];
    astrid_json *a = astrid_json_object();
    astrid_json_set_str(a, "provider", "fake");
    astrid_json_set_str(a, "model", active_model(model, sizeof model));
    astrid_json_set_str(a, "request_topic", "llm.v1.request.generate.fake");
    return a;
}

static astrid_action on_providers(const astrid_event *ev, astrid_reply *out)
{
    (void)out;
    astrid_json *p = parse(ev);
    static const char providers[] =
        "{\"providers\":[{\"id\":\"fake\",\"name\":\"Fake\",\"request_topic\":"
        "\"llm.v1.request.generate.fake\",\"models\":[{\"id\":\"fake-1\"},{\"id\":\"fake-2\"}]}]}";
    astrid_json *body = astrid_json_parse(providers, sizeof providers - 1, NULL);
    if (body) {
        astrid_json_set(body, "active", active());
        reply(p, "registry.v1.response.get_providers", body);
    }
    astrid_json_free(p);
    return ASTRID_CONTINUE;
}

static astrid_action on_setmodel(const astrid_event *ev, astrid_reply *out)
{
    (void)out;
    astrid_json *p = parse(ev), *body = astrid_json_object();
    const char *m = astrid_json_get_str(p, "model");
    if (m && (strcmp(m, "fake-1") == 0 || strcmp(m, "fake-2") == 0)) {
        astrid_kv_set("model", m, strlen(m), NULL);
        astrid_json_set_bool(body, "ok", true);
        astrid_json_set(body, "active", active());
        publish("registry.v1.active_model_changed", active());
    } else {
        astrid_json_set_bool(body, "ok", false);
        astrid_json_set_str(body, "error", "unknown model");
    }
    reply(p, "registry.v1.response.set_active_model", body);
    astrid_json_free(p);
    return ASTRID_CONTINUE;
}

ASTRID_INTERCEPTOR("prompt", on_prompt)
ASTRID_INTERCEPTOR("list", on_list)
ASTRID_INTERCEPTOR("get", on_get)
ASTRID_INTERCEPTOR("delete", on_delete)
ASTRID_INTERCEPTOR("clear", on_clear)
ASTRID_INTERCEPTOR("providers", on_providers)
ASTRID_INTERCEPTOR("setmodel", on_setmodel)
