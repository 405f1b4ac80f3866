/* interface sys: log, clock-ms, get-caller, get-config, signal-ready,
 * check-capsule-capability (trigger-hook: unbuilt.c). */
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "astrid/fs.h"
#include "astrid/home.h"
#include "capsule/host/abi.h"
#include "store/secrets.h"

#define SYS(f) HOST_FN(sys, f)

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

void SYS(log)(void *inst, uint32_t level, uint32_t p, uint32_t n);
void SYS(log)(void *inst, uint32_t level, uint32_t p, uint32_t n)
{
    static const char *const names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR"};
    astrid_wasm_host_enter(inst);
    /* an over-long message is cut, never a trap (log has no error channel) */
    if (n > ASTRID_CAPSULE_LOG_LINE_MAX)
        n = ASTRID_CAPSULE_LOG_LINE_MAX;
    char *msg = abi_str(inst, p, n, ASTRID_CAPSULE_LOG_LINE_MAX);
    astrid_capsule_log(abi_inv(inst), level < 5 ? names[level] : "INFO", msg, n);
    free(msg);
    astrid_wasm_host_leave(inst);
}

uint64_t SYS(clockZ2Dms)(void *inst);
uint64_t SYS(clockZ2Dms)(void *inst)
{
    (void)inst;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void SYS(signalZ2Dready)(void *inst);
void SYS(signalZ2Dready)(void *inst)
{
    astrid_wasm_host_enter(inst);
    const astrid_invocation *inv = abi_inv(inst);
    if (inv->env->signal_ready)
        inv->env->signal_ready(inv->env->rt);
    astrid_wasm_host_leave(inst);
}

/* result<caller-context, string>: principal option @4 (str @8), source @16,
 * timestamp @24. */
void SYS(getZ2Dcaller)(void *inst, uint32_t ret);
void SYS(getZ2Dcaller)(void *inst, uint32_t ret)
{
    astrid_wasm_host_enter(inst);
    const astrid_invocation *inv = abi_inv(inst);
    abi_ok(inst, ret, 32);
    if (inv->has_caller) {
        if (inv->caller_principal[0]) {
            abi_u8(inst, ret + 4, 1);
            abi_put(inst, ret + 8, inv->caller_principal, (uint32_t)strlen(inv->caller_principal));
        }
        abi_put(inst, ret + 16, inv->caller_source, (uint32_t)strlen(inv->caller_source));
        abi_put(inst, ret + 24, inv->caller_time, (uint32_t)strlen(inv->caller_time));
    }
    astrid_wasm_host_leave(inst);
}

/* The manifest's [env] value: secrets per agent then host-wide, else the
 * declared default, else "". */
void SYS(getZ2Dconfig)(void *inst, uint32_t kp, uint32_t kn, uint32_t ret);
void SYS(getZ2Dconfig)(void *inst, uint32_t kp, uint32_t kn, uint32_t ret)
{
    astrid_wasm_host_enter(inst);
    const astrid_invocation *inv = abi_inv(inst);
    char *key = abi_str(inst, kp, kn, 256);
    const astrid_manifest_env *d = NULL;
    for (size_t i = 0; i < inv->manifest->nenv && !d; i++)
        if (strcmp(inv->manifest->env[i].key, key) == 0)
            d = &inv->manifest->env[i];
    char *secret = NULL;
    astrid_err err;
    if (d && strcmp(d->type, "secret") == 0 &&
        astrid_secret_resolve(inv->env->home, inv->principal, inv->capsule, key, &secret, &err) !=
            0) {
        abi_err(inst, ret, 4, "get-config %s: %s", key, err.msg);
    } else {
        const char *v = secret ? secret : d && d->default_value ? d->default_value : "";
        abi_ok(inst, ret, 12);
        abi_put(inst, ret + 4, v, (uint32_t)strlen(v));
    }
    free(secret);
    free(key);
    astrid_wasm_host_leave(inst);
}

#define HOOK_REQ_MAX (5u << 20)

void SYS(triggerZ2Dhook)(void *inst, uint32_t p, uint32_t n, uint32_t ret);
void SYS(triggerZ2Dhook)(void *inst, uint32_t p, uint32_t n, uint32_t ret)
{
    astrid_wasm_host_enter(inst);
    const astrid_invocation *inv = abi_inv(inst);
    char *req = n > HOOK_REQ_MAX ? NULL : abi_str(inst, p, n, HOOK_REQ_MAX), *out = NULL;
    astrid_err err;
    if (!req)
        abi_err(inst, ret, 4, "trigger-hook: request over 5 MiB");
    else if (!inv->env->trigger)
        abi_err(inst, ret, 4, "trigger-hook: only the daemon runs hooks");
    else if (inv->env->trigger(inv->env->rt, inv, req, n, &out, &err) != 0)
        abi_err(inst, ret, 4, "trigger-hook: %s", err.msg);
    else {
        abi_ok(inst, ret, 12);
        abi_put(inst, ret + 4, out, (uint32_t)strlen(out));
    }
    free(out);
    free(req);
    astrid_wasm_host_leave(inst);
}

/* result<capability-check-response>: allowed u8 @4. Upstream recognises
 * one capability, the manifest flag allow_prompt_injection; any other, or
 * a UUID no loaded capsule has, is false. */
void SYS(checkZ2DcapsuleZ2Dcapability)(void *inst, uint32_t up, uint32_t un, uint32_t cp,
                                       uint32_t cn, uint32_t ret);
void SYS(checkZ2DcapsuleZ2Dcapability)(void *inst, uint32_t up, uint32_t un, uint32_t cp,
                                       uint32_t cn, uint32_t ret)
{
    astrid_wasm_host_enter(inst);
    const astrid_invocation *inv = abi_inv(inst);
    /* longer than any UUID or capability name: unknown, hence false */
    bool fits = un <= 64 && cn <= 64;
    char *uuid = abi_str(inst, up, fits ? un : 0, 64), *cap = abi_str(inst, cp, fits ? cn : 0, 64);
    bool allowed = false;
    if (!inv->env->capsule_flag) {
        abi_err(inst, ret, 4, "check-capsule-capability: no capsule registry in this program");
    } else {
        /* a failed lookup leaves `allowed` false: fail closed */
        if (fits && strcmp(cap, "allow_prompt_injection") == 0 && strlen(uuid) == un &&
            inv->env->capsule_flag(inv->env->capsule_flag_ctx, uuid, cap, &allowed) != 0)
            allowed = false;
        abi_ok(inst, ret, 12);
        abi_u8(inst, ret + 4, allowed);
    }
    free(uuid);
    free(cap);
    astrid_wasm_host_leave(inst);
}
