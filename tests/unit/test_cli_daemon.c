/* Daemon-facing verbs against a scripted client: what goes on the wire
 * (topics, method, principal, subscribe-before-publish) and how replies are
 * rendered, without a daemon. The astrid_client_* symbols below replace the
 * real client for this program only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "client/client.h"
#include "fixture.h"

static char log_buf[4096]; /* "connect(bob) subscribe(x) publish(t) ..." */
static char last_topic[256], last_reply_topic[256];
static json_t *last_payload;
static json_t *script_reply; /* returned by request */
static json_t *script_msgs;  /* array popped by recv */
static int last_timeout;     /* of the last request */

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
    va_list ap;
    size_t n = strlen(log_buf);
    va_start(ap, fmt);
    vsnprintf(log_buf + n, sizeof log_buf - n, fmt, ap);
    va_end(ap);
}

int astrid_client_connect(astrid_client **out, const astrid_client_opts *opts, astrid_err *err)
{
    logf_("connect(%s) ", opts->principal ? opts->principal : "NULL");
    *out = (astrid_client *)log_buf;
    return 0;
}
void astrid_client_close(astrid_client *c)
{
}
int astrid_client_publish(astrid_client *c, const char *topic, const json_t *payload,
                          astrid_err *err)
{
    logf_("publish(%s) ", topic);
    json_decref(last_payload);
    last_payload = json_deep_copy(payload);
    return 0;
}
int astrid_client_subscribe(astrid_client *c, const char *pattern, astrid_err *err)
{
    logf_("subscribe(%s) ", pattern);
    return 0;
}
int astrid_client_recv(astrid_client *c, int timeout_ms, json_t **msg, astrid_err *err)
{
    if (!script_msgs || json_array_size(script_msgs) == 0)
        return astrid_err_set(err, ASTRID_E_TIMEOUT, "timed out");
    *msg = json_incref(json_array_get(script_msgs, 0));
    json_array_remove(script_msgs, 0);
    return 0;
}
int astrid_client_request(astrid_client *c, const char *topic, const json_t *payload,
                          const char *reply_topic, int timeout_ms, json_t **reply, astrid_err *err)
{
    logf_("request(%s) ", topic);
    last_timeout = timeout_ms;
    snprintf(last_topic, sizeof last_topic, "%s", topic);
    snprintf(last_reply_topic, sizeof last_reply_topic, "%s", reply_topic);
    json_decref(last_payload);
    last_payload = json_deep_copy(payload);
    if (!script_reply)
        return astrid_err_set(err, ASTRID_E_TIMEOUT, "timed out");
    *reply = json_incref(script_reply);
    return 0;
}
bool astrid_client_daemon_running(const char *home)
{
    return true;
}
int astrid_client_start_daemon(const char *home, bool ephemeral, astrid_err *err)
{
    return 0;
}

static char home[256], out_buf[8192], err_buf[2048];

static int run(const char *line)
{
    log_buf[0] = '\0';
    return fixture_run(cli_main, line, out_buf, sizeof out_buf, err_buf, sizeof err_buf);
}

static int setup(void **state)
{
    if (fixture_tmpdir(home, sizeof home, "clid") != 0)
        return -1;
    setenv("ASTRID_HOME", home, 1);
    setenv("NO_COLOR", "1", 1);
    return 0;
}

static int teardown(void **state)
{
    json_decref(last_payload);
    last_payload = NULL;
    json_decref(script_reply);
    script_reply = NULL;
    json_decref(script_msgs);
    script_msgs = NULL;
    return fixture_rmdir(home);
}

static void test_status_request_shape(void **state)
{
    script_reply = json_loads("{\"status\":\"Status\",\"data\":{\"pid\":77,\"uptime_secs\":5,"
                              "\"version\":\"0.6.0\",\"connected_clients\":1}}",
                              0, NULL);
    assert_int_equal(run("status --format json"), 0);
    assert_string_equal(last_topic, "astrid.v1.request.status");
    assert_string_equal(last_reply_topic, "astrid.v1.response.status");
    assert_string_equal(json_string_value(json_object_get(last_payload, "type")), "raw_json");
    assert_string_equal(json_string_value(json_object_get(last_payload, "method")), "GetStatus");
    json_t *o = json_loads(out_buf, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(o, "pid")), 77);
    json_decref(o);
    /* caller is the active agent: default without a context file */
    assert_non_null(strstr(log_buf, "connect(default)"));

    assert_int_equal(run("agent switch bob"), 0);
    assert_int_equal(run("status"), 0);
    assert_non_null(strstr(log_buf, "connect(bob)"));
    assert_non_null(strstr(out_buf, "pid:               77\n"));
}

static void test_kernel_error(void **state)
{
    script_reply = json_loads("{\"status\":\"Error\",\"data\":\"Permission denied: "
                              "system:shutdown\"}",
                              0, NULL);
    assert_int_equal(run("stop"), CLI_ERROR);
    assert_non_null(strstr(err_buf, "Permission denied: system:shutdown"));
    assert_string_equal(last_topic, "astrid.v1.request.shutdown");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(last_payload, "params"), "reason")),
        "astrid stop");
    json_decref(script_reply);
    script_reply = json_loads("{\"status\":\"Banana\"}", 0, NULL);
    assert_int_equal(run("status"), CLI_ERROR);
    assert_non_null(strstr(err_buf, "unexpected reply"));
}

static void test_who(void **state)
{
    script_reply = json_loads("{\"status\":\"Status\",\"data\":{\"connected_clients\":3,"
                              "\"connections_by_principal\":[{\"principal\":\"bob\",\"count\":2},"
                              "{\"principal\":\"default\",\"count\":1}]}}",
                              0, NULL);
    assert_int_equal(run("who"), 0);
    assert_string_equal(out_buf, "PRINCIPAL  COUNT\nbob        2\ndefault    1\n");
    json_decref(script_reply);
    /* older daemon: bare count attributed to default */
    script_reply =
        json_loads("{\"status\":\"Status\",\"data\":{\"connected_clients\":3}}", 0, NULL);
    assert_int_equal(run("who --format json"), 0);
    json_t *o = json_loads(out_buf, 0, NULL);
    json_t *want = json_loads("[{\"principal\":\"default\",\"count\":3}]", 0, NULL);
    assert_true(json_equal(o, want));
    json_decref(o);
    json_decref(want);
}

static void test_ps(void **state)
{
    script_reply = json_loads("{\"status\":\"capsule_metadata\",\"data\":[{\"name\":\"cli\","
                              "\"interceptor_events\":[\"user.v1.prompt\"]}]}",
                              0, NULL);
    assert_int_equal(run("ps"), 0);
    assert_string_equal(last_topic, "astrid.v1.request.metadata");
    assert_string_equal(json_string_value(json_object_get(last_payload, "method")),
                        "GetCapsuleMetadata");
    assert_non_null(strstr(out_buf, "cli   user.v1.prompt"));
}

static void test_bus_request(void **state)
{
    script_msgs = json_loads("[{\"topic\":\"other\",\"payload\":{}},"
                             "{\"topic\":\"svc.ping.reply\",\"payload\":{\"pong\":1}}]",
                             0, NULL);
    assert_int_equal(run("bus request svc.ping {\"x\":1}"), 0);
    /* subscribed before publishing, other topics skipped */
    assert_non_null(strstr(log_buf, "subscribe(svc.ping.reply) publish(svc.ping)"));
    assert_string_equal(out_buf, "{\"pong\":1}\n");
    assert_int_equal(json_integer_value(json_object_get(last_payload, "x")), 1);

    json_array_clear(script_msgs);
    assert_int_equal(run("bus request svc.ping {} --reply svc.* --timeout 0.2"), CLI_ERROR);
    assert_non_null(strstr(err_buf, "no reply on 'svc.*'"));
    json_array_append_new(script_msgs,
                          json_loads("{\"topic\":\"svc.a.b\",\"payload\":{\"ok\":true}}", 0, NULL));
    assert_int_equal(run("bus request svc.ping {} --reply svc.*"), 0);
    assert_string_equal(out_buf, "{\"ok\":true}\n");
}

static void test_bus_publish(void **state)
{
    assert_int_equal(run("bus publish a.b {\"k\":\"v\"}"), 0);
    assert_non_null(strstr(log_buf, "publish(a.b)"));
    assert_string_equal(json_string_value(json_object_get(last_payload, "k")), "v");
    assert_int_equal(run("bus publish a.b {bad"), CLI_ERROR);
    assert_null(strstr(log_buf, "publish("));
}

static void test_doctor_round_trip(void **state)
{
    /* Missing home: reported, not created, and no daemon contact attempted. */
    char missing[300];
    snprintf(missing, sizeof missing, "%s/missing", home);
    setenv("ASTRID_HOME", missing, 1);
    assert_int_equal(run("doctor"), CLI_ERROR);
    assert_non_null(strstr(out_buf, "does not exist"));
    assert_null(strstr(log_buf, "request("));

    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && mkdir -m 700 h && cd h && mkdir -m 700 etc var run log keys bin wit home"
             " && head -c 32 /dev/zero > keys/runtime.key && chmod 600 keys/runtime.key",
             home);
    assert_int_equal(system(cmd), 0);
    char h[300];
    snprintf(h, sizeof h, "%s/h", home);
    setenv("ASTRID_HOME", h, 1);
    script_reply =
        json_loads("{\"status\":\"Status\",\"data\":{\"pid\":9,\"version\":\"0.6.0\"}}", 0, NULL);
    run("doctor");
    assert_non_null(strstr(out_buf, "\u2713 GetStatus: daemon 0.6.0, pid 9"));
    assert_non_null(strstr(log_buf, "request(astrid.v1.request.status)"));
    run("doctor --no-daemon");
    assert_null(strstr(out_buf, "GetStatus"));
    json_decref(script_reply);
    script_reply = json_loads("{\"status\":\"Error\",\"data\":\"denied\"}", 0, NULL);
    assert_int_equal(run("doctor"), CLI_ERROR);
    assert_non_null(strstr(out_buf, "\u2717 GetStatus: GetStatus: denied"));
    setenv("ASTRID_HOME", home, 1);
}

/* The exit code follows error.kind, never the message: each reply below
 * says one thing in its text and another in its kind. */
static void test_error_kinds(void **state)
{
    static const struct {
        const char *kind; /* NULL: no error member (an older daemon) */
        int exit;
    } cases[] = {
        {"permission_denied", CLI_ERROR}, {"not_found", CLI_ERROR},
        {"invalid", CLI_ERROR},           {"conflict", CLI_ERROR},
        {"internal", CLI_ERROR},          {"unavailable", CLI_UNAVAILABLE},
        {"no_such_kind", CLI_ERROR},      {NULL, CLI_ERROR},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *text = cases[i].exit == CLI_UNAVAILABLE ? "permission denied for principal x"
                                                            : "not available in this release";
        for (int admin = 0; admin < 2; admin++) {
            json_decref(script_reply);
            script_reply = json_pack("{s:s,s:s}", "status", "error", "data", text);
            if (cases[i].kind)
                json_object_set_new(script_reply, "error",
                                    json_pack("{s:s,s:s}", "kind", cases[i].kind, "message", text));
            int rc = run(admin ? "group list" : "status");
            assert_int_equal(rc, cases[i].exit);
            char want[256];
            snprintf(want, sizeof want, "astrid: %s%s\n", admin ? "" : "GetStatus: ", text);
            assert_string_equal(err_buf, want);
            /* One timeout policy for both APIs. */
            assert_int_equal(last_timeout, ASTRID_CALL_TIMEOUT_MS);
            assert_string_equal(last_topic,
                                admin ? "astrid.v1.admin.group.list" : "astrid.v1.request.status");
            assert_string_equal(last_reply_topic, admin ? "astrid.v1.admin.response.group.list"
                                                        : "astrid.v1.response.status");
            /* Admin requests always carry params (upstream's serde content). */
            assert_true(json_is_object(json_object_get(last_payload, "params")) == admin);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_status_request_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kernel_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_who, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bus_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bus_publish, setup, teardown),
        cmocka_unit_test_setup_teardown(test_doctor_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_kinds, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
