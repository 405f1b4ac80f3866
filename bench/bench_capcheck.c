/* CapabilityCheck cost: median ns per require() on a profile with 2 groups
 * and 20 grants/revokes; heap allocations counted during the timed loop by
 * interposing malloc/calloc/realloc (must be 0); throughput of 8 threads vs
 * 1 thread checking against one shared group snapshot (same run). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "astrid/capcheck.h"
#include "astrid/caps.h"
#include "astrid/policy_cache.h"
#include "bench_allocs.h"
#include "bench_util.h"

#define ITERS 2000000L
#define RUNS 5

static const astrid_profile *prof;
static astrid_group_swap *swap;
static atomic_long failures;

/* Caps that reach the group stage (the slowest allow path). */
static const char *const probe[] = {"ops:deploy:prod", "self:capsule:install", "ops:status",
                                    "self:agent:list"};

static long run_checks(const astrid_group_config *g, long n)
{
    long ok = 0;
    astrid_err e;
    for (long i = 0; i < n; i++)
        ok += astrid_capcheck_require("alice", prof, g, probe[i & 3], NULL, &e) == 0;
    return ok;
}

static void *worker(void *arg)
{
    long n = *(long *)arg;
    astrid_group_config *g = astrid_group_swap_acquire(swap);
    if (run_checks(g, n) != n)
        atomic_fetch_add(&failures, 1);
    astrid_groups_unref(g);
    return NULL;
}

static double threaded(int nthreads, long per_thread)
{
    pthread_t t[8];
    double t0 = bench_now_s();
    for (int i = 0; i < nthreads; i++)
        pthread_create(&t[i], NULL, worker, &per_thread);
    for (int i = 0; i < nthreads; i++)
        pthread_join(t[i], NULL);
    return (double)(nthreads * per_thread) / (bench_now_s() - t0); /* checks per second */
}

int main(void)
{
    astrid_err e;
    astrid_group_error why;
    astrid_profile *p = astrid_profile_new(&e);
    char buf[64];
    for (int i = 0; i < 10; i++) {
        snprintf(buf, sizeof buf, "tool:t%d:run", i);
        astrid_strlist_push(&p->grants, buf, &e);
        snprintf(buf, sizeof buf, "secret:s%d:*", i);
        astrid_strlist_push(&p->revokes, buf, &e);
    }
    astrid_strlist_push(&p->groups, "ops", &e);
    astrid_strlist_push(&p->groups, "agent", &e);
    astrid_group_config *b = astrid_groups_builtin(&e);
    const char *caps[] = {"system:status", "ops:*:prod", "ops:status", "agent:list"};
    astrid_group_config *g = astrid_groups_insert(b, "ops", caps, 4, "operators", false, &why, &e);
    astrid_groups_unref(b);
    prof = p;
    swap = astrid_group_swap_new(g, &e);

    astrid_group_config *snap = astrid_group_swap_acquire(swap);
    double ns[RUNS];
    long ok = 0;
    for (int r = 0; r < RUNS; r++) {
        atomic_store(&bench_allocs_counting, 1);
        double t0 = bench_now_s();
        ok += run_checks(snap, ITERS);
        double t1 = bench_now_s();
        atomic_store(&bench_allocs_counting, 0);
        ns[r] = (t1 - t0) * 1e9 / (double)ITERS;
    }
    bench_sort(ns, RUNS);
    /* Baseline in the same run: a single strcmp-equal check of one string. */
    volatile int sink = 0;
    double bl[RUNS];
    for (int r = 0; r < RUNS; r++) {
        double t0 = bench_now_s();
        for (long i = 0; i < ITERS; i++)
            sink += astrid_cap_matches("ops:status", probe[i & 3]);
        bl[r] = (bench_now_s() - t0) * 1e9 / (double)ITERS;
    }
    bench_sort(bl, RUNS);
    printf("capcheck require: median %.1f ns/check (target < 100), allowed %ld/%ld, "
           "allocations in timed loop: %ld (must be 0)\n",
           ns[RUNS / 2], ok, (long)RUNS * ITERS, atomic_load(&bench_allocs));
    printf("baseline single astrid_cap_matches: median %.1f ns (require/baseline %.1fx)\n",
           bl[RUNS / 2], ns[RUNS / 2] / bl[RUNS / 2]);
    astrid_groups_unref(snap);

    double t1[RUNS], t8[RUNS];
    for (int r = 0; r < RUNS; r++) {
        t1[r] = threaded(1, ITERS);
        t8[r] = threaded(8, ITERS);
    }
    bench_sort(t1, RUNS);
    bench_sort(t8, RUNS);
    printf("threads: 1 thread %.2f M checks/s, 8 threads %.2f M checks/s, scaling %.2fx "
           "(target >= 1.8x on 2 cores), failures %ld\n",
           t1[RUNS / 2] / 1e6, t8[RUNS / 2] / 1e6, t8[RUNS / 2] / t1[RUNS / 2],
           atomic_load(&failures));
    astrid_group_swap_free(swap);
    astrid_profile_release(p);
    return 0;
}
