/* Management API calls from the CLI. */
#include <limits.h>
#include <string.h>
#include <strings.h>

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

int cli_kernel_request(astrid_client *c, const char *suffix, const char *method, json_t *params,
                       const char *want_status, json_t **data, astrid_err *err)
{
    char topic[128], reply_topic[128];
    snprintf(topic, sizeof topic, "astrid.v1.request.%s", suffix);
    snprintf(reply_topic, sizeof reply_topic, "astrid.v1.response.%s", suffix);
    json_t *req = json_pack("{ssss}", "type", "raw_json", "method", method);
    if (!req)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    if (params)
        json_object_set(req, "params", params);
    json_t *reply = NULL;
    int rc = astrid_client_request(c, topic, req, reply_topic, 0, &reply, err);
    json_decref(req);
    if (rc < 0)
        return -1;
    const char *status = json_string_value(json_object_get(reply, "status"));
    json_t *d = json_object_get(reply, "data");
    if (status && strcasecmp(status, "error") == 0) {
        const char *msg = json_string_value(d);
        rc = astrid_err_set(err, msg && strstr(msg, "ermission") ? ASTRID_E_PERM : ASTRID_E_INVALID,
                            "%s: %s", method, msg ? msg : "error");
    } else if (!status || (want_status && strcasecmp(status, want_status) != 0 &&
                           strcasecmp(status, "success") != 0)) {
        rc = astrid_err_set(err, ASTRID_E_PARSE, "%s: unexpected reply (status %s)", method,
                            status ? status : "missing");
    } else {
        *data = json_incref(d ? d : json_null());
    }
    json_decref(reply);
    return rc;
}
