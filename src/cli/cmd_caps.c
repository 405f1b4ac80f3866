/* `astrid caps ...` — direct grants and revokes (reference §7.6, §10.2).
 * show/grant/revoke go through the Admin API; `check` evaluates the files
 * on disk with the kernel's own evaluator (revoke > grant > group), so it
 * answers with the daemon stopped too. */
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "astrid/capcheck.h"
#include "astrid/caps.h"
#include "astrid/home.h"
#include "cli/admin.h"
#include "cli/cli_stub.h"
#include "cli/context.h"
#include "cli/output/output.h"

/* First revoke pattern matching `cap`, or NULL. */
static const char *shadowing(json_t *revokes, const char *cap)
{
    size_t i;
    json_t *r;
    json_array_foreach(revokes, i, r)
    {
        if (astrid_cap_matches(json_string_value(r), cap))
            return json_string_value(r);
    }
    return NULL;
}

static void add_row(json_t *rows, const char *cap, const char *source, const char *group,
                    json_t *revokes)
{
    json_t *row = json_pack("{s:s,s:s}", "capability", cap, "source", source);
    if (group)
        json_object_set_new(row, "group", json_string(group));
    const char *by = revokes ? shadowing(revokes, cap) : NULL;
    if (by)
        json_object_set_new(row, "shadowed_by", json_string(by));
    json_array_append_new(rows, row);
}

static void print_table(cli_ctx *ctx, json_t *out)
{
    bool colour = cli_colour_wanted(ctx->out);
    json_t *rows = json_object_get(out, "capabilities");
    size_t w = strlen("CAPABILITY"), i;
    json_t *r;
    json_array_foreach(rows, i, r)
    {
        size_t l = cli_text_width(json_string_value(json_object_get(r, "capability")));
        w = l > w ? l : w;
    }
    fprintf(ctx->out, "Agent: %s (%s)\n", json_string_value(json_object_get(out, "principal")),
            json_is_true(json_object_get(out, "enabled")) ? "enabled" : "disabled");
    fprintf(ctx->out, "%-*s  %-16s  %s\n", (int)w, "CAPABILITY", "SOURCE", "NOTE");
    json_array_foreach(rows, i, r)
    {
        const char *cap = json_string_value(json_object_get(r, "capability"));
        const char *src = json_string_value(json_object_get(r, "source"));
        const char *grp = json_string_value(json_object_get(r, "group"));
        const char *by = json_string_value(json_object_get(r, "shadowed_by"));
        char source[96], note[300] = "";
        snprintf(source, sizeof source, "%s%s%s", src, grp ? " " : "", grp ? grp : "");
        if (by)
            snprintf(note, sizeof note, "shadowed by revoke '%s'", by);
        /* Pad on the plain text, then colour: columns line up either way. */
        size_t pad = w - cli_text_width(cap);
        fprintf(ctx->out, "%s%s%s%*s  %-16s  %s%s%s\n", colour && by ? "\033[2m" : "", cap,
                colour && by ? "\033[0m" : "", (int)pad, "", source, colour && by ? "\033[33m" : "",
                note, colour && by ? "\033[0m" : "");
    }
}

static int caps_show(cli_ctx *ctx)
{
    char home[PATH_MAX], who[CLI_PRINCIPAL_MAX];
    astrid_err err;
    if (cli_home(home, sizeof home, &err) < 0 ||
        cli_target_agent(ctx->argc ? ctx->argv[0] : NULL, home, who, sizeof who, &err) < 0)
        return cli_fail(ctx, &err);
    astrid_client *c = NULL;
    json_t *s = NULL, *groups = NULL;
    if (cli_connect_auto(&c, &err) < 0 || !(s = cli_agent_summary(c, who, &err)) ||
        cli_admin_request(c, "group.list", "GroupList", NULL, &groups, &err) < 0) {
        astrid_client_close(c);
        json_decref(s);
        return cli_fail(ctx, &err);
    }
    astrid_client_close(c);
    json_t *revokes = json_object_get(s, "revokes"), *rows = json_array(), *v;
    size_t i;
    json_array_foreach(json_object_get(s, "grants"), i, v)
    {
        add_row(rows, json_string_value(v), "grant", NULL, revokes);
    }
    json_array_foreach(json_object_get(s, "groups"), i, v)
    {
        json_t *g = NULL, *x;
        size_t j;
        json_array_foreach(groups, j, x)
        {
            if (json_equal(json_object_get(x, "name"), v))
                g = x;
        }
        if (!g) {
            add_row(rows, "(unknown group)", "group", json_string_value(v), NULL);
            continue;
        }
        json_array_foreach(json_object_get(g, "capabilities"), j, x)
        {
            add_row(rows, json_string_value(x), "group", json_string_value(v), revokes);
        }
    }
    json_array_foreach(revokes, i, v)
    {
        add_row(rows, json_string_value(v), "revoke", NULL, NULL);
    }
    json_t *out = json_pack("{s:O,s:O,s:o}", "principal", json_object_get(s, "principal"),
                            "enabled", json_object_get(s, "enabled"), "capabilities", rows);
    json_decref(s);
    json_decref(groups);
    if (!ctx->format || strcmp(ctx->format, "pretty") == 0) {
        print_table(ctx, out);
        json_decref(out);
        return CLI_OK;
    }
    return cli_output(ctx, out);
}

static int change(cli_ctx *ctx, bool grant)
{
    const char *agent = ctx->argv[0];
    astrid_err err;
    if (grant && cli_flag_count(ctx, "group"))
        return cli_unavailable(ctx, "caps grant --group", "use group modify --add-caps");
    if (astrid_principal_validate(agent, &err) != 0)
        return cli_fail(ctx, &err);
    json_t *caps = json_array();
    for (int i = 1; i < ctx->argc; i++) {
        char why[256];
        if (astrid_cap_validate(ctx->argv[i], why, sizeof why) != 0) {
            fprintf(ctx->err, "astrid: invalid capability '%s': %s\n", ctx->argv[i], why);
            json_decref(caps);
            return CLI_ERROR;
        }
        if (grant && strcmp(ctx->argv[i], "*") == 0 && !cli_flag_count(ctx, "unsafe-admin")) {
            fprintf(ctx->err,
                    "astrid: granting '*' gives %s every capability; pass "
                    "--unsafe-admin to confirm\n",
                    agent);
            json_decref(caps);
            return CLI_ERROR;
        }
        json_array_append_new(caps, json_string(ctx->argv[i]));
    }
    json_t *params = json_pack("{s:s,s:o}", "principal", agent, "capabilities", caps), *d = NULL;
    if (grant)
        json_object_set_new(params, "unsafe_admin",
                            json_boolean(cli_flag_count(ctx, "unsafe-admin") > 0));
    int rc = cli_admin_call(ctx, grant ? "caps.grant" : "caps.revoke",
                            grant ? "CapsGrant" : "CapsRevoke", params, &d);
    json_decref(params);
    if (rc == CLI_OK) {
        json_t *done = json_object_get(d, grant ? "granted" : "revoked");
        fprintf(ctx->out, "%s %zu capabilit%s %s '%s'%s\n", grant ? "Granted" : "Revoked",
                json_array_size(done), json_array_size(done) == 1 ? "y" : "ies",
                grant ? "to" : "from", agent,
                json_array_size(done) < (size_t)(ctx->argc - 1) ? " (others already present)" : "");
    }
    json_decref(d);
    return rc;
}

static int caps_grant(cli_ctx *ctx)
{
    return change(ctx, true);
}

static int caps_revoke(cli_ctx *ctx)
{
    return change(ctx, false);
}

static int caps_check(cli_ctx *ctx)
{
    const char *agent = ctx->argv[0], *cap = ctx->argv[1];
    char home[PATH_MAX], path[PATH_MAX], why[256];
    astrid_err err;
    if (cli_home(home, sizeof home, &err) < 0 || astrid_principal_validate(agent, &err) != 0)
        return cli_fail(ctx, &err);
    if (astrid_cap_validate(cap, why, sizeof why) != 0) {
        fprintf(ctx->err, "astrid: invalid capability '%s': %s\n", cap, why);
        return CLI_ERROR;
    }
    if (astrid_profile_path(path, sizeof path, home, agent, &err) != 0)
        return cli_fail(ctx, &err);
    astrid_profile *p = astrid_profile_load(home, agent, &err);
    if (!p) {
        if (err.code == ASTRID_E_NOTFOUND)
            fprintf(ctx->err, "astrid: principal %s does not exist (no profile.toml at %s)\n",
                    agent, path);
        else
            cli_fail(ctx, &err);
        return CLI_ERROR;
    }
    if (astrid_home_groups_file(path, sizeof path, home, &err) != 0) {
        astrid_profile_release(p);
        return cli_fail(ctx, &err);
    }
    astrid_group_error gwhy;
    astrid_group_config *g = access(path, F_OK) == 0 ? astrid_groups_load(path, &gwhy, &err)
                                                     : astrid_groups_builtin(&err);
    if (!g) {
        astrid_profile_release(p);
        return cli_fail(ctx, &err);
    }
    astrid_cap_explain ex;
    astrid_cap_verdict v = astrid_capcheck_explain(p, g, cap, &ex);
    switch (v) {
    case ASTRID_CAP_ALLOWED:
        if (ex.source == ASTRID_CAP_SRC_GROUP)
            fprintf(ctx->out, "allowed: %s holds %s through group '%s' pattern '%s'\n", agent, cap,
                    ex.group, ex.pattern);
        else
            fprintf(ctx->out, "allowed: %s holds %s through grant '%s'\n", agent, cap, ex.pattern);
        break;
    case ASTRID_CAP_REVOKED:
        fprintf(ctx->out,
                "denied: %s is revoked for %s by pattern '%s' (revoke beats grant and "
                "group)\n",
                cap, agent, ex.pattern);
        break;
    case ASTRID_CAP_PRINCIPAL_DISABLED:
        fprintf(ctx->out, "denied: agent %s is disabled\n", agent);
        break;
    default:
        fprintf(ctx->out, "denied: %s does not hold %s (no grant or group matches)\n", agent, cap);
    }
    if (ex.unknown_groups)
        fprintf(ctx->err, "astrid: warning: %s names unknown group '%s'\n", agent,
                ex.first_unknown_group);
    astrid_groups_unref(g);
    astrid_profile_release(p);
    return v == ASTRID_CAP_ALLOWED ? CLI_OK : CLI_ERROR;
}

static const cli_cmd c_show = {.name = "show",
                               .args = "[agent]",
                               .min_args = 0,
                               .max_args = 1,
                               .help = "Show an agent's capabilities (default: the active one)",
                               .flags = CLI_FLAGS(CLI_F_FORMAT),
                               .fn = caps_show};
static const cli_cmd c_grant = {
    .name = "grant",
    .args = "<agent> <cap>...",
    .min_args = 2,
    .max_args = -1,
    .help = "Grant capabilities (a revoke still wins)",
    .flags = CLI_FLAGS({"unsafe-admin", 0, NULL, "Acknowledge granting '*'", false, false},
                       {"group", 'g', "GROUP", "Grant to a group", false, true}),
    .fn = caps_grant};
static const cli_cmd c_revoke = {.name = "revoke",
                                 .args = "<agent> <cap>...",
                                 .min_args = 2,
                                 .max_args = -1,
                                 .help = "Revoke capabilities",
                                 .fn = caps_revoke};
static const cli_cmd c_check = {
    .name = "check",
    .args = "<agent> <cap>",
    .min_args = 2,
    .max_args = 2,
    .help = "Exit 0 when the agent holds the capability, 1 when not (says why)",
    .fn = caps_check};
const cli_cmd cli_cmd_caps = {.name = "caps",
                              .help = "Inspect and change capabilities",
                              .sub = CLI_SUB(&c_show, &c_grant, &c_revoke, &c_check)};
