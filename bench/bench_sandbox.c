/* Sandboxed spawn of /bin/true (astrid_sandbox_spawn under REQUIRED: argv
 * and env build, seccomp filter, fork, bwrap, pipes drained, reaped)
 * against, in the same run, interleaved:
 *   - bare `bwrap --ro-bind / / /bin/true` (the baseline),
 *   - bwrap with exactly the argv our builder makes, started with
 *     posix_spawn and no filter (what our own code adds on top of bwrap),
 *   - posix_spawn /bin/true (what any sandbox costs).
 * Medians of N runs each; ratios against the baselines (target: <= 1.2x
 * bare bwrap). */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "capsule/sandbox/sandbox.h"

extern char **environ;

static int spawn_wait(char *const argv[])
{
    pid_t pid;
    int st;
    if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0)
        return -1;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int sandboxed(const astrid_sandbox_probe *probe, const astrid_sandbox_spec *spec)
{
    astrid_sandbox_proc p;
    astrid_err err;
    if (astrid_sandbox_spawn(probe, ASTRID_SANDBOX_REQUIRED, spec, &p, &err) < 0) {
        fprintf(stderr, "bench_sandbox: %s\n", err.msg);
        return -1;
    }
    close(p.in_fd);
    char buf[256];
    while (read(p.out_fd, buf, sizeof buf) > 0)
        ;
    while (read(p.err_fd, buf, sizeof buf) > 0)
        ;
    close(p.out_fd);
    close(p.err_fd);
    int st;
    while (waitpid(p.pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 60;
    if (n < 5)
        n = 5;
    astrid_sandbox_probe probe;
    astrid_sandbox_probe_run(&probe);
    if (!astrid_sandbox_usable(&probe)) {
        printf("   sandbox unusable here (%s): nothing measured\n", probe.reason);
        return 0;
    }
    char cap[] = "/tmp/astrid-bench-sandbox-XXXXXX";
    if (!mkdtemp(cap))
        return 1;
    const char *targv[] = {"/bin/true", NULL};
    astrid_sandbox_spec spec = {.argv = targv, .capsule_dir = cap};
    astrid_err err;
    char **ours =
        astrid_sandbox_bwrap_argv(probe.bwrap_path, &spec, getenv("HOME"), "/bin/true", -1, &err);
    if (!ours) {
        fprintf(stderr, "bench_sandbox: %s\n", err.msg);
        return 1;
    }
    char *bare[] = {probe.bwrap_path, "--ro-bind", "/", "/", "/bin/true", NULL};
    char *plain[] = {"/bin/true", NULL};
    double *t[4];
    for (int k = 0; k < 4; k++)
        t[k] = calloc((size_t)n, sizeof(double));
    int fails = 0;
    for (int i = 0; i < n; i++) {
        double a = bench_now_us();
        fails += sandboxed(&probe, &spec) < 0;
        double b = bench_now_us();
        fails += spawn_wait(bare) < 0;
        double c = bench_now_us();
        fails += spawn_wait(ours) < 0;
        double d = bench_now_us();
        fails += spawn_wait(plain) < 0;
        double e = bench_now_us();
        t[0][i] = b - a;
        t[1][i] = c - b;
        t[2][i] = d - c;
        t[3][i] = e - d;
    }
    double m[4];
    for (int k = 0; k < 4; k++)
        m[k] = bench_median(t[k], n);
    printf("   spawn /bin/true, median of %d (us):\n", n);
    printf("   astrid_sandbox_spawn (full layout + seccomp) %9.0f\n", m[0]);
    printf(
        "   bare bwrap --ro-bind / / /bin/true            %9.0f   ratio %.2fx (target <= 1.2x)\n",
        m[1], m[0] / m[1]);
    printf(
        "   bwrap with our argv, no filter, posix_spawn   %9.0f   ratio %.2fx (our own overhead)\n",
        m[2], m[0] / m[2]);
    printf("   posix_spawn /bin/true                         %9.0f   ratio %.1fx\n", m[3],
           m[0] / m[3]);
    if (fails)
        printf("   %d runs failed\n", fails);
    astrid_sandbox_argv_free(ours);
    for (int k = 0; k < 4; k++)
        free(t[k]);
    rmdir(cap);
    return fails ? 1 : 0;
}
