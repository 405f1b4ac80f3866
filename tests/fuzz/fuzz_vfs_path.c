/* libFuzzer property target: VFS path resolution (src/vfs/vfs.c), as the
 * host `fs` functions call it (src/capsule/host/fs.c resolve()).
 *
 * A temp tree is made once per process:
 *   T/astrid/                      $ASTRID_HOME (etc, keys, var, ...)
 *   T/astrid/home/alice/           the invoking principal's home
 *   T/astrid/home/alice/.local/tmp the /tmp mount
 *   T/astrid/home/bob/             another principal
 *   T/ws/                          the workspace, with .astrid/ (kernel's)
 *   T/outside/                     reachable only in the `~` layout
 * and symlinks pointing out of every root, at each other, at /, in loops,
 * relative and absolute.
 *
 * Input: byte 0 picks the roots (bit 0: workspace T/ws, or T itself, which
 * contains $ASTRID_HOME: the `~` layout) and whether to open what resolved;
 * the rest is the guest path (the host refuses one over 4096 bytes and
 * hands the VFS the string up to its first NUL, as canon.c lowers it).
 *
 * Property: whatever resolves has a physical path, and every object opened
 * through it a real path, under its mount's canonical root, outside
 * T/outside (unless the workspace is T), and allowed by the guard (never $ASTRID_HOME's state,
 * another principal's home, alice's .local (but .local/tmp) or .config, or the workspace's
 * .astrid). */
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vfs/vfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char T[PATH_MAX]; /* canonical */
static char AH[PATH_MAX], ALICE[PATH_MAX], WS[PATH_MAX];

static void mk(const char *rel, int dir)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", T, rel);
    if (dir) {
        if (mkdir(p, 0700) != 0)
            abort();
    } else {
        int fd = open(p, O_CREAT | O_WRONLY | O_EXCL, 0600);
        if (fd < 0 || write(fd, "secret\n", 7) != 7)
            abort();
        close(fd);
    }
}

static void ln(const char *target, const char *rel)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", T, rel);
    if (symlink(target, p) != 0)
        abort();
}

static int rm_entry(const char *p, const struct stat *st, int type, struct FTW *f)
{
    (void)st;
    (void)f;
    return type == FTW_DP ? rmdir(p) : unlink(p);
}

static void cleanup(void)
{
    nftw(T, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void build_tree(void)
{
    char tmpl[] = "/tmp/astrid-fuzz-vfs-XXXXXX";
    if (!mkdtemp(tmpl) || !realpath(tmpl, T))
        abort();
    atexit(cleanup);
    static const char *const dirs[] = {"astrid",
                                       "astrid/etc",
                                       "astrid/keys",
                                       "astrid/var",
                                       "astrid/run",
                                       "astrid/home",
                                       "astrid/home/alice",
                                       "astrid/home/alice/.local",
                                       "astrid/home/alice/.local/tmp",
                                       "astrid/home/alice/.local/kv",
                                       "astrid/home/alice/.config",
                                       "astrid/home/alice/notes",
                                       "astrid/home/bob",
                                       "ws",
                                       "ws/.astrid",
                                       "ws/src",
                                       "ws/src/deep",
                                       "outside"};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
        mk(dirs[i], 1);
    static const char *const files[] = {"astrid/keys/runtime.key",
                                        "astrid/etc/groups.toml",
                                        "astrid/home/alice/notes/a.txt",
                                        "astrid/home/alice/.local/kv/db",
                                        "astrid/home/alice/.config/env.json",
                                        "astrid/home/bob/secret",
                                        "ws/.astrid/state",
                                        "ws/src/main.c",
                                        "outside/secret"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        mk(files[i], 0);
    char abs[PATH_MAX * 2];
    ln("../outside", "ws/out");
    ln("../astrid/home/bob", "ws/bob");
    ln("../astrid", "ws/ah");
    ln(".astrid", "ws/state");
    ln("/", "ws/root");
    ln("/etc/passwd", "ws/passwd");
    ln("..", "ws/src/up");
    ln("../..", "ws/src/deep/up2");
    ln("loop", "ws/loop");
    ln("src", "ws/ok");
    ln("../../../bob", "astrid/home/alice/.local/tmp/bob");
    ln("../kv", "astrid/home/alice/.local/tmp/kv");
    ln("../../notes", "astrid/home/alice/.local/tmp/notes");
    ln("../.local", "astrid/home/alice/notes/local");
    ln("../../../../outside", "astrid/home/alice/notes/out");
    snprintf(abs, sizeof abs, "%s/outside/secret", T);
    ln(abs, "ws/src/abs");
    snprintf(abs, sizeof abs, "%s/astrid/keys", T);
    ln(abs, "astrid/home/alice/keys");
    ln("dangling/x", "ws/dangling");
    snprintf(AH, sizeof AH, "%s/astrid", T);
    snprintf(ALICE, sizeof ALICE, "%s/astrid/home/alice", T);
    snprintf(WS, sizeof WS, "%s/ws", T);
}

static int under(const char *p, const char *root)
{
    size_t n = strlen(root);
    return strncmp(p, root, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

static void property(const char *real, const char *root, const astrid_vfs_guard *g,
                     const char *guest, const char *what)
{
    char outside[PATH_MAX + 16];
    snprintf(outside, sizeof outside, "%s/outside", T);
    astrid_err err;
    if (!under(real, root) || (strcmp(root, T) != 0 && under(real, outside)) ||
        astrid_vfs_guard_check(g, real, guest, &err) != 0) {
        fprintf(stderr, "ESCAPE (%s): guest \"%s\" reached %s (root %s)\n", what, guest, real,
                root);
        abort();
    }
    /* The guard's rules written out independently of vfs.c. */
    char p[PATH_MAX * 2];
    int bad = 0;
    if (under(real, AH) && !under(real, ALICE))
        bad = 1;
    snprintf(p, sizeof p, "%s/.local", ALICE);
    if (under(real, p)) {
        snprintf(p, sizeof p, "%s/.local/tmp", ALICE);
        bad |= !under(real, p);
    }
    snprintf(p, sizeof p, "%s/.config", ALICE);
    bad |= under(real, p);
    snprintf(p, sizeof p, "%s/.astrid", WS);
    bad |= under(real, p);
    if (bad) {
        fprintf(stderr, "GUARD (%s): guest \"%s\" reached %s\n", what, guest, real);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!T[0])
        build_tree();
    if (size < 1 || size - 1 > 4096) /* fs.c: path over 4096 bytes refused */
        return 0;
    char guest[4097];
    memcpy(guest, data + 1, size - 1);
    guest[size - 1] = '\0';
    astrid_vfs_roots roots = {
        .principal_home = ALICE, .workspace = (data[0] & 1) ? T : WS, .astrid_home = AH};
    astrid_vfs_path out;
    astrid_err err;
    if (astrid_vfs_resolve(&roots, guest, &out, &err) != 0)
        return 0;
    property(out.physical, out.root, &out.guard, guest, "resolve");
    char shown[PATH_MAX];
    astrid_vfs_shown(&out, shown, sizeof shown);
    struct stat st;
    (void)astrid_vfs_lstat(&out, &st, &err);
    if (data[0] & 2) {
        int fd = astrid_vfs_open(&out, (data[0] & 4) ? O_RDONLY | O_DIRECTORY : O_RDONLY, 0, &err);
        if (fd >= 0) {
            char link[64], real[PATH_MAX];
            snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
            ssize_t n = readlink(link, real, sizeof real - 1);
            close(fd);
            if (n <= 0)
                abort();
            real[n] = '\0';
            property(real, out.root, &out.guard, guest, "open");
        }
    }
    static const char *const gates[] = {"*", "cwd://src", "home://notes", "/tmp"};
    (void)astrid_vfs_gate_allows(&roots, gates, 4, &out);
    return 0;
}
