/* session: the conversation store. Every invocation runs as the message's
 * agent, so KV `session.<id>` is that agent's own: another agent naming
 * the same session id reaches its own (empty) history, never this one.
 *
 * Value of `session.<id>`: {"messages":[Message...], "updated_ms":N,
 * "title":"first user message, cut at 60 bytes"}. Answers are the FINAL
 * data (trigger-hook callers) and, when the request carries a
 * `correlation_id`, also published on upstream's reply topic. */
#include <astrid.h>
#include <astrid_json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SESSION_ID_MAX 128
#define CORR_MAX 64
#define TITLE_MAX 60
#define APPEND_MAX 256 /* messages in one append */

/* Ids become KV keys and topic segments: a closed alphabet, no dots. */
static bool valid_token(const char *s, size_t max, bool dots)
{
    if (!s || !*s || strlen(s) > max)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || (dots && (*p == '.' || *p == ':'))))
            return false;
    return true;
}

static astrid_action fail(astrid_reply *out, const char *why)
{
    astrid_log(ASTRID_LOG_WARN, why);
    astrid_reply_set(out, why);
    return ASTRID_DENY;
}

/* The agent this invocation serves. Records carry it because `agent
 * create` copies default's capsule KV into the new agent's namespace:
 * a copied conversation must not become the new agent's history. */
static char *me(void)
{
    astrid_caller who = {0};
    char *err = NULL, *p;
    if (astrid_get_caller(&who, &err) != 0)
        free(err);
    p = strdup(who.principal ? who.principal : "");
    astrid_caller_free(&who);
    return p;
}

static astrid_json *load(const char *sid)
{
    char key[16 + SESSION_ID_MAX];
    snprintf(key, sizeof key, "session.%s", sid);
    uint8_t *v = NULL;
    size_t n = 0;
    bool found = false;
    char *err = NULL;
    astrid_json *j = NULL;
    if (astrid_kv_get(key, &v, &n, &found, &err) == 0 && found)
        j = astrid_json_parse((const char *)v, n, NULL);
    free(v);
    free(err);
    char *who = me();
    if (!astrid_json_is(j, ASTRID_JSON_OBJECT) ||
        !astrid_json_is(astrid_json_get(j, "messages"), ASTRID_JSON_ARRAY) ||
        strcmp(astrid_json_str_or(astrid_json_get(j, "principal"), ""), who) != 0) {
        astrid_json_free(j);
        j = astrid_json_object();
        astrid_json_set(j, "messages", astrid_json_array());
        astrid_json_set_str(j, "principal", who);
    }
    free(who);
    return j;
}

static int store(const char *sid, const astrid_json *j, char **err)
{
    char key[16 + SESSION_ID_MAX];
    snprintf(key, sizeof key, "session.%s", sid);
    char *text = astrid_json_dump(j);
    if (!text) {
        *err = strdup("out of memory");
        return -1;
    }
    int rc = astrid_kv_set(key, text, strlen(text), err);
    free(text);
    return rc;
}

/* Reply: FINAL data, and the reply topic when there is a correlation id. */
static astrid_action answer(astrid_reply *out, const char *kind, const astrid_json *req,
                            astrid_json *body)
{
    const char *corr = astrid_json_get_str(req, "correlation_id");
    char *text = astrid_json_dump(body);
    astrid_json_free(body);
    if (!text)
        return fail(out, "out of memory");
    if (corr) {
        if (!valid_token(corr, CORR_MAX, false)) {
            free(text);
            return fail(out, "correlation_id must be 1-64 of [A-Za-z0-9_-]");
        }
        char topic[96];
        snprintf(topic, sizeof topic, "session.v1.response.%s.%s", kind, corr);
        char *err = NULL;
        if (astrid_publish(topic, text, &err) != 0) {
            astrid_logf(ASTRID_LOG_WARN, "reply on %s: %s", topic, err);
            free(err);
        }
    }
    astrid_reply_set(out, text);
    free(text);
    return ASTRID_FINAL;
}

static astrid_json *parse_req(const astrid_event *ev)
{
    astrid_json *j = astrid_json_parse((const char *)ev->payload, ev->len, NULL);
    if (!astrid_json_is(j, ASTRID_JSON_OBJECT)) {
        astrid_json_free(j);
        return NULL;
    }
    return j;
}

static const char *session_of(const astrid_json *req)
{
    const char *sid = astrid_json_get_str(req, "session_id");
    return sid ? sid : "default";
}

static bool valid_message(const astrid_json *m)
{
    const char *role = astrid_json_get_str(m, "role");
    return astrid_json_is(m, ASTRID_JSON_OBJECT) && role &&
           (!strcmp(role, "user") || !strcmp(role, "assistant") || !strcmp(role, "system") ||
            !strcmp(role, "tool")) &&
           astrid_json_get(m, "content") != NULL;
}

static astrid_action on_append(const astrid_event *ev, astrid_reply *out)
{
    astrid_json *req = parse_req(ev);
    const char *sid = session_of(req);
    astrid_json *msgs = astrid_json_get(req, "messages");
    if (!req || !valid_token(sid, SESSION_ID_MAX, true)) {
        astrid_json_free(req);
        return fail(out, "session.v1.append: session_id must be 1-128 of [A-Za-z0-9_.:-]");
    }
    if (!astrid_json_is(msgs, ASTRID_JSON_ARRAY) || astrid_json_len(msgs) > APPEND_MAX) {
        astrid_json_free(req);
        return fail(out, "session.v1.append: messages must be an array of at most 256 messages");
    }
    for (size_t i = 0; i < astrid_json_len(msgs); i++)
        if (!valid_message(astrid_json_at(msgs, i))) {
            astrid_json_free(req);
            return fail(out, "session.v1.append: each message needs a role "
                             "(user|assistant|system|tool) and a content");
        }
    astrid_json *s = load(sid);
    astrid_json *hist = astrid_json_get(s, "messages");
    for (size_t i = 0; i < astrid_json_len(msgs); i++) {
        const astrid_json *m = astrid_json_at(msgs, i);
        const char *text = astrid_json_get_str(m, "content");
        if (!astrid_json_get(s, "title") && text &&
            !strcmp(astrid_json_get_str(m, "role"), "user")) {
            /* cut on a UTF-8 boundary */
            size_t n = strlen(text);
            if (n > TITLE_MAX) {
                n = TITLE_MAX;
                while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
                    n--;
            }
            astrid_json_set(s, "title", astrid_json_stringn(text, n));
        }
        astrid_json_append(hist, astrid_json_copy(m));
    }
    astrid_json_set_int(s, "updated_ms", (int64_t)astrid_clock_ms());
    char *err = NULL;
    int rc = store(sid, s, &err);
    size_t count = astrid_json_len(hist);
    astrid_json_free(s);
    if (rc != 0) {
        char why[512];
        snprintf(why, sizeof why, "session.v1.append: cannot store session %s: %s", sid, err);
        free(err);
        astrid_json_free(req);
        return fail(out, why);
    }
    astrid_json *body = astrid_json_object();
    astrid_json_set_str(body, "session_id", sid);
    astrid_json_set_bool(body, "ok", true);
    astrid_json_set_int(body, "messages", (int64_t)count);
    astrid_action a = answer(out, "append", req, body);
    astrid_json_free(req);
    return a;
}
ASTRID_INTERCEPTOR("append", on_append)

static astrid_action on_get(const astrid_event *ev, astrid_reply *out)
{
    astrid_json *req = parse_req(ev);
    const char *sid = session_of(req);
    if (!req || !valid_token(sid, SESSION_ID_MAX, true)) {
        astrid_json_free(req);
        return fail(out, "get_messages: session_id must be 1-128 of [A-Za-z0-9_.:-]");
    }
    astrid_json *s = load(sid);
    astrid_json *body = astrid_json_object();
    astrid_json_set_str(body, "session_id", sid);
    astrid_json_set(body, "messages", astrid_json_take(s, "messages"));
    astrid_json_free(s);
    astrid_action a = answer(out, "get_messages", req, body);
    astrid_json_free(req);
    return a;
}
ASTRID_INTERCEPTOR("get_messages", on_get)

static astrid_action remove_session(const astrid_event *ev, astrid_reply *out, const char *kind)
{
    astrid_json *req = parse_req(ev);
    const char *sid = session_of(req);
    if (!req || !valid_token(sid, SESSION_ID_MAX, true)) {
        astrid_json_free(req);
        return fail(out, "session_id must be 1-128 of [A-Za-z0-9_.:-]");
    }
    char key[16 + SESSION_ID_MAX];
    snprintf(key, sizeof key, "session.%s", sid);
    char *err = NULL;
    bool ok = astrid_kv_delete(key, &err) == 0;
    astrid_json *body = astrid_json_object();
    astrid_json_set_str(body, "session_id", sid);
    astrid_json_set_bool(body, "ok", ok);
    if (!ok)
        astrid_json_set_str(body, "error", err);
    free(err);
    astrid_action a = answer(out, kind, req, body);
    astrid_json_free(req);
    return a;
}

static astrid_action on_clear(const astrid_event *ev, astrid_reply *out)
{
    return remove_session(ev, out, "clear");
}
ASTRID_INTERCEPTOR("clear", on_clear)

static astrid_action on_delete(const astrid_event *ev, astrid_reply *out)
{
    return remove_session(ev, out, "delete");
}
ASTRID_INTERCEPTOR("delete", on_delete)

static astrid_action on_list(const astrid_event *ev, astrid_reply *out)
{
    astrid_json *req = parse_req(ev);
    if (!req)
        return fail(out, "session.v1.request.list: payload must be a JSON object");
    char **keys = NULL;
    size_t n = 0;
    char *err = NULL;
    if (astrid_kv_list_keys("session.", &keys, &n, &err) != 0) {
        char why[512];
        snprintf(why, sizeof why, "session.v1.request.list: %s", err);
        free(err);
        astrid_json_free(req);
        return fail(out, why);
    }
    astrid_json *list = astrid_json_array();
    for (size_t i = 0; i < n; i++) {
        const char *sid = keys[i] + strlen("session.");
        if (!valid_token(sid, SESSION_ID_MAX, true))
            continue;
        astrid_json *s = load(sid);
        if (!astrid_json_len(astrid_json_get(s, "messages"))) { /* a copy of another agent's */
            astrid_json_free(s);
            continue;
        }
        astrid_json *e = astrid_json_object();
        astrid_json_set_str(e, "session_id", sid);
        astrid_json_set_str(e, "title",
                            astrid_json_get_str(s, "title") ? astrid_json_get_str(s, "title") : "");
        astrid_json_set_int(e, "messages",
                            (int64_t)astrid_json_len(astrid_json_get(s, "messages")));
        astrid_json_set_int(e, "updated_ms", astrid_json_get_int(s, "updated_ms", 0));
        astrid_json_append(list, e);
        astrid_json_free(s);
    }
    astrid_strv_free(keys, n);
    astrid_json *body = astrid_json_object();
    astrid_json_set(body, "sessions", list);
    astrid_action a = answer(out, "list", req, body);
    astrid_json_free(req);
    return a;
}
ASTRID_INTERCEPTOR("list", on_list)
