/* idprobe: drives the identity host functions and check-capsule-capability
 * on request and publishes what the host answered, so a shell suite can
 * check them as an operator would (tests/integration/capsule_identity.sh).
 *
 * On demo.v1.NAME {"op": ...}, replies on demo.v1.NAME.reply:
 *   create {name?}                 -> {ok, error?, user_id?}
 *   link {platform, puid, user, method} -> {ok, error?}
 *   resolve {platform, puid}       -> {found, user_id?, display_name?, error?}
 *   unlink {platform, puid}        -> {ok, removed?, error?}
 *   links {user}                   -> {ok, links?, error?}
 *   check {uuid, cap?}             -> {allowed}; uuid "caller" = the sender's source id
 *   relay {to}                     -> asks capsule `to` to check this capsule's UUID
 * A result::err from the host is {"err": "..."}.
 * The same source builds tests/capsules/idplain (IDP_NAME "idplain"). */
#include <astrid.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef IDP_NAME
#define IDP_NAME "idprobe"
#endif

#define IMPORT(mod, name) __attribute__((import_module(mod), import_name(name))) extern void
#define IDN "astrid:capsule/identity@0.1.0"
typedef const char *S;
IMPORT(IDN, "identity-resolve") id_resolve(S, size_t, S, size_t, void *);
IMPORT(IDN, "identity-link") id_link(S, size_t, S, size_t, S, size_t, S, size_t, void *);
IMPORT(IDN, "identity-unlink") id_unlink(S, size_t, S, size_t, void *);
IMPORT(IDN, "identity-create-user") id_create(int, S, size_t, void *);
IMPORT(IDN, "identity-list-links") id_links(S, size_t, void *);
IMPORT("astrid:capsule/sys@0.1.0", "check-capsule-capability")
check_cap(S, size_t, S, size_t, void *);

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

/* A JSON string literal of the (ptr, len) string at `at`. */
static void jstr(char *out, size_t n, const unsigned char *at)
{
    unsigned int p, l;
    memcpy(&p, at, 4);
    memcpy(&l, at + 4, 4);
    const char *s = l ? (const char *)(size_t)p : "";
    size_t o = 0;
    out[o++] = '"';
    for (unsigned int i = 0; i < l && o + 8 < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)snprintf(out + o, n - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o++] = '"';
    out[o] = '\0';
}

/* The raw text of the (ptr, len) string at `at` (JSON from the host). */
static void raw(char *out, size_t n, const unsigned char *at)
{
    unsigned int p, l;
    memcpy(&p, at, 4);
    memcpy(&l, at + 4, 4);
    snprintf(out, n, "%.*s", (int)l, l ? (const char *)(size_t)p : "");
}

/* Append `,"name":<value>` when the option at `at` is some. */
static void opt(char *buf, size_t n, const char *name, const unsigned char *at, int as_raw)
{
    if (!at[0])
        return;
    char v[4096];
    if (as_raw)
        raw(v, sizeof v, at + 4);
    else
        jstr(v, sizeof v, at + 4);
    size_t o = strlen(buf);
    snprintf(buf + o, n - o, ",\"%s\":%s", name, v);
}

static void reply(const char *op, const char *body)
{
    char buf[8400];
    snprintf(buf, sizeof buf, "{\"op\":\"%s\"%s}", op, body);
    astrid_publish("demo.v1." IDP_NAME ".reply", buf, NULL);
}

/* result::err, else identity-ok-response: ok @4, error @8, user-id @20,
 * removed @32, links-json @36. */
static void ok_reply(const char *op, const unsigned char *r)
{
    char body[8192] = "";
    if (r[0]) {
        char e[1024];
        jstr(e, sizeof e, r + 4);
        snprintf(body, sizeof body, ",\"err\":%s", e);
    } else {
        snprintf(body, sizeof body, ",\"ok\":%s", r[4] ? "true" : "false");
        opt(body, sizeof body, "error", r + 8, 0);
        opt(body, sizeof body, "user_id", r + 20, 0);
        if (r[32]) {
            size_t o = strlen(body);
            snprintf(body + o, sizeof body - o, ",\"removed\":%s", r[33] ? "true" : "false");
        }
        opt(body, sizeof body, "links", r + 36, 1);
    }
    reply(op, body);
}

static astrid_action on_op(const astrid_event *ev, astrid_reply *out)
{
    (void)out;
    const char *pl = (const char *)ev->payload;
    char op[32], a[256], b[256], c[256], d[256];
    _Alignas(8) unsigned char r[48] = {0};
    field(pl, "op", op, sizeof op);
    if (strcmp(op, "create") == 0) {
        field(pl, "name", a, sizeof a);
        id_create(strstr(pl, "\"name\"") != NULL, a, strlen(a), r);
        ok_reply(op, r);
    } else if (strcmp(op, "link") == 0) {
        field(pl, "platform", a, sizeof a);
        field(pl, "puid", b, sizeof b);
        field(pl, "user", c, sizeof c);
        field(pl, "method", d, sizeof d);
        id_link(a, strlen(a), b, strlen(b), c, strlen(c), d, strlen(d), r);
        ok_reply(op, r);
    } else if (strcmp(op, "unlink") == 0) {
        field(pl, "platform", a, sizeof a);
        field(pl, "puid", b, sizeof b);
        id_unlink(a, strlen(a), b, strlen(b), r);
        ok_reply(op, r);
    } else if (strcmp(op, "links") == 0) {
        field(pl, "user", a, sizeof a);
        id_links(a, strlen(a), r);
        ok_reply(op, r);
    } else if (strcmp(op, "resolve") == 0) {
        /* found @4, user-id @8, display-name @20, error @32 */
        field(pl, "platform", a, sizeof a);
        field(pl, "puid", b, sizeof b);
        id_resolve(a, strlen(a), b, strlen(b), r);
        char body[4096] = "";
        if (r[0]) {
            jstr(a, sizeof a, r + 4);
            snprintf(body, sizeof body, ",\"err\":%s", a);
        } else {
            snprintf(body, sizeof body, ",\"found\":%s", r[4] ? "true" : "false");
            opt(body, sizeof body, "user_id", r + 8, 0);
            opt(body, sizeof body, "display_name", r + 20, 0);
            opt(body, sizeof body, "error", r + 32, 0);
        }
        reply(op, body);
    } else if (strcmp(op, "check") == 0) {
        field(pl, "uuid", a, sizeof a);
        field(pl, "cap", b, sizeof b);
        if (!b[0])
            snprintf(b, sizeof b, "allow_prompt_injection");
        astrid_caller who = {0};
        if (strcmp(a, "caller") == 0 && astrid_get_caller(&who, NULL) == 0)
            snprintf(a, sizeof a, "%s", who.source_id);
        astrid_caller_free(&who);
        check_cap(a, strlen(a), b, strlen(b), r);
        char body[1200];
        if (r[0]) {
            jstr(c, sizeof c, r + 4);
            snprintf(body, sizeof body, ",\"err\":%s", c);
        } else {
            snprintf(body, sizeof body, ",\"allowed\":%s,\"uuid\":\"%s\"", r[4] ? "true" : "false",
                     a);
        }
        reply(op, body);
    } else if (strcmp(op, "relay") == 0) {
        char topic[300];
        field(pl, "to", a, sizeof a);
        snprintf(topic, sizeof topic, "demo.v1.%s", a);
        char *err = NULL;
        if (astrid_publish(topic, "{\"op\":\"check\",\"uuid\":\"caller\"}", &err) != 0) {
            snprintf(b, sizeof b, ",\"err\":\"%.200s\"", err ? err : "");
            reply(op, b);
        }
        free(err);
    }
    return ASTRID_CONTINUE;
}
ASTRID_INTERCEPTOR("op", on_op)
