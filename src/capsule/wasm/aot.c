/* AOT pipeline: wasm2c + the system C compiler, and the verified cache
 * (layout in aot.h). */
#include "capsule/wasm/aot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "astrid/blake3.h"
#include "astrid/fs.h"
#include "capsule/wasm/glue.h"
#include "capsule/wasm/w2c_patch.h"
#include "capsule/wasm/w2c_split.h"

#define MAX_SO_BYTES (1ull << 30)
#define TOOL_LOG_MAX 4096
/* Less C than this per part is not worth another compiler start: at -O2
 * gcc spends ~0.5 s per 256 KiB of wasm2c's C; at -O0 (the daemon's
 * capsules, clang) ~0.2 s, about what starting clang costs, so twice the
 * C. */
#define AOT_MIN_PART_BYTES (256u << 10)
#define AOT_MIN_PART_BYTES_O0 (512u << 10)

typedef struct tool_run {
    const char *const *argv;
    char log[4096];
    pid_t pid; /* 0 not started, >0 running, -1 reaped */
    int slot;  /* compiler slot fd while running, else -1 */
    int st;
} tool_run;

/* Flags fixed by the engine (part of every cache key). -Bsymbolic binds a
 * module's own exports locally even when linked modules share names;
 * -z now resolves every import at dlopen, so an unknown import fails there
 * and no lazy binding runs inside a signal-interruptible guest. */
static const char *const cc_flags[] = {
    "-std=gnu17",         "-fPIC",          "-shared", "-w", "-fno-strict-aliasing", "-Wl,-z,now",
    "-Wl,-z,noexecstack", "-Wl,-Bsymbolic", NULL,
};

void astrid_aot_hash_hex(const void *data, size_t len, char out[ASTRID_AOT_KEY_HEX])
{
    astrid_blake3_hex(data, len, out);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Start argv in `dir` with output to `log`. */
static pid_t spawn_tool(const char *const argv[], const char *dir, const char *log, astrid_err *err)
{
    pid_t pid = fork();
    if (pid < 0)
        return astrid_err_sys(err, "wasm: fork for %s", argv[0]);
    if (pid == 0) {
        /* Only async-signal-safe calls between fork and exec. */
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || chdir(dir) != 0)
            _exit(126);
        dup2(fd, 1);
        dup2(fd, 2);
        struct rlimit as = {8ull << 30, 8ull << 30};
        setrlimit(RLIMIT_AS, &as);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* A compiler slot: an flock on <cache>/tmp/slot-K, K < tc->jobs, held by
 * the parent for as long as its tool runs. Every process compiling into the
 * same cache (the daemon's install jobs, offline CLI installs) shares them,
 * so however many installs run at once, at most `jobs` tools compete for
 * the cores (and for memory: cc on a large module takes hundreds of MiB).
 * Returns an fd (close releases), -1 when all are taken, -2 on error. */
static int slot_try(const astrid_aot_toolchain *tc, astrid_err *err)
{
    for (int k = 0; k < tc->jobs; k++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/tmp/slot-%d", tc->cache_dir, k);
        /* CLOEXEC: a tool that inherited it would hold the slot past its
         * parent's close */
        int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
            astrid_err_sys(err, "wasm: compiler slot %s", p);
            return -2;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return fd;
        close(fd);
    }
    return -1;
}

/* Run the tools of `runs`, at most tc->jobs at once and each holding a
 * compiler slot (tc NULL: one at a time, no slot), all within one deadline
 * of timeout_ms; every one is killed when the deadline passes or a start
 * fails. Returns 0 when all ran (their statuses in runs[i].st). */
static int run_tools(tool_run *runs, size_t n, const astrid_aot_toolchain *tc, const char *dir,
                     uint64_t timeout_ms, astrid_err *err)
{
    size_t next = 0, live = 0, done = 0, jobs = tc && tc->jobs > 0 ? (size_t)tc->jobs : 1;
    uint64_t end = now_ms() + timeout_ms;
    int rc = 0;
    for (size_t i = 0; i < n; i++)
        runs[i].pid = 0, runs[i].slot = -1;
    while (done < n) {
        while (rc == 0 && next < n && live < jobs) {
            int slot = -1;
            if (tc && (slot = slot_try(tc, err)) < 0) {
                if (slot == -2)
                    rc = -1;
                break; /* every slot busy: wait for one */
            }
            runs[next].slot = slot;
            runs[next].pid = spawn_tool(runs[next].argv, dir, runs[next].log, err);
            if (runs[next].pid < 0) {
                runs[next].pid = 0;
                rc = -1;
                break;
            }
            next++, live++;
        }
        bool reaped = false;
        for (size_t i = 0; i < next; i++) {
            if (runs[i].pid <= 0)
                continue;
            pid_t r = waitpid(runs[i].pid, &runs[i].st, WNOHANG);
            if (r == runs[i].pid) {
                runs[i].pid = -1;
                live--, done++, reaped = true;
                if (runs[i].slot >= 0)
                    close(runs[i].slot);
                runs[i].slot = -1;
            } else if (r < 0 && errno != EINTR && rc == 0) {
                rc = astrid_err_sys(err, "wasm: waiting for %s", runs[i].argv[0]);
            }
        }
        if (rc == 0 && now_ms() > end && next < n && live == 0)
            rc = astrid_err_set(err, ASTRID_E_LIMIT,
                                "wasm: no compiler slot free for %llu ms (other compiles into "
                                "this cache hold all %zu)",
                                (unsigned long long)timeout_ms, jobs);
        else if (rc == 0 && now_ms() > end)
            rc = astrid_err_set(err, ASTRID_E_LIMIT, "wasm: %s timed out after %llu ms",
                                runs[0].argv[0], (unsigned long long)timeout_ms);
        if (rc < 0) {
            /* kill and reap whatever still runs, then report */
            for (size_t i = 0; i < n; i++) {
                if (runs[i].pid > 0) {
                    kill(runs[i].pid, SIGKILL);
                    while (waitpid(runs[i].pid, &runs[i].st, 0) < 0 && errno == EINTR) {
                    }
                    runs[i].pid = -1;
                }
                if (runs[i].slot >= 0)
                    close(runs[i].slot);
                runs[i].slot = -1;
            }
            return -1;
        }
        if (!reaped && done < n) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    return rc;
}

/* Run argv in `dir` with output to `log`, holding a compiler slot when tc
 * is given; kill it after timeout_ms. */
static int run_tool(const char *const argv[], const astrid_aot_toolchain *tc, const char *dir,
                    const char *log, uint64_t timeout_ms, int *status, astrid_err *err)
{
    tool_run r = {.argv = argv};
    snprintf(r.log, sizeof r.log, "%s", log);
    int rc = run_tools(&r, 1, tc, dir, timeout_ms, err);
    *status = r.st;
    return rc;
}

static void read_log(const char *log, char *out, size_t outsz)
{
    out[0] = 0;
    FILE *f = fopen(log, "r");
    if (!f)
        return;
    size_t n = fread(out, 1, outsz - 1, f);
    fclose(f);
    out[n] = 0;
    for (size_t i = 0; i < n; i++)
        if (out[i] == '\n' && i + 1 < n)
            out[i] = ' ';
    if (n && out[n - 1] == '\n')
        out[n - 1] = 0;
}

/* The version line goes to an anonymous memory file, not the cache's disk:
 * the probe runs at every boot, and a daemon must still boot (and serve
 * reads) on a full disk, where clang exits 1 when it cannot write its
 * --version. Not close-on-exec so the child reopens it as its own
 * /proc/self/fd/N (no access to the parent's /proc entry needed). */
static int first_line(const char *const argv[], const char *dir, char *out, size_t outsz,
                      astrid_err *err)
{
    int mfd = memfd_create("astrid-aot-version", 0);
    if (mfd < 0)
        return astrid_err_sys(err, "wasm: memfd for %s --version", argv[0]);
    char log[64];
    snprintf(log, sizeof log, "/proc/self/fd/%d", mfd);
    int st = 0;
    if (run_tool(argv, NULL, dir, log, 30000, &st, err) < 0) {
        close(mfd);
        return -1;
    }
    char buf[1024];
    ssize_t n = pread(mfd, buf, sizeof buf - 1, 0);
    close(mfd);
    buf[n > 0 ? n : 0] = 0;
    for (ssize_t i = 0; i + 1 < n; i++)
        if (buf[i] == '\n')
            buf[i] = ' ';
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return astrid_err_set(err, ASTRID_E_NOTFOUND, "wasm: cannot run %s: %s", argv[0], buf);
    buf[strcspn(buf, "\n")] = 0;
    snprintf(out, outsz, "%s", buf);
    return 0;
}

int astrid_aot_probe(astrid_aot_toolchain *tc, astrid_err *err)
{
    char tmp[4096], ccv[256], w2v[128];
    snprintf(tmp, sizeof tmp, "%s/tmp", tc->cache_dir);
    if (astrid_mkdir_p(tmp, 0700, 0, err) < 0)
        return -1;
    const char *cc_argv[] = {tc->cc, "--version", NULL};
    const char *w2_argv[] = {tc->wasm2c, "--version", NULL};
    if (first_line(cc_argv, tmp, ccv, sizeof ccv, err) < 0 ||
        first_line(w2_argv, tmp, w2v, sizeof w2v, err) < 0)
        return -1;
    int n = snprintf(tc->identity, sizeof tc->identity, "cc=%s|%s|wasm2c=%s|%s|-O%d", tc->cc, ccv,
                     tc->wasm2c, w2v, tc->opt_level);
    for (int i = 0; cc_flags[i] && n > 0 && (size_t)n < sizeof tc->identity; i++)
        n += snprintf(tc->identity + n, sizeof tc->identity - (size_t)n, " %s", cc_flags[i]);
    return 0;
}

void astrid_aot_key(const astrid_aot_toolchain *tc, const uint8_t *wasm, size_t len,
                    const char *link_name, char key[ASTRID_AOT_KEY_HEX])
{
    char wasm_hash[ASTRID_AOT_KEY_HEX];
    astrid_aot_hash_hex(wasm, len, wasm_hash);
    char buf[2048];
    int n = snprintf(buf, sizeof buf, "astrid-aot %d\nwasm %s\nname %s\ntoolchain %s\n",
                     ASTRID_AOT_ABI, wasm_hash, link_name, tc->identity);
    astrid_aot_hash_hex(buf, n < 0 ? 0 : (size_t)n, key);
}

static void entry_path(char *out, size_t sz, const astrid_aot_toolchain *tc, const char *key,
                       const char *ext)
{
    snprintf(out, sz, "%s/%s.%s", tc->cache_dir, key, ext);
}

int astrid_aot_cache_open(const astrid_aot_toolchain *tc, const char *key)
{
    char meta[4096], so[4096];
    entry_path(meta, sizeof meta, tc, key, "meta");
    entry_path(so, sizeof so, tc, key, "so");
    char *text = NULL;
    size_t len;
    if (astrid_read_file(meta, 4096, &text, &len, NULL) < 0)
        return -1;
    char want_key[ASTRID_AOT_KEY_HEX] = "", want_so[ASTRID_AOT_KEY_HEX] = "";
    int ok = sscanf(text, "astrid-aot 1\nkey %64s\nso %64s", want_key, want_so) == 2 &&
             strcmp(want_key, key) == 0;
    free(text);
    int fd = ok ? open(so, O_RDONLY | O_CLOEXEC) : -1;
    if (fd >= 0) {
        struct stat st;
        uint8_t *buf = NULL;
        ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size <= MAX_SO_BYTES &&
             (buf = malloc(st.st_size ? (size_t)st.st_size : 1)) != NULL;
        size_t got = 0;
        while (ok && got < (size_t)st.st_size) {
            ssize_t r = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
            if (r <= 0)
                ok = 0;
            else
                got += (size_t)r;
        }
        if (ok) {
            char have[ASTRID_AOT_KEY_HEX];
            astrid_aot_hash_hex(buf, got, have);
            ok = strcmp(have, want_so) == 0;
        }
        free(buf);
    }
    if (!ok) {
        if (fd >= 0)
            close(fd);
        /* Corrupt or mismatched: drop it so the rebuild replaces it. */
        unlink(meta);
        unlink(so);
        return -1;
    }
    return fd;
}

static void rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char p[4096];
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

static int tool_failed(const char *what, const char *log, int st, astrid_errcode code,
                       astrid_err *err)
{
    char out[TOOL_LOG_MAX];
    read_log(log, out, sizeof out);
    if (out[0] == 0 && WIFSIGNALED(st))
        snprintf(out, sizeof out, "killed by signal %d", WTERMSIG(st));
    if (WIFEXITED(st) && WEXITSTATUS(st) == 127 && out[0] == 0)
        snprintf(out, sizeof out, "not found");
    if (strlen(out) > 400)
        memcpy(out + 396, "...", 4);
    return astrid_err_set(err, code, "wasm: %s failed: %s", what, out);
}

/* cc the unit(s) into module.so: one run for an unsplit module; otherwise
 * every part to objects in parallel (the glue in the same run as the last
 * part: one compiler start less), then one link. The flags are the same in
 * every run (they are the key's). */
static int compile_parts(const astrid_aot_toolchain *tc, const char *work, const char *log,
                         size_t parts, astrid_err *err)
{
    char opt[8];
    snprintf(opt, sizeof opt, "-O%d", tc->opt_level);
    size_t nflags = 0;
    while (cc_flags[nflags])
        nflags++;
    size_t nruns = parts > 1 ? parts + 1 : 1, width = nflags + 8;
    const char **argvs = calloc(nruns * width, sizeof *argvs);
    char(*names)[2][32] = calloc(parts + 1, sizeof *names);
    tool_run *runs = calloc(nruns, sizeof *runs);
    int rc = -1, st = 0;
    if (!argvs || !names || !runs) {
        astrid_err_set(err, ASTRID_E_NOMEM, "wasm: out of memory");
        goto out;
    }
    for (size_t r = 0; r < nruns; r++) {
        const char **a = argvs + r * width;
        int n = 0;
        a[n++] = tc->cc;
        a[n++] = opt;
        for (size_t i = 0; i < nflags; i++)
            a[n++] = cc_flags[i];
        bool link = r + 1 == nruns;
        if (link) {
            a[n++] = "-o";
            a[n++] = "module.so";
        }
        if (parts == 1) {
            a[n++] = "module.c";
            a[n++] = "glue.c";
        } else if (link) {
            /* the objects are named below; room for them is made here */
            const char **all = calloc(width + parts + 2, sizeof *all);
            if (!all) {
                astrid_err_set(err, ASTRID_E_NOMEM, "wasm: out of memory");
                goto out;
            }
            memcpy(all, a, (size_t)n * sizeof *a);
            for (size_t k = 0; k <= parts; k++)
                all[n++] = names[k][1];
            all[n++] = "-lm";
            all[n] = NULL;
            runs[r].argv = all;
            continue;
        } else {
            /* part r (sources named names[r][0], objects names[r][1]; the
             * glue is names[parts]) */
            snprintf(names[r][0], sizeof names[r][0], "module_%zu.c", r);
            snprintf(names[r][1], sizeof names[r][1], "module_%zu.o", r);
            a[n++] = "-c";
            a[n++] = names[r][0];
            if (r + 1 == parts) {
                /* two sources: each object named after its source */
                snprintf(names[parts][0], sizeof names[parts][0], "glue.c");
                snprintf(names[parts][1], sizeof names[parts][1], "glue.o");
                a[n++] = names[parts][0];
            } else {
                a[n++] = "-o";
                a[n++] = names[r][1];
            }
        }
        if (link)
            a[n++] = "-lm";
        a[n] = NULL;
        runs[r].argv = a;
    }
    for (size_t r = 0; r < nruns; r++)
        snprintf(runs[r].log, sizeof runs[r].log, "%s/cc-%zu.log", work, r);
    /* the objects in parallel, then the link alone */
    size_t nobj = nruns - 1;
    if (nobj && run_tools(runs, nobj, tc, work, tc->timeout_ms, err) < 0)
        goto out;
    for (size_t r = 0; r < nobj; r++)
        if (!WIFEXITED(runs[r].st) || WEXITSTATUS(runs[r].st) != 0) {
            tool_failed("C compilation", runs[r].log, runs[r].st, ASTRID_E_INTERNAL, err);
            goto out;
        }
    if (run_tool(runs[nruns - 1].argv, tc, work, log, tc->timeout_ms, &st, err) < 0)
        goto out;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        tool_failed(parts > 1 ? "linking" : "C compilation", log, st, ASTRID_E_INTERNAL, err);
        goto out;
    }
    rc = 0;
out:
    if (runs && parts > 1 && runs[nruns - 1].argv)
        free((void *)runs[nruns - 1].argv);
    free(runs);
    free(names);
    free(argvs);
    return rc;
}

int astrid_aot_compile(const astrid_aot_toolchain *tc, const uint8_t *wasm, size_t len,
                       const astrid_wasm_info *info, const char *link_name, const char *key,
                       astrid_wasm_progress_fn progress, void *progress_user, astrid_err *err)
{
    char work[4096], p[4096], log[4096];
    snprintf(work, sizeof work, "%s/tmp/build-XXXXXX", tc->cache_dir);
    if (!mkdtemp(work))
        return astrid_err_sys(err, "wasm: creating %s", work);
    snprintf(log, sizeof log, "%s/tool.log", work);
    int rc = -1, st = 0;
    const char **mods = NULL;
    size_t nmods = 0;

    snprintf(p, sizeof p, "%s/module.wasm", work);
    if (astrid_atomic_write(p, wasm, len, 0600, err) < 0)
        goto out;
    if (progress)
        progress(progress_user, ASTRID_WASM_STAGE_TRANSLATE, "wasm2c");
    const char *w2c_argv[] = {tc->wasm2c, "--no-debug-names", "-n", link_name, "module.wasm",
                              "-o",       "module.c",         NULL};
    if (run_tool(w2c_argv, tc, work, log, tc->timeout_ms, &st, err) < 0)
        goto out;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        tool_failed("validation (wasm2c)", log, st, ASTRID_E_INVALID, err);
        goto out;
    }
    snprintf(p, sizeof p, "%s/module.c", work);
    if (astrid_w2c_patch(p, err) < 0)
        goto out;
    mods = astrid_wasm_import_modules(info, &nmods);
    if (!mods) {
        astrid_err_set(err, ASTRID_E_NOMEM, "wasm: out of memory");
        goto out;
    }
    snprintf(p, sizeof p, "%s/glue.c", work);
    if (astrid_glue_write(p, "module.h", info, link_name, mods, nmods, err) < 0)
        goto out;
    int parts = astrid_w2c_split(work, tc->parts ? tc->parts : tc->jobs,
                                 tc->parts            ? 0
                                 : tc->opt_level == 0 ? AOT_MIN_PART_BYTES_O0
                                                      : AOT_MIN_PART_BYTES,
                                 err);
    if (parts < 0)
        goto out;
    if (progress) {
        char what[300];
        if (parts > 1)
            snprintf(what, sizeof what, "%s in %d parts", tc->cc, parts);
        progress(progress_user, ASTRID_WASM_STAGE_COMPILE, parts > 1 ? what : tc->cc);
    }
    if (compile_parts(tc, work, log, (size_t)parts, err) < 0)
        goto out;
    snprintf(p, sizeof p, "%s/module.so", work);
    char *so = NULL;
    size_t solen;
    if (astrid_read_file(p, MAX_SO_BYTES, &so, &solen, err) < 0)
        goto out;
    char so_hash[ASTRID_AOT_KEY_HEX], dst[4096], meta[512];
    astrid_aot_hash_hex(so, solen, so_hash);
    entry_path(dst, sizeof dst, tc, key, "so");
    int w = astrid_atomic_write(dst, so, solen, 0600, err);
    free(so);
    if (w < 0)
        goto out;
    int ml = snprintf(meta, sizeof meta, "astrid-aot 1\nkey %s\nso %s\n", key, so_hash);
    entry_path(dst, sizeof dst, tc, key, "meta");
    if (astrid_atomic_write(dst, meta, (size_t)ml, 0600, err) < 0)
        goto out;
    if (progress)
        progress(progress_user, ASTRID_WASM_STAGE_CACHED, key);
    rc = 0;
out:
    free((void *)mods);
    rm_tree(work);
    return rc;
}
