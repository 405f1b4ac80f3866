/* Headless chat: `astrid run PROMPT`, global `-p PROMPT` and piped stdin
 * (reference §14.1 "Headless protocol"): one user.v1.prompt, the answer
 * streamed to stdout, approvals answered approve (-y) or deny, exit 53 when
 * nothing arrives for the timeout, exit 1 on an LLM error. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/distro.h"
#include "cli/chat.h"
#include "lib/config/config.h"
#include "cli/cli_stub.h"

/* All of stdin (it is not a terminal), at most CHAT_PROMPT_MAX bytes. */
static int read_stdin(char **out, astrid_err *err)
{
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    if (!buf)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    for (;;) {
        if (len + 1 >= cap) {
            if (cap > CHAT_PROMPT_MAX) {
                free(buf);
                return astrid_err_set(err, ASTRID_E_LIMIT, "stdin is over %u bytes",
                                      CHAT_PROMPT_MAX);
            }
            char *n = realloc(buf, cap * 2);
            if (!n) {
                free(buf);
                return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
            }
            buf = n;
            cap *= 2;
        }
        ssize_t r = read(STDIN_FILENO, buf + len, cap - len - 1);
        if (r < 0) {
            free(buf);
            return astrid_err_sys(err, "read stdin");
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    buf[len] = '\0';
    if (strlen(buf) != len) {
        free(buf);
        return astrid_err_set(err, ASTRID_E_INVALID, "stdin holds a NUL byte: not a text prompt");
    }
    *out = buf;
    return 0;
}

static long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

typedef struct headless {
    cli_ctx *ctx;
    chat_conn cc;
    char session[CHAT_SESSION_LEN];
    bool json, yes, tty, errtty;
    chat_turn turn;
} headless;

/* One stderr line from pieces, the agent's ones (names, resources, error
 * text) sanitized when stderr is a terminal. NULL pieces are skipped. */
static void errline(headless *h, const char *a, const char *b, const char *c, const char *d,
                    const char *e)
{
    const char *parts[] = {a, b, c, d, e};
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
        if (parts[i])
            chat_write_text(h->ctx->err, parts[i], h->errtty);
    fputc('\n', h->ctx->err);
}

static void answer_approval(headless *h, const chat_ev *ev)
{
    char topic[160];
    json_t *p = NULL;
    astrid_err err;
    const char *decision = h->yes ? "approve" : "deny";
    if (chat_approval_answer(ev->request_id, decision, topic, sizeof topic, &p, &err) < 0) {
        fprintf(h->ctx->err, "[headless] %s\n", err.msg);
        return;
    }
    if (astrid_client_publish(h->cc.c, topic, p, &err) < 0)
        fprintf(h->ctx->err, "[headless] cannot answer the approval: %s\n", err.msg);
    else
        errline(h, "[headless] approval ", ev->action, " ", ev->resource,
                h->yes ? ": approved (--yes)" : ": denied (no --yes)");
    json_decref(p);
}

/* Pretty mode: text to stdout as it streams, tool activity to stderr. */
static void show(headless *h, const chat_ev *ev)
{
    FILE *out = h->ctx->out;
    switch (ev->kind) {
    case CHAT_EV_DELTA:
        chat_write_text(out, ev->text, h->tty);
        fflush(out);
        break;
    case CHAT_EV_FINAL: {
        /* The deltas were the answer: end its line; nothing streamed: print it. */
        const char *shown = h->turn.streamed ? h->turn.text : ev->text;
        size_t n = shown ? strlen(shown) : 0;
        if (!h->turn.streamed)
            chat_write_text(out, ev->text, h->tty);
        if (n == 0 || shown[n - 1] != '\n')
            fputc('\n', out);
        fflush(out);
        break;
    }
    case CHAT_EV_ERROR:
        if (h->turn.streamed && h->turn.len && h->turn.text[h->turn.len - 1] != '\n')
            fputc('\n', out);
        fflush(out);
        break;
    case CHAT_EV_TOOL_START:
        errline(h, "[headless] tool ", ev->tool_name, " started", NULL, NULL);
        break;
    case CHAT_EV_TOOL_END:
        errline(h, "[headless] tool ", ev->tool_name, ev->is_error ? " failed" : " finished", NULL,
                NULL);
        break;
    default:
        break;
    }
}

static int wait_turn(headless *h, int timeout_secs)
{
    astrid_err err;
    long last = mono_ms();
    for (;;) {
        long left = (long)timeout_secs * 1000 - (mono_ms() - last);
        json_t *m = NULL;
        if (left <= 0 || astrid_client_recv(h->cc.c, (int)left, &m, &err) < 0) {
            if (left <= 0 || err.code == ASTRID_E_TIMEOUT) {
                if (h->turn.streamed && !h->json)
                    fputc('\n', h->ctx->out);
                fprintf(h->ctx->err, "[headless] Timed out waiting for response (%ds)\n",
                        timeout_secs);
                return CHAT_EXIT_TIMEOUT;
            }
            return cli_fail(h->ctx, &err);
        }
        chat_ev ev;
        chat_classify(m, h->cc.principal, h->session, &ev);
        if (ev.kind != CHAT_EV_IGNORE)
            last = mono_ms();
        if (ev.kind == CHAT_EV_APPROVAL)
            answer_approval(h, &ev);
        /* Print before folding: show() looks at what was streamed so far. */
        if (!h->json)
            show(h, &ev);
        if (chat_turn_feed(&h->turn, &ev) < 0) {
            json_decref(m);
            fprintf(h->ctx->err, "astrid: out of memory\n");
            return CLI_ERROR;
        }
        json_decref(m);
        if (h->turn.done)
            return h->turn.failed ? CLI_ERROR : CLI_OK;
    }
}

int chat_headless(cli_ctx *ctx, const char *prompt_arg)
{
    headless h = {.ctx = ctx,
                  .json = ctx->format && strcmp(ctx->format, "json") == 0,
                  .yes = ctx->yes,
                  .tty = isatty(fileno(ctx->out)) == 1,
                  .errtty = isatty(fileno(ctx->err)) == 1};
    astrid_err err;
    char *piped = NULL, *text = NULL;
    int timeout, rc;
    if (prompt_arg && ctx->prompt) {
        fprintf(ctx->err, "astrid: give the prompt once: 'astrid run PROMPT' or '-p PROMPT'\n");
        return CLI_ERROR;
    }
    /* timeouts.headless_secs (ASTRID_HEADLESS_TIMEOUT_SECS is its env
     * layer): a typo there must not turn into an endless or instant wait */
    astrid_config *cfg = NULL;
    if (cli_config_load(NULL, &cfg, &err) < 0)
        return cli_fail(ctx, &err);
    timeout = (int)astrid_config_int(cfg, "timeouts.headless_secs");
    astrid_config_free(cfg);
    if (!isatty(STDIN_FILENO) && read_stdin(&piped, &err) < 0)
        return cli_fail(ctx, &err);
    rc = chat_prompt_compose(piped, prompt_arg ? prompt_arg : ctx->prompt, &text, &err);
    free(piped);
    if (rc < 0)
        return cli_fail(ctx, &err);
    chat_session_resolve(ctx->session, h.session);
    if (ctx->print_session)
        fprintf(ctx->err, "[headless] Session: %s\n", h.session);
    chat_turn_init(&h.turn);
    if (chat_conn_open(&h.cc, NULL, true, CHAT_NEED_CHAT, &err) < 0) {
        free(text);
        chat_turn_free(&h.turn);
        return cli_fail(ctx, &err);
    }
    /* Headless leaves an ephemeral daemon to its idle timer (as upstream):
     * the next `-p` in a script reuses it. */
    h.cc.started_daemon = false;
    json_t *p = chat_prompt_payload(text, h.session);
    free(text);
    rc = astrid_client_publish(h.cc.c, "user.v1.prompt", p, &err);
    json_decref(p);
    if (rc < 0)
        rc = cli_fail(ctx, &err);
    else
        rc = wait_turn(&h, timeout);
    if (rc == CLI_ERROR && h.turn.failed)
        errline(&h, "astrid: ", h.turn.text ? h.turn.text : "the turn failed", NULL, NULL, NULL);
    if (h.json && rc != CHAT_EXIT_TIMEOUT && h.turn.done) {
        json_t *o = chat_turn_json(&h.turn, h.session);
        if (o && h.turn.failed)
            json_object_set_new(o, "error", json_true());
        char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        if (s)
            fprintf(ctx->out, "%s\n", s);
        free(s);
        json_decref(o);
    }
    chat_conn_close(&h.cc);
    chat_turn_free(&h.turn);
    return rc;
}

static int do_run(cli_ctx *ctx)
{
    int first = cli_distro_first_run(ctx);
    if (first != CLI_OK)
        return first;
    return chat_headless(ctx, ctx->argv[0]);
}

int chat_root(cli_ctx *ctx)
{
    int first = cli_distro_first_run(ctx);
    if (first != CLI_OK)
        return first;
    if (ctx->prompt || !isatty(STDIN_FILENO))
        return chat_headless(ctx, NULL);
    return chat_tui(ctx);
}

const cli_cmd cli_cmd_run = {
    .name = "run",
    .args = "<prompt>",
    .min_args = 1,
    .max_args = 1,
    .help = "One-shot headless prompt",
    .long_help =
        "Sends PROMPT to the active agent as one user.v1.prompt and prints the answer as it "
        "streams. Piped stdin is prepended (\"{stdin}\\n\\n{prompt}\"). Approvals are denied "
        "unless -y/--yes. Exit 1 on an LLM error, 53 when nothing arrives for 120 s "
        "(ASTRID_HEADLESS_TIMEOUT_SECS).",
    .flags =
        CLI_FLAGS(CLI_F_YES, CLI_F_FORMAT,
                  {"session", 0, "ID_OR_NAME",
                   "Resume a session: a UUID as is, any other name hashed (UUID v5)", false, false},
                  {"print-session", 0, NULL, "Print the session id on stderr", false, false}),
    .fn = do_run};
