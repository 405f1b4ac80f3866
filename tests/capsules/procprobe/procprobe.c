/* procprobe: drives the process host functions on request and publishes
 * what the host answered, so a shell suite can check them as an operator
 * would (tests/integration/process_host.sh).
 *
 * On demo.v1.procprobe {"op": ..., "cmd": ..., "a1".."a4": args, "id": N},
 * replies on demo.v1.procprobe.reply (or the payload's "reply" topic: a
 * renamed copy of this capsule answers on its own):
 *   spawn {cmd, a1..}  -> {exit_code, stdout, stderr, out_len, err_len}
 *   bg {cmd, a1..}     -> {id}
 *   read {id}          -> {running, exit_code?, stdout, stderr, out_len, err_len}
 *   kill {id}          -> {killed, exit_code?, stdout, stderr, out_len, err_len}
 * A result::err from the host is {"err": "..."}. Output text is echoed cut
 * to 2000 bytes; *_len are the full lengths the host returned. */
#include <astrid.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMPORT(name) \
    __attribute__((import_module("astrid:capsule/process@0.1.0"), import_name(name))) extern void
typedef const char *S;
IMPORT("spawn") p_spawn(S, size_t, const void *, size_t, void *);
IMPORT("spawn-background") p_bg(S, size_t, const void *, size_t, void *);
IMPORT("read-logs") p_read(unsigned long long, void *);
IMPORT("kill") p_kill(unsigned long long, void *);

/* The string value of "key" in a flat JSON object ("" when absent; of
 * the escapes only \\, \" and \n are known). */
static int field(const char *json, const char *key, char *out, size_t n)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *k = strstr(json, pat);
    const char *q = k ? strchr(k + strlen(pat), '"') : NULL;
    size_t o = 0;
    if (!q)
        return out[0] = '\0', 0;
    for (const char *s = q + 1; *s && *s != '"' && o + 1 < n; s++) {
        if (*s == '\\' && s[1]) {
            s++;
            out[o++] = *s == 'n' ? '\n' : *s;
        } else {
            out[o++] = *s;
        }
    }
    out[o] = '\0';
    return 1;
}

/* A JSON string literal of the (ptr, len) string at `at`, cut to 2000
 * bytes (at a character boundary). Sets *len to the full length. */
static void jstr(char *out, size_t n, const unsigned char *at, unsigned *full)
{
    unsigned int p, l;
    memcpy(&p, at, 4);
    memcpy(&l, at + 4, 4);
    if (full)
        *full = l;
    const char *s = l ? (const char *)(size_t)p : "";
    size_t o = 0;
    out[o++] = '"';
    for (unsigned int i = 0; i < l && i < 2000 && o + 8 < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i >= 1990 && (c & 0xC0) == 0xC0)
            break;
        if (c == 0) { /* jansson refuses \u0000: shown as text */
            memcpy(out + o, "<NUL>", 5);
            o += 5;
        } else if (c == '"' || c == '\\') {
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

static char body[16384];

static char reply_topic[128];

static void reply(void)
{
    char buf[17000];
    snprintf(buf, sizeof buf, "{%s}", body);
    astrid_publish(reply_topic, buf, NULL);
}

static void add(const char *fmt, const char *v)
{
    size_t o = strlen(body);
    snprintf(body + o, sizeof body - o, fmt, v);
}

static void add_out(const unsigned char *out_at, const unsigned char *err_at)
{
    static char t[12000];
    unsigned ol, el;
    char num[64];
    jstr(t, sizeof t, out_at, &ol);
    add(",\"stdout\":%s", t);
    jstr(t, sizeof t, err_at, &el);
    add(",\"stderr\":%s", t);
    snprintf(num, sizeof num, ",\"out_len\":%u,\"err_len\":%u", ol, el);
    add("%s", num);
}

static void add_err(const unsigned char *at)
{
    static char t[12000];
    jstr(t, sizeof t, at, NULL);
    add("\"err\":%s", t);
}

static void add_code(const unsigned char *opt)
{
    if (opt[0]) {
        int code;
        char num[32];
        memcpy(&code, opt + 4, 4);
        snprintf(num, sizeof num, ",\"exit_code\":%d", code);
        add("%s", num);
    }
}

static astrid_action on_op(const astrid_event *ev, astrid_reply *out)
{
    (void)out;
    const char *pl = (const char *)ev->payload;
    char op[32], cmd[512], args[4][512], idt[32];
    struct {
        unsigned ptr, len;
    } argv[4];
    size_t nargs = 0;
    _Alignas(8) unsigned char r[64] = {0};
    body[0] = '\0';
    field(pl, "op", op, sizeof op);
    if (!field(pl, "reply", reply_topic, sizeof reply_topic))
        snprintf(reply_topic, sizeof reply_topic, "demo.v1.procprobe.reply");
    field(pl, "cmd", cmd, sizeof cmd);
    for (int i = 0; i < 4; i++) {
        char k[4] = {'a', (char)('1' + i), 0};
        if (!field(pl, k, args[i], sizeof args[i]))
            break;
        argv[nargs].ptr = (unsigned)(size_t)args[i];
        argv[nargs].len = (unsigned)strlen(args[i]);
        nargs++;
    }
    field(pl, "id", idt, sizeof idt);
    unsigned long long id = strtoull(idt, NULL, 10);
    if (strcmp(op, "spawn") == 0) {
        p_spawn(cmd, strlen(cmd), argv, nargs, r);
        if (r[0]) {
            add_err(r + 4);
        } else {
            int code;
            char num[32];
            memcpy(&code, r + 20, 4);
            snprintf(num, sizeof num, "\"exit_code\":%d", code);
            add("%s", num);
            add_out(r + 4, r + 12);
        }
    } else if (strcmp(op, "bg") == 0) {
        p_bg(cmd, strlen(cmd), argv, nargs, r);
        if (r[0]) {
            add_err(r + 8);
        } else {
            unsigned long long v;
            char num[40];
            memcpy(&v, r + 8, 8);
            snprintf(num, sizeof num, "\"id\":%llu", v);
            add("%s", num);
        }
    } else if (strcmp(op, "read") == 0) {
        p_read(id, r);
        if (r[0]) {
            add_err(r + 4);
        } else {
            add("\"running\":%s", r[20] ? "true" : "false");
            add_code(r + 24);
            add_out(r + 4, r + 12);
        }
    } else if (strcmp(op, "kill") == 0) {
        p_kill(id, r);
        if (r[0]) {
            add_err(r + 4);
        } else {
            add("\"killed\":%s", r[4] ? "true" : "false");
            add_code(r + 8);
            add_out(r + 16, r + 24);
        }
    } else {
        add("\"err\":\"%s\"", "unknown op");
    }
    reply();
    return ASTRID_CONTINUE;
}
ASTRID_INTERCEPTOR("op", on_op)
