/* Safe unpack of a .capsule (gzip'd tar): regular files and directories
 * only; absolute paths, "..", symlinks, hard links and special files are
 * refused; sizes capped. Its own object so that only programs that unpack
 * (astrid-build) link libarchive, which drags in libxml2 and ICU and would
 * triple the CLI's start-up time. */
#include <archive.h>
#include <archive_entry.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/fs.h"
#include "capsule/install.h"

#define ARCHIVE_MAX_FILE (64u << 20)
#define ARCHIVE_MAX_TOTAL (128u << 20)
#define ARCHIVE_MAX_ENTRIES 4096

static bool safe_path(const char *p)
{
    if (!*p || p[0] == '/')
        return false;
    for (const char *s = p; *s;) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if ((n == 2 && s[0] == '.' && s[1] == '.'))
            return false;
        if (!e)
            break;
        s = e + 1;
    }
    return true;
}

int astrid_capsule_unpack(const char *archive, const char *dest, astrid_err *err)
{
    struct archive *a = archive_read_new();
    if (!a)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    archive_read_support_filter_gzip(a);
    archive_read_support_format_tar(a);
    int rc = 0;
    if (archive_read_open_filename(a, archive, 65536) != ARCHIVE_OK) {
        rc = astrid_err_set(err, ASTRID_E_PARSE, "%s: %s", archive, archive_error_string(a));
        archive_read_free(a);
        return rc;
    }
    struct archive_entry *e;
    size_t total = 0, n = 0;
    int r;
    while (rc == 0 && (r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(e);
        mode_t type = archive_entry_filetype(e);
        char clean[4096];
        snprintf(clean, sizeof clean, "%s", name ? name : "");
        size_t cl = strlen(clean);
        while (cl && clean[cl - 1] == '/')
            clean[--cl] = '\0';
        if (cl > 2 && strncmp(clean, "./", 2) == 0)
            memmove(clean, clean + 2, cl - 1);
        if (++n > ARCHIVE_MAX_ENTRIES)
            rc = astrid_err_set(err, ASTRID_E_LIMIT, "%s: more than %d entries", archive,
                                ARCHIVE_MAX_ENTRIES);
        else if (!safe_path(clean))
            rc = astrid_err_set(err, ASTRID_E_INVALID,
                                "%s: refusing entry '%s' (absolute path or '..')", archive, name);
        else if (archive_entry_hardlink(e) || type == AE_IFLNK)
            rc = astrid_err_set(err, ASTRID_E_INVALID, "%s: refusing link entry '%s'", archive,
                                name);
        else if (type != AE_IFREG && type != AE_IFDIR)
            rc = astrid_err_set(err, ASTRID_E_INVALID, "%s: refusing special file '%s'", archive,
                                name);
        if (rc != 0)
            break;
        char path[8300];
        snprintf(path, sizeof path, "%s/%s", dest, clean);
        if (type == AE_IFDIR) {
            rc = astrid_mkdir_p(path, 0700, 0, err);
            continue;
        }
        la_int64_t size = archive_entry_size(e);
        if (size < 0 || size > (la_int64_t)ARCHIVE_MAX_FILE ||
            (total += (size_t)size) > ARCHIVE_MAX_TOTAL) {
            rc = astrid_err_set(err, ASTRID_E_LIMIT, "%s: entry '%s' too large", archive, name);
            break;
        }
        char *slash = strrchr(path, '/');
        *slash = '\0';
        rc = astrid_mkdir_p(path, 0700, 0, err);
        *slash = '/';
        char *buf = malloc(size ? (size_t)size : 1);
        if (rc == 0 && !buf)
            rc = astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        if (rc == 0 && size && archive_read_data(a, buf, (size_t)size) != size)
            rc = astrid_err_set(err, ASTRID_E_PARSE, "%s: truncated entry '%s'", archive, name);
        if (rc == 0)
            rc = astrid_atomic_write(path, buf, (size_t)size, 0600, err);
        free(buf);
    }
    if (rc == 0 && r != ARCHIVE_EOF)
        rc = astrid_err_set(err, ASTRID_E_PARSE, "%s: %s", archive, archive_error_string(a));
    archive_read_free(a);
    return rc;
}
