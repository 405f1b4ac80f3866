/* filler: on demo.v1.fill {"op": ..., ...} writes what it is asked to and
 * publishes {"op": ..., "ok": bool, "error": "...", ...} on
 * demo.v1.fill.reply (the host's answer, so a suite can check quotas and
 * size limits). Ops:
 *   kvset {key, bytes}     kv-set key = bytes x 'v'
 *   kvget {key}            kv-get: "len" of the value, -1 when absent
 *   kvdel {key}            kv-delete
 *   bigkey {bytes, fn}     fn (get|set|delete|list|clear) with a key or
 *                          prefix of `bytes` bytes
 *   log {bytes, lines}     `lines` log lines of `bytes` bytes each
 *   badlog                 log a line that is not UTF-8 (a cut character,
 *                          a stray byte): the SDK must not make it a trap
 *   file {path, bytes}     write-file path = bytes x 'f'
 *   unlink {path}          fs-unlink */
#include <astrid.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((import_module("astrid:capsule/fs@0.1.0"), import_name("write-file"))) extern void
write_file(const char *p, size_t pn, const void *c, size_t cn, void *ret);
__attribute__((import_module("astrid:capsule/fs@0.1.0"), import_name("fs-unlink"))) extern void
fs_unlink(const char *p, size_t pn, void *ret);
__attribute__((import_module("astrid:capsule/fs@0.1.0"), import_name("fs-mkdir"))) extern void
fs_mkdir(const char *p, size_t pn, void *ret);
__attribute__((import_module("astrid:capsule/kv@0.1.0"),
               import_name("kv-clear-prefix"))) extern void
kv_clear_prefix(const char *p, size_t pn, void *ret);

/* The number after "key": in a flat JSON object, or -1. */
static long num_of(const char *json, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *k = strstr(json, pat);
    return k ? strtol(k + strlen(pat), NULL, 10) : -1;
}

/* The string value of "key" (no escapes), or "". */
static void str_of(const char *json, const char *key, char *out, size_t n)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *k = strstr(json, pat);
    const char *e = k ? strchr(k + strlen(pat), '"') : NULL;
    out[0] = '\0';
    if (e && (size_t)(e - k - strlen(pat)) < n)
        snprintf(out, n, "%.*s", (int)(e - k - strlen(pat)), k + strlen(pat));
}

/* A result's error string at ret+off. */
static void err_at(const unsigned char *ret, unsigned off, char *buf, size_t n)
{
    unsigned int p, l;
    memcpy(&p, ret + off, 4);
    memcpy(&l, ret + off + 4, 4);
    snprintf(buf, n, "%.*s", (int)l, l ? (const char *)(size_t)p : "");
}

static void reply(const char *op, int ok, const char *err, const char *extra)
{
    char buf[1400];
    int n = snprintf(buf, sizeof buf, "{\"op\":\"%s\",\"ok\":%s,\"error\":\"", op,
                     ok ? "true" : "false");
    for (const char *p = err ? err : ""; *p && n < 1300; p++)
        buf[n++] = *p == '"' || *p == '\\' || (unsigned char)*p < 0x20 ? '\'' : *p;
    snprintf(buf + n, sizeof buf - (size_t)n, "\"%s%s}", extra ? "," : "", extra ? extra : "");
    astrid_publish("demo.v1.fill.reply", buf, NULL);
}

static char *filled(long n, char c)
{
    if (n < 0) /* -1: malloc((size_t)-1 + 1) is malloc(0), then SIZE_MAX bytes memset */
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (s) {
        memset(s, c, (size_t)n);
        s[n] = '\0';
    }
    return s;
}

static astrid_action on_fill(const astrid_event *ev, astrid_reply *out)
{
    (void)out;
    const char *pl = (const char *)ev->payload;
    char op[32], key[256], path[256], extra[64] = "";
    str_of(pl, "op", op, sizeof op);
    str_of(pl, "key", key, sizeof key);
    str_of(pl, "path", path, sizeof path);
    long bytes = num_of(pl, "bytes");
    char *err = NULL, msg[1100] = "";
    int ok = 0;
    _Alignas(8) unsigned char ret[24];
    if (strcmp(op, "kvset") == 0) {
        char *v = filled(bytes, 'v');
        ok = v && astrid_kv_set(key, v, (size_t)bytes, &err) == 0;
        free(v);
    } else if (strcmp(op, "kvget") == 0) {
        uint8_t *v = NULL;
        size_t len = 0;
        bool found = false;
        ok = astrid_kv_get(key, &v, &len, &found, &err) == 0;
        snprintf(extra, sizeof extra, "\"len\":%ld", found ? (long)len : -1L);
        free(v);
    } else if (strcmp(op, "kvdel") == 0) {
        ok = astrid_kv_delete(key, &err) == 0;
    } else if (strcmp(op, "bigkey") == 0) {
        char fn[16];
        str_of(pl, "fn", fn, sizeof fn);
        char *k = filled(bytes, 'k');
        if (strcmp(fn, "set") == 0) {
            ok = astrid_kv_set(k, "x", 1, &err) == 0;
        } else if (strcmp(fn, "get") == 0) {
            uint8_t *v = NULL;
            size_t len;
            bool found;
            ok = astrid_kv_get(k, &v, &len, &found, &err) == 0;
            free(v);
        } else if (strcmp(fn, "delete") == 0) {
            ok = astrid_kv_delete(k, &err) == 0;
        } else if (strcmp(fn, "list") == 0) {
            char **keys = NULL;
            size_t count = 0;
            ok = astrid_kv_list_keys(k, &keys, &count, &err) == 0;
            astrid_strv_free(keys, count);
        } else {
            kv_clear_prefix(k, (size_t)bytes, ret);
            ok = ret[0] == 0;
            if (!ok)
                err_at(ret, 8, msg, sizeof msg);
        }
        free(k);
    } else if (strcmp(op, "log") == 0) {
        char *line = filled(bytes, 'l');
        for (long i = 0; line && i < num_of(pl, "lines"); i++)
            astrid_log(ASTRID_LOG_INFO, line);
        free(line);
        ok = 1;
    } else if (strcmp(op, "badlog") == 0) {
        astrid_log(ASTRID_LOG_WARN, "caf\xc3 \xff ok \xc3\xa9");
        ok = 1;
    } else if (strcmp(op, "file") == 0) {
        char *c = filled(bytes, 'f');
        const char *dir = strncmp(path, "cwd://", 6) == 0 ? "cwd://fill" : "home://fill";
        if (strncmp(path, "/tmp", 4) != 0)
            fs_mkdir(dir, strlen(dir), ret);
        write_file(path, strlen(path), c, (size_t)bytes, ret);
        ok = ret[0] == 0;
        if (!ok)
            err_at(ret, 4, msg, sizeof msg);
        free(c);
    } else if (strcmp(op, "unlink") == 0) {
        fs_unlink(path, strlen(path), ret);
        ok = ret[0] == 0;
        if (!ok)
            err_at(ret, 4, msg, sizeof msg);
    } else {
        snprintf(msg, sizeof msg, "unknown op");
    }
    reply(op, ok, err ? err : msg, extra[0] ? extra : NULL);
    free(err);
    return ASTRID_CONTINUE;
}
ASTRID_INTERCEPTOR("fill", on_fill)
