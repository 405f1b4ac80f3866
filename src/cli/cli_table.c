/* The whole v0.6 command tree (reference §14.2), nouns then bare verbs. */
#include "cli/chat.h"
#include "cli/cli_stub.h"

extern const cli_cmd cli_cmd_version, cli_cmd_doctor, cli_cmd_completions, cli_cmd_logs,
    cli_cmd_start, cli_cmd_stop, cli_cmd_restart, cli_cmd_status, cli_cmd_ps, cli_cmd_who,
    cli_cmd_chat, cli_cmd_run, cli_cmd_init, cli_cmd_gc, cli_cmd_setup, cli_cmd_top, cli_cmd_update,
    cli_cmd_build_alias;

/* Bare `astrid` is interactive chat upstream. */
const cli_cmd cli_root = {
    .name = "astrid",
    .help = "astrid",
    .max_args = 0,
    .fn = chat_root, /* cmd_run.c: headless with -p or piped stdin, else the TUI */
    /* Root only, as clap's: `astrid --version` = `astrid version`. */
    .flags =
        CLI_FLAGS({"version", 'V', NULL, "Print version (same as 'astrid version')", false, false}),
    .sub = CLI_SUB(&cli_cmd_chat, &cli_cmd_run, &cli_cmd_agent, &cli_cmd_group, &cli_cmd_caps,
                   &cli_cmd_quota, &cli_cmd_workspace, &cli_cmd_secret, &cli_cmd_session, &cli_cmd_capsule,
                   &cli_cmd_distro, &cli_cmd_config, &cli_cmd_audit, &cli_cmd_bus, &cli_cmd_voucher,
                   &cli_cmd_trust, &cli_cmd_budget, &cli_cmd_init, &cli_cmd_gc, &cli_cmd_start,
                   &cli_cmd_status, &cli_cmd_stop, &cli_cmd_restart, &cli_cmd_logs, &cli_cmd_ps,
                   &cli_cmd_top, &cli_cmd_who, &cli_cmd_doctor, &cli_cmd_setup, &cli_cmd_version,
                   &cli_cmd_completions, &cli_cmd_update, &cli_cmd_build_alias, &cli_cmd_wit,
                   &cli_cmd_approvals)};
