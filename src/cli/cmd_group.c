/* `astrid group ...` — capability groups (reference §7.3, §10.2). */
#include "cli/cli_stub.h"

CLI_STUB(g_create, "create", "<name>", 1, 1, "Create a capability group",
         CLI_FLAGS({"caps", 0, "CAPS", "Comma-separated capabilities", false, false},
                   {"description", 0, "TEXT", "Description", false, false},
                   {"unsafe-admin", 0, NULL, "Allow the universal '*' capability", false, false}),
         MISSING_ADMIN("group.create"));
CLI_STUB(g_show, "show", "<name>", 1, 1, "Show a group", CLI_FLAGS(CLI_F_FORMAT),
         MISSING_ADMIN("group.list"));
CLI_STUB(g_list, "list", NULL, 0, 0, "List groups", CLI_FLAGS(CLI_F_FORMAT),
         MISSING_ADMIN("group.list"));
CLI_STUB(g_delete, "delete", "<name>", 1, 1, "Delete a group", NULL,
         MISSING_ADMIN("group.delete"));
CLI_STUB(g_modify, "modify", "<name>", 1, 1, "Modify a group",
         CLI_FLAGS({"add-caps", 0, "CAPS", "Capabilities to add", true, false},
                   {"remove-caps", 0, "CAPS", "Capabilities to remove", true, false},
                   {"description", 0, "TEXT", "New description", false, false},
                   {"rename", 0, "NAME", "New name", false, true}),
         MISSING_ADMIN("group.modify"));

const cli_cmd cli_cmd_group = {.name = "group", .help = "Manage capability groups",
                               .sub = CLI_SUB(&g_create, &g_show, &g_list, &g_delete, &g_modify)};
