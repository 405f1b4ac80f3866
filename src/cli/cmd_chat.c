/* `astrid chat` and bare `astrid` at a terminal: the interactive client.
 *
 * The screen is ncursesw (transcript, status line, input line). The input
 * line is our own small editor (insert, delete, cursor keys, Home/End,
 * Ctrl-A/E/U/K/W, history on Up/Down): libedit and readline drive the tty
 * themselves and fight curses for the screen, and curses' getnstr has no
 * history or cursor movement.
 *
 * One thread: the loop waits up to 30 ms for a key, then drains the frames
 * the daemon sent (astrid_client_recv with a 1 ms wait), then redraws when
 * something changed. Requests to capsules (/models, /model, /clear, the
 * history of a resumed session) are asynchronous: a correlation id waits in
 * `pend` until its reply arrives or 15 s pass, so a missing capsule never
 * freezes the screen. The terminal is in raw mode, so Ctrl-C is a key, not
 * a signal: the first cancels the turn, a second one exits. */
#define NCURSES_WIDECHAR 1
#include <ncursesw/curses.h>

#include <langinfo.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <stdarg.h>
#include <wchar.h>
#include <wctype.h>

#include "cli/distro.h"
#include "cli/chat.h"
#include "cli/cli_stub.h"

#define INPUT_MAX 4096
#define HIST_MAX 200
#define APPR_MAX 16
#define PEND_MAX 16
#define REQ_TIMEOUT_MS 15000
#define FOLD_ARGS 60
#define FOLD_RESULT 80

enum ent_kind { E_USER, E_AGENT, E_TOOL, E_INFO, E_ERROR };
enum pend_kind { P_STATUS, P_MODELS, P_SET_MODEL, P_CLEAR, P_HISTORY };

typedef struct ent {
    enum ent_kind kind;
    char *text; /* E_TOOL: the tool name */
    char *args, *content;
    char call_id[96];
    bool done, is_error;
} ent;

typedef struct pend {
    char reply[160]; /* exact reply topic */
    char topic[96];  /* what we published, to match a refusal */
    enum pend_kind kind;
    long deadline;
} pend;

typedef struct approval {
    char id[65];
} approval;

typedef struct tui {
    cli_ctx *ctx;
    chat_conn cc;
    bool own_daemon;
    char session[CHAT_SESSION_LEN];
    ent *ents;
    size_t nent, capent;
    long agent_ent; /* entry the current answer streams into, -1 none */
    bool busy, unfold, dirty, quit, colors;
    int ctrlc;
    int scroll; /* visual lines scrolled back from the bottom */
    wchar_t in[INPUT_MAX];
    size_t inlen, cur;
    char *hist[HIST_MAX];
    size_t nhist;
    size_t hpos; /* == nhist: editing a new line */
    approval appr[APPR_MAX];
    size_t nappr;
    pend pend[PEND_MAX];
    size_t npend;
    char model[128], provider[64];
    json_int_t tok_in, tok_out;
    json_t *commands; /* GetCommands: [{name, description, ...}] */
    char exit_msg[ASTRID_ERR_MSG_MAX];
} tui;

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* ---------------------------------------------------------------- transcript */

static ent *add_ent(tui *t, enum ent_kind k, const char *text)
{
    if (t->nent == t->capent) {
        size_t nc = t->capent ? t->capent * 2 : 64;
        ent *n = realloc(t->ents, nc * sizeof *n);
        if (!n)
            return NULL;
        t->ents = n;
        t->capent = nc;
    }
    ent *e = &t->ents[t->nent];
    memset(e, 0, sizeof *e);
    e->kind = k;
    e->text = strdup(text ? text : "");
    if (!e->text)
        return NULL;
    t->nent++;
    t->dirty = true;
    t->scroll = 0;
    return e;
}

static void infof(tui *t, enum ent_kind k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void infof(tui *t, enum ent_kind k, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    add_ent(t, k, buf);
}

static void append_text(tui *t, ent *e, const char *s)
{
    size_t a = strlen(e->text), b = strlen(s);
    char *n = realloc(e->text, a + b + 1);
    if (!n)
        return;
    memcpy(n + a, s, b + 1);
    e->text = n;
    t->dirty = true;
    t->scroll = 0;
}

static void clear_transcript(tui *t)
{
    for (size_t i = 0; i < t->nent; i++) {
        free(t->ents[i].text);
        free(t->ents[i].args);
        free(t->ents[i].content);
    }
    t->nent = 0;
    t->agent_ent = -1;
    t->dirty = true;
}

/* ---------------------------------------------------------------- drawing */

typedef struct vrow {
    const char *p;
    size_t n;
    attr_t attr;
    const char *prefix;
} vrow;

typedef struct vrows {
    vrow *v;
    size_t n, cap;
} vrows;

static void vpush(vrows *vl, const char *p, size_t n, attr_t a, const char *prefix)
{
    if (vl->n == vl->cap) {
        size_t nc = vl->cap ? vl->cap * 2 : 256;
        vrow *x = realloc(vl->v, nc * sizeof *x);
        if (!x)
            return;
        vl->v = x;
        vl->cap = nc;
    }
    vl->v[vl->n++] = (vrow){p, n, a, prefix};
}

/* Columns of one UTF-8 character at p (len bytes available); *adv = bytes. */
static int char_cols(const char *p, size_t len, size_t *adv)
{
    mbstate_t st;
    wchar_t wc;
    memset(&st, 0, sizeof st);
    size_t r = mbrtowc(&wc, p, len, &st);
    if (r == (size_t)-1 || r == (size_t)-2 || r == 0) {
        *adv = 1;
        return 1;
    }
    *adv = r;
    int w = wcwidth(wc);
    return w < 0 ? 1 : w;
}

/* Wrap `text` (which may hold newlines) to `width` columns after a prefix. */
static void wrap(vrows *vl, const char *text, int width, attr_t a, const char *first,
                 const char *rest)
{
    const char *prefix = first;
    int pw = (int)strlen(first);
    const char *s = text;
    do {
        const char *nl = strchr(s, '\n');
        size_t linelen = nl ? (size_t)(nl - s) : strlen(s);
        size_t off = 0;
        do {
            int cols = 0, avail = width - pw > 8 ? width - pw : 8;
            size_t start = off, lastsp = 0;
            while (off < linelen) {
                size_t adv;
                int w = char_cols(s + off, linelen - off, &adv);
                if (cols + w > avail)
                    break;
                if (s[off] == ' ')
                    lastsp = off + 1;
                cols += w;
                off += adv;
            }
            if (off < linelen && lastsp > start)
                off = lastsp; /* break at the last space */
            vpush(vl, s + start, off - start, a, prefix);
            prefix = rest;
            pw = (int)strlen(rest);
        } while (off < linelen);
        s = nl ? nl + 1 : NULL;
    } while (s);
}

static char *fold(const char *s, size_t max, bool one_line)
{
    size_t n = strlen(s), lines = 0;
    const char *nl = one_line ? strchr(s, '\n') : NULL;
    size_t cut = nl ? (size_t)(nl - s) : n;
    for (const char *p = s; (p = strchr(p, '\n')); p++)
        lines++;
    if (cut > max)
        cut = max;
    while (cut > 0 && cut < n && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--; /* never split a UTF-8 character */
    char *out = malloc(cut + 48);
    if (!out)
        return NULL;
    if (cut < n && lines)
        snprintf(out, cut + 48, "%.*s… (+%zu lines)", (int)cut, s, lines);
    else if (cut < n)
        snprintf(out, cut + 48, "%.*s…", (int)cut, s);
    else
        snprintf(out, cut + 48, "%s", s);
    return out;
}

/* The tool entry's text as shown: folded unless Ctrl-O unfolded them. */
static char *tool_text(const tui *t, const ent *e)
{
    char *a =
        t->unfold ? strdup(e->args ? e->args : "") : fold(e->args ? e->args : "", FOLD_ARGS, true);
    char *c = NULL;
    if (e->done)
        c = t->unfold ? strdup(e->content ? e->content : "")
                      : fold(e->content ? e->content : "", FOLD_RESULT, true);
    size_t n = strlen(e->text) + (a ? strlen(a) : 0) + (c ? strlen(c) : 0) + 32;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s %s %s%s%s", e->done ? (e->is_error ? "✗" : "✓") : "⚙", e->text,
                 a ? a : "", e->done ? (t->unfold ? "\n→ " : " → ") : " …", c ? c : "");
    free(a);
    free(c);
    return s;
}

static attr_t color(const tui *t, int pair, attr_t fallback)
{
    return t->colors ? COLOR_PAIR(pair) : fallback;
}

static void draw(tui *t)
{
    int H = LINES - 2, W = COLS;
    vrows vl = {0};
    char **tmp = calloc(t->nent ? t->nent : 1, sizeof *tmp);
    erase();
    for (size_t i = 0; tmp && i < t->nent; i++) {
        const ent *e = &t->ents[i];
        switch (e->kind) {
        case E_USER:
            wrap(&vl, e->text, W, A_BOLD, "> ", "  ");
            break;
        case E_AGENT:
            wrap(&vl, e->text, W, A_NORMAL, "", "");
            break;
        case E_TOOL:
            tmp[i] = tool_text(t, e);
            if (tmp[i])
                wrap(&vl, tmp[i], W, color(t, 1, A_DIM), "  ", "    ");
            break;
        case E_INFO:
            wrap(&vl, e->text, W, color(t, 2, A_DIM), "  · ", "    ");
            break;
        case E_ERROR:
            wrap(&vl, e->text, W, color(t, 3, A_BOLD), "  ! ", "    ");
            break;
        }
    }
    int maxscroll = (int)vl.n > H ? (int)vl.n - H : 0;
    if (t->scroll > maxscroll)
        t->scroll = maxscroll;
    size_t end = vl.n - (size_t)t->scroll;
    size_t start = end > (size_t)H ? end - (size_t)H : 0;
    for (size_t i = start; i < end; i++) {
        int y = (int)(i - start);
        attrset(vl.v[i].attr);
        mvaddstr(y, 0, vl.v[i].prefix);
        addnstr(vl.v[i].p, (int)vl.v[i].n);
    }
    attrset(A_NORMAL);
    /* Status: agent, model, session, tokens, what the agent is doing. */
    char st[512];
    snprintf(st, sizeof st, " %s │ model %s%s%s │ session %.8s │ tokens %lld in / %lld out │ %s%s",
             t->cc.principal, *t->provider ? t->provider : "", *t->provider ? "/" : "",
             *t->model ? t->model : "?", t->session, (long long)t->tok_in, (long long)t->tok_out,
             t->nappr  ? "approval needed"
             : t->busy ? "thinking…"
                       : "ready",
             t->scroll ? " │ scrolled (PgDn)" : "");
    attrset(A_REVERSE);
    mvhline(H, 0, ' ', W);
    mvaddnstr(H, 0, st, -1);
    attrset(A_NORMAL);
    move(H + 1, 0);
    clrtoeol();
    if (t->nappr) {
        attrset(A_BOLD);
        mvaddstr(H + 1, 0, "[y] once  [s] session  [w] workspace  [a] always  [n] deny");
        attrset(A_NORMAL);
    } else {
        mvaddstr(H + 1, 0, "> ");
        int avail = W - 3 > 1 ? W - 3 : 1;
        size_t first = t->cur > (size_t)avail ? t->cur - (size_t)avail : 0;
        size_t n = t->inlen - first;
        mvaddnwstr(H + 1, 2, t->in + first, (int)(n > (size_t)avail ? (size_t)avail : n));
        move(H + 1, 2 + (int)(t->cur - first));
    }
    refresh();
    for (size_t i = 0; tmp && i < t->nent; i++)
        free(tmp[i]);
    free(tmp);
    free(vl.v);
    t->dirty = false;
}

/* ---------------------------------------------------------------- requests */

static void request(tui *t, const char *topic, json_t *payload, const char *reply_prefix,
                    enum pend_kind kind)
{
    astrid_err err;
    char corr[ASTRID_UUID_STR_LEN];
    if (t->npend == PEND_MAX) {
        infof(t, E_ERROR, "too many requests in flight; try again");
        json_decref(payload);
        return;
    }
    astrid_uuid_v4(corr);
    json_object_set_new(payload, "correlation_id", json_string(corr));
    if (astrid_client_publish(t->cc.c, topic, payload, &err) < 0) {
        infof(t, E_ERROR, "%s: %s", topic, err.msg);
    } else {
        pend *p = &t->pend[t->npend++];
        snprintf(p->reply, sizeof p->reply, "%s.%s", reply_prefix, corr);
        snprintf(p->topic, sizeof p->topic, "%s", topic);
        p->kind = kind;
        p->deadline = now_ms() + REQ_TIMEOUT_MS;
    }
    json_decref(payload);
}

static void set_active(tui *t, const json_t *a)
{
    const char *m = json_string_value(json_object_get(a, "model"));
    const char *p = json_string_value(json_object_get(a, "provider"));
    if (m)
        snprintf(t->model, sizeof t->model, "%s", m);
    if (p)
        snprintf(t->provider, sizeof t->provider, "%s", p);
    t->dirty = true;
}

static void show_models(tui *t, const json_t *r)
{
    const json_t *provs = json_object_get(r, "providers"), *prov;
    size_t i;
    set_active(t, json_object_get(r, "active"));
    if (!json_array_size(provs)) {
        infof(t, E_INFO, "no LLM provider capsule answered (install one, e.g. openai-compat)");
        return;
    }
    infof(t, E_INFO, "models (* = active; /model NAME to switch):");
    json_array_foreach(provs, i, prov)
    {
        const char *pid = json_string_value(json_object_get(prov, "id")) ?: "?";
        const json_t *models = json_object_get(prov, "models"), *m;
        size_t j;
        json_array_foreach(models, j, m)
        {
            const char *mid = json_string_value(json_object_get(m, "id")) ?: "?";
            bool act = strcmp(pid, t->provider) == 0 && strcmp(mid, t->model) == 0;
            infof(t, E_INFO, "%s %s/%s", act ? "*" : " ", pid, mid);
        }
    }
}

static void show_history(tui *t, const json_t *r)
{
    const json_t *msgs = json_object_get(r, "messages"), *m;
    size_t i;
    json_array_foreach(msgs, i, m)
    {
        const char *role;
        char *s = chat_message_text(m, &role);
        if (!s)
            continue;
        if (strcmp(role, "user") == 0)
            add_ent(t, E_USER, s);
        else if (strcmp(role, "assistant") == 0)
            add_ent(t, E_AGENT, s);
        else if (strcmp(role, "system") != 0)
            infof(t, E_INFO, "%s", s);
        free(s);
    }
    infof(t, E_INFO, "resumed session %s (%zu messages)", t->session, json_array_size(msgs));
}

static bool reply_of_pending(tui *t, const char *topic, const json_t *pl)
{
    for (size_t i = 0; i < t->npend; i++) {
        if (strcmp(t->pend[i].reply, topic) != 0)
            continue;
        enum pend_kind k = t->pend[i].kind;
        t->pend[i] = t->pend[--t->npend];
        switch (k) {
        case P_STATUS:
            set_active(t, json_object_get(pl, "active"));
            break;
        case P_MODELS:
            show_models(t, pl);
            break;
        case P_SET_MODEL:
            if (json_is_true(json_object_get(pl, "ok"))) {
                set_active(t, json_object_get(pl, "active"));
                infof(t, E_INFO, "model: %s/%s", t->provider, t->model);
            } else {
                infof(t, E_ERROR, "/model: %s",
                      json_string_value(json_object_get(pl, "error")) ?: "refused");
            }
            break;
        case P_CLEAR:
            infof(t, E_INFO,
                  json_is_true(json_object_get(pl, "ok"))
                      ? "session history cleared"
                      : "the session capsule did not clear the history");
            break;
        case P_HISTORY:
            show_history(t, pl);
            break;
        }
        return true;
    }
    return false;
}

/* The daemon refused one of our requests (astrid.v1.connection.response.
 * publish, private to this connection): say why now instead of waiting. */
static bool refusal_of_pending(tui *t, const char *topic, const json_t *pl)
{
    const char *what = json_string_value(json_object_get(pl, "topic"));
    const char *st = json_string_value(json_object_get(pl, "status"));
    if (strcmp(topic, "astrid.v1.connection.response.publish") != 0 || !what || !st ||
        strcmp(st, "error") != 0)
        return false;
    for (size_t i = 0; i < t->npend; i++) {
        if (strcmp(t->pend[i].topic, what) != 0)
            continue;
        if (t->pend[i].kind != P_STATUS)
            infof(t, E_ERROR, "%s: %s", what,
                  json_string_value(json_object_get(pl, "data")) ?: "refused by the daemon");
        t->pend[i] = t->pend[--t->npend];
        return true;
    }
    return false;
}

static void expire_pending(tui *t)
{
    long now = now_ms();
    for (size_t i = 0; i < t->npend;) {
        if (t->pend[i].deadline > now) {
            i++;
            continue;
        }
        if (t->pend[i].kind != P_STATUS) /* the status probe stays silent */
            infof(t, E_ERROR, "no answer on %s (is the capsule that serves it installed?)",
                  t->pend[i].reply);
        t->pend[i] = t->pend[--t->npend];
    }
}

/* ---------------------------------------------------------------- frames */

static void on_frame(tui *t, const json_t *m)
{
    chat_ev ev;
    chat_classify(m, t->cc.principal, t->session, &ev);
    ent *e;
    switch (ev.kind) {
    case CHAT_EV_DELTA:
        if (t->agent_ent < 0) {
            if (!add_ent(t, E_AGENT, ""))
                return;
            t->agent_ent = (long)t->nent - 1;
        }
        append_text(t, &t->ents[t->agent_ent], ev.text);
        break;
    case CHAT_EV_FINAL:
        if (t->agent_ent < 0)
            add_ent(t, E_AGENT, ev.text);
        t->agent_ent = -1;
        t->busy = false;
        t->dirty = true;
        break;
    case CHAT_EV_ERROR:
    case CHAT_EV_PUBLISH_FAILED:
        add_ent(t, E_ERROR, ev.text);
        t->agent_ent = -1;
        t->busy = false;
        break;
    case CHAT_EV_TOOL_START:
    case CHAT_EV_TOOL_END:
        e = NULL;
        for (size_t i = t->nent; i-- > 0;)
            if (t->ents[i].kind == E_TOOL && strcmp(t->ents[i].call_id, ev.call_id) == 0) {
                e = &t->ents[i];
                break;
            }
        if (!e) {
            if (!(e = add_ent(t, E_TOOL, ev.tool_name)))
                return;
            snprintf(e->call_id, sizeof e->call_id, "%s", ev.call_id);
            e->args =
                ev.arguments ? json_dumps(ev.arguments, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        }
        if (ev.kind == CHAT_EV_TOOL_END) {
            e->done = true;
            e->is_error = ev.is_error;
            free(e->content);
            e->content = strdup(ev.content ? ev.content : "");
        }
        t->agent_ent = -1; /* text after a tool is a new paragraph */
        t->dirty = true;
        break;
    case CHAT_EV_USAGE:
        t->tok_in += ev.input_tokens;
        t->tok_out += ev.output_tokens;
        if (ev.model && *ev.model)
            snprintf(t->model, sizeof t->model, "%s", ev.model);
        if (ev.provider && *ev.provider)
            snprintf(t->provider, sizeof t->provider, "%s", ev.provider);
        t->dirty = true;
        break;
    case CHAT_EV_APPROVAL:
        if (t->nappr == APPR_MAX || strlen(ev.request_id) >= sizeof t->appr[0].id) {
            infof(t, E_ERROR, "approval %s dropped (too many waiting); it will be denied",
                  ev.request_id);
            break;
        }
        snprintf(t->appr[t->nappr++].id, sizeof t->appr[0].id, "%s", ev.request_id);
        /* Keys typed before the question was on screen must not answer it. */
        if (t->nappr == 1)
            flushinp();
        infof(t, E_ERROR, "the agent asks to %s %s%s%s", ev.action, ev.resource,
              *ev.reason ? ": " : "", ev.reason);
        break;
    case CHAT_EV_IGNORE: {
        const char *topic = json_string_value(json_object_get(m, "topic")) ?: "";
        const json_t *pl = json_object_get(m, "payload");
        const char *who = json_string_value(json_object_get(m, "principal"));
        if (who && strcmp(who, t->cc.principal) != 0)
            break;
        if (!reply_of_pending(t, topic, pl) && !refusal_of_pending(t, topic, pl) &&
            strcmp(topic, "registry.v1.active_model_changed") == 0)
            set_active(t, pl);
        break;
    }
    }
}

static void drain(tui *t)
{
    for (int i = 0; i < 256; i++) {
        json_t *m = NULL;
        astrid_err err;
        if (astrid_client_recv(t->cc.c, 1, &m, &err) < 0) {
            if (err.code != ASTRID_E_TIMEOUT) {
                snprintf(t->exit_msg, sizeof t->exit_msg, "%s", err.msg);
                t->quit = true;
            }
            return;
        }
        on_frame(t, m);
        json_decref(m);
    }
}

/* ---------------------------------------------------------------- commands */

static void send_prompt(tui *t, const char *text)
{
    astrid_err err;
    json_t *p = chat_prompt_payload(text, t->session);
    add_ent(t, E_USER, text);
    if (astrid_client_publish(t->cc.c, "user.v1.prompt", p, &err) < 0) {
        infof(t, E_ERROR, "%s", err.msg);
    } else {
        t->busy = true;
        t->agent_ent = -1;
    }
    json_decref(p);
}

static void new_session(tui *t, const char *id_or_name)
{
    chat_session_resolve(id_or_name, t->session);
    clear_transcript(t);
    t->tok_in = t->tok_out = 0;
    t->busy = false;
    if (id_or_name)
        request(t, "session.v1.request.get_messages", json_pack("{s:s}", "session_id", t->session),
                "session.v1.response.get_messages", P_HISTORY);
    else
        infof(t, E_INFO, "new session %s", t->session);
}

static void switch_agent(tui *t, const char *name)
{
    chat_conn next;
    astrid_err err;
    if (chat_conn_open(&next, name, false, CHAT_NEED_CHAT, &err) < 0) {
        infof(t, E_ERROR, "/agent %s: %s", name, err.msg);
        return;
    }
    t->cc.started_daemon = false; /* the daemon stays ours to stop at exit */
    chat_conn_close(&t->cc);
    t->cc = next;
    t->model[0] = t->provider[0] = '\0';
    t->nappr = t->npend = 0;
    new_session(t, NULL);
    infof(t, E_INFO, "now talking to agent %s", t->cc.principal);
    request(t, "registry.v1.get_providers", json_object(), "registry.v1.response.get_providers",
            P_STATUS);
}

static void help(tui *t)
{
    infof(t, E_INFO, "/models            list the providers' models");
    infof(t, E_INFO, "/model NAME        switch this agent's model");
    infof(t, E_INFO, "/session [ID]      show the session id, or resume session ID (or name)");
    infof(t, E_INFO, "/new               start a new session");
    infof(t, E_INFO, "/clear             clear this session's history");
    infof(t, E_INFO, "/agent NAME        talk to another agent");
    infof(t, E_INFO, "/quit              exit (also Ctrl-D on an empty line, Ctrl-C twice)");
    infof(t, E_INFO, "keys: Ctrl-C cancels the turn, Ctrl-O unfolds tool calls, PgUp/PgDn scroll");
    size_t i;
    const json_t *c;
    json_array_foreach(t->commands, i, c)
    {
        const char *n = json_string_value(json_object_get(c, "name"));
        if (n)
            infof(t, E_INFO, "/%-17s %s", n[0] == '/' ? n + 1 : n,
                  json_string_value(json_object_get(c, "description")) ?: "(capsule command)");
    }
}

static void slash(tui *t, char *line)
{
    char *arg = line + strcspn(line, " \t");
    if (*arg) {
        *arg++ = '\0';
        arg += strspn(arg, " \t");
    }
    char *end = arg + strlen(arg);
    while (end > arg && (end[-1] == ' ' || end[-1] == '\t'))
        *--end = '\0';
    const char *cmd = line + 1;
    if (strcmp(cmd, "quit") == 0 || strcmp(cmd, "exit") == 0) {
        t->quit = true;
    } else if (strcmp(cmd, "help") == 0) {
        help(t);
    } else if (strcmp(cmd, "models") == 0) {
        request(t, "registry.v1.get_providers", json_object(), "registry.v1.response.get_providers",
                P_MODELS);
    } else if (strcmp(cmd, "model") == 0) {
        if (!*arg)
            infof(t, E_INFO, "model: %s%s%s (/models lists them)", t->provider,
                  *t->provider ? "/" : "", *t->model ? t->model : "unknown");
        else
            request(t, "registry.v1.set_active_model", json_pack("{s:s}", "model", arg),
                    "registry.v1.response.set_active_model", P_SET_MODEL);
    } else if (strcmp(cmd, "session") == 0) {
        if (*arg)
            new_session(t, arg);
        else
            infof(t, E_INFO, "session %s (resume with: astrid chat -s %s)", t->session, t->session);
    } else if (strcmp(cmd, "new") == 0) {
        new_session(t, NULL);
    } else if (strcmp(cmd, "clear") == 0) {
        clear_transcript(t);
        request(t, "session.v1.request.clear", json_pack("{s:s}", "session_id", t->session),
                "session.v1.response.clear", P_CLEAR);
    } else if (strcmp(cmd, "agent") == 0) {
        if (*arg)
            switch_agent(t, arg);
        else
            infof(t, E_INFO, "agent %s", t->cc.principal);
    } else {
        /* A capsule's [[command]]: upstream sends it as user_input on
         * cli.v1.command.execute; the capsule answers on agent.v1.response. */
        astrid_err err;
        char full[INPUT_MAX * 4];
        snprintf(full, sizeof full, "%s%s%s", line, *arg ? " " : "", arg);
        json_t *p = chat_prompt_payload(full, t->session);
        if (astrid_client_publish(t->cc.c, "cli.v1.command.execute", p, &err) < 0)
            infof(t, E_ERROR, "%s", err.msg);
        else
            infof(t, E_INFO, "sent %s to the capsules", line);
        json_decref(p);
    }
}

/* ---------------------------------------------------------------- input */

static void hist_add(tui *t, const char *s)
{
    if (t->nhist && strcmp(t->hist[t->nhist - 1], s) == 0)
        return;
    if (t->nhist == HIST_MAX) {
        free(t->hist[0]);
        memmove(t->hist, t->hist + 1, (HIST_MAX - 1) * sizeof *t->hist);
        t->nhist--;
    }
    char *d = strdup(s);
    if (d)
        t->hist[t->nhist++] = d;
}

static void set_input(tui *t, const char *s)
{
    size_t n = mbstowcs(t->in, s, INPUT_MAX - 1);
    t->inlen = t->cur = n == (size_t)-1 ? 0 : n;
}

static void submit(tui *t)
{
    char line[INPUT_MAX * 4];
    t->in[t->inlen] = L'\0';
    size_t n = wcstombs(line, t->in, sizeof line - 1);
    if (n == (size_t)-1) {
        infof(t, E_ERROR, "the line holds characters this terminal's locale cannot encode");
        return;
    }
    line[n] = '\0';
    t->inlen = t->cur = 0;
    t->hpos = t->nhist;
    if (strspn(line, " \t") == n)
        return;
    hist_add(t, line);
    t->hpos = t->nhist;
    if (line[0] == '/') {
        slash(t, line);
    } else if (t->busy) {
        infof(t, E_INFO, "the agent is still answering (Ctrl-C cancels the turn)");
        set_input(t, line);
    } else {
        send_prompt(t, line);
    }
}

static void answer(tui *t, const char *decision)
{
    char topic[160];
    json_t *p = NULL;
    astrid_err err;
    approval a = t->appr[0];
    memmove(t->appr, t->appr + 1, (t->nappr - 1) * sizeof *t->appr);
    t->nappr--;
    if (chat_approval_answer(a.id, decision, topic, sizeof topic, &p, &err) < 0 ||
        astrid_client_publish(t->cc.c, topic, p, &err) < 0)
        infof(t, E_ERROR, "approval: %s", err.msg);
    else
        infof(t, E_INFO, "approval: %s", decision);
    json_decref(p);
}

static void ctrl_c(tui *t)
{
    astrid_err err;
    if (t->busy) {
        json_t *p = chat_cancel_payload(t->session);
        if (astrid_client_publish(t->cc.c, "user.v1.prompt", p, &err) < 0)
            infof(t, E_ERROR, "cancel: %s", err.msg);
        else
            infof(t, E_INFO, "turn cancelled (Ctrl-C again exits)");
        json_decref(p);
        t->busy = false;
        t->agent_ent = -1;
        t->ctrlc = 1;
    } else if (t->ctrlc) {
        t->quit = true;
    } else {
        t->inlen = t->cur = 0;
        infof(t, E_INFO, "Ctrl-C again exits");
        t->ctrlc = 1;
    }
}

static void key(tui *t, int kind, wint_t ch)
{
    t->dirty = true;
    if (kind == OK && ch == 3) { /* raw mode: Ctrl-C is a key */
        ctrl_c(t);
        return;
    }
    t->ctrlc = 0;
    if (t->nappr && kind == OK) {
        static const struct {
            wint_t k;
            const char *d;
        } map[] = {{L'y', "approve"},
                   {L's', "approve_session"},
                   {L'w', "approve_workspace"},
                   {L'a', "approve_always"},
                   {L'n', "deny"}};
        for (size_t i = 0; i < sizeof map / sizeof *map; i++)
            if (ch == map[i].k || ch == (wint_t)towupper(map[i].k))
                answer(t, map[i].d);
        return;
    }
    if (kind == KEY_CODE_YES) {
        switch (ch) {
        case KEY_LEFT:
            t->cur -= t->cur > 0;
            break;
        case KEY_RIGHT:
            t->cur += t->cur < t->inlen;
            break;
        case KEY_HOME:
            t->cur = 0;
            break;
        case KEY_END:
            t->cur = t->inlen;
            break;
        case KEY_BACKSPACE:
            goto backspace;
        case KEY_DC:
            if (t->cur < t->inlen) {
                wmemmove(t->in + t->cur, t->in + t->cur + 1, t->inlen - t->cur - 1);
                t->inlen--;
            }
            break;
        case KEY_UP:
            if (t->hpos > 0)
                set_input(t, t->hist[--t->hpos]);
            break;
        case KEY_DOWN:
            if (t->hpos + 1 < t->nhist) {
                set_input(t, t->hist[++t->hpos]);
            } else {
                t->hpos = t->nhist;
                t->inlen = t->cur = 0;
            }
            break;
        case KEY_PPAGE:
            t->scroll += LINES / 2;
            break;
        case KEY_NPAGE:
            t->scroll = t->scroll > LINES / 2 ? t->scroll - LINES / 2 : 0;
            break;
        case KEY_ENTER:
            submit(t);
            break;
        default:
            break;
        }
        return;
    }
    switch (ch) {
    case '\r':
    case '\n':
        submit(t);
        return;
    case 1: /* Ctrl-A */
        t->cur = 0;
        return;
    case 5: /* Ctrl-E */
        t->cur = t->inlen;
        return;
    case 4: /* Ctrl-D */
        if (t->inlen == 0)
            t->quit = true;
        return;
    case 11: /* Ctrl-K */
        t->inlen = t->cur;
        return;
    case 12: /* Ctrl-L */
        clearok(curscr, TRUE);
        return;
    case 15: /* Ctrl-O */
        t->unfold = !t->unfold;
        return;
    case 21: /* Ctrl-U */
        wmemmove(t->in, t->in + t->cur, t->inlen - t->cur);
        t->inlen -= t->cur;
        t->cur = 0;
        return;
    case 23: { /* Ctrl-W: the word before the cursor */
        size_t s = t->cur;
        while (s > 0 && t->in[s - 1] == L' ')
            s--;
        while (s > 0 && t->in[s - 1] != L' ')
            s--;
        wmemmove(t->in + s, t->in + t->cur, t->inlen - t->cur);
        t->inlen -= t->cur - s;
        t->cur = s;
        return;
    }
    case 8:
    case 127:
    backspace:
        if (t->cur > 0) {
            wmemmove(t->in + t->cur - 1, t->in + t->cur, t->inlen - t->cur);
            t->cur--;
            t->inlen--;
        }
        return;
    default:
        if (ch < 32 || t->inlen >= INPUT_MAX - 1)
            return;
        wmemmove(t->in + t->cur + 1, t->in + t->cur, t->inlen - t->cur);
        t->in[t->cur++] = (wchar_t)ch;
        t->inlen++;
    }
}

/* ---------------------------------------------------------------- main */

static void load_commands(tui *t)
{
    astrid_err err;
    json_t *d = NULL;
    astrid_call call = {.suffix = "commands",
                        .method = "GetCommands",
                        .want_status = "commands",
                        .timeout_ms = 3000};
    if (astrid_client_call(t->cc.c, &call, &d, &err) == 0 && json_is_array(d))
        t->commands = d;
    else
        json_decref(d);
}

static void tui_free(tui *t)
{
    clear_transcript(t);
    free(t->ents);
    for (size_t i = 0; i < t->nhist; i++)
        free(t->hist[i]);
    json_decref(t->commands);
}

int chat_tui(cli_ctx *ctx)
{
    astrid_err err;
    tui *t = calloc(1, sizeof *t);
    if (!t) {
        fprintf(ctx->err, "astrid: out of memory\n");
        return CLI_ERROR;
    }
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        fprintf(ctx->err, "astrid: chat needs a terminal (scripts: astrid run PROMPT, or -p)\n");
        free(t);
        return CLI_ERROR;
    }
    t->ctx = ctx;
    t->agent_ent = -1;
    if (chat_conn_open(&t->cc, NULL, true, CHAT_NEED_CHAT, &err) < 0) {
        free(t);
        return cli_fail(ctx, &err);
    }
    t->own_daemon = t->cc.started_daemon;
    load_commands(t);
    setlocale(LC_ALL, "");
    if (strcmp(nl_langinfo(CODESET), "UTF-8") != 0)
        setlocale(LC_CTYPE, "C.UTF-8");
    if (!initscr()) {
        chat_conn_close(&t->cc);
        tui_free(t);
        free(t);
        fprintf(ctx->err, "astrid: cannot initialise the terminal\n");
        return CLI_ERROR;
    }
    raw();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    timeout(30);
    if (has_colors() && !getenv("NO_COLOR")) {
        start_color();
        use_default_colors();
        init_pair(1, COLOR_CYAN, -1);
        init_pair(2, COLOR_BLUE, -1);
        init_pair(3, COLOR_RED, -1);
        t->colors = true;
    }
    if (ctx->session) {
        new_session(t, ctx->session);
    } else {
        chat_session_resolve(NULL, t->session);
        infof(t, E_INFO, "astrid chat: agent %s, session %s. /help lists commands.",
              t->cc.principal, t->session);
    }
    request(t, "registry.v1.get_providers", json_object(), "registry.v1.response.get_providers",
            P_STATUS);
    draw(t);
    while (!t->quit) {
        wint_t ch;
        int kind = get_wch(&ch);
        if (kind == KEY_CODE_YES && ch == KEY_RESIZE)
            t->dirty = true;
        else if (kind != ERR)
            key(t, kind, ch);
        drain(t);
        expire_pending(t);
        if (t->dirty && !t->quit)
            draw(t);
    }
    endwin();
    t->cc.started_daemon = t->own_daemon;
    chat_conn_close(&t->cc);
    if (*t->exit_msg)
        fprintf(ctx->err, "astrid: %s\n", t->exit_msg);
    fprintf(ctx->err, "Session: %s (resume with: astrid chat -s %s)\n", t->session, t->session);
    int rc = *t->exit_msg ? CLI_ERROR : CLI_OK;
    tui_free(t);
    free(t);
    return rc;
}

static int do_chat(cli_ctx *ctx)
{
    int first = cli_distro_first_run(ctx);
    if (first != CLI_OK)
        return first;
    return chat_tui(ctx);
}

const cli_cmd cli_cmd_chat = {
    .name = "chat",
    .max_args = 0,
    .help = "Interactive chat (TUI)",
    .long_help = "Talks to the active agent: answers stream in, tool calls show as they start "
                 "and end (Ctrl-O unfolds them), approvals are asked inline. /help lists the "
                 "commands. Starts an ephemeral daemon when none runs and stops it on exit.",
    .flags = CLI_FLAGS({"session", 's', "ID_OR_NAME",
                        "Resume a session: a UUID as is, any other name hashed (UUID v5)", false,
                        false}),
    .fn = do_chat};
