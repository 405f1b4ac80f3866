/* The chat client's connection (chat.h): connect as an agent, subscribe
 * to the frontend patterns, correlated requests to capsules. */
#include <limits.h>
#include <string.h>
#include <time.h>

#include "cli/chat.h"
#include "cli/context.h"

#define PUBLISH_ANSWER "astrid.v1.connection.response.publish"

/* Frontend patterns (chat contract "Delivery to clients"): the kernel hands
 * this connection only its own principal's messages on them. agent.v1.* is
 * the conversation itself; the others serve the TUI and `session`. */
static const char *const optional_patterns[] = {
    "astrid.v1.approval",
    "session.v1.response.*",
    "registry.v1.response.*",
    "registry.v1.active_model_changed",
};

int chat_conn_open(chat_conn *cc, const char *principal, bool autostart, const char *need,
                   astrid_err *err)
{
    memset(cc, 0, sizeof *cc);
    if (cli_home(cc->home, sizeof cc->home, err) < 0 ||
        cli_target_agent(principal, cc->home, cc->principal, sizeof cc->principal, err) < 0)
        return -1;
    bool running = astrid_client_daemon_running(cc->home);
    if (!running && !autostart)
        return astrid_err_set(err, ASTRID_E_NOTFOUND,
                              "the daemon is not running (start it with 'astrid start')");
    astrid_client_opts o = {.home = cc->home, .principal = cc->principal, .autostart = autostart};
    if (astrid_client_connect(&cc->c, &o, err) < 0)
        return -1;
    cc->started_daemon = !running;
    if (astrid_client_subscribe(cc->c, need, err) < 0) {
        char why[ASTRID_ERR_MSG_MAX];
        snprintf(why, sizeof why, "%s", err->msg);
        chat_conn_close(cc);
        return astrid_err_set(err, ASTRID_E_PERM, "cannot receive the answers on %s: %s", need,
                              why);
    }
    /* Best effort: without them chat still works, minus approvals (the tool
     * is then denied by the kernel's timeout) and the session/model verbs. */
    for (size_t i = 0; i < sizeof optional_patterns / sizeof *optional_patterns; i++) {
        astrid_err ignored;
        if (strcmp(optional_patterns[i], need) != 0)
            (void)astrid_client_subscribe(cc->c, optional_patterns[i], &ignored);
    }
    return 0;
}

void chat_conn_close(chat_conn *cc)
{
    if (!cc->c)
        return;
    if (cc->started_daemon) {
        /* Ours: stop it now rather than leave it idling for 30 s. Refused
         * (no system:shutdown) it still exits on its own idle timer. */
        astrid_err ignored;
        json_t *d = NULL, *params = json_pack("{s:s}", "reason", "astrid chat exited");
        astrid_call stop = {.suffix = "shutdown",
                            .method = "Shutdown",
                            .params = params,
                            .want_status = "Success",
                            .timeout_ms = 3000};
        (void)astrid_client_call(cc->c, &stop, &d, &ignored);
        json_decref(params);
        json_decref(d);
    }
    astrid_client_close(cc->c);
    cc->c = NULL;
}

int chat_conn_request(chat_conn *cc, const char *topic, const json_t *payload,
                      const char *reply_prefix, int timeout_ms, json_t **reply,
                      void (*other)(json_t *msg, void *user), void *user, astrid_err *err)
{
    *reply = NULL;
    char corr[ASTRID_UUID_STR_LEN], want[256];
    astrid_uuid_v4(corr);
    snprintf(want, sizeof want, "%s.%s", reply_prefix, corr);
    json_t *p = json_is_object(payload) ? json_deep_copy(payload) : json_object();
    json_object_set_new(p, "correlation_id", json_string(corr));
    int rc = astrid_client_publish(cc->c, topic, p, err);
    json_decref(p);
    if (rc < 0)
        return -1;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long spent = (now.tv_sec - t0.tv_sec) * 1000L + (now.tv_nsec - t0.tv_nsec) / 1000000L;
        if (spent >= timeout_ms)
            return astrid_err_set(err, ASTRID_E_TIMEOUT,
                                  "no answer on %s.* within %d s (is the capsule serving %s "
                                  "installed?)",
                                  reply_prefix, timeout_ms / 1000, topic);
        json_t *m = NULL;
        if (astrid_client_recv(cc->c, (int)(timeout_ms - spent), &m, err) < 0) {
            if (err->code == ASTRID_E_TIMEOUT)
                continue;
            return -1;
        }
        const char *t = json_string_value(json_object_get(m, "topic")) ?: "";
        const json_t *pl = json_object_get(m, "payload");
        if (strcmp(t, want) == 0 && json_is_object(pl)) {
            *reply = json_incref((json_t *)pl);
            json_decref(m);
            return 0;
        }
        if (strcmp(t, PUBLISH_ANSWER) == 0 &&
            strcmp(json_string_value(json_object_get(pl, "topic")) ?: "", topic) == 0 &&
            strcmp(json_string_value(json_object_get(pl, "status")) ?: "", "error") == 0) {
            rc = astrid_err_set(err, ASTRID_E_PERM, "%s: %s", topic,
                                json_string_value(json_object_get(pl, "data")) ?: "refused");
            json_decref(m);
            return rc;
        }
        if (other)
            other(m, user);
        json_decref(m);
    }
}
