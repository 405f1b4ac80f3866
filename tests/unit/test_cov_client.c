/* The client floor against a scripted fake daemon (issue 18 point 4: the
 * client's error paths, which a real daemon never takes): a refused or
 * silent handshake, a closed socket, an oversized frame, garbage frames and
 * other requests' replies between a request and its answer, every shape of
 * reply astrid_client_call sorts (error kinds, missing or unexpected status,
 * no data, progress), a refused subscription, and no daemon at all.
 *
 * The fake daemon is one thread serving one connection per test on
 * HOME/run/system.sock; what it saw is checked on the main thread after it
 * is joined (cmocka asserts only there). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "astrid/home.h"
#include "astrid/wire.h"
#include "client/client.h"
#include "fixture.h"

typedef enum {
    HS_OK,          /* answer ok, then serve requests (see serve_request) */
    HS_GARBAGE_OK,  /* a frame that is not JSON, then ok */
    HS_REFUSE,      /* status error with a reason */
    HS_REFUSE_BARE, /* status error, no reason */
    HS_CLOSE,       /* close without answering */
    HS_SILENT,      /* never answer; wait for the client to go */
    HS_HUGE,        /* announce a 4 GiB frame */
} hs_mode;

typedef struct fake {
    char home[128];
    int lfd;
    hs_mode mode;
    pthread_t th;
    /* What the daemon saw (read after join). */
    char token[64], principal[80];
    int requests;
    char methods[16][32];
} fake;

static void send_frame(int fd, const json_t *o)
{
    char *buf;
    size_t len;
    if (astrid_frame_encode(o, &buf, &len, NULL) == 0) {
        (void)!send(fd, buf, len, MSG_NOSIGNAL);
        free(buf);
    }
}

static void send_msg(int fd, const char *topic, json_t *payload)
{
    json_t *m = astrid_ipc_new(topic, payload, "kernel", "system", 1);
    send_frame(fd, m);
    json_decref(m);
    json_decref(payload);
}

/* Next frame from the client as JSON, NULL when it went away. */
static json_t *recv_frame(int fd, astrid_frame_reader *rd)
{
    for (;;) {
        const char *body;
        size_t len;
        int r = astrid_frame_reader_next(rd, &body, &len, NULL);
        if (r < 0)
            return NULL;
        if (r == 1) {
            json_t *o = astrid_wire_parse(body, len, NULL);
            astrid_frame_reader_pop(rd);
            return o;
        }
        char buf[4096];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0 || astrid_frame_reader_feed(rd, buf, (size_t)n, NULL) != 0)
            return NULL;
    }
}

/* Before every answer, what a busy bus also delivers: a broadcast, a frame
 * that is no IpcMessage, and the answer to somebody else's request. */
static void noise(int fd, const char *reply_topic)
{
    send_msg(fd, "astrid.v1.event.noise", json_pack("{s:i}", "n", 1));
    json_t *junk = json_pack("{s:s}", "not", "an IpcMessage");
    send_frame(fd, junk);
    json_decref(junk);
    send_msg(fd, reply_topic,
             json_pack("{s:s,s:s,s:s}", "request_id", "00000000-0000-4000-8000-000000000000",
                       "status", "success", "data", "somebody else's"));
}

/* The method named in the request picks the answer. */
static void serve_request(fake *f, int fd, json_t *m)
{
    const char *topic = json_string_value(json_object_get(m, "topic"));
    json_t *pl = json_object_get(m, "payload");
    const char *rid = json_string_value(json_object_get(pl, "request_id"));
    const char *method = json_string_value(json_object_get(pl, "method"));
    char reply[400];
    if (!topic || !rid)
        return;
    if (strcmp(topic, "astrid.v1.connection.subscribe") == 0) {
        noise(fd, "astrid.v1.connection.response.subscribe");
        send_msg(fd, "astrid.v1.connection.response.subscribe",
                 json_pack("{s:s,s:s,s:s}", "request_id", rid, "status", "failure", "data",
                           "no capability for that pattern"));
        return;
    }
    if (f->requests < 16)
        snprintf(f->methods[f->requests], sizeof f->methods[0], "%s", method ? method : "?");
    f->requests++;
    const char *suffix = strncmp(topic, "astrid.v1.admin.", 16) == 0 ? topic + 16 : topic + 18;
    snprintf(reply, sizeof reply, "%s%s",
             strncmp(topic, "astrid.v1.admin.", 16) == 0 ? "astrid.v1.admin.response."
                                                         : "astrid.v1.response.",
             suffix);
    if (!method || strcmp(method, "Silent") == 0)
        return;
    noise(fd, reply);
    json_t *ans;
    if (strcmp(method, "Perm") == 0)
        ans = json_pack("{s:s,s:s,s:{s:s}}", "status", "error", "data", "not yours", "error",
                        "kind", "permission_denied");
    else if (strcmp(method, "NoKind") == 0)
        ans = json_pack("{s:s,s:s}", "status", "error", "data", "it broke");
    else if (strcmp(method, "BadKind") == 0)
        ans = json_pack("{s:s,s:{s:s}}", "status", "error", "error", "kind", "no_such_kind");
    else if (strcmp(method, "NoStatus") == 0)
        ans = json_pack("{s:s}", "data", "x");
    else if (strcmp(method, "Odd") == 0)
        ans = json_pack("{s:s}", "status", "pending");
    else if (strcmp(method, "NoData") == 0)
        ans = json_pack("{s:s}", "status", "success");
    else if (strcmp(method, "Progress") == 0) {
        char progress[420];
        snprintf(progress, sizeof progress, "%s.progress", reply);
        send_msg(fd, progress, json_pack("{s:s,s:i}", "request_id", rid, "step", 1));
        send_msg(fd, progress,
                 json_pack("{s:s,s:i}", "request_id", "00000000-0000-4000-8000-000000000000",
                           "step", 99));
        send_msg(fd, progress, json_pack("{s:s,s:i}", "request_id", rid, "step", 2));
        ans = json_pack("{s:s,s:{s:i}}", "status", "success", "data", "steps", 2);
    } else
        ans = json_pack("{s:s,s:{s:s}}", "status", "success", "data", "method", method);
    json_object_set_new(ans, "request_id", json_string(rid));
    send_msg(fd, reply, ans);
}

static void *fake_main(void *arg)
{
    fake *f = arg;
    int fd = accept(f->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    astrid_frame_reader rd;
    astrid_frame_reader_init(&rd, 1u << 20);
    json_t *hs = recv_frame(fd, &rd);
    snprintf(f->token, sizeof f->token, "%s",
             json_string_value(json_object_get(hs, "token")) ?: "(none)");
    snprintf(f->principal, sizeof f->principal, "%s",
             json_string_value(json_object_get(hs, "principal")) ?: "(none)");
    json_decref(hs);
    json_t *m;
    switch (f->mode) {
    case HS_GARBAGE_OK:
        (void)!send(fd, "\0\0\0\x05hello", 9, MSG_NOSIGNAL);
        /* fall through */
    case HS_OK:
        m = json_pack("{s:s,s:i,s:s}", "status", "ok", "protocol_version", 1, "server_version",
                      "fake");
        send_frame(fd, m);
        json_decref(m);
        while ((m = recv_frame(fd, &rd))) {
            serve_request(f, fd, m);
            json_decref(m);
        }
        break;
    case HS_REFUSE:
        m = json_pack("{s:s,s:s}", "status", "error", "reason", "invalid token");
        send_frame(fd, m);
        json_decref(m);
        break;
    case HS_REFUSE_BARE:
        m = json_pack("{s:s}", "status", "error");
        send_frame(fd, m);
        json_decref(m);
        break;
    case HS_CLOSE:
        break;
    case HS_SILENT:
        while ((m = recv_frame(fd, &rd)))
            json_decref(m);
        break;
    case HS_HUGE:
        (void)!send(fd, "\xff\xff\xff\xff{}", 6, MSG_NOSIGNAL);
        while ((m = recv_frame(fd, &rd)))
            json_decref(m);
        break;
    }
    astrid_frame_reader_free(&rd);
    close(fd);
    return NULL;
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* HOME with run/system.token ("tok") and, when `listen_too`, a listening
 * socket served by a fake daemon thread in `mode`. */
static void fake_start(fake *f, hs_mode mode, bool listen_too)
{
    memset(f, 0, sizeof *f);
    f->lfd = -1;
    f->mode = mode;
    assert_int_equal(fixture_tmpdir(f->home, sizeof f->home, "covcl"), 0);
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/run", f->home);
    assert_int_equal(mkdir(p, 0700), 0);
    assert_int_equal(astrid_home_system_token(p, sizeof p, f->home, NULL), 0);
    write_file(p, "tok\n");
    if (!listen_too)
        return;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    assert_int_equal(astrid_home_system_sock(p, sizeof p, f->home, NULL), 0);
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", p);
    f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(f->lfd >= 0);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(f->lfd, 4), 0);
    assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
}

static void fake_stop(fake *f, astrid_client *c)
{
    astrid_client_close(c); /* the fake daemon's recv sees the close */
    if (f->lfd >= 0) {
        pthread_join(f->th, NULL);
        close(f->lfd);
    }
    fixture_rmdir(f->home);
}

static int connect_to(const fake *f, astrid_client **c, int timeout_ms, astrid_err *err)
{
    astrid_client_opts o = {
        .home = f->home, .principal = "tester", .timeout_ms = timeout_ms, .identity = ""};
    astrid_err_clear(err);
    return astrid_client_connect(c, &o, err);
}

static void handshake_refused_with_reason(void **state)
{
    (void)state;
    fake f;
    astrid_client *c = NULL;
    astrid_err err;
    fake_start(&f, HS_REFUSE, true);
    assert_int_equal(connect_to(&f, &c, 2000, &err), -1);
    assert_null(c);
    assert_int_equal(err.code, ASTRID_E_PERM);
    assert_string_equal(err.msg, "daemon refused the connection: invalid token");
    fake_stop(&f, c);
    /* The handshake carried the token file's first line and the principal. */
    assert_string_equal(f.token, "tok");
    assert_string_equal(f.principal, "tester");
}

static void handshake_refused_without_reason(void **state)
{
    (void)state;
    fake f;
    astrid_client *c = NULL;
    astrid_err err;
    fake_start(&f, HS_REFUSE_BARE, true);
    assert_int_equal(connect_to(&f, &c, 2000, &err), -1);
    assert_int_equal(err.code, ASTRID_E_PERM);
    assert_string_equal(err.msg, "daemon refused the connection: no reason given");
    fake_stop(&f, c);
}

static void handshake_closed_silent_or_huge(void **state)
{
    (void)state;
    fake f;
    astrid_client *c = NULL;
    astrid_err err;
    fake_start(&f, HS_CLOSE, true);
    assert_int_equal(connect_to(&f, &c, 2000, &err), -1);
    assert_int_equal(err.code, ASTRID_E_IO);
    assert_string_equal(err.msg, "the daemon closed the connection");
    fake_stop(&f, c);

    fake_start(&f, HS_SILENT, true);
    assert_int_equal(connect_to(&f, &c, 300, &err), -1);
    assert_int_equal(err.code, ASTRID_E_TIMEOUT);
    assert_string_equal(err.msg, "timed out waiting for the daemon");
    fake_stop(&f, c);

    /* A 4 GiB length is refused before anything is allocated for it. */
    fake_start(&f, HS_HUGE, true);
    assert_int_equal(connect_to(&f, &c, 2000, &err), -1);
    assert_int_equal(err.code, ASTRID_E_LIMIT);
    fake_stop(&f, c);
}

static void garbage_frame_is_skipped(void **state)
{
    (void)state;
    fake f;
    astrid_client *c = NULL;
    astrid_err err;
    fake_start(&f, HS_GARBAGE_OK, true);
    assert_int_equal(connect_to(&f, &c, 2000, &err), 0);
    assert_non_null(c);
    fake_stop(&f, c);
}

static void no_daemon(void **state)
{
    (void)state;
    fake f;
    astrid_client *c = NULL;
    astrid_err err;
    fake_start(&f, HS_OK, false);
    assert_false(astrid_client_daemon_running(f.home));
    assert_int_equal(connect_to(&f, &c, 2000, &err), -1);
    assert_int_equal(err.code, ASTRID_E_IO);
    assert_non_null(strstr(err.msg, "no daemon is running for"));
    assert_non_null(strstr(err.msg, "astrid start"));
    /* A socket file nobody listens on (a daemon killed with -9) is the same. */
    char p[PATH_MAX];
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    assert_int_equal(astrid_home_system_sock(p, sizeof p, f.home, NULL), 0);
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", p);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
    close(s);
    assert_false(astrid_client_daemon_running(f.home));
    assert_int_equal(connect_to(&f, &c, 2000, &err), -1);
    assert_non_null(strstr(err.msg, "no daemon is running for"));
    fake_stop(&f, c);
}

static void missing_token_file(void **state)
{
    (void)state;
    fake f;
    astrid_client *c = NULL;
    astrid_err err;
    fake_start(&f, HS_SILENT, true);
    char p[PATH_MAX];
    assert_int_equal(astrid_home_system_token(p, sizeof p, f.home, NULL), 0);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(connect_to(&f, &c, 2000, &err), -1);
    assert_int_equal(err.code, ASTRID_E_NOTFOUND);
    fake_stop(&f, c);
}

static int call(astrid_client *c, astrid_api api, const char *method, const char *want,
                int timeout_ms, json_t **data, astrid_err *err)
{
    astrid_call k = {.api = api,
                     .suffix = "test.thing",
                     .method = method,
                     .want_status = want,
                     .timeout_ms = timeout_ms};
    *data = NULL;
    astrid_err_clear(err);
    return astrid_client_call(c, &k, data, err);
}

static void every_reply_shape(void **state)
{
    (void)state;
    fake f;
    astrid_client *c = NULL;
    astrid_err err;
    json_t *d;
    fake_start(&f, HS_OK, true);
    assert_int_equal(connect_to(&f, &c, 2000, &err), 0);

    /* Success: the data, past the noise. */
    assert_int_equal(call(c, ASTRID_API_ADMIN, "Data", NULL, 0, &d, &err), 0);
    assert_string_equal(json_string_value(json_object_get(d, "method")), "Data");
    json_decref(d);
    /* Success without data: JSON null, never NULL. */
    assert_int_equal(call(c, ASTRID_API_MANAGEMENT, "NoData", NULL, 0, &d, &err), 0);
    assert_true(json_is_null(d));
    json_decref(d);
    /* An error's kind sets the code; management prefixes the method. */
    assert_int_equal(call(c, ASTRID_API_MANAGEMENT, "Perm", NULL, 0, &d, &err), -1);
    assert_int_equal(err.code, ASTRID_E_PERM);
    assert_string_equal(err.msg, "Perm: not yours");
    assert_null(d);
    assert_int_equal(call(c, ASTRID_API_ADMIN, "Perm", NULL, 0, &d, &err), -1);
    assert_string_equal(err.msg, "not yours");
    /* No kind, or one this client does not know: internal, never success. */
    assert_int_equal(call(c, ASTRID_API_ADMIN, "NoKind", NULL, 0, &d, &err), -1);
    assert_int_equal(err.code, ASTRID_E_INTERNAL);
    assert_string_equal(err.msg, "it broke");
    assert_int_equal(call(c, ASTRID_API_ADMIN, "BadKind", NULL, 0, &d, &err), -1);
    assert_int_equal(err.code, ASTRID_E_INTERNAL);
    assert_string_equal(err.msg, "error");
    /* No status, or not the one asked for. */
    assert_int_equal(call(c, ASTRID_API_ADMIN, "NoStatus", NULL, 0, &d, &err), -1);
    assert_int_equal(err.code, ASTRID_E_PARSE);
    assert_string_equal(err.msg, "NoStatus: unexpected reply (status missing)");
    assert_int_equal(call(c, ASTRID_API_ADMIN, "Odd", "done", 0, &d, &err), -1);
    assert_int_equal(err.code, ASTRID_E_PARSE);
    assert_string_equal(err.msg, "Odd: unexpected reply (status pending)");
    /* Without want_status any status but error is an answer. */
    assert_int_equal(call(c, ASTRID_API_ADMIN, "Odd", NULL, 0, &d, &err), 0);
    json_decref(d);
    /* No answer: a timeout, not a hang. */
    assert_int_equal(call(c, ASTRID_API_ADMIN, "Silent", NULL, 200, &d, &err), -1);
    assert_int_equal(err.code, ASTRID_E_TIMEOUT);
    fake_stop(&f, c);
    assert_int_equal(f.requests, 10);
    assert_string_equal(f.methods[0], "Data");
    assert_string_equal(f.methods[9], "Silent");
}

static void on_progress(json_t *payload, void *user)
{
    int *steps = user;
    steps[steps[0] + 1] = (int)json_integer_value(json_object_get(payload, "step"));
    steps[0]++;
}

static void progress_then_reply(void **state)
{
    (void)state;
    fake f;
    astrid_client *c = NULL;
    astrid_err err;
    json_t *d = NULL;
    int steps[8] = {0};
    fake_start(&f, HS_OK, true);
    assert_int_equal(connect_to(&f, &c, 2000, &err), 0);
    astrid_call k = {.api = ASTRID_API_MANAGEMENT,
                     .suffix = "capsule.install",
                     .method = "Progress",
                     .on_progress = on_progress,
                     .progress_user = steps};
    assert_int_equal(astrid_client_call(c, &k, &d, &err), 0);
    /* Its own two progress frames, in order; another request's is not its. */
    assert_int_equal(steps[0], 2);
    assert_int_equal(steps[1], 1);
    assert_int_equal(steps[2], 2);
    assert_int_equal(json_integer_value(json_object_get(d, "steps")), 2);
    json_decref(d);
    /* A job that stops reporting times out per frame. */
    k.method = "Silent";
    k.timeout_ms = 200;
    steps[0] = 0;
    assert_int_equal(astrid_client_call(c, &k, &d, &err), -1);
    assert_int_equal(err.code, ASTRID_E_TIMEOUT);
    assert_int_equal(steps[0], 0);
    fake_stop(&f, c);
}

static void subscribe_refused(void **state)
{
    (void)state;
    fake f;
    astrid_client *c = NULL;
    astrid_err err;
    fake_start(&f, HS_OK, true);
    assert_int_equal(connect_to(&f, &c, 2000, &err), 0);
    assert_int_equal(astrid_client_subscribe(c, "secret.*", &err), -1);
    assert_int_equal(err.code, ASTRID_E_PERM);
    assert_string_equal(err.msg, "subscribe secret.* refused: no capability for that pattern");
    /* recv skips what is not an IpcMessage and times out on silence. */
    json_t *m = NULL;
    assert_int_equal(astrid_client_recv(c, 100, &m, &err), -1);
    assert_int_equal(err.code, ASTRID_E_TIMEOUT);
    fake_stop(&f, c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(handshake_refused_with_reason),
        cmocka_unit_test(handshake_refused_without_reason),
        cmocka_unit_test(handshake_closed_silent_or_huge),
        cmocka_unit_test(garbage_frame_is_skipped),
        cmocka_unit_test(no_daemon),
        cmocka_unit_test(missing_token_file),
        cmocka_unit_test(every_reply_shape),
        cmocka_unit_test(progress_then_reply),
        cmocka_unit_test(subscribe_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
