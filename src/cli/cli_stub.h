/* Shorthand for table entries. Internal to src/cli/cmd_*.c. */
#ifndef ASTRID_CLI_STUB_H
#define ASTRID_CLI_STUB_H

#include "cli/cli.h"

#define CLI_ALIASES(...) ((const char *const[]){__VA_ARGS__, NULL})
#define CLI_SUB(...) ((const cli_cmd *const[]){__VA_ARGS__, NULL})
#define CLI_FLAGS(...) ((const cli_flag[]){__VA_ARGS__, {0}})

/* A registered verb that exits 2 naming what is missing. */
#define CLI_STUB(id, nm, ar, mn, mx, hl, fl, miss)                                                 \
    static const cli_cmd id = {.name = (nm),                                                       \
                               .args = (ar),                                                       \
                               .min_args = (mn),                                                   \
                               .max_args = (mx),                                                   \
                               .help = (hl),                                                       \
                               .flags = (fl),                                                      \
                               .missing = (miss)}

#define CLI_F_AGENT                                                                                \
    {                                                                                              \
        "agent", 'a', "NAME", "Target agent (default: the active agent)", false, false             \
    }
#define CLI_F_FORMAT                                                                               \
    {                                                                                              \
        "format", 0, "FORMAT", "Output format: pretty|json|yaml|toml", false, false                \
    }
#define CLI_F_YES                                                                                  \
    {                                                                                              \
        "yes", 'y', NULL, "Do not ask for confirmation", false, false                              \
    }

#define MISSING_ADMIN(topic) "needs the Admin API (astrid.v1.admin." topic ")"

#endif
