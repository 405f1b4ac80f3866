/* The sandbox's pure parts: ASTRID_SANDBOX_POLICY parsing, the environment
 * blocklist and base, the bwrap command line (the layout's order: system
 * dirs, tmpfs over $HOME and $ASTRID_HOME, THEN the binds, then the tmpfs
 * layers made read-only; nested binds parent first), and the path checks.
 * The behaviour inside a real sandbox is tests/integration/sandbox_escape.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capsule/sandbox/sandbox.h"
#include "fixture.h"

static void test_policy_parse(void **state)
{
    (void)state;
    astrid_sandbox_policy p = ASTRID_SANDBOX_OFF;
    astrid_err err;
    assert_int_equal(astrid_sandbox_policy_parse(NULL, &p, &err), 0);
    assert_int_equal(p, ASTRID_SANDBOX_REQUIRED);
    p = ASTRID_SANDBOX_OFF;
    assert_int_equal(astrid_sandbox_policy_parse("", &p, &err), 0);
    assert_int_equal(p, ASTRID_SANDBOX_REQUIRED);
    assert_int_equal(astrid_sandbox_policy_parse(" Off\n", &p, &err), 0);
    assert_int_equal(p, ASTRID_SANDBOX_OFF);
    assert_int_equal(astrid_sandbox_policy_parse("REQUIRED", &p, &err), 0);
    assert_int_equal(p, ASTRID_SANDBOX_REQUIRED);
    assert_string_equal(astrid_sandbox_policy_name(ASTRID_SANDBOX_OFF), "off");
    const char *bad[] = {"of", "disabled", "0", "false", "off,required", "offf", "required x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        p = ASTRID_SANDBOX_REQUIRED;
        assert_int_equal(astrid_sandbox_policy_parse(bad[i], &p, &err), -1);
        assert_int_equal(err.code, ASTRID_E_INVALID);
        assert_non_null(strstr(err.msg, "accepted: \"required\" (the default) or \"off\""));
        assert_int_equal(p, ASTRID_SANDBOX_REQUIRED); /* untouched */
    }
}

static bool blocked(const char *n)
{
    return astrid_sandbox_env_blocked(n, strlen(n));
}

static void test_env_blocklist(void **state)
{
    (void)state;
    const char *yes[] = {"HOME",
                         "path",
                         "ASTRID_HOME",
                         "LD_PRELOAD",
                         "ld_anything",
                         "Ld_Audit",
                         "DYLD_X",
                         "NODE_OPTIONS",
                         "PYTHONPATH",
                         "BASH_ENV",
                         "ENV",
                         "SSL_CERT_FILE",
                         "https_proxy",
                         "NO_PROXY",
                         "TMPDIR",
                         "ASTRID_SOCKET_PATH",
                         "ASTRID_SESSION_TOKEN",
                         "npm_config_registry",
                         "NPM_CONFIG_PREFIX",
                         "JAVA_TOOL_OPTIONS",
                         "OPENSSL_CONF"};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        assert_true(blocked(yes[i]));
    const char *no[] = {"FOO",         "HOMEx",   "XHOME",    "LD",   "NODE_ENV",
                        "ENVIRONMENT", "API_KEY", "TEMPLATE", "PATHS"};
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        assert_false(blocked(no[i]));
    /* the length counts, not the NUL: "HOME=x" checked by name only */
    assert_true(astrid_sandbox_env_blocked("HOME=/evil", 4));
}

static const char *find_env(char **v, const char *name)
{
    size_t n = strlen(name);
    for (; *v; v++)
        if (strncmp(*v, name, n) == 0 && (*v)[n] == '=')
            return *v + n + 1;
    return NULL;
}

static void test_build_env(void **state)
{
    (void)state;
    astrid_err err;
    setenv("HOME", "/home/op", 1);
    setenv("SECRET_OF_DAEMON", "x", 1);
    const char *env[] = {"FOO=1", "LD_PRELOAD=/evil.so", "PATH=/evil", "FOO=2", "EMPTY=", NULL};
    char **v = astrid_sandbox_build_env(env, &err);
    assert_non_null(v);
    assert_string_equal(find_env(v, "PATH"), ASTRID_SANDBOX_PATH);
    assert_string_equal(find_env(v, "HOME"), "/home/op");
    assert_string_equal(find_env(v, "FOO"), "2");
    assert_string_equal(find_env(v, "EMPTY"), "");
    assert_null(find_env(v, "LD_PRELOAD"));
    assert_null(find_env(v, "SECRET_OF_DAEMON")); /* the daemon's env is not inherited */
    astrid_sandbox_argv_free(v);
    const char *bad1[] = {"NOEQUALS", NULL}, *bad2[] = {"=value", NULL};
    assert_null(astrid_sandbox_build_env(bad1, &err));
    assert_int_equal(err.code, ASTRID_E_INVALID);
    assert_null(astrid_sandbox_build_env(bad2, &err));
    assert_int_equal(err.code, ASTRID_E_INVALID);
}

typedef struct dirs {
    char root[128], home[256], ah[256], cap[256], work[256], nested[256], ro[256];
} dirs;

static void mk(const char *p)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", p);
    assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
    dirs *d = calloc(1, sizeof *d);
    char real[PATH_MAX];
    if (!d || fixture_tmpdir(d->root, sizeof d->root, "sandbox") < 0 || !realpath(d->root, real)) {
        free(d);
        return -1;
    }
    snprintf(d->root, sizeof d->root, "%s", real);
    snprintf(d->home, sizeof d->home, "%s/home", d->root);
    snprintf(d->ah, sizeof d->ah, "%s/home/.astrid", d->root);
    snprintf(d->cap, sizeof d->cap, "%s/capsules/c", d->ah);
    snprintf(d->work, sizeof d->work, "%s/home/alice/work", d->ah);
    snprintf(d->nested, sizeof d->nested, "%s/home/alice/work/ro", d->ah);
    snprintf(d->ro, sizeof d->ro, "%s/shared", d->root);
    mk(d->cap);
    mk(d->nested);
    mk(d->ro);
    *state = d;
    return 0;
}

static int teardown(void **state)
{
    dirs *d = *state;
    fixture_rmdir(d->root);
    free(d);
    return 0;
}

static ssize_t idx(char **v, const char *a, const char *b)
{
    for (ssize_t i = 0; v[i]; i++)
        if (!strcmp(v[i], a) && (!b || (v[i + 1] && !strcmp(v[i + 1], b))))
            return i;
    return -1;
}

static void test_bwrap_argv_layout(void **state)
{
    dirs *d = *state;
    astrid_err err;
    const char *argv[] = {"/bin/true", "--flag", NULL};
    /* listed child before parent: the builder must still mount the parent
     * first; the read-only child inside the rw parent stays read-only */
    const char *rw[] = {d->work, NULL}, *ro[] = {d->nested, d->ro, NULL};
    astrid_sandbox_spec spec = {
        .argv = argv, .capsule_dir = d->cap, .rw_paths = rw, .ro_paths = ro, .astrid_home = d->ah};
    char **v = astrid_sandbox_bwrap_argv("/usr/bin/bwrap", &spec, d->home, "/bin/true", 3, &err);
    assert_non_null(v);
    assert_string_equal(v[0], "/usr/bin/bwrap");
    ssize_t usr = idx(v, "--ro-bind-try", "/usr"), proc = idx(v, "--proc", "/proc"),
            dev = idx(v, "--dev", "/dev"), tmp = idx(v, "--tmpfs", "/tmp"),
            th = idx(v, "--tmpfs", d->home), tah = idx(v, "--tmpfs", d->ah),
            bcap = idx(v, "--ro-bind", d->cap), bwork = idx(v, "--bind", d->work),
            bnest = idx(v, "--ro-bind", d->nested), bro = idx(v, "--ro-bind", d->ro),
            rh = idx(v, "--remount-ro", d->home), rah = idx(v, "--remount-ro", d->ah),
            sep = idx(v, "--", NULL);
    ssize_t all[] = {usr, proc, dev, tmp, th, tah, bcap, bwork, bnest, bro, rh, rah, sep};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        assert_true(all[i] > 0);
    /* the mount-order fix: every tmpfs layer before every bind */
    assert_true(usr < th && proc < th && tmp < th && th < tah);
    assert_true(tah < bcap && tah < bwork && tah < bnest && tah < bro);
    /* parent before child: work (rw) then work/ro (ro) */
    assert_true(bwork < bnest);
    /* read-only tmpfs only after the mount points exist on it */
    assert_true(bcap < rh && bwork < rh && bnest < rah);
    assert_true(idx(v, "--unshare-all", NULL) > 0);
    assert_true(idx(v, "--share-net", NULL) < 0); /* net off */
    assert_true(idx(v, "--die-with-parent", NULL) > 0);
    assert_true(idx(v, "--new-session", NULL) > 0);
    assert_true(idx(v, "--cap-drop", "ALL") > 0);
    assert_true(idx(v, "--seccomp", "3") > 0 && idx(v, "--seccomp", "3") < sep);
    assert_true(idx(v, "--chdir", d->cap) > 0); /* cwd defaults to the capsule dir */
    /* nothing of the host root wholesale, no --bind of $HOME or ASTRID_HOME */
    assert_true(idx(v, "--ro-bind", "/") < 0 && idx(v, "--bind", "/") < 0);
    assert_true(idx(v, "--bind", d->home) < 0 && idx(v, "--ro-bind", d->ah) < 0);
    assert_true(idx(v, "--ro-bind-try", "/etc") < 0);
    assert_true(idx(v, "--ro-bind-try", "/etc/shadow") < 0);
    assert_string_equal(v[sep + 1], "/bin/true");
    assert_string_equal(v[sep + 2], "--flag");
    assert_null(v[sep + 3]);
    astrid_sandbox_argv_free(v);

    spec.net = true;
    spec.cwd = d->work;
    v = astrid_sandbox_bwrap_argv("/usr/bin/bwrap", &spec, d->home, "/bin/true", -1, &err);
    assert_non_null(v);
    assert_true(idx(v, "--share-net", NULL) > idx(v, "--unshare-all", NULL));
    assert_true(idx(v, "--chdir", d->work) > 0);
    assert_true(idx(v, "--seccomp", NULL) < 0);
    astrid_sandbox_argv_free(v);
}

static void test_bwrap_argv_fds(void **state)
{
    dirs *d = *state;
    astrid_err err;
    const char *argv[] = {"/bin/true", NULL};
    const char *rw[] = {d->work, NULL}, *ro[] = {d->nested, NULL};
    astrid_sandbox_spec spec = {
        .argv = argv, .capsule_dir = d->cap, .rw_paths = rw, .ro_paths = ro, .astrid_home = d->ah};
    int fds[ASTRID_SANDBOX_MAX_BINDS];
    size_t n = 99;
    char **v = astrid_sandbox_bwrap_argv_fds("/usr/bin/bwrap", &spec, d->home, "/bin/true", 3, 5,
                                             fds, &n, &err);
    assert_non_null(v);
    assert_int_equal(n, 3);
    /* sorted: capsules/c and home/alice/work are siblings (shorter first), then work/ro */
    const char *want[][2] = {
        {"--ro-bind-fd", d->cap}, {"--bind-fd", d->work}, {"--ro-bind-fd", d->nested}};
    for (size_t i = 0; i < 3; i++) {
        char num[8];
        snprintf(num, sizeof num, "%zu", 5 + i);
        ssize_t at = idx(v, want[i][0], num);
        assert_true(at > 0);
        assert_string_equal(v[at + 2], want[i][1]);
        /* the descriptor is the checked path itself, CLOEXEC in the parent */
        char link[64], real[PATH_MAX];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fds[i]);
        ssize_t len = readlink(link, real, sizeof real - 1);
        assert_true(len > 0);
        real[len] = '\0';
        assert_string_equal(real, want[i][1]);
        assert_true(fcntl(fds[i], F_GETFD) & FD_CLOEXEC);
        close(fds[i]);
    }
    assert_true(idx(v, "--bind", d->work) < 0); /* no path binds left */
    astrid_sandbox_argv_free(v);
    /* an error leaves no descriptor open */
    const char *bad[] = {d->ah, NULL};
    spec.ro_paths = bad;
    n = 99;
    assert_null(astrid_sandbox_bwrap_argv_fds("/usr/bin/bwrap", &spec, d->home, "/bin/true", 3, 5,
                                              fds, &n, &err));
    assert_int_equal(n, 0);
}

static void expect_refused(const astrid_sandbox_spec *spec, const char *home, const char *prog,
                           const char *needle)
{
    astrid_err err;
    char **v = astrid_sandbox_bwrap_argv("/usr/bin/bwrap", spec, home, prog, -1, &err);
    if (v)
        fail_msg("accepted, expected refusal containing '%s'", needle);
    if (!strstr(err.msg, needle))
        fail_msg("error '%s' lacks '%s'", err.msg, needle);
}

static void test_bwrap_argv_refusals(void **state)
{
    dirs *d = *state;
    const char *argv[] = {"/bin/true", NULL};
    char link[300], up[300];
    snprintf(link, sizeof link, "%s/link", d->work);
    assert_int_equal(symlink(d->home, link), 0);
    snprintf(up, sizeof up, "%s/../../..", d->work); /* = $ASTRID_HOME */
    const char *bads[][2] = {
        {d->ah, "would expose $ASTRID_HOME"},
        {d->home, "would expose $HOME"},
        {d->root, "would expose $HOME"},
        {"/", "would expose the host root"},
        {link, "would expose $HOME"},
        {up, "would expose $ASTRID_HOME"},
        {"relative/dir", "must be an absolute path"},
        {"/no/such/dir/xyz", "No such file"},
    };
    for (size_t i = 0; i < sizeof bads / sizeof *bads; i++) {
        const char *rw[] = {bads[i][0], NULL};
        astrid_sandbox_spec spec = {.argv = argv, .rw_paths = rw, .astrid_home = d->ah};
        expect_refused(&spec, d->home, "/bin/true", bads[i][1]);
        astrid_sandbox_spec spec2 = {.argv = argv, .ro_paths = rw, .astrid_home = d->ah};
        expect_refused(&spec2, d->home, "/bin/true", bads[i][1]);
    }
    /* a symlink inside a writable bind, planted to redirect another bind */
    char planted[300], target[300];
    snprintf(planted, sizeof planted, "%s/planted", d->work);
    snprintf(target, sizeof target, "%s/inner", d->ro);
    mk(target);
    assert_int_equal(symlink(target, planted), 0);
    {
        const char *rw[] = {d->work, NULL}, *ro[] = {planted, NULL};
        astrid_sandbox_spec spec = {
            .argv = argv, .rw_paths = rw, .ro_paths = ro, .astrid_home = d->ah};
        expect_refused(&spec, d->home, "/bin/true", "is a symlink inside the writable path");
        /* the same link with its directory bound read-only is the operator's own */
        const char *ro2[] = {d->work, NULL}, *ro3[] = {planted, NULL};
        astrid_sandbox_spec ok = {.argv = argv, .ro_paths = ro2, .astrid_home = d->ah};
        ok.rw_paths = ro3;
        astrid_err err;
        char **v = astrid_sandbox_bwrap_argv("/usr/bin/bwrap", &ok, d->home, "/bin/true", -1, &err);
        assert_non_null(v);
        assert_true(idx(v, "--bind", target) > 0); /* bound at its real path */
        astrid_sandbox_argv_free(v);
    }
    /* a program neither under a system dir nor bound */
    char prog[300];
    snprintf(prog, sizeof prog, "%s/tool", d->ro);
    int fd = open(prog, O_CREAT | O_WRONLY, 0755);
    assert_true(fd >= 0);
    close(fd);
    astrid_sandbox_spec spec = {.argv = argv, .capsule_dir = d->cap, .astrid_home = d->ah};
    expect_refused(&spec, d->home, prog, "outside the sandbox");
    /* cwd outside every bind */
    spec.cwd = d->ro;
    expect_refused(&spec, d->home, "/bin/true", "not under the capsule dir");
    spec.cwd = "rel";
    expect_refused(&spec, d->home, "/bin/true", "must be an absolute path");
}

static void test_seccomp_fd(void **state)
{
    (void)state;
    astrid_err err;
    for (int net = 0; net < 2; net++) {
        int fd = astrid_sandbox_seccomp_fd(net, &err);
        assert_true(fd >= 0);
        struct stat st;
        assert_int_equal(fstat(fd, &st), 0);
        /* a BPF program: whole sock_filter instructions, non-trivial */
        assert_int_equal(st.st_size % (off_t)sizeof(struct sock_filter), 0);
        assert_true(st.st_size > 40 * (off_t)sizeof(struct sock_filter));
        assert_int_equal(lseek(fd, 0, SEEK_CUR), 0);
        assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        /* sealed: the child cannot rewrite its filter */
        assert_int_equal(write(fd, "x", 1), -1);
        close(fd);
    }
}

static void test_spawn_refuses_without_sandbox(void **state)
{
    (void)state;
    astrid_sandbox_probe probe = {0};
    snprintf(probe.reason, sizeof probe.reason, "bwrap (bubblewrap) not found on PATH");
    const char *argv[] = {"/bin/true", NULL};
    astrid_sandbox_spec spec = {.argv = argv};
    astrid_sandbox_proc p;
    astrid_err err;
    assert_int_equal(astrid_sandbox_spawn(&probe, ASTRID_SANDBOX_REQUIRED, &spec, &p, &err), -1);
    assert_int_equal(err.code, ASTRID_E_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "bwrap (bubblewrap) not found on PATH"));
    assert_non_null(
        strstr(err.msg, "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"));
    assert_non_null(strstr(err.msg, "astrid setup"));
    assert_non_null(strstr(err.msg, "ASTRID_SANDBOX_POLICY=off"));
    assert_int_equal(p.pid, -1);
    /* NULL probe under REQUIRED: refused as well, never a crash */
    assert_int_equal(astrid_sandbox_spawn(NULL, ASTRID_SANDBOX_REQUIRED, &spec, &p, &err), -1);
    assert_int_equal(err.code, ASTRID_E_UNSUPPORTED);
}

static void test_spawn_off_runs(void **state)
{
    (void)state;
    astrid_sandbox_probe probe = {0}; /* unusable: policy off must not care */
    const char *argv[] = {"sh", "-c", "read x; echo \"got $x $FOO\"; echo err >&2; exit 7", NULL};
    const char *env[] = {"FOO=bar", "LD_PRELOAD=/nope.so", NULL};
    astrid_sandbox_spec spec = {.argv = argv, .env = env};
    astrid_sandbox_proc p;
    astrid_err err;
    assert_int_equal(astrid_sandbox_spawn(&probe, ASTRID_SANDBOX_OFF, &spec, &p, &err), 0);
    assert_false(p.sandboxed);
    assert_true(fcntl(p.out_fd, F_GETFD) & FD_CLOEXEC);
    assert_int_equal(write(p.in_fd, "hi\n", 3), 3);
    close(p.in_fd);
    char buf[128] = "";
    ssize_t n = 0, r;
    while ((r = read(p.out_fd, buf + n, sizeof buf - 1 - (size_t)n)) > 0)
        n += r;
    buf[n] = '\0';
    assert_string_equal(buf, "got hi bar\n");
    n = read(p.err_fd, buf, sizeof buf - 1);
    assert_int_equal(n, 4);
    int st;
    assert_int_equal(waitpid(p.pid, &st, 0), p.pid);
    assert_int_equal(WEXITSTATUS(st), 7);
    close(p.out_fd);
    close(p.err_fd);
    /* exec failure is an error of the call, not an exit status */
    const char *missing[] = {"/nonexistent/prog", NULL};
    spec.argv = missing;
    assert_int_equal(astrid_sandbox_spawn(&probe, ASTRID_SANDBOX_OFF, &spec, &p, &err), -1);
    assert_int_equal(err.code, ASTRID_E_NOTFOUND);
    const char *rel[] = {"./prog", NULL};
    spec.argv = rel;
    assert_int_equal(astrid_sandbox_spawn(&probe, ASTRID_SANDBOX_OFF, &spec, &p, &err), -1);
    assert_int_equal(err.code, ASTRID_E_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_parse),
        cmocka_unit_test(test_env_blocklist),
        cmocka_unit_test(test_build_env),
        cmocka_unit_test_setup_teardown(test_bwrap_argv_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bwrap_argv_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bwrap_argv_fds, setup, teardown),
        cmocka_unit_test(test_seccomp_fd),
        cmocka_unit_test(test_spawn_refuses_without_sandbox),
        cmocka_unit_test(test_spawn_off_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
