/* MCP client (Model Context Protocol, JSON-RPC 2.0 over stdio, one JSON
 * message per line; docs/mcp.md). Speaks to one server process through two
 * pipe ends; knows nothing of processes, capsules or principals (the
 * kernel's mcp_host.c spawns, supervises and routes).
 *
 * Threads: astrid_mcp_client_new starts one "mcp reader" thread per client:
 * it alone reads the server's stdout, matches responses to waiting callers,
 * forwards progress notifications, answers the server's own requests
 * (ping, roots/list; anything else -32601) and notices
 * notifications/tools/list_changed. Any number of threads may call
 * astrid_mcp_request/call_tool at once: requests carry distinct ids, and
 * `write_lock` keeps their lines whole on the pipe; `pending_lock` guards
 * the table of calls waiting for their response.
 *
 * Hostile servers: a line over `max_frame` bytes (default 16 MiB), a line
 * that is not JSON, a response to an id nobody waits for, a message of no
 * known shape are each logged through `log` and counted (protocol_errors);
 * the client goes on reading. EOF or a read error ends the reader: every
 * waiting call fails with "server exited", later calls fail at once.
 *
 * Ownership: the client owns both fds from astrid_mcp_client_new on (closed
 * by astrid_mcp_client_free, also on failure). JSON results are new
 * references the caller decrefs; json arguments are borrowed.
 */
#ifndef ASTRID_CAPSULE_MCP_MCP_H
#define ASTRID_CAPSULE_MCP_MCP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "astrid/err.h"

#define ASTRID_MCP_MAX_FRAME (16u * 1024u * 1024u)
#define ASTRID_MCP_PROTOCOL "2025-11-25" /* offered at initialize */
/* JSON-RPC error for a method we do not serve */
#define ASTRID_MCP_METHOD_NOT_FOUND (-32601)

typedef struct astrid_mcp_client astrid_mcp_client;

/* level "WARN"/"ERROR"/"INFO"; msg already names the problem. Called from
 * the reader thread or a caller's thread. */
typedef void (*astrid_mcp_log_fn)(void *ctx, const char *level, const char *msg);
/* notifications/progress for a call in flight: `params` borrowed (has
 * progressToken, progress, total?, message?). Reader thread. */
typedef void (*astrid_mcp_progress_fn)(void *ctx, const json_t *params);
/* notifications/tools/list_changed arrived (reader thread: must not call
 * back into this client synchronously; set a flag or wake a thread). */
typedef void (*astrid_mcp_event_fn)(void *ctx);

typedef struct astrid_mcp_opts {
    int to_server;    /* we write requests here (the server's stdin) */
    int from_server;  /* we read here (the server's stdout) */
    const char *name; /* for messages: "server NAME: ..." (copied) */
    /* roots/list answers these directories (absolute host paths, copied;
     * NULL-terminated; NULL = no roots). */
    const char *const *roots;
    size_t max_frame; /* 0 = ASTRID_MCP_MAX_FRAME */
    astrid_mcp_log_fn log;
    astrid_mcp_event_fn tools_changed;
    astrid_mcp_event_fn closed; /* the reader saw EOF or an error */
    void *ctx;                  /* passed to log, tools_changed, closed */
} astrid_mcp_opts;

/* Takes the fds (closed on failure too) and starts the reader. */
astrid_mcp_client *astrid_mcp_client_new(const astrid_mcp_opts *o, astrid_err *err);
/* Closes both fds (the server sees EOF), joins the reader, fails what
 * still waits. No call may be in progress on another thread. */
void astrid_mcp_client_free(astrid_mcp_client *c);
/* Close the server's stdin and wake every waiting caller with an error
 * (any thread); astrid_mcp_client_free afterwards. */
void astrid_mcp_client_shutdown(astrid_mcp_client *c);

/* initialize (offering ASTRID_MCP_PROTOCOL, accepting 2025-11-25,
 * 2025-06-18, 2025-03-26, 2024-11-05), then notifications/initialized.
 * Another version is refused (ASTRID_E_UNSUPPORTED naming it). */
int astrid_mcp_initialize(astrid_mcp_client *c, int timeout_ms, astrid_err *err);
/* The negotiated version ("" before initialize) and the server's
 * serverInfo.name (borrowed, valid while c lives). */
const char *astrid_mcp_protocol(const astrid_mcp_client *c);
const char *astrid_mcp_server_name(const astrid_mcp_client *c);

/* One request: params borrowed (NULL = none). With `progress`, a
 * progressToken goes in params._meta and notifications for it are
 * forwarded. When timeout_ms (> 0) passes first, notifications/cancelled
 * is sent and ASTRID_E_TIMEOUT returned. A JSON-RPC error reply is -1 with
 * its message (ASTRID_E_INVALID; *rpc_code set when non-NULL). *result: the
 * `result` member (new reference). */
int astrid_mcp_request(astrid_mcp_client *c, const char *method, const json_t *params,
                       int timeout_ms, astrid_mcp_progress_fn progress, void *progress_ctx,
                       json_t **result, int *rpc_code, astrid_err *err);
/* A notification (no reply). */
int astrid_mcp_notify(astrid_mcp_client *c, const char *method, const json_t *params,
                      astrid_err *err);

/* tools/list, every page (cursor after cursor, at most 1000 pages): a new
 * array of tool objects as the server sent them. */
int astrid_mcp_list_tools(astrid_mcp_client *c, int timeout_ms, json_t **tools, astrid_err *err);
/* tools/call {name, arguments, _meta?}: `meta` borrowed, merged into
 * params._meta (NULL = none). *result: the CallToolResult. */
int astrid_mcp_call_tool(astrid_mcp_client *c, const char *name, const json_t *arguments,
                         const json_t *meta, int timeout_ms, astrid_mcp_progress_fn progress,
                         void *progress_ctx, json_t **result, astrid_err *err);

/* false once the reader ended (EOF, read error, shutdown). */
bool astrid_mcp_alive(const astrid_mcp_client *c);
/* Hostile or broken input seen so far (oversized, malformed, unknown ids). */
uint64_t astrid_mcp_protocol_errors(const astrid_mcp_client *c);

#endif
