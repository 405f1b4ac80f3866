/* `astrid session list|show|delete [-a AGENT]`: an agent's chat sessions,
 * asked of the session capsule over its topics (chat contract:
 * session.v1.request.{list,get_messages,delete} -> session.v1.response.*).
 * The CLI connects AS the target agent, so the capsule (which runs as the
 * message's principal) reads that agent's own store and nobody else's. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/chat.h"
#include "cli/cli_stub.h"
#include "cli/output/output.h"

#define SESSION_TIMEOUT_MS 10000

static int ask(cli_ctx *ctx, const char *what, json_t *payload, json_t **reply)
{
    chat_conn cc;
    astrid_err err;
    char topic[96], prefix[96];
    snprintf(topic, sizeof topic, "session.v1.request.%s", what);
    snprintf(prefix, sizeof prefix, "session.v1.response.%s", what);
    if (chat_conn_open(&cc, cli_flag_str(ctx, "agent"), true, CHAT_NEED_SESSION, &err) < 0) {
        json_decref(payload);
        return cli_fail(ctx, &err);
    }
    int rc =
        chat_conn_request(&cc, topic, payload, prefix, SESSION_TIMEOUT_MS, reply, NULL, NULL, &err);
    json_decref(payload);
    chat_conn_close(&cc);
    return rc < 0 ? cli_fail(ctx, &err) : CLI_OK;
}

static int render(cli_ctx *ctx, const json_t *data)
{
    cli_format fmt;
    astrid_err err;
    if (cli_format_parse(ctx->format, &fmt) < 0)
        return CLI_ERROR;
    return cli_render(ctx->out, data, fmt, &err) < 0 ? cli_fail(ctx, &err) : CLI_OK;
}

static bool pretty(const cli_ctx *ctx)
{
    return !ctx->format || strcmp(ctx->format, "pretty") == 0;
}

static int do_list(cli_ctx *ctx)
{
    json_t *r = NULL;
    int rc = ask(ctx, "list", json_object(), &r);
    if (rc)
        return rc;
    const json_t *sessions = json_object_get(r, "sessions"), *s;
    if (!json_is_array(sessions)) {
        json_decref(r);
        fprintf(ctx->err, "astrid: the session capsule answered without a session list\n");
        return CLI_ERROR;
    }
    if (!pretty(ctx)) {
        rc = render(ctx, sessions);
        json_decref(r);
        return rc;
    }
    if (json_array_size(sessions) == 0)
        fprintf(ctx->out, "No sessions.\n");
    else
        fprintf(ctx->out, "%-36s  %8s  %-19s  %s\n", "SESSION", "MESSAGES", "UPDATED", "TITLE");
    size_t i;
    json_array_foreach(sessions, i, s)
    {
        char when[32] = "-";
        json_int_t ms = json_integer_value(json_object_get(s, "updated_ms"));
        if (ms > 0) {
            time_t secs = (time_t)(ms / 1000);
            struct tm tm;
            if (localtime_r(&secs, &tm))
                strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
        }
        const char *title = json_string_value(json_object_get(s, "title")) ?: "";
        size_t tn = strcspn(title, "\n");
        fprintf(ctx->out, "%-36s  %8lld  %-19s  %.*s\n",
                json_string_value(json_object_get(s, "session_id")) ?: "?",
                (long long)json_integer_value(json_object_get(s, "messages")), when,
                (int)(tn > 60 ? 60 : tn), title);
    }
    json_decref(r);
    return CLI_OK;
}

static int do_show(cli_ctx *ctx)
{
    char id[CHAT_SESSION_LEN];
    json_t *r = NULL;
    chat_session_resolve(ctx->argv[0], id);
    int rc = ask(ctx, "get_messages", json_pack("{s:s}", "session_id", id), &r);
    if (rc)
        return rc;
    const json_t *msgs = json_object_get(r, "messages"), *m;
    if (!json_is_array(msgs)) {
        json_decref(r);
        fprintf(ctx->err, "astrid: the session capsule answered without messages\n");
        return CLI_ERROR;
    }
    if (!pretty(ctx)) {
        json_t *o = json_pack("{s:s,s:O}", "session_id", id, "messages", msgs);
        rc = render(ctx, o);
        json_decref(o);
        json_decref(r);
        return rc;
    }
    if (json_array_size(msgs) == 0) {
        /* The store answers an unknown id with an empty history. */
        fprintf(ctx->err, "astrid: no messages in session %s\n", id);
        json_decref(r);
        return CLI_ERROR;
    }
    fprintf(ctx->out, "Session %s\n", id);
    size_t i;
    json_array_foreach(msgs, i, m)
    {
        const char *role;
        char *text = chat_message_text(m, &role);
        fprintf(ctx->out, "\n%s: %s\n", role, text ? text : "");
        free(text);
    }
    json_decref(r);
    return CLI_OK;
}

static int do_delete(cli_ctx *ctx)
{
    char id[CHAT_SESSION_LEN];
    json_t *r = NULL;
    chat_session_resolve(ctx->argv[0], id);
    int rc = ask(ctx, "delete", json_pack("{s:s}", "session_id", id), &r);
    if (rc)
        return rc;
    bool ok = json_is_true(json_object_get(r, "ok"));
    json_decref(r);
    if (!ok) {
        fprintf(ctx->err, "astrid: no session %s\n", id);
        return CLI_ERROR;
    }
    fprintf(ctx->out, "Deleted session %s.\n", id);
    return CLI_OK;
}

static const cli_cmd se_list = {.name = "list",
                                .max_args = 0,
                                .help = "List an agent's chat sessions",
                                .flags = CLI_FLAGS(CLI_F_AGENT, CLI_F_FORMAT),
                                .fn = do_list};
static const cli_cmd se_delete = {.name = "delete",
                                  .args = "<id>",
                                  .min_args = 1,
                                  .max_args = 1,
                                  .help =
                                      "Delete a session (a UUID, or the name given to --session)",
                                  .flags = CLI_FLAGS(CLI_F_AGENT),
                                  .fn = do_delete};
static const cli_cmd se_show = {.name = "show",
                                .aliases = CLI_ALIASES("info"),
                                .args = "<id>",
                                .min_args = 1,
                                .max_args = 1,
                                .help = "Print a session's transcript",
                                .flags = CLI_FLAGS(CLI_F_AGENT, CLI_F_FORMAT),
                                .fn = do_show};

const cli_cmd cli_cmd_session = {.name = "session",
                                 .help = "Manage chat sessions",
                                 .long_help =
                                     "Sessions live in the session capsule, per agent: -a names "
                                     "the agent (default: the active one).",
                                 .sub = CLI_SUB(&se_list, &se_delete, &se_show)};
