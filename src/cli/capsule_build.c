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

static int capsule_build(cli_ctx *ctx)
{
    if (cli_flag_count(ctx, "from-mcp-json"))
        return cli_unavailable(ctx, "capsule build --from-mcp-json",
                               "needs the MCP config converter in astrid-build");
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
              {"from-mcp-json", 0, "PATH", "Convert an MCP server config", false, false})

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
