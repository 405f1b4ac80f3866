/* sandbox_driver: runs one program through astrid_sandbox_spawn, copies its
 * stdout/stderr to ours and exits with its status. The test harness of
 * tests/integration/sandbox_escape.sh and the required-policy check.
 *
 *   sandbox_driver [--capsule-dir D] [--rw P]... [--ro P]... [--astrid-home H]
 *                  [--cwd D] [--net] [--env K=V]... [--nofile N] [--probe]
 *                  -- program args...
 * Policy from ASTRID_SANDBOX_POLICY (exit 2 on a bad value). A refused or
 * failed spawn prints "sandbox_driver: <message>" and exits 3. --probe
 * prints the probe result and exits 0 (usable) or 1. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capsule/sandbox/sandbox.h"

#define MAXV 32

static void pump(int from, FILE *to, bool *open)
{
    char buf[4096];
    ssize_t n = read(from, buf, sizeof buf);
    if (n <= 0) {
        *open = false;
        return;
    }
    fwrite(buf, 1, (size_t)n, to);
    fflush(to);
}

int main(int argc, char **argv)
{
    const char *rw[MAXV + 1] = {0}, *ro[MAXV + 1] = {0}, *env[MAXV + 1] = {0};
    size_t nrw = 0, nro = 0, nenv = 0;
    astrid_sandbox_spec spec = {0};
    bool probe_only = false;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--")) {
            i++;
            break;
        } else if (!strcmp(a, "--net")) {
            spec.net = true;
        } else if (!strcmp(a, "--probe")) {
            probe_only = true;
        } else if (v && !strcmp(a, "--capsule-dir")) {
            spec.capsule_dir = v, i++;
        } else if (v && !strcmp(a, "--astrid-home")) {
            spec.astrid_home = v, i++;
        } else if (v && !strcmp(a, "--cwd")) {
            spec.cwd = v, i++;
        } else if (v && !strcmp(a, "--nofile")) {
            spec.rlim.nofile = strtoull(v, NULL, 10), i++;
        } else if (v && !strcmp(a, "--rw") && nrw < MAXV) {
            rw[nrw++] = v, i++;
        } else if (v && !strcmp(a, "--ro") && nro < MAXV) {
            ro[nro++] = v, i++;
        } else if (v && !strcmp(a, "--env") && nenv < MAXV) {
            env[nenv++] = v, i++;
        } else {
            fprintf(stderr, "sandbox_driver: bad option %s\n", a);
            return 2;
        }
    }
    astrid_err err;
    astrid_sandbox_policy policy;
    if (astrid_sandbox_policy_parse(getenv("ASTRID_SANDBOX_POLICY"), &policy, &err) < 0) {
        fprintf(stderr, "sandbox_driver: %s\n", err.msg);
        return 2;
    }
    astrid_sandbox_probe probe;
    astrid_sandbox_probe_run(&probe);
    if (probe_only) {
        printf("bwrap=%s userns=%d seccomp=%d apparmor=%d usable=%d reason=%s\n",
               probe.bwrap_found ? probe.bwrap_path : "-", probe.userns_ok, probe.seccomp_ok,
               probe.apparmor_restricts, astrid_sandbox_usable(&probe), probe.reason);
        return astrid_sandbox_usable(&probe) ? 0 : 1;
    }
    if (i >= argc) {
        fprintf(stderr, "sandbox_driver: no program\n");
        return 2;
    }
    spec.argv = (const char *const *)&argv[i];
    spec.env = env;
    spec.rw_paths = rw;
    spec.ro_paths = ro;
    astrid_sandbox_proc p;
    if (astrid_sandbox_spawn(&probe, policy, &spec, &p, &err) < 0) {
        fprintf(stderr, "sandbox_driver: %s\n", err.msg);
        return 3;
    }
    close(p.in_fd);
    fprintf(stderr, "sandbox_driver: pid %d sandboxed=%s\n", (int)p.pid,
            p.sandboxed ? "true" : "false");
    bool oo = true, eo = true;
    while (oo || eo) {
        struct pollfd fds[2] = {{oo ? p.out_fd : -1, POLLIN, 0}, {eo ? p.err_fd : -1, POLLIN, 0}};
        if (poll(fds, 2, -1) < 0 && errno != EINTR)
            break;
        if (fds[0].revents)
            pump(p.out_fd, stdout, &oo);
        if (fds[1].revents)
            pump(p.err_fd, stderr, &eo);
    }
    close(p.out_fd);
    close(p.err_fd);
    int st;
    while (waitpid(p.pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
