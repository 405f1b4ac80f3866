/* `astrid capsule build [PATH] [-o DIR] [-t TYPE]` and the hidden top-level
 * `astrid build`: run astrid-build (next to astrid, else on PATH) with the
 * same arguments and exit with its exit code, so scripts see the builder's
 * own 0/1/2. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/capsule_util.h"
#include "cli/cli_stub.h"
#include "astrid/fs.h"
#include "client/client.h"
#include "lib/manifest/mcp_json.h"

/* --from-mcp-json FILE [--server NAME] [-o DIR]: DIR/NAME/Capsule.toml
 * (docs/mcp.md). Nothing is written when the conversion fails. */
static int from_mcp_json(cli_ctx *ctx)
{
    const char *file = cli_flag_str(ctx, "from-mcp-json"), *out = cli_flag_str(ctx, "output");
    char *json = NULL, *toml = NULL, *keys = NULL, name[65];
    size_t len = 0;
    astrid_err err;
    char dir[PATH_MAX], path[PATH_MAX + 16];
    int rc = CLI_ERROR;
    if (astrid_read_file(file, ASTRID_MCP_JSON_MAX, &json, &len, &err) != 0 ||
        astrid_mcp_json_to_capsule(json, len, cli_flag_str(ctx, "server"), &toml, name, &keys,
                                   &err) != 0) {
        fprintf(ctx->err, "astrid: %s: %s\n", file, err.msg);
        goto done;
    }
    if ((size_t)snprintf(dir, sizeof dir, "%s/%s", out ? out : "dist", name) >= sizeof dir) {
        fprintf(ctx->err, "astrid: output directory name too long\n");
        goto done;
    }
    snprintf(path, sizeof path, "%s/Capsule.toml", dir);
    if (astrid_mkdir_p(dir, 0755, 0, &err) != 0 ||
        astrid_atomic_write(path, toml, strlen(toml), 0644, &err) != 0) {
        fprintf(ctx->err, "astrid: %s\n", err.msg);
        goto done;
    }
    fprintf(ctx->out, "Wrote %s (capsule %s)\n", path, name);
    if (keys)
        fprintf(ctx->out,
                "  env as secrets of capsule %s (values are not copied from mcp.json): %s\n", name,
                keys);
    fprintf(ctx->out, "  install with: astrid capsule install %s\n", dir);
    rc = CLI_OK;
done:
    free(json);
    free(toml);
    free(keys);
    return rc;
}

static int capsule_build(cli_ctx *ctx)
{
    if (cli_flag_count(ctx, "from-mcp-json"))
        return from_mcp_json(ctx);
    if (cli_flag_count(ctx, "server")) {
        fprintf(ctx->err, "astrid: --server goes with --from-mcp-json\n");
        return CLI_ERROR;
    }
    char ab[PATH_MAX];
    if (astrid_find_program("astrid-build", ab, sizeof ab) != 0) {
        fprintf(ctx->err, "astrid: astrid-build not found next to astrid or on PATH\n");
        return CLI_ERROR;
    }
    const char *argv[8];
    int n = 0;
    argv[n++] = ab;
    if (ctx->argc)
        argv[n++] = ctx->argv[0];
    if (cli_flag_str(ctx, "output")) {
        argv[n++] = "--output";
        argv[n++] = cli_flag_str(ctx, "output");
    }
    if (cli_flag_str(ctx, "type")) {
        argv[n++] = "--type";
        argv[n++] = cli_flag_str(ctx, "type");
    }
    argv[n] = NULL;
    fflush(ctx->out);
    fflush(ctx->err);
    pid_t pid = fork();
    if (pid == 0) {
        if (ctx->out != stdout)
            dup2(fileno(ctx->out), 1);
        if (ctx->err != stderr)
            dup2(fileno(ctx->err), 2);
        execv(ab, (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) < 0) {
        fprintf(ctx->err, "astrid: cannot run %s\n", ab);
        return CLI_ERROR;
    }
    if (WIFSIGNALED(st)) {
        fprintf(ctx->err, "astrid: astrid-build was killed by signal %d\n", WTERMSIG(st));
        return CLI_ERROR;
    }
    return WEXITSTATUS(st);
}

#define BUILD_LONG                                                                                 \
    "Runs astrid-build on PATH (default .) with the same flags and exits with its exit code. "     \
    "C capsules (Capsule.toml + *.c) are compiled to wasm32-wasi against the Astrid C SDK and "    \
    "packed as DIR/NAME.capsule (default PATH/dist)."
#define BUILD_FLAGS                                                                                \
    CLI_FLAGS({"output", 'o', "DIR", "Where NAME.capsule goes (default PATH/dist)", false, false}, \
              {"type", 't', "TYPE", "Project type (only c is built)", false, false},               \
              {"from-mcp-json", 0, "PATH", "Convert an MCP server config", false, false},          \
              {"server", 0, "NAME", "With --from-mcp-json: only this server", false, false})

const cli_cmd cli_capsule_build = {.name = "build",
                                   .args = "[path]",
                                   .max_args = 1,
                                   .help = "Build a capsule (runs astrid-build)",
                                   .long_help = BUILD_LONG,
                                   .flags = BUILD_FLAGS,
                                   .fn = capsule_build};

/* Hidden top-level `build` (upstream migration alias of `capsule build`). */
const cli_cmd cli_cmd_build_alias = {.name = "build",
                                     .args = "[path]",
                                     .max_args = 1,
                                     .help = "Build a capsule (alias of 'capsule build')",
                                     .long_help = BUILD_LONG,
                                     .flags = BUILD_FLAGS,
                                     .hidden = true,
                                     .fn = capsule_build};
