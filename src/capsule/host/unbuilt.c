/* Host functions whose machinery later issues build. Each is present, so
 * capsules importing it load, and answers result::err naming what is
 * missing: never a fake success. `off` is where the error string sits in
 * the function's result (docs/abi.md). */
#include "capsule/host/abi.h"

#pragma GCC diagnostic ignored "-Wunused-parameter"

#define I uint32_t
#define L uint64_t
#define UNBUILT(MOD, FN, OFF, WHY, ...)                                                            \
    void HOST_FN(MOD, FN)(void *inst, __VA_ARGS__, uint32_t ret);                                  \
    void HOST_FN(MOD, FN)(void *inst, __VA_ARGS__, uint32_t ret)                                   \
    {                                                                                              \
        astrid_wasm_host_enter(inst);                                                              \
        abi_err(inst, ret, OFF, "%s", WHY);                                                        \
        astrid_wasm_host_leave(inst);                                                              \
    }

#define W_PROC "process: native sandboxed processes (bubblewrap) are not built yet"
#define W_ELI "elicit: interactive install prompts are not built yet"
#define W_SEC "has-secret is not built yet"
#define W_APP "request-approval: the approval flow is not built yet"

UNBUILT(process, spawn, 4, W_PROC, I a, I b, I c, I d)
UNBUILT(process, spawnZ2Dbackground, 8, W_PROC, I a, I b, I c, I d)
UNBUILT(process, readZ2Dlogs, 4, W_PROC, L h)
UNBUILT(process, kill, 4, W_PROC, L h)
UNBUILT(elicit, elicit, 4, W_ELI, I a, I b, I c, I d, I e, I f, I g, I h, I i, I j, I k, I l)
UNBUILT(elicit, hasZ2Dsecret, 4, W_SEC, I p, I n)
UNBUILT(approval, requestZ2Dapproval, 4, W_APP, I a, I b, I c, I d)
