/* What a capsule asks for, checked and shown at install (docs/capsules.md,
 * "Who a capsule serves, and what installing grants"). The daemon checks
 * the same table at every load and is the authority; this check fails
 * early, before the compile, with the daemon's message. Capabilities are
 * evaluated like `caps check`: the kernel's evaluator over the profile and
 * groups on disk, so it answers with the daemon stopped too. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "astrid/capcheck.h"
#include "astrid/home.h"
#include "lib/manifest/privilege.h"
#include "cli/capsule_util.h"

typedef struct policy {
    astrid_profile *owner, *installer;
    astrid_group_config *groups;
} policy;

static void policy_free(policy *p)
{
    if (p->installer && p->installer != p->owner)
        astrid_profile_release(p->installer);
    if (p->owner)
        astrid_profile_release(p->owner);
    astrid_groups_unref(p->groups);
}

/* A missing or unreadable profile holds nothing (fail closed). */
static int policy_load(const cli_capsule_vet *v, policy *p, astrid_err *err)
{
    memset(p, 0, sizeof *p);
    char path[PATH_MAX];
    if (astrid_home_groups_file(path, sizeof path, v->home, err) != 0)
        return -1;
    astrid_group_error gwhy;
    p->groups =
        access(path, F_OK) == 0 ? astrid_groups_load(path, &gwhy, err) : astrid_groups_builtin(err);
    if (!p->groups)
        return -1;
    astrid_err e;
    p->owner = astrid_profile_load(v->home, v->owner, &e);
    p->installer = strcmp(v->installer, v->owner) == 0
                       ? p->owner
                       : astrid_profile_load(v->home, v->installer, &e);
    return 0;
}

int cli_capsule_vet_fn(void *ctx, const struct astrid_manifest *m, astrid_err *err)
{
    cli_capsule_vet *v = ctx;
    policy p;
    if (policy_load(v, &p, err) != 0)
        return -1;
    bool other = strcmp(v->installer, v->owner) != 0;
    astrid_capsule_priv pr[ASTRID_CAPSULE_PRIV_MAX];
    size_t n = astrid_capsule_privileges(m, pr);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (!astrid_capcheck_has(p.owner, p.groups, pr[i].capability))
            rc = astrid_err_set(err, ASTRID_E_PERM,
                                "capsule %s: manifest asks for %s, which needs capability %s "
                                "that owner %s does not hold",
                                m->name, pr[i].field, pr[i].capability, v->owner);
        else if (other && !astrid_capcheck_has(p.installer, p.groups, pr[i].capability))
            rc = astrid_err_set(err, ASTRID_E_PERM,
                                "capsule %s: manifest asks for %s, which needs capability %s "
                                "that installing agent %s does not hold",
                                m->name, pr[i].field, pr[i].capability, v->installer);
    }
    /* A workspace capsule belongs to default and serves everyone: another
     * agent putting one there must be able to share. */
    if (rc == 0 && other && !astrid_capcheck_has(p.installer, p.groups, ASTRID_CAP_CAPSULE_SHARED))
        rc = astrid_err_set(err, ASTRID_E_PERM,
                            "capsule %s: a workspace capsule is owned by %s and serves every "
                            "agent, which needs capability %s that installing agent %s does "
                            "not hold",
                            m->name, v->owner, ASTRID_CAP_CAPSULE_SHARED, v->installer);
    if (rc == 0) {
        json_decref(v->asks);
        v->asks = astrid_manifest_asks_json(m);
        json_object_set_new(v->asks, "owner", json_string(v->owner));
        json_object_set_new(
            v->asks, "shared",
            json_boolean(astrid_capcheck_has(p.owner, p.groups, ASTRID_CAP_CAPSULE_SHARED)));
    }
    policy_free(&p);
    return rc;
}

static void print_list(FILE *out, json_t *asks, const char *key, int *lines)
{
    json_t *a = json_object_get(asks, key), *x;
    size_t i;
    if (!json_array_size(a))
        return;
    fprintf(out, "  %-14s ", key);
    json_array_foreach(a, i, x)
    {
        fprintf(out, "%s%s", i ? ", " : "", json_string_value(x));
    }
    fputc('\n', out);
    (*lines)++;
}

void cli_capsule_print_asks(cli_ctx *ctx, const char *name, json_t *asks)
{
    FILE *out = ctx->out;
    const char *owner = json_string_value(json_object_get(asks, "owner"));
    fprintf(out, "Capsule %s asks for:\n", name);
    static const char *const lists[] = {"fs_read",       "fs_write",     "net",     "ipc_publish",
                                        "ipc_subscribe", "host_process", "net_bind"};
    int lines = 0;
    for (size_t i = 0; i < sizeof lists / sizeof *lists; i++)
        print_list(out, asks, lists[i], &lines);
    const char *idn = json_string_value(json_object_get(asks, "identity"));
    if (idn && strcmp(idn, "none") != 0)
        fprintf(out, "  %-14s %s\n", "identity", idn), lines++;
    if (json_is_true(json_object_get(asks, "uplink")))
        fprintf(out, "  %-14s yes\n", "uplink"), lines++;
    if (json_is_true(json_object_get(asks, "allow_prompt_injection")))
        fprintf(out, "  allow_prompt_injection yes\n"), lines++;
    if (!lines)
        fprintf(out, "  (no files, network, bus topics or privileged asks)\n");
    json_t *needs = json_object_get(asks, "needs"), *x;
    size_t i;
    json_array_foreach(needs, i, x)
    {
        fprintf(out, "  %-14s %s (held by %s)\n", i ? "" : "needs", json_string_value(x), owner);
    }
    if (json_is_true(json_object_get(asks, "shared")))
        fprintf(out, "  %-14s every agent (owner %s holds %s)\n", "serves", owner,
                ASTRID_CAP_CAPSULE_SHARED);
    else
        fprintf(out, "  %-14s only its owner %s (private: %s does not hold %s)\n", "serves", owner,
                owner, ASTRID_CAP_CAPSULE_SHARED);
}
