/* `astrid gc [--force]` (and hidden `wit gc`): sweep content-addressed
 * blobs no installed capsule references — bin/{hash}.wasm and
 * wit/{hash}.wit — across every principal's home. A dry run (the default)
 * only lists them. bin/aot/ (compiled objects) is left alone: its keys
 * cover engine and compiler too, and an entry is rebuilt when needed. */
#include <dirent.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/manifest/installed.h"
#include "astrid/home.h"
#include "cli/cli.h"
#include "cli/context.h"

typedef struct refs {
    json_t *set; /* hash -> true */
} refs;

static void collect(void *ctx, const char *owner, const char *dir)
{
    (void)owner;
    refs *r = ctx;
    char path[4200];
    snprintf(path, sizeof path, "%s/meta.json", dir);
    json_t *meta = json_load_file(path, 0, NULL);
    const char *h = json_string_value(json_object_get(meta, "wasm_hash"));
    if (h)
        json_object_set_new(r->set, h, json_true());
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(meta, "wit_files"), k, v)
    {
        if (json_is_string(v))
            json_object_set_new(r->set, json_string_value(v), json_true());
    }
    json_decref(meta);
}

static size_t sweep(cli_ctx *ctx, const char *dir, const char *ext, refs *r, bool force,
                    size_t *bytes)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    size_t n = 0, el = strlen(ext);
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l != 64 + el || strcmp(de->d_name + 64, ext) != 0)
            continue;
        char hash[65];
        memcpy(hash, de->d_name, 64);
        hash[64] = '\0';
        if (json_object_get(r->set, hash))
            continue;
        char path[PATH_MAX + 80];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "rb");
        if (f) {
            fseek(f, 0, SEEK_END);
            *bytes += (size_t)ftell(f);
            fclose(f);
        }
        if (force && unlink(path) != 0) {
            fprintf(ctx->err, "astrid: cannot remove %s\n", path);
            continue;
        }
        fprintf(ctx->out, "%s %s\n", force ? "removed" : "would remove", path);
        n++;
    }
    closedir(d);
    return n;
}

int cli_gc(cli_ctx *ctx)
{
    char home[PATH_MAX], bin[PATH_MAX + 8], wit[PATH_MAX + 8];
    astrid_err err;
    if (cli_home(home, sizeof home, &err) < 0)
        return cli_fail(ctx, &err);
    refs r = {json_object()};
    astrid_installed_scan(home, collect, &r);
    /* The current workspace's capsules reference blobs too (as upstream;
     * another workspace's are not seen: run gc from each). */
    char ws[PATH_MAX + 32];
    if (getcwd(ws, PATH_MAX)) {
        strcat(ws, "/" ASTRID_WORKSPACE_CAPSULES);
        astrid_installed_scan_dir(ws, "default", collect, &r);
    }
    bool force = cli_flag_count(ctx, "force") > 0;
    astrid_home_bin_dir(bin, sizeof bin, home, NULL); /* "" sweeps nothing */
    astrid_home_wit_dir(wit, sizeof wit, home, NULL);
    size_t bytes = 0;
    size_t n =
        sweep(ctx, bin, ".wasm", &r, force, &bytes) + sweep(ctx, wit, ".wit", &r, force, &bytes);
    fprintf(ctx->out, "%zu unreferenced blob%s (%zu bytes)%s; %zu referenced\n", n,
            n == 1 ? "" : "s", bytes, force ? " removed" : ", dry run: pass --force to delete",
            json_object_size(r.set));
    json_decref(r.set);
    return CLI_OK;
}
