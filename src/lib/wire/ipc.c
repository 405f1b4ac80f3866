/* IpcMessage construction/validation and topic rules. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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
    json_object_set_new(m, "source_id",
                        json_string(source_id ? source_id
                                              : "00000000-0000-0000-0000-000000000000"));
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
    return astrid_topic_validate(json_string_value(t), 0, err);
}

int astrid_topic_validate(const char *topic, int allow_wildcard, astrid_err *err)
{
    size_t n = strlen(topic);
    if (n == 0)
        return astrid_err_set(err, ASTRID_E_INVALID, "topic must not be empty");
    if (n > 256)
        return astrid_err_set(err, ASTRID_E_LIMIT, "topic exceeds 256 bytes");
    int segs = 1;
    size_t seg_len = 0;
    for (size_t i = 0; i <= n; i++) {
        char c = topic[i];
        if (c == '.' || c == '\0') {
            if (seg_len == 0)
                return astrid_err_set(err, ASTRID_E_INVALID, "topic '%s' has an empty segment",
                                      topic);
            if (c == '.')
                segs++;
            seg_len = 0;
            continue;
        }
        seg_len++;
        if (c == '*') {
            bool alone = seg_len == 1 && (topic[i + 1] == '.' || topic[i + 1] == '\0');
            if (!allow_wildcard || !alone)
                return astrid_err_set(err, ASTRID_E_INVALID,
                                      "topic '%s': '*' is not allowed here", topic);
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return astrid_err_set(err, ASTRID_E_INVALID, "topic '%s' contains invalid character '%c'",
                                  topic, c);
    }
    if (segs > 8)
        return astrid_err_set(err, ASTRID_E_LIMIT, "topic '%s' has more than 8 segments", topic);
    return 0;
}

int astrid_topic_sub_matches(const char *pattern, const char *topic)
{
    const char *p = pattern;
    const char *t = topic;
    for (;;) {
        const char *pe = strchr(p, '.');
        size_t pl = pe ? (size_t)(pe - p) : strlen(p);
        bool last = pe == NULL;
        if (last && pl == 1 && p[0] == '*' && p != pattern)
            return *t != '\0'; /* trailing ".*": one or more further segments */
        if (*t == '\0')
            return 0;
        const char *te = strchr(t, '.');
        size_t tl = te ? (size_t)(te - t) : strlen(t);
        if (!(pl == 1 && p[0] == '*') && (pl != tl || memcmp(p, t, pl) != 0))
            return 0;
        if (last)
            return te == NULL;
        if (!te)
            return 0;
        p = pe + 1;
        t = te + 1;
    }
}
