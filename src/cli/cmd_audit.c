/* `astrid audit verify|show`: offline readers of the signed audit chain
 * (reference §9). They read home/{p}/.local/audit/ directly, so they work
 * with the daemon stopped or running. `astrid audit repair` writes the
 * chain, so it runs only with the daemon stopped (it holds the daemon's
 * lock meanwhile). */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "astrid/crypto.h"
#include "astrid/home.h"
#include "cli/cli_stub.h"
#include "cli/context.h"
#include "cli/output/output.h"
#include "lib/audit/audit_format.h"

static int audit_verify(const char *home, const char *p, const uint8_t *pk,
                        astrid_audit_report *rep, astrid_err *err)
{
    return astrid_audit_verify(home, p, pk, rep, err);
}
static json_t *audit_read(const char *home, const char *p, const char *since, size_t limit,
                          astrid_err *err)
{
    return astrid_audit_read(home, p, since, limit, err);
}

static int target(cli_ctx *ctx, char *home, size_t hn, char *p, size_t pn)
{
    astrid_err err;
    if (cli_home(home, hn, &err) < 0 ||
        cli_target_agent(cli_flag_str(ctx, "agent"), home, p, pn, &err) < 0)
        return cli_fail(ctx, &err);
    return 0;
}

static int do_verify(cli_ctx *ctx)
{
    char home[PATH_MAX], p[CLI_PRINCIPAL_MAX], keyp[PATH_MAX];
    astrid_err err;
    int rc = target(ctx, home, sizeof home, p, sizeof p);
    if (rc)
        return rc;
    /* Entries are signed by the runtime key; verify against its public half. */
    astrid_keypair kp;
    if (astrid_home_runtime_key(keyp, sizeof keyp, home, &err) < 0 ||
        astrid_keypair_load(&kp, keyp, &err) < 0)
        return cli_fail(ctx, &err);
    uint8_t pk[ASTRID_ED25519_PK_LEN];
    memcpy(pk, kp.pk, sizeof pk);
    astrid_keypair_wipe(&kp);
    astrid_audit_report rep;
    memset(&rep, 0, sizeof rep);
    if (audit_verify(home, p, pk, &rep, &err) < 0) {
        if (rep.bad_line) {
            fprintf(ctx->out, "\u2717 audit chain of '%s' is broken at entry %zu%s%s%s: %s\n", p,
                    rep.bad_line, rep.bad_id[0] ? " (id " : "", rep.bad_id,
                    rep.bad_id[0] ? ")" : "", rep.reason);
            return CLI_ERROR;
        }
        return cli_fail(ctx, &err);
    }
    fprintf(ctx->out, "\u2713 audit chain of '%s': %zu entr%s verified\n", p, rep.entries,
            rep.entries == 1 ? "y" : "ies");
    return CLI_OK;
}

/* Hold run/daemon.lock as a daemon would, so no daemon appends while the
 * chain is cut (and none can start). Returns the locked fd or -1. */
static int lock_out_daemon(const char *home, astrid_err *err)
{
    char p[PATH_MAX];
    if (astrid_home_daemon_lock(p, sizeof p, home, err) < 0)
        return -1;
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return astrid_err_sys(err, "open %s", p);
    char sock[PATH_MAX];
    int locked = flock(fd, LOCK_EX | LOCK_NB);
    /* A holder without a socket is a daemon shutting down (it removes the
     * socket first, as the daemon's own take_lock knows): `astrid stop;
     * astrid audit repair` must not race it. */
    for (int i = 0;
         locked != 0 && i < 100 && astrid_home_system_sock(sock, sizeof sock, home, NULL) == 0 &&
         access(sock, F_OK) != 0;
         i++) {
        usleep(50000);
        locked = flock(fd, LOCK_EX | LOCK_NB);
    }
    if (locked != 0) {
        close(fd);
        return astrid_err_set(err, ASTRID_E_EXISTS,
                              "the daemon is running for %s: stop it (`astrid stop`), then run "
                              "`astrid audit repair`",
                              home);
    }
    return fd;
}

static int repair_one(cli_ctx *ctx, const char *home, const char *p, const astrid_keypair *kp)
{
    astrid_err err;
    astrid_audit_repair_report rep;
    if (astrid_audit_repair(home, p, kp, &rep, &err) < 0) {
        fprintf(ctx->err, "astrid: audit repair of '%s': %s\n", p, err.msg);
        return CLI_ERROR;
    }
    if (!rep.repaired) {
        fprintf(ctx->out, "\u2713 audit chain of '%s' verifies (%zu entr%s): nothing to repair\n",
                p, rep.entries_kept, rep.entries_kept == 1 ? "y" : "ies");
        return CLI_OK;
    }
    if (!rep.damaged_bytes) {
        fprintf(ctx->out,
                "\u2713 audit chain of '%s' repaired: kept %zu entr%s; nothing to move (%s); "
                "signed an audit_repair entry\n",
                p, rep.entries_kept, rep.entries_kept == 1 ? "y" : "ies", rep.reason);
        return CLI_OK;
    }
    fprintf(ctx->out,
            "\u2713 audit chain of '%s' repaired: kept %zu entr%s; moved %zu line%s (%zu bytes, "
            "from entry %zu: %s) to %s (BLAKE3 %s); signed an audit_repair entry\n",
            p, rep.entries_kept, rep.entries_kept == 1 ? "y" : "ies", rep.damaged_lines,
            rep.damaged_lines == 1 ? "" : "s", rep.damaged_bytes, rep.first_bad_line, rep.reason,
            rep.damaged_file, rep.damaged_blake3);
    return CLI_OK;
}

static int do_repair(cli_ctx *ctx)
{
    char home[PATH_MAX], p[CLI_PRINCIPAL_MAX], keyp[PATH_MAX];
    astrid_err err;
    bool all = cli_flag_count(ctx, "all") > 0;
    if (all && cli_flag_str(ctx, "agent")) {
        fprintf(ctx->err, "astrid: --all and --agent are exclusive\n");
        return CLI_ERROR;
    }
    if (all) {
        if (cli_home(home, sizeof home, &err) < 0)
            return cli_fail(ctx, &err);
    } else {
        int rc = target(ctx, home, sizeof home, p, sizeof p);
        if (rc)
            return rc;
    }
    int lock = lock_out_daemon(home, &err);
    if (lock < 0)
        return cli_fail(ctx, &err);
    /* The repair record is signed by the runtime key, as the daemon's are,
     * so the repaired chain verifies under the same key. */
    astrid_keypair kp;
    if (astrid_home_runtime_key(keyp, sizeof keyp, home, &err) < 0 ||
        astrid_keypair_load(&kp, keyp, &err) < 0) {
        close(lock);
        return cli_fail(ctx, &err);
    }
    int rc = CLI_OK;
    if (!all) {
        rc = repair_one(ctx, home, p, &kp);
    } else {
        char dir[PATH_MAX];
        DIR *d = NULL;
        if (astrid_home_homes_dir(dir, sizeof dir, home, &err) < 0 || !(d = opendir(dir))) {
            rc = d ? cli_fail(ctx, &err) : CLI_OK; /* no homes: no chains */
        } else {
            struct dirent *de;
            while ((de = readdir(d))) {
                char f[PATH_MAX];
                if (de->d_name[0] == '.' ||
                    astrid_home_audit_file(f, sizeof f, home, de->d_name, NULL) < 0 ||
                    access(f, F_OK) != 0)
                    continue;
                if (repair_one(ctx, home, de->d_name, &kp) != CLI_OK)
                    rc = CLI_ERROR;
            }
            closedir(d);
        }
    }
    astrid_keypair_wipe(&kp);
    close(lock);
    return rc;
}

/* One summary row per entry for the pretty table; other formats get the
 * entries as stored. */
static json_t *summary(const json_t *entries)
{
    json_t *rows = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e)
    {
        const json_t *act = json_object_get(e, "action");
        const char *type = json_string_value(json_object_get(act, "type"));
        const char *method = json_string_value(json_object_get(act, "method"));
        char what[160];
        snprintf(what, sizeof what, "%s%s%s", type ? type : "?", method ? " " : "",
                 method ? method : "");
        json_array_append_new(
            rows,
            json_pack("{s:O?, s:O?, s:s, s:O?, s:O?}", "timestamp", json_object_get(e, "timestamp"),
                      "principal", json_object_get(e, "principal"), "action", what, "authorization",
                      json_object_get(json_object_get(e, "authorization"), "type"), "outcome",
                      json_object_get(json_object_get(e, "outcome"), "status")));
    }
    return rows;
}

static int do_show(cli_ctx *ctx)
{
    char home[PATH_MAX], p[CLI_PRINCIPAL_MAX];
    astrid_err err;
    cli_format fmt;
    const char *ls = cli_flag_str(ctx, "limit");
    char *end = NULL;
    long limit = ls ? strtol(ls, &end, 10) : 0;
    if (ls && (*end || limit < 0)) {
        fprintf(ctx->err, "astrid: invalid value '%s' for '--limit': expected a number\n", ls);
        return CLI_ERROR;
    }
    int rc = target(ctx, home, sizeof home, p, sizeof p);
    if (rc)
        return rc;
    json_t *entries = audit_read(home, p, cli_flag_str(ctx, "since"), (size_t)limit, &err);
    if (!entries)
        return cli_fail(ctx, &err);
    (void)cli_format_parse(ctx->format, &fmt); /* validated by the parser */
    json_t *view = fmt == CLI_FMT_PRETTY ? summary(entries) : json_incref(entries);
    rc = cli_render(ctx->out, view, fmt, &err) < 0 ? cli_fail(ctx, &err) : CLI_OK;
    json_decref(view);
    json_decref(entries);
    return rc;
}

static const cli_cmd au_verify = {.name = "verify",
                                  .max_args = 0,
                                  .fn = do_verify,
                                  .help = "Verify the audit chain's links and signatures",
                                  .flags = CLI_FLAGS(CLI_F_AGENT)};
static const cli_cmd au_show = {
    .name = "show",
    .max_args = 0,
    .fn = do_show,
    .help = "Show audit entries",
    .flags =
        CLI_FLAGS(CLI_F_AGENT, CLI_F_FORMAT,
                  {"since", 0, "TIME", "Only entries at or after TIME (RFC 3339)", false, false},
                  {"limit", 0, "N", "Only the newest N entries", false, false})};

static const cli_cmd au_repair = {
    .name = "repair",
    .max_args = 0,
    .fn = do_repair,
    .help = "Cut a broken chain back to its last good entry (daemon stopped)",
    .long_help = "Moves everything from the first entry that does not verify on to "
                 "audit.jsonl.damaged-<time> beside the log and appends a signed audit_repair "
                 "entry naming it (size, lines, BLAKE3). A chain that verifies is left alone.",
    .flags = CLI_FLAGS(CLI_F_AGENT, {"all", 0, NULL, "Every principal's chain", false, false})};

const cli_cmd cli_cmd_audit = {.name = "audit",
                               .help = "Inspect the audit log",
                               .sub = CLI_SUB(&au_verify, &au_show, &au_repair)};
