/* The gate's state, shared by gate.c (the check, budgets) and approvals.c
 * (prompts, connections). Owned by the kernel struct (k->gate). */
#ifndef ASTRID_KERNEL_GATE_INT_H
#define ASTRID_KERNEL_GATE_INT_H

#include <pthread.h>
#include <stdint.h>

#include "kernel/gate.h"
#include "lib/caps/allowance.h"
#include "lib/caps/budget.h"
#include "store/captokens.h"

typedef struct gate_pending gate_pending;

typedef struct gate_conns {
    char principal[65];
    unsigned count;     /* authenticated connections */
    unsigned listeners; /* of them, subscribed to astrid.v1.approval */
} gate_conns;

struct astrid_gate {
    astrid_captokens *tokens;     /* thread-safe */
    astrid_allowances *allow;     /* thread-safe */
    astrid_budgets *budgets;      /* thread-safe */
    pthread_mutex_t budget_lock;  /* one budget persist at a time (KV order) */
    uint64_t timeout_ms;          /* approval / elicit wait */
    int64_t always_ttl_secs;      /* approve_always token lifetime */
    pthread_mutex_t pending_lock; /* guards pending, conns, nconns, cancelled */
    /* every waiter sleeps on it (CLOCK_MONOTONIC): answers are rare and a
     * spurious wake-up costs one re-check */
    pthread_cond_t pending_cond;
    gate_pending *pending;
    gate_conns *conns;
    size_t nconns, capconns;
    bool cancelled;
    struct astrid_usage *usage; /* LLM usage prices (usage.c; its own lock) */
};

/* approvals.c */
void gate_pending_free_all(struct astrid_gate *g);

#endif
