/* caps.grant through the socket alone: one connection, sequential
 * CapsGrant requests (each a durable audit entry and an atomic profile
 * write, fsyncs included), ops/s; baseline in the same run: GetStatus
 * round trips on the same connection (read-only, write-behind audit). The
 * end-to-end figure (a CLI process per grant) is bench/bench_admin_cli.sh. */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/admin.h"
#include "cli/client.h"

#define N 200
#define RUNS 3

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void)
{
    const char *build = getenv("ASTRID_BUILD");
    char home[] = "/tmp/astrid-bench-admin-XXXXXX";
    if (!mkdtemp(home))
        return 1;
    char daemon[4096];
    snprintf(daemon, sizeof daemon, "%s/bin/astrid-daemon", build ? build : "build");
    pid_t pid = fork();
    if (pid == 0) {
        setenv("ASTRID_HOME", home, 1);
        execl(daemon, daemon, (char *)NULL);
        _exit(127);
    }
    char ready[4200];
    snprintf(ready, sizeof ready, "%s/run/system.ready", home);
    for (int i = 0; i < 200 && access(ready, F_OK) != 0; i++)
        usleep(50000);
    astrid_client_opts o = {.home = home, .principal = "default"};
    astrid_client *c;
    astrid_err err;
    if (astrid_client_connect(&c, &o, &err) != 0) {
        fprintf(stderr, "bench_admin: %s\n", err.msg);
        kill(pid, SIGTERM);
        return 1;
    }
    json_t *d = NULL;
    json_t *create = json_pack("{s:s}", "name", "bench");
    if (cli_admin_request(c, "agent.create", "AgentCreate", create, &d, &err) != 0)
        fprintf(stderr, "bench_admin: %s\n", err.msg);
    json_decref(create);
    json_decref(d);
    double grant[RUNS], status[RUNS];
    int k = 0;
    for (int r = 0; r < RUNS; r++) {
        double s = now_s();
        for (int i = 0; i < N; i++) {
            char cap[64];
            snprintf(cap, sizeof cap, "bench%d:x", k++);
            json_t *p = json_pack("{s:s,s:[s]}", "principal", "bench", "capabilities", cap);
            if (cli_admin_request(c, "caps.grant", "CapsGrant", p, &d, &err) != 0)
                fprintf(stderr, "bench_admin: %s\n", err.msg);
            json_decref(p);
            json_decref(d);
        }
        grant[r] = N / (now_s() - s);
        json_t *req = json_pack("{s:s}", "method", "GetStatus");
        s = now_s();
        for (int i = 0; i < N; i++) {
            astrid_client_request(c, "astrid.v1.request.status", req, "astrid.v1.response.status",
                                  5000, &d, &err);
            json_decref(d);
        }
        status[r] = N / (now_s() - s);
        json_decref(req);
    }
    qsort(grant, RUNS, sizeof *grant, cmpd);
    qsort(status, RUNS, sizeof *status, cmpd);
    printf("   caps.grant through the socket: %.0f ops/s (GetStatus on the same connection: %.0f "
           "ops/s; ratio %.2f)\n",
           grant[RUNS / 2], status[RUNS / 2], grant[RUNS / 2] / status[RUNS / 2]);
    astrid_client_close(c);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", home);
    return system(cmd) == 0 ? 0 : 1;
}
