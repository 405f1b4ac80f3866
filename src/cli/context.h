/* run/cli-context.toml: the CLI's active agent (reference §2.2, §14.2).
 * Buffers are caller-owned. */
#ifndef ASTRID_CLI_CONTEXT_H
#define ASTRID_CLI_CONTEXT_H

#include <stddef.h>

#include "astrid/err.h"

#define CLI_PRINCIPAL_MAX 65

/* Active agent for `home`: the file's active_agent, or "default" when the
 * file is missing. A malformed file or an invalid principal is an error
 * (fail closed: never silently act as someone else). */
int cli_context_active(const char *home, char *out, size_t outsz, astrid_err *err);

/* Write active_agent = principal atomically (0600), creating run/ (0700). */
int cli_context_set(const char *home, const char *principal, astrid_err *err);

/* Resolve $ASTRID_HOME into out (PATH_MAX). */
int cli_home(char *out, size_t outsz, astrid_err *err);

/* The principal a per-agent command targets: -a value or the active agent. */
int cli_target_agent(const char *flag_value, const char *home, char *out, size_t outsz,
                     astrid_err *err);

#endif
