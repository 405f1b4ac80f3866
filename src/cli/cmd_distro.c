/* `astrid distro ...` — distro install state (reference §15.1). */
#include "cli/cli_stub.h"

#define MISSING_DISTRO "needs the distro installer (Distro.toml, reference §15.1)"

CLI_STUB(d_apply, "apply", "[name]", 0, 1, "Apply a distro (same as init)", CLI_FLAGS(CLI_F_AGENT),
         MISSING_DISTRO);
CLI_STUB(d_show, "show", NULL, 0, 0, "Show the applied distro",
         CLI_FLAGS(CLI_F_AGENT, CLI_F_FORMAT), "not wired upstream either (distro show)");
CLI_STUB(d_update, "update", NULL, 0, 0, "Update the applied distro", CLI_FLAGS(CLI_F_AGENT),
         MISSING_DISTRO);

const cli_cmd cli_cmd_distro = {.name = "distro",
                                .help = "Apply and inspect distros",
                                .sub = CLI_SUB(&d_apply, &d_show, &d_update)};
