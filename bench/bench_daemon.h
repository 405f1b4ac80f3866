/* Shared by the benchmarks that need a live daemon: start a throw-away
 * astrid-daemon from this build tree in `home`, connect as default; and
 * tear it all down. Header-only so each benchmark stays one program. */
#ifndef ASTRID_BENCH_DAEMON_H
#define ASTRID_BENCH_DAEMON_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "astrid/home.h"
#include "client/client.h"

/* Start the daemon for `home` and connect; *pid set. NULL (and the daemon
 * stopped) when it does not answer. */
static astrid_client *bench_daemon_start(const char *home, pid_t *pid, const char *who)
{
    const char *build = getenv("ASTRID_BUILD") ? getenv("ASTRID_BUILD") : "build";
    char daemon[4096], ready[4200];
    snprintf(daemon, sizeof daemon, "%s/bin/astrid-daemon", build);
    *pid = fork();
    if (*pid == 0) {
        setenv("ASTRID_HOME", home, 1);
        execl(daemon, daemon, (char *)NULL);
        _exit(127);
    }
    astrid_home_system_ready(ready, sizeof ready, home, NULL); /* "" waits the full 20 s */
    for (int i = 0; i < 400 && access(ready, F_OK) != 0; i++)
        usleep(50000);
    astrid_client_opts o = {.home = home, .principal = "default"};
    astrid_client *c = NULL;
    astrid_err err;
    if (astrid_client_connect(&c, &o, &err) != 0) {
        fprintf(stderr, "%s: %s\n", who, err.msg);
        kill(*pid, SIGTERM);
        waitpid(*pid, NULL, 0);
        return NULL;
    }
    return c;
}

/* Close the client (may be NULL), stop the daemon (pid <= 0: already
 * stopped), remove `home`. */
static int bench_daemon_stop(astrid_client *c, pid_t pid, const char *home)
{
    astrid_client_close(c);
    if (pid > 0) { /* never kill(0): that is our whole process group */
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", home);
    return system(cmd) == 0 ? 0 : 1;
}

#endif
