/* `astrid capsule update [NAME] [--workspace]`: re-install capsules from
 * the source their meta.json records (reference §15.3), served by the
 * daemon (UpdateCapsule, src/kernel/req_capsule.c). A capsule whose
 * source still holds the same wasm and Capsule.toml is left alone
 * (unchanged); a source that now declares another name is refused, so an
 * update never installs a different capsule. Remote sources (https://,
 * @org/repo, github.com/...) are fetched again by the daemon; OpenClaw
 * sources are not built in this release (skipped). */
#include <string.h>

#include "cli/admin.h"
#include "cli/capsule_util.h"
#include "cli/cli_stub.h"

typedef struct tally {
    size_t printed, updated, unchanged, failed, skipped;
} tally;

/* One per-capsule result of UpdateCapsule, as it arrives. */
static void print_result(cli_ctx *ctx, json_t *r, void *user)
{
    tally *t = user;
    const char *name = json_string_value(json_object_get(r, "name")) ?: "?";
    const char *outcome = json_string_value(json_object_get(r, "outcome")) ?: "failed";
    const char *from = json_string_value(json_object_get(r, "from")) ?: "?";
    const char *hash = json_string_value(json_object_get(r, "wasm_hash")) ?: "";
    const char *why = json_string_value(json_object_get(r, "error")) ?: "";
    t->printed++;
    if (strcmp(outcome, "updated") == 0) {
        fprintf(ctx->out, "%s: updated %s -> %s (wasm %.12s)\n", name, from,
                json_string_value(json_object_get(r, "version")) ?: "?", hash);
        t->updated++;
    } else if (strcmp(outcome, "unchanged") == 0) {
        fprintf(ctx->out, "%s: unchanged (%s, wasm %.12s)\n", name, from, hash);
        t->unchanged++;
    } else if (strcmp(outcome, "skipped") == 0) {
        fprintf(ctx->out, "%s: skipped: %s\n", name, why);
        t->skipped++;
    } else {
        fprintf(ctx->out, "%s: failed: %s\n", name, why);
        t->failed++;
    }
}

static int capsule_update(cli_ctx *ctx)
{
    json_t *params = json_object(), *r = NULL;
    if (ctx->argc == 1)
        json_object_set_new(params, "name", json_string(ctx->argv[0]));
    int rc = cli_capsule_scope(ctx, params);
    tally t = {0};
    astrid_err err;
    if (rc == CLI_OK && cli_capsule_call(ctx, "update_capsule", "UpdateCapsule", params,
                                         print_result, &t, &r, &err) != 0)
        rc = cli_fail(ctx, &err);
    json_decref(params);
    if (rc != CLI_OK)
        return rc;
    json_t *results = json_object_get(r, "results");
    size_t n = json_array_size(results);
    /* results whose progress message did not arrive */
    for (size_t i = t.printed; i < n; i++)
        print_result(ctx, json_array_get(results, i), &t);
    if (n == 0)
        fprintf(ctx->out, "No capsules installed in %s\n",
                json_string_value(json_object_get(r, "dir")) ?: "?");
    fflush(ctx->out);
    cli_capsule_print_reload(ctx, r);
    if (n > 1)
        fprintf(ctx->out, "%zu updated, %zu unchanged, %zu failed%s\n", t.updated, t.unchanged,
                t.failed, t.skipped ? ", some skipped (remote)" : "");
    json_decref(r);
    return t.failed ? CLI_ERROR : t.skipped ? CLI_UNAVAILABLE : CLI_OK;
}

const cli_cmd cli_capsule_update = {
    .name = "update",
    .args = "[name]",
    .max_args = 1,
    .help = "Re-install capsules from their source",
    .long_help = "Re-installs NAME (default: every installed capsule) from the source its "
                 "meta.json records (a local directory or .capsule file, or a remote source "
                 "fetched again: an https URL, @org/repo's latest release), and reports each as "
                 "updated, unchanged (same wasm and Capsule.toml) or failed. Exits 1 when any "
                 "failed, 2 when an openclaw: source was skipped.",
    .flags =
        CLI_FLAGS({"workspace", 0, NULL, "Use the workspace's .astrid/capsules", false, false}),
    .fn = capsule_update};
