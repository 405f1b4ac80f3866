/* The one request helper of the CLI (contract in client.h). A file of its
 * own: tests replace the socket functions of client.c and keep this. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "astrid/errkind.h"
#include "astrid/uuid.h"
#include "client/client.h"

/* The error of a failed reply: its kind, never its wording, decides. */
static int reply_error(const astrid_call *call, json_t *reply, astrid_err *err)
{
    json_t *d = json_object_get(reply, "data");
    const char *msg = json_string_value(d);
    astrid_errkind kind;
    const char *name = json_string_value(json_object_get(json_object_get(reply, "error"), "kind"));
    astrid_errcode code =
        astrid_errkind_parse(name, &kind) == 0 ? astrid_errkind_code(kind) : ASTRID_E_INTERNAL;
    if (call->api == ASTRID_API_MANAGEMENT && !call->message_only)
        return astrid_err_set(err, code, "%s: %s", call->method, msg ? msg : "error");
    return astrid_err_set(err, code, "%s", msg ? msg : "error");
}

/* Publish `req` with a fresh request_id and read frames until the reply
 * with that id, passing its progress frames on. The timeout is per frame:
 * a long job stays alive while it reports. */
static int request_with_progress(astrid_client *c, const astrid_call *call, const char *topic,
                                 const char *reply_topic, json_t *req, int timeout, json_t **reply,
                                 astrid_err *err)
{
    char progress_topic[400], rid[ASTRID_UUID_STR_LEN];
    snprintf(progress_topic, sizeof progress_topic, "%s.progress", reply_topic);
    astrid_uuid_v4(rid);
    json_object_set_new(req, "request_id", json_string(rid));
    int rc = astrid_client_publish(c, topic, req, err);
    while (rc == 0) {
        json_t *m = NULL;
        if ((rc = astrid_client_recv(c, timeout, &m, err)) != 0)
            break;
        const char *t = json_string_value(json_object_get(m, "topic"));
        json_t *pl = json_object_get(m, "payload");
        const char *id = json_string_value(json_object_get(pl, "request_id"));
        if (t && id && strcmp(id, rid) == 0) {
            if (strcmp(t, progress_topic) == 0) {
                call->on_progress(pl, call->progress_user);
            } else if (strcmp(t, reply_topic) == 0) {
                *reply = json_incref(pl);
                json_decref(m);
                return 0;
            }
        }
        json_decref(m); /* a broadcast or another request's */
    }
    return -1;
}

int astrid_client_call(astrid_client *c, const astrid_call *call, json_t **data, astrid_err *err)
{
    bool admin = call->api == ASTRID_API_ADMIN;
    char topic[320], reply_topic[352];
    snprintf(topic, sizeof topic, "%s%s", admin ? "astrid.v1.admin." : "astrid.v1.request.",
             call->suffix);
    snprintf(reply_topic, sizeof reply_topic, "%s%s",
             admin ? "astrid.v1.admin.response." : "astrid.v1.response.", call->suffix);
    json_t *req = json_pack("{s:s,s:s}", "type", "raw_json", "method", call->method);
    if (!req)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    /* Upstream's admin requests always carry params (serde content); its
     * management requests only when the method has some. */
    if (call->params)
        json_object_set_new(req, "params", json_deep_copy(call->params));
    else if (admin)
        json_object_set_new(req, "params", json_object());
    json_t *reply = NULL;
    int timeout = call->timeout_ms > 0 ? call->timeout_ms : ASTRID_CALL_TIMEOUT_MS;
    int rc = call->on_progress
                 ? request_with_progress(c, call, topic, reply_topic, req, timeout, &reply, err)
                 : astrid_client_request(c, topic, req, reply_topic, timeout, &reply, err);
    json_decref(req);
    if (rc < 0)
        return -1;
    const char *status = json_string_value(json_object_get(reply, "status"));
    json_t *d = json_object_get(reply, "data");
    if (status && strcasecmp(status, "error") == 0) {
        rc = reply_error(call, reply, err);
    } else if (!status || (call->want_status && strcasecmp(status, call->want_status) != 0 &&
                           strcasecmp(status, "success") != 0)) {
        rc = astrid_err_set(err, ASTRID_E_PARSE, "%s: unexpected reply (status %s)", call->method,
                            status ? status : "missing");
    } else {
        *data = json_incref(d ? d : json_null());
    }
    json_decref(reply);
    return rc;
}
