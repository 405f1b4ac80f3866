/* The flag parser: walks the command tree by positional words, then collects
 * flags from the reached command's spec plus the global ones. getopt_long
 * semantics: --flag=value, --flag value, -x value, -xVALUE, repeated flags,
 * and "--" ending option parsing. */
#include <string.h>

#include "cli/cli.h"

/* Global flags accepted at every level (indices are fixed below). */
static const cli_flag global_flags[] = {
    {"verbose", 'v', NULL, "More output", true, false},
    {"format", 0, "FORMAT", "Output format: pretty|json|yaml|toml", false, false},
    {"help", 'h', NULL, "Print help", true, false},
    {"identity", 0, "KEYFILE", "Connect as the identity in KEYFILE (key authentication)", false,
     false},
    {"prompt", 'p', "PROMPT", "Headless: send PROMPT to the active agent, print the answer", false,
     false},
    {"yes", 'y', NULL, "Headless: approve what the agent asks (default: deny)", false, false},
    {"yolo", 0, NULL, "Alias of --yes", false, true},
    {"autonomous", 0, NULL, "Alias of --yes", false, true},
    {"session", 0, "ID_OR_NAME", "Chat session: a UUID as is, any other name hashed (UUID v5)",
     false, false},
    {"print-session", 0, NULL, "Headless: print the session id on stderr", false, false},
    {0},
};
#define N_GLOBAL_FLAGS 10
_Static_assert(sizeof global_flags / sizeof *global_flags == N_GLOBAL_FLAGS + 1,
               "N_GLOBAL_FLAGS counts global_flags");
enum { G_VERBOSE };

const cli_flag *cli_global_flags(void);
const cli_flag *cli_global_flags(void)
{
    return global_flags;
}

const cli_cmd *cli_find_child(const cli_cmd *parent, const char *name)
{
    if (!parent->sub)
        return NULL;
    for (const cli_cmd *const *c = parent->sub; *c; c++) {
        if (strcmp((*c)->name, name) == 0)
            return *c;
        for (const char *const *a = (*c)->aliases; a && *a; a++)
            if (strcmp(*a, name) == 0)
                return *c;
    }
    return NULL;
}

static int find_flag(const cli_flag *spec, const char *lng, size_t lnglen, char shrt)
{
    for (int i = 0; spec && spec[i].name; i++) {
        if (shrt ? spec[i].shrt == shrt
                 : (strlen(spec[i].name) == lnglen && strncmp(spec[i].name, lng, lnglen) == 0))
            return i;
    }
    return -1;
}

static bool format_valid(const char *f)
{
    static const char *const ok[] = {"pretty", "json", "yaml", "yml", "toml"};
    if (!f)
        return false;
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        if (strcmp(f, ok[i]) == 0)
            return true;
    return false;
}

static void path_append(cli_ctx *ctx, const char *word)
{
    size_t n = strlen(ctx->path);
    snprintf(ctx->path + n, sizeof ctx->path - n, "%s%s", n ? " " : "", word);
}

/* Store one occurrence of a flag. `val` is NULL for switches. */
static int store_flag(cli_ctx *ctx, cli_val *slot, const cli_flag *f, const char *val, bool *help,
                      astrid_err *err)
{
    if (slot->count > 0 && !f->repeat)
        return astrid_err_set(err, ASTRID_E_INVALID,
                              "the argument '--%s' cannot be used multiple times", f->name);
    if (slot->count >= CLI_MAX_VALUES)
        return astrid_err_set(err, ASTRID_E_LIMIT, "too many '--%s' flags", f->name);
    slot->v[slot->count++] = val;
    /* Commands list --format in their own spec (for help); it is the same
     * option as the global one. */
    if (strcmp(f->name, "verbose") == 0)
        ctx->verbose++;
    else if (strcmp(f->name, "help") == 0)
        *help = true;
    else if (strcmp(f->name, "format") == 0) {
        if (!format_valid(val))
            return astrid_err_set(err, ASTRID_E_INVALID,
                                  "invalid value '%s' for '--format': expected pretty, json, "
                                  "yaml, yml or toml",
                                  val);
        ctx->format = val;
    } else if (strcmp(f->name, "identity") == 0) {
        ctx->identity = val;
    } else if (strcmp(f->name, "prompt") == 0) {
        ctx->prompt = val;
    } else if (strcmp(f->name, "session") == 0) {
        ctx->session = val;
    } else if (strcmp(f->name, "yes") == 0 || strcmp(f->name, "yolo") == 0 ||
               strcmp(f->name, "autonomous") == 0) {
        ctx->yes = true;
    } else if (strcmp(f->name, "print-session") == 0) {
        ctx->print_session = true;
    }
    return 0;
}

/* One option word at argv[*i]; may consume argv[*i + 1] as its value. */
static int parse_option(cli_ctx *ctx, cli_val *gvals, int argc, char **argv, int *i, bool *help,
                        astrid_err *err)
{
    const char *a = argv[*i];
    const cli_flag *spec = ctx->cmd->flags;
    const char *inline_val = NULL;
    int idx, gidx = -1;
    const cli_flag *f;
    char shown[64];

    if (a[1] == '-') {
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        idx = find_flag(spec, name, len, 0);
        if (idx < 0)
            gidx = find_flag(global_flags, name, len, 0);
        snprintf(shown, sizeof shown, "--%.*s", (int)len, name);
        inline_val = eq ? eq + 1 : NULL;
    } else {
        idx = find_flag(spec, "", 0, a[1]);
        if (idx < 0)
            gidx = find_flag(global_flags, "", 0, a[1]);
        snprintf(shown, sizeof shown, "-%c", a[1]);
        inline_val = a[2] ? a + 2 : NULL;
    }
    if (idx < 0 && gidx < 0)
        return astrid_err_set(err, ASTRID_E_INVALID, "unexpected argument '%s' found", shown);
    f = idx >= 0 ? &spec[idx] : &global_flags[gidx];
    const char *val = NULL;
    if (f->metavar) {
        if (inline_val)
            val = inline_val;
        else if (*i + 1 < argc)
            val = argv[++*i];
        else
            return astrid_err_set(err, ASTRID_E_INVALID,
                                  "a value is required for '%s <%s>' but none was supplied", shown,
                                  f->metavar);
    } else if (inline_val) {
        /* -vv style clusters of the verbose switch are common; nothing else. */
        if (a[1] != '-' && gidx == G_VERBOSE && strspn(inline_val, "v") == strlen(inline_val)) {
            ctx->verbose += (int)strlen(inline_val);
        } else {
            return astrid_err_set(err, ASTRID_E_INVALID, "unexpected value '%s' for '%s'",
                                  inline_val, shown);
        }
    }
    return store_flag(ctx, idx >= 0 ? &ctx->flag[idx] : &gvals[gidx], f, val, help, err);
}

int cli_parse(cli_ctx *ctx, int argc, char **argv, astrid_err *err)
{
    cli_val gvals[N_GLOBAL_FLAGS];
    bool help = false, dashdash = false;
    memset(gvals, 0, sizeof gvals);
    ctx->cmd = &cli_root;
    ctx->path[0] = '\0';
    ctx->argc = 0;
    memset(ctx->flag, 0, sizeof ctx->flag);

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!dashdash && strcmp(a, "--") == 0) {
            dashdash = true;
            continue;
        }
        if (!dashdash && a[0] == '-' && a[1] != '\0') {
            if (parse_option(ctx, gvals, argc, argv, &i, &help, err) < 0)
                return -1;
            continue;
        }
        /* A positional word: descend while the current command is a noun and
         * nothing positional was taken yet. */
        if (ctx->cmd->sub && ctx->argc == 0 && !dashdash) {
            const cli_cmd *child = cli_find_child(ctx->cmd, a);
            if (!child) {
                if (help)
                    break;
                return astrid_err_set(err, ASTRID_E_INVALID, "unrecognized subcommand '%s'", a);
            }
            for (int k = 0; k < CLI_MAX_FLAGS; k++)
                if (ctx->flag[k].count)
                    return astrid_err_set(err, ASTRID_E_INVALID,
                                          "options must follow the subcommand '%s'", a);
            ctx->cmd = child;
            path_append(ctx, child->name);
            continue;
        }
        if (ctx->argc >= CLI_MAX_ARGS)
            return astrid_err_set(err, ASTRID_E_LIMIT, "too many arguments");
        ctx->argv[ctx->argc++] = a;
    }
    if (help)
        return 1;
    const cli_cmd *c = ctx->cmd;
    if (c->sub && !c->fn && !c->missing)
        return astrid_err_set(err, ASTRID_E_INVALID, "'astrid %s' requires a subcommand",
                              ctx->path);
    if (ctx->argc < c->min_args)
        return astrid_err_set(err, ASTRID_E_INVALID, "missing required argument%s: %s",
                              c->min_args - ctx->argc > 1 ? "s" : "", c->args ? c->args : "");
    if (c->max_args >= 0 && ctx->argc > c->max_args)
        return astrid_err_set(err, ASTRID_E_INVALID, "unexpected argument '%s' found",
                              ctx->argv[c->max_args]);
    return 0;
}

static int flag_index(const cli_ctx *ctx, const char *name)
{
    return find_flag(ctx->cmd->flags, name, strlen(name), 0);
}

const char *cli_flag_str(const cli_ctx *ctx, const char *name)
{
    int i = flag_index(ctx, name);
    if (i < 0 || ctx->flag[i].count == 0)
        return NULL;
    return ctx->flag[i].v[ctx->flag[i].count - 1];
}

int cli_flag_count(const cli_ctx *ctx, const char *name)
{
    int i = flag_index(ctx, name);
    return i < 0 ? 0 : ctx->flag[i].count;
}

const cli_val *cli_flag_vals(const cli_ctx *ctx, const char *name)
{
    int i = flag_index(ctx, name);
    return i < 0 ? NULL : &ctx->flag[i];
}
