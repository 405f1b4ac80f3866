/* libFuzzer: .capsule archive unpack (src/capsule/unpack.c, libarchive):
 * the input is the archive (gzip'd or plain tar), unpacked into a fresh
 * empty directory P/dest inside a per-process parent P that also holds the
 * archive file and a sentinel.
 *
 * Invariants: nothing is written outside P/dest (P holds exactly dest,
 * the archive and the unchanged sentinel); under dest there are regular
 * files and directories only, files 0600 and directories 0700; a refusal
 * carries a message. dest is removed after each run. */
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>

#include "capsule/install.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char P[256], arch[300], dest[300], sentinel[300];

static int rm_entry(const char *p, const struct stat *st, int type, struct FTW *f)
{
    (void)st;
    (void)f;
    return type == FTW_DP ? rmdir(p) : unlink(p);
}

static void cleanup(void)
{
    nftw(P, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int check_entry(const char *p, const struct stat *st, int type, struct FTW *f)
{
    (void)f;
    if (strncmp(p, dest, strlen(dest)) != 0)
        abort();
    if (type == FTW_D || type == FTW_DP) {
        if (strcmp(p, dest) != 0 && (st->st_mode & 07777) != 0700) {
            fprintf(stderr, "directory %s has mode %o\n", p, st->st_mode & 07777);
            abort();
        }
        return 0;
    }
    if (type != FTW_F || !S_ISREG(st->st_mode) || (st->st_mode & 07777) != 0600) {
        fprintf(stderr, "unpacked %s: not a 0600 regular file (type %d, mode %o)\n", p, type,
                st->st_mode);
        abort();
    }
    return 0;
}

static void check_parent(void)
{
    DIR *d = opendir(P);
    if (!d)
        abort();
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, "dest") ||
            !strcmp(e->d_name, "in.capsule") || !strcmp(e->d_name, "sentinel"))
            continue;
        fprintf(stderr, "unpack wrote %s/%s outside its destination\n", P, e->d_name);
        abort();
    }
    closedir(d);
    char buf[16];
    int fd = open(sentinel, O_RDONLY);
    if (fd < 0 || read(fd, buf, sizeof buf) != 4 || memcmp(buf, "keep", 4) != 0)
        abort();
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!P[0]) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(P, sizeof P, "%s/astrid-fuzz-unpack-XXXXXX", base);
        if (!mkdtemp(P))
            abort();
        atexit(cleanup);
        snprintf(arch, sizeof arch, "%s/in.capsule", P);
        snprintf(dest, sizeof dest, "%s/dest", P);
        snprintf(sentinel, sizeof sentinel, "%s/sentinel", P);
        int fd = open(sentinel, O_CREAT | O_WRONLY | O_TRUNC, 0600);
        if (fd < 0 || write(fd, "keep", 4) != 4)
            abort();
        close(fd);
    }
    int fd = open(arch, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
        abort();
    close(fd);
    if (mkdir(dest, 0700) != 0)
        abort();
    astrid_err err = {0};
    if (astrid_capsule_unpack(arch, dest, &err) != 0 && !err.msg[0])
        abort();
    check_parent();
    if (nftw(dest, check_entry, 16, FTW_PHYS) != 0)
        abort();
    if (nftw(dest, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        abort();
    return 0;
}
