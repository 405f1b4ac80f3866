/* LLM usage charged to budgets (docs/authority.md "Charging usage",
 * docs/chat.md "Budget"): the kernel, not a capsule, turns a turn's token
 * usage into USD and charges the budget of the principal the turn ran as.
 *
 *  - Report: a capsule publishes `agent.v1.usage` {provider, model,
 *    input_tokens, output_tokens} (react, once per LLM call). The capsule
 *    publish path (capsules.c env_publish) hands it here *before* it goes
 *    on the bus, on the publishing invocation's thread, so the charge is
 *    recorded by the time the turn goes on. The principal charged is the
 *    invocation's (the bus stamp), never a payload field. Only a capsule
 *    whose owner holds ASTRID_CAP_USAGE_REPORT (read at load, like
 *    capsule:shared) and that is not an uplink (which may publish as
 *    anyone) is believed; any other report is refused and audited, so a
 *    capsule a principal happens to run cannot drain its budget. Clients
 *    (even with system:bus) never charge anything: their publishes do not
 *    pass here.
 *  - Price: the provider's own `llm.v1.request.describe` answer (the kernel
 *    fans the hook out as the charged principal, to capsules allowed to
 *    report usage only, and takes the answer whose id is the provider),
 *    cached per (principal, provider, model) for 60 s. A model the
 *    provider marks `unpriced` (a local server) costs 0; no answer, or a
 *    model not listed, costs the default price (ASTRID_USAGE_INPUT_USD_PER_MTOK
 *    / ASTRID_USAGE_OUTPUT_USD_PER_MTOK, read at start; upstream's
 *    model.pricing 3 / 15) — unknown prices charge, never let through.
 *  - Refusal: once a principal's session or workspace budget is reached,
 *    its next `user.v1.prompt` (not a cancel) is not dispatched: the kernel
 *    answers a final `agent.v1.response` with `error: true` and the
 *    budget message; an `llm.v1.request.generate.*` of a turn already
 *    running is answered with the stream event `{"Error": ...}`, which ends
 *    that turn. Both audited.
 *
 * Threads: reports run on the publishing capsule's thread (a chain worker
 * or run loop), the refusal on chain workers. `prices_lock` guards the
 * price cache only; no lock is held across the describe fan-out.
 * Ownership: the state hangs off the gate (astrid_usage_start/free). */
#ifndef ASTRID_KERNEL_USAGE_H
#define ASTRID_KERNEL_USAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "bus/bus.h"
#include "kernel/kernel.h"

#define ASTRID_CAP_USAGE_REPORT "capsule:usage_report"
#define ASTRID_USAGE_TOPIC "agent.v1.usage"

struct kcapsule;

/* Called by astrid_gate_start / astrid_gate_free. */
int astrid_usage_start(astrid_kernel *k, astrid_err *err);
void astrid_usage_free(astrid_kernel *k);

/* A capsule `c` running as `principal` publishes agent.v1.usage: charge it
 * (or refuse and audit it). Never fails the publish. */
void kcapsule_usage_report(struct kcapsule *c, const char *principal, const char *payload,
                           size_t len);

/* The dispatch check before a chain runs: true when `m` was refused for
 * the budget (and answered); the chain must then not run. */
bool astrid_usage_refuse(astrid_kernel *k, const astrid_msg *m);

#endif
