/* prompt-builder: prompt_builder.v1.assemble {messages, system_prompt,
 * request_id, session_id, model, provider} -> {system_prompt, tools,
 * messages, user_context_prefix?, session_id}.
 *
 * Tools: a tool.v1.request.describe fan-out (trigger-hook, as the same
 * agent); each answer {"tools":[{name, description, input_schema}]}; kept
 * in answer order, the first of a repeated name wins, names outside
 * [A-Za-z0-9_:-]{1,64} are dropped (the router would refuse them).
 * Hooks: prompt_builder.v1.hook.before_build (same payload) may answer
 * {"prependContext": "..."}, joined into user_context_prefix. Upstream also
 * lets capsules holding allow_prompt_injection rewrite the system prompt;
 * trigger-hook answers do not say who answered, so we cannot check that
 * flag and take no system-prompt changes at all (fail closed).
 * prompt_builder.v1.hook.after_build gets the result; its answers are
 * ignored. */
#include <astrid.h>
#include <astrid_json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOOLS 256
#define PREFIX_MAX (64u << 10)

static bool valid_tool_name(const char *s)
{
    if (!s || !*s || strlen(s) > 64)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == ':'))
            return false;
    return true;
}

static astrid_json *hook(const char *topic, const char *payload)
{
    char *answers = NULL, *err = NULL;
    if (astrid_trigger_hook(topic, payload, &answers, &err) != 0) {
        astrid_logf(ASTRID_LOG_WARN, "%s: %s", topic, err);
        free(err);
        return astrid_json_array();
    }
    astrid_json *a = astrid_json_parse(answers, strlen(answers), NULL);
    free(answers);
    return a ? a : astrid_json_array();
}

static astrid_json *gather_tools(void)
{
    astrid_json *answers = hook("tool.v1.request.describe", "{}");
    astrid_json *tools = astrid_json_array();
    for (size_t i = 0; i < astrid_json_len(answers); i++) {
        astrid_json *list = astrid_json_get(astrid_json_at(answers, i), "tools");
        for (size_t t = 0; t < astrid_json_len(list); t++) {
            astrid_json *d = astrid_json_at(list, t);
            const char *name = astrid_json_get_str(d, "name");
            if (!valid_tool_name(name) || astrid_json_len(tools) >= MAX_TOOLS)
                continue;
            bool dup = false;
            for (size_t k = 0; k < astrid_json_len(tools) && !dup; k++)
                dup = !strcmp(astrid_json_get_str(astrid_json_at(tools, k), "name"), name);
            if (dup)
                continue;
            astrid_json *def = astrid_json_object();
            astrid_json_set_str(def, "name", name);
            const char *desc = astrid_json_get_str(d, "description");
            if (desc)
                astrid_json_set_str(def, "description", desc);
            astrid_json *schema = astrid_json_get(d, "input_schema");
            astrid_json_set(def, "input_schema",
                            astrid_json_is(schema, ASTRID_JSON_OBJECT) ? astrid_json_copy(schema)
                                                                       : astrid_json_object());
            astrid_json_append(tools, def);
        }
    }
    astrid_json_free(answers);
    return tools;
}

static astrid_action on_assemble(const astrid_event *ev, astrid_reply *out)
{
    astrid_json *req = astrid_json_parse((const char *)ev->payload, ev->len, NULL);
    if (!astrid_json_is(req, ASTRID_JSON_OBJECT)) {
        astrid_json_free(req);
        astrid_reply_set(out, "prompt_builder.v1.assemble: payload must be a JSON object");
        return ASTRID_DENY;
    }
    const char *sid = astrid_json_get_str(req, "session_id");
    astrid_json *res = astrid_json_object();
    const char *sys = astrid_json_get_str(req, "system_prompt");
    astrid_json_set_str(res, "system_prompt", sys ? sys : "");
    astrid_json_set(res, "tools", gather_tools());
    astrid_json *msgs = astrid_json_get(req, "messages");
    astrid_json_set(res, "messages",
                    astrid_json_is(msgs, ASTRID_JSON_ARRAY) ? astrid_json_copy(msgs)
                                                            : astrid_json_array());
    astrid_json_set_str(res, "session_id", sid ? sid : "default");

    astrid_json *hin = astrid_json_object();
    astrid_json_set_str(hin, "request_id", astrid_json_get_str(req, "request_id"));
    astrid_json_set_str(hin, "session_id", sid ? sid : "default");
    astrid_json_set_str(hin, "system_prompt", sys ? sys : "");
    astrid_json_set(hin, "messages", astrid_json_copy(astrid_json_get(res, "messages")));
    char *hin_text = astrid_json_dump(hin);
    astrid_json_free(hin);
    astrid_json *answers = hook("prompt_builder.v1.hook.before_build", hin_text);
    free(hin_text);
    char *prefix = NULL;
    size_t plen = 0;
    for (size_t i = 0; i < astrid_json_len(answers); i++) {
        const char *p = astrid_json_get_str(astrid_json_at(answers, i), "prependContext");
        if (!p || !*p || plen + strlen(p) + 2 > PREFIX_MAX)
            continue;
        char *grown = realloc(prefix, plen + strlen(p) + 2);
        if (!grown)
            break; /* out of memory: the context gathered so far */
        prefix = grown;
        plen += (size_t)sprintf(prefix + plen, "%s%s", plen ? "\n" : "", p);
    }
    astrid_json_free(answers);
    if (prefix)
        astrid_json_set_str(res, "user_context_prefix", prefix);
    free(prefix);

    char *text = astrid_json_dump(res);
    astrid_json_free(res);
    char *err = NULL;
    astrid_json *after = hook("prompt_builder.v1.hook.after_build", text);
    astrid_json_free(after);
    if (astrid_json_get_str(req, "correlation_id") &&
        astrid_publish("prompt_builder.v1.response.assemble", text, &err) != 0)
        free(err);
    astrid_json_free(req);
    astrid_reply_set(out, text);
    free(text);
    return ASTRID_FINAL;
}
ASTRID_INTERCEPTOR("assemble", on_assemble)
