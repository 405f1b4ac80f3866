/* MCP capsules in the kernel (docs/mcp.md): a capsule's stdio
 * [[mcp_server]]s run as sandboxed, supervised processes and their tools
 * answer on the bus (tool.v1.request.describe, tool.v1.execute.<name>).
 *
 * Ownership: kmcp_start hangs a `struct kmcp` on the capsule (c->mcp);
 * kmcp_stop ends every server, joins every thread and frees it.
 * Loop thread for both (load and unload). kmcp_ps_json from the loop
 * thread (GetCapsuleMetadata); it returns a new array. */
#ifndef ASTRID_KERNEL_MCP_HOST_H
#define ASTRID_KERNEL_MCP_HOST_H

#include <jansson.h>

#include "astrid/err.h"

struct kcapsule;

/* Nothing to do (0) when the manifest has no stdio server. */
int kmcp_start(struct kcapsule *c, astrid_err *err);
void kmcp_stop(struct kcapsule *c);
/* [{id, principal, pid, state, restarts, tools, protocol, errors}] */
json_t *kmcp_ps_json(struct kcapsule *c);

#endif
