/* Uplinks: a capsule bridging a platform (chat, notifications) registers
 * each connection (at most 32 per capsule, (name, platform) unique) and
 * sends what the platform's users say into the system. What it sends is
 * published by the kernel on `uplink.v1.inbound` as
 *   {uplink_id, name, platform, profile, platform_user_id, content, capsule}
 * under the invoking principal and the capsule's source, charged to their
 * rate bucket: `delivered` is false when that bucket is empty (upstream's
 * "inbound channel full"). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/jsonsafe.h"
#include "astrid/uuid.h"
#include "kernel/capsule_rt.h"

#define MAX_UPLINKS 32
#define INBOUND_TOPIC "uplink.v1.inbound"

struct kuplink {
    char id[ASTRID_UUID_STR_LEN];
    char *name, *platform, *profile;
};

int kcapsule_uplink_register(void *rt, const astrid_invocation *inv, const char *name,
                             const char *platform, const char *profile, char id[37],
                             astrid_err *err)
{
    (void)inv;
    kcapsule *c = rt;
    int rc = 0;
    pthread_mutex_lock(&c->uplinks_lock);
    for (size_t i = 0; i < c->nuplinks && rc == 0; i++)
        if (strcmp(c->uplinks[i].name, name) == 0 && strcmp(c->uplinks[i].platform, platform) == 0)
            rc = astrid_err_set(err, ASTRID_E_EXISTS, "uplink %s on %s is already registered", name,
                                platform);
    if (rc == 0 && c->nuplinks >= MAX_UPLINKS)
        rc = astrid_err_set(err, ASTRID_E_LIMIT, "at most %d uplinks per capsule", MAX_UPLINKS);
    struct kuplink *nu = NULL;
    if (rc == 0 && !(nu = realloc(c->uplinks, (c->nuplinks + 1) * sizeof *nu)))
        rc = astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    if (rc == 0 && nu) {
        c->uplinks = nu;
        struct kuplink *u = &nu[c->nuplinks];
        astrid_uuid_v4(u->id);
        u->name = strdup(name);
        u->platform = strdup(platform);
        u->profile = strdup(profile);
        if (!u->name || !u->platform || !u->profile) {
            free(u->name);
            free(u->platform);
            free(u->profile);
            rc = astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        } else {
            memcpy(id, u->id, ASTRID_UUID_STR_LEN);
            c->nuplinks++;
        }
    }
    pthread_mutex_unlock(&c->uplinks_lock);
    if (rc == 0)
        astrid_klog(c->k, "INFO", "capsule %s registered uplink %s (%s, %s) as %s",
                    c->inst->manifest->name, name, platform, profile, id);
    return rc;
}

int kcapsule_uplink_send(void *rt, const astrid_invocation *inv, const char *id, const char *user,
                         const char *content, bool *delivered, astrid_err *err)
{
    kcapsule *c = rt;
    *delivered = false;
    json_t *msg = NULL;
    pthread_mutex_lock(&c->uplinks_lock);
    for (size_t i = 0; i < c->nuplinks && !msg; i++)
        if (strcmp(c->uplinks[i].id, id) == 0)
            msg = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "uplink_id", id, "name",
                            c->uplinks[i].name, "platform", c->uplinks[i].platform, "profile",
                            c->uplinks[i].profile, "platform_user_id", user, "content", content,
                            "capsule", c->inst->manifest->name);
    pthread_mutex_unlock(&c->uplinks_lock);
    if (!msg)
        return astrid_err_set(err, ASTRID_E_NOTFOUND, "no uplink %s registered by capsule %s", id,
                              c->inst->manifest->name);
    char *text = astrid_json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (!text)
        return astrid_err_set(err, ASTRID_E_INVALID, "content is not valid UTF-8");
    astrid_err perr;
    int rc = astrid_kernel_bus_publish(c->k, INBOUND_TOPIC, text, strlen(text), c->source_id,
                                       inv->principal, ASTRID_PUB_RATE_LIMIT, NULL, &perr);
    free(text);
    if (rc == 0) {
        *delivered = true;
        return 0;
    }
    if (perr.code == ASTRID_E_LIMIT && strstr(perr.msg, "Rate limit"))
        return 0; /* full: the capsule may retry */
    return astrid_err_set(err, perr.code, "%s", perr.msg);
}

void kcapsule_uplinks_free(kcapsule *c)
{
    for (size_t i = 0; i < c->nuplinks; i++) {
        free(c->uplinks[i].name);
        free(c->uplinks[i].platform);
        free(c->uplinks[i].profile);
    }
    free(c->uplinks);
    c->uplinks = NULL;
    c->nuplinks = 0;
}

json_t *kcapsule_uplinks_json(kcapsule *c)
{
    json_t *a = json_array();
    pthread_mutex_lock(&c->uplinks_lock);
    for (size_t i = 0; i < c->nuplinks; i++)
        json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s}", "id", c->uplinks[i].id, "name",
                                           c->uplinks[i].name, "platform", c->uplinks[i].platform,
                                           "profile", c->uplinks[i].profile));
    pthread_mutex_unlock(&c->uplinks_lock);
    return a;
}
