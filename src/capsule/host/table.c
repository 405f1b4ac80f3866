/* The one table of host functions (docs/abi.md), grouped by WIT interface:
 * name, engine signature letters, results. The engine resolves each to
 * wasm2c's symbol (HOST_FN) exported by the executable. Interfaces moved
 * to the generated glue (Makefile WIT_GLUE) use its rows, computed from
 * wit/astrid.wit; the rest are still written here, and test_witgen checks
 * both against the WIT. */
#include <stdio.h>

#include "capsule/host/abi.h"
#include "host_glue.h"

#define F(name, params, results)                                                                   \
    {                                                                                              \
        name, params, results, 0                                                                   \
    }

static const astrid_wasm_host_func fs_fns[] = {
    F("fs-exists", "iii", ""),   F("fs-mkdir", "iii", ""),  F("fs-readdir", "iii", ""),
    F("fs-stat", "iii", ""),     F("fs-unlink", "iii", ""), F("read-file", "iii", ""),
    F("write-file", "iiiii", "")};
static const astrid_wasm_host_func ipc_fns[] = {F("ipc-publish", "iiiii", ""),
                                                F("ipc-publish-as", "iiiiiii", ""),
                                                F("ipc-subscribe", "iii", ""),
                                                F("ipc-unsubscribe", "Ii", ""),
                                                F("ipc-poll", "Ii", ""),
                                                F("ipc-recv", "IIi", ""),
                                                F("get-interceptor-handles", "i", "")};
static const astrid_wasm_host_func kv_fns[] = {
    F("kv-get", "iii", ""), F("kv-set", "iiiii", ""), F("kv-delete", "iii", ""),
    F("kv-list-keys", "iii", ""), F("kv-clear-prefix", "iii", "")};
static const astrid_wasm_host_func net_fns[] = {
    F("net-bind-unix", "Ii", ""), F("net-accept", "Ii", ""),  F("net-poll-accept", "Ii", ""),
    F("net-read", "Ii", ""),      F("net-write", "Iiii", ""), F("net-close-stream", "Ii", "")};
static const astrid_wasm_host_func http_fns[] = {
    F("http-request", "iiiiiiiiii", ""), F("http-stream-start", "iiiiiiiiii", ""),
    F("http-stream-read", "Ii", ""), F("http-stream-close", "Ii", "")};
static const astrid_wasm_host_func sys_fns[] = {F("get-config", "iii", ""),
                                                F("get-caller", "i", ""),
                                                F("trigger-hook", "iii", ""),
                                                F("log", "iii", ""),
                                                F("signal-ready", "", ""),
                                                F("clock-ms", "", "I"),
                                                F("check-capsule-capability", "iiiii", "")};
#define M(iface, fns)                                                                              \
    {                                                                                              \
        "astrid:capsule/" iface "@0.1.0", (fns), sizeof(fns) / sizeof((fns)[0]), 0                 \
    }
const astrid_wasm_host_module astrid_capsule_host_modules[] = {
    M("fs", fs_fns),
    M("ipc", ipc_fns),
    M("uplink", astrid_glue_uplink_fns),
    M("kv", kv_fns),
    M("net", net_fns),
    M("http", http_fns),
    M("sys", sys_fns),
    M("process", astrid_glue_process_fns),
    M("elicit", astrid_glue_elicit_fns),
    M("approval", astrid_glue_approval_fns),
    M("identity", astrid_glue_identity_fns)};
const size_t astrid_capsule_host_nmodules =
    sizeof astrid_capsule_host_modules / sizeof astrid_capsule_host_modules[0];

/* The host function objects are referenced only through the symbols
 * wasm2c's code asks for at dlopen: keep them linked into any program that
 * links this table. */
extern void HOST_FN(sys, log)(void *, uint32_t, uint32_t, uint32_t);
extern void HOST_FN(kv, kvZ2Dget)(void *, uint32_t, uint32_t, uint32_t);
extern void HOST_FN(ipc, ipcZ2Dpublish)(void *, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t);
extern void HOST_FN(fs, fsZ2Dexists)(void *, uint32_t, uint32_t, uint32_t);
extern void HOST_FN(http, httpZ2DstreamZ2Dread)(void *, uint64_t, uint32_t);
extern void HOST_FN(ipc, ipcZ2Dpoll)(void *, uint64_t, uint32_t);
extern void HOST_FN(net, netZ2Dread)(void *, uint64_t, uint32_t);
/* One symbol of each object file with hand-written wasm2c-named bodies
 * (sys.c, kv.c, ipc.c, fs.c, http.c, ipc_sub.c, net.c); the generated
 * glue's functions are linked through its tables above. */
__attribute__((used)) static void *const keep_linked[] = {
    (void *)HOST_FN(sys, log),
    (void *)HOST_FN(kv, kvZ2Dget),
    (void *)HOST_FN(ipc, ipcZ2Dpublish),
    (void *)HOST_FN(fs, fsZ2Dexists),
    (void *)HOST_FN(http, httpZ2DstreamZ2Dread),
    (void *)HOST_FN(ipc, ipcZ2Dpoll),
    (void *)HOST_FN(net, netZ2Dread)};

void astrid_invocation_init(astrid_invocation *inv, const astrid_host_env *env,
                            const astrid_manifest *m, const char *source_id, const char *principal)
{
    *inv = (astrid_invocation){.env = env, .manifest = m, .capsule = m->name};
    snprintf(inv->source_id, sizeof inv->source_id, "%s", source_id);
    snprintf(inv->principal, sizeof inv->principal, "%s", principal);
    snprintf(inv->owner, sizeof inv->owner, "%s", principal);
    inv->net_listener = -1;
    snprintf(inv->kv_ns, sizeof inv->kv_ns, "%s:capsule:%s", principal, m->name);
}
