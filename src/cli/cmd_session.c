/* `astrid session ...` — legacy per-session dirs under run/ (reference §14.1). */
#include "cli/cli_stub.h"

#define MISSING_SESSION "needs session tracking in the daemon (run/<uuid>/)"

CLI_STUB(se_list, "list", NULL, 0, 0, "List sessions", CLI_FLAGS(CLI_F_FORMAT), MISSING_SESSION);
CLI_STUB(se_delete, "delete", "<id>", 1, 1, "Delete a session", NULL, MISSING_SESSION);
static const cli_cmd se_show = {.name = "show",
                                .aliases = CLI_ALIASES("info"),
                                .args = "<id>",
                                .min_args = 1,
                                .max_args = 1,
                                .help = "Show a session",
                                .flags = CLI_FLAGS(CLI_F_FORMAT),
                                .missing = MISSING_SESSION};

const cli_cmd cli_cmd_session = {.name = "session",
                                 .help = "Manage chat sessions",
                                 .sub = CLI_SUB(&se_list, &se_delete, &se_show)};
