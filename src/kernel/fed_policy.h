/* Replicated policy (issue #19, docs/federation-trust.md): with
 * `[federation] replicate_policy = true`, etc/groups.toml and every
 * etc/profiles/{p}.toml live in the JetStream KV bucket
 * astrid-<lattice>-policy, each value an envelope sealed by the writing
 * host ({"key":K,"toml":TEXT|null}, null = the profile was deleted).
 *
 * Thread: one "policy replicator" (fed_policy.c) owns the bucket: it
 * watches it and applies every value that verifies (the writer in this
 * host's trust table, or this host itself; lattice, key and freshness
 * checked; the TOML valid) to the local file atomically, audited; and it
 * publishes local changes with revision-checked updates (kvStore_Update on
 * the last revision it saw: a conflict is logged and audited, never
 * overwritten; the other host's value then arrives through the watch).
 * Anything it cannot verify is refused and the local copy kept; while the
 * server is unreachable the host runs on its last good files.
 *
 * Ownership: k->fed_policy, made by astrid_fed_policy_start (after the
 * bridge), freed by astrid_fed_policy_stop (before it). */
#ifndef ASTRID_KERNEL_FED_POLICY_H
#define ASTRID_KERNEL_FED_POLICY_H

#include <stdint.h>

#include "astrid/err.h"
#include "kernel/kernel.h"

#define ASTRID_FED_POLICY_TOPIC "astrid.v1.federation.policy"

/* No-op (0) when federation is off or replicate_policy is false. */
int astrid_fed_policy_start(astrid_kernel *k, astrid_err *err);
void astrid_fed_policy_stop(astrid_kernel *k);
/* A local policy file may have changed (an admin request wrote): the
 * replicator compares and publishes. Cheap, any thread. */
void astrid_fed_policy_changed(astrid_kernel *k);
/* The trust table changed: values refused before (an untrusted writer)
 * are judged again, values of a removed writer are no longer applied. */
void astrid_fed_policy_resync(astrid_kernel *k);

#endif
