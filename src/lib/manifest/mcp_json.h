/* Claude-style mcp.json -> Capsule.toml (docs/mcp.md, "From mcp.json";
 * reference §15 astrid-build --from-mcp-json): each server entry
 * {"command", "args", "env"} becomes a stdio [[mcp_server]], its command an
 * entry of capabilities.host_process, each env key an [env] entry of type
 * "secret" (values are never written into the manifest).
 *
 * Ownership: *toml_out is malloc'd, the caller frees it. */
#ifndef ASTRID_LIB_MANIFEST_MCP_JSON_H
#define ASTRID_LIB_MANIFEST_MCP_JSON_H

#include <stddef.h>

#include "astrid/err.h"

#define ASTRID_MCP_JSON_MAX (1u << 20)

/* `server` NULL = every server with a command; else only that one (an
 * error naming the servers found when absent). The capsule name is the
 * server's name made a-z0-9- for one server, "legacy-mcp" for several
 * (written to name_out, 65 bytes). The result is parsed back with the
 * manifest parser before it is returned, so what is written installs.
 * env_keys_out (optional, malloc'd, "KEY KEY ..."; NULL when none). */
int astrid_mcp_json_to_capsule(const char *json, size_t len, const char *server, char **toml_out,
                               char name_out[65], char **env_keys_out, astrid_err *err);

#endif
