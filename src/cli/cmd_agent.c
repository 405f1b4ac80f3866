/* `astrid agent ...` — principals. switch/current are local (the context
 * file); the rest go through the Admin API. */
#include <limits.h>
#include <sys/stat.h>

#include "astrid/home.h"
#include "cli/cli_stub.h"
#include "cli/context.h"

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
        fprintf(ctx->err, "astrid: warning: no profile for '%s' (%s); requests will be denied "
                          "until 'astrid agent create %s'\n", name, prof, name);
    fprintf(ctx->out, "Switched to agent '%s'\n", name);
    return CLI_OK;
}

static int agent_current(cli_ctx *ctx)
{
    char home[PATH_MAX], p[CLI_PRINCIPAL_MAX];
    astrid_err err;
    if (cli_home(home, sizeof home, &err) < 0 ||
        cli_context_active(home, p, sizeof p, &err) < 0)
        return cli_fail(ctx, &err);
    fprintf(ctx->out, "%s\n", p);
    return CLI_OK;
}

static const cli_cmd a_create = {
    .name = "create", .args = "<name>", .min_args = 1, .max_args = 1, .help = "Create an agent",
    .flags = CLI_FLAGS({"distro", 'd', "NAME", "Distro to apply (default astralis)", false, false},
                       {"bare", 0, NULL, "Do not apply a distro", false, false},
                       {"group", 0, "GROUP", "Group (default agent)", true, false},
                       {"egress", 0, "DOMAINS", "Allowed egress domains", false, false},
                       {"process-allow", 0, "CMDS", "Allowed commands", false, false},
                       {"link", 0, "PLATFORM:ID", "Identity link", false, false},
                       {"memory", 0, "SIZE", "Memory quota", false, false},
                       {"timeout", 0, "DUR", "Timeout quota", false, false},
                       {"storage", 0, "SIZE", "Storage quota", false, false},
                       {"processes", 0, "N", "Process quota", false, false}, CLI_F_YES,
                       {"spawned-by", 0, "AGENT", "", false, true},
                       {"budget-voucher", 0, "ID", "", false, true},
                       {"grant-access", 0, "AGENT", "", true, true},
                       {"expires", 0, "DUR", "", false, true}, {"budget", 0, "AMT", "", false, true},
                       {"period", 0, "DUR", "", false, true}),
    .missing = MISSING_ADMIN("agent.create")};
static const cli_cmd a_list = {
    .name = "list", .max_args = 0, .help = "List agents",
    .flags = CLI_FLAGS({"group", 0, "GROUP", "Only members of GROUP", false, false}, CLI_F_FORMAT,
                       {"remote", 0, NULL, "", false, true}, {"tree", 0, NULL, "", false, true}),
    .missing = MISSING_ADMIN("agent.list")};
static const cli_cmd a_current = {.name = "current", .max_args = 0,
                                  .help = "Print the active agent", .fn = agent_current};
static const cli_cmd a_switch = {.name = "switch", .args = "<name>", .min_args = 1, .max_args = 1,
                                 .help = "Make NAME the active agent (run/cli-context.toml)",
                                 .fn = agent_switch};
CLI_STUB(a_show, "show", "[name]", 0, 1, "Show an agent", CLI_FLAGS(CLI_F_FORMAT),
         MISSING_ADMIN("agent.list"));
CLI_STUB(a_delete, "delete", "<name>", 1, 1, "Delete an agent", CLI_FLAGS(CLI_F_YES),
         MISSING_ADMIN("agent.delete"));
CLI_STUB(a_enable, "enable", "<name>", 1, 1, "Enable an agent", NULL,
         MISSING_ADMIN("agent.enable"));
CLI_STUB(a_disable, "disable", "<name>", 1, 1, "Disable an agent", NULL,
         MISSING_ADMIN("agent.disable"));
CLI_STUB(a_modify, "modify", "<name>", 1, 1, "Change an agent's groups",
         CLI_FLAGS({"add-group", 0, "GROUP", "Group to add", true, false},
                   {"remove-group", 0, "GROUP", "Group to remove", true, false},
                   {"rename", 0, "NAME", "", false, true}, {"egress", 0, "D", "", false, true},
                   {"process-allow", 0, "C", "", false, true}),
         MISSING_ADMIN("agent.modify"));
CLI_STUB(a_link, "link", "<name> <platform:id>", 2, 2, "Link a platform identity", NULL,
         MISSING_ADMIN("agent.link"));
CLI_STUB(a_unlink, "unlink", "<name> <platform:id>", 2, 2, "Unlink a platform identity", NULL,
         MISSING_ADMIN("agent.link"));
#define DEFERRED "deferred upstream: https://github.com/unicity-astrid/astrid/issues/658"
CLI_STUB(a_discover, "discover", NULL, 0, -1, "Discover remote agents", NULL, DEFERRED);
CLI_STUB(a_add, "add", NULL, 0, -1, "Add a remote agent", NULL, DEFERRED);
CLI_STUB(a_card, "card", NULL, 0, -1, "Print the agent card", NULL, DEFERRED);
CLI_STUB(a_export, "export", NULL, 0, -1, "Export an agent", NULL, DEFERRED);
CLI_STUB(a_import, "import", NULL, 0, -1, "Import an agent", NULL, DEFERRED);
CLI_STUB(a_delegate, "delegate", NULL, 0, -1, "Delegate to a sub-agent", NULL,
         "deferred upstream: https://github.com/unicity-astrid/astrid/issues/656");

const cli_cmd cli_cmd_agent = {
    .name = "agent", .help = "Manage agents (principals)",
    .sub = CLI_SUB(&a_create, &a_list, &a_current, &a_switch, &a_show, &a_delete, &a_enable,
                   &a_disable, &a_modify, &a_link, &a_unlink, &a_discover, &a_add, &a_card,
                   &a_export, &a_import, &a_delegate)};
