/* Admin API calls from the CLI. See admin.h. */
#include "cli/admin.h"

#include <limits.h>
#include <string.h>

#include "cli/context.h"
#include "cli/daemon.h"
#include "cli/output/output.h"

int cli_connect_auto(astrid_client **out, astrid_err *err)
{
    return cli_connect_mode(out, true, err);
}

int cli_admin_request(astrid_client *c, const char *suffix, const char *method,
                      const json_t *params, json_t **data, astrid_err *err)
{
    astrid_call call = {
        .api = ASTRID_API_ADMIN, .suffix = suffix, .method = method, .params = params};
    return astrid_client_call(c, &call, data, err);
}

int cli_admin_call(cli_ctx *ctx, const char *suffix, const char *method, const json_t *params,
                   json_t **data)
{
    astrid_client *c = NULL;
    astrid_err err;
    if (cli_connect_auto(&c, &err) < 0)
        return cli_fail(ctx, &err);
    int rc = cli_admin_request(c, suffix, method, params, data, &err);
    astrid_client_close(c);
    return rc < 0 ? cli_fail(ctx, &err) : CLI_OK;
}

int cli_output(cli_ctx *ctx, json_t *data)
{
    cli_format fmt;
    astrid_err err;
    if (cli_format_parse(ctx->format, &fmt) < 0) {
        json_decref(data);
        fprintf(ctx->err, "astrid: unknown format '%s' (pretty|json|yaml|yml|toml)\n", ctx->format);
        return CLI_ERROR;
    }
    int rc = cli_render(ctx->out, data, fmt, &err);
    json_decref(data);
    return rc < 0 ? cli_fail(ctx, &err) : CLI_OK;
}

int cli_csv_append(json_t *arr, const cli_val *vals, const char *flag, astrid_err *err)
{
    for (int i = 0; vals && i < vals->count; i++) {
        const char *p = vals->v[i];
        for (;;) {
            const char *comma = strchr(p, ',');
            size_t n = comma ? (size_t)(comma - p) : strlen(p);
            while (n && (*p == ' ' || *p == '\t'))
                p++, n--;
            while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
                n--;
            if (n == 0)
                return astrid_err_set(err, ASTRID_E_INVALID, "--%s: empty value in '%s'", flag,
                                      vals->v[i]);
            json_array_append_new(arr, json_stringn(p, n));
            if (!comma)
                break;
            p = comma + 1;
        }
    }
    return 0;
}

json_t *cli_agent_summary(astrid_client *c, const char *principal, astrid_err *err)
{
    json_t *list = NULL;
    if (cli_admin_request(c, "agent.list", "AgentList", NULL, &list, err) < 0)
        return NULL;
    json_t *found = NULL, *v;
    size_t i;
    json_array_foreach(list, i, v)
    {
        if (!found &&
            strcmp(json_string_value(json_object_get(v, "principal")) ?: "", principal) == 0)
            found = json_incref(v);
    }
    json_decref(list);
    if (!found)
        astrid_err_set(err, ASTRID_E_NOTFOUND, "no agent named '%s' (see `astrid agent list`)",
                       principal);
    const char *broken = json_string_value(json_object_get(found, "error"));
    if (broken) {
        astrid_err_set(err, ASTRID_E_INVALID, "profile of %s cannot be loaded: %s", principal,
                       broken);
        json_decref(found);
        found = NULL;
    }
    return found;
}

int cli_admin_target(cli_ctx *ctx, char *who, size_t n)
{
    char home[PATH_MAX];
    astrid_err err;
    if (cli_home(home, sizeof home, &err) < 0 ||
        cli_target_agent(cli_flag_str(ctx, "agent"), home, who, n, &err) < 0)
        return cli_fail(ctx, &err);
    return CLI_OK;
}
