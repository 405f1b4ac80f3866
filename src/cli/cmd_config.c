/* `astrid config show|edit|path` — the layered configuration
 * (docs/config.md, lib/config/config.h). Daemon-free: the CLI reads the
 * same files the daemon reads at boot, with the current directory (or
 * --workspace) as the workspace, as a daemon started here would. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "astrid/fs.h"
#include "astrid/home.h"
#include "cli/cli_stub.h"
#include "lib/config/config.h"

#define F_WORKSPACE                                                                                \
    {                                                                                              \
        "workspace", 'w', "DIR", "Workspace whose .astrid/config.toml is a layer (default: .)",    \
            false, false                                                                           \
    }

/* The usual layer paths for `ws` (NULL = the current directory). */
static int layer_paths(const char *ws, astrid_config_paths *p, astrid_config_pathbuf *buf,
                       astrid_err *err)
{
    char home[PATH_MAX], cwd[PATH_MAX];
    if (astrid_home_resolve(home, sizeof home, err) != 0)
        return -1;
    if (!ws) {
        if (!getcwd(cwd, sizeof cwd))
            return astrid_err_sys(err, "current directory");
        ws = cwd;
    }
    return astrid_config_default_paths(p, buf, home, ws, err);
}

int cli_config_load(const char *workspace, astrid_config **out, astrid_err *err)
{
    astrid_config_paths p = {0};
    astrid_config_pathbuf buf;
    if (layer_paths(workspace, &p, &buf, err) != 0)
        return -1;
    *out = astrid_config_load(&p, err);
    return *out ? 0 : -1;
}

static int cf_show_fn(cli_ctx *ctx)
{
    const char *fmt = ctx->format ? ctx->format : "toml";
    if (strcmp(fmt, "toml") != 0 && strcmp(fmt, "json") != 0 && strcmp(fmt, "pretty") != 0) {
        fprintf(ctx->err, "astrid: config show prints toml or json, not %s\n", fmt);
        return CLI_ERROR;
    }
    astrid_err err;
    astrid_config *c = NULL;
    if (cli_config_load(cli_flag_str(ctx, "workspace"), &c, &err) != 0)
        return cli_fail(ctx, &err);
    const char *section = cli_flag_str(ctx, "section");
    int rc = CLI_OK;
    if (strcmp(fmt, "json") == 0) {
        json_t *j = astrid_config_show_json(c, section, &err);
        char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        if (s)
            fprintf(ctx->out, "%s\n", s);
        else
            rc = cli_fail(ctx, &err);
        free(s);
        json_decref(j);
    } else {
        char *s = astrid_config_show_toml(c, section, &err);
        if (s)
            fputs(s, ctx->out);
        else
            rc = cli_fail(ctx, &err);
        free(s);
    }
    astrid_config_free(c);
    return rc;
}

static int cf_path_fn(cli_ctx *ctx)
{
    astrid_err err;
    astrid_config_paths p = {0};
    astrid_config_pathbuf buf;
    if (layer_paths(cli_flag_str(ctx, "workspace"), &p, &buf, &err) != 0)
        return cli_fail(ctx, &err);
    bool json = ctx->format && strcmp(ctx->format, "json") == 0;
    json_t *rows = json_array();
    for (int l = 0; l < ASTRID_CFG_NLAYERS; l++) {
        const char *name = astrid_config_layer_name((astrid_config_layer)l);
        if (l == ASTRID_CFG_DEFAULTS || l == ASTRID_CFG_ENV) {
            char set[1024] = "";
            for (size_t i = 0; l == ASTRID_CFG_ENV && i < astrid_config_nkeys; i++) {
                const char *v = getenv(astrid_config_schema[i].env);
                size_t o = strlen(set);
                if (v && *v)
                    snprintf(set + o, sizeof set - o, "%s%s", o ? ", " : "",
                             astrid_config_schema[i].env);
            }
            const char *what = l == ASTRID_CFG_DEFAULTS ? "built in" : "ASTRID_* variables";
            if (json)
                json_array_append_new(rows, json_pack("{s:s,s:n,s:b,s:s}", "layer", name, "path",
                                                      "present", 1, "note",
                                                      l == ASTRID_CFG_ENV && set[0] ? set : what));
            else
                fprintf(ctx->out, "%-10s %s%s%s%s\n", name, what, set[0] ? " (set: " : "", set,
                        set[0] ? ")" : "");
            continue;
        }
        struct stat st;
        const char *path = p.path[l] ? p.path[l] : "";
        bool present = *path && stat(path, &st) == 0;
        if (json)
            json_array_append_new(rows, json_pack("{s:s,s:s,s:b}", "layer", name, "path", p.path[l],
                                                  "present", present));
        else
            fprintf(ctx->out, "%-10s %s (%s)%s\n", name, p.path[l], present ? "present" : "absent",
                    l == ASTRID_CFG_WORKSPACE ? " -- may only tighten" : "");
    }
    if (json) {
        char *s = json_dumps(rows, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (s)
            fprintf(ctx->out, "%s\n", s);
        free(s);
    }
    json_decref(rows);
    return CLI_OK;
}

/* ---- edit ------------------------------------------------------------------- */

static int read_all(const char *path, char **text, size_t *len, bool *missing, astrid_err *err)
{
    *missing = false;
    if (astrid_read_file(path, ASTRID_CONFIG_MAX_BYTES, text, len, err) == 0)
        return 0;
    if (err->code == ASTRID_E_NOTFOUND || (err->code == ASTRID_E_IO && err->sys_errno == ENOENT)) {
        *missing = true;
        *text = NULL;
        *len = 0;
        return 0;
    }
    return -1;
}

/* Run the editor on `file`: $VISUAL, else $EDITOR, else vi; through sh so
 * "code --wait" works. */
static int run_editor(cli_ctx *ctx, const char *file)
{
    const char *ed = getenv("VISUAL");
    if (!ed || !*ed)
        ed = getenv("EDITOR");
    if (!ed || !*ed)
        ed = "vi";
    char sh[4096];
    snprintf(sh, sizeof sh, "%s \"$@\"", ed);
    fflush(ctx->out);
    fflush(ctx->err);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(ctx->err, "astrid: cannot start the editor: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", sh, "sh", file, (char *)NULL);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(ctx->err, "astrid: the editor (%s) failed (status %d); nothing saved\n", ed,
                WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
        return -1;
    }
    return 0;
}

static bool ask_again(cli_ctx *ctx)
{
    if (!isatty(STDIN_FILENO))
        return false;
    fprintf(ctx->err, "Edit again? [Y/n] ");
    char line[16];
    if (!fgets(line, sizeof line, stdin))
        return false;
    return line[0] != 'n' && line[0] != 'N';
}

static int cf_edit_fn(cli_ctx *ctx)
{
    const char *lname = cli_flag_str(ctx, "layer");
    astrid_config_layer layer = ASTRID_CFG_HOME;
    if (lname && strcmp(lname, "system") == 0)
        layer = ASTRID_CFG_SYSTEM;
    else if (lname && strcmp(lname, "workspace") == 0)
        layer = ASTRID_CFG_WORKSPACE;
    else if (lname && strcmp(lname, "home") != 0) {
        fprintf(ctx->err, "astrid: --layer must be system, home or workspace, not '%s'\n", lname);
        return CLI_ERROR;
    }
    astrid_err err;
    astrid_config_paths p = {0};
    astrid_config_pathbuf buf;
    if (layer_paths(cli_flag_str(ctx, "workspace"), &p, &buf, &err) != 0)
        return cli_fail(ctx, &err);
    const char *target = p.path[layer];
    char *orig = NULL;
    size_t olen = 0;
    bool missing;
    if (read_all(target, &orig, &olen, &missing, &err) != 0)
        return cli_fail(ctx, &err);
    /* The copy lives in a private directory of its own: the editor's
     * swap and backup files land there too, and go with it. */
    const char *tmpd = getenv("TMPDIR");
    char dir[PATH_MAX], tmp[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/astrid-config-XXXXXX", tmpd && *tmpd ? tmpd : "/tmp");
    if (!mkdtemp(dir)) {
        free(orig);
        fprintf(ctx->err, "astrid: cannot create a temp directory: %s\n", strerror(errno));
        return CLI_ERROR;
    }
    snprintf(tmp, sizeof tmp, "%s/config.toml", dir);
    char seed[256];
    snprintf(seed, sizeof seed,
             "# astrid %s configuration (%s).\n# Every key: astrid config show; docs/config.md.\n",
             astrid_config_layer_name(layer), target);
    const char *start = missing ? seed : orig;
    size_t slen = missing ? strlen(seed) : olen;
    int rc = CLI_ERROR;
    char *text = NULL;
    size_t tlen = 0;
    if (astrid_atomic_write(tmp, start, slen, 0600, &err) != 0) {
        rc = cli_fail(ctx, &err);
        goto out;
    }
    for (;;) {
        if (run_editor(ctx, tmp) != 0)
            goto out;
        free(text);
        text = NULL;
        bool gone;
        if (read_all(tmp, &text, &tlen, &gone, &err) != 0) {
            rc = cli_fail(ctx, &err);
            goto out;
        }
        if (gone) {
            fprintf(ctx->err, "astrid: the edited copy was removed; nothing saved\n");
            goto out;
        }
        if (tlen == slen && memcmp(text, start, tlen) == 0) {
            fprintf(ctx->out, "%s unchanged; nothing written\n", target);
            rc = CLI_OK;
            goto out;
        }
        /* Validate the merged result with the copy in the layer's place,
         * errors naming the real file. */
        astrid_config_paths vp = p;
        vp.path[layer] = tmp;
        vp.label[layer] = target;
        astrid_config *c = astrid_config_load(&vp, &err);
        if (c) {
            astrid_config_free(c);
            break;
        }
        fprintf(ctx->err, "astrid: %s\n", err.msg);
        if (!ask_again(ctx)) {
            fprintf(ctx->err, "astrid: %s left as it was; nothing saved\n", target);
            goto out;
        }
    }
    if (layer != ASTRID_CFG_SYSTEM) {
        char parent[PATH_MAX];
        snprintf(parent, sizeof parent, "%s", target);
        char *slash = strrchr(parent, '/');
        if (slash && slash != parent) {
            *slash = '\0';
            if (astrid_mkdir_p(parent, 0700, 0, &err) != 0) {
                rc = cli_fail(ctx, &err);
                goto out;
            }
        }
    }
    if (astrid_atomic_write(target, text, tlen, 0600, &err) != 0) {
        rc = cli_fail(ctx, &err);
        goto out;
    }
    fprintf(ctx->out, "saved %s\n", target);
    rc = CLI_OK;
out:
    free(orig);
    free(text);
    unlink(tmp);
    rmdir(dir); /* fails, harmlessly, when the editor left a file of its own */
    return rc;
}

static const cli_cmd cf_show = {
    .name = "show",
    .help = "Show the merged configuration, each value with its source",
    .long_help = "Layers, later ones winning key by key: defaults, /etc/astrid/config.toml "
                 "($ASTRID_SYSTEM_CONFIG), $ASTRID_HOME/config.toml, "
                 "<workspace>/.astrid/config.toml (may only tighten), ASTRID_* variables. "
                 "--format toml (default) prints each value with '# from SOURCE'; json prints "
                 "{section: {key: {value, source}}}.",
    .flags = CLI_FLAGS(CLI_F_FORMAT, {"section", 0, "S", "Only this section", false, false},
                       F_WORKSPACE),
    .fn = cf_show_fn};
static const cli_cmd cf_edit = {
    .name = "edit",
    .help = "Edit a configuration layer in $VISUAL / $EDITOR, validated before saving",
    .long_help = "Edits a copy of the layer's file (default home); the merged result is "
                 "validated and the file saved atomically (0600) only when valid. An invalid "
                 "edit is offered again on a terminal, else refused with the file untouched; an "
                 "unchanged copy writes nothing.",
    .flags = CLI_FLAGS({"layer", 0, "LAYER", "system, home (default) or workspace", false, false},
                       F_WORKSPACE),
    .fn = cf_edit_fn};
static const cli_cmd cf_path = {.name = "path",
                                .help = "Print every configuration layer and its file",
                                .flags = CLI_FLAGS(CLI_F_FORMAT, F_WORKSPACE),
                                .fn = cf_path_fn};

const cli_cmd cli_cmd_config = {.name = "config",
                                .help = "Show and edit the layered configuration",
                                .sub = CLI_SUB(&cf_show, &cf_edit, &cf_path)};
