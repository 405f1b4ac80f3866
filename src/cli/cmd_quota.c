/* `astrid quota ...` — per-agent resource quotas (reference §7.2, §10.2). */
#include "cli/cli_stub.h"

CLI_STUB(q_show, "show", NULL, 0, 0, "Show an agent's quotas",
         CLI_FLAGS(CLI_F_AGENT, CLI_F_FORMAT), MISSING_ADMIN("quota.get"));
CLI_STUB(q_set, "set", NULL, 0, 0, "Set an agent's quotas",
         CLI_FLAGS(CLI_F_AGENT, {"memory", 0, "SIZE", "Memory limit (e.g. 64MiB)", false, false},
                   {"timeout", 0, "DUR", "Invocation timeout (e.g. 30s)", false, false},
                   {"storage", 0, "SIZE", "Storage limit", false, false},
                   {"processes", 0, "N", "Background processes", false, false},
                   {"ipc-rate", 0, "RATE", "IPC throughput", false, false},
                   {"group", 'g', "GROUP", "Group quota", false, true},
                   {"streams", 0, "N", "HTTP streams", false, true}),
         MISSING_ADMIN("quota.set"));

const cli_cmd cli_cmd_quota = {.name = "quota", .help = "Show and set resource quotas",
                               .sub = CLI_SUB(&q_show, &q_set)};
