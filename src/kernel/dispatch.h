/* Interceptor chains on a pool of workers, one FIFO lane per principal
 * (dispatch.c). Threads: the "dispatch router" pops the kernel's
 * icpt_feed into the lanes; ASTRID_DISPATCH_WORKERS "chain workers" run
 * each lane's messages in order, different principals in parallel, so one
 * agent's slow capsule never holds up another agent's messages.
 *
 * Ownership: the kernel owns the astrid_dispatch; astrid_dispatch_stop
 * after closing icpt_feed joins every thread and drops what is queued. */
#ifndef ASTRID_KERNEL_DISPATCH_H
#define ASTRID_KERNEL_DISPATCH_H

#include "astrid/err.h"

#define ASTRID_DISPATCH_WORKERS 4
#define ASTRID_DISPATCH_LANE_MAX 4096 /* queued per principal; the oldest is dropped */

struct astrid_kernel;
typedef struct astrid_dispatch astrid_dispatch;

astrid_dispatch *astrid_dispatch_start(struct astrid_kernel *k, astrid_err *err);
void astrid_dispatch_stop(astrid_dispatch *d);

#endif
