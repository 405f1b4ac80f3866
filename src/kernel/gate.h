/* The security gate (docs/authority.md; reference §8.7 wired in): every
 * sensitive action a capsule asks for passes, in upstream's order,
 *
 *   1. hard policy (§8.6 defaults: blocked tools such as `sudo`, path
 *      traversal, denied paths /etc /boot /sys /proc /dev) -> blocked;
 *   2. a capability token of the principal for (resource, perm) -> allowed
 *      (a single-use token is consumed);
 *   3. the budget: the estimated cost is reserved (refused over a limit);
 *   4. policy "allowed", or a static grant the caller already checked
 *      (`preauthorized`: the manifest's net list and the agent's egress for
 *      HTTP) -> allowed;
 *   5. an allowance of the principal (a remembered "deny" denies), else
 *      the human: `astrid.v1.approval` to that principal's connections,
 *      answered by one of them (approvals.c);
 * and every decision is appended to the principal's audit log with the
 * action and the resource ("SecurityGate" entries; a failed append
 * denies). A denial after step 3 refunds the reservation.
 *
 * Threads: called from any thread but the loop thread when it may ask a
 * human (it blocks up to the approval timeout); the answers arrive on the
 * loop thread (astrid_gate_on_response, astrid_gate_answer).
 * Locks (struct astrid_gate, gate.c): `pending_lock` guards the pending
 * prompts and the per-principal connection counts; the token store,
 * allowances and budgets have their own (lib/caps, store/captokens.h).
 *
 * Ownership: requests and results are caller-owned plain values.
 */
#ifndef ASTRID_KERNEL_GATE_H
#define ASTRID_KERNEL_GATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "kernel/kernel.h"
#include "lib/caps/budget.h"
#include "lib/caps/token.h"

typedef struct astrid_gate_req {
    const char *principal; /* the invoking principal */
    const char *capsule;   /* the asking capsule's name; NULL = the kernel */
    /* What is done, upstream's SensitiveAction tags where one fits:
     * "execute_command", "network_request", "file_read", "file_write",
     * "file_delete", "mcp_tool_call", "capsule_http_request"; or the
     * capsule's own words (request-approval). */
    const char *action;
    /* What it is done to: "exec://ls -la", "net://host:443",
     * "file:///path", "mcp://server:tool", or free text (request-approval;
     * tokens then use "approval://<action>/<resource>"). */
    const char *resource;
    unsigned perm;      /* ASTRID_PERM_* the token must grant; 0 = invoke */
    double cost_usd;    /* reserved before; 0 = nothing to reserve */
    bool preauthorized; /* a static grant covers "requires approval" */
    bool no_prompt;     /* never ask a human: deny instead (tests, batch) */
    const char *reason; /* shown to the human; may be NULL */
} astrid_gate_req;

typedef struct astrid_gate_result {
    bool allowed;
    const char *via; /* "policy", "token", "static grant", "allowance", "approval" */
    char reason[512];
    astrid_budget_resv resv; /* refund with astrid_gate_refund when the action is cancelled */
    bool budget_warn;        /* at or above warn_at_percent */
} astrid_gate_result;

/* Start the gate (after the KV store and the audit log): the token store
 * over var/state.db, allowances, budgets (limits from the KV store).
 * Environment, read once: ASTRID_APPROVAL_TIMEOUT_MS (default 60000),
 * ASTRID_ALLOW_ALWAYS_TTL_SECS (default 3600). */
int astrid_gate_start(astrid_kernel *k, astrid_err *err);
/* Deny every pending prompt (shutdown); waiters return at once. */
void astrid_gate_cancel_all(astrid_kernel *k);
void astrid_gate_free(astrid_kernel *k);

/* THE entry point for a sensitive action. 0 = decided (*out->allowed says
 * how, out->reason why not); -1 = the gate could not decide (error in
 * `err`): the caller must treat it as denied. May block (asking a human);
 * never call it on the loop thread unless req->no_prompt.
 *
 * Where it is called: HTTP egress (capsule_http.c, preauthorized by the
 * net list), request-approval (approvals.c). Process spawn must call it
 * with action "execute_command", resource "exec://<argv joined by ' '>",
 * perm ASTRID_PERM_EXECUTE before forking; MCP tool calls marked sensitive
 * with "mcp_tool_call", "mcp://<server>:<tool>", ASTRID_PERM_INVOKE. */
int astrid_gate_check(astrid_kernel *k, const astrid_gate_req *req, astrid_gate_result *out,
                      astrid_err *err);
/* Give back a reservation of an allowed action that did not happen. */
void astrid_gate_refund(astrid_kernel *k, astrid_gate_result *res);
/* Charge usage after the fact (an LLM call's real cost, reported by a
 * capsule allowed to: usage.c): always recorded, even past a limit — the
 * tokens were spent, refusing the charge would make them free — and
 * audited; once a limit is reached the principal's next turn is refused
 * (astrid_gate_budget_blocks). `what` names the usage ("llm tokens ...");
 * `capsule` the reporting capsule (NULL = the kernel). */
int astrid_gate_charge(astrid_kernel *k, const char *principal, const char *capsule, double usd,
                       const char *what, astrid_err *err);
/* Has `principal` reached its session or workspace budget? If so the
 * refusal of (action, resource) is audited and `why` gets the message. */
bool astrid_gate_budget_blocks(astrid_kernel *k, const char *principal, const char *action,
                               const char *resource, char *why, size_t n);
/* Audit a refusal decided outside astrid_gate_check (a usage report from
 * a capsule without the right to report usage). */
void astrid_gate_refused(astrid_kernel *k, const char *principal, const char *capsule,
                         const char *action, const char *resource, const char *step,
                         const char *reason);

/* ---- the human in the loop (approvals.c) ---- */
/* Connections of a principal opened / closed (server.c, loop thread).
 * The last close of a principal drops its session allowances and session
 * tokens (others untouched) and denies its pending prompts. */
void astrid_gate_conn_opened(astrid_kernel *k, const char *principal);
void astrid_gate_conn_closed(astrid_kernel *k, const char *principal);
/* A connection of `principal` started (add) or stopped listening for its
 * approval prompts: with none listening a prompt is denied at once. */
void astrid_gate_listener(astrid_kernel *k, const char *principal, bool add);
/* A client frame on astrid.v1.approval.response.<id> or
 * astrid.v1.elicit.response.<id> (server.c; never published on the bus):
 * answers the pending prompt when `principal` is the prompt's own; another
 * principal's answer is ignored and audited. */
void astrid_gate_on_response(astrid_kernel *k, const char *principal, const char *topic,
                             const json_t *payload);
/* Answer an approval by id as `principal` (ApproveCapability): 0, or -1
 * with the reason (not found / not yours / bad decision). */
int astrid_gate_answer(astrid_kernel *k, const char *principal, const char *request_id,
                       const char *decision, const char *reason, astrid_err *err);
/* Pending prompts of `principal` as a JSON array (new reference). */
json_t *astrid_gate_pending(astrid_kernel *k, const char *principal);

/* Ask `principal`'s human: publishes the prompt and waits (timeout, no
 * connection, shutdown -> "deny"). `decision` receives one of approve,
 * approve_session, approve_workspace, approve_always, deny. */
int astrid_gate_ask_approval(astrid_kernel *k, const char *principal, const char *capsule,
                             const char *action, const char *resource, const char *reason,
                             char decision[32], astrid_err *err);
/* elicit: ask for a value; *value malloc'd (a JSON array text for
 * `values`). -1 on timeout / no connection / refusal. `field` borrowed. */
int astrid_gate_elicit(astrid_kernel *k, const char *principal, const char *capsule,
                       const json_t *field, char **value, astrid_err *err);

/* ---- budgets (gate.c) ---- */
/* Limits and usage of `principal` as {per_action_usd, session_usd,
 * workspace_usd, warn_at_percent, session_spent_usd,
 * workspace_spent_usd} (new reference). */
json_t *astrid_gate_budget_json(astrid_kernel *k, const char *principal);
/* Set limits (persisted in var/state.db, system:budget). */
int astrid_gate_budget_set(astrid_kernel *k, const char *principal, const astrid_budget_limits *l,
                           astrid_err *err);

/* ---- the host env's request-approval / elicit callbacks ---- */
int astrid_gate_env_approval(void *ctx, const astrid_invocation *inv, const char *action,
                             const char *resource, bool *approved, astrid_err *err);
int astrid_gate_env_elicit(void *ctx, const astrid_invocation *inv, const char *request_json,
                           char **value, astrid_err *err);

#endif
