/* The CLI frame: a tree of command entries (nouns holding verbs, bare verbs),
 * a flag parser driven by each entry's flag spec, and the per-run context a
 * handler receives. tmux's cmd_table[] is the model: each cmd_<noun>.c exports
 * one noun entry; cli_table.c lists them.
 *
 * Ownership: entries are static const data. cli_ctx is stack-owned by main;
 * its argv/flag value pointers borrow from the process argv.
 */
#ifndef ASTRID_CLI_CLI_H
#define ASTRID_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "astrid/err.h"

/* Exit codes (docs/cli.md). Usage errors are 1, not clap's 2: 2 is reserved
 * for "not available in this release" so scripts can pattern-match it. */
enum { CLI_OK = 0, CLI_ERROR = 1, CLI_UNAVAILABLE = 2 };

#define CLI_MAX_FLAGS 24
#define CLI_MAX_VALUES 16
#define CLI_MAX_ARGS 32

/* Field order follows how a flag reads in the tables (name, -x, <VALUE>,
 * help), so the positional initializers stay legible. */
typedef struct cli_flag { // NOLINT(clang-analyzer-optin.performance.Padding)
    const char *name;     /* long name without "--" */
    char shrt;            /* short letter or 0 */
    const char *metavar;  /* NULL = boolean switch, else takes a value */
    const char *help;
    bool repeat; /* may be given more than once (values collected) */
    bool hidden; /* accepted, not listed in help/completions */
} cli_flag;

typedef struct cli_ctx cli_ctx;
typedef int (*cli_handler)(cli_ctx *ctx);

typedef struct cli_cmd cli_cmd;
struct cli_cmd {
    const char *name;
    const char *const *aliases; /* NULL-terminated or NULL (hidden migration aliases) */
    const char *args;           /* positional usage, e.g. "<name>" */
    const char *help;           /* one line */
    const char *long_help;      /* optional paragraph */
    const cli_flag *flags;      /* terminated by {0}; NULL = none */
    int min_args, max_args;     /* max_args < 0 = unbounded */
    cli_handler fn;             /* leaf handler; NULL with `missing` = stub */
    const char *missing;        /* non-NULL: exits 2 naming what is missing */
    const cli_cmd *const *sub;  /* NULL-terminated children (a noun) */
    bool hidden;
};

typedef struct cli_val {
    int count;
    const char *v[CLI_MAX_VALUES];
} cli_val;

struct cli_ctx {
    const cli_cmd *cmd;
    char path[128]; /* "agent create" */
    int argc;
    const char *argv[CLI_MAX_ARGS];
    cli_val flag[CLI_MAX_FLAGS]; /* parallel to cmd->flags */
    int verbose;
    const char *format;   /* --format value or NULL */
    const char *identity; /* --identity KEYFILE or NULL (exported as ASTRID_IDENTITY) */
    /* Chat globals (reference §14.1), read by run/chat/bare astrid only. */
    const char *prompt;  /* -p/--prompt */
    const char *session; /* --session ID_OR_NAME (chat: -s) */
    bool yes;            /* -y/--yes (--yolo, --autonomous): approve in headless */
    bool print_session;  /* --print-session */
    FILE *out, *err;
};

/* The root of the tree (cli_table.c). */
extern const cli_cmd cli_root;

/* Parse argv (without argv[0]) into ctx. Returns 0 ready to run, 1 when help
 * was printed (exit 0), -1 on a usage error (message in err, ctx->cmd set to
 * the deepest command reached, for the usage hint). */
int cli_parse(cli_ctx *ctx, int argc, char **argv, astrid_err *err);

/* Parse + dispatch + print errors; the whole of main(). */
int cli_main(int argc, char **argv, FILE *out, FILE *errf);

/* Print help for `c` reached by `path` ("" for the root). */
void cli_help(FILE *f, const cli_cmd *c, const char *path);

/* Flag access by long name (must exist in the spec). */
const char *cli_flag_str(const cli_ctx *ctx, const char *name);
int cli_flag_count(const cli_ctx *ctx, const char *name);
const cli_val *cli_flag_vals(const cli_ctx *ctx, const char *name);

/* Look up a child by name or alias (hidden ones too). */
const cli_cmd *cli_find_child(const cli_cmd *parent, const char *name);

/* Print "astrid: {feature} is not available in this release ({missing})"
 * and return CLI_UNAVAILABLE. */
int cli_unavailable(cli_ctx *ctx, const char *feature, const char *missing);

/* Report an astrid_err: "astrid: msg" on ctx->err; returns the exit code
 * (2 for ASTRID_E_UNSUPPORTED, else 1). */
int cli_fail(cli_ctx *ctx, const astrid_err *e);

/* Shared flag specs. */
extern const cli_flag cli_flags_format[];       /* --format */
extern const cli_flag cli_flags_agent_format[]; /* -a/--agent, --format */

/* Nouns and bare verbs, one exporter per file. */
extern const cli_cmd cli_cmd_agent, cli_cmd_group, cli_cmd_caps, cli_cmd_quota, cli_cmd_secret,
    cli_cmd_session, cli_cmd_capsule, cli_cmd_distro, cli_cmd_config, cli_cmd_audit, cli_cmd_bus,
    cli_cmd_voucher, cli_cmd_trust, cli_cmd_budget, cli_cmd_wit, cli_cmd_approvals,
    cli_cmd_workspace;
extern const cli_cmd *const cli_bare_verbs[]; /* cmd_system.c, NULL-terminated */

/* The layered configuration as the daemon would load it with `workspace`
 * (NULL = the current directory) as its workspace (cmd_config.c). *out is
 * freed with astrid_config_free. */
struct astrid_config;
int cli_config_load(const char *workspace, struct astrid_config **out, astrid_err *err);

/* `astrid gc` / `astrid wit gc` (gc.c). */
int cli_gc(cli_ctx *ctx);

#endif
