/* Guest path schemes, traversal and symlink confinement, the kernel-state
 * guard (table-driven, for the `~` layout where the workspace contains
 * $ASTRID_HOME and for a separate project workspace), guarded operations
 * under a component swapped after resolution, the manifest gate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vfs/vfs.h"
#include "fixture.h"

/* S is the `~` workspace, H = S/.astrid is $ASTRID_HOME, alice the
 * invoking principal, P = S/proj a project workspace not containing H. */
static char S[256], H[300], home_p[400], P[300];

static int sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

static int setup(void **state)
{
    (void)state;
    if (fixture_tmpdir(S, sizeof S, "vfs") != 0)
        return -1;
    char *rb = realpath(S, NULL);
    snprintf(S, sizeof S, "%s", rb);
    free(rb);
    snprintf(H, sizeof H, "%s/.astrid", S);
    snprintf(home_p, sizeof home_p, "%s/home/alice", H);
    snprintf(P, sizeof P, "%s/proj", S);
    return sh("set -e; cd %s; mkdir -p .astrid/keys .astrid/run .astrid/etc/profiles "
              ".astrid/home/bob .astrid/home/alice proj/sub proj/.astrid/capsules sub; "
              "echo KEY > .astrid/keys/runtime.key; echo TOKEN > .astrid/run/system.token; "
              "echo \"groups = ['agent']\" > .astrid/etc/profiles/alice.toml; "
              "echo secret > .astrid/home/bob/key; "
              "cd .astrid/home/alice; mkdir -p .local/tmp .local/audit .local/capsules/x "
              ".local/tokens .local/kv .local/log/x .config/env notes; "
              "echo chain > .local/audit/audit.jsonl; ln -s ../bob escape; ln -s .local loc; "
              "cd %s; ln -s .astrid/keys tokey; ln -s %s/keys proj/tokey; "
              "ln -s %s/.local/audit proj/toaudit",
              S, S, H, home_p) == 0
               ? 0
               : -1;
}

static int teardown(void **state)
{
    (void)state;
    return fixture_rmdir(S);
}

enum { TILDE, PROJ };

/* expect: NULL = resolves; else the error message must contain it (and
 * the code is ASTRID_E_PERM). */
static const struct {
    int layout;
    const char *guest;
    const char *expect;
} cases[] = {
    /* `~` layout: the workspace contains $ASTRID_HOME */
    {TILDE, "cwd://.astrid/keys/runtime.key", "kernel-owned state: cwd://.astrid/keys"},
    {TILDE, "cwd://.astrid/run/system.token", "kernel-owned state"},
    {TILDE, "cwd://.astrid/etc/profiles/alice.toml", "kernel-owned state"},
    {TILDE, "cwd://.astrid/etc/profiles/new.toml", "kernel-owned state"},
    {TILDE, "cwd://.astrid/var/state.db", "kernel-owned state"},
    {TILDE, "cwd://.astrid/log", "kernel-owned state"},
    {TILDE, "cwd://.astrid/bin/x.wasm", "kernel-owned state"},
    {TILDE, "cwd://.astrid/wit", "kernel-owned state"},
    {TILDE, "cwd://.astrid/secrets/x", "kernel-owned state"},
    {TILDE, "cwd://.astrid/anything-new", "kernel-owned state"},
    {TILDE, "cwd://.astrid", "kernel-owned state"},
    {TILDE, "cwd://.astrid/", "kernel-owned state"},
    {TILDE, "cwd://./.astrid/keys", "kernel-owned state"},
    {TILDE, "cwd://.astrid/home", "kernel-owned state"},
    {TILDE, "/.astrid/keys/runtime.key", "kernel-owned state"},
    {TILDE, ".astrid/keys/runtime.key", "kernel-owned state"},
    {TILDE, "cwd://.astrid/home/bob/key", "another principal's home"},
    {TILDE, "cwd://.astrid/home/bob", "another principal's home"},
    {TILDE, "cwd://.astrid/home/alice/.local/audit/audit.jsonl", "(.local/audit)"},
    {TILDE, "cwd://.astrid/home/alice/notes/a", NULL},
    {TILDE, "cwd://tokey/runtime.key", "kernel-owned state"},
    {TILDE, "cwd://tokey", "kernel-owned state"},
    {TILDE, "cwd://sub/../.astrid/keys", "contains '..'"},
    {TILDE, "cwd://notes.txt", NULL},
    {TILDE, "cwd://", NULL},
    {TILDE, "cwd://sub/new", NULL},
    {TILDE, "home://notes/a.txt", NULL},
    {TILDE, "home://", NULL},
    {TILDE, "home://.local/audit/audit.jsonl", "(.local/audit)"},
    {TILDE, "home://.local/audit", "(.local/audit)"},
    {TILDE, "home://.local/capsules/x/Capsule.toml", "(.local/capsules)"},
    {TILDE, "home://.local/capsules/x/meta.json", "(.local/capsules)"},
    {TILDE, "home://.local/tokens/t", "(.local/tokens)"},
    {TILDE, "home://.local/kv/data.mdb", "(.local/kv)"},
    {TILDE, "home://.local/log/x/2024-01-01.log", "(.local/log)"},
    {TILDE, "home://.local/newthing", "(.local/newthing)"},
    {TILDE, "home://.local", "(.local)"},
    {TILDE, "home://.config/env/x.env.json", "(.config/env)"},
    {TILDE, "home://.config/profile.toml", "(.config/profile.toml)"},
    {TILDE, "home://.config", "(.config)"},
    {TILDE, "home://loc/audit/audit.jsonl", "(.local/audit)"},
    {TILDE, "home://.local/tmp/x", NULL},
    {TILDE, "home://.localx/y", NULL},
    {TILDE, "home://escape/key", "escapes root boundary"},
    {TILDE, "home://../bob/key", "contains '..'"},
    {TILDE, "/tmp/x", NULL},
    {TILDE, "/tmp", NULL},
    {TILDE, "/tmp/../audit/audit.jsonl", "contains '..'"},
    /* a project workspace beside $ASTRID_HOME */
    {PROJ, "cwd://sub/f", NULL},
    {PROJ, "/sub/f", NULL},
    {PROJ, "cwd://tokey/runtime.key", "escapes root boundary"},
    {PROJ, "cwd://toaudit/audit.jsonl", "escapes root boundary"},
    {PROJ, "cwd://.astrid/capsules/evil/Capsule.toml", "workspace's kernel state"},
    {PROJ, "cwd://.astrid", "workspace's kernel state"},
    {PROJ, "/.astrid/capsules", "workspace's kernel state"},
    {PROJ, "cwd://../.astrid/keys", "contains '..'"},
};

static astrid_vfs_roots roots_of(int layout)
{
    return (astrid_vfs_roots){home_p, layout == TILDE ? S : P, H};
}

static void guard_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        astrid_vfs_roots roots = roots_of(cases[i].layout);
        astrid_vfs_path p;
        astrid_err err = {0};
        int rc = astrid_vfs_resolve(&roots, cases[i].guest, &p, &err);
        if (cases[i].expect
                ? (rc != -1 || !strstr(err.msg, cases[i].expect) || err.code != ASTRID_E_PERM)
                : rc != 0)
            fail_msg("case %zu %s: rc %d, error '%s', want %s", i, cases[i].guest, rc,
                     rc ? err.msg : "", cases[i].expect ? cases[i].expect : "success");
    }
}

static void schemes_map_to_roots(void **state)
{
    (void)state;
    astrid_vfs_roots roots = roots_of(PROJ);
    astrid_vfs_path p;
    astrid_err err;
    char want[600];
    assert_int_equal(astrid_vfs_resolve(&roots, "home://notes/a.txt", &p, &err), 0);
    assert_int_equal(p.mount, ASTRID_VFS_HOME);
    snprintf(want, sizeof want, "%s/notes/a.txt", home_p);
    assert_string_equal(p.physical, want);
    assert_string_equal(p.rel, "notes/a.txt");
    assert_int_equal(astrid_vfs_resolve(&roots, "/tmp/x", &p, &err), 0);
    snprintf(want, sizeof want, "%s/.local/tmp/x", home_p);
    assert_string_equal(p.physical, want);
    assert_int_equal(astrid_vfs_resolve(&roots, "/tmp", &p, &err), 0);
    assert_string_equal(p.rel, "");
    assert_int_equal(astrid_vfs_resolve(&roots, "cwd://sub/f", &p, &err), 0);
    snprintf(want, sizeof want, "%s/sub/f", P);
    assert_string_equal(p.physical, want);
    assert_int_equal(astrid_vfs_resolve(&roots, "/sub/f", &p, &err), 0);
    assert_string_equal(p.physical, want);
}

static void homeless_and_unguarded(void **state)
{
    (void)state;
    astrid_vfs_path p;
    astrid_err err;
    astrid_vfs_roots homeless = {NULL, P, H};
    assert_int_equal(astrid_vfs_resolve(&homeless, "home://x", &p, &err), -1);
    assert_int_equal(err.code, ASTRID_E_PERM);
    assert_int_equal(astrid_vfs_resolve(&homeless, "/tmp/x", &p, &err), -1);
    /* Without a principal home nothing under $ASTRID_HOME is reachable,
     * not even through a workspace that contains it. */
    astrid_vfs_roots homeless_tilde = {NULL, S, H};
    assert_int_equal(astrid_vfs_resolve(&homeless_tilde, "cwd://.astrid/home/alice/n", &p, &err),
                     -1);
    /* No $ASTRID_HOME known: fail closed. */
    astrid_vfs_roots unguarded = {home_p, P, NULL};
    assert_int_equal(astrid_vfs_resolve(&unguarded, "cwd://sub/f", &p, &err), -1);
    assert_int_equal(err.code, ASTRID_E_PERM);
}

static int read_all(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t r = fread(buf, 1, n - 1, f);
    buf[r] = 0;
    fclose(f);
    return 0;
}

/* Resolve cwd://<rel> in the `~` layout, then let `swap` (a shell command
 * run in S) replace a component before the operation. */
static void resolve_then_swap(const char *rel, const char *swap, astrid_vfs_path *p)
{
    astrid_vfs_roots roots = roots_of(TILDE);
    astrid_err err;
    char guest[300];
    snprintf(guest, sizeof guest, "cwd://%s", rel);
    assert_int_equal(astrid_vfs_resolve(&roots, guest, p, &err), 0);
    assert_int_equal(sh("set -e; cd %s; %s", S, swap), 0);
}

static void open_is_beneath_and_guarded(void **state)
{
    (void)state;
    astrid_vfs_path p;
    astrid_err err;
    char buf[64];
    /* Plain file work in the workspace succeeds. */
    astrid_vfs_roots roots = roots_of(TILDE);
    assert_int_equal(astrid_vfs_resolve(&roots, "cwd://sub/new.txt", &p, &err), 0);
    int fd = astrid_vfs_open(&p, O_WRONLY | O_CREAT | O_TRUNC, 0600, &err);
    if (fd < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(write(fd, "hi", 2), 2);
    close(fd);
    fd = astrid_vfs_open(&p, O_RDONLY, 0, &err);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, buf, sizeof buf), 2);
    close(fd);
    /* The file swapped for a symlink into keys/ (beneath the root, so
     * RESOLVE_BENEATH alone would follow it): refused, key intact. */
    resolve_then_swap("sub/new.txt",
                      "rm sub/new.txt; ln -s ../.astrid/keys/runtime.key sub/new.txt", &p);
    assert_int_equal(astrid_vfs_open(&p, O_RDONLY, 0, &err), -1);
    assert_int_equal(err.code, ASTRID_E_PERM);
    assert_non_null(strstr(err.msg, "kernel-owned state"));
    assert_int_equal(astrid_vfs_open(&p, O_WRONLY | O_CREAT | O_TRUNC, 0600, &err), -1);
    assert_int_equal(err.code, ASTRID_E_PERM);
    char key[300];
    snprintf(key, sizeof key, "%s/keys/runtime.key", H);
    assert_int_equal(read_all(key, buf, sizeof buf), 0);
    assert_string_equal(buf, "KEY\n");
    /* A directory component swapped for a symlink into etc/profiles:
     * nothing is created there. */
    resolve_then_swap("d/bob.toml", "rm -rf d; ln -s .astrid/etc/profiles d", &p);
    assert_int_equal(astrid_vfs_open(&p, O_WRONLY | O_CREAT | O_TRUNC, 0600, &err), -1);
    assert_int_equal(err.code, ASTRID_E_PERM);
    char prof[300];
    snprintf(prof, sizeof prof, "%s/etc/profiles/bob.toml", H);
    assert_int_equal(access(prof, F_OK), -1);
    /* A dangling symlink is followed by name: refused where it leads. */
    assert_int_equal(sh("cd %s && ln -s .astrid/etc/profiles/carol.toml dl", S), 0);
    assert_int_equal(astrid_vfs_resolve(&roots, "cwd://dl", &p, &err), -1);
    assert_non_null(strstr(err.msg, "kernel-owned state: cwd://dl"));
    /* One planted after resolution: nothing is created through it. */
    resolve_then_swap("dl2", "ln -s .astrid/etc/profiles/carol.toml dl2", &p);
    assert_int_equal(astrid_vfs_open(&p, O_WRONLY | O_CREAT | O_TRUNC, 0600, &err), -1);
    snprintf(prof, sizeof prof, "%s/etc/profiles/carol.toml", H);
    assert_int_equal(access(prof, F_OK), -1);
    /* A dangling link to a new file in the workspace creates that file. */
    assert_int_equal(sh("cd %s && ln -s sub/fresh dl3", S), 0);
    assert_int_equal(astrid_vfs_resolve(&roots, "cwd://dl3", &p, &err), 0);
    assert_string_equal(p.rel, "sub/fresh");
    /* A dangling link through a missing directory with '..' is refused. */
    assert_int_equal(sh("cd %s && ln -s nowhere/../.astrid/keys/k dl4", S), 0);
    assert_int_equal(astrid_vfs_resolve(&roots, "cwd://dl4", &p, &err), -1);
    assert_int_equal(err.code, ASTRID_E_PERM);
    /* A symlink to an ordinary file in the workspace is still followed. */
    assert_int_equal(sh("cd %s && echo ok > plain && ln -s plain link", S), 0);
    assert_int_equal(astrid_vfs_resolve(&roots, "cwd://link", &p, &err), 0);
    fd = astrid_vfs_open(&p, O_RDONLY, 0, &err);
    assert_true(fd >= 0);
    close(fd);
    /* Listing the workspace root shows .astrid by name only. */
    assert_int_equal(astrid_vfs_resolve(&roots, "cwd://", &p, &err), 0);
    fd = astrid_vfs_open(&p, O_RDONLY | O_DIRECTORY, 0, &err);
    assert_true(fd >= 0);
    DIR *d = fdopendir(fd);
    struct dirent *de;
    int seen = 0;
    while ((de = readdir(d)))
        seen |= strcmp(de->d_name, ".astrid") == 0;
    closedir(d);
    assert_true(seen);
}

static void mkdir_unlink_stat_guarded(void **state)
{
    (void)state;
    astrid_vfs_path p;
    astrid_err err;
    struct stat st;
    astrid_vfs_roots roots = roots_of(TILDE);
    assert_int_equal(astrid_vfs_resolve(&roots, "cwd://m/n/o", &p, &err), 0);
    if (astrid_vfs_mkdir(&p, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(astrid_vfs_lstat(&p, &st, &err), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(astrid_vfs_unlink(&p, &err), 0);
    assert_int_equal(astrid_vfs_lstat(&p, &st, &err), -1);
    assert_int_equal(err.code, ASTRID_E_NOTFOUND);
    /* mkdir -p through a component swapped into etc/ creates nothing. */
    resolve_then_swap("m2/n/o", "mkdir m2x; ln -s .astrid/etc m2", &p);
    assert_int_equal(astrid_vfs_mkdir(&p, &err), -1);
    assert_int_equal(err.code, ASTRID_E_PERM);
    char bad[300];
    snprintf(bad, sizeof bad, "%s/etc/n", H);
    assert_int_equal(access(bad, F_OK), -1);
    /* unlink and stat through a component swapped into keys/. */
    assert_int_equal(sh("cd %s && mkdir u && touch u/runtime.key", S), 0);
    resolve_then_swap("u/runtime.key", "rm -rf u; ln -s .astrid/keys u", &p);
    assert_int_equal(astrid_vfs_lstat(&p, &st, &err), -1);
    assert_int_equal(err.code, ASTRID_E_PERM);
    assert_int_equal(astrid_vfs_unlink(&p, &err), -1);
    assert_int_equal(err.code, ASTRID_E_PERM);
    snprintf(bad, sizeof bad, "%s/keys/runtime.key", H);
    assert_int_equal(access(bad, F_OK), 0);
    /* Removing a symlink that points into $ASTRID_HOME removes the link. */
    assert_int_equal(astrid_vfs_resolve(&roots, "cwd://tokey", &p, &err), -1);
    assert_int_equal(sh("cd %s && ln -s .astrid/keys/runtime.key lk", S), 0);
    /* ...but lk resolves to the key, so even naming it is refused. */
    assert_int_equal(astrid_vfs_resolve(&roots, "cwd://lk", &p, &err), -1);
    /* The mount root is never removed. */
    assert_int_equal(astrid_vfs_resolve(&roots, "home://", &p, &err), 0);
    assert_int_equal(astrid_vfs_unlink(&p, &err), -1);
}

static void fd_check(void **state)
{
    (void)state;
    astrid_vfs_guard g;
    astrid_err err;
    astrid_vfs_roots roots = roots_of(TILDE);
    assert_int_equal(astrid_vfs_guard_init(&g, &roots, &err), 0);
    char key[300];
    snprintf(key, sizeof key, "%s/keys/runtime.key", H);
    int fd = open(key, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(astrid_vfs_guard_check_fd(&g, fd, "x", &err), -1);
    assert_int_equal(err.code, ASTRID_E_PERM);
    close(fd);
    fd = open(home_p, O_RDONLY | O_DIRECTORY);
    assert_int_equal(astrid_vfs_guard_check_fd(&g, fd, "home://", &err), 0);
    close(fd);
}

static void manifest_gate(void **state)
{
    (void)state;
    astrid_vfs_roots roots = roots_of(PROJ);
    astrid_vfs_path p;
    astrid_err err;
    const char *home_all[] = {"home://"};
    const char *home_notes[] = {"home://notes"};
    const char *star[] = {"*"};
    const char *dotdot[] = {"home://../bob"};
    assert_int_equal(astrid_vfs_resolve(&roots, "home://notes/a", &p, &err), 0);
    assert_true(astrid_vfs_gate_allows(&roots, home_all, 1, &p));
    assert_true(astrid_vfs_gate_allows(&roots, home_notes, 1, &p));
    assert_false(astrid_vfs_gate_allows(&roots, star, 1, &p));
    assert_false(astrid_vfs_gate_allows(&roots, NULL, 0, &p));
    assert_int_equal(astrid_vfs_resolve(&roots, "home://notesX/a", &p, &err), 0);
    assert_false(astrid_vfs_gate_allows(&roots, home_notes, 1, &p));
    assert_int_equal(astrid_vfs_resolve(&roots, "/tmp/a", &p, &err), 0);
    assert_true(astrid_vfs_gate_allows(&roots, home_all, 1, &p));
    assert_false(astrid_vfs_gate_allows(&roots, home_notes, 1, &p));
    assert_int_equal(astrid_vfs_resolve(&roots, "cwd://sub/f", &p, &err), 0);
    assert_true(astrid_vfs_gate_allows(&roots, star, 1, &p));
    assert_false(astrid_vfs_gate_allows(&roots, dotdot, 1, &p));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(guard_table, setup, teardown),
        cmocka_unit_test_setup_teardown(schemes_map_to_roots, setup, teardown),
        cmocka_unit_test_setup_teardown(homeless_and_unguarded, setup, teardown),
        cmocka_unit_test_setup_teardown(open_is_beneath_and_guarded, setup, teardown),
        cmocka_unit_test_setup_teardown(mkdir_unlink_stat_guarded, setup, teardown),
        cmocka_unit_test_setup_teardown(fd_check, setup, teardown),
        cmocka_unit_test_setup_teardown(manifest_gate, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
