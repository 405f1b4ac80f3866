/* Tool convention helpers (see tool.h). */
#include "tool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tool_begin(const astrid_event *ev, tool_call *tc, astrid_reply *out)
{
    memset(tc, 0, sizeof *tc);
    tc->req = astrid_json_parse((const char *)ev->payload, ev->len, NULL);
    tc->call_id = astrid_json_get_str(tc->req, "call_id");
    if (!tc->call_id || !*tc->call_id) {
        astrid_json_free(tc->req);
        astrid_reply_set(out, "tool_execute_request needs a call_id");
        return -1;
    }
    const astrid_json *a = astrid_json_get(tc->req, "arguments");
    if (astrid_json_is(a, ASTRID_JSON_STRING)) /* JSON text, as OpenAI sends it */
        tc->args = astrid_json_parse(astrid_json_str(a), astrid_json_len(a), NULL);
    else
        tc->args = astrid_json_copy(a);
    if (!astrid_json_is(tc->args, ASTRID_JSON_OBJECT)) {
        astrid_json_free(tc->args);
        tc->args = astrid_json_object();
    }
    return 0;
}

astrid_action tool_finish(tool_call *tc, const char *tool, const char *content, bool is_error,
                          astrid_reply *out)
{
    astrid_json *o = astrid_json_object(), *r = astrid_json_object();
    astrid_json_set_str(o, "type", "tool_execute_result");
    astrid_json_set_str(o, "call_id", tc->call_id);
    astrid_json_set_str(r, "call_id", tc->call_id);
    astrid_json_set_str(r, "content", content);
    astrid_json_set_bool(r, "is_error", is_error);
    astrid_json_set(o, "result", r);
    char *s = astrid_json_dump(o), *err = NULL;
    astrid_json_free(o);
    char topic[200];
    snprintf(topic, sizeof topic, "tool.v1.execute.%s.result", tool);
    if (s && astrid_publish(topic, s, &err) != 0) {
        astrid_logf(ASTRID_LOG_ERROR, "publish %s: %s", topic, err);
        free(err);
    }
    astrid_reply_set(out, s ? s : "{}");
    free(s);
    astrid_json_free(tc->args);
    astrid_json_free(tc->req);
    memset(tc, 0, sizeof *tc);
    return ASTRID_FINAL;
}

bool tool_approve(const char *action, const char *resource, char **why)
{
    bool ok = false;
    char *err = NULL;
    *why = NULL;
    if (g_request_approval(action, resource, &ok, &err) != 0) {
        size_t n = strlen(err) + 96;
        *why = malloc(n);
        if (*why)
            snprintf(*why, n, "approval could not be asked (%s): treated as denied", err);
        free(err);
        return false;
    }
    if (!ok) {
        const char *m = "denied: the user did not approve";
        *why = malloc(strlen(m) + 1);
        if (*why)
            strcpy(*why, m);
    }
    return ok;
}
