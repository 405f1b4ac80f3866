/* Socket client (contract in client.h). */
#include "client/client.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "astrid/fs.h"
#include "astrid/home.h"
#include "astrid/crypto.h"
#include "astrid/toml.h"
#include "astrid/uuid.h"
#include "astrid/version.h"
#include "astrid/topic.h"
#include "astrid/wire.h"

extern char **environ;

struct astrid_client {
    int fd;
    int timeout_ms;
    int rcv_timeout_ms; /* SO_RCVTIMEO now set on fd; -1 = none */
    astrid_frame_reader rd;
    char principal[65];
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A full listen backlog answers a non-blocking connect with EAGAIN (a burst
 * of clients, a daemon busy for a moment). A blocking connect would instead
 * wait without bound, so a wedged daemon would hang the CLI: retry with a
 * short backoff for CONNECT_BUDGET_MS, then fail naming the busy socket
 * (ASTRID_E_TIMEOUT, distinct from "no daemon"). */
#define CONNECT_BUDGET_MS 5000
#define CONNECT_BACKOFF_MAX_US 100000

static int sock_connect_to(const char *home, bool agents, int budget_ms, int *out, astrid_err *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char p[PATH_MAX];
    int n = (agents ? astrid_home_agents_sock(p, sizeof p, home, NULL)
                    : astrid_home_system_sock(p, sizeof p, home, NULL)) == 0
                ? snprintf(sa.sun_path, sizeof sa.sun_path, "%s", p)
                : -1;
    if (n < 0 || (size_t)n >= sizeof sa.sun_path)
        return astrid_err_set(err, ASTRID_E_LIMIT, "socket path under %s is too long", home);
    uint64_t deadline = mono_ms() + (uint64_t)budget_ms;
    useconds_t backoff = 1000;
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
            return astrid_err_sys(err, "socket");
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
            int fl = fcntl(fd, F_GETFL);
            if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
                int e = errno;
                close(fd);
                errno = e;
                return astrid_err_sys(err, "fcntl %s", sa.sun_path);
            }
            *out = fd;
            return 0;
        }
        int e = errno;
        close(fd);
        if (e == EINTR)
            continue;
        if (e != EAGAIN) {
            errno = e;
            return astrid_err_sys(err, "connect %s", sa.sun_path);
        }
        if (mono_ms() >= deadline)
            return astrid_err_set(err, ASTRID_E_TIMEOUT,
                                  "the daemon at %s is not accepting connections (listen "
                                  "backlog full for %d s); try again",
                                  sa.sun_path, budget_ms / 1000);
        usleep(backoff);
        backoff = backoff * 2 > CONNECT_BACKOFF_MAX_US ? CONNECT_BACKOFF_MAX_US : backoff * 2;
    }
}

static int sock_connect(const char *home, int budget_ms, int *out, astrid_err *err)
{
    return sock_connect_to(home, false, budget_ms, out, err);
}

bool astrid_client_daemon_running(const char *home)
{
    int fd = -1;
    astrid_err e;
    /* One attempt: a full backlog (EAGAIN) still means a daemon listens. */
    if (sock_connect(home, 0, &fd, &e) != 0)
        return e.code == ASTRID_E_TIMEOUT;
    close(fd);
    return true;
}

static int find_daemon(char *out, size_t n)
{
    return astrid_find_program("astrid-daemon", out, n);
}

int astrid_client_start_daemon(const char *home, bool ephemeral, astrid_err *err)
{
    char exe[PATH_MAX];
    if (find_daemon(exe, sizeof exe) != 0)
        return astrid_err_set(err, ASTRID_E_NOTFOUND,
                              "`astrid-daemon` not found. Ensure it is installed alongside the "
                              "astrid CLI or available in PATH.");
    char ready[PATH_MAX];
    astrid_home_system_ready(ready, sizeof ready, home, NULL);
    unlink(ready);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    /* Its own session: the daemon outlives the CLI and its terminal. */
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID);
    char *argv[] = {exe, ephemeral ? "--ephemeral" : NULL, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, exe, &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc != 0) {
        errno = rc;
        return astrid_err_sys(err, "start %s", exe);
    }
    for (int i = 0; i < 200; i++) {
        if (access(ready, F_OK) == 0)
            return 0;
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid)
            return astrid_err_set(err, ASTRID_E_IO,
                                  "Daemon exited prematurely (status %d); see %s/log/",
                                  WIFEXITED(status) ? WEXITSTATUS(status) : -1, home);
        usleep(50000);
    }
    kill(pid, SIGTERM);
    return astrid_err_set(err, ASTRID_E_TIMEOUT, "daemon did not become ready within 10 s");
}

static int send_obj(astrid_client *c, const json_t *obj, astrid_err *err)
{
    char *buf;
    size_t len;
    if (astrid_frame_encode(obj, &buf, &len, err) != 0)
        return -1;
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(c->fd, buf + off, len - off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            free(buf);
            return astrid_err_sys(err, "send to daemon");
        }
        off += (size_t)n;
    }
    free(buf);
    return 0;
}

/* Next parsed frame; garbage frames are skipped (never fatal). */
static int recv_obj(astrid_client *c, int timeout_ms, json_t **out, astrid_err *err)
{
    uint64_t deadline = timeout_ms < 0 ? 0 : mono_ms() + (uint64_t)timeout_ms;
    for (;;) {
        const char *body;
        size_t len;
        int r = astrid_frame_reader_next(&c->rd, &body, &len, err);
        if (r < 0)
            return -1;
        if (r == 1) {
            json_t *obj = astrid_wire_parse(body, len, NULL);
            astrid_frame_reader_pop(&c->rd);
            if (!obj)
                continue;
            *out = obj;
            return 0;
        }
        int wait = -1;
        if (timeout_ms >= 0) {
            uint64_t now = mono_ms();
            if (now >= deadline)
                return astrid_err_set(err, ASTRID_E_TIMEOUT, "timed out waiting for the daemon");
            wait = (int)(deadline - now);
        }
        /* A blocking recv bounded by SO_RCVTIMEO is one system call where
         * poll + recv is two; the timeout is reset only when it would
         * otherwise overshoot the deadline by more than 50 ms. */
        int cur = c->rcv_timeout_ms; /* -1 = none (blocks) */
        if ((wait < 0) != (cur < 0) || (wait >= 0 && abs(wait - cur) > 50)) {
            struct timeval tv = {.tv_sec = wait < 0 ? 0 : wait / 1000,
                                 .tv_usec = wait < 0 ? 0 : (wait % 1000) * 1000};
            if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0)
                return astrid_err_sys(err, "setsockopt SO_RCVTIMEO");
            c->rcv_timeout_ms = wait;
        }
        char buf[65536];
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (n <= 0)
            return astrid_err_set(err, ASTRID_E_IO, "the daemon closed the connection");
        if (astrid_frame_reader_feed(&c->rd, buf, (size_t)n, err) != 0)
            return -1;
    }
}

static void context_principal(const char *home, char *out, size_t n)
{
    snprintf(out, n, "default");
    char p[PATH_MAX];
    astrid_home_cli_context(p, sizeof p, home, NULL); /* "" reads as no context */
    astrid_toml *t = astrid_toml_parse_file(p, NULL, NULL);
    size_t alen = 0;
    const char *a = astrid_toml_str(astrid_toml_get(t, "active_agent"), &alen);
    if (a && strlen(a) != alen)
        out[0] = '\0'; /* an embedded NUL: an empty principal, refused by the daemon */
    else if (a && *a)
        snprintf(out, n, "%s", a);
    astrid_toml_free(t);
}

/* The path the daemon expects signed: the socket's directory resolved. */
static int signed_path(const char *home, bool agents, char *out, size_t n, astrid_err *err)
{
    char p[PATH_MAX], dir[PATH_MAX], real[PATH_MAX];
    if ((agents ? astrid_home_agents_sock(p, sizeof p, home, err)
                : astrid_home_system_sock(p, sizeof p, home, err)) != 0)
        return -1;
    const char *slash = strrchr(p, '/');
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - p), p);
    if (!realpath(dir, real))
        return astrid_err_sys(err, "resolve %s", dir);
    if (snprintf(out, n, "%s%s", real, slash) >= (int)n)
        return astrid_err_set(err, ASTRID_E_LIMIT, "socket path too long");
    return 0;
}

/* Answer {"status":"challenge","nonce"} with the identity's signature and
 * read the daemon's verdict into *resp (replacing the challenge). */
static int answer_challenge(astrid_client *c, const char *home, bool agents,
                            const astrid_keypair *kp, json_t **resp, astrid_err *err)
{
    const char *nonce = json_string_value(json_object_get(*resp, "nonce"));
    char path[PATH_MAX], msg[PATH_MAX + 256];
    int len;
    if (!nonce || strlen(nonce) != 64)
        return astrid_err_set(err, ASTRID_E_PARSE, "the daemon's challenge has no valid nonce");
    if (signed_path(home, agents, path, sizeof path, err) != 0)
        return -1;
    if ((len = astrid_auth_message(msg, sizeof msg, nonce, c->principal, path)) < 0)
        return astrid_err_set(err, ASTRID_E_LIMIT, "challenge message too long");
    uint8_t sig[ASTRID_ED25519_SIG_LEN];
    astrid_sign(sig, msg, (size_t)len, kp);
    char sigb[ASTRID_B64_LEN(ASTRID_ED25519_SIG_LEN)], pkb[ASTRID_B64_LEN(ASTRID_ED25519_PK_LEN)];
    astrid_b64_encode(sigb, sig, sizeof sig);
    astrid_b64_encode(pkb, kp->pk, sizeof kp->pk);
    json_t *proof = json_pack("{s:s,s:s}", "public_key", pkb, "signature", sigb);
    int rc = send_obj(c, proof, err);
    json_decref(proof);
    json_decref(*resp);
    *resp = NULL;
    return rc == 0 ? recv_obj(c, c->timeout_ms, resp, err) : -1;
}

int astrid_client_connect(astrid_client **out, const astrid_client_opts *opts, astrid_err *err)
{
    *out = NULL;
    char home[PATH_MAX];
    if (opts && opts->home)
        snprintf(home, sizeof home, "%s", opts->home);
    else if (astrid_home_resolve(home, sizeof home, err) != 0)
        return -1;
    const char *idpath = opts && opts->identity ? opts->identity : getenv("ASTRID_IDENTITY");
    bool keyed = idpath && *idpath;
    bool agents = keyed && !(opts && opts->system_socket);
    astrid_keypair kp;
    memset(&kp, 0, sizeof kp);
    astrid_client *c = calloc(1, sizeof *c);
    if (!c)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    c->timeout_ms = opts && opts->timeout_ms > 0 ? opts->timeout_ms : 10000;
    c->rcv_timeout_ms = -1;
    astrid_frame_reader_init(&c->rd, 50u * 1024u * 1024u);
    if (keyed) {
        if (astrid_crypto_init(err) != 0 ||
            astrid_identity_load(idpath, &kp, c->principal, sizeof c->principal, err) != 0) {
            astrid_keypair_wipe(&kp);
            astrid_client_close(c);
            return -1;
        }
    } else if (opts && opts->principal) {
        snprintf(c->principal, sizeof c->principal, "%s", opts->principal);
    } else {
        context_principal(home, c->principal, sizeof c->principal);
    }
    astrid_err e2;
    c->fd = -1;
    if (sock_connect_to(home, agents, CONNECT_BUDGET_MS, &c->fd, &e2) != 0) {
        if (e2.code == ASTRID_E_TIMEOUT || agents) { /* a busy daemon is not a stale socket */
            astrid_keypair_wipe(&kp);
            astrid_client_close(c);
            if (err)
                *err = e2;
            return -1;
        }
        if (!(opts && opts->autostart)) {
            astrid_keypair_wipe(&kp);
            astrid_client_close(c);
            return astrid_err_set(err, ASTRID_E_IO,
                                  "no daemon is running for %s (start one with `astrid start`)",
                                  home);
        }
        char sock[PATH_MAX];
        astrid_home_system_sock(sock, sizeof sock, home, NULL);
        unlink(sock); /* a stale socket refuses connections */
        if (astrid_client_start_daemon(home, true, err) != 0 ||
            sock_connect(home, CONNECT_BUDGET_MS, &c->fd, err) != 0) {
            astrid_keypair_wipe(&kp);
            astrid_client_close(c);
            return -1;
        }
    }
    json_t *hs = json_pack("{s:i,s:s,s:s}", "protocol_version", ASTRID_PROTOCOL_VERSION,
                           "client_version", ASTRID_VERSION, "principal", c->principal);
    if (!agents) {
        char tokp[PATH_MAX];
        astrid_home_system_token(tokp, sizeof tokp, home, NULL); /* "" fails the read */
        char *token = NULL;
        if (astrid_read_file(tokp, 256, &token, NULL, err) != 0) {
            json_decref(hs);
            astrid_keypair_wipe(&kp);
            astrid_client_close(c);
            return -1;
        }
        token[strcspn(token, "\r\n")] = '\0';
        json_object_set_new(hs, "token", json_string(token));
        explicit_bzero(token, strlen(token));
        free(token);
    }
    json_t *resp = NULL;
    int rc = send_obj(c, hs, err);
    json_decref(hs);
    if (rc == 0)
        rc = recv_obj(c, c->timeout_ms, &resp, err);
    const char *st = rc == 0 ? json_string_value(json_object_get(resp, "status")) : NULL;
    if (rc == 0 && keyed && st && strcmp(st, "challenge") == 0)
        rc = answer_challenge(c, home, agents, &kp, &resp, err);
    astrid_keypair_wipe(&kp);
    if (rc == 0 && strcmp(json_string_value(json_object_get(resp, "status")) ?: "", "ok") != 0) {
        const char *reason = json_string_value(json_object_get(resp, "reason"));
        rc = astrid_err_set(err, ASTRID_E_PERM, "daemon refused the connection: %s",
                            reason ? reason : "no reason given");
    }
    json_decref(resp);
    if (rc != 0) {
        astrid_client_close(c);
        return -1;
    }
    *out = c;
    return 0;
}

void astrid_client_close(astrid_client *c)
{
    if (!c)
        return;
    if (c->fd > 0)
        close(c->fd);
    astrid_frame_reader_free(&c->rd);
    free(c);
}

int astrid_client_publish(astrid_client *c, const char *topic, const json_t *payload,
                          astrid_err *err)
{
    json_t *m = json_pack("{s:s,s:O,s:s}", "topic", topic, "payload", (json_t *)payload,
                          "principal", c->principal);
    if (!m)
        return astrid_err_set(err, ASTRID_E_INVALID, "cannot build message for %s", topic);
    int rc = send_obj(c, m, err);
    json_decref(m);
    return rc;
}

int astrid_client_recv(astrid_client *c, int timeout_ms, json_t **msg, astrid_err *err)
{
    for (;;) {
        json_t *obj;
        if (recv_obj(c, timeout_ms, &obj, err) != 0)
            return -1;
        if (astrid_ipc_validate(obj, NULL) == 0) {
            *msg = obj;
            return 0;
        }
        json_decref(obj); /* not an IpcMessage (e.g. a stray control frame) */
    }
}

int astrid_client_subscribe(astrid_client *c, const char *pattern, astrid_err *err)
{
    json_t *p = json_pack("{s:s}", "pattern", pattern);
    json_t *r = NULL;
    int rc =
        astrid_client_request(c, "astrid.v1.connection.subscribe", p,
                              "astrid.v1.connection.response.subscribe", c->timeout_ms, &r, err);
    json_decref(p);
    if (rc == 0 && strcmp(json_string_value(json_object_get(r, "status")) ?: "", "success") != 0)
        rc = astrid_err_set(err, ASTRID_E_PERM, "subscribe %s refused: %s", pattern,
                            json_string_value(json_object_get(r, "data")) ?: "unknown reason");
    json_decref(r);
    return rc;
}

int astrid_client_request(astrid_client *c, const char *topic, const json_t *payload,
                          const char *reply_topic, int timeout_ms, json_t **reply, astrid_err *err)
{
    *reply = NULL;
    json_t *p = json_is_object(payload) ? json_deep_copy(payload) : json_object();
    if (!json_is_string(json_object_get(p, "request_id"))) {
        char id[ASTRID_UUID_STR_LEN];
        astrid_uuid_v4(id);
        json_object_set_new(p, "request_id", json_string(id));
    }
    char want[ASTRID_UUID_STR_LEN + 64];
    snprintf(want, sizeof want, "%s", json_string_value(json_object_get(p, "request_id")));
    int rc = astrid_client_publish(c, topic, p, err);
    json_decref(p);
    if (rc != 0)
        return -1;
    uint64_t deadline = mono_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : c->timeout_ms);
    for (;;) {
        uint64_t now = mono_ms();
        if (now >= deadline)
            return astrid_err_set(err, ASTRID_E_TIMEOUT, "no reply on %s within %d ms", reply_topic,
                                  timeout_ms > 0 ? timeout_ms : c->timeout_ms);
        json_t *m;
        if (astrid_client_recv(c, (int)(deadline - now), &m, err) != 0)
            return -1;
        const char *t = json_string_value(json_object_get(m, "topic"));
        json_t *pl = json_object_get(m, "payload");
        const char *rid = json_string_value(json_object_get(pl, "request_id"));
        if (t && astrid_topic_sub_matches_bus(t, reply_topic) && (!rid || strcmp(rid, want) == 0)) {
            *reply = json_incref(pl);
            json_decref(m);
            return 0;
        }
        json_decref(m); /* a broadcast or another request's reply */
    }
}
