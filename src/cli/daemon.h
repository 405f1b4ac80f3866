/* Daemon-facing helpers shared by the bare verbs and `bus`: connect as the
 * active agent and run one Management API request (reference §10.1).
 * Returned json_t are new references the caller json_decref()s. */
#ifndef ASTRID_CLI_DAEMON_H
#define ASTRID_CLI_DAEMON_H

#include <jansson.h>

#include "cli/cli.h"
#include "cli/client.h"

/* Connect to the daemon of $ASTRID_HOME claiming the active agent. Never
 * autostarts: operator verbs report a stopped daemon instead. */
int cli_connect(astrid_client **out, astrid_err *err);
/* The same; with `autostart`, an --ephemeral daemon is started when none
 * runs (the admin verbs). */
int cli_connect_mode(astrid_client **out, bool autostart, astrid_err *err);

/* Send {"type":"raw_json","method":M[,"params":P]} on astrid.v1.request.<suffix>
 * and return the KernelResponse "data" of a success. A KernelResponse
 * "Error" becomes ASTRID_E_PERM or ASTRID_E_INVALID with its text. */
int cli_kernel_request(astrid_client *c, const char *suffix, const char *method, json_t *params,
                       const char *want_status, json_t **data, astrid_err *err);

#endif
