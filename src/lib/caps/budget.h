/* Budgets in USD (reference §8.9): per action, per session (since the
 * daemon booted) and per workspace (persisted by the kernel), per
 * principal. A cost is reserved before the action and refunded on deny or
 * cancel; a reservation that would pass a limit is refused, whatever runs
 * concurrently (one lock, `lock`, across check and add).
 *
 * Thread-safe. Ownership: the table owns its entries; results are copies.
 */
#ifndef ASTRID_LIB_CAPS_BUDGET_H
#define ASTRID_LIB_CAPS_BUDGET_H

#include <stdbool.h>
#include <stddef.h>

#include "astrid/err.h"

#define ASTRID_BUDGET_DEFAULT_SESSION 100.0
#define ASTRID_BUDGET_DEFAULT_PER_ACTION 10.0
#define ASTRID_BUDGET_DEFAULT_WARN 80

typedef struct astrid_budget_limits {
    double per_action_usd; /* 0 = unlimited */
    double session_usd;    /* 0 = unlimited */
    double workspace_usd;  /* 0 = unlimited */
    unsigned warn_percent; /* 1..100 */
} astrid_budget_limits;

typedef struct astrid_budget_usage {
    double session_spent, workspace_spent;
} astrid_budget_usage;

/* A reservation: refund it (deny/cancel) or keep it (commit = nothing). */
typedef struct astrid_budget_resv {
    char principal[65];
    double cost;
} astrid_budget_resv;

typedef struct astrid_budgets astrid_budgets;

astrid_budgets *astrid_budgets_new(void);
void astrid_budgets_free(astrid_budgets *b);

/* The defaults (100 / 10 / unlimited / 80 %). */
void astrid_budget_default_limits(astrid_budget_limits *l);
/* Limits must be finite and >= 0, warn 1..100. */
int astrid_budget_limits_check(const astrid_budget_limits *l, astrid_err *err);

/* The limits of a principal never set (astrid_budget_default_limits until
 * changed; the kernel sets the configuration's [budget]). Checked as
 * astrid_budget_limits_check. */
int astrid_budgets_set_defaults(astrid_budgets *b, const astrid_budget_limits *l, astrid_err *err);
void astrid_budgets_defaults(astrid_budgets *b, astrid_budget_limits *l);

/* Set a principal's limits (and its persisted workspace spend, when
 * `usage` is given: the kernel's load at boot). */
int astrid_budgets_set(astrid_budgets *b, const char *principal, const astrid_budget_limits *l,
                       const astrid_budget_usage *usage, astrid_err *err);
/* Limits and usage of a principal (defaults and zero when never set). */
void astrid_budgets_get(astrid_budgets *b, const char *principal, astrid_budget_limits *l,
                        astrid_budget_usage *u);

/* Reserve `cost` (finite, >= 0). Refused (ASTRID_E_LIMIT, the message
 * naming the limit) when cost > per_action or the session / workspace
 * total would pass its limit. *warn: the new session or workspace total
 * is at or above warn_percent of its limit. */
int astrid_budgets_reserve(astrid_budgets *b, const char *principal, double cost,
                           astrid_budget_resv *r, bool *warn, astrid_err *err);
/* Give a reservation back (clamped at 0); idempotent (cost zeroed). */
void astrid_budgets_refund(astrid_budgets *b, astrid_budget_resv *r);
/* Record a cost that was already incurred (an LLM call's tokens): added
 * whatever the limits say, since refusing it would let the usage go
 * unaccounted. *warn as for reserve. */
int astrid_budgets_add(astrid_budgets *b, const char *principal, double cost, bool *warn,
                       astrid_err *err);
/* Has `principal` reached its session or workspace limit (spent >= limit)?
 * `why` (optional) gets the message naming the limit. */
bool astrid_budgets_exhausted(astrid_budgets *b, const char *principal, char *why, size_t n);

#endif
