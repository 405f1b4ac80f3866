/* The MCP client (src/capsule/mcp/) against a scripted server
 * (tests/mcp/fake_server.js under node): handshake, paginated tools/list,
 * calls, progress, cancellation at the deadline, server-initiated requests,
 * list_changed, and hostile output (oversized frames, garbage, unknown ids)
 * that must leave the client working. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "capsule/mcp/mcp.h"

typedef struct fake {
    pid_t pid;
    astrid_mcp_client *c;
    atomic_int changed, closed, logs, oversized;
    char last_log[600];
} fake;

static void on_log(void *ctx, const char *level, const char *msg)
{
    (void)level;
    fake *f = ctx;
    atomic_fetch_add(&f->logs, 1);
    if (strstr(msg, "exceeds the 16 MiB limit"))
        atomic_fetch_add(&f->oversized, 1);
    snprintf(f->last_log, sizeof f->last_log, "%s", msg);
}

static void on_changed(void *ctx)
{
    atomic_fetch_add(&((fake *)ctx)->changed, 1);
}

static void on_closed(void *ctx)
{
    atomic_fetch_add(&((fake *)ctx)->closed, 1);
}

static void fake_start(fake *f, const char *mode)
{
    memset(f, 0, sizeof *f);
    int in[2], out[2];
    assert_int_equal(pipe2(in, O_CLOEXEC), 0);
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    char script[1024];
    const char *src = getenv("ASTRID_SRC");
    snprintf(script, sizeof script, "%s/tests/mcp/fake_server.js", src ? src : ".");
    f->pid = fork();
    assert_true(f->pid >= 0);
    if (f->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        execlp("node", "node", script, mode, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    static const char *const roots[] = {"/srv/data", "/tmp/x", NULL};
    astrid_mcp_opts o = {.to_server = in[1],
                         .from_server = out[0],
                         .name = "fake",
                         .roots = roots,
                         .log = on_log,
                         .tools_changed = on_changed,
                         .closed = on_closed,
                         .ctx = f};
    astrid_err err;
    f->c = astrid_mcp_client_new(&o, &err);
    assert_non_null(f->c);
}

static void fake_stop(fake *f)
{
    kill(f->pid, SIGKILL);
    waitpid(f->pid, NULL, 0);
    astrid_mcp_client_free(f->c);
}

static char *call_text(fake *f, const char *tool, const char *args_json, int timeout_ms,
                       astrid_err *err)
{
    json_t *args = json_loads(args_json, 0, NULL), *r = NULL;
    int rc = astrid_mcp_call_tool(f->c, tool, args, NULL, timeout_ms, NULL, NULL, &r, err);
    json_decref(args);
    if (rc != 0)
        return NULL;
    char *t = strdup(
        json_string_value(json_object_get(json_array_get(json_object_get(r, "content"), 0), "text"))
            ?: "");
    json_decref(r);
    return t;
}

static void test_handshake_and_pagination(void **state)
{
    (void)state;
    fake f;
    fake_start(&f, "normal");
    astrid_err err;
    assert_int_equal(astrid_mcp_initialize(f.c, 10000, &err), 0);
    /* the server chose 2025-06-18 among the versions we accept */
    assert_string_equal(astrid_mcp_protocol(f.c), "2025-06-18");
    assert_string_equal(astrid_mcp_server_name(f.c), "fake");
    json_t *tools = NULL;
    assert_int_equal(astrid_mcp_list_tools(f.c, 10000, &tools, &err), 0);
    /* 3 on the first page, 6 behind the cursor */
    assert_int_equal(json_array_size(tools), 9);
    assert_string_equal(json_string_value(json_object_get(json_array_get(tools, 8), "name")),
                        "readfile");
    json_decref(tools);
    char *t = call_text(&f, "echo", "{\"a\":1}", 10000, &err);
    assert_non_null(t);
    assert_string_equal(t, "{\"a\":1}");
    free(t);
    assert_int_equal(astrid_mcp_protocol_errors(f.c), 0);
    fake_stop(&f);
}

static void test_version_refused(void **state)
{
    (void)state;
    fake f;
    fake_start(&f, "version");
    astrid_err err;
    assert_int_equal(astrid_mcp_initialize(f.c, 10000, &err), -1);
    assert_int_equal(err.code, ASTRID_E_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "1999-01-01"));
    fake_stop(&f);
}

static void test_cancel_at_deadline(void **state)
{
    (void)state;
    fake f;
    fake_start(&f, "normal");
    astrid_err err;
    assert_int_equal(astrid_mcp_initialize(f.c, 10000, &err), 0);
    char *none = call_text(&f, "slow", "{}", 300, &err);
    bool failed = none == NULL;
    free(none);
    assert_true(failed);
    assert_int_equal(err.code, ASTRID_E_TIMEOUT);
    /* the server got notifications/cancelled for that request's id (2:
     * initialize was 1) */
    char *t = call_text(&f, "cancelled", "{}", 10000, &err);
    assert_non_null(t);
    assert_string_equal(t, "[2]");
    free(t);
    fake_stop(&f);
}

typedef struct prog {
    int n;
    double last;
} prog;

static void on_progress(void *ctx, const json_t *params)
{
    prog *p = ctx;
    p->n++;
    p->last = json_number_value(json_object_get(params, "progress"));
}

static void test_progress_forwarded(void **state)
{
    (void)state;
    fake f;
    fake_start(&f, "normal");
    astrid_err err;
    assert_int_equal(astrid_mcp_initialize(f.c, 10000, &err), 0);
    prog p = {0};
    json_t *r = NULL;
    assert_int_equal(
        astrid_mcp_call_tool(f.c, "progress", NULL, NULL, 10000, on_progress, &p, &r, &err), 0);
    json_decref(r);
    assert_int_equal(p.n, 2);
    assert_true(p.last == 2.0);
    fake_stop(&f);
}

static void test_server_requests_answered(void **state)
{
    (void)state;
    fake f;
    fake_start(&f, "normal");
    astrid_err err;
    assert_int_equal(astrid_mcp_initialize(f.c, 10000, &err), 0);
    char *t = call_text(&f, "ask_roots", "{}", 10000, &err);
    assert_non_null(t);
    assert_non_null(strstr(t, "\"uri\":\"file:///srv/data\""));
    assert_non_null(strstr(t, "\"uri\":\"file:///tmp/x\""));
    free(t);
    /* unsupported server request: a JSON-RPC error, never silence */
    t = call_text(&f, "ask_bogus", "{}", 10000, &err);
    assert_non_null(t);
    assert_non_null(strstr(t, "-32601"));
    free(t);
    fake_stop(&f);
}

static void test_meta_and_list_changed(void **state)
{
    (void)state;
    fake f;
    fake_start(&f, "normal");
    astrid_err err;
    assert_int_equal(astrid_mcp_initialize(f.c, 10000, &err), 0);
    json_t *meta = json_pack("{s:s}", "astrid/principal", "alice"), *r = NULL;
    assert_int_equal(astrid_mcp_call_tool(f.c, "whoami", NULL, meta, 10000, NULL, NULL, &r, &err),
                     0);
    json_decref(meta);
    const char *t = json_string_value(
        json_object_get(json_array_get(json_object_get(r, "content"), 0), "text"));
    assert_non_null(strstr(t, "\"astrid/principal\":\"alice\""));
    json_decref(r);
    char *c = call_text(&f, "change", "{}", 10000, &err);
    free(c);
    /* the notification precedes the response on the pipe */
    assert_int_equal(atomic_load(&f.changed), 1);
    json_t *tools = NULL;
    assert_int_equal(astrid_mcp_list_tools(f.c, 10000, &tools, &err), 0);
    assert_int_equal(json_array_size(tools), 10);
    json_decref(tools);
    fake_stop(&f);
}

static void test_hostile_output_survived(void **state)
{
    (void)state;
    fake f;
    fake_start(&f, "hostile");
    astrid_err err;
    assert_int_equal(astrid_mcp_initialize(f.c, 20000, &err), 0);
    /* each answer was preceded by a 17 MiB line, garbage, an unknown id
     * and a batch of non-objects: all counted, the answer still arrives */
    uint64_t e1 = astrid_mcp_protocol_errors(f.c);
    assert_true(e1 >= 4);
    char *t = call_text(&f, "echo", "{\"b\":2}", 20000, &err);
    assert_non_null(t);
    assert_string_equal(t, "{\"b\":2}");
    free(t);
    assert_true(astrid_mcp_protocol_errors(f.c) >= e1 + 4);
    assert_true(astrid_mcp_alive(f.c));
    /* the 17 MiB lines were refused as oversized, not parsed */
    assert_int_equal(atomic_load(&f.oversized), 2);
    fake_stop(&f);
}

static void test_crash_fails_callers(void **state)
{
    (void)state;
    fake f;
    fake_start(&f, "crash");
    astrid_err err;
    assert_int_equal(astrid_mcp_initialize(f.c, 10000, &err), 0);
    char *none = call_text(&f, "echo", "{}", 10000, &err);
    bool failed = none == NULL;
    free(none);
    assert_true(failed);
    assert_int_equal(err.code, ASTRID_E_IO);
    assert_false(astrid_mcp_alive(f.c));
    /* the close notice comes from the reader thread, after the caller's
     * failure: give it up to 5 s on a loaded machine, never more than once */
    for (int i = 0; i < 500 && atomic_load(&f.closed) == 0; i++)
        usleep(10000);
    assert_int_equal(atomic_load(&f.closed), 1);
    /* later calls fail at once */
    none = call_text(&f, "echo", "{}", 10000, &err);
    failed = none == NULL;
    free(none);
    assert_true(failed);
    assert_non_null(strstr(err.msg, "not running"));
    fake_stop(&f);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_and_pagination),
        cmocka_unit_test(test_version_refused),
        cmocka_unit_test(test_cancel_at_deadline),
        cmocka_unit_test(test_progress_forwarded),
        cmocka_unit_test(test_server_requests_answered),
        cmocka_unit_test(test_meta_and_list_changed),
        cmocka_unit_test(test_hostile_output_survived),
        cmocka_unit_test(test_crash_fails_callers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
