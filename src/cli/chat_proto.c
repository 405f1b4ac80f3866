/* The daemon-free half of the chat client (chat.h): session ids, prompts,
 * reading the contract's frames, the turn record, approval answers. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cli/chat.h"

#define APPROVAL_RESPONSE_PREFIX "astrid.v1.approval.response."
#define LLM_ERROR_PREFIX "LLM error: "

void chat_session_resolve(const char *arg, char out[CHAT_SESSION_LEN])
{
    if (!arg || !*arg)
        astrid_uuid_v4(out);
    else if (!astrid_uuid_parse(arg, out))
        astrid_uuid_v5_url(out, arg, strlen(arg));
}

static bool blank(const char *s)
{
    for (; s && *s; s++)
        if (!isspace((unsigned char)*s))
            return false;
    return true;
}

int chat_prompt_compose(const char *piped, const char *prompt, char **out, astrid_err *err)
{
    *out = NULL;
    size_t plen = 0;
    if (piped) {
        plen = strlen(piped);
        while (plen && isspace((unsigned char)piped[plen - 1]))
            plen--;
    }
    bool have_pipe = plen > 0, have_prompt = prompt && !blank(prompt);
    if (!have_pipe && !have_prompt)
        return astrid_err_set(err, ASTRID_E_INVALID,
                              "no prompt: give one (astrid run PROMPT, astrid -p PROMPT) or pipe "
                              "it on stdin");
    size_t n = (have_pipe ? plen : 0) + (have_prompt ? strlen(prompt) : 0) + 3;
    if (n > CHAT_PROMPT_MAX)
        return astrid_err_set(err, ASTRID_E_LIMIT, "the prompt is over %u bytes", CHAT_PROMPT_MAX);
    char *s = malloc(n);
    if (!s)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    if (have_pipe && have_prompt)
        snprintf(s, n, "%.*s\n\n%s", (int)plen, piped, prompt);
    else if (have_pipe)
        snprintf(s, n, "%.*s", (int)plen, piped);
    else
        snprintf(s, n, "%s", prompt);
    *out = s;
    return 0;
}

json_t *chat_prompt_payload(const char *text, const char *session_id)
{
    return json_pack("{s:s,s:s,s:s}", "type", "user_input", "text", text, "session_id", session_id);
}

json_t *chat_cancel_payload(const char *session_id)
{
    return json_pack("{s:s,s:s,s:s,s:{s:s}}", "type", "user_input", "text", "", "session_id",
                     session_id, "context", "action", "cancel_turn");
}

static const char *str_of(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static bool same_session(const json_t *pl, const char *session_id)
{
    const char *s = str_of(pl, "session_id");
    return s && session_id && strcmp(s, session_id) == 0;
}

void chat_classify(const json_t *msg, const char *principal, const char *session_id, chat_ev *ev)
{
    memset(ev, 0, sizeof *ev);
    const char *topic = str_of(msg, "topic"), *who = str_of(msg, "principal");
    const json_t *pl = json_object_get(msg, "payload");
    if (!topic || !json_is_object(pl))
        return;
    if (who && principal && strcmp(who, principal) != 0)
        return;
    if (strcmp(topic, "astrid.v1.connection.response.publish") == 0) {
        /* Private to this connection: the kernel says our prompt went nowhere. */
        const char *t = str_of(pl, "topic"), *st = str_of(pl, "status");
        if (t && st && strcmp(t, "user.v1.prompt") == 0 && strcmp(st, "error") == 0) {
            ev->kind = CHAT_EV_PUBLISH_FAILED;
            ev->text = str_of(pl, "data") ?: "the daemon refused the prompt";
        }
        return;
    }
    if (strcmp(topic, "astrid.v1.approval") == 0) {
        const char *ty = str_of(pl, "type"), *id = str_of(pl, "request_id");
        if (ty && id && strcmp(ty, "approval_required") == 0) {
            ev->kind = CHAT_EV_APPROVAL;
            ev->request_id = id;
            ev->action = str_of(pl, "action") ?: "";
            ev->resource = str_of(pl, "resource") ?: "";
            ev->reason = str_of(pl, "reason") ?: "";
        }
        return;
    }
    if (!same_session(pl, session_id))
        return;
    if (strcmp(topic, "agent.v1.response") == 0) {
        const char *text = str_of(pl, "text");
        const json_t *fin = json_object_get(pl, "is_final");
        if (!text || !json_is_boolean(fin))
            return;
        ev->text = text;
        if (!json_is_true(fin))
            ev->kind = CHAT_EV_DELTA;
        else if (json_is_true(json_object_get(pl, "error")) ||
                 strncmp(text, LLM_ERROR_PREFIX, strlen(LLM_ERROR_PREFIX)) == 0)
            ev->kind = CHAT_EV_ERROR;
        else
            ev->kind = CHAT_EV_FINAL;
    } else if (strcmp(topic, "agent.v1.tool_call") == 0) {
        const char *phase = str_of(pl, "phase");
        ev->call_id = str_of(pl, "call_id");
        ev->tool_name = str_of(pl, "tool_name");
        if (!phase || !ev->call_id || !ev->tool_name)
            return;
        ev->arguments = json_object_get(pl, "arguments");
        if (strcmp(phase, "started") == 0) {
            ev->kind = CHAT_EV_TOOL_START;
        } else if (strcmp(phase, "finished") == 0) {
            ev->kind = CHAT_EV_TOOL_END;
            const json_t *c = json_object_get(pl, "content");
            ev->content = json_is_string(c) ? json_string_value(c) : "";
            ev->is_error = json_is_true(json_object_get(pl, "is_error"));
        }
    } else if (strcmp(topic, "agent.v1.usage") == 0) {
        const json_t *in = json_object_get(pl, "input_tokens"),
                     *out = json_object_get(pl, "output_tokens");
        if (!json_is_integer(in) || !json_is_integer(out) || json_integer_value(in) < 0 ||
            json_integer_value(out) < 0)
            return;
        ev->kind = CHAT_EV_USAGE;
        ev->input_tokens = json_integer_value(in);
        ev->output_tokens = json_integer_value(out);
        ev->model = str_of(pl, "model") ?: "";
        ev->provider = str_of(pl, "provider") ?: "";
    }
}

void chat_turn_init(chat_turn *t)
{
    memset(t, 0, sizeof *t);
    t->tool_calls = json_array();
}

void chat_turn_free(chat_turn *t)
{
    free(t->text);
    json_decref(t->tool_calls);
    memset(t, 0, sizeof *t);
}

static int text_append(chat_turn *t, const char *s, bool replace)
{
    size_t n = strlen(s);
    if (replace)
        t->len = 0;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *p = realloc(t->text, cap);
        if (!p)
            return -1;
        t->text = p;
        t->cap = cap;
    }
    memcpy(t->text + t->len, s, n);
    t->len += n;
    t->text[t->len] = '\0';
    return 0;
}

static json_t *find_call(const chat_turn *t, const char *call_id)
{
    size_t i;
    json_t *v;
    json_array_foreach(t->tool_calls, i, v)
    {
        const char *id = str_of(v, "call_id");
        if (id && strcmp(id, call_id) == 0)
            return v;
    }
    return NULL;
}

int chat_turn_feed(chat_turn *t, const chat_ev *ev)
{
    json_t *call;
    switch (ev->kind) {
    case CHAT_EV_DELTA:
        t->streamed = true;
        return text_append(t, ev->text, false);
    case CHAT_EV_FINAL:
        t->done = true;
        return text_append(t, ev->text, true);
    case CHAT_EV_ERROR:
    case CHAT_EV_PUBLISH_FAILED:
        t->done = t->failed = true;
        return text_append(t, ev->text, true);
    case CHAT_EV_TOOL_START:
    case CHAT_EV_TOOL_END:
        call = find_call(t, ev->call_id);
        if (!call) {
            call = json_pack("{s:s,s:s,s:O}", "call_id", ev->call_id, "tool_name", ev->tool_name,
                             "arguments", ev->arguments ? (json_t *)ev->arguments : json_null());
            if (!call || json_array_append_new(t->tool_calls, call) != 0)
                return -1;
        }
        if (ev->kind == CHAT_EV_TOOL_END) {
            json_object_set_new(call, "content", json_string(ev->content ? ev->content : ""));
            json_object_set_new(call, "is_error", json_boolean(ev->is_error));
        }
        return 0;
    case CHAT_EV_USAGE:
        t->input_tokens += ev->input_tokens;
        t->output_tokens += ev->output_tokens;
        if (ev->model && *ev->model)
            snprintf(t->model, sizeof t->model, "%s", ev->model);
        if (ev->provider && *ev->provider)
            snprintf(t->provider, sizeof t->provider, "%s", ev->provider);
        return 0;
    default:
        return 0;
    }
}

json_t *chat_turn_json(const chat_turn *t, const char *session_id)
{
    json_t *usage =
        json_pack("{s:I,s:I}", "input_tokens", t->input_tokens, "output_tokens", t->output_tokens);
    if (usage && *t->model)
        json_object_set_new(usage, "model", json_string(t->model));
    if (usage && *t->provider)
        json_object_set_new(usage, "provider", json_string(t->provider));
    return json_pack("{s:s,s:O,s:s,s:o}", "response", t->text ? t->text : "", "tool_calls",
                     t->tool_calls, "session_id", session_id, "usage", usage);
}

int chat_approval_answer(const char *request_id, const char *decision, char *topic, size_t tsz,
                         json_t **payload, astrid_err *err)
{
    static const char *const ok[] = {"approve", "approve_session", "approve_workspace",
                                     "approve_always", "deny"};
    *payload = NULL;
    size_t n = request_id ? strlen(request_id) : 0;
    if (n == 0 || n > 64 ||
        strspn(request_id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                           "0123456789-_") != n)
        return astrid_err_set(err, ASTRID_E_INVALID,
                              "approval request id is not a plain token; not answering it");
    bool known = false;
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        known = known || strcmp(decision, ok[i]) == 0;
    if (!known)
        return astrid_err_set(err, ASTRID_E_INVALID, "unknown approval decision '%s'", decision);
    snprintf(topic, tsz, "%s%s", APPROVAL_RESPONSE_PREFIX, request_id);
    *payload = json_pack("{s:s,s:s,s:s}", "type", "approval_response", "request_id", request_id,
                         "decision", decision);
    return *payload ? 0 : astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
}

/* Append to a growing malloc'd string; keeps *s valid (or NULL) on failure. */
static void cat(char **s, size_t *len, const char *add)
{
    size_t n = strlen(add);
    char *p = realloc(*s, *len + n + 1);
    if (!p) {
        free(*s);
        *s = NULL;
        return;
    }
    memcpy(p + *len, add, n + 1);
    *s = p;
    *len += n;
}

char *chat_message_text(const json_t *msg, const char **role)
{
    const json_t *c = json_object_get(msg, "content");
    char *s = calloc(1, 1);
    size_t len = 0;
    *role = str_of(msg, "role") ?: "?";
    if (json_is_string(c)) {
        cat(&s, &len, json_string_value(c));
    } else if (json_is_object(c)) { /* ToolCallResult */
        cat(&s, &len,
            json_is_true(json_object_get(c, "is_error")) ? "[tool error] " : "[tool result] ");
        const json_t *body = json_object_get(c, "content");
        if (s && json_is_string(body)) {
            cat(&s, &len, json_string_value(body));
        } else if (s) {
            char *d = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
            cat(&s, &len, d ? d : "");
            free(d);
        }
    } else if (json_is_array(c)) {
        size_t i;
        const json_t *part;
        json_array_foreach(c, i, part)
        {
            if (!s)
                break;
            const char *ty = str_of(part, "type");
            if (ty && strcmp(ty, "text") == 0) {
                cat(&s, &len, str_of(part, "text") ?: "");
            } else if (ty && strcmp(ty, "image") == 0) {
                cat(&s, &len, "[image]");
            } else if (str_of(part, "name")) { /* ToolCall */
                char *args =
                    json_dumps(json_object_get(part, "arguments"), JSON_COMPACT | JSON_ENCODE_ANY);
                cat(&s, &len, i ? " [tool call " : "[tool call ");
                if (s)
                    cat(&s, &len, str_of(part, "name"));
                if (s && args) {
                    cat(&s, &len, " ");
                    if (s)
                        cat(&s, &len, args);
                }
                if (s)
                    cat(&s, &len, "]");
                free(args);
            }
        }
    }
    return s;
}

void chat_write_text(FILE *f, const char *s, bool tty)
{
    if (!tty) {
        fputs(s, f);
        return;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f) {
            fputc('?', f);
        } else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
            fputc('?', f); /* a C1 control, e.g. U+009B (CSI) */
            p++;
        } else {
            fputc(*p, f);
        }
    }
}
