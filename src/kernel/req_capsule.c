/* Capsule writes served by the daemon. See req_capsule.h; wire shapes in
 * docs/wire.md "Capsule management", the install rules in docs/capsules.md.
 *
 * Each request is one job: the loop thread checks the request's shape,
 * starts the job thread and returns; the job thread does the file work
 * (reading the source as the operator's uid, compiling, running the
 * lifecycle hook, writing under $ASTRID_HOME) and reports progress to the
 * requesting connection only; the loop thread joins it, reloads what the
 * requester may reload and replies, through the bus, so the reply follows
 * the progress lines on the connection. */
#include "kernel/req_capsule.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "astrid/blake3.h"
#include "astrid/errkind.h"
#include "astrid/fs.h"
#include "astrid/home.h"
#include "astrid/jsonsafe.h"
#include "astrid/principal.h"
#include "capsule/install.h"
#include "capsule/invoke.h"
#include "lib/manifest/installed.h"
#include "lib/manifest/manifest.h"
#include "lib/manifest/privilege.h"
#include "kernel/capsule_fetch.h"
#include "kernel/capsules.h"
#include "kernel/kernel.h"
#include "kernel/requests.h"
#include "store/secrets.h"

extern char **environ;

/* Jobs at once, daemon-wide and per principal: each may hold a compiler
 * and a guest, and one agent must not take every slot. */
#define JOBS_MAX 8
#define JOBS_PER_PRINCIPAL 3
/* Capsules one UpdateCapsule walks (as the CLI did). */
#define UPDATE_MAX 512

typedef enum job_kind { JOB_INSTALL, JOB_UPDATE, JOB_REMOVE, JOB_CONFIG, JOB_GC } job_kind;

typedef struct job {
    struct job *next; /* on jobs->running, then jobs->done (jobs->lock) */
    astrid_kernel *k;
    job_kind kind;
    pthread_t thread;
    atomic_bool cancel;
    char principal[65];                  /* the requester */
    char source_id[ASTRID_UUID_STR_LEN]; /* its connection */
    char *suffix;
    json_t *request_id; /* a string, or NULL */
    json_t *params;     /* deep copy, an object */
    /* Written by the job thread, read by the loop after the join. */
    int rc;
    astrid_err err;
    json_t *data;
    bool reload; /* files changed: reload for the requester */
} job;

struct astrid_capsule_jobs {
    pthread_mutex_t lock; /* guards running, done, nrunning, stopping */
    pthread_cond_t idle;  /* signalled when a job leaves `running` */
    job *running, *done;
    size_t nrunning;
    bool stopping;
    uv_async_t async; /* wakes the loop when a job is done */
    /* bin/ and wit/ blobs: an install or update holds it shared from its
     * first blob write to its commit, gc alone (so gc never sweeps the
     * blob of an install that has not written its meta.json yet). */
    pthread_rwlock_t blob_lock;
    /* env JSON read-modify-writes (SetCapsuleConfig, RemoveCapsule --purge) */
    pthread_mutex_t env_lock;
    char home_real[PATH_MAX]; /* realpath($ASTRID_HOME): sources may not be under it */
};

/* ------------------------------------------------------------ helpers */

static bool name_ok(const char *name)
{
    size_t n = strlen(name);
    return n && n <= 64 && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

static const char *str_param(const job *j, const char *key)
{
    return json_string_value(json_object_get(j->params, key));
}

static bool bool_param(const job *j, const char *key)
{
    return json_is_true(json_object_get(j->params, key));
}

static void progress_msg(job *j, json_t *body)
{
    char topic[512];
    snprintf(topic, sizeof topic, "astrid.v1.response.%s.progress", j->suffix);
    if (j->request_id)
        json_object_set(body, "request_id", j->request_id);
    astrid_err err;
    if (astrid_kernel_publish_to(j->k, j->source_id, NULL, topic, body, j->principal, &err) != 0)
        astrid_klog(j->k, "WARN", "capsule job progress on %s not sent: %s", topic, err.msg);
    json_decref(body);
}

/* astrid_install_progress: one line to the requester. */
static void progress_line(void *ctx, const char *line)
{
    progress_msg(ctx, json_pack("{s:s}", "line", line));
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int remove_tree(const char *dir)
{
    return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* An absolute directory the requester names (its working directory):
 * resolved, existing, and not under $ASTRID_HOME. */
static int outside_home(const job *j, const char *what, const char *path, char real[PATH_MAX],
                        astrid_err *err)
{
    if (path[0] != '/')
        return astrid_err_set(err, ASTRID_E_INVALID,
                              "%s %s must be an absolute path (the daemon's working directory "
                              "is not yours)",
                              what, path);
    if (!realpath(path, real))
        return astrid_err_sys(err, "%s %s", what, path);
    if (astrid_install_path_under(real, j->k->capsule_jobs->home_real))
        return astrid_err_set(err, ASTRID_E_PERM,
                              "%s %s is under $ASTRID_HOME (%s): the daemon does not read or "
                              "write capsules there for a request",
                              what, path, j->k->capsule_jobs->home_real);
    return 0;
}

/* The capsules directory a request acts on, and its owner: the
 * requester's home/{p}/.local/capsules, or with "workspace": true
 * {workspace_dir, else the daemon's workspace}/.astrid/capsules, owned by
 * default. */
static int target_dir(const job *j, char *dir, size_t n, char owner[65], astrid_err *err)
{
    if (!bool_param(j, "workspace")) {
        snprintf(owner, 65, "%s", j->principal);
        return astrid_home_capsules_dir(dir, n, j->k->home, j->principal, err);
    }
    snprintf(owner, 65, "default");
    const char *ws = str_param(j, "workspace_dir");
    char real[PATH_MAX];
    if (ws) {
        if (outside_home(j, "workspace_dir", ws, real, err) != 0)
            return -1;
    } else if (!j->k->workspace[0]) {
        return astrid_err_set(err, ASTRID_E_INVALID,
                              "the daemon has no workspace: give params.workspace_dir");
    } else {
        snprintf(real, sizeof real, "%s", j->k->workspace);
    }
    snprintf(dir, n, "%.3000s/" ASTRID_WORKSPACE_CAPSULES, real);
    return 0;
}

/* Workspace capsules belong to default and serve every agent: another
 * agent changing them needs capsule:shared, as installing one there does. */
static int may_touch_workspace(const job *j, const char *verb, astrid_err *err)
{
    char reason[512];
    if (!bool_param(j, "workspace") || strcmp(j->principal, "default") == 0 ||
        astrid_authorize(j->k, j->principal, ASTRID_CAP_CAPSULE_SHARED, reason, sizeof reason) == 0)
        return 0;
    return astrid_err_set(err, ASTRID_E_PERM,
                          "%s a workspace capsule (owned by default, serving every agent) needs "
                          "capability %s that %s does not hold",
                          verb, ASTRID_CAP_CAPSULE_SHARED, j->principal);
}

/* Unpack a .capsule through an `astrid-build unpack` child: libarchive
 * parses hostile archives in a process that holds no key (and the daemon
 * does not link it). */
static int unpack_child(const char *archive, const char *dest, astrid_err *err)
{
    char ab[PATH_MAX];
    if (astrid_find_program("astrid-build", ab, sizeof ab) != 0)
        return astrid_err_set(err, ASTRID_E_NOTFOUND,
                              "astrid-build (which unpacks .capsule archives) not found next to "
                              "astrid-daemon or on PATH");
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0)
        return astrid_err_sys(err, "pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
    char *argv[] = {ab, "unpack", (char *)archive, (char *)dest, NULL};
    pid_t pid;
    int src = posix_spawn(&pid, ab, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pfd[1]);
    if (src != 0) {
        close(pfd[0]);
        errno = src;
        return astrid_err_sys(err, "start %s", ab);
    }
    char msg[1024] = "";
    size_t got = 0;
    for (;;) {
        ssize_t r = read(pfd[0], msg + got, sizeof msg - 1 - got);
        if (r > 0 && (got += (size_t)r) < sizeof msg - 1)
            continue;
        if (r < 0 && errno == EINTR)
            continue;
        break;
    }
    msg[got] = '\0';
    close(pfd[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return astrid_err_sys(err, "astrid-build unpack");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        size_t l = strlen(msg);
        while (l && msg[l - 1] == '\n')
            msg[--l] = '\0';
        return astrid_err_set(err, ASTRID_E_INVALID, "%s", l ? msg : "unpack failed");
    }
    return 0;
}

/* --------------------------------------------------------- the install */

/* The install-time vet (astrid_install_opts.vet), with the kernel's own
 * evaluator: the manifest's privileged asks against the owner's
 * capabilities, and the requester's when it installs for another owner
 * (the workspace's default). The daemon checks the same table again at
 * every load. On success `asks` is what the manifest asks for + owner +
 * shared. */
typedef struct vet_ctx {
    astrid_kernel *k;
    const char *owner, *installer;
    json_t *asks;
} vet_ctx;

static bool holds(astrid_kernel *k, const char *who, const char *cap)
{
    char reason[512];
    return astrid_authorize(k, who, cap, reason, sizeof reason) == 0;
}

static int vet(void *ctx, const struct astrid_manifest *m, astrid_err *err)
{
    vet_ctx *v = ctx;
    bool other = strcmp(v->installer, v->owner) != 0;
    astrid_capsule_priv pr[ASTRID_CAPSULE_PRIV_MAX];
    size_t n = astrid_capsule_privileges(m, pr);
    for (size_t i = 0; i < n; i++) {
        if (!holds(v->k, v->owner, pr[i].capability))
            return astrid_err_set(err, ASTRID_E_PERM,
                                  "capsule %s: manifest asks for %s, which needs capability %s "
                                  "that owner %s does not hold",
                                  m->name, pr[i].field, pr[i].capability, v->owner);
        if (other && !holds(v->k, v->installer, pr[i].capability))
            return astrid_err_set(err, ASTRID_E_PERM,
                                  "capsule %s: manifest asks for %s, which needs capability %s "
                                  "that installing agent %s does not hold",
                                  m->name, pr[i].field, pr[i].capability, v->installer);
    }
    if (other && !holds(v->k, v->installer, ASTRID_CAP_CAPSULE_SHARED))
        return astrid_err_set(err, ASTRID_E_PERM,
                              "capsule %s: a workspace capsule is owned by %s and serves every "
                              "agent, which needs capability %s that installing agent %s does "
                              "not hold",
                              m->name, v->owner, ASTRID_CAP_CAPSULE_SHARED, v->installer);
    json_decref(v->asks);
    v->asks = astrid_manifest_asks_json(m);
    json_object_set_new(v->asks, "owner", json_string(v->owner));
    json_object_set_new(v->asks, "shared",
                        json_boolean(holds(v->k, v->owner, ASTRID_CAP_CAPSULE_SHARED)));
    return 0;
}

/* `source` as the daemon may read it for a principal: an absolute path to
 * a directory or a regular file (an archive), not resolving under
 * $ASTRID_HOME; `real` is its real path, which is what gets read. */
static int check_source(const job *j, const char *source, char real[PATH_MAX], astrid_err *err)
{
    struct stat st;
    if (source[0] != '/')
        return astrid_err_set(err, ASTRID_E_INVALID,
                              "source %s must be an absolute path (the daemon's working directory "
                              "is not yours)",
                              source);
    if (stat(source, &st) != 0)
        return astrid_err_sys(err, "%s", source);
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
        return astrid_err_set(err, ASTRID_E_INVALID,
                              "source %s is neither a directory nor a .capsule file", source);
    if (!realpath(source, real))
        return astrid_err_sys(err, "%s", source);
    if (astrid_install_path_under(real, j->k->capsule_jobs->home_real))
        return astrid_err_set(err, ASTRID_E_PERM,
                              "source %s is under $ASTRID_HOME (%s): installs do not read from "
                              "there",
                              source, j->k->capsule_jobs->home_real);
    return 0;
}

/* Install `source` into `dir` for `owner`, holding the blob lock shared.
 * `fetched`: source is an archive this job downloaded into run/ from the
 * remote source `fetched` (recorded in meta.json), not a path of the
 * requester's. */
static int install_from(job *j, const char *source, const char *dir, const char *owner,
                        astrid_install_result *r, json_t **asks, const char *fetched,
                        astrid_err *err)
{
    char real[PATH_MAX];
    if (fetched)
        snprintf(real, sizeof real, "%s", source);
    else if (check_source(j, source, real, err) != 0)
        return -1;
    struct astrid_capsule_jobs *js = j->k->capsule_jobs;
    vet_ctx v = {.k = j->k, .owner = owner, .installer = j->principal};
    astrid_install_opts o = {.home = j->k->home,
                             .source = real,
                             .target = dir,
                             .progress = progress_line,
                             .progress_ctx = j,
                             .unpack = unpack_child,
                             .principal = owner,
                             .local_wasm = bool_param(j, "workspace"),
                             .vet = vet,
                             .vet_ctx = &v,
                             .engine = astrid_capsule_engine_wasm(j->k->engine),
                             .kv = j->k->kv,
                             .cancel = &j->cancel,
                             .forbid_under = js->home_real,
                             .record_source = fetched};
    pthread_rwlock_rdlock(&js->blob_lock);
    int rc = astrid_capsule_install(&o, r, err);
    pthread_rwlock_unlock(&js->blob_lock);
    if (rc != 0 || !asks)
        json_decref(v.asks);
    else
        *asks = v.asks ? v.asks : json_object();
    return rc;
}

static int do_install(job *j, astrid_err *err)
{
    const char *source = str_param(j, "source");
    if (!source || !*source)
        return astrid_err_set(err, ASTRID_E_INVALID, "InstallCapsule needs params.source");
    char dir[PATH_MAX], owner[65];
    if (target_dir(j, dir, sizeof dir, owner, err) != 0)
        return -1;
    astrid_install_result r;
    json_t *asks = NULL;
    const char *pin = str_param(j, "blake3");
    if (kfetch_is_remote(source)) {
        kfetch_source fs;
        char tmp[PATH_MAX];
        if (kfetch_parse(source, pin, &fs, err) != 0 ||
            kfetch_download(j->k->home, &fs, &j->cancel, progress_line, j, tmp, sizeof tmp, err) !=
                0)
            return -1;
        int rc = install_from(j, tmp, dir, owner, &r, &asks, fs.label, err);
        unlink(tmp);
        if (rc != 0)
            return -1;
    } else if (pin && *pin) {
        return astrid_err_set(err, ASTRID_E_INVALID,
                              "params.blake3 pins a downloaded archive; %s is a local path",
                              source);
    } else if (install_from(j, source, dir, owner, &r, &asks, NULL, err) != 0) {
        return -1;
    }
    j->reload = true;
    j->data =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:o}", "status", r.upgraded ? "upgraded" : "installed",
                  "name", r.name, "version", r.version, "wasm_hash", r.wasm_hash, "dir", r.dir,
                  "hook_ran", r.hook_ran, "asks", asks);
    return 0;
}

/* ---------------------------------------------------------- the update */

static bool is_openclaw(const char *src)
{
    return strncmp(src, "openclaw:", 9) == 0;
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
static int compare_source(const job *j, const char *src, const char *name, const char *installed,
                          const char *old_hash, bool *same, astrid_err *err)
{
    struct stat st;
    if (stat(src, &st) != 0)
        return astrid_err_sys(err, "source %s", src);
    char real[PATH_MAX];
    if (check_source(j, src, real, err) != 0)
        return -1;
    if (S_ISDIR(st.st_mode))
        return compare(real, name, installed, old_hash, same, err);
    char run[PATH_MAX], tmp[PATH_MAX + 32];
    if (astrid_home_run_dir(run, sizeof run, j->k->home, err) != 0)
        return -1;
    snprintf(tmp, sizeof tmp, "%s/update-XXXXXX", run);
    if (astrid_mkdir_p(run, 0700, 0, err) != 0 || !mkdtemp(tmp))
        return astrid_err_sys(err, "mkdtemp in %s", run);
    int rc = unpack_child(real, tmp, err);
    if (rc == 0)
        rc = compare(tmp, name, installed, old_hash, same, err);
    remove_tree(tmp);
    return rc;
}

/* One capsule: {name, outcome: updated|unchanged|failed|skipped, from?,
 * version?, wasm_hash?, source?, error?}. */
static json_t *update_one(job *j, const char *dir, const char *owner, const char *name)
{
    char path[PATH_MAX + 300], cdir[PATH_MAX + 200];
    snprintf(cdir, sizeof cdir, "%s/%s", dir, name);
    snprintf(path, sizeof path, "%s/meta.json", cdir);
    json_error_t je;
    json_t *meta = astrid_json_load_file(path, 0, &je);
    const char *src = json_string_value(json_object_get(meta, "source"));
    const char *old_hash = json_string_value(json_object_get(meta, "wasm_hash"));
    const char *old_ver = json_string_value(json_object_get(meta, "version"));
    json_t *r = json_pack("{s:s,s:s}", "name", name, "outcome", "failed");
    if (old_ver)
        json_object_set_new(r, "from", json_string(old_ver));
    if (src)
        json_object_set_new(r, "source", json_string(src));
    astrid_err err = {0};
    bool same = false;
    astrid_install_result ir;
    if (!meta) {
        json_object_set_new(r, "error", json_sprintf("%s: %s", path, je.text));
    } else if (!src || !*src) {
        json_object_set_new(r, "error", json_string("meta.json records no source to update from"));
    } else if (is_openclaw(src)) {
        json_object_set_new(r, "outcome", json_string("skipped"));
        json_object_set_new(
            r, "error", json_sprintf("OpenClaw source %s is not available in this release", src));
    } else if (kfetch_is_remote(src)) {
        /* re-resolve (a GitHub source: its latest release now) */
        kfetch_source fs;
        char tmp[PATH_MAX], udir[PATH_MAX + 32], run[PATH_MAX];
        udir[0] = '\0';
        int rc = kfetch_parse(src, NULL, &fs, &err);
        if (rc == 0)
            rc = kfetch_download(j->k->home, &fs, &j->cancel, progress_line, j, tmp, sizeof tmp,
                                 &err);
        if (rc == 0) {
            rc = astrid_home_run_dir(run, sizeof run, j->k->home, &err);
            snprintf(udir, sizeof udir, "%s/update-XXXXXX", run);
            if (rc == 0 && !mkdtemp(udir))
                rc = astrid_err_sys(&err, "mkdtemp in %s", run), udir[0] = '\0';
            if (rc == 0 && (rc = unpack_child(tmp, udir, &err)) == 0)
                rc = compare(udir, name, cdir, old_hash, &same, &err);
            if (rc == 0 && !same)
                rc = install_from(j, tmp, dir, owner, &ir, NULL, fs.label, &err);
            unlink(tmp);
            if (udir[0])
                remove_tree(udir);
        }
        if (rc != 0) {
            json_object_set_new(r, "error", json_string(err.msg));
        } else if (same) {
            json_object_set_new(r, "outcome", json_string("unchanged"));
            json_object_set_new(r, "wasm_hash", json_string(old_hash));
        } else {
            json_object_set_new(r, "outcome", json_string("updated"));
            json_object_set_new(r, "version", json_string(ir.version));
            json_object_set_new(r, "wasm_hash", json_string(ir.wasm_hash));
            j->reload = true;
        }
    } else if (compare_source(j, src, name, cdir, old_hash, &same, &err) != 0 ||
               (!same && install_from(j, src, dir, owner, &ir, NULL, NULL, &err) != 0)) {
        json_object_set_new(r, "error", json_string(err.msg));
    } else if (same) {
        json_object_set_new(r, "outcome", json_string("unchanged"));
        json_object_set_new(r, "wasm_hash", json_string(old_hash));
    } else {
        json_object_set_new(r, "outcome", json_string("updated"));
        json_object_set_new(r, "version", json_string(ir.version));
        json_object_set_new(r, "wasm_hash", json_string(ir.wasm_hash));
        j->reload = true;
    }
    json_decref(meta);
    return r;
}

static int by_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int do_update(job *j, astrid_err *err)
{
    char dir[PATH_MAX], owner[65];
    if (target_dir(j, dir, sizeof dir, owner, err) != 0 ||
        may_touch_workspace(j, "updating", err) != 0)
        return -1;
    const char *one = str_param(j, "name");
    char *names[UPDATE_MAX];
    size_t n = 0;
    char meta[PATH_MAX + 300];
    if (one) {
        snprintf(meta, sizeof meta, "%s/%s/meta.json", dir, one);
        if (!name_ok(one) || access(meta, F_OK) != 0)
            return astrid_err_set(err, ASTRID_E_NOTFOUND, "no capsule '%s' installed in %s", one,
                                  dir);
        names[n++] = strdup(one);
    } else {
        DIR *d = opendir(dir);
        struct dirent *de;
        while (d && (de = readdir(d)) && n < UPDATE_MAX) {
            snprintf(meta, sizeof meta, "%s/%s/meta.json", dir, de->d_name);
            if (de->d_name[0] != '.' && access(meta, F_OK) == 0)
                names[n++] = strdup(de->d_name);
        }
        if (d)
            closedir(d);
        qsort(names, n, sizeof *names, by_str);
    }
    json_t *results = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *r = names[i]
                        ? update_one(j, dir, owner, names[i])
                        : json_pack("{s:s,s:s}", "outcome", "failed", "error", "out of memory");
        progress_msg(j, json_pack("{s:O}", "result", r));
        json_array_append_new(results, r);
        free(names[i]);
    }
    j->data = json_pack("{s:s,s:o}", "dir", dir, "results", results);
    return 0;
}

/* ---------------------------------------------------------- the remove */

static int do_remove(job *j, astrid_err *err)
{
    const char *name = str_param(j, "name");
    if (!name || !name_ok(name))
        return astrid_err_set(err, ASTRID_E_INVALID, "'%s' is not a capsule name",
                              name ? name : "");
    char dir[PATH_MAX], owner[65], path[PATH_MAX + 300];
    if (target_dir(j, dir, sizeof dir, owner, err) != 0 ||
        may_touch_workspace(j, "removing", err) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/%s/meta.json", dir, name);
    if (access(path, F_OK) != 0)
        return astrid_err_set(err, ASTRID_E_NOTFOUND, "no capsule '%s' installed in %s", name, dir);
    /* the installer's lock on the directory: never half of a commit */
    int lockfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (lockfd < 0 || flock(lockfd, LOCK_EX) != 0) {
        if (lockfd >= 0)
            close(lockfd);
        return astrid_err_sys(err, "lock %s", dir);
    }
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int rc = remove_tree(path);
    close(lockfd);
    j->reload = true; /* even a partial removal changed what loads */
    if (rc != 0)
        return astrid_err_set(err, ASTRID_E_IO, "cannot remove %s", path);
    bool purge = bool_param(j, "purge");
    size_t nsec = 0, nhost = 0;
    if (purge) {
        /* "" when it cannot be built: nothing is unlinked */
        astrid_home_env_json(path, sizeof path, j->k->home, j->principal, name, NULL);
        pthread_mutex_lock(&j->k->capsule_jobs->env_lock);
        unlink(path);
        pthread_mutex_unlock(&j->k->capsule_jobs->env_lock);
        /* The remover's secrets of the capsule go too; the host-wide ones
         * only when the remover may set them (secret:set, admin's `*`). */
        char reason[512];
        if (astrid_secret_purge_capsule(j->k->home, j->principal, name, &nsec, err) != 0)
            return -1;
        if (astrid_authorize(j->k, j->principal, "secret:set", reason, sizeof reason) == 0 &&
            astrid_secret_purge_capsule(j->k->home, ASTRID_SECRET_SCOPE_HOST, name, &nhost, err) !=
                0)
            return -1;
    }
    j->data =
        json_pack("{s:s,s:s,s:b,s:I,s:I}", "name", name, "dir", dir, "purged", purge,
                  "purged_secrets", (json_int_t)nsec, "purged_shared_secrets", (json_int_t)nhost);
    return 0;
}

/* ---------------------------------------------------------- the config */

static const astrid_manifest_env *declared(const astrid_manifest *m, const char *key)
{
    for (size_t i = 0; i < m->nenv; i++)
        if (strcmp(m->env[i].key, key) == 0)
            return &m->env[i];
    return NULL;
}

/* Every value a string of a key the manifest declares, secret-typed keys
 * (non-empty) under params.secrets and the others under params.env. */
static int check_values(const astrid_manifest *m, json_t *vals, bool secrets, astrid_err *err)
{
    if (vals && !json_is_object(vals))
        return astrid_err_set(err, ASTRID_E_INVALID, "params.%s must be an object of strings",
                              secrets ? "secrets" : "env");
    const char *key;
    json_t *v;
    json_object_foreach(vals, key, v)
    {
        const astrid_manifest_env *e = declared(m, key);
        if (!e)
            return astrid_err_set(err, ASTRID_E_INVALID, "capsule '%s' declares no env key '%s'",
                                  m->name, key);
        if (!json_is_string(v))
            return astrid_err_set(err, ASTRID_E_INVALID, "%s: the value must be a string", key);
        bool secret = strcmp(e->type, "secret") == 0;
        if (secret != secrets)
            return astrid_err_set(err, ASTRID_E_INVALID,
                                  secret ? "%s is a secret: send it under params.secrets (never "
                                           "audited), not params.env"
                                         : "%s is not a secret: send it under params.env",
                                  key);
        if (secret && !*json_string_value(v))
            return astrid_err_set(err, ASTRID_E_INVALID,
                                  "%s is a secret: its value must not be empty", key);
    }
    return 0;
}

static int write_env(const char *path, json_t *vals, astrid_err *err)
{
    char dir[PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = '\0';
    if (astrid_mkdir_p(dir, 0700, 0, err) != 0)
        return -1;
    char *text = astrid_json_dumps(vals, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (!text)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    int rc = astrid_atomic_write(path, text, strlen(text), 0600, err);
    free(text);
    return rc;
}

/* Plain values into home/{agent}/.config/env/{name}.env.json (merged into
 * what is there). A malformed file is refused, not overwritten, whatever
 * is being set (as the CLI did). */
static int set_env(job *j, const char *agent, const char *name, json_t *env, astrid_err *err)
{
    char path[PATH_MAX + 64];
    if (astrid_home_env_json(path, sizeof path, j->k->home, agent, name, err) != 0)
        return -1;
    pthread_mutex_lock(&j->k->capsule_jobs->env_lock);
    json_t *vals = NULL;
    int rc = -1;
    if (access(path, F_OK) != 0) {
        vals = json_object();
    } else {
        json_error_t je;
        vals = astrid_json_load_file(path, 0, &je);
        if (!vals || !json_is_object(vals)) {
            astrid_err_set(err, ASTRID_E_PARSE, "%s: %s", path,
                           vals ? "not a JSON object of strings" : je.text);
            goto out;
        }
    }
    rc = 0;
    if (json_object_size(env)) {
        json_object_update(vals, env);
        rc = write_env(path, vals, err);
    }
out:
    pthread_mutex_unlock(&j->k->capsule_jobs->env_lock);
    json_decref(vals);
    return rc;
}

int astrid_capsule_dir_for(astrid_kernel *k, const char *agent, const char *name, char *dir,
                           size_t n, astrid_err *err)
{
    char meta[PATH_MAX + 16];
    const char *owners[] = {agent, ASTRID_DEFAULT_PRINCIPAL};
    for (size_t i = 0; i < 2; i++) {
        if (astrid_home_capsule_dir(dir, n, k->home, owners[i], name, err) != 0)
            return -1;
        snprintf(meta, sizeof meta, "%s/meta.json", dir);
        if (access(meta, F_OK) == 0)
            return 0;
    }
    if (k->workspace[0]) {
        snprintf(dir, n, "%.3000s/" ASTRID_WORKSPACE_CAPSULES "/%s", k->workspace, name);
        snprintf(meta, sizeof meta, "%s/meta.json", dir);
        if (access(meta, F_OK) == 0)
            return 0;
    }
    dir[0] = '\0';
    return astrid_err_set(err, ASTRID_E_NOTFOUND,
                          "no capsule '%s' installed for agent '%s' (looked in "
                          "home/%s/.local/capsules, home/default/.local/capsules and the "
                          "workspace's .astrid/capsules)",
                          name, agent, agent);
}

int astrid_capsule_env_edit(astrid_kernel *k, const char *agent, const char *name,
                            astrid_env_edit_fn edit, void *user, astrid_err *err)
{
    char path[PATH_MAX + 64];
    if (astrid_home_env_json(path, sizeof path, k->home, agent, name, err) != 0)
        return -1;
    /* no job table yet at the boot load: one thread, nothing to race */
    pthread_mutex_t *lock = k->capsule_jobs ? &k->capsule_jobs->env_lock : NULL;
    if (lock)
        pthread_mutex_lock(lock);
    json_t *vals = NULL;
    int rc = -1;
    if (access(path, F_OK) != 0) {
        vals = json_object();
    } else {
        json_error_t je;
        vals = astrid_json_load_file(path, 0, &je);
        if (!vals || !json_is_object(vals)) {
            astrid_err_set(err, ASTRID_E_PARSE, "%s: %s", path,
                           vals ? "not a JSON object of strings" : je.text);
            goto out;
        }
    }
    rc = edit(vals, user, err);
    if (rc > 0)
        rc = write_env(path, vals, err);
out:
    if (lock)
        pthread_mutex_unlock(lock);
    json_decref(vals);
    return rc < 0 ? -1 : 0;
}

static int do_config(job *j, astrid_err *err)
{
    const char *name = str_param(j, "name");
    const char *agent = str_param(j, "agent");
    if (!agent)
        agent = j->principal;
    char reason[512];
    if (!name || !name_ok(name))
        return astrid_err_set(err, ASTRID_E_INVALID,
                              "'%s' is not a capsule name (a-z, 0-9 and '-')", name ? name : "");
    if (astrid_principal_validate(agent, err) != 0)
        return -1;
    /* Another agent's values need the global form (admin's `*`). */
    if (strcmp(agent, j->principal) != 0 &&
        astrid_authorize(j->k, j->principal, "capsule:config", reason, sizeof reason) != 0)
        return astrid_err_set(err, ASTRID_E_PERM, "%s", reason);
    char dir[PATH_MAX], path[PATH_MAX + 64];
    astrid_err nf;
    if (astrid_capsule_dir_for(j->k, agent, name, dir, sizeof dir, &nf) != 0 &&
        nf.code != ASTRID_E_NOTFOUND) {
        *err = nf;
        return -1;
    }
    snprintf(path, sizeof path, "%s/meta.json", dir);
    const char *ws = str_param(j, "workspace_dir");
    if (access(path, F_OK) != 0 && ws) {
        char real[PATH_MAX];
        if (outside_home(j, "workspace_dir", ws, real, err) != 0)
            return -1;
        snprintf(dir, sizeof dir, "%.3000s/" ASTRID_WORKSPACE_CAPSULES "/%s", real, name);
        snprintf(path, sizeof path, "%s/meta.json", dir);
    }
    if (access(path, F_OK) != 0)
        return astrid_err_set(err, ASTRID_E_NOTFOUND,
                              "no capsule '%s' installed for agent '%s' (looked in "
                              "home/%s/.local/capsules, home/default/.local/capsules and "
                              "./.astrid/capsules)",
                              name, agent, agent);
    snprintf(path, sizeof path, "%s/Capsule.toml", dir);
    astrid_manifest *m = astrid_manifest_load(path, err);
    if (!m)
        return -1;
    json_t *env = json_object_get(j->params, "env"), *sec = json_object_get(j->params, "secrets");
    int rc = -1;
    if (check_values(m, env, false, err) != 0 || check_values(m, sec, true, err) != 0)
        goto out;
    if (set_env(j, agent, name, env, err) != 0)
        goto out;
    j->reload = true;
    json_t *keys = json_array(), *skeys = json_array(), *v;
    const char *key;
    json_object_foreach(env, key, v)
    {
        json_array_append_new(keys, json_string(key));
    }
    json_object_foreach(sec, key, v)
    {
        if (astrid_secret_set(j->k->home, agent, name, key, json_string_value(v), err) != 0) {
            json_decref(keys);
            json_decref(skeys);
            goto out;
        }
        json_array_append_new(skeys, json_string(key));
    }
    j->data = json_pack("{s:s,s:s,s:o,s:o}", "principal", agent, "capsule", name, "env", keys,
                        "secrets", skeys);
    rc = 0;
out:
    astrid_manifest_free(m);
    return rc;
}

/* -------------------------------------------------------------- the gc */

static void collect(void *ctx, const char *owner, const char *dir)
{
    (void)owner;
    json_t *set = ctx;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/meta.json", dir);
    json_t *meta = astrid_json_load_file(path, 0, NULL);
    const char *h = json_string_value(json_object_get(meta, "wasm_hash"));
    if (h)
        json_object_set_new(set, h, json_true());
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(meta, "wit_files"), k, v)
    {
        if (json_is_string(v))
            json_object_set_new(set, json_string_value(v), json_true());
    }
    json_decref(meta);
}

static void sweep(const char *dir, const char *ext, json_t *refs, bool force, json_t *blobs,
                  json_t *failed, size_t *bytes)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    size_t el = strlen(ext);
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l != 64 + el || strcmp(de->d_name + 64, ext) != 0)
            continue;
        char hash[65];
        memcpy(hash, de->d_name, 64);
        hash[64] = '\0';
        if (json_object_get(refs, hash))
            continue;
        char path[PATH_MAX + 80];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        struct stat st;
        if (lstat(path, &st) == 0)
            *bytes += (size_t)st.st_size;
        if (force && unlink(path) != 0) {
            json_array_append_new(failed, json_string(path));
            continue;
        }
        json_array_append_new(blobs, json_string(path));
    }
    closedir(d);
}

static int do_gc(job *j, astrid_err *err)
{
    json_t *refs = json_object();
    const char *ws = str_param(j, "workspace_dir");
    char real[PATH_MAX];
    if (ws && outside_home(j, "workspace_dir", ws, real, err) != 0) {
        json_decref(refs);
        return -1;
    }
    struct astrid_capsule_jobs *js = j->k->capsule_jobs;
    pthread_rwlock_wrlock(&js->blob_lock);
    astrid_installed_scan(j->k->home, collect, refs);
    /* The requester's workspace references blobs too (as upstream; another
     * workspace's are not seen: run gc from each). */
    if (ws) {
        char caps[PATH_MAX + 32];
        snprintf(caps, sizeof caps, "%.4000s/" ASTRID_WORKSPACE_CAPSULES, real);
        astrid_installed_scan_dir(caps, "default", collect, refs);
    }
    bool force = bool_param(j, "force");
    char bin[PATH_MAX + 8], wit[PATH_MAX + 8];
    if (astrid_home_bin_dir(bin, sizeof bin, j->k->home, err) != 0 ||
        astrid_home_wit_dir(wit, sizeof wit, j->k->home, err) != 0)
        return -1;
    json_t *blobs = json_array(), *failed = json_array();
    size_t bytes = 0;
    sweep(bin, ".wasm", refs, force, blobs, failed, &bytes);
    sweep(wit, ".wit", refs, force, blobs, failed, &bytes);
    pthread_rwlock_unlock(&js->blob_lock);
    j->data =
        json_pack("{s:b,s:o,s:o,s:I,s:I}", "force", force, "blobs", blobs, "failed", failed,
                  "bytes", (json_int_t)bytes, "referenced", (json_int_t)json_object_size(refs));
    json_decref(refs);
    return 0;
}

/* ------------------------------------------------------------ the jobs */

static const char *err_kind(const astrid_err *e)
{
    /* What the code alone (astrid_errkind_of) cannot tell: a source that is
     * missing or unreadable, and a job that gave up waiting. */
    if (e->code == ASTRID_E_IO && (e->sys_errno == ENOENT || e->sys_errno == ENOTDIR))
        return astrid_errkind_name(ASTRID_KIND_NOT_FOUND);
    if (e->code == ASTRID_E_IO && (e->sys_errno == EACCES || e->sys_errno == EPERM))
        return astrid_errkind_name(ASTRID_KIND_PERMISSION_DENIED);
    if (e->code == ASTRID_E_TIMEOUT)
        return astrid_errkind_name(ASTRID_KIND_UNAVAILABLE);
    return astrid_errkind_name(astrid_errkind_of(e->code));
}

/* {request_id?, status, data[, error: {kind, message}]} on
 * astrid.v1.response.<suffix>, to the requesting connection only, through
 * the bus (after whatever progress it queued). `data` is stolen. */
static void reply(astrid_kernel *k, const char *source_id, const char *principal,
                  const char *suffix, json_t *request_id, const astrid_err *e, json_t *data)
{
    char topic[512];
    snprintf(topic, sizeof topic, "astrid.v1.response.%s", suffix);
    json_t *r = json_object();
    if (json_is_string(request_id))
        json_object_set(r, "request_id", request_id);
    json_object_set_new(r, "status", json_string(e ? "error" : "success"));
    if (e) {
        json_decref(data);
        json_object_set_new(r, "data", json_string(e->msg));
        json_object_set_new(r, "error",
                            json_pack("{s:s,s:s}", "kind", err_kind(e), "message", e->msg));
    } else {
        json_object_set_new(r, "data", data ? data : json_null());
    }
    /* The job's work is done and stored; an unsent reply leaves the client
     * waiting (an install has no deadline). Out of memory is often brief
     * (the malloc sweep of issue #18 hung installs on one failed
     * allocation), so it is tried again before giving up. */
    astrid_err err;
    for (int attempt = 0;; attempt++) {
        if (astrid_kernel_publish_to(k, source_id, NULL, topic, r, principal, &err) == 0)
            break;
        if (err.code != ASTRID_E_NOMEM || attempt == 4) {
            astrid_klog(k, "ERROR", "reply on %s not sent: %s", topic, err.msg);
            astrid_server_close_source(k, source_id, "the reply to its request could not be sent");
            break;
        }
        nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
    }
    json_decref(r);
}

static void job_free(job *j)
{
    free(j->suffix);
    json_decref(j->request_id);
    json_decref(j->params);
    json_decref(j->data);
    free(j);
}

static void *job_main(void *arg)
{
    job *j = arg;
    astrid_err_clear(&j->err);
    switch (j->kind) {
    case JOB_INSTALL:
        j->rc = do_install(j, &j->err);
        break;
    case JOB_UPDATE:
        j->rc = do_update(j, &j->err);
        break;
    case JOB_REMOVE:
        j->rc = do_remove(j, &j->err);
        break;
    case JOB_CONFIG:
        j->rc = do_config(j, &j->err);
        break;
    case JOB_GC:
        j->rc = do_gc(j, &j->err);
        break;
    }
    struct astrid_capsule_jobs *js = j->k->capsule_jobs;
    pthread_mutex_lock(&js->lock);
    for (job **pp = &js->running; *pp; pp = &(*pp)->next)
        if (*pp == j) {
            *pp = j->next;
            break;
        }
    j->next = js->done;
    js->done = j;
    js->nrunning--;
    if (!js->stopping)
        uv_async_send(&js->async);
    pthread_cond_broadcast(&js->idle);
    pthread_mutex_unlock(&js->lock);
    return NULL;
}

/* Loop thread: what ReloadCapsules by the requester would do (its own
 * capsules, or everyone's with capsule:reload), admitted and audited as
 * that request. */
static void reload_for(astrid_kernel *k, const char *who, json_t *data)
{
    char reason[512];
    astrid_errkind kind;
    if (astrid_admit_request(k, who, "ReloadCapsules", "self:capsule:reload", NULL, NULL, true,
                             &kind, reason, sizeof reason) != 0) {
        json_object_set_new(data, "reload_error", json_string(reason));
        return;
    }
    json_t *r = astrid_authorize(k, who, "capsule:reload", reason, sizeof reason) == 0
                    ? astrid_capsules_reload(k)
                    : astrid_capsules_reload_owned(k, who);
    json_object_set_new(data, "reload", r);
}

/* Loop thread: a job is done. */
static void finish(job *j)
{
    astrid_kernel *k = j->k;
    pthread_join(j->thread, NULL);
    if (j->reload && !k->stopping) {
        /* a failed request may still have changed files (a partial
         * remove): it reloads too, and its error reply says nothing more */
        if (!j->data)
            j->data = json_object();
        reload_for(k, j->principal, j->data);
    }
    static const char *const methods[] = {"InstallCapsule", "UpdateCapsule", "RemoveCapsule",
                                          "SetCapsuleConfig", "CollectGarbage"};
    if (j->rc)
        astrid_klog(k, "WARN", "%s by %s failed: %s", methods[j->kind], j->principal, j->err.msg);
    reply(k, j->source_id, j->principal, j->suffix, j->request_id, j->rc ? &j->err : NULL,
          json_incref(j->data));
    job_free(j);
}

static void on_async(uv_async_t *a)
{
    struct astrid_capsule_jobs *js = a->data;
    pthread_mutex_lock(&js->lock);
    job *list = js->done;
    js->done = NULL;
    pthread_mutex_unlock(&js->lock);
    while (list) {
        job *next = list->next;
        finish(list);
        list = next;
    }
}

/* The parameters every method may take, each of its one type when given
 * (a misspelt type must not turn "update NAME" into "update everything"). */
static int check_types(json_t *params, astrid_err *err)
{
    static const struct {
        const char *key;
        json_type type;
    } known[] = {{"source", JSON_STRING}, {"name", JSON_STRING},          {"blake3", JSON_STRING},
                 {"agent", JSON_STRING},  {"workspace_dir", JSON_STRING}, {"env", JSON_OBJECT},
                 {"secrets", JSON_OBJECT}};
    if (params && !json_is_object(params))
        return astrid_err_set(err, ASTRID_E_INVALID, "params must be an object");
    for (size_t i = 0; i < sizeof known / sizeof *known; i++) {
        json_t *v = json_object_get(params, known[i].key);
        if (v && json_typeof(v) != known[i].type)
            return astrid_err_set(err, ASTRID_E_INVALID, "params.%s must be a%s", known[i].key,
                                  known[i].type == JSON_STRING ? " string" : "n object");
    }
    static const char *const flags[] = {"workspace", "purge", "force"};
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++) {
        json_t *v = json_object_get(params, flags[i]);
        if (v && !json_is_boolean(v))
            return astrid_err_set(err, ASTRID_E_INVALID, "params.%s must be true or false",
                                  flags[i]);
    }
    return 0;
}

static void start_job(astrid_kernel *k, astrid_conn *c, const char *suffix, json_t *rid,
                      json_t *params, job_kind kind)
{
    struct astrid_capsule_jobs *js = k->capsule_jobs;
    const char *who = astrid_conn_principal(c);
    astrid_err e;
    astrid_err_clear(&e);
    if (check_types(params, &e) != 0) {
        reply(k, astrid_conn_source(c), who, suffix, rid, &e, NULL);
        return;
    }
    job *j = calloc(1, sizeof *j);
    if (!j || !(j->suffix = strdup(suffix)) ||
        !(j->params = params ? json_deep_copy(params) : json_object())) {
        if (j)
            job_free(j);
        astrid_err_set(&e, ASTRID_E_NOMEM, "out of memory");
        reply(k, astrid_conn_source(c), who, suffix, rid, &e, NULL);
        return;
    }
    j->k = k;
    j->kind = kind;
    atomic_init(&j->cancel, false);
    snprintf(j->principal, sizeof j->principal, "%s", who);
    snprintf(j->source_id, sizeof j->source_id, "%s", astrid_conn_source(c));
    j->request_id = json_is_string(rid) ? json_incref(rid) : NULL;
    pthread_mutex_lock(&js->lock);
    size_t mine = 0;
    for (job *r = js->running; r; r = r->next)
        mine += strcmp(r->principal, who) == 0;
    if (js->stopping || js->nrunning >= JOBS_MAX || mine >= JOBS_PER_PRINCIPAL) {
        pthread_mutex_unlock(&js->lock);
        if (js->stopping)
            astrid_err_set(&e, ASTRID_E_UNSUPPORTED, "the daemon is shutting down");
        else
            astrid_err_set(&e, ASTRID_E_LIMIT,
                           "too many capsule operations in progress (at most %d per agent, %d in "
                           "all); try again",
                           JOBS_PER_PRINCIPAL, JOBS_MAX);
        reply(k, j->source_id, who, suffix, rid, &e, NULL);
        job_free(j);
        return;
    }
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 8u << 20); /* guests run here (the hook) */
    int rc = pthread_create(&j->thread, &at, job_main, j);
    pthread_attr_destroy(&at);
    if (rc != 0) {
        pthread_mutex_unlock(&js->lock);
        errno = rc;
        astrid_err_sys(&e, "pthread_create");
        reply(k, j->source_id, who, suffix, rid, &e, NULL);
        job_free(j);
        return;
    }
    j->next = js->running;
    js->running = j;
    js->nrunning++;
    pthread_mutex_unlock(&js->lock);
}

/* The table rows of the capsule writes (requests.c): the job answers, so
 * the pipeline sends no reply now. */
static int defer(astrid_req *r, const char **status, job_kind kind)
{
    start_job(r->k, r->conn, r->suffix, r->rid, r->params, kind);
    *status = ASTRID_REQ_DEFERRED;
    return 0;
}

int req_install_capsule(astrid_req *r, json_t **data, const char **status)
{
    (void)data;
    return defer(r, status, JOB_INSTALL);
}

int req_update_capsule(astrid_req *r, json_t **data, const char **status)
{
    (void)data;
    return defer(r, status, JOB_UPDATE);
}

int req_remove_capsule(astrid_req *r, json_t **data, const char **status)
{
    (void)data;
    return defer(r, status, JOB_REMOVE);
}

int req_set_capsule_config(astrid_req *r, json_t **data, const char **status)
{
    (void)data;
    return defer(r, status, JOB_CONFIG);
}

int req_collect_garbage(astrid_req *r, json_t **data, const char **status)
{
    (void)data;
    return defer(r, status, JOB_GC);
}

int astrid_capsule_jobs_start(astrid_kernel *k, astrid_err *err)
{
    struct astrid_capsule_jobs *js = calloc(1, sizeof *js);
    if (!js)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    if (!realpath(k->home, js->home_real)) {
        free(js);
        return astrid_err_sys(err, "realpath %s", k->home);
    }
    pthread_mutex_init(&js->lock, NULL);
    pthread_cond_init(&js->idle, NULL);
    pthread_rwlock_init(&js->blob_lock, NULL);
    pthread_mutex_init(&js->env_lock, NULL);
    if (uv_async_init(k->loop, &js->async, on_async) != 0) {
        free(js);
        return astrid_err_set(err, ASTRID_E_INTERNAL, "uv_async_init failed");
    }
    js->async.data = js;
    uv_unref((uv_handle_t *)&js->async); /* jobs alone do not keep the loop running */
    k->capsule_jobs = js;
    return 0;
}

void astrid_capsule_jobs_conn_closed(astrid_kernel *k, const char *source_id)
{
    struct astrid_capsule_jobs *js = k->capsule_jobs;
    if (!js)
        return;
    pthread_mutex_lock(&js->lock);
    for (job *j = js->running; j; j = j->next)
        if (strcmp(j->source_id, source_id) == 0)
            atomic_store(&j->cancel, true);
    pthread_mutex_unlock(&js->lock);
}

static void on_async_closed(uv_handle_t *h)
{
    struct astrid_capsule_jobs *js = h->data;
    pthread_mutex_destroy(&js->lock);
    pthread_cond_destroy(&js->idle);
    pthread_rwlock_destroy(&js->blob_lock);
    pthread_mutex_destroy(&js->env_lock);
    free(js);
}

void astrid_capsule_jobs_stop(astrid_kernel *k)
{
    struct astrid_capsule_jobs *js = k->capsule_jobs;
    if (!js)
        return;
    pthread_mutex_lock(&js->lock);
    js->stopping = true;
    for (job *j = js->running; j; j = j->next)
        atomic_store(&j->cancel, true);
    if (js->nrunning)
        astrid_klog(k, "INFO", "waiting for %zu capsule job(s) to give up", js->nrunning);
    while (js->nrunning)
        pthread_cond_wait(&js->idle, &js->lock);
    job *list = js->done;
    js->done = NULL;
    pthread_mutex_unlock(&js->lock);
    while (list) {
        job *next = list->next;
        pthread_join(list->thread, NULL);
        job_free(list);
        list = next;
    }
    k->capsule_jobs = NULL;
    uv_close((uv_handle_t *)&js->async, on_async_closed);
}
