/* `astrid gc [--force]` (and hidden `wit gc`): sweep content-addressed
 * blobs no installed capsule references — bin/{hash}.wasm and
 * wit/{hash}.wit — across every principal's home and the current
 * workspace. The daemon does it (CollectGarbage, which needs capsule:gc:
 * admin only) while no install is between writing its blob and its
 * meta.json. A dry run (the default) only lists them. bin/aot/ (compiled
 * objects) is left alone: its keys cover engine and compiler too, and an
 * entry is rebuilt when needed. */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "cli/capsule_util.h"
#include "cli/cli.h"

int cli_gc(cli_ctx *ctx)
{
    bool force = cli_flag_count(ctx, "force") > 0;
    json_t *params = json_pack("{s:b}", "force", force), *r = NULL;
    /* The current workspace's capsules reference blobs too (as upstream;
     * another workspace's are not seen: run gc from each). */
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd))
        json_object_set_new(params, "workspace_dir", json_string(cwd));
    astrid_err err;
    int rc = cli_capsule_call(ctx, "gc", "CollectGarbage", params, NULL, NULL, &r, &err);
    json_decref(params);
    if (rc != 0)
        return cli_fail(ctx, &err);
    json_t *blobs = json_object_get(r, "blobs"), *v;
    size_t i;
    json_array_foreach(json_object_get(r, "failed"), i, v)
    {
        fprintf(ctx->err, "astrid: cannot remove %s\n", json_string_value(v));
    }
    json_array_foreach(blobs, i, v)
    {
        fprintf(ctx->out, "%s %s\n", force ? "removed" : "would remove", json_string_value(v));
    }
    size_t n = json_array_size(blobs);
    fprintf(ctx->out, "%zu unreferenced blob%s (%lld bytes)%s; %lld referenced\n", n,
            n == 1 ? "" : "s", (long long)json_integer_value(json_object_get(r, "bytes")),
            force ? " removed" : ", dry run: pass --force to delete",
            (long long)json_integer_value(json_object_get(r, "referenced")));
    json_decref(r);
    return CLI_OK;
}
