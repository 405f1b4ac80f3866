/* Provider capsules' common flow (see provider.h). Included as a unity
 * build with its pure parts (sse.c, llm_map.c) and guest.c. */
#include "provider.h"

#include <astrid_json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest.c"
#include "llm_map.c"
#include "sse.c"

/* Bound on an HTTP error body we read to report it. */
#define ERR_BODY_MAX (64u << 10)

/* Deltas of one kind that arrive in the same read are published as one
 * event: each published message is a bus message on the agent's lane
 * (which keeps at most 4096), and a reader that fell behind has nothing to
 * gain from getting them one by one. Nothing is held across reads. */
#define PENDING_MAX (64u << 10)
typedef enum pend_kind { PEND_NONE, PEND_TEXT, PEND_REASONING, PEND_ARGS } pend_kind;

typedef struct gen_ctx {
    const provider_def *d;
    char topic[128];
    const char *request_id;
    llm_stream st;
    pend_kind pend;
    char pend_id[128]; /* PEND_ARGS: the tool call */
    char *pend_text;
    size_t pend_len;
} gen_ctx;

/* Publishes one StreamEvent (taken) as an llm_stream_event. */
static int publish_now(gen_ctx *g, astrid_json *event)
{
    astrid_json *o = astrid_json_object();
    astrid_json_set_str(o, "type", "llm_stream_event");
    astrid_json_set_str(o, "request_id", g->request_id);
    astrid_json_set(o, "event", event);
    char *s = astrid_json_dump(o);
    astrid_json_free(o);
    char *err = NULL;
    int rc = s ? astrid_publish(g->topic, s, &err) : -1;
    if (rc != 0) {
        astrid_logf(ASTRID_LOG_ERROR, "%s: publish on %s failed: %s", g->d->id, g->topic,
                    err ? err : "out of memory");
        free(err);
    }
    free(s);
    return rc;
}

static int flush_pending(gen_ctx *g)
{
    if (g->pend == PEND_NONE)
        return 0;
    astrid_json *ev = astrid_json_object();
    astrid_json *text = astrid_json_stringn(g->pend_text, g->pend_len);
    if (g->pend == PEND_ARGS) {
        astrid_json *in = astrid_json_object();
        astrid_json_set_str(in, "id", g->pend_id);
        astrid_json_set(in, "args_delta", text);
        astrid_json_set(ev, "ToolCallDelta", in);
    } else
        astrid_json_set(ev, g->pend == PEND_TEXT ? "TextDelta" : "ReasoningDelta", text);
    g->pend = PEND_NONE;
    g->pend_len = 0;
    return publish_now(g, ev);
}

/* The emit callback of llm_stream: deltas are merged until the read ends
 * (flush_pending), anything else is published at once, in order. */
static int publish_event(void *vctx, astrid_json *event)
{
    gen_ctx *g = vctx;
    pend_kind k = PEND_NONE;
    const astrid_json *v = NULL;
    const char *id = "";
    if ((v = astrid_json_get(event, "TextDelta")))
        k = PEND_TEXT;
    else if ((v = astrid_json_get(event, "ReasoningDelta")))
        k = PEND_REASONING;
    else if ((v = astrid_json_get(event, "ToolCallDelta"))) {
        k = PEND_ARGS;
        id = astrid_json_get_str(v, "id");
        v = astrid_json_get(v, "args_delta");
    }
    if (k == PEND_NONE || !astrid_json_is(v, ASTRID_JSON_STRING)) {
        if (flush_pending(g) != 0) {
            astrid_json_free(event);
            return -1;
        }
        return publish_now(g, event);
    }
    if (g->pend != k || (k == PEND_ARGS && strcmp(g->pend_id, id ? id : "") != 0) ||
        g->pend_len + astrid_json_len(v) > PENDING_MAX) {
        if (flush_pending(g) != 0) {
            astrid_json_free(event);
            return -1;
        }
        g->pend = k;
        snprintf(g->pend_id, sizeof g->pend_id, "%s", id ? id : "");
    }
    char *nb = realloc(g->pend_text, g->pend_len + astrid_json_len(v) + 1);
    if (!nb) {
        astrid_json_free(event);
        return -1;
    }
    g->pend_text = nb;
    memcpy(g->pend_text + g->pend_len, astrid_json_str(v), astrid_json_len(v));
    g->pend_len += astrid_json_len(v);
    astrid_json_free(event);
    return 0;
}

static int on_sse(void *vctx, const char *event, const char *data, size_t len)
{
    gen_ctx *g = vctx;
    int rc =
        g->d->anthropic ? ant_on_event(&g->st, event, data, len) : oai_on_data(&g->st, data, len);
    return rc; /* 1 (over) or -1 stop the feed */
}

static char *config(const char *key)
{
    char *v = NULL, *err = NULL;
    if (astrid_get_config(key, &v, &err) != 0) {
        astrid_logf(ASTRID_LOG_WARN, "get-config %s: %s", key, err);
        free(err);
        return calloc(1, 1);
    }
    return v;
}

/* Fails the request with {"Error": "<prefix><detail>"}. */
static void fail_with(gen_ctx *g, const char *prefix, const char *detail)
{
    size_t n = strlen(prefix) + strlen(detail) + 1;
    char *m = malloc(n);
    if (m) {
        snprintf(m, n, "%s%s", prefix, detail);
        llm_fail(&g->st, m);
    }
    free(m);
}

static void run_stream(gen_ctx *g, const char *url, const astrid_header *h, size_t nh,
                       const char *body)
{
    uint64_t handle = 0;
    uint16_t status = 0;
    char *err = NULL;
    if (g_stream_start(url, "POST", h, nh, body, &handle, &status, &err) != 0) {
        fail_with(g, "", err);
        free(err);
        return;
    }
    if (status != 200) {
        /* the API's error body, bounded */
        char *eb = NULL;
        size_t elen = 0;
        for (;;) {
            uint8_t *chunk = NULL;
            size_t n = 0;
            if (g_stream_read(handle, &chunk, &n, NULL) != 0 || n == 0)
                break;
            if (elen < ERR_BODY_MAX) {
                size_t take = n < ERR_BODY_MAX - elen ? n : ERR_BODY_MAX - elen;
                char *nb = realloc(eb, elen + take + 1);
                if (nb) {
                    eb = nb;
                    memcpy(eb + elen, chunk, take);
                    elen += take;
                }
            }
            free(chunk);
            if (elen >= ERR_BODY_MAX)
                break;
        }
        char *m = llm_http_error(status, eb ? eb : "", elen);
        llm_fail(&g->st, m ? m : "HTTP error");
        free(m);
        free(eb);
        g_stream_close(handle);
        return;
    }
    sse_parser p;
    sse_init(&p, on_sse, g);
    int rc = 0;
    while (!g->st.terminal && !g->st.emit_failed) {
        uint8_t *chunk = NULL;
        size_t n = 0;
        if (g_stream_read(handle, &chunk, &n, &err) != 0) {
            fail_with(g, "provider stream: ", err);
            free(err);
            break;
        }
        if (n == 0) {
            rc = sse_finish(&p, false);
            if (rc == 0)
                llm_on_eof(&g->st, g->d->anthropic);
            break;
        }
        rc = sse_feed(&p, (const char *)chunk, n);
        free(chunk);
        if (flush_pending(g) != 0)
            g->st.emit_failed = true;
        if (rc == -1 && !g->st.emit_failed && !g->st.terminal)
            llm_fail(&g->st, "provider stream: an event over 4 MiB or out of memory");
        if (rc != 0)
            break;
    }
    sse_free(&p);
    g_stream_close(handle);
}

astrid_action provider_generate(const provider_def *d, const astrid_event *ev, astrid_reply *out)
{
    astrid_json *req = astrid_json_parse((const char *)ev->payload, ev->len, NULL);
    const char *rid = astrid_json_get_str(req, "request_id");
    if (!rid || !*rid || strlen(rid) > 128) {
        astrid_json_free(req);
        astrid_reply_set(out, "llm_request needs a request_id (at most 128 bytes)");
        return ASTRID_DENY;
    }
    gen_ctx g = {.d = d, .request_id = rid};
    snprintf(g.topic, sizeof g.topic, "llm.v1.stream.%s", d->id);
    llm_stream_init(&g.st, publish_event, &g);

    char *api_key = config("api_key"), *base = config("base_url"), *model = config("model");
    char *temp = config("temperature"), *maxt = config("max_output_tokens");
    llm_cfg cfg = {.model = *model ? model : d->default_model};
    char *end = NULL;
    if (*temp) {
        cfg.temperature = strtod(temp, &end);
        cfg.has_temperature = true;
        if (*end)
            fail_with(&g, "env temperature is not a number: ", temp);
    }
    if (*maxt) {
        long long v = strtoll(maxt, &end, 10);
        if (*end || v < 1)
            fail_with(&g, "env max_output_tokens is not a positive integer: ", maxt);
        cfg.max_tokens = v;
    }
    if (!*base)
        fail_with(&g, "env base_url is empty", "");
    char *err = NULL, *body = NULL;
    if (!g.st.terminal && !(body = d->anthropic ? ant_request_body(req, &cfg, &err)
                                                : oai_request_body(req, &cfg, &err))) {
        fail_with(&g, "bad llm_request: ", err ? err : "out of memory");
        free(err);
    }
    if (!g.st.terminal) {
        size_t bl = strlen(base);
        while (bl && base[bl - 1] == '/')
            base[--bl] = '\0';
        const char *path = d->path;
        if (bl >= 3 && strcmp(base + bl - 3, "/v1") == 0 && strncmp(path, "/v1/", 4) == 0)
            path += 3;
        size_t ul = bl + strlen(path) + 1;
        char *url = malloc(ul), *auth = NULL;
        snprintf(url, ul, "%s%s", base, path);
        astrid_header h[4];
        size_t nh = 0;
        h[nh++] = (astrid_header){"content-type", "application/json"};
        h[nh++] = (astrid_header){"accept", "text/event-stream"};
        if (d->anthropic) {
            h[nh++] = (astrid_header){"anthropic-version", "2023-06-01"};
            if (*api_key)
                h[nh++] = (astrid_header){"x-api-key", api_key};
        } else if (*api_key) {
            size_t al = strlen(api_key) + 8;
            auth = malloc(al);
            snprintf(auth, al, "Bearer %s", api_key);
            h[nh++] = (astrid_header){"authorization", auth};
        }
        run_stream(&g, url, h, nh, body);
        flush_pending(&g);
        free(url);
        free(auth);
    }
    free(g.pend_text);
    free(body);
    free(api_key);
    free(base);
    free(model);
    free(temp);
    free(maxt);
    astrid_json_free(req);
    return ASTRID_CONTINUE;
}

astrid_action provider_describe(const provider_def *d, const astrid_event *ev, astrid_reply *out)
{
    astrid_json *o = astrid_json_object(), *models = astrid_json_array();
    char topic[128];
    snprintf(topic, sizeof topic, "llm.v1.request.generate.%s", d->id);
    astrid_json_set_str(o, "id", d->id);
    astrid_json_set_str(o, "name", d->name);
    astrid_json_set_str(o, "request_topic", topic);
    /* the configured model first: the registry's default is the first
     * provider's first model. One missing from the table is priced 0
     * (a local server's); say so in the entry. */
    char *cm = config("model");
    const char *first = *cm ? cm : d->default_model;
    bool listed = false;
    for (size_t i = 0; i < d->nmodels; i++)
        listed |= strcmp(d->models[i].id, first) == 0;
    if (!listed) {
        astrid_json *m = astrid_json_object();
        astrid_json_set_str(m, "id", first);
        astrid_json_set(m, "input_usd_per_mtok", astrid_json_number(0));
        astrid_json_set(m, "output_usd_per_mtok", astrid_json_number(0));
        astrid_json_set_bool(m, "unpriced", true);
        astrid_json_append(models, m);
    }
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < d->nmodels; i++) {
            const provider_model *pm = &d->models[i];
            if ((strcmp(pm->id, first) == 0) != (pass == 0))
                continue;
            astrid_json *m = astrid_json_object();
            astrid_json_set_str(m, "id", pm->id);
            astrid_json_set_int(m, "context_window", pm->context_window);
            astrid_json_set(m, "input_usd_per_mtok", astrid_json_number(pm->input_usd_per_mtok));
            astrid_json_set(m, "output_usd_per_mtok", astrid_json_number(pm->output_usd_per_mtok));
            astrid_json_append(models, m);
        }
    free(cm);
    astrid_json_set(o, "models", models);
    char *s = astrid_json_dump(o);
    astrid_json_free(o);
    /* a bus client asking with a correlation_id gets the answer published too */
    astrid_json *req = astrid_json_parse((const char *)ev->payload, ev->len, NULL);
    const char *corr = astrid_json_get_str(req, "correlation_id");
    if (s && corr && *corr && strlen(corr) <= 128 && !strchr(corr, '.')) {
        char rt[200];
        snprintf(rt, sizeof rt, "llm.v1.response.describe.%s", corr);
        char *err = NULL;
        if (astrid_publish(rt, s, &err) != 0) {
            astrid_logf(ASTRID_LOG_WARN, "publish %s: %s", rt, err);
            free(err);
        }
    }
    astrid_json_free(req);
    astrid_reply_set(out, s ? s : "{}");
    free(s);
    return ASTRID_FINAL;
}
