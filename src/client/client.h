/* Client side of the daemon socket (run/system.sock), used by the CLI and by
 * integration tests. Implemented in src/client/ (client.c,
 * client_call.c): the client floor, on lib only.
 *
 * Wire: every frame is a 4-byte big-endian length and one JSON object. The
 * first frame is the handshake {"token","protocol_version","client_version",
 * "principal"}; the server answers {"status":"ok"|"error","protocol_version",
 * "server_version","reason"?}, or {"status":"challenge","nonce",...} for a
 * principal with keys, answered by {"public_key","signature"} (docs/wire.md
 * "Key authentication"). Afterwards frames are IpcMessages
 * {topic, payload, source_id, principal, timestamp?, seq, signature?}.
 *
 * Ownership: astrid_client is opaque, freed by astrid_client_close(). JSON
 * arguments are borrowed; JSON results are new references the caller
 * json_decref()s.
 */
#ifndef ASTRID_CLIENT_CLIENT_H
#define ASTRID_CLIENT_CLIENT_H

#include <jansson.h>
#include <stdbool.h>

#include "astrid/err.h"

typedef struct astrid_client astrid_client;

typedef struct astrid_client_opts {
    const char *home;      /* resolved $ASTRID_HOME; NULL = astrid_home_resolve() */
    const char *principal; /* claimed principal; NULL = run/cli-context.toml, else "default" */
    bool autostart;        /* start an --ephemeral daemon when none runs */
    int timeout_ms;        /* per-step timeout; 0 = 10000 */
    /* Identity file (astrid/crypto.h) to answer the daemon's challenge;
     * NULL = $ASTRID_IDENTITY, "" = none. With one, the client claims the
     * file's principal and connects to run/agents.sock (no token read),
     * unless `system_socket`; an ephemeral daemon is never started for it. */
    const char *identity;
    bool system_socket; /* with an identity: run/system.sock, token + key */
} astrid_client_opts;

/* Connect (starting an ephemeral daemon when opts->autostart and none runs)
 * and authenticate. A refused handshake is ASTRID_E_PERM with the server's
 * reason. */
int astrid_client_connect(astrid_client **out, const astrid_client_opts *opts, astrid_err *err);
void astrid_client_close(astrid_client *c);

/* Publish one message on `topic` with `payload` (a JSON object). */
int astrid_client_publish(astrid_client *c, const char *topic, const json_t *payload,
                          astrid_err *err);

/* Ask the kernel to forward bus messages matching `pattern` (trailing `.*`
 * allowed) to this connection. Needs the capability the kernel maps it to. */
int astrid_client_subscribe(astrid_client *c, const char *pattern, astrid_err *err);

/* Next IpcMessage frame (a JSON object with at least "topic" and "payload").
 * Frames that do not parse as an IpcMessage are skipped, never fatal.
 * ASTRID_E_TIMEOUT when nothing arrives in `timeout_ms` (<0 = wait forever). */
int astrid_client_recv(astrid_client *c, int timeout_ms, json_t **msg, astrid_err *err);

/* Request/reply: publishes `payload` on `topic` (adding a fresh UUID v4
 * "request_id" when the object has none), then returns the payload of the
 * first message on `reply_topic` whose "request_id" matches (replies without
 * a request_id also match), skipping every other frame. */
int astrid_client_request(astrid_client *c, const char *topic, const json_t *payload,
                          const char *reply_topic, int timeout_ms, json_t **reply, astrid_err *err);

/* ---- the one request helper (client_call.c) ---- */

/* Every management and admin request waits this long for its reply unless
 * the call names its own timeout: upstream admin_client's 15 s, the longer
 * of the two waits the CLI used to have (management requests waited the
 * 10 s step timeout), so that no verb fails early on a busy daemon. */
#define ASTRID_CALL_TIMEOUT_MS 15000

typedef enum astrid_api {
    ASTRID_API_MANAGEMENT, /* astrid.v1.request.<suffix> -> astrid.v1.response.<suffix> */
    ASTRID_API_ADMIN,      /* astrid.v1.admin.<suffix> -> astrid.v1.admin.response.<suffix> */
} astrid_api;

typedef struct astrid_call {
    astrid_api api;
    const char *suffix;      /* topic suffix: "status", "agent.create", ... */
    const char *method;      /* "GetStatus", "AgentCreate", ... */
    const json_t *params;    /* borrowed; NULL: management sends none, admin sends {} */
    const char *want_status; /* NULL: any status but "error"; else it or "success" */
    int timeout_ms;          /* 0: ASTRID_CALL_TIMEOUT_MS; with on_progress: per frame */
    /* Requests the daemon answers later, after progress frames on
     * <reply topic>.progress (the capsule writes, docs/wire.md "Capsule
     * management"): each progress payload of this request is passed here
     * (borrowed) until the reply arrives. NULL: one reply, no progress. */
    void (*on_progress)(json_t *payload, void *user);
    void *progress_user;
    bool message_only; /* an error's text without the "<method>: " prefix */
} astrid_call;

/* Send {"type":"raw_json","method":M,"params"?:P} (plus a fresh
 * request_id) and wait for the matching reply. 0 with *data (a new
 * reference; null when the reply had none) on success. On an error reply,
 * -1 with err->code from the reply's error.kind (astrid_errkind_code:
 * permission_denied -> ASTRID_E_PERM, unavailable -> ASTRID_E_UNSUPPORTED,
 * ...; ASTRID_E_INTERNAL when the reply names no kind) and err->msg the
 * reply's message ("<method>: <message>" for management requests). The
 * message text is never read to classify. A reply without a status or
 * with an unexpected one is ASTRID_E_PARSE. */
int astrid_client_call(astrid_client *c, const astrid_call *call, json_t **data, astrid_err *err);

/* Is a daemon answering on home's socket? */
bool astrid_client_daemon_running(const char *home);

/* Spawn astrid-daemon (found next to the running executable, else on PATH)
 * for `home`, persistent or --ephemeral, and wait (up to 10 s, polling every
 * 50 ms) for run/system.ready. */
int astrid_client_start_daemon(const char *home, bool ephemeral, astrid_err *err);

#endif
