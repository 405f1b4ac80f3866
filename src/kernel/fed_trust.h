/* The daemon's federation trust state (issue #19): its one loaded copy of
 * etc/trust.toml (the bridge verifies every envelope with
 * astrid_kernel_trust_lookup), this host's name and the [[map]]s the bridge
 * hands over at boot, what remote principals may do, and the trust.* admin
 * handlers. Guarded by `trust_lock` (fed_trust.c); callable from any
 * thread.
 *
 * Ownership: the state belongs to the kernel (astrid_kernel.fed_trust),
 * created by astrid_kernel_trust_start at boot and freed by
 * astrid_kernel_trust_stop at shutdown. Functions copy what they are given
 * and what they return. */
#ifndef ASTRID_KERNEL_FED_TRUST_H
#define ASTRID_KERNEL_FED_TRUST_H

#include <stdint.h>

#include "astrid/err.h"
#include "astrid/profile.h"
#include "kernel/kernel.h"

/* Boot: load etc/trust.toml (absent = no host trusted; malformed or
 * group/other-writable refuses boot: a daemon never runs on a trust table
 * it could not read whole). */
int astrid_kernel_trust_start(astrid_kernel *k, astrid_err *err);
void astrid_kernel_trust_stop(astrid_kernel *k);

/* 0 with `host`'s key from the trust table, -1 when it is not trusted.
 * The bridge verifies every envelope with this key, never one carried in a
 * message. */
int astrid_kernel_trust_lookup(astrid_kernel *k, const char *host, uint8_t pk[32]);

/* The bridge sets this host's name ([federation] host) at boot; "" until
 * then (federation off). -1 for an invalid name. */
int astrid_kernel_fed_self_set(astrid_kernel *k, const char *host, astrid_err *err);
/* This host's name into `out` (ASTRID_FED_NAME_MAX + 1 bytes; "" = unset). */
void astrid_kernel_fed_self(astrid_kernel *k, char *out, size_t n);

/* The [[map]] entries (remote = "alice@B" or "*@B", group = "...") of
 * etc/federation.toml, set by the bridge at boot; replaces the previous
 * set. A remote that is neither form is refused. */
int astrid_kernel_fed_maps_set(astrid_kernel *k, const char *const *remote,
                               const char *const *group, size_t n, astrid_err *err);

/* The profile a remote principal `id` ("alice@B") is checked against
 * (caller releases), or NULL with the reason:
 *  - B must be in the trust table (a host removed from it loses every
 *    grant at once);
 *  - etc/profiles/alice@B.toml when it exists (its grants, revokes,
 *    groups, enabled), else an empty profile;
 *  - plus the [[map]] group of "alice@B", else of "*@B".
 * Nothing is granted by default: no profile and no mapping holds no
 * capability. */
const astrid_profile *astrid_kernel_remote_profile(astrid_kernel *k, const char *id,
                                                   astrid_err *err);

/* Admin handlers (requests.c rows trust.add, trust.remove, trust.list). */
struct astrid_req;
int admin_trust_add(struct astrid_req *c, json_t **data, const char **status);
int admin_trust_remove(struct astrid_req *c, json_t **data, const char **status);
int admin_trust_list(struct astrid_req *c, json_t **data, const char **status);
/* {principal, capability} -> {principal, capability, allowed, reason?}:
 * the daemon's own verdict (astrid_authorize), for a remote principal
 * through the trust table, its profile and the [[map]]s. */
int admin_trust_check(struct astrid_req *c, json_t **data, const char **status);

#endif
