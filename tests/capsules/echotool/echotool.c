/* echotool: the tool of the turn tests. echo_tool {"text"} answers
 * "echo <text> as <principal>" so a test sees which agent it ran as. */
#include <astrid.h>
#include <astrid_json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static astrid_action on_describe(const astrid_event *ev, astrid_reply *out)
{
    (void)ev;
    astrid_reply_set(out, "{\"tools\":[{\"name\":\"echo_tool\",\"description\":\"Echoes its text\","
                          "\"input_schema\":{\"type\":\"object\",\"properties\":{\"text\":{"
                          "\"type\":\"string\"}},\"required\":[\"text\"]}}]}");
    return ASTRID_FINAL;
}
ASTRID_INTERCEPTOR("describe", on_describe)

static astrid_action on_execute(const astrid_event *ev, astrid_reply *out)
{
    (void)out;
    astrid_json *req = astrid_json_parse((const char *)ev->payload, ev->len, NULL);
    const char *id = astrid_json_str_or(astrid_json_get(req, "call_id"), "");
    const char *t =
        astrid_json_str_or(astrid_json_get(astrid_json_get(req, "arguments"), "text"), "");
    astrid_caller who = {0};
    char *err = NULL;
    if (astrid_get_caller(&who, &err) != 0)
        free(err);
    char content[256];
    snprintf(content, sizeof content, "echo %.64s as %s", t, who.principal ? who.principal : "?");
    astrid_caller_free(&who);
    astrid_json *r = astrid_json_object();
    astrid_json_set_str(r, "type", "tool_execute_result");
    astrid_json_set_str(r, "call_id", id);
    astrid_json *res = astrid_json_object();
    astrid_json_set_str(res, "call_id", id);
    astrid_json_set_str(res, "content", content);
    astrid_json_set_bool(res, "is_error", false);
    astrid_json_set(r, "result", res);
    char *text = astrid_json_dump(r);
    if (astrid_publish("tool.v1.execute.echo_tool.result", text, &err) != 0)
        free(err);
    free(text);
    astrid_json_free(r);
    astrid_json_free(req);
    return ASTRID_CONTINUE;
}
ASTRID_INTERCEPTOR("execute", on_execute)
