/* `astrid config ...` — layered configuration (reference §2.2 note 1). */
#include "cli/cli_stub.h"

#define MISSING_CONFIG "needs the layered config loader (astrid-config)"

CLI_STUB(cf_show, "show", NULL, 0, 0, "Show the effective configuration",
         CLI_FLAGS(CLI_F_FORMAT, {"section", 0, "S", "Only this section", false, false}),
         MISSING_CONFIG);
CLI_STUB(cf_edit, "edit", NULL, 0, 0, "Edit the configuration in $EDITOR", NULL, MISSING_CONFIG);
CLI_STUB(cf_path, "path", NULL, 0, 0, "Print the configuration path", NULL, MISSING_CONFIG);

const cli_cmd cli_cmd_config = {.name = "config",
                                .help = "Show and edit configuration",
                                .sub = CLI_SUB(&cf_show, &cf_edit, &cf_path)};
