/* LLM usage charged to budgets: see usage.h. */
#include "kernel/usage.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "astrid/jsonsafe.h"
#include "kernel/capsule_rt.h"
#include "kernel/gate.h"
#include "kernel/gate_int.h"

#define GEN_PREFIX "llm.v1.request.generate."
#define DESCRIBE_TOPIC "llm.v1.request.describe"
#define PRICE_TTL_MS 60000
#define PRICE_SLOTS 256
#define TOKENS_MAX 1000000000LL /* a report above this is not a real call's */

typedef struct price {
    char principal[65], provider[65], model[129];
    double in, out; /* USD per million tokens */
    bool unpriced;
    uint64_t expires_ms; /* 0 = free slot */
} price;

struct astrid_usage {
    double dflt_in, dflt_out;    /* fixed at start */
    pthread_mutex_t prices_lock; /* guards prices */
    price prices[PRICE_SLOTS];
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static double env_price(const char *name, double dflt)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return dflt;
    char *end;
    double d = strtod(v, &end);
    return (*end || !isfinite(d) || d < 0) ? dflt : d;
}

int astrid_usage_start(astrid_kernel *k, astrid_err *err)
{
    struct astrid_usage *u = calloc(1, sizeof *u);
    if (!u)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    u->dflt_in = env_price("ASTRID_USAGE_INPUT_USD_PER_MTOK", 3.0);
    u->dflt_out = env_price("ASTRID_USAGE_OUTPUT_USD_PER_MTOK", 15.0);
    pthread_mutex_init(&u->prices_lock, NULL);
    k->gate->usage = u;
    return 0;
}

void astrid_usage_free(astrid_kernel *k)
{
    if (!k->gate || !k->gate->usage)
        return;
    pthread_mutex_destroy(&k->gate->usage->prices_lock);
    free(k->gate->usage);
    k->gate->usage = NULL;
}

static bool token_ok(const char *s, size_t max)
{
    if (!s || !*s || strlen(s) > max)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return false;
    return true;
}

/* ---- the price, from the provider's describe answer */

typedef struct price_q {
    const char *provider, *model;
    kcapsule *cur; /* the capsule being asked (fan-out is sequential) */
    bool answered; /* a trusted capsule answered for the provider */
    bool found;    /* ... and listed the model */
    double in, out;
    bool unpriced;
} price_q;

/* Only capsules whose usage reports are believed may set prices: any
 * other could answer for "openai-compat" with a price that drains. */
static bool skip_untrusted(void *ctx, void *icpt)
{
    price_q *q = ctx;
    q->cur = ((icpt_ctx *)icpt)->c;
    return q->answered || !q->cur->usage_report;
}

static void on_describe(void *ctx, int rc, astrid_icpt_result *r)
{
    price_q *q = ctx;
    json_t *j = NULL;
    if (rc == 0 && r->data && r->len &&
        (r->action == ASTRID_ICPT_CONTINUE || r->action == ASTRID_ICPT_FINAL))
        j = astrid_json_loadb((const char *)r->data, r->len, 0, NULL);
    free(r->data);
    free(r->reason);
    const char *id = json_string_value(json_object_get(j, "id"));
    const char *topic = json_string_value(json_object_get(j, "request_topic"));
    if (!id || strcmp(id, q->provider) != 0 || !topic ||
        strncmp(topic, GEN_PREFIX, strlen(GEN_PREFIX)) != 0 ||
        strcmp(topic + strlen(GEN_PREFIX), q->provider) != 0) {
        json_decref(j);
        return;
    }
    q->answered = true;
    json_t *models = json_object_get(j, "models"), *m;
    size_t i;
    json_array_foreach(models, i, m)
    {
        const char *mid = json_string_value(json_object_get(m, "id"));
        if (!mid || strcmp(mid, q->model) != 0)
            continue;
        double in = json_number_value(json_object_get(m, "input_usd_per_mtok"));
        double out = json_number_value(json_object_get(m, "output_usd_per_mtok"));
        if (!isfinite(in) || !isfinite(out) || in < 0 || out < 0)
            break; /* a nonsense price is no price: the default applies */
        q->found = true;
        q->in = in;
        q->out = out;
        q->unpriced = json_is_true(json_object_get(m, "unpriced"));
        break;
    }
    json_decref(j);
}

static void ask_price(astrid_kernel *k, const char *principal, price_q *q)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    astrid_msg msg = {.topic = DESCRIBE_TOPIC,
                      .principal = principal,
                      .timestamp_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec,
                      .is_json = true,
                      .payload = (const uint8_t *)"{}",
                      .len = 2};
    snprintf(msg.source_id, sizeof msg.source_id, "%s", k->session);
    astrid_bus_fanout(k->bus, &msg, skip_untrusted, q, on_describe, q);
}

/* USD per million tokens of (provider, model) as `principal` sees them;
 * *src says where the price came from (for the audit entry). */
static void price_of(astrid_kernel *k, const char *principal, const char *provider,
                     const char *model, double *in, double *out, const char **src)
{
    struct astrid_usage *u = k->gate->usage;
    uint64_t now = now_ms();
    pthread_mutex_lock(&u->prices_lock);
    for (size_t i = 0; i < PRICE_SLOTS; i++) {
        price *p = &u->prices[i];
        if (p->expires_ms > now && !strcmp(p->principal, principal) &&
            !strcmp(p->provider, provider) && !strcmp(p->model, model)) {
            *in = p->in;
            *out = p->out;
            *src = p->unpriced ? "unpriced" : "provider";
            pthread_mutex_unlock(&u->prices_lock);
            return;
        }
    }
    pthread_mutex_unlock(&u->prices_lock);

    price_q q = {.provider = provider, .model = model};
    ask_price(k, principal, &q);
    if (!q.found) {
        /* No trusted table lists it: charge the default, never nothing.
         * Not cached: a provider loaded a moment later is asked again. */
        *in = u->dflt_in;
        *out = u->dflt_out;
        *src = q.answered ? "default (model not in the provider's table)"
                          : "default (no provider table)";
        return;
    }
    *in = q.unpriced ? 0 : q.in;
    *out = q.unpriced ? 0 : q.out;
    *src = q.unpriced ? "unpriced" : "provider";
    pthread_mutex_lock(&u->prices_lock);
    size_t at = 0;
    for (size_t i = 0; i < PRICE_SLOTS; i++)
        if (u->prices[i].expires_ms < u->prices[at].expires_ms)
            at = i; /* a free slot (0) or the one expiring first */
    price *p = &u->prices[at];
    snprintf(p->principal, sizeof p->principal, "%s", principal);
    snprintf(p->provider, sizeof p->provider, "%s", provider);
    snprintf(p->model, sizeof p->model, "%s", model);
    p->in = *in;
    p->out = *out;
    p->unpriced = q.unpriced;
    p->expires_ms = now + PRICE_TTL_MS;
    pthread_mutex_unlock(&u->prices_lock);
}

/* ---- reports */

static bool tokens_of(const json_t *pl, const char *key, long long *out)
{
    const json_t *v = json_object_get(pl, key);
    if (!v) {
        *out = 0;
        return true;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > TOKENS_MAX)
        return false;
    *out = (long long)json_integer_value(v);
    return true;
}

void kcapsule_usage_report(kcapsule *c, const char *principal, const char *payload, size_t len)
{
    astrid_kernel *k = c->k;
    const char *name = c->inst->manifest->name;
    if (!principal || !k->gate || !k->gate->usage)
        return; /* a system message charges nobody */
    char why[300];
    if (!c->usage_report) {
        snprintf(why, sizeof why, "usage report of capsule %s not charged: %s", name,
                 c->inst->manifest->uplink ? "an uplink (may publish as any principal) "
                                             "cannot report usage"
                                           : "its owner does not hold " ASTRID_CAP_USAGE_REPORT);
        astrid_gate_refused(k, principal, name, "usage_charge", ASTRID_USAGE_TOPIC, "usage_report",
                            why);
        astrid_klog(k, "WARN", "%s (principal %s)", why, principal);
        return;
    }
    json_t *pl = astrid_json_loadb(payload, len, 0, NULL);
    const char *provider = json_string_value(json_object_get(pl, "provider"));
    const char *model = json_string_value(json_object_get(pl, "model"));
    long long in = 0, out = 0;
    if (!token_ok(provider, 64) || !model || !*model || strlen(model) > 128 ||
        !tokens_of(pl, "input_tokens", &in) || !tokens_of(pl, "output_tokens", &out)) {
        snprintf(why, sizeof why,
                 "usage report of capsule %s not charged: needs provider (1-64 of "
                 "[A-Za-z0-9_-]), model (1-128 bytes) and token counts 0..%lld",
                 name, TOKENS_MAX);
        astrid_gate_refused(k, principal, name, "usage_charge", ASTRID_USAGE_TOPIC, "usage_report",
                            why);
        json_decref(pl);
        return;
    }
    double pin, pout;
    const char *src;
    price_of(k, principal, provider, model, &pin, &pout, &src);
    double usd = ((double)in * pin + (double)out * pout) / 1e6;
    char what[300];
    snprintf(what, sizeof what,
             "llm tokens %s/%.128s: %lld in, %lld out at %g/%g USD per Mtok (%s) = %.6f USD",
             provider, model, in, out, pin, pout, src, usd);
    astrid_err err;
    if (astrid_gate_charge(k, principal, name, usd, what, &err) != 0)
        astrid_klog(k, "ERROR", "usage of %s (%s) not charged: %s", principal, what, err.msg);
    json_decref(pl);
}

/* ---- refusal before a chain runs */

static void refuse_prompt(astrid_kernel *k, const astrid_msg *m, const json_t *pl, const char *why)
{
    const char *sid = json_string_value(json_object_get(pl, "session_id"));
    char text[400];
    snprintf(text, sizeof text, "B%s; the turn was not started (astrid budget show)", why + 1);
    json_t *r =
        json_pack("{s:s,s:s,s:b,s:s,s:b}", "type", "agent_response", "text", text, "is_final", 1,
                  "session_id", sid && strlen(sid) <= 128 ? sid : "default", "error", 1);
    char *s = r ? astrid_json_dumps(r, JSON_COMPACT) : NULL;
    astrid_err err;
    if (!s || astrid_kernel_bus_publish(k, "agent.v1.response", s, strlen(s), NULL, m->principal, 0,
                                        NULL, &err) != 0)
        astrid_klog(k, "ERROR", "budget refusal for %s not delivered", m->principal);
    free(s);
    json_decref(r);
}

static void refuse_generate(astrid_kernel *k, const astrid_msg *m, const json_t *pl,
                            const char *why)
{
    const char *rid = json_string_value(json_object_get(pl, "request_id"));
    char topic[160];
    snprintf(topic, sizeof topic, "llm.v1.stream.%s", m->topic + strlen(GEN_PREFIX));
    if (!rid || strlen(rid) > 128)
        return; /* nobody could be told */
    json_t *r = json_pack("{s:s,s:s,s:{s:s}}", "type", "llm_stream_event", "request_id", rid,
                          "event", "Error", why);
    char *s = r ? astrid_json_dumps(r, JSON_COMPACT) : NULL;
    astrid_err err;
    if (!s ||
        astrid_kernel_bus_publish(k, topic, s, strlen(s), NULL, m->principal, 0, NULL, &err) != 0)
        astrid_klog(k, "ERROR", "budget refusal for %s not delivered", m->principal);
    free(s);
    json_decref(r);
}

bool astrid_usage_refuse(astrid_kernel *k, const astrid_msg *m)
{
    if (!m->principal || !k->gate)
        return false;
    bool prompt = strcmp(m->topic, "user.v1.prompt") == 0;
    if (!prompt && strncmp(m->topic, GEN_PREFIX, strlen(GEN_PREFIX)) != 0)
        return false;
    json_t *pl = astrid_json_loadb((const char *)m->payload, m->len, 0, NULL);
    const char *action =
        json_string_value(json_object_get(json_object_get(pl, "context"), "action"));
    if (prompt && action && strcmp(action, "cancel_turn") == 0) {
        json_decref(pl); /* stopping a turn costs nothing */
        return false;
    }
    char why[256];
    bool refused = astrid_gate_budget_blocks(k, m->principal, prompt ? "chat_turn" : "llm_request",
                                             m->topic, why, sizeof why);
    if (refused) {
        astrid_klog(k, "INFO", "%s of %s refused: %s", m->topic, m->principal, why);
        if (prompt)
            refuse_prompt(k, m, pl, why);
        else
            refuse_generate(k, m, pl, why);
    }
    json_decref(pl);
    return refused;
}
