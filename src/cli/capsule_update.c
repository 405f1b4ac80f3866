/* `astrid capsule update [NAME] [--workspace]`: re-install capsules from
 * the source their meta.json records (reference §15.3). A capsule whose
 * source still holds the same wasm and Capsule.toml is left alone
 * (unchanged); a source that now declares another name is refused, so an
 * update never installs a different capsule. Remote sources (@org/repo,
 * GitHub) need the downloader this release does not build. */
#include <dirent.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "astrid/blake3.h"
#include "astrid/fs.h"
#include "astrid/home.h"
#include "capsule/install.h"
#include "cli/capsule_util.h"
#include "cli/context.h"
#include "cli/cli_stub.h"

enum outcome { UPDATED, UNCHANGED, FAILED, REMOTE };

static bool is_remote(const char *src)
{
    return src[0] == '@' || strncmp(src, "openclaw:", 9) == 0 || strstr(src, "://") ||
           strncmp(src, "github.com/", 11) == 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Does the source directory hold what is installed (same wasm hash, same
 * Capsule.toml bytes)? */
static int compare(const char *src, const char *name, const char *installed, const char *old_hash,
                   bool *same, astrid_err *err)
{
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/Capsule.toml", src);
    astrid_manifest *m = astrid_manifest_load(path, err);
    if (!m)
        return -1;
    int rc = -1;
    char *wasm = NULL, *toml = NULL, *old = NULL, hash[65];
    size_t wl = 0, tl = 0, ol = 0;
    if (strcmp(m->name, name) != 0) {
        astrid_err_set(err, ASTRID_E_INVALID, "%s now declares capsule '%s', not '%s'", path,
                       m->name, name);
        goto out;
    }
    if (!m->wasm_file) {
        astrid_err_set(err, ASTRID_E_INVALID, "%s: no [[component]] file: nothing to run", path);
        goto out;
    }
    if (astrid_read_file(path, 1u << 20, &toml, &tl, err) != 0)
        goto out;
    snprintf(path, sizeof path, "%s/%s", src, m->wasm_file);
    if (astrid_read_file(path, 64u << 20, &wasm, &wl, err) != 0)
        goto out;
    astrid_blake3_hex(wasm, wl, hash);
    snprintf(path, sizeof path, "%s/Capsule.toml", installed);
    *same = old_hash && strcmp(hash, old_hash) == 0 &&
            astrid_read_file(path, 1u << 20, &old, &ol, NULL) == 0 && ol == tl &&
            memcmp(old, toml, tl) == 0;
    rc = 0;
out:
    free(wasm);
    free(toml);
    free(old);
    astrid_manifest_free(m);
    return rc;
}

/* Unpack an archive source to a scratch dir under run/ just to compare. */
static int compare_source(const char *home, const char *src, const char *name,
                          const char *installed, const char *old_hash, bool *same, astrid_err *err)
{
    struct stat st;
    if (stat(src, &st) != 0)
        return astrid_err_sys(err, "source %s", src);
    if (S_ISDIR(st.st_mode))
        return compare(src, name, installed, old_hash, same, err);
    char run[PATH_MAX], tmp[PATH_MAX + 32];
    if (astrid_home_run_dir(run, sizeof run, home, err) != 0 ||
        astrid_home_run_temp(tmp, sizeof tmp, home, "update", err) != 0)
        return -1;
    if (astrid_mkdir_p(run, 0700, 0, err) != 0 || !mkdtemp(tmp))
        return astrid_err_sys(err, "mkdtemp in %s", run);
    int rc = cli_capsule_unpack(src, tmp, err);
    if (rc == 0)
        rc = compare(tmp, name, installed, old_hash, same, err);
    nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}

static enum outcome update_one(cli_ctx *ctx, const char *home, const char *dir, const char *name)
{
    char path[PATH_MAX + 300], cdir[PATH_MAX + 200];
    snprintf(cdir, sizeof cdir, "%s/%s", dir, name);
    snprintf(path, sizeof path, "%s/meta.json", cdir);
    /* the upgrade hook runs as the installing agent (workspace: default) */
    char who[CLI_PRINCIPAL_MAX] = "default", me[CLI_PRINCIPAL_MAX] = "default";
    astrid_err cerr;
    cli_context_active(home, me, sizeof me, &cerr);
    if (!cli_flag_count(ctx, "workspace"))
        snprintf(who, sizeof who, "%s", me);
    cli_capsule_vet vet = {.home = home, .owner = who, .installer = me};
    json_error_t je;
    json_t *meta = json_load_file(path, 0, &je);
    const char *src = json_string_value(json_object_get(meta, "source"));
    const char *old_hash = json_string_value(json_object_get(meta, "wasm_hash"));
    const char *old_ver = json_string_value(json_object_get(meta, "version"));
    enum outcome o = FAILED;
    astrid_err err = {0};
    bool same = false;
    if (!meta) {
        fprintf(ctx->out, "%s: failed: %s: %s\n", name, path, je.text);
    } else if (!src || !*src) {
        fprintf(ctx->out, "%s: failed: meta.json records no source to update from\n", name);
    } else if (is_remote(src)) {
        fprintf(ctx->out,
                "%s: skipped: remote source %s is not available in this release (needs the "
                "GitHub release downloader, reference §15.3)\n",
                name, src);
        o = REMOTE;
    } else if (compare_source(home, src, name, cdir, old_hash, &same, &err) != 0) {
        fprintf(ctx->out, "%s: failed: %s\n", name, err.msg);
    } else if (same) {
        fprintf(ctx->out, "%s: unchanged (%s, wasm %.12s)\n", name, old_ver ? old_ver : "?",
                old_hash);
        o = UNCHANGED;
    } else {
        astrid_install_opts io = {.home = home,
                                  .source = src,
                                  .target = dir,
                                  .progress = cli_capsule_progress,
                                  .progress_ctx = ctx,
                                  .unpack = cli_capsule_unpack,
                                  .principal = who,
                                  .local_wasm = cli_flag_count(ctx, "workspace") > 0,
                                  .vet = cli_capsule_vet_fn,
                                  .vet_ctx = &vet};
        astrid_install_result r;
        int irc = astrid_capsule_install(&io, &r, &err);
        json_decref(vet.asks);
        if (irc != 0) {
            fprintf(ctx->out, "%s: failed: %s\n", name, err.msg);
        } else {
            fprintf(ctx->out, "%s: updated %s -> %s (wasm %.12s)\n", name, old_ver ? old_ver : "?",
                    r.version, r.wasm_hash);
            o = UPDATED;
        }
    }
    json_decref(meta);
    return o;
}

static int by_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int capsule_update(cli_ctx *ctx)
{
    char home[PATH_MAX], dir[PATH_MAX];
    int rc = cli_capsules_dir(ctx, home, dir, sizeof dir);
    if (rc != CLI_OK)
        return rc;
    char *names[512];
    size_t n = 0;
    if (ctx->argc == 1) {
        char meta[PATH_MAX + 300];
        snprintf(meta, sizeof meta, "%s/%s/meta.json", dir, ctx->argv[0]);
        if (!cli_capsule_name_ok(ctx->argv[0]) || access(meta, F_OK) != 0) {
            fprintf(ctx->err, "astrid: no capsule '%s' installed in %s\n", ctx->argv[0], dir);
            return CLI_ERROR;
        }
        names[n++] = strdup(ctx->argv[0]);
    } else {
        DIR *d = opendir(dir);
        struct dirent *de;
        while (d && (de = readdir(d)) && n < sizeof names / sizeof *names) {
            char meta[PATH_MAX + 300];
            snprintf(meta, sizeof meta, "%s/%s/meta.json", dir, de->d_name);
            if (de->d_name[0] != '.' && access(meta, F_OK) == 0)
                names[n++] = strdup(de->d_name);
        }
        if (d)
            closedir(d);
        if (n == 0) {
            fprintf(ctx->out, "No capsules installed in %s\n", dir);
            return CLI_OK;
        }
        qsort(names, n, sizeof *names, by_str);
    }
    size_t count[4] = {0};
    for (size_t i = 0; i < n; i++) {
        count[names[i] ? update_one(ctx, home, dir, names[i]) : FAILED]++;
        free(names[i]);
    }
    if (count[UPDATED])
        cli_capsule_reload(ctx, home);
    if (n > 1)
        fprintf(ctx->out, "%zu updated, %zu unchanged, %zu failed%s\n", count[UPDATED],
                count[UNCHANGED], count[FAILED], count[REMOTE] ? ", some skipped (remote)" : "");
    return count[FAILED] ? CLI_ERROR : count[REMOTE] ? CLI_UNAVAILABLE : CLI_OK;
}

const cli_cmd cli_capsule_update = {
    .name = "update",
    .args = "[name]",
    .max_args = 1,
    .help = "Re-install capsules from their source",
    .long_help = "Re-installs NAME (default: every installed capsule) from the local directory or "
                 ".capsule file its meta.json records as `source`, and reports each as updated, "
                 "unchanged (same wasm and Capsule.toml) or failed. Exits 1 when any failed, 2 "
                 "when a remote source (@org/repo, GitHub) was skipped.",
    .flags =
        CLI_FLAGS({"workspace", 0, NULL, "Use the workspace's .astrid/capsules", false, false}),
    .fn = capsule_update};
