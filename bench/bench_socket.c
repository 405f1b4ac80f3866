/* Request round trip through the daemon socket (GetStatus, authenticated,
 * authorized and audited) against a raw socketpair ping-pong of the same
 * frame sizes measured in the same run. Prints medians and the ratio
 * (target <= 3x). Boots a throw-away daemon from this build tree. */
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "astrid/wire.h"
#include "bench_daemon.h"
#include "bench_util.h"
#include "client/client.h"

#define N 2000
#define RUNS 5

static size_t req_len, resp_len;

static void *echo_thread(void *arg)
{
    int fd = *(int *)arg;
    char *buf = malloc(resp_len > req_len ? resp_len : req_len);
    for (;;) {
        size_t got = 0;
        while (got < req_len) {
            ssize_t n = read(fd, buf + got, req_len - got);
            if (n <= 0) {
                free(buf);
                return NULL;
            }
            got += (size_t)n;
        }
        if (write(fd, buf, resp_len) != (ssize_t)resp_len) {
            free(buf);
            return NULL;
        }
    }
}

static double socketpair_rt(void)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pthread_t t;
    pthread_create(&t, NULL, echo_thread, &sv[1]);
    char *buf = calloc(1, resp_len > req_len ? resp_len : req_len);
    double s = bench_now_us();
    for (int i = 0; i < N; i++) {
        if (write(sv[0], buf, req_len) != (ssize_t)req_len)
            break;
        size_t got = 0;
        while (got < resp_len) {
            ssize_t n = read(sv[0], buf + got, resp_len - got);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
    }
    double per = (bench_now_us() - s) / N;
    close(sv[0]);
    pthread_join(t, NULL);
    close(sv[1]);
    free(buf);
    return per;
}

int main(int argc, char **argv)
{
    char home[] = "/tmp/astrid-bench-XXXXXX";
    if (!mkdtemp(home))
        return 1;
    pid_t pid;
    astrid_client *c = bench_daemon_start(home, &pid, "bench_socket");
    if (!c)
        return 1;
    astrid_err err;
    json_t *req = json_pack("{s:s}", "method", "GetStatus");
    json_t *reply = NULL;
    /* Frame sizes for the baseline: one request and one reply as sent. */
    astrid_client_request(c, "astrid.v1.request.status", req, "astrid.v1.response.status", 5000,
                          &reply, &err);
    json_t *reqmsg = json_pack("{s:s,s:O,s:s}", "topic", "astrid.v1.request.status", "payload", req,
                               "principal", "default");
    json_object_set_new(json_object_get(reqmsg, "payload"), "request_id",
                        json_string("00000000-0000-4000-8000-000000000000"));
    json_t *respmsg = astrid_ipc_new("astrid.v1.response.status", reply, NULL, "default", 1);
    req_len = json_dumpb(reqmsg, NULL, 0, JSON_COMPACT) + 4;
    resp_len = json_dumpb(respmsg, NULL, 0, JSON_COMPACT) + 4;
    json_decref(reply);
    double ours[RUNS], base[RUNS];
    for (int r = 0; r < RUNS; r++) {
        double s = bench_now_us();
        for (int i = 0; i < N; i++) {
            astrid_client_request(c, "astrid.v1.request.status", req, "astrid.v1.response.status",
                                  5000, &reply, &err);
            json_decref(reply);
        }
        ours[r] = (bench_now_us() - s) / N;
        base[r] = socketpair_rt();
    }
    bench_sort(ours, RUNS);
    bench_sort(base, RUNS);
    printf("socket round trip (GetStatus, %zu+%zu bytes): ours %.1f us, raw socketpair %.1f us, "
           "ratio %.2f (target <= 3)\n",
           req_len, resp_len, ours[RUNS / 2], base[RUNS / 2], ours[RUNS / 2] / base[RUNS / 2]);
    json_decref(req);
    json_decref(reqmsg);
    json_decref(respmsg);
    (void)argc;
    (void)argv;
    return bench_daemon_stop(c, pid, home);
}
