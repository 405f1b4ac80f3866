/* interface net: a capsule whose manifest has a non-empty `net_bind`
 * serves a unix socket of its own, `{home}/run/capsule-{name}.sock` (0600,
 * in the 0700 run/), to local clients that pass the daemon's handshake:
 * peer uid = ours, then a HandshakeRequest with the session token
 * (docs/wire.md); a failed client is dropped and accept goes on. Frames
 * are 4-byte big-endian length + body, at most 10 MiB.
 *
 * Upstream hands the kernel's own listener to such a capsule (its CLI
 * proxy); our kernel serves system.sock itself, so a capsule gets its own
 * socket instead. Meant for run-loop capsules: the listener lives as long
 * as the instance. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "astrid/crypto.h"
#include "astrid/fs.h"
#include "astrid/home.h"
#include "astrid/jsonsafe.h"
#include "astrid/version.h"
#include "host_glue.h"

#define FRAME_MAX (10u << 20)
#define HANDSHAKE_MAX 4096
#define LISTENER_HANDLE 1

static bool may_bind(const astrid_manifest *m)
{
    for (size_t i = 0; i < m->net_bind.n; i++)
        if (*m->net_bind.v[i])
            return true;
    return false;
}

/* Truncated to `n` when too long, which the bind's length check refuses. */
static void sock_path(const astrid_invocation *inv, char *out, size_t n)
{
    char p[PATH_MAX];
    astrid_home_capsule_sock(p, sizeof p, inv->env->home, inv->capsule, NULL);
    snprintf(out, n, "%s", p);
}

int astrid_host_net_bind_unix(astrid_host_call *c, uint64_t listener_handle, uint64_t *out)
{
    astrid_invocation *inv = c->inv;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    (void)listener_handle; /* one listener per instance: its own socket */
    sock_path(inv, sa.sun_path, sizeof sa.sun_path);
    if (!may_bind(inv->manifest))
        return astrid_host_fail(c, "capsule %s may not listen (no net_bind entry in its manifest)",
                                inv->capsule);
    if (inv->net_listener < 0) {
        char run[4200];
        astrid_home_run_dir(run, sizeof run, inv->env->home, NULL);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        astrid_err err;
        if (strlen(sa.sun_path) >= sizeof sa.sun_path - 1)
            astrid_host_fail(c, "net-bind-unix: socket path too long");
        else if (fd < 0 || astrid_mkdir_p(run, 0700, 0, &err) != 0 ||
                 (unlink(sa.sun_path) != 0 && errno != ENOENT) ||
                 bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
                 chmod(sa.sun_path, 0600) != 0 || listen(fd, 16) != 0)
            astrid_host_fail(c, "net-bind-unix: %s: %s", sa.sun_path, strerror(errno));
        else {
            inv->net_listener = fd;
            fd = -1;
        }
        if (fd >= 0)
            close(fd);
        if (inv->net_listener < 0)
            return -1;
    }
    *out = LISTENER_HANDLE;
    return 0;
}

/* Read exactly n bytes within ms; 0, or -1 (timeout, EOF, error). */
static int read_full(int fd, void *buf, size_t n, int ms)
{
    size_t got = 0;
    while (got < n) {
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, ms);
        if (r <= 0)
            return -1;
        ssize_t k = recv(fd, (char *)buf + got, n - got, 0);
        if (k <= 0) {
            if (k < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            return -1;
        }
        got += (size_t)k;
    }
    return 0;
}

static void write_frame(int fd, const void *data, uint32_t len)
{
    uint8_t hdr[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                      (uint8_t)len};
    struct pollfd p = {fd, POLLOUT, 0};
    size_t off = 0, total = 4 + (size_t)len;
    while (off < total) {
        if (poll(&p, 1, 5000) <= 0)
            return; /* a dead or stuck client: dropped on its next read */
        const void *src = off < 4 ? (const void *)(hdr + off) : (const char *)data + (off - 4);
        size_t chunk = off < 4 ? 4 - off : total - off;
        ssize_t k = send(fd, src, chunk, MSG_NOSIGNAL);
        if (k < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (k <= 0)
            return;
        off += (size_t)k;
    }
}

/* The daemon's handshake (docs/wire.md): 0 when the client may stay. */
static int handshake(const astrid_invocation *inv, int fd)
{
    struct ucred cred;
    socklen_t cl = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0 || cred.uid != geteuid())
        return -1; /* silently, as the daemon */
    uint8_t hdr[4];
    if (read_full(fd, hdr, 4, 5000) != 0)
        return -1;
    uint32_t len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
    char body[HANDSHAKE_MAX + 1];
    if (len > HANDSHAKE_MAX || read_full(fd, body, len, 5000) != 0)
        return -1;
    body[len] = '\0';
    char tpath[4200], *tok = NULL;
    size_t tlen = 0;
    astrid_home_system_token(tpath, sizeof tpath, inv->env->home, NULL);
    json_t *req = astrid_json_loadb(body, strlen(body), 0, NULL);
    const char *given = json_string_value(json_object_get(req, "token"));
    json_int_t proto = json_integer_value(json_object_get(req, "protocol_version"));
    const char *reason = NULL;
    if (proto != ASTRID_PROTOCOL_VERSION)
        reason = "protocol version mismatch: restart the daemon";
    else if (astrid_read_file(tpath, 256, &tok, &tlen, NULL) != 0 || tlen < 64 || !given ||
             strlen(given) != 64 || !astrid_ct_equal(given, tok, 64))
        reason = "authentication failed";
    free(tok);
    json_decref(req);
    json_t *resp = json_pack("{s:s,s:i,s:s}", "status", reason ? "error" : "ok", "protocol_version",
                             ASTRID_PROTOCOL_VERSION, "server_version", ASTRID_VERSION);
    if (reason)
        json_object_set_new(resp, "reason", json_string(reason));
    char *text = astrid_json_dumps(resp, JSON_COMPACT);
    json_decref(resp);
    if (text)
        write_frame(fd, text, (uint32_t)strlen(text));
    free(text);
    return reason ? -1 : 0;
}

static void announce(const astrid_invocation *inv, const char *topic, uint64_t h,
                     const char *reason)
{
    char payload[256];
    snprintf(payload, sizeof payload, "{\"capsule\":\"%s\",\"stream\":%llu%s%s%s}", inv->capsule,
             (unsigned long long)h, reason ? ",\"reason\":\"" : "", reason ? reason : "",
             reason ? "\"" : "");
    astrid_err err;
    inv->env->publish(inv->env->publish_ctx, topic, payload, strlen(payload), inv->source_id,
                      inv->principal, &err);
}

/* The call should stop waiting: the capsule unloads, or the call's
 * deadline passed (the glue then traps for it). */
static bool stop_waiting(astrid_wasm_instance *inst)
{
    return astrid_wasm_instance_interrupted(inst) || astrid_wasm_deadline_expired();
}

/* Wait up to ms for an authenticated client; its handle, or 0. */
static uint64_t accept_one(astrid_wasm_instance *inst, astrid_invocation *inv, int ms)
{
    int waited = 0;
    for (;;) {
        struct pollfd p = {inv->net_listener, POLLIN, 0};
        int slice = ms - waited < 100 ? ms - waited : 100;
        int r = poll(&p, 1, slice > 0 ? slice : 0);
        waited += slice;
        if (r > 0) {
            int fd = accept4(inv->net_listener, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0 && handshake(inv, fd) == 0) {
                for (size_t i = 0; i < ASTRID_NET_MAX_STREAMS; i++)
                    if (!inv->net_streams[i].handle) {
                        inv->net_streams[i].handle = ++inv->next_handle;
                        inv->net_streams[i].fd = fd;
                        announce(inv, "client.v1.connected", inv->next_handle, NULL);
                        return inv->next_handle;
                    }
            }
            if (fd >= 0)
                close(fd);
        }
        if (waited >= ms || stop_waiting(inst))
            return 0;
    }
}

/* 0 when h is the listener and a stream slot is free; else the call
 * failed. */
static int accept_gate(astrid_host_call *c, uint64_t h)
{
    const astrid_invocation *inv = c->inv;
    if (inv->net_listener < 0 || h != LISTENER_HANDLE)
        return astrid_host_fail(c, "net-accept: no such listener (call net-bind-unix first)");
    size_t used = 0;
    for (size_t i = 0; i < ASTRID_NET_MAX_STREAMS; i++)
        used += inv->net_streams[i].handle != 0;
    if (used == ASTRID_NET_MAX_STREAMS)
        return astrid_host_fail(c, "net-accept: at most 8 active streams");
    return 0;
}

int astrid_host_net_accept(astrid_host_call *c, uint64_t listener_handle, uint64_t *out)
{
    if (accept_gate(c, listener_handle))
        return -1;
    while (!*out && !stop_waiting(c->inst))
        *out = accept_one(c->inst, c->inv, 1000);
    if (!*out)
        return astrid_host_fail(c, "net-accept: interrupted (capsule unloading)");
    return 0;
}

int astrid_host_net_poll_accept(astrid_host_call *c, uint64_t listener_handle, wit_option_u64 *out)
{
    if (accept_gate(c, listener_handle))
        return -1;
    out->val = accept_one(c->inst, c->inv, 10);
    out->has = out->val != 0;
    return 0;
}

static size_t find_stream(const astrid_invocation *inv, uint64_t h)
{
    for (size_t i = 0; i < ASTRID_NET_MAX_STREAMS; i++)
        if (h && inv->net_streams[i].handle == h)
            return i;
    return ASTRID_NET_MAX_STREAMS;
}

static void drop_stream(astrid_invocation *inv, size_t i, bool announce_it)
{
    uint64_t h = inv->net_streams[i].handle;
    close(inv->net_streams[i].fd);
    inv->net_streams[i].handle = 0;
    inv->net_streams[i].fd = -1;
    if (announce_it)
        announce(inv, "client.v1.disconnect", h, "stream_closed");
}

static int no_stream(astrid_host_call *c, uint64_t h)
{
    return astrid_host_fail(c, "%s: no open stream %llu", c->fn->name, (unsigned long long)h);
}

/* One frame if a whole one is there: data, pending (none yet) or closed
 * (EOF, an error, or a broken frame; the stream is dropped). */
int astrid_host_net_read(astrid_host_call *c, uint64_t stream_handle, wit_net_read_status *out)
{
    astrid_invocation *inv = c->inv;
    size_t i = find_stream(inv, stream_handle);
    if (i == ASTRID_NET_MAX_STREAMS)
        return no_stream(c, stream_handle);
    int fd = inv->net_streams[i].fd;
    struct pollfd p = {fd, POLLIN, 0};
    uint8_t hdr[4];
    ssize_t k = poll(&p, 1, 50) > 0 ? recv(fd, hdr, 4, MSG_PEEK | MSG_DONTWAIT) : -1;
    if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR && p.revents)) {
        drop_stream(inv, i, true);
        out->tag = WIT_NET_READ_STATUS_CLOSED;
        return 0;
    }
    if (k < 4) {
        out->tag = WIT_NET_READ_STATUS_PENDING;
        return 0;
    }
    uint32_t len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
    uint8_t *buf = len <= FRAME_MAX ? malloc(len ? len : 1) : NULL;
    if (!buf || read_full(fd, hdr, 4, 1000) != 0 ||
        read_full(fd, buf, len, 5000 + (int)(len / 1024)) != 0) {
        free(buf);
        drop_stream(inv, i, true);
        if (len > FRAME_MAX)
            return astrid_host_fail(c, "net-read: frame of %u bytes over 10 MiB; stream closed",
                                    len);
        out->tag = WIT_NET_READ_STATUS_CLOSED;
        return 0;
    }
    out->tag = WIT_NET_READ_STATUS_DATA;
    out->u.data = (astrid_bytes){buf, len}; /* the glue frees it */
    return 0;
}

int astrid_host_net_write(astrid_host_call *c, uint64_t stream_handle, const astrid_bytes *data)
{
    size_t i = find_stream(c->inv, stream_handle);
    if (i == ASTRID_NET_MAX_STREAMS)
        return no_stream(c, stream_handle);
    if (data->len > FRAME_MAX)
        return astrid_host_fail(c, "net-write: frame over 10 MiB");
    /* IO errors: seen on the next read */
    write_frame(c->inv->net_streams[i].fd, data->ptr, (uint32_t)data->len);
    return 0;
}

/* Idempotent: closing an unknown stream is not an error. */
int astrid_host_net_close_stream(astrid_host_call *c, uint64_t stream_handle)
{
    size_t i = find_stream(c->inv, stream_handle);
    if (i < ASTRID_NET_MAX_STREAMS)
        drop_stream(c->inv, i, true);
    return 0;
}

void astrid_net_release(astrid_invocation *inv)
{
    for (size_t i = 0; i < ASTRID_NET_MAX_STREAMS; i++)
        if (inv->net_streams[i].handle)
            drop_stream(inv, i, false);
    if (inv->net_listener >= 0) {
        char path[4200];
        sock_path(inv, path, sizeof path);
        unlink(path);
        close(inv->net_listener);
        inv->net_listener = -1;
    }
}
