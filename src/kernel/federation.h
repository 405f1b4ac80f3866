/* The NATS bridge (issue #19, docs/federation.md): federation.c.
 *
 * Threads (also docs/architecture.md):
 *  - libnats's delivery threads, one per NATS subscription (imports, the
 *    served queue group, this host's directed subject, heartbeats, the reply
 *    inbox): they parse, verify and replay-check envelopes and publish the
 *    accepted messages on the local bus (astrid_kernel_bus_publish).
 *  - the "federation exporter": pops the bus feed, seals allow-listed local
 *    messages with the runtime key and publishes them on NATS; writes the
 *    import-audit batches once FED_AUDIT_FLUSH_MS old.
 *  - the "federation ticker": heartbeats, pings (RTT), peer liveness,
 *    request deadlines and the failover of requests whose host died.
 * `peers_lock` guards the peer table (with each origin's replay window),
 * the pending requests and the outstanding remote turns. Keys come from
 * the daemon's one trust table (fed_trust.c, its own trust_lock), never
 * looked up with peers_lock held. `imp_lock` guards the open import-audit
 * batches; it is never held across an audit append or with another lock.
 *
 * Ownership: the bridge is k->fed, created by astrid_fed_start and freed by
 * astrid_fed_stop. */
#ifndef ASTRID_KERNEL_FEDERATION_H
#define ASTRID_KERNEL_FEDERATION_H

#include <jansson.h>
#include <nats/nats.h>

#include "astrid/err.h"
#include "astrid/fedconf.h"

struct astrid_kernel;

/* Read etc/federation.toml; absent = off (0, k->fed stays NULL). A file
 * that does not parse refuses boot (-1). An unreachable NATS server does
 * not: the bridge keeps reconnecting and `astrid status` says so. Call
 * after the bus, the audit log and the capsules are up. */
int astrid_fed_start(struct astrid_kernel *k, astrid_err *err);
/* Close the NATS connection and join the bridge's threads (before the bus
 * and the audit log go). */
void astrid_fed_stop(struct astrid_kernel *k);

/* The bridge's NATS connection for other kernel parts (TRUST's replicated
 * policy): borrowed, valid until astrid_fed_stop; NULL when federation is
 * off. It may be between reconnects: calls then fail or buffer (libnats). */
natsConnection *astrid_fed_conn(struct astrid_kernel *k);
/* The loaded configuration (borrowed, fixed for the daemon's life); NULL = off. */
const astrid_fedconf *astrid_fed_conf(struct astrid_kernel *k);
/* Seal `payload` as this host (its runtime key, the next seq of this
 * origin) for `topic` and `principal` ("" = the kernel): *wire malloc'd,
 * caller frees. For other parts that put envelopes on NATS. */
int astrid_fed_seal(struct astrid_kernel *k, const char *topic, const char *principal,
                    const char *payload, size_t len, char **wire, size_t *wire_len,
                    astrid_err *err);

/* `astrid status`: {host, lattice, connected, server, peers:[{host, alive,
 * rtt_ms, last_seen_ms_ago, serves}], exported, imported, dropped}; NULL
 * when off. `astrid ps`: [{topic, host, alive}] of the peers' served
 * topics; an empty array when off. New references. */
json_t *astrid_fed_status_json(struct astrid_kernel *k);
json_t *astrid_fed_services_json(struct astrid_kernel *k);

#endif
