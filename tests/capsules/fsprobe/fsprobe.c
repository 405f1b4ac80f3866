/* fsprobe: on demo.v1.fsprobe {"op": OP, "path": P, "data": D} runs one
 * host fs call (or a wasi-libc stdio call) and publishes
 * {"op": OP, "ok": bool, "result": "...", "error": "..."} on
 * demo.v1.fsprobe.reply. OP is read, write, exists, mkdir, readdir, stat,
 * unlink, fopen-read or fopen-write. "result" is the content (read), the
 * names joined by '/' (readdir), "true"/"false" (exists), "dir"/"file"
 * and the size (stat). Strings are plain JSON strings; \" and \\ escapes
 * are understood. */
#include <astrid.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FS(name) __attribute__((import_module("astrid:capsule/fs@0.1.0"), import_name(name))) extern
FS("read-file") void read_file(const char *p, size_t pn, void *ret);
FS("write-file") void write_file(const char *p, size_t pn, const void *c, size_t cn, void *ret);
FS("fs-exists") void fs_exists(const char *p, size_t pn, void *ret);
FS("fs-mkdir") void fs_mkdir(const char *p, size_t pn, void *ret);
FS("fs-readdir") void fs_readdir(const char *p, size_t pn, void *ret);
FS("fs-stat") void fs_stat(const char *p, size_t pn, void *ret);
FS("fs-unlink") void fs_unlink(const char *p, size_t pn, void *ret);

/* The string member `key` of a flat JSON object, unescaped into out. */
static int member(const char *json, const char *key, char *out, size_t n)
{
    char pat[32];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *k = strstr(json, pat);
    const char *q = k ? strchr(k + strlen(pat), '"') : NULL;
    if (!q)
        return -1;
    size_t o = 0;
    for (const char *c = q + 1; *c && *c != '"'; c++) {
        if (*c == '\\' && c[1])
            c++;
        if (o + 1 >= n)
            return -1;
        out[o++] = *c;
    }
    out[o] = '\0';
    return 0;
}

/* Append s JSON-escaped (control bytes as \u00XX). */
static void esc(char *out, size_t n, const char *s, size_t len)
{
    size_t o = strlen(out);
    for (size_t i = 0; i < len && o + 8 < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20 || c >= 0x7f) {
            o += (size_t)snprintf(out + o, n - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
}

static char reply[70000];

static void report(const char *op, int ok, const char *result, size_t rlen, const char *error)
{
    snprintf(reply, sizeof reply, "{\"op\":\"%s\",\"ok\":%s,\"result\":\"", op,
             ok ? "true" : "false");
    esc(reply, sizeof reply, result ? result : "", result ? rlen : 0);
    strcat(reply, "\",\"error\":\"");
    esc(reply, sizeof reply, error ? error : "", error ? strlen(error) : 0);
    strcat(reply, "\"}");
    char *err = NULL;
    if (astrid_publish("demo.v1.fsprobe.reply", reply, &err) != 0)
        astrid_logf(ASTRID_LOG_ERROR, "publish: %s", err);
    free(err);
}

/* (ptr, len) at ret+off, as a NUL-terminated copy (caller frees). */
static char *str_at(const unsigned char *ret, size_t off, size_t *len)
{
    unsigned int p, l;
    memcpy(&p, ret + off, 4);
    memcpy(&l, ret + off + 4, 4);
    char *s = calloc(1, (size_t)l + 1);
    if (!s) /* wasm has no guard page: a write through NULL would not trap */
        __builtin_trap();
    if (l)
        memcpy(s, (const void *)(size_t)p, l);
    s[l] = '\0';
    if (len)
        *len = l;
    return s;
}

static char path[4096], data[60000];

static astrid_action on_probe(const astrid_event *ev, astrid_reply *out)
{
    (void)out;
    const char *pl = (const char *)ev->payload;
    char op[32];
    if (member(pl, "op", op, sizeof op) != 0 || member(pl, "path", path, sizeof path) != 0) {
        report("?", 0, NULL, 0, "need op and path");
        return ASTRID_CONTINUE;
    }
    if (member(pl, "data", data, sizeof data) != 0)
        data[0] = '\0';
    _Alignas(8) unsigned char ret[48];
    memset(ret, 0, sizeof ret);
    size_t pn = strlen(path), len = 0;
    char *s = NULL;
    if (strcmp(op, "read") == 0) {
        read_file(path, pn, ret);
        s = str_at(ret, 4, &len);
        if (ret[0])
            report(op, 0, NULL, 0, s);
        else
            report(op, 1, s, len, NULL);
    } else if (strcmp(op, "write") == 0) {
        write_file(path, pn, data, strlen(data), ret);
        s = ret[0] ? str_at(ret, 4, NULL) : NULL;
        report(op, !ret[0], NULL, 0, s);
    } else if (strcmp(op, "exists") == 0) {
        fs_exists(path, pn, ret);
        s = ret[0] ? str_at(ret, 4, NULL) : NULL;
        report(op, !ret[0], ret[0] ? NULL : ret[4] ? "true" : "false", ret[4] ? 4 : 5, s);
    } else if (strcmp(op, "mkdir") == 0 || strcmp(op, "unlink") == 0) {
        /* Direct calls: an imported function taken by address crashed
         * the daemon (reported separately; not what this probe tests). */
        if (op[0] == 'm')
            fs_mkdir(path, pn, ret);
        else
            fs_unlink(path, pn, ret);
        s = ret[0] ? str_at(ret, 4, NULL) : NULL;
        report(op, !ret[0], NULL, 0, s);
    } else if (strcmp(op, "stat") == 0) {
        fs_stat(path, pn, ret);
        char r[64] = "";
        if (ret[0]) {
            s = str_at(ret, 8, NULL);
        } else {
            unsigned long long size;
            memcpy(&size, ret + 8, 8);
            snprintf(r, sizeof r, "%s %llu", ret[16] ? "dir" : "file", size);
        }
        report(op, !ret[0], r, strlen(r), s);
    } else if (strcmp(op, "readdir") == 0) {
        fs_readdir(path, pn, ret);
        if (ret[0]) {
            s = str_at(ret, 4, NULL);
            report(op, 0, NULL, 0, s);
        } else {
            unsigned int arr, n;
            memcpy(&arr, ret + 4, 4);
            memcpy(&n, ret + 8, 4);
            char names[8192] = "";
            for (unsigned int i = 0; i < n; i++) {
                size_t l;
                char *name = str_at((const unsigned char *)(size_t)arr, 8 * i, &l);
                if (strlen(names) + l + 2 < sizeof names) {
                    if (i)
                        strcat(names, "/");
                    strcat(names, name);
                }
                free(name);
            }
            report(op, 1, names, strlen(names), NULL);
        }
    } else if (strncmp(op, "fopen-", 6) == 0) {
        /* wasi-libc stdio: reaches files only through WASI preopens. */
        int w = strcmp(op, "fopen-write") == 0;
        FILE *f = fopen(path, w ? "w" : "r");
        if (!f) {
            char e[300];
            snprintf(e, sizeof e, "fopen %s: %s", path, strerror(errno));
            report(op, 0, NULL, 0, e);
        } else {
            // cppcheck-suppress IOWithoutPositioning ; one or the other, never both
            size_t n = w ? fwrite(data, 1, strlen(data), f) : fread(data, 1, sizeof data - 1, f);
            fclose(f);
            report(op, 1, w ? "" : data, w ? 0 : n, NULL);
        }
    } else {
        report(op, 0, NULL, 0, "unknown op");
    }
    free(s);
    return ASTRID_CONTINUE;
}
ASTRID_INTERCEPTOR("fsprobe", on_probe)
