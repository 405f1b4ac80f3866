/* CLI frame: the command table and the flag parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "fixture.h"

static int parse(cli_ctx *ctx, astrid_err *err, const char *line)
{
    static char buf[512];
    static char *argv[64];
    int argc = fixture_argv(buf, sizeof buf, line, argv, 64);
    memset(ctx, 0, sizeof *ctx);
    astrid_err_clear(err);
    return cli_parse(ctx, argc, argv, err);
}

static int walked;

static void check_tree(const cli_cmd *c, int depth)
{
    assert_non_null(c->name);
    assert_non_null(c->help);
    assert_true(strlen(c->help) > 3);
    /* Every entry either runs, is a named stub, or is a noun with children. */
    assert_true(c->fn || c->missing || c->sub);
    if (c->missing)
        assert_true(strlen(c->missing) > 10);
    for (const cli_flag *f = c->flags; f && f->name; f++) {
        assert_true(f->hidden || (f->help && *f->help));
        assert_true(c->flags != NULL && f - c->flags < CLI_MAX_FLAGS);
    }
    walked++;
    for (const cli_cmd *const *s = c->sub; s && *s; s++) {
        /* names are unique among siblings */
        for (const cli_cmd *const *t = s + 1; *t; t++)
            assert_string_not_equal((*s)->name, (*t)->name);
        check_tree(*s, depth + 1);
    }
}

static void test_every_command_has_help(void **state)
{
    (void)state;
    walked = 0;
    check_tree(&cli_root, 0);
    assert_true(walked > 80);
}

/* --help at every level prints the entry's help and exits 0. */
static void help_of(const cli_cmd *c, char *path)
{
    char line[256];
    cli_ctx ctx;
    astrid_err err;
    snprintf(line, sizeof line, "%s%s--help", path, *path ? " " : "");
    assert_int_equal(parse(&ctx, &err, line), 1);
    assert_ptr_equal(ctx.cmd, c);
    FILE *f = tmpfile();
    cli_help(f, ctx.cmd, ctx.path);
    long n = ftell(f);
    fclose(f);
    assert_true(n > 40);
    size_t len = strlen(path);
    for (const cli_cmd *const *s = c->sub; s && *s; s++) {
        snprintf(path + len, 200 - len, "%s%s", len ? " " : "", (*s)->name);
        help_of(*s, path);
        path[len] = '\0';
    }
}

static void test_help_at_every_level(void **state)
{
    (void)state;
    char path[200] = "";
    help_of(&cli_root, path);
}

static void test_aliases_resolve(void **state)
{
    (void)state;
    cli_ctx ctx;
    astrid_err err;
    assert_int_equal(parse(&ctx, &err, "session info abc"), 0);
    assert_string_equal(ctx.path, "session show");
    assert_string_equal(ctx.argv[0], "abc");
    assert_int_equal(parse(&ctx, &err, "self-update"), 0);
    assert_string_equal(ctx.path, "update");
    assert_int_equal(parse(&ctx, &err, "wit gc --force"), 0);
    assert_string_equal(ctx.path, "wit gc");
    assert_int_equal(parse(&ctx, &err, "build -o out.wasm ."), 0);
    assert_string_equal(ctx.path, "build");
    assert_string_equal(cli_flag_str(&ctx, "output"), "out.wasm");
    assert_int_equal(parse(&ctx, &err, "capsule deps"), 0);
    assert_string_equal(ctx.path, "capsule tree");
}

static void test_flags(void **state)
{
    (void)state;
    cli_ctx ctx;
    astrid_err err;
    assert_int_equal(parse(&ctx, &err, "-v agent create bob --group a --group=b -y --memory=64MiB"),
                     0);
    assert_string_equal(ctx.path, "agent create");
    assert_int_equal(ctx.verbose, 1);
    assert_int_equal(cli_flag_count(&ctx, "group"), 2);
    assert_string_equal(cli_flag_vals(&ctx, "group")->v[1], "b");
    assert_string_equal(cli_flag_str(&ctx, "memory"), "64MiB");
    assert_int_equal(cli_flag_count(&ctx, "yes"), 1);
    assert_int_equal(ctx.argc, 1);

    assert_int_equal(parse(&ctx, &err, "logs -n5 -f mycap"), 0);
    assert_string_equal(cli_flag_str(&ctx, "lines"), "5");
    assert_int_equal(cli_flag_count(&ctx, "follow"), 1);
    assert_string_equal(ctx.argv[0], "mycap");

    /* "--" ends options: a positional may start with '-'. */
    assert_int_equal(parse(&ctx, &err, "agent switch -- -odd"), 0);
    assert_string_equal(ctx.argv[0], "-odd");

    assert_int_equal(parse(&ctx, &err, "--format json status"), 0);
    assert_string_equal(ctx.format, "json");
    assert_int_equal(parse(&ctx, &err, "version --format=yml"), 0);
    assert_string_equal(ctx.format, "yml");
    assert_int_equal(parse(&ctx, &err, "-vvv version"), 0);
    assert_int_equal(ctx.verbose, 3);
}

static void test_usage_errors(void **state)
{
    (void)state;
    cli_ctx ctx;
    astrid_err err;
    assert_int_equal(parse(&ctx, &err, "agent create bob --nope"), -1);
    assert_non_null(strstr(err.msg, "--nope"));
    assert_int_equal(parse(&ctx, &err, "agent frobnicate"), -1);
    assert_non_null(strstr(err.msg, "frobnicate"));
    assert_int_equal(parse(&ctx, &err, "agent"), -1);
    assert_non_null(strstr(err.msg, "requires a subcommand"));
    assert_int_equal(parse(&ctx, &err, "agent create"), -1);
    assert_non_null(strstr(err.msg, "<name>"));
    assert_int_equal(parse(&ctx, &err, "agent switch a b"), -1);
    assert_int_equal(parse(&ctx, &err, "logs -n"), -1);
    assert_non_null(strstr(err.msg, "value is required"));
    assert_int_equal(parse(&ctx, &err, "doctor --no-daemon=yes"), -1);
    assert_int_equal(parse(&ctx, &err, "logs -n 1 -n 2"), -1);
    assert_non_null(strstr(err.msg, "multiple times"));
    assert_int_equal(parse(&ctx, &err, "version --format xml"), -1);
    assert_int_equal(parse(&ctx, &err, "status -a bob"), -1); /* -a only on per-agent verbs */
    assert_int_equal(parse(&ctx, &err, "quota show -a bob"), 0);
}

/* What it prints to stderr lands in out. */
static int run_main(const char *line, char *out, size_t outsz)
{
    return fixture_run(cli_main, line, NULL, 0, out, outsz);
}

static void test_exit_codes(void **state)
{
    (void)state;
    char msg[1024];
    assert_int_equal(run_main("agent link bob discord:1", msg, sizeof msg), CLI_UNAVAILABLE);
    assert_non_null(strstr(msg, "is not available in this release"));
    assert_non_null(strstr(msg, "identity linking"));
    assert_int_equal(run_main("voucher list", msg, sizeof msg), CLI_UNAVAILABLE);
    assert_non_null(strstr(msg, "issues/656"));
    assert_int_equal(run_main("group create", msg, sizeof msg), CLI_ERROR);
    assert_non_null(strstr(msg, "Usage: astrid group create"));
    assert_int_equal(run_main("--help", msg, sizeof msg), CLI_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_command_has_help), cmocka_unit_test(test_help_at_every_level),
        cmocka_unit_test(test_aliases_resolve),        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_usage_errors),           cmocka_unit_test(test_exit_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
