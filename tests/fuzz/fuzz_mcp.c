/* libFuzzer: MCP JSON-RPC framing and dispatch (src/capsule/mcp/mcp.c) as
 * a hostile server drives it, and Claude-style mcp.json -> Capsule.toml
 * (src/lib/manifest/mcp_json.c) on the same bytes.
 *
 * The input is what the server writes to its stdout. The client's reader
 * loop (reader_main) runs in this thread, not its own, over a pipe holding
 * the input and then EOF, so each run is deterministic: line splitting,
 * CR/LF, the frame limit (1 KiB here so it is reachable), batches,
 * responses matched against three calls in flight (ids 1-3, with progress
 * callbacks), server requests (ping, roots/list, unknown) answered into
 * /dev/null, notifications.
 *
 * Invariants: nothing crashes or leaks; every log message is a terminated
 * string; a matched call holds exactly one of result / error; a converted
 * mcp.json parses back as a manifest (mcp_json.c promises it). */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/capsule/mcp/mcp.c" // NOLINT(bugprone-suspicious-include)
#include "lib/manifest/manifest.h"
#include "lib/manifest/mcp_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_log(void *ctx, const char *level, const char *msg)
{
    (void)ctx;
    if (strlen(level) == 0 || strlen(msg) >= 600)
        abort();
}

static void on_progress(void *ctx, const json_t *params)
{
    (void)ctx;
    if (!json_is_integer(json_object_get(params, "progressToken")))
        abort();
}

static void on_event(void *ctx)
{
    ++*(int *)ctx;
}

static void wire(const uint8_t *data, size_t size)
{
    int in[2], sink = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (sink < 0 || pipe2(in, O_CLOEXEC) != 0)
        abort();
    /* the whole input fits the pipe: written before the reader starts */
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(in[1], data + off, size - off);
        if (w <= 0)
            abort();
        off += (size_t)w;
    }
    close(in[1]);
    static const char *const roots[] = {"/work/a", "/", NULL};
    int events = 0;
    astrid_mcp_client *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->to_server = sink;
    c->from_server = in[0];
    snprintf(c->name, sizeof c->name, "fuzz");
    c->max_frame = 1024;
    c->log = on_log;
    c->tools_changed = on_event;
    c->ctx = &events;
    c->next_id = 4;
    pthread_mutex_init(&c->write_lock, NULL);
    pthread_mutex_init(&c->pending_lock, NULL);
    pthread_cond_init(&c->pending_cond, NULL);
    c->roots = calloc(2, sizeof *c->roots);
    for (size_t i = 0; roots[i]; i++)
        c->roots[c->nroots++] = strdup(roots[i]);
    for (int64_t id = 3; id >= 1; id--) {
        pending *p = calloc(1, sizeof *p);
        p->id = id;
        p->progress = on_progress;
        p->next = c->pending;
        c->pending = p;
    }
    if (pipe2(c->wake, O_CLOEXEC) != 0)
        abort();
    reader_main(c); /* until EOF */
    if (!atomic_load(&c->dead))
        abort();
    for (pending *p = c->pending; p; p = p->next)
        if (p->done && (!p->result == !p->error))
            abort();
    astrid_mcp_client_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 60000) /* below the pipe's 64 KiB: no writer thread needed */
        return 0;
    wire(data, size);
    char *toml = NULL, *keys = NULL, name[65];
    astrid_err err = {0};
    if (astrid_mcp_json_to_capsule((const char *)data, size, NULL, &toml, name, &keys, &err) == 0) {
        astrid_manifest *m = astrid_manifest_parse(toml, strlen(toml), "Capsule.toml", &err);
        if (!m)
            abort();
        astrid_manifest_free(m);
    } else if (!err.msg[0]) {
        abort();
    }
    free(toml);
    free(keys);
    return 0;
}
