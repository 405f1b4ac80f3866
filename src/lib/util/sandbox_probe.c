/* The sandbox prerequisites probe (include/astrid/sandbox_probe.h). It runs
 * the namespaces the sandbox really uses (bwrap --unshare-all), not only a
 * user namespace, so a probe that passes means a spawn can work. */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "astrid/sandbox_probe.h"

extern char **environ;

int astrid_sandbox_which(const char *name, const char *path, char *out, size_t n)
{
    if (!name || !*name || strchr(name, '/'))
        return -1;
    if (!path)
        path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/bin:/bin";
    for (const char *s = path; *s;) {
        const char *e = strchr(s, ':');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        /* Only absolute directories: an empty or relative PATH entry would
         * make the daemon's cwd decide which bwrap runs. */
        if (len && s[0] == '/') {
            int w = snprintf(out, n, "%.*s/%s", (int)len, s, name);
            if (w > 0 && (size_t)w < n && access(out, X_OK) == 0)
                return 0;
        }
        s += len + (e ? 1 : 0);
    }
    return -1;
}

/* Exit status of argv run with stdio on /dev/null, -1 when it could not run. */
static int run_quiet(char *const argv[])
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    pid_t pid;
    int rc = -1, st;
    if (posix_spawn_file_actions_init(&fa) != 0)
        return -1;
    if (posix_spawnattr_init(&at) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return -1;
    }
    for (int fd = 0; fd < 3; fd++)
        posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", fd ? O_WRONLY : O_RDONLY, 0);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
    if (posix_spawn(&pid, argv[0], &fa, &at, argv, environ) == 0) {
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    }
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

/* A child loads an allow-everything filter: proves the kernel has
 * CONFIG_SECCOMP_FILTER and that no_new_privs can be set here. */
static bool seccomp_loads(void)
{
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0) {
        struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
        struct sock_fprog prog = {.len = 1, .filter = &allow};
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
            _exit(1);
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
            _exit(2);
        _exit(0);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static bool apparmor_restricts(void)
{
    char buf[8] = "";
    FILE *f = fopen("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "re");
    if (!f)
        return false;
    bool on = fgets(buf, sizeof buf, f) && buf[0] == '1';
    fclose(f);
    return on;
}

void astrid_sandbox_probe_run(astrid_sandbox_probe *out)
{
    memset(out, 0, sizeof *out);
    out->apparmor_restricts = apparmor_restricts();
    out->seccomp_ok = seccomp_loads();
    out->bwrap_found =
        astrid_sandbox_which("bwrap", NULL, out->bwrap_path, sizeof out->bwrap_path) == 0;
    if (!out->bwrap_found) {
        out->bwrap_path[0] = '\0';
        snprintf(out->reason, sizeof out->reason, "bwrap (bubblewrap) not found on PATH");
        return;
    }
    char *argv[] = {out->bwrap_path,
                    "--unshare-all",
                    "--die-with-parent",
                    "--ro-bind",
                    "/",
                    "/",
                    "--proc",
                    "/proc",
                    "--dev",
                    "/dev",
                    "--",
                    "/bin/true",
                    NULL};
    int rc = run_quiet(argv);
    out->userns_ok = rc == 0;
    if (!out->userns_ok)
        snprintf(out->reason, sizeof out->reason,
                 "bwrap cannot create the sandbox namespaces (exit %d)%s", rc,
                 out->apparmor_restricts
                     ? ": AppArmor restricts unprivileged user namespaces"
                     : ": user namespaces unavailable (user.max_user_namespaces?)");
    else if (!out->seccomp_ok)
        snprintf(out->reason, sizeof out->reason, "the kernel refuses seccomp filters");
}

bool astrid_sandbox_usable(const astrid_sandbox_probe *p)
{
    return p && p->bwrap_found && p->userns_ok && p->seccomp_ok;
}
