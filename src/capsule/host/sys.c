/* interface sys: log, clock-ms, get-caller, get-config, signal-ready,
 * check-capsule-capability (trigger-hook: unbuilt.c). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "astrid/fs.h"
#include "capsule/host/abi.h"
#include "store/secrets.h"

#define SYS(f) HOST_FN(sys, f)

void astrid_capsule_log(const astrid_invocation *inv, const char *level, const char *msg,
                        size_t len)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char dir[4096], path[4200], day[16];
    strftime(day, sizeof day, "%Y-%m-%d", &tm);
    snprintf(dir, sizeof dir, "%s/home/%s/.local/log/%s", inv->env->home, inv->principal,
             inv->capsule);
    if (astrid_mkdir_p(dir, 0700, 0, NULL) != 0)
        return;
    snprintf(path, sizeof path, "%s/%s.log", dir, day);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    char head[160];
    int hn = snprintf(head, sizeof head, "%lld.%03ld %s [%s] ", (long long)ts.tv_sec,
                      ts.tv_nsec / 1000000, level, inv->capsule);
    /* one write per line: concurrent invocations never interleave a line */
    char *line = malloc((size_t)hn + len + 1);
    if (line) {
        memcpy(line, head, (size_t)hn);
        memcpy(line + hn, msg, len);
        line[hn + (int)len] = '\n';
        if (write(fd, line, (size_t)hn + len + 1) < 0) {
            /* the log is best effort; the invocation goes on */
        }
        free(line);
    }
    close(fd);
}

void SYS(log)(void *inst, uint32_t level, uint32_t p, uint32_t n);
void SYS(log)(void *inst, uint32_t level, uint32_t p, uint32_t n)
{
    static const char *const names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR"};
    astrid_wasm_host_enter(inst);
    char *msg = abi_str(inst, p, n, 64u << 10);
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
