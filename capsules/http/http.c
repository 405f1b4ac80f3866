/* astrid-capsule-http: http_request. The manifest allows any host; what
 * the agent may reach is its own egress (profile network_egress or
 * network:egress:<host>), checked by the host with the SSRF filter, and a
 * refusal comes back as an is_error result. Redirects are not followed. */
#include <astrid.h>
#include <astrid_json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/guest.c"
#include "../common/tool.c"

#define BODY_MAX (64u << 10)
#define HDR_MAX 32

static astrid_action on_request(const astrid_event *ev, astrid_reply *out)
{
    tool_call tc;
    if (tool_begin(ev, &tc, out) != 0)
        return ASTRID_DENY;
    const char *url = astrid_json_get_str(tc.args, "url");
    const char *method = astrid_json_get_str(tc.args, "method");
    const char *body = astrid_json_get_str(tc.args, "body");
    if (!method)
        method = "GET";
    if (!url || (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0))
        return tool_finish(&tc, "http_request",
                           "http_request needs {\"url\", \"method\": \"GET\"|\"POST\", "
                           "\"headers\"?: {}, \"body\"?: \"...\"}",
                           true, out);
    astrid_header h[HDR_MAX];
    size_t nh = 0;
    const astrid_json *hs = astrid_json_get(tc.args, "headers");
    for (size_t i = 0; i < astrid_json_len(hs) && nh < HDR_MAX; i++) {
        const char *v = astrid_json_str(astrid_json_at(hs, i));
        if (astrid_json_is(hs, ASTRID_JSON_OBJECT) && v)
            h[nh++] = (astrid_header){astrid_json_key_at(hs, i), v};
    }
    astrid_http_request req = {.url = url,
                               .method = method,
                               .headers = h,
                               .nheaders = nh,
                               .body = strcmp(method, "POST") == 0 ? (body ? body : "") : NULL};
    astrid_http_response resp;
    char *err = NULL;
    astrid_action a;
    if (astrid_http(&req, &resp, &err) != 0) {
        a = tool_finish(&tc, "http_request", err, true, out);
        free(err);
        return a;
    }
    size_t shown = resp.body_len > BODY_MAX ? BODY_MAX : resp.body_len;
    char *text = astrid_utf8_lossy((const char *)resp.body, shown);
    size_t n = strlen(text) + 96;
    char *m = malloc(n);
    if (!m)
        __builtin_trap();
    snprintf(m, n, "HTTP %u (%zu bytes)%s\n%s", resp.status, resp.body_len,
             shown < resp.body_len ? ", cut" : "", text);
    a = tool_finish(&tc, "http_request", m, false, out);
    free(m);
    free(text);
    astrid_http_response_free(&resp);
    return a;
}

static astrid_action on_describe(const astrid_event *ev, astrid_reply *out)
{
    (void)ev;
    astrid_reply_set(
        out, "{\"tools\":[{\"name\":\"http_request\",\"description\":\"Fetch a URL with GET or "
             "POST (only hosts the agent may reach). Answers the status and the body (first "
             "64 KiB).\",\"input_schema\":{\"type\":\"object\",\"properties\":{\"url\":{"
             "\"type\":\"string\"},\"method\":{\"type\":\"string\",\"enum\":[\"GET\",\"POST\"]},"
             "\"headers\":{\"type\":\"object\"},\"body\":{\"type\":\"string\"}},\"required\":["
             "\"url\"]}}]}");
    return ASTRID_FINAL;
}

ASTRID_INTERCEPTOR("describe", on_describe)
ASTRID_INTERCEPTOR("http_request", on_request)
