/* File helpers: the one atomic writer every state file goes through, a
 * bounded reader, safe path joining and directory creation.
 *
 * Ownership: buffers returned through `char **out` are malloc'd and owned by
 * the caller (free()).
 */
#ifndef ASTRID_FS_H
#define ASTRID_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "astrid/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Write `len` bytes to `path` atomically: a temp file in the same directory
 * created with `mode` (use 0600 for state), fsync of the file, rename over
 * `path`, fsync of the directory. On any failure the temp file is removed and
 * the old `path` (if any) is untouched. */
int astrid_atomic_write(const char *path, const void *data, size_t len, mode_t mode,
                        astrid_err *err);

/* astrid_atomic_write, except that nothing at all is written when `path`
 * is already a regular file holding exactly `data` with `mode`: boot
 * rewrites nothing unchanged, so it needs no free space to start. *written
 * (optional) tells whether the file was written. */
int astrid_write_if_changed(const char *path, const void *data, size_t len, mode_t mode,
                            bool *written, astrid_err *err);

/* Read a whole regular file, refusing files larger than `max` bytes. The
 * buffer is NUL-terminated (not counted in *len). */
int astrid_read_file(const char *path, size_t max, char **out, size_t *len, astrid_err *err);

/* Join `base` and a relative `rel` into `out` (size `outsz`). Rejects a
 * `rel` that is absolute, contains a `..` component, or (for the _n variant)
 * an embedded NUL; rejects results that do not fit. Empty and `.` components
 * are dropped. */
int astrid_path_join(char *out, size_t outsz, const char *base, const char *rel, astrid_err *err);
int astrid_path_join_n(char *out, size_t outsz, const char *base, const char *rel, size_t rel_len,
                       astrid_err *err);

/* mkdir -p with `mode` for each directory created; an existing directory is
 * chmod'ed to `mode` only when `force_mode` is non-zero. */
int astrid_mkdir_p(const char *path, mode_t mode, int force_mode, astrid_err *err);

/* fsync a directory (after creating or renaming entries in it). */
int astrid_fsync_dir(const char *dir, astrid_err *err);

/* A program installed next to the running executable, else on PATH:
 * its path in `out` and 0, or -1 when none is found. */
int astrid_find_program(const char *name, char *out, size_t n);

#ifdef __cplusplus
}
#endif
#endif
