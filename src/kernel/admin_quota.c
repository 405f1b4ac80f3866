/* quota.set / quota.get (reference §10.3). quota.set replaces the whole
 * [quotas] block (absent fields take their defaults, as upstream); the CLI
 * merges with the current values before sending. */
#include <string.h>

#include "kernel/admin.h"

static int get_u64(admin_call *c, json_t *q, const char *key, uint64_t *out)
{
    json_t *v = json_object_get(q, key);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return astrid_req_fail(c, ASTRID_KIND_INVALID, "quotas.%s must be a non-negative integer",
                               key);
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

int admin_quota_set(admin_call *c, json_t **data, const char **status)
{
    (void)status;
    const char *p = admin_str(c, "principal");
    if (!p)
        return -1;
    static const char *const known[] = {"max_memory_bytes", "max_timeout_secs",
                                        "max_ipc_throughput_bytes", "max_background_processes",
                                        "max_storage_bytes"};
    json_t *q = admin_object(c, "quotas", known, sizeof known / sizeof *known, "quota");
    if (!q)
        return -1;
    astrid_quotas nq = {ASTRID_QUOTA_DEFAULT_MEMORY, ASTRID_QUOTA_DEFAULT_TIMEOUT,
                        ASTRID_QUOTA_DEFAULT_IPC, ASTRID_QUOTA_DEFAULT_BG_PROCS,
                        ASTRID_QUOTA_DEFAULT_STORAGE};
    uint64_t bg = nq.max_background_processes;
    if (get_u64(c, q, "max_memory_bytes", &nq.max_memory_bytes) ||
        get_u64(c, q, "max_timeout_secs", &nq.max_timeout_secs) ||
        get_u64(c, q, "max_ipc_throughput_bytes", &nq.max_ipc_throughput_bytes) ||
        get_u64(c, q, "max_background_processes", &bg) ||
        get_u64(c, q, "max_storage_bytes", &nq.max_storage_bytes))
        return -1;
    if (bg > 256)
        return astrid_req_fail(c, ASTRID_KIND_INVALID,
                               "quotas.max_background_processes must be <= 256");
    nq.max_background_processes = (uint32_t)bg;
    astrid_profile *prof = admin_load_existing(c, p);
    if (!prof)
        return -1;
    prof->quotas = nq;
    int rc = admin_save_profile(c, p, prof);
    astrid_profile_release(prof);
    if (rc != 0)
        return -1;
    *data = json_pack("{s:s,s:o}", "principal", p, "quotas", admin_quotas_json(&nq));
    return 0;
}

int admin_quota_get(admin_call *c, json_t **data, const char **status)
{
    const char *p = admin_str(c, "principal");
    if (!p)
        return -1;
    astrid_profile *prof = admin_load_existing(c, p);
    if (!prof)
        return -1;
    *data = admin_quotas_json(&prof->quotas);
    astrid_profile_release(prof);
    *status = "quotas";
    return 0;
}
