/* Dispatch, help text and error reporting for the command tree. */
#include <stdlib.h>
#include <string.h>

#include "astrid/version.h"
#include "cli/cli.h"

const cli_flag *cli_global_flags(void);
extern const cli_cmd cli_cmd_version;

static void print_flag(FILE *f, const cli_flag *fl)
{
    char left[96];
    int n;
    if (fl->shrt)
        n = snprintf(left, sizeof left, "-%c, --%s", fl->shrt, fl->name);
    else
        n = snprintf(left, sizeof left, "    --%s", fl->name);
    if (fl->metavar && n > 0 && (size_t)n < sizeof left)
        snprintf(left + n, sizeof left - (size_t)n, " <%s>", fl->metavar);
    fprintf(f, "  %-28s %s%s\n", left, fl->help ? fl->help : "",
            fl->repeat && fl->metavar ? " (repeatable)" : "");
}

void cli_help(FILE *f, const cli_cmd *c, const char *path)
{
    fprintf(f, "%s\n\n",
            c == &cli_root ? "astrid — operator CLI for the Astrid agent OS" : c->help);
    fprintf(f, "Usage: astrid%s%s [OPTIONS]%s%s%s\n", *path ? " " : "", path,
            c->sub ? " <COMMAND>" : "", c->args ? " " : "", c->args ? c->args : "");
    if (c->long_help)
        fprintf(f, "\n%s\n", c->long_help);
    if (c->missing && !c->sub)
        fprintf(f, "\nNot available in this release (%s).\n", c->missing);
    if (c->sub) {
        fprintf(f, "\nCommands:\n");
        for (const cli_cmd *const *s = c->sub; *s; s++)
            if (!(*s)->hidden)
                fprintf(f, "  %-12s %s\n", (*s)->name, (*s)->help);
    }
    fprintf(f, "\nOptions:\n");
    for (const cli_flag *fl = c->flags; fl && fl->name; fl++)
        if (!fl->hidden)
            print_flag(f, fl);
    for (const cli_flag *fl = cli_global_flags(); fl->name; fl++) {
        bool dup = false; /* commands may list --format themselves */
        for (const cli_flag *own = c->flags; own && own->name; own++)
            dup = dup || strcmp(own->name, fl->name) == 0;
        if (!dup && !fl->hidden)
            print_flag(f, fl);
    }
    if (c == &cli_root)
        fprintf(f, "\nExit codes: 0 success; 1 error (including usage errors); 2 the feature is\n"
                   "not available in this release (the message names what is missing).\n"
                   "Run 'astrid <COMMAND> --help' for more on a command.\n");
}

int cli_unavailable(cli_ctx *ctx, const char *feature, const char *missing)
{
    fprintf(ctx->err, "astrid: %s is not available in this release (%s)\n", feature, missing);
    return CLI_UNAVAILABLE;
}

int cli_fail(cli_ctx *ctx, const astrid_err *e)
{
    fprintf(ctx->err, "astrid: %s\n", e->msg[0] ? e->msg : astrid_errcode_name(e->code));
    return e->code == ASTRID_E_UNSUPPORTED ? CLI_UNAVAILABLE : CLI_ERROR;
}

int cli_main(int argc, char **argv, FILE *out, FILE *errf)
{
    cli_ctx ctx;
    astrid_err err;
    memset(&ctx, 0, sizeof ctx);
    astrid_err_clear(&err);
    ctx.out = out;
    ctx.err = errf;
    int rc = cli_parse(&ctx, argc, argv, &err);
    /* Every connection of this run reads it from the environment (the
     * client floor's one way in), so the flag is exported once here. */
    if (rc == 0 && ctx.identity)
        setenv("ASTRID_IDENTITY", ctx.identity, 1);
    if (rc == 1) {
        cli_help(out, ctx.cmd, ctx.path);
        return CLI_OK;
    }
    if (rc < 0) {
        fprintf(errf,
                "astrid: error: %s\n\nUsage: astrid%s%s [OPTIONS]%s%s%s\n"
                "For more information, try 'astrid%s%s --help'.\n",
                err.msg, *ctx.path ? " " : "", ctx.path, ctx.cmd->sub ? " <COMMAND>" : "",
                ctx.cmd->args ? " " : "", ctx.cmd->args ? ctx.cmd->args : "", *ctx.path ? " " : "",
                ctx.path);
        return CLI_ERROR;
    }
    if (ctx.prompt && ctx.cmd != &cli_root) {
        /* -p is the headless mode of bare `astrid`; with a verb it would be
         * silently ignored. */
        fprintf(errf,
                "astrid: error: '-p/--prompt' is for bare 'astrid' (or use 'astrid run "
                "PROMPT'), not 'astrid %s'\n",
                ctx.path);
        return CLI_ERROR;
    }
    if (ctx.cmd == &cli_root && cli_flag_count(&ctx, "version"))
        return cli_cmd_version.fn(&ctx);
    if (ctx.cmd->fn)
        return ctx.cmd->fn(&ctx);
    if (ctx.cmd->missing) {
        char feature[160];
        snprintf(feature, sizeof feature, "'astrid%s%s'", *ctx.path ? " " : "", ctx.path);
        return cli_unavailable(&ctx, feature, ctx.cmd->missing);
    }
    fprintf(errf, "astrid: internal error: '%s' has no handler\n", ctx.path);
    return CLI_ERROR;
}
