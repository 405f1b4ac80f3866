/* context-engine: context_engine.v1.compact {messages, session_id,
 * max_tokens?} -> {messages, compacted, removed, estimated_tokens,
 * session_id}.
 *
 * Estimate: a message costs (bytes of its compact JSON) / 4 tokens, rounded
 * up — about right for English under BPE tokenizers and never zero, with no
 * tokenizer in the guest. Budget: max_tokens of the request, else env
 * max_context_tokens (default 100000).
 *
 * Over budget, the oldest messages go: we keep the longest suffix that fits
 * in 3/4 of the budget (room for the answer), starting at a user message so
 * a tool result never loses the assistant call it answers, and put one
 * user message in front saying how many were left out. The newest user
 * message is always kept, even alone over budget. Hooks
 * context_engine.v1.hook.before_compaction / after_compaction are fired
 * (answers ignored). */
#include <astrid.h>
#include <astrid_json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t cost(const astrid_json *m)
{
    char *t = astrid_json_dump(m);
    int64_t n = t ? (int64_t)strlen(t) : 0;
    free(t);
    return (n + 3) / 4;
}

static void fire(const char *topic, const char *payload)
{
    char *answers = NULL, *err = NULL;
    if (astrid_trigger_hook(topic, payload, &answers, &err) != 0)
        free(err);
    free(answers);
}

static astrid_action on_compact(const astrid_event *ev, astrid_reply *out)
{
    astrid_json *req = astrid_json_parse((const char *)ev->payload, ev->len, NULL);
    astrid_json *msgs = astrid_json_get(req, "messages");
    if (!astrid_json_is(msgs, ASTRID_JSON_ARRAY)) {
        astrid_json_free(req);
        astrid_reply_set(out, "context_engine.v1.compact: messages must be an array");
        return ASTRID_DENY;
    }
    int64_t budget = astrid_json_get_int(req, "max_tokens", 0);
    if (budget <= 0) {
        char *v = NULL, *err = NULL;
        if (astrid_get_config("max_context_tokens", &v, &err) == 0)
            budget = strtoll(v, NULL, 10);
        free(v);
        free(err);
    }
    if (budget <= 0)
        budget = 100000;
    size_t n = astrid_json_len(msgs);
    int64_t *c = calloc(n ? n : 1, sizeof *c), total = 0;
    for (size_t i = 0; i < n; i++)
        total += c[i] = cost(astrid_json_at(msgs, i));
    astrid_json *res = astrid_json_object();
    const char *sid = astrid_json_get_str(req, "session_id");
    astrid_json_set_str(res, "session_id", sid ? sid : "default");
    size_t keep_from = 0;
    if (total > budget && n > 1) {
        fire("context_engine.v1.hook.before_compaction", (const char *)ev->payload);
        int64_t room = budget * 3 / 4, used = 0;
        size_t last_user = n; /* the newest user message */
        for (size_t i = n; i-- > 0;)
            if (!strcmp(astrid_json_str_or(astrid_json_get(astrid_json_at(msgs, i), "role"), ""),
                        "user") &&
                astrid_json_is(astrid_json_get(astrid_json_at(msgs, i), "content"),
                               ASTRID_JSON_STRING)) {
                last_user = i;
                break;
            }
        keep_from = last_user < n ? last_user : n - 1;
        for (size_t i = n; i-- > 0;) {
            used += c[i];
            if (used > room)
                break;
            const astrid_json *m = astrid_json_at(msgs, i);
            if (!strcmp(astrid_json_str_or(astrid_json_get(m, "role"), ""), "user") &&
                astrid_json_is(astrid_json_get(m, "content"), ASTRID_JSON_STRING) && i < keep_from)
                keep_from = i;
        }
    }
    astrid_json *kept = astrid_json_array();
    int64_t est = 0;
    if (keep_from > 0) {
        char note[160];
        snprintf(note, sizeof note,
                 "[Earlier conversation compacted: %zu older messages were left out to fit the "
                 "context budget.]",
                 keep_from);
        astrid_json *m = astrid_json_object();
        astrid_json_set_str(m, "role", "user");
        astrid_json_set_str(m, "content", note);
        est += cost(m);
        astrid_json_append(kept, m);
    }
    for (size_t i = keep_from; i < n; i++) {
        est += c[i];
        astrid_json_append(kept, astrid_json_copy(astrid_json_at(msgs, i)));
    }
    free(c);
    astrid_json_set(res, "messages", kept);
    astrid_json_set_bool(res, "compacted", keep_from > 0);
    astrid_json_set_int(res, "removed", (int64_t)keep_from);
    astrid_json_set_int(res, "estimated_tokens", est);
    char *text = astrid_json_dump(res);
    astrid_json_free(res);
    if (keep_from > 0)
        fire("context_engine.v1.hook.after_compaction", text);
    char *err = NULL;
    if (astrid_json_get_str(req, "correlation_id") &&
        astrid_publish("context_engine.v1.response.compact", text, &err) != 0)
        free(err);
    astrid_json_free(req);
    astrid_reply_set(out, text);
    free(text);
    return ASTRID_FINAL;
}
ASTRID_INTERCEPTOR("compact", on_compact)
