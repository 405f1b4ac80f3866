/* A throw-away kernel for the fuzz targets that reach kernel code without
 * a running daemon (fuzz_requests, fuzz_ipc): a fresh $ASTRID_HOME in a
 * temp directory (on /dev/shm when there, so atomic writes' fsyncs cost
 * nothing) holding what the admin handlers and the handshake's profile
 * lookup use: home layout, runtime key, state KV, groups, profile cache,
 * audit log, gate, and the `default` principal as after boot. No loop, no
 * socket, no capsules.
 *
 * Header-only (static inline, one includer per program). fk_up() builds it into
 * the caller's struct, fk_down() frees everything and removes the tree.
 * fk_up() also has the last kernel removed at exit.
 * fk_snapshot() digests the stored state (every file's path, mode and
 * bytes, logs excepted) so a target can check that a refused request left
 * stored data intact. */
#ifndef ASTRID_FUZZ_KERNEL_H
#define ASTRID_FUZZ_KERNEL_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "astrid/blake3.h"
#include "astrid/crypto.h"
#include "astrid/home.h"
#include "astrid/policy_cache.h"
#include "astrid/profile.h"
#include "kernel/fed_trust.h"
#include "kernel/gate.h"
#include "kernel/kernel.h"
#include "store/kv.h"

static inline int fk_rm(const char *p, const struct stat *st, int type, struct FTW *f)
{
    (void)st;
    (void)f;
    return type == FTW_DP ? rmdir(p) : unlink(p);
}

static inline void fk_down(astrid_kernel *k)
{
    astrid_gate_free(k);
    astrid_kernel_trust_stop(k);
    if (k->audit)
        astrid_audit_close(k->audit);
    if (k->kv)
        astrid_kv_close(k->kv);
    astrid_group_swap_free(k->groups);
    astrid_profile_cache_free(k->profiles);
    if (k->log)
        fclose(k->log);
    pthread_mutex_destroy(&k->log_lock);
    pthread_mutex_destroy(&k->admin_write_lock);
    if (k->home[0])
        nftw(k->home, fk_rm, 16, FTW_DEPTH | FTW_PHYS);
    memset(k, 0, sizeof *k);
}

/* The kernel fk_up built last, torn down at exit (the temp tree must not
 * outlive the fuzzer; a crash leaves it for the post-mortem). */
static astrid_kernel *fk_live;

static inline void fk_atexit(void)
{
    if (fk_live)
        fk_down(fk_live);
}

/* 0, or -1 with a message on stderr (the fuzzer then aborts: a harness
 * that cannot build its kernel must not report "no findings"). */
static inline int fk_up(astrid_kernel *k, const char *tag)
{
    memset(k, 0, sizeof *k);
    if (!fk_live)
        atexit(fk_atexit);
    fk_live = k;
    pthread_mutex_init(&k->log_lock, NULL);
    pthread_mutex_init(&k->admin_write_lock, NULL);
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(k->home, sizeof k->home, "%s/astrid-fuzz-%s-XXXXXX", base, tag);
    if (!mkdtemp(k->home)) {
        k->home[0] = '\0';
        perror("mkdtemp");
        return -1;
    }
    snprintf(k->session, sizeof k->session, "00000000-0000-0000-0000-000000000000");
    astrid_err err = {0};
    char p[PATH_MAX];
    bool created;
    astrid_group_config *g = NULL;
    astrid_profile *prof = NULL;
    int rc = -1;
    if (astrid_home_ensure(k->home, &err) != 0 ||
        astrid_home_runtime_key(p, sizeof p, k->home, &err) != 0 ||
        astrid_keypair_load_or_create(&k->key, p, &created, &err) != 0 ||
        astrid_home_state_db(p, sizeof p, k->home, &err) != 0 ||
        astrid_kv_open(&k->kv, p, 0, &err) != 0 || !(g = astrid_groups_builtin(&err)) ||
        !(k->groups = astrid_group_swap_new(g, &err)) ||
        !(k->profiles = astrid_profile_cache_new(k->home, &err)) ||
        !(prof = astrid_profile_new(&err)) ||
        astrid_profile_save(k->home, "default", prof, &err) != 0 ||
        astrid_principal_home_ensure(k->home, "default", &err) != 0 ||
        !(k->audit = astrid_audit_open(k->home, &k->key, k->session, NULL, NULL, &err)) ||
        astrid_gate_start(k, &err) != 0 || astrid_kernel_trust_start(k, &err) != 0)
        fprintf(stderr, "fuzz kernel: %s\n", err.msg);
    else
        rc = 0;
    astrid_profile_release(prof);
    return rc;
}

/* ---- digest of the stored state ---- */
static astrid_blake3_hasher fk_h;
static size_t fk_skip; /* strlen(home) + 1 */

static inline int fk_visit(const char *p, const struct stat *st, int type, struct FTW *f)
{
    (void)f;
    const char *rel = p + (strlen(p) >= fk_skip ? fk_skip : strlen(p));
    /* Logs (daemon and per-principal) are written by refusals too. */
    if (strstr(rel, "log/") == rel || strstr(rel, "/log/") || strstr(rel, "/.local/log"))
        return 0;
    astrid_blake3_update(&fk_h, rel, strlen(rel) + 1);
    unsigned mode = (unsigned)st->st_mode & 07777;
    astrid_blake3_update(&fk_h, &mode, sizeof mode);
    if (type != FTW_F)
        return 0;
    FILE *fp = fopen(p, "rb");
    if (!fp)
        return 0;
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, fp)) > 0)
        astrid_blake3_update(&fk_h, buf, n);
    fclose(fp);
    return 0;
}

static inline void fk_snapshot(const astrid_kernel *k, uint8_t out[32])
{
    astrid_blake3_init(&fk_h);
    fk_skip = strlen(k->home) + 1;
    nftw(k->home, fk_visit, 16, FTW_PHYS);
    astrid_blake3_finalize(&fk_h, out, 32);
}

#endif
