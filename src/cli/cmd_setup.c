/* `astrid setup [--print-apparmor] [--apply]` (reference §13.4): diagnose
 * the native subprocess sandbox's prerequisites with the same probe the
 * daemon runs at boot (astrid/sandbox_probe.h), print the exact commands
 * that fix what fails, and with --apply run them (through sudo unless we
 * are root). --print-apparmor prints the bundled profile alone, for
 * packagers. Exit 0 when the sandbox works (before or after --apply), 1
 * when it still does not. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "astrid/sandbox_probe.h"
#include "cli/cli_stub.h"
#include "cli/setup.h"

extern char **environ;

/* dist/apparmor/astrid, byte for byte (tests/integration/sandbox_setup.sh
 * compares them). */
static const char apparmor_profile[] =
    "# AppArmor profile for Astrid (installed by `astrid setup --apply` as\n"
    "# /etc/apparmor.d/astrid). Its only addition is `userns,`: on hosts with\n"
    "# kernel.apparmor_restrict_unprivileged_userns=1 (Ubuntu 23.10+) it lets the\n"
    "# astrid binaries and the bubblewrap they start create the user namespace\n"
    "# the native subprocess sandbox needs, without switching the restriction\n"
    "# off for every other program. flags=(unconfined): nothing else is confined.\n"
    "abi <abi/4.0>,\n"
    "include <tunables/global>\n"
    "\n"
    "profile astrid /usr/{,local/}bin/astrid{,-daemon} flags=(unconfined) {\n"
    "  userns,\n"
    "}\n";

#define APPARMOR_DEST "/etc/apparmor.d/astrid"

/* -1 absent/unreadable, else the integer in the file. */
static long read_sysctl(const char *path)
{
    char buf[32] = "";
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    long v = fgets(buf, sizeof buf, f) ? strtol(buf, NULL, 10) : -1;
    fclose(f);
    return v;
}

/* 1 loaded, 0 not loaded, -1 cannot tell (securityfs unreadable). */
static int profile_loaded(void)
{
    FILE *f = fopen("/sys/kernel/security/apparmor/profiles", "re");
    if (!f)
        return -1;
    char line[512];
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strncmp(line, "astrid ", 7) == 0;
    fclose(f);
    return found;
}

/* The package manager line for bubblewrap, from /etc/os-release ID and
 * ID_LIKE (upstream's list). */
static const char *bwrap_install_cmd(void)
{
    static const char *const by_id[][2] = {
        {"debian", "apt-get install -y bubblewrap"},  {"ubuntu", "apt-get install -y bubblewrap"},
        {"fedora", "dnf install -y bubblewrap"},      {"rhel", "dnf install -y bubblewrap"},
        {"arch", "pacman -S --noconfirm bubblewrap"}, {"alpine", "apk add bubblewrap"},
        {"suse", "zypper install -y bubblewrap"},     {"opensuse", "zypper install -y bubblewrap"},
        {"void", "xbps-install -y bubblewrap"},       {"nixos", "nix-env -iA nixpkgs.bubblewrap"},
    };
    char line[256], ids[512] = " ";
    FILE *f = fopen("/etc/os-release", "re");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "ID=", 3) || !strncmp(line, "ID_LIKE=", 8)) {
            size_t n = strlen(ids);
            snprintf(ids + n, sizeof ids - n, "%s ", strchr(line, '=') + 1);
        }
    if (f)
        fclose(f);
    for (char *p = ids; *p; p++)
        if (*p == '"' || *p == '\n')
            *p = ' ';
    for (size_t i = 0; i < sizeof by_id / sizeof *by_id; i++) {
        char word[40];
        snprintf(word, sizeof word, " %s ", by_id[i][0]);
        if (strstr(ids, word))
            return by_id[i][1];
    }
    return NULL;
}

static int run(cli_ctx *ctx, bool root, const char *cmd)
{
    fprintf(ctx->out, "+ %s%s\n", root ? "" : "sudo ", cmd);
    fflush(ctx->out);
    char buf[256];
    snprintf(buf, sizeof buf, "%s", cmd);
    char *argv[16];
    int n = 0;
    if (!root)
        argv[n++] = "sudo";
    for (char *save, *t = strtok_r(buf, " ", &save); t && n < 15; t = strtok_r(NULL, " ", &save))
        argv[n++] = t;
    argv[n] = NULL;
    pid_t pid;
    int st;
    int rc = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
    if (rc != 0) {
        fprintf(ctx->err, "astrid: cannot run %s: %s\n", argv[0], strerror(rc));
        return -1;
    }
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(ctx->err, "astrid: `%s` failed (exit %d)\n", cmd,
                WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
        return -1;
    }
    return 0;
}

static int apply_apparmor(cli_ctx *ctx, bool root)
{
    /* A private temp file (mkstemp, 0600) holds the profile until it is
     * installed: nobody can swap its contents between write and install. */
    const char *td = getenv("TMPDIR");
    char tmp[256], cmd[512];
    snprintf(tmp, sizeof tmp, "%s/astrid-apparmor.XXXXXX", td && td[0] == '/' ? td : "/tmp");
    int fd = mkstemp(tmp);
    if (fd < 0) {
        fprintf(ctx->err, "astrid: mkstemp %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    ssize_t w = write(fd, apparmor_profile, sizeof apparmor_profile - 1);
    close(fd);
    int rc = -1;
    if (w != (ssize_t)(sizeof apparmor_profile - 1)) {
        fprintf(ctx->err, "astrid: writing %s failed\n", tmp);
    } else {
        snprintf(cmd, sizeof cmd, "install -m 644 %s " APPARMOR_DEST, tmp);
        rc = run(ctx, root, cmd) == 0 && run(ctx, root, "apparmor_parser -r " APPARMOR_DEST) == 0
                 ? 0
                 : -1;
    }
    unlink(tmp);
    return rc;
}

size_t cli_setup_plan(const cli_setup_facts *f, cli_setup_step steps[CLI_SETUP_MAX_STEPS])
{
    size_t n = 0;
    if (!f->probe.bwrap_found) {
        const char *inst = bwrap_install_cmd();
        steps[n].say = "install bubblewrap";
        steps[n].apparmor = false;
        snprintf(steps[n++].cmd, sizeof steps[0].cmd, "%s",
                 inst ? inst : "<your package manager> install bubblewrap");
    } else if (!f->probe.userns_ok) {
        if (f->max_user_namespaces == 0) {
            steps[n].say = "allow user namespaces (user.max_user_namespaces is 0)";
            steps[n].apparmor = false;
            snprintf(steps[n++].cmd, sizeof steps[0].cmd,
                     "sysctl -w user.max_user_namespaces=15000");
        }
        if (f->unprivileged_userns_clone == 0) {
            steps[n].say = "allow unprivileged user namespaces (Debian switch)";
            steps[n].apparmor = false;
            snprintf(steps[n++].cmd, sizeof steps[0].cmd,
                     "sysctl -w kernel.unprivileged_userns_clone=1");
        }
        if (f->apparmor_restricts == 1 && f->profile_loaded != 1) {
            steps[n].say = "install the narrow AppArmor profile (only adds `userns,`)";
            steps[n].apparmor = true;
            snprintf(steps[n++].cmd, sizeof steps[0].cmd, "apparmor_parser -r " APPARMOR_DEST);
        }
    }
    return n;
}

void cli_setup_print_fix(FILE *out, const cli_setup_facts *f, const cli_setup_step *steps, size_t n)
{
    const char *sudo = f->root ? "" : "sudo ";
    fprintf(out, "\nTo fix:\n");
    for (size_t i = 0; i < n; i++) {
        fprintf(out, "  # %s\n", steps[i].say);
        if (steps[i].apparmor)
            fprintf(out,
                    "  TMPFILE=$(mktemp)\n"
                    "  astrid setup --print-apparmor > \"$TMPFILE\"\n"
                    "  %sinstall -m 644 \"$TMPFILE\" " APPARMOR_DEST "\n"
                    "  %sapparmor_parser -r " APPARMOR_DEST "\n"
                    "  %saa-status | grep astrid\n"
                    "  # (or, host-wide: %ssysctl -w "
                    "kernel.apparmor_restrict_unprivileged_userns=0)\n",
                    sudo, sudo, sudo, sudo);
        else
            fprintf(out, "  %s%s\n", sudo, steps[i].cmd);
    }
}

static void report(cli_ctx *ctx, const astrid_sandbox_probe *p, long restrict_, int loaded)
{
    struct utsname u;
    const char *pol = getenv("ASTRID_SANDBOX_POLICY");
    if (uname(&u) < 0)
        snprintf(u.sysname, sizeof u.sysname, "unknown");
    fprintf(ctx->out, "Astrid sandbox setup\n");
    fprintf(ctx->out, "  OS:                    %s %s\n", u.sysname, u.release);
    fprintf(ctx->out, "  bwrap:                 %s\n",
            p->bwrap_found ? p->bwrap_path : "not found on PATH");
    fprintf(ctx->out, "  user-namespace probe:  %s\n",
            !p->bwrap_found ? "not run (no bwrap)"
            : p->userns_ok  ? "ok"
                            : "FAILED");
    fprintf(ctx->out, "  seccomp:               %s\n", p->seccomp_ok ? "ok" : "unavailable");
    fprintf(ctx->out, "  kernel.apparmor_restrict_unprivileged_userns: %s\n",
            restrict_ < 0 ? "absent"
            : restrict_   ? "1 (restricted)"
                          : "0");
    fprintf(ctx->out, "  AppArmor profile astrid: %s\n",
            loaded < 0 ? "unknown (no AppArmor securityfs)"
            : loaded   ? "loaded"
                       : "not loaded");
    fprintf(ctx->out, "  ASTRID_SANDBOX_POLICY: %s\n", pol && *pol ? pol : "(unset: required)");
    if (p->reason[0])
        fprintf(ctx->out, "  problem:               %s\n", p->reason);
}

static int do_setup(cli_ctx *ctx)
{
    if (cli_flag_count(ctx, "print-apparmor")) {
        fputs(apparmor_profile, ctx->out);
        return CLI_OK;
    }
    bool apply = cli_flag_count(ctx, "apply") > 0, root = geteuid() == 0;
    astrid_sandbox_probe p;
    astrid_sandbox_probe_run(&p);
    long restrict_ = read_sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns");
    long max_ns = read_sysctl("/proc/sys/user/max_user_namespaces");
    long clone_ok = read_sysctl("/proc/sys/kernel/unprivileged_userns_clone");
    int loaded = profile_loaded();
    report(ctx, &p, restrict_, loaded);
    if (astrid_sandbox_usable(&p)) {
        fprintf(ctx->out, "\nNothing to do: the sandbox works on this host.\n");
        return CLI_OK;
    }

    cli_setup_facts f = {.probe = p,
                         .apparmor_restricts = restrict_,
                         .max_user_namespaces = max_ns,
                         .unprivileged_userns_clone = clone_ok,
                         .profile_loaded = loaded,
                         .root = root};
    cli_setup_step steps[CLI_SETUP_MAX_STEPS];
    size_t n = cli_setup_plan(&f, steps);
    if (n == 0) {
        fprintf(ctx->out,
                "\nNo command of this tool can fix this host: %s.\n"
                "To run native subprocess capsules without the sandbox anyway (trusted machines "
                "only), set ASTRID_SANDBOX_POLICY=off.\n",
                p.reason[0] ? p.reason : "the sandbox is unavailable");
        return CLI_ERROR;
    }
    cli_setup_print_fix(ctx->out, &f, steps, n);
    if (!apply) {
        fprintf(ctx->out,
                "\nRun `astrid setup --apply` to run these%s, or set "
                "ASTRID_SANDBOX_POLICY=off to run without the sandbox (trusted "
                "machines only).\n",
                root ? "" : " through sudo");
        return CLI_ERROR;
    }
    fprintf(ctx->out, "\nApplying:\n");
    for (size_t i = 0; i < n; i++) {
        int rc = steps[i].apparmor ? apply_apparmor(ctx, root) : run(ctx, root, steps[i].cmd);
        if (rc < 0)
            return CLI_ERROR;
    }
    astrid_sandbox_probe_run(&p);
    if (astrid_sandbox_usable(&p)) {
        fprintf(ctx->out, "\nDone: the sandbox works now.\n");
        return CLI_OK;
    }
    fprintf(ctx->out, "\nThe commands ran but the sandbox still fails: %s\n", p.reason);
    return CLI_ERROR;
}

const cli_cmd cli_cmd_setup = {
    .name = "setup",
    .max_args = 0,
    .help = "Diagnose sandbox prerequisites",
    .long_help = "Runs the daemon's sandbox probe (bwrap on PATH, user namespaces, seccomp, the "
                 "AppArmor user-namespace restriction) and prints the exact commands that fix "
                 "what fails; --apply runs them (through sudo unless root).",
    .flags = CLI_FLAGS(
        {"print-apparmor", 0, NULL, "Print the bundled AppArmor profile alone", false, false},
        {"apply", 0, NULL, "Run the fixing commands (through sudo)", false, false}),
    .fn = do_setup};
