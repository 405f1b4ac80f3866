/* interface fs: files through the invoking principal's VFS (home://,
 * /tmp/, cwd://), gated by the manifest's fs_read / fs_write. Every call
 * goes through src/vfs, which keeps the kernel's own state out of reach
 * (astrid_vfs_guard_check) for the path and for the object actually
 * opened, created or removed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "astrid/fs.h"
#include "astrid/home.h"
#include "capsule/host/abi.h"
#include "vfs/vfs.h"

#define FS(f) HOST_FN(fs, f)
#define FILE_MAX (10u << 20)

/* Resolve and gate a guest path; on refusal the error is written at
 * ret+off and -1 returned. */
static int resolve(void *inst, uint32_t pp, uint32_t pn, bool write, uint32_t ret, uint32_t off,
                   astrid_vfs_path *out)
{
    const astrid_invocation *inv = abi_inv(inst);
    char *guest = abi_str(inst, pp, pn, 4096);
    char home[4200];
    /* "" when it cannot be built: the VFS then reaches nothing in the home */
    astrid_principal_home(home, sizeof home, inv->env->home, inv->principal, NULL);
    astrid_vfs_roots roots = {.principal_home = home,
                              .workspace = inv->env->workspace ? inv->env->workspace : home,
                              .astrid_home = inv->env->home};
    astrid_err err;
    int rc = -1;
    const astrid_strv *gate = write ? &inv->manifest->fs_write : &inv->manifest->fs_read;
    if (astrid_vfs_resolve(&roots, guest, out, &err) != 0)
        abi_err(inst, ret, off, "%s", err.msg);
    else if (!astrid_vfs_gate_allows(&roots, (const char *const *)gate->v, gate->n, out))
        abi_err(inst, ret, off, "capsule %s may not %s %s (not in its %s)", inv->capsule,
                write ? "write" : "read", guest, write ? "fs_write" : "fs_read");
    else
        rc = 0;
    free(guest);
    return rc;
}

void FS(readZ2Dfile)(void *inst, uint32_t pp, uint32_t pn, uint32_t ret);
void FS(readZ2Dfile)(void *inst, uint32_t pp, uint32_t pn, uint32_t ret)
{
    astrid_wasm_host_enter(inst);
    astrid_vfs_path p;
    astrid_err err;
    if (resolve(inst, pp, pn, false, ret, 4, &p) == 0) {
        int fd = astrid_vfs_open(&p, O_RDONLY | O_CLOEXEC, 0, &err);
        struct stat st;
        if (fd < 0) {
            abi_err(inst, ret, 4, "%s", err.msg);
        } else if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            abi_err(inst, ret, 4, "%s is not a regular file", p.rel);
        } else if ((uint64_t)st.st_size > FILE_MAX) {
            abi_err(inst, ret, 4, "file larger than 10 MiB");
        } else {
            char *buf = malloc((size_t)st.st_size + 1);
            ssize_t n = buf ? read(fd, buf, (size_t)st.st_size) : -1;
            if (n < 0) {
                abi_err(inst, ret, 4, "read %s: %s", p.rel, strerror(errno));
            } else {
                abi_ok(inst, ret, 12);
                abi_put(inst, ret + 4, buf, (uint32_t)n);
            }
            free(buf);
        }
        if (fd >= 0)
            close(fd);
    }
    astrid_wasm_host_leave(inst);
}

void FS(writeZ2Dfile)(void *inst, uint32_t pp, uint32_t pn, uint32_t cp, uint32_t cn, uint32_t ret);
void FS(writeZ2Dfile)(void *inst, uint32_t pp, uint32_t pn, uint32_t cp, uint32_t cn, uint32_t ret)
{
    astrid_wasm_host_enter(inst);
    astrid_vfs_path p;
    astrid_err err;
    if (cn > FILE_MAX) {
        abi_err(inst, ret, 4, "content larger than 10 MiB");
    } else if (resolve(inst, pp, pn, true, ret, 4, &p) == 0) {
        char *data = abi_str(inst, cp, cn, FILE_MAX);
        /* charged before the open truncates: a refused write leaves the
         * file as it was (and creates none) */
        struct stat st;
        int64_t old =
            astrid_vfs_lstat(&p, &st, NULL) == 0 && S_ISREG(st.st_mode) ? st.st_size : 0;
        int fd = -1;
        if (astrid_invocation_charge(abi_inv(inst), (int64_t)cn - old, &err) != 0) {
            abi_err(inst, ret, 4, "write %s: %s", p.rel, err.msg);
        } else if ((fd = astrid_vfs_open(&p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600,
                                         &err)) < 0) {
            abi_err(inst, ret, 4, "%s", err.msg);
            astrid_invocation_charge(abi_inv(inst), old - (int64_t)cn, NULL);
        } else if (write(fd, data, cn) != (ssize_t)cn) {
            abi_err(inst, ret, 4, "write %s: %s", p.rel, strerror(errno));
            /* charged for cn: correct to what the file holds now */
            int64_t now = fstat(fd, &st) == 0 ? st.st_size : 0;
            astrid_invocation_charge(abi_inv(inst), now - (int64_t)cn, NULL);
        } else {
            abi_ok(inst, ret, 12);
        }
        if (fd >= 0)
            close(fd);
        free(data);
    }
    astrid_wasm_host_leave(inst);
}

void FS(fsZ2Dexists)(void *inst, uint32_t pp, uint32_t pn, uint32_t ret);
void FS(fsZ2Dexists)(void *inst, uint32_t pp, uint32_t pn, uint32_t ret)
{
    astrid_wasm_host_enter(inst);
    astrid_vfs_path p;
    astrid_err err;
    if (resolve(inst, pp, pn, false, ret, 4, &p) == 0) {
        struct stat st;
        int r = astrid_vfs_lstat(&p, &st, &err);
        if (r != 0 && err.code != ASTRID_E_NOTFOUND) {
            abi_err(inst, ret, 4, "%s", err.msg);
        } else {
            abi_ok(inst, ret, 12);
            abi_u8(inst, ret + 4, r == 0);
        }
    }
    astrid_wasm_host_leave(inst);
}

void FS(fsZ2Dmkdir)(void *inst, uint32_t pp, uint32_t pn, uint32_t ret);
void FS(fsZ2Dmkdir)(void *inst, uint32_t pp, uint32_t pn, uint32_t ret)
{
    astrid_wasm_host_enter(inst);
    astrid_vfs_path p;
    astrid_err err;
    if (resolve(inst, pp, pn, true, ret, 4, &p) == 0) {
        if (astrid_vfs_mkdir(&p, &err) != 0)
            abi_err(inst, ret, 4, "%s", err.msg);
        else
            abi_ok(inst, ret, 12);
    }
    astrid_wasm_host_leave(inst);
}

void FS(fsZ2Dunlink)(void *inst, uint32_t pp, uint32_t pn, uint32_t ret);
void FS(fsZ2Dunlink)(void *inst, uint32_t pp, uint32_t pn, uint32_t ret)
{
    astrid_wasm_host_enter(inst);
    astrid_vfs_path p;
    astrid_err err;
    if (resolve(inst, pp, pn, true, ret, 4, &p) == 0) {
        struct stat st;
        int64_t size = astrid_vfs_lstat(&p, &st, NULL) == 0 && S_ISREG(st.st_mode) ? st.st_size : 0;
        if (astrid_vfs_unlink(&p, &err) != 0) {
            abi_err(inst, ret, 4, "%s", err.msg);
        } else {
            abi_ok(inst, ret, 12);
            astrid_invocation_charge(abi_inv(inst), -size, NULL); /* freed */
        }
    }
    astrid_wasm_host_leave(inst);
}

/* result<file-stat, string>: size u64 @8, is-dir @16, mtime some @24, u64 @32. */
void FS(fsZ2Dstat)(void *inst, uint32_t pp, uint32_t pn, uint32_t ret);
void FS(fsZ2Dstat)(void *inst, uint32_t pp, uint32_t pn, uint32_t ret)
{
    astrid_wasm_host_enter(inst);
    astrid_vfs_path p;
    astrid_err err;
    if (resolve(inst, pp, pn, false, ret, 8, &p) == 0) {
        struct stat st;
        if (astrid_vfs_lstat(&p, &st, &err) != 0) {
            abi_err(inst, ret, 8, "%s", err.msg);
        } else {
            abi_ok(inst, ret, 40);
            abi_u64(inst, ret + 8, (uint64_t)st.st_size);
            abi_u8(inst, ret + 16, S_ISDIR(st.st_mode));
            abi_u8(inst, ret + 24, 1);
            abi_u64(inst, ret + 32, (uint64_t)st.st_mtime);
        }
    }
    astrid_wasm_host_leave(inst);
}

/* result<list<string>, string>: entry names, sorted by the filesystem. */
void FS(fsZ2Dreaddir)(void *inst, uint32_t pp, uint32_t pn, uint32_t ret);
void FS(fsZ2Dreaddir)(void *inst, uint32_t pp, uint32_t pn, uint32_t ret)
{
    astrid_wasm_host_enter(inst);
    astrid_vfs_path p;
    astrid_err err;
    if (resolve(inst, pp, pn, false, ret, 4, &p) == 0) {
        int fd = astrid_vfs_open(&p, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0, &err);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
            if (fd >= 0)
                close(fd);
            abi_err(inst, ret, 4, "%s", fd < 0 ? err.msg : "not a directory");
        } else {
            char **names = NULL;
            size_t n = 0;
            struct dirent *de;
            while ((de = readdir(d)) && n < 4096) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                    continue;
                char **nv = realloc(names, (n + 1) * sizeof *nv);
                if (!nv)
                    break;
                names = nv;
                if ((names[n] = strdup(de->d_name)))
                    n++;
            }
            closedir(d);
            uint32_t *items = calloc(n ? n : 1, 8);
            abi_ok(inst, ret, 12);
            abi_put(inst, ret + 4, items, (uint32_t)(n * 8));
            free(items);
            uint32_t arr = 0, count = (uint32_t)n;
            memcpy(&arr, astrid_wasm_mem(inst, ret + 4, 4), 4);
            memcpy(astrid_wasm_mem(inst, ret + 8, 4), &count, 4);
            for (size_t i = 0; i < n; i++) {
                abi_put(inst, arr + (uint32_t)(8 * i), names[i], (uint32_t)strlen(names[i]));
                free(names[i]);
            }
            free(names);
        }
    }
    astrid_wasm_host_leave(inst);
}
