/* Interceptor chains on a pool of workers, one FIFO lane per (principal,
 * capsule at the head of the chain) (dispatch.c). Threads: the "dispatch
 * router" pops the kernel's icpt_feed into the lanes;
 * ASTRID_DISPATCH_WORKERS "chain workers" run each lane's messages in
 * order, different lanes in parallel, so a slow capsule holds up neither
 * another agent's messages nor the same agent's other capsules.
 *
 * Ownership: the kernel owns the astrid_dispatch; astrid_dispatch_stop
 * after closing icpt_feed joins every thread and drops what is queued. */
#ifndef ASTRID_KERNEL_DISPATCH_H
#define ASTRID_KERNEL_DISPATCH_H

#include "astrid/err.h"

#define ASTRID_DISPATCH_WORKERS 8
#define ASTRID_DISPATCH_LANE_MAX 4096 /* queued per lane; the oldest is dropped */

struct astrid_kernel;
struct astrid_msg;

/* The lane key of one interceptor for msg (capsules.c): its capsule when
 * that capsule would run for msg's principal, else NULL (try the next). */
void *astrid_capsule_lane_key(void *icpt_ctx, const struct astrid_msg *msg);
typedef struct astrid_dispatch astrid_dispatch;

astrid_dispatch *astrid_dispatch_start(struct astrid_kernel *k, astrid_err *err);
void astrid_dispatch_stop(astrid_dispatch *d);

#endif
