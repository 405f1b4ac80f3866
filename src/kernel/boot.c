/* Daemon boot (reference §3.2, with our fail-closed changes): layout, runtime
 * key, policy files, single-instance lock, token, socket, ready file. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "astrid/fs.h"
#include "astrid/home.h"
#include "astrid/principal.h"
#include "astrid/profile.h"
#include "kernel/capsules.h"
#include "kernel/fed_policy.h"
#include "kernel/fed_trust.h"
#include "kernel/gate.h"
#include "kernel/federation.h"
#include "kernel/admin.h"
#include "kernel/kernel.h"
#include "kernel/req_capsule.h"
#include "lib/config/config.h"
#include "store/kv.h"
#include "vfs/overlay.h"

uint64_t astrid_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* "astrid.YYYY-MM-DD.log": the daemon's daily log (home.c's layout). */
static bool is_log_name(const char *n)
{
    static const char pat[] = "astrid.####-##-##.log";
    if (strlen(n) != sizeof pat - 1)
        return false;
    for (size_t i = 0; pat[i]; i++)
        if (pat[i] == '#' ? !isdigit((unsigned char)n[i]) : n[i] != pat[i])
            return false;
    return true;
}

/* Delete the daily logs older than log.keep_days (log_lock held). Only
 * names of the layout's form (astrid.YYYY-MM-DD.log) are touched. */
static void prune_logs(astrid_kernel *k, time_t now)
{
    int64_t keep = astrid_config_int(k->config, "log.keep_days");
    char dir[PATH_MAX];
    if (keep <= 0 || astrid_home_log_dir(dir, sizeof dir, k->home, NULL) != 0)
        return;
    time_t cut = now - (time_t)keep * 86400;
    struct tm tm;
    char cutday[16];
    gmtime_r(&cut, &tm);
    strftime(cutday, sizeof cutday, "%Y-%m-%d", &tm);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char day[11];
        if (!is_log_name(e->d_name))
            continue;
        snprintf(day, sizeof day, "%.10s", e->d_name + 7);
        char p[PATH_MAX];
        if (strcmp(day, cutday) < 0 && astrid_home_daemon_log(p, sizeof p, k->home, day, NULL) == 0)
            unlink(p);
    }
    closedir(d);
}

void astrid_klog(astrid_kernel *k, const char *level, const char *fmt, ...)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char day[16], stamp[32];
    strftime(day, sizeof day, "%Y-%m-%d", &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    pthread_mutex_lock(&k->log_lock);
    if (!k->log || strcmp(day, k->log_day) != 0) {
        if (k->log)
            fclose(k->log);
        char p[PATH_MAX];
        astrid_home_daemon_log(p, sizeof p, k->home, day, NULL); /* "" on failure: no log */
        int fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        struct stat st;
        k->log_bytes = fd >= 0 && fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
        k->log_capped = false;
        k->log = fd >= 0 ? fdopen(fd, "a") : NULL;
        snprintf(k->log_day, sizeof k->log_day, "%s", day);
        prune_logs(k, now);
    }
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    uint64_t cap = (uint64_t)astrid_config_int(k->config, "log.max_file_bytes");
    size_t len = strlen(stamp) + strlen(msg) + 8;
    if (k->log && cap && k->log_bytes + len > cap) {
        /* A runaway logger must not fill the disk: the day's file stops
         * here, saying so once; the next day starts a new one. */
        if (!k->log_capped)
            fprintf(k->log,
                    "%s WARN  log.max_file_bytes (%llu) reached: further lines of %s are "
                    "dropped\n",
                    stamp, (unsigned long long)cap, day);
        k->log_capped = true;
        fflush(k->log);
    } else if (k->log) {
        int w = fprintf(k->log, "%s %-5s %s\n", stamp, level, msg);
        k->log_bytes += w > 0 ? (uint64_t)w : 0;
        fflush(k->log);
    }
    if (k->verbose)
        fprintf(stderr, "%s %-5s %s\n", stamp, level, msg);
    pthread_mutex_unlock(&k->log_lock);
}

static int take_lock(astrid_kernel *k, astrid_err *err)
{
    char p[PATH_MAX];
    if (astrid_home_daemon_lock(p, sizeof p, k->home, err) != 0)
        return -1;
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return astrid_err_sys(err, "open %s", p);
    int locked = flock(fd, LOCK_EX | LOCK_NB);
    /* A holder without a socket is a daemon shutting down (it removes the
     * socket first): `astrid restart` must not race it, so wait it out. */
    for (int i = 0; locked != 0 && i < 100 && access(k->sock_path, F_OK) != 0; i++) {
        usleep(50000);
        locked = flock(fd, LOCK_EX | LOCK_NB);
    }
    if (locked != 0) {
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        close(fd);
        return astrid_err_set(err, ASTRID_E_EXISTS,
                              "another astrid-daemon is already running for %s%s%s%s", k->home,
                              pid[0] ? " (pid " : "", pid, pid[0] ? ")" : "");
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        close(fd);
        return astrid_err_sys(err, "write %s", p);
    }
    k->lock_fd = fd;
    return 0;
}

/* A socket file left by a killed daemon: connect() is refused, so remove it.
 * One that answers means another kernel owns it despite our lock (e.g. a
 * different home mapped to the same path). */
static int clear_stale_socket(astrid_kernel *k, astrid_err *err)
{
    struct stat st;
    if (lstat(k->sock_path, &st) != 0)
        return 0;
    if (S_ISLNK(st.st_mode) || !S_ISSOCK(st.st_mode)) {
        unlink(k->sock_path);
        return 0;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", k->sock_path);
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    int e = errno;
    close(fd);
    if (rc == 0)
        return astrid_err_set(err, ASTRID_E_EXISTS,
                              "Another kernel instance is already running on this socket");
    if (e != ECONNREFUSED && e != ENOENT)
        return astrid_err_set(err, ASTRID_E_IO, "probe socket %s: %s", k->sock_path, strerror(e));
    astrid_klog(k, "WARN", "removed stale socket %s", k->sock_path);
    unlink(k->sock_path);
    return 0;
}

/* Written only when it differs: an unchanged key must not need free space
 * (a full disk would otherwise keep the daemon from starting at all). */
static int write_pubkey(astrid_kernel *k, astrid_err *err)
{
    char p[PATH_MAX];
    char hex[2 * ASTRID_ED25519_PK_LEN + 2];
    if (astrid_home_runtime_pub(p, sizeof p, k->home, err) != 0)
        return -1;
    astrid_hex_encode(hex, k->key.pk, ASTRID_ED25519_PK_LEN);
    strcat(hex, "\n");
    bool written = false;
    if (astrid_write_if_changed(p, hex, strlen(hex), 0600, &written, err) != 0)
        return -1;
    if (written)
        astrid_klog(k, "INFO", "wrote %s", p);
    return 0;
}

/* A temp file of astrid_atomic_write: ".{name}.tmp-XXXXXX" (mkostemp's six
 * characters). Nothing else the kernel writes looks like this. */
static bool is_atomic_temp(const char *name)
{
    size_t n = strlen(name);
    if (n < 1 + 1 + 5 + 6 || name[0] != '.' || strncmp(name + n - 11, ".tmp-", 5) != 0)
        return false;
    for (size_t i = n - 6; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return false;
    }
    return true;
}

/* Remove the temp files of writes interrupted by a crash under `dir`
 * (`depth` levels of subdirectories). Regular files only; symlinks are
 * neither followed nor removed. */
static void sweep_dir(astrid_kernel *k, const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[PATH_MAX];
        struct stat st;
        if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p || lstat(p, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode) && depth > 0)
            sweep_dir(k, p, depth - 1);
        else if (S_ISREG(st.st_mode) && is_atomic_temp(e->d_name)) {
            if (unlink(p) == 0)
                astrid_klog(k, "WARN", "removed %s (temp file of an interrupted write)",
                            p + strlen(k->home) + 1);
            else
                astrid_klog(k, "WARN", "cannot remove stale temp file %s: %s", p, strerror(errno));
        }
    }
    closedir(d);
}

/* Boot-time sweep of the directories where the kernel's atomic writes land.
 * Capsule-owned trees (home/{p}/ data, installed capsule files) are left
 * alone: a file there named like a temp file may be real data. Runs under
 * the daemon lock, so no other daemon is writing. */
static void sweep_stale_temps(astrid_kernel *k)
{
    static const struct {
        int (*path)(char *, size_t, const char *, astrid_err *);
        int depth;
    } dirs[] = {{astrid_home_etc_dir, 8}, {astrid_home_secrets_dir, 3}, {astrid_home_keys_dir, 0},
                {astrid_home_run_dir, 0}, {astrid_home_var_dir, 0},     {astrid_home_bin_dir, 0},
                {astrid_home_aot_dir, 0}, {astrid_home_wit_dir, 0}};
    char p[PATH_MAX];
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        if (dirs[i].path(p, sizeof p, k->home, NULL) == 0)
            sweep_dir(k, p, dirs[i].depth);
    }
    astrid_home_homes_dir(p, sizeof p, k->home, NULL);
    DIR *d = opendir(p);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (astrid_principal_validate(e->d_name, NULL) != 0)
            continue;
        static int (*const sub[])(char *, size_t, const char *, const char *,
                                  astrid_err *) = {astrid_home_env_dir, astrid_home_audit_dir};
        for (size_t i = 0; i < 2; i++) {
            char q[PATH_MAX];
            if (sub[i](q, sizeof q, k->home, e->d_name, NULL) == 0)
                sweep_dir(k, q, 0);
        }
    }
    closedir(d);
}

/* Move every legacy home/{p}/.config/profile.toml to etc/profiles/. */
static int migrate_legacy_profiles(astrid_kernel *k, astrid_err *err)
{
    char dir[PATH_MAX];
    astrid_home_homes_dir(dir, sizeof dir, k->home, NULL);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL && rc == 0) {
        bool moved = false;
        if (e->d_name[0] == '.' || astrid_principal_validate(e->d_name, NULL) != 0)
            continue;
        rc = astrid_profile_migrate_legacy(k->home, e->d_name, &moved, err);
        if (rc == 0 && moved)
            astrid_klog(k, "INFO", "migrated legacy profile of %s to etc/profiles/", e->d_name);
    }
    closedir(d);
    return rc;
}

/* Seed groups = ["admin"] into default's profile exactly when it is absent
 * or names no group, grant or revoke (seed #670, reference §7.2: an empty
 * file parses as the defaults, so it is re-seeded too). Re-seeding a file
 * that exists turns it into an administrator's profile: say so loudly. A
 * malformed file fails the boot with the loader's file:line error. */
static int seed_default_profile(astrid_kernel *k, astrid_err *err)
{
    char path[PATH_MAX];
    struct stat st;
    astrid_profile_path(path, sizeof path, k->home, ASTRID_DEFAULT_PRINCIPAL, NULL);
    bool existed = stat(path, &st) == 0;
    astrid_profile *p = astrid_profile_load(k->home, ASTRID_DEFAULT_PRINCIPAL, err);
    if (!p)
        return astrid_err_prefix(err, "the default principal's profile does not load");
    int rc = 0;
    if (p->groups.n == 0 && p->grants.n == 0 && p->revokes.n == 0) {
        rc = astrid_strlist_push(&p->groups, "admin", err);
        if (rc == 0)
            rc = astrid_profile_save(k->home, ASTRID_DEFAULT_PRINCIPAL, p, err);
        if (rc == 0 && !existed)
            astrid_klog(k, "INFO", "seeded etc/profiles/default.toml with groups = [\"admin\"]");
        else if (rc == 0)
            astrid_klog(k, "WARN",
                        "etc/profiles/default.toml %s no group, grant or revoke: re-seeded it "
                        "with groups = [\"admin\"] (bootstrap rule, reference 7.2)",
                        st.st_size == 0 ? "was empty, so it named" : "named");
    }
    astrid_profile_release(p);
    return rc;
}

static int load_policy(astrid_kernel *k, astrid_err *err)
{
    char p[PATH_MAX];
    if (astrid_home_groups_file(p, sizeof p, k->home, err) != 0)
        return -1;
    astrid_group_error why;
    astrid_group_config *g = astrid_groups_load(p, &why, err);
    if (!g)
        return -1;
    k->groups = astrid_group_swap_new(g, err);
    if (!k->groups)
        return -1;
    k->profiles = astrid_profile_cache_new(k->home, err);
    return k->profiles ? 0 : -1;
}

/* One line per existing log: whether boot read it from its checkpoint or
 * whole (docs/audit.md "Checkpoint"); tests read it. */
static void log_audit_open(astrid_kernel *k)
{
    const astrid_audit_open_info *in;
    size_t n = astrid_audit_open_report(k->audit, &in);
    for (size_t i = 0; i < n; i++) {
        if (in[i].from_checkpoint)
            astrid_klog(k, "INFO",
                        "audit log of %s: %llu entries; read %llu after its checkpoint at entry "
                        "%llu",
                        in[i].principal, (unsigned long long)in[i].entries,
                        (unsigned long long)in[i].lines_read,
                        (unsigned long long)in[i].checkpoint_entries);
        else
            astrid_klog(k, "INFO", "audit log of %s: %llu entries; read all %llu lines (%s)",
                        in[i].principal, (unsigned long long)in[i].entries,
                        (unsigned long long)in[i].lines_read, in[i].fallback);
    }
}

static void on_audit_notice(void *ctx, const char *principal, const char *msg)
{
    astrid_klog(ctx, "ERROR", "audit log of %s: %s", principal, msg);
}

/* run/system.token.retired: the token file of the last daemon, kept by its
 * shutdown (its token is dead) so this boot can write the new token into
 * space the disk already gave out, then rename it into place: a reader
 * sees the old file, no file, or the whole new token, as with
 * astrid_atomic_write, and a full disk cannot stop the daemon starting. */
static void retired_token_path(const astrid_kernel *k, char *out, size_t n)
{
    snprintf(out, n, "%s.retired", k->token_path);
}

void astrid_kernel_retire_token(astrid_kernel *k)
{
    char old[PATH_MAX];
    retired_token_path(k, old, sizeof old);
    if (rename(k->token_path, old) != 0)
        unlink(k->token_path);
}

static int reuse_token_file(astrid_kernel *k)
{
    char old[PATH_MAX];
    retired_token_path(k, old, sizeof old);
    struct stat st;
    /* a token left by a killed daemon is as dead as a retired one */
    if (lstat(k->token_path, &st) == 0 && S_ISREG(st.st_mode))
        rename(k->token_path, old);
    int fd = open(old, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
             fchmod(fd, 0600) == 0 && pwrite(fd, k->token, 64, 0) == 64 && ftruncate(fd, 64) == 0 &&
             fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(old, k->token_path) != 0) {
        unlink(old);
        return -1;
    }
    char dir[PATH_MAX];
    astrid_home_run_dir(dir, sizeof dir, k->home, NULL);
    return astrid_fsync_dir(dir, NULL);
}

static int write_token(astrid_kernel *k, astrid_err *err)
{
    uint8_t raw[32];
    astrid_random_bytes(raw, sizeof raw);
    astrid_hex_encode(k->token, raw, sizeof raw);
    if (reuse_token_file(k) == 0)
        return 0;
    return astrid_atomic_write(k->token_path, k->token, 64, 0600, err);
}

int astrid_kernel_check_workspace(const char *home, const char *workspace, astrid_err *err)
{
    char h[PATH_MAX], w[PATH_MAX];
    if (!realpath(home, h))
        return astrid_err_sys(err, "ASTRID_HOME %s", home);
    if (!realpath(workspace, w))
        return astrid_err_sys(err, "workspace %s", workspace);
    size_t n = strlen(h);
    if (strncmp(w, h, n) == 0 && (w[n] == '\0' || w[n] == '/'))
        return astrid_err_set(err, ASTRID_E_INVALID,
                              "workspace %s is %s ASTRID_HOME %s: capsules would reach the "
                              "kernel's own state through cwd://; start the daemon from another "
                              "directory or pass --workspace",
                              w, w[n] ? "inside" : "the same directory as", h);
    return 0;
}

int astrid_kernel_boot(astrid_kernel *k, const astrid_kernel_opts *o, astrid_err *err)
{
    memset(k, 0, sizeof *k);
    k->lock_fd = -1;
    pthread_mutex_init(&k->log_lock, NULL);
    pthread_mutex_init(&k->admin_write_lock, NULL);
    k->ephemeral = o->ephemeral;
    k->verbose = o->verbose;
    k->boot_time = time(NULL);
    snprintf(k->session, sizeof k->session, "%s",
             o->session ? o->session : "00000000-0000-0000-0000-000000000000");
    if (o->workspace)
        snprintf(k->workspace, sizeof k->workspace, "%s", o->workspace);
    else if (!getcwd(k->workspace, sizeof k->workspace))
        snprintf(k->workspace, sizeof k->workspace, "/");
    const char *idle = getenv("ASTRID_IDLE_TIMEOUT_SECS");
    if (idle && *idle) {
        char *end;
        unsigned long long v = strtoull(idle, &end, 10);
        if (*end)
            return astrid_err_set(err, ASTRID_E_INVALID,
                                  "ASTRID_IDLE_TIMEOUT_SECS must be a whole number of seconds, "
                                  "got '%s'",
                                  idle);
        k->idle_timeout_ms = v * 1000u;
    } else {
        k->idle_timeout_ms = k->ephemeral ? 30000u : 0u;
    }
    if (astrid_kernel_config_load(k, err) != 0 || astrid_kernel_sandbox_policy(k, err) != 0)
        return -1;
    if (astrid_crypto_init(err) != 0 || astrid_home_resolve(k->home, sizeof k->home, err) != 0 ||
        astrid_home_ensure(k->home, err) != 0)
        return -1;
    if (astrid_home_system_sock(k->sock_path, sizeof k->sock_path, k->home, err) != 0 ||
        astrid_home_agents_sock(k->agents_sock_path, sizeof k->agents_sock_path, k->home, err) !=
            0 ||
        astrid_home_system_token(k->token_path, sizeof k->token_path, k->home, err) != 0 ||
        astrid_home_system_ready(k->ready_path, sizeof k->ready_path, k->home, err) != 0)
        return -1;
    if (strlen(k->sock_path) >= sizeof((struct sockaddr_un *)0)->sun_path ||
        strlen(k->agents_sock_path) >= sizeof((struct sockaddr_un *)0)->sun_path)
        return astrid_err_set(err, ASTRID_E_LIMIT,
                              "socket path %s is too long for a Unix socket (max 107 bytes); "
                              "use a shorter ASTRID_HOME",
                              k->sock_path);
    if (take_lock(k, err) != 0)
        return -1;
    sweep_stale_temps(k);
    unlink(k->ready_path);
    astrid_klog(k, "INFO", "astrid-daemon booting (home %s, %s)", k->home,
                k->ephemeral ? "ephemeral" : "persistent");
    if (astrid_kernel_check_workspace(k->home, k->workspace, err) != 0)
        return -1;
    size_t ov_max;
    if (astrid_overlay_max_from_env(&ov_max, err) != 0 ||
        !(k->overlays = astrid_overlay_registry_new(k->home, k->workspace, ov_max, err)))
        return -1;
    char keyp[PATH_MAX];
    if (astrid_home_runtime_key(keyp, sizeof keyp, k->home, err) != 0)
        return -1;
    bool created = false;
    if (astrid_keypair_load_or_create(&k->key, keyp, &created, err) != 0 ||
        write_pubkey(k, err) != 0)
        return -1;
    if (created)
        astrid_klog(k, "INFO", "generated runtime key %s", keyp);
    char prof[PATH_MAX];
    if (astrid_home_profiles_dir(prof, sizeof prof, k->home, err) != 0 ||
        astrid_mkdir_p(prof, 0700, 1, err) != 0 || load_policy(k, err) != 0 ||
        migrate_legacy_profiles(k, err) != 0 || seed_default_profile(k, err) != 0 ||
        astrid_kernel_trust_start(k, err) != 0 ||
        astrid_principal_home_ensure(k->home, "default", err) != 0)
        return -1;
    k->audit = astrid_audit_open(k->home, &k->key, k->session, on_audit_notice, k, err);
    if (!k->audit)
        return -1;
    log_audit_open(k);
    if (astrid_kernel_sandbox_probe(k, err) != 0)
        return -1;
    char state[PATH_MAX];
    if (astrid_home_state_db(state, sizeof state, k->home, err) != 0 ||
        astrid_kv_open(&k->kv, state, 0, err) != 0 || admin_agent_reconcile(k, err) != 0 ||
        astrid_kernel_storage_start(k, err) != 0 || astrid_gate_start(k, err) != 0)
        return -1;
    /* the pre-turn-cost behaviour (every capsule KV write fully synced),
     * kept for bench/chat_turn.sh's comparison */
    const char *kvsync = getenv("ASTRID_KV_SYNC");
    astrid_kv_set_durable_only(k->kv, kvsync && !strcmp(kvsync, "full"));
    if (clear_stale_socket(k, err) != 0 || write_token(k, err) != 0)
        return -1;
    k->loop = uv_default_loop();
    if (astrid_kernel_bus_start(k, err) != 0 || astrid_capsules_start(k, err) != 0 ||
        astrid_capsule_jobs_start(k, err) != 0 || astrid_fed_start(k, err) != 0 ||
        astrid_fed_policy_start(k, err) != 0 || astrid_server_start(k, err) != 0)
        return -1;
    if (astrid_atomic_write(k->ready_path, "", 0, 0600, err) != 0) {
        /* the rename may have happened before the directory fsync failed:
         * a ready file must not outlive a daemon that never served */
        unlink(k->ready_path);
        return -1;
    }
    astrid_klog(k, "INFO", "listening on %s", k->sock_path);
    return 0;
}
