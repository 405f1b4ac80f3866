/* `astrid logs [capsule] [-a AGENT] [-f] [-n N]`: tail the newest log file in
 * log/ (daemon) or home/{p}/.local/log/{capsule}/ (a capsule's guest log). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "astrid/home.h"
#include "cli/cli_stub.h"
#include "cli/context.h"

/* Newest file by name: names are dates (astrid.YYYY-MM-DD.log, YYYY-MM-DD.log).
 * Rotated capsule logs (YYYY-MM-DD.log.1, ...) are older, never the newest. */
static int newest(const char *dir, char *out, size_t n)
{
    DIR *d = opendir(dir);
    char best[NAME_MAX + 1] = "";
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] != '.' && l > 4 && strcmp(e->d_name + l - 4, ".log") == 0 &&
            strcmp(e->d_name, best) > 0)
            snprintf(best, sizeof best, "%s", e->d_name);
    }
    closedir(d);
    if (!best[0])
        return -1;
    snprintf(out, n, "%s/%s", dir, best);
    return 0;
}

/* Offset where the last `lines` lines start. */
static long tail_offset(FILE *f, long lines)
{
    if (fseek(f, 0, SEEK_END) != 0)
        return 0;
    long pos = ftell(f), seen = 0;
    if (pos > 0) {
        fseek(f, pos - 1, SEEK_SET);
        if (fgetc(f) == '\n')
            pos--; /* the final newline ends the last line, it does not start one */
    }
    while (pos > 0) {
        fseek(f, pos - 1, SEEK_SET);
        if (fgetc(f) == '\n' && ++seen == lines)
            break;
        pos--;
    }
    return pos;
}

static void copy_from(FILE *f, long *off, FILE *out)
{
    char buf[8192];
    size_t n;
    fseek(f, *off, SEEK_SET);
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        fwrite(buf, 1, n, out);
        *off += (long)n;
    }
    clearerr(f);
    fflush(out);
}

static int do_logs(cli_ctx *ctx)
{
    char home[PATH_MAX], dir[PATH_MAX], file[PATH_MAX + NAME_MAX + 2];
    char agent[CLI_PRINCIPAL_MAX];
    astrid_err err;
    const char *capsule = ctx->argc ? ctx->argv[0] : NULL;
    const char *nstr = cli_flag_str(ctx, "lines");
    char *end;
    long lines = nstr ? strtol(nstr, &end, 10) : 100;
    if (nstr && (*end || lines < 0)) {
        fprintf(ctx->err, "astrid: invalid value '%s' for '--lines': expected a number\n", nstr);
        return CLI_ERROR;
    }
    if (cli_home(home, sizeof home, &err) < 0)
        return cli_fail(ctx, &err);
    if (capsule) {
        if (strchr(capsule, '/') || strcmp(capsule, "..") == 0 || strcmp(capsule, ".") == 0) {
            fprintf(ctx->err, "astrid: invalid capsule name '%s'\n", capsule);
            return CLI_ERROR;
        }
        if (cli_target_agent(cli_flag_str(ctx, "agent"), home, agent, sizeof agent, &err) < 0 ||
            astrid_home_capsule_log_dir(dir, sizeof dir, home, agent, capsule, &err) < 0)
            return cli_fail(ctx, &err);
    } else if (astrid_home_log_dir(dir, sizeof dir, home, &err) < 0) {
        return cli_fail(ctx, &err);
    }
    if (newest(dir, file, sizeof file) < 0) {
        fprintf(ctx->err, "astrid: no log files in %s\n", dir);
        return CLI_ERROR;
    }
    FILE *f = fopen(file, "r");
    if (!f) {
        fprintf(ctx->err, "astrid: %s: %s\n", file, strerror(errno));
        return CLI_ERROR;
    }
    long off = lines == 0 ? (fseek(f, 0, SEEK_END), ftell(f)) : tail_offset(f, lines);
    copy_from(f, &off, ctx->out);
    if (cli_flag_count(ctx, "follow")) {
        for (;;) { /* until interrupted, as tail -f */
            nanosleep(&(struct timespec){0, 250 * 1000 * 1000}, NULL);
            char next[sizeof file];
            struct stat now, cur;
            /* a new day's file, or this one rotated away (size cap) */
            bool moved = stat(file, &now) == 0 && fstat(fileno(f), &cur) == 0 &&
                         (now.st_ino != cur.st_ino || now.st_dev != cur.st_dev);
            if (moved)
                copy_from(f, &off, ctx->out); /* the rest of the rotated file */
            if (newest(dir, next, sizeof next) == 0 && (moved || strcmp(next, file) != 0)) {
                FILE *g = fopen(next, "r");
                if (g) { /* the daily file rolled over */
                    fclose(f);
                    f = g;
                    off = 0;
                    memcpy(file, next, sizeof file);
                }
            }
            copy_from(f, &off, ctx->out);
        }
    }
    fclose(f);
    return CLI_OK;
}

const cli_cmd cli_cmd_logs = {
    .name = "logs",
    .args = "[capsule]",
    .max_args = 1,
    .help = "Show daemon or capsule logs",
    .flags = CLI_FLAGS(CLI_F_AGENT, {"follow", 'f', NULL, "Keep printing new lines", false, false},
                       {"lines", 'n', "N", "Lines to show (default 100)", false, false}),
    .fn = do_logs};
