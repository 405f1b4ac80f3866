/* agent.create / delete / enable / disable / modify / list (reference §10.3). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "astrid/caps.h"
#include "astrid/fs.h"
#include "astrid/home.h"
#include "astrid/principal.h"
#include "kernel/admin.h"
#include "store/identity.h"
#include "store/kv.h"
#include "store/secrets.h"

#define CLI_PLATFORM "cli"

/* Names (without `suffix`) of the entries of `dir`, each a capsule id. */
static void add_capsule_ids(const char *dir, const char *suffix, astrid_strlist *ids)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    size_t sl = suffix ? strlen(suffix) : 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char name[256];
        size_t nl = strlen(de->d_name);
        if (sl) {
            if (nl <= sl || strcmp(de->d_name + nl - sl, suffix) != 0)
                continue;
            nl -= sl;
        }
        if (nl >= sizeof name)
            continue;
        memcpy(name, de->d_name, nl);
        name[nl] = '\0';
        bool dup = false;
        for (size_t i = 0; i < ids->n && !dup; i++)
            dup = strcmp(ids->v[i], name) == 0;
        if (!dup)
            astrid_strlist_push(ids, name, NULL);
    }
    closedir(d);
}

static void warn(json_t *warnings, const char *fmt, const char *a, const char *b)
{
    char msg[1024];
    snprintf(msg, sizeof msg, fmt, a, b);
    json_array_append_new(warnings, json_string(msg));
}

/* Best effort (no rollback): default's per-capsule env JSON, KV namespaces
 * and secret files become the new agent's starting configuration. */
static void inherit_default(admin_call *c, const char *p, json_t *warnings)
{
    const char *home = c->k->home;
    const char *def = ASTRID_DEFAULT_PRINCIPAL;
    char envdir[PATH_MAX], capdir[PATH_MAX], secdir[PATH_MAX];
    astrid_home_env_dir(envdir, sizeof envdir, home, def, NULL);
    astrid_home_capsules_dir(capdir, sizeof capdir, home, def, NULL);
    astrid_home_secret_scope_dir(secdir, sizeof secdir, home, def, NULL);
    astrid_strlist ids = {0}, envs = {0};
    add_capsule_ids(envdir, ASTRID_ENV_JSON_SUFFIX, &envs);
    add_capsule_ids(capdir, NULL, &ids);
    add_capsule_ids(secdir, NULL, &ids);
    for (size_t i = 0; i < envs.n; i++) {
        char src[PATH_MAX], dst[PATH_MAX];
        astrid_err err;
        char *buf = NULL;
        size_t len = 0;
        if (astrid_home_env_json(src, sizeof src, home, def, envs.v[i], &err) != 0 ||
            astrid_home_env_json(dst, sizeof dst, home, p, envs.v[i], &err) != 0 ||
            astrid_read_file(src, 1u << 20, &buf, &len, &err) != 0 ||
            astrid_atomic_write(dst, buf, len, 0600, &err) != 0)
            warn(warnings, "env of capsule %s not copied: %s", envs.v[i], err.msg);
        free(buf);
        astrid_strlist_push(&ids, envs.v[i], NULL);
    }
    for (size_t i = 0; i < ids.n; i++) {
        char src_ns[320], dst_ns[320];
        snprintf(src_ns, sizeof src_ns, "default:capsule:%s", ids.v[i]);
        snprintf(dst_ns, sizeof dst_ns, "%s:capsule:%s", p, ids.v[i]);
        astrid_err err;
        uint64_t n = 0;
        if (c->k->kv && astrid_kv_copy_namespace(c->k->kv, src_ns, dst_ns, &n, &err) != 0)
            warn(warnings, "KV of capsule %s not copied: %s", ids.v[i], err.msg);
        size_t copied = 0;
        char one[PATH_MAX];
        astrid_home_secret_capsule_dir(one, sizeof one, home, def, ids.v[i], NULL);
        if (access(one, F_OK) == 0 &&
            astrid_secret_copy_capsule(home, "default", p, ids.v[i], &copied, &err) != 0)
            warn(warnings, "secrets of capsule %s not copied: %s", ids.v[i], err.msg);
    }
    admin_strlist_free(&ids);
    admin_strlist_free(&envs);
}

static int remove_profile(admin_call *c, const char *p)
{
    char path[PATH_MAX];
    astrid_err err;
    if (astrid_profile_path(path, sizeof path, c->k->home, p, &err) != 0)
        return -1;
    int rc = unlink(path) == 0 || errno == ENOENT ? 0 : -1;
    astrid_profile_cache_invalidate(c->k->profiles, p);
    /* the profile is what makes an agent exist: its removal must survive a
     * power cut like its creation does */
    char dir[PATH_MAX];
    if (rc == 0 && astrid_home_profiles_dir(dir, sizeof dir, c->k->home, &err) == 0 &&
        astrid_fsync_dir(dir, &err) != 0)
        rc = -1;
    return rc;
}

/* Identity records of agents that do not exist: `agent create` writes the
 * identity before the profile and `agent delete` removes the profile
 * first, so a crash in between leaves a `link/cli/{name}` (with its user
 * and name index) and no profile. The profile is the commit point, so such
 * records are removed at boot: the agent was never created, or was
 * deleted. Only cli links: they are made by `agent create` alone. */
int admin_agent_reconcile(astrid_kernel *k, astrid_err *err)
{
    if (!k->kv)
        return 0;
    astrid_kv_keys keys;
    if (astrid_kv_list(k->kv, ASTRID_IDENTITY_NS, "link/" CLI_PLATFORM "/", &keys, err) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < keys.count && rc == 0; i++) {
        const char *name = keys.keys[i] + strlen("link/" CLI_PLATFORM "/");
        char path[PATH_MAX];
        /* only a profile known to be absent: an unreadable one is no
         * reason to delete anything */
        if (astrid_principal_validate(name, NULL) != 0 ||
            astrid_profile_path(path, sizeof path, k->home, name, NULL) != 0 ||
            access(path, F_OK) == 0 || errno != ENOENT)
            continue;
        astrid_user user;
        bool found = false, existed;
        rc = astrid_identity_resolve(k->kv, CLI_PLATFORM, name, &user, &found, err);
        if (rc == 0 && found)
            rc = astrid_identity_delete_user(k->kv, user.id, &existed, err);
        if (rc == 0)
            rc = astrid_identity_unlink(k->kv, CLI_PLATFORM, name, &existed, err);
        if (rc == 0)
            astrid_klog(k, "WARN",
                        "removed the identity of agent %s, which has no profile "
                        "(an agent create or delete cut short)",
                        name);
    }
    astrid_kv_keys_free(&keys);
    return rc;
}

int admin_agent_create(admin_call *c, json_t **data, const char **status)
{
    (void)status;
    const char *name = admin_str(c, "name");
    if (!name)
        return -1;
    astrid_err err;
    if (astrid_principal_validate(name, &err) != 0)
        return astrid_req_fail_err(c, &err);
    if (strcmp(name, "default") == 0)
        return astrid_req_fail(c, ASTRID_KIND_CONFLICT,
                               "principal default is reserved for single-tenant bootstrap");
    char path[PATH_MAX];
    if (astrid_profile_path(path, sizeof path, c->k->home, name, &err) != 0)
        return astrid_req_fail_err(c, &err);
    if (access(path, F_OK) == 0)
        return astrid_req_fail(c, ASTRID_KIND_CONFLICT, "principal %s already exists", name);
    astrid_profile *p = astrid_profile_new(&err);
    if (!p)
        return astrid_req_fail_err(c, &err);
    astrid_strlist groups, grants;
    if (admin_strlist(c, "groups", true, &groups) != 0) {
        astrid_profile_release(p);
        return -1;
    }
    if (admin_strlist(c, "grants", true, &grants) != 0) {
        admin_strlist_free(&groups);
        astrid_profile_release(p);
        return -1;
    }
    int rc = 0;
    /* unchecked, a failed push created the agent in no group at all (the
     * malloc sweep's agent step, N 169) */
    if (groups.n == 0 && astrid_strlist_push(&groups, "agent", NULL) != 0)
        rc = astrid_req_fail(c, ASTRID_KIND_INTERNAL, "out of memory");
    for (size_t i = 0; i < groups.n && rc == 0; i++) {
        if (!admin_group_known(c->k, groups.v[i]))
            rc = astrid_req_fail(c, ASTRID_KIND_NOT_FOUND,
                                 "unknown group '%s' (see `astrid group list`)", groups.v[i]);
        else
            rc = admin_push_unique(c, &p->groups, groups.v[i], NULL);
    }
    for (size_t i = 0; i < grants.n && rc == 0; i++) {
        char why[256];
        if (astrid_cap_validate(grants.v[i], why, sizeof why) != 0)
            rc = astrid_req_fail(c, ASTRID_KIND_INVALID, "invalid capability '%s': %s", grants.v[i],
                                 why);
        else if (strcmp(grants.v[i], "*") == 0)
            rc = astrid_req_fail(c, ASTRID_KIND_INVALID,
                                 "a bare '*' grant needs caps.grant with unsafe_admin = true");
        else
            rc = admin_push_unique(c, &p->grants, grants.v[i], NULL);
    }
    admin_strlist_free(&groups);
    admin_strlist_free(&grants);
    if (rc == 0 && astrid_profile_validate(p, &err) != 0)
        rc = astrid_req_fail_err(c, &err);
    if (rc != 0) {
        astrid_profile_release(p);
        return -1;
    }
    /* Fail closed, in order, undoing what was done: identity, home, profile. */
    astrid_user user = {0};
    bool have_user = false;
    if (c->k->kv) {
        if (astrid_identity_create_linked_user(c->k->kv, name, name, CLI_PLATFORM, name, "system",
                                               &user, &err) != 0)
            rc = astrid_req_fail(c, astrid_errkind_of(err.code), "identity for %s: %s", name,
                                 err.msg);
        else
            have_user = true;
    }
    if (rc == 0 && astrid_principal_home_ensure(c->k->home, name, &err) != 0)
        rc = astrid_req_fail(c, astrid_errkind_of(err.code), "home of %s: %s", name, err.msg);
    if (rc == 0)
        rc = admin_save_profile(c, name, p);
    astrid_profile_release(p);
    if (rc != 0) {
        bool existed;
        if (have_user)
            astrid_identity_delete_user(c->k->kv, user.id, &existed, NULL);
        remove_profile(c, name);
        return -1;
    }
    json_t *warnings = json_array();
    inherit_default(c, name, warnings);
    *data = json_pack("{s:s,s:s}", "principal", name, "astrid_user_id", user.id);
    if (json_array_size(warnings) > 0) {
        json_object_set_new(*data, "warnings", warnings);
        astrid_klog(c->k, "WARN", "agent %s created with %zu inheritance warnings", name,
                    json_array_size(warnings));
    } else {
        json_decref(warnings);
    }
    return 0;
}

int admin_agent_delete(admin_call *c, json_t **data, const char **status)
{
    (void)status;
    const char *p = admin_str(c, "principal");
    if (!p)
        return -1;
    if (strcmp(p, "default") == 0)
        return astrid_req_fail(c, ASTRID_KIND_PERMISSION_DENIED, "cannot delete principal default");
    astrid_profile *prof = admin_load_existing(c, p);
    if (!prof)
        return -1;
    astrid_profile_release(prof);
    /* The profile first: it is the commit point (admin_agent_reconcile
     * removes the identity a crash leaves behind). */
    if (remove_profile(c, p) != 0)
        return astrid_req_fail(c, ASTRID_KIND_INTERNAL, "cannot remove the profile of %s: %s", p,
                               strerror(errno));
    if (c->k->kv) {
        astrid_user user;
        bool found = false, existed;
        astrid_err err;
        if (astrid_identity_resolve(c->k->kv, CLI_PLATFORM, p, &user, &found, &err) == 0 && found) {
            astrid_identity_delete_user(c->k->kv, user.id, &existed, NULL);
            astrid_identity_unlink(c->k->kv, CLI_PLATFORM, p, &existed, NULL);
        }
    }
    *data = json_pack("{s:s}", "principal", p);
    return 0;
}

static int set_enabled(admin_call *c, json_t **data, bool enabled)
{
    const char *p = admin_str(c, "principal");
    if (!p)
        return -1;
    if (!enabled && strcmp(p, "default") == 0)
        return astrid_req_fail(c, ASTRID_KIND_PERMISSION_DENIED,
                               "cannot disable principal default");
    astrid_profile *prof = admin_load_existing(c, p);
    if (!prof)
        return -1;
    bool changed = prof->enabled != enabled;
    prof->enabled = enabled;
    int rc = changed ? admin_save_profile(c, p, prof) : 0;
    astrid_profile_release(prof);
    if (rc != 0)
        return -1;
    *data = json_pack("{s:s,s:b,s:b}", "principal", p, "enabled", enabled, "changed", changed);
    return 0;
}

int admin_agent_enable(admin_call *c, json_t **data, const char **status)
{
    (void)status;
    return set_enabled(c, data, true);
}

int admin_agent_disable(admin_call *c, json_t **data, const char **status)
{
    (void)status;
    return set_enabled(c, data, false);
}

int admin_agent_modify(admin_call *c, json_t **data, const char **status)
{
    (void)status;
    const char *p = admin_str(c, "principal");
    if (!p)
        return -1;
    astrid_strlist add, rem;
    if (admin_strlist(c, "add_groups", true, &add) != 0)
        return -1;
    if (admin_strlist(c, "remove_groups", true, &rem) != 0) {
        admin_strlist_free(&add);
        return -1;
    }
    int rc = 0;
    astrid_profile *prof = NULL;
    if (add.n == 0 && rem.n == 0)
        rc = astrid_req_fail(c, ASTRID_KIND_INVALID,
                             "agent.modify needs add_groups or remove_groups");
    for (size_t i = 0; i < add.n && rc == 0; i++)
        if (!admin_group_known(c->k, add.v[i]))
            rc = astrid_req_fail(c, ASTRID_KIND_NOT_FOUND,
                                 "unknown group '%s' (see `astrid group list`)", add.v[i]);
    if (rc == 0 && !(prof = admin_load_existing(c, p)))
        rc = -1;
    bool changed = false;
    for (size_t i = 0; i < rem.n && rc == 0; i++)
        changed |= astrid_strlist_remove(&prof->groups, rem.v[i]) > 0;
    for (size_t i = 0; i < add.n && rc == 0; i++) {
        bool added = false;
        rc = admin_push_unique(c, &prof->groups, add.v[i], &added);
        changed |= added;
    }
    if (rc == 0 && changed)
        rc = admin_save_profile(c, p, prof);
    if (rc == 0)
        *data = json_pack("{s:s,s:o,s:b}", "principal", p, "groups",
                          admin_strlist_json(&prof->groups), "changed", changed);
    astrid_profile_release(prof);
    admin_strlist_free(&add);
    admin_strlist_free(&rem);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int admin_agent_list(admin_call *c, json_t **data, const char **status)
{
    char dir[PATH_MAX];
    astrid_home_profiles_dir(dir, sizeof dir, c->k->home, NULL);
    DIR *d = opendir(dir);
    if (!d)
        return astrid_req_fail(c, ASTRID_KIND_INTERNAL, "cannot list %s: %s", dir, strerror(errno));
    astrid_strlist names = {0};
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n <= 5 || strcmp(de->d_name + n - 5, ".toml") != 0 || n - 5 > 64)
            continue;
        char stem[65];
        memcpy(stem, de->d_name, n - 5);
        stem[n - 5] = '\0';
        if (astrid_principal_validate(stem, NULL) == 0)
            astrid_strlist_push(&names, stem, NULL);
    }
    closedir(d);
    if (names.n > 1)
        qsort(names.v, names.n, sizeof *names.v, cmp_str);
    json_t *arr = json_array();
    for (size_t i = 0; i < names.n; i++) {
        astrid_err err;
        const astrid_profile *p = astrid_profile_cache_get(c->k->profiles, names.v[i], &err);
        if (!p) {
            /* Listed, not dropped: an agent whose profile broke must not
             * vanish from the operator's view (it is denied everything). */
            astrid_klog(c->k, "WARN", "agent.list: profile of %s does not load: %s", names.v[i],
                        err.msg);
            json_array_append_new(
                arr, json_pack("{s:s,s:s}", "principal", names.v[i], "error", err.msg));
            continue;
        }
        json_array_append_new(arr, admin_agent_summary(names.v[i], p));
        astrid_profile_release(p);
    }
    admin_strlist_free(&names);
    *status = "agent_list";
    *data = arr;
    return 0;
}
