/* http-fetch: {"url": "..."} on demo.v1.fetch is fetched (only hosts the
 * manifest's `net` list names) and {"status": S, "bytes": N} published on
 * demo.v1.fetch.reply, or {"error": "..."} when the host refuses. */
#include <astrid.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The "url" string of a flat JSON object (no escapes in URLs we accept). */
static int url_of(const char *json, char *out, size_t n)
{
    const char *k = strstr(json, "\"url\"");
    const char *q = k ? strchr(k + 5, '"') : NULL;
    const char *e = q ? strchr(q + 1, '"') : NULL;
    if (!e || (size_t)(e - q - 1) >= n)
        return -1;
    memcpy(out, q + 1, (size_t)(e - q - 1));
    out[e - q - 1] = '\0';
    return 0;
}

static astrid_action on_fetch(const astrid_event *ev, astrid_reply *out)
{
    char url[1024], reply[1400];
    if (url_of((const char *)ev->payload, url, sizeof url) != 0) {
        astrid_reply_set(out, "payload needs {\"url\": \"...\"}");
        return ASTRID_DENY;
    }
    astrid_http_request req = {.url = url};
    astrid_http_response resp;
    char *err = NULL;
    if (astrid_http(&req, &resp, &err) != 0) {
        snprintf(reply, sizeof reply, "{\"error\":\"%.1000s\"}", err);
        for (char *p = reply + 10; *p; p++)
            if (*p == '\\' || (*p == '"' && p[1] != '}'))
                *p = '\'';
        free(err);
    } else {
        snprintf(reply, sizeof reply, "{\"status\":%u,\"bytes\":%zu}", resp.status, resp.body_len);
        astrid_http_response_free(&resp);
    }
    if (astrid_publish("demo.v1.fetch.reply", reply, &err) != 0) {
        astrid_reply_set(out, err);
        free(err);
        return ASTRID_DENY;
    }
    astrid_reply_set(out, reply);
    return ASTRID_CONTINUE;
}
ASTRID_INTERCEPTOR("fetch", on_fetch)
