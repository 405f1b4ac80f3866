#include "store/identity.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "astrid/jsonsafe.h"

static void now_rfc3339(char out[40])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    strftime(out, 40, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Copy `s` trimmed of ASCII whitespace into out; returns its length. */
static size_t trim_copy(char *out, size_t outsz, const char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    if (n >= outsz)
        n = outsz - 1;
    memcpy(out, s, n);
    out[n] = '\0';
    return n;
}

static int check_part(const char *what, const char *s, astrid_err *err)
{
    char tmp[256];
    if (!s || trim_copy(tmp, sizeof tmp, s) == 0)
        return astrid_err_set(err, ASTRID_E_INVALID, "%s must not be blank", what);
    if (strchr(s, '/'))
        return astrid_err_set(err, ASTRID_E_INVALID, "%s must not contain '/'", what);
    if (strlen(s) >= 255)
        return astrid_err_set(err, ASTRID_E_LIMIT, "%s is too long", what);
    return 0;
}

void astrid_identity_principal_from_name(char out[65], const char *name, const char *uuid)
{
    size_t o = 0;
    bool dash = false;
    for (const char *p = name ? name : ""; *p && o < 64; p++) {
        unsigned char c = (unsigned char)tolower((unsigned char)*p);
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') {
            out[o++] = (char)c;
            dash = false;
        } else if (!dash && o > 0) {
            out[o++] = '-';
            dash = true;
        } else if (c == '-' && o == 0) {
            /* leading dashes are trimmed */
        }
    }
    while (o > 0 && out[o - 1] == '-')
        o--;
    out[o] = '\0';
    if (o == 0)
        snprintf(out, 65, "user-%.8s", uuid);
}

static int user_to_json(const astrid_user *u, char **out, astrid_err *err)
{
    *out = NULL;
    json_t *o = json_pack("{s:s, s:s, s:s}", "id", u->id, "principal", u->principal, "created_at",
                          u->created_at);
    if (!o)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    json_object_set_new(o, "public_key",
                        u->public_key[0] ? json_string(u->public_key) : json_null());
    if (u->display_name[0])
        json_object_set_new(o, "display_name", json_string(u->display_name));
    *out = astrid_json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return *out ? 0 : astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
}

static void copy_field(char *dst, size_t n, json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    snprintf(dst, n, "%s", s ? s : "");
}

static int user_from_json(const char *buf, size_t len, astrid_user *u, astrid_err *err)
{
    json_error_t je;
    json_t *o = astrid_json_loadb(buf, len, 0, &je);
    if (!o || !json_is_object(o)) {
        json_decref(o);
        return astrid_err_set(err, ASTRID_E_PARSE, "corrupt identity user record: %s", je.text);
    }
    memset(u, 0, sizeof *u);
    copy_field(u->id, sizeof u->id, o, "id");
    copy_field(u->principal, sizeof u->principal, o, "principal");
    copy_field(u->display_name, sizeof u->display_name, o, "display_name");
    copy_field(u->public_key, sizeof u->public_key, o, "public_key");
    copy_field(u->created_at, sizeof u->created_at, o, "created_at");
    json_decref(o);
    return 0;
}

static int link_key(char *key, size_t n, const char *platform, const char *puid, astrid_err *err);
static char *link_json(const char *key, const char *platform_user_id, const char *uuid,
                       const char *method, astrid_err *err);

/* The user, its name index and (platform non-NULL) one link, in one
 * transaction: a crash or a failed write leaves all or nothing. */
static int create_user(astrid_kv *kv, const char *display_name, const char *principal,
                       const char *platform, const char *puid, const char *method, astrid_user *out,
                       astrid_err *err)
{
    astrid_user u;
    memset(&u, 0, sizeof u);
    if (display_name && (strchr(display_name, '/')))
        return astrid_err_set(err, ASTRID_E_INVALID, "display name must not contain '/'");
    char lkey[400];
    if (platform) {
        if (link_key(lkey, sizeof lkey, platform, puid, err) != 0)
            return -1;
        if (!method || !method[0])
            return astrid_err_set(err, ASTRID_E_INVALID, "link method must not be empty");
    }
    astrid_uuid_v4(u.id);
    now_rfc3339(u.created_at);
    size_t nl = display_name ? trim_copy(u.display_name, sizeof u.display_name, display_name) : 0;
    if (principal)
        snprintf(u.principal, sizeof u.principal, "%s", principal);
    else if (nl > 0)
        astrid_identity_principal_from_name(u.principal, u.display_name, u.id);
    else
        snprintf(u.principal, sizeof u.principal, "default");
    char ukey[64], nkey[300];
    snprintf(ukey, sizeof ukey, "user/%s", u.id);
    snprintf(nkey, sizeof nkey, "name/%s", u.display_name);
    char *ujs = NULL, *ljs = NULL;
    if (user_to_json(&u, &ujs, err) != 0 || !ujs)
        return -1;
    if (platform && !(ljs = link_json(lkey, puid, u.id, method, err))) {
        free(ujs);
        return -1;
    }
    astrid_kv_pair pairs[3];
    size_t n = 0;
    pairs[n++] = (astrid_kv_pair){ukey, ujs, strlen(ujs)};
    if (nl > 0)
        pairs[n++] = (astrid_kv_pair){nkey, u.id, strlen(u.id)};
    if (ljs)
        pairs[n++] = (astrid_kv_pair){lkey, ljs, strlen(ljs)};
    int rc = astrid_kv_set_many(kv, ASTRID_IDENTITY_NS, n, pairs, err);
    free(ujs);
    free(ljs);
    if (rc != 0)
        return -1;
    if (out)
        *out = u;
    return 0;
}

int astrid_identity_create_user(astrid_kv *kv, const char *display_name, const char *principal,
                                astrid_user *out, astrid_err *err)
{
    return create_user(kv, display_name, principal, NULL, NULL, NULL, out, err);
}

int astrid_identity_create_linked_user(astrid_kv *kv, const char *display_name,
                                       const char *principal, const char *platform,
                                       const char *platform_user_id, const char *method,
                                       astrid_user *out, astrid_err *err)
{
    return create_user(kv, display_name, principal, platform, platform_user_id, method, out, err);
}

int astrid_identity_get_user(astrid_kv *kv, const char *uuid, astrid_user *out, bool *found,
                             astrid_err *err)
{
    *found = false;
    char key[64];
    if (!astrid_uuid_parse(uuid, NULL))
        return astrid_err_set(err, ASTRID_E_INVALID, "'%s' is not a UUID", uuid);
    snprintf(key, sizeof key, "user/%s", uuid);
    char *v;
    size_t len;
    if (astrid_kv_get(kv, ASTRID_IDENTITY_NS, key, &v, &len, err) != 0)
        return -1;
    if (!v)
        return 0;
    int rc = user_from_json(v, len, out, err);
    free(v);
    if (rc == 0)
        *found = true;
    return rc;
}

int astrid_identity_get_user_by_name(astrid_kv *kv, const char *name, astrid_user *out, bool *found,
                                     astrid_err *err)
{
    *found = false;
    char trimmed[256];
    if (trim_copy(trimmed, sizeof trimmed, name) == 0)
        return 0;
    char key[300];
    snprintf(key, sizeof key, "name/%s", trimmed);
    char *v;
    if (astrid_kv_get(kv, ASTRID_IDENTITY_NS, key, &v, NULL, err) != 0)
        return -1;
    if (!v)
        return 0;
    int rc = astrid_identity_get_user(kv, v, out, found, err);
    free(v);
    return rc;
}

static int link_key(char *key, size_t n, const char *platform, const char *puid, astrid_err *err)
{
    if (check_part("platform", platform, err) || check_part("platform user id", puid, err))
        return -1;
    char p[128];
    size_t pl = trim_copy(p, sizeof p, platform);
    for (size_t i = 0; i < pl; i++)
        p[i] = (char)tolower((unsigned char)p[i]);
    snprintf(key, n, "link/%s/%s", p, puid);
    return 0;
}

int astrid_identity_link(astrid_kv *kv, const char *platform, const char *platform_user_id,
                         const char *uuid, const char *method, astrid_err *err)
{
    char key[400];
    if (link_key(key, sizeof key, platform, platform_user_id, err) != 0)
        return -1;
    if (!method || !method[0])
        return astrid_err_set(err, ASTRID_E_INVALID, "link method must not be empty");
    astrid_user u;
    bool found;
    if (astrid_identity_get_user(kv, uuid, &u, &found, err) != 0)
        return -1;
    if (!found)
        return astrid_err_set(err, ASTRID_E_NOTFOUND, "user %s does not exist", uuid);
    char *js = link_json(key, platform_user_id, uuid, method, err);
    if (!js)
        return -1;
    int rc = astrid_kv_set(kv, ASTRID_IDENTITY_NS, key, js, strlen(js), err);
    free(js);
    return rc;
}

/* The stored link record; `key` is link_key's (the platform as stored:
 * trimmed, lower-cased). malloc'd. */
static char *link_json(const char *key, const char *platform_user_id, const char *uuid,
                       const char *method, astrid_err *err)
{
    char at[40];
    now_rfc3339(at);
    const char *plat = key + 5;
    const char *slash = strchr(plat, '/');
    json_t *o = json_pack("{s:s%, s:s, s:s, s:s, s:s}", "platform", plat, (size_t)(slash - plat),
                          "platform_user_id", platform_user_id, "astrid_user_id", uuid, "linked_at",
                          at, "method", method);
    char *js = o ? astrid_json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    if (!js)
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    return js;
}

int astrid_identity_unlink(astrid_kv *kv, const char *platform, const char *platform_user_id,
                           bool *existed, astrid_err *err)
{
    char key[400];
    if (link_key(key, sizeof key, platform, platform_user_id, err) != 0)
        return -1;
    return astrid_kv_delete(kv, ASTRID_IDENTITY_NS, key, existed, err);
}

static int link_from_json(const char *buf, size_t len, astrid_link *l, astrid_err *err)
{
    json_error_t je;
    json_t *o = astrid_json_loadb(buf, len, 0, &je);
    if (!o || !json_is_object(o)) {
        json_decref(o);
        return astrid_err_set(err, ASTRID_E_PARSE, "corrupt identity link record: %s", je.text);
    }
    memset(l, 0, sizeof *l);
    copy_field(l->platform, sizeof l->platform, o, "platform");
    copy_field(l->platform_user_id, sizeof l->platform_user_id, o, "platform_user_id");
    copy_field(l->astrid_user_id, sizeof l->astrid_user_id, o, "astrid_user_id");
    copy_field(l->linked_at, sizeof l->linked_at, o, "linked_at");
    copy_field(l->method, sizeof l->method, o, "method");
    json_decref(o);
    return 0;
}

int astrid_identity_resolve(astrid_kv *kv, const char *platform, const char *platform_user_id,
                            astrid_user *out, bool *found, astrid_err *err)
{
    *found = false;
    char key[400];
    if (link_key(key, sizeof key, platform, platform_user_id, err) != 0)
        return -1;
    char *v;
    size_t len;
    if (astrid_kv_get(kv, ASTRID_IDENTITY_NS, key, &v, &len, err) != 0)
        return -1;
    if (!v)
        return 0;
    astrid_link l;
    int rc = link_from_json(v, len, &l, err);
    free(v);
    if (rc != 0)
        return -1;
    return astrid_identity_get_user(kv, l.astrid_user_id, out, found, err);
}

/* Call `fn` on the value of every record under `prefix` (records deleted
 * while scanning are skipped). Stops at the first error. */
typedef int (*record_fn)(const char *val, size_t len, void *ctx, astrid_err *err);

static int for_each_record(astrid_kv *kv, const char *prefix, record_fn fn, void *ctx,
                           astrid_err *err)
{
    astrid_kv_keys keys;
    if (astrid_kv_list(kv, ASTRID_IDENTITY_NS, prefix, &keys, err) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < keys.count && rc == 0; i++) {
        char *v;
        size_t len;
        rc = astrid_kv_get(kv, ASTRID_IDENTITY_NS, keys.keys[i], &v, &len, err);
        if (rc == 0 && v)
            rc = fn(v, len, ctx, err);
        free(v);
    }
    astrid_kv_keys_free(&keys);
    return rc;
}

typedef struct links_ctx {
    const char *uuid;
    astrid_link_list *out;
} links_ctx;

static int collect_link(const char *val, size_t len, void *vctx, astrid_err *err)
{
    links_ctx *c = vctx;
    astrid_link l;
    if (link_from_json(val, len, &l, err) != 0)
        return -1;
    if (strcmp(l.astrid_user_id, c->uuid) != 0)
        return 0;
    astrid_link *nl = realloc(c->out->links, (c->out->count + 1) * sizeof *nl);
    if (!nl)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    c->out->links = nl;
    c->out->links[c->out->count++] = l;
    return 0;
}

int astrid_identity_list_links(astrid_kv *kv, const char *uuid, astrid_link_list *out,
                               astrid_err *err)
{
    out->links = NULL;
    out->count = 0;
    links_ctx c = {uuid, out};
    int rc = for_each_record(kv, "link/", collect_link, &c, err);
    if (rc != 0)
        astrid_link_list_free(out);
    return rc;
}

void astrid_link_list_free(astrid_link_list *l)
{
    free(l->links);
    l->links = NULL;
    l->count = 0;
}

int astrid_identity_delete_user(astrid_kv *kv, const char *uuid, bool *existed, astrid_err *err)
{
    if (existed)
        *existed = false;
    astrid_user u;
    bool found;
    if (astrid_identity_get_user(kv, uuid, &u, &found, err) != 0)
        return -1;
    if (!found)
        return 0;
    astrid_link_list links;
    if (astrid_identity_list_links(kv, uuid, &links, err) != 0)
        return -1;
    for (size_t i = 0; i < links.count; i++) {
        if (astrid_identity_unlink(kv, links.links[i].platform, links.links[i].platform_user_id,
                                   NULL, err) != 0) {
            astrid_link_list_free(&links);
            return -1;
        }
    }
    astrid_link_list_free(&links);
    if (u.display_name[0]) {
        char key[300];
        snprintf(key, sizeof key, "name/%s", u.display_name);
        char *v;
        if (astrid_kv_get(kv, ASTRID_IDENTITY_NS, key, &v, NULL, err) != 0)
            return -1;
        /* Another user may have taken the name since (last writer wins). */
        int rc = 0;
        if (v && strcmp(v, uuid) == 0)
            rc = astrid_kv_delete(kv, ASTRID_IDENTITY_NS, key, NULL, err);
        free(v);
        if (rc != 0)
            return -1;
    }
    char key[64];
    snprintf(key, sizeof key, "user/%s", uuid);
    if (astrid_kv_delete(kv, ASTRID_IDENTITY_NS, key, NULL, err) != 0)
        return -1;
    if (existed)
        *existed = true;
    return 0;
}

static int collect_user(const char *val, size_t len, void *vctx, astrid_err *err)
{
    astrid_user_list *out = vctx;
    astrid_user u;
    if (user_from_json(val, len, &u, err) != 0)
        return -1;
    astrid_user *nu = realloc(out->users, (out->count + 1) * sizeof *nu);
    if (!nu)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    out->users = nu;
    out->users[out->count++] = u;
    return 0;
}

int astrid_identity_list_users(astrid_kv *kv, astrid_user_list *out, astrid_err *err)
{
    out->users = NULL;
    out->count = 0;
    int rc = for_each_record(kv, "user/", collect_user, out, err);
    if (rc != 0)
        astrid_user_list_free(out);
    return rc;
}

void astrid_user_list_free(astrid_user_list *l)
{
    free(l->users);
    l->users = NULL;
    l->count = 0;
}
