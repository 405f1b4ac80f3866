/* `astrid caps ...` — direct grants and revokes (reference §7.6, §10.2). */
#include "cli/cli_stub.h"

CLI_STUB(c_show, "show", "[agent]", 0, 1, "Show an agent's capabilities", CLI_FLAGS(CLI_F_FORMAT),
         MISSING_ADMIN("agent.list"));
CLI_STUB(c_grant, "grant", "<agent> <cap>", 2, 2, "Grant a capability",
         CLI_FLAGS({"unsafe-admin", 0, NULL, "Acknowledge granting '*'", false, false},
                   {"group", 'g', "GROUP", "Grant to a group", false, true}),
         MISSING_ADMIN("caps.grant"));
CLI_STUB(c_revoke, "revoke", "<agent> <cap>", 2, 2, "Revoke a capability", NULL,
         MISSING_ADMIN("caps.revoke"));
CLI_STUB(c_check, "check", "<agent> <cap>", 2, 2, "Exit 0 when the agent holds the capability",
         NULL, MISSING_ADMIN("agent.list and group.list"));

const cli_cmd cli_cmd_caps = {.name = "caps", .help = "Inspect and change capabilities",
                              .sub = CLI_SUB(&c_show, &c_grant, &c_revoke, &c_check)};
