/* Daemon-facing helpers shared by the bare verbs and `bus`: connect as the
 * active agent. Requests then go through astrid_client_call (client.h). */
#ifndef ASTRID_CLI_DAEMON_H
#define ASTRID_CLI_DAEMON_H

#include <jansson.h>

#include "cli/cli.h"
#include "client/client.h"

/* Connect to the daemon of $ASTRID_HOME claiming the active agent. Never
 * autostarts: operator verbs report a stopped daemon instead. */
int cli_connect(astrid_client **out, astrid_err *err);
/* The same; with `autostart`, an --ephemeral daemon is started when none
 * runs (the admin verbs). */
int cli_connect_mode(astrid_client **out, bool autostart, astrid_err *err);

#endif
