/* `astrid audit verify|show`: offline readers of the signed audit chain. */
#include "cli/cli_stub.h"

#define MISSING_AUDIT "needs the audit log reader (src/kernel/audit.h)"

CLI_STUB(au_verify, "verify", NULL, 0, 0, "Verify the audit chain's hashes and signatures",
         CLI_FLAGS(CLI_F_AGENT), MISSING_AUDIT);
CLI_STUB(au_show, "show", NULL, 0, 0, "Show audit entries",
         CLI_FLAGS(CLI_F_AGENT, CLI_F_FORMAT,
                   {"since", 0, "TIME", "Only entries at or after TIME (RFC 3339)", false, false},
                   {"limit", 0, "N", "At most N entries", false, false}),
         MISSING_AUDIT);

const cli_cmd cli_cmd_audit = {.name = "audit", .help = "Inspect the audit log",
                               .sub = CLI_SUB(&au_verify, &au_show)};
