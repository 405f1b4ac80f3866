/* The provider capsules' pure parts, natively: the SSE parser
 * (capsules/common/sse.c) against bytes cut at every position and every
 * line ending, and llm_map.c's translation of OpenAI / Anthropic streams to
 * StreamEvents and of llm_requests to request bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../sdk/c/astrid_json.c"       // NOLINT(bugprone-suspicious-include)
#include "../../capsules/common/llm_map.c" // NOLINT(bugprone-suspicious-include)
#include "../../capsules/common/sse.c"     // NOLINT(bugprone-suspicious-include)

/* ---- SSE ---- */
typedef struct seen {
    char log[8192];
    int n;
} seen;

static int collect(void *ctx, const char *event, const char *data, size_t len)
{
    seen *s = ctx;
    size_t l = strlen(s->log);
    snprintf(s->log + l, sizeof s->log - l, "[%s|%.*s]", event, (int)len, data);
    s->n++;
    return 0;
}

static const char *STREAM = ": keep-alive\r\n"
                            "event: message_start\r\ndata: {\"a\":1}\r\n\r\n"
                            "data: line one\ndata:line two\n\n"
                            "data\r\rid: 7\nretry: 10\ndata: \xc3\xa9t\xc3\xa9\n\n"
                            "data: [DONE]\n\n";
/* "data" alone is a data line with an empty value: an event with data "". */
static const char *EXPECT = "[message_start|{\"a\":1}][|line one\nline two][|][|été][|[DONE]]";

static void sse_whole(void **state)
{
    (void)state;
    seen s = {0};
    sse_parser p;
    sse_init(&p, collect, &s);
    assert_int_equal(sse_feed(&p, STREAM, strlen(STREAM)), 0);
    assert_int_equal(sse_finish(&p, false), 0);
    sse_free(&p);
    assert_string_equal(s.log, EXPECT);
}

/* Reads cut anywhere (inside a CRLF, a field name, a UTF-8 character)
 * give the same events. */
static void sse_split_everywhere(void **state)
{
    (void)state;
    size_t n = strlen(STREAM);
    for (size_t cut = 0; cut <= n; cut++) {
        seen s = {0};
        sse_parser p;
        sse_init(&p, collect, &s);
        assert_int_equal(sse_feed(&p, STREAM, cut), 0);
        assert_int_equal(sse_feed(&p, STREAM + cut, n - cut), 0);
        sse_free(&p);
        assert_string_equal(s.log, EXPECT);
    }
    seen s = {0};
    sse_parser p;
    sse_init(&p, collect, &s);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(sse_feed(&p, STREAM + i, 1), 0);
    sse_free(&p);
    assert_string_equal(s.log, EXPECT);
}

/* A CR ending one read and the LF starting the next are one line end, not
 * an empty line that would dispatch half an event. */
static void sse_crlf_across_reads(void **state)
{
    (void)state;
    seen s = {0};
    sse_parser p;
    sse_init(&p, collect, &s);
    assert_int_equal(sse_feed(&p, "data: a\r", 8), 0);
    assert_int_equal(sse_feed(&p, "\ndata: b\r\n\r\n", 12), 0);
    sse_free(&p);
    assert_string_equal(s.log, "[|a\nb]");
}

static void sse_pending_and_bounds(void **state)
{
    (void)state;
    seen s = {0};
    sse_parser p;
    sse_init(&p, collect, &s);
    assert_int_equal(sse_feed(&p, "data: cut", 9), 0);
    assert_int_equal(sse_finish(&p, false), 0);
    assert_int_equal(s.n, 0); /* the spec drops an unterminated event */
    sse_free(&p);
    sse_init(&p, collect, &s);
    assert_int_equal(sse_feed(&p, "data: cut", 9), 0);
    assert_int_equal(sse_finish(&p, true), 0);
    assert_string_equal(s.log, "[|cut]");
    sse_free(&p);
    /* a server that never ends a line is refused, not buffered forever */
    size_t big = SSE_MAX_EVENT + 16;
    char *junk = malloc(big);
    assert_non_null(junk);
    memset(junk, 'x', big);
    sse_init(&p, collect, &s);
    assert_int_equal(sse_feed(&p, junk, big), -1);
    sse_free(&p);
    free(junk);
}

/* ---- StreamEvents ---- */
typedef struct evlog {
    char *items[64];
    int n;
} evlog;

static int keep(void *ctx, astrid_json *ev)
{
    evlog *l = ctx;
    assert_true(l->n < 64);
    l->items[l->n++] = astrid_json_dump(ev);
    astrid_json_free(ev);
    return 0;
}

static void evlog_free(evlog *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->items[i]);
    l->n = 0;
}

static int oai(llm_stream *s, const char *d)
{
    return oai_on_data(s, d, strlen(d));
}

static void openai_stream(void **state)
{
    (void)state;
    evlog l = {0};
    llm_stream s;
    llm_stream_init(&s, keep, &l);
    assert_int_equal(
        oai(&s,
            "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}"),
        0);
    assert_int_equal(oai(&s, "{\"choices\":[{\"delta\":{\"content\":\"Hi \\\"x\\\"\"}}]}"), 0);
    assert_int_equal(oai(&s, "{\"choices\":[{\"delta\":{\"reasoning_content\":\"hmm\"}}]}"), 0);
    assert_int_equal(
        oai(&s, "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c1\",\"type\":"
                "\"function\",\"function\":{\"name\":\"read_file\",\"arguments\":\"\"}}]}}]}"),
        0);
    assert_int_equal(oai(&s, "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{"
                             "\"arguments\":\"{\\\"p\"}}]}}]}"),
                     0);
    assert_int_equal(oai(&s, "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"c2\","
                             "\"function\":{\"name\":\"ls\",\"arguments\":\"{}\"}}]}}]}"),
                     0);
    assert_int_equal(oai(&s, "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{"
                             "\"arguments\":\"\\\":1}\"}}]}}]}"),
                     0);
    assert_int_equal(oai(&s, "{\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}"), 0);
    assert_int_equal(
        oai(&s, "{\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":4}}"), 0);
    assert_int_equal(oai(&s, "[DONE]"), 1);
    assert_int_equal(oai(&s, "{\"choices\":[{\"delta\":{\"content\":\"late\"}}]}"), 1); /* over */
    const char *want[] = {
        "{\"TextDelta\":\"Hi \\\"x\\\"\"}",
        "{\"ReasoningDelta\":\"hmm\"}",
        "{\"ToolCallStart\":{\"id\":\"c1\",\"name\":\"read_file\"}}",
        "{\"ToolCallDelta\":{\"id\":\"c1\",\"args_delta\":\"{\\\"p\"}}",
        "{\"ToolCallStart\":{\"id\":\"c2\",\"name\":\"ls\"}}",
        "{\"ToolCallDelta\":{\"id\":\"c2\",\"args_delta\":\"{}\"}}",
        "{\"ToolCallDelta\":{\"id\":\"c1\",\"args_delta\":\"\\\":1}\"}}",
        "{\"ToolCallEnd\":{\"id\":\"c1\"}}",
        "{\"ToolCallEnd\":{\"id\":\"c2\"}}",
        "{\"Usage\":{\"input_tokens\":12,\"output_tokens\":4}}",
        "\"Done\"",
    };
    assert_int_equal(l.n, (int)(sizeof want / sizeof *want));
    for (int i = 0; i < l.n; i++)
        assert_string_equal(l.items[i], want[i]);
    evlog_free(&l);
}

static void openai_failures(void **state)
{
    (void)state;
    evlog l = {0};
    llm_stream s;
    llm_stream_init(&s, keep, &l);
    assert_int_equal(oai(&s, "{\"error\":{\"message\":\"quota exceeded\"}}"), 1);
    assert_int_equal(llm_on_eof(&s, false), 1); /* already over: nothing more */
    assert_int_equal(l.n, 1);
    assert_string_equal(l.items[0], "{\"Error\":\"quota exceeded\"}");
    evlog_free(&l);
    /* cut before any finish_reason */
    llm_stream_init(&s, keep, &l);
    assert_int_equal(oai(&s, "{\"choices\":[{\"delta\":{\"content\":\"par\"}}]}"), 0);
    assert_int_equal(llm_on_eof(&s, false), 1);
    assert_int_equal(l.n, 2);
    assert_string_equal(
        l.items[1],
        "{\"Error\":\"provider closed the connection before the response was complete\"}");
    evlog_free(&l);
    /* a server that ends after finish_reason without [DONE] */
    llm_stream_init(&s, keep, &l);
    assert_int_equal(
        oai(&s, "{\"choices\":[{\"delta\":{\"content\":\"ok\"},\"finish_reason\":\"stop\"}]}"), 0);
    assert_int_equal(llm_on_eof(&s, false), 1);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.items[1], "\"Done\"");
    evlog_free(&l);
    /* not JSON; a hostile tool-call index */
    llm_stream_init(&s, keep, &l);
    assert_int_equal(oai(&s, "not json"), 1);
    evlog_free(&l);
    llm_stream_init(&s, keep, &l);
    assert_int_equal(
        oai(&s, "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":100000,\"id\":\"x\"}]}}]}"),
        1);
    assert_string_equal(l.items[0], "{\"Error\":\"provider sent a tool call index out of range\"}");
    evlog_free(&l);
}

static int ant(llm_stream *s, const char *d)
{
    return ant_on_event(s, "", d, strlen(d));
}

static void anthropic_stream(void **state)
{
    (void)state;
    evlog l = {0};
    llm_stream s;
    llm_stream_init(&s, keep, &l);
    assert_int_equal(ant(&s, "{\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":"
                             "20,\"output_tokens\":1}}}"),
                     0);
    assert_int_equal(ant(&s, "{\"type\":\"ping\"}"), 0);
    assert_int_equal(ant(&s, "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{"
                             "\"type\":\"text\",\"text\":\"\"}}"),
                     0);
    assert_int_equal(ant(&s, "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
                             "\"text_delta\",\"text\":\"Yo\"}}"),
                     0);
    assert_int_equal(ant(&s, "{\"type\":\"content_block_stop\",\"index\":0}"), 0);
    assert_int_equal(ant(&s, "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{"
                             "\"type\":\"tool_use\",\"id\":\"tu1\",\"name\":\"fs\",\"input\":{}}}"),
                     0);
    assert_int_equal(ant(&s, "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
                             "\"input_json_delta\",\"partial_json\":\"{\\\"a\\\"\"}}"),
                     0);
    assert_int_equal(ant(&s, "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
                             "\"input_json_delta\",\"partial_json\":\":2}\"}}"),
                     0);
    assert_int_equal(ant(&s, "{\"type\":\"content_block_stop\",\"index\":1}"), 0);
    assert_int_equal(ant(&s, "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},"
                             "\"usage\":{\"output_tokens\":9}}"),
                     0);
    assert_int_equal(llm_on_eof(&s, true) == 1 && l.n == 6, 1); /* no message_stop yet: an Error */
    evlog_free(&l);
    llm_stream_init(&s, keep, &l);
    assert_int_equal(ant(&s, "{\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":"
                             "20,\"output_tokens\":1}}}"),
                     0);
    assert_int_equal(ant(&s, "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{"
                             "\"type\":\"tool_use\",\"id\":\"tu1\",\"name\":\"fs\",\"input\":{}}}"),
                     0);
    assert_int_equal(ant(&s, "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
                             "\"input_json_delta\",\"partial_json\":\"{}\"}}"),
                     0);
    assert_int_equal(ant(&s, "{\"type\":\"content_block_stop\",\"index\":0}"), 0);
    assert_int_equal(ant(&s, "{\"type\":\"message_delta\",\"usage\":{\"output_tokens\":9}}"), 0);
    assert_int_equal(ant(&s, "{\"type\":\"message_stop\"}"), 1);
    const char *want[] = {
        "{\"ToolCallStart\":{\"id\":\"tu1\",\"name\":\"fs\"}}",
        "{\"ToolCallDelta\":{\"id\":\"tu1\",\"args_delta\":\"{}\"}}",
        "{\"ToolCallEnd\":{\"id\":\"tu1\"}}",
        "{\"Usage\":{\"input_tokens\":20,\"output_tokens\":9}}",
        "\"Done\"",
    };
    assert_int_equal(l.n, 5);
    for (int i = 0; i < l.n; i++)
        assert_string_equal(l.items[i], want[i]);
    evlog_free(&l);
    llm_stream_init(&s, keep, &l);
    assert_int_equal(ant(&s, "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
                             "\"message\":\"Overloaded\"}}"),
                     1);
    assert_string_equal(l.items[0], "{\"Error\":\"Overloaded\"}");
    evlog_free(&l);
}

/* ---- request bodies ---- */
static const char *HIST =
    "{\"request_id\":\"r\",\"model\":\"\",\"system\":\"sys\",\"messages\":["
    "{\"role\":\"user\",\"content\":\"go\"},"
    "{\"role\":\"assistant\",\"content\":[{\"id\":\"c1\",\"name\":\"a\",\"arguments\":{\"x\":1}},"
    "{\"id\":\"c2\",\"name\":\"b\",\"arguments\":\"{\\\"y\\\":2}\"}]},"
    "{\"role\":\"tool\",\"content\":{\"call_id\":\"c1\",\"content\":\"one\"}},"
    "{\"role\":\"tool\",\"content\":{\"call_id\":\"c2\",\"content\":{\"k\":true},\"is_error\":true}"
    "},"
    "{\"role\":\"assistant\",\"content\":\"\"},"
    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"pic\"},{\"type\":\"image\","
    "\"data\":\"QQ==\",\"media_type\":\"image/png\"}]}],"
    "\"tools\":[{\"name\":\"a\",\"input_schema\":{\"type\":\"object\"}}]}";

static void bodies(void **state)
{
    (void)state;
    astrid_json *req = astrid_json_parse(HIST, strlen(HIST), NULL);
    assert_non_null(req);
    llm_cfg cfg = {.model = "m1", .has_temperature = true, .temperature = 0.25, .max_tokens = 99};
    char *err = NULL, *b = oai_request_body(req, &cfg, &err);
    assert_non_null(b);
    assert_string_equal(
        b, "{\"model\":\"m1\",\"messages\":[{\"role\":\"system\",\"content\":\"sys\"},"
           "{\"role\":\"user\",\"content\":\"go\"},"
           "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
           "{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"a\",\"arguments\":\"{"
           "\\\"x\\\":1}\"}},"
           "{\"id\":\"c2\",\"type\":\"function\",\"function\":{\"name\":\"b\",\"arguments\":\"{"
           "\\\"y\\\":2}\"}}]},"
           "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"one\"},"
           "{\"role\":\"tool\",\"tool_call_id\":\"c2\",\"content\":\"{\\\"k\\\":true}\"},"
           "{\"role\":\"assistant\",\"content\":\"\"},"
           "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"pic\"},"
           "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,QQ==\"}}]}],"
           "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"a\",\"parameters\":{"
           "\"type\":\"object\"}}}],"
           "\"stream\":true,\"stream_options\":{\"include_usage\":true},\"temperature\":0.25,\"max_"
           "tokens\":99}");
    free(b);
    cfg.has_temperature = false;
    cfg.max_tokens = 0;
    b = ant_request_body(req, &cfg, &err);
    assert_non_null(b);
    /* results of both calls in ONE user message; the empty assistant text dropped;
     * string arguments become an object */
    assert_string_equal(
        b, "{\"model\":\"m1\",\"max_tokens\":4096,\"system\":\"sys\",\"messages\":["
           "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"go\"}]},"
           "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"c1\",\"name\":"
           "\"a\",\"input\":{\"x\":1}},"
           "{\"type\":\"tool_use\",\"id\":\"c2\",\"name\":\"b\",\"input\":{\"y\":2}}]},"
           "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"c1\","
           "\"content\":\"one\"},"
           "{\"type\":\"tool_result\",\"tool_use_id\":\"c2\",\"content\":\"{\\\"k\\\":true}\",\"is_"
           "error\":true},"
           "{\"type\":\"text\",\"text\":\"pic\"},"
           "{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/"
           "png\",\"data\":\"QQ==\"}}]}],"
           "\"tools\":[{\"name\":\"a\",\"input_schema\":{\"type\":\"object\"}}],\"stream\":true}");
    free(b);
    astrid_json_free(req);
    /* no model anywhere; content of no known shape */
    const char *bad = "{\"messages\":[{\"role\":\"user\",\"content\":5}]}";
    req = astrid_json_parse(bad, strlen(bad), NULL);
    assert_non_null(req);
    llm_cfg none = {.model = ""};
    err = NULL;
    assert_null(oai_request_body(req, &none, &err));
    assert_non_null(err);
    assert_non_null(strstr(err, "no model"));
    free(err);
    err = NULL;
    assert_null(ant_request_body(req, &cfg, &err));
    assert_non_null(err);
    assert_string_equal(err, "messages[0].content: not a Message content");
    free(err);
    astrid_json_free(req);
}

static void http_errors(void **state)
{
    (void)state;
    const char *j = "{\"error\":{\"message\":\"bad key\",\"type\":\"auth\"}}";
    char *m = llm_http_error(401, j, strlen(j));
    assert_string_equal(m, "HTTP 401: bad key");
    free(m);
    m = llm_http_error(502, "oops\xff\x01 here", 11);
    assert_string_equal(m, "HTTP 502: oops?  here"); /* never invalid UTF-8 on the bus */
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sse_whole),
        cmocka_unit_test(sse_split_everywhere),
        cmocka_unit_test(sse_crlf_across_reads),
        cmocka_unit_test(sse_pending_and_bounds),
        cmocka_unit_test(openai_stream),
        cmocka_unit_test(openai_failures),
        cmocka_unit_test(anthropic_stream),
        cmocka_unit_test(bodies),
        cmocka_unit_test(http_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
