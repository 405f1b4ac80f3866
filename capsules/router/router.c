/* router: tool.v1.request.execute -> tool.v1.execute.<tool_name>, and
 * tool.v1.execute.<tool_name>.result -> tool.v1.execute.result. Both hops
 * run as the asking agent (the daemon invokes interceptors as the
 * message's principal), so a tool acts with that agent's rights only.
 *
 * A name outside [A-Za-z0-9_:-]{1,64} (a dot would address another topic)
 * or equal to "result" (tool.v1.execute.result is the router's own reply
 * topic) is answered at once as an is_error result, as upstream. */
#include <astrid.h>
#include <astrid_json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool valid_tool_name(const char *s)
{
    if (!s || !*s || strlen(s) > 64 || !strcmp(s, "result"))
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == ':'))
            return false;
    return true;
}

static void publish_json(const char *topic, astrid_json *j)
{
    char *text = astrid_json_dump(j);
    char *err = NULL;
    if (!text || astrid_publish(topic, text, &err) != 0) {
        astrid_logf(ASTRID_LOG_WARN, "publish %s: %s", topic, err ? err : "out of memory");
        free(err);
    }
    free(text);
}

static astrid_action on_execute(const astrid_event *ev, astrid_reply *out)
{
    (void)out;
    astrid_json *req = astrid_json_parse((const char *)ev->payload, ev->len, NULL);
    const char *call_id = astrid_json_get_str(req, "call_id");
    const char *name = astrid_json_get_str(req, "tool_name");
    if (!call_id) {
        astrid_json_free(req);
        astrid_reply_set(out, "tool.v1.request.execute: call_id missing");
        return ASTRID_DENY;
    }
    if (!valid_tool_name(name)) {
        char why[160];
        snprintf(why, sizeof why,
                 "invalid tool name (allowed: 1-64 of [A-Za-z0-9_:-], not \"result\")");
        astrid_json *r = astrid_json_object();
        astrid_json_set_str(r, "type", "tool_execute_result");
        astrid_json_set_str(r, "call_id", call_id);
        astrid_json *res = astrid_json_object();
        astrid_json_set_str(res, "call_id", call_id);
        astrid_json_set_str(res, "content", why);
        astrid_json_set_bool(res, "is_error", true);
        astrid_json_set(r, "result", res);
        publish_json("tool.v1.execute.result", r);
        astrid_json_free(r);
        astrid_json_free(req);
        return ASTRID_CONTINUE;
    }
    astrid_json *fwd = astrid_json_object();
    astrid_json_set_str(fwd, "type", "tool_execute_request");
    astrid_json_set_str(fwd, "call_id", call_id);
    astrid_json_set_str(fwd, "tool_name", name);
    astrid_json *args = astrid_json_get(req, "arguments");
    astrid_json_set(fwd, "arguments", args ? astrid_json_copy(args) : astrid_json_object());
    char topic[128];
    snprintf(topic, sizeof topic, "tool.v1.execute.%s", name);
    publish_json(topic, fwd);
    astrid_json_free(fwd);
    astrid_json_free(req);
    return ASTRID_CONTINUE;
}
ASTRID_INTERCEPTOR("execute", on_execute)

static astrid_action on_result(const astrid_event *ev, astrid_reply *out)
{
    (void)out;
    astrid_json *r = astrid_json_parse((const char *)ev->payload, ev->len, NULL);
    if (!astrid_json_is(r, ASTRID_JSON_OBJECT) || !astrid_json_get_str(r, "call_id")) {
        astrid_json_free(r);
        astrid_log(ASTRID_LOG_WARN, "a tool result without call_id: dropped");
        return ASTRID_CONTINUE;
    }
    astrid_json_set_str(r, "type", "tool_execute_result");
    publish_json("tool.v1.execute.result", r);
    astrid_json_free(r);
    return ASTRID_CONTINUE;
}
ASTRID_INTERCEPTOR("result", on_result)
