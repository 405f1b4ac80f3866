/* `astrid doctor [--no-daemon]`: read-only health checks. Never creates
 * anything, so it can diagnose a home that does not exist yet. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "astrid/home.h"
#include "astrid/sandbox_probe.h"
#include "astrid/toml.h"
#include "cli/cli_stub.h"
#include "cli/context.h"
#include "cli/daemon.h"

typedef struct doc {
    cli_ctx *ctx;
    int failed;
} doc;

static void check(doc *d, bool ok, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void check(doc *d, bool ok, const char *what, const char *fmt, ...)
{
    char why[PATH_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    fprintf(d->ctx->out, "%s %s: %s\n", ok ? "\u2713" : "\u2717", what, why);
    if (!ok)
        d->failed++;
}

static void check_layout(doc *d, const char *home)
{
    static const struct {
        const char *name;
        int (*path)(char *, size_t, const char *, astrid_err *);
    } dirs[] = {{"etc", astrid_home_etc_dir},   {"var", astrid_home_var_dir},
                {"run", astrid_home_run_dir},   {"log", astrid_home_log_dir},
                {"keys", astrid_home_keys_dir}, {"bin", astrid_home_bin_dir},
                {"wit", astrid_home_wit_dir},   {"home", astrid_home_homes_dir}};
    char p[PATH_MAX], bad[512] = "";
    struct stat st;
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        dirs[i].path(p, sizeof p, home, NULL);
        const char *why = NULL;
        if (stat(p, &st) < 0)
            why = "missing";
        else if (!S_ISDIR(st.st_mode))
            why = "not a directory";
        else if ((st.st_mode & 07777) != 0700)
            why = "mode is not 0700";
        if (why) {
            size_t n = strlen(bad);
            snprintf(bad + n, sizeof bad - n, "%s%s/ %s", n ? ", " : "", dirs[i].name, why);
        }
    }
    check(d, !bad[0], "layout", "%s", bad[0] ? bad : "all directories present, 0700");
}

static void check_key(doc *d, const char *home)
{
    char p[PATH_MAX];
    struct stat st;
    astrid_home_runtime_key(p, sizeof p, home, NULL);
    if (stat(p, &st) < 0)
        check(d, false, "runtime key", "%s: %s (the daemon creates it on first boot)", p,
              strerror(errno));
    else if (!S_ISREG(st.st_mode) || (st.st_mode & 0777) != 0600)
        check(d, false, "runtime key", "%s: must be a regular file with mode 0600", p);
    else if (st.st_size != 32)
        check(d, false, "runtime key", "%s: %lld bytes, expected a 32-byte ed25519 seed", p,
              (long long)st.st_size);
    else
        check(d, true, "runtime key", "%s (0600, 32 bytes)", p);
}

static bool toml_ok(const char *path, char *why, size_t n)
{
    astrid_err err;
    astrid_toml *t = astrid_toml_parse_file(path, &err, NULL);
    if (!t) {
        snprintf(why, n, "%s", err.msg);
        return false;
    }
    astrid_toml_free(t);
    return true;
}

static void check_profiles(doc *d, const char *home)
{
    char dir[PATH_MAX], p[PATH_MAX + 256], why[ASTRID_ERR_MSG_MAX];
    int n = 0, bad = 0;
    astrid_home_profiles_dir(dir, sizeof dir, home, NULL);
    DIR *dh = opendir(dir);
    if (!dh) {
        check(d, errno == ENOENT, "profiles", errno == ENOENT ? "none yet (%s)" : "%s: cannot read",
              dir);
        return;
    }
    struct dirent *e;
    while ((e = readdir(dh))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".toml") != 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        n++;
        if (!toml_ok(p, why, sizeof why)) {
            check(d, false, "profile", "%s: %s", p, why);
            bad++;
        }
    }
    closedir(dh);
    if (!bad)
        check(d, true, "profiles", "%d parse", n);
}

static void check_groups(doc *d, const char *home)
{
    char p[PATH_MAX], why[ASTRID_ERR_MSG_MAX];
    astrid_home_groups_file(p, sizeof p, home, NULL);
    if (access(p, F_OK) < 0)
        check(d, true, "groups.toml", "absent (built-in groups only)");
    else if (!toml_ok(p, why, sizeof why))
        check(d, false, "groups.toml", "%s", why);
    else
        check(d, true, "groups.toml", "parses");
}

static bool on_path(const char *prog, char *found, size_t n)
{
    const char *path = getenv("PATH");
    if (!path)
        return false;
    for (const char *s = path; *s;) {
        const char *e = strchr(s, ':');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        snprintf(found, n, "%.*s/%s", (int)len, s, prog);
        if (len && access(found, X_OK) == 0)
            return true;
        s += len + (e ? 1 : 0);
    }
    return false;
}

static void check_tools(doc *d)
{
    static const char *const tools[][2] = {{"wasm2c", "compiles capsules ahead of time"},
                                           {"cc", "compiles wasm2c output"}};
    char found[PATH_MAX];
    for (size_t i = 0; i < 2; i++) {
        bool ok = on_path(tools[i][0], found, sizeof found);
        check(d, ok, tools[i][0], ok ? "%s" : "not found on PATH (%s)", ok ? found : tools[i][1]);
    }
}

/* The sandbox as this shell's environment would run it: the daemon's
 * probe (astrid/sandbox_probe.h) and ASTRID_SANDBOX_POLICY. Only "usable
 * and required" passes: under policy off native subprocesses run
 * unsandboxed, which doctor does not call healthy. */
static void check_sandbox(doc *d)
{
    astrid_sandbox_policy pol;
    astrid_err err;
    if (astrid_sandbox_policy_parse(getenv("ASTRID_SANDBOX_POLICY"), &pol, &err) < 0) {
        check(d, false, "sandbox", "%s (the daemon refuses to boot)", err.msg);
        return;
    }
    astrid_sandbox_probe p;
    astrid_sandbox_probe_run(&p);
    bool ok = astrid_sandbox_usable(&p);
    if (pol == ASTRID_SANDBOX_OFF)
        check(d, false, "sandbox",
              "ASTRID_SANDBOX_POLICY=off: native subprocesses run UNSANDBOXED (%s)",
              ok ? "the sandbox itself would work" : p.reason);
    else if (ok)
        check(d, true, "sandbox", "bwrap %s, namespaces and seccomp usable; policy required",
              p.bwrap_path);
    else
        check(d, false, "sandbox",
              "%s; native subprocess capsules will be refused (run `astrid setup`)", p.reason);
}

static void check_daemon(doc *d, const char *home)
{
    astrid_client *c = NULL;
    astrid_err err;
    json_t *st = NULL;
    char sock[PATH_MAX];
    astrid_home_system_sock(sock, sizeof sock, home, NULL);
    if (!astrid_client_daemon_running(home)) {
        check(d, false, "daemon", "not running (no answer on %s)", sock);
        return;
    }
    check(d, true, "socket", "%s answers", sock);
    astrid_call get_status = {.suffix = "status", .method = "GetStatus", .want_status = "status"};
    if (cli_connect(&c, &err) < 0 || astrid_client_call(c, &get_status, &st, &err) < 0)
        check(d, false, "GetStatus", "%s", err.msg);
    else
        check(d, true, "GetStatus", "daemon %s, pid %lld",
              json_string_value(json_object_get(st, "version")) ?: "?",
              (long long)json_integer_value(json_object_get(st, "pid")));
    json_decref(st);
    astrid_client_close(c);
}

static int do_doctor(cli_ctx *ctx)
{
    doc d = {ctx, 0};
    char home[PATH_MAX];
    astrid_err err;
    struct stat st;
    if (cli_home(home, sizeof home, &err) < 0) {
        check(&d, false, "ASTRID_HOME", "%s", err.msg);
    } else if (stat(home, &st) < 0 || !S_ISDIR(st.st_mode)) {
        check(&d, false, "ASTRID_HOME", "%s does not exist (run 'astrid start' to create it)",
              home);
        check_tools(&d);
        check_sandbox(&d);
    } else {
        check(&d, (st.st_mode & 07777) == 0700, "ASTRID_HOME",
              (st.st_mode & 07777) == 0700 ? "%s" : "%s: mode is not 0700", home);
        check_layout(&d, home);
        check_key(&d, home);
        check_profiles(&d, home);
        check_groups(&d, home);
        check_tools(&d);
        check_sandbox(&d);
        if (!cli_flag_count(ctx, "no-daemon"))
            check_daemon(&d, home);
    }
    if (d.failed)
        fprintf(ctx->out, "%d check%s failed\n", d.failed, d.failed > 1 ? "s" : "");
    return d.failed ? CLI_ERROR : CLI_OK;
}

const cli_cmd cli_cmd_doctor = {
    .name = "doctor",
    .max_args = 0,
    .help = "Check the installation",
    .flags =
        CLI_FLAGS({"no-daemon", 0, NULL, "Skip the socket and GetStatus checks", false, false}),
    .fn = do_doctor};
