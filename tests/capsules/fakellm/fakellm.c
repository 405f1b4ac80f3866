/* fakellm: a scripted provider for the turn tests. The newest user
 * message (string content) chooses the script:
 *   [tool]    first call: echo_tool {"text":"ping"} with its arguments
 *             split over three deltas; once a tool result is in the
 *             messages: "tool said: <its content>"
 *   [loop]    always calls echo_tool (max-iterations test)
 *   [ghost]   calls a tool nobody offered
 *   [error]   Error "fake quota exceeded"
 *   [slow]    40 deltas "tick N " 150 ms apart (cancel test)
 *   [silent]  publishes nothing (timeout test)
 *   [gap]     "w0 " .. "w5 " at once, 1.5 s of nothing, "end.", Done
 *             (chat_pool: other agents' turns run in the gap)
 *   otherwise "Hello, " + "<principal>" + "!" then Usage, Done.
 * Every request is also logged (its model, tool names and message count)
 * to the agent's capsule log for the tests to read. */
#include <astrid.h>
#include <astrid_json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *rid;

static void emit_raw(const char *event_json)
{
    size_t n = strlen(event_json) + strlen(rid) + 96;
    char *t = malloc(n);
    snprintf(t, n, "{\"type\":\"llm_stream_event\",\"request_id\":\"%s\",\"event\":%s}", rid,
             event_json);
    char *err = NULL;
    if (astrid_publish("llm.v1.stream.fake", t, &err) != 0) {
        astrid_logf(ASTRID_LOG_ERROR, "publish: %s", err);
        free(err);
    }
    free(t);
}

static void text(const char *s)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    astrid_json_quote(&buf, &len, &cap, s, strlen(s));
    char *grown = realloc(buf, len + 1);
    if (!grown) /* wasm has no guard page: a write through NULL would not trap */
        __builtin_trap();
    buf = grown;
    buf[len] = '\0';
    size_t n = len + 32;
    char *e = malloc(n);
    snprintf(e, n, "{\"TextDelta\":%s}", buf);
    emit_raw(e);
    free(e);
    free(buf);
}

static uint64_t quiet_h; /* this invocation's handle (an instance may serve several) */

static void sleep_ms(uint64_t ms)
{
    uint64_t h = quiet_h;
    char *err = NULL;
    if (!h && astrid_subscribe("test.v1.fakellm.quiet", &h, &err) != 0) {
        free(err);
        return;
    }
    quiet_h = h;
    astrid_envelope e = {0};
    if (astrid_recv(h, ms, &e, &err) == 0)
        astrid_envelope_free(&e);
    free(err);
}

static void call_tool(const char *name)
{
    char e[256];
    char id[40];
    snprintf(id, sizeof id, "call_%llu", (unsigned long long)astrid_clock_ms());
    snprintf(e, sizeof e, "{\"ToolCallStart\":{\"id\":\"%s\",\"name\":\"%s\"}}", id, name);
    emit_raw(e);
    const char *parts[] = {"{\\\"te", "xt\\\":\\\"pi", "ng\\\"}"};
    for (int i = 0; i < 3; i++) {
        snprintf(e, sizeof e, "{\"ToolCallDelta\":{\"id\":\"%s\",\"args_delta\":\"%s\"}}", id,
                 parts[i]);
        emit_raw(e);
    }
    snprintf(e, sizeof e, "{\"ToolCallEnd\":{\"id\":\"%s\"}}", id);
    emit_raw(e);
}

static astrid_action on_generate(const astrid_event *ev, astrid_reply *out)
{
    (void)out;
    astrid_json *req = astrid_json_parse((const char *)ev->payload, ev->len, NULL);
    rid = astrid_json_str_or(astrid_json_get(req, "request_id"), "none");
    quiet_h = 0; /* handles end with the invocation that made them */
    astrid_json *msgs = astrid_json_get(req, "messages");
    const char *last = "";
    const char *tool_result = NULL;
    for (size_t i = 0; i < astrid_json_len(msgs); i++) {
        astrid_json *m = astrid_json_at(msgs, i);
        const char *role = astrid_json_str_or(astrid_json_get(m, "role"), "");
        if (!strcmp(role, "user") && astrid_json_get_str(m, "content")) {
            last = astrid_json_get_str(m, "content");
            tool_result = NULL;
        }
        if (!strcmp(role, "tool"))
            tool_result = astrid_json_get_str(astrid_json_get(m, "content"), "content");
    }
    char tools[512] = "";
    astrid_json *tl = astrid_json_get(req, "tools");
    for (size_t i = 0; i < astrid_json_len(tl); i++) {
        size_t l = strlen(tools);
        snprintf(tools + l, sizeof tools - l, "%s%s", l ? "," : "",
                 astrid_json_str_or(astrid_json_get(astrid_json_at(tl, i), "name"), "?"));
    }
    astrid_logf(ASTRID_LOG_INFO, "fakellm request model=%s tools=[%s] messages=%zu system=%.80s",
                astrid_json_str_or(astrid_json_get(req, "model"), ""), tools, astrid_json_len(msgs),
                astrid_json_str_or(astrid_json_get(req, "system"), ""));
    if (strstr(last, "[silent]")) {
        astrid_json_free(req);
        return ASTRID_CONTINUE;
    }
    if (strstr(last, "[error]")) {
        emit_raw("{\"Error\":\"fake quota exceeded\"}");
    } else if (strstr(last, "[loop]")) {
        call_tool("echo_tool");
        emit_raw("\"Done\"");
    } else if (strstr(last, "[ghost]") && !tool_result) {
        call_tool("no_such_tool");
        emit_raw("\"Done\"");
    } else if (strstr(last, "[tool]") && !tool_result) {
        text("Let me check. ");
        call_tool("echo_tool");
        emit_raw("{\"Usage\":{\"input_tokens\":11,\"output_tokens\":7}}");
        emit_raw("\"Done\"");
    } else if (tool_result) {
        text("tool said: ");
        text(tool_result);
        emit_raw("{\"Usage\":{\"input_tokens\":20,\"output_tokens\":5}}");
        emit_raw("\"Done\"");
    } else if (strstr(last, "[gap]")) {
        for (int i = 0; i < 6; i++) {
            char t[8];
            snprintf(t, sizeof t, "w%d ", i);
            text(t);
        }
        sleep_ms(1500);
        text("end.");
        emit_raw("\"Done\"");
    } else if (strstr(last, "[slow]")) {
        for (int i = 0; i < 40; i++) {
            char t[32];
            snprintf(t, sizeof t, "tick %d ", i);
            text(t);
            sleep_ms(150);
        }
        /* after empty ipc-recvs: still the asking agent (its log) */
        astrid_log(ASTRID_LOG_INFO, "slow stream done");
        emit_raw("\"Done\"");
    } else {
        astrid_caller who = {0};
        char *err = NULL;
        if (astrid_get_caller(&who, &err) != 0)
            free(err);
        text("Hello, ");
        text(who.principal ? who.principal : "nobody");
        text("!");
        astrid_caller_free(&who);
        emit_raw("{\"Usage\":{\"input_tokens\":3,\"output_tokens\":4}}");
        emit_raw("\"Done\"");
    }
    astrid_json_free(req);
    return ASTRID_CONTINUE;
}
ASTRID_INTERCEPTOR("generate", on_generate)

/* llm.v1.request.describe, registered only by manifests that declare it
 * (tests/integration/chat_budget.sh): provider "fake" with one model,
 * priced by the env `price_in` / `price_out` (USD per million tokens). */
static astrid_action on_describe(const astrid_event *ev, astrid_reply *out)
{
    (void)ev;
    char *pin = NULL, *pout = NULL, *err = NULL;
    if (astrid_get_config("price_in", &pin, &err) != 0)
        free(err);
    err = NULL;
    if (astrid_get_config("price_out", &pout, &err) != 0)
        free(err);
    char buf[512];
    snprintf(
        buf, sizeof buf,
        "{\"id\":\"fake\",\"name\":\"Fake\",\"request_topic\":\"llm.v1.request.generate.fake\","
        "\"models\":[{\"id\":\"fake-1\",\"context_window\":1000,"
        "\"input_usd_per_mtok\":%s,\"output_usd_per_mtok\":%s}]}",
        pin && *pin ? pin : "0", pout && *pout ? pout : "0");
    free(pin);
    free(pout);
    astrid_reply_set(out, buf);
    return ASTRID_FINAL;
}
ASTRID_INTERCEPTOR("describe", on_describe)
