/* The schema of the layered configuration (config.h; docs/config.md lists
 * the same keys for people -- keep both in step). Defaults are what the
 * daemon and CLI used before the configuration existed. */
#include "astrid/sandbox_probe.h"
#include "lib/config/config.h"

#define LIST(...) ((const char *const[]){__VA_ARGS__, NULL})

static int sandbox_env_check(const char *value, astrid_err *err)
{
    astrid_sandbox_policy p;
    return astrid_sandbox_policy_parse(value, &p, err);
}

/* clang-format off */
const astrid_config_key astrid_config_schema[] = {
    /* ---- [security]: the hard policy of the security gate (reference §8.6) ---- */
    {.section = "security", .name = "blocked_tools", .type = ASTRID_CFG_STRLIST,
     .tighten = ASTRID_TIGHT_SUPERSET,
     .def_list = LIST("rm -rf /", "rm -rf /*", "sudo", "su", "mkfs", "dd", "chmod 777",
                      "shutdown", "reboot", "init"),
     .env = "ASTRID_SECURITY_BLOCKED_TOOLS",
     .doc = "commands (or MCP server:tool names) always blocked; a multi-word entry blocks "
            "every command it begins"},
    {.section = "security", .name = "approval_required_tools", .type = ASTRID_CFG_STRLIST,
     .tighten = ASTRID_TIGHT_SUPERSET, .def_list = LIST("builtin:task"),
     .env = "ASTRID_SECURITY_APPROVAL_REQUIRED_TOOLS",
     .doc = "MCP tools (server:tool or server) that always need a human's approval"},
    {.section = "security", .name = "denied_paths", .type = ASTRID_CFG_STRLIST,
     .tighten = ASTRID_TIGHT_SUPERSET,
     .def_list = LIST("/etc/**", "/boot/**", "/sys/**", "/proc/**", "/dev/**"),
     .env = "ASTRID_SECURITY_DENIED_PATHS",
     .doc = "file paths always blocked (DIR/** = the directory and everything below it, "
            "else a glob)"},
    {.section = "security", .name = "allowed_paths", .type = ASTRID_CFG_STRLIST,
     .tighten = ASTRID_TIGHT_SUBSET, .env = "ASTRID_SECURITY_ALLOWED_PATHS",
     .doc = "when not empty, a file path outside these globs is blocked"},
    {.section = "security", .name = "allowed_hosts", .type = ASTRID_CFG_STRLIST,
     .tighten = ASTRID_TIGHT_SUBSET, .env = "ASTRID_SECURITY_ALLOWED_HOSTS",
     .doc = "when not empty, a network request to another host is blocked"},
    {.section = "security", .name = "denied_hosts", .type = ASTRID_CFG_STRLIST,
     .tighten = ASTRID_TIGHT_SUPERSET, .env = "ASTRID_SECURITY_DENIED_HOSTS",
     .doc = "network requests to these hosts are blocked"},
    {.section = "security", .name = "blocked_capsules", .type = ASTRID_CFG_STRLIST,
     .tighten = ASTRID_TIGHT_SUPERSET, .env = "ASTRID_SECURITY_BLOCKED_CAPSULES",
     .doc = "capsules whose sensitive actions are all blocked"},
    {.section = "security", .name = "max_argument_size", .type = ASTRID_CFG_INT,
     .tighten = ASTRID_TIGHT_LOWER, .def_int = 1048576, .min_int = 1, .max_int = 1073741824,
     .env = "ASTRID_SECURITY_MAX_ARGUMENT_SIZE",
     .doc = "bytes: a sensitive action whose resource is longer is blocked"},
    {.section = "security", .name = "require_approval_for_network", .type = ASTRID_CFG_BOOL,
     .tighten = ASTRID_TIGHT_TRUE, .def_bool = true,
     .env = "ASTRID_SECURITY_REQUIRE_APPROVAL_FOR_NETWORK",
     .doc = "a network request no token, grant or allowance covers asks a human; false lets "
            "it through"},
    {.section = "security", .name = "allow_always_ttl_secs", .type = ASTRID_CFG_INT,
     .tighten = ASTRID_TIGHT_LOWER, .def_int = 3600, .min_int = 1, .max_int = 31536000,
     .env = "ASTRID_ALLOW_ALWAYS_TTL_SECS",
     .doc = "lifetime of the capability token an \"allow always\" answer mints"},

    /* ---- [budget]: default limits of every principal (reference §8.9) ---- */
    {.section = "budget", .name = "session_max_usd", .type = ASTRID_CFG_FLOAT,
     .tighten = ASTRID_TIGHT_LOWER_0_UNLIMITED, .def_float = 100.0, .min_float = 0,
     .max_float = 1e9, .env = "ASTRID_BUDGET_SESSION_MAX_USD",
     .doc = "USD one principal may spend between daemon restarts (0 = unlimited)"},
    {.section = "budget", .name = "per_action_max_usd", .type = ASTRID_CFG_FLOAT,
     .tighten = ASTRID_TIGHT_LOWER_0_UNLIMITED, .def_float = 10.0, .min_float = 0,
     .max_float = 1e9, .env = "ASTRID_BUDGET_PER_ACTION_MAX_USD",
     .doc = "USD one action may cost (0 = unlimited)"},
    {.section = "budget", .name = "workspace_max_usd", .type = ASTRID_CFG_FLOAT,
     .tighten = ASTRID_TIGHT_LOWER_0_UNLIMITED, .def_float = 0, .min_float = 0,
     .max_float = 1e9, .env = "ASTRID_BUDGET_WORKSPACE_MAX_USD",
     .doc = "USD one principal may spend in this workspace, across restarts (0 = unlimited)"},
    {.section = "budget", .name = "warn_at_percent", .type = ASTRID_CFG_INT,
     .tighten = ASTRID_TIGHT_LOWER, .def_int = 80, .min_int = 1, .max_int = 100,
     .env = "ASTRID_BUDGET_WARN_AT_PERCENT",
     .doc = "spend (percent of a limit) from which the daemon logs a warning"},

    /* ---- [timeouts] ---- */
    {.section = "timeouts", .name = "approval_ms", .type = ASTRID_CFG_INT,
     .tighten = ASTRID_TIGHT_LOWER, .def_int = 60000, .min_int = 1, .max_int = 86400000,
     .env = "ASTRID_APPROVAL_TIMEOUT_MS",
     .doc = "how long an approval or elicit prompt waits for its human; then it is denied"},
    {.section = "timeouts", .name = "headless_secs", .type = ASTRID_CFG_INT,
     .tighten = ASTRID_TIGHT_LOWER, .def_int = 120, .min_int = 1, .max_int = 86400,
     .env = "ASTRID_HEADLESS_TIMEOUT_SECS",
     .doc = "astrid run / -p: how long a headless turn may take"},
    {.section = "timeouts", .name = "mcp_init_ms", .type = ASTRID_CFG_INT,
     .tighten = ASTRID_TIGHT_NEVER, .def_int = 30000, .min_int = 100, .max_int = 600000,
     .env = "ASTRID_MCP_INIT_TIMEOUT_MS",
     .doc = "an MCP server's initialize and tools/list must answer within this"},

    /* ---- [mcp]: supervision of MCP server processes (docs/mcp.md) ---- */
    {.section = "mcp", .name = "restart_backoff_start_ms", .type = ASTRID_CFG_INT,
     .tighten = ASTRID_TIGHT_NEVER, .def_int = 2000, .min_int = 10, .max_int = 3600000,
     .env = "ASTRID_MCP_RESTART_BACKOFF_START_MS",
     .doc = "first wait before restarting a failed MCP server; doubles each time"},
    {.section = "mcp", .name = "restart_backoff_max_ms", .type = ASTRID_CFG_INT,
     .tighten = ASTRID_TIGHT_NEVER, .def_int = 120000, .min_int = 10, .max_int = 3600000,
     .env = "ASTRID_MCP_RESTART_BACKOFF_MAX_MS", .doc = "the longest wait between restarts"},
    {.section = "mcp", .name = "restart_max_attempts", .type = ASTRID_CFG_INT,
     .tighten = ASTRID_TIGHT_NEVER, .def_int = 5, .min_int = 0, .max_int = 1000,
     .env = "ASTRID_MCP_RESTART_MAX_ATTEMPTS",
     .doc = "failed starts in a row after which a server is left failed"},

    /* ---- [log]: the daemon's log/astrid.YYYY-MM-DD.log files ---- */
    {.section = "log", .name = "keep_days", .type = ASTRID_CFG_INT,
     .tighten = ASTRID_TIGHT_NEVER, .def_int = 7, .min_int = 0, .max_int = 36500,
     .env = "ASTRID_LOG_KEEP_DAYS",
     .doc = "daily daemon logs older than this many days are deleted (0 = keep all)"},
    {.section = "log", .name = "max_file_bytes", .type = ASTRID_CFG_INT,
     .tighten = ASTRID_TIGHT_NEVER, .def_int = 64LL * 1024 * 1024, .min_int = 0,
     .max_int = 1LL << 40, .env = "ASTRID_LOG_MAX_FILE_BYTES",
     .doc = "a day's log stops growing at this size, with one line saying so (0 = no cap)"},

    /* ---- [sandbox]: native subprocesses (docs/sandbox.md) ---- */
    {.section = "sandbox", .name = "policy", .type = ASTRID_CFG_ENUM,
     .tighten = ASTRID_TIGHT_ENUM, .choices = LIST("required", "off"), .def_choice = 0,
     .env = "ASTRID_SANDBOX_POLICY", .env_check = sandbox_env_check,
     .doc = "required: a native subprocess runs sandboxed or not at all; off: unsandboxed"},
};
/* clang-format on */

const size_t astrid_config_nkeys = sizeof astrid_config_schema / sizeof *astrid_config_schema;
