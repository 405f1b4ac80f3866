/* MCP capsules (docs/mcp.md; reference §6.8 McpHostEngine, §3.5 restart
 * backoff): each stdio [[mcp_server]] of a loaded capsule runs as a
 * sandboxed process (astrid_sandbox_spawn) spoken to through the MCP
 * client (capsule/mcp/mcp.h), restarted when it exits (2 s doubling to
 * 120 s, 5 attempts, astrid.v1.health.failed each time), and its tools
 * answer on the bus:
 *   tool.v1.request.describe      -> tool.v1.request.describe.reply
 *                                    {"tools":[{name,description,input_schema}]}
 *   tool.v1.execute.<name>        -> tool.v1.execute.<name>.result
 *                                    tool_execute_result {call_id, result}
 * Answers are addressed to the connection that asked (docs/wire.md,
 * Private delivery): another agent's subscription never sees them.
 *
 * A call runs AS the invoking principal: Layer 3 admission, that
 * principal's timeout quota as the deadline, and either
 *  - per_principal = true: that principal's own server process (own
 *    state directory home/{p}/.local/mcp/{capsule}, own env secrets), or
 *  - the capsule's one shared server, told who asks in
 *    params._meta["astrid/principal"] (a stateless tool needs no more).
 *
 * Threads:
 *  - one "mcp supervisor" per server process (kmcp_proc): spawns it (the
 *    sandbox ties the child's life to the spawning thread, so this
 *    long-lived thread is the one that forks), initializes, lists tools,
 *    drains the server's stderr into the daemon log, reaps it, restarts.
 *  - KMCP_WORKERS "mcp workers" per capsule pop the capsule's bus
 *    subscription (tool.v1.*) and run calls; several calls share one
 *    server at once (the client multiplexes by request id).
 *  - the MCP client's own reader thread per process (capsule/mcp/mcp.c).
 * Locks: `procs_lock` guards the process list and each server's known
 * tools; each process's `lock` guards its state, client, users and tools.
 * Order: procs_lock -> proc lock. */
#include "kernel/mcp_host.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "astrid/blake3.h"
#include "astrid/fs.h"
#include "astrid/home.h"
#include "astrid/jsonsafe.h"
#include "capsule/mcp/mcp.h"
#include "capsule/sandbox/sandbox.h"
#include "kernel/capsule_lookup.h"
#include "kernel/capsule_rt.h"
#include "lib/audit/audit_format.h"
#include "lib/config/config.h"
#include "store/secrets.h"

#define KMCP_WORKERS 4
#define KMCP_STABLE_MS 60000 /* a run this long forgives earlier failures */
/* restart backoff, attempts and the handshake's deadline: [mcp] and
 * timeouts.mcp_init_ms of the configuration (docs/config.md) */
#define KMCP_INIT_TIMEOUT_MS(k) ((int)astrid_config_int((k)->config, "timeouts.mcp_init_ms"))
#define KMCP_MAX_PROCS 64 /* per capsule: shared servers + per-principal ones */
#define KMCP_DEFAULT_TIMEOUT_MS 300000

enum { ST_STARTING, ST_RUNNING, ST_BACKOFF, ST_FAILED, ST_STOPPED };
static const char *const state_names[] = {"starting", "running", "restarting", "failed", "stopped"};

typedef struct kmcp kmcp;

typedef struct kmcp_proc {
    kmcp *m;
    size_t srv;         /* index into the manifest's mcp_servers */
    char principal[65]; /* whose server; the owner's for a shared one */
    bool shared;
    pthread_t thread;
    bool thread_started;
    int wake[2];          /* stop and list_changed wake the supervisor */
    pthread_mutex_t lock; /* guards the fields below */
    pthread_cond_t cond;  /* state changed, users dropped */
    int state;
    pid_t pid;
    bool sandboxed;
    unsigned restarts;
    astrid_mcp_client *cli;
    unsigned users; /* calls in flight on cli */
    json_t *tools;  /* last tools/list answer */
    bool refresh;   /* list_changed seen */
    bool stop;
    char last_error[300];
    struct kmcp_proc *next;
} kmcp_proc;

struct kmcp {
    kcapsule *c;
    astrid_kernel *k;
    astrid_sub *sub;
    pthread_t workers[KMCP_WORKERS];
    size_t nworkers;
    pthread_mutex_t procs_lock; /* guards procs, nprocs, known */
    kmcp_proc *procs;
    size_t nprocs;
    json_t **known;         /* per server: the tools it was last seen to offer */
    uint64_t describe_icpt; /* the trigger-hook answer to tool.v1.request.describe */
};

static const char *cname(const kmcp *m)
{
    return m->c->inst->manifest->name;
}

static const astrid_manifest_mcp_server *srv_of(const kmcp_proc *p)
{
    return &p->m->c->inst->manifest->mcp_servers[p->srv];
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void poke(kmcp_proc *p)
{
    if (write(p->wake[1], "x", 1) < 0) {
        /* a full pipe already wakes the supervisor */
    }
}

static void set_state(kmcp_proc *p, int st)
{
    pthread_mutex_lock(&p->lock);
    p->state = st;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

/* ---- client callbacks (reader thread) ---- */

static void on_client_log(void *ctx, const char *level, const char *msg)
{
    kmcp_proc *p = ctx;
    astrid_klog(p->m->k, level, "capsule %s: %s", cname(p->m), msg);
}

static void on_tools_changed(void *ctx)
{
    kmcp_proc *p = ctx;
    pthread_mutex_lock(&p->lock);
    p->refresh = true;
    pthread_mutex_unlock(&p->lock);
    poke(p);
}

static void on_closed(void *ctx)
{
    poke(ctx);
}

/* ---- spawning ---- */

/* The server's environment: the manifest's [env], each value resolved for
 * `principal` (a secret from its slot then the host-wide one, else the
 * principal's configured value, else the declared default); "${state_dir}"
 * in a value becomes the per-principal state directory. */
static char **build_env(kmcp_proc *p, const char *state_dir, astrid_err *err)
{
    const astrid_manifest *mf = p->m->c->inst->manifest;
    astrid_kernel *k = p->m->k;
    char **env = calloc(mf->nenv + 2, sizeof *env);
    if (!env) {
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        return NULL;
    }
    size_t n = 0;
    char path[4200];
    json_t *cfg = NULL;
    if (astrid_home_env_json(path, sizeof path, k->home, p->principal, mf->name, NULL) == 0)
        cfg = astrid_json_load_file(path, 0, NULL);
    for (size_t i = 0; i < mf->nenv; i++) {
        const astrid_manifest_env *d = &mf->env[i];
        char *val = NULL;
        if (strcmp(d->type, "secret") == 0) {
            if (astrid_secret_resolve(k->home, p->principal, mf->name, d->key, &val, err) != 0)
                goto fail;
        } else {
            const char *v = json_string_value(json_object_get(cfg, d->key));
            if (!v)
                v = d->default_value;
            if (v && !(val = strdup(v)))
                goto nomem;
        }
        if (!val)
            continue;
        const char *tok = strstr(val, "${state_dir}");
        size_t extra = state_dir ? strlen(state_dir) : 0;
        size_t len = strlen(d->key) + 1 + strlen(val) + extra + 1;
        if (!(env[n] = malloc(len))) {
            free(val);
            goto nomem;
        }
        if (tok && state_dir)
            snprintf(env[n], len, "%s=%.*s%s%s", d->key, (int)(tok - val), val, state_dir,
                     tok + strlen("${state_dir}"));
        else
            snprintf(env[n], len, "%s=%s", d->key, val);
        n++;
        free(val);
    }
    json_decref(cfg);
    return env;
nomem:
    astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
fail:
    json_decref(cfg);
    for (size_t i = 0; i < n; i++)
        free(env[i]);
    free(env);
    return NULL;
}

static void free_strs(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

/* Absolute entries of a manifest path list (fs_read / fs_write); the
 * scheme entries (cwd://, home://, *) are the VFS's, not a native
 * server's. */
static size_t abs_paths(const astrid_strv *s, const char **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n && n < max; i++)
        if (s->v[i][0] == '/')
            out[n++] = s->v[i];
    return n;
}

/* The program to run: an absolute path; a relative path inside the
 * capsule dir (canonicalized: a symlink out of it is refused); a bare name
 * for the sandbox to find on PATH. */
static int resolve_command(kmcp_proc *p, char *out, size_t n, astrid_err *err)
{
    const char *cmd = srv_of(p)->command, *dir = p->m->c->inst->dir;
    if (cmd[0] == '/' || !strchr(cmd, '/')) {
        snprintf(out, n, "%s", cmd);
        return 0;
    }
    char joined[PATH_MAX + 256], real[PATH_MAX], rdir[PATH_MAX];
    snprintf(joined, sizeof joined, "%s/%s", dir, cmd);
    if (!realpath(joined, real) || !realpath(dir, rdir))
        return astrid_err_set(err, ASTRID_E_NOTFOUND, "MCP server %s: command %s: %s",
                              srv_of(p)->id, cmd, strerror(errno));
    size_t dl = strlen(rdir);
    if (strncmp(real, rdir, dl) != 0 || real[dl] != '/')
        return astrid_err_set(err, ASTRID_E_PERM,
                              "MCP server %s: command %s resolves to %s, outside the capsule "
                              "directory",
                              srv_of(p)->id, cmd, real);
    snprintf(out, n, "%s", real);
    return 0;
}

static int spawn_server(kmcp_proc *p, astrid_sandbox_proc *sp, astrid_err *err)
{
    kmcp *m = p->m;
    astrid_kernel *k = m->k;
    const astrid_manifest *mf = m->c->inst->manifest;
    const astrid_manifest_mcp_server *s = srv_of(p);
    char prog[PATH_MAX], state[4200] = "";
    if (resolve_command(p, prog, sizeof prog, err) != 0)
        return -1;
    if (!p->shared) {
        if (astrid_home_mcp_state_dir(state, sizeof state, k->home, p->principal, mf->name, err) !=
                0 ||
            astrid_mkdir_p(state, 0700, 0, err) != 0)
            return -1;
    }
    const char *argv[ASTRID_MANIFEST_MCP_MAX_ARGS + 2];
    size_t an = 0;
    argv[an++] = prog;
    for (size_t i = 0; i < s->nargs && an < ASTRID_MANIFEST_MCP_MAX_ARGS + 1; i++)
        argv[an++] = s->args[i];
    argv[an] = NULL;
    const char *ro[33], *rw[34];
    ro[abs_paths(&mf->fs_read, ro, 32)] = NULL;
    size_t nrw = abs_paths(&mf->fs_write, rw, 32);
    if (state[0])
        rw[nrw++] = state;
    rw[nrw] = NULL;
    char **env = build_env(p, state[0] ? state : NULL, err);
    if (!env)
        return -1;
    astrid_sandbox_spec spec = {.argv = argv,
                                .env = (const char *const *)env,
                                .cwd = state[0] ? state : NULL,
                                .capsule_dir = m->c->inst->dir,
                                .rw_paths = rw,
                                .ro_paths = ro,
                                .astrid_home = k->home,
                                .net = mf->net.n > 0 || mf->uplink};
    int rc = astrid_sandbox_spawn(&k->sandbox_probe, k->sandbox_policy, &spec, sp, err);
    free_strs(env);
    return rc;
}

/* The server's stderr, line by line into the daemon log (bounded: a
 * chatty server cannot fill the log faster than 4 KiB per read). */
static bool drain_stderr(kmcp_proc *p, int fd, char *buf, size_t *len, size_t cap)
{
    ssize_t r = read(fd, buf + *len, cap - *len - 1);
    if (r <= 0)
        return r < 0 && (errno == EINTR || errno == EAGAIN);
    *len += (size_t)r;
    char *start = buf, *nl;
    while ((nl = memchr(start, '\n', (size_t)(buf + *len - start)))) {
        *nl = '\0';
        if (nl > start)
            astrid_klog(p->m->k, "INFO", "capsule %s: MCP server %s: stderr: %.300s", cname(p->m),
                        srv_of(p)->id, start);
        start = nl + 1;
    }
    *len = (size_t)(buf + *len - start);
    memmove(buf, start, *len);
    if (*len == cap - 1) { /* a line longer than the buffer: cut */
        buf[*len] = '\0';
        astrid_klog(p->m->k, "INFO", "capsule %s: MCP server %s: stderr: %.300s", cname(p->m),
                    srv_of(p)->id, buf);
        *len = 0;
    }
    return true;
}

/* Keep the capsule-wide view of which tools server `srv` offers (workers
 * route tool.v1.execute.<name> by it). */
static void publish_known(kmcp *m, size_t srv, json_t *tools)
{
    pthread_mutex_lock(&m->procs_lock);
    json_decref(m->known[srv]);
    m->known[srv] = json_incref(tools);
    pthread_mutex_unlock(&m->procs_lock);
}

static int list_tools(kmcp_proc *p, astrid_err *err)
{
    json_t *tools = NULL;
    if (astrid_mcp_list_tools(p->cli, KMCP_INIT_TIMEOUT_MS(p->m->k), &tools, err) != 0)
        return -1;
    pthread_mutex_lock(&p->lock);
    json_decref(p->tools);
    p->tools = json_incref(tools);
    pthread_mutex_unlock(&p->lock);
    publish_known(p->m, p->srv, tools);
    json_decref(tools);
    return 0;
}

static void health_failed(kmcp_proc *p, const char *reason)
{
    json_t *pl =
        json_pack("{s:s,s:{s:s,s:s,s:s,s:s}}", "type", "custom", "data", "capsule_id", cname(p->m),
                  "reason", reason, "server", srv_of(p)->id, "principal", p->principal);
    char *t = pl ? astrid_json_dumps(pl, JSON_COMPACT) : NULL;
    astrid_err err;
    if (t && astrid_kernel_bus_publish(p->m->k, "astrid.v1.health.failed", t, strlen(t),
                                       p->m->c->source_id, NULL, 0, NULL, &err) != 0)
        astrid_klog(p->m->k, "WARN", "capsule %s: health.failed not published: %s", cname(p->m),
                    err.msg);
    free(t);
    json_decref(pl);
}

/* Sleep up to ms, or until stop. true when stopping. */
static bool backoff_wait(kmcp_proc *p, uint64_t ms)
{
    uint64_t end = now_ms() + ms;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        bool stop = p->stop;
        pthread_mutex_unlock(&p->lock);
        uint64_t now = now_ms();
        if (stop || now >= end)
            return stop;
        struct pollfd pf = {p->wake[0], POLLIN, 0};
        if (poll(&pf, 1, (int)(end - now)) > 0) {
            char b[64];
            if (read(p->wake[0], b, sizeof b) < 0) {
                /* nothing to drain */
            }
        }
    }
}

/* One life of the server: spawn, handshake, serve until it exits. Returns
 * a description of how it ended in why. */
static void run_once(kmcp_proc *p, char *why, size_t whyn)
{
    kmcp *m = p->m;
    astrid_kernel *k = m->k;
    astrid_err err;
    astrid_sandbox_proc sp;
    set_state(p, ST_STARTING);
    if (spawn_server(p, &sp, &err) != 0) {
        snprintf(why, whyn, "cannot start: %s", err.msg);
        return;
    }
    if (!sp.sandboxed)
        astrid_klog(k, "WARN",
                    "capsule %s: MCP server %s runs UNSANDBOXED (ASTRID_SANDBOX_POLICY=off)",
                    cname(m), srv_of(p)->id);
    const char *const *roots = NULL;
    const char *rootv[66];
    size_t nr = abs_paths(&m->c->inst->manifest->fs_write, rootv, 32);
    nr += abs_paths(&m->c->inst->manifest->fs_read, rootv + nr, 32);
    rootv[nr] = NULL;
    roots = rootv;
    char name[200];
    snprintf(name, sizeof name, "%s/%s%s%s", cname(m), srv_of(p)->id, p->shared ? "" : "@",
             p->shared ? "" : p->principal);
    astrid_mcp_opts o = {.to_server = sp.in_fd,
                         .from_server = sp.out_fd,
                         .name = name,
                         .roots = roots,
                         .log = on_client_log,
                         .tools_changed = on_tools_changed,
                         .closed = on_closed,
                         .ctx = p};
    astrid_mcp_client *cli = astrid_mcp_client_new(&o, &err);
    pthread_mutex_lock(&p->lock);
    p->pid = sp.pid;
    p->sandboxed = sp.sandboxed;
    pthread_mutex_unlock(&p->lock);
    int pidfd = (int)syscall(SYS_pidfd_open, sp.pid, 0);
    bool up = false;
    if (!cli) {
        snprintf(why, whyn, "%s", err.msg);
        kill(sp.pid, SIGKILL);
    } else {
        pthread_mutex_lock(&p->lock);
        p->cli = cli;
        pthread_mutex_unlock(&p->lock);
        if (astrid_mcp_initialize(cli, KMCP_INIT_TIMEOUT_MS(p->m->k), &err) != 0 ||
            list_tools(p, &err) != 0) {
            snprintf(why, whyn, "handshake failed: %s", err.msg);
            kill(sp.pid, SIGKILL);
        } else {
            up = true;
            pthread_mutex_lock(&p->lock);
            p->state = ST_RUNNING;
            p->last_error[0] = '\0';
            pthread_cond_broadcast(&p->cond);
            pthread_mutex_unlock(&p->lock);
            astrid_klog(k, "INFO", "capsule %s: MCP server %s up (pid %d, protocol %s, %zu tools)",
                        cname(m), name, (int)sp.pid, astrid_mcp_protocol(cli),
                        json_array_size(p->tools));
        }
    }
    char ebuf[4096];
    size_t elen = 0;
    bool err_open = true;
    int status = 0;
    for (;;) {
        struct pollfd pf[3] = {
            {p->wake[0], POLLIN, 0}, {err_open ? sp.err_fd : -1, POLLIN, 0}, {pidfd, POLLIN, 0}};
        int pr = poll(pf, 3, pidfd >= 0 ? -1 : 250);
        if (pr < 0 && errno != EINTR)
            break;
        if (pf[1].revents && !drain_stderr(p, sp.err_fd, ebuf, &elen, sizeof ebuf))
            err_open = false;
        if (pf[0].revents) {
            char b[64];
            if (read(p->wake[0], b, sizeof b) < 0) {
                /* drained */
            }
            pthread_mutex_lock(&p->lock);
            bool stop = p->stop, refresh = p->refresh;
            p->refresh = false;
            pthread_mutex_unlock(&p->lock);
            if (stop)
                kill(sp.pid, SIGKILL);
            else if (refresh && up && list_tools(p, &err) != 0)
                astrid_klog(k, "WARN", "capsule %s: %s: tools/list after list_changed: %s",
                            cname(m), name, err.msg);
        }
        /* a server that closed its stdout is of no use even if it lives */
        if (cli && !astrid_mcp_alive(cli))
            kill(sp.pid, SIGKILL);
        pid_t w = waitpid(sp.pid, &status, WNOHANG);
        if (w == sp.pid)
            break;
        if (w < 0 && errno != EINTR) {
            status = -1;
            break;
        }
    }
    if (!why[0]) {
        if (WIFEXITED(status))
            snprintf(why, whyn, "exited with status %d", WEXITSTATUS(status));
        else if (WIFSIGNALED(status))
            snprintf(why, whyn, "killed by signal %d", WTERMSIG(status));
        else
            snprintf(why, whyn, "ended");
    }
    if (pidfd >= 0)
        close(pidfd);
    /* no caller may still hold the client when it is freed */
    pthread_mutex_lock(&p->lock);
    p->cli = NULL;
    p->pid = 0;
    pthread_mutex_unlock(&p->lock);
    if (cli) {
        astrid_mcp_client_shutdown(cli);
        pthread_mutex_lock(&p->lock);
        while (p->users)
            pthread_cond_wait(&p->cond, &p->lock);
        pthread_mutex_unlock(&p->lock);
        astrid_mcp_client_free(cli);
    } else {
        close(sp.in_fd);
        close(sp.out_fd);
    }
    close(sp.err_fd);
}

static void *supervisor_main(void *arg)
{
    kmcp_proc *p = arg;
    kmcp *m = p->m;
    unsigned attempts = 0;
    const astrid_config *cf = m->k->config;
    const uint64_t backoff_start = (uint64_t)astrid_config_int(cf, "mcp.restart_backoff_start_ms");
    const uint64_t backoff_max = (uint64_t)astrid_config_int(cf, "mcp.restart_backoff_max_ms");
    const unsigned max_attempts = (unsigned)astrid_config_int(cf, "mcp.restart_max_attempts");
    uint64_t backoff = backoff_start;
    for (;;) {
        char why[400] = "";
        uint64_t started = now_ms();
        run_once(p, why, sizeof why);
        pthread_mutex_lock(&p->lock);
        bool stop = p->stop;
        snprintf(p->last_error, sizeof p->last_error, "%s", why);
        pthread_mutex_unlock(&p->lock);
        if (stop)
            break;
        char reason[600];
        snprintf(reason, sizeof reason, "MCP server %s%s%s %s", srv_of(p)->id,
                 p->shared ? "" : " of ", p->shared ? "" : p->principal, why);
        astrid_klog(m->k, "WARN", "capsule %s: %s", cname(m), reason);
        health_failed(p, reason);
        if (now_ms() - started >= KMCP_STABLE_MS) {
            attempts = 0;
            backoff = backoff_start;
        }
        if (++attempts > max_attempts) {
            astrid_klog(m->k, "ERROR", "capsule %s: MCP server %s failed %u times: given up",
                        cname(m), srv_of(p)->id, max_attempts);
            set_state(p, ST_FAILED);
            return NULL;
        }
        set_state(p, ST_BACKOFF);
        if (backoff_wait(p, backoff))
            break;
        backoff = backoff * 2 > backoff_max ? backoff_max : backoff * 2;
        pthread_mutex_lock(&p->lock);
        p->restarts++;
        pthread_mutex_unlock(&p->lock);
    }
    set_state(p, ST_STOPPED);
    return NULL;
}

/* procs_lock held. A new process record, its supervisor started. */
static kmcp_proc *proc_new(kmcp *m, size_t srv, const char *principal, bool shared)
{
    if (m->nprocs >= KMCP_MAX_PROCS)
        return NULL;
    kmcp_proc *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->m = m;
    p->srv = srv;
    p->shared = shared;
    snprintf(p->principal, sizeof p->principal, "%s", principal);
    if (pipe2(p->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cond, &ca);
    pthread_condattr_destroy(&ca);
    p->state = ST_STARTING;
    if (pthread_create(&p->thread, NULL, supervisor_main, p) != 0) {
        close(p->wake[0]);
        close(p->wake[1]);
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->cond);
        free(p);
        return NULL;
    }
    p->thread_started = true;
    p->next = m->procs;
    m->procs = p;
    m->nprocs++;
    return p;
}

static void proc_free(kmcp_proc *p)
{
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    if (p->cli)
        astrid_mcp_client_shutdown(p->cli);
    pthread_mutex_unlock(&p->lock);
    poke(p);
    if (p->thread_started)
        pthread_join(p->thread, NULL);
    close(p->wake[0]);
    close(p->wake[1]);
    json_decref(p->tools);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
    free(p);
}

/* The process serving `principal` for server `srv` (created for a
 * per-principal server on first use). */
static kmcp_proc *proc_for(kmcp *m, size_t srv, const char *principal)
{
    bool per = m->c->inst->manifest->mcp_servers[srv].per_principal;
    pthread_mutex_lock(&m->procs_lock);
    kmcp_proc *p = m->procs;
    while (p && (p->srv != srv || (per && strcmp(p->principal, principal) != 0)))
        p = p->next;
    if (!p && per)
        p = proc_new(m, srv, principal, false);
    pthread_mutex_unlock(&m->procs_lock);
    return p;
}

/* ---- the bus side (mcp workers) ---- */

static bool tool_name_ok(const char *s)
{
    size_t n = strlen(s);
    return n && n <= 128 &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:-") == n;
}

static bool tools_have(const json_t *tools, const char *name)
{
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t)
    {
        const char *n = json_string_value(json_object_get(t, "name"));
        if (n && strcmp(n, name) == 0)
            return true;
    }
    return false;
}

/* A connection's request is answered to that connection alone (no other
 * agent's watcher sees it). A capsule's request (the chat stack's router
 * publishing tool.v1.execute.<name>) is answered on the bus, stamped with
 * the asking principal: addressed messages never reach capsules, and the
 * router's interceptor on tool.v1.execute.*.result must see it. Private
 * capsules among the listeners hear only their owner's messages (bus). */
static void reply(kmcp *m, const astrid_msg *msg, const char *topic, const json_t *payload)
{
    astrid_err err;
    int rc;
    if (astrid_capsule_index_has(m->k->capsule_index, msg->source_id)) {
        char *text = astrid_json_dumps(payload, JSON_COMPACT);
        rc = text ? astrid_kernel_bus_publish(m->k, topic, text, strlen(text), m->c->source_id,
                                              msg->principal, 0, NULL, &err)
                  : astrid_err_set(&err, ASTRID_E_NOMEM, "out of memory");
        free(text);
    } else {
        rc = astrid_kernel_publish_to(m->k, msg->source_id, NULL, topic, payload, msg->principal,
                                      &err);
    }
    if (rc != 0)
        astrid_klog(m->k, "WARN", "capsule %s: reply on %s not published: %s", cname(m), topic,
                    err.msg);
}

/* {"tools":[{name, description, input_schema}]}: what every tool capsule
 * answers to tool.v1.request.describe (new reference). */
static json_t *tools_json(kmcp *m)
{
    json_t *out = json_array();
    pthread_mutex_lock(&m->procs_lock);
    for (size_t s = 0; s < m->c->inst->manifest->nmcp_servers; s++) {
        size_t i;
        json_t *t;
        json_array_foreach(m->known[s], i, t)
        {
            const char *n = json_string_value(json_object_get(t, "name"));
            if (!n || !tool_name_ok(n))
                continue;
            const char *d = json_string_value(json_object_get(t, "description"));
            json_t *schema = json_object_get(t, "inputSchema");
            json_array_append_new(out,
                                  json_pack("{s:s,s:s,s:O}", "name", n, "description", d ? d : "",
                                            "input_schema", schema ? schema : json_object()));
        }
    }
    pthread_mutex_unlock(&m->procs_lock);
    return json_pack("{s:o}", "tools", out);
}

static void do_describe(kmcp *m, const astrid_msg *msg)
{
    json_t *pl = tools_json(m);
    reply(m, msg, "tool.v1.request.describe.reply", pl);
    json_decref(pl);
}

/* The prompt builder gathers tool schemas with trigger-hook
 * ("tool.v1.request.describe"), which asks interceptors only: an MCP
 * capsule answers there too, as the asking principal would be served
 * (private capsules skip other principals; Layer 3 admits). Priority 1000
 * puts it after the WebAssembly tool capsules in an ordinary chain. */
static int on_describe_icpt(void *ctx, const astrid_msg *msg, const uint8_t *payload, size_t len,
                            astrid_icpt_result *out)
{
    (void)payload;
    (void)len;
    kmcp *m = ctx;
    char reason[512];
    out->action = ASTRID_ICPT_SKIP;
    if (atomic_load(&m->c->unloading) || !msg->principal ||
        !kcapsule_serves(m->c, msg->principal) ||
        kcapsule_admit(m->c, msg->principal, reason, sizeof reason) != 0)
        return 0;
    json_t *pl = tools_json(m);
    char *text = pl ? astrid_json_dumps(pl, JSON_COMPACT) : NULL;
    json_decref(pl);
    if (!text)
        return -1;
    out->action = ASTRID_ICPT_FINAL;
    out->data = (uint8_t *)text;
    out->len = strlen(text);
    return 0;
}

typedef struct progress_ctx {
    kmcp *m;
    const astrid_msg *msg;
    const char *call_id;
    char topic[300];
} progress_ctx;

static void on_progress(void *vctx, const json_t *params)
{
    progress_ctx *pc = vctx;
    json_t *pl =
        json_pack("{s:s,s:{s:s,s:O,s:O,s:O}}", "type", "custom", "data", "call_id", pc->call_id,
                  "progress", json_object_get(params, "progress") ?: json_null(), "total",
                  json_object_get(params, "total") ?: json_null(), "message",
                  json_object_get(params, "message") ?: json_null());
    if (pl)
        reply(pc->m, pc->msg, pc->topic, pl);
    json_decref(pl);
}

/* The call into the caller's signed audit log before it runs (upstream's
 * mcp_tool_call {server, tool, args_hash}); write-behind, so a call does
 * not wait for the fsync, but a log that cannot record it refuses the call
 * (while failing, the writer makes write-behind appends wait and fail). */
static int audit_call(kmcp *m, const char *principal, size_t srv, const char *tool,
                      const json_t *args, astrid_err *err)
{
    char *text = args ? astrid_json_dumps(args, JSON_COMPACT | JSON_SORT_KEYS) : NULL, hash[65],
         server[200], why[300];
    astrid_blake3_hex(text ? text : "{}", text ? strlen(text) : 2, hash);
    free(text);
    snprintf(server, sizeof server, "capsule:%s/%s", cname(m),
             m->c->inst->manifest->mcp_servers[srv].id);
    snprintf(why, sizeof why, "capsule %s (owner %s) serves %s", cname(m), m->c->inst->owner,
             principal);
    json_t *action = json_pack("{s:s,s:s,s:s,s:s}", "type", "mcp_tool_call", "server", server,
                               "tool", tool, "args_hash", hash);
    json_t *auth = astrid_audit_auth_system(why), *outcome = astrid_audit_outcome_success(NULL);
    int rc = action && auth && outcome
                 ? astrid_audit_append_mode(m->k->audit, ASTRID_AUDIT_WRITE_BEHIND, principal,
                                            action, auth, outcome, NULL, err)
                 : astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    json_decref(action);
    json_decref(auth);
    json_decref(outcome);
    return rc;
}

/* CallToolResult content -> the ToolCallResult text: text parts joined by
 * newlines, any other part as its JSON. */
static char *content_text(const json_t *r)
{
    char *s = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&s, &len);
    if (!f)
        return NULL;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(r, "content"), i, c)
    {
        const char *t = json_string_value(json_object_get(c, "text"));
        if (i)
            fputc('\n', f);
        if (t) {
            fputs(t, f);
        } else {
            char *j = astrid_json_dumps(c, JSON_COMPACT);
            fputs(j ? j : "", f);
            free(j);
        }
    }
    if (!json_array_size(json_object_get(r, "content")) &&
        json_object_get(r, "structuredContent")) {
        char *j = astrid_json_dumps(json_object_get(r, "structuredContent"), JSON_COMPACT);
        fputs(j ? j : "", f);
        free(j);
    }
    fclose(f);
    return s;
}

static void send_result(kmcp *m, const astrid_msg *msg, const char *topic, const char *call_id,
                        const char *content, bool is_error)
{
    json_t *pl = json_pack("{s:s,s:s,s:{s:s,s:s,s:b}}", "type", "tool_execute_result", "call_id",
                           call_id, "result", "call_id", call_id, "content", content ? content : "",
                           "is_error", is_error);
    if (pl)
        reply(m, msg, topic, pl);
    json_decref(pl);
}

static void do_execute(kmcp *m, const astrid_msg *msg, const char *tool)
{
    const astrid_manifest *mf = m->c->inst->manifest;
    size_t srv = mf->nmcp_servers;
    pthread_mutex_lock(&m->procs_lock);
    for (size_t s = 0; s < mf->nmcp_servers && srv == mf->nmcp_servers; s++)
        if (tools_have(m->known[s], tool))
            srv = s;
    pthread_mutex_unlock(&m->procs_lock);
    if (srv == mf->nmcp_servers)
        return; /* not one of ours: another capsule may serve it */
    char topic[300];
    snprintf(topic, sizeof topic, "%s.result", msg->topic);
    json_t *req =
        msg->is_json ? astrid_json_loadb((const char *)msg->payload, msg->len, 0, NULL) : NULL;
    if (json_is_object(json_object_get(req, "data")) &&
        strcmp(json_string_value(json_object_get(req, "type")) ?: "", "custom") == 0) {
        json_t *d = json_incref(json_object_get(req, "data"));
        json_decref(req);
        req = d;
    }
    char idbuf[64];
    const json_t *cid = json_object_get(req, "call_id");
    const char *call_id = json_string_value(cid);
    if (!call_id && json_is_integer(cid)) {
        snprintf(idbuf, sizeof idbuf, "%lld", (long long)json_integer_value(cid));
        call_id = idbuf;
    }
    if (!call_id)
        call_id = "";
    const char *tn = json_string_value(json_object_get(req, "tool_name"));
    json_t *args = json_object_get(req, "arguments");
    char reason[512];
    if (!json_is_object(req)) {
        send_result(m, msg, topic, call_id, "tool_execute_request must be a JSON object", true);
        goto out;
    }
    if (tn && strcmp(tn, tool) != 0) {
        send_result(m, msg, topic, call_id, "tool_name does not match the topic", true);
        goto out;
    }
    if (args && !json_is_object(args)) {
        send_result(m, msg, topic, call_id, "arguments must be a JSON object", true);
        goto out;
    }
    /* Layer 3: a phantom or disabled principal gets nothing run for it */
    if (kcapsule_admit(m->c, msg->principal, reason, sizeof reason) != 0) {
        send_result(m, msg, topic, call_id, reason, true);
        goto out;
    }
    const astrid_profile *prof = astrid_profile_cache_get(m->k->profiles, msg->principal, NULL);
    int timeout =
        prof && prof->quotas.max_timeout_secs
            ? (int)(prof->quotas.max_timeout_secs > 86400 ? 86400000
                                                          : prof->quotas.max_timeout_secs * 1000)
            : KMCP_DEFAULT_TIMEOUT_MS;
    astrid_profile_release(prof);
    kmcp_proc *p = proc_for(m, srv, msg->principal);
    if (!p) {
        send_result(m, msg, topic, call_id, "too many MCP server processes for this capsule", true);
        kcapsule_count(m->c, msg->principal, 1, 0);
        goto out;
    }
    /* wait for the server to be up (a restart in progress), within the
     * caller's deadline */
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += timeout / 1000;
    pthread_mutex_lock(&p->lock);
    while ((p->state == ST_STARTING || p->state == ST_BACKOFF) && !p->stop &&
           pthread_cond_timedwait(&p->cond, &p->lock, &dl) == 0)
        ;
    astrid_mcp_client *cli = p->state == ST_RUNNING ? p->cli : NULL;
    if (cli)
        p->users++;
    char last[300];
    snprintf(last, sizeof last, "%s", p->last_error);
    int st = p->state;
    pthread_mutex_unlock(&p->lock);
    if (!cli) {
        char why[700];
        snprintf(why, sizeof why, "MCP server %s is %s%s%s", mf->mcp_servers[srv].id,
                 state_names[st], last[0] ? ": " : "", last);
        send_result(m, msg, topic, call_id, why, true);
        kcapsule_count(m->c, msg->principal, 1, 0);
        goto out;
    }
    astrid_err aerr;
    if (audit_call(m, msg->principal, srv, tool, args, &aerr) != 0) {
        pthread_mutex_lock(&p->lock);
        if (--p->users == 0)
            pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->lock);
        char why[600];
        snprintf(why, sizeof why, "not run: the audit log could not record the call: %s", aerr.msg);
        send_result(m, msg, topic, call_id, why, true);
        kcapsule_count(m->c, msg->principal, 1, 0);
        goto out;
    }
    json_t *meta =
        json_pack("{s:s,s:s}", "astrid/principal", msg->principal, "astrid/call_id", call_id);
    progress_ctx pc = {m, msg, call_id, ""};
    snprintf(pc.topic, sizeof pc.topic, "%s.progress", msg->topic);
    json_t *r = NULL;
    astrid_err err;
    int rc = astrid_mcp_call_tool(cli, tool, args, meta, timeout, on_progress, &pc, &r, &err);
    json_decref(meta);
    pthread_mutex_lock(&p->lock);
    if (--p->users == 0)
        pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    if (rc != 0) {
        send_result(m, msg, topic, call_id, err.msg, true);
    } else {
        char *text = content_text(r);
        send_result(m, msg, topic, call_id, text, json_is_true(json_object_get(r, "isError")));
        free(text);
    }
    kcapsule_count(m->c, msg->principal, rc != 0, 0);
    json_decref(r);
out:
    json_decref(req);
}

static void handle(kmcp *m, const astrid_msg *msg)
{
    /* a system event is nobody's call; a private capsule serves its owner */
    if (!msg->principal || !kcapsule_serves(m->c, msg->principal))
        return;
    static const char exec[] = "tool.v1.execute.";
    if (strcmp(msg->topic, "tool.v1.request.describe") == 0) {
        char reason[512];
        if (kcapsule_admit(m->c, msg->principal, reason, sizeof reason) == 0)
            do_describe(m, msg);
    } else if (strncmp(msg->topic, exec, sizeof exec - 1) == 0 &&
               tool_name_ok(msg->topic + sizeof exec - 1)) {
        do_execute(m, msg, msg->topic + sizeof exec - 1);
    }
}

static void *worker_main(void *arg)
{
    kmcp *m = arg;
    const astrid_msg *msg;
    while (astrid_sub_pop(m->sub, -1, &msg, NULL) == 0) {
        if (!atomic_load(&m->c->unloading))
            handle(m, msg);
        astrid_msg_unref(msg);
    }
    return NULL;
}

/* ---- lifecycle (loop thread) ---- */

void kmcp_stop(kcapsule *c)
{
    kmcp *m = c->mcp;
    if (!m)
        return;
    if (m->describe_icpt)
        astrid_bus_unintercept(c->k->bus, m->describe_icpt);
    if (m->sub)
        astrid_sub_close(m->sub);
    /* wake workers waiting for a server to come up, and end the servers
     * (which fails the calls in flight) before joining the workers */
    pthread_mutex_lock(&m->procs_lock);
    for (kmcp_proc *p = m->procs; p; p = p->next) {
        pthread_mutex_lock(&p->lock);
        p->stop = true;
        pthread_cond_broadcast(&p->cond);
        /* a supervisor inside initialize or tools/list is not polling its
         * wake pipe: failing the client's requests ends the wait at once
         * (the client stays valid while p->lock is held) */
        if (p->cli)
            astrid_mcp_client_shutdown(p->cli);
        pthread_mutex_unlock(&p->lock);
        poke(p);
    }
    pthread_mutex_unlock(&m->procs_lock);
    for (size_t i = 0; i < m->nworkers; i++)
        pthread_join(m->workers[i], NULL);
    astrid_sub_free(m->sub);
    for (kmcp_proc *p = m->procs, *n; p; p = n) {
        n = p->next;
        proc_free(p);
    }
    for (size_t i = 0; i < c->inst->manifest->nmcp_servers; i++)
        json_decref(m->known[i]);
    free(m->known);
    pthread_mutex_destroy(&m->procs_lock);
    free(m);
    c->mcp = NULL;
}

int kmcp_start(kcapsule *c, astrid_err *err)
{
    const astrid_manifest *mf = c->inst->manifest;
    if (!astrid_manifest_stdio_servers(mf))
        return 0;
    if (!mf->wasm_file && mf->ninterceptors)
        return astrid_err_set(err, ASTRID_E_UNSUPPORTED,
                              "capsule %s declares interceptors but has no wasm component "
                              "(forwarding interceptors to an MCP server is not built)",
                              mf->name);
    kmcp *m = calloc(1, sizeof *m);
    if (!m || !(m->known = calloc(mf->nmcp_servers, sizeof(json_t *)))) {
        free(m);
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    }
    m->c = c;
    m->k = c->k;
    pthread_mutex_init(&m->procs_lock, NULL);
    c->mcp = m;
    /* a private capsule hears only its owner's calls */
    astrid_sub_opts so = {.capacity = 4096,
                          .overflow = ASTRID_OVERFLOW_DROP_NEWEST,
                          .only_principal = c->shared ? NULL : c->inst->owner};
    if (!(m->sub = astrid_bus_subscribe(c->k->bus, "tool.v1.*", &so, err)))
        goto fail;
    if (!(m->describe_icpt = astrid_bus_intercept(c->k->bus, "tool.v1.request.describe", 1000,
                                                  on_describe_icpt, m, err)))
        goto fail;
    pthread_mutex_lock(&m->procs_lock);
    bool ok = true;
    for (size_t s = 0; s < mf->nmcp_servers && ok; s++)
        if (mf->mcp_servers[s].type && strcmp(mf->mcp_servers[s].type, "stdio") == 0)
            /* the owner's process of a per-principal server is started too:
             * its tool list is what the capsule offers */
            ok = proc_new(m, s, c->inst->owner, !mf->mcp_servers[s].per_principal) != NULL;
    pthread_mutex_unlock(&m->procs_lock);
    if (!ok) {
        astrid_err_set(err, ASTRID_E_INTERNAL, "capsule %s: cannot start its MCP supervisors",
                       mf->name);
        goto fail;
    }
    for (; m->nworkers < KMCP_WORKERS; m->nworkers++)
        if (pthread_create(&m->workers[m->nworkers], NULL, worker_main, m) != 0) {
            astrid_err_set(err, ASTRID_E_INTERNAL, "capsule %s: cannot start MCP workers",
                           mf->name);
            goto fail;
        }
    return 0;
fail:
    kmcp_stop(c);
    return -1;
}

json_t *kmcp_ps_json(kcapsule *c)
{
    json_t *a = json_array();
    kmcp *m = c->mcp;
    if (!m)
        return a;
    pthread_mutex_lock(&m->procs_lock);
    for (kmcp_proc *p = m->procs; p; p = p->next) {
        pthread_mutex_lock(&p->lock);
        json_t *row = json_pack("{s:s,s:s,s:b,s:i,s:s,s:I,s:I,s:s,s:I,s:b}", "id", srv_of(p)->id,
                                "principal", p->principal, "shared", p->shared, "pid", (int)p->pid,
                                "state", state_names[p->state], "restarts", (json_int_t)p->restarts,
                                "tools", (json_int_t)json_array_size(p->tools), "protocol",
                                p->cli ? astrid_mcp_protocol(p->cli) : "", "protocol_errors",
                                (json_int_t)(p->cli ? astrid_mcp_protocol_errors(p->cli) : 0),
                                "sandboxed", p->sandboxed);
        if (p->last_error[0])
            json_object_set_new(row, "last_error", json_string(p->last_error));
        pthread_mutex_unlock(&p->lock);
        json_array_append_new(a, row);
    }
    pthread_mutex_unlock(&m->procs_lock);
    return a;
}
