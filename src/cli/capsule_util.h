/* Helpers shared by the `astrid capsule` verbs (cmd_capsule.c and
 * capsule_*.c): where capsules live, the capsule writes the daemon serves
 * (docs/wire.md "Capsule management"), and the per-agent env values.
 *
 * Ownership: buffers are caller-owned; returned json_t are new references. */
#ifndef ASTRID_CLI_CAPSULE_UTIL_H
#define ASTRID_CLI_CAPSULE_UTIL_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>

#include "lib/manifest/manifest.h"
#include "cli/cli.h"
#include "cli/context.h"

typedef struct cli_capsule_loc {
    char home[PATH_MAX];
    char principal[CLI_PRINCIPAL_MAX]; /* -a, else the active agent */
    char dir[PATH_MAX];                /* the capsule's install directory */
    bool workspace;                    /* found under ./.astrid/capsules */
} cli_capsule_loc;

/* a-z 0-9 '-', non-empty (CapsuleId). */
bool cli_capsule_name_ok(const char *name);

/* The capsules directory the install-side verbs act on: the active agent's
 * home/{p}/.local/capsules, or ./.astrid/capsules with --workspace. Prints
 * the error; returns the exit code. */
int cli_capsules_dir(cli_ctx *ctx, char *home, char *dir, size_t n);

/* Installed capsule NAME for `agent` (NULL = the active agent): the agent's
 * home/{p}/.local/capsules/NAME, else ./.astrid/capsules/NAME. Prints
 * "no capsule ... installed" and returns CLI_ERROR when neither has a
 * meta.json. */
int cli_capsule_locate(cli_ctx *ctx, const char *name, const char *agent, cli_capsule_loc *loc);

/* meta.json and Capsule.toml of loc->dir. Prints the error; exit code. */
int cli_capsule_read(cli_ctx *ctx, const cli_capsule_loc *loc, json_t **meta, astrid_manifest **m);

/* One capsule write served by the daemon: connect as the active agent
 * (an --ephemeral daemon is started when none runs), send `method` with
 * `params` (borrowed) on astrid.v1.request.<suffix>, print each progress
 * line of astrid.v1.response.<suffix>.progress as "  <line>" on ctx->err,
 * hand each per-capsule result (UpdateCapsule) to on_result (may be NULL),
 * and return the reply's data (*data, new reference). -1 with err (the
 * daemon's message; its error.kind as the code) on an error reply. */
typedef void (*cli_capsule_result_fn)(cli_ctx *ctx, json_t *result, void *user);
int cli_capsule_call(cli_ctx *ctx, const char *suffix, const char *method, json_t *params,
                     cli_capsule_result_fn on_result, void *user, json_t **data, astrid_err *err);

/* Where an install-side request acts: with --workspace, params.workspace
 * and params.workspace_dir (this process's working directory, which the
 * daemon does not share). Prints the error; returns the exit code. */
int cli_capsule_scope(cli_ctx *ctx, json_t *params);

/* What the daemon's reload after a write said (data.reload or
 * data.reload_error), on ctx->err. */
void cli_capsule_print_reload(cli_ctx *ctx, json_t *data);

/* home/{p}/.config/env/{name}.env.json into path (PATH_MAX). */
void cli_capsule_env_path(const cli_capsule_loc *loc, const char *name, char *path, size_t n);

/* The env JSON (an object of strings); a missing file is an empty object, a
 * malformed one an error (ASTRID_E_PARSE naming the file). */
json_t *cli_capsule_env_load(const char *path, astrid_err *err);

/* Is the secret-typed `key` set for loc->principal (its file in the
 * secret store, else the host-wide one)? Read-only: looks for the file,
 * never reads the value. -1 with err on an I/O error. */
int cli_capsule_secret_set(const cli_capsule_loc *loc, const char *capsule, const char *key,
                           bool *set, astrid_err *err);

/* [{interface: "ns:iface", version[, optional]}] (capsule_show.c). */
json_t *cli_capsule_deps_json(const astrid_manifest_dep *d, size_t n, bool imports);

/* "Capsule NAME asks for:" and one line per non-empty ask, the
 * capabilities it needs and whom it serves, on ctx->out. */
void cli_capsule_print_asks(cli_ctx *ctx, const char *name, json_t *asks);

/* The verbs in capsule_*.c, registered from cmd_capsule.c's table. */
extern const cli_cmd cli_capsule_show, cli_capsule_config, cli_capsule_tree, cli_capsule_update,
    cli_capsule_build;
/* The hidden top-level `build` (capsule_build.c, listed in cli_table.c). */
extern const cli_cmd cli_cmd_build_alias;

#endif
