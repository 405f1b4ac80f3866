/* The engine's deadline thread. One per engine: it sleeps until the
 * earliest registered deadline, then marks that invocation expired and
 * sends ASTRID_RT_DEADLINE_SIGNAL to its thread, again every 10 ms until
 * the invocation unregisters (covers a guest that was in host code or
 * between calls when the first signal came).
 *
 * Ownership: astrid_watchdog_new()/free(); a registered astrid_watch lives
 * in the caller's stack frame and must be unregistered before it goes. */
#ifndef ASTRID_CAPSULE_WASM_WATCHDOG_H
#define ASTRID_CAPSULE_WASM_WATCHDOG_H

#include <pthread.h>
#include <stdint.h>

#include "astrid/err.h"
#include "capsule/wasm/rt.h"

typedef struct astrid_watchdog astrid_watchdog;

typedef struct astrid_watch {
    astrid_rt_deadline dl;
    uint64_t deadline_ns; /* CLOCK_MONOTONIC */
    uint64_t next_kick_ns;
    pthread_t thread;
    const void *owner; /* what astrid_watchdog_expire_owner finds it by */
    struct astrid_watch *next;
} astrid_watch;

astrid_watchdog *astrid_watchdog_new(astrid_err *err);
void astrid_watchdog_free(astrid_watchdog *w);
/* Arm `w` for the calling thread, `timeout_ms` from now (UINT64_MAX:
 * never, until expired by its owner). */
void astrid_watchdog_arm(astrid_watchdog *wd, astrid_watch *w, uint64_t timeout_ms);
void astrid_watchdog_disarm(astrid_watchdog *wd, astrid_watch *w);
/* Expire now every armed watch of `owner`; 1 if one was armed. */
int astrid_watchdog_expire_owner(astrid_watchdog *wd, const void *owner);
uint64_t astrid_monotonic_ns(void);

#endif
