/* llm_request <-> OpenAI / Anthropic wire formats (see llm_map.h). */
#include "llm_map.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dupmsg(const char *m)
{
    size_t n = strlen(m);
    char *s = malloc(n + 1);
    if (s)
        memcpy(s, m, n + 1);
    return s;
}

static int fail_null(char **err, const char *m)
{
    if (err)
        *err = dupmsg(m);
    return -1;
}

/* ToolCall.arguments may arrive as an object or as JSON text: OpenAI wants
 * text, Anthropic an object. */
static char *args_text(const astrid_json *a)
{
    if (astrid_json_is(a, ASTRID_JSON_STRING))
        return dupmsg(astrid_json_str(a));
    if (!a)
        return dupmsg("{}");
    return astrid_json_dump(a);
}

static astrid_json *args_object(const astrid_json *a)
{
    if (astrid_json_is(a, ASTRID_JSON_OBJECT))
        return astrid_json_copy(a);
    if (astrid_json_is(a, ASTRID_JSON_STRING)) {
        const char *s = astrid_json_str(a);
        astrid_json *v = astrid_json_parse(s, strlen(s), NULL);
        if (astrid_json_is(v, ASTRID_JSON_OBJECT))
            return v;
        astrid_json_free(v);
    }
    return astrid_json_object();
}

/* A tool result's content as text: a string as is, else its JSON. */
static char *content_text(const astrid_json *c)
{
    if (astrid_json_is(c, ASTRID_JSON_STRING))
        return dupmsg(astrid_json_str(c));
    if (!c || astrid_json_is(c, ASTRID_JSON_NULL))
        return dupmsg("");
    return astrid_json_dump(c);
}

/* Message.content is untagged (reference §4.2): a string, [ToolCall],
 * a ToolCallResult or [ContentPart]. */
enum content_kind { C_TEXT, C_CALLS, C_RESULT, C_PARTS, C_BAD };
static enum content_kind kind_of(const astrid_json *c)
{
    if (astrid_json_is(c, ASTRID_JSON_STRING))
        return C_TEXT;
    if (astrid_json_is(c, ASTRID_JSON_OBJECT))
        return astrid_json_get_str(c, "call_id") ? C_RESULT : C_BAD;
    if (astrid_json_is(c, ASTRID_JSON_ARRAY)) {
        const astrid_json *e = astrid_json_at(c, 0);
        if (!e)
            return C_PARTS;
        if (astrid_json_get_str(e, "type"))
            return C_PARTS;
        if (astrid_json_get_str(e, "name") && astrid_json_get_str(e, "id"))
            return C_CALLS;
    }
    return C_BAD;
}

static const char *model_of(const astrid_json *req, const llm_cfg *cfg)
{
    const char *m = astrid_json_get_str(req, "model");
    return m && *m ? m : cfg->model;
}

/* ---------------- OpenAI ---------------- */
static astrid_json *oai_parts(const astrid_json *parts)
{
    astrid_json *out = astrid_json_array();
    for (size_t i = 0; out && i < astrid_json_len(parts); i++) {
        const astrid_json *p = astrid_json_at(parts, i);
        const char *t = astrid_json_get_str(p, "type");
        astrid_json *o = astrid_json_object();
        if (t && strcmp(t, "image") == 0) {
            const char *mt = astrid_json_get_str(p, "media_type");
            const char *d = astrid_json_get_str(p, "data");
            size_t n = strlen(mt ? mt : "") + strlen(d ? d : "") + 16;
            char *url = malloc(n);
            astrid_json *iu = astrid_json_object();
            if (url)
                snprintf(url, n, "data:%s;base64,%s", mt ? mt : "image/png", d ? d : "");
            astrid_json_set_str(iu, "url", url ? url : "");
            free(url);
            astrid_json_set_str(o, "type", "image_url");
            astrid_json_set(o, "image_url", iu);
        } else {
            astrid_json_set_str(o, "type", "text");
            astrid_json_set_str(
                o, "text", astrid_json_get_str(p, "text") ? astrid_json_get_str(p, "text") : "");
        }
        astrid_json_append(out, o);
    }
    return out;
}

char *oai_request_body(const astrid_json *req, const llm_cfg *cfg, char **err)
{
    const char *model = model_of(req, cfg);
    if (!model || !*model)
        return fail_null(err, "no model: the request names none and env `model` is empty"), NULL;
    astrid_json *b = astrid_json_object(), *msgs = astrid_json_array();
    astrid_json_set_str(b, "model", model);
    const char *system = astrid_json_get_str(req, "system");
    if (system && *system) {
        astrid_json *m = astrid_json_object();
        astrid_json_set_str(m, "role", "system");
        astrid_json_set_str(m, "content", system);
        astrid_json_append(msgs, m);
    }
    const astrid_json *in = astrid_json_get(req, "messages");
    for (size_t i = 0; i < astrid_json_len(in); i++) {
        const astrid_json *m = astrid_json_at(in, i);
        const char *role = astrid_json_get_str(m, "role");
        const astrid_json *c = astrid_json_get(m, "content");
        astrid_json *o = astrid_json_object();
        switch (kind_of(c)) {
        case C_TEXT:
            astrid_json_set_str(o, "role", role ? role : "user");
            astrid_json_set_str(o, "content", astrid_json_str(c));
            break;
        case C_PARTS:
            astrid_json_set_str(o, "role", role ? role : "user");
            astrid_json_set(o, "content", oai_parts(c));
            break;
        case C_CALLS: {
            astrid_json *calls = astrid_json_array();
            for (size_t k = 0; k < astrid_json_len(c); k++) {
                const astrid_json *tc = astrid_json_at(c, k);
                astrid_json *call = astrid_json_object(), *fn = astrid_json_object();
                char *args = args_text(astrid_json_get(tc, "arguments"));
                astrid_json_set_str(call, "id", astrid_json_get_str(tc, "id"));
                astrid_json_set_str(call, "type", "function");
                astrid_json_set_str(fn, "name", astrid_json_get_str(tc, "name"));
                astrid_json_set_str(fn, "arguments", args ? args : "{}");
                free(args);
                astrid_json_set(call, "function", fn);
                astrid_json_append(calls, call);
            }
            astrid_json_set_str(o, "role", "assistant");
            astrid_json_set(o, "content", astrid_json_null());
            astrid_json_set(o, "tool_calls", calls);
            break;
        }
        case C_RESULT: {
            char *t = content_text(astrid_json_get(c, "content"));
            astrid_json_set_str(o, "role", "tool");
            astrid_json_set_str(o, "tool_call_id", astrid_json_get_str(c, "call_id"));
            astrid_json_set_str(o, "content", t ? t : "");
            free(t);
            break;
        }
        case C_BAD:
            astrid_json_free(o);
            astrid_json_free(msgs);
            astrid_json_free(b);
            if (err) {
                char m2[96];
                snprintf(m2, sizeof m2, "messages[%zu].content: not a Message content", i);
                *err = dupmsg(m2);
            }
            return NULL;
        }
        astrid_json_append(msgs, o);
    }
    astrid_json_set(b, "messages", msgs);
    const astrid_json *tools = astrid_json_get(req, "tools");
    if (astrid_json_len(tools) > 0) {
        astrid_json *ts = astrid_json_array();
        for (size_t i = 0; i < astrid_json_len(tools); i++) {
            const astrid_json *t = astrid_json_at(tools, i);
            astrid_json *o = astrid_json_object(), *fn = astrid_json_object();
            astrid_json_set_str(fn, "name", astrid_json_get_str(t, "name"));
            if (astrid_json_get_str(t, "description"))
                astrid_json_set_str(fn, "description", astrid_json_get_str(t, "description"));
            const astrid_json *sch = astrid_json_get(t, "input_schema");
            if (astrid_json_is(sch, ASTRID_JSON_OBJECT))
                astrid_json_set(fn, "parameters", astrid_json_copy(sch));
            astrid_json_set_str(o, "type", "function");
            astrid_json_set(o, "function", fn);
            astrid_json_append(ts, o);
        }
        astrid_json_set(b, "tools", ts);
    }
    astrid_json_set_bool(b, "stream", true);
    astrid_json *so = astrid_json_object();
    astrid_json_set_bool(so, "include_usage", true);
    astrid_json_set(b, "stream_options", so);
    if (cfg->has_temperature)
        astrid_json_set(b, "temperature", astrid_json_number(cfg->temperature));
    if (cfg->max_tokens > 0)
        astrid_json_set_int(b, "max_tokens", cfg->max_tokens);
    char *s = astrid_json_dump(b);
    astrid_json_free(b);
    if (!s && err)
        *err = dupmsg("out of memory");
    return s;
}

/* ---------------- Anthropic ---------------- */
/* Appends block to the last message when it has `role`, else opens one:
 * the API wants all tool results in the one user message after the calls,
 * and merging keeps roles alternating. */
static void ant_push(astrid_json *msgs, const char *role, astrid_json *block)
{
    size_t n = astrid_json_len(msgs);
    astrid_json *last = n ? astrid_json_at(msgs, n - 1) : NULL;
    const char *lr = astrid_json_get_str(last, "role");
    if (lr && strcmp(lr, role) == 0) {
        astrid_json_append(astrid_json_get(last, "content"), block);
        return;
    }
    astrid_json *m = astrid_json_object(), *c = astrid_json_array();
    astrid_json_set_str(m, "role", role);
    astrid_json_append(c, block);
    astrid_json_set(m, "content", c);
    astrid_json_append(msgs, m);
}

static astrid_json *ant_text(const char *t)
{
    astrid_json *o = astrid_json_object();
    astrid_json_set_str(o, "type", "text");
    astrid_json_set_str(o, "text", t);
    return o;
}

char *ant_request_body(const astrid_json *req, const llm_cfg *cfg, char **err)
{
    const char *model = model_of(req, cfg);
    if (!model || !*model)
        return fail_null(err, "no model: the request names none and env `model` is empty"), NULL;
    astrid_json *b = astrid_json_object(), *msgs = astrid_json_array();
    astrid_json_set_str(b, "model", model);
    astrid_json_set_int(b, "max_tokens",
                        cfg->max_tokens > 0 ? cfg->max_tokens : LLM_DEFAULT_MAX_TOKENS);
    /* system text: the request's, then any role "system" messages */
    size_t slen = 0, scap = 0;
    char *sys = NULL;
    const char *s0 = astrid_json_get_str(req, "system");
    const astrid_json *in = astrid_json_get(req, "messages");
    for (size_t i = 0; i <= astrid_json_len(in); i++) {
        const char *piece = NULL;
        if (i == 0)
            piece = s0;
        else {
            const astrid_json *m = astrid_json_at(in, i - 1);
            const char *role = astrid_json_get_str(m, "role");
            if (role && strcmp(role, "system") == 0)
                piece = astrid_json_str(astrid_json_get(m, "content"));
        }
        if (!piece || !*piece)
            continue;
        size_t k = strlen(piece);
        if (slen + k + 3 > scap) {
            scap = (slen + k + 3) * 2;
            char *ns = realloc(sys, scap);
            if (!ns)
                break;
            sys = ns;
        }
        if (slen) {
            memcpy(sys + slen, "\n\n", 2);
            slen += 2;
        }
        memcpy(sys + slen, piece, k);
        slen += k;
        sys[slen] = '\0';
    }
    for (size_t i = 0; i < astrid_json_len(in); i++) {
        const astrid_json *m = astrid_json_at(in, i);
        const char *role = astrid_json_get_str(m, "role");
        const astrid_json *c = astrid_json_get(m, "content");
        if (role && strcmp(role, "system") == 0)
            continue;
        const char *r = role && strcmp(role, "assistant") == 0 ? "assistant" : "user";
        switch (kind_of(c)) {
        case C_TEXT:
            if (*astrid_json_str(c)) /* the API refuses empty text blocks */
                ant_push(msgs, r, ant_text(astrid_json_str(c)));
            break;
        case C_PARTS:
            for (size_t k = 0; k < astrid_json_len(c); k++) {
                const astrid_json *p = astrid_json_at(c, k);
                const char *t = astrid_json_get_str(p, "type");
                if (t && strcmp(t, "image") == 0) {
                    astrid_json *o = astrid_json_object(), *src = astrid_json_object();
                    astrid_json_set_str(src, "type", "base64");
                    astrid_json_set_str(src, "media_type", astrid_json_get_str(p, "media_type"));
                    astrid_json_set_str(src, "data", astrid_json_get_str(p, "data"));
                    astrid_json_set_str(o, "type", "image");
                    astrid_json_set(o, "source", src);
                    ant_push(msgs, r, o);
                } else if (astrid_json_get_str(p, "text") && *astrid_json_get_str(p, "text"))
                    ant_push(msgs, r, ant_text(astrid_json_get_str(p, "text")));
            }
            break;
        case C_CALLS:
            for (size_t k = 0; k < astrid_json_len(c); k++) {
                const astrid_json *tc = astrid_json_at(c, k);
                astrid_json *o = astrid_json_object();
                astrid_json_set_str(o, "type", "tool_use");
                astrid_json_set_str(o, "id", astrid_json_get_str(tc, "id"));
                astrid_json_set_str(o, "name", astrid_json_get_str(tc, "name"));
                astrid_json_set(o, "input", args_object(astrid_json_get(tc, "arguments")));
                ant_push(msgs, "assistant", o);
            }
            break;
        case C_RESULT: {
            astrid_json *o = astrid_json_object();
            char *t = content_text(astrid_json_get(c, "content"));
            astrid_json_set_str(o, "type", "tool_result");
            astrid_json_set_str(o, "tool_use_id", astrid_json_get_str(c, "call_id"));
            astrid_json_set_str(o, "content", t ? t : "");
            free(t);
            if (astrid_json_get_bool(c, "is_error", false))
                astrid_json_set_bool(o, "is_error", true);
            ant_push(msgs, "user", o);
            break;
        }
        case C_BAD:
            free(sys);
            astrid_json_free(msgs);
            astrid_json_free(b);
            if (err) {
                char m2[96];
                snprintf(m2, sizeof m2, "messages[%zu].content: not a Message content", i);
                *err = dupmsg(m2);
            }
            return NULL;
        }
    }
    if (sys)
        astrid_json_set_str(b, "system", sys);
    free(sys);
    astrid_json_set(b, "messages", msgs);
    const astrid_json *tools = astrid_json_get(req, "tools");
    if (astrid_json_len(tools) > 0) {
        astrid_json *ts = astrid_json_array();
        for (size_t i = 0; i < astrid_json_len(tools); i++) {
            const astrid_json *t = astrid_json_at(tools, i);
            astrid_json *o = astrid_json_object();
            astrid_json_set_str(o, "name", astrid_json_get_str(t, "name"));
            if (astrid_json_get_str(t, "description"))
                astrid_json_set_str(o, "description", astrid_json_get_str(t, "description"));
            const astrid_json *sch = astrid_json_get(t, "input_schema");
            if (astrid_json_is(sch, ASTRID_JSON_OBJECT))
                astrid_json_set(o, "input_schema", astrid_json_copy(sch));
            else {
                astrid_json *e = astrid_json_object();
                astrid_json_set_str(e, "type", "object");
                astrid_json_set(o, "input_schema", e);
            }
            astrid_json_append(ts, o);
        }
        astrid_json_set(b, "tools", ts);
    }
    astrid_json_set_bool(b, "stream", true);
    if (cfg->has_temperature)
        astrid_json_set(b, "temperature", astrid_json_number(cfg->temperature));
    char *s = astrid_json_dump(b);
    astrid_json_free(b);
    if (!s && err)
        *err = dupmsg("out of memory");
    return s;
}

/* ---------------- stream events ---------------- */
void llm_stream_init(llm_stream *s, llm_emit_fn emit, void *ctx)
{
    memset(s, 0, sizeof *s);
    s->emit = emit;
    s->ctx = ctx;
    s->input_tokens = s->output_tokens = -1;
}

static int emit(llm_stream *s, astrid_json *ev)
{
    if (!ev || s->emit(s->ctx, ev) != 0) {
        s->emit_failed = true;
        return -1;
    }
    return 0;
}

/* {"<tag>": "<text>"} */
static int emit_str(llm_stream *s, const char *tag, const char *text, size_t n)
{
    astrid_json *o = astrid_json_object();
    astrid_json_set(o, tag, astrid_json_stringn(text, n));
    return emit(s, o);
}

static int emit_call(llm_stream *s, const char *tag, const char *id, const char *k2, const char *v2)
{
    astrid_json *o = astrid_json_object(), *in = astrid_json_object();
    astrid_json_set_str(in, "id", id);
    if (k2)
        astrid_json_set_str(in, k2, v2);
    astrid_json_set(o, tag, in);
    return emit(s, o);
}

int llm_fail(llm_stream *s, const char *msg)
{
    if (s->terminal)
        return 1;
    s->terminal = true;
    return emit_str(s, "Error", msg, strlen(msg)) == 0 ? 1 : -1;
}

static int end_calls(llm_stream *s)
{
    for (size_t i = 0; i < LLM_MAX_CALLS; i++)
        if (s->calls[i].open) {
            s->calls[i].open = false;
            if (emit_call(s, "ToolCallEnd", s->calls[i].id, NULL, NULL) != 0)
                return -1;
        }
    return 0;
}

static int finish_ok(llm_stream *s)
{
    if (end_calls(s) != 0)
        return -1;
    if (s->input_tokens >= 0 || s->output_tokens >= 0) {
        astrid_json *o = astrid_json_object(), *u = astrid_json_object();
        astrid_json_set_int(u, "input_tokens", s->input_tokens > 0 ? s->input_tokens : 0);
        astrid_json_set_int(u, "output_tokens", s->output_tokens > 0 ? s->output_tokens : 0);
        astrid_json_set(o, "Usage", u);
        if (emit(s, o) != 0)
            return -1;
    }
    s->terminal = true;
    return emit(s, astrid_json_string("Done")) == 0 ? 1 : -1;
}

/* The message of an API error object ({"error":{"message"}} or
 * {"error":"..."}), else NULL. */
static const char *error_message(const astrid_json *v)
{
    const astrid_json *e = astrid_json_get(v, "error");
    if (astrid_json_is(e, ASTRID_JSON_STRING))
        return astrid_json_str(e);
    return astrid_json_get_str(e, "message");
}

int oai_on_data(llm_stream *s, const char *data, size_t len)
{
    if (s->terminal)
        return 1;
    if (len == 6 && memcmp(data, "[DONE]", 6) == 0)
        return finish_ok(s);
    astrid_json *v = astrid_json_parse(data, len, NULL);
    if (!astrid_json_is(v, ASTRID_JSON_OBJECT)) {
        astrid_json_free(v);
        return llm_fail(s, "provider sent an event that is not a JSON object");
    }
    int rc = 0;
    const char *em = error_message(v);
    if (em || astrid_json_get(v, "error")) {
        rc = llm_fail(s, em ? em : "provider sent an error event");
        astrid_json_free(v);
        return rc;
    }
    const astrid_json *usage = astrid_json_get(v, "usage");
    if (astrid_json_is(usage, ASTRID_JSON_OBJECT)) {
        s->input_tokens = astrid_json_get_int(usage, "prompt_tokens", 0);
        s->output_tokens = astrid_json_get_int(usage, "completion_tokens", 0);
    }
    const astrid_json *choice = astrid_json_at(astrid_json_get(v, "choices"), 0);
    const astrid_json *delta = astrid_json_get(choice, "delta");
    const char *reason = astrid_json_get_str(delta, "reasoning_content");
    if (!reason)
        reason = astrid_json_get_str(delta, "reasoning");
    if (reason && *reason && emit_str(s, "ReasoningDelta", reason, strlen(reason)) != 0)
        rc = -1;
    const astrid_json *content = astrid_json_get(delta, "content");
    if (rc == 0 && astrid_json_len(content) > 0 &&
        emit_str(s, "TextDelta", astrid_json_str(content), astrid_json_len(content)) != 0)
        rc = -1;
    const astrid_json *calls = astrid_json_get(delta, "tool_calls");
    for (size_t k = 0; rc == 0 && k < astrid_json_len(calls); k++) {
        const astrid_json *c = astrid_json_at(calls, k);
        int64_t idx = astrid_json_get_int(c, "index", (int64_t)k);
        if (idx < 0 || idx >= LLM_MAX_CALLS) {
            rc = llm_fail(s, "provider sent a tool call index out of range");
            break;
        }
        llm_call *slot = &s->calls[idx];
        const astrid_json *fn = astrid_json_get(c, "function");
        if (!slot->id[0]) {
            const char *id = astrid_json_get_str(c, "id");
            const char *name = astrid_json_get_str(fn, "name");
            if (id && *id)
                snprintf(slot->id, sizeof slot->id, "%s", id);
            else
                snprintf(slot->id, sizeof slot->id, "call_%lld", (long long)idx);
            slot->open = true;
            if (emit_call(s, "ToolCallStart", slot->id, "name", name ? name : "") != 0) {
                rc = -1;
                break;
            }
        }
        const char *args = astrid_json_get_str(fn, "arguments");
        if (args && *args && slot->open &&
            emit_call(s, "ToolCallDelta", slot->id, "args_delta", args) != 0)
            rc = -1;
    }
    if (rc == 0 && astrid_json_get_str(choice, "finish_reason")) {
        s->finished = true;
        if (end_calls(s) != 0)
            rc = -1;
    }
    astrid_json_free(v);
    return rc;
}

int ant_on_event(llm_stream *s, const char *event, const char *data, size_t len)
{
    if (s->terminal)
        return 1;
    astrid_json *v = astrid_json_parse(data, len, NULL);
    if (!astrid_json_is(v, ASTRID_JSON_OBJECT)) {
        astrid_json_free(v);
        return llm_fail(s, "provider sent an event that is not a JSON object");
    }
    const char *type = astrid_json_get_str(v, "type");
    if (!type)
        type = event;
    int rc = 0;
    int64_t idx = astrid_json_get_int(v, "index", 0);
    llm_call *slot = idx >= 0 && idx < LLM_MAX_CALLS ? &s->calls[idx] : NULL;
    if (strcmp(type, "error") == 0) {
        const char *em = error_message(v);
        rc = llm_fail(s, em ? em : "provider sent an error event");
    } else if (strcmp(type, "message_start") == 0) {
        const astrid_json *u = astrid_json_get(astrid_json_get(v, "message"), "usage");
        if (u) {
            s->input_tokens = astrid_json_get_int(u, "input_tokens", 0);
            s->output_tokens = astrid_json_get_int(u, "output_tokens", 0);
        }
    } else if (strcmp(type, "content_block_start") == 0) {
        const astrid_json *b = astrid_json_get(v, "content_block");
        const char *bt = astrid_json_get_str(b, "type");
        if (bt && strcmp(bt, "tool_use") == 0) {
            if (!slot)
                rc = llm_fail(s, "provider sent a content block index out of range");
            else {
                const char *id = astrid_json_get_str(b, "id");
                snprintf(slot->id, sizeof slot->id, "%s", id && *id ? id : "toolu");
                slot->open = true;
                const char *name = astrid_json_get_str(b, "name");
                rc = emit_call(s, "ToolCallStart", slot->id, "name", name ? name : "");
            }
        }
    } else if (strcmp(type, "content_block_delta") == 0) {
        const astrid_json *d = astrid_json_get(v, "delta");
        const char *dt = astrid_json_get_str(d, "type");
        const char *t;
        if (!dt) {
        } else if (strcmp(dt, "text_delta") == 0 && (t = astrid_json_get_str(d, "text")) && *t)
            rc = emit_str(s, "TextDelta", t, astrid_json_len(astrid_json_get(d, "text")));
        else if (strcmp(dt, "thinking_delta") == 0 && (t = astrid_json_get_str(d, "thinking")) &&
                 *t)
            rc = emit_str(s, "ReasoningDelta", t, strlen(t));
        else if (strcmp(dt, "input_json_delta") == 0 && slot && slot->open &&
                 (t = astrid_json_get_str(d, "partial_json")) && *t)
            rc = emit_call(s, "ToolCallDelta", slot->id, "args_delta", t);
    } else if (strcmp(type, "content_block_stop") == 0) {
        if (slot && slot->open) {
            slot->open = false;
            rc = emit_call(s, "ToolCallEnd", slot->id, NULL, NULL);
        }
    } else if (strcmp(type, "message_delta") == 0) {
        const astrid_json *u = astrid_json_get(v, "usage");
        if (u)
            s->output_tokens = astrid_json_get_int(u, "output_tokens", s->output_tokens);
        s->finished = true;
    } else if (strcmp(type, "message_stop") == 0) {
        rc = finish_ok(s);
    }
    astrid_json_free(v);
    return rc;
}

int llm_on_eof(llm_stream *s, bool anthropic)
{
    if (s->terminal)
        return 1;
    if (!anthropic && s->finished)
        return finish_ok(s); /* servers that omit [DONE] after a finish_reason */
    return llm_fail(s, "provider closed the connection before the response was complete");
}

char *llm_http_error(unsigned status, const char *body, size_t len)
{
    astrid_json *v = astrid_json_parse(body, len, NULL);
    const char *m = error_message(v);
    if (!m && astrid_json_is(v, ASTRID_JSON_OBJECT))
        m = astrid_json_get_str(v, "message");
    size_t n = m ? strlen(m) : len;
    if (n > 2000) {
        n = 2000;
        while (n > 0 && m && ((unsigned char)m[n] & 0xc0) == 0x80)
            n--; /* never cut a UTF-8 character */
    }
    char *out = malloc(n + 32);
    if (out) {
        int k = snprintf(out, 32, "HTTP %u: ", status);
        memcpy(out + k, m ? m : body, n);
        out[k + n] = '\0';
        for (size_t i = (size_t)k; i < (size_t)k + n; i++)
            if ((unsigned char)out[i] < 0x20 && out[i] != '\n')
                out[i] = ' ';
            else if (!m && (unsigned char)out[i] >= 0x80)
                out[i] = '?'; /* a raw body need not be UTF-8; a bus payload must */
    }
    astrid_json_free(v);
    return out;
}
