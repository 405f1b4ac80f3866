/* probe: on demo.v1.probe {"try": "forge"|"acl"|"kv"} attempts the named
 * thing and publishes {"try": ..., "ok": bool, "error": "..."} on
 * demo.v1.probe.reply. */
#include <astrid.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Not wrapped by the SDK: declared from docs/abi.md. */
__attribute__((import_module("astrid:capsule/ipc@0.1.0"),
               import_name("ipc-publish-as"))) extern void
publish_as(const char *t, size_t tn, const char *p, size_t pn, const char *who, size_t wn,
           void *ret);

__attribute__((import_module("astrid:capsule/fs@0.1.0"), import_name("read-file"))) extern void
read_file(const char *p, size_t pn, void *ret);
__attribute__((import_module("astrid:capsule/fs@0.1.0"), import_name("write-file"))) extern void
write_file(const char *p, size_t pn, const void *c, size_t cn, void *ret);
__attribute__((import_module("astrid:capsule/fs@0.1.0"), import_name("fs-mkdir"))) extern void
fs_mkdir(const char *p, size_t pn, void *ret);

__attribute__((import_module("astrid:capsule/http@0.1.0"),
               import_name("http-stream-start"))) extern void
stream_start(const char *u, size_t un, const char *m, size_t mn, const void *h, size_t hn,
             int has_body, const char *b, size_t bn, void *ret);
__attribute__((import_module("astrid:capsule/http@0.1.0"),
               import_name("http-stream-read"))) extern void
stream_read(unsigned long long h, void *ret);
__attribute__((import_module("astrid:capsule/http@0.1.0"),
               import_name("http-stream-close"))) extern void
stream_close(unsigned long long h, void *ret);
__attribute__((import_module("astrid:capsule/sys@0.1.0"), import_name("trigger-hook"))) extern void
trigger_hook(const char *r, size_t rn, void *ret);
__attribute__((import_module("astrid:capsule/net@0.1.0"), import_name("net-bind-unix"))) extern void
net_bind(unsigned long long h, void *ret);
__attribute__((import_module("astrid:capsule/process@0.1.0"), import_name("kill"))) extern void
proc_kill(unsigned long long h, void *ret);

/* The "url" string of a flat JSON object. */
static int url_of(const char *json, char *out, size_t n)
{
    const char *k = strstr(json, "\"url\"");
    const char *q = k ? strchr(k + 5, '"') : NULL;
    const char *e = q ? strchr(q + 1, '"') : NULL;
    if (!e || (size_t)(e - q - 1) >= n)
        return -1;
    memcpy(out, q + 1, (size_t)(e - q - 1));
    out[e - q - 1] = '\0';
    return 0;
}

/* (ptr, len) at ret+4 as a NUL-terminated copy in buf. */
static void str_at(const unsigned char *ret, char *buf, size_t n)
{
    unsigned int p, l;
    memcpy(&p, ret + 4, 4);
    memcpy(&l, ret + 8, 4);
    snprintf(buf, n, "%.*s", (int)l, l ? (const char *)(size_t)p : "");
}

static void report(const char *what, int ok, const char *err)
{
    char buf[1200];
    snprintf(buf, sizeof buf, "{\"try\":\"%s\",\"ok\":%s,\"error\":\"%.1000s\"}", what,
             ok ? "true" : "false", err ? err : "");
    for (char *p = buf + 30; *p; p++)
        if (*p == '\\')
            *p = '/';
    astrid_publish("demo.v1.probe.reply", buf, NULL);
}

static astrid_action on_probe(const astrid_event *ev, astrid_reply *out)
{
    (void)out;
    const char *pl = (const char *)ev->payload;
    char *err = NULL;
    if (strstr(pl, "\"forge\"")) {
        _Alignas(8) unsigned char ret[16];
        const char *t = "demo.v1.probe.reply", *p = "{\"forged\":true}", *who = "mallory";
        publish_as(t, strlen(t), p, strlen(p), who, strlen(who), ret);
        char msg[256] = "";
        if (ret[0]) {
            unsigned int mp, ml;
            memcpy(&mp, ret + 4, 4);
            memcpy(&ml, ret + 8, 4);
            snprintf(msg, sizeof msg, "%.*s", (int)ml, (const char *)(size_t)mp);
        }
        report("forge", ret[0] == 0, msg);
    } else if (strstr(pl, "\"acl\"")) {
        int rc = astrid_publish("secret.v1.stolen", "{}", &err);
        report("acl", rc == 0, err);
    } else if (strstr(pl, "\"fswrite\"")) {
        _Alignas(8) unsigned char ret[16];
        astrid_caller who = {0};
        astrid_get_caller(&who, NULL);
        const char *d = "home://probe", *f = "home://probe/note.txt";
        fs_mkdir(d, strlen(d), ret);
        write_file(f, strlen(f), who.principal, strlen(who.principal), ret);
        char msg[256] = "";
        if (ret[0])
            str_at(ret, msg, sizeof msg);
        report("fswrite", ret[0] == 0, msg);
        astrid_caller_free(&who);
    } else if (strstr(pl, "\"fsread\"") || strstr(pl, "\"traverse\"") || strstr(pl, "\"fsgate\"")) {
        _Alignas(8) unsigned char ret[16];
        const char *f = strstr(pl, "\"fsread\"")     ? "home://probe/note.txt"
                        : strstr(pl, "\"traverse\"") ? "home://../../etc/passwd"
                                                     : "home://secret.txt";
        const char *what = strstr(pl, "\"fsread\"")     ? "fsread"
                           : strstr(pl, "\"traverse\"") ? "traverse"
                                                        : "fsgate";
        if (strcmp(what, "fsgate") == 0)
            write_file(f, strlen(f), "x", 1, ret);
        else
            read_file(f, strlen(f), ret);
        char msg[256] = "";
        str_at(ret, msg, sizeof msg); /* the content, or the error */
        report(what, ret[0] == 0, msg);
    } else if (strstr(pl, "\"stream\"")) {
        /* http-stream-*: start, read every chunk, close; reports status,
         * bytes and chunks, or the first error. */
        _Alignas(8) unsigned char st[32], rd[16];
        char url[512], msg[600] = "";
        if (url_of(pl, url, sizeof url) != 0)
            snprintf(url, sizeof url, "missing");
        stream_start(url, strlen(url), "GET", 3, NULL, 0, 0, NULL, 0, st);
        if (st[0]) {
            unsigned int mp, ml;
            memcpy(&mp, st + 8, 4);
            memcpy(&ml, st + 12, 4);
            snprintf(msg, sizeof msg, "%.*s", (int)ml, (const char *)(size_t)mp);
            report("stream", 0, msg);
        } else {
            unsigned long long h;
            unsigned short status;
            memcpy(&h, st + 8, 8);
            memcpy(&status, st + 16, 2);
            unsigned long total = 0, chunks = 0;
            for (;;) {
                stream_read(h, rd);
                unsigned int p, l;
                memcpy(&p, rd + 4, 4);
                memcpy(&l, rd + 8, 4);
                if (rd[0]) {
                    snprintf(msg, sizeof msg, "read: %.*s", (int)l, (const char *)(size_t)p);
                    break;
                }
                if (!l)
                    break;
                free((void *)(size_t)p);
                total += l;
                chunks++;
            }
            stream_close(h, rd);
            stream_close(h, rd); /* idempotent */
            if (!msg[0])
                snprintf(msg, sizeof msg, "status=%u bytes=%lu chunks>0=%d", status, total,
                         chunks > 0);
            report("stream", !rd[0] && strncmp(msg, "read:", 5) != 0, msg);
        }
    } else if (strstr(pl, "\"hook\"")) {
        /* trigger-hook on the topic named by "hook_topic" (echo or count);
         * the answer array is reported with '"' spelled '\''. */
        _Alignas(8) unsigned char ret[16];
        const char *r = strstr(pl, "demo.v1.count") ? "{\"hook\":\"demo.v1.count\",\"payload\":{}}"
                        : strstr(pl, "bad.*")
                            ? "{\"hook\":\"bad.*\",\"payload\":{}}"
                            : "{\"hook\":\"demo.v1.echo\",\"payload\":{\"hooked\":\"yes\"}}";
        trigger_hook(r, strlen(r), ret);
        char msg[600] = "";
        str_at(ret, msg, sizeof msg);
        for (char *c = msg; *c; c++)
            if (*c == '"')
                *c = '\'';
        report("hook", ret[0] == 0, msg);
    } else if (strstr(pl, "\"netbind\"")) {
        _Alignas(8) unsigned char ret[16];
        net_bind(1, ret);
        char msg[256] = "";
        if (ret[0]) {
            unsigned int mp, ml;
            memcpy(&mp, ret + 8, 4);
            memcpy(&ml, ret + 12, 4);
            snprintf(msg, sizeof msg, "%.*s", (int)ml, (const char *)(size_t)mp);
        }
        report("netbind", ret[0] == 0, msg);
    } else if (strstr(pl, "\"spin\"")) {
        /* busy for "ms" milliseconds: a slow capsule invocation */
        const char *m = strstr(pl, "\"ms\":");
        uint64_t until = astrid_clock_ms() + (m ? strtoull(m + 5, NULL, 10) : 1000);
        while (astrid_clock_ms() < until)
            ;
        astrid_log(ASTRID_LOG_INFO, "spin done");
        report("spin", 1, "");
    } else if (strstr(pl, "\"spawn\"")) {
        _Alignas(8) unsigned char ret[16];
        proc_kill(1, ret);
        char msg[256] = "";
        str_at(ret, msg, sizeof msg);
        report("spawn", ret[0] == 0, msg);
    } else if (strstr(pl, "\"kv\"")) {
        int rc = astrid_kv_set("", "x", 1, &err);
        report("kv", rc == 0, err);
    }
    free(err);
    return ASTRID_CONTINUE;
}
ASTRID_INTERCEPTOR("probe", on_probe)
