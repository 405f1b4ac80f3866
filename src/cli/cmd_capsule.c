/* `astrid capsule ...` — install and inspect capsules (reference §15.3). */
#include "cli/cli_stub.h"

#define MISSING_INSTALL "needs the capsule installer (reference §15.3)"
#define F_WS {"workspace", 0, NULL, "Use the workspace's .astrid/capsules", false, false}

CLI_STUB(k_install, "install", "<source>", 1, 1, "Install a capsule", CLI_FLAGS(F_WS),
         MISSING_INSTALL);
CLI_STUB(k_update, "update", "[target]", 0, 1, "Re-install capsules from their source",
         CLI_FLAGS(F_WS), MISSING_INSTALL);
CLI_STUB(k_list, "list", NULL, 0, 0, "List installed capsules", CLI_FLAGS(CLI_F_FORMAT),
         "needs the capsule registry (home/{p}/.local/capsules/ meta.json reader)");
CLI_STUB(k_remove, "remove", "<name>", 1, 1, "Remove a capsule",
         CLI_FLAGS(F_WS, {"force", 0, NULL, "Skip the dependents check", false, false},
                   {"purge", 0, NULL, "Also delete the capsule's env JSON", false, false}),
         MISSING_INSTALL);
static const cli_cmd k_tree = {.name = "tree", .aliases = CLI_ALIASES("deps"), .max_args = 0,
                               .help = "Show the imports/exports graph",
                               .missing = "needs the capsule registry and WIT resolver"};
#define BUILD_FLAGS                                                                          \
    CLI_FLAGS({"output", 'o', "PATH", "Output path", false, false},                        \
              {"type", 't', "TYPE", "Project type", false, false},                          \
              {"from-mcp-json", 0, "PATH", "Convert an MCP server config", false, false})
CLI_STUB(k_build, "build", "[path]", 0, 1, "Build a capsule (runs astrid-build)", BUILD_FLAGS,
         "needs astrid-build (the capsule builder)");
CLI_STUB(k_config, "config", "<name>", 1, 1, "Show or set a capsule's env values",
         CLI_FLAGS(CLI_F_AGENT, CLI_F_FORMAT, {"show", 0, NULL, "Show values", false, false},
                   {"set", 0, "K=V", "Set a value", true, false}),
         "needs the capsule env store (home/{p}/.config/env/)");
CLI_STUB(k_show, "show", "<name>", 1, 1, "Show a capsule", CLI_FLAGS(CLI_F_AGENT, CLI_F_FORMAT),
         "needs the capsule registry (meta.json reader)");

const cli_cmd cli_cmd_capsule = {.name = "capsule", .help = "Install and manage capsules",
                                 .sub = CLI_SUB(&k_install, &k_update, &k_list, &k_remove,
                                                &k_tree, &k_build, &k_config, &k_show)};

/* Hidden top-level `build` (upstream migration alias of `capsule build`). */
const cli_cmd cli_cmd_build_alias = {.name = "build", .args = "[path]", .max_args = 1,
                                     .help = "Build a capsule (alias of 'capsule build')",
                                     .flags = BUILD_FLAGS, .hidden = true,
                                     .missing = "needs astrid-build (the capsule builder)"};
