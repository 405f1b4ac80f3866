/* react: the ReAct orchestrator, one chat turn as a state machine in KV
 * (reference §16.2; docs/chat.md "A turn").
 *
 * Every invocation runs as the message's agent, so the turn state below is
 * that agent's own; two agents using the same session id never meet.
 *
 *   user.v1.prompt          -> session append, identity, registry,
 *                              prompt-builder (trigger-hook, synchronous),
 *                              then llm.v1.request.generate.<provider>
 *   llm.v1.stream.*         -> deltas to agent.v1.response (is_final false),
 *                              tool calls gathered; on Done: the final answer
 *                              or one tool.v1.request.execute per call
 *   tool.v1.execute.result  -> agent.v1.tool_call finished; when every call
 *                              has its result, history appended and the next
 *                              LLM call (up to max_iterations)
 *   astrid.v1.watchdog.tick -> phase timeouts of this agent's turns
 *
 * KV (this capsule's namespace of the agent):
 *   react.turn.<session>   the running turn (absent = idle):
 *       {phase: "streaming"|"tools", request_id, iteration, phase_ms,
 *        text (this LLM call), answer (the whole turn), calls:[{id,name,args}],
 *        results:{call_id: {content,is_error}}, topic,
 *        ctx: what every LLM call of the turn reuses:
 *             {system, tools, model, provider, topic, prefix}}
 *   react.call2sess.<call_id>   -> session id
 * The context rides in the turn record and a stream's request id is found
 * among the running turns (memory, else KV): one KV write before the LLM
 * request instead of three, each a synced commit. Records of the older
 * layout (react.ctx.<session>, react.req2sess.<request_id>) are still read
 * and removed.
 * A stream event or tool result that maps to no running turn (cancelled,
 * timed out, another turn's) is ignored. */
#include <astrid.h>
#include <astrid_json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define SESSION_ID_MAX 128
#define GEN_PREFIX "llm.v1.request.generate."

/* ------------------------------------------------------------ helpers */

static bool valid_token(const char *s, size_t max, bool dots)
{
    if (!s || !*s || strlen(s) > max)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || (dots && (*p == '.' || *p == ':'))))
            return false;
    return true;
}

static int64_t cfg_int(const char *key, int64_t dflt)
{
    char *v = NULL, *err = NULL;
    int64_t n = dflt;
    if (astrid_get_config(key, &v, &err) == 0 && v && *v) {
        char *end;
        long long x = strtoll(v, &end, 10);
        if (!*end && x > 0)
            n = x;
    }
    free(v);
    free(err);
    return n;
}

static char *cfg_str(const char *key, const char *dflt)
{
    char *v = NULL, *err = NULL;
    if (astrid_get_config(key, &v, &err) != 0 || !v || !*v) {
        free(v);
        free(err);
        return strdup(dflt);
    }
    return v;
}

static void uuid4(char out[37])
{
    unsigned char b[16];
    if (getentropy(b, sizeof b) != 0) /* WASI random_get */
        __builtin_trap();
    b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

static astrid_json *kv_json(const char *key)
{
    uint8_t *v = NULL;
    size_t n = 0;
    bool found = false;
    char *err = NULL;
    astrid_json *j = NULL;
    if (astrid_kv_get(key, &v, &n, &found, &err) == 0 && found)
        j = astrid_json_parse((const char *)v, n, NULL);
    free(v);
    free(err);
    return j;
}

static void kv_put(const char *key, const astrid_json *j)
{
    char *text = astrid_json_dump(j);
    char *err = NULL;
    if (!text || astrid_kv_set(key, text, strlen(text), &err) != 0) {
        astrid_logf(ASTRID_LOG_ERROR, "kv-set %s: %s", key, err ? err : "out of memory");
        free(err);
    }
    free(text);
}

static void kv_put_str(const char *key, const char *s)
{
    char *err = NULL;
    if (astrid_kv_set(key, s, strlen(s), &err) != 0) {
        astrid_logf(ASTRID_LOG_ERROR, "kv-set %s: %s", key, err);
        free(err);
    }
}

static char *kv_str(const char *key)
{
    uint8_t *v = NULL;
    size_t n = 0;
    bool found = false;
    char *err = NULL;
    if (astrid_kv_get(key, &v, &n, &found, &err) != 0 || !found) {
        free(v);
        free(err);
        return NULL;
    }
    return (char *)v;
}

static void kv_del(const char *key)
{
    char *err = NULL;
    if (astrid_kv_delete(key, &err) != 0)
        free(err);
}

static void keyf(char *buf, size_t n, const char *prefix, const char *id)
{
    snprintf(buf, n, "%s%s", prefix, id);
}

static void publish_json(const char *topic, const astrid_json *j)
{
    char *text = astrid_json_dump(j);
    char *err = NULL;
    if (!text || astrid_publish(topic, text, &err) != 0) {
        astrid_logf(ASTRID_LOG_ERROR, "publish %s: %s", topic, err ? err : "out of memory");
        free(err);
    }
    free(text);
}

/* trigger-hook and the first answer that is an object (NULL: nobody). */
static astrid_json *hook_first(const char *topic, const astrid_json *payload)
{
    char *pl = astrid_json_dump(payload);
    char *answers = NULL, *err = NULL;
    int rc = pl ? astrid_trigger_hook(topic, pl, &answers, &err) : -1;
    free(pl);
    if (rc != 0) {
        astrid_logf(ASTRID_LOG_WARN, "%s: %s", topic, err ? err : "out of memory");
        free(err);
        return NULL;
    }
    astrid_json *arr = astrid_json_parse(answers, strlen(answers), NULL);
    free(answers);
    astrid_json *first = NULL;
    for (size_t i = 0; i < astrid_json_len(arr) && !first; i++)
        if (astrid_json_is(astrid_json_at(arr, i), ASTRID_JSON_OBJECT))
            first = astrid_json_copy(astrid_json_at(arr, i));
    astrid_json_free(arr);
    return first;
}

static void respond(const char *sid, const char *text, bool final, bool error)
{
    astrid_json *r = astrid_json_object();
    astrid_json_set_str(r, "type", "agent_response");
    astrid_json_set_str(r, "text", text);
    astrid_json_set_bool(r, "is_final", final);
    astrid_json_set_str(r, "session_id", sid);
    if (error)
        astrid_json_set_bool(r, "error", true);
    publish_json("agent.v1.response", r);
    astrid_json_free(r);
}

/* s + add as a new JSON string set at obj[key]. */
static void str_append(astrid_json *obj, const char *key, const char *add)
{
    const char *cur = astrid_json_str_or(astrid_json_get(obj, key), "");
    size_t a = strlen(cur), b = strlen(add);
    char *s = malloc(a + b + 1);
    if (!s)
        __builtin_trap();
    // NOLINTNEXTLINE(bugprone-not-null-terminated-result): the next copy brings the NUL
    memcpy(s, cur, a);
    memcpy(s + a, add, b + 1);
    astrid_json_set(obj, key, astrid_json_stringn(s, a + b));
    free(s);
}

/* The agent served. Turn records carry it because `agent create` copies
 * default's capsule KV into the new agent: a copied running turn must not
 * make the new agent's session look busy or take its stream. */
static char *me(void)
{
    astrid_caller who = {0};
    char *err = NULL, *p;
    if (astrid_get_caller(&who, &err) != 0)
        free(err);
    p = strdup(who.principal ? who.principal : "");
    astrid_caller_free(&who);
    return p;
}

/* Turns in this instance's memory. The kernel hands an agent's next
 * invocation of react the instance that served its last one (never
 * another agent's: src/capsule/invoke.h, "Instances"), and all of react's
 * topics queue on one lane per agent, so a stream's deltas meet the turn
 * here instead of reading and rewriting it in KV each time (a KV write is
 * a synced commit, milliseconds). KV stays the crash-safe copy: written at
 * every phase boundary and at most FLUSH_MS after a delta. Each KV write
 * bumps the record's `rev`; a memory copy is used only while KV still
 * holds the same `rev`, so a turn another instance changed or ended (a
 * tick, a cancel) is re-read from KV.
 *
 * Deltas held only here (`dirty`) must not go with the instance: after
 * each invocation the kernel asks astrid-unsaved-ms and pins an instance
 * with unsaved deltas (no other agent's invocation evicts it) for the LLM
 * timeout plus PIN_MARGIN_MS, or, when it cannot pin, calls astrid-save,
 * which writes them. So an instance that picks up a streaming turn from KV
 * has all of it — unless the pin ran out, which takes longer than the
 * turn's LLM timeout without an event: such a turn is ended as timed out
 * (on_stream), never finished from an old copy. */
#define MEM_TURNS 8
#define FLUSH_MS 250
#define PIN_MARGIN_MS 10000
/* The kernel pins for at most an hour (src/capsule/invoke.c PIN_MS_MAX);
 * a longer LLM timeout is cut to fit, so a pin always outlives it. */
#define LLM_TIMEOUT_MAX_SECS 3590

typedef struct mem_turn {
    int64_t rev;                  /* `rev` of the last KV write */
    int64_t kv_ms;                /* when it was written */
    astrid_json *turn;            /* newest state; KV may be behind by FLUSH_MS */
    bool dirty;                   /* `turn` holds deltas KV has not */
    char sid[SESSION_ID_MAX + 1]; /* "" = free */
} mem_turn;

static mem_turn mem[MEM_TURNS];
static char inst_id[40]; /* this instance, in the KV record's `owner` */

static mem_turn *mem_find(const char *sid)
{
    for (size_t i = 0; i < MEM_TURNS; i++)
        if (mem[i].turn && !strcmp(mem[i].sid, sid))
            return &mem[i];
    return NULL;
}

static void mem_drop(const char *sid)
{
    mem_turn *m = mem_find(sid);
    if (m) {
        astrid_json_free(m->turn);
        memset(m, 0, sizeof *m);
    }
}

static int64_t llm_timeout_secs(void)
{
    int64_t s = cfg_int("llm_timeout_secs", 120);
    return s < LLM_TIMEOUT_MAX_SECS ? s : LLM_TIMEOUT_MAX_SECS;
}

/* m's turn to KV now, as a new `rev` (its principal and owner are set). */
static void mem_flush(mem_turn *m)
{
    char key[32 + SESSION_ID_MAX];
    keyf(key, sizeof key, "react.turn.", m->sid);
    astrid_json_set_int(m->turn, "rev", ++m->rev);
    kv_put(key, m->turn);
    m->kv_ms = (int64_t)astrid_clock_ms();
    m->dirty = false;
}

static mem_turn *mem_slot(const char *sid)
{
    mem_turn *m = mem_find(sid), *old = &mem[0];
    for (size_t i = 0; i < MEM_TURNS && !m; i++) {
        if (!mem[i].turn)
            m = &mem[i];
        else if (mem[i].kv_ms < old->kv_ms)
            old = &mem[i];
    }
    if (!m) { /* the least recently written, its unsaved deltas saved first */
        m = old;
        if (m->dirty)
            mem_flush(m);
        astrid_json_free(m->turn);
        memset(m, 0, sizeof *m);
    }
    snprintf(m->sid, sizeof m->sid, "%s", sid);
    return m;
}

/* The kernel's questions after each invocation (src/capsule/invoke.c,
 * "Unsaved state"): for how long this memory must be kept, and save it. */
__attribute__((export_name("astrid-unsaved-ms"))) int32_t react_unsaved_ms(void)
{
    for (size_t i = 0; i < MEM_TURNS; i++)
        if (mem[i].turn && mem[i].dirty)
            return (int32_t)(llm_timeout_secs() * 1000 + PIN_MARGIN_MS);
    return 0;
}

__attribute__((export_name("astrid-save"))) void react_save(void)
{
    for (size_t i = 0; i < MEM_TURNS; i++)
        if (mem[i].turn && mem[i].dirty)
            mem_flush(&mem[i]);
}

static astrid_json *load_turn(const char *sid)
{
    char key[32 + SESSION_ID_MAX];
    keyf(key, sizeof key, "react.turn.", sid);
    astrid_json *t = kv_json(key);
    char *who = me();
    if (t && (!astrid_json_is(t, ASTRID_JSON_OBJECT) ||
              strcmp(astrid_json_str_or(astrid_json_get(t, "principal"), ""), who) != 0)) {
        astrid_json_free(t);
        t = NULL;
    }
    free(who);
    mem_turn *m = mem_find(sid);
    if (!t) {
        mem_drop(sid);
        return NULL;
    }
    if (m && astrid_json_get_int(t, "rev", -1) == m->rev) {
        astrid_json_free(t);
        return astrid_json_copy(m->turn);
    }
    mem_drop(sid);
    return t;
}

/* `lazy`: a delta; KV is written only when the last write is FLUSH_MS old. */
static void save_turn_mode(const char *sid, astrid_json *t, bool lazy)
{
    if (!*inst_id)
        uuid4(inst_id);
    char *who = me();
    astrid_json_set_str(t, "principal", who);
    astrid_json_set_str(t, "owner", inst_id);
    free(who);
    int64_t now = (int64_t)astrid_clock_ms();
    mem_turn *m = mem_find(sid);
    if (lazy && m && now - m->kv_ms < FLUSH_MS) {
        astrid_json_free(m->turn);
        m->turn = astrid_json_copy(t);
        m->dirty = true;
        return;
    }
    if (!m) {
        m = mem_slot(sid);
        m->rev = astrid_json_get_int(t, "rev", 0);
    }
    astrid_json_free(m->turn);
    m->turn = astrid_json_copy(t);
    mem_flush(m);
    astrid_json_set_int(t, "rev", m->rev);
}

static void save_turn(const char *sid, astrid_json *t)
{
    save_turn_mode(sid, t, false);
}

/* The turn's context (a copy): in the record, or for a turn stored by the
 * older layout its own key. NULL when neither holds it. */
static astrid_json *turn_ctx(const char *sid, const astrid_json *turn)
{
    const astrid_json *c = astrid_json_get(turn, "ctx");
    if (c)
        return astrid_json_copy(c);
    char key[32 + SESSION_ID_MAX];
    keyf(key, sizeof key, "react.ctx.", sid);
    return kv_json(key);
}

/* The session whose running turn streams request `rid` (malloc'd), or
 * NULL. This instance's memory first (the usual case: every delta); an
 * instance that did not start the turn asks KV: the older layout's map,
 * then the agent's running turns. The caller still checks the turn it
 * loads (request_id, phase), as a memory copy may be stale. */
static char *session_of_request(const char *rid)
{
    for (size_t i = 0; i < MEM_TURNS; i++)
        if (mem[i].turn &&
            !strcmp(astrid_json_str_or(astrid_json_get(mem[i].turn, "request_id"), ""), rid))
            return strdup(mem[i].sid);
    char key[96];
    keyf(key, sizeof key, "react.req2sess.", rid);
    char *sid = kv_str(key);
    if (sid)
        return sid;
    char **keys = NULL;
    size_t n = 0;
    char *err = NULL;
    if (astrid_kv_list_keys("react.turn.", &keys, &n, &err) != 0) {
        free(err);
        return NULL;
    }
    for (size_t i = 0; i < n && !sid; i++) {
        astrid_json *t = kv_json(keys[i]);
        if (t && !strcmp(astrid_json_str_or(astrid_json_get(t, "request_id"), ""), rid))
            sid = strdup(keys[i] + strlen("react.turn."));
        astrid_json_free(t);
    }
    astrid_strv_free(keys, n);
    return sid;
}

/* The turn ends: the final answer (or error) to the agent's clients, the
 * maps dropped, the session idle. */
static void end_turn(const char *sid, astrid_json *turn, const char *text, bool error,
                     bool cancelled)
{
    char key[96];
    const char *rid = astrid_json_get_str(turn, "request_id");
    bool legacy = !astrid_json_get(turn, "ctx"); /* the older layout's keys */
    if (legacy && rid && valid_token(rid, 64, false)) {
        keyf(key, sizeof key, "react.req2sess.", rid);
        kv_del(key);
    }
    astrid_json *calls = astrid_json_get(turn, "calls");
    astrid_json *results = astrid_json_get(turn, "results");
    astrid_json *pending = astrid_json_array();
    for (size_t i = 0; i < astrid_json_len(calls); i++) {
        const char *id = astrid_json_get_str(astrid_json_at(calls, i), "id");
        if (!id || !valid_token(id, 64, false))
            continue;
        keyf(key, sizeof key, "react.call2sess.", id);
        kv_del(key);
        if (!astrid_json_get(results, id) &&
            !strcmp(astrid_json_str_or(astrid_json_get(turn, "phase"), ""), "tools"))
            astrid_json_append(pending, astrid_json_string(id));
    }
    if (cancelled && astrid_json_len(pending)) {
        astrid_json *c = astrid_json_object();
        astrid_json_set_str(c, "type", "tool_cancel_request");
        astrid_json_set(c, "call_ids", astrid_json_copy(pending));
        publish_json("tool.v1.request.cancel", c);
        astrid_json_free(c);
    }
    astrid_json_free(pending);
    char tkey[32 + SESSION_ID_MAX], ckey[32 + SESSION_ID_MAX];
    keyf(tkey, sizeof tkey, "react.turn.", sid);
    keyf(ckey, sizeof ckey, "react.ctx.", sid);
    kv_del(tkey);
    if (legacy)
        kv_del(ckey);
    mem_drop(sid);
    astrid_json *r = astrid_json_object();
    astrid_json_set_str(r, "type", "agent_response");
    astrid_json_set_str(r, "text", text);
    astrid_json_set_bool(r, "is_final", true);
    astrid_json_set_str(r, "session_id", sid);
    if (error)
        astrid_json_set_bool(r, "error", true);
    if (cancelled)
        astrid_json_set_bool(r, "cancelled", true);
    publish_json("agent.v1.response", r);
    astrid_json_free(r);
}

static bool session_append(const char *sid, astrid_json *msgs /* taken */)
{
    astrid_json *req = astrid_json_object();
    astrid_json_set_str(req, "session_id", sid);
    astrid_json_set(req, "messages", msgs);
    astrid_json *a = hook_first("session.v1.append", req);
    astrid_json_free(req);
    bool ok = a && astrid_json_get_bool(a, "ok", false);
    astrid_json_free(a);
    return ok;
}

static astrid_json *message(const char *role, astrid_json *content /* taken */)
{
    astrid_json *m = astrid_json_object();
    astrid_json_set_str(m, "role", role);
    astrid_json_set(m, "content", content);
    return m;
}

/* One LLM call of the turn: history from the session store, the turn's
 * context, compaction, the request on the provider's topic. The caller
 * saves the turn afterwards. Returns false when the turn was ended. */
static bool start_llm(const char *sid, astrid_json *turn)
{
    astrid_json *ctx = turn_ctx(sid, turn);
    astrid_json *q = astrid_json_object();
    astrid_json_set_str(q, "session_id", sid);
    astrid_json *hist = hook_first("session.v1.request.get_messages", q);
    astrid_json_free(q);
    astrid_json *msgs = astrid_json_take(hist, "messages");
    astrid_json_free(hist);
    if (!astrid_json_is(msgs, ASTRID_JSON_ARRAY) || !ctx) {
        astrid_json_free(msgs);
        astrid_json_free(ctx);
        end_turn(sid, turn, "LLM error: the session store (astrid-capsule-session) did not answer",
                 true, false);
        return false;
    }
    /* user_context_prefix goes in front of the newest user message, for
     * this request only (the session keeps what the user typed). */
    const char *prefix = astrid_json_get_str(ctx, "prefix");
    if (prefix && *prefix)
        for (size_t i = astrid_json_len(msgs); i-- > 0;) {
            astrid_json *m = astrid_json_at(msgs, i);
            const char *c = astrid_json_get_str(m, "content");
            if (c && !strcmp(astrid_json_str_or(astrid_json_get(m, "role"), ""), "user")) {
                size_t n = strlen(prefix) + strlen(c) + 3;
                char *s = malloc(n);
                snprintf(s, n, "%s\n\n%s", prefix, c);
                astrid_json_set_str(m, "content", s);
                free(s);
                break;
            }
        }
    astrid_json *cq = astrid_json_object();
    astrid_json_set_str(cq, "session_id", sid);
    astrid_json_set(cq, "messages", msgs);
    astrid_json *compacted = hook_first("context_engine.v1.compact", cq);
    msgs = astrid_json_take(cq, "messages");
    astrid_json_free(cq);
    if (compacted && astrid_json_is(astrid_json_get(compacted, "messages"), ASTRID_JSON_ARRAY)) {
        astrid_json_free(msgs);
        msgs = astrid_json_take(compacted, "messages");
    }
    astrid_json_free(compacted);

    char rid[37];
    uuid4(rid);
    astrid_json *req = astrid_json_object();
    astrid_json_set_str(req, "type", "llm_request");
    astrid_json_set_str(req, "request_id", rid);
    astrid_json_set_str(req, "model", astrid_json_get_str(ctx, "model"));
    astrid_json_set(req, "messages", msgs);
    astrid_json *tools = astrid_json_get(ctx, "tools");
    astrid_json_set(req, "tools", tools ? astrid_json_copy(tools) : astrid_json_array());
    astrid_json_set_str(req, "system", astrid_json_str_or(astrid_json_get(ctx, "system"), ""));

    astrid_json_set_str(turn, "request_id", rid);
    astrid_json_set_str(turn, "phase", "streaming");
    astrid_json_set_int(turn, "phase_ms", (int64_t)astrid_clock_ms());
    astrid_json_set_str(turn, "text", "");
    astrid_json_set(turn, "calls", astrid_json_array());
    astrid_json_set(turn, "results", astrid_json_object());
    /* Saved before publishing: the provider's first event may be handled
     * before this invocation returns. */
    save_turn(sid, turn);
    publish_json(astrid_json_get_str(ctx, "topic"), req);
    astrid_json_free(req);
    astrid_json_free(ctx);
    return true;
}

/* ------------------------------------------------------- user prompt */

static bool stale(const astrid_json *turn)
{
    const char *phase = astrid_json_str_or(astrid_json_get(turn, "phase"), "");
    int64_t limit =
        !strcmp(phase, "tools") ? cfg_int("tool_timeout_secs", 300) : llm_timeout_secs();
    return (int64_t)astrid_clock_ms() - astrid_json_get_int(turn, "phase_ms", 0) > limit * 1000;
}

/* A streaming phase past the LLM timeout ends the turn. */
static void end_llm_timeout(const char *sid, astrid_json *turn)
{
    astrid_json *ctx = turn_ctx(sid, turn);
    char msg[256];
    snprintf(msg, sizeof msg, "LLM error: no answer from %s within %lld s",
             astrid_json_str_or(astrid_json_get(ctx, "topic"), "the provider"),
             (long long)llm_timeout_secs());
    astrid_json_free(ctx);
    end_turn(sid, turn, msg, true, false);
}

/* The provider topic and model: the registry's active model for this
 * agent, else this agent's KV llm_provider_topic, else the env. */
static void pick_provider(astrid_json *ctx)
{
    astrid_json *q = astrid_json_object();
    astrid_json *a = hook_first("registry.v1.get_active_model", q);
    astrid_json_free(q);
    const char *topic = astrid_json_get_str(a, "request_topic");
    const char *model = astrid_json_get_str(a, "model");
    char *kvtopic = NULL, *cfgtopic = NULL, *cfgmodel = NULL;
    if (!topic || strncmp(topic, GEN_PREFIX, strlen(GEN_PREFIX)) != 0 ||
        !valid_token(topic + strlen(GEN_PREFIX), 64, false)) {
        kvtopic = kv_str("llm_provider_topic");
        topic = kvtopic;
        if (!topic || strncmp(topic, GEN_PREFIX, strlen(GEN_PREFIX)) != 0 ||
            !valid_token(topic + strlen(GEN_PREFIX), 64, false)) {
            cfgtopic = cfg_str("llm_provider_topic", GEN_PREFIX "anthropic");
            topic = cfgtopic;
            if (strncmp(topic, GEN_PREFIX, strlen(GEN_PREFIX)) != 0 ||
                !valid_token(topic + strlen(GEN_PREFIX), 64, false))
                topic = GEN_PREFIX "anthropic";
        }
    }
    if (!model || !*model) {
        cfgmodel = cfg_str("model", "claude-sonnet-4-20250514");
        model = cfgmodel;
    }
    astrid_json_set_str(ctx, "topic", topic);
    astrid_json_set_str(ctx, "provider", topic + strlen(GEN_PREFIX));
    astrid_json_set_str(ctx, "model", model);
    free(kvtopic);
    free(cfgtopic);
    free(cfgmodel);
    astrid_json_free(a);
}

static astrid_action on_prompt(const astrid_event *ev, astrid_reply *out)
{
    (void)out;
    astrid_json *in = astrid_json_parse((const char *)ev->payload, ev->len, NULL);
    const char *sid = astrid_json_get_str(in, "session_id");
    if (!sid)
        sid = "default";
    if (!valid_token(sid, SESSION_ID_MAX, true)) {
        astrid_json_free(in);
        astrid_reply_set(out, "user.v1.prompt: session_id must be 1-128 of [A-Za-z0-9_.:-]");
        return ASTRID_DENY;
    }
    const char *text = astrid_json_str_or(astrid_json_get(in, "text"), "");
    const char *action = astrid_json_get_str(astrid_json_get(in, "context"), "action");
    astrid_json *turn = load_turn(sid);
    if (action && !strcmp(action, "cancel_turn")) {
        if (turn)
            end_turn(sid, turn, astrid_json_str_or(astrid_json_get(turn, "answer"), ""), false,
                     true);
        astrid_json_free(turn);
        astrid_json_free(in);
        return ASTRID_CONTINUE;
    }
    if (turn && !stale(turn)) {
        respond(sid, "Busy: a turn is already running in this session (cancel it first)", true,
                true);
        astrid_json_free(turn);
        astrid_json_free(in);
        return ASTRID_CONTINUE;
    }
    if (turn) { /* a stale turn (its timeout passed without a tick) */
        end_turn(sid, turn, "LLM error: the previous turn timed out", true, false);
        astrid_json_free(turn);
    }
    if (!*text) {
        respond(sid, "Empty prompt: nothing to do", true, true);
        astrid_json_free(in);
        return ASTRID_CONTINUE;
    }
    turn = astrid_json_object();
    astrid_json_set_int(turn, "iteration", 0);
    astrid_json_set_str(turn, "answer", "");
    astrid_json *msgs = astrid_json_array();
    astrid_json_append(msgs, message("user", astrid_json_string(text)));
    if (!session_append(sid, msgs)) {
        end_turn(sid, turn,
                 "LLM error: the session store (astrid-capsule-session) did not store the prompt",
                 true, false);
        astrid_json_free(turn);
        astrid_json_free(in);
        return ASTRID_CONTINUE;
    }

    astrid_json *ctx = astrid_json_object();
    pick_provider(ctx);
    astrid_json *sq = astrid_json_object();
    astrid_json_set_str(sq, "workspace_root", "cwd://");
    astrid_json_set_str(sq, "session_id", sid);
    astrid_json *spark = hook_first("spark.v1.request.build", sq);
    astrid_json_free(sq);
    const char *system = astrid_json_str_or(astrid_json_get(spark, "prompt"), "");

    char rid[37];
    uuid4(rid);
    astrid_json *pq = astrid_json_object();
    astrid_json *q = astrid_json_object();
    astrid_json_set_str(q, "session_id", sid);
    astrid_json *hist = hook_first("session.v1.request.get_messages", q);
    astrid_json_free(q);
    astrid_json *hm = astrid_json_take(hist, "messages");
    astrid_json_free(hist);
    astrid_json_set(pq, "messages", hm ? hm : astrid_json_array());
    astrid_json_set_str(pq, "system_prompt", system);
    astrid_json_set_str(pq, "request_id", rid);
    astrid_json_set_str(pq, "session_id", sid);
    astrid_json_set_str(pq, "model", astrid_json_get_str(ctx, "model"));
    astrid_json_set_str(pq, "provider", astrid_json_get_str(ctx, "provider"));
    astrid_json *built = hook_first("prompt_builder.v1.assemble", pq);
    astrid_json_free(pq);
    const char *bsys = astrid_json_get_str(built, "system_prompt");
    astrid_json_set_str(ctx, "system", bsys ? bsys : system);
    astrid_json *tools = astrid_json_get(built, "tools");
    astrid_json_set(ctx, "tools",
                    astrid_json_is(tools, ASTRID_JSON_ARRAY) ? astrid_json_copy(tools)
                                                             : astrid_json_array());
    const char *prefix = astrid_json_get_str(built, "user_context_prefix");
    if (prefix)
        astrid_json_set_str(ctx, "prefix", prefix);
    astrid_json_free(built);
    astrid_json_free(spark);
    astrid_json_set(turn, "ctx", ctx); /* stored with the turn by start_llm */

    start_llm(sid, turn);
    astrid_json_free(turn);
    astrid_json_free(in);
    return ASTRID_CONTINUE;
}
ASTRID_INTERCEPTOR("handle_user_prompt", on_prompt)

/* -------------------------------------------------------------- tools */

static bool known_tool(const char *sid, const astrid_json *turn, const char *name)
{
    astrid_json *ctx = turn_ctx(sid, turn);
    astrid_json *tools = astrid_json_get(ctx, "tools");
    bool hit = false;
    for (size_t i = 0; i < astrid_json_len(tools) && !hit; i++)
        hit = name &&
              !strcmp(astrid_json_str_or(astrid_json_get(astrid_json_at(tools, i), "name"), ""),
                      name);
    astrid_json_free(ctx);
    return hit;
}

static astrid_json *call_args(const astrid_json *call)
{
    const char *s = astrid_json_str_or(astrid_json_get(call, "args"), "");
    if (!*s)
        return astrid_json_object();
    return astrid_json_parse(s, strlen(s), NULL); /* NULL: not JSON */
}

static void tool_event(const char *sid, const astrid_json *call, const astrid_json *result)
{
    astrid_json *e = astrid_json_object();
    astrid_json_set_str(e, "type", "tool_call");
    astrid_json_set_str(e, "session_id", sid);
    astrid_json_set_str(e, "call_id", astrid_json_get_str(call, "id"));
    astrid_json_set_str(e, "tool_name", astrid_json_get_str(call, "name"));
    astrid_json *args = call_args(call);
    astrid_json_set(
        e, "arguments",
        args ? args : astrid_json_string(astrid_json_str_or(astrid_json_get(call, "args"), "")));
    astrid_json_set_str(e, "phase", result ? "finished" : "started");
    if (result) {
        astrid_json_set_str(e, "content",
                            astrid_json_str_or(astrid_json_get(result, "content"), ""));
        astrid_json_set_bool(e, "is_error", astrid_json_get_bool(result, "is_error", false));
    }
    publish_json("agent.v1.tool_call", e);
    astrid_json_free(e);
}

static astrid_json *result_of(const char *content, bool is_error)
{
    astrid_json *r = astrid_json_object();
    astrid_json_set_str(r, "content", content);
    astrid_json_set_bool(r, "is_error", is_error);
    return r;
}

static bool all_done(const astrid_json *turn)
{
    astrid_json *calls = astrid_json_get(turn, "calls");
    astrid_json *results = astrid_json_get(turn, "results");
    for (size_t i = 0; i < astrid_json_len(calls); i++)
        if (!astrid_json_get(results, astrid_json_get_str(astrid_json_at(calls, i), "id")))
            return false;
    return true;
}

/* Every call answered: the assistant's text and calls and the results go
 * into the session together (a call without its result would make the
 * next request invalid), then the next LLM call or the stop. */
static void after_tools(const char *sid, astrid_json *turn)
{
    astrid_json *calls = astrid_json_get(turn, "calls");
    astrid_json *results = astrid_json_get(turn, "results");
    astrid_json *msgs = astrid_json_array();
    const char *text = astrid_json_str_or(astrid_json_get(turn, "text"), "");
    if (*text)
        astrid_json_append(msgs, message("assistant", astrid_json_string(text)));
    astrid_json *tc = astrid_json_array();
    for (size_t i = 0; i < astrid_json_len(calls); i++) {
        const astrid_json *c = astrid_json_at(calls, i);
        astrid_json *o = astrid_json_object();
        astrid_json_set_str(o, "id", astrid_json_get_str(c, "id"));
        astrid_json_set_str(o, "name", astrid_json_get_str(c, "name"));
        astrid_json *args = call_args(c);
        astrid_json_set(o, "arguments", args ? args : astrid_json_object());
        astrid_json_append(tc, o);
    }
    astrid_json_append(msgs, message("assistant", tc));
    for (size_t i = 0; i < astrid_json_len(calls); i++) {
        const char *id = astrid_json_get_str(astrid_json_at(calls, i), "id");
        const astrid_json *r = astrid_json_get(results, id);
        astrid_json *o = astrid_json_object();
        astrid_json_set_str(o, "call_id", id);
        astrid_json_set_str(o, "content", astrid_json_str_or(astrid_json_get(r, "content"), ""));
        astrid_json_set_bool(o, "is_error", astrid_json_get_bool(r, "is_error", false));
        astrid_json_append(msgs, message("tool", o));
    }
    if (!session_append(sid, msgs)) {
        end_turn(sid, turn, "LLM error: the session store did not store the tool results", true,
                 false);
        return;
    }
    int64_t max = cfg_int("max_iterations", 10);
    if (astrid_json_get_int(turn, "iteration", 0) >= max) {
        char msg[96];
        snprintf(msg, sizeof msg, "Stopped: ReAct loop exceeded maximum iterations (%lld)",
                 (long long)max);
        end_turn(sid, turn, msg, false, false);
        return;
    }
    start_llm(sid, turn);
}

/* Done with tool calls: each announced, then sent to the router (a tool
 * the prompt did not offer is answered here as an error). */
static void run_tools(const char *sid, astrid_json *turn)
{
    astrid_json_set_int(turn, "iteration", astrid_json_get_int(turn, "iteration", 0) + 1);
    astrid_json_set_str(turn, "phase", "tools");
    astrid_json_set_int(turn, "phase_ms", (int64_t)astrid_clock_ms());
    astrid_json *calls = astrid_json_get(turn, "calls");
    astrid_json *results = astrid_json_get(turn, "results");
    char key[96];
    for (size_t i = 0; i < astrid_json_len(calls); i++) {
        const char *id = astrid_json_get_str(astrid_json_at(calls, i), "id");
        keyf(key, sizeof key, "react.call2sess.", id);
        kv_put_str(key, sid);
    }
    save_turn(sid, turn); /* before any result can arrive */
    for (size_t i = 0; i < astrid_json_len(calls); i++) {
        astrid_json *c = astrid_json_at(calls, i);
        const char *id = astrid_json_get_str(c, "id");
        const char *name = astrid_json_get_str(c, "name");
        tool_event(sid, c, NULL);
        astrid_json *args = call_args(c);
        const char *why = NULL;
        char buf[160];
        if (!args)
            why = "the tool call's arguments are not valid JSON";
        else if (!known_tool(sid, turn, name)) {
            snprintf(buf, sizeof buf, "unknown tool %.64s (not offered to the model)",
                     name ? name : "");
            why = buf;
        }
        if (why) {
            astrid_json *r = result_of(why, true);
            tool_event(sid, c, r);
            astrid_json_set(results, id, r);
            keyf(key, sizeof key, "react.call2sess.", id);
            kv_del(key);
            astrid_json_free(args);
            continue;
        }
        astrid_json *x = astrid_json_object();
        astrid_json_set_str(x, "type", "tool_execute_request");
        astrid_json_set_str(x, "call_id", id);
        astrid_json_set_str(x, "tool_name", name);
        astrid_json_set(x, "arguments", args);
        publish_json("tool.v1.request.execute", x);
        astrid_json_free(x);
    }
    if (all_done(turn))
        after_tools(sid, turn);
    else
        save_turn(sid, turn);
}

/* ------------------------------------------------------------- stream */

static astrid_json *find_call(astrid_json *calls, const char *id)
{
    for (size_t i = 0; i < astrid_json_len(calls); i++)
        if (id &&
            !strcmp(astrid_json_str_or(astrid_json_get(astrid_json_at(calls, i), "id"), ""), id))
            return astrid_json_at(calls, i);
    /* A provider that omits the id on deltas means the open call. */
    size_t n = astrid_json_len(calls);
    return (!id || !*id) && n ? astrid_json_at(calls, n - 1) : NULL;
}

static void on_usage(const char *sid, const astrid_json *turn, const astrid_json *u)
{
    astrid_json *ctx = turn_ctx(sid, turn);
    astrid_json *e = astrid_json_object();
    astrid_json_set_str(e, "type", "usage");
    astrid_json_set_str(e, "session_id", sid);
    astrid_json_set_str(e, "model", astrid_json_str_or(astrid_json_get(ctx, "model"), ""));
    astrid_json_set_str(e, "provider", astrid_json_str_or(astrid_json_get(ctx, "provider"), ""));
    astrid_json_set_int(e, "input_tokens", astrid_json_get_int(u, "input_tokens", 0));
    astrid_json_set_int(e, "output_tokens", astrid_json_get_int(u, "output_tokens", 0));
    publish_json("agent.v1.usage", e);
    astrid_json_free(e);
    astrid_json_free(ctx);
}

static astrid_action on_stream(const astrid_event *ev, astrid_reply *out)
{
    (void)out;
    astrid_json *in = astrid_json_parse((const char *)ev->payload, ev->len, NULL);
    const char *rid = astrid_json_get_str(in, "request_id");
    astrid_json *event = astrid_json_get(in, "event");
    char key[96];
    if (!rid || !valid_token(rid, 64, false) || !event) {
        astrid_json_free(in);
        return ASTRID_CONTINUE;
    }
    char *sid = session_of_request(rid);
    astrid_json *turn = sid ? load_turn(sid) : NULL;
    if (!turn || strcmp(astrid_json_str_or(astrid_json_get(turn, "request_id"), ""), rid) != 0 ||
        strcmp(astrid_json_str_or(astrid_json_get(turn, "phase"), ""), "streaming") != 0) {
        astrid_json_free(turn);
        free(sid);
        astrid_json_free(in);
        return ASTRID_CONTINUE; /* not (or no longer) ours */
    }
    if (stale(turn)) {
        /* past its timeout, the tick's to end; this event may also be the
         * first after an instance holding unsaved deltas outlived its pin
         * (see mem_turn): finishing from the stored copy could drop them */
        end_llm_timeout(sid, turn);
        astrid_json_free(turn);
        free(sid);
        astrid_json_free(in);
        return ASTRID_CONTINUE;
    }
    const char *tag = astrid_json_is(event, ASTRID_JSON_STRING) ? astrid_json_str(event)
                      : astrid_json_len(event) == 1             ? astrid_json_key_at(event, 0)
                                                                : "";
    astrid_json *val = astrid_json_is(event, ASTRID_JSON_OBJECT) ? astrid_json_at(event, 0) : NULL;
    astrid_json *calls = astrid_json_get(turn, "calls");
    bool save = true;
    if (!strcmp(tag, "TextDelta") && astrid_json_str(val)) {
        str_append(turn, "text", astrid_json_str(val));
        str_append(turn, "answer", astrid_json_str(val));
        respond(sid, astrid_json_str(val), false, false);
    } else if (!strcmp(tag, "ToolCallStart")) {
        astrid_json *c = astrid_json_object();
        const char *id = astrid_json_get_str(val, "id");
        char gen[40];
        if (!id || !valid_token(id, 64, false)) {
            /* ids become KV keys: an odd one is replaced by our own */
            gen[0] = 'c';
            gen[1] = '_';
            uuid4(gen + 2);
            id = gen;
        }
        astrid_json_set_str(c, "id", id);
        astrid_json_set_str(c, "name", astrid_json_str_or(astrid_json_get(val, "name"), ""));
        astrid_json_set_str(c, "args", "");
        astrid_json_append(calls, c);
    } else if (!strcmp(tag, "ToolCallDelta")) {
        astrid_json *c = find_call(calls, astrid_json_get_str(val, "id"));
        const char *d = astrid_json_get_str(val, "args_delta");
        if (c && d)
            str_append(c, "args", d);
    } else if (!strcmp(tag, "Usage")) {
        on_usage(sid, turn, val);
        save = false;
    } else if (!strcmp(tag, "Error")) {
        char msg[1200];
        snprintf(msg, sizeof msg, "LLM error: %.1100s",
                 astrid_json_str_or(val, "the provider reported an error"));
        end_turn(sid, turn, msg, true, false);
        save = false;
    } else if (!strcmp(tag, "Done")) {
        if (!astrid_json_get(turn, "ctx")) { /* the older layout's map */
            keyf(key, sizeof key, "react.req2sess.", rid);
            kv_del(key);
        }
        save = false;
        if (!astrid_json_len(calls)) {
            const char *text = astrid_json_str_or(astrid_json_get(turn, "text"), "");
            astrid_json *msgs = astrid_json_array();
            astrid_json_append(msgs, message("assistant", astrid_json_string(text)));
            if (*text && !session_append(sid, msgs))
                astrid_log(ASTRID_LOG_WARN, "the answer was not stored in the session");
            else if (!*text)
                astrid_json_free(msgs);
            end_turn(sid, turn, astrid_json_str_or(astrid_json_get(turn, "answer"), ""), false,
                     false);
        } else {
            run_tools(sid, turn);
        }
    } else {
        save = false; /* ReasoningDelta, ToolCallEnd, unknown: nothing to keep */
    }
    if (save) {
        astrid_json_set_int(turn, "phase_ms", (int64_t)astrid_clock_ms());
        save_turn_mode(sid, turn, true);
    }
    astrid_json_free(turn);
    free(sid);
    astrid_json_free(in);
    return ASTRID_CONTINUE;
}
ASTRID_INTERCEPTOR("handle_llm_stream", on_stream)

/* -------------------------------------------------------- tool result */

static astrid_action on_tool_result(const astrid_event *ev, astrid_reply *out)
{
    (void)out;
    astrid_json *in = astrid_json_parse((const char *)ev->payload, ev->len, NULL);
    astrid_json *res = astrid_json_get(in, "result");
    const char *cid = astrid_json_get_str(in, "call_id");
    if (!cid)
        cid = astrid_json_get_str(res, "call_id");
    char key[96];
    if (!cid || !valid_token(cid, 64, false)) {
        astrid_json_free(in);
        return ASTRID_CONTINUE;
    }
    keyf(key, sizeof key, "react.call2sess.", cid);
    char *sid = kv_str(key);
    astrid_json *turn = sid ? load_turn(sid) : NULL;
    astrid_json *call = turn ? find_call(astrid_json_get(turn, "calls"), cid) : NULL;
    astrid_json *results = astrid_json_get(turn, "results");
    if (!turn || !call || strcmp(astrid_json_str_or(astrid_json_get(call, "id"), ""), cid) != 0 ||
        strcmp(astrid_json_str_or(astrid_json_get(turn, "phase"), ""), "tools") != 0 ||
        astrid_json_get(results, cid)) {
        astrid_json_free(turn);
        free(sid);
        astrid_json_free(in);
        return ASTRID_CONTINUE;
    }
    kv_del(key);
    astrid_json *content = astrid_json_get(res, "content");
    char *dumped = NULL;
    const char *text = astrid_json_str(content);
    if (!text && content) /* a structured result is given to the model as its JSON */
        text = dumped = astrid_json_dump(content);
    astrid_json *r = result_of(text ? text : "", astrid_json_get_bool(res, "is_error", false));
    free(dumped);
    tool_event(sid, call, r);
    astrid_json_set(results, cid, r);
    if (all_done(turn))
        after_tools(sid, turn);
    else
        save_turn(sid, turn);
    astrid_json_free(turn);
    free(sid);
    astrid_json_free(in);
    return ASTRID_CONTINUE;
}
ASTRID_INTERCEPTOR("handle_tool_result", on_tool_result)

/* --------------------------------------------------------------- tick */

/* Phase timeouts of this agent's turns (the kernel ticks every 5 s, for
 * the system and for each agent active lately). */
static astrid_action on_tick(const astrid_event *ev, astrid_reply *out)
{
    (void)ev;
    (void)out;
    char **keys = NULL;
    size_t n = 0;
    char *err = NULL;
    if (astrid_kv_list_keys("react.turn.", &keys, &n, &err) != 0) {
        free(err);
        return ASTRID_CONTINUE;
    }
    for (size_t i = 0; i < n; i++) {
        const char *sid = keys[i] + strlen("react.turn.");
        astrid_json *turn = load_turn(sid);
        if (!turn || !stale(turn)) {
            astrid_json_free(turn);
            continue;
        }
        if (!strcmp(astrid_json_str_or(astrid_json_get(turn, "phase"), ""), "tools")) {
            /* missing results become errors; the model decides what next */
            int64_t secs = cfg_int("tool_timeout_secs", 300);
            astrid_json *calls = astrid_json_get(turn, "calls");
            astrid_json *results = astrid_json_get(turn, "results");
            char key[96];
            for (size_t c = 0; c < astrid_json_len(calls); c++) {
                astrid_json *call = astrid_json_at(calls, c);
                const char *id = astrid_json_get_str(call, "id");
                if (astrid_json_get(results, id))
                    continue;
                char msg[160];
                snprintf(msg, sizeof msg, "tool %.64s did not answer within %lld s",
                         astrid_json_str_or(astrid_json_get(call, "name"), ""), (long long)secs);
                astrid_json *r = result_of(msg, true);
                tool_event(sid, call, r);
                astrid_json_set(results, id, r);
                keyf(key, sizeof key, "react.call2sess.", id);
                kv_del(key);
            }
            after_tools(sid, turn);
        } else {
            end_llm_timeout(sid, turn);
        }
        astrid_json_free(turn);
    }
    astrid_strv_free(keys, n);
    return ASTRID_CONTINUE;
}
ASTRID_INTERCEPTOR("handle_tick", on_tick)
