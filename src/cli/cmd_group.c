/* `astrid group ...` — capability groups (reference §7.3, §10.2). */
#include <string.h>

#include "cli/admin.h"
#include "cli/cli_stub.h"

static int ok_line(cli_ctx *ctx, int rc, json_t *d, const char *what)
{
    if (rc == CLI_OK)
        fprintf(ctx->out, "Group '%s' %s\n", ctx->argv[0], what);
    json_decref(d);
    return rc;
}

static int group_create(cli_ctx *ctx)
{
    astrid_err err;
    json_t *caps = json_array();
    if (cli_csv_append(caps, cli_flag_vals(ctx, "caps"), "caps", &err) < 0) {
        json_decref(caps);
        return cli_fail(ctx, &err);
    }
    if (!json_array_size(caps)) {
        json_decref(caps);
        fprintf(ctx->err, "astrid: group create needs --caps a,b,...\n");
        return CLI_ERROR;
    }
    json_t *params = json_pack("{s:s,s:o,s:b}", "name", ctx->argv[0], "capabilities", caps,
                               "unsafe_admin", cli_flag_count(ctx, "unsafe-admin") > 0);
    if (cli_flag_str(ctx, "description"))
        json_object_set_new(params, "description", json_string(cli_flag_str(ctx, "description")));
    json_t *d = NULL;
    int rc = cli_admin_call(ctx, "group.create", "GroupCreate", params, &d);
    json_decref(params);
    return ok_line(ctx, rc, d, "created");
}

static int group_list(cli_ctx *ctx)
{
    json_t *d = NULL;
    int rc = cli_admin_call(ctx, "group.list", "GroupList", NULL, &d);
    return rc == CLI_OK ? cli_output(ctx, d) : rc;
}

/* The group named `name` from group.list (new reference) or NULL. */
static json_t *find_group(cli_ctx *ctx, const char *name, int *rc)
{
    json_t *list = NULL, *found = NULL, *v;
    *rc = cli_admin_call(ctx, "group.list", "GroupList", NULL, &list);
    if (*rc != CLI_OK)
        return NULL;
    size_t i;
    json_array_foreach(list, i, v)
    {
        if (!found && strcmp(json_string_value(json_object_get(v, "name")), name) == 0)
            found = json_incref(v);
    }
    json_decref(list);
    if (!found) {
        fprintf(ctx->err, "astrid: no group named '%s' (see `astrid group list`)\n", name);
        *rc = CLI_ERROR;
    }
    return found;
}

static int group_show(cli_ctx *ctx)
{
    int rc;
    json_t *g = find_group(ctx, ctx->argv[0], &rc);
    return g ? cli_output(ctx, g) : rc;
}

static int group_delete(cli_ctx *ctx)
{
    json_t *params = json_pack("{s:s}", "name", ctx->argv[0]), *d = NULL;
    int rc = cli_admin_call(ctx, "group.delete", "GroupDelete", params, &d);
    json_decref(params);
    return ok_line(ctx, rc, d, "deleted");
}

static int group_modify(cli_ctx *ctx)
{
    astrid_err err;
    if (cli_flag_count(ctx, "rename"))
        return cli_unavailable(ctx, "group modify --rename", "groups cannot be renamed yet");
    json_t *add = json_array(), *rem = json_array();
    int rc = CLI_OK;
    if (cli_csv_append(add, cli_flag_vals(ctx, "add-caps"), "add-caps", &err) < 0 ||
        cli_csv_append(rem, cli_flag_vals(ctx, "remove-caps"), "remove-caps", &err) < 0)
        rc = cli_fail(ctx, &err);
    const char *desc = cli_flag_str(ctx, "description");
    if (rc == CLI_OK && !json_array_size(add) && !json_array_size(rem) && !desc) {
        fprintf(ctx->err,
                "astrid: group modify needs --add-caps, --remove-caps or --description\n");
        rc = CLI_ERROR;
    }
    json_t *params = json_pack("{s:s}", "name", ctx->argv[0]), *d = NULL;
    if (rc == CLI_OK && (json_array_size(add) || json_array_size(rem))) {
        json_t *g = find_group(ctx, ctx->argv[0], &rc);
        if (g) {
            json_t *caps = json_array(), *v;
            size_t i;
            json_array_foreach(json_object_get(g, "capabilities"), i, v)
            {
                bool drop = false;
                size_t j;
                json_t *r;
                json_array_foreach(rem, j, r)
                {
                    drop = drop || json_equal(r, v);
                }
                if (!drop)
                    json_array_append(caps, v);
            }
            json_array_foreach(add, i, v)
            {
                bool have = false;
                size_t j;
                json_t *x;
                json_array_foreach(caps, j, x)
                {
                    have = have || json_equal(x, v);
                }
                if (!have)
                    json_array_append(caps, v);
            }
            json_object_set_new(params, "capabilities", caps);
            json_decref(g);
        }
    }
    if (rc == CLI_OK && desc)
        json_object_set_new(params, "description", *desc ? json_string(desc) : json_null());
    if (rc == CLI_OK)
        rc = cli_admin_call(ctx, "group.modify", "GroupModify", params, &d);
    json_decref(params);
    json_decref(add);
    json_decref(rem);
    return ok_line(ctx, rc, d, "modified");
}

static const cli_cmd g_create = {
    .name = "create",
    .args = "<name>",
    .min_args = 1,
    .max_args = 1,
    .help = "Create a capability group",
    .flags =
        CLI_FLAGS({"caps", 0, "CAPS", "Comma-separated capabilities", true, false},
                  {"description", 0, "TEXT", "Description", false, false},
                  {"unsafe-admin", 0, NULL, "Allow the universal '*' capability", false, false}),
    .fn = group_create};
static const cli_cmd g_show = {.name = "show",
                               .args = "<name>",
                               .min_args = 1,
                               .max_args = 1,
                               .help = "Show a group",
                               .flags = CLI_FLAGS(CLI_F_FORMAT),
                               .fn = group_show};
static const cli_cmd g_list = {.name = "list",
                               .max_args = 0,
                               .help = "List groups",
                               .flags = CLI_FLAGS(CLI_F_FORMAT),
                               .fn = group_list};
static const cli_cmd g_delete = {.name = "delete",
                                 .args = "<name>",
                                 .min_args = 1,
                                 .max_args = 1,
                                 .help = "Delete a group",
                                 .fn = group_delete};
static const cli_cmd g_modify = {
    .name = "modify",
    .args = "<name>",
    .min_args = 1,
    .max_args = 1,
    .help = "Modify a group",
    .flags = CLI_FLAGS({"add-caps", 0, "CAPS", "Capabilities to add", true, false},
                       {"remove-caps", 0, "CAPS", "Capabilities to remove", true, false},
                       {"description", 0, "TEXT", "New description ('' clears it)", false, false},
                       {"rename", 0, "NAME", "New name", false, true}),
    .fn = group_modify};
const cli_cmd cli_cmd_group = {.name = "group",
                               .help = "Manage capability groups",
                               .sub = CLI_SUB(&g_create, &g_show, &g_list, &g_delete, &g_modify)};
