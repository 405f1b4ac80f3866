/* The capsule installer. See install.h. */
#include "capsule/install.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "astrid/blake3.h"
#include "astrid/fs.h"
#include "astrid/home.h"
#include "astrid/jsonsafe.h"
#include "capsule/hooks.h"
#include "capsule/invoke.h"
#include "lib/manifest/manifest.h"

/* bin/{hash}.wasm or wit/{hash}.wit, written once (content-addressed). */
static int store_blob(const char *home, bool wit, const char *data, size_t len, char hash[65],
                      astrid_err *err)
{
    astrid_blake3_hex(data, len, hash);
    char dir[4200], path[4400];
    if ((wit ? astrid_home_wit_dir : astrid_home_bin_dir)(dir, sizeof dir, home, err) != 0 ||
        astrid_mkdir_p(dir, 0700, 0, err) != 0 ||
        (wit ? astrid_home_wit_blob : astrid_home_wasm_blob)(path, sizeof path, home, hash, err) !=
            0)
        return -1;
    if (access(path, F_OK) == 0)
        return 0;
    return astrid_atomic_write(path, data, len, 0600, err);
}

/* The capsule's .wit files into `map` (path -> blob hash). An unreadable
 * file is left out as before; -1 only when the map cannot grow (ENOMEM):
 * a meta.json missing a row it should list is not written. */
static int wit_files(const char *home, const char *root, const char *rel, json_t *map, int depth)
{
    char path[4200];
    snprintf(path, sizeof path, "%s%s%s", root, *rel ? "/" : "", rel);
    DIR *d = opendir(path);
    if (!d || depth > 8) {
        if (d)
            closedir(d);
        return 0;
    }
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char sub[4200], full[8500];
        snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
        snprintf(full, sizeof full, "%s/%s", root, sub);
        struct stat st;
        if (lstat(full, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            rc = wit_files(home, root, sub, map, depth + 1);
        } else if (S_ISREG(st.st_mode) && strlen(de->d_name) > 4 &&
                   strcmp(de->d_name + strlen(de->d_name) - 4, ".wit") == 0) {
            char *buf = NULL, hash[65];
            size_t len = 0;
            if (astrid_read_file(full, 1u << 20, &buf, &len, NULL) == 0 &&
                store_blob(home, true, buf, len, hash, NULL) == 0)
                rc = json_object_set_new(map, sub, json_string(hash));
            free(buf);
        }
    }
    closedir(d);
    return rc;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* The scratch unpack directory (ours, under run/): depth-first, no links
 * followed. */
static void remove_tree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A complete install: meta.json is a JSON object naming a version and a
 * wasm_hash, beside a Capsule.toml. Anything less in the directory is what
 * an install killed half-way left (older releases wrote Capsule.toml
 * before meta.json in place), not a previous install: no upgrade hook,
 * "Installed", and the leftovers go. */
static json_t *complete_install(const char *dir)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/Capsule.toml", dir);
    if (access(path, F_OK) != 0)
        return NULL;
    snprintf(path, sizeof path, "%s/meta.json", dir);
    json_t *meta = astrid_json_load_file(path, 0, NULL);
    /* an MCP-only capsule (docs/mcp.md) has no wasm, and says so */
    if (!json_is_object(meta) || !json_is_string(json_object_get(meta, "version")) ||
        (!json_is_string(json_object_get(meta, "wasm_hash")) &&
         !json_is_true(json_object_get(meta, "mcp_only")))) {
        json_decref(meta);
        return NULL;
    }
    return meta;
}

/* Remove `{target}/.{name}.staging-*` and `.{name}.old-*`: what installs
 * of this capsule killed before their commit left. The caller holds the
 * target's install lock, so none of them is still being written. */
static void sweep_leftovers(const char *target, const char *name)
{
    DIR *d = opendir(target);
    if (!d)
        return;
    char pre[2][160];
    snprintf(pre[0], sizeof pre[0], ".%s.staging-", name);
    snprintf(pre[1], sizeof pre[1], ".%s.old-", name);
    struct dirent *de;
    while ((de = readdir(d)))
        for (int i = 0; i < 2; i++)
            if (strncmp(de->d_name, pre[i], strlen(pre[i])) == 0) {
                char path[4400];
                snprintf(path, sizeof path, "%s/%s", target, de->d_name);
                remove_tree(path);
            }
    closedir(d);
}

/* Put the filled staging directory in place of `dir` in one step: an
 * exchange when something is there (the old install, or an interrupted
 * one's leftovers), else a rename. A kill at any moment leaves either the
 * old directory or the new one at `dir`, never a mix. */
static int commit_dir(const char *target, const char *name, const char *stage, const char *dir,
                      astrid_err *err)
{
    struct stat st;
    if (lstat(dir, &st) != 0) {
        if (rename(stage, dir) != 0)
            return astrid_err_sys(err, "rename %s to %s", stage, dir);
    } else if (renameat2(AT_FDCWD, stage, AT_FDCWD, dir, RENAME_EXCHANGE) == 0) {
        remove_tree(stage); /* now the old one */
    } else {
        /* a filesystem without RENAME_EXCHANGE: move the old aside first
         * (a kill in between leaves no install; the next one sweeps) */
        char old[4400];
        snprintf(old, sizeof old, "%s/.%s.old-XXXXXX", target, name);
        if (!mkdtemp(old) || rename(dir, old) != 0 || rename(stage, dir) != 0)
            return astrid_err_sys(err, "replace %s", dir);
        remove_tree(old);
    }
    return astrid_fsync_dir(target, err);
}

bool astrid_install_path_under(const char *real, const char *root)
{
    size_t n = strlen(root);
    while (n > 1 && root[n - 1] == '/')
        n--;
    return strncmp(real, root, n) == 0 && (real[n] == '/' || real[n] == '\0' || n == 1);
}

/* The forbid_under rule for one file of a directory source. A path that
 * does not resolve is left to the read that follows, which names it. The
 * check and the read are two steps: the rule keeps a principal from
 * naming files under $ASTRID_HOME, not a same-uid process that swaps
 * links meanwhile (that one can read $ASTRID_HOME anyway). */
static int confined(const astrid_install_opts *o, const char *path, astrid_err *err)
{
    char real[PATH_MAX];
    if (!o->forbid_under || !realpath(path, real) ||
        !astrid_install_path_under(real, o->forbid_under))
        return 0;
    return astrid_err_set(err, ASTRID_E_PERM,
                          "%s resolves under %s: an install does not read from there", path,
                          o->forbid_under);
}

static int check_cancel(const astrid_install_opts *o, astrid_err *err)
{
    if (o->cancel && atomic_load(o->cancel))
        return astrid_err_set(err, ASTRID_E_INTERNAL,
                              "install cancelled: its requester went away; nothing was written");
    return 0;
}

static void now_rfc3339(char out[40])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 40, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

typedef struct prog {
    const astrid_install_opts *o;
} prog;

static void on_stage(void *user, astrid_wasm_stage stage, const char *what)
{
    const prog *p = user;
    static const char *const names[] = {"validating", "translating (wasm2c)", "compiling (cc)",
                                        "cached"};
    char line[512];
    snprintf(line, sizeof line, "%s %s", names[stage], what ? what : "");
    if (p->o->progress)
        p->o->progress(p->o->progress_ctx, line);
}

int astrid_capsule_install(const astrid_install_opts *o, astrid_install_result *res,
                           astrid_err *err)
{
    memset(res, 0, sizeof *res);
    struct stat st;
    if (stat(o->source, &st) != 0)
        return astrid_err_sys(err, "%s", o->source);
    char unpacked[4200] = "", src[4200];
    if (S_ISDIR(st.st_mode)) {
        snprintf(src, sizeof src, "%s", o->source);
    } else {
        char run[4200];
        if (astrid_home_run_temp(unpacked, sizeof unpacked, o->home, "unpack", err) != 0 ||
            astrid_home_run_dir(run, sizeof run, o->home, err) != 0)
            return -1;
        if (astrid_mkdir_p(run, 0700, 0, err) != 0 || !mkdtemp(unpacked))
            return unpacked[0] = '\0', astrid_err_sys(err, "mkdtemp in %s", run);
        if (o->progress)
            o->progress(o->progress_ctx, "unpacking archive");
        if (!o->unpack) {
            astrid_err_set(err, ASTRID_E_UNSUPPORTED, "no archive unpacker given");
            goto fail;
        }
        if (o->unpack(o->source, unpacked, err) != 0 || check_cancel(o, err) != 0)
            goto fail;
        snprintf(src, sizeof src, "%s", unpacked);
    }
    /* an unpacked archive holds regular files only (unpack.c) */
    const astrid_install_opts *co = unpacked[0] ? NULL : o;
    char path[8400];
    snprintf(path, sizeof path, "%s/Capsule.toml", src);
    if (co && confined(co, path, err) != 0)
        goto fail;
    astrid_manifest *m = astrid_manifest_load(path, err);
    if (!m)
        goto fail;
    int rc = -1;
    char *wasm = NULL, *toml = NULL;
    size_t wlen = 0, tlen = 0;
    json_t *meta = NULL, *wits = json_object(), *topics = NULL;
    astrid_capsule_engine *e = NULL;
    char stage[4400] = "";
    int lockfd = -1;
    /* a capsule of stdio MCP servers only has no component (upstream
     * selects engines from the manifest, §6.8): nothing to compile or hook */
    bool mcp_only = !m->wasm_file && astrid_manifest_stdio_servers(m) > 0;
    if (!m->wasm_file && !mcp_only) {
        astrid_err_set(err, ASTRID_E_INVALID,
                       "%s: no [[component]] file and no stdio [[mcp_server]]: nothing to run",
                       path);
        goto out;
    }
    if (o->vet && o->vet(o->vet_ctx, m, err) != 0)
        goto out;
    snprintf(path, sizeof path, "%s/Capsule.toml", src);
    if (astrid_read_file(path, 1u << 20, &toml, &tlen, err) != 0)
        goto out;
    /* schemas before the compile and the hook: a wit_type that does not
     * resolve refuses the install before anything runs */
    if (!(topics = astrid_capsule_topics(toml, tlen, src, err)))
        goto out;
    if (mcp_only) {
        snprintf(res->dir, sizeof res->dir, "%s/%s", o->target, m->name);
        goto write;
    }
    snprintf(path, sizeof path, "%s/%s", src, m->wasm_file);
    if ((co && confined(co, path, err) != 0) ||
        astrid_read_file(path, 64u << 20, &wasm, &wlen, err) != 0)
        goto out;
    /* compile first: a module the engine refuses is not installed */
    prog pg = {o};
    astrid_wasm_load_opts lo = {.progress = on_stage, .progress_user = &pg};
    if (!o->engine && !(e = astrid_capsule_engine_new(o->home, err)))
        goto out;
    astrid_wasm_module *mod =
        astrid_wasm_module_load(o->engine ? o->engine : astrid_capsule_engine_wasm(e),
                                (uint8_t *)wasm, wlen, &lo, NULL, err);
    if (!mod)
        goto out;
    if (check_cancel(o, err) != 0) {
        astrid_wasm_module_free(mod);
        goto out;
    }
    /* The lifecycle hook runs before anything is written: a failing hook
     * leaves the previous install as it was. */
    snprintf(res->dir, sizeof res->dir, "%s/%s", o->target, m->name);
    json_t *prev = complete_install(res->dir);
    bool upgrade = prev != NULL, ran = false;
    json_decref(prev);
    if (o->progress && !o->no_hooks)
        o->progress(o->progress_ctx, upgrade ? "upgrade hook (astrid-upgrade, if exported)"
                                             : "install hook (astrid-install, if exported)");
    int hrc = o->no_hooks ? 0
                          : astrid_capsule_run_hook(o->home, o->kv, mod, m,
                                                    o->principal ? o->principal : "default",
                                                    upgrade, &ran, err);
    astrid_wasm_module_free(mod);
    if (hrc != 0 || check_cancel(o, err) != 0)
        goto out;
    res->hook_ran = ran;
    if (store_blob(o->home, false, wasm, wlen, res->wasm_hash, err) != 0)
        goto out;
write:
    if (astrid_mkdir_p(o->target, 0700, 0, err) != 0)
        goto out;
    /* One install into a capsules directory at a time: the sweep below
     * must not take another install's staging directory. flock ends with
     * the process, so a killed install never leaves it held. */
    if ((lockfd = open(o->target, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        astrid_err_sys(err, "open %s", o->target);
        goto out;
    }
    if (flock(lockfd, LOCK_EX | LOCK_NB) != 0) {
        if (o->progress)
            o->progress(o->progress_ctx, "waiting for another install into this directory");
        if (flock(lockfd, LOCK_EX) != 0) {
            astrid_err_sys(err, "lock %s", o->target);
            goto out;
        }
    }
    if (check_cancel(o, err) != 0)
        goto out;
    sweep_leftovers(o->target, m->name);
    snprintf(stage, sizeof stage, "%s/.%s.staging-XXXXXX", o->target, m->name);
    if (!mkdtemp(stage)) {
        stage[0] = '\0';
        astrid_err_sys(err, "mkdtemp in %s", o->target);
        goto out;
    }
    snprintf(src + strlen(src), sizeof src - strlen(src), "/wit");
    astrid_err werr;
    if ((!co || confined(co, src, &werr) == 0) && wits && wit_files(o->home, src, "", wits, 0)) {
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        goto out;
    }
    char now[40];
    now_rfc3339(now);
    json_t *old = complete_install(res->dir);
    res->upgraded = old != NULL;
    const char *installed_at = json_string_value(json_object_get(old, "installed_at"));
    char abs_src[4200];
    if (o->record_source)
        snprintf(abs_src, sizeof abs_src, "%s", o->record_source);
    else if (!realpath(o->source, abs_src))
        snprintf(abs_src, sizeof abs_src, "%s", o->source);
    meta = json_pack("{s:s,s:s,s:s,s:s}", "version", m->version, "installed_at",
                     installed_at ? installed_at : now, "updated_at", now, "source", abs_src);
    json_decref(old);
    /* Every field or no install: under ENOMEM a meta.json without its
     * wasm_hash was written and the install acknowledged, and the capsule
     * then never loaded (fault sweep, install N 424-426). */
    if (!meta || !wits ||
        json_object_set_new(meta, mcp_only ? "mcp_only" : "wasm_hash",
                            mcp_only ? json_true() : json_string(res->wasm_hash)) != 0 ||
        (json_object_size(wits) && json_object_set(meta, "wit_files", wits) != 0) ||
        (json_array_size(topics) && json_object_set(meta, "topics", topics) != 0)) {
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        goto out;
    }
    if (o->local_wasm && !mcp_only) {
        snprintf(path, sizeof path, "%s/%s", stage, m->wasm_file);
        if (strchr(m->wasm_file, '/') || astrid_atomic_write(path, wasm, wlen, 0600, err) != 0) {
            if (strchr(m->wasm_file, '/'))
                astrid_err_set(err, ASTRID_E_INVALID,
                               "%s: a workspace install needs the component file at the "
                               "capsule's top level",
                               m->name);
            goto out;
        }
    }
    /* Everything goes into the staging directory, which then replaces
     * res->dir in one rename: until then nothing is installed. */
    char mpath[4400];
    snprintf(path, sizeof path, "%s/Capsule.toml", stage);
    snprintf(mpath, sizeof mpath, "%s/meta.json", stage);
    char *mtext = astrid_json_dumps(meta, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (!mtext || astrid_atomic_write(path, toml, tlen, 0600, err) != 0 ||
        astrid_atomic_write(mpath, mtext, strlen(mtext), 0600, err) != 0) {
        if (!mtext)
            astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        free(mtext);
        goto out;
    }
    free(mtext);
    if (check_cancel(o, err) != 0 || commit_dir(o->target, m->name, stage, res->dir, err) != 0)
        goto out;
    stage[0] = '\0';
    snprintf(res->name, sizeof res->name, "%s", m->name);
    snprintf(res->version, sizeof res->version, "%s", m->version);
    rc = 0;
out:
    if (stage[0])
        remove_tree(stage);
    if (lockfd >= 0)
        close(lockfd);
    astrid_capsule_engine_free(e);
    json_decref(meta);
    json_decref(wits);
    json_decref(topics);
    free(wasm);
    free(toml);
    astrid_manifest_free(m);
    if (rc == 0) {
        if (unpacked[0])
            remove_tree(unpacked);
        return 0;
    }
fail:
    if (unpacked[0])
        remove_tree(unpacked);
    return -1;
}
