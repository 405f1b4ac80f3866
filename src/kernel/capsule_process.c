/* Native processes for capsules (interface process; docs/capsules.md
 * "Processes"): the policy, the launch and the daemon-wide registry of
 * background processes.
 *
 * A command runs only when BOTH
 *   1. the capsule's manifest lists it in host_process (an entry equal to
 *      cmd, or cmd starting with "<entry> "; upstream's rule), and
 *   2. the invoking principal may: cmd matches an entry of its profile's
 *      [process] allow (the same rule), or it holds the capability
 *      process:spawn:<program>, the program (cmd's first word) spelled with
 *      '_' for every character a capability segment cannot hold
 *      ("/bin/echo" -> process:spawn:_bin_echo). Upstream parses both and
 *      enforces neither; we enforce both (fail closed).
 * Privilege-raising programs (sudo, su, ...) are refused whatever the
 * lists say. Each launch goes through the sandbox with the invoking
 * principal's home as its one writable place, the capsule's dir read-only,
 * the network only when the manifest has net entries or is an uplink, and
 * rlimits from the principal's quotas. Each spawn and each exit is an
 * audit entry of the invoking principal (process_spawn, process_exit).
 *
 * Background processes: at most min(max_background_processes, 8) per
 * principal in the whole daemon (every capsule's count), counting those
 * running and those exited but not yet collected (read-logs after the exit,
 * or kill). Each has a supervisor thread that launches it (so the
 * launcher's death signal is tied to a thread that lives exactly as long
 * as the process), reads its stdout/stderr into 1 MiB rings (oldest bytes
 * dropped, said so in stderr at the next read), reaps it and records the
 * exit. kill and read-logs see only the processes the caller principal
 * started through the same capsule (any other id is "not found", so ids of
 * other agents leak nothing). On unload
 * of the capsule and at shutdown every process of the capsule is killed
 * (SIGKILL to its process group) and reaped before the capsule is freed.
 *
 * Locks: procs->lock guards the list and every entry's state and rings;
 * nothing blocking runs under it (audit, waitpid, joins run outside; a
 * kill(2) of a pid not yet reaped does, so that the reap cannot slip in
 * between and let the pid be reused). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "astrid/home.h"
#include "astrid/utf8.h"
#include "capsule/sandbox/sandbox.h"
#include "kernel/capsule_rt.h"
#include "kernel/gate.h"

#define RING_CAP (1u << 20)     /* bytes kept per stream of a background process */
#define FG_CAP (1u << 20)       /* bytes returned per stream of a foreground spawn */
#define BG_HARD_MAX 8u          /* upstream's ceiling on max_background_processes */
#define SLICE_MS 100            /* how often a wait looks at stop / exit */
#define DRAIN_AFTER_EXIT_MS 500 /* output still read after the process exited */

typedef struct ring {
    char *buf; /* RING_CAP bytes, allocated at first write */
    size_t start, len;
    uint64_t dropped; /* bytes lost to the cap since the last read */
} ring;

typedef struct kproc {
    struct kproc *next;
    uint64_t id;
    char principal[65];
    char source_id[ASTRID_UUID_STR_LEN]; /* the capsule's */
    char capsule[128];
    char program[256]; /* argv[0] as asked, for the audit and the log */
    pthread_t thread;
    bool thread_started;
    /* launch hand-over, under lock: the caller waits for `launched` */
    bool launched;
    char launch_err[512];
    char **argv; /* the supervisor's copy, freed by it after the launch */
    pid_t pid;
    bool running, sandboxed;
    bool ready;          /* launched and supervised: kill and read-logs may touch it */
    bool reaped;         /* the supervisor reaps it now: never signal the pid again */
    bool kill_requested; /* finish() signalled it (the exit is "killed") */
    int32_t code;
    ring out, err;
} kproc;

struct astrid_procs {
    pthread_mutex_t lock; /* guards list, next_id and every kproc's fields */
    pthread_cond_t cond;  /* a launch finished */
    kproc *list;
    uint64_t next_id;
};

/* ---- rings ---- */

static void ring_put(ring *r, const char *p, size_t n)
{
    if (!r->buf && !(r->buf = malloc(RING_CAP))) {
        r->dropped += n;
        return;
    }
    if (n >= RING_CAP) {
        r->dropped += r->len + (n - RING_CAP);
        p += n - RING_CAP;
        n = RING_CAP;
        r->start = r->len = 0;
    }
    size_t over = r->len + n > RING_CAP ? r->len + n - RING_CAP : 0;
    r->start = (r->start + over) % RING_CAP;
    r->len -= over;
    r->dropped += over;
    size_t end = (r->start + r->len) % RING_CAP;
    size_t first = n < RING_CAP - end ? n : RING_CAP - end;
    memcpy(r->buf + end, p, first);
    memcpy(r->buf, p + first, n - first);
    r->len += n;
}

/* Move the ring's bytes out (malloc'd; *len 0 and NULL when empty). A
 * UTF-8 sequence cut by the end of what was read so far stays for the next
 * read while `keep_tail` (the process still writes). */
static char *ring_take(ring *r, size_t *len, bool keep_tail)
{
    *len = 0;
    if (!r->len)
        return NULL;
    char *o = malloc(r->len);
    if (!o)
        return NULL;
    for (size_t i = 0; i < r->len; i++)
        o[i] = r->buf[(r->start + i) % RING_CAP];
    size_t n = r->len;
    if (keep_tail) {
        size_t back = 0;
        while (back < 3 && back < n && ((unsigned char)o[n - 1 - back] & 0xC0) == 0x80)
            back++;
        unsigned char lead = back < n ? (unsigned char)o[n - 1 - back] : 0;
        size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
        if (lead >= 0xC0 && want > back + 1)
            n -= back + 1;
    }
    r->start = (r->start + n) % RING_CAP;
    r->len -= n;
    *len = n;
    if (!n) {
        free(o);
        return NULL;
    }
    return o;
}

/* Append "[astrid: ...]" notes about dropped bytes to the stderr text. */
static void note_dropped(astrid_proc_output *o, uint64_t out_drop, uint64_t err_drop,
                         const char *how)
{
    if (!out_drop && !err_drop)
        return;
    char note[200];
    int n = snprintf(note, sizeof note, "%s[astrid: %llu bytes of stdout and %llu of stderr %s]\n",
                     o->err_len && o->err[o->err_len - 1] != '\n' ? "\n" : "",
                     (unsigned long long)out_drop, (unsigned long long)err_drop, how);
    char *e = realloc(o->err, o->err_len + (size_t)n + 1);
    if (!e)
        return;
    memcpy(e + o->err_len, note, (size_t)n + 1);
    o->err = e;
    o->err_len += (size_t)n;
}

/* ---- policy ---- */

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static int grants_check(kcapsule *c, const astrid_invocation *inv, const char *cmd,
                        const char *program, astrid_err *err)
{
    const astrid_manifest *m = c->inst->manifest;
    if (!astrid_manifest_host_process_allows(m, cmd))
        return astrid_err_set(err, ASTRID_E_PERM,
                              "denied by the manifest: '%.200s' is not in capsule %s's "
                              "capabilities.host_process",
                              cmd, m->name);
    static const char *const raisers[] = {"sudo", "su", "doas", "pkexec", "runuser", "setpriv"};
    for (size_t i = 0; i < sizeof raisers / sizeof *raisers; i++)
        if (strcmp(base_name(program), raisers[i]) == 0)
            return astrid_err_set(err, ASTRID_E_PERM,
                                  "denied by hard policy: '%s' raises privileges and is never run "
                                  "for a capsule",
                                  program);
    const astrid_profile *p = astrid_profile_cache_get(c->k->profiles, inv->principal, err);
    if (!p)
        return -1;
    bool ok = astrid_command_listed(p->process_allow.v, p->process_allow.n, cmd);
    astrid_profile_release(p);
    if (ok)
        return 0;
    char cap[300], reason[512];
    int n = snprintf(cap, sizeof cap, "process:spawn:%s", program);
    for (char *q = cap + 14; *q; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
              *q == '_' || *q == '-'))
            *q = '_';
    if (n > 0 && (size_t)n < sizeof cap &&
        astrid_authorize(c->k, inv->principal, cap, reason, sizeof reason) == 0)
        return 0;
    return astrid_err_set(err, ASTRID_E_PERM,
                          "denied for the principal: %s may not run '%.200s' (needs it in its "
                          "profile's [process] allow or the capability %s)",
                          inv->principal, cmd, cap);
}

/* The manifest and the principal's grants decide first (static grants:
 * the gate is told the action is preauthorized, so it never prompts — a
 * tool that wants a human asks through request-approval itself); then the
 * security gate (kernel/gate.h) runs its hard policy (§8.6: sudo, rm -rf /,
 * …), tokens and budget, and audits the decision. An undecidable gate
 * refuses. */
static int policy_check(kcapsule *c, const astrid_invocation *inv, const char *cmd,
                        const char *program, astrid_err *err)
{
    if (grants_check(c, inv, cmd, program, err) != 0)
        return -1;
    char res[1100];
    snprintf(res, sizeof res, "exec://%s", cmd);
    astrid_gate_req r = {.principal = inv->principal,
                         .capsule = inv->capsule,
                         .action = "execute_command",
                         .resource = res,
                         .perm = ASTRID_PERM_EXECUTE,
                         .preauthorized = true,
                         .no_prompt = true};
    astrid_gate_result out;
    if (astrid_gate_check(c->k, &r, &out, err) != 0)
        return astrid_err_prefix(err, "process");
    if (!out.allowed)
        return astrid_err_set(err, ASTRID_E_PERM, "denied by the security gate: %.300s: %s", res,
                              out.reason);
    return 0;
}

/* ---- audit ---- */

static json_t *action(const char *type, const kcapsule *c, const char *program, uint64_t id,
                      bool background, bool sandboxed)
{
    return json_pack("{s:s,s:s,s:s,s:I,s:b,s:b}", "type", type, "capsule", c->inst->manifest->name,
                     "command", program, "process_id", (json_int_t)id, "background", background,
                     "sandboxed", sandboxed);
}

/* Durable: a spawn that cannot be recorded does not happen. */
static int audit_spawn(kcapsule *c, const char *principal, const char *program, uint64_t id,
                       bool background, bool sandboxed, astrid_err *err)
{
    json_t *a = action("process_spawn", c, program, id, background, sandboxed);
    char why[300];
    snprintf(why, sizeof why, "capabilities.host_process of %s and the principal's process policy",
             c->inst->manifest->name);
    json_t *auth = astrid_audit_auth_system(why);
    json_t *out = astrid_audit_outcome_success(NULL);
    astrid_err e;
    int rc = astrid_audit_append(c->k->audit, principal, a, auth, out, NULL, &e);
    json_decref(a);
    json_decref(auth);
    json_decref(out);
    if (rc != 0)
        return astrid_err_set(err, ASTRID_E_INTERNAL,
                              "not started: the audit log could not record the spawn: %s", e.msg);
    return 0;
}

static void audit_exit(astrid_kernel *k, const char *principal, json_t *a, bool started,
                       int32_t code, bool killed, const char *failure)
{
    json_t *auth = astrid_audit_auth_system("process exit");
    /* outcome_success borrows its details */
    json_t *details =
        started ? json_pack("{s:i,s:b}", "exit_code", (int)code, "killed", killed) : NULL;
    json_t *out =
        started ? astrid_audit_outcome_success(details) : astrid_audit_outcome_failure(failure);
    json_decref(details);
    astrid_err e;
    if (astrid_audit_append_mode(k->audit, ASTRID_AUDIT_WRITE_BEHIND, principal, a, auth, out, NULL,
                                 &e) != 0)
        astrid_klog(k, "ERROR", "audit: the exit of a process of %s was not recorded: %s",
                    principal, e.msg);
    json_decref(a);
    json_decref(auth);
    json_decref(out);
}

static void audit_denied(kcapsule *c, const char *principal, const char *program, bool background,
                         const char *reason)
{
    json_t *a = json_pack("{s:s,s:s,s:s,s:b}", "type", "process_spawn", "capsule",
                          c->inst->manifest->name, "command", program, "background", background);
    json_t *auth = astrid_audit_auth_denied(reason);
    json_t *out = astrid_audit_outcome_failure(reason);
    astrid_err e;
    if (astrid_audit_append_mode(c->k->audit, ASTRID_AUDIT_WRITE_BEHIND, principal, a, auth, out,
                                 NULL, &e) != 0)
        astrid_klog(c->k, "ERROR", "audit: a refused spawn of %s was not recorded: %s", principal,
                    e.msg);
    json_decref(a);
    json_decref(auth);
    json_decref(out);
}

/* ---- launch ---- */

typedef struct launched {
    pid_t pid;
    int out_fd, err_fd;
    bool sandboxed;
} launched;

/* Has pid exited? Without reaping it: until the reap neither the pid nor
 * the process group id can be reused, so signalling the group stays safe
 * for as long as we may still do it. */
static bool has_exited(pid_t pid, bool block)
{
    siginfo_t si = {0};
    int r;
    while ((r = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT | (block ? 0 : WNOHANG))) < 0 &&
           errno == EINTR) {
    }
    return r == 0 && si.si_pid == pid;
}

/* Reap pid; its exit code, -1 when a signal ended it. */
static int32_t reap(pid_t pid)
{
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Launch argv for `principal` through the sandbox under the daemon's
 * policy: the principal's home is the cwd, $HOME and the one writable
 * place; the capsule's dir is bound read-only; the network only for a
 * capsule with net entries or an uplink; rlimits from the principal's
 * quotas (address space = max_memory_bytes, file size =
 * max_storage_bytes, CPU = max_timeout_secs for a foreground spawn). */
static int launch(kcapsule *c, const char *principal, const char *const *argv, bool foreground,
                  launched *out, astrid_err *err)
{
    astrid_kernel *k = c->k;
    char home[PATH_MAX];
    if (astrid_principal_home(home, sizeof home, k->home, principal, err) != 0)
        return -1;
    const astrid_profile *p = astrid_profile_cache_get(k->profiles, principal, err);
    if (!p)
        return -1;
    astrid_quotas q = p->quotas;
    astrid_profile_release(p);
    char env_home[PATH_MAX + 8];
    snprintf(env_home, sizeof env_home, "HOME=%s", home);
    const char *env[] = {env_home, "TMPDIR=/tmp", "LANG=C.UTF-8", NULL};
    const char *rw[] = {home, NULL};
    const astrid_manifest *m = c->inst->manifest;
    bool net = m->uplink;
    for (size_t i = 0; i < m->net.n && !net; i++)
        net = m->net.v[i] && m->net.v[i][0];
    astrid_sandbox_spec spec = {.argv = argv,
                                .env = env,
                                .cwd = home,
                                .capsule_dir = c->inst->dir,
                                .rw_paths = rw,
                                .astrid_home = k->home,
                                .net = net};
    spec.rlim.as_bytes = q.max_memory_bytes;
    spec.rlim.fsize_bytes = q.max_storage_bytes;
    spec.rlim.nofile = 1024;
    spec.rlim.cpu_secs = foreground ? q.max_timeout_secs : 0;
    astrid_sandbox_proc sp;
    if (astrid_sandbox_spawn(&k->sandbox_probe, k->sandbox_policy, &spec, &sp, err) != 0)
        return -1;
    close(sp.in_fd); /* no stdin: a read sees EOF */
    *out = (launched){sp.pid, sp.out_fd, sp.err_fd, sp.sandboxed};
    return 0;
}

/* One read from fd into the ring or buffer; false at EOF/error. */
static bool pump(int fd, char *tmp, size_t tmpn, size_t *got)
{
    ssize_t r = read(fd, tmp, tmpn);
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
        return *got = 0, true;
    if (r <= 0)
        return *got = 0, false;
    *got = (size_t)r;
    return true;
}

/* The launched process leads its own session (and group): the group is
 * it and whatever it started there. Only called while pid is unreaped. */
static void kill_group(pid_t pid)
{
    if (pid > 0) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
    }
}

/* ---- foreground ---- */

typedef struct fgbuf {
    char *p;
    size_t len;
    uint64_t over;
} fgbuf;

static void fg_put(fgbuf *b, const char *s, size_t n)
{
    size_t room = FG_CAP - b->len;
    size_t take = n < room ? n : room;
    if (take) {
        if (!b->p && !(b->p = malloc(FG_CAP))) {
            b->over += n;
            return;
        }
        memcpy(b->p + b->len, s, take);
        b->len += take;
    }
    b->over += n - take;
}

static int proc_spawn(void *rt, const astrid_invocation *inv, const char *cmd,
                      const char *const *argv, bool (*stop)(void *), void *stop_ctx,
                      astrid_proc_output *out, astrid_err *err)
{
    kcapsule *c = rt;
    if (policy_check(c, inv, cmd, argv[0], err) != 0) {
        audit_denied(c, inv->principal, argv[0], false, err->msg);
        return -1;
    }
    bool sandboxed = c->k->sandbox_policy != ASTRID_SANDBOX_OFF;
    if (audit_spawn(c, inv->principal, argv[0], 0, false, sandboxed, err) != 0)
        return -1;
    launched l;
    if (launch(c, inv->principal, argv, true, &l, err) != 0) {
        audit_exit(c->k, inv->principal, action("process_exit", c, argv[0], 0, false, sandboxed),
                   false, -1, false, err->msg);
        return -1;
    }
    fgbuf bo = {0}, be = {0};
    char tmp[16384];
    bool open_o = true, open_e = true, cancelled = false, exited = false;
    uint64_t exited_at = 0;
    while (open_o || open_e) {
        struct pollfd p[2] = {{open_o ? l.out_fd : -1, POLLIN, 0},
                              {open_e ? l.err_fd : -1, POLLIN, 0}};
        int n = poll(p, 2, SLICE_MS);
        size_t got;
        if (n > 0 && open_o && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
            open_o = pump(l.out_fd, tmp, sizeof tmp, &got);
            fg_put(&bo, tmp, got);
        }
        if (n > 0 && open_e && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            open_e = pump(l.err_fd, tmp, sizeof tmp, &got);
            fg_put(&be, tmp, got);
        }
        if (!cancelled && stop(stop_ctx)) {
            cancelled = true;
            kill_group(l.pid);
        }
        /* the program exited but something it started keeps the pipes
         * open: its group goes too, and the rest is read for a moment */
        if (!exited && has_exited(l.pid, false)) {
            exited = true;
            kill_group(l.pid);
            exited_at = astrid_now_ms();
        }
        if (exited && astrid_now_ms() - exited_at > DRAIN_AFTER_EXIT_MS)
            break;
    }
    close(l.out_fd);
    close(l.err_fd);
    /* both pipes closed, the program may still run: the deadline holds */
    while (!exited && !(exited = has_exited(l.pid, false))) {
        if (!cancelled && stop(stop_ctx)) {
            cancelled = true;
            kill_group(l.pid);
        }
        poll(NULL, 0, SLICE_MS);
    }
    kill_group(l.pid);
    int32_t code = reap(l.pid);
    *out = (astrid_proc_output){.out = bo.p, .out_len = bo.len, .err = be.p, .err_len = be.len};
    if (cancelled) {
        out->code = -1;
        free(out->err);
        out->err = strdup("process cancelled");
        out->err_len = out->err ? strlen(out->err) : 0;
    } else {
        out->code = code;
        note_dropped(out, bo.over, be.over, "cut at the 1 MiB cap");
    }
    out->has_code = true;
    audit_exit(c->k, inv->principal, action("process_exit", c, argv[0], 0, false, sandboxed), true,
               out->code, cancelled, NULL);
    return 0;
}

/* ---- background ---- */

static struct astrid_procs *procs_of(kcapsule *c)
{
    return c->k->procs;
}

static void kproc_free(kproc *p)
{
    if (p->argv)
        for (char **a = p->argv; *a; a++)
            free(*a);
    free(p->argv);
    free(p->out.buf);
    free(p->err.buf);
    free(p);
}

typedef struct sup_arg {
    kcapsule *c;
    kproc *p;
} sup_arg;

/* The supervisor of one background process: launch, pump, reap, record. */
static void *supervise(void *v)
{
    sup_arg a = *(sup_arg *)v;
    free(v);
    kcapsule *c = a.c;
    kproc *p = a.p;
    struct astrid_procs *ps = procs_of(c);
    launched l;
    astrid_err err;
    int rc = launch(c, p->principal, (const char *const *)p->argv, false, &l, &err);
    pthread_mutex_lock(&ps->lock);
    p->launched = true;
    if (rc != 0) {
        snprintf(p->launch_err, sizeof p->launch_err, "%s", err.msg);
    } else {
        p->pid = l.pid;
        p->running = true;
        p->sandboxed = l.sandboxed;
    }
    pthread_cond_broadcast(&ps->cond);
    pthread_mutex_unlock(&ps->lock);
    if (rc != 0)
        return NULL;
    fcntl(l.out_fd, F_SETFL, O_NONBLOCK);
    fcntl(l.err_fd, F_SETFL, O_NONBLOCK);
    char tmp[16384];
    bool open_o = true, open_e = true, exited = false;
    uint64_t exited_at = 0;
    while (open_o || open_e) {
        struct pollfd pf[2] = {{open_o ? l.out_fd : -1, POLLIN, 0},
                               {open_e ? l.err_fd : -1, POLLIN, 0}};
        int n = poll(pf, 2, SLICE_MS);
        size_t got;
        for (int i = 0; i < 2 && n > 0; i++) {
            bool *open = i ? &open_e : &open_o;
            if (!*open || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            *open = pump(i ? l.err_fd : l.out_fd, tmp, sizeof tmp, &got);
            if (got) {
                pthread_mutex_lock(&ps->lock);
                ring_put(i ? &p->err : &p->out, tmp, got);
                pthread_mutex_unlock(&ps->lock);
            }
        }
        if (!exited && has_exited(l.pid, false)) {
            exited = true;
            kill_group(l.pid);
            exited_at = astrid_now_ms();
        }
        if (exited && astrid_now_ms() - exited_at > DRAIN_AFTER_EXIT_MS)
            break;
    }
    close(l.out_fd);
    close(l.err_fd);
    /* pipes closed, maybe still running: finish() signals it if asked */
    has_exited(l.pid, true);
    kill_group(l.pid);
    pthread_mutex_lock(&ps->lock);
    p->reaped = true; /* from here nobody signals the pid */
    pthread_mutex_unlock(&ps->lock);
    int32_t code = reap(l.pid);
    pthread_mutex_lock(&ps->lock);
    p->running = false;
    p->code = code;
    bool killed = p->kill_requested;
    pthread_mutex_unlock(&ps->lock);
    audit_exit(c->k, p->principal, action("process_exit", c, p->program, p->id, true, l.sandboxed),
               true, code, killed, NULL);
    return NULL;
}

static unsigned count_of(struct astrid_procs *ps, const char *principal)
{
    unsigned n = 0;
    for (kproc *p = ps->list; p; p = p->next)
        n += strcmp(p->principal, principal) == 0;
    return n;
}

static int proc_start(void *rt, const astrid_invocation *inv, const char *cmd,
                      const char *const *argv, uint64_t *id, astrid_err *err)
{
    kcapsule *c = rt;
    struct astrid_procs *ps = procs_of(c);
    if (policy_check(c, inv, cmd, argv[0], err) != 0) {
        audit_denied(c, inv->principal, argv[0], true, err->msg);
        return -1;
    }
    const astrid_profile *prof = astrid_profile_cache_get(c->k->profiles, inv->principal, err);
    if (!prof)
        return -1;
    unsigned cap = prof->quotas.max_background_processes < BG_HARD_MAX
                       ? prof->quotas.max_background_processes
                       : BG_HARD_MAX;
    astrid_profile_release(prof);
    kproc *p = calloc(1, sizeof *p);
    size_t n = 0;
    while (argv[n])
        n++;
    if (p)
        p->argv = calloc(n + 1, sizeof *p->argv);
    for (size_t i = 0; p && p->argv && i < n; i++)
        if (!(p->argv[i] = strdup(argv[i]))) {
            kproc_free(p);
            p = NULL;
        }
    sup_arg *sa = malloc(sizeof *sa);
    if (!p || !p->argv || !sa) {
        if (p)
            kproc_free(p);
        free(sa);
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    }
    snprintf(p->principal, sizeof p->principal, "%s", inv->principal);
    snprintf(p->source_id, sizeof p->source_id, "%s", c->source_id);
    snprintf(p->capsule, sizeof p->capsule, "%s", c->inst->manifest->name);
    snprintf(p->program, sizeof p->program, "%s", argv[0]);
    pthread_mutex_lock(&ps->lock);
    unsigned have = count_of(ps, inv->principal);
    if (have >= cap) {
        pthread_mutex_unlock(&ps->lock);
        kproc_free(p);
        free(sa);
        astrid_err_set(err, ASTRID_E_LIMIT,
                       "denied by the quota: principal %s already has %u background process(es) "
                       "(running, or exited and not yet collected by read-logs or kill); the "
                       "limit is %u (min(max_background_processes, %u))",
                       inv->principal, have, cap, BG_HARD_MAX);
        audit_denied(c, inv->principal, argv[0], true, err->msg);
        return -1;
    }
    p->id = ++ps->next_id;
    p->next = ps->list;
    ps->list = p; /* counted from here: a concurrent start sees it */
    pthread_mutex_unlock(&ps->lock);

    bool sandboxed = c->k->sandbox_policy != ASTRID_SANDBOX_OFF;
    int rc = audit_spawn(c, inv->principal, argv[0], p->id, true, sandboxed, err);
    if (rc == 0) {
        *sa = (sup_arg){c, p};
        if (pthread_create(&p->thread, NULL, supervise, sa) != 0) {
            free(sa);
            rc = astrid_err_set(err, ASTRID_E_INTERNAL, "cannot start the supervisor thread");
        } else {
            p->thread_started = true;
        }
    } else {
        free(sa);
    }
    pthread_mutex_lock(&ps->lock);
    while (rc == 0 && !p->launched)
        pthread_cond_wait(&ps->cond, &ps->lock);
    if (rc == 0 && p->launch_err[0])
        rc = astrid_err_set(err, ASTRID_E_IO, "not started: %s", p->launch_err);
    if (rc != 0) {
        for (kproc **pp = &ps->list; *pp; pp = &(*pp)->next)
            if (*pp == p) {
                *pp = p->next;
                break;
            }
    } else {
        p->ready = true;
    }
    pthread_mutex_unlock(&ps->lock);
    if (rc != 0) {
        if (p->thread_started)
            pthread_join(p->thread, NULL);
        audit_exit(c->k, inv->principal, action("process_exit", c, argv[0], p->id, true, false),
                   false, -1, false, err->msg);
        kproc_free(p);
        return -1;
    }
    astrid_klog(c->k, "INFO", "capsule %s started background process %llu (%s, pid %d) for %s",
                c->inst->manifest->name, (unsigned long long)p->id, p->program, (int)p->pid,
                p->principal);
    *id = p->id;
    return 0;
}

/* The entry `id` the caller principal started through this capsule, under
 * lock; NULL when none (another principal's or capsule's id is not told
 * apart from a missing one). */
static kproc *find_own(struct astrid_procs *ps, const astrid_invocation *inv, uint64_t id)
{
    for (kproc *p = ps->list; p; p = p->next)
        if (p->id == id && p->ready && strcmp(p->principal, inv->principal) == 0 &&
            strcmp(p->source_id, inv->source_id) == 0)
            return p;
    return NULL;
}

static void unlink_proc(struct astrid_procs *ps, kproc *p)
{
    for (kproc **pp = &ps->list; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            return;
        }
}

/* Take both rings into *out (lock held). */
static void take_output(kproc *p, astrid_proc_output *out, bool final)
{
    uint64_t od = p->out.dropped, ed = p->err.dropped;
    p->out.dropped = p->err.dropped = 0;
    out->out = ring_take(&p->out, &out->out_len, !final);
    out->err = ring_take(&p->err, &out->err_len, !final);
    note_dropped(out, od, ed, "dropped: the 1 MiB ring was full");
}

static int proc_read(void *rt, const astrid_invocation *inv, uint64_t id, astrid_proc_output *out,
                     astrid_err *err)
{
    kcapsule *c = rt;
    struct astrid_procs *ps = procs_of(c);
    *out = (astrid_proc_output){0};
    pthread_mutex_lock(&ps->lock);
    kproc *p = find_own(ps, inv, id);
    if (!p) {
        pthread_mutex_unlock(&ps->lock);
        return astrid_err_set(err, ASTRID_E_NOTFOUND, "no background process %llu of %s",
                              (unsigned long long)id, inv->principal);
    }
    bool done = !p->running;
    take_output(p, out, done);
    out->running = !done;
    out->has_code = done;
    out->code = done ? p->code : 0;
    /* exited and its output collected: the entry (and its count) goes */
    if (done)
        unlink_proc(ps, p);
    pthread_mutex_unlock(&ps->lock);
    if (done) {
        pthread_join(p->thread, NULL);
        kproc_free(p);
    }
    return 0;
}

/* SIGKILL (while the supervisor has not reaped it: the pid is still
 * ours), then wait for the supervisor to reap and record it. */
static void finish(struct astrid_procs *ps, kproc *p)
{
    pthread_mutex_lock(&ps->lock);
    if (!p->reaped) {
        p->kill_requested = true;
        kill_group(p->pid);
    }
    pthread_mutex_unlock(&ps->lock);
    pthread_join(p->thread, NULL);
}

static int proc_kill(void *rt, const astrid_invocation *inv, uint64_t id, astrid_proc_output *out,
                     astrid_err *err)
{
    kcapsule *c = rt;
    struct astrid_procs *ps = procs_of(c);
    *out = (astrid_proc_output){0};
    pthread_mutex_lock(&ps->lock);
    kproc *p = find_own(ps, inv, id);
    if (p)
        unlink_proc(ps, p);
    pthread_mutex_unlock(&ps->lock);
    if (!p)
        return astrid_err_set(err, ASTRID_E_NOTFOUND, "no background process %llu of %s",
                              (unsigned long long)id, inv->principal);
    finish(ps, p);
    pthread_mutex_lock(&ps->lock);
    take_output(p, out, true);
    out->killed = p->kill_requested;
    out->has_code = true;
    out->code = p->code;
    pthread_mutex_unlock(&ps->lock);
    kproc_free(p);
    return 0;
}

const astrid_proc_ops kcapsule_proc_ops = {proc_spawn, proc_start, proc_read, proc_kill};

void kcapsule_procs_stop(kcapsule *c)
{
    struct astrid_procs *ps = procs_of(c);
    if (!ps)
        return;
    kproc *mine = NULL;
    pthread_mutex_lock(&ps->lock);
    for (kproc **pp = &ps->list; *pp;) {
        kproc *p = *pp;
        if (strcmp(p->source_id, c->source_id) == 0) {
            *pp = p->next;
            p->next = mine;
            mine = p;
        } else {
            pp = &p->next;
        }
    }
    pthread_mutex_unlock(&ps->lock);
    size_t n = 0;
    while (mine) {
        kproc *p = mine;
        mine = p->next;
        finish(ps, p);
        kproc_free(p);
        n++;
    }
    if (n)
        astrid_klog(c->k, "INFO", "capsule %s unloading: %zu background process(es) killed",
                    c->inst->manifest->name, n);
}

int astrid_kernel_procs_start(astrid_kernel *k, astrid_err *err)
{
    struct astrid_procs *ps = calloc(1, sizeof *ps);
    if (!ps)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    pthread_mutex_init(&ps->lock, NULL);
    pthread_cond_init(&ps->cond, NULL);
    k->procs = ps;
    return 0;
}

void astrid_kernel_procs_stop(astrid_kernel *k)
{
    struct astrid_procs *ps = k->procs;
    if (!ps)
        return;
    /* every capsule was unloaded first, and took its processes along */
    pthread_mutex_destroy(&ps->lock);
    pthread_cond_destroy(&ps->cond);
    free(ps);
    k->procs = NULL;
}
