/* Applying a distro (docs/distro.md): shared by `astrid init`, `distro
 * apply|show|update`, `agent create --distro` and the first run of
 * chat/run/start. */
#ifndef ASTRID_CLI_DISTRO_H
#define ASTRID_CLI_DISTRO_H

#include <stdbool.h>

#include "cli/cli.h"

typedef struct cli_distro_opts {
    const char *spec;    /* NAME | PATH | URL | @org/repo; NULL = "astralis" */
    const char *agent;   /* principal; NULL = the active agent */
    const cli_val *vars; /* --var KEY=VALUE, may be NULL */
    bool yes;            /* no questions: first group entry, defaults */
    bool force;          /* install even when the lock is fresh (update) */
} cli_distro_opts;

/* Upstream's init flow (reference §15.1) for one agent. Prints progress on
 * ctx->err, returns the exit code. */
int cli_distro_apply(cli_ctx *ctx, const cli_distro_opts *o);

/* Resolve and validate a distro without applying it (agent create checks
 * before creating the agent). -1 with err. */
int cli_distro_check(const char *spec, astrid_err *err);

/* Does `agent` (NULL = active) have a distro lock? (false on any error) */
bool cli_distro_locked(const char *agent);

/* First run (upstream's behaviour): when the active agent has no lock,
 * say so and apply the default distro with --yes. Returns the exit code
 * (CLI_OK when nothing was needed). */
int cli_distro_first_run(cli_ctx *ctx);

#endif
