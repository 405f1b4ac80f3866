/* `astrid distro apply|show|update` and `astrid init` (reference §15.1,
 * docs/distro.md). The flow itself is distro_apply.c. */
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "astrid/fs.h"
#include "astrid/home.h"
#include "cli/admin.h"
#include "cli/cli_stub.h"
#include "cli/context.h"
#include "cli/distro.h"
#include "lib/distro/distro.h"

#define F_VAR                                                                                      \
    {                                                                                              \
        "var", 0, "KEY=VALUE", "Answer a distro variable (repeatable)", true, false                \
    }

static int d_apply_fn(cli_ctx *ctx)
{
    cli_distro_opts o = {.spec = ctx->argc ? ctx->argv[0] : NULL,
                         .agent = cli_flag_str(ctx, "agent"),
                         .vars = cli_flag_vals(ctx, "var"),
                         .yes = ctx->yes};
    return cli_distro_apply(ctx, &o);
}

static int init_fn(cli_ctx *ctx)
{
    cli_distro_opts o = {
        .spec = cli_flag_str(ctx, "distro"), .vars = cli_flag_vals(ctx, "var"), .yes = ctx->yes};
    return cli_distro_apply(ctx, &o);
}

static int lock_of(cli_ctx *ctx, char *home, char *p, astrid_distro_lock **l)
{
    astrid_err err;
    char lp[PATH_MAX + 32];
    if (cli_home(home, PATH_MAX, &err) < 0 ||
        cli_target_agent(cli_flag_str(ctx, "agent"), home, p, CLI_PRINCIPAL_MAX, &err) < 0 ||
        astrid_home_distro_lock(lp, sizeof lp, home, p, &err) < 0)
        return cli_fail(ctx, &err);
    if (astrid_distro_lock_read(lp, l, &err) < 0) {
        if (err.code == ASTRID_E_NOTFOUND)
            fprintf(ctx->err, "astrid: agent %s has no distro (no %s); run `astrid init`\n", p, lp);
        else
            cli_fail(ctx, &err);
        return CLI_ERROR;
    }
    return CLI_OK;
}

/* What is installed against the lock: a capsule missing, at another
 * version or with another wasm hash than locked is drift. */
static int d_show_fn(cli_ctx *ctx)
{
    char home[PATH_MAX], p[CLI_PRINCIPAL_MAX];
    astrid_distro_lock *l = NULL;
    int rc = lock_of(ctx, home, p, &l);
    if (rc != CLI_OK || !l)
        return rc != CLI_OK ? rc : CLI_ERROR;
    json_t *caps = json_array();
    size_t drift = 0;
    for (size_t i = 0; i < l->n_caps; i++) {
        const astrid_distro_lock_capsule *x = &l->caps[i];
        char cdir[PATH_MAX], mp[PATH_MAX + 16];
        json_t *m = NULL;
        astrid_err perr;
        if (astrid_home_capsule_dir(cdir, sizeof cdir, home, p, x->name, &perr) >= 0 &&
            astrid_path_join(mp, sizeof mp, cdir, "meta.json", &perr) == 0)
            m = json_load_file(mp, 0, NULL);
        const char *iv = json_string_value(json_object_get(m, "version"));
        const char *ih = json_string_value(json_object_get(m, "wasm_hash"));
        const char *state = "ok";
        if (!m)
            state = "missing";
        else if (!iv || strcmp(iv, x->version) != 0)
            state = "version differs";
        else if (x->hash[0] &&
                 (!ih || strncmp(x->hash, "blake3:", 7) != 0 || strcmp(x->hash + 7, ih) != 0))
            state = "hash differs";
        drift += strcmp(state, "ok") != 0;
        json_array_append_new(caps, json_pack("{s:s,s:s,s:s?,s:s,s:s?,s:s,s:b}", "name", x->name,
                                              "locked_version", x->version, "installed_version", iv,
                                              "locked_hash", x->hash, "installed_hash", ih, "state",
                                              state, "drift", strcmp(state, "ok") != 0));
        json_decref(m);
    }
    if (ctx->format && strcmp(ctx->format, "pretty") != 0) {
        json_t *out = json_pack("{s:s,s:s,s:s,s:s,s:o,s:I}", "agent", p, "id", l->id, "version",
                                l->version, "resolved_at", l->resolved_at ? l->resolved_at : "",
                                "capsules", caps, "drift", (json_int_t)drift);
        astrid_distro_lock_free(l);
        return cli_output(ctx, out);
    }
    fprintf(ctx->out, "Distro %s %s for agent %s (resolved %s)\n", l->id, l->version, p,
            l->resolved_at ? l->resolved_at : "?");
    fprintf(ctx->out, "  %-34s %-8s %-9s %s\n", "CAPSULE", "LOCKED", "INSTALLED", "STATE");
    size_t i;
    json_t *c;
    json_array_foreach(caps, i, c)
    {
        bool dr = json_is_true(json_object_get(c, "drift"));
        fprintf(ctx->out, "%c %-34s %-8s %-9s %s\n", dr ? '!' : ' ',
                json_string_value(json_object_get(c, "name")),
                json_string_value(json_object_get(c, "locked_version")),
                json_string_value(json_object_get(c, "installed_version")) ?: "-",
                json_string_value(json_object_get(c, "state")));
    }
    if (drift)
        fprintf(ctx->out,
                "%zu capsule(s) drifted from the lock (marked !); `astrid distro update` "
                "reinstalls them\n",
                drift);
    else
        fprintf(ctx->out, "No drift.\n");
    json_decref(caps);
    astrid_distro_lock_free(l);
    return CLI_OK;
}

/* Reinstall what changed: entries whose version or source moved in the
 * Distro.toml, capsules drifted from the lock, and new entries. */
static int d_update_fn(cli_ctx *ctx)
{
    char home[PATH_MAX], p[CLI_PRINCIPAL_MAX];
    astrid_distro_lock *l = NULL;
    int rc = lock_of(ctx, home, p, &l);
    if (rc != CLI_OK || !l)
        return rc != CLI_OK ? rc : CLI_ERROR;
    char id[128];
    snprintf(id, sizeof id, "%s", l->id);
    astrid_distro_lock_free(l);
    cli_distro_opts o = {.spec = ctx->argc ? ctx->argv[0] : id,
                         .agent = cli_flag_str(ctx, "agent"),
                         .vars = cli_flag_vals(ctx, "var"),
                         .yes = true,
                         .force = true};
    return cli_distro_apply(ctx, &o);
}

static const cli_cmd d_apply = {.name = "apply",
                                .args = "[NAME|PATH]",
                                .max_args = 1,
                                .help = "Apply a distro to an agent (same flow as init)",
                                .flags = CLI_FLAGS(CLI_F_AGENT, F_VAR),
                                .fn = d_apply_fn};
static const cli_cmd d_show = {.name = "show",
                               .max_args = 0,
                               .help = "Show the applied distro: installed against the lock",
                               .flags = CLI_FLAGS(CLI_F_AGENT, CLI_F_FORMAT),
                               .fn = d_show_fn};
static const cli_cmd d_update = {.name = "update",
                                 .args = "[NAME|PATH]",
                                 .max_args = 1,
                                 .help = "Reinstall what changed since the lock",
                                 .flags = CLI_FLAGS(CLI_F_AGENT, F_VAR),
                                 .fn = d_update_fn};

const cli_cmd cli_cmd_distro = {.name = "distro",
                                .help = "Apply and inspect distros",
                                .sub = CLI_SUB(&d_apply, &d_show, &d_update)};

const cli_cmd cli_cmd_init = {
    .name = "init",
    .max_args = 0,
    .help = "Install a distro (default: astralis) for the active agent",
    .flags = CLI_FLAGS(
        {"distro", 0, "NAME|PATH", "Distro name, Distro.toml path or directory", false, false},
        F_VAR),
    .fn = init_fn};
