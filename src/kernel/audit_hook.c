/* Management/admin request audit records.
 *
 * INTERIM until the signed, hash-chained audit log lands: one JSON line per
 * decision, appended and fsync'ed under home/{p}/.local/audit/requests.jsonl.
 * A failed write returns -1 so the caller denies (fail closed). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "astrid/home.h"
#include "astrid/uuid.h"
#include "kernel/kernel.h"

int astrid_audit_request(astrid_kernel *k, const char *principal, const char *method,
                         const char *cap, const char *target, const json_t *params, bool allowed,
                         const char *reason)
{
    char dir[PATH_MAX], path[PATH_MAX];
    if (astrid_principal_home(dir, sizeof dir, k->home, principal, NULL) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/.local/audit/requests.jsonl", dir);
    char id[ASTRID_UUID_STR_LEN];
    astrid_uuid_v4(id);
    json_t *action = json_pack("{s:s,s:s,s:s}", "type", "admin_request", "method", method,
                               "required_capability", cap);
    if (target)
        json_object_set_new(action, "target_principal", json_string(target));
    if (params)
        json_object_set(action, "params", (json_t *)params);
    json_t *e = json_pack("{s:s,s:I,s:s,s:o,s:s}", "id", id, "timestamp", (json_int_t)time(NULL),
                          "principal", principal, "action", action, "outcome",
                          allowed ? "allowed" : "denied");
    if (reason)
        json_object_set_new(e, "reason", json_string(reason));
    char *line = json_dumps(e, JSON_COMPACT);
    json_decref(e);
    if (!line)
        return -1;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int rc = -1;
    if (fd >= 0) {
        size_t n = strlen(line);
        line[n] = '\n';
        rc = write(fd, line, n + 1) == (ssize_t)(n + 1) && fsync(fd) == 0 ? 0 : -1;
        close(fd);
    }
    free(line);
    if (rc != 0)
        astrid_klog(k, "ERROR", "audit write to %s failed; denying %s", path, method);
    return rc;
}
