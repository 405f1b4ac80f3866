/* The security gate (gate.h): hard policy -> token -> budget -> approval
 * -> audit, and the budgets' persistence. */
#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "astrid/blake3.h"
#include "astrid/jsonsafe.h"
#include "astrid/principal.h"
#include "astrid/trust.h"
#include "astrid/uuid.h"
#include "lib/config/config.h"
#include "kernel/gate_int.h"
#include "kernel/usage.h"
#include "store/kv.h"

#define NS_BUDGET "system:budget"
#define NS_SPENT "system:budget_spent"

/* The hard policy's lists and limits (reference §8.6) come from the
 * configuration's [security] section (docs/config.md); a kernel struct
 * without a config (unit tests) reads the schema's defaults. */
typedef enum { POL_ALLOWED, POL_APPROVAL, POL_BLOCKED } gate_policy;

static bool starts_word(const char *s, const char *w)
{
    size_t n = strlen(w);
    if (strncmp(s, w, n) != 0)
        return false;
    /* multi-word entries ("rm -rf /") block any command they begin, as
     * upstream's starts_with; a single word only as a whole word */
    return strchr(w, ' ') || s[n] == '\0' || s[n] == ' ' || s[n] == '\t';
}

/* The command of an exec resource, or NULL. */
static const char *command_of(const astrid_gate_req *r)
{
    if (strncmp(r->resource, "exec://", 7) == 0)
        return r->resource + 7;
    if (strcmp(r->action, "execute_command") == 0)
        return r->resource;
    return NULL;
}

static bool command_blocked(const astrid_kernel *k, const char *cmd, char *why, size_t n)
{
    size_t nb;
    const char *const *blocked_tools = astrid_config_list(k->config, "security.blocked_tools", &nb);
    while (*cmd == ' ' || *cmd == '\t')
        cmd++;
    /* "/usr/bin/sudo x" is "sudo x" */
    const char *sp = strpbrk(cmd, " \t");
    const char *first_end = sp ? sp : cmd + strlen(cmd);
    const char *base = cmd;
    for (const char *p = cmd; p < first_end; p++)
        if (*p == '/')
            base = p + 1;
    for (size_t i = 0; i < nb; i++)
        if (starts_word(cmd, blocked_tools[i]) || starts_word(base, blocked_tools[i])) {
            snprintf(why, n, "blocked by policy: command '%s' is in blocked_tools",
                     blocked_tools[i]);
            return true;
        }
    return false;
}

static bool path_traverses(const char *p)
{
    for (const char *q = p; (q = strstr(q, "..")) != NULL; q += 2)
        if ((q == p || q[-1] == '/') && (q[2] == '\0' || q[2] == '/'))
            return true;
    return false;
}

/* The path of a file resource, or NULL. */
static const char *path_of(const astrid_gate_req *r)
{
    if (strncmp(r->resource, "file://", 7) == 0)
        return r->resource + 7;
    if (r->resource[0] == '/' || strncmp(r->action, "file_", 5) == 0)
        return r->resource;
    return NULL;
}

/* Does `path` fall under a path pattern: one ending in a slash and two
 * stars is that directory and everything below it; a pattern with a glob character is an fnmatch
 * glob; a plain path is that path and everything below it. */
static bool path_matches(const char *pat, const char *path)
{
    size_t l = strlen(pat);
    if (l >= 3 && strcmp(pat + l - 3, "/**") == 0)
        l -= 3;
    else if (strpbrk(pat, "*?["))
        return fnmatch(pat, path, 0) == 0;
    return strncmp(path, pat, l) == 0 && (path[l] == '\0' || path[l] == '/' || l == 0);
}

/* The host of a network resource ("net://host:443", "https://host/x"), or
 * false. A bracketed IPv6 literal keeps no brackets. */
static bool host_of(const astrid_gate_req *r, char *out, size_t n)
{
    const char *s = strstr(r->resource, "://");
    if (!s || (strncmp(r->resource, "net://", 6) != 0 && strncmp(r->resource, "http", 4) != 0))
        return false;
    s += 3;
    size_t len;
    if (*s == '[') {
        s++;
        len = strcspn(s, "]");
    } else
        len = strcspn(s, ":/?#");
    if (len == 0 || len >= n)
        return false;
    for (size_t i = 0; i < len; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[len] = '\0';
    return true;
}

static bool list_has_ci(const char *const *l, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(l[i], s) == 0)
            return true;
    return false;
}

static gate_policy policy(const astrid_kernel *k, const astrid_gate_req *r, char *why, size_t n)
{
    const astrid_config *cf = k->config;
    size_t max_arg = (size_t)astrid_config_int(cf, "security.max_argument_size");
    if (strlen(r->resource) > max_arg) {
        snprintf(why, n, "blocked by policy: argument over %zu bytes (security.max_argument_size)",
                 max_arg);
        return POL_BLOCKED;
    }
    size_t nl;
    const char *const *l = astrid_config_list(cf, "security.blocked_capsules", &nl);
    if (r->capsule && list_has_ci(l, nl, r->capsule)) {
        snprintf(why, n, "blocked by policy: capsule '%s' is in blocked_capsules", r->capsule);
        return POL_BLOCKED;
    }
    const char *cmd = command_of(r);
    if (cmd && command_blocked(k, cmd, why, n))
        return POL_BLOCKED;
    /* Path traversal anywhere in a resource is refused, free text included:
     * a capsule naming "../" asks for what its grants do not cover. */
    const char *path = path_of(r);
    if (path_traverses(path ? path : r->resource)) {
        snprintf(why, n, "blocked by policy: path traversal ('..' component) in '%.200s'",
                 r->resource);
        return POL_BLOCKED;
    }
    if (path) {
        l = astrid_config_list(cf, "security.denied_paths", &nl);
        for (size_t i = 0; i < nl; i++)
            if (path_matches(l[i], path)) {
                snprintf(why, n, "blocked by policy: %.200s is a denied path", l[i]);
                return POL_BLOCKED;
            }
        l = astrid_config_list(cf, "security.allowed_paths", &nl);
        bool ok = nl == 0;
        for (size_t i = 0; i < nl && !ok; i++)
            ok = path_matches(l[i], path);
        if (!ok) {
            snprintf(why, n, "blocked by policy: '%.200s' is outside allowed_paths", path);
            return POL_BLOCKED;
        }
    }
    char host[256];
    if (host_of(r, host, sizeof host)) {
        l = astrid_config_list(cf, "security.denied_hosts", &nl);
        if (list_has_ci(l, nl, host)) {
            snprintf(why, n, "blocked by policy: host '%s' is in denied_hosts", host);
            return POL_BLOCKED;
        }
        l = astrid_config_list(cf, "security.allowed_hosts", &nl);
        if (nl && !list_has_ci(l, nl, host)) {
            snprintf(why, n, "blocked by policy: host '%s' is not in allowed_hosts", host);
            return POL_BLOCKED;
        }
        if (!astrid_config_bool(cf, "security.require_approval_for_network"))
            return POL_ALLOWED;
    }
    if (strncmp(r->resource, "mcp://", 6) == 0) {
        const char *st = r->resource + 6;
        size_t srvlen = strcspn(st, ":");
        char srv[256];
        snprintf(srv, sizeof srv, "%.*s", (int)(srvlen < 255 ? srvlen : 255), st);
        l = astrid_config_list(cf, "security.blocked_tools", &nl);
        for (size_t i = 0; i < nl; i++)
            if (strcmp(st, l[i]) == 0) {
                snprintf(why, n, "blocked by policy: tool '%s' is in blocked_tools", st);
                return POL_BLOCKED;
            }
        l = astrid_config_list(cf, "security.approval_required_tools", &nl);
        for (size_t i = 0; i < nl; i++)
            if (strcmp(st, l[i]) == 0 || strcmp(srv, l[i]) == 0)
                return POL_APPROVAL;
        return POL_ALLOWED;
    }
    /* commands, files, network (require_approval_for_network) and
     * everything a capsule asks for in its own words */
    return POL_APPROVAL;
}

/* The token resource of a request: its URI, or approval://<action>/<text>. */
static void token_resource(const astrid_gate_req *r, char *out, size_t n)
{
    if (strstr(r->resource, "://"))
        snprintf(out, n, "%s", r->resource);
    else
        snprintf(out, n, "approval://%s/%s", r->action, r->resource);
}

/* One SecurityGate audit entry. Allows are durable (fail closed: an
 * allow that is not on record does not happen); denials write-behind. */
static int gate_audit(astrid_kernel *k, const astrid_gate_req *r, bool allowed, const char *step,
                      const char *reason, const char *token_id)
{
    json_t *params = json_pack("{s:s,s:s,s:s,s:s}", "action", r->action, "resource", r->resource,
                               "capsule", r->capsule ? r->capsule : "", "step", step);
    if (params && token_id)
        json_object_set_new(params, "token_id", json_string(token_id));
    int rc = astrid_audit_request_mode(
        k, allowed ? ASTRID_AUDIT_DURABLE : ASTRID_AUDIT_WRITE_BEHIND, r->principal, "SecurityGate",
        r->action, NULL, params, allowed, reason);
    json_decref(params);
    return rc;
}

static void budget_key(astrid_kernel *k, const char *principal, char *out, size_t n)
{
    char h[2 * ASTRID_BLAKE3_OUT_LEN + 1];
    astrid_blake3_hex(k->workspace, strlen(k->workspace), h);
    snprintf(out, n, "%s/%.16s", principal, h);
}

/* The workspace spend survives restarts; the session spend does not. */
static void persist_spent(astrid_kernel *k, const char *principal)
{
    if (!k->kv)
        return;
    astrid_budget_limits l;
    astrid_budget_usage u;
    astrid_budgets_get(k->gate->budgets, principal, &l, &u);
    char key[128], val[128];
    budget_key(k, principal, key, sizeof key);
    int n = snprintf(val, sizeof val, "{\"spent\":%.9f}", u.workspace_spent);
    astrid_err err;
    pthread_mutex_lock(&k->gate->budget_lock);
    if (astrid_kv_set(k->kv, NS_SPENT, key, val, (size_t)n, &err) != 0)
        astrid_klog(k, "ERROR", "budget: workspace spend of %s not saved: %s", principal, err.msg);
    pthread_mutex_unlock(&k->gate->budget_lock);
}

static int load_budgets(astrid_kernel *k, astrid_err *err)
{
    astrid_kv_keys keys = {0};
    if (astrid_kv_list(k->kv, NS_BUDGET, "", &keys, err) != 0)
        return -1;
    for (size_t i = 0; i < keys.count; i++) {
        char *val = NULL, *sv = NULL;
        size_t len = 0, slen = 0;
        char skey[128];
        budget_key(k, keys.keys[i], skey, sizeof skey);
        if (astrid_kv_get(k->kv, NS_BUDGET, keys.keys[i], &val, &len, err) != 0 ||
            astrid_kv_get(k->kv, NS_SPENT, skey, &sv, &slen, err) != 0) {
            free(val);
            astrid_kv_keys_free(&keys);
            return -1;
        }
        json_t *j = val ? astrid_json_loadb(val, len, 0, NULL) : NULL;
        json_t *s = sv ? astrid_json_loadb(sv, slen, 0, NULL) : NULL;
        astrid_budget_limits l;
        astrid_budgets_defaults(k->gate->budgets, &l);
        if (j) {
            l.per_action_usd = json_number_value(json_object_get(j, "per_action_usd"));
            l.session_usd = json_number_value(json_object_get(j, "session_usd"));
            l.workspace_usd = json_number_value(json_object_get(j, "workspace_usd"));
            l.warn_percent = (unsigned)json_integer_value(json_object_get(j, "warn_at_percent"));
        }
        astrid_budget_usage u = {0, s ? json_number_value(json_object_get(s, "spent")) : 0};
        astrid_err e;
        if (!j || astrid_budgets_set(k->gate->budgets, keys.keys[i], &l, &u, &e) != 0)
            astrid_klog(k, "ERROR", "budget of %s in var/state.db unreadable; defaults apply",
                        keys.keys[i]);
        json_decref(j);
        json_decref(s);
        free(val);
        free(sv);
    }
    astrid_kv_keys_free(&keys);
    return 0;
}

int astrid_gate_start(astrid_kernel *k, astrid_err *err)
{
    struct astrid_gate *g = calloc(1, sizeof *g);
    if (!g)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    k->gate = g;
    pthread_mutex_init(&g->pending_lock, NULL);
    pthread_mutex_init(&g->budget_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->pending_cond, &ca);
    pthread_condattr_destroy(&ca);
    /* ASTRID_APPROVAL_TIMEOUT_MS and ASTRID_ALLOW_ALWAYS_TTL_SECS are the
     * env layer of these keys */
    g->timeout_ms = (uint64_t)astrid_config_int(k->config, "timeouts.approval_ms");
    g->always_ttl_secs = astrid_config_int(k->config, "security.allow_always_ttl_secs");
    size_t refused = 0;
    astrid_err why = {0};
    g->tokens = astrid_captokens_open(k->kv, k->key.pk, &refused, &why, err);
    g->allow = astrid_allowances_new();
    g->budgets = astrid_budgets_new();
    if (!g->tokens || !g->allow || !g->budgets) {
        if (g->tokens)
            astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        return astrid_err_prefix(err, "security gate");
    }
    if (refused)
        astrid_klog(k, "ERROR",
                    "%zu stored capability token(s) refused (last: %s); they grant nothing",
                    refused, why.msg);
    /* [budget] of the configuration: the limits of every principal no
     * `astrid budget set` has given its own */
    astrid_budget_limits def = {astrid_config_float(k->config, "budget.per_action_max_usd"),
                                astrid_config_float(k->config, "budget.session_max_usd"),
                                astrid_config_float(k->config, "budget.workspace_max_usd"),
                                (unsigned)astrid_config_int(k->config, "budget.warn_at_percent")};
    if (astrid_budgets_set_defaults(g->budgets, &def, err) != 0)
        return astrid_err_prefix(err, "security gate: [budget]");
    if (k->kv && load_budgets(k, err) != 0)
        return astrid_err_prefix(err, "security gate: budgets");
    return astrid_usage_start(k, err);
}

void astrid_gate_free(astrid_kernel *k)
{
    struct astrid_gate *g = k->gate;
    if (!g)
        return;
    gate_pending_free_all(g);
    astrid_captokens_close(g->tokens);
    astrid_allowances_free(g->allow);
    astrid_usage_free(k);
    astrid_budgets_free(g->budgets);
    free(g->conns);
    pthread_mutex_destroy(&g->pending_lock);
    pthread_mutex_destroy(&g->budget_lock);
    pthread_cond_destroy(&g->pending_cond);
    free(g);
    k->gate = NULL;
}

static int deny(astrid_kernel *k, const astrid_gate_req *r, astrid_gate_result *out,
                const char *step, const char *reason)
{
    astrid_gate_refund(k, out);
    out->allowed = false;
    snprintf(out->reason, sizeof out->reason, "%s", reason);
    gate_audit(k, r, false, step, reason, NULL);
    return 0;
}

static int allow(astrid_kernel *k, const astrid_gate_req *r, astrid_gate_result *out,
                 const char *via, const char *token_id, astrid_err *err)
{
    char why[300];
    snprintf(why, sizeof why, "allowed by %s", via);
    if (gate_audit(k, r, true, via, why, token_id) != 0) {
        astrid_gate_refund(k, out);
        out->allowed = false;
        snprintf(out->reason, sizeof out->reason, "audit log unavailable: denied");
        return astrid_err_set(err, ASTRID_E_IO, "security gate: audit log unavailable");
    }
    out->allowed = true;
    out->via = via;
    return 0;
}

static int reserve(astrid_kernel *k, const astrid_gate_req *r, astrid_gate_result *out)
{
    if (r->cost_usd == 0)
        return 0;
    astrid_err e;
    if (astrid_budgets_reserve(k->gate->budgets, r->principal, r->cost_usd, &out->resv,
                               &out->budget_warn, &e) != 0) {
        deny(k, r, out, "budget", e.msg);
        return -1;
    }
    if (out->budget_warn)
        astrid_klog(k, "WARN", "budget of %s at or above its warning threshold", r->principal);
    persist_spent(k, r->principal);
    return 0;
}

/* A decision of the human turned into what it leaves behind. */
static int remember(astrid_kernel *k, const astrid_gate_req *r, const char *decision,
                    const char *tres, unsigned perm)
{
    astrid_err e;
    if (strcmp(decision, "approve_always") == 0) {
        astrid_captoken t = {0};
        /* The token grants what the human saw, exactly: a '*' the capsule
         * put in its resource is escaped, not a wildcard; one too long to
         * escape gets no token (approved once). */
        bool glob = strpbrk(tres, "*?[") != NULL;
        size_t o = 0;
        for (const char *c = tres; *c; c++) {
            if (o + 3 > sizeof t.resource) {
                astrid_klog(k, "WARN",
                            "approve_always for %s: resource too long for a token; "
                            "approved once",
                            r->principal);
                return 0;
            }
            if (glob && strchr("*?[\\", *c))
                t.resource[o++] = '\\';
            t.resource[o++] = *c;
        }
        t.resource[o] = '\0';
        t.perms = perm;
        t.expires_at = (int64_t)time(NULL) + k->gate->always_ttl_secs;
        t.persistent = true;
        astrid_uuid_v4(t.approval_audit_id);
        snprintf(t.principal, sizeof t.principal, "%s", r->principal);
        if (astrid_captoken_mint(&t, &k->key, &e) != 0 ||
            astrid_captokens_add(k->gate->tokens, &t, &e) != 0) {
            astrid_klog(k, "WARN", "approve_always for %s: no token minted (%s); approved once",
                        r->principal, e.msg);
            return 0;
        }
        return 0;
    }
    bool session = strcmp(decision, "approve_session") == 0;
    bool ws = strcmp(decision, "approve_workspace") == 0;
    if (!session && !ws)
        return 0;
    astrid_allowance a = {0};
    snprintf(a.principal, sizeof a.principal, "%s", r->principal);
    snprintf(a.action, sizeof a.action, "%s", r->action);
    snprintf(a.resource, sizeof a.resource, "%s", r->resource);
    a.created_at = (int64_t)time(NULL);
    a.uses_remaining = -1;
    a.session_only = session;
    if (ws)
        snprintf(a.workspace, sizeof a.workspace, "%s", k->workspace);
    if (astrid_allowances_add(k->gate->allow, &a, &e) != 0)
        astrid_klog(k, "WARN", "%s for %s: allowance not stored (%s)", decision, r->principal,
                    e.msg);
    return 0;
}

int astrid_gate_check(astrid_kernel *k, const astrid_gate_req *r, astrid_gate_result *out,
                      astrid_err *err)
{
    memset(out, 0, sizeof *out);
    snprintf(out->reason, sizeof out->reason, "denied");
    if (!k->gate)
        return astrid_err_set(err, ASTRID_E_UNSUPPORTED, "security gate not started");
    /* a remote principal (id@host, federation) is checked like a local
     * one: its profile and [[map]] groups, its own tokens and budget */
    if (!r->principal || astrid_profile_principal_validate(r->principal, err) != 0)
        return -1;
    if (!r->action || !*r->action || strlen(r->action) > 64 || !r->resource || !*r->resource ||
        strlen(r->resource) > ASTRID_TOKEN_RESOURCE_MAX)
        return astrid_err_set(err, ASTRID_E_INVALID,
                              "security gate: action (1..64 bytes) and resource (1..%d bytes) "
                              "are required",
                              ASTRID_TOKEN_RESOURCE_MAX);
    char why[512];
    gate_policy p = policy(k, r, why, sizeof why);
    if (p == POL_BLOCKED)
        return deny(k, r, out, "policy", why);
    char tres[ASTRID_TOKEN_RESOURCE_MAX + 128]; /* never cut: too long never matches */
    token_resource(r, tres, sizeof tres);
    unsigned perm = r->perm ? r->perm : ASTRID_PERM_INVOKE;
    int64_t now = (int64_t)time(NULL);
    astrid_captoken tok;
    int f = astrid_captokens_find(k->gate->tokens, r->principal, tres, perm, now, &tok, err);
    if (f < 0) {
        deny(k, r, out, "token", err->msg);
        return -1;
    }
    if (reserve(k, r, out) != 0)
        return 0;
    if (f == 1)
        return allow(k, r, out, "token", tok.id, err);
    if (p == POL_ALLOWED)
        return allow(k, r, out, "policy", NULL, err);
    if (r->preauthorized)
        return allow(k, r, out, "static grant", NULL, err);
    astrid_allowance a;
    if (astrid_allowances_consume(k->gate->allow, r->principal, r->action, r->resource,
                                  k->workspace, now, &a)) {
        if (a.deny)
            return deny(k, r, out, "allowance", "denied by a remembered answer (deny allowance)");
        return allow(k, r, out, "allowance", NULL, err);
    }
    if (r->no_prompt)
        return deny(k, r, out, "approval", "approval required (no prompt for this action)");
    char decision[32];
    astrid_err e;
    if (astrid_gate_ask_approval(k, r->principal, r->capsule, r->action, r->resource,
                                 r->reason ? r->reason : "", decision, &e) != 0)
        return deny(k, r, out, "approval", e.msg);
    if (strcmp(decision, "deny") == 0)
        return deny(k, r, out, "approval", "denied by the user");
    remember(k, r, decision, tres, perm);
    return allow(k, r, out, "approval", NULL, err);
}

void astrid_gate_refund(astrid_kernel *k, astrid_gate_result *res)
{
    if (!res->resv.cost)
        return;
    char p[65];
    snprintf(p, sizeof p, "%s", res->resv.principal);
    astrid_budgets_refund(k->gate->budgets, &res->resv);
    persist_spent(k, p);
}

int astrid_gate_charge(astrid_kernel *k, const char *principal, const char *capsule, double usd,
                       const char *what, astrid_err *err)
{
    astrid_gate_req r = {.principal = principal,
                         .capsule = capsule,
                         .action = "usage_charge",
                         .resource = what && *what ? what : "usage"};
    if (astrid_principal_validate(principal, err) != 0)
        return -1;
    bool warn = false;
    if (astrid_budgets_add(k->gate->budgets, principal, usd, &warn, err) != 0) {
        gate_audit(k, &r, false, "budget", err->msg, NULL);
        return -1;
    }
    persist_spent(k, principal);
    if (warn)
        astrid_klog(k, "WARN", "budget of %s at or above its warning threshold", principal);
    char why[128];
    snprintf(why, sizeof why, "charged %.6f USD", usd);
    if (gate_audit(k, &r, true, "budget", why, NULL) != 0)
        return astrid_err_set(err, ASTRID_E_IO, "audit log unavailable");
    return 0;
}

bool astrid_gate_budget_blocks(astrid_kernel *k, const char *principal, const char *action,
                               const char *resource, char *why, size_t n)
{
    if (!k->gate || !principal || !astrid_budgets_exhausted(k->gate->budgets, principal, why, n))
        return false;
    astrid_gate_req r = {.principal = principal, .action = action, .resource = resource};
    gate_audit(k, &r, false, "budget", why, NULL);
    return true;
}

void astrid_gate_refused(astrid_kernel *k, const char *principal, const char *capsule,
                         const char *action, const char *resource, const char *step,
                         const char *reason)
{
    astrid_gate_req r = {
        .principal = principal, .capsule = capsule, .action = action, .resource = resource};
    gate_audit(k, &r, false, step, reason, NULL);
}

json_t *astrid_gate_budget_json(astrid_kernel *k, const char *principal)
{
    astrid_budget_limits l;
    astrid_budget_usage u;
    astrid_budgets_get(k->gate->budgets, principal, &l, &u);
    return json_pack("{s:s,s:f,s:f,s:f,s:i,s:f,s:f}", "principal", principal, "per_action_usd",
                     l.per_action_usd, "session_usd", l.session_usd, "workspace_usd",
                     l.workspace_usd, "warn_at_percent", (int)l.warn_percent, "session_spent_usd",
                     u.session_spent, "workspace_spent_usd", u.workspace_spent);
}

int astrid_gate_budget_set(astrid_kernel *k, const char *principal, const astrid_budget_limits *l,
                           astrid_err *err)
{
    if (astrid_budget_limits_check(l, err) != 0)
        return -1;
    char val[256];
    int n = snprintf(val, sizeof val,
                     "{\"per_action_usd\":%.9f,\"session_usd\":%.9f,\"workspace_usd\":%.9f,"
                     "\"warn_at_percent\":%u}",
                     l->per_action_usd, l->session_usd, l->workspace_usd, l->warn_percent);
    /* Stored first: a limit the daemon enforces is one it will still
     * enforce after a restart. */
    if (k->kv && astrid_kv_set(k->kv, NS_BUDGET, principal, val, (size_t)n, err) != 0)
        return -1;
    return astrid_budgets_set(k->gate->budgets, principal, l, NULL, err);
}

int astrid_gate_env_approval(void *ctx, const astrid_invocation *inv, const char *action,
                             const char *resource, bool *approved, astrid_err *err)
{
    astrid_kernel *k = ctx;
    char reason[200];
    snprintf(reason, sizeof reason, "capsule %s asks to %s", inv->capsule, action);
    astrid_gate_req r = {.principal = inv->principal,
                         .capsule = inv->capsule,
                         .action = action,
                         .resource = resource,
                         .perm = ASTRID_PERM_INVOKE,
                         .reason = reason};
    astrid_gate_result res;
    if (astrid_gate_check(k, &r, &res, err) != 0)
        return -1;
    *approved = res.allowed;
    return 0;
}

int astrid_gate_env_elicit(void *ctx, const astrid_invocation *inv, const char *request_json,
                           char **value, astrid_err *err)
{
    astrid_kernel *k = ctx;
    json_t *field =
        request_json ? astrid_json_loadb(request_json, strlen(request_json), 0, NULL) : NULL;
    if (!field)
        return astrid_err_set(err, ASTRID_E_INVALID, "elicit: bad request");
    int rc = astrid_gate_elicit(k, inv->principal, inv->capsule, field, value, err);
    json_decref(field);
    return rc;
}
