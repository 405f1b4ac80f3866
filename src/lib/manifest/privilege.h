/* What installing a capsule grants (docs/capsules.md, "Who a capsule
 * serves, and what installing grants").
 *
 * A capsule's owner is the principal whose home it is installed in
 * (workspace capsules: "default"). It serves every principal only when the
 * owner holds ASTRID_CAP_CAPSULE_SHARED; otherwise it is private to the
 * owner. Manifest asks that act beyond the invoking principal need the
 * owner to hold a capability: the daemon checks at load (authoritative),
 * the CLI at install (to fail early). Both take the table from here.
 *
 * Ownership: everything returned points into static storage or into the
 * manifest; astrid_manifest_asks_json returns a new reference. */
#ifndef ASTRID_LIB_MANIFEST_PRIVILEGE_H
#define ASTRID_LIB_MANIFEST_PRIVILEGE_H

#include <jansson.h>
#include <stddef.h>

#include "lib/manifest/manifest.h"

#define ASTRID_CAP_CAPSULE_SHARED "capsule:shared"
#define ASTRID_CAPSULE_PRIV_MAX 8

typedef struct astrid_capsule_priv {
    const char *field;      /* the manifest ask, e.g. "uplink" */
    const char *capability; /* what the owner must hold, e.g. "capsule:uplink" */
} astrid_capsule_priv;

/* The privileged asks of `m`, in table order: uplink, identity, net_bind,
 * host_process, allow_prompt_injection. Returns how many were stored. */
size_t astrid_capsule_privileges(const astrid_manifest *m,
                                 astrid_capsule_priv out[ASTRID_CAPSULE_PRIV_MAX]);

/* Every capability the table can name (for tests and docs); NULL-ended. */
extern const char *const astrid_capsule_priv_caps[];

/* {fs_read, fs_write, net, ipc_publish, ipc_subscribe, host_process,
 *  net_bind: [strings], uplink, allow_prompt_injection: bool,
 *  identity: "none"|"resolve"|"link"|"admin", needs: [capabilities]}. */
json_t *astrid_manifest_asks_json(const astrid_manifest *m);

#endif
