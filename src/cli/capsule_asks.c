/* What a capsule asks for, shown at install (docs/capsules.md, "Who a
 * capsule serves, and what installing grants"): the daemon checks the
 * asks against the owner's capabilities before the compile (InstallCapsule)
 * and again at every load, and returns them in the reply's `asks`; this
 * renders them. */
#include <stdio.h>
#include <string.h>

#include "lib/manifest/privilege.h"
#include "cli/capsule_util.h"

static void print_list(FILE *out, json_t *asks, const char *key, int *lines)
{
    json_t *a = json_object_get(asks, key), *x;
    size_t i;
    if (!json_array_size(a))
        return;
    fprintf(out, "  %-14s ", key);
    json_array_foreach(a, i, x)
    {
        fprintf(out, "%s%s", i ? ", " : "", json_string_value(x));
    }
    fputc('\n', out);
    (*lines)++;
}

void cli_capsule_print_asks(cli_ctx *ctx, const char *name, json_t *asks)
{
    FILE *out = ctx->out;
    const char *owner = json_string_value(json_object_get(asks, "owner"));
    fprintf(out, "Capsule %s asks for:\n", name);
    static const char *const lists[] = {"fs_read",       "fs_write",     "net",     "ipc_publish",
                                        "ipc_subscribe", "host_process", "net_bind"};
    int lines = 0;
    for (size_t i = 0; i < sizeof lists / sizeof *lists; i++)
        print_list(out, asks, lists[i], &lines);
    const char *idn = json_string_value(json_object_get(asks, "identity"));
    if (idn && strcmp(idn, "none") != 0)
        fprintf(out, "  %-14s %s\n", "identity", idn), lines++;
    if (json_is_true(json_object_get(asks, "uplink")))
        fprintf(out, "  %-14s yes\n", "uplink"), lines++;
    if (json_is_true(json_object_get(asks, "allow_prompt_injection")))
        fprintf(out, "  allow_prompt_injection yes\n"), lines++;
    if (!lines)
        fprintf(out, "  (no files, network, bus topics or privileged asks)\n");
    json_t *needs = json_object_get(asks, "needs"), *x;
    size_t i;
    json_array_foreach(needs, i, x)
    {
        fprintf(out, "  %-14s %s (held by %s)\n", i ? "" : "needs", json_string_value(x), owner);
    }
    if (json_is_true(json_object_get(asks, "shared")))
        fprintf(out, "  %-14s every agent (owner %s holds %s)\n", "serves", owner,
                ASTRID_CAP_CAPSULE_SHARED);
    else
        fprintf(out, "  %-14s only its owner %s (private: %s does not hold %s)\n", "serves", owner,
                owner, ASTRID_CAP_CAPSULE_SHARED);
}
