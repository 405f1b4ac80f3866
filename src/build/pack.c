/* The .capsule archive (reference §15.4): a gzip'd tar holding, at the
 * root, Capsule.toml, the .wasm under its bare name, a wit/ tree (the
 * capsule's own wit/ files plus wit/deps/astrid/astrid.wit) and the
 * JSON-Schema files its [[topic]] entries name (the install bakes them into
 * meta.json, src/capsule/topics.c). Regular files
 * only, mode 0644, no owner names: installs unpack it with the same rules
 * in reverse (no absolute paths, no "..", no links). */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "astrid/fs.h"
#include "astrid/toml.h"
#include "build/build_cmds.h"

#define PACK_MAX_FILE (64u << 20)

static int add_file(struct archive *a, const char *src, const char *name, astrid_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    if (astrid_read_file(src, PACK_MAX_FILE, &buf, &len, err) != 0)
        return -1;
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_size(e, (la_int64_t)len);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_mtime(e, time(NULL), 0);
    int rc = 0;
    if (archive_write_header(a, e) != ARCHIVE_OK ||
        (len && archive_write_data(a, buf, len) != (la_ssize_t)len))
        rc = astrid_err_set(err, ASTRID_E_IO, "packing %s: %s", name, archive_error_string(a));
    archive_entry_free(e);
    free(buf);
    return rc;
}

/* Regular files under dir/rel, recursively, as wit/<rel>/... */
static int add_tree(struct archive *a, const char *dir, const char *rel, int depth, astrid_err *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s%s%s", dir, *rel ? "/" : "", rel);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char sub[PATH_MAX], full[PATH_MAX * 2], name[PATH_MAX + 8];
        snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
        snprintf(full, sizeof full, "%s/%s", dir, sub);
        struct stat st;
        if (lstat(full, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode) && depth < 8)
            rc = add_tree(a, dir, sub, depth + 1, err);
        else if (S_ISREG(st.st_mode)) {
            snprintf(name, sizeof name, "wit/%s", sub);
            rc = add_file(a, full, name, err);
        }
        /* symlinks and specials are left out: an archive holds plain files */
    }
    closedir(d);
    return rc;
}

/* [[topic]] schema = "rel/path.json": packed under that name, once. The
 * manifest rules already refused absolute paths and ".."; a link or a
 * special file is refused here rather than left out, since the install
 * would then refuse the archive for the missing file. */
static int add_topic_schemas(struct archive *a, const char *dir, const char *manifest,
                             astrid_err *err)
{
    astrid_toml *root = astrid_toml_parse_file(manifest, err, NULL);
    if (!root)
        return -1;
    const astrid_toml *ts = astrid_toml_get(root, "topic");
    int rc = 0;
    for (size_t i = 0; rc == 0 && ts && i < astrid_toml_len(ts); i++) {
        const char *rel = astrid_toml_str(astrid_toml_get(astrid_toml_at(ts, i), "schema"), NULL);
        if (!rel || !*rel)
            continue;
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++) {
            const char *o = astrid_toml_str(astrid_toml_get(astrid_toml_at(ts, k), "schema"), NULL);
            seen = o && strcmp(o, rel) == 0;
        }
        if (seen)
            continue;
        char full[PATH_MAX * 2];
        snprintf(full, sizeof full, "%s/%s", dir, rel);
        struct stat st;
        if (rel[0] == '/' || strstr(rel, "..") || lstat(full, &st) != 0 || !S_ISREG(st.st_mode))
            rc = astrid_err_set(err, ASTRID_E_INVALID,
                                "topic[%zu].schema %s: not a regular file inside the capsule", i,
                                rel);
        else
            rc = add_file(a, full, rel, err);
    }
    astrid_toml_free(root);
    return rc;
}

int astrid_build_pack(const char *capsule_dir, const char *wasm_path, const char *wasm_name,
                      const char *astrid_wit, const char *out, astrid_err *err)
{
    char tmp[PATH_MAX + 16], manifest[PATH_MAX + 16], wit[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    snprintf(manifest, sizeof manifest, "%s/Capsule.toml", capsule_dir);
    snprintf(wit, sizeof wit, "%s/wit", capsule_dir);
    struct archive *a = archive_write_new();
    if (!a)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    archive_write_set_format_pax_restricted(a);
    archive_write_add_filter_gzip(a);
    int rc = 0;
    if (archive_write_open_filename(a, tmp) != ARCHIVE_OK)
        rc = astrid_err_set(err, ASTRID_E_IO, "%s: %s", tmp, archive_error_string(a));
    if (rc == 0)
        rc = add_file(a, manifest, "Capsule.toml", err);
    if (rc == 0)
        rc = add_file(a, wasm_path, wasm_name, err);
    if (rc == 0)
        rc = add_tree(a, wit, "", 0, err);
    if (rc == 0)
        rc = add_topic_schemas(a, capsule_dir, manifest, err);
    if (rc == 0 && astrid_wit && *astrid_wit)
        rc = add_file(a, astrid_wit, "wit/deps/astrid/astrid.wit", err);
    if (archive_write_close(a) != ARCHIVE_OK && rc == 0)
        rc = astrid_err_set(err, ASTRID_E_IO, "%s: %s", tmp, archive_error_string(a));
    archive_write_free(a);
    if (rc == 0 && rename(tmp, out) != 0)
        rc = astrid_err_sys(err, "rename %s", out);
    if (rc != 0)
        remove(tmp);
    return rc;
}
