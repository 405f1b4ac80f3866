/* Placeholders for the socket client until src/cli/client.c (branch
 * `kernel`) is in the tree: every call reports ASTRID_E_UNSUPPORTED, so the
 * daemon-facing verbs exit 2 naming what is missing. When client.c exists
 * this file compiles to nothing. */
#if !__has_include("client.c")
#include "cli/client.h"

#define MISSING "needs the daemon socket client (src/cli/client.c)"

int astrid_client_connect(astrid_client **out, const astrid_client_opts *opts, astrid_err *err)
{
    *out = NULL;
    return astrid_err_set(err, ASTRID_E_UNSUPPORTED, "the daemon connection is not available in this release (%s)", MISSING);
}

void astrid_client_close(astrid_client *c) {}

int astrid_client_publish(astrid_client *c, const char *topic, const json_t *payload,
                          astrid_err *err)
{
    return astrid_err_set(err, ASTRID_E_UNSUPPORTED, "publishing is not available (%s)", MISSING);
}

int astrid_client_subscribe(astrid_client *c, const char *pattern, astrid_err *err)
{
    return astrid_err_set(err, ASTRID_E_UNSUPPORTED, "subscribing is not available (%s)", MISSING);
}

int astrid_client_recv(astrid_client *c, int timeout_ms, json_t **msg, astrid_err *err)
{
    return astrid_err_set(err, ASTRID_E_UNSUPPORTED, "receiving is not available (%s)", MISSING);
}

int astrid_client_request(astrid_client *c, const char *topic, const json_t *payload,
                          const char *reply_topic, int timeout_ms, json_t **reply,
                          astrid_err *err)
{
    return astrid_err_set(err, ASTRID_E_UNSUPPORTED, "requests are not available (%s)", MISSING);
}

/* Without a client nothing can answer, but the socket file may still exist:
 * report true when it does so verbs reach the client and exit 2. */
#include <limits.h>
#include <stdio.h>
#include <unistd.h>
bool astrid_client_daemon_running(const char *home)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/run/system.sock", home);
    return access(p, F_OK) == 0;
}

int astrid_client_start_daemon(const char *home, bool ephemeral, astrid_err *err)
{
    return astrid_err_set(err, ASTRID_E_UNSUPPORTED, "starting the daemon is not available in this release (%s)", MISSING);
}
#else
typedef int astrid_client_unbuilt_empty;
#endif
