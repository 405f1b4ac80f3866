/* budget.set / budget.get (ours: upstream registers `astrid budget` but
 * defers it): an agent's USD limits and what it spent (gate.h). */
#include <math.h>
#include <string.h>

#include "kernel/admin.h"
#include "kernel/gate.h"

static int number(admin_call *c, json_t *b, const char *key, double *out)
{
    json_t *v = json_object_get(b, key);
    if (!v)
        return 0;
    if (!json_is_number(v) || !isfinite(json_number_value(v)) || json_number_value(v) < 0)
        return astrid_req_fail(c, ASTRID_KIND_INVALID, "budget.%s must be a number >= 0 (USD)",
                               key);
    *out = json_number_value(v);
    return 0;
}

int admin_budget_set(admin_call *c, json_t **data, const char **status)
{
    (void)status;
    const char *p = admin_str(c, "principal");
    if (!p)
        return -1;
    static const char *const known[] = {"per_action_usd", "session_usd", "workspace_usd",
                                        "warn_at_percent"};
    json_t *b = admin_object(c, "budget", known, sizeof known / sizeof *known, "budget field");
    if (!b)
        return -1;
    astrid_profile *prof = admin_load_existing(c, p); /* phantom guard */
    if (!prof)
        return -1;
    astrid_profile_release(prof);
    /* Fields not given keep their current values. */
    json_t *cur = astrid_gate_budget_json(c->k, p);
    astrid_budget_limits l = {
        json_number_value(json_object_get(cur, "per_action_usd")),
        json_number_value(json_object_get(cur, "session_usd")),
        json_number_value(json_object_get(cur, "workspace_usd")),
        (unsigned)json_integer_value(json_object_get(cur, "warn_at_percent"))};
    json_decref(cur);
    double warn = l.warn_percent;
    if (number(c, b, "per_action_usd", &l.per_action_usd) ||
        number(c, b, "session_usd", &l.session_usd) ||
        number(c, b, "workspace_usd", &l.workspace_usd) || number(c, b, "warn_at_percent", &warn))
        return -1;
    if (warn < 1 || warn > 100 || warn != floor(warn))
        return astrid_req_fail(c, ASTRID_KIND_INVALID, "budget.warn_at_percent must be 1..100");
    l.warn_percent = (unsigned)warn;
    astrid_err err;
    if (astrid_gate_budget_set(c->k, p, &l, &err) != 0)
        return astrid_req_fail_err(c, &err);
    *data = astrid_gate_budget_json(c->k, p);
    return 0;
}

int admin_budget_get(admin_call *c, json_t **data, const char **status)
{
    (void)status;
    const char *p = admin_str(c, "principal");
    if (!p)
        return -1;
    astrid_profile *prof = admin_load_existing(c, p);
    if (!prof)
        return -1;
    astrid_profile_release(prof);
    *data = astrid_gate_budget_json(c->k, p);
    return 0;
}
