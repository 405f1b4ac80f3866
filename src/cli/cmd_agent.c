/* `astrid agent ...` — principals. switch/current are local (the context
 * file); the rest go through the Admin API. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "astrid/caps.h"
#include "astrid/home.h"
#include "astrid/quota.h"
#include "cli/admin.h"
#include "cli/cli_stub.h"
#include "cli/output/output.h"
#include "cli/context.h"
#include "cli/distro.h"

static int agent_switch(cli_ctx *ctx)
{
    char home[PATH_MAX], prof[PATH_MAX];
    struct stat st;
    astrid_err err;
    const char *name = ctx->argv[0];
    if (cli_home(home, sizeof home, &err) < 0 ||
        astrid_profile_path(prof, sizeof prof, home, name, &err) < 0 ||
        cli_context_set(home, name, &err) < 0)
        return cli_fail(ctx, &err);
    if (stat(prof, &st) < 0)
        fprintf(ctx->err,
                "astrid: warning: no profile for '%s' (%s); requests will be denied "
                "until 'astrid agent create %s'\n",
                name, prof, name);
    fprintf(ctx->out, "Switched to agent '%s'\n", name);
    return CLI_OK;
}

static int agent_current(cli_ctx *ctx)
{
    char home[PATH_MAX], p[CLI_PRINCIPAL_MAX];
    astrid_err err;
    if (cli_home(home, sizeof home, &err) < 0 || cli_context_active(home, p, sizeof p, &err) < 0)
        return cli_fail(ctx, &err);
    fprintf(ctx->out, "%s\n", p);
    return CLI_OK;
}

/* Quota flags shared by `agent create` and `quota set`: each one given
 * overrides the matching field of `q` (a quotas object). Validated here,
 * before any request. */
int cli_quota_flags(cli_ctx *ctx, json_t *q, bool *any, astrid_err *err)
{
    static const struct {
        const char *flag, *key;
        int kind; /* 0 size, 1 duration, 2 count, 3 rate */
    } map[] = {{"memory", "max_memory_bytes", 0},
               {"timeout", "max_timeout_secs", 1},
               {"storage", "max_storage_bytes", 0},
               {"processes", "max_background_processes", 2},
               {"ipc-rate", "max_ipc_throughput_bytes", 3}};
    *any = false;
    for (size_t i = 0; i < sizeof map / sizeof *map; i++) {
        const cli_val *v = NULL;
        for (const cli_flag *f = ctx->cmd->flags; f && f->name; f++)
            if (strcmp(f->name, map[i].flag) == 0)
                v = cli_flag_vals(ctx, map[i].flag);
        if (!v || v->count == 0)
            continue;
        const char *s = v->v[v->count - 1];
        uint64_t n = 0;
        char buf[64];
        switch (map[i].kind) {
        case 0:
            if (astrid_size_parse(s, &n, err) < 0)
                return -1;
            if (n == 0)
                return astrid_err_set(err, ASTRID_E_INVALID, "--%s must be > 0", map[i].flag);
            break;
        case 1:
            if (astrid_duration_parse(s, &n, err) < 0)
                return -1;
            if (n % 1000 != 0 || n / 1000 < 1 || n / 1000 > 86400)
                return astrid_err_set(err, ASTRID_E_INVALID,
                                      "--timeout must be whole seconds in 1s..24h (got '%s')", s);
            n /= 1000;
            break;
        case 2: {
            char *end = NULL;
            unsigned long long x = strtoull(s, &end, 10);
            if (!*s || *end || s[0] == '-' || x > 256)
                return astrid_err_set(err, ASTRID_E_INVALID,
                                      "--%s must be an integer in 0..256 (got '%s')", map[i].flag,
                                      s);
            n = x;
            break;
        }
        default: { /* "10MiB" or "10MiB/s" */
            snprintf(buf, sizeof buf, "%s", s);
            size_t l = strlen(buf);
            if (l > 2 && strcmp(buf + l - 2, "/s") == 0)
                buf[l - 2] = '\0';
            if (astrid_size_parse(buf, &n, err) < 0)
                return -1;
            if (n == 0)
                return astrid_err_set(err, ASTRID_E_INVALID, "--ipc-rate must be > 0");
        }
        }
        json_object_set_new(q, map[i].key, json_integer((json_int_t)n));
        *any = true;
    }
    return 0;
}

static json_t *default_quotas(void)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:I}", "max_memory_bytes",
                     (json_int_t)ASTRID_QUOTA_DEFAULT_MEMORY, "max_timeout_secs",
                     (json_int_t)ASTRID_QUOTA_DEFAULT_TIMEOUT, "max_ipc_throughput_bytes",
                     (json_int_t)ASTRID_QUOTA_DEFAULT_IPC, "max_background_processes",
                     (json_int_t)ASTRID_QUOTA_DEFAULT_BG_PROCS, "max_storage_bytes",
                     (json_int_t)ASTRID_QUOTA_DEFAULT_STORAGE);
}

/* --egress / --process-allow labels become capability grants. */
static int label_grants(json_t *grants, const cli_val *vals, const char *flag, const char *prefix,
                        astrid_err *err)
{
    json_t *labels = json_array();
    int rc = cli_csv_append(labels, vals, flag, err);
    size_t i;
    json_t *v;
    json_array_foreach(labels, i, v)
    {
        if (rc < 0)
            break;
        char cap[300], why[256];
        snprintf(cap, sizeof cap, "%s%s", prefix, json_string_value(v));
        if (astrid_cap_validate(cap, why, sizeof why) != 0 || strchr(json_string_value(v), '*'))
            rc = astrid_err_set(err, ASTRID_E_INVALID, "--%s: '%s' is not a valid label (%s)", flag,
                                json_string_value(v),
                                strchr(json_string_value(v), '*') ? "wildcards not allowed" : why);
        else
            json_array_append_new(grants, json_string(cap));
    }
    json_decref(labels);
    return rc;
}

static int agent_create(cli_ctx *ctx)
{
    const char *name = ctx->argv[0];
    const char *distro = cli_flag_str(ctx, "distro");
    astrid_err err;
    bool bare = cli_flag_count(ctx, "bare") > 0;
    if (bare && distro) {
        fprintf(ctx->err, "astrid: --bare and --distro exclude each other\n");
        return CLI_ERROR;
    }
    if (distro && cli_distro_check(distro, &err) < 0)
        return cli_fail(ctx, &err);
    if (cli_flag_count(ctx, "link"))
        return cli_unavailable(ctx, "agent create --link", "needs agent link (identity linking)");
    /* Upstream's hidden, deferred flags: refused, never silently dropped. */
    static const char *const deferred[][2] = {{"spawned-by", "656"}, {"grant-access", "656"},
                                              {"expires", "656"},    {"budget-voucher", "656"},
                                              {"budget", "653"},     {"period", "653"}};
    for (size_t i = 0; i < sizeof deferred / sizeof *deferred; i++)
        if (cli_flag_count(ctx, deferred[i][0])) {
            char feature[64], missing[96];
            snprintf(feature, sizeof feature, "agent create --%s", deferred[i][0]);
            snprintf(missing, sizeof missing,
                     "deferred upstream: https://github.com/unicity-astrid/astrid/issues/%s",
                     deferred[i][1]);
            return cli_unavailable(ctx, feature, missing);
        }
    if (astrid_principal_validate(name, &err) != 0)
        return cli_fail(ctx, &err);
    json_t *groups = json_array(), *grants = json_array(), *quotas = default_quotas();
    bool any_quota = false;
    int rc = CLI_OK;
    if (cli_csv_append(groups, cli_flag_vals(ctx, "group"), "group", &err) < 0 ||
        label_grants(grants, cli_flag_vals(ctx, "egress"), "egress", "network:egress:", &err) < 0 ||
        label_grants(grants, cli_flag_vals(ctx, "process-allow"), "process-allow",
                     "process:spawn:", &err) < 0 ||
        cli_quota_flags(ctx, quotas, &any_quota, &err) < 0)
        rc = cli_fail(ctx, &err);
    astrid_client *c = NULL;
    json_t *data = NULL, *qd = NULL;
    if (rc == CLI_OK && cli_connect_auto(&c, &err) < 0)
        rc = cli_fail(ctx, &err);
    if (rc == CLI_OK) {
        json_t *params =
            json_pack("{s:s,s:O,s:O}", "name", name, "groups", groups, "grants", grants);
        if (cli_admin_request(c, "agent.create", "AgentCreate", params, &data, &err) < 0)
            rc = cli_fail(ctx, &err);
        json_decref(params);
    }
    if (rc == CLI_OK && any_quota) {
        json_t *params = json_pack("{s:s,s:O}", "principal", name, "quotas", quotas);
        if (cli_admin_request(c, "quota.set", "QuotaSet", params, &qd, &err) < 0) {
            fprintf(ctx->err,
                    "astrid: agent '%s' was created, but its quotas were not set: ", name);
            rc = cli_fail(ctx, &err);
        }
        json_decref(params);
    }
    if (rc == CLI_OK) {
        fprintf(ctx->out, "Created agent '%s' (user %s)\n", name,
                json_string_value(json_object_get(data, "astrid_user_id")) ?: "?");
        if (json_array_size(groups))
            fprintf(ctx->out, "  groups: %zu, grants: %zu%s\n", json_array_size(groups),
                    json_array_size(grants), any_quota ? ", quotas set" : "");
        size_t i;
        json_t *w;
        json_array_foreach(json_object_get(data, "warnings"), i, w)
        {
            fprintf(ctx->err, "astrid: warning: %s\n", json_string_value(w));
        }
        if (!distro && !bare)
            fprintf(ctx->out, "  note: no distro applied (--distro NAME applies one); the agent "
                              "starts from default's capsule configuration\n");
    }
    if (rc == CLI_OK && distro) {
        astrid_client_close(c);
        c = NULL;
        cli_distro_opts o = {.spec = distro, .agent = name, .yes = true};
        rc = cli_distro_apply(ctx, &o);
    }
    astrid_client_close(c);
    json_decref(data);
    json_decref(qd);
    json_decref(groups);
    json_decref(grants);
    json_decref(quotas);
    return rc;
}

static int agent_list(cli_ctx *ctx)
{
    if (cli_flag_count(ctx, "remote"))
        return cli_unavailable(ctx, "agent list --remote",
                               "remote agents are deferred upstream: "
                               "https://github.com/unicity-astrid/astrid/issues/658");
    if (cli_flag_count(ctx, "tree"))
        return cli_unavailable(ctx, "agent list --tree",
                               "the delegation tree is deferred upstream: "
                               "https://github.com/unicity-astrid/astrid/issues/656");
    json_t *list = NULL;
    int rc = cli_admin_call(ctx, "agent.list", "AgentList", NULL, &list);
    if (rc != CLI_OK)
        return rc;
    const char *group = cli_flag_str(ctx, "group");
    cli_format fmt = CLI_FMT_PRETTY;
    cli_format_parse(ctx->format, &fmt);
    json_t *out = json_array(), *broken = json_array(), *v;
    size_t i;
    json_array_foreach(list, i, v)
    {
        /* A profile that does not load: its groups are unknown, so it is
         * shown under any --group filter rather than hidden. */
        json_t *error = json_object_get(v, "error");
        if (error) {
            if (fmt == CLI_FMT_PRETTY) {
                json_array_append_new(out, json_pack("{s:O,s:n,s:n}", "principal",
                                                     json_object_get(v, "principal"), "enabled",
                                                     "groups"));
                json_array_append(broken, v);
            } else {
                json_array_append_new(out,
                                      json_pack("{s:O,s:O}", "principal",
                                                json_object_get(v, "principal"), "error", error));
            }
            continue;
        }
        bool keep = !group;
        size_t j;
        json_t *g;
        json_array_foreach(json_object_get(v, "groups"), j, g)
        {
            keep = keep || strcmp(json_string_value(g), group) == 0;
        }
        if (keep)
            json_array_append_new(out, json_pack("{s:O,s:O,s:O}", "principal",
                                                 json_object_get(v, "principal"), "enabled",
                                                 json_object_get(v, "enabled"), "groups",
                                                 json_object_get(v, "groups")));
    }
    json_decref(list);
    rc = cli_output(ctx, out);
    /* Below the table, so every other row renders exactly as without it. */
    if (rc == CLI_OK && json_array_size(broken) > 0) {
        fputc('\n', ctx->out);
        json_array_foreach(broken, i, v)
        {
            fprintf(ctx->out, "%s: error: %s\n", json_string_value(json_object_get(v, "principal")),
                    json_string_value(json_object_get(v, "error")));
        }
    }
    json_decref(broken);
    return rc;
}

static int agent_show(cli_ctx *ctx)
{
    char home[PATH_MAX], who[CLI_PRINCIPAL_MAX];
    astrid_err err;
    if (cli_home(home, sizeof home, &err) < 0 ||
        cli_target_agent(ctx->argc ? ctx->argv[0] : NULL, home, who, sizeof who, &err) < 0)
        return cli_fail(ctx, &err);
    astrid_client *c = NULL;
    if (cli_connect_auto(&c, &err) < 0)
        return cli_fail(ctx, &err);
    json_t *s = cli_agent_summary(c, who, &err);
    astrid_client_close(c);
    if (!s)
        return cli_fail(ctx, &err);
    /* egress/process allow-list: the profile's lists plus the labels of
     * network:egress:* / process:spawn:* grants. Each entry's origin goes
     * alongside (an entry from a grant is not in the profile's own list). */
    json_t *egress = json_array(), *procs = json_array();
    json_t *esrc = json_array(), *psrc = json_array();
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(s, "network_egress"), i, g)
    {
        json_array_append(egress, g);
        json_array_append_new(esrc, json_string("profile"));
    }
    json_array_foreach(json_object_get(s, "process_allow"), i, g)
    {
        json_array_append(procs, g);
        json_array_append_new(psrc, json_string("profile"));
    }
    json_array_foreach(json_object_get(s, "grants"), i, g)
    {
        const char *cap = json_string_value(g);
        bool net = strncmp(cap, "network:egress:", 15) == 0;
        if (!net && strncmp(cap, "process:spawn:", 14) != 0)
            continue;
        json_array_append_new(net ? egress : procs, json_string(cap + (net ? 15 : 14)));
        json_array_append_new(net ? esrc : psrc, json_sprintf("grant %s", cap));
    }
    bool pretty = !ctx->format || strcmp(ctx->format, "pretty") == 0;
    if (pretty) { /* "openai (grant network:egress:openai)", "git (profile)" */
        json_t *lists[] = {egress, procs}, *srcs[] = {esrc, psrc};
        for (size_t l = 0; l < 2; l++)
            json_array_foreach(lists[l], i, g)
            {
                json_array_set_new(lists[l], i,
                                   json_sprintf("%s (%s)", json_string_value(g),
                                                json_string_value(json_array_get(srcs[l], i))));
            }
    }
    json_object_set_new(s, "egress", egress);
    json_object_set_new(s, "process_allow_list", procs);
    json_object_del(s, "network_egress");
    json_object_del(s, "process_allow");
    if (pretty) {
        json_decref(esrc);
        json_decref(psrc);
    } else { /* parallel to egress / process_allow_list */
        json_object_set_new(s, "sources",
                            json_pack("{s:o,s:o}", "egress", esrc, "process_allow_list", psrc));
    }
    return cli_output(ctx, s);
}

static int one_principal(cli_ctx *ctx, const char *suffix, const char *method, json_t **data)
{
    json_t *params = json_pack("{s:s}", "principal", ctx->argv[0]);
    int rc = cli_admin_call(ctx, suffix, method, params, data);
    json_decref(params);
    return rc;
}

static int agent_delete(cli_ctx *ctx)
{
    const char *name = ctx->argv[0];
    if (!cli_flag_count(ctx, "yes")) {
        if (!isatty(STDIN_FILENO)) {
            fprintf(ctx->err,
                    "astrid: refusing to delete agent '%s' without confirmation "
                    "(pass -y)\n",
                    name);
            return CLI_ERROR;
        }
        fprintf(ctx->err,
                "Delete agent '%s'? Its profile and identity link go; its home "
                "stays on disk. [y/N] ",
                name);
        char line[16] = "";
        if (!fgets(line, sizeof line, stdin) || (line[0] != 'y' && line[0] != 'Y')) {
            fprintf(ctx->err, "aborted\n");
            return CLI_ERROR;
        }
    }
    json_t *d = NULL;
    int rc = one_principal(ctx, "agent.delete", "AgentDelete", &d);
    if (rc == CLI_OK)
        fprintf(ctx->out, "Deleted agent '%s' (home/%s left on disk)\n", name, name);
    json_decref(d);
    return rc;
}

static int set_enabled(cli_ctx *ctx, bool enable)
{
    json_t *d = NULL;
    int rc = one_principal(ctx, enable ? "agent.enable" : "agent.disable",
                           enable ? "AgentEnable" : "AgentDisable", &d);
    if (rc == CLI_OK)
        fprintf(ctx->out,
                json_is_true(json_object_get(d, "changed"))
                    ? "Agent '%s' %s\n"
                    : "Agent '%s' was already %s (no change)\n",
                ctx->argv[0], enable ? "enabled" : "disabled");
    json_decref(d);
    return rc;
}

static int agent_enable(cli_ctx *ctx)
{
    return set_enabled(ctx, true);
}

static int agent_disable(cli_ctx *ctx)
{
    return set_enabled(ctx, false);
}

static int agent_modify(cli_ctx *ctx)
{
    astrid_err err;
    if (cli_flag_count(ctx, "rename") || cli_flag_count(ctx, "egress") ||
        cli_flag_count(ctx, "process-allow"))
        return cli_unavailable(ctx, "agent modify --rename/--egress/--process-allow",
                               "use caps grant/revoke for egress and process grants");
    json_t *add = json_array(), *rem = json_array();
    int rc = CLI_OK;
    if (cli_csv_append(add, cli_flag_vals(ctx, "add-group"), "add-group", &err) < 0 ||
        cli_csv_append(rem, cli_flag_vals(ctx, "remove-group"), "remove-group", &err) < 0)
        rc = cli_fail(ctx, &err);
    else if (!json_array_size(add) && !json_array_size(rem)) {
        fprintf(ctx->err, "astrid: agent modify needs --add-group or --remove-group\n");
        rc = CLI_ERROR;
    }
    json_t *d = NULL;
    if (rc == CLI_OK) {
        json_t *params = json_pack("{s:s,s:O,s:O}", "principal", ctx->argv[0], "add_groups", add,
                                   "remove_groups", rem);
        rc = cli_admin_call(ctx, "agent.modify", "AgentModify", params, &d);
        json_decref(params);
    }
    if (rc == CLI_OK) {
        char *groups = json_dumps(json_object_get(d, "groups"), JSON_COMPACT);
        fprintf(ctx->out,
                json_is_true(json_object_get(d, "changed")) ? "Agent '%s' groups: %s\n"
                                                            : "Agent '%s' unchanged (groups: %s)\n",
                ctx->argv[0], groups ? groups : "?");
        free(groups);
    }
    json_decref(d);
    json_decref(add);
    json_decref(rem);
    return rc;
}

static const cli_cmd a_create = {
    .name = "create",
    .args = "<name>",
    .min_args = 1,
    .max_args = 1,
    .help = "Create an agent",
    .long_help = "Creates the profile, identity and home of a new agent in one admin request; "
                 "--egress/--process-allow labels become network:egress:<label> / "
                 "process:spawn:<cmd> grants, and the quota flags land in one quota.set.",
    .flags = CLI_FLAGS(
        {"distro", 'd', "NAME", "Distro to apply (default astralis)", false, false},
        {"bare", 0, NULL, "Do not apply a distro", false, false},
        {"group", 0, "GROUP", "Group (default agent); repeat or comma-separate", true, false},
        {"egress", 0, "LABELS", "Allowed egress labels, comma-separated", true, false},
        {"process-allow", 0, "CMDS", "Allowed commands, comma-separated", true, false},
        {"link", 0, "PLATFORM:ID", "Identity link", false, false},
        {"memory", 0, "SIZE", "Memory quota (e.g. 32M)", false, false},
        {"timeout", 0, "DUR", "Invocation timeout (e.g. 60s)", false, false},
        {"storage", 0, "SIZE", "Storage quota (e.g. 512M)", false, false},
        {"processes", 0, "N", "Background processes (0..256)", false, false}, CLI_F_YES,
        {"spawned-by", 0, "AGENT", "", false, true}, {"budget-voucher", 0, "ID", "", false, true},
        {"grant-access", 0, "AGENT", "", true, true}, {"expires", 0, "DUR", "", false, true},
        {"budget", 0, "AMT", "", false, true}, {"period", 0, "DUR", "", false, true}),
    .fn = agent_create};
static const cli_cmd a_list = {
    .name = "list",
    .max_args = 0,
    .help = "List agents",
    .flags = CLI_FLAGS({"group", 0, "GROUP", "Only members of GROUP", false, false}, CLI_F_FORMAT,
                       {"remote", 0, NULL, "", false, true}, {"tree", 0, NULL, "", false, true}),
    .fn = agent_list};
static const cli_cmd a_current = {
    .name = "current", .max_args = 0, .help = "Print the active agent", .fn = agent_current};
static const cli_cmd a_switch = {.name = "switch",
                                 .args = "<name>",
                                 .min_args = 1,
                                 .max_args = 1,
                                 .help = "Make NAME the active agent (run/cli-context.toml)",
                                 .fn = agent_switch};
static const cli_cmd a_show = {.name = "show",
                               .args = "[name]",
                               .min_args = 0,
                               .max_args = 1,
                               .help = "Show an agent's whole profile (default: the active one)",
                               .flags = CLI_FLAGS(CLI_F_FORMAT),
                               .fn = agent_show};
static const cli_cmd a_delete = {.name = "delete",
                                 .args = "<name>",
                                 .min_args = 1,
                                 .max_args = 1,
                                 .help = "Delete an agent (its home stays)",
                                 .flags = CLI_FLAGS(CLI_F_YES),
                                 .fn = agent_delete};
static const cli_cmd a_enable = {.name = "enable",
                                 .args = "<name>",
                                 .min_args = 1,
                                 .max_args = 1,
                                 .help = "Enable an agent",
                                 .fn = agent_enable};
static const cli_cmd a_disable = {.name = "disable",
                                  .args = "<name>",
                                  .min_args = 1,
                                  .max_args = 1,
                                  .help = "Disable an agent (every request denied)",
                                  .fn = agent_disable};
static const cli_cmd a_modify = {
    .name = "modify",
    .args = "<name>",
    .min_args = 1,
    .max_args = 1,
    .help = "Change an agent's groups",
    .flags = CLI_FLAGS({"add-group", 0, "GROUP", "Group to add", true, false},
                       {"remove-group", 0, "GROUP", "Group to remove", true, false},
                       {"rename", 0, "NAME", "", false, true}, {"egress", 0, "D", "", false, true},
                       {"process-allow", 0, "C", "", false, true}),
    .fn = agent_modify};
CLI_STUB(a_link, "link", "<name> <platform:id>", 2, 2, "Link a platform identity", NULL,
         "needs identity linking (astrid.v1.admin.agent.link, not built yet)");
CLI_STUB(a_unlink, "unlink", "<name> <platform:id>", 2, 2, "Unlink a platform identity", NULL,
         "needs identity linking (astrid.v1.admin.agent.link, not built yet)");
#define DEFERRED "deferred upstream: https://github.com/unicity-astrid/astrid/issues/658"
CLI_STUB(a_discover, "discover", NULL, 0, -1, "Discover remote agents", NULL, DEFERRED);
CLI_STUB(a_add, "add", NULL, 0, -1, "Add a remote agent", NULL, DEFERRED);
CLI_STUB(a_card, "card", NULL, 0, -1, "Print the agent card", NULL, DEFERRED);
CLI_STUB(a_export, "export", NULL, 0, -1, "Export an agent", NULL, DEFERRED);
CLI_STUB(a_import, "import", NULL, 0, -1, "Import an agent", NULL, DEFERRED);
CLI_STUB(a_delegate, "delegate", NULL, 0, -1, "Delegate to a sub-agent", NULL,
         "deferred upstream: https://github.com/unicity-astrid/astrid/issues/656");

extern const cli_cmd cli_agent_key; /* cmd_agent_key.c */
const cli_cmd cli_cmd_agent = {.name = "agent",
                               .help = "Manage agents (principals)",
                               .sub = CLI_SUB(&a_create, &a_list, &a_current, &a_switch, &a_show,
                                              &a_delete, &a_enable, &a_disable, &a_modify, &a_link,
                                              &a_unlink, &a_discover, &a_add, &a_card, &a_export,
                                              &a_import, &a_delegate, &cli_agent_key)};
