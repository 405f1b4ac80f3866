/* Shared fixtures of the cmocka programs in tests/unit/: a scratch directory
 * per test and running a CLI entry point with captured output. Header-only
 * (static inline): each test_*.c links as its own program, and what a
 * program does not call costs it nothing. */
#ifndef ASTRID_TEST_FIXTURE_H
#define ASTRID_TEST_FIXTURE_H

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A fresh, empty directory /tmp/astrid-{tag}-XXXXXX written into `dir` (`n`
 * bytes; the caller owns it). 0, or -1 when it cannot be made. */
static inline int fixture_tmpdir(char *dir, size_t n, const char *tag)
{
    int w = snprintf(dir, n, "/tmp/astrid-%s-XXXXXX", tag);
    return w > 0 && (size_t)w < n && mkdtemp(dir) ? 0 : -1;
}

static inline int fixture_rm_entry(const char *p, const struct stat *st, int type, struct FTW *f)
{
    (void)st;
    (void)f;
    return type == FTW_DP ? rmdir(p) : unlink(p);
}

/* Remove `dir` and everything below it, following no symlink (as rm -rf).
 * A directory already gone is not an error. 0 or -1. */
static inline int fixture_rmdir(const char *dir)
{
    struct stat st;
    if (lstat(dir, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    return nftw(dir, fixture_rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

/* Split `line` at spaces into argv (at most `max` words) inside `buf`,
 * which must outlive argv. Returns argc. */
static inline int fixture_argv(char *buf, size_t bufsz, const char *line, char **argv, int max)
{
    int argc = 0;
    snprintf(buf, bufsz, "%s", line);
    char *save = NULL;
    for (char *t = strtok_r(buf, " ", &save); t && argc < max; t = strtok_r(NULL, " ", &save))
        argv[argc++] = t;
    return argc;
}

/* Run `main_fn` (cli_main's shape) on `line` split at spaces; what it
 * writes to its output and error streams lands NUL-terminated in `out` and
 * `err` (either may be NULL to drop it). Returns main_fn's exit code. */
static inline int fixture_run(int (*main_fn)(int, char **, FILE *, FILE *), const char *line,
                              char *out, size_t outsz, char *err, size_t errsz)
{
    static char buf[512];
    char *argv[32];
    int argc = fixture_argv(buf, sizeof buf, line, argv, 32);
    FILE *o = tmpfile(), *e = tmpfile();
    int rc = main_fn(argc, argv, o, e);
    rewind(o);
    rewind(e);
    if (out)
        out[fread(out, 1, outsz - 1, o)] = '\0';
    if (err)
        err[fread(err, 1, errsz - 1, e)] = '\0';
    fclose(o);
    fclose(e);
    return rc;
}

#endif
