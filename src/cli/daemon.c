/* Connecting to the daemon as the active agent. */
#include <limits.h>

#include "cli/context.h"
#include "cli/daemon.h"

int cli_connect(astrid_client **out, astrid_err *err)
{
    return cli_connect_mode(out, false, err);
}

int cli_connect_mode(astrid_client **out, bool autostart, astrid_err *err)
{
    char home[PATH_MAX], principal[CLI_PRINCIPAL_MAX];
    if (cli_home(home, sizeof home, err) < 0 ||
        cli_context_active(home, principal, sizeof principal, err) < 0)
        return -1;
    if (!autostart && !astrid_client_daemon_running(home))
        return astrid_err_set(err, ASTRID_E_NOTFOUND,
                              "the daemon is not running (start it with 'astrid start')");
    astrid_client_opts o = {.home = home, .principal = principal, .autostart = autostart};
    return astrid_client_connect(out, &o, err);
}
