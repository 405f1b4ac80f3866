/* The chat client of issue #16: what `astrid run` / `-p` (headless),
 * `astrid chat` / bare `astrid` (the TUI) and `astrid session` share.
 * Topics and payloads are fixed by the chat contract (docs/chat.md "The
 * CLI"). chat_proto.c holds the parts that need no daemon (session ids,
 * reading frames, the turn record, approval answers) so unit tests drive
 * them directly; chat_conn.c the daemon side.
 *
 * Ownership: chat_ev members are borrowed from the frame they were read
 * from and live as long as it. chat_turn owns its buffers; free with
 * chat_turn_free. Returned json_t are new references.
 */
#ifndef ASTRID_CLI_CHAT_H
#define ASTRID_CLI_CHAT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "astrid/err.h"
#include "astrid/uuid.h"
#include "cli/cli.h"
#include "client/client.h"

#define CHAT_SESSION_LEN ASTRID_UUID_STR_LEN
/* Exit code of a headless run that heard nothing for the timeout (§14.1). */
#define CHAT_EXIT_TIMEOUT 53
/* Largest prompt we send: the bus refuses payloads over 5 MiB. */
#define CHAT_PROMPT_MAX (4u << 20)

/* --session ID_OR_NAME: a UUID is used as is (lowercased), any other text
 * names a stable session, UUID v5 of the name in the URL namespace; NULL or
 * "" is a fresh v4 session. */
void chat_session_resolve(const char *arg, char out[CHAT_SESSION_LEN]);

/* The prompt of a headless run: `prompt` (-p or run's argument), `piped`
 * (stdin when it is not a terminal; NULL otherwise). Both: "{stdin}\n\n{prompt}"
 * (upstream's order); trailing whitespace of stdin dropped. Neither, or only
 * whitespace: an error. *out is malloc'd. */
int chat_prompt_compose(const char *piped, const char *prompt, char **out, astrid_err *err);

/* user.v1.prompt payloads. */
json_t *chat_prompt_payload(const char *text, const char *session_id);
json_t *chat_cancel_payload(const char *session_id);

typedef enum chat_ev_kind {
    CHAT_EV_IGNORE = 0,     /* not ours (other principal or session) or not chat */
    CHAT_EV_DELTA,          /* text: the new text only */
    CHAT_EV_FINAL,          /* text: the whole answer of the turn */
    CHAT_EV_ERROR,          /* final with an LLM error; text "LLM error: ..." */
    CHAT_EV_TOOL_START,     /* call_id, tool_name, arguments */
    CHAT_EV_TOOL_END,       /* ... + content, is_error */
    CHAT_EV_USAGE,          /* model, provider, input/output_tokens */
    CHAT_EV_APPROVAL,       /* request_id, action, resource, reason */
    CHAT_EV_PUBLISH_FAILED, /* the daemon refused our user.v1.prompt or a capsule failed on it */
} chat_ev_kind;

typedef struct chat_ev {
    chat_ev_kind kind;
    const char *text;
    const char *call_id, *tool_name, *content;
    const json_t *arguments;
    bool is_error;
    json_int_t input_tokens, output_tokens;
    const char *model, *provider;
    const char *request_id, *action, *resource, *reason;
} chat_ev;

/* Read one received IpcMessage as seen by `principal`'s client in session
 * `session_id`. Messages stamped with another principal, or carrying
 * another session_id, are IGNORE: the kernel routes chat traffic by
 * principal (frontend delivery), this is the second lock on the door for a
 * connection that also holds system:bus. Malformed chat payloads (missing
 * or mistyped members) are IGNORE, never a crash. */
void chat_classify(const json_t *msg, const char *principal, const char *session_id, chat_ev *ev);

/* One turn as the headless run reports it. */
typedef struct chat_turn {
    char *text; /* deltas so far, then the final text */
    size_t len, cap;
    bool done, failed, streamed;
    json_t *tool_calls; /* [{call_id, tool_name, arguments, content?, is_error?}] */
    json_int_t input_tokens, output_tokens;
    char model[128], provider[64];
} chat_turn;

void chat_turn_init(chat_turn *t);
void chat_turn_free(chat_turn *t);
/* Fold an event into the turn. Returns -1 only on allocation failure. */
int chat_turn_feed(chat_turn *t, const chat_ev *ev);
/* --format json: {"response","tool_calls","session_id","usage"}. */
json_t *chat_turn_json(const chat_turn *t, const char *session_id);

/* The answer to an approval prompt: topic astrid.v1.approval.response.<id>
 * and its approval_response payload. A request_id that is not a plain
 * token (letters, digits, '-', '_', at most 64) or an unknown decision is
 * refused: it would become part of a topic we publish on. */
int chat_approval_answer(const char *request_id, const char *decision, char *topic, size_t tsz,
                         json_t **payload, astrid_err *err);

/* One stored Message (reference §4.2: role + untagged content: a string,
 * [ToolCall], a ToolCallResult or [ContentPart]) as display text, e.g.
 * "I read it." or "[tool call read_file {\"path\":\"README.md\"}]".
 * malloc'd; NULL on allocation failure. *role is borrowed ("?" if absent). */
char *chat_message_text(const json_t *msg, const char **role);

/* Write model or tool text to a terminal: C0 controls but '\n' and '\t',
 * DEL and the C1 controls (U+0080..U+009F) become '?', so an answer cannot
 * drive the operator's terminal with escape sequences. `tty` false writes
 * the text unchanged (a pipe gets the bytes the agent sent). */
void chat_write_text(FILE *f, const char *s, bool tty);

/* ---- daemon side (chat_conn.c) ---- */

/* A chat client connected as `principal` (NULL: the active agent). */
typedef struct chat_conn {
    astrid_client *c;
    char home[4096];
    char principal[65];
    bool started_daemon; /* we started an ephemeral daemon: stop it when done */
} chat_conn;

/* Connect, starting an ephemeral daemon when none runs (`autostart`), and
 * subscribe to `need` (CHAT_NEED_CHAT or CHAT_NEED_SESSION; refused is an
 * error) and, best effort, the other frontend patterns
 * (astrid.v1.approval, session.v1.response.*, registry.v1.response.*,
 * registry.v1.active_model_changed). */
#define CHAT_NEED_CHAT "agent.v1.*"
#define CHAT_NEED_SESSION "session.v1.response.*"
int chat_conn_open(chat_conn *cc, const char *principal, bool autostart, const char *need,
                   astrid_err *err);
/* Close; when this connection started the daemon, ask it to shut down. */
void chat_conn_close(chat_conn *cc);

/* A request on a frontend topic answered on <reply_prefix>.<correlation_id>
 * (session.v1.request.* -> session.v1.response.*, registry ...): adds a
 * fresh correlation_id to `payload` (borrowed), subscribes the reply
 * pattern, waits up to timeout_ms. Other frames are handed to `other`
 * (may be NULL) so a TUI loses no chat frame meanwhile. */
int chat_conn_request(chat_conn *cc, const char *topic, const json_t *payload,
                      const char *reply_prefix, int timeout_ms, json_t **reply,
                      void (*other)(json_t *msg, void *user), void *user, astrid_err *err);

/* ---- commands ---- */
int chat_headless(cli_ctx *ctx, const char *prompt_arg);
int chat_tui(cli_ctx *ctx);
/* Bare `astrid`: headless when -p is given or stdin is not a terminal. */
int chat_root(cli_ctx *ctx);

#endif
