/* The project's implementation of wabt 1.0.32's `wasm-rt.h` runtime
 * interface, made safe for many guests on many threads at once.
 *
 * Debian's libwasm-rt-impl keeps the trap jmp_buf, signal stack and
 * exception state in process globals; here all of it is per thread:
 *   - the trap target (a sigjmp_buf on the stack of astrid_rt_call) is
 *     thread-local, so a trap unwinds only the thread that trapped;
 *   - every thread that runs guest code gets its own alternate signal stack
 *     (freed when the thread exits), so stack exhaustion in guest code is
 *     caught on that thread;
 *   - the function-type registry is shared (its indices must agree across
 *     modules for cross-module call_indirect) and guarded by
 *     `functype_registry_lock`.
 * Linear memory is an 8 GiB PROT_NONE reservation per memory with the live
 * pages made read/write, so the generated code needs no bounds checks: any
 * access outside the live pages faults, and the SIGSEGV/SIGBUS handler turns
 * a fault raised *while the thread runs guest code* into a trap. A fault
 * anywhere else is passed on to the previous handler (a real crash stays a
 * crash).
 *
 * Process-wide state, necessarily: the signal dispositions of SIGSEGV,
 * SIGBUS and ASTRID_RT_DEADLINE_SIGNAL (installed once), the registry and
 * the pthread key for per-thread cleanup.
 */
#ifndef ASTRID_CAPSULE_WASM_RT_H
#define ASTRID_CAPSULE_WASM_RT_H

#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

#include "astrid/err.h"

/* Trap codes beyond wasm_rt_trap_t's, raised by the engine and host. */
enum {
    ASTRID_RT_TRAP_DEADLINE = 64,
    ASTRID_RT_TRAP_MEMORY_LIMIT, /* initial memory above the instance cap */
    ASTRID_RT_TRAP_RESOURCE,     /* mmap/alloc failed while instantiating */
    ASTRID_RT_TRAP_HOST,         /* a host function refused the call */
    ASTRID_RT_TRAP_EXIT,         /* WASI proc_exit: a clean end */
};

/* Real-time signal used to interrupt a guest whose deadline passed. */
#define ASTRID_RT_DEADLINE_SIGNAL (SIGRTMIN + 7)

/* What the watchdog shares with the thread running one invocation. */
typedef struct astrid_rt_deadline {
    atomic_int expired;
} astrid_rt_deadline;

/* Install the signal handlers (once per process). Idempotent. */
int astrid_rt_global_init(astrid_err *err);

/* Run fn(arg) as guest code on this thread with a trap target. Returns 0
 * when fn returned, else the trap code (wasm_rt_trap_t or ASTRID_RT_TRAP_*).
 * `dl` (may be NULL) is polled by the deadline signal handler.
 * `mem_cap_pages` caps every memory allocated during the call (instantiate).
 * Re-entrant: a host function may call back into guest code. */
int astrid_rt_call(void (*fn)(void *), void *arg, astrid_rt_deadline *dl, uint64_t mem_cap_pages,
                   astrid_err *err);

/* For host functions: mark the thread as running host code (no deadline
 * longjmp, faults are real crashes) and back. host_enter traps with
 * EXHAUSTION when too little native stack is left to run host code, and
 * with DEADLINE when the deadline has already passed; host_leave traps
 * DEADLINE if it passed during the call. */
void astrid_rt_host_enter(void);
void astrid_rt_host_leave(void);
/* Non-zero when the current invocation's deadline has passed. */
int astrid_rt_deadline_expired(void);
/* Leave guest code by trap `code` (never returns). */
_Noreturn void astrid_rt_trap(int code);

/* Stable lower-case description of a trap code. */
const char *astrid_rt_trap_name(int code);

#endif
