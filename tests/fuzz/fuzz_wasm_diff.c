/* Differential target: the engine's reader of WebAssembly modules
 * (src/capsule/wasm/wasm_parse.c) against wasm2c's validation, the same
 * command line the AOT pipeline runs (aot.c: wasm2c --no-debug-names -n m
 * module.wasm -o module.c). Our reader parses only the interface sections
 * and leaves function bodies to wasm2c, so "we accept, wasm2c refuses" is
 * expected; the finding is the other way:
 *
 *   wasm2c accepts a module and our reader refuses it for any reason but
 *   the one deliberate policy (names with NUL bytes)  -> abort().
 *
 * and, for a module both accept, our reading must be coherent (every
 * export's index inside its index space, a type index for every function).
 *
 * wasm2c is a process per input (~15 ms of CPU), far too slow to fuzz at
 * libFuzzer's pace: tests/fuzz/wasm_diff.sh runs this binary once over the
 * spec test suite's modules and the fuzz_wasm_parse corpus (-runs=0), and
 * `make fuzz` gives it the same time as the others (it finds less there).
 * WASM2C names another binary (default: wasm2c in PATH);
 * WASM_DIFF_KEEP_GOING=1 prints each difference ("DIFF: ...") instead of
 * stopping at the first (the script counts them), and WASM_DIFF_SAVE=DIR
 * keeps each such module there as diff-N.wasm. */
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capsule/wasm/wasm_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern char **environ;
static char dir[256], in[300], out[300];

static void cleanup(void)
{
    unlink(in);
    unlink(out);
    char h[310];
    snprintf(h, sizeof h, "%.300s", out);
    h[strlen(h) - 1] = 'h'; /* wasm2c writes module.h beside module.c */
    unlink(h);
    rmdir(dir);
}

static int wasm2c_accepts(const uint8_t *data, size_t size)
{
    int fd = open(in, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
        abort();
    close(fd);
    const char *w2c = getenv("WASM2C");
    if (!w2c || !*w2c)
        w2c = "wasm2c";
    char *argv[] = {(char *)w2c, "--no-debug-names", "-n", "m", in, "-o", out, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, w2c, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "fuzz_wasm_diff: cannot run %s\n", w2c);
        abort();
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        ;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 127) {
        fprintf(stderr, "fuzz_wasm_diff: %s not found\n", w2c);
        abort();
    }
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void coherent(const astrid_wasm_info *info)
{
    for (size_t i = 0; i < info->nfuncs; i++)
        if (info->func_types[i] >= info->ntypes)
            abort();
    for (size_t i = 0; i < info->nexports; i++) {
        const astrid_wasm_export *e = &info->exports[i];
        if (e->kind == ASTRID_WASM_EXT_FUNC &&
            (e->index >= info->nfuncs || e->type_index >= info->ntypes))
            abort();
        if (e->kind == ASTRID_WASM_EXT_GLOBAL && e->index >= info->nglobals)
            abort();
        if (e->kind == ASTRID_WASM_EXT_MEMORY && e->index >= info->nmemories)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(dir, sizeof dir, "%s/astrid-fuzz-w2c-XXXXXX", base);
        if (!mkdtemp(dir))
            abort();
        atexit(cleanup);
        snprintf(in, sizeof in, "%s/module.wasm", dir);
        snprintf(out, sizeof out, "%s/module.c", dir);
    }
    if (size > (1u << 20))
        return 0;
    astrid_wasm_info info;
    astrid_err err = {0};
    int ours = astrid_wasm_parse(data, size, &info, &err) == 0;
    if (ours) {
        coherent(&info);
        astrid_wasm_info_free(&info);
    }
    int theirs = wasm2c_accepts(data, size);
    if (getenv("WASM_DIFF_KEEP_GOING"))
        fprintf(stderr, "VERDICT wasm2c=%d reader=%d\n", theirs, ours);
    if (theirs && !ours && !strstr(err.msg, "NUL bytes")) {
        fprintf(stderr, "DIFF: wasm2c accepts a module the engine's reader refuses: %s\n", err.msg);
        if (!getenv("WASM_DIFF_KEEP_GOING"))
            abort();
        const char *save = getenv("WASM_DIFF_SAVE");
        static unsigned nsaved;
        char p[600];
        if (save && snprintf(p, sizeof p, "%s/diff-%u.wasm", save, nsaved++) < (int)sizeof p) {
            int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0600);
            if (fd >= 0 && write(fd, data, size) != (ssize_t)size)
                fprintf(stderr, "cannot save %s\n", p);
            if (fd >= 0)
                close(fd);
        }
    }
    return 0;
}
