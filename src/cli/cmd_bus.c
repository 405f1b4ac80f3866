/* `astrid bus watch|publish|request`: operator tools on the IPC bus. The
 * daemon enforces system:bus; the CLI only shapes the messages. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "astrid/topic.h"
#include "cli/cli_stub.h"
#include "cli/daemon.h"

/* The daemon's private answer about this connection's publishes: refused by
 * the bus, or failed in a capsule (docs/wire.md). Only the kernel can
 * publish there, so an answer on it is the daemon's own. */
#define PUBLISH_ANSWER "astrid.v1.connection.response.publish"

static bool topic_matches(const char *pattern, const char *topic)
{
    size_t n = strlen(pattern);
    if (n >= 2 && strcmp(pattern + n - 2, ".*") == 0)
        return strncmp(pattern, topic, n - 1) == 0 && topic[n - 1] != '\0';
    return strcmp(pattern, topic) == 0;
}

static json_t *parse_payload(cli_ctx *ctx, const char *text)
{
    json_error_t je;
    json_t *p = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (!p || !json_is_object(p)) {
        fprintf(ctx->err, "astrid: payload must be a JSON object%s%s\n", p ? "" : ": ",
                p ? "" : je.text);
        json_decref(p);
        return NULL;
    }
    return p;
}

static void print_line(cli_ctx *ctx, const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    if (s) {
        fprintf(ctx->out, "%s\n", s);
        fflush(ctx->out);
    }
    free(s);
}

static int do_watch(cli_ctx *ctx)
{
    astrid_client *c = NULL;
    astrid_err err;
    if (cli_connect(&c, &err) < 0 || astrid_client_subscribe(c, ctx->argv[0], &err) < 0) {
        astrid_client_close(c);
        return cli_fail(ctx, &err);
    }
    for (;;) {
        json_t *m = NULL;
        if (astrid_client_recv(c, -1, &m, &err) < 0)
            break;
        if (topic_matches(ctx->argv[0], json_string_value(json_object_get(m, "topic")) ?: ""))
            print_line(ctx, m);
        json_decref(m);
    }
    astrid_client_close(c);
    return cli_fail(ctx, &err);
}

static int do_publish(cli_ctx *ctx)
{
    astrid_client *c = NULL;
    astrid_err err;
    if (astrid_topic_privacy_of(ctx->argv[0]) == ASTRID_TOPIC_PRIVATE_OUT) {
        fprintf(ctx->err,
                "astrid: %s is a private kernel topic (replies and private events): only the "
                "daemon publishes there\n",
                ctx->argv[0]);
        return CLI_ERROR;
    }
    json_t *p = parse_payload(ctx, ctx->argv[1]);
    if (!p)
        return CLI_ERROR;
    int rc = cli_connect(&c, &err);
    if (rc == 0)
        rc = astrid_client_publish(c, ctx->argv[0], p, &err);
    json_decref(p);
    astrid_client_close(c);
    return rc < 0 ? cli_fail(ctx, &err) : CLI_OK;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Is `m` the daemon telling us our request failed (a refused publish, or a
 * capsule that trapped on it)? Then print why. */
static bool request_failed(cli_ctx *ctx, const json_t *m, const char *topic, const json_t *sent)
{
    const json_t *pl = json_object_get(m, "payload");
    const char *rid = json_string_value(json_object_get(pl, "request_id"));
    const char *want = json_string_value(json_object_get(sent, "request_id"));
    if (strcmp(json_string_value(json_object_get(m, "topic")) ?: "", PUBLISH_ANSWER) != 0 ||
        strcmp(json_string_value(json_object_get(pl, "topic")) ?: "", topic) != 0 ||
        strcmp(json_string_value(json_object_get(pl, "status")) ?: "", "error") != 0 ||
        (rid && want && strcmp(rid, want) != 0))
        return false;
    fprintf(ctx->err, "astrid: %s: %s\n", topic,
            json_string_value(json_object_get(pl, "data")) ?: "request failed");
    return true;
}

static int do_request(cli_ctx *ctx)
{
    char reply_pat[256];
    const char *r = cli_flag_str(ctx, "reply"), *t = cli_flag_str(ctx, "timeout");
    char *end;
    double secs = t ? strtod(t, &end) : 10.0;
    if (t && (*end || secs <= 0 || secs > 86400)) {
        fprintf(ctx->err, "astrid: invalid value '%s' for '--timeout': expected seconds\n", t);
        return CLI_ERROR;
    }
    snprintf(reply_pat, sizeof reply_pat, "%s", r ? r : "");
    if (!r)
        snprintf(reply_pat, sizeof reply_pat, "%s.reply", ctx->argv[0]);
    json_t *p = parse_payload(ctx, ctx->argv[1]);
    if (!p)
        return CLI_ERROR;
    astrid_client *c = NULL;
    astrid_err err;
    int rc = CLI_ERROR;
    /* Subscribe first so a fast reply cannot slip past before we listen. */
    if (cli_connect(&c, &err) < 0 || astrid_client_subscribe(c, reply_pat, &err) < 0 ||
        astrid_client_publish(c, ctx->argv[0], p, &err) < 0) {
        rc = cli_fail(ctx, &err);
        goto out;
    }
    long deadline = now_ms() + (long)(secs * 1000);
    for (;;) {
        long left = deadline - now_ms();
        json_t *m = NULL;
        if (left <= 0 || astrid_client_recv(c, (int)left, &m, &err) < 0) {
            if (left <= 0 || err.code == ASTRID_E_TIMEOUT)
                fprintf(ctx->err, "astrid: no reply on '%s' within %gs\n", reply_pat, secs);
            else
                cli_fail(ctx, &err);
            break;
        }
        if (request_failed(ctx, m, ctx->argv[0], p)) {
            json_decref(m);
            break;
        }
        if (topic_matches(reply_pat, json_string_value(json_object_get(m, "topic")) ?: "")) {
            print_line(ctx, json_object_get(m, "payload") ?: json_null());
            json_decref(m);
            rc = CLI_OK;
            break;
        }
        json_decref(m);
    }
out:
    json_decref(p);
    astrid_client_close(c);
    return rc;
}

static const cli_cmd b_watch = {.name = "watch",
                                .args = "<PATTERN>",
                                .min_args = 1,
                                .max_args = 1,
                                .fn = do_watch,
                                .help = "Print bus messages matching PATTERN as JSON lines"};
static const cli_cmd b_publish = {.name = "publish",
                                  .args = "<TOPIC> <JSON>",
                                  .min_args = 2,
                                  .max_args = 2,
                                  .fn = do_publish,
                                  .help = "Publish one JSON object on TOPIC"};
static const cli_cmd b_request = {
    .name = "request",
    .args = "<TOPIC> <JSON>",
    .min_args = 2,
    .max_args = 2,
    .fn = do_request,
    .help = "Publish and print the first reply (exit 1 on timeout or a failed request)",
    .flags = CLI_FLAGS(
        {"reply", 0, "PATTERN", "Reply topic pattern (default TOPIC.reply)", false, false},
        {"timeout", 0, "S", "Seconds to wait (default 10)", false, false})};

const cli_cmd cli_cmd_bus = {.name = "bus",
                             .help = "Watch and publish on the IPC bus (system:bus)",
                             .sub = CLI_SUB(&b_watch, &b_publish, &b_request)};
