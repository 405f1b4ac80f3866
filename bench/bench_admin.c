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

#include "bench_daemon.h"
#include "bench_util.h"
#include "cli/admin.h"
#include "client/client.h"

#define N 200
#define RUNS 3

int main(void)
{
    char home[] = "/tmp/astrid-bench-admin-XXXXXX";
    if (!mkdtemp(home))
        return 1;
    pid_t pid;
    astrid_client *c = bench_daemon_start(home, &pid, "bench_admin");
    if (!c)
        return 1;
    astrid_err err;
    json_t *d = NULL;
    json_t *create = json_pack("{s:s}", "name", "bench");
    if (cli_admin_request(c, "agent.create", "AgentCreate", create, &d, &err) != 0)
        fprintf(stderr, "bench_admin: %s\n", err.msg);
    json_decref(create);
    json_decref(d);
    double grant[RUNS], status[RUNS];
    int k = 0;
    for (int r = 0; r < RUNS; r++) {
        double s = bench_now_s();
        for (int i = 0; i < N; i++) {
            char cap[64];
            snprintf(cap, sizeof cap, "bench%d:x", k++);
            json_t *p = json_pack("{s:s,s:[s]}", "principal", "bench", "capabilities", cap);
            if (cli_admin_request(c, "caps.grant", "CapsGrant", p, &d, &err) != 0)
                fprintf(stderr, "bench_admin: %s\n", err.msg);
            json_decref(p);
            json_decref(d);
        }
        grant[r] = N / (bench_now_s() - s);
        json_t *req = json_pack("{s:s}", "method", "GetStatus");
        s = bench_now_s();
        for (int i = 0; i < N; i++) {
            astrid_client_request(c, "astrid.v1.request.status", req, "astrid.v1.response.status",
                                  5000, &d, &err);
            json_decref(d);
        }
        status[r] = N / (bench_now_s() - s);
        json_decref(req);
    }
    bench_sort(grant, RUNS);
    bench_sort(status, RUNS);
    printf("   caps.grant through the socket: %.0f ops/s (GetStatus on the same connection: %.0f "
           "ops/s; ratio %.2f)\n",
           grant[RUNS / 2], status[RUNS / 2], grant[RUNS / 2] / status[RUNS / 2]);
    return bench_daemon_stop(c, pid, home);
}
