/* Bare verbs that talk to the daemon (start/stop/restart/status/ps/who),
 * `version`, and the registered-but-unbuilt bare verbs. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "astrid/home.h"
#include "astrid/version.h"
#include "cli/distro.h"
#include "cli/cli_stub.h"
#include "cli/context.h"
#include "cli/daemon.h"
#include "cli/output/output.h"

#if defined(__x86_64__)
#define ARCH "x86_64"
#elif defined(__aarch64__)
#define ARCH "aarch64"
#else
#define ARCH "unknown"
#endif
#define TARGET ARCH "-unknown-linux-gnu"

static int render(cli_ctx *ctx, json_t *data)
{
    cli_format fmt;
    astrid_err err;
    if (cli_format_parse(ctx->format, &fmt) < 0) {
        fprintf(ctx->err, "astrid: unknown format '%s'\n", ctx->format);
        return CLI_ERROR;
    }
    int rc = cli_render(ctx->out, data, fmt, &err);
    json_decref(data);
    return rc < 0 ? cli_fail(ctx, &err) : CLI_OK;
}

static int do_version(cli_ctx *ctx)
{
#ifdef ASTRID_GIT_COMMIT
    const char *commit = ASTRID_GIT_COMMIT;
#else
    /* Not stamped at build time: the environment may name it (CI). */
    const char *commit = getenv("ASTRID_GIT_COMMIT");
#endif
    if (!commit || !*commit)
        commit = "unknown";
    if (!ctx->format || strcmp(ctx->format, "pretty") == 0) {
        fprintf(ctx->out, "astrid %s (commit %s, %s)\n", astrid_version(), commit, TARGET);
        return CLI_OK;
    }
    return render(ctx, json_pack("{ssssss}", "version", astrid_version(), "commit", commit,
                                 "target", TARGET));
}

/* GetStatus and friends: connect, one request, render. */
static int kernel_call(cli_ctx *ctx, const char *suffix, const char *method, const char *want,
                       json_t **data)
{
    astrid_client *c = NULL;
    astrid_err err;
    if (cli_connect(&c, &err) < 0)
        return cli_fail(ctx, &err);
    astrid_call call = {.suffix = suffix, .method = method, .want_status = want};
    int rc = astrid_client_call(c, &call, data, &err);
    astrid_client_close(c);
    return rc < 0 ? cli_fail(ctx, &err) : CLI_OK;
}

static int do_status(cli_ctx *ctx)
{
    json_t *d = NULL;
    int rc = kernel_call(ctx, "status", "GetStatus", "status", &d);
    return rc ? rc : render(ctx, d);
}

/* Pretty `ps` cells for the two nested members (the table would otherwise
 * show them as raw JSON): PRINCIPALS as "default:3/0/1 bob:1/0/0"
 * (invocations/errors/denied per principal), UPLINKS as "name (platform,
 * profile)". Other formats keep the data as sent. */
static void ps_pretty_cells(json_t *caps)
{
    size_t i, j;
    json_t *c, *e;
    json_array_foreach(caps, i, c)
    {
        char *s = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&s, &len);
        if (!f)
            continue;
        json_array_foreach(json_object_get(c, "principals"), j, e)
        {
            fprintf(f,
                    "%s%s:%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
                    j ? " " : "", json_string_value(json_object_get(e, "principal")) ?: "?",
                    json_integer_value(json_object_get(e, "invocations")),
                    json_integer_value(json_object_get(e, "errors")),
                    json_integer_value(json_object_get(e, "denied")));
        }
        if (fclose(f) == 0 && json_is_array(json_object_get(c, "principals")))
            json_object_set_new(c, "principals", json_string(s));
        free(s);
        json_t *ups = json_object_get(c, "uplinks"), *names = json_array();
        json_array_foreach(ups, j, e)
        {
            json_array_append_new(
                names,
                json_sprintf("%s (%s, %s)", json_string_value(json_object_get(e, "name")) ?: "?",
                             json_string_value(json_object_get(e, "platform")) ?: "?",
                             json_string_value(json_object_get(e, "profile")) ?: "?"));
        }
        if (json_is_array(ups))
            json_object_set(c, "uplinks", names);
        json_decref(names);
        /* MCP servers (docs/mcp.md): "id[@principal] pid N state, R restarts, T tools" */
        json_t *mcp = json_object_get(c, "mcp_servers"), *rows = json_array();
        json_array_foreach(mcp, j, e)
        {
            bool shared = json_is_true(json_object_get(e, "shared"));
            json_array_append_new(
                rows, json_sprintf("%s%s%s pid %" JSON_INTEGER_FORMAT " %s, %" JSON_INTEGER_FORMAT
                                   " restarts, %" JSON_INTEGER_FORMAT " tools",
                                   json_string_value(json_object_get(e, "id")) ?: "?",
                                   shared ? "" : "@",
                                   shared ? "" : json_string_value(json_object_get(e, "principal")) ?: "?",
                                   json_integer_value(json_object_get(e, "pid")),
                                   json_string_value(json_object_get(e, "state")) ?: "?",
                                   json_integer_value(json_object_get(e, "restarts")),
                                   json_integer_value(json_object_get(e, "tools"))));
        }
        if (json_is_array(mcp))
            json_object_set(c, "mcp_servers", rows);
        json_decref(rows);
    }
}

static int do_ps(cli_ctx *ctx)
{
    json_t *d = NULL;
    int rc = kernel_call(ctx, "metadata", "GetCapsuleMetadata", "capsule_metadata", &d);
    if (rc)
        return rc;
    if (!ctx->format || strcmp(ctx->format, "pretty") == 0)
        ps_pretty_cells(d);
    return render(ctx, d);
}

static int do_who(cli_ctx *ctx)
{
    json_t *d = NULL;
    int rc = kernel_call(ctx, "status", "GetStatus", "status", &d);
    if (rc)
        return rc;
    json_t *by = json_object_get(d, "connections_by_principal");
    json_t *out;
    if (json_is_array(by)) {
        out = json_incref(by);
    } else {
        /* Older daemons: the bare count, attributed to default. */
        json_int_t n = json_integer_value(json_object_get(d, "connected_clients"));
        out = json_pack("[{sssI}]", "principal", ASTRID_DEFAULT_PRINCIPAL, "count", n);
    }
    json_decref(d);
    return render(ctx, out);
}

/* One-shot snapshot (upstream's `top` is one too): GetStatus for the
 * daemon, GetCapsuleMetadata for each loaded capsule's interceptors and its
 * per-principal counters, totalled per capsule. */
static json_t *top_snapshot(json_t *status, json_t *meta)
{
    json_t *caps = json_array(), *rows = json_array(), *c, *p;
    size_t i, j;
    json_array_foreach(meta, i, c)
    {
        json_int_t inv = 0, errs = 0, denied = 0;
        json_array_foreach(json_object_get(c, "principals"), j, p)
        {
            json_int_t pi = json_integer_value(json_object_get(p, "invocations"));
            json_int_t pe = json_integer_value(json_object_get(p, "errors"));
            json_int_t pd = json_integer_value(json_object_get(p, "denied"));
            inv += pi, errs += pe, denied += pd;
            json_array_append_new(rows, json_pack("{s:O,s:O,s:I,s:I,s:I}", "capsule",
                                                  json_object_get(c, "name"), "principal",
                                                  json_object_get(p, "principal"), "invocations",
                                                  pi, "errors", pe, "denied", pd));
        }
        json_array_append_new(
            caps, json_pack("{s:O,s:O,s:O,s:I,s:I,s:I,s:O}", "name", json_object_get(c, "name"),
                            "version", json_object_get(c, "version"), "owner",
                            json_object_get(c, "owner"), "invocations", inv, "errors", errs,
                            "denied", denied, "interceptors",
                            json_object_get(c, "interceptor_events") ?: json_null()));
    }
    json_t *daemon = json_object();
    static const char *const keys[] = {"version", "pid", "uptime_secs", "connected_clients",
                                       "loaded_capsules"};
    for (i = 0; i < sizeof keys / sizeof *keys; i++)
        json_object_set(daemon, keys[i], json_object_get(status, keys[i]) ?: json_null());
    return json_pack("{s:o,s:o,s:o}", "daemon", daemon, "capsules", caps, "principals", rows);
}

static int do_top(cli_ctx *ctx)
{
    astrid_client *c = NULL;
    astrid_err err;
    json_t *status = NULL, *meta = NULL;
    if (cli_connect(&c, &err) < 0)
        return cli_fail(ctx, &err);
    astrid_call get_status = {.suffix = "status", .method = "GetStatus", .want_status = "status"};
    astrid_call get_meta = {
        .suffix = "metadata", .method = "GetCapsuleMetadata", .want_status = "capsule_metadata"};
    int rc = astrid_client_call(c, &get_status, &status, &err);
    if (rc == 0)
        rc = astrid_client_call(c, &get_meta, &meta, &err);
    astrid_client_close(c);
    if (rc < 0) {
        json_decref(status);
        return cli_fail(ctx, &err);
    }
    json_t *snap = top_snapshot(status, meta);
    json_decref(status);
    json_decref(meta);
    return render(ctx, snap);
}

static int home_or_fail(cli_ctx *ctx, char *home, size_t n)
{
    astrid_err err;
    return cli_home(home, n, &err) < 0 ? cli_fail(ctx, &err) : 0;
}

static int do_start(cli_ctx *ctx)
{
    char home[PATH_MAX];
    astrid_err err;
    int rc = home_or_fail(ctx, home, sizeof home);
    if (rc)
        return rc;
    if (astrid_client_daemon_running(home)) {
        fprintf(ctx->out, "Daemon is already running.\n");
        return CLI_OK;
    }
    if (astrid_client_start_daemon(home, false, &err) < 0)
        return cli_fail(ctx, &err);
    fprintf(ctx->out, "Daemon started.\n");
    fflush(ctx->out);
    /* upstream's first run: a fresh agent gets the default distro */
    return cli_distro_first_run(ctx);
}

static int stop_daemon(cli_ctx *ctx, const char *home)
{
    astrid_client *c = NULL;
    astrid_err err;
    json_t *d = NULL;
    if (cli_connect(&c, &err) < 0)
        return cli_fail(ctx, &err);
    json_t *params = json_pack("{ss}", "reason", "astrid stop");
    astrid_call stop = {
        .suffix = "shutdown", .method = "Shutdown", .params = params, .want_status = "Success"};
    int rc = astrid_client_call(c, &stop, &d, &err);
    json_decref(params);
    json_decref(d);
    astrid_client_close(c);
    return rc < 0 ? cli_fail(ctx, &err) : CLI_OK;
}

static int do_stop(cli_ctx *ctx)
{
    char home[PATH_MAX];
    int rc = home_or_fail(ctx, home, sizeof home);
    if (rc)
        return rc;
    if (!astrid_client_daemon_running(home)) {
        fprintf(ctx->out, "Daemon is not running.\n");
        return CLI_OK;
    }
    rc = stop_daemon(ctx, home);
    if (rc == CLI_OK)
        fprintf(ctx->out, "Daemon stopping.\n");
    return rc;
}

static int do_restart(cli_ctx *ctx)
{
    char home[PATH_MAX], sock[PATH_MAX], ready[PATH_MAX];
    astrid_err err;
    int rc = home_or_fail(ctx, home, sizeof home);
    if (rc)
        return rc;
    if (astrid_client_daemon_running(home)) {
        if ((rc = stop_daemon(ctx, home)) != CLI_OK)
            return rc;
        /* Wait up to 5 s for the daemon to let go of its socket. */
        for (int i = 0; i < 100 && astrid_client_daemon_running(home); i++)
            nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
        if (astrid_client_daemon_running(home)) {
            fprintf(ctx->err, "astrid: the daemon did not stop within 5 s\n");
            return CLI_ERROR;
        }
    }
    if (astrid_home_system_sock(sock, sizeof sock, home, &err) < 0 ||
        astrid_home_system_ready(ready, sizeof ready, home, &err) < 0)
        return cli_fail(ctx, &err);
    unlink(sock);
    unlink(ready);
    if (astrid_client_start_daemon(home, false, &err) < 0)
        return cli_fail(ctx, &err);
    fprintf(ctx->out, "Daemon restarted.\n");
    return CLI_OK;
}

#define FMT CLI_FLAGS(CLI_F_FORMAT)
const cli_cmd cli_cmd_version = {.name = "version",
                                 .max_args = 0,
                                 .flags = FMT,
                                 .help = "Print version, commit and target",
                                 .fn = do_version};
const cli_cmd cli_cmd_start = {
    .name = "start", .max_args = 0, .fn = do_start, .help = "Start the daemon (persistent)"};
const cli_cmd cli_cmd_stop = {.name = "stop",
                              .max_args = 0,
                              .fn = do_stop,
                              .help = "Stop the daemon (needs system:shutdown)"};
const cli_cmd cli_cmd_restart = {.name = "restart",
                                 .max_args = 0,
                                 .fn = do_restart,
                                 .help = "Stop the daemon, wait for it, start it again"};
const cli_cmd cli_cmd_status = {
    .name = "status", .max_args = 0, .flags = FMT, .fn = do_status, .help = "Show daemon status"};
const cli_cmd cli_cmd_ps = {
    .name = "ps", .max_args = 0, .flags = FMT, .fn = do_ps, .help = "List loaded capsules"};
const cli_cmd cli_cmd_who = {
    .name = "who", .max_args = 0, .flags = FMT, .fn = do_who, .help = "Show connections by agent"};

/* Registered bare verbs this release does not build. */
const cli_cmd cli_cmd_gc = {
    .name = "gc",
    .max_args = 0,
    .help = "Remove wasm/WIT blobs no installed capsule references (dry run by default)",
    .flags = CLI_FLAGS({"force", 0, NULL, "Delete (default is a dry run)", false, false}),
    .fn = cli_gc};
const cli_cmd cli_cmd_top = {
    .name = "top",
    .max_args = 0,
    .flags = FMT,
    .help = "One-shot snapshot: daemon, loaded capsules, per-agent counters",
    .long_help = "Prints the daemon's status, every loaded capsule with its interceptors and "
                 "its invocation/error/denied totals, and the same counters per agent. It is a "
                 "single snapshot (as upstream), not a live view.",
    .fn = do_top};
const cli_cmd cli_cmd_update = {.name = "update",
                                .aliases = CLI_ALIASES("self-update"),
                                .max_args = 0,
                                .help = "Update the astrid binaries",
                                .missing = "needs release downloads (self-update)"};
