/* Installed capsules: scan, meta.json, integrity check. See installed.h. */
#include "lib/manifest/installed.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "astrid/blake3.h"
#include "astrid/fs.h"
#include "astrid/home.h"
#include "astrid/jsonsafe.h"
#include "astrid/principal.h"

#define WASM_MAX (64u << 20)

void astrid_installed_free(astrid_installed *c)
{
    astrid_manifest_free(c->manifest);
    free(c->wasm);
    memset(c, 0, sizeof *c);
}

int astrid_installed_load(const char *home, const char *owner, const char *dir,
                          astrid_installed *out, astrid_err *err)
{
    memset(out, 0, sizeof *out);
    snprintf(out->owner, sizeof out->owner, "%s", owner);
    snprintf(out->dir, sizeof out->dir, "%s", dir);
    char path[4200];
    snprintf(path, sizeof path, "%s/Capsule.toml", dir);
    if (!(out->manifest = astrid_manifest_load(path, err)))
        return -1;
    snprintf(path, sizeof path, "%s/meta.json", dir);
    json_error_t je;
    json_t *meta = astrid_json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    const char *hash = json_string_value(json_object_get(meta, "wasm_hash"));
    int rc = 0;
    if (!meta) {
        rc = astrid_err_set(err, ASTRID_E_PARSE, "%s: %s", path, je.text);
    } else if (!hash && !out->manifest->wasm_file &&
               json_is_true(json_object_get(meta, "mcp_only")) &&
               astrid_manifest_stdio_servers(out->manifest) > 0) {
        /* MCP servers only (docs/mcp.md): no wasm to verify or load */
    } else if (!hash || strlen(hash) != 64 || strspn(hash, "0123456789abcdef") != 64) {
        rc = astrid_err_set(err, ASTRID_E_INVALID,
                            "capsule %s has no BLAKE3 hash in meta.json (wasm_hash); reinstall it",
                            out->manifest->name);
    } else {
        snprintf(out->wasm_hash, sizeof out->wasm_hash, "%s", hash);
        astrid_home_wasm_blob(path, sizeof path, home, hash, NULL);
        /* A workspace install also keeps its wasm next to its manifest,
         * so a gc run from elsewhere cannot strand it. */
        if (access(path, F_OK) != 0 && out->manifest->wasm_file)
            snprintf(path, sizeof path, "%s/%s", dir, out->manifest->wasm_file);
        char *buf = NULL;
        char got[65];
        if (astrid_read_file(path, WASM_MAX, &buf, &out->wasm_len, err) != 0) {
            rc = -1;
        } else {
            astrid_blake3_hex(buf, out->wasm_len, got);
            if (strcmp(got, hash) != 0) {
                free(buf);
                rc = astrid_err_set(err, ASTRID_E_INVALID,
                                    "WASM integrity check failed for capsule %s: %s hashes to "
                                    "%s, meta.json says %s",
                                    out->manifest->name, path, got, hash);
            } else {
                out->wasm = (uint8_t *)buf;
            }
        }
    }
    json_decref(meta);
    if (rc != 0)
        astrid_installed_free(out);
    return rc;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted entry names of `dir` (not starting with '.'); caller frees. */
static size_t list_dir(const char *dir, char ***out)
{
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            char **nv = realloc(*out, (cap = cap ? cap * 2 : 16) * sizeof *nv);
            if (!nv)
                break;
            *out = nv;
        }
        if (((*out)[n] = strdup(de->d_name)))
            n++;
    }
    closedir(d);
    if (n > 1)
        qsort(*out, n, sizeof **out, cmp_name);
    return n;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void astrid_installed_scan_dir(const char *caps, const char *owner, astrid_installed_fn fn,
                               void *ctx)
{
    char **names;
    size_t nn = list_dir(caps, &names);
    for (size_t j = 0; j < nn; j++) {
        char dir[4700], meta[4800];
        snprintf(dir, sizeof dir, "%s/%s", caps, names[j]);
        snprintf(meta, sizeof meta, "%s/meta.json", dir);
        if (access(meta, F_OK) == 0)
            fn(ctx, owner, dir);
    }
    free_list(names, nn);
}

void astrid_installed_scan(const char *home, astrid_installed_fn fn, void *ctx)
{
    char homes[4200];
    astrid_home_homes_dir(homes, sizeof homes, home, NULL);
    char **owners;
    size_t no = list_dir(homes, &owners);
    for (size_t i = 0; i < no; i++) {
        if (astrid_principal_validate(owners[i], NULL) != 0)
            continue;
        char caps[4400];
        astrid_home_capsules_dir(caps, sizeof caps, home, owners[i], NULL);
        astrid_installed_scan_dir(caps, owners[i], fn, ctx);
    }
    free_list(owners, no);
}
