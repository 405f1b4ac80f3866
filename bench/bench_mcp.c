/* MCP tool calls (docs/mcp.md), same server in the same run
 * (tests/mcp/fake_server.js, its `echo` tool, under node):
 *  - direct: tools/call over the server's stdio with the MCP client alone;
 *  - through the bus: a socket client publishes tool.v1.execute.echo and
 *    waits for tool.v1.execute.echo.result (CLI connection -> daemon -> MCP
 *    capsule's worker -> sandboxed server -> reply), one connection reused;
 *    the difference is what the daemon adds (target: <= 150 us);
 *  - 8 concurrent callers, each its own connection: tool calls/s.
 * BENCH_MCP_CALLS sets the calls per measurement (default 2000). */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_daemon.h"
#include "bench_util.h"
#include "capsule/mcp/mcp.h"

static int ncalls(void)
{
    const char *s = getenv("BENCH_MCP_CALLS");
    int n = s ? (int)strtol(s, NULL, 10) : 2000;
    return n > 10 ? n : 10;
}

static const char *src_dir(void)
{
    return getenv("ASTRID_SRC") ? getenv("ASTRID_SRC") : ".";
}

static double direct_us(int n)
{
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
        return -1;
    char script[4200];
    snprintf(script, sizeof script, "%s/tests/mcp/fake_server.js", src_dir());
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        execlp("node", "node", script, "normal", (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    astrid_mcp_opts o = {.to_server = in[1], .from_server = out[0], .name = "bench"};
    astrid_err err;
    astrid_mcp_client *c = astrid_mcp_client_new(&o, &err);
    double *t = calloc((size_t)n, sizeof *t), med = -1;
    json_t *args = json_pack("{s:s}", "x", "y");
    if (c && t && astrid_mcp_initialize(c, 10000, &err) == 0) {
        int i = 0;
        for (; i < n; i++) {
            json_t *r = NULL;
            double t0 = bench_now_s();
            if (astrid_mcp_call_tool(c, "echo", args, NULL, 10000, NULL, NULL, &r, &err) != 0)
                break;
            t[i] = bench_now_s() - t0;
            json_decref(r);
        }
        if (i == n)
            med = bench_median(t, n) * 1e6;
    }
    if (med < 0)
        fprintf(stderr, "   direct: %s\n", err.msg);
    json_decref(args);
    free(t);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    astrid_mcp_client_free(c);
    return med;
}

/* One request/response through the daemon on connection c. */
static int bus_call(astrid_client *c, int id)
{
    char cid[32];
    snprintf(cid, sizeof cid, "b%d", id);
    json_t *p = json_pack("{s:s,s:s,s:s,s:{s:s}}", "type", "tool_execute_request", "call_id", cid,
                          "tool_name", "echo", "arguments", "x", "y");
    astrid_err err;
    int rc = astrid_client_publish(c, "tool.v1.execute.echo", p, &err);
    json_decref(p);
    while (rc == 0) {
        json_t *m = NULL;
        if (astrid_client_recv(c, 10000, &m, &err) != 0)
            return -1;
        const json_t *pl = json_object_get(m, "payload");
        bool mine = strcmp(json_string_value(json_object_get(m, "topic")) ?: "",
                           "tool.v1.execute.echo.result") == 0 &&
                    strcmp(json_string_value(json_object_get(pl, "call_id")) ?: "", cid) == 0;
        json_decref(m);
        if (mine)
            return 0;
    }
    return -1;
}

typedef struct caller {
    const char *home;
    int n, done;
} caller;

static void *caller_main(void *arg)
{
    caller *cl = arg;
    astrid_client_opts o = {.home = cl->home, .principal = "default"};
    astrid_client *c = NULL;
    astrid_err err;
    if (astrid_client_connect(&c, &o, &err) != 0 ||
        astrid_client_subscribe(c, "tool.v1.execute.echo.result", &err) != 0)
        return NULL;
    for (; cl->done < cl->n && bus_call(c, cl->done) == 0; cl->done++)
        ;
    astrid_client_close(c);
    return NULL;
}

int main(void)
{
    int n = ncalls();
    double d = direct_us(n);
    char home[] = "/tmp/astrid-bench-mcp-XXXXXX";
    if (!mkdtemp(home))
        return 1;
    /* the capsule: the same script, bound read-only into the sandbox */
    char dir[4300], cmd[9000];
    snprintf(dir, sizeof dir, "%s/cap", home);
    mkdir(dir, 0700);
    snprintf(cmd, sizeof cmd,
             "cp '%s/tests/mcp/fake_server.js' '%s/' && printf '%%s\\n' '[package]' "
             "'name = \"bench-mcp\"' 'version = \"0.1.0\"' '[capabilities]' "
             "'host_process = [\"node\"]' 'fs_read = [\"%s\"]' '[[mcp_server]]' 'id = \"echo\"' "
             "'type = \"stdio\"' 'command = \"node\"' 'args = [\"%s/fake_server.js\", \"normal\"]' "
             "> '%s/Capsule.toml'",
             src_dir(), dir, dir, dir, dir);
    if (system(cmd) != 0)
        return 1;
    char hdir[4200];
    snprintf(hdir, sizeof hdir, "%s/home", home);
    pid_t pid;
    astrid_client *c = bench_daemon_start(hdir, &pid, "bench_mcp");
    if (!c) {
        printf("   skipped: the daemon did not start\n");
        return 0;
    }
    const char *build = getenv("ASTRID_BUILD") ? getenv("ASTRID_BUILD") : "build";
    snprintf(cmd, sizeof cmd,
             "ASTRID_HOME='%s' '%s/bin/astrid' capsule install '%s' >/dev/null 2>&1", hdir, build,
             dir);
    astrid_err err;
    int ok =
        system(cmd) == 0 && astrid_client_subscribe(c, "tool.v1.execute.echo.result", &err) == 0;
    /* the server starts after the install's reload: wait for a first answer */
    for (int i = 0; ok && i < 50 && bus_call(c, -1) != 0; i++)
        usleep(200000);
    double *t = calloc((size_t)n, sizeof *t), b = -1;
    if (ok && t) {
        int i = 0;
        for (; i < n; i++) {
            double t0 = bench_now_s();
            if (bus_call(c, i) != 0)
                break;
            t[i] = bench_now_s() - t0;
        }
        if (i == n)
            b = bench_median(t, n) * 1e6;
    }
    free(t);
    caller cl[8];
    pthread_t th[8];
    double t0 = bench_now_s();
    for (int i = 0; i < 8; i++) {
        cl[i] = (caller){hdir, n / 4, 0};
        pthread_create(&th[i], NULL, caller_main, &cl[i]);
    }
    int total = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        total += cl[i].done;
    }
    double el = bench_now_s() - t0;
    printf("   tools/call echo, median of %d: direct stdio %.1f us, through the bus %.1f us "
           "(adds %.1f us; target <= 150)\n",
           n, d, b, b - d);
    printf("   8 concurrent callers (own connections): %d calls in %.2f s = %.0f calls/s\n", total,
           el, total / el);
    bench_daemon_stop(c, pid, home);
    return 0;
}
