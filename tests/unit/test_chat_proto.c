/* The chat client's daemon-free half (src/cli/chat_proto.c): session ids,
 * prompts, reading frames (whose they are, malformed ones), the turn record
 * behind --format json, approval answers (hostile request ids). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "cli/chat.h"

#define SID "3f2b8c1e-0d4a-4c55-9e61-7a0b2c3d4e5f"

static json_t *frame(const char *topic, const char *principal, const char *payload)
{
    json_t *m = json_pack("{s:s,s:o}", "topic", topic, "payload", json_loads(payload, 0, NULL));
    if (principal)
        json_object_set_new(m, "principal", json_string(principal));
    return m;
}

static chat_ev_kind kind_of(const char *topic, const char *principal, const char *payload)
{
    chat_ev ev;
    json_t *m = frame(topic, principal, payload);
    chat_classify(m, "alice", SID, &ev);
    json_decref(m);
    return ev.kind;
}

static void test_session_resolve(void **state)
{
    (void)state;
    char a[CHAT_SESSION_LEN], b[CHAT_SESSION_LEN];
    chat_session_resolve("my-work", a);
    /* python3 -c 'import uuid; print(uuid.uuid5(uuid.NAMESPACE_URL, "my-work"))' */
    assert_string_equal(a, "adb6dac8-ab1d-53ad-b2dd-ed4b1923bc73");
    chat_session_resolve("ADB6DAC8-AB1D-53AD-B2DD-ED4B1923BC73", b);
    assert_string_equal(b, a); /* a UUID is taken verbatim (lowercased), not hashed */
    chat_session_resolve(NULL, a);
    chat_session_resolve("", b);
    assert_true(astrid_uuid_parse(a, NULL) && astrid_uuid_parse(b, NULL));
    assert_string_not_equal(a, b);
    assert_int_equal(a[14], '4');
}

static void test_prompt_compose(void **state)
{
    (void)state;
    char *p = NULL;
    astrid_err err;
    assert_int_equal(chat_prompt_compose("piped\n\n", "ask", &p, &err), 0);
    assert_string_equal(p, "piped\n\nask");
    free(p);
    assert_int_equal(chat_prompt_compose("only stdin\n", NULL, &p, &err), 0);
    assert_string_equal(p, "only stdin");
    free(p);
    assert_int_equal(chat_prompt_compose("", "just -p", &p, &err), 0);
    assert_string_equal(p, "just -p");
    free(p);
    assert_int_equal(chat_prompt_compose(" \n", "  ", &p, &err), -1);
    assert_null(p);
    assert_int_equal(chat_prompt_compose(NULL, NULL, &p, &err), -1);
}

static void test_classify_owner(void **state)
{
    (void)state;
    const char *delta = "{\"type\":\"agent_response\",\"text\":\"hi\",\"is_final\":false,"
                        "\"session_id\":\"" SID "\"}";
    assert_int_equal(kind_of("agent.v1.response", "alice", delta), CHAT_EV_DELTA);
    assert_int_equal(kind_of("agent.v1.response", NULL, delta), CHAT_EV_DELTA);
    /* Another agent's words never reach this client's screen. */
    assert_int_equal(kind_of("agent.v1.response", "mallory", delta), CHAT_EV_IGNORE);
    assert_int_equal(kind_of("agent.v1.response", "alice",
                             "{\"text\":\"hi\",\"is_final\":true,\"session_id\":\"other\"}"),
                     CHAT_EV_IGNORE);
    assert_int_equal(kind_of("agent.v1.response", "alice", "{\"text\":\"hi\",\"is_final\":true}"),
                     CHAT_EV_IGNORE);
    assert_int_equal(kind_of("astrid.v1.approval", "mallory",
                             "{\"type\":\"approval_required\",\"request_id\":\"r1\"}"),
                     CHAT_EV_IGNORE);
}

static void test_classify_kinds(void **state)
{
    (void)state;
    assert_int_equal(kind_of("agent.v1.response", "alice",
                             "{\"text\":\"all\",\"is_final\":true,\"session_id\":\"" SID "\"}"),
                     CHAT_EV_FINAL);
    assert_int_equal(kind_of("agent.v1.response", "alice",
                             "{\"text\":\"LLM error: 500\",\"is_final\":true,\"session_id\":\"" SID
                             "\"}"),
                     CHAT_EV_ERROR);
    assert_int_equal(kind_of("agent.v1.response", "alice",
                             "{\"text\":\"boom\",\"is_final\":true,\"error\":true,"
                             "\"session_id\":\"" SID "\"}"),
                     CHAT_EV_ERROR);
    /* Malformed members: ignored, never a crash. */
    assert_int_equal(kind_of("agent.v1.response", "alice",
                             "{\"text\":5,\"is_final\":true,\"session_id\":\"" SID "\"}"),
                     CHAT_EV_IGNORE);
    assert_int_equal(kind_of("agent.v1.response", "alice",
                             "{\"text\":\"x\",\"is_final\":\"yes\",\"session_id\":\"" SID "\"}"),
                     CHAT_EV_IGNORE);
    assert_int_equal(kind_of("agent.v1.usage", "alice",
                             "{\"input_tokens\":-1,\"output_tokens\":2,\"session_id\":\"" SID
                             "\"}"),
                     CHAT_EV_IGNORE);
    assert_int_equal(kind_of("agent.v1.tool_call", "alice",
                             "{\"call_id\":\"c\",\"tool_name\":\"t\",\"phase\":\"weird\","
                             "\"session_id\":\"" SID "\"}"),
                     CHAT_EV_IGNORE);
    assert_int_equal(kind_of("astrid.v1.approval", "alice",
                             "{\"type\":\"approval_required\",\"request_id\":\"r1\","
                             "\"action\":\"write\",\"resource\":\"/x\"}"),
                     CHAT_EV_APPROVAL);
    assert_int_equal(
        kind_of("astrid.v1.connection.response.publish", NULL,
                "{\"status\":\"error\",\"topic\":\"user.v1.prompt\",\"data\":\"trap\"}"),
        CHAT_EV_PUBLISH_FAILED);
    assert_int_equal(kind_of("astrid.v1.connection.response.publish", NULL,
                             "{\"status\":\"error\",\"topic\":\"other.topic\",\"data\":\"x\"}"),
                     CHAT_EV_IGNORE);
    json_t *m = json_pack("{s:s,s:s}", "topic", "agent.v1.response", "payload", "text");
    chat_ev ev;
    chat_classify(m, "alice", SID, &ev);
    assert_int_equal(ev.kind, CHAT_EV_IGNORE);
    json_decref(m);
}

static void feed(chat_turn *t, const char *topic, const char *payload)
{
    chat_ev ev;
    json_t *m = frame(topic, "alice", payload);
    chat_classify(m, "alice", SID, &ev);
    assert_int_equal(chat_turn_feed(t, &ev), 0);
    json_decref(m);
}

static void test_turn_json(void **state)
{
    (void)state;
    chat_turn t;
    chat_turn_init(&t);
    feed(&t, "agent.v1.response",
         "{\"text\":\"Hel\",\"is_final\":false,\"session_id\":\"" SID "\"}");
    feed(&t, "agent.v1.tool_call",
         "{\"call_id\":\"c1\",\"tool_name\":\"read_file\",\"arguments\":{\"path\":\"a\"},"
         "\"phase\":\"started\",\"session_id\":\"" SID "\"}");
    feed(&t, "agent.v1.tool_call",
         "{\"call_id\":\"c1\",\"tool_name\":\"read_file\",\"arguments\":{\"path\":\"a\"},"
         "\"phase\":\"finished\",\"content\":\"body\",\"is_error\":true,\"session_id\":\"" SID
         "\"}");
    feed(&t, "agent.v1.usage",
         "{\"model\":\"m\",\"provider\":\"p\",\"input_tokens\":3,\"output_tokens\":4,"
         "\"session_id\":\"" SID "\"}");
    feed(&t, "agent.v1.usage",
         "{\"input_tokens\":10,\"output_tokens\":1,\"session_id\":\"" SID "\"}");
    assert_true(t.streamed);
    assert_false(t.done);
    assert_string_equal(t.text, "Hel");
    feed(&t, "agent.v1.response",
         "{\"text\":\"Hello\",\"is_final\":true,\"session_id\":\"" SID "\"}");
    assert_true(t.done);
    assert_false(t.failed);
    json_t *o = chat_turn_json(&t, SID);
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(s, "{\"response\":\"Hello\",\"session_id\":\"" SID "\",\"tool_calls\":"
                           "[{\"arguments\":{\"path\":\"a\"},\"call_id\":\"c1\",\"content\":"
                           "\"body\",\"is_error\":true,\"tool_name\":\"read_file\"}],\"usage\":"
                           "{\"input_tokens\":13,\"model\":\"m\",\"output_tokens\":5,"
                           "\"provider\":\"p\"}}");
    free(s);
    json_decref(o);
    chat_turn_free(&t);
}

static void test_approval_answer(void **state)
{
    (void)state;
    char topic[160];
    json_t *p = NULL;
    astrid_err err;
    assert_int_equal(
        chat_approval_answer("0f1e-22_x", "approve_session", topic, sizeof topic, &p, &err), 0);
    assert_string_equal(topic, "astrid.v1.approval.response.0f1e-22_x");
    assert_string_equal(json_string_value(json_object_get(p, "decision")), "approve_session");
    assert_string_equal(json_string_value(json_object_get(p, "type")), "approval_response");
    json_decref(p);
    /* An id that would steer our publish to another topic is not answered. */
    const char *hostile[] = {"a.b",
                             "*",
                             "x.*",
                             "",
                             "a b",
                             "r/../x",
                             "0123456789012345678901234567890123456789012345678901234567890123456"};
    for (size_t i = 0; i < sizeof hostile / sizeof *hostile; i++) {
        assert_int_equal(chat_approval_answer(hostile[i], "approve", topic, sizeof topic, &p, &err),
                         -1);
        assert_null(p);
    }
    assert_int_equal(chat_approval_answer(NULL, "approve", topic, sizeof topic, &p, &err), -1);
    assert_int_equal(chat_approval_answer("r1", "allow", topic, sizeof topic, &p, &err), -1);
}

static void test_message_text(void **state)
{
    (void)state;
    const char *role;
    struct {
        const char *msg, *want, *role;
    } cases[] = {
        {"{\"role\":\"user\",\"content\":\"hi\"}", "hi", "user"},
        {"{\"role\":\"assistant\",\"content\":[{\"id\":\"c\",\"name\":\"read_file\","
         "\"arguments\":{\"path\":\"a\"}}]}",
         "[tool call read_file {\"path\":\"a\"}]", "assistant"},
        {"{\"role\":\"tool\",\"content\":{\"call_id\":\"c\",\"content\":\"x\",\"is_error\":true}}",
         "[tool error] x", "tool"},
        {"{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"image\","
         "\"data\":\"\",\"media_type\":\"image/png\"}]}",
         "a[image]", "user"},
        {"{\"content\":7}", "", "?"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *m = json_loads(cases[i].msg, 0, NULL);
        char *s = chat_message_text(m, &role);
        assert_string_equal(s, cases[i].want);
        assert_string_equal(role, cases[i].role);
        free(s);
        json_decref(m);
    }
}

static void test_prompt_payloads(void **state)
{
    (void)state;
    json_t *p = chat_cancel_payload(SID);
    assert_string_equal(json_string_value(json_object_get(p, "text")), "");
    assert_string_equal(json_string_value(json_object_get(json_object_get(p, "context"), "action")),
                        "cancel_turn");
    assert_string_equal(json_string_value(json_object_get(p, "type")), "user_input");
    json_decref(p);
    p = chat_prompt_payload("hello", SID);
    assert_string_equal(json_string_value(json_object_get(p, "session_id")), SID);
    assert_null(json_object_get(p, "context"));
    json_decref(p);
}

static char *written(const char *s, bool tty)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    chat_write_text(f, s, tty);
    fclose(f);
    return buf;
}

static void test_write_text(void **state)
{
    (void)state;
    /* ESC [ 2 J (clear screen), an OSC title, a C1 CSI, BEL, DEL. */
    const char *hostile = "a\x1b[2Jb\x1b]0;owned\x07" "c\xc2\x9b"
                          "31md\x7f\xc3\xa9\n\tz";
    char *w = written(hostile, true);
    assert_string_equal(w, "a?[2Jb?]0;owned?c?31md?\xc3\xa9\n\tz");
    free(w);
    w = written(hostile, false); /* a pipe gets the agent's bytes */
    assert_string_equal(w, hostile);
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_resolve),
        cmocka_unit_test(test_prompt_compose),  cmocka_unit_test(test_classify_owner),
        cmocka_unit_test(test_classify_kinds),  cmocka_unit_test(test_turn_json),
        cmocka_unit_test(test_approval_answer), cmocka_unit_test(test_message_text),
        cmocka_unit_test(test_prompt_payloads), cmocka_unit_test(test_write_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
