/* MCP client over stdio (mcp.h). One reader thread per client; callers
 * wait on `pending_cond` for their id's response. */
#include "capsule/mcp/mcp.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "astrid/jsonsafe.h"

typedef struct pending {
    struct pending *next;
    int64_t id;
    bool done;
    json_t *result; /* result member */
    json_t *error;  /* error member */
    astrid_mcp_progress_fn progress;
    void *progress_ctx;
} pending;

struct astrid_mcp_client {
    int to_server, from_server;
    char name[128];
    char **roots;
    size_t nroots;
    size_t max_frame;
    astrid_mcp_log_fn log;
    astrid_mcp_event_fn tools_changed, closed;
    void *ctx;
    pthread_t reader;
    bool reader_started;
    int wake[2]; /* written by shutdown: ends the reader even if the server lingers */
    pthread_mutex_t write_lock; /* keeps each line whole on to_server */
    /* guards the pending list, next_id, dead */
    pthread_mutex_t pending_lock;
    pthread_cond_t pending_cond;
    pending *pending;
    int64_t next_id;
    atomic_bool dead;
    atomic_uint_fast64_t protocol_errors;
    char protocol[32];
    char server_name[128];
};

static void logf_(astrid_mcp_client *c, const char *level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void logf_(astrid_mcp_client *c, const char *level, const char *fmt, ...)
{
    if (!c->log)
        return;
    char msg[600];
    int n = snprintf(msg, sizeof msg, "MCP server %s: ", c->name);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    c->log(c->ctx, level, msg);
}

static void protocol_error(astrid_mcp_client *c, const char *fmt, const char *detail)
{
    atomic_fetch_add(&c->protocol_errors, 1);
    logf_(c, "WARN", fmt, detail);
}

/* One line to the server, whole (write_lock). */
static int send_json(astrid_mcp_client *c, const json_t *msg, astrid_err *err)
{
    char *s = astrid_json_dumps(msg, JSON_COMPACT);
    if (!s)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    size_t len = strlen(s);
    /* json_dumps escapes control characters, so the text has no newline
     * of its own: the framing cannot be broken from inside a string. */
    s[len] = '\n';
    int rc = 0;
    pthread_mutex_lock(&c->write_lock);
    size_t off = 0;
    while (off < len + 1) {
        ssize_t w = c->to_server >= 0 ? write(c->to_server, s + off, len + 1 - off) : -1;
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = c->to_server >= 0 ? astrid_err_sys(err, "MCP server %s: write", c->name)
                                   : astrid_err_set(err, ASTRID_E_IO,
                                                    "MCP server %s: connection closed", c->name);
            break;
        }
        off += (size_t)w;
    }
    pthread_mutex_unlock(&c->write_lock);
    free(s);
    return rc;
}

static void reply_error(astrid_mcp_client *c, json_t *id, int code, const char *message)
{
    json_t *r = json_pack("{s:s,s:O,s:{s:i,s:s}}", "jsonrpc", "2.0", "id", id, "error", "code",
                          code, "message", message);
    if (r)
        send_json(c, r, NULL);
    json_decref(r);
}

static void reply_result(astrid_mcp_client *c, json_t *id, json_t *result /* stolen */)
{
    json_t *r = json_pack("{s:s,s:O,s:o}", "jsonrpc", "2.0", "id", id, "result", result);
    if (r)
        send_json(c, r, NULL);
    json_decref(r);
}

/* A request the server sends us: answered, never left without a reply. */
static void on_server_request(astrid_mcp_client *c, const char *method, json_t *id)
{
    if (strcmp(method, "ping") == 0) {
        reply_result(c, id, json_object());
    } else if (strcmp(method, "roots/list") == 0) {
        json_t *roots = json_array();
        for (size_t i = 0; i < c->nroots; i++) {
            char *uri = malloc(strlen(c->roots[i]) + 8);
            if (!uri)
                continue;
            sprintf(uri, "file://%s", c->roots[i]);
            const char *base = strrchr(c->roots[i], '/');
            json_array_append_new(roots, json_pack("{s:s,s:s}", "uri", uri, "name",
                                                   base && base[1] ? base + 1 : c->roots[i]));
            free(uri);
        }
        reply_result(c, id, json_pack("{s:o}", "roots", roots));
    } else {
        reply_error(c, id, ASTRID_MCP_METHOD_NOT_FOUND, "Method not found");
        logf_(c, "INFO", "asked for %.100s: answered method not found", method);
    }
}

static void on_notification(astrid_mcp_client *c, const char *method, json_t *params)
{
    if (strcmp(method, "notifications/tools/list_changed") == 0) {
        if (c->tools_changed)
            c->tools_changed(c->ctx);
    } else if (strcmp(method, "notifications/progress") == 0) {
        json_t *tok = json_object_get(params, "progressToken");
        if (!json_is_integer(tok))
            return;
        /* called under pending_lock: the caller cannot leave (and free its
         * progress context) while we forward */
        pthread_mutex_lock(&c->pending_lock);
        for (pending *p = c->pending; p; p = p->next)
            if (p->id == json_integer_value(tok) && p->progress && !p->done)
                p->progress(p->progress_ctx, params);
        pthread_mutex_unlock(&c->pending_lock);
    } else if (strcmp(method, "notifications/message") == 0) {
        const json_t *d = json_object_get(params, "data");
        char *s = d ? astrid_json_dumps(d, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        logf_(c, "INFO", "log: %.400s", s ? s : "");
        free(s);
    }
    /* other notifications (resources, prompts, cancelled...) carry
     * nothing we act on */
}

static void on_response(astrid_mcp_client *c, json_t *msg, json_t *id)
{
    json_t *result = json_object_get(msg, "result"), *error = json_object_get(msg, "error");
    if (!json_is_integer(id) || (!result && !error) || (result && error)) {
        protocol_error(c, "%s",
                       "a response without a valid id or with neither/both result and error");
        return;
    }
    pthread_mutex_lock(&c->pending_lock);
    pending *p = c->pending;
    while (p && (p->id != json_integer_value(id) || p->done))
        p = p->next;
    if (p) {
        p->done = true;
        p->result = json_incref(result);
        p->error = json_incref(error);
        pthread_cond_broadcast(&c->pending_cond);
    }
    pthread_mutex_unlock(&c->pending_lock);
    if (!p) {
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(id));
        protocol_error(c, "response to unknown id %s (not in flight): ignored", buf);
    }
}

static void on_message(astrid_mcp_client *c, json_t *msg)
{
    if (!json_is_object(msg)) {
        protocol_error(c, "%s", "a message that is not a JSON-RPC object: ignored");
        return;
    }
    json_t *id = json_object_get(msg, "id");
    const char *method = json_string_value(json_object_get(msg, "method"));
    if (method && id && (json_is_integer(id) || json_is_string(id)))
        on_server_request(c, method, id);
    else if (method && !id)
        on_notification(c, method, json_object_get(msg, "params"));
    else if (!method && id)
        on_response(c, msg, id);
    else
        protocol_error(c, "%s", "a message of no JSON-RPC shape: ignored");
}

static void on_line(astrid_mcp_client *c, char *line, size_t len)
{
    if (len && line[len - 1] == '\r')
        len--;
    if (!len)
        return;
    json_error_t je;
    json_t *msg = astrid_json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
    if (!msg) {
        protocol_error(c, "malformed JSON: %s: line ignored", je.text);
        return;
    }
    if (json_is_array(msg)) { /* a 2025-03-26 batch */
        size_t i;
        json_t *m;
        json_array_foreach(msg, i, m)
        {
            on_message(c, m);
        }
    } else {
        on_message(c, msg);
    }
    json_decref(msg);
}

static void mark_dead(astrid_mcp_client *c)
{
    pthread_mutex_lock(&c->pending_lock);
    atomic_store(&c->dead, true);
    pthread_cond_broadcast(&c->pending_cond);
    pthread_mutex_unlock(&c->pending_lock);
}

static void *reader_main(void *arg)
{
    astrid_mcp_client *c = arg;
    size_t cap = 64 * 1024, len = 0;
    char *buf = malloc(cap);
    bool skipping = false; /* inside an oversized line: drop until its newline */
    size_t skipped = 0;
    if (!buf)
        logf_(c, "ERROR", "out of memory for its read buffer");
    for (; buf;) {
        if (len == cap) {
            size_t ncap = cap * 2 > c->max_frame + 1 ? c->max_frame + 1 : cap * 2;
            char *nb = ncap > cap ? realloc(buf, ncap) : NULL;
            if (!nb) { /* cannot grow: the line is over the limit */
                skipping = true;
                skipped += len;
                len = 0;
                continue;
            }
            buf = nb;
            cap = ncap;
        }
        struct pollfd pf[2] = {{c->from_server, POLLIN, 0}, {c->wake[0], POLLIN, 0}};
        if (poll(pf, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            logf_(c, "WARN", "poll: %s", strerror(errno));
            break;
        }
        if (pf[1].revents)
            break;
        ssize_t r = read(c->from_server, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r < 0)
                logf_(c, "WARN", "read: %s", strerror(errno));
            break;
        }
        size_t start = 0, end = len + (size_t)r;
        for (size_t i = len; i < end; i++) {
            if (buf[i] != '\n')
                continue;
            if (skipping) {
                char d[64];
                snprintf(d, sizeof d, "%zu", skipped + i - start);
                protocol_error(c, "frame of %s bytes exceeds the 16 MiB limit: dropped", d);
                skipping = false;
                skipped = 0;
            } else {
                on_line(c, buf + start, i - start);
            }
            start = i + 1;
        }
        len = end - start;
        memmove(buf, buf + start, len);
        if (len > c->max_frame) {
            skipping = true;
            skipped += len;
            len = 0;
        }
    }
    free(buf);
    mark_dead(c);
    if (c->closed)
        c->closed(c->ctx);
    return NULL;
}

astrid_mcp_client *astrid_mcp_client_new(const astrid_mcp_opts *o, astrid_err *err)
{
    astrid_mcp_client *c = calloc(1, sizeof *c);
    if (!c) {
        close(o->to_server);
        close(o->from_server);
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        return NULL;
    }
    c->to_server = o->to_server;
    c->from_server = o->from_server;
    snprintf(c->name, sizeof c->name, "%s", o->name ? o->name : "?");
    c->max_frame = o->max_frame ? o->max_frame : ASTRID_MCP_MAX_FRAME;
    c->log = o->log;
    c->tools_changed = o->tools_changed;
    c->closed = o->closed;
    c->ctx = o->ctx;
    c->next_id = 1;
    c->wake[0] = c->wake[1] = -1;
    pthread_mutex_init(&c->write_lock, NULL);
    pthread_mutex_init(&c->pending_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* deadlines immune to clock steps */
    pthread_cond_init(&c->pending_cond, &ca);
    pthread_condattr_destroy(&ca);
    size_t nroots = 0;
    while (o->roots && o->roots[nroots])
        nroots++;
    if (nroots) {
        char **roots = calloc(nroots, sizeof *roots);
        if (!roots)
            goto nomem;
        c->roots = roots;
        for (size_t i = 0; i < nroots; i++, c->nroots++)
            if (!(roots[i] = strdup(o->roots[i])))
                goto nomem;
    }
    if (pipe2(c->wake, O_CLOEXEC) != 0) {
        astrid_err_sys(err, "MCP server %s: pipe", c->name);
        astrid_mcp_client_free(c);
        return NULL;
    }
    if (pthread_create(&c->reader, NULL, reader_main, c) != 0) {
        astrid_err_set(err, ASTRID_E_INTERNAL, "MCP server %s: cannot start its reader thread",
                       c->name);
        astrid_mcp_client_free(c);
        return NULL;
    }
    c->reader_started = true;
    return c;
nomem:
    astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    astrid_mcp_client_free(c);
    return NULL;
}

void astrid_mcp_client_shutdown(astrid_mcp_client *c)
{
    pthread_mutex_lock(&c->write_lock);
    if (c->to_server >= 0)
        close(c->to_server);
    c->to_server = -1;
    pthread_mutex_unlock(&c->write_lock);
    if (c->wake[1] >= 0 && write(c->wake[1], "x", 1) < 0) {
        /* the pipe is ours and empty: a failed write leaves the reader to
         * end at the server's EOF */
    }
    mark_dead(c);
}

void astrid_mcp_client_free(astrid_mcp_client *c)
{
    if (!c)
        return;
    astrid_mcp_client_shutdown(c);
    /* the reader ends at EOF: the server's stdout closes when it exits
     * (the supervisor kills it first); shutting our read end down makes
     * sure even a server that keeps running cannot hold us here */
    if (c->reader_started)
        pthread_join(c->reader, NULL);
    if (c->from_server >= 0)
        close(c->from_server);
    if (c->wake[0] >= 0)
        close(c->wake[0]);
    if (c->wake[1] >= 0)
        close(c->wake[1]);
    for (pending *p = c->pending, *n; p; p = n) {
        n = p->next;
        json_decref(p->result);
        json_decref(p->error);
        free(p);
    }
    for (size_t i = 0; i < c->nroots; i++)
        free(c->roots ? c->roots[i] : NULL);
    free(c->roots);
    pthread_mutex_destroy(&c->write_lock);
    pthread_mutex_destroy(&c->pending_lock);
    pthread_cond_destroy(&c->pending_cond);
    free(c);
}

bool astrid_mcp_alive(const astrid_mcp_client *c)
{
    return c && !atomic_load(&c->dead);
}

uint64_t astrid_mcp_protocol_errors(const astrid_mcp_client *c)
{
    return atomic_load(&c->protocol_errors);
}

const char *astrid_mcp_protocol(const astrid_mcp_client *c)
{
    return c->protocol;
}

const char *astrid_mcp_server_name(const astrid_mcp_client *c)
{
    return c->server_name;
}

int astrid_mcp_notify(astrid_mcp_client *c, const char *method, const json_t *params,
                      astrid_err *err)
{
    json_t *m = json_pack("{s:s,s:s}", "jsonrpc", "2.0", "method", method);
    if (!m)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    if (params)
        json_object_set_new(m, "params", json_deep_copy(params));
    int rc = send_json(c, m, err);
    json_decref(m);
    return rc;
}

static void unlink_pending(astrid_mcp_client *c, pending *p)
{
    for (pending **pp = &c->pending; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
}

int astrid_mcp_request(astrid_mcp_client *c, const char *method, const json_t *params,
                       int timeout_ms, astrid_mcp_progress_fn progress, void *progress_ctx,
                       json_t **result, int *rpc_code, astrid_err *err)
{
    *result = NULL;
    if (rpc_code)
        *rpc_code = 0;
    pending *p = calloc(1, sizeof *p);
    json_t *msg = NULL, *pr = params ? json_deep_copy(params) : json_object();
    if (!p || !pr || !json_is_object(pr)) {
        free(p);
        json_decref(pr);
        return astrid_err_set(err, ASTRID_E_INVALID, "MCP %s: params must be an object", method);
    }
    p->progress = progress;
    p->progress_ctx = progress_ctx;
    pthread_mutex_lock(&c->pending_lock);
    if (atomic_load(&c->dead)) {
        pthread_mutex_unlock(&c->pending_lock);
        free(p);
        json_decref(pr);
        return astrid_err_set(err, ASTRID_E_IO, "MCP server %s is not running", c->name);
    }
    p->id = c->next_id++;
    p->next = c->pending;
    c->pending = p;
    pthread_mutex_unlock(&c->pending_lock);
    if (progress) {
        json_t *meta = json_object_get(pr, "_meta");
        if (!json_is_object(meta))
            json_object_set_new(pr, "_meta", meta = json_object());
        json_object_set_new(meta, "progressToken", json_integer(p->id));
    }
    msg = json_pack("{s:s,s:I,s:s,s:o}", "jsonrpc", "2.0", "id", (json_int_t)p->id, "method",
                    method, "params", pr);
    int rc = msg ? send_json(c, msg, err) : astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    json_decref(msg);
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    if (timeout_ms > 0) {
        dl.tv_sec += timeout_ms / 1000;
        dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (dl.tv_nsec >= 1000000000L) {
            dl.tv_sec++;
            dl.tv_nsec -= 1000000000L;
        }
    }
    bool timed_out = false;
    pthread_mutex_lock(&c->pending_lock);
    while (rc == 0 && !p->done && !atomic_load(&c->dead) && !timed_out) {
        if (timeout_ms > 0)
            timed_out =
                pthread_cond_timedwait(&c->pending_cond, &c->pending_lock, &dl) == ETIMEDOUT;
        else
            pthread_cond_wait(&c->pending_cond, &c->pending_lock);
    }
    unlink_pending(c, p);
    bool done = p->done;
    pthread_mutex_unlock(&c->pending_lock);
    if (rc == 0 && !done && timed_out) {
        /* the caller's deadline passed: tell the server to stop working */
        json_t *cp =
            json_pack("{s:I,s:s}", "requestId", (json_int_t)p->id, "reason", "deadline exceeded");
        astrid_mcp_notify(c, "notifications/cancelled", cp, NULL);
        json_decref(cp);
        rc = astrid_err_set(err, ASTRID_E_TIMEOUT, "MCP server %s: %s timed out after %d ms",
                            c->name, method, timeout_ms);
    } else if (rc == 0 && !done) {
        rc = astrid_err_set(err, ASTRID_E_IO, "MCP server %s exited during %s", c->name, method);
    } else if (rc == 0 && p->error) {
        const char *m = json_string_value(json_object_get(p->error, "message"));
        if (rpc_code)
            *rpc_code = (int)json_integer_value(json_object_get(p->error, "code"));
        rc = astrid_err_set(err, ASTRID_E_INVALID, "MCP server %s: %s: %s", c->name, method,
                            m ? m : "error without a message");
    } else if (rc == 0) {
        *result = json_incref(p->result);
    }
    json_decref(p->result);
    json_decref(p->error);
    free(p);
    return rc;
}

static const char *const accepted_versions[] = {"2025-11-25", "2025-06-18", "2025-03-26",
                                                "2024-11-05"};

int astrid_mcp_initialize(astrid_mcp_client *c, int timeout_ms, astrid_err *err)
{
    json_t *params = json_pack("{s:s,s:{s:{s:b}},s:{s:s,s:s}}", "protocolVersion",
                               ASTRID_MCP_PROTOCOL, "capabilities", "roots", "listChanged", false,
                               "clientInfo", "name", "astrid", "version", "0.6.0");
    json_t *r = NULL;
    int rc = astrid_mcp_request(c, "initialize", params, timeout_ms, NULL, NULL, &r, NULL, err);
    json_decref(params);
    if (rc != 0)
        return -1;
    const char *v = json_string_value(json_object_get(r, "protocolVersion"));
    bool ok = false;
    for (size_t i = 0; v && i < sizeof accepted_versions / sizeof *accepted_versions; i++)
        ok |= strcmp(v, accepted_versions[i]) == 0;
    if (!ok) {
        astrid_err_set(err, ASTRID_E_UNSUPPORTED,
                       "MCP server %s answered protocol version %.40s; supported: 2025-11-25, "
                       "2025-06-18, 2025-03-26, 2024-11-05",
                       c->name, v ? v : "(none)");
        json_decref(r);
        return -1;
    }
    snprintf(c->protocol, sizeof c->protocol, "%s", v);
    const char *sn = json_string_value(json_object_get(json_object_get(r, "serverInfo"), "name"));
    snprintf(c->server_name, sizeof c->server_name, "%s", sn ? sn : "");
    json_decref(r);
    return astrid_mcp_notify(c, "notifications/initialized", NULL, err);
}

int astrid_mcp_list_tools(astrid_mcp_client *c, int timeout_ms, json_t **tools, astrid_err *err)
{
    *tools = json_array();
    char *cursor = NULL;
    for (int page = 0; page < 1000; page++) {
        json_t *params = cursor ? json_pack("{s:s}", "cursor", cursor) : NULL, *r = NULL;
        free(cursor);
        cursor = NULL;
        int rc = astrid_mcp_request(c, "tools/list", params, timeout_ms, NULL, NULL, &r, NULL, err);
        json_decref(params);
        if (rc != 0)
            goto fail;
        json_t *list = json_object_get(r, "tools");
        if (!json_is_array(list)) {
            json_decref(r);
            astrid_err_set(err, ASTRID_E_PARSE, "MCP server %s: tools/list without a tools array",
                           c->name);
            goto fail;
        }
        json_array_extend(*tools, list);
        const char *next = json_string_value(json_object_get(r, "nextCursor"));
        if (next && *next && !(cursor = strdup(next))) {
            json_decref(r);
            astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
            goto fail;
        }
        json_decref(r);
        if (!cursor)
            return 0;
    }
    free(cursor);
    astrid_err_set(err, ASTRID_E_LIMIT, "MCP server %s: tools/list did not end after 1000 pages",
                   c->name);
fail:
    json_decref(*tools);
    *tools = NULL;
    return -1;
}

int astrid_mcp_call_tool(astrid_mcp_client *c, const char *name, const json_t *arguments,
                         const json_t *meta, int timeout_ms, astrid_mcp_progress_fn progress,
                         void *progress_ctx, json_t **result, astrid_err *err)
{
    json_t *params = json_pack("{s:s}", "name", name);
    if (!params)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    json_object_set_new(params, "arguments",
                        json_is_object(arguments) ? json_deep_copy(arguments) : json_object());
    if (json_is_object(meta))
        json_object_set_new(params, "_meta", json_deep_copy(meta));
    int rc = astrid_mcp_request(c, "tools/call", params, timeout_ms, progress, progress_ctx, result,
                                NULL, err);
    json_decref(params);
    return rc;
}
