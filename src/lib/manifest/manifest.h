/* Capsule.toml (reference §6): the parts the runtime acts on, validated.
 *
 * Both forms are read: the HEAD form ([[interceptor]], [capabilities]
 * ipc_publish/ipc_subscribe) and the v0.6 cargo-like form ([publish] and
 * [subscribe] tables keyed by topic; their keys replace the ipc_* ACLs and
 * a [subscribe] entry with `handler` is an interceptor at priority 100,
 * overriding an [[interceptor]] on the same event). Unknown tables and keys
 * are ignored, as upstream.
 *
 * Ownership: astrid_manifest_load/parse return a manifest the caller frees
 * with astrid_manifest_free; every string inside belongs to it.
 */
#ifndef ASTRID_LIB_MANIFEST_MANIFEST_H
#define ASTRID_LIB_MANIFEST_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>

#include "astrid/err.h"

#define ASTRID_MANIFEST_MAX_INTERCEPTORS 64
/* package.name becomes a directory, a KV namespace and a log directory
 * name: bounded like a principal id, far below NAME_MAX. */
#define ASTRID_MANIFEST_NAME_MAX 64

typedef struct astrid_strv {
    char **v;
    size_t n;
} astrid_strv;

typedef struct astrid_manifest_interceptor {
    char *event;  /* topic pattern (astrid_topic_matches) */
    char *action; /* passed to astrid-hook-trigger */
    int priority; /* lower fires first; default 100 */
} astrid_manifest_interceptor;

typedef struct astrid_manifest_env {
    char *key;
    char *type;          /* "secret", "string", ... */
    char *default_value; /* NULL when none (strings raw, others JSON text) */
} astrid_manifest_env;

/* One [imports]/[exports] entry (validated by manifest_rules.c):
 * namespace:interface at a semver requirement (imports) or an exact
 * version (exports). */
typedef struct astrid_manifest_dep {
    char *ns;
    char *iface;
    char *version;
    bool optional; /* imports only: { version, optional = true } */
} astrid_manifest_dep;

#define ASTRID_MANIFEST_MCP_MAX_ARGS 64
/* One [[mcp_server]] (reference §6.8; docs/mcp.md). Only type "stdio"
 * runs; its command is in host_process (checked at parse). */
typedef struct astrid_manifest_mcp_server {
    char *id;
    char *description; /* NULL when absent */
    char *type;        /* NULL when absent */
    char *command;     /* NULL when absent */
    char **args;
    size_t nargs;
    bool per_principal; /* one server per invoking principal (docs/mcp.md) */
} astrid_manifest_mcp_server;

typedef struct astrid_manifest {
    char *name; /* CapsuleId: a-z 0-9 - */
    char *version;
    char *description; /* NULL when absent */
    char *wasm_file;   /* the first [[component]] file (bare name), NULL if none */
    astrid_manifest_interceptor *interceptors;
    size_t ninterceptors;
    astrid_strv ipc_publish, ipc_subscribe, net, kv, fs_read, fs_write, identity, host_process,
        net_bind;
    bool uplink;
    bool allow_prompt_injection;
    bool has_imports;
    /* Both forms: nested [imports.NS] iface = "^1.0" and the flat v0.6
     * [imports] "ns:iface" = "^1.0". */
    astrid_manifest_dep *imports, *exports;
    size_t nimports, nexports;
    astrid_manifest_env *env;
    size_t nenv;
    astrid_manifest_mcp_server *mcp_servers;
    size_t nmcp_servers;
} astrid_manifest;

/* Errors name the file and the field ("Capsule.toml: capabilities.
 * ipc_publish[1]: ..."): ASTRID_E_PARSE for TOML, ASTRID_E_INVALID for a
 * rule (manifest.c and manifest_rules.c; docs/capsules.md lists them).
 * `origin` labels messages (e.g. the path). */
astrid_manifest *astrid_manifest_parse(const char *text, size_t len, const char *origin,
                                       astrid_err *err);
astrid_manifest *astrid_manifest_load(const char *path, astrid_err *err);
void astrid_manifest_free(astrid_manifest *m);

/* May a capsule with this manifest publish on `topic` (ipc_publish ACL;
 * empty = never)? */
bool astrid_manifest_may_publish(const astrid_manifest *m, const char *topic);

/* The identity gate's level from capabilities.identity (upstream's
 * hierarchy resolve < link < admin): the highest entry, -1 when none. */
enum { ASTRID_IDENTITY_RESOLVE, ASTRID_IDENTITY_LINK, ASTRID_IDENTITY_ADMIN };
int astrid_manifest_identity_level(const astrid_manifest *m);

/* [[mcp_server]] (manifest_mcp.c): parse into m (called by the parser),
 * free, the host_process rule (exact, or an entry "<command> ..."), and how
 * many entries are stdio servers (the ones the kernel runs). */
struct astrid_toml;
int astrid_manifest_parse_mcp(astrid_manifest *m, const struct astrid_toml *root, const char *o,
                              astrid_err *err);
void astrid_manifest_mcp_free(astrid_manifest *m);
bool astrid_manifest_host_process_allows(const astrid_manifest *m, const char *command);
size_t astrid_manifest_stdio_servers(const astrid_manifest *m);

#endif
