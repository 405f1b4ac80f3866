/* Host-call wrappers for the first-party capsules (see guest.h). */
#include "guest.h"

#include <stdlib.h>
#include <string.h>

#define GP(x) ((int32_t)(uintptr_t)(x))
#define GS(s) GP(s), (int32_t)strlen(s)
#define GRET(FN) _Alignas(ASTRID_IMPORT_##FN##_RET_ALIGN) uint8_t ret[ASTRID_IMPORT_##FN##_RET_SIZE]

static uint32_t g_rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* A host-allocated (ptr, len) string made NUL-terminated (an empty one was
 * never allocated). */
static char *g_take(uint32_t ptr, uint32_t len)
{
    char *s = len ? realloc((void *)(uintptr_t)ptr, (size_t)len + 1) : malloc(1);
    if (!s)
        __builtin_trap();
    s[len] = '\0';
    return s;
}

static int g_fail(const uint8_t *ret, size_t off, char **err)
{
    char *m = g_take(g_rd32(ret + off), g_rd32(ret + off + 4));
    if (err)
        *err = m;
    else
        free(m);
    return -1;
}

int g_stream_start(const char *url, const char *method, const astrid_header *h, size_t nh,
                   const char *body, uint64_t *handle, uint16_t *status, char **err)
{
    uint32_t *hdr = nh ? calloc(nh, 16) : NULL;
    for (size_t i = 0; i < nh; i++) {
        hdr[4 * i] = (uint32_t)(uintptr_t)h[i].key;
        hdr[4 * i + 1] = (uint32_t)strlen(h[i].key);
        hdr[4 * i + 2] = (uint32_t)(uintptr_t)h[i].value;
        hdr[4 * i + 3] = (uint32_t)strlen(h[i].value);
    }
    GRET(HTTP_STREAM_START);
    astrid_import_http_stream_start(GS(url), GS(method ? method : "GET"), GP(hdr), (int32_t)nh,
                                    body != NULL, GS(body ? body : ""), GP(ret));
    free(hdr);
    if (ret[0])
        return g_fail(ret, 8, err);
    memcpy(handle, ret + 8, 8);
    *status = (uint16_t)(ret[16] | ret[17] << 8);
    uint8_t *hp = (uint8_t *)(uintptr_t)g_rd32(ret + 20);
    uint32_t n = g_rd32(ret + 24);
    for (uint32_t i = 0; i < n; i++) {
        if (g_rd32(hp + 16 * i + 4))
            free((void *)(uintptr_t)g_rd32(hp + 16 * i));
        if (g_rd32(hp + 16 * i + 12))
            free((void *)(uintptr_t)g_rd32(hp + 16 * i + 8));
    }
    if (n)
        free(hp);
    return 0;
}

int g_stream_read(uint64_t handle, uint8_t **data, size_t *len, char **err)
{
    GRET(HTTP_STREAM_READ);
    astrid_import_http_stream_read((int64_t)handle, GP(ret));
    if (ret[0])
        return g_fail(ret, 4, err);
    *len = g_rd32(ret + 8);
    *data = *len ? (uint8_t *)(uintptr_t)g_rd32(ret + 4) : NULL;
    return 0;
}

void g_stream_close(uint64_t handle)
{
    GRET(HTTP_STREAM_CLOSE);
    astrid_import_http_stream_close((int64_t)handle, GP(ret));
    if (ret[0])
        g_fail(ret, 4, NULL);
}

int g_read_file(const char *path, uint8_t **data, size_t *len, char **err)
{
    GRET(FS_READ_FILE);
    astrid_import_fs_read_file(GS(path), GP(ret));
    if (ret[0])
        return g_fail(ret, 4, err);
    *len = g_rd32(ret + 8);
    *data = (uint8_t *)g_take(g_rd32(ret + 4), (uint32_t)*len);
    return 0;
}

int g_write_file(const char *path, const void *data, size_t len, char **err)
{
    GRET(FS_WRITE_FILE);
    astrid_import_fs_write_file(GS(path), GP(data), (int32_t)len, GP(ret));
    return ret[0] ? g_fail(ret, 4, err) : 0;
}

int g_readdir(const char *path, char ***names, size_t *count, char **err)
{
    GRET(FS_READDIR);
    astrid_import_fs_readdir(GS(path), GP(ret));
    if (ret[0])
        return g_fail(ret, 4, err);
    uint8_t *l = (uint8_t *)(uintptr_t)g_rd32(ret + 4);
    size_t n = g_rd32(ret + 8);
    *names = calloc(n ? n : 1, sizeof(char *));
    if (!*names)
        __builtin_trap();
    for (size_t i = 0; i < n; i++)
        (*names)[i] = g_take(g_rd32(l + 8 * i), g_rd32(l + 8 * i + 4));
    if (n)
        free(l);
    *count = n;
    return 0;
}

int g_stat(const char *path, uint64_t *size, bool *is_dir, char **err)
{
    GRET(FS_STAT);
    astrid_import_fs_stat(GS(path), GP(ret));
    if (ret[0])
        return g_fail(ret, 8, err);
    memcpy(size, ret + 8, 8);
    *is_dir = ret[16] != 0;
    return 0;
}

int g_request_approval(const char *action, const char *resource, bool *approved, char **err)
{
    GRET(APPROVAL_REQUEST_APPROVAL);
    astrid_import_approval_request_approval(GS(action), GS(resource), GP(ret));
    if (ret[0])
        return g_fail(ret, 4, err);
    *approved = ret[4] != 0;
    return 0;
}

int g_spawn(const char *cmd, const char *const *args, size_t nargs, char **out, char **errout,
            int32_t *exit_code, char **err)
{
    uint32_t *l = nargs ? calloc(nargs, 8) : NULL;
    for (size_t i = 0; i < nargs; i++) {
        l[2 * i] = (uint32_t)(uintptr_t)args[i];
        l[2 * i + 1] = (uint32_t)strlen(args[i]);
    }
    GRET(PROCESS_SPAWN);
    astrid_import_process_spawn(GS(cmd), GP(l), (int32_t)nargs, GP(ret));
    free(l);
    if (ret[0])
        return g_fail(ret, 4, err);
    *out = g_take(g_rd32(ret + 4), g_rd32(ret + 8));
    *errout = g_take(g_rd32(ret + 12), g_rd32(ret + 16));
    memcpy(exit_code, ret + 20, 4);
    return 0;
}
