/* Deadline thread (see watchdog.h). */
#include "capsule/wasm/watchdog.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KICK_INTERVAL_NS (10ull * 1000 * 1000)

struct astrid_watchdog {
    pthread_t thread;
    pthread_mutex_t watch_lock; /* guards head and stop */
    pthread_cond_t changed;
    astrid_watch *head;
    uint64_t wake_ns; /* when the thread will next look; UINT64_MAX = idle */
    int stop;
};

uint64_t astrid_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *watchdog_main(void *arg)
{
    astrid_watchdog *wd = arg;
    pthread_mutex_lock(&wd->watch_lock);
    while (!wd->stop) {
        uint64_t now = astrid_monotonic_ns(), next = UINT64_MAX;
        for (astrid_watch *w = wd->head; w; w = w->next) {
            if (now >= w->deadline_ns) {
                atomic_store(&w->dl.expired, 1);
                if (now >= w->next_kick_ns) {
                    pthread_kill(w->thread, ASTRID_RT_DEADLINE_SIGNAL);
                    w->next_kick_ns = now + KICK_INTERVAL_NS;
                }
                if (w->next_kick_ns < next)
                    next = w->next_kick_ns;
            } else if (w->deadline_ns < next) {
                next = w->deadline_ns;
            }
        }
        wd->wake_ns = next;
        if (next == UINT64_MAX) {
            pthread_cond_wait(&wd->changed, &wd->watch_lock);
        } else {
            struct timespec ts = {(time_t)(next / 1000000000ull), (long)(next % 1000000000ull)};
            pthread_cond_timedwait(&wd->changed, &wd->watch_lock, &ts);
        }
    }
    pthread_mutex_unlock(&wd->watch_lock);
    return NULL;
}

astrid_watchdog *astrid_watchdog_new(astrid_err *err)
{
    astrid_watchdog *wd = calloc(1, sizeof *wd);
    if (!wd) {
        astrid_err_set(err, ASTRID_E_NOMEM, "wasm: out of memory");
        return NULL;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&wd->changed, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&wd->watch_lock, NULL);
    wd->wake_ns = 0; /* until the thread has looked once, always wake it */
    /* The watchdog must never take the deadline signal itself. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, ASTRID_RT_DEADLINE_SIGNAL);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int rc = pthread_create(&wd->thread, NULL, watchdog_main, wd);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_cond_destroy(&wd->changed);
        pthread_mutex_destroy(&wd->watch_lock);
        free(wd);
        errno = rc;
        astrid_err_sys(err, "wasm: starting the deadline thread");
        return NULL;
    }
    return wd;
}

void astrid_watchdog_free(astrid_watchdog *wd)
{
    if (!wd)
        return;
    pthread_mutex_lock(&wd->watch_lock);
    wd->stop = 1;
    pthread_cond_signal(&wd->changed);
    pthread_mutex_unlock(&wd->watch_lock);
    pthread_join(wd->thread, NULL);
    pthread_cond_destroy(&wd->changed);
    pthread_mutex_destroy(&wd->watch_lock);
    free(wd);
}

void astrid_watchdog_arm(astrid_watchdog *wd, astrid_watch *w, uint64_t timeout_ms)
{
    atomic_init(&w->dl.expired, 0);
    uint64_t now = astrid_monotonic_ns();
    w->deadline_ns = timeout_ms >= UINT64_MAX / 1000000ull - now / 1000000ull
                         ? UINT64_MAX
                         : now + timeout_ms * 1000000ull;
    w->next_kick_ns = 0;
    w->thread = pthread_self();
    pthread_mutex_lock(&wd->watch_lock);
    w->next = wd->head;
    wd->head = w;
    /* wake the thread only when this deadline comes before its next look */
    if (w->deadline_ns < wd->wake_ns)
        pthread_cond_signal(&wd->changed);
    pthread_mutex_unlock(&wd->watch_lock);
}

int astrid_watchdog_expire_owner(astrid_watchdog *wd, const void *owner)
{
    int found = 0;
    pthread_mutex_lock(&wd->watch_lock);
    for (astrid_watch *w = wd->head; w; w = w->next)
        if (w->owner == owner) {
            w->deadline_ns = 0;
            found = 1;
        }
    if (found)
        pthread_cond_signal(&wd->changed);
    pthread_mutex_unlock(&wd->watch_lock);
    return found;
}

void astrid_watchdog_disarm(astrid_watchdog *wd, astrid_watch *w)
{
    pthread_mutex_lock(&wd->watch_lock);
    for (astrid_watch **pp = &wd->head; *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            break;
        }
    pthread_mutex_unlock(&wd->watch_lock);
}
