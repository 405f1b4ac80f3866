/* The tool capsules' side of upstream's tool convention (reference §16.1):
 * a tool_execute_request on tool.v1.execute.<name> is answered with a
 * tool_execute_result on tool.v1.execute.<name>.result (also returned as
 * FINAL data, so a trigger-hook caller gets it too), and
 * tool.v1.request.describe with {"tools": [...]}. Guest-only; included as
 * "../common/tool.c" (after guest.c).
 */
#ifndef CAPSULES_COMMON_TOOL_H
#define CAPSULES_COMMON_TOOL_H

#include <astrid.h>
#include <astrid_json.h>
#include <stdbool.h>

typedef struct tool_call {
    astrid_json *req; /* owned */
    const char *call_id;
    astrid_json *args; /* owned: the arguments object ({} when absent) */
} tool_call;

/* Parses the request; -1 (and the DENY reason in out) when it is not a
 * tool_execute_request with a call_id. */
int tool_begin(const astrid_event *ev, tool_call *tc, astrid_reply *out);
/* Publishes the result and sets it as FINAL data; frees tc. */
astrid_action tool_finish(tool_call *tc, const char *tool, const char *content, bool is_error,
                          astrid_reply *out);
/* request-approval for (action, resource): true only on an approval. Any
 * host error counts as a denial, and *why says which (caller frees). */
bool tool_approve(const char *action, const char *resource, char **why);

#endif
