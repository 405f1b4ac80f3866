/* AOT pipeline: wasm2c + the system C compiler, and the verified cache
 * (layout in aot.h). */
#include "capsule/wasm/aot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "astrid/blake3.h"
#include "astrid/fs.h"
#include "capsule/wasm/glue.h"
#include "capsule/wasm/w2c_patch.h"

#define MAX_SO_BYTES (1ull << 30)
#define TOOL_LOG_MAX 4096

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

/* Run argv in `dir` with output to `log`; kill it after timeout_ms. */
static int run_tool(const char *const argv[], const char *dir, const char *log, uint64_t timeout_ms,
                    int *status, astrid_err *err)
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
    uint64_t end = now_ms() + timeout_ms;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return 0;
        if (r < 0 && errno != EINTR)
            return astrid_err_sys(err, "wasm: waiting for %s", argv[0]);
        if (now_ms() > end) {
            kill(pid, SIGKILL);
            while (waitpid(pid, status, 0) < 0 && errno == EINTR) {
            }
            return astrid_err_set(err, ASTRID_E_LIMIT, "wasm: %s timed out after %llu ms", argv[0],
                                  (unsigned long long)timeout_ms);
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
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

static int first_line(const char *const argv[], const char *dir, char *out, size_t outsz,
                      astrid_err *err)
{
    char log[4096];
    snprintf(log, sizeof log, "%s/version.log", dir);
    int st = 0;
    if (run_tool(argv, dir, log, 30000, &st, err) < 0)
        return -1;
    char buf[1024];
    read_log(log, buf, sizeof buf);
    unlink(log);
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
    if (run_tool(w2c_argv, work, log, tc->timeout_ms, &st, err) < 0)
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
    if (progress)
        progress(progress_user, ASTRID_WASM_STAGE_COMPILE, tc->cc);
    char opt[8];
    snprintf(opt, sizeof opt, "-O%d", tc->opt_level);
    const char *cc_argv[32];
    int n = 0;
    cc_argv[n++] = tc->cc;
    cc_argv[n++] = opt;
    for (int i = 0; cc_flags[i]; i++)
        cc_argv[n++] = cc_flags[i];
    const char *tail[] = {"-o", "module.so", "module.c", "glue.c", "-lm", NULL};
    for (int i = 0; tail[i]; i++)
        cc_argv[n++] = tail[i];
    cc_argv[n] = NULL;
    if (run_tool(cc_argv, work, log, tc->timeout_ms, &st, err) < 0)
        goto out;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        tool_failed("C compilation", log, st, ASTRID_E_INTERNAL, err);
        goto out;
    }
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
