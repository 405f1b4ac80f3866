/* IpcMessage construction/validation and topic rules. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "astrid/topic.h"
#include "astrid/wire.h"

json_t *astrid_ipc_new(const char *topic, json_t *payload, const char *source_id,
                       const char *principal, uint64_t seq)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[40];
    size_t n = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(stamp + n, sizeof stamp - n, ".%06ldZ", ts.tv_nsec / 1000);
    json_t *m = json_object();
    json_object_set_new(m, "topic", json_string(topic));
    json_object_set(m, "payload", payload ? payload : json_object());
    if (!payload)
        json_decref(json_object_get(m, "payload"));
    json_object_set_new(
        m, "source_id",
        json_string(source_id ? source_id : "00000000-0000-0000-0000-000000000000"));
    if (principal)
        json_object_set_new(m, "principal", json_string(principal));
    json_object_set_new(m, "timestamp", json_string(stamp));
    json_object_set_new(m, "seq", json_integer((json_int_t)seq));
    json_object_set_new(m, "signature", json_null());
    return m;
}

int astrid_ipc_validate(const json_t *msg, astrid_err *err)
{
    if (!json_is_object(msg))
        return astrid_err_set(err, ASTRID_E_PARSE, "message must be a JSON object");
    json_t *t = json_object_get(msg, "topic");
    if (!json_is_string(t))
        return astrid_err_set(err, ASTRID_E_PARSE, "message.topic must be a string");
    if (!json_object_get(msg, "payload"))
        return astrid_err_set(err, ASTRID_E_PARSE, "message.payload is missing");
    json_t *v;
    if ((v = json_object_get(msg, "source_id")) && !json_is_string(v) && !json_is_null(v))
        return astrid_err_set(err, ASTRID_E_PARSE, "message.source_id must be a string");
    if ((v = json_object_get(msg, "principal")) && !json_is_string(v) && !json_is_null(v))
        return astrid_err_set(err, ASTRID_E_PARSE, "message.principal must be a string");
    if ((v = json_object_get(msg, "seq")) && !json_is_integer(v))
        return astrid_err_set(err, ASTRID_E_PARSE, "message.seq must be an integer");
    if ((v = json_object_get(msg, "timestamp")) && !json_is_string(v) && !json_is_null(v))
        return astrid_err_set(err, ASTRID_E_PARSE, "message.timestamp must be a string");
    return astrid_topic_check(json_string_value(t), ASTRID_TOPIC_PUBLISH, err);
}
