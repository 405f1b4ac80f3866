/* Applying a distro to one agent: upstream's `astrid init` flow (reference
 * §15.1) over the daemon's capsule requests. See cli/distro.h and
 * docs/distro.md.
 *
 * Threads: the installs run on up to INSTALL_WORKERS worker threads, each
 * with its own daemon connection; `out_lock` guards the shared cursor, the
 * results and the progress lines on ctx->err. Everything else runs on the
 * calling thread. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "astrid/fs.h"
#include "astrid/home.h"
#include "client/client.h"
#include "cli/context.h"
#include "cli/distro.h"
#include "lib/distro/distro.h"

/* The daemon runs 3 capsule jobs per principal at once (req_capsule.c). */
#define INSTALL_WORKERS 3
/* A compile on a loaded machine: the wait is per progress frame. */
#define CALL_IDLE_MS 300000
#define DEFAULT_DISTRO "astralis"

static bool is_remote(const char *s)
{
    return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0 || s[0] == '@' ||
           strncmp(s, "github.com/", 11) == 0;
}

static void exe_dir(char *out, size_t n)
{
    char p[PATH_MAX];
    ssize_t r = readlink("/proc/self/exe", p, sizeof p - 1);
    out[0] = '\0';
    if (r <= 0)
        return;
    p[r] = '\0';
    char *slash = strrchr(p, '/');
    if (slash)
        *slash = '\0';
    snprintf(out, n, "%s", p);
}

static bool is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* NAME | PATH into the Distro.toml path. Names are looked up in
 * $ASTRID_DISTRO_PATH (colon-separated directories of NAME/Distro.toml),
 * then in distros/ of the source tree or share/astrid/distros beside the
 * binary. */
static int resolve_manifest(const char *spec, char *out, size_t n, astrid_err *err)
{
    if (is_remote(spec))
        return astrid_err_set(err, ASTRID_E_UNSUPPORTED,
                              "distro %s: remote distro sources (URL, @org/repo) are not "
                              "available in this release; fetch its Distro.toml and pass the path",
                              spec);
    struct stat st;
    if (strchr(spec, '/') || strstr(spec, ".toml") || stat(spec, &st) == 0) {
        if (stat(spec, &st) != 0)
            return astrid_err_set(err, ASTRID_E_NOTFOUND, "distro %s: no such file", spec);
        if (S_ISDIR(st.st_mode))
            snprintf(out, n, "%s/Distro.toml", spec);
        else
            snprintf(out, n, "%s", spec);
        if (!is_file(out))
            return astrid_err_set(err, ASTRID_E_NOTFOUND, "distro %s: no Distro.toml there", spec);
        return 0;
    }
    for (const char *c = spec; *c; c++)
        if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '-'))
            return astrid_err_set(err, ASTRID_E_INVALID,
                                  "distro %s: not a distro name (a-z 0-9 -) nor a path", spec);
    const char *env = getenv("ASTRID_DISTRO_PATH");
    if (env && *env) {
        char buf[PATH_MAX];
        snprintf(buf, sizeof buf, "%s", env);
        char *save = NULL;
        for (char *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
            snprintf(out, n, "%s/%s/Distro.toml", d, spec);
            if (is_file(out))
                return 0;
        }
    }
    char ed[PATH_MAX], up[PATH_MAX];
    exe_dir(ed, sizeof ed);
    snprintf(up, sizeof up, "%s", ed);
    /* build/bin, build/san/bin: the source tree's distros/ a few levels up */
    for (int i = 0; i < 4 && ed[0]; i++) {
        snprintf(out, n, "%s/distros/%s/Distro.toml", up, spec);
        if (is_file(out))
            return 0;
        snprintf(out, n, "%s/share/astrid/distros/%s/Distro.toml", up, spec);
        if (is_file(out))
            return 0;
        char *slash = strrchr(up, '/');
        if (!slash || slash == up)
            break;
        *slash = '\0';
    }
    return astrid_err_set(err, ASTRID_E_NOTFOUND,
                          "distro %s: not found (looked in $ASTRID_DISTRO_PATH and distros/ "
                          "beside %s)",
                          spec, ed);
}

/* A capsule entry's source as InstallCapsule reads it: remote verbatim,
 * absolute as is, relative next to the Distro.toml, else in the capsule
 * build directory ($ASTRID_CAPSULE_DIR, else ../capsules beside the
 * binary, where `make` puts build/capsules/NAME.capsule). */
static int resolve_source(const char *distro_dir, const char *src, char *out, size_t n,
                          astrid_err *err)
{
    if (is_remote(src) || src[0] == '/') {
        snprintf(out, n, "%s", src);
        return 0;
    }
    if (strstr(src, ".."))
        return astrid_err_set(err, ASTRID_E_INVALID, "source %s: '..' is not allowed", src);
    snprintf(out, n, "%s/%s", distro_dir, src);
    if (access(out, F_OK) == 0)
        return 0;
    char cd[PATH_MAX];
    const char *env = getenv("ASTRID_CAPSULE_DIR");
    if (env && *env) {
        snprintf(cd, sizeof cd, "%s", env);
    } else {
        char ed[PATH_MAX];
        exe_dir(ed, sizeof ed);
        snprintf(cd, sizeof cd, "%s/../capsules", ed);
    }
    char *real = realpath(cd, NULL);
    snprintf(out, n, "%s/%s", real ? real : cd, src);
    free(real);
    if (access(out, F_OK) == 0)
        return 0;
    return astrid_err_set(err, ASTRID_E_NOTFOUND,
                          "source %s: not found beside the Distro.toml (%s) nor in the capsule "
                          "build directory %s (run `make`?)",
                          src, distro_dir, cd);
}

static int lock_path(const char *home, const char *p, char *out, size_t n, astrid_err *err)
{
    return astrid_home_distro_lock(out, n, home, p, err) < 0 ? -1 : 0;
}

static int target(const char *agent, char *home, char *p, astrid_err *err)
{
    if (cli_home(home, PATH_MAX, err) < 0)
        return -1;
    return cli_target_agent(agent, home, p, CLI_PRINCIPAL_MAX, err);
}

bool cli_distro_locked(const char *agent)
{
    char home[PATH_MAX], p[CLI_PRINCIPAL_MAX], lp[PATH_MAX];
    astrid_err err;
    return target(agent, home, p, &err) == 0 && lock_path(home, p, lp, sizeof lp, &err) == 0 &&
           access(lp, F_OK) == 0;
}

/* ---- questions ---------------------------------------------------------- */

static bool read_line(char *buf, size_t n)
{
    if (!fgets(buf, (int)n, stdin))
        return false;
    buf[strcspn(buf, "\r\n")] = '\0';
    return true;
}

typedef struct sel {
    bool *on; /* per capsule */
} sel;

/* Upstream: each group of >1 capsules is a multi-select answered with
 * comma-separated numbers; empty (or --yes, or end of input) = the first. */
static int select_groups(cli_ctx *ctx, const astrid_distro *d, bool yes, bool *on, astrid_err *err)
{
    for (size_t i = 0; i < d->n_caps; i++)
        on[i] = d->caps[i].group == NULL;
    for (size_t i = 0; i < d->n_caps; i++) {
        const char *g = d->caps[i].group;
        bool first = g != NULL;
        for (size_t j = 0; j < i && first; j++)
            first = !(d->caps[j].group && strcmp(d->caps[j].group, g) == 0);
        if (!first)
            continue;
        size_t idx[256], m = 0;
        for (size_t j = i; j < d->n_caps && m < 256; j++)
            if (d->caps[j].group && strcmp(d->caps[j].group, g) == 0)
                idx[m++] = j;
        char line[256] = "";
        if (m > 1 && !yes) {
            fprintf(ctx->err, "Select %s (comma-separated numbers; empty = 1):\n", g);
            for (size_t k = 0; k < m; k++)
                fprintf(ctx->err, "  %zu) %s\n", k + 1, d->caps[idx[k]].name);
            fprintf(ctx->err, "> ");
            fflush(ctx->err);
            if (!read_line(line, sizeof line))
                line[0] = '\0';
        }
        bool any = false;
        for (char *save = NULL, *t = strtok_r(line, ", ", &save); t;
             t = strtok_r(NULL, ", ", &save)) {
            char *end;
            long k = strtol(t, &end, 10);
            if (*end || k < 1 || (size_t)k > m)
                return astrid_err_set(err, ASTRID_E_INVALID, "group %s: '%s' is not one of 1..%zu",
                                      g, t, m);
            on[idx[k - 1]] = any = true;
        }
        if (!any)
            on[idx[0]] = true;
    }
    return 0;
}

typedef struct vars {
    const astrid_distro *d;
    char **val; /* per d->vars, NULL = not asked */
    bool *used;
} vars;

static void mark_used(const char *name, void *user)
{
    vars *v = user;
    for (size_t i = 0; i < v->d->n_vars; i++)
        if (strcmp(v->d->vars[i].name, name) == 0)
            v->used[i] = true;
}

static const char *lookup(const char *name, void *user)
{
    vars *v = user;
    for (size_t i = 0; i < v->d->n_vars; i++)
        if (strcmp(v->d->vars[i].name, name) == 0)
            return v->val[i];
    return NULL;
}

/* Only the variables the selected capsules use are asked, sorted by name
 * (upstream's order); blank = the default. */
static int ask_vars(cli_ctx *ctx, const cli_distro_opts *o, const bool *on, vars *v,
                    astrid_err *err)
{
    const astrid_distro *d = v->d;
    for (int i = 0; o->vars && i < o->vars->count; i++) {
        const char *kv = o->vars->v[i], *eq = strchr(kv, '=');
        if (!eq)
            return astrid_err_set(err, ASTRID_E_INVALID, "--var %s: expected KEY=VALUE", kv);
        bool found = false;
        for (size_t j = 0; j < d->n_vars; j++)
            if (strlen(d->vars[j].name) == (size_t)(eq - kv) &&
                strncmp(d->vars[j].name, kv, (size_t)(eq - kv)) == 0) {
                free(v->val[j]);
                v->val[j] = strdup(eq + 1);
                found = true;
            }
        if (!found)
            return astrid_err_set(err, ASTRID_E_INVALID,
                                  "--var %.*s: distro %s has no such variable", (int)(eq - kv), kv,
                                  d->id);
    }
    for (size_t i = 0; i < d->n_caps; i++)
        for (size_t j = 0; on[i] && j < d->caps[i].n_env; j++)
            astrid_distro_template_each(d->caps[i].env[j].value, mark_used, v, err);
    size_t order[256], m = 0;
    for (size_t i = 0; i < d->n_vars && m < 256; i++)
        if (v->used[i])
            order[m++] = i;
    for (size_t a = 1; a < m; a++)
        for (size_t b = a; b > 0 && strcmp(d->vars[order[b - 1]].name, d->vars[order[b]].name) > 0;
             b--) {
            size_t t = order[b];
            order[b] = order[b - 1];
            order[b - 1] = t;
        }
    for (size_t k = 0; k < m; k++) {
        const astrid_distro_var *x = &d->vars[order[k]];
        char **slot = &v->val[order[k]];
        if (*slot)
            continue;
        char line[4096] = "";
        if (!o->yes) {
            fprintf(ctx->err, "%s%s%s%s%s%s: ", x->name, x->description ? " (" : "",
                    x->description ? x->description : "", x->description ? ")" : "",
                    x->def && x->def[0] && !x->secret ? " [" : "",
                    x->def && x->def[0] && !x->secret ? x->def : "");
            if (x->def && x->def[0] && !x->secret)
                fprintf(ctx->err, "] ");
            fflush(ctx->err);
            if (!read_line(line, sizeof line))
                line[0] = '\0';
            if (!line[0] || !isatty(STDIN_FILENO))
                fprintf(ctx->err, "\n");
        }
        *slot = strdup(line[0] ? line : (x->def ? x->def : ""));
        if (!*slot)
            return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    }
    return 0;
}

/* ---- the batch install -------------------------------------------------- */

typedef struct job {
    const astrid_distro_capsule *c;
    char source[PATH_MAX * 2];
    char hash[80];
    char msg[512];
    double secs;
    bool ok;
} job;

typedef struct batch {
    cli_ctx *ctx;
    const char *home, *principal;
    job *jobs;
    size_t n, next, done;
    pthread_mutex_t out_lock; /* guards next, done, the jobs' results, ctx->err */
} batch;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *worker(void *arg)
{
    batch *b = arg;
    astrid_client *c = NULL;
    astrid_err cerr;
    astrid_client_opts co = {.home = b->home, .principal = b->principal, .identity = ""};
    int crc = astrid_client_connect(&c, &co, &cerr);
    for (;;) {
        pthread_mutex_lock(&b->out_lock);
        size_t i = b->next < b->n ? b->next++ : b->n;
        pthread_mutex_unlock(&b->out_lock);
        if (i == b->n)
            break;
        job *j = &b->jobs[i];
        double t0 = now_s();
        json_t *r = NULL;
        astrid_err err;
        int rc = crc;
        if (rc < 0) {
            err = cerr;
        } else {
            json_t *params = json_pack("{s:s}", "source", j->source);
            astrid_call call = {.api = ASTRID_API_MANAGEMENT,
                                .suffix = "install_capsule",
                                .method = "InstallCapsule",
                                .params = params,
                                .timeout_ms = CALL_IDLE_MS,
                                .message_only = true};
            /* progress frames are dropped: the per-capsule line says it */
            static void (*const none)(json_t *, void *) = NULL;
            call.on_progress = none;
            rc = astrid_client_call(c, &call, &r, &err);
            json_decref(params);
        }
        pthread_mutex_lock(&b->out_lock);
        j->secs = now_s() - t0;
        if (rc == 0) {
            const char *h = json_string_value(json_object_get(r, "wasm_hash"));
            snprintf(j->hash, sizeof j->hash, "%s%s", h && *h ? "blake3:" : "", h ? h : "");
            j->ok = true;
        } else {
            snprintf(j->msg, sizeof j->msg, "%s", err.msg);
        }
        b->done++;
        fprintf(b->ctx->err, "[%2zu/%zu] %-32s %-8s %s (%.1f s)%s%s\n", b->done, b->n, j->c->name,
                j->c->version, j->ok ? "installed" : "FAILED", j->secs, j->ok ? "" : ": ",
                j->ok ? "" : j->msg);
        fflush(b->ctx->err);
        pthread_mutex_unlock(&b->out_lock);
        json_decref(r);
    }
    if (c)
        astrid_client_close(c);
    return NULL;
}

static int run_batch(batch *b, astrid_err *err)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t nw = cores > 0 && cores < INSTALL_WORKERS ? (size_t)cores : INSTALL_WORKERS;
    if (nw > b->n)
        nw = b->n;
    pthread_t th[INSTALL_WORKERS];
    size_t started = 0;
    pthread_mutex_init(&b->out_lock, NULL);
    for (; started < nw; started++)
        if (pthread_create(&th[started], NULL, worker, b) != 0)
            break;
    if (started == 0)
        worker(b);
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_destroy(&b->out_lock);
    size_t failed = 0;
    for (size_t i = 0; i < b->n; i++)
        failed += !b->jobs[i].ok;
    if (failed)
        return astrid_err_set(err, ASTRID_E_INVALID,
                              "%zu of %zu capsule(s) failed to install (see above); no lock "
                              "written, run it again to retry",
                              failed, b->n);
    return 0;
}

/* The distro's env values through SetCapsuleConfig, after the install (the
 * daemon checks them against the capsule's [env]). A key whose template
 * uses a secret variable goes to the secret store; an empty value is left
 * to the capsule's default. Upstream never overwrites an existing env file,
 * nor do we. */
static int configure(cli_ctx *ctx, astrid_client *c, const char *home, const char *p,
                     const astrid_distro_capsule *cap, vars *v, astrid_err *err)
{
    if (cap->n_env == 0)
        return 0;
    char envp[PATH_MAX];
    if (astrid_home_env_json(envp, sizeof envp, home, p, cap->name, err) < 0)
        return -1;
    if (access(envp, F_OK) == 0) {
        fprintf(ctx->err, "  %s: keeping its existing configuration (%s)\n", cap->name, envp);
        return 0;
    }
    json_t *env = json_object(), *sec = json_object();
    for (size_t i = 0; i < cap->n_env; i++) {
        char *val = astrid_distro_render(cap->env[i].value, lookup, v, err);
        if (!val) {
            json_decref(env);
            json_decref(sec);
            return -1;
        }
        bool secret = false;
        for (size_t k = 0; k < v->d->n_vars; k++)
            if (v->d->vars[k].secret) {
                char a[80], b2[80];
                snprintf(a, sizeof a, "{{ %s }}", v->d->vars[k].name);
                snprintf(b2, sizeof b2, "{{%s}}", v->d->vars[k].name);
                secret |= strstr(cap->env[i].value, a) || strstr(cap->env[i].value, b2);
            }
        if (val[0])
            json_object_set_new(secret ? sec : env, cap->env[i].key, json_string(val));
        free(val);
    }
    int rc = 0;
    if (json_object_size(env) || json_object_size(sec)) {
        json_t *params = json_pack("{s:s,s:s,s:o,s:o}", "name", cap->name, "agent", p, "env", env,
                                   "secrets", sec);
        astrid_call call = {.api = ASTRID_API_MANAGEMENT,
                            .suffix = "capsule_config",
                            .method = "SetCapsuleConfig",
                            .params = params,
                            .timeout_ms = CALL_IDLE_MS,
                            .message_only = true};
        json_t *r = NULL;
        rc = astrid_client_call(c, &call, &r, err);
        json_decref(r);
        json_decref(params);
        if (rc < 0)
            astrid_err_prefix(err, "configuring %s", cap->name);
        else
            fprintf(ctx->err, "  configured %s\n", cap->name);
    } else {
        json_decref(env);
        json_decref(sec);
    }
    return rc;
}

static void dirname_of(const char *path, char *out, size_t n)
{
    char *real = realpath(path, NULL);
    snprintf(out, n, "%s", real ? real : path);
    free(real);
    char *slash = strrchr(out, '/');
    if (slash)
        *slash = '\0';
}

/* The capsules the lock names as installed, for `update`: an entry whose
 * version and source match and whose installed meta.json carries the
 * locked hash is unchanged. */
static bool unchanged(const char *home, const char *p, const astrid_distro_lock *l,
                      const astrid_distro_capsule *c)
{
    for (size_t i = 0; l && i < l->n_caps; i++) {
        const astrid_distro_lock_capsule *x = &l->caps[i];
        if (strcmp(x->name, c->name) != 0)
            continue;
        if (strcmp(x->version, c->version) != 0 || strcmp(x->source, c->source) != 0)
            return false;
        char cdir[PATH_MAX], mp[PATH_MAX + 16];
        astrid_err err;
        if (astrid_home_capsule_dir(cdir, sizeof cdir, home, p, c->name, &err) < 0 ||
            astrid_path_join(mp, sizeof mp, cdir, "meta.json", &err) != 0)
            return false;
        json_t *m = json_load_file(mp, 0, NULL);
        const char *h = json_string_value(json_object_get(m, "wasm_hash"));
        bool same = h && strncmp(x->hash, "blake3:", 7) == 0 && strcmp(x->hash + 7, h) == 0;
        json_decref(m);
        return same;
    }
    return false;
}

int cli_distro_apply(cli_ctx *ctx, const cli_distro_opts *o)
{
    astrid_err err = {0};
    char home[PATH_MAX], p[CLI_PRINCIPAL_MAX], mpath[PATH_MAX], ddir[PATH_MAX], lp[PATH_MAX];
    const char *spec = o->spec ? o->spec : DEFAULT_DISTRO;
    astrid_distro *d = NULL;
    astrid_distro_lock *old = NULL;
    bool *on = NULL;
    vars v = {0};
    job *jobs = NULL;
    astrid_client *c = NULL;
    int rc = CLI_ERROR;
    if (target(o->agent, home, p, &err) < 0 || lock_path(home, p, lp, sizeof lp, &err) < 0 ||
        resolve_manifest(spec, mpath, sizeof mpath, &err) < 0 ||
        astrid_distro_load(mpath, &d, &err) < 0)
        goto fail;
    dirname_of(mpath, ddir, sizeof ddir);
    if (astrid_distro_lock_read(lp, &old, &err) < 0 && err.code != ASTRID_E_NOTFOUND)
        goto fail;
    if (!o->force && astrid_distro_lock_fresh(old, d)) {
        fprintf(ctx->out, "Distro %s %s is already installed for %s (%s)\n", d->id, d->version, p,
                lp);
        rc = CLI_OK;
        goto done;
    }
    fprintf(ctx->err, "Applying distro %s %s to agent %s (%s)\n",
            d->pretty_name ? d->pretty_name : d->name, d->version, p, mpath);
    on = calloc(d->n_caps, sizeof *on);
    v.d = d;
    v.val = calloc(d->n_vars + 1, sizeof *v.val);
    v.used = calloc(d->n_vars + 1, sizeof *v.used);
    jobs = calloc(d->n_caps, sizeof *jobs);
    if (!on || !v.val || !v.used || !jobs) {
        astrid_err_set(&err, ASTRID_E_NOMEM, "out of memory");
        goto fail;
    }
    if (o->force && old) {
        /* update: keep the group choices the lock records */
        for (size_t i = 0; i < d->n_caps; i++) {
            on[i] = d->caps[i].group == NULL;
            for (size_t k = 0; k < old->n_caps && !on[i]; k++)
                on[i] = strcmp(old->caps[k].name, d->caps[i].name) == 0;
        }
    } else if (select_groups(ctx, d, o->yes, on, &err) < 0) {
        goto fail;
    }
    if (ask_vars(ctx, o, on, &v, &err) < 0)
        goto fail;
    batch b = {.ctx = ctx, .home = home, .principal = p, .jobs = jobs};
    size_t skipped = 0;
    for (size_t i = 0; i < d->n_caps; i++) {
        if (!on[i])
            continue;
        if (o->force && old && unchanged(home, p, old, &d->caps[i])) {
            skipped++;
            continue;
        }
        job *j = &jobs[b.n++];
        j->c = &d->caps[i];
        char where[64];
        snprintf(where, sizeof where, "capsule[%zu]", i);
        if (resolve_source(ddir, d->caps[i].source, j->source, sizeof j->source, &err) < 0) {
            astrid_err_prefix(&err, "%s", where);
            goto fail;
        }
    }
    /* One connection held for the whole batch, so an ephemeral daemon
     * started for it lives until the end. */
    astrid_client_opts co = {.home = home, .principal = p, .autostart = true, .identity = ""};
    if (astrid_client_connect(&c, &co, &err) < 0)
        goto fail;
    double t0 = now_s();
    if (b.n && run_batch(&b, &err) < 0)
        goto fail;
    if (skipped)
        fprintf(ctx->err, "%zu capsule(s) unchanged since the lock\n", skipped);
    for (size_t i = 0; i < b.n; i++)
        if (configure(ctx, c, home, p, jobs[i].c, &v, &err) < 0)
            goto fail;
    astrid_distro_lock l = {.id = d->id, .version = d->version};
    astrid_distro_lock_capsule lc[256];
    for (size_t i = 0; i < d->n_caps && l.n_caps < 256; i++) {
        if (!on[i])
            continue;
        const char *hash = "";
        for (size_t k = 0; k < b.n; k++)
            if (jobs[k].c == &d->caps[i])
                hash = jobs[k].hash;
        for (size_t k = 0; !hash[0] && old && k < old->n_caps; k++)
            if (strcmp(old->caps[k].name, d->caps[i].name) == 0)
                hash = old->caps[k].hash;
        lc[l.n_caps++] = (astrid_distro_lock_capsule){.name = d->caps[i].name,
                                                      .version = d->caps[i].version,
                                                      .source = d->caps[i].source,
                                                      .hash = (char *)hash};
    }
    l.caps = lc;
    if (astrid_distro_lock_write(lp, &l, &err) < 0)
        goto fail;
    fprintf(ctx->out, "Installed distro %s %s for %s: %zu capsule(s) in %.1f s; lock %s\n", d->id,
            d->version, p, b.n, now_s() - t0, lp);
    rc = CLI_OK;
    goto done;
fail:
    rc = cli_fail(ctx, &err);
done:
    if (c)
        astrid_client_close(c);
    for (size_t i = 0; v.val && i < d->n_vars; i++)
        free(v.val[i]);
    free(v.val);
    free(v.used);
    free(on);
    free(jobs);
    astrid_distro_lock_free(old);
    astrid_distro_free(d);
    return rc;
}

int cli_distro_check(const char *spec, astrid_err *err)
{
    char mpath[PATH_MAX];
    astrid_distro *d = NULL;
    if (resolve_manifest(spec ? spec : DEFAULT_DISTRO, mpath, sizeof mpath, err) < 0 ||
        astrid_distro_load(mpath, &d, err) < 0)
        return -1;
    astrid_distro_free(d);
    return 0;
}

static bool has_capsules(const char *home, const char *p)
{
    char cd[PATH_MAX];
    astrid_err err;
    if (astrid_home_capsules_dir(cd, sizeof cd, home, p, &err) < 0)
        return false;
    DIR *dir = opendir(cd);
    if (!dir)
        return false;
    bool any = false;
    for (struct dirent *e; !any && (e = readdir(dir));)
        any = e->d_name[0] != '.';
    closedir(dir);
    return any;
}

int cli_distro_first_run(cli_ctx *ctx)
{
    const char *off = getenv("ASTRID_NO_AUTO_INIT");
    if (off && *off && strcmp(off, "0") != 0)
        return CLI_OK;
    char home[PATH_MAX], p[CLI_PRINCIPAL_MAX], lp[PATH_MAX];
    astrid_err err;
    if (target(NULL, home, p, &err) < 0 || lock_path(home, p, lp, sizeof lp, &err) < 0)
        return CLI_OK; /* the command itself reports a bad home */
    /* A home whose capsules were installed by hand is not a first run. */
    if (access(lp, F_OK) == 0 || has_capsules(home, p))
        return CLI_OK;
    fprintf(ctx->err,
            "astrid: first run: agent %s has no distro; running `astrid init --yes` with the "
            "default distro (%s)\n",
            p, DEFAULT_DISTRO);
    cli_distro_opts o = {.yes = true};
    return cli_distro_apply(ctx, &o);
}
