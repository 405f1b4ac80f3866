/* Budget table (budget.h): a small array of principals under `lock`. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/principal.h"
#include "lib/caps/budget.h"

typedef struct entry {
    char principal[65];
    astrid_budget_limits l;
    astrid_budget_usage u;
} entry;

struct astrid_budgets {
    pthread_mutex_t lock; /* guards e, n, cap, defaults and every entry */
    astrid_budget_limits defaults;
    entry *e;
    size_t n, cap;
};

void astrid_budget_default_limits(astrid_budget_limits *l)
{
    *l = (astrid_budget_limits){ASTRID_BUDGET_DEFAULT_PER_ACTION, ASTRID_BUDGET_DEFAULT_SESSION, 0,
                                ASTRID_BUDGET_DEFAULT_WARN};
}

int astrid_budget_limits_check(const astrid_budget_limits *l, astrid_err *err)
{
    const double v[] = {l->per_action_usd, l->session_usd, l->workspace_usd};
    for (size_t i = 0; i < 3; i++)
        if (!isfinite(v[i]) || v[i] < 0)
            return astrid_err_set(err, ASTRID_E_INVALID,
                                  "budget limits must be finite USD amounts >= 0");
    if (l->warn_percent < 1 || l->warn_percent > 100)
        return astrid_err_set(err, ASTRID_E_INVALID, "warn_at_percent must be 1..100");
    return 0;
}

int astrid_budgets_set_defaults(astrid_budgets *b, const astrid_budget_limits *l, astrid_err *err)
{
    if (astrid_budget_limits_check(l, err) != 0)
        return -1;
    pthread_mutex_lock(&b->lock);
    b->defaults = *l;
    pthread_mutex_unlock(&b->lock);
    return 0;
}

void astrid_budgets_defaults(astrid_budgets *b, astrid_budget_limits *l)
{
    pthread_mutex_lock(&b->lock);
    *l = b->defaults;
    pthread_mutex_unlock(&b->lock);
}

astrid_budgets *astrid_budgets_new(void)
{
    astrid_budgets *b = calloc(1, sizeof *b);
    if (b) {
        pthread_mutex_init(&b->lock, NULL);
        astrid_budget_default_limits(&b->defaults);
    }
    return b;
}

void astrid_budgets_free(astrid_budgets *b)
{
    if (!b)
        return;
    pthread_mutex_destroy(&b->lock);
    free(b->e);
    free(b);
}

static entry *find(astrid_budgets *b, const char *p, bool create)
{
    for (size_t i = 0; i < b->n; i++)
        if (strcmp(b->e[i].principal, p) == 0)
            return &b->e[i];
    if (!create)
        return NULL;
    if (b->n == b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 16;
        entry *ne = realloc(b->e, nc * sizeof *ne);
        if (!ne)
            return NULL;
        b->e = ne;
        b->cap = nc;
    }
    entry *e = &b->e[b->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->principal, sizeof e->principal, "%s", p);
    e->l = b->defaults;
    return e;
}

int astrid_budgets_set(astrid_budgets *b, const char *principal, const astrid_budget_limits *l,
                       const astrid_budget_usage *usage, astrid_err *err)
{
    if (astrid_principal_validate(principal, err) != 0 || astrid_budget_limits_check(l, err) != 0)
        return -1;
    pthread_mutex_lock(&b->lock);
    entry *e = find(b, principal, true);
    if (e) {
        e->l = *l;
        if (usage)
            e->u.workspace_spent = usage->workspace_spent;
    }
    pthread_mutex_unlock(&b->lock);
    return e ? 0 : astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
}

void astrid_budgets_get(astrid_budgets *b, const char *principal, astrid_budget_limits *l,
                        astrid_budget_usage *u)
{
    pthread_mutex_lock(&b->lock);
    entry *e = find(b, principal, false);
    if (e) {
        *l = e->l;
        *u = e->u;
    } else {
        *l = b->defaults;
        *u = (astrid_budget_usage){0, 0};
    }
    pthread_mutex_unlock(&b->lock);
}

static bool at_warn(double spent, double max, unsigned pct)
{
    return max > 0 && spent >= max * pct / 100.0;
}

int astrid_budgets_reserve(astrid_budgets *b, const char *principal, double cost,
                           astrid_budget_resv *r, bool *warn, astrid_err *err)
{
    memset(r, 0, sizeof *r);
    if (warn)
        *warn = false;
    if (!isfinite(cost) || cost < 0)
        return astrid_err_set(err, ASTRID_E_INVALID, "cost must be a finite USD amount >= 0");
    pthread_mutex_lock(&b->lock);
    entry *e = find(b, principal, true);
    int rc = 0;
    if (!e) {
        rc = astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    } else if (e->l.per_action_usd > 0 && cost > e->l.per_action_usd) {
        rc = astrid_err_set(err, ASTRID_E_LIMIT,
                            "budget exceeded: per-action limit %.4f USD < cost %.4f USD",
                            e->l.per_action_usd, cost);
    } else if (e->l.session_usd > 0 && cost > e->l.session_usd - e->u.session_spent) {
        rc = astrid_err_set(err, ASTRID_E_LIMIT,
                            "budget exceeded: session limit %.4f USD (spent %.4f, cost %.4f)",
                            e->l.session_usd, e->u.session_spent, cost);
    } else if (e->l.workspace_usd > 0 && cost > e->l.workspace_usd - e->u.workspace_spent) {
        rc = astrid_err_set(err, ASTRID_E_LIMIT,
                            "budget exceeded: workspace limit %.4f USD (spent %.4f, cost %.4f)",
                            e->l.workspace_usd, e->u.workspace_spent, cost);
    } else {
        e->u.session_spent += cost;
        e->u.workspace_spent += cost;
        snprintf(r->principal, sizeof r->principal, "%s", principal);
        r->cost = cost;
        if (warn)
            *warn = at_warn(e->u.session_spent, e->l.session_usd, e->l.warn_percent) ||
                    at_warn(e->u.workspace_spent, e->l.workspace_usd, e->l.warn_percent);
    }
    pthread_mutex_unlock(&b->lock);
    return rc;
}

void astrid_budgets_refund(astrid_budgets *b, astrid_budget_resv *r)
{
    if (!r->cost)
        return;
    pthread_mutex_lock(&b->lock);
    entry *e = find(b, r->principal, false);
    if (e) {
        e->u.session_spent = fmax(0, e->u.session_spent - r->cost);
        e->u.workspace_spent = fmax(0, e->u.workspace_spent - r->cost);
    }
    pthread_mutex_unlock(&b->lock);
    r->cost = 0;
}

int astrid_budgets_add(astrid_budgets *b, const char *principal, double cost, bool *warn,
                       astrid_err *err)
{
    if (warn)
        *warn = false;
    if (!isfinite(cost) || cost < 0)
        return astrid_err_set(err, ASTRID_E_INVALID, "cost must be a finite USD amount >= 0");
    pthread_mutex_lock(&b->lock);
    entry *e = find(b, principal, true);
    if (e) {
        e->u.session_spent += cost;
        e->u.workspace_spent += cost;
        if (warn)
            *warn = at_warn(e->u.session_spent, e->l.session_usd, e->l.warn_percent) ||
                    at_warn(e->u.workspace_spent, e->l.workspace_usd, e->l.warn_percent);
    }
    pthread_mutex_unlock(&b->lock);
    return e ? 0 : astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
}

bool astrid_budgets_exhausted(astrid_budgets *b, const char *principal, char *why, size_t n)
{
    bool out = false;
    pthread_mutex_lock(&b->lock);
    entry *e = find(b, principal, false);
    if (e && e->l.session_usd > 0 && e->u.session_spent >= e->l.session_usd) {
        out = true;
        if (why && n)
            snprintf(why, n, "budget exceeded: session limit %.4f USD reached (spent %.6f USD)",
                     e->l.session_usd, e->u.session_spent);
    } else if (e && e->l.workspace_usd > 0 && e->u.workspace_spent >= e->l.workspace_usd) {
        out = true;
        if (why && n)
            snprintf(why, n, "budget exceeded: workspace limit %.4f USD reached (spent %.6f USD)",
                     e->l.workspace_usd, e->u.workspace_spent);
    }
    pthread_mutex_unlock(&b->lock);
    return out;
}
