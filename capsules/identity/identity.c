/* identity ("spark"): the system prompt of the agent being served.
 *
 * Order: the agent's own KV `spark.prompt` (set with spark.v1.request.set,
 * so each agent has its own), else env `system_prompt`, else a default that
 * names the agent (the invocation's principal) and the tools it can call
 * (their names, from a tool.v1.request.describe fan-out). */
#include <astrid.h>
#include <astrid_json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROMPT_MAX (64u << 10)

static char *kv_prompt(void)
{
    uint8_t *v = NULL;
    size_t n = 0;
    bool found = false;
    char *err = NULL;
    if (astrid_kv_get("spark.prompt", &v, &n, &found, &err) != 0 || !found || !n) {
        free(err);
        free(v);
        return NULL;
    }
    return (char *)v; /* the SDK NUL-terminates */
}

/* "a, b, c" of every tool the agent's tool capsules describe. */
static char *tool_names(void)
{
    char *answers = NULL, *err = NULL;
    if (astrid_trigger_hook("tool.v1.request.describe", "{}", &answers, &err) != 0) {
        free(err);
        return strdup("");
    }
    astrid_json *arr = astrid_json_parse(answers, strlen(answers), NULL);
    free(answers);
    size_t len = 0, cap = 256;
    char *out = malloc(cap);
    if (!out) { /* wasm has no guard page: a write through NULL would not trap */
        astrid_json_free(arr);
        __builtin_trap();
    }
    out[0] = '\0';
    for (size_t i = 0; i < astrid_json_len(arr); i++) {
        astrid_json *tools = astrid_json_get(astrid_json_at(arr, i), "tools");
        for (size_t t = 0; t < astrid_json_len(tools); t++) {
            const char *name = astrid_json_get_str(astrid_json_at(tools, t), "name");
            if (!name || strlen(name) > 64)
                continue;
            size_t need = len + strlen(name) + 3;
            if (need > cap) {
                char *grown = realloc(out, need * 2);
                if (!grown)
                    break; /* out of memory: the names so far */
                out = grown;
                cap = need * 2;
            }
            len += (size_t)sprintf(out + len, "%s%s", len ? ", " : "", name);
        }
    }
    astrid_json_free(arr);
    return out;
}

static char *default_prompt(void)
{
    astrid_caller who = {0};
    char *err = NULL;
    if (astrid_get_caller(&who, &err) != 0)
        free(err);
    const char *agent = who.principal ? who.principal : "default";
    char *tools = tool_names();
    size_t n = strlen(agent) + strlen(tools) + 512;
    char *p = malloc(n);
    snprintf(p, n,
             "You are %s, an AI agent running on Astrid, an operating system for AI agents. "
             "Answer the user directly and concisely. %s%s%s",
             agent, *tools ? "You can call these tools when they help: " : "You have no tools.",
             tools, *tools ? ". Call a tool only when you need its result." : "");
    free(tools);
    astrid_caller_free(&who);
    return p;
}

static astrid_action on_build(const astrid_event *ev, astrid_reply *out)
{
    astrid_json *req = astrid_json_parse((const char *)ev->payload, ev->len, NULL);
    const char *sid = astrid_json_get_str(req, "session_id");
    char *prompt = kv_prompt();
    if (!prompt) {
        char *err = NULL;
        if (astrid_get_config("system_prompt", &prompt, &err) != 0) {
            free(err);
            prompt = NULL;
        }
        if (prompt && !*prompt) {
            free(prompt);
            prompt = NULL;
        }
    }
    if (!prompt)
        prompt = default_prompt();
    astrid_json *body = astrid_json_object();
    astrid_json_set_str(body, "prompt", prompt);
    astrid_json_set_str(body, "session_id", sid ? sid : "default");
    free(prompt);
    char *text = astrid_json_dump(body);
    astrid_json_free(body);
    /* A bus caller (not trigger-hook) gets upstream's reply topic. */
    if (astrid_json_get_str(req, "correlation_id")) {
        char *err = NULL;
        if (astrid_publish("spark.v1.response.ready", text, &err) != 0)
            free(err);
    }
    astrid_json_free(req);
    astrid_reply_set(out, text);
    free(text);
    return ASTRID_FINAL;
}
ASTRID_INTERCEPTOR("build", on_build)

/* {"prompt": "..."} sets this agent's prompt ("" removes it). */
static astrid_action on_set(const astrid_event *ev, astrid_reply *out)
{
    astrid_json *req = astrid_json_parse((const char *)ev->payload, ev->len, NULL);
    const char *p = astrid_json_get_str(req, "prompt");
    char *err = NULL;
    int rc;
    if (!p || strlen(p) > PROMPT_MAX) {
        astrid_json_free(req);
        astrid_reply_set(out, "spark.v1.request.set: prompt must be a string of at most 64 KiB");
        return ASTRID_DENY;
    }
    rc = *p ? astrid_kv_set("spark.prompt", p, strlen(p), &err)
            : astrid_kv_delete("spark.prompt", &err);
    astrid_json *body = astrid_json_object();
    astrid_json_set_bool(body, "ok", rc == 0);
    if (rc != 0)
        astrid_json_set_str(body, "error", err);
    free(err);
    char *text = astrid_json_dump(body);
    astrid_json_free(body);
    if (astrid_json_get_str(req, "correlation_id") &&
        astrid_publish("spark.v1.response.set", text, &err) != 0)
        free(err);
    astrid_json_free(req);
    astrid_reply_set(out, text);
    free(text);
    return ASTRID_FINAL;
}
ASTRID_INTERCEPTOR("set", on_set)
