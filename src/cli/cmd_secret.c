/* `astrid secret ...` — capsule secrets and env values (reference §11.3). */
#include "cli/cli_stub.h"

#define MISSING_SECRET "needs the secret store wired to the CLI (src/store/secrets.c via admin IPC)"

CLI_STUB(s_set, "set", "<KEY> <VALUE>", 2, 2, "Set a secret or env value",
         CLI_FLAGS(CLI_F_AGENT, {"capsule", 0, "NAME", "Capsule the key belongs to", false, false},
                   {"scope", 0, "SCOPE", "agent|shared (needs --capsule)", false, false}),
         MISSING_SECRET);
CLI_STUB(s_list, "list", NULL, 0, 0, "List secret keys", CLI_FLAGS(CLI_F_AGENT, CLI_F_FORMAT),
         MISSING_SECRET);
CLI_STUB(s_delete, "delete", "<KEY>", 1, 1, "Delete a secret",
         CLI_FLAGS(CLI_F_AGENT, {"capsule", 0, "NAME", "Capsule the key belongs to", false, false}),
         MISSING_SECRET);

const cli_cmd cli_cmd_secret = {
    .name = "secret", .help = "Manage capsule secrets", .sub = CLI_SUB(&s_set, &s_list, &s_delete)};
