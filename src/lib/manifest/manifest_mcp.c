/* [[mcp_server]] (reference §6.1, §6.8): parsed and checked here so that a
 * manifest whose stdio server could never start is refused at install,
 * not at every load. */
#include <stdlib.h>
#include <string.h>

#include "astrid/toml.h"
#include "lib/manifest/manifest.h"

#define FAIL(...) (astrid_err_set(err, ASTRID_E_INVALID, __VA_ARGS__), -1)
#define MCP_MAX_SERVERS 16
#define MCP_MAX_ARGS ASTRID_MANIFEST_MCP_MAX_ARGS

void astrid_manifest_mcp_free(astrid_manifest *m)
{
    for (size_t i = 0; i < m->nmcp_servers; i++) {
        astrid_manifest_mcp_server *s = &m->mcp_servers[i];
        free(s->id);
        free(s->description);
        free(s->type);
        free(s->command);
        for (size_t j = 0; j < s->nargs; j++)
            free(s->args[j]);
        free(s->args);
    }
    free(m->mcp_servers);
    m->mcp_servers = NULL;
    m->nmcp_servers = 0;
}

bool astrid_manifest_host_process_allows(const astrid_manifest *m, const char *command)
{
    size_t n = strlen(command);
    for (size_t i = 0; i < m->host_process.n; i++) {
        const char *e = m->host_process.v[i];
        /* exact, or the entry is "<command> <fixed args...>" */
        if (strcmp(e, command) == 0 || (strncmp(e, command, n) == 0 && e[n] == ' '))
            return true;
    }
    return false;
}

static int opt_str(char **dst, const astrid_toml *v, const char *what, const char *o, size_t i,
                   astrid_err *err)
{
    if (!v)
        return 0;
    const char *s = astrid_toml_str(v, NULL);
    if (!s)
        return FAIL("%s: mcp_server[%zu].%s must be a string", o, i, what);
    if (!(*dst = strdup(s)))
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    return 0;
}

int astrid_manifest_parse_mcp(astrid_manifest *m, const astrid_toml *root, const char *o,
                              astrid_err *err)
{
    const astrid_toml *list = astrid_toml_get(root, "mcp_server");
    if (!list)
        return 0;
    if (astrid_toml_type_of(list) != ASTRID_TOML_ARRAY)
        return FAIL("%s: mcp_server must be an array of tables ([[mcp_server]])", o);
    size_t n = astrid_toml_len(list);
    if (n > MCP_MAX_SERVERS)
        return FAIL("%s: %zu [[mcp_server]] entries; at most %d are allowed", o, n,
                    MCP_MAX_SERVERS);
    if (n && !(m->mcp_servers = calloc(n, sizeof *m->mcp_servers)))
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const astrid_toml *t = astrid_toml_at(list, i);
        astrid_manifest_mcp_server *s = &m->mcp_servers[m->nmcp_servers++];
        size_t idlen = 0;
        const char *id = astrid_toml_str(astrid_toml_get(t, "id"), &idlen);
        /* the id names a process in ps and in log lines: kept plain */
        if (!id || !idlen || idlen > 64 ||
            strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != idlen)
            return FAIL("%s: mcp_server[%zu].id must be 1-64 characters of a-z, A-Z, 0-9, _ and -",
                        o, i);
        for (size_t j = 0; j + 1 < m->nmcp_servers; j++)
            if (m->mcp_servers[j].id && strcmp(m->mcp_servers[j].id, id) == 0)
                return FAIL("%s: mcp_server[%zu].id '%s' is used twice", o, i, id);
        if (!(s->id = strdup(id)))
            return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        if (opt_str(&s->description, astrid_toml_get(t, "description"), "description", o, i, err) !=
                0 ||
            opt_str(&s->type, astrid_toml_get(t, "type"), "type", o, i, err) != 0 ||
            opt_str(&s->command, astrid_toml_get(t, "command"), "command", o, i, err) != 0)
            return -1;
        const astrid_toml *pp = astrid_toml_get(t, "per_principal");
        if (pp && astrid_toml_type_of(pp) != ASTRID_TOML_BOOL)
            return FAIL("%s: mcp_server[%zu].per_principal must be true or false", o, i);
        s->per_principal = pp && astrid_toml_bool(pp);
        const astrid_toml *args = astrid_toml_get(t, "args");
        if (args) {
            if (astrid_toml_type_of(args) != ASTRID_TOML_ARRAY ||
                astrid_toml_len(args) > MCP_MAX_ARGS)
                return FAIL("%s: mcp_server[%zu].args must be an array of at most %d strings", o, i,
                            MCP_MAX_ARGS);
            size_t na = astrid_toml_len(args);
            if (na && !(s->args = calloc(na, sizeof *s->args)))
                return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
            for (size_t j = 0; j < na; j++) {
                const char *a = astrid_toml_str(astrid_toml_at(args, j), NULL);
                if (!a)
                    return FAIL("%s: mcp_server[%zu].args[%zu] must be a string", o, i, j);
                if (!(s->args[s->nargs++] = strdup(a)))
                    return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
            }
        }
        if (!s->type || strcmp(s->type, "stdio") != 0)
            continue; /* other engines (wasm-ipc, openclaw) are not run, as upstream */
        if (!s->command || !*s->command)
            return FAIL("%s: mcp_server[%zu] (type stdio) needs a command", o, i);
        /* checked on the unresolved string, as upstream: what the operator
         * read in host_process is what may run */
        if (!astrid_manifest_host_process_allows(m, s->command))
            return FAIL("%s: mcp_server[%zu].command '%s' is not listed in "
                        "capabilities.host_process",
                        o, i, s->command);
        /* a relative path names a file of the capsule (canonicalized and
         * checked again at spawn); a bare name is looked up on PATH */
        if (s->command[0] != '/' && strchr(s->command, '/') && strstr(s->command, ".."))
            return FAIL("%s: mcp_server[%zu].command '%s' must stay inside the capsule "
                        "directory (no '..')",
                        o, i, s->command);
    }
    return 0;
}

size_t astrid_manifest_stdio_servers(const astrid_manifest *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->nmcp_servers; i++)
        n += m->mcp_servers[i].type && strcmp(m->mcp_servers[i].type, "stdio") == 0;
    return n;
}
