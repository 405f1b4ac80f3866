/* astrid_sandbox_spawn: policy check, program resolution, pipes, then
 * fork + exec of bwrap (or, policy off, of the program). Everything is
 * allocated before fork(): the daemon is multi-threaded, so the child only
 * makes async-signal-safe system calls until execve. An exec failure comes
 * back through a CLOEXEC pipe as the errno, so "no such program" is an
 * error of this call and not an exit status the caller must interpret. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "astrid/home.h"
#include "capsule/sandbox/sandbox.h"
#include "capsule/sandbox/sandbox_int.h"

#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE 2
#endif

/* The child's fds: 0-2 the pipes, 3 the filter bwrap reads, 4 the exec
 * report (CLOEXEC), 5.. the bind sources (--bind-fd). */
#define CHILD_SECCOMP_FD 3
#define CHILD_REPORT_FD 4
#define CHILD_BIND_FD 5

static int resolve_program(const char *name, char out[PATH_MAX], astrid_err *err)
{
    if (!name || !*name)
        return astrid_err_set(err, ASTRID_E_INVALID, "sandbox spawn: empty argv[0]");
    if (strchr(name, '/')) {
        if (name[0] != '/')
            return astrid_err_set(err, ASTRID_E_INVALID,
                                  "program \"%.200s\": must be absolute or a bare name looked "
                                  "up on PATH",
                                  name);
        if (access(name, X_OK) < 0)
            return astrid_err_set(err, errno == ENOENT ? ASTRID_E_NOTFOUND : ASTRID_E_PERM,
                                  "program %.200s: %s", name, strerror(errno));
        snprintf(out, PATH_MAX, "%s", name);
        return 0;
    }
    if (astrid_sandbox_which(name, ASTRID_SANDBOX_PATH, out, PATH_MAX) == 0 ||
        astrid_sandbox_which(name, NULL, out, PATH_MAX) == 0)
        return 0;
    return astrid_err_set(err, ASTRID_E_NOTFOUND, "program \"%.200s\" not found on PATH (%s)", name,
                          ASTRID_SANDBOX_PATH);
}

typedef struct child_setup {
    int in[2], out[2], errp[2], report[2];
    int seccomp_fd;
    const char *exe;
    char *const *argv;
    char *const *envp;
    const char *chdir_to; /* policy off only; bwrap does --chdir itself */
    struct rlimit lim[5];
    int lim_res[5];
    int nlim;
    int bind_fds[ASTRID_SANDBOX_MAX_BINDS]; /* become CHILD_BIND_FD + i */
    size_t nbind;
} child_setup;

/* In the child, between fork and execve: async-signal-safe calls only. */
__attribute__((noreturn)) static void child(const child_setup *c)
{
    int e;
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    /* A handler does not survive exec, but an ignored signal does: the
     * daemon ignores SIGPIPE, a tool must not inherit that. */
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            signal(s, SIG_DFL);
    if (setsid() < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 ||
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        goto fail;
    /* The parent may have died between fork and PDEATHSIG. */
    if (getppid() == 1)
        _exit(127);
    /* Lift every fd we keep above the targets first, so no dup2 below
     * overwrites one still to be moved (the daemon's 0-2 may be closed),
     * then place them; dup2 onto a distinct fd clears FD_CLOEXEC. */
    int above = CHILD_BIND_FD + (int)c->nbind;
    int src[5] = {c->in[0], c->out[1], c->errp[1], c->seccomp_fd, c->report[1]};
    int bsrc[ASTRID_SANDBOX_MAX_BINDS];
    for (int i = 0; i < 5; i++)
        if (src[i] >= 0 && (src[i] = fcntl(src[i], F_DUPFD_CLOEXEC, above)) < 0)
            goto fail;
    for (size_t i = 0; i < c->nbind; i++)
        if ((bsrc[i] = fcntl(c->bind_fds[i], F_DUPFD_CLOEXEC, above)) < 0)
            goto fail;
    for (int i = 0; i < 4; i++)
        if (src[i] >= 0 && dup2(src[i], i) < 0)
            goto fail;
    int report = CHILD_REPORT_FD;
    if (dup3(src[4], report, O_CLOEXEC) < 0)
        goto fail;
    for (size_t i = 0; i < c->nbind; i++)
        if (dup2(bsrc[i], CHILD_BIND_FD + (int)i) < 0)
            goto fail_report;
    /* Everything else the daemon has open (sockets, LMDB, the audit log,
     * other capsules' pipes) is closed: only 0-2, the filter, the report
     * pipe and the bind sources reach execve. */
    if (syscall(SYS_close_range, (unsigned)above, ~0u, 0) < 0) {
        for (int fd = above; fd < 65536; fd++)
            close(fd);
    }
    if (c->seccomp_fd < 0)
        close(CHILD_SECCOMP_FD);
    for (int i = 0; i < c->nlim; i++)
        if (setrlimit(c->lim_res[i], &c->lim[i]) < 0)
            goto fail_report;
    if (c->chdir_to && chdir(c->chdir_to) < 0)
        goto fail_report;
    execve(c->exe, c->argv, c->envp);
fail_report:
    e = errno;
    (void)!write(report, &e, sizeof e);
    _exit(127);
fail:
    e = errno;
    (void)!write(c->report[1], &e, sizeof e);
    _exit(127);
}

static void close_pair(int p[2])
{
    for (int i = 0; i < 2; i++)
        if (p[i] >= 0) {
            close(p[i]);
            p[i] = -1;
        }
}

static void add_lim(child_setup *c, int res, uint64_t v)
{
    if (!v)
        return;
    c->lim_res[c->nlim] = res;
    c->lim[c->nlim].rlim_cur = c->lim[c->nlim].rlim_max = (rlim_t)v;
    c->nlim++;
}

int astrid_sandbox_spawn(const astrid_sandbox_probe *probe, astrid_sandbox_policy policy,
                         const astrid_sandbox_spec *spec, astrid_sandbox_proc *out, astrid_err *err)
{
    if (!spec || !out || !spec->argv || !spec->argv[0])
        return astrid_err_set(err, ASTRID_E_INVALID, "sandbox spawn: no program given");
    memset(out, 0, sizeof *out);
    out->pid = -1;
    out->in_fd = out->out_fd = out->err_fd = -1;
    if (policy != ASTRID_SANDBOX_OFF && !astrid_sandbox_usable(probe))
        return astrid_err_set(
            err, ASTRID_E_UNSUPPORTED,
            "OS-level sandbox unavailable and policy is `required` - refusing to launch native "
            "subprocess without containment: %.120s. %s",
            probe && probe->reason[0] ? probe->reason : "the sandbox probe failed",
            ASTRID_SANDBOX_REMEDIATION);

    char program[PATH_MAX];
    if (resolve_program(spec->argv[0], program, err) < 0)
        return -1;
    child_setup c = {
        .in = {-1, -1}, .out = {-1, -1}, .errp = {-1, -1}, .report = {-1, -1}, .seccomp_fd = -1};
    char **argv = NULL, **envp = astrid_sandbox_build_env(spec->env, err);
    char cwd_off[PATH_MAX];
    int rc = -1;
    if (!envp)
        return -1;
    if (policy == ASTRID_SANDBOX_OFF) {
        size_t n = 0;
        while (spec->argv[n])
            n++;
        argv = calloc(n + 1, sizeof *argv);
        if (!argv) {
            astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < n; i++)
            if (!(argv[i] = strdup(i == 0 ? program : spec->argv[i]))) {
                astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
                goto out;
            }
        const char *want = spec->cwd ? spec->cwd : spec->capsule_dir;
        if (want) {
            if (want[0] != '/' || !realpath(want, cwd_off)) {
                astrid_err_set(err, ASTRID_E_INVALID, "cwd \"%.200s\": %s", want,
                               want[0] != '/' ? "must be an absolute path" : strerror(errno));
                goto out;
            }
            c.chdir_to = cwd_off;
        }
        c.exe = program;
    } else {
        c.seccomp_fd = astrid_sandbox_seccomp_fd(spec->net, err);
        if (c.seccomp_fd < 0)
            goto out;
        /* No astrid_home given: the daemon's own still gets the tmpfs and
         * the no-ancestor-bind check (fail closed, not "nothing to hide"). */
        astrid_sandbox_spec s = *spec;
        char ahome[PATH_MAX];
        if (!s.astrid_home && astrid_home_resolve(ahome, sizeof ahome, NULL) == 0)
            s.astrid_home = ahome;
        argv = astrid_sandbox_bwrap_argv_fds(probe->bwrap_path, &s, getenv("HOME"), program,
                                             CHILD_SECCOMP_FD, CHILD_BIND_FD, c.bind_fds, &c.nbind,
                                             err);
        if (!argv)
            goto out;
        c.exe = probe->bwrap_path;
    }
    c.argv = argv;
    c.envp = envp;
    add_lim(&c, RLIMIT_AS, spec->rlim.as_bytes);
    add_lim(&c, RLIMIT_NOFILE, spec->rlim.nofile);
    add_lim(&c, RLIMIT_NPROC, spec->rlim.nproc);
    add_lim(&c, RLIMIT_CPU, spec->rlim.cpu_secs);
    add_lim(&c, RLIMIT_FSIZE, spec->rlim.fsize_bytes);

    if (pipe2(c.in, O_CLOEXEC) < 0 || pipe2(c.out, O_CLOEXEC) < 0 || pipe2(c.errp, O_CLOEXEC) < 0 ||
        pipe2(c.report, O_CLOEXEC) < 0) {
        astrid_err_sys(err, "sandbox spawn: pipe");
        goto out;
    }
    pid_t pid = fork();
    if (pid < 0) {
        astrid_err_sys(err, "sandbox spawn: fork");
        goto out;
    }
    if (pid == 0)
        child(&c);
    close(c.report[1]);
    c.report[1] = -1;
    int child_errno = 0;
    ssize_t r;
    while ((r = read(c.report[0], &child_errno, sizeof child_errno)) < 0 && errno == EINTR)
        ;
    if (r > 0) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        errno = child_errno;
        astrid_err_set(err, child_errno == ENOENT ? ASTRID_E_NOTFOUND : ASTRID_E_IO,
                       "sandbox spawn: starting %.200s: %s", c.exe, strerror(child_errno));
        err ? err->sys_errno = child_errno : 0;
        goto out;
    }
    out->pid = pid;
    out->in_fd = c.in[1];
    out->out_fd = c.out[0];
    out->err_fd = c.errp[0];
    c.in[1] = c.out[0] = c.errp[0] = -1;
    out->sandboxed = policy != ASTRID_SANDBOX_OFF;
    rc = 0;
out:
    close_pair(c.in);
    close_pair(c.out);
    close_pair(c.errp);
    close_pair(c.report);
    if (c.seccomp_fd >= 0)
        close(c.seccomp_fd);
    for (size_t i = 0; i < c.nbind; i++)
        close(c.bind_fds[i]);
    astrid_sandbox_argv_free(argv);
    astrid_sandbox_argv_free(envp);
    return rc;
}
