/* interface sys: log (and the capsule log files it writes), clock-ms,
 * get-caller, get-config, signal-ready, trigger-hook,
 * check-capsule-capability. Lifting and lowering are the generated
 * glue's (host_glue.h). */
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "astrid/fs.h"
#include "astrid/home.h"
#include "astrid/jsonsafe.h"
#include "host_glue.h"
#include "store/secrets.h"

/* Shift NAME.log -> NAME.log.1 -> ... -> NAME.log.KEEP, deleting the
 * oldest (credited). Called with the current file flock'd, so two writers
 * never rotate the same generation twice. */
static void rotate(const astrid_invocation *inv, const char *path)
{
    char from[4300], to[4300];
    struct stat st;
    snprintf(to, sizeof to, "%s.%d", path, ASTRID_CAPSULE_LOG_KEEP);
    if (lstat(to, &st) == 0 && S_ISREG(st.st_mode) && unlink(to) == 0)
        astrid_invocation_charge(inv, -(int64_t)st.st_size, NULL);
    for (int i = ASTRID_CAPSULE_LOG_KEEP - 1; i >= 0; i--) {
        if (i == 0)
            snprintf(from, sizeof from, "%s", path);
        else
            snprintf(from, sizeof from, "%s.%d", path, i);
        snprintf(to, sizeof to, "%s.%d", path, i + 1);
        if (rename(from, to) != 0) {
            /* a missing generation: nothing to shift */
        }
    }
}

/* Open `path` for appending with an exclusive flock on the file the name
 * currently names (a concurrent writer may have rotated it away between
 * our open and our lock). -1 on failure. */
static int open_locked(const char *path)
{
    for (int tries = 0; tries < 8; tries++) {
        int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
            return -1;
        struct stat a, b;
        if (flock(fd, LOCK_EX) == 0 && fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
            a.st_ino == b.st_ino && a.st_dev == b.st_dev)
            return fd;
        close(fd);
    }
    return -1;
}

void astrid_capsule_log(const astrid_invocation *inv, const char *level, const char *msg,
                        size_t len)
{
    if (len > ASTRID_CAPSULE_LOG_LINE_MAX)
        len = ASTRID_CAPSULE_LOG_LINE_MAX;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char dir[4096], path[4200], day[16], stamp[32];
    strftime(day, sizeof day, "%Y-%m-%d", &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    char head[200];
    int hn = snprintf(head, sizeof head, "%s.%03ldZ %s [%s] ", stamp, ts.tv_nsec / 1000000, level,
                      inv->capsule);
    if (hn < 0 || (size_t)hn >= sizeof head)
        return;
    size_t n = (size_t)hn + len + 1;
    /* charged before the write: over the quota the line is dropped, never
     * the invocation (log has no error channel) */
    if (astrid_invocation_charge(inv, (int64_t)n, NULL) != 0) {
        if (inv->env->storage_dropped)
            inv->env->storage_dropped(inv->env->storage_ctx, inv->principal, inv->capsule);
        return;
    }
    size_t written = 0;
    const char *h = inv->env->home;
    astrid_home_capsule_log_dir(dir, sizeof dir, h, inv->principal, inv->capsule, NULL);
    astrid_home_capsule_log(path, sizeof path, h, inv->principal, inv->capsule, day, NULL);
    char *line = malloc(n);
    int fd = -1;
    if (line && astrid_mkdir_p(dir, 0700, 0, NULL) == 0 && (fd = open_locked(path)) >= 0) {
        struct stat st;
        if (fstat(fd, &st) == 0 && st.st_size > 0 &&
            (uint64_t)st.st_size + n > ASTRID_CAPSULE_LOG_MAX) {
            rotate(inv, path);
            close(fd); /* releases the lock; writers waiting on it reopen */
            fd = open_locked(path);
        }
        if (fd >= 0) {
            memcpy(line, head, (size_t)hn);
            memcpy(line + hn, msg, len);
            line[n - 1] = '\n';
            /* one write per line: concurrent invocations never interleave a line */
            ssize_t w = write(fd, line, n);
            written = w > 0 ? (size_t)w : 0;
        }
    }
    if (written < n) /* the log is best effort; give back what did not land */
        astrid_invocation_charge(inv, -(int64_t)(n - written), NULL);
    if (fd >= 0)
        close(fd);
    free(line);
}

/* log has no error channel: an over-long message is cut, never a trap. */
int astrid_host_sys_log(astrid_host_call *c, wit_log_level level, const astrid_str *message)
{
    static const char *const names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR"};
    size_t n =
        message->len > ASTRID_CAPSULE_LOG_LINE_MAX ? ASTRID_CAPSULE_LOG_LINE_MAX : message->len;
    astrid_capsule_log(c->inv, names[level], message->ptr, n);
    return 0;
}

int astrid_host_sys_clock_ms(astrid_host_call *c, uint64_t *out)
{
    struct timespec ts;
    (void)c;
    clock_gettime(CLOCK_REALTIME, &ts);
    *out = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    return 0;
}

int astrid_host_sys_signal_ready(astrid_host_call *c)
{
    const astrid_host_env *env = c->inv->env;
    if (env->signal_ready)
        env->signal_ready(env->rt);
    return 0;
}

/* Who published the message being handled; all empty outside one. */
int astrid_host_sys_get_caller(astrid_host_call *c, wit_caller_context *out)
{
    const astrid_invocation *inv = c->inv;
    if (!inv->has_caller)
        return 0;
    out->principal.has = inv->caller_principal[0] != '\0';
    return astrid_host_set_str(c, &out->principal.val,
                               out->principal.has ? inv->caller_principal : NULL) ||
           astrid_host_set_str(c, &out->source_id, inv->caller_source) ||
           astrid_host_set_str(c, &out->timestamp, inv->caller_time);
}

#define CONFIG_KEY_MAX 256
#define ENV_JSON_MAX (1u << 20)

/* `key` of principal's {capsule}.env.json as a malloc'd string (a JSON
 * string raw, any other value as JSON text, as upstream's resolve_env);
 * NULL when the file or the key is missing, or the file is not a JSON
 * object (the writers refuse such a file; a reader treats it as unset). */
static char *env_json_value(const astrid_invocation *inv, const char *principal, const char *key)
{
    char path[PATH_MAX + 64];
    if (astrid_home_env_json(path, sizeof path, inv->env->home, principal, inv->capsule, NULL) != 0)
        return NULL;
    char *text = NULL;
    size_t len = 0;
    if (astrid_read_file(path, ENV_JSON_MAX, &text, &len, NULL) != 0)
        return NULL;
    json_t *o = astrid_json_loadb(text, len, 0, NULL);
    free(text);
    json_t *v = json_object_get(o, key);
    char *out = NULL;
    if (json_is_string(v))
        out = strdup(json_string_value(v));
    else if (v && !json_is_null(v))
        out = astrid_json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(o);
    return out;
}

/* The manifest's [env] value: a secret-typed key from the secret store
 * (per agent, then host-wide), never from env JSON; any other key from
 * the invoking agent's env JSON, else default's (the operator's
 * configuration is every agent's fallback), else the declared default,
 * else "". */
int astrid_host_sys_get_config(astrid_host_call *c, const astrid_str *key, astrid_str *out)
{
    const astrid_invocation *inv = c->inv;
    if (key->len > CONFIG_KEY_MAX)
        return astrid_host_fail(c, "get-config: key over %d bytes", CONFIG_KEY_MAX);
    const astrid_manifest_env *d = NULL;
    for (size_t i = 0; i < inv->manifest->nenv && !d; i++)
        if (strcmp(inv->manifest->env[i].key, key->ptr) == 0)
            d = &inv->manifest->env[i];
    char *val = NULL;
    astrid_err err;
    if (d && strcmp(d->type, "secret") == 0) {
        if (astrid_secret_resolve(inv->env->home, inv->principal, inv->capsule, key->ptr, &val,
                                  &err) != 0)
            return astrid_host_fail(c, "get-config %s: %s", key->ptr, err.msg);
    } else if (!(val = env_json_value(inv, inv->principal, key->ptr)) &&
               strcmp(inv->principal, ASTRID_DEFAULT_PRINCIPAL) != 0) {
        val = env_json_value(inv, ASTRID_DEFAULT_PRINCIPAL, key->ptr);
    }
    if (val) {
        *out = (astrid_str){val, strlen(val)}; /* the glue frees it */
        return 0;
    }
    return astrid_host_set_str(c, out, d && d->default_value ? d->default_value : "");
}

#define HOOK_REQ_MAX (5u << 20)

/* Re-enters the bus: the env runs the other capsules' interceptors for
 * the request's hook topic on this thread and answers their JSON. */
int astrid_host_sys_trigger_hook(astrid_host_call *c, const astrid_str *request_json,
                                 astrid_str *out)
{
    const astrid_invocation *inv = c->inv;
    char *answer = NULL;
    astrid_err err;
    if (request_json->len > HOOK_REQ_MAX)
        return astrid_host_fail(c, "trigger-hook: request over 5 MiB");
    if (!inv->env->trigger)
        return astrid_host_fail(c, "trigger-hook: only the daemon runs hooks");
    if (inv->env->trigger(inv->env->rt, inv, request_json->ptr, request_json->len, &answer, &err) !=
        0)
        return astrid_host_fail(c, "trigger-hook: %s", err.msg);
    *out = (astrid_str){answer, strlen(answer)}; /* the glue frees it */
    return 0;
}

#define CAP_ARG_MAX 64

/* Upstream recognises one capability, the manifest flag
 * allow_prompt_injection; any other, or a UUID no loaded capsule has, is
 * false (so is an argument longer than any UUID or capability name). */
int astrid_host_sys_check_capsule_capability(astrid_host_call *c,
                                             const wit_capability_check_request *request,
                                             wit_capability_check_response *out)
{
    const astrid_host_env *env = c->inv->env;
    const astrid_str *uuid = &request->source_uuid, *cap = &request->capability;
    if (!env->capsule_flag)
        return astrid_host_fail(c, "check-capsule-capability: no capsule registry in this program");
    bool fits = uuid->len <= CAP_ARG_MAX && cap->len <= CAP_ARG_MAX;
    /* a failed lookup leaves `allowed` false: fail closed */
    if (fits && strcmp(cap->ptr, "allow_prompt_injection") == 0 && strlen(uuid->ptr) == uuid->len &&
        env->capsule_flag(env->capsule_flag_ctx, uuid->ptr, cap->ptr, &out->allowed) != 0)
        out->allowed = false;
    return 0;
}
