/* libFuzzer: Capsule.toml, both forms (manifest.c, manifest_rules.c,
 * manifest_mcp.c), and the meta.json topics an install derives from it
 * (src/capsule/topics.c, against an empty capsule source directory made
 * once per process).
 *
 * Invariants: a refusal carries a message; whatever parses is
 * self-consistent (counts match arrays, names within their bound, every
 * string present) and the queries the runtime makes of it do not crash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "capsule/install.h"
#include "lib/manifest/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char srcdir[64];

static void cleanup(void)
{
    rmdir(srcdir);
}

static void check_strv(const astrid_strv *v)
{
    for (size_t i = 0; i < v->n; i++)
        if (!v->v[i])
            abort();
}

static void check(const astrid_manifest *m)
{
    if (!m->name || !m->version || strlen(m->name) > ASTRID_MANIFEST_NAME_MAX)
        abort();
    if (m->ninterceptors > ASTRID_MANIFEST_MAX_INTERCEPTORS)
        abort();
    for (size_t i = 0; i < m->ninterceptors; i++) {
        if (!m->interceptors[i].event || !m->interceptors[i].action)
            abort();
        /* what the hook dispatcher asks of every event */
        (void)astrid_manifest_may_publish(m, m->interceptors[i].event);
    }
    check_strv(&m->ipc_publish);
    check_strv(&m->ipc_subscribe);
    check_strv(&m->net);
    check_strv(&m->kv);
    check_strv(&m->fs_read);
    check_strv(&m->fs_write);
    check_strv(&m->identity);
    check_strv(&m->host_process);
    check_strv(&m->net_bind);
    for (size_t i = 0; i < m->nimports; i++)
        if (!m->imports[i].ns || !m->imports[i].iface || !m->imports[i].version)
            abort();
    for (size_t i = 0; i < m->nexports; i++)
        if (!m->exports[i].ns || !m->exports[i].iface || !m->exports[i].version)
            abort();
    for (size_t i = 0; i < m->nenv; i++)
        if (!m->env[i].key)
            abort();
    for (size_t i = 0; i < m->nmcp_servers; i++) {
        const astrid_manifest_mcp_server *s = &m->mcp_servers[i];
        if (!s->id || s->nargs > ASTRID_MANIFEST_MCP_MAX_ARGS)
            abort();
        if (s->command)
            (void)astrid_manifest_host_process_allows(m, s->command);
    }
    (void)astrid_manifest_identity_level(m);
    (void)astrid_manifest_stdio_servers(m);
    (void)astrid_manifest_may_publish(m, "astrid.v1.request.x");
    (void)astrid_manifest_host_process_allows(m, "npx -y server");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!srcdir[0]) {
        snprintf(srcdir, sizeof srcdir, "/tmp/astrid-fuzz-manifest-XXXXXX");
        if (!mkdtemp(srcdir))
            abort();
        atexit(cleanup);
    }
    astrid_err err = {0};
    astrid_manifest *m = astrid_manifest_parse((const char *)data, size, "Capsule.toml", &err);
    if (!m) {
        if (!err.msg[0])
            abort();
    } else {
        check(m);
        astrid_manifest_free(m);
    }
    err.msg[0] = '\0';
    json_t *topics = astrid_capsule_topics((const char *)data, size, srcdir, &err);
    if (topics) {
        if (!json_is_array(topics))
            abort();
        json_decref(topics);
    } else if (!err.msg[0]) {
        abort();
    }
    return 0;
}
