/* approver: calls request-approval, elicit and has-secret on request and
 * publishes what the host answered (tests/integration/gate_approval.sh).
 *
 * On demo.v1.approver {"op": ...}, replies on demo.v1.approver.reply:
 *   ask {action, resource} -> {approved} | {err}
 *   elicit {key}           -> {value} | {err}
 *   secret {key}           -> {has} | {err}                              */
#include <astrid.h>
#include <stdio.h>
#include <string.h>

#define IMPORT(mod, name) __attribute__((import_module(mod), import_name(name))) extern void
typedef const char *S;
IMPORT("astrid:capsule/approval@0.1.0", "request-approval")
req_approval(S, size_t, S, size_t, void *);
IMPORT("astrid:capsule/elicit@0.1.0", "elicit")
elicit(S, size_t, S, size_t, S, size_t, int, S, size_t, int, S, size_t, void *);
IMPORT("astrid:capsule/elicit@0.1.0", "has-secret") has_secret(S, size_t, void *);

/* The string value of "key" in a flat JSON object ("" when absent). */
static void field(const char *json, const char *key, char *out, size_t n)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *k = strstr(json, pat);
    const char *q = k ? strchr(k + strlen(pat), '"') : NULL;
    const char *e = q ? strchr(q + 1, '"') : NULL;
    size_t len = e ? (size_t)(e - q - 1) : 0;
    if (len >= n)
        len = n - 1;
    memcpy(out, e ? q + 1 : "", len);
    out[len] = '\0';
}

/* A JSON string of the (ptr, len) string at `at` (quotes and controls
 * dropped: the suite only reads plain text). */
static void text(char *out, size_t n, const unsigned char *at)
{
    unsigned int p, l;
    memcpy(&p, at, 4);
    memcpy(&l, at + 4, 4);
    const char *s = l ? (const char *)(size_t)p : "";
    size_t o = 0;
    for (unsigned int i = 0; i < l && o + 1 < n; i++)
        if (s[i] != '"' && s[i] != '\\' && (unsigned char)s[i] >= 0x20)
            out[o++] = s[i];
    out[o] = '\0';
}

static void reply(const char *body)
{
    astrid_publish("demo.v1.approver.reply", body, NULL);
}

static astrid_action on_op(const astrid_event *ev, astrid_reply *out)
{
    (void)out;
    const char *pl = (const char *)ev->payload;
    char op[32], a[512], b[1100], t[1200], body[1400];
    _Alignas(8) unsigned char r[16] = {0};
    field(pl, "op", op, sizeof op);
    if (strcmp(op, "ask") == 0) {
        field(pl, "action", a, sizeof a);
        field(pl, "resource", b, sizeof b);
        req_approval(a, strlen(a), b, strlen(b), r);
        if (r[0]) {
            text(t, sizeof t, r + 4);
            snprintf(body, sizeof body, "{\"err\":\"%s\"}", t);
        } else {
            snprintf(body, sizeof body, "{\"approved\":%s}", r[4] ? "true" : "false");
        }
    } else if (strcmp(op, "elicit") == 0) {
        field(pl, "key", a, sizeof a);
        static const char type[] = "text", desc[] = "a value for the test";
        elicit(type, strlen(type), a, strlen(a), desc, strlen(desc), 0, NULL, 0, 0, NULL, 0, r);
        text(t, sizeof t, r + 4);
        snprintf(body, sizeof body, r[0] ? "{\"err\":\"%s\"}" : "{\"value\":\"%s\"}", t);
    } else if (strcmp(op, "secret") == 0) {
        field(pl, "key", a, sizeof a);
        has_secret(a, strlen(a), r);
        if (r[0]) {
            text(t, sizeof t, r + 4);
            snprintf(body, sizeof body, "{\"err\":\"%s\"}", t);
        } else {
            snprintf(body, sizeof body, "{\"has\":%s}", r[4] ? "true" : "false");
        }
    } else {
        snprintf(body, sizeof body, "{\"err\":\"unknown op\"}");
    }
    reply(body);
    return ASTRID_CONTINUE;
}

ASTRID_INTERCEPTOR("op", on_op)
